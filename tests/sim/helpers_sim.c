// SPDX-License-Identifier: GPL-2.0
/*
 * C helpers of the test-only simulated host; see helpers_sim.h.
 */
#include <linux/device/faux.h>
#include <linux/etherdevice.h>
#include <linux/if_vlan.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/netdevice.h>
#include <linux/rtnetlink.h>
#include <linux/skbuff.h>
#include <linux/workqueue.h>
#include <net/gso.h>

#include "helpers_sim.h"

/* Implemented in Rust (glue.rs); not in the header, so bindgen skips them. */
/*
 * Returns 1 to consume the frame, 0 to pass it on. @vlan: the frame's
 * out-of-band tag (the stack takes inline tags out before rx handlers):
 * 0 none, HVN_SIM_VLAN_CTAG | TCI for 802.1Q, HVN_SIM_VLAN_OTHER for
 * another tag protocol (802.1ad).
 */
int hvn_sim_uplink_rx(void *host, const u8 *frame, u32 len, u32 vlan);
/* The uplink is being unregistered (RTNL held). */
void hvn_sim_uplink_gone(void *host);
/* The emulated host's callbacks for a vNIC on VMBus (host work context). */
void hvn_sim_emu_opened_cb(void *host, void *chan);
int hvn_sim_emu_packet_cb(void *host, const u8 *pkt, u32 len);
void hvn_sim_emu_closed_cb(void *host);
void hvn_sim_emu_space_cb(void *host);
void hvn_sim_emu_gpadl_gone_cb(void *host, u32 handle);

static void hvn_sim_emu_opened(struct hv_emu_chan *chan, void *ctx)
{
	hvn_sim_emu_opened_cb(ctx, chan);
}

static int hvn_sim_emu_packet(struct hv_emu_chan *chan, void *ctx,
			      const struct vmpacket_descriptor *desc, u32 len)
{
	return hvn_sim_emu_packet_cb(ctx, (const u8 *)desc, len);
}

static void hvn_sim_emu_closed(struct hv_emu_chan *chan, void *ctx)
{
	hvn_sim_emu_closed_cb(ctx);
}

static void hvn_sim_emu_space(struct hv_emu_chan *chan, void *ctx)
{
	hvn_sim_emu_space_cb(ctx);
}

static void hvn_sim_emu_gpadl_gone(struct hv_emu_chan *chan, void *ctx, u32 handle)
{
	hvn_sim_emu_gpadl_gone_cb(ctx, handle);
}

static const struct hv_emu_chan_ops hvn_sim_emu_ops = {
	.opened = hvn_sim_emu_opened,
	.packet = hvn_sim_emu_packet,
	.closed = hvn_sim_emu_closed,
	.space = hvn_sim_emu_space,
	.gpadl_gone = hvn_sim_emu_gpadl_gone,
};

int hvn_sim_emu_get(struct hvn_sim_emu *e)
{
	*e = (struct hvn_sim_emu){};
	e->offer = symbol_get(hv_emu_offer_channel);
	e->remove = symbol_get(hv_emu_remove_channel);
	e->send_raw = symbol_get(hv_emu_chan_send_raw);
	e->write_avail = symbol_get(hv_emu_chan_write_avail);
	e->want_space = symbol_get(hv_emu_chan_want_space);
	e->kick = symbol_get(hv_emu_chan_kick);
	e->gpadl_get = symbol_get(hv_emu_gpadl_get);
	e->guest_page = symbol_get(hv_emu_guest_page);
	if (!e->offer || !e->remove || !e->send_raw || !e->write_avail || !e->want_space ||
	    !e->kick || !e->gpadl_get || !e->guest_page) {
		hvn_sim_emu_put(e);
		return -ENOENT;
	}
	return 0;
}

void hvn_sim_emu_put(struct hvn_sim_emu *e)
{
	if (e->offer)
		symbol_put(hv_emu_offer_channel);
	if (e->remove)
		symbol_put(hv_emu_remove_channel);
	if (e->send_raw)
		symbol_put(hv_emu_chan_send_raw);
	if (e->write_avail)
		symbol_put(hv_emu_chan_write_avail);
	if (e->want_space)
		symbol_put(hv_emu_chan_want_space);
	if (e->kick)
		symbol_put(hv_emu_chan_kick);
	if (e->gpadl_get)
		symbol_put(hv_emu_gpadl_get);
	if (e->guest_page)
		symbol_put(hv_emu_guest_page);
	*e = (struct hvn_sim_emu){};
}

int hvn_sim_emu_offer(struct hvn_sim_emu *e, const u8 *instance, void *host)
{
	static const struct hv_vmbus_device_id nic = { HV_NIC_GUID };
	struct hv_emu_chan *chan;
	guid_t id;

	if (!e->offer || e->chan)
		return -EINVAL;
	memcpy(id.b, instance, sizeof(id.b));
	chan = e->offer(&nic.guid, &id, &hvn_sim_emu_ops, host);
	if (IS_ERR(chan))
		return PTR_ERR(chan);
	e->chan = chan;
	return 0;
}

int hvn_sim_emu_remove(struct hvn_sim_emu *e)
{
	int ret;

	if (!e->remove || !e->chan)
		return 0;
	ret = e->remove(e->chan);
	e->chan = NULL;
	return ret;
}

int hvn_sim_emu_send(const struct hvn_sim_emu *e, const void *pkt, u32 len)
{
	return e->chan ? e->send_raw(e->chan, pkt, len) : -ENOTCONN;
}

u32 hvn_sim_emu_write_avail(const struct hvn_sim_emu *e)
{
	return e->chan ? e->write_avail(e->chan) : 0;
}

bool hvn_sim_emu_want_space(const struct hvn_sim_emu *e, u32 bytes)
{
	return e->chan ? e->want_space(e->chan, bytes) : false;
}

void hvn_sim_emu_kick(const struct hvn_sim_emu *e)
{
	if (e->chan)
		e->kick(e->chan);
}

void *hvn_sim_emu_gpadl(const struct hvn_sim_emu *e, u32 handle, u32 *size)
{
	return e->chan ? e->gpadl_get(e->chan, handle, size) : NULL;
}

void *hvn_sim_emu_page(const struct hvn_sim_emu *e, u64 pfn)
{
	return e->guest_page ? e->guest_page(pfn) : NULL;
}

int hvn_sim_syms_get(struct hvn_sim_syms *s)
{
	s->reg = symbol_get(hvn_transport_register);
	s->unreg = symbol_get(hvn_transport_unregister);
	s->event = symbol_get(hvn_transport_event);
	if (!s->reg || !s->unreg || !s->event) {
		hvn_sim_syms_put(s);
		return -ENOENT;
	}
	return 0;
}

void hvn_sim_syms_put(struct hvn_sim_syms *s)
{
	if (s->reg)
		symbol_put(hvn_transport_register);
	if (s->unreg)
		symbol_put(hvn_transport_unregister);
	if (s->event)
		symbol_put(hvn_transport_event);
	s->reg = NULL;
	s->unreg = NULL;
	s->event = NULL;
}

int hvn_sim_call_register(const struct hvn_sim_syms *s, struct hvn_transport *t)
{
	return s->reg ? s->reg(t) : -ENOENT;
}

void hvn_sim_call_unregister(const struct hvn_sim_syms *s, struct hvn_transport *t)
{
	if (s->unreg)
		s->unreg(t);
}

void hvn_sim_call_event(const struct hvn_sim_syms *s, struct hvn_transport *t)
{
	if (s->event)
		s->event(t);
}

struct device *hvn_sim_dev_create(const char *name)
{
	struct faux_device *fdev = faux_device_create(name, NULL, NULL);

	return fdev ? &fdev->dev : NULL;
}

void hvn_sim_dev_destroy(struct device *dev)
{
	if (dev)
		faux_device_destroy(container_of(dev, struct faux_device, dev));
}

void *hvn_sim_pfn_to_virt(u64 pfn)
{
	if (pfn > ULONG_MAX || !pfn_valid(pfn))
		return NULL;
	if (PageHighMem(pfn_to_page(pfn)))
		return NULL;
	return page_address(pfn_to_page(pfn));
}

void *hvn_sim_wq_create(void)
{
	return alloc_ordered_workqueue("hv_netvsc_sim", 0);
}

void hvn_sim_wq_flush(void *wq)
{
	flush_workqueue((struct workqueue_struct *)wq);
}

void hvn_sim_wq_destroy(void *wq)
{
	destroy_workqueue((struct workqueue_struct *)wq);
}

/*
 * One frame as a wire would carry it, from its Ethernet header at @frame:
 * a checksum left to the device (a virtual peer such as veth passes
 * CHECKSUM_PARTIAL through) is completed first. Returns whether the host
 * consumed it (the frame was for the vNIC); -1 if it could not be read.
 */
static int hvn_sim_frame_rx(void *host, struct sk_buff *skb, const u8 *frame)
{
	unsigned int hlen = skb->data - frame;
	u32 vlan = 0;

	if (skb->ip_summed == CHECKSUM_PARTIAL && skb_checksum_help(skb))
		return -1;
	if (skb_linearize(skb))
		return -1;
	if (skb_vlan_tag_present(skb))
		vlan = skb->vlan_proto == htons(ETH_P_8021Q) ?
			       HVN_SIM_VLAN_CTAG | skb_vlan_tag_get(skb) :
			       HVN_SIM_VLAN_OTHER;
	/* Linearizing may move the data; the Ethernet header stays hlen before it. */
	return hvn_sim_uplink_rx(host, skb->data - hlen, skb->len + hlen, vlan);
}

static rx_handler_result_t hvn_sim_rx_handler(struct sk_buff **pskb)
{
	struct sk_buff *skb = *pskb, *segs, *seg, *next;
	void *host = rcu_dereference(skb->dev->rx_handler_data);
	int consumed = 0;

	if (skb->pkt_type == PACKET_LOOPBACK || !skb_mac_header_was_set(skb))
		return RX_HANDLER_PASS;
	if (skb->data - skb_mac_header(skb) != ETH_HLEN)
		return RX_HANDLER_PASS;
	/* Completing, linearizing and segmenting change the buffer: ours alone. */
	skb = skb_share_check(skb, GFP_ATOMIC);
	if (!skb)
		return RX_HANDLER_CONSUMED;
	*pskb = skb;
	if (!skb_is_gso(skb)) {
		if (hvn_sim_frame_rx(host, skb, skb_mac_header(skb)) > 0) {
			consume_skb(skb);
			return RX_HANDLER_CONSUMED;
		}
		return RX_HANDLER_PASS;
	}
	/*
	 * A virtual peer hands over whole TSO sends (a host NIC never does,
	 * and GRO is off here): cut them into the frames a wire would carry,
	 * checksummed in software.
	 */
	__skb_push(skb, ETH_HLEN);
	segs = skb_gso_segment(skb, 0);
	__skb_pull(skb, ETH_HLEN);
	if (IS_ERR_OR_NULL(segs))
		return RX_HANDLER_PASS;
	skb_list_walk_safe(segs, seg, next) {
		skb_mark_not_on_list(seg);
		if (hvn_sim_frame_rx(host, seg, seg->data) > 0)
			consumed = 1;
		consume_skb(seg);
	}
	if (consumed) {
		consume_skb(skb);
		return RX_HANDLER_CONSUMED;
	}
	return RX_HANDLER_PASS;
}

void hvn_sim_rtnl_lock(void)
{
	rtnl_lock();
}

void hvn_sim_rtnl_unlock(void)
{
	rtnl_unlock();
}

void *hvn_sim_uplink_attach_locked(const char *name, void *host, int *err)
{
	struct net_device *dev;

	ASSERT_RTNL();
	dev = __dev_get_by_name(&init_net, name);
	if (!dev) {
		*err = -ENODEV;
		return NULL;
	}
	*err = netdev_rx_handler_register(dev, hvn_sim_rx_handler, host);
	if (*err)
		return NULL;
	dev_hold(dev);
	dev_set_promiscuity(dev, 1);
	/* The vSwitch sees frames as they came off the wire: GRO would merge
	 * them beyond the guest's MTU. */
	dev->wanted_features &= ~NETIF_F_GRO;
	netdev_update_features(dev);
	return dev;
}

void hvn_sim_uplink_release_locked(void *p)
{
	struct net_device *dev = p;

	ASSERT_RTNL();
	dev->wanted_features |= NETIF_F_GRO;
	netdev_update_features(dev);
	dev_set_promiscuity(dev, -1);
	netdev_rx_handler_unregister(dev);
	dev_put(dev);
}

/* A buffer holding @head then @rest, an Ethernet frame for @dev. */
static struct sk_buff *hvn_sim_frame_skb(struct net_device *dev, const u8 *head,
					 u32 hlen, const u8 *rest, u32 rlen)
{
	struct sk_buff *skb = netdev_alloc_skb(dev, hlen + rlen);

	if (!skb)
		return NULL;
	skb_put_data(skb, head, hlen);
	if (rlen)
		skb_put_data(skb, rest, rlen);
	skb_reset_mac_header(skb);
	skb->protocol = eth_hdr(skb)->h_proto;
	skb->dev = dev;
	return skb;
}

/*
 * The vSwitch puts a guest's 802.1Q tag (@vlan: TCI, or -1 for none) on
 * the frame it sends: out of band, so the uplink inserts it as it does
 * (in hardware, or the stack in software when the device cannot).
 */
static void hvn_sim_tag(struct sk_buff *skb, int vlan)
{
	if (vlan >= 0)
		__vlan_hwaccel_put_tag(skb, htons(ETH_P_8021Q), vlan);
}

int hvn_sim_uplink_xmit(void *p, const u8 *frame, u32 len, int vlan)
{
	struct sk_buff *skb;

	if (len < ETH_HLEN)
		return -EINVAL;
	skb = hvn_sim_frame_skb(p, frame, len, NULL, 0);
	if (!skb)
		return -ENOMEM;
	hvn_sim_tag(skb, vlan);
	return dev_queue_xmit(skb);
}

int hvn_sim_uplink_xmit_offload(void *p, const u8 *head, u32 hlen,
				const u8 *rest, u32 rlen, u32 l4, u32 csum_offset,
				u32 mss, bool v6, int vlan)
{
	struct net_device *dev = p;
	struct sk_buff *skb;
	u32 len = hlen + rlen;

	if (hlen < ETH_HLEN || len < hlen || l4 < ETH_HLEN ||
	    l4 > len || csum_offset + 2 > len - l4)
		return -EINVAL;
	skb = hvn_sim_frame_skb(dev, head, hlen, rest, rlen);
	if (!skb)
		return -ENOMEM;
	skb_set_network_header(skb, ETH_HLEN);
	skb_set_transport_header(skb, l4);
	skb->ip_summed = CHECKSUM_PARTIAL;
	skb->csum_start = skb_headroom(skb) + l4;
	skb->csum_offset = csum_offset;
	if (mss) {
		/* From the guest: the stack re-checks the headers (DODGY). */
		skb_shinfo(skb)->gso_size = mss;
		skb_shinfo(skb)->gso_type =
			(v6 ? SKB_GSO_TCPV6 : SKB_GSO_TCPV4) | SKB_GSO_DODGY;
		skb_shinfo(skb)->gso_segs = 0;
	}
	hvn_sim_tag(skb, vlan);
	return dev_queue_xmit(skb);
}

void hvn_sim_dev_hold(void *dev)
{
	dev_hold((struct net_device *)dev);
}

void hvn_sim_dev_put(void *dev)
{
	dev_put((struct net_device *)dev);
}

static int hvn_sim_netdev_event(struct notifier_block *nb, unsigned long event, void *ptr)
{
	struct net_device *dev = netdev_notifier_info_to_dev(ptr);
	void *host;

	if (event != NETDEV_UNREGISTER)
		return NOTIFY_DONE;
	if (rtnl_dereference(dev->rx_handler) != hvn_sim_rx_handler)
		return NOTIFY_DONE;
	host = rtnl_dereference(dev->rx_handler_data);
	hvn_sim_uplink_gone(host);
	hvn_sim_uplink_release_locked(dev);
	return NOTIFY_OK;
}

static struct notifier_block hvn_sim_notifier = {
	.notifier_call = hvn_sim_netdev_event,
};

int hvn_sim_notifier_register(void)
{
	return register_netdevice_notifier(&hvn_sim_notifier);
}

void hvn_sim_notifier_unregister(void)
{
	unregister_netdevice_notifier(&hvn_sim_notifier);
}
