// SPDX-License-Identifier: GPL-2.0
//! 802.1Q tags: per-packet info, TCI and inline tags.

use netvsc_proto::error::Error;
use netvsc_proto::rndis::{self, PacketInfo, VlanInfo};
use netvsc_proto::vlan::{self, Tag};

#[test]
fn info_bit_layout() {
    // pri bits 0..=2, cfi bit 3, VLAN id bits 4..=15 (hyperv_net.h's
    // `struct ndis_pkt_8021q_info` on a little-endian ABI).
    assert_eq!(VlanInfo::new(5, false, 100).0, 5 | (100 << 4));
    assert_eq!(VlanInfo::new(0, true, 0).0, 8);
    assert_eq!(VlanInfo::new(7, true, 4094).0, 0xffef);
    let t = Tag::new(3, true, 0x123).unwrap();
    assert_eq!(t.info().0, 3 | 8 | (0x123 << 4));
    assert_eq!(Tag::from_info(t.info()), Ok(t));
}

#[test]
fn tci_round_trip() {
    // TCI: VLAN id 0..=11, CFI 12, priority 13..=15.
    let t = Tag::from_tci(0xa00a).unwrap();
    assert_eq!(
        t,
        Tag {
            pri: 5,
            cfi: false,
            vid: 10
        }
    );
    assert_eq!(t.tci(), 0xa00a);
    assert_eq!(
        Tag::from_tci(0x1001).unwrap(),
        Tag {
            pri: 0,
            cfi: true,
            vid: 1
        }
    );
    for tci in 0..=u16::MAX {
        match Tag::from_tci(tci) {
            Ok(t) => {
                assert_eq!(t.tci(), tci);
                assert_eq!(Tag::from_info(t.info()), Ok(t));
            }
            Err(e) => {
                assert_eq!(e, Error::InvalidValue);
                assert_eq!(tci & 0xfff, 0xfff);
            }
        }
    }
}

#[test]
fn reserved_vid_and_bits_refused() {
    assert_eq!(Tag::new(0, false, 4095), Err(Error::InvalidValue));
    assert_eq!(Tag::new(8, false, 1), Err(Error::InvalidValue));
    assert_eq!(
        Tag::from_info(VlanInfo(0xfff << 4)),
        Err(Error::InvalidValue)
    );
    assert_eq!(Tag::from_info(VlanInfo(1 << 16)), Err(Error::InvalidValue));
    assert_eq!(
        Tag::from_info(VlanInfo(0x8000_0000 | (10 << 4))),
        Err(Error::InvalidValue)
    );
    // VLAN id 0: a priority-tagged frame, carried.
    assert_eq!(
        Tag::from_info(VlanInfo(6)),
        Ok(Tag {
            pri: 6,
            cfi: false,
            vid: 0
        })
    );
}

fn frame(ethertype: u16, payload: usize) -> Vec<u8> {
    let mut f = vec![0u8; 14 + payload];
    f[..6].copy_from_slice(&[0x00, 0x15, 0x5d, 0, 0, 1]);
    f[6..12].copy_from_slice(&[0x52, 0x54, 0, 0, 0, 2]);
    f[12..14].copy_from_slice(&ethertype.to_be_bytes());
    for (i, b) in f[14..].iter_mut().enumerate() {
        *b = i as u8;
    }
    f
}

#[test]
fn inline_tag_insert_and_strip() {
    let plain = frame(0x0800, 50);
    assert_eq!(vlan::inline_tag(&plain), Ok(None));
    let tag = Tag::new(2, false, 10).unwrap();
    let mut out = [0u8; 128];
    let n = vlan::insert_tag(&mut out, &plain, tag).unwrap();
    assert_eq!(n, plain.len() + 4);
    assert_eq!(&out[12..18], &[0x81, 0x00, 0x40, 0x0a, 0x08, 0x00]);
    assert_eq!(vlan::inline_tag(&out[..n]), Ok(Some(tag)));
    let mut tagged = out[..n].to_vec();
    assert_eq!(vlan::strip_inline(&mut tagged), Ok(Some(tag)));
    assert_eq!(&tagged[vlan::VLAN_HLEN..], &plain[..]);
    // Untagged frames are left alone.
    let mut same = plain.clone();
    assert_eq!(vlan::strip_inline(&mut same), Ok(None));
    assert_eq!(same, plain);
}

#[test]
fn inline_tag_errors() {
    // Tag protocol without room for the TCI and the inner ethertype.
    let mut f = frame(0x8100, 2);
    assert_eq!(vlan::inline_tag(&f), Err(Error::Truncated));
    let keep = f.clone();
    assert_eq!(vlan::strip_inline(&mut f), Err(Error::Truncated));
    assert_eq!(f, keep);
    assert_eq!(
        vlan::inline_tag(&frame(0x8100, 1)[..15]),
        Err(Error::Truncated)
    );
    // VLAN id 4095.
    let mut f = frame(0x8100, 20);
    f[14..16].copy_from_slice(&0x0fffu16.to_be_bytes());
    assert_eq!(vlan::inline_tag(&f), Err(Error::InvalidValue));
    // Shorter than an Ethernet header: no ethertype, no tag.
    assert_eq!(vlan::inline_tag(&[0u8; 13]), Ok(None));
    // 802.1ad (S-tag) is not what this converts.
    assert_eq!(vlan::inline_tag(&frame(0x88a8, 20)), Ok(None));
    // insert_tag bounds.
    let mut small = [0u8; 20];
    assert_eq!(
        vlan::insert_tag(&mut small, &frame(0x0800, 10), Tag::default()),
        Err(Error::BufferTooSmall)
    );
    assert_eq!(
        vlan::insert_tag(&mut small, &[0u8; 13], Tag::default()),
        Err(Error::Truncated)
    );
}

#[test]
fn vlan_ppi_in_a_packet_round_trips() {
    let tag = Tag::new(6, true, 4094).unwrap();
    let info = PacketInfo {
        vlan: Some(tag.info()),
        ..Default::default()
    };
    let data = frame(0x0800, 40);
    let mut buf = [0u8; 256];
    let n = rndis::build_packet(&mut buf, &info, &data).unwrap();
    let rndis::Message::Packet(p) = rndis::Message::parse(&buf[..n]).unwrap() else {
        panic!("not a packet");
    };
    assert_eq!(p.data, &data[..]);
    assert_eq!(p.info.vlan.map(Tag::from_info), Some(Ok(tag)));
    // The entry: size 16, type 6 (IEEE_8021Q_INFO), offset 12, value.
    let ppi = &buf[rndis::PACKET_HEADER_SIZE..rndis::PACKET_HEADER_SIZE + 16];
    assert_eq!(&ppi[..12], &[16, 0, 0, 0, 6, 0, 0, 0, 12, 0, 0, 0]);
    assert_eq!(
        u32::from_le_bytes(ppi[12..16].try_into().unwrap()),
        tag.info().0
    );
}
