// SPDX-License-Identifier: GPL-2.0
/*
 * Out-of-line copies of the inline net_device, sk_buff and NAPI helpers that
 * the safe layer in drivers/net/ calls, plus the few entry points its KUnit
 * suite uses to drive a device the way the stack would (hvn_test_*).
 */
#include <linux/etherdevice.h>
#include <linux/ethtool.h>
#include <linux/if_ether.h>
#include <linux/if_vlan.h>
#include <linux/netdevice.h>
#include <linux/rtnetlink.h>
#include <linux/skbuff.h>
#include <linux/socket.h>
#include <linux/string.h>
#include <linux/sysfs.h>
#include <net/netdev_lock.h>

#include "helpers_net.h"

void hvn_netdev_set_ops(struct net_device *dev,
			const struct net_device_ops *ops,
			const struct ethtool_ops *ethtool_ops)
{
	dev->netdev_ops = ops;
	dev->ethtool_ops = ethtool_ops;
}

static ssize_t data_path_show(struct device *d, struct device_attribute *attr,
			      char *buf)
{
	const char *text = hvn_rs_attr_show(to_net_dev(d), HVN_ATTR_DATA_PATH);

	return text ? sysfs_emit(buf, "%s\n", text) : -ENODEV;
}
static DEVICE_ATTR_RO(data_path);

static struct attribute *hvn_attrs[] = {
	&dev_attr_data_path.attr,
	NULL,
};

static const struct attribute_group hvn_attr_group = {
	.name = "hv_netvsc",
	.attrs = hvn_attrs,
};

void hvn_netdev_set_attr_group(struct net_device *dev)
{
	/* Slot 0 is the driver's; the core appends its own groups after it. */
	dev->sysfs_groups[0] = &hvn_attr_group;
}

const struct net_device_ops *hvn_netdev_ops_of(const struct net_device *dev)
{
	return dev->netdev_ops;
}

void hvn_netdev_set_parent(struct net_device *dev, struct device *parent)
{
	SET_NETDEV_DEV(dev, parent);
}

/* One set of lock classes for every device of ours (a static key per class). */
void hvn_netdev_lockdep_set_classes(struct net_device *dev)
{
	netdev_lockdep_set_classes(dev);
}

void hvn_netdev_set_mtu_range(struct net_device *dev, unsigned int min_mtu,
			      unsigned int max_mtu)
{
	dev->min_mtu = min_mtu;
	dev->max_mtu = max_mtu;
}

void hvn_netdev_set_features(struct net_device *dev, u64 features,
			     u64 hw_features, u64 vlan_features)
{
	dev->features = features;
	dev->hw_features = hw_features;
	dev->vlan_features = vlan_features;
}

u64 hvn_netdev_features(const struct net_device *dev)
{
	return dev->features;
}

void hvn_netdev_update_offloads(struct net_device *dev, u64 mask, u64 offered,
				unsigned int tso_max)
{
	netdev_features_t old = dev->hw_features & mask;

	ASSERT_RTNL();
	dev->hw_features = (dev->hw_features & ~mask) | offered;
	dev->features &= ~mask | offered;
	/* VLAN devices above inherit what is offered now. */
	dev->vlan_features = (dev->vlan_features & ~mask) | offered;
	/* Kept as the user set them where still offered, on where new. */
	dev->wanted_features = (dev->wanted_features & ~mask) |
			       (dev->wanted_features & offered) |
			       (offered & ~old);
	if (tso_max)
		netif_set_tso_max_size(dev, tso_max);
	netdev_update_features(dev);
}

void hvn_netif_set_tso_max_size(struct net_device *dev, unsigned int size)
{
	netif_set_tso_max_size(dev, size);
}

void hvn_eth_hw_addr_set(struct net_device *dev, const u8 *addr)
{
	eth_hw_addr_set(dev, addr);
}

unsigned int hvn_netdev_mtu(const struct net_device *dev)
{
	return READ_ONCE(dev->mtu);
}

void hvn_netdev_set_mtu(struct net_device *dev, unsigned int mtu)
{
	WRITE_ONCE(dev->mtu, mtu);
}

void hvn_netdev_get_addr(const struct net_device *dev, u8 *out)
{
	memcpy(out, dev->dev_addr, ETH_ALEN);
}

void hvn_netdev_get_name(const struct net_device *dev, char *out)
{
	strscpy(out, dev->name, IFNAMSIZ);
}

unsigned int hvn_netdev_flags(const struct net_device *dev)
{
	return READ_ONCE(dev->flags);
}

unsigned int hvn_netdev_mc_count(const struct net_device *dev)
{
	return READ_ONCE(dev->mc.count);
}

unsigned int hvn_hw_addr_list_count(const struct netdev_hw_addr_list *list)
{
	return netdev_hw_addr_list_count(list);
}

unsigned int hvn_netdev_num_tx_queues(const struct net_device *dev)
{
	return dev->num_tx_queues;
}

bool hvn_netif_running(const struct net_device *dev)
{
	return netif_running(dev);
}

bool hvn_netif_carrier_ok(const struct net_device *dev)
{
	return netif_carrier_ok(dev);
}

const u8 *hvn_sockaddr_data(const void *addr)
{
	return ((const struct sockaddr_storage *)addr)->__data;
}

void hvn_netif_tx_start_all_queues(struct net_device *dev)
{
	netif_tx_start_all_queues(dev);
}

void hvn_netif_tx_stop_all_queues(struct net_device *dev)
{
	netif_tx_stop_all_queues(dev);
}

/* Stops every queue and waits for transmissions in progress. */
void hvn_netif_tx_disable(struct net_device *dev)
{
	netif_tx_disable(dev);
}

void hvn_netif_tx_wake_all_queues(struct net_device *dev)
{
	netif_tx_wake_all_queues(dev);
}

void hvn_netif_start_subqueue(struct net_device *dev, u16 queue)
{
	netif_start_subqueue(dev, queue);
}

void hvn_netif_stop_subqueue(struct net_device *dev, u16 queue)
{
	netif_stop_subqueue(dev, queue);
}

void hvn_netif_wake_subqueue(struct net_device *dev, u16 queue)
{
	netif_wake_subqueue(dev, queue);
}

bool hvn_netif_subqueue_stopped(const struct net_device *dev, u16 queue)
{
	return __netif_subqueue_stopped(dev, queue);
}

unsigned int hvn_skb_len(const struct sk_buff *skb)
{
	return skb->len;
}

unsigned int hvn_skb_headlen(const struct sk_buff *skb)
{
	return skb_headlen(skb);
}

const u8 *hvn_skb_data(const struct sk_buff *skb)
{
	return skb->data;
}

unsigned int hvn_skb_tailroom(const struct sk_buff *skb)
{
	return skb_tailroom(skb);
}

u8 *hvn_skb_put(struct sk_buff *skb, unsigned int len)
{
	return skb_put(skb, len);
}

int hvn_skb_linearize(struct sk_buff *skb)
{
	return skb_linearize(skb);
}

u16 hvn_skb_get_queue_mapping(const struct sk_buff *skb)
{
	return skb_get_queue_mapping(skb);
}

u16 hvn_skb_protocol(const struct sk_buff *skb)
{
	return ntohs(skb->protocol);
}

u32 hvn_skb_tx_offload(const struct sk_buff *skb, u32 *csum_start,
		       u32 *csum_offset, u32 *gso_size, bool *gso_v6)
{
	u32 r = 0;

	if (skb->ip_summed == CHECKSUM_PARTIAL) {
		*csum_start = skb_checksum_start_offset(skb);
		*csum_offset = skb->csum_offset;
		r |= HVN_TX_CSUM_PARTIAL;
	}
	if (skb_is_gso(skb)) {
		unsigned int type = skb_shinfo(skb)->gso_type;

		*gso_size = skb_shinfo(skb)->gso_size;
		*gso_v6 = !!(type & SKB_GSO_TCPV6);
		r |= (type & (SKB_GSO_TCPV4 | SKB_GSO_TCPV6)) ? HVN_TX_TSO :
								HVN_TX_OTHER_GSO;
	}
	return r;
}

bool hvn_skb_vlan_tag(const struct sk_buff *skb, u16 *proto, u16 *tci)
{
	if (!skb_vlan_tag_present(skb))
		return false;
	*proto = ntohs(skb->vlan_proto);
	*tci = skb_vlan_tag_get(skb);
	return true;
}

void hvn_skb_vlan_put_ctag(struct sk_buff *skb, u16 tci)
{
	__vlan_hwaccel_put_tag(skb, htons(ETH_P_8021Q), tci);
}

void hvn_skb_csum_unnecessary(struct sk_buff *skb)
{
	skb->ip_summed = CHECKSUM_UNNECESSARY;
}

void hvn_dev_kfree_skb_any(struct sk_buff *skb)
{
	dev_kfree_skb_any(skb);
}

void hvn_dev_consume_skb_any(struct sk_buff *skb)
{
	dev_consume_skb_any(skb);
}

struct sk_buff *hvn_netdev_alloc_skb_ip_align(struct net_device *dev,
					      unsigned int len)
{
	return netdev_alloc_skb_ip_align(dev, len);
}

void hvn_skb_set_eth_protocol(struct sk_buff *skb, struct net_device *dev)
{
	skb->protocol = eth_type_trans(skb, dev);
}

void hvn_netif_napi_add(struct net_device *dev, struct napi_struct *napi,
			int (*poll)(struct napi_struct *, int))
{
	netif_napi_add(dev, napi, poll);
}

void hvn_netif_napi_del(struct napi_struct *napi)
{
	netif_napi_del(napi);
}

bool hvn_napi_schedule(struct napi_struct *napi)
{
	return napi_schedule(napi);
}

struct net_device *hvn_napi_dev(const struct napi_struct *napi)
{
	return napi->dev;
}

void hvn_napi_gro_receive(struct napi_struct *napi, struct sk_buff *skb)
{
	napi_gro_receive(napi, skb);
}

/* ---- KUnit support: drive a registered device like the stack does. ---- */

/* Only built when the module carries its KUnit suites. */
#if IS_ENABLED(CONFIG_KUNIT)

int hvn_test_dev_open(struct net_device *dev)
{
	int ret;

	rtnl_lock();
	ret = dev_open(dev, NULL);
	rtnl_unlock();
	return ret;
}

void hvn_test_dev_close(struct net_device *dev)
{
	rtnl_lock();
	dev_close(dev);
	rtnl_unlock();
}

int hvn_test_dev_set_mtu(struct net_device *dev, int mtu)
{
	int ret;

	rtnl_lock();
	ret = dev_set_mtu(dev, mtu);
	rtnl_unlock();
	return ret;
}

int hvn_test_dev_set_mac(struct net_device *dev, const u8 *addr)
{
	struct sockaddr_storage ss = { .ss_family = dev->type };
	int ret;

	memcpy(ss.__data, addr, ETH_ALEN);
	rtnl_lock();
	ret = dev_set_mac_address(dev, &ss, NULL);
	rtnl_unlock();
	return ret;
}

int hvn_test_dev_set_promisc(struct net_device *dev, int inc)
{
	int ret;

	rtnl_lock();
	ret = dev_set_promiscuity(dev, inc);
	rtnl_unlock();
	return ret;
}

int hvn_test_xmit(struct net_device *dev, u16 ethertype, unsigned int len)
{
	struct sk_buff *skb;
	struct ethhdr *eth;

	if (len < ETH_HLEN)
		return -EINVAL;
	skb = alloc_skb(LL_RESERVED_SPACE(dev) + len, GFP_KERNEL);
	if (!skb)
		return -ENOMEM;
	skb_reserve(skb, LL_RESERVED_SPACE(dev));
	skb_reset_mac_header(skb);
	eth = skb_put_zero(skb, len);
	eth_broadcast_addr(eth->h_dest);
	ether_addr_copy(eth->h_source, dev->dev_addr);
	eth->h_proto = htons(ethertype);
	skb_set_network_header(skb, ETH_HLEN);
	skb->dev = dev;
	skb->protocol = htons(ethertype);
	/* Consumes the skb whatever the result. */
	return dev_queue_xmit(skb);
}

void hvn_test_get_stats(struct net_device *dev,
			struct rtnl_link_stats64 *stats)
{
	dev_get_stats(dev, stats);
}

int hvn_test_ethtool_drvinfo(struct net_device *dev,
			     struct ethtool_drvinfo *info)
{
	if (!dev->ethtool_ops || !dev->ethtool_ops->get_drvinfo)
		return -EOPNOTSUPP;
	memset(info, 0, sizeof(*info));
	info->cmd = ETHTOOL_GDRVINFO;
	rtnl_lock();
	dev->ethtool_ops->get_drvinfo(dev, info);
	rtnl_unlock();
	return 0;
}

int hvn_test_ethtool_sset_count(struct net_device *dev, int sset)
{
	int ret;

	if (!dev->ethtool_ops || !dev->ethtool_ops->get_sset_count)
		return -EOPNOTSUPP;
	rtnl_lock();
	ret = dev->ethtool_ops->get_sset_count(dev, sset);
	rtnl_unlock();
	return ret;
}

int hvn_test_ethtool_strings(struct net_device *dev, u8 *buf)
{
	if (!dev->ethtool_ops || !dev->ethtool_ops->get_strings)
		return -EOPNOTSUPP;
	rtnl_lock();
	dev->ethtool_ops->get_strings(dev, ETH_SS_STATS, buf);
	rtnl_unlock();
	return 0;
}

int hvn_test_ethtool_stats(struct net_device *dev, u64 *data)
{
	struct ethtool_stats stats = { .cmd = ETHTOOL_GSTATS };

	if (!dev->ethtool_ops || !dev->ethtool_ops->get_ethtool_stats)
		return -EOPNOTSUPP;
	rtnl_lock();
	dev->ethtool_ops->get_ethtool_stats(dev, &stats, data);
	rtnl_unlock();
	return 0;
}

int hvn_test_ethtool_link(struct net_device *dev)
{
	int ret;

	if (!dev->ethtool_ops || !dev->ethtool_ops->get_link)
		return -EOPNOTSUPP;
	rtnl_lock();
	ret = dev->ethtool_ops->get_link(dev);
	rtnl_unlock();
	return ret;
}

int hvn_test_ethtool_channels(struct net_device *dev,
			      struct ethtool_channels *ch)
{
	if (!dev->ethtool_ops || !dev->ethtool_ops->get_channels)
		return -EOPNOTSUPP;
	memset(ch, 0, sizeof(*ch));
	ch->cmd = ETHTOOL_GCHANNELS;
	rtnl_lock();
	dev->ethtool_ops->get_channels(dev, ch);
	rtnl_unlock();
	return 0;
}

int hvn_test_ethtool_set_channels(struct net_device *dev,
				  struct ethtool_channels *ch)
{
	int ret;

	if (!dev->ethtool_ops || !dev->ethtool_ops->set_channels)
		return -EOPNOTSUPP;
	ch->cmd = ETHTOOL_SCHANNELS;
	rtnl_lock();
	ret = dev->ethtool_ops->set_channels(dev, ch);
	rtnl_unlock();
	return ret;
}

int hvn_test_ethtool_ringparam(struct net_device *dev,
			       struct ethtool_ringparam *ring)
{
	struct kernel_ethtool_ringparam kring = {};

	if (!dev->ethtool_ops || !dev->ethtool_ops->get_ringparam)
		return -EOPNOTSUPP;
	memset(ring, 0, sizeof(*ring));
	ring->cmd = ETHTOOL_GRINGPARAM;
	rtnl_lock();
	dev->ethtool_ops->get_ringparam(dev, ring, &kring, NULL);
	rtnl_unlock();
	return 0;
}

static atomic_long_t hvn_test_rx_count;

static int hvn_test_rx_hook(struct sk_buff *skb, struct net_device *dev,
			    struct packet_type *pt,
			    struct net_device *orig_dev)
{
	atomic_long_inc(&hvn_test_rx_count);
	consume_skb(skb);
	return NET_RX_SUCCESS;
}

static struct packet_type hvn_test_rx_pt = {
	.func = hvn_test_rx_hook,
};

int hvn_test_rx_hook_add(struct net_device *dev, u16 ethertype)
{
	atomic_long_set(&hvn_test_rx_count, 0);
	hvn_test_rx_pt.type = htons(ethertype);
	hvn_test_rx_pt.dev = dev;
	dev_add_pack(&hvn_test_rx_pt);
	return 0;
}

void hvn_test_rx_hook_del(void)
{
	dev_remove_pack(&hvn_test_rx_pt);
	hvn_test_rx_pt.dev = NULL;
}

unsigned long hvn_test_rx_hook_count(void)
{
	return atomic_long_read(&hvn_test_rx_count);
}

#endif /* CONFIG_KUNIT */
