/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file store.h
 * The cache engine: a partitioned, lock-free cuckoo-hash index over
 * per-partition item memory with eviction, TTL, CAS and memcached semantics.
 *
 * Concurrency (CREW):
 *  - A cache has N partitions.  Partition p is *written* only by its owner
 *    thread (all dpc_store_* calls on p).  Any thread may *read* any
 *    partition (dpc_cache_get*, dpc_cache_prefetch) without locks.
 *  - Every thread that reads must be registered with liburcu's QSBR flavour
 *    (urcu_qsbr_register_thread()) and report quiescent states
 *    (urcu_qsbr_quiescent_state()) regularly, e.g. once per poll iteration.
 *    An item view returned to a reader stays valid until that reader's next
 *    quiescent state; the owner reclaims memory only after a grace period
 *    and never blocks on one.
 *  - Owners are readers too: they must also be registered.
 *
 * Time: seconds of unix time, kept by the cache (dpc_cache_set_time()), so
 * that tests can move the clock.  memcached expiry semantics: 0 = never;
 * 1..2592000 (30 days) = relative seconds; larger = absolute unix time (in
 * the past = already expired).
 */
#ifndef DPCACHE_STORE_H
#define DPCACHE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dpcache/common.h"

/** Cache outcomes (not errnos).  The protocol maps them onto wire statuses. */
enum dpc_status {
	DPC_OK = 0,        /**< hit / stored / deleted / touched */
	DPC_NOT_FOUND,     /**< miss, or key absent for delete/incr/touch */
	DPC_EXISTS,        /**< CAS mismatch; add on an existing key */
	DPC_NOT_STORED,    /**< replace/append/prepend on a missing key */
	DPC_TOO_LARGE,     /**< value (or append result) over the size limit */
	DPC_NON_NUMERIC,   /**< incr/decr on a value that is not a decimal u64 */
	DPC_NOSPACE,       /**< memory still waits for a grace period (transient: retry) */
	DPC_INVALID,       /**< bad arguments (key length 0 or > 250, ...) */
};

/** Eviction policy of the item memory (see docs/design.md for the measured comparison). */
enum dpc_evict_policy {
	DPC_EVICT_FIFO = 0,   /**< segment FIFO: drop the oldest segment */
	DPC_EVICT_CLOCK,      /**< FIFO with reinsertion of items read since last pass */
	DPC_EVICT_S3FIFO,     /**< S3-FIFO: a small FIFO (10 %) in front of a main CLOCK
			       *   FIFO, and a ghost of keys recently dropped from the small one */
};

struct dpc_cache_params {
	unsigned nparts;          /**< partitions (1..DPC_MAX_PARTS), one per worker */
	size_t mem_bytes;         /**< total memory budget (index + items), split evenly */
	unsigned item_size_hint;  /**< expected bytes per item, sizes the index; 0 = 64 */
	uint32_t max_value;       /**< largest value accepted; 0 = DPC_VALUE_MAX_DEFAULT */
	enum dpc_evict_policy policy;
	bool hugepages;           /**< try MAP_HUGETLB first, fall back to plain pages */
	int numa_socket;          /**< informational; -1 = any */
	uint32_t reclaim_interval_us; /**< reclaimer's nap between grace periods; 0 = default */
};

/** The reclaimer's interval (dpc_cache_set_reclaim_interval()): default and bounds, in us. */
#define DPC_RECLAIM_INTERVAL_DEFAULT_US 1000u
#define DPC_RECLAIM_INTERVAL_MIN_US 10u
#define DPC_RECLAIM_INTERVAL_MAX_US 100000u

#define DPC_MAX_PARTS 64u

/** A key with its precomputed dpc_hash(). */
struct dpc_key {
	const void *data;
	uint64_t hash;
	uint8_t len;
};

/**
 * Read-only view of a stored item.  Valid until the reading thread's next
 * QSBR quiescent state; never torn (items are immutable once published;
 * only exptime may change, atomically).
 */
struct dpc_item_view {
	const void *key;
	const void *val;
	uint32_t vlen;
	uint32_t flags;
	uint32_t exptime;   /**< absolute unix seconds, 0 = never */
	uint8_t klen;
	/** Changes with every write of the key and never repeats an older
	 *  version's; copies made by eviction keep it.  Only for an item not
	 *  written in its partition's last 2^32 writes may it read higher
	 *  (never an older version's value) than when a client last read it,
	 *  so that a CAS write then gets DPC_EXISTS (docs/design.md, "CAS"). */
	uint64_t cas;
};

struct dpc_cache;

/** Per-partition figures (owner-written, relaxed reads from any thread). */
struct dpc_store_stats {
	uint64_t items;           /**< live items in the index (approximate while writing) */
	uint64_t bytes_used;      /**< item memory held by live items (headers included) */
	uint64_t bytes_limit;     /**< item memory budget */
	uint64_t index_slots;     /**< index capacity in slots */
	uint64_t evictions;       /**< live items dropped to make room */
	uint64_t reinserted;      /**< CLOCK second chances */
	uint64_t expired_reclaimed;
	uint64_t index_evictions; /**< items dropped because both buckets and the cuckoo path were full */
	uint64_t nospace;         /**< writes refused with DPC_NOSPACE */
	uint64_t flushes;
	uint64_t index_moves;     /**< cuckoo moves (an entry moved to its other bucket) */
	uint64_t small_to_main;   /**< S3-FIFO: items read in the small FIFO, moved to the main one */
	uint64_t ghost_hits;      /**< S3-FIFO: new items written to the main FIFO (key in the ghost) */
	/* memory efficiency */
	uint64_t log_bytes;        /**< item memory (the logs), live or not */
	uint64_t live_fraction_bp; /**< bytes_used / log_bytes in basis points (10000 = all live) */
	uint64_t hole_bytes;       /**< dead bytes recorded for reuse (waiting or ready) */
	uint64_t holes_reused;     /**< writes that went into a hole instead of a tail */
	uint64_t flags_values;     /**< entries of the partition's client-flags table in use (<= 15) */
	uint64_t flags_words;      /**< writes whose flags found that table full (a 4-byte word each) */
	/* the cache's reclaimer thread (one per cache: counted in partition 0, 0 elsewhere) */
	uint64_t reclaim_wakeups;       /**< times the reclaimer woke up */
	uint64_t reclaim_grace_periods; /**< QSBR grace periods it waited for */
};

/* ---- life cycle -------------------------------------------------------- */

/**
 * Create a cache.  Returns NULL and sets errno: EINVAL (bad parameters,
 * or a partition too small for two maximum items plus the reserve),
 * ENOMEM, EAGAIN (the reclaimer thread).  Cold path.
 */
struct dpc_cache *dpc_cache_create(const struct dpc_cache_params *p);
/** Free a cache (NULL is fine).  No thread may use it any more. */
void dpc_cache_free(struct dpc_cache *c);
unsigned dpc_cache_nparts(const struct dpc_cache *c);
/** Bytes of metadata per item beyond key and value at the current load (benchmarks report it). */
double dpc_cache_meta_bytes_per_item(const struct dpc_cache *c);
void dpc_cache_stats(const struct dpc_cache *c, unsigned part, struct dpc_store_stats *out);

/**
 * The reclaimer's interval from its next nap on: at most one grace period,
 * and when idle one wake-up, per @p us microseconds (0: the default;
 * clamped to DPC_RECLAIM_INTERVAL_MIN_US..MAX_US); it wakes sooner when a
 * tail nears its reclaim horizon.  Any thread; relaxed store.
 */
void dpc_cache_set_reclaim_interval(struct dpc_cache *c, uint32_t us);

/** Set the cache clock (unix seconds).  Any thread; relaxed store. */
void dpc_cache_set_time(struct dpc_cache *c, uint32_t now);
uint32_t dpc_cache_time(const struct dpc_cache *c);
/** Convert a memcached exptime to absolute unix seconds (0 = never) using the cache clock. */
uint32_t dpc_cache_abs_exptime(const struct dpc_cache *c, uint32_t exptime);

/* ---- readers: any registered thread, lock-free -------------------------- */

/**
 * Prefetch the primary index bucket of a key, where most keys are (stage 1
 * of a batched pipeline: call it right after hashing each key of a burst,
 * before dpc_cache_get_bulk()).  Any thread; a hint, no effect on results.
 */
void dpc_cache_prefetch(const struct dpc_cache *c, uint64_t hash);

/**
 * Stage 2 of a pipeline across a burst: with the primary bucket of @p hash
 * already prefetched (dpc_cache_prefetch()), prefetch the item its first
 * tag match refers to (two lines), or the second bucket if no tag matches.
 * A hint only: it reads the bucket without the version protocol, so a
 * concurrent change costs a useless prefetch, never a wrong answer.
 */
void dpc_cache_prefetch_item(const struct dpc_cache *c, uint64_t hash);

/**
 * Look up one key.  DPC_OK with @p out filled, or DPC_NOT_FOUND (absent,
 * expired or flushed).  Marks the item as recently used for eviction.
 */
enum dpc_status dpc_cache_get(const struct dpc_cache *c, const struct dpc_key *k,
			      struct dpc_item_view *out);

/**
 * Batched lookup of up to 32 keys: hash already in each key.  Stages over
 * the whole burst: prefetch primary buckets; tag filters; prefetch the
 * candidate items (and, for keys not in their primary bucket, the second
 * bucket, then its candidates); compare keys.  st[i] and out[i] as
 * dpc_cache_get() for keys[i].  Any registered reader thread, lock-free.
 */
#define DPC_BULK_MAX 32u
void dpc_cache_get_bulk(const struct dpc_cache *c, const struct dpc_key *keys, unsigned n,
			struct dpc_item_view *out, enum dpc_status *st);

/* ---- owner-only writes on partition `part` ------------------------------ */

enum dpc_set_mode { DPC_SET, DPC_ADD, DPC_REPLACE, DPC_APPEND, DPC_PREPEND };

/**
 * Store a value.  @p cas non-zero: only if the current item's CAS equals it
 * (else DPC_EXISTS; DPC_NOT_FOUND if absent).  @p exptime in memcached
 * form.  On DPC_OK *cas_out (if non-NULL) receives the new item's CAS
 * (unique per write).  APPEND/PREPEND keep the old flags and exptime.
 * Evicts as needed: a full cache never refuses a write.  DPC_NOSPACE
 * (transient) when the memory eviction freed still waits for a QSBR grace
 * period: between two quiescent states of the owner, the partition can
 * take only its reserve (max of 1/32 of its log, 4 segments and 2 largest
 * items) plus what earlier grace periods returned, so a burst of large
 * writes within one poll iteration (e.g. 32 values of 1 MiB) is refused
 * in part.  The owner never waits for a grace period on the hot path, so
 * the store cannot hold such a write back; the caller answers a retryable
 * status (binary: Temporary failure) or retries after its next quiescent
 * state.  Counted as `nospace`.
 * Owner of `part` only; the replaced item is reclaimed after a grace period.
 */
enum dpc_status dpc_store_set(struct dpc_cache *c, unsigned part, enum dpc_set_mode mode,
			      const struct dpc_key *k, const void *val, uint32_t vlen,
			      uint32_t flags, uint32_t exptime, uint64_t cas, uint64_t *cas_out);

/** Delete; @p cas non-zero must match.  DPC_OK, DPC_NOT_FOUND, DPC_EXISTS. Owner only. */
enum dpc_status dpc_store_delete(struct dpc_cache *c, unsigned part, const struct dpc_key *k,
				 uint64_t cas);

/**
 * incr/decr with memcached semantics: 64-bit unsigned, incr wraps, decr
 * stops at 0; value must be a decimal number (else DPC_NON_NUMERIC).  If
 * absent: created with @p initial unless @p exptime == 0xffffffff
 * (DPC_NOT_FOUND).  *value_out = new value; *cas_out = new CAS. Owner only.
 */
enum dpc_status dpc_store_arith(struct dpc_cache *c, unsigned part, const struct dpc_key *k,
				bool incr, uint64_t delta, uint64_t initial, uint32_t exptime,
				uint64_t cas, uint64_t *value_out, uint64_t *cas_out);

/** touch: set a new exptime; DPC_OK or DPC_NOT_FOUND.  If @p out, also a view (GAT). Owner only. */
enum dpc_status dpc_store_touch(struct dpc_cache *c, unsigned part, const struct dpc_key *k,
				uint32_t exptime, struct dpc_item_view *out);

/**
 * flush_all: every item stored before now + @p delay seconds stops being
 * returned from that moment.  Any thread, all partitions (atomic request
 * flags; owners apply delayed flushes in dpc_store_maintain()).
 */
void dpc_cache_flush(struct dpc_cache *c, uint32_t delay);

/**
 * Bounded background work for the owner of @p part, once per poll
 * iteration: reclaim memory whose grace period has passed, apply pending
 * flushes, lazy expiry.  Does at most @p budget units of work; returns the
 * work done.  Never blocks.
 */
unsigned dpc_store_maintain(struct dpc_cache *c, unsigned part, unsigned budget);

#endif /* DPCACHE_STORE_H */
