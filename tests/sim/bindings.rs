// SPDX-License-Identifier: GPL-2.0

//! Raw bindings of the simulator: the transport contract
//! (`drivers/bindings/hvn_transport.h`) and the C helpers in
//! `helpers_sim.c`. Generated at build time from `sim_bindings.h`,
//! restricted by `allowlist.d/`. Only `glue` uses this module.

#![allow(
    dead_code,
    non_camel_case_types,
    non_snake_case,
    non_upper_case_globals,
    unsafe_op_in_unsafe_fn,
    clippy::all,
    clippy::pedantic,
    clippy::restriction,
    clippy::nursery,
    clippy::undocumented_unsafe_blocks,
    improper_ctypes,
    unnecessary_transmutes,
    unreachable_pub,
    missing_docs
)]

use kernel::ffi;

include!("bindings_generated.rs");
