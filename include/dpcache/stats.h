/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file stats.h
 * Per-worker counters, defined once: the X-macro list below
 * generates the struct, reset, aggregation, names, help texts and units
 * printed by dpcachectl, the STAT opcode and the Prometheus endpoint.
 *
 * Single writer: each worker owns its struct (cache-line aligned).  One
 * idiom, C11 atomics: the owner updates a counter with a relaxed load and
 * a relaxed store (dpc_stat_add, dpc_stat_set: plain moves on x86, no
 * read-modify-write), readers on other threads load it relaxed
 * (dpc_stats_read, dpc_stat_get).  No locks, no LOCK-prefixed atomics on
 * counters: never write `st->field += n` (on an _Atomic that is a LOCK'd
 * RMW), use the macros.
 */
#ifndef DPCACHE_STATS_H
#define DPCACHE_STATS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "dpcache/common.h"
#include "dpcache/pkt.h"

/* A packet-kind drop (pkt.h DPC_PKT_DROPS) as a counter of the list below. */
#define DPC_X_PKT_DROP_STAT(X, kind, name, help) X(name, "packets", "Dropped: " help)
/* A reassembly drop reason (pkt.h DPC_PKT_REASM_DROPS) as a counter. */
#define DPC_X_REASM_DROP_STAT(X, kind, name, help) X(name, "datagrams", "Reassembly given up: " help)

/* X(name, unit, help).  Add new counters at the end of a group. */
#define DPC_WORKER_STATS(X) \
	X(rx_packets,      "packets",  "Frames received on this worker's queue") \
	X(tx_packets,      "packets",  "Frames transmitted") \
	X(rx_bytes,        "bytes",    "Bytes received (frames)") \
	X(tx_bytes,        "bytes",    "Bytes transmitted (frames)") \
	X(arp_replies,     "packets",  "ARP requests answered") \
	X(icmp_echo,       "packets",  "ICMP echo requests answered") \
	X(requests,        "requests", "memcached requests processed") \
	X(cmd_get,         "requests", "GET/GETQ/GETK/GETKQ requests") \
	X(cmd_set,         "requests", "SET/SETQ requests") \
	X(cmd_add,         "requests", "ADD/ADDQ requests") \
	X(cmd_replace,     "requests", "REPLACE/REPLACEQ requests") \
	X(cmd_append,      "requests", "APPEND/APPENDQ requests") \
	X(cmd_prepend,     "requests", "PREPEND/PREPENDQ requests") \
	X(cmd_delete,      "requests", "DELETE/DELETEQ requests") \
	X(cmd_incr,        "requests", "INCREMENT/INCREMENTQ requests") \
	X(cmd_decr,        "requests", "DECREMENT/DECREMENTQ requests") \
	X(cmd_touch,       "requests", "TOUCH requests") \
	X(cmd_gat,         "requests", "GAT/GATQ/GATK/GATKQ requests") \
	X(cmd_noop,        "requests", "NOOP requests") \
	X(cmd_version,     "requests", "VERSION requests") \
	X(cmd_flush,       "requests", "FLUSH/FLUSHQ requests") \
	X(cmd_stat,        "requests", "STAT requests") \
	X(cmd_quit,        "requests", "QUIT/QUITQ requests (no-op over UDP)") \
	X(cmd_unknown,     "requests", "Requests with an unknown opcode") \
	X(get_hits,        "requests", "GETs (and GATs) that found the key") \
	X(get_misses,      "requests", "GETs (and GATs) that did not find the key") \
	X(cas_mismatch,    "requests", "Writes refused because the CAS did not match") \
	X(incr_misses,     "requests", "INCR on a missing key with no initial value") \
	X(errors_inval,    "requests", "Requests answered with Invalid arguments") \
	X(errors_too_large,"requests", "Requests answered with Value too large") \
	X(errors_nospace,  "requests", "Writes refused for lack of memory (transient)") \
	/* protocol: per-command outcomes, as memcached's STAT names them */ \
	X(delete_hits,     "requests", "DELETEs that removed an item") \
	X(delete_misses,   "requests", "DELETEs of a missing key") \
	X(incr_hits,       "requests", "INCRs of an existing item") \
	X(decr_hits,       "requests", "DECRs of an existing item") \
	X(decr_misses,     "requests", "DECR on a missing key with no initial value") \
	X(cas_hits,        "requests", "CAS writes that matched and stored") \
	X(cas_misses,      "requests", "CAS writes to a missing key") \
	X(touch_hits,      "requests", "TOUCH/GAT requests that found the key") \
	X(touch_misses,    "requests", "TOUCH/GAT requests that did not find the key") \
	X(total_items,     "items",    "Items stored (successful storage commands)") \
	X(forwarded_out,   "packets",  "Datagrams handed to the owner worker's ring") \
	X(forwarded_in,    "packets",  "Datagrams received from other workers' rings") \
	X(resp_datagrams,  "packets",  "Response datagrams sent") \
	X(resp_multi,      "responses","Responses split over more than one datagram") \
	X(resp_in_place,   "responses","Responses whose first datagram went out in the request's own mbuf") \
	DPC_PKT_DROPS(DPC_X_PKT_DROP_STAT, X) \
	X(drop_frame_short,"packets",  "Dropped: UDP payload shorter than the memcached frame header") \
	X(drop_frame_multi,"packets",  "Dropped: request spread over several datagrams (total != 1)") \
	X(drop_bad_magic,  "packets",  "Dropped: datagram (rest) not starting with the request magic") \
	X(drop_truncated,  "packets",  "Dropped: datagram (rest) holding a truncated request") \
	X(drop_ring_full,  "packets",  "Dropped: owner worker's ring full") \
	X(drop_tx_full,    "packets",  "Dropped: TX queue refused the frame after retries") \
	X(drop_nombuf,     "packets",  "Dropped: no mbuf for the response") \
	/* exposure (dataplane/guard.c): responses refused to a source, requests refused */ \
	X(drop_amplification, "responses", \
	  "Dropped: response over amp_factor x the bytes received from an untrusted source") \
	X(drop_src_rate,   "responses", \
	  "Dropped: response over the source's rate bucket (src_rate, trusted_rate)") \
	X(refused_admin,   "requests", \
	  "Admin commands (flush, stats reset, verbosity) refused: source not in admin") \
	X(evictions,       "items",    "Live items evicted to make room") \
	X(poll_loops,      "loops",    "Poll-loop iterations") \
	X(poll_busy,       "loops",    "Poll-loop iterations that received packets") \
	X(poll_cycles,     "cycles",   "TSC cycles spent in busy poll-loop iterations") \
	X(idle_sleeps,     "sleeps",   "Idle back-off sleeps (idle_sleep_us) taken by the worker") \
	/* IPv4 reassembly (dataplane/engine/reasm.c) */ \
	X(frag_in,         "packets",  "IPv4 fragments taken in for reassembly") \
	X(reasm_done,      "datagrams","Datagrams reassembled from fragments") \
	DPC_PKT_REASM_DROPS(DPC_X_REASM_DROP_STAT, X) \
	/* TCP and the exception path (dataplane/tcp.c, exception.c); memcached's names first */ \
	X(total_connections,"connections","TCP connections accepted since start") \
	X(rejected_connections,"connections","TCP connections closed at accept: max_connections reached") \
	X(conn_refused,    "connections","TCP connections closed at accept: source not in allow") \
	X(conn_yields,     "events",   "Times a TCP connection yielded after reqs_per_event requests") \
	X(idle_kicks,      "connections","TCP connections closed after idle_timeout") \
	X(tcp_bytes_read,  "bytes",    "Bytes read from TCP connections (payload; frames are in rx_bytes)") \
	X(tcp_bytes_written,"bytes",   "Bytes written to TCP connections (payload; frames are in tx_bytes)") \
	X(conn_too_large,  "connections","TCP connections closed for a request over tcp_request_max") \
	X(tcp_jobs,        "jobs",     "TCP write batches handed to the owner worker") \
	X(tcp_jobs_run,    "jobs",     "TCP write batches a worker ran for the TCP thread") \
	X(tcp_ring_full,   "jobs",     "TCP write batches retried: the owner's ring was full") \
	X(exc_to_kernel,   "packets",  "Frames passed to the kernel exception interface (TCP, ARP replies)") \
	X(exc_to_kernel_drops,"packets","Frames the exception interface refused (dropped)") \
	X(exc_from_kernel, "packets",  "Frames from the kernel exception interface sent out of the port") \
	X(exc_from_kernel_drops,"packets","Kernel frames dropped: the worker's ring was full") \
	/* fairness (dataplane/worker.c) */ \
	X(resp_over_cap,   "responses","Responses over max_response_datagrams, answered with an error") \
	X(resp_chunked,    "responses","Responses sent in chunks over several poll iterations") \
	X(drop_backlog,    "packets",  "Dropped: response datagrams that found the send backlog full") \
	/* forwarding rings (dataplane/worker.c): fragments to their reassembling worker */ \
	X(frag_forwarded,  "packets",  "IPv4 fragments handed to their datagram's reassembling worker") \
	X(drop_ring_share, "packets",  "Dropped: the source already holds its share of the owner's ring") \
	X(drop_ring_chains,"packets",  "Dropped: reassembled datagram over its share of the ring's mbufs") \
	/* exposure: responses stopped at the source's budget (dataplane/worker.c, guard.c) */ \
	X(resp_budget_cut, "responses","Responses stopped at the source's budget while being built") \
	DPC_WORKER_GAUGES(X)

/*
 * Gauges: values the owner overwrites (levels, not totals); after the
 * counters in the list, so that dpc_stat_is_gauge(i) is an index compare.
 * X(name, unit, help) as above.
 */
#define DPC_WORKER_GAUGES(X) \
	X(reasm_entries,   "datagrams","Datagrams in reassembly now (gauge)") \
	X(reasm_bytes,     "bytes",    "Buffer bytes held by fragments in reassembly now (gauge)") \
	X(curr_connections,"connections","Open TCP connections now (gauge, kept by the TCP thread)") \
	X(tx_backlog,      "packets",  "Response datagrams waiting in the send backlog now (gauge)")

struct dpc_worker_stats {
#define DPC_X_FIELD(name, unit, help) _Atomic uint64_t name;
	DPC_WORKER_STATS(DPC_X_FIELD)
#undef DPC_X_FIELD
} dpc_cache_aligned;

enum {
#define DPC_X_COUNT(name, unit, help) +1
	DPC_WORKER_STATS_N = 0 DPC_WORKER_STATS(DPC_X_COUNT)
#undef DPC_X_COUNT
};

enum {
#define DPC_X_COUNT(name, unit, help) +1
	DPC_WORKER_GAUGES_N = 0 DPC_WORKER_GAUGES(DPC_X_COUNT)
#undef DPC_X_COUNT
};

/** True if counter i (0..DPC_WORKER_STATS_N-1) is a gauge (a level, not a running total). */
static inline bool dpc_stat_is_gauge(unsigned i)
{
	return i >= DPC_WORKER_STATS_N - DPC_WORKER_GAUGES_N && i < DPC_WORKER_STATS_N;
}

/* Keep each worker's counters on lines of its own (no false sharing). */
static_assert(sizeof(struct dpc_worker_stats) % DPC_CACHE_LINE == 0, "stats must fill whole cache lines");

/** Owner-only increment: a relaxed load and a relaxed store, no atomic RMW. */
#define dpc_stat_add(st, field, n) \
	atomic_store_explicit(&(st)->field, \
			      atomic_load_explicit(&(st)->field, memory_order_relaxed) + (uint64_t)(n), \
			      memory_order_relaxed)
#define dpc_stat_inc(st, field) dpc_stat_add(st, field, 1)
/** Owner-only assignment (a figure mirrored from elsewhere), relaxed. */
#define dpc_stat_set(st, field, v) \
	atomic_store_explicit(&(st)->field, (uint64_t)(v), memory_order_relaxed)
/** Any thread: one counter, relaxed. */
#define dpc_stat_load(st, field) atomic_load_explicit(&(st)->field, memory_order_relaxed)

/**
 * Count a dropped frame under its kind's counter (generated from pkt.h's
 * DPC_PKT_DROPS).  Owner only, like dpc_stat_add.  A kind that is not a
 * drop counts nothing.
 */
static inline void dpc_stat_count_drop(struct dpc_worker_stats *st, enum dpc_pkt_kind k)
{
	switch (k) {
#define DPC_X_DROP_CASE(a, kind, name, help) case DPC_PKT_DROP_##kind: dpc_stat_inc(st, name); break;
	DPC_PKT_DROPS(DPC_X_DROP_CASE, )
#undef DPC_X_DROP_CASE
	default:
		break;
	}
}

/** Copy a worker's counters from another thread (relaxed 64-bit loads). */
static inline void dpc_stats_read(const struct dpc_worker_stats *src, struct dpc_worker_stats *dst)
{
#define DPC_X_READ(name, unit, help) dpc_stat_set(dst, name, dpc_stat_load(src, name));
	DPC_WORKER_STATS(DPC_X_READ)
#undef DPC_X_READ
}

static inline void dpc_stats_add_into(struct dpc_worker_stats *acc, const struct dpc_worker_stats *s)
{
#define DPC_X_ADD(name, unit, help) dpc_stat_add(acc, name, dpc_stat_load(s, name));
	DPC_WORKER_STATS(DPC_X_ADD)
#undef DPC_X_ADD
}

static inline void dpc_stats_reset(struct dpc_worker_stats *s)
{
#define DPC_X_ZERO(name, unit, help) dpc_stat_set(s, name, 0);
	DPC_WORKER_STATS(DPC_X_ZERO)
#undef DPC_X_ZERO
}

/** Names/units/help by index 0..DPC_WORKER_STATS_N-1 (lib/stats.c). */
extern const char *const dpc_stat_names[];
extern const char *const dpc_stat_units[];
extern const char *const dpc_stat_help[];
/** Counter i of @p s (same order as the names). */
uint64_t dpc_stat_get(const struct dpc_worker_stats *s, unsigned i);

#endif /* DPCACHE_STATS_H */
