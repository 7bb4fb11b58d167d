#![no_main]
// SPDX-License-Identifier: GPL-2.0
//! Offload capabilities (`NDIS_OFFLOAD`) parser: accepted structures are
//! rebuilt and parse to the same value; the summary never fails.

use libfuzzer_sys::fuzz_target;
use netvsc_proto::rndis::OffloadCaps;

fuzz_target!(|data: &[u8]| {
    if let Ok(c) = OffloadCaps::parse(data) {
        assert!((1..=3).contains(&c.revision));
        let mut s = String::new();
        c.describe(&mut s).expect("summary");
        let mut out = [0u8; 256];
        let n = c.build(&mut out).expect("rebuild");
        let again = OffloadCaps::parse(&out[..n]).expect("reparse");
        // A revision 1 or 2 structure carries no RSC block.
        let mut want = c;
        if c.revision < 3 {
            want.rsc = (false, false);
        }
        assert_eq!(again, want);
    }
});
