// SPDX-License-Identifier: GPL-2.0

//! Link state and settings: the host's indications, speed and duplex, and
//! the carrier bounce of a network change.

#![forbid(unsafe_code)]

use super::*;

impl net::TimerHandler<NETWORK_CHANGE_TIMER> for NetvscDevice {
    fn fired(&self) {
        self.network_change_done();
    }
}

impl NetvscDevice {
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

    /// Takes a link speed from the host (in 100 bps units).
    pub(super) fn set_speed(&self, units: u32) {
        let mbps = units / 10_000;
        let mut c = self.ctrl.lock();
        if c.speed != mbps {
            c.speed = mbps;
            pr_info!("host indicates link speed {} Mb/s\n", mbps);
        }
    }

    pub(super) fn set_link(&self, up: bool, dev: Option<&net::Device<NetvscNic>>) {
        let mut c = self.ctrl.lock();
        if c.link_up != up {
            c.link_up = up;
            pr_info!("host indicates link {}\n", if up { "up" } else { "down" });
        }
        // A network change in progress keeps the carrier off until it ends.
        // Set under the lock, so that the end of a bounce cannot turn on a
        // carrier this has just turned off.
        if let Some(d) = dev {
            if up && !c.network_change {
                d.carrier_on();
            } else {
                d.carrier_off();
            }
        }
    }

    /// Gives `dev` the carrier the link state calls for, under the control
    /// lock (as `set_link` does), so that an indication handled by the poll
    /// meanwhile cannot be overwritten with a stale state.
    pub(crate) fn apply_carrier(&self, dev: &net::Device<NetvscNic>) {
        let c = self.ctrl.lock();
        if c.link_up && !c.network_change {
            dev.carrier_on();
        } else {
            dev.carrier_off();
        }
    }

    /// The host indicated a network change (the vNIC may now be on another
    /// network): the carrier goes off and comes back on after
    /// [`NETWORK_CHANGE_MS`], as upstream does, so that link watchers
    /// (systemd-networkd, NetworkManager) renew the DHCP lease. More changes
    /// meanwhile extend the bounce; without a link, there is nothing to do.
    pub(super) fn network_change(&self, dev: Option<&net::Device<NetvscNic>>) {
        let (Some(d), Some(timer)) = (dev, self.network_change_timer.as_ref()) else {
            return;
        };
        let mut c = self.ctrl.lock();
        if !c.link_up {
            return;
        }
        let first = !c.network_change;
        c.network_change = true;
        d.carrier_off();
        drop(c);
        if first {
            pr_info!(
                "{}: host indicates a network change: carrier off for {} ms\n",
                d.name().as_cstr(),
                NETWORK_CHANGE_MS
            );
        }
        timer.arm(NETWORK_CHANGE_MS);
    }

    /// The network change's carrier bounce ends (process context): the
    /// carrier comes back if the host's link is still up.
    pub(super) fn network_change_done(&self) {
        // The interface's lock before the control state's, as everywhere;
        // the carrier set under both (see `set_link`).
        let ndev = self.ndev.lock();
        let mut c = self.ctrl.lock();
        c.network_change = false;
        if let Some(i) = ndev.as_ref() {
            if c.link_up {
                i.reg.device().carrier_on();
            }
        }
    }
}
