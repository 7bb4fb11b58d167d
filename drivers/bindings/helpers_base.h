/* SPDX-License-Identifier: GPL-2.0 */
#ifndef HVN_HELPERS_BASE_H
#define HVN_HELPERS_BASE_H

#include <linux/netdevice.h>
#include <linux/types.h>

/* Out-of-line versions of inline functions, for Rust. */
void *hvn_netdev_priv(const struct net_device *dev);
bool hvn_is_valid_ether_addr(const u8 *addr);
void hvn_local_bh_disable(void);
void hvn_local_bh_enable(void);
/* kmemleak_not_leak(): an inline no-op without CONFIG_DEBUG_KMEMLEAK. */
void hvn_kmemleak_not_leak(const void *ptr);

/* sizeof/offsetof as the C compiler sees them, to check bindgen's layouts. */
size_t hvn_sizeof_net_device(void);
size_t hvn_offsetof_net_device_mtu(void);
size_t hvn_offsetof_net_device_dev_addr(void);
size_t hvn_sizeof_vmpacket_descriptor(void);
size_t hvn_sizeof_vmtransfer_page_packet_header(void);
size_t hvn_sizeof_vmbus_channel_packet_page_buffer(void);
/* struct ndis_pkt_8021q_info's bitfields as the C compiler lays them out. */
u32 hvn_ndis_8021q_value(u32 pri, u32 cfi, u32 vlanid);
void hvn_ndis_8021q_fields(u32 value, u32 *pri, u32 *cfi, u32 *vlanid, u32 *reserved);

#endif
