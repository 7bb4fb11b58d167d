// SPDX-License-Identifier: GPL-2.0
//! PCI IDs of the VFs of each family.

use super::family::Family;

/// `PCI_VENDOR_ID_MELLANOX`.
pub const VENDOR_MELLANOX: u16 = 0x15b3;
/// `PCI_VENDOR_ID_MICROSOFT`.
pub const VENDOR_MICROSOFT: u16 = 0x1414;
/// `PCI_VENDOR_ID_REDHAT_QUMRANET` (virtio).
pub const VENDOR_VIRTIO: u16 = 0x1af4;
/// `PCI_VENDOR_ID_INTEL`.
pub const VENDOR_INTEL: u16 = 0x8086;

/// One known VF device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct VfDevice {
    /// PCI vendor ID.
    pub vendor: u16,
    /// PCI device ID.
    pub device: u16,
    /// Its family.
    pub family: Family,
    /// Model, as in the driver's ID table comment or `lspci`.
    pub model: &'static str,
}

const fn dev(vendor: u16, device: u16, family: Family, model: &'static str) -> VfDevice {
    VfDevice {
        vendor,
        device,
        family,
        model,
    }
}

/// Every known VF device. Production entries are the VF lines
/// (`MLX4_PCI_DEV_IS_VF`, `MLX5_PCI_DEV_IS_VF`, `MANA_VF_DEVICE_ID`) of
/// the Linux 7.3 ID tables that Azure uses; stand-ins follow.
pub const DEVICES: &[VfDevice] = &[
    dev(
        VENDOR_MELLANOX,
        0x1004,
        Family::Mlx4,
        "ConnectX-3 Virtual Function",
    ),
    dev(
        VENDOR_MELLANOX,
        0x1014,
        Family::Mlx5,
        "ConnectX-4 Virtual Function",
    ),
    dev(
        VENDOR_MELLANOX,
        0x1016,
        Family::Mlx5,
        "ConnectX-4 Lx Virtual Function",
    ),
    dev(
        VENDOR_MELLANOX,
        0x1018,
        Family::Mlx5,
        "ConnectX-5 Virtual Function",
    ),
    dev(
        VENDOR_MELLANOX,
        0x101a,
        Family::Mlx5,
        "ConnectX-5 Ex Virtual Function",
    ),
    dev(
        VENDOR_MELLANOX,
        0x101c,
        Family::Mlx5,
        "ConnectX-6 Virtual Function",
    ),
    dev(
        VENDOR_MELLANOX,
        0x101e,
        Family::Mlx5,
        "ConnectX Family mlx5Gen Virtual Function",
    ),
    dev(
        VENDOR_MICROSOFT,
        0x00ba,
        Family::Mana,
        "MANA Virtual Function",
    ),
    dev(
        VENDOR_VIRTIO,
        0x1000,
        Family::VirtioNet,
        "virtio-net (transitional)",
    ),
    dev(
        VENDOR_VIRTIO,
        0x1041,
        Family::VirtioNet,
        "virtio-net (modern)",
    ),
    dev(VENDOR_INTEL, 0x10d3, Family::E1000e, "82574L (QEMU e1000e)"),
    dev(VENDOR_INTEL, 0x10f6, Family::E1000e, "82574LA"),
    dev(VENDOR_INTEL, 0x150c, Family::E1000e, "82583V"),
];

/// The known device with this vendor and device ID.
pub fn device(vendor: u16, device: u16) -> Option<&'static VfDevice> {
    DEVICES
        .iter()
        .find(|d| d.vendor == vendor && d.device == device)
}

/// The family of the device with this vendor and device ID.
pub fn family(vendor: u16, device_id: u16) -> Option<Family> {
    device(vendor, device_id).map(|d| d.family)
}

/// Whether a device is a production Azure VF (not a stand-in).
pub fn is_azure_vf(vendor: u16, device_id: u16) -> bool {
    family(vendor, device_id).is_some_and(|f| !f.is_stand_in())
}
