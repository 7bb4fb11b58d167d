// SPDX-License-Identifier: GPL-2.0
/*
 * Layout probes of upstream's protocol header for the KUnit suite that
 * compares the protocol core with it (drivers/proto_check.rs).
 */
#include <linux/hyperv.h>
#include <drivers/net/hyperv/hyperv_net.h>

#include "helpers_proto.h"

u64 hvn_nvsp2_capability_bit(unsigned int field)
{
	struct nvsp_2_vsc_capability c = { .data = 0 };

	switch (field) {
	case 0:
		c.vmq = 1;
		break;
	case 1:
		c.chimney = 1;
		break;
	case 2:
		c.sriov = 1;
		break;
	case 3:
		c.ieee8021q = 1;
		break;
	case 4:
		c.correlation_id = 1;
		break;
	case 5:
		c.teaming = 1;
		break;
	case 6:
		c.vsubnetid = 1;
		break;
	case 7:
		c.rsc = 1;
		break;
	}
	return c.data;
}
