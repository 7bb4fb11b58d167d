// SPDX-License-Identifier: GPL-2.0

//! Channels handed to the driver through the exported entry points of
//! `hvn_transport.h` (`hvn_transport_register`, `_unregister`, `_event`).
//!
//! A provider module (the test-only simulated host) owns a
//! `struct hvn_transport` and its callbacks; the driver probes it exactly as
//! a VMBus device. The provider depends on this module, never the reverse.

use super::{PageRange, SharedBuffer, Transport};
use crate::bindings;
use crate::netvsc::NetvscDevice;
use kernel::error::to_result;
use kernel::prelude::*;
use kernel::sync::{Arc, ArcBorrow};

/// A provider's `struct hvn_transport`, seen through [`Transport`].
///
/// # Invariants
///
/// `t` points to a `struct hvn_transport` whose `ops` table has every
/// callback set, valid from `hvn_transport_register` until
/// `hvn_transport_unregister` returns, and this value does not outlive it
/// (it is dropped by unregister at the latest).
struct ExternalTransport {
    t: core::ptr::NonNull<bindings::hvn_transport>,
}

// SAFETY: The provider's callbacks may be called from any thread and context
// (the contract of hvn_transport.h); the pointer itself is just an address.
unsafe impl Send for ExternalTransport {}
// SAFETY: As above: concurrent calls are the provider's to serialise.
unsafe impl Sync for ExternalTransport {}

impl ExternalTransport {
    fn ops(&self) -> &bindings::hvn_transport_ops {
        // SAFETY: By the type invariant `t` and its `ops` table are valid for
        // as long as `self` lives.
        unsafe { &*self.t.as_ref().ops }
    }

    fn raw(&self) -> *mut bindings::hvn_transport {
        self.t.as_ptr()
    }

    fn send(
        &self,
        ty: u16,
        flags: u16,
        trans_id: u64,
        payload: &[u8],
        pages: &[PageRange],
    ) -> Result {
        let len = u32::try_from(payload.len()).map_err(|_| EMSGSIZE)?;
        let page_count = u32::try_from(pages.len()).map_err(|_| EMSGSIZE)?;
        let pb: KVec<bindings::hv_page_buffer>;
        let mut pb_ptr = core::ptr::null();
        if !pages.is_empty() {
            let mut v = KVec::with_capacity(pages.len(), GFP_ATOMIC)?;
            for p in pages {
                v.push(
                    bindings::hv_page_buffer {
                        len: p.len,
                        offset: p.offset,
                        pfn: p.pfn,
                    },
                    GFP_ATOMIC,
                )?;
            }
            pb = v;
            pb_ptr = pb.as_ptr();
        }
        let pkt = bindings::hvn_send {
            type_: ty,
            flags,
            trans_id,
            payload: payload.as_ptr().cast(),
            len,
            page_count,
            pages: pb_ptr,
        };
        let send = self.ops().send.ok_or(EINVAL)?;
        // SAFETY: `t` is valid (type invariant); `pkt` and what it points to
        // live across the call; the provider copies what it keeps.
        to_result(unsafe { send(self.raw(), &pkt) })
    }
}

impl Transport for ExternalTransport {
    fn open(&self, ring_size: u32) -> Result {
        let open = self.ops().open.ok_or(EINVAL)?;
        // SAFETY: `t` is valid (type invariant).
        to_result(unsafe { open(self.raw(), ring_size) })
    }

    fn close(&self) {
        if let Some(close) = self.ops().close {
            // SAFETY: `t` is valid (type invariant).
            unsafe { close(self.raw()) };
        }
    }

    fn send_inband(&self, payload: &[u8], trans_id: u64, completion: bool) -> Result {
        let flags = if completion {
            bindings::VMBUS_DATA_PACKET_FLAG_COMPLETION_REQUESTED as u16
        } else {
            0
        };
        self.send(
            bindings::vmbus_packet_type_VM_PKT_DATA_INBAND as u16,
            flags,
            trans_id,
            payload,
            &[],
        )
    }

    fn send_completion(&self, payload: &[u8], trans_id: u64) -> Result {
        self.send(
            bindings::vmbus_packet_type_VM_PKT_COMP as u16,
            0,
            trans_id,
            payload,
            &[],
        )
    }

    fn send_gpa_direct(&self, payload: &[u8], pages: &[PageRange], trans_id: u64) -> Result {
        self.send(
            bindings::vmbus_packet_type_VM_PKT_DATA_USING_GPA_DIRECT as u16,
            bindings::VMBUS_DATA_PACKET_FLAG_COMPLETION_REQUESTED as u16,
            trans_id,
            payload,
            pages,
        )
    }

    fn recv(&self, buf: &mut [u8]) -> Result<usize> {
        let recv = self.ops().recv.ok_or(EINVAL)?;
        let cap = u32::try_from(buf.len()).unwrap_or(u32::MAX);
        let mut len = 0u32;
        // SAFETY: `t` is valid (type invariant); `buf` is writable for `cap`
        // bytes and `len` for a `u32`, both for the duration of the call.
        to_result(unsafe { recv(self.raw(), buf.as_mut_ptr().cast(), cap, &mut len) })?;
        let len = len as usize;
        // A provider claiming more than it could copy is a bug: refuse it.
        if len > buf.len() {
            return Err(EIO);
        }
        Ok(len)
    }

    fn write_avail(&self) -> u32 {
        match self.ops().write_avail {
            // SAFETY: `t` is valid (type invariant).
            Some(f) => unsafe { f(self.raw()) },
            None => 0,
        }
    }

    fn want_write_space(&self, bytes: u32) {
        if let Some(f) = self.ops().want_write_space {
            // SAFETY: `t` is valid (type invariant).
            unsafe { f(self.raw(), bytes) }
        }
    }

    fn begin_read(&self) {
        if let Some(f) = self.ops().begin_read {
            // SAFETY: `t` is valid (type invariant).
            unsafe { f(self.raw()) }
        }
    }

    fn end_read(&self) -> bool {
        match self.ops().end_read {
            // SAFETY: `t` is valid (type invariant).
            Some(f) => unsafe { f(self.raw()) },
            None => false,
        }
    }

    fn establish_gpadl(&self, buf: &SharedBuffer) -> Result<u32> {
        let f = self.ops().establish_gpadl.ok_or(EINVAL)?;
        let size = u32::try_from(buf.len()).map_err(|_| EINVAL)?;
        let mut handle = 0u32;
        // SAFETY: `t` is valid (type invariant); `buf` stays allocated until
        // the GPADL is torn down (the caller's contract with SharedBuffer).
        to_result(unsafe { f(self.raw(), buf.as_ptr().cast(), size, &mut handle) })?;
        Ok(handle)
    }

    fn teardown_gpadl(&self, gpadl: u32) -> Result {
        let f = self.ops().teardown_gpadl.ok_or(EINVAL)?;
        // SAFETY: `t` is valid (type invariant).
        to_result(unsafe { f(self.raw(), gpadl) })
    }

    fn parent(&self) -> Option<&kernel::device::Device> {
        // SAFETY: `t` is valid (type invariant).
        let dev = unsafe { self.t.as_ref().dev };
        if dev.is_null() {
            return None;
        }
        // SAFETY: The provider keeps `dev` alive while `t` is registered,
        // which outlives `self` (type invariant).
        Some(unsafe { kernel::device::Device::from_raw(dev.cast()) })
    }

    fn instance_id(&self) -> [u8; 16] {
        // SAFETY: `t` is valid (type invariant); `guid_t` is 16 plain bytes.
        unsafe { core::mem::transmute::<bindings::guid_t, [u8; 16]>(self.t.as_ref().instance) }
    }
}

/// `hvn_transport_register`: probe the driver on a provider's channel.
///
/// # Safety
///
/// `t` must point to a valid `struct hvn_transport` that stays valid until
/// `hvn_transport_unregister(t)` returns, with `drvdata` null.
#[no_mangle]
unsafe extern "C" fn hvn_rs_transport_register(
    t: *mut bindings::hvn_transport,
) -> core::ffi::c_int {
    let Some(nn) = core::ptr::NonNull::new(t) else {
        return EINVAL.to_errno();
    };
    // SAFETY: `t` is valid (the caller's contract).
    let ops = unsafe { nn.as_ref().ops };
    // SAFETY: Likewise for its ops table, if set.
    let complete = !ops.is_null()
        && unsafe {
            let o = &*ops;
            o.open.is_some()
                && o.close.is_some()
                && o.send.is_some()
                && o.recv.is_some()
                && o.write_avail.is_some()
                && o.want_write_space.is_some()
                && o.begin_read.is_some()
                && o.end_read.is_some()
                && o.establish_gpadl.is_some()
                && o.teardown_gpadl.is_some()
        };
    if !complete {
        pr_err!("transport registered with incomplete callbacks\n");
        return EINVAL.to_errno();
    }
    // INVARIANT: `t` and a complete ops table are valid until unregister
    // (caller's contract); the transport is dropped by unregister at the latest.
    let transport = match Arc::new(ExternalTransport { t: nn }, GFP_KERNEL) {
        Ok(tr) => tr,
        Err(e) => return Error::from(e).to_errno(),
    };
    let dev = match NetvscDevice::new(transport) {
        Ok(d) => d,
        Err(e) => return e.to_errno(),
    };
    // Events may arrive as soon as the channel is open (during probe), so
    // `drvdata` is set first. It holds one reference, released by unregister.
    // SAFETY: `t` is valid and `drvdata` is ours to set (caller's contract).
    unsafe { (*t).drvdata = Arc::into_raw(dev.clone()).cast_mut().cast() };
    match NetvscDevice::probe(&dev) {
        Ok(()) => 0,
        Err(e) => {
            // SAFETY: As above; probe failed so the channel is closed and no
            // event can read `drvdata` any more.
            let raw = unsafe { core::mem::replace(&mut (*t).drvdata, core::ptr::null_mut()) };
            // SAFETY: `raw` came from `Arc::into_raw` just above, once.
            drop(unsafe { Arc::from_raw(raw.cast::<NetvscDevice>()) });
            e.to_errno()
        }
    }
}

/// `hvn_transport_unregister`: remove the device bound to `t`.
///
/// # Safety
///
/// `t` must have been registered successfully and not unregistered since.
#[no_mangle]
unsafe extern "C" fn hvn_rs_transport_unregister(t: *mut bindings::hvn_transport) {
    if t.is_null() {
        return;
    }
    // SAFETY: `t` is valid (caller's contract).
    let raw = unsafe { (*t).drvdata };
    if raw.is_null() {
        return;
    }
    // SAFETY: `drvdata` holds the reference taken by register.
    let dev = unsafe { Arc::from_raw(raw.cast::<NetvscDevice>()) };
    // Remove closes the channel: after it no event reads `drvdata`.
    NetvscDevice::remove(&dev);
    // SAFETY: `t` is valid (caller's contract).
    unsafe { (*t).drvdata = core::ptr::null_mut() };
    drop(dev);
}

/// `hvn_transport_event`: host packets are pending on `t`.
///
/// # Safety
///
/// `t` must be registered (events only come between a successful `open` and
/// the return of `close`, by the contract of hvn_transport.h).
#[no_mangle]
unsafe extern "C" fn hvn_rs_transport_event(t: *mut bindings::hvn_transport) {
    if t.is_null() {
        return;
    }
    // SAFETY: `t` is valid (caller's contract).
    let raw = unsafe { (*t).drvdata };
    if raw.is_null() {
        return;
    }
    // SAFETY: `drvdata` holds a reference (from register) that is only
    // released by unregister after the channel is closed, i.e. after the
    // last event; so the object outlives this borrow.
    let dev: ArcBorrow<'_, NetvscDevice> = unsafe { ArcBorrow::from_raw(raw.cast()) };
    dev.on_event();
}
