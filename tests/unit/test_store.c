/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Store semantics (memcached): get/set/add/replace/append/prepend/delete,
 * incr/decr, touch, CAS, TTL boundaries, flush, size limits, eviction under
 * pressure (FIFO and CLOCK), many partitions, batched gets, metadata.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <urcu/urcu-qsbr.h>

#include "dpcache/config.h"
#include "dpcache/hash.h"
#include "dpcache/store.h"
#include "store_internal.h"   /* dpc_cache_create_at(): a log that starts near a wrap point */
#include "store_test.h"

struct kbuf {
	struct dpc_key k;
	char s[256];
};

static struct dpc_key *mkkey(struct kbuf *b, const char *s)
{
	size_t n = strlen(s);

	memcpy(b->s, s, n);
	b->k.data = b->s;
	b->k.len = (uint8_t)n;
	b->k.hash = dpc_hash(b->s, n);
	return &b->k;
}

/* A write may get DPC_NOSPACE while a grace period is pending: retried (store_test.h), counted. */
static unsigned long nospace_retries;

static enum dpc_status store_retry(struct dpc_cache *c, unsigned p, enum dpc_set_mode m,
				   const struct dpc_key *k, const void *val, uint32_t vlen,
				   uint32_t flags, uint32_t exp, uint64_t cas, uint64_t *cas_out)
{
	return test_set(c, p, m, k, val, vlen, flags, exp, cas, cas_out, &nospace_retries);
}

static struct dpc_cache *mkcache(unsigned nparts, size_t mem, uint32_t max_value,
				 enum dpc_evict_policy pol, unsigned hint)
{
	return test_cache((struct dpc_cache_params){
		.nparts = nparts, .mem_bytes = mem, .item_size_hint = hint,
		.max_value = max_value, .policy = pol, .hugepages = false, .numa_socket = -1,
	});
}

static unsigned part(const struct dpc_cache *c, const struct dpc_key *k)
{
	return dpc_hash_part(k->hash, dpc_cache_nparts(c));
}

static enum dpc_status set(struct dpc_cache *c, enum dpc_set_mode m, const char *key, const char *val,
			   uint32_t flags, uint32_t exp, uint64_t cas, uint64_t *cas_out)
{
	struct kbuf kb;
	struct dpc_key *k = mkkey(&kb, key);

	return store_retry(c, part(c, k), m, k, val, (uint32_t)strlen(val), flags, exp, cas, cas_out);
}

/* get: returns the status; on a hit, copies the value (NUL-terminated) into buf. */
static enum dpc_status get(struct dpc_cache *c, const char *key, char *buf, size_t bufsz,
			   struct dpc_item_view *vout)
{
	struct kbuf kb;
	struct dpc_item_view v;
	enum dpc_status st = dpc_cache_get(c, mkkey(&kb, key), &v);

	if (st == DPC_OK) {
		assert_int_equal(v.klen, strlen(key));
		assert_memory_equal(v.key, key, v.klen);
		if (buf) {
			assert_true(v.vlen < bufsz);
			memcpy(buf, v.val, v.vlen);
			buf[v.vlen] = 0;
		}
		if (vout)
			*vout = v;
	}
	return st;
}

static void expect_val(struct dpc_cache *c, const char *key, const char *val)
{
	char buf[512];

	assert_int_equal(get(c, key, buf, sizeof(buf), NULL), DPC_OK);
	assert_string_equal(buf, val);
}

static void expect_miss(struct dpc_cache *c, const char *key)
{
	assert_int_equal(get(c, key, NULL, 0, NULL), DPC_NOT_FOUND);
}

static void test_set_get(void **state)
{
	struct dpc_cache *c = mkcache(1, 16u << 20, 0, DPC_EVICT_CLOCK, 0);
	struct dpc_item_view v;
	uint64_t cas1 = 0, cas2 = 0;

	(void)state;
	expect_miss(c, "foo");
	assert_int_equal(set(c, DPC_SET, "foo", "bar", 42, 0, 0, &cas1), DPC_OK);
	assert_int_equal(get(c, "foo", NULL, 0, &v), DPC_OK);
	assert_int_equal(v.vlen, 3);
	assert_memory_equal(v.val, "bar", 3);
	assert_int_equal(v.flags, 42);
	assert_int_equal(v.exptime, 0);
	assert_int_equal(v.cas, cas1);
	assert_true(cas1 != 0);
	/* overwrite: new value, new CAS */
	assert_int_equal(set(c, DPC_SET, "foo", "baz2", 7, 0, 0, &cas2), DPC_OK);
	assert_true(cas2 != cas1 && cas2 != 0);
	expect_val(c, "foo", "baz2");
	/* empty value */
	assert_int_equal(set(c, DPC_SET, "empty", "", 0, 0, 0, NULL), DPC_OK);
	expect_val(c, "empty", "");
	/* similar keys do not alias */
	expect_miss(c, "fo");
	expect_miss(c, "fooo");
	struct dpc_store_stats s;

	dpc_cache_stats(c, 0, &s);
	assert_int_equal(s.items, 2);
	dpc_cache_free(c);
}

static void test_add_replace(void **state)
{
	struct dpc_cache *c = mkcache(1, 16u << 20, 0, DPC_EVICT_CLOCK, 0);

	(void)state;
	assert_int_equal(set(c, DPC_REPLACE, "k", "v1", 0, 0, 0, NULL), DPC_NOT_STORED);
	expect_miss(c, "k");
	assert_int_equal(set(c, DPC_ADD, "k", "v1", 0, 0, 0, NULL), DPC_OK);
	assert_int_equal(set(c, DPC_ADD, "k", "v2", 0, 0, 0, NULL), DPC_EXISTS);
	expect_val(c, "k", "v1");
	assert_int_equal(set(c, DPC_REPLACE, "k", "v3", 0, 0, 0, NULL), DPC_OK);
	expect_val(c, "k", "v3");
	/* add over an expired item succeeds */
	assert_int_equal(set(c, DPC_SET, "e", "old", 0, 5, 0, NULL), DPC_OK);
	dpc_cache_set_time(c, T0 + 5);
	assert_int_equal(set(c, DPC_REPLACE, "e", "x", 0, 0, 0, NULL), DPC_NOT_STORED);
	assert_int_equal(set(c, DPC_ADD, "e", "new", 0, 0, 0, NULL), DPC_OK);
	expect_val(c, "e", "new");
	dpc_cache_free(c);
}

static void test_append_prepend(void **state)
{
	struct dpc_cache *c = mkcache(1, 16u << 20, 0, DPC_EVICT_CLOCK, 0);
	struct dpc_item_view v;

	(void)state;
	assert_int_equal(set(c, DPC_APPEND, "a", "x", 0, 0, 0, NULL), DPC_NOT_STORED);
	assert_int_equal(set(c, DPC_PREPEND, "a", "x", 0, 0, 0, NULL), DPC_NOT_STORED);
	expect_miss(c, "a");
	assert_int_equal(set(c, DPC_SET, "a", "mid", 99, 100, 0, NULL), DPC_OK);
	assert_int_equal(set(c, DPC_APPEND, "a", "-end", 1, 0, 0, NULL), DPC_OK);
	assert_int_equal(set(c, DPC_PREPEND, "a", "start-", 2, 0, 0, NULL), DPC_OK);
	expect_val(c, "a", "start-mid-end");
	/* flags and exptime of the original are kept */
	assert_int_equal(get(c, "a", NULL, 0, &v), DPC_OK);
	assert_int_equal(v.flags, 99);
	assert_int_equal(v.exptime, T0 + 100);
	dpc_cache_free(c);
}

/*
 * What an APPEND (PREPEND) costs in log bytes, per byte added: 20000 of 20
 * bytes to a 64 KiB value.  An appended (prepended) item gets a record of
 * the next power of two with the room after (before) the value, and later
 * APPENDs (PREPENDs) that fit write into it in place, so the log takes
 * 128 + 256 + 512 KiB for 400 KB added: bounded by a small constant
 * instead of (value + header) / 20 per command (3378 before, for either).
 * The CAS changes with every command; a reader's view taken before an
 * in-place one still reads the old value, unchanged.
 */
static void grow_cost(enum dpc_set_mode mode)
{
	struct dpc_cache *c = mkcache(1, 64u << 20, 1u << 20, DPC_EVICT_CLOCK, 0);
	static char base[65536 + 1];
	struct dpc_item_view v, before;
	struct kbuf kb;
	const unsigned n = 20000, add = 20;
	const bool front = mode == DPC_PREPEND;
	uint64_t cas = 0, prev = 0;

	memset(base, 'a', 65536);
	assert_int_equal(set(c, DPC_SET, "ap", base, 0, 0, 0, &prev), DPC_OK);
	uint64_t t0 = c->parts[0]->logs[0].t;

	for (unsigned i = 0; i < n; i++) {
		char piece[21];

		snprintf(piece, sizeof(piece), "%020u", i);
		if (i == n / 2)
			assert_int_equal(get(c, "ap", NULL, 0, &before), DPC_OK);
		assert_int_equal(store_retry(c, 0, mode, mkkey(&kb, "ap"), piece, add, 0, 0, 0, &cas),
				 DPC_OK);
		assert_true(cas != prev);
		prev = cas;
		if (i == n / 2) {   /* the view from before still reads what it read */
			assert_int_equal(before.vlen, 65536 + (n / 2) * add);
			assert_memory_equal((const char *)before.val + (front ? 0 : before.vlen - add),
					    "00000000000000009999", add);
			assert_int_equal(((const char *)before.val)[front ? before.vlen - 1 : 0], 'a');
		}
		if (i % 64 == 0)
			urcu_qsbr_quiescent_state();
	}
	urcu_qsbr_quiescent_state();
	uint64_t written = c->parts[0]->logs[0].t - t0;

	assert_int_equal(get(c, "ap", NULL, 0, &v), DPC_OK);
	assert_int_equal(v.vlen, 65536 + n * add);
	assert_int_equal(v.cas, cas);
	const char *val = v.val;

	if (front) {
		assert_memory_equal(val, "00000000000000019999", add);
		assert_memory_equal(val + n * add - add, "00000000000000000000", add);
		assert_memory_equal(val + n * add, base, 65536);
	} else {
		assert_memory_equal(val, base, 65536);
		assert_memory_equal(val + 65536, "00000000000000000000", add);
		assert_memory_equal(val + v.vlen - add, "00000000000000019999", add);
	}
	/* an old CAS is spent, the current one works */
	assert_int_equal(dpc_store_set(c, 0, mode, mkkey(&kb, "ap"), "x", 1, 0, 0, cas - 64, NULL),
			 DPC_EXISTS);
	assert_int_equal(dpc_store_set(c, 0, mode, mkkey(&kb, "ap"), "x", 1, 0, 0, cas, NULL),
			 DPC_OK);
	print_message("%s: %u x %u B to a 64 KiB value: %.2f log bytes per byte added\n",
		      front ? "prepend" : "append", n, add, (double)written / (double)(n * add));
	assert_true(written < 4ull * n * add);
	dpc_cache_free(c);
}

static void test_append_cost(void **state)
{
	(void)state;
	grow_cost(DPC_APPEND);
}

static void test_prepend_cost(void **state)
{
	(void)state;
	grow_cost(DPC_PREPEND);
}

/*
 * APPEND and PREPEND on one key, in runs and alternating: every value
 * read is exactly what the commands built, flags and exptime are kept,
 * and INCR reads a value wherever its slack puts it.
 */
static void test_append_prepend_mixed(void **state)
{
	struct dpc_cache *c = mkcache(1, 16u << 20, 0, DPC_EVICT_CLOCK, 0);
	char want[512] = "m", buf[512];
	struct dpc_item_view v;
	struct kbuf kb;
	uint64_t val;

	(void)state;
	assert_int_equal(set(c, DPC_SET, "mx", "m", 7, 100, 0, NULL), DPC_OK);
	for (int i = 0; i < 120; i++) {
		bool pre = (i / 3) % 2 == 1 || i % 7 == 0;
		char piece[4] = { (char)('a' + i % 26), 0 };
		size_t n = strlen(want);

		if (pre) {
			memmove(want + 1, want, n + 1);
			want[0] = piece[0];
		} else {
			want[n] = piece[0];
			want[n + 1] = 0;
		}
		assert_int_equal(set(c, pre ? DPC_PREPEND : DPC_APPEND, "mx", piece, 0, 0, 0, NULL),
				 DPC_OK);
		assert_int_equal(get(c, "mx", buf, sizeof(buf), &v), DPC_OK);
		assert_string_equal(buf, want);
		assert_int_equal(v.flags, 7);
		assert_int_equal(v.exptime, T0 + 100);
	}
	/* a number grown by PREPEND (front slack) and by APPEND (back slack) */
	assert_int_equal(set(c, DPC_SET, "num", "5", 0, 0, 0, NULL), DPC_OK);
	assert_int_equal(set(c, DPC_PREPEND, "num", "4", 0, 0, 0, NULL), DPC_OK);
	assert_int_equal(set(c, DPC_PREPEND, "num", "3", 0, 0, 0, NULL), DPC_OK);
	assert_int_equal(dpc_store_arith(c, 0, mkkey(&kb, "num"), true, 1, 0, 0, 0, &val, NULL),
			 DPC_OK);
	assert_int_equal(val, 346);
	assert_int_equal(set(c, DPC_APPEND, "num", "0", 0, 0, 0, NULL), DPC_OK);
	assert_int_equal(dpc_store_arith(c, 0, mkkey(&kb, "num"), true, 1, 0, 0, 0, &val, NULL),
			 DPC_OK);
	assert_int_equal(val, 3461);
	dpc_cache_free(c);
}

static void test_cas(void **state)
{
	struct dpc_cache *c = mkcache(1, 16u << 20, 0, DPC_EVICT_CLOCK, 0);
	uint64_t cas = 0, cas2 = 0;
	struct kbuf kb;

	(void)state;
	assert_int_equal(set(c, DPC_SET, "c", "v", 0, 0, 12345, NULL), DPC_NOT_FOUND);
	assert_int_equal(set(c, DPC_SET, "c", "v", 0, 0, 0, &cas), DPC_OK);
	assert_int_equal(set(c, DPC_SET, "c", "w", 0, 0, cas + 1, NULL), DPC_EXISTS);
	expect_val(c, "c", "v");
	assert_int_equal(set(c, DPC_SET, "c", "w", 0, 0, cas, &cas2), DPC_OK);
	expect_val(c, "c", "w");
	/* the old CAS is spent */
	assert_int_equal(set(c, DPC_SET, "c", "x", 0, 0, cas, NULL), DPC_EXISTS);
	assert_int_equal(set(c, DPC_REPLACE, "c", "y", 0, 0, cas2, &cas), DPC_OK);
	assert_int_equal(set(c, DPC_APPEND, "c", "z", 0, 0, cas2, NULL), DPC_EXISTS);
	assert_int_equal(set(c, DPC_APPEND, "c", "z", 0, 0, cas, NULL), DPC_OK);
	expect_val(c, "c", "yz");
	/* delete with CAS */
	struct dpc_item_view v = {0};

	assert_int_equal(get(c, "c", NULL, 0, &v), DPC_OK);
	assert_int_equal(dpc_store_delete(c, 0, mkkey(&kb, "c"), v.cas + 1), DPC_EXISTS);
	assert_int_equal(dpc_store_delete(c, 0, mkkey(&kb, "c"), v.cas), DPC_OK);
	expect_miss(c, "c");
	/* CAS is unique per write, also for equal values */
	uint64_t seen[64];

	for (int i = 0; i < 64; i++) {
		assert_int_equal(set(c, DPC_SET, i % 2 ? "u1" : "u2", "same", 0, 0, 0, &seen[i]), DPC_OK);
		for (int j = 0; j < i; j++)
			assert_true(seen[j] != seen[i]);
	}
	dpc_cache_free(c);
}

static void test_delete(void **state)
{
	struct dpc_cache *c = mkcache(1, 16u << 20, 0, DPC_EVICT_CLOCK, 0);
	struct kbuf kb;
	struct dpc_store_stats s;

	(void)state;
	assert_int_equal(dpc_store_delete(c, 0, mkkey(&kb, "d"), 0), DPC_NOT_FOUND);
	assert_int_equal(set(c, DPC_SET, "d", "v", 0, 0, 0, NULL), DPC_OK);
	assert_int_equal(dpc_store_delete(c, 0, mkkey(&kb, "d"), 0), DPC_OK);
	expect_miss(c, "d");
	assert_int_equal(dpc_store_delete(c, 0, mkkey(&kb, "d"), 0), DPC_NOT_FOUND);
	dpc_cache_stats(c, 0, &s);
	assert_int_equal(s.items, 0);
	/* set again after delete */
	assert_int_equal(set(c, DPC_SET, "d", "again", 0, 0, 0, NULL), DPC_OK);
	expect_val(c, "d", "again");
	dpc_cache_free(c);
}

static enum dpc_status arith(struct dpc_cache *c, const char *key, bool incr, uint64_t delta,
			     uint64_t initial, uint32_t exp, uint64_t *out)
{
	struct kbuf kb;

	return dpc_store_arith(c, 0, mkkey(&kb, key), incr, delta, initial, exp, 0, out, NULL);
}

static void test_incr_decr(void **state)
{
	struct dpc_cache *c = mkcache(1, 16u << 20, 0, DPC_EVICT_CLOCK, 0);
	uint64_t v = 0;

	(void)state;
	/* absent: NOT_FOUND with exptime 0xffffffff, else created with the initial value */
	assert_int_equal(arith(c, "n", true, 5, 10, 0xffffffffu, &v), DPC_NOT_FOUND);
	expect_miss(c, "n");
	assert_int_equal(arith(c, "n", true, 5, 10, 0, &v), DPC_OK);
	assert_int_equal(v, 10);
	expect_val(c, "n", "10");
	assert_int_equal(arith(c, "n", true, 5, 10, 0, &v), DPC_OK);
	assert_int_equal(v, 15);
	expect_val(c, "n", "15");
	assert_int_equal(arith(c, "n", false, 3, 0, 0, &v), DPC_OK);
	assert_int_equal(v, 12);
	/* decr floors at 0 */
	assert_int_equal(arith(c, "n", false, 100, 0, 0, &v), DPC_OK);
	assert_int_equal(v, 0);
	expect_val(c, "n", "0 "); /* shorter: padded to its old length, as memcached does */
	/* incr wraps at 2^64 */
	assert_int_equal(set(c, DPC_SET, "w", "18446744073709551615", 0, 0, 0, NULL), DPC_OK);
	assert_int_equal(arith(c, "w", true, 2, 0, 0, &v), DPC_OK);
	assert_int_equal(v, 1);
	expect_val(c, "w", "1                   ");
	assert_int_equal(arith(c, "w", true, 1, 0, 0, &v), DPC_OK); /* padding still a number */
	assert_int_equal(v, 2);
	/* non-numeric values */
	assert_int_equal(set(c, DPC_SET, "s", "abc", 0, 0, 0, NULL), DPC_OK);
	assert_int_equal(arith(c, "s", true, 1, 0, 0, &v), DPC_NON_NUMERIC);
	assert_int_equal(set(c, DPC_SET, "s", "12a", 0, 0, 0, NULL), DPC_OK);
	assert_int_equal(arith(c, "s", true, 1, 0, 0, &v), DPC_NON_NUMERIC);
	assert_int_equal(set(c, DPC_SET, "s", "", 0, 0, 0, NULL), DPC_OK);
	assert_int_equal(arith(c, "s", false, 1, 0, 0, &v), DPC_NON_NUMERIC);
	assert_int_equal(set(c, DPC_SET, "s", "-1", 0, 0, 0, NULL), DPC_OK);
	assert_int_equal(arith(c, "s", true, 1, 0, 0, &v), DPC_NON_NUMERIC);
	/* over 2^64-1 is not a number; leading zeros past 20 digits are (memcached's strtoull) */
	assert_int_equal(set(c, DPC_SET, "s", "000000000000000000001", 0, 0, 0, NULL), DPC_OK);
	assert_int_equal(arith(c, "s", true, 1, 0, 0, &v), DPC_OK);
	assert_int_equal(v, 2);
	assert_int_equal(set(c, DPC_SET, "s", "18446744073709551616", 0, 0, 0, NULL), DPC_OK);
	assert_int_equal(arith(c, "s", true, 1, 0, 0, &v), DPC_NON_NUMERIC);
	expect_val(c, "s", "18446744073709551616");
	/* leading zeros within 20 chars are fine */
	assert_int_equal(set(c, DPC_SET, "z", "0007", 5, 0, 0, NULL), DPC_OK);
	assert_int_equal(arith(c, "z", true, 1, 0, 0, &v), DPC_OK);
	assert_int_equal(v, 8);
	struct dpc_item_view vw;

	assert_int_equal(get(c, "z", NULL, 0, &vw), DPC_OK);
	assert_int_equal(vw.flags, 5);   /* flags kept */
	/* CAS on arith */
	struct kbuf kb;
	uint64_t cas_out = 0;

	assert_int_equal(dpc_store_arith(c, 0, mkkey(&kb, "z"), true, 1, 0, 0, vw.cas + 1, &v, NULL),
			 DPC_EXISTS);
	assert_int_equal(dpc_store_arith(c, 0, mkkey(&kb, "z"), true, 1, 0, 0, vw.cas, &v, &cas_out),
			 DPC_OK);
	assert_int_equal(v, 9);
	assert_true(cas_out != vw.cas);
	dpc_cache_free(c);
}

static void test_expiry(void **state)
{
	struct dpc_cache *c = mkcache(1, 16u << 20, 0, DPC_EVICT_CLOCK, 0);
	struct dpc_item_view v;

	(void)state;
	assert_int_equal(dpc_cache_abs_exptime(c, 0), 0);
	assert_int_equal(dpc_cache_abs_exptime(c, 1), T0 + 1);
	assert_int_equal(dpc_cache_abs_exptime(c, 2592000), T0 + 2592000);
	assert_int_equal(dpc_cache_abs_exptime(c, 2592001), 2592001);
	/* relative: alive until exactly exptime */
	assert_int_equal(set(c, DPC_SET, "r", "v", 0, 10, 0, NULL), DPC_OK);
	assert_int_equal(get(c, "r", NULL, 0, &v), DPC_OK);
	assert_int_equal(v.exptime, T0 + 10);
	/* 30 days is still relative */
	assert_int_equal(set(c, DPC_SET, "m", "v", 0, 2592000, 0, NULL), DPC_OK);
	/* one more second is an absolute time long past: expired at once */
	assert_int_equal(set(c, DPC_SET, "p", "v", 0, 2592001, 0, NULL), DPC_OK);
	expect_miss(c, "p");
	/* absolute, in the past and in the future */
	assert_int_equal(set(c, DPC_SET, "past", "v", 0, T0 - 1, 0, NULL), DPC_OK);
	expect_miss(c, "past");
	assert_int_equal(set(c, DPC_SET, "now", "v", 0, T0, 0, NULL), DPC_OK);
	expect_miss(c, "now");
	assert_int_equal(set(c, DPC_SET, "abs", "v", 0, T0 + 100, 0, NULL), DPC_OK);
	assert_int_equal(set(c, DPC_SET, "never", "v", 0, 0, 0, NULL), DPC_OK);

	dpc_cache_set_time(c, T0 + 9);
	expect_val(c, "r", "v");
	dpc_cache_set_time(c, T0 + 10);
	expect_miss(c, "r");
	expect_val(c, "abs", "v");
	dpc_cache_set_time(c, T0 + 99);
	expect_val(c, "abs", "v");
	dpc_cache_set_time(c, T0 + 100);
	expect_miss(c, "abs");
	dpc_cache_set_time(c, T0 + 2591999);
	expect_val(c, "m", "v");
	dpc_cache_set_time(c, T0 + 2592000);
	expect_miss(c, "m");
	expect_val(c, "never", "v");
	/* expired keys are absent for every operation */
	struct kbuf kb;

	assert_int_equal(dpc_store_delete(c, 0, mkkey(&kb, "r"), 0), DPC_NOT_FOUND);
	assert_int_equal(dpc_store_touch(c, 0, mkkey(&kb, "abs"), 100, NULL), DPC_NOT_FOUND);
	/* maintain() reclaims expired entries from the index, within its
	 * budget: one unit is the retirement step, each further one a bucket. */
	struct dpc_store_stats s;
	uint64_t before;

	dpc_cache_stats(c, 0, &s);
	before = s.items;
	assert_int_equal(before, 6);    /* "never" and five expired ones ("r" was deleted) */
	assert_int_equal(dpc_store_maintain(c, 0, 1), 1);
	dpc_cache_stats(c, 0, &s);
	assert_int_equal(s.items, before);   /* a budget of 1 sweeps nothing */
	assert_int_equal(dpc_store_maintain(c, 0, 1u << 20), 1u << 20);
	dpc_cache_stats(c, 0, &s);
	assert_int_equal(s.items, 1);   /* only "never" */
	assert_int_equal(s.expired_reclaimed, 6);
	dpc_cache_free(c);
}

static void test_touch(void **state)
{
	struct dpc_cache *c = mkcache(1, 16u << 20, 0, DPC_EVICT_CLOCK, 0);
	struct kbuf kb;
	struct dpc_item_view v;

	(void)state;
	assert_int_equal(dpc_store_touch(c, 0, mkkey(&kb, "t"), 10, NULL), DPC_NOT_FOUND);
	assert_int_equal(set(c, DPC_SET, "t", "val", 3, 10, 0, NULL), DPC_OK);
	assert_int_equal(dpc_store_touch(c, 0, mkkey(&kb, "t"), 100, &v), DPC_OK);
	assert_int_equal(v.exptime, T0 + 100);
	assert_int_equal(v.vlen, 3);
	assert_memory_equal(v.val, "val", 3);
	assert_int_equal(v.flags, 3);
	dpc_cache_set_time(c, T0 + 50);
	expect_val(c, "t", "val");
	/* touch to 0 = never expires */
	assert_int_equal(dpc_store_touch(c, 0, mkkey(&kb, "t"), 0, NULL), DPC_OK);
	dpc_cache_set_time(c, T0 + 5000);
	expect_val(c, "t", "val");
	/* touch with a past absolute time expires it */
	assert_int_equal(dpc_store_touch(c, 0, mkkey(&kb, "t"), T0, NULL), DPC_OK);
	expect_miss(c, "t");
	dpc_cache_free(c);
}

/* The item bytes a partition holds (header, key, value, padding). */
static uint64_t item_bytes(struct dpc_cache *c)
{
	struct dpc_store_stats s;

	dpc_cache_stats(c, 0, &s);
	return s.bytes_used;
}

/*
 * Client flags come from the partition's table of 15 distinct values while
 * it has room, and from a word in the item after that; every path that
 * rewrites or moves an item keeps them: touch (the index shares its word
 * with the expiry), APPEND/PREPEND, INCR, an overwrite, CLOCK's copy.
 */
static void test_flags_table(void **state)
{
	struct dpc_cache *c = mkcache(1, 16u << 20, 0, DPC_EVICT_CLOCK, 0);
	struct dpc_item_view v;
	struct kbuf kb;
	char key[32];
	uint64_t b0, b1;
	unsigned i;

	(void)state;
	/* 12 header + 2 key + 4 value = 18, padded to 20, with or without flags */
	b0 = item_bytes(c);
	assert_int_equal(set(c, DPC_SET, "f0", "vvvv", 0, 0, 0, NULL), DPC_OK);
	assert_int_equal(item_bytes(c) - b0, 20);
	for (i = 1; i <= 20; i++) {
		snprintf(key, sizeof(key), "f%u", i % 10 + 10 * (i / 10));
		b1 = item_bytes(c);
		assert_int_equal(set(c, DPC_SET, key, "vvvv", 0xf1a90000u + i, 100, 0, NULL), DPC_OK);
		/* the 16th distinct value on finds the table full: a flags word */
		assert_int_equal(item_bytes(c) - b1, i <= 15 ? 20 : 24);   /* keys of 2-3 bytes */
	}
	for (i = 1; i <= 20; i++) {
		snprintf(key, sizeof(key), "f%u", i % 10 + 10 * (i / 10));
		assert_int_equal(get(c, key, NULL, 0, &v), DPC_OK);
		assert_int_equal(v.flags, 0xf1a90000u + i);
		assert_int_equal(v.exptime, T0 + 100);
	}
	/* the table's 15 entries and the 5 writes that found it full, counted */
	assert_int_equal(test_stats(c, 0).flags_values, 15);
	assert_int_equal(test_stats(c, 0).flags_words, 5);
	/* a value already in the table costs nothing more, as often as it is used */
	b1 = item_bytes(c);
	assert_int_equal(set(c, DPC_SET, "g1", "vvvv", 0xf1a90003u, 0, 0, NULL), DPC_OK);
	assert_int_equal(item_bytes(c) - b1, 20);
	assert_int_equal(get(c, "g1", NULL, 0, &v), DPC_OK);
	assert_int_equal(v.flags, 0xf1a90003u);
	assert_int_equal(v.exptime, 0);
	/* touch rewrites the expiry, not the flags index beside it */
	assert_int_equal(dpc_store_touch(c, 0, mkkey(&kb, "f3"), 500, &v), DPC_OK);
	assert_int_equal(v.flags, 0xf1a90003u);
	assert_int_equal(v.exptime, T0 + 500);
	assert_int_equal(get(c, "f3", NULL, 0, &v), DPC_OK);
	assert_int_equal(v.flags, 0xf1a90003u);
	assert_int_equal(v.exptime, T0 + 500);
	/* APPEND (a slack item: flags in its word) and INCR keep flags and expiry */
	assert_int_equal(set(c, DPC_APPEND, "f3", "ww", 0, 0, 0, NULL), DPC_OK);
	assert_int_equal(get(c, "f3", NULL, 0, &v), DPC_OK);
	assert_int_equal(v.flags, 0xf1a90003u);
	assert_int_equal(v.exptime, T0 + 500);
	assert_int_equal(set(c, DPC_SET, "n", "41", 0xf1a90004u, 60, 0, NULL), DPC_OK);
	uint64_t n;

	assert_int_equal(dpc_store_arith(c, 0, mkkey(&kb, "n"), true, 1, 0, 0, 0, &n, NULL),
			 DPC_OK);
	assert_int_equal(n, 42);
	assert_int_equal(get(c, "n", NULL, 0, &v), DPC_OK);
	assert_int_equal(v.flags, 0xf1a90004u);
	assert_int_equal(v.exptime, T0 + 60);
	/* an overwrite with other flags takes them */
	assert_int_equal(set(c, DPC_SET, "n", "1", 0, 0, 0, NULL), DPC_OK);
	assert_int_equal(get(c, "n", NULL, 0, &v), DPC_OK);
	assert_int_equal(v.flags, 0);
	dpc_cache_free(c);

	/* CLOCK's copy of a read item keeps its flags (index and word alike):
	 * fill a small cache past its size, reading the two keys before each write */
	c = mkcache(1, 4u << 20, 1024, DPC_EVICT_CLOCK, 0);
	char val[200];
	struct dpc_store_stats s;

	memset(val, 'x', sizeof(val) - 1);
	val[sizeof(val) - 1] = 0;
	/* fill the table: "t" gets an index, "w" a word (values as large as the
	 * fill's, so that CLOCK's size-aware chance does not keep them) */
	for (i = 0; i < 16; i++) {
		snprintf(key, sizeof(key), "pre%u", i);
		assert_int_equal(set(c, DPC_SET, key, val, 100 + i, 0, 0, NULL), DPC_OK);
	}
	assert_int_equal(set(c, DPC_SET, "t", "tab", 105, 0, 0, NULL), DPC_OK);
	assert_int_equal(set(c, DPC_SET, "w", "word", 77777, 0, 0, NULL), DPC_OK);
	for (i = 0; i < 60000; i++) {
		snprintf(key, sizeof(key), "fill%u", i);
		assert_int_equal(get(c, "t", NULL, 0, &v), DPC_OK);
		assert_int_equal(v.flags, 105);
		assert_int_equal(get(c, "w", NULL, 0, &v), DPC_OK);
		assert_int_equal(v.flags, 77777);
		assert_int_equal(set(c, DPC_SET, key, val, 0, 0, 0, NULL), DPC_OK);
		urcu_qsbr_quiescent_state();
	}
	dpc_cache_stats(c, 0, &s);
	assert_true(s.reinserted > 0);   /* the copies this test is about happened */
	dpc_cache_free(c);
}

/*
 * Expiry is kept as 28 bits of seconds after the partition's base (the
 * clock at its first write, less a day): expiries 3 years ahead still
 * count to the second; further than 8.5 years is kept as 8.5 years; an
 * absolute time before the base is in the past.
 */
static void test_expiry_range(void **state)
{
	struct dpc_cache *c = mkcache(1, 16u << 20, 0, DPC_EVICT_CLOCK, 0);
	struct dpc_item_view v;
	const uint32_t far = T0 + 100000000u;   /* 3.2 years ahead */

	(void)state;
	assert_int_equal(set(c, DPC_SET, "far", "v", 0, far, 0, NULL), DPC_OK);
	assert_int_equal(set(c, DPC_SET, "max", "v", 0, 0xfffffff0u, 0, NULL), DPC_OK);
	assert_int_equal(set(c, DPC_SET, "old", "v", 0, T0 - 1000000, 0, NULL), DPC_OK);
	expect_miss(c, "old");
	assert_int_equal(get(c, "far", NULL, 0, &v), DPC_OK);
	assert_int_equal(v.exptime, far);
	assert_int_equal(get(c, "max", NULL, 0, &v), DPC_OK);
	/* kept as the base + 2^28 - 1: the clock at the first write, less a day */
	assert_int_equal(v.exptime, T0 - 86400u + ((1u << 28) - 1));
	dpc_cache_set_time(c, far - 1);
	expect_val(c, "far", "v");
	assert_int_equal(set(c, DPC_SET, "late", "v", 0, 30, 0, NULL), DPC_OK);
	assert_int_equal(get(c, "late", NULL, 0, &v), DPC_OK);
	assert_int_equal(v.exptime, far + 29);
	dpc_cache_set_time(c, far);
	expect_miss(c, "far");
	expect_val(c, "late", "v");
	expect_val(c, "max", "v");
	dpc_cache_set_time(c, far + 29);
	expect_miss(c, "late");
	dpc_cache_set_time(c, T0 - 86400u + ((1u << 28) - 2));
	expect_val(c, "max", "v");
	dpc_cache_set_time(c, T0 - 86400u + ((1u << 28) - 1));
	expect_miss(c, "max");
	dpc_cache_free(c);
}

static void test_flush(void **state)
{
	struct dpc_cache *c = mkcache(4, 32u << 20, 0, DPC_EVICT_CLOCK, 0);
	char key[32];

	(void)state;
	for (int i = 0; i < 100; i++) {
		snprintf(key, sizeof(key), "f%d", i);
		assert_int_equal(set(c, DPC_SET, key, "v", 0, 0, 0, NULL), DPC_OK);
	}
	dpc_cache_flush(c, 0);
	for (int i = 0; i < 100; i++) {
		snprintf(key, sizeof(key), "f%d", i);
		expect_miss(c, key);
	}
	/* writes after the flush are visible; add works on flushed keys */
	assert_int_equal(set(c, DPC_ADD, "f1", "new", 0, 0, 0, NULL), DPC_OK);
	expect_val(c, "f1", "new");
	assert_int_equal(set(c, DPC_REPLACE, "f2", "x", 0, 0, 0, NULL), DPC_NOT_STORED);

	/* delayed flush: items stored before now + 10 vanish at now + 10 */
	assert_int_equal(set(c, DPC_SET, "before", "v", 0, 0, 0, NULL), DPC_OK);
	dpc_cache_flush(c, 10);
	dpc_cache_set_time(c, T0 + 5);
	assert_int_equal(set(c, DPC_SET, "between", "v", 0, 0, 0, NULL), DPC_OK);
	expect_val(c, "before", "v");
	expect_val(c, "between", "v");
	dpc_cache_set_time(c, T0 + 10);
	expect_miss(c, "before");
	expect_miss(c, "between");
	expect_miss(c, "f1");
	assert_int_equal(set(c, DPC_SET, "after", "v", 0, 0, 0, NULL), DPC_OK);
	expect_val(c, "after", "v");
	/* the owner applies it too (maintain) */
	dpc_cache_flush(c, 3);
	dpc_cache_set_time(c, T0 + 13);
	for (unsigned p = 0; p < 4; p++)
		dpc_store_maintain(c, p, 1u << 20);
	expect_miss(c, "after");
	/* flushed entries are swept from the index */
	struct dpc_store_stats s;
	uint64_t items = 0, flushes = 0;

	for (unsigned p = 0; p < 4; p++) {
		dpc_cache_stats(c, p, &s);
		items += s.items;
		flushes += s.flushes;
	}
	assert_int_equal(items, 0);
	assert_int_equal(flushes, 3 * 4);
	dpc_cache_free(c);
}

/*
 * Without a TTL ever written the sweep has work only after a flush: one
 * pass over the index then drops every flushed entry, and it stops again.
 * With a TTL it sweeps on every call.
 */
static void test_sweep_only_when_due(void **state)
{
	struct dpc_cache *c = mkcache(1, 4u << 20, 1024, DPC_EVICT_CLOCK, 0);
	uint32_t nb = (uint32_t)(test_stats(c, 0).index_slots / DPC_BUCKET_SLOTS);
	char key[32];
	unsigned i, work, calls;

	(void)state;
	for (i = 0; i < 1000; i++) {
		snprintf(key, sizeof(key), "k%u", i);
		assert_int_equal(set(c, DPC_SET, key, "v", 0, 0, 0, NULL), DPC_OK);
	}
	/* nothing can expire and nothing was flushed: no bucket is read */
	assert_int_equal(dpc_store_maintain(c, 0, 1u << 20), 1);
	assert_int_equal(dpc_store_maintain(c, 0, 64), 1);
	/* a flush: one pass of nb buckets, in budget-sized steps, drops them all */
	dpc_cache_flush(c, 0);
	for (work = 0, calls = 0; calls < nb; calls++) {
		unsigned w = dpc_store_maintain(c, 0, 64);

		if (w == 1)
			break;
		work += w - 1;
	}
	assert_int_equal(work, nb);
	assert_int_equal(test_stats(c, 0).items, 0);
	assert_int_equal(dpc_store_maintain(c, 0, 64), 1);
	/* writes after the flush lie above its horizon: still nothing to do */
	assert_int_equal(set(c, DPC_SET, "after", "v", 0, 0, 0, NULL), DPC_OK);
	assert_int_equal(dpc_store_maintain(c, 0, 64), 1);
	expect_val(c, "after", "v");
	/* once an item has an expiry, every call sweeps */
	assert_int_equal(set(c, DPC_SET, "ttl", "v", 0, 5, 0, NULL), DPC_OK);
	assert_int_equal(dpc_store_maintain(c, 0, 64), 64);
	assert_int_equal(dpc_store_maintain(c, 0, 64), 64);
	dpc_cache_free(c);
}

/*
 * flush_all covers items that CLOCK copied to the tail (second chances)
 * during a write that then failed: the copies lie above the tail the
 * write never published.  The thread stops reporting quiescent states, so
 * grace periods stall and a large write fails after its eviction pass has
 * reinserted read items; then a flush must still hide every earlier item.
 */
static void test_flush_reinserted(void **state)
{
	struct dpc_cache *c = mkcache(1, 4u << 20, 64u << 10, DPC_EVICT_CLOCK, 100);
	static char big[60u << 10];
	char key[32], val[128];
	struct dpc_store_stats s;
	const int N = 60000;
	bool failed_after_reinsert = false;
	int nbig = 0;

	(void)state;
	memset(big, 'B', sizeof(big));
	for (int i = 0; i < N; i++) {
		snprintf(key, sizeof(key), "fr:%d", i);
		snprintf(val, sizeof(val), "%0100d", i);
		assert_int_equal(set(c, DPC_SET, key, val, 0, 0, 0, NULL), DPC_OK);
		urcu_qsbr_quiescent_state();
	}
	for (int i = 0; i < N; i++) {   /* mark every live item as read */
		snprintf(key, sizeof(key), "fr:%d", i);
		(void)get(c, key, NULL, 0, NULL);
	}
	/* From here on no quiescent state: the reclaim horizon stands still. */
	for (; nbig < 1000 && !failed_after_reinsert; nbig++) {
		struct kbuf kb;
		uint64_t before;
		enum dpc_status st;

		snprintf(key, sizeof(key), "big:%d", nbig);
		dpc_cache_stats(c, 0, &s);
		before = s.reinserted;
		st = dpc_store_set(c, 0, DPC_SET, mkkey(&kb, key), big, sizeof(big), 0, 0, 0, NULL);
		dpc_cache_stats(c, 0, &s);
		assert_true(st == DPC_OK || st == DPC_NOSPACE);
		failed_after_reinsert = st == DPC_NOSPACE && s.reinserted > before;
	}
	assert_true(failed_after_reinsert);
	dpc_cache_flush(c, 0);
	for (int i = 0; i < N; i++) {
		snprintf(key, sizeof(key), "fr:%d", i);
		expect_miss(c, key);
	}
	for (int i = 0; i < nbig; i++) {
		snprintf(key, sizeof(key), "big:%d", i);
		expect_miss(c, key);
	}
	dpc_cache_free(c);
}

static void test_limits(void **state)
{
	struct dpc_cache *c = mkcache(1, 32u << 20, 0, DPC_EVICT_CLOCK, 0);
	char key[260];
	struct dpc_key k;
	uint8_t *val = malloc(DPC_VALUE_MAX_DEFAULT + 1);
	struct dpc_item_view v;

	(void)state;
	assert_non_null(val);
	for (size_t i = 0; i <= DPC_VALUE_MAX_DEFAULT; i++)
		val[i] = (uint8_t)(i * 7 + 3);
	memset(key, 'k', sizeof(key));
	/* 250-byte key: fine; 251: invalid; empty: invalid */
	k = (struct dpc_key){ .data = key, .len = 250, .hash = dpc_hash(key, 250) };
	assert_int_equal(dpc_store_set(c, 0, DPC_SET, &k, "v", 1, 0, 0, 0, NULL), DPC_OK);
	assert_int_equal(dpc_cache_get(c, &k, &v), DPC_OK);
	assert_int_equal(v.klen, 250);
	k = (struct dpc_key){ .data = key, .len = 251, .hash = dpc_hash(key, 251) };
	assert_int_equal(dpc_store_set(c, 0, DPC_SET, &k, "v", 1, 0, 0, 0, NULL), DPC_INVALID);
	assert_int_equal(dpc_cache_get(c, &k, &v), DPC_INVALID);
	k = (struct dpc_key){ .data = key, .len = 0, .hash = dpc_hash(key, 0) };
	assert_int_equal(dpc_store_set(c, 0, DPC_SET, &k, "v", 1, 0, 0, 0, NULL), DPC_INVALID);
	/* 1 MiB value with a 250-byte key: fine; one byte more: too large */
	k = (struct dpc_key){ .data = key, .len = 250, .hash = dpc_hash(key, 250) };
	assert_int_equal(dpc_store_set(c, 0, DPC_SET, &k, val, DPC_VALUE_MAX_DEFAULT, 1, 0, 0, NULL),
			 DPC_OK);
	assert_int_equal(dpc_cache_get(c, &k, &v), DPC_OK);
	assert_int_equal(v.vlen, DPC_VALUE_MAX_DEFAULT);
	assert_memory_equal(v.val, val, DPC_VALUE_MAX_DEFAULT);
	assert_int_equal(dpc_store_set(c, 0, DPC_SET, &k, val, DPC_VALUE_MAX_DEFAULT + 1, 1, 0, 0,
				       NULL), DPC_TOO_LARGE);
	/* the old value survives a refused write */
	assert_int_equal(dpc_cache_get(c, &k, &v), DPC_OK);
	assert_int_equal(v.vlen, DPC_VALUE_MAX_DEFAULT);
	/* append over the limit */
	assert_int_equal(dpc_store_set(c, 0, DPC_APPEND, &k, "x", 1, 0, 0, 0, NULL), DPC_TOO_LARGE);
	/* several large values in a row (evicting each other) */
	for (int i = 0; i < 40; i++) {
		val[0] = (uint8_t)i;
		assert_int_equal(store_retry(c, 0, DPC_SET, &k, val, DPC_VALUE_MAX_DEFAULT - (uint32_t)i,
					     0, 0, 0, NULL), DPC_OK);
		urcu_qsbr_quiescent_state();
		assert_int_equal(dpc_cache_get(c, &k, &v), DPC_OK);
		assert_int_equal(v.vlen, DPC_VALUE_MAX_DEFAULT - (uint32_t)i);
		assert_int_equal(((const uint8_t *)v.val)[0], i);
	}
	free(val);
	dpc_cache_free(c);
	/* a smaller max_value */
	c = mkcache(1, 4u << 20, 1000, DPC_EVICT_FIFO, 0);
	assert_int_equal(set(c, DPC_SET, "a", "b", 0, 0, 0, NULL), DPC_OK);
	char big[1002];

	memset(big, 'x', 1001);
	big[1001] = 0;
	assert_int_equal(set(c, DPC_SET, "a", big, 0, 0, 0, NULL), DPC_TOO_LARGE);
	big[1000] = 0;
	assert_int_equal(set(c, DPC_SET, "a", big, 0, 0, 0, NULL), DPC_OK);
	dpc_cache_free(c);
}

/* The config table's range for max_value is what the store can hold: its
 * largest value is stored and read back, one byte more is refused by both. */
static void test_max_value_range(void **state)
{
	const struct dpc_config_def *d = dpc_config_find("max_value");
	struct dpc_config cfg;
	char buf[32];

	(void)state;
	assert_non_null(d);
	struct dpc_cache *c = mkcache(1, 64u << 20, (uint32_t)d->max, DPC_EVICT_CLOCK, 0);
	uint8_t *val = malloc(d->max);
	struct dpc_item_view v;
	struct kbuf kb;

	assert_non_null(val);
	memset(val, 'm', d->max);
	assert_int_equal(dpc_store_set(c, 0, DPC_SET, mkkey(&kb, "max"), val, (uint32_t)d->max, 0,
				       0, 0, NULL), DPC_OK);
	assert_int_equal(dpc_cache_get(c, mkkey(&kb, "max"), &v), DPC_OK);
	assert_int_equal(v.vlen, d->max);
	assert_int_equal(dpc_store_set(c, 0, DPC_SET, mkkey(&kb, "max"), val, (uint32_t)d->max + 1,
				       0, 0, 0, NULL), DPC_TOO_LARGE);
	dpc_cache_free(c);
	free(val);
	struct dpc_cache_params prm = { .nparts = 1, .mem_bytes = 64u << 20,
					.max_value = (uint32_t)d->max + 1 };

	assert_null(dpc_cache_create(&prm));
	assert_int_equal(errno, EINVAL);
	dpc_config_defaults(&cfg);
	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)d->max + 1);
	assert_true(dpc_config_set(&cfg, "max_value", buf, false, NULL, 0) < 0);
	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)d->max);
	assert_int_equal(dpc_config_set(&cfg, "max_value", buf, false, NULL, 0), 0);
}

static void test_create_invalid(void **state)
{
	struct dpc_cache_params prm = { .nparts = 0, .mem_bytes = 1u << 20 };

	(void)state;
	assert_null(dpc_cache_create(&prm));
	assert_int_equal(errno, EINVAL);
	prm.nparts = DPC_MAX_PARTS + 1;
	assert_null(dpc_cache_create(&prm));
	/* too little memory for a 1 MiB value */
	prm.nparts = 4;
	prm.mem_bytes = 4u << 20;
	assert_null(dpc_cache_create(&prm));
	assert_int_equal(errno, EINVAL);
	/* every policy, including S3-FIFO */
	prm.nparts = 1;
	prm.mem_bytes = 16u << 20;
	prm.policy = DPC_EVICT_S3FIFO + 1;
	assert_null(dpc_cache_create(&prm));
	assert_int_equal(errno, EINVAL);
	for (unsigned pol = DPC_EVICT_FIFO; pol <= DPC_EVICT_S3FIFO; pol++) {
		prm.policy = pol;
		struct dpc_cache *c = dpc_cache_create(&prm);

		assert_non_null(c);
		dpc_cache_free(c);
	}
	dpc_cache_free(NULL);
}

/* Fill far beyond capacity; the cache keeps working and recent keys stay. */
static void fill_beyond(enum dpc_evict_policy pol)
{
	struct dpc_cache *c = mkcache(2, 8u << 20, 4096, pol, 100);
	char key[32], val[128];
	unsigned long nospace_seen = nospace_retries;
	const int N = 300000;   /* ~ 36 MB of items into 8 MB */

	for (int i = 0; i < N; i++) {
		int n = snprintf(key, sizeof(key), "key:%d", i);
		struct kbuf kb;
		struct dpc_key *k;

		(void)n;
		snprintf(val, sizeof(val), "value-%d-%080d", i, i);
		k = mkkey(&kb, key);
		assert_int_equal(store_retry(c, part(c, k), DPC_SET, k, val, (uint32_t)strlen(val), 0, 0,
					     0, NULL), DPC_OK);
		urcu_qsbr_quiescent_state();
		if (i % 64 == 0) {
			dpc_store_maintain(c, 0, 8);
			dpc_store_maintain(c, 1, 8);
		}
		/* read back a recent key now and then (CLOCK marks it) */
		if (i % 7 == 0) {
			snprintf(key, sizeof(key), "key:%d", i);
			expect_val(c, key, val);
		}
	}
	/* the most recent keys are all there */
	for (int i = N - 2000; i < N; i++) {
		snprintf(key, sizeof(key), "key:%d", i);
		snprintf(val, sizeof(val), "value-%d-%080d", i, i);
		expect_val(c, key, val);
	}
	/* the oldest are gone */
	expect_miss(c, "key:1");
	struct dpc_store_stats s;
	uint64_t ev = 0, items = 0, nosp = 0, lim = 0, used = 0;

	for (unsigned p = 0; p < 2; p++) {
		dpc_cache_stats(c, p, &s);
		ev += s.evictions;
		items += s.items;
		nosp += s.nospace;
		lim += s.bytes_limit;
		used += s.bytes_used;
		assert_true(s.bytes_used <= s.bytes_limit);
		assert_true(s.bytes_used > s.bytes_limit / 2);
	}
	assert_true(ev > (uint64_t)N / 2);
	assert_true(items > 2000 && items < (uint64_t)N);
	assert_int_equal(nosp, nospace_retries - nospace_seen);
	print_message("policy %d: items %llu evictions %llu nospace %llu (transient) used %llu/%llu "
		      "meta %.1f B/item\n", pol, (unsigned long long)items, (unsigned long long)ev,
		      (unsigned long long)nosp, (unsigned long long)used, (unsigned long long)lim,
		      dpc_cache_meta_bytes_per_item(c));
	dpc_cache_free(c);
}

static void test_evict_fifo(void **state)
{
	(void)state;
	fill_beyond(DPC_EVICT_FIFO);
}

static void test_evict_clock(void **state)
{
	(void)state;
	fill_beyond(DPC_EVICT_CLOCK);
}

static void test_evict_s3fifo(void **state)
{
	(void)state;
	fill_beyond(DPC_EVICT_S3FIFO);
}

/* CLOCK keeps a key that is read between passes; FIFO drops it. */
static void hot_key(enum dpc_evict_policy pol, bool expect_kept)
{
	struct dpc_cache *c = mkcache(1, 4u << 20, 1024, pol, 100);
	char key[32], val[128];
	struct dpc_store_stats s;

	assert_int_equal(set(c, DPC_SET, "hot", "hot-value", 0, 0, 0, NULL), DPC_OK);
	for (int i = 0; i < 200000; i++) {
		snprintf(key, sizeof(key), "cold:%d", i);
		snprintf(val, sizeof(val), "%0100d", i);
		assert_int_equal(set(c, DPC_SET, key, val, 0, 0, 0, NULL), DPC_OK);
		urcu_qsbr_quiescent_state();
		if (i % 1000 == 0)
			(void)get(c, "hot", NULL, 0, NULL);
	}
	dpc_cache_stats(c, 0, &s);
	if (expect_kept) {
		expect_val(c, "hot", "hot-value");
		assert_true(s.reinserted > 0);
	} else {
		expect_miss(c, "hot");
		assert_int_equal(s.reinserted, 0);
	}
	dpc_cache_free(c);
}

static void test_clock_second_chance(void **state)
{
	(void)state;
	hot_key(DPC_EVICT_CLOCK, true);
	hot_key(DPC_EVICT_S3FIFO, true);
	hot_key(DPC_EVICT_FIFO, false);
}

/*
 * CLOCK's size-aware second chance: keys of 40-byte and 2000-byte values
 * written in turn, never read, through a full cache for four laps.  A
 * size-blind FIFO/CLOCK keeps the most recent writes, as many small as
 * large; CLOCK now also keeps unread records under half the mean size, so
 * the survivors are mostly small ones (more items in the same memory).
 * FIFO stays size-blind.
 */
static void size_mix(enum dpc_evict_policy pol, unsigned *small, unsigned *large)
{
	struct dpc_cache *c = mkcache(1, 4u << 20, 4096, pol, 64);
	static char big[2001];
	static const char small40[] = "0123456789012345678901234567890123456789";
	char key[32];
	const int n = 16000;   /* ~16 MB written through ~3.5 MB of log */

	memset(big, 'L', 2000);
	*small = *large = 0;
	for (int i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "mix:%d", i);
		assert_int_equal(set(c, DPC_SET, key, i % 2 ? big : small40, 0, 0, 0, NULL), DPC_OK);
		urcu_qsbr_quiescent_state();
		if (i % 2 == 0)   /* let grace periods keep up, as a server's would */
			usleep(50);
	}
	for (int i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "mix:%d", i);
		if (get(c, key, NULL, 0, NULL) == DPC_OK)
			(*(i % 2 ? large : small))++;
	}
	struct dpc_store_stats st;

	dpc_cache_stats(c, 0, &st);
	print_message("policy %d: held %u small, %u large; reinserted %llu, nospace %llu\n", pol,
		      *small, *large, (unsigned long long)st.reinserted,
		      (unsigned long long)st.nospace);
	dpc_cache_free(c);
}

static void test_clock_size_aware(void **state)
{
	unsigned s, l;

	(void)state;
	size_mix(DPC_EVICT_FIFO, &s, &l);
	assert_true(s > 0 && l > 0 && s < 2 * l && l < 2 * s);   /* blind: about as many */
	size_mix(DPC_EVICT_CLOCK, &s, &l);
	assert_true(l > 0 && s > 2 * l);
}

/*
 * S3-FIFO's structure, observed through the store: a key read while in
 * the small FIFO moves to the main one; a key dropped unread from the
 * small FIFO is remembered by the ghost, and written again it goes to the
 * main FIFO; a one-pass scan of cold keys through the small FIFO leaves a
 * read working set in place, where CLOCK lets the scan push part of it out.
 */
static unsigned scan_survivors(enum dpc_evict_policy pol, struct dpc_store_stats *out)
{
	struct dpc_cache *c = mkcache(1, 8u << 20, 1024, pol, 100);
	char key[32], val[128];
	const int HOT = 20000, SCAN = 200000;
	unsigned kept = 0;

	for (int round = 0; round < 3; round++)
		for (int i = 0; i < HOT; i++) {   /* written, then read: the working set */
			snprintf(key, sizeof(key), "hot:%d", i);
			snprintf(val, sizeof(val), "%0100d", i);
			if (get(c, key, NULL, 0, NULL) != DPC_OK)
				assert_int_equal(set(c, DPC_SET, key, val, 0, 0, 0, NULL), DPC_OK);
			urcu_qsbr_quiescent_state();
		}
	for (int i = 0; i < SCAN; i++) {   /* a scan: each key written once, never read */
		snprintf(key, sizeof(key), "scan:%d", i);
		snprintf(val, sizeof(val), "%0100d", i);
		assert_int_equal(set(c, DPC_SET, key, val, 0, 0, 0, NULL), DPC_OK);
		urcu_qsbr_quiescent_state();
		if (i % 10 == 0) {   /* the working set stays in use during the scan */
			snprintf(key, sizeof(key), "hot:%d", (i / 10) % HOT);
			(void)get(c, key, NULL, 0, NULL);
		}
	}
	for (int i = 0; i < HOT; i++) {
		snprintf(key, sizeof(key), "hot:%d", i);
		kept += get(c, key, NULL, 0, NULL) == DPC_OK;
	}
	dpc_cache_stats(c, 0, out);
	dpc_cache_free(c);
	return kept;
}

static void test_s3fifo(void **state)
{
	struct dpc_store_stats s3, ck;
	unsigned kept_s3 = scan_survivors(DPC_EVICT_S3FIFO, &s3);
	unsigned kept_ck = scan_survivors(DPC_EVICT_CLOCK, &ck);

	(void)state;
	print_message("scan of 200k keys past a 20k working set: kept %u (s3fifo), %u (clock); "
		      "s3fifo moved %llu to main, %llu ghost hits\n", kept_s3, kept_ck,
		      (unsigned long long)s3.small_to_main, (unsigned long long)s3.ghost_hits);
	assert_int_equal(ck.small_to_main, 0);
	assert_true(kept_s3 > kept_ck);
	assert_true(kept_s3 >= 20000 * 9 / 10);

	/* the ghost: dropped unread from the small FIFO, written again -> main */
	struct dpc_cache *c = mkcache(1, 8u << 20, 1024, DPC_EVICT_S3FIFO, 100);
	struct dpc_store_stats s;
	char key[32], val[128];

	for (int i = 0; i < 80000; i++) {   /* ~10 MB: new items fill the main FIFO first */
		snprintf(key, sizeof(key), "fill:%d", i);
		snprintf(val, sizeof(val), "%0100d", i);
		assert_int_equal(set(c, DPC_SET, key, val, 0, 0, 0, NULL), DPC_OK);
		urcu_qsbr_quiescent_state();
	}
	for (int i = 0; i < 30000; i++) {   /* ~3.7 MB: then several laps of the small FIFO */
		snprintf(key, sizeof(key), "g:%d", i);
		snprintf(val, sizeof(val), "%0100d", i);
		assert_int_equal(set(c, DPC_SET, key, val, 0, 0, 0, NULL), DPC_OK);
		urcu_qsbr_quiescent_state();
	}
	/* the main FIFO is full now: a new key goes to the small one; read
	 * there, it moves to the main FIFO instead of being dropped */
	assert_int_equal(set(c, DPC_SET, "mv", "moved", 0, 0, 0, NULL), DPC_OK);
	expect_val(c, "mv", "moved");
	for (int i = 0; i < 30000; i++) {
		snprintf(key, sizeof(key), "g2:%d", i);
		snprintf(val, sizeof(val), "%0100d", i);
		assert_int_equal(set(c, DPC_SET, key, val, 0, 0, 0, NULL), DPC_OK);
		urcu_qsbr_quiescent_state();
	}
	dpc_cache_stats(c, 0, &s);
	assert_true(s.small_to_main > 0);
	expect_val(c, "mv", "moved");
	/* dropped from the small FIFO a few thousand drops ago: in the ghost
	 * (a quarter as many entries as items held) */
	expect_miss(c, "g2:20000");
	dpc_cache_stats(c, 0, &s);
	uint64_t ghost_before = s.ghost_hits;   /* a few: 16-bit fingerprints collide */

	assert_true(ghost_before < 100);
	assert_int_equal(set(c, DPC_SET, "g2:20000", "again", 0, 0, 0, NULL), DPC_OK);
	dpc_cache_stats(c, 0, &s);
	assert_int_equal(s.ghost_hits, ghost_before + 1);
	expect_val(c, "g2:20000", "again");
	dpc_cache_free(c);
}

/*
 * A second chance (CLOCK, S3-FIFO's main FIFO) or S3-FIFO's move from the
 * small to the main FIFO copies an item; the copy keeps the CAS, so a
 * client's gets ... cas across it succeeds (it failed with EXISTS while the
 * CAS was made from the item's position).
 */
static void reinsert_keeps_cas(enum dpc_evict_policy pol)
{
	struct dpc_cache *c = mkcache(1, 4u << 20, 1024, pol, 100);
	struct dpc_item_view v;
	struct dpc_store_stats s;
	char key[32], val[128];
	uint64_t cas0 = 0, moved0;

	for (int i = 0; i < 40000; i++) {   /* full: the next key goes to the tail of a full cache */
		snprintf(key, sizeof(key), "c:%d", i);
		snprintf(val, sizeof(val), "%0100d", i);
		assert_int_equal(set(c, DPC_SET, key, val, 0, 0, 0, NULL), DPC_OK);
		urcu_qsbr_quiescent_state();
	}
	/* As large as the others: a shorter record could fit the room left at
	 * the main log's tail when it filled, and then (S3-FIFO) never meet a
	 * head, since every later key goes to the small FIFO. */
	snprintf(val, sizeof(val), "%0100d", -1);
	assert_int_equal(set(c, DPC_SET, "kept", val, 0, 0, 0, &cas0), DPC_OK);
	dpc_cache_stats(c, 0, &s);
	moved0 = s.reinserted;
	for (int i = 0; i < 60000; i++) {   /* a lap and more; "kept" is read throughout */
		snprintf(key, sizeof(key), "d:%d", i);
		snprintf(val, sizeof(val), "%0100d", i);
		assert_int_equal(set(c, DPC_SET, key, val, 0, 0, 0, NULL), DPC_OK);
		urcu_qsbr_quiescent_state();
		if (i % 1000 == 0)
			assert_int_equal(get(c, "kept", NULL, 0, &v), DPC_OK);
	}
	dpc_cache_stats(c, 0, &s);
	assert_true(s.reinserted > moved0);   /* items were copied */
	assert_int_equal(get(c, "kept", NULL, 0, &v), DPC_OK);
	assert_int_equal(v.cas, cas0);        /* the copy has the CAS of the write */
	assert_int_equal(set(c, DPC_SET, "kept", "v1", 0, 0, cas0, NULL), DPC_OK);
	expect_val(c, "kept", "v1");
	dpc_cache_free(c);
}

static void test_reinsert_keeps_cas(void **state)
{
	(void)state;
	reinsert_keeps_cas(DPC_EVICT_CLOCK);
	reinsert_keeps_cas(DPC_EVICT_S3FIFO);
}

/* Small items into an index sized for big ones: the index overflows, the
 * cache drops entries and keeps working. */
static void test_index_pressure(void **state)
{
	struct dpc_cache *c = mkcache(1, 4u << 20, 1024, DPC_EVICT_FIFO, 4000);
	char key[32];
	struct dpc_store_stats s;

	(void)state;
	for (int i = 0; i < 50000; i++) {
		snprintf(key, sizeof(key), "i%d", i);
		assert_int_equal(set(c, DPC_SET, key, "v", 0, 0, 0, NULL), DPC_OK);
		urcu_qsbr_quiescent_state();
		expect_val(c, key, "v");
	}
	dpc_cache_stats(c, 0, &s);
	assert_true(s.index_evictions > 0);
	assert_true(s.items <= s.index_slots);
	/* load factor reached before the first index eviction is checked in test_table */
	assert_true(s.items * 10 >= s.index_slots * 9);
	dpc_cache_free(c);
}

static void test_many_parts(void **state)
{
	struct dpc_cache *c = mkcache(16, 64u << 20, 4096, DPC_EVICT_CLOCK, 0);
	char key[32], val[32];
	unsigned per[16] = { 0 };
	struct dpc_store_stats s;

	(void)state;
	assert_int_equal(dpc_cache_nparts(c), 16);
	for (int i = 0; i < 20000; i++) {
		struct kbuf kb;
		struct dpc_key *k;

		snprintf(key, sizeof(key), "mp%d", i);
		snprintf(val, sizeof(val), "v%d", i);
		k = mkkey(&kb, key);
		per[part(c, k)]++;
		assert_int_equal(dpc_store_set(c, part(c, k), DPC_SET, k, val, (uint32_t)strlen(val), 0, 0,
					       0, NULL), DPC_OK);
	}
	for (int i = 0; i < 20000; i++) {
		snprintf(key, sizeof(key), "mp%d", i);
		snprintf(val, sizeof(val), "v%d", i);
		expect_val(c, key, val);
	}
	for (unsigned p = 0; p < 16; p++) {
		dpc_cache_stats(c, p, &s);
		assert_int_equal(s.items, per[p]);
		assert_true(per[p] > 20000 / 16 / 2);  /* keys spread over partitions */
	}
	dpc_cache_stats(c, 16, &s);   /* out of range: zeros */
	assert_int_equal(s.items, 0);
	dpc_cache_free(c);
}

static void test_bulk(void **state)
{
	struct dpc_cache *c = mkcache(4, 32u << 20, 4096, DPC_EVICT_CLOCK, 0);
	char keys[DPC_BULK_MAX][32];
	struct dpc_key k[DPC_BULK_MAX];
	struct dpc_item_view v[DPC_BULK_MAX];
	enum dpc_status st[DPC_BULK_MAX];

	(void)state;
	for (int i = 0; i < 1000; i += 2) {
		char key[32], val[32];

		snprintf(key, sizeof(key), "b%d", i);
		snprintf(val, sizeof(val), "val%d", i);
		assert_int_equal(set(c, DPC_SET, key, val, (uint32_t)i, i % 10 == 0 ? 5 : 0, 0, NULL),
				 DPC_OK);
	}
	dpc_cache_set_time(c, T0 + 5);
	for (int base = 0; base < 1000; base += DPC_BULK_MAX) {
		unsigned n = 0;

		for (int i = base; i < base + (int)DPC_BULK_MAX && i < 1000; i++, n++) {
			snprintf(keys[n], sizeof(keys[n]), "b%d", i);
			k[n] = (struct dpc_key){ .data = keys[n], .len = (uint8_t)strlen(keys[n]),
						 .hash = dpc_hash(keys[n], strlen(keys[n])) };
		}
		k[0].len = 0;   /* one invalid key in every batch */
		dpc_cache_get_bulk(c, k, n, v, st);
		assert_int_equal(st[0], DPC_INVALID);
		for (unsigned j = 1; j < n; j++) {
			int i = base + (int)j;
			struct dpc_item_view one;

			if (i % 2 == 0 && i % 10 != 0) {
				char val[32];

				snprintf(val, sizeof(val), "val%d", i);
				assert_int_equal(st[j], DPC_OK);
				assert_int_equal(v[j].vlen, strlen(val));
				assert_memory_equal(v[j].val, val, v[j].vlen);
				assert_int_equal(v[j].flags, (uint32_t)i);
				assert_int_equal(dpc_cache_get(c, &k[j], &one), DPC_OK);
				assert_int_equal(one.cas, v[j].cas);
			} else {
				assert_int_equal(st[j], DPC_NOT_FOUND);
			}
		}
	}
	dpc_cache_free(c);
}

/*
 * A full cache (index near its target load, so that many keys live in their
 * second bucket, and evicted keys miss): the batched lookup answers exactly
 * as the single one for every key, in batches that mix hits and misses.
 */
static void test_bulk_full(void **state)
{
	struct dpc_cache *c = mkcache(1, 8u << 20, 1024, DPC_EVICT_FIFO, 48);
	enum { NK = 200000 };
	static char keys[DPC_BULK_MAX][17];
	struct dpc_key k[DPC_BULK_MAX];
	struct dpc_item_view v[DPC_BULK_MAX];
	enum dpc_status st[DPC_BULK_MAX];
	struct dpc_store_stats s;
	unsigned hits = 0, misses = 0;

	(void)state;
	for (int i = 0; i < NK; i++) {
		char key[17], val[33];

		snprintf(key, sizeof(key), "full:%011d", i);
		snprintf(val, sizeof(val), "value:%026d", i);
		assert_int_equal(set(c, DPC_SET, key, val, 0, 0, 0, NULL), DPC_OK);
	}
	dpc_cache_stats(c, 0, &s);
	assert_true(s.evictions > 0);
	assert_true(s.items > s.index_slots / 2);
	for (int base = 0; base < NK; base += DPC_BULK_MAX) {
		for (unsigned j = 0; j < DPC_BULK_MAX; j++) {
			snprintf(keys[j], sizeof(keys[j]), "full:%011d", base + (int)j);
			k[j] = (struct dpc_key){ .data = keys[j], .len = 16,
						 .hash = dpc_hash(keys[j], 16) };
		}
		dpc_cache_get_bulk(c, k, DPC_BULK_MAX, v, st);
		for (unsigned j = 0; j < DPC_BULK_MAX; j++) {
			struct dpc_item_view one;
			enum dpc_status st1 = dpc_cache_get(c, &k[j], &one);

			assert_int_equal(st[j], st1);
			if (st1 != DPC_OK) {
				misses++;
				continue;
			}
			hits++;
			assert_int_equal(v[j].cas, one.cas);
			assert_ptr_equal(v[j].val, one.val);
			assert_int_equal(v[j].vlen, 32);
			assert_memory_equal(v[j].key, keys[j], 16);
		}
		urcu_qsbr_quiescent_state();
	}
	print_message("bulk on a full cache: %u hits, %u misses, %llu items in %llu slots\n", hits,
		      misses, (unsigned long long)s.items, (unsigned long long)s.index_slots);
	assert_int_equal(hits, s.items);
	assert_true(misses > 0);
	dpc_cache_free(c);
}

/*
 * Item references are log positions / 4 kept in 48 bits of an index slot:
 * they wrap every 2^50 bytes a partition writes (with S3-FIFO's log bit,
 * every 2^49).  A partition that starts 2 MiB before 2^50 and writes 24
 * MiB past it must keep answering every recent key, count its items
 * exactly, and keep evicting.
 */
static void test_ref_wrap(void **state)
{
	const uint64_t wrap = 1ull << 50;
	struct dpc_cache_params prm = {
		.nparts = 1, .mem_bytes = 4u << 20, .item_size_hint = 100, .max_value = 1024,
		.policy = DPC_EVICT_CLOCK, .numa_socket = -1,
	};
	struct dpc_cache *c = dpc_cache_create_at(&prm, wrap - (2u << 20));
	char key[32], val[128];
	struct dpc_store_stats s;
	const int N = 300000;   /* ~ 34 MB of items */

	(void)state;
	assert_non_null(c);
	dpc_cache_set_time(c, T0);
	for (int i = 0; i < N; i++) {
		snprintf(key, sizeof(key), "wrap:%d", i);
		snprintf(val, sizeof(val), "v%d-%080d", i, i);
		assert_int_equal(set(c, DPC_SET, key, val, 0, 0, 0, NULL), DPC_OK);
		urcu_qsbr_quiescent_state();
		expect_val(c, key, val);
		if (i % 64 == 0)
			dpc_store_maintain(c, 0, 8);
	}
	assert_true(c->parts[0]->logs[0].t > wrap + (24u << 20));   /* really written past the wrap */
	for (int i = N - 2000; i < N; i++) {
		snprintf(key, sizeof(key), "wrap:%d", i);
		snprintf(val, sizeof(val), "v%d-%080d", i, i);
		expect_val(c, key, val);
	}
	dpc_cache_stats(c, 0, &s);
	assert_true(s.evictions > (uint64_t)N / 2);
	assert_true(s.items > 2000 && s.items < (uint64_t)N);
	/* the index holds exactly the live items: count the keys that answer */
	uint64_t found = 0;

	for (int i = 0; i < N; i++) {
		snprintf(key, sizeof(key), "wrap:%d", i);
		found += get(c, key, NULL, 0, NULL) == DPC_OK;
	}
	assert_int_equal(found, s.items);
	dpc_cache_free(c);
}

/* Metadata per item at a full cache of 16-byte keys and 32-byte values
 * (client flags @p flags on every item; the index sized for such items). */
/* flags: every item's client flags; distinct: item i gets flags + i instead. */
static double meta_bytes(enum dpc_evict_policy pol, uint32_t flags, bool distinct)
{
	struct dpc_cache *c = mkcache(1, 32u << 20, 1024, pol, distinct ? 52 : 48);
	struct dpc_store_stats s;
	char key[17], val[33];
	const int limit = 2000000;   /* 32 MiB holds ~500 k such items */
	int i;

	memset(val, 'v', 32);
	val[32] = 0;
	for (i = 0; i < limit; i++) {
		snprintf(key, sizeof(key), "%016d", i);
		assert_int_equal(set(c, DPC_SET, key, val, distinct ? flags + (uint32_t)i : flags, 0, 0,
				     NULL), DPC_OK);
		urcu_qsbr_quiescent_state();
		dpc_cache_stats(c, 0, &s);
		if (s.evictions > 0 || s.index_evictions > 0)
			break;
	}
	assert_true(i < limit);   /* the cache filled up: the figure is at full load */
	double meta = dpc_cache_meta_bytes_per_item(c);

	print_message("policy %d, flags %#x%s: meta %.2f B/item at %llu items, index load %.1f %%\n",
		      pol, flags, distinct ? " + i" : "", meta, (unsigned long long)s.items,
		      100.0 * (double)s.items / (double)s.index_slots);
	dpc_cache_free(c);
	return meta;
}

/*
 * The brief's bound: at most 24 bytes of metadata per item.  Header 12
 * bytes (w0, the CAS's low 32 bits, exptime: store_internal.h) + index
 * share ~10.2 at 90 % load + hole lists ~0.5 (+ S3-FIFO's ghost ~0.6):
 * ~22.6-23.2.  Client flags cost nothing while a partition has met at
 * most 15 distinct non-zero values (an index into its flags table, in the
 * exptime word); items whose flags found the table full carry them in 4
 * more bytes: ~26.6-27.2 when every item has flags of its own (over the
 * bound, docs/design.md).  With one word of flags on every item it was
 * 26.6-27.2, and 30.6-31.2 with a stored 64-bit CAS (20-byte header).
 */
static void test_meta_bytes(void **state)
{
	static const enum dpc_evict_policy pol[] = { DPC_EVICT_FIFO, DPC_EVICT_CLOCK,
						     DPC_EVICT_S3FIFO };

	(void)state;
	for (unsigned i = 0; i < 3; i++) {
		double m0 = meta_bytes(pol[i], 0, false), mf = meta_bytes(pol[i], 0x12345678u, false);
		double md = meta_bytes(pol[i], 1, true);

		assert_true(m0 > 20.0);
		assert_true(m0 <= 24.0);
		assert_true(mf > m0 - 0.1 && mf < m0 + 0.1);   /* flags from the table: free */
		assert_true(mf <= 24.0);
		assert_true(md > m0 + 3.5 && md < m0 + 4.5);   /* a word of flags each, nothing else */
	}
}

/* The holes of partition 0's main log have had their grace period. */
static bool holes_ready(struct dpc_cache *c)
{
	struct dpc_reuse *r = &c->parts[0]->logs[0].ru;

	return atomic_load(&r->covered) == atomic_load(&r->want);
}

/*
 * The item keeps only the low 32 bits of its write's sequence; the CAS is
 * recovered against the partition's current sequence.  Jump the sequence
 * by 2^32 (as if 4 billion writes had happened elsewhere in the partition)
 * so that a new version of a key gets exactly the low bits an old version
 * had, in the very position the old one had (a reused hole): a client's
 * old CAS must not match it (no ABA), the new CAS must work, a copy made
 * by eviction must keep the CAS, and an unchanged item's CAS stays usable
 * until the sequence moves past it by 2^32 (then EXISTS, the safe answer).
 */
static void test_cas_recover(void **state)
{
	struct dpc_cache *c = mkcache(1, 4u << 20, 1024, DPC_EVICT_CLOCK, 0);
	struct dpc_part *p = c->parts[0];
	struct dpc_item_view v;
	uint64_t cas1 = 0, cas2 = 0, cas3 = 0, old_pos, seq1;

	(void)state;
	assert_int_equal(set(c, DPC_SET, "aba", "one", 0, 0, 0, &cas1), DPC_OK);
	seq1 = p->cas_seq;
	assert_int_equal(get(c, "aba", NULL, 0, &v), DPC_OK);
	assert_int_equal(v.cas, cas1);
	old_pos = (uint64_t)((const uint8_t *)v.key - c->parts[0]->logs[0].mem);
	/* Overwrite (the first copy becomes a hole), let a grace period pass,
	 * then jump the sequence so that the next write has seq1's low bits. */
	assert_int_equal(set(c, DPC_SET, "aba", "two", 0, 0, 0, &cas2), DPC_OK);
	for (int i = 0; i < 2000 && !holes_ready(c); i++) {
		urcu_qsbr_quiescent_state();
		usleep(100);
	}
	p->cas_seq = seq1 + (1ull << 32) - 1;
	atomic_store(&p->cas_pub, p->cas_seq);
	assert_int_equal(set(c, DPC_SET, "aba", "one", 0, 0, 0, &cas3), DPC_OK);
	assert_int_equal((uint32_t)(p->cas_seq), (uint32_t)seq1);   /* same low bits */
	assert_int_equal(get(c, "aba", NULL, 0, &v), DPC_OK);
	/* the case this test is about: the new version sits where the old one did */
	assert_int_equal((uint64_t)((const uint8_t *)v.key - c->parts[0]->logs[0].mem), old_pos);
	assert_int_equal(v.cas, cas3);
	assert_true(cas3 != cas1 && cas3 != cas2);
	assert_int_equal(set(c, DPC_SET, "aba", "x", 0, 0, cas1, NULL), DPC_EXISTS);
	assert_int_equal(set(c, DPC_SET, "aba", "x", 0, 0, cas2, NULL), DPC_EXISTS);
	expect_val(c, "aba", "one");
	assert_int_equal(set(c, DPC_SET, "aba", "three", 0, 0, cas3, &cas3), DPC_OK);
	/* An unchanged item: its CAS holds while the sequence moves less than
	 * 2^32 past it ... */
	p->cas_seq += (1ull << 32) - 10;
	atomic_store(&p->cas_pub, p->cas_seq);
	assert_int_equal(get(c, "aba", NULL, 0, &v), DPC_OK);
	assert_int_equal(v.cas, cas3);
	/* ... and once it moves further, the CAS read now is a new one (never
	 * an older version's) and the old one gets EXISTS. */
	p->cas_seq += 20;
	atomic_store(&p->cas_pub, p->cas_seq);
	assert_int_equal(get(c, "aba", NULL, 0, &v), DPC_OK);
	assert_true(v.cas > cas3);
	assert_int_equal(set(c, DPC_SET, "aba", "x", 0, 0, cas3, NULL), DPC_EXISTS);
	assert_int_equal(set(c, DPC_SET, "aba", "four", 0, 0, v.cas, NULL), DPC_OK);
	expect_val(c, "aba", "four");
	dpc_cache_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_set_get),
		cmocka_unit_test(test_add_replace),
		cmocka_unit_test(test_append_prepend),
		cmocka_unit_test(test_append_cost),
		cmocka_unit_test(test_prepend_cost),
		cmocka_unit_test(test_append_prepend_mixed),
		cmocka_unit_test(test_cas),
		cmocka_unit_test(test_delete),
		cmocka_unit_test(test_incr_decr),
		cmocka_unit_test(test_expiry),
		cmocka_unit_test(test_touch),
		cmocka_unit_test(test_flags_table),
		cmocka_unit_test(test_expiry_range),
		cmocka_unit_test(test_flush),
		cmocka_unit_test(test_flush_reinserted),
		cmocka_unit_test(test_sweep_only_when_due),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_create_invalid),
		cmocka_unit_test(test_max_value_range),
		cmocka_unit_test(test_evict_fifo),
		cmocka_unit_test(test_evict_clock),
		cmocka_unit_test(test_evict_s3fifo),
		cmocka_unit_test(test_clock_second_chance),
		cmocka_unit_test(test_clock_size_aware),
		cmocka_unit_test(test_s3fifo),
		cmocka_unit_test(test_reinsert_keeps_cas),
		cmocka_unit_test(test_index_pressure),
		cmocka_unit_test(test_many_parts),
		cmocka_unit_test(test_bulk),
		cmocka_unit_test(test_bulk_full),
		cmocka_unit_test(test_meta_bytes),
		cmocka_unit_test(test_cas_recover),
		cmocka_unit_test(test_ref_wrap),
	};

	return cmocka_run_group_tests(tests, test_qsbr_setup, test_qsbr_teardown);
}
