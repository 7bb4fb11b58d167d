// SPDX-License-Identifier: GPL-2.0
//! VF families: the driver that binds them and what is specific to each.

/// A family of VF devices sharing one driver.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Family {
    /// Mellanox ConnectX-3 / ConnectX-3 Pro VF, driver `mlx4_core` with
    /// the Ethernet part in `mlx4_en`.
    Mlx4,
    /// Mellanox ConnectX-4, 4 Lx, 5, 6 and later VFs, driver `mlx5_core`.
    Mlx5,
    /// Microsoft Azure Network Adapter VF, driver `mana`.
    Mana,
    /// Test stand-in: virtio-net (QEMU), driver `virtio_net`.
    VirtioNet,
    /// Test stand-in: Intel 82574L and relatives (QEMU's e1000e), driver
    /// `e1000e`.
    E1000e,
}

/// Every family, production ones first.
pub const ALL: [Family; 5] = [
    Family::Mlx4,
    Family::Mlx5,
    Family::Mana,
    Family::VirtioNet,
    Family::E1000e,
];

/// The families an Azure host hands out, as a human list for the "VF
/// missing" warning (drivers that would bind the announced VF).
pub const EXPECTED_DRIVERS: &str = "mlx4_core, mlx5_core or mana";

/// Notes on mlx4 (used by documentation and `modinfo`-style output).
pub const NOTES_MLX4: &str = "ConnectX-3 VF (15b3:1004) on older Azure hosts; \
PCI driver mlx4_core, netdev by mlx4_en (ethtool reports mlx4_en); \
MAC set by the PF, equal to the synthetic NIC's.";

/// Notes on mlx5.
pub const NOTES_MLX5: &str = "ConnectX-4/4 Lx/5/6 and later VFs \
(15b3:1014, 1016, 1018, 101a, 101c, 101e); driver mlx5_core; \
reports phys_port_name p0, so udev names it enP<domain>s<slot>np0; \
LRO is disabled on legacy RQ.";

/// Notes on MANA.
pub const NOTES_MANA: &str = "Microsoft Azure Network Adapter VF (1414:00ba) \
on newer hosts; driver mana (gdma); VF link state and port \
configuration come from the host (PF) through the hardware channel.";

/// Notes on the virtio-net stand-in.
pub const NOTES_VIRTIO_NET: &str = "Test stand-in only (1af4:1000 transitional, \
1af4:1041 modern); netdev parent is the virtio device, whose parent is \
the PCI function; hot-plugged on a pcie-root-port whose slot number plays \
the serial.";

/// Notes on the e1000e stand-in.
pub const NOTES_E1000E: &str = "Test stand-in only (8086:10d3 is the 82574L \
QEMU emulates); plain PCI netdev; hot-plugged on a pcie-root-port whose \
slot number plays the serial.";

impl Family {
    /// Short family name ("mlx4", "mlx5", "mana", "virtio-net", "e1000e").
    pub const fn name(self) -> &'static str {
        match self {
            Family::Mlx4 => "mlx4",
            Family::Mlx5 => "mlx5",
            Family::Mana => "mana",
            Family::VirtioNet => "virtio-net",
            Family::E1000e => "e1000e",
        }
    }

    /// The PCI driver that binds the function (`pdev->driver->name`).
    pub const fn pci_driver(self) -> &'static str {
        match self {
            Family::Mlx4 => "mlx4_core",
            Family::Mlx5 => "mlx5_core",
            Family::Mana => "mana",
            Family::VirtioNet => "virtio-pci",
            Family::E1000e => "e1000e",
        }
    }

    /// The driver name `ethtool -i` shows for the VF's netdev.
    pub const fn netdev_driver(self) -> &'static str {
        match self {
            Family::Mlx4 => "mlx4_en",
            Family::Mlx5 => "mlx5_core",
            Family::Mana => "mana",
            Family::VirtioNet => "virtio_net",
            Family::E1000e => "e1000e",
        }
    }

    /// Whether this family only stands in for a real VF in tests.
    pub const fn is_stand_in(self) -> bool {
        matches!(self, Family::VirtioNet | Family::E1000e)
    }

    /// What is specific to the family (one of the `NOTES_*` constants).
    pub const fn notes(self) -> &'static str {
        match self {
            Family::Mlx4 => NOTES_MLX4,
            Family::Mlx5 => NOTES_MLX5,
            Family::Mana => NOTES_MANA,
            Family::VirtioNet => NOTES_VIRTIO_NET,
            Family::E1000e => NOTES_E1000E,
        }
    }
}

/// Finds the family by a driver name: either the PCI driver or the
/// netdev driver of [`Family`] (`mlx4_core` and `mlx4_en` both give
/// [`Family::Mlx4`]). Exact, case-sensitive match; unknown names give
/// `None`.
pub fn by_driver(name: &[u8]) -> Option<Family> {
    ALL.into_iter()
        .find(|f| name == f.pci_driver().as_bytes() || name == f.netdev_driver().as_bytes())
}
