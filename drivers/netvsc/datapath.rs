// SPDX-License-Identifier: GPL-2.0

//! The synthetic side of VF failover: host events for the failover work
//! item, the switch-data-path request, TX steering to the VF.

#![forbid(unsafe_code)]

use super::*;

impl NetvscDevice {
    /// Queues a host failover event for the work item (any context); the
    /// poll (or probe, before there is one) schedules the work.
    pub(super) fn host_event(&self, ev: crate::failover_core::datapath::Event) {
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
    pub(super) fn kick_failover(this: &Arc<Self>) {
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
}
