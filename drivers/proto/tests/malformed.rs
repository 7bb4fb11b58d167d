// SPDX-License-Identifier: GPL-2.0
//! Each reject class, per format, maps to its specific error variant.

use netvsc_proto::error::Error;
use netvsc_proto::nvsp::{self, Direction};
use netvsc_proto::rndis::{self, PacketInfo, VlanInfo};
use netvsc_proto::vmbus::{self, Descriptor, GpaRange, XferRange};

fn put16(b: &mut [u8], o: usize, v: u16) {
    b[o..o + 2].copy_from_slice(&v.to_le_bytes());
}
fn put32(b: &mut [u8], o: usize, v: u32) {
    b[o..o + 4].copy_from_slice(&v.to_le_bytes());
}

// ---------------------------------------------------------------- VMBus

fn inband(payload_len: usize) -> Vec<u8> {
    let mut b = vec![0u8; 256];
    let n = vmbus::build_inband(&mut b, 1, false, &vec![0xAA; payload_len]).unwrap();
    b.truncate(n);
    b
}

#[test]
fn vmbus_truncated_descriptor() {
    assert_eq!(Descriptor::parse(&[6, 0, 2, 0]), Err(Error::Truncated));
    assert_eq!(vmbus::Packet::parse(&[]), Err(Error::Truncated));
}

#[test]
fn vmbus_unknown_type() {
    let mut b = inband(8);
    put16(&mut b, 0, 8);
    assert_eq!(vmbus::Packet::parse(&b), Err(Error::UnknownType));
}

#[test]
fn vmbus_offset_inside_descriptor() {
    let mut b = inband(8);
    put16(&mut b, 2, 1);
    assert_eq!(vmbus::Packet::parse(&b), Err(Error::OffsetInsideHeader));
}

#[test]
fn vmbus_offset_past_len() {
    let mut b = inband(8);
    put16(&mut b, 2, 4);
    put16(&mut b, 4, 3);
    assert_eq!(vmbus::Packet::parse(&b), Err(Error::OffsetPastEnd));
}

#[test]
fn vmbus_len_past_buffer() {
    let b = inband(8);
    assert_eq!(
        vmbus::Packet::parse(&b[..b.len() - 8]),
        Err(Error::OverlongLength)
    );
}

fn xfer(ranges: &[XferRange]) -> Vec<u8> {
    let mut b = vec![0u8; 8192];
    let n =
        vmbus::build_transfer_pages(&mut b, 1, vmbus::RECEIVE_BUFFER_ID, ranges, &[0; 40]).unwrap();
    b.truncate(n);
    b
}

#[test]
fn vmbus_xfer_range_count_does_not_fit() {
    let mut b = xfer(&[XferRange {
        byte_count: 1,
        byte_offset: 0,
    }]);
    put32(&mut b, 20, 2);
    assert_eq!(vmbus::Packet::parse(&b), Err(Error::TooManyRanges));
}

#[test]
fn vmbus_xfer_range_count_over_max() {
    let mut b = xfer(&[XferRange {
        byte_count: 1,
        byte_offset: 0,
    }]);
    put32(&mut b, 20, u32::MAX);
    assert_eq!(vmbus::Packet::parse(&b), Err(Error::TooManyRanges));
    let many = vec![XferRange::default(); vmbus::MAX_XFER_PAGE_RANGES + 1];
    let mut out = vec![0u8; 8192];
    assert_eq!(
        vmbus::build_transfer_pages(&mut out, 1, 0, &many, &[]),
        Err(Error::TooManyRanges)
    );
}

#[test]
fn vmbus_xfer_header_truncated() {
    // An xfer-page packet whose payload starts right after the descriptor.
    let mut b = inband(16);
    put16(&mut b, 0, vmbus::VM_PKT_DATA_USING_XFER_PAGES);
    assert_eq!(vmbus::Packet::parse(&b), Err(Error::Truncated));
}

#[test]
fn vmbus_xfer_range_out_of_recv_buf() {
    let b = xfer(&[XferRange {
        byte_count: 100,
        byte_offset: 4000,
    }]);
    assert!(vmbus::Packet::parse(&b).is_ok());
    assert_eq!(
        vmbus::Packet::parse_checked(&b, 4096, 0),
        Err(Error::RangeOutOfBounds)
    );
    // Wrapping offset + count.
    let b = xfer(&[XferRange {
        byte_count: 2,
        byte_offset: u32::MAX,
    }]);
    assert_eq!(
        vmbus::Packet::parse_checked(&b, u32::MAX, 0),
        Err(Error::RangeOutOfBounds)
    );
    // Larger than a receive section.
    let b = xfer(&[XferRange {
        byte_count: 2000,
        byte_offset: 0,
    }]);
    assert_eq!(
        vmbus::Packet::parse_checked(&b, 1 << 20, 1728),
        Err(Error::RangeOutOfBounds)
    );
}

fn gpa() -> Vec<u8> {
    let mut b = vec![0u8; 256];
    let pfns = [1u64, 2];
    let r = [GpaRange {
        byte_count: 5000,
        byte_offset: 8,
        pfns: &pfns,
    }];
    let n = vmbus::build_gpa_direct(&mut b, 1, true, &r, &[0; 16]).unwrap();
    b.truncate(n);
    b
}

#[test]
fn vmbus_gpa_too_many_ranges() {
    let mut b = gpa();
    put32(&mut b, 20, 2);
    assert_eq!(vmbus::Packet::parse(&b), Err(Error::TooManyRanges));
    put32(&mut b, 20, 1000);
    assert_eq!(vmbus::Packet::parse(&b), Err(Error::TooManyRanges));
}

#[test]
fn vmbus_gpa_pfns_do_not_fit() {
    let mut b = gpa();
    put32(&mut b, 24, 3 * 4096); // needs 4 PFNs, only 2 present
    assert_eq!(vmbus::Packet::parse(&b), Err(Error::TooManyRanges));
}

#[test]
fn vmbus_gpa_bad_range() {
    let mut b = gpa();
    put32(&mut b, 28, 4096); // offset beyond first page
    assert_eq!(vmbus::Packet::parse(&b), Err(Error::RangeOutOfBounds));
    let mut b = gpa();
    put32(&mut b, 24, 0); // empty range
    assert_eq!(vmbus::Packet::parse(&b), Err(Error::RangeOutOfBounds));
}

#[test]
fn vmbus_gpa_builder_rejects_wrong_pfn_count() {
    let mut b = vec![0u8; 256];
    let pfns = [1u64];
    let r = [GpaRange {
        byte_count: 5000,
        byte_offset: 0,
        pfns: &pfns,
    }];
    assert_eq!(
        vmbus::build_gpa_direct(&mut b, 1, true, &r, &[]),
        Err(Error::InvalidCount)
    );
}

#[test]
fn vmbus_builder_buffer_too_small() {
    let mut b = [0u8; 20];
    assert_eq!(
        vmbus::build_inband(&mut b, 1, false, &[0; 8]),
        Err(Error::BufferTooSmall)
    );
    assert_eq!(
        vmbus::build_completion(&mut b[..8], 1, &[]),
        Err(Error::BufferTooSmall)
    );
}

#[test]
fn vmbus_builder_too_large() {
    let big = vec![0u8; vmbus::MAX_PACKET_SIZE];
    let mut out = vec![0u8; vmbus::MAX_PACKET_SIZE + 64];
    assert_eq!(
        vmbus::build_inband(&mut out, 1, false, &big),
        Err(Error::TooLarge)
    );
}

// ----------------------------------------------------------------- NVSP

fn nv(m: nvsp::Message<'_>) -> Vec<u8> {
    let mut b = vec![0u8; 128];
    let n = m.build(&mut b).unwrap();
    b.truncate(n);
    b
}

#[test]
fn nvsp_truncated_header() {
    assert_eq!(
        nvsp::Message::parse(&[1, 0], Direction::GuestToHost),
        Err(Error::Truncated)
    );
}

#[test]
fn nvsp_unknown_type() {
    let mut b = vec![0u8; 40];
    put32(&mut b, 0, 135);
    assert_eq!(
        nvsp::Message::parse(&b, Direction::HostToGuest),
        Err(Error::UnknownType)
    );
    put32(&mut b, 0, 0);
    assert_eq!(
        nvsp::Message::parse(&b, Direction::HostToGuest),
        Err(Error::UnknownType)
    );
}

#[test]
fn nvsp_body_truncated_per_type() {
    use nvsp::Message as M;
    let cases: [(nvsp::Message<'_>, Direction, usize); 6] = [
        (
            M::InitComplete {
                negotiated_version: nvsp::VERSION_1,
                max_mdl_chain_len: 0,
                status: 1,
            },
            Direction::HostToGuest,
            16,
        ),
        (
            M::SendSendBufComplete {
                status: 1,
                section_size: 6144,
            },
            Direction::HostToGuest,
            12,
        ),
        (
            M::SendRndisPacketComplete { status: 1 },
            Direction::HostToGuest,
            8,
        ),
        (
            M::SubchannelComplete {
                status: 1,
                num_subchannels: 1,
            },
            Direction::HostToGuest,
            12,
        ),
        (
            M::VfAssociation {
                allocated: true,
                serial: 1,
            },
            Direction::HostToGuest,
            12,
        ),
        (
            M::SendNdisConfig {
                mtu: 1500,
                capabilities: 0,
            },
            Direction::GuestToHost,
            20,
        ),
    ];
    for (m, d, min) in cases {
        let b = nv(m);
        assert!(nvsp::Message::parse(&b[..min], d).is_ok());
        assert_eq!(
            nvsp::Message::parse(&b[..min - 1], d),
            Err(Error::Truncated),
            "{m:?}"
        );
    }
    // Receive buffer completion needs room for one section.
    let mut b = vec![0u8; 64];
    let n = nvsp::build_recv_buf_complete(&mut b, 1, &[nvsp::RecvBufSection::default()]).unwrap();
    assert_eq!(
        nvsp::Message::parse(&b[..27], Direction::HostToGuest),
        Err(Error::Truncated)
    );
    assert!(nvsp::Message::parse(&b[..n], Direction::HostToGuest).is_ok());
}

#[test]
fn nvsp_bad_version() {
    let b = nv(nvsp::Message::InitComplete {
        negotiated_version: 0x0007_0000,
        max_mdl_chain_len: 0,
        status: nvsp::STATUS_SUCCESS,
    });
    assert_eq!(
        nvsp::Message::parse(&b, Direction::HostToGuest),
        Err(Error::BadVersion)
    );
    // A failed negotiation may carry any version.
    let b = nv(nvsp::Message::InitComplete {
        negotiated_version: 0x0007_0000,
        max_mdl_chain_len: 0,
        status: nvsp::STATUS_FAIL,
    });
    assert!(nvsp::Message::parse(&b, Direction::HostToGuest).is_ok());
}

#[test]
fn nvsp_wrong_direction() {
    let b = nv(nvsp::Message::Init {
        min_version: 2,
        max_version: 2,
    });
    assert_eq!(
        nvsp::Message::parse(&b, Direction::HostToGuest),
        Err(Error::UnexpectedMessage)
    );
    let b = nv(nvsp::Message::VfAssociation {
        allocated: true,
        serial: 1,
    });
    assert_eq!(
        nvsp::Message::parse(&b, Direction::GuestToHost),
        Err(Error::UnexpectedMessage)
    );
}

#[test]
fn nvsp_recv_sections_count() {
    let mut b = vec![0u8; 128];
    let n = nvsp::build_recv_buf_complete(&mut b, 1, &[nvsp::RecvBufSection::default()]).unwrap();
    put32(&mut b, 8, 3); // 3 sections claimed, 1 present
    assert_eq!(
        nvsp::Message::parse(&b[..n], Direction::HostToGuest),
        Err(Error::InvalidCount)
    );
    put32(&mut b, 8, 1000);
    assert_eq!(
        nvsp::Message::parse(&b[..n], Direction::HostToGuest),
        Err(Error::InvalidCount)
    );
}

#[test]
fn nvsp_indirection_table_checks() {
    let mut b = vec![0u8; 128];
    let n = nvsp::build_send_indirection_table(&mut b, &[0; 16]).unwrap();
    let d = Direction::HostToGuest;
    let mut c = b.clone();
    put32(&mut c, 4, 8);
    assert_eq!(nvsp::Message::parse(&c[..n], d), Err(Error::InvalidCount));
    let mut c = b.clone();
    put32(&mut c, 8, 60);
    assert_eq!(nvsp::Message::parse(&c[..n], d), Err(Error::OffsetPastEnd));
    put32(&mut c, 8, u32::MAX);
    assert_eq!(nvsp::Message::parse(&c[..n], d), Err(Error::OffsetPastEnd));
    put32(&mut c, 8, 8);
    assert_eq!(
        nvsp::Message::parse(&c[..n], d),
        Err(Error::OffsetInsideHeader)
    );
    put32(&mut c, 8, 14);
    assert_eq!(nvsp::Message::parse(&c[..n], d), Err(Error::Misaligned));
}

#[test]
fn nvsp_invalid_values() {
    let mut b = nv(nvsp::Message::SwitchDataPath {
        active: nvsp::DataPath::Vf,
    });
    put32(&mut b, 4, 2);
    assert_eq!(
        nvsp::Message::parse(&b, Direction::GuestToHost),
        Err(Error::InvalidValue)
    );
    let mut b = nv(nvsp::Message::VfAssociation {
        allocated: true,
        serial: 1,
    });
    put32(&mut b, 4, 7);
    assert_eq!(
        nvsp::Message::parse(&b, Direction::HostToGuest),
        Err(Error::InvalidValue)
    );
    let mut b = nv(nvsp::Message::SendRndisPacket {
        channel_type: 0,
        section_index: 0,
        section_size: 0,
    });
    put32(&mut b, 4, 2);
    assert_eq!(
        nvsp::Message::parse(&b, Direction::HostToGuest),
        Err(Error::InvalidValue)
    );
}

#[test]
fn nvsp_builder_buffer_too_small() {
    let mut b = [0u8; 39];
    assert_eq!(
        nvsp::Message::Init {
            min_version: 2,
            max_version: 2
        }
        .build(&mut b),
        Err(Error::BufferTooSmall)
    );
    assert_eq!(
        nvsp::build_send_indirection_table(&mut [0u8; 64], &[0; 16]),
        Err(Error::BufferTooSmall)
    );
    assert_eq!(
        nvsp::build_send_indirection_table(&mut [0u8; 128], &[0; 15]),
        Err(Error::InvalidCount)
    );
}

// ---------------------------------------------------------------- RNDIS

fn pkt(info: &PacketInfo, data: &[u8]) -> Vec<u8> {
    let mut b = vec![0u8; 512];
    let n = rndis::build_packet(&mut b, info, data).unwrap();
    b.truncate(n);
    b
}

fn vlan_pkt() -> Vec<u8> {
    pkt(
        &PacketInfo {
            vlan: Some(VlanInfo::new(1, false, 10)),
            ..Default::default()
        },
        &[0x11; 20],
    )
}

// Offsets within vlan_pkt(): packet body at 8; PPI entry at 44.
const PPI_OFF_FIELD: usize = 8 + 20;
const PPI_LEN_FIELD: usize = 8 + 24;
const DATA_OFF_FIELD: usize = 8;
const DATA_LEN_FIELD: usize = 12;
const E: usize = 44; // first PPI entry

#[test]
fn rndis_truncated_and_lengths() {
    assert_eq!(rndis::Message::parse(&[1, 0, 0]), Err(Error::Truncated));
    let mut b = vlan_pkt();
    put32(&mut b, 4, 4);
    assert_eq!(rndis::Message::parse(&b), Err(Error::LengthTooSmall));
    let l = b.len() as u32 + 1;
    put32(&mut b, 4, l);
    assert_eq!(rndis::Message::parse(&b), Err(Error::OverlongLength));
    put32(&mut b, 4, 40);
    assert_eq!(rndis::Message::parse(&b), Err(Error::LengthTooSmall));
}

#[test]
fn rndis_unknown_type() {
    let mut b = vlan_pkt();
    put32(&mut b, 0, 0x8000_0001);
    assert_eq!(rndis::Message::parse(&b), Err(Error::UnknownType));
}

#[test]
fn rndis_data_offset_checks() {
    let mut b = vlan_pkt();
    put32(&mut b, DATA_OFF_FIELD, 20);
    assert_eq!(rndis::Message::parse(&b), Err(Error::OffsetInsideHeader));
    put32(&mut b, DATA_OFF_FIELD, 4096);
    assert_eq!(rndis::Message::parse(&b), Err(Error::OffsetPastEnd));
    let mut b = vlan_pkt();
    put32(&mut b, DATA_LEN_FIELD, 21);
    assert_eq!(rndis::Message::parse(&b), Err(Error::OverlongLength));
    put32(&mut b, DATA_LEN_FIELD, u32::MAX);
    assert_eq!(rndis::Message::parse(&b), Err(Error::OverlongLength));
}

#[test]
fn rndis_ppi_area_checks() {
    let mut b = vlan_pkt();
    put32(&mut b, PPI_OFF_FIELD, 0);
    assert_eq!(rndis::Message::parse(&b), Err(Error::OffsetInsideHeader));
    put32(&mut b, PPI_OFF_FIELD, 1000);
    assert_eq!(rndis::Message::parse(&b), Err(Error::OffsetPastEnd));
    let mut b = vlan_pkt();
    put32(&mut b, PPI_LEN_FIELD, 1000);
    assert_eq!(rndis::Message::parse(&b), Err(Error::OverlongLength));
}

#[test]
fn rndis_data_overlaps_ppi() {
    let mut b = vlan_pkt();
    put32(&mut b, DATA_OFF_FIELD, 36); // data now starts on the PPI
    assert_eq!(rndis::Message::parse(&b), Err(Error::Overlap));
}

#[test]
fn rndis_zero_size_ppi() {
    // The C driver's walk spins forever on this input.
    let mut b = vlan_pkt();
    put32(&mut b, E, 0);
    assert_eq!(rndis::Message::parse(&b), Err(Error::ZeroSizePpi));
}

#[test]
fn rndis_ppi_offset_inside_header() {
    let mut b = vlan_pkt();
    put32(&mut b, E + 8, 4);
    assert_eq!(rndis::Message::parse(&b), Err(Error::PpiOffsetInsideHeader));
}

#[test]
fn rndis_ppi_offset_past_end() {
    let mut b = vlan_pkt();
    put32(&mut b, E + 8, 20);
    assert_eq!(rndis::Message::parse(&b), Err(Error::PpiOffsetPastEnd));
}

#[test]
fn rndis_ppi_overrun() {
    let mut b = vlan_pkt();
    put32(&mut b, E, 20); // entry larger than the 16-byte area
    assert_eq!(rndis::Message::parse(&b), Err(Error::PpiOverrun));
    let mut b = vlan_pkt();
    put32(&mut b, E, 8); // smaller than an entry header
    assert_eq!(rndis::Message::parse(&b), Err(Error::PpiOverrun));
    let mut b = vlan_pkt();
    put32(&mut b, PPI_LEN_FIELD, 8); // area smaller than an entry header
    assert_eq!(rndis::Message::parse(&b), Err(Error::PpiOverrun));
}

#[test]
fn rndis_ppi_misaligned() {
    assert_eq!(
        rndis::parse_ppi_area(&[14, 0, 0, 0, 6, 0, 0, 0, 12, 0, 0, 0, 1, 2, 0, 0]),
        Err(Error::Misaligned)
    );
}

#[test]
fn rndis_ppi_too_short() {
    let mut b = vlan_pkt();
    put32(&mut b, E + 8, 16); // value now empty
    assert_eq!(rndis::Message::parse(&b), Err(Error::PpiTooShort));
}

#[test]
fn rndis_too_many_ppis() {
    let mut area = Vec::new();
    for _ in 0..rndis::MAX_PPI_ENTRIES + 1 {
        area.extend_from_slice(&[12, 0, 0, 0, 3, 0, 0, 0, 12, 0, 0, 0]);
    }
    assert_eq!(rndis::parse_ppi_area(&area), Err(Error::TooManyRanges));
    assert!(rndis::parse_ppi_area(&area[12..]).is_ok());
}

#[test]
fn rndis_info_buffer_checks() {
    let mut b = vec![0u8; 128];
    let q = rndis::Message::QueryComplete(rndis::QueryComplete {
        req_id: 1,
        status: 0,
        info: &[1, 2, 3, 4],
    });
    let n = q.build(&mut b).unwrap();
    b.truncate(n);
    let mut c = b.clone();
    put32(&mut c, 20, 8); // offset into the fixed fields
    assert_eq!(rndis::Message::parse(&c), Err(Error::OffsetInsideHeader));
    put32(&mut c, 20, 100);
    assert_eq!(rndis::Message::parse(&c), Err(Error::OffsetPastEnd));
    let mut c = b.clone();
    put32(&mut c, 16, 5);
    assert_eq!(rndis::Message::parse(&c), Err(Error::OverlongLength));
}

#[test]
fn rndis_indicate_status_checks() {
    let mut b = vec![0u8; 128];
    let speed = 1u32.to_le_bytes();
    let m = rndis::Message::Indicate(rndis::IndicateStatus {
        status: rndis::STATUS_LINK_SPEED_CHANGE,
        buf: &speed,
    });
    let n = m.build(&mut b).unwrap();
    // Old hosts leave the status buffer out of msg_len: still accepted.
    let mut c = b[..n].to_vec();
    put32(&mut c, 4, 20);
    assert!(rndis::Message::parse(&c).is_ok());
    // But not past the real end of the data.
    assert_eq!(rndis::Message::parse(&c[..22]), Err(Error::OverlongLength));
    // Link speed needs four bytes.
    let mut c = b[..n].to_vec();
    put32(&mut c, 12, 2);
    assert_eq!(rndis::Message::parse(&c), Err(Error::LengthTooSmall));
    let mut c = b[..n].to_vec();
    put32(&mut c, 16, 4);
    assert_eq!(rndis::Message::parse(&c), Err(Error::OffsetInsideHeader));
}

#[test]
fn rndis_builder_buffer_too_small() {
    let mut b = [0u8; 50];
    assert_eq!(
        rndis::build_packet(&mut b, &PacketInfo::default(), &[0; 10]),
        Err(Error::BufferTooSmall)
    );
    let m = rndis::Message::Keepalive { req_id: 1 };
    assert_eq!(m.build(&mut b[..11]), Err(Error::BufferTooSmall));
}

#[test]
fn config_param_rejects() {
    use netvsc_proto::rndis::{mac_from_hex, utf16_to_utf8, ConfigParam};
    let mut good = [0u8; 96];
    let n = ConfigParam::build_string(&mut good, "NetworkAddress", "00155d000001").unwrap();
    let good = &good[..n];
    assert_eq!(
        ConfigParam::parse_string(&good[..19]),
        Err(Error::Truncated)
    );
    let mut bad = good.to_vec();
    bad[8] = 1; // not a string
    assert_eq!(ConfigParam::parse_string(&bad), Err(Error::InvalidValue));
    let mut bad = good.to_vec();
    bad[0] = 4; // name inside the header
    assert_eq!(
        ConfigParam::parse_string(&bad),
        Err(Error::OffsetInsideHeader)
    );
    let mut bad = good.to_vec();
    bad[16] = 25; // odd value length
    assert_eq!(ConfigParam::parse_string(&bad), Err(Error::Misaligned));
    let mut bad = good.to_vec();
    bad[12] = 200; // value past the end
    assert_eq!(ConfigParam::parse_string(&bad), Err(Error::OffsetPastEnd));
    let mut bad = good.to_vec();
    bad[17] = 1; // 256 + 24 bytes: over the limit
    assert_eq!(ConfigParam::parse_string(&bad), Err(Error::TooLarge));
    assert_eq!(mac_from_hex(b"00155d00000g"), Err(Error::InvalidValue));
    let short = ConfigParam::build_string(&mut [0u8; 96], "NetworkAddress", "00155d");
    assert!(short.is_ok());
    let mut buf = [0u8; 96];
    let n = ConfigParam::build_string(&mut buf, "NetworkAddress", "00155d").unwrap();
    assert_eq!(
        ConfigParam::parse_string(&buf[..n]).unwrap().mac_value(),
        Err(Error::InvalidValue)
    );
    assert_eq!(
        ConfigParam::build_string(&mut [0u8; 30], "NetworkAddress", "x"),
        Err(Error::BufferTooSmall)
    );
    assert_eq!(
        ConfigParam::build_string(&mut buf, "Név", "x"),
        Err(Error::InvalidValue)
    );
    // Unpaired surrogate, control character, odd length, too long.
    assert_eq!(
        utf16_to_utf8(&[0x00, 0xd8, 0x41, 0x00], &mut [0u8; 8]),
        Err(Error::InvalidValue)
    );
    assert_eq!(
        utf16_to_utf8(&[0x07, 0x00], &mut [0u8; 8]),
        Err(Error::InvalidValue)
    );
    assert_eq!(
        utf16_to_utf8(&[0x41], &mut [0u8; 8]),
        Err(Error::Misaligned)
    );
    assert_eq!(
        utf16_to_utf8(&[0x41, 0, 0x42, 0], &mut [0u8; 1]),
        Err(Error::TooLarge)
    );
}

#[test]
fn offload_caps_rejects() {
    let caps = rndis::OffloadCaps {
        revision: 3,
        ..Default::default()
    };
    let mut b = [0u8; 200];
    let n = caps.build(&mut b).unwrap();
    assert_eq!(n, rndis::NDIS_OFFLOAD_SIZE_6_30);
    let parse = |b: &[u8]| rndis::OffloadCaps::parse(b);
    assert_eq!(parse(&b[..3]), Err(Error::Truncated));
    let mut t = b;
    t[0] = 0x80;
    assert_eq!(parse(&t[..n]), Err(Error::UnknownType));
    let mut t = b;
    t[1] = 0;
    assert_eq!(parse(&t[..n]), Err(Error::BadVersion));
    let mut t = b;
    put16(&mut t, 2, (rndis::NDIS_OFFLOAD_SIZE_6_0 - 4) as u16);
    assert_eq!(parse(&t[..n]), Err(Error::LengthTooSmall));
    // The header claims more than the answer holds.
    assert_eq!(parse(&b[..n - 1]), Err(Error::OverlongLength));
    // A later revision with a larger structure reads as revision 3.
    let mut t = [0u8; 200];
    t[..n].copy_from_slice(&b[..n]);
    t[1] = 9;
    put16(&mut t, 2, 180);
    assert_eq!(parse(&t[..180]).unwrap().revision, 3);
    // Revision 1 has no RSC block: bytes beyond its size are not read.
    let mut t = b;
    t[1] = 1;
    put16(&mut t, 2, rndis::NDIS_OFFLOAD_SIZE_6_0 as u16);
    t[144] = 1;
    t[145] = 1;
    assert_eq!(parse(&t[..n]).unwrap().rsc, (false, false));
    // Builders: unknown revision, short buffer.
    let bad = rndis::OffloadCaps {
        revision: 4,
        ..caps
    };
    assert_eq!(bad.build(&mut b), Err(Error::InvalidValue));
    assert_eq!(caps.build(&mut b[..100]), Err(Error::BufferTooSmall));
}
