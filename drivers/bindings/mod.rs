// SPDX-License-Identifier: GPL-2.0

//! Raw bindings for the C APIs that `kernel::bindings` does not cover in 7.3.
//!
//! The file included here is generated at build time by the rule in `Kbuild`
//! from `bindings_helper.h`, restricted to what `allowlist` names. Nothing
//! outside the thin wrapper layers (`net`, `vmbus`) may use this module.

#![allow(
    dead_code,
    non_camel_case_types,
    non_snake_case,
    non_upper_case_globals,
    unsafe_op_in_unsafe_fn,
    clippy::all,
    clippy::pedantic,
    clippy::restriction,
    clippy::nursery,
    clippy::undocumented_unsafe_blocks,
    improper_ctypes,
    unnecessary_transmutes,
    unreachable_pub,
    missing_docs
)]

use kernel::ffi;

include!("bindings_generated.rs");

/// Layouts that the protocol code relies on, as the C compiler sees them
/// versus as bindgen generated them. A drift in either breaks this suite.
#[kernel::macros::kunit_tests(hv_netvsc_rs_bindings)]
mod tests {
    use core::mem::{offset_of, size_of};

    #[test]
    fn net_device_layout_matches_c() {
        // SAFETY: The probe takes no arguments and only returns a constant.
        let c_size = unsafe { super::hvn_sizeof_net_device() };
        assert_eq!(size_of::<super::net_device>(), c_size);
        // SAFETY: As above.
        let c_mtu = unsafe { super::hvn_offsetof_net_device_mtu() };
        assert_eq!(offset_of!(super::net_device, mtu), c_mtu);
        // SAFETY: As above.
        let c_addr = unsafe { super::hvn_offsetof_net_device_dev_addr() };
        assert_eq!(offset_of!(super::net_device, dev_addr), c_addr);
    }

    #[test]
    fn vmbus_packet_layouts_match_c() {
        // SAFETY: The probe takes no arguments and only returns a constant.
        let desc = unsafe { super::hvn_sizeof_vmpacket_descriptor() };
        assert_eq!(size_of::<super::vmpacket_descriptor>(), desc);
        // SAFETY: As above.
        let xfer = unsafe { super::hvn_sizeof_vmtransfer_page_packet_header() };
        assert_eq!(size_of::<super::vmtransfer_page_packet_header>(), xfer);
        // SAFETY: As above.
        let pb = unsafe { super::hvn_sizeof_vmbus_channel_packet_page_buffer() };
        assert_eq!(size_of::<super::vmbus_channel_packet_page_buffer>(), pb);
    }

    #[test]
    fn vlan_info_bitfields_match_c() {
        use crate::proto::rndis::VlanInfo;
        for (pri, cfi, vid) in [
            (0u8, false, 0u16),
            (7, false, 0),
            (0, true, 0),
            (0, false, 1),
            (0, false, 4094),
            (5, true, 0xabc),
            (3, false, 0x800),
        ] {
            // SAFETY: The probe takes plain integers and returns one.
            let c = unsafe { super::hvn_ndis_8021q_value(pri.into(), cfi.into(), vid.into()) };
            assert_eq!(VlanInfo::new(pri, cfi, vid).0, c);
            let (mut p, mut f, mut v, mut r) = (0u32, 0u32, 0u32, 0u32);
            // SAFETY: The out pointers are to locals.
            unsafe {
                super::hvn_ndis_8021q_fields(c | 0x5a5a_0000, &mut p, &mut f, &mut v, &mut r)
            };
            let ours = VlanInfo(c | 0x5a5a_0000);
            assert_eq!(
                (
                    u32::from(ours.pri()),
                    u32::from(ours.cfi()),
                    u32::from(ours.vlan_id())
                ),
                (p, f, v)
            );
            // The reserved half is what the protocol core refuses when set.
            assert_eq!(r << 16, 0x5a5a_0000 & !crate::proto::vlan::INFO_MASK);
        }
    }

    #[test]
    fn protocol_constants_match_c() {
        assert_eq!(super::ETH_ALEN, 6);
        assert_eq!(super::ETH_DATA_LEN, 1500);
        assert_eq!(super::vmbus_packet_type_VM_PKT_DATA_INBAND, 6);
        assert_eq!(super::vmbus_packet_type_VM_PKT_DATA_USING_XFER_PAGES, 7);
        assert_eq!(super::vmbus_packet_type_VM_PKT_DATA_USING_GPA_DIRECT, 9);
        assert_eq!(super::vmbus_packet_type_VM_PKT_COMP, 11);
        // The VMBus packet descriptor is 16 bytes on the wire.
        assert_eq!(size_of::<super::vmpacket_descriptor>(), 16);
    }
}
