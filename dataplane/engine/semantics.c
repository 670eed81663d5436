/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * memcached semantics of the owner's operations: set/add/replace/append/
 * prepend with CAS, delete, incr/decr, touch, and the cache clock with
 * memcached's exptime rules.  Built on the owner primitives of store.c.
 */
#include <stdatomic.h>
#include <string.h>

#include "dpcache/decimal.h"
#include "dpcache/store.h"
#include "store_internal.h"

/* ---- time --------------------------------------------------------------- */

void dpc_cache_set_time(struct dpc_cache *c, uint32_t now)
{
	atomic_store_explicit(&c->now, now, memory_order_relaxed);
}

uint32_t dpc_cache_time(const struct dpc_cache *c)
{
	return atomic_load_explicit(&c->now, memory_order_relaxed);
}

uint32_t dpc_cache_abs_exptime(const struct dpc_cache *c, uint32_t exptime)
{
	if (exptime == 0)
		return 0;
	if (exptime <= DPC_EXPTIME_REL_MAX)
		return dpc_cache_time(c) + exptime;
	return exptime;
}

/* ---- owner: operations -------------------------------------------------- */

static inline bool bad_key(const struct dpc_key *k)
{
	return k->len == 0 || k->len > DPC_KEY_MAX;
}

enum dpc_status dpc_store_set(struct dpc_cache *c, unsigned part, enum dpc_set_mode mode,
			      const struct dpc_key *k, const void *val, uint32_t vlen,
			      uint32_t flags, uint32_t exptime, uint64_t cas, uint64_t *cas_out)
{
	if (dpc_unlikely(part >= c->nparts || bad_key(k) || (vlen != 0 && val == NULL)))
		return DPC_INVALID;
	if (vlen > c->max_value)
		return DPC_TOO_LARGE;

	struct dpc_part *p = c->parts[part];
	uint32_t now = dpc_cache_time(c);
	struct dpc_kh b = dpc_key_buckets(p, k->hash);
	struct dpc_loc l;
	bool found;

	dpc_check_flush(p, now);
	found = dpc_owner_find(p, k, b, now, &l) && !l.expired;
	if (!found) {
		if (mode == DPC_REPLACE || mode == DPC_APPEND || mode == DPC_PREPEND)
			return DPC_NOT_STORED;
		if (cas != 0)
			return DPC_NOT_FOUND;
	} else {
		if (mode == DPC_ADD)
			return DPC_EXISTS;
		if (cas != 0 && cas != dpc_owner_cas(p, l.it, l.w))
			return DPC_EXISTS;
	}
	if (mode == DPC_APPEND || mode == DPC_PREPEND) {
		bool front = mode == DPC_PREPEND;
		uint32_t ovlen = dpc_w0_vlen(l.w);
		uint32_t oflags = dpc_item_flags(p, l.it, l.w, l.e);
		uint8_t *ov = dpc_item_val(p, l.it, l.w);
		uint32_t oexp = dpc_exp_abs(p, l.e);

		if ((uint64_t)ovlen + vlen > c->max_value)
			return DPC_TOO_LARGE;
		if ((l.w & DPC_ITEM_SLACK) && vlen != 0 &&
		    (l.it->cas32 == DPC_SLACK_FRONT) == front &&
		    dpc_item_size(DPC_ITEM_HDR_MAX, k->len, ovlen + vlen) <= dpc_rec_size(p, l.w)) {
			/* In place, into the slack on the side it is on: the bytes
			 * first, then the length (release: a reader that loads the
			 * new length, with acquire, finds them written; one that
			 * loaded the old length reads the old bytes, which do not
			 * change); an atomic add keeps readers' marks. */
			memcpy(front ? ov - vlen : ov + ovlen, val, vlen);
			atomic_fetch_add_explicit(&l.it->w0, vlen << DPC_ITEM_VSHIFT, memory_order_release);
			dpc_ctr_add(&p->ctr.kv_bytes, vlen);
			if (cas_out)
				*cas_out = dpc_owner_cas(p, l.it, l.w + (vlen << DPC_ITEM_VSHIFT));
			return DPC_OK;
		}
		/* A new slack item, its slack on the side this command grows.  The
		 * old item stays readable while we copy it: it cannot be reclaimed
		 * before this thread's next quiescent state. */
		if (front)
			return dpc_write_item_slack(p, k, b, val, vlen, ov, ovlen, oflags, oexp, now,
						    cas_out, true);
		return dpc_write_item_slack(p, k, b, ov, ovlen, val, vlen, oflags, oexp, now, cas_out,
					    false);
	}
	return dpc_write_item(p, k, b, val, vlen, NULL, 0, flags, dpc_cache_abs_exptime(c, exptime),
			  now, cas_out);
}

enum dpc_status dpc_store_delete(struct dpc_cache *c, unsigned part, const struct dpc_key *k,
				 uint64_t cas)
{
	if (dpc_unlikely(part >= c->nparts || bad_key(k)))
		return DPC_INVALID;

	struct dpc_part *p = c->parts[part];
	uint32_t now = dpc_cache_time(c);
	struct dpc_loc l;

	dpc_check_flush(p, now);
	if (!dpc_owner_find(p, k, dpc_key_buckets(p, k->hash), now, &l))
		return DPC_NOT_FOUND;
	if (l.expired) {
		atomic_store_explicit(l.slot, 0, memory_order_relaxed);
		dpc_drop_dead(p, l.pos);
		dpc_ctr_add(&p->ctr.expired, 1);
		return DPC_NOT_FOUND;
	}
	if (cas != 0 && cas != dpc_owner_cas(p, l.it, l.w))
		return DPC_EXISTS;
	/* Relaxed: clearing publishes nothing; readers that still hold the ref
	 * read a valid item until their next quiescent state. */
	atomic_store_explicit(l.slot, 0, memory_order_relaxed);
	dpc_drop_dead(p, l.pos);
	return DPC_OK;
}

enum dpc_status dpc_store_arith(struct dpc_cache *c, unsigned part, const struct dpc_key *k,
				bool incr, uint64_t delta, uint64_t initial, uint32_t exptime,
				uint64_t cas, uint64_t *value_out, uint64_t *cas_out)
{
	if (dpc_unlikely(part >= c->nparts || bad_key(k)))
		return DPC_INVALID;

	struct dpc_part *p = c->parts[part];
	uint32_t now = dpc_cache_time(c);
	struct dpc_kh b = dpc_key_buckets(p, k->hash);
	struct dpc_loc l;
	char buf[64];
	uint64_t v;
	enum dpc_status st;

	dpc_check_flush(p, now);
	if (!dpc_owner_find(p, k, b, now, &l) || l.expired) {
		if (exptime == 0xffffffffu || cas != 0)
			return DPC_NOT_FOUND;
		v = initial;
		st = dpc_write_item(p, k, b, buf, dpc_dec_format_u64(v, buf), NULL, 0, 0,
				dpc_cache_abs_exptime(c, exptime), now, cas_out);
	} else {
		if (cas != 0 && cas != dpc_owner_cas(p, l.it, l.w))
			return DPC_EXISTS;
		uint32_t old = dpc_w0_vlen(l.w), n;
		if (!dpc_dec_parse_value(dpc_item_val(p, l.it, l.w), old, &v))
			return DPC_NON_NUMERIC;
		if (incr)
			v += delta;     /* wraps at 2^64, as memcached */
		else
			v = v > delta ? v - delta : 0;
		n = dpc_dec_format_u64(v, buf);
		/* memcached rewrites a value that got shorter in place, padded with spaces
		 * to its old length (up to the size of buf here) */
		if (n < old && old <= sizeof(buf)) {
			memset(buf + n, ' ', old - n);
			n = old;
		}
		st = dpc_write_item(p, k, b, buf, n, NULL, 0, dpc_item_flags(p, l.it, l.w, l.e),
				dpc_exp_abs(p, l.e), now, cas_out);
	}
	if (st == DPC_OK && value_out)
		*value_out = v;
	return st;
}

enum dpc_status dpc_store_touch(struct dpc_cache *c, unsigned part, const struct dpc_key *k,
				uint32_t exptime, struct dpc_item_view *out)
{
	if (dpc_unlikely(part >= c->nparts || bad_key(k)))
		return DPC_INVALID;

	struct dpc_part *p = c->parts[part];
	uint32_t now = dpc_cache_time(c);
	struct dpc_loc l;

	dpc_check_flush(p, now);
	if (!dpc_owner_find(p, k, dpc_key_buckets(p, k->hash), now, &l) || l.expired)
		return DPC_NOT_FOUND;
	uint32_t exp = dpc_cache_abs_exptime(c, exptime);
	/* The flags index stays: only the expiry bits change. */
	uint32_t e = (l.e & ~DPC_EXP_MASK) | dpc_exp_enc(p, exp);

	/* Relaxed: exptime is the one mutable field; readers load it atomically. */
	atomic_store_explicit(&l.it->exptime, e, memory_order_relaxed);
	p->has_ttl |= exp != 0;
	if (out)
		dpc_fill_view(p, l.it, l.pos, l.w, e, out);
	return DPC_OK;
}
