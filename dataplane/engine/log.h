/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file log.h
 * Private to the engine: a circular item log and the reclaimer thread that
 * lets the log reuse memory only after a QSBR grace period (see
 * docs/design.md, "Store: a circular log per partition" and "Reclamation").
 *
 * A log is `cap` bytes addressed by a 64-bit logical position that only
 * grows: physical offset = pos % cap.  Records are appended at the tail T
 * and never wrap around the ring end: a record that would is preceded by a
 * padding record (a zero 32-bit word) up to the end.  The head H is the
 * oldest position still in use; eviction advances it record by record.
 * Memory below H is reused only once a grace period has passed since H moved
 * past it: per segment crossed, the owner publishes the head and a retire
 * request (two release stores, no syscall); the reclaimer thread polls the
 * requests once per interval, runs one urcu_qsbr_synchronize_rcu() for all
 * of them and then publishes the reclaim horizon `rc` (release).  The tail
 * may write position x only if x < rc + cap.  The owner never waits: if the
 * horizon lags, an append fails (the caller answers DPC_NOSPACE); the
 * reserve, and a reclaimer that wakes sooner when a tail nears its horizon,
 * make that rare.
 *
 * Records between head and tail that left the index (overwritten, deleted)
 * are holes: reuse.h records them and the owner writes new records into
 * them once a grace period has passed, so that the log between head and
 * tail stays mostly live.  A record that is not an item is a padding word
 * (0: up to the ring end) or a filler (the rest of a reused hole, its
 * length in the word: store_internal.h).
 *
 * Concurrency: the owner of the partition is the only writer of h, t and
 * the log's bytes; any thread reads h_pub, t_pub and flush_pos (and the
 * records the index refers to); the reclaimer thread writes rc.
 */
#ifndef DPCACHE_LOG_H
#define DPCACHE_LOG_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dpcache/common.h"
#include "dpcache/store.h"
#include "reuse.h"

struct dpc_log {
	/* Read-only after dpc_log_init(). */
	uint8_t *mem;
	uint64_t cap;             /* bytes, a multiple of seg */
	uint64_t cap_inv;         /* ceil(2^64 / cap), for dpc_log_off() */
	uint64_t seg;             /* retire granularity, a power of two */
	uint64_t reserve;         /* bytes kept free for grace-period lag */
	uint64_t origin;          /* first position (never 0) */
	size_t map;               /* mapping size */

	/* Read by every reader, written rarely (head: once per segment). */
	_Atomic uint64_t h_pub dpc_cache_aligned;
	_Atomic uint64_t flush_pos;       /* positions below are flushed */

	/* Tail, published by the owner after each append, read by flushers. */
	_Atomic uint64_t t_pub dpc_cache_aligned;

	/* Retire request and appends refused for want of a horizon (owner), reclaim
	 * horizon (reclaimer thread). */
	_Atomic uint64_t retire_req dpc_cache_aligned;
	_Atomic uint64_t starved;
	_Atomic uint64_t rc;

	/* Owner-private. */
	uint64_t h dpc_cache_aligned;
	uint64_t t;
	uint64_t last_retire;
	uint64_t poisoned;                /* debug: reclaimed memory poisoned below this */
	uint64_t starved_n;               /* starved, owner's copy (no load per refusal) */

	/* Dead space between head and tail, reused after a grace period
	 * (reuse.h); the reclaimer serves its grace periods too. */
	struct dpc_reuse ru;
};

/**
 * Map a log of @p cap bytes (a multiple of the power of two @p seg) whose
 * first position is @p origin (> 0; tests start near a reference wrap
 * point).  Returns 0 or -ENOMEM.  Cold path.
 */
int dpc_log_init(struct dpc_log *l, uint64_t cap, uint64_t seg, uint64_t reserve, bool huge,
		 uint64_t origin);
/** Unmap (a zeroed or failed log is fine). */
void dpc_log_fini(struct dpc_log *l);

/* pos % cap without a divide: q = pos * ceil(2^64 / cap) >> 64 is pos / cap
 * or one more (the error term pos * (cap_inv - 2^64 / cap) / 2^64 is below
 * 1 for any pos < 2^64); fix up once. */
static inline uint64_t dpc_log_off(const struct dpc_log *l, uint64_t pos)
{
	uint64_t q = (uint64_t)(((unsigned __int128)pos * l->cap_inv) >> 64);
	uint64_t r = pos - q * l->cap;

	return (int64_t)r < 0 ? r + l->cap : r;
}

static inline void *dpc_log_at(const struct dpc_log *l, uint64_t pos)
{
	return l->mem + dpc_log_off(l, pos);
}

/** Bytes an append of @p size would take at the tail now (padding included). */
static inline uint64_t dpc_log_need(const struct dpc_log *l, uint32_t size)
{
	uint64_t off = dpc_log_off(l, l->t);

	return (off + size > l->cap ? l->cap - off : 0) + size;
}

/** Owner: true if @p size bytes fit between tail and head, the reserve kept free. */
static inline bool dpc_log_fits(const struct dpc_log *l, uint32_t size)
{
	return l->t + dpc_log_need(l, size) - l->h <= l->cap - l->reserve;
}

/** Owner: the oldest position is padding: move the head to the ring end. */
static inline void dpc_log_skip_pad(struct dpc_log *l)
{
	l->h += l->cap - dpc_log_off(l, l->h);
}

/**
 * Owner: reserve @p size bytes at the tail (padding to the ring end first
 * if the record would wrap); *@p pos receives its position.  Does not
 * evict (dpc_log_fits() first).  Returns false if that memory still waits
 * for a grace period.  The record is not visible to anyone until the
 * caller publishes it (dpc_log_publish() and an index store).
 */
bool dpc_log_append(struct dpc_log *l, uint32_t size, uint64_t *pos);

/** Owner: publish the tail after an append (flushers read it). */
static inline void dpc_log_publish(struct dpc_log *l)
{
	/* Release: flushers that read the tail see the records below it complete. */
	atomic_store_explicit(&l->t_pub, l->t, memory_order_release);
}

/**
 * Owner: if the head crossed a segment boundary since the last call,
 * publish it and ask the reclaimer for a grace period.  Two stores, never
 * waits.
 */
void dpc_log_retire(struct dpc_log *l);

/**
 * Any thread: the lowest position a reader may use (head or flush horizon,
 * whichever is higher).
 */
static inline uint64_t dpc_log_valid_from(const struct dpc_log *l)
{
	/* Acquire: both are published by release stores; a position at or above
	 * them refers to memory not yet retired. */
	uint64_t h = atomic_load_explicit(&l->h_pub, memory_order_acquire);
	uint64_t f = atomic_load_explicit(&l->flush_pos, memory_order_acquire);

	return h > f ? h : f;
}

/** Owner: the lowest live position (owner's head or flush horizon). */
static inline uint64_t dpc_log_owner_from(const struct dpc_log *l)
{
	/* Acquire: pairs with the flusher's release (dpc_log_flush()). */
	uint64_t f = atomic_load_explicit(&l->flush_pos, memory_order_acquire);

	return f > l->h ? f : l->h;
}

/**
 * Any thread: raise the flush horizon to the published tail: every record
 * appended so far is invalid.  CAS-max because several may race (cold).
 * A flusher that races with copies of old records announces itself first
 * (the partition's flush_seq, store_internal.h).
 */
void dpc_log_flush(struct dpc_log *l);

/* ---- reclaimer ------------------------------------------------------------ */

#define DPC_RECLAIM_LOGS_MAX 128u
/* The interval's default and bounds: DPC_RECLAIM_INTERVAL_*_US (dpcache/store.h). */
/** The shortest nap, however fast a tail moves: at most 1e6 / this wake-ups a second. */
#define DPC_RECLAIM_NAP_MIN_US 10u
/**
 * Holes alone (no retire request pending, no owner refused) start a grace
 * period only once they have waited this many intervals; any grace period
 * covers every hole pending at its start.  A hole that waits only means that
 * writes meanwhile append at the tail; a grace period costs the readers'
 * CPU a futex wake and, where the reclaimer shares it, a few context switches.
 */
#define DPC_RECLAIM_HOLE_NAPS 8u

/**
 * One thread per cache that turns retire requests (log heads, reuse.h's
 * holes) into reclaim horizons, batching them: each wake-up it collects the
 * requests of every log, runs at most one grace period for all of them,
 * publishes the horizons, then naps.  The nap is the interval, shortened
 * when a log's tail, at the rate it moved since the last wake-up, would
 * use more than half of the room it has left before that log's horizon
 * (rc + cap) by the next one; when a tail is already within half its
 * reserve of its horizon, the next grace period follows at once, without
 * a nap; and when an owner had an append refused for want of reclaimed
 * space (`starved`) during a nap, the naps shrink (a quarter each time; a
 * stalled tail's rate says nothing of what its writer wants) and then grow
 * back, doubling per wake-up without a refusal, up to the interval.  So a busy owner pays
 * for at most one grace period per interval (one futex wake from its
 * quiescent state, and the reclaimer's wake-ups on its CPU when they
 * share one), one per DPC_RECLAIM_HOLE_NAPS intervals when only holes wait
 * (overwrites whose head does not move), and an idle cache costs
 * 1e6 / interval wake-ups a second.
 */
struct dpc_reclaimer {
	struct dpc_log *logs[DPC_RECLAIM_LOGS_MAX];
	unsigned nlogs;
	pthread_t thread;
	bool started;
	_Atomic bool stop;
	_Atomic uint32_t interval_us;     /* any thread writes (relaxed), the reclaimer reads */
	/* Written by the reclaimer thread only (relaxed load + store), read relaxed by anyone. */
	_Atomic uint64_t wakeups dpc_cache_aligned;
	_Atomic uint64_t grace_periods;
};

/**
 * Start the thread for the @p r->nlogs logs in @p r->logs, with the
 * interval @p interval_us (0: DPC_RECLAIM_INTERVAL_DEFAULT_US; clamped to
 * the bounds).  The thread is not a QSBR reader (it waits for grace
 * periods).  Returns 0 or -EAGAIN.
 */
int dpc_reclaimer_start(struct dpc_reclaimer *r, uint32_t interval_us);
/**
 * Stop and join it (not started: no-op).  The caller, if a registered QSBR
 * reader, goes offline while joining (the thread may be waiting for it).
 * Waits at most one nap (<= the interval) plus a grace period.
 */
void dpc_reclaimer_stop(struct dpc_reclaimer *r);
/**
 * Any thread: the interval from the next nap on (0: the default; clamped
 * to the bounds).  Relaxed store.
 */
void dpc_reclaimer_set_interval(struct dpc_reclaimer *r, uint32_t interval_us);

#endif /* DPCACHE_LOG_H */
