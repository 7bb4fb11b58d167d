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
mod control;
mod datapath;
mod link;
mod nic;
mod probe;
mod reset;
mod rx;
mod tx;

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
}

/// The little-endian `u32` a query answer of `len` bytes starts with, if it
/// holds one.
fn reply_u32(buf: &[u8; MAX_REPLY], len: usize) -> Option<u32> {
    match buf.get(..4) {
        Some(&[a, b, c, d]) if len >= 4 => Some(u32::from_le_bytes([a, b, c, d])),
        _ => None,
    }
}
