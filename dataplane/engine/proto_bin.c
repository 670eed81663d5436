/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The memcached binary protocol: every request of one datagram in, the
 * response byte stream out (through a dpc_wr), against the cache.
 *
 * Semantics follow memcached 1.6 proto_bin.c:
 *  - quiet opcodes answer only errors; a quiet GET/GAT miss is silent,
 *    a quiet GET/GAT hit is answered (the multi-get idiom GETKQ.. + NOOP);
 *  - error responses carry memcached's error text as the value and CAS 0
 *    (dpc_mc_status_text());
 *  - successful writes carry the new CAS; GET/GAT/TOUCH carry 4 bytes of
 *    flags as extras; GETK/GATK carry the key (also on a miss);
 *  - ADD on an existing key -> KEY_EEXISTS, REPLACE on a missing key ->
 *    KEY_ENOENT, APPEND/PREPEND on a missing key -> NOT_STORED;
 *  - a SET refused as too large also deletes the old value (memcached
 *    does so that a failed SET never leaves stale data behind).
 *
 * Hot path (GET): no allocation, no syscall, no division; runs of
 * consecutive GET/GETK requests (multi-get) are looked up together with
 * dpc_cache_get_bulk() so that their cache misses overlap.  Key hashes
 * come from the datagram's descriptor (handler.c) where it kept them.
 */
#include <string.h>

#include "dpcache/byteorder.h"
#include "handler_internal.h"

/* Header plus up to 4 bytes of extras and a key, written with one put. */
struct resp_head {
	uint8_t b[DPC_MC_HDR_LEN + 4 + DPC_KEY_MAX];
};

static int put_error(struct dpc_handler *h, const struct dpc_mc_req *req, uint16_t st,
		     struct dpc_wr *w)
{
	uint8_t hdr[DPC_MC_HDR_LEN];
	const char *txt = dpc_mc_status_text(st);
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

/* STAT [group]: memcached's answers per group (handler_internal.h). */
static int do_stat(struct dpc_handler *h, const struct dpc_mc_req *req, struct dpc_wr *w)
{
	struct bin_stat_ctx ctx = {req, w};
	uint8_t hdr[DPC_MC_HDR_LEN];
	const uint8_t *g = req->key, *sub = NULL;
	size_t glen = req->keylen, sublen = 0;
	int rc = 0;

	/* "detail on": the group, a space, its argument */
	const uint8_t *sp = glen ? memchr(g, ' ', glen) : NULL;
	if (sp != NULL) {
		sub = sp + 1;
		sublen = glen - (size_t)(sub - g);
		glen = (size_t)(sp - g);
	}
	switch (dpc_stats_classify(g, glen, sub, sublen)) {
	case DPC_STATS_LIST:
		rc = dpc_proto_stats(h, g, glen, bin_stat, &ctx);
		break;
	case DPC_STATS_DETAIL_DUMP:
		rc = bin_stat(&ctx, "detailed", "END\r\n");
		break;
	case DPC_STATS_RESET: /* acknowledged; the counters stay monotonic (docs/design.md) */
		if (dpc_unlikely(h->admin_denied)) { /* administrative: the admin list only */
			dpc_stat_inc(h->stats, refused_admin);
			return put_error(h, req, DPC_MC_AUTH_ERROR, w);
		}
		break;
	case DPC_STATS_DETAIL_SET:
		break;
	default: /* unknown group, "detail" without on|off|dump */
		return put_error(h, req, DPC_MC_KEY_ENOENT, w);
	}
	if (rc < 0)
		return rc;
	/* the empty terminator */
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
	case DPC_TOO_LARGE:
		/* an APPEND/PREPEND whose result would be too large: memcached says "not stored" */
		return (base == DPC_OP_APPEND || base == DPC_OP_PREPEND) ? DPC_MC_NOT_STORED
									 : DPC_MC_E2BIG;
	case DPC_NON_NUMERIC: return DPC_MC_DELTA_BADVAL;
	case DPC_NOSPACE: return DPC_MC_ETMPFAIL;   /* transient: retry (store.h) */
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
	case DPC_NOSPACE: return DPC_MC_ETMPFAIL;   /* transient: retry (store.h) */
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
		dpc_count_store(s, st, req->cas != 0);
		ws = set_status(req->base, st, req->cas);
		break;
	}
	case DPC_OP_DELETE:
		dpc_stat_inc(s, cmd_delete);
		st = dpc_store_delete(c, part, k, req->cas);
		dpc_count_delete(s, st, req->cas != 0);
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
		if (st != DPC_NOT_FOUND || req->cas == 0)
			dpc_count_arith(s, incr, st);
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
		dpc_count_touch(s, st);
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
	return put_error(h, req, ws, w);
}

/* ---- dispatch ------------------------------------------------------------------ */

/* The key of @req, key number @kj of datagram @d (dpc_bin_keyed(req) holds). */
static inline struct dpc_key key_of(const struct dpc_dgram *d, unsigned kj,
				    const struct dpc_mc_req *req)
{
	struct dpc_key k = {.data = req->key, .len = (uint8_t)req->keylen};

	k.hash = dpc_dgram_hash(d, kj, req->key, req->keylen);
	return k;
}

/* Everything but the batched GET path; @req parsed without error or with one. */
static int do_one(struct dpc_handler *h, const struct dpc_dgram *d, unsigned kj,
		  const struct dpc_mc_req *req, unsigned nparts, struct dpc_wr *w)
{
	struct dpc_worker_stats *s = h->stats;

	if (dpc_unlikely(req->error)) {
		if (req->error == DPC_MC_UNKNOWN_COMMAND) {
			dpc_stat_inc(s, cmd_unknown);
		} else if (req->error == DPC_MC_E2BIG && req->base == DPC_OP_SET) {
			/* memcached drops the old value of a refused SET: never serve stale data */
			struct dpc_key k = key_of(d, kj, req);
			if (dpc_hash_part(k.hash, nparts) == h->part)
				(void)dpc_store_delete(h->cache, h->part, &k, 0);
		}
		return put_error(h, req, req->error, w);
	}

	if (dpc_mc_is_write(req->base)) {
		struct dpc_key k = key_of(d, kj, req);
		if (dpc_unlikely(dpc_hash_part(k.hash, nparts) != h->part))
			return put_error(h, req, DPC_MC_ETMPFAIL, w);
		return do_write(h, req, &k, w);
	}

	switch (req->base) {
	case DPC_OP_NOOP:
		dpc_stat_inc(s, cmd_noop);
		return put_ok(req, 0, w);
	case DPC_OP_VERSION: {
		const char *v = dpc_handler_version(h);
		uint32_t n = (uint32_t)strlen(v);
		uint8_t hdr[DPC_MC_HDR_LEN];
		int rc;
		dpc_stat_inc(s, cmd_version);
		dpc_mc_encode_res_hdr(hdr, req, DPC_MC_OK, 0, 0, n, 0);
		rc = dpc_wr_put(w, hdr, sizeof(hdr));
		return rc < 0 ? rc : dpc_wr_put(w, v, n);
	}
	case DPC_OP_FLUSH:
		dpc_stat_inc(s, cmd_flush);
		if (dpc_unlikely(h->admin_denied)) {
			dpc_stat_inc(s, refused_admin);
			return put_error(h, req, DPC_MC_AUTH_ERROR, w);
		}
		dpc_handler_flush(h, req->exptime);
		return put_ok(req, 0, w);
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

int dpc_proto_bin_process(struct dpc_handler *h, const struct dpc_dgram *d, struct dpc_wr *w)
{
	struct get_batch b;
	const uint8_t *payload = d->payload;
	size_t len = d->len, off = 0, start = w->total;
	unsigned nparts = dpc_cache_nparts(h->cache), nk = 0;
	int rc;

	b.n = 0;
	while (off < len) {
		struct dpc_mc_req *req = &b.req[b.n];
		int n;

		if (off == 0) {
			/* the first request, parsed by dpc_handler_parse() */
			n = d->first;
			if (dpc_likely(n > 0))
				*req = d->req.bin;
		} else {
			n = dpc_mc_parse(payload + off, len - off, h->max_value, req);
		}
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
		/* key numbering as in dpc_handler_parse(): every keyed request counts */
		unsigned kj = dpc_bin_keyed(req) ? nk++ : 0;
		if (dpc_likely((req->base == DPC_OP_GET || req->base == DPC_OP_GETK) && req->error == 0)) {
			b.key[b.n] = key_of(d, kj, req);
			if (++b.n == DPC_BULK_MAX && (rc = flush_gets(h, &b, w)) < 0)
				return rc;
			continue;
		}
		/* anything else ends the run of GETs: answer them first, in order
		 * (flush_gets() leaves b.req[b.n], which is *req, alone) */
		if (b.n > 0 && (rc = flush_gets(h, &b, w)) < 0)
			return rc;
		if ((rc = do_one(h, d, kj, req, nparts, w)) < 0)
			return rc;
		/* memcached closes the connection after QUIT and protocol errors: the rest is not read */
		if (dpc_unlikely((req->base == DPC_OP_QUIT && req->error == 0) || req->fatal))
			return 0;
	}
	return flush_gets(h, &b, w);
}
