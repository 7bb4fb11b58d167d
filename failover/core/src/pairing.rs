// SPDX-License-Identifier: GPL-2.0
//! Which synthetic NIC does a VF candidate belong to?
//!
//! The host announces, per vNIC, the serial number of its VF (NVSP
//! "send VF association", `allocated = 1`), and `hv_pci` names the VF's
//! PCI slot after that serial. The rule:
//!
//! - A candidate pairs with a synthetic NIC when its slot name, read as a
//!   decimal number ([`super::slot::parse_slot_name`]), equals the serial
//!   the host announced for that NIC **and** the MAC addresses match.
//! - When the host announced no serial for a NIC (no association received
//!   yet), the MAC alone pairs it.
//! - A candidate whose MAC matches a NIC with an announced serial but
//!   whose slot does not is **not** paired; the decision says why, so the
//!   glue can log it once. (The C driver falls back to MAC-only pairing
//!   here; we do not, because the host said which VF belongs to the NIC.)
//! - A NIC that already has a VF pairs with no other.
//!
//! With several synthetic NICs each pairs independently: the first NIC
//! (in the order given) whose serial and MAC both match wins; otherwise the
//! first NIC without a serial whose MAC matches.

use super::slot::{parse_slot_name, SlotError};

/// A 6-byte Ethernet MAC address.
pub type Mac = [u8; 6];

/// At most this many synthetic NICs are looked at (far above the 8 vNICs
/// Azure allows); bounds the scan when the glue passes an iterator.
pub const MAX_SYNTHETIC_NICS: usize = 256;

/// What pairing needs to know about one synthetic NIC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SynthNic {
    /// Its permanent MAC address.
    pub mac: Mac,
    /// The VF serial the host announced (`allocated = 1`), if any.
    pub serial: Option<u32>,
    /// It already has a VF joined (or joining).
    pub has_vf: bool,
}

/// What pairing needs to know about the candidate VF.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VfCandidate<'a> {
    /// Its permanent MAC address (`perm_addr`).
    pub perm_mac: Mac,
    /// Its current MAC address (`dev_addr`). At `NETDEV_POST_INIT` the
    /// permanent address may not have been copied yet, so either matches.
    pub dev_mac: Mac,
    /// Its PCI slot name (`pci_slot_name(pdev->slot)`), or `None` when the
    /// PCI function has no slot.
    pub slot_name: Option<&'a [u8]>,
}

impl VfCandidate<'_> {
    fn mac_matches(&self, mac: &Mac) -> bool {
        self.perm_mac == *mac || self.dev_mac == *mac
    }
}

/// How a pairing was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PairedBy {
    /// The slot equals the announced serial and the MAC matches.
    SerialAndMac,
    /// The NIC has no announced serial; the MAC matches.
    MacOnly,
}

/// Why a candidate was not paired.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NoPair {
    /// The MAC matches NIC `nic`, which has serial `serial`, but the
    /// candidate's slot is `slot` (`Ok(n)`: another number; `Err(e)`: the
    /// slot name is not a serial; `None`: no slot). Worth one log line.
    SerialMismatch {
        /// Index of the NIC whose MAC matched.
        nic: usize,
        /// The serial the host announced for it.
        serial: u32,
        /// What the candidate's slot reads as.
        slot: Option<Result<u32, SlotError>>,
    },
    /// The only NIC that would pair already has a VF.
    AlreadyHasVf {
        /// Index of that NIC.
        nic: usize,
    },
    /// No NIC has the candidate's MAC: it is some other device.
    NoMacMatch,
}

impl NoPair {
    /// A short, stable description.
    pub const fn as_str(&self) -> &'static str {
        match self {
            NoPair::SerialMismatch { .. } => "MAC matches but slot is not the announced serial",
            NoPair::AlreadyHasVf { .. } => "synthetic NIC already has a VF",
            NoPair::NoMacMatch => "no synthetic NIC with this MAC",
        }
    }
}

/// The pairing decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Pairing {
    /// Pair with the NIC at index `nic` (in the order given).
    Paired {
        /// Index of the NIC.
        nic: usize,
        /// How.
        by: PairedBy,
    },
    /// Do not pair; why.
    NotPaired(NoPair),
}

/// Decides which synthetic NIC, if any, `cand` pairs with. `nics` is
/// scanned once, at most [`MAX_SYNTHETIC_NICS`] entries.
pub fn pair<I>(nics: I, cand: &VfCandidate<'_>) -> Pairing
where
    I: IntoIterator<Item = SynthNic>,
{
    let slot = cand.slot_name.map(parse_slot_name);
    let mut mac_only: Option<usize> = None;
    let mut mismatch: Option<NoPair> = None;
    let mut busy: Option<usize> = None;

    for (i, nic) in nics.into_iter().take(MAX_SYNTHETIC_NICS).enumerate() {
        if !cand.mac_matches(&nic.mac) {
            continue;
        }
        match nic.serial {
            Some(serial) if slot == Some(Ok(serial)) => {
                if nic.has_vf {
                    busy.get_or_insert(i);
                } else {
                    return Pairing::Paired {
                        nic: i,
                        by: PairedBy::SerialAndMac,
                    };
                }
            }
            Some(serial) => {
                mismatch.get_or_insert(NoPair::SerialMismatch {
                    nic: i,
                    serial,
                    slot,
                });
            }
            None => {
                if nic.has_vf {
                    busy.get_or_insert(i);
                } else {
                    mac_only.get_or_insert(i);
                }
            }
        }
    }

    if let Some(nic) = mac_only {
        return Pairing::Paired {
            nic,
            by: PairedBy::MacOnly,
        };
    }
    if let Some(m) = mismatch {
        return Pairing::NotPaired(m);
    }
    if let Some(nic) = busy {
        return Pairing::NotPaired(NoPair::AlreadyHasVf { nic });
    }
    Pairing::NotPaired(NoPair::NoMacMatch)
}
