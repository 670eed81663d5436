/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Dead-space reuse in a partition's log: holes left by items that left the
 * index, kept by size class, written into once a grace period has passed.
 * Protocol and concurrency: reuse.h.
 */
#include <string.h>
#include <sys/mman.h>

#include "reuse.h"

#define NIL UINT32_MAX
/* A take searches the classes of holes up to this much larger than the
 * item (64 bytes, or a quarter of its size, whichever is more). */
#define SEARCH_SLACK(size) ((size) / 4u > 64u ? (size) / 4u : 64u)
/* Heads below the valid horizon forgotten per take (bounds the work of one write). */
#define STALE_MAX 8u

/* Class of a hole of @p size bytes.  Classes are ranges of sizes, so every
 * hole of a class above an item's own class is large enough for it. */
static inline unsigned class_of(uint32_t size)
{
	/* Below 1 KiB a class is one size: an overwrite of a key whose record
	 * is a few bytes shorter or longer than another key's (header of 12 or
	 * 16 bytes, values of mixed sizes) must not put its holes at the head of
	 * the other's class, where they are too small for it and block the
	 * holes behind them (a take looks only at a class's head). */
	if (size < 1024u)
		return size >> 2;
	unsigned e = 31u - (unsigned)__builtin_clz(size);   /* 10 .. 22 */
	unsigned c = 256u + (e - 10u) * 16u + ((size >> (e - 4u)) & 15u);

	return c < DPC_REUSE_CLASSES ? c : DPC_REUSE_CLASSES - 1;
}

static inline uint64_t ld(const _Atomic uint64_t *v)
{
	return atomic_load_explicit(v, memory_order_relaxed);
}

/* Single-writer counters: relaxed load and store, no LOCK prefix. */
static inline void ctr_set(_Atomic uint64_t *c, uint64_t v)
{
	atomic_store_explicit(c, v, memory_order_relaxed);
}

size_t dpc_reuse_bytes_for(uint32_t nnodes)
{
	return (size_t)nnodes * sizeof(struct dpc_reuse_node);
}

int dpc_reuse_init(struct dpc_reuse *r, uint32_t nnodes)
{
	memset(r, 0, sizeof(*r));
	for (unsigned c = 0; c < DPC_REUSE_CLASSES; c++)
		r->cls[c].head = r->cls[c].tail = NIL;
	r->free = NIL;
	if (nnodes == 0)
		return 0;
	r->map_bytes = dpc_reuse_bytes_for(nnodes);
	r->node = mmap(NULL, r->map_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (r->node == MAP_FAILED) {
		r->node = NULL;
		r->map_bytes = 0;
		return -ENOMEM;
	}
	r->nnodes = nnodes;
	for (uint32_t i = 0; i < nnodes; i++)
		r->node[i].next = i + 1 < nnodes ? i + 1 : NIL;
	r->free = 0;
	return 0;
}

void dpc_reuse_fini(struct dpc_reuse *r)
{
	if (r->node != NULL)
		munmap(r->node, r->map_bytes);
	r->node = NULL;
	r->nnodes = 0;
}

static inline void node_free(struct dpc_reuse *r, uint32_t i)
{
	r->node[i].next = r->free;
	r->free = i;
}

/* Unlink and return the head of class @p c (which must not be empty). */
static inline uint32_t pop_head(struct dpc_reuse *r, unsigned c)
{
	uint32_t i = r->cls[c].head;

	r->cls[c].head = r->node[i].next;
	if (r->cls[c].head == NIL)
		r->cls[c].tail = NIL;
	ctr_set(&r->bytes, ld(&r->bytes) - r->node[i].size);
	return i;
}

static void forget(struct dpc_reuse *r, uint32_t i)
{
	ctr_set(&r->dropped, ld(&r->dropped) + 1);
	node_free(r, i);
}

/*
 * A free node, recycling the oldest hole of the smallest class if there is
 * none: a forgotten hole stays dead until the head comes round, so the
 * pool gives up the fewest bytes.  (Recycling each class in turn lost a
 * large class's holes as fast as a crowded small one's: the remainders of
 * holes taken by slightly smaller items, too small for any item of the
 * workload, filled the pool, and 8 KiB holes were forgotten to make room
 * for 40-byte ones.)  r->steal is at or below the smallest non-empty class.
 */
static uint32_t node_get(struct dpc_reuse *r)
{
	if (r->free == NIL) {
		while (r->steal < DPC_REUSE_CLASSES && r->cls[r->steal].head == NIL)
			r->steal++;
		if (r->steal == DPC_REUSE_CLASSES)
			return NIL;
		forget(r, pop_head(r, r->steal));
	}
	uint32_t i = r->free;

	r->free = r->node[i].next;
	return i;
}

static void push(struct dpc_reuse *r, uint64_t pos, uint32_t size, uint32_t seq, bool front)
{
	uint32_t i = node_get(r);
	unsigned c = class_of(size);

	if (i == NIL)
		return;
	if (c < r->steal)
		r->steal = c;
	r->node[i] = (struct dpc_reuse_node){ .pos = pos, .size = size, .seq = seq, .next = NIL };
	if (r->cls[c].head == NIL) {
		r->cls[c].head = r->cls[c].tail = i;
	} else if (front) {
		r->node[i].next = r->cls[c].head;
		r->cls[c].head = i;
	} else {
		r->node[r->cls[c].tail].next = i;
		r->cls[c].tail = i;
	}
	ctr_set(&r->bytes, ld(&r->bytes) + size);
}

void dpc_reuse_add(struct dpc_reuse *r, uint64_t pos, uint32_t size)
{
	if (r->nnodes == 0 || size < DPC_REUSE_MIN)
		return;
	r->seq++;
	push(r, pos, size, r->seq, false);
	/* Release: the caller's slot store (which made this a hole) is ordered
	 * before the request; the grace period the reclaimer then waits for
	 * covers every reader that could have loaded the old slot value. */
	atomic_store_explicit(&r->want, r->seq, memory_order_release);
}

void dpc_reuse_add_ready(struct dpc_reuse *r, uint64_t pos, uint32_t size)
{
	if (r->nnodes == 0 || size < DPC_REUSE_MIN)
		return;
	/* Ready at once: its sequence is one already covered. */
	push(r, pos, size, atomic_load_explicit(&r->covered, memory_order_relaxed), true);
}

/* Sequence @p s is covered by @p cov (wrapping compare). */
static inline bool is_covered(uint32_t s, uint32_t cov)
{
	return (int32_t)(cov - s) >= 0;
}

uint64_t dpc_reuse_take(struct dpc_reuse *r, uint32_t size, uint64_t from, uint32_t *hole_size)
{
	if (r->nnodes == 0)
		return 0;
	/* Acquire: pairs with the reclaimer's release in dpc_reuse_covered();
	 * the grace period is over before this thread writes into the hole. */
	uint32_t cov = atomic_load_explicit(&r->covered, memory_order_acquire);
	unsigned c0 = class_of(size), c1 = class_of(size + SEARCH_SLACK(size)), stale = 0;

	for (unsigned c = c0; c < DPC_REUSE_CLASSES && c <= c1; c++) {
		while (r->cls[c].head != NIL) {
			struct dpc_reuse_node *n = &r->node[r->cls[c].head];

			if (n->pos < from) {   /* passed by the head or flushed: gone */
				if (stale++ == STALE_MAX)
					return 0;
				forget(r, pop_head(r, c));
				continue;
			}
			/* FIFO: the head is the oldest; if it is not ready, none is.  In
			 * the item's own class that means: append at the tail, and leave
			 * the larger classes' holes to their own sizes.  Each size's
			 * overwrites make as many holes as they take, so taking a larger
			 * one whenever one's own are not ready yet (a grace period) left
			 * one's own to age unused until the head passed them: 9.5 % of
			 * the log dead on a mix of 228- and 232-byte records (live_sim),
			 * against 5 % with one size.  A head too small (only in the
			 * ranged classes above 1 KiB) sends the search up. */
			if (!is_covered(n->seq, cov)) {
				if (c == c0)
					return 0;
				break;
			}
			if (n->size < size)
				break;
			uint32_t i = pop_head(r, c);

			*hole_size = r->node[i].size;
			uint64_t pos = r->node[i].pos;

			node_free(r, i);
			ctr_set(&r->taken, ld(&r->taken) + 1);
			return pos;
		}
	}
	return 0;
}

void dpc_reuse_clear(struct dpc_reuse *r)
{
	for (unsigned c = 0; c < DPC_REUSE_CLASSES; c++)
		while (r->cls[c].head != NIL)
			forget(r, pop_head(r, c));
}
