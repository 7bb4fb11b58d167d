// SPDX-License-Identifier: GPL-2.0
//! Build-then-parse round trips for every message type.

use netvsc_proto::nvsp::{self, DataPath, Direction, RecvBufSection};
use netvsc_proto::rndis::{self, ChecksumInfo, LsoV2Info, PacketInfo, PktInfoId, VlanInfo};
use netvsc_proto::vmbus::{self, GpaRange, PacketKind, PacketType, XferRange};

#[test]
fn vmbus_inband_roundtrip() {
    let mut buf = [0u8; 128];
    let payload = [1u8, 2, 3, 4, 5];
    let n = vmbus::build_inband(&mut buf, 0x1234, true, &payload).unwrap();
    assert_eq!(n, 24);
    let p = vmbus::Packet::parse(&buf[..n]).unwrap();
    assert_eq!(p.desc.packet_type, PacketType::DataInband);
    assert_eq!(p.desc.trans_id, 0x1234);
    assert!(p.desc.completion_requested());
    assert_eq!(&p.payload[..5], &payload);
    assert!(p.payload[5..].iter().all(|b| *b == 0));
    assert_eq!(p.kind, PacketKind::Inband);
}

#[test]
fn vmbus_completion_roundtrip() {
    let mut buf = [0u8; 128];
    let n = vmbus::build_completion(&mut buf, 77, &[9u8; 8]).unwrap();
    let p = vmbus::Packet::parse(&buf[..n]).unwrap();
    assert_eq!(p.desc.packet_type, PacketType::Completion);
    assert!(!p.desc.completion_requested());
    assert_eq!(p.payload, &[9u8; 8]);
}

#[test]
fn vmbus_xfer_roundtrip() {
    let mut buf = [0u8; 256];
    let ranges = [
        XferRange {
            byte_count: 100,
            byte_offset: 0,
        },
        XferRange {
            byte_count: 200,
            byte_offset: 1728,
        },
    ];
    let n = vmbus::build_transfer_pages(&mut buf, 5, vmbus::RECEIVE_BUFFER_ID, &ranges, &[7u8; 12])
        .unwrap();
    let p = vmbus::Packet::parse_checked(&buf[..n], 4096, 1728).unwrap();
    let PacketKind::TransferPages(t) = p.kind else {
        panic!()
    };
    assert_eq!(t.xfer_pageset_id, vmbus::RECEIVE_BUFFER_ID);
    assert_eq!(t.range_count(), 2);
    assert_eq!(t.range(1), Some(ranges[1]));
    assert_eq!(t.range(2), None);
    assert!(t.ranges().eq(ranges.iter().copied()));
    assert_eq!(&p.payload[..12], &[7u8; 12]);
}

#[test]
fn vmbus_gpa_roundtrip() {
    let mut buf = [0u8; 256];
    let pfns0 = [10u64, 11];
    let pfns1 = [99u64];
    let ranges = [
        GpaRange {
            byte_count: 5000,
            byte_offset: 100,
            pfns: &pfns0,
        },
        GpaRange {
            byte_count: 60,
            byte_offset: 4000,
            pfns: &pfns1,
        },
    ];
    let n = vmbus::build_gpa_direct(&mut buf, 3, true, &ranges, &[1u8; 40]).unwrap();
    let p = vmbus::Packet::parse(&buf[..n]).unwrap();
    let PacketKind::GpaDirect(g) = p.kind else {
        panic!()
    };
    assert_eq!(g.range_count(), 2);
    let got: Vec<_> = g.ranges().collect();
    assert_eq!(got[0].byte_count, 5000);
    assert_eq!(got[0].byte_offset, 100);
    assert!(got[0].pfns().eq(pfns0.iter().copied()));
    assert_eq!(got[1].pfn(0), Some(99));
    assert_eq!(&p.payload[..40], &[1u8; 40]);
}

fn nvsp_rt(m: nvsp::Message<'_>, dir: Direction) {
    let mut buf = [0u8; 128];
    let n = m.build(&mut buf).unwrap();
    assert!(n >= nvsp::MESSAGE_SIZE_V61);
    let back = nvsp::Message::parse(&buf[..n], dir).unwrap();
    assert_eq!(back, m);
}

#[test]
fn nvsp_roundtrips() {
    use nvsp::Message as M;
    let g = Direction::GuestToHost;
    let h = Direction::HostToGuest;
    nvsp_rt(
        M::Init {
            min_version: nvsp::VERSION_61,
            max_version: nvsp::VERSION_61,
        },
        g,
    );
    nvsp_rt(
        M::InitComplete {
            negotiated_version: nvsp::VERSION_5,
            max_mdl_chain_len: 34,
            status: nvsp::STATUS_SUCCESS,
        },
        h,
    );
    nvsp_rt(
        M::SendNdisVersion {
            major: 6,
            minor: 30,
        },
        g,
    );
    nvsp_rt(
        M::SendNdisConfig {
            mtu: 1500,
            capabilities: nvsp::CAP_SRIOV | nvsp::CAP_TEAMING | nvsp::CAP_RSC,
        },
        g,
    );
    nvsp_rt(
        M::SendRecvBuf {
            gpadl_handle: 0x1000,
            id: 0xcafe,
        },
        g,
    );
    nvsp_rt(M::RevokeRecvBuf { id: 0xcafe }, g);
    nvsp_rt(
        M::SendSendBuf {
            gpadl_handle: 0x2000,
            id: 0,
        },
        g,
    );
    nvsp_rt(
        M::SendSendBufComplete {
            status: 1,
            section_size: 6144,
        },
        h,
    );
    nvsp_rt(M::RevokeSendBuf { id: 0 }, g);
    nvsp_rt(
        M::SendRndisPacket {
            channel_type: nvsp::CHANNEL_TYPE_CONTROL,
            section_index: nvsp::NO_SECTION,
            section_size: 0,
        },
        g,
    );
    nvsp_rt(
        M::SendRndisPacket {
            channel_type: nvsp::CHANNEL_TYPE_DATA,
            section_index: 3,
            section_size: 60,
        },
        h,
    );
    nvsp_rt(
        M::SendRndisPacketComplete {
            status: nvsp::STATUS_SUCCESS,
        },
        h,
    );
    nvsp_rt(
        M::SendRndisPacketComplete {
            status: nvsp::STATUS_FAIL,
        },
        g,
    );
    nvsp_rt(
        M::SubchannelRequest {
            op: nvsp::SUBCHANNEL_ALLOCATE,
            num_subchannels: 7,
        },
        g,
    );
    nvsp_rt(
        M::SubchannelComplete {
            status: 1,
            num_subchannels: 3,
        },
        h,
    );
    nvsp_rt(
        M::VfAssociation {
            allocated: true,
            serial: 42,
        },
        h,
    );
    nvsp_rt(
        M::VfAssociation {
            allocated: false,
            serial: 0,
        },
        h,
    );
    nvsp_rt(
        M::SwitchDataPath {
            active: DataPath::Vf,
        },
        g,
    );
    nvsp_rt(
        M::SwitchDataPath {
            active: DataPath::Synthetic,
        },
        g,
    );
}

#[test]
fn nvsp_recv_buf_complete_roundtrip() {
    let mut buf = [0u8; 128];
    let secs = [RecvBufSection {
        offset: 0,
        sub_alloc_size: 1728,
        num_sub_allocs: 9709,
        end_offset: 16 << 20,
    }];
    let n = nvsp::build_recv_buf_complete(&mut buf, 1, &secs).unwrap();
    assert_eq!(n, nvsp::MESSAGE_SIZE_V61);
    let m = nvsp::Message::parse(&buf[..n], Direction::HostToGuest).unwrap();
    let nvsp::Message::SendRecvBufComplete { status, sections } = m else {
        panic!()
    };
    assert_eq!(status, 1);
    assert_eq!(sections.len(), 1);
    assert_eq!(sections.get(0), Some(secs[0]));
    assert!(sections.iter().eq(secs.iter().copied()));
    // Re-serialising the parsed view gives the same bytes.
    let mut again = [0u8; 128];
    let n2 = m.build(&mut again).unwrap();
    assert_eq!(&again[..n2], &buf[..n]);
    // The V1 host message size (28 bytes) holds exactly one section.
    assert!(nvsp::Message::parse(&buf[..nvsp::MESSAGE_SIZE_V1], Direction::HostToGuest).is_ok());
}

#[test]
fn nvsp_indirection_table_roundtrip() {
    let mut buf = [0u8; 128];
    let entries: Vec<u32> = (0..16).map(|i| i % 4).collect();
    let n = nvsp::build_send_indirection_table(&mut buf, &entries).unwrap();
    for v in [nvsp::VERSION_5, nvsp::VERSION_61] {
        let m = nvsp::Message::parse_with_version(&buf[..n], Direction::HostToGuest, v).unwrap();
        let nvsp::Message::SendIndirectionTable(t) = m else {
            panic!()
        };
        assert_eq!(t.len(), 16);
        assert!(t.iter().eq(entries.iter().copied()));
        let mut again = [0u8; 128];
        let n2 = m.build(&mut again).unwrap();
        assert_eq!(&again[..n2], &buf[..n]);
    }
}

#[test]
fn nvsp_old_host_table_offset_fixup() {
    let mut buf = [0u8; 128];
    let entries: Vec<u32> = (100..116).collect();
    let n = nvsp::build_send_indirection_table(&mut buf, &entries).unwrap();
    // A buggy old host reports a wrong (here: in-header) offset.
    buf[8..12].copy_from_slice(&4u32.to_le_bytes());
    let m = nvsp::Message::parse_with_version(&buf[..n], Direction::HostToGuest, nvsp::VERSION_6)
        .unwrap();
    let nvsp::Message::SendIndirectionTable(t) = m else {
        panic!()
    };
    assert_eq!(t.get(0), Some(100));
    assert_eq!(
        nvsp::Message::parse_with_version(&buf[..n], Direction::HostToGuest, nvsp::VERSION_61),
        Err(netvsc_proto::error::Error::OffsetInsideHeader)
    );
}

fn rndis_rt(m: rndis::Message<'_>) {
    let mut buf = [0u8; 512];
    let n = m.build(&mut buf).unwrap();
    let back = rndis::Message::parse(&buf[..n]).unwrap();
    assert_eq!(back, m);
    let h = rndis::Header::parse(&buf[..n]).unwrap();
    assert_eq!(h.msg_len as usize, n);
}

#[test]
fn rndis_control_roundtrips() {
    use rndis::*;
    rndis_rt(Message::Init(InitRequest {
        req_id: 1,
        major: 1,
        minor: 0,
        max_xfer_size: 0x4000,
    }));
    rndis_rt(Message::InitComplete(InitComplete {
        req_id: 1,
        status: STATUS_SUCCESS,
        major: 1,
        minor: 0,
        dev_flags: 1,
        medium: 0,
        max_pkt_per_msg: 8,
        max_xfer_size: 0x10000,
        pkt_align_factor: 3,
    }));
    rndis_rt(Message::Halt { req_id: 9 });
    rndis_rt(Message::Query(OidRequest {
        req_id: 2,
        oid: OID_802_3_PERMANENT_ADDRESS,
        dev_vc_handle: 0,
        info: &[],
    }));
    rndis_rt(Message::Query(OidRequest {
        req_id: 2,
        oid: OID_TCP_OFFLOAD_HARDWARE_CAPABILITIES,
        dev_vc_handle: 0,
        info: &[0xa7, 3, 0, 1],
    }));
    rndis_rt(Message::QueryComplete(QueryComplete {
        req_id: 2,
        status: STATUS_SUCCESS,
        info: &[0, 0x15, 0x5d, 1, 2, 3],
    }));
    rndis_rt(Message::QueryComplete(QueryComplete {
        req_id: 2,
        status: STATUS_NOT_SUPPORTED,
        info: &[],
    }));
    rndis_rt(Message::Set(OidRequest {
        req_id: 3,
        oid: OID_GEN_CURRENT_PACKET_FILTER,
        dev_vc_handle: 0,
        info: &[0xb, 0, 0, 0],
    }));
    rndis_rt(Message::SetComplete(StatusComplete {
        req_id: 3,
        status: STATUS_SUCCESS,
    }));
    rndis_rt(Message::Reset);
    rndis_rt(Message::ResetComplete {
        status: STATUS_SUCCESS,
        addressing_reset: 1,
    });
    rndis_rt(Message::Keepalive { req_id: 4 });
    rndis_rt(Message::KeepaliveComplete(StatusComplete {
        req_id: 4,
        status: STATUS_SUCCESS,
    }));
    rndis_rt(Message::Indicate(IndicateStatus {
        status: STATUS_MEDIA_CONNECT,
        buf: &[],
    }));
    rndis_rt(Message::Indicate(IndicateStatus {
        status: STATUS_MEDIA_DISCONNECT,
        buf: &[],
    }));
    rndis_rt(Message::Indicate(IndicateStatus {
        status: STATUS_NETWORK_CHANGE,
        buf: &[],
    }));
    let speed = 100_000_000u32.to_le_bytes();
    rndis_rt(Message::Indicate(IndicateStatus {
        status: STATUS_LINK_SPEED_CHANGE,
        buf: &speed,
    }));
    let mut b = [0u8; 64];
    let n = Message::Indicate(IndicateStatus {
        status: STATUS_LINK_SPEED_CHANGE,
        buf: &speed,
    })
    .build(&mut b)
    .unwrap();
    let Message::Indicate(i) = Message::parse(&b[..n]).unwrap() else {
        panic!()
    };
    assert_eq!(i.link_speed(), Some(100_000_000));
}

#[test]
fn rndis_packet_roundtrip_all_ppis() {
    let info = PacketInfo {
        checksum: Some(ChecksumInfo::tx(
            ChecksumInfo::TX_IS_IPV4 | ChecksumInfo::TX_TCP_CHECKSUM,
            34,
        )),
        lso: Some(LsoV2Info::new(1460, 34, true)),
        vlan: Some(VlanInfo::new(5, false, 100)),
        hash_value: Some(0xdeadbeef),
        hash_info: Some(0x201),
        pktinfo_id: Some(PktInfoId {
            version: 1,
            flags: rndis::PKTINFO_SUBALLOC | rndis::PKTINFO_1ST_FRAG,
            pkt_id: 77,
        }),
    };
    let frame = [0x55u8; 60];
    let mut buf = [0u8; 512];
    let n = rndis::build_packet(&mut buf, &info, &frame).unwrap();
    assert_eq!(n, rndis::PACKET_HEADER_SIZE + 6 * 16 + 60);
    let rndis::Message::Packet(p) = rndis::Message::parse(&buf[..n]).unwrap() else {
        panic!()
    };
    assert_eq!(p.info, info);
    assert_eq!(p.data, &frame);
    assert_eq!(p.ppis().count(), 6);
    let lso = p.info.lso.unwrap();
    assert_eq!(
        (
            lso.mss(),
            lso.tcp_header_offset(),
            lso.is_ipv6(),
            lso.is_v2()
        ),
        (1460, 34, true, true)
    );
    let v = p.info.vlan.unwrap();
    assert_eq!((v.pri(), v.cfi(), v.vlan_id()), (5, false, 100));
    assert_eq!(p.info.checksum.unwrap().tcp_header_offset(), 34);
    // No PPIs at all.
    let n = rndis::build_packet(&mut buf, &PacketInfo::default(), &frame).unwrap();
    let rndis::Message::Packet(p) = rndis::Message::parse(&buf[..n]).unwrap() else {
        panic!()
    };
    assert_eq!(p.info, PacketInfo::default());
    assert!(p.ppi_area.is_empty());
    assert_eq!(p.data, &frame);
}

#[test]
fn rndis_batched_split() {
    let mut buf = [0u8; 512];
    let a = rndis::build_packet(&mut buf, &PacketInfo::default(), &[1; 10]).unwrap();
    let b = rndis::build_packet(&mut buf[a..], &PacketInfo::default(), &[2; 20]).unwrap();
    let (first, rest) = rndis::Header::split(&buf[..a + b]).unwrap();
    assert_eq!(first.len(), a);
    let (second, rest) = rndis::Header::split(rest).unwrap();
    assert_eq!(second.len(), b);
    assert!(rest.is_empty());
}

#[test]
fn full_stack_nesting() {
    // RNDIS packet inside NVSP inside a VMBus in-band packet (guest TX of a
    // small control message), then parsed back layer by layer.
    let mut r = [0u8; 128];
    let rn = rndis::Message::Keepalive { req_id: 5 }
        .build(&mut r)
        .unwrap();
    let mut nv = [0u8; 64];
    let nn = nvsp::Message::SendRndisPacket {
        channel_type: nvsp::CHANNEL_TYPE_CONTROL,
        section_index: nvsp::NO_SECTION,
        section_size: 0,
    }
    .build(&mut nv)
    .unwrap();
    let mut pk = [0u8; 128];
    let pn = vmbus::build_inband(&mut pk, 1, true, &nv[..nn]).unwrap();
    let p = vmbus::Packet::parse(&pk[..pn]).unwrap();
    let m = nvsp::Message::parse(p.payload, Direction::GuestToHost).unwrap();
    assert_eq!(m.msg_type(), nvsp::MSG1_SEND_RNDIS_PKT);
    assert_eq!(
        rndis::Message::parse(&r[..rn]).unwrap(),
        rndis::Message::Keepalive { req_id: 5 }
    );
}

#[test]
fn config_param_network_address_roundtrip() {
    let mac = [0x00, 0x15, 0x5d, 0xab, 0xcd, 0xef];
    let hex = rndis::mac_to_hex(&mac);
    assert_eq!(&hex, b"00155dabcdef");
    let mut buf = [0u8; 128];
    let n = rndis::ConfigParam::build_string(
        &mut buf,
        rndis::CONFIG_PARAM_NETWORK_ADDRESS,
        core::str::from_utf8(&hex).unwrap(),
    )
    .unwrap();
    // Header, "NetworkAddress" (14 units), 12 hex digits, all UTF-16.
    assert_eq!(n, 20 + 28 + 24);
    let p = rndis::ConfigParam::parse_string(&buf[..n]).unwrap();
    assert!(p.name_is("NetworkAddress"));
    assert!(!p.name_is("NetworkAddres"));
    assert_eq!(p.mac_value().unwrap(), mac);
    assert_eq!(rndis::mac_from_hex(b"00155DABCDEF").unwrap(), mac);
}

#[test]
fn utf16_friendly_name_decodes() {
    let name: Vec<u8> = "Réseau 1\0junk"
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    let mut out = [0u8; 32];
    let n = rndis::utf16_to_utf8(&name, &mut out).unwrap();
    assert_eq!(core::str::from_utf8(&out[..n]), Ok("Réseau 1"));
}

#[test]
fn default_friendly_name_is_no_alias() {
    let utf16 = |s: &str| -> Vec<u8> { s.encode_utf16().flat_map(u16::to_le_bytes).collect() };
    let mut out = [0u8; 32];
    // Hyper-V's default, with or without its terminating NUL: no alias.
    for name in ["Network Adapter", "Network Adapter\0"] {
        assert_eq!(rndis::friendly_name_alias(&utf16(name), &mut out), Ok(0));
    }
    // Any other name is taken, a near miss included.
    for name in [
        "Synthetic NIC 1",
        "Network Adapter 2",
        "network adapter",
        "Network Adapte",
    ] {
        let n = rndis::friendly_name_alias(&utf16(name), &mut out).unwrap();
        assert_eq!(core::str::from_utf8(&out[..n]), Ok(name));
    }
    assert_eq!(rndis::friendly_name_alias(&utf16(""), &mut out), Ok(0));
    assert_eq!(
        rndis::friendly_name_alias(&[0x41], &mut out),
        Err(netvsc_proto::error::Error::Misaligned)
    );
}

/// What Hyper-V offers (TCP/UDP checksum both IP versions, LSOv2 62780).
fn azure_like_offloads() -> rndis::OffloadCaps {
    let tx4 = rndis::CSUM_IP_OPTIONS
        | rndis::CSUM_TCP_OPTIONS
        | rndis::CSUM_TCP
        | rndis::CSUM_UDP
        | rndis::CSUM_IP4;
    let tx6 = rndis::CSUM_IP_OPTIONS | rndis::CSUM_TCP_OPTIONS | rndis::CSUM_TCP | rndis::CSUM_UDP;
    let e = rndis::NDIS_ENCAP_802_3;
    rndis::OffloadCaps {
        revision: 3,
        ip4_tx: (e, tx4),
        ip4_rx: (e, tx4),
        ip6_tx: (e, tx6),
        ip6_rx: (e, tx6),
        lso4: (e, 62780, 2),
        lso6: (e, 62780, 2),
        lso6_opts: rndis::LSO6_IP_EXT | rndis::LSO6_TCP_OPTIONS,
        rsc: (false, false),
    }
}

#[test]
fn offload_caps_roundtrip_and_summary() {
    let c = azure_like_offloads();
    let mut b = [0u8; 200];
    let n = c.build(&mut b).unwrap();
    assert_eq!(&b[..4], &[0xA7, 3, 156, 0]);
    let p = rndis::OffloadCaps::parse(&b[..n]).unwrap();
    assert_eq!(p, c);
    assert!(p.tx_tcp4() && p.tx_udp4() && p.tx_tcp6() && p.tx_udp6());
    assert_eq!((p.lso4_max(), p.lso6_max()), (Some(62780), Some(62780)));
    let mut s = String::new();
    p.describe(&mut s).unwrap();
    assert_eq!(s, "tcp4 udp4 tcp6 udp6 checksum, LSOv2 v4 62780 v6 62780");

    // Without 802.3 encapsulation, TCP options or IPv6 options nothing
    // counts; UDP alone does not either.
    let mut d = c;
    d.ip4_tx.0 = 0;
    d.ip6_tx.1 = rndis::CSUM_UDP | rndis::CSUM_TCP;
    d.rsc = (true, true);
    assert!(!d.tx_tcp4() && !d.tx_udp4() && !d.tx_tcp6() && !d.tx_udp6());
    assert_eq!((d.lso4_max(), d.lso6_max()), (None, None));
    let mut s = String::new();
    d.describe(&mut s).unwrap();
    assert_eq!(s, "RSC");
    let mut s = String::new();
    rndis::OffloadCaps::default().describe(&mut s).unwrap();
    assert_eq!(s, "none");
    let mut e = c;
    e.lso6_opts = rndis::LSO6_TCP_OPTIONS;
    assert_eq!((e.lso4_max(), e.lso6_max()), (Some(62780), None));
}
