// SPDX-License-Identifier: GPL-2.0
//! Task offloads over the synthetic path: what the guest asks the host to
//! do (`NDIS_OFFLOAD_PARAMETERS`, set with `OID_TCP_OFFLOAD_PARAMETERS`),
//! the per-packet info a transmitted frame carries for it, and the
//! Internet checksum arithmetic both sides need.
//!
//! The guest side ([`OffloadPlan`], [`prepare_tx`]) turns the host's
//! capabilities and a frame's kernel metadata into the request and the
//! per-packet info; the host side ([`check_tx`], [`verify_l4`]) checks a
//! frame against the info it came with and the checksum of what it
//! delivers. Frames are Ethernet II without VLAN tag; anything the parsers
//! do not understand is left to software, never guessed at.

use super::error::{Error, Result};
use super::nvsp;
use super::rndis::{
    ndis_object, write_ndis_header, ChecksumInfo, LsoV2Info, OffloadCaps, PacketInfo,
};
use super::wire;

/// `NDIS_OBJECT_TYPE_DEFAULT`: the object header type of the parameters.
pub const NDIS_OBJECT_TYPE_DEFAULT: u8 = 0x80;
/// The revision the guest writes (3; hosts read from revision 1 on).
pub const OFFLOAD_PARAMETERS_REVISION: u8 = 3;
/// Size of the revision-1 layout: through `flags`.
pub const OFFLOAD_PARAMETERS_SIZE_1: usize = 20;
/// Size sent to hosts speaking NVSP 4 or older (through the IPsec v2
/// bytes), which take no UDP checksum offload either.
pub const OFFLOAD_PARAMETERS_SIZE_NVSP4: usize = 22;
/// Size of the whole structure (revision 3 with RSC and encapsulation).
pub const OFFLOAD_PARAMETERS_SIZE: usize = 28;

/// Parameter value: leave the setting as it is.
pub const PARAM_NO_CHANGE: u8 = 0;
/// Checksum parameter: off both ways.
pub const CSUM_TX_RX_DISABLED: u8 = 1;
/// Checksum parameter: transmit only.
pub const CSUM_TX_ENABLED_RX_DISABLED: u8 = 2;
/// Checksum parameter: receive only.
pub const CSUM_RX_ENABLED_TX_DISABLED: u8 = 3;
/// Checksum parameter: on both ways.
pub const CSUM_TX_RX_ENABLED: u8 = 4;
/// LSO / RSC parameter: off.
pub const SIMPLE_DISABLED: u8 = 1;
/// LSO / RSC parameter: on.
pub const SIMPLE_ENABLED: u8 = 2;

/// Byte offsets inside `NDIS_OFFLOAD_PARAMETERS` (checked against the C
/// structure when the module is built).
pub mod params_offsets {
    /// IPv4 header checksum.
    pub const IP4_CSUM: usize = 4;
    /// TCP over IPv4 checksum.
    pub const TCP4_CSUM: usize = 5;
    /// UDP over IPv4 checksum.
    pub const UDP4_CSUM: usize = 6;
    /// TCP over IPv6 checksum.
    pub const TCP6_CSUM: usize = 7;
    /// UDP over IPv6 checksum.
    pub const UDP6_CSUM: usize = 8;
    /// LSO version 1.
    pub const LSO_V1: usize = 9;
    /// LSO version 2 over IPv4.
    pub const LSO_V2_IP4: usize = 11;
    /// LSO version 2 over IPv6.
    pub const LSO_V2_IP6: usize = 12;
    /// Flags.
    pub const FLAGS: usize = 16;
    /// RSC over IPv4 (revision 3).
    pub const RSC_IP4: usize = 22;
    /// RSC over IPv6 (revision 3).
    pub const RSC_IP6: usize = 23;
}

/// Checksum parameter as (transmit, receive); `None` for "no change".
pub const fn csum_tx_rx(v: u8) -> Option<(bool, bool)> {
    match v {
        CSUM_TX_RX_DISABLED => Some((false, false)),
        CSUM_TX_ENABLED_RX_DISABLED => Some((true, false)),
        CSUM_RX_ENABLED_TX_DISABLED => Some((false, true)),
        CSUM_TX_RX_ENABLED => Some((true, true)),
        _ => None,
    }
}

/// `NDIS_OFFLOAD_PARAMETERS`: the offloads the guest turns on or off.
/// Every field holds a `CSUM_*` / `SIMPLE_*` value or [`PARAM_NO_CHANGE`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OffloadParams {
    /// IPv4 header checksum.
    pub ip4: u8,
    /// TCP over IPv4 checksum.
    pub tcp4: u8,
    /// UDP over IPv4 checksum.
    pub udp4: u8,
    /// TCP over IPv6 checksum.
    pub tcp6: u8,
    /// UDP over IPv6 checksum.
    pub udp6: u8,
    /// LSO version 1 (never enabled by Linux; hosts refuse it).
    pub lso_v1: u8,
    /// LSO version 2 over IPv4.
    pub lso4: u8,
    /// LSO version 2 over IPv6.
    pub lso6: u8,
    /// RSC over IPv4 and IPv6 (revision 3, size 24 and more).
    pub rsc: (u8, u8),
}

impl OffloadParams {
    /// Parses a set request's information buffer (the host's side). The
    /// header must say `NDIS_OBJECT_TYPE_DEFAULT` (`UnknownType`), revision
    /// 1 or later (`BadVersion`), a size of at least the revision-1 layout
    /// (`LengthTooSmall`) that the buffer holds (`OverlongLength`); every
    /// value must be one the field defines (`InvalidValue`).
    pub fn parse(info: &[u8]) -> Result<Self> {
        use params_offsets as o;
        let (_, body) = ndis_object(info, NDIS_OBJECT_TYPE_DEFAULT, OFFLOAD_PARAMETERS_SIZE_1)?;
        let size = body.len();
        let csum = |off| match wire::read_u8(body, off)? {
            v @ PARAM_NO_CHANGE..=CSUM_TX_RX_ENABLED => Ok(v),
            _ => Err(Error::InvalidValue),
        };
        let simple = |off| match wire::read_u8(body, off)? {
            v @ PARAM_NO_CHANGE..=SIMPLE_ENABLED => Ok(v),
            _ => Err(Error::InvalidValue),
        };
        let rsc = if size > o::RSC_IP6 {
            (simple(o::RSC_IP4)?, simple(o::RSC_IP6)?)
        } else {
            (PARAM_NO_CHANGE, PARAM_NO_CHANGE)
        };
        Ok(Self {
            ip4: csum(o::IP4_CSUM)?,
            tcp4: csum(o::TCP4_CSUM)?,
            udp4: csum(o::UDP4_CSUM)?,
            tcp6: csum(o::TCP6_CSUM)?,
            udp6: csum(o::UDP6_CSUM)?,
            lso_v1: simple(o::LSO_V1)?,
            lso4: simple(o::LSO_V2_IP4)?,
            lso6: simple(o::LSO_V2_IP6)?,
            rsc,
        })
    }

    /// Writes the structure with `size` bytes ([`OFFLOAD_PARAMETERS_SIZE`]
    /// or [`OFFLOAD_PARAMETERS_SIZE_NVSP4`]; at least the revision-1
    /// layout, else `InvalidValue`); returns the length. Fields past `size`
    /// are not written.
    pub fn build(&self, out: &mut [u8], size: usize) -> Result<usize> {
        use params_offsets as o;
        if !(OFFLOAD_PARAMETERS_SIZE_1..=OFFLOAD_PARAMETERS_SIZE).contains(&size) {
            return Err(Error::InvalidValue);
        }
        let out = out.get_mut(..size).ok_or(Error::BufferTooSmall)?;
        out.fill(0);
        write_ndis_header(
            out,
            NDIS_OBJECT_TYPE_DEFAULT,
            OFFLOAD_PARAMETERS_REVISION,
            size,
        )?;
        for (off, v) in [
            (o::IP4_CSUM, self.ip4),
            (o::TCP4_CSUM, self.tcp4),
            (o::UDP4_CSUM, self.udp4),
            (o::TCP6_CSUM, self.tcp6),
            (o::UDP6_CSUM, self.udp6),
            (o::LSO_V1, self.lso_v1),
            (o::LSO_V2_IP4, self.lso4),
            (o::LSO_V2_IP6, self.lso6),
        ] {
            wire::write_u8(out, off, v)?;
        }
        if size > o::RSC_IP6 {
            wire::write_u8(out, o::RSC_IP4, self.rsc.0)?;
            wire::write_u8(out, o::RSC_IP6, self.rsc.1)?;
        }
        Ok(size)
    }
}

/// The offloads a guest uses with a given host: transmit checksums per
/// protocol and the largest LSOv2 send per IP version. Receive checksum
/// results are asked for alongside every transmit checksum turned on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OffloadPlan {
    /// TCP over IPv4 checksum.
    pub tcp4: bool,
    /// UDP over IPv4 checksum.
    pub udp4: bool,
    /// TCP over IPv6 checksum.
    pub tcp6: bool,
    /// UDP over IPv6 checksum.
    pub udp6: bool,
    /// LSOv2 over IPv4: the largest send.
    pub lso4: Option<u32>,
    /// LSOv2 over IPv6: the largest send.
    pub lso6: Option<u32>,
}

/// Largest send Linux builds without BIG TCP (`GSO_LEGACY_MAX_SIZE`).
pub const GSO_LEGACY_MAX: u32 = 65536;

/// Whether a channel speaking `nvsp_version` takes UDP checksum offload
/// and the whole parameters structure: only above NVSP 4 (as upstream
/// Linux, which gives NVSP 4 and older hosts the 22-byte structure with the
/// UDP settings left unchanged).
fn udp_csum_offload(nvsp_version: u32) -> bool {
    nvsp_version > nvsp::VERSION_4
}

impl OffloadPlan {
    /// What to use of `caps` on a channel speaking `nvsp_version`: the
    /// capability rules of [`OffloadCaps`], and no UDP checksum offload
    /// up to NVSP 4 (as upstream Linux).
    pub fn new(caps: &OffloadCaps, nvsp_version: u32) -> Self {
        let udp = udp_csum_offload(nvsp_version);
        Self {
            tcp4: caps.tx_tcp4(),
            udp4: udp && caps.tx_udp4(),
            tcp6: caps.tx_tcp6(),
            udp6: udp && caps.tx_udp6(),
            lso4: caps.lso4_max(),
            lso6: caps.lso6_max(),
        }
    }

    /// The request for this plan: IPv4 header checksums off (Linux always
    /// computes them), each transport checksum on both ways or off, LSOv2
    /// on or off, RSC left alone.
    pub fn params(&self) -> OffloadParams {
        let csum = |on: bool| {
            if on {
                CSUM_TX_RX_ENABLED
            } else {
                CSUM_TX_RX_DISABLED
            }
        };
        let simple = |on: bool| {
            if on {
                SIMPLE_ENABLED
            } else {
                SIMPLE_DISABLED
            }
        };
        OffloadParams {
            ip4: CSUM_TX_RX_DISABLED,
            tcp4: csum(self.tcp4),
            udp4: csum(self.udp4),
            tcp6: csum(self.tcp6),
            udp6: csum(self.udp6),
            lso_v1: PARAM_NO_CHANGE,
            lso4: simple(self.lso4.is_some()),
            lso6: simple(self.lso6.is_some()),
            rsc: (PARAM_NO_CHANGE, PARAM_NO_CHANGE),
        }
    }

    /// The request for this plan on a channel speaking `nvsp_version`:
    /// [`OffloadPlan::params`], with the UDP settings left unchanged up to
    /// NVSP 4, whose hosts take no UDP checksum offload (as upstream).
    pub fn params_for(&self, nvsp_version: u32) -> OffloadParams {
        let mut p = self.params();
        if !udp_csum_offload(nvsp_version) {
            p.udp4 = PARAM_NO_CHANGE;
            p.udp6 = PARAM_NO_CHANGE;
        }
        p
    }

    /// The size of the request on a channel speaking `nvsp_version`.
    pub fn params_size(nvsp_version: u32) -> usize {
        if udp_csum_offload(nvsp_version) {
            OFFLOAD_PARAMETERS_SIZE
        } else {
            OFFLOAD_PARAMETERS_SIZE_NVSP4
        }
    }

    /// The largest TSO send to allow: the smaller LSO limit in use, at
    /// most [`GSO_LEGACY_MAX`]; `None` without LSO.
    pub fn tso_max(&self) -> Option<u32> {
        match (self.lso4, self.lso6) {
            (None, None) => None,
            (a, b) => Some(
                a.unwrap_or(u32::MAX)
                    .min(b.unwrap_or(u32::MAX))
                    .min(GSO_LEGACY_MAX),
            ),
        }
    }

    /// Whether anything is offloaded at all.
    pub fn any(&self) -> bool {
        self.tcp4 || self.udp4 || self.tcp6 || self.udp6
    }
}

impl core::fmt::Display for OffloadPlan {
    /// "tx checksum tcp4 udp4 tcp6 udp6, TSO v4 v6 up to 62780" (the
    /// parts in use), or "none".
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        if !self.any() {
            return f.write_str("none");
        }
        f.write_str("tx checksum")?;
        for (on, name) in [
            (self.tcp4, " tcp4"),
            (self.udp4, " udp4"),
            (self.tcp6, " tcp6"),
            (self.udp6, " udp6"),
        ] {
            if on {
                f.write_str(name)?;
            }
        }
        f.write_str(", rx checksum")?;
        if let Some(max) = self.tso_max() {
            f.write_str(", TSO")?;
            if self.lso4.is_some() {
                f.write_str(" v4")?;
            }
            if self.lso6.is_some() {
                f.write_str(" v6")?;
            }
            write!(f, " up to {max}")?;
        }
        Ok(())
    }
}

/// Ethernet header length.
pub const ETH_HLEN: usize = 14;
/// IP protocol number of TCP.
pub const IPPROTO_TCP: u8 = 6;
/// IP protocol number of UDP.
pub const IPPROTO_UDP: u8 = 17;
const ETH_P_IP: u16 = 0x0800;
const ETH_P_IPV6: u16 = 0x86dd;
const IPV6_HLEN: usize = 40;
const TCP_CSUM_OFF: usize = 16;
const UDP_CSUM_OFF: usize = 6;

fn be16(b: &[u8], off: usize) -> Result<u16> {
    match b.get(off..off + 2) {
        Some(s) => Ok(u16::from_be_bytes([s[0], s[1]])),
        None => Err(Error::Truncated),
    }
}

fn put_be16(b: &mut [u8], off: usize, v: u16) -> Result<()> {
    match b.get_mut(off..off + 2) {
        Some(s) => {
            s.copy_from_slice(&v.to_be_bytes());
            Ok(())
        }
        None => Err(Error::Truncated),
    }
}

/// The IP and transport headers of an Ethernet frame, as far as offloads
/// care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Headers {
    /// IPv6 (else IPv4).
    pub ipv6: bool,
    /// Transport protocol ([`IPPROTO_TCP`], [`IPPROTO_UDP`], or another).
    pub proto: u8,
    /// Offset of the transport header in the frame.
    pub l4: usize,
    /// Length of the transport header (TCP data offset; 8 for UDP).
    pub l4_len: usize,
    /// Whether the IPv4 packet is a fragment (its checksum is not ours).
    pub fragment: bool,
}

impl Headers {
    /// The source and destination addresses (16 bytes for IPv4's two, 32
    /// for IPv6's), as the pseudo-header and the RSS hash take them.
    pub fn addrs<'a>(&self, frame: &'a [u8]) -> Result<&'a [u8]> {
        let range = if self.ipv6 {
            ETH_HLEN + 8..ETH_HLEN + 40
        } else {
            ETH_HLEN + 12..ETH_HLEN + 20
        };
        frame.get(range).ok_or(Error::Truncated)
    }
}

/// Parses the IP header after an untagged Ethernet header: IPv4 with its
/// header length checked, IPv6 without extension headers (another next
/// header is reported as the protocol, so such frames are left alone).
/// The transport header must be in the frame (`Truncated`); a bad IP
/// version or header length is `InvalidValue`; other ether types
/// `UnknownType`.
pub fn parse_headers(frame: &[u8]) -> Result<Headers> {
    let (ipv6, proto, l4, fragment) = match be16(frame, 12)? {
        ETH_P_IP => {
            let vihl = wire::read_u8(frame, ETH_HLEN)?;
            let ihl = usize::from(vihl & 0xf) * 4;
            if vihl >> 4 != 4 || ihl < 20 {
                return Err(Error::InvalidValue);
            }
            let frag = be16(frame, ETH_HLEN + 6)? & 0x3fff != 0;
            (
                false,
                wire::read_u8(frame, ETH_HLEN + 9)?,
                ETH_HLEN + ihl,
                frag,
            )
        }
        ETH_P_IPV6 => {
            if wire::read_u8(frame, ETH_HLEN)? >> 4 != 6 {
                return Err(Error::InvalidValue);
            }
            (
                true,
                wire::read_u8(frame, ETH_HLEN + 6)?,
                ETH_HLEN + IPV6_HLEN,
                false,
            )
        }
        _ => return Err(Error::UnknownType),
    };
    let l4_len = match proto {
        IPPROTO_TCP => {
            let doff = usize::from(wire::read_u8(frame, l4 + 12)? >> 4) * 4;
            if doff < 20 {
                return Err(Error::InvalidValue);
            }
            doff
        }
        IPPROTO_UDP => 8,
        _ => 0,
    };
    if l4 + l4_len > frame.len() || l4 > frame.len() {
        return Err(Error::Truncated);
    }
    Ok(Headers {
        ipv6,
        proto,
        l4,
        l4_len,
        fragment,
    })
}

/// Adds `data` to a running ones' complement sum (big-endian 16-bit words,
/// an odd last byte padded with zero). The sum is kept unfolded in a u64,
/// which cannot overflow for any slice a frame can be.
pub fn sum_words(mut acc: u64, data: &[u8]) -> u64 {
    let mut chunks = data.chunks_exact(2);
    for w in &mut chunks {
        acc += u64::from(u16::from_be_bytes([w[0], w[1]]));
    }
    if let [last] = chunks.remainder() {
        acc += u64::from(*last) << 8;
    }
    acc
}

/// Folds a running sum into 16 bits (not complemented).
pub fn fold(mut acc: u64) -> u16 {
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    acc as u16
}

/// The pseudo-header sum of a frame whose headers are `h`, for a
/// transport length of `len` (not complemented, folded).
pub fn pseudo_sum(frame: &[u8], h: &Headers, len: u32) -> Result<u16> {
    let addrs = h.addrs(frame)?;
    let acc =
        sum_words(0, addrs) + u64::from(h.proto) + u64::from(len >> 16) + u64::from(len & 0xffff);
    Ok(fold(acc))
}

fn csum_field(proto: u8) -> Result<usize> {
    match proto {
        IPPROTO_TCP => Ok(TCP_CSUM_OFF),
        IPPROTO_UDP => Ok(UDP_CSUM_OFF),
        _ => Err(Error::UnknownType),
    }
}

/// Result of checking a received frame's transport checksum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum L4Check {
    /// Not TCP or UDP over IP (or a fragment, or UDP without checksum):
    /// nothing to say.
    NotApplicable,
    /// The checksum of this TCP or UDP packet is right.
    Good(u8),
    /// The checksum of this TCP or UDP packet is wrong.
    Bad(u8),
}

/// Checks the TCP or UDP checksum of a whole frame (the transport length
/// taken from the IP header, so Ethernet padding is not summed).
pub fn verify_l4(frame: &[u8]) -> L4Check {
    match parse_headers(frame) {
        Ok(h) => check_l4(frame, &h),
        Err(_) => L4Check::NotApplicable,
    }
}

/// [`verify_l4`] for a frame whose headers are parsed already.
fn check_l4(frame: &[u8], h: &Headers) -> L4Check {
    if h.fragment || !(h.proto == IPPROTO_TCP || h.proto == IPPROTO_UDP) {
        return L4Check::NotApplicable;
    }
    let ip_len = if h.ipv6 {
        be16(frame, ETH_HLEN + 4).map(|p| ETH_HLEN + IPV6_HLEN + usize::from(p))
    } else {
        be16(frame, ETH_HLEN + 2).map(|t| ETH_HLEN + usize::from(t))
    };
    let Some(seg) = ip_len.ok().and_then(|end| frame.get(h.l4..end)) else {
        return L4Check::Bad(h.proto);
    };
    if h.proto == IPPROTO_UDP && !h.ipv6 && be16(seg, UDP_CSUM_OFF) == Ok(0) {
        return L4Check::NotApplicable;
    }
    let Ok(ps) = pseudo_sum(frame, h, seg.len() as u32) else {
        return L4Check::Bad(h.proto);
    };
    if fold(sum_words(u64::from(ps), seg)) == 0xffff {
        L4Check::Good(h.proto)
    } else {
        L4Check::Bad(h.proto)
    }
}

/// Completes a checksum the way a device does for the kernel's
/// `CHECKSUM_PARTIAL`: the ones' complement of the sum from `start` to the
/// end of the frame (the field at `start + offset` holds the seed) is
/// written at `start + offset`. A UDP checksum that comes out 0 must be
/// sent as 0xffff; `udp` says so.
pub fn complete_checksum(frame: &mut [u8], start: usize, offset: usize, udp: bool) -> Result<()> {
    let at = start.checked_add(offset).ok_or(Error::OffsetPastEnd)?;
    if at + 2 > frame.len() {
        return Err(Error::OffsetPastEnd);
    }
    let mut c = !fold(sum_words(0, &frame[start..]));
    if udp && c == 0 {
        c = 0xffff;
    }
    put_be16(frame, at, c)
}

/// What the kernel says about a frame to be sent: a checksum left to the
/// device (`CHECKSUM_PARTIAL`: start and field offset from the frame's
/// first byte) and, for a TSO send, the segment size and IP version.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TxMeta {
    /// `(csum_start, csum_offset)` of a partial checksum.
    pub csum: Option<(u16, u16)>,
    /// `(gso_size, ipv6)` of a TSO send.
    pub tso: Option<(u32, bool)>,
}

/// How a frame goes to the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxOffload {
    /// Complete as it is (checksums done in software if they were left).
    None,
    /// The host computes the transport checksum.
    Checksum(ChecksumInfo),
    /// The host segments (and computes every checksum).
    Lso(LsoV2Info),
}

impl TxOffload {
    /// The per-packet info to send with the frame.
    pub fn packet_info(&self) -> PacketInfo {
        let mut info = PacketInfo::default();
        match *self {
            TxOffload::None => {}
            TxOffload::Checksum(c) => info.checksum = Some(c),
            TxOffload::Lso(l) => info.lso = Some(l),
        }
        info
    }
}

/// Prepares a frame (a private copy the driver may change) for the host
/// under `plan`:
/// - a TSO send becomes LSOv2 when the plan has LSO for its IP version and
///   the frame is TCP: as LSOv2 wants it, the IPv4 total length (IPv6
///   payload length) and the IPv4 header checksum are zeroed and the TCP
///   checksum field seeded with the pseudo-header sum without length;
///   otherwise `InvalidValue` (the stack only builds TSO sends the device
///   announced);
/// - a partial checksum of TCP or UDP the plan offloads for its IP
///   version, with the checksum field where the frame's headers put it,
///   goes as checksum info (the kernel seeded the field already);
/// - any other partial checksum is completed here, in software;
/// - a frame whose left checksum lies outside it is `OffsetPastEnd`.
pub fn prepare_tx(frame: &mut [u8], meta: &TxMeta, plan: &OffloadPlan) -> Result<TxOffload> {
    if let Some((mss, v6)) = meta.tso {
        let h = parse_headers(frame)?;
        let limit = if h.ipv6 { plan.lso6 } else { plan.lso4 };
        if h.proto != IPPROTO_TCP
            || h.ipv6 != v6
            || limit.is_none()
            || mss == 0
            || h.l4 > 0x3ff
            || meta.csum.map(|(s, _)| usize::from(s)) != Some(h.l4)
        {
            return Err(Error::InvalidValue);
        }
        if h.ipv6 {
            put_be16(frame, ETH_HLEN + 4, 0)?;
        } else {
            put_be16(frame, ETH_HLEN + 2, 0)?;
            put_be16(frame, ETH_HLEN + 10, 0)?;
        }
        let seed = pseudo_sum(frame, &h, 0)?;
        put_be16(frame, h.l4 + TCP_CSUM_OFF, seed)?;
        return Ok(TxOffload::Lso(LsoV2Info::new(mss, h.l4 as u16, h.ipv6)));
    }
    let Some((start, offset)) = meta.csum else {
        return Ok(TxOffload::None);
    };
    let (start, offset) = (usize::from(start), usize::from(offset));
    let headers = parse_headers(frame).ok();
    if let Some(h) = headers {
        let offloaded = HostOffloads::index(h.proto, h.ipv6)
            .is_some_and(|i| [plan.tcp4, plan.udp4, plan.tcp6, plan.udp6][i]);
        if offloaded && h.l4 == start && h.l4 <= 0x3ff && csum_field(h.proto) == Ok(offset) {
            let mut flags = if h.ipv6 {
                ChecksumInfo::TX_IS_IPV6
            } else {
                ChecksumInfo::TX_IS_IPV4
            };
            flags |= if h.proto == IPPROTO_TCP {
                ChecksumInfo::TX_TCP_CHECKSUM
            } else {
                ChecksumInfo::TX_UDP_CHECKSUM
            };
            return Ok(TxOffload::Checksum(ChecksumInfo::tx(flags, h.l4 as u16)));
        }
    }
    let udp = headers.is_some_and(|h| h.proto == IPPROTO_UDP && h.l4 == start);
    complete_checksum(frame, start, offset, udp)?;
    Ok(TxOffload::None)
}

/// What the host does with a frame and its per-packet info.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostTx {
    /// Sent as it is.
    Plain,
    /// The transport checksum is computed from `l4` (field at `l4 +
    /// offset`).
    Checksum {
        /// Transport header offset.
        l4: usize,
        /// Offset of the checksum field in the transport header.
        offset: usize,
        /// UDP (a zero result is sent as 0xffff).
        udp: bool,
    },
    /// Segmented into `mss`-byte TCP payloads.
    Lso {
        /// Transport header offset.
        l4: usize,
        /// Segment payload size.
        mss: u32,
        /// IPv6.
        ipv6: bool,
    },
}

/// Why the host refuses a frame's offload request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostTxError {
    /// The guest did not turn this offload on.
    NotEnabled,
    /// The info contradicts the frame (offset, IP version, protocol), or
    /// the frame's headers do not parse.
    Mismatch,
    /// An LSO send whose segments would exceed the MTU, or is larger than
    /// the host's limit, or whose TCP checksum is not seeded as LSOv2
    /// requires.
    BadLso,
}

/// What a host has turned on (from the parameters it accepted).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HostOffloads {
    /// Transmit checksum: tcp4, udp4, tcp6, udp6.
    pub tx: [bool; 4],
    /// Receive checksum: tcp4, udp4, tcp6, udp6.
    pub rx: [bool; 4],
    /// LSOv2 over IPv4, IPv6.
    pub lso: (bool, bool),
}

impl HostOffloads {
    /// Applies accepted parameters ("no change" keeps a setting).
    pub fn apply(&mut self, p: &OffloadParams) {
        for (i, v) in [p.tcp4, p.udp4, p.tcp6, p.udp6].into_iter().enumerate() {
            if let Some((tx, rx)) = csum_tx_rx(v) {
                self.tx[i] = tx;
                self.rx[i] = rx;
            }
        }
        match p.lso4 {
            SIMPLE_ENABLED => self.lso.0 = true,
            SIMPLE_DISABLED => self.lso.0 = false,
            _ => {}
        }
        match p.lso6 {
            SIMPLE_ENABLED => self.lso.1 = true,
            SIMPLE_DISABLED => self.lso.1 = false,
            _ => {}
        }
    }

    /// Index into `tx` / `rx` for a protocol and IP version.
    pub fn index(proto: u8, ipv6: bool) -> Option<usize> {
        match (proto, ipv6) {
            (IPPROTO_TCP, false) => Some(0),
            (IPPROTO_UDP, false) => Some(1),
            (IPPROTO_TCP, true) => Some(2),
            (IPPROTO_UDP, true) => Some(3),
            _ => None,
        }
    }
}

/// The host's check of a frame against its per-packet info: checksum info
/// must match the frame's IP version, protocol and transport offset and
/// name an offload the guest turned on; LSOv2 info likewise, and each
/// segment (headers + `mss`) must fit `frame_max`, the whole send
/// `lso_max`, and the TCP checksum field hold the pseudo-header sum without
/// length. IP header checksum requests are ignored (the host recomputes
/// headers when it segments, and Linux never asks).
pub fn check_tx(
    frame: &[u8],
    info: &PacketInfo,
    on: &HostOffloads,
    frame_max: usize,
    lso_max: usize,
) -> core::result::Result<HostTx, HostTxError> {
    if let Some(l) = info.lso {
        let h = parse_headers(frame).map_err(|_| HostTxError::Mismatch)?;
        if !l.is_v2() || h.proto != IPPROTO_TCP || h.ipv6 != l.is_ipv6() {
            return Err(HostTxError::Mismatch);
        }
        if usize::from(l.tcp_header_offset()) != h.l4 {
            return Err(HostTxError::Mismatch);
        }
        if !(if h.ipv6 { on.lso.1 } else { on.lso.0 }) {
            return Err(HostTxError::NotEnabled);
        }
        let mss = l.mss() as usize;
        let seed = pseudo_sum(frame, &h, 0).map_err(|_| HostTxError::Mismatch)?;
        if mss == 0
            || h.l4 + h.l4_len + mss > frame_max
            || frame.len() > lso_max + h.l4 + h.l4_len
            || be16(frame, h.l4 + TCP_CSUM_OFF) != Ok(seed)
        {
            return Err(HostTxError::BadLso);
        }
        return Ok(HostTx::Lso {
            l4: h.l4,
            mss: l.mss(),
            ipv6: h.ipv6,
        });
    }
    let Some(c) = info.checksum else {
        return Ok(HostTx::Plain);
    };
    let tcp = c.has(ChecksumInfo::TX_TCP_CHECKSUM);
    let udp = c.has(ChecksumInfo::TX_UDP_CHECKSUM);
    if !tcp && !udp {
        return Ok(HostTx::Plain);
    }
    let h = parse_headers(frame).map_err(|_| HostTxError::Mismatch)?;
    let v4 = c.has(ChecksumInfo::TX_IS_IPV4);
    let v6 = c.has(ChecksumInfo::TX_IS_IPV6);
    let proto = if tcp { IPPROTO_TCP } else { IPPROTO_UDP };
    if (tcp && udp)
        || v4 == v6
        || h.ipv6 != v6
        || h.proto != proto
        || usize::from(c.tcp_header_offset()) != h.l4
    {
        return Err(HostTxError::Mismatch);
    }
    match HostOffloads::index(proto, h.ipv6) {
        Some(i) if on.tx[i] => {}
        _ => return Err(HostTxError::NotEnabled),
    }
    Ok(HostTx::Checksum {
        l4: h.l4,
        offset: csum_field(proto).map_err(|_| HostTxError::Mismatch)?,
        udp,
    })
}

/// The receive checksum info the host attaches to a frame it delivers,
/// if the guest asked for receive checksums of its kind: IP and transport
/// checksum good, or transport checksum failed.
pub fn rx_checksum_info(frame: &[u8], on: &HostOffloads) -> Option<ChecksumInfo> {
    let h = parse_headers(frame).ok()?;
    let ipv6 = h.ipv6;
    let (proto, good) = match check_l4(frame, &h) {
        L4Check::NotApplicable => return None,
        L4Check::Good(p) => (p, true),
        L4Check::Bad(p) => (p, false),
    };
    let i = HostOffloads::index(proto, ipv6)?;
    if !on.rx[i] {
        return None;
    }
    let tcp = proto == IPPROTO_TCP;
    let bits = match (good, tcp) {
        (true, true) => ChecksumInfo::RX_TCP_SUCCEEDED,
        (true, false) => ChecksumInfo::RX_UDP_SUCCEEDED,
        (false, true) => ChecksumInfo::RX_TCP_FAILED,
        (false, false) => ChecksumInfo::RX_UDP_FAILED,
    };
    let ip = if ipv6 {
        0
    } else {
        ChecksumInfo::RX_IP_SUCCEEDED
    };
    Some(ChecksumInfo(bits | ip))
}

/// The guest's reading of receive checksum info: true when the host
/// vouches for the transport checksum (succeeded, and not failed).
pub fn rx_checksum_good(c: ChecksumInfo) -> bool {
    let ok = c.0 & (ChecksumInfo::RX_TCP_SUCCEEDED | ChecksumInfo::RX_UDP_SUCCEEDED) != 0;
    let bad = c.0
        & (ChecksumInfo::RX_TCP_FAILED | ChecksumInfo::RX_UDP_FAILED | ChecksumInfo::RX_IP_FAILED)
        != 0;
    ok && !bad
}
