// SPDX-License-Identifier: GPL-2.0

//! Safe wrappers over `struct net_device`, `net_device_ops`, `ethtool_ops`,
//! `sk_buff` and NAPI for the rest of the driver.
//!
//! This is one of the thin layers allowed to use `unsafe`: every block states
//! why it is sound, and the types here uphold the invariants callers rely on.
//! What it offers is entirely safe:
//!
//! - [`Operations`]: implemented by a driver for its per-device state `T`
//!   (open, stop, transmit, statistics, MTU, MAC, receive filter, NAPI poll,
//!   ethtool);
//! - [`Registration<T>`]: allocates, sets up and registers an Ethernet device
//!   with `T` initialised in place in its private area, and tears it down in
//!   a safe order on drop;
//! - [`Device<T>`]: the handle callbacks get (state, name, MTU, MAC, carrier,
//!   transmit queues, NAPI, alias, receive outside NAPI);
//! - [`SkBuff`], [`NapiPoll`], [`Stats64`], [`DrvInfo`], [`Channels`],
//!   [`RingParam`]: the values passed through the callbacks.
//!
//! ```ignore
//! #[pin_data]
//! struct Nic { /* per-queue state, locks, counters */ }
//!
//! #[vtable]
//! impl net::Operations for Nic {
//!     const ETHTOOL_STATS: &'static [&'static CStr] = &[c"tx_no_space"];
//!
//!     fn open(dev: &net::Device<Self>) -> Result {
//!         dev.napi_enable(0)?;
//!         dev.start_all_queues();
//!         Ok(())
//!     }
//!
//!     fn start_xmit(dev: &net::Device<Self>, skb: net::SkBuff) -> net::NetdevTx {
//!         let mut section = [0u8; 6144];
//!         let len = skb.len() as usize;
//!         if len > section.len() || skb.copy_bits(0, &mut section[..len]).is_err() {
//!             skb.free();
//!             return net::NetdevTx::Ok;
//!         }
//!         // ... send `section[..len]` on queue `skb.queue_mapping()` ...
//!         skb.consume();
//!         net::NetdevTx::Ok
//!     }
//!
//!     fn poll(dev: &net::Device<Self>, napi: &mut net::NapiPoll<'_>) -> u32 {
//!         let mut done = 0;
//!         // for each frame, while done < napi.budget():
//!         //     let mut skb = napi.alloc_skb(len)?; skb.put_data(frame)?;
//!         //     napi.receive(skb)?; done += 1;
//!         if done < napi.budget() {
//!             napi.complete_done(done);
//!         }
//!         done
//!     }
//!
//!     fn get_drvinfo(_dev: &net::Device<Self>, info: &mut net::DrvInfo<'_>) {
//!         info.set_driver(c"hv_netvsc");
//!     }
//! }
//!
//! let mut config = net::Config::new(mac);
//! config.parent = Some(hv_dev.as_ref());
//! config.napi_queues = 1;
//! config.max_mtu = 65521;
//! let reg = net::Registration::<Nic>::new(config, Nic::new())?;
//! reg.device().carrier_on();
//! ```

#![allow(dead_code)]

mod bh;
mod device;
mod ethtool;
mod napi;
mod skb;
mod stats;
mod vf;

#[allow(unused_imports)]
pub(crate) use self::{
    bh::BhDisabled,
    device::{
        Attr, Config, Device, Features, IfName, MacAddr, NetdevTx, Operations, Registration,
        RxMode, ETH_ALEN, ETH_DATA_LEN, ETH_MIN_MTU, IFALIAS_MAX,
    },
    ethtool::{
        Channels, DrvInfo, Duplex, LinkKsettings, LinkKsettingsRequest, LinkSettings, RingParam,
        ETH_GSTRING_LEN, SPEED_UNKNOWN,
    },
    napi::NapiPoll,
    skb::{SkBuff, TxOffloads},
    stats::{QueueStats, Stats64},
    vf::{
        failover_queue, info, notice, register_failover_notifier, replay_registered,
        unregister_failover_notifier, warn, ForeignNetdev, Parent, Rtnl, RxRefs, Timer,
        TimerHandler, VfFacts, VfRef, VfRx, VfTxSlot, NETDEV_CHANGE, NETDEV_CHANGENAME,
        NETDEV_DOWN, NETDEV_GOING_DOWN, NETDEV_POST_INIT, NETDEV_REGISTER, NETDEV_UNREGISTER,
        NETDEV_UP,
    },
};

#[kernel::macros::kunit_tests(hv_netvsc_rs_netdev)]
mod tests {
    use super::*;
    use crate::bindings;
    use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering::Relaxed};
    use kernel::{
        ffi,
        prelude::*,
        time::{delay::fsleep, Delta},
    };

    /// An ethertype from the IEEE "local experimental" range: frames the
    /// tests send and expect, told apart from IPv6 traffic of the stack.
    const MARK: u16 = 0x88b5;
    const MAC: MacAddr = [0x02, 0x15, 0x5d, 0x00, 0x00, 0x01];
    const STAT_NAMES: &[&CStr] = &[
        c"tx_packets",
        c"tx_marked",
        c"a_statistic_name_longer_than_thirty_one_bytes",
    ];

    /// A loopback-ish test device: transmit counts and consumes, receive
    /// makes up `rx_pending` frames in its NAPI poll.
    #[pin_data]
    #[derive(Default)]
    struct LoopDev {
        opens: AtomicU32,
        stops: AtomicU32,
        tx_packets: AtomicU64,
        tx_bytes: AtomicU64,
        tx_marked: AtomicU64,
        busy_next: AtomicBool,
        busy_count: AtomicU32,
        mtu_seen: AtomicU32,
        mac_sets: AtomicU32,
        rx_mode_calls: AtomicU32,
        promisc: AtomicBool,
        rx_pending: AtomicU32,
        rx_delivered: AtomicU64,
        polls: AtomicU32,
        combined: AtomicU32,
    }

    #[vtable]
    impl Operations for LoopDev {
        const ETHTOOL_STATS: &'static [&'static CStr] = STAT_NAMES;

        fn open(dev: &Device<Self>) -> Result {
            dev.data().opens.fetch_add(1, Relaxed);
            for q in 0..dev.napi_count() {
                dev.napi_enable(q)?;
            }
            dev.carrier_on();
            dev.start_all_queues();
            Ok(())
        }

        fn stop(dev: &Device<Self>) -> Result {
            dev.data().stops.fetch_add(1, Relaxed);
            dev.stop_all_queues();
            dev.carrier_off();
            for q in 0..dev.napi_count() {
                dev.napi_disable(q)?;
            }
            Ok(())
        }

        fn start_xmit(dev: &Device<Self>, skb: SkBuff) -> NetdevTx {
            let d = dev.data();
            if d.busy_next.swap(false, Relaxed) {
                d.busy_count.fetch_add(1, Relaxed);
                return NetdevTx::Busy(skb);
            }
            d.tx_packets.fetch_add(1, Relaxed);
            d.tx_bytes.fetch_add(u64::from(skb.len()), Relaxed);
            let mut proto = [0u8; 2];
            if skb.copy_bits(12, &mut proto).is_ok()
                && u16::from_be_bytes(proto) == MARK
                && skb.data().get(..6) == Some(&[0xff; 6][..])
            {
                d.tx_marked.fetch_add(1, Relaxed);
            }
            skb.consume();
            NetdevTx::Ok
        }

        fn get_stats64(dev: &Device<Self>, stats: &mut Stats64) {
            let d = dev.data();
            stats.tx_packets = d.tx_packets.load(Relaxed);
            stats.tx_bytes = d.tx_bytes.load(Relaxed);
            stats.rx_packets = d.rx_delivered.load(Relaxed);
        }

        fn change_mtu(dev: &Device<Self>, new_mtu: u32) -> Result {
            // A value the "host" refuses although it is inside the range.
            if new_mtu == 1234 {
                return Err(EINVAL);
            }
            dev.data().mtu_seen.store(new_mtu, Relaxed);
            Ok(())
        }

        fn set_mac_address(dev: &Device<Self>, _addr: &MacAddr) -> Result {
            dev.data().mac_sets.fetch_add(1, Relaxed);
            Ok(())
        }

        fn set_rx_mode(dev: &Device<Self>, mode: RxMode) -> Result {
            let d = dev.data();
            d.promisc.store(mode.promisc, Relaxed);
            d.rx_mode_calls.fetch_add(1, Relaxed);
            Ok(())
        }

        fn poll(dev: &Device<Self>, napi: &mut NapiPoll<'_>) -> u32 {
            let d = dev.data();
            d.polls.fetch_add(1, Relaxed);
            let mut done = 0;
            while done < napi.budget() {
                if d.rx_pending
                    .fetch_update(Relaxed, Relaxed, |n| n.checked_sub(1))
                    .is_err()
                {
                    break;
                }
                let mut frame = [0u8; 60];
                frame[..6].copy_from_slice(&dev.mac());
                frame[6..12].copy_from_slice(&[0x02, 0, 0, 0, 0, 0x42]);
                frame[12..14].copy_from_slice(&MARK.to_be_bytes());
                let Ok(mut skb) = napi.alloc_skb(60) else {
                    break;
                };
                if skb.put_data(&frame).is_ok() && napi.receive(skb).is_ok() {
                    d.rx_delivered.fetch_add(1, Relaxed);
                }
                done += 1;
            }
            if done < napi.budget() {
                napi.complete_done(done);
            }
            done
        }

        fn get_drvinfo(_dev: &Device<Self>, info: &mut DrvInfo<'_>) {
            info.set_driver(c"hv_netvsc");
            info.set_version(c"kunit");
            info.set_bus_info(c"a-bus-location-longer-than-thirty-two-bytes");
        }

        fn get_link(dev: &Device<Self>) -> bool {
            dev.carrier_ok()
        }

        fn get_ethtool_stats(dev: &Device<Self>, data: &mut [u64]) {
            let d = dev.data();
            data[0] = d.tx_packets.load(Relaxed);
            data[1] = d.tx_marked.load(Relaxed);
            data[2] = 42;
        }

        fn get_channels(dev: &Device<Self>) -> Channels {
            Channels {
                max_combined: 8,
                combined_count: dev.data().combined.load(Relaxed),
                ..Channels::default()
            }
        }

        fn set_channels(dev: &Device<Self>, channels: &Channels) -> Result {
            dev.data().combined.store(channels.combined_count, Relaxed);
            Ok(())
        }

        fn get_ringparam(_dev: &Device<Self>) -> RingParam {
            RingParam {
                rx_max_pending: 1024,
                tx_max_pending: 512,
                rx_pending: 256,
                tx_pending: 128,
                ..RingParam::default()
            }
        }
    }

    /// A device that only transmits (drops everything): every optional
    /// operation is left out.
    struct Minimal;

    #[vtable]
    impl Operations for Minimal {
        fn start_xmit(_dev: &Device<Self>, skb: SkBuff) -> NetdevTx {
            skb.free();
            NetdevTx::Ok
        }
    }

    fn raw<T: Operations>(dev: &Device<T>) -> *mut bindings::net_device {
        core::ptr::from_ref(dev).cast_mut().cast()
    }

    /// Waits up to 3 s for `cond`.
    fn wait_for(cond: impl Fn() -> bool) -> bool {
        for _ in 0..300 {
            if cond() {
                return true;
            }
            fsleep(Delta::from_millis(10));
        }
        cond()
    }

    fn loop_config() -> Config<'static> {
        let mut config = Config::new(MAC);
        config.tx_queues = 2;
        config.rx_queues = 2;
        config.napi_queues = 2;
        config.max_mtu = 9000;
        config.features = Features::SG | Features::RXCSUM;
        config.hw_features = Features::SG;
        config
    }

    fn new_loop() -> Result<Registration<LoopDev>> {
        Registration::new(loop_config(), Ok::<_, Error>(LoopDev::default()))
    }

    fn stats_of<T: Operations>(dev: &Device<T>) -> Stats64 {
        let mut raw_stats = bindings::rtnl_link_stats64::default();
        // SAFETY: `dev` is registered; `raw_stats` is a valid out-buffer.
        unsafe { bindings::hvn_test_get_stats(raw(dev), &mut raw_stats) };
        Stats64::from_raw(&raw_stats)
    }

    #[test]
    fn registration_sets_up_the_device() -> Result {
        let reg = new_loop()?;
        let dev = reg.device();
        assert!(dev.name().as_bytes().starts_with(b"eth"));
        assert_eq!(dev.mac(), MAC);
        assert_eq!(dev.mtu(), ETH_DATA_LEN);
        assert_eq!(dev.num_tx_queues(), 2);
        assert_eq!(dev.napi_count(), 2);
        assert!(!dev.is_running());
        assert_eq!(dev.subqueue_stopped(2), None);
        dev.set_alias(b"synthetic NIC under test")?;
        assert_eq!(dev.set_alias(&[b'a'; IFALIAS_MAX + 1]), Err(EINVAL));
        // Nothing ran yet.
        assert_eq!(reg.data().opens.load(Relaxed), 0);
        Ok(())
    }

    #[test]
    fn registration_rejects_bad_configs() {
        let mut c = loop_config();
        c.tx_queues = 0;
        assert!(Registration::new(c, Ok::<_, Error>(LoopDev::default())).is_err());
        let mut c = loop_config();
        c.napi_queues = 3;
        assert!(Registration::new(c, Ok::<_, Error>(LoopDev::default())).is_err());
        let mut c = loop_config();
        c.mtu = 9001;
        assert!(Registration::new(c, Ok::<_, Error>(LoopDev::default())).is_err());
        let mut c = loop_config();
        c.mac = [0x01, 0, 0, 0, 0, 1];
        assert_eq!(
            Registration::new(c, Ok::<_, Error>(LoopDev::default())).err(),
            Some(EADDRNOTAVAIL)
        );
        // NAPI needs a poll callback.
        let mut c = Config::new(MAC);
        c.napi_queues = 1;
        assert!(Registration::new(c, Ok::<_, Error>(Minimal)).is_err());
        // A failing initialiser of the private state fails the registration.
        let failing = Err::<LoopDev, Error>(ENOMEM);
        assert_eq!(
            Registration::new(loop_config(), failing).err(),
            Some(ENOMEM)
        );
    }

    #[test]
    fn open_xmit_stats_close() -> Result {
        let reg = new_loop()?;
        let dev = reg.device();
        let d = reg.data();
        // SAFETY: `dev` is registered.
        assert_eq!(unsafe { bindings::hvn_test_dev_open(raw(dev)) }, 0);
        assert_eq!(d.opens.load(Relaxed), 1);
        assert!(dev.is_running());
        assert!(dev.carrier_ok());
        assert_eq!(dev.subqueue_stopped(0), Some(false));

        for _ in 0..5 {
            // SAFETY: `dev` is registered and up.
            assert_eq!(unsafe { bindings::hvn_test_xmit(raw(dev), MARK, 60) }, 0);
        }
        assert!(wait_for(|| d.tx_marked.load(Relaxed) == 5));

        // NETDEV_TX_BUSY hands the buffer back; the stack retries it.
        d.busy_next.store(true, Relaxed);
        // SAFETY: As above.
        assert_eq!(unsafe { bindings::hvn_test_xmit(raw(dev), MARK, 100) }, 0);
        assert!(wait_for(|| d.tx_marked.load(Relaxed) == 6));
        assert_eq!(d.busy_count.load(Relaxed), 1);

        // The stack's own frames (IPv6) may be sent meanwhile: bracket.
        let before = d.tx_packets.load(Relaxed);
        let stats = stats_of(dev);
        let after = d.tx_packets.load(Relaxed);
        assert!(before >= 6);
        assert!(before <= stats.tx_packets && stats.tx_packets <= after);
        assert!(stats.tx_bytes >= 5 * 60 + 100);

        dev.stop_subqueue(1);
        assert_eq!(dev.subqueue_stopped(1), Some(true));
        dev.wake_subqueue(1);
        assert_eq!(dev.subqueue_stopped(1), Some(false));

        // SAFETY: `dev` is registered.
        unsafe { bindings::hvn_test_dev_close(raw(dev)) };
        assert_eq!(d.stops.load(Relaxed), 1);
        assert!(!dev.is_running());
        assert!(!dev.carrier_ok());
        Ok(())
    }

    #[test]
    fn mtu_limits_and_driver_veto() -> Result {
        let reg = new_loop()?;
        let dev = reg.device();
        let set = |mtu: i32| {
            // SAFETY: `dev` is registered.
            unsafe { bindings::hvn_test_dev_set_mtu(raw(dev), mtu) }
        };
        assert_eq!(set(9000), 0);
        assert_eq!(dev.mtu(), 9000);
        assert_eq!(reg.data().mtu_seen.load(Relaxed), 9000);
        assert_eq!(set(9001), EINVAL.to_errno());
        assert_eq!(set(67), EINVAL.to_errno());
        assert_eq!(set(1234), EINVAL.to_errno());
        assert_eq!(dev.mtu(), 9000);
        assert_eq!(set(68), 0);
        assert_eq!(dev.mtu(), 68);
        Ok(())
    }

    #[test]
    fn offloads_follow_what_is_offered() -> Result {
        let offload = Features::SG
            .union(Features::RXCSUM)
            .union(Features::IP_CSUM)
            .union(Features::TSO);
        let mut c = loop_config();
        c.features = offload;
        c.hw_features = offload;
        c.tso_max_size = Some(30000);
        let reg = Registration::new(c, Ok::<_, Error>(LoopDev::default()))?;
        let dev = reg.device();
        assert!(dev.features().contains(offload));
        {
            let _rtnl = Rtnl::lock();
            // All withdrawn: all off.
            dev.update_offloads(offload, Features::empty(), None);
        }
        for f in [
            Features::IP_CSUM,
            Features::TSO,
            Features::RXCSUM,
            Features::SG,
        ] {
            assert!(!dev.features().contains(f));
        }
        {
            let _rtnl = Rtnl::lock();
            // Offered again (without TSO): on again.
            dev.update_offloads(offload, Features::SG.union(Features::IP_CSUM), Some(20000));
        }
        assert!(dev
            .features()
            .contains(Features::SG.union(Features::IP_CSUM)));
        assert!(!dev.features().contains(Features::TSO));
        Ok(())
    }

    #[test]
    fn mac_address_changes() -> Result {
        let reg = new_loop()?;
        let dev = reg.device();
        let new = [0x02, 0x15, 0x5d, 0x00, 0x00, 0x02];
        // SAFETY: `dev` is registered; `new` has `ETH_ALEN` bytes.
        let ret = unsafe { bindings::hvn_test_dev_set_mac(raw(dev), new.as_ptr()) };
        assert_eq!(ret, 0);
        assert_eq!(dev.mac(), new);
        assert_eq!(reg.data().mac_sets.load(Relaxed), 1);
        let multicast = [0x03, 0, 0, 0, 0, 0x02];
        // SAFETY: As above.
        let ret = unsafe { bindings::hvn_test_dev_set_mac(raw(dev), multicast.as_ptr()) };
        assert_eq!(ret, EADDRNOTAVAIL.to_errno());
        assert_eq!(dev.mac(), new);
        assert_eq!(reg.data().mac_sets.load(Relaxed), 1);
        Ok(())
    }

    #[test]
    fn ethtool_ops() -> Result {
        let reg = new_loop()?;
        let dev = reg.device();
        let p = raw(dev);

        let mut info = bindings::ethtool_drvinfo::default();
        // SAFETY: `p` is registered; `info` is a valid out-buffer.
        let ret = unsafe { bindings::hvn_test_ethtool_drvinfo(p, &mut info) };
        assert_eq!(ret, 0);
        let field = |f: &[ffi::c_char]| -> KVec<u8> {
            let mut v = KVec::new();
            for &c in f.iter().take_while(|&&c| c != 0) {
                let _ = v.push(c, GFP_KERNEL);
            }
            v
        };
        assert_eq!(&field(&info.driver)[..], b"hv_netvsc");
        assert_eq!(&field(&info.version)[..], b"kunit");
        assert_eq!(field(&info.bus_info).len(), 31);

        let stats_set = bindings::ethtool_stringset_ETH_SS_STATS as i32;
        // SAFETY: `p` is registered.
        let ret = unsafe { bindings::hvn_test_ethtool_sset_count(p, stats_set) };
        assert_eq!(ret, 3);
        // SAFETY: As above.
        let other = unsafe { bindings::hvn_test_ethtool_sset_count(p, 0) };
        assert_eq!(other, EOPNOTSUPP.to_errno());

        let mut strings = [0xaau8; 3 * ETH_GSTRING_LEN];
        // SAFETY: `p` is registered; `strings` holds 3 strings.
        let ret = unsafe { bindings::hvn_test_ethtool_strings(p, strings.as_mut_ptr()) };
        assert_eq!(ret, 0);
        assert_eq!(&strings[..11], b"tx_packets\0");
        assert_eq!(&strings[32..42], b"tx_marked\0");
        assert_eq!(&strings[64..66], b"a_");
        assert_eq!(strings[64 + 31], 0);

        let mut values = [7u64; 3];
        // SAFETY: `p` is registered; `values` holds 3 values.
        let ret = unsafe { bindings::hvn_test_ethtool_stats(p, values.as_mut_ptr()) };
        assert_eq!(ret, 0);
        assert_eq!(values, [0, 0, 42]);

        dev.carrier_off();
        // SAFETY: `p` is registered.
        assert_eq!(unsafe { bindings::hvn_test_ethtool_link(p) }, 0);
        dev.carrier_on();
        // SAFETY: As above.
        assert_eq!(unsafe { bindings::hvn_test_ethtool_link(p) }, 1);

        let mut ch = bindings::ethtool_channels {
            combined_count: 4,
            ..Default::default()
        };
        // SAFETY: `p` is registered; `ch` is valid.
        let ret = unsafe { bindings::hvn_test_ethtool_set_channels(p, &mut ch) };
        assert_eq!(ret, 0);
        let mut ch = bindings::ethtool_channels::default();
        // SAFETY: As above.
        let ret = unsafe { bindings::hvn_test_ethtool_channels(p, &mut ch) };
        assert_eq!(ret, 0);
        assert_eq!((ch.max_combined, ch.combined_count), (8, 4));

        let mut ring = bindings::ethtool_ringparam::default();
        // SAFETY: `p` is registered; `ring` is valid.
        let ret = unsafe { bindings::hvn_test_ethtool_ringparam(p, &mut ring) };
        assert_eq!(ret, 0);
        assert_eq!((ring.rx_max_pending, ring.tx_pending), (1024, 128));
        Ok(())
    }

    #[test]
    fn optional_ops_are_not_supported() -> Result {
        let reg = Registration::new(Config::new(MAC), Ok::<_, Error>(Minimal))?;
        let dev = reg.device();
        let p = raw(dev);
        let mut info = bindings::ethtool_drvinfo::default();
        // SAFETY: `p` is registered; the out-buffers are valid.
        unsafe {
            assert_eq!(
                bindings::hvn_test_ethtool_drvinfo(p, &mut info),
                EOPNOTSUPP.to_errno()
            );
            assert_eq!(
                bindings::hvn_test_ethtool_sset_count(p, 1),
                EOPNOTSUPP.to_errno()
            );
            assert_eq!(bindings::hvn_test_ethtool_link(p), EOPNOTSUPP.to_errno());
            let new = [0x02, 0, 0, 0, 0, 9];
            assert_eq!(
                bindings::hvn_test_dev_set_mac(p, new.as_ptr()),
                EOPNOTSUPP.to_errno()
            );
            // Without `change_mtu` the core stores the MTU itself.
            assert_eq!(bindings::hvn_test_dev_set_mtu(p, 1400), 0);
        }
        assert_eq!(dev.mtu(), 1400);
        assert_eq!(dev.napi_count(), 0);
        assert!(!dev.napi_schedule(0));
        assert_eq!(dev.napi_enable(0), Err(EINVAL));
        // Up and down without `open`/`stop`.
        // SAFETY: `p` is registered.
        assert_eq!(unsafe { bindings::hvn_test_dev_open(p) }, 0);
        assert!(dev.is_running());
        // Left up: dropping the registration closes it.
        Ok(())
    }

    #[test]
    fn rx_mode_follows_promiscuity() -> Result {
        let reg = new_loop()?;
        let dev = reg.device();
        let d = reg.data();
        // SAFETY: `dev` is registered.
        assert_eq!(unsafe { bindings::hvn_test_dev_open(raw(dev)) }, 0);
        // SAFETY: As above.
        let ret = unsafe { bindings::hvn_test_dev_set_promisc(raw(dev), 1) };
        assert_eq!(ret, 0);
        assert!(wait_for(|| d.promisc.load(Relaxed)));
        // SAFETY: As above.
        let ret = unsafe { bindings::hvn_test_dev_set_promisc(raw(dev), -1) };
        assert_eq!(ret, 0);
        assert!(wait_for(|| !d.promisc.load(Relaxed)));
        assert!(d.rx_mode_calls.load(Relaxed) >= 2);
        Ok(())
    }

    #[test]
    fn napi_receives_into_the_stack() -> Result {
        let reg = new_loop()?;
        let dev = reg.device();
        let d = reg.data();
        // Not enabled yet: scheduling does nothing.
        assert!(!dev.napi_schedule(0));
        // SAFETY: `dev` is registered.
        assert_eq!(unsafe { bindings::hvn_test_dev_open(raw(dev)) }, 0);
        // Enabling twice is harmless.
        dev.napi_enable(0)?;
        assert_eq!(dev.napi_enable(2), Err(EINVAL));
        // SAFETY: `dev` is registered; the hook is removed below.
        unsafe { bindings::hvn_test_rx_hook_add(raw(dev), MARK) };
        d.rx_pending.store(100, Relaxed);
        let scheduled = dev.napi_schedule(1);
        // SAFETY: Only reads a counter.
        let ok = wait_for(|| unsafe { bindings::hvn_test_rx_hook_count() } == 100);
        // SAFETY: Added above.
        unsafe { bindings::hvn_test_rx_hook_del() };
        assert!(scheduled);
        assert!(ok);
        // 100 frames at a budget of 64 need more than one poll.
        assert!(d.polls.load(Relaxed) >= 2);
        assert_eq!(d.rx_delivered.load(Relaxed), 100);
        assert_eq!(stats_of(dev).rx_packets, 100);
        // Too short for an Ethernet header: refused, and freed.
        let skb = dev.alloc_rx_skb(8)?;
        assert_eq!(dev.netif_rx(skb), Err(EINVAL));
        // Left up with NAPI enabled: dropping the registration cleans up.
        Ok(())
    }

    #[test]
    fn skb_data_access() -> Result {
        let reg = Registration::new(Config::new(MAC), Ok::<_, Error>(Minimal))?;
        let mut skb = reg.device().alloc_rx_skb(64)?;
        assert!(skb.is_empty());
        assert!(skb.tailroom() >= 64);
        let frame: [u8; 20] = core::array::from_fn(|i| i as u8);
        skb.put_data(&frame)?;
        assert_eq!(skb.len(), 20);
        assert_eq!(skb.headlen(), 20);
        assert_eq!(skb.data(), &frame[..]);
        skb.linearize()?;
        let mut out = [0u8; 4];
        skb.copy_bits(16, &mut out)?;
        assert_eq!(out, [16, 17, 18, 19]);
        assert_eq!(skb.copy_bits(17, &mut out), Err(EINVAL));
        assert_eq!(skb.copy_bits(u32::MAX, &mut out), Err(EINVAL));
        let big = [0u8; 4096];
        assert_eq!(skb.put_data(&big), Err(ENOSPC));
        assert_eq!(skb.len(), 20);
        skb.consume();
        // Dropping frees too (kmemleak would tell).
        let _dropped = reg.device().alloc_rx_skb(128)?;
        Ok(())
    }
}
