// SPDX-License-Identifier: GPL-2.0

//! Build-time cross-check of the protocol core against the C definitions.
//!
//! The protocol core (`drivers/proto`) states the wire formats on its own;
//! here its sizes and constants are compared with what the kernel's headers
//! and upstream's `hyperv_net.h` say, as seen through our bindgen run. Any
//! drift fails the module build. Macros that bindgen cannot evaluate
//! (casts, `sizeof`, `offsetof`, `BIT()`) reach us as the `HVN_C_*`
//! enumerators of `bindings/proto_check.h`. Bit-field layouts (the per-packet
//! infos, the NDIS config capabilities) cannot be compared at compile time;
//! the KUnit suite at the end compares them when the module loads.
//! Every public constant of the protocol core with a C counterpart is
//! here; those without one are listed in docs/protocol.md.

use crate::bindings as c;
use crate::proto::{nvsp, offload, rndis, rss, vmbus};
use core::mem::size_of;

macro_rules! same {
    ($a:expr, $b:expr) => {
        const _: () = assert!($a as u64 == $b as u64);
    };
}

// VMBus packets.
same!(vmbus::DESCRIPTOR_SIZE, size_of::<c::vmpacket_descriptor>());
same!(
    vmbus::XFER_PAGE_HEADER_SIZE,
    size_of::<c::vmtransfer_page_packet_header>()
);
same!(
    vmbus::XFER_PAGE_RANGE_SIZE,
    size_of::<c::vmtransfer_page_range>()
);
same!(
    vmbus::VM_PKT_DATA_INBAND,
    c::vmbus_packet_type_VM_PKT_DATA_INBAND
);
same!(
    vmbus::VM_PKT_DATA_USING_XFER_PAGES,
    c::vmbus_packet_type_VM_PKT_DATA_USING_XFER_PAGES
);
same!(
    vmbus::VM_PKT_DATA_USING_GPA_DIRECT,
    c::vmbus_packet_type_VM_PKT_DATA_USING_GPA_DIRECT
);
same!(vmbus::VM_PKT_COMP, c::vmbus_packet_type_VM_PKT_COMP);
same!(
    vmbus::VMBUS_DATA_PACKET_FLAG_COMPLETION_REQUESTED,
    c::VMBUS_DATA_PACKET_FLAG_COMPLETION_REQUESTED
);
same!(vmbus::RECEIVE_BUFFER_ID, c::NETVSC_RECEIVE_BUFFER_ID);
same!(vmbus::MAX_XFER_PAGE_RANGES, c::NVSP_RSC_MAX);
same!(
    vmbus::GPA_DIRECT_HEADER_SIZE,
    core::mem::offset_of!(c::vmdata_gpa_direct, range)
);
same!(
    vmbus::GPA_RANGE_HEADER_SIZE,
    core::mem::offset_of!(c::gpa_range, pfn_array)
);
same!(vmbus::HV_PAGE_SIZE, c::HVN_C_HV_HYP_PAGE_SIZE);
same!(vmbus::MAX_GPA_RANGES, c::MAX_PAGE_BUFFER_COUNT);

// NVSP.
same!(nvsp::HEADER_SIZE, size_of::<c::nvsp_message_header>());
same!(nvsp::MESSAGE_SIZE_V61, size_of::<c::nvsp_message>());
same!(nvsp::VERSION_1, c::NVSP_PROTOCOL_VERSION_1);
same!(nvsp::VERSION_2, c::NVSP_PROTOCOL_VERSION_2);
same!(nvsp::VERSION_4, c::NVSP_PROTOCOL_VERSION_4);
same!(nvsp::VERSION_5, c::NVSP_PROTOCOL_VERSION_5);
same!(nvsp::VERSION_6, c::NVSP_PROTOCOL_VERSION_6);
same!(nvsp::VERSION_61, c::NVSP_PROTOCOL_VERSION_61);
same!(
    nvsp::INVALID_VERSION,
    c::HVN_C_NVSP_INVALID_PROTOCOL_VERSION
);
same!(nvsp::MSG_INIT, c::NVSP_MSG_TYPE_INIT);
same!(nvsp::MSG_INIT_COMPLETE, c::NVSP_MSG_TYPE_INIT_COMPLETE);
same!(
    nvsp::MSG1_SEND_NDIS_VERSION,
    c::NVSP_MSG1_TYPE_SEND_NDIS_VER
);
same!(nvsp::MSG1_SEND_RECV_BUF, c::NVSP_MSG1_TYPE_SEND_RECV_BUF);
same!(
    nvsp::MSG1_SEND_RECV_BUF_COMPLETE,
    c::NVSP_MSG1_TYPE_SEND_RECV_BUF_COMPLETE
);
same!(
    nvsp::MSG1_REVOKE_RECV_BUF,
    c::NVSP_MSG1_TYPE_REVOKE_RECV_BUF
);
same!(nvsp::MSG1_SEND_SEND_BUF, c::NVSP_MSG1_TYPE_SEND_SEND_BUF);
same!(
    nvsp::MSG1_SEND_SEND_BUF_COMPLETE,
    c::NVSP_MSG1_TYPE_SEND_SEND_BUF_COMPLETE
);
same!(
    nvsp::MSG1_REVOKE_SEND_BUF,
    c::NVSP_MSG1_TYPE_REVOKE_SEND_BUF
);
same!(nvsp::MSG1_SEND_RNDIS_PKT, c::NVSP_MSG1_TYPE_SEND_RNDIS_PKT);
same!(
    nvsp::MSG1_SEND_RNDIS_PKT_COMPLETE,
    c::NVSP_MSG1_TYPE_SEND_RNDIS_PKT_COMPLETE
);
same!(
    nvsp::MSG2_SEND_NDIS_CONFIG,
    c::NVSP_MSG2_TYPE_SEND_NDIS_CONFIG
);
same!(
    nvsp::MSG4_SEND_VF_ASSOCIATION,
    c::NVSP_MSG4_TYPE_SEND_VF_ASSOCIATION
);
same!(
    nvsp::MSG4_SWITCH_DATA_PATH,
    c::NVSP_MSG4_TYPE_SWITCH_DATA_PATH
);
same!(nvsp::MSG5_SUBCHANNEL, c::NVSP_MSG5_TYPE_SUBCHANNEL);
same!(
    nvsp::MSG5_SEND_INDIRECTION_TABLE,
    c::NVSP_MSG5_TYPE_SEND_INDIRECTION_TABLE
);
same!(nvsp::STATUS_NONE, c::NVSP_STAT_NONE);
same!(nvsp::STATUS_SUCCESS, c::NVSP_STAT_SUCCESS);
same!(nvsp::STATUS_FAIL, c::NVSP_STAT_FAIL);
same!(nvsp::STATUS_PROTOCOL_TOO_NEW, c::NVSP_STAT_PROTOCOL_TOO_NEW);
same!(nvsp::STATUS_PROTOCOL_TOO_OLD, c::NVSP_STAT_PROTOCOL_TOO_OLD);
same!(
    nvsp::STATUS_INVALID_RNDIS_PKT,
    c::NVSP_STAT_INVALID_RNDIS_PKT
);
same!(nvsp::STATUS_BUSY, c::NVSP_STAT_BUSY);
same!(
    nvsp::STATUS_PROTOCOL_UNSUPPORTED,
    c::NVSP_STAT_PROTOCOL_UNSUPPORTED
);
same!(nvsp::NO_SECTION, c::HVN_C_NETVSC_INVALID_INDEX);
same!(
    nvsp::SUBCHANNEL_ALLOCATE,
    c::nvsp_subchannel_operation_NVSP_SUBCHANNEL_ALLOCATE
);
same!(nvsp::SEND_INDIRECTION_TABLE_SIZE, c::VRSS_SEND_TAB_SIZE);
same!(
    nvsp::SEND_INDIRECTION_TABLE_FIXED_OFFSET,
    c::HVN_C_NVSP_SEND_TABLE_FIXED_OFFSET
);
same!(
    nvsp::RECV_SECTION_SIZE,
    size_of::<c::nvsp_1_receive_buffer_section>()
);
same!(
    nvsp::DATAPATH_SYNTHETIC,
    c::nvsp_vm_datapath_NVSP_DATAPATH_SYNTHETIC
);
same!(nvsp::DATAPATH_VF, c::nvsp_vm_datapath_NVSP_DATAPATH_VF);

// RNDIS.
same!(rndis::HEADER_SIZE, c::HVN_C_RNDIS_HEADER_SIZE);
same!(rndis::PACKET_BODY_SIZE, size_of::<c::rndis_packet>());
same!(
    rndis::PACKET_HEADER_SIZE,
    c::HVN_C_RNDIS_PACKET_MESSAGE_SIZE
);
same!(
    rndis::PPI_HEADER_SIZE,
    size_of::<c::rndis_per_packet_info>()
);
same!(rndis::MSG_PACKET, c::RNDIS_MSG_PACKET);
same!(rndis::MSG_INIT, c::RNDIS_MSG_INIT);
same!(rndis::MSG_HALT, c::RNDIS_MSG_HALT);
same!(rndis::MSG_QUERY, c::RNDIS_MSG_QUERY);
same!(rndis::MSG_SET, c::RNDIS_MSG_SET);
same!(rndis::MSG_RESET, c::RNDIS_MSG_RESET);
same!(rndis::MSG_INDICATE, c::RNDIS_MSG_INDICATE);
same!(rndis::MSG_KEEPALIVE, c::RNDIS_MSG_KEEPALIVE);
same!(rndis::MSG_INIT_C, c::RNDIS_MSG_INIT_C);
same!(rndis::MSG_QUERY_C, c::RNDIS_MSG_QUERY_C);
same!(rndis::MSG_SET_C, c::RNDIS_MSG_SET_C);
same!(rndis::MSG_RESET_C, c::RNDIS_MSG_RESET_C);
same!(rndis::MSG_KEEPALIVE_C, c::RNDIS_MSG_KEEPALIVE_C);
same!(rndis::STATUS_SUCCESS, c::RNDIS_STATUS_SUCCESS);
same!(rndis::STATUS_FAILURE, c::RNDIS_STATUS_FAILURE);
same!(rndis::STATUS_NOT_SUPPORTED, c::RNDIS_STATUS_NOT_SUPPORTED);
same!(rndis::STATUS_INVALID_DATA, c::RNDIS_STATUS_INVALID_DATA);
same!(rndis::STATUS_MEDIA_CONNECT, c::RNDIS_STATUS_MEDIA_CONNECT);
same!(
    rndis::STATUS_MEDIA_DISCONNECT,
    c::RNDIS_STATUS_MEDIA_DISCONNECT
);
same!(
    rndis::STATUS_LINK_SPEED_CHANGE,
    c::RNDIS_STATUS_LINK_SPEED_CHANGE
);
same!(rndis::STATUS_NETWORK_CHANGE, c::RNDIS_STATUS_NETWORK_CHANGE);
same!(rndis::MAJOR_VERSION, c::RNDIS_MAJOR_VERSION);
same!(rndis::MINOR_VERSION, c::RNDIS_MINOR_VERSION);
same!(
    rndis::OID_GEN_SUPPORTED_LIST,
    c::RNDIS_OID_GEN_SUPPORTED_LIST
);
same!(rndis::OID_GEN_FRIENDLY_NAME, c::RNDIS_OID_GEN_FRIENDLY_NAME);
same!(
    rndis::OID_GEN_RNDIS_CONFIG_PARAMETER,
    c::RNDIS_OID_GEN_RNDIS_CONFIG_PARAMETER
);
same!(
    rndis::OID_OFFLOAD_ENCAPSULATION,
    c::OID_OFFLOAD_ENCAPSULATION
);
same!(
    rndis::CONFIG_PARAM_TYPE_STRING,
    c::RNDIS_CONFIG_PARAM_TYPE_STRING
);
same!(
    rndis::CONFIG_PARAM_HEADER_SIZE,
    size_of::<c::rndis_config_parameter_info>()
);
same!(
    rndis::OID_GEN_MAXIMUM_FRAME_SIZE,
    c::RNDIS_OID_GEN_MAXIMUM_FRAME_SIZE
);
same!(rndis::OID_GEN_LINK_SPEED, c::RNDIS_OID_GEN_LINK_SPEED);
same!(
    rndis::OID_GEN_CURRENT_PACKET_FILTER,
    c::RNDIS_OID_GEN_CURRENT_PACKET_FILTER
);
// Packet filter bits: include/linux/rndis.h and upstream's hyperv_net.h.
same!(rndis::PACKET_TYPE_DIRECTED, c::RNDIS_PACKET_TYPE_DIRECTED);
same!(rndis::PACKET_TYPE_MULTICAST, c::RNDIS_PACKET_TYPE_MULTICAST);
same!(
    rndis::PACKET_TYPE_ALL_MULTICAST,
    c::RNDIS_PACKET_TYPE_ALL_MULTICAST
);
same!(rndis::PACKET_TYPE_BROADCAST, c::RNDIS_PACKET_TYPE_BROADCAST);
same!(
    rndis::PACKET_TYPE_PROMISCUOUS,
    c::RNDIS_PACKET_TYPE_PROMISCUOUS
);
same!(rndis::PACKET_TYPE_DIRECTED, c::NDIS_PACKET_TYPE_DIRECTED);
same!(rndis::PACKET_TYPE_MULTICAST, c::NDIS_PACKET_TYPE_MULTICAST);
same!(
    rndis::PACKET_TYPE_ALL_MULTICAST,
    c::NDIS_PACKET_TYPE_ALL_MULTICAST
);
same!(rndis::PACKET_TYPE_BROADCAST, c::NDIS_PACKET_TYPE_BROADCAST);
same!(
    rndis::PACKET_TYPE_PROMISCUOUS,
    c::NDIS_PACKET_TYPE_PROMISCUOUS
);
same!(
    rndis::OID_GEN_MEDIA_CONNECT_STATUS,
    c::RNDIS_OID_GEN_MEDIA_CONNECT_STATUS
);
same!(
    rndis::OID_802_3_PERMANENT_ADDRESS,
    c::RNDIS_OID_802_3_PERMANENT_ADDRESS
);
same!(
    rndis::OID_802_3_CURRENT_ADDRESS,
    c::RNDIS_OID_802_3_CURRENT_ADDRESS
);
same!(
    rndis::PPI_CHECKSUM,
    c::ndis_per_pkt_info_type_TCPIP_CHKSUM_PKTINFO
);
same!(
    rndis::PPI_LSO,
    c::ndis_per_pkt_info_type_TCP_LARGESEND_PKTINFO
);
same!(rndis::PPI_VLAN, c::ndis_per_pkt_info_type_IEEE_8021Q_INFO);
// The 802.1Q info is one u32 (its bitfields are checked by KUnit:
// `hv_netvsc_rs_bindings.vlan_info_bitfields_match_c`).
same!(
    size_of::<crate::proto::rndis::VlanInfo>(),
    size_of::<c::ndis_pkt_8021q_info>()
);
same!(
    rndis::PPI_HASH_VALUE,
    c::ndis_per_pkt_info_type_NBL_HASH_VALUE
);
// Hyper-V carries the RSS hash info in the slot of the old per-packet type
// after the hash value's (NDIS 6's NetBufferListHashInfo follows
// NetBufferListHashValue), as the FreeBSD and DPDK drivers read it.
same!(
    rndis::PPI_HASH_INFO,
    c::ndis_per_pkt_info_type_ORIGINAL_NET_BUFLIST
);
same!(
    rndis::PPI_INTERNAL_PKTINFO_ID,
    c::rndis_per_pkt_info_interal_type_RNDIS_PKTINFO_ID
);
// The type word of a PPI header (31-bit type, internal bit: KUnit below).
same!(
    4,
    core::mem::offset_of!(c::rndis_per_packet_info, _bitfield_1)
);
same!(rndis::PKTINFO_SUBALLOC, c::HVN_C_RNDIS_PKTINFO_SUBALLOC);
same!(rndis::PKTINFO_1ST_FRAG, c::HVN_C_RNDIS_PKTINFO_1ST_FRAG);
same!(rndis::PKTINFO_LAST_FRAG, c::HVN_C_RNDIS_PKTINFO_LAST_FRAG);
// The packet id PPI as the parser reads it: version, flags, id.
same!(4, size_of::<c::rndis_pktinfo_id>());
same!(1, core::mem::offset_of!(c::rndis_pktinfo_id, flag));
same!(2, core::mem::offset_of!(c::rndis_pktinfo_id, pkt_id));
// The other PPI values are one 32-bit word each.
same!(4, size_of::<c::ndis_tcp_ip_checksum_info>());
same!(4, size_of::<c::ndis_tcp_lso_info>());
same!(4, size_of::<c::ndis_pkt_8021q_info>());

// Offload capabilities (NDIS_OFFLOAD).
same!(rndis::NDIS_OBJECT_TYPE_OFFLOAD, c::NDIS_OBJECT_TYPE_OFFLOAD);
same!(
    rndis::OID_TCP_OFFLOAD_HARDWARE_CAPABILITIES,
    c::OID_TCP_OFFLOAD_HARDWARE_CAPABILITIES
);
same!(rndis::NDIS_OFFLOAD_SIZE_6_30, size_of::<c::ndis_offload>());
same!(rndis::NDIS_OFFLOAD_SIZE_6_30, c::HVN_C_NDIS_OFFLOAD_SIZE);
same!(rndis::NDIS_OFFLOAD_SIZE_6_0, c::HVN_C_NDIS_OFFLOAD_SIZE_6_0);
same!(rndis::NDIS_OFFLOAD_SIZE_6_1, c::HVN_C_NDIS_OFFLOAD_SIZE_6_1);

/// Offset of `$field` of the `NDIS_OFFLOAD` block `$block` (of type `$ty`).
macro_rules! in_offload {
    ($block:ident, $ty:ident, $field:ident) => {
        core::mem::offset_of!(c::ndis_offload, $block) + core::mem::offset_of!(c::$ty, $field)
    };
}
same!(
    rndis::offload_offsets::IP4_TX_ENC,
    in_offload!(csum, ndis_csum_offload, ip4_txenc)
);
same!(
    rndis::offload_offsets::IP4_TX_CSUM,
    in_offload!(csum, ndis_csum_offload, ip4_txcsum)
);
same!(
    rndis::offload_offsets::IP4_RX_ENC,
    in_offload!(csum, ndis_csum_offload, ip4_rxenc)
);
same!(
    rndis::offload_offsets::IP4_RX_CSUM,
    in_offload!(csum, ndis_csum_offload, ip4_rxcsum)
);
same!(
    rndis::offload_offsets::IP6_TX_ENC,
    in_offload!(csum, ndis_csum_offload, ip6_txenc)
);
same!(
    rndis::offload_offsets::IP6_TX_CSUM,
    in_offload!(csum, ndis_csum_offload, ip6_txcsum)
);
same!(
    rndis::offload_offsets::IP6_RX_ENC,
    in_offload!(csum, ndis_csum_offload, ip6_rxenc)
);
same!(
    rndis::offload_offsets::IP6_RX_CSUM,
    in_offload!(csum, ndis_csum_offload, ip6_rxcsum)
);
same!(
    rndis::offload_offsets::LSO2_IP4_ENC,
    in_offload!(lsov2, ndis_lsov2_offload, ip4_encap)
);
same!(
    rndis::offload_offsets::LSO2_IP4_MAX,
    in_offload!(lsov2, ndis_lsov2_offload, ip4_maxsz)
);
same!(
    rndis::offload_offsets::LSO2_IP4_MIN_SEGS,
    in_offload!(lsov2, ndis_lsov2_offload, ip4_minsg)
);
same!(
    rndis::offload_offsets::LSO2_IP6_ENC,
    in_offload!(lsov2, ndis_lsov2_offload, ip6_encap)
);
same!(
    rndis::offload_offsets::LSO2_IP6_MAX,
    in_offload!(lsov2, ndis_lsov2_offload, ip6_maxsz)
);
same!(
    rndis::offload_offsets::LSO2_IP6_MIN_SEGS,
    in_offload!(lsov2, ndis_lsov2_offload, ip6_minsg)
);
same!(
    rndis::offload_offsets::LSO2_IP6_OPTS,
    in_offload!(lsov2, ndis_lsov2_offload, ip6_opts)
);
same!(
    rndis::offload_offsets::RSC_IP4,
    in_offload!(rsc, ndis_rsc_offload, ip4)
);
same!(
    rndis::offload_offsets::RSC_IP6,
    in_offload!(rsc, ndis_rsc_offload, ip6)
);
same!(rndis::NDIS_ENCAP_802_3, c::NDIS_OFFLOAD_ENCAP_8023);
// One set of flag values serves both directions and both IP versions.
same!(rndis::CSUM_TCP, c::NDIS_TXCSUM_CAP_TCP4);
same!(rndis::CSUM_TCP, c::NDIS_RXCSUM_CAP_TCP4);
same!(rndis::CSUM_TCP, c::NDIS_TXCSUM_CAP_TCP6);
same!(rndis::CSUM_TCP, c::NDIS_RXCSUM_CAP_TCP6);
same!(rndis::CSUM_UDP, c::NDIS_TXCSUM_CAP_UDP4);
same!(rndis::CSUM_UDP, c::NDIS_RXCSUM_CAP_UDP4);
same!(rndis::CSUM_UDP, c::NDIS_TXCSUM_CAP_UDP6);
same!(rndis::CSUM_UDP, c::NDIS_RXCSUM_CAP_UDP6);
same!(rndis::CSUM_TCP_OPTIONS, c::NDIS_TXCSUM_CAP_TCP4OPT);
same!(rndis::CSUM_TCP_OPTIONS, c::NDIS_RXCSUM_CAP_TCP4OPT);
same!(rndis::CSUM_TCP_OPTIONS, c::NDIS_TXCSUM_CAP_TCP6OPT);
same!(rndis::CSUM_TCP_OPTIONS, c::NDIS_RXCSUM_CAP_TCP6OPT);
same!(rndis::CSUM_IP_OPTIONS, c::NDIS_TXCSUM_CAP_IP4OPT);
same!(rndis::CSUM_IP_OPTIONS, c::NDIS_RXCSUM_CAP_IP4OPT);
same!(rndis::CSUM_IP_OPTIONS, c::NDIS_TXCSUM_CAP_IP6EXT);
same!(rndis::CSUM_IP_OPTIONS, c::NDIS_RXCSUM_CAP_IP6EXT);
same!(rndis::CSUM_IP4, c::NDIS_TXCSUM_CAP_IP4);
same!(rndis::CSUM_IP4, c::NDIS_RXCSUM_CAP_IP4);
same!(rndis::LSO6_IP_EXT, c::NDIS_LSOV2_CAP_IP6EXT);
same!(rndis::LSO6_TCP_OPTIONS, c::NDIS_LSOV2_CAP_TCP6OPT);

// Offload parameters (NDIS_OFFLOAD_PARAMETERS).
same!(
    offload::NDIS_OBJECT_TYPE_DEFAULT,
    c::NDIS_OBJECT_TYPE_DEFAULT
);
same!(
    rndis::OID_TCP_OFFLOAD_PARAMETERS,
    c::OID_TCP_OFFLOAD_PARAMETERS
);
same!(
    offload::OFFLOAD_PARAMETERS_REVISION,
    c::NDIS_OFFLOAD_PARAMETERS_REVISION_3
);
same!(
    offload::OFFLOAD_PARAMETERS_SIZE,
    size_of::<c::ndis_offload_params>()
);
same!(
    offload::OFFLOAD_PARAMETERS_SIZE_NVSP4,
    c::VERSION_4_OFFLOAD_SIZE
);
same!(
    offload::OFFLOAD_PARAMETERS_SIZE_1,
    core::mem::offset_of!(c::ndis_offload_params, ip_sec_v2)
);
same!(
    offload::params_offsets::IP4_CSUM,
    core::mem::offset_of!(c::ndis_offload_params, ip_v4_csum)
);
same!(
    offload::params_offsets::TCP4_CSUM,
    core::mem::offset_of!(c::ndis_offload_params, tcp_ip_v4_csum)
);
same!(
    offload::params_offsets::UDP4_CSUM,
    core::mem::offset_of!(c::ndis_offload_params, udp_ip_v4_csum)
);
same!(
    offload::params_offsets::TCP6_CSUM,
    core::mem::offset_of!(c::ndis_offload_params, tcp_ip_v6_csum)
);
same!(
    offload::params_offsets::UDP6_CSUM,
    core::mem::offset_of!(c::ndis_offload_params, udp_ip_v6_csum)
);
same!(
    offload::params_offsets::LSO_V1,
    core::mem::offset_of!(c::ndis_offload_params, lso_v1)
);
same!(
    offload::params_offsets::LSO_V2_IP4,
    core::mem::offset_of!(c::ndis_offload_params, lso_v2_ipv4)
);
same!(
    offload::params_offsets::LSO_V2_IP6,
    core::mem::offset_of!(c::ndis_offload_params, lso_v2_ipv6)
);
same!(
    offload::params_offsets::FLAGS,
    core::mem::offset_of!(c::ndis_offload_params, flags)
);
same!(
    offload::params_offsets::RSC_IP4,
    core::mem::offset_of!(c::ndis_offload_params, __bindgen_anon_1)
        + core::mem::offset_of!(c::ndis_offload_params__bindgen_ty_1, rsc_ip_v4)
);
same!(
    offload::params_offsets::RSC_IP6,
    core::mem::offset_of!(c::ndis_offload_params, __bindgen_anon_1)
        + core::mem::offset_of!(c::ndis_offload_params__bindgen_ty_1, rsc_ip_v6)
);
same!(
    offload::PARAM_NO_CHANGE,
    c::NDIS_OFFLOAD_PARAMETERS_NO_CHANGE
);
same!(
    offload::CSUM_TX_RX_ENABLED,
    c::NDIS_OFFLOAD_PARAMETERS_TX_RX_ENABLED
);
same!(
    offload::CSUM_TX_RX_DISABLED,
    c::NDIS_OFFLOAD_PARAMETERS_TX_RX_DISABLED
);
same!(
    offload::CSUM_TX_ENABLED_RX_DISABLED,
    c::NDIS_OFFLOAD_PARAMETERS_TX_ENABLED_RX_DISABLED
);
same!(
    offload::CSUM_RX_ENABLED_TX_DISABLED,
    c::NDIS_OFFLOAD_PARAMETERS_RX_ENABLED_TX_DISABLED
);
same!(
    offload::SIMPLE_ENABLED,
    c::NDIS_OFFLOAD_PARAMETERS_LSOV2_ENABLED
);
same!(
    offload::SIMPLE_DISABLED,
    c::NDIS_OFFLOAD_PARAMETERS_LSOV2_DISABLED
);
same!(
    offload::SIMPLE_ENABLED,
    c::NDIS_OFFLOAD_PARAMETERS_RSC_ENABLED
);
same!(
    offload::SIMPLE_DISABLED,
    c::NDIS_OFFLOAD_PARAMETERS_RSC_DISABLED
);
same!(
    offload::SIMPLE_ENABLED,
    c::NDIS_OFFLOAD_PARAMETERS_LSOV1_ENABLED
);
same!(offload::GSO_LEGACY_MAX, c::GSO_LEGACY_MAX_SIZE);
same!(offload::ETH_HLEN, c::ETH_HLEN);
same!(offload::IPPROTO_TCP, c::IPPROTO_TCP);
same!(offload::IPPROTO_UDP, c::IPPROTO_UDP);

// Receive-side scaling (NDIS_RECEIVE_SCALE_CAPABILITIES / _PARAMETERS).
same!(
    rndis::OID_GEN_RECEIVE_SCALE_CAPABILITIES,
    c::OID_GEN_RECEIVE_SCALE_CAPABILITIES
);
same!(
    rndis::OID_GEN_RECEIVE_SCALE_PARAMETERS,
    c::OID_GEN_RECEIVE_SCALE_PARAMETERS
);
same!(
    rss::NDIS_OBJECT_TYPE_RSS_CAPABILITIES,
    c::NDIS_OBJECT_TYPE_RSS_CAPABILITIES
);
same!(
    rss::NDIS_OBJECT_TYPE_RSS_PARAMETERS,
    c::NDIS_OBJECT_TYPE_RSS_PARAMETERS
);
same!(
    rss::RSS_REVISION_2,
    c::NDIS_RECEIVE_SCALE_CAPABILITIES_REVISION_2
);
same!(
    rss::RSS_REVISION_2,
    c::NDIS_RECEIVE_SCALE_PARAMETERS_REVISION_2
);
same!(rss::RSS_CAPS_SIZE, size_of::<c::ndis_recv_scale_cap>());
same!(
    rss::RSS_CAPS_SIZE_1,
    core::mem::offset_of!(c::ndis_recv_scale_cap, num_indirect_tabent)
);
same!(rss::RSS_PARAMS_SIZE, size_of::<c::ndis_recv_scale_param>());
same!(8, core::mem::offset_of!(c::ndis_recv_scale_param, hashinfo));
same!(
    12,
    core::mem::offset_of!(c::ndis_recv_scale_param, indirect_tabsize)
);
same!(
    16,
    core::mem::offset_of!(c::ndis_recv_scale_param, indirect_taboffset)
);
same!(
    20,
    core::mem::offset_of!(c::ndis_recv_scale_param, hashkey_size)
);
same!(
    24,
    core::mem::offset_of!(c::ndis_recv_scale_param, hashkey_offset)
);
same!(rss::HASH_KEY_LEN, c::NETVSC_HASH_KEYLEN);
same!(
    rss::HASH_KEY_LEN,
    c::NDIS_RSS_HASH_SECRET_KEY_MAX_SIZE_REVISION_2
);
same!(rss::ITAB_MAX, c::ITAB_NUM_MAX);
same!(rss::ITAB_DEFAULT, c::ITAB_NUM);
same!(rss::HASH_FUNC_TOEPLITZ, c::NDIS_HASH_FUNC_TOEPLITZ);
same!(rss::HASH_IPV4, c::NDIS_HASH_IPV4);
same!(rss::HASH_TCP_IPV4, c::NDIS_HASH_TCP_IPV4);
same!(rss::HASH_IPV6, c::NDIS_HASH_IPV6);
same!(rss::HASH_IPV6_EX, c::NDIS_HASH_IPV6_EX);
same!(rss::HASH_TCP_IPV6, c::NDIS_HASH_TCP_IPV6);
same!(rss::HASH_TCP_IPV6_EX, c::NDIS_HASH_TCP_IPV6_EX);
same!(rss::CAPS_HASH_TCP_IPV4, c::NDIS_RSS_CAPS_HASH_TYPE_TCP_IPV4);
same!(rss::CAPS_HASH_TCP_IPV6, c::NDIS_RSS_CAPS_HASH_TYPE_TCP_IPV6);
same!(
    rss::CAPS_HASH_TCP_IPV6_EX,
    c::NDIS_RSS_CAPS_HASH_TYPE_TCP_IPV6_EX
);
same!(
    rss::PARAM_FLAG_DISABLE_RSS,
    c::NDIS_RSS_PARAM_FLAG_DISABLE_RSS
);

/// The bit fields that no constant expression can reach, compared when the
/// module loads: the per-packet infos through bindgen's accessors (bit
/// positions as libclang lays out `hyperv_net.h`), the NDIS config
/// capabilities through a C probe (their packed structure has no Rust
/// form).
#[kernel::macros::kunit_tests(hv_netvsc_rs_proto_check)]
mod tests {
    use super::c;
    use crate::proto::{nvsp, rndis};
    use rndis::{ChecksumInfo, LsoV2Info, VlanInfo};

    /// The bits of a bit-field unit as one little-endian word.
    fn word<const N: usize>(unit: c::__BindgenBitfieldUnit<[u8; N]>) -> u32 {
        unit.get(0, (8 * N) as u8) as u32
    }

    #[test]
    fn checksum_info_bits_match_c() {
        type Tx = c::ndis_tcp_ip_checksum_info__bindgen_ty_1__bindgen_ty_1;
        type Rx = c::ndis_tcp_ip_checksum_info__bindgen_ty_1__bindgen_ty_2;
        let tx = |v4, v6, tcp, udp, ip, off| word(Tx::new_bitfield_1(v4, v6, tcp, udp, ip, 0, off));
        assert_eq!(tx(1, 0, 0, 0, 0, 0), ChecksumInfo::TX_IS_IPV4);
        assert_eq!(tx(0, 1, 0, 0, 0, 0), ChecksumInfo::TX_IS_IPV6);
        assert_eq!(tx(0, 0, 1, 0, 0, 0), ChecksumInfo::TX_TCP_CHECKSUM);
        assert_eq!(tx(0, 0, 0, 1, 0, 0), ChecksumInfo::TX_UDP_CHECKSUM);
        assert_eq!(tx(0, 0, 0, 0, 1, 0), ChecksumInfo::TX_IP_HEADER_CHECKSUM);
        for off in [1u16, 34, 54, 0x3ff] {
            assert_eq!(tx(0, 0, 0, 0, 0, off.into()), ChecksumInfo::tx(0, off).0);
        }
        let ours = ChecksumInfo::tx(ChecksumInfo::TX_IS_IPV6 | ChecksumInfo::TX_UDP_CHECKSUM, 54);
        let theirs = Tx {
            _bitfield_1: c::__BindgenBitfieldUnit::new(ours.0.to_le_bytes()),
            ..Default::default()
        };
        assert_eq!(
            (
                theirs.is_ipv6(),
                theirs.udp_checksum(),
                theirs.tcp_header_offset()
            ),
            (1, 1, 54)
        );
        assert_eq!(
            u32::from(ours.tcp_header_offset()),
            theirs.tcp_header_offset()
        );

        let rx = |bit: u32| {
            let f = |n: u32| u32::from(bit == n);
            word(Rx::new_bitfield_1(
                f(0),
                f(1),
                f(2),
                f(3),
                f(4),
                f(5),
                0,
                0,
                0,
            ))
        };
        assert_eq!(rx(0), ChecksumInfo::RX_TCP_FAILED);
        assert_eq!(rx(1), ChecksumInfo::RX_UDP_FAILED);
        assert_eq!(rx(2), ChecksumInfo::RX_IP_FAILED);
        assert_eq!(rx(3), ChecksumInfo::RX_TCP_SUCCEEDED);
        assert_eq!(rx(4), ChecksumInfo::RX_UDP_SUCCEEDED);
        assert_eq!(rx(5), ChecksumInfo::RX_IP_SUCCEEDED);
    }

    #[test]
    fn lso_v2_info_bits_match_c() {
        type Lso2 = c::ndis_tcp_lso_info__bindgen_ty_1__bindgen_ty_4;
        for (mss, off, ipv6) in [
            (1448u32, 54u16, false),
            (0xf_ffff, 0x3ff, true),
            (1, 1, true),
        ] {
            let version = if ipv6 {
                c::NDIS_TCP_LARGE_SEND_OFFLOAD_IPV6
            } else {
                c::NDIS_TCP_LARGE_SEND_OFFLOAD_IPV4
            };
            let theirs = word(Lso2::new_bitfield_1(
                mss,
                off.into(),
                c::NDIS_TCP_LARGE_SEND_OFFLOAD_V2_TYPE,
                version,
            ));
            let ours = LsoV2Info::new(mss, off, ipv6);
            assert_eq!(ours.0, theirs);
            assert!(ours.is_v2());
            assert_eq!(
                (ours.mss(), ours.tcp_header_offset(), ours.is_ipv6()),
                (mss, off, ipv6)
            );
        }
    }

    #[test]
    fn vlan_info_bits_match_c() {
        type Vlan = c::ndis_pkt_8021q_info__bindgen_ty_1__bindgen_ty_1;
        for (pri, cfi, id) in [(0u8, false, 1u16), (7, true, 0xfff), (5, false, 100)] {
            let theirs = word(Vlan::new_bitfield_1(pri.into(), cfi.into(), id.into(), 0));
            let ours = VlanInfo::new(pri, cfi, id);
            assert_eq!(ours.0, theirs);
            assert_eq!((ours.pri(), ours.cfi(), ours.vlan_id()), (pri, cfi, id));
        }
    }

    #[test]
    fn ppi_internal_bit_matches_c() {
        let internal = c::rndis_per_packet_info::new_bitfield_1(
            c::rndis_per_pkt_info_interal_type_RNDIS_PKTINFO_ID,
            1,
        );
        assert_eq!(
            word(internal),
            rndis::PPI_INTERNAL_PKTINFO_ID | rndis::PPI_INTERNAL_BIT
        );
        let plain = c::rndis_per_packet_info::new_bitfield_1(rndis::PPI_HASH_VALUE, 0);
        assert_eq!(word(plain), rndis::PPI_HASH_VALUE);
        assert_eq!(c::RNDIS_PKTINFO_ID_V1, 1);
    }

    #[test]
    fn ndis_config_capability_bits_match_c() {
        let ours = [
            nvsp::CAP_VMQ,
            nvsp::CAP_CHIMNEY,
            nvsp::CAP_SRIOV,
            nvsp::CAP_IEEE8021Q,
            nvsp::CAP_CORRELATION_ID,
            nvsp::CAP_TEAMING,
            nvsp::CAP_VSUBNETID,
            nvsp::CAP_RSC,
        ];
        for (field, &cap) in ours.iter().enumerate() {
            // SAFETY: The probe takes a number and returns a value.
            let theirs = unsafe { c::hvn_nvsp2_capability_bit(field as u32) };
            assert_eq!((field, cap), (field, theirs));
        }
    }
}
