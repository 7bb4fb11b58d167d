// SPDX-License-Identifier: GPL-2.0
//! A network interface name kept by value (`IFNAMSIZ` bytes), so that log
//! lines can name a VF after it has been released or renamed.

use core::fmt;

/// `IFNAMSIZ` of the kernel: names are at most 15 bytes plus a NUL.
pub const IFNAMSIZ: usize = 16;

/// An interface name of at most `IFNAMSIZ - 1` bytes, stored inline.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct IfName {
    bytes: [u8; IFNAMSIZ],
    len: u8,
}

impl IfName {
    /// The empty name (used before a VF is known).
    pub const EMPTY: IfName = IfName {
        bytes: [0; IFNAMSIZ],
        len: 0,
    };

    /// Copies a name from raw bytes, stopping at the first NUL and after
    /// `IFNAMSIZ - 1` bytes (longer input is truncated, as the kernel does).
    pub fn from_bytes(name: &[u8]) -> IfName {
        let mut out = IfName::EMPTY;
        let mut n = 0usize;
        for &b in name.iter().take(IFNAMSIZ - 1) {
            if b == 0 {
                break;
            }
            if let Some(slot) = out.bytes.get_mut(n) {
                *slot = b;
                n += 1;
            }
        }
        // n <= IFNAMSIZ - 1 = 15, fits in u8.
        out.len = u8::try_from(n).unwrap_or(0);
        out
    }

    /// Copies a name from a string (see [`IfName::from_bytes`]).
    pub fn new(name: &str) -> IfName {
        IfName::from_bytes(name.as_bytes())
    }

    /// The name's bytes, without a terminating NUL.
    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..usize::from(self.len)).unwrap_or(&[])
    }

    /// Whether the name is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl Default for IfName {
    fn default() -> Self {
        IfName::EMPTY
    }
}

/// Prints the name; bytes outside printable ASCII are shown as `?`.
impl fmt::Display for IfName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for &b in self.as_bytes() {
            let c = if b.is_ascii_graphic() {
                char::from(b)
            } else {
                '?'
            };
            fmt::Write::write_char(f, c)?;
        }
        Ok(())
    }
}

impl fmt::Debug for IfName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IfName(\"{self}\")")
    }
}
