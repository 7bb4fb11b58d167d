// SPDX-License-Identifier: GPL-2.0

//! The packet-level seam between the netvsc logic and its host.

use super::SharedBuffer;
use kernel::prelude::*;

/// One range of guest memory for a GPA-direct packet.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct PageRange {
    /// Guest page frame number (4 KiB Hyper-V pages).
    pub(crate) pfn: u64,
    /// Offset of the data in the first page.
    pub(crate) offset: u32,
    /// Length of the data.
    pub(crate) len: u32,
}

/// A VMBus channel as the driver sees it: packets out, packets in, and
/// buffers shared with the host by GPADL.
///
/// Guest-to-host packets are given as their parts; the implementation frames
/// them. Host-to-guest packets are copied out whole (descriptor first), so
/// the driver parses a private copy the host can no longer change.
///
/// `send_*`, [`Transport::recv`], [`Transport::write_avail`],
/// [`Transport::want_write_space`], [`Transport::begin_read`] and
/// [`Transport::end_read`] may be called in atomic context (the last two
/// in hard-IRQ context) and never sleep.
pub(crate) trait Transport: Send + Sync {
    /// Opens the channel with rings of `ring_size` bytes in each direction.
    fn open(&self, ring_size: u32) -> Result;
    /// Closes the channel; no event is delivered after it returns.
    fn close(&self);
    /// Sends an in-band packet; the host completes it with `trans_id` when
    /// `completion` is set. `EAGAIN` when the ring is full.
    fn send_inband(&self, payload: &[u8], trans_id: u64, completion: bool) -> Result;
    /// Sends a completion packet for a host packet with `trans_id`.
    fn send_completion(&self, payload: &[u8], trans_id: u64) -> Result;
    /// Sends a GPA-direct packet (completion always requested): frames
    /// larger than a send section, and LSO sends.
    fn send_gpa_direct(&self, payload: &[u8], pages: &[PageRange], trans_id: u64) -> Result;
    /// Copies the next host packet into `buf` and consumes it. `Ok(0)` when
    /// none is pending, or the channel is closed (nothing ever will be);
    /// `EMSGSIZE` (packet kept) when `buf` is too small.
    fn recv(&self, buf: &mut [u8]) -> Result<usize>;
    /// Bytes that can be sent now.
    fn write_avail(&self) -> u32;
    /// Asks the host to signal the channel once at least `bytes` can be
    /// sent (the outbound ring's `pending_send_sz`); 0 withdraws the
    /// request. The host signals only on the crossing: a caller that sets
    /// it checks [`Transport::write_avail`] again afterwards.
    fn want_write_space(&self, bytes: u32);
    /// Masks the host's interrupts for inbound packets while the guest
    /// polls the ring (`hv_begin_read`).
    fn begin_read(&self);
    /// Unmasks them (`hv_end_read`); true when packets are pending, which
    /// the host will not signal: the caller must poll again.
    fn end_read(&self) -> bool;
    /// Shares `buf` with the host; returns the GPADL handle.
    fn establish_gpadl(&self, buf: &SharedBuffer) -> Result<u32>;
    /// Revokes a GPADL made by [`Transport::establish_gpadl`].
    /// On error the host may still have the memory mapped: the caller
    /// must never free or reuse the buffer.
    fn teardown_gpadl(&self, gpadl: u32) -> Result;
    /// The parent `struct device` for the net_device, if the transport has one.
    fn parent(&self) -> Option<&kernel::device::Device>;
    /// The device instance id (the VMBus device's `dev_id`).
    #[allow(dead_code)]
    fn instance_id(&self) -> [u8; 16];
}
