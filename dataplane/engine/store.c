/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The store's core: the life cycle of a cache and its partitions, their
 * statistics, and the owner's primitives that the other modules share
 * (find a key's entry, write and publish an item, account for one that left
 * the index).  The modules: store_internal.h.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <urcu/urcu-qsbr.h>

#include "dpcache/hash.h"
#include "dpcache/store.h"
#include "store_internal.h"
#include "table.h"

#define TARGET_LOAD 0.90         /* index sized for this load at the size hint */
#define REUSE_BYTES_PER_NODE 4096u   /* hole list nodes: one per 4 KiB of the budget */
#define REUSE_MIN_NODES 64u

/* ---- owner: accounting and allocation ------------------------------------ */

static inline void account_add(struct dpc_part *p, uint32_t klen, uint32_t vlen, uint32_t size)
{
	dpc_ctr_add(&p->ctr.items, 1);
	dpc_ctr_add(&p->ctr.item_bytes, size);
	dpc_ctr_add(&p->ctr.kv_bytes, klen + vlen);
}

/* The item at @p pos left the index. */
uint32_t dpc_account_drop(struct dpc_part *p, uint64_t pos)
{
	uint32_t w = atomic_load_explicit(&dpc_item_at(p, pos)->w0, memory_order_relaxed);
	uint32_t sz = dpc_rec_size(p, w);

	dpc_ctr_sub(&p->ctr.items, 1);
	dpc_ctr_sub(&p->ctr.item_bytes, sz);
	dpc_ctr_sub(&p->ctr.kv_bytes, dpc_w0_klen(w) + dpc_w0_vlen(w));
	return sz;
}

void dpc_drop_dead(struct dpc_part *p, uint64_t pos)
{
	dpc_reuse_add(&p->logs[dpc_pos_log(pos)].ru, pos, dpc_account_drop(p, pos));
}

/*
 * A hole of log @p log of at least @p size bytes whose grace period has
 * passed, at or above the log's lowest live position (head, flush horizon),
 * or false.  The rest of a larger hole becomes a filler record (the head
 * walk skips it) and a hole of its own, ready at once.  The caller writes
 * the item and publishes it as after an append.
 */
static bool hole_take(struct dpc_part *p, unsigned log, uint32_t size, uint64_t *pos)
{
	struct dpc_log *l = &p->logs[log];
	uint32_t hs;
	uint64_t at = dpc_reuse_take(&l->ru, size, dpc_log_owner_from(l), &hs);

	if (at == 0)
		return false;
#ifdef DPC_DEBUG
	/* Debug builds: scribble over the whole hole first, so that a reader
	 * still holding the old item (a grace-period bug) reads garbage and
	 * fails its checks (test_reuse, test_concurrency). */
	memset(dpc_item_at(p, at), 0xdd, hs);
#endif
	if (hs > size) {
		/* Relaxed: a filler is read by the owner's head walk only. */
		atomic_store_explicit(&dpc_item_at(p, at + size)->w0, DPC_FILLER_W0(hs - size),
				      memory_order_relaxed);
		dpc_reuse_add_ready(&l->ru, at + size, hs - size);
	}
	*pos = at;
	return true;
}

/* Allocate @p size bytes in log @p log: in a hole (reuse.h) if one fits,
 * else at the tail, evicting as needed. */
static bool log_alloc(struct dpc_part *p, unsigned log, uint32_t size, uint32_t now,
		      uint64_t *pos)
{
	if (hole_take(p, log, size, pos))
		return true;
	p->ev->make_room(p, log, size, now);
	for (unsigned l = 0; l < p->nlogs; l++)
		dpc_log_retire(&p->logs[l]);
	if (dpc_unlikely(!dpc_log_append(&p->logs[log], size, pos))) {
		dpc_ctr_add(&p->ctr.nospace, 1);
		return false;
	}
	return true;
}

/* Owner lookup: the key's entry (live or expired, not flushed). */
bool dpc_owner_find(struct dpc_part *p, const struct dpc_key *k, struct dpc_kh b, uint32_t now,
		    struct dpc_loc *l)
{
	uint64_t from[2];

	dpc_part_owner_from(p, from);
	for (int pass = 0; pass < 2; pass++) {
		struct dpc_bucket *bk = &p->tbl.b[pass ? b.i2 : b.i1];

		for (unsigned i = 0; i < DPC_BUCKET_SLOTS; i++) {
			uint64_t s = atomic_load_explicit(&bk->slot[i], memory_order_relaxed);
			if (s == 0 || dpc_slot_tag(s) != b.tag)
				continue;
			uint64_t pos = dpc_slot_pos(p, s, from);

			if (pos == 0)
				continue;
			struct dpc_item *it = dpc_item_at(p, pos);
			uint32_t w = atomic_load_explicit(&it->w0, memory_order_relaxed);

			if (dpc_w0_klen(w) != k->len ||
			    memcmp(dpc_item_key(it, w), k->data, k->len) != 0)
				continue;
			l->slot = &bk->slot[i];
			l->it = it;
			l->pos = pos;
			l->w = w;
			l->e = atomic_load_explicit(&it->exptime, memory_order_relaxed);
			l->expired = dpc_expired(p, l->e, now);
			return true;
		}
		if (b.i2 == b.i1)
			break;
	}
	return false;
}

/* An entry (slot value @p s) left the index: account for it if it still
 * counted (its item lies at or above the head); a @p live one's bytes
 * become a hole. */
static void drop_ref_at_or_above_head(struct dpc_part *p, uint64_t s, bool live)
{
	uint64_t h[2];

	dpc_part_heads(p, h);
	uint64_t pos = s != 0 ? dpc_slot_pos(p, s, h) : 0;

	if (pos != 0 && live)
		dpc_drop_dead(p, pos);
	else if (pos != 0)
		dpc_account_drop(p, pos);
}

/*
 * The index has no room for a new key (both buckets full, no cuckoo path):
 * one of the 14 entries of its two buckets goes.  Where the policy marks
 * hits (CLOCK, S3-FIFO) the choice is not-recently-used over those entries:
 * the oldest one not read since it was written (age = distance above its
 * log's head, as a fraction of that log, so that small- and main-log
 * entries compare); if every one was read, the oldest, and the others lose
 * their marks (they start over).  Clearing marks only then, not on every
 * entry passed over: each insert looks at 14 entries, so a hand that
 * cleared what it passed would come round an entry every few thousand
 * inserts, not once per turnover of the index, and drop keys read every
 * few thousand requests (measured: 0 of 2000 such hot keys held, as with
 * the oldest dropped whatever its reads, the choice before).  That choice
 * made every eviction FIFO over a random sample when the index rather than
 * the log fills (items smaller than item_size_hint).  Cold path (a write
 * into a full index); the headers are prefetched together.  Clearing a
 * mark is an atomic AND by the owner: readers only ever set it (a relaxed
 * store of the unchanged word with the bit, or an OR), so at worst a
 * concurrent hit re-marks it.
 */
static _Atomic uint64_t *index_victim(struct dpc_part *p, struct dpc_kh b,
				      const struct dpc_ref_win *live)
{
	if (!p->mark_hits)
		return dpc_table_victim(&p->tbl, b.i1, b.i2, live);

	_Atomic uint64_t *slot[2 * DPC_BUCKET_SLOTS];
	struct dpc_item *it[2 * DPC_BUCKET_SLOTS];
	double age[2 * DPC_BUCKET_SLOTS];
	uint64_t h[2];
	unsigned n = 0;

	dpc_part_heads(p, h);
	for (int pass = 0; pass < 2; pass++) {
		struct dpc_bucket *bk = &p->tbl.b[pass ? b.i2 : b.i1];

		for (unsigned i = 0; i < DPC_BUCKET_SLOTS; i++) {
			uint64_t sv = atomic_load_explicit(&bk->slot[i], memory_order_relaxed);
			uint64_t ref = dpc_slot_ref(sv);
			uint64_t pos = sv != 0 ? dpc_slot_pos(p, sv, h) : 0;

			if (pos == 0)   /* not live (the insert treats such a slot as free) */
				continue;
			slot[n] = &bk->slot[i];
			it[n] = dpc_item_at(p, pos);
			age[n] = (double)dpc_ref_dist(live, ref) /
				 (double)live->span[dpc_ref_log(ref)];
			dpc_prefetch0(it[n]);
			n++;
		}
		if (b.i2 == b.i1)
			break;
	}
	if (n == 0)
		return dpc_table_victim(&p->tbl, b.i1, b.i2, live);
	/* The oldest entry, and the oldest unmarked one (none: n). */
	unsigned oldest = 0, unread = n;

	for (unsigned i = 0; i < n; i++) {
		/* Relaxed: a hint bit; the entry's item is live (the owner's window). */
		bool acc = atomic_load_explicit(&it[i]->w0, memory_order_relaxed) & DPC_ITEM_ACC;

		if (age[i] < age[oldest])
			oldest = i;
		if (!acc && (unread == n || age[i] < age[unread]))
			unread = i;
	}
	if (unread < n)
		return slot[unread];
	for (unsigned i = 0; i < n; i++)   /* all read: the oldest goes, the rest start over */
		if (i != oldest)
			atomic_fetch_and_explicit(&it[i]->w0, ~DPC_ITEM_ACC, memory_order_relaxed);
	return slot[oldest];
}

/* Publish the item at @p pos for key @p k: replace the key's entry in place,
 * or insert (cuckoo), or as a last resort drop an entry (index_victim()). */
static void index_put(struct dpc_part *p, const struct dpc_key *k, struct dpc_kh b, uint64_t pos,
		      uint32_t now)
{
	uint64_t sv = dpc_ref_slot(b.tag, pos);
	struct dpc_loc l;

	if (dpc_owner_find(p, k, b, now, &l)) {
		/* Release: the new item is complete before readers find it. */
		atomic_store_explicit(l.slot, sv, memory_order_release);
		dpc_drop_dead(p, l.pos);   /* the old copy: a hole after a grace period */
		return;
	}
	struct dpc_ref_win live = dpc_owner_win(p);
	uint64_t dropped;
	int r = dpc_table_insert(&p->tbl, b.i1, b.i2, sv, &live, &dropped);

	/* A stale entry overwritten: flushed, but still counted until the head
	 * passes it (at or above the head), so account for it now. */
	drop_ref_at_or_above_head(p, dropped, false);
	if (r < 0) {
		_Atomic uint64_t *v = index_victim(p, b, &live);
		uint64_t old = atomic_load_explicit(v, memory_order_relaxed);

		/* Release: the new item is complete before readers find it. */
		atomic_store_explicit(v, sv, memory_order_release);
		drop_ref_at_or_above_head(p, old, true);
		dpc_ctr_add(&p->ctr.index_ev, 1);
	}
}

/* The flagtab index of client flags @p flags, adding an entry if there is
 * room; DPC_FLAGTAB_FULL if there is none (the item then keeps them in
 * ext[0]).  The entry is written before any item that names it is
 * published (write_item() publishes with release). */
static uint32_t flag_index(struct dpc_part *p, uint32_t flags)
{
	/* Entries 1..n are in use (the flags_values gauge is their count). */
	uint32_t n = (uint32_t)dpc_ctr_ld(&p->ctr.flags_values), i;

	if (flags == 0)
		return 0;
	for (i = 1; i <= n; i++)
		if (p->flagtab[i] == flags)
			return i;
	if (n + 1 == DPC_FLAGTAB_SIZE) {
		dpc_ctr_add(&p->ctr.flags_words, 1);
		return DPC_FLAGTAB_FULL;
	}
	p->flagtab[n + 1] = flags;
	dpc_ctr_add(&p->ctr.flags_values, 1);
	return n + 1;
}

/* Write a new item (key, then up to two value pieces) and publish it. */
static enum dpc_status write_item(struct dpc_part *p, const struct dpc_key *k, struct dpc_kh b,
				  const void *v1, uint32_t l1, const void *v2, uint32_t l2,
				  uint32_t flags, uint32_t exp, uint32_t now, uint64_t *cas_out,
				  bool slack, bool front)
{
	uint32_t vlen = l1 + l2;
	uint32_t fi = slack ? DPC_FLAGTAB_FULL : flag_index(p, flags);
	uint32_t hdr = dpc_hdr_bytes(fi == DPC_FLAGTAB_FULL, slack);
	uint32_t sz = dpc_item_size(hdr, k->len, vlen);

	if (slack)
		sz = dpc_slack_cap(sz, p->c->max_item);
	unsigned log = DPC_LOG_MAIN;
	uint64_t pos, cas;

	if (p->ev->place != NULL) {
		struct dpc_loc old;
		int old_log = dpc_owner_find(p, k, b, now, &old) && !old.expired ?
			      (int)dpc_pos_log(old.pos) : -1;

		log = p->ev->place(p, k->hash, old_log, sz);
	}
	if (!log_alloc(p, log, sz, now, &pos))
		return DPC_NOSPACE;
	struct dpc_item *it = dpc_item_at(p, pos);
	uint8_t *key = (uint8_t *)it + hdr;
	/* A PREPEND's slack item: the value ends at the end of the record. */
	uint8_t *val = front ? (uint8_t *)it + sz - vlen : key + k->len;

	/* Plain stores: nobody can see this memory until index_put() publishes. */
	atomic_store_explicit(&it->w0, k->len | (vlen << DPC_ITEM_VSHIFT) |
			      (hdr > DPC_ITEM_HDR_MIN ? DPC_ITEM_FLAGS : 0) |
			      (slack ? DPC_ITEM_SLACK : 0), memory_order_relaxed);
	if (dpc_unlikely(p->exp_base == 0))
		p->exp_base = now > DPC_EXP_BACK ? now - DPC_EXP_BACK : 1;
	atomic_store_explicit(&it->exptime, dpc_exp_enc(p, exp) |
			      (fi == DPC_FLAGTAB_FULL ? 0 : fi << DPC_EXP_BITS), memory_order_relaxed);
	if (hdr > DPC_ITEM_HDR_MIN)
		it->ext[0] = flags;
	if (slack) {
		cas = dpc_next_cas_slack(p);
		it->cas32 = front ? DPC_SLACK_FRONT : DPC_SLACK_BACK;
		it->ext[1] = (uint32_t)cas;
		it->ext[2] = (uint32_t)(cas >> 32);
		cas += (uint64_t)vlen << 6;
	} else {
		uint64_t t = dpc_next_seq(p);   /* published (cas_pub) before index_put() */

		it->cas32 = (uint32_t)t;
		cas = t << 6 | p->idx;
	}
	p->has_ttl |= exp != 0;
	memcpy(key, k->data, k->len);
	if (l1)
		memcpy(val, v1, l1);
	if (l2)
		memcpy(val + l1, v2, l2);
	dpc_log_publish(&p->logs[log]);
	index_put(p, k, b, pos, now);
	account_add(p, k->len, vlen, sz);
	if (cas_out)
		*cas_out = cas;
	return DPC_OK;
}

enum dpc_status dpc_write_item(struct dpc_part *p, const struct dpc_key *k, struct dpc_kh b,
			       const void *v1, uint32_t l1, const void *v2, uint32_t l2,
			       uint32_t flags, uint32_t exp, uint32_t now, uint64_t *cas_out)
{
	return write_item(p, k, b, v1, l1, v2, l2, flags, exp, now, cas_out, false, false);
}

enum dpc_status dpc_write_item_slack(struct dpc_part *p, const struct dpc_key *k, struct dpc_kh b,
				     const void *v1, uint32_t l1, const void *v2, uint32_t l2,
				     uint32_t flags, uint32_t exp, uint32_t now, uint64_t *cas_out,
				     bool front)
{
	return write_item(p, k, b, v1, l1, v2, l2, flags, exp, now, cas_out, true, front);
}

/* ---- life cycle and stats ---------------------------------------------- */

unsigned dpc_cache_nparts(const struct dpc_cache *c)
{
	return c->nparts;
}

void dpc_cache_stats(const struct dpc_cache *c, unsigned part, struct dpc_store_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (part >= c->nparts)
		return;

	const struct dpc_part *p = c->parts[part];
	out->items = dpc_ctr_ld(&p->ctr.items);
	out->bytes_used = dpc_ctr_ld(&p->ctr.item_bytes);
	out->bytes_limit = 0;
	for (unsigned l = 0; l < p->nlogs; l++)
		out->bytes_limit += p->logs[l].cap - p->logs[l].reserve;
	out->index_slots = (uint64_t)p->tbl.nb * DPC_BUCKET_SLOTS;
	out->evictions = dpc_ctr_ld(&p->ctr.evictions);
	out->reinserted = dpc_ctr_ld(&p->ctr.reinserted);
	out->expired_reclaimed = dpc_ctr_ld(&p->ctr.expired);
	out->index_evictions = dpc_ctr_ld(&p->ctr.index_ev);
	out->nospace = dpc_ctr_ld(&p->ctr.nospace);
	out->flushes = dpc_ctr_ld(&p->flushes);
	out->index_moves = atomic_load_explicit(&p->tbl.moves, memory_order_relaxed);
	out->small_to_main = dpc_ctr_ld(&p->ctr.to_main);
	out->ghost_hits = dpc_ctr_ld(&p->ctr.ghost_hits);
	out->flags_values = dpc_ctr_ld(&p->ctr.flags_values);
	out->flags_words = dpc_ctr_ld(&p->ctr.flags_words);
	if (part == 0) {   /* one reclaimer per cache */
		out->reclaim_wakeups = dpc_ctr_ld(&c->reclaimer.wakeups);
		out->reclaim_grace_periods = dpc_ctr_ld(&c->reclaimer.grace_periods);
	}
	for (unsigned l = 0; l < p->nlogs; l++) {
		out->log_bytes += p->logs[l].cap;
		out->hole_bytes += dpc_reuse_bytes(&p->logs[l].ru);
		out->holes_reused += dpc_ctr_ld(&p->logs[l].ru.taken);
	}
	out->live_fraction_bp = out->log_bytes ? out->bytes_used * 10000 / out->log_bytes : 0;
}

double dpc_cache_meta_bytes_per_item(const struct dpc_cache *c)
{
	double meta = 0, items = 0;

	for (unsigned i = 0; i < c->nparts; i++) {
		const struct dpc_part *p = c->parts[i];

		meta += (double)p->tbl.nb * sizeof(struct dpc_bucket) + (double)p->ev_bytes;
		for (unsigned l = 0; l < p->nlogs; l++)
			meta += (double)p->logs[l].ru.map_bytes;   /* hole lists */
		meta += (double)(dpc_ctr_ld(&p->ctr.item_bytes) - dpc_ctr_ld(&p->ctr.kv_bytes));
		items += (double)dpc_ctr_ld(&p->ctr.items);
	}
	return items > 0 ? meta / items : 0.0;
}

static uint64_t pow2_floor(uint64_t v)
{
	return v == 0 ? 0 : 1ull << (63 - __builtin_clzll(v));
}

static void part_free(struct dpc_part *p)
{
	if (p == NULL)
		return;
	if (p->ev != NULL && p->ev->fini != NULL)
		p->ev->fini(p);
	dpc_table_fini(&p->tbl);
	dpc_log_fini(&p->logs[0]);
	dpc_log_fini(&p->logs[1]);
	free(p);
}

static const struct dpc_evict_ops *policy_ops(enum dpc_evict_policy pol)
{
	switch (pol) {
	case DPC_EVICT_FIFO:
		return &dpc_evict_fifo;
	case DPC_EVICT_CLOCK:
		return &dpc_evict_clock;
	case DPC_EVICT_S3FIFO:
		return &dpc_evict_s3fifo;
	}
	return NULL;
}

/* Segment (retire unit) and reserve of a log of @p cap bytes. */
static uint64_t log_seg(uint64_t cap)
{
	uint64_t seg = pow2_floor(cap / 64);

	return seg < 4096 ? 4096 : seg > (1u << 20) ? (1u << 20) : seg;
}

/* The small log (S3-FIFO) takes no item over a quarter of itself, so it
 * needs neither large segments nor room for two largest items. */
static uint64_t small_seg(uint64_t cap)
{
	uint64_t seg = pow2_floor(cap / 32);

	return seg < 256 ? 256 : seg > (1u << 20) ? (1u << 20) : seg;
}

/* The small log's reserve, on top of the @p share bytes it holds items in.
 * New keys arrive there at the full write rate, each up to a quarter of the
 * log: with a reserve of a 32nd (two segments), 1.8-2.8 % of the SETs of
 * perf/memory.sh's mix of 100 B-8 KiB values were refused while a grace
 * period was pending; an eighth (four segments) refuses 0.03-0.4 %.  It
 * comes out of the main log, so the small FIFO keeps its share. */
static uint64_t small_reserve(uint64_t share, uint64_t seg)
{
	uint64_t reserve = share / 8 > 4 * seg ? share / 8 : 4 * seg;

	return (reserve + seg - 1) & ~(seg - 1);
}

static uint64_t log_reserve(uint64_t cap, uint64_t seg, uint64_t max_item)
{
	/* The reserve absorbs writes while a grace period is pending. */
	uint64_t reserve = cap / 32 > 4 * seg ? cap / 32 : 4 * seg;

	if (reserve < 2 * max_item)
		reserve = 2 * max_item;
	return (reserve + seg - 1) & ~(seg - 1);
}

static struct dpc_part *part_create(struct dpc_cache *c, unsigned idx, uint64_t budget,
				    unsigned hint, bool huge, uint64_t origin)
{
	struct dpc_part *p = aligned_alloc(DPC_CACHE_LINE, sizeof(*p));
	double per_item = (double)dpc_item_size(DPC_ITEM_HDR_MIN, 0, hint);
	double idx_per_item = (double)sizeof(struct dpc_bucket) / (DPC_BUCKET_SLOTS * TARGET_LOAD);
	uint64_t cap, cap_s = 0, seg, reserve, seg_s = 0, res_s = 0;
	uint32_t nb, nodes;

	if (p == NULL)
		return NULL;
	memset(p, 0, sizeof(*p));
	p->c = c;
	p->idx = idx;
	p->rng = 0x9e3779b97f4a7c15ull ^ idx;
	p->ev = policy_ops(c->policy);
	p->mark_hits = p->ev->mark_hits;
	p->nlogs = p->ev->small_share > 0 ? 2 : 1;
	/* The policy's side tables come out of the budget first. */
	if (p->ev->side_bytes != NULL)
		p->ev_bytes = p->ev->side_bytes(budget, per_item + idx_per_item);
	if (p->ev_bytes >= budget / 2)
		goto fail_inval;
	budget -= p->ev_bytes;
	/* So do the hole lists (reuse.h): one node per REUSE_BYTES_PER_NODE
	 * bytes, room for the holes of about a grace period's writes (more
	 * recycle the oldest: those are reclaimed when the head passes). */
	nodes = (uint32_t)(budget / REUSE_BYTES_PER_NODE);
	if (nodes < REUSE_MIN_NODES)
		nodes = REUSE_MIN_NODES;
	if (dpc_reuse_bytes_for(nodes) >= budget / 8)
		goto fail_inval;
	budget -= dpc_reuse_bytes_for(nodes);
	/* Split the budget so that the index reaches TARGET_LOAD when the logs
	 * are full of items of the hinted size. */
	cap = (uint64_t)((double)budget * per_item / (per_item + idx_per_item));
	if (p->nlogs > 1) {
		/* S3-FIFO: the small log takes its share; items too large for it
		 * (over a quarter of what it holds) go to the main log. */
		uint64_t share = (uint64_t)((double)cap * p->ev->small_share);

		seg_s = small_seg(share);
		share &= ~(seg_s - 1);
		res_s = small_reserve(share, seg_s);
		cap_s = share + res_s;
		if (share < 16 * seg_s || cap_s >= cap / 2)
			goto fail_inval;
		cap -= cap_s;
		p->small_max = (uint32_t)(share / 4);
	}
	seg = log_seg(cap);
	cap &= ~(seg - 1);
	reserve = log_reserve(cap, seg, c->max_item);
	if (cap < 16 * seg || reserve >= cap || c->max_item > (cap - reserve) / 2)
		goto fail_inval;
	nb = (uint32_t)((double)(cap + cap_s - reserve) / per_item / (DPC_BUCKET_SLOTS * TARGET_LOAD)) + 1;
	if ((uint64_t)nb * sizeof(struct dpc_bucket) + cap + cap_s > budget)
		nb = (uint32_t)((budget - cap - cap_s) / sizeof(struct dpc_bucket));
	if (nb < 2)
		goto fail_inval;
	if (dpc_table_init(&p->tbl, nb, huge) < 0)
		goto fail_nomem;
	/* Positions start at cap by default: never 0 (an empty slot). */
	origin = origin ? origin & ~3ull : cap;
	if (dpc_log_init(&p->logs[0], cap, seg, reserve, huge, origin) < 0)
		goto fail_nomem;
	if (p->nlogs > 1 && dpc_log_init(&p->logs[1], cap_s, seg_s, res_s, huge,
					  DPC_LOG1_BASE + origin) < 0)
		goto fail_nomem;
	/* The hole nodes: the main log's share, and the small log's (S3-FIFO). */
	if (dpc_reuse_init(&p->logs[0].ru, p->nlogs > 1 ? nodes - nodes / 8 : nodes) < 0 ||
	    (p->nlogs > 1 && dpc_reuse_init(&p->logs[1].ru, nodes / 8) < 0))
		goto fail_nomem;
	if (p->ev->init != NULL && p->ev->init(p) < 0)
		goto fail_nomem;
	atomic_init(&p->flush_at, 0);
	return p;

fail_inval:
	part_free(p);
	errno = EINVAL;
	return NULL;
fail_nomem:
	part_free(p);
	errno = ENOMEM;
	return NULL;
}

struct dpc_cache *dpc_cache_create_at(const struct dpc_cache_params *prm, uint64_t origin)
{
	struct dpc_cache *c;
	unsigned i;

	if (prm == NULL || prm->nparts == 0 || prm->nparts > DPC_MAX_PARTS ||
	    prm->max_value > DPC_ITEM_VMASK || prm->policy > DPC_EVICT_S3FIFO) {
		errno = EINVAL;
		return NULL;
	}
	c = aligned_alloc(DPC_CACHE_LINE, sizeof(*c));
	if (c == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	memset(c, 0, sizeof(*c));
	c->nparts = prm->nparts;
	c->max_value = prm->max_value ? prm->max_value : DPC_VALUE_MAX_DEFAULT;
	c->max_item = dpc_item_size(DPC_ITEM_HDR_MAX, DPC_KEY_MAX, c->max_value);
	c->policy = prm->policy;
	atomic_init(&c->now, (uint32_t)time(NULL));
	for (i = 0; i < c->nparts; i++) {
		c->parts[i] = part_create(c, i, prm->mem_bytes / c->nparts,
					  prm->item_size_hint ? prm->item_size_hint : 64,
					  prm->hugepages, origin);
		if (c->parts[i] == NULL)
			goto fail;
		for (unsigned l = 0; l < c->parts[i]->nlogs; l++)
			c->reclaimer.logs[c->reclaimer.nlogs++] = &c->parts[i]->logs[l];
	}
	if (dpc_reclaimer_start(&c->reclaimer, prm->reclaim_interval_us) < 0) {
		errno = EAGAIN;
		goto fail;
	}
	return c;

fail:
	{
		int e = errno;

		for (unsigned j = 0; j < i; j++)
			part_free(c->parts[j]);
		free(c);
		errno = e;
	}
	return NULL;
}

struct dpc_cache *dpc_cache_create(const struct dpc_cache_params *prm)
{
	return dpc_cache_create_at(prm, 0);
}

void dpc_cache_set_reclaim_interval(struct dpc_cache *c, uint32_t us)
{
	dpc_reclaimer_set_interval(&c->reclaimer, us);
}

void dpc_cache_free(struct dpc_cache *c)
{
	if (c == NULL)
		return;
	dpc_reclaimer_stop(&c->reclaimer);
	for (unsigned i = 0; i < c->nparts; i++)
		part_free(c->parts[i]);
	free(c);
}
