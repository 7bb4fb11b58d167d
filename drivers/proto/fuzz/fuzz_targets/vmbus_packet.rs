#![no_main]
// SPDX-License-Identifier: GPL-2.0
//! VMBus packet parser: any bytes must parse or fail cleanly; a parsed
//! packet's views must stay inside the input and its iterators terminate.

use libfuzzer_sys::fuzz_target;
use netvsc_proto::vmbus::{Packet, PacketKind};

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = Packet::parse(data) {
        assert!(p.total_len() <= data.len());
        assert!(p.payload.len() <= p.total_len());
        match p.kind {
            PacketKind::TransferPages(t) => {
                assert_eq!(t.ranges().count(), t.range_count());
            }
            PacketKind::GpaDirect(g) => {
                let mut n = 0;
                for r in g.ranges() {
                    n += 1;
                    assert_eq!(r.pfns().count(), r.pfn_count());
                }
                assert_eq!(n, g.range_count());
            }
            _ => {}
        }
    }
});
