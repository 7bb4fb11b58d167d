// SPDX-License-Identifier: GPL-2.0
//! The VF family table against the Linux 7.3 drivers' ID tables.

use mlx_vf_core::family::{self, by_driver, Family, EXPECTED_DRIVERS};
use mlx_vf_core::ids::{self, device, family as fam, is_azure_vf, DEVICES};
use proptest::prelude::*;

#[test]
fn azure_vfs() {
    assert_eq!(fam(0x15b3, 0x1004), Some(Family::Mlx4));
    for d in [0x1014, 0x1016, 0x1018, 0x101a, 0x101c, 0x101e] {
        assert_eq!(fam(0x15b3, d), Some(Family::Mlx5), "15b3:{d:04x}");
        assert!(is_azure_vf(0x15b3, d));
    }
    assert_eq!(fam(0x1414, 0x00ba), Some(Family::Mana));
    assert!(is_azure_vf(0x1414, 0x00ba));
    // The seed document's lspci line: ConnectX-4 Lx VF.
    assert_eq!(
        device(0x15b3, 0x1016).unwrap().model,
        "ConnectX-4 Lx Virtual Function"
    );
}

#[test]
fn physical_functions_are_not_vfs() {
    // PFs of the same families (mlx4 ConnectX-3 1003, mlx5 ConnectX-4 Lx
    // 1015, MANA PF 00b9 / 00c1) and the Connect-IB VF (InfiniBand).
    for (v, d) in [
        (0x15b3, 0x1003),
        (0x15b3, 0x1015),
        (0x1414, 0x00b9),
        (0x1414, 0x00c1),
        (0x15b3, 0x1012),
    ] {
        assert_eq!(fam(v, d), None, "{v:04x}:{d:04x}");
    }
}

#[test]
fn stand_ins() {
    for (v, d, f) in [
        (0x1af4, 0x1000, Family::VirtioNet),
        (0x1af4, 0x1041, Family::VirtioNet),
        (0x8086, 0x10d3, Family::E1000e),
    ] {
        assert_eq!(fam(v, d), Some(f));
        assert!(f.is_stand_in());
        assert!(!is_azure_vf(v, d));
    }
}

#[test]
fn drivers() {
    assert_eq!(by_driver(b"mlx4_core"), Some(Family::Mlx4));
    assert_eq!(by_driver(b"mlx4_en"), Some(Family::Mlx4));
    assert_eq!(by_driver(b"mlx5_core"), Some(Family::Mlx5));
    assert_eq!(by_driver(b"mana"), Some(Family::Mana));
    assert_eq!(by_driver(b"virtio_net"), Some(Family::VirtioNet));
    assert_eq!(by_driver(b"virtio-pci"), Some(Family::VirtioNet));
    assert_eq!(by_driver(b"e1000e"), Some(Family::E1000e));
    for n in [
        &b""[..],
        b"hv_netvsc",
        b"mlx5",
        b"MLX5_CORE",
        b"e1000",
        b"mlx5_core\0",
    ] {
        assert_eq!(by_driver(n), None, "{n:?}");
    }
}

#[test]
fn expected_list_names_every_production_driver() {
    let prod: Vec<&str> = family::ALL
        .iter()
        .filter(|f| !f.is_stand_in())
        .map(|f| f.pci_driver())
        .collect();
    assert_eq!(prod, ["mlx4_core", "mlx5_core", "mana"]);
    assert_eq!(EXPECTED_DRIVERS, "mlx4_core, mlx5_core or mana");
}

#[test]
fn table_is_consistent() {
    for (i, d) in DEVICES.iter().enumerate() {
        assert!(!DEVICES[..i]
            .iter()
            .any(|e| e.vendor == d.vendor && e.device == d.device));
        let vendor_ok = match d.family {
            Family::Mlx4 | Family::Mlx5 => d.vendor == ids::VENDOR_MELLANOX,
            Family::Mana => d.vendor == ids::VENDOR_MICROSOFT,
            Family::VirtioNet => d.vendor == ids::VENDOR_VIRTIO,
            Family::E1000e => d.vendor == ids::VENDOR_INTEL,
        };
        assert!(vendor_ok, "{d:?}");
        assert!(!d.model.is_empty());
    }
    for f in family::ALL {
        assert!(DEVICES.iter().any(|d| d.family == f), "{f:?} has no device");
        assert!(!f.notes().is_empty() && !f.name().is_empty() && !f.netdev_driver().is_empty());
        assert_eq!(by_driver(f.pci_driver().as_bytes()), Some(f));
        assert_eq!(by_driver(f.netdev_driver().as_bytes()), Some(f));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn lookup_agrees_with_table(v in prop_oneof![Just(0x15b3u16), Just(0x1414), Just(0x1af4), Just(0x8086), any::<u16>()],
                                d in any::<u16>()) {
        let want = DEVICES.iter().find(|x| x.vendor == v && x.device == d).map(|x| x.family);
        prop_assert_eq!(fam(v, d), want);
    }

    #[test]
    fn by_driver_never_panics(name in proptest::collection::vec(any::<u8>(), 0..20)) {
        let _ = by_driver(&name);
    }
}
