// SPDX-License-Identifier: GPL-2.0

//! The synthetic NIC: NVSP and RNDIS over a [`Transport`], as Hyper-V does it.
//!
//! Probe follows the host's expectations in order: NVSP version negotiation
//! (newest first), NDIS configuration and version, receive and send buffers
//! shared by GPADL, RNDIS initialisation, then queries for the MAC address,
//! maximum frame size and link state. Everything the host sends is parsed by
//! the protocol core from a private copy and checked before use.
//!
//! This module is safe Rust: the channel is reached through the
//! [`Transport`] trait and host-shared memory through [`SharedBuffer`];
//! the compiler holds it to that.

#![forbid(unsafe_code)]

mod completions;
mod nic;

pub(crate) use nic::NetvscNic;

use crate::net;
use crate::proto::offload::{self, OffloadPlan, TxOffload};
use crate::proto::{nvsp, rndis, vlan, vmbus as pkt};
use crate::vmbus::{PageRange, SharedBuffer, Transport};
use completions::{Completion, Completions};
use kernel::prelude::*;
use kernel::sync::atomic::{Atomic, Relaxed};
use kernel::sync::{new_condvar, new_mutex, new_spinlock_irq, Arc, CondVar, CondVarTimeoutResult};
use kernel::sync::{new_spinlock, Mutex, SetOnce, SpinLock, SpinLockIrq};
use kernel::workqueue::{Work, WorkItem};

/// The size of each ring of a channel, in bytes: set once at module init
/// from the `ring_size` parameter (see `vmbus::hyperv::ring_bytes`).
static RING_BYTES: Atomic<u32> = Atomic::new(128 * 4096);

/// Sets the ring size channels are opened with (module init, before any
/// device exists).
pub(crate) fn set_ring_bytes(bytes: u32) {
    RING_BYTES.store(bytes, Relaxed);
}

/// Default receive buffer size (as upstream: 16 MiB).
const RECV_BUF_SIZE: usize = 16 * 1024 * 1024;
/// The largest receive buffer a host of NVSP 2 or older takes (upstream's
/// `NETVSC_RECEIVE_BUFFER_SIZE_LEGACY`: 15 MiB).
const RECV_BUF_SIZE_LEGACY: usize = 15 * 1024 * 1024;
/// Default send buffer size (as upstream: 1 MiB).
const SEND_BUF_SIZE: usize = 1024 * 1024;
/// Transaction id of the send-buffer GPADL message (NVSP convention).
const SEND_BUF_ID: u16 = 0;
/// How long teardown waits for the host to complete outstanding sends.
const QUIESCE_TIMEOUT_MS: u32 = 2_000;
/// How long a control request may take before the host is declared dead.
const CONTROL_TIMEOUT_MS: u32 = 10_000;
/// Largest host packet we accept from the ring (descriptor included).
const MAX_HOST_PACKET: usize = 8192;
/// Largest receive-buffer range (one RNDIS message) we copy out.
const MAX_RANGE: usize = 16 * 1024;
/// Largest RNDIS control reply we keep.
const MAX_REPLY: usize = 512;
/// Transaction ids of data sends: this tag plus the send section index.
const TX_TAG: u64 = 0x7478_0000_0000_0000;
/// Transaction id of switch-data-path requests.
const SWITCH_TID: u64 = 0x7377_0000_0000_0001;
/// How long the host may take to acknowledge a data-path switch.
const SWITCH_TIMEOUT_MS: u32 = 5_000;
/// Host events queued for the failover work item.
const HOST_EVENTS: usize = 16;
/// How long the carrier stays off after the host indicates a network
/// change (upstream's `LINKCHANGE_INT`): long enough for link watchers to
/// see it go, so that DHCP clients renew on a network that may be new.
const NETWORK_CHANGE_MS: u32 = 2_000;
/// The device's timers (one [`net::TimerHandler`] each): the failover glue's
/// missing-VF timer, and the end of a network change's carrier bounce.
pub(crate) const VF_MISSING_TIMER: u8 = 0;
pub(crate) const NETWORK_CHANGE_TIMER: u8 = 1;
/// Reject log keys beyond the protocol core's error kinds (which use their
/// discriminant, well below these).
const REJECT_PAGESET: usize = 29;
const REJECT_UNKNOWN_TID: usize = 30;
const REJECT_FREE_SECTION: usize = 31;
const REJECT_COMPLETIONS: usize = 28;
/// Number of reject log keys.
const REJECT_KEYS: usize = 32;
/// Rejects of one key logged in full before only powers of two are.
const REJECT_LOG_FIRST: u32 = 5;
/// NDIS version announced for NVSP 5 and newer (6.30), older (6.1).
/// Space in the guest->host ring the driver asks the host to signal
/// (`pending_send_sz`) when a send found it full: room for any one packet
/// the driver sends, and the TX queue's wake-up threshold.
const SEND_SPACE_WANTED: u32 = 4096;

const NDIS_6_30: (u32, u32) = (6, 30);
const NDIS_6_1: (u32, u32) = (6, 1);

/// What a control request waits for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Pending {
    None,
    /// The completion packet with this transaction id.
    Completion {
        tid: u64,
    },
    /// An RNDIS reply with `req_id`, and the NVSP completion of `tid`
    /// (which frees the control send section).
    Rndis {
        tid: u64,
        req_id: u32,
        completed: bool,
        replied: bool,
    },
}

/// State shared between control requests and event processing.
struct Ctrl {
    pending: Pending,
    /// Failure reported by the host for the pending request.
    failed: bool,
    reply: [u8; MAX_REPLY],
    reply_len: usize,
    /// Link state as last indicated by the host.
    link_up: bool,
    /// The host indicated a network change: the carrier is held off until
    /// the network-change timer fires.
    network_change: bool,
    /// Link speed in Mb/s as the host last told it (`OID_GEN_LINK_SPEED`,
    /// `LINK_SPEED_CHANGE`), or [`net::SPEED_UNKNOWN`].
    speed: u32,
    /// Duplex as last set by the user (full until then, as upstream).
    duplex: net::Duplex,
    /// An event arrived while no interface polls the channel.
    kick: bool,
    /// Outcome of the outstanding switch-data-path request.
    switch_result: Option<bool>,
}

/// Buffers used while draining host packets (owned by the drain lock).
struct Rx {
    pkt: KVec<u8>,
    range: KVec<u8>,
    recv_buf: Option<Arc<SharedBuffer>>,
    /// Receive completions waiting for ring space, sized to the receive
    /// sections (replaced, never reallocated, under the lock).
    comps: Completions,
}

/// The data side of the send buffer.
struct Tx {
    buf: Option<Arc<SharedBuffer>>,
    section_size: u32,
    /// Free data sections, one bit each (the last section is control's).
    free: KVec<u64>,
    /// A frame is staged here before it is copied into its section.
    scratch: KVec<u8>,
    /// Frames that do not fit a section go out from here as GPA-direct
    /// pages: [`LARGE_SLOTS`] slots of [`LARGE_SLOT_SIZE`] bytes.
    large: Option<Arc<SharedBuffer>>,
    /// Free large slots, one bit each.
    large_free: u32,
    /// The offloads the host does for us on this channel.
    plan: OffloadPlan,
}

/// Slots for frames sent as GPA-direct pages (larger than a send section).
const LARGE_SLOTS: u32 = 4;
/// A slot holds an RNDIS header and the largest frame (upstream's
/// `NETVSC_MTU` plus the Ethernet header), rounded to pages.
const LARGE_SLOT_SIZE: usize = 17 * 4096;
/// Largest frame (Ethernet header included) the driver sends.
const MAX_FRAME: u32 = 65535;
/// The features that follow the host's offloads.
const OFFLOAD_FEATURES: net::Features = net::Features::SG
    .union(net::Features::RXCSUM)
    .union(net::Features::IP_CSUM)
    .union(net::Features::IPV6_CSUM)
    .union(net::Features::TSO)
    .union(net::Features::TSO6);

/// A staged send: what the host is to do with it, its 802.1Q tag, and
/// where the frame lies in the scratch buffer.
#[derive(Clone, Copy)]
struct TxFrame {
    offload: TxOffload,
    tag: Option<vlan::Tag>,
    start: usize,
    len: usize,
}

/// Why a send is dropped before it reaches the host.
#[derive(Clone, Copy)]
enum TxDrop {
    /// Its 802.1Q tag cannot be carried (counted in `vlan_error`).
    Vlan,
    /// Anything else (counted in `tx_too_big`, as before).
    Other,
}

/// The 802.1Q features: tags as per-packet info, VLAN ids to the VF.
const VLAN_FEATURES: net::Features = net::Features::HW_VLAN_CTAG_TX
    .union(net::Features::HW_VLAN_CTAG_RX)
    .union(net::Features::HW_VLAN_CTAG_FILTER);

/// The interface features for the offloads in `plan`.
fn offload_features(plan: &OffloadPlan) -> net::Features {
    let mut f = net::Features::empty();
    for (on, feature) in [
        (plan.any(), net::Features::SG.union(net::Features::RXCSUM)),
        (plan.tcp4, net::Features::IP_CSUM),
        (plan.tcp6, net::Features::IPV6_CSUM),
        (plan.lso4.is_some(), net::Features::TSO),
        (plan.lso6.is_some(), net::Features::TSO6),
    ] {
        if on {
            f = f.union(feature);
        }
    }
    f
}

/// Room for a transmitted packet message: fixed part and the one
/// per-packet info an offload adds (checksum or LSOv2), with a spare.
/// (At most one offload info and the 802.1Q info.)
const TX_HEADER_MAX: usize = rndis::PACKET_HEADER_SIZE + 2 * (rndis::PPI_HEADER_SIZE + 4);
/// Marks a send completion's transaction id as a large slot's.
const LARGE_TID_BIT: u64 = 0x8000_0000;

impl Tx {
    fn alloc_large(&mut self) -> Option<u32> {
        if self.large_free == 0 {
            return None;
        }
        let slot = self.large_free.trailing_zeros();
        self.large_free &= !(1 << slot);
        Some(slot)
    }

    /// Returns a large slot; false if it was not in use.
    fn release_large(&mut self, slot: u32) -> bool {
        if slot >= LARGE_SLOTS || self.large_free & (1 << slot) != 0 {
            return false;
        }
        self.large_free |= 1 << slot;
        true
    }

    fn alloc(&mut self) -> Option<u32> {
        for (i, w) in self.free.iter_mut().enumerate() {
            if *w != 0 {
                let bit = w.trailing_zeros();
                *w &= !(1u64 << bit);
                return u32::try_from(i * 64).ok()?.checked_add(bit);
            }
        }
        None
    }

    /// Sends the host has not completed: data sections and large slots in
    /// use (`data` is the number of data sections).
    fn in_flight(&self, data: u32) -> u32 {
        let free: u32 = self.free.iter().map(|w| w.count_ones()).sum();
        let large = LARGE_SLOTS - (self.large_free & ((1 << LARGE_SLOTS) - 1)).count_ones();
        data.saturating_sub(free) + if self.large.is_some() { large } else { 0 }
    }

    /// Returns a section; false if it was not in use (a bogus completion).
    fn release(&mut self, section: u32) -> bool {
        let (i, bit) = ((section / 64) as usize, section % 64);
        match self.free.get_mut(i) {
            Some(w) if *w & (1u64 << bit) == 0 => {
                *w |= 1u64 << bit;
                true
            }
            _ => false,
        }
    }
}

/// Traffic counters, as reported by `ndo_get_stats64` and `ethtool -S`.
#[derive(Clone, Copy, Default)]
pub(crate) struct Counters {
    pub(crate) tx_packets: u64,
    pub(crate) tx_bytes: u64,
    pub(crate) tx_busy: u64,
    pub(crate) tx_too_big: u64,
    pub(crate) rx_packets: u64,
    pub(crate) rx_bytes: u64,
    pub(crate) rx_dropped: u64,
    pub(crate) bad_host_packets: u64,
    pub(crate) tx_checksum_offload: u64,
    pub(crate) tx_lso: u64,
    pub(crate) rx_checksum_offload: u64,
    pub(crate) tx_vlan: u64,
    pub(crate) rx_vlan: u64,
    pub(crate) vlan_error: u64,
    pub(crate) rx_comp_busy: u64,
    pub(crate) stop_queue: u64,
    pub(crate) wake_queue: u64,
}

/// The registered interface and the VF receive context that hands frames
/// to it.
struct Iface {
    reg: Arc<net::Registration<NetvscNic>>,
    vf_rx: Arc<net::VfRx>,
    /// NAPI drains the channel. Off while the channel is re-initialised
    /// (NAPI disabled): control requests then drain it themselves, as
    /// during probe.
    polled: bool,
}

/// A small queue of host events for the failover work item.
struct HostEvents {
    items: [Option<crate::failover_core::datapath::Event>; HOST_EVENTS],
    head: usize,
    len: usize,
}

impl HostEvents {
    const fn new() -> Self {
        Self {
            items: [None; HOST_EVENTS],
            head: 0,
            len: 0,
        }
    }

    fn push(&mut self, ev: crate::failover_core::datapath::Event) -> bool {
        if self.len == HOST_EVENTS {
            return false;
        }
        self.items[(self.head + self.len) % HOST_EVENTS] = Some(ev);
        self.len += 1;
        true
    }

    fn pop(&mut self) -> Option<crate::failover_core::datapath::Event> {
        if self.len == 0 {
            return None;
        }
        let ev = self.items[self.head].take();
        self.head = (self.head + 1) % HOST_EVENTS;
        self.len -= 1;
        ev
    }
}

kernel::impl_has_work! {
    impl HasWork<NetvscDevice> for NetvscDevice { self.fo_work }
}

impl net::TimerHandler<NETWORK_CHANGE_TIMER> for NetvscDevice {
    fn fired(&self) {
        self.network_change_done();
    }
}

impl WorkItem for NetvscDevice {
    type Pointer = Arc<NetvscDevice>;

    fn run(this: Arc<Self>) {
        crate::failover::run(&this);
    }
}

/// What a drain did: frames delivered, whether packets may be left, and
/// whether receive completions still wait for ring space.
struct Drained {
    delivered: u32,
    more: bool,
    comps_waiting: bool,
}

/// Where a drain hands what it finds: the interface and its NAPI context
/// when polled, nothing before the interface exists.
struct Sink<'a, 'b> {
    dev: Option<&'a net::Device<NetvscNic>>,
    napi: Option<&'a mut net::NapiPoll<'b>>,
    /// Receive completions waiting for ring space.
    comps: &'a mut Completions,
    delivered: u32,
}

/// What the host told us during probe.
#[derive(Clone, Copy, Default)]
pub(crate) struct HostInfo {
    pub(crate) nvsp_version: u32,
    pub(crate) mac: [u8; 6],
    /// The answer to `OID_GEN_MAXIMUM_FRAME_SIZE`: the MTU (without the
    /// Ethernet header) the host configured for the NDIS MTU we sent.
    pub(crate) host_mtu: u32,
    /// The host's offload capabilities (`None`: it offers none, or told
    /// them malformed).
    pub(crate) offloads: Option<rndis::OffloadCaps>,
    /// The offloads in use: turned on with the host at probe (none if it
    /// refused the parameters).
    pub(crate) plan: OffloadPlan,
    pub(crate) send_section_size: u32,
    pub(crate) send_sections: u32,
    pub(crate) recv_section_size: u32,
    pub(crate) recv_sections: u32,
}

/// Buffers and handles set up at probe, torn down at remove.
#[derive(Default)]
struct Setup {
    opened: bool,
    /// RNDIS is initialised on the channel: HALT it before teardown.
    rndis_up: bool,
    recv_buf: Option<Arc<SharedBuffer>>,
    recv_gpadl: Option<u32>,
    send_buf: Option<Arc<SharedBuffer>>,
    send_gpadl: Option<u32>,
    info: HostInfo,
    /// The host's friendly name for the NIC (UTF-8), if it gave one.
    friendly_name: Option<KVec<u8>>,
}

/// One synthetic NIC bound to a transport.
#[pin_data]
pub(crate) struct NetvscDevice {
    /// Ends a network change's carrier bounce. Made with the interface
    /// (`failover::add`); the first field, so that it is cancelled before
    /// anything else of the device is dropped.
    pub(crate) network_change_timer: SetOnce<net::Timer<NetvscDevice, NETWORK_CHANGE_TIMER>>,
    transport: Arc<dyn Transport>,
    /// Serialises control requests, probe and remove (process context).
    #[pin]
    setup: Mutex<Setup>,
    #[pin]
    ctrl: SpinLockIrq<Ctrl>,
    #[pin]
    ctrl_wait: CondVar,
    /// Serialises draining the channel; holds the scratch buffers. Taken in
    /// NAPI poll (softirq) and, before the interface exists, from the
    /// transport's event with bottom halves disabled; never with hard
    /// interrupts off, since frames go up the stack under it.
    #[pin]
    rx: SpinLock<Rx>,
    /// The registered interface. Events only schedule its NAPI poll under
    /// this lock; the failover glue clones it (under RTNL). Remove takes it
    /// out under RTNL and drops it after, so the last reference is never
    /// dropped under RTNL (unregistering takes it).
    #[pin]
    ndev: SpinLockIrq<Option<Iface>>,
    /// VF failover state (only locked under RTNL).
    #[pin]
    pub(crate) failover: Mutex<crate::failover::State>,
    /// Host failover events (VF association, switch completions) seen by
    /// the poll, for the work item.
    #[pin]
    host_events: SpinLockIrq<HostEvents>,
    #[pin]
    fo_work: Work<NetvscDevice>,
    /// Where TX goes while the data path is on the VF (read locklessly).
    vf_tx: net::VfTxSlot,
    vf_tx_packets: Atomic<u64>,
    vf_tx_bytes: Atomic<u64>,
    vf_tx_dropped: Atomic<u64>,
    /// Host events wait for the work item.
    fo_pending: Atomic<u32>,
    #[pin]
    tx: SpinLockIrq<Tx>,
    tx_packets: Atomic<u64>,
    tx_bytes: Atomic<u64>,
    tx_busy: Atomic<u64>,
    tx_too_big: Atomic<u64>,
    /// Frames sent with their transport checksum left to the host.
    tx_checksum_offload: Atomic<u64>,
    /// Frames sent for the host to segment (LSOv2).
    tx_lso: Atomic<u64>,
    /// Frames received with a transport checksum the host vouched for.
    rx_checksum_offload: Atomic<u64>,
    /// Frames sent with an 802.1Q tag in their per-packet info.
    tx_vlan: Atomic<u64>,
    /// Frames received with an 802.1Q tag in their per-packet info.
    rx_vlan: Atomic<u64>,
    /// Frames dropped for a tag that cannot be sent (VLAN id 4095, a tag
    /// protocol other than 802.1Q, a truncated inline tag).
    vlan_error: Atomic<u64>,
    /// Receive completions deferred for want of ring space.
    rx_comp_busy: Atomic<u64>,
    /// The TX queue stopped for want of ring space, and woken by the
    /// host's signal that space returned.
    stop_queue: Atomic<u64>,
    wake_queue: Atomic<u64>,
    /// TX waits for ring space (set with the host's `pending_send_sz`).
    tx_space_wait: Atomic<u32>,
    rx_packets: Atomic<u64>,
    rx_bytes: Atomic<u64>,
    rx_dropped: Atomic<u64>,
    next_tid: Atomic<u64>,
    next_req: Atomic<u32>,
    /// Malformed host packets seen.
    bad_packets: Atomic<u32>,
    /// The same, per reason (rate-limits the log per reason, so that one
    /// flood does not hide the first occurrence of a different fault).
    rejects: [Atomic<u32>; REJECT_KEYS],
    /// Set when the host broke the protocol beyond recovery.
    broken: Atomic<u32>,
}

impl NetvscDevice {
    /// Allocates the device state for `transport`; nothing is sent yet.
    pub(crate) fn new(transport: Arc<dyn Transport>) -> Result<Arc<Self>> {
        let mut pkt = KVec::new();
        pkt.resize(MAX_HOST_PACKET, 0, GFP_KERNEL)?;
        let mut range = KVec::new();
        range.resize(MAX_RANGE, 0, GFP_KERNEL)?;
        let mut scratch = KVec::new();
        scratch.resize(MAX_FRAME as usize, 0, GFP_KERNEL)?;
        Arc::pin_init(
            try_pin_init!(Self {
                network_change_timer: SetOnce::new(),
                transport,
                setup <- new_mutex!(Setup::default()),
                ctrl <- new_spinlock_irq!(Ctrl {
                    pending: Pending::None,
                    failed: false,
                    reply: [0; MAX_REPLY],
                    reply_len: 0,
                    link_up: false,
                    network_change: false,
                    speed: net::SPEED_UNKNOWN,
                    duplex: net::Duplex::Full,
                    kick: false,
                    switch_result: None,
                }),
                ctrl_wait <- new_condvar!(),
                rx <- new_spinlock!(Rx {
                    pkt,
                    range,
                    recv_buf: None,
                    comps: Completions::default(),
                }),
                ndev <- new_spinlock_irq!(None),
                failover <- new_mutex!(crate::failover::State::new()),
                host_events <- new_spinlock_irq!(HostEvents::new()),
                fo_work <- kernel::new_work!("NetvscDevice::fo_work"),
                vf_tx: net::VfTxSlot::new(),
                vf_tx_packets: Atomic::new(0),
                vf_tx_bytes: Atomic::new(0),
                vf_tx_dropped: Atomic::new(0),
                fo_pending: Atomic::new(0),
                tx <- new_spinlock_irq!(Tx {
                    buf: None,
                    section_size: 0,
                    free: KVec::new(),
                    scratch,
                    large: None,
                    large_free: 0,
                    plan: OffloadPlan::default(),
                }),
                tx_packets: Atomic::new(0),
                tx_bytes: Atomic::new(0),
                tx_busy: Atomic::new(0),
                tx_too_big: Atomic::new(0),
                tx_checksum_offload: Atomic::new(0),
                tx_lso: Atomic::new(0),
                rx_checksum_offload: Atomic::new(0),
                tx_vlan: Atomic::new(0),
                rx_vlan: Atomic::new(0),
                vlan_error: Atomic::new(0),
                rx_comp_busy: Atomic::new(0),
                stop_queue: Atomic::new(0),
                wake_queue: Atomic::new(0),
                tx_space_wait: Atomic::new(0),
                rx_packets: Atomic::new(0),
                rx_bytes: Atomic::new(0),
                rx_dropped: Atomic::new(0),
                next_tid: Atomic::new(1),
                next_req: Atomic::new(1),
                bad_packets: Atomic::new(0),
                rejects: core::array::from_fn(|_| Atomic::new(0)),
                broken: Atomic::new(0),
            }? Error),
            GFP_KERNEL,
        )
    }

    /// What the host announced at probe.
    pub(crate) fn host_info(&self) -> HostInfo {
        self.setup.lock().info
    }

    /// Link speed (Mb/s, or [`net::SPEED_UNKNOWN`]) and duplex.
    pub(crate) fn link_settings(&self) -> net::LinkSettings {
        let c = self.ctrl.lock();
        net::LinkSettings {
            speed: c.speed,
            duplex: c.duplex,
        }
    }

    /// Speed and duplex the user set (`ethtool -s`): reported until the
    /// host tells another speed.
    pub(crate) fn set_link_settings(&self, s: &net::LinkSettings) {
        let mut c = self.ctrl.lock();
        c.speed = s.speed;
        c.duplex = s.duplex;
    }

    /// Whether the interface has a carrier: the link as the host last
    /// indicated it, unless a network change holds the carrier off.
    pub(crate) fn link_up(&self) -> bool {
        let c = self.ctrl.lock();
        c.link_up && !c.network_change
    }

    fn tid(&self) -> u64 {
        self.next_tid.fetch_add(1, Relaxed)
    }

    /// The traffic counters.
    pub(crate) fn counters(&self) -> Counters {
        Counters {
            tx_packets: self.tx_packets.load(Relaxed),
            tx_bytes: self.tx_bytes.load(Relaxed),
            tx_busy: self.tx_busy.load(Relaxed),
            tx_too_big: self.tx_too_big.load(Relaxed),
            rx_packets: self.rx_packets.load(Relaxed),
            rx_bytes: self.rx_bytes.load(Relaxed),
            rx_dropped: self.rx_dropped.load(Relaxed),
            bad_host_packets: u64::from(self.bad_packets.load(Relaxed)),
            tx_checksum_offload: self.tx_checksum_offload.load(Relaxed),
            tx_lso: self.tx_lso.load(Relaxed),
            rx_checksum_offload: self.rx_checksum_offload.load(Relaxed),
            tx_vlan: self.tx_vlan.load(Relaxed),
            rx_vlan: self.rx_vlan.load(Relaxed),
            vlan_error: self.vlan_error.load(Relaxed),
            rx_comp_busy: self.rx_comp_busy.load(Relaxed),
            stop_queue: self.stop_queue.load(Relaxed),
            wake_queue: self.wake_queue.load(Relaxed),
        }
    }

    /// Brings the device up with the host and registers `eth%d`. On error
    /// everything done so far is undone and the channel is closed.
    pub(crate) fn probe(this: &Arc<Self>) -> Result {
        let (info, alias) = {
            let mut setup = this.setup.lock();
            if let Err(e) = this.probe_locked(&mut setup, net::ETH_DATA_LEN) {
                this.teardown_locked(&mut setup);
                return Err(e);
            }
            (setup.info, setup.friendly_name.take())
        };
        match this.register_netdev(&info) {
            Ok(()) => {
                // The host's name for the NIC, as upstream: `ifalias`.
                if let (Some(a), Some(reg)) = (alias, this.registration()) {
                    if let Err(e) = reg.device().set_alias(&a) {
                        pr_warn!("friendly name not usable as ifalias: {:?}\n", e);
                    }
                }
                Ok(())
            }
            Err(e) => {
                pr_err!("registering the network interface failed: {:?}\n", e);
                this.teardown_locked(&mut this.setup.lock());
                Err(e)
            }
        }
    }

    fn register_netdev(self: &Arc<Self>, info: &HostInfo) -> Result {
        // The host does not tell how large an MTU it takes: it configures
        // the NDIS MTU sent after INIT (renegotiated on every change, see
        // `renegotiate_mtu`) or falls back to 1514 when it refuses it. NVSP
        // 2 and later carry frames up to upstream's 65535 bytes; frames
        // beyond a send section go as GPA-direct pages.
        let max_mtu = if info.nvsp_version >= nvsp::VERSION_2 {
            MAX_FRAME - crate::bindings::ETH_HLEN
        } else {
            net::ETH_DATA_LEN
        };
        let mut config = net::Config::new(info.mac);
        config.parent = self.transport.parent();
        config.max_mtu = max_mtu;
        // What the host configured, if it is less than the usual 1500.
        config.mtu = match info.host_mtu {
            m if m >= net::ETH_MIN_MTU => m.min(net::ETH_DATA_LEN),
            _ => net::ETH_DATA_LEN,
        };
        config.napi_queues = 1;
        // Offloads the host does for us; the user may turn each off
        // (`ethtool -K`), and the stack then does the work itself.
        let plan = info.plan;
        let f = offload_features(&plan);
        // 802.1Q tags travel as per-packet info both ways (always on, as
        // upstream); VLAN devices on top get the offloads. Unlike upstream
        // the interface also filters: the host carries every VLAN, but a
        // joined VF filters in hardware and is given the VLAN ids.
        config.features = f | VLAN_FEATURES;
        config.hw_features = f;
        config.vlan_features = f;
        config.tso_max_size = plan.tso_max();
        let dev = self.clone();
        let reg = net::Registration::new(config, try_pin_init!(NetvscNic { dev } ? Error))?;
        let d = reg.device();
        let m = info.mac;
        pr_info!(
            "{}: synthetic NIC {:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}, NVSP {:#x}, max MTU {}\n",
            d.name().as_cstr(),
            m[0],
            m[1],
            m[2],
            m[3],
            m[4],
            m[5],
            info.nvsp_version,
            max_mtu
        );
        match &info.offloads {
            Some(o) => pr_info!(
                "{}: host offloads: {}; in use: {}\n",
                d.name().as_cstr(),
                // The protocol core's summaries (core::fmt::Display).
                format_args!("{}", o),
                format_args!("{}", plan)
            ),
            None => pr_info!("{}: host offers no offloads\n", d.name().as_cstr()),
        }
        let vf_rx = Arc::new(net::VfRx::new(d)?, GFP_KERNEL)?;
        // From here on the channel is drained by NAPI, enabled for the life
        // of the interface (the host talks to us whether it is up or not).
        d.napi_enable(0)?;
        let reg = Arc::new(reg, GFP_KERNEL)?;
        let d = reg.device();
        let mut ndev = self.ndev.lock();
        // Link indications are applied by the poll from now on; this one
        // covers those seen before.
        if self.link_up() {
            d.carrier_on();
        } else {
            d.carrier_off();
        }
        *ndev = Some(Iface {
            reg,
            vf_rx,
            polled: true,
        });
        drop(ndev);
        if crate::failover::add(self).is_err() {
            // Out of memory for the registry: works, without a VF.
            pr_warn!("VF failover unavailable for this NIC (out of memory)\n");
        }
        // Host events seen during probe (a VF association) are fed now.
        Self::kick_failover(self);
        // Packets that arrived before the switch are picked up now (bottom
        // halves off so the poll runs as soon as they are enabled again).
        let _bh = net::BhDisabled::new();
        self.on_event();
        Ok(())
    }

    /// Opens the channel and sets everything up with the host for an MTU
    /// of `mtu` (without the Ethernet header).
    fn probe_locked(&self, s: &mut Setup, mtu: u32) -> Result {
        self.transport.open(RING_BYTES.load(Relaxed))?;
        s.opened = true;

        let version = self.negotiate()?;
        s.info.nvsp_version = version;
        let mtu = mtu.checked_add(crate::bindings::ETH_HLEN).ok_or(EINVAL)?;
        if version >= nvsp::VERSION_2 {
            let mut caps = nvsp::CAP_IEEE8021Q;
            if version >= nvsp::VERSION_5 {
                caps |= nvsp::CAP_SRIOV | nvsp::CAP_TEAMING;
            }
            self.send_nvsp(&nvsp::Message::SendNdisConfig {
                mtu,
                capabilities: caps,
            })?;
        }
        let (major, minor) = if version > nvsp::VERSION_4 {
            NDIS_6_30
        } else {
            NDIS_6_1
        };
        self.send_nvsp(&nvsp::Message::SendNdisVersion { major, minor })?;

        // Receive buffer: the host carves it into sections and tells us how.
        let recv_size = if version <= nvsp::VERSION_2 {
            RECV_BUF_SIZE_LEGACY
        } else {
            RECV_BUF_SIZE
        };
        let recv = Arc::new(SharedBuffer::new(recv_size)?, GFP_KERNEL)?;
        let gpadl = self.transport.establish_gpadl(&recv)?;
        s.recv_gpadl = Some(gpadl);
        s.recv_buf = Some(recv.clone());
        let reply = self.request_nvsp(&nvsp::Message::SendRecvBuf {
            gpadl_handle: gpadl,
            id: pkt::RECEIVE_BUFFER_ID,
        })?;
        match nvsp::Message::parse(&reply.0[..reply.1], nvsp::Direction::HostToGuest) {
            Ok(nvsp::Message::SendRecvBufComplete { status, sections }) => {
                if status != nvsp::STATUS_SUCCESS {
                    pr_err!("host refused the receive buffer (status {})\n", status);
                    return Err(EIO);
                }
                let sec = sections.get(0).ok_or(EPROTO)?;
                let used = u64::from(sec.sub_alloc_size) * u64::from(sec.num_sub_allocs);
                let end = u64::from(sec.offset) + used;
                if sec.sub_alloc_size == 0 || sec.num_sub_allocs == 0 || end > recv.len() as u64 {
                    pr_err!("host described a receive buffer section outside the buffer\n");
                    return Err(EPROTO);
                }
                s.info.recv_section_size = sec.sub_alloc_size;
                s.info.recv_sections = sec.num_sub_allocs;
            }
            Ok(_) => return Err(EPROTO),
            Err(e) => return Err(self.bad_reply("receive buffer completion", e)),
        }
        let comps = Completions::with_capacity(s.info.recv_sections as usize)?;
        let old = {
            let _bh = net::BhDisabled::new();
            let mut rx = self.rx.lock();
            rx.recv_buf = Some(recv);
            core::mem::replace(&mut rx.comps, comps)
        };
        // Freed outside the lock (vfree may sleep).
        drop(old);

        // Send buffer: the host chooses the section size.
        let send = Arc::new(SharedBuffer::new(SEND_BUF_SIZE)?, GFP_KERNEL)?;
        let gpadl = self.transport.establish_gpadl(&send)?;
        s.send_gpadl = Some(gpadl);
        s.send_buf = Some(send.clone());
        let reply = self.request_nvsp(&nvsp::Message::SendSendBuf {
            gpadl_handle: gpadl,
            id: SEND_BUF_ID,
        })?;
        match nvsp::Message::parse(&reply.0[..reply.1], nvsp::Direction::HostToGuest) {
            Ok(nvsp::Message::SendSendBufComplete {
                status,
                section_size,
            }) => {
                if status != nvsp::STATUS_SUCCESS {
                    pr_err!("host refused the send buffer (status {})\n", status);
                    return Err(EIO);
                }
                if section_size == 0 || section_size as usize > send.len() {
                    pr_err!("host chose an invalid send section size {}\n", section_size);
                    return Err(EPROTO);
                }
                s.info.send_section_size = section_size;
                s.info.send_sections = (send.len() / section_size as usize) as u32;
                if s.info.send_sections < 2 {
                    pr_err!("host's send sections leave none for data\n");
                    return Err(EPROTO);
                }
            }
            Ok(_) => return Err(EPROTO),
            Err(e) => return Err(self.bad_reply("send buffer completion", e)),
        }

        {
            // Every section but the last (control's) is free for data.
            let data = s.info.send_sections - 1;
            let words = data.div_ceil(64) as usize;
            let mut free = KVec::with_capacity(words, GFP_KERNEL)?;
            for w in 0..words as u32 {
                let bits = (data - w * 64).min(64);
                free.push(
                    if bits == 64 {
                        u64::MAX
                    } else {
                        (1u64 << bits) - 1
                    },
                    GFP_KERNEL,
                )?;
            }
            let large = Arc::new(
                SharedBuffer::new(LARGE_SLOT_SIZE * LARGE_SLOTS as usize)?,
                GFP_KERNEL,
            )?;
            let old = {
                let mut tx = self.tx.lock();
                tx.buf = Some(send.clone());
                tx.section_size = s.info.send_section_size;
                tx.free = free;
                tx.large_free = (1 << LARGE_SLOTS) - 1;
                tx.large.replace(large)
            };
            // None after a teardown; dropped (vfree) outside the lock anyway.
            drop(old);
        }

        // RNDIS on top.
        let init = rndis::Message::Init(rndis::InitRequest {
            req_id: self.next_req.fetch_add(1, Relaxed),
            major: rndis::MAJOR_VERSION,
            minor: rndis::MINOR_VERSION,
            max_xfer_size: 0x4000,
        });
        let (buf, len) = self.request_rndis(s, &init)?;
        match rndis::Message::parse(&buf[..len]) {
            Ok(rndis::Message::InitComplete(c)) if c.status == rndis::STATUS_SUCCESS => {
                s.rndis_up = true;
            }
            Ok(rndis::Message::InitComplete(c)) => {
                pr_err!("RNDIS initialisation failed (status {:#x})\n", c.status);
                return Err(EIO);
            }
            Ok(_) => return Err(EPROTO),
            Err(e) => return Err(self.bad_reply("RNDIS init completion", e)),
        }

        let mac = self.query(s, rndis::OID_802_3_PERMANENT_ADDRESS)?;
        if mac.1 != 6 {
            pr_err!("host gave a MAC address of {} bytes\n", mac.1);
            return Err(EPROTO);
        }
        s.info.mac.copy_from_slice(&mac.0[..6]);
        s.info.host_mtu = self.query_u32(s, rndis::OID_GEN_MAXIMUM_FRAME_SIZE)?;
        let link = self.query_u32(s, rndis::OID_GEN_MEDIA_CONNECT_STATUS)?;
        // NDIS media state: 0 connected, 1 disconnected.
        self.ctrl.lock().link_up = link == 0;
        // As upstream: hosts from NVSP 5 tell the speed; an error leaves it
        // unknown.
        if s.info.nvsp_version >= nvsp::VERSION_5 {
            if let Some((buf, len)) = self.query_opt(s, rndis::OID_GEN_LINK_SPEED)? {
                match reply_u32(&buf, len) {
                    Some(v) => self.set_speed(v),
                    None => pr_warn!("host answered the link speed with {} bytes\n", len),
                }
            }
        }
        s.friendly_name = self.friendly_name(s)?;
        s.info.offloads = self.offload_caps(s)?;
        s.info.plan = match &s.info.offloads {
            Some(caps) => self.set_offloads(s, caps)?,
            None => OffloadPlan::default(),
        };
        self.tx.lock().plan = s.info.plan;
        Ok(())
    }

    /// Turns on with the host what we use of its capabilities
    /// (`OID_TCP_OFFLOAD_PARAMETERS`). A host that refuses leaves every
    /// offload off: the stack then does checksums and segmentation.
    fn set_offloads(&self, s: &Setup, caps: &rndis::OffloadCaps) -> Result<OffloadPlan> {
        let plan = OffloadPlan::new(caps, s.info.nvsp_version);
        let mut info = [0u8; offload::OFFLOAD_PARAMETERS_SIZE];
        let size = OffloadPlan::params_size(s.info.nvsp_version);
        let n = plan
            .params_for(s.info.nvsp_version)
            .build(&mut info, size)
            .map_err(|_| EINVAL)?;
        match self.set_status(s, rndis::OID_TCP_OFFLOAD_PARAMETERS, &info[..n])? {
            rndis::STATUS_SUCCESS => Ok(plan),
            status => {
                pr_warn!(
                    "host refused the offload parameters (status {:#x}); offloads stay off\n",
                    status
                );
                Ok(OffloadPlan::default())
            }
        }
    }

    /// The host's offload capabilities (`OID_TCP_OFFLOAD_HARDWARE_CAPABILITIES`).
    /// A host that does not support the OID offers none; one whose answer
    /// does not parse is logged and treated the same.
    fn offload_caps(&self, s: &Setup) -> Result<Option<rndis::OffloadCaps>> {
        let Some((buf, len)) = self.query_opt(s, rndis::OID_TCP_OFFLOAD_HARDWARE_CAPABILITIES)?
        else {
            return Ok(None);
        };
        match rndis::OffloadCaps::parse(&buf[..len]) {
            Ok(c) => Ok(Some(c)),
            Err(e) => {
                pr_warn!("host's offload capabilities ignored: {}\n", e.as_str());
                Ok(None)
            }
        }
    }

    /// The host's friendly name for the NIC (`OID_GEN_FRIENDLY_NAME`,
    /// UTF-16), as UTF-8. A host that has none, or only Hyper-V's default
    /// "Network Adapter", or one that does not decode or fit an alias,
    /// gives `None` (logged when it is malformed).
    fn friendly_name(&self, s: &Setup) -> Result<Option<KVec<u8>>> {
        let Some((buf, len)) = self.query_opt(s, rndis::OID_GEN_FRIENDLY_NAME)? else {
            return Ok(None);
        };
        let mut name = [0u8; net::IFALIAS_MAX];
        match rndis::friendly_name_alias(&buf[..len], &mut name) {
            Ok(0) => Ok(None),
            Ok(n) => {
                let mut v = KVec::with_capacity(n, GFP_KERNEL)?;
                v.extend_from_slice(&name[..n], GFP_KERNEL)?;
                Ok(Some(v))
            }
            Err(e) => {
                pr_warn!("host's friendly name ignored: {}\n", e.as_str());
                Ok(None)
            }
        }
    }

    /// Tries the NVSP versions newest first; returns the one the host took.
    fn negotiate(&self) -> Result<u32> {
        for &v in nvsp::GUEST_VERSIONS.iter() {
            let reply = self.request_nvsp(&nvsp::Message::Init {
                min_version: v,
                max_version: v,
            })?;
            match nvsp::Message::parse(&reply.0[..reply.1], nvsp::Direction::HostToGuest) {
                Ok(nvsp::Message::InitComplete { status, .. })
                    if status == nvsp::STATUS_SUCCESS =>
                {
                    return Ok(v);
                }
                Ok(nvsp::Message::InitComplete { .. }) => continue,
                Ok(_) => return Err(EPROTO),
                Err(e) => return Err(self.bad_reply("NVSP init completion", e)),
            }
        }
        pr_err!("host accepts none of our NVSP versions\n");
        Err(ENODEV)
    }

    fn bad_reply(&self, what: &str, e: crate::proto::error::Error) -> Error {
        pr_err!("malformed {} from host: {}\n", what, e.as_str());
        EPROTO
    }

    fn send_nvsp(&self, msg: &nvsp::Message<'_>) -> Result {
        let mut buf = [0u8; nvsp::MESSAGE_SIZE_V61];
        let len = msg.build(&mut buf).map_err(|_| EINVAL)?;
        self.transport.send_inband(&buf[..len], self.tid(), false)
    }

    /// Sends `msg` asking for a completion and returns the completion's
    /// payload (copied).
    fn request_nvsp(&self, msg: &nvsp::Message<'_>) -> Result<([u8; MAX_REPLY], usize)> {
        let mut buf = [0u8; nvsp::MESSAGE_SIZE_V61];
        let len = msg.build(&mut buf).map_err(|_| EINVAL)?;
        let tid = self.tid();
        self.arm(Pending::Completion { tid });
        if let Err(e) = self.transport.send_inband(&buf[..len], tid, true) {
            self.arm(Pending::None);
            return Err(e);
        }
        self.wait()
    }

    /// Sends an RNDIS control message through the control send section and
    /// returns the host's RNDIS reply (copied).
    fn request_rndis(
        &self,
        s: &Setup,
        msg: &rndis::Message<'_>,
    ) -> Result<([u8; MAX_REPLY], usize)> {
        let (req_id, reply) = match msg {
            rndis::Message::Init(r) => (r.req_id, true),
            rndis::Message::Query(r) | rndis::Message::Set(r) => (r.req_id, true),
            // No RNDIS reply: only the NVSP completion of the send.
            rndis::Message::Halt { req_id } => (*req_id, false),
            _ => return Err(EINVAL),
        };
        let send = s.send_buf.as_ref().ok_or(EINVAL)?;
        let mut buf = [0u8; 256];
        let len = msg.build(&mut buf).map_err(|_| EINVAL)?;
        // The last send section is reserved for control messages, which are
        // serialised by the setup lock.
        let section = s.info.send_sections.checked_sub(1).ok_or(EINVAL)?;
        let offset = section as usize * s.info.send_section_size as usize;
        if len > s.info.send_section_size as usize {
            return Err(EMSGSIZE);
        }
        send.write(offset, &buf[..len])?;
        let tid = self.tid();
        self.arm(if reply {
            Pending::Rndis {
                tid,
                req_id,
                completed: false,
                replied: false,
            }
        } else {
            Pending::Completion { tid }
        });
        let nv = nvsp::Message::SendRndisPacket {
            channel_type: nvsp::CHANNEL_TYPE_CONTROL,
            section_index: section,
            section_size: len as u32,
        };
        let mut nb = [0u8; nvsp::MESSAGE_SIZE_V61];
        let nlen = nv.build(&mut nb).map_err(|_| EINVAL)?;
        if let Err(e) = self.transport.send_inband(&nb[..nlen], tid, true) {
            self.arm(Pending::None);
            return Err(e);
        }
        if !reply {
            // Waited for with the data sends, see `quiesce`.
            return Ok(([0; MAX_REPLY], 0));
        }
        self.wait()
    }

    /// Queries `oid`; `None` if the host answers with an error status (an
    /// optional OID it does not support).
    fn query_opt(&self, s: &Setup, oid: u32) -> Result<Option<([u8; MAX_REPLY], usize)>> {
        match self.query_status(s, oid)? {
            Ok(reply) => Ok(Some(reply)),
            Err(_) => Ok(None),
        }
    }

    fn query(&self, s: &Setup, oid: u32) -> Result<([u8; MAX_REPLY], usize)> {
        self.query_status(s, oid)?.map_err(|status| {
            pr_err!(
                "host failed query of OID {:#x} (status {:#x})\n",
                oid,
                status
            );
            EIO
        })
    }

    /// Queries `oid`: the answer, or the host's error status.
    fn query_status(
        &self,
        s: &Setup,
        oid: u32,
    ) -> Result<core::result::Result<([u8; MAX_REPLY], usize), u32>> {
        let req_id = self.next_req.fetch_add(1, Relaxed);
        let q = rndis::Message::Query(rndis::OidRequest {
            req_id,
            oid,
            dev_vc_handle: 0,
            info: &[],
        });
        let (buf, len) = self.request_rndis(s, &q)?;
        match rndis::Message::parse(&buf[..len]) {
            Ok(rndis::Message::QueryComplete(c)) if c.status == rndis::STATUS_SUCCESS => {
                let mut out = [0u8; MAX_REPLY];
                let n = c.info.len().min(MAX_REPLY);
                out[..n].copy_from_slice(&c.info[..n]);
                Ok(Ok((out, n)))
            }
            Ok(rndis::Message::QueryComplete(c)) => Ok(Err(c.status)),
            Ok(_) => Err(EPROTO),
            Err(e) => Err(self.bad_reply("RNDIS query completion", e)),
        }
    }

    fn query_u32(&self, s: &Setup, oid: u32) -> Result<u32> {
        let (buf, len) = self.query(s, oid)?;
        reply_u32(&buf, len).ok_or_else(|| {
            pr_err!("host answered OID {:#x} with {} bytes\n", oid, len);
            EPROTO
        })
    }

    fn arm(&self, p: Pending) {
        let mut c = self.ctrl.lock();
        c.pending = p;
        c.failed = false;
        c.reply_len = 0;
    }

    /// Waits for the armed request to finish; returns the reply.
    fn wait(&self) -> Result<([u8; MAX_REPLY], usize)> {
        let mut left = kernel::time::msecs_to_jiffies(CONTROL_TIMEOUT_MS);
        // Bounds the rounds spent on a host that keeps the ring busy
        // without ever answering (each round serves one batch).
        let mut rounds = 0u32;
        loop {
            // Before the interface exists (or while NAPI is off for a
            // channel reset) nobody polls the channel: the waiter drains it
            // itself, in process context, bottom halves off (the same lock
            // is taken by NAPI polls).
            let mut more = false;
            if !self.polled() {
                let _bh = net::BhDisabled::new();
                more = self.drain(None, None, u32::MAX).more;
            }
            rounds += 1;
            let mut c = self.ctrl.lock();
            // Nothing more is taken from a channel found unusable: fail now
            // rather than at the timeout.
            if self.broken.load(Relaxed) != 0 {
                c.pending = Pending::None;
                return Err(EIO);
            }
            let done = match c.pending {
                Pending::None => true,
                Pending::Completion { .. } => false,
                Pending::Rndis {
                    completed, replied, ..
                } => completed && replied,
            };
            if done || c.failed {
                c.pending = Pending::None;
                if c.failed {
                    return Err(EIO);
                }
                return Ok((c.reply, c.reply_len));
            }
            // Packets left, or an event since the drain above: drain again
            // before sleeping.
            if (core::mem::take(&mut c.kick) || more) && rounds < 10_000 {
                continue;
            }
            match self.ctrl_wait.wait_interruptible_timeout(&mut c, left) {
                CondVarTimeoutResult::Woken { jiffies } => left = jiffies,
                CondVarTimeoutResult::Timeout => {
                    c.pending = Pending::None;
                    pr_err!(
                        "host did not answer a control request in {} ms\n",
                        CONTROL_TIMEOUT_MS
                    );
                    return Err(ETIMEDOUT);
                }
                CondVarTimeoutResult::Signal { .. } => {
                    c.pending = Pending::None;
                    return Err(EINTR);
                }
            }
        }
    }

    /// Whether NAPI drains the channel (see [`Iface::polled`]).
    fn polled(&self) -> bool {
        self.ndev.lock().as_ref().is_some_and(|i| i.polled)
    }

    fn set_polled(&self, polled: bool) {
        let mut ndev = self.ndev.lock();
        if let Some(i) = &mut *ndev {
            i.polled = polled;
        }
    }

    /// Changes the MTU the host carries to `mtu`: NVSP takes the NDIS MTU
    /// only right after INIT, so the channel is closed and set up again
    /// with the interface kept (as upstream does). A host that does not
    /// configure `mtu` (it answers with a smaller one) gets the old one
    /// back and the change fails with `EINVAL`; a failed set-up is retried
    /// with the old MTU. RTNL held (`ndo_change_mtu`); the caller stores
    /// the MTU on success.
    pub(crate) fn renegotiate_mtu(
        this: &Arc<Self>,
        dev: &net::Device<NetvscNic>,
        mtu: u32,
    ) -> Result {
        let old = dev.mtu();
        let name = dev.name();
        let err = match this.reinit(dev, mtu) {
            Ok(host) if host >= mtu => return Ok(()),
            Ok(host) => {
                pr_warn!(
                    "{}: host refused MTU {} (it configured {}); keeping {}\n",
                    name.as_cstr(),
                    mtu,
                    host,
                    old
                );
                EINVAL
            }
            Err(e) => {
                pr_err!(
                    "{}: re-initialising the channel for MTU {} failed: {:?}\n",
                    name.as_cstr(),
                    mtu,
                    e
                );
                e
            }
        };
        if let Err(e) = this.reinit(dev, old) {
            pr_err!(
                "{}: restoring the channel with MTU {} failed: {:?}; no synthetic traffic until the device is re-added\n",
                name.as_cstr(),
                old,
                e
            );
        }
        Err(err)
    }

    /// Closes the channel and sets it up again for `mtu`, keeping the
    /// interface: transmissions and NAPI are stopped meanwhile, the receive
    /// filter, carrier and MAC address are given to the new channel, and
    /// the failover state learns that the host forgot the data path.
    /// Returns the MTU the host configured. On error the channel stays
    /// closed (the interface keeps no carrier).
    fn reinit(self: &Arc<Self>, dev: &net::Device<NetvscNic>, mtu: u32) -> Result<u32> {
        dev.tx_disable();
        self.set_polled(false);
        // Waits for a poll in progress; none runs after.
        if let Err(e) = dev.napi_disable(0) {
            self.set_polled(true);
            if dev.is_running() {
                dev.wake_all_queues();
            }
            return Err(e);
        }
        // Control requests drain the channel now: they need the host's
        // signals, which the last poll may have left masked.
        self.transport.end_read();
        // What the host sent before the reset (a VF withdrawal, say) is
        // taken before its channel goes; frames are dropped (counted).
        {
            let _bh = net::BhDisabled::new();
            self.drain(None, None, u32::MAX);
        }
        self.host_event(crate::failover_core::datapath::Event::ChannelReset);
        let old_plan = self.tx.lock().plan;
        let result = {
            let mut s = self.setup.lock();
            self.teardown_locked(&mut s);
            // A new session: whatever the old channel did wrong is gone
            // with it.
            self.broken.store(0, Relaxed);
            let r = self.probe_locked(&mut s, mtu);
            if r.is_err() {
                self.teardown_locked(&mut s);
            }
            // Probe's alone (it became the alias).
            s.friendly_name = None;
            r.map(|()| (s.info.host_mtu, s.info.plan))
        };
        self.set_polled(true);
        dev.napi_enable(0)?;
        let (host_mtu, plan) = match result {
            Ok(r) => r,
            Err(e) => {
                dev.carrier_off();
                return Err(e);
            }
        };
        // The new session may do other offloads than the old (a host that
        // now refuses the parameters): the interface offers what it does.
        if plan != old_plan {
            pr_info!(
                "{}: offloads in use now: {}\n",
                dev.name().as_cstr(),
                format_args!("{}", plan)
            );
            dev.update_offloads(OFFLOAD_FEATURES, offload_features(&plan), plan.tso_max());
        }
        // The host's NetworkAddress belongs to the old session.
        let mac = dev.mac();
        if mac != self.mac() {
            if let Err(e) = self.set_host_mac(&mac) {
                pr_warn!("the new channel refused the interface's MAC: {:?}\n", e);
            }
        }
        if dev.is_running() {
            if let Err(e) = self.set_filter(nic::filter_for(dev.rx_mode())) {
                pr_warn!("programming the receive filter failed: {:?}\n", e);
            }
        }
        if self.link_up() {
            dev.carrier_on();
        } else {
            dev.carrier_off();
        }
        if dev.is_running() {
            dev.wake_all_queues();
        }
        // Packets that arrived meanwhile are picked up by a poll now.
        let _bh = net::BhDisabled::new();
        self.on_event();
        Ok(host_mtu)
    }

    /// Stops the host's use of the channel before teardown, as upstream's
    /// `rndis_filter_halt_device`: RNDIS HALT (no reply, only the send's
    /// completion), then a wait, bounded by [`QUIESCE_TIMEOUT_MS`], for the
    /// host to complete every send still outstanding. Nobody polls the
    /// channel now (the interface is gone, or NAPI is off for a reset), so
    /// the wait drains it itself.
    fn quiesce(&self, s: &mut Setup) {
        if !core::mem::take(&mut s.rndis_up) {
            return;
        }
        let halt = rndis::Message::Halt {
            req_id: self.next_req.fetch_add(1, Relaxed),
        };
        if let Err(e) = self.request_rndis(s, &halt) {
            // A dead (rescinded) channel completes nothing: no wait.
            pr_warn!("RNDIS HALT not sent ({:?}); tearing down at once\n", e);
            return;
        }
        let data = s.info.send_sections.saturating_sub(1);
        let mut waited = 0;
        loop {
            if !self.polled() {
                let _bh = net::BhDisabled::new();
                self.drain(None, None, u32::MAX);
            }
            let sends = self.tx.lock().in_flight(data);
            let halt = !matches!(self.ctrl.lock().pending, Pending::None);
            if sends == 0 && !halt {
                return;
            }
            if waited >= QUIESCE_TIMEOUT_MS || self.broken.load(Relaxed) != 0 {
                pr_warn!(
                    "host left {} sends{} uncompleted after {} ms; tearing down anyway\n",
                    sends,
                    if halt { " and the HALT" } else { "" },
                    waited
                );
                self.arm(Pending::None);
                return;
            }
            kernel::time::delay::fsleep(kernel::time::Delta::from_millis(1));
            waited += 1;
        }
    }

    /// Undoes probe: halts RNDIS and waits for outstanding sends, revokes
    /// the buffers, closes the channel, then revokes the GPADLs (the host
    /// must not touch the memory once they are gone). A buffer whose GPADL
    /// the host did not let go of is never freed: the host may still write
    /// it (upstream leaks it too).
    fn teardown_locked(&self, s: &mut Setup) {
        if s.opened {
            self.quiesce(s);
            if s.recv_gpadl.is_some() {
                let _ = self.send_nvsp(&nvsp::Message::RevokeRecvBuf {
                    id: pkt::RECEIVE_BUFFER_ID,
                });
            }
            if s.send_gpadl.is_some() {
                let _ = self.send_nvsp(&nvsp::Message::RevokeSendBuf { id: SEND_BUF_ID });
            }
            self.transport.close();
            s.opened = false;
        }
        for (g, buf) in [
            (s.recv_gpadl.take(), s.recv_buf.as_ref()),
            (s.send_gpadl.take(), s.send_buf.as_ref()),
        ] {
            let Some(g) = g else { continue };
            if let Err(e) = self.transport.teardown_gpadl(g) {
                let len = buf.map_or(0, |b| b.len());
                pr_err!(
                    "GPADL {} teardown failed ({:?}): its {} bytes stay allocated, the host may still write them\n",
                    g,
                    e,
                    len
                );
                if let Some(b) = buf {
                    b.keep_forever();
                }
            }
        }
        let comps = {
            let _bh = net::BhDisabled::new();
            let mut rx = self.rx.lock();
            rx.recv_buf = None;
            // The completions were for the host's sections of this channel.
            core::mem::take(&mut rx.comps)
        };
        // Freed outside the lock (vfree may sleep).
        drop(comps);
        {
            // The large buffer is the Tx's alone: freed (vfree, which may
            // sleep) after the lock is released.
            let large = {
                let mut tx = self.tx.lock();
                tx.buf = None;
                tx.free = KVec::new();
                tx.large_free = 0;
                tx.large.take()
            };
            drop(large);
        }
        s.recv_buf = None;
        s.send_buf = None;
    }

    /// Unbinds from the host: the reverse of [`NetvscDevice::probe`]. The
    /// interface goes first (no more opens, sends or filters), then the
    /// channel and buffers.
    pub(crate) fn remove(this: &Arc<Self>) {
        // The VF goes first: switch back, release (under RTNL).
        crate::failover::remove(this);
        // Taken under RTNL, so no failover work holds a reference after;
        // dropped outside it: unregistering sleeps and takes RTNL itself.
        let netdev = {
            let _rtnl = net::Rtnl::lock();
            this.ndev.lock().take()
        };
        drop(netdev);
        // Nothing arms it without the interface.
        if let Some(t) = this.network_change_timer.as_ref() {
            t.cancel_sync();
        }
        // No poll any more: teardown's requests drain the channel and need
        // the host's signals, which the last poll may have left masked.
        this.transport.end_read();
        this.set_vf_tx(None);
        let mut setup = this.setup.lock();
        this.teardown_locked(&mut setup);
    }

    /// Programs the host's receive filter (`OID_GEN_CURRENT_PACKET_FILTER`).
    pub(crate) fn set_filter(&self, filter: u32) -> Result {
        self.rndis_set(rndis::OID_GEN_CURRENT_PACKET_FILTER, &filter.to_le_bytes())
    }

    /// Asks the host to use `mac` for this NIC (the `NetworkAddress`
    /// configuration parameter, as 12 hexadecimal digits).
    pub(crate) fn set_host_mac(&self, mac: &net::MacAddr) -> Result {
        let hex = rndis::mac_to_hex(mac);
        let hex = core::str::from_utf8(&hex).map_err(|_| EINVAL)?;
        let mut info = [0u8; 96];
        let n =
            rndis::ConfigParam::build_string(&mut info, rndis::CONFIG_PARAM_NETWORK_ADDRESS, hex)
                .map_err(|_| EINVAL)?;
        self.rndis_set(rndis::OID_GEN_RNDIS_CONFIG_PARAMETER, &info[..n])
    }

    /// One RNDIS set request, completion awaited: `EIO` if the host
    /// answers with an error status.
    fn rndis_set(&self, oid: u32, info: &[u8]) -> Result {
        let s = self.setup.lock();
        if !s.opened {
            return Err(ENODEV);
        }
        match self.set_status(&s, oid, info)? {
            rndis::STATUS_SUCCESS => Ok(()),
            status => {
                pr_warn!("host refused RNDIS set {:#x}: status {:#x}\n", oid, status);
                Err(EIO)
            }
        }
    }

    /// One RNDIS set request on an open channel: the host's status.
    fn set_status(&self, s: &Setup, oid: u32, info: &[u8]) -> Result<u32> {
        let req_id = self.next_req.fetch_add(1, Relaxed);
        let m = rndis::Message::Set(rndis::OidRequest {
            req_id,
            oid,
            dev_vc_handle: 0,
            info,
        });
        let (buf, len) = self.request_rndis(s, &m)?;
        match rndis::Message::parse(&buf[..len]) {
            Ok(rndis::Message::SetComplete(c)) => Ok(c.status),
            Ok(_) => Err(EPROTO),
            Err(e) => Err(self.bad_reply("RNDIS set completion", e)),
        }
    }

    /// Sends one frame: RNDIS packet header and frame copied into a free
    /// send section, announced to the host, section freed by its completion.
    fn xmit(&self, dev: &net::Device<NetvscNic>, skb: net::SkBuff) -> net::NetdevTx {
        let len = skb.len();
        let skb = self.vf_tx.with(|vf| match vf {
            Some(vf) if vf.is_running() && vf.carrier_ok() => {
                match vf.xmit(skb) {
                    Ok(()) => {
                        self.vf_tx_packets.fetch_add(1, Relaxed);
                        self.vf_tx_bytes.fetch_add(u64::from(len), Relaxed);
                    }
                    Err(_) => {
                        self.vf_tx_dropped.fetch_add(1, Relaxed);
                    }
                }
                None
            }
            _ => Some(skb),
        });
        let Some(skb) = skb else {
            return net::NetdevTx::Ok;
        };
        let meta = skb.tx_offloads();
        let hw_tag = skb.vlan_tag();
        let inline_tag = hw_tag.is_none() && skb.protocol() == vlan::ETH_P_8021Q;
        let mut tx = self.tx.lock();
        let Some(buf) = tx.buf.clone() else {
            skb.free();
            return net::NetdevTx::Ok;
        };
        let plan = tx.plan;
        // The frame is staged first: offloads edit headers in this copy,
        // never in the skb (which may be shared or cloned).
        let staged = match tx.scratch.get_mut(..len as usize) {
            Some(frame) => match skb.copy_bits(0, frame) {
                Ok(()) => Self::tx_stage(frame, meta, hw_tag, inline_tag, &plan),
                Err(_) => Err(TxDrop::Other),
            },
            None => Err(TxDrop::Other),
        };
        let mut hdr = [0u8; TX_HEADER_MAX];
        let built = staged.and_then(|st| {
            let mut info = st.offload.packet_info();
            info.vlan = st.tag.map(|t| t.info());
            match rndis::build_packet_header(&mut hdr, &info, st.len as u32) {
                Ok(n) => Ok((st, n)),
                Err(_) => Err(TxDrop::Other),
            }
        });
        let (st, hlen) = match built {
            Ok(b) => b,
            Err(why) => {
                drop(tx);
                match why {
                    TxDrop::Vlan => self.vlan_error.fetch_add(1, Relaxed),
                    TxDrop::Other => self.tx_too_big.fetch_add(1, Relaxed),
                };
                skb.free();
                return net::NetdevTx::Ok;
            }
        };
        let total = hlen + st.len;
        if total > tx.section_size as usize {
            return self.xmit_large(dev, tx, skb, &hdr[..hlen], st);
        }
        let Some(section) = tx.alloc() else {
            self.tx_busy.fetch_add(1, Relaxed);
            dev.stop_queue();
            return net::NetdevTx::Busy(skb);
        };
        let offset = section as usize * tx.section_size as usize;
        let frame = &tx.scratch[st.start..st.start + st.len];
        let staged =
            buf.write(offset, &hdr[..hlen]).is_ok() && buf.write(offset + hlen, frame).is_ok();
        if !staged {
            tx.release(section);
            self.tx_too_big.fetch_add(1, Relaxed);
            skb.free();
            return net::NetdevTx::Ok;
        }
        let msg = nvsp::Message::SendRndisPacket {
            channel_type: nvsp::CHANNEL_TYPE_DATA,
            section_index: section,
            section_size: total as u32,
        };
        let mut nb = [0u8; nvsp::MESSAGE_SIZE_V61];
        let sent = match msg.build(&mut nb) {
            Ok(n) => self
                .transport
                .send_inband(&nb[..n], TX_TAG | u64::from(section), true),
            Err(_) => Err(EINVAL),
        };
        self.sent(dev, tx, sent, skb, st, |tx| {
            tx.release(section);
        })
    }

    /// Prepares the staged copy `frame` of a send: its 802.1Q tag, which
    /// the host takes as per-packet info only (`hw_tag`, the stack's
    /// out-of-band tag, or with `inline` an 802.1Q header still in the
    /// frame, as raw sends such as `AF_PACKET` leave it: moved out of the
    /// copy, as upstream does), then its offloads.
    fn tx_stage(
        frame: &mut [u8],
        mut meta: net::TxOffloads,
        hw_tag: Option<(u16, u16)>,
        inline: bool,
        plan: &OffloadPlan,
    ) -> core::result::Result<TxFrame, TxDrop> {
        let (tag, start) = match hw_tag {
            Some((proto, tci)) if proto == vlan::ETH_P_8021Q => {
                (Some(vlan::Tag::from_tci(tci).map_err(|_| TxDrop::Vlan)?), 0)
            }
            // Only 802.1Q is offered (no NETIF_F_HW_VLAN_STAG_TX).
            Some(_) => return Err(TxDrop::Vlan),
            None if inline => match vlan::strip_inline(frame) {
                Ok(Some(t)) => {
                    if let Some((cs, co)) = meta.csum {
                        // The checksum start moves with the data; one
                        // inside the Ethernet header or the tag is bogus.
                        let cs = cs
                            .checked_sub(vlan::VLAN_HLEN as u32)
                            .filter(|&cs| cs >= crate::bindings::ETH_HLEN)
                            .ok_or(TxDrop::Vlan)?;
                        meta.csum = Some((cs, co));
                    }
                    (Some(t), vlan::VLAN_HLEN)
                }
                Ok(None) => (None, 0),
                Err(_) => return Err(TxDrop::Vlan),
            },
            None => (None, 0),
        };
        let frame = frame.get_mut(start..).ok_or(TxDrop::Other)?;
        let len = frame.len();
        let offload = Self::tx_offload(frame, meta, plan).ok_or(TxDrop::Other)?;
        Ok(TxFrame {
            offload,
            tag,
            start,
            len,
        })
    }

    /// What the host is to do with a staged frame (its headers edited as
    /// the offload needs); `None` if the stack's request cannot be met (a
    /// segmentation send of a kind never offered, or inconsistent
    /// metadata), and the frame is dropped.
    fn tx_offload(
        frame: &mut [u8],
        meta: net::TxOffloads,
        plan: &OffloadPlan,
    ) -> Option<TxOffload> {
        if meta.other_gso {
            return None;
        }
        let csum = match meta.csum {
            Some((start, off)) => Some((u16::try_from(start).ok()?, u16::try_from(off).ok()?)),
            None => None,
        };
        let m = offload::TxMeta {
            csum,
            tso: meta.tso,
        };
        offload::prepare_tx(frame, &m, plan).ok()
    }

    /// Accounts for a send: on success the skb is consumed; if the channel
    /// is full the buffer goes back (`release`) and the queue stops with
    /// the skb returned; any other error drops it.
    fn sent(
        &self,
        dev: &net::Device<NetvscNic>,
        mut tx: kernel::sync::SpinLockIrqGuard<'_, Tx>,
        sent: Result,
        skb: net::SkBuff,
        st: TxFrame,
        release: impl FnOnce(&mut Tx),
    ) -> net::NetdevTx {
        match sent {
            Ok(()) => {
                drop(tx);
                if st.tag.is_some() {
                    self.tx_vlan.fetch_add(1, Relaxed);
                }
                match st.offload {
                    TxOffload::None => {}
                    TxOffload::Checksum(_) => {
                        self.tx_checksum_offload.fetch_add(1, Relaxed);
                    }
                    TxOffload::Lso(_) => {
                        self.tx_lso.fetch_add(1, Relaxed);
                    }
                }
                self.tx_packets.fetch_add(1, Relaxed);
                self.tx_bytes.fetch_add(u64::from(skb.len()), Relaxed);
                skb.consume();
                net::NetdevTx::Ok
            }
            Err(e) if e == EAGAIN => {
                // The ring is full, possibly of receive completions with
                // no send of ours outstanding: no send completion may come
                // to wake the queue, so the host is asked to signal space.
                release(&mut tx);
                drop(tx);
                self.tx_busy.fetch_add(1, Relaxed);
                self.stop_queue.fetch_add(1, Relaxed);
                dev.stop_queue();
                self.tx_space_wait.store(1, Relaxed);
                if self.await_space() {
                    // Freed meanwhile: the host will not signal it.
                    self.tx_space_wait.store(0, Relaxed);
                    self.wake_queue.fetch_add(1, Relaxed);
                    dev.wake_queue();
                }
                net::NetdevTx::Busy(skb)
            }
            Err(_) => {
                release(&mut tx);
                self.tx_too_big.fetch_add(1, Relaxed);
                skb.free();
                net::NetdevTx::Ok
            }
        }
    }

    /// Sends a frame too large for a send section: header and the staged
    /// frame are copied into a large slot, which the host reads as
    /// GPA-direct pages; its completion frees the slot.
    fn xmit_large(
        &self,
        dev: &net::Device<NetvscNic>,
        mut tx: kernel::sync::SpinLockIrqGuard<'_, Tx>,
        skb: net::SkBuff,
        hdr: &[u8],
        st: TxFrame,
    ) -> net::NetdevTx {
        let len = st.len;
        if tx.large.is_none() {
            skb.free();
            return net::NetdevTx::Ok;
        }
        let Some(slot) = tx.alloc_large() else {
            self.tx_busy.fetch_add(1, Relaxed);
            dev.stop_queue();
            return net::NetdevTx::Busy(skb);
        };
        let offset = slot as usize * LARGE_SLOT_SIZE;
        let total = hdr.len() + len;
        let mut pages = [PageRange::default(); LARGE_SLOT_SIZE / 4096 + 1];
        // Borrowed, not cloned: the last reference is only ever dropped by
        // teardown, outside the lock (vfree may sleep).
        let Tx { large, scratch, .. } = &mut *tx;
        let (Some(large), Some(frame)) = (large.as_ref(), scratch.get(st.start..st.start + len))
        else {
            tx.release_large(slot);
            skb.free();
            return net::NetdevTx::Ok;
        };
        let staged = total <= LARGE_SLOT_SIZE
            && large.write(offset, hdr).is_ok()
            && large.write(offset + hdr.len(), frame).is_ok();
        let npages = match large.page_ranges(offset, total, &mut pages) {
            Ok(n) if staged => n,
            _ => {
                tx.release_large(slot);
                self.tx_too_big.fetch_add(1, Relaxed);
                skb.free();
                return net::NetdevTx::Ok;
            }
        };
        let msg = nvsp::Message::SendRndisPacket {
            channel_type: nvsp::CHANNEL_TYPE_DATA,
            section_index: nvsp::NO_SECTION,
            section_size: 0,
        };
        let mut nb = [0u8; nvsp::MESSAGE_SIZE_V61];
        let tid = TX_TAG | LARGE_TID_BIT | u64::from(slot);
        let sent = match msg.build(&mut nb) {
            Ok(n) => self
                .transport
                .send_gpa_direct(&nb[..n], &pages[..npages], tid),
            Err(_) => Err(EINVAL),
        };
        self.sent(dev, tx, sent, skb, st, |tx| {
            tx.release_large(slot);
        })
    }

    /// The host signalled the channel: packets for us, or ring space we
    /// asked for. Any context, hard IRQ included (the Hyper-V transport's
    /// `HV_CALL_ISR` callback).
    pub(crate) fn on_event(&self) {
        if self.broken.load(Relaxed) != 0 {
            return;
        }
        {
            let ndev = self.ndev.lock();
            if let Some(i) = ndev.as_ref().filter(|i| i.polled) {
                // No more signals for new packets until the poll has looked
                // at the ring (`end_read` in `poll`), as upstream's
                // netvsc_channel_cb.
                self.transport.begin_read();
                i.reg.device().napi_schedule(0);
                return;
            }
        }
        // No interface yet (probe), any more (remove), or the channel is
        // being re-initialised: wake the control request waiting, which
        // drains the channel itself. This may run in any context (even with
        // interrupts off), so nothing more here.
        let mut c = self.ctrl.lock();
        c.kick = true;
        self.ctrl_wait.notify_all();
    }

    /// NAPI poll: drains host packets, handing frames to the stack, and
    /// sends what waited for ring space.
    pub(crate) fn poll(&self, dev: &net::Device<NetvscNic>, napi: &mut net::NapiPoll<'_>) -> u32 {
        let budget = napi.budget();
        let d = self.drain(Some(dev), Some(napi), budget);
        let work = d.delivered;
        Self::kick_failover(&dev.data().dev);
        self.wake_tx_on_space(dev, d.comps_waiting);
        if d.more {
            // Batch cap reached with packets left: poll again, do not wait
            // for another host signal.
            return budget;
        }
        if work < budget && napi.complete_done(work) {
            // Host interrupts on again. Packets that came while they were
            // masked are not signalled, and space the host freed before we
            // asked for it neither: look, and poll again for either.
            let pending = self.transport.end_read();
            if pending || self.space_awaited_and_free(d.comps_waiting) {
                self.transport.begin_read();
                dev.napi_schedule(0);
            }
        }
        work
    }

    /// Whether something waits for ring space (receive completions, as the
    /// drain left them, or a stopped TX queue) and the ring has it now.
    fn space_awaited_and_free(&self, comps_waiting: bool) -> bool {
        let waiting = self.tx_space_wait.load(Relaxed) != 0 || comps_waiting;
        waiting && self.transport.write_avail() >= SEND_SPACE_WANTED
    }

    /// Wakes a TX queue stopped for ring space once the host made room;
    /// the space request stays for receive completions still waiting.
    fn wake_tx_on_space(&self, dev: &net::Device<NetvscNic>, comps_waiting: bool) {
        if self.tx_space_wait.load(Relaxed) == 0 || self.transport.write_avail() < SEND_SPACE_WANTED
        {
            return;
        }
        self.tx_space_wait.store(0, Relaxed);
        if !comps_waiting {
            self.transport.want_write_space(0);
        }
        if dev.queue_stopped() {
            self.wake_queue.fetch_add(1, Relaxed);
            dev.wake_queue();
        }
    }

    /// A send found the ring full: asks the host to signal when space
    /// returns, then looks again (the host signals only when its reading
    /// crosses the mark, and it may have read everything already).
    /// Returns whether the space is there now.
    fn await_space(&self) -> bool {
        self.transport.want_write_space(SEND_SPACE_WANTED);
        self.transport.write_avail() >= SEND_SPACE_WANTED
    }

    /// Consumes host packets until the ring is empty, `budget` frames went
    /// up the stack, or a bounded batch was served (a host that keeps the
    /// ring full is served in turns).
    fn drain(
        &self,
        dev: Option<&net::Device<NetvscNic>>,
        napi: Option<&mut net::NapiPoll<'_>>,
        budget: u32,
    ) -> Drained {
        let mut rx = self.rx.lock();
        let mut more = true;
        let Rx {
            pkt,
            range,
            recv_buf,
            comps,
        } = &mut *rx;
        self.retry_completions(comps);
        let mut sink = Sink {
            dev,
            napi,
            comps,
            delivered: 0,
        };
        for _ in 0..256 {
            if sink.delivered >= budget {
                break;
            }
            let n = match self.transport.recv(pkt) {
                Ok(0) => {
                    more = false;
                    break;
                }
                Ok(n) => n,
                Err(e) => {
                    // A packet we cannot take stays in the ring forever:
                    // stop serving this host rather than spin on it.
                    pr_err!("cannot receive from host ({:?}); device disabled\n", e);
                    self.broken.store(1, Relaxed);
                    more = false;
                    break;
                }
            };
            self.handle_packet(&pkt[..n], range, recv_buf.as_deref(), &mut sink);
        }
        Drained {
            delivered: sink.delivered,
            more,
            comps_waiting: !sink.comps.is_empty(),
        }
    }

    /// Queues a host failover event for the work item (any context); the
    /// poll (or probe, before there is one) schedules the work.
    fn host_event(&self, ev: crate::failover_core::datapath::Event) {
        if !self.host_events.lock().push(ev) {
            pr_warn!("failover event queue full; event dropped\n");
        }
        self.fo_pending.store(1, Relaxed);
    }

    /// Next queued host event (the work item).
    pub(crate) fn pop_host_event(&self) -> Option<crate::failover_core::datapath::Event> {
        self.host_events.lock().pop()
    }

    /// Queues the failover work item (no-op when already queued).
    pub(crate) fn schedule_failover_work(this: &Arc<Self>) {
        let _ = net::failover_queue().enqueue(this.clone());
    }

    /// Schedules the work item if host events are waiting.
    fn kick_failover(this: &Arc<Self>) {
        if this.fo_pending.xchg(0, Relaxed) != 0 {
            Self::schedule_failover_work(this);
        }
    }

    /// The interface, if registered.
    pub(crate) fn registration(&self) -> Option<Arc<net::Registration<NetvscNic>>> {
        self.ndev.lock().as_ref().map(|i| i.reg.clone())
    }

    /// The VF receive context, while the interface is registered.
    pub(crate) fn vf_rx(&self) -> Option<Arc<net::VfRx>> {
        self.ndev.lock().as_ref().map(|i| i.vf_rx.clone())
    }

    /// Whether `dev` is our interface.
    pub(crate) fn owns_netdev(&self, dev: &net::ForeignNetdev) -> bool {
        self.ndev
            .lock()
            .as_ref()
            .is_some_and(|i| dev.is_device(i.reg.device()))
    }

    /// The host's MAC for this NIC.
    pub(crate) fn mac(&self) -> [u8; 6] {
        self.setup.lock().info.mac
    }

    /// Sends NVSP switch-data-path and waits for the host's completion, as
    /// upstream does (so "switched from VF" precedes "VF unregistering").
    /// Returns whether the host accepted it; `ETIMEDOUT` when it did not
    /// answer in time. Process context (RTNL held by the caller); the
    /// completion is taken by the NAPI poll, which needs no RTNL.
    pub(crate) fn send_switch(&self, to_vf: bool) -> Result<bool> {
        let active = if to_vf {
            nvsp::DataPath::Vf
        } else {
            nvsp::DataPath::Synthetic
        };
        let mut buf = [0u8; nvsp::MESSAGE_SIZE_V61];
        let len = nvsp::Message::SwitchDataPath { active }
            .build(&mut buf)
            .map_err(|_| EINVAL)?;
        self.ctrl.lock().switch_result = None;
        self.transport.send_inband(&buf[..len], SWITCH_TID, true)?;
        let mut left = kernel::time::msecs_to_jiffies(SWITCH_TIMEOUT_MS);
        let mut c = self.ctrl.lock();
        loop {
            if let Some(ok) = c.switch_result.take() {
                return Ok(ok);
            }
            match self.ctrl_wait.wait_interruptible_timeout(&mut c, left) {
                CondVarTimeoutResult::Woken { jiffies } => left = jiffies,
                _ => return Err(ETIMEDOUT),
            }
        }
    }

    /// The joined VF, if any (a new reference; the lock is not kept).
    pub(crate) fn joined_vf(&self) -> Option<net::VfRef> {
        self.failover.lock().vf.clone()
    }

    /// Steers transmissions through `vf` (or back to synthetic with `None`).
    /// Process context: waits for transmissions still using the old VF.
    pub(crate) fn set_vf_tx(&self, vf: Option<net::VfRef>) {
        self.vf_tx.set(vf);
    }

    /// The `vf_*` counters: rx packets, rx bytes, tx packets, tx bytes, tx
    /// dropped.
    pub(crate) fn vf_counters(&self) -> [u64; 5] {
        let (rp, rb) = self.vf_rx().map_or((0, 0), |r| r.stats());
        [
            rp,
            rb,
            self.vf_tx_packets.load(Relaxed),
            self.vf_tx_bytes.load(Relaxed),
            self.vf_tx_dropped.load(Relaxed),
        ]
    }

    fn bad(&self, what: &str, e: crate::proto::error::Error) {
        self.reject(what, format_args!("{}", e.as_str()), e as usize);
    }

    /// Counts and logs a host packet dropped for `why`. Rate-limited per
    /// `key` (a protocol error kind or a `REJECT_*` reason): the first
    /// `REJECT_LOG_FIRST`, then every power of two, so a misbehaving host
    /// cannot flood the log while a new kind of fault is still reported.
    fn reject(&self, what: &str, why: core::fmt::Arguments<'_>, key: usize) {
        let total = self.bad_packets.fetch_add(1, Relaxed) + 1;
        let n = self.rejects[key.min(REJECT_KEYS - 1)].fetch_add(1, Relaxed) + 1;
        if n <= REJECT_LOG_FIRST || n.is_power_of_two() {
            pr_warn!(
                "dropped malformed {} from host: {} ({} of this kind, {} in all)\n",
                what,
                why,
                n,
                total
            );
        }
    }

    fn handle_packet(
        &self,
        bytes: &[u8],
        range: &mut [u8],
        recv: Option<&SharedBuffer>,
        sink: &mut Sink<'_, '_>,
    ) {
        let recv_len = recv.map_or(0, |r| r.len() as u32);
        let p = match pkt::Packet::parse_checked(bytes, recv_len, MAX_RANGE as u32) {
            Ok(p) => p,
            Err(e) => {
                self.bad("VMBus packet", e);
                // A transfer-page packet with a sound descriptor but bad
                // ranges still holds host receive sections: complete it
                // (as failed) so the host can reuse them.
                if let Ok(d) = pkt::Descriptor::parse(bytes) {
                    if d.packet_type == pkt::PacketType::DataUsingXferPages {
                        self.complete_xfer(sink.comps, d.trans_id, nvsp::STATUS_FAIL);
                    }
                }
                return;
            }
        };
        match p.kind {
            pkt::PacketKind::Completion if p.desc.trans_id & !0xffff_ffff == TX_TAG => {
                self.on_tx_completion(p.desc.trans_id, p.payload, sink.dev)
            }
            pkt::PacketKind::Completion => self.on_completion(p.desc.trans_id, p.payload),
            pkt::PacketKind::TransferPages(tp) if tp.xfer_pageset_id != pkt::RECEIVE_BUFFER_ID => {
                // Only our receive buffer is a transfer page set the host
                // may name; its ranges mean nothing in any other.
                self.reject(
                    "transfer-page packet",
                    format_args!(
                        "names page set {:#x}, not the receive buffer {:#x}",
                        tp.xfer_pageset_id,
                        pkt::RECEIVE_BUFFER_ID
                    ),
                    REJECT_PAGESET,
                );
                self.complete_xfer(sink.comps, p.desc.trans_id, nvsp::STATUS_FAIL);
            }
            pkt::PacketKind::TransferPages(tp) => {
                let status = match (
                    recv,
                    nvsp::Message::parse(p.payload, nvsp::Direction::HostToGuest),
                ) {
                    (Some(recv), Ok(nvsp::Message::SendRndisPacket { .. })) => {
                        let mut ok = true;
                        for r in tp.ranges() {
                            let Some(dst) = range.get_mut(..r.byte_count as usize) else {
                                ok = false;
                                continue;
                            };
                            if recv.read(r.byte_offset as usize, dst).is_err() {
                                ok = false;
                                continue;
                            }
                            ok &= self.on_rndis(dst, sink);
                        }
                        if ok {
                            nvsp::STATUS_SUCCESS
                        } else {
                            nvsp::STATUS_FAIL
                        }
                    }
                    (_, Err(e)) => {
                        self.bad("NVSP message in transfer-page packet", e);
                        nvsp::STATUS_FAIL
                    }
                    _ => nvsp::STATUS_FAIL,
                };
                // Always complete, so the host can reuse its sections.
                self.complete_xfer(sink.comps, p.desc.trans_id, status);
            }
            pkt::PacketKind::Inband => {
                match nvsp::Message::parse(p.payload, nvsp::Direction::HostToGuest) {
                    Ok(nvsp::Message::VfAssociation { allocated, serial }) => {
                        use crate::failover_core::datapath::Event;
                        self.host_event(if allocated {
                            Event::HostVfAssociation { serial }
                        } else {
                            Event::HostVfWithdrawn { serial }
                        });
                    }
                    Ok(nvsp::Message::SendIndirectionTable(_)) => {}
                    Ok(_) => {}
                    Err(e) => self.bad("NVSP message", e),
                }
            }
            pkt::PacketKind::GpaDirect(_) => {
                self.bad("packet", crate::proto::error::Error::UnexpectedMessage)
            }
        }
    }

    /// Completes a host transfer-page packet, returning its sections. A
    /// completion the ring has no room for waits (behind any older one)
    /// until the host signals space: it is never dropped.
    fn complete_xfer(&self, comps: &mut Completions, tid: u64, status: u32) {
        let c = Completion { tid, status };
        if comps.is_empty() {
            match self.send_rx_completion(c) {
                Err(e) if e == EAGAIN => {}
                // Sent, or the channel is gone (and its sections with it).
                _ => return,
            }
        }
        self.rx_comp_busy.fetch_add(1, Relaxed);
        if !comps.push(c) {
            // More packets outstanding than the host has sections.
            return self.reject(
                "transfer-page packet",
                format_args!("more than {} receive completions outstanding", comps.len()),
                REJECT_COMPLETIONS,
            );
        }
        if comps.len() == 1 && self.await_space() {
            self.retry_completions(comps);
        }
    }

    /// Sends waiting receive completions, oldest first, while the ring
    /// takes them.
    fn retry_completions(&self, comps: &mut Completions) {
        if comps.is_empty() {
            return;
        }
        while let Some(c) = comps.front() {
            match self.send_rx_completion(c) {
                Ok(()) => comps.pop(),
                Err(e) if e == EAGAIN => {
                    self.await_space();
                    return;
                }
                Err(_) => comps.clear(),
            }
        }
        // All out: the space request was theirs, unless TX waits too.
        if self.tx_space_wait.load(Relaxed) == 0 {
            self.transport.want_write_space(0);
        }
    }

    fn send_rx_completion(&self, c: Completion) -> Result {
        let mut buf = [0u8; nvsp::MESSAGE_SIZE_V61];
        let len = (nvsp::Message::SendRndisPacketComplete { status: c.status })
            .build(&mut buf)
            .map_err(|_| EINVAL)?;
        self.transport.send_completion(&buf[..len], c.tid)
    }

    fn on_tx_completion(&self, tid: u64, payload: &[u8], dev: Option<&net::Device<NetvscNic>>) {
        let low = tid & 0xffff_ffff;
        if low & LARGE_TID_BIT != 0 {
            let slot = (low & !LARGE_TID_BIT) as u32;
            if !self.tx.lock().release_large(slot) {
                return self.reject(
                    "send completion",
                    format_args!("large send slot {} is not in use", slot),
                    REJECT_FREE_SECTION,
                );
            }
        } else if !self.tx.lock().release(low as u32) {
            return self.reject(
                "send completion",
                format_args!("send section {} is not in use", low),
                REJECT_FREE_SECTION,
            );
        }
        match nvsp::Message::parse(payload, nvsp::Direction::HostToGuest) {
            Ok(nvsp::Message::SendRndisPacketComplete { status })
                if status == nvsp::STATUS_SUCCESS => {}
            Ok(_) => self.bad(
                "send completion",
                crate::proto::error::Error::UnexpectedMessage,
            ),
            Err(e) => self.bad("send completion", e),
        }
        if let Some(d) = dev {
            if d.queue_stopped() {
                d.wake_queue();
            }
        }
    }

    fn on_completion(&self, tid: u64, payload: &[u8]) {
        if tid == SWITCH_TID {
            // The host acknowledges a data-path switch; a failure status, if
            // it sends one, fails it.
            let ok = !matches!(
                nvsp::Message::parse(payload, nvsp::Direction::HostToGuest),
                Ok(nvsp::Message::SendRndisPacketComplete { status }) if status != nvsp::STATUS_SUCCESS
            );
            let mut c = self.ctrl.lock();
            c.switch_result = Some(ok);
            self.ctrl_wait.notify_all();
            return;
        }
        let mut c = self.ctrl.lock();
        match c.pending {
            Pending::Completion { tid: want } if want == tid => {
                let n = payload.len().min(MAX_REPLY);
                c.reply[..n].copy_from_slice(&payload[..n]);
                c.reply_len = n;
                c.pending = Pending::None;
                self.ctrl_wait.notify_all();
            }
            Pending::Rndis {
                tid: want,
                req_id,
                replied,
                ..
            } if want == tid => {
                match nvsp::Message::parse(payload, nvsp::Direction::HostToGuest) {
                    Ok(nvsp::Message::SendRndisPacketComplete { status })
                        if status == nvsp::STATUS_SUCCESS => {}
                    _ => c.failed = true,
                }
                c.pending = Pending::Rndis {
                    tid,
                    req_id,
                    completed: true,
                    replied,
                };
                self.ctrl_wait.notify_all();
            }
            _ => {
                // Not "invalid in this direction": a completion is expected
                // from the host, just not for this id (a stray or a late one
                // whose request already timed out).
                drop(c);
                self.reject(
                    "completion",
                    format_args!("no request with transaction id {:#x} is pending", tid),
                    REJECT_UNKNOWN_TID,
                );
            }
        }
    }

    /// One RNDIS message from the receive buffer. Returns false when it was
    /// malformed.
    fn on_rndis(&self, msg: &[u8], sink: &mut Sink<'_, '_>) -> bool {
        let m = match rndis::Message::parse(msg) {
            Ok(m) => m,
            Err(e) => {
                self.bad("RNDIS message", e);
                return false;
            }
        };
        let req_id = match m {
            rndis::Message::InitComplete(c) => c.req_id,
            rndis::Message::QueryComplete(c) => c.req_id,
            rndis::Message::SetComplete(c) | rndis::Message::KeepaliveComplete(c) => c.req_id,
            rndis::Message::Indicate(ind) => {
                if let Some(v) = ind.link_speed() {
                    self.set_speed(v);
                }
                match ind.status {
                    rndis::STATUS_MEDIA_CONNECT => self.set_link(true, sink.dev),
                    rndis::STATUS_MEDIA_DISCONNECT => self.set_link(false, sink.dev),
                    rndis::STATUS_NETWORK_CHANGE => self.network_change(sink.dev),
                    _ => {}
                }
                return true;
            }
            rndis::Message::Packet(p) => {
                let tag = match p.info.vlan.map(vlan::Tag::from_info) {
                    None => None,
                    Some(Ok(t)) => Some(t),
                    Some(Err(e)) => {
                        self.bad("802.1Q info", e);
                        return false;
                    }
                };
                self.receive(p.data, p.info.checksum, tag, sink);
                return true;
            }
            _ => {
                self.bad(
                    "RNDIS message",
                    crate::proto::error::Error::UnexpectedMessage,
                );
                return false;
            }
        };
        let mut c = self.ctrl.lock();
        match c.pending {
            Pending::Rndis {
                tid,
                req_id: want,
                completed,
                ..
            } if want == req_id => {
                let n = msg.len().min(MAX_REPLY);
                c.reply[..n].copy_from_slice(&msg[..n]);
                c.reply_len = n;
                c.pending = Pending::Rndis {
                    tid,
                    req_id,
                    completed,
                    replied: true,
                };
                self.ctrl_wait.notify_all();
                true
            }
            _ => {
                drop(c);
                self.bad(
                    "RNDIS completion",
                    crate::proto::error::Error::UnexpectedMessage,
                );
                false
            }
        }
    }

    /// Takes a link speed from the host (in 100 bps units).
    fn set_speed(&self, units: u32) {
        let mbps = units / 10_000;
        let mut c = self.ctrl.lock();
        if c.speed != mbps {
            c.speed = mbps;
            pr_info!("host indicates link speed {} Mb/s\n", mbps);
        }
    }

    fn set_link(&self, up: bool, dev: Option<&net::Device<NetvscNic>>) {
        let mut c = self.ctrl.lock();
        if c.link_up != up {
            c.link_up = up;
            pr_info!("host indicates link {}\n", if up { "up" } else { "down" });
        }
        // A network change in progress keeps the carrier off until it ends.
        let carrier = up && !c.network_change;
        drop(c);
        if let Some(d) = dev {
            if carrier {
                d.carrier_on();
            } else {
                d.carrier_off();
            }
        }
    }

    /// The host indicated a network change (the vNIC may now be on another
    /// network): the carrier goes off and comes back on after
    /// [`NETWORK_CHANGE_MS`], as upstream does, so that link watchers
    /// (systemd-networkd, NetworkManager) renew the DHCP lease. More changes
    /// meanwhile extend the bounce; without a link, there is nothing to do.
    fn network_change(&self, dev: Option<&net::Device<NetvscNic>>) {
        let (Some(d), Some(timer)) = (dev, self.network_change_timer.as_ref()) else {
            return;
        };
        let mut c = self.ctrl.lock();
        if !c.link_up {
            return;
        }
        let first = !c.network_change;
        c.network_change = true;
        drop(c);
        if first {
            pr_info!(
                "{}: host indicates a network change: carrier off for {} ms\n",
                d.name().as_cstr(),
                NETWORK_CHANGE_MS
            );
        }
        d.carrier_off();
        timer.arm(NETWORK_CHANGE_MS);
    }

    /// The network change's carrier bounce ends (process context): the
    /// carrier comes back if the host's link is still up.
    fn network_change_done(&self) {
        let up = {
            let mut c = self.ctrl.lock();
            c.network_change = false;
            c.link_up
        };
        if let Some(i) = self.ndev.lock().as_ref() {
            if up {
                i.reg.device().carrier_on();
            }
        }
    }

    /// One received frame into the stack (through NAPI); checksums the
    /// host vouched for are not verified again (unless the user turned
    /// receive checksum offload off).
    fn receive(
        &self,
        frame: &[u8],
        csum: Option<rndis::ChecksumInfo>,
        tag: Option<vlan::Tag>,
        sink: &mut Sink<'_, '_>,
    ) {
        let (Some(d), Some(napi)) = (sink.dev, sink.napi.as_deref_mut()) else {
            self.rx_dropped.fetch_add(1, Relaxed);
            return;
        };
        let Ok(len) = u32::try_from(frame.len()) else {
            self.rx_dropped.fetch_add(1, Relaxed);
            return;
        };
        if !d.is_running() {
            self.rx_dropped.fetch_add(1, Relaxed);
            return;
        }
        let verified = csum.is_some_and(offload::rx_checksum_good)
            && d.features().contains(net::Features::RXCSUM);
        let delivered = napi.alloc_skb(len).and_then(|mut skb| {
            skb.put_data(frame)?;
            if verified {
                skb.set_csum_unnecessary();
                self.rx_checksum_offload.fetch_add(1, Relaxed);
            }
            // The host stripped the tag: it goes up out of band, as from
            // a NIC that strips tags (NETIF_F_HW_VLAN_CTAG_RX).
            if let Some(t) = tag {
                skb.put_vlan_ctag(t.tci());
                self.rx_vlan.fetch_add(1, Relaxed);
            }
            napi.receive(skb)
        });
        sink.delivered += 1;
        if delivered.is_ok() {
            self.rx_packets.fetch_add(1, Relaxed);
            self.rx_bytes.fetch_add(u64::from(len), Relaxed);
        } else {
            self.rx_dropped.fetch_add(1, Relaxed);
        }
    }
}

/// The little-endian `u32` a query answer of `len` bytes starts with, if it
/// holds one.
fn reply_u32(buf: &[u8; MAX_REPLY], len: usize) -> Option<u32> {
    match buf.get(..4) {
        Some(&[a, b, c, d]) if len >= 4 => Some(u32::from_le_bytes([a, b, c, d])),
        _ => None,
    }
}
