/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The transport seam of hv_netvsc_rs: a VMBus channel as a packet pipe.
 *
 * On Hyper-V the driver binds VMBus devices itself (vmbus/). Any other
 * provider of a netvsc channel (the project's test-only simulated host)
 * fills a struct hvn_transport and calls hvn_transport_register(); the
 * driver then probes it exactly as it probes a VMBus device, speaking the
 * same NVSP/RNDIS bytes. hv_netvsc_rs never depends on a provider: providers
 * depend on hv_netvsc_rs (these symbols are exported by it).
 *
 * Packets are VMBus packets as on the ring: guest->host packets are given to
 * ->send() as their parts (the provider frames them); host->guest packets are
 * copied out whole (descriptor first) by ->recv(), so the driver parses a
 * private copy that the host can no longer change.
 */
#ifndef HVN_TRANSPORT_H
#define HVN_TRANSPORT_H

#include <linux/hyperv.h>
#include <linux/types.h>
#include <linux/uuid.h>

struct hvn_transport;

/* A guest->host packet. */
struct hvn_send {
	u16 type;		/* VM_PKT_DATA_INBAND, VM_PKT_COMP or VM_PKT_DATA_USING_GPA_DIRECT */
	u16 flags;		/* VMBUS_DATA_PACKET_FLAG_COMPLETION_REQUESTED or 0 */
	u64 trans_id;		/* echoed by the host in its completion */
	const void *payload;	/* the NVSP message */
	u32 len;
	u32 page_count;		/* GPA-direct only: ranges of guest memory */
	const struct hv_page_buffer *pages;
};

/*
 * Provider callbacks. All may be called in process context; ->send(),
 * ->recv(), ->write_avail() and ->want_write_space() also in softirq
 * context (NAPI, xmit), so they must not sleep. Return 0 or a negative errno.
 */
struct hvn_transport_ops {
	/* Open the channel with rings of ring_size bytes each way. */
	int (*open)(struct hvn_transport *t, u32 ring_size);
	/* Close it: after return no more events, sends fail with -EBADF. */
	void (*close)(struct hvn_transport *t);
	/* Queue one packet to the host; -EAGAIN when the ring is full. */
	int (*send)(struct hvn_transport *t, const struct hvn_send *pkt);
	/*
	 * Copy the next host->guest packet (descriptor included) into buf and
	 * consume it. *pkt_len = 0 when none is pending; -EMSGSIZE (packet
	 * kept, *pkt_len = its size) when buf is too small.
	 */
	int (*recv)(struct hvn_transport *t, void *buf, u32 buf_len, u32 *pkt_len);
	/* Bytes that ->send() can queue now. */
	u32 (*write_avail)(struct hvn_transport *t);
	/*
	 * The outbound ring's pending_send_sz: signal the guest (call
	 * hvn_transport_event) when the free space grows from below size to
	 * size or more; 0 withdraws it.
	 */
	void (*want_write_space)(struct hvn_transport *t, u32 size);
	/*
	 * The inbound ring's interrupt_mask: while masked (begin_read), the
	 * host does not signal new host->guest packets; end_read unmasks and
	 * returns true when packets are pending (the guest polls again).
	 * Called in any context, hard IRQ included.
	 */
	void (*begin_read)(struct hvn_transport *t);
	bool (*end_read)(struct hvn_transport *t);
	/* Share [buf, buf + size) (vmalloc'd, page aligned) with the host. */
	int (*establish_gpadl)(struct hvn_transport *t, void *buf, u32 size, u32 *gpadl);
	int (*teardown_gpadl)(struct hvn_transport *t, u32 gpadl);
};

struct hvn_transport {
	const struct hvn_transport_ops *ops;
	/* Parent of the net_device in sysfs; owned by the provider. */
	struct device *dev;
	/* The device instance id, as a VMBus device's (dev_id). */
	guid_t instance;
	/* Driver-private: set by hvn_transport_register, cleared by unregister. */
	void *drvdata;
};

/* Bind the driver to t (probe); t must stay valid until unregistered. */
int hvn_transport_register(struct hvn_transport *t);
/* Unbind (remove): the net_device goes away, ->close() has been called. */
void hvn_transport_unregister(struct hvn_transport *t);
/* Provider -> driver: host->guest packets are pending. Any context. */
void hvn_transport_event(struct hvn_transport *t);

#endif
