// SPDX-License-Identifier: GPL-2.0

//! The VMBus side of the driver: the [`Transport`] seam the netvsc logic
//! talks to, host-shared buffers, and the implementations of the seam.
//!
//! This is one of the thin layers allowed to use `unsafe`; every block says
//! why it is sound. The netvsc logic above it is safe Rust.
//!
//! - [`hyperv`]: the production implementation, a VMBus driver for the
//!   network device class over the kernel's VMBus API (ring buffers,
//!   GPADLs). Without Hyper-V it registers nothing and the module keeps
//!   serving the external transports.
//! - [`external`]: channels handed to us through the exported C entry points
//!   of `hvn_transport.h` (the test-only simulated host uses these).
//!
//! See docs/architecture.md.

pub(crate) mod buffer;
pub(crate) mod external;
pub(crate) mod hyperv;
pub(crate) mod transport;

pub(crate) use buffer::SharedBuffer;
pub(crate) use transport::{PageRange, Transport};
