// SPDX-License-Identifier: GPL-2.0
//! Property tests: build-then-parse is the identity, and no parser panics
//! on arbitrary bytes.

use netvsc_proto::nvsp::{self, DataPath, Direction, RecvBufSection};
use netvsc_proto::rndis::{self, ChecksumInfo, LsoV2Info, PacketInfo, PktInfoId, VlanInfo};
use netvsc_proto::vmbus::{self, GpaRange, PacketKind, XferRange};
use proptest::prelude::*;

fn cfg() -> ProptestConfig {
    ProptestConfig {
        cases: 512,
        ..ProptestConfig::default()
    }
}

fn any_nvsp() -> impl Strategy<Value = (nvsp::Message<'static>, Direction)> {
    use nvsp::Message as M;
    let g = Direction::GuestToHost;
    let h = Direction::HostToGuest;
    prop_oneof![
        (any::<u32>(), any::<u32>()).prop_map(move |(a, b)| (
            M::Init {
                min_version: a,
                max_version: b
            },
            g
        )),
        (0usize..6, any::<u32>()).prop_map(move |(i, m)| (
            M::InitComplete {
                negotiated_version: nvsp::GUEST_VERSIONS[i],
                max_mdl_chain_len: m,
                status: nvsp::STATUS_SUCCESS
            },
            h
        )),
        (any::<u32>(), any::<u32>())
            .prop_map(move |(a, b)| (M::SendNdisVersion { major: a, minor: b }, g)),
        (any::<u32>(), any::<u64>()).prop_map(move |(a, b)| (
            M::SendNdisConfig {
                mtu: a,
                capabilities: b
            },
            g
        )),
        (any::<u32>(), any::<u16>()).prop_map(move |(a, b)| (
            M::SendRecvBuf {
                gpadl_handle: a,
                id: b
            },
            g
        )),
        any::<u16>().prop_map(move |a| (M::RevokeRecvBuf { id: a }, g)),
        (any::<u32>(), any::<u16>()).prop_map(move |(a, b)| (
            M::SendSendBuf {
                gpadl_handle: a,
                id: b
            },
            g
        )),
        (any::<u32>(), any::<u32>()).prop_map(move |(a, b)| (
            M::SendSendBufComplete {
                status: a,
                section_size: b
            },
            h
        )),
        any::<u16>().prop_map(move |a| (M::RevokeSendBuf { id: a }, g)),
        (0u32..2, any::<u32>(), any::<u32>(), any::<bool>()).prop_map(move |(c, i, s, d)| (
            M::SendRndisPacket {
                channel_type: c,
                section_index: i,
                section_size: s
            },
            if d { g } else { h }
        )),
        (any::<u32>(), any::<bool>()).prop_map(move |(s, d)| (
            M::SendRndisPacketComplete { status: s },
            if d { g } else { h }
        )),
        (any::<u32>(), any::<u32>()).prop_map(move |(a, b)| (
            M::SubchannelRequest {
                op: a,
                num_subchannels: b
            },
            g
        )),
        (any::<u32>(), any::<u32>()).prop_map(move |(a, b)| (
            M::SubchannelComplete {
                status: a,
                num_subchannels: b
            },
            h
        )),
        (any::<bool>(), any::<u32>()).prop_map(move |(a, b)| (
            M::VfAssociation {
                allocated: a,
                serial: b
            },
            h
        )),
        any::<bool>().prop_map(move |v| (
            M::SwitchDataPath {
                active: if v { DataPath::Vf } else { DataPath::Synthetic }
            },
            g
        )),
    ]
}

fn any_info() -> impl Strategy<Value = PacketInfo> {
    (
        proptest::option::of(any::<u32>()),
        proptest::option::of(any::<u32>()),
        proptest::option::of(any::<u32>()),
        proptest::option::of(any::<u32>()),
        proptest::option::of(any::<u32>()),
        proptest::option::of((any::<u8>(), any::<u8>(), any::<u16>())),
    )
        .prop_map(|(c, l, v, hv, hi, id)| PacketInfo {
            checksum: c.map(ChecksumInfo),
            lso: l.map(LsoV2Info),
            vlan: v.map(VlanInfo),
            hash_value: hv,
            hash_info: hi,
            pktinfo_id: id.map(|(version, flags, pkt_id)| PktInfoId {
                version,
                flags,
                pkt_id,
            }),
        })
}

proptest! {
    #![proptest_config(cfg())]

    #[test]
    fn nvsp_build_parse_identity((m, d) in any_nvsp()) {
        let mut buf = [0u8; 64];
        let n = m.build(&mut buf).unwrap();
        prop_assert_eq!(nvsp::Message::parse(&buf[..n], d).unwrap(), m);
    }

    #[test]
    fn nvsp_sections_identity(status in any::<u32>(), secs in proptest::collection::vec((any::<u32>(), any::<u32>(), any::<u32>(), any::<u32>()), 1..16)) {
        let secs: Vec<_> = secs.into_iter().map(|(a, b, c, d)| RecvBufSection { offset: a, sub_alloc_size: b, num_sub_allocs: c, end_offset: d }).collect();
        let mut buf = [0u8; 512];
        let n = nvsp::build_recv_buf_complete(&mut buf, status, &secs).unwrap();
        let nvsp::Message::SendRecvBufComplete { status: s, sections } = nvsp::Message::parse(&buf[..n], Direction::HostToGuest).unwrap() else { panic!() };
        prop_assert_eq!(s, status);
        prop_assert!(sections.iter().eq(secs.iter().copied()));
    }

    #[test]
    fn nvsp_table_identity(entries in proptest::collection::vec(any::<u32>(), 16)) {
        let mut buf = [0u8; 128];
        let n = nvsp::build_send_indirection_table(&mut buf, &entries).unwrap();
        let nvsp::Message::SendIndirectionTable(t) = nvsp::Message::parse(&buf[..n], Direction::HostToGuest).unwrap() else { panic!() };
        prop_assert!(t.iter().eq(entries.iter().copied()));
    }

    #[test]
    fn vmbus_inband_identity(tid in any::<u64>(), cr in any::<bool>(), payload in proptest::collection::vec(any::<u8>(), 0..200), comp in any::<bool>()) {
        let mut buf = [0u8; 256];
        let n = if comp { vmbus::build_completion(&mut buf, tid, &payload) } else { vmbus::build_inband(&mut buf, tid, cr, &payload) }.unwrap();
        prop_assert_eq!(n % 8, 0);
        let p = vmbus::Packet::parse(&buf[..n]).unwrap();
        prop_assert_eq!(p.desc.trans_id, tid);
        prop_assert_eq!(&p.payload[..payload.len()], &payload[..]);
        prop_assert_eq!(p.desc.completion_requested(), cr && !comp);
    }

    #[test]
    fn vmbus_xfer_identity(tid in any::<u64>(), id in any::<u16>(), ranges in proptest::collection::vec((any::<u32>(), any::<u32>()), 0..40), payload in proptest::collection::vec(any::<u8>(), 0..48)) {
        let ranges: Vec<_> = ranges.into_iter().map(|(c, o)| XferRange { byte_count: c, byte_offset: o }).collect();
        let mut buf = [0u8; 512];
        let n = vmbus::build_transfer_pages(&mut buf, tid, id, &ranges, &payload).unwrap();
        let p = vmbus::Packet::parse(&buf[..n]).unwrap();
        let PacketKind::TransferPages(t) = p.kind else { panic!() };
        prop_assert_eq!(t.xfer_pageset_id, id);
        prop_assert!(t.ranges().eq(ranges.iter().copied()));
        prop_assert_eq!(&p.payload[..payload.len()], &payload[..]);
    }

    #[test]
    fn vmbus_gpa_identity(tid in any::<u64>(), ranges in proptest::collection::vec((1u32..70000, 0u32..4096, any::<u64>()), 0..6)) {
        let pfns: Vec<Vec<u64>> = ranges.iter().map(|(c, o, base)| {
            let n = vmbus::gpa_pfn_count(*o, *c).unwrap();
            (0..n as u64).map(|i| base.wrapping_add(i)).collect()
        }).collect();
        let rs: Vec<_> = ranges.iter().zip(&pfns).map(|((c, o, _), p)| GpaRange { byte_count: *c, byte_offset: *o, pfns: p }).collect();
        let mut buf = vec![0u8; 8192];
        let n = vmbus::build_gpa_direct(&mut buf, tid, true, &rs, &[5; 40]).unwrap();
        let p = vmbus::Packet::parse(&buf[..n]).unwrap();
        let PacketKind::GpaDirect(g) = p.kind else { panic!() };
        prop_assert_eq!(g.range_count(), rs.len());
        for (got, want) in g.ranges().zip(&rs) {
            prop_assert_eq!(got.byte_count, want.byte_count);
            prop_assert_eq!(got.byte_offset, want.byte_offset);
            prop_assert!(got.pfns().eq(want.pfns.iter().copied()));
        }
    }

    #[test]
    fn rndis_packet_identity(info in any_info(), data in proptest::collection::vec(any::<u8>(), 0..300)) {
        let mut buf = [0u8; 512];
        let n = rndis::build_packet(&mut buf, &info, &data).unwrap();
        let rndis::Message::Packet(p) = rndis::Message::parse(&buf[..n]).unwrap() else { panic!() };
        prop_assert_eq!(p.info, info);
        prop_assert_eq!(p.data, &data[..]);
    }

    #[test]
    fn rndis_control_identity(a in any::<u32>(), b in any::<u32>(), c in any::<u32>(), info in proptest::collection::vec(any::<u8>(), 0..64), which in 0u8..8) {
        use rndis::*;
        let m = match which {
            0 => Message::Init(InitRequest { req_id: a, major: b, minor: c, max_xfer_size: a ^ b }),
            1 => Message::InitComplete(InitComplete { req_id: a, status: b, major: c, minor: a, dev_flags: b, medium: c, max_pkt_per_msg: a, max_xfer_size: b, pkt_align_factor: c }),
            2 => Message::Query(OidRequest { req_id: a, oid: b, dev_vc_handle: c, info: &info }),
            3 => Message::Set(OidRequest { req_id: a, oid: b, dev_vc_handle: c, info: &info }),
            4 => Message::QueryComplete(QueryComplete { req_id: a, status: b, info: &info }),
            5 => Message::SetComplete(StatusComplete { req_id: a, status: b }),
            6 => Message::KeepaliveComplete(StatusComplete { req_id: a, status: b }),
            _ => Message::ResetComplete { status: a, addressing_reset: b },
        };
        let mut buf = [0u8; 256];
        let n = m.build(&mut buf).unwrap();
        prop_assert_eq!(Message::parse(&buf[..n]).unwrap(), m);
    }

    #[test]
    fn no_panic_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..300), rl in any::<u32>(), mr in any::<u32>()) {
        let _ = vmbus::Descriptor::parse(&bytes);
        let _ = vmbus::Packet::parse(&bytes);
        let _ = vmbus::Packet::parse_checked(&bytes, rl, mr);
        for d in [Direction::GuestToHost, Direction::HostToGuest] {
            let _ = nvsp::Message::parse(&bytes, d);
            let _ = nvsp::Message::parse_with_version(&bytes, d, nvsp::VERSION_5);
        }
        let _ = rndis::Header::parse(&bytes);
        let _ = rndis::Header::split(&bytes);
        if let Ok(rndis::Message::Packet(p)) = rndis::Message::parse(&bytes) {
            let _ = p.ppis().count();
        }
        let _ = rndis::parse_ppi_area(&bytes);
        let _ = rndis::OffloadCaps::parse(&bytes);
    }

    #[test]
    fn offload_caps_identity(
        rev in 1u8..=3,
        v in proptest::collection::vec(any::<u32>(), 15),
        rsc in any::<(bool, bool)>(),
    ) {
        let c = rndis::OffloadCaps {
            revision: rev,
            ip4_tx: (v[0], v[1]),
            ip4_rx: (v[2], v[3]),
            ip6_tx: (v[4], v[5]),
            ip6_rx: (v[6], v[7]),
            lso4: (v[8], v[9], v[10]),
            lso6: (v[11], v[12], v[13]),
            lso6_opts: v[14],
            rsc: if rev >= 3 { rsc } else { (false, false) },
        };
        let mut buf = [0u8; 200];
        let n = c.build(&mut buf).unwrap();
        prop_assert_eq!(rndis::OffloadCaps::parse(&buf[..n]).unwrap(), c);
    }

    #[test]
    fn no_panic_on_mutated_messages(info in any_info(), flips in proptest::collection::vec((0usize..200, any::<u8>()), 1..6)) {
        // Start from valid messages and corrupt a few bytes, to reach
        // deeper validation than purely random input does.
        let mut buf = [0u8; 256];
        let n = rndis::build_packet(&mut buf, &info, &[0xee; 40]).unwrap();
        for (i, v) in &flips { if *i < n { buf[*i] = *v; } }
        let _ = rndis::Message::parse(&buf[..n]);
        let mut pk = [0u8; 256];
        let r = [XferRange { byte_count: 64, byte_offset: 0 }, XferRange { byte_count: 64, byte_offset: 64 }];
        let m = vmbus::build_transfer_pages(&mut pk, 1, vmbus::RECEIVE_BUFFER_ID, &r, &[0; 40]).unwrap();
        for (i, v) in &flips { if *i < m { pk[*i] = *v; } }
        let _ = vmbus::Packet::parse_checked(&pk[..m], 4096, 0);
    }
}
