/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file evict.h
 * Private to the engine: the interface of an eviction policy, and the head
 * walk that every policy is built from (see docs/design.md, "Eviction").
 *
 * A policy decides, when a write needs room in a partition's log, what
 * happens to the item at the head: dropped from the index (its memory is
 * reused after a grace period), or kept by copying it to the tail (a
 * second chance).  It also says whether readers mark the items they hit
 * (one relaxed store of the item's first word, only if the bit is not yet
 * set: no list moves on the read path).  One file per policy:
 * evict_fifo.c, evict_clock.c, evict_s3fifo.c.  A policy may use a second
 * log (S3-FIFO's small FIFO: small_share of the item memory) and side
 * tables of its own (the ghost), whose bytes count inside the budget.
 *
 * Concurrency: every function here is for the owner of the partition
 * only; readers may run concurrently (the index protocol of table.h and
 * the grace periods of log.h keep them safe).
 */
#ifndef DPCACHE_EVICT_H
#define DPCACHE_EVICT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct dpc_part;
struct dpc_item;

/** An eviction policy.  Constant tables in the policy's file. */
struct dpc_evict_ops {
	const char *name;
	/** Readers set the accessed bit of items they hit. */
	bool mark_hits;
	/** Share of the item memory in a second log (DPC_LOG_SMALL); 0: one log. */
	double small_share;
	/**
	 * Make room for an append of @p size bytes to log @p log: advance its
	 * head (with dpc_evict_peek() and dpc_evict_drop()/dpc_evict_keep())
	 * until dpc_log_fits() or the log is empty.  Bounded work per byte.
	 */
	void (*make_room)(struct dpc_part *p, unsigned log, uint32_t size, uint32_t now);
	/**
	 * Optional (NULL: DPC_LOG_MAIN): the log a new item of @p size bytes
	 * for key hash @p hash goes to; @p old_log is the log of the key's
	 * live item, -1 if none.
	 */
	unsigned (*place)(struct dpc_part *p, uint64_t hash, int old_log, uint32_t size);
	/** Optional: bytes of side tables for a partition of @p budget bytes
	 *  (@p per_item bytes of memory per item, index share included). */
	size_t (*side_bytes)(uint64_t budget, double per_item);
	/** Optional: set them up (p->ev_state, p->ev_bytes); 0 or -ENOMEM.  Cold. */
	int (*init)(struct dpc_part *p);
	/** Optional: free them (also after a failed init). */
	void (*fini)(struct dpc_part *p);
};

extern const struct dpc_evict_ops dpc_evict_fifo;
extern const struct dpc_evict_ops dpc_evict_clock;
extern const struct dpc_evict_ops dpc_evict_s3fifo;

/** CLOCK's make_room() on log @p log (S3-FIFO's main log runs it too). */
void dpc_evict_clock_room(struct dpc_part *p, unsigned log, uint32_t size, uint32_t now);

/**
 * The size-aware second chance (evict_clock.c): true, with probability
 * 0.9 (the owner's xorshift64), if a record of @p size bytes is smaller
 * than half the partition's mean live record; false otherwise.  CLOCK and
 * S3-FIFO's main FIFO keep such an unread item at the head, S3-FIFO's
 * small FIFO gives it another lap.  Owner only.
 */
bool dpc_evict_small_keep(struct dpc_part *p, uint32_t size);

/** The item at the head of a log, as dpc_evict_peek() found it. */
struct dpc_head {
	unsigned log;
	struct dpc_item *it;
	_Atomic uint64_t *slot;   /**< its index slot, NULL if no longer indexed */
	uint32_t w;               /**< first word (klen, vlen, accessed) */
	uint32_t size;            /**< bytes in the log */
	uint16_t tag;
	uint64_t hash;            /**< of its key */
	uint64_t flush_seq;       /**< dpc_copy_begin() before the flush check */
	bool flushed;             /**< below the flush horizon */
	bool dead;                /**< expired */
};

/**
 * Look at the head item.  Returns false (and moves the head past it) if
 * the head is padding; else fills @p hd.  The head does not move.
 */
bool dpc_evict_peek(struct dpc_part *p, unsigned log, uint32_t now, struct dpc_head *hd);

/** Drop the head item from the index (if indexed; counted) and move the head past it. */
void dpc_evict_drop(struct dpc_part *p, const struct dpc_head *hd);

/**
 * Keep the head item: copy it to the tail of log @p to (its own log: a
 * second chance; the other: S3-FIFO's move from small to main) with first
 * word @p w (accessed bit cleared by the caller as it sees fit), point its
 * slot at the copy,
 * count a reinsertion and move the head past the original.  Returns false
 * (nothing changed) if the tail has no memory past its grace period.  If a
 * flush began since dpc_evict_peek(), the copy is not indexed and the item
 * is dropped as flushed (returns true: the head moved).
 */
bool dpc_evict_keep(struct dpc_part *p, const struct dpc_head *hd, unsigned to, uint32_t w);

#endif /* DPCACHE_EVICT_H */
