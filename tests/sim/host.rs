// SPDX-License-Identifier: GPL-2.0

//! The simulated Hyper-V host of one vNIC: channel rings, GPADLs, the NVSP
//! and RNDIS answers, receive-buffer sections, the uplink. Safe code; guest
//! memory and C calls go through `glue`.

use core::sync::atomic::{AtomicBool, Ordering};

use kernel::prelude::*;
use kernel::str::CString;
use kernel::sync::{Arc, Mutex, SpinLockIrq};
use kernel::types::Opaque;
use kernel::workqueue::{Work, WorkItem};
use kernel::{impl_has_work, new_mutex, new_spinlock_irq, new_work};

use crate::glue::{self, Emu, EmuChan, EventFn, GuestBuf, ParentDev, Rtnl, Syms, Uplink, WqRef};
use crate::proto::offload::{self, HostOffloads, HostTx};
use crate::proto::{nvsp, rndis, vlan, vmbus};
use crate::ring::Ring;

/// Largest NVSP payload `send` accepts (NVSP messages are 40 bytes).
pub(crate) const MAX_SEND_PAYLOAD: u32 = 4096;
/// Most page ranges in one GPA-direct send (`MAX_PAGE_BUFFER_COUNT`).
pub(crate) const MAX_SEND_PAGES: u32 = vmbus::MAX_GPA_RANGES as u32;
/// Largest RNDIS message read from guest pages (64 KiB LSO frame + headers).
const MAX_RNDIS_MSG: usize = 72 * 1024;
/// Largest LSOv2 send the host offers (Hyper-V's figure).
const LSO_MAX: usize = 62780;
/// Room for the headers an offloaded frame's are edited in (Ethernet,
/// IPv4 or IPv6 with options, TCP with options).
const OFFLOAD_HDR_MAX: usize = 14 + 60 + 60;
/// Largest framed guest->host packet.
const MAX_FRAME: usize = vmbus::GPA_DIRECT_HEADER_SIZE
    + vmbus::MAX_GPA_RANGES * (vmbus::GPA_RANGE_HEADER_SIZE + 8 * vmbus::MAX_GPA_PFNS_PER_RANGE)
    + MAX_SEND_PAYLOAD as usize;
/// Ring sizes accepted by `open`.
const MIN_RING: u32 = 4096;
const MAX_RING: u32 = 16 << 20;
/// Guest-bound ring space the worker keeps free before taking the next
/// guest packet (its worst-case answers), so answers are never dropped.
const REPLY_RESERVE: usize = 2048;
/// GPADLs per vNIC.
const MAX_GPADLS: usize = 8;
/// Send buffer section size the host chooses (as Hyper-V does).
pub(crate) const SEND_SECTION_SIZE: u32 = 6144;
/// Receive buffer sections tracked at most.
const MAX_RECV_SECTIONS: u32 = 65536;
/// RNDIS messages handled in one send section/packet at most.
const MAX_BATCH: usize = 64;
/// Guest packets handled per worker run before it requeues itself.
const WORK_BUDGET: usize = 256;
/// Transaction id tag of the host's transfer-page packets (low 32 bits: section).
const XFER_TAG: u64 = 0x5349_4d00_0000_0000;
const XFER_TAG_MASK: u64 = 0xffff_ffff_0000_0000;

/// One page range of a GPA-direct send, as `struct hv_page_buffer`.
#[derive(Clone, Copy, Default)]
pub(crate) struct PageRange {
    pub(crate) len: u32,
    pub(crate) offset: u32,
    pub(crate) pfn: u64,
}

/// A guest->host packet as given to `send`.
pub(crate) struct GuestSend<'a> {
    pub(crate) pkt_type: u16,
    pub(crate) flags: u16,
    pub(crate) trans_id: u64,
    pub(crate) payload: &'a [u8],
    pub(crate) pages: &'a [PageRange],
}

/// The receive buffer and its sections.
struct RecvBuf {
    gpadl: u32,
    id: u16,
    buf: GuestBuf,
    sec_size: u32,
    count: u32,
    bitmap: KVec<u64>,
    in_use: u32,
    hint: usize,
}

impl RecvBuf {
    fn alloc(&mut self) -> Option<u32> {
        let words = self.bitmap.len();
        for i in 0..words {
            let w = (self.hint + i) % words;
            let word = self.bitmap[w];
            if word != u64::MAX {
                let bit = (!word).trailing_zeros();
                let idx = (w as u32) * 64 + bit;
                if idx >= self.count {
                    continue;
                }
                self.bitmap[w] |= 1 << bit;
                self.in_use += 1;
                self.hint = w;
                return Some(idx);
            }
        }
        None
    }

    fn free(&mut self, idx: u32) -> bool {
        if idx >= self.count {
            return false;
        }
        let (w, bit) = ((idx / 64) as usize, idx % 64);
        if self.bitmap[w] & (1 << bit) == 0 {
            return false;
        }
        self.bitmap[w] &= !(1 << bit);
        self.in_use -= 1;
        true
    }
}

/// The send buffer.
struct SendBuf {
    gpadl: u32,
    id: u16,
    buf: GuestBuf,
    count: u32,
}

/// Counters shown in `stats`.
#[derive(Default, Clone, Copy)]
pub(crate) struct Stats {
    pub(crate) guest_packets: u64,
    pub(crate) host_packets: u64,
    pub(crate) tx_frames: u64,
    pub(crate) tx_bytes: u64,
    pub(crate) tx_uplink: u64,
    pub(crate) tx_uplink_errors: u64,
    pub(crate) rx_frames: u64,
    pub(crate) rx_bytes: u64,
    pub(crate) rx_dropped: u64,
    pub(crate) rndis_ctrl: u64,
    pub(crate) bad_packets: u64,
    pub(crate) bad_completions: u64,
    pub(crate) ring_full: u64,
    pub(crate) no_section: u64,
    pub(crate) dropped_completions: u64,
    /// Completions held back by `hold_completions`.
    pub(crate) held_completions: u64,
    /// Guest frames larger than the negotiated NDIS MTU (dropped).
    pub(crate) tx_over_mtu: u64,
    /// Uplink frames for the guest larger than the negotiated NDIS MTU
    /// (they fit no receive sub-allocation; dropped).
    pub(crate) rx_over_mtu: u64,
    /// SEND_NDIS_CONFIG MTUs outside 1514..=`mtu_max`, replaced by 1514.
    pub(crate) ndis_mtu_refused: u64,
    /// Frames delivered on the synthetic path while the data path is VF
    /// (broadcast, multicast, TCP SYN, as Azure does).
    pub(crate) rx_while_vf: u64,
    /// OID_GEN_LINK_SPEED queries the guest sent.
    pub(crate) link_speed_queries: u64,
    /// `RNDIS_STATUS_NETWORK_CHANGE` indications sent (`network_change`).
    pub(crate) network_changes: u64,
    /// MAC address changes the host accepted / refused.
    pub(crate) mac_changes: u64,
    pub(crate) mac_refused: u64,
    /// OID_TCP_OFFLOAD_PARAMETERS sets accepted / refused.
    pub(crate) offload_params: u64,
    pub(crate) offload_params_refused: u64,
    /// Guest frames whose transport checksum the host computed.
    pub(crate) tx_checksum_offload: u64,
    /// Guest LSOv2 sends the host segmented, and the segments.
    pub(crate) tx_lso: u64,
    pub(crate) tx_lso_segments: u64,
    /// Guest frames whose offload request the host refused (dropped):
    /// not turned on, contradicting the frame, or a bad LSO send.
    pub(crate) tx_offload_refused: u64,
    /// Frames for the guest with a receive checksum result attached.
    pub(crate) rx_checksum_good: u64,
    pub(crate) rx_checksum_bad: u64,
    /// Guest teardowns out of Hyper-V's order (RNDIS HALT, revoke the
    /// buffers, close, then tear the GPADLs down), each logged.
    pub(crate) teardown_errors: u64,
    /// GPADL teardowns failed on purpose (`gpadl_teardown_fail`).
    pub(crate) gpadl_teardown_failed: u64,
    /// Guest frames with 802.1Q info, sent tagged on the uplink.
    pub(crate) tx_vlan: u64,
    /// Uplink frames delivered with their tag as 802.1Q info.
    pub(crate) rx_vlan: u64,
    /// Guest frames dropped for their 802.1Q info (reserved bits, VLAN id
    /// 4095, or a guest that did not announce 802.1Q).
    pub(crate) tx_vlan_refused: u64,
    /// Guest frames with an 802.1Q header inside the frame and no info
    /// (carried as they are, as a vSwitch port does).
    pub(crate) tx_vlan_inline: u64,
    /// Tagged uplink frames not delivered: a tag protocol other than
    /// 802.1Q, VLAN id 4095, or a guest that did not announce 802.1Q.
    pub(crate) rx_vlan_dropped: u64,
    /// Uplink frames for the guest its packet filter did not pass.
    pub(crate) rx_filtered: u64,
    /// Guest sends refused for want of ring space (`EAGAIN`).
    pub(crate) guest_ring_full: u64,
    /// Signals for the guest's `pending_send_sz` (space in its ring).
    pub(crate) space_signals: u64,
    /// Signals for new packets not sent: the guest had masked them
    /// (`hv_begin_read`).
    pub(crate) masked_signals: u64,
}

/// The out-of-band tag of a frame from the uplink.
#[derive(Clone, Copy)]
pub(crate) enum RxTag {
    /// Untagged.
    None,
    /// An 802.1Q tag (TCI).
    Ctag(u16),
    /// Another tag protocol (802.1ad).
    Other,
}

/// Host configuration (configfs attributes).
#[derive(Clone, Copy)]
pub(crate) struct Config {
    pub(crate) mac: [u8; 6],
    pub(crate) serial: u32,
    pub(crate) max_nvsp: u32,
    pub(crate) mtu_max: u32,
    pub(crate) recv_section_size: u32,
    pub(crate) link_up: bool,
    pub(crate) link_speed: u32,
    /// Whether the guest may change the MAC address (`NetworkAddress`).
    pub(crate) mac_change: bool,
    /// The NIC's friendly name (`OID_GEN_FRIENDLY_NAME`); empty: none.
    pub(crate) friendly_name: [u8; FRIENDLY_NAME_MAX],
    pub(crate) friendly_len: usize,
    /// Answer to OID_TCP_OFFLOAD_HARDWARE_CAPABILITIES.
    pub(crate) offloads: Offloads,
}

/// How the vNIC reaches the guest.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Transport {
    /// hv_netvsc_rs's provider seam (`hvn_transport_register`).
    Seam,
    /// A VMBus channel offered through the emulated host (hv_emu_host).
    Vmbus,
}

impl Transport {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Transport::Seam => "seam",
            Transport::Vmbus => "vmbus",
        }
    }
}

/// What the host answers about its offload capabilities.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Offloads {
    /// NOT_SUPPORTED, as a host without offloads.
    None,
    /// What Hyper-V offers: TCP/UDP checksum over IPv4 and IPv6 both ways,
    /// LSOv2 of 62780 bytes over both (revision 3, no RSC).
    Azure,
    /// A structure whose size field claims more than the answer holds.
    Malformed,
    /// Azure's capabilities, but every OID_TCP_OFFLOAD_PARAMETERS set is
    /// refused (NOT_SUPPORTED).
    Refused,
}

impl Offloads {
    /// The attribute's value.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Offloads::None => "none",
            Offloads::Azure => "azure",
            Offloads::Malformed => "malformed",
            Offloads::Refused => "refused",
        }
    }

    /// Writes the answer into `info`; `None` for NOT_SUPPORTED.
    fn answer(self, info: &mut [u8]) -> Option<usize> {
        let e = rndis::NDIS_ENCAP_802_3;
        let tcp = rndis::CSUM_TCP | rndis::CSUM_TCP_OPTIONS | rndis::CSUM_UDP;
        let caps = rndis::OffloadCaps {
            revision: 3,
            ip4_tx: (e, tcp | rndis::CSUM_IP_OPTIONS | rndis::CSUM_IP4),
            ip4_rx: (e, tcp | rndis::CSUM_IP_OPTIONS | rndis::CSUM_IP4),
            ip6_tx: (e, tcp | rndis::CSUM_IP_OPTIONS),
            ip6_rx: (e, tcp | rndis::CSUM_IP_OPTIONS),
            lso4: (e, LSO_MAX as u32, 2),
            lso6: (e, LSO_MAX as u32, 2),
            lso6_opts: rndis::LSO6_IP_EXT | rndis::LSO6_TCP_OPTIONS,
            rsc: (false, false),
        };
        let n = match self {
            Offloads::None => return None,
            Offloads::Azure | Offloads::Malformed | Offloads::Refused => caps.build(info).ok()?,
        };
        if self == Offloads::Malformed {
            // The size field claims 64 bytes more than are sent.
            let claimed = (n + 64) as u16;
            info[2..4].copy_from_slice(&claimed.to_le_bytes());
        }
        Some(n)
    }
}

/// Longest friendly name the host keeps (bytes of ASCII).
pub(crate) const FRIENDLY_NAME_MAX: usize = 64;

/// Whether an Ethernet frame opens a TCP connection (SYN without ACK; an
/// unfragmented IPv4 packet, or IPv6 with TCP as the first next header).
fn is_tcp_syn(frame: &[u8]) -> bool {
    match offload::parse_headers(frame) {
        // SYN without ACK: the first packet of a connection from outside.
        Ok(h) if h.proto == offload::IPPROTO_TCP && !h.fragment => frame
            .get(h.l4 + 13)
            .is_some_and(|flags| flags & 0x12 == 0x02),
        _ => false,
    }
}

/// The NDIS MTU (frame size with the Ethernet header) a channel starts
/// with, and what an invalid SEND_NDIS_CONFIG MTU is replaced by (as
/// Hyper-V's vSwitch does).
pub(crate) const DEFAULT_NDIS_MTU: u32 = 1514;

/// What a receive sub-allocation holds beside the frame (RNDIS header and
/// per-packet info): 1728 - 1514, as Hyper-V sizes them.
const RECV_SECTION_OVERHEAD: u32 = 1728 - DEFAULT_NDIS_MTU;

/// Everything the host knows about the channel, under one IRQ-safe lock.
pub(crate) struct State {
    pub(crate) cfg: Config,
    open: bool,
    to_host: Ring,
    to_guest: Ring,
    frame: KVVec<u8>,
    blocked: bool,
    gpadls: [Option<(u32, GuestBuf)>; MAX_GPADLS],
    next_gpadl: u32,
    pub(crate) nvsp_version: u32,
    pub(crate) ndis_version: (u32, u32),
    pub(crate) ndis_mtu: u32,
    pub(crate) ndis_caps: u64,
    recv: Option<RecvBuf>,
    send: Option<SendBuf>,
    pub(crate) rndis_ready: bool,
    pub(crate) packet_filter: u32,
    /// The address the vSwitch port delivers to: `cfg.mac` until the guest
    /// changes it (reset with the channel).
    pub(crate) cur_mac: [u8; 6],
    pub(crate) data_path_vf: bool,
    /// Offloads the guest turned on (OID_TCP_OFFLOAD_PARAMETERS).
    pub(crate) offloads_on: HostOffloads,
    /// The VF offered to the guest (announced on every RNDIS
    /// initialisation of a channel, as Azure's host does); cleared by a
    /// withdrawal or when the vNIC is enabled again.
    pub(crate) vf_announced: Option<u32>,
    uplink: Option<Uplink>,
    pub(crate) stats: Stats,
    /// Fault injection: completions of guest RNDIS packets left to drop.
    pub(crate) drop_completions: u32,
    /// Fault injection: guest NVSP INIT messages left unanswered.
    pub(crate) drop_init: u32,
    /// The host has rescinded the channel: sends and new GPADLs fail with
    /// `ENODEV` until the vNIC is enabled again.
    pub(crate) rescinded: bool,
    /// Fault injection: completions of guest RNDIS packets are held back
    /// (a slow host) until this is cleared; see [`Host::release_completions`].
    pub(crate) hold_completions: bool,
    /// The held completions: (transaction id, status), in arrival order.
    held: KVec<(u64, u32)>,
    /// Fault injection: GPADL teardowns left to fail (the host keeps the
    /// memory mapped).
    pub(crate) gpadl_teardown_fail: u32,
    /// The guest queued a revoke of the receive / send buffer on this
    /// channel (it may still be in the ring when the guest closes: Hyper-V
    /// takes the close then, as upstream does not wait for it either).
    revoke_queued: (bool, bool),
    /// The host->guest ring's interrupt mask as the guest set it (`hv_begin_read`/`hv_end_read`): while set, new packets
    /// are not signalled.
    masked: bool,
    /// The guest->host ring's `pending_send_sz` (0: none): the host
    /// signals when its reading makes the free space cross it.
    pending_send: u32,
    /// Small-ring mode: bytes of the guest->host ring the host lets the
    /// guest fill (0: all of it). Kept across channel resets.
    pub(crate) ring_limit: u32,
    /// Fault injection: the host does not read the guest->host ring (a
    /// busy host) until cleared. Kept across channel resets.
    pub(crate) hold_ring: bool,
    /// How the vNIC reaches the guest (fixed while enabled).
    pub(crate) transport: Transport,
    /// Transport `vmbus`: the emulated host's API while enabled, with the
    /// channel while it is open.
    emu: Option<EmuChan>,
}

/// Most completions the host holds back; beyond, they go out at once.
const MAX_HELD: usize = 4096;

impl State {
    fn new(cfg: Config) -> Self {
        State {
            cfg,
            open: false,
            to_host: Ring::empty(),
            to_guest: Ring::empty(),
            frame: KVVec::new(),
            blocked: false,
            gpadls: [None; MAX_GPADLS],
            next_gpadl: 0x100,
            nvsp_version: 0,
            ndis_version: (0, 0),
            ndis_mtu: 0,
            ndis_caps: 0,
            recv: None,
            send: None,
            rndis_ready: false,
            packet_filter: 0,
            cur_mac: cfg.mac,
            data_path_vf: false,
            offloads_on: HostOffloads::default(),
            vf_announced: None,
            uplink: None,
            stats: Stats::default(),
            drop_completions: 0,
            drop_init: 0,
            rescinded: false,
            hold_completions: false,
            held: KVec::new(),
            gpadl_teardown_fail: 0,
            revoke_queued: (false, false),
            masked: false,
            pending_send: 0,
            ring_limit: 0,
            hold_ring: false,
            transport: Transport::Seam,
            emu: None,
        }
    }

    /// A guest teardown step out of order: counted and logged.
    fn teardown_error(&mut self, what: &str) {
        self.stats.teardown_errors += 1;
        pr_warn!("teardown out of order: {}\n", what);
    }

    /// The largest frame (with its Ethernet header) the channel carries:
    /// the NDIS MTU the guest sent, or 1514 before (or without) one.
    /// OID_TCP_OFFLOAD_PARAMETERS: what the guest turns on, within what
    /// the host offers (as openvmm's netvsp: LSOv1 is refused, malformed
    /// parameters are INVALID_DATA).
    fn set_offload_params(&mut self, info: &[u8]) -> u32 {
        let refuse = match self.cfg.offloads {
            Offloads::None | Offloads::Refused => true,
            Offloads::Azure | Offloads::Malformed => false,
        };
        let status = match offload::OffloadParams::parse(info) {
            _ if refuse => rndis::STATUS_NOT_SUPPORTED,
            Ok(p) if p.lso_v1 == offload::SIMPLE_ENABLED => rndis::STATUS_NOT_SUPPORTED,
            Ok(p) => {
                self.offloads_on.apply(&p);
                rndis::STATUS_SUCCESS
            }
            Err(_) => rndis::STATUS_INVALID_DATA,
        };
        if status == rndis::STATUS_SUCCESS {
            self.stats.offload_params += 1;
        } else {
            self.stats.offload_params_refused += 1;
        }
        status
    }

    pub(crate) fn frame_max(&self) -> u32 {
        if self.ndis_mtu == 0 {
            DEFAULT_NDIS_MTU
        } else {
            self.ndis_mtu
        }
    }

    /// Forgets the channel (rings, buffer use, protocol state, data path);
    /// keeps GPADLs (a guest tears them down after closing), config,
    /// counters, the VF offered and the uplink.
    fn reset_channel(&mut self) -> (Ring, Ring, KVVec<u8>, Option<RecvBuf>) {
        self.open = false;
        self.blocked = false;
        self.nvsp_version = 0;
        self.ndis_version = (0, 0);
        self.ndis_mtu = 0;
        self.ndis_caps = 0;
        self.send = None;
        self.rndis_ready = false;
        self.packet_filter = 0;
        self.offloads_on = HostOffloads::default();
        self.cur_mac = self.cfg.mac;
        self.data_path_vf = false;
        self.hold_completions = false;
        self.held.clear();
        self.revoke_queued = (false, false);
        self.masked = false;
        self.pending_send = 0;
        (
            core::mem::replace(&mut self.to_host, Ring::empty()),
            core::mem::replace(&mut self.to_guest, Ring::empty()),
            core::mem::take(&mut self.frame),
            self.recv.take(),
        )
    }

    /// Bytes the guest may still queue in the guest->host ring.
    fn to_host_free(&self) -> usize {
        let free = self.to_host.free();
        match self.ring_limit as usize {
            0 => free,
            limit => free.min(limit.saturating_sub(self.to_host.used())),
        }
    }

    /// Bytes the host may still queue for the guest.
    fn guest_free(&self) -> usize {
        match &self.emu {
            Some(e) => e.write_avail() as usize,
            None => self.to_guest.free(),
        }
    }

    pub(crate) fn sections_in_use(&self) -> u32 {
        self.recv.as_ref().map_or(0, |r| r.in_use)
    }

    pub(crate) fn sections_total(&self) -> u32 {
        self.recv.as_ref().map_or(0, |r| r.count)
    }

    pub(crate) fn is_open(&self) -> bool {
        self.open
    }

    pub(crate) fn ring_use(&self) -> (usize, usize, usize) {
        (
            self.to_host.used(),
            self.to_guest.used(),
            self.to_guest.capacity(),
        )
    }

    pub(crate) fn has_uplink(&self) -> bool {
        self.uplink.is_some()
    }

    /// Queues one host->guest packet; counts a drop when the ring is full.
    fn push_guest(&mut self, pkt: &[u8]) -> bool {
        if !self.open {
            return false;
        }
        let r = match &self.emu {
            Some(e) => e.send(pkt),
            None => self.to_guest.push(pkt),
        };
        match r {
            Ok(()) => {
                self.stats.host_packets += 1;
                true
            }
            Err(_) => {
                self.stats.ring_full += 1;
                false
            }
        }
    }

    /// Sends `msg` as a completion of `trans_id`.
    fn complete(&mut self, trans_id: u64, msg: &nvsp::Message<'_>) -> bool {
        let mut m = [0u8; 64];
        let mut p = [0u8; 96];
        let Ok(n) = msg.build(&mut m) else {
            return false;
        };
        match vmbus::build_completion(&mut p, trans_id, &m[..n]) {
            Ok(len) => self.push_guest(&p[..len]),
            Err(_) => false,
        }
    }

    /// Sends an NVSP message in-band (no completion requested).
    fn inband(&mut self, trans_id: u64, msg: &[u8]) -> bool {
        let mut p = [0u8; 128];
        match vmbus::build_inband(&mut p, trans_id, false, msg) {
            Ok(len) => self.push_guest(&p[..len]),
            Err(_) => false,
        }
    }

    /// Writes an RNDIS message made of `parts` into a free receive section
    /// and announces it with a transfer-page packet on `channel`.
    fn deliver_rndis(&mut self, channel: u32, parts: &[&[u8]]) -> bool {
        if !self.open {
            return false;
        }
        if self.guest_free() < 128 {
            self.stats.ring_full += 1;
            return false;
        }
        let Some(recv) = self.recv.as_mut() else {
            self.stats.no_section += 1;
            return false;
        };
        let total: usize = parts.iter().map(|p| p.len()).sum();
        if total > recv.sec_size as usize {
            return false;
        }
        let Some(sec) = recv.alloc() else {
            self.stats.no_section += 1;
            return false;
        };
        let base = sec as usize * recv.sec_size as usize;
        let mut off = base;
        for p in parts {
            if recv.buf.write(off, p).is_err() {
                recv.free(sec);
                return false;
            }
            off += p.len();
        }
        let id = recv.id;
        let msg = nvsp::Message::SendRndisPacket {
            channel_type: channel,
            section_index: nvsp::NO_SECTION,
            section_size: 0,
        };
        let mut m = [0u8; 64];
        let mut pkt = [0u8; 128];
        let range = vmbus::XferRange {
            byte_count: total as u32,
            byte_offset: base as u32,
        };
        let built = msg.build(&mut m).and_then(|n| {
            vmbus::build_transfer_pages(&mut pkt, XFER_TAG | u64::from(sec), id, &[range], &m[..n])
        });
        let ok = match built {
            Ok(len) => self.push_guest(&pkt[..len]),
            Err(_) => false,
        };
        if !ok {
            if let Some(r) = self.recv.as_mut() {
                r.free(sec);
            }
        }
        ok
    }

    /// Builds an RNDIS control message with `build` and delivers it.
    fn deliver_ctrl(&mut self, msg: &rndis::Message<'_>) -> bool {
        let mut buf = [0u8; 256];
        match msg.build(&mut buf) {
            Ok(n) => self.deliver_rndis(nvsp::CHANNEL_TYPE_CONTROL, &[&buf[..n]]),
            Err(_) => false,
        }
    }

    /// The association message for VF `serial` (`allocated` or not).
    fn vf_message(&mut self, allocated: bool, serial: u32) -> bool {
        let m = nvsp::Message::VfAssociation { allocated, serial };
        let mut b = [0u8; 64];
        match m.build(&mut b) {
            Ok(n) => self.inband(nvsp::VF_ASSOCIATION_TRANSACTION_ID, &b[..n]),
            Err(_) => false,
        }
    }

    /// Announces the VF offered, if any, to a guest that negotiated NVSP 4
    /// and SR-IOV. Returns whether a packet was queued.
    fn announce_offered_vf(&mut self) -> bool {
        match self.vf_announced {
            Some(serial)
                if self.nvsp_version >= nvsp::VERSION_4
                    && self.ndis_caps & nvsp::CAP_SRIOV != 0 =>
            {
                self.vf_message(true, serial)
            }
            _ => false,
        }
    }

    /// `NETWORK_CHANGE`: the vNIC may have moved to another network.
    fn network_change_indication(&mut self) -> bool {
        self.deliver_ctrl(&rndis::Message::Indicate(rndis::IndicateStatus {
            status: glue::STATUS_NETWORK_CHANGE,
            buf: &[],
        }))
    }

    /// `LINK_SPEED_CHANGE` with the configured speed (100 bps units).
    fn link_speed_indication(&mut self) -> bool {
        let speed = self.cfg.link_speed.to_le_bytes();
        self.deliver_ctrl(&rndis::Message::Indicate(rndis::IndicateStatus {
            status: glue::STATUS_LINK_SPEED_CHANGE,
            buf: &speed,
        }))
    }

    fn link_indication(&mut self) -> bool {
        let status = if self.cfg.link_up {
            rndis::STATUS_MEDIA_CONNECT
        } else {
            rndis::STATUS_MEDIA_DISCONNECT
        };
        self.deliver_ctrl(&rndis::Message::Indicate(rndis::IndicateStatus {
            status,
            buf: &[],
        }))
    }
}

/// Work the worker does outside the state lock.
struct Scratch {
    pkt: KVVec<u8>,
    msg: KVVec<u8>,
}

/// Serialises enable/disable and the uplink attribute (sleeping lock).
struct Ctl {
    syms: Option<Syms>,
    emu: Option<Emu>,
    dev: Option<ParentDev>,
    uplink_name: Option<CString>,
}

/// The host side of one vNIC.
#[pin_data]
pub(crate) struct Host {
    #[pin]
    transport: Opaque<glue::hvn_transport>,
    #[pin]
    pub(crate) st: SpinLockIrq<State>,
    /// Open flag and event entry point: held while calling the driver's
    /// event, so that `close` returns only when no event is in flight.
    #[pin]
    gate: SpinLockIrq<(bool, EventFn)>,
    #[pin]
    ctl: Mutex<Ctl>,
    #[pin]
    scratch: Mutex<Option<Scratch>>,
    #[pin]
    work: Work<Host>,
    enabled: AtomicBool,
    wq: WqRef,
    pub(crate) name: CString,
    index: u32,
}

impl_has_work! {
    impl HasWork<Self> for Host { self.work }
}

impl WorkItem for Host {
    type Pointer = Arc<Host>;

    fn run(this: Arc<Host>) {
        this.process();
    }
}

// SAFETY: All shared state is behind locks; the transport is written only
// while unregistered (under `ctl`) and otherwise only read by the driver.
unsafe impl Sync for Host {}
// SAFETY: As above.
unsafe impl Send for Host {}

fn default_mac(index: u32) -> [u8; 6] {
    let i = index.to_be_bytes();
    [0x00, 0x15, 0x5d, i[1], i[2], i[3]]
}

impl Host {
    pub(crate) fn new(name: CString, index: u32, wq: WqRef) -> Result<Arc<Self>> {
        let cfg = Config {
            mac: default_mac(index),
            serial: 0,
            max_nvsp: nvsp::VERSION_61,
            // Hyper-V's vSwitch limit (jumbo frames of 9216 bytes).
            mtu_max: 9216,
            recv_section_size: 1728,
            link_up: true,
            link_speed: 100_000_000,
            mac_change: true,
            friendly_name: [0; FRIENDLY_NAME_MAX],
            friendly_len: 0,
            offloads: Offloads::Azure,
        };
        Arc::pin_init(
            pin_init!(Host {
                transport <- Opaque::zeroed(),
                st <- new_spinlock_irq!(State::new(cfg), "hvn_sim::st"),
                gate <- new_spinlock_irq!((false, EventFn::none()), "hvn_sim::gate"),
                ctl <- new_mutex!(
                    Ctl { syms: None, emu: None, dev: None, uplink_name: None },
                    "hvn_sim::ctl"
                ),
                scratch <- new_mutex!(None, "hvn_sim::scratch"),
                work <- new_work!("hvn_sim::work"),
                enabled: AtomicBool::new(false),
                wq,
                name,
                index,
            }),
            GFP_KERNEL,
        )
    }

    pub(crate) fn transport_ptr(&self) -> *mut glue::hvn_transport {
        self.transport.get()
    }

    /// The `Host` whose transport field is at `t` (pointer arithmetic only).
    pub(crate) fn from_transport(t: *mut glue::hvn_transport) -> *const Host {
        let off = core::mem::offset_of!(Host, transport);
        t.cast::<u8>().wrapping_sub(off).cast::<Host>().cast_const()
    }

    pub(crate) fn is_enabled(&self) -> bool {
        self.enabled.load(Ordering::Relaxed)
    }

    pub(crate) fn kick_worker(&self, this: Arc<Host>) {
        // An already queued work item keeps running until the ring is empty.
        let _ = self.wq.queue().enqueue(this);
    }

    /// Calls the driver's event entry point if the channel is open.
    ///
    /// A guest may drain only part of the ring per event (hv_netvsc_rs
    /// takes at most 256 packets). Hyper-V signals again while the ring
    /// holds packets the guest has not read, so the host re-signals as long
    /// as packets remain and the guest made progress on the last event; a
    /// guest that stopped reading is not signalled in a loop. No signal
    /// while the guest masks them (`hv_begin_read`): a guest that unmasks
    /// must look at the ring itself (`hv_end_read`'s answer).
    fn notify(&self) {
        let g = self.gate.lock();
        if !g.0 {
            return;
        }
        let mut before = self.st.lock().to_guest.used();
        loop {
            {
                let mut st = self.st.lock();
                if st.masked {
                    // The guest polls and checks the ring when it unmasks.
                    st.stats.masked_signals += 1;
                    break;
                }
            }
            g.1.call(self);
            let after = self.st.lock().to_guest.used();
            if after == 0 || after >= before {
                break;
            }
            before = after;
        }
    }

    // -- enable / disable (process context, configfs) ---------------------

    pub(crate) fn enable(&self) -> Result {
        let mut ctl = self.ctl.lock();
        if self.is_enabled() {
            return Ok(());
        }
        self.st.lock().rescinded = false;
        if self.st.lock().transport == Transport::Vmbus {
            return self.enable_vmbus(&mut ctl);
        }
        let mut syms = Syms::get().inspect_err(|_| {
            pr_warn!(
                "{}: hv_netvsc_rs with hvn_transport_register is not loaded\n",
                self.name.to_str().unwrap_or("?")
            );
        })?;
        let mut dname = [0u8; 64];
        let dname = kernel::str::CStr::from_bytes_with_nul(fmt_into(
            &mut dname,
            format_args!("hvn_sim_{}\0", self.name.to_str().unwrap_or("vnic")),
        )?)
        .map_err(|_| EINVAL)?;
        let dev = match ParentDev::new(dname) {
            Ok(d) => d,
            Err(e) => {
                syms.put();
                return Err(e);
            }
        };
        glue::init_transport(self, &dev, self.instance());
        let old = {
            let mut st = self.st.lock();
            st.gpadls = [None; MAX_GPADLS];
            // A new device: no VF offered yet.
            st.vf_announced = None;
            st.reset_channel()
        };
        drop(old);
        *self.gate.lock() = (false, EventFn::of(&syms));
        self.enabled.store(true, Ordering::Relaxed);
        if let Err(e) = glue::register(&syms, self) {
            self.enabled.store(false, Ordering::Relaxed);
            self.force_close();
            syms.put();
            drop(dev);
            return Err(e);
        }
        ctl.syms = Some(syms);
        ctl.dev = Some(dev);
        Ok(())
    }

    /// Transport `vmbus`: offers the vNIC as a VMBus channel of the
    /// synthetic NIC class through the emulated host. No symbol of the
    /// driver is used; whichever driver binds the channel speaks to us
    /// through hv_vmbus and the rings.
    fn enable_vmbus(&self, ctl: &mut Ctl) -> Result {
        let mut emu = Emu::get().inspect_err(|_| {
            pr_warn!(
                "{}: transport vmbus needs hv_emu_host\n",
                self.name.to_str().unwrap_or("?")
            );
        })?;
        let old = {
            let mut st = self.st.lock();
            st.gpadls = [None; MAX_GPADLS];
            st.vf_announced = None;
            st.emu = Some(emu.api());
            st.reset_channel()
        };
        drop(old);
        self.enabled.store(true, Ordering::Relaxed);
        if let Err(e) = emu.offer(self.instance(), self) {
            self.enabled.store(false, Ordering::Relaxed);
            self.st.lock().emu = None;
            return Err(e);
        }
        ctl.emu = Some(emu);
        Ok(())
    }

    /// The device instance GUID's bytes: from the vNIC's index.
    fn instance(&self) -> [u8; 16] {
        let mut instance = *b"\x5e\x1a\x7e\xd0\x00\x00\x00\x00hvnsim\x00\x00";
        instance[4..8].copy_from_slice(&self.index.to_le_bytes());
        instance
    }

    /// Rescinds the channel as Hyper-V does when it takes a device away:
    /// from now on the guest's sends fail with `ENODEV` and nothing more
    /// arrives; then the device is removed (the driver's remove runs with
    /// the channel already dead).
    pub(crate) fn rescind(&self) {
        if !self.is_enabled() {
            return;
        }
        self.gate.lock().0 = false;
        self.st.lock().rescinded = true;
        self.disable();
    }

    /// Holds back (`true`) or releases (`false`) guest packet completions;
    /// releasing sends every held one, in order.
    pub(crate) fn hold_completions(&self, hold: bool) {
        let held = {
            let mut st = self.st.lock();
            st.hold_completions = hold;
            if hold {
                return;
            }
            core::mem::take(&mut st.held)
        };
        let mut queued = false;
        for (tid, status) in held.iter() {
            let mut st = self.st.lock();
            if !st.open {
                break;
            }
            queued |= st.reply(
                *tid,
                true,
                &nvsp::Message::SendRndisPacketComplete { status: *status },
            );
        }
        drop(held);
        if queued {
            self.notify();
        }
    }

    pub(crate) fn disable(&self) {
        let mut ctl = self.ctl.lock();
        if !self.is_enabled() {
            return;
        }
        if let Some(s) = ctl.syms.as_ref() {
            glue::unregister(s, self);
        }
        if let Some(e) = ctl.emu.as_mut() {
            // A rescind, as Hyper-V takes a device away: the guest's
            // driver goes, then the relid and its GPADLs.
            self.st.lock().rescinded = true;
            if e.remove().is_err() {
                pr_warn!(
                    "{}: the guest did not release the channel\n",
                    self.name.to_str().unwrap_or("?")
                );
            }
        }
        self.force_close();
        let leaked = {
            let mut st = self.st.lock();
            let n = st.gpadls.iter().flatten().count();
            st.gpadls = [None; MAX_GPADLS];
            n
        };
        if leaked != 0 {
            pr_warn!(
                "{}: driver left {} GPADL(s) established\n",
                self.name.to_str().unwrap_or("?"),
                leaked
            );
        }
        self.enabled.store(false, Ordering::Relaxed);
        if let Some(mut s) = ctl.syms.take() {
            s.put();
        }
        // The state's copy of the API goes before the references.
        self.st.lock().emu = None;
        ctl.emu = None;
        ctl.dev = None;
    }

    /// Closes the channel whether or not the driver did, and waits for the
    /// worker.
    fn force_close(&self) {
        self.close();
        self.wq.flush();
        *self.scratch.lock() = None;
    }

    /// Attaches the uplink `name` (empty: detach).
    pub(crate) fn set_uplink(&self, name: Option<CString>) -> Result {
        let mut ctl = self.ctl.lock();
        let rtnl = Rtnl::lock();
        let old = self.st.lock().uplink.take();
        if let Some(u) = old {
            u.release(&rtnl);
        }
        ctl.uplink_name = None;
        if let Some(n) = name {
            let u = Uplink::attach(&rtnl, &n, self)?;
            self.st.lock().uplink = Some(u);
            ctl.uplink_name = Some(n);
        }
        Ok(())
    }

    pub(crate) fn uplink_name(&self, out: &mut [u8]) -> usize {
        let ctl = self.ctl.lock();
        let n = ctl.uplink_name.as_ref().map_or(&b""[..], |n| n.to_bytes());
        let k = n.len().min(out.len());
        out[..k].copy_from_slice(&n[..k]);
        k
    }

    /// Teardown of the vNIC: detach, unregister, wait for the worker.
    pub(crate) fn shutdown(&self) {
        let _ = self.set_uplink(None);
        self.disable();
        self.wq.flush();
    }

    // -- transport ops ------------------------------------------------------

    pub(crate) fn open(&self, ring_size: u32) -> Result {
        if !(MIN_RING..=MAX_RING).contains(&ring_size) || ring_size % 8 != 0 {
            return Err(EINVAL);
        }
        let to_host = Ring::new(ring_size as usize)?;
        let to_guest = Ring::new(ring_size as usize)?;
        let frame = KVVec::from_elem(0u8, MAX_FRAME, GFP_KERNEL)?;
        let scratch = Scratch {
            pkt: KVVec::from_elem(0u8, MAX_FRAME, GFP_KERNEL)?,
            msg: KVVec::from_elem(0u8, MAX_RNDIS_MSG, GFP_KERNEL)?,
        };
        *self.scratch.lock() = Some(scratch);
        {
            let mut st = self.st.lock();
            if st.open {
                return Err(EBUSY);
            }
            st.to_host = to_host;
            st.to_guest = to_guest;
            st.frame = frame;
            st.open = true;
        }
        self.gate.lock().0 = true;
        Ok(())
    }

    pub(crate) fn close(&self) {
        self.gate.lock().0 = false;
        // Freed outside the IRQ-disabled section.
        let old = {
            let mut st = self.st.lock();
            // A rescinded channel's guest cannot say anything any more.
            if st.open && !st.rescinded {
                if st.rndis_ready {
                    st.teardown_error("channel closed without RNDIS HALT");
                }
                let (recv, send) = st.revoke_queued;
                if (st.recv.is_some() && !recv) || (st.send.is_some() && !send) {
                    st.teardown_error("channel closed with a buffer not revoked");
                }
            }
            st.reset_channel()
        };
        drop(old);
    }

    pub(crate) fn send(&self, s: &GuestSend<'_>) -> Result {
        let mut st = self.st.lock();
        if st.rescinded {
            return Err(ENODEV);
        }
        if !st.open {
            return Err(EBADF);
        }
        let completion = s.flags & vmbus::VMBUS_DATA_PACKET_FLAG_COMPLETION_REQUESTED != 0;
        if s.pkt_type == vmbus::VM_PKT_DATA_INBAND && s.payload.len() >= 4 {
            match u32::from_le_bytes([s.payload[0], s.payload[1], s.payload[2], s.payload[3]]) {
                nvsp::MSG1_REVOKE_RECV_BUF => st.revoke_queued.0 = true,
                nvsp::MSG1_REVOKE_SEND_BUF => st.revoke_queued.1 = true,
                _ => {}
            }
        }
        let State { frame, .. } = &mut *st;
        let n = match s.pkt_type {
            vmbus::VM_PKT_DATA_INBAND if s.pages.is_empty() => {
                vmbus::build_inband(frame, s.trans_id, completion, s.payload)
            }
            vmbus::VM_PKT_COMP if s.pages.is_empty() => {
                vmbus::build_completion(frame, s.trans_id, s.payload)
            }
            vmbus::VM_PKT_DATA_USING_GPA_DIRECT if !s.pages.is_empty() => {
                build_gpa(frame, s, completion)
            }
            _ => return Err(EINVAL),
        }
        .map_err(|_| EINVAL)?;
        if n > st.to_host_free() {
            st.stats.guest_ring_full += 1;
            return Err(EAGAIN);
        }
        let State { frame, to_host, .. } = &mut *st;
        to_host.push(&frame[..n])
    }

    /// Returns (result, packet length, whether to kick the worker).
    pub(crate) fn recv(&self, out: &mut [u8]) -> (Result, u32, bool) {
        let mut st = self.st.lock();
        if !st.open {
            // As Hyper-V's: a closed channel has nothing pending.
            return (Ok(()), 0, false);
        }
        let r = match st.to_guest.pop(out) {
            Ok(n) => (Ok(()), n as u32, false),
            Err(n) => (Err(EMSGSIZE), n as u32, false),
        };
        if st.blocked && st.to_guest.free() >= REPLY_RESERVE {
            st.blocked = false;
            return (r.0, r.1, true);
        }
        r
    }

    pub(crate) fn write_avail(&self) -> u32 {
        let st = self.st.lock();
        if st.open {
            st.to_host_free() as u32
        } else {
            0
        }
    }

    /// The guest's `pending_send_sz` for its ring (0 withdraws it).
    pub(crate) fn want_write_space(&self, size: u32) {
        let mut st = self.st.lock();
        if st.open {
            st.pending_send = size;
        }
    }

    /// The guest masks (`true`) or unmasks its interrupts for new packets;
    /// unmasking returns whether packets are pending.
    pub(crate) fn set_masked(&self, masked: bool) -> bool {
        let mut st = self.st.lock();
        if !st.open {
            return false;
        }
        st.masked = masked;
        st.to_guest.used() != 0
    }

    /// Stops (`true`) or resumes reading the guest->host ring.
    pub(crate) fn hold_ring(&self, this: Arc<Host>, hold: bool) {
        let emu = {
            let mut st = self.st.lock();
            st.hold_ring = hold;
            st.emu
        };
        if !hold {
            match emu {
                Some(e) => e.kick(),
                None => self.kick_worker(this),
            }
        }
    }

    /// Signals the guest that space it asked for is free (any mask).
    fn signal_space(&self) {
        let g = self.gate.lock();
        if g.0 {
            g.1.call(self);
        }
    }

    pub(crate) fn establish_gpadl(&self, buf: GuestBuf) -> Result<u32> {
        let mut st = self.st.lock();
        if st.rescinded {
            return Err(ENODEV);
        }
        let handle = st.next_gpadl;
        let slot = st.gpadls.iter_mut().find(|g| g.is_none()).ok_or(ENOSPC)?;
        *slot = Some((handle, buf));
        st.next_gpadl = handle.wrapping_add(1).max(0x100);
        Ok(handle)
    }

    pub(crate) fn teardown_gpadl(&self, handle: u32) -> Result {
        self.forget_gpadl(handle, true)
    }

    /// The guest's GPADL `handle` goes (`can_fail`: through the seam, where
    /// `gpadl_teardown_fail` may refuse it).
    fn forget_gpadl(&self, handle: u32, can_fail: bool) -> Result {
        let old_recv;
        {
            let mut st = self.st.lock();
            let in_use = st.recv.as_ref().is_some_and(|r| r.gpadl == handle)
                || st.send.as_ref().is_some_and(|s| s.gpadl == handle);
            if st.open && in_use && !st.rescinded {
                st.teardown_error("GPADL of a buffer in use torn down while the channel is open");
            }
            if can_fail && st.gpadl_teardown_fail > 0 && st.gpadl(handle).is_some() {
                // The host keeps the mapping (and may write the memory).
                st.gpadl_teardown_fail -= 1;
                st.stats.gpadl_teardown_failed += 1;
                return Err(EIO);
            }
            let slot = st
                .gpadls
                .iter_mut()
                .find(|g| matches!(g, Some((h, _)) if *h == handle))
                .ok_or(EINVAL)?;
            *slot = None;
            if st.send.as_ref().is_some_and(|s| s.gpadl == handle) {
                st.send = None;
            }
            if st.recv.as_ref().is_some_and(|r| r.gpadl == handle) {
                old_recv = st.recv.take();
                st.rndis_ready = false;
            } else {
                old_recv = None;
            }
        }
        drop(old_recv);
        Ok(())
    }

    // -- transport vmbus: the emulated host's callbacks (its work) ---------

    /// The guest opened the channel (`vmbus_open` through hv_vmbus).
    pub(crate) fn emu_opened(&self, chan: *mut core::ffi::c_void) {
        let (Ok(frame), Ok(pkt), Ok(msg)) = (
            KVVec::from_elem(0u8, MAX_FRAME, GFP_KERNEL),
            KVVec::from_elem(0u8, MAX_FRAME, GFP_KERNEL),
            KVVec::from_elem(0u8, MAX_RNDIS_MSG, GFP_KERNEL),
        ) else {
            pr_warn!(
                "{}: no memory for the channel\n",
                self.name.to_str().unwrap_or("?")
            );
            return;
        };
        *self.scratch.lock() = Some(Scratch { pkt, msg });
        let mut st = self.st.lock();
        let Some(e) = st.emu.as_mut() else {
            return;
        };
        e.set_chan(chan);
        st.frame = frame;
        st.open = true;
    }

    /// The channel closed (by the guest, a rescind or VMBus unloading).
    pub(crate) fn emu_closed(&self) {
        self.close();
        if let Some(e) = self.st.lock().emu.as_mut() {
            e.set_chan(core::ptr::null_mut());
        }
        *self.scratch.lock() = None;
    }

    /// One guest packet from the ring: handled now, or `-EAGAIN` to leave
    /// it there while the host reads no more (`hold_ring`) or its answers
    /// might not fit in the guest's inbound ring (then it asks the guest
    /// to signal when its reading frees the space).
    pub(crate) fn emu_packet(&self, pkt: &[u8]) -> i32 {
        let mut guard = self.scratch.lock();
        let Some(sc) = Option::as_mut(&mut *guard) else {
            return 0;
        };
        let wait = {
            let mut st = self.st.lock();
            if !st.open {
                return 0;
            }
            if st.hold_ring {
                return EAGAIN.to_errno();
            }
            if st.guest_free() < REPLY_RESERVE {
                st.blocked = true;
                st.emu
            } else {
                None
            }
        };
        if let Some(e) = wait {
            if e.want_space(REPLY_RESERVE as u32) {
                self.st.lock().blocked = false;
                e.kick();
            }
            return EAGAIN.to_errno();
        }
        if pkt.len() > sc.pkt.len() {
            self.st.lock().stats.bad_packets += 1;
            return 0;
        }
        sc.pkt[..pkt.len()].copy_from_slice(pkt);
        self.handle_packet(sc, pkt.len());
        0
    }

    /// The guest's reading freed the space the host waited for.
    pub(crate) fn emu_space(&self) {
        let emu = {
            let mut st = self.st.lock();
            st.blocked = false;
            st.emu
        };
        if let Some(e) = emu {
            e.kick();
        }
    }

    /// The guest's GPADL `handle` goes (torn down, or its relid released).
    pub(crate) fn emu_gpadl_gone(&self, handle: u32) {
        let _ = self.forget_gpadl(handle, false);
    }

    // -- the worker -----------------------------------------------------------

    fn process(self: Arc<Self>) {
        let mut guard = self.scratch.lock();
        let Some(sc) = Option::as_mut(&mut *guard) else {
            return;
        };
        let mut notify = false;
        let mut more = false;
        let mut space = false;
        for i in 0..WORK_BUDGET {
            let n = {
                let mut st = self.st.lock();
                if !st.open || st.hold_ring {
                    break;
                }
                if st.to_guest.free() < REPLY_RESERVE {
                    st.blocked = true;
                    break;
                }
                let before = st.to_host_free();
                match st.to_host.pop(&mut sc.pkt) {
                    Ok(0) => break,
                    Ok(n) => {
                        let want = st.pending_send as usize;
                        if want != 0 && before < want && st.to_host_free() >= want {
                            st.stats.space_signals += 1;
                            space = true;
                        }
                        n
                    }
                    Err(_) => {
                        // Cannot happen (send bounds packets to MAX_FRAME).
                        st.to_host.clear();
                        break;
                    }
                }
            };
            notify |= self.handle_packet(sc, n);
            if i == WORK_BUDGET - 1 {
                more = true;
            }
        }
        drop(guard);
        if space {
            self.signal_space();
        }
        if notify {
            self.notify();
        }
        if more {
            self.kick_worker(self.clone());
        }
    }

    /// Handles one guest packet; returns true when packets were queued.
    fn handle_packet(&self, sc: &mut Scratch, n: usize) -> bool {
        let Scratch { pkt, msg } = sc;
        let pkt = &pkt[..n];
        let Ok(p) = vmbus::Packet::parse(pkt) else {
            self.st.lock().stats.bad_packets += 1;
            return false;
        };
        let version = {
            let mut st = self.st.lock();
            st.stats.guest_packets += 1;
            if st.nvsp_version == 0 {
                nvsp::VERSION_61
            } else {
                st.nvsp_version
            }
        };
        if p.desc.packet_type == vmbus::PacketType::Completion {
            return self.guest_completion(p.desc.trans_id);
        }
        let m = match nvsp::Message::parse_with_version(
            p.payload,
            nvsp::Direction::GuestToHost,
            version,
        ) {
            Ok(m) => m,
            Err(e) => {
                pr_debug!("bad NVSP message: {}\n", e.as_str());
                self.st.lock().stats.bad_packets += 1;
                return false;
            }
        };
        let tid = p.desc.trans_id;
        let want = p.desc.completion_requested();
        let mut st = self.st.lock();
        match m {
            nvsp::Message::Init { .. } if st.drop_init > 0 => {
                // Fault injection: a host that never answers INIT.
                st.drop_init -= 1;
                st.stats.dropped_completions += 1;
                false
            }
            nvsp::Message::Init {
                min_version,
                max_version,
            } => {
                let v = nvsp::GUEST_VERSIONS
                    .iter()
                    .copied()
                    .find(|&v| v <= st.cfg.max_nvsp && v >= min_version && v <= max_version);
                let reply = match v {
                    Some(v) => {
                        st.nvsp_version = v;
                        nvsp::Message::InitComplete {
                            negotiated_version: v,
                            max_mdl_chain_len: 0,
                            status: nvsp::STATUS_SUCCESS,
                        }
                    }
                    None => nvsp::Message::InitComplete {
                        negotiated_version: nvsp::INVALID_VERSION,
                        max_mdl_chain_len: 0,
                        status: nvsp::STATUS_FAIL,
                    },
                };
                st.reply(tid, want, &reply)
            }
            nvsp::Message::SendNdisVersion { major, minor } => {
                st.ndis_version = (major, minor);
                false
            }
            nvsp::Message::SendNdisConfig { mtu, capabilities } => {
                // As Hyper-V: an MTU it cannot carry becomes the default.
                st.ndis_mtu = if (DEFAULT_NDIS_MTU..=st.cfg.mtu_max).contains(&mtu) {
                    mtu
                } else {
                    st.stats.ndis_mtu_refused += 1;
                    DEFAULT_NDIS_MTU
                };
                st.ndis_caps = capabilities;
                false
            }
            nvsp::Message::SendRecvBuf { gpadl_handle, id } => {
                drop(st);
                let reply = self.setup_recv_buf(gpadl_handle, id);
                let sections = [reply.1];
                let mut m = [0u8; 64];
                let mut out = [0u8; 128];
                let nsec = if reply.0 == nvsp::STATUS_SUCCESS {
                    1
                } else {
                    0
                };
                let mut st = self.st.lock();
                match nvsp::build_recv_buf_complete(&mut m, reply.0, &sections[..nsec]) {
                    Ok(k) => match vmbus::build_completion(&mut out, tid, &m[..k]) {
                        Ok(len) => st.push_guest(&out[..len]),
                        Err(_) => false,
                    },
                    Err(_) => false,
                }
            }
            nvsp::Message::SendSendBuf { gpadl_handle, id } => {
                let found = st.gpadl(gpadl_handle);
                let status = match found {
                    Some(buf) if st.send.is_none() && buf.size() >= SEND_SECTION_SIZE as usize => {
                        st.send = Some(SendBuf {
                            gpadl: gpadl_handle,
                            id,
                            buf,
                            count: (buf.size() / SEND_SECTION_SIZE as usize) as u32,
                        });
                        nvsp::STATUS_SUCCESS
                    }
                    _ => nvsp::STATUS_FAIL,
                };
                st.reply(
                    tid,
                    want,
                    &nvsp::Message::SendSendBufComplete {
                        status,
                        section_size: SEND_SECTION_SIZE,
                    },
                )
            }
            nvsp::Message::RevokeRecvBuf { id } => {
                if st.rndis_ready {
                    st.teardown_error("receive buffer revoked before RNDIS HALT");
                }
                let old = if st.recv.as_ref().is_some_and(|r| r.id == id) {
                    st.rndis_ready = false;
                    st.recv.take()
                } else {
                    None
                };
                drop(st);
                drop(old);
                false
            }
            nvsp::Message::RevokeSendBuf { id } => {
                if st.rndis_ready {
                    st.teardown_error("send buffer revoked before RNDIS HALT");
                }
                if st.send.as_ref().is_some_and(|s| s.id == id) {
                    st.send = None;
                }
                false
            }
            nvsp::Message::SendRndisPacket {
                channel_type,
                section_index,
                section_size,
            } => {
                drop(st);
                self.rndis_packet(
                    msg,
                    &p,
                    tid,
                    want,
                    channel_type,
                    section_index,
                    section_size,
                )
            }
            nvsp::Message::SubchannelRequest { .. } => st.reply(
                tid,
                want,
                &nvsp::Message::SubchannelComplete {
                    status: nvsp::STATUS_SUCCESS,
                    num_subchannels: 0,
                },
            ),
            nvsp::Message::SwitchDataPath { active } => {
                st.data_path_vf = active == nvsp::DataPath::Vf;
                st.reply(tid, want, &m)
            }
            nvsp::Message::SendRndisPacketComplete { .. } => {
                // A guest completion sent in-band instead of as VM_PKT_COMP.
                drop(st);
                self.guest_completion(tid)
            }
            _ => {
                st.stats.bad_packets += 1;
                false
            }
        }
    }

    fn guest_completion(&self, tid: u64) -> bool {
        let mut st = self.st.lock();
        let ok =
            tid & XFER_TAG_MASK == XFER_TAG && st.recv.as_mut().is_some_and(|r| r.free(tid as u32));
        if !ok {
            st.stats.bad_completions += 1;
        }
        false
    }

    /// Carves the receive buffer of `handle`: (status, section).
    fn setup_recv_buf(&self, handle: u32, id: u16) -> (u32, nvsp::RecvBufSection) {
        let fail = (nvsp::STATUS_FAIL, nvsp::RecvBufSection::default());
        let (buf, sec_size) = {
            let mut st = self.st.lock();
            match st.gpadl(handle) {
                // As Hyper-V: sub-allocations hold the negotiated MTU's
                // frame and the RNDIS header around it (1728 for 1514);
                // `recv_section_size` may ask for more.
                Some(b) if st.recv.is_none() => (
                    b,
                    st.cfg
                        .recv_section_size
                        .max((st.frame_max() + RECV_SECTION_OVERHEAD).next_multiple_of(8)),
                ),
                _ => return fail,
            }
        };
        let count = ((buf.size() / sec_size as usize) as u32).min(MAX_RECV_SECTIONS);
        if count == 0 {
            return fail;
        }
        let Ok(bitmap) = KVec::from_elem(0u64, count.div_ceil(64) as usize, GFP_KERNEL) else {
            return fail;
        };
        let mut st = self.st.lock();
        // The GPADL may have gone meanwhile.
        if st.recv.is_some() || st.gpadl(handle).is_none() {
            return fail;
        }
        st.recv = Some(RecvBuf {
            gpadl: handle,
            id,
            buf,
            sec_size,
            count,
            bitmap,
            in_use: 0,
            hint: 0,
        });
        (
            nvsp::STATUS_SUCCESS,
            nvsp::RecvBufSection {
                offset: 0,
                sub_alloc_size: sec_size,
                num_sub_allocs: count,
                end_offset: count * sec_size,
            },
        )
    }

    /// Reads the RNDIS bytes of a SEND_RNDIS_PKT into `msg`; returns the length.
    fn fetch_rndis(
        &self,
        msg: &mut [u8],
        p: &vmbus::Packet<'_>,
        index: u32,
        size: u32,
    ) -> Option<usize> {
        if index != nvsp::NO_SECTION {
            let st = self.st.lock();
            let s = st.send.as_ref()?;
            if index >= s.count || size == 0 || size > SEND_SECTION_SIZE {
                return None;
            }
            let off = index as usize * SEND_SECTION_SIZE as usize;
            s.buf.read(off, &mut msg[..size as usize]).ok()?;
            return Some(size as usize);
        }
        let vmbus::PacketKind::GpaDirect(g) = p.kind else {
            return None;
        };
        let emu = self.st.lock().emu;
        let mut total = 0usize;
        for r in g.ranges() {
            let mut off = r.byte_offset as usize;
            let mut left = r.byte_count as usize;
            for pfn in r.pfns() {
                if left == 0 {
                    break;
                }
                let k = left.min(4096 - off);
                let dst = msg.get_mut(total..total + k)?;
                glue::read_pfn(emu.as_ref(), pfn, off, dst).ok()?;
                total += k;
                left -= k;
                off = 0;
            }
            if left != 0 {
                return None;
            }
        }
        Some(total)
    }

    #[allow(clippy::too_many_arguments)]
    fn rndis_packet(
        &self,
        msg: &mut [u8],
        p: &vmbus::Packet<'_>,
        tid: u64,
        want: bool,
        channel: u32,
        index: u32,
        size: u32,
    ) -> bool {
        let mut queued = false;
        let status = match self.fetch_rndis(msg, p, index, size) {
            None => nvsp::STATUS_INVALID_RNDIS_PKT,
            Some(len) => {
                let (ok, q) = if channel == nvsp::CHANNEL_TYPE_CONTROL {
                    self.rndis_control(&msg[..len])
                } else {
                    self.rndis_data(&msg[..len])
                };
                queued |= q;
                if ok {
                    nvsp::STATUS_SUCCESS
                } else {
                    nvsp::STATUS_INVALID_RNDIS_PKT
                }
            }
        };
        let mut st = self.st.lock();
        if status != nvsp::STATUS_SUCCESS {
            st.stats.bad_packets += 1;
        }
        if st.drop_completions > 0 {
            st.drop_completions -= 1;
            st.stats.dropped_completions += 1;
            return queued;
        }
        if st.hold_completions && want && st.held.len() < MAX_HELD {
            if st.held.push((tid, status), GFP_ATOMIC).is_ok() {
                st.stats.held_completions += 1;
                return queued;
            }
        }
        queued
            | st.reply(
                tid,
                want,
                &nvsp::Message::SendRndisPacketComplete { status },
            )
    }

    /// Control messages; returns (all valid, packets queued).
    fn rndis_control(&self, mut buf: &[u8]) -> (bool, bool) {
        let mut queued = false;
        for _ in 0..MAX_BATCH {
            if buf.is_empty() {
                return (true, queued);
            }
            let Ok((one, rest)) = rndis::Header::split(buf) else {
                return (false, queued);
            };
            buf = rest;
            let Ok(m) = rndis::Message::parse(one) else {
                return (false, queued);
            };
            let mut st = self.st.lock();
            st.stats.rndis_ctrl += 1;
            queued |= match m {
                rndis::Message::Init(r) => {
                    st.rndis_ready = true;
                    let done =
                        st.deliver_ctrl(&rndis::Message::InitComplete(rndis::InitComplete {
                            req_id: r.req_id,
                            status: rndis::STATUS_SUCCESS,
                            major: rndis::MAJOR_VERSION,
                            minor: rndis::MINOR_VERSION,
                            dev_flags: 1,
                            medium: 0,
                            max_pkt_per_msg: 8,
                            max_xfer_size: 0x4000,
                            pkt_align_factor: 3,
                        }));
                    // A VF offered is announced to every new RNDIS session
                    // of a guest that can take one (NVSP 4, SR-IOV).
                    done | st.announce_offered_vf()
                }
                rndis::Message::Query(q) => {
                    let mut info = [0u8; 2 * FRIENDLY_NAME_MAX + 128];
                    let (status, len) = match q.oid {
                        glue::OID_GEN_FRIENDLY_NAME if st.cfg.friendly_len > 0 => {
                            let n = st.cfg.friendly_len;
                            for (i, &b) in st.cfg.friendly_name[..n].iter().enumerate() {
                                info[2 * i] = b;
                            }
                            (rndis::STATUS_SUCCESS, 2 * n)
                        }
                        rndis::OID_802_3_PERMANENT_ADDRESS | rndis::OID_802_3_CURRENT_ADDRESS => {
                            let mac = if q.oid == rndis::OID_802_3_CURRENT_ADDRESS {
                                st.cur_mac
                            } else {
                                st.cfg.mac
                            };
                            info[..6].copy_from_slice(&mac);
                            (rndis::STATUS_SUCCESS, 6)
                        }
                        rndis::OID_GEN_MAXIMUM_FRAME_SIZE => {
                            // As Hyper-V: the MTU configured for this
                            // channel, without the Ethernet header.
                            let v = st.frame_max() - offload::ETH_HLEN as u32;
                            info[..4].copy_from_slice(&v.to_le_bytes());
                            (rndis::STATUS_SUCCESS, 4)
                        }
                        rndis::OID_GEN_MEDIA_CONNECT_STATUS => {
                            let v: u32 = if st.cfg.link_up { 0 } else { 1 };
                            info[..4].copy_from_slice(&v.to_le_bytes());
                            (rndis::STATUS_SUCCESS, 4)
                        }
                        rndis::OID_TCP_OFFLOAD_HARDWARE_CAPABILITIES => {
                            match st.cfg.offloads.answer(&mut info) {
                                Some(n) => (rndis::STATUS_SUCCESS, n),
                                None => (rndis::STATUS_NOT_SUPPORTED, 0),
                            }
                        }
                        glue::OID_GEN_LINK_SPEED => {
                            st.stats.link_speed_queries += 1;
                            info[..4].copy_from_slice(&st.cfg.link_speed.to_le_bytes());
                            (rndis::STATUS_SUCCESS, 4)
                        }
                        rndis::OID_GEN_CURRENT_PACKET_FILTER => {
                            info[..4].copy_from_slice(&st.packet_filter.to_le_bytes());
                            (rndis::STATUS_SUCCESS, 4)
                        }
                        _ => (rndis::STATUS_NOT_SUPPORTED, 0),
                    };
                    st.deliver_ctrl(&rndis::Message::QueryComplete(rndis::QueryComplete {
                        req_id: q.req_id,
                        status,
                        info: &info[..len],
                    }))
                }
                rndis::Message::Set(s) => {
                    let status = match s.oid {
                        rndis::OID_GEN_CURRENT_PACKET_FILTER => match s.info.get(..4) {
                            Some(v) => {
                                st.packet_filter = u32::from_le_bytes([v[0], v[1], v[2], v[3]]);
                                rndis::STATUS_SUCCESS
                            }
                            None => rndis::STATUS_INVALID_DATA,
                        },
                        rndis::OID_GEN_RNDIS_CONFIG_PARAMETER => {
                            match rndis::ConfigParam::parse_string(s.info) {
                                Ok(p) if p.name_is(rndis::CONFIG_PARAM_NETWORK_ADDRESS) => {
                                    match p.mac_value() {
                                        Ok(mac) if st.cfg.mac_change && mac[0] & 1 == 0 => {
                                            st.cur_mac = mac;
                                            st.stats.mac_changes += 1;
                                            rndis::STATUS_SUCCESS
                                        }
                                        Ok(_) => {
                                            st.stats.mac_refused += 1;
                                            rndis::STATUS_NOT_SUPPORTED
                                        }
                                        Err(_) => rndis::STATUS_INVALID_DATA,
                                    }
                                }
                                Ok(_) => rndis::STATUS_NOT_SUPPORTED,
                                Err(_) => rndis::STATUS_INVALID_DATA,
                            }
                        }
                        rndis::OID_TCP_OFFLOAD_PARAMETERS => st.set_offload_params(s.info),
                        _ => rndis::STATUS_SUCCESS,
                    };
                    st.deliver_ctrl(&rndis::Message::SetComplete(rndis::StatusComplete {
                        req_id: s.req_id,
                        status,
                    }))
                }
                rndis::Message::Keepalive { req_id } => {
                    st.deliver_ctrl(&rndis::Message::KeepaliveComplete(rndis::StatusComplete {
                        req_id,
                        status: rndis::STATUS_SUCCESS,
                    }))
                }
                rndis::Message::Reset => st.deliver_ctrl(&rndis::Message::ResetComplete {
                    status: rndis::STATUS_SUCCESS,
                    addressing_reset: 0,
                }),
                rndis::Message::Halt { .. } => {
                    st.rndis_ready = false;
                    st.packet_filter = 0;
                    st.offloads_on = HostOffloads::default();
                    false
                }
                _ => {
                    drop(st);
                    return (false, queued);
                }
            };
        }
        (buf.is_empty(), queued)
    }

    /// Data packets: counted and sent to the uplink; returns (valid, false).
    fn rndis_data(&self, mut buf: &[u8]) -> (bool, bool) {
        for _ in 0..MAX_BATCH {
            if buf.is_empty() {
                return (true, false);
            }
            let Ok((one, rest)) = rndis::Header::split(buf) else {
                return (false, false);
            };
            buf = rest;
            let Ok(rndis::Message::Packet(pkt)) = rndis::Message::parse(one) else {
                return (false, false);
            };
            let (up, job, tag) = {
                let mut st = self.st.lock();
                let max = st.frame_max() as usize;
                // 802.1Q: the tag comes as per-packet info, from a guest
                // that announced it does 802.1Q; the frame is plain.
                let tag = match pkt.info.vlan.map(vlan::Tag::from_info) {
                    None => None,
                    Some(Ok(t)) if st.ndis_caps & nvsp::CAP_IEEE8021Q != 0 => Some(t),
                    Some(_) => {
                        st.stats.tx_vlan_refused += 1;
                        continue;
                    }
                };
                if tag.is_none() && pkt.data.get(12..14) == Some(&vlan::ETH_P_8021Q.to_be_bytes()) {
                    st.stats.tx_vlan_inline += 1;
                }
                let job =
                    match offload::check_tx(pkt.data, &pkt.info, &st.offloads_on, max, LSO_MAX) {
                        Ok(j) => j,
                        Err(_) => {
                            st.stats.tx_offload_refused += 1;
                            continue;
                        }
                    };
                if pkt.data.len() > max && !matches!(job, HostTx::Lso { .. }) {
                    st.stats.tx_over_mtu += 1;
                    continue;
                }
                match job {
                    HostTx::Plain => {}
                    HostTx::Checksum { .. } => st.stats.tx_checksum_offload += 1,
                    HostTx::Lso { l4, mss, .. } => {
                        st.stats.tx_lso += 1;
                        let hdrs = offload::parse_headers(pkt.data).map_or(l4, |h| l4 + h.l4_len);
                        let payload = pkt.data.len().saturating_sub(hdrs);
                        st.stats.tx_lso_segments += payload.div_ceil(mss as usize).max(1) as u64;
                    }
                }
                if tag.is_some() {
                    st.stats.tx_vlan += 1;
                }
                st.stats.tx_frames += 1;
                st.stats.tx_bytes += pkt.data.len() as u64;
                if st.data_path_vf {
                    (None, job, tag)
                } else {
                    (st.uplink.as_ref().map(|u| u.hold()), job, tag)
                }
            };
            if let Some(u) = up {
                let tci = tag.map(|t| t.tci());
                let r = match job {
                    HostTx::Plain => u.xmit(pkt.data, tci),
                    HostTx::Checksum { l4, offset, .. } => {
                        u.xmit_offload(pkt.data, &[], l4, offset, None, tci)
                    }
                    HostTx::Lso { l4, mss, ipv6 } => {
                        Self::xmit_lso(&u, pkt.data, l4, mss, ipv6, tci)
                    }
                };
                let mut st = self.st.lock();
                match r {
                    Ok(()) => st.stats.tx_uplink += 1,
                    Err(_) => st.stats.tx_uplink_errors += 1,
                }
            }
        }
        (buf.is_empty(), false)
    }

    /// An LSOv2 send out of the uplink: the headers the guest prepared the
    /// LSOv2 way (no IP length, TCP checksum seeded without length) are
    /// made whole again, and the kernel's segmentation, told the frame is
    /// untrusted, cuts it into `mss`-byte segments and checksums each.
    fn xmit_lso(
        u: &glue::UplinkRef,
        frame: &[u8],
        l4: usize,
        mss: u32,
        ipv6: bool,
        tci: Option<u16>,
    ) -> Result {
        let h = offload::parse_headers(frame).map_err(|_| EINVAL)?;
        let hlen = h.l4 + h.l4_len;
        let mut hdr = [0u8; OFFLOAD_HDR_MAX];
        let head = hdr.get_mut(..hlen).ok_or(EINVAL)?;
        head.copy_from_slice(frame.get(..hlen).ok_or(EINVAL)?);
        let ip_len = u16::try_from(frame.len() - offload::ETH_HLEN).map_err(|_| EINVAL)?;
        if ipv6 {
            head[18..20].copy_from_slice(&(ip_len - 40).to_be_bytes());
        } else {
            head[16..18].copy_from_slice(&ip_len.to_be_bytes());
            head[24..26].copy_from_slice(&[0, 0]);
            let c = !offload::fold(offload::sum_words(0, &head[14..h.l4]));
            head[24..26].copy_from_slice(&c.to_be_bytes());
        }
        let seed = offload::pseudo_sum(head, &h, (frame.len() - l4) as u32).map_err(|_| EINVAL)?;
        head[l4 + 16..l4 + 18].copy_from_slice(&seed.to_be_bytes());
        u.xmit_offload(head, &frame[hlen..], l4, 16, Some((mss, ipv6)), tci)
    }

    // -- uplink ---------------------------------------------------------------

    /// A frame from the uplink (softirq), with its out-of-band tag (the
    /// stack took an inline one out). Returns true to consume it.
    pub(crate) fn uplink_rx(&self, frame: &[u8], tag: RxTag) -> bool {
        if frame.len() < 14 {
            return false;
        }
        let dst = &frame[..6];
        let queued;
        let consume;
        {
            let mut st = self.st.lock();
            let ours = dst == st.cur_mac;
            let bcast = dst == [0xff; 6];
            let mcast = dst[0] & 1 != 0 && !bcast;
            consume = ours;
            if !(ours || bcast || mcast) {
                return false;
            }
            // NDIS semantics: the port has no multicast list (the synthetic
            // NIC sets none), so MULTICAST alone passes no multicast frame.
            let f = st.packet_filter;
            let wanted = f & rndis::PACKET_TYPE_PROMISCUOUS != 0
                || (ours && f & rndis::PACKET_TYPE_DIRECTED != 0)
                || (bcast && f & rndis::PACKET_TYPE_BROADCAST != 0)
                || (mcast && f & rndis::PACKET_TYPE_ALL_MULTICAST != 0);
            // On the VF data path the host still delivers broadcast,
            // multicast and TCP SYN synthetically, as Azure does.
            let on_vf = st.data_path_vf;
            let vf_takes = on_vf && !(bcast || mcast || is_tcp_syn(frame));
            if !st.open || !st.rndis_ready || vf_takes {
                if st.open {
                    st.stats.rx_dropped += 1;
                }
                return consume;
            }
            if !wanted {
                st.stats.rx_filtered += 1;
                return consume;
            }
            if frame.len() > st.frame_max() as usize {
                st.stats.rx_over_mtu += 1;
                return consume;
            }
            // As a vSwitch trunk port: the tag is stripped into 802.1Q
            // info, for a guest that announced 802.1Q.
            let tag = match tag {
                RxTag::None => None,
                RxTag::Ctag(tci) if st.ndis_caps & nvsp::CAP_IEEE8021Q != 0 => {
                    match vlan::Tag::from_tci(tci) {
                        Ok(t) => Some(t),
                        Err(_) => {
                            st.stats.rx_vlan_dropped += 1;
                            return consume;
                        }
                    }
                }
                _ => {
                    st.stats.rx_vlan_dropped += 1;
                    return consume;
                }
            };
            if on_vf {
                st.stats.rx_while_vf += 1;
            }
            let mut hdr = [0u8; rndis::PACKET_HEADER_SIZE + 2 * (rndis::PPI_HEADER_SIZE + 4)];
            let mut info = rndis::PacketInfo {
                vlan: tag.map(|t| t.info()),
                ..Default::default()
            };
            if let Some(c) = offload::rx_checksum_info(frame, &st.offloads_on) {
                if offload::rx_checksum_good(c) {
                    st.stats.rx_checksum_good += 1;
                } else {
                    st.stats.rx_checksum_bad += 1;
                }
                info.checksum = Some(c);
            }
            let ok = match rndis::build_packet_header(&mut hdr, &info, frame.len() as u32) {
                Ok(n) => st.deliver_rndis(nvsp::CHANNEL_TYPE_DATA, &[&hdr[..n], frame]),
                Err(_) => false,
            };
            if ok {
                st.stats.rx_frames += 1;
                st.stats.rx_bytes += frame.len() as u64;
                if tag.is_some() {
                    st.stats.rx_vlan += 1;
                }
            } else {
                st.stats.rx_dropped += 1;
            }
            queued = ok;
        }
        if queued {
            self.notify();
        }
        consume
    }

    /// The uplink netdev is going away (notifier, RTNL held).
    pub(crate) fn uplink_gone(&self) {
        self.st.lock().uplink = None;
    }

    // -- attribute actions while enabled ----------------------------------------

    /// Sets the link state, indicating the change to an initialised guest.
    pub(crate) fn set_link(&self, up: bool) {
        let queued = {
            let mut st = self.st.lock();
            let changed = st.cfg.link_up != up;
            st.cfg.link_up = up;
            changed && st.open && st.rndis_ready && st.link_indication()
        };
        if queued {
            self.notify();
        }
    }

    /// Sets the link speed (100 bps units), indicating it to an
    /// initialised guest (`LINK_SPEED_CHANGE`).
    pub(crate) fn set_link_speed(&self, speed: u32) {
        let queued = {
            let mut st = self.st.lock();
            st.cfg.link_speed = speed;
            st.open && st.rndis_ready && st.link_speed_indication()
        };
        if queued {
            self.notify();
        }
    }

    /// Indicates a network change to an initialised guest, as Hyper-V does
    /// when the vNIC moves to another network; `ENOTCONN` before RNDIS is
    /// initialised, `EAGAIN` when the guest's ring has no room for it.
    pub(crate) fn network_change(&self) -> Result {
        let queued = {
            let mut st = self.st.lock();
            if !st.open || !st.rndis_ready {
                return Err(ENOTCONN);
            }
            let queued = st.network_change_indication();
            if queued {
                st.stats.network_changes += 1;
            }
            queued
        };
        if queued {
            self.notify();
            Ok(())
        } else {
            Err(EAGAIN)
        }
    }

    /// Announces (`Some(serial)`) or withdraws (`None`) a VF.
    pub(crate) fn vf_association(&self, serial: Option<u32>) -> Result {
        let queued = {
            let mut st = self.st.lock();
            if !st.open || st.nvsp_version < nvsp::VERSION_4 {
                return Err(ENOTCONN);
            }
            // A withdrawal names the VF being withdrawn, as Azure's host
            // does ("VF slot 1 removed").
            let named = serial.or(st.vf_announced).unwrap_or(0);
            st.vf_announced = serial;
            st.vf_message(serial.is_some(), named)
        };
        if queued {
            self.notify();
            Ok(())
        } else {
            Err(EAGAIN)
        }
    }

    /// Queues a raw host->guest packet (fault injection); it must be a
    /// well-framed VMBus packet (descriptor lengths consistent).
    ///
    /// Malformed descriptors are allowed too (that is what a guest must
    /// survive); only the length must be a non-zero multiple of 8, as in a
    /// VMBus ring. The ring frames packets by `len8` (see `Ring::next_len`):
    /// one claiming more than its own length swallows what follows it.
    pub(crate) fn inject_raw(&self, pkt: &[u8]) -> Result {
        if pkt.is_empty() || pkt.len() % 8 != 0 {
            return Err(EINVAL);
        }
        let ok = {
            let mut st = self.st.lock();
            if !st.open {
                return Err(ENOTCONN);
            }
            st.push_guest(pkt)
        };
        if !ok {
            return Err(EAGAIN);
        }
        self.notify();
        Ok(())
    }

    /// Delivers raw RNDIS bytes (fault injection) in a receive section with
    /// a transfer-page packet on the data channel, as a received frame would
    /// be; the section is free again when the guest completes it.
    pub(crate) fn inject_rndis(&self, msg: &[u8]) -> Result {
        let queued = {
            let mut st = self.st.lock();
            if !st.open || st.recv.is_none() {
                return Err(ENOTCONN);
            }
            st.deliver_rndis(nvsp::CHANNEL_TYPE_DATA, &[msg])
        };
        if !queued {
            return Err(EAGAIN);
        }
        self.notify();
        Ok(())
    }

    /// Sends one malformed host message of a named class (fault injection).
    pub(crate) fn inject_class(&self, class: &[u8]) -> Result {
        let queued = {
            let mut st = self.st.lock();
            if !st.open {
                return Err(ENOTCONN);
            }
            match class {
                // INIT_COMPLETE claiming success with an unknown version.
                b"bad_version" => st.complete(
                    0,
                    &nvsp::Message::InitComplete {
                        negotiated_version: 0x7777,
                        max_mdl_chain_len: 0,
                        status: nvsp::STATUS_SUCCESS,
                    },
                ),
                // An NVSP message type nobody knows.
                b"unknown_nvsp" => st.inband(0, &[0xee, 0xee, 0, 0, 0, 0, 0, 0]),
                // An NVSP message cut short (type only).
                b"short_nvsp" => st.inband(0, &nvsp::MSG1_SEND_RNDIS_PKT.to_le_bytes()),
                // A completion for a transaction the guest never started.
                b"stray_completion" => st.complete(
                    0xdead_beef,
                    &nvsp::Message::SendRndisPacketComplete {
                        status: nvsp::STATUS_SUCCESS,
                    },
                ),
                // An RNDIS message whose length exceeds its range.
                b"rndis_overlong" => {
                    let mut m = [0u8; 16];
                    m[..4].copy_from_slice(&rndis::MSG_INDICATE.to_le_bytes());
                    m[4..8].copy_from_slice(&4096u32.to_le_bytes());
                    st.deliver_rndis(nvsp::CHANNEL_TYPE_CONTROL, &[&m])
                }
                // A data packet whose data offset points into its header.
                b"rndis_bad_offset" => {
                    let mut m = [0u8; rndis::PACKET_HEADER_SIZE + 16];
                    m[..4].copy_from_slice(&rndis::MSG_PACKET.to_le_bytes());
                    m[4..8]
                        .copy_from_slice(&((rndis::PACKET_HEADER_SIZE + 16) as u32).to_le_bytes());
                    m[8..12].copy_from_slice(&4u32.to_le_bytes());
                    m[12..16].copy_from_slice(&16u32.to_le_bytes());
                    st.deliver_rndis(nvsp::CHANNEL_TYPE_DATA, &[&m])
                }
                // A transfer-page packet whose range lies outside the buffer.
                b"xfer_out_of_range" => {
                    let mut m = [0u8; 64];
                    let mut pkt = [0u8; 128];
                    let id = st.recv.as_ref().map_or(vmbus::RECEIVE_BUFFER_ID, |r| r.id);
                    let msg = nvsp::Message::SendRndisPacket {
                        channel_type: nvsp::CHANNEL_TYPE_DATA,
                        section_index: nvsp::NO_SECTION,
                        section_size: 0,
                    };
                    let n = msg.build(&mut m).map_err(|_| EINVAL)?;
                    let r = vmbus::XferRange {
                        byte_count: 1514,
                        byte_offset: 0xffff_f000,
                    };
                    let len =
                        vmbus::build_transfer_pages(&mut pkt, XFER_TAG | 0xffff, id, &[r], &m[..n])
                            .map_err(|_| EINVAL)?;
                    st.push_guest(&pkt[..len])
                }
                _ => return Err(EINVAL),
            }
        };
        if queued {
            self.notify();
            Ok(())
        } else {
            Err(EAGAIN)
        }
    }
}

impl State {
    /// The guest buffer of GPADL `handle`. Transport `vmbus`: a GPADL the
    /// host has not used yet is looked up at the emulated host (this runs
    /// in its callbacks) and kept until its `gpadl_gone`.
    fn gpadl(&mut self, handle: u32) -> Option<GuestBuf> {
        if let Some(b) = self
            .gpadls
            .iter()
            .flatten()
            .find(|(h, _)| *h == handle)
            .map(|(_, b)| *b)
        {
            return Some(b);
        }
        let b = self.emu.as_ref()?.gpadl(handle)?;
        let slot = self.gpadls.iter_mut().find(|g| g.is_none())?;
        *slot = Some((handle, b));
        Some(b)
    }

    /// Answers `msg` as a completion when asked, else in-band.
    fn reply(&mut self, tid: u64, want: bool, msg: &nvsp::Message<'_>) -> bool {
        if want {
            self.complete(tid, msg)
        } else {
            let mut m = [0u8; 64];
            match msg.build(&mut m) {
                Ok(n) => self.inband(0, &m[..n]),
                Err(_) => false,
            }
        }
    }
}

/// Frames a GPA-direct send: each page buffer becomes one range of
/// consecutive page frames.
fn build_gpa(
    frame: &mut [u8],
    s: &GuestSend<'_>,
    completion: bool,
) -> core::result::Result<usize, crate::proto::error::Error> {
    use crate::proto::error::Error;
    use crate::proto::wire;
    // Write the header and ranges by hand (pfn arrays are implicit), then
    // let the builder check the result by parsing it.
    wire::write_u32(frame, 16, 0)?;
    wire::write_u32(frame, 20, wire::to_u32(s.pages.len())?)?;
    let mut off = vmbus::GPA_DIRECT_HEADER_SIZE;
    for r in s.pages {
        if r.offset >= vmbus::HV_PAGE_SIZE || r.len == 0 {
            return Err(Error::RangeOutOfBounds);
        }
        let n = vmbus::gpa_pfn_count(r.offset, r.len).ok_or(Error::TooLarge)?;
        if n > vmbus::MAX_GPA_PFNS_PER_RANGE {
            return Err(Error::TooManyRanges);
        }
        wire::write_u32(frame, off, r.len)?;
        wire::write_u32(frame, off + 4, r.offset)?;
        off += vmbus::GPA_RANGE_HEADER_SIZE;
        for j in 0..n as u64 {
            wire::write_u64(frame, off, r.pfn.checked_add(j).ok_or(Error::TooLarge)?)?;
            off += 8;
        }
    }
    let hdr = off;
    let offset = wire::align8(hdr)?;
    let total = wire::align8(offset + s.payload.len())?;
    if total > vmbus::MAX_PACKET_SIZE || total > frame.len() {
        return Err(Error::TooLarge);
    }
    let d = vmbus::Descriptor {
        packet_type: vmbus::PacketType::DataUsingGpaDirect,
        offset8: (offset / 8) as u16,
        len8: (total / 8) as u16,
        flags: if completion {
            vmbus::VMBUS_DATA_PACKET_FLAG_COMPLETION_REQUESTED
        } else {
            0
        },
        trans_id: s.trans_id,
    };
    d.write(frame)?;
    wire::zero(frame, hdr, offset - hdr)?;
    wire::write_bytes(frame, offset, s.payload)?;
    wire::zero(
        frame,
        offset + s.payload.len(),
        total - offset - s.payload.len(),
    )?;
    vmbus::Packet::parse(&frame[..total])?;
    Ok(total)
}

/// Formats into `buf`, returning the written bytes.
pub(crate) fn fmt_into<'a>(buf: &'a mut [u8], args: core::fmt::Arguments<'_>) -> Result<&'a [u8]> {
    let mut f = BufWriter { buf, len: 0 };
    core::fmt::write(&mut f, args).map_err(|_| EINVAL)?;
    let len = f.len;
    Ok(&f.buf[..len])
}

struct BufWriter<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl core::fmt::Write for BufWriter<'_> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let b = s.as_bytes();
        let end = self.len.checked_add(b.len()).ok_or(core::fmt::Error)?;
        self.buf
            .get_mut(self.len..end)
            .ok_or(core::fmt::Error)?
            .copy_from_slice(b);
        self.len = end;
        Ok(())
    }
}
