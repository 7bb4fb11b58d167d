#![no_main]
// SPDX-License-Identifier: GPL-2.0
//! vRSS parsers on arbitrary bytes: the host's capabilities (accepted
//! ones rebuild to the same value), the guest's parameters (every table
//! entry readable, sizes within bounds), and the frame hash.

use libfuzzer_sys::fuzz_target;
use netvsc_proto::rss::*;

fuzz_target!(|data: &[u8]| {
    if let Ok(c) = RssCaps::parse(data) {
        let mut out = [0u8; RSS_CAPS_SIZE];
        let n = c.build(&mut out).expect("rebuild");
        assert_eq!(RssCaps::parse(&out[..n]), Ok(c));
        assert!((1..=ITAB_MAX).contains(&c.table_size()));
    }
    if let Ok(p) = RssParams::parse(data) {
        assert!(p.table_len() <= ITAB_MAX && p.key.len() <= HASH_KEY_LEN);
        for i in 0..p.table_len() {
            assert!(p.entry(i).is_some());
        }
        let _ = toeplitz(p.key, data);
    }
    let _ = frame_hash(&VERIFICATION_KEY, data, HASH_LINUX);
});
