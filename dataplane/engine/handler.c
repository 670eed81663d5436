/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The request handler's front: each datagram is parsed once into a
 * struct dpc_dgram (handler.h) that routing, the two prefetch stages and
 * processing all read; then dispatch to the codec's processor
 * (proto_bin.c, proto_text.c).
 *
 * Parse once: the first request is parsed in full and kept; the keys of
 * the first DPC_DGRAM_HASHES requests are hashed here and nowhere else.
 * Routing a datagram on a multi-partition cache walks its remaining
 * requests with the same parser (dpc_mc_parse() / dpc_txt_parse()) that
 * processing uses, so both see the same framing.  Keys are numbered in
 * datagram order the same way on both walks (dpc_bin_keyed(),
 * dpc_txt_keyed(), a text key list's keys): key j's hash is d->hash[j].
 */
#include <string.h>

#include "handler_internal.h"

/* ---- parse once ------------------------------------------------------------------ */

/* Text commands that write the store (run on the key's owner). */
static bool txt_is_write(const struct dpc_txt_req *r)
{
	switch (r->cmd) {
	case DPC_TXT_SET: case DPC_TXT_ADD: case DPC_TXT_REPLACE: case DPC_TXT_APPEND:
	case DPC_TXT_PREPEND: case DPC_TXT_CAS: case DPC_TXT_DELETE: case DPC_TXT_INCR:
	case DPC_TXT_DECR: case DPC_TXT_TOUCH:
		return true;
	case DPC_TXT_ERROR:
		return r->drop_key; /* a SET refused as too large removes the old value */
	default:
		return false;
	}
}

/*
 * Account key number *nk (hash it if it gets a slot, or if routing needs
 * it for a write); returns false once the datagram is known to belong to
 * another partition (d->route set).
 */
static bool note_key(const struct dpc_handler *h, struct dpc_dgram *d, unsigned *nk,
		     const uint8_t *key, size_t klen, bool write, bool route, unsigned nparts)
{
	unsigned j = (*nk)++;
	uint64_t hv;

	if (j < DPC_DGRAM_HASHES) {
		hv = d->hash[j] = dpc_hash(key, klen);
		d->nhash = (uint8_t)(j + 1);
	} else if (route && write) {
		hv = dpc_hash(key, klen);
	} else {
		return true;
	}
	if (route && write) {
		unsigned part = dpc_hash_part(hv, nparts);
		if (part != h->part) {
			d->route = (int16_t)part;
			return false;
		}
	}
	return true;
}

static void parse_bin(const struct dpc_handler *h, struct dpc_dgram *d, bool route,
		      unsigned nparts)
{
	const struct dpc_mc_req *r = &d->req.bin;
	struct dpc_mc_req next;
	size_t off;
	unsigned nk = 0;

	d->first = dpc_mc_parse(d->payload, d->len, h->max_value, &d->req.bin);
	if (d->first < 0)
		return;
	off = (size_t)d->first;
	for (;;) {
		if (dpc_bin_keyed(r) &&
		    !note_key(h, d, &nk, r->key, r->keylen, dpc_mc_is_write(r->base), route, nparts))
			return;
		if (!route || off >= d->len)
			return;
		int n = dpc_mc_parse(d->payload + off, d->len - off, h->max_value, &next);
		if (n < 0)
			return; /* processing stops there too */
		off += (size_t)n;
		r = &next;
	}
}

static void parse_text(const struct dpc_handler *h, struct dpc_dgram *d, bool route,
		       unsigned nparts)
{
	const struct dpc_txt_req *r = &d->req.txt;
	struct dpc_txt_req next;
	size_t off;
	unsigned nk = 0;

	d->first = dpc_txt_parse(d->payload, d->len, h->max_value, &d->req.txt);
	if (d->first < 0)
		return;
	off = (size_t)d->first;
	for (;;) {
		if (dpc_txt_keyed(r)) {
			if (!note_key(h, d, &nk, r->key, r->keylen, txt_is_write(r), route, nparts))
				return;
		} else if (dpc_txt_is_list(r)) {
			/* GAT/GATS: the first key decides where the command runs */
			bool write = r->cmd == DPC_TXT_GAT || r->cmd == DPC_TXT_GATS;
			const uint8_t *it = r->keys, *key;
			size_t klen;
			while ((write || nk < DPC_DGRAM_HASHES) &&
			       (klen = dpc_txt_next_key(&it, r->keys_end, &key)) != 0) {
				if (!note_key(h, d, &nk, key, klen, write, route, nparts))
					return;
				write = false;
			}
		}
		if (!route || off >= d->len)
			return;
		int n = dpc_txt_parse(d->payload + off, d->len - off, h->max_value, &next);
		if (n < 0)
			return;
		off += (size_t)n;
		r = &next;
	}
}

void dpc_handler_parse(const struct dpc_handler *h, const uint8_t *payload, size_t len, bool route,
		       struct dpc_dgram *d)
{
	unsigned nparts = dpc_cache_nparts(h->cache);

	d->payload = payload;
	d->len = (uint32_t)len;
	d->nhash = 0;
	d->route = DPC_ROUTE_HERE;
	route = route && nparts > 1;
	/* memcached decides per datagram: the binary magic, else a text command */
	if (dpc_unlikely(len > 0 && dpc_dgram_is_text(payload[0]))) {
		d->proto = DPC_DGRAM_TEXT;
		parse_text(h, d, route, nparts);
	} else {
		d->proto = DPC_DGRAM_BIN;
		parse_bin(h, d, route, nparts);
	}
}

/* ---- prefetch stages --------------------------------------------------------------- */

void dpc_handler_prefetch(const struct dpc_handler *h, const struct dpc_dgram *d)
{
	if (d->nhash > 0)
		dpc_cache_prefetch(h->cache, d->hash[0]);
}

void dpc_handler_prefetch_item(const struct dpc_handler *h, const struct dpc_dgram *d)
{
	if (d->nhash > 0)
		dpc_cache_prefetch_item(h->cache, d->hash[0]);
}

/* ---- dispatch ----------------------------------------------------------------------- */

void dpc_handler_flush(struct dpc_handler *h, uint32_t delay)
{
	if (delay > DPC_EXPTIME_REL_MAX) {
		/* absolute unix time, as memcached's realtime() reads it */
		uint32_t now = dpc_cache_time(h->cache);
		delay = delay > now ? delay - now : 0;
	}
	dpc_cache_flush(h->cache, delay);
}

int dpc_handler_process_dgram(struct dpc_handler *h, const struct dpc_dgram *d, struct dpc_wr *w)
{
	DPC_RETURN_IF(h == NULL || d == NULL || w == NULL, -EINVAL);
	if (dpc_unlikely(d->len == 0)) {
		dpc_stat_inc(h->stats, drop_truncated);
		return -EBADMSG;
	}
	if (dpc_unlikely(d->proto == DPC_DGRAM_TEXT))
		return dpc_proto_text_process(h, d, w);
	return dpc_proto_bin_process(h, d, w);
}

int dpc_handler_too_large(struct dpc_handler *h, const struct dpc_dgram *d, struct dpc_wr *w)
{
	static const char text[] = "SERVER_ERROR response too large\r\n";
	uint8_t hdr[DPC_MC_HDR_LEN];
	const char *txt;
	uint32_t n;
	int rc;

	DPC_RETURN_IF(h == NULL || d == NULL || w == NULL, -EINVAL);
	if (d->proto == DPC_DGRAM_TEXT)
		return dpc_wr_put(w, text, sizeof(text) - 1);
	if (d->first <= 0)
		return 0; /* no request header to answer */
	txt = dpc_mc_status_text(DPC_MC_E2BIG);
	n = (uint32_t)strlen(txt);
	dpc_mc_encode_res_hdr(hdr, &d->req.bin, DPC_MC_E2BIG, 0, 0, n, 0);
	rc = dpc_wr_put(w, hdr, sizeof(hdr));
	return rc < 0 ? rc : dpc_wr_put(w, txt, n);
}

int dpc_handler_process(struct dpc_handler *h, const uint8_t *payload, size_t len, struct dpc_wr *w)
{
	struct dpc_dgram d;

	DPC_RETURN_IF(h == NULL || w == NULL || (payload == NULL && len > 0), -EINVAL);
	dpc_handler_parse(h, payload, len, false, &d);
	return dpc_handler_process_dgram(h, &d, w);
}
