// SPDX-License-Identifier: GPL-2.0
//! The log lines the state machine asks the glue to print, with the exact
//! wording users and tools grep for (the C driver's messages, as quoted in
//! Microsoft's "How Accelerated Networking works in Linux and FreeBSD VMs").

use core::fmt;

use super::ifname::IfName;

/// Which netdev a line is printed on (`netdev_info(dev, ..)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LogDevice {
    /// The synthetic NIC (`hv_netvsc <guid> eth0: ...`).
    Synthetic,
    /// The VF (`mlx5_core <bdf> eth1: joined to eth0`).
    Vf,
}

/// Log level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Level {
    /// `netdev_info`.
    Info,
    /// `netdev_notice`.
    Notice,
    /// `netdev_err`.
    Err,
}

/// What a line says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LogKind {
    /// `VF slot N added` (host announced the VF association).
    VfSlotAdded {
        /// The serial.
        slot: u32,
    },
    /// `VF slot N removed` (host withdrew it).
    VfSlotRemoved {
        /// The serial.
        slot: u32,
    },
    /// `VF registering: <vf>`.
    VfRegistering,
    /// `joined to <syn>` (printed on the VF).
    JoinedTo,
    /// `Data path switched to VF: <vf>`.
    SwitchedToVf,
    /// `Data path switched from VF: <vf>`.
    SwitchedFromVf,
    /// `VF unregistering: <vf>`.
    VfUnregistering,
    /// `Waiting for the VF association from host`.
    WaitingForAssociation,
    /// `Data path failed to switch to VF: <vf>` (retries exhausted).
    SwitchToVfFailed,
    /// `Data path failed to switch from VF: <vf>` (retries exhausted).
    SwitchFromVfFailed,
    /// `VF <vf> in slot <slot> is not VF slot <serial>; not pairing it`.
    SerialMismatch {
        /// The serial the host announced.
        serial: u32,
        /// The VF's slot number, if its slot name was a number.
        slot: Option<u32>,
    },
}

/// One log line: what, and the VF name it mentions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LogLine {
    /// What the line says.
    pub kind: LogKind,
    /// The VF the line is about (empty for lines that name none).
    pub vf: IfName,
}

impl LogLine {
    /// The netdev to print it on.
    pub const fn device(&self) -> LogDevice {
        match self.kind {
            LogKind::JoinedTo => LogDevice::Vf,
            _ => LogDevice::Synthetic,
        }
    }

    /// The level to print it at.
    pub const fn level(&self) -> Level {
        match self.kind {
            LogKind::SwitchToVfFailed | LogKind::SwitchFromVfFailed => Level::Err,
            LogKind::SerialMismatch { .. } => Level::Notice,
            _ => Level::Info,
        }
    }

    /// Writes the text (no device prefix, no newline). `syn` is the
    /// synthetic NIC's current name, used by `joined to <syn>`.
    pub fn write_to<W: fmt::Write + ?Sized>(&self, w: &mut W, syn: &str) -> fmt::Result {
        let vf = &self.vf;
        match self.kind {
            LogKind::VfSlotAdded { slot } => write!(w, "VF slot {slot} added"),
            LogKind::VfSlotRemoved { slot } => write!(w, "VF slot {slot} removed"),
            LogKind::VfRegistering => write!(w, "VF registering: {vf}"),
            LogKind::JoinedTo => write!(w, "joined to {syn}"),
            LogKind::SwitchedToVf => write!(w, "Data path switched to VF: {vf}"),
            LogKind::SwitchedFromVf => write!(w, "Data path switched from VF: {vf}"),
            LogKind::VfUnregistering => write!(w, "VF unregistering: {vf}"),
            LogKind::WaitingForAssociation => {
                w.write_str("Waiting for the VF association from host")
            }
            LogKind::SwitchToVfFailed => write!(w, "Data path failed to switch to VF: {vf}"),
            LogKind::SwitchFromVfFailed => write!(w, "Data path failed to switch from VF: {vf}"),
            LogKind::SerialMismatch { serial, slot } => match slot {
                Some(s) => write!(
                    w,
                    "VF {vf} in slot {s} is not VF slot {serial}; not pairing it"
                ),
                None => write!(
                    w,
                    "VF {vf} has no numeric PCI slot, expected VF slot {serial}; not pairing it"
                ),
            },
        }
    }

    /// A `Display` adapter for `pr_info!("{}", line.display(syn))`.
    pub fn display<'a>(&'a self, syn: &'a str) -> LogDisplay<'a> {
        LogDisplay { line: self, syn }
    }
}

/// See [`LogLine::display`].
#[derive(Debug, Clone, Copy)]
pub struct LogDisplay<'a> {
    line: &'a LogLine,
    syn: &'a str,
}

impl fmt::Display for LogDisplay<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.line.write_to(f, self.syn)
    }
}

/// Writes the one-time warning for a VF the host announced but that never
/// appeared: `expected` names the drivers that could have bound it (from
/// `mlx_vf_core`, e.g. "mlx4_core, mlx5_core or mana").
pub fn write_vf_missing<W: fmt::Write + ?Sized>(
    w: &mut W,
    serial: u32,
    expected: &str,
) -> fmt::Result {
    write!(
        w,
        "VF slot {serial} was announced but no matching VF appeared; \
         is a driver for it loaded ({expected})? Staying on the synthetic data path"
    )
}
