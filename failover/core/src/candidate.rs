// SPDX-License-Identifier: GPL-2.0
//! Is a newly seen netdev a VF candidate at all?
//!
//! The netdev notifier sees every interface of the system. Only plain
//! Ethernet functions of a PCI device (the VF driver's own netdev) may be
//! paired with a synthetic NIC; stacked devices that copy the VF's MAC
//! (VLANs, bonds, teams, bridges, macvlans) and our own synthetic NICs
//! must never be. This mirrors `check_dev_is_matching_vf()` and the
//! parent checks of `get_netvsc_byslot()` in the C driver, made explicit.

/// `ARPHRD_ETHER`: the `type` of an Ethernet netdev.
pub const ARPHRD_ETHER: u16 = 1;
/// `ETH_ALEN`: the length of an Ethernet MAC address.
pub const ETH_ALEN: u8 = 6;

/// What the netdev's parent device (`dev.parent`) is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Parent {
    /// No parent: a purely virtual device (bond, VLAN, veth, ...).
    None,
    /// A PCI function (`dev_is_pci(parent)`): mlx4, mlx5, MANA, e1000e.
    Pci,
    /// A virtio device whose own parent is a PCI function: virtio-net
    /// (the test stand-in) sets its netdev's parent to the virtio device,
    /// so the glue reports this when the grandparent is PCI. The slot is
    /// then the PCI function's slot.
    VirtioOverPci,
    /// Any other bus (platform, USB, VMBus, ...).
    Other,
}

/// Facts about a netdev, gathered by the glue under RTNL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NetdevFacts<'a> {
    /// `dev->type`; only [`ARPHRD_ETHER`] qualifies.
    pub dev_type: u16,
    /// `dev->addr_len`; only [`ETH_ALEN`] qualifies.
    pub addr_len: u8,
    /// The parent device.
    pub parent: Parent,
    /// The netdev is one of our synthetic NICs (`netdev_ops == &ours`).
    pub is_ours: bool,
    /// `is_vlan_dev()`.
    pub is_vlan: bool,
    /// `netif_is_bond_master() || netif_is_team_master()`.
    pub is_bond_or_team_master: bool,
    /// The netdev already has a master upper device (it is a bond/team/
    /// bridge port, or already enslaved to a synthetic NIC).
    pub has_master: bool,
    /// `IFF_SLAVE` is set in `dev->flags`.
    pub iff_slave: bool,
    /// We set `IFF_SLAVE` ourselves at `NETDEV_POST_INIT` to keep IPv6
    /// addrconf off the VF before it registers (as the C driver does), so
    /// the flag alone is not a reason to refuse it.
    pub slave_flag_is_ours: bool,
    /// The driver name: the parent's PCI driver (`mlx5_core`), or the
    /// netdev's own for virtio (`virtio_net`). Empty when unknown.
    pub driver: &'a [u8],
}

/// Why a netdev is not a VF candidate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NotCandidate {
    /// It is one of our own synthetic NICs.
    Ours,
    /// `type` is not `ARPHRD_ETHER`.
    NotEthernet,
    /// The hardware address is not 6 bytes long.
    BadAddrLen,
    /// It is a VLAN device on top of some other netdev.
    Vlan,
    /// It is a bond or team master.
    BondOrTeamMaster,
    /// It already has a master (is a port of something else).
    HasMaster,
    /// `IFF_SLAVE` is set and we did not set it.
    ForeignSlave,
    /// It has no parent device (purely virtual).
    NoParent,
    /// Its parent is not a PCI function (nor virtio over PCI).
    NotPci,
    /// Its driver is a stacking or virtual driver that never drives a VF.
    StackingDriver,
}

impl NotCandidate {
    /// A short, stable description.
    pub const fn as_str(&self) -> &'static str {
        match self {
            NotCandidate::Ours => "is a synthetic NIC",
            NotCandidate::NotEthernet => "not Ethernet",
            NotCandidate::BadAddrLen => "address length is not 6",
            NotCandidate::Vlan => "is a VLAN device",
            NotCandidate::BondOrTeamMaster => "is a bond or team master",
            NotCandidate::HasMaster => "already has a master",
            NotCandidate::ForeignSlave => "IFF_SLAVE set by someone else",
            NotCandidate::NoParent => "no parent device",
            NotCandidate::NotPci => "parent is not PCI",
            NotCandidate::StackingDriver => "stacking or virtual driver",
        }
    }
}

/// Drivers that stack on other netdevs or are purely virtual, and so can
/// never be a VF even if the parent facts looked plausible.
pub const STACKING_DRIVERS: &[&[u8]] = &[
    b"hv_netvsc",
    b"bonding",
    b"team",
    b"bridge",
    b"8021q",
    b"macvlan",
    b"ipvlan",
    b"veth",
    b"tun",
    b"dummy",
    b"vxlan",
    b"openvswitch",
    b"net_failover",
    b"failover",
];

/// Decides whether `f` describes a VF candidate. `Ok(())` means "try to
/// pair it" (see [`super::pairing`]); the checks run in the order of the
/// variants of [`NotCandidate`], and the first failing one is returned.
pub fn classify(f: &NetdevFacts<'_>) -> Result<(), NotCandidate> {
    if f.is_ours {
        return Err(NotCandidate::Ours);
    }
    if f.dev_type != ARPHRD_ETHER {
        return Err(NotCandidate::NotEthernet);
    }
    if f.addr_len != ETH_ALEN {
        return Err(NotCandidate::BadAddrLen);
    }
    if f.is_vlan {
        return Err(NotCandidate::Vlan);
    }
    if f.is_bond_or_team_master {
        return Err(NotCandidate::BondOrTeamMaster);
    }
    if f.has_master {
        return Err(NotCandidate::HasMaster);
    }
    if f.iff_slave && !f.slave_flag_is_ours {
        return Err(NotCandidate::ForeignSlave);
    }
    match f.parent {
        Parent::None => return Err(NotCandidate::NoParent),
        Parent::Other => return Err(NotCandidate::NotPci),
        Parent::Pci | Parent::VirtioOverPci => {}
    }
    if STACKING_DRIVERS.contains(&f.driver) {
        return Err(NotCandidate::StackingDriver);
    }
    Ok(())
}
