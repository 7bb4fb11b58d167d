// SPDX-License-Identifier: GPL-2.0-only
/*
 * hv_emu_nic_model: a test-only device model on the emulated host's API
 * (hv_emu_host.h, docs/emulator.md), the smallest one: it offers a
 * synthetic NIC channel of its own and refuses every NVSP INIT the guest
 * writes into it (INIT_COMPLETE, NVSP_STAT_FAIL, as a completion with the
 * request's transaction id). It checks the API end to end (runtime offer,
 * opened/packet/closed callbacks, hv_emu_chan_send(), rescind on rmmod)
 * until tests/sim's NVSP/RNDIS host moves onto it.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/sysfs.h>
#include <linux/hyperv.h>
#include <drivers/net/hyperv/hyperv_net.h>

#include "hv_emu_host.h"

static struct hv_emu_chan *model_chan;
static atomic_t model_opened, model_packets, model_inits, model_refused, model_closed;

static void model_opened_cb(struct hv_emu_chan *chan, void *ctx)
{
	atomic_inc(&model_opened);
	pr_info("relid %u opened\n", hv_emu_chan_relid(chan));
}

static int model_packet(struct hv_emu_chan *chan, void *ctx,
			const struct vmpacket_descriptor *desc, u32 len)
{
	u32 off = (u32)desc->offset8 << 3;
	const struct nvsp_message *req = (const void *)desc + off;
	struct nvsp_message resp = {};

	atomic_inc(&model_packets);
	if (desc->type != VM_PKT_DATA_INBAND ||
	    len - off < sizeof(req->hdr) + sizeof(req->msg.init_msg.init) ||
	    req->hdr.msg_type != NVSP_MSG_TYPE_INIT)
		return 0;
	atomic_inc(&model_inits);
	resp.hdr.msg_type = NVSP_MSG_TYPE_INIT_COMPLETE;
	resp.msg.init_msg.init_complete.status = NVSP_STAT_FAIL;
	if (!hv_emu_chan_send(chan, VM_PKT_COMP, 0, desc->trans_id, &resp, sizeof(resp)))
		atomic_inc(&model_refused);
	return 0;
}

static void model_closed_cb(struct hv_emu_chan *chan, void *ctx)
{
	atomic_inc(&model_closed);
	pr_info("relid %u closed\n", hv_emu_chan_relid(chan));
}

static const struct hv_emu_chan_ops model_ops = {
	.opened = model_opened_cb,
	.packet = model_packet,
	.closed = model_closed_cb,
};

static int model_stats_get(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "relid %u opened %d packets %d inits %d refused %d closed %d\n",
			  model_chan ? hv_emu_chan_relid(model_chan) : 0,
			  atomic_read(&model_opened), atomic_read(&model_packets),
			  atomic_read(&model_inits), atomic_read(&model_refused),
			  atomic_read(&model_closed));
}

static const struct kernel_param_ops model_stats_ops = {
	.get = model_stats_get,
};
module_param_cb(stats, &model_stats_ops, NULL, 0444);
MODULE_PARM_DESC(stats, "What the model saw and did");

static int __init model_init(void)
{
	static const struct hv_vmbus_device_id nic = { HV_NIC_GUID };
	static const guid_t instance = GUID_INIT(0x8d3a0c4e, 0x6b1f, 0x4c2a, 0x9e, 0x10,
						 0x45, 0x6d, 0x75, 0x00, 0x00, 0x02);
	struct hv_emu_chan *chan;

	chan = hv_emu_offer_channel(&nic.guid, &instance, &model_ops, NULL);
	if (IS_ERR(chan))
		return PTR_ERR(chan);
	model_chan = chan;
	pr_info("offered a NIC, relid %u\n", hv_emu_chan_relid(chan));
	return 0;
}

static void __exit model_exit(void)
{
	int ret = hv_emu_remove_channel(model_chan);

	pr_info("removed relid %u: %d\n", hv_emu_chan_relid(model_chan), ret);
}

module_init(model_init);
module_exit(model_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Test-only device model on hv_emu_host: a NIC that refuses NVSP INIT");
