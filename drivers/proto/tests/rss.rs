// SPDX-License-Identifier: GPL-2.0
//! vRSS: capabilities and parameters codecs, the Toeplitz hash against
//! Microsoft's published verification data, frame hashing.

use netvsc_proto::error::Error;
use netvsc_proto::rss::*;

/// "Verifying the RSS Hash Calculation" (Windows driver docs): destination
/// and source address:port, IPv4-only hash, IPv4-with-TCP hash.
const V4: [([u8; 4], u16, [u8; 4], u16, u32, u32); 5] = [
    (
        [161, 142, 100, 80],
        1766,
        [66, 9, 149, 187],
        2794,
        0x323e8fc2,
        0x51ccc178,
    ),
    (
        [65, 69, 140, 83],
        4739,
        [199, 92, 111, 2],
        14230,
        0xd718262a,
        0xc626b0ea,
    ),
    (
        [12, 22, 207, 184],
        38024,
        [24, 19, 198, 95],
        12898,
        0xd2d0a5de,
        0x5c2b394a,
    ),
    (
        [209, 142, 163, 6],
        2217,
        [38, 27, 205, 30],
        48228,
        0x82989176,
        0xafc7327f,
    ),
    (
        [202, 188, 127, 2],
        1303,
        [153, 39, 163, 191],
        44251,
        0x5d1809c5,
        0x10e828a2,
    ),
];

fn v6(s: &str) -> [u8; 16] {
    let a: std::net::Ipv6Addr = s.parse().unwrap();
    a.octets()
}

/// The same for IPv6.
fn v6_vectors() -> [([u8; 16], u16, [u8; 16], u16, u32, u32); 3] {
    [
        (
            v6("3ffe:2501:200:3::1"),
            1766,
            v6("3ffe:2501:200:1fff::7"),
            2794,
            0x2cc18cd5,
            0x40207d3d,
        ),
        (
            v6("ff02::1"),
            4739,
            v6("3ffe:501:8::260:97ff:fe40:efab"),
            14230,
            0x0f0c461c,
            0xdde51bbf,
        ),
        (
            v6("fe80::200:f8ff:fe21:67cf"),
            38024,
            v6("3ffe:1900:4545:3:200:f8ff:fe21:67cf"),
            44251,
            0x4b61e985,
            0x02d1feef,
        ),
    ]
}

#[test]
fn toeplitz_matches_microsofts_verification_data() {
    for (dst, dport, src, sport, ip, tcp) in V4 {
        let mut input = Vec::new();
        input.extend_from_slice(&src);
        input.extend_from_slice(&dst);
        assert_eq!(toeplitz(&VERIFICATION_KEY, &input), ip, "{dst:?}");
        input.extend_from_slice(&sport.to_be_bytes());
        input.extend_from_slice(&dport.to_be_bytes());
        assert_eq!(toeplitz(&VERIFICATION_KEY, &input), tcp, "{dst:?}");
    }
    for (dst, dport, src, sport, ip, tcp) in v6_vectors() {
        let mut input = Vec::new();
        input.extend_from_slice(&src);
        input.extend_from_slice(&dst);
        assert_eq!(toeplitz(&VERIFICATION_KEY, &input), ip);
        input.extend_from_slice(&sport.to_be_bytes());
        input.extend_from_slice(&dport.to_be_bytes());
        assert_eq!(toeplitz(&VERIFICATION_KEY, &input), tcp);
    }
}

#[test]
fn toeplitz_edge_cases() {
    // No key: nothing to hash with. Input past the key's reach is ignored.
    assert_eq!(toeplitz(&[], &[1, 2, 3]), 0);
    assert_eq!(toeplitz(&VERIFICATION_KEY, &[]), 0);
    let long = [0xffu8; 64];
    assert_eq!(
        toeplitz(&VERIFICATION_KEY, &long),
        toeplitz(&VERIFICATION_KEY, &long[..36])
    );
}

/// An Ethernet + IPv4 + TCP frame from src to dst.
fn tcp4(src: [u8; 4], sport: u16, dst: [u8; 4], dport: u16, frag: bool) -> Vec<u8> {
    let mut f = vec![0u8; 14 + 20 + 20];
    f[12] = 0x08;
    f[14] = 0x45;
    f[16..18].copy_from_slice(&40u16.to_be_bytes());
    if frag {
        f[20] = 0x20;
    }
    f[23] = 6;
    f[26..30].copy_from_slice(&src);
    f[30..34].copy_from_slice(&dst);
    f[34..36].copy_from_slice(&sport.to_be_bytes());
    f[36..38].copy_from_slice(&dport.to_be_bytes());
    f[46] = 5 << 4;
    f
}

#[test]
fn frame_hash_uses_what_hash_info_asks_for() {
    let (dst, dport, src, sport, ip, tcp) = V4[0];
    let f = tcp4(src, sport, dst, dport, false);
    assert_eq!(
        frame_hash(&VERIFICATION_KEY, &f, HASH_LINUX),
        Some((tcp, HashKind::TcpIpv4))
    );
    assert_eq!(
        frame_hash(&VERIFICATION_KEY, &f, HASH_FUNC_TOEPLITZ | HASH_IPV4),
        Some((ip, HashKind::Ipv4))
    );
    assert_eq!(
        frame_hash(&VERIFICATION_KEY, &f, HASH_FUNC_TOEPLITZ | HASH_IPV6),
        None
    );
    // A fragment has no ports to hash.
    let frag = tcp4(src, sport, dst, dport, true);
    assert_eq!(
        frame_hash(&VERIFICATION_KEY, &frag, HASH_LINUX),
        Some((ip, HashKind::Ipv4))
    );
    // Not IP.
    let mut arp = f.clone();
    arp[12..14].copy_from_slice(&[0x08, 0x06]);
    assert_eq!(frame_hash(&VERIFICATION_KEY, &arp, HASH_LINUX), None);
}

#[test]
fn frame_hash_ipv6_tcp() {
    let (dst, dport, src, sport, _, tcp) = v6_vectors()[0];
    let mut f = vec![0u8; 14 + 40 + 20];
    f[12..14].copy_from_slice(&[0x86, 0xdd]);
    f[14] = 0x60;
    f[18..20].copy_from_slice(&20u16.to_be_bytes());
    f[20] = 6;
    f[22..38].copy_from_slice(&src);
    f[38..54].copy_from_slice(&dst);
    f[54..56].copy_from_slice(&sport.to_be_bytes());
    f[56..58].copy_from_slice(&dport.to_be_bytes());
    f[66] = 5 << 4;
    assert_eq!(
        frame_hash(&VERIFICATION_KEY, &f, HASH_LINUX),
        Some((tcp, HashKind::TcpIpv6))
    );
    assert_eq!(HashKind::TcpIpv6.hash_type(), HASH_TCP_IPV6);
}

#[test]
fn caps_roundtrip_and_rejects() {
    let caps = RssCaps {
        revision: 2,
        flags: CAPS_HASH_TCP_IPV4 | CAPS_HASH_TCP_IPV6,
        interrupt_messages: 0,
        receive_queues: 8,
        table_entries: 128,
    };
    let mut b = [0u8; 32];
    assert_eq!(caps.build(&mut b), Ok(RSS_CAPS_SIZE));
    assert_eq!(RssCaps::parse(&b[..RSS_CAPS_SIZE]), Ok(caps));
    assert_eq!(caps.table_size(), 128);
    let r1 = RssCaps {
        revision: 1,
        table_entries: 0,
        ..caps
    };
    let n = r1.build(&mut b).unwrap();
    assert_eq!(n, RSS_CAPS_SIZE_1);
    assert_eq!(RssCaps::parse(&b[..n]), Ok(r1));
    assert_eq!(r1.table_size(), ITAB_DEFAULT);
    assert_eq!(
        RssCaps {
            table_entries: 300,
            ..caps
        }
        .table_size(),
        ITAB_DEFAULT
    );
    assert_eq!(
        RssCaps {
            revision: 3,
            ..caps
        }
        .build(&mut b),
        Err(Error::InvalidValue)
    );

    caps.build(&mut b).unwrap();
    let with = |i: usize, v: u8| {
        let mut c = b;
        c[i] = v;
        RssCaps::parse(&c[..RSS_CAPS_SIZE])
    };
    assert_eq!(with(0, 0x89), Err(Error::UnknownType));
    assert_eq!(with(1, 0), Err(Error::BadVersion));
    assert_eq!(with(2, 15), Err(Error::LengthTooSmall));
    assert_eq!(with(2, 19), Err(Error::OverlongLength));
    assert_eq!(RssCaps::parse(&b[..3]), Err(Error::Truncated));
}

#[test]
fn params_roundtrip() {
    let mut b = [0u8; 2048];
    let n = RssParams::build(&mut b, 3, 128, &VERIFICATION_KEY).unwrap();
    assert_eq!(n, RSS_PARAMS_SIZE + 128 * 4 + HASH_KEY_LEN);
    let p = RssParams::parse(&b[..n]).unwrap();
    assert_eq!(p.flags, 0);
    assert_eq!(p.hash_info, HASH_LINUX);
    assert_eq!(p.table_len(), 128);
    assert_eq!((0..128).map(|i| p.entry(i).unwrap()).max(), Some(2));
    assert_eq!(p.entry(4), Some(1));
    assert_eq!(p.entry(128), None);
    assert_eq!(p.key, &VERIFICATION_KEY);
    assert_eq!(
        RssParams::build(&mut b, 0, 128, &VERIFICATION_KEY),
        Err(Error::InvalidValue)
    );
    assert_eq!(
        RssParams::build(&mut b, 2, 257, &VERIFICATION_KEY),
        Err(Error::InvalidValue)
    );
    assert_eq!(
        RssParams::build(&mut b[..100], 2, 128, &VERIFICATION_KEY),
        Err(Error::BufferTooSmall)
    );
}

#[test]
fn params_rejects() {
    let mut b = [0u8; 1024];
    let n = RssParams::build(&mut b, 2, 16, &VERIFICATION_KEY).unwrap();
    let with = |f: &dyn Fn(&mut [u8])| {
        let mut c = b;
        f(&mut c[..n]);
        RssParams::parse(&c[..n]).map(|_| ())
    };
    assert_eq!(with(&|c| c[0] = 0x88), Err(Error::UnknownType));
    assert_eq!(with(&|c| c[1] = 0), Err(Error::BadVersion));
    assert_eq!(with(&|c| c[2] = 39), Err(Error::LengthTooSmall));
    // Table length not a multiple of 4, or more than 256 entries.
    assert_eq!(with(&|c| c[12] = 63), Err(Error::InvalidCount));
    assert_eq!(
        with(&|c| c[12..14].copy_from_slice(&1028u16.to_le_bytes())),
        Err(Error::InvalidCount)
    );
    // Key longer than 40 bytes.
    assert_eq!(with(&|c| c[20] = 41), Err(Error::TooLarge));
    // Table inside the fixed part, or past the end.
    assert_eq!(with(&|c| c[16] = 36), Err(Error::OffsetInsideHeader));
    assert_eq!(
        with(&|c| c[16..20].copy_from_slice(&(n as u32).to_le_bytes())),
        Err(Error::OffsetPastEnd)
    );
    assert_eq!(
        with(&|c| c[24..28].copy_from_slice(&u32::MAX.to_le_bytes())),
        Err(Error::OffsetPastEnd)
    );
    // RSS disabled without table and key is fine.
    assert!(with(&|c| {
        c[4] = PARAM_FLAG_DISABLE_RSS as u8;
        c[12] = 0;
        c[13] = 0;
        c[20] = 0;
    })
    .is_ok());
}

proptest::proptest! {
    #[test]
    fn parsers_never_panic(data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..600)) {
        let _ = RssCaps::parse(&data);
        if let Ok(p) = RssParams::parse(&data) {
            proptest::prop_assert!(p.table_len() <= ITAB_MAX && p.key.len() <= HASH_KEY_LEN);
            for i in 0..p.table_len() {
                proptest::prop_assert!(p.entry(i).is_some());
            }
        }
        let _ = frame_hash(&VERIFICATION_KEY, &data, HASH_LINUX);
    }
}
