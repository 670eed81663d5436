/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Statistics on the wire: binary STAT and text "stats", one set of groups
 * for both protocols (each protocol supplies the emitter that writes a
 * name/value pair its way).  Cold path: clarity first.
 *
 * The general group leads with memcached's own names and meanings (pid,
 * time, version, curr_items, cmd_get, cmd_set, get_hits, ...), then every
 * dpcache counter under its own name (stats.h), minus the ones the
 * memcached section already answered.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "handler_internal.h"

static int emit_u64(dpc_stat_emit_fn emit, void *ctx, const char *name, uint64_t v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)v);
	return emit(ctx, name, buf);
}

/* Names the memcached section already answered (memcached's meaning wins). */
static bool stat_shadowed(const char *name)
{
	static const char *const names[] = {
		"cmd_get", "cmd_set", "cmd_flush", "cmd_touch", "get_hits", "get_misses",
		"evictions", "incr_misses",
	};
	for (unsigned i = 0; i < DPC_ARRAY_SIZE(names); i++)
		if (strcmp(name, names[i]) == 0)
			return true;
	return false;
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
	for (unsigned i = 0; i < h->nworkers; i++) {
		if (h->all_stats[i] == NULL)
			continue;
		dpc_stats_read(h->all_stats[i], &one);
		dpc_stats_add_into(sum, &one);
	}
}

static int stat_general(const struct dpc_handler *h, dpc_stat_emit_fn emit, void *ctx)
{
	struct dpc_worker_stats ws;
	struct dpc_store_stats ss;
	int rc;

	sum_workers(h, &ws);
	sum_store(h, &ss);
#define U(name, v) do { if ((rc = emit_u64(emit, ctx, name, (uint64_t)(v))) < 0) return rc; } while (0)
	U("pid", (uint64_t)getpid());
	U("time", dpc_cache_time(h->cache));
	if ((rc = emit(ctx, "version", dpc_handler_version(h))) < 0)
		return rc;
	U("pointer_size", sizeof(void *) * 8);
	U("threads", h->nworkers ? h->nworkers : 1);
	U("curr_items", ss.items);
	U("bytes", ss.bytes_used);
	U("limit_maxbytes", ss.bytes_limit);
	U("evictions", ss.evictions);
	U("reclaimed", ss.expired_reclaimed);
	U("cmd_get", ws.cmd_get);
	/* memcached counts every storage command under cmd_set */
	U("cmd_set", ws.cmd_set + ws.cmd_add + ws.cmd_replace + ws.cmd_append + ws.cmd_prepend);
	U("cmd_flush", ws.cmd_flush);
	U("cmd_touch", ws.cmd_touch + ws.cmd_gat);
	U("get_hits", ws.get_hits);
	U("get_misses", ws.get_misses);
	U("incr_misses", ws.incr_misses);
	/* then every dpcache counter under its own name (stats.h) */
	for (unsigned i = 0; i < DPC_WORKER_STATS_N; i++) {
		if (stat_shadowed(dpc_stat_names[i]))
			continue;
		U(dpc_stat_names[i], dpc_stat_get(&ws, i));
	}
#undef U
	return 0;
}

static int stat_settings(const struct dpc_handler *h, dpc_stat_emit_fn emit, void *ctx)
{
	struct dpc_store_stats ss;
	int rc;

	sum_store(h, &ss);
	if ((rc = emit_u64(emit, ctx, "maxbytes", ss.bytes_limit)) < 0 ||
	    (rc = emit_u64(emit, ctx, "item_size_max", h->max_value)) < 0 ||
	    (rc = emit_u64(emit, ctx, "num_threads", h->nworkers ? h->nworkers : 1)) < 0 ||
	    (rc = emit_u64(emit, ctx, "partitions", dpc_cache_nparts(h->cache))) < 0 ||
	    (rc = emit(ctx, "evictions", "on")) < 0 ||
	    (rc = emit(ctx, "cas_enabled", "yes")) < 0 ||
	    (rc = emit(ctx, "binding_protocol", "auto-negotiate")) < 0)
		return rc;
	return 0;
}

static bool group_is(const uint8_t *g, size_t len, const char *name)
{
	return len == strlen(name) && memcmp(g, name, len) == 0;
}

int dpc_proto_stats(const struct dpc_handler *h, const uint8_t *group, size_t len,
		    dpc_stat_emit_fn emit, void *ctx)
{
	if (len == 0)
		return stat_general(h, emit, ctx);
	if (group_is(group, len, "settings"))
		return stat_settings(h, emit, ctx);
	return -ENOENT;
}
