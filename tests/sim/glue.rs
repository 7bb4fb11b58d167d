// SPDX-License-Identifier: GPL-2.0

//! Every `unsafe` of the simulator lives here: the C-ABI transport ops the
//! driver calls, access to guest memory (GPADL buffers, page frames), the
//! driver's entry points, the workqueue and the uplink netdev. The rest of
//! the simulator is safe code on top of these wrappers.

use core::ffi::c_void;
use core::ptr::NonNull;

use kernel::prelude::*;
use kernel::str::CStr;
use kernel::sync::{Arc, ArcBorrow};
use kernel::workqueue;

use crate::bindings as b;
use crate::host::{Host, RxTag};

pub(crate) use b::hvn_send;
pub(crate) use b::hvn_transport;

/// `OID_GEN_FRIENDLY_NAME` as `rndis.h` defines it: the host answers the
/// OID the C header names, so a driver asking for another is not answered
/// (the protocol core's value is checked against the same header when the
/// driver is built).
pub(crate) const OID_GEN_FRIENDLY_NAME: u32 = b::RNDIS_OID_GEN_FRIENDLY_NAME;

/// `OID_GEN_LINK_SPEED` as `rndis.h` defines it (answered with the
/// `link_speed` attribute, in 100 bps units).
pub(crate) const OID_GEN_LINK_SPEED: u32 = b::RNDIS_OID_GEN_LINK_SPEED;

/// `RNDIS_STATUS_LINK_SPEED_CHANGE` as `rndis.h` defines it.
pub(crate) const STATUS_LINK_SPEED_CHANGE: u32 = b::RNDIS_STATUS_LINK_SPEED_CHANGE;

/// `RNDIS_STATUS_NETWORK_CHANGE` as `rndis.h` defines it.
pub(crate) const STATUS_NETWORK_CHANGE: u32 = b::RNDIS_STATUS_NETWORK_CHANGE;

// ---------------------------------------------------------------------------
// Guest memory.

/// A guest buffer shared through a GPADL: `size` bytes at `ptr`.
///
/// # Invariants
///
/// While a `GuestBuf` is reachable from the host state, the guest keeps the
/// memory valid: the contract of `establish_gpadl` says the buffer is shared
/// until `teardown_gpadl`, and `teardown_gpadl` removes every `GuestBuf` of
/// that handle under the state lock, which every user of a `GuestBuf`
/// holds while it accesses the memory.
#[derive(Clone, Copy)]
pub(crate) struct GuestBuf {
    ptr: NonNull<u8>,
    size: usize,
}

// SAFETY: The buffer is plain memory; access is serialised by the state lock.
unsafe impl Send for GuestBuf {}

impl GuestBuf {
    pub(crate) fn size(&self) -> usize {
        self.size
    }

    /// Copies `dst.len()` bytes at `off` out of the buffer.
    pub(crate) fn read(&self, off: usize, dst: &mut [u8]) -> Result {
        let end = off.checked_add(dst.len()).ok_or(EINVAL)?;
        if end > self.size {
            return Err(EINVAL);
        }
        // SAFETY: `off..end` lies within the buffer, which is valid by the
        // type invariant; the guest may write it concurrently, but we only
        // copy bytes (no reference to guest memory is formed).
        unsafe {
            core::ptr::copy_nonoverlapping(self.ptr.as_ptr().add(off), dst.as_mut_ptr(), dst.len())
        };
        Ok(())
    }

    /// Copies `src` into the buffer at `off`.
    pub(crate) fn write(&self, off: usize, src: &[u8]) -> Result {
        let end = off.checked_add(src.len()).ok_or(EINVAL)?;
        if end > self.size {
            return Err(EINVAL);
        }
        // SAFETY: As in `read`; the range lies within the valid buffer.
        unsafe {
            core::ptr::copy_nonoverlapping(src.as_ptr(), self.ptr.as_ptr().add(off), src.len())
        };
        Ok(())
    }
}

/// Copies `dst.len()` bytes at `off` of the 4 KiB guest page `pfn`; with
/// `emu`, the emulated host's view of the page (`hv_emu_guest_page`).
///
/// The guest keeps pages named in a GPA-direct packet valid until the host
/// completes that packet, which happens only after this copy.
pub(crate) fn read_pfn(emu: Option<&EmuChan>, pfn: u64, off: usize, dst: &mut [u8]) -> Result {
    let end = off.checked_add(dst.len()).ok_or(EINVAL)?;
    if end > 4096 {
        return Err(EINVAL);
    }
    let va = match emu {
        // SAFETY: `e.0`'s function pointers are live (`EmuChan`'s
        // invariant); the helper only looks the frame up.
        Some(e) => unsafe { b::hvn_sim_emu_page(&e.0, pfn) },
        // SAFETY: The helper only looks the frame up (pfn_valid, lowmem).
        None => unsafe { b::hvn_sim_pfn_to_virt(pfn) },
    }
    .cast::<u8>();
    if va.is_null() {
        return Err(EFAULT);
    }
    // SAFETY: `va` maps a whole valid 4 KiB page and `off..end` lies within
    // it; see the function comment for why the page is still the guest's.
    unsafe { core::ptr::copy_nonoverlapping(va.add(off), dst.as_mut_ptr(), dst.len()) };
    Ok(())
}

// ---------------------------------------------------------------------------
// The emulated host (hv_emu_host.ko): transport "vmbus".

/// References on the emulated host's device-model API and, once offered,
/// the vNIC's channel. Dropping it takes the offer back (a rescind, waiting
/// for the guest) and then the references.
pub(crate) struct Emu(b::hvn_sim_emu);

// SAFETY: Function pointers and a channel handle, usable from any thread.
unsafe impl Send for Emu {}

impl Emu {
    /// Looks the API up; `ENODEV` when hv_emu_host is not loaded.
    pub(crate) fn get() -> Result<Self> {
        // SAFETY: An all-NULL struct is valid (no references, no channel).
        let mut e = Emu(unsafe { core::mem::zeroed() });
        // SAFETY: `e.0` is a valid, writable struct.
        if unsafe { b::hvn_sim_emu_get(&mut e.0) } != 0 {
            return Err(ENODEV);
        }
        Ok(e)
    }

    /// The API without a channel, for the state (see [`EmuChan`]).
    pub(crate) fn api(&self) -> EmuChan {
        let mut c = EmuChan(self.0);
        c.0.chan = core::ptr::null_mut();
        c
    }

    /// Offers a synthetic NIC channel of `instance` whose callbacks go to
    /// `host`. The caller keeps `host` alive until [`Emu::remove`] (or the
    /// drop) returned: no callback runs after that.
    pub(crate) fn offer(&mut self, instance: [u8; 16], host: &Host) -> Result {
        // SAFETY: `self.0` holds the API's references; the helper copies
        // `instance`; `host` outlives the channel (see above).
        let r = unsafe {
            b::hvn_sim_emu_offer(
                &mut self.0,
                instance.as_ptr(),
                core::ptr::from_ref(host).cast_mut().cast(),
            )
        };
        kernel::error::to_result(r)
    }

    /// Rescinds the channel and waits (up to 30 s) for the guest to let go.
    pub(crate) fn remove(&mut self) -> Result {
        // SAFETY: `self.0` holds the API's references and the channel it
        // offered (or none); process context.
        kernel::error::to_result(unsafe { b::hvn_sim_emu_remove(&mut self.0) })
    }
}

impl Drop for Emu {
    fn drop(&mut self) {
        let _ = self.remove();
        // SAFETY: The references were taken by `hvn_sim_emu_get`; no
        // channel is left, so no callback can use them any more.
        unsafe { b::hvn_sim_emu_put(&mut self.0) };
    }
}

/// A copy of the API for users under the state lock, with the channel
/// while it is open.
///
/// # Invariants
///
/// The function pointers stay valid while the copy is in the host state:
/// it is put there after the [`Emu`] it came from took its references and
/// cleared before that `Emu` is dropped. `chan` is the open channel (set by
/// the `opened` callback, cleared by `closed`), or NULL; the helpers refuse
/// to use a NULL channel.
#[derive(Clone, Copy)]
pub(crate) struct EmuChan(b::hvn_sim_emu);

// SAFETY: See `Emu`.
unsafe impl Send for EmuChan {}

impl EmuChan {
    pub(crate) fn set_chan(&mut self, chan: *mut c_void) {
        self.0.chan = chan.cast();
    }

    /// Writes one whole packet into the guest's inbound ring.
    pub(crate) fn send(&self, pkt: &[u8]) -> Result {
        let len = u32::try_from(pkt.len()).map_err(|_| EINVAL)?;
        // SAFETY: Valid by the type invariant; the host copies `pkt`.
        kernel::error::to_result(unsafe { b::hvn_sim_emu_send(&self.0, pkt.as_ptr().cast(), len) })
    }

    /// Bytes a packet may take in the guest's inbound ring now.
    pub(crate) fn write_avail(&self) -> u32 {
        // SAFETY: Valid by the type invariant.
        unsafe { b::hvn_sim_emu_write_avail(&self.0) }
    }

    /// Asks for the `space` callback once `bytes` are free; `true` when
    /// they are free already (nothing asked).
    pub(crate) fn want_space(&self, bytes: u32) -> bool {
        // SAFETY: Valid by the type invariant; any context.
        unsafe { b::hvn_sim_emu_want_space(&self.0, bytes) }
    }

    /// Has the host read the guest's outbound ring again.
    pub(crate) fn kick(&self) {
        // SAFETY: Valid by the type invariant; any context.
        unsafe { b::hvn_sim_emu_kick(&self.0) }
    }

    /// The host's mapping of the guest's GPADL `handle`, for the host
    /// state. Called from an emulated-host callback (the host's work, which
    /// is also where GPADLs go: the `gpadl_gone` callback removes the
    /// buffer from the state before the mapping goes, keeping the
    /// [`GuestBuf`] invariant).
    pub(crate) fn gpadl(&self, handle: u32) -> Option<GuestBuf> {
        let mut size = 0u32;
        // SAFETY: Valid by the type invariant; `size` is writable.
        let p = unsafe { b::hvn_sim_emu_gpadl(&self.0, handle, &mut size) };
        let ptr = NonNull::new(p.cast::<u8>())?;
        Some(GuestBuf {
            ptr,
            size: size as usize,
        })
    }
}

/// Emulated-host callback: the guest opened the vNIC's channel `chan`.
///
/// # Safety
///
/// `host` is the pointer given to [`Emu::offer`], alive while the channel
/// is offered; `chan` is the open channel, valid until `closed` returns.
#[no_mangle]
pub(crate) unsafe extern "C" fn hvn_sim_emu_opened_cb(host: *mut c_void, chan: *mut c_void) {
    // SAFETY: See the function's safety section.
    let host = unsafe { &*host.cast::<Host>() };
    host.emu_opened(chan);
}

/// Emulated-host callback: a guest packet of `len` bytes (descriptor
/// first). Returns 0, or `-EAGAIN` to leave it in the ring.
///
/// # Safety
///
/// As [`hvn_sim_emu_opened_cb`]; `pkt` points to `len` readable bytes.
#[no_mangle]
pub(crate) unsafe extern "C" fn hvn_sim_emu_packet_cb(
    host: *mut c_void,
    pkt: *const u8,
    len: u32,
) -> i32 {
    // SAFETY: See the function's safety section.
    let host = unsafe { &*host.cast::<Host>() };
    // SAFETY: See the function's safety section.
    let pkt = unsafe { core::slice::from_raw_parts(pkt, len as usize) };
    host.emu_packet(pkt)
}

/// Emulated-host callback: the channel closed (rings still mapped).
///
/// # Safety
///
/// As [`hvn_sim_emu_opened_cb`].
#[no_mangle]
pub(crate) unsafe extern "C" fn hvn_sim_emu_closed_cb(host: *mut c_void) {
    // SAFETY: See the function's safety section.
    let host = unsafe { &*host.cast::<Host>() };
    host.emu_closed();
}

/// Emulated-host callback: the space asked for is free.
///
/// # Safety
///
/// As [`hvn_sim_emu_opened_cb`].
#[no_mangle]
pub(crate) unsafe extern "C" fn hvn_sim_emu_space_cb(host: *mut c_void) {
    // SAFETY: See the function's safety section.
    let host = unsafe { &*host.cast::<Host>() };
    host.emu_space();
}

/// Emulated-host callback: the guest's GPADL `handle` goes.
///
/// # Safety
///
/// As [`hvn_sim_emu_opened_cb`].
#[no_mangle]
pub(crate) unsafe extern "C" fn hvn_sim_emu_gpadl_gone_cb(host: *mut c_void, handle: u32) {
    // SAFETY: See the function's safety section.
    let host = unsafe { &*host.cast::<Host>() };
    host.emu_gpadl_gone(handle);
}

// ---------------------------------------------------------------------------
// The driver's entry points.

/// References on `hvn_transport_{register,unregister,event}` of a loaded
/// hv_netvsc_rs (module references, dropped by `put`).
pub(crate) struct Syms(b::hvn_sim_syms);

// SAFETY: Function pointers, usable from any thread.
unsafe impl Send for Syms {}
// SAFETY: As above; they are only read.
unsafe impl Sync for Syms {}

impl Syms {
    pub(crate) const fn none() -> Self {
        Syms(b::hvn_sim_syms {
            reg: None,
            unreg: None,
            event: None,
        })
    }

    /// Looks the entry points up; `ENODEV` when hv_netvsc_rs (with the
    /// transport seam) is not loaded.
    pub(crate) fn get() -> Result<Self> {
        let mut s = Self::none();
        // SAFETY: `s.0` is a valid, writable struct.
        let r = unsafe { b::hvn_sim_syms_get(&mut s.0) };
        if r != 0 {
            return Err(ENODEV);
        }
        Ok(s)
    }

    pub(crate) fn put(&mut self) {
        // SAFETY: `self.0` holds references obtained by `hvn_sim_syms_get`
        // (or NULLs), which the helper drops and clears.
        unsafe { b::hvn_sim_syms_put(&mut self.0) };
    }

    fn event_fn(&self) -> Option<unsafe extern "C" fn(*mut hvn_transport)> {
        self.0.event
    }
}

/// The event entry point, copied out of `Syms` for the event gate.
#[derive(Clone, Copy)]
pub(crate) struct EventFn(Option<unsafe extern "C" fn(*mut hvn_transport)>);

impl EventFn {
    pub(crate) const fn none() -> Self {
        EventFn(None)
    }

    pub(crate) fn of(s: &Syms) -> Self {
        EventFn(s.event_fn())
    }

    /// Tells the driver that packets are pending on `host`'s transport.
    /// Callers hold the event gate and checked that the channel is open.
    pub(crate) fn call(&self, host: &Host) {
        if let Some(f) = self.0 {
            // SAFETY: `f` is the driver's `hvn_transport_event`, kept alive by
            // the module reference in `Syms`; the transport is registered.
            unsafe { f(host.transport_ptr()) };
        }
    }
}

/// Registers `host`'s transport with the driver (probe).
pub(crate) fn register(syms: &Syms, host: &Host) -> Result {
    // SAFETY: The transport is initialised (ops, dev, instance) and stays
    // valid until `unregister`: the `Host` is kept alive by its vNIC.
    let r = unsafe { b::hvn_sim_call_register(&syms.0, host.transport_ptr()) };
    kernel::error::to_result(r)
}

/// Unregisters `host`'s transport (remove).
pub(crate) fn unregister(syms: &Syms, host: &Host) {
    // SAFETY: The transport was registered by `register`.
    unsafe { b::hvn_sim_call_unregister(&syms.0, host.transport_ptr()) };
}

/// Fills the transport before registration.
pub(crate) fn init_transport(host: &Host, dev: &ParentDev, instance: [u8; 16]) {
    let t = host.transport_ptr();
    // SAFETY: `t` points to the host's transport, which is not registered
    // (the caller holds the control lock and checked that), so nobody else
    // reads it now.
    unsafe {
        (*t).ops = &OPS;
        (*t).dev = dev.0.as_ptr();
        (*t).instance.b = instance;
        (*t).drvdata = core::ptr::null_mut();
    }
}

// ---------------------------------------------------------------------------
// Parent device.

/// The faux device that parents the guest's net_device.
pub(crate) struct ParentDev(NonNull<b::device>);

// SAFETY: A device pointer, usable from any thread.
unsafe impl Send for ParentDev {}

impl ParentDev {
    pub(crate) fn new(name: &CStr) -> Result<Self> {
        // SAFETY: `name` is NUL-terminated; the helper copies it.
        let d = unsafe { b::hvn_sim_dev_create(name.as_char_ptr()) };
        NonNull::new(d).map(ParentDev).ok_or(ENOMEM)
    }
}

impl Drop for ParentDev {
    fn drop(&mut self) {
        // SAFETY: Created by `hvn_sim_dev_create`, destroyed once here.
        unsafe { b::hvn_sim_dev_destroy(self.0.as_ptr()) };
    }
}

// ---------------------------------------------------------------------------
// Workqueue.

/// The module's ordered workqueue.
pub(crate) struct Wq(NonNull<c_void>);

// SAFETY: A workqueue may be used from any thread.
unsafe impl Send for Wq {}
// SAFETY: As above.
unsafe impl Sync for Wq {}

impl Wq {
    pub(crate) fn new() -> Result<Self> {
        // SAFETY: Plain allocation.
        let p = unsafe { b::hvn_sim_wq_create() };
        NonNull::new(p).map(Wq).ok_or(ENOMEM)
    }

    pub(crate) fn raw(&self) -> WqRef {
        WqRef(self.0)
    }
}

impl Drop for Wq {
    fn drop(&mut self) {
        // SAFETY: Created by `hvn_sim_wq_create`; drained and freed once.
        unsafe { b::hvn_sim_wq_destroy(self.0.as_ptr()) };
    }
}

/// A borrowed handle on the module's workqueue, held by each vNIC.
///
/// # Invariants
///
/// The `Wq` it was taken from outlives it: the workqueue belongs to the
/// configfs subsystem's data, which is dropped only after every vNIC group
/// is gone (each group pins the module).
#[derive(Clone, Copy)]
pub(crate) struct WqRef(NonNull<c_void>);

// SAFETY: See `Wq`.
unsafe impl Send for WqRef {}
// SAFETY: See `Wq`.
unsafe impl Sync for WqRef {}

impl WqRef {
    pub(crate) fn queue(&self) -> &workqueue::Queue {
        // SAFETY: Live by the type invariant.
        unsafe { workqueue::Queue::from_raw(self.0.as_ptr().cast()) }
    }

    pub(crate) fn flush(&self) {
        // SAFETY: Live by the type invariant; process context.
        unsafe { b::hvn_sim_wq_flush(self.0.as_ptr()) };
    }
}

// ---------------------------------------------------------------------------
// Uplink netdev.

/// A referenced guest netdev with our rx_handler attached.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Uplink(NonNull<c_void>);

// SAFETY: A netdev pointer, usable from any thread while referenced.
unsafe impl Send for Uplink {}

/// RTNL held; uplinks are attached and released only under it, as the
/// netdev notifier runs under it too.
pub(crate) struct Rtnl(());

impl Rtnl {
    pub(crate) fn lock() -> Self {
        // SAFETY: Process context (configfs store, vNIC teardown).
        unsafe { b::hvn_sim_rtnl_lock() };
        Rtnl(())
    }
}

impl Drop for Rtnl {
    fn drop(&mut self) {
        // SAFETY: Taken in `lock`.
        unsafe { b::hvn_sim_rtnl_unlock() };
    }
}

impl Uplink {
    /// Attaches to the netdev `name`, passing `host` to the rx_handler.
    /// The caller stores the result in `host`'s state before dropping
    /// `_rtnl`, and keeps `host` alive until the uplink is released.
    pub(crate) fn attach(_rtnl: &Rtnl, name: &CStr, host: &Host) -> Result<Self> {
        let mut err = 0;
        // SAFETY: RTNL is held; `name` is NUL-terminated; `host` outlives the
        // attachment (see above); `err` is writable.
        let d = unsafe {
            b::hvn_sim_uplink_attach_locked(
                name.as_char_ptr(),
                core::ptr::from_ref(host).cast_mut().cast(),
                &mut err,
            )
        };
        match NonNull::new(d) {
            Some(d) => Ok(Uplink(d)),
            None => Err(Error::from_errno(if err == 0 { -19 } else { err })),
        }
    }

    /// Detaches and drops the reference. The caller took `self` out of the
    /// host state under `_rtnl`, so the notifier (which also runs under
    /// RTNL and only releases what it finds in the state) cannot have
    /// released it.
    pub(crate) fn release(self, _rtnl: &Rtnl) {
        // SAFETY: RTNL held; `self` holds the attachment and its reference.
        unsafe { b::hvn_sim_uplink_release_locked(self.0.as_ptr()) };
    }

    /// Takes an extra reference for a transmission outside the state lock.
    /// The caller holds the state lock and found `self` there.
    pub(crate) fn hold(&self) -> UplinkRef {
        // SAFETY: `self` is referenced while it is in the state.
        unsafe { b::hvn_sim_dev_hold(self.0.as_ptr()) };
        UplinkRef(self.0)
    }
}

/// A counted reference on the uplink for one transmission.
pub(crate) struct UplinkRef(NonNull<c_void>);

impl UplinkRef {
    /// Sends `frame`, tagged with the 802.1Q TCI `vlan` if given.
    pub(crate) fn xmit(&self, frame: &[u8], vlan: Option<u16>) -> Result {
        let len = u32::try_from(frame.len()).map_err(|_| EINVAL)?;
        // SAFETY: The netdev is referenced; the helper copies `frame`.
        let r =
            unsafe { b::hvn_sim_uplink_xmit(self.0.as_ptr(), frame.as_ptr(), len, tci_arg(vlan)) };
        kernel::error::to_result(r)
    }

    /// Sends `head` followed by `rest` with the transport checksum at
    /// `l4 + offset` left to the device (`CHECKSUM_PARTIAL`), and for
    /// `Some((mss, ipv6))` as an untrusted TCP segmentation send; tagged
    /// with the 802.1Q TCI `vlan` if given.
    pub(crate) fn xmit_offload(
        &self,
        head: &[u8],
        rest: &[u8],
        l4: usize,
        offset: usize,
        tso: Option<(u32, bool)>,
        vlan: Option<u16>,
    ) -> Result {
        let hlen = u32::try_from(head.len()).map_err(|_| EINVAL)?;
        let rlen = u32::try_from(rest.len()).map_err(|_| EINVAL)?;
        let l4 = u32::try_from(l4).map_err(|_| EINVAL)?;
        let offset = u32::try_from(offset).map_err(|_| EINVAL)?;
        let (mss, v6) = tso.unwrap_or((0, false));
        // SAFETY: The netdev is referenced; the helper copies both slices
        // and checks the offsets against their total length.
        let r = unsafe {
            b::hvn_sim_uplink_xmit_offload(
                self.0.as_ptr(),
                head.as_ptr(),
                hlen,
                rest.as_ptr(),
                rlen,
                l4,
                offset,
                mss,
                v6,
                tci_arg(vlan),
            )
        };
        kernel::error::to_result(r)
    }
}

/// A TCI for the xmit helpers: the tag, or -1 for none.
fn tci_arg(vlan: Option<u16>) -> i32 {
    vlan.map_or(-1, i32::from)
}

impl Drop for UplinkRef {
    fn drop(&mut self) {
        // SAFETY: Drops the reference taken in `hold`.
        unsafe { b::hvn_sim_dev_put(self.0.as_ptr()) };
    }
}

pub(crate) fn notifier_register() -> Result {
    // SAFETY: Registers a static notifier block.
    kernel::error::to_result(unsafe { b::hvn_sim_notifier_register() })
}

pub(crate) fn notifier_unregister() {
    // SAFETY: Registered by `notifier_register`.
    unsafe { b::hvn_sim_notifier_unregister() };
}

/// Rx_handler callback: a frame arrived on an uplink attached to `host`.
///
/// # Safety
///
/// `host` is the pointer given to `Uplink::attach`, still alive (the
/// handler is unregistered before the host goes away), and `frame` points
/// to `len` readable bytes. `vlan` is the frame's out-of-band tag
/// (`HVN_SIM_VLAN_*`).
#[no_mangle]
pub(crate) unsafe extern "C" fn hvn_sim_uplink_rx(
    host: *mut c_void,
    frame: *const u8,
    len: u32,
    vlan: u32,
) -> i32 {
    // SAFETY: See the function's safety section.
    let host = unsafe { &*host.cast::<Host>() };
    // SAFETY: See the function's safety section.
    let frame = unsafe { core::slice::from_raw_parts(frame, len as usize) };
    let tag = if vlan & b::HVN_SIM_VLAN_CTAG != 0 {
        RxTag::Ctag(vlan as u16)
    } else if vlan & b::HVN_SIM_VLAN_OTHER != 0 {
        RxTag::Other
    } else {
        RxTag::None
    };
    i32::from(host.uplink_rx(frame, tag))
}

/// Notifier callback (RTNL held): the uplink of `host` is being
/// unregistered; the helper releases it right after this returns.
///
/// # Safety
///
/// `host` is the pointer given to `Uplink::attach`, still alive.
#[no_mangle]
pub(crate) unsafe extern "C" fn hvn_sim_uplink_gone(host: *mut c_void) {
    // SAFETY: See the function's safety section.
    let host = unsafe { &*host.cast::<Host>() };
    host.uplink_gone();
}

// ---------------------------------------------------------------------------
// Transport ops: C entry points from the driver.

static OPS: b::hvn_transport_ops = b::hvn_transport_ops {
    open: Some(op_open),
    close: Some(op_close),
    send: Some(op_send),
    recv: Some(op_recv),
    write_avail: Some(op_write_avail),
    want_write_space: Some(op_want_write_space),
    begin_read: Some(op_begin_read),
    end_read: Some(op_end_read),
    establish_gpadl: Some(op_establish_gpadl),
    teardown_gpadl: Some(op_teardown_gpadl),
};

/// # Safety
///
/// `t` is the transport embedded in a live `Host` allocated in an `Arc`
/// (only such transports carry `OPS`), registered with the driver.
unsafe fn host_of<'a>(t: *mut hvn_transport) -> ArcBorrow<'a, Host> {
    // SAFETY: By the function's safety requirements, `t` is the `transport`
    // field of a `Host` inside an `Arc`, alive while registered.
    unsafe { ArcBorrow::from_raw(Host::from_transport(t)) }
}

fn errno(r: Result) -> i32 {
    match r {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// `open` of [`OPS`].
///
/// # Safety
///
/// Called by the driver through [`OPS`] with a transport this module
/// registered, and pointer arguments valid as `hvn_transport.h` says.
unsafe extern "C" fn op_open(t: *mut hvn_transport, ring_size: u32) -> i32 {
    // SAFETY: Called by the driver on a transport we registered.
    let h = unsafe { host_of(t) };
    errno(h.open(ring_size))
}

/// `close` of [`OPS`].
///
/// # Safety
///
/// Called by the driver through [`OPS`] with a transport this module
/// registered, and pointer arguments valid as `hvn_transport.h` says.
unsafe extern "C" fn op_close(t: *mut hvn_transport) {
    // SAFETY: Called by the driver on a transport we registered.
    let h = unsafe { host_of(t) };
    h.close();
}

/// `send` of [`OPS`].
///
/// # Safety
///
/// Called by the driver through [`OPS`] with a transport this module
/// registered, and pointer arguments valid as `hvn_transport.h` says.
unsafe extern "C" fn op_send(t: *mut hvn_transport, pkt: *const hvn_send) -> i32 {
    // SAFETY: Called by the driver on a transport we registered.
    let h = unsafe { host_of(t) };
    if pkt.is_null() {
        return EINVAL.to_errno();
    }
    // SAFETY: The driver passes a valid packet description for the call.
    let p = unsafe { &*pkt };
    if p.len > crate::host::MAX_SEND_PAYLOAD || p.page_count > crate::host::MAX_SEND_PAGES {
        return EINVAL.to_errno();
    }
    let payload: &[u8] = if p.len == 0 {
        &[]
    } else if p.payload.is_null() {
        return EINVAL.to_errno();
    } else {
        // SAFETY: The driver's payload holds `len` readable bytes.
        unsafe { core::slice::from_raw_parts(p.payload.cast::<u8>(), p.len as usize) }
    };
    let pages: &[b::hv_page_buffer] = if p.page_count == 0 {
        &[]
    } else if p.pages.is_null() {
        return EINVAL.to_errno();
    } else {
        // SAFETY: The driver's page array holds `page_count` entries.
        unsafe { core::slice::from_raw_parts(p.pages, p.page_count as usize) }
    };
    let mut ranges = [crate::host::PageRange::default(); crate::host::MAX_SEND_PAGES as usize];
    for (r, pb) in ranges.iter_mut().zip(pages) {
        *r = crate::host::PageRange {
            len: pb.len,
            offset: pb.offset,
            pfn: pb.pfn,
        };
    }
    let send = crate::host::GuestSend {
        pkt_type: p.type_,
        flags: p.flags,
        trans_id: p.trans_id,
        payload,
        pages: &ranges[..pages.len()],
    };
    match h.send(&send) {
        Ok(()) => {
            h.kick_worker(Arc::from(h));
            0
        }
        Err(e) => e.to_errno(),
    }
}

/// `recv` of [`OPS`].
///
/// # Safety
///
/// Called by the driver through [`OPS`] with a transport this module
/// registered, and pointer arguments valid as `hvn_transport.h` says.
unsafe extern "C" fn op_recv(
    t: *mut hvn_transport,
    buf: *mut c_void,
    buf_len: u32,
    pkt_len: *mut u32,
) -> i32 {
    // SAFETY: Called by the driver on a transport we registered.
    let h = unsafe { host_of(t) };
    if pkt_len.is_null() || (buf.is_null() && buf_len != 0) {
        return EINVAL.to_errno();
    }
    let out: &mut [u8] = if buf_len == 0 {
        &mut []
    } else {
        // SAFETY: The driver gives a writable buffer of `buf_len` bytes.
        unsafe { core::slice::from_raw_parts_mut(buf.cast::<u8>(), buf_len as usize) }
    };
    let (r, n, kick) = h.recv(out);
    // SAFETY: Checked non-null; the driver gives a writable u32.
    unsafe { *pkt_len = n };
    if kick {
        h.kick_worker(Arc::from(h));
    }
    errno(r)
}

/// `write_avail` of [`OPS`].
///
/// # Safety
///
/// Called by the driver through [`OPS`] with a transport this module
/// registered, and pointer arguments valid as `hvn_transport.h` says.
unsafe extern "C" fn op_write_avail(t: *mut hvn_transport) -> u32 {
    // SAFETY: Called by the driver on a transport we registered.
    let h = unsafe { host_of(t) };
    h.write_avail()
}

/// `want_write_space` of [`OPS`].
///
/// # Safety
///
/// Called by the driver through [`OPS`] with a transport this module
/// registered, and pointer arguments valid as `hvn_transport.h` says.
unsafe extern "C" fn op_want_write_space(t: *mut hvn_transport, size: u32) {
    // SAFETY: Called by the driver on a transport we registered.
    let h = unsafe { host_of(t) };
    h.want_write_space(size);
}

/// `begin_read` of [`OPS`].
///
/// # Safety
///
/// Called by the driver through [`OPS`] with a transport this module
/// registered, and pointer arguments valid as `hvn_transport.h` says.
unsafe extern "C" fn op_begin_read(t: *mut hvn_transport) {
    // SAFETY: Called by the driver on a transport we registered.
    let h = unsafe { host_of(t) };
    h.set_masked(true);
}

/// `end_read` of [`OPS`].
///
/// # Safety
///
/// Called by the driver through [`OPS`] with a transport this module
/// registered, and pointer arguments valid as `hvn_transport.h` says.
unsafe extern "C" fn op_end_read(t: *mut hvn_transport) -> bool {
    // SAFETY: Called by the driver on a transport we registered.
    let h = unsafe { host_of(t) };
    h.set_masked(false)
}

/// `establish_gpadl` of [`OPS`].
///
/// # Safety
///
/// Called by the driver through [`OPS`] with a transport this module
/// registered, and pointer arguments valid as `hvn_transport.h` says.
unsafe extern "C" fn op_establish_gpadl(
    t: *mut hvn_transport,
    buf: *mut c_void,
    size: u32,
    gpadl: *mut u32,
) -> i32 {
    // SAFETY: Called by the driver on a transport we registered.
    let h = unsafe { host_of(t) };
    let Some(ptr) = NonNull::new(buf.cast::<u8>()) else {
        return EINVAL.to_errno();
    };
    if gpadl.is_null() || size == 0 || (ptr.as_ptr() as usize) % 4096 != 0 {
        return EINVAL.to_errno();
    }
    // The driver promises `size` bytes at `buf` until teardown (see GuestBuf).
    let gb = GuestBuf {
        ptr,
        size: size as usize,
    };
    match h.establish_gpadl(gb) {
        Ok(handle) => {
            // SAFETY: Checked non-null; the driver gives a writable u32.
            unsafe { *gpadl = handle };
            0
        }
        Err(e) => e.to_errno(),
    }
}

/// `teardown_gpadl` of [`OPS`].
///
/// # Safety
///
/// Called by the driver through [`OPS`] with a transport this module
/// registered, and pointer arguments valid as `hvn_transport.h` says.
unsafe extern "C" fn op_teardown_gpadl(t: *mut hvn_transport, gpadl: u32) -> i32 {
    // SAFETY: Called by the driver on a transport we registered.
    let h = unsafe { host_of(t) };
    errno(h.teardown_gpadl(gpadl))
}
