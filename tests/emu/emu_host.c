// SPDX-License-Identifier: GPL-2.0-only
/*
 * hv_emu_host: a test-only emulated Hyper-V host for the test kernel's
 * hv_emu hooks (tests/kernel/patches, docs/emulator.md). Never needed by the
 * driver; built only with CONFIG_HYPERV_EMU.
 *
 * It registers struct hv_emu_ops and plays the hypervisor and the VMBus host:
 *
 * - SynIC per VP (VP index = Linux CPU number, as hv_emu.c reports):
 *   SCONTROL, SVERSION, SIEFP, SIMP, EOM, SINT0..15. The message and event
 *   flags pages are the guest's own pages (hv_vmbus allocates them), used in
 *   place.
 * - HvPostMessage (guest -> host, connection ids 1 and 4) and HvSignalEvent
 *   (an open channel's connection id 0x2000 + relid: its outbound ring is
 *   read in the host's work), with the hypervisor's status codes for bad
 *   input.
 * - Host -> guest messages on the VMBus SINT: written into the target VP's
 *   message slot only when it is free; a busy slot gets msg_pending and the
 *   message waits for the guest's EOM write. Each delivery raises the SINT's
 *   vector on the target CPU with a fixed IPI (the test kernel's hints make
 *   the guest EOI the local APIC itself).
 * - The VMBus host side, in a work item (never in hypercall context):
 *   INITIATE_CONTACT -> VERSION_RESPONSE, REQUESTOFFERS -> offers (param
 *   nic_offers, and channels of device models) and ALLOFFERS_DELIVERED,
 *   GPADLs (PFNs stored), OPENCHANNEL (the ring GPADL mapped), CLOSECHANNEL,
 *   GPADL_TEARDOWN, RELID_RELEASED, UNLOAD -> UNLOAD_RESPONSE.
 * - Channel rings as a host: the guest's outbound ring read and validated
 *   on its signal, honouring pending_send_sz; packets written into its
 *   inbound ring, signalled through the SIEFP page and the SINT's vector
 *   unless its interrupt_mask is set. A bad ring stops the channel.
 * - An API for device models in other test modules (hv_emu_host.h), and a
 *   built-in NVSP INIT refusal for the NIC (nvsp_init_reply).
 *
 * Anything this host does not expect is logged as "hv_emu_host: unexpected
 * ..." (a splat for the runner) and counted in
 * /sys/module/hv_emu_host/parameters/unexpected.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/slab.h>
#include <linux/list.h>
#include <linux/spinlock.h>
#include <linux/workqueue.h>
#include <linux/completion.h>
#include <linux/percpu.h>
#include <linux/cpumask.h>
#include <linux/mm.h>
#include <linux/vmalloc.h>
#include <linux/io.h>
#include <linux/sysfs.h>
#include <linux/hyperv.h>
#include <asm/apic.h>
#include <asm/sync_bitops.h>
#include <asm/mshyperv.h>
#include <hyperv/hvhdk.h>
/* NVSP's numbers, for the built-in responder (nvsp_init_reply). */
#include <drivers/net/hyperv/hyperv_net.h>

#include "hv_emu_host.h"

/* The VMBus host's fixed facts (as Hyper-V; drivers/hv/hyperv_vmbus.h). */
#define EMU_VMBUS_SINT		2	/* the SINT VMBus messages arrive on */
#define EMU_CONN_ID_MESSAGE	1	/* the host's message port */
#define EMU_CONN_ID_MULTICLIENT	4	/* INITIATE_CONTACT from 5.0 on */
#define EMU_VMBUS_MSG_TYPE	1	/* hv_message type of VMBus messages */
/* Guest messages waiting for the host before INSUFFICIENT_BUFFERS. */
#define EMU_INBOX_MAX		64
#define EMU_NIC_RELID		1	/* the built-in NIC (nic_offers) */
#define EMU_CONN_ID_BASE	0x2000	/* a channel's event port: base + relid */
#define EMU_NIC_CONN_ID		(EMU_CONN_ID_BASE + EMU_NIC_RELID)
#define EMU_MAX_CHANNELS	8	/* relids 1..8 */
#define EMU_MAX_GPADLS		16
#define EMU_GPADL_MAX_PFNS	(1U << 16)	/* 256 MiB */
/* The largest packet the host takes from a guest's ring (a copy). */
#define EMU_MAX_PACKET		16384
#define EMU_RELEASE_TIMEOUT	(30 * HZ)

/* HV_INPUT_POST_MESSAGE (TLFS): what the guest's input page holds. */
struct emu_post_input {
	u32 connection_id;
	u32 reserved;
	u32 message_type;
	u32 payload_size;
	u8 payload[HV_MESSAGE_PAYLOAD_BYTE_COUNT];
} __packed;

/* HV_INPUT_SIGNAL_EVENT (TLFS), 8 bytes: a fast call's first register. */
union emu_signal_input {
	u64 as_u64;
	struct {
		u32 connection_id;
		u16 flag_number;
		u16 reserved;
	} __packed;
};

/* One message in either direction. */
struct emu_msg {
	struct list_head node;
	u32 conn_id;
	u32 type;
	u32 size;
	u8 data[HV_MESSAGE_PAYLOAD_BYTE_COUNT];
};

/* One VP's SynIC. */
struct emu_vp {
	spinlock_t lock;
	u64 scontrol;
	u64 simp;
	u64 siefp;
	u64 sint[HV_SYNIC_SINT_COUNT];
	struct hv_message_page *msg_page;	/* SIMP's page, when enabled */
	void *event_page;			/* SIEFP's page, when enabled */
	struct list_head outbox;		/* host -> guest, VMBus SINT */
};

static DEFINE_PER_CPU(struct emu_vp, emu_vps);

/*
 * One ring of a channel as the host sees it: the guest's struct
 * hv_ring_buffer header page and the data pages after it. @index is the
 * host's own copy of the index it owns (read_index of the guest's outbound
 * ring, write_index of its inbound ring): the guest can scribble on the
 * header, so the host never reads back what it owns.
 */
struct emu_ring {
	struct hv_ring_buffer *hdr;
	u8 *data;
	u32 size;	/* data bytes, a multiple of PAGE_SIZE */
	u32 index;
};

struct hv_emu_chan {
	u32 relid;
	u32 conn_id;
	guid_t class_id;
	guid_t instance_id;
	const struct hv_emu_chan_ops *ops;
	void *ctx;
	bool used;		/* slot taken */
	bool offered;		/* offer sent to the guest (work only) */
	bool rescinded;		/* RESCIND sent, RELID_RELEASED awaited */
	bool open;		/* read locklessly by HvSignalEvent */
	bool broken;		/* a bad ring: no more reads or writes */
	u32 target_vp;
	u32 ring_gpadl;
	u32 want_space;		/* the inbound ring's pending_send_sz the model asked for */
	struct work_struct work;	/* reads the outbound ring */
	struct completion released;
	spinlock_t lock;	/* the inbound ring, and the mapping's pointers */
	void *map;		/* vmap of the ring GPADL's pages */
	struct emu_ring out;	/* guest -> host */
	struct emu_ring in;	/* host -> guest */
	u8 *pkt;		/* the copy of the packet being handled */
};

struct emu_gpadl {
	u32 handle;
	u32 relid;
	u32 expected;	/* PFNs the header announced */
	u32 received;
	bool created;
	bool bad;	/* refused: answered with a failure when complete */
	u64 *pfns;	/* @expected of them, when not @bad */
	u32 byte_offset;	/* of the range, in the first page */
	u32 byte_count;
	void *map;	/* vmap of its pages once created (device models' access) */
};

static struct {
	spinlock_t inbox_lock;
	struct list_head inbox;		/* guest -> host, for the work */
	unsigned int inbox_len;
	struct workqueue_struct *wq;
	struct work_struct work;
	/* The VMBus connection; written only by the work. */
	bool connected;
	u32 version;
	u32 target_vp;
	u64 monitor_page1;
	u64 monitor_page2;
	bool offers_sent;
	struct mutex chan_mutex;	/* slots taken and given back (API) */
	struct hv_emu_chan chans[EMU_MAX_CHANNELS];	/* relid = index + 1 */
	struct emu_gpadl gpadls[EMU_MAX_GPADLS];
} host;

static atomic_t emu_unexpected = ATOMIC_INIT(0);
static atomic_t emu_posted, emu_delivered, emu_eoms, emu_pending_set,
	emu_signals, emu_rejected, emu_unloads;
static atomic_t emu_gpadls_created, emu_gpadls_torndown, emu_opens, emu_closes,
	emu_chan_signals;
static atomic_t emu_pkts_read, emu_pkts_written, emu_guest_signals, emu_ring_errors,
	emu_ring_full, emu_space_signals, emu_nvsp_inits, emu_offers, emu_rescinds,
	emu_released, emu_space_wakeups, emu_model_busy;

static uint max_version = VERSION_WIN10_V6_0;
module_param(max_version, uint, 0444);
MODULE_PARM_DESC(max_version,
		 "Highest VMBus version the host accepts (major << 16 | minor); 0 refuses all");

static uint nic_offers;
module_param(nic_offers, uint, 0444);
MODULE_PARM_DESC(nic_offers, "Synthetic NIC offers sent on REQUESTOFFERS (0 or 1)");

static uint open_status;
module_param(open_status, uint, 0644);
MODULE_PARM_DESC(open_status,
		 "Status of OPENCHANNEL_RESULT, read at each open (0: the open succeeds)");

static uint nvsp_init_reply;
module_param(nvsp_init_reply, uint, 0644);
MODULE_PARM_DESC(nvsp_init_reply,
		 "Built-in NIC: 0 reads NVSP packets and ignores them, 1 refuses each NVSP INIT (INIT_COMPLETE, NVSP_STAT_FAIL)");

static int emu_unexpected_get(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%d\n", atomic_read(&emu_unexpected));
}

static const struct kernel_param_ops emu_unexpected_ops = {
	.get = emu_unexpected_get,
};
module_param_cb(unexpected, &emu_unexpected_ops, NULL, 0444);
MODULE_PARM_DESC(unexpected, "Guest actions this host did not expect");

static int emu_stats_get(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf,
			  "connected %d version %u.%u target_vp %u posted %d delivered %d eom %d pending %d signal %d rejected %d unload %d "
			  "gpadl_created %d gpadl_torndown %d open %d close %d chan_signal %d "
			  "pkt_read %d pkt_written %d guest_signal %d ring_error %d ring_full %d "
			  "space_signal %d nvsp_init %d offer %d rescind %d released %d "
			  "space_wakeup %d model_busy %d\n",
			  READ_ONCE(host.connected), READ_ONCE(host.version) >> 16,
			  READ_ONCE(host.version) & 0xffff, READ_ONCE(host.target_vp),
			  atomic_read(&emu_posted), atomic_read(&emu_delivered),
			  atomic_read(&emu_eoms), atomic_read(&emu_pending_set),
			  atomic_read(&emu_signals), atomic_read(&emu_rejected),
			  atomic_read(&emu_unloads), atomic_read(&emu_gpadls_created),
			  atomic_read(&emu_gpadls_torndown), atomic_read(&emu_opens),
			  atomic_read(&emu_closes), atomic_read(&emu_chan_signals),
			  atomic_read(&emu_pkts_read), atomic_read(&emu_pkts_written),
			  atomic_read(&emu_guest_signals), atomic_read(&emu_ring_errors),
			  atomic_read(&emu_ring_full), atomic_read(&emu_space_signals),
			  atomic_read(&emu_nvsp_inits), atomic_read(&emu_offers),
			  atomic_read(&emu_rescinds), atomic_read(&emu_released),
			  atomic_read(&emu_space_wakeups), atomic_read(&emu_model_busy));
}

static const struct kernel_param_ops emu_stats_ops = {
	.get = emu_stats_get,
};
module_param_cb(stats, &emu_stats_ops, NULL, 0444);
MODULE_PARM_DESC(stats, "What the host saw and did");

#define emu_unexpected(fmt, ...)					\
	do {								\
		atomic_inc(&emu_unexpected);				\
		pr_warn_ratelimited("unexpected " fmt, ##__VA_ARGS__);	\
	} while (0)

/* The kernel address of a guest page, or NULL if @gpa is not RAM. */
static void *emu_gpa_page(u64 gpa)
{
	unsigned long pfn = gpa >> PAGE_SHIFT;

	if (!pfn_valid(pfn))
		return NULL;
	return page_address(pfn_to_page(pfn));
}

/* ---- message delivery -------------------------------------------------- */

/*
 * Deliver what @vp's VMBus outbox holds while the slot is free; raise the
 * SINT's vector on @cpu if anything was written. A busy slot gets
 * msg_pending, then is looked at again: the guest clears message_type
 * (a full barrier) before it reads msg_pending, so either it sees the flag
 * and writes EOM, or this sees the slot free (the same order as Hyper-V's).
 */
static void emu_deliver_locked(struct emu_vp *vp, unsigned int cpu)
{
	union hv_synic_sint sint = { .as_uint64 = vp->sint[EMU_VMBUS_SINT] };
	struct hv_message *slot;
	struct emu_msg *m;
	bool raise = false;

	lockdep_assert_held(&vp->lock);
	if (!(vp->scontrol & HV_SYNIC_CONTROL_ENABLE) || !vp->msg_page || sint.masked)
		return;
	slot = &vp->msg_page->sint_message[EMU_VMBUS_SINT];
	while ((m = list_first_entry_or_null(&vp->outbox, struct emu_msg, node))) {
		if (READ_ONCE(slot->header.message_type) != HVMSG_NONE) {
			u8 flags = READ_ONCE(slot->header.message_flags.asu8);

			if (!(flags & 1)) {
				WRITE_ONCE(slot->header.message_flags.asu8, flags | 1);
				atomic_inc(&emu_pending_set);
			}
			/* Flag before re-reading the type; pairs with the
			 * guest's cmpxchg of the type before reading the flag.
			 */
			smp_mb();
			if (READ_ONCE(slot->header.message_type) != HVMSG_NONE)
				break;
		}
		memcpy(slot->u.payload, m->data, m->size);
		slot->header.payload_size = m->size;
		WRITE_ONCE(slot->header.message_flags.asu8, 0);
		slot->header.reserved[0] = 0;
		slot->header.reserved[1] = 0;
		slot->header.sender = 0;
		/* The type last: it is what makes the slot full. */
		smp_wmb();
		WRITE_ONCE(slot->header.message_type, m->type);
		list_del(&m->node);
		kfree(m);
		atomic_inc(&emu_delivered);
		raise = true;
	}
	if (raise)
		__apic_send_IPI_mask(cpumask_of(cpu), sint.vector);
}

/*
 * Queue a VMBus message for the guest's message VP; emu_flush() delivers.
 * Messages queued together meet a busy slot from the second on, so they
 * go through msg_pending and the guest's EOM, as a host's burst does.
 */
static void emu_queue(const void *data, u32 size)
{
	struct emu_vp *vp = per_cpu_ptr(&emu_vps, host.target_vp);
	unsigned long flags;
	struct emu_msg *m;

	if (WARN_ON_ONCE(size > HV_MESSAGE_PAYLOAD_BYTE_COUNT))
		return;
	m = kzalloc_obj(*m, GFP_KERNEL);
	if (!m) {
		emu_unexpected("allocation failure: message to the guest lost\n");
		return;
	}
	m->type = EMU_VMBUS_MSG_TYPE;
	m->size = size;
	memcpy(m->data, data, size);
	spin_lock_irqsave(&vp->lock, flags);
	list_add_tail(&m->node, &vp->outbox);
	spin_unlock_irqrestore(&vp->lock, flags);
}

static void emu_flush(void)
{
	unsigned int cpu = host.target_vp;
	struct emu_vp *vp = per_cpu_ptr(&emu_vps, cpu);
	unsigned long flags;

	spin_lock_irqsave(&vp->lock, flags);
	emu_deliver_locked(vp, cpu);
	spin_unlock_irqrestore(&vp->lock, flags);
}

static void emu_send(const void *data, u32 size)
{
	emu_queue(data, size);
	emu_flush();
}

/* ---- SynIC MSRs -------------------------------------------------------- */

static bool emu_get_msr(unsigned int reg, u64 *value)
{
	unsigned int cpu = get_cpu();
	struct emu_vp *vp = per_cpu_ptr(&emu_vps, cpu);
	unsigned long flags;
	bool ok = true;

	spin_lock_irqsave(&vp->lock, flags);
	switch (reg) {
	case HV_X64_MSR_SCONTROL:
		*value = vp->scontrol;
		break;
	case HV_X64_MSR_SVERSION:
		*value = HV_SYNIC_VERSION_1;
		break;
	case HV_X64_MSR_SIEFP:
		*value = vp->siefp;
		break;
	case HV_X64_MSR_SIMP:
		*value = vp->simp;
		break;
	case HV_X64_MSR_EOM:
		*value = 0;
		break;
	case HV_X64_MSR_SINT0 ... HV_X64_MSR_SINT15:
		*value = vp->sint[reg - HV_X64_MSR_SINT0];
		break;
	default:
		ok = false;	/* hv_emu counts and logs it */
	}
	spin_unlock_irqrestore(&vp->lock, flags);
	put_cpu();
	return ok;
}

/* SIMP/SIEFP: the page of an enabled register, NULL when disabled. */
static void *emu_overlay(u64 value, const char *name)
{
	void *page;

	if (!(value & HV_SYNIC_SIMP_ENABLE))
		return NULL;
	page = emu_gpa_page(value & PAGE_MASK);
	if (!page)
		emu_unexpected("%s GPA %#llx is not RAM\n", name, value & PAGE_MASK);
	return page;
}

static bool emu_set_msr(unsigned int reg, u64 value)
{
	unsigned int cpu = get_cpu();
	struct emu_vp *vp = per_cpu_ptr(&emu_vps, cpu);
	union hv_synic_sint sint = { .as_uint64 = value };
	unsigned long flags;
	bool ok = true;

	spin_lock_irqsave(&vp->lock, flags);
	switch (reg) {
	case HV_X64_MSR_SCONTROL:
		vp->scontrol = value & HV_SYNIC_CONTROL_ENABLE;
		break;
	case HV_X64_MSR_SIEFP:
		vp->siefp = value;
		vp->event_page = emu_overlay(value, "SIEFP");
		break;
	case HV_X64_MSR_SIMP:
		vp->simp = value;
		vp->msg_page = emu_overlay(value, "SIMP");
		break;
	case HV_X64_MSR_EOM:
		atomic_inc(&emu_eoms);
		break;
	case HV_X64_MSR_SINT0 ... HV_X64_MSR_SINT15:
		/* Hyper-V faults an unmasked SINT with a vector below 16. */
		if (!sint.masked && sint.vector < HV_SYNIC_FIRST_VALID_VECTOR)
			emu_unexpected("SINT%u vector %u\n", reg - HV_X64_MSR_SINT0,
				       (unsigned int)sint.vector);
		vp->sint[reg - HV_X64_MSR_SINT0] = value;
		break;
	default:
		ok = false;	/* SVERSION is read-only; hv_emu counts it */
	}
	/* Anything above may have made a waiting message deliverable. */
	if (ok)
		emu_deliver_locked(vp, cpu);
	spin_unlock_irqrestore(&vp->lock, flags);
	put_cpu();
	return ok;
}

/* ---- hypercalls -------------------------------------------------------- */

static u64 emu_post_message(u64 control, u64 input_gpa)
{
	const struct emu_post_input *in;
	unsigned long flags;
	struct emu_msg *m;
	void *page;

	if (control & HV_HYPERCALL_FAST_BIT)
		return HV_STATUS_INVALID_HYPERCALL_INPUT;	/* 256 bytes of input */
	if (input_gpa & 7)
		return HV_STATUS_INVALID_ALIGNMENT;
	if ((input_gpa & ~PAGE_MASK) + sizeof(*in) > PAGE_SIZE)
		return HV_STATUS_INVALID_ALIGNMENT;		/* spans pages */
	page = emu_gpa_page(input_gpa);
	if (!page)
		return HV_STATUS_INVALID_PARAMETER;
	in = page + (input_gpa & ~PAGE_MASK);
	/* Message types with the top bit set are the hypervisor's own. */
	if (in->message_type == HVMSG_NONE || (in->message_type & 0x80000000) ||
	    in->payload_size > HV_MESSAGE_PAYLOAD_BYTE_COUNT || in->reserved)
		return HV_STATUS_INVALID_PARAMETER;
	if (in->connection_id != EMU_CONN_ID_MESSAGE &&
	    in->connection_id != EMU_CONN_ID_MULTICLIENT)
		return HV_STATUS_INVALID_CONNECTION_ID;

	m = kmalloc_obj(*m, GFP_ATOMIC);
	if (!m)
		return HV_STATUS_INSUFFICIENT_MEMORY;
	m->conn_id = in->connection_id;
	m->type = in->message_type;
	m->size = in->payload_size;
	memcpy(m->data, in->payload, m->size);
	spin_lock_irqsave(&host.inbox_lock, flags);
	if (host.inbox_len >= EMU_INBOX_MAX) {
		spin_unlock_irqrestore(&host.inbox_lock, flags);
		kfree(m);
		return HV_STATUS_INSUFFICIENT_BUFFERS;		/* the guest retries */
	}
	list_add_tail(&m->node, &host.inbox);
	host.inbox_len++;
	spin_unlock_irqrestore(&host.inbox_lock, flags);
	atomic_inc(&emu_posted);
	queue_work(host.wq, &host.work);
	return HV_STATUS_SUCCESS;
}

static u64 emu_signal_event(u64 control, u64 param1)
{
	union emu_signal_input in;

	if (control & HV_HYPERCALL_FAST_BIT) {
		in.as_u64 = param1;
	} else {
		void *page;

		if (param1 & 7)
			return HV_STATUS_INVALID_ALIGNMENT;
		page = emu_gpa_page(param1);
		if (!page)
			return HV_STATUS_INVALID_PARAMETER;
		in.as_u64 = *(u64 *)(page + (param1 & ~PAGE_MASK));
	}
	if (in.reserved || in.flag_number >= HV_EVENT_FLAGS_COUNT)
		return HV_STATUS_INVALID_PARAMETER;
	/* The event ports: an open channel's (base + relid). */
	if (in.connection_id > EMU_CONN_ID_BASE &&
	    in.connection_id <= EMU_CONN_ID_BASE + EMU_MAX_CHANNELS) {
		struct hv_emu_chan *chan = &host.chans[in.connection_id - EMU_CONN_ID_BASE - 1];

		if (READ_ONCE(chan->open)) {
			atomic_inc(&emu_chan_signals);
			/* The ring is read in the host's work, never here. */
			queue_work(host.wq, &chan->work);
			return HV_STATUS_SUCCESS;
		}
		/* Closed by the host's rescind; the guest may not know yet. */
		if (READ_ONCE(chan->rescinded))
			return HV_STATUS_SUCCESS;
	}
	return HV_STATUS_INVALID_CONNECTION_ID;
}

/*
 * What the hypervisor answers, without side effects beyond queueing a valid
 * message. The control word first (TLFS order): the call code, then the
 * fields a simple (non-rep, fixed-size) call must leave zero.
 */
static u64 emu_hypercall_status(u64 control, u64 param1, u64 param2)
{
	u16 code = control & 0xffff;

	if (code != HVCALL_POST_MESSAGE && code != HVCALL_SIGNAL_EVENT)
		return HV_STATUS_INVALID_HYPERCALL_CODE;
	if (control & (HV_HYPERCALL_VARHEAD_MASK | HV_HYPERCALL_REP_COMP_MASK |
		       HV_HYPERCALL_REP_START_MASK))
		return HV_STATUS_INVALID_HYPERCALL_INPUT;
	if (code == HVCALL_POST_MESSAGE)
		return emu_post_message(control, param1);
	return emu_signal_event(control, param1);
}

static u64 emu_hypercall(u64 control, u64 param1, u64 param2)
{
	u64 status = emu_hypercall_status(control, param1, param2);

	if ((control & 0xffff) == HVCALL_SIGNAL_EVENT)
		atomic_inc(&emu_signals);
	switch (status) {
	case HV_STATUS_SUCCESS:
	case HV_STATUS_INSUFFICIENT_BUFFERS:
	case HV_STATUS_INSUFFICIENT_MEMORY:
		break;
	case HV_STATUS_INVALID_HYPERCALL_CODE:
		hv_emu_count_unexpected("hypercall", control);
		break;
	default:
		/* The guest's own calls are well formed; a refusal is news. */
		atomic_inc(&emu_rejected);
		emu_unexpected("hypercall %#llx (%#llx) refused: status %#llx\n",
			       control, param1, status);
	}
	return status;
}

static const struct hv_emu_ops emu_ops = {
	.hypercall = emu_hypercall,
	.get_msr = emu_get_msr,
	.set_msr = emu_set_msr,
};

/* ---- the VMBus host ---------------------------------------------------- */

static const u32 emu_versions[] = {
	VERSION_WIN10_V6_0, VERSION_WIN10_V5_3, VERSION_WIN10_V5_2,
	VERSION_WIN10_V5_1, VERSION_WIN10_V5, VERSION_WIN10_V4_1, VERSION_WIN10,
};

static bool emu_version_supported(u32 version)
{
	int i;

	if (version > max_version)
		return false;
	for (i = 0; i < ARRAY_SIZE(emu_versions); i++)
		if (emu_versions[i] == version)
			return true;
	return false;
}

static void emu_initiate_contact(const struct emu_msg *m)
{
	const struct vmbus_channel_initiate_contact *req = (const void *)m->data;
	struct {
		struct vmbus_channel_version_response r;
		u32 supported_features;		/* from 6.0 on */
	} __packed resp = {};
	u32 version;
	bool ok;

	if (m->size < sizeof(*req)) {
		emu_unexpected("INITIATE_CONTACT of %u bytes\n", m->size);
		return;
	}
	version = req->vmbus_version_requested;
	ok = emu_version_supported(version);
	if (host.connected) {
		emu_unexpected("INITIATE_CONTACT while connected\n");
		return;
	}
	if (req->target_vcpu >= nr_cpu_ids || !cpu_online(req->target_vcpu)) {
		emu_unexpected("INITIATE_CONTACT target VP %u\n", req->target_vcpu);
		return;
	}
	/* From 5.0 on the guest names its SINT and VTL; only 2 and 0 exist. */
	if (version >= VERSION_WIN10_V5 && (req->msg_sint != EMU_VMBUS_SINT || req->msg_vtl)) {
		emu_unexpected("INITIATE_CONTACT SINT %u VTL %u\n", req->msg_sint, req->msg_vtl);
		ok = false;
	}
	if (version >= VERSION_WIN10_V5 && m->conn_id != EMU_CONN_ID_MULTICLIENT)
		emu_unexpected("INITIATE_CONTACT %u.%u on connection %u\n",
			       version >> 16, version & 0xffff, m->conn_id);
	host.target_vp = req->target_vcpu;
	resp.r.header.msgtype = CHANNELMSG_VERSION_RESPONSE;
	if (ok) {
		resp.r.version_supported = 1;
		resp.r.connection_state = 0;	/* successful */
		resp.r.msg_conn_id = version >= VERSION_WIN10_V5 ? EMU_CONN_ID_MESSAGE : version;
		host.version = version;
		host.monitor_page1 = req->monitor_page1;
		host.monitor_page2 = req->monitor_page2;
		WRITE_ONCE(host.connected, true);
		pr_info("version %u.%u accepted, messages to VP %u, monitor pages %#llx %#llx\n",
			version >> 16, version & 0xffff, host.target_vp,
			host.monitor_page1, host.monitor_page2);
	} else {
		pr_info("version %u.%u refused\n", version >> 16, version & 0xffff);
	}
	/* 6.0's answer carries the features (none); refusals use the old form. */
	emu_send(&resp, ok && version >= VERSION_WIN10_V6_0 ? sizeof(resp) : sizeof(resp.r));
}

/* ---- rings --------------------------------------------------------------- */

static void emu_ring_copy_from(const struct emu_ring *r, u32 off, void *dst, u32 len)
{
	u32 first = min(len, r->size - off);

	memcpy(dst, r->data + off, first);
	memcpy(dst + first, r->data, len - first);
}

static u32 emu_ring_copy_to(struct emu_ring *r, u32 off, const void *src, u32 len)
{
	u32 first = min(len, r->size - off);

	memcpy(r->data + off, src, first);
	memcpy(r->data, src + first, len - first);
	return (off + len) % r->size;
}

static bool emu_index_ok(const struct emu_ring *r, u32 index)
{
	return index < r->size && !(index & 7);
}

/*
 * Take the next packet out of @r, a ring the guest writes (its outbound
 * ring), into @buf: 0 and the packet's length (descriptor included, len8 *
 * 8) in *@len; -ENODATA when the ring is empty; -EPROTO when something the
 * guest wrote is wrong, *@why saying what. Every field is checked on the
 * host's copy: the write index (inside the data, 8-byte aligned), the
 * descriptor (offset8 and len8 inside what the write index covers, at most
 * @bufsize), the types and flags a guest sends, and the trailing previous
 * index (the packet's start << 32, as Linux writes it). Only the host's
 * copy of the read index moves; emu_ring_publish() hands it to the guest.
 */
static int emu_ring_read(struct emu_ring *r, void *buf, u32 bufsize, u32 *len,
			 const char **why)
{
	struct vmpacket_descriptor desc;
	u32 read = r->index, write, avail, total, off;
	u64 prev;

	write = READ_ONCE(r->hdr->write_index);
	/* The packets before the index: pairs with the guest's virt_mb(). */
	smp_rmb();
	if (!emu_index_ok(r, write)) {
		*why = "write index";
		return -EPROTO;
	}
	if (write == read)
		return -ENODATA;
	avail = write > read ? write - read : r->size - read + write;
	if (avail < sizeof(desc) + sizeof(prev)) {
		*why = "packet shorter than a descriptor";
		return -EPROTO;
	}
	emu_ring_copy_from(r, read, &desc, sizeof(desc));
	total = (u32)desc.len8 << 3;
	off = (u32)desc.offset8 << 3;
	if (total < sizeof(desc) || off < sizeof(desc) || off > total) {
		*why = "descriptor offset or length";
		return -EPROTO;
	}
	if (total + sizeof(prev) > avail) {
		*why = "packet past the write index";
		return -EPROTO;
	}
	if (total > bufsize) {
		*why = "oversized packet";
		return -EPROTO;
	}
	if (desc.type != VM_PKT_DATA_INBAND && desc.type != VM_PKT_DATA_USING_GPA_DIRECT &&
	    desc.type != VM_PKT_COMP) {
		*why = "packet type";
		return -EPROTO;
	}
	if (desc.flags & ~VMBUS_DATA_PACKET_FLAG_COMPLETION_REQUESTED) {
		*why = "packet flags";
		return -EPROTO;
	}
	emu_ring_copy_from(r, (read + total) % r->size, &prev, sizeof(prev));
	if (prev != (u64)read << 32) {
		*why = "previous index";
		return -EPROTO;
	}
	emu_ring_copy_from(r, read, buf, total);
	/* What the host acts on is the descriptor it checked. */
	memcpy(buf, &desc, sizeof(desc));
	r->index = (read + total + sizeof(prev)) % r->size;
	*len = total;
	return 0;
}

/*
 * Hand the host's read index to the guest after reading @bytes since the
 * last time. Returns whether the guest is to be signalled for space: it
 * set feat_pending_send_sz and a pending_send_sz, and the free space went
 * from at most that to more (Hyper-V's rule; the mirror of the guest's
 * hv_pkt_iter_close()). Ends with a full barrier: the read index is out
 * before the caller looks at the write index again (the guest signals only
 * when it writes into a ring it saw empty).
 */
static bool emu_ring_publish(struct emu_ring *r, u32 bytes)
{
	u32 pending, write, used, after, before;

	/* Everything read from the packets, before the guest may reuse them. */
	smp_store_release(&r->hdr->read_index, r->index);
	/* The read index out before pending_send_sz and write_index are read. */
	smp_mb();
	if (!bytes || !(READ_ONCE(r->hdr->feature_bits.value) & 1))
		return false;
	pending = READ_ONCE(r->hdr->pending_send_sz);
	if (!pending)
		return false;
	write = READ_ONCE(r->hdr->write_index);
	if (!emu_index_ok(r, write))
		return false;	/* the next read refuses it */
	used = write >= r->index ? write - r->index : r->size - r->index + write;
	after = r->size - used;
	before = after > bytes ? after - bytes : 0;
	return before <= pending && after > pending;
}

/*
 * Free bytes of @r, the guest's inbound ring, from the host's write index
 * and the guest's read index (0 when that index is bad: the next write
 * finds out). A packet of n bytes (previous index included) fits when
 * n < free: read == write means empty.
 */
static u32 emu_ring_free(const struct emu_ring *r)
{
	u32 write = r->index, read = READ_ONCE(r->hdr->read_index);

	if (!emu_index_ok(r, read))
		return 0;
	return write >= read ? r->size - (write - read) : read - write;
}

/*
 * Write one packet into @r, the guest's inbound ring: the descriptor, @len
 * bytes, zeros to 8 bytes, the previous index; with @desc NULL, @data is a
 * whole packet (descriptor first, @len a multiple of 8) written as it is.
 * 0, with *@signal saying whether the guest wants an interrupt (its
 * interrupt_mask clear); -EAGAIN when it does not fit (a ring is never
 * filled up: read == write means empty); -EPROTO when the guest's read
 * index is wrong.
 */
static int emu_ring_write(struct emu_ring *r, const struct vmpacket_descriptor *desc,
			  const void *data, u32 len, bool *signal, const char **why)
{
	static const u8 zeros[8];
	u32 write = r->index, read, free;
	u32 pktlen = desc ? sizeof(*desc) + ALIGN(len, 8) : len;
	u64 prev = (u64)write << 32;

	read = READ_ONCE(r->hdr->read_index);
	if (!emu_index_ok(r, read)) {
		*why = "read index";
		return -EPROTO;
	}
	free = write >= read ? r->size - (write - read) : read - write;
	if (free <= pktlen + sizeof(prev))
		return -EAGAIN;
	/* The guest's reads of what it freed are done before these writes. */
	smp_mb();
	if (desc)
		write = emu_ring_copy_to(r, write, desc, sizeof(*desc));
	write = emu_ring_copy_to(r, write, data, len);
	write = emu_ring_copy_to(r, write, zeros, ALIGN(len, 8) - len);
	write = emu_ring_copy_to(r, write, &prev, sizeof(prev));
	/* The packet before the index that hands it over. */
	smp_store_release(&r->hdr->write_index, write);
	r->index = write;
	/* The index out before the mask is read: the guest's hv_end_read()
	 * clears the mask, then looks at the write index.
	 */
	smp_mb();
	*signal = !READ_ONCE(r->hdr->interrupt_mask);
	return 0;
}

/*
 * Hyper-V's channel interrupt: the channel's bit (its relid) in the VMBus
 * SINT's event flags in the target VP's SIEFP page, then the SINT's vector
 * on that VP, when the SynIC and the SINT are enabled.
 */
static void emu_signal_guest(struct hv_emu_chan *chan)
{
	unsigned int cpu = chan->target_vp;
	struct emu_vp *vp = per_cpu_ptr(&emu_vps, cpu);
	union hv_synic_sint sint;
	unsigned long flags;

	spin_lock_irqsave(&vp->lock, flags);
	sint.as_uint64 = vp->sint[EMU_VMBUS_SINT];
	if (vp->event_page) {
		union hv_synic_event_flags *ev = vp->event_page;

		sync_set_bit(chan->relid, ev[EMU_VMBUS_SINT].flags);
		if ((vp->scontrol & HV_SYNIC_CONTROL_ENABLE) && !sint.masked) {
			atomic_inc(&emu_guest_signals);
			__apic_send_IPI_mask(cpumask_of(cpu), sint.vector);
		}
	}
	spin_unlock_irqrestore(&vp->lock, flags);
}

/* ---- channels ------------------------------------------------------------- */

static struct hv_emu_chan *emu_chan(u32 relid)
{
	if (!relid || relid > EMU_MAX_CHANNELS || !host.chans[relid - 1].used)
		return NULL;
	return &host.chans[relid - 1];
}

u32 hv_emu_chan_relid(const struct hv_emu_chan *chan)
{
	return chan->relid;
}
EXPORT_SYMBOL_GPL(hv_emu_chan_relid);

static int emu_chan_write(struct hv_emu_chan *chan, const struct vmpacket_descriptor *desc,
			  const void *data, u32 len)
{
	const char *why = NULL;
	unsigned long irqflags;
	bool signal = false;
	int ret;

	spin_lock_irqsave(&chan->lock, irqflags);
	if (!chan->in.hdr || chan->broken) {
		ret = -ENOTCONN;
	} else {
		ret = emu_ring_write(&chan->in, desc, data, len, &signal, &why);
		if (ret == -EPROTO)
			chan->broken = true;
		if (!ret && signal)
			emu_signal_guest(chan);
	}
	spin_unlock_irqrestore(&chan->lock, irqflags);
	if (!ret) {
		atomic_inc(&emu_pkts_written);
	} else if (ret == -EAGAIN) {
		atomic_inc(&emu_ring_full);
	} else if (ret == -EPROTO) {
		atomic_inc(&emu_ring_errors);
		emu_unexpected("relid %u: inbound ring: bad %s; the channel is no longer served\n",
			       chan->relid, why);
	}
	return ret;
}

int hv_emu_chan_send(struct hv_emu_chan *chan, u16 type, u16 flags, u64 trans_id,
		     const void *data, u32 len)
{
	struct vmpacket_descriptor desc = {};

	if (len > EMU_MAX_PACKET - sizeof(desc))
		return -EINVAL;
	desc.type = type;
	desc.offset8 = sizeof(desc) >> 3;
	desc.len8 = (sizeof(desc) + ALIGN(len, 8)) >> 3;
	desc.flags = flags;
	desc.trans_id = trans_id;
	return emu_chan_write(chan, &desc, data, len);
}
EXPORT_SYMBOL_GPL(hv_emu_chan_send);

int hv_emu_chan_send_raw(struct hv_emu_chan *chan, const void *pkt, u32 len)
{
	if (len < sizeof(struct vmpacket_descriptor) || len % 8 || len > EMU_MAX_PACKET)
		return -EINVAL;
	return emu_chan_write(chan, NULL, pkt, len);
}
EXPORT_SYMBOL_GPL(hv_emu_chan_send_raw);

u32 hv_emu_chan_write_avail(struct hv_emu_chan *chan)
{
	unsigned long irqflags;
	u32 free = 0;

	spin_lock_irqsave(&chan->lock, irqflags);
	if (chan->in.hdr && !chan->broken)
		free = emu_ring_free(&chan->in);
	spin_unlock_irqrestore(&chan->lock, irqflags);
	/* What a packet may take: less than free, and its previous index. */
	return free > sizeof(u64) + 8 ? free - sizeof(u64) - 8 : 0;
}
EXPORT_SYMBOL_GPL(hv_emu_chan_write_avail);

/*
 * The host as the inbound ring's writer waiting for space, as Hyper-V
 * does: pending_send_sz in the ring's header, which the guest's reader
 * (hv_pkt_iter_close()) looks at, signalling the host when its reading
 * makes the free space cross it; the host's work then calls ->space().
 */
bool hv_emu_chan_want_space(struct hv_emu_chan *chan, u32 bytes)
{
	unsigned long irqflags;
	bool now = false;

	spin_lock_irqsave(&chan->lock, irqflags);
	if (chan->in.hdr && !chan->broken) {
		WRITE_ONCE(chan->want_space, bytes);
		WRITE_ONCE(chan->in.hdr->pending_send_sz, bytes);
		/* pending_send_sz out before the read index is looked at. */
		smp_mb();
		if (bytes && emu_ring_free(&chan->in) > bytes) {
			now = true;
			WRITE_ONCE(chan->want_space, 0);
			WRITE_ONCE(chan->in.hdr->pending_send_sz, 0);
		}
	}
	spin_unlock_irqrestore(&chan->lock, irqflags);
	return now;
}
EXPORT_SYMBOL_GPL(hv_emu_chan_want_space);

void hv_emu_chan_kick(struct hv_emu_chan *chan)
{
	if (READ_ONCE(chan->open))
		queue_work(host.wq, &chan->work);
}
EXPORT_SYMBOL_GPL(hv_emu_chan_kick);

void *hv_emu_guest_page(u64 pfn)
{
	if (pfn > ULONG_MAX || !pfn_valid(pfn) || PageHighMem(pfn_to_page(pfn)))
		return NULL;
	return page_address(pfn_to_page(pfn));
}
EXPORT_SYMBOL_GPL(hv_emu_guest_page);

/* Did the guest's reading free what the model waits for? ->space() if so. */
static void emu_chan_space(struct hv_emu_chan *chan)
{
	unsigned long irqflags;
	bool wake = false;
	u32 want;

	spin_lock_irqsave(&chan->lock, irqflags);
	want = chan->want_space;
	if (want && chan->in.hdr && !chan->broken && emu_ring_free(&chan->in) > want) {
		WRITE_ONCE(chan->want_space, 0);
		WRITE_ONCE(chan->in.hdr->pending_send_sz, 0);
		wake = true;
	}
	spin_unlock_irqrestore(&chan->lock, irqflags);
	if (wake) {
		atomic_inc(&emu_space_wakeups);
		if (chan->ops && chan->ops->space)
			chan->ops->space(chan, chan->ctx);
	}
}

/* Reads the guest's outbound ring after its HvSignalEvent (host work). */
static void emu_chan_work(struct work_struct *work)
{
	struct hv_emu_chan *chan = container_of(work, struct hv_emu_chan, work);
	const char *why = NULL;
	u32 len, bytes;
	int ret;

	u32 at;

	if (!chan->open || chan->broken)
		return;
	emu_chan_space(chan);
	for (;;) {
		bytes = 0;
		at = chan->out.index;
		while (!(ret = emu_ring_read(&chan->out, chan->pkt, EMU_MAX_PACKET, &len, &why))) {
			if (chan->ops && chan->ops->packet &&
			    chan->ops->packet(chan, chan->ctx, (void *)chan->pkt, len) == -EAGAIN) {
				/* Left in the ring until hv_emu_chan_kick(). */
				chan->out.index = at;
				ret = -EAGAIN;
				atomic_inc(&emu_model_busy);
				break;
			}
			atomic_inc(&emu_pkts_read);
			bytes += len + sizeof(u64);
			at = chan->out.index;
			if (READ_ONCE(chan->broken))
				return;
		}
		if (ret != -ENODATA && ret != -EAGAIN) {
			WRITE_ONCE(chan->broken, true);
			atomic_inc(&emu_ring_errors);
			emu_unexpected("relid %u: outbound ring: bad %s; the channel is no longer served\n",
				       chan->relid, why);
			return;
		}
		if (emu_ring_publish(&chan->out, bytes)) {
			atomic_inc(&emu_space_signals);
			emu_signal_guest(chan);
		}
		if (ret == -EAGAIN)
			break;
		/* A packet written into a ring its writer saw non-empty. */
		if (READ_ONCE(chan->out.hdr->write_index) == chan->out.index)
			break;
		cond_resched();
	}
}

/* A GPADL goes: a device model using it is told first, then it is unmapped. */
static void emu_gpadl_free(struct emu_gpadl *g)
{
	struct hv_emu_chan *chan = emu_chan(g->relid);

	if (g->map && chan && chan->ops && chan->ops->gpadl_gone)
		chan->ops->gpadl_gone(chan, chan->ctx, g->handle);
	if (g->map)
		vunmap(g->map);
	kvfree(g->pfns);
	*g = (struct emu_gpadl){};
}

/* Map a created GPADL's pages for device models (hv_emu_gpadl_get()). */
static int emu_gpadl_map(struct emu_gpadl *g)
{
	struct page **pages;
	u32 i;

	pages = kvmalloc_array(g->expected, sizeof(*pages), GFP_KERNEL);
	if (!pages)
		return -ENOMEM;
	for (i = 0; i < g->expected; i++)
		pages[i] = pfn_to_page(g->pfns[i]);	/* checked when they came */
	g->map = vmap(pages, g->expected, VM_MAP, PAGE_KERNEL);
	kvfree(pages);
	return g->map ? 0 : -ENOMEM;
}

void *hv_emu_gpadl_get(struct hv_emu_chan *chan, u32 handle, u32 *size)
{
	unsigned int i;

	for (i = 0; i < EMU_MAX_GPADLS; i++) {
		struct emu_gpadl *g = &host.gpadls[i];

		if (g->expected && g->created && g->map && g->handle == handle &&
		    g->relid == chan->relid) {
			*size = g->byte_count;
			return g->map + g->byte_offset;
		}
	}
	return NULL;
}
EXPORT_SYMBOL_GPL(hv_emu_gpadl_get);

static struct emu_gpadl *emu_gpadl_find(u32 handle)
{
	unsigned int i;

	for (i = 0; i < EMU_MAX_GPADLS; i++)
		if (host.gpadls[i].handle == handle && host.gpadls[i].expected)
			return &host.gpadls[i];
	return NULL;
}

/*
 * Map the ring GPADL @g for the host: its first @offset pages are the
 * guest's outbound ring, the rest its inbound ring, each a header page and
 * data pages. Checks the indices the host will trust at once.
 */
static int emu_chan_map(struct hv_emu_chan *chan, const struct emu_gpadl *g, u32 offset,
			const char **why)
{
	struct emu_ring out, in;
	struct page **pages;
	unsigned long flags;
	void *map;
	u8 *pkt;
	u32 i;

	BUILD_BUG_ON(sizeof(struct hv_ring_buffer) != PAGE_SIZE);
	BUILD_BUG_ON(HV_HYP_PAGE_SIZE != PAGE_SIZE);
	if (offset < 2 || g->expected - offset < 2) {
		*why = "ring of less than two pages";
		return -EINVAL;
	}
	pages = kvmalloc_array(g->expected, sizeof(*pages), GFP_KERNEL);
	pkt = kmalloc(EMU_MAX_PACKET, GFP_KERNEL);
	if (!pages || !pkt) {
		kvfree(pages);
		kfree(pkt);
		*why = "no memory";
		return -ENOMEM;
	}
	for (i = 0; i < g->expected; i++)
		pages[i] = pfn_to_page(g->pfns[i]);	/* checked at creation */
	map = vmap(pages, g->expected, VM_MAP, PAGE_KERNEL);
	kvfree(pages);
	if (!map) {
		kfree(pkt);
		*why = "vmap failed";
		return -ENOMEM;
	}
	out = (struct emu_ring){ .hdr = map, .data = map + PAGE_SIZE,
				 .size = (offset - 1) * PAGE_SIZE };
	in = (struct emu_ring){ .hdr = map + offset * PAGE_SIZE,
				.data = map + (offset + 1) * PAGE_SIZE,
				.size = (g->expected - offset - 1) * PAGE_SIZE };
	out.index = READ_ONCE(out.hdr->read_index);
	in.index = READ_ONCE(in.hdr->write_index);
	if (!emu_index_ok(&out, out.index) || !emu_index_ok(&in, in.index)) {
		vunmap(map);
		kfree(pkt);
		*why = "ring indices";
		return -EPROTO;
	}
	spin_lock_irqsave(&chan->lock, flags);
	chan->map = map;
	chan->out = out;
	chan->in = in;
	chan->broken = false;
	spin_unlock_irqrestore(&chan->lock, flags);
	chan->pkt = pkt;
	return 0;
}

/* The channel is closed for the host: no more reads, writes or mapping. */
static void emu_chan_stop(struct hv_emu_chan *chan)
{
	unsigned long flags;
	void *map;

	if (!chan->open)
		return;
	WRITE_ONCE(chan->open, false);
	chan->want_space = 0;
	if (chan->ops && chan->ops->closed)
		chan->ops->closed(chan, chan->ctx);
	spin_lock_irqsave(&chan->lock, flags);
	map = chan->map;
	chan->map = NULL;
	chan->out = (struct emu_ring){};
	chan->in = (struct emu_ring){};
	spin_unlock_irqrestore(&chan->lock, flags);
	vunmap(map);
	kfree(chan->pkt);
	chan->pkt = NULL;
}

/* ---- the built-in NIC (nic_offers, nvsp_init_reply) ------------------------ */

static int emu_nic_packet(struct hv_emu_chan *chan, void *ctx,
			  const struct vmpacket_descriptor *desc, u32 len)
{
	u32 off = (u32)desc->offset8 << 3;
	const struct nvsp_message *req = (const void *)desc + off;
	struct nvsp_message resp = {};
	u32 ver;

	if (desc->type != VM_PKT_DATA_INBAND || len - off < sizeof(req->hdr) ||
	    req->hdr.msg_type != NVSP_MSG_TYPE_INIT)
		return 0;
	if (len - off < sizeof(req->hdr) + sizeof(req->msg.init_msg.init) ||
	    !(desc->flags & VMBUS_DATA_PACKET_FLAG_COMPLETION_REQUESTED)) {
		emu_unexpected("relid %u: NVSP INIT of %u bytes, flags %#x\n", chan->relid,
			       len - off, desc->flags);
		return 0;
	}
	atomic_inc(&emu_nvsp_inits);
	ver = req->msg.init_msg.init.max_protocol_ver;
	if (!READ_ONCE(nvsp_init_reply)) {
		pr_info("relid %u: NVSP INIT %#x read, not answered\n", chan->relid, ver);
		return 0;
	}
	resp.hdr.msg_type = NVSP_MSG_TYPE_INIT_COMPLETE;
	resp.msg.init_msg.init_complete.status = NVSP_STAT_FAIL;
	if (!hv_emu_chan_send(chan, VM_PKT_COMP, 0, desc->trans_id, &resp, sizeof(resp)))
		pr_info("relid %u: NVSP INIT %#x refused (transaction %llu)\n", chan->relid, ver,
			desc->trans_id);
	else
		emu_unexpected("relid %u: no room for the INIT completion\n", chan->relid);
	return 0;
}

static const struct hv_emu_chan_ops emu_nic_ops = {
	.packet = emu_nic_packet,
};

static const struct hv_vmbus_device_id emu_nic_class = { HV_NIC_GUID };

static void emu_offer(struct hv_emu_chan *chan)
{
	struct vmbus_channel_offer_channel offer = {};

	offer.header.msgtype = CHANNELMSG_OFFERCHANNEL;
	offer.offer.if_type = chan->class_id;
	offer.offer.if_instance = chan->instance_id;
	offer.child_relid = chan->relid;
	offer.monitorid = 0xff;		/* not monitored */
	offer.is_dedicated_interrupt = 1;
	offer.connection_id = chan->conn_id;
	emu_queue(&offer, sizeof(offer));
	chan->offered = true;
	atomic_inc(&emu_offers);
	pr_info("offered relid %u, class %pUl\n", chan->relid, &chan->class_id);
}

/* ---- channels: GPADLs, open, close --------------------------------------- */

static void emu_gpadl_complete(struct emu_gpadl *g)
{
	struct vmbus_channel_gpadl_created resp = {};

	resp.header.msgtype = CHANNELMSG_GPADL_CREATED;
	resp.child_relid = g->relid;
	resp.gpadl = g->handle;
	if (g->bad) {
		/* Refused (counted as unexpected when it was seen). */
		resp.creation_status = 1;
		emu_gpadl_free(g);
	} else if (emu_gpadl_map(g)) {
		emu_unexpected("GPADL %u: no memory to map %u pages\n", g->handle, g->expected);
		resp.creation_status = 1;
		emu_gpadl_free(g);
	} else {
		g->created = true;
		atomic_inc(&emu_gpadls_created);
	}
	emu_send(&resp, sizeof(resp));
}

/* Store @n PFNs from @pfns at @g's next place; a PFN not RAM spoils it. */
static void emu_gpadl_add(struct emu_gpadl *g, const u64 *pfns, u32 n)
{
	u32 i;

	for (i = 0; i < n && !g->bad; i++) {
		if (!pfn_valid(pfns[i])) {
			emu_unexpected("GPADL %u: PFN %#llx is not RAM\n", g->handle, pfns[i]);
			g->bad = true;
			kvfree(g->pfns);
			g->pfns = NULL;
			break;
		}
		g->pfns[g->received + i] = pfns[i];
	}
	g->received += n;
}

/* GPADL_HEADER: one range (as Linux sends them), the first PFNs. */
static void emu_gpadl_header(const struct emu_msg *m)
{
	const struct vmbus_channel_gpadl_header *h = (const void *)m->data;
	struct emu_gpadl *g = NULL;
	u32 pfns, here, i;

	if (m->size < sizeof(*h) + sizeof(struct gpa_range) || h->rangecount != 1 ||
	    h->range_buflen < sizeof(struct gpa_range) ||
	    (h->range_buflen - sizeof(struct gpa_range)) % sizeof(u64)) {
		emu_unexpected("GPADL header (%u bytes, %u ranges, buflen %u)\n", m->size,
			       h->rangecount, h->range_buflen);
		return;
	}
	pfns = (h->range_buflen - sizeof(struct gpa_range)) / sizeof(u64);
	here = (m->size - sizeof(*h) - sizeof(struct gpa_range)) / sizeof(u64);
	if (!pfns || here > pfns || h->range[0].byte_offset >= HV_HYP_PAGE_SIZE ||
	    pfns != DIV_ROUND_UP(h->range[0].byte_offset + h->range[0].byte_count,
				 HV_HYP_PAGE_SIZE) || emu_gpadl_find(h->gpadl)) {
		emu_unexpected("GPADL header for %u: %u PFNs, %u here, range %u+%u\n",
			       h->gpadl, pfns, here, h->range[0].byte_offset,
			       h->range[0].byte_count);
		return;
	}
	for (i = 0; i < EMU_MAX_GPADLS; i++)
		if (!host.gpadls[i].expected) {
			g = &host.gpadls[i];
			break;
		}
	if (!g) {
		emu_unexpected("more than %u GPADLs\n", EMU_MAX_GPADLS);
		return;
	}
	*g = (struct emu_gpadl){ .handle = h->gpadl, .relid = h->child_relid,
				 .expected = pfns, .byte_offset = h->range[0].byte_offset,
				 .byte_count = h->range[0].byte_count };
	if (pfns > EMU_GPADL_MAX_PFNS) {
		emu_unexpected("GPADL %u of %u PFNs (at most %u)\n", h->gpadl, pfns,
			       EMU_GPADL_MAX_PFNS);
		g->bad = true;
	} else {
		g->pfns = kvcalloc(pfns, sizeof(u64), GFP_KERNEL);
		if (!g->pfns) {
			emu_unexpected("GPADL %u: no memory for %u PFNs\n", h->gpadl, pfns);
			g->bad = true;
		}
	}
	if (g->bad)
		g->received = here;
	else
		emu_gpadl_add(g, h->range[0].pfn_array, here);
	if (g->received == g->expected)
		emu_gpadl_complete(g);
}

static void emu_gpadl_body(const struct emu_msg *m)
{
	const struct vmbus_channel_gpadl_body *b = (const void *)m->data;
	struct emu_gpadl *g;
	u32 here;

	if (m->size < sizeof(*b) || (m->size - sizeof(*b)) % sizeof(u64)) {
		emu_unexpected("GPADL body of %u bytes\n", m->size);
		return;
	}
	g = emu_gpadl_find(b->gpadl);
	here = (m->size - sizeof(*b)) / sizeof(u64);
	if (!g || g->created || here > g->expected - g->received) {
		emu_unexpected("GPADL body for %u (%u PFNs)\n", b->gpadl, here);
		return;
	}
	if (g->bad)
		g->received += here;
	else
		emu_gpadl_add(g, b->pfn, here);
	if (g->received == g->expected)
		emu_gpadl_complete(g);
}

static void emu_gpadl_teardown(const struct emu_msg *m)
{
	const struct vmbus_channel_gpadl_teardown *t = (const void *)m->data;
	struct vmbus_channel_gpadl_torndown resp = {};
	struct hv_emu_chan *chan;
	struct emu_gpadl *g;

	if (m->size < sizeof(*t)) {
		emu_unexpected("GPADL teardown of %u bytes\n", m->size);
		return;
	}
	g = emu_gpadl_find(t->gpadl);
	if (!g || !g->created) {
		emu_unexpected("teardown of GPADL %u, which does not exist\n", t->gpadl);
	} else {
		chan = emu_chan(g->relid);
		if (chan && chan->open && chan->ring_gpadl == g->handle) {
			/* The guest frees the pages once this is answered. */
			emu_unexpected("teardown of GPADL %u, the ring of open relid %u\n",
				       g->handle, g->relid);
			emu_chan_stop(chan);
		}
		emu_gpadl_free(g);
	}
	atomic_inc(&emu_gpadls_torndown);
	/* Answered in any case: the guest waits for it without a timeout. */
	resp.header.msgtype = CHANNELMSG_GPADL_TORNDOWN;
	resp.gpadl = t->gpadl;
	emu_send(&resp, sizeof(resp));
}

static void emu_open_channel(const struct emu_msg *m)
{
	const struct vmbus_channel_open_channel *o = (const void *)m->data;
	struct vmbus_channel_open_result resp = {};
	struct hv_emu_chan *chan;
	const char *why = NULL;
	struct emu_gpadl *g;

	if (m->size < sizeof(*o)) {
		emu_unexpected("OPENCHANNEL of %u bytes\n", m->size);
		return;
	}
	resp.header.msgtype = CHANNELMSG_OPENCHANNEL_RESULT;
	resp.child_relid = o->child_relid;
	resp.openid = o->openid;
	chan = emu_chan(o->child_relid);
	g = emu_gpadl_find(o->ringbuffer_gpadlhandle);
	if (!chan || !chan->offered || chan->rescinded || chan->open || !g || !g->created ||
	    g->relid != o->child_relid || !o->downstream_ringbuffer_pageoffset ||
	    o->downstream_ringbuffer_pageoffset >= g->expected ||
	    o->target_vp >= nr_cpu_ids || !cpu_online(o->target_vp)) {
		emu_unexpected("OPENCHANNEL of relid %u, ring GPADL %u, offset %u, VP %u\n",
			       o->child_relid, o->ringbuffer_gpadlhandle,
			       o->downstream_ringbuffer_pageoffset, o->target_vp);
		resp.status = 1;
	} else {
		resp.status = READ_ONCE(open_status);
	}
	if (!resp.status && emu_chan_map(chan, g, o->downstream_ringbuffer_pageoffset, &why)) {
		emu_unexpected("OPENCHANNEL of relid %u: ring GPADL %u: %s\n", o->child_relid,
			       o->ringbuffer_gpadlhandle, why);
		resp.status = 1;
	}
	if (!resp.status) {
		chan->target_vp = o->target_vp;
		chan->ring_gpadl = o->ringbuffer_gpadlhandle;
		WRITE_ONCE(chan->open, true);
		atomic_inc(&emu_opens);
		pr_info("channel %u opened (ring GPADL %u, %u pages to the host, %u back, VP %u)\n",
			o->child_relid, o->ringbuffer_gpadlhandle,
			o->downstream_ringbuffer_pageoffset,
			g->expected - o->downstream_ringbuffer_pageoffset, o->target_vp);
	}
	emu_send(&resp, sizeof(resp));
	if (!resp.status && chan->ops && chan->ops->opened)
		chan->ops->opened(chan, chan->ctx);
}

static void emu_close_channel(const struct emu_msg *m)
{
	const struct vmbus_channel_close_channel *c = (const void *)m->data;
	struct hv_emu_chan *chan = m->size < sizeof(*c) ? NULL : emu_chan(c->child_relid);

	/* After a rescind the host closed it already; the guest still says so. */
	if (chan && chan->rescinded && !chan->open)
		return;
	if (!chan || !chan->open) {
		emu_unexpected("CLOSECHANNEL of relid %u\n",
			       m->size < sizeof(*c) ? 0 : c->child_relid);
		return;
	}
	emu_chan_stop(chan);
	atomic_inc(&emu_closes);
	pr_info("channel %u closed\n", c->child_relid);
}

/* The guest let go of a rescinded relid: its GPADLs go with it (Hyper-V). */
static void emu_relid_released(const struct emu_msg *m)
{
	const struct vmbus_channel_relid_released *r = (const void *)m->data;
	struct hv_emu_chan *chan = m->size < sizeof(*r) ? NULL : emu_chan(r->child_relid);
	unsigned int i;

	if (!chan || !chan->rescinded) {
		emu_unexpected("RELID_RELEASED of relid %u\n",
			       m->size < sizeof(*r) ? 0 : r->child_relid);
		return;
	}
	for (i = 0; i < EMU_MAX_GPADLS; i++)
		if (host.gpadls[i].expected && host.gpadls[i].relid == chan->relid) {
			if (host.gpadls[i].created)
				atomic_inc(&emu_gpadls_torndown);
			emu_gpadl_free(&host.gpadls[i]);
		}
	WRITE_ONCE(chan->rescinded, false);
	chan->offered = false;
	atomic_inc(&emu_released);
	pr_info("relid %u released\n", chan->relid);
	complete(&chan->released);
}

/* Requests of the API, run in the host work like the guest's messages. */
enum { EMU_REQ_OFFER = 1, EMU_REQ_RESCIND, EMU_REQ_FORGET };

static void emu_request(u32 req, u32 relid)
{
	unsigned long flags;
	struct emu_msg *m;

	m = kzalloc_obj(*m, GFP_KERNEL | __GFP_NOFAIL);
	m->conn_id = 0;		/* no guest message has connection id 0 */
	m->type = req;
	m->size = relid;
	spin_lock_irqsave(&host.inbox_lock, flags);
	list_add_tail(&m->node, &host.inbox);
	host.inbox_len++;
	spin_unlock_irqrestore(&host.inbox_lock, flags);
	queue_work(host.wq, &host.work);
}

static void emu_host_request(const struct emu_msg *m)
{
	struct hv_emu_chan *chan = emu_chan(m->size);
	struct vmbus_channel_rescind_offer rescind = {};

	if (WARN_ON_ONCE(!chan))
		return;
	switch (m->type) {
	case EMU_REQ_OFFER:
		/* Before REQUESTOFFERS the offer waits for it. */
		if (host.connected && host.offers_sent) {
			emu_offer(chan);
			emu_flush();
		}
		break;
	case EMU_REQ_RESCIND:
		if (!chan->offered || !host.connected) {
			chan->offered = false;
			complete(&chan->released);
			break;
		}
		/* Hyper-V closes the channel at once; the guest follows. */
		WRITE_ONCE(chan->rescinded, true);
		emu_chan_stop(chan);
		atomic_inc(&emu_rescinds);
		rescind.header.msgtype = CHANNELMSG_RESCIND_CHANNELOFFER;
		rescind.child_relid = chan->relid;
		pr_info("rescinding relid %u\n", chan->relid);
		emu_send(&rescind, sizeof(rescind));
		break;
	case EMU_REQ_FORGET:
		/* The model gives up waiting: no more callbacks into it. */
		chan->ops = NULL;
		chan->ctx = NULL;
		break;
	}
}

struct hv_emu_chan *hv_emu_offer_channel(const guid_t *class_id, const guid_t *instance_id,
					 const struct hv_emu_chan_ops *ops, void *ctx)
{
	struct hv_emu_chan *chan = NULL;
	unsigned int i;

	if (!class_id || !instance_id || !ops)
		return ERR_PTR(-EINVAL);
	mutex_lock(&host.chan_mutex);
	for (i = 0; i < EMU_MAX_CHANNELS; i++)
		if (!host.chans[i].used) {
			chan = &host.chans[i];
			break;
		}
	if (chan) {
		chan->class_id = *class_id;
		chan->instance_id = *instance_id;
		chan->ops = ops;
		chan->ctx = ctx;
		reinit_completion(&chan->released);
		chan->used = true;
	}
	mutex_unlock(&host.chan_mutex);
	if (!chan)
		return ERR_PTR(-ENOSPC);
	emu_request(EMU_REQ_OFFER, chan->relid);
	return chan;
}
EXPORT_SYMBOL_GPL(hv_emu_offer_channel);

int hv_emu_remove_channel(struct hv_emu_chan *chan)
{
	emu_request(EMU_REQ_RESCIND, chan->relid);
	if (!wait_for_completion_timeout(&chan->released, EMU_RELEASE_TIMEOUT)) {
		emu_unexpected("relid %u: the guest did not release it\n", chan->relid);
		emu_request(EMU_REQ_FORGET, chan->relid);
		flush_workqueue(host.wq);
		return -ETIMEDOUT;
	}
	flush_workqueue(host.wq);
	mutex_lock(&host.chan_mutex);
	chan->used = false;
	chan->ops = NULL;
	chan->ctx = NULL;
	mutex_unlock(&host.chan_mutex);
	return 0;
}
EXPORT_SYMBOL_GPL(hv_emu_remove_channel);

static void emu_vmbus_message(const struct emu_msg *m)
{
	const struct vmbus_channel_message_header *hdr = (const void *)m->data;
	struct vmbus_channel_message_header resp = {};
	unsigned int i;

	if (!m->conn_id) {
		emu_host_request(m);
		return;
	}
	if (m->type != EMU_VMBUS_MSG_TYPE || m->size < sizeof(*hdr)) {
		emu_unexpected("message type %u of %u bytes on connection %u\n",
			       m->type, m->size, m->conn_id);
		return;
	}
	if (hdr->msgtype != CHANNELMSG_INITIATE_CONTACT && !host.connected) {
		emu_unexpected("VMBus message %u before INITIATE_CONTACT\n", hdr->msgtype);
		return;
	}
	switch (hdr->msgtype) {
	case CHANNELMSG_INITIATE_CONTACT:
		emu_initiate_contact(m);
		break;
	case CHANNELMSG_REQUESTOFFERS:
		if (host.offers_sent)
			emu_unexpected("second REQUESTOFFERS\n");
		host.offers_sent = true;
		for (i = 0; i < EMU_MAX_CHANNELS; i++)
			if (host.chans[i].used && !host.chans[i].rescinded)
				emu_offer(&host.chans[i]);
		resp.msgtype = CHANNELMSG_ALLOFFERS_DELIVERED;
		emu_queue(&resp, sizeof(resp));
		emu_flush();
		break;
	case CHANNELMSG_GPADL_HEADER:
		emu_gpadl_header(m);
		break;
	case CHANNELMSG_GPADL_BODY:
		emu_gpadl_body(m);
		break;
	case CHANNELMSG_GPADL_TEARDOWN:
		emu_gpadl_teardown(m);
		break;
	case CHANNELMSG_OPENCHANNEL:
		emu_open_channel(m);
		break;
	case CHANNELMSG_CLOSECHANNEL:
		emu_close_channel(m);
		break;
	case CHANNELMSG_RELID_RELEASED:
		emu_relid_released(m);
		break;
	case CHANNELMSG_UNLOAD:
		/* Hyper-V drops every channel and GPADL of the connection. */
		for (i = 0; i < EMU_MAX_CHANNELS; i++) {
			struct hv_emu_chan *chan = &host.chans[i];

			emu_chan_stop(chan);
			chan->offered = false;
			if (chan->rescinded) {
				WRITE_ONCE(chan->rescinded, false);
				complete(&chan->released);
			}
		}
		for (i = 0; i < EMU_MAX_GPADLS; i++)
			emu_gpadl_free(&host.gpadls[i]);
		WRITE_ONCE(host.connected, false);
		host.offers_sent = false;
		atomic_inc(&emu_unloads);
		pr_info("guest unloads VMBus\n");
		resp.msgtype = CHANNELMSG_UNLOAD_RESPONSE;
		emu_send(&resp, sizeof(resp));
		break;
	default:
		emu_unexpected("VMBus message %u (%u bytes)\n", hdr->msgtype, m->size);
	}
}

static void emu_host_work(struct work_struct *work)
{
	unsigned long flags;
	struct emu_msg *m;

	for (;;) {
		spin_lock_irqsave(&host.inbox_lock, flags);
		m = list_first_entry_or_null(&host.inbox, struct emu_msg, node);
		if (m) {
			list_del(&m->node);
			host.inbox_len--;
		}
		spin_unlock_irqrestore(&host.inbox_lock, flags);
		if (!m)
			break;
		emu_vmbus_message(m);
		kfree(m);
	}
}

/* ---- module ------------------------------------------------------------ */

static void emu_free_queues(void)
{
	struct emu_msg *m, *tmp;
	unsigned int cpu, i;

	/* After the work is gone: whatever VMBus left behind. */
	for (i = 0; i < EMU_MAX_CHANNELS; i++)
		emu_chan_stop(&host.chans[i]);
	for (i = 0; i < EMU_MAX_GPADLS; i++)
		emu_gpadl_free(&host.gpadls[i]);

	list_for_each_entry_safe(m, tmp, &host.inbox, node)
		kfree(m);
	INIT_LIST_HEAD(&host.inbox);
	for_each_possible_cpu(cpu) {
		struct emu_vp *vp = per_cpu_ptr(&emu_vps, cpu);

		list_for_each_entry_safe(m, tmp, &vp->outbox, node)
			kfree(m);
		INIT_LIST_HEAD(&vp->outbox);
	}
}

static int __init emu_init(void)
{
	unsigned int cpu, i;
	int ret;

	if (nic_offers > 1)
		return -EINVAL;
	for_each_possible_cpu(cpu) {
		struct emu_vp *vp = per_cpu_ptr(&emu_vps, cpu);

		spin_lock_init(&vp->lock);
		INIT_LIST_HEAD(&vp->outbox);
		for (i = 0; i < HV_SYNIC_SINT_COUNT; i++)
			vp->sint[i] = HV_SYNIC_SINT_MASKED;	/* reset value */
	}
	spin_lock_init(&host.inbox_lock);
	INIT_LIST_HEAD(&host.inbox);
	INIT_WORK(&host.work, emu_host_work);
	mutex_init(&host.chan_mutex);
	for (i = 0; i < EMU_MAX_CHANNELS; i++) {
		struct hv_emu_chan *chan = &host.chans[i];

		chan->relid = i + 1;
		chan->conn_id = EMU_CONN_ID_BASE + chan->relid;
		spin_lock_init(&chan->lock);
		INIT_WORK(&chan->work, emu_chan_work);
		init_completion(&chan->released);
	}
	if (nic_offers) {
		static const guid_t instance = GUID_INIT(0x8d3a0c4e, 0x6b1f, 0x4c2a, 0x9e, 0x10,
							 0x45, 0x6d, 0x75, 0x00, 0x00, 0x01);
		struct hv_emu_chan *nic = &host.chans[EMU_NIC_RELID - 1];

		nic->class_id = emu_nic_class.guid;
		nic->instance_id = instance;
		nic->ops = &emu_nic_ops;
		nic->used = true;
	}
	host.wq = alloc_ordered_workqueue("hv_emu_host", 0);
	if (!host.wq)
		return -ENOMEM;
	ret = hv_emu_register_ops(&emu_ops);
	if (ret)
		goto out_wq;
	ret = hv_emu_start_vmbus();
	if (ret) {
		pr_err("VMBus did not start: %d\n", ret);
		goto out_ops;
	}
	pr_info("VMBus started\n");
	return 0;

out_ops:
	hv_emu_unregister_ops(&emu_ops);
out_wq:
	destroy_workqueue(host.wq);
	emu_free_queues();
	return ret;
}

/*
 * hv_vmbus is built in and stays. Before this host goes, the guest unloads
 * VMBus as it does for kexec (UNLOAD, waiting for UNLOAD_RESPONSE); after
 * that nothing of hv_vmbus calls the host until the SynIC is touched again
 * (CPU hot-plug), which hv_emu would count. VMBus cannot start again in this
 * boot (hv_emu_start_vmbus() runs once).
 */
static void __exit emu_exit(void)
{
	if (READ_ONCE(host.connected))
		vmbus_initiate_unload(false);
	hv_emu_unregister_ops(&emu_ops);
	destroy_workqueue(host.wq);
	emu_free_queues();
	pr_info("stopped\n");
}

/* ---- KUnit: the hypervisor's answers to bad input ------------------------ */

#if IS_ENABLED(CONFIG_KUNIT)
#include <kunit/test.h>

/*
 * These call emu_hypercall_status() directly (not through hv_emu, so no
 * refusal is counted as unexpected) with input the guest kernel never
 * builds. None of them reaches the host's inbox.
 */
struct emu_test_page {
	struct emu_post_input *in;
	u64 gpa;
};

static int emu_test_init(struct kunit *test)
{
	struct emu_test_page *p = kunit_kzalloc(test, sizeof(*p), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, p);
	p->in = (void *)get_zeroed_page(GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, p->in);
	p->gpa = virt_to_phys(p->in);
	/* A well-formed message but for the connection id (set per case). */
	p->in->message_type = EMU_VMBUS_MSG_TYPE;
	p->in->payload_size = sizeof(struct vmbus_channel_message_header);
	test->priv = p;
	return 0;
}

static void emu_test_exit(struct kunit *test)
{
	struct emu_test_page *p = test->priv;

	free_page((unsigned long)p->in);
}

static void emu_test_unknown_code(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, emu_hypercall_status(HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE, 0, 0),
			(u64)HV_STATUS_INVALID_HYPERCALL_CODE);
	KUNIT_EXPECT_EQ(test, emu_hypercall_status(0xffff, 0, 0),
			(u64)HV_STATUS_INVALID_HYPERCALL_CODE);
}

static void emu_test_control_fields(struct kunit *test)
{
	struct emu_test_page *p = test->priv;

	p->in->connection_id = 0x7777;	/* would be INVALID_CONNECTION_ID */
	KUNIT_EXPECT_EQ(test, emu_hypercall_status(HVCALL_POST_MESSAGE | HV_HYPERCALL_REP_COMP_1,
						   p->gpa, 0),
			(u64)HV_STATUS_INVALID_HYPERCALL_INPUT);
	KUNIT_EXPECT_EQ(test, emu_hypercall_status(HVCALL_POST_MESSAGE |
						   (1ULL << HV_HYPERCALL_REP_START_OFFSET),
						   p->gpa, 0),
			(u64)HV_STATUS_INVALID_HYPERCALL_INPUT);
	KUNIT_EXPECT_EQ(test, emu_hypercall_status(HVCALL_POST_MESSAGE |
						   (1ULL << HV_HYPERCALL_VARHEAD_OFFSET),
						   p->gpa, 0),
			(u64)HV_STATUS_INVALID_HYPERCALL_INPUT);
	KUNIT_EXPECT_EQ(test, emu_hypercall_status(HVCALL_POST_MESSAGE | HV_HYPERCALL_FAST_BIT,
						   p->gpa, 0),
			(u64)HV_STATUS_INVALID_HYPERCALL_INPUT);
	KUNIT_EXPECT_EQ(test, emu_hypercall_status(HVCALL_SIGNAL_EVENT | HV_HYPERCALL_FAST_BIT |
						   HV_HYPERCALL_REP_COMP_1, 0x7777, 0),
			(u64)HV_STATUS_INVALID_HYPERCALL_INPUT);
}

static void emu_test_post_alignment(struct kunit *test)
{
	struct emu_test_page *p = test->priv;

	p->in->connection_id = 0x7777;
	KUNIT_EXPECT_EQ(test, emu_hypercall_status(HVCALL_POST_MESSAGE, p->gpa + 4, 0),
			(u64)HV_STATUS_INVALID_ALIGNMENT);
	/* 8-aligned, but the 256 bytes would run into the next page. */
	KUNIT_EXPECT_EQ(test, emu_hypercall_status(HVCALL_POST_MESSAGE,
						   p->gpa + PAGE_SIZE - 8, 0),
			(u64)HV_STATUS_INVALID_ALIGNMENT);
}

static void emu_test_post_parameters(struct kunit *test)
{
	struct emu_test_page *p = test->priv;

	p->in->connection_id = 0x7777;
	KUNIT_EXPECT_EQ(test, emu_hypercall_status(HVCALL_POST_MESSAGE, p->gpa, 0),
			(u64)HV_STATUS_INVALID_CONNECTION_ID);
	p->in->connection_id = EMU_CONN_ID_MESSAGE;
	p->in->payload_size = HV_MESSAGE_PAYLOAD_BYTE_COUNT + 1;
	KUNIT_EXPECT_EQ(test, emu_hypercall_status(HVCALL_POST_MESSAGE, p->gpa, 0),
			(u64)HV_STATUS_INVALID_PARAMETER);
	p->in->payload_size = 8;
	p->in->message_type = HVMSG_NONE;
	KUNIT_EXPECT_EQ(test, emu_hypercall_status(HVCALL_POST_MESSAGE, p->gpa, 0),
			(u64)HV_STATUS_INVALID_PARAMETER);
	p->in->message_type = HVMSG_TIMER_EXPIRED;	/* the hypervisor's own */
	KUNIT_EXPECT_EQ(test, emu_hypercall_status(HVCALL_POST_MESSAGE, p->gpa, 0),
			(u64)HV_STATUS_INVALID_PARAMETER);
	p->in->message_type = EMU_VMBUS_MSG_TYPE;
	p->in->reserved = 1;
	KUNIT_EXPECT_EQ(test, emu_hypercall_status(HVCALL_POST_MESSAGE, p->gpa, 0),
			(u64)HV_STATUS_INVALID_PARAMETER);
}

static void emu_test_signal_event(struct kunit *test)
{
	struct emu_test_page *p = test->priv;
	union emu_signal_input in = { .connection_id = 0x7777 };
	u64 *slow = (u64 *)p->in;

	KUNIT_EXPECT_EQ(test, emu_hypercall_status(HVCALL_SIGNAL_EVENT | HV_HYPERCALL_FAST_BIT,
						   in.as_u64, 0),
			(u64)HV_STATUS_INVALID_CONNECTION_ID);
	*slow = in.as_u64;
	KUNIT_EXPECT_EQ(test, emu_hypercall_status(HVCALL_SIGNAL_EVENT, p->gpa, 0),
			(u64)HV_STATUS_INVALID_CONNECTION_ID);
	KUNIT_EXPECT_EQ(test, emu_hypercall_status(HVCALL_SIGNAL_EVENT, p->gpa + 4, 0),
			(u64)HV_STATUS_INVALID_ALIGNMENT);
	in.flag_number = HV_EVENT_FLAGS_COUNT;
	KUNIT_EXPECT_EQ(test, emu_hypercall_status(HVCALL_SIGNAL_EVENT | HV_HYPERCALL_FAST_BIT,
						   in.as_u64, 0),
			(u64)HV_STATUS_INVALID_PARAMETER);
	in.flag_number = 0;
	in.reserved = 1;
	KUNIT_EXPECT_EQ(test, emu_hypercall_status(HVCALL_SIGNAL_EVENT | HV_HYPERCALL_FAST_BIT,
						   in.as_u64, 0),
			(u64)HV_STATUS_INVALID_PARAMETER);
}

static struct kunit_case emu_hypercall_cases[] = {
	KUNIT_CASE(emu_test_unknown_code),
	KUNIT_CASE(emu_test_control_fields),
	KUNIT_CASE(emu_test_post_alignment),
	KUNIT_CASE(emu_test_post_parameters),
	KUNIT_CASE(emu_test_signal_event),
	{}
};

static struct kunit_suite emu_hypercall_suite = {
	.name = "hv_emu_host_hypercall",
	.init = emu_test_init,
	.exit = emu_test_exit,
	.test_cases = emu_hypercall_cases,
};

/*
 * The ring reader and writer on a ring of the test's own (a header page and
 * two data pages, no guest): what a guest could write wrong is refused,
 * wrap-around is handled, the flow-control rules hold. Two views share the
 * ring, as guest and host do: @w writes (host index = write index), @rd
 * reads (host index = read index).
 */
#define EMU_TEST_RING_PAGES	2

struct emu_test_ring {
	void *mem;
	struct emu_ring w, rd;
	u8 buf[256];
};

static int emu_ring_test_init(struct kunit *test)
{
	struct emu_test_ring *t = kunit_kzalloc(test, sizeof(*t), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, t);
	t->mem = kunit_kzalloc(test, (1 + EMU_TEST_RING_PAGES) * PAGE_SIZE, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, t->mem);
	t->w = (struct emu_ring){ .hdr = t->mem, .data = t->mem + PAGE_SIZE,
				  .size = EMU_TEST_RING_PAGES * PAGE_SIZE };
	t->rd = t->w;
	test->priv = t;
	return 0;
}

/* Both views and the header at @index: an empty ring there. */
static void emu_test_ring_at(struct emu_test_ring *t, u32 index)
{
	t->w.index = index;
	t->rd.index = index;
	t->w.hdr->write_index = index;
	t->w.hdr->read_index = index;
}

static int emu_test_write(struct emu_test_ring *t, u16 type, u16 flags, u64 tid,
			  const void *data, u32 len, bool *signal)
{
	struct vmpacket_descriptor d = { .type = type, .offset8 = 2, .flags = flags,
					 .trans_id = tid };
	const char *why = NULL;

	d.len8 = (sizeof(d) + ALIGN(len, 8)) >> 3;
	return emu_ring_write(&t->w, &d, data, len, signal, &why);
}

/* A hand-made packet at the writer's index; moves the write index. */
static void emu_test_raw(struct emu_test_ring *t, const struct vmpacket_descriptor *d,
			 u32 bytes, u64 prev)
{
	u32 at = t->w.index;

	at = emu_ring_copy_to(&t->w, at, d, sizeof(*d));
	at = (at + bytes - sizeof(*d)) % t->w.size;
	at = emu_ring_copy_to(&t->w, at, &prev, sizeof(prev));
	t->w.index = at;
	t->w.hdr->write_index = at;
}

static int emu_test_read(struct emu_test_ring *t, u32 *len, const char **why)
{
	return emu_ring_read(&t->rd, t->buf, sizeof(t->buf), len, why);
}

static void emu_test_ring_roundtrip(struct kunit *test)
{
	struct emu_test_ring *t = test->priv;
	const struct vmpacket_descriptor *d = (void *)t->buf;
	u8 payload[40];
	const char *why = NULL;
	bool signal = false;
	u32 len = 0, i;

	for (i = 0; i < sizeof(payload); i++)
		payload[i] = i + 1;
	emu_test_ring_at(t, 0);
	KUNIT_EXPECT_EQ(test, emu_test_read(t, &len, &why), -ENODATA);
	KUNIT_ASSERT_EQ(test, emu_test_write(t, VM_PKT_DATA_INBAND, 1, 7, payload,
					     sizeof(payload), &signal), 0);
	KUNIT_EXPECT_TRUE(test, signal);
	KUNIT_EXPECT_EQ(test, t->w.hdr->write_index, 16 + 40 + 8U);
	KUNIT_ASSERT_EQ(test, emu_test_read(t, &len, &why), 0);
	KUNIT_EXPECT_EQ(test, len, 16 + 40U);
	KUNIT_EXPECT_EQ(test, d->type, (u16)VM_PKT_DATA_INBAND);
	KUNIT_EXPECT_EQ(test, d->flags, (u16)1);
	KUNIT_EXPECT_EQ(test, d->trans_id, 7ULL);
	KUNIT_EXPECT_EQ(test, memcmp(t->buf + 16, payload, sizeof(payload)), 0);
	KUNIT_EXPECT_EQ(test, t->rd.index, 16 + 40 + 8U);
	KUNIT_EXPECT_EQ(test, emu_test_read(t, &len, &why), -ENODATA);
	emu_ring_publish(&t->rd, 64);
	KUNIT_EXPECT_EQ(test, t->w.hdr->read_index, 64U);
	/* A masked guest gets no interrupt; an odd length is padded. */
	t->w.hdr->interrupt_mask = 1;
	KUNIT_ASSERT_EQ(test, emu_test_write(t, VM_PKT_COMP, 0, 8, payload, 3, &signal), 0);
	KUNIT_EXPECT_FALSE(test, signal);
	KUNIT_ASSERT_EQ(test, emu_test_read(t, &len, &why), 0);
	KUNIT_EXPECT_EQ(test, len, 24U);
}

static void emu_test_ring_wrap(struct kunit *test)
{
	struct emu_test_ring *t = test->priv;
	u32 start = t->w.size - 24, len = 0, i;
	const char *why = NULL;
	bool signal;
	u8 payload[100];

	for (i = 0; i < sizeof(payload); i++)
		payload[i] = 0xa0 ^ i;
	/* The descriptor fits before the end, the payload wraps. */
	emu_test_ring_at(t, start);
	KUNIT_ASSERT_EQ(test, emu_test_write(t, VM_PKT_DATA_INBAND, 0, 1, payload,
					     sizeof(payload), &signal), 0);
	KUNIT_EXPECT_EQ(test, t->w.hdr->write_index, (start + 16 + 104 + 8) % t->w.size);
	KUNIT_ASSERT_EQ(test, emu_test_read(t, &len, &why), 0);
	KUNIT_EXPECT_EQ(test, len, 16 + 104U);
	KUNIT_EXPECT_EQ(test, memcmp(t->buf + 16, payload, sizeof(payload)), 0);
	KUNIT_EXPECT_EQ(test, t->rd.index, t->w.index);
	/* The descriptor itself split by the end. */
	emu_test_ring_at(t, t->w.size - 8);
	KUNIT_ASSERT_EQ(test, emu_test_write(t, VM_PKT_COMP, 0, 2, payload, 8, &signal), 0);
	KUNIT_ASSERT_EQ(test, emu_test_read(t, &len, &why), 0);
	KUNIT_EXPECT_EQ(test, ((struct vmpacket_descriptor *)t->buf)->trans_id, 2ULL);
	KUNIT_EXPECT_EQ(test, memcmp(t->buf + 16, payload, 8), 0);
	/* The packet ends at the end, its trailing index at the start. */
	emu_test_ring_at(t, t->w.size - 24);
	KUNIT_ASSERT_EQ(test, emu_test_write(t, VM_PKT_COMP, 0, 3, payload, 8, &signal), 0);
	KUNIT_EXPECT_EQ(test, t->w.hdr->write_index, 8U);
	KUNIT_ASSERT_EQ(test, emu_test_read(t, &len, &why), 0);
	KUNIT_EXPECT_EQ(test, ((struct vmpacket_descriptor *)t->buf)->trans_id, 3ULL);
	KUNIT_EXPECT_EQ(test, t->rd.index, 8U);
}

static void emu_test_ring_bad_indices(struct kunit *test)
{
	struct emu_test_ring *t = test->priv;
	u8 payload[8] = {};
	const char *why = NULL;
	bool signal;
	u32 len;

	emu_test_ring_at(t, 0);
	t->rd.hdr->write_index = t->rd.size;	/* past the data */
	KUNIT_EXPECT_EQ(test, emu_test_read(t, &len, &why), -EPROTO);
	KUNIT_EXPECT_STREQ(test, why, "write index");
	t->rd.hdr->write_index = 4;		/* not 8-byte aligned */
	KUNIT_EXPECT_EQ(test, emu_test_read(t, &len, &why), -EPROTO);
	t->rd.hdr->write_index = 16;		/* less than a packet */
	KUNIT_EXPECT_EQ(test, emu_test_read(t, &len, &why), -EPROTO);
	KUNIT_EXPECT_STREQ(test, why, "packet shorter than a descriptor");
	/* The guest's read index of a ring the host writes. */
	emu_test_ring_at(t, 0);
	t->w.hdr->read_index = t->w.size + 8;
	KUNIT_EXPECT_EQ(test, emu_test_write(t, VM_PKT_COMP, 0, 1, payload, 8, &signal), -EPROTO);
	t->w.hdr->read_index = 12;
	KUNIT_EXPECT_EQ(test, emu_test_write(t, VM_PKT_COMP, 0, 1, payload, 8, &signal), -EPROTO);
	KUNIT_EXPECT_EQ(test, t->w.hdr->write_index, 0U);	/* nothing written */
}

static void emu_test_ring_bad_descriptor(struct kunit *test)
{
	struct emu_test_ring *t = test->priv;
	struct vmpacket_descriptor d = { .type = VM_PKT_DATA_INBAND, .offset8 = 2, .len8 = 4 };
	const char *why = NULL;
	u32 len;

	/* Sound, as a reference. */
	emu_test_ring_at(t, 0);
	emu_test_raw(t, &d, 32, 0);
	KUNIT_EXPECT_EQ(test, emu_test_read(t, &len, &why), 0);
	/* len8 beyond what the write index covers. */
	emu_test_ring_at(t, 0);
	d.len8 = 4;
	emu_test_raw(t, &d, 32, 0);
	t->rd.hdr->write_index = 32;	/* the trailing index not covered */
	KUNIT_EXPECT_EQ(test, emu_test_read(t, &len, &why), -EPROTO);
	KUNIT_EXPECT_STREQ(test, why, "packet past the write index");
	/* Larger than the host takes (the test's buffer: 256 bytes). */
	emu_test_ring_at(t, 0);
	d.len8 = 512 >> 3;
	emu_test_raw(t, &d, 512, 0);
	KUNIT_EXPECT_EQ(test, emu_test_read(t, &len, &why), -EPROTO);
	KUNIT_EXPECT_STREQ(test, why, "oversized packet");
	/* The largest len8 (0xffff * 8 bytes), more than the ring. */
	emu_test_ring_at(t, 0);
	d.len8 = 0xffff;
	emu_test_raw(t, &d, 32, 0);
	KUNIT_EXPECT_EQ(test, emu_test_read(t, &len, &why), -EPROTO);
	/* Offset inside the descriptor, past the packet; length under one. */
	d.len8 = 4;
	d.offset8 = 1;
	emu_test_ring_at(t, 0);
	emu_test_raw(t, &d, 32, 0);
	KUNIT_EXPECT_EQ(test, emu_test_read(t, &len, &why), -EPROTO);
	KUNIT_EXPECT_STREQ(test, why, "descriptor offset or length");
	d.offset8 = 5;
	emu_test_ring_at(t, 0);
	emu_test_raw(t, &d, 32, 0);
	KUNIT_EXPECT_EQ(test, emu_test_read(t, &len, &why), -EPROTO);
	d.offset8 = 1;
	d.len8 = 1;
	emu_test_ring_at(t, 0);
	emu_test_raw(t, &d, 32, 0);
	KUNIT_EXPECT_EQ(test, emu_test_read(t, &len, &why), -EPROTO);
	/* A host-only type, an unknown flag, a wrong previous index. */
	d = (struct vmpacket_descriptor){ .type = VM_PKT_DATA_USING_XFER_PAGES, .offset8 = 2,
					  .len8 = 4 };
	emu_test_ring_at(t, 0);
	emu_test_raw(t, &d, 32, 0);
	KUNIT_EXPECT_EQ(test, emu_test_read(t, &len, &why), -EPROTO);
	KUNIT_EXPECT_STREQ(test, why, "packet type");
	d.type = VM_PKT_COMP;
	d.flags = 2;
	emu_test_ring_at(t, 0);
	emu_test_raw(t, &d, 32, 0);
	KUNIT_EXPECT_EQ(test, emu_test_read(t, &len, &why), -EPROTO);
	KUNIT_EXPECT_STREQ(test, why, "packet flags");
	d.flags = 0;
	emu_test_ring_at(t, 64);
	emu_test_raw(t, &d, 32, 0);	/* Linux writes 64 << 32 */
	KUNIT_EXPECT_EQ(test, emu_test_read(t, &len, &why), -EPROTO);
	KUNIT_EXPECT_STREQ(test, why, "previous index");
	emu_test_ring_at(t, 64);
	emu_test_raw(t, &d, 32, 64ULL << 32);
	KUNIT_EXPECT_EQ(test, emu_test_read(t, &len, &why), 0);
}

static void emu_test_ring_flow(struct kunit *test)
{
	struct emu_test_ring *t = test->priv;
	static const u8 big[2000];
	bool signal;
	u32 n = 0;

	/* Fill: each packet 16 + 2000 + 8 bytes; the ring never gets full. */
	emu_test_ring_at(t, 0);
	while (!emu_test_write(t, VM_PKT_DATA_INBAND, 0, n, big, 2000, &signal))
		n++;
	KUNIT_EXPECT_EQ(test, n, t->w.size / 2024);
	KUNIT_EXPECT_NE(test, t->w.hdr->write_index, t->w.hdr->read_index);
	KUNIT_EXPECT_EQ(test, emu_test_write(t, VM_PKT_DATA_INBAND, 0, n, big, 2000, &signal),
			-EAGAIN);
	/* The guest waits for 3000 bytes (pending_send_sz): reading one packet
	 * (2024) frees less than that; a second one crosses it.
	 */
	t->rd.hdr->feature_bits.value = 1;
	t->rd.hdr->pending_send_sz = 3000;
	t->rd.index = (t->rd.index + 2024) % t->rd.size;
	KUNIT_EXPECT_FALSE(test, emu_ring_publish(&t->rd, 2024));
	t->rd.index = (t->rd.index + 2024) % t->rd.size;
	KUNIT_EXPECT_TRUE(test, emu_ring_publish(&t->rd, 2024));
	/* Already more than asked for before: no second signal. */
	t->rd.index = (t->rd.index + 2024) % t->rd.size;
	KUNIT_EXPECT_FALSE(test, emu_ring_publish(&t->rd, 2024));
	/* Without the feature bit the guest asked for nothing. */
	t->rd.hdr->feature_bits.value = 0;
	t->rd.hdr->pending_send_sz = 100000;
	KUNIT_EXPECT_FALSE(test, emu_ring_publish(&t->rd, 2024));
}

static int emu_test_spaces;

static void emu_test_space_cb(struct hv_emu_chan *chan, void *ctx)
{
	emu_test_spaces++;
}

/*
 * A device model's side of the inbound ring: whole packets written as they
 * are (hv_emu_chan_send_raw()'s path), the room left
 * (hv_emu_chan_write_avail()), and waiting for space through the ring's
 * pending_send_sz (hv_emu_chan_want_space(), ->space() from the work).
 */
static void emu_test_model_space(struct kunit *test)
{
	static const struct hv_emu_chan_ops ops = { .space = emu_test_space_cb };
	struct emu_test_ring *t = test->priv;
	struct hv_emu_chan *chan;
	struct vmpacket_descriptor *d;
	const char *why = NULL;
	u8 *pkt;
	int wakeups = atomic_read(&emu_space_wakeups);
	bool signal;
	u32 n = 0, len;

	chan = kunit_kzalloc(test, sizeof(*chan), GFP_KERNEL);
	pkt = kunit_kzalloc(test, 2016, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, chan);
	KUNIT_ASSERT_NOT_NULL(test, pkt);
	spin_lock_init(&chan->lock);
	chan->ops = &ops;
	emu_test_ring_at(t, 0);
	chan->in = t->w;
	/* A raw packet of 2016 bytes (+ 8 of previous index) with a header of
	 * its own (offset8 4: 16 bytes between descriptor and payload).
	 */
	d = (void *)pkt;
	d->type = VM_PKT_DATA_INBAND;
	d->offset8 = 4;
	d->len8 = 2016 / 8;
	memset(pkt + 16, 0xa5, 16);
	while (!emu_ring_write(&chan->in, NULL, pkt, 2016, &signal, &why)) {
		d->trans_id = ++n;
	}
	KUNIT_EXPECT_EQ(test, n, chan->in.size / 2024);
	KUNIT_EXPECT_LT(test, hv_emu_chan_write_avail(chan), 2016U);
	/* The reader gets it as written, header included. */
	memset(pkt, 0, 2016);
	KUNIT_EXPECT_EQ(test, emu_ring_read(&t->rd, pkt, 2016, &len, &why), 0);
	KUNIT_EXPECT_EQ(test, len, 2016U);
	KUNIT_EXPECT_EQ(test, d->offset8, 4);
	KUNIT_EXPECT_EQ(test, d->trans_id, 0ULL);
	KUNIT_EXPECT_EQ(test, pkt[16], 0xa5);
	/* Waiting for 3000 bytes: asked in pending_send_sz, not there yet. */
	emu_test_spaces = 0;
	KUNIT_EXPECT_FALSE(test, hv_emu_chan_want_space(chan, 3000));
	KUNIT_EXPECT_EQ(test, chan->in.hdr->pending_send_sz, 3000U);
	/* The guest read one packet (free 2120): no call yet; a second: one. */
	chan->in.hdr->read_index = 2024;
	emu_chan_space(chan);
	KUNIT_EXPECT_EQ(test, emu_test_spaces, 0);
	chan->in.hdr->read_index = 4048;
	emu_chan_space(chan);
	KUNIT_EXPECT_EQ(test, emu_test_spaces, 1);
	KUNIT_EXPECT_EQ(test, chan->in.hdr->pending_send_sz, 0U);
	emu_chan_space(chan);
	KUNIT_EXPECT_EQ(test, emu_test_spaces, 1);
	/* Room there already: true, nothing asked. */
	KUNIT_EXPECT_TRUE(test, hv_emu_chan_want_space(chan, 3000));
	KUNIT_EXPECT_EQ(test, chan->in.hdr->pending_send_sz, 0U);
	KUNIT_EXPECT_GE(test, hv_emu_chan_write_avail(chan), 2016U);
	/* The host's stats count the guests' channels, not this one. */
	atomic_set(&emu_space_wakeups, wakeups);
}

static struct kunit_case emu_ring_cases[] = {
	KUNIT_CASE(emu_test_ring_roundtrip),
	KUNIT_CASE(emu_test_ring_wrap),
	KUNIT_CASE(emu_test_ring_bad_indices),
	KUNIT_CASE(emu_test_ring_bad_descriptor),
	KUNIT_CASE(emu_test_ring_flow),
	KUNIT_CASE(emu_test_model_space),
	{}
};

static struct kunit_suite emu_ring_suite = {
	.name = "hv_emu_host_ring",
	.init = emu_ring_test_init,
	.test_cases = emu_ring_cases,
};
kunit_test_suites(&emu_hypercall_suite, &emu_ring_suite);
#endif /* CONFIG_KUNIT */

module_init(emu_init);
module_exit(emu_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Test-only emulated Hyper-V host (SynIC, messages, VMBus host side)");
