#![no_main]
// SPDX-License-Identifier: GPL-2.0
//! The offload module's entry points on arbitrary bytes: the host's
//! parameter parser (accepted ones rebuild to the same value), the frame
//! header parser and checksum check, the guest's preparation of a frame
//! under a full plan (whatever it accepts, the host's check accepts too),
//! and the host's check of any frame against any per-packet info.

use libfuzzer_sys::fuzz_target;
use netvsc_proto::offload::*;
use netvsc_proto::rndis::{ChecksumInfo, LsoV2Info, PacketInfo};

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    match sel % 3 {
        0 => {
            if let Ok(p) = OffloadParams::parse(rest) {
                let mut out = [0u8; OFFLOAD_PARAMETERS_SIZE];
                let n = p.build(&mut out, OFFLOAD_PARAMETERS_SIZE).expect("rebuild");
                let mut want = p;
                let size = usize::from(u16::from_le_bytes([rest[2], rest[3]]));
                if size <= params_offsets::RSC_IP6 {
                    want.rsc = (PARAM_NO_CHANGE, PARAM_NO_CHANGE);
                }
                assert_eq!(OffloadParams::parse(&out[..n]), Ok(want));
            }
        }
        1 => {
            // 8 bytes of metadata, then the frame.
            if rest.len() < 8 {
                return;
            }
            let (m, frame) = rest.split_at(8);
            let mut frame = frame.to_vec();
            let _ = verify_l4(&frame);
            let plan = OffloadPlan {
                tcp4: true,
                udp4: true,
                tcp6: true,
                udp6: true,
                lso4: Some(62780),
                lso6: Some(62780),
            };
            let meta = TxMeta {
                csum: (m[0] & 1 != 0).then(|| (u16::from(m[1]), u16::from(m[2]))),
                tso: (m[0] & 2 != 0)
                    .then(|| (u32::from(u16::from_le_bytes([m[3], m[4]])), m[0] & 4 != 0)),
            };
            if let Ok(t) = prepare_tx(&mut frame, &meta, &plan) {
                let mut on = HostOffloads::default();
                on.apply(&plan.params());
                let r = check_tx(&frame, &t.packet_info(), &on, 65535, 65535);
                if !matches!(t, TxOffload::None) {
                    assert!(r.is_ok(), "{t:?} refused: {r:?}");
                }
            }
        }
        _ => {
            if rest.len() < 9 {
                return;
            }
            let (m, frame) = rest.split_at(9);
            let word = |i: usize| u32::from_le_bytes([m[i], m[i + 1], m[i + 2], m[i + 3]]);
            let info = PacketInfo {
                checksum: (m[8] & 1 != 0).then(|| ChecksumInfo(word(0))),
                lso: (m[8] & 2 != 0).then(|| LsoV2Info(word(4))),
                ..PacketInfo::default()
            };
            let on = HostOffloads {
                tx: [true; 4],
                rx: [true; 4],
                lso: (true, true),
            };
            let _ = check_tx(frame, &info, &on, 1514, 62780);
            let _ = rx_checksum_info(frame, &on);
        }
    }
});
