/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file store_internal.h
 * Private to the engine: the layout of a cache, its partitions and items
 * (see docs/design.md, "The table and the store").
 *
 * Item memory of a partition is a circular log of `cap` bytes addressed by
 * a 64-bit logical position that only grows: physical = pos % cap.  Items
 * are appended at the tail T and are immutable once published (only
 * exptime changes, atomically, and readers may set the accessed bit).  The
 * head H is the oldest position still in use; eviction advances it.  Memory
 * below H is reused only once a QSBR grace period has passed since H moved
 * past it: per segment crossed, the owner publishes a retire request (one
 * release store, no syscall); the cache's reclaimer thread polls the
 * requests, runs urcu_qsbr_synchronize_rcu() and then publishes the reclaim
 * horizon `rc` (release).  The tail may write position x only if
 * x < rc + cap.  The owner never waits: if the horizon lags, a write gets
 * DPC_NOSPACE (counted); the reserve makes that rare.
 */
#ifndef DPCACHE_STORE_INTERNAL_H
#define DPCACHE_STORE_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <urcu/urcu-qsbr.h>

#include "dpcache/store.h"
#include "table.h"

/*
 * Item header, 12 bytes, 4-byte aligned, followed by key and value bytes and
 * padding to 4.  w0 = klen (bits 0..7) | vlen (bits 8..29) | accessed (bit
 * 31).  The owner writes w0 once before publishing; afterwards readers may
 * only set the accessed bit, with a relaxed store of the same word, and
 * only under CLOCK.  klen == 0 marks padding up to the end of the ring.
 */
struct dpc_item {
	_Atomic uint32_t w0;
	uint32_t flags;
	_Atomic uint32_t exptime;   /* absolute unix seconds, 0 = never */
	uint8_t data[];             /* key, then value */
};

/* 12 bytes: part of the <= 24 bytes/item metadata budget (with ~10 bytes of
 * index slot share at 90 % load and ~1.5 bytes of padding on average). */
static_assert(sizeof(struct dpc_item) == 12, "item header is 12 bytes");

#define DPC_ITEM_ACC     (1u << 31)
#define DPC_ITEM_VSHIFT  8u
#define DPC_ITEM_VMASK   ((1u << 22) - 1)   /* values up to 4 MiB - 1 */

/* Owner-written counters, read relaxed by anyone (no atomic RMW). */
struct dpc_part_ctrs {
	_Atomic uint64_t items, item_bytes, kv_bytes;
	_Atomic uint64_t evictions, reinserted, expired, index_ev, nospace;
};

struct dpc_part {
	/* Read-only after create. */
	struct dpc_table tbl;
	uint8_t *log;
	uint64_t cap;             /* log bytes, a multiple of seg */
	uint64_t cap_inv;         /* ceil(2^64 / cap), for ring_off() */
	size_t log_map;           /* mapping size */
	struct dpc_cache *c;
	unsigned idx;
	bool clock;               /* readers set accessed bits, eviction reinserts */

	/* Read by every reader, written rarely (head: once per segment). */
	_Atomic uint64_t h_pub dpc_cache_aligned;
	_Atomic uint64_t flush_pos;       /* positions below are flushed */
	_Atomic uint32_t flush_at;        /* pending delayed flush (unix s), 0 = none */

	/* Tail, published by the owner after each write, read by flushers. */
	_Atomic uint64_t t_pub dpc_cache_aligned;
	_Atomic uint64_t flushes;         /* flush requests (any thread, atomic add: cold) */

	/* Retire request (owner) and reclaim horizon (reclaimer thread). */
	_Atomic uint64_t retire_req dpc_cache_aligned;
	_Atomic uint64_t rc;

	/* Owner-private. */
	uint64_t h dpc_cache_aligned;
	uint64_t t;
	uint64_t seg;                     /* power of two */
	uint64_t reserve;                 /* bytes kept free for grace-period lag */
	uint64_t last_retire;
	uint64_t poisoned;                /* debug: reclaimed memory poisoned below this */
	uint32_t sweep;                   /* maintain(): next bucket to sweep */
	bool has_ttl;                     /* an item with an expiry was ever written: only then
					   * does sweep() read item headers */

	struct dpc_part_ctrs ctr dpc_cache_aligned;
};

struct dpc_cache {
	unsigned nparts;
	uint32_t max_value;
	uint32_t max_item;                /* header + 250 + max_value, aligned */
	enum dpc_evict_policy policy;
	pthread_t reclaimer;
	bool reclaimer_started;
	_Atomic bool stop;
	_Atomic uint32_t now dpc_cache_aligned;
	struct dpc_part *parts[DPC_MAX_PARTS] dpc_cache_aligned;
};

#endif /* DPCACHE_STORE_INTERNAL_H */
