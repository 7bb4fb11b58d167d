// SPDX-License-Identifier: GPL-2.0

//! MTU changes: the channel is closed and re-initialised with the new
//! MTU while the interface stays.

#![forbid(unsafe_code)]

use super::*;

impl NetvscDevice {
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
    pub(super) fn reinit(self: &Arc<Self>, dev: &net::Device<NetvscNic>, mtu: u32) -> Result<u32> {
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
        self.apply_carrier(dev);
        if dev.is_running() {
            dev.wake_all_queues();
        }
        // Packets that arrived meanwhile are picked up by a poll now.
        let _bh = net::BhDisabled::new();
        self.on_event();
        Ok(host_mtu)
    }
}
