/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * IPv4 reassembly table (dataplane/engine/reasm.c): completion in any
 * order, every refusal counted once under its reason with all of the
 * datagram's fragments freed, the bounds (entries, fragments, bytes,
 * timeout), and no fragment ever freed twice or leaked.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "reasm.h"

#define NH 4096
static int freed[NH];           /* times each handle was freed */
static char handles[NH];        /* &handles[k] is handle k (a pointer into one object: -O3 checks) */
static struct dpc_worker_stats st;

static void *H(unsigned k) { return &handles[k]; }
static unsigned K(void *h) { return (unsigned)((char *)h - handles); }

static void free_bulk(void *ctx, void **h, unsigned n)
{
	(void)ctx;
	for (unsigned i = 0; i < n; i++) {
		assert_true(K(h[i]) < NH);
		freed[K(h[i])]++;
	}
}

static struct dpc_reasm *mk(uint32_t entries, uint32_t frags, uint64_t bytes, uint64_t timeout)
{
	struct dpc_reasm_params p = {
		.max_entries = entries, .max_frags = frags, .max_bytes = bytes, .timeout = timeout,
		.free_bulk = free_bulk, .ctx = NULL, .stats = &st,
	};

	memset(freed, 0, sizeof(freed));
	dpc_stats_reset(&st);
	struct dpc_reasm *r = dpc_reasm_create(&p);
	assert_non_null(r);
	return r;
}

static const struct dpc_reasm_key KA = { .src = 0x0200a8c0, .dst = 0x0100a8c0, .id = 7, .proto = 17 };
static const struct dpc_reasm_key KB = { .src = 0x0200a8c0, .dst = 0x0100a8c0, .id = 8, .proto = 17 };

static enum dpc_reasm_result add(struct dpc_reasm *r, const struct dpc_reasm_key *k, unsigned off,
				 unsigned len, bool more, unsigned h, uint64_t now,
				 struct dpc_reasm_done *d)
{
	return dpc_reasm_add(r, k, (uint16_t)off, (uint16_t)len, more, H(h), 1000, now, d);
}

/* Every handle below n freed exactly @times times. */
static void all_freed(unsigned lo, unsigned hi, int times)
{
	for (unsigned k = lo; k < hi; k++)
		assert_int_equal(freed[k], times);
}

static void check_done(const struct dpc_reasm_done *d, unsigned n, unsigned len)
{
	unsigned off = 0;

	assert_int_equal(d->n, n);
	assert_int_equal(d->len, len);
	for (unsigned i = 0; i < n; i++) {
		assert_int_equal(d->frags[i].off, off); /* in offset order, no gap */
		off += d->frags[i].len;
	}
	assert_int_equal(off, len);
}

static void test_in_order_and_reverse(void **state)
{
	(void)state;
	struct dpc_reasm *r = mk(8, 64, 1 << 20, 1000);
	struct dpc_reasm_done d;

	assert_int_equal(add(r, &KA, 0, 1480, true, 1, 0, &d), DPC_REASM_HELD);
	assert_int_equal(add(r, &KA, 1480, 1480, true, 2, 0, &d), DPC_REASM_HELD);
	assert_int_equal(dpc_reasm_entries(r), 1);
	assert_int_equal(dpc_stat_load(&st, reasm_entries), 1);
	assert_int_equal(dpc_stat_load(&st, reasm_bytes), 2000);
	assert_int_equal(add(r, &KA, 2960, 100, false, 3, 0, &d), DPC_REASM_DONE);
	check_done(&d, 3, 3060);
	assert_ptr_equal(d.frags[0].handle, H(1));
	assert_ptr_equal(d.frags[2].handle, H(3));
	assert_int_equal(dpc_reasm_entries(r), 0);
	assert_int_equal(dpc_stat_load(&st, reasm_entries), 0);
	assert_int_equal(dpc_stat_load(&st, reasm_bytes), 0);

	/* last first, then backwards, and a second datagram interleaved */
	assert_int_equal(add(r, &KA, 2960, 100, false, 10, 1, &d), DPC_REASM_HELD);
	assert_int_equal(add(r, &KB, 8, 8, false, 20, 1, &d), DPC_REASM_HELD);
	assert_int_equal(add(r, &KA, 1480, 1480, true, 11, 1, &d), DPC_REASM_HELD);
	assert_int_equal(add(r, &KB, 0, 8, true, 21, 1, &d), DPC_REASM_DONE);
	check_done(&d, 2, 16);
	assert_int_equal(add(r, &KA, 0, 1480, true, 12, 1, &d), DPC_REASM_DONE);
	check_done(&d, 3, 3060);
	assert_ptr_equal(d.frags[0].handle, H(12));
	assert_int_equal(dpc_stat_load(&st, reasm_done), 3);
	assert_int_equal(dpc_stat_load(&st, frag_in), 8);
	dpc_reasm_flush(r);
	all_freed(0, NH, 0); /* completed fragments belong to the caller */
	dpc_reasm_free(r);
	all_freed(0, NH, 0);
}

static void test_largest_datagram(void **state)
{
	(void)state;
	struct dpc_reasm *r = mk(4, 64, 1 << 20, 1000);
	struct dpc_reasm_done d;
	unsigned total = 65507 + 8, off = 0, k = 0; /* the largest UDP payload plus its header */

	while (total - off > 1480) {
		assert_int_equal(add(r, &KA, off, 1480, true, k++, 0, &d), DPC_REASM_HELD);
		off += 1480;
	}
	assert_int_equal(add(r, &KA, off, total - off, false, k++, 0, &d), DPC_REASM_DONE);
	assert_int_equal(k, 45);
	check_done(&d, 45, total);
	assert_int_equal(total, DPC_REASM_MAX_PAYLOAD);
	dpc_reasm_free(r);
}

static void test_overlap(void **state)
{
	(void)state;
	struct dpc_reasm *r = mk(8, 64, 1 << 20, 1000);
	struct dpc_reasm_done d;

	assert_int_equal(add(r, &KA, 0, 16, true, 1, 0, &d), DPC_REASM_HELD);
	assert_int_equal(add(r, &KA, 32, 16, true, 2, 0, &d), DPC_REASM_HELD);
	assert_int_equal(add(r, &KA, 8, 16, true, 3, 0, &d), DPC_REASM_DROPPED); /* 8..24 */
	assert_int_equal(dpc_stat_load(&st, reasm_drop_overlap), 1);
	assert_int_equal(dpc_reasm_entries(r), 0);
	dpc_reasm_flush(r);
	all_freed(1, 4, 1);
	/* an exact duplicate is an overlap too; the next fragment starts a new datagram */
	assert_int_equal(add(r, &KA, 16, 16, true, 4, 0, &d), DPC_REASM_HELD);
	assert_int_equal(add(r, &KA, 16, 16, true, 5, 0, &d), DPC_REASM_DROPPED);
	assert_int_equal(dpc_stat_load(&st, reasm_drop_overlap), 2);
	/* overlapping the next one from below */
	assert_int_equal(add(r, &KA, 16, 16, true, 6, 0, &d), DPC_REASM_HELD);
	assert_int_equal(add(r, &KA, 8, 16, true, 7, 0, &d), DPC_REASM_DROPPED);
	assert_int_equal(dpc_stat_load(&st, reasm_drop_overlap), 3);
	dpc_reasm_flush(r);
	all_freed(1, 8, 1);
	assert_int_equal(dpc_stat_load(&st, reasm_done), 0);
	dpc_reasm_free(r);
	all_freed(1, 8, 1);
}

static void test_oversize(void **state)
{
	(void)state;
	struct dpc_reasm *r = mk(8, 64, 1 << 20, 1000);
	struct dpc_reasm_done d;

	assert_int_equal(add(r, &KA, 0, 1480, true, 1, 0, &d), DPC_REASM_HELD);
	/* offset 65512 + 8 = 65520 payload bytes: a 65,540-byte datagram */
	assert_int_equal(add(r, &KA, 65512, 8, false, 2, 0, &d), DPC_REASM_DROPPED);
	assert_int_equal(dpc_stat_load(&st, reasm_drop_oversize), 1);
	assert_int_equal(dpc_reasm_entries(r), 0);
	/* exactly 65,535 bytes is fine (end 65515) */
	assert_int_equal(add(r, &KA, 65512, 3, false, 3, 0, &d), DPC_REASM_HELD);
	dpc_reasm_flush(r);
	all_freed(1, 3, 1);
	assert_int_equal(freed[3], 0);
	dpc_reasm_free(r);
	assert_int_equal(freed[3], 1);
}

static void test_too_many(void **state)
{
	(void)state;
	struct dpc_reasm *r = mk(8, 4, 1 << 20, 1000);
	struct dpc_reasm_done d;

	for (unsigned k = 0; k < 4; k++)
		assert_int_equal(add(r, &KA, k * 8, 8, true, k, 0, &d), DPC_REASM_HELD);
	assert_int_equal(add(r, &KA, 32, 8, false, 4, 0, &d), DPC_REASM_DROPPED);
	assert_int_equal(dpc_stat_load(&st, reasm_drop_too_many), 1);
	dpc_reasm_flush(r);
	all_freed(0, 5, 1);
	/* four fragments are allowed */
	for (unsigned k = 0; k < 3; k++)
		assert_int_equal(add(r, &KA, k * 8, 8, true, 10 + k, 0, &d), DPC_REASM_HELD);
	assert_int_equal(add(r, &KA, 24, 8, false, 13, 0, &d), DPC_REASM_DONE);
	dpc_reasm_free(r);
}

static void test_bad(void **state)
{
	(void)state;
	struct dpc_reasm *r = mk(8, 64, 1 << 20, 1000);
	struct dpc_reasm_done d;

	assert_int_equal(add(r, &KA, 0, 0, true, 1, 0, &d), DPC_REASM_DROPPED);     /* empty */
	assert_int_equal(add(r, &KA, 0, 12, true, 2, 0, &d), DPC_REASM_DROPPED);    /* not 8k */
	assert_int_equal(dpc_stat_load(&st, reasm_drop_bad), 2);
	assert_int_equal(dpc_reasm_entries(r), 0);
	/* a second, different last fragment */
	assert_int_equal(add(r, &KA, 16, 5, false, 3, 0, &d), DPC_REASM_HELD);
	assert_int_equal(add(r, &KA, 24, 5, false, 4, 0, &d), DPC_REASM_DROPPED);
	assert_int_equal(dpc_stat_load(&st, reasm_drop_bad), 3);
	/* a fragment past the last one's end */
	assert_int_equal(add(r, &KA, 16, 5, false, 5, 0, &d), DPC_REASM_HELD);
	assert_int_equal(add(r, &KA, 24, 8, true, 6, 0, &d), DPC_REASM_DROPPED);
	/* a last fragment ending before data already held */
	assert_int_equal(add(r, &KA, 16, 16, true, 7, 0, &d), DPC_REASM_HELD);
	assert_int_equal(add(r, &KA, 0, 8, false, 8, 0, &d), DPC_REASM_DROPPED);
	assert_int_equal(dpc_stat_load(&st, reasm_drop_bad), 5);
	dpc_reasm_flush(r);
	all_freed(1, 9, 1);
	dpc_reasm_free(r);
	all_freed(1, 9, 1);
}

static void test_timeout(void **state)
{
	(void)state;
	struct dpc_reasm *r = mk(8, 64, 1 << 20, 1000);
	struct dpc_reasm_done d;

	assert_int_equal(add(r, &KA, 0, 8, true, 1, 100, &d), DPC_REASM_HELD);
	assert_int_equal(add(r, &KB, 0, 8, true, 2, 600, &d), DPC_REASM_HELD);
	assert_int_equal(dpc_reasm_expire(r, 1099, 16), 0);
	assert_int_equal(dpc_reasm_expire(r, 1100, 16), 1);      /* A only */
	assert_int_equal(dpc_stat_load(&st, reasm_drop_timeout), 1);
	assert_int_equal(dpc_reasm_entries(r), 1);
	dpc_reasm_flush(r);
	assert_int_equal(freed[1], 1);
	assert_int_equal(freed[2], 0);
	/* a fragment of a datagram past its time starts it over */
	assert_int_equal(add(r, &KB, 8, 8, false, 3, 1600, &d), DPC_REASM_HELD);
	assert_int_equal(dpc_stat_load(&st, reasm_drop_timeout), 2);
	assert_int_equal(dpc_reasm_entries(r), 1);
	/* the budget bounds the work */
	for (unsigned k = 0; k < 5; k++) {
		struct dpc_reasm_key kk = KA;
		kk.id = (uint16_t)(100 + k);
		assert_int_equal(add(r, &kk, 0, 8, true, 10 + k, 1600, &d), DPC_REASM_HELD);
	}
	assert_int_equal(dpc_reasm_expire(r, 5000, 4), 4);
	assert_int_equal(dpc_reasm_expire(r, 5000, 4), 2);
	assert_int_equal(dpc_stat_load(&st, reasm_drop_timeout), 8);
	assert_int_equal(dpc_stat_load(&st, reasm_entries), 0);
	dpc_reasm_flush(r);
	all_freed(1, 4, 1);
	all_freed(10, 15, 1);
	dpc_reasm_free(r);
}

static void test_evict_entries(void **state)
{
	(void)state;
	struct dpc_reasm *r = mk(2, 64, 1 << 20, 1000);
	struct dpc_reasm_done d;
	struct dpc_reasm_key kc = KA;

	kc.id = 9;
	assert_int_equal(add(r, &KA, 0, 8, true, 1, 0, &d), DPC_REASM_HELD);
	assert_int_equal(add(r, &KB, 0, 8, true, 2, 1, &d), DPC_REASM_HELD);
	assert_int_equal(add(r, &kc, 0, 8, true, 3, 2, &d), DPC_REASM_HELD); /* evicts A */
	assert_int_equal(dpc_stat_load(&st, reasm_drop_evicted), 1);
	assert_int_equal(dpc_reasm_entries(r), 2);
	dpc_reasm_flush(r);
	assert_int_equal(freed[1], 1);
	assert_int_equal(add(r, &KB, 8, 8, false, 4, 3, &d), DPC_REASM_DONE);
	dpc_reasm_free(r);
	assert_int_equal(freed[3], 1);
	assert_int_equal(freed[2] + freed[4], 0);
}

static void test_evict_bytes(void **state)
{
	(void)state;
	/* each fragment costs 1000: at most three held */
	struct dpc_reasm *r = mk(8, 64, 3000, 1000);
	struct dpc_reasm_done d;

	assert_int_equal(add(r, &KA, 0, 8, true, 1, 0, &d), DPC_REASM_HELD);
	assert_int_equal(add(r, &KA, 8, 8, true, 2, 0, &d), DPC_REASM_HELD);
	assert_int_equal(add(r, &KB, 0, 8, true, 3, 1, &d), DPC_REASM_HELD);
	assert_int_equal(dpc_reasm_bytes(r), 3000);
	/* B's second fragment: the oldest other datagram (A) makes room */
	assert_int_equal(add(r, &KB, 8, 8, true, 4, 2, &d), DPC_REASM_HELD);
	assert_int_equal(dpc_stat_load(&st, reasm_drop_evicted), 1);
	assert_int_equal(dpc_reasm_bytes(r), 2000);
	assert_int_equal(dpc_stat_load(&st, reasm_bytes), 2000);
	assert_int_equal(add(r, &KB, 16, 8, true, 5, 2, &d), DPC_REASM_HELD);
	/* B alone fills the bound: its own next fragment gives B up */
	assert_int_equal(add(r, &KB, 24, 8, false, 6, 2, &d), DPC_REASM_DROPPED);
	assert_int_equal(dpc_stat_load(&st, reasm_drop_evicted), 2);
	assert_int_equal(dpc_reasm_bytes(r), 0);
	dpc_reasm_flush(r);
	all_freed(1, 7, 1);
	dpc_reasm_free(r);
	all_freed(1, 7, 1);
}

/* A flood of incomplete datagrams never holds more than the bound. */
static void test_flood_bounded(void **state)
{
	(void)state;
	struct dpc_reasm *r = mk(64, 64, 50 * 1000, 1000000);
	struct dpc_reasm_done d;
	unsigned k;

	for (k = 0; k < NH - 1; k++) {
		struct dpc_reasm_key kk = KA;
		kk.id = (uint16_t)(k / 3);
		(void)add(r, &kk, (k % 3) * 8, 8, true, k, k, &d);
		assert_true(dpc_reasm_bytes(r) <= 50 * 1000);
		assert_true(dpc_reasm_entries(r) <= 64);
	}
	assert_int_equal(dpc_stat_load(&st, frag_in), NH - 1);
	dpc_reasm_free(r);
	all_freed(0, NH - 1, 1); /* every fragment freed once: on the death row or at free */
}

static void test_create_params(void **state)
{
	(void)state;
	struct dpc_reasm_params p = { .max_entries = 4, .max_frags = 8, .max_bytes = 1 << 20,
				      .timeout = 10, .free_bulk = free_bulk, .stats = &st };

	p.max_entries = 0;
	errno = 0;
	assert_null(dpc_reasm_create(&p));
	assert_int_equal(errno, EINVAL);
	p.max_entries = 4;
	p.max_frags = 1;
	assert_null(dpc_reasm_create(&p));
	p.max_frags = 8;
	p.free_bulk = NULL;
	assert_null(dpc_reasm_create(&p));
	assert_null(dpc_reasm_create(NULL));
	dpc_reasm_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_in_order_and_reverse),
		cmocka_unit_test(test_largest_datagram),
		cmocka_unit_test(test_overlap),
		cmocka_unit_test(test_oversize),
		cmocka_unit_test(test_too_many),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_evict_entries),
		cmocka_unit_test(test_evict_bytes),
		cmocka_unit_test(test_flood_bounded),
		cmocka_unit_test(test_create_params),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
