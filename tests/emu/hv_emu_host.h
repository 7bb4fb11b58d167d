/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * hv_emu_host: the emulated Hyper-V host's interface for host-side device
 * models in other test modules (docs/emulator.md). Test-only.
 *
 * A device model offers a channel of its class and instance; the guest sees
 * a VMBus device appear (an offer at REQUESTOFFERS, or at once when VMBus is
 * already connected). When the guest's driver opens it, the host maps the
 * ring GPADL and calls ->opened(); each packet the guest writes into its
 * outbound ring arrives in ->packet() (a copy: descriptor first, then
 * payload, len8 * 8 bytes); ->closed() comes when the guest closes the
 * channel, before the host lets go of the ring. All callbacks run in the
 * host's ordered work item (process context, may sleep), never two at once.
 *
 * hv_emu_chan_send() writes one packet into the guest's inbound ring and
 * signals the guest unless its interrupt_mask is set; it may be called from
 * any context once ->opened() ran, until ->closed() returns.
 */
#ifndef HV_EMU_HOST_H
#define HV_EMU_HOST_H

#include <linux/types.h>
#include <linux/uuid.h>

struct hv_emu_chan;
struct vmpacket_descriptor;

struct hv_emu_chan_ops {
	/* The guest opened the channel; its rings are mapped. */
	void (*opened)(struct hv_emu_chan *chan, void *ctx);
	/* A packet from the guest: @len bytes, the descriptor first. */
	void (*packet)(struct hv_emu_chan *chan, void *ctx,
		       const struct vmpacket_descriptor *desc, u32 len);
	/* The guest closed the channel (or VMBus went); rings still mapped. */
	void (*closed)(struct hv_emu_chan *chan, void *ctx);
};

/*
 * Offer a channel. Returns the channel or an ERR_PTR (-ENOSPC: no relid
 * left, -EINVAL). The offer is sent at once when VMBus is connected,
 * otherwise at the guest's REQUESTOFFERS.
 */
struct hv_emu_chan *hv_emu_offer_channel(const guid_t *class_id, const guid_t *instance_id,
					 const struct hv_emu_chan_ops *ops, void *ctx);

/*
 * Take the offer back: the host rescinds it and waits (up to 30 s) for the
 * guest's RELID_RELEASED, which comes after its driver let go of the
 * channel. Process context; not from a callback. Returns 0 or -ETIMEDOUT
 * (counted as unexpected; the relid then stays taken, and no callback of
 * @chan's ops runs after the return either way).
 */
int hv_emu_remove_channel(struct hv_emu_chan *chan);

/*
 * Write one packet into the guest's inbound ring: @type (VM_PKT_*), @flags,
 * @trans_id, @len bytes of payload after the descriptor. Returns 0,
 * -ENOTCONN (not open, or the ring broke), -EAGAIN (no room), -EINVAL.
 */
int hv_emu_chan_send(struct hv_emu_chan *chan, u16 type, u16 flags, u64 trans_id,
		     const void *data, u32 len);

/* The channel's relid (child_relid of its offer). */
u32 hv_emu_chan_relid(const struct hv_emu_chan *chan);

#endif /* HV_EMU_HOST_H */
