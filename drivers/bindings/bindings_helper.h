/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Headers our bindgen run reads. Only what drivers/bindings/allowlist.d/
 * names is emitted; helpers_<layer>.h declare the C wrappers for inline
 * functions, one header per layer.
 */
#include <linux/etherdevice.h>
#include <linux/ethtool.h>
#include <linux/hyperv.h>
#include <linux/if_arp.h>
#include <linux/netdevice.h>
#include <linux/rtnetlink.h>
#include <linux/skbuff.h>
#include <net/netdev_queues.h>

/* Upstream's private protocol header: layouts for build-time cross-checks only. */
#include <drivers/net/hyperv/hyperv_net.h>
/* Macro values of the protocol headers that bindgen cannot evaluate itself. */
#include "proto_check.h"

#include "helpers_base.h"
/* Per-layer helper headers, present once that layer has C helpers. */
#if __has_include("helpers_net.h")
#include "helpers_net.h"
#endif
#if __has_include("helpers_vmbus.h")
#include "helpers_vmbus.h"
#endif
#if __has_include("helpers_failover.h")
#include "helpers_failover.h"
#endif
#if __has_include("hvn_transport.h")
#include "hvn_transport.h"
#endif
