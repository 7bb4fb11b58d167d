// SPDX-License-Identifier: GPL-2.0
//! Wire formats of the Hyper-V synthetic NIC: VMBus channel packets, NVSP
//! (network VSP) messages carried in them, and RNDIS messages carried in
//! NVSP "RNDIS packet" messages or in send/receive buffer sections.
//!
//! Everything here is `core`-only, allocation-free and panic-free on any
//! input: parsers borrow the input slice and return views, builders write
//! into a caller-supplied `&mut [u8]` and return the number of bytes
//! written. All multi-byte fields are little-endian.
//!
//! The kernel module includes the same files with `#[path]` module
//! declarations, so modules refer to each other only through `super::`.

#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod error;
pub mod nvsp;
pub mod offload;
pub mod rndis;
pub mod rss;
pub mod vlan;
pub mod vmbus;
pub mod wire;
