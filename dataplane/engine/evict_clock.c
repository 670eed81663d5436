/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * CLOCK eviction: FIFO with a second chance.  Readers set an item's
 * accessed bit on a hit; at the head, an item whose bit is set is copied
 * to the tail with the bit cleared instead of being dropped.
 *
 * Size-aware: an item not read since its last pass is still copied, with
 * probability 0.9, if its record is smaller than half the mean live
 * record.  Hits per byte of memory are what a cache of mixed sizes runs
 * out of: a small item is as likely to be asked for as a large one of the
 * same popularity and costs a fraction of its memory, so small items get
 * about ten laps instead of one and the cache holds more items (measured
 * in docs/design.md, "Size-aware second chance").  With sizes that do not
 * vary by a factor of two nothing changes.
 */
#include "evict.h"
#include "store_internal.h"

/* Second chances per allocation, so that a write always makes progress
 * (when every item is hot, the head drops items after this many copies). */
#define REINSERT_BUDGET 16
/* A small unread item is kept when the owner's random 32 bits are below this (0.9). */
#define SMALL_KEEP_P32 0xe6666666u

/* xorshift64 on the owner's state (evict.h). */
bool dpc_evict_small_keep(struct dpc_part *p, uint32_t size)
{
	uint64_t items = dpc_ctr_ld(&p->ctr.items);

	/* size < mean / 2, i.e. 2 * size * items < item bytes (no divide) */
	if (2ull * size * items >= dpc_ctr_ld(&p->ctr.item_bytes))
		return false;
	p->rng ^= p->rng << 13;
	p->rng ^= p->rng >> 7;
	p->rng ^= p->rng << 17;
	return (uint32_t)(p->rng >> 32) < SMALL_KEEP_P32;
}

void dpc_evict_clock_room(struct dpc_part *p, unsigned log, uint32_t size, uint32_t now)
{
	struct dpc_log *l = &p->logs[log];
	int budget = REINSERT_BUDGET;
	struct dpc_head hd;

	while (!dpc_log_fits(l, size) && l->h < l->t) {
		if (!dpc_evict_peek(p, log, now, &hd))
			continue;
		if (hd.slot != NULL && !hd.flushed && !hd.dead && budget > 0 &&
		    ((hd.w & DPC_ITEM_ACC) || dpc_evict_small_keep(p, hd.size))) {
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
