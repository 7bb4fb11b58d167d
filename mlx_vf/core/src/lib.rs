// SPDX-License-Identifier: GPL-2.0
//! The SR-IOV Virtual Function families that Azure Accelerated Networking
//! gives a VM (Mellanox ConnectX-3 through mlx4, ConnectX-4 and later
//! through mlx5, Microsoft's MANA), recognised by PCI vendor/device ID and
//! by driver name, plus the devices QEMU tests use as stand-ins
//! (virtio-net, e1000e), marked as such.
//!
//! IDs are those of the VF entries in the Linux 7.3 drivers' own PCI ID
//! tables (`mlx4/main.c`, `mlx5/core/main.c`, `include/net/mana/gdma.h`).
//!
//! Everything here is `core`-only, allocation-free and panic-free. The
//! kernel module includes the same files with `#[path]` module
//! declarations, so modules refer to each other only through `super::`.

#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod family;
pub mod ids;
