/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The memcached text protocol over UDP: the commands of one datagram
 * (parsed by dpc_txt_parse(), lib/textproto.c) answered as memcached 1.6
 * proto_text.c answers them, against the cache.  Errors are sent even
 * with noreply, as memcached does.  Key hashes come from the datagram's
 * descriptor (handler.c) where it kept them.
 */
#include <stdio.h>
#include <string.h>

#include "dpcache/decimal.h"
#include "handler_internal.h"

static const char E_NON_NUMERIC[] = "CLIENT_ERROR cannot increment or decrement non-numeric value";

static int put_line(struct dpc_wr *w, const char *s)
{
	int rc = dpc_wr_put(w, s, strlen(s));

	return rc < 0 ? rc : dpc_wr_put(w, "\r\n", 2);
}

/* An admin command from a source not in `admin` (sent even with noreply: an error). */
static int txt_denied(struct dpc_handler *h, struct dpc_wr *w)
{
	dpc_stat_inc(h->stats, refused_admin);
	return put_line(w, "CLIENT_ERROR permission denied");
}

/* A result line, unless noreply. */
static int txt_reply(const struct dpc_txt_req *req, const char *s, struct dpc_wr *w)
{
	return req->noreply ? 0 : put_line(w, s);
}

static void txt_count_error(struct dpc_handler *h, const char *s)
{
	if (strcmp(s, "ERROR") == 0)
		dpc_stat_inc(h->stats, cmd_unknown);
	else if (strncmp(s, "SERVER_ERROR object too large", 29) == 0)
		dpc_stat_inc(h->stats, errors_too_large);
	else if (strncmp(s, "SERVER_ERROR out of memory", 26) == 0)
		dpc_stat_inc(h->stats, errors_nospace);
	else if (strncmp(s, "CLIENT_ERROR", 12) == 0)
		dpc_stat_inc(h->stats, errors_inval);
}

/* An error line, counted; sent even with noreply (memcached's out_errstring(): out of memory). */
static int txt_error(struct dpc_handler *h, const char *s, struct dpc_wr *w)
{
	txt_count_error(h, s);
	return put_line(w, s);
}

/* An error line that noreply silences, as memcached's out_string() does; counted either way. */
static int txt_error_nr(struct dpc_handler *h, const struct dpc_txt_req *req, const char *s,
			struct dpc_wr *w)
{
	txt_count_error(h, s);
	return req->noreply ? 0 : put_line(w, s);
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

static const char *txt_store_result(enum dpc_txt_cmd cmd, enum dpc_status st)
{
	switch (st) {
	case DPC_OK: return "STORED";
	case DPC_EXISTS: return cmd == DPC_TXT_ADD ? "NOT_STORED" : "EXISTS";
	case DPC_NOT_FOUND: return cmd == DPC_TXT_CAS ? "NOT_FOUND" : "NOT_STORED";
	case DPC_NOT_STORED: return "NOT_STORED";
	case DPC_TOO_LARGE: /* the result of an APPEND/PREPEND: memcached says NOT_STORED */
		if (cmd == DPC_TXT_APPEND || cmd == DPC_TXT_PREPEND)
			return "NOT_STORED";
		return "SERVER_ERROR object too large for cache";
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

/* get/gets/gat/gats; *nk: the datagram's key number of the list's first key, advanced. */
static int txt_get(struct dpc_handler *h, const struct dpc_dgram *d, unsigned *nk,
		   const struct dpc_txt_req *req, unsigned nparts, struct dpc_wr *w)
{
	struct dpc_worker_stats *s = h->stats;
	bool touch = req->cmd == DPC_TXT_GAT || req->cmd == DPC_TXT_GATS;
	bool with_cas = req->cmd == DPC_TXT_GETS || req->cmd == DPC_TXT_GATS;
	const uint8_t *it = req->keys, *key;
	size_t klen;
	int rc;

	while ((klen = dpc_txt_next_key(&it, req->keys_end, &key)) != 0) {
		struct dpc_key k = {.data = key, .len = (uint8_t)klen};
		struct dpc_item_view v;
		enum dpc_status st;

		k.hash = dpc_dgram_hash(d, (*nk)++, key, klen);
		if (touch) {
			dpc_stat_inc(s, cmd_gat);
			if (dpc_hash_part(k.hash, nparts) != h->part) {
				if ((rc = put_line(w, "SERVER_ERROR temporary failure")) < 0)
					return rc;
				continue;
			}
			st = dpc_store_touch(h->cache, h->part, &k, req->exptime, &v);
			dpc_count_touch(s, st);
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

static int do_text(struct dpc_handler *h, const struct dpc_dgram *d, unsigned *nk,
		   const struct dpc_txt_req *req, unsigned nparts, struct dpc_wr *w)
{
	struct dpc_worker_stats *s = h->stats;
	struct dpc_key k = {.data = req->key, .len = (uint8_t)req->keylen};
	enum dpc_status st;
	char buf[96];
	/* key numbering as in dpc_handler_parse(): a single key counts, keyed or not used */
	unsigned kj = dpc_txt_keyed(req) ? (*nk)++ : 0;

	switch (req->cmd) {
	case DPC_TXT_ERROR:
		if (dpc_unlikely(req->drop_key) && dpc_txt_keyed(req)) {
			/* a SET refused as too large: memcached unlinks the old value too */
			k.hash = dpc_dgram_hash(d, kj, req->key, req->keylen);
			if (dpc_hash_part(k.hash, nparts) == h->part)
				(void)dpc_store_delete(h->cache, h->part, &k, 0);
		}
		return txt_error_nr(h, req, req->error, w);
	case DPC_TXT_GET: case DPC_TXT_GETS: case DPC_TXT_GAT: case DPC_TXT_GATS:
		return txt_get(h, d, nk, req, nparts, w);
	case DPC_TXT_VERSION:
		dpc_stat_inc(s, cmd_version);
		snprintf(buf, sizeof(buf), "VERSION %.80s", dpc_handler_version(h));
		return put_line(w, buf);
	case DPC_TXT_VERBOSITY:
		if (dpc_unlikely(h->admin_denied))
			return txt_denied(h, w);
		return txt_reply(req, "OK", w);
	case DPC_TXT_FLUSH_ALL:
		dpc_stat_inc(s, cmd_flush);
		if (dpc_unlikely(h->admin_denied))
			return txt_denied(h, w);
		dpc_handler_flush(h, req->exptime);
		return txt_reply(req, "OK", w);
	case DPC_TXT_STATS: {
		int rc;
		dpc_stat_inc(s, cmd_stat);
		switch (dpc_stats_classify(req->arg, req->arglen, req->arg2, req->arg2len)) {
		case DPC_STATS_LIST:
			rc = dpc_proto_stats(h, req->arg, req->arglen, txt_stat, w);
			return rc < 0 ? rc : put_line(w, "END");
		case DPC_STATS_RESET:
			if (dpc_unlikely(h->admin_denied)) /* administrative: the admin list only */
				return txt_denied(h, w);
			/* acknowledged; the counters stay monotonic (docs/design.md) */
			return put_line(w, "RESET");
		case DPC_STATS_DETAIL_SET:
			return put_line(w, "OK");
		case DPC_STATS_DETAIL_DUMP:
			return put_line(w, "END");
		case DPC_STATS_DETAIL_USAGE:
			return txt_error(h, "CLIENT_ERROR usage: stats detail on|off|dump", w);
		default:
			return txt_error(h, "ERROR", w);
		}
	}
	case DPC_TXT_QUIT:
		dpc_stat_inc(s, cmd_quit);
		return 0;
	default:
		break;
	}

	/* single-key writes: the owner only */
	k.hash = dpc_dgram_hash(d, kj, req->key, req->keylen);
	if (dpc_unlikely(dpc_hash_part(k.hash, nparts) != h->part))
		return put_line(w, "SERVER_ERROR temporary failure");
	switch (req->cmd) {
	case DPC_TXT_DELETE:
		dpc_stat_inc(s, cmd_delete);
		st = dpc_store_delete(h->cache, h->part, &k, 0);
		dpc_count_delete(s, st, false);
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
		dpc_count_arith(s, incr, st);
		if (st == DPC_OK) {
			dpc_dec_format_u64(val, buf);
			return txt_reply(req, buf, w);
		}
		if (st == DPC_NOT_FOUND)
			return txt_reply(req, "NOT_FOUND", w);
		if (st == DPC_NON_NUMERIC)
			return txt_error_nr(h, req, E_NON_NUMERIC, w);
		return txt_error(h, "SERVER_ERROR out of memory", w);
	}
	case DPC_TXT_TOUCH:
		dpc_stat_inc(s, cmd_touch);
		st = dpc_store_touch(h->cache, h->part, &k, req->exptime, NULL);
		dpc_count_touch(s, st);
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
		dpc_count_store(s, st, req->cmd == DPC_TXT_CAS);
		const char *r = txt_store_result(req->cmd, st);
		if (st == DPC_NOSPACE)
			return txt_error(h, r, w); /* memcached's out_of_memory(): even with noreply */
		return r[0] == 'S' || r[0] == 'C' ? txt_error_nr(h, req, r, w) : txt_reply(req, r, w);
	}
	}
}

int dpc_proto_text_process(struct dpc_handler *h, const struct dpc_dgram *d, struct dpc_wr *w)
{
	const uint8_t *payload = d->payload;
	size_t len = d->len, off = 0, start = w->total;
	unsigned nparts = dpc_cache_nparts(h->cache), nk = 0;
	int rc;

	while (off < len) {
		struct dpc_txt_req one;
		const struct dpc_txt_req *req;
		int n;

		if (off == 0) {
			/* the first command, parsed by dpc_handler_parse() */
			n = d->first;
			req = &d->req.txt;
		} else {
			n = dpc_txt_parse(payload + off, len - off, h->max_value, &one);
			req = &one;
		}
		if (dpc_unlikely(n < 0)) {
			dpc_stat_inc(h->stats, drop_truncated);
			return w->total == start ? -EBADMSG : 0;
		}
		off += (size_t)n;
		dpc_stat_inc(h->stats, requests);
		if ((rc = do_text(h, d, &nk, req, nparts, w)) < 0)
			return rc;
		if (req->cmd == DPC_TXT_QUIT)
			break; /* memcached closes the connection: the rest is not read */
	}
	return 0;
}
