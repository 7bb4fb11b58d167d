// SPDX-License-Identifier: GPL-2.0
//! RNDIS messages: control messages (initialize, query, set, halt, reset,
//! keepalive, status indications) and data packets with their
//! per-packet-info (PPI) list.
//!
//! Every message starts with an 8-byte header (`type`, `length`). Offsets
//! inside a message body (information buffers, status buffers, packet data
//! and PPI areas) are relative to the first byte after that header (the
//! request-id field for requests), as in the RNDIS specification.

use super::error::{Error, Result};
use super::wire;

/// Size of the common header (`type`, `length`).
pub const HEADER_SIZE: usize = 8;

/// Message type: data packet.
pub const MSG_PACKET: u32 = 0x0000_0001;
/// Message type: initialize request.
pub const MSG_INIT: u32 = 0x0000_0002;
/// Message type: halt.
pub const MSG_HALT: u32 = 0x0000_0003;
/// Message type: query request.
pub const MSG_QUERY: u32 = 0x0000_0004;
/// Message type: set request.
pub const MSG_SET: u32 = 0x0000_0005;
/// Message type: reset request.
pub const MSG_RESET: u32 = 0x0000_0006;
/// Message type: status indication.
pub const MSG_INDICATE: u32 = 0x0000_0007;
/// Message type: keepalive request.
pub const MSG_KEEPALIVE: u32 = 0x0000_0008;
/// Message type: initialize completion.
pub const MSG_INIT_C: u32 = 0x8000_0002;
/// Message type: query completion.
pub const MSG_QUERY_C: u32 = 0x8000_0004;
/// Message type: set completion.
pub const MSG_SET_C: u32 = 0x8000_0005;
/// Message type: reset completion.
pub const MSG_RESET_C: u32 = 0x8000_0006;
/// Message type: keepalive completion.
pub const MSG_KEEPALIVE_C: u32 = 0x8000_0008;

/// Status: success.
pub const STATUS_SUCCESS: u32 = 0x0000_0000;
/// Status: failure.
pub const STATUS_FAILURE: u32 = 0xC000_0001;
/// Status: not supported.
pub const STATUS_NOT_SUPPORTED: u32 = 0xC000_00BB;
/// Status: invalid data.
pub const STATUS_INVALID_DATA: u32 = 0xC001_0015;
/// Status indication: media connected.
pub const STATUS_MEDIA_CONNECT: u32 = 0x4001_000B;
/// Status indication: media disconnected.
pub const STATUS_MEDIA_DISCONNECT: u32 = 0x4001_000C;
/// Status indication: link speed changed (buffer: `u32` speed in 100 bps).
pub const STATUS_LINK_SPEED_CHANGE: u32 = 0x4001_0013;
/// Status indication: network changed (re-acquire addresses).
pub const STATUS_NETWORK_CHANGE: u32 = 0x4001_0018;

/// RNDIS protocol major version.
pub const MAJOR_VERSION: u32 = 1;
/// RNDIS protocol minor version.
pub const MINOR_VERSION: u32 = 0;

/// OID: supported OIDs list.
pub const OID_GEN_SUPPORTED_LIST: u32 = 0x0001_0101;
/// OID: maximum frame size.
pub const OID_GEN_MAXIMUM_FRAME_SIZE: u32 = 0x0001_0106;
/// OID: link speed.
pub const OID_GEN_LINK_SPEED: u32 = 0x0001_0107;
/// OID: current packet filter.
pub const OID_GEN_CURRENT_PACKET_FILTER: u32 = 0x0001_010E;
/// Packet filter bit (`NDIS_PACKET_TYPE_DIRECTED`): frames to the
/// adapter's own address.
pub const PACKET_TYPE_DIRECTED: u32 = 0x0000_0001;
/// Packet filter bit (`NDIS_PACKET_TYPE_MULTICAST`): multicast frames to
/// the addresses of the adapter's multicast list (OID_802_3_MULTICAST_LIST).
/// Without a list (Hyper-V's synthetic NIC has none), no multicast at all.
pub const PACKET_TYPE_MULTICAST: u32 = 0x0000_0002;
/// Packet filter bit (`NDIS_PACKET_TYPE_ALL_MULTICAST`): every multicast
/// frame.
pub const PACKET_TYPE_ALL_MULTICAST: u32 = 0x0000_0004;
/// Packet filter bit (`NDIS_PACKET_TYPE_BROADCAST`): broadcast frames.
pub const PACKET_TYPE_BROADCAST: u32 = 0x0000_0008;
/// Packet filter bit (`NDIS_PACKET_TYPE_PROMISCUOUS`): every frame the
/// adapter sees.
pub const PACKET_TYPE_PROMISCUOUS: u32 = 0x0000_0020;

/// What an interface asks to receive, as the packet filter sees it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RxFilterMode {
    /// Every frame (`IFF_PROMISC`).
    pub promisc: bool,
    /// Every multicast frame (`IFF_ALLMULTI`).
    pub allmulti: bool,
    /// Broadcast frames (`IFF_BROADCAST`).
    pub broadcast: bool,
    /// The interface's multicast address list is not empty (groups joined).
    pub multicast_addrs: bool,
}

/// The OID_GEN_CURRENT_PACKET_FILTER value for `mode`.
///
/// The synthetic NIC has no multicast list OID, so `MULTICAST` would mean
/// "no multicast" to the host: joined groups (IPv6 neighbour discovery
/// among them) need `ALL_MULTICAST`, which the host delivers and the
/// stack filters by group, as upstream, FreeBSD's hn and DPDK ask for.
pub fn packet_filter(mode: RxFilterMode) -> u32 {
    if mode.promisc {
        return PACKET_TYPE_PROMISCUOUS;
    }
    let mut f = PACKET_TYPE_DIRECTED;
    if mode.broadcast {
        f |= PACKET_TYPE_BROADCAST;
    }
    if mode.allmulti || mode.multicast_addrs {
        f |= PACKET_TYPE_ALL_MULTICAST;
    }
    f
}

/// The filter an interface starts with when opened, before its receive
/// mode is first applied: directed, broadcast and all multicast.
pub const PACKET_FILTER_OPEN: u32 =
    PACKET_TYPE_DIRECTED | PACKET_TYPE_BROADCAST | PACKET_TYPE_ALL_MULTICAST;

/// OID: media connect status.
pub const OID_GEN_MEDIA_CONNECT_STATUS: u32 = 0x0001_0114;
/// OID: RSS capabilities.
pub const OID_GEN_RECEIVE_SCALE_CAPABILITIES: u32 = 0x0001_0203;
/// OID: RSS parameters.
pub const OID_GEN_RECEIVE_SCALE_PARAMETERS: u32 = 0x0001_0204;
/// OID: permanent MAC address.
pub const OID_802_3_PERMANENT_ADDRESS: u32 = 0x0101_0101;
/// OID: current MAC address.
pub const OID_802_3_CURRENT_ADDRESS: u32 = 0x0101_0102;
/// OID: offload encapsulation.
pub const OID_OFFLOAD_ENCAPSULATION: u32 = 0x0101_010A;
/// OID: offload parameters (set).
pub const OID_TCP_OFFLOAD_PARAMETERS: u32 = 0xFC01_020C;
/// OID: offload hardware capabilities (query).
pub const OID_TCP_OFFLOAD_HARDWARE_CAPABILITIES: u32 = 0xFC01_020D;
/// OID: the adapter's friendly name, UTF-16LE (query).
pub const OID_GEN_FRIENDLY_NAME: u32 = 0x0002_0216;
/// The friendly name Hyper-V reports for a NIC nobody named: not an alias
/// worth taking (upstream Linux skips it too).
pub const DEFAULT_FRIENDLY_NAME: &str = "Network Adapter";
/// OID: a named configuration parameter (set), see [`ConfigParam`].
pub const OID_GEN_RNDIS_CONFIG_PARAMETER: u32 = 0x0001_021B;
/// Configuration parameter type: string.
pub const CONFIG_PARAM_TYPE_STRING: u32 = 2;
/// The configuration parameter that sets the MAC address: its value is the
/// address as 12 hexadecimal digits.
pub const CONFIG_PARAM_NETWORK_ADDRESS: &str = "NetworkAddress";
/// Size of a configuration parameter's header (name offset and length,
/// type, value offset and length).
pub const CONFIG_PARAM_HEADER_SIZE: usize = 20;
/// Longest name or value (in UTF-16 code units) [`ConfigParam`] handles.
pub const CONFIG_PARAM_MAX_CHARS: usize = 64;

/// PPI type: TCP/IP checksum info.
pub const PPI_CHECKSUM: u32 = 0;
/// PPI type: large send offload info.
pub const PPI_LSO: u32 = 2;
/// PPI type: IEEE 802.1Q info.
pub const PPI_VLAN: u32 = 6;
/// PPI type: RSS hash value.
pub const PPI_HASH_VALUE: u32 = 8;
/// PPI type: RSS hash info.
pub const PPI_HASH_INFO: u32 = 9;
/// Internal PPI type (with the internal bit set): packet id for RSC.
pub const PPI_INTERNAL_PKTINFO_ID: u32 = 1;
/// Bit of the PPI type field marking an internal type.
pub const PPI_INTERNAL_BIT: u32 = 0x8000_0000;
/// Size of a PPI entry header (`size`, `type`, `ppi_offset`).
pub const PPI_HEADER_SIZE: usize = 12;
/// Maximum number of PPI entries accepted in one packet.
pub const MAX_PPI_ENTRIES: usize = 32;
/// Size of the packet message's fixed part (header included).
pub const PACKET_HEADER_SIZE: usize = 44;
/// Size of the packet body's fixed part (offsets are relative to it).
pub const PACKET_BODY_SIZE: usize = 36;

/// RSC packet-info flag: packet is part of a multi-fragment packet.
pub const PKTINFO_SUBALLOC: u8 = 1 << 0;
/// RSC packet-info flag: first fragment.
pub const PKTINFO_1ST_FRAG: u8 = 1 << 1;
/// RSC packet-info flag: last fragment.
pub const PKTINFO_LAST_FRAG: u8 = 1 << 2;

/// The common header of every RNDIS message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Message type.
    pub msg_type: u32,
    /// Message length, header included.
    pub msg_len: u32,
}

impl Header {
    /// Parses and validates the header: `8 <= msg_len <= buf.len()`.
    pub fn parse(buf: &[u8]) -> Result<Self> {
        let msg_type = wire::read_u32(buf, 0)?;
        let msg_len = wire::read_u32(buf, 4)?;
        if (msg_len as usize) < HEADER_SIZE {
            return Err(Error::LengthTooSmall);
        }
        if msg_len as usize > buf.len() {
            return Err(Error::OverlongLength);
        }
        Ok(Header { msg_type, msg_len })
    }

    /// Splits `buf` into this message and what follows it (for batched
    /// messages in one send section).
    pub fn split(buf: &[u8]) -> Result<(&[u8], &[u8])> {
        let h = Self::parse(buf)?;
        let n = h.msg_len as usize;
        let msg = buf.get(..n).ok_or(Error::OverlongLength)?;
        let rest = buf.get(n..).ok_or(Error::OverlongLength)?;
        Ok((msg, rest))
    }
}

/// TCP/IP checksum info (transmit request or receive result bits).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ChecksumInfo(pub u32);

impl ChecksumInfo {
    /// Transmit: packet is IPv4.
    pub const TX_IS_IPV4: u32 = 1 << 0;
    /// Transmit: packet is IPv6.
    pub const TX_IS_IPV6: u32 = 1 << 1;
    /// Transmit: compute the TCP checksum.
    pub const TX_TCP_CHECKSUM: u32 = 1 << 2;
    /// Transmit: compute the UDP checksum.
    pub const TX_UDP_CHECKSUM: u32 = 1 << 3;
    /// Transmit: compute the IP header checksum.
    pub const TX_IP_HEADER_CHECKSUM: u32 = 1 << 4;
    /// Receive: TCP checksum failed.
    pub const RX_TCP_FAILED: u32 = 1 << 0;
    /// Receive: UDP checksum failed.
    pub const RX_UDP_FAILED: u32 = 1 << 1;
    /// Receive: IP checksum failed.
    pub const RX_IP_FAILED: u32 = 1 << 2;
    /// Receive: TCP checksum good.
    pub const RX_TCP_SUCCEEDED: u32 = 1 << 3;
    /// Receive: UDP checksum good.
    pub const RX_UDP_SUCCEEDED: u32 = 1 << 4;
    /// Receive: IP checksum good.
    pub const RX_IP_SUCCEEDED: u32 = 1 << 5;

    /// Builds transmit info from flag bits and the TCP header offset
    /// (10 bits; larger values are masked).
    pub const fn tx(flags: u32, tcp_header_offset: u16) -> Self {
        ChecksumInfo((flags & 0x1f) | (((tcp_header_offset as u32) & 0x3ff) << 16))
    }

    /// Transmit TCP header offset.
    pub const fn tcp_header_offset(&self) -> u16 {
        ((self.0 >> 16) & 0x3ff) as u16
    }

    /// True when all bits in `mask` are set.
    pub const fn has(&self, mask: u32) -> bool {
        self.0 & mask == mask
    }
}

/// LSO v2 transmit info.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LsoV2Info(pub u32);

impl LsoV2Info {
    /// Builds LSO v2 info: MSS (20 bits), TCP header offset (10 bits), IP
    /// version (false: IPv4, true: IPv6). Larger values are masked.
    pub const fn new(mss: u32, tcp_header_offset: u16, ipv6: bool) -> Self {
        LsoV2Info(
            (mss & 0xf_ffff)
                | (((tcp_header_offset as u32) & 0x3ff) << 20)
                | (1 << 30)
                | ((ipv6 as u32) << 31),
        )
    }

    /// Maximum segment size.
    pub const fn mss(&self) -> u32 {
        self.0 & 0xf_ffff
    }

    /// TCP header offset.
    pub const fn tcp_header_offset(&self) -> u16 {
        ((self.0 >> 20) & 0x3ff) as u16
    }

    /// True for LSO v2 (type bit).
    pub const fn is_v2(&self) -> bool {
        self.0 & (1 << 30) != 0
    }

    /// True for IPv6.
    pub const fn is_ipv6(&self) -> bool {
        self.0 & (1 << 31) != 0
    }
}

/// IEEE 802.1Q info.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct VlanInfo(pub u32);

impl VlanInfo {
    /// Builds VLAN info from priority (3 bits), CFI and VLAN id (12 bits).
    pub const fn new(pri: u8, cfi: bool, vlan_id: u16) -> Self {
        VlanInfo(((pri as u32) & 7) | ((cfi as u32) << 3) | (((vlan_id as u32) & 0xfff) << 4))
    }

    /// User priority.
    pub const fn pri(&self) -> u8 {
        (self.0 & 7) as u8
    }

    /// Canonical format indicator.
    pub const fn cfi(&self) -> bool {
        self.0 & 8 != 0
    }

    /// VLAN id.
    pub const fn vlan_id(&self) -> u16 {
        ((self.0 >> 4) & 0xfff) as u16
    }
}

/// RSC packet id info (internal PPI).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PktInfoId {
    /// Version (1).
    pub version: u8,
    /// `PKTINFO_*` flags.
    pub flags: u8,
    /// Packet id.
    pub pkt_id: u16,
}

/// The known per-packet infos of a data packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PacketInfo {
    /// Checksum info.
    pub checksum: Option<ChecksumInfo>,
    /// LSO v2 info.
    pub lso: Option<LsoV2Info>,
    /// VLAN info.
    pub vlan: Option<VlanInfo>,
    /// RSS hash value.
    pub hash_value: Option<u32>,
    /// RSS hash info.
    pub hash_info: Option<u32>,
    /// RSC fragment info.
    pub pktinfo_id: Option<PktInfoId>,
}

impl PacketInfo {
    /// Bytes the PPI list of this info takes.
    pub fn ppi_len(&self) -> usize {
        let n = usize::from(self.checksum.is_some())
            + usize::from(self.lso.is_some())
            + usize::from(self.vlan.is_some())
            + usize::from(self.hash_value.is_some())
            + usize::from(self.hash_info.is_some())
            + usize::from(self.pktinfo_id.is_some());
        n * (PPI_HEADER_SIZE + 4)
    }
}

/// One entry of a PPI list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ppi<'a> {
    /// Type without the internal bit.
    pub ppi_type: u32,
    /// Internal-type bit.
    pub internal: bool,
    /// The entry's value bytes.
    pub data: &'a [u8],
}

/// Iterator over a validated PPI area.
#[derive(Debug, Clone)]
pub struct PpiIter<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for PpiIter<'a> {
    type Item = Ppi<'a>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        match next_ppi(self.rest) {
            Ok((p, rest)) => {
                self.rest = rest;
                Some(p)
            }
            Err(_) => {
                self.rest = &[];
                None
            }
        }
    }
}

fn next_ppi(area: &[u8]) -> Result<(Ppi<'_>, &[u8])> {
    if area.len() < PPI_HEADER_SIZE {
        return Err(Error::PpiOverrun);
    }
    let size = wire::read_u32(area, 0)? as usize;
    let raw_type = wire::read_u32(area, 4)?;
    let off = wire::read_u32(area, 8)? as usize;
    if size == 0 {
        return Err(Error::ZeroSizePpi);
    }
    if size < PPI_HEADER_SIZE || size > area.len() {
        return Err(Error::PpiOverrun);
    }
    if size % 4 != 0 {
        return Err(Error::Misaligned);
    }
    if off < PPI_HEADER_SIZE {
        return Err(Error::PpiOffsetInsideHeader);
    }
    if off > size {
        return Err(Error::PpiOffsetPastEnd);
    }
    let data = area.get(off..size).ok_or(Error::PpiOffsetPastEnd)?;
    let rest = area.get(size..).ok_or(Error::PpiOverrun)?;
    Ok((
        Ppi {
            ppi_type: raw_type & !PPI_INTERNAL_BIT,
            internal: raw_type & PPI_INTERNAL_BIT != 0,
            data,
        },
        rest,
    ))
}

/// Walks a whole PPI area, validating every entry, and collects the
/// known infos (the first entry of each kind wins). The walk is bounded
/// by [`MAX_PPI_ENTRIES`] and always advances by at least one header.
pub fn parse_ppi_area(area: &[u8]) -> Result<PacketInfo> {
    let mut info = PacketInfo::default();
    let mut rest = area;
    for _ in 0..MAX_PPI_ENTRIES {
        if rest.is_empty() {
            return Ok(info);
        }
        let (p, r) = next_ppi(rest)?;
        rest = r;
        let v = |d: &[u8]| wire::read_u32(d, 0).map_err(|_| Error::PpiTooShort);
        match (p.internal, p.ppi_type) {
            (false, PPI_CHECKSUM) if info.checksum.is_none() => {
                info.checksum = Some(ChecksumInfo(v(p.data)?))
            }
            (false, PPI_LSO) if info.lso.is_none() => info.lso = Some(LsoV2Info(v(p.data)?)),
            (false, PPI_VLAN) if info.vlan.is_none() => info.vlan = Some(VlanInfo(v(p.data)?)),
            (false, PPI_HASH_VALUE) if info.hash_value.is_none() => {
                info.hash_value = Some(v(p.data)?)
            }
            (false, PPI_HASH_INFO) if info.hash_info.is_none() => info.hash_info = Some(v(p.data)?),
            (true, PPI_INTERNAL_PKTINFO_ID) if info.pktinfo_id.is_none() => {
                if p.data.len() < 4 {
                    return Err(Error::PpiTooShort);
                }
                info.pktinfo_id = Some(PktInfoId {
                    version: wire::read_u8(p.data, 0)?,
                    flags: wire::read_u8(p.data, 1)?,
                    pkt_id: wire::read_u16(p.data, 2)?,
                });
            }
            _ => {}
        }
    }
    if rest.is_empty() {
        Ok(info)
    } else {
        Err(Error::TooManyRanges)
    }
}

/// A validated data packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet<'a> {
    /// Frame bytes (`data_len` of them).
    pub data: &'a [u8],
    /// Known per-packet infos.
    pub info: PacketInfo,
    /// The raw, validated PPI area (empty when there is none).
    pub ppi_area: &'a [u8],
}

impl<'a> Packet<'a> {
    /// Iterates over every PPI entry, including unknown ones.
    pub fn ppis(&self) -> PpiIter<'a> {
        PpiIter {
            rest: self.ppi_area,
        }
    }
}

/// Where an offset/length pair inside a message body lands.
fn body_area(body: &[u8], fixed: usize, off: u32, len: u32) -> Result<&[u8]> {
    if len == 0 {
        return Ok(&[]);
    }
    let off = off as usize;
    if off < fixed {
        return Err(Error::OffsetInsideHeader);
    }
    if off > body.len() {
        return Err(Error::OffsetPastEnd);
    }
    wire::slice(body, off, len as usize).map_err(|_| Error::OverlongLength)
}

fn parse_packet(body: &[u8]) -> Result<Packet<'_>> {
    if body.len() < PACKET_BODY_SIZE {
        return Err(Error::LengthTooSmall);
    }
    let r = |o: usize| wire::read_u32(body, o);
    let data_off = r(0)?;
    let data_len = r(4)?;
    let ppi_off = r(20)?;
    let ppi_len = r(24)?;
    // Data may be empty but its offset must still be sane.
    let d_off = data_off as usize;
    if d_off < PACKET_BODY_SIZE {
        return Err(Error::OffsetInsideHeader);
    }
    if d_off > body.len() {
        return Err(Error::OffsetPastEnd);
    }
    let data = wire::slice(body, d_off, data_len as usize).map_err(|_| Error::OverlongLength)?;
    let ppi_area = body_area(body, PACKET_BODY_SIZE, ppi_off, ppi_len)?;
    if !data.is_empty() && !ppi_area.is_empty() {
        let d_end = d_off + data.len();
        let p_off = ppi_off as usize;
        let p_end = p_off + ppi_area.len();
        if d_off < p_end && p_off < d_end {
            return Err(Error::Overlap);
        }
    }
    let info = parse_ppi_area(ppi_area)?;
    Ok(Packet {
        data,
        info,
        ppi_area,
    })
}

/// Initialize request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InitRequest {
    /// Request id.
    pub req_id: u32,
    /// Major version.
    pub major: u32,
    /// Minor version.
    pub minor: u32,
    /// Largest message the guest will send.
    pub max_xfer_size: u32,
}

/// Initialize completion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InitComplete {
    /// Request id.
    pub req_id: u32,
    /// Status.
    pub status: u32,
    /// Major version.
    pub major: u32,
    /// Minor version.
    pub minor: u32,
    /// Device flags.
    pub dev_flags: u32,
    /// Medium.
    pub medium: u32,
    /// Maximum packets per message the host accepts.
    pub max_pkt_per_msg: u32,
    /// Maximum transfer size the host accepts.
    pub max_xfer_size: u32,
    /// Packet alignment as a power of two exponent.
    pub pkt_align_factor: u32,
}

/// Query or set request (same layout).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OidRequest<'a> {
    /// Request id.
    pub req_id: u32,
    /// OID.
    pub oid: u32,
    /// Device VC handle (0).
    pub dev_vc_handle: u32,
    /// Information buffer.
    pub info: &'a [u8],
}

/// Query completion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueryComplete<'a> {
    /// Request id.
    pub req_id: u32,
    /// Status.
    pub status: u32,
    /// Information buffer.
    pub info: &'a [u8],
}

/// A completion made of request id and status (set, keepalive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusComplete {
    /// Request id.
    pub req_id: u32,
    /// Status.
    pub status: u32,
}

/// Status indication.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndicateStatus<'a> {
    /// Status code (`STATUS_MEDIA_*`, `STATUS_LINK_SPEED_CHANGE`, ...).
    pub status: u32,
    /// Status buffer.
    pub buf: &'a [u8],
}

impl IndicateStatus<'_> {
    /// The new link speed in 100 bps units for a link speed change.
    pub fn link_speed(&self) -> Option<u32> {
        if self.status == STATUS_LINK_SPEED_CHANGE {
            wire::read_u32(self.buf, 0).ok()
        } else {
            None
        }
    }
}

/// A parsed RNDIS message borrowing its input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Message<'a> {
    /// Data packet.
    Packet(Packet<'a>),
    /// Initialize request.
    Init(InitRequest),
    /// Initialize completion.
    InitComplete(InitComplete),
    /// Halt request.
    Halt {
        /// Request id.
        req_id: u32,
    },
    /// Query request.
    Query(OidRequest<'a>),
    /// Query completion.
    QueryComplete(QueryComplete<'a>),
    /// Set request.
    Set(OidRequest<'a>),
    /// Set completion.
    SetComplete(StatusComplete),
    /// Reset request.
    Reset,
    /// Reset completion.
    ResetComplete {
        /// Status.
        status: u32,
        /// Addressing-reset flag.
        addressing_reset: u32,
    },
    /// Status indication.
    Indicate(IndicateStatus<'a>),
    /// Keepalive request.
    Keepalive {
        /// Request id.
        req_id: u32,
    },
    /// Keepalive completion.
    KeepaliveComplete(StatusComplete),
}

fn min_len(msg_type: u32) -> Result<usize> {
    Ok(match msg_type {
        MSG_PACKET => PACKET_HEADER_SIZE,
        MSG_INIT => 24,
        MSG_INIT_C => 52,
        MSG_HALT | MSG_RESET | MSG_KEEPALIVE => 12,
        MSG_QUERY | MSG_SET => 28,
        MSG_QUERY_C => 24,
        MSG_SET_C | MSG_RESET_C | MSG_KEEPALIVE_C => 16,
        MSG_INDICATE => 20,
        _ => return Err(Error::UnknownType),
    })
}

impl<'a> Message<'a> {
    /// Parses the message at the start of `buf`. Only `msg_len` bytes
    /// belong to it, except for a status indication's buffer, which is
    /// checked against all of `buf` (older hosts leave it out of
    /// `msg_len`).
    pub fn parse(buf: &'a [u8]) -> Result<Self> {
        let h = Header::parse(buf)?;
        let need = min_len(h.msg_type)?;
        let msg = buf.get(..h.msg_len as usize).ok_or(Error::OverlongLength)?;
        if msg.len() < need {
            return Err(Error::LengthTooSmall);
        }
        let body = msg.get(HEADER_SIZE..).ok_or(Error::Truncated)?;
        let r = |o: usize| wire::read_u32(body, o);
        Ok(match h.msg_type {
            MSG_PACKET => Message::Packet(parse_packet(body)?),
            MSG_INIT => Message::Init(InitRequest {
                req_id: r(0)?,
                major: r(4)?,
                minor: r(8)?,
                max_xfer_size: r(12)?,
            }),
            MSG_INIT_C => Message::InitComplete(InitComplete {
                req_id: r(0)?,
                status: r(4)?,
                major: r(8)?,
                minor: r(12)?,
                dev_flags: r(16)?,
                medium: r(20)?,
                max_pkt_per_msg: r(24)?,
                max_xfer_size: r(28)?,
                pkt_align_factor: r(32)?,
            }),
            MSG_HALT => Message::Halt { req_id: r(0)? },
            MSG_QUERY | MSG_SET => {
                let req = OidRequest {
                    req_id: r(0)?,
                    oid: r(4)?,
                    dev_vc_handle: r(16)?,
                    info: body_area(body, 20, r(12)?, r(8)?)?,
                };
                if h.msg_type == MSG_QUERY {
                    Message::Query(req)
                } else {
                    Message::Set(req)
                }
            }
            MSG_QUERY_C => Message::QueryComplete(QueryComplete {
                req_id: r(0)?,
                status: r(4)?,
                info: body_area(body, 16, r(12)?, r(8)?)?,
            }),
            MSG_SET_C => Message::SetComplete(StatusComplete {
                req_id: r(0)?,
                status: r(4)?,
            }),
            MSG_RESET => Message::Reset,
            MSG_RESET_C => Message::ResetComplete {
                status: r(0)?,
                addressing_reset: r(4)?,
            },
            MSG_INDICATE => {
                let status = r(0)?;
                let whole = buf.get(HEADER_SIZE..).ok_or(Error::Truncated)?;
                let sbuf = body_area(whole, 12, r(8)?, r(4)?)?;
                if status == STATUS_LINK_SPEED_CHANGE && sbuf.len() < 4 {
                    return Err(Error::LengthTooSmall);
                }
                Message::Indicate(IndicateStatus { status, buf: sbuf })
            }
            MSG_KEEPALIVE => Message::Keepalive { req_id: r(0)? },
            MSG_KEEPALIVE_C => Message::KeepaliveComplete(StatusComplete {
                req_id: r(0)?,
                status: r(4)?,
            }),
            _ => return Err(Error::UnknownType),
        })
    }

    /// The wire type of this message.
    pub fn msg_type(&self) -> u32 {
        match self {
            Message::Packet(_) => MSG_PACKET,
            Message::Init(_) => MSG_INIT,
            Message::InitComplete(_) => MSG_INIT_C,
            Message::Halt { .. } => MSG_HALT,
            Message::Query(_) => MSG_QUERY,
            Message::QueryComplete(_) => MSG_QUERY_C,
            Message::Set(_) => MSG_SET,
            Message::SetComplete(_) => MSG_SET_C,
            Message::Reset => MSG_RESET,
            Message::ResetComplete { .. } => MSG_RESET_C,
            Message::Indicate(_) => MSG_INDICATE,
            Message::Keepalive { .. } => MSG_KEEPALIVE,
            Message::KeepaliveComplete(_) => MSG_KEEPALIVE_C,
        }
    }

    /// Writes the message (variable parts directly after the fixed fields)
    /// and returns its length. For packets, only the known infos are
    /// written; unknown PPIs of a parsed packet are dropped.
    pub fn build(&self, out: &mut [u8]) -> Result<usize> {
        let t = self.msg_type();
        let fixed = min_len(t)?;
        let (var, var_at): (&[u8], usize) = match self {
            Message::Packet(p) => return build_packet(out, &p.info, p.data),
            Message::Query(q) | Message::Set(q) => (q.info, 20),
            Message::QueryComplete(q) => (q.info, 16),
            Message::Indicate(i) => (i.buf, 12),
            _ => (&[], 0),
        };
        let len = fixed.checked_add(var.len()).ok_or(Error::TooLarge)?;
        let len32 = wire::to_u32(len)?;
        if out.len() < len {
            return Err(Error::BufferTooSmall);
        }
        wire::zero(out, 0, len)?;
        wire::write_u32(out, 0, t)?;
        wire::write_u32(out, 4, len32)?;
        let var_len = wire::to_u32(var.len())?;
        let var_off = wire::to_u32(var_at)?;
        let b = HEADER_SIZE;
        let vals: [u32; 9];
        let n = match *self {
            Message::Init(i) => {
                vals = [i.req_id, i.major, i.minor, i.max_xfer_size, 0, 0, 0, 0, 0];
                4
            }
            Message::InitComplete(c) => {
                vals = [
                    c.req_id,
                    c.status,
                    c.major,
                    c.minor,
                    c.dev_flags,
                    c.medium,
                    c.max_pkt_per_msg,
                    c.max_xfer_size,
                    c.pkt_align_factor,
                ];
                9
            }
            Message::Halt { req_id } | Message::Keepalive { req_id } => {
                vals = [req_id, 0, 0, 0, 0, 0, 0, 0, 0];
                1
            }
            Message::Query(q) | Message::Set(q) => {
                vals = [
                    q.req_id,
                    q.oid,
                    var_len,
                    var_off,
                    q.dev_vc_handle,
                    0,
                    0,
                    0,
                    0,
                ];
                5
            }
            Message::QueryComplete(q) => {
                vals = [q.req_id, q.status, var_len, var_off, 0, 0, 0, 0, 0];
                4
            }
            Message::SetComplete(s) | Message::KeepaliveComplete(s) => {
                vals = [s.req_id, s.status, 0, 0, 0, 0, 0, 0, 0];
                2
            }
            Message::Reset => {
                vals = [0; 9];
                1
            }
            Message::ResetComplete {
                status,
                addressing_reset,
            } => {
                vals = [status, addressing_reset, 0, 0, 0, 0, 0, 0, 0];
                2
            }
            Message::Indicate(i) => {
                vals = [i.status, var_len, var_off, 0, 0, 0, 0, 0, 0];
                3
            }
            Message::Packet(_) => return Err(Error::UnknownType),
        };
        for (i, v) in vals.iter().take(n).enumerate() {
            wire::write_u32(out, b + i * 4, *v)?;
        }
        if !var.is_empty() {
            wire::write_bytes(out, b + var_at, var)?;
        }
        Ok(len)
    }
}

fn write_ppi(out: &mut [u8], off: &mut usize, raw_type: u32, value: u32) -> Result<()> {
    wire::write_u32(out, *off, (PPI_HEADER_SIZE + 4) as u32)?;
    wire::write_u32(out, *off + 4, raw_type)?;
    wire::write_u32(out, *off + 8, PPI_HEADER_SIZE as u32)?;
    wire::write_u32(out, *off + 12, value)?;
    *off += PPI_HEADER_SIZE + 4;
    Ok(())
}

/// Writes a packet message's fixed part and PPI list for a frame of
/// `data_len` bytes that the caller places (or sends by page) right after
/// it. Returns the bytes written; the message length field is that plus
/// `data_len`.
pub fn build_packet_header(out: &mut [u8], info: &PacketInfo, data_len: u32) -> Result<usize> {
    let ppi_len = info.ppi_len();
    let hdr_len = PACKET_HEADER_SIZE + ppi_len;
    let msg_len = (hdr_len as u32)
        .checked_add(data_len)
        .ok_or(Error::TooLarge)?;
    if out.len() < hdr_len {
        return Err(Error::BufferTooSmall);
    }
    wire::zero(out, 0, hdr_len)?;
    wire::write_u32(out, 0, MSG_PACKET)?;
    wire::write_u32(out, 4, msg_len)?;
    let b = HEADER_SIZE;
    wire::write_u32(out, b, (PACKET_BODY_SIZE + ppi_len) as u32)?;
    wire::write_u32(out, b + 4, data_len)?;
    if ppi_len != 0 {
        wire::write_u32(out, b + 20, PACKET_BODY_SIZE as u32)?;
        wire::write_u32(out, b + 24, ppi_len as u32)?;
    }
    let mut off = PACKET_HEADER_SIZE;
    if let Some(c) = info.checksum {
        write_ppi(out, &mut off, PPI_CHECKSUM, c.0)?;
    }
    if let Some(l) = info.lso {
        write_ppi(out, &mut off, PPI_LSO, l.0)?;
    }
    if let Some(v) = info.vlan {
        write_ppi(out, &mut off, PPI_VLAN, v.0)?;
    }
    if let Some(h) = info.hash_value {
        write_ppi(out, &mut off, PPI_HASH_VALUE, h)?;
    }
    if let Some(h) = info.hash_info {
        write_ppi(out, &mut off, PPI_HASH_INFO, h)?;
    }
    if let Some(p) = info.pktinfo_id {
        let v = u32::from(p.version) | (u32::from(p.flags) << 8) | (u32::from(p.pkt_id) << 16);
        write_ppi(out, &mut off, PPI_INTERNAL_PKTINFO_ID | PPI_INTERNAL_BIT, v)?;
    }
    Ok(hdr_len)
}

/// Writes a complete packet message carrying `data` and returns its length.
pub fn build_packet(out: &mut [u8], info: &PacketInfo, data: &[u8]) -> Result<usize> {
    let data_len = wire::to_u32(data.len())?;
    let hdr = build_packet_header(out, info, data_len)?;
    wire::write_bytes(out, hdr, data)?;
    Ok(hdr + data.len())
}

/// A string configuration parameter (`OID_GEN_RNDIS_CONFIG_PARAMETER`):
/// name and value in UTF-16LE after a 20-byte header whose offsets count
/// from the header's first byte. Names and values are ASCII here (the only
/// parameter sent is [`CONFIG_PARAM_NETWORK_ADDRESS`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConfigParam<'a> {
    /// The parameter's name, UTF-16LE.
    pub name: &'a [u8],
    /// The parameter's value, UTF-16LE.
    pub value: &'a [u8],
}

impl<'a> ConfigParam<'a> {
    /// Writes the information buffer of a set request for string parameter
    /// `name` = `value` (ASCII) into `out`; returns its length.
    pub fn build_string(out: &mut [u8], name: &str, value: &str) -> Result<usize> {
        if !name.is_ascii() || !value.is_ascii() || name.is_empty() {
            return Err(Error::InvalidValue);
        }
        if name.len() > CONFIG_PARAM_MAX_CHARS || value.len() > CONFIG_PARAM_MAX_CHARS {
            return Err(Error::TooLarge);
        }
        let name_off = CONFIG_PARAM_HEADER_SIZE;
        let value_off = name_off + 2 * name.len();
        let end = value_off + 2 * value.len();
        if out.len() < end {
            return Err(Error::BufferTooSmall);
        }
        wire::write_u32(out, 0, wire::to_u32(name_off)?)?;
        wire::write_u32(out, 4, wire::to_u32(2 * name.len())?)?;
        wire::write_u32(out, 8, CONFIG_PARAM_TYPE_STRING)?;
        wire::write_u32(out, 12, wire::to_u32(value_off)?)?;
        wire::write_u32(out, 16, wire::to_u32(2 * value.len())?)?;
        for (i, b) in name.bytes().chain(value.bytes()).enumerate() {
            wire::write_u16(out, name_off + 2 * i, u16::from(b))?;
        }
        Ok(end)
    }

    /// Parses a string parameter (the host's side). Name and value must lie
    /// after the header, inside `info`, be whole UTF-16 units and at most
    /// [`CONFIG_PARAM_MAX_CHARS`] long; the type must be string.
    pub fn parse_string(info: &'a [u8]) -> Result<Self> {
        if info.len() < CONFIG_PARAM_HEADER_SIZE {
            return Err(Error::Truncated);
        }
        let field = |off: usize, len: usize| -> Result<&'a [u8]> {
            let off = wire::read_u32(info, off)? as usize;
            let len = wire::read_u32(info, len)? as usize;
            if off < CONFIG_PARAM_HEADER_SIZE {
                return Err(Error::OffsetInsideHeader);
            }
            if len % 2 != 0 {
                return Err(Error::Misaligned);
            }
            if len > 2 * CONFIG_PARAM_MAX_CHARS {
                return Err(Error::TooLarge);
            }
            wire::slice(info, off, len).map_err(|_| Error::OffsetPastEnd)
        };
        if wire::read_u32(info, 8)? != CONFIG_PARAM_TYPE_STRING {
            return Err(Error::InvalidValue);
        }
        Ok(Self {
            name: field(0, 4)?,
            value: field(12, 16)?,
        })
    }

    /// Whether the name is `name` (ASCII, compared exactly).
    pub fn name_is(&self, name: &str) -> bool {
        utf16_eq_ascii(self.name, name)
    }

    /// The value decoded as a MAC address of 12 hexadecimal digits.
    pub fn mac_value(&self) -> Result<[u8; 6]> {
        let mut text = [0u8; 12];
        if utf16_to_utf8(self.value, &mut text)? != text.len() {
            return Err(Error::InvalidValue);
        }
        mac_from_hex(&text)
    }
}

/// The MAC address as the 12 lowercase hexadecimal digits that
/// [`CONFIG_PARAM_NETWORK_ADDRESS`] takes.
pub fn mac_to_hex(mac: &[u8; 6]) -> [u8; 12] {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = [0u8; 12];
    for (i, b) in mac.iter().enumerate() {
        out[2 * i] = DIGITS[usize::from(b >> 4)];
        out[2 * i + 1] = DIGITS[usize::from(b & 0xf)];
    }
    out
}

/// Parses 12 hexadecimal digits (either case) into a MAC address.
pub fn mac_from_hex(text: &[u8; 12]) -> Result<[u8; 6]> {
    let digit = |c: u8| -> Result<u8> {
        match c {
            b'0'..=b'9' => Ok(c - b'0'),
            b'a'..=b'f' => Ok(c - b'a' + 10),
            b'A'..=b'F' => Ok(c - b'A' + 10),
            _ => Err(Error::InvalidValue),
        }
    };
    let mut mac = [0u8; 6];
    for (i, m) in mac.iter_mut().enumerate() {
        *m = (digit(text[2 * i])? << 4) | digit(text[2 * i + 1])?;
    }
    Ok(mac)
}

fn utf16_eq_ascii(utf16: &[u8], ascii: &str) -> bool {
    utf16.len() == 2 * ascii.len()
        && utf16
            .chunks_exact(2)
            .zip(ascii.bytes())
            .all(|(u, a)| u16::from_le_bytes([u[0], u[1]]) == u16::from(a))
}

/// The host's friendly name (the answer to [`OID_GEN_FRIENDLY_NAME`]) as
/// an interface alias: decoded as by [`utf16_to_utf8`] into `out`; the
/// length written, 0 for an empty name or [`DEFAULT_FRIENDLY_NAME`] (no
/// alias). Errors as [`utf16_to_utf8`].
pub fn friendly_name_alias(utf16: &[u8], out: &mut [u8]) -> Result<usize> {
    let n = utf16_to_utf8(utf16, out)?;
    if out.get(..n) == Some(DEFAULT_FRIENDLY_NAME.as_bytes()) {
        return Ok(0);
    }
    Ok(n)
}

/// Decodes UTF-16LE `utf16` into `out` as UTF-8, stopping at the first
/// NUL; returns the length written. Unpaired surrogates and control
/// characters are `InvalidValue`; an odd byte count `Misaligned`; more than
/// `out` holds `TooLarge`.
pub fn utf16_to_utf8(utf16: &[u8], out: &mut [u8]) -> Result<usize> {
    if utf16.len() % 2 != 0 {
        return Err(Error::Misaligned);
    }
    let units = utf16
        .chunks_exact(2)
        .map(|u| u16::from_le_bytes([u[0], u[1]]))
        .take_while(|&u| u != 0);
    let mut n = 0;
    for c in core::char::decode_utf16(units) {
        let c = c.map_err(|_| Error::InvalidValue)?;
        if c.is_control() {
            return Err(Error::InvalidValue);
        }
        let end = n + c.len_utf8();
        let dst = out.get_mut(n..end).ok_or(Error::TooLarge)?;
        c.encode_utf8(dst);
        n = end;
    }
    Ok(n)
}

// -- Offload capabilities (OID_TCP_OFFLOAD_HARDWARE_CAPABILITIES) -----------

/// NDIS object type of an offload capabilities structure (`NDIS_OFFLOAD`).
pub const NDIS_OBJECT_TYPE_OFFLOAD: u8 = 0xA7;
/// Size of `NDIS_OFFLOAD` revision 1 (NDIS 6.0): object header, checksum,
/// LSOv1, IPsecv1 and LSOv2 blocks, flags.
pub const NDIS_OFFLOAD_SIZE_6_0: usize = 112;
/// Size of revision 2 (NDIS 6.1): adds the IPsecv2 block.
pub const NDIS_OFFLOAD_SIZE_6_1: usize = 144;
/// Size of revision 3 (NDIS 6.30): adds RSC and encapsulation blocks.
pub const NDIS_OFFLOAD_SIZE_6_30: usize = 156;
/// Encapsulation flag: IEEE 802.3 frames.
pub const NDIS_ENCAP_802_3: u32 = 0x2;
/// Checksum capability: IPv4 options / IPv6 extension headers.
pub const CSUM_IP_OPTIONS: u32 = 0x001;
/// Checksum capability: TCP options.
pub const CSUM_TCP_OPTIONS: u32 = 0x004;
/// Checksum capability: TCP checksum.
pub const CSUM_TCP: u32 = 0x010;
/// Checksum capability: UDP checksum.
pub const CSUM_UDP: u32 = 0x040;
/// Checksum capability: IPv4 header checksum (IPv4 only).
pub const CSUM_IP4: u32 = 0x100;
/// LSOv2 IPv6 option: extension headers supported.
pub const LSO6_IP_EXT: u32 = 0x001;
/// LSOv2 IPv6 option: TCP options supported.
pub const LSO6_TCP_OPTIONS: u32 = 0x004;

/// Byte offsets inside `NDIS_OFFLOAD` (public for the build-time check
/// against the C layout).
pub mod offload_offsets {
    /// IPv4 transmit checksum encapsulation.
    pub const IP4_TX_ENC: usize = 4;
    /// IPv4 transmit checksum flags.
    pub const IP4_TX_CSUM: usize = 8;
    /// IPv4 receive checksum encapsulation.
    pub const IP4_RX_ENC: usize = 12;
    /// IPv4 receive checksum flags.
    pub const IP4_RX_CSUM: usize = 16;
    /// IPv6 transmit checksum encapsulation.
    pub const IP6_TX_ENC: usize = 20;
    /// IPv6 transmit checksum flags.
    pub const IP6_TX_CSUM: usize = 24;
    /// IPv6 receive checksum encapsulation.
    pub const IP6_RX_ENC: usize = 28;
    /// IPv6 receive checksum flags.
    pub const IP6_RX_CSUM: usize = 32;
    /// LSOv2 IPv4 encapsulation.
    pub const LSO2_IP4_ENC: usize = 80;
    /// LSOv2 IPv4 largest offload.
    pub const LSO2_IP4_MAX: usize = 84;
    /// LSOv2 IPv4 fewest segments.
    pub const LSO2_IP4_MIN_SEGS: usize = 88;
    /// LSOv2 IPv6 encapsulation.
    pub const LSO2_IP6_ENC: usize = 92;
    /// LSOv2 IPv6 largest offload.
    pub const LSO2_IP6_MAX: usize = 96;
    /// LSOv2 IPv6 fewest segments.
    pub const LSO2_IP6_MIN_SEGS: usize = 100;
    /// LSOv2 IPv6 option flags.
    pub const LSO2_IP6_OPTS: usize = 104;
    /// RSC over IPv4 (revision 3).
    pub const RSC_IP4: usize = 144;
    /// RSC over IPv6 (revision 3).
    pub const RSC_IP6: usize = 145;
}

/// The host's offload capabilities as far as a Linux guest uses them: the
/// checksum block (encapsulation and capability flags per direction and IP
/// version), LSOv2 and, from revision 3, RSC.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OffloadCaps {
    /// The structure's revision (1..=3; later ones are read as 3).
    pub revision: u8,
    /// IPv4 transmit checksum: encapsulation, capability flags.
    pub ip4_tx: (u32, u32),
    /// IPv4 receive checksum: encapsulation, capability flags.
    pub ip4_rx: (u32, u32),
    /// IPv6 transmit checksum: encapsulation, capability flags.
    pub ip6_tx: (u32, u32),
    /// IPv6 receive checksum: encapsulation, capability flags.
    pub ip6_rx: (u32, u32),
    /// LSOv2 over IPv4: encapsulation, largest offload, fewest segments.
    pub lso4: (u32, u32, u32),
    /// LSOv2 over IPv6: encapsulation, largest offload, fewest segments.
    pub lso6: (u32, u32, u32),
    /// LSOv2 over IPv6: option flags ([`LSO6_IP_EXT`], [`LSO6_TCP_OPTIONS`]).
    pub lso6_opts: u32,
    /// Receive segment coalescing for IPv4 and IPv6 (revision 3 only).
    pub rsc: (bool, bool),
}

/// Checks the header of an NDIS object (`NDIS_OBJECT_HEADER`: type u8,
/// revision u8, size u16) at the start of `info`: the type must be `kind`
/// (`UnknownType`), the revision 1 or later (`BadVersion`), the size at
/// least `min_size` (`LengthTooSmall`) and within `info`
/// (`OverlongLength`). Returns the revision and the object's bytes (its
/// stated size).
pub fn ndis_object(info: &[u8], kind: u8, min_size: usize) -> Result<(u8, &[u8])> {
    let k = wire::read_u8(info, 0)?;
    let revision = wire::read_u8(info, 1)?;
    let size = usize::from(wire::read_u16(info, 2)?);
    if k != kind {
        return Err(Error::UnknownType);
    }
    if revision == 0 {
        return Err(Error::BadVersion);
    }
    if size < min_size {
        return Err(Error::LengthTooSmall);
    }
    match info.get(..size) {
        Some(body) => Ok((revision, body)),
        None => Err(Error::OverlongLength),
    }
}

/// Writes an NDIS object header: `kind`, `revision`, `size` (which must
/// fit in 16 bits, `TooLarge` otherwise).
pub fn write_ndis_header(out: &mut [u8], kind: u8, revision: u8, size: usize) -> Result<()> {
    let size = u16::try_from(size).map_err(|_| Error::TooLarge)?;
    wire::write_u8(out, 0, kind)?;
    wire::write_u8(out, 1, revision)?;
    wire::write_u16(out, 2, size)
}

impl OffloadCaps {
    /// Parses the answer to `OID_TCP_OFFLOAD_HARDWARE_CAPABILITIES`. The
    /// object header must say offload (`UnknownType` otherwise), revision
    /// 1 or later (`BadVersion`), and a size from the revision-1 layout
    /// (`LengthTooSmall`) up to what the answer holds (`OverlongLength`).
    /// Blocks beyond the stated size read as absent.
    pub fn parse(info: &[u8]) -> Result<Self> {
        use offload_offsets as o;
        let (revision, body) = ndis_object(info, NDIS_OBJECT_TYPE_OFFLOAD, NDIS_OFFLOAD_SIZE_6_0)?;
        let size = body.len();
        let r = |off| wire::read_u32(body, off);
        let rsc = if size > o::RSC_IP6 {
            (
                wire::read_u8(body, o::RSC_IP4)? != 0,
                wire::read_u8(body, o::RSC_IP6)? != 0,
            )
        } else {
            (false, false)
        };
        Ok(Self {
            revision: revision.min(3),
            ip4_tx: (r(o::IP4_TX_ENC)?, r(o::IP4_TX_CSUM)?),
            ip4_rx: (r(o::IP4_RX_ENC)?, r(o::IP4_RX_CSUM)?),
            ip6_tx: (r(o::IP6_TX_ENC)?, r(o::IP6_TX_CSUM)?),
            ip6_rx: (r(o::IP6_RX_ENC)?, r(o::IP6_RX_CSUM)?),
            lso4: (
                r(o::LSO2_IP4_ENC)?,
                r(o::LSO2_IP4_MAX)?,
                r(o::LSO2_IP4_MIN_SEGS)?,
            ),
            lso6: (
                r(o::LSO2_IP6_ENC)?,
                r(o::LSO2_IP6_MAX)?,
                r(o::LSO2_IP6_MIN_SEGS)?,
            ),
            lso6_opts: r(o::LSO2_IP6_OPTS)?,
            rsc,
        })
    }

    /// Writes the structure at its revision's size (the host's side);
    /// returns the length. Revision 0 or above 3 is `InvalidValue`.
    pub fn build(&self, out: &mut [u8]) -> Result<usize> {
        use offload_offsets as o;
        let size = match self.revision {
            1 => NDIS_OFFLOAD_SIZE_6_0,
            2 => NDIS_OFFLOAD_SIZE_6_1,
            3 => NDIS_OFFLOAD_SIZE_6_30,
            _ => return Err(Error::InvalidValue),
        };
        let out = out.get_mut(..size).ok_or(Error::BufferTooSmall)?;
        out.fill(0);
        write_ndis_header(out, NDIS_OBJECT_TYPE_OFFLOAD, self.revision, size)?;
        for (off, v) in [
            (o::IP4_TX_ENC, self.ip4_tx.0),
            (o::IP4_TX_CSUM, self.ip4_tx.1),
            (o::IP4_RX_ENC, self.ip4_rx.0),
            (o::IP4_RX_CSUM, self.ip4_rx.1),
            (o::IP6_TX_ENC, self.ip6_tx.0),
            (o::IP6_TX_CSUM, self.ip6_tx.1),
            (o::IP6_RX_ENC, self.ip6_rx.0),
            (o::IP6_RX_CSUM, self.ip6_rx.1),
            (o::LSO2_IP4_ENC, self.lso4.0),
            (o::LSO2_IP4_MAX, self.lso4.1),
            (o::LSO2_IP4_MIN_SEGS, self.lso4.2),
            (o::LSO2_IP6_ENC, self.lso6.0),
            (o::LSO2_IP6_MAX, self.lso6.1),
            (o::LSO2_IP6_MIN_SEGS, self.lso6.2),
            (o::LSO2_IP6_OPTS, self.lso6_opts),
        ] {
            wire::write_u32(out, off, v)?;
        }
        if self.revision >= 3 {
            wire::write_u8(out, o::RSC_IP4, u8::from(self.rsc.0))?;
            wire::write_u8(out, o::RSC_IP6, u8::from(self.rsc.1))?;
        }
        Ok(size)
    }

    fn has(enc_flags: (u32, u32), want: u32) -> bool {
        enc_flags.0 & NDIS_ENCAP_802_3 != 0 && enc_flags.1 & want == want
    }

    /// TCP over IPv4 transmit checksum (with TCP options), as Linux needs
    /// it for `NETIF_F_IP_CSUM`.
    pub fn tx_tcp4(&self) -> bool {
        Self::has(self.ip4_tx, CSUM_TCP | CSUM_TCP_OPTIONS)
    }

    /// UDP over IPv4 transmit checksum (only with [`Self::tx_tcp4`]).
    pub fn tx_udp4(&self) -> bool {
        self.tx_tcp4() && Self::has(self.ip4_tx, CSUM_UDP)
    }

    /// TCP over IPv6 transmit checksum (with TCP options and extension
    /// headers), for `NETIF_F_IPV6_CSUM`.
    pub fn tx_tcp6(&self) -> bool {
        Self::has(self.ip6_tx, CSUM_TCP | CSUM_TCP_OPTIONS | CSUM_IP_OPTIONS)
    }

    /// UDP over IPv6 transmit checksum (only with [`Self::tx_tcp6`]).
    pub fn tx_udp6(&self) -> bool {
        self.tx_tcp6() && Self::has(self.ip6_tx, CSUM_UDP)
    }

    /// Largest LSOv2 send over IPv4 (needs [`Self::tx_tcp4`]); `None`
    /// without it or with a size under two segments' worth (1 KiB).
    pub fn lso4_max(&self) -> Option<u32> {
        let (enc, max, _) = self.lso4;
        (self.tx_tcp4() && enc & NDIS_ENCAP_802_3 != 0 && max >= 1024).then_some(max)
    }

    /// Largest LSOv2 send over IPv6 (needs [`Self::tx_tcp6`] and both IPv6
    /// options); `None` otherwise.
    pub fn lso6_max(&self) -> Option<u32> {
        let (enc, max, _) = self.lso6;
        let opts = LSO6_IP_EXT | LSO6_TCP_OPTIONS;
        (self.tx_tcp6()
            && enc & NDIS_ENCAP_802_3 != 0
            && self.lso6_opts & opts == opts
            && max >= 1024)
            .then_some(max)
    }

    /// Writes a one-line summary ("tcp4 udp4 tcp6 udp6 checksum, LSOv2 v4
    /// 62780 v6 62780, RSC", or "none").
    pub fn describe(&self, w: &mut impl core::fmt::Write) -> core::fmt::Result {
        let mut any = false;
        for (on, name) in [
            (self.tx_tcp4(), "tcp4"),
            (self.tx_udp4(), "udp4"),
            (self.tx_tcp6(), "tcp6"),
            (self.tx_udp6(), "udp6"),
        ] {
            if on {
                w.write_str(if any { " " } else { "" })?;
                w.write_str(name)?;
                any = true;
            }
        }
        if any {
            w.write_str(" checksum")?;
        }
        if self.lso4_max().is_some() || self.lso6_max().is_some() {
            w.write_str(if any { ", LSOv2" } else { "LSOv2" })?;
            if let Some(m) = self.lso4_max() {
                write!(w, " v4 {m}")?;
            }
            if let Some(m) = self.lso6_max() {
                write!(w, " v6 {m}")?;
            }
            any = true;
        }
        if self.rsc.0 && self.rsc.1 {
            w.write_str(if any { ", RSC" } else { "RSC" })?;
            any = true;
        }
        if !any {
            w.write_str("none")?;
        }
        Ok(())
    }
}

impl core::fmt::Display for OffloadCaps {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        self.describe(f)
    }
}
