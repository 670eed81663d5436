/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file config.h
 * dpcached's settings in one declarative table.  The table
 * drives the config file, dpcached's command-line flags, `dpcachectl
 * config get|set` and `--help`; nothing else lists settings.
 *
 * Config file format: one `name = value` per line, `#` comments, blank
 * lines ignored.  Flags: `--name=value` or `--name value`.
 * Sizes accept K, M, G suffixes (powers of 1024).
 *
 * Run-time changes: each setting is one naturally aligned word; a change
 * is validated first, then published with one atomic store, so a reader
 * (worker) sees the old or the new value, never a mix, and a rejected
 * change leaves the old value in force.
 */
#ifndef DPCACHE_CONFIG_H
#define DPCACHE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "dpcache/common.h"

struct dpc_acl;

enum dpc_cfg_type {
	DPC_CFG_U32,     /**< decimal, min..max */
	DPC_CFG_SIZE,    /**< bytes, with K/M/G suffix, min..max (uint64_t field) */
	DPC_CFG_IPV4,    /**< dotted quad, stored in network order (uint32_t field) */
	DPC_CFG_ENUM,    /**< one of the '|'-separated names; stored as index (uint32_t) */
	DPC_CFG_BOOL,    /**< yes/no/true/false/1/0/on/off (uint32_t 0/1) */
	DPC_CFG_STRING,  /**< up to DPC_CFG_STR_MAX-1 bytes, [A-Za-z0-9_.-] */
	DPC_CFG_PREFIXES, /**< IPv4 prefix list (acl.h): an immutable struct dpc_acl, swapped whole */
};
#define DPC_CFG_STR_MAX 64

/*
 * X(name, type, default, min, max, enum_values, runtime, help)
 * min/max: numeric bounds (U32, SIZE); enum_values: "a|b|c" for ENUM.
 */
#define DPC_CONFIG_SETTINGS(X) \
	X(name,         DPC_CFG_STRING, "dpcache",   0, 0, NULL, false, \
	  "Instance name: EAL's --file-prefix (unless given), and the directory /run/dpcache/<name>") \
	X(address,      DPC_CFG_IPV4,   "198.18.0.1", 0, 0, NULL, false, \
	  "IPv4 address dpcached answers for (ARP, ICMP echo, UDP)") \
	X(port,         DPC_CFG_U32,    "11211",     1, 65535, NULL, false, \
	  "First UDP port served; worker i also serves port+i (client-side partition steering)") \
	X(workers,      DPC_CFG_U32,    "1",         1, 64, NULL, false, \
	  "Worker lcores, one per RX/TX queue, each owning one table partition") \
	X(memory,       DPC_CFG_SIZE,   "256M",      (1u << 20), (1ull << 40), NULL, false, \
	  "Total cache memory (index, item logs, side tables), split evenly over the workers") \
	X(item_size_hint, DPC_CFG_U32,  "64",        16, 1048576, NULL, false, \
	  "Expected bytes per item (key + value + header); sizes the index") \
	X(max_value,    DPC_CFG_SIZE,   "1M",        1024, DPC_VALUE_MAX_STORE, NULL, false, \
	  "Largest value accepted; larger SETs are answered with Value too large") \
	X(eviction,     DPC_CFG_ENUM,   "s3fifo",    0, 0, "fifo|clock|s3fifo", false, \
	  "Eviction policy when memory is full (docs/design.md, Eviction: measured comparison)") \
	X(hugepages,    DPC_CFG_BOOL,   "yes",       0, 0, NULL, false, \
	  "Back item memory with hugepages when available (falls back to normal pages)") \
	X(log_level,    DPC_CFG_ENUM,   "info",      0, 0, "error|warning|info|debug", true, \
	  "Log verbosity") \
	X(maintain_budget, DPC_CFG_U32, "64",        1, 65536, NULL, true, \
	  "Units of background work (reclaim, expiry, flush) per idle poll iteration (busy: 1/16)") \
	X(tx_retries,   DPC_CFG_U32,    "8",         0, 1024, NULL, true, \
	  "Times a refused TX burst is retried before its frames are dropped and counted") \
	X(ring_size,    DPC_CFG_U32,    "4096",      64, 65536, NULL, false, \
	  "Entries in each worker's ring of writes handed over by other workers (power of 2)") \
	X(sw_checksum,  DPC_CFG_ENUM,   "auto",      0, 0, "auto|yes|no", false, \
	  "Compute IPv4/UDP checksums in software (auto: only when the port cannot offload)") \
	X(stats_socket, DPC_CFG_BOOL,   "yes",       0, 0, NULL, false, \
	  "Serve stats and runtime config to dpcachectl over the local channel") \
	X(port_id,      DPC_CFG_U32,    "0",         0, 1023, NULL, false, \
	  "DPDK port (ethdev id) to serve; 0 is the first port EAL found") \
	X(idle_sleep_us, DPC_CFG_U32,   "100",       0, 100000, NULL, true, \
	  "Idle back-off: microseconds an idle worker sleeps per empty poll (0: busy-poll always)") \
	/* IPv4 reassembly (dataplane/engine/reasm.c, dataplane/reasm_rx.c) */ \
	X(reasm_entries, DPC_CFG_U32,   "64",        0, 65536, NULL, false, \
	  "Datagrams each worker reassembles at once from IPv4 fragments (0: fragments are dropped)") \
	X(reasm_max_frags, DPC_CFG_U32, "64",        2, 1024, NULL, false, \
	  "Fragments one datagram may arrive in (a 65,507-byte request at MTU 1500 takes 45)") \
	X(reasm_bytes,  DPC_CFG_SIZE,   "4M",        (64u << 10), (1ull << 30), NULL, false, \
	  "Fragment buffer bytes each worker may hold in reassembly (the mbuf pool is sized for it)") \
	X(reasm_timeout_ms, DPC_CFG_U32, "1000",     1, 30000, NULL, false, \
	  "Milliseconds a fragmented datagram may take to arrive whole, from its first fragment") \
	/* control channel (dpcachectl's socket) */ \
	X(ctl_group,    DPC_CFG_STRING, "root",      0, 0, NULL, false, \
	  "Group (name or number) whose members may use the control socket, besides root") \
	X(ctl_timeout_ms, DPC_CFG_U32,  "2000",      100, 60000, NULL, true, \
	  "Deadline of one control connection, from accept to close (ms)") \
	X(ctl_max_clients, DPC_CFG_U32, "16",        1, 1024, NULL, false, \
	  "Control connections served at once (more are refused with ERR busy)") \
	/* TCP: the kernel exception path (dataplane/exception.c) and the TCP server (tcp.c) */ \
	X(tcp,          DPC_CFG_BOOL,   "no",        0, 0, NULL, false, \
	  "Serve memcached over TCP too, on address:port: frames not for the UDP fast path go to " \
	  "a kernel TAP interface that holds the address, and threads beside the workers serve the " \
	  "connections from the same store") \
	X(tcp_iface,    DPC_CFG_STRING, "auto",      0, 0, NULL, false, \
	  "Name of the kernel exception interface (auto: dpc-<name>, cut to 15 characters)") \
	X(max_connections, DPC_CFG_U32, "1024",      1, 1000000, NULL, true, \
	  "TCP connections served at once; one more is accepted and closed (rejected_connections)") \
	X(tcp_request_max, DPC_CFG_SIZE, "2M",       (64u << 10), (1ull << 30), NULL, true, \
	  "Largest TCP request (also the per-connection input buffer); a larger one is answered " \
	  "with an error and its connection closed, never buffered (keep it above max_value + 1K)") \
	X(idle_timeout, DPC_CFG_U32,    "0",         0, 86400000, NULL, true, \
	  "Seconds a TCP connection may stay idle before it is closed (idle_kicks; 0: never)") \
	X(reqs_per_event, DPC_CFG_U32,  "20",        1, 1000000, NULL, true, \
	  "Requests one TCP connection runs before it yields to the others (conn_yields)") \
	X(tcp_threads,  DPC_CFG_U32,    "1",         1, 64, NULL, false, \
	  "Threads serving TCP connections, each with epoll and a listening socket of its own " \
	  "(SO_REUSEPORT: the kernel spreads new connections over them)") \
	/* perf: in-server latency (lat.h) */ \
	X(latency_epoch, DPC_CFG_U32,   "0",         0, 4294967295u, NULL, true, \
	  "A new value restarts the in-server latency histograms (each worker empties its own)") \
	/* perf: the store's reclaimer thread (dataplane/engine/log.c; bounds: DPC_RECLAIM_INTERVAL_*) */ \
	X(reclaim_interval_us, DPC_CFG_U32, "1000",  10, 100000, NULL, true, \
	  "Microseconds the store's reclaimer naps between grace periods (shorter when a log " \
	  "nears its reserve): at most one futex wake-up of each worker per interval") \
	/* fairness: response size cap (dataplane/worker.c) */ \
	X(max_response_datagrams, DPC_CFG_U32, "1024", 1, 65535, NULL, true, \
	  "Most datagrams one response may take (at most what max_value needs); a larger one gets an error") \
	/* forwarding rings (dataplane/fwd.h): per-source shares, mbufs of reassembled datagrams */ \
	X(ring_source_share, DPC_CFG_U32, "25",      1, 100, NULL, true, \
	  "% of a worker's inbox one source (hash slot of 64) may fill, split over senders (100: no bound)") \
	X(ring_chain_mbufs, DPC_CFG_U32, "1024",     64, 1048576, NULL, false, \
	  "mbufs of reassembled datagrams that may wait in one worker's inbox (the mbuf pool holds them)") \
	/* exposure: source access control and abuse limits (srcguard.h, dataplane/guard.c); \
	 * the lists come last so that `subnet` sees the final address and subnet_len */ \
	X(subnet_len,   DPC_CFG_U32,    "24",        0, 32, NULL, false, \
	  "Prefix length of the server's own subnet (address/subnet_len): what `subnet` stands for") \
	X(amp_factor,   DPC_CFG_U32,    "3",         1, 1000, NULL, true, \
	  "Untrusted sources are never sent more than amp_factor x the bytes received from them") \
	X(src_rate,     DPC_CFG_SIZE,   "1M",        0, (1ull << 30), NULL, true, \
	  "Untrusted sources: response bytes per second per source and worker (0: no limit)") \
	X(src_burst,    DPC_CFG_SIZE,   "64K",       1024, (1ull << 30), NULL, true, \
	  "Untrusted sources: token bucket depth of src_rate, bytes") \
	X(trusted_rate, DPC_CFG_SIZE,   "0",         0, (1ull << 30), NULL, true, \
	  "Trusted sources: response bytes per second per source and worker (0: no limit)") \
	X(trusted_burst, DPC_CFG_SIZE,  "2M",        1024, (1ull << 30), NULL, true, \
	  "Trusted sources: token bucket depth of trusted_rate (>= the largest response), bytes") \
	X(src_table,    DPC_CFG_U32,    "4096",      4, (1u << 20), NULL, false, \
	  "Sources tracked per worker for amp_factor and the rate buckets (stalest entry reused)") \
	X(icmp_rate,    DPC_CFG_U32,    "100",       0, 100000, NULL, true, \
	  "ICMP echo replies per second per worker, bursts of as many (0: never reply)") \
	X(promiscuous,  DPC_CFG_BOOL,   "no",        0, 0, NULL, false, \
	  "Put the port in promiscuous mode (frames not for our MAC are dropped all the same)") \
	X(allow,        DPC_CFG_PREFIXES, "subnet",  0, 0, NULL, true, \
	  "Sources answered at all: IPv4 prefixes (A.B.C.D/N,...; subnet; none; 0.0.0.0/0 = anyone)") \
	X(trusted,      DPC_CFG_PREFIXES, "subnet",  0, 0, NULL, true, \
	  "Allowed sources exempt from amp_factor and src_rate (trusted_rate applies instead)") \
	X(admin,        DPC_CFG_PREFIXES, "none",    0, 0, NULL, true, \
	  "Allowed sources that may flush_all, stats reset and verbosity (others: an auth error)")

struct dpc_config {
#define DPC_X_CFG_FIELD(name, type, def, min, max, ev, rt, help) \
	DPC_CFG_CTYPE_##type name DPC_CFG_DIM_##type;
#define DPC_CFG_CTYPE_DPC_CFG_U32 uint32_t
#define DPC_CFG_CTYPE_DPC_CFG_SIZE uint64_t
#define DPC_CFG_CTYPE_DPC_CFG_IPV4 uint32_t
#define DPC_CFG_CTYPE_DPC_CFG_ENUM uint32_t
#define DPC_CFG_CTYPE_DPC_CFG_BOOL uint32_t
#define DPC_CFG_CTYPE_DPC_CFG_STRING char
#define DPC_CFG_CTYPE_DPC_CFG_PREFIXES struct dpc_acl *
#define DPC_CFG_DIM_DPC_CFG_U32
#define DPC_CFG_DIM_DPC_CFG_SIZE
#define DPC_CFG_DIM_DPC_CFG_IPV4
#define DPC_CFG_DIM_DPC_CFG_ENUM
#define DPC_CFG_DIM_DPC_CFG_BOOL
#define DPC_CFG_DIM_DPC_CFG_STRING [DPC_CFG_STR_MAX]
#define DPC_CFG_DIM_DPC_CFG_PREFIXES
	DPC_CONFIG_SETTINGS(DPC_X_CFG_FIELD)
#undef DPC_X_CFG_FIELD
	/** Prefix lists replaced at run time, waiting for their readers (dpc_config_take_retired). */
	struct dpc_acl *retired;
};

/** One row of the table (generated in lib/config.c). */
struct dpc_config_def {
	const char *name;
	enum dpc_cfg_type type;
	const char *def;
	uint64_t min, max;
	const char *enum_values;
	bool runtime;
	const char *help;
	size_t offset;   /**< of the field in struct dpc_config */
	size_t size;
};
extern const struct dpc_config_def dpc_config_defs[];
extern const unsigned dpc_config_ndefs;

/**
 * Fill @p c with the defaults.  Allocates nothing the caller must free:
 * the default prefix lists are shared, parsed once per process (ENOMEM
 * leaves a list NULL, which matches nothing: the safe side).  Lists set
 * later are @p c's own: dpc_config_free() releases them.
 */
void dpc_config_defaults(struct dpc_config *c);
/** Free what @p c owns (its prefix lists, retired ones included); NULL is fine.  Cold path. */
void dpc_config_free(struct dpc_config *c);
/**
 * Prefix lists (DPC_CFG_PREFIXES settings) are immutable: readers load the
 * pointer (acquire) and may use the list until their next quiescent state.
 * A run-time set swaps in a new list and puts the old one on c->retired.
 * This takes the whole chain (atomically; any thread): the caller waits
 * until no reader can hold any of them (e.g. a QSBR grace period, started
 * after this call), then frees it with dpc_acl_free_chain().
 */
struct dpc_acl *dpc_config_take_retired(struct dpc_config *c);
const struct dpc_config_def *dpc_config_find(const char *name);

/**
 * Format @p v bytes with the largest K/M/G/T suffix that divides it exactly
 * ("256M"; plain digits otherwise) into @p buf of @p len bytes (truncated,
 * always terminated).  Pure function; any thread.
 */
void dpc_config_format_size(uint64_t v, char *buf, size_t len);

/**
 * Validate and set one setting.  @p at_runtime: refuse settings not
 * changeable at run time (-EPERM).  Returns 0, -ENOENT (no such setting),
 * -EINVAL (bad value: @p err names the setting and the allowed range),
 * -EPERM.  On error @p c is unchanged.  Publishes with an atomic store
 * (a prefix list: a new list, pointer swapped, old one retired at run time,
 * freed at once otherwise).
 */
int dpc_config_set(struct dpc_config *c, const char *name, const char *value, bool at_runtime,
		   char *err, size_t errlen);
/** Format a setting's value; 0 or -ENOENT. */
int dpc_config_get(const struct dpc_config *c, const char *name, char *buf, size_t len);
/** Load a config file; 0 or negative errno with @p err "path:line: message". */
int dpc_config_load_file(struct dpc_config *c, const char *path, char *err, size_t errlen);
/**
 * Parse dpcached's own flags (everything after EAL's `--`): `--name=value`,
 * `--name value`, `--config FILE` (applied first, flags override it),
 * `--help`.  Returns 0, 1 if --help was given, or negative errno with @p err.
 * argv[0] is skipped when it is not a flag (the program name, as
 * rte_eal_init() leaves it after `argv += ret`).  Setting names may be
 * spelled with '-' for '_'.  On error @p c is unchanged.
 */
int dpc_config_parse_args(struct dpc_config *c, int argc, char **argv, char *err, size_t errlen);
/** Print every setting: flag, type/range, default, runtime-changeable, help. */
void dpc_config_help(FILE *out);

#endif /* DPCACHE_CONFIG_H */
