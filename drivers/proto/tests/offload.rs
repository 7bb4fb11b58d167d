// SPDX-License-Identifier: GPL-2.0
//! Offload parameters, the guest's plan and per-frame preparation, the
//! host's checks, and the checksum arithmetic.

use netvsc_proto::error::Error;
use netvsc_proto::offload::*;
use netvsc_proto::rndis::{self, ChecksumInfo, OffloadCaps, PacketInfo};
use proptest::prelude::*;

/// Azure's answer (as in the simulator): every checksum, LSOv2 62780.
fn azure_caps() -> OffloadCaps {
    let all4 = rndis::CSUM_TCP | rndis::CSUM_TCP_OPTIONS | rndis::CSUM_UDP | rndis::CSUM_IP_OPTIONS;
    let enc = rndis::NDIS_ENCAP_802_3;
    OffloadCaps {
        revision: 3,
        ip4_tx: (enc, all4),
        ip4_rx: (enc, all4),
        ip6_tx: (enc, all4),
        ip6_rx: (enc, all4),
        lso4: (enc, 62780, 2),
        lso6: (enc, 62780, 2),
        lso6_opts: rndis::LSO6_IP_EXT | rndis::LSO6_TCP_OPTIONS,
        rsc: (false, false),
    }
}

const NVSP_61: u32 = 0x60001;
const NVSP_6: u32 = 0x60000;
const NVSP_5: u32 = 0x50000;
const NVSP_4: u32 = 0x40000;

/// An Ethernet + IPv4 (+ options of `opt` bytes) + TCP/UDP frame with
/// `payload` bytes, transport checksum left 0.
fn frame_v4(proto: u8, opt: usize, payload: &[u8]) -> Vec<u8> {
    let l4_len = if proto == IPPROTO_TCP { 20 } else { 8 };
    let ihl = 20 + opt;
    let tot = ihl + l4_len + payload.len();
    let mut f = vec![0u8; 14];
    f[..6].copy_from_slice(&[0x52, 0x54, 0, 0x12, 0x34, 0x56]);
    f[6..12].copy_from_slice(&[0, 0x15, 0x5d, 0, 0x0f, 1]);
    f[12..14].copy_from_slice(&[0x08, 0x00]);
    let mut ip = vec![0u8; ihl];
    ip[0] = 0x40 | (ihl / 4) as u8;
    ip[2..4].copy_from_slice(&(tot as u16).to_be_bytes());
    ip[6] = 0x40; // DF
    ip[8] = 64;
    ip[9] = proto;
    ip[12..16].copy_from_slice(&[10, 0, 2, 15]);
    ip[16..20].copy_from_slice(&[10, 0, 2, 2]);
    let c = !fold(sum_words(0, &ip));
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    f.extend_from_slice(&ip);
    let mut l4 = vec![0u8; l4_len];
    l4[0..2].copy_from_slice(&40000u16.to_be_bytes());
    l4[2..4].copy_from_slice(&5001u16.to_be_bytes());
    if proto == IPPROTO_TCP {
        l4[4..8].copy_from_slice(&0x1234_5678u32.to_be_bytes());
        l4[12] = 5 << 4;
        l4[13] = 0x18; // PSH ACK
        l4[14..16].copy_from_slice(&64240u16.to_be_bytes());
    } else {
        l4[4..6].copy_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    }
    f.extend_from_slice(&l4);
    f.extend_from_slice(payload);
    f
}

/// The same over IPv6.
fn frame_v6(proto: u8, payload: &[u8]) -> Vec<u8> {
    let l4_len = if proto == IPPROTO_TCP { 20 } else { 8 };
    let mut f = vec![0u8; 14];
    f[12..14].copy_from_slice(&[0x86, 0xdd]);
    let mut ip = vec![0u8; 40];
    ip[0] = 0x60;
    ip[4..6].copy_from_slice(&((l4_len + payload.len()) as u16).to_be_bytes());
    ip[6] = proto;
    ip[7] = 64;
    ip[8] = 0xfe;
    ip[9] = 0x80;
    ip[23] = 1;
    ip[24] = 0xfe;
    ip[25] = 0x80;
    ip[39] = 2;
    f.extend_from_slice(&ip);
    let mut l4 = vec![0u8; l4_len];
    l4[0..2].copy_from_slice(&40000u16.to_be_bytes());
    l4[2..4].copy_from_slice(&5001u16.to_be_bytes());
    if proto == IPPROTO_TCP {
        l4[12] = 5 << 4;
        l4[13] = 0x10;
    } else {
        l4[4..6].copy_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    }
    f.extend_from_slice(&l4);
    f.extend_from_slice(payload);
    f
}

/// What the kernel hands a device for CHECKSUM_PARTIAL: the field seeded
/// with the pseudo-header sum including the transport length.
fn seed_partial(f: &mut [u8]) -> TxMeta {
    let h = parse_headers(f).unwrap();
    let len = (f.len() - h.l4) as u32;
    let off = if h.proto == IPPROTO_TCP { 16 } else { 6 };
    let seed = pseudo_sum(f, &h, len).unwrap();
    f[h.l4 + off..h.l4 + off + 2].copy_from_slice(&seed.to_be_bytes());
    TxMeta {
        csum: Some((h.l4 as u16, off as u16)),
        tso: None,
    }
}

#[test]
fn rfc1071_and_ip_header_vectors() {
    // RFC 1071's worked example.
    assert_eq!(
        fold(sum_words(
            0,
            &[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]
        )),
        0xddf2
    );
    // A captured IPv4 header whose checksum (0xb861) is known.
    let hdr = [
        0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0x00, 0x00, 0xc0, 0xa8, 0x00,
        0x01, 0xc0, 0xa8, 0x00, 0xc7,
    ];
    assert_eq!(!fold(sum_words(0, &hdr)), 0xb861);
    // An odd trailing byte is padded with zero.
    assert_eq!(fold(sum_words(0, &[0xab])), 0xab00);
}

#[test]
fn params_roundtrip_at_every_size() {
    let p = OffloadPlan::new(&azure_caps(), NVSP_61).params();
    for size in [
        OFFLOAD_PARAMETERS_SIZE,
        OFFLOAD_PARAMETERS_SIZE_NVSP4,
        OFFLOAD_PARAMETERS_SIZE_1,
    ] {
        let mut b = [0xeeu8; 64];
        assert_eq!(p.build(&mut b, size), Ok(size));
        assert_eq!(b[0], NDIS_OBJECT_TYPE_DEFAULT);
        assert_eq!(b[1], OFFLOAD_PARAMETERS_REVISION);
        assert_eq!(usize::from(u16::from_le_bytes([b[2], b[3]])), size);
        assert_eq!(OffloadParams::parse(&b[..size]), Ok(p));
    }
    let mut b = [0u8; 64];
    assert_eq!(p.build(&mut b, 19), Err(Error::InvalidValue));
    assert_eq!(p.build(&mut b, 29), Err(Error::InvalidValue));
    assert_eq!(p.build(&mut b[..27], 28), Err(Error::BufferTooSmall));
}

#[test]
fn params_rejects() {
    let p = OffloadPlan::new(&azure_caps(), NVSP_61).params();
    let mut b = [0u8; 28];
    p.build(&mut b, 28).unwrap();
    let with = |f: &dyn Fn(&mut [u8; 28])| {
        let mut c = b;
        f(&mut c);
        OffloadParams::parse(&c)
    };
    assert_eq!(with(&|c| c[0] = 0xa7), Err(Error::UnknownType));
    assert_eq!(with(&|c| c[1] = 0), Err(Error::BadVersion));
    assert_eq!(with(&|c| c[2] = 19), Err(Error::LengthTooSmall));
    assert_eq!(with(&|c| c[2] = 29), Err(Error::OverlongLength));
    assert_eq!(with(&|c| c[5] = 5), Err(Error::InvalidValue));
    assert_eq!(with(&|c| c[11] = 3), Err(Error::InvalidValue));
    assert_eq!(with(&|c| c[22] = 3), Err(Error::InvalidValue));
    assert_eq!(OffloadParams::parse(&b[..3]), Err(Error::Truncated));
}

#[test]
fn plan_follows_caps_and_nvsp_version() {
    let plan = OffloadPlan::new(&azure_caps(), NVSP_61);
    assert_eq!(
        plan,
        OffloadPlan {
            tcp4: true,
            udp4: true,
            tcp6: true,
            udp6: true,
            lso4: Some(62780),
            lso6: Some(62780),
        }
    );
    assert_eq!(plan.tso_max(), Some(62780));
    assert_eq!(
        plan.to_string(),
        "tx checksum tcp4 udp4 tcp6 udp6, rx checksum, TSO v4 v6 up to 62780"
    );
    let p = plan.params();
    assert_eq!(p.ip4, CSUM_TX_RX_DISABLED);
    assert_eq!((p.tcp4, p.udp4, p.tcp6, p.udp6), (4, 4, 4, 4));
    assert_eq!(
        (p.lso4, p.lso6, p.lso_v1),
        (SIMPLE_ENABLED, SIMPLE_ENABLED, PARAM_NO_CHANGE)
    );
    assert_eq!(OffloadPlan::params_size(NVSP_61), 28);

    // NVSP 4: no UDP checksum offload, the shorter structure, the UDP
    // settings left unchanged (as upstream).
    let old = OffloadPlan::new(&azure_caps(), NVSP_4);
    assert!(old.tcp4 && !old.udp4 && old.tcp6 && !old.udp6);
    assert_eq!(old.params().udp4, CSUM_TX_RX_DISABLED);
    let p4 = old.params_for(NVSP_4);
    assert_eq!((p4.udp4, p4.udp6), (PARAM_NO_CHANGE, PARAM_NO_CHANGE));
    assert_eq!((p4.tcp4, p4.tcp6), (CSUM_TX_RX_ENABLED, CSUM_TX_RX_ENABLED));
    assert_eq!(OffloadPlan::params_size(NVSP_4), 22);

    // NVSP 5 (0x50000), the first version above 4, has UDP and the whole
    // structure, as every later one.
    for v in [NVSP_5, NVSP_6, NVSP_61] {
        let p = OffloadPlan::new(&azure_caps(), v);
        assert!(p.udp4 && p.udp6, "{v:#x}");
        assert_eq!(p.params_for(v), p.params(), "{v:#x}");
        assert_eq!(OffloadPlan::params_size(v), 28, "{v:#x}");
    }

    // No capabilities: nothing on, everything turned off explicitly.
    let none = OffloadPlan::new(&OffloadCaps::default(), NVSP_61);
    assert!(!none.any());
    assert_eq!(none.to_string(), "none");
    assert_eq!(none.tso_max(), None);
    assert_eq!(none.params().lso4, SIMPLE_DISABLED);
    assert_eq!(none.params().tcp6, CSUM_TX_RX_DISABLED);

    // A limit above Linux's legacy GSO size is capped.
    let mut big = azure_caps();
    big.lso4.1 = 1 << 20;
    big.lso6.1 = 1 << 20;
    assert_eq!(
        OffloadPlan::new(&big, NVSP_61).tso_max(),
        Some(GSO_LEGACY_MAX)
    );
}

#[test]
fn checksum_offload_info_for_each_protocol() {
    let plan = OffloadPlan::new(&azure_caps(), NVSP_61);
    for (mut f, flags) in [
        (
            frame_v4(IPPROTO_TCP, 0, b"hello"),
            ChecksumInfo::TX_IS_IPV4 | ChecksumInfo::TX_TCP_CHECKSUM,
        ),
        (
            frame_v4(IPPROTO_UDP, 8, b"hello"),
            ChecksumInfo::TX_IS_IPV4 | ChecksumInfo::TX_UDP_CHECKSUM,
        ),
        (
            frame_v6(IPPROTO_TCP, b"hello"),
            ChecksumInfo::TX_IS_IPV6 | ChecksumInfo::TX_TCP_CHECKSUM,
        ),
        (
            frame_v6(IPPROTO_UDP, b"hello"),
            ChecksumInfo::TX_IS_IPV6 | ChecksumInfo::TX_UDP_CHECKSUM,
        ),
    ] {
        let meta = seed_partial(&mut f);
        let before = f.clone();
        let l4 = meta.csum.unwrap().0;
        assert_eq!(
            prepare_tx(&mut f, &meta, &plan),
            Ok(TxOffload::Checksum(ChecksumInfo::tx(flags, l4)))
        );
        assert_eq!(f, before, "a checksum offload leaves the frame as it is");
        // The host accepts it, and completing it gives a valid packet.
        let on = host_with(&plan);
        let info = TxOffload::Checksum(ChecksumInfo::tx(flags, l4)).packet_info();
        let HostTx::Checksum { l4, offset, udp } = check_tx(&f, &info, &on, 1514, 62780).unwrap()
        else {
            panic!("not a checksum job");
        };
        complete_checksum(&mut f, l4, offset, udp).unwrap();
        assert!(matches!(verify_l4(&f), L4Check::Good(_)));
    }
}

fn host_with(plan: &OffloadPlan) -> HostOffloads {
    let mut on = HostOffloads::default();
    on.apply(&plan.params());
    on
}

#[test]
fn checksums_not_offloaded_are_done_in_software() {
    // NVSP 4: UDP is not offloaded, so the driver completes it.
    let plan = OffloadPlan::new(&azure_caps(), NVSP_4);
    let mut f = frame_v4(IPPROTO_UDP, 0, b"some udp payload");
    let meta = seed_partial(&mut f);
    assert_eq!(prepare_tx(&mut f, &meta, &plan), Ok(TxOffload::None));
    assert_eq!(verify_l4(&f), L4Check::Good(IPPROTO_UDP));

    // An unknown protocol (here: the field of an "SCTP-like" payload):
    // completed at the offset the kernel gave.
    let mut f = frame_v4(132, 0, &[0u8; 16]);
    let meta = TxMeta {
        csum: Some((34, 8)),
        tso: None,
    };
    assert_eq!(prepare_tx(&mut f, &meta, &plan), Ok(TxOffload::None));
    assert_eq!(!fold(sum_words(0, &f[34..])), 0);

    // A field outside the frame is refused.
    let meta = TxMeta {
        csum: Some((34, 200)),
        tso: None,
    };
    assert_eq!(prepare_tx(&mut f, &meta, &plan), Err(Error::OffsetPastEnd));
}

#[test]
fn lso_prepares_headers_as_lsov2_wants() {
    let plan = OffloadPlan::new(&azure_caps(), NVSP_61);
    for v6 in [false, true] {
        // Segments of a 1500-byte MTU.
        let mss = if v6 { 1440 } else { 1460 };
        let payload = vec![0x5au8; 10 * 1448];
        let mut f = if v6 {
            frame_v6(IPPROTO_TCP, &payload)
        } else {
            frame_v4(IPPROTO_TCP, 0, &payload)
        };
        let mut meta = seed_partial(&mut f);
        meta.tso = Some((mss, v6));
        let l4 = if v6 { 54 } else { 34 };
        assert_eq!(
            prepare_tx(&mut f, &meta, &plan),
            Ok(TxOffload::Lso(rndis::LsoV2Info::new(mss, l4, v6)))
        );
        if v6 {
            assert_eq!(&f[18..20], &[0, 0], "IPv6 payload length zeroed");
        } else {
            assert_eq!(&f[16..18], &[0, 0], "IPv4 total length zeroed");
            assert_eq!(&f[24..26], &[0, 0], "IPv4 header checksum zeroed");
        }
        let info = TxOffload::Lso(rndis::LsoV2Info::new(mss, l4, v6)).packet_info();
        let on = host_with(&plan);
        assert_eq!(
            check_tx(&f, &info, &on, 1514, 62780),
            Ok(HostTx::Lso {
                l4: usize::from(l4),
                mss,
                ipv6: v6
            })
        );
        // Segments larger than the MTU allows are refused.
        assert_eq!(
            check_tx(&f, &info, &on, 1513, 62780),
            Err(HostTxError::BadLso)
        );
        // So is a send the host's limit does not take.
        assert_eq!(
            check_tx(&f, &info, &on, 1514, 8000),
            Err(HostTxError::BadLso)
        );
        // And a TCP checksum seeded the kernel's way (with length).
        let mut kernel_seed = f.clone();
        seed_partial(&mut kernel_seed);
        assert_eq!(
            check_tx(&kernel_seed, &info, &on, 1514, 62780),
            Err(HostTxError::BadLso)
        );
        // LSO the guest did not turn on.
        assert_eq!(
            check_tx(&f, &info, &HostOffloads::default(), 1514, 62780),
            Err(HostTxError::NotEnabled)
        );
    }
}

#[test]
fn lso_refused_when_not_planned_or_not_tcp() {
    let none = OffloadPlan::new(&OffloadCaps::default(), NVSP_61);
    let mut f = frame_v4(IPPROTO_TCP, 0, &[1u8; 4000]);
    let mut meta = seed_partial(&mut f);
    meta.tso = Some((1448, false));
    assert_eq!(prepare_tx(&mut f, &meta, &none), Err(Error::InvalidValue));

    let plan = OffloadPlan::new(&azure_caps(), NVSP_61);
    let mut u = frame_v4(IPPROTO_UDP, 0, &[1u8; 4000]);
    let mut meta = seed_partial(&mut u);
    meta.tso = Some((1448, false));
    assert_eq!(prepare_tx(&mut u, &meta, &plan), Err(Error::InvalidValue));

    // The IP version the kernel names must be the frame's.
    let mut f = frame_v4(IPPROTO_TCP, 0, &[1u8; 4000]);
    let mut meta = seed_partial(&mut f);
    meta.tso = Some((1448, true));
    assert_eq!(prepare_tx(&mut f, &meta, &plan), Err(Error::InvalidValue));
}

#[test]
fn host_refuses_info_that_contradicts_the_frame() {
    let plan = OffloadPlan::new(&azure_caps(), NVSP_61);
    let on = host_with(&plan);
    let mut f = frame_v4(IPPROTO_TCP, 0, b"x");
    seed_partial(&mut f);
    let tcp4 = ChecksumInfo::TX_IS_IPV4 | ChecksumInfo::TX_TCP_CHECKSUM;
    let info = |c: ChecksumInfo| PacketInfo {
        checksum: Some(c),
        ..PacketInfo::default()
    };
    assert!(check_tx(&f, &info(ChecksumInfo::tx(tcp4, 34)), &on, 1514, 62780).is_ok());
    // Wrong transport offset, wrong IP version, wrong protocol, both.
    for c in [
        ChecksumInfo::tx(tcp4, 30),
        ChecksumInfo::tx(ChecksumInfo::TX_IS_IPV6 | ChecksumInfo::TX_TCP_CHECKSUM, 34),
        ChecksumInfo::tx(ChecksumInfo::TX_IS_IPV4 | ChecksumInfo::TX_UDP_CHECKSUM, 34),
        ChecksumInfo::tx(tcp4 | ChecksumInfo::TX_IS_IPV6, 34),
        ChecksumInfo::tx(tcp4 | ChecksumInfo::TX_UDP_CHECKSUM, 34),
    ] {
        assert_eq!(
            check_tx(&f, &info(c), &on, 1514, 62780),
            Err(HostTxError::Mismatch),
            "{c:?}"
        );
    }
    // Not turned on by the guest.
    assert_eq!(
        check_tx(
            &f,
            &info(ChecksumInfo::tx(tcp4, 34)),
            &HostOffloads::default(),
            1514,
            62780
        ),
        Err(HostTxError::NotEnabled)
    );
    // An IP-header-only request is nothing to do.
    assert_eq!(
        check_tx(
            &f,
            &info(ChecksumInfo::tx(ChecksumInfo::TX_IP_HEADER_CHECKSUM, 0)),
            &on,
            1514,
            62780
        ),
        Ok(HostTx::Plain)
    );
    // A frame that is not IP at all with checksum info.
    let mut arp = f.clone();
    arp[12..14].copy_from_slice(&[0x08, 0x06]);
    assert_eq!(
        check_tx(&arp, &info(ChecksumInfo::tx(tcp4, 34)), &on, 1514, 62780),
        Err(HostTxError::Mismatch)
    );
}

#[test]
fn rx_checksum_info_and_its_reading() {
    let plan = OffloadPlan::new(&azure_caps(), NVSP_61);
    let on = host_with(&plan);
    let mut f = frame_v4(IPPROTO_TCP, 0, b"payload!");
    let meta = seed_partial(&mut f);
    let (s, o) = meta.csum.unwrap();
    complete_checksum(&mut f, usize::from(s), usize::from(o), false).unwrap();
    let good = rx_checksum_info(&f, &on).unwrap();
    assert!(rx_checksum_good(good));
    assert!(good.has(ChecksumInfo::RX_IP_SUCCEEDED | ChecksumInfo::RX_TCP_SUCCEEDED));
    let mut bad = f.clone();
    *bad.last_mut().unwrap() ^= 1;
    let info = rx_checksum_info(&bad, &on).unwrap();
    assert!(!rx_checksum_good(info));
    assert!(info.has(ChecksumInfo::RX_TCP_FAILED));
    // Not asked for: nothing attached.
    assert_eq!(rx_checksum_info(&f, &HostOffloads::default()), None);
    // Not TCP/UDP: nothing to say.
    let mut icmp = frame_v4(1, 0, b"ping");
    icmp[23] = 1;
    assert_eq!(rx_checksum_info(&icmp, &on), None);
    // Ethernet padding after the IP packet is not summed.
    let mut padded = f.clone();
    padded.extend_from_slice(&[0xff; 6]);
    assert!(rx_checksum_good(rx_checksum_info(&padded, &on).unwrap()));
    // Neither good nor bad bits, or both: not vouched for.
    assert!(!rx_checksum_good(ChecksumInfo(
        ChecksumInfo::RX_IP_SUCCEEDED
    )));
    assert!(!rx_checksum_good(ChecksumInfo(
        ChecksumInfo::RX_TCP_SUCCEEDED | ChecksumInfo::RX_IP_FAILED
    )));
}

#[test]
fn udp_zero_checksum_is_sent_as_ffff() {
    // Find a payload whose UDP checksum comes out 0, then check 0xffff.
    for x in 0..=u16::MAX {
        let mut f = frame_v4(IPPROTO_UDP, 0, &x.to_be_bytes());
        let meta = seed_partial(&mut f);
        let (s, o) = meta.csum.unwrap();
        let (s, o) = (usize::from(s), usize::from(o));
        let mut probe = f.clone();
        complete_checksum(&mut probe, s, o, false).unwrap();
        if probe[s + o..s + o + 2] == [0, 0] {
            complete_checksum(&mut f, s, o, true).unwrap();
            assert_eq!(&f[s + o..s + o + 2], &[0xff, 0xff]);
            assert_eq!(verify_l4(&f), L4Check::Good(IPPROTO_UDP));
            return;
        }
    }
    panic!("no payload gives a zero UDP checksum");
}

#[test]
fn parse_headers_rejects() {
    let f = frame_v4(IPPROTO_TCP, 0, b"");
    assert!(parse_headers(&f).is_ok());
    assert_eq!(parse_headers(&f[..40]), Err(Error::Truncated));
    let mut bad = f.clone();
    bad[14] = 0x44; // IHL 4 words
    assert_eq!(parse_headers(&bad), Err(Error::InvalidValue));
    let mut bad = f.clone();
    bad[14] = 0x65; // version 6 in an IPv4 ether type
    assert_eq!(parse_headers(&bad), Err(Error::InvalidValue));
    let mut bad = f.clone();
    bad[14 + 20 + 12] = 4 << 4; // TCP data offset 16 bytes
    assert_eq!(parse_headers(&bad), Err(Error::InvalidValue));
    let mut bad = f.clone();
    bad[14] = 0x4f; // IHL 60 bytes: the TCP header is not in the frame
    assert_eq!(parse_headers(&bad), Err(Error::Truncated));
    let mut vlan = f.clone();
    vlan[12..14].copy_from_slice(&[0x81, 0x00]);
    assert_eq!(parse_headers(&vlan), Err(Error::UnknownType));
    // A fragment is recognised (and its checksum left alone).
    let mut frag = f.clone();
    frag[20] = 0x20; // MF
    assert!(parse_headers(&frag).unwrap().fragment);
    assert_eq!(verify_l4(&frag), L4Check::NotApplicable);
}

proptest! {
    /// Whatever the bytes, nothing panics, and the preparation either
    /// refuses or leaves a frame the host accepts.
    #[test]
    fn prepare_and_check_never_panic(
        mut f in proptest::collection::vec(any::<u8>(), 0..200),
        start in 0u16..220, off in 0u16..40, mss in 0u32..3000, v6: bool, tso: bool,
    ) {
        let plan = OffloadPlan::new(&azure_caps(), NVSP_61);
        let meta = TxMeta { csum: Some((start, off)), tso: tso.then_some((mss, v6)) };
        let _ = verify_l4(&f);
        if let Ok(t) = prepare_tx(&mut f, &meta, &plan) {
            let on = host_with(&plan);
            let r = check_tx(&f, &t.packet_info(), &on, 65535, 65535);
            if !matches!(t, TxOffload::None) {
                prop_assert!(r.is_ok(), "{:?} {:?}", t, r);
            }
        }
    }

    /// A completed checksum verifies; any single-byte change in the
    /// payload makes it fail.
    #[test]
    fn completed_checksums_verify(
        payload in proptest::collection::vec(any::<u8>(), 1..600),
        tcp: bool, v6: bool, at in any::<prop::sample::Index>(), flip in 1u8..=255,
    ) {
        let proto = if tcp { IPPROTO_TCP } else { IPPROTO_UDP };
        let mut f = if v6 { frame_v6(proto, &payload) } else { frame_v4(proto, 0, &payload) };
        let meta = seed_partial(&mut f);
        let (s, o) = meta.csum.unwrap();
        complete_checksum(&mut f, usize::from(s), usize::from(o), !tcp).unwrap();
        prop_assert_eq!(verify_l4(&f), L4Check::Good(proto));
        let hdrs = f.len() - payload.len();
        let i = hdrs + at.index(payload.len());
        // A flipped payload byte changes a 16-bit word by a non-zero amount
        // short of 0xffff: the checksum must catch it.
        f[i] ^= flip;
        prop_assert_eq!(verify_l4(&f), L4Check::Bad(proto));
    }
}
