/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file handler.h
 * The memcached request handler: turns the payload of one UDP datagram
 * (after the 8-byte frame header) into the response byte stream, against
 * the cache.  DPDK-free so that it is unit-tested and fuzzed without EAL.
 * Two codecs, chosen per datagram as memcached does: a payload starting
 * with the binary magic 0x80 is binary protocol; one starting with a
 * lowercase letter is the text protocol (textproto.h); anything else is
 * dropped as bad magic.
 *
 * Ownership: a datagram whose requests write to partition p must be
 * processed by p's owner (dpc_handler_route() says which); reads are
 * served by whichever worker runs the handler.
 */
#ifndef DPCACHE_HANDLER_H
#define DPCACHE_HANDLER_H

#include <stdint.h>

#include "dpcache/proto.h"
#include "dpcache/stats.h"
#include "dpcache/store.h"
#include "dpcache/wr.h"

/** Per-worker handler context.  One per worker thread; never shared. */
struct dpc_handler {
	struct dpc_cache *cache;
	unsigned part;                     /**< partition this worker owns */
	uint32_t max_value;                /**< from config */
	struct dpc_worker_stats *stats;    /**< this worker's counters */
	/** All workers' counters, for the STAT opcode (read relaxed). */
	struct dpc_worker_stats *const *all_stats;
	unsigned nworkers;
	const char *version;               /**< VERSION reply, e.g. "1.6.21-dpcache-0.1" */
};

/** dpc_handler_route(): process here, or forward to the owner. */
#define DPC_ROUTE_HERE (-1)

/**
 * Decide where a datagram must be processed.  Returns DPC_ROUTE_HERE if
 * it writes no partition other than h->part, else the partition that owns
 * its first foreign write (the glue forwards the datagram to that owner).
 * Writes in the same datagram to a third partition are answered with
 * DPC_MC_ETMPFAIL by the owner (documented in docs/design.md).
 * Cheap: parses headers only.
 */
int dpc_handler_route(const struct dpc_handler *h, const uint8_t *payload, size_t len);

/**
 * Process every request in @p payload, appending responses to @p w.
 * Returns 0 (response complete, possibly empty: quiet requests only), or
 * a negative errno: -ENOMEM (writer could not grow: drop the response) or
 * -EBADMSG (datagram dropped: bad magic / truncated before any response;
 * counted in stats).  Requests before a malformed one are still answered.
 */
int dpc_handler_process(struct dpc_handler *h, const uint8_t *payload, size_t len,
			struct dpc_wr *w);

/** Stage-1 helper for batching across a burst: hash the first key and prefetch its bucket. */
void dpc_handler_prefetch(const struct dpc_handler *h, const uint8_t *payload, size_t len);

/**
 * Stage-2 helper, after dpc_handler_prefetch() on the whole burst: prefetch
 * the item of the first key (dpc_cache_prefetch_item()), so that the item
 * misses of a burst overlap instead of being taken one datagram at a time.
 */
void dpc_handler_prefetch_item(const struct dpc_handler *h, const uint8_t *payload, size_t len);

#endif /* DPCACHE_HANDLER_H */
