/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The memcached binary request handler: one datagram's payload in, the
 * response byte stream out (through a dpc_wr), against the cache.
 *
 * Semantics follow memcached 1.6 proto_bin.c:
 *  - quiet opcodes answer only errors; a quiet GET/GAT miss is silent,
 *    a quiet GET/GAT hit is answered (the multi-get idiom GETKQ.. + NOOP);
 *  - error responses carry memcached's error text as the value and CAS 0;
 *  - successful writes carry the new CAS; GET/GAT/TOUCH carry 4 bytes of
 *    flags as extras; GETK/GATK carry the key (also on a miss);
 *  - ADD on an existing key -> KEY_EEXISTS, REPLACE on a missing key ->
 *    KEY_ENOENT, APPEND/PREPEND on a missing key -> NOT_STORED;
 *  - a SET refused as too large also deletes the old value (memcached
 *    does so that a failed SET never leaves stale data behind).
 *
 * Hot path (GET): no allocation, no syscall, no division; runs of
 * consecutive GET/GETK requests (multi-get) are looked up together with
 * dpc_cache_get_bulk() so that their cache misses overlap.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "dpcache/byteorder.h"
#include "dpcache/hash.h"
#include "dpcache/textproto.h"
#include "handler.h"

#define DEFAULT_VERSION "1.6.21-dpcache"
#define MC_REL_MAX 2592000u   /* memcached: larger exptimes are absolute */

/* memcached's write_bin_error() texts */
static const char *status_text(uint16_t st)
{
	switch (st) {
	case DPC_MC_KEY_ENOENT: return "Not found";
	case DPC_MC_KEY_EEXISTS: return "Data exists for key.";
	case DPC_MC_E2BIG: return "Too large.";
	case DPC_MC_EINVAL: return "Invalid arguments";
	case DPC_MC_NOT_STORED: return "Not stored.";
	case DPC_MC_DELTA_BADVAL: return "Non-numeric server-side value for incr or decr";
	case DPC_MC_UNKNOWN_COMMAND: return "Unknown command";
	case DPC_MC_ENOMEM: return "Out of memory";
	case DPC_MC_NOT_SUPPORTED: return "Not supported";
	case DPC_MC_EBUSY: return "Busy";
	case DPC_MC_ETMPFAIL: return "Temporary failure";
	default: return "Internal error";
	}
}

/* Header plus up to 4 bytes of extras and a key, written with one put. */
struct resp_head {
	uint8_t b[DPC_MC_HDR_LEN + 4 + DPC_KEY_MAX];
};

static int put_error(struct dpc_handler *h, const struct dpc_mc_req *req, uint16_t st,
		     struct dpc_wr *w)
{
	uint8_t hdr[DPC_MC_HDR_LEN];
	const char *txt = status_text(st);
	uint32_t n = (uint32_t)strlen(txt);
	int rc;

	switch (st) {
	case DPC_MC_EINVAL: dpc_stat_inc(h->stats, errors_inval); break;
	case DPC_MC_E2BIG: dpc_stat_inc(h->stats, errors_too_large); break;
	case DPC_MC_ENOMEM: dpc_stat_inc(h->stats, errors_nospace); break;
	default: break;
	}
	dpc_mc_encode_res_hdr(hdr, req, st, 0, 0, n, 0);
	rc = dpc_wr_put(w, hdr, sizeof(hdr));
	return rc < 0 ? rc : dpc_wr_put(w, txt, n);
}

/* An empty success response (or none for a quiet request). */
static int put_ok(const struct dpc_mc_req *req, uint64_t cas, struct dpc_wr *w)
{
	uint8_t hdr[DPC_MC_HDR_LEN];

	if (req->quiet)
		return 0;
	dpc_mc_encode_res_hdr(hdr, req, DPC_MC_OK, 0, 0, 0, cas);
	return dpc_wr_put(w, hdr, sizeof(hdr));
}

/*
 * The answer to a GET-like request: @v is the hit or NULL for a miss.
 * @with_key: GETK/GATK; @with_value: false for TOUCH.
 */
static inline int put_item(const struct dpc_mc_req *req, const struct dpc_item_view *v,
			   bool with_key, bool with_value, struct dpc_wr *w)
{
	struct resp_head rh;
	unsigned klen = with_key ? req->keylen : 0;
	int rc;

	if (v == NULL) {
		if (req->quiet)
			return 0;
		if (!with_key) {
			static const char nf[] = "Not found";
			dpc_mc_encode_res_hdr(rh.b, req, DPC_MC_KEY_ENOENT, 0, 0, sizeof(nf) - 1, 0);
			memcpy(rh.b + DPC_MC_HDR_LEN, nf, sizeof(nf) - 1);
			return dpc_wr_put(w, rh.b, DPC_MC_HDR_LEN + sizeof(nf) - 1);
		}
		dpc_mc_encode_res_hdr(rh.b, req, DPC_MC_KEY_ENOENT, 0, (uint16_t)klen, 0, 0);
		memcpy(rh.b + DPC_MC_HDR_LEN, req->key, klen);
		return dpc_wr_put(w, rh.b, DPC_MC_HDR_LEN + klen);
	}
	uint32_t vlen = with_value ? v->vlen : 0;
	dpc_mc_encode_res_hdr(rh.b, req, DPC_MC_OK, 4, (uint16_t)klen, vlen, v->cas);
	dpc_put_be32(rh.b + DPC_MC_HDR_LEN, v->flags);
	memcpy(rh.b + DPC_MC_HDR_LEN + 4, req->key, klen);
	rc = dpc_wr_put(w, rh.b, DPC_MC_HDR_LEN + 4 + klen);
	if (rc < 0 || vlen == 0)
		return rc;
	return dpc_wr_put(w, v->val, vlen);
}

/* ---- STAT ------------------------------------------------------------------ */

/* STAT output goes through an emitter: binary responses or text lines. */
typedef int (*stat_emit_fn)(void *ctx, const char *name, const char *val);

struct bin_stat_ctx {
	const struct dpc_mc_req *req;
	struct dpc_wr *w;
};

static int bin_stat(void *ctx, const char *name, const char *val)
{
	const struct bin_stat_ctx *c = ctx;
	uint8_t hdr[DPC_MC_HDR_LEN];
	uint16_t klen = (uint16_t)strlen(name);
	uint32_t vlen = (uint32_t)strlen(val);
	int rc;

	dpc_mc_encode_res_hdr(hdr, c->req, DPC_MC_OK, 0, klen, vlen, 0);
	if ((rc = dpc_wr_put(c->w, hdr, sizeof(hdr))) < 0 || (rc = dpc_wr_put(c->w, name, klen)) < 0)
		return rc;
	return dpc_wr_put(c->w, val, vlen);
}

static int txt_stat(void *ctx, const char *name, const char *val)
{
	struct dpc_wr *w = ctx;
	int rc;

	if ((rc = dpc_wr_put(w, "STAT ", 5)) < 0 || (rc = dpc_wr_put(w, name, strlen(name))) < 0 ||
	    (rc = dpc_wr_put(w, " ", 1)) < 0 || (rc = dpc_wr_put(w, val, strlen(val))) < 0)
		return rc;
	return dpc_wr_put(w, "\r\n", 2);
}

static int emit_u64(stat_emit_fn emit, void *ctx, const char *name, uint64_t v)
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

static int stat_general(const struct dpc_handler *h, stat_emit_fn emit, void *ctx)
{
	struct dpc_worker_stats ws;
	struct dpc_store_stats ss;
	int rc;

	sum_workers(h, &ws);
	sum_store(h, &ss);
#define U(name, v) do { if ((rc = emit_u64(emit, ctx, name, (uint64_t)(v))) < 0) return rc; } while (0)
	U("pid", (uint64_t)getpid());
	U("time", dpc_cache_time(h->cache));
	if ((rc = emit(ctx, "version", h->version ? h->version : DEFAULT_VERSION)) < 0)
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

static int stat_settings(const struct dpc_handler *h, stat_emit_fn emit, void *ctx)
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

/* 1: general, 2: settings, 0: unknown group */
static int stat_group(const uint8_t *key, size_t keylen)
{
	if (keylen == 0)
		return 1;
	if (keylen == 8 && memcmp(key, "settings", 8) == 0)
		return 2;
	return 0;
}

static int do_stat(struct dpc_handler *h, const struct dpc_mc_req *req, struct dpc_wr *w)
{
	struct bin_stat_ctx ctx = {req, w};
	int rc, g = stat_group(req->key, req->keylen);

	if (g == 0)
		return put_error(h, req, DPC_MC_KEY_ENOENT, w);
	rc = g == 1 ? stat_general(h, bin_stat, &ctx) : stat_settings(h, bin_stat, &ctx);
	if (rc < 0)
		return rc;
	/* the empty terminator */
	uint8_t hdr[DPC_MC_HDR_LEN];
	dpc_mc_encode_res_hdr(hdr, req, DPC_MC_OK, 0, 0, 0, 0);
	return dpc_wr_put(w, hdr, sizeof(hdr));
}

/* ---- writes ------------------------------------------------------------------ */

/* Store outcome -> wire status for a storage command (memcached's mapping). */
static uint16_t set_status(uint8_t base, enum dpc_status st, uint64_t cas)
{
	switch (st) {
	case DPC_OK: return DPC_MC_OK;
	case DPC_EXISTS: return DPC_MC_KEY_EEXISTS;
	case DPC_NOT_FOUND:
		/* a CAS on a missing key; APPEND/PREPEND say "not stored" */
		return (base == DPC_OP_APPEND || base == DPC_OP_PREPEND) ? DPC_MC_NOT_STORED
									 : DPC_MC_KEY_ENOENT;
	case DPC_NOT_STORED:
		if (cas == 0 && base == DPC_OP_ADD)
			return DPC_MC_KEY_EEXISTS;
		if (base == DPC_OP_REPLACE)
			return DPC_MC_KEY_ENOENT;
		return DPC_MC_NOT_STORED;
	case DPC_TOO_LARGE: return DPC_MC_E2BIG;
	case DPC_NON_NUMERIC: return DPC_MC_DELTA_BADVAL;
	case DPC_NOSPACE: return DPC_MC_ENOMEM;
	case DPC_INVALID: return DPC_MC_EINVAL;
	}
	return DPC_MC_EINTERNAL;
}

/* Other outcomes (delete, arith, touch). */
static uint16_t plain_status(enum dpc_status st)
{
	switch (st) {
	case DPC_OK: return DPC_MC_OK;
	case DPC_NOT_FOUND: return DPC_MC_KEY_ENOENT;
	case DPC_EXISTS: return DPC_MC_KEY_EEXISTS;
	case DPC_NOT_STORED: return DPC_MC_NOT_STORED;
	case DPC_TOO_LARGE: return DPC_MC_E2BIG;
	case DPC_NON_NUMERIC: return DPC_MC_DELTA_BADVAL;
	case DPC_NOSPACE: return DPC_MC_ENOMEM;
	case DPC_INVALID: return DPC_MC_EINVAL;
	}
	return DPC_MC_EINTERNAL;
}

static int do_write(struct dpc_handler *h, const struct dpc_mc_req *req, const struct dpc_key *k,
		    struct dpc_wr *w)
{
	struct dpc_cache *c = h->cache;
	struct dpc_worker_stats *s = h->stats;
	unsigned part = h->part;
	enum dpc_status st;
	uint64_t cas = 0, val = 0;
	uint16_t ws;

	switch (req->base) {
	case DPC_OP_SET: case DPC_OP_ADD: case DPC_OP_REPLACE: case DPC_OP_APPEND: case DPC_OP_PREPEND: {
		enum dpc_set_mode mode;
		switch (req->base) {
		case DPC_OP_SET: mode = DPC_SET; dpc_stat_inc(s, cmd_set); break;
		case DPC_OP_ADD: mode = DPC_ADD; dpc_stat_inc(s, cmd_add); break;
		case DPC_OP_REPLACE: mode = DPC_REPLACE; dpc_stat_inc(s, cmd_replace); break;
		case DPC_OP_APPEND: mode = DPC_APPEND; dpc_stat_inc(s, cmd_append); break;
		default: mode = DPC_PREPEND; dpc_stat_inc(s, cmd_prepend); break;
		}
		st = dpc_store_set(c, part, mode, k, req->value, req->vlen, req->flags, req->exptime,
				   req->cas, &cas);
		ws = set_status(req->base, st, req->cas);
		break;
	}
	case DPC_OP_DELETE:
		dpc_stat_inc(s, cmd_delete);
		st = dpc_store_delete(c, part, k, req->cas);
		ws = plain_status(st);
		break;
	case DPC_OP_INCREMENT: case DPC_OP_DECREMENT: {
		bool incr = req->base == DPC_OP_INCREMENT;
		if (incr)
			dpc_stat_inc(s, cmd_incr);
		else
			dpc_stat_inc(s, cmd_decr);
		st = dpc_store_arith(c, part, k, incr, req->delta, req->initial, req->exptime, req->cas,
				     &val, &cas);
		if (st == DPC_NOT_FOUND && req->cas == 0)
			dpc_stat_inc(s, incr_misses);
		ws = plain_status(st);
		if (ws == DPC_MC_OK) {
			if (req->quiet)
				return 0;
			uint8_t b[DPC_MC_HDR_LEN + 8];
			dpc_mc_encode_res_hdr(b, req, DPC_MC_OK, 0, 0, 8, cas);
			dpc_put_be64(b + DPC_MC_HDR_LEN, val);
			return dpc_wr_put(w, b, sizeof(b));
		}
		break;
	}
	default: { /* TOUCH, GAT, GATK */
		struct dpc_item_view v;
		bool touch = req->base == DPC_OP_TOUCH;
		if (touch)
			dpc_stat_inc(s, cmd_touch);
		else
			dpc_stat_inc(s, cmd_gat);
		st = dpc_store_touch(c, part, k, req->exptime, &v);
		if (!touch) {
			if (st == DPC_OK)
				dpc_stat_inc(s, get_hits);
			else
				dpc_stat_inc(s, get_misses);
		}
		if (st == DPC_OK || st == DPC_NOT_FOUND) {
			const struct dpc_item_view *vp = st == DPC_OK ? &v : NULL;
			if (touch && vp == NULL)
				return put_error(h, req, DPC_MC_KEY_ENOENT, w);
			return put_item(req, vp, req->base == DPC_OP_GATK, !touch, w);
		}
		ws = plain_status(st);
		break;
	}
	}
	if (ws == DPC_MC_OK)
		return put_ok(req, cas, w);
	if (st == DPC_EXISTS && req->cas != 0)
		dpc_stat_inc(s, cas_mismatch);
	return put_error(h, req, ws, w);
}

/* ---- dispatch ------------------------------------------------------------------ */

/* Everything but the batched GET path; @req parsed without error or with one. */
static int do_one(struct dpc_handler *h, const struct dpc_mc_req *req, unsigned nparts, struct dpc_wr *w)
{
	struct dpc_worker_stats *s = h->stats;

	if (dpc_unlikely(req->error)) {
		if (req->error == DPC_MC_UNKNOWN_COMMAND) {
			dpc_stat_inc(s, cmd_unknown);
		} else if (req->error == DPC_MC_E2BIG && req->base == DPC_OP_SET) {
			/* memcached drops the old value of a refused SET: never serve stale data */
			struct dpc_key k = {.data = req->key, .len = (uint8_t)req->keylen};
			k.hash = dpc_hash(req->key, req->keylen);
			if (dpc_hash_part(k.hash, nparts) == h->part)
				(void)dpc_store_delete(h->cache, h->part, &k, 0);
		}
		return put_error(h, req, req->error, w);
	}

	if (dpc_mc_is_write(req->base)) {
		struct dpc_key k = {.data = req->key, .len = (uint8_t)req->keylen};
		k.hash = dpc_hash(req->key, req->keylen);
		if (dpc_unlikely(dpc_hash_part(k.hash, nparts) != h->part))
			return put_error(h, req, DPC_MC_ETMPFAIL, w);
		return do_write(h, req, &k, w);
	}

	switch (req->base) {
	case DPC_OP_GET: case DPC_OP_GETK: { /* unbatched (not used by process) */
		struct dpc_key k = {.data = req->key, .len = (uint8_t)req->keylen};
		struct dpc_item_view v;
		k.hash = dpc_hash(req->key, req->keylen);
		dpc_stat_inc(s, cmd_get);
		if (dpc_cache_get(h->cache, &k, &v) == DPC_OK) {
			dpc_stat_inc(s, get_hits);
			return put_item(req, &v, req->base == DPC_OP_GETK, true, w);
		}
		dpc_stat_inc(s, get_misses);
		return put_item(req, NULL, req->base == DPC_OP_GETK, true, w);
	}
	case DPC_OP_NOOP:
		dpc_stat_inc(s, cmd_noop);
		return put_ok(req, 0, w);
	case DPC_OP_VERSION: {
		const char *v = h->version ? h->version : DEFAULT_VERSION;
		uint32_t n = (uint32_t)strlen(v);
		uint8_t hdr[DPC_MC_HDR_LEN];
		int rc;
		dpc_stat_inc(s, cmd_version);
		dpc_mc_encode_res_hdr(hdr, req, DPC_MC_OK, 0, 0, n, 0);
		rc = dpc_wr_put(w, hdr, sizeof(hdr));
		return rc < 0 ? rc : dpc_wr_put(w, v, n);
	}
	case DPC_OP_FLUSH: {
		uint32_t delay = req->exptime;
		dpc_stat_inc(s, cmd_flush);
		if (delay > MC_REL_MAX) {
			/* absolute unix time, as memcached's realtime() reads it */
			uint32_t now = dpc_cache_time(h->cache);
			delay = delay > now ? delay - now : 0;
		}
		dpc_cache_flush(h->cache, delay);
		return put_ok(req, 0, w);
	}
	case DPC_OP_STAT:
		dpc_stat_inc(s, cmd_stat);
		return do_stat(h, req, w);
	case DPC_OP_QUIT:
		/* no connection to close over UDP: answer QUIT, QUITQ is silent */
		dpc_stat_inc(s, cmd_quit);
		return put_ok(req, 0, w);
	default:
		dpc_stat_inc(s, cmd_unknown);
		return put_error(h, req, DPC_MC_UNKNOWN_COMMAND, w);
	}
}

/* ---- memcached text protocol --------------------------------------------------- */

static int put_line(struct dpc_wr *w, const char *s)
{
	int rc = dpc_wr_put(w, s, strlen(s));

	return rc < 0 ? rc : dpc_wr_put(w, "\r\n", 2);
}

/* A result line, unless noreply (memcached still sends errors then). */
static int txt_reply(const struct dpc_txt_req *req, const char *s, struct dpc_wr *w)
{
	return req->noreply ? 0 : put_line(w, s);
}

static int txt_error(struct dpc_handler *h, const char *s, struct dpc_wr *w)
{
	if (strcmp(s, "ERROR") == 0)
		dpc_stat_inc(h->stats, cmd_unknown);
	else if (strncmp(s, "SERVER_ERROR object too large", 29) == 0)
		dpc_stat_inc(h->stats, errors_too_large);
	else if (strncmp(s, "SERVER_ERROR out of memory", 26) == 0)
		dpc_stat_inc(h->stats, errors_nospace);
	else if (strncmp(s, "CLIENT_ERROR", 12) == 0)
		dpc_stat_inc(h->stats, errors_inval);
	return put_line(w, s);
}

static const char *txt_store_result(enum dpc_txt_cmd cmd, enum dpc_status st)
{
	switch (st) {
	case DPC_OK: return "STORED";
	case DPC_EXISTS: return cmd == DPC_TXT_ADD ? "NOT_STORED" : "EXISTS";
	case DPC_NOT_FOUND: return cmd == DPC_TXT_CAS ? "NOT_FOUND" : "NOT_STORED";
	case DPC_NOT_STORED: return "NOT_STORED";
	case DPC_TOO_LARGE: return "SERVER_ERROR object too large for cache";
	case DPC_NOSPACE: return "SERVER_ERROR out of memory storing object";
	default: return "CLIENT_ERROR bad command line format";
	}
}

/* VALUE <key> <flags> <bytes>[ <cas>]\r\n<data>\r\n */
static int txt_value(const uint8_t *key, size_t klen, const struct dpc_item_view *v, bool with_cas,
		     struct dpc_wr *w)
{
	char num[64];
	int rc, n;

	if ((rc = dpc_wr_put(w, "VALUE ", 6)) < 0 || (rc = dpc_wr_put(w, key, klen)) < 0)
		return rc;
	if (with_cas)
		n = snprintf(num, sizeof(num), " %u %u %llu\r\n", v->flags, v->vlen,
			     (unsigned long long)v->cas);
	else
		n = snprintf(num, sizeof(num), " %u %u\r\n", v->flags, v->vlen);
	if ((rc = dpc_wr_put(w, num, (size_t)n)) < 0 || (rc = dpc_wr_put(w, v->val, v->vlen)) < 0)
		return rc;
	return dpc_wr_put(w, "\r\n", 2);
}

static int txt_get(struct dpc_handler *h, const struct dpc_txt_req *req, unsigned nparts, struct dpc_wr *w)
{
	struct dpc_worker_stats *s = h->stats;
	bool touch = req->cmd == DPC_TXT_GAT || req->cmd == DPC_TXT_GATS;
	bool with_cas = req->cmd == DPC_TXT_GETS || req->cmd == DPC_TXT_GATS;
	const uint8_t *it = req->keys, *key;
	size_t klen;
	int rc;

	while ((klen = dpc_txt_next_key(&it, req->keys_end, &key)) != 0) {
		struct dpc_key k = {.data = key, .len = (uint8_t)klen, .hash = dpc_hash(key, klen)};
		struct dpc_item_view v;
		enum dpc_status st;
		if (touch) {
			dpc_stat_inc(s, cmd_gat);
			if (dpc_hash_part(k.hash, nparts) != h->part) {
				if ((rc = put_line(w, "SERVER_ERROR temporary failure")) < 0)
					return rc;
				continue;
			}
			st = dpc_store_touch(h->cache, h->part, &k, req->exptime, &v);
		} else {
			dpc_stat_inc(s, cmd_get);
			st = dpc_cache_get(h->cache, &k, &v);
		}
		if (st != DPC_OK) {
			dpc_stat_inc(s, get_misses);
			continue;
		}
		dpc_stat_inc(s, get_hits);
		if ((rc = txt_value(key, klen, &v, with_cas, w)) < 0)
			return rc;
	}
	return put_line(w, "END");
}

static int do_text(struct dpc_handler *h, const struct dpc_txt_req *req, unsigned nparts, struct dpc_wr *w)
{
	struct dpc_worker_stats *s = h->stats;
	struct dpc_key k = {.data = req->key, .len = (uint8_t)req->keylen};
	enum dpc_status st;
	char buf[96];

	switch (req->cmd) {
	case DPC_TXT_ERROR:
		return txt_error(h, req->error, w);
	case DPC_TXT_GET: case DPC_TXT_GETS: case DPC_TXT_GAT: case DPC_TXT_GATS:
		return txt_get(h, req, nparts, w);
	case DPC_TXT_VERSION:
		dpc_stat_inc(s, cmd_version);
		snprintf(buf, sizeof(buf), "VERSION %.80s", h->version ? h->version : DEFAULT_VERSION);
		return put_line(w, buf);
	case DPC_TXT_VERBOSITY:
		return txt_reply(req, "OK", w);
	case DPC_TXT_FLUSH_ALL: {
		uint32_t delay = req->exptime;
		dpc_stat_inc(s, cmd_flush);
		if (delay > MC_REL_MAX) {
			uint32_t now = dpc_cache_time(h->cache);
			delay = delay > now ? delay - now : 0;
		}
		dpc_cache_flush(h->cache, delay);
		return txt_reply(req, "OK", w);
	}
	case DPC_TXT_STATS: {
		int rc, g = stat_group(req->arg, req->arglen);
		dpc_stat_inc(s, cmd_stat);
		if (g == 0)
			return txt_error(h, "ERROR", w);
		rc = g == 1 ? stat_general(h, txt_stat, w) : stat_settings(h, txt_stat, w);
		return rc < 0 ? rc : put_line(w, "END");
	}
	case DPC_TXT_QUIT:
		dpc_stat_inc(s, cmd_quit);
		return 0;
	default:
		break;
	}

	/* single-key writes: the owner only */
	k.hash = dpc_hash(req->key, req->keylen);
	if (dpc_unlikely(dpc_hash_part(k.hash, nparts) != h->part))
		return put_line(w, "SERVER_ERROR temporary failure");
	switch (req->cmd) {
	case DPC_TXT_DELETE:
		dpc_stat_inc(s, cmd_delete);
		st = dpc_store_delete(h->cache, h->part, &k, 0);
		return txt_reply(req, st == DPC_OK ? "DELETED" : "NOT_FOUND", w);
	case DPC_TXT_INCR: case DPC_TXT_DECR: {
		bool incr = req->cmd == DPC_TXT_INCR;
		uint64_t val, cas;
		if (incr)
			dpc_stat_inc(s, cmd_incr);
		else
			dpc_stat_inc(s, cmd_decr);
		/* the text protocol never creates: exptime 0xffffffff */
		st = dpc_store_arith(h->cache, h->part, &k, incr, req->delta, 0, 0xffffffffu, 0, &val, &cas);
		if (st == DPC_OK) {
			snprintf(buf, sizeof(buf), "%llu", (unsigned long long)val);
			return txt_reply(req, buf, w);
		}
		if (st == DPC_NOT_FOUND) {
			dpc_stat_inc(s, incr_misses);
			return txt_reply(req, "NOT_FOUND", w);
		}
		if (st == DPC_NON_NUMERIC)
			return txt_error(h, "CLIENT_ERROR cannot increment or decrement non-numeric value",
					 w);
		return txt_error(h, "SERVER_ERROR out of memory", w);
	}
	case DPC_TXT_TOUCH:
		dpc_stat_inc(s, cmd_touch);
		st = dpc_store_touch(h->cache, h->part, &k, req->exptime, NULL);
		return txt_reply(req, st == DPC_OK ? "TOUCHED" : "NOT_FOUND", w);
	default: { /* storage */
		enum dpc_set_mode mode;
		uint64_t cas = 0;
		switch (req->cmd) {
		case DPC_TXT_ADD: mode = DPC_ADD; dpc_stat_inc(s, cmd_add); break;
		case DPC_TXT_REPLACE: mode = DPC_REPLACE; dpc_stat_inc(s, cmd_replace); break;
		case DPC_TXT_APPEND: mode = DPC_APPEND; dpc_stat_inc(s, cmd_append); break;
		case DPC_TXT_PREPEND: mode = DPC_PREPEND; dpc_stat_inc(s, cmd_prepend); break;
		default: mode = DPC_SET; dpc_stat_inc(s, cmd_set); break;
		}
		st = dpc_store_set(h->cache, h->part, mode, &k, req->value, req->vlen, req->flags,
				   req->exptime, req->cmd == DPC_TXT_CAS ? req->cas : 0, &cas);
		if (st == DPC_EXISTS && req->cmd == DPC_TXT_CAS)
			dpc_stat_inc(s, cas_mismatch);
		const char *r = txt_store_result(req->cmd, st);
		return r[0] == 'S' && r[1] == 'E' ? txt_error(h, r, w) : txt_reply(req, r, w);
	}
	}
}

static int process_text(struct dpc_handler *h, const uint8_t *payload, size_t len, struct dpc_wr *w,
			unsigned nparts, size_t start)
{
	size_t off = 0;
	int rc;

	while (off < len) {
		struct dpc_txt_req req;
		int n = dpc_txt_parse(payload + off, len - off, h->max_value, &req);

		if (dpc_unlikely(n < 0)) {
			dpc_stat_inc(h->stats, drop_truncated);
			return w->total == start ? -EBADMSG : 0;
		}
		off += (size_t)n;
		dpc_stat_inc(h->stats, requests);
		if ((rc = do_text(h, &req, nparts, w)) < 0)
			return rc;
		if (req.cmd == DPC_TXT_QUIT)
			break; /* memcached closes the connection: the rest is not read */
	}
	return 0;
}

/* A run of GET/GETK requests, looked up together, answered in order. */
struct get_batch {
	unsigned n;
	struct dpc_mc_req req[DPC_BULK_MAX];
	struct dpc_key key[DPC_BULK_MAX];
	struct dpc_item_view view[DPC_BULK_MAX];
	enum dpc_status st[DPC_BULK_MAX];
};

static int flush_gets(struct dpc_handler *h, struct get_batch *b, struct dpc_wr *w)
{
	struct dpc_worker_stats *s = h->stats;
	unsigned n = b->n;
	int rc = 0;

	if (n == 0)
		return 0;
	b->n = 0;
	if (n == 1)
		b->st[0] = dpc_cache_get(h->cache, &b->key[0], &b->view[0]);
	else
		dpc_cache_get_bulk(h->cache, b->key, n, b->view, b->st);
	dpc_stat_add(s, cmd_get, n);
	for (unsigned i = 0; i < n && rc == 0; i++) {
		const struct dpc_mc_req *req = &b->req[i];
		bool hit = b->st[i] == DPC_OK;
		if (hit)
			dpc_stat_inc(s, get_hits);
		else
			dpc_stat_inc(s, get_misses);
		rc = put_item(req, hit ? &b->view[i] : NULL, req->base == DPC_OP_GETK, true, w);
	}
	return rc;
}

int dpc_handler_process(struct dpc_handler *h, const uint8_t *payload, size_t len, struct dpc_wr *w)
{
	struct get_batch b;
	size_t off = 0, start = w->total;
	unsigned nparts;
	int rc;

	DPC_RETURN_IF(h == NULL || w == NULL || (payload == NULL && len > 0), -EINVAL);
	if (dpc_unlikely(len == 0)) {
		dpc_stat_inc(h->stats, drop_truncated);
		return -EBADMSG;
	}
	nparts = dpc_cache_nparts(h->cache);
	/* memcached decides per datagram: the binary magic, else a text command */
	if (dpc_unlikely(payload[0] != DPC_MC_REQ_MAGIC) && payload[0] >= 'a' && payload[0] <= 'z')
		return process_text(h, payload, len, w, nparts, start);
	b.n = 0;
	while (off < len) {
		struct dpc_mc_req *req = &b.req[b.n];
		int n = dpc_mc_parse(payload + off, len - off, h->max_value, req);

		if (dpc_unlikely(n < 0)) {
			/* keep what was answered, drop the rest of the datagram */
			if (n == DPC_MC_PARSE_BAD_MAGIC)
				dpc_stat_inc(h->stats, drop_bad_magic);
			else
				dpc_stat_inc(h->stats, drop_truncated);
			if ((rc = flush_gets(h, &b, w)) < 0)
				return rc;
			return w->total == start ? -EBADMSG : 0;
		}
		off += (size_t)n;
		dpc_stat_inc(h->stats, requests);
		if (dpc_likely((req->base == DPC_OP_GET || req->base == DPC_OP_GETK) && req->error == 0)) {
			struct dpc_key *k = &b.key[b.n];
			k->data = req->key;
			k->len = (uint8_t)req->keylen;
			k->hash = dpc_hash(req->key, req->keylen);
			if (++b.n == DPC_BULK_MAX && (rc = flush_gets(h, &b, w)) < 0)
				return rc;
			continue;
		}
		/* anything else ends the run of GETs: answer them first, in order
		 * (flush_gets() leaves b.req[b.n], which is *req, alone) */
		if (b.n > 0 && (rc = flush_gets(h, &b, w)) < 0)
			return rc;
		if ((rc = do_one(h, req, nparts, w)) < 0)
			return rc;
	}
	return flush_gets(h, &b, w);
}

/* ---- routing and prefetch -------------------------------------------------------- */

static int route_text(const struct dpc_handler *h, const uint8_t *payload, size_t len,
		      unsigned nparts)
{
	size_t off = 0;

	while (off < len) {
		struct dpc_txt_req req;
		int n = dpc_txt_parse(payload + off, len - off, h->max_value, &req);
		if (n < 0)
			break;
		off += (size_t)n;
		const uint8_t *key = NULL, *it = req.keys;
		size_t klen = 0;
		switch (req.cmd) {
		case DPC_TXT_SET: case DPC_TXT_ADD: case DPC_TXT_REPLACE: case DPC_TXT_APPEND:
		case DPC_TXT_PREPEND: case DPC_TXT_CAS: case DPC_TXT_DELETE: case DPC_TXT_INCR:
		case DPC_TXT_DECR: case DPC_TXT_TOUCH:
			key = req.key;
			klen = req.keylen;
			break;
		case DPC_TXT_GAT: case DPC_TXT_GATS: /* the first key decides */
			klen = dpc_txt_next_key(&it, req.keys_end, &key);
			break;
		default:
			break;
		}
		if (klen > 0 && klen <= DPC_KEY_MAX) {
			unsigned part = dpc_hash_part(dpc_hash(key, klen), nparts);
			if (part != h->part)
				return (int)part;
		}
	}
	return DPC_ROUTE_HERE;
}

int dpc_handler_route(const struct dpc_handler *h, const uint8_t *payload, size_t len)
{
	unsigned nparts = dpc_cache_nparts(h->cache);
	size_t off = 0;

	if (nparts == 1 || len == 0)
		return DPC_ROUTE_HERE;
	if (payload[0] != DPC_MC_REQ_MAGIC && payload[0] >= 'a' && payload[0] <= 'z')
		return route_text(h, payload, len, nparts);
	/* headers only, same framing rules as dpc_mc_parse(); stop where it would */
	while (len - off >= DPC_MC_HDR_LEN) {
		const uint8_t *p = payload + off;
		if (p[0] != DPC_MC_REQ_MAGIC)
			break;
		uint32_t bodylen = dpc_get_be32(p + 8);
		if (bodylen > len - off - DPC_MC_HDR_LEN)
			break;
		unsigned keylen = (unsigned)(p[2] << 8 | p[3]), extlen = p[4];
		if (dpc_mc_is_write(dpc_mc_base_op(p[1])) && keylen > 0 && keylen <= DPC_KEY_MAX &&
		    keylen + extlen <= bodylen) {
			unsigned part = dpc_hash_part(dpc_hash(p + DPC_MC_HDR_LEN + extlen, keylen), nparts);
			if (part != h->part)
				return (int)part;
		}
		off += DPC_MC_HDR_LEN + (size_t)bodylen;
	}
	return DPC_ROUTE_HERE;
}

/* Hash of a binary datagram's first key, for the prefetch stages; false if it has none. */
static inline bool first_key_hash(const uint8_t *payload, size_t len, uint64_t *hash)
{
	if (len < DPC_MC_HDR_LEN || payload[0] != DPC_MC_REQ_MAGIC)
		return false;
	unsigned keylen = (unsigned)(payload[2] << 8 | payload[3]), extlen = payload[4];
	if (keylen == 0 || keylen > DPC_KEY_MAX || DPC_MC_HDR_LEN + extlen + keylen > len)
		return false;
	*hash = dpc_hash(payload + DPC_MC_HDR_LEN + extlen, keylen);
	return true;
}

void dpc_handler_prefetch(const struct dpc_handler *h, const uint8_t *payload, size_t len)
{
	uint64_t hash;

	if (first_key_hash(payload, len, &hash))
		dpc_cache_prefetch(h->cache, hash);
}

void dpc_handler_prefetch_item(const struct dpc_handler *h, const uint8_t *payload, size_t len)
{
	uint64_t hash;

	if (first_key_hash(payload, len, &hash))
		dpc_cache_prefetch_item(h->cache, hash);
}
