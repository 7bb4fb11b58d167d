// SPDX-License-Identifier: GPL-2.0

//! Ethernet `net_device`s: the [`Operations`] a driver implements, the
//! [`Registration`] that owns a device and the [`Device`] handle its
//! callbacks get.
//!
//! C headers: [`include/linux/netdevice.h`](srctree/include/linux/netdevice.h),
//! [`include/linux/etherdevice.h`](srctree/include/linux/etherdevice.h),
//! [`include/linux/ethtool.h`](srctree/include/linux/ethtool.h).

use super::{
    ethtool::{
        copy_cstr, Channels, DrvInfo, LinkKsettings, LinkKsettingsRequest, RingParam,
        ETH_GSTRING_LEN,
    },
    napi::{NapiCtl, NapiPoll, NapiSlot},
    skb::SkBuff,
    stats::{QueueStats, Stats64},
};
use crate::bindings;
use core::{marker::PhantomData, ptr::NonNull};
use kernel::{
    error::{from_result, VTABLE_DEFAULT_ERROR},
    ffi, new_mutex,
    prelude::*,
    sync::Mutex,
    types::Opaque,
};

/// Length of an Ethernet (MAC) address.
pub(crate) const ETH_ALEN: usize = bindings::ETH_ALEN as usize;

/// An Ethernet (MAC) address.
pub(crate) type MacAddr = [u8; ETH_ALEN];

/// The standard Ethernet MTU.
pub(crate) const ETH_DATA_LEN: u32 = bindings::ETH_DATA_LEN;

/// The smallest MTU IPv4 works with (`ETH_MIN_MTU`).
pub(crate) const ETH_MIN_MTU: u32 = 68;

/// Maximum length of an interface alias (`IFALIASZ`), NUL excluded.
pub(crate) const IFALIAS_MAX: usize = bindings::IFALIASZ as usize - 1;

/// What [`Operations::start_xmit`] did with a buffer.
pub(crate) enum NetdevTx {
    /// The buffer was taken (sent, queued for completion, or dropped).
    Ok,
    /// No room: the buffer is handed back and the stack requeues it
    /// (`NETDEV_TX_BUSY`). The driver should stop the queue first, or the
    /// stack retries at once.
    Busy(SkBuff),
}

/// Receive filter state passed to [`Operations::set_rx_mode`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct RxMode {
    /// Receive all frames (`IFF_PROMISC`).
    pub(crate) promisc: bool,
    /// Receive all multicast frames (`IFF_ALLMULTI`).
    pub(crate) allmulti: bool,
    /// Receive broadcast frames (`IFF_BROADCAST`).
    pub(crate) broadcast: bool,
    /// The multicast address list is not empty: groups are joined.
    pub(crate) multicast_addrs: bool,
}

impl RxMode {
    fn new(flags: u32, mc_count: u32) -> Self {
        Self {
            promisc: flags & bindings::net_device_flags_IFF_PROMISC != 0,
            allmulti: flags & bindings::net_device_flags_IFF_ALLMULTI != 0,
            broadcast: flags & bindings::net_device_flags_IFF_BROADCAST != 0,
            multicast_addrs: mc_count != 0,
        }
    }
}

/// A set of `NETIF_F_*` device features.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Features(u64);

impl Features {
    /// Scatter/gather I/O.
    pub(crate) const SG: Self = Self::bit(bindings::NETIF_F_SG_BIT);
    /// IPv4 TCP/UDP checksum offload.
    pub(crate) const IP_CSUM: Self = Self::bit(bindings::NETIF_F_IP_CSUM_BIT);
    /// IPv6 TCP/UDP checksum offload.
    pub(crate) const IPV6_CSUM: Self = Self::bit(bindings::NETIF_F_IPV6_CSUM_BIT);
    /// Checksum offload for any protocol.
    pub(crate) const HW_CSUM: Self = Self::bit(bindings::NETIF_F_HW_CSUM_BIT);
    /// TCP segmentation offload (IPv4).
    pub(crate) const TSO: Self = Self::bit(bindings::NETIF_F_TSO_BIT);
    /// TCP segmentation offload (IPv6).
    pub(crate) const TSO6: Self = Self::bit(bindings::NETIF_F_TSO6_BIT);
    /// Receive checksum offload.
    pub(crate) const RXCSUM: Self = Self::bit(bindings::NETIF_F_RXCSUM_BIT);
    /// Receive hashing.
    pub(crate) const RXHASH: Self = Self::bit(bindings::NETIF_F_RXHASH_BIT);
    /// Hardware VLAN tag insertion.
    pub(crate) const HW_VLAN_CTAG_TX: Self = Self::bit(bindings::NETIF_F_HW_VLAN_CTAG_TX_BIT);
    /// Hardware VLAN tag stripping.
    pub(crate) const HW_VLAN_CTAG_RX: Self = Self::bit(bindings::NETIF_F_HW_VLAN_CTAG_RX_BIT);
    /// Receive filtering by VLAN id ([`Operations::vlan_rx_add_vid`]).
    pub(crate) const HW_VLAN_CTAG_FILTER: Self =
        Self::bit(bindings::NETIF_F_HW_VLAN_CTAG_FILTER_BIT);

    const fn bit(bit: u32) -> Self {
        Self(1u64 << bit)
    }

    /// No features.
    pub(crate) const fn empty() -> Self {
        Self(0)
    }

    /// The raw `netdev_features_t` bits.
    pub(crate) const fn bits(self) -> u64 {
        self.0
    }

    /// The features in `self` or `other`.
    pub(crate) const fn union(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }

    /// Whether every feature in `other` is in `self`.
    pub(crate) const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }
}

impl core::ops::BitOr for Features {
    type Output = Self;

    fn bitor(self, rhs: Self) -> Self {
        Self(self.0 | rhs.0)
    }
}

/// The operations of an Ethernet device whose private state is `Self`.
///
/// Every callback gets the [`Device`] it is called for; `dev.data()` is the
/// driver's state. Optional operations left out are not installed, so the
/// kernel reports them as not supported (`-EOPNOTSUPP`) or applies its own
/// default, as noted per method.
///
/// Contexts: callbacks marked "may sleep" run in process context with the
/// RTNL lock held; the others run in atomic context and must not sleep.
/// No callback runs before [`Registration::new`] registered the device, and
/// none runs any more once dropping the [`Registration`] has unregistered it.
#[vtable]
pub(crate) trait Operations: Sized + Send + Sync {
    /// Names of the `ethtool -S` statistics, in the order in which
    /// [`Operations::get_ethtool_stats`] fills them. Names are truncated to
    /// 31 bytes. Empty (the default): no `ethtool -S` support.
    const ETHTOOL_STATS: &'static [&'static CStr] = &[];

    /// The interface is being brought up (`ndo_open`). May sleep.
    /// Left out: bringing up always succeeds.
    fn open(_dev: &Device<Self>) -> Result {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// The interface is being brought down (`ndo_stop`). May sleep.
    /// Errors are logged by the core, which brings the device down anyway.
    /// Left out: nothing to do.
    fn stop(_dev: &Device<Self>) -> Result {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Transmits `skb` (`ndo_start_xmit`), on queue `skb.queue_mapping()`.
    /// Atomic context (bottom halves off, the queue's transmit lock held).
    fn start_xmit(dev: &Device<Self>, skb: SkBuff) -> NetdevTx;

    /// Reports the interface statistics (`ndo_get_stats64`). Any context,
    /// may run concurrently with everything else: must not sleep.
    /// Left out: the core's software counters are reported.
    fn get_stats64(_dev: &Device<Self>, _stats: &mut Stats64) {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Counters of queue pair `queue`, (receive, transmit), for the netdev
    /// family's per-queue statistics (`qstats-get`, `netdev_stat_ops`).
    /// With [`Operations::get_base_stats`] they add up to what
    /// [`Operations::get_stats64`] reports. Process context (RTNL or the
    /// instance lock held). Left out: the device reports no queue
    /// statistics.
    fn get_queue_stats(_dev: &Device<Self>, _queue: u32) -> (QueueStats, QueueStats) {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// What the device counted outside its queues, (receive, transmit)
    /// (`get_base_stats`). Only used together with
    /// [`Operations::get_queue_stats`].
    fn get_base_stats(_dev: &Device<Self>) -> (QueueStats, QueueStats) {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Accepts a new MTU, already checked against the configured range
    /// (`ndo_change_mtu`). On success the layer stores it. May sleep.
    /// Left out: the core just stores it.
    fn change_mtu(_dev: &Device<Self>, _new_mtu: u32) -> Result {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Accepts a new MAC address, already checked to be a valid unicast
    /// address (`ndo_set_mac_address`). On success the layer stores it.
    /// May sleep. Left out: changing the address is not supported.
    fn set_mac_address(_dev: &Device<Self>, _addr: &MacAddr) -> Result {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Applies the receive filter (`ndo_set_rx_mode_async`): called from the
    /// core's work item, in process context with the RTNL lock held, so it
    /// may sleep (e.g. wait for the host). An error makes the core retry
    /// later. Left out: the filter is not programmed.
    fn set_rx_mode(_dev: &Device<Self>, _mode: RxMode) -> Result {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// A VLAN device with id `vid` (tag protocol `proto`, an ethertype)
    /// was put on top (`ndo_vlan_rx_add_vid`; only called with
    /// [`Features::HW_VLAN_CTAG_FILTER`]): frames tagged with it must be
    /// received. May sleep (RTNL held). An error refuses the VLAN device.
    fn vlan_rx_add_vid(_dev: &Device<Self>, _proto: u16, _vid: u16) -> Result {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// The last VLAN device with id `vid` went away
    /// (`ndo_vlan_rx_kill_vid`). May sleep (RTNL held).
    fn vlan_rx_kill_vid(_dev: &Device<Self>, _proto: u16, _vid: u16) -> Result {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// NAPI poll of receive queue `napi.queue()`, in softirq context.
    /// Returns the number of packets processed (at most `napi.budget()`);
    /// call [`NapiPoll::complete_done`] when that is less than the budget.
    /// Required when [`Config::napi_queues`] is not zero.
    fn poll(_dev: &Device<Self>, _napi: &mut NapiPoll<'_>) -> u32 {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Fills `ethtool -i` (`get_drvinfo`): set at least the driver name.
    /// May sleep. Left out: the core reports the parent device's driver.
    fn get_drvinfo(_dev: &Device<Self>, _info: &mut DrvInfo<'_>) {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Link state for ethtool (`get_link`). May sleep.
    fn get_link(_dev: &Device<Self>) -> bool {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Fills the `ethtool -S` values, one per entry of
    /// [`Operations::ETHTOOL_STATS`] (`data` has exactly that length and
    /// starts zeroed). May sleep. Left out: all values read zero.
    fn get_ethtool_stats(_dev: &Device<Self>, _data: &mut [u64]) {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Channel counts for `ethtool -l` (`get_channels`). May sleep.
    fn get_channels(_dev: &Device<Self>) -> Channels {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Changes the channel counts, already checked by the core against the
    /// maxima from [`Operations::get_channels`] (`set_channels`). May sleep.
    fn set_channels(_dev: &Device<Self>, _channels: &Channels) -> Result {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Ring sizes for `ethtool -g` (`get_ringparam`). May sleep.
    fn get_ringparam(_dev: &Device<Self>) -> RingParam {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Speed and duplex for `ethtool <dev>` and sysfs
    /// (`get_link_ksettings`), written to `out`. May sleep (RTNL held).
    /// An error is the answer (sysfs `speed` then reads `EINVAL`). Left
    /// out: ethtool reports the settings as not supported.
    fn get_link_ksettings(_dev: &Device<Self>, _out: &mut LinkKsettings<'_>) -> Result {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Takes link settings set by the user (`set_link_ksettings`): as a
    /// virtual device ([`LinkKsettingsRequest::virtual_settings`]) or by
    /// handing the request on. May sleep (RTNL held). Only used together
    /// with [`Operations::get_link_ksettings`].
    fn set_link_ksettings(_dev: &Device<Self>, _req: &LinkKsettingsRequest<'_>) -> Result {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// The text of read-only attribute `attr` in
    /// `/sys/class/net/<dev>/hv_netvsc/` (a newline is appended). Process
    /// context, may sleep, RTNL not held. Left out: no such directory.
    /// Only [`AttrDevice`] may implement it (see `hvn_rs_attr_show`).
    fn attr_show(_dev: &Device<Self>, _attr: Attr) -> &'static CStr {
        build_error!(VTABLE_DEFAULT_ERROR)
    }
}

/// The read-only attributes of `/sys/class/net/<dev>/hv_netvsc/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Attr {
    /// `data_path`: where the interface's packets go ("synthetic", "vf").
    DataPath,
}

impl Attr {
    fn from_raw(n: ffi::c_int) -> Option<Self> {
        match u32::try_from(n).ok()? {
            bindings::HVN_ATTR_DATA_PATH => Some(Self::DataPath),
            _ => None,
        }
    }
}

/// The one device type that carries the attribute group: the C `show`
/// functions cannot name a Rust type, so `hvn_rs_attr_show` is written for
/// this one and checks each device against it.
pub(crate) type AttrDevice = crate::netvsc::NetvscNic;

/// `show` of every attribute in the group: the text for `attr` of `dev`,
/// or null when `dev` is not an [`AttrDevice`] or `attr` is unknown.
///
/// # Safety
///
/// `dev` is a registered `net_device` for the duration of the call (sysfs
/// calls `show` only between registration and unregistration).
#[no_mangle]
unsafe extern "C" fn hvn_rs_attr_show(
    dev: *mut bindings::net_device,
    attr: ffi::c_int,
) -> *const ffi::c_char {
    let Some(attr) = Attr::from_raw(attr) else {
        return core::ptr::null();
    };
    // SAFETY: `dev` is live for the call (caller contract).
    let ops = unsafe { bindings::hvn_netdev_ops_of(dev) };
    if !core::ptr::eq(ops, Adapter::<AttrDevice>::netdev_ops()) {
        return core::ptr::null();
    }
    // SAFETY: Only `Registration::<AttrDevice>::new` installs these ops, so
    // the device was set up by one; sysfs removes the group while
    // unregistering (waiting for running `show`s), before the registration
    // drops the private state.
    let dev = unsafe { Device::<AttrDevice>::from_raw(dev) };
    AttrDevice::attr_show(dev, attr).as_char_ptr()
}

/// What lives in the `net_device` private area: the driver's state and the
/// NAPI contexts the registration manages.
#[pin_data]
struct NetPriv<T> {
    /// Serialises enabling and disabling of the NAPI contexts.
    #[pin]
    napi_ctl: Mutex<NapiCtl>,
    /// One NAPI context per polled receive queue; never resized.
    napis: KVec<NapiSlot>,
    #[pin]
    data: T,
}

/// A handle to a registered Ethernet device whose private state is `T`.
///
/// Callbacks get a `&Device<T>`; [`Registration::device`] lends one too.
///
/// # Invariants
///
/// For the lifetime of any `&Device<T>`, the wrapped `net_device` was set up
/// by a [`Registration<T>`] that still exists: the device is allocated, its
/// private area holds an initialised `NetPriv<T>` and its NAPI contexts are
/// added.
#[repr(transparent)]
pub(crate) struct Device<T>(Opaque<bindings::net_device>, PhantomData<T>);

// SAFETY: The device may be used from any thread; all methods go through C
// functions that are safe to call concurrently, or through `T`, which is
// `Sync` (an `Operations` bound).
unsafe impl<T: Operations> Sync for Device<T> {}

// SAFETY: As above; `Device` is only ever used by reference.
unsafe impl<T: Operations> Send for Device<T> {}

/// A copy of an interface name (`IFNAMSIZ` bytes, NUL-terminated).
pub(crate) struct IfName([u8; bindings::IFNAMSIZ as usize]);

impl IfName {
    /// The name as a C string.
    pub(crate) fn as_cstr(&self) -> &CStr {
        CStr::from_bytes_until_nul(&self.0).unwrap_or(c"")
    }

    /// The name as bytes, without the NUL.
    pub(crate) fn as_bytes(&self) -> &[u8] {
        self.as_cstr().to_bytes()
    }

    /// Copies the current name of `dev`.
    ///
    /// # Safety
    ///
    /// `dev` must point to a live `net_device`.
    pub(super) unsafe fn read(dev: *mut bindings::net_device) -> Self {
        let mut name = IfName([0; bindings::IFNAMSIZ as usize]);
        // SAFETY: `dev` is live (the caller's contract); the buffer has
        // `IFNAMSIZ` bytes.
        unsafe { bindings::hvn_netdev_get_name(dev, name.0.as_mut_ptr().cast()) };
        name
    }
}

impl<T: Operations> Device<T> {
    /// Creates a reference from a raw `net_device`.
    ///
    /// # Safety
    ///
    /// `ptr` must be a device set up by a [`Registration<T>`] that outlives
    /// `'a` (see the type invariants).
    unsafe fn from_raw<'a>(ptr: *mut bindings::net_device) -> &'a Self {
        // SAFETY: `Device<T>` is a transparent wrapper of `net_device`; the
        // caller guarantees validity for `'a`.
        unsafe { &*ptr.cast::<Self>() }
    }

    pub(super) fn as_raw(&self) -> *mut bindings::net_device {
        self.0.get()
    }

    fn net_priv(&self) -> &NetPriv<T> {
        // SAFETY: The device is live (type invariant).
        let p = unsafe { bindings::hvn_netdev_priv(self.as_raw()) };
        // SAFETY: The private area holds an initialised `NetPriv<T>` that
        // lives as long as the registration, hence as long as `&self` (type
        // invariant); it is only shared, never mutably borrowed.
        unsafe { &*p.cast::<NetPriv<T>>() }
    }

    /// The driver's private state.
    pub(crate) fn data(&self) -> &T {
        &self.net_priv().data
    }

    /// The interface name (e.g. `eth0`), as it is now.
    pub(crate) fn name(&self) -> IfName {
        // SAFETY: The device is live (type invariant).
        unsafe { IfName::read(self.as_raw()) }
    }

    /// The current MTU.
    pub(crate) fn mtu(&self) -> u32 {
        // SAFETY: The device is live (type invariant).
        unsafe { bindings::hvn_netdev_mtu(self.as_raw()) }
    }

    /// The current MAC address.
    pub(crate) fn mac(&self) -> MacAddr {
        let mut addr = [0u8; ETH_ALEN];
        // SAFETY: The device is live; `addr` has `ETH_ALEN` bytes.
        unsafe { bindings::hvn_netdev_get_addr(self.as_raw(), addr.as_mut_ptr()) };
        addr
    }

    /// Replaces the features within `mask` that the device offers by
    /// `offered` (and sets the largest TSO send): withdrawn ones are turned
    /// off, newly offered ones on (as on a new device), the others stay as
    /// the user set them; VLAN devices on top inherit `offered`.
    /// The caller holds the RTNL lock (as in `ndo_change_mtu`).
    pub(crate) fn update_offloads(&self, mask: Features, offered: Features, tso_max: Option<u32>) {
        // SAFETY: The device is live and registered (type invariant); the
        // caller holds the RTNL lock, which the helper asserts.
        unsafe {
            bindings::hvn_netdev_update_offloads(
                self.as_raw(),
                mask.bits(),
                offered.bits(),
                tso_max.unwrap_or(0),
            )
        }
    }

    /// The features enabled now (`dev->features`).
    pub(crate) fn features(&self) -> Features {
        // SAFETY: The device is live (type invariant).
        Features(unsafe { bindings::hvn_netdev_features(self.as_raw()) })
    }

    /// Whether the interface is up (`netif_running`).
    pub(crate) fn is_running(&self) -> bool {
        // SAFETY: The device is live (type invariant).
        unsafe { bindings::hvn_netif_running(self.as_raw()) }
    }

    /// Reports the link as up (`netif_carrier_on`). Any context.
    pub(crate) fn carrier_on(&self) {
        // SAFETY: The device is live and registered (type invariant).
        unsafe { bindings::netif_carrier_on(self.as_raw()) };
    }

    /// Reports the link as down (`netif_carrier_off`). Any context.
    pub(crate) fn carrier_off(&self) {
        // SAFETY: The device is live and registered (type invariant).
        unsafe { bindings::netif_carrier_off(self.as_raw()) };
    }

    /// Whether the link is reported up (`netif_carrier_ok`).
    pub(crate) fn carrier_ok(&self) -> bool {
        // SAFETY: The device is live (type invariant).
        unsafe { bindings::hvn_netif_carrier_ok(self.as_raw()) }
    }

    /// Number of transmit queues allocated.
    pub(crate) fn num_tx_queues(&self) -> u32 {
        // SAFETY: The device is live (type invariant).
        unsafe { bindings::hvn_netdev_num_tx_queues(self.as_raw()) }
    }

    fn txq_valid(&self, queue: u16) -> bool {
        u32::from(queue) < self.num_tx_queues()
    }

    /// Allows transmission on every queue (`netif_tx_start_all_queues`).
    pub(crate) fn start_all_queues(&self) {
        // SAFETY: The device is live (type invariant).
        unsafe { bindings::hvn_netif_tx_start_all_queues(self.as_raw()) };
    }

    /// Stops transmission on every queue (`netif_tx_stop_all_queues`).
    pub(crate) fn stop_all_queues(&self) {
        // SAFETY: The device is live (type invariant).
        unsafe { bindings::hvn_netif_tx_stop_all_queues(self.as_raw()) };
    }

    /// Stops transmission on every queue and waits for transmissions in
    /// progress on other CPUs to finish (`netif_tx_disable`). May not be
    /// called from the transmit path.
    pub(crate) fn tx_disable(&self) {
        // SAFETY: The device is live (type invariant).
        unsafe { bindings::hvn_netif_tx_disable(self.as_raw()) };
    }

    /// The receive mode the interface's flags ask for now.
    pub(crate) fn rx_mode(&self) -> RxMode {
        // SAFETY: The device is live (type invariant).
        let flags = unsafe { bindings::hvn_netdev_flags(self.as_raw()) };
        // SAFETY: As above; the count is read once, a snapshot.
        let mc = unsafe { bindings::hvn_netdev_mc_count(self.as_raw()) };
        RxMode::new(flags, mc)
    }

    /// Restarts transmission on every queue and kicks the scheduler
    /// (`netif_tx_wake_all_queues`).
    pub(crate) fn wake_all_queues(&self) {
        // SAFETY: The device is live (type invariant).
        unsafe { bindings::hvn_netif_tx_wake_all_queues(self.as_raw()) };
    }

    /// Allows transmission on queue 0 (`netif_start_queue`).
    pub(crate) fn start_queue(&self) {
        self.start_subqueue(0);
    }

    /// Stops transmission on queue 0 (`netif_stop_queue`).
    pub(crate) fn stop_queue(&self) {
        self.stop_subqueue(0);
    }

    /// Restarts transmission on queue 0 (`netif_wake_queue`).
    pub(crate) fn wake_queue(&self) {
        self.wake_subqueue(0);
    }

    /// Allows transmission on `queue` (`netif_start_subqueue`). Does nothing
    /// for a queue that does not exist.
    pub(crate) fn start_subqueue(&self, queue: u16) {
        if self.txq_valid(queue) {
            // SAFETY: The device is live and `queue` is one of its queues.
            unsafe { bindings::hvn_netif_start_subqueue(self.as_raw(), queue) };
        }
    }

    /// Stops transmission on `queue` (`netif_stop_subqueue`). Does nothing
    /// for a queue that does not exist.
    pub(crate) fn stop_subqueue(&self, queue: u16) {
        if self.txq_valid(queue) {
            // SAFETY: The device is live and `queue` is one of its queues.
            unsafe { bindings::hvn_netif_stop_subqueue(self.as_raw(), queue) };
        }
    }

    /// Restarts transmission on `queue` (`netif_wake_subqueue`). Does
    /// nothing for a queue that does not exist.
    pub(crate) fn wake_subqueue(&self, queue: u16) {
        if self.txq_valid(queue) {
            // SAFETY: The device is live and `queue` is one of its queues.
            unsafe { bindings::hvn_netif_wake_subqueue(self.as_raw(), queue) };
        }
    }

    /// Whether transmission on `queue` is stopped
    /// (`__netif_subqueue_stopped`). `None` for a queue that does not exist.
    pub(crate) fn subqueue_stopped(&self, queue: u16) -> Option<bool> {
        if !self.txq_valid(queue) {
            return None;
        }
        // SAFETY: The device is live and `queue` is one of its queues.
        Some(unsafe { bindings::hvn_netif_subqueue_stopped(self.as_raw(), queue) })
    }

    /// Whether transmission on queue 0 is stopped (`netif_queue_stopped`).
    pub(crate) fn queue_stopped(&self) -> bool {
        self.subqueue_stopped(0).unwrap_or(true)
    }

    /// Sets the interface alias (`ifalias`, `dev_set_alias`); an empty
    /// alias removes it. At most [`IFALIAS_MAX`] bytes, else `EINVAL`.
    /// May sleep.
    pub(crate) fn set_alias(&self, alias: &[u8]) -> Result {
        if alias.len() > IFALIAS_MAX {
            return Err(EINVAL);
        }
        // SAFETY: The device is live; `alias` is valid for `alias.len()`
        // bytes, which `dev_set_alias` copies.
        let ret =
            unsafe { bindings::dev_set_alias(self.as_raw(), alias.as_ptr().cast(), alias.len()) };
        if ret < 0 {
            return Err(Error::from_errno(ret));
        }
        Ok(())
    }

    /// Number of NAPI contexts (see [`Config::napi_queues`]).
    pub(crate) fn napi_count(&self) -> u16 {
        // The vector was built from a `u16` count.
        u16::try_from(self.net_priv().napis.len()).unwrap_or(u16::MAX)
    }

    /// Enables NAPI context `queue` (`napi_enable`); enabling an enabled
    /// context does nothing. `EINVAL` for a context that does not exist,
    /// `ENODEV` once the registration is being dropped. May sleep.
    pub(crate) fn napi_enable(&self, queue: u16) -> Result {
        let p = self.net_priv();
        let i = usize::from(queue);
        let slot = p.napis.get(i).ok_or(EINVAL)?;
        let mut ctl = p.napi_ctl.lock();
        if ctl.dead {
            return Err(ENODEV);
        }
        if ctl.enabled[i] {
            return Ok(());
        }
        // SAFETY: The context was added (type invariant) and is disabled:
        // the mutex serialises every enable and disable, and `enabled[i]`
        // records its state.
        unsafe { bindings::napi_enable(slot.napi.get()) };
        ctl.enabled[i] = true;
        Ok(())
    }

    /// Disables NAPI context `queue`, waiting for a running poll to finish
    /// (`napi_disable`); disabling a disabled context does nothing. `EINVAL`
    /// for a context that does not exist. May sleep.
    pub(crate) fn napi_disable(&self, queue: u16) -> Result {
        let p = self.net_priv();
        let i = usize::from(queue);
        let slot = p.napis.get(i).ok_or(EINVAL)?;
        let mut ctl = p.napi_ctl.lock();
        if ctl.enabled[i] {
            // SAFETY: The context was added and is enabled (see
            // `napi_enable`).
            unsafe { bindings::napi_disable(slot.napi.get()) };
            ctl.enabled[i] = false;
        }
        Ok(())
    }

    /// Schedules a poll of NAPI context `queue` (`napi_schedule`), from any
    /// context. Returns whether it was scheduled now (not if disabled,
    /// already scheduled, or if the context does not exist).
    pub(crate) fn napi_schedule(&self, queue: u16) -> bool {
        match self.net_priv().napis.get(usize::from(queue)) {
            // SAFETY: The context was added (type invariant); scheduling a
            // disabled context is a no-op.
            Some(slot) => unsafe { bindings::hvn_napi_schedule(slot.napi.get()) },
            None => false,
        }
    }

    /// Allocates a receive buffer with room for `len` bytes, IP header
    /// aligned (`netdev_alloc_skb_ip_align`, atomic). Any context.
    pub(crate) fn alloc_rx_skb(&self, len: u32) -> Result<SkBuff> {
        // SAFETY: The device is live (type invariant).
        let skb = unsafe { bindings::hvn_netdev_alloc_skb_ip_align(self.as_raw(), len) };
        let skb = NonNull::new(skb).ok_or(ENOMEM)?;
        // SAFETY: A freshly allocated buffer is owned by its allocator.
        Ok(unsafe { SkBuff::from_raw(skb) })
    }

    /// Hands a received Ethernet frame to the stack from any context
    /// (`eth_type_trans` + `netif_rx`), outside NAPI. Fails with `EINVAL`,
    /// freeing the buffer, if it is shorter than an Ethernet header.
    pub(crate) fn netif_rx(&self, skb: SkBuff) -> Result {
        if !skb.has_eth_header() {
            return Err(EINVAL);
        }
        let skb = skb.into_raw();
        // SAFETY: We own `skb`, whose head holds an Ethernet header; the
        // device is live.
        unsafe { bindings::hvn_skb_set_eth_protocol(skb, self.as_raw()) };
        // SAFETY: `netif_rx` takes our ownership of `skb` and works in any
        // context.
        unsafe { bindings::netif_rx(skb) };
        Ok(())
    }
}

/// How to set up a [`Registration`].
pub(crate) struct Config<'a> {
    /// The parent device (`SET_NETDEV_DEV`), e.g. the VMBus device.
    pub(crate) parent: Option<&'a kernel::device::Device>,
    /// The MAC address; must be a valid unicast address.
    pub(crate) mac: MacAddr,
    /// Number of transmit queues (at least 1).
    pub(crate) tx_queues: u32,
    /// Number of receive queues (at least 1).
    pub(crate) rx_queues: u32,
    /// Number of NAPI contexts to create, for receive queues
    /// `0..napi_queues` (at most `rx_queues`; [`Operations::poll`] must be
    /// implemented if not zero).
    pub(crate) napi_queues: u16,
    /// Initial MTU, within `min_mtu..=max_mtu`.
    pub(crate) mtu: u32,
    /// Smallest MTU accepted.
    pub(crate) min_mtu: u32,
    /// Largest MTU accepted.
    pub(crate) max_mtu: u32,
    /// Features enabled now (`features`).
    pub(crate) features: Features,
    /// Features the user may toggle (`hw_features`).
    pub(crate) hw_features: Features,
    /// Features VLAN devices on top inherit (`vlan_features`).
    pub(crate) vlan_features: Features,
    /// Largest TCP segmentation send (`netif_set_tso_max_size`); `None`
    /// keeps the kernel's default.
    pub(crate) tso_max_size: Option<u32>,
}

impl Config<'_> {
    /// One queue each way, no NAPI, standard Ethernet MTU, no features.
    pub(crate) fn new(mac: MacAddr) -> Self {
        Self {
            parent: None,
            mac,
            tx_queues: 1,
            rx_queues: 1,
            napi_queues: 0,
            mtu: ETH_DATA_LEN,
            min_mtu: ETH_MIN_MTU,
            max_mtu: ETH_DATA_LEN,
            features: Features::empty(),
            hw_features: Features::empty(),
            vlan_features: Features::empty(),
            tso_max_size: None,
        }
    }
}

/// An allocated, not yet registered `net_device`, freed on drop.
///
/// # Invariants
///
/// `0` came from `alloc_etherdev_mqs`, is not registered and is freed only
/// in `drop`.
struct Unregistered(NonNull<bindings::net_device>);

impl Drop for Unregistered {
    fn drop(&mut self) {
        // SAFETY: By the type invariant the device is ours, not registered,
        // and freed only here.
        unsafe { bindings::free_netdev(self.0.as_ptr()) };
    }
}

/// A registered Ethernet device (`eth%d`) with private state `T`.
///
/// Dropping it tears the device down in this order:
///
/// 1. under the RTNL lock: marks the NAPI contexts dead (no more enables),
///    disables the enabled ones (waiting for running polls) and unregisters
///    the device, which closes it (`ndo_stop`) and stops transmission;
/// 2. after `rtnl_unlock()`, which waits until no one else holds a
///    reference to the device (`netdev_run_todo`), so that no callback can
///    be running or start any more: deletes the NAPI contexts;
/// 3. drops `T` and the NAPI contexts;
/// 4. frees the device.
///
/// It must not be dropped with the RTNL lock held (e.g. from a callback
/// that runs under it), which would deadlock.
///
/// # Invariants
///
/// `dev` was allocated by `alloc_etherdev_mqs`, set up by
/// [`Registration::new`] (ops installed, private area holding an initialised
/// `NetPriv<T>`, NAPI contexts added) and registered, and stays so until
/// `drop`.
pub(crate) struct Registration<T: Operations> {
    dev: NonNull<bindings::net_device>,
    _p: PhantomData<T>,
}

// SAFETY: The registration may be dropped on any thread (unregistering only
// needs process context), and `T` is `Send`.
unsafe impl<T: Operations> Send for Registration<T> {}

// SAFETY: `&Registration` only gives out `&Device<T>`, which is `Sync`.
unsafe impl<T: Operations> Sync for Registration<T> {}

impl<T: Operations> Registration<T> {
    /// Allocates an Ethernet device as described by `config`, initialises
    /// its private state in place with `init`, adds its NAPI contexts and
    /// registers it as `eth%d`. May sleep; takes the RTNL lock.
    pub(crate) fn new(config: Config<'_>, init: impl PinInit<T, Error>) -> Result<Self> {
        if config.tx_queues == 0 || config.rx_queues == 0 {
            return Err(EINVAL);
        }
        if u32::from(config.napi_queues) > config.rx_queues
            || (config.napi_queues > 0 && !T::HAS_POLL)
        {
            return Err(EINVAL);
        }
        if config.min_mtu > config.max_mtu
            || !(config.min_mtu..=config.max_mtu).contains(&config.mtu)
            || i32::try_from(config.max_mtu).is_err()
        {
            return Err(EINVAL);
        }
        // SAFETY: `mac` is valid for `ETH_ALEN` reads.
        if !unsafe { bindings::hvn_is_valid_ether_addr(config.mac.as_ptr()) } {
            return Err(EADDRNOTAVAIL);
        }
        let priv_size = i32::try_from(size_of::<NetPriv<T>>()).map_err(|_| EINVAL)?;

        // SAFETY: `alloc_etherdev_mqs` accepts any size and non-zero queue
        // counts and returns either a new device or null.
        let raw =
            unsafe { bindings::alloc_etherdev_mqs(priv_size, config.tx_queues, config.rx_queues) };
        // INVARIANT: A new, unregistered device.
        let dev = Unregistered(NonNull::new(raw).ok_or(ENOMEM)?);
        let ptr = dev.0.as_ptr();

        // SAFETY: `ptr` is a live device.
        let priv_ptr = unsafe { bindings::hvn_netdev_priv(ptr) }.cast::<NetPriv<T>>();
        if !priv_ptr.is_aligned() {
            return Err(EINVAL);
        }

        // SAFETY: `ptr` is a live, unregistered device that we own, so its
        // fields may be written; the op tables are `'static`.
        unsafe {
            bindings::hvn_netdev_set_ops(
                ptr,
                Adapter::<T>::netdev_ops(),
                Adapter::<T>::ethtool_ops(),
            );
            if let Some(ops) = Adapter::<T>::stat_ops() {
                (*ptr).stat_ops = ops;
            }
            bindings::hvn_netdev_set_mtu_range(ptr, config.min_mtu, config.max_mtu);
            bindings::hvn_netdev_set_mtu(ptr, config.mtu);
            bindings::hvn_netdev_set_features(
                ptr,
                config.features.bits(),
                config.hw_features.bits(),
                config.vlan_features.bits(),
            );
            bindings::hvn_eth_hw_addr_set(ptr, config.mac.as_ptr());
            // Our devices sit above a VF whose transmit and address-list
            // locks are taken while theirs are held: lock classes of their
            // own keep lockdep from seeing recursion (as upstream).
            bindings::hvn_netdev_lockdep_set_classes(ptr);
            if let Some(size) = config.tso_max_size {
                bindings::hvn_netif_set_tso_max_size(ptr, size);
            }
        }
        if T::HAS_ATTR_SHOW {
            // SAFETY: `ptr` is ours and unregistered; the group is static.
            unsafe { bindings::hvn_netdev_set_attr_group(ptr) };
        }
        if let Some(parent) = config.parent {
            // CAST: `kernel::device::Device` is a transparent wrapper of
            // `struct device`, the same C type as our bindings' `device`.
            let parent = core::ptr::from_ref(parent)
                .cast_mut()
                .cast::<bindings::device>();
            // SAFETY: `ptr` is ours and unregistered; `parent` is a live
            // device, of which registration takes a reference.
            unsafe { bindings::hvn_netdev_set_parent(ptr, parent) };
        }

        let n = usize::from(config.napi_queues);
        let mut napis = KVec::with_capacity(n, GFP_KERNEL)?;
        let mut enabled = KVec::with_capacity(n, GFP_KERNEL)?;
        for q in 0..config.napi_queues {
            napis.push(NapiSlot::new(q), GFP_KERNEL)?;
            enabled.push(false, GFP_KERNEL)?;
        }
        let priv_init = try_pin_init!(NetPriv::<T> {
            napi_ctl <- new_mutex!(NapiCtl { enabled, dead: false }),
            napis,
            data <- init,
        }? Error);
        // SAFETY: `priv_ptr` is the aligned private area of `size_of::<
        // NetPriv<T>>()` bytes, which stays put (it is part of the device
        // allocation) until `free_netdev`; it is not initialised yet. On
        // error the initialiser has cleaned up after itself.
        unsafe { priv_init.__init(priv_ptr)? };

        // SAFETY: `priv_ptr` is initialised now.
        let net_priv = unsafe { &*priv_ptr };
        for slot in net_priv.napis.iter() {
            // SAFETY: The slot is zeroed, not added yet, and will not move
            // (the vector is never resized) until it is deleted in
            // `Self::teardown_unregistered` or `drop`.
            unsafe { bindings::hvn_netif_napi_add(ptr, slot.napi.get(), Adapter::<T>::POLL) };
        }

        // SAFETY: The device is fully set up: ops, private state, NAPI.
        let ret = unsafe { bindings::register_netdev(ptr) };
        if ret < 0 {
            // SAFETY: The device is set up as above and not registered.
            unsafe { Self::teardown_unregistered(dev) };
            return Err(Error::from_errno(ret));
        }
        core::mem::forget(dev);
        // INVARIANT: Allocated, set up and registered above.
        Ok(Self {
            dev: NonNull::new(ptr).ok_or(EINVAL)?,
            _p: PhantomData,
        })
    }

    /// Deletes the NAPI contexts, drops the private state and frees `dev`.
    ///
    /// # Safety
    ///
    /// `dev` must be set up by `new` (initialised `NetPriv<T>`, contexts
    /// added) and not registered, and no NAPI context may be enabled.
    unsafe fn teardown_unregistered(dev: Unregistered) {
        let ptr = dev.0.as_ptr();
        // SAFETY: `ptr` is live; its private area holds a `NetPriv<T>`.
        let priv_ptr = unsafe { bindings::hvn_netdev_priv(ptr) }.cast::<NetPriv<T>>();
        {
            // SAFETY: Initialised (function safety requirements).
            let net_priv = unsafe { &*priv_ptr };
            for slot in net_priv.napis.iter() {
                // SAFETY: Each context was added and is disabled.
                unsafe { bindings::hvn_netif_napi_del(slot.napi.get()) };
            }
        }
        // SAFETY: Initialised, no longer used by anyone (not registered,
        // contexts deleted); dropped exactly once, here.
        unsafe { core::ptr::drop_in_place(priv_ptr) };
        drop(dev);
    }

    /// The device, for use outside callbacks.
    pub(crate) fn device(&self) -> &Device<T> {
        // SAFETY: The device is set up and registered until `self` is
        // dropped (type invariant), which outlives the returned reference.
        unsafe { Device::from_raw(self.dev.as_ptr()) }
    }

    /// The driver's private state.
    pub(crate) fn data(&self) -> &T {
        self.device().data()
    }
}

impl<T: Operations> Drop for Registration<T> {
    fn drop(&mut self) {
        let ptr = self.dev.as_ptr();
        // SAFETY: Takes the RTNL lock; callers must not hold it (documented).
        unsafe { bindings::rtnl_lock() };
        {
            let p = self.device().net_priv();
            let mut ctl = p.napi_ctl.lock();
            ctl.dead = true;
            for (slot, enabled) in p.napis.iter().zip(ctl.enabled.iter_mut()) {
                if *enabled {
                    // SAFETY: The context is added and enabled.
                    unsafe { bindings::napi_disable(slot.napi.get()) };
                    *enabled = false;
                }
            }
        }
        // SAFETY: The device is registered (type invariant) and we hold the
        // RTNL lock.
        unsafe { bindings::unregister_netdevice_queue(ptr, core::ptr::null_mut()) };
        // SAFETY: Paired with the `rtnl_lock()` above; this also finishes the
        // unregistration, waiting for all other references to be dropped.
        unsafe { bindings::rtnl_unlock() };
        // SAFETY: The device was set up by `new`, is unregistered now and
        // has no enabled NAPI context (disabled above, and no enable can
        // succeed after `dead`); nothing uses it any more.
        unsafe { Self::teardown_unregistered(Unregistered(self.dev)) };
    }
}

/// The C-callable op tables and callbacks for `T`.
struct Adapter<T>(PhantomData<T>);

impl<T: Operations> Adapter<T> {
    const NETDEV_OPS: bindings::net_device_ops = bindings::net_device_ops {
        ndo_open: if T::HAS_OPEN {
            Some(Self::open_callback)
        } else {
            None
        },
        ndo_stop: if T::HAS_STOP {
            Some(Self::stop_callback)
        } else {
            None
        },
        ndo_start_xmit: Some(Self::start_xmit_callback),
        ndo_get_stats64: if T::HAS_GET_STATS64 {
            Some(Self::get_stats64_callback)
        } else {
            None
        },
        ndo_change_mtu: if T::HAS_CHANGE_MTU {
            Some(Self::change_mtu_callback)
        } else {
            None
        },
        ndo_set_mac_address: if T::HAS_SET_MAC_ADDRESS {
            Some(Self::set_mac_address_callback)
        } else {
            None
        },
        ndo_set_rx_mode_async: if T::HAS_SET_RX_MODE {
            Some(Self::set_rx_mode_callback)
        } else {
            None
        },
        ndo_vlan_rx_add_vid: if T::HAS_VLAN_RX_ADD_VID {
            Some(Self::vlan_rx_add_vid_callback)
        } else {
            None
        },
        ndo_vlan_rx_kill_vid: if T::HAS_VLAN_RX_KILL_VID {
            Some(Self::vlan_rx_kill_vid_callback)
        } else {
            None
        },
        ndo_validate_addr: Some(bindings::eth_validate_addr),
        // SAFETY: All-zero is a valid `net_device_ops`: absent (`None`)
        // callbacks, null pointers and zero integers.
        ..unsafe { core::mem::MaybeUninit::zeroed().assume_init() }
    };

    const ETHTOOL_OPS: bindings::ethtool_ops = bindings::ethtool_ops {
        get_drvinfo: if T::HAS_GET_DRVINFO {
            Some(Self::get_drvinfo_callback)
        } else {
            None
        },
        get_link: if T::HAS_GET_LINK {
            Some(Self::get_link_callback)
        } else {
            None
        },
        get_sset_count: if T::ETHTOOL_STATS.is_empty() {
            None
        } else {
            Some(Self::get_sset_count_callback)
        },
        get_strings: if T::ETHTOOL_STATS.is_empty() {
            None
        } else {
            Some(Self::get_strings_callback)
        },
        get_ethtool_stats: if T::ETHTOOL_STATS.is_empty() {
            None
        } else {
            Some(Self::get_ethtool_stats_callback)
        },
        get_channels: if T::HAS_GET_CHANNELS {
            Some(Self::get_channels_callback)
        } else {
            None
        },
        set_channels: if T::HAS_SET_CHANNELS && T::HAS_GET_CHANNELS {
            Some(Self::set_channels_callback)
        } else {
            None
        },
        get_ringparam: if T::HAS_GET_RINGPARAM {
            Some(Self::get_ringparam_callback)
        } else {
            None
        },
        get_link_ksettings: if T::HAS_GET_LINK_KSETTINGS {
            Some(Self::get_link_ksettings_callback)
        } else {
            None
        },
        set_link_ksettings: if T::HAS_SET_LINK_KSETTINGS && T::HAS_GET_LINK_KSETTINGS {
            Some(Self::set_link_ksettings_callback)
        } else {
            None
        },
        // SAFETY: All-zero is a valid `ethtool_ops`: absent (`None`)
        // callbacks, null pointers and zero integers.
        ..unsafe { core::mem::MaybeUninit::zeroed().assume_init() }
    };

    /// The NAPI poll function; `None` (never used: `new` refuses NAPI
    /// contexts then) without [`Operations::poll`].
    const POLL: Option<unsafe extern "C" fn(*mut bindings::napi_struct, ffi::c_int) -> ffi::c_int> =
        if T::HAS_POLL {
            Some(Self::poll_callback)
        } else {
            None
        };

    const STAT_OPS: bindings::netdev_stat_ops = bindings::netdev_stat_ops {
        get_queue_stats_rx: Some(Self::queue_stats_rx_callback),
        get_queue_stats_tx: Some(Self::queue_stats_tx_callback),
        get_base_stats: Some(Self::base_stats_callback),
    };

    fn netdev_ops() -> &'static bindings::net_device_ops {
        &Self::NETDEV_OPS
    }

    /// The queue statistics ops, if `T` reports them.
    fn stat_ops() -> Option<&'static bindings::netdev_stat_ops> {
        if T::HAS_GET_QUEUE_STATS && T::HAS_GET_BASE_STATS {
            Some(&Self::STAT_OPS)
        } else {
            None
        }
    }

    /// # Safety
    ///
    /// Called by the core as `get_queue_stats_rx` with a valid `stats`.
    unsafe extern "C" fn queue_stats_rx_callback(
        dev: *mut bindings::net_device,
        idx: ffi::c_int,
        stats: *mut bindings::netdev_queue_stats_rx,
    ) {
        // SAFETY: Guaranteed by the caller (see `Self::dev`).
        let dev = unsafe { Self::dev(dev) };
        let Ok(queue) = u32::try_from(idx) else {
            return;
        };
        let q = T::get_queue_stats(dev, queue).0;
        // SAFETY: The core passes a valid, exclusively ours `stats`.
        q.write_rx(unsafe { &mut *stats });
    }

    /// # Safety
    ///
    /// Called by the core as `get_queue_stats_tx` with a valid `stats`.
    unsafe extern "C" fn queue_stats_tx_callback(
        dev: *mut bindings::net_device,
        idx: ffi::c_int,
        stats: *mut bindings::netdev_queue_stats_tx,
    ) {
        // SAFETY: Guaranteed by the caller (see `Self::dev`).
        let dev = unsafe { Self::dev(dev) };
        let Ok(queue) = u32::try_from(idx) else {
            return;
        };
        let q = T::get_queue_stats(dev, queue).1;
        // SAFETY: The core passes a valid, exclusively ours `stats`.
        q.write_tx(unsafe { &mut *stats });
    }

    /// # Safety
    ///
    /// Called by the core as `get_base_stats` with valid `rx` and `tx`.
    unsafe extern "C" fn base_stats_callback(
        dev: *mut bindings::net_device,
        rx: *mut bindings::netdev_queue_stats_rx,
        tx: *mut bindings::netdev_queue_stats_tx,
    ) {
        // SAFETY: Guaranteed by the caller (see `Self::dev`).
        let dev = unsafe { Self::dev(dev) };
        let (r, t) = T::get_base_stats(dev);
        // SAFETY: The core passes valid, exclusively ours `rx` and `tx`.
        r.write_rx(unsafe { &mut *rx });
        // SAFETY: As above.
        t.write_tx(unsafe { &mut *tx });
    }

    fn ethtool_ops() -> &'static bindings::ethtool_ops {
        &Self::ETHTOOL_OPS
    }

    /// # Safety
    ///
    /// `dev` must be a device set up by a `Registration<T>` that outlives the
    /// callback; the core guarantees it for every op it calls.
    unsafe fn dev<'a>(dev: *mut bindings::net_device) -> &'a Device<T> {
        // SAFETY: Ops are only installed by `Registration::<T>::new`, and the
        // core calls none after `Registration::drop` unregistered the device
        // and waited for its references.
        unsafe { Device::from_raw(dev) }
    }

    /// # Safety
    ///
    /// Called by the core as `ndo_open` of a device set up by
    /// `Registration<T>`.
    unsafe extern "C" fn open_callback(dev: *mut bindings::net_device) -> ffi::c_int {
        // SAFETY: Guaranteed by the caller (see `Self::dev`).
        let dev = unsafe { Self::dev(dev) };
        from_result(|| T::open(dev).map(|()| 0))
    }

    /// # Safety
    ///
    /// Called by the core as `ndo_stop` of a device set up by
    /// `Registration<T>`.
    unsafe extern "C" fn stop_callback(dev: *mut bindings::net_device) -> ffi::c_int {
        // SAFETY: Guaranteed by the caller (see `Self::dev`).
        let dev = unsafe { Self::dev(dev) };
        from_result(|| T::stop(dev).map(|()| 0))
    }

    /// # Safety
    ///
    /// Called by the core as `ndo_start_xmit`, passing ownership of `skb`.
    unsafe extern "C" fn start_xmit_callback(
        skb: *mut bindings::sk_buff,
        dev: *mut bindings::net_device,
    ) -> bindings::netdev_tx {
        // SAFETY: Guaranteed by the caller (see `Self::dev`).
        let dev = unsafe { Self::dev(dev) };
        let Some(skb) = NonNull::new(skb) else {
            return bindings::netdev_tx_NETDEV_TX_OK;
        };
        // SAFETY: `ndo_start_xmit` owns the buffer unless it returns
        // `NETDEV_TX_BUSY`, in which case `NetdevTx::Busy` hands it back.
        let skb = unsafe { SkBuff::from_raw(skb) };
        match T::start_xmit(dev, skb) {
            NetdevTx::Ok => bindings::netdev_tx_NETDEV_TX_OK,
            NetdevTx::Busy(skb) => {
                // The core keeps ownership and requeues it.
                let _ = skb.into_raw();
                bindings::netdev_tx_NETDEV_TX_BUSY
            }
        }
    }

    /// # Safety
    ///
    /// Called by the core as `ndo_get_stats64` with a valid `storage`.
    unsafe extern "C" fn get_stats64_callback(
        dev: *mut bindings::net_device,
        storage: *mut bindings::rtnl_link_stats64,
    ) {
        // SAFETY: Guaranteed by the caller (see `Self::dev`).
        let dev = unsafe { Self::dev(dev) };
        let mut stats = Stats64::default();
        T::get_stats64(dev, &mut stats);
        // SAFETY: The core passes a valid, exclusively ours `storage`.
        stats.write_to(unsafe { &mut *storage });
    }

    /// # Safety
    ///
    /// Called by the core as `ndo_change_mtu`, under the RTNL lock.
    unsafe extern "C" fn change_mtu_callback(
        dev: *mut bindings::net_device,
        new_mtu: ffi::c_int,
    ) -> ffi::c_int {
        // SAFETY: Guaranteed by the caller (see `Self::dev`).
        let d = unsafe { Self::dev(dev) };
        from_result(|| {
            let mtu = u32::try_from(new_mtu).map_err(|_| EINVAL)?;
            T::change_mtu(d, mtu)?;
            // SAFETY: The device is live; the RTNL lock is held.
            unsafe { bindings::hvn_netdev_set_mtu(dev, mtu) };
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// Called by the core as `ndo_set_mac_address` with a `sockaddr_storage`,
    /// under the RTNL lock.
    unsafe extern "C" fn set_mac_address_callback(
        dev: *mut bindings::net_device,
        addr: *mut ffi::c_void,
    ) -> ffi::c_int {
        // SAFETY: Guaranteed by the caller (see `Self::dev`).
        let d = unsafe { Self::dev(dev) };
        from_result(|| {
            let mut mac = [0u8; ETH_ALEN];
            // SAFETY: `addr` is a `sockaddr_storage`, whose data holds at
            // least `ETH_ALEN` bytes.
            let data = unsafe { bindings::hvn_sockaddr_data(addr) };
            // SAFETY: `data` is valid for `ETH_ALEN` reads; `mac` is ours.
            unsafe { core::ptr::copy_nonoverlapping(data, mac.as_mut_ptr(), ETH_ALEN) };
            // SAFETY: `mac` is valid for `ETH_ALEN` reads.
            if !unsafe { bindings::hvn_is_valid_ether_addr(mac.as_ptr()) } {
                return Err(EADDRNOTAVAIL);
            }
            T::set_mac_address(d, &mac)?;
            // SAFETY: The device is live; the RTNL lock is held.
            unsafe { bindings::hvn_eth_hw_addr_set(dev, mac.as_ptr()) };
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// Called by the core as `ndo_set_rx_mode_async`.
    unsafe extern "C" fn set_rx_mode_callback(
        dev: *mut bindings::net_device,
        _uc: *mut bindings::netdev_hw_addr_list,
        mc: *mut bindings::netdev_hw_addr_list,
    ) -> ffi::c_int {
        // SAFETY: Guaranteed by the caller (see `Self::dev`).
        let d = unsafe { Self::dev(dev) };
        // SAFETY: The device is live.
        let flags = unsafe { bindings::hvn_netdev_flags(dev) };
        // SAFETY: The core passes its snapshot of the multicast list, valid
        // for the duration of the call.
        let mc_count = unsafe { bindings::hvn_hw_addr_list_count(mc) };
        from_result(|| T::set_rx_mode(d, RxMode::new(flags, mc_count)).map(|()| 0))
    }

    /// # Safety
    ///
    /// Called by the core as `ndo_vlan_rx_add_vid`, under the RTNL lock.
    unsafe extern "C" fn vlan_rx_add_vid_callback(
        dev: *mut bindings::net_device,
        proto: bindings::__be16,
        vid: u16,
    ) -> ffi::c_int {
        // SAFETY: Guaranteed by the caller (see `Self::dev`).
        let d = unsafe { Self::dev(dev) };
        from_result(|| T::vlan_rx_add_vid(d, u16::from_be(proto), vid).map(|()| 0))
    }

    /// # Safety
    ///
    /// Called by the core as `ndo_vlan_rx_kill_vid`, under the RTNL lock.
    unsafe extern "C" fn vlan_rx_kill_vid_callback(
        dev: *mut bindings::net_device,
        proto: bindings::__be16,
        vid: u16,
    ) -> ffi::c_int {
        // SAFETY: Guaranteed by the caller (see `Self::dev`).
        let d = unsafe { Self::dev(dev) };
        from_result(|| T::vlan_rx_kill_vid(d, u16::from_be(proto), vid).map(|()| 0))
    }

    /// # Safety
    ///
    /// Called by the core as a NAPI poll function of a context added by
    /// `Registration::<T>::new`.
    unsafe extern "C" fn poll_callback(
        napi: *mut bindings::napi_struct,
        budget: ffi::c_int,
    ) -> ffi::c_int {
        let Some(napi) = NonNull::new(napi) else {
            return 0;
        };
        // SAFETY: Our contexts are the first field of a `repr(C)` `NapiSlot`
        // in the device's private area, live while it can be polled.
        let queue = unsafe { (*napi.as_ptr().cast::<NapiSlot>()).queue };
        // SAFETY: An added context's `dev` is its live device.
        let dev = unsafe { Self::dev(bindings::hvn_napi_dev(napi.as_ptr())) };
        let budget = u32::try_from(budget).unwrap_or(0);
        // SAFETY: We are this context's poll function, running now.
        let mut poll = unsafe { NapiPoll::new(napi, queue, budget) };
        let mut work = T::poll(dev, &mut poll).min(budget);
        if poll.is_completed() && work == budget {
            // The core must not see a full budget from a completed poll.
            work = budget.saturating_sub(1);
        }
        i32::try_from(work).unwrap_or(0)
    }

    /// # Safety
    ///
    /// Called by the core as `get_drvinfo` with a valid `info`.
    unsafe extern "C" fn get_drvinfo_callback(
        dev: *mut bindings::net_device,
        info: *mut bindings::ethtool_drvinfo,
    ) {
        // SAFETY: Guaranteed by the caller (see `Self::dev`).
        let dev = unsafe { Self::dev(dev) };
        // SAFETY: The core passes a valid, exclusively ours `info`.
        let mut info = DrvInfo::new(unsafe { &mut *info });
        T::get_drvinfo(dev, &mut info);
    }

    /// # Safety
    ///
    /// Called by the core as `get_link`.
    unsafe extern "C" fn get_link_callback(dev: *mut bindings::net_device) -> u32 {
        // SAFETY: Guaranteed by the caller (see `Self::dev`).
        let dev = unsafe { Self::dev(dev) };
        u32::from(T::get_link(dev))
    }

    /// # Safety
    ///
    /// Called by the core as `get_sset_count`.
    unsafe extern "C" fn get_sset_count_callback(
        _dev: *mut bindings::net_device,
        sset: ffi::c_int,
    ) -> ffi::c_int {
        if u32::try_from(sset) == Ok(bindings::ethtool_stringset_ETH_SS_STATS) {
            i32::try_from(T::ETHTOOL_STATS.len()).unwrap_or(0)
        } else {
            EOPNOTSUPP.to_errno()
        }
    }

    /// # Safety
    ///
    /// Called by the core as `get_strings`, with `buf` sized for
    /// `get_sset_count(sset)` strings.
    unsafe extern "C" fn get_strings_callback(
        _dev: *mut bindings::net_device,
        sset: u32,
        buf: *mut u8,
    ) {
        if sset != bindings::ethtool_stringset_ETH_SS_STATS || buf.is_null() {
            return;
        }
        let n = T::ETHTOOL_STATS.len();
        // SAFETY: The core sized `buf` for `n` strings of `ETH_GSTRING_LEN`
        // bytes (our count for this set, a constant) and nobody else uses it
        // during the call. `u8` and `c_char` have the same layout.
        let buf = unsafe {
            core::slice::from_raw_parts_mut(buf.cast::<ffi::c_char>(), n * ETH_GSTRING_LEN)
        };
        for (slot, name) in buf.chunks_exact_mut(ETH_GSTRING_LEN).zip(T::ETHTOOL_STATS) {
            copy_cstr(slot, name);
        }
    }

    /// # Safety
    ///
    /// Called by the core as `get_ethtool_stats`, with `data` sized for
    /// `get_sset_count(ETH_SS_STATS)` values.
    unsafe extern "C" fn get_ethtool_stats_callback(
        dev: *mut bindings::net_device,
        _stats: *mut bindings::ethtool_stats,
        data: *mut u64,
    ) {
        // SAFETY: Guaranteed by the caller (see `Self::dev`).
        let dev = unsafe { Self::dev(dev) };
        let n = T::ETHTOOL_STATS.len();
        if data.is_null() || n == 0 {
            return;
        }
        // SAFETY: The core sized `data` for `n` values (our constant count)
        // and it is ours during the call; zero it so that it is initialised.
        unsafe { core::ptr::write_bytes(data, 0, n) };
        // SAFETY: As above, now initialised.
        let data = unsafe { core::slice::from_raw_parts_mut(data, n) };
        if T::HAS_GET_ETHTOOL_STATS {
            T::get_ethtool_stats(dev, data);
        }
    }

    /// # Safety
    ///
    /// Called by the core as `get_channels` with a valid `ch`.
    unsafe extern "C" fn get_channels_callback(
        dev: *mut bindings::net_device,
        ch: *mut bindings::ethtool_channels,
    ) {
        // SAFETY: Guaranteed by the caller (see `Self::dev`).
        let dev = unsafe { Self::dev(dev) };
        // SAFETY: The core passes a valid, exclusively ours `ch`.
        T::get_channels(dev).write_to(unsafe { &mut *ch });
    }

    /// # Safety
    ///
    /// Called by the core as `set_channels` with a valid `ch`.
    unsafe extern "C" fn set_channels_callback(
        dev: *mut bindings::net_device,
        ch: *mut bindings::ethtool_channels,
    ) -> ffi::c_int {
        // SAFETY: Guaranteed by the caller (see `Self::dev`).
        let dev = unsafe { Self::dev(dev) };
        // SAFETY: The core passes a valid `ch`.
        let channels = Channels::from_raw(unsafe { &*ch });
        from_result(|| T::set_channels(dev, &channels).map(|()| 0))
    }

    /// # Safety
    ///
    /// Called by the core as `get_ringparam` with a valid `ring`.
    unsafe extern "C" fn get_ringparam_callback(
        dev: *mut bindings::net_device,
        ring: *mut bindings::ethtool_ringparam,
        _kring: *mut bindings::kernel_ethtool_ringparam,
        _extack: *mut bindings::netlink_ext_ack,
    ) {
        // SAFETY: Guaranteed by the caller (see `Self::dev`).
        let dev = unsafe { Self::dev(dev) };
        // SAFETY: The core passes a valid, exclusively ours `ring`.
        T::get_ringparam(dev).write_to(unsafe { &mut *ring });
    }

    /// # Safety
    ///
    /// Called by the core as `get_link_ksettings` with a valid `cmd`.
    unsafe extern "C" fn get_link_ksettings_callback(
        dev: *mut bindings::net_device,
        cmd: *mut bindings::ethtool_link_ksettings,
    ) -> ffi::c_int {
        // SAFETY: Guaranteed by the caller (see `Self::dev`).
        let dev = unsafe { Self::dev(dev) };
        // SAFETY: The core passes a valid, exclusively ours `cmd`, zeroed
        // but for `cmd` itself.
        let mut out = LinkKsettings(unsafe { &mut *cmd });
        from_result(|| T::get_link_ksettings(dev, &mut out).map(|()| 0))
    }

    /// # Safety
    ///
    /// Called by the core as `set_link_ksettings` with a valid `cmd`.
    unsafe extern "C" fn set_link_ksettings_callback(
        raw: *mut bindings::net_device,
        cmd: *const bindings::ethtool_link_ksettings,
    ) -> ffi::c_int {
        // INVARIANT: The core calls with the device the request is for.
        let req = LinkKsettingsRequest {
            dev: raw,
            // SAFETY: The core passes a valid request, alive for the call.
            cmd: unsafe { &*cmd },
        };
        // SAFETY: Guaranteed by the caller (see `Self::dev`).
        let dev = unsafe { Self::dev(raw) };
        from_result(|| T::set_link_ksettings(dev, &req).map(|()| 0))
    }
}
