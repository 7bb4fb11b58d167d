#![no_main]
// SPDX-License-Identifier: GPL-2.0
//! NVSP parser in both directions and with old/new versions; an accepted
//! message must re-serialise and parse back to the same value.

use libfuzzer_sys::fuzz_target;
use netvsc_proto::nvsp::{Direction, Message, VERSION_6, VERSION_61};

fuzz_target!(|data: &[u8]| {
    for dir in [Direction::GuestToHost, Direction::HostToGuest] {
        for v in [VERSION_6, VERSION_61] {
            if let Ok(m) = Message::parse_with_version(data, dir, v) {
                let mut out = [0u8; 256];
                let n = m.build(&mut out).expect("rebuild");
                let back = Message::parse(&out[..n], dir).expect("reparse");
                assert_eq!(back, m);
            }
        }
    }
});
