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
 *
 * For a host of the netvsc kind: the guest's GPADLs of the channel (receive
 * and send buffers) are mapped by the host once created; hv_emu_gpadl_get()
 * gives a model the mapping, valid until ->gpadl_gone() for that handle
 * returns (the guest tore it down, the relid was released, or VMBus
 * unloaded). Packets with headers of their own (transfer-page packets,
 * completions of any layout) go with hv_emu_chan_send_raw(). A model that
 * cannot take a packet now (its answers would not fit) returns -EAGAIN from
 * ->packet(): the packet stays in the ring and reading stops until
 * hv_emu_chan_kick(); hv_emu_chan_want_space() makes the guest signal the
 * host when its reading frees space (->space()).
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
	/*
	 * A packet from the guest: @len bytes, the descriptor first. 0: taken;
	 * -EAGAIN: not now, left in the ring (reading resumes at
	 * hv_emu_chan_kick()); anything else counts as taken.
	 */
	int (*packet)(struct hv_emu_chan *chan, void *ctx,
		      const struct vmpacket_descriptor *desc, u32 len);
	/* The guest closed the channel (or VMBus went); rings still mapped. */
	void (*closed)(struct hv_emu_chan *chan, void *ctx);
	/* Optional: the space asked for with hv_emu_chan_want_space() is free. */
	void (*space)(struct hv_emu_chan *chan, void *ctx);
	/* Optional: GPADL @handle of the channel goes; stop using its mapping. */
	void (*gpadl_gone)(struct hv_emu_chan *chan, void *ctx, u32 handle);
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

/*
 * Write one whole packet (descriptor first, as the guest will read it; @len
 * a multiple of 8, at most 16 KiB) into the guest's inbound ring as it is:
 * the host does not check the descriptor (fault injection may break it on
 * purpose). Same context and returns as hv_emu_chan_send().
 */
int hv_emu_chan_send_raw(struct hv_emu_chan *chan, const void *pkt, u32 len);

/* Bytes a packet (descriptor included) may take in the inbound ring now. */
u32 hv_emu_chan_write_avail(struct hv_emu_chan *chan);

/*
 * Ask for ->space() once the guest's reading leaves more than @bytes free
 * in the inbound ring (the ring's pending_send_sz; 0 withdraws). Returns
 * true, asking nothing, when that much is free already. Any context.
 */
bool hv_emu_chan_want_space(struct hv_emu_chan *chan, u32 bytes);

/* Read the guest's outbound ring again (after ->packet() said -EAGAIN). */
void hv_emu_chan_kick(struct hv_emu_chan *chan);

/*
 * The host's mapping of GPADL @handle of @chan's relid: a pointer to its
 * first byte and its size in *@size, or NULL (no such created GPADL). Valid
 * until ->gpadl_gone(@handle) returns. Call it from a callback of @chan
 * (the host's work, which also frees GPADLs).
 */
void *hv_emu_gpadl_get(struct hv_emu_chan *chan, u32 handle, u32 *size);

/*
 * A guest page frame (GPA-direct packets name them) in the host's address
 * space, or NULL when it is not RAM. The guest keeps a page named in a
 * packet until the host completes that packet.
 */
void *hv_emu_guest_page(u64 pfn);

/* The channel's relid (child_relid of its offer). */
u32 hv_emu_chan_relid(const struct hv_emu_chan *chan);

#endif /* HV_EMU_HOST_H */
