/* SPDX-License-Identifier: GPL-2.0 */
#ifndef HVN_HELPERS_PROTO_H
#define HVN_HELPERS_PROTO_H

#include <linux/types.h>

/*
 * Layout probe for the KUnit suite of drivers/proto_check.rs: the NDIS
 * config capability bits of struct nvsp_2_vsc_capability (hyperv_net.h) as
 * the C compiler lays them out. The structure is packed around an aligned
 * bit-field union, which bindgen cannot express in Rust, so its bit
 * positions are read here: the capability word with only field `field`
 * (0 vmq, 1 chimney, 2 sriov, 3 ieee8021q, 4 correlation_id, 5 teaming,
 * 6 vsubnetid, 7 rsc: declaration order) set; 0 for any other `field`.
 */
u64 hvn_nvsp2_capability_bit(unsigned int field);

#endif
