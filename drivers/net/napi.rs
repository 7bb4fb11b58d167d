// SPDX-License-Identifier: GPL-2.0

//! NAPI contexts (`struct napi_struct`).
//!
//! A [`Registration`](super::Registration) owns one NAPI context per
//! receive queue it was asked for: it adds them before registering the
//! device and deletes them after unregistering it, so a context can never
//! outlive its `net_device` nor be scheduled before it is added. Drivers
//! enable, disable and schedule them through
//! [`Device`](super::Device) by queue index, and get a [`NapiPoll`] in their
//! [`Operations::poll`](super::Operations::poll) callback.

use super::skb::SkBuff;
use crate::bindings;
use core::{marker::PhantomData, ptr::NonNull};
use kernel::{prelude::*, types::Opaque};

/// One NAPI context and its queue index.
///
/// `repr(C)` with the context first: the poll callback gets a pointer to
/// `napi` and casts it back to the slot.
///
/// # Invariants
///
/// Once added to a device (`Registration::new`), the slot does not move
/// until it has been deleted again (the vector holding it is never resized).
#[repr(C)]
pub(super) struct NapiSlot {
    pub(super) napi: Opaque<bindings::napi_struct>,
    pub(super) queue: u16,
}

impl NapiSlot {
    pub(super) fn new(queue: u16) -> Self {
        Self {
            napi: Opaque::zeroed(),
            queue,
        }
    }
}

/// Which NAPI contexts are enabled, protected by the device's NAPI mutex.
pub(super) struct NapiCtl {
    /// `enabled[i]`: context `i` has been `napi_enable`d and not disabled.
    pub(super) enabled: KVec<bool>,
    /// Set when the registration is being torn down: no more enables.
    pub(super) dead: bool,
}

/// The state of one NAPI poll, given to
/// [`Operations::poll`](super::Operations::poll).
///
/// Receive buffers are allocated and handed to the stack through it, and
/// the poll ends with [`NapiPoll::complete_done`] when less than the budget
/// was used.
///
/// # Invariants
///
/// `napi` is an added NAPI context of a registered device that is being
/// polled by the current thread, in softirq context, for the lifetime `'a`.
pub(crate) struct NapiPoll<'a> {
    napi: NonNull<bindings::napi_struct>,
    queue: u16,
    budget: u32,
    completed: bool,
    _p: PhantomData<&'a ()>,
}

impl NapiPoll<'_> {
    /// # Safety
    ///
    /// `napi` must be an added NAPI context that the caller is polling (it is
    /// in its poll callback) for as long as the returned value lives.
    pub(super) unsafe fn new(
        napi: NonNull<bindings::napi_struct>,
        queue: u16,
        budget: u32,
    ) -> Self {
        // INVARIANT: Guaranteed by the caller.
        Self {
            napi,
            queue,
            budget,
            completed: false,
            _p: PhantomData,
        }
    }

    /// The receive queue (NAPI context index) being polled.
    pub(crate) fn queue(&self) -> u16 {
        self.queue
    }

    /// How many packets may be processed in this poll. Zero means "transmit
    /// completions only" (netpoll): no receive, no completion.
    pub(crate) fn budget(&self) -> u32 {
        self.budget
    }

    /// Whether [`NapiPoll::complete_done`] has been called.
    pub(crate) fn is_completed(&self) -> bool {
        self.completed
    }

    /// Ends the poll: `napi_complete_done(work_done)`. Returns `false` if the
    /// driver should not re-arm its interrupt (the core will poll again).
    ///
    /// Calling it a second time, or with a zero budget, does nothing and
    /// returns `false`. After a completion the value returned from the poll
    /// callback is capped below the budget, as the core requires.
    pub(crate) fn complete_done(&mut self, work_done: u32) -> bool {
        if self.completed || self.budget == 0 {
            return false;
        }
        self.completed = true;
        let work = i32::try_from(work_done.min(self.budget)).unwrap_or(i32::MAX);
        // SAFETY: By the type invariant the context is being polled by us and
        // has not been completed yet (checked above).
        unsafe { bindings::napi_complete_done(self.napi.as_ptr(), work) }
    }

    /// Allocates a receive buffer with room for `len` bytes
    /// (`napi_alloc_skb`, from the per-CPU NAPI cache).
    pub(crate) fn alloc_skb(&self, len: u32) -> Result<SkBuff> {
        // SAFETY: The context is valid and we are in its poll, in softirq
        // context, as `napi_alloc_skb` requires (type invariant).
        let skb = unsafe { bindings::napi_alloc_skb(self.napi.as_ptr(), len) };
        let skb = NonNull::new(skb).ok_or(ENOMEM)?;
        // SAFETY: A freshly allocated buffer is owned by its allocator.
        Ok(unsafe { SkBuff::from_raw(skb) })
    }

    /// Hands a received Ethernet frame to the stack: sets `skb->protocol`
    /// and `skb->dev` with `eth_type_trans()` and passes the buffer to GRO
    /// (`napi_gro_receive`), or straight to `netif_receive_skb` once the
    /// poll was completed.
    ///
    /// Fails with `EINVAL`, freeing the buffer, if its linear part is
    /// shorter than an Ethernet header.
    pub(crate) fn receive(&self, skb: SkBuff) -> Result {
        if !skb.has_eth_header() {
            return Err(EINVAL);
        }
        let napi = self.napi.as_ptr();
        // SAFETY: `napi` is an added context (type invariant), so its `dev`
        // is the live device that owns it.
        let dev = unsafe { bindings::hvn_napi_dev(napi) };
        let skb = skb.into_raw();
        // SAFETY: We own `skb`, whose head holds an Ethernet header (checked
        // above); `dev` is live.
        unsafe { bindings::hvn_skb_set_eth_protocol(skb, dev) };
        if self.completed {
            // SAFETY: We are in softirq context (type invariant) and pass on
            // our ownership of `skb`, whose `dev` and `protocol` are set.
            unsafe { bindings::netif_receive_skb(skb) };
        } else {
            // SAFETY: As above; the context is being polled by us.
            unsafe { bindings::hvn_napi_gro_receive(napi, skb) };
        }
        Ok(())
    }
}
