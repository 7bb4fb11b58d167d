// SPDX-License-Identifier: GPL-2.0
//! Reading a PCI slot name as the serial number the host announced.
//!
//! `hv_pci` names the slot of each VF it exposes after the serial number
//! the host gave that device (`snprintf(name, SLOT_NAME_SIZE, "%u", ser)`),
//! and native PCIe hot-plug (`pciehp`, used by the QEMU test stand-ins)
//! names a slot after its physical slot number, also with `"%u"`. Both
//! therefore produce canonical unsigned decimal: digits only, no sign, no
//! leading zero (except `"0"` itself), at most 10 digits, value within
//! `u32`.
//!
//! This parser accepts exactly that form. It is stricter than the C
//! driver's `kstrtou32(name, 10, ..)`, which also takes a leading `+`,
//! leading zeros and a trailing newline: none of those can come from the
//! two producers above, while other hot-plug drivers do use zero-padded
//! hexadecimal names (`s390_pci_hpc`: `"%08x"`, `cpci`: `"%02x:%02x"`)
//! that must not be misread as a decimal serial. Duplicate slot names get
//! a `-N` suffix from the PCI core (`"1-1"`); they are rejected too.

/// Why a slot name is not a serial number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SlotError {
    /// The name is empty.
    Empty,
    /// The name starts with `+` (or `-`).
    Sign,
    /// The name has a leading zero and is not `"0"` (`"01"`, `"0001"`).
    LeadingZero,
    /// The name contains a byte that is not an ASCII decimal digit.
    NotDecimal,
    /// The value does not fit in 32 bits.
    Overflow,
}

impl SlotError {
    /// A short, stable description.
    pub const fn as_str(&self) -> &'static str {
        match self {
            SlotError::Empty => "empty slot name",
            SlotError::Sign => "slot name has a sign",
            SlotError::LeadingZero => "slot name has a leading zero",
            SlotError::NotDecimal => "slot name is not decimal",
            SlotError::Overflow => "slot number exceeds 32 bits",
        }
    }
}

/// Longest canonical `u32` in decimal (`"4294967295"`).
const MAX_DIGITS: usize = 10;

/// Parses a PCI slot name (the kobject name, without NUL) as a `u32`
/// serial in canonical decimal. See the module documentation.
pub fn parse_slot_name(name: &[u8]) -> Result<u32, SlotError> {
    let first = match name.first() {
        None => return Err(SlotError::Empty),
        Some(&b) => b,
    };
    if first == b'+' || first == b'-' {
        return Err(SlotError::Sign);
    }
    if !name.iter().all(u8::is_ascii_digit) {
        return Err(SlotError::NotDecimal);
    }
    if first == b'0' && name.len() > 1 {
        return Err(SlotError::LeadingZero);
    }
    if name.len() > MAX_DIGITS {
        return Err(SlotError::Overflow);
    }
    let mut v: u32 = 0;
    for &b in name {
        v = v
            .checked_mul(10)
            .and_then(|v| v.checked_add(u32::from(b.wrapping_sub(b'0'))))
            .ok_or(SlotError::Overflow)?;
    }
    Ok(v)
}
