/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The head walk every eviction policy is built from (evict.h): look at the
 * item at the head of the log, drop it, or keep it by copying it to the
 * tail.  The policies themselves are evict_<name>.c.
 */
#include <stdatomic.h>
#include <string.h>

#include "dpcache/hash.h"
#include "evict.h"
#include "store_internal.h"

bool dpc_evict_peek(struct dpc_part *p, unsigned log, uint32_t now, struct dpc_head *hd)
{
	struct dpc_log *l = &p->logs[log];
	struct dpc_item *it = dpc_item_at(p, l->h);
	uint32_t w = atomic_load_explicit(&it->w0, memory_order_relaxed);
	uint32_t klen = dpc_w0_klen(w);

	if (klen == 0) {   /* a filler of vlen bytes, or padding to the end of the ring */
		if (w != 0)
			l->h += dpc_filler_len(w);
		else
			dpc_log_skip_pad(l);
		return false;
	}
	uint64_t hh = dpc_hash(dpc_item_key(it, w), klen);
	struct dpc_kh b = dpc_key_buckets(p, hh);

	hd->log = log;
	hd->hash = hh;
	hd->it = it;
	hd->w = w;
	hd->size = dpc_rec_size(p, w);
	hd->tag = b.tag;
	/* The item is indexed iff a slot holds exactly its reference (a newer
	 * write of the key, or a delete, replaced or cleared it). */
	hd->slot = dpc_table_find_exact(&p->tbl, b.i1, b.i2, dpc_ref_slot(b.tag, l->h));
	hd->flushed = false;
	hd->dead = false;
	hd->flush_seq = dpc_copy_begin(p);
	if (hd->slot != NULL) {
		/* Acquire: pairs with the flusher's release (dpc_log_flush()). */
		hd->flushed = l->h < atomic_load_explicit(&l->flush_pos, memory_order_acquire);
		hd->dead = dpc_expired(p, atomic_load_explicit(&it->exptime, memory_order_relaxed), now);
	}
	return true;
}

void dpc_evict_drop(struct dpc_part *p, const struct dpc_head *hd)
{
	struct dpc_log *l = &p->logs[hd->log];

	if (hd->slot != NULL) {
		/* Relaxed: clearing a slot publishes nothing; the memory stays
		 * valid for readers holding the old ref until the grace period
		 * that follows the segment's retirement. */
		atomic_store_explicit(hd->slot, 0, memory_order_relaxed);
		dpc_account_drop(p, l->h);
		if (hd->dead)
			dpc_ctr_add(&p->ctr.expired, 1);
		else if (!hd->flushed)
			dpc_ctr_add(&p->ctr.evictions, 1);
	}
	l->h += hd->size;
}

bool dpc_evict_keep(struct dpc_part *p, const struct dpc_head *hd, unsigned to, uint32_t w)
{
	struct dpc_log *l = &p->logs[hd->log], *dst = &p->logs[to];
	uint64_t npos;

	if (!dpc_log_append(dst, hd->size, &npos))
		return false;
	struct dpc_item *ni = dpc_item_at(p, npos);

	memcpy(ni, hd->it, hd->size);
	atomic_store_explicit(&ni->w0, w, memory_order_relaxed);
	if (!dpc_copy_end(p, to, hd->flush_seq)) {
		/* A flush began: the original is pre-flush data, and the copy
		 * (above the flusher's horizon) must not be found. */
		struct dpc_head fl = *hd;

		fl.flushed = true;
		dpc_evict_drop(p, &fl);
		return true;
	}
	/* Release: the copy is complete before readers find it. */
	atomic_store_explicit(hd->slot, dpc_ref_slot(hd->tag, npos), memory_order_release);
	dpc_ctr_add(&p->ctr.reinserted, 1);
	l->h += hd->size;
	return true;
}
