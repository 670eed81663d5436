/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The store's lock-free readers: single and batched lookups, and the
 * prefetch hints of the request pipeline.  They follow the reader half of
 * the index protocol (table.h) and add what the table does not know: what
 * a reference points to (its log position, valid only at or above the
 * log's head and flush horizon) and the key compare.  Any registered QSBR
 * reader thread.
 */
#include <stdatomic.h>
#include <string.h>

#include "dpcache/store.h"
#include "store_internal.h"

/*
 * The position a selected filter bit of @p bk refers to, or 0 if that slot
 * does not hold @p tag (any more) or refers below @p from (retired,
 * flushed; also empty slots).
 */
static inline uint64_t cand_pos(const struct dpc_part *p, const struct dpc_bucket *bk,
				unsigned bit, uint16_t tag, const uint64_t from[2])
{
	uint64_t s = dpc_table_cand(bk, bit, tag);

	return s != 0 ? dpc_slot_pos(p, s, from) : 0;
}

static inline uint64_t rd64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* Key equality; keys of 8..16 bytes (the common case) are compared as two
 * overlapping 8-byte words, without a call.  Both buffers hold @p len bytes. */
static inline bool key_eq(const uint8_t *a, const uint8_t *b, unsigned len)
{
	if (dpc_likely(len - 8u <= 8u))
		return ((rd64(a) ^ rd64(b)) | (rd64(a + len - 8) ^ rd64(b + len - 8))) == 0;
	return memcmp(a, b, len) == 0;
}

/* Compare one candidate; fill @p out and return true on a live match. */
static inline bool try_item(const struct dpc_part *p, uint64_t pos, const struct dpc_key *k,
			    uint32_t now, struct dpc_item_view *out)
{
	struct dpc_item *it = dpc_item_at(p, pos);
	/* Acquire: a slack item's vlen grows in place (release add, after the
	 * bytes): the value bytes below the length loaded here are written. */
	uint32_t w = atomic_load_explicit(&it->w0, memory_order_acquire);

	if (dpc_w0_klen(w) != k->len || !key_eq(dpc_item_key(it, w), k->data, k->len))
		return false;
	uint32_t exp = atomic_load_explicit(&it->exptime, memory_order_relaxed);

	if (dpc_expired(p, exp, now))
		return false;
	/* Mark as used (CLOCK, S3-FIFO).  Relaxed store of the same word plus
	 * the bit: the owner never rewrites w0 of a published item, except a
	 * slack item's length, so those take an atomic OR (rare: once per
	 * item per pass, and only APPEND makes slack items). */
	if (p->mark_hits && !(w & DPC_ITEM_ACC)) {
		if (dpc_likely(!(w & DPC_ITEM_SLACK)))
			atomic_store_explicit(&it->w0, w | DPC_ITEM_ACC, memory_order_relaxed);
		else
			atomic_fetch_or_explicit(&it->w0, DPC_ITEM_ACC, memory_order_relaxed);
	}
	dpc_fill_view(p, it, pos, w, exp, out);
	return true;
}

static enum dpc_status part_get(struct dpc_part *p, const struct dpc_key *k, uint32_t now,
				struct dpc_item_view *out)
{
	const struct dpc_table *t = &p->tbl;
	uint16_t tag = dpc_table_tag(k->hash);
	uint32_t i1 = dpc_table_b1(t, k->hash);
	const struct dpc_bucket *b1 = &t->b[i1], *b2 = NULL;

	dpc_check_flush(p, now);
	for (;;) {
		/* Primary bucket first (about 90 % of keys live there): the second
		 * bucket's line is touched only on a miss in the first, as in
		 * dpc_cache_get_bulk(). */
		uint32_t v1 = dpc_table_version_begin(b1);

		if (dpc_table_version_odd(v1)) {   /* a cuckoo move is in progress */
			dpc_table_relax();
			continue;
		}
		uint64_t from[2];

		dpc_part_valid_from(p, from);

		for (uint32_t m = dpc_table_tag_filter(b1, tag); m != 0; m &= m - 1) {
			uint64_t pos = cand_pos(p, b1, (unsigned)__builtin_ctz(m), tag, from);

			if (pos != 0 && try_item(p, pos, k, now, out))
				return DPC_OK;   /* a hit is validated by the full key */
		}
		if (b2 == NULL)
			b2 = &t->b[dpc_table_alt(t, i1, tag)];
		/* Loaded after b1 was scanned: a move between b1 and b2 at any time
		 * since v1 was loaded changes b1's version, caught below. */
		uint32_t v2 = dpc_table_version_begin(b2);

		if (dpc_table_version_odd(v2)) {
			dpc_table_relax();
			continue;
		}
		for (uint32_t m = b2 == b1 ? 0 : dpc_table_tag_filter(b2, tag); m != 0; m &= m - 1) {
			uint64_t pos = cand_pos(p, b2, (unsigned)__builtin_ctz(m), tag, from);

			if (pos != 0 && try_item(p, pos, k, now, out))
				return DPC_OK;
		}
		/* A miss is final only if no entry moved between the two buckets
		 * meanwhile. */
		if (dpc_table_version_end(b1, v1, b2, v2))
			return DPC_NOT_FOUND;
	}
}

void dpc_cache_prefetch(const struct dpc_cache *c, uint64_t hash)
{
	const struct dpc_part *p = dpc_part_of(c, hash);
	uint32_t i1 = dpc_table_b1(&p->tbl, hash);

	dpc_prefetch0(&p->tbl.b[i1]);
}

void dpc_cache_prefetch_item(const struct dpc_cache *c, uint64_t hash)
{
	const struct dpc_part *p = dpc_part_of(c, hash);
	const struct dpc_table *t = &p->tbl;
	uint16_t tag = dpc_table_tag(hash);
	uint32_t i1 = dpc_table_b1(t, hash);
	const struct dpc_bucket *b1 = &t->b[i1];
	uint32_t m = dpc_table_tag_filter(b1, tag);

	if (m == 0) {
		dpc_prefetch0(&t->b[dpc_table_alt(t, i1, tag)]);
		return;
	}
	/* Relaxed: a hint; part_get() re-reads the slot with acquire before use. */
	uint64_t s = atomic_load_explicit(&b1->slot[dpc_table_filter_slot((unsigned)__builtin_ctz(m))],
					  memory_order_relaxed);
	uint64_t from[2];

	dpc_part_valid_from(p, from);
	uint64_t pos = s != 0 ? dpc_slot_pos(p, s, from) : 0;

	if (pos != 0) {
		const uint8_t *it = (const uint8_t *)dpc_item_at(p, pos);

		/* Header, key and a short value span two lines in most cases. */
		dpc_prefetch0(it);
		dpc_prefetch0(it + DPC_CACHE_LINE);
	}
}

enum dpc_status dpc_cache_get(const struct dpc_cache *c, const struct dpc_key *k,
			      struct dpc_item_view *out)
{
	if (dpc_unlikely(k->len == 0 || k->len > DPC_KEY_MAX))
		return DPC_INVALID;
	return part_get(dpc_part_of(c, k->hash), k, dpc_cache_time(c), out);
}

/* Value lines prefetched by stage 3 of dpc_cache_get_bulk() for large values. */
#define BULK_VAL_PREFETCH_LINES 32u

void dpc_cache_get_bulk(const struct dpc_cache *c, const struct dpc_key *keys, unsigned n,
			struct dpc_item_view *out, enum dpc_status *st)
{
	enum { B_MISS, B_CAND, B_SLOW, B_INVALID, B_NEED_B2 };
	struct {
		struct dpc_part *p;
		const struct dpc_bucket *b1, *b2;   /* b2: only once needed (B_NEED_B2) */
		uint64_t pos;        /* the one candidate (B_CAND) */
		uint32_t i1;         /* index of b1 */
		uint32_t v1;         /* version of b1 before its filter */
		uint32_t m1;         /* tag filter of b1 */
		uint16_t tag;
		uint8_t state;
	} s[DPC_BULK_MAX];
	uint32_t now = dpc_cache_time(c);
	unsigned need_b2 = 0;

	if (n > DPC_BULK_MAX)
		n = DPC_BULK_MAX;
	/*
	 * Stage 1: hash -> buckets; prefetch the primary bucket of every key.
	 * The owner inserts into b1 when it has room, so most keys (about 90 %
	 * at the target load) are found there; b2 is fetched only for the
	 * others (stage 3b), which saves one line per lookup.
	 */
	for (unsigned i = 0; i < n; i++) {
		struct dpc_part *p = dpc_part_of(c, keys[i].hash);
		uint16_t tag = dpc_table_tag(keys[i].hash);
		uint32_t i1 = dpc_table_b1(&p->tbl, keys[i].hash);

		s[i].p = p;
		s[i].tag = tag;
		s[i].i1 = i1;
		s[i].b1 = &p->tbl.b[i1];
		dpc_prefetch0(s[i].b1);
		dpc_check_flush(p, now);
	}
	/* Stage 2: version and tag filter of b1.  A short loop without
	 * data-dependent branches, so that the out-of-order core keeps many of
	 * the misses of stage 1 in flight at once. */
	for (unsigned i = 0; i < n; i++) {
		s[i].v1 = dpc_table_version_begin(s[i].b1);
		s[i].m1 = dpc_table_tag_filter(s[i].b1, s[i].tag);
	}
	/* Stage 3: the candidate of each key in b1: prefetch its item; none:
	 * prefetch b2. */
	for (unsigned i = 0; i < n; i++) {
		uint64_t from[2];
		unsigned ncand = 0;

		dpc_part_valid_from(s[i].p, from);
		if (dpc_unlikely(keys[i].len == 0 || keys[i].len > DPC_KEY_MAX)) {
			s[i].state = B_INVALID;
			continue;
		}
		for (uint32_t m = s[i].m1; m != 0; m &= m - 1) {
			uint64_t pos = cand_pos(s[i].p, s[i].b1, (unsigned)__builtin_ctz(m), s[i].tag,
						from);

			if (pos != 0) {
				s[i].pos = pos;
				ncand++;
			}
		}
		if (dpc_unlikely(ncand > 1 || dpc_table_version_odd(s[i].v1))) {
			s[i].state = B_SLOW;   /* tag collision, or a cuckoo move under way */
		} else if (ncand == 1) {
			const uint8_t *it = (const uint8_t *)dpc_item_at(s[i].p, s[i].pos);

			/* The header and key, and the rest of an item of up to a line. */
			dpc_prefetch0(it);
			dpc_prefetch0(it + DPC_CACHE_LINE - 1);
			s[i].state = B_CAND;
		} else {
			const struct dpc_table *t = &s[i].p->tbl;

			s[i].b2 = &t->b[dpc_table_alt(t, s[i].i1, s[i].tag)];
			dpc_prefetch0(s[i].b2);
			s[i].state = B_NEED_B2;
			need_b2++;
		}
	}
	/* Stage 3b: keys not in b1 look in b2.  A miss is final only if neither
	 * version changed since it was read before its bucket's scan: b1 was
	 * scanned before b2, so a key that moved from b2 to b1 in between
	 * changed v1 (see part_get()). */
	for (unsigned i = 0; need_b2 != 0 && i < n; i++) {
		if (s[i].state != B_NEED_B2)
			continue;
		need_b2--;

		const struct dpc_bucket *b2 = s[i].b2;
		uint32_t v2 = dpc_table_version_begin(b2);
		uint64_t from[2];
		unsigned ncand = 0;

		dpc_part_valid_from(s[i].p, from);

		for (uint32_t m = dpc_table_tag_filter(b2, s[i].tag); m != 0; m &= m - 1) {
			uint64_t pos = cand_pos(s[i].p, b2, (unsigned)__builtin_ctz(m), s[i].tag, from);

			if (pos != 0) {
				s[i].pos = pos;
				ncand++;
			}
		}
		if (dpc_unlikely(ncand > 1 || dpc_table_version_odd(v2) || b2 == s[i].b1)) {
			s[i].state = B_SLOW;
		} else if (ncand == 1) {
			const uint8_t *it = (const uint8_t *)dpc_item_at(s[i].p, s[i].pos);

			dpc_prefetch0(it);
			dpc_prefetch0(it + DPC_CACHE_LINE - 1);
			s[i].state = B_CAND;
		} else {
			s[i].state = dpc_table_version_end(s[i].b1, s[i].v1, b2, v2) ? B_MISS : B_SLOW;
		}
	}
	/* Stage 4: compare keys and answer; start fetching large values, which
	 * the caller reads next. */
	for (unsigned i = 0; i < n; i++) {
		switch (s[i].state) {
		case B_CAND:
			if (dpc_likely(try_item(s[i].p, s[i].pos, &keys[i], now, &out[i]))) {
				st[i] = DPC_OK;
				if (dpc_unlikely(out[i].vlen > DPC_CACHE_LINE)) {
					const uint8_t *v = out[i].val;
					uint32_t l = out[i].vlen < BULK_VAL_PREFETCH_LINES * DPC_CACHE_LINE ?
						     out[i].vlen : BULK_VAL_PREFETCH_LINES * DPC_CACHE_LINE;

					for (uint32_t o = DPC_CACHE_LINE; o < l; o += DPC_CACHE_LINE)
						dpc_prefetch0(v + o);
				}
				break;
			}
			/* Tag collision or expired: the careful path decides. */
			st[i] = part_get(s[i].p, &keys[i], now, &out[i]);
			break;
		case B_MISS:
			st[i] = DPC_NOT_FOUND;
			break;
		case B_INVALID:
			st[i] = DPC_INVALID;
			break;
		default:
			st[i] = part_get(s[i].p, &keys[i], now, &out[i]);
			break;
		}
	}
}

