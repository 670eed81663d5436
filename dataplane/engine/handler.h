/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file handler.h
 * The memcached request handler: turns the payload of one UDP datagram
 * (after the 8-byte frame header) into the response byte stream, against
 * the cache.  DPDK-free so that it is unit-tested and fuzzed without EAL.
 * Two codecs, chosen per datagram as memcached does: a payload starting
 * with the binary magic 0x80 is binary protocol (proto.h); one starting
 * with printable ASCII or white space is the text protocol (textproto.h);
 * anything else goes to the binary codec and is dropped as bad magic.
 *
 * Files, one concern each:
 *   handler.c     parse once into a dpc_dgram, routing, prefetch, dispatch
 *   proto_bin.c   the binary protocol (batched multi-get, writes, errors)
 *   proto_text.c  the text protocol
 *   proto_stats.c STAT / "stats" groups, for both protocols
 *
 * Use over a burst (dataplane/worker.c): dpc_handler_parse() every
 * datagram once; dpc_handler_route() says where it runs; then
 * dpc_handler_prefetch() over the burst, dpc_handler_prefetch_item() over
 * the burst, dpc_handler_process_dgram() for each.  All three stages read
 * the one descriptor: the framing is parsed by one parser (dpc_mc_parse()
 * or dpc_txt_parse()) and each key of the first DPC_DGRAM_HASHES is
 * hashed once, in dpc_handler_parse().
 *
 * Ownership: a datagram whose requests write to partition p must be
 * processed by p's owner (dpc_handler_route() says which); reads are
 * served by whichever worker runs the handler.
 */
#ifndef DPCACHE_HANDLER_H
#define DPCACHE_HANDLER_H

#include <stdbool.h>
#include <stdint.h>

#include "dpcache/lat.h"
#include "dpcache/proto.h"
#include "dpcache/stats.h"
#include "dpcache/store.h"
#include "dpcache/textproto.h"
#include "dpcache/wr.h"

/** Per-worker handler context.  One per worker thread; never shared. */
struct dpc_handler {
	struct dpc_cache *cache;
	unsigned part;                     /**< partition this worker owns */
	uint32_t max_value;                /**< from config */
	struct dpc_worker_stats *stats;    /**< this worker's counters */
	/** All workers' counters, for the STAT opcode (read relaxed). */
	struct dpc_worker_stats *const *all_stats;
	/** All workers' in-server latency histograms (lat.h), for STAT; NULL: none. */
	struct dpc_hist *const *all_lat;
	unsigned nworkers;
	/** Entries of all_stats: the workers', then the TCP and exception threads'; 0: nworkers. */
	unsigned nstats;
	const char *version;               /**< VERSION reply; NULL: DPC_MC_VERSION */
	/**
	 * Set per datagram by the glue: its source is not in `admin`, so
	 * flush (binary FLUSH/FLUSHQ, text flush_all), stats reset and
	 * verbosity are refused (binary AUTH_ERROR, text CLIENT_ERROR; counted
	 * in refused_admin).  false (zeroed): everything is allowed.
	 */
	bool admin_denied;
};

/** dpc_handler_route(): process here, or forward to the owner. */
#define DPC_ROUTE_HERE (-1)

/**
 * The codec of a datagram, from its first byte: text if it is printable
 * ASCII or white space (memcached reads any non-binary datagram as text;
 * other bytes, binary junk or a reflected response, are left to the binary
 * codec, which drops them as bad magic: docs/design.md).
 */
static inline bool dpc_dgram_is_text(uint8_t first)
{
	return (first >= 0x20 && first <= 0x7e) || (first >= '\t' && first <= '\r');
}

/** Keys per datagram whose hash dpc_handler_parse() keeps (later ones are hashed when used). */
#define DPC_DGRAM_HASHES 8u

enum dpc_dgram_proto { DPC_DGRAM_BIN, DPC_DGRAM_TEXT };

/**
 * One datagram, parsed once (dpc_handler_parse()): its codec, its first
 * request, where it must run, and the hashes of its first keys in
 * datagram order (a binary request has at most one key; a text get/gat
 * counts each key of its list).  Lives on the caller's stack, one per
 * datagram of a burst; points into the payload, which must outlive it.
 */
struct dpc_dgram {
	const uint8_t *payload;
	uint32_t len;
	uint8_t proto;          /**< enum dpc_dgram_proto */
	uint8_t nhash;          /**< valid entries of hash[] */
	int16_t route;          /**< DPC_ROUTE_HERE or the owner partition */
	int first;              /**< parser result for the first request (> 0 bytes, or < 0) */
	union {
		struct dpc_mc_req bin;
		struct dpc_txt_req txt;
	} req;                  /**< the first request, when first > 0 */
	uint64_t hash[DPC_DGRAM_HASHES];
};

/**
 * Parse a datagram's payload into @p d: the first request in full, the
 * hashes of its first DPC_DGRAM_HASHES keys and, when @p route is true
 * and the cache has several partitions, the owner it must run on (this
 * walks every request, with the same parser that processing uses).
 * Never fails: what is malformed is answered or counted when processed.
 * Any thread; reads @p h only.
 */
void dpc_handler_parse(const struct dpc_handler *h, const uint8_t *payload, size_t len, bool route,
		       struct dpc_dgram *d);

/**
 * Where @p d must be processed: DPC_ROUTE_HERE if it writes no partition
 * other than h->part (or was parsed with route false), else the partition
 * that owns its first foreign write (the glue forwards the datagram to
 * that owner).  Writes in the same datagram to a third partition are
 * answered with DPC_MC_ETMPFAIL by the owner (documented in docs/design.md).
 */
static inline int dpc_handler_route(const struct dpc_dgram *d)
{
	return d->route;
}

/** Stage 1 of a burst: prefetch the bucket of @p d's first key (no-op without one). */
void dpc_handler_prefetch(const struct dpc_handler *h, const struct dpc_dgram *d);

/**
 * Stage 2, after dpc_handler_prefetch() on the whole burst: prefetch the
 * item of the first key (dpc_cache_prefetch_item()), so that the item
 * misses of a burst overlap instead of being taken one datagram at a time.
 */
void dpc_handler_prefetch_item(const struct dpc_handler *h, const struct dpc_dgram *d);

/**
 * Process every request of @p d, appending responses to @p w.
 * Returns 0 (response complete, possibly empty: quiet requests only), or
 * a negative errno: the writer's own (its next() result, passed through:
 * -ENOMEM, the glue's -E2BIG for a response over its datagram cap; drop
 * the response) or -EBADMSG (datagram dropped: bad magic / truncated
 * before any response; counted in stats).  Requests before a malformed
 * one are still answered.
 * The worker that owns h (h->part) only; reads run concurrently with
 * other workers' writes (store.h).
 */
int dpc_handler_process_dgram(struct dpc_handler *h, const struct dpc_dgram *d, struct dpc_wr *w);

/**
 * The one answer to @p d when its response would not fit the glue's cap
 * (max_response_datagrams), written to a fresh @p w instead of the whole
 * response: binary, E2BIG ("Too large.") for the datagram's first request
 * (its opcode and opaque, quiet or not); text, "SERVER_ERROR response too
 * large".  Nothing for a binary datagram without a whole first header.
 * Returns 0 or the writer's error.  Same thread rules as processing.
 */
int dpc_handler_too_large(struct dpc_handler *h, const struct dpc_dgram *d, struct dpc_wr *w);

/**
 * dpc_handler_parse() (no routing) then dpc_handler_process_dgram(): for
 * callers that take datagrams one at a time (tests, fuzzers, TCP).
 * Same results; -EINVAL for a NULL argument in debug builds.
 */
int dpc_handler_process(struct dpc_handler *h, const uint8_t *payload, size_t len,
			struct dpc_wr *w);

#endif /* DPCACHE_HANDLER_H */
