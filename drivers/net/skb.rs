// SPDX-License-Identifier: GPL-2.0

//! Owned socket buffers (`struct sk_buff`).
//!
//! C header: [`include/linux/skbuff.h`](srctree/include/linux/skbuff.h).

use crate::bindings;
use core::ptr::NonNull;
use kernel::prelude::*;

/// Length of an Ethernet header.
const ETH_HLEN: u32 = bindings::ETH_HLEN;

/// An owned socket buffer.
///
/// Transmit buffers come from the stack through
/// [`Operations::start_xmit`](super::Operations::start_xmit); receive buffers
/// are allocated with [`Device::alloc_rx_skb`](super::Device::alloc_rx_skb) or
/// [`NapiPoll::alloc_skb`](super::NapiPoll::alloc_skb) and handed to the
/// stack with [`NapiPoll::receive`](super::NapiPoll::receive).
///
/// Dropping an `SkBuff` frees it as a drop (`dev_kfree_skb_any`, counted by
/// drop monitors); [`SkBuff::consume`] frees it as successfully used.
///
/// # Invariants
///
/// `ptr` points to a valid `struct sk_buff` that this value owns: nobody
/// else frees it, queues it or changes its length or data pointers while this
/// value exists. (Its data area may be shared with clones, read-only, as the
/// stack does for transmitted buffers.)
pub(crate) struct SkBuff {
    ptr: NonNull<bindings::sk_buff>,
}

// SAFETY: An `sk_buff` is not tied to the thread that allocated it, and the
// `_any` free functions used on drop work from any context.
unsafe impl Send for SkBuff {}

// SAFETY: `&SkBuff` only allows reading the buffer, which is not modified
// concurrently (type invariant).
unsafe impl Sync for SkBuff {}

impl SkBuff {
    /// Takes ownership of `ptr`.
    ///
    /// # Safety
    ///
    /// `ptr` must be a valid `sk_buff` whose ownership (the duty to free or
    /// pass it on exactly once) is transferred to the returned value.
    pub(super) unsafe fn from_raw(ptr: NonNull<bindings::sk_buff>) -> Self {
        // INVARIANT: The caller transfers ownership of a valid buffer.
        Self { ptr }
    }

    /// Gives up ownership, returning the raw pointer.
    pub(super) fn into_raw(self) -> *mut bindings::sk_buff {
        let ptr = self.ptr.as_ptr();
        core::mem::forget(self);
        ptr
    }

    fn as_ptr(&self) -> *mut bindings::sk_buff {
        self.ptr.as_ptr()
    }

    /// Total length of the data (linear part and fragments), in bytes.
    pub(crate) fn len(&self) -> u32 {
        // SAFETY: `self.ptr` is a valid, owned buffer (type invariant).
        unsafe { bindings::hvn_skb_len(self.as_ptr()) }
    }

    /// Whether the buffer holds no data.
    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Length of the linear (head) part of the data.
    pub(crate) fn headlen(&self) -> u32 {
        // SAFETY: `self.ptr` is a valid, owned buffer (type invariant).
        unsafe { bindings::hvn_skb_headlen(self.as_ptr()) }
    }

    /// The linear part of the data (`skb->data`, `skb_headlen()` bytes).
    ///
    /// Call [`SkBuff::linearize`] first to have all of the frame here, or use
    /// [`SkBuff::copy_bits`], which also reads the fragments.
    pub(crate) fn data(&self) -> &[u8] {
        // SAFETY: `self.ptr` is a valid, owned buffer (type invariant).
        let data = unsafe { bindings::hvn_skb_data(self.as_ptr()) };
        let len = self.headlen() as usize;
        if len == 0 || data.is_null() {
            return &[];
        }
        // SAFETY: `skb->data` points to `skb_headlen()` initialised bytes of
        // the head buffer. Only the owner may change the data pointers or
        // length (type invariant), which needs `&mut self`, so the bytes stay
        // valid and unchanged for the lifetime of `&self`.
        unsafe { core::slice::from_raw_parts(data, len) }
    }

    /// Pulls all fragments into the linear part, so that [`SkBuff::data`]
    /// covers the whole frame. May allocate (atomically); fails with
    /// `ENOMEM`.
    pub(crate) fn linearize(&mut self) -> Result {
        // SAFETY: `self.ptr` is a valid, owned buffer; we have exclusive
        // access to it through `&mut self`.
        let ret = unsafe { bindings::hvn_skb_linearize(self.as_ptr()) };
        if ret < 0 {
            return Err(Error::from_errno(ret));
        }
        Ok(())
    }

    /// Copies `buf.len()` bytes of the frame, starting `offset` bytes in,
    /// into `buf`, reading the linear part and the fragments as needed.
    ///
    /// Fails with `EINVAL` if the range is not inside the frame.
    pub(crate) fn copy_bits(&self, offset: u32, buf: &mut [u8]) -> Result {
        let len = u32::try_from(buf.len()).map_err(|_| EINVAL)?;
        let end = offset.checked_add(len).ok_or(EINVAL)?;
        if end > self.len() {
            return Err(EINVAL);
        }
        if len == 0 {
            return Ok(());
        }
        let off = i32::try_from(offset).map_err(|_| EINVAL)?;
        let n = i32::try_from(len).map_err(|_| EINVAL)?;
        // SAFETY: `self.ptr` is a valid buffer; `[offset, offset + len)` lies
        // inside it (checked above) and `buf` is valid for `len` writes.
        let ret =
            unsafe { bindings::skb_copy_bits(self.as_ptr(), off, buf.as_mut_ptr().cast(), n) };
        if ret < 0 {
            return Err(Error::from_errno(ret));
        }
        Ok(())
    }

    /// The transmit queue the stack chose for this buffer.
    pub(crate) fn queue_mapping(&self) -> u16 {
        // SAFETY: `self.ptr` is a valid, owned buffer (type invariant).
        unsafe { bindings::hvn_skb_get_queue_mapping(self.as_ptr()) }
    }

    /// The protocol (`skb->protocol`, an ethertype), in host byte order.
    pub(crate) fn protocol(&self) -> u16 {
        // SAFETY: `self.ptr` is a valid, owned buffer (type invariant).
        unsafe { bindings::hvn_skb_protocol(self.as_ptr()) }
    }

    /// What the stack left to the device: a partial checksum and TCP
    /// segmentation.
    pub(crate) fn tx_offloads(&self) -> TxOffloads {
        let (mut start, mut offset, mut gso_size, mut v6) = (0u32, 0u32, 0u32, false);
        // SAFETY: `self.ptr` is a valid, owned buffer (type invariant); the
        // out pointers are to locals.
        let bits = unsafe {
            bindings::hvn_skb_tx_offload(
                self.as_ptr(),
                &mut start,
                &mut offset,
                &mut gso_size,
                &mut v6,
            )
        };
        TxOffloads {
            csum: (bits & bindings::HVN_TX_CSUM_PARTIAL != 0).then_some((start, offset)),
            tso: (bits & bindings::HVN_TX_TSO != 0).then_some((gso_size, v6)),
            other_gso: bits & bindings::HVN_TX_OTHER_GSO != 0,
        }
    }

    /// The out-of-band VLAN tag the stack left to the device
    /// (`skb_vlan_tag_present`): `(tag protocol, TCI)`, host byte order.
    pub(crate) fn vlan_tag(&self) -> Option<(u16, u16)> {
        let (mut proto, mut tci) = (0u16, 0u16);
        // SAFETY: `self.ptr` is a valid, owned buffer (type invariant); the
        // out pointers are to locals.
        let present = unsafe { bindings::hvn_skb_vlan_tag(self.as_ptr(), &mut proto, &mut tci) };
        present.then_some((proto, tci))
    }

    /// Gives a received buffer the 802.1Q tag `tci` out of band, as a
    /// device that stripped it does (`__vlan_hwaccel_put_tag`).
    pub(crate) fn put_vlan_ctag(&mut self, tci: u16) {
        // SAFETY: `self.ptr` is a valid buffer we own exclusively (type
        // invariant and `&mut self`).
        unsafe { bindings::hvn_skb_vlan_put_ctag(self.as_ptr(), tci) }
    }

    /// Marks a received buffer's checksums as verified by the device
    /// (`CHECKSUM_UNNECESSARY`).
    pub(crate) fn set_csum_unnecessary(&mut self) {
        // SAFETY: `self.ptr` is a valid buffer we own exclusively (type
        // invariant and `&mut self`).
        unsafe { bindings::hvn_skb_csum_unnecessary(self.as_ptr()) }
    }

    /// Free space at the end of the buffer, in bytes.
    pub(crate) fn tailroom(&self) -> u32 {
        // SAFETY: `self.ptr` is a valid, owned buffer (type invariant).
        unsafe { bindings::hvn_skb_tailroom(self.as_ptr()) }
    }

    /// Appends `data` to the linear part (`skb_put_data`).
    ///
    /// Fails with `ENOSPC` if the tailroom is too small, instead of the
    /// `skb_over_panic()` that C would hit.
    pub(crate) fn put_data(&mut self, data: &[u8]) -> Result {
        let len = u32::try_from(data.len()).map_err(|_| ENOSPC)?;
        if len > self.tailroom() {
            return Err(ENOSPC);
        }
        if len == 0 {
            return Ok(());
        }
        // SAFETY: `self.ptr` is a valid buffer owned exclusively through
        // `&mut self`, with at least `len` bytes of tailroom (checked above).
        let dst = unsafe { bindings::hvn_skb_put(self.as_ptr(), len) };
        // SAFETY: `skb_put` returned the start of `len` bytes inside the
        // buffer, which cannot overlap `data` (a Rust borrow elsewhere).
        unsafe { core::ptr::copy_nonoverlapping(data.as_ptr(), dst, data.len()) };
        Ok(())
    }

    /// Checks that the linear part holds a full Ethernet header, as
    /// `eth_type_trans()` requires.
    pub(super) fn has_eth_header(&self) -> bool {
        self.headlen() >= ETH_HLEN
    }

    /// Frees the buffer as successfully used (transmitted), from any context
    /// (`dev_consume_skb_any`).
    pub(crate) fn consume(self) {
        let ptr = self.into_raw();
        // SAFETY: We owned `ptr` and gave up that ownership just above.
        unsafe { bindings::hvn_dev_consume_skb_any(ptr) };
    }

    /// Frees the buffer as dropped, from any context (`dev_kfree_skb_any`).
    /// Same as dropping it.
    pub(crate) fn free(self) {
        drop(self);
    }
}

impl Drop for SkBuff {
    fn drop(&mut self) {
        // SAFETY: We own the buffer (type invariant) and never use it again.
        unsafe { bindings::hvn_dev_kfree_skb_any(self.as_ptr()) };
    }
}

/// Transmit offload metadata of a buffer ([`SkBuff::tx_offloads`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct TxOffloads {
    /// `(csum_start, csum_offset)` from the frame's first byte, when the
    /// transport checksum is left to the device (`CHECKSUM_PARTIAL`).
    pub(crate) csum: Option<(u32, u32)>,
    /// `(gso_size, ipv6)` of a TCP segmentation send.
    pub(crate) tso: Option<(u32, bool)>,
    /// A segmentation send of another kind (never offered by this driver).
    pub(crate) other_gso: bool,
}
