#![no_main]
// SPDX-License-Identifier: GPL-2.0
//! The PPI walk alone (the code path the C driver got wrong): must always
//! terminate and never read outside the area.

use libfuzzer_sys::fuzz_target;
use netvsc_proto::rndis::parse_ppi_area;

fuzz_target!(|data: &[u8]| {
    let _ = parse_ppi_area(data);
});
