/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file table.h
 * Private to the engine: the bucketized, partial-key cuckoo index of one
 * partition (see docs/design.md, "The table and the store").
 *
 * A bucket is one 64-byte cache line: a 32-bit version counter and 7 slots
 * of 8 bytes, each slot = 16-bit tag | 48-bit item reference (the item's log
 * position / 4; 0 = empty).  A key has two candidate buckets: b1 from the low
 * 32 hash bits, b2 = alt(b1, tag) where alt(b, tag) = (F(tag) - b) mod nb is
 * an involution, so an entry moves between its buckets knowing only its
 * bucket and its tag (the item is never touched by a cuckoo move).
 *
 * Concurrency: one writer (the partition owner), any number of lock-free
 * readers.  Single-slot changes (insert, replace, delete) are one atomic
 * 64-bit store with release order.  A cuckoo move touches two slots in two
 * buckets, so the owner makes both buckets' versions odd around it; a reader
 * that found nothing re-reads both versions and retries if either changed
 * (a hit is validated by the full key and needs no version check).
 */
#ifndef DPCACHE_TABLE_H
#define DPCACHE_TABLE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "dpcache/common.h"

#define DPC_BUCKET_SLOTS 7u
#define DPC_REF_BITS 48u
#define DPC_REF_MASK ((1ull << DPC_REF_BITS) - 1)

struct dpc_bucket {
	_Atomic uint32_t ver;   /**< odd while the owner moves an entry in or out */
	uint32_t unused;
	_Atomic uint64_t slot[DPC_BUCKET_SLOTS];
} dpc_cache_aligned;

/*
 * One bucket is exactly one cache line: a lookup costs two line fetches
 * (both candidates), prefetched together in a batch, and a version counter
 * in the same line as the slots it guards costs no extra miss.
 */
static_assert(sizeof(struct dpc_bucket) == DPC_CACHE_LINE, "bucket must be one cache line");

struct dpc_table {
	struct dpc_bucket *b;
	uint32_t nb;            /**< number of buckets (any value >= 2) */
	size_t bytes;           /**< mapping size */
	bool huge;              /**< mapped with MAP_HUGETLB */
};

/** Map and zero @p nb buckets.  Returns 0 or -errno. Cold path. */
int dpc_table_init(struct dpc_table *t, uint32_t nb, bool hugepages);
/** Unmap (a zeroed or failed table is fine). */
void dpc_table_fini(struct dpc_table *t);

static inline uint16_t dpc_slot_tag(uint64_t s) { return (uint16_t)(s >> DPC_REF_BITS); }
static inline uint64_t dpc_slot_ref(uint64_t s) { return s & DPC_REF_MASK; }
static inline uint64_t dpc_slot_make(uint16_t tag, uint64_t ref)
{
	return ((uint64_t)tag << DPC_REF_BITS) | ref;
}

/* Bits of the key hash: bucket from bits 0..31, tag from bits 32..47;
 * the partition (dpc_hash_part) is chosen by the top bits 63..32 as a
 * multiply-shift, so for up to 2^16 partitions the tag bits stay uniform
 * within a partition. */
static inline uint16_t dpc_table_tag(uint64_t h) { return (uint16_t)(h >> 32); }

static inline uint32_t dpc_table_b1(const struct dpc_table *t, uint64_t h)
{
	return (uint32_t)(((uint64_t)(uint32_t)h * t->nb) >> 32);
}

static inline uint32_t dpc_table_alt(const struct dpc_table *t, uint32_t b, uint16_t tag)
{
	uint32_t f = (uint32_t)(((((uint64_t)tag + 1) * 0x9e3779b97f4a7c15ull) >> 32) * t->nb >> 32);

	return f >= b ? f - b : f + t->nb - b;
}

/**
 * Owner only: put @p slotval (tag, ref) for a key whose candidates are
 * @p b1 / @p b2 into a free slot, making room by a bounded BFS cuckoo path
 * if both are full.  A slot is free when it is 0 or its ref is below
 * @p stale_ref (an entry older than the flush horizon).  On success returns
 * 0 and sets *@p dropped to the slot value that was overwritten (0, or a
 * stale entry the caller must account for; also set, and to be accounted,
 * on failure).  Returns -ENOSPC if no path was found within the bound
 * (caller evicts a victim: dpc_table_victim()).
 */
int dpc_table_insert(struct dpc_table *t, uint32_t b1, uint32_t b2, uint64_t slotval,
		     uint64_t stale_ref, uint64_t *dropped);

/** Owner only: the slot with the oldest (smallest) ref among buckets b1, b2. */
_Atomic uint64_t *dpc_table_victim(struct dpc_table *t, uint32_t b1, uint32_t b2);

/** Owner only: the slot in b1/b2 holding exactly @p slotval, or NULL. */
static inline _Atomic uint64_t *dpc_table_find_exact(struct dpc_table *t, uint32_t b1, uint32_t b2,
						     uint64_t slotval)
{
	struct dpc_bucket *bk = &t->b[b1];

	for (int pass = 0; pass < 2; pass++) {
		for (unsigned i = 0; i < DPC_BUCKET_SLOTS; i++)
			if (atomic_load_explicit(&bk->slot[i], memory_order_relaxed) == slotval)
				return &bk->slot[i];
		if (b2 == b1)
			break;
		bk = &t->b[b2];
	}
	return NULL;
}

#endif /* DPCACHE_TABLE_H */
