/* SPDX-License-Identifier: GPL-2.0 */
/*
 * C helpers of the test-only simulated host (hv_netvsc_sim.ko): what Rust
 * cannot reach through bindgen (macros, inline functions) and the few
 * callbacks that must be C (rx_handler, netdev notifier).
 */
#ifndef HVN_SIM_HELPERS_H
#define HVN_SIM_HELPERS_H

#include <linux/types.h>

#include "../../drivers/bindings/hvn_transport.h"
#include "../emu/hv_emu_host.h"

/* The driver's entry points, looked up at run time (symbol_get), so the
 * simulator loads (and builds) whether or not the driver exports them. */
struct hvn_sim_syms {
	int (*reg)(struct hvn_transport *t);
	void (*unreg)(struct hvn_transport *t);
	void (*event)(struct hvn_transport *t);
};

int hvn_sim_syms_get(struct hvn_sim_syms *s);
void hvn_sim_syms_put(struct hvn_sim_syms *s);
int hvn_sim_call_register(const struct hvn_sim_syms *s, struct hvn_transport *t);
void hvn_sim_call_unregister(const struct hvn_sim_syms *s, struct hvn_transport *t);
void hvn_sim_call_event(const struct hvn_sim_syms *s, struct hvn_transport *t);

/*
 * The emulated host's device-model API (hv_emu_host.ko, tests/emu/), looked
 * up at run time too, so the simulator loads on a boot without it: a vNIC
 * with transport "vmbus" is a VMBus channel offered through it. @chan is
 * the offered channel (NULL before the offer and after its removal); the
 * callbacks' context is the vNIC's host (glue.rs, hvn_sim_emu_*_cb).
 */
struct hvn_sim_emu {
	struct hv_emu_chan *chan;
	typeof(&hv_emu_offer_channel) offer;
	typeof(&hv_emu_remove_channel) remove;
	typeof(&hv_emu_chan_send_raw) send_raw;
	typeof(&hv_emu_chan_write_avail) write_avail;
	typeof(&hv_emu_chan_want_space) want_space;
	typeof(&hv_emu_chan_kick) kick;
	typeof(&hv_emu_gpadl_get) gpadl_get;
	typeof(&hv_emu_guest_page) guest_page;
};

int hvn_sim_emu_get(struct hvn_sim_emu *e);
void hvn_sim_emu_put(struct hvn_sim_emu *e);
/* Offer a synthetic NIC channel of instance @instance (16 bytes). */
int hvn_sim_emu_offer(struct hvn_sim_emu *e, const u8 *instance, void *host);
/* Rescind it and wait for the guest (hv_emu_remove_channel()). */
int hvn_sim_emu_remove(struct hvn_sim_emu *e);
int hvn_sim_emu_send(const struct hvn_sim_emu *e, const void *pkt, u32 len);
u32 hvn_sim_emu_write_avail(const struct hvn_sim_emu *e);
bool hvn_sim_emu_want_space(const struct hvn_sim_emu *e, u32 bytes);
void hvn_sim_emu_kick(const struct hvn_sim_emu *e);
void *hvn_sim_emu_gpadl(const struct hvn_sim_emu *e, u32 handle, u32 *size);
void *hvn_sim_emu_page(const struct hvn_sim_emu *e, u64 pfn);

/* A parent device for the guest's net_device (a faux device). */
struct device *hvn_sim_dev_create(const char *name);
void hvn_sim_dev_destroy(struct device *dev);

/* Kernel virtual address of a (4 KiB, x86) page frame, NULL if invalid. */
void *hvn_sim_pfn_to_virt(u64 pfn);

/* A dedicated workqueue, so teardown can flush it. */
void *hvn_sim_wq_create(void);
void hvn_sim_wq_flush(void *wq);
void hvn_sim_wq_destroy(void *wq);

/*
 * Uplink: a guest netdev by name. Both calls need RTNL (the notifier runs
 * under it too, so "who releases" is decided under RTNL). attach takes a
 * reference, registers an rx_handler whose data is `host` and raises
 * promiscuity; release undoes all three. Returns the netdev or NULL.
 */
void hvn_sim_rtnl_lock(void);
void hvn_sim_rtnl_unlock(void);
void *hvn_sim_uplink_attach_locked(const char *name, void *host, int *err);
void hvn_sim_uplink_release_locked(void *dev);
/* Transmit a copy of frame on dev (process context). */
/* @vlan: an 802.1Q TCI to send the frame with, or -1. */
int hvn_sim_uplink_xmit(void *dev, const u8 *frame, u32 len, int vlan);
/* Sends head + rest with the transport checksum at l4 + csum_offset left to
 * the device; mss != 0 makes it a TCP segmentation send (untrusted). */
int hvn_sim_uplink_xmit_offload(void *dev, const u8 *head, u32 hlen,
				const u8 *rest, u32 rlen, u32 l4, u32 csum_offset,
				u32 mss, bool v6, int vlan);
/* The tag of a frame from the uplink, as hvn_sim_uplink_rx() gets it. */
#define HVN_SIM_VLAN_CTAG 0x10000
#define HVN_SIM_VLAN_OTHER 0x20000
void hvn_sim_dev_hold(void *dev);
void hvn_sim_dev_put(void *dev);
int hvn_sim_notifier_register(void);
void hvn_sim_notifier_unregister(void);

#endif
