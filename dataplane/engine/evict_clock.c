/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * CLOCK eviction: FIFO with a second chance.  Readers set an item's
 * accessed bit on a hit; at the head, an item whose bit is set is copied
 * to the tail with the bit cleared instead of being dropped.
 */
#include "evict.h"
#include "store_internal.h"

/* Second chances per allocation, so that a write always makes progress
 * (when every item is hot, the head drops items after this many copies). */
#define REINSERT_BUDGET 16

void dpc_evict_clock_room(struct dpc_part *p, unsigned log, uint32_t size, uint32_t now)
{
	struct dpc_log *l = &p->logs[log];
	int budget = REINSERT_BUDGET;
	struct dpc_head hd;

	while (!dpc_log_fits(l, size) && l->h < l->t) {
		if (!dpc_evict_peek(p, log, now, &hd))
			continue;
		if (hd.slot != NULL && (hd.w & DPC_ITEM_ACC) && !hd.flushed && !hd.dead &&
		    budget > 0) {
			budget--;
			if (dpc_evict_keep(p, &hd, log, hd.w & ~DPC_ITEM_ACC))
				continue;
		}
		dpc_evict_drop(p, &hd);
	}
}

const struct dpc_evict_ops dpc_evict_clock = {
	.name = "clock",
	.mark_hits = true,
	.make_room = dpc_evict_clock_room,
};
