// SPDX-License-Identifier: GPL-2.0
/*
 * Out-of-line copies of the hyperv.h inline functions and field accesses
 * that vmbus/hyperv.rs needs (see helpers_vmbus.h), the GPA-direct
 * descriptor builder, and constants for its KUnit suite.
 */
#include <linux/device.h>
#include <linux/hyperv.h>
#include <linux/mod_devicetable.h>
#include <linux/overflow.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/vmalloc.h>

#include "helpers_vmbus.h"

void hvn_vmbus_driver_init(struct hv_driver *drv, const char *name,
			   const struct hv_vmbus_device_id *id_table,
			   int (*probe)(struct hv_device *,
					const struct hv_vmbus_device_id *),
			   void (*remove)(struct hv_device *))
{
	memset(drv, 0, sizeof(*drv));
	drv->name = name;
	drv->id_table = id_table;
	drv->probe = probe;
	drv->remove = remove;
	/* As upstream netvsc: probe runs in the thread that binds. */
	drv->driver.probe_type = PROBE_FORCE_SYNCHRONOUS;
}

struct vmbus_channel *hvn_hv_device_channel(struct hv_device *dev)
{
	return dev->channel;
}

struct device *hvn_hv_device_dev(struct hv_device *dev)
{
	return &dev->device;
}

void hvn_hv_device_instance(const struct hv_device *dev, guid_t *out)
{
	guid_copy(out, &dev->dev_instance);
}

void hvn_hv_set_drvdata(struct hv_device *dev, void *data)
{
	hv_set_drvdata(dev, data);
}

void *hvn_hv_get_drvdata(struct hv_device *dev)
{
	return hv_get_drvdata(dev);
}

void hvn_vmbus_channel_prepare(struct vmbus_channel *channel, u32 max_pkt_size)
{
	/*
	 * The channel struct outlives driver bindings: a driver bound before
	 * us (upstream hv_netvsc sets HV_CALL_ISR and a requestor) leaves its
	 * settings behind, so every one we rely on is set here explicitly.
	 * HV_CALL_ISR: the callback only schedules NAPI, which polls the ring
	 * with the host's interrupts masked (hv_begin_read/hv_end_read).
	 */
	set_channel_read_mode(channel, HV_CALL_ISR);
	channel->next_request_id_callback = NULL;
	channel->request_addr_callback = NULL;
	channel->rqstor_size = 0;
	/*
	 * vmbus_free_requestor() frees req_arr and req_bitmap at every close
	 * without clearing them, and __vmbus_open() allocates new ones only
	 * when rqstor_size is set: a previous driver's (already freed) arrays
	 * would be freed again at our close. Ours has none.
	 */
	channel->requestor.req_arr = NULL;
	channel->requestor.req_bitmap = NULL;
	channel->requestor.size = 0;
	channel->requestor.next_request_id = 0;
	channel->max_pkt_size = max_pkt_size;
}

u32 hvn_vmbus_ring_size(u32 payload)
{
	return VMBUS_RING_SIZE(payload);
}

u32 hvn_vmbus_write_avail(struct vmbus_channel *channel)
{
	return hv_get_bytes_to_write(&channel->outbound);
}

void hvn_vmbus_set_pending_send_size(struct vmbus_channel *channel, u32 size)
{
	set_channel_pending_send_size(channel, size);
}

void hvn_vmbus_begin_read(struct vmbus_channel *channel)
{
	hv_begin_read(&channel->inbound);
}

u32 hvn_vmbus_end_read(struct vmbus_channel *channel)
{
	return hv_end_read(&channel->inbound);
}

long hvn_vmbus_mpb_desc_size(const struct hv_page_buffer *pages, u32 count)
{
	size_t size = offsetof(struct vmbus_packet_mpb_array, range);
	u32 i;

	if (!count || count > MAX_PAGE_BUFFER_COUNT)
		return -EINVAL;
	for (i = 0; i < count; i++) {
		u64 end = (u64)pages[i].offset + pages[i].len;

		if (!pages[i].len || pages[i].offset >= HV_HYP_PAGE_SIZE)
			return -EINVAL;
		size += sizeof(struct hv_mpb_array) +
			HVPFN_UP(end) * sizeof(u64);
	}
	return size;
}

void hvn_vmbus_mpb_fill(struct vmbus_packet_mpb_array *desc,
			const struct hv_page_buffer *pages, u32 count)
{
	struct hv_mpb_array *entry = &desc->range;
	u32 i, j;

	/* As upstream's netvsc_build_mpb_array(). */
	for (i = 0; i < count; i++) {
		u32 pfns = HVPFN_UP((u64)pages[i].offset + pages[i].len);

		entry->offset = pages[i].offset;
		entry->len = pages[i].len;
		for (j = 0; j < pfns; j++)
			entry->pfn_array[j] = pages[i].pfn + j;
		entry = (struct hv_mpb_array *)&entry->pfn_array[pfns];
	}
	desc->rangecount = count;
}

int hvn_vmbus_send_gpa_direct(struct vmbus_channel *channel,
			      const struct hv_page_buffer *pages, u32 count,
			      void *payload, u32 len, u64 trans_id)
{
	/*
	 * Upstream's on-stack storage (netvsc_send_pkt()): enough for
	 * MAX_PAGE_BUFFER_COUNT ranges that each stay within one page.
	 */
	struct vmbus_channel_packet_page_buffer stack;
	struct vmbus_packet_mpb_array *desc =
		(struct vmbus_packet_mpb_array *)&stack;
	long desc_size = hvn_vmbus_mpb_desc_size(pages, count);
	int ret;

	if (desc_size < 0)
		return desc_size;
	/* dataoffset8 and length8 are u16 counts of 8-byte units. */
	if (desc_size + (u64)len > U16_MAX * 8ULL)
		return -EMSGSIZE;
	/* Ranges crossing pages need more pfns than the stack holds. */
	if (desc_size > sizeof(stack)) {
		desc = kzalloc(desc_size, GFP_ATOMIC);
		if (!desc)
			return -ENOMEM;
	}
	hvn_vmbus_mpb_fill(desc, pages, count);
	ret = vmbus_sendpacket_mpb_desc(channel, desc, desc_size, payload, len,
					trans_id);
	if ((void *)desc != (void *)&stack)
		kfree(desc);
	return ret;
}

void hvn_hv_nic_guid(guid_t *out)
{
	static const struct hv_vmbus_device_id nic = { HV_NIC_GUID };

	guid_copy(out, &nic.guid);
}

size_t hvn_sizeof_hv_vmbus_device_id(void)
{
	return sizeof(struct hv_vmbus_device_id);
}

size_t hvn_sizeof_vmbus_gpadl(void)
{
	return sizeof(struct vmbus_gpadl);
}

size_t hvn_sizeof_hv_driver(void)
{
	return sizeof(struct hv_driver);
}

size_t hvn_offsetof_vmbus_channel_requestor(void)
{
	return offsetof(struct vmbus_channel, requestor);
}

size_t hvn_offsetof_vmbus_channel_rqstor_size(void)
{
	return offsetof(struct vmbus_channel, rqstor_size);
}

unsigned long hvn_vmalloc_to_pfn(const void *addr)
{
	return vmalloc_to_pfn(addr);
}
