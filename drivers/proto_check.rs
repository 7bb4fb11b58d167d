// SPDX-License-Identifier: GPL-2.0

//! Build-time cross-check of the protocol core against the C definitions.
//!
//! The protocol core (`drivers/proto`) states the wire formats on its own;
//! here its sizes and constants are compared with what the kernel's headers
//! and upstream's `hyperv_net.h` say, as seen through our bindgen run. Any
//! drift fails the module build.

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

// NVSP.
same!(nvsp::HEADER_SIZE, size_of::<c::nvsp_message_header>());
same!(nvsp::MESSAGE_SIZE_V61, size_of::<c::nvsp_message>());
same!(nvsp::VERSION_1, c::NVSP_PROTOCOL_VERSION_1);
same!(nvsp::VERSION_2, c::NVSP_PROTOCOL_VERSION_2);
same!(nvsp::VERSION_4, c::NVSP_PROTOCOL_VERSION_4);
same!(nvsp::VERSION_5, c::NVSP_PROTOCOL_VERSION_5);
same!(nvsp::VERSION_6, c::NVSP_PROTOCOL_VERSION_6);
same!(nvsp::VERSION_61, c::NVSP_PROTOCOL_VERSION_61);
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

// RNDIS.
same!(rndis::HEADER_SIZE, 2 * size_of::<u32>());
same!(rndis::PACKET_BODY_SIZE, size_of::<c::rndis_packet>());
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
same!(
    rndis::PPI_HASH_VALUE,
    c::ndis_per_pkt_info_type_NBL_HASH_VALUE
);

// Offload capabilities (NDIS_OFFLOAD).
same!(rndis::NDIS_OBJECT_TYPE_OFFLOAD, c::NDIS_OBJECT_TYPE_OFFLOAD);
same!(
    rndis::OID_TCP_OFFLOAD_HARDWARE_CAPABILITIES,
    c::OID_TCP_OFFLOAD_HARDWARE_CAPABILITIES
);
same!(rndis::NDIS_OFFLOAD_SIZE_6_30, size_of::<c::ndis_offload>());
same!(
    rndis::NDIS_OFFLOAD_SIZE_6_0,
    core::mem::offset_of!(c::ndis_offload, ipsecv2)
);
same!(
    rndis::NDIS_OFFLOAD_SIZE_6_1,
    core::mem::offset_of!(c::ndis_offload, rsc)
);
same!(
    rndis::offload_offsets::LSO2_IP6_OPTS,
    core::mem::offset_of!(c::ndis_offload, lsov2)
        + core::mem::offset_of!(c::ndis_lsov2_offload, ip6_opts)
);
same!(
    rndis::offload_offsets::IP6_TX_CSUM,
    core::mem::offset_of!(c::ndis_offload, csum)
        + core::mem::offset_of!(c::ndis_csum_offload, ip6_txcsum)
);
same!(rndis::NDIS_ENCAP_802_3, c::NDIS_OFFLOAD_ENCAP_8023);
same!(rndis::CSUM_TCP, c::NDIS_TXCSUM_CAP_TCP4);
same!(rndis::CSUM_UDP, c::NDIS_TXCSUM_CAP_UDP4);
same!(rndis::CSUM_TCP_OPTIONS, c::NDIS_TXCSUM_CAP_TCP4OPT);
same!(rndis::CSUM_IP_OPTIONS, c::NDIS_TXCSUM_CAP_IP6EXT);
same!(rndis::CSUM_IP4, c::NDIS_TXCSUM_CAP_IP4);
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
    offload::params_offsets::TCP4_CSUM,
    core::mem::offset_of!(c::ndis_offload_params, tcp_ip_v4_csum)
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
