/* SPDX-License-Identifier: GPL-2.0 */
#ifndef HVN_HELPERS_FAILOVER_H
#define HVN_HELPERS_FAILOVER_H

#include <linux/ethtool.h>
#include <linux/netdevice.h>
#include <linux/types.h>

/* Where a candidate VF's net_device hangs: facts for failover-core. */
enum hvn_vf_parent {
	HVN_VF_PARENT_NONE = 0,
	HVN_VF_PARENT_PCI = 1,
	HVN_VF_PARENT_VIRTIO_OVER_PCI = 2,
	HVN_VF_PARENT_OTHER = 3,
};

struct hvn_vf_facts {
	u16 dev_type;
	u8 addr_len;
	u8 parent;		/* enum hvn_vf_parent */
	bool is_vlan;
	bool is_master;
	bool has_master;
	bool iff_slave;
	bool has_slot;
	u16 pci_vendor;
	u16 pci_device;
	u8 perm_addr[ETH_ALEN];
	u8 dev_addr[ETH_ALEN];
	char slot_name[32];
	char driver[32];
};

/* VF receive handler context: frames go to `syn`, counted here. */
struct hvn_vf_rx;

void hvn_vf_facts(const struct net_device *dev, struct hvn_vf_facts *out);
struct net_device *hvn_notifier_info_to_dev(void *ptr);
int hvn_failover_notifier_register(void);
void hvn_failover_notifier_unregister(void);

void hvn_vf_prepare(struct net_device *vf);
struct hvn_vf_rx *hvn_vf_rx_alloc(struct net_device *syn);
void hvn_vf_rx_free(struct hvn_vf_rx *rx);
void hvn_vf_rx_stats(const struct hvn_vf_rx *rx, u64 *packets, u64 *bytes);
int hvn_vf_join(struct net_device *vf, struct net_device *syn, struct hvn_vf_rx *rx);
void hvn_vf_leave(struct net_device *vf, struct net_device *syn,
		  unsigned int rx_flags);
void hvn_vf_setup(struct net_device *vf, struct net_device *syn);
unsigned int hvn_vf_sync_rx(struct net_device *vf, struct net_device *syn,
			    unsigned int applied);
int hvn_vf_set_mac(struct net_device *vf, const u8 *mac);
int hvn_vf_follow_netns(struct net_device *vf, struct net_device *syn);
bool hvn_netdev_same_netns(const struct net_device *a, const struct net_device *b);
int hvn_vf_open(struct net_device *vf);
void hvn_vf_close(struct net_device *vf);
int hvn_vf_set_mtu(struct net_device *vf, unsigned int mtu);
int hvn_vf_set_link_ksettings(struct net_device *vf,
			      const struct ethtool_link_ksettings *cmd);
/* A VLAN id (tag protocol @proto, host order) added to or removed from the
 * VF's receive filter (vlan_vid_add/vlan_vid_del). */
int hvn_vf_vlan_vid(struct net_device *vf, u16 proto, u16 vid, bool add);
int hvn_vf_xmit(struct sk_buff *skb, struct net_device *vf);
void hvn_netdev_hold(struct net_device *dev);
void hvn_netdev_put(struct net_device *dev);
bool hvn_netdev_running(const struct net_device *dev);
bool hvn_netdev_carrier_ok(const struct net_device *dev);
void hvn_netdev_info(const struct net_device *dev, const char *msg);
void hvn_netdev_notice(const struct net_device *dev, const char *msg);
void hvn_netdev_warn(const struct net_device *dev, const char *msg);
void hvn_rtnl_lock(void);
void hvn_rtnl_unlock(void);
int hvn_failover_wq_create(void);
void hvn_failover_wq_destroy(void);
struct workqueue_struct *hvn_failover_wq(void);
void hvn_failover_replay(void);
struct hvn_timer;
struct hvn_timer *hvn_timer_alloc(void (*fn)(void *ctx), void *ctx);
void hvn_timer_arm(struct hvn_timer *t, unsigned int ms);
void hvn_timer_cancel_sync(struct hvn_timer *t);
void hvn_timer_free(struct hvn_timer *t);

#endif
