/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * flush_all and the owner's bounded background work (dpc_store_maintain()):
 * delayed flushes, head retirement, and the sweep that drops expired and
 * flushed entries from the index.
 */
#include <stdatomic.h>

#include "dpcache/store.h"
#include "store_internal.h"

void dpc_flush_apply(struct dpc_part *p)
{
	/* seq_cst RMW: the store half of the flusher's side of the copy
	 * protocol (dpc_copy_end()); dpc_log_flush() loads each tail after it. */
	atomic_fetch_add_explicit(&p->flush_seq, 1, memory_order_seq_cst);
	for (unsigned l = 0; l < p->nlogs; l++)
		dpc_log_flush(&p->logs[l]);
}

void dpc_cache_flush(struct dpc_cache *c, uint32_t delay)
{
	uint32_t now = dpc_cache_time(c);

	for (unsigned i = 0; i < c->nparts; i++) {
		struct dpc_part *p = c->parts[i];

		atomic_fetch_add_explicit(&p->flushes, 1, memory_order_relaxed);
		if (delay == 0) {
			atomic_store_explicit(&p->flush_at, 0, memory_order_relaxed);
			dpc_flush_apply(p);
		} else {
			atomic_store_explicit(&p->flush_at, now + delay, memory_order_relaxed);
		}
	}
}

/*
 * How many of @p nbuckets buckets the sweep has work in.  While no item
 * with an expiry was ever written nothing can expire, and the only entries
 * to drop are those a flush made invalid: one pass over the index after
 * each flush finds them all (everything written later lies above the
 * flush horizon).  Otherwise every bucket, round and round.  Skipping the
 * pass keeps a DRAM miss per bucket (63 per idle poll iteration, 4 per busy
 * one at the default budget) off a server that never uses TTLs.
 */
static unsigned sweep_due(struct dpc_part *p, const uint64_t fp[2], unsigned nbuckets)
{
	if (p->has_ttl)
		return nbuckets;
	/* A new horizon (loaded before this pass begins): a pass from here on
	 * finds every entry below it. */
	if (dpc_unlikely(fp[0] != p->sweep_fp[0] || fp[1] != p->sweep_fp[1])) {
		p->sweep_fp[0] = fp[0];
		p->sweep_fp[1] = fp[1];
		p->sweep_left = p->tbl.nb;
	}
	if (nbuckets > p->sweep_left)
		nbuckets = p->sweep_left;
	p->sweep_left -= nbuckets;
	return nbuckets;
}

/* Sweep a few buckets: drop expired and flushed entries from the index. */
static unsigned sweep(struct dpc_part *p, uint32_t now, unsigned nbuckets)
{
	uint64_t fp[2], h[2];
	unsigned done = 0;

	/* Acquire: pairs with the flusher's release (dpc_log_flush()). */
	fp[0] = atomic_load_explicit(&p->logs[0].flush_pos, memory_order_acquire);
	fp[1] = atomic_load_explicit(&p->logs[1].flush_pos, memory_order_acquire);
	nbuckets = sweep_due(p, fp, nbuckets);
	if (nbuckets == 0)
		return 0;
	dpc_part_heads(p, h);

	for (; done < nbuckets; done++) {
		struct dpc_bucket *bk = &p->tbl.b[p->sweep];

		p->sweep = p->sweep + 1 == p->tbl.nb ? 0 : p->sweep + 1;
		for (unsigned i = 0; i < DPC_BUCKET_SLOTS; i++) {
			uint64_t s = atomic_load_explicit(&bk->slot[i], memory_order_relaxed);
			uint64_t pos = s != 0 ? dpc_slot_pos(p, s, h) : 0;

			if (pos == 0)   /* empty (or below the head: never indexed) */
				continue;
			bool flushed = pos < fp[dpc_pos_log(pos)];

			/* Without any TTL ever written nothing can expire: skip the item
			 * read (a DRAM miss per slot at millions of items). */
			if (!flushed && (!p->has_ttl ||
					 !dpc_expired(p, atomic_load_explicit(&dpc_item_at(p, pos)->exptime,
									   memory_order_relaxed), now)))
				continue;
			/* Relaxed: clearing publishes nothing (see dpc_evict_drop()). */
			atomic_store_explicit(&bk->slot[i], 0, memory_order_relaxed);
			if (flushed) {
				dpc_account_drop(p, pos);   /* a flushed position is never reused */
			} else {
				dpc_drop_dead(p, pos);
				dpc_ctr_add(&p->ctr.expired, 1);
			}
		}
	}
	return done;
}

unsigned dpc_store_maintain(struct dpc_cache *c, unsigned part, unsigned budget)
{
	if (dpc_unlikely(part >= c->nparts))
		return 0;

	struct dpc_part *p = c->parts[part];
	uint32_t now = dpc_cache_time(c);
	unsigned work = 1;

	dpc_check_flush(p, now);
	for (unsigned l = 0; l < p->nlogs; l++)
		dpc_log_retire(&p->logs[l]);
	if (budget > 1)
		work += sweep(p, now, budget - 1);
	return work;
}
