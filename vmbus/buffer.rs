// SPDX-License-Identifier: GPL-2.0

//! Memory shared with the host: the receive and send buffers.

use super::PageRange;
use crate::bindings;
use kernel::prelude::*;

/// A page-aligned, zeroed, `vmalloc`ed buffer that the host may read and
/// write at any time once a GPADL covers it.
///
/// Because the other side changes it concurrently, no Rust reference to its
/// contents is ever handed out: bytes move in and out only by copies with
/// bounds checks, and the driver parses the copies.
///
/// # Invariants
///
/// `mem` has length `len` (its capacity never changes), `len` is a multiple
/// of `PAGE_SIZE` and the start is page aligned (vmalloc). `ptr` was taken
/// from `mem` by a unique borrow when it was made; `mem` is not touched again
/// until drop, so all accesses go through `ptr`.
pub(crate) struct SharedBuffer {
    ptr: core::ptr::NonNull<u8>,
    len: usize,
    /// Set by [`SharedBuffer::keep_forever`]: drop leaves the memory
    /// allocated.
    kept: kernel::sync::atomic::Atomic<bool>,
    // Owns the memory; only dropped (or forgotten), never read.
    mem: core::mem::ManuallyDrop<VVec<u8>>,
}

impl SharedBuffer {
    /// Allocates `len` bytes, rounded up to whole pages.
    pub(crate) fn new(len: usize) -> Result<Self> {
        let page = kernel::page::PAGE_SIZE;
        let len = len.checked_next_multiple_of(page).ok_or(EINVAL)?;
        if len == 0 {
            return Err(EINVAL);
        }
        let mut mem = VVec::from_elem(0u8, len, GFP_KERNEL)?;
        let ptr = core::ptr::NonNull::new(mem.as_mut_ptr()).ok_or(ENOMEM)?;
        // INVARIANT: `from_elem` made exactly `len` bytes; vmalloc memory is
        // page aligned and `len` was rounded to pages; `ptr` comes from a
        // unique borrow of `mem`.
        Ok(Self {
            ptr,
            len,
            kept: kernel::sync::atomic::Atomic::new(false),
            mem: core::mem::ManuallyDrop::new(mem),
        })
    }

    /// Size in bytes.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Start address, for GPADL set-up.
    pub(crate) fn as_ptr(&self) -> *mut u8 {
        self.ptr.as_ptr()
    }

    /// Copies `out.len()` bytes at `offset` out of the buffer.
    pub(crate) fn read(&self, offset: usize, out: &mut [u8]) -> Result {
        let end = offset.checked_add(out.len()).ok_or(EINVAL)?;
        if end > self.len {
            return Err(EINVAL);
        }
        // SAFETY: `offset..end` lies inside the allocation (checked above,
        // type invariant). The host may write these bytes concurrently; a
        // byte copy into our private `out` is how such memory is read.
        unsafe {
            core::ptr::copy_nonoverlapping(self.as_ptr().add(offset), out.as_mut_ptr(), out.len())
        };
        Ok(())
    }

    /// Describes `offset..offset + len` as one [`PageRange`] per page it
    /// touches, for a GPA-direct send; returns how many of `out` it filled.
    /// `EINVAL` out of bounds, `E2BIG` if `out` is too short.
    pub(crate) fn page_ranges(
        &self,
        offset: usize,
        len: usize,
        out: &mut [PageRange],
    ) -> Result<usize> {
        let end = offset.checked_add(len).ok_or(EINVAL)?;
        if end > self.len || len == 0 {
            return Err(EINVAL);
        }
        // Ranges are in Hyper-V's 4 KiB pages, whatever the kernel's size.
        const HV_PAGE: usize = 4096;
        let per_page = kernel::page::PAGE_SIZE / HV_PAGE;
        let (mut at, mut n) = (offset, 0);
        while at < end {
            let in_hv = at % HV_PAGE;
            let chunk = (HV_PAGE - in_hv).min(end - at);
            // SAFETY: `at` lies inside the vmalloc allocation (checked
            // above, type invariant), so `vmalloc_to_pfn` finds its page.
            let pfn = unsafe { bindings::hvn_vmalloc_to_pfn(self.as_ptr().add(at).cast()) };
            let sub = (at % kernel::page::PAGE_SIZE) / HV_PAGE;
            *out.get_mut(n).ok_or(E2BIG)? = PageRange {
                pfn: pfn as u64 * per_page as u64 + sub as u64,
                // CAST: both are below 4096.
                offset: in_hv as u32,
                len: chunk as u32,
            };
            n += 1;
            at += chunk;
        }
        Ok(n)
    }

    /// Copies `data` into the buffer at `offset`.
    pub(crate) fn write(&self, offset: usize, data: &[u8]) -> Result {
        let end = offset.checked_add(data.len()).ok_or(EINVAL)?;
        if end > self.len {
            return Err(EINVAL);
        }
        // SAFETY: `offset..end` lies inside the allocation (checked above,
        // type invariant); no reference to the buffer's contents exists.
        unsafe {
            core::ptr::copy_nonoverlapping(data.as_ptr(), self.as_ptr().add(offset), data.len())
        };
        Ok(())
    }
}

impl SharedBuffer {
    /// The host did not give the buffer back (its GPADL teardown failed):
    /// it may still write it, so the memory is never freed or reused. It
    /// is told to kmemleak as known, not lost.
    pub(crate) fn keep_forever(&self) {
        self.kept.store(true, kernel::sync::atomic::Relaxed);
        // SAFETY: `ptr` is the start of the vmalloc area (type invariant),
        // which stays allocated from now on.
        unsafe { bindings::hvn_kmemleak_not_leak(self.as_ptr().cast()) };
    }
}

impl Drop for SharedBuffer {
    fn drop(&mut self) {
        if self.kept.load(kernel::sync::atomic::Relaxed) {
            return;
        }
        // SAFETY: `mem` is dropped only here, once; nothing uses it after.
        unsafe { core::mem::ManuallyDrop::drop(&mut self.mem) };
    }
}

// SAFETY: The buffer is plain memory accessed only by bounds-checked copies;
// it may be used and dropped from any thread.
unsafe impl Send for SharedBuffer {}
// SAFETY: As above: `&SharedBuffer` only allows copies in and out, which are
// the same racy-but-defined byte copies the host does.
unsafe impl Sync for SharedBuffer {}
