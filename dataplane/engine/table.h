/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file table.h
 * Private to the engine: the bucketized, partial-key cuckoo index of one
 * partition (see docs/design.md, "The table and the store").
 *
 * A bucket is one 64-byte cache line: a 32-bit version counter and 7 slots
 * of 8 bytes, each slot = 16-bit tag | 48-bit item reference; 0 = empty
 * (tags are never 0, so an occupied slot never reads 0).  A reference is
 * the item's log (bit 47) and its log position / 4 modulo 2^47: references
 * wrap every 2^49 bytes a log writes, so the table compares them only
 * within a window of live positions (struct dpc_ref_win), never by size.
 * A key has two candidate buckets: b1 from the low 32 hash bits,
 * b2 = alt(b1, tag) where alt(b, tag) = (F(tag) - b) mod nb is an
 * involution, so an entry moves between its buckets knowing only its
 * bucket and its tag (the item is never touched by a cuckoo move).
 *
 * Concurrency: one writer (the partition owner), any number of lock-free
 * readers.  Single-slot changes (insert, replace, delete) are one atomic
 * 64-bit store with release order.  A cuckoo move touches two slots in two
 * buckets, so the owner makes both buckets' versions odd around it; a reader
 * that found nothing re-reads both versions and retries if either changed
 * (a hit is validated by the full key and needs no version check).
 *
 * Both halves of that protocol are here: the writer in table.c
 * (move_entry(), dpc_table_insert()), the reader as the inline helpers
 * below, used by the store's lookups (lookup.c), which add what the table
 * cannot know (what a reference points to, key compare):
 *
 *	for (;;) {
 *		v1 = dpc_table_version_begin(b1);       odd: retry
 *		scan b1: dpc_table_tag_filter() -> dpc_table_cand() -> compare key
 *		v2 = dpc_table_version_begin(b2);       odd: retry
 *		scan b2 the same way
 *		if (dpc_table_version_end(b1, v1, b2, v2)) miss, final
 *	}
 */
#ifndef DPCACHE_TABLE_H
#define DPCACHE_TABLE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "dpcache/common.h"

#define DPC_BUCKET_SLOTS 7u
#define DPC_REF_BITS 48u
#define DPC_REF_MASK ((1ull << DPC_REF_BITS) - 1)
#define DPC_REF_LOG_BIT 47u                             /* which log */
#define DPC_REF_POS_MASK ((1ull << DPC_REF_LOG_BIT) - 1)  /* position / 4, modulo 2^47 */

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
	_Atomic uint64_t moves; /**< cuckoo moves done (owner-written, relaxed reads) */
};

/** Map and zero @p nb buckets.  Returns 0 or -errno. Cold path. */
int dpc_table_init(struct dpc_table *t, uint32_t nb, bool hugepages);
/** Unmap (a zeroed or failed table is fine). */
void dpc_table_fini(struct dpc_table *t);

static inline uint16_t dpc_slot_tag(uint64_t s) { return (uint16_t)(s >> DPC_REF_BITS); }
static inline uint64_t dpc_slot_ref(uint64_t s) { return s & DPC_REF_MASK; }
static inline uint64_t dpc_slot_make(uint16_t tag, uint64_t ref)
{
	return ((uint64_t)tag << DPC_REF_BITS) | (ref & DPC_REF_MASK);
}

/**
 * The live references of each log: those whose position / 4 lies in
 * [lo, lo + span) modulo 2^47.  span is at most the log's size / 4, far
 * below 2^47, so a reference older than the window (retired, flushed) is
 * told apart from a live one however often the references wrapped.
 * span 0: the log does not exist.
 */
struct dpc_ref_win {
	uint64_t lo[2];
	uint64_t span[2];
};

static inline unsigned dpc_ref_log(uint64_t ref)
{
	return (unsigned)(ref >> DPC_REF_LOG_BIT) & 1u;
}

/** How far (in 4-byte units) @p ref lies above its log's lo, modulo 2^47. */
static inline uint64_t dpc_ref_dist(const struct dpc_ref_win *w, uint64_t ref)
{
	return (ref - w->lo[dpc_ref_log(ref)]) & DPC_REF_POS_MASK;
}

static inline bool dpc_ref_in(const struct dpc_ref_win *w, uint64_t ref)
{
	return dpc_ref_dist(w, ref) < w->span[dpc_ref_log(ref)];
}

/* Bits of the key hash: bucket from bits 0..31, tag from bits 32..47;
 * the partition (dpc_hash_part) is chosen by the top bits 63..32 as a
 * multiply-shift, so for up to 2^16 partitions the tag bits stay uniform
 * within a partition. */
static inline uint16_t dpc_table_tag(uint64_t h)
{
	uint16_t t = (uint16_t)(h >> 32);

	return t != 0 ? t : 1;   /* 0 would let an empty slot match */
}

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
 * if both are full.  A slot is free when it is 0 or its ref is outside the
 * window @p live (an entry older than the head or the flush horizon).  On
 * success returns
 * 0 and sets *@p dropped to the slot value that was overwritten (0, or a
 * stale entry the caller must account for; also set, and to be accounted,
 * on failure).  Returns -ENOSPC if no path was found within the bound
 * (caller evicts a victim: dpc_table_victim()).
 */
int dpc_table_insert(struct dpc_table *t, uint32_t b1, uint32_t b2, uint64_t slotval,
		     const struct dpc_ref_win *live, uint64_t *dropped);

/** Owner only: the slot among buckets b1, b2 whose ref is oldest (lowest in @p live). */
_Atomic uint64_t *dpc_table_victim(struct dpc_table *t, uint32_t b1, uint32_t b2,
				   const struct dpc_ref_win *live);

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

/* ---- reader half of the seqlock (any thread, lock-free) ----------------- */

/**
 * Start reading bucket @p bk: its version, to be passed to
 * dpc_table_version_end().  Odd means a cuckoo move is in progress: the
 * caller pauses (dpc_table_relax()) and starts again.
 */
static inline uint32_t dpc_table_version_begin(const struct dpc_bucket *bk)
{
	/* Acquire: the slot loads of the scan that follows are not hoisted
	 * above this load (pairs with the final release store of move_entry()). */
	return atomic_load_explicit(&bk->ver, memory_order_acquire);
}

static inline bool dpc_table_version_odd(uint32_t v)
{
	return (v & 1u) != 0;
}

/**
 * End a scan of @p b1 (version @p v1 read before its scan) and @p b2 (@p v2,
 * read before its scan, after b1's scan): true if neither changed, i.e. no
 * entry moved between them meanwhile, so a miss in both is final.  b1 is
 * scanned before b2, so a key that moved from b2 to b1 after b1's scan
 * changed b1's version, and one that moved from b1 to b2 before b2's scan
 * is found there.
 */
static inline bool dpc_table_version_end(const struct dpc_bucket *b1, uint32_t v1,
					 const struct dpc_bucket *b2, uint32_t v2)
{
	/* Fence: orders the slot loads of both scans before the version
	 * re-loads; pairs with the release fence in move_entry(), so a scan
	 * that saw any slot store of a move sees a changed version here. */
	atomic_thread_fence(memory_order_acquire);
	return atomic_load_explicit(&b1->ver, memory_order_relaxed) == v1 &&
	       atomic_load_explicit(&b2->ver, memory_order_relaxed) == v2;
}

static inline void dpc_table_relax(void)
{
	__builtin_ia32_pause();
}

/*
 * Tag filter: a mask of the slots of @p bk whose tag may be @p tag, as bits
 * 7 + 4 * slot (the bit of the slot's top 16-bit word in a 32-word view of
 * the bucket).  SSE2: four 16-byte loads, compare 16-bit words, pack to a
 * 32-bit mask: about a dozen instructions and no branch (which slots match
 * is random; a branch per slot mispredicts).  The loads are plain, not
 * atomic: the mask only selects slots; each selected slot is then loaded
 * again with acquire and its tag checked (dpc_table_cand()), so a value
 * seen by the filter alone is never used.  Aligned 8-byte parts of these
 * loads are single accesses on x86 (as DPDK's lock-free rte_hash relies on
 * for its signature compare), so the filter sees each slot either before or
 * after a concurrent store; a miss is still validated by the versions.
 */
#define DPC_TAG_BITS 0x88888880u   /* words 7, 11, .., 31: the tags of slots 0..6 */

static inline uint32_t dpc_table_tag_filter(const struct dpc_bucket *bk, uint16_t tag)
{
#if defined(__SSE2__)
	const __m128i *v = (const __m128i *)(const void *)bk;
	__m128i t = _mm_set1_epi16((short)tag);
	__m128i lo = _mm_packs_epi16(_mm_cmpeq_epi16(_mm_load_si128(v), t),
				     _mm_cmpeq_epi16(_mm_load_si128(v + 1), t));
	__m128i hi = _mm_packs_epi16(_mm_cmpeq_epi16(_mm_load_si128(v + 2), t),
				     _mm_cmpeq_epi16(_mm_load_si128(v + 3), t));
	uint32_t m = (uint32_t)_mm_movemask_epi8(lo) | (uint32_t)_mm_movemask_epi8(hi) << 16;

	return m & DPC_TAG_BITS;
#else
	uint32_t m = 0;

	for (unsigned i = 0; i < DPC_BUCKET_SLOTS; i++)
		m |= (uint32_t)(dpc_slot_tag(atomic_load_explicit(&bk->slot[i],
								  memory_order_relaxed)) == tag)
		     << (7 + 4 * i);
	return m;
#endif
}

/** The slot a filter bit (0..31) of dpc_table_tag_filter() selects. */
static inline unsigned dpc_table_filter_slot(unsigned bit)
{
	return (bit - 7u) >> 2;
}

/**
 * The slot of @p bk that filter bit @p bit selects, or 0 if it does not hold
 * @p tag (any more).  Acquire: pairs with the owner's release store that
 * published the slot, so the item it refers to is complete.
 */
static inline uint64_t dpc_table_cand(const struct dpc_bucket *bk, unsigned bit, uint16_t tag)
{
	uint64_t s = atomic_load_explicit(&bk->slot[dpc_table_filter_slot(bit)],
					  memory_order_acquire);

	return dpc_slot_tag(s) == tag ? s : 0;
}

#endif /* DPCACHE_TABLE_H */
