// SPDX-License-Identifier: GPL-2.0
/*
 * Exported entry points of the transport seam (see hvn_transport.h). The
 * work is done in Rust (vmbus/external.rs); these only give the functions
 * their C names and export them to provider modules.
 */
#include <linux/export.h>
#include <linux/module.h>

#include "hvn_transport.h"

int hvn_rs_transport_register(struct hvn_transport *t);
void hvn_rs_transport_unregister(struct hvn_transport *t);
void hvn_rs_transport_event(struct hvn_transport *t);

int hvn_transport_register(struct hvn_transport *t)
{
	return hvn_rs_transport_register(t);
}
EXPORT_SYMBOL_GPL(hvn_transport_register);

void hvn_transport_unregister(struct hvn_transport *t)
{
	hvn_rs_transport_unregister(t);
}
EXPORT_SYMBOL_GPL(hvn_transport_unregister);

void hvn_transport_event(struct hvn_transport *t)
{
	hvn_rs_transport_event(t);
}
EXPORT_SYMBOL_GPL(hvn_transport_event);
