// SPDX-License-Identifier: GPL-2.0
/*
 * C wrappers for the inline functions and macros the Rust side uses, and
 * layout probes that let KUnit compare bindgen's view with the compiler's.
 */
#include <linux/kmemleak.h>
#include <linux/etherdevice.h>
#include <linux/hyperv.h>
#include <linux/netdevice.h>
#include <linux/bottom_half.h>
#include <linux/stddef.h>

/* Upstream's private protocol header, for the bitfield probes only. */
#include <drivers/net/hyperv/hyperv_net.h>

#include "helpers_base.h"

void *hvn_netdev_priv(const struct net_device *dev)
{
	return netdev_priv(dev);
}

bool hvn_is_valid_ether_addr(const u8 *addr)
{
	return is_valid_ether_addr(addr);
}

size_t hvn_sizeof_net_device(void)
{
	return sizeof(struct net_device);
}

size_t hvn_offsetof_net_device_mtu(void)
{
	return offsetof(struct net_device, mtu);
}

size_t hvn_offsetof_net_device_dev_addr(void)
{
	return offsetof(struct net_device, dev_addr);
}

size_t hvn_sizeof_vmpacket_descriptor(void)
{
	return sizeof(struct vmpacket_descriptor);
}

size_t hvn_sizeof_vmtransfer_page_packet_header(void)
{
	return sizeof(struct vmtransfer_page_packet_header);
}

size_t hvn_sizeof_vmbus_channel_packet_page_buffer(void)
{
	return sizeof(struct vmbus_channel_packet_page_buffer);
}

void hvn_local_bh_disable(void)
{
	local_bh_disable();
}

void hvn_local_bh_enable(void)
{
	local_bh_enable();
}

void hvn_kmemleak_not_leak(const void *ptr)
{
	kmemleak_not_leak(ptr);
}

/*
 * struct ndis_pkt_8021q_info is a bitfield union: where the compiler puts
 * pri, cfi and vlanid is the ABI's business, so KUnit asks it both ways.
 */
u32 hvn_ndis_8021q_value(u32 pri, u32 cfi, u32 vlanid)
{
	struct ndis_pkt_8021q_info v = { .value = 0 };

	v.pri = pri;
	v.cfi = cfi;
	v.vlanid = vlanid;
	return v.value;
}

void hvn_ndis_8021q_fields(u32 value, u32 *pri, u32 *cfi, u32 *vlanid, u32 *reserved)
{
	struct ndis_pkt_8021q_info v = { .value = value };

	*pri = v.pri;
	*cfi = v.cfi;
	*vlanid = v.vlanid;
	*reserved = v.reserved;
}
