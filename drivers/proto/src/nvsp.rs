// SPDX-License-Identifier: GPL-2.0
//! NVSP: the network VSP protocol carried in VMBus packet payloads.
//!
//! Every message starts with a `u32` type followed by a type-specific body.
//! Senders pad messages to a fixed size ([`MESSAGE_SIZE_V1`] or
//! [`MESSAGE_SIZE_V61`]); the parser only requires the bytes of the
//! fields it reads and ignores trailing padding.

use super::error::{Error, Result};
use super::wire;

/// NVSP protocol version 1.
pub const VERSION_1: u32 = 0x0000_0002;
/// NVSP protocol version 2.
pub const VERSION_2: u32 = 0x0003_0002;
/// NVSP protocol version 4.
pub const VERSION_4: u32 = 0x0004_0000;
/// NVSP protocol version 5.
pub const VERSION_5: u32 = 0x0005_0000;
/// NVSP protocol version 6.
pub const VERSION_6: u32 = 0x0006_0000;
/// NVSP protocol version 6.1.
pub const VERSION_61: u32 = 0x0006_0001;
/// The guest's preference order, newest first.
pub const GUEST_VERSIONS: [u32; 6] = [
    VERSION_61, VERSION_6, VERSION_5, VERSION_4, VERSION_2, VERSION_1,
];
/// Marker for "no version".
pub const INVALID_VERSION: u32 = 0xFFFF_FFFF;

/// True when `v` is one of the versions this crate knows.
pub fn is_known_version(v: u32) -> bool {
    GUEST_VERSIONS.contains(&v)
}

/// Message size hosts use before version 6.1.
pub const MESSAGE_SIZE_V1: usize = 28;
/// Message size hosts use from version 6.1 on (and the kernel's
/// `sizeof(struct nvsp_message)`).
pub const MESSAGE_SIZE_V61: usize = 40;
/// Size of the message header (the type).
pub const HEADER_SIZE: usize = 4;

/// Message type: guest proposes a version range.
pub const MSG_INIT: u32 = 1;
/// Message type: host answers [`MSG_INIT`].
pub const MSG_INIT_COMPLETE: u32 = 2;
/// Message type: guest tells its NDIS version.
pub const MSG1_SEND_NDIS_VERSION: u32 = 100;
/// Message type: guest offers its receive buffer GPADL.
pub const MSG1_SEND_RECV_BUF: u32 = 101;
/// Message type: host accepts the receive buffer, with sections.
pub const MSG1_SEND_RECV_BUF_COMPLETE: u32 = 102;
/// Message type: guest revokes the receive buffer.
pub const MSG1_REVOKE_RECV_BUF: u32 = 103;
/// Message type: guest offers its send buffer GPADL.
pub const MSG1_SEND_SEND_BUF: u32 = 104;
/// Message type: host accepts the send buffer, with section size.
pub const MSG1_SEND_SEND_BUF_COMPLETE: u32 = 105;
/// Message type: guest revokes the send buffer.
pub const MSG1_REVOKE_SEND_BUF: u32 = 106;
/// Message type: an RNDIS message follows (inline, by pages or in a section).
pub const MSG1_SEND_RNDIS_PKT: u32 = 107;
/// Message type: completion of [`MSG1_SEND_RNDIS_PKT`].
pub const MSG1_SEND_RNDIS_PKT_COMPLETE: u32 = 108;
/// Message type: guest's MTU and capabilities.
pub const MSG2_SEND_NDIS_CONFIG: u32 = 125;
/// Message type: host associates (or dissociates) a VF.
pub const MSG4_SEND_VF_ASSOCIATION: u32 = 128;
/// Message type: guest switches the data path.
pub const MSG4_SWITCH_DATA_PATH: u32 = 129;
/// Message type: subchannel request (guest) and its completion (host).
pub const MSG5_SUBCHANNEL: u32 = 133;
/// Message type: host's send indirection table.
pub const MSG5_SEND_INDIRECTION_TABLE: u32 = 134;

/// Status: none.
pub const STATUS_NONE: u32 = 0;
/// Status: success.
pub const STATUS_SUCCESS: u32 = 1;
/// Status: failure.
pub const STATUS_FAIL: u32 = 2;
/// Status: protocol too new.
pub const STATUS_PROTOCOL_TOO_NEW: u32 = 3;
/// Status: protocol too old.
pub const STATUS_PROTOCOL_TOO_OLD: u32 = 4;
/// Status: invalid RNDIS packet.
pub const STATUS_INVALID_RNDIS_PKT: u32 = 5;
/// Status: busy.
pub const STATUS_BUSY: u32 = 6;
/// Status: protocol unsupported.
pub const STATUS_PROTOCOL_UNSUPPORTED: u32 = 7;

/// RNDIS channel type: data.
pub const CHANNEL_TYPE_DATA: u32 = 0;
/// RNDIS channel type: control.
pub const CHANNEL_TYPE_CONTROL: u32 = 1;
/// Send-buffer section index meaning "no section used".
pub const NO_SECTION: u32 = 0xFFFF_FFFF;

/// Subchannel operation: allocate.
pub const SUBCHANNEL_ALLOCATE: u32 = 1;
/// Number of entries in the send indirection table.
pub const SEND_INDIRECTION_TABLE_SIZE: u32 = 16;
/// Offset at which the send indirection table really sits (and where
/// hosts up to version 6 put it regardless of the offset they report).
pub const SEND_INDIRECTION_TABLE_FIXED_OFFSET: u32 = 40;
/// Size of one receive buffer section descriptor.
pub const RECV_SECTION_SIZE: usize = 16;
/// Maximum number of receive buffer sections accepted.
pub const MAX_RECV_SECTIONS: u32 = 16;
/// Data path value: synthetic ([`DataPath::Synthetic`]).
pub const DATAPATH_SYNTHETIC: u32 = 0;
/// Data path value: VF ([`DataPath::Vf`]).
pub const DATAPATH_VF: u32 = 1;
/// Transaction id the host uses for the VF association message.
pub const VF_ASSOCIATION_TRANSACTION_ID: u64 = 0x8000_0000_0000_0000;

/// NDIS config capability: VMQ.
pub const CAP_VMQ: u64 = 1 << 0;
/// NDIS config capability: chimney.
pub const CAP_CHIMNEY: u64 = 1 << 1;
/// NDIS config capability: SR-IOV.
pub const CAP_SRIOV: u64 = 1 << 2;
/// NDIS config capability: IEEE 802.1Q.
pub const CAP_IEEE8021Q: u64 = 1 << 3;
/// NDIS config capability: correlation id.
pub const CAP_CORRELATION_ID: u64 = 1 << 4;
/// NDIS config capability: teaming (VF failover).
pub const CAP_TEAMING: u64 = 1 << 5;
/// NDIS config capability: virtual subnet id.
pub const CAP_VSUBNETID: u64 = 1 << 6;
/// NDIS config capability: receive segment coalescing.
pub const CAP_RSC: u64 = 1 << 7;

/// Which side sent a message; the same type number can mean different
/// things per direction ([`MSG5_SUBCHANNEL`]) and some types are only
/// valid one way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Sent by the guest (parsed by the host).
    GuestToHost,
    /// Sent by the host (parsed by the guest).
    HostToGuest,
}

/// Active data path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataPath {
    /// Traffic through the synthetic NIC.
    Synthetic,
    /// Traffic through the VF.
    Vf,
}

/// One receive buffer section.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RecvBufSection {
    /// Offset of the section in the receive buffer.
    pub offset: u32,
    /// Size of each sub-allocation.
    pub sub_alloc_size: u32,
    /// Number of sub-allocations.
    pub num_sub_allocs: u32,
    /// End offset of the section.
    pub end_offset: u32,
}

/// View of the section array of a receive-buffer completion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecvBufSections<'a> {
    raw: &'a [u8],
}

impl<'a> RecvBufSections<'a> {
    /// Number of sections.
    pub fn len(&self) -> usize {
        self.raw.len() / RECV_SECTION_SIZE
    }

    /// True when there are no sections.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Section `i`, or `None`.
    pub fn get(&self, i: usize) -> Option<RecvBufSection> {
        let c = wire::slice(
            self.raw,
            i.checked_mul(RECV_SECTION_SIZE)?,
            RECV_SECTION_SIZE,
        )
        .ok()?;
        Some(section_from(c))
    }

    /// Iterates over the sections.
    pub fn iter(&self) -> impl Iterator<Item = RecvBufSection> + 'a {
        self.raw.chunks_exact(RECV_SECTION_SIZE).map(section_from)
    }
}

fn section_from(c: &[u8]) -> RecvBufSection {
    RecvBufSection {
        offset: wire::read_u32(c, 0).unwrap_or(0),
        sub_alloc_size: wire::read_u32(c, 4).unwrap_or(0),
        num_sub_allocs: wire::read_u32(c, 8).unwrap_or(0),
        end_offset: wire::read_u32(c, 12).unwrap_or(0),
    }
}

/// View of a send indirection table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndirectionTable<'a> {
    /// The offset field as sent.
    pub offset: u32,
    raw: &'a [u8],
}

impl<'a> IndirectionTable<'a> {
    /// Number of entries.
    pub fn len(&self) -> usize {
        self.raw.len() / 4
    }

    /// True when the table is empty.
    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }

    /// Entry `i` (a subchannel index), or `None`.
    pub fn get(&self, i: usize) -> Option<u32> {
        wire::read_u32(self.raw, i.checked_mul(4)?).ok()
    }

    /// Iterates over the entries.
    pub fn iter(&self) -> impl Iterator<Item = u32> + 'a {
        self.raw
            .chunks_exact(4)
            .map(|c| wire::read_u32(c, 0).unwrap_or(0))
    }
}

/// A parsed NVSP message borrowing its input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Message<'a> {
    /// Guest's version proposal.
    Init {
        /// Lowest acceptable version.
        min_version: u32,
        /// Highest acceptable version.
        max_version: u32,
    },
    /// Host's version answer.
    InitComplete {
        /// Negotiated version (a known version when `status` is success).
        negotiated_version: u32,
        /// Maximum MDL chain length.
        max_mdl_chain_len: u32,
        /// [`STATUS_SUCCESS`] or a failure status.
        status: u32,
    },
    /// Guest's NDIS version.
    SendNdisVersion {
        /// Major version.
        major: u32,
        /// Minor version.
        minor: u32,
    },
    /// Guest's NDIS configuration.
    SendNdisConfig {
        /// MTU.
        mtu: u32,
        /// Capability bits (`CAP_*`).
        capabilities: u64,
    },
    /// Guest's receive buffer.
    SendRecvBuf {
        /// GPADL handle of the buffer.
        gpadl_handle: u32,
        /// Buffer id.
        id: u16,
    },
    /// Host's receive buffer completion.
    SendRecvBufComplete {
        /// Status.
        status: u32,
        /// Sections (at least one fits in the message).
        sections: RecvBufSections<'a>,
    },
    /// Guest revokes its receive buffer.
    RevokeRecvBuf {
        /// Buffer id.
        id: u16,
    },
    /// Guest's send buffer.
    SendSendBuf {
        /// GPADL handle of the buffer.
        gpadl_handle: u32,
        /// Buffer id.
        id: u16,
    },
    /// Host's send buffer completion.
    SendSendBufComplete {
        /// Status.
        status: u32,
        /// Size of each send section chosen by the host.
        section_size: u32,
    },
    /// Guest revokes its send buffer.
    RevokeSendBuf {
        /// Buffer id.
        id: u16,
    },
    /// An RNDIS message is attached.
    SendRndisPacket {
        /// [`CHANNEL_TYPE_DATA`] or [`CHANNEL_TYPE_CONTROL`].
        channel_type: u32,
        /// Send-buffer section, or [`NO_SECTION`].
        section_index: u32,
        /// Bytes used in that section.
        section_size: u32,
    },
    /// Completion of an RNDIS packet.
    SendRndisPacketComplete {
        /// Status.
        status: u32,
    },
    /// Guest asks for subchannels.
    SubchannelRequest {
        /// Operation ([`SUBCHANNEL_ALLOCATE`]).
        op: u32,
        /// Number requested.
        num_subchannels: u32,
    },
    /// Host's subchannel answer.
    SubchannelComplete {
        /// Status.
        status: u32,
        /// Number allocated.
        num_subchannels: u32,
    },
    /// Host's send indirection table.
    SendIndirectionTable(IndirectionTable<'a>),
    /// Host associates a VF.
    VfAssociation {
        /// True when a VF is allocated and `serial` is valid.
        allocated: bool,
        /// Serial number of the VF.
        serial: u32,
    },
    /// Guest switches the data path.
    SwitchDataPath {
        /// New active data path.
        active: DataPath,
    },
}

fn body_size(msg_type: u32) -> Result<usize> {
    Ok(match msg_type {
        MSG_INIT => 8,
        MSG_INIT_COMPLETE => 12,
        MSG1_SEND_NDIS_VERSION => 8,
        MSG1_SEND_RECV_BUF => 6,
        MSG1_SEND_RECV_BUF_COMPLETE => 8 + RECV_SECTION_SIZE,
        MSG1_REVOKE_RECV_BUF => 2,
        MSG1_SEND_SEND_BUF => 6,
        MSG1_SEND_SEND_BUF_COMPLETE => 8,
        MSG1_REVOKE_SEND_BUF => 2,
        MSG1_SEND_RNDIS_PKT => 12,
        MSG1_SEND_RNDIS_PKT_COMPLETE => 4,
        MSG2_SEND_NDIS_CONFIG => 16,
        MSG4_SEND_VF_ASSOCIATION => 8,
        MSG4_SWITCH_DATA_PATH => 4,
        MSG5_SUBCHANNEL => 8,
        MSG5_SEND_INDIRECTION_TABLE => 8,
        _ => return Err(Error::UnknownType),
    })
}

fn allowed(msg_type: u32, dir: Direction) -> bool {
    use Direction::*;
    match msg_type {
        MSG_INIT
        | MSG1_SEND_NDIS_VERSION
        | MSG1_SEND_RECV_BUF
        | MSG1_REVOKE_RECV_BUF
        | MSG1_SEND_SEND_BUF
        | MSG1_REVOKE_SEND_BUF
        | MSG2_SEND_NDIS_CONFIG => dir == GuestToHost,
        MSG_INIT_COMPLETE
        | MSG1_SEND_RECV_BUF_COMPLETE
        | MSG1_SEND_SEND_BUF_COMPLETE
        | MSG5_SEND_INDIRECTION_TABLE
        | MSG4_SEND_VF_ASSOCIATION => dir == HostToGuest,
        _ => true,
    }
}

impl<'a> Message<'a> {
    /// Parses a message sent in direction `dir`. Equivalent to
    /// [`Message::parse_with_version`] with version 6.1 (no host-bug
    /// workaround).
    pub fn parse(buf: &'a [u8], dir: Direction) -> Result<Self> {
        Self::parse_with_version(buf, dir, VERSION_61)
    }

    /// Parses a message sent in direction `dir` on a channel that
    /// negotiated `version`. For versions up to 6 the send indirection
    /// table is read from [`SEND_INDIRECTION_TABLE_FIXED_OFFSET`] when the
    /// message is long enough, as those hosts report a wrong offset.
    pub fn parse_with_version(buf: &'a [u8], dir: Direction, version: u32) -> Result<Self> {
        let t = wire::read_u32(buf, 0)?;
        let need = body_size(t)?;
        if !allowed(t, dir) {
            return Err(Error::UnexpectedMessage);
        }
        let b = buf.get(HEADER_SIZE..).ok_or(Error::Truncated)?;
        if b.len() < need {
            return Err(Error::Truncated);
        }
        let u32_at = |o: usize| wire::read_u32(b, o);
        let msg = match t {
            MSG_INIT => Message::Init {
                min_version: u32_at(0)?,
                max_version: u32_at(4)?,
            },
            MSG_INIT_COMPLETE => {
                let negotiated_version = u32_at(0)?;
                let status = u32_at(8)?;
                if status == STATUS_SUCCESS && !is_known_version(negotiated_version) {
                    return Err(Error::BadVersion);
                }
                Message::InitComplete {
                    negotiated_version,
                    max_mdl_chain_len: u32_at(4)?,
                    status,
                }
            }
            MSG1_SEND_NDIS_VERSION => Message::SendNdisVersion {
                major: u32_at(0)?,
                minor: u32_at(4)?,
            },
            MSG1_SEND_RECV_BUF => Message::SendRecvBuf {
                gpadl_handle: u32_at(0)?,
                id: wire::read_u16(b, 4)?,
            },
            MSG1_SEND_RECV_BUF_COMPLETE => {
                let status = u32_at(0)?;
                let n = u32_at(4)?;
                if n > MAX_RECV_SECTIONS {
                    return Err(Error::InvalidCount);
                }
                // n <= 16, so this cannot overflow.
                let raw = wire::slice(b, 8, n as usize * RECV_SECTION_SIZE)
                    .map_err(|_| Error::InvalidCount)?;
                Message::SendRecvBufComplete {
                    status,
                    sections: RecvBufSections { raw },
                }
            }
            MSG1_REVOKE_RECV_BUF => Message::RevokeRecvBuf {
                id: wire::read_u16(b, 0)?,
            },
            MSG1_SEND_SEND_BUF => Message::SendSendBuf {
                gpadl_handle: u32_at(0)?,
                id: wire::read_u16(b, 4)?,
            },
            MSG1_SEND_SEND_BUF_COMPLETE => Message::SendSendBufComplete {
                status: u32_at(0)?,
                section_size: u32_at(4)?,
            },
            MSG1_REVOKE_SEND_BUF => Message::RevokeSendBuf {
                id: wire::read_u16(b, 0)?,
            },
            MSG1_SEND_RNDIS_PKT => {
                let channel_type = u32_at(0)?;
                if channel_type != CHANNEL_TYPE_DATA && channel_type != CHANNEL_TYPE_CONTROL {
                    return Err(Error::InvalidValue);
                }
                Message::SendRndisPacket {
                    channel_type,
                    section_index: u32_at(4)?,
                    section_size: u32_at(8)?,
                }
            }
            MSG1_SEND_RNDIS_PKT_COMPLETE => Message::SendRndisPacketComplete { status: u32_at(0)? },
            MSG2_SEND_NDIS_CONFIG => Message::SendNdisConfig {
                mtu: u32_at(0)?,
                capabilities: wire::read_u64(b, 8)?,
            },
            MSG4_SEND_VF_ASSOCIATION => {
                let allocated = match u32_at(0)? {
                    0 => false,
                    1 => true,
                    _ => return Err(Error::InvalidValue),
                };
                Message::VfAssociation {
                    allocated,
                    serial: u32_at(4)?,
                }
            }
            MSG4_SWITCH_DATA_PATH => Message::SwitchDataPath {
                active: match u32_at(0)? {
                    DATAPATH_SYNTHETIC => DataPath::Synthetic,
                    DATAPATH_VF => DataPath::Vf,
                    _ => return Err(Error::InvalidValue),
                },
            },
            MSG5_SUBCHANNEL => match dir {
                Direction::GuestToHost => Message::SubchannelRequest {
                    op: u32_at(0)?,
                    num_subchannels: u32_at(4)?,
                },
                Direction::HostToGuest => Message::SubchannelComplete {
                    status: u32_at(0)?,
                    num_subchannels: u32_at(4)?,
                },
            },
            MSG5_SEND_INDIRECTION_TABLE => {
                let count = u32_at(0)?;
                let mut offset = u32_at(4)?;
                if count != SEND_INDIRECTION_TABLE_SIZE {
                    return Err(Error::InvalidCount);
                }
                let table_bytes = SEND_INDIRECTION_TABLE_SIZE as usize * 4;
                let fixed = SEND_INDIRECTION_TABLE_FIXED_OFFSET as usize;
                if version <= VERSION_6 && buf.len() >= fixed + table_bytes {
                    offset = SEND_INDIRECTION_TABLE_FIXED_OFFSET;
                }
                let off = offset as usize;
                if off < HEADER_SIZE + 8 {
                    return Err(Error::OffsetInsideHeader);
                }
                if off > buf.len() {
                    return Err(Error::OffsetPastEnd);
                }
                if off % 4 != 0 {
                    return Err(Error::Misaligned);
                }
                let raw = wire::slice(buf, off, table_bytes).map_err(|_| Error::OffsetPastEnd)?;
                Message::SendIndirectionTable(IndirectionTable { offset, raw })
            }
            _ => return Err(Error::UnknownType),
        };
        Ok(msg)
    }

    /// The wire type of this message.
    pub fn msg_type(&self) -> u32 {
        match self {
            Message::Init { .. } => MSG_INIT,
            Message::InitComplete { .. } => MSG_INIT_COMPLETE,
            Message::SendNdisVersion { .. } => MSG1_SEND_NDIS_VERSION,
            Message::SendNdisConfig { .. } => MSG2_SEND_NDIS_CONFIG,
            Message::SendRecvBuf { .. } => MSG1_SEND_RECV_BUF,
            Message::SendRecvBufComplete { .. } => MSG1_SEND_RECV_BUF_COMPLETE,
            Message::RevokeRecvBuf { .. } => MSG1_REVOKE_RECV_BUF,
            Message::SendSendBuf { .. } => MSG1_SEND_SEND_BUF,
            Message::SendSendBufComplete { .. } => MSG1_SEND_SEND_BUF_COMPLETE,
            Message::RevokeSendBuf { .. } => MSG1_REVOKE_SEND_BUF,
            Message::SendRndisPacket { .. } => MSG1_SEND_RNDIS_PKT,
            Message::SendRndisPacketComplete { .. } => MSG1_SEND_RNDIS_PKT_COMPLETE,
            Message::SubchannelRequest { .. } | Message::SubchannelComplete { .. } => {
                MSG5_SUBCHANNEL
            }
            Message::SendIndirectionTable(_) => MSG5_SEND_INDIRECTION_TABLE,
            Message::VfAssociation { .. } => MSG4_SEND_VF_ASSOCIATION,
            Message::SwitchDataPath { .. } => MSG4_SWITCH_DATA_PATH,
        }
    }

    /// Writes the message, zero-padded to [`MESSAGE_SIZE_V61`] (what the
    /// kernel driver sends), and returns the length written.
    pub fn build(&self, out: &mut [u8]) -> Result<usize> {
        self.build_padded(out, MESSAGE_SIZE_V61)
    }

    /// Writes the message zero-padded to at least `min_len` bytes and
    /// returns the length written.
    pub fn build_padded(&self, out: &mut [u8], min_len: usize) -> Result<usize> {
        let t = self.msg_type();
        let mut len = HEADER_SIZE + body_size(t)?;
        if let Message::SendRecvBufComplete { sections, .. } = self {
            len = HEADER_SIZE + 8 + sections.raw.len().max(RECV_SECTION_SIZE);
        }
        if let Message::SendIndirectionTable(tab) = self {
            let end = (tab.offset as usize)
                .checked_add(tab.raw.len())
                .ok_or(Error::TooLarge)?;
            len = len.max(end);
        }
        let len = len.max(min_len);
        if out.len() < len {
            return Err(Error::BufferTooSmall);
        }
        wire::zero(out, 0, len)?;
        wire::write_u32(out, 0, t)?;
        let o = HEADER_SIZE;
        match *self {
            Message::Init {
                min_version,
                max_version,
            } => {
                wire::write_u32(out, o, min_version)?;
                wire::write_u32(out, o + 4, max_version)?;
            }
            Message::InitComplete {
                negotiated_version,
                max_mdl_chain_len,
                status,
            } => {
                wire::write_u32(out, o, negotiated_version)?;
                wire::write_u32(out, o + 4, max_mdl_chain_len)?;
                wire::write_u32(out, o + 8, status)?;
            }
            Message::SendNdisVersion { major, minor } => {
                wire::write_u32(out, o, major)?;
                wire::write_u32(out, o + 4, minor)?;
            }
            Message::SendNdisConfig { mtu, capabilities } => {
                wire::write_u32(out, o, mtu)?;
                wire::write_u64(out, o + 8, capabilities)?;
            }
            Message::SendRecvBuf { gpadl_handle, id }
            | Message::SendSendBuf { gpadl_handle, id } => {
                wire::write_u32(out, o, gpadl_handle)?;
                wire::write_u16(out, o + 4, id)?;
            }
            Message::SendRecvBufComplete { status, sections } => {
                if sections.len() > MAX_RECV_SECTIONS as usize {
                    return Err(Error::InvalidCount);
                }
                wire::write_u32(out, o, status)?;
                wire::write_u32(out, o + 4, wire::to_u32(sections.len())?)?;
                wire::write_bytes(out, o + 8, sections.raw)?;
            }
            Message::RevokeRecvBuf { id } | Message::RevokeSendBuf { id } => {
                wire::write_u16(out, o, id)?;
            }
            Message::SendSendBufComplete {
                status,
                section_size,
            } => {
                wire::write_u32(out, o, status)?;
                wire::write_u32(out, o + 4, section_size)?;
            }
            Message::SendRndisPacket {
                channel_type,
                section_index,
                section_size,
            } => {
                wire::write_u32(out, o, channel_type)?;
                wire::write_u32(out, o + 4, section_index)?;
                wire::write_u32(out, o + 8, section_size)?;
            }
            Message::SendRndisPacketComplete { status } => {
                wire::write_u32(out, o, status)?;
            }
            Message::SubchannelRequest {
                op: a,
                num_subchannels: n,
            }
            | Message::SubchannelComplete {
                status: a,
                num_subchannels: n,
            } => {
                wire::write_u32(out, o, a)?;
                wire::write_u32(out, o + 4, n)?;
            }
            Message::SendIndirectionTable(tab) => {
                wire::write_u32(out, o, wire::to_u32(tab.len())?)?;
                wire::write_u32(out, o + 4, tab.offset)?;
                wire::write_bytes(out, tab.offset as usize, tab.raw)?;
            }
            Message::VfAssociation { allocated, serial } => {
                wire::write_u32(out, o, u32::from(allocated))?;
                wire::write_u32(out, o + 4, serial)?;
            }
            Message::SwitchDataPath { active } => {
                let v = match active {
                    DataPath::Synthetic => DATAPATH_SYNTHETIC,
                    DataPath::Vf => DATAPATH_VF,
                };
                wire::write_u32(out, o, v)?;
            }
        }
        Ok(len)
    }
}

/// Builds a receive-buffer completion carrying `sections` (at most
/// [`MAX_RECV_SECTIONS`]), padded to [`MESSAGE_SIZE_V61`].
pub fn build_recv_buf_complete(
    out: &mut [u8],
    status: u32,
    sections: &[RecvBufSection],
) -> Result<usize> {
    if sections.len() > MAX_RECV_SECTIONS as usize {
        return Err(Error::InvalidCount);
    }
    let len = (HEADER_SIZE + 8 + sections.len().max(1) * RECV_SECTION_SIZE).max(MESSAGE_SIZE_V61);
    if out.len() < len {
        return Err(Error::BufferTooSmall);
    }
    wire::zero(out, 0, len)?;
    wire::write_u32(out, 0, MSG1_SEND_RECV_BUF_COMPLETE)?;
    wire::write_u32(out, 4, status)?;
    wire::write_u32(out, 8, wire::to_u32(sections.len())?)?;
    let mut off = 12;
    for s in sections {
        wire::write_u32(out, off, s.offset)?;
        wire::write_u32(out, off + 4, s.sub_alloc_size)?;
        wire::write_u32(out, off + 8, s.num_sub_allocs)?;
        wire::write_u32(out, off + 12, s.end_offset)?;
        off += RECV_SECTION_SIZE;
    }
    Ok(len)
}

/// Builds a send indirection table message with `entries` (exactly
/// [`SEND_INDIRECTION_TABLE_SIZE`]) placed at
/// [`SEND_INDIRECTION_TABLE_FIXED_OFFSET`], so that guests with and
/// without the old-host workaround read the same table.
pub fn build_send_indirection_table(out: &mut [u8], entries: &[u32]) -> Result<usize> {
    if entries.len() != SEND_INDIRECTION_TABLE_SIZE as usize {
        return Err(Error::InvalidCount);
    }
    let off = SEND_INDIRECTION_TABLE_FIXED_OFFSET as usize;
    let len = off + entries.len() * 4;
    if out.len() < len {
        return Err(Error::BufferTooSmall);
    }
    wire::zero(out, 0, len)?;
    wire::write_u32(out, 0, MSG5_SEND_INDIRECTION_TABLE)?;
    wire::write_u32(out, 4, SEND_INDIRECTION_TABLE_SIZE)?;
    wire::write_u32(out, 8, SEND_INDIRECTION_TABLE_FIXED_OFFSET)?;
    for (i, e) in entries.iter().enumerate() {
        wire::write_u32(out, off + i * 4, *e)?;
    }
    Ok(len)
}
