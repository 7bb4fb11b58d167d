/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Headers our bindgen run reads. Only what drivers/bindings/allowlist names
 * is emitted; helpers.c declares the C wrappers for inline functions.
 */
#include <linux/etherdevice.h>
#include <linux/ethtool.h>
#include <linux/hyperv.h>
#include <linux/if_arp.h>
#include <linux/netdevice.h>
#include <linux/rtnetlink.h>
#include <linux/skbuff.h>

#include "helpers.h"
