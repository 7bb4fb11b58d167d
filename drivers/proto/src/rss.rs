// SPDX-License-Identifier: GPL-2.0
//! Receive-side scaling (vRSS): the host's RSS capabilities
//! (`NDIS_RECEIVE_SCALE_CAPABILITIES`), the parameters the guest sets
//! (`NDIS_RECEIVE_SCALE_PARAMETERS`: hash types, indirection table, secret
//! key), and the Toeplitz hash the host spreads received frames with.
//!
//! The guest builds the parameters, the host parses them; both compute the
//! hash the same way (the host to pick a channel, the guest to check the
//! hash value it is given). Everything here is `core`-only.

use super::error::{Error, Result};
use super::offload::{self, IPPROTO_TCP};
use super::rndis::{ndis_object, write_ndis_header};
use super::wire;

/// `NDIS_OBJECT_TYPE_RSS_CAPABILITIES`.
pub const NDIS_OBJECT_TYPE_RSS_CAPABILITIES: u8 = 0x88;
/// `NDIS_OBJECT_TYPE_RSS_PARAMETERS`.
pub const NDIS_OBJECT_TYPE_RSS_PARAMETERS: u8 = 0x89;
/// Revision of both structures that Linux and Hyper-V use.
pub const RSS_REVISION_2: u8 = 2;
/// Size of the capabilities (revision 2, packed): header, flags, interrupt
/// messages, receive queues (u32 each), indirection table entries (u16).
pub const RSS_CAPS_SIZE: usize = 18;
/// Size of the capabilities at revision 1 (no indirection table entries).
pub const RSS_CAPS_SIZE_1: usize = 16;
/// Size of the parameters' fixed part.
pub const RSS_PARAMS_SIZE: usize = 40;
/// Length of the Toeplitz secret key (`NETVSC_HASH_KEYLEN`).
pub const HASH_KEY_LEN: usize = 40;
/// Most indirection table entries (`ITAB_NUM_MAX`).
pub const ITAB_MAX: usize = 256;
/// Indirection table entries when the host does not say (`ITAB_NUM`).
pub const ITAB_DEFAULT: usize = 128;

/// Capability flag: TCP over IPv4 hashing.
pub const CAPS_HASH_TCP_IPV4: u32 = 0x100;
/// Capability flag: TCP over IPv6 hashing.
pub const CAPS_HASH_TCP_IPV6: u32 = 0x200;
/// Capability flag: TCP over IPv6 with extension headers hashing.
pub const CAPS_HASH_TCP_IPV6_EX: u32 = 0x400;

/// Hash function: Toeplitz.
pub const HASH_FUNC_TOEPLITZ: u32 = 0x1;
/// Hash type: IPv4 addresses.
pub const HASH_IPV4: u32 = 0x100;
/// Hash type: IPv4 addresses and TCP ports.
pub const HASH_TCP_IPV4: u32 = 0x200;
/// Hash type: IPv6 addresses.
pub const HASH_IPV6: u32 = 0x400;
/// Hash type: IPv6 addresses with extension headers.
pub const HASH_IPV6_EX: u32 = 0x800;
/// Hash type: IPv6 addresses and TCP ports.
pub const HASH_TCP_IPV6: u32 = 0x1000;
/// Hash type: the same with extension headers.
pub const HASH_TCP_IPV6_EX: u32 = 0x2000;
/// What Linux asks for: Toeplitz over addresses and TCP ports, both IP
/// versions.
pub const HASH_LINUX: u32 =
    HASH_FUNC_TOEPLITZ | HASH_IPV4 | HASH_TCP_IPV4 | HASH_IPV6 | HASH_TCP_IPV6;

/// Parameter flag: disable RSS.
pub const PARAM_FLAG_DISABLE_RSS: u16 = 0x10;

/// The secret key Microsoft publishes for verifying Toeplitz hashes (and
/// that many drivers use as their default).
pub const VERIFICATION_KEY: [u8; HASH_KEY_LEN] = [
    0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3, 0x8f, 0xb0,
    0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3, 0x80, 0x30, 0xf2, 0x0c,
    0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
];

/// The host's RSS capabilities.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RssCaps {
    /// Revision (1 or 2; later ones are read as 2).
    pub revision: u8,
    /// Capability flags (`CAPS_*`).
    pub flags: u32,
    /// Interrupt messages.
    pub interrupt_messages: u32,
    /// Receive queues (channels) the host can spread over.
    pub receive_queues: u32,
    /// Indirection table entries (revision 2; 0 when not said).
    pub table_entries: u16,
}

impl RssCaps {
    /// Parses the answer to `OID_GEN_RECEIVE_SCALE_CAPABILITIES`: type
    /// ([`NDIS_OBJECT_TYPE_RSS_CAPABILITIES`], else `UnknownType`), revision
    /// 1 or later (`BadVersion`), a size of at least the revision-1 layout
    /// (`LengthTooSmall`) that the answer holds (`OverlongLength`).
    pub fn parse(info: &[u8]) -> Result<Self> {
        let (revision, body) =
            ndis_object(info, NDIS_OBJECT_TYPE_RSS_CAPABILITIES, RSS_CAPS_SIZE_1)?;
        let table_entries = if revision >= 2 && body.len() >= RSS_CAPS_SIZE {
            wire::read_u16(body, 16)?
        } else {
            0
        };
        Ok(Self {
            revision: revision.min(RSS_REVISION_2),
            flags: wire::read_u32(body, 4)?,
            interrupt_messages: wire::read_u32(body, 8)?,
            receive_queues: wire::read_u32(body, 12)?,
            table_entries,
        })
    }

    /// Writes the capabilities at their revision's size (the host's side);
    /// revision 0 or above 2 is `InvalidValue`.
    pub fn build(&self, out: &mut [u8]) -> Result<usize> {
        let size = match self.revision {
            1 => RSS_CAPS_SIZE_1,
            2 => RSS_CAPS_SIZE,
            _ => return Err(Error::InvalidValue),
        };
        let out = out.get_mut(..size).ok_or(Error::BufferTooSmall)?;
        write_ndis_header(out, NDIS_OBJECT_TYPE_RSS_CAPABILITIES, self.revision, size)?;
        wire::write_u32(out, 4, self.flags)?;
        wire::write_u32(out, 8, self.interrupt_messages)?;
        wire::write_u32(out, 12, self.receive_queues)?;
        if self.revision >= 2 {
            wire::write_u16(out, 16, self.table_entries)?;
        }
        Ok(size)
    }

    /// The indirection table size a guest uses: what the host says if it
    /// is 1..=[`ITAB_MAX`], else [`ITAB_DEFAULT`] (as upstream).
    pub fn table_size(&self) -> usize {
        match usize::from(self.table_entries) {
            n @ 1..=ITAB_MAX => n,
            _ => ITAB_DEFAULT,
        }
    }
}

/// RSS parameters: what the guest sets with
/// `OID_GEN_RECEIVE_SCALE_PARAMETERS`. The table holds channel numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RssParams<'a> {
    /// `PARAM_FLAG_*`.
    pub flags: u16,
    /// Hash function and types (`HASH_*`).
    pub hash_info: u32,
    /// Indirection table: one little-endian u32 channel number per entry
    /// (parsed: a view into the request; built: see [`RssParams::build`]).
    pub table: &'a [u8],
    /// Toeplitz secret key.
    pub key: &'a [u8],
}

impl<'a> RssParams<'a> {
    /// Number of indirection table entries.
    pub fn table_len(&self) -> usize {
        self.table.len() / 4
    }

    /// Entry `i` of the indirection table.
    pub fn entry(&self, i: usize) -> Option<u32> {
        wire::read_u32(self.table, i.checked_mul(4)?).ok()
    }

    /// Parses a set request (the host's side): type and revision as for
    /// the capabilities; the table (a multiple of 4 bytes, at most
    /// [`ITAB_MAX`] entries, `InvalidCount` otherwise) and the key (at most
    /// [`HASH_KEY_LEN`] bytes, `TooLarge`) must lie after the fixed part
    /// (`OffsetInsideHeader`) and inside the request (`OffsetPastEnd`).
    /// With RSS disabled the table and key may be empty.
    pub fn parse(info: &'a [u8]) -> Result<Self> {
        // The table and key follow the object (its size is the fixed
        // part), inside the request.
        ndis_object(info, NDIS_OBJECT_TYPE_RSS_PARAMETERS, RSS_PARAMS_SIZE)?;
        let flags = wire::read_u16(info, 4)?;
        let hash_info = wire::read_u32(info, 8)?;
        let tab_len = usize::from(wire::read_u16(info, 12)?);
        let tab_off = wire::read_u32(info, 16)? as usize;
        let key_len = usize::from(wire::read_u16(info, 20)?);
        let key_off = wire::read_u32(info, 24)? as usize;
        if tab_len % 4 != 0 || tab_len / 4 > ITAB_MAX {
            return Err(Error::InvalidCount);
        }
        if key_len > HASH_KEY_LEN {
            return Err(Error::TooLarge);
        }
        let area = |off: usize, len: usize| -> Result<&'a [u8]> {
            if len == 0 {
                return Ok(&[]);
            }
            if off < RSS_PARAMS_SIZE {
                return Err(Error::OffsetInsideHeader);
            }
            let end = off.checked_add(len).ok_or(Error::OffsetPastEnd)?;
            info.get(off..end).ok_or(Error::OffsetPastEnd)
        };
        Ok(Self {
            flags,
            hash_info,
            table: area(tab_off, tab_len)?,
            key: area(key_off, key_len)?,
        })
    }

    /// Writes parameters for `channels` spread over a table of
    /// `table_size` entries (entry `i` is channel `i % channels`, as
    /// Linux's default), with `key`, as Linux lays them out: the fixed
    /// part, the table, the key. Returns the length.
    pub fn build(
        out: &mut [u8],
        channels: u32,
        table_size: usize,
        key: &[u8; HASH_KEY_LEN],
    ) -> Result<usize> {
        if channels == 0 || table_size == 0 || table_size > ITAB_MAX {
            return Err(Error::InvalidValue);
        }
        let tab_len = table_size * 4;
        let total = RSS_PARAMS_SIZE + tab_len + HASH_KEY_LEN;
        let out = out.get_mut(..total).ok_or(Error::BufferTooSmall)?;
        out.fill(0);
        write_ndis_header(
            out,
            NDIS_OBJECT_TYPE_RSS_PARAMETERS,
            RSS_REVISION_2,
            RSS_PARAMS_SIZE,
        )?;
        wire::write_u32(out, 8, HASH_LINUX)?;
        wire::write_u16(out, 12, tab_len as u16)?;
        wire::write_u32(out, 16, RSS_PARAMS_SIZE as u32)?;
        wire::write_u16(out, 20, HASH_KEY_LEN as u16)?;
        wire::write_u32(out, 24, (RSS_PARAMS_SIZE + tab_len) as u32)?;
        for i in 0..table_size {
            wire::write_u32(out, RSS_PARAMS_SIZE + 4 * i, i as u32 % channels)?;
        }
        out[RSS_PARAMS_SIZE + tab_len..].copy_from_slice(key);
        Ok(total)
    }
}

/// The Toeplitz hash of `input` under `key`: for every set bit of the
/// input, the 32 key bits starting at that bit position are XORed in.
/// Input beyond what the key covers (`key.len() * 8 - 32` bits) is not
/// hashed.
pub fn toeplitz(key: &[u8], input: &[u8]) -> u32 {
    let mut hash = 0u32;
    // The 32-bit window of the key at the current bit, and the key bits
    // that follow it.
    let mut window = match key.get(..4) {
        Some(k) => u32::from_be_bytes([k[0], k[1], k[2], k[3]]),
        None => return 0,
    };
    for (i, byte) in input.iter().enumerate() {
        let next = match key.get(i + 4) {
            Some(&b) => b,
            None => return hash,
        };
        for bit in 0..8 {
            if byte & (0x80 >> bit) != 0 {
                hash ^= window;
            }
            window = (window << 1) | u32::from((next >> (7 - bit)) & 1);
        }
    }
    hash
}

/// Which fields a frame's hash was computed over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashKind {
    /// Source and destination IPv4 addresses and TCP ports.
    TcpIpv4,
    /// Source and destination IPv4 addresses.
    Ipv4,
    /// Source and destination IPv6 addresses and TCP ports.
    TcpIpv6,
    /// Source and destination IPv6 addresses.
    Ipv6,
}

impl HashKind {
    /// The `HASH_*` type bit it corresponds to.
    pub fn hash_type(self) -> u32 {
        match self {
            HashKind::TcpIpv4 => HASH_TCP_IPV4,
            HashKind::Ipv4 => HASH_IPV4,
            HashKind::TcpIpv6 => HASH_TCP_IPV6,
            HashKind::Ipv6 => HASH_IPV6,
        }
    }
}

/// The RSS hash of an Ethernet frame as NDIS defines it: over source and
/// destination address and, for TCP (not a fragment) when `hash_info`
/// asks for it, source and destination port; `None` for frames that are
/// not IP or whose kind `hash_info` does not ask for.
pub fn frame_hash(key: &[u8], frame: &[u8], hash_info: u32) -> Option<(u32, HashKind)> {
    let h = offload::parse_headers(frame).ok()?;
    let mut input = [0u8; 36];
    let addrs = h.addrs(frame).ok()?;
    input[..addrs.len()].copy_from_slice(addrs);
    let tcp = h.proto == IPPROTO_TCP && !h.fragment;
    let (want_tcp, want_ip) = if h.ipv6 {
        (HASH_TCP_IPV6, HASH_IPV6)
    } else {
        (HASH_TCP_IPV4, HASH_IPV4)
    };
    if tcp && hash_info & want_tcp != 0 {
        let ports = frame.get(h.l4..h.l4 + 4)?;
        input[addrs.len()..addrs.len() + 4].copy_from_slice(ports);
        let kind = if h.ipv6 {
            HashKind::TcpIpv6
        } else {
            HashKind::TcpIpv4
        };
        return Some((toeplitz(key, &input[..addrs.len() + 4]), kind));
    }
    if hash_info & want_ip == 0 {
        return None;
    }
    let kind = if h.ipv6 {
        HashKind::Ipv6
    } else {
        HashKind::Ipv4
    };
    Some((toeplitz(key, addrs), kind))
}
