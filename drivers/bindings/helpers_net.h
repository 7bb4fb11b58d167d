/* SPDX-License-Identifier: GPL-2.0 */
/*
 * C wrappers for the inline functions and macros of netdevice.h,
 * etherdevice.h, skbuff.h and ethtool.h that drivers/net/ (the safe
 * net_device layer) uses. Every function here is a thin, out-of-line copy of
 * the kernel's own inline helper; the Rust side states the contracts.
 */
#ifndef HVN_HELPERS_NET_H
#define HVN_HELPERS_NET_H

#include <linux/ethtool.h>
#include <linux/netdevice.h>
#include <linux/skbuff.h>
#include <linux/types.h>

/* net_device fields that are set before registration. */
void hvn_netdev_set_ops(struct net_device *dev,
			const struct net_device_ops *ops,
			const struct ethtool_ops *ethtool_ops);
void hvn_netdev_set_parent(struct net_device *dev, struct device *parent);
void hvn_netdev_lockdep_set_classes(struct net_device *dev);
void hvn_netdev_set_mtu_range(struct net_device *dev, unsigned int min_mtu,
			      unsigned int max_mtu);
void hvn_netdev_set_features(struct net_device *dev, u64 features,
			     u64 hw_features, u64 vlan_features);
u64 hvn_netdev_features(const struct net_device *dev);
void hvn_netif_set_tso_max_size(struct net_device *dev, unsigned int size);
/* Replaces the offered features within @mask by @offered (RTNL held). */
void hvn_netdev_update_offloads(struct net_device *dev, u64 mask, u64 offered,
				unsigned int tso_max);
void hvn_eth_hw_addr_set(struct net_device *dev, const u8 *addr);

/*
 * The read-only attribute group /sys/class/net/<dev>/hv_netvsc/: installed
 * before registration, removed by unregistration. Each attribute's text
 * comes from hvn_rs_attr_show() (drivers/net/device.rs) by number.
 */
#define HVN_ATTR_DATA_PATH 0
void hvn_netdev_set_attr_group(struct net_device *dev);
const struct net_device_ops *hvn_netdev_ops_of(const struct net_device *dev);
const char *hvn_rs_attr_show(struct net_device *dev, int attr);

/* net_device state readable at any time. */
unsigned int hvn_netdev_mtu(const struct net_device *dev);
void hvn_netdev_set_mtu(struct net_device *dev, unsigned int mtu);
void hvn_netdev_get_addr(const struct net_device *dev, u8 *out);
void hvn_netdev_get_name(const struct net_device *dev, char *out);
unsigned int hvn_netdev_flags(const struct net_device *dev);
unsigned int hvn_netdev_mc_count(const struct net_device *dev);
unsigned int hvn_hw_addr_list_count(const struct netdev_hw_addr_list *list);
unsigned int hvn_netdev_num_tx_queues(const struct net_device *dev);
bool hvn_netif_running(const struct net_device *dev);
bool hvn_netif_carrier_ok(const struct net_device *dev);
const u8 *hvn_sockaddr_data(const void *addr);

/* Transmit queues. */
void hvn_netif_tx_start_all_queues(struct net_device *dev);
void hvn_netif_tx_stop_all_queues(struct net_device *dev);
void hvn_netif_tx_disable(struct net_device *dev);
void hvn_netif_tx_wake_all_queues(struct net_device *dev);
void hvn_netif_start_subqueue(struct net_device *dev, u16 queue);
void hvn_netif_stop_subqueue(struct net_device *dev, u16 queue);
void hvn_netif_wake_subqueue(struct net_device *dev, u16 queue);
bool hvn_netif_subqueue_stopped(const struct net_device *dev, u16 queue);

/* sk_buff. */
unsigned int hvn_skb_len(const struct sk_buff *skb);
unsigned int hvn_skb_headlen(const struct sk_buff *skb);
const u8 *hvn_skb_data(const struct sk_buff *skb);
unsigned int hvn_skb_tailroom(const struct sk_buff *skb);
u8 *hvn_skb_put(struct sk_buff *skb, unsigned int len);
int hvn_skb_linearize(struct sk_buff *skb);
u16 hvn_skb_get_queue_mapping(const struct sk_buff *skb);
u16 hvn_skb_protocol(const struct sk_buff *skb);
/* What hvn_skb_tx_offload() found (bits of its result). */
#define HVN_TX_CSUM_PARTIAL	1
#define HVN_TX_TSO		2
#define HVN_TX_OTHER_GSO	4
/* Transmit offload metadata: a partial checksum (start and field offset
 * from skb->data) and TCP segmentation (segment size, IPv6 or not). */
u32 hvn_skb_tx_offload(const struct sk_buff *skb, u32 *csum_start,
		       u32 *csum_offset, u32 *gso_size, bool *gso_v6);
/* The skb's out-of-band VLAN tag (skb_vlan_tag_present): false if none. */
bool hvn_skb_vlan_tag(const struct sk_buff *skb, u16 *proto, u16 *tci);
/* A received 802.1Q tag, out of band (__vlan_hwaccel_put_tag). */
void hvn_skb_vlan_put_ctag(struct sk_buff *skb, u16 tci);
void hvn_skb_csum_unnecessary(struct sk_buff *skb);
void hvn_dev_kfree_skb_any(struct sk_buff *skb);
void hvn_dev_consume_skb_any(struct sk_buff *skb);
struct sk_buff *hvn_netdev_alloc_skb_ip_align(struct net_device *dev,
					      unsigned int len);
void hvn_skb_set_eth_protocol(struct sk_buff *skb, struct net_device *dev);

/* NAPI. */
void hvn_netif_napi_add(struct net_device *dev, struct napi_struct *napi,
			int (*poll)(struct napi_struct *, int));
void hvn_netif_napi_del(struct napi_struct *napi);
bool hvn_napi_schedule(struct napi_struct *napi);
struct net_device *hvn_napi_dev(const struct napi_struct *napi);
void hvn_napi_gro_receive(struct napi_struct *napi, struct sk_buff *skb);

/* Only for the KUnit suite of drivers/net: drive a device like the stack. */
int hvn_test_dev_open(struct net_device *dev);
void hvn_test_dev_close(struct net_device *dev);
int hvn_test_dev_set_mtu(struct net_device *dev, int mtu);
int hvn_test_dev_set_mac(struct net_device *dev, const u8 *addr);
int hvn_test_dev_set_promisc(struct net_device *dev, int inc);
int hvn_test_xmit(struct net_device *dev, u16 ethertype, unsigned int len);
void hvn_test_get_stats(struct net_device *dev,
			struct rtnl_link_stats64 *stats);
int hvn_test_ethtool_drvinfo(struct net_device *dev,
			     struct ethtool_drvinfo *info);
int hvn_test_ethtool_sset_count(struct net_device *dev, int sset);
int hvn_test_ethtool_strings(struct net_device *dev, u8 *buf);
int hvn_test_ethtool_stats(struct net_device *dev, u64 *data);
int hvn_test_ethtool_link(struct net_device *dev);
int hvn_test_ethtool_channels(struct net_device *dev,
			      struct ethtool_channels *ch);
int hvn_test_ethtool_set_channels(struct net_device *dev,
				  struct ethtool_channels *ch);
int hvn_test_ethtool_ringparam(struct net_device *dev,
			       struct ethtool_ringparam *ring);
int hvn_test_rx_hook_add(struct net_device *dev, u16 ethertype);
void hvn_test_rx_hook_del(void);
unsigned long hvn_test_rx_hook_count(void);

#endif
