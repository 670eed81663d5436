/* SPDX-License-Identifier: BSD-3-Clause */
/* Log-linear histogram: percentiles against exact sorted values, merge, clamp. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "dpcache/hist.h"

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	/* xorshift64*: deterministic across runs. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ull;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Exact percentile: the smallest value with ceil(p% of n) values at or below it. */
static uint64_t exact_pct(const uint64_t *sorted, size_t n, double p)
{
	double r = p / 100.0 * (double)n;
	size_t rank = (size_t)r;

	if ((double)rank < r)
		rank++;
	if (rank == 0)
		rank = 1;
	return sorted[rank - 1];
}

static void check_against_exact(struct dpc_hist *h, uint64_t *vals, size_t n)
{
	static const double ps[] = { 0, 0.1, 1, 10, 25, 50, 75, 90, 95, 99, 99.5, 99.9, 99.99, 100 };
	double err = dpc_hist_rel_error(h);
	unsigned i;

	qsort(vals, n, sizeof(vals[0]), cmp_u64);
	assert_int_equal(dpc_hist_count(h), n);
	assert_int_equal(dpc_hist_min(h), vals[0]);
	assert_int_equal(dpc_hist_max(h), vals[n - 1]);
	for (i = 0; i < sizeof(ps) / sizeof(ps[0]); i++) {
		uint64_t want = exact_pct(vals, n, ps[i]);
		uint64_t got = dpc_hist_percentile(h, ps[i]);

		/* An upper bound within the relative error. */
		assert_true(got >= want);
		assert_true((double)(got - want) <= err * (double)want);
	}
}

static void test_percentiles_log_uniform(void **state)
{
	const size_t n = 200000;
	uint64_t *vals = calloc(n, sizeof(*vals));
	struct dpc_hist *h = dpc_hist_create(1ull << 40, 7);
	long double sum = 0;
	size_t i;

	(void)state;
	assert_non_null(vals);
	assert_non_null(h);
	assert_true(dpc_hist_rel_error(h) < 0.008);
	for (i = 0; i < n; i++) {
		/* Spread over 0 .. 2^36: every magnitude gets values. */
		unsigned bits = (unsigned)(rnd() % 37);
		uint64_t v = bits ? rnd() >> (64 - bits) : 0;

		vals[i] = v;
		sum += (long double)v;
		dpc_hist_record(h, v);
	}
	assert_true(dpc_hist_mean(h) > 0.0);
	{
		double exact_mean = (double)(sum / (long double)n);
		double diff = dpc_hist_mean(h) - exact_mean;

		/* The mean is kept exactly, not estimated from bins. */
		assert_true(diff < 1e-6 * exact_mean && diff > -1e-6 * exact_mean);
	}
	check_against_exact(h, vals, n);
	dpc_hist_free(h);
	free(vals);
}

static void test_percentiles_narrow_and_coarse(void **state)
{
	const size_t n = 50000;
	uint64_t *vals = calloc(n, sizeof(*vals));
	struct dpc_hist *h = dpc_hist_create(10000000, 3); /* 12.5 % error: makes bins visible */
	size_t i;

	(void)state;
	assert_non_null(h);
	for (i = 0; i < n; i++) {
		vals[i] = 5000 + rnd() % 20000; /* latencies around 5..25 us */
		dpc_hist_record(h, vals[i]);
	}
	check_against_exact(h, vals, n);
	/* With sub_bits 3 the p50 is visibly quantized, yet within 12.5 %. */
	assert_true(dpc_hist_rel_error(h) == 0.125);
	dpc_hist_free(h);
	free(vals);
}

static void test_small_values_exact(void **state)
{
	struct dpc_hist *h = dpc_hist_create(1000, 7);
	uint64_t v;

	(void)state;
	for (v = 0; v < 128; v++)
		dpc_hist_record(h, v);
	/* Below 2^sub_bits every value has a bin of its own. */
	assert_int_equal(dpc_hist_percentile(h, 50), 63);
	assert_int_equal(dpc_hist_percentile(h, 100), 127);
	assert_int_equal(dpc_hist_percentile(h, 0), 0);
	assert_int_equal(dpc_hist_percentile(h, 1), 1);
	dpc_hist_free(h);
}

static void test_empty_and_reset(void **state)
{
	struct dpc_hist *h = dpc_hist_create(1000000, 7);

	(void)state;
	assert_int_equal(dpc_hist_count(h), 0);
	assert_int_equal(dpc_hist_percentile(h, 99), 0);
	assert_int_equal(dpc_hist_min(h), 0);
	assert_int_equal(dpc_hist_max(h), 0);
	assert_true(dpc_hist_mean(h) == 0.0);
	dpc_hist_record_n(h, 5000, 10);
	dpc_hist_record_n(h, 7, 0);
	assert_int_equal(dpc_hist_count(h), 10);
	assert_int_equal(dpc_hist_min(h), 5000);
	assert_int_equal(dpc_hist_percentile(h, 50), 5000);
	dpc_hist_reset(h);
	assert_int_equal(dpc_hist_count(h), 0);
	assert_int_equal(dpc_hist_percentile(h, 50), 0);
	dpc_hist_free(h);
	dpc_hist_free(NULL);
}

static void test_clamp(void **state)
{
	struct dpc_hist *h = dpc_hist_create(100000, 7);

	(void)state;
	dpc_hist_record(h, 10);
	dpc_hist_record(h, 100000);
	dpc_hist_record(h, 5000000000ull);
	dpc_hist_record_n(h, UINT64_MAX, 2);
	assert_int_equal(dpc_hist_count(h), 5);
	assert_int_equal(dpc_hist_clamped(h), 3);
	assert_int_equal(dpc_hist_max(h), 100000);
	assert_int_equal(dpc_hist_percentile(h, 100), 100000);
	assert_int_equal(dpc_hist_percentile(h, 90), 100000);
	assert_int_equal(dpc_hist_percentile(h, 10), 10);
	dpc_hist_free(h);
}

static void test_merge(void **state)
{
	const size_t n = 40000;
	uint64_t *vals = calloc(n, sizeof(*vals));
	struct dpc_hist *a = dpc_hist_create(1ull << 32, 7);
	struct dpc_hist *b = dpc_hist_create(1ull << 32, 7);
	struct dpc_hist *all = dpc_hist_create(1ull << 32, 7);
	struct dpc_hist *other = dpc_hist_create(1ull << 32, 6);
	static const double ps[] = { 1, 50, 90, 99, 99.9, 100 };
	size_t i;

	(void)state;
	for (i = 0; i < n; i++) {
		vals[i] = (rnd() >> 40) + (i % 2 ? 1000000 : 0); /* two different halves */
		dpc_hist_record(i % 2 ? a : b, vals[i]);
		dpc_hist_record(all, vals[i]);
	}
	assert_int_equal(dpc_hist_merge(a, b), 0);
	assert_int_equal(dpc_hist_count(a), n);
	assert_int_equal(dpc_hist_min(a), dpc_hist_min(all));
	assert_int_equal(dpc_hist_max(a), dpc_hist_max(all));
	assert_true(dpc_hist_mean(a) == dpc_hist_mean(all));
	for (i = 0; i < sizeof(ps) / sizeof(ps[0]); i++)
		assert_int_equal(dpc_hist_percentile(a, ps[i]), dpc_hist_percentile(all, ps[i]));
	check_against_exact(a, vals, n);
	assert_int_equal(dpc_hist_merge(a, other), -EINVAL);
	assert_int_equal(dpc_hist_count(a), n);
	/* Merging an empty histogram changes nothing. */
	dpc_hist_reset(b);
	assert_int_equal(dpc_hist_merge(a, b), 0);
	assert_int_equal(dpc_hist_min(a), dpc_hist_min(all));
	dpc_hist_free(a);
	dpc_hist_free(b);
	dpc_hist_free(all);
	dpc_hist_free(other);
	free(vals);
}

/* The _shared writer and reader give the same figures as the plain ones (sum past 2^64 too). */
static void test_shared_same_as_plain(void **state)
{
	struct dpc_hist *plain = dpc_hist_create(1ull << 40, 5);
	struct dpc_hist *shared = dpc_hist_create(1ull << 40, 5);
	struct dpc_hist *m = dpc_hist_create(1ull << 40, 5);
	static const double ps[] = { 1, 50, 90, 99, 99.9, 100 };

	(void)state;
	for (unsigned i = 0; i < 20000; i++) {
		uint64_t v = rnd() >> 28, n = 1 + (i % 7);

		dpc_hist_record_n(plain, v, n);
		dpc_hist_record_n_shared(shared, v, n);
	}
	/* large weights: the 128-bit sum carries out of its low half */
	dpc_hist_record_n(plain, 1ull << 39, 1ull << 40);
	dpc_hist_record_n_shared(shared, 1ull << 39, 1ull << 40);
	dpc_hist_record_n_shared(shared, 5, 0);   /* n = 0 records nothing */
	assert_int_equal(dpc_hist_merge_shared(m, shared), 0);
	assert_int_equal(dpc_hist_count(m), dpc_hist_count(plain));
	assert_int_equal(dpc_hist_min(m), dpc_hist_min(plain));
	assert_int_equal(dpc_hist_max(m), dpc_hist_max(plain));
	assert_true(dpc_hist_mean(m) == dpc_hist_mean(plain));
	for (unsigned i = 0; i < sizeof(ps) / sizeof(ps[0]); i++)
		assert_int_equal(dpc_hist_percentile(m, ps[i]), dpc_hist_percentile(plain, ps[i]));
	/* merging twice doubles the counts, keeps the percentiles */
	assert_int_equal(dpc_hist_merge_shared(m, shared), 0);
	assert_int_equal(dpc_hist_count(m), 2 * dpc_hist_count(plain));
	assert_int_equal(dpc_hist_percentile(m, 50), dpc_hist_percentile(plain, 50));
	/* the writer's reset empties it for readers */
	dpc_hist_reset_shared(shared);
	dpc_hist_reset(m);
	assert_int_equal(dpc_hist_merge_shared(m, shared), 0);
	assert_int_equal(dpc_hist_count(m), 0);
	assert_int_equal(dpc_hist_max(m), 0);
	dpc_hist_record_n_shared(shared, 42, 3);
	assert_int_equal(dpc_hist_merge_shared(m, shared), 0);
	assert_int_equal(dpc_hist_count(m), 3);
	assert_int_equal(dpc_hist_min(m), 42);
	assert_true(dpc_hist_mean(m) == 42.0);
	dpc_hist_free(plain);
	dpc_hist_free(shared);
	dpc_hist_free(m);
}

struct writer_arg {
	struct dpc_hist *h;
	unsigned n;
	int done;
};

static void *writer(void *p)
{
	struct writer_arg *a = p;

	/* two values only (exact bins: below 2^sub_bits), 7 for three records in four, 30 */
	for (unsigned i = 0; i < a->n; i++)
		dpc_hist_record_n_shared(a->h, i % 4 == 3 ? 30 : 7, 1);
	__atomic_store_n(&a->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/*
 * A reader merging while the writer records (another thread) sees a count
 * that only grows and never passes what was recorded, and percentiles that
 * are one of the two recorded values: never a torn figure.
 */
static void test_shared_concurrent_reader(void **state)
{
	struct dpc_hist *h = dpc_hist_create(1ull << 20, 5);
	struct writer_arg a = { .h = h, .n = 2000000, .done = 0 };
	uint64_t last = 0, reads = 0, mid = 0;
	pthread_t t;

	(void)state;
	assert_int_equal(pthread_create(&t, NULL, writer, &a), 0);
	for (;;) {
		int done = __atomic_load_n(&a.done, __ATOMIC_ACQUIRE);
		struct dpc_hist *m = dpc_hist_create(1ull << 20, 5);
		uint64_t c, p50, p99;

		assert_int_equal(dpc_hist_merge_shared(m, h), 0);
		c = dpc_hist_count(m);
		assert_true(c >= last && c <= a.n);
		if (c > 0) {
			p50 = dpc_hist_percentile(m, 50);
			p99 = dpc_hist_percentile(m, 99);
			assert_true(p50 == 7 || p50 == 30);
			assert_true(p99 == 7 || p99 == 30);
			assert_true(dpc_hist_min(m) == 7 || dpc_hist_min(m) == 30);
		}
		if (c > 0 && c < a.n)
			mid++;
		last = c;
		reads++;
		dpc_hist_free(m);
		if (done)
			break;
	}
	pthread_join(t, NULL);
	assert_int_equal(last, a.n);
	print_message("  %llu concurrent reads, %llu while the writer was half-way\n",
		      (unsigned long long)reads, (unsigned long long)mid);
	dpc_hist_free(h);
}

static void test_create_errors(void **state)
{
	(void)state;
	errno = 0;
	assert_null(dpc_hist_create(0, 7));
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_null(dpc_hist_create(1000, 0));
	assert_int_equal(errno, EINVAL);
	assert_null(dpc_hist_create(1000, 21));
	{
		struct dpc_hist *h = dpc_hist_create(UINT64_MAX, 7);

		assert_non_null(h);
		dpc_hist_record(h, UINT64_MAX);
		dpc_hist_record(h, 1ull << 63);
		assert_int_equal(dpc_hist_percentile(h, 100), UINT64_MAX);
		assert_true(dpc_hist_percentile(h, 50) >= (1ull << 63));
		assert_int_equal(dpc_hist_clamped(h), 0);
		dpc_hist_free(h);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_percentiles_log_uniform),
		cmocka_unit_test(test_percentiles_narrow_and_coarse),
		cmocka_unit_test(test_small_values_exact),
		cmocka_unit_test(test_empty_and_reset),
		cmocka_unit_test(test_clamp),
		cmocka_unit_test(test_merge),
		cmocka_unit_test(test_shared_same_as_plain),
		cmocka_unit_test(test_shared_concurrent_reader),
		cmocka_unit_test(test_create_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
