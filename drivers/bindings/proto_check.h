/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Read by our bindgen run only (through bindings_helper.h), for the
 * build-time cross-check of the protocol core (drivers/proto_check.rs).
 *
 * bindgen evaluates plain integer macros on its own, but not those built
 * from casts, sizeof, offsetof or BIT(). Each enumerator below is such a
 * C definition as the compiler evaluates it, under the name HVN_C_<name>
 * (allowlist.d/proto.list); nothing here is compiled into the module.
 */
#ifndef HVN_PROTO_CHECK_H
#define HVN_PROTO_CHECK_H

#include <linux/hyperv.h>
#include <linux/rndis.h>
#include <drivers/net/hyperv/hyperv_net.h>

/* Probes for what even an enumerator cannot hold (bit-field positions). */
#include "helpers_proto.h"

enum {
	/* NVSP (hyperv_net.h). */
	HVN_C_NVSP_INVALID_PROTOCOL_VERSION = NVSP_INVALID_PROTOCOL_VERSION,
	HVN_C_NETVSC_INVALID_INDEX = (u32)NETVSC_INVALID_INDEX,
	/* Where netvsc_send_table() reads the table from hosts up to NVSP 6. */
	HVN_C_NVSP_SEND_TABLE_FIXED_OFFSET = sizeof(struct nvsp_message_header) +
					     sizeof(union nvsp_6_message_uber),

	/* RNDIS (hyperv_net.h). */
	HVN_C_RNDIS_HEADER_SIZE = RNDIS_HEADER_SIZE,
	HVN_C_RNDIS_PACKET_MESSAGE_SIZE = RNDIS_MESSAGE_SIZE(struct rndis_packet),
	HVN_C_RNDIS_PKTINFO_SUBALLOC = RNDIS_PKTINFO_SUBALLOC,
	HVN_C_RNDIS_PKTINFO_1ST_FRAG = RNDIS_PKTINFO_1ST_FRAG,
	HVN_C_RNDIS_PKTINFO_LAST_FRAG = RNDIS_PKTINFO_LAST_FRAG,
	HVN_C_NDIS_OFFLOAD_SIZE = NDIS_OFFLOAD_SIZE,
	HVN_C_NDIS_OFFLOAD_SIZE_6_0 = NDIS_OFFLOAD_SIZE_6_0,
	HVN_C_NDIS_OFFLOAD_SIZE_6_1 = NDIS_OFFLOAD_SIZE_6_1,

	/* VMBus (hyperv.h, hyperv/hvgdk_mini.h). */
	HVN_C_HV_HYP_PAGE_SIZE = HV_HYP_PAGE_SIZE,
};

#endif /* HVN_PROTO_CHECK_H */
