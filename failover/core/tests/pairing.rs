// SPDX-License-Identifier: GPL-2.0
//! The slot-name parser, candidate classification and the pairing table.

use failover_core::candidate::{classify, NetdevFacts, NotCandidate, Parent, ARPHRD_ETHER};
use failover_core::pairing::{pair, NoPair, PairedBy, Pairing, SynthNic, VfCandidate};
use failover_core::slot::{parse_slot_name, SlotError};

const MAC_A: [u8; 6] = [0x00, 0x0d, 0x3a, 0xf5, 0x76, 0xbd];
const MAC_B: [u8; 6] = [0x00, 0x0d, 0x3a, 0x11, 0x22, 0x33];
const MAC_X: [u8; 6] = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];

#[test]
fn slot_names() {
    let table: &[(&str, Result<u32, SlotError>)] = &[
        ("0", Ok(0)),
        ("1", Ok(1)),
        ("7", Ok(7)),
        ("53091", Ok(53091)),
        ("4294967295", Ok(u32::MAX)),
        ("4294967296", Err(SlotError::Overflow)),
        ("99999999999", Err(SlotError::Overflow)),
        ("00000000001", Err(SlotError::LeadingZero)),
        ("01", Err(SlotError::LeadingZero)),
        ("00", Err(SlotError::LeadingZero)),
        ("", Err(SlotError::Empty)),
        ("+1", Err(SlotError::Sign)),
        ("-1", Err(SlotError::Sign)),
        ("abc", Err(SlotError::NotDecimal)),
        ("1-1", Err(SlotError::NotDecimal)), // PCI core's duplicate-name suffix
        ("1\n", Err(SlotError::NotDecimal)),
        (" 1", Err(SlotError::NotDecimal)),
        ("0x1", Err(SlotError::NotDecimal)),
        ("00:02", Err(SlotError::NotDecimal)), // cpci "%02x:%02x"
        ("0000001f", Err(SlotError::NotDecimal)), // s390 "%08x"
        ("00000010", Err(SlotError::LeadingZero)),
        ("１", Err(SlotError::NotDecimal)),
    ];
    for (name, want) in table {
        assert_eq!(
            parse_slot_name(name.as_bytes()),
            *want,
            "slot name {name:?}"
        );
    }
    assert!(!SlotError::Overflow.as_str().is_empty());
}

fn eth_facts(driver: &'static [u8]) -> NetdevFacts<'static> {
    NetdevFacts {
        dev_type: ARPHRD_ETHER,
        addr_len: 6,
        parent: Parent::Pci,
        is_ours: false,
        is_vlan: false,
        is_bond_or_team_master: false,
        has_master: false,
        iff_slave: false,
        slave_flag_is_ours: false,
        driver,
    }
}

#[test]
fn classification() {
    assert_eq!(classify(&eth_facts(b"mlx5_core")), Ok(()));
    assert_eq!(classify(&eth_facts(b"mana")), Ok(()));
    assert_eq!(classify(&eth_facts(b"")), Ok(()));
    let virtio = NetdevFacts {
        parent: Parent::VirtioOverPci,
        ..eth_facts(b"virtio_net")
    };
    assert_eq!(classify(&virtio), Ok(()));
    let ours_slave = NetdevFacts {
        iff_slave: true,
        slave_flag_is_ours: true,
        ..eth_facts(b"mlx4_core")
    };
    assert_eq!(classify(&ours_slave), Ok(()));

    let cases: &[(NetdevFacts<'static>, NotCandidate)] = &[
        (
            NetdevFacts {
                is_ours: true,
                ..eth_facts(b"hv_netvsc")
            },
            NotCandidate::Ours,
        ),
        (
            NetdevFacts {
                dev_type: 32,
                ..eth_facts(b"mlx5_core")
            },
            NotCandidate::NotEthernet,
        ),
        (
            NetdevFacts {
                addr_len: 20,
                ..eth_facts(b"mlx5_core")
            },
            NotCandidate::BadAddrLen,
        ),
        (
            NetdevFacts {
                is_vlan: true,
                parent: Parent::None,
                ..eth_facts(b"")
            },
            NotCandidate::Vlan,
        ),
        (
            NetdevFacts {
                is_bond_or_team_master: true,
                parent: Parent::None,
                ..eth_facts(b"bonding")
            },
            NotCandidate::BondOrTeamMaster,
        ),
        (
            NetdevFacts {
                has_master: true,
                ..eth_facts(b"mlx5_core")
            },
            NotCandidate::HasMaster,
        ),
        (
            NetdevFacts {
                iff_slave: true,
                ..eth_facts(b"mlx5_core")
            },
            NotCandidate::ForeignSlave,
        ),
        (
            NetdevFacts {
                parent: Parent::None,
                ..eth_facts(b"veth")
            },
            NotCandidate::NoParent,
        ),
        (
            NetdevFacts {
                parent: Parent::Other,
                ..eth_facts(b"r8152")
            },
            NotCandidate::NotPci,
        ),
        (
            NetdevFacts {
                ..eth_facts(b"macvlan")
            },
            NotCandidate::StackingDriver,
        ),
    ];
    for (facts, want) in cases {
        assert_eq!(classify(facts), Err(*want), "{facts:?}");
        assert!(!want.as_str().is_empty());
    }
}

fn nic(mac: [u8; 6], serial: Option<u32>, has_vf: bool) -> SynthNic {
    SynthNic {
        mac,
        serial,
        has_vf,
    }
}

fn cand(mac: [u8; 6], slot: Option<&'static str>) -> VfCandidate<'static> {
    VfCandidate {
        perm_mac: mac,
        dev_mac: mac,
        slot_name: slot.map(str::as_bytes),
    }
}

#[test]
fn right_slot_and_mac_pairs() {
    let nics = [nic(MAC_A, Some(1), false)];
    assert_eq!(
        pair(nics, &cand(MAC_A, Some("1"))),
        Pairing::Paired {
            nic: 0,
            by: PairedBy::SerialAndMac
        }
    );
}

#[test]
fn wrong_slot_same_mac_is_refused_with_reason() {
    let nics = [nic(MAC_A, Some(1), false)];
    assert_eq!(
        pair(nics, &cand(MAC_A, Some("7"))),
        Pairing::NotPaired(NoPair::SerialMismatch {
            nic: 0,
            serial: 1,
            slot: Some(Ok(7))
        })
    );
    for (name, err) in [
        ("01", SlotError::LeadingZero),
        ("", SlotError::Empty),
        ("abc", SlotError::NotDecimal),
        ("4294967296", SlotError::Overflow),
        ("+1", SlotError::Sign),
    ] {
        assert_eq!(
            pair(nics, &cand(MAC_A, Some(name))),
            Pairing::NotPaired(NoPair::SerialMismatch {
                nic: 0,
                serial: 1,
                slot: Some(Err(err))
            }),
            "slot {name:?}"
        );
    }
    assert_eq!(
        pair(nics, &cand(MAC_A, None)),
        Pairing::NotPaired(NoPair::SerialMismatch {
            nic: 0,
            serial: 1,
            slot: None
        })
    );
}

#[test]
fn right_slot_wrong_mac_is_not_paired() {
    let nics = [nic(MAC_A, Some(1), false)];
    assert_eq!(
        pair(nics, &cand(MAC_X, Some("1"))),
        Pairing::NotPaired(NoPair::NoMacMatch)
    );
}

#[test]
fn mac_only_when_no_serial() {
    let nics = [nic(MAC_A, None, false)];
    for slot in [Some("1"), Some("abc"), Some(""), None] {
        assert_eq!(
            pair(nics, &cand(MAC_A, slot)),
            Pairing::Paired {
                nic: 0,
                by: PairedBy::MacOnly
            },
            "slot {slot:?}"
        );
    }
    assert_eq!(
        pair(nics, &cand(MAC_X, Some("1"))),
        Pairing::NotPaired(NoPair::NoMacMatch)
    );
}

#[test]
fn dev_addr_matches_before_perm_addr_is_set() {
    let nics = [nic(MAC_A, Some(3), false)];
    let c = VfCandidate {
        perm_mac: [0; 6],
        dev_mac: MAC_A,
        slot_name: Some(b"3"),
    };
    assert_eq!(
        pair(nics, &c),
        Pairing::Paired {
            nic: 0,
            by: PairedBy::SerialAndMac
        }
    );
}

#[test]
fn already_has_vf() {
    let nics = [nic(MAC_A, Some(1), true)];
    assert_eq!(
        pair(nics, &cand(MAC_A, Some("1"))),
        Pairing::NotPaired(NoPair::AlreadyHasVf { nic: 0 })
    );
    let nics = [nic(MAC_A, None, true)];
    assert_eq!(
        pair(nics, &cand(MAC_A, Some("1"))),
        Pairing::NotPaired(NoPair::AlreadyHasVf { nic: 0 })
    );
}

#[test]
fn several_vnics_pair_independently() {
    let nics = [
        nic(MAC_A, Some(1), false),
        nic(MAC_B, Some(2), false),
        nic(MAC_X, None, false),
    ];
    assert_eq!(
        pair(nics, &cand(MAC_A, Some("1"))),
        Pairing::Paired {
            nic: 0,
            by: PairedBy::SerialAndMac
        }
    );
    assert_eq!(
        pair(nics, &cand(MAC_B, Some("2"))),
        Pairing::Paired {
            nic: 1,
            by: PairedBy::SerialAndMac
        }
    );
    assert_eq!(
        pair(nics, &cand(MAC_X, Some("9"))),
        Pairing::Paired {
            nic: 2,
            by: PairedBy::MacOnly
        }
    );
    // B's VF with A's slot: MAC says B, serial says A -> refused for B.
    assert_eq!(
        pair(nics, &cand(MAC_B, Some("1"))),
        Pairing::NotPaired(NoPair::SerialMismatch {
            nic: 1,
            serial: 2,
            slot: Some(Ok(1))
        })
    );
    // After A got its VF, B still pairs.
    let nics = [nic(MAC_A, Some(1), true), nic(MAC_B, Some(2), false)];
    assert_eq!(
        pair(nics, &cand(MAC_B, Some("2"))),
        Pairing::Paired {
            nic: 1,
            by: PairedBy::SerialAndMac
        }
    );
    assert_eq!(
        pair([], &cand(MAC_B, Some("2"))),
        Pairing::NotPaired(NoPair::NoMacMatch)
    );
}

#[test]
fn serial_match_wins_over_mac_only_and_order() {
    // Two NICs with the same MAC (not possible on Azure, but decided):
    let nics = [nic(MAC_A, None, false), nic(MAC_A, Some(5), false)];
    assert_eq!(
        pair(nics, &cand(MAC_A, Some("5"))),
        Pairing::Paired {
            nic: 1,
            by: PairedBy::SerialAndMac
        }
    );
    assert_eq!(
        pair(nics, &cand(MAC_A, Some("6"))),
        Pairing::Paired {
            nic: 0,
            by: PairedBy::MacOnly
        }
    );
}

#[test]
fn reasons_have_text() {
    assert!(!NoPair::NoMacMatch.as_str().is_empty());
    assert!(!NoPair::AlreadyHasVf { nic: 0 }.as_str().is_empty());
}
