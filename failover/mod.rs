// SPDX-License-Identifier: GPL-2.0

//! VF failover: the kernel glue around `failover-core`.
//!
//! The netdev notifier reports VF candidates; the pairing rule and the
//! data-path state machine (both in `failover/core`, host-tested) decide;
//! this module performs their actions: enslaving the VF, telling the host
//! to switch the data path, steering TX, printing the log lines users know.
//! Everything here runs under RTNL in process context: notifier calls do,
//! and events from the host (VF association, switch completions), which
//! arrive in NAPI context, are queued and fed by a work item that takes
//! RTNL first.

use crate::failover_core::{
    candidate, datapath, datapath::Action, datapath::Event, ifname, log, pairing,
};
use crate::net;
use crate::netvsc::{NetvscDevice, NetvscNic, VF_MISSING_TIMER};
use core::fmt::Write;
use kernel::prelude::*;
use kernel::str::CString;
use kernel::sync::Arc;

kernel::sync::global_lock! {
    // SAFETY: `init` is called in module init, before the notifier is
    // registered and before any device can be added.
    pub(crate) unsafe(uninit) static REGISTRY: Mutex<KVec<Arc<NetvscDevice>>> = KVec::new();
}

/// Per synthetic NIC failover state (under the device's `failover` mutex,
/// changed only under RTNL; sysfs reads it without).
pub(crate) struct State {
    pub(crate) dp: datapath::DataPath,
    pub(crate) vf: Option<net::VfRef>,
    /// The receive-mode references held on `vf` (see `VfRef::sync_rx`).
    pub(crate) vf_rx: net::RxRefs,
    /// The missing-VF timer, made when the interface registers.
    pub(crate) missing: Option<net::Timer<NetvscDevice, VF_MISSING_TIMER>>,
    /// The joined VF needs `setup` (done from the work item, not inside the
    /// registration notifier, as the C driver does).
    pub(crate) setup_pending: bool,
    /// The interface moved to another network namespace: the VF follows.
    pub(crate) follow_netns: bool,
    /// A VF that paired but registered in another network namespace than
    /// the interface's: the work item moves it over, and it joins when it
    /// registers there (as upstream at VF registration). Held meanwhile.
    pub(crate) vf_to_move: Option<net::VfRef>,
}

impl State {
    pub(crate) const fn new() -> Self {
        Self {
            dp: datapath::DataPath::new(),
            vf: None,
            vf_rx: net::RxRefs::NONE,
            missing: None,
            setup_pending: false,
            follow_netns: false,
            vf_to_move: None,
        }
    }
}

/// Module init: the registry and the notifier.
pub(crate) fn init() -> Result {
    // SAFETY: Called once, from module init, before any other use.
    unsafe { REGISTRY.init() };
    net::register_failover_notifier()
}

/// Module exit.
pub(crate) fn exit() {
    net::unregister_failover_notifier();
}

/// A synthetic NIC's interface exists: it may pair VFs from now on. A VF
/// already present is found by replaying its registration. The device's
/// timers, which run on the failover workqueue, are made here.
pub(crate) fn add(dev: &Arc<NetvscDevice>) -> Result {
    // First, so that failing to make it leaves nothing of failover set up.
    if dev.network_change_timer.as_ref().is_none() {
        // SAFETY: The device is pinned in its Arc and owns the timer as its
        // first field: dropping the device cancels it before anything else
        // of the device goes.
        let timer = unsafe { net::Timer::new(Arc::as_ptr(dev)) }?;
        dev.network_change_timer.populate(timer);
    }
    // SAFETY: The device is pinned in its Arc and owns the timer (in its
    // failover state); `remove` cancels it before the device can go away,
    // and nothing re-arms it after (no registration, no feeding).
    let timer = unsafe { net::Timer::new(Arc::as_ptr(dev)) }?;
    dev.failover.lock().missing = Some(timer);
    REGISTRY.lock().push(dev.clone(), GFP_KERNEL)?;
    let rtnl = net::Rtnl::lock();
    net::replay_registered(&rtnl);
    Ok(())
}

/// The NIC is going away: no more pairing, and the VF is given up (switch
/// back, release). Takes RTNL.
pub(crate) fn remove(dev: &Arc<NetvscDevice>) {
    {
        let mut reg = REGISTRY.lock();
        if let Some(i) = reg.iter().position(|d| core::ptr::eq(&**d, &**dev)) {
            let _ = reg.remove(i);
        }
    }
    {
        let _rtnl = net::Rtnl::lock();
        let pending = dev.failover.lock().vf_to_move.take();
        drop(pending);
        feed(dev, Event::SyntheticRemoving, None);
    }
    // No timer callback runs after this (it finds no registry entry if it
    // was already past its lookup: see `timer_fired`).
    let timer = dev.failover.lock().missing.take();
    if let Some(t) = &timer {
        t.cancel_sync();
    }
    drop(timer);
}

impl net::TimerHandler<VF_MISSING_TIMER> for NetvscDevice {
    fn fired(&self) {
        timer_fired(self);
    }
}

/// The missing-VF timer fired: feed it, if the NIC is still registered.
fn timer_fired(dev: &NetvscDevice) {
    let _rtnl = net::Rtnl::lock();
    let nic = REGISTRY
        .lock()
        .iter()
        .find(|d| core::ptr::eq(&***d, dev))
        .cloned();
    if let Some(nic) = nic {
        feed(&nic, Event::Timeout(datapath::Timer::VfMissing), None);
    }
}

/// The channel was re-initialised (an MTU change): the queued
/// `ChannelReset` and what the new channel announced are fed now, so the
/// data path is back where it was when the change returns. RTNL held.
pub(crate) fn after_channel_reset(dev: &Arc<NetvscDevice>) {
    feed_host_events(dev);
}

fn feed_host_events(dev: &Arc<NetvscDevice>) {
    while let Some(ev) = dev.pop_host_event() {
        feed(dev, ev, None);
    }
}

/// The work item: host events queued by the poll, VF set-up. Takes RTNL.
pub(crate) fn run(dev: &Arc<NetvscDevice>) {
    let _rtnl = net::Rtnl::lock();
    feed_host_events(dev);
    let Some(reg) = dev.registration() else {
        return;
    };
    let pending = dev.failover.lock().vf_to_move.take();
    if let Some(vf) = pending {
        // It registers again in the interface's namespace, where the
        // notifier pairs and joins it. If the interface came to the VF's
        // namespace meanwhile, nothing registers: it is paired here as its
        // registration would be (still registered: its unregistration,
        // under RTNL as we are, would have taken it out of `vf_to_move`).
        if !move_vf_netns(&vf, reg.device()) {
            netdev_event(net::NETDEV_REGISTER, vf.as_foreign());
        }
    }
    let (vf, follow) = {
        let mut st = dev.failover.lock();
        (st.vf.clone(), core::mem::take(&mut st.follow_netns))
    };
    if let (Some(vf), true) = (vf, follow) {
        // Moving it unregisters it here (we let it go and switch back) and
        // registers it there, where it pairs and joins again.
        move_vf_netns(&vf, reg.device());
    }
    let vf = {
        let mut st = dev.failover.lock();
        if !core::mem::take(&mut st.setup_pending) {
            return;
        }
        st.vf.clone()
    };
    if let Some(vf) = vf {
        vf.setup(reg.device());
        sync_vf_rx(dev, reg.device());
        // A VF that was already up (present before us) sends no UP event.
        if vf.is_running() && vf.carrier_ok() {
            feed(dev, Event::VfUp, None);
        }
    }
}

/// Moves `vf` into the network namespace of `syn` if it is elsewhere,
/// saying so; a VF that cannot move stays where it is, not joined. Returns
/// false if it was there already. RTNL held, outside any notifier call.
fn move_vf_netns(vf: &net::VfRef, syn: &net::Device<NetvscNic>) -> bool {
    match vf.follow_netns(syn) {
        Ok(true) => {
            let name = syn.name();
            if let Ok(msg) =
                CString::try_from_fmt(fmt!("Moved VF to namespace with: {}", name.as_cstr()))
            {
                vf.info(&msg);
            }
            true
        }
        Ok(false) => false,
        Err(e) => {
            if let Ok(msg) = CString::try_from_fmt(fmt!(
                "could not move the VF to the namespace of this interface: {:?}",
                e
            )) {
                net::warn(syn, &msg);
            }
            true
        }
    }
}

/// Mirrors the receive mode of `syn` (the NIC's interface) on the joined
/// VF, if any. RTNL held.
pub(crate) fn sync_vf_rx(nic: &NetvscDevice, syn: &net::Device<NetvscNic>) {
    let (vf, held) = {
        let st = nic.failover.lock();
        (st.vf.clone(), st.vf_rx)
    };
    if let Some(vf) = vf {
        // Still the same VF after: joins and releases happen under RTNL.
        let now = vf.sync_rx(syn, held);
        nic.failover.lock().vf_rx = now;
    }
}

fn core_name(n: &[u8]) -> ifname::IfName {
    ifname::IfName::from_bytes(n)
}

/// `hvn_rs_netdev_event`: a netdev notifier call, under RTNL.
pub(crate) fn netdev_event(event: u32, dev: &net::ForeignNetdev) {
    // Events of a VF we hold go to its NIC whatever the VF looks like now.
    let owner = {
        let reg = REGISTRY.lock();
        let mut owner = None;
        for d in reg.iter() {
            if d.owns_netdev(dev) {
                // One of ours: never a VF. Registering again means it moved
                // to another namespace: the VF follows (from the work item,
                // as moving it here would nest in this notifier call).
                if event == net::NETDEV_REGISTER {
                    d.failover.lock().follow_netns = true;
                    NetvscDevice::schedule_failover_work(d);
                }
                return;
            }
            let mut st = d.failover.lock();
            if st.vf.as_ref().is_some_and(|v| dev.is(v)) {
                owner = Some(d.clone());
            }
            // A VF waiting to be moved that goes away (or moves by itself)
            // is not held up by us.
            if event == net::NETDEV_UNREGISTER && st.vf_to_move.as_ref().is_some_and(|v| dev.is(v))
            {
                st.vf_to_move = None;
            }
        }
        owner
    };
    if let Some(nic) = owner {
        let ev = match event {
            net::NETDEV_UP | net::NETDEV_CHANGE | net::NETDEV_DOWN => {
                let vf = nic.failover.lock().vf.clone();
                match vf {
                    Some(v) if v.is_running() && v.carrier_ok() => Event::VfUp,
                    _ => Event::VfDown,
                }
            }
            net::NETDEV_GOING_DOWN => Event::VfGoingDown,
            net::NETDEV_UNREGISTER => Event::VfUnregistering,
            net::NETDEV_CHANGENAME => Event::VfRenamed {
                name: core_name(dev.name().as_bytes()),
            },
            _ => return,
        };
        feed(&nic, ev, Some(dev));
        return;
    }
    if event != net::NETDEV_POST_INIT && event != net::NETDEV_REGISTER {
        return;
    }
    let f = dev.facts();
    let facts = candidate::NetdevFacts {
        dev_type: f.dev_type,
        addr_len: f.addr_len,
        parent: match f.parent {
            net::Parent::None => candidate::Parent::None,
            net::Parent::Pci => candidate::Parent::Pci,
            net::Parent::VirtioOverPci => candidate::Parent::VirtioOverPci,
            net::Parent::Other => candidate::Parent::Other,
        },
        is_ours: false,
        is_vlan: f.is_vlan,
        is_bond_or_team_master: f.is_master,
        has_master: f.has_master,
        iff_slave: f.iff_slave,
        // We set IFF_SLAVE at POST_INIT on VFs that pair; a bond port would
        // also have a master.
        slave_flag_is_ours: event == net::NETDEV_REGISTER && !f.has_master,
        driver: f.driver(),
    };
    if candidate::classify(&facts).is_err() {
        return;
    }
    let cand = pairing::VfCandidate {
        perm_mac: f.perm_addr,
        dev_mac: f.dev_addr,
        slot_name: f.slot_name(),
    };
    let nics = {
        let reg = REGISTRY.lock();
        let mut v = KVec::new();
        for d in reg.iter() {
            if v.push(d.clone(), GFP_KERNEL).is_err() {
                return;
            }
        }
        v
    };
    let facts_of = |d: &Arc<NetvscDevice>| {
        let st = d.failover.lock();
        pairing::SynthNic {
            mac: d.mac(),
            serial: st.dp.serial(),
            has_vf: st.dp.has_vf(),
        }
    };
    match pairing::pair(nics.iter().map(facts_of), &cand) {
        pairing::Pairing::Paired { nic, .. } => {
            let Some(d) = nics.get(nic) else { return };
            if event == net::NETDEV_POST_INIT {
                dev.prepare_slave();
            } else if d
                .registration()
                .is_some_and(|r| !dev.same_netns(r.device()))
            {
                // Registered in another namespace than the interface's: it
                // is moved there first (from the work item: the move takes
                // the instance lock the core holds for this call) and joins
                // when it registers there, never across namespaces.
                let held = dev.hold();
                let old = d.failover.lock().vf_to_move.replace(held);
                drop(old);
                dev.info(c"VF registered in another network namespace: moving it to its master's");
                NetvscDevice::schedule_failover_work(d);
            } else {
                feed(
                    d,
                    Event::VfRegistered {
                        name: core_name(dev.name().as_bytes()),
                    },
                    Some(dev),
                );
            }
        }
        pairing::Pairing::NotPaired(pairing::NoPair::SerialMismatch { nic, slot, .. })
            if event == net::NETDEV_REGISTER =>
        {
            if let Some(d) = nics.get(nic) {
                let slot = slot.and_then(|s| s.ok());
                feed(
                    d,
                    Event::VfRefused {
                        name: core_name(dev.name().as_bytes()),
                        slot,
                    },
                    Some(dev),
                );
            }
        }
        _ => {}
    }
}

/// Feeds `ev` (and what it leads to) to `nic`'s state machine and performs
/// the actions. RTNL held; `foreign` is the VF the notifier reported, if any.
pub(crate) fn feed(nic: &Arc<NetvscDevice>, ev: Event, foreign: Option<&net::ForeignNetdev>) {
    let Some(reg) = nic.registration() else {
        return;
    };
    let syn = reg.device();
    let syn_name = syn.name();
    let mut next = Some(ev);
    // Bounded: each follow-up comes from one action of the previous event.
    for _ in 0..8 {
        let Some(ev) = next.take() else { break };
        // The lock is not held while acting: joining and releasing call
        // back into the netdev notifier, which reads this state.
        let (out, mut vf) = {
            let mut st = nic.failover.lock();
            (st.dp.handle(ev), st.vf.clone())
        };
        for a in out.actions.iter() {
            match *a {
                Action::SendSwitch(p) => {
                    next = Some(match nic.send_switch(p == datapath::Path::Vf) {
                        Ok(ok) => Event::SwitchCompleted { ok },
                        Err(e) if e == ETIMEDOUT => Event::Timeout(datapath::Timer::Switch),
                        Err(_) => Event::SwitchSendFailed,
                    });
                }
                Action::StartVfTx => nic.set_vf_tx(vf.clone()),
                Action::StopVfTx => nic.set_vf_tx(None),
                Action::JoinVf => {
                    let joined = match (foreign, nic.vf_rx()) {
                        (Some(f), Some(rx)) => {
                            let held = f.hold();
                            held.join(syn, &rx).map(|()| held)
                        }
                        _ => Err(ENODEV),
                    };
                    next = Some(match joined {
                        Ok(held) => {
                            nic.failover.lock().vf = Some(held.clone());
                            vf = Some(held);
                            Event::VfJoined
                        }
                        Err(e) => {
                            if let Ok(msg) = CString::try_from_fmt(fmt!("VF join failed: {:?}", e))
                            {
                                net::warn(syn, &msg);
                            }
                            Event::VfJoinFailed
                        }
                    });
                }
                Action::SetupVf => {
                    nic.failover.lock().setup_pending = true;
                    NetvscDevice::schedule_failover_work(nic);
                }
                Action::ReleaseVf => {
                    let (old, rx) = {
                        let mut st = nic.failover.lock();
                        st.setup_pending = false;
                        (st.vf.take(), core::mem::take(&mut st.vf_rx))
                    };
                    if let Some(v) = old {
                        v.leave(syn, rx);
                    }
                }
                Action::ArmTimer {
                    timer: datapath::Timer::VfMissing,
                    ms,
                } => {
                    let param = crate::module_parameters::vf_missing_ms.value();
                    if let Some(t) = nic.failover.lock().missing.as_ref() {
                        t.arm(if param > 0 { param } else { ms });
                    }
                }
                // Switch requests wait for their completion synchronously
                // (`send_switch`); a stale missing-VF timer is ignored by the
                // state machine, so nothing to cancel here (cancelling from
                // the timer's own callback would deadlock).
                Action::ArmTimer { .. } | Action::CancelTimer(_) => {}
                Action::Log(line) => {
                    let mut text = LineBuf::new();
                    let name = core::str::from_utf8(syn_name.as_bytes()).unwrap_or("?");
                    if line.write_to(&mut text, name).is_err() {
                        continue;
                    }
                    let Ok(msg) = CString::try_from_fmt(fmt!("{}", text.as_str())) else {
                        continue;
                    };
                    match line.device() {
                        log::LogDevice::Vf => match (foreign, vf.as_ref()) {
                            (Some(f), _) => f.info(&msg),
                            (None, Some(v)) => v.info(&msg),
                            (None, None) => net::info(syn, &msg),
                        },
                        log::LogDevice::Synthetic => match line.level() {
                            log::Level::Info => net::info(syn, &msg),
                            log::Level::Notice => net::notice(syn, &msg),
                            log::Level::Err => net::warn(syn, &msg),
                        },
                    }
                }
                Action::WarnVfMissing { serial } => {
                    let mut text = LineBuf::new();
                    let expected = crate::mlx_vf_core::family::EXPECTED_DRIVERS;
                    if log::write_vf_missing(&mut text, serial, expected).is_ok() {
                        if let Ok(msg) = CString::try_from_fmt(fmt!("{}", text.as_str())) {
                            net::warn(syn, &msg);
                        }
                    }
                }
            }
        }
    }
}

/// A fixed buffer for one log line.
struct LineBuf {
    buf: [u8; 160],
    len: usize,
}

impl LineBuf {
    fn new() -> Self {
        Self {
            buf: [0; 160],
            len: 0,
        }
    }

    fn as_str(&self) -> &str {
        core::str::from_utf8(&self.buf[..self.len]).unwrap_or("")
    }
}

impl Write for LineBuf {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let end = self.len.checked_add(s.len()).ok_or(core::fmt::Error)?;
        let dst = self.buf.get_mut(self.len..end).ok_or(core::fmt::Error)?;
        dst.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}
