/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file ctl.h
 * The local control channel between dpcached (dataplane/ctl_server.c) and
 * dpcachectl (control/): where the socket lives, and the wire format.
 *
 * Transport: a Unix stream socket, DPC_CTL_SOCK_NAME inside DPDK's runtime
 * directory of the instance (`/var/run/dpdk/<name>/` for root, where
 * <name> is dpcached's `name` setting = its EAL --file-prefix).  Local
 * only: nothing is reachable from the network.  Access is governed by the
 * directory's permissions (EAL creates it 0700).
 *
 * One request per connection: the client sends one line (at most
 * DPC_CTL_REQ_MAX bytes, '\n'-terminated), the server answers and closes.
 *   ping | version | stats | config get [KEY] | config set KEY VALUE | flush [DELAY]
 * The answer is text lines: first `OK` or `ERR <message>`, then zero or
 * more `<key> <value>` lines (key without blanks, value up to the end of
 * the line).  stats keys: `name`, `version`, `pid`, `uptime_s`,
 * `workers`, `partitions`, `w<i>.<counter>` (stats.h names) and
 * `p<i>.<field>` (DPC_CTL_STORE_STATS names).  config get keys: setting
 * names.  Unknown keys are ignored by clients (forward compatible).
 */
#ifndef DPCACHE_CTL_H
#define DPCACHE_CTL_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define DPC_CTL_SOCK_NAME "dpcache_ctl.sock"
#define DPC_CTL_REQ_MAX 512u
/** Largest answer a client accepts (64 workers x ~70 counters fits easily). */
#define DPC_CTL_REPLY_MAX (4u << 20)

/*
 * Store figures per partition (struct dpc_store_stats in store.h):
 * X(field, prometheus metric name, "counter"|"gauge", help).
 */
#define DPC_CTL_STORE_STATS(X) \
	X(items,             "dpcache_store_items",                  "gauge", \
	  "Live items in the partition's index") \
	X(bytes_used,        "dpcache_store_used_bytes",             "gauge", \
	  "Item memory in use") \
	X(bytes_limit,       "dpcache_store_limit_bytes",            "gauge", \
	  "Item memory budget") \
	X(index_slots,       "dpcache_store_index_slots",            "gauge", \
	  "Index capacity in slots") \
	X(evictions,         "dpcache_store_evictions_items_total",  "counter", \
	  "Live items evicted to make room") \
	X(reinserted,        "dpcache_store_reinserted_items_total", "counter", \
	  "CLOCK second chances given") \
	X(expired_reclaimed, "dpcache_store_expired_items_total",    "counter", \
	  "Expired items whose memory was reclaimed") \
	X(index_evictions,   "dpcache_store_index_evictions_items_total", "counter", \
	  "Items dropped because both buckets and the cuckoo path were full") \
	X(nospace,           "dpcache_store_nospace_requests_total", "counter", \
	  "Writes refused for lack of memory (transient)") \
	X(flushes,           "dpcache_store_flushes_total",          "counter", \
	  "flush_all requests applied") \
	/* engine: index and eviction internals */ \
	X(index_moves,       "dpcache_store_index_moves_total",      "counter", \
	  "Cuckoo moves: index entries moved to their other bucket to make room") \
	X(small_to_main,     "dpcache_store_small_to_main_items_total", "counter", \
	  "S3-FIFO: items read while in the small FIFO, moved to the main FIFO") \
	X(ghost_hits,        "dpcache_store_ghost_hits_total",       "counter", \
	  "S3-FIFO: writes of keys found in the ghost, placed in the main FIFO")

/**
 * Where instance @p name's control socket is, computed the way DPDK 22.11
 * computes its runtime directory (eal_create_runtime_dir): $RUNTIME_DIRECTORY,
 * else /var/run for root, else $XDG_RUNTIME_DIR, else /tmp; then
 * `/dpdk/<name>/` DPC_CTL_SOCK_NAME.  Returns 0, or -ENAMETOOLONG.
 */
static inline int dpc_ctl_socket_path(const char *name, char *buf, size_t len)
{
	const char *dir = getenv("RUNTIME_DIRECTORY");
	int n;

	if (dir == NULL) {
		if (getuid() == 0)
			dir = "/var/run";
		else
			dir = getenv("XDG_RUNTIME_DIR") ? getenv("XDG_RUNTIME_DIR") : "/tmp";
	}
	n = snprintf(buf, len, "%s/dpdk/%s/%s", dir, name, DPC_CTL_SOCK_NAME);
	return (n < 0 || (size_t)n >= len) ? -ENAMETOOLONG : 0;
}

#endif /* DPCACHE_CTL_H */
