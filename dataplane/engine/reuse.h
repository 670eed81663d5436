/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file reuse.h
 * Private to the engine: dead-space reuse in a partition's log (see
 * docs/design.md, "Memory efficiency: dead-space reuse").
 *
 * When an item leaves the index while it is still between the log's head
 * and tail (overwritten, deleted, expired by the sweep, dropped by the
 * index), its bytes become a *hole*.  Once a QSBR grace period has passed
 * since the index stopped referring to it, no reader can still hold it,
 * and the owner writes a new item of at most the hole's size into it
 * instead of appending at the tail.  Items stay immutable: a reader only
 * ever sees memory that no writer touches until every reader that could
 * have found it has passed a quiescent state (the same guarantee as the
 * head's segment retirement, store_internal.h).
 *
 * Holes are kept in per-size-class FIFO lists of nodes from a fixed pool
 * (allocated at start-up, counted in the partition's memory budget).  A
 * full pool recycles the oldest node of a class in turn, so the structure
 * never grows; a hole that is not recorded is simply reclaimed when the
 * head comes round, as before.
 *
 * Grace periods: each hole carries a sequence number; the owner publishes
 * the newest one (release store, no syscall); the cache's reclaimer thread
 * waits for a grace period and publishes the sequence it covered
 * (release).  A hole is taken only when its sequence is covered.
 *
 * Concurrency: every function is for the owner of the partition only,
 * except dpc_reuse_want() / dpc_reuse_covered() (the reclaimer thread)
 * and dpc_reuse_bytes() (any thread, relaxed).
 */
#ifndef DPCACHE_REUSE_H
#define DPCACHE_REUSE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dpcache/common.h"

/* Size classes: one per size below 1 KiB (records are multiples of 4), then
 * 16 per doubling up to 8 MiB. */
#define DPC_REUSE_CLASSES (256u + 13u * 16u)
/** Smallest hole worth recording (the smallest item: 12-byte header + 1-byte key, aligned). */
#define DPC_REUSE_MIN 16u

struct dpc_reuse_node {
	uint64_t pos;       /* log position of the hole */
	uint32_t size;      /* bytes */
	uint32_t seq;       /* grace-period sequence (wrapping) */
	uint32_t next;      /* next node of its list, or DPC_REUSE_NIL */
};

struct dpc_reuse_list {
	uint32_t head, tail;
};

struct dpc_reuse {
	/* Owner-private. */
	struct dpc_reuse_node *node;
	uint32_t nnodes;
	uint32_t free;                    /* free-node stack through .next */
	uint32_t seq;                     /* sequence of the newest hole */
	uint32_t steal;                   /* no class below holds a hole (recycled: smallest) */
	size_t map_bytes;
	struct dpc_reuse_list cls[DPC_REUSE_CLASSES];

	/* Owner-written, read relaxed by stats readers. */
	_Atomic uint64_t bytes;           /* bytes in recorded holes */
	_Atomic uint64_t taken;           /* holes written into */
	_Atomic uint64_t dropped;         /* holes forgotten (pool full, or passed by the head) */

	/* Owner -> reclaimer and back. */
	_Atomic uint32_t want dpc_cache_aligned;   /* newest sequence waiting for a grace period */
	_Atomic uint32_t covered;                  /* every hole up to here has had one */
};

/** Bytes of memory dpc_reuse_init() maps for @p nnodes nodes (for budgeting). */
size_t dpc_reuse_bytes_for(uint32_t nnodes);

/**
 * Set up with a pool of @p nnodes nodes (0: reuse disabled, every call a
 * no-op that finds nothing).  0 or -ENOMEM.  Cold path.
 */
int dpc_reuse_init(struct dpc_reuse *r, uint32_t nnodes);
/** Unmap (a zeroed or failed one is fine). */
void dpc_reuse_fini(struct dpc_reuse *r);

/**
 * Owner: the item of @p size bytes at @p pos has just left the index (its
 * slot was overwritten or cleared by a release or relaxed store before
 * this call).  Records it as a hole and publishes its sequence for the
 * next grace period.  Never fails: a full pool recycles an older node.
 */
void dpc_reuse_add(struct dpc_reuse *r, uint64_t pos, uint32_t size);

/**
 * Owner: a recorded hole of at least @p size bytes whose grace period has
 * passed and which starts at or above @p from (the lowest position still
 * valid: head and flush horizon), or 0.  On success the node is released
 * and *@p hole_size is the hole's size; the caller writes its item at the
 * start and accounts for the rest (dpc_reuse_add_ready()).  Holes below
 * @p from found on the way are forgotten.  Bounded work.
 */
uint64_t dpc_reuse_take(struct dpc_reuse *r, uint32_t size, uint64_t from, uint32_t *hole_size);

/**
 * Owner: record the @p size bytes at @p pos, already past any reader (the
 * rest of a hole that was taken), as a hole usable at once.  Sizes below
 * DPC_REUSE_MIN are not recorded.
 */
void dpc_reuse_add_ready(struct dpc_reuse *r, uint64_t pos, uint32_t size);

/** Owner: forget every hole (flush, or the head passed them all). */
void dpc_reuse_clear(struct dpc_reuse *r);

/** Reclaimer: the newest sequence waiting, and whether it is not covered yet (acquire). */
static inline bool dpc_reuse_want(struct dpc_reuse *r, uint32_t *want)
{
	/* Acquire: pairs with the owner's release in dpc_reuse_add(); the slot
	 * change that made the hole happened before this grace period starts. */
	*want = atomic_load_explicit(&r->want, memory_order_acquire);
	return *want != atomic_load_explicit(&r->covered, memory_order_relaxed);
}

/** Reclaimer: a grace period that started after dpc_reuse_want() returned @p want has passed. */
static inline void dpc_reuse_covered(struct dpc_reuse *r, uint32_t want)
{
	/* Release: pairs with the owner's acquire in dpc_reuse_take(). */
	atomic_store_explicit(&r->covered, want, memory_order_release);
}

/** Any thread: bytes in recorded holes (relaxed). */
static inline uint64_t dpc_reuse_bytes(const struct dpc_reuse *r)
{
	return atomic_load_explicit(&r->bytes, memory_order_relaxed);
}

#endif /* DPCACHE_REUSE_H */
