#![no_main]
// SPDX-License-Identifier: GPL-2.0
//! RNDIS message parser; accepted control messages must round-trip.

use libfuzzer_sys::fuzz_target;
use netvsc_proto::rndis::{Header, Message};

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = Message::parse(data) {
        let h = Header::parse(data).expect("header of parsed message");
        assert!(h.msg_len as usize <= data.len());
        if let Message::Packet(p) = m {
            // Accepted PPIs iterate to exactly the validated area.
            let total: usize = p.ppis().map(|x| x.data.len()).sum();
            assert!(total <= p.ppi_area.len());
        } else if !matches!(m, Message::Indicate(_)) {
            let mut out = [0u8; 70000];
            if let Ok(n) = m.build(&mut out) {
                assert_eq!(Message::parse(&out[..n]).expect("reparse"), m);
            }
        }
    }
});
