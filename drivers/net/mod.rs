// SPDX-License-Identifier: GPL-2.0

//! Safe wrappers over `struct net_device` for the rest of the driver.
//!
//! This is one of the thin layers allowed to use `unsafe`: every block states
//! why it is sound, and the types here uphold the invariants callers rely on.

use crate::bindings;
use kernel::prelude::*;

/// An Ethernet `net_device` allocated with `alloc_etherdev_mqs` and not (yet)
/// registered, with a private area of `priv_size` bytes.
///
/// # Invariants
///
/// `ptr` is non-null, came from `alloc_etherdev_mqs`, is owned by this value
/// and is freed exactly once, in `drop`.
pub(crate) struct EtherDev {
    ptr: core::ptr::NonNull<bindings::net_device>,
}

impl EtherDev {
    /// Allocates an Ethernet device with `txqs` transmit and `rxqs` receive
    /// queues and a private area of `priv_size` bytes.
    pub(crate) fn new(priv_size: usize, txqs: u32, rxqs: u32) -> Result<Self> {
        let priv_size = i32::try_from(priv_size).map_err(|_| EINVAL)?;
        if txqs == 0 || rxqs == 0 {
            return Err(EINVAL);
        }
        // SAFETY: `alloc_etherdev_mqs` accepts any size and queue counts and
        // returns either a new device or null.
        let raw = unsafe { bindings::alloc_etherdev_mqs(priv_size, txqs, rxqs) };
        let ptr = core::ptr::NonNull::new(raw).ok_or(ENOMEM)?;
        // INVARIANT: `ptr` is the non-null result of `alloc_etherdev_mqs`.
        Ok(Self { ptr })
    }

    fn raw(&self) -> &bindings::net_device {
        // SAFETY: By the type invariant `ptr` points to a live `net_device`
        // owned by `self`; nothing else mutates it while we borrow it.
        unsafe { self.ptr.as_ref() }
    }

    /// The device's MTU.
    pub(crate) fn mtu(&self) -> u32 {
        self.raw().mtu
    }

    /// Length of a hardware address of this device type.
    pub(crate) fn addr_len(&self) -> u8 {
        self.raw().addr_len
    }

    /// The ARP hardware type (`ARPHRD_*`).
    pub(crate) fn hw_type(&self) -> u16 {
        self.raw().type_
    }

    /// Number of transmit queues allocated.
    pub(crate) fn num_tx_queues(&self) -> u32 {
        self.raw().num_tx_queues
    }

    /// Address of the private area, as an offset from the device itself.
    pub(crate) fn priv_offset(&self) -> usize {
        // SAFETY: The device is live (type invariant); `netdev_priv` only
        // computes an address inside the same allocation.
        let p = unsafe { bindings::hvn_netdev_priv(self.ptr.as_ptr()) };
        (p as usize).wrapping_sub(self.ptr.as_ptr() as usize)
    }
}

impl Drop for EtherDev {
    fn drop(&mut self) {
        // SAFETY: By the type invariant the device came from
        // `alloc_etherdev_mqs`, was never registered and is freed only here.
        unsafe { bindings::free_netdev(self.ptr.as_ptr()) };
    }
}

#[kunit_tests(hv_netvsc_rs_netdev)]
mod tests {
    use super::*;

    #[test]
    fn etherdev_alloc_has_ethernet_defaults() -> Result {
        let dev = EtherDev::new(64, 4, 4)?;
        assert_eq!(dev.mtu(), bindings::ETH_DATA_LEN);
        assert_eq!(u32::from(dev.addr_len()), bindings::ETH_ALEN);
        assert_eq!(u32::from(dev.hw_type()), bindings::ARPHRD_ETHER);
        assert_eq!(dev.num_tx_queues(), 4);
        Ok(())
    }

    #[test]
    fn etherdev_private_area_follows_device() -> Result {
        let dev = EtherDev::new(128, 1, 1)?;
        // The private area sits after the aligned `net_device`.
        assert!(dev.priv_offset() >= core::mem::size_of::<bindings::net_device>());
        Ok(())
    }

    #[test]
    fn etherdev_rejects_bad_arguments() {
        assert!(EtherDev::new(usize::MAX, 1, 1).is_err());
        assert!(EtherDev::new(0, 0, 1).is_err());
        assert!(EtherDev::new(0, 1, 0).is_err());
    }
}
