#![no_main]
// SPDX-License-Identifier: GPL-2.0
//! The guest receive path end to end: VMBus packet -> NVSP message ->
//! RNDIS messages in the transfer-page ranges of a fake receive buffer
//! (the fuzz input itself).

use libfuzzer_sys::fuzz_target;
use netvsc_proto::nvsp::{Direction, Message as Nvsp};
use netvsc_proto::rndis::Message as Rndis;
use netvsc_proto::vmbus::{Packet, PacketKind};

fuzz_target!(|data: &[u8]| {
    let recv_len = u32::try_from(data.len()).unwrap_or(u32::MAX);
    let Ok(p) = Packet::parse_checked(data, recv_len, 0) else {
        return;
    };
    if Nvsp::parse(p.payload, Direction::HostToGuest).is_err() {
        return;
    }
    if let PacketKind::TransferPages(t) = p.kind {
        for r in t.ranges() {
            let start = r.byte_offset as usize;
            let end = start + r.byte_count as usize;
            let _ = Rndis::parse(&data[start..end]);
        }
    }
});
