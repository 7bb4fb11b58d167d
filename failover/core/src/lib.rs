// SPDX-License-Identifier: GPL-2.0
//! The pure decision logic of Azure Accelerated Networking: which netdevs
//! are VF candidates, which synthetic NIC a candidate pairs with (PCI slot
//! serial and MAC), and the per-NIC data-path state machine that decides
//! when to ask the host to switch the data path and when to start or stop
//! transmitting through the VF.
//!
//! Everything here is `core`-only, allocation-free and panic-free on any
//! input. Nothing here touches a device: functions take plain facts and
//! return decisions; the state machine takes events and returns the
//! actions the kernel glue performs, in order.
//!
//! The kernel module includes the same files with `#[path]` module
//! declarations, so modules refer to each other only through `super::`.

#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod candidate;
pub mod datapath;
pub mod ifname;
pub mod log;
pub mod pairing;
pub mod slot;
