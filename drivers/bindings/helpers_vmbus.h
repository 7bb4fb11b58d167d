/* SPDX-License-Identifier: GPL-2.0 */
/*
 * C wrappers for the inline functions, macros and struct fields of hyperv.h
 * that vmbus/hyperv.rs (the Hyper-V implementation of the transport seam)
 * uses. struct hv_driver, hv_device and vmbus_channel are opaque to Rust
 * (allowlist.d/vmbus.list): every field access goes through a helper here,
 * so bindgen never has to represent their layouts. The Rust side states the
 * contracts.
 */
#ifndef HVN_HELPERS_VMBUS_H
#define HVN_HELPERS_VMBUS_H

#include <linux/hyperv.h>
#include <linux/types.h>
#include <linux/uuid.h>

/* struct hv_driver: zeroed, then name, id table and callbacks set. */
void hvn_vmbus_driver_init(struct hv_driver *drv, const char *name,
			   const struct hv_vmbus_device_id *id_table,
			   int (*probe)(struct hv_device *,
					const struct hv_vmbus_device_id *),
			   void (*remove)(struct hv_device *));

/* struct hv_device. */
struct vmbus_channel *hvn_hv_device_channel(struct hv_device *dev);
struct device *hvn_hv_device_dev(struct hv_device *dev);
void hvn_hv_device_instance(const struct hv_device *dev, guid_t *out);
void hvn_hv_set_drvdata(struct hv_device *dev, void *data);
void *hvn_hv_get_drvdata(struct hv_device *dev);

/*
 * Channel settings applied before vmbus_open(): callback mode (HV_CALL_ISR), largest
 * inbound packet, and no requestor (trans ids go out verbatim).
 */
void hvn_vmbus_channel_prepare(struct vmbus_channel *channel, u32 max_pkt_size);
/* VMBUS_RING_SIZE(): a ring of payload bytes with its header, page-aligned. */
u32 hvn_vmbus_ring_size(u32 payload);
/* hv_get_bytes_to_write() of the outbound ring (channel must be open). */
u32 hvn_vmbus_write_avail(struct vmbus_channel *channel);
/* set_channel_pending_send_size(): the host signals once size bytes are free. */
void hvn_vmbus_set_pending_send_size(struct vmbus_channel *channel, u32 size);
/* hv_begin_read()/hv_end_read() of the inbound ring (channel must be open). */
void hvn_vmbus_begin_read(struct vmbus_channel *channel);
u32 hvn_vmbus_end_read(struct vmbus_channel *channel);
unsigned long hvn_vmalloc_to_pfn(const void *addr);
/*
 * The multi-page (GPA-direct) descriptor for count page ranges, as
 * upstream's netvsc_build_mpb_array() lays it out: its size in bytes (or
 * -EINVAL: no ranges, more than MAX_PAGE_BUFFER_COUNT, an empty range or an
 * offset beyond the first page), and filling desc (of that size) in.
 */
long hvn_vmbus_mpb_desc_size(const struct hv_page_buffer *pages, u32 count);
void hvn_vmbus_mpb_fill(struct vmbus_packet_mpb_array *desc,
			const struct hv_page_buffer *pages, u32 count);
/* vmbus_sendpacket_mpb_desc() with that descriptor. */
int hvn_vmbus_send_gpa_direct(struct vmbus_channel *channel,
			      const struct hv_page_buffer *pages, u32 count,
			      void *payload, u32 len, u64 trans_id);

/* For KUnit: HV_NIC_GUID as the C side spells it, and layout probes. */
void hvn_hv_nic_guid(guid_t *out);
size_t hvn_sizeof_hv_vmbus_device_id(void);
size_t hvn_sizeof_vmbus_gpadl(void);
size_t hvn_sizeof_hv_driver(void);
/* Where struct vmbus_requestor and rqstor_size sit in struct vmbus_channel. */
size_t hvn_offsetof_vmbus_channel_requestor(void);
size_t hvn_offsetof_vmbus_channel_rqstor_size(void);

#endif
