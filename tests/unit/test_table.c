/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The hash and the cuckoo index: avalanche of dpc_hash(), bit independence
 * of bucket/tag/partition, the alt-bucket involution, the load factor the
 * BFS cuckoo insert reaches before it first fails, and that every entry
 * stays findable in one of its two buckets.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dpcache/hash.h"
#include "table.h"

static uint64_t rng_state = 0x1234567887654321ull;

static uint64_t rng(void)
{
	/* xorshift64*: deterministic test input */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

static void test_hash_basic(void **state)
{
	const char *k = "hello world, this is a key of some length that goes past 48 bytes!";

	(void)state;
	/* deterministic, length-sensitive, content-sensitive */
	for (size_t n = 0; n <= strlen(k); n++) {
		assert_int_equal(dpc_hash(k, n), dpc_hash(k, n));
		if (n > 0)
			assert_true(dpc_hash(k, n) != dpc_hash(k, n - 1));
	}
	uint8_t zeros[64] = { 0 };

	for (size_t n = 1; n < 64; n++)
		assert_true(dpc_hash(zeros, n) != dpc_hash(zeros, n - 1));
	/* not dependent on alignment */
	char buf[300];

	memcpy(buf + 1, k, strlen(k));
	assert_int_equal(dpc_hash(buf + 1, strlen(k)), dpc_hash(k, strlen(k)));
}

/* Flip each input bit: each output bit must flip with probability ~1/2. */
static void avalanche(size_t len)
{
	/* >= 40000 samples per output bit: sigma of the flip rate ~0.0025 */
	int trials = len == 1 ? 256 : (int)(40000 / (len * 8)) + 16;
	static unsigned flips[64];
	uint8_t in[256];
	double worst = 0;

	memset(flips, 0, sizeof(flips));
	for (int t = 0; t < trials; t++) {
		for (size_t i = 0; i < len; i++)
			in[i] = len == 1 ? (uint8_t)t : (uint8_t)rng();   /* 1 byte: all inputs */
		uint64_t h0 = dpc_hash(in, len);

		for (size_t bit = 0; bit < len * 8; bit++) {
			in[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			uint64_t d = h0 ^ dpc_hash(in, len);

			in[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			for (int o = 0; o < 64; o++)
				flips[o] += (unsigned)((d >> o) & 1);
		}
	}
	for (int o = 0; o < 64; o++) {
		double p = (double)flips[o] / (double)((size_t)trials * len * 8);
		double dev = p > 0.5 ? p - 0.5 : 0.5 - p;

		if (dev > worst)
			worst = dev;
	}
	/* 5 sigma of the flip rate over this many samples */
	double bound = 5 * 0.5 / sqrt((double)((size_t)trials * len * 8));

	print_message("len %3zu: worst output-bit bias %.4f (bound %.4f)\n", len, worst, bound);
	assert_true(worst < bound);
}

static void test_hash_avalanche(void **state)
{
	(void)state;
	static const size_t lens[] = { 1, 3, 4, 8, 12, 16, 17, 32, 48, 49, 100, 250 };

	for (size_t i = 0; i < DPC_ARRAY_SIZE(lens); i++)
		avalanche(lens[i]);
}

/* Sequential keys spread evenly over buckets, tags and partitions. */
static void test_hash_spread(void **state)
{
	enum { N = 1 << 18, NB = 1024, NP = 7 };
	static unsigned bucket[NB], tag[256], part[NP], joint[NP][16];
	struct dpc_table t = { .nb = NB };
	char key[32];

	(void)state;
	for (int i = 0; i < N; i++) {
		int n = snprintf(key, sizeof(key), "key:%016d", i);
		uint64_t h = dpc_hash(key, (size_t)n);
		unsigned p = dpc_hash_part(h, NP);

		bucket[dpc_table_b1(&t, h)]++;
		tag[dpc_table_tag(h) & 0xff]++;
		part[p]++;
		joint[p][dpc_table_tag(h) & 15]++;   /* tag independent of partition */
	}
	unsigned bmin = N, bmax = 0;

	for (int i = 0; i < NB; i++) {
		bmin = bucket[i] < bmin ? bucket[i] : bmin;
		bmax = bucket[i] > bmax ? bucket[i] : bmax;
	}
	/* 256 expected per bucket, sigma 16: +-35 % is beyond 5 sigma */
	print_message("keys per bucket: min %u max %u (expected %u)\n", bmin, bmax, N / NB);
	assert_true(bmin > N / NB * 65 / 100 && bmax < N / NB * 135 / 100);
	for (int i = 0; i < 256; i++)
		assert_true(tag[i] > N / 256 * 85 / 100 && tag[i] < N / 256 * 115 / 100);
	for (int i = 0; i < NP; i++) {
		assert_true(part[i] > N / NP * 95 / 100 && part[i] < N / NP * 105 / 100);
		for (int j = 0; j < 16; j++)
			assert_true(joint[i][j] > N / NP / 16 * 85 / 100 &&
				    joint[i][j] < N / NP / 16 * 115 / 100);
	}
	/* dpc_hash_part covers [0, n) */
	assert_int_equal(dpc_hash_part(0, 5), 0);
	assert_int_equal(dpc_hash_part(UINT64_MAX, 5), 4);
	assert_int_equal(dpc_hash_part(UINT64_MAX, 1), 0);
}

static void test_alt_involution(void **state)
{
	static const uint32_t sizes[] = { 2, 3, 7, 1000, 1024, 65537, 1u << 24 };

	(void)state;
	for (size_t s = 0; s < DPC_ARRAY_SIZE(sizes); s++) {
		struct dpc_table t = { .nb = sizes[s] };

		for (int i = 0; i < 20000; i++) {
			uint64_t h = rng();
			uint16_t tag = dpc_table_tag(h);
			uint32_t b1 = dpc_table_b1(&t, h);
			uint32_t b2 = dpc_table_alt(&t, b1, tag);

			assert_true(b1 < t.nb && b2 < t.nb);
			assert_int_equal(dpc_table_alt(&t, b2, tag), b1);
		}
	}
}

/* Insert until the first failure: the load factor must be >= 90 %, and every
 * entry must be found in one of its buckets afterwards. */
static void fill_table(uint32_t nb)
{
	struct dpc_table t;
	uint64_t *vals = calloc((size_t)nb * DPC_BUCKET_SLOTS, sizeof(*vals));
	uint32_t *b1s = calloc((size_t)nb * DPC_BUCKET_SLOTS, sizeof(*b1s));
	struct dpc_ref_win all = { .lo = { 0, 0 }, .span = { 1ull << 40, 0 } };   /* all live */
	size_t n = 0;
	uint64_t dropped;

	assert_non_null(vals);
	assert_non_null(b1s);
	assert_int_equal(dpc_table_init(&t, nb, false), 0);
	for (;;) {
		uint64_t h = rng();
		uint16_t tag = dpc_table_tag(h);
		uint32_t b1 = dpc_table_b1(&t, h);
		uint64_t sv = dpc_slot_make(tag, n + 1);   /* unique ref per entry */

		if (dpc_table_insert(&t, b1, dpc_table_alt(&t, b1, tag), sv, &all, &dropped) < 0)
			break;
		assert_int_equal(dropped, 0);
		vals[n] = sv;
		b1s[n] = b1;
		n++;
		assert_true(n <= (size_t)nb * DPC_BUCKET_SLOTS);
	}
	double load = (double)n / ((double)nb * DPC_BUCKET_SLOTS);

	print_message("nb %u: first insert failure at load %.1f %%\n", nb, 100.0 * load);
	assert_true(load >= 0.90);
	for (size_t i = 0; i < n; i++) {
		uint16_t tag = dpc_slot_tag(vals[i]);

		assert_non_null(dpc_table_find_exact(&t, b1s[i], dpc_table_alt(&t, b1s[i], tag), vals[i]));
	}
	/* versions are even (no move left half done) */
	for (uint32_t b = 0; b < nb; b++)
		assert_int_equal(atomic_load(&t.b[b].ver) & 1u, 0);
	/* the victim is the oldest entry of the two buckets */
	uint64_t h = rng();
	uint16_t tag = dpc_table_tag(h);
	uint32_t b1 = dpc_table_b1(&t, h), b2 = dpc_table_alt(&t, b1, tag);
	_Atomic uint64_t *v = dpc_table_victim(&t, b1, b2, &all);

	for (unsigned i = 0; i < DPC_BUCKET_SLOTS; i++) {
		assert_true(dpc_slot_ref(*v) <= dpc_slot_ref(t.b[b1].slot[i]));
		assert_true(dpc_slot_ref(*v) <= dpc_slot_ref(t.b[b2].slot[i]));
	}
	dpc_table_fini(&t);
	free(vals);
	free(b1s);
}

static void test_load_factor(void **state)
{
	(void)state;
	fill_table(1000);
	fill_table(4096);
	fill_table(100003);
}

/* Stale entries (ref outside the live window) count as free and are
 * reported; the window is modular, so it works across the wrap of refs. */
static void test_stale_slots(void **state)
{
	const uint64_t base = DPC_REF_POS_MASK - 4;   /* refs wrap to 0 after base + 4 */
#define R(i) ((base + (i)) & DPC_REF_POS_MASK)
	struct dpc_ref_win all = { .lo = { base, 0 }, .span = { 1000, 0 } };
	struct dpc_ref_win later = { .lo = { base + 3, 0 }, .span = { 1000, 0 } };
	struct dpc_table t;
	uint64_t dropped;

	(void)state;
	assert_int_equal(dpc_table_init(&t, 2, false), 0);
	for (uint64_t i = 1; i <= 2 * DPC_BUCKET_SLOTS; i++)
		assert_int_equal(dpc_table_insert(&t, 0, 1, dpc_slot_make(7, R(i)), &all, &dropped),
				 0);
	/* full: no free slot, no path */
	assert_int_equal(dpc_table_insert(&t, 0, 1, dpc_slot_make(7, R(100)), &all, &dropped),
			 -ENOSPC);
	/* the oldest is the victim, although later refs wrapped to small numbers */
	assert_int_equal(dpc_slot_ref(*dpc_table_victim(&t, 0, 1, &all)), R(1));
	/* with the window starting at base + 3, refs base + 1 and + 2 are stale */
	assert_int_equal(dpc_table_insert(&t, 0, 1, dpc_slot_make(7, R(101)), &later, &dropped),
			 0);
	assert_true(dpc_slot_ref(dropped) == R(1) || dpc_slot_ref(dropped) == R(2));
	assert_non_null(dpc_table_find_exact(&t, 0, 1, dpc_slot_make(7, R(101))));
	dpc_table_fini(&t);
	dpc_table_fini(NULL);
	assert_int_equal(dpc_table_init(&t, 1, false), -EINVAL);
}
#undef R

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hash_basic),
		cmocka_unit_test(test_hash_avalanche),
		cmocka_unit_test(test_hash_spread),
		cmocka_unit_test(test_alt_involution),
		cmocka_unit_test(test_load_factor),
		cmocka_unit_test(test_stale_slots),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
