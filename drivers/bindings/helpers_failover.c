// SPDX-License-Identifier: GPL-2.0
/*
 * C side of VF failover: the netdev notifier, the VF receive handler and
 * the inline or macro-based net_device operations the Rust glue needs.
 * Decisions are made in Rust (failover/); nothing here decides anything.
 */
#include <linux/etherdevice.h>
#include <linux/if_vlan.h>
#include <linux/ethtool.h>
#include <linux/netdevice.h>
#include <linux/pci.h>
#include <linux/rtnetlink.h>
#include <linux/skbuff.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/virtio.h>
#include <linux/workqueue.h>
#include <net/netdev_lock.h>
#include <net/net_namespace.h>

#include "helpers_failover.h"

struct hvn_vf_rx {
	struct net_device *syn;
	atomic64_t packets;
	atomic64_t bytes;
};

void hvn_vf_facts(const struct net_device *dev, struct hvn_vf_facts *out)
{
	struct device *parent = dev->dev.parent;
	struct pci_dev *pdev = NULL;

	memset(out, 0, sizeof(*out));
	out->dev_type = dev->type;
	out->addr_len = dev->addr_len;
	out->is_vlan = is_vlan_dev(dev);
	out->is_master = netif_is_bond_master(dev) || netif_is_team_master(dev);
	out->has_master = netdev_master_upper_dev_get((struct net_device *)dev) != NULL;
	out->iff_slave = !!(dev->flags & IFF_SLAVE);
	if (dev->addr_len == ETH_ALEN) {
		memcpy(out->perm_addr, dev->perm_addr, ETH_ALEN);
		memcpy(out->dev_addr, dev->dev_addr, ETH_ALEN);
	}
	if (!parent) {
		out->parent = HVN_VF_PARENT_NONE;
		return;
	}
	if (parent->driver && parent->driver->name)
		strscpy(out->driver, parent->driver->name, sizeof(out->driver));
	if (dev_is_pci(parent)) {
		out->parent = HVN_VF_PARENT_PCI;
		pdev = to_pci_dev(parent);
	} else if (parent->parent && dev_is_pci(parent->parent) &&
		   parent->bus && parent->bus->name &&
		   !strcmp(parent->bus->name, "virtio")) {
		/* virtio-net: net_device -> virtio device -> PCI function */
		out->parent = HVN_VF_PARENT_VIRTIO_OVER_PCI;
		pdev = to_pci_dev(parent->parent);
	} else {
		out->parent = HVN_VF_PARENT_OTHER;
	}
	if (pdev) {
		out->pci_vendor = pdev->vendor;
		out->pci_device = pdev->device;
		if (pdev->slot) {
			out->has_slot = true;
			strscpy(out->slot_name, pci_slot_name(pdev->slot),
				sizeof(out->slot_name));
		}
	}
}

struct net_device *hvn_notifier_info_to_dev(void *ptr)
{
	return netdev_notifier_info_to_dev(ptr);
}

int hvn_rs_netdev_event(unsigned long event, struct net_device *dev);

static int hvn_netdev_event(struct notifier_block *nb, unsigned long event, void *ptr)
{
	return hvn_rs_netdev_event(event, netdev_notifier_info_to_dev(ptr));
}

static struct notifier_block hvn_failover_notifier = {
	.notifier_call = hvn_netdev_event,
};

int hvn_failover_notifier_register(void)
{
	return register_netdevice_notifier(&hvn_failover_notifier);
}

void hvn_failover_notifier_unregister(void)
{
	unregister_netdevice_notifier(&hvn_failover_notifier);
}

void hvn_vf_prepare(struct net_device *vf)
{
	/* Before user space sees the VF: no IPv6 addrconf, marked a slave. */
	vf->flags |= IFF_SLAVE;
	vf->priv_flags |= IFF_NO_ADDRCONF;
}

struct hvn_vf_rx *hvn_vf_rx_alloc(struct net_device *syn)
{
	struct hvn_vf_rx *rx = kzalloc(sizeof(*rx), GFP_KERNEL);

	if (rx)
		rx->syn = syn;
	return rx;
}

void hvn_vf_rx_free(struct hvn_vf_rx *rx)
{
	kfree(rx);
}

void hvn_vf_rx_stats(const struct hvn_vf_rx *rx, u64 *packets, u64 *bytes)
{
	*packets = atomic64_read(&rx->packets);
	*bytes = atomic64_read(&rx->bytes);
}

static rx_handler_result_t hvn_vf_handle_frame(struct sk_buff **pskb)
{
	struct sk_buff *skb = *pskb;
	struct hvn_vf_rx *rx = rcu_dereference(skb->dev->rx_handler_data);

	skb = skb_share_check(skb, GFP_ATOMIC);
	if (unlikely(!skb))
		return RX_HANDLER_CONSUMED;
	*pskb = skb;
	skb->dev = rx->syn;
	atomic64_inc(&rx->packets);
	atomic64_add(skb->len, &rx->bytes);
	return RX_HANDLER_ANOTHER;
}

int hvn_vf_join(struct net_device *vf, struct net_device *syn, struct hvn_vf_rx *rx)
{
	int ret;

	ASSERT_RTNL();
	ret = netdev_rx_handler_register(vf, hvn_vf_handle_frame, rx);
	if (ret)
		return ret;
	ret = netdev_master_upper_dev_link(vf, syn, NULL, NULL, NULL);
	if (ret) {
		netdev_rx_handler_unregister(vf);
		return ret;
	}
	/* A VF filters VLANs itself: it takes the ids of the VLANs on syn. */
	ret = vlan_vids_add_by_dev(vf, syn);
	if (ret) {
		netdev_upper_dev_unlink(vf, syn);
		netdev_rx_handler_unregister(vf);
		return ret;
	}
	vf->flags |= IFF_SLAVE;
	call_netdevice_notifiers(NETDEV_JOIN, vf);
	return 0;
}

void hvn_vf_leave(struct net_device *vf, struct net_device *syn,
		  unsigned int rx_flags)
{
	ASSERT_RTNL();
	netdev_rx_handler_unregister(vf);
	/* Give back what hvn_vf_sync_rx() took: the VF's own settings stay. */
	if (rx_flags & IFF_PROMISC)
		dev_set_promiscuity(vf, -1);
	if (rx_flags & IFF_ALLMULTI)
		dev_set_allmulti(vf, -1);
	dev_uc_unsync(vf, syn);
	dev_mc_unsync(vf, syn);
	vlan_vids_del_by_dev(vf, syn);
	netdev_upper_dev_unlink(vf, syn);
	/* A VF that stays (our NIC or module went away) works on its own. */
	if (vf->reg_state == NETREG_REGISTERED) {
		vf->priv_flags &= ~IFF_NO_ADDRCONF;
		vf->flags &= ~IFF_SLAVE;
		netdev_state_change(vf);
	}
}

int hvn_vf_open(struct net_device *vf)
{
	ASSERT_RTNL();
	return dev_open(vf, NULL);
}

int hvn_vf_set_mtu(struct net_device *vf, unsigned int mtu)
{
	ASSERT_RTNL();
	return dev_set_mtu(vf, mtu);
}

/* The VF driver's set_link_ksettings, as the ethtool core calls it (under
 * the device's instance lock when it has one). */
int hvn_vf_set_link_ksettings(struct net_device *vf,
			      const struct ethtool_link_ksettings *cmd)
{
	int ret;

	ASSERT_RTNL();
	if (!netif_device_present(vf))
		return -ENODEV;
	if (!vf->ethtool_ops || !vf->ethtool_ops->set_link_ksettings)
		return -EOPNOTSUPP;
	netdev_lock_ops(vf);
	ret = vf->ethtool_ops->set_link_ksettings(vf, cmd);
	netdev_unlock_ops(vf);
	return ret;
}

void hvn_vf_close(struct net_device *vf)
{
	ASSERT_RTNL();
	dev_close(vf);
}

void hvn_vf_setup(struct net_device *vf, struct net_device *syn)
{
	ASSERT_RTNL();
	if (dev_set_mtu(vf, syn->mtu))
		netdev_warn(vf, "unable to change mtu to %u\n", syn->mtu);
	if (!ether_addr_equal(vf->dev_addr, syn->dev_addr) &&
	    hvn_vf_set_mac(vf, syn->dev_addr))
		netdev_warn(vf, "unable to take the address %pM\n", syn->dev_addr);
	if (netif_running(syn) && dev_open(vf, NULL))
		netdev_warn(vf, "unable to open\n");
}

/*
 * Mirrors syn's receive mode on the VF: promiscuous and all-multicast as
 * counted references (so the VF's own settings are kept, and `applied`
 * says which ones we hold), unicast and multicast address lists synced.
 * Returns the references held now.
 */
unsigned int hvn_vf_sync_rx(struct net_device *vf, struct net_device *syn,
			    unsigned int applied)
{
	unsigned int want = syn->flags & (IFF_PROMISC | IFF_ALLMULTI);

	ASSERT_RTNL();
	if (((want ^ applied) & IFF_PROMISC) &&
	    !dev_set_promiscuity(vf, (want & IFF_PROMISC) ? 1 : -1))
		applied ^= IFF_PROMISC;
	if (((want ^ applied) & IFF_ALLMULTI) &&
	    !dev_set_allmulti(vf, (want & IFF_ALLMULTI) ? 1 : -1))
		applied ^= IFF_ALLMULTI;
	netif_addr_lock_bh(syn);
	dev_uc_sync(vf, syn);
	dev_mc_sync(vf, syn);
	netif_addr_unlock_bh(syn);
	return applied;
}

/* 1: moved into syn's namespace, 0: already there, <0: error. */
int hvn_vf_follow_netns(struct net_device *vf, struct net_device *syn)
{
	int ret;

	ASSERT_RTNL();
	if (net_eq(dev_net(vf), dev_net(syn)))
		return 0;
	ret = dev_change_net_namespace(vf, dev_net(syn), "eth%d");
	return ret ? ret : 1;
}

int hvn_vf_vlan_vid(struct net_device *vf, u16 proto, u16 vid, bool add)
{
	ASSERT_RTNL();
	if (add)
		return vlan_vid_add(vf, htons(proto), vid);
	vlan_vid_del(vf, htons(proto), vid);
	return 0;
}

bool hvn_netdev_same_netns(const struct net_device *a, const struct net_device *b)
{
	return net_eq(dev_net(a), dev_net(b));
}

int hvn_vf_set_mac(struct net_device *vf, const u8 *mac)
{
	struct sockaddr_storage ss = {};

	ASSERT_RTNL();
	ss.ss_family = vf->type;
	memcpy(ss.__data, mac, ETH_ALEN);
	return dev_set_mac_address(vf, &ss, NULL);
}

int hvn_vf_xmit(struct sk_buff *skb, struct net_device *vf)
{
	skb->dev = vf;
	/*
	 * The VF picks its own transmit queue (its ndo_select_queue, XPS or
	 * the flow hash): the mapping our queue selection left must not read
	 * as a recorded receive queue, which the flow hash would follow.
	 */
	skb_set_queue_mapping(skb, 0);
	return dev_queue_xmit(skb);
}

void hvn_netdev_hold(struct net_device *dev)
{
	dev_hold(dev);
}

void hvn_netdev_put(struct net_device *dev)
{
	dev_put(dev);
}

bool hvn_netdev_running(const struct net_device *dev)
{
	return netif_running(dev);
}

bool hvn_netdev_carrier_ok(const struct net_device *dev)
{
	return netif_carrier_ok(dev);
}

void hvn_netdev_info(const struct net_device *dev, const char *msg)
{
	netdev_info(dev, "%s\n", msg);
}

void hvn_netdev_notice(const struct net_device *dev, const char *msg)
{
	netdev_notice(dev, "%s\n", msg);
}

void hvn_netdev_warn(const struct net_device *dev, const char *msg)
{
	netdev_warn(dev, "%s\n", msg);
}

void hvn_rtnl_lock(void)
{
	rtnl_lock();
}

void hvn_rtnl_unlock(void)
{
	rtnl_unlock();
}

/* The module's own ordered workqueue for failover work (drained at exit). */
static struct workqueue_struct *hvn_fo_wq;

int hvn_failover_wq_create(void)
{
	hvn_fo_wq = alloc_ordered_workqueue("hv_netvsc_rs_vf", 0);
	return hvn_fo_wq ? 0 : -ENOMEM;
}

void hvn_failover_wq_destroy(void)
{
	destroy_workqueue(hvn_fo_wq);
	hvn_fo_wq = NULL;
}

struct workqueue_struct *hvn_failover_wq(void)
{
	return hvn_fo_wq;
}

/* Reports every existing net device as just registered (RTNL held): a VF
 * present before the synthetic NIC is paired like a hot-added one. */
void hvn_failover_replay(void)
{
	struct net_device *dev;

	ASSERT_RTNL();
	for_each_netdev(&init_net, dev)
		hvn_rs_netdev_event(NETDEV_REGISTER, dev);
}

/* A one-shot timer on the failover workqueue calling back into Rust. */
struct hvn_timer {
	struct delayed_work dw;
	void (*fn)(void *ctx);
	void *ctx;
};

static void hvn_timer_work(struct work_struct *w)
{
	struct hvn_timer *t = container_of(to_delayed_work(w), struct hvn_timer, dw);

	t->fn(t->ctx);
}

struct hvn_timer *hvn_timer_alloc(void (*fn)(void *ctx), void *ctx)
{
	struct hvn_timer *t = kzalloc(sizeof(*t), GFP_KERNEL);

	if (!t)
		return NULL;
	INIT_DELAYED_WORK(&t->dw, hvn_timer_work);
	t->fn = fn;
	t->ctx = ctx;
	return t;
}

void hvn_timer_arm(struct hvn_timer *t, unsigned int ms)
{
	mod_delayed_work(hvn_fo_wq, &t->dw, msecs_to_jiffies(ms));
}

void hvn_timer_cancel_sync(struct hvn_timer *t)
{
	cancel_delayed_work_sync(&t->dw);
}

void hvn_timer_free(struct hvn_timer *t)
{
	cancel_delayed_work_sync(&t->dw);
	kfree(t);
}
