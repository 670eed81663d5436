/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Statistics on the wire: binary STAT and text "stats", one set of groups
 * for both protocols (each protocol supplies the emitter that writes a
 * name/value pair its way).  Cold path: clarity first.
 *
 * Groups as memcached 1.6 answers them: the general group, "settings",
 * "items", "slabs", "sizes", "reset", "detail on|off|dump"; any other is
 * unknown.  The general group leads with memcached's own names and
 * meanings (pid, uptime, time, version, cmd_get, get_hits, ...), then
 * every dpcache counter under its own name (stats.h), minus the ones the
 * memcached section already answered, then the store's figures (ctl.h's
 * list: store_<field>, and each partition's live fraction).
 */
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "dpcache/ctl.h"
#include "dpcache/decimal.h"
#include "handler_internal.h"

static int emit_u64(dpc_stat_emit_fn emit, void *ctx, const char *name, uint64_t v)
{
	char buf[DPC_DEC_U64_BUF];

	dpc_dec_format_u64(v, buf);
	return emit(ctx, name, buf);
}

static void sum_store(const struct dpc_handler *h, struct dpc_store_stats *sum)
{
	unsigned n = dpc_cache_nparts(h->cache);

	memset(sum, 0, sizeof(*sum));
	for (unsigned p = 0; p < n; p++) {
		struct dpc_store_stats s;
		dpc_cache_stats(h->cache, p, &s);
		sum->items += s.items;
		sum->bytes_used += s.bytes_used;
		sum->bytes_limit += s.bytes_limit;
		sum->evictions += s.evictions;
		sum->expired_reclaimed += s.expired_reclaimed;
		sum->flushes += s.flushes;
		sum->nospace += s.nospace;
	}
}

static void sum_workers(const struct dpc_handler *h, struct dpc_worker_stats *sum)
{
	struct dpc_worker_stats one;

	dpc_stats_reset(sum);
	if (h->all_stats == NULL || h->nworkers == 0) {
		dpc_stats_read(h->stats, &one);
		dpc_stats_add_into(sum, &one);
		return;
	}
	for (unsigned i = 0; i < (h->nstats ? h->nstats : h->nworkers); i++) {
		if (h->all_stats[i] == NULL)
			continue;
		dpc_stats_read(h->all_stats[i], &one);
		dpc_stats_add_into(sum, &one);
	}
}

/*
 * memcached's general statistics that dpcached has a figure for, in
 * memcached's order: X(name, value from ws (all workers' counters summed)
 * and ss (all partitions' store figures summed)).  memcached's names for
 * what dpcached does not have (connections, slabs, LRU threads, libevent,
 * ...) are left out (docs/design.md).  A dpcache counter of the same name
 * is not repeated after them.
 */
#define MC_GENERAL(X) \
	X("cmd_get",         ws.cmd_get) \
	X("cmd_set",         ws.cmd_set + ws.cmd_add + ws.cmd_replace + ws.cmd_append + \
			     ws.cmd_prepend) \
	X("cmd_flush",       ws.cmd_flush) \
	X("cmd_touch",       ws.cmd_touch + ws.cmd_gat) \
	X("get_hits",        ws.get_hits) \
	X("get_misses",      ws.get_misses) \
	X("delete_misses",   ws.delete_misses) \
	X("delete_hits",     ws.delete_hits) \
	X("incr_misses",     ws.incr_misses) \
	X("incr_hits",       ws.incr_hits) \
	X("decr_misses",     ws.decr_misses) \
	X("decr_hits",       ws.decr_hits) \
	X("cas_misses",      ws.cas_misses) \
	X("cas_hits",        ws.cas_hits) \
	X("cas_badval",      ws.cas_mismatch) \
	X("touch_hits",      ws.touch_hits) \
	X("touch_misses",    ws.touch_misses) \
	X("store_too_large", ws.errors_too_large) \
	X("store_no_memory", ws.errors_nospace) \
	X("bytes_read",      ws.rx_bytes) \
	X("bytes_written",   ws.tx_bytes) \
	X("limit_maxbytes",  ss.bytes_limit) \
	X("threads",         h->nworkers ? h->nworkers : 1) \
	X("bytes",           ss.bytes_used) \
	X("curr_items",      ss.items) \
	X("total_items",     ws.total_items) \
	X("evictions",       ss.evictions) \
	X("reclaimed",       ss.expired_reclaimed)

/* A dpcache counter whose name the memcached section already answered (memcached's meaning wins). */
static bool stat_shadowed(const char *name)
{
#define DPC_X_NAME(n, v) n,
	static const char *const names[] = { MC_GENERAL(DPC_X_NAME) };
#undef DPC_X_NAME
	for (unsigned i = 0; i < DPC_ARRAY_SIZE(names); i++)
		if (strcmp(name, names[i]) == 0)
			return true;
	return false;
}

/* Process start, for "uptime" (set once before main(), read-only afterwards). */
static uint32_t proc_start;

__attribute__((constructor)) static void note_start(void)
{
	proc_start = (uint32_t)time(NULL);
}

/*
 * The store's figures (ctl.h's DPC_CTL_STORE_STATS, the list dpcachectl and
 * Prometheus print): each summed over the partitions as "store_<field>"
 * (the live fraction as total live bytes / total log bytes, a ratio and not
 * a sum), then each partition's live fraction as "live_fraction_bp_p<N>".
 */
static int stat_store(const struct dpc_handler *h, dpc_stat_emit_fn emit, void *ctx)
{
	unsigned n = dpc_cache_nparts(h->cache);
	struct dpc_store_stats sum, s;
	char name[48];
	int rc;

	memset(&sum, 0, sizeof(sum));
	for (unsigned p = 0; p < n; p++) {
		dpc_cache_stats(h->cache, p, &s);
#define DPC_X_SUM(field, metric, type, help) sum.field += s.field;
		DPC_CTL_STORE_STATS(DPC_X_SUM)
#undef DPC_X_SUM
	}
	sum.live_fraction_bp = sum.log_bytes ? sum.bytes_used * 10000 / sum.log_bytes : 0;
#define DPC_X_EMIT(field, metric, type, help) \
	if ((rc = emit_u64(emit, ctx, "store_" #field, sum.field)) < 0) \
		return rc;
	DPC_CTL_STORE_STATS(DPC_X_EMIT)
#undef DPC_X_EMIT
	for (unsigned p = 0; p < n; p++) {
		dpc_cache_stats(h->cache, p, &s);
		snprintf(name, sizeof(name), "live_fraction_bp_p%u", p);
		if ((rc = emit_u64(emit, ctx, name, s.live_fraction_bp)) < 0)
			return rc;
	}
	return 0;
}

static int stat_general(const struct dpc_handler *h, dpc_stat_emit_fn emit, void *ctx)
{
	struct dpc_worker_stats ws;
	struct dpc_store_stats ss;
	struct rusage ru;
	uint32_t now = dpc_cache_time(h->cache);
	char buf[48];
	int rc;

	sum_workers(h, &ws);
	sum_store(h, &ss);
	if (getrusage(RUSAGE_SELF, &ru) != 0)
		memset(&ru, 0, sizeof(ru));
#define U(name, v) do { if ((rc = emit_u64(emit, ctx, name, (uint64_t)(v))) < 0) return rc; } while (0)
#define TV(name, tv) do { \
		snprintf(buf, sizeof(buf), "%ld.%06ld", (long)(tv).tv_sec, (long)(tv).tv_usec); \
		if ((rc = emit(ctx, name, buf)) < 0) \
			return rc; \
	} while (0)
	U("pid", (uint64_t)getpid());
	U("uptime", now > proc_start ? now - proc_start : 0);
	U("time", now);
	if ((rc = emit(ctx, "version", dpc_handler_version(h))) < 0)
		return rc;
	U("pointer_size", sizeof(void *) * 8);
	TV("rusage_user", ru.ru_utime);
	TV("rusage_system", ru.ru_stime);
#define DPC_X_U(n, v) U(n, v);
	MC_GENERAL(DPC_X_U)
#undef DPC_X_U
	/* then every dpcache counter under its own name (stats.h) */
	for (unsigned i = 0; i < DPC_WORKER_STATS_N; i++) {
		if (stat_shadowed(dpc_stat_names[i]))
			continue;
		U(dpc_stat_names[i], dpc_stat_get(&ws, i));
	}
	/* in-server latency, all workers merged (lat.h) */
	if (h->all_lat != NULL) {
		struct dpc_lat_summary ls;
		char name[40];

		if (dpc_lat_summarize(h->all_lat, h->nworkers, &ls) == 0) {
			U("latency_samples", ls.samples);
			for (unsigned i = 0; i < DPC_LAT_NPCTS; i++) {
				snprintf(name, sizeof(name), "latency_%s_ns", dpc_lat_names[i]);
				U(name, ls.ns[i]);
			}
			U("latency_max_ns", ls.max_ns);
		}
	}
#undef TV
#undef U
	return stat_store(h, emit, ctx);
}

/* memcached's settings names that apply to dpcached (same order), then ours. */
static int stat_settings(const struct dpc_handler *h, dpc_stat_emit_fn emit, void *ctx)
{
	struct dpc_store_stats ss;
	int rc;

	sum_store(h, &ss);
	if ((rc = emit_u64(emit, ctx, "maxbytes", ss.bytes_limit)) < 0 ||
	    (rc = emit(ctx, "evictions", "on")) < 0 ||
	    (rc = emit_u64(emit, ctx, "num_threads", h->nworkers ? h->nworkers : 1)) < 0 ||
	    (rc = emit(ctx, "cas_enabled", "yes")) < 0 ||
	    (rc = emit(ctx, "binding_protocol", "auto-negotiate")) < 0 ||
	    (rc = emit_u64(emit, ctx, "item_size_max", h->max_value)) < 0 ||
	    (rc = emit(ctx, "flush_enabled", "yes")) < 0 ||
	    (rc = emit_u64(emit, ctx, "partitions", dpc_cache_nparts(h->cache))) < 0)
		return rc;
	return 0;
}

/* "slabs": dpcached has no slab classes; memcached's totals for none in use. */
static int stat_slabs(const struct dpc_handler *h, dpc_stat_emit_fn emit, void *ctx)
{
	struct dpc_store_stats ss;
	int rc;

	sum_store(h, &ss);
	if ((rc = emit(ctx, "active_slabs", "0")) < 0)
		return rc;
	return emit_u64(emit, ctx, "total_malloced", ss.bytes_limit);
}

static bool is(const uint8_t *g, size_t len, const char *name)
{
	return g != NULL && len == strlen(name) && memcmp(g, name, len) == 0;
}

enum dpc_stats_group dpc_stats_classify(const uint8_t *g, size_t glen, const uint8_t *sub,
					size_t sublen)
{
	if (glen == 0 || is(g, glen, "settings") || is(g, glen, "items") || is(g, glen, "slabs") ||
	    is(g, glen, "sizes"))
		return DPC_STATS_LIST;
	if (is(g, glen, "reset"))
		return DPC_STATS_RESET;
	if (is(g, glen, "detail")) {
		if (is(sub, sublen, "on") || is(sub, sublen, "off"))
			return DPC_STATS_DETAIL_SET;
		if (is(sub, sublen, "dump"))
			return DPC_STATS_DETAIL_DUMP;
		return DPC_STATS_DETAIL_USAGE;
	}
	return DPC_STATS_UNKNOWN;
}

int dpc_proto_stats(const struct dpc_handler *h, const uint8_t *g, size_t glen,
		    dpc_stat_emit_fn emit, void *ctx)
{
	if (glen == 0)
		return stat_general(h, emit, ctx);
	if (is(g, glen, "settings"))
		return stat_settings(h, emit, ctx);
	if (is(g, glen, "slabs"))
		return stat_slabs(h, emit, ctx);
	if (is(g, glen, "sizes"))
		return emit(ctx, "sizes_status", "disabled");
	return 0; /* "items": no slab classes, nothing to list */
}
