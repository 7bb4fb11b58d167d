// SPDX-License-Identifier: GPL-2.0
//! VMBus channel packets: the 16-byte descriptor and the in-band,
//! completion, transfer-page and GPA-direct packet kinds used by netvsc.
//!
//! A packet starts with a descriptor whose `offset8` and `len8` fields
//! count 8-byte units: the payload (here: an NVSP message) lies at
//! `offset8 * 8 .. len8 * 8`; bytes between the descriptor and the payload
//! hold the kind-specific header (transfer-page ranges, GPA ranges).

use super::error::{Error, Result};
use super::wire;

/// Size of the VMBus packet descriptor.
pub const DESCRIPTOR_SIZE: usize = 16;
/// Packet type: data carried in-band.
pub const VM_PKT_DATA_INBAND: u16 = 6;
/// Packet type: data in receive-buffer sections named by transfer-page ranges.
pub const VM_PKT_DATA_USING_XFER_PAGES: u16 = 7;
/// Packet type: data in guest pages named by GPA ranges.
pub const VM_PKT_DATA_USING_GPA_DIRECT: u16 = 9;
/// Packet type: completion of an earlier packet.
pub const VM_PKT_COMP: u16 = 11;
/// Descriptor flag: the sender wants a completion packet back.
pub const VMBUS_DATA_PACKET_FLAG_COMPLETION_REQUESTED: u16 = 1;

/// Size of the transfer-page header (descriptor included) before its ranges.
pub const XFER_PAGE_HEADER_SIZE: usize = 24;
/// Size of one transfer-page range (`byte_count`, `byte_offset`).
pub const XFER_PAGE_RANGE_SIZE: usize = 8;
/// Maximum number of transfer-page ranges accepted in one packet (the
/// host's RSC maximum).
pub const MAX_XFER_PAGE_RANGES: usize = 562;
/// Transfer page set id netvsc uses for its receive buffer.
pub const RECEIVE_BUFFER_ID: u16 = 0xcafe;

/// Size of the GPA-direct header (descriptor included) before its ranges.
pub const GPA_DIRECT_HEADER_SIZE: usize = 24;
/// Size of a GPA range's fixed part (`byte_count`, `byte_offset`).
pub const GPA_RANGE_HEADER_SIZE: usize = 8;
/// Hypervisor page size that PFNs refer to.
pub const HV_PAGE_SIZE: u32 = 4096;
/// Maximum number of GPA ranges accepted in one packet.
pub const MAX_GPA_RANGES: usize = 32;
/// Maximum number of PFNs accepted in one GPA range (a 64 KiB + 1 page span
/// rounded up generously).
pub const MAX_GPA_PFNS_PER_RANGE: usize = 64;
/// Largest packet a descriptor can describe (`len8` is 16 bits).
pub const MAX_PACKET_SIZE: usize = (u16::MAX as usize) * 8;

/// The known packet types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PacketType {
    /// [`VM_PKT_DATA_INBAND`].
    DataInband,
    /// [`VM_PKT_DATA_USING_XFER_PAGES`].
    DataUsingXferPages,
    /// [`VM_PKT_DATA_USING_GPA_DIRECT`].
    DataUsingGpaDirect,
    /// [`VM_PKT_COMP`].
    Completion,
}

impl PacketType {
    /// Maps a wire value, or [`Error::UnknownType`].
    pub fn from_u16(v: u16) -> Result<Self> {
        match v {
            VM_PKT_DATA_INBAND => Ok(PacketType::DataInband),
            VM_PKT_DATA_USING_XFER_PAGES => Ok(PacketType::DataUsingXferPages),
            VM_PKT_DATA_USING_GPA_DIRECT => Ok(PacketType::DataUsingGpaDirect),
            VM_PKT_COMP => Ok(PacketType::Completion),
            _ => Err(Error::UnknownType),
        }
    }

    /// The wire value.
    pub const fn as_u16(self) -> u16 {
        match self {
            PacketType::DataInband => VM_PKT_DATA_INBAND,
            PacketType::DataUsingXferPages => VM_PKT_DATA_USING_XFER_PAGES,
            PacketType::DataUsingGpaDirect => VM_PKT_DATA_USING_GPA_DIRECT,
            PacketType::Completion => VM_PKT_COMP,
        }
    }
}

/// A validated packet descriptor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Descriptor {
    /// Packet type.
    pub packet_type: PacketType,
    /// Payload offset in 8-byte units (>= 2).
    pub offset8: u16,
    /// Total packet length in 8-byte units (>= `offset8`).
    pub len8: u16,
    /// Flags ([`VMBUS_DATA_PACKET_FLAG_COMPLETION_REQUESTED`]).
    pub flags: u16,
    /// Transaction id, echoed in the completion.
    pub trans_id: u64,
}

impl Descriptor {
    /// Parses and validates the descriptor at the start of `buf`:
    /// known type, `offset8 * 8 >= 16`, `offset8 <= len8` and
    /// `len8 * 8 <= buf.len()`.
    pub fn parse(buf: &[u8]) -> Result<Self> {
        let raw_type = wire::read_u16(buf, 0)?;
        let offset8 = wire::read_u16(buf, 2)?;
        let len8 = wire::read_u16(buf, 4)?;
        let flags = wire::read_u16(buf, 6)?;
        let trans_id = wire::read_u64(buf, 8)?;
        let packet_type = PacketType::from_u16(raw_type)?;
        let offset = usize::from(offset8) * 8;
        let len = usize::from(len8) * 8;
        if offset < DESCRIPTOR_SIZE {
            return Err(Error::OffsetInsideHeader);
        }
        if offset > len {
            return Err(Error::OffsetPastEnd);
        }
        if len > buf.len() {
            return Err(Error::OverlongLength);
        }
        Ok(Descriptor {
            packet_type,
            offset8,
            len8,
            flags,
            trans_id,
        })
    }

    /// Payload offset in bytes.
    pub fn offset(&self) -> usize {
        usize::from(self.offset8) * 8
    }

    /// Total packet length in bytes.
    pub fn len(&self) -> usize {
        usize::from(self.len8) * 8
    }

    /// True when the packet has no payload.
    pub fn is_empty(&self) -> bool {
        self.offset8 == self.len8
    }

    /// True when the sender asked for a completion.
    pub fn completion_requested(&self) -> bool {
        self.flags & VMBUS_DATA_PACKET_FLAG_COMPLETION_REQUESTED != 0
    }

    /// Writes the descriptor into `out[..16]`.
    pub fn write(&self, out: &mut [u8]) -> Result<()> {
        wire::write_u16(out, 0, self.packet_type.as_u16())?;
        wire::write_u16(out, 2, self.offset8)?;
        wire::write_u16(out, 4, self.len8)?;
        wire::write_u16(out, 6, self.flags)?;
        wire::write_u64(out, 8, self.trans_id)
    }
}

/// One transfer-page range: `byte_count` bytes at `byte_offset` in the
/// receive buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct XferRange {
    /// Length of the range in bytes.
    pub byte_count: u32,
    /// Offset of the range in the receive buffer.
    pub byte_offset: u32,
}

impl XferRange {
    /// Checks that the range lies inside a buffer of `buf_len` bytes.
    pub fn check(&self, buf_len: u32) -> Result<()> {
        match self.byte_offset.checked_add(self.byte_count) {
            Some(end) if end <= buf_len => Ok(()),
            _ => Err(Error::RangeOutOfBounds),
        }
    }
}

/// A validated transfer-page header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransferPages<'a> {
    /// Transfer page set id ([`RECEIVE_BUFFER_ID`] for netvsc).
    pub xfer_pageset_id: u16,
    /// Sender-owns-set byte.
    pub sender_owns_set: u8,
    /// Raw range array, `range_count * 8` bytes.
    ranges: &'a [u8],
}

impl<'a> TransferPages<'a> {
    /// Number of ranges.
    pub fn range_count(&self) -> usize {
        self.ranges.len() / XFER_PAGE_RANGE_SIZE
    }

    /// Range `i`, or `None` when out of range.
    pub fn range(&self, i: usize) -> Option<XferRange> {
        let off = i.checked_mul(XFER_PAGE_RANGE_SIZE)?;
        let byte_count = wire::read_u32(self.ranges, off).ok()?;
        let byte_offset = wire::read_u32(self.ranges, off.checked_add(4)?).ok()?;
        Some(XferRange {
            byte_count,
            byte_offset,
        })
    }

    /// Iterates over the ranges.
    pub fn ranges(&self) -> impl Iterator<Item = XferRange> + 'a {
        self.ranges
            .chunks_exact(XFER_PAGE_RANGE_SIZE)
            .map(|c| XferRange {
                byte_count: wire::read_u32(c, 0).unwrap_or(0),
                byte_offset: wire::read_u32(c, 4).unwrap_or(0),
            })
    }

    /// Checks every range against a receive buffer of `recv_buf_len` bytes
    /// and, when `max_range_len` is non-zero, against a per-range maximum
    /// (the receive section size).
    pub fn validate(&self, recv_buf_len: u32, max_range_len: u32) -> Result<()> {
        for r in self.ranges() {
            r.check(recv_buf_len)?;
            if max_range_len != 0 && r.byte_count > max_range_len {
                return Err(Error::RangeOutOfBounds);
            }
        }
        Ok(())
    }
}

/// One GPA range as seen by the parser: bytes `byte_offset ..
/// byte_offset + byte_count` of the concatenation of its pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GpaRangeView<'a> {
    /// Length in bytes.
    pub byte_count: u32,
    /// Offset into the first page (< [`HV_PAGE_SIZE`]).
    pub byte_offset: u32,
    pfns: &'a [u8],
}

impl GpaRangeView<'_> {
    /// Number of PFNs.
    pub fn pfn_count(&self) -> usize {
        self.pfns.len() / 8
    }

    /// PFN `i`, or `None`.
    pub fn pfn(&self, i: usize) -> Option<u64> {
        wire::read_u64(self.pfns, i.checked_mul(8)?).ok()
    }

    /// Iterates over the PFNs.
    pub fn pfns(&self) -> impl Iterator<Item = u64> + '_ {
        self.pfns
            .chunks_exact(8)
            .map(|c| wire::read_u64(c, 0).unwrap_or(0))
    }
}

/// One GPA range to build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GpaRange<'a> {
    /// Length in bytes.
    pub byte_count: u32,
    /// Offset into the first page.
    pub byte_offset: u32,
    /// Page frame numbers; must be exactly [`gpa_pfn_count`] of the above.
    pub pfns: &'a [u64],
}

/// Number of pages spanned by `byte_count` bytes starting at
/// `byte_offset` within the first page, or `None` on overflow.
pub fn gpa_pfn_count(byte_offset: u32, byte_count: u32) -> Option<usize> {
    let end = u64::from(byte_offset) + u64::from(byte_count);
    let pages = end.div_ceil(u64::from(HV_PAGE_SIZE));
    usize::try_from(pages).ok()
}

/// A validated GPA-direct header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GpaDirect<'a> {
    range_count: usize,
    ranges: &'a [u8],
}

impl<'a> GpaDirect<'a> {
    /// Number of ranges.
    pub fn range_count(&self) -> usize {
        self.range_count
    }

    /// Iterates over the ranges (already validated at parse time).
    pub fn ranges(&self) -> GpaRangeIter<'a> {
        GpaRangeIter {
            rest: self.ranges,
            left: self.range_count,
        }
    }
}

/// Iterator over the ranges of a [`GpaDirect`] packet.
#[derive(Debug, Clone)]
pub struct GpaRangeIter<'a> {
    rest: &'a [u8],
    left: usize,
}

impl<'a> Iterator for GpaRangeIter<'a> {
    type Item = GpaRangeView<'a>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        let (r, used) = parse_gpa_range(self.rest).ok()?;
        self.rest = self.rest.get(used..)?;
        self.left -= 1;
        Some(r)
    }
}

fn parse_gpa_range(buf: &[u8]) -> Result<(GpaRangeView<'_>, usize)> {
    // A range header that does not fit means the count claimed too many.
    let byte_count = wire::read_u32(buf, 0).map_err(|_| Error::TooManyRanges)?;
    let byte_offset = wire::read_u32(buf, 4).map_err(|_| Error::TooManyRanges)?;
    if byte_offset >= HV_PAGE_SIZE {
        return Err(Error::RangeOutOfBounds);
    }
    if byte_count == 0 {
        return Err(Error::RangeOutOfBounds);
    }
    let n = gpa_pfn_count(byte_offset, byte_count).ok_or(Error::TooManyRanges)?;
    if n > MAX_GPA_PFNS_PER_RANGE {
        return Err(Error::TooManyRanges);
    }
    let pfns = wire::slice(buf, GPA_RANGE_HEADER_SIZE, n * 8).map_err(|_| Error::TooManyRanges)?;
    Ok((
        GpaRangeView {
            byte_count,
            byte_offset,
            pfns,
        },
        GPA_RANGE_HEADER_SIZE + n * 8,
    ))
}

/// The kind-specific part of a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PacketKind<'a> {
    /// In-band data.
    Inband,
    /// A completion.
    Completion,
    /// Data in receive-buffer ranges.
    TransferPages(TransferPages<'a>),
    /// Data in guest pages.
    GpaDirect(GpaDirect<'a>),
}

/// A validated VMBus packet borrowing its input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet<'a> {
    /// The descriptor.
    pub desc: Descriptor,
    /// Kind-specific header.
    pub kind: PacketKind<'a>,
    /// Payload bytes (`offset8 * 8 .. len8 * 8`), padding included.
    pub payload: &'a [u8],
}

impl<'a> Packet<'a> {
    /// Parses one packet from the start of `buf` (which may hold more
    /// bytes after it). Transfer-page ranges are checked to fit in the
    /// header area and against [`MAX_XFER_PAGE_RANGES`]; use
    /// [`TransferPages::validate`] or [`Packet::parse_checked`] to check
    /// them against the receive buffer. GPA ranges are fully validated.
    pub fn parse(buf: &'a [u8]) -> Result<Self> {
        let desc = Descriptor::parse(buf)?;
        let header = buf.get(..desc.offset()).ok_or(Error::Truncated)?;
        let payload = buf.get(desc.offset()..desc.len()).ok_or(Error::Truncated)?;
        let kind = match desc.packet_type {
            PacketType::DataInband => PacketKind::Inband,
            PacketType::Completion => PacketKind::Completion,
            PacketType::DataUsingXferPages => PacketKind::TransferPages(parse_xfer_header(header)?),
            PacketType::DataUsingGpaDirect => PacketKind::GpaDirect(parse_gpa_header(header)?),
        };
        Ok(Packet {
            desc,
            kind,
            payload,
        })
    }

    /// Like [`Packet::parse`], and additionally checks every transfer-page
    /// range against `recv_buf_len` and `max_range_len` (0: no limit).
    pub fn parse_checked(buf: &'a [u8], recv_buf_len: u32, max_range_len: u32) -> Result<Self> {
        let p = Self::parse(buf)?;
        if let PacketKind::TransferPages(t) = p.kind {
            t.validate(recv_buf_len, max_range_len)?;
        }
        Ok(p)
    }

    /// Total length of the packet in bytes (where the next one starts).
    pub fn total_len(&self) -> usize {
        self.desc.len()
    }
}

fn parse_xfer_header(header: &[u8]) -> Result<TransferPages<'_>> {
    if header.len() < XFER_PAGE_HEADER_SIZE {
        return Err(Error::Truncated);
    }
    let xfer_pageset_id = wire::read_u16(header, 16)?;
    let sender_owns_set = wire::read_u8(header, 18)?;
    let count = wire::read_u32(header, 20)?;
    let count = usize::try_from(count).map_err(|_| Error::TooManyRanges)?;
    if count > MAX_XFER_PAGE_RANGES {
        return Err(Error::TooManyRanges);
    }
    let ranges = wire::slice(header, XFER_PAGE_HEADER_SIZE, count * XFER_PAGE_RANGE_SIZE)
        .map_err(|_| Error::TooManyRanges)?;
    Ok(TransferPages {
        xfer_pageset_id,
        sender_owns_set,
        ranges,
    })
}

fn parse_gpa_header(header: &[u8]) -> Result<GpaDirect<'_>> {
    if header.len() < GPA_DIRECT_HEADER_SIZE {
        return Err(Error::Truncated);
    }
    let count = wire::read_u32(header, 20)?;
    let count = usize::try_from(count).map_err(|_| Error::TooManyRanges)?;
    if count > MAX_GPA_RANGES {
        return Err(Error::TooManyRanges);
    }
    let area = header
        .get(GPA_DIRECT_HEADER_SIZE..)
        .ok_or(Error::Truncated)?;
    let mut rest = area;
    for _ in 0..count {
        let (_, used) = parse_gpa_range(rest)?;
        rest = rest.get(used..).ok_or(Error::TooManyRanges)?;
    }
    Ok(GpaDirect {
        range_count: count,
        ranges: area,
    })
}

fn finish(
    out: &mut [u8],
    desc_type: PacketType,
    flags: u16,
    trans_id: u64,
    header_len: usize,
    payload: &[u8],
) -> Result<usize> {
    let offset = wire::align8(header_len)?;
    let total = wire::align8(offset.checked_add(payload.len()).ok_or(Error::TooLarge)?)?;
    if total > MAX_PACKET_SIZE {
        return Err(Error::TooLarge);
    }
    if out.len() < total {
        return Err(Error::BufferTooSmall);
    }
    let desc = Descriptor {
        packet_type: desc_type,
        offset8: u16::try_from(offset / 8).map_err(|_| Error::TooLarge)?,
        len8: u16::try_from(total / 8).map_err(|_| Error::TooLarge)?,
        flags,
        trans_id,
    };
    desc.write(out)?;
    wire::zero(out, header_len, offset - header_len)?;
    wire::write_bytes(out, offset, payload)?;
    let end = offset + payload.len();
    wire::zero(out, end, total - end)?;
    Ok(total)
}

fn flags_for(completion_requested: bool) -> u16 {
    if completion_requested {
        VMBUS_DATA_PACKET_FLAG_COMPLETION_REQUESTED
    } else {
        0
    }
}

/// Builds an in-band packet carrying `payload`, padded to 8 bytes.
pub fn build_inband(
    out: &mut [u8],
    trans_id: u64,
    completion_requested: bool,
    payload: &[u8],
) -> Result<usize> {
    finish(
        out,
        PacketType::DataInband,
        flags_for(completion_requested),
        trans_id,
        DESCRIPTOR_SIZE,
        payload,
    )
}

/// Builds a completion packet for `trans_id` carrying `payload`.
pub fn build_completion(out: &mut [u8], trans_id: u64, payload: &[u8]) -> Result<usize> {
    finish(
        out,
        PacketType::Completion,
        0,
        trans_id,
        DESCRIPTOR_SIZE,
        payload,
    )
}

/// Builds a transfer-page packet (host side) naming `ranges` of the
/// transfer page set `xfer_pageset_id`, followed by `payload`.
pub fn build_transfer_pages(
    out: &mut [u8],
    trans_id: u64,
    xfer_pageset_id: u16,
    ranges: &[XferRange],
    payload: &[u8],
) -> Result<usize> {
    if ranges.len() > MAX_XFER_PAGE_RANGES {
        return Err(Error::TooManyRanges);
    }
    let header_len = XFER_PAGE_HEADER_SIZE + ranges.len() * XFER_PAGE_RANGE_SIZE;
    if out.len() < header_len {
        return Err(Error::BufferTooSmall);
    }
    wire::write_u16(out, 16, xfer_pageset_id)?;
    wire::write_u8(out, 18, 0)?;
    wire::write_u8(out, 19, 0)?;
    wire::write_u32(out, 20, wire::to_u32(ranges.len())?)?;
    let mut off = XFER_PAGE_HEADER_SIZE;
    for r in ranges {
        wire::write_u32(out, off, r.byte_count)?;
        wire::write_u32(out, off + 4, r.byte_offset)?;
        off += XFER_PAGE_RANGE_SIZE;
    }
    finish(
        out,
        PacketType::DataUsingXferPages,
        flags_for(true),
        trans_id,
        header_len,
        payload,
    )
}

/// Builds a GPA-direct packet: header, `ranges` (each with its PFN array)
/// and `payload`, each part padded as the format requires.
pub fn build_gpa_direct(
    out: &mut [u8],
    trans_id: u64,
    completion_requested: bool,
    ranges: &[GpaRange<'_>],
    payload: &[u8],
) -> Result<usize> {
    if ranges.len() > MAX_GPA_RANGES {
        return Err(Error::TooManyRanges);
    }
    wire::write_u32(out, 16, 0)?;
    wire::write_u32(out, 20, wire::to_u32(ranges.len())?)?;
    let mut off = GPA_DIRECT_HEADER_SIZE;
    for r in ranges {
        if r.byte_offset >= HV_PAGE_SIZE || r.byte_count == 0 {
            return Err(Error::RangeOutOfBounds);
        }
        let n = gpa_pfn_count(r.byte_offset, r.byte_count).ok_or(Error::TooLarge)?;
        if n != r.pfns.len() {
            return Err(Error::InvalidCount);
        }
        if n > MAX_GPA_PFNS_PER_RANGE {
            return Err(Error::TooManyRanges);
        }
        wire::write_u32(out, off, r.byte_count)?;
        wire::write_u32(out, off + 4, r.byte_offset)?;
        off += GPA_RANGE_HEADER_SIZE;
        for pfn in r.pfns {
            wire::write_u64(out, off, *pfn)?;
            off += 8;
        }
    }
    finish(
        out,
        PacketType::DataUsingGpaDirect,
        flags_for(completion_requested),
        trans_id,
        off,
        payload,
    )
}
