/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * FIFO eviction: the oldest item goes first, whatever its use.  Readers
 * mark nothing.
 */
#include "evict.h"
#include "store_internal.h"

static void fifo_make_room(struct dpc_part *p, unsigned log, uint32_t size, uint32_t now)
{
	struct dpc_log *l = &p->logs[log];
	struct dpc_head hd;

	while (!dpc_log_fits(l, size) && l->h < l->t)
		if (dpc_evict_peek(p, log, now, &hd))
			dpc_evict_drop(p, &hd);
}

const struct dpc_evict_ops dpc_evict_fifo = {
	.name = "fifo",
	.mark_hits = false,
	.make_room = fifo_make_room,
};
