/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * S3-FIFO eviction (Yang et al., "FIFO queues are all you need for cache
 * eviction", SOSP 2023), on the store's logs:
 *
 *  - a small FIFO (DPC_LOG_SMALL, 10 % of the item memory) takes new keys;
 *  - at its head, an item read since it was written moves to the main
 *    FIFO (DPC_LOG_MAIN); one never read is dropped and its key's
 *    fingerprint enters the ghost;
 *  - a new key found in the ghost goes straight to the main FIFO;
 *  - the main FIFO is CLOCK: at its head, an item read since its last pass
 *    is copied to its tail, others are dropped.
 *
 * Readers only set the item's accessed bit on a hit (one relaxed store, only
 * if unset): no list moves, no RMW, the same GET path as CLOCK.  Departures
 * from the paper: one bit of frequency instead of two (the main FIFO is
 * CLOCK-1bit), and a ghost that is a FIFO per bucket of 8 16-bit
 * fingerprints rather than one global FIFO of hashes (2 bytes per entry,
 * inside the memory budget).
 *
 * Size-aware (hits per byte are what a cache of mixed sizes runs out of;
 * docs/design.md, "Size-aware second chance"):
 *  - a key found in the ghost whose record is over LARGE_X times the
 *    partition's mean live record goes to the small FIFO again, not the
 *    main one: a large item earns the main FIFO only by being read while
 *    in the small one (a ghost hit is weaker evidence than a read, and a
 *    large item in the main FIFO costs the memory of many small ones);
 *  - at the small FIFO's head, an unread item under half the mean record
 *    gets another lap of the small FIFO with probability 0.9 (as CLOCK's
 *    size-aware second chance, which the main FIFO runs too): a small
 *    item waits about ten laps for its first read instead of one, at the
 *    cost of few bytes, and a scan of small items still stays out of the
 *    main FIFO.
 * With sizes that vary by less than a factor of two neither rule acts.
 *
 * Items too large for a quarter of
 * the small FIFO go to the main one, and so do new items until the main
 * FIFO first fills (the paper's small FIFO grows into memory the main one
 * does not use yet: a cache evicts only when full; fixed logs cannot, so
 * new items go where the memory is).  The ghost holds a quarter as many
 * entries as the memory holds items: measured with perf/evict_sim.c, a
 * quarter beat 0.5 and 0.9 at every size for Zipf 0.8 and 0.99.
 */
#include <stdlib.h>
#include <string.h>

#include "evict.h"
#include "store_internal.h"

#define GHOST_WAYS 8u
#define GHOST_SHARE 0.25   /* ghost entries per item the memory holds */
#define MOVE_BUDGET 16    /* copies per allocation (as CLOCK's second chances) */
#define LARGE_X 3         /* ghost hits over this many mean records go to the small FIFO */

struct ghost {
	uint32_t nb;
	bool main_filled;         /* the main FIFO had to evict once */
	uint16_t (*b)[GHOST_WAYS];
};

/* The ghost's own mix of the key hash (its bits must not follow the
 * partition, bucket or tag bits): fingerprint from the top 16 bits (never
 * 0, the empty entry), bucket from the low 32. */
static inline uint64_t ghost_mix(uint64_t h)
{
	return (h ^ (h >> 29)) * 0xbf58476d1ce4e5b9ull;
}

static inline uint16_t *ghost_bucket(const struct ghost *g, uint64_t m)
{
	return g->b[(uint32_t)(((uint64_t)(uint32_t)m * g->nb) >> 32)];
}

static inline uint16_t ghost_fp(uint64_t m)
{
	uint16_t f = (uint16_t)(m >> 48);

	return f != 0 ? f : 1;
}

/* Newest first: the oldest fingerprint of the bucket falls out. */
static void ghost_put(struct ghost *g, uint64_t hash)
{
	uint64_t m = ghost_mix(hash);
	uint16_t *e = ghost_bucket(g, m);

	memmove(e + 1, e, (GHOST_WAYS - 1) * sizeof(*e));
	e[0] = ghost_fp(m);
}

/* True (and forgotten) if the key was recently dropped from the small FIFO. */
static bool ghost_take(struct ghost *g, uint64_t hash)
{
	uint64_t m = ghost_mix(hash);
	uint16_t *e = ghost_bucket(g, m), f = ghost_fp(m);

	for (unsigned i = 0; i < GHOST_WAYS; i++)
		if (e[i] == f) {
			e[i] = 0;
			return true;
		}
	return false;
}

/* As many ghost entries as the main FIFO holds items. */
static size_t s3_side_bytes(uint64_t budget, double per_item)
{
	double items = (double)budget / per_item * GHOST_SHARE;

	return ((size_t)(items / GHOST_WAYS) + 1) * GHOST_WAYS * sizeof(uint16_t);
}

static int s3_init(struct dpc_part *p)
{
	struct ghost *g = calloc(1, sizeof(*g));

	if (g == NULL)
		return -ENOMEM;
	g->nb = (uint32_t)(p->ev_bytes / (GHOST_WAYS * sizeof(uint16_t)));
	g->b = calloc(g->nb, sizeof(*g->b));
	if (g->b == NULL) {
		free(g);
		return -ENOMEM;
	}
	p->ev_state = g;
	return 0;
}

static void s3_fini(struct dpc_part *p)
{
	struct ghost *g = p->ev_state;

	if (g != NULL)
		free(g->b);
	free(g);
	p->ev_state = NULL;
}

static unsigned s3_place(struct dpc_part *p, uint64_t hash, int old_log, uint32_t size)
{
	/* Until the main FIFO first fills, it takes new items too (above). */
	struct ghost *g = p->ev_state;

	if (size > p->small_max || old_log == (int)DPC_LOG_MAIN ||
	    (!g->main_filled && dpc_log_fits(&p->logs[DPC_LOG_MAIN], size)))
		return DPC_LOG_MAIN;
	if (old_log == (int)DPC_LOG_SMALL)
		return DPC_LOG_SMALL;
	if (ghost_take(g, hash)) {
		/* A large one goes to the small FIFO again (above): size >
		 * LARGE_X * item_bytes / items, without a divide. */
		if ((uint64_t)size * dpc_ctr_ld(&p->ctr.items) >
		    LARGE_X * dpc_ctr_ld(&p->ctr.item_bytes))
			return DPC_LOG_SMALL;
		dpc_ctr_add(&p->ctr.ghost_hits, 1);
		return DPC_LOG_MAIN;
	}
	return DPC_LOG_SMALL;
}

static void s3_make_room(struct dpc_part *p, unsigned log, uint32_t size, uint32_t now)
{
	struct dpc_log *s = &p->logs[DPC_LOG_SMALL];
	int budget = MOVE_BUDGET;
	struct dpc_head hd;

	if (log == DPC_LOG_MAIN) {
		if (!dpc_log_fits(&p->logs[DPC_LOG_MAIN], size))
			((struct ghost *)p->ev_state)->main_filled = true;
		dpc_evict_clock_room(p, DPC_LOG_MAIN, size, now);
		return;
	}
	while (!dpc_log_fits(s, size) && s->h < s->t) {
		if (!dpc_evict_peek(p, DPC_LOG_SMALL, now, &hd))
			continue;
		if (hd.slot != NULL && !hd.flushed && !hd.dead) {
			if ((hd.w & DPC_ITEM_ACC) && budget > 0) {
				budget--;
				dpc_evict_clock_room(p, DPC_LOG_MAIN, hd.size, now);
				if (dpc_evict_keep(p, &hd, DPC_LOG_MAIN, hd.w & ~DPC_ITEM_ACC)) {
					dpc_ctr_add(&p->ctr.to_main, 1);
					continue;
				}
			} else if (!(hd.w & DPC_ITEM_ACC) && budget > 0 &&
				   dpc_evict_small_keep(p, hd.size)) {
				/* Another lap of the small FIFO (above). */
				budget--;
				if (dpc_evict_keep(p, &hd, DPC_LOG_SMALL, hd.w))
					continue;
			}
			ghost_put(p->ev_state, hd.hash);
		}
		dpc_evict_drop(p, &hd);
	}
}

const struct dpc_evict_ops dpc_evict_s3fifo = {
	.name = "s3fifo",
	.mark_hits = true,
	.small_share = 0.10,
	.make_room = s3_make_room,
	.place = s3_place,
	.side_bytes = s3_side_bytes,
	.init = s3_init,
	.fini = s3_fini,
};
