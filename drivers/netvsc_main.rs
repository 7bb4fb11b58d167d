// SPDX-License-Identifier: GPL-2.0

//! hv_netvsc_rs: the Hyper-V synthetic network driver with Accelerated
//! Networking (VF pairing and data-path failover), in Rust.
//!
//! This is the crate root of the production module. See docs/architecture.md
//! for the layers: `bindings` (generated, raw), `net` (netdev wrappers),
//! `vmbus` (channel transport), the protocol core, `failover` and `mlx_vf`.

use kernel::prelude::*;

mod bindings;
#[path = "../failover/mod.rs"]
mod failover;
mod net;
mod netvsc;
mod proto_check;
#[path = "../vmbus/mod.rs"]
mod vmbus;

/// The failover decisions: the source files of the host crate
/// `failover/core` (`failover-core`), compiled into the module.
#[allow(dead_code, unreachable_pub)]
#[forbid(unsafe_code)]
#[path = "../failover/core/src"]
mod failover_core {
    pub(crate) mod candidate;
    pub(crate) mod datapath;
    pub(crate) mod ifname;
    pub(crate) mod log;
    pub(crate) mod pairing;
    pub(crate) mod slot;
}

/// The VF family table: the source files of `mlx_vf/core` (`mlx-vf-core`).
#[allow(dead_code, unreachable_pub)]
#[forbid(unsafe_code)]
#[path = "../mlx_vf/core/src"]
mod mlx_vf_core {
    pub(crate) mod family;
    pub(crate) mod ids;
}

/// The protocol core: the very source files of the host crate
/// `drivers/proto` (`netvsc-proto`), compiled into the module.
#[allow(dead_code, unreachable_pub)]
#[forbid(unsafe_code)]
mod proto {
    #[path = "src/error.rs"]
    pub(crate) mod error;
    #[path = "src/nvsp.rs"]
    pub(crate) mod nvsp;
    #[path = "src/offload.rs"]
    pub(crate) mod offload;
    #[path = "src/rndis.rs"]
    pub(crate) mod rndis;
    #[path = "src/rss.rs"]
    pub(crate) mod rss;
    #[path = "src/vlan.rs"]
    pub(crate) mod vlan;
    #[path = "src/vmbus.rs"]
    pub(crate) mod vmbus;
    #[path = "src/wire.rs"]
    pub(crate) mod wire;
}

module! {
    type: HvNetvsc,
    name: "hv_netvsc_rs",
    authors: ["hv-netvsc-rs developers"],
    description: "Hyper-V network driver with Accelerated Networking (Rust)",
    license: "GPL",
    params: {
        ring_size: u32 {
            default: 128,
            description: "VMBus ring size in 4 KiB pages, each direction (as upstream)",
        },
        vf_missing_ms: u32 {
            default: 60000,
            description: "Warn when an announced VF has not appeared after this many ms",
        },
        warn_on_load: bool {
            default: false,
            description: "Test harness self-check only: emit one WARN at load",
        },
    },
}

struct HvNetvsc {
    /// Our VMBus driver for the network class; `None` without VMBus (not on
    /// Hyper-V), when only transports registered by other modules are bound.
    _vmbus: Option<Pin<KBox<vmbus::hyperv::Registration>>>,
}

impl kernel::Module for HvNetvsc {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        if module_parameters::warn_on_load.value() {
            pr_warn!("warn_on_load set: emitting a WARN on purpose\n");
            kernel::warn_on!(true);
        }
        netvsc::set_ring_bytes(vmbus::hyperv::ring_bytes(
            module_parameters::ring_size.value(),
        ));
        // The failover registry, workqueue and notifier first: registering
        // with VMBus probes the NICs already offered synchronously, inside
        // the call (`PROBE_FORCE_SYNCHRONOUS`), and probe uses all three.
        failover::init()?;
        let vmbus = match KBox::pin_init(vmbus::hyperv::Registration::new::<Self>(), GFP_KERNEL) {
            Ok(reg) => Some(reg),
            Err(e) if e == ENODEV => {
                pr_info!(
                    "no VMBus present (not on Hyper-V): only transports registered by other modules will be bound\n"
                );
                None
            }
            Err(e) => {
                failover::exit();
                return Err(e);
            }
        };
        pr_info!("loaded\n");
        Ok(HvNetvsc { _vmbus: vmbus })
    }
}

impl Drop for HvNetvsc {
    fn drop(&mut self) {
        // Devices of other providers are gone (they hold a module reference
        // while registered); VMBus devices go with `_vmbus` right after.
        // Both only need the notifier while they exist.
        if let Some(v) = self._vmbus.take() {
            drop(v);
        }
        failover::exit();
        pr_info!("unloaded\n");
    }
}
