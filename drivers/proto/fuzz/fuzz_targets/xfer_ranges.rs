#![no_main]
// SPDX-License-Identifier: GPL-2.0
//! Transfer-page ranges checked against a fuzzer-chosen receive buffer:
//! every accepted range must lie inside it.

use libfuzzer_sys::fuzz_target;
use netvsc_proto::vmbus::{Packet, PacketKind};

fuzz_target!(|data: &[u8]| {
    if data.len() < 8 {
        return;
    }
    let (lim, pkt) = data.split_at(8);
    let recv_len = u32::from_le_bytes([lim[0], lim[1], lim[2], lim[3]]);
    let max_range = u32::from_le_bytes([lim[4], lim[5], lim[6], lim[7]]);
    if let Ok(p) = Packet::parse_checked(pkt, recv_len, max_range) {
        if let PacketKind::TransferPages(t) = p.kind {
            for r in t.ranges() {
                assert!(u64::from(r.byte_offset) + u64::from(r.byte_count) <= u64::from(recv_len));
                assert!(max_range == 0 || r.byte_count <= max_range);
            }
        }
    }
});
