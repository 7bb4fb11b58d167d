// SPDX-License-Identifier: GPL-2.0

//! The synthetic interface applications use: `net_device` operations of a
//! [`NetvscDevice`].

use super::NetvscDevice;
use crate::net;
use crate::proto::rndis;
use kernel::prelude::*;
use kernel::sync::Arc;

/// The packet filter for an interface mode (see [`rndis::packet_filter`]).
pub(super) fn filter_for(mode: net::RxMode) -> u32 {
    rndis::packet_filter(rndis::RxFilterMode {
        promisc: mode.promisc,
        allmulti: mode.allmulti,
        broadcast: mode.broadcast,
        multicast_addrs: mode.multicast_addrs,
    })
}

/// Private state of the `eth%d` device: the synthetic NIC behind it.
#[pin_data]
pub(crate) struct NetvscNic {
    pub(super) dev: Arc<NetvscDevice>,
}

#[vtable]
impl net::Operations for NetvscNic {
    const ETHTOOL_STATS: &'static [&'static CStr] = &[
        c"tx_packets",
        c"tx_bytes",
        c"tx_busy",
        c"tx_too_big",
        c"rx_packets",
        c"rx_bytes",
        c"rx_dropped",
        c"rx_bad_host_packets",
        c"tx_checksum_offload",
        c"tx_lso",
        c"rx_checksum_offload",
        c"vf_rx_packets",
        c"vf_rx_bytes",
        c"vf_tx_packets",
        c"vf_tx_bytes",
        c"vf_tx_dropped",
        c"tx_vlan",
        c"rx_vlan",
        c"vlan_error",
        c"rx_comp_busy",
        c"stop_queue",
        c"wake_queue",
    ];

    fn attr_show(dev: &net::Device<Self>, attr: net::Attr) -> &'static CStr {
        match attr {
            net::Attr::DataPath => dev.data().dev.failover.lock().dp.state().data_path_cstr(),
        }
    }

    fn open(dev: &net::Device<Self>) -> Result {
        let nic = &dev.data().dev;
        nic.set_filter(rndis::PACKET_FILTER_OPEN)?;
        nic.apply_carrier(dev);
        dev.start_all_queues();
        // The VF follows the synthetic interface up (as upstream).
        if let Some(vf) = nic.joined_vf() {
            if let Err(e) = vf.open() {
                pr_warn!("unable to open the VF: {:?}\n", e);
            }
        }
        Ok(())
    }

    fn stop(dev: &net::Device<Self>) -> Result {
        dev.stop_all_queues();
        // ... and down. Not under our locks: closing it calls back into the
        // failover notifier.
        if let Some(vf) = dev.data().dev.joined_vf() {
            vf.close();
        }
        // The host stops delivering frames; failing that is only logged.
        if let Err(e) = dev.data().dev.set_filter(0) {
            pr_warn!("clearing the receive filter failed: {:?}\n", e);
        }
        Ok(())
    }

    fn start_xmit(dev: &net::Device<Self>, skb: net::SkBuff) -> net::NetdevTx {
        dev.data().dev.xmit(dev, skb)
    }

    fn poll(dev: &net::Device<Self>, napi: &mut net::NapiPoll<'_>) -> u32 {
        dev.data().dev.poll(dev, napi)
    }

    fn get_stats64(dev: &net::Device<Self>, stats: &mut net::Stats64) {
        let s = dev.data().dev.counters();
        // Traffic through the VF counts as the interface's own.
        let [vrp, vrb, vtp, vtb, vtd] = dev.data().dev.vf_counters();
        stats.tx_packets = s.tx_packets + vtp;
        stats.tx_bytes = s.tx_bytes + vtb;
        stats.tx_dropped = s.tx_too_big + vtd;
        stats.rx_packets = s.rx_packets + vrp;
        stats.rx_bytes = s.rx_bytes + vrb;
        stats.rx_dropped = s.rx_dropped;
    }

    fn get_queue_stats(dev: &net::Device<Self>, queue: u32) -> (net::QueueStats, net::QueueStats) {
        // The one queue pair: what went through the synthetic path.
        if queue != 0 {
            return Default::default();
        }
        let s = dev.data().dev.counters();
        (
            net::QueueStats {
                packets: s.rx_packets,
                bytes: s.rx_bytes,
            },
            net::QueueStats {
                packets: s.tx_packets,
                bytes: s.tx_bytes,
            },
        )
    }

    fn get_base_stats(dev: &net::Device<Self>) -> (net::QueueStats, net::QueueStats) {
        // What went through the VF is the interface's too (`get_stats64`)
        // but on none of its queues.
        let [vrp, vrb, vtp, vtb, _] = dev.data().dev.vf_counters();
        (
            net::QueueStats {
                packets: vrp,
                bytes: vrb,
            },
            net::QueueStats {
                packets: vtp,
                bytes: vtb,
            },
        )
    }

    fn change_mtu(dev: &net::Device<Self>, new_mtu: u32) -> Result {
        let nic = &dev.data().dev;
        // The VF carries the same frames: it must take the MTU first, or the
        // change is refused (as upstream).
        let vf = nic.joined_vf();
        if let Some(vf) = &vf {
            vf.set_mtu(new_mtu)?;
        }
        let r = NetvscDevice::renegotiate_mtu(nic, dev, new_mtu);
        if r.is_err() {
            if let Some(vf) = &vf {
                if let Err(e) = vf.set_mtu(dev.mtu()) {
                    pr_warn!("the VF did not take its MTU back: {:?}\n", e);
                }
            }
        }
        // The new channel routes synthetically: the failover state takes
        // the data path back to the VF if it was there (RTNL held).
        crate::failover::after_channel_reset(nic);
        r
    }

    fn set_rx_mode(dev: &net::Device<Self>, mode: net::RxMode) -> Result {
        // The VF receives what the interface receives (RTNL held here).
        crate::failover::sync_vf_rx(&dev.data().dev, dev);
        if !dev.is_running() {
            return Ok(());
        }
        dev.data().dev.set_filter(filter_for(mode))
    }

    fn vlan_rx_add_vid(dev: &net::Device<Self>, proto: u16, vid: u16) -> Result {
        // The host carries every VLAN; a joined VF filters in hardware and
        // needs the id (RTNL held, as for joining: the VF cannot change
        // under us, and one joined later takes the ids then).
        match dev.data().dev.joined_vf() {
            Some(vf) => vf.vlan_vid(proto, vid, true),
            None => Ok(()),
        }
    }

    fn vlan_rx_kill_vid(dev: &net::Device<Self>, proto: u16, vid: u16) -> Result {
        match dev.data().dev.joined_vf() {
            Some(vf) => vf.vlan_vid(proto, vid, false),
            None => Ok(()),
        }
    }

    fn set_mac_address(dev: &net::Device<Self>, addr: &net::MacAddr) -> Result {
        // As upstream: the VF first (frames to the new address must reach
        // it), then the host; if the host refuses, the VF gets the old one
        // back.
        let nic = &dev.data().dev;
        let vf = nic.joined_vf();
        if let Some(vf) = &vf {
            vf.set_mac(addr)?;
        }
        nic.set_host_mac(addr).inspect_err(|_| {
            if let Some(vf) = &vf {
                let _ = vf.set_mac(&dev.mac());
            }
        })
    }

    fn get_drvinfo(_dev: &net::Device<Self>, info: &mut net::DrvInfo<'_>) {
        // The name Azure tooling, udev's ID_NET_DRIVER and netplan match on.
        info.set_driver(c"hv_netvsc");
    }

    fn get_link(dev: &net::Device<Self>) -> bool {
        dev.data().dev.link_up()
    }

    fn get_ethtool_stats(dev: &net::Device<Self>, data: &mut [u64]) {
        let s = dev.data().dev.counters();
        let values = [
            s.tx_packets,
            s.tx_bytes,
            s.tx_busy,
            s.tx_too_big,
            s.rx_packets,
            s.rx_bytes,
            s.rx_dropped,
            s.bad_host_packets,
            s.tx_checksum_offload,
            s.tx_lso,
            s.rx_checksum_offload,
        ];
        let vf = dev.data().dev.vf_counters();
        let vlan = [
            s.tx_vlan,
            s.rx_vlan,
            s.vlan_error,
            s.rx_comp_busy,
            s.stop_queue,
            s.wake_queue,
        ];
        let all = Iterator::chain(Iterator::chain(values.into_iter(), vf), vlan);
        for (d, v) in data.iter_mut().zip(all) {
            *d = v;
        }
    }

    fn get_channels(_dev: &net::Device<Self>) -> net::Channels {
        // One channel until subchannels (vRSS) are negotiated.
        net::Channels {
            max_combined: 1,
            combined_count: 1,
            ..Default::default()
        }
    }

    fn set_channels(_dev: &net::Device<Self>, ch: &net::Channels) -> Result {
        // The core held the request to the maxima above: the one channel
        // there is is all that can be asked for (upstream refuses more
        // than the host's subchannels the same way).
        if ch.combined_count == 1 && ch.rx_count == 0 && ch.tx_count == 0 && ch.other_count == 0 {
            Ok(())
        } else {
            Err(EINVAL)
        }
    }

    fn get_link_ksettings(dev: &net::Device<Self>, out: &mut net::LinkKsettings<'_>) -> Result {
        // As upstream: while a VF is joined, the VF's own settings (RTNL
        // held, so it cannot leave meanwhile); otherwise the speed the host
        // told (or the user set), full duplex unless the user set another.
        if let Some(vf) = dev.data().dev.joined_vf() {
            return vf.get_link_ksettings(out);
        }
        out.set(&dev.data().dev.link_settings());
        Ok(())
    }

    fn set_link_ksettings(dev: &net::Device<Self>, req: &net::LinkKsettingsRequest<'_>) -> Result {
        // As upstream: while a VF is joined, the request is the VF's (RTNL
        // held); otherwise speed and duplex, as a virtual device takes them.
        if let Some(vf) = dev.data().dev.joined_vf() {
            return vf.set_link_ksettings(req);
        }
        dev.data().dev.set_link_settings(&req.virtual_settings()?);
        Ok(())
    }

    fn get_ringparam(dev: &net::Device<Self>) -> net::RingParam {
        let info = dev.data().dev.host_info();
        net::RingParam {
            rx_max_pending: info.recv_sections,
            rx_pending: info.recv_sections,
            tx_max_pending: info.send_sections,
            tx_pending: info.send_sections,
            ..Default::default()
        }
    }
}
