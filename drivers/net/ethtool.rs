// SPDX-License-Identifier: GPL-2.0

//! Value types of the ethtool operations.
//!
//! C header: [`include/uapi/linux/ethtool.h`](srctree/include/uapi/linux/ethtool.h).

use crate::bindings;
use kernel::{error::to_result, ffi, prelude::*};

/// Length of one ethtool string (statistic name), including the NUL.
pub(crate) const ETH_GSTRING_LEN: usize = bindings::ETH_GSTRING_LEN as usize;

/// Copies `src` into the C string buffer `dst`, truncated so that the result
/// is always NUL-terminated, and zero-fills the rest.
pub(super) fn copy_cstr(dst: &mut [ffi::c_char], src: &CStr) {
    let bytes = src.to_bytes();
    let n = bytes.len().min(dst.len().saturating_sub(1));
    for (d, s) in dst.iter_mut().zip(bytes[..n].iter()) {
        *d = *s as ffi::c_char;
    }
    for d in dst.iter_mut().skip(n) {
        *d = 0;
    }
}

/// Driver information for `ethtool -i`, filled in by
/// [`Operations::get_drvinfo`](super::Operations::get_drvinfo). Every
/// string is truncated to its field (32 bytes, NUL included).
pub(crate) struct DrvInfo<'a>(&'a mut bindings::ethtool_drvinfo);

impl<'a> DrvInfo<'a> {
    pub(super) fn new(raw: &'a mut bindings::ethtool_drvinfo) -> Self {
        Self(raw)
    }

    /// Sets the driver name (`driver`), e.g. `c"hv_netvsc"`.
    pub(crate) fn set_driver(&mut self, name: &CStr) {
        copy_cstr(&mut self.0.driver, name);
    }

    /// Sets the driver version (`version`).
    pub(crate) fn set_version(&mut self, version: &CStr) {
        copy_cstr(&mut self.0.version, version);
    }

    /// Sets the firmware (host protocol) version (`fw_version`).
    pub(crate) fn set_fw_version(&mut self, version: &CStr) {
        copy_cstr(&mut self.0.fw_version, version);
    }

    /// Sets the bus location (`bus_info`), e.g. the VMBus device id.
    pub(crate) fn set_bus_info(&mut self, bus: &CStr) {
        copy_cstr(&mut self.0.bus_info, bus);
    }
}

/// Channel (queue) counts for `ethtool -l`/`-L` (`struct ethtool_channels`
/// without `cmd`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Channels {
    pub(crate) max_rx: u32,
    pub(crate) max_tx: u32,
    pub(crate) max_other: u32,
    pub(crate) max_combined: u32,
    pub(crate) rx_count: u32,
    pub(crate) tx_count: u32,
    pub(crate) other_count: u32,
    pub(crate) combined_count: u32,
}

impl Channels {
    pub(super) fn write_to(&self, out: &mut bindings::ethtool_channels) {
        out.max_rx = self.max_rx;
        out.max_tx = self.max_tx;
        out.max_other = self.max_other;
        out.max_combined = self.max_combined;
        out.rx_count = self.rx_count;
        out.tx_count = self.tx_count;
        out.other_count = self.other_count;
        out.combined_count = self.combined_count;
    }

    pub(super) fn from_raw(c: &bindings::ethtool_channels) -> Self {
        Self {
            max_rx: c.max_rx,
            max_tx: c.max_tx,
            max_other: c.max_other,
            max_combined: c.max_combined,
            rx_count: c.rx_count,
            tx_count: c.tx_count,
            other_count: c.other_count,
            combined_count: c.combined_count,
        }
    }
}

/// Ring sizes for `ethtool -g` (`struct ethtool_ringparam` without `cmd`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct RingParam {
    pub(crate) rx_max_pending: u32,
    pub(crate) rx_mini_max_pending: u32,
    pub(crate) rx_jumbo_max_pending: u32,
    pub(crate) tx_max_pending: u32,
    pub(crate) rx_pending: u32,
    pub(crate) rx_mini_pending: u32,
    pub(crate) rx_jumbo_pending: u32,
    pub(crate) tx_pending: u32,
}

impl RingParam {
    pub(super) fn write_to(&self, out: &mut bindings::ethtool_ringparam) {
        out.rx_max_pending = self.rx_max_pending;
        out.rx_mini_max_pending = self.rx_mini_max_pending;
        out.rx_jumbo_max_pending = self.rx_jumbo_max_pending;
        out.tx_max_pending = self.tx_max_pending;
        out.rx_pending = self.rx_pending;
        out.rx_mini_pending = self.rx_mini_pending;
        out.rx_jumbo_pending = self.rx_jumbo_pending;
        out.tx_pending = self.tx_pending;
    }
}

/// Link speed not known (`SPEED_UNKNOWN`), for [`LinkSettings::speed`].
pub(crate) const SPEED_UNKNOWN: u32 = bindings::SPEED_UNKNOWN as u32;

/// Duplex mode of [`LinkSettings`] (`DUPLEX_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Duplex {
    /// `DUPLEX_HALF`.
    Half,
    /// `DUPLEX_FULL`.
    Full,
    /// `DUPLEX_UNKNOWN`.
    Unknown,
}

impl Duplex {
    pub(super) fn from_raw(d: u8) -> Option<Self> {
        match u32::from(d) {
            bindings::DUPLEX_HALF => Some(Self::Half),
            bindings::DUPLEX_FULL => Some(Self::Full),
            bindings::DUPLEX_UNKNOWN => Some(Self::Unknown),
            _ => None,
        }
    }
}

/// Speed and duplex for `ethtool <dev>` and `/sys/class/net/<dev>/speed`
/// (the base of `struct ethtool_link_ksettings`, without link modes).
/// Reported with port `PORT_OTHER`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct LinkSettings {
    /// Mb/s, or [`SPEED_UNKNOWN`].
    pub(crate) speed: u32,
    pub(crate) duplex: Duplex,
}

impl LinkSettings {
    pub(super) fn write_to(&self, out: &mut bindings::ethtool_link_ksettings) {
        out.base.speed = self.speed;
        out.base.duplex = match self.duplex {
            Duplex::Half => bindings::DUPLEX_HALF as u8,
            Duplex::Full => bindings::DUPLEX_FULL as u8,
            Duplex::Unknown => bindings::DUPLEX_UNKNOWN as u8,
        };
        out.base.port = bindings::PORT_OTHER as u8;
    }
}

/// The settings `get_link_ksettings` answers with (`struct
/// ethtool_link_ksettings`, zeroed by the core before the call): filled
/// from [`LinkSettings`] or from another device's own answer (a joined VF,
/// see `VfRef::get_link_ksettings`).
pub(crate) struct LinkKsettings<'a>(pub(super) &'a mut bindings::ethtool_link_ksettings);

impl LinkKsettings<'_> {
    /// Answers with speed, duplex and port `PORT_OTHER`.
    pub(crate) fn set(&mut self, s: &LinkSettings) {
        s.write_to(self.0);
    }
}

/// A `set_link_ksettings` request (`struct ethtool_link_ksettings`, as the
/// core built it from the device's current settings and the user's
/// changes): taken as a virtual device takes it, or handed to another
/// device (a joined VF, see `VfRef::set_link_ksettings`).
///
/// # Invariants
///
/// `dev` is the valid device the request is for.
pub(crate) struct LinkKsettingsRequest<'a> {
    pub(super) dev: *mut bindings::net_device,
    pub(super) cmd: &'a bindings::ethtool_link_ksettings,
}

impl LinkKsettingsRequest<'_> {
    /// Speed and duplex as a virtual device takes them: `EINVAL` for
    /// anything else in the request (autonegotiation, advertised modes,
    /// another port) and for invalid values, as
    /// `ethtool_virtdev_set_link_ksettings` decides.
    pub(crate) fn virtual_settings(&self) -> Result<LinkSettings> {
        let mut speed = 0u32;
        let mut duplex = 0u8;
        // SAFETY: A valid device (type invariant) and request; the
        // function only reads them and writes the two locals.
        to_result(unsafe {
            bindings::ethtool_virtdev_set_link_ksettings(
                self.dev,
                self.cmd,
                &mut speed,
                &mut duplex,
            )
        })?;
        let duplex = Duplex::from_raw(duplex).ok_or(EINVAL)?;
        Ok(LinkSettings { speed, duplex })
    }
}
