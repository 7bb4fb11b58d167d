// SPDX-License-Identifier: GPL-2.0

//! Other drivers' net_devices, as the failover glue sees them: VF candidates
//! met in the netdev notifier, held references to an enslaved VF, the VF's
//! receive handler, and kernel log lines on a net_device.
//!
//! One of the thin `unsafe` layers; the decisions are made in safe code
//! (failover/) on the plain facts this module copies out.

use super::{Device, IfName, LinkKsettings, LinkKsettingsRequest, MacAddr, Operations, SkBuff};
use crate::bindings;
use core::ptr::NonNull;
use kernel::error::to_result;
use kernel::ffi;
use kernel::prelude::*;
use kernel::types::Opaque;

/// Where a net_device hangs in the device tree.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Parent {
    None,
    Pci,
    VirtioOverPci,
    Other,
}

/// Facts about a net_device, copied out under RTNL.
#[derive(Clone, Copy)]
pub(crate) struct VfFacts {
    pub(crate) dev_type: u16,
    pub(crate) addr_len: u8,
    pub(crate) parent: Parent,
    pub(crate) is_vlan: bool,
    pub(crate) is_master: bool,
    pub(crate) has_master: bool,
    pub(crate) iff_slave: bool,
    pub(crate) pci_vendor: u16,
    pub(crate) pci_device: u16,
    pub(crate) perm_addr: [u8; 6],
    pub(crate) dev_addr: [u8; 6],
    slot: Option<[u8; 32]>,
    driver: [u8; 32],
}

fn until_nul(b: &[u8]) -> &[u8] {
    let n = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    &b[..n]
}

impl VfFacts {
    /// The PCI slot name (`/sys/bus/pci/slots/<name>`), if the function sits
    /// in a slot.
    pub(crate) fn slot_name(&self) -> Option<&[u8]> {
        self.slot.as_ref().map(|s| until_nul(s))
    }

    /// Name of the parent device's driver (e.g. `mlx5_core`, `virtio_net`'s
    /// parent `virtio-pci`... as the kernel reports it).
    pub(crate) fn driver(&self) -> &[u8] {
        until_nul(&self.driver)
    }
}

/// A net_device of another driver, borrowed for the duration of a notifier
/// call.
#[repr(transparent)]
pub(crate) struct ForeignNetdev(Opaque<bindings::net_device>);

impl ForeignNetdev {
    /// # Safety
    ///
    /// `ptr` must point to a net_device that stays valid for `'a` (e.g. the
    /// device a netdev notifier is called for, during that call).
    pub(crate) unsafe fn from_raw<'a>(ptr: *mut bindings::net_device) -> &'a Self {
        // SAFETY: Transparent wrapper; validity guaranteed by the caller.
        unsafe { &*ptr.cast::<Self>() }
    }

    fn as_raw(&self) -> *mut bindings::net_device {
        self.0.get()
    }

    /// Copies out what failover decisions need.
    pub(crate) fn facts(&self) -> VfFacts {
        let mut f = bindings::hvn_vf_facts::default();
        // SAFETY: The device is valid (type invariant of the borrow) and `f`
        // is writable.
        unsafe { bindings::hvn_vf_facts(self.as_raw(), &mut f) };
        VfFacts {
            dev_type: f.dev_type,
            addr_len: f.addr_len,
            parent: match u32::from(f.parent) {
                bindings::hvn_vf_parent_HVN_VF_PARENT_PCI => Parent::Pci,
                bindings::hvn_vf_parent_HVN_VF_PARENT_VIRTIO_OVER_PCI => Parent::VirtioOverPci,
                bindings::hvn_vf_parent_HVN_VF_PARENT_NONE => Parent::None,
                _ => Parent::Other,
            },
            is_vlan: f.is_vlan,
            is_master: f.is_master,
            has_master: f.has_master,
            iff_slave: f.iff_slave,
            pci_vendor: f.pci_vendor,
            pci_device: f.pci_device,
            perm_addr: f.perm_addr,
            dev_addr: f.dev_addr,
            // The kernel's `c_char` is `u8`.
            slot: f.has_slot.then_some(f.slot_name),
            driver: f.driver,
        }
    }

    /// Marks the device a slave with no IPv6 autoconfiguration, before user
    /// space sees it (`NETDEV_POST_INIT`).
    pub(crate) fn prepare_slave(&self) {
        // SAFETY: Valid device; called under RTNL from the notifier, before
        // registration completes, as the C driver does.
        unsafe { bindings::hvn_vf_prepare(self.as_raw()) };
    }

    /// Takes a reference that keeps the device allocated.
    pub(crate) fn hold(&self) -> VfRef {
        // SAFETY: Valid device; the reference is released by `VfRef::drop`.
        unsafe { bindings::hvn_netdev_hold(self.as_raw()) };
        // INVARIANT: We just took a reference.
        VfRef(NonNull::from(&self.0).cast())
    }

    /// Whether `vf` refers to this very device.
    pub(crate) fn is(&self, vf: &VfRef) -> bool {
        core::ptr::eq(self.as_raw(), vf.0.as_ptr())
    }

    /// Its current name.
    pub(crate) fn name(&self) -> IfName {
        name_of(self.as_raw())
    }

    /// Logs `msg` on this device (`netdev_info`).
    pub(crate) fn info(&self, msg: &CStr) {
        // SAFETY: Valid device and NUL-terminated message.
        unsafe { bindings::hvn_netdev_info(self.as_raw(), msg.as_char_ptr()) };
    }

    /// Logs `msg` on this device (`netdev_notice`).
    pub(crate) fn notice(&self, msg: &CStr) {
        // SAFETY: Valid device and NUL-terminated message.
        unsafe { bindings::hvn_netdev_notice(self.as_raw(), msg.as_char_ptr()) };
    }
}

fn name_of(dev: *mut bindings::net_device) -> IfName {
    // SAFETY: Callers pass a valid device (a borrowed or held one).
    unsafe { IfName::read(dev) }
}

/// A held reference to another driver's net_device (an enslaved VF).
///
/// # Invariants
///
/// `0` points to a net_device on which this value holds one `dev_hold`
/// reference, released in `drop`.
pub(crate) struct VfRef(NonNull<bindings::net_device>);

// SAFETY: A held net_device reference may be used and released anywhere.
unsafe impl Send for VfRef {}
// SAFETY: The methods only read state the kernel keeps consistent itself.
unsafe impl Sync for VfRef {}

impl Clone for VfRef {
    fn clone(&self) -> Self {
        // SAFETY: The device is held (type invariant), so valid.
        unsafe { bindings::hvn_netdev_hold(self.0.as_ptr()) };
        // INVARIANT: We just took a reference.
        Self(self.0)
    }
}

impl Drop for VfRef {
    fn drop(&mut self) {
        // SAFETY: Releases the reference this value holds (type invariant).
        unsafe { bindings::hvn_netdev_put(self.0.as_ptr()) };
    }
}

/// Where a synthetic interface steers its transmissions: a VF, or nowhere.
/// The transmit path reads it without a lock, inside an RCU read-side
/// section; [`VfTxSlot::set`] changes it and waits for those readers
/// before it lets the old VF go.
///
/// # Invariants
///
/// `ptr` is null or a device on which this slot holds one `dev_hold`
/// reference (moved in from a [`VfRef`]), released only after a grace
/// period following its replacement.
pub(crate) struct VfTxSlot {
    ptr: core::sync::atomic::AtomicPtr<bindings::net_device>,
}

impl VfTxSlot {
    /// An empty slot.
    pub(crate) const fn new() -> Self {
        // INVARIANT: Null.
        Self {
            ptr: core::sync::atomic::AtomicPtr::new(core::ptr::null_mut()),
        }
    }

    /// Steers to `vf` (`None`: nowhere). Waits for a grace period before
    /// releasing the VF steered to before, so process context only.
    pub(crate) fn set(&self, vf: Option<VfRef>) {
        let new = match vf {
            Some(v) => {
                let p = v.0.as_ptr();
                // INVARIANT: The reference `v` held moves into the slot.
                core::mem::forget(v);
                p
            }
            None => core::ptr::null_mut(),
        };
        // Release: a reader that sees the pointer sees the device set up.
        let old = self.ptr.swap(new, core::sync::atomic::Ordering::AcqRel);
        if let Some(old) = NonNull::new(old) {
            // SAFETY: Process context (callers: the failover work and
            // remove, under RTNL or not); no lock of ours is held that a
            // reader would wait for.
            unsafe { bindings::synchronize_net() };
            // INVARIANT: No reader can see `old` any more; the reference
            // the slot held goes with this value.
            drop(VfRef(old));
        }
    }

    /// Calls `f` with the VF steered to, if any, inside an RCU read-side
    /// section (the transmit path: any context but hard interrupts).
    pub(crate) fn with<R>(&self, f: impl FnOnce(Option<&VfRef>) -> R) -> R {
        let _rcu = kernel::sync::rcu::read_lock();
        let p = self.ptr.load(core::sync::atomic::Ordering::Acquire);
        match NonNull::new(p) {
            Some(p) => {
                // Borrowed, not counted: `ManuallyDrop` keeps the slot's
                // reference from being put.
                // INVARIANT: The slot holds a reference on `p` until a grace
                // period after it is replaced, and we are inside a read-side
                // section, so `p` stays held while `vf` lives.
                let vf = core::mem::ManuallyDrop::new(VfRef(p));
                f(Some(&vf))
            }
            None => f(None),
        }
    }
}

impl Drop for VfTxSlot {
    fn drop(&mut self) {
        // Nobody can read the slot any more (`&mut self`).
        let p = *self.ptr.get_mut();
        if let Some(p) = NonNull::new(p) {
            // INVARIANT: The slot's own reference, given back once.
            drop(VfRef(p));
        }
    }
}

/// The receive-mode references (promiscuous, all-multicast) held on a VF
/// by [`VfRef::sync_rx`]; [`RxRefs::NONE`] before the first sync.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct RxRefs(u32);

impl RxRefs {
    /// No reference held.
    pub(crate) const NONE: Self = Self(0);
}

impl VfRef {
    /// Its current name.
    pub(crate) fn name(&self) -> IfName {
        name_of(self.0.as_ptr())
    }

    /// Whether it is up (`netif_running`).
    pub(crate) fn is_running(&self) -> bool {
        // SAFETY: Held, so valid (type invariant).
        unsafe { bindings::hvn_netdev_running(self.0.as_ptr()) }
    }

    /// Answers `out` with the VF's own link settings
    /// (`__ethtool_get_link_ksettings`, which takes the VF's instance lock
    /// if it has one): what upstream's eth0 reports while a VF is joined.
    /// Needs RTNL, as every `get_link_ksettings` call has.
    pub(crate) fn get_link_ksettings(&self, out: &mut LinkKsettings<'_>) -> Result {
        // SAFETY: The device is held (type invariant); `out.0` is a valid
        // settings struct we may write; RTNL is held by the caller.
        to_result(unsafe { bindings::__ethtool_get_link_ksettings(self.0.as_ptr(), out.0) })
    }

    /// Hands a `set_link_ksettings` request to the VF's own driver (under
    /// its instance lock, if it has one): what upstream's eth0 does while a
    /// VF is joined. `ENODEV` if the VF is detached (as the core answers
    /// for a device of its own), `EOPNOTSUPP` if its driver takes none. Needs
    /// RTNL, as every `set_link_ksettings` call has.
    pub(crate) fn set_link_ksettings(&self, req: &LinkKsettingsRequest<'_>) -> Result {
        // SAFETY: The device is held (type invariant); `req.cmd` is a valid
        // request, only read; RTNL is held by the caller.
        to_result(unsafe { bindings::hvn_vf_set_link_ksettings(self.0.as_ptr(), req.cmd) })
    }

    /// Whether it has carrier.
    pub(crate) fn carrier_ok(&self) -> bool {
        // SAFETY: Held, so valid (type invariant).
        unsafe { bindings::hvn_netdev_carrier_ok(self.0.as_ptr()) }
    }

    /// Enslaves it to `syn`: receive handler (frames go to `syn`, counted in
    /// `rx`), master upper-dev link, the VLAN ids of `syn`, `IFF_SLAVE`. Needs RTNL (the notifier).
    /// `rx` must stay alive until [`VfRef::leave`] returns.
    pub(crate) fn join<T: Operations>(&self, syn: &Device<T>, rx: &VfRx) -> Result {
        // SAFETY: Both devices are valid; the notifier holds RTNL; `rx`
        // outlives the registration by the caller's contract (leave first).
        to_result(unsafe { bindings::hvn_vf_join(self.0.as_ptr(), syn.as_raw(), rx.0.as_ptr()) })
    }

    /// Undoes [`VfRef::join`] (waits for receive handlers in flight) and
    /// [`VfRef::sync_rx`], whose last result is `rx`.
    pub(crate) fn leave<T: Operations>(&self, syn: &Device<T>, rx: RxRefs) {
        // SAFETY: Both devices are valid; RTNL held by the caller (notifier
        // or remove path); the handler was registered by `join`.
        unsafe { bindings::hvn_vf_leave(self.0.as_ptr(), syn.as_raw(), rx.0) };
    }

    /// Aligns the VF with `syn` (MTU, MAC address) and opens it if `syn` is
    /// up; [`VfRef::sync_rx`] does the receive mode. Needs RTNL.
    pub(crate) fn setup<T: Operations>(&self, syn: &Device<T>) {
        // SAFETY: Both devices valid; RTNL held by the caller.
        unsafe { bindings::hvn_vf_setup(self.0.as_ptr(), syn.as_raw()) };
    }

    /// Mirrors `syn`'s receive mode on the VF: promiscuous and
    /// all-multicast references (`held` says which ones we hold; the result
    /// says which ones we hold now) and the address lists. Needs RTNL.
    pub(crate) fn sync_rx<T: Operations>(&self, syn: &Device<T>, held: RxRefs) -> RxRefs {
        // SAFETY: Both devices valid; RTNL held by the caller (set_rx_mode
        // runs under it, as does the failover work).
        RxRefs(unsafe { bindings::hvn_vf_sync_rx(self.0.as_ptr(), syn.as_raw(), held.0) })
    }

    /// Moves the VF into `syn`'s network namespace if it is elsewhere
    /// (named `eth%d` there, `dev_change_net_namespace`): it is unregistered
    /// here and registered there, with the notifier called for both.
    /// Returns whether it moved. Needs RTNL; must not run inside a netdev
    /// notifier call (the core holds the device's instance lock there,
    /// which the move takes).
    pub(crate) fn follow_netns<T: Operations>(&self, syn: &Device<T>) -> Result<bool> {
        // SAFETY: Both devices valid; RTNL held by the caller (the failover
        // work), outside any notifier.
        let ret = unsafe { bindings::hvn_vf_follow_netns(self.0.as_ptr(), syn.as_raw()) };
        to_result(ret).map(|()| ret > 0)
    }

    /// Sets the VF's MAC address. Needs RTNL (our `ndo_set_mac_address`).
    pub(crate) fn set_mac(&self, mac: &MacAddr) -> Result {
        // SAFETY: Held device; RTNL held by the caller; `mac` has ETH_ALEN
        // bytes.
        to_result(unsafe { bindings::hvn_vf_set_mac(self.0.as_ptr(), mac.as_ptr()) })
    }

    /// Adds VLAN id `vid` (tag protocol `proto`) to the VF's receive
    /// filter, or removes it (`add` false). RTNL held: called from our
    /// `ndo_vlan_rx_add_vid`/`kill_vid`. [`VfRef::join`] gives it the ids
    /// `syn` has already, [`VfRef::leave`] takes them back.
    pub(crate) fn vlan_vid(&self, proto: u16, vid: u16, add: bool) -> Result {
        // SAFETY: Held device; RTNL held by the caller.
        to_result(unsafe { bindings::hvn_vf_vlan_vid(self.0.as_ptr(), proto, vid, add) })
    }

    /// Brings the VF up (RTNL held: called from our `ndo_open`).
    pub(crate) fn open(&self) -> Result {
        // SAFETY: Held device; RTNL held by the caller (ndo_open).
        to_result(unsafe { bindings::hvn_vf_open(self.0.as_ptr()) })
    }

    /// Sets the VF's MTU (RTNL held: called from our `ndo_change_mtu`).
    pub(crate) fn set_mtu(&self, mtu: u32) -> Result {
        // SAFETY: Held device; RTNL held by the caller (ndo_change_mtu).
        to_result(unsafe { bindings::hvn_vf_set_mtu(self.0.as_ptr(), mtu) })
    }

    /// Brings the VF down (RTNL held: called from our `ndo_stop`).
    pub(crate) fn close(&self) {
        // SAFETY: Held device; RTNL held by the caller (ndo_stop).
        unsafe { bindings::hvn_vf_close(self.0.as_ptr()) };
    }

    /// Transmits `skb` through the VF (`dev_queue_xmit`); the skb is
    /// consumed either way.
    pub(crate) fn xmit(&self, skb: SkBuff) -> Result {
        // SAFETY: The skb is ours to give away; the VF is held. Called from
        // our xmit (bottom halves off, interrupts on), as dev_queue_xmit
        // allows for stacked devices.
        to_result(unsafe { bindings::hvn_vf_xmit(skb.into_raw(), self.0.as_ptr()) })
    }
}

/// The VF receive handler's context: the synthetic device frames are handed
/// to, and the `vf_rx_*` counters.
///
/// # Invariants
///
/// `0` came from `hvn_vf_rx_alloc` and is freed only in `drop`.
pub(crate) struct VfRx(NonNull<bindings::hvn_vf_rx>);

// SAFETY: Plain memory with atomic counters.
unsafe impl Send for VfRx {}
// SAFETY: Counters are atomics.
unsafe impl Sync for VfRx {}

impl VfRx {
    /// A context handing frames to `syn`, which must outlive its use as a
    /// VF's receive handler (the VF leaves before `syn` is unregistered).
    pub(crate) fn new<T: Operations>(syn: &Device<T>) -> Result<Self> {
        // SAFETY: `syn` is a valid device.
        let p = unsafe { bindings::hvn_vf_rx_alloc(syn.as_raw()) };
        // INVARIANT: Allocated just now (or null: ENOMEM).
        Ok(Self(NonNull::new(p).ok_or(ENOMEM)?))
    }

    /// Packets and bytes received through the VF.
    pub(crate) fn stats(&self) -> (u64, u64) {
        let (mut p, mut b) = (0u64, 0u64);
        // SAFETY: Valid context (type invariant); outputs writable.
        unsafe { bindings::hvn_vf_rx_stats(self.0.as_ptr(), &mut p, &mut b) };
        (p, b)
    }
}

impl Drop for VfRx {
    fn drop(&mut self) {
        // SAFETY: Allocated by `hvn_vf_rx_alloc` (type invariant); no VF
        // uses it any more (`leave` ran, by `join`'s contract).
        unsafe { bindings::hvn_vf_rx_free(self.0.as_ptr()) };
    }
}

/// Logs `msg` on a registered device of ours (`netdev_info`).
pub(crate) fn info<T: Operations>(dev: &Device<T>, msg: &CStr) {
    // SAFETY: Valid device and NUL-terminated message.
    unsafe { bindings::hvn_netdev_info(dev.as_raw(), msg.as_char_ptr()) };
}

/// Logs `msg` on a registered device of ours (`netdev_warn`).
pub(crate) fn warn<T: Operations>(dev: &Device<T>, msg: &CStr) {
    // SAFETY: Valid device and NUL-terminated message.
    unsafe { bindings::hvn_netdev_warn(dev.as_raw(), msg.as_char_ptr()) };
}

/// The RTNL lock, held while this lives (process context; may sleep).
pub(crate) struct Rtnl(core::marker::PhantomData<*mut ()>);

impl Rtnl {
    /// Takes the RTNL lock.
    pub(crate) fn lock() -> Self {
        // SAFETY: Process context (the caller's contract: may sleep); the
        // lock is released by `drop` on the same task (not `Send`).
        unsafe { bindings::hvn_rtnl_lock() };
        Self(core::marker::PhantomData)
    }
}

impl Drop for Rtnl {
    fn drop(&mut self) {
        // SAFETY: Taken in `lock` by this task.
        unsafe { bindings::hvn_rtnl_unlock() };
    }
}

/// `enum netdev_cmd` values the failover glue handles.
pub(crate) const NETDEV_UP: u32 = bindings::netdev_cmd_NETDEV_UP;
pub(crate) const NETDEV_DOWN: u32 = bindings::netdev_cmd_NETDEV_DOWN;
pub(crate) const NETDEV_CHANGE: u32 = bindings::netdev_cmd_NETDEV_CHANGE;
pub(crate) const NETDEV_REGISTER: u32 = bindings::netdev_cmd_NETDEV_REGISTER;
pub(crate) const NETDEV_UNREGISTER: u32 = bindings::netdev_cmd_NETDEV_UNREGISTER;
pub(crate) const NETDEV_CHANGENAME: u32 = bindings::netdev_cmd_NETDEV_CHANGENAME;
pub(crate) const NETDEV_GOING_DOWN: u32 = bindings::netdev_cmd_NETDEV_GOING_DOWN;
pub(crate) const NETDEV_POST_INIT: u32 = bindings::netdev_cmd_NETDEV_POST_INIT;

/// Creates the failover workqueue and registers the netdev notifier that
/// feeds [`crate::failover::netdev_event`]. Module init only.
pub(crate) fn register_failover_notifier() -> Result {
    // SAFETY: Module init, process context; destroyed at exit.
    to_result(unsafe { bindings::hvn_failover_wq_create() })?;
    // SAFETY: Registers a static notifier block (C side); process context.
    let registered = to_result(unsafe { bindings::hvn_failover_notifier_register() });
    if registered.is_err() {
        // SAFETY: Created above, nothing queued yet.
        unsafe { bindings::hvn_failover_wq_destroy() };
    }
    registered
}

/// Unregisters the notifier (no call runs after this returns), then drains
/// and destroys the workqueue. Module exit, after every device is gone.
pub(crate) fn unregister_failover_notifier() {
    // SAFETY: Registered by `register_failover_notifier` at module init.
    unsafe { bindings::hvn_failover_notifier_unregister() };
    // SAFETY: Created at init; items still queued run to completion first.
    unsafe { bindings::hvn_failover_wq_destroy() };
}

/// Reports every existing net device to the notifier as just registered,
/// so that a VF present before a synthetic NIC is paired with it.
pub(crate) fn replay_registered(_rtnl: &Rtnl) {
    // SAFETY: RTNL is held (the guard proves it), as the device walk needs.
    unsafe { bindings::hvn_failover_replay() };
}

/// The module's failover workqueue.
pub(crate) fn failover_queue() -> &'static kernel::workqueue::Queue {
    // SAFETY: Created at module init before any device exists and destroyed
    // at module exit after every device is gone, so valid whenever a device
    // queues work on it.
    unsafe { kernel::workqueue::Queue::from_raw(bindings::hvn_failover_wq().cast()) }
}

/// The notifier's Rust side (called by the C notifier block).
///
/// # Safety
///
/// `dev` is the net_device the notifier is called for, valid for the call.
#[no_mangle]
unsafe extern "C" fn hvn_rs_netdev_event(
    event: ffi::c_ulong,
    dev: *mut bindings::net_device,
) -> ffi::c_int {
    if !dev.is_null() {
        if let Ok(event) = u32::try_from(event) {
            // SAFETY: Valid for the duration of the call (notifier contract).
            crate::failover::netdev_event(event, unsafe { ForeignNetdev::from_raw(dev) });
        }
    }
    bindings::NOTIFY_DONE as ffi::c_int
}

impl ForeignNetdev {
    /// Whether it lives in the network namespace of `dev`, a device of ours.
    pub(crate) fn same_netns<T: Operations>(&self, dev: &Device<T>) -> bool {
        // SAFETY: Both devices are valid (the borrow's invariant, and a
        // registered device of ours); the notifier holds RTNL, under which
        // neither can change namespace.
        unsafe { bindings::hvn_netdev_same_netns(self.as_raw(), dev.as_raw()) }
    }

    /// Whether this is `dev`, a device of ours.
    pub(crate) fn is_device<T: Operations>(&self, dev: &Device<T>) -> bool {
        core::ptr::eq(self.as_raw(), dev.as_raw())
    }
}

impl VfRef {
    /// The held device as a notifier call sees it.
    pub(crate) fn as_foreign(&self) -> &ForeignNetdev {
        // SAFETY: The device is held (type invariant), so it stays valid
        // while `self` is borrowed.
        unsafe { ForeignNetdev::from_raw(self.0.as_ptr()) }
    }

    /// Logs `msg` on the VF (`netdev_info`).
    pub(crate) fn info(&self, msg: &CStr) {
        // SAFETY: Held device, NUL-terminated message.
        unsafe { bindings::hvn_netdev_info(self.0.as_ptr(), msg.as_char_ptr()) };
    }
}

/// Logs `msg` on a registered device of ours (`netdev_notice`).
pub(crate) fn notice<T: Operations>(dev: &Device<T>, msg: &CStr) {
    // SAFETY: Valid device and NUL-terminated message.
    unsafe { bindings::hvn_netdev_notice(dev.as_raw(), msg.as_char_ptr()) };
}

/// What a [`Timer`] calls when it fires, on the failover workqueue
/// (process context). An owner with several timers tells them apart by
/// `ID`, one implementation each.
pub(crate) trait TimerHandler<const ID: u8>: Send + Sync {
    /// The timer fired.
    fn fired(&self);
}

/// A one-shot timer owned by a `T`, calling `T`'s `TimerHandler<ID>::fired`
/// on the failover workqueue.
///
/// # Invariants
///
/// `t` came from `hvn_timer_alloc` with `owner` as context and
/// `trampoline::<T, ID>` as callback; `owner` outlives this value (it owns it), and the callback
/// cannot run once `drop` (or `cancel_sync`) returned.
pub(crate) struct Timer<T: TimerHandler<ID>, const ID: u8> {
    t: NonNull<bindings::hvn_timer>,
    // Refers to a `T` without owning one (and stays `Unpin`).
    _p: core::marker::PhantomData<fn(&T)>,
}

// SAFETY: The C timer may be armed, cancelled and freed from any thread.
unsafe impl<T: TimerHandler<ID>, const ID: u8> Send for Timer<T, ID> {}
// SAFETY: Arming and cancelling are serialised by the workqueue code.
unsafe impl<T: TimerHandler<ID>, const ID: u8> Sync for Timer<T, ID> {}

/// The C timer's callback.
///
/// # Safety
///
/// `ctx` is the owner given to [`Timer::new`], alive while the timer exists.
unsafe extern "C" fn trampoline<T: TimerHandler<ID>, const ID: u8>(ctx: *mut ffi::c_void) {
    // SAFETY: `ctx` is the owner given to `Timer::new`, which outlives the
    // timer, and the callback only runs while the timer exists.
    let owner = unsafe { &*ctx.cast::<T>() };
    TimerHandler::<ID>::fired(owner);
}

impl<T: TimerHandler<ID>, const ID: u8> Timer<T, ID> {
    /// A timer for `owner`.
    ///
    /// # Safety
    ///
    /// `owner` must not move and must outlive the returned timer (e.g. the
    /// timer is a field of the pinned `owner`, or `owner` drops it first).
    pub(crate) unsafe fn new(owner: *const T) -> Result<Self> {
        // SAFETY: The callback and context stay valid for the timer's life
        // (the caller's contract).
        let t = unsafe {
            bindings::hvn_timer_alloc(Some(trampoline::<T, ID>), owner.cast_mut().cast())
        };
        // INVARIANT: Allocated with `owner` and `trampoline::<T, ID>`.
        Ok(Self {
            t: NonNull::new(t).ok_or(ENOMEM)?,
            _p: core::marker::PhantomData,
        })
    }

    /// (Re)arms the timer to fire in `ms` milliseconds.
    pub(crate) fn arm(&self, ms: u32) {
        // SAFETY: Valid timer (type invariant).
        unsafe { bindings::hvn_timer_arm(self.t.as_ptr(), ms) };
    }

    /// Cancels it and waits for a running callback. Must not be called
    /// from the callback itself.
    pub(crate) fn cancel_sync(&self) {
        // SAFETY: Valid timer (type invariant).
        unsafe { bindings::hvn_timer_cancel_sync(self.t.as_ptr()) };
    }
}

impl<T: TimerHandler<ID>, const ID: u8> Drop for Timer<T, ID> {
    fn drop(&mut self) {
        // SAFETY: Allocated by `hvn_timer_alloc` (type invariant); cancelled
        // and freed once.
        unsafe { bindings::hvn_timer_free(self.t.as_ptr()) };
    }
}
