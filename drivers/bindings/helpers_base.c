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
