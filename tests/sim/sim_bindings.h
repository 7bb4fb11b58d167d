/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Headers the simulator's bindgen run reads; only what allowlist.d/ names
 * is emitted (tests/sim/bindings_generated.rs).
 */
#include <linux/hyperv.h>
#include <linux/rndis.h>
#include <linux/types.h>

#include "../../drivers/bindings/hvn_transport.h"
#include "helpers_sim.h"
