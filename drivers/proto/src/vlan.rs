// SPDX-License-Identifier: GPL-2.0
//! IEEE 802.1Q tags on the synthetic path.
//!
//! The synthetic NIC never carries a VLAN tag inside the frame: guest and
//! host exchange it as per-packet info (`IEEE_8021Q_INFO`, a `u32` whose
//! low 16 bits are priority 0..=2, CFI 3 and VLAN id 4..=15, see
//! [`VlanInfo`]), the frame itself is plain Ethernet II, and the host's
//! vSwitch inserts the tag on its uplink and strips it from what it
//! delivers. The kernel keeps a tag as a TCI (`skb->vlan_tci`: VLAN id
//! 0..=11, CFI/DEI 12, priority 13..=15), so both sides convert here.
//!
//! Rules (stricter than the C driver, which copies the bitfields as they
//! come):
//! - the 16 reserved bits of the info must be zero;
//! - VLAN id 4095 is reserved by IEEE 802.1Q ("shall not be transmitted")
//!   and refused both ways; Linux cannot create such a VLAN device, so only
//!   a raw frame or a hostile host could produce it;
//! - VLAN id 0 (a priority-tagged frame) is carried: it has a priority and
//!   no VLAN.
//!
//! A frame handed to the guest's driver with its tag still inline (raw
//! `AF_PACKET` sends, kernel pktgen) has the tag moved into the info
//! ([`strip_inline`]), as upstream does, so the host sees one form only.

use super::error::{Error, Result};
use super::rndis::VlanInfo;

/// Ethertype of an 802.1Q (customer) tag.
pub const ETH_P_8021Q: u16 = 0x8100;
/// Bytes an inline tag takes (ethertype and TCI).
pub const VLAN_HLEN: usize = 4;
/// Offset of the ethertype (or tag protocol) in an Ethernet frame.
const ETHERTYPE_OFF: usize = 12;
/// The reserved VLAN id.
pub const VID_RESERVED: u16 = 0xfff;
/// The bits of [`VlanInfo`] that carry a tag; the rest are reserved.
pub const INFO_MASK: u32 = 0xffff;

/// One 802.1Q tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Tag {
    /// Priority code point (0..=7).
    pub pri: u8,
    /// Canonical format indicator (DEI in newer revisions of 802.1Q).
    pub cfi: bool,
    /// VLAN id (0..=4094).
    pub vid: u16,
}

impl Tag {
    /// A tag from its fields; `InvalidValue` for a priority above 7 or a
    /// VLAN id of 4095 or more.
    pub const fn new(pri: u8, cfi: bool, vid: u16) -> Result<Self> {
        if pri > 7 || vid >= VID_RESERVED {
            return Err(Error::InvalidValue);
        }
        Ok(Tag { pri, cfi, vid })
    }

    /// The tag of a TCI as the kernel keeps it; `InvalidValue` for VLAN id
    /// 4095.
    pub const fn from_tci(tci: u16) -> Result<Self> {
        Tag::new((tci >> 13) as u8, tci & 0x1000 != 0, tci & 0xfff)
    }

    /// The TCI as the kernel keeps it (`vlan_tci`).
    pub const fn tci(&self) -> u16 {
        ((self.pri as u16) << 13) | ((self.cfi as u16) << 12) | (self.vid & 0xfff)
    }

    /// The per-packet info carrying this tag.
    pub const fn info(&self) -> VlanInfo {
        VlanInfo::new(self.pri, self.cfi, self.vid)
    }

    /// The tag a per-packet info carries; `InvalidValue` when a reserved
    /// bit is set or the VLAN id is 4095.
    pub const fn from_info(info: VlanInfo) -> Result<Self> {
        if info.0 & !INFO_MASK != 0 {
            return Err(Error::InvalidValue);
        }
        Tag::new(info.pri(), info.cfi(), info.vlan_id())
    }
}

/// The inline 802.1Q tag of an Ethernet frame, if its ethertype says it
/// has one: `Ok(None)` for an untagged frame (or one too short to have an
/// ethertype), `Truncated` when the tag does not fit, `InvalidValue` for
/// VLAN id 4095.
pub fn inline_tag(frame: &[u8]) -> Result<Option<Tag>> {
    match frame.get(ETHERTYPE_OFF..ETHERTYPE_OFF + 2) {
        Some(t) if u16::from_be_bytes([t[0], t[1]]) == ETH_P_8021Q => {}
        _ => return Ok(None),
    }
    let tci = frame
        .get(ETHERTYPE_OFF + 2..ETHERTYPE_OFF + VLAN_HLEN)
        .ok_or(Error::Truncated)?;
    // The tagged frame must still hold the inner ethertype.
    if frame.len() < ETHERTYPE_OFF + VLAN_HLEN + 2 {
        return Err(Error::Truncated);
    }
    Tag::from_tci(u16::from_be_bytes([tci[0], tci[1]])).map(Some)
}

/// Takes an inline 802.1Q tag out of a frame in place: the two MAC
/// addresses move forward over the tag, so the untagged frame is
/// `frame[VLAN_HLEN..]`. Returns the tag, or `Ok(None)` (frame unchanged)
/// when it has none; errors as [`inline_tag`] (frame unchanged).
pub fn strip_inline(frame: &mut [u8]) -> Result<Option<Tag>> {
    let Some(tag) = inline_tag(frame)? else {
        return Ok(None);
    };
    frame.copy_within(0..ETHERTYPE_OFF, VLAN_HLEN);
    Ok(Some(tag))
}

/// Writes `frame` with `tag` inserted after its MAC addresses into `out`
/// (as a vSwitch puts it on the wire); returns the tagged length.
/// `Truncated` for a frame without an ethertype, `BufferTooSmall` when
/// `out` cannot hold the result.
pub fn insert_tag(out: &mut [u8], frame: &[u8], tag: Tag) -> Result<usize> {
    if frame.len() < ETHERTYPE_OFF + 2 {
        return Err(Error::Truncated);
    }
    let len = frame.len() + VLAN_HLEN;
    let out = out.get_mut(..len).ok_or(Error::BufferTooSmall)?;
    out[..ETHERTYPE_OFF].copy_from_slice(&frame[..ETHERTYPE_OFF]);
    out[ETHERTYPE_OFF..ETHERTYPE_OFF + 2].copy_from_slice(&ETH_P_8021Q.to_be_bytes());
    out[ETHERTYPE_OFF + 2..ETHERTYPE_OFF + VLAN_HLEN].copy_from_slice(&tag.tci().to_be_bytes());
    out[ETHERTYPE_OFF + VLAN_HLEN..].copy_from_slice(&frame[ETHERTYPE_OFF..]);
    Ok(len)
}
