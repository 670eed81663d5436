/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file ctl.h
 * The local control channel between dpcached (dataplane/ctl_server.c) and
 * dpcachectl (control/): where the socket lives, and the wire format.
 *
 * Transport: a Unix stream socket, DPC_CTL_SOCK_NAME in a directory of
 * dpcached's own (dpc_ctl_dir_for() in ctlproto.h): `/run/dpcache/<name>/`
 * when dpcached runs as root, where <name> is its `name` setting.
 * Local only: nothing is reachable from the network.  Access: the
 * directory is mode 0710 with group `ctl_group`, the socket 0660 with the
 * same group (created with that mode: umask before bind), and every peer is
 * checked with SO_PEERCRED (dpc_ctl_peer_allowed()): root, dpcached's own
 * user, or a member of `ctl_group`; anybody else gets
 * `ERR permission denied ...` and the connection is closed.
 *
 * One request per connection: the client sends one line (at most
 * DPC_CTL_REQ_MAX bytes, '\n'-terminated, printable ASCII), the server
 * answers and closes.
 *   ping | version | stats | config get [KEY] | config set KEY VALUE | flush [DELAY]
 * The answer is text lines: first `OK` or `ERR <message>`, then zero or
 * more `<key> <value>` lines (key without blanks, value up to the end of
 * the line).  Any other bytes (a NUL, control bytes, no newline before the
 * peer stops sending, an over-long line, nothing within the deadline) get
 * an `ERR` answer; the server never waits on one client: it serves up to
 * `ctl_max_clients` connections at once, each closed `ctl_timeout_ms`
 * after it was accepted at the latest.
 *
 * stats keys: `name`, `version`, `pid`, `uptime_s`, `workers`,
 * `partitions`, `w<i>.<counter>` (stats.h names), `p<i>.<field>`
 * (DPC_CTL_STORE_STATS names) and `ctl.<counter>` (DPC_CTL_CHAN_STATS
 * names).  config get keys: setting names.  Unknown keys are ignored by
 * clients (forward compatible).
 */
#ifndef DPCACHE_CTL_H
#define DPCACHE_CTL_H

#include <stddef.h>

#include "dpcache/connsrv.h"
#include "dpcache/ctlproto.h"

#define DPC_CTL_SOCK_NAME "dpcache_ctl.sock"
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
	  "S3-FIFO: writes of keys found in the ghost, placed in the main FIFO") \
	/* memory efficiency: how much of the log holds live items */ \
	X(log_bytes,         "dpcache_store_log_bytes",              "gauge", \
	  "Item memory (the logs), live or not") \
	X(live_fraction_bp,  "dpcache_store_live_fraction_bp",       "gauge", \
	  "Live fraction of the log: live item bytes / log bytes, in basis points (10000 = 100 %)") \
	X(hole_bytes,        "dpcache_store_hole_bytes",             "gauge", \
	  "Dead bytes in the log recorded for reuse (waiting for a grace period, or ready)") \
	X(holes_reused,      "dpcache_store_holes_reused_total",     "counter", \
	  "Writes that went into the dead space of an older item instead of the log's tail") \
	X(flags_values,      "dpcache_store_flags_values",           "gauge", \
	  "Distinct client-flags values in the partitions' tables (15 each at most)") \
	X(flags_words,       "dpcache_store_flags_words_total",      "counter", \
	  "Writes whose client flags found their partition's table full: 4 more bytes each") \
	/* perf: the cache's reclaimer thread (one per cache, counted in partition 0) */ \
	X(reclaim_wakeups,   "dpcache_store_reclaim_wakeups_total",  "counter", \
	  "Times the cache's reclaimer thread woke up (reclaim_interval_us paces it)") \
	X(reclaim_grace_periods, "dpcache_store_reclaim_grace_periods_total", "counter", \
	  "QSBR grace periods the reclaimer waited for (one per wake-up with retired memory)")

/*
 * The control channel's own counters, X(name, help): the server loop's
 * (connsrv.h) and the protocol's.  Printed as `ctl.<name>` in stats, as
 * dpcache_ctl_<name>_total in Prometheus.
 */
#define DPC_CTL_CHAN_STATS(X) \
	DPC_SRV_STATS(X) \
	X(refused_peer, "Connections refused: peer not root, not dpcached's user, not in ctl_group") \
	X(errors,       "Requests answered with ERR (malformed, unknown, refused)")

enum {
#define DPC_X_CHAN_N(name, help) +1
	DPC_CTL_CHAN_N = 0 DPC_CTL_CHAN_STATS(DPC_X_CHAN_N)
#undef DPC_X_CHAN_N
};

/**
 * Where a client finds instance @p name's control socket: the root
 * server's path (`/run/dpcache/<name>/` DPC_CTL_SOCK_NAME) when the caller
 * is root or that directory exists, else the path a server running as the
 * caller would use (dpc_ctl_dir_for()).  Returns 0, -EINVAL (bad name) or
 * -ENAMETOOLONG.
 */
int dpc_ctl_socket_path(const char *name, char *buf, size_t len);

#endif /* DPCACHE_CTL_H */
