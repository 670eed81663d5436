/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The store's reclaimer thread paces itself (dataplane/engine/log.h):
 *   - idle, it wakes once per reclaim interval, not more often;
 *   - a busy owner with slow tails gets at most one grace period per
 *     interval, covering everything retired meanwhile;
 *   - holes alone get one per DPC_RECLAIM_HOLE_NAPS intervals, and are reused;
 *   - a writer whose tail reaches its reclaim horizon does not wait for the
 *     interval: grace periods follow at once, so a fill far beyond the
 *     cache's size completes with many more grace periods than the
 *     interval alone would allow;
 *   - the interval changes at run time.
 * Counts are of wake-ups and grace periods (dpc_store_stats of partition
 * 0), never of time: naps can only be longer than asked on a loaded
 * machine, so every bound below holds however slow the machine is.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <urcu/urcu-qsbr.h>

#include "dpcache/hash.h"
#include "dpcache/store.h"
#include "log.h"   /* DPC_RECLAIM_HOLE_NAPS */
#include "store_test.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static struct dpc_cache *mkcache(size_t mem, enum dpc_evict_policy pol, uint32_t interval_us)
{
	return test_cache((struct dpc_cache_params){
		.nparts = 1, .mem_bytes = mem, .item_size_hint = 100, .max_value = 4096,
		.policy = pol, .hugepages = false, .numa_socket = -1,
		.reclaim_interval_us = interval_us,
	});
}

/* Sleep @p s seconds offline (a registered reader that sleeps must not hold grace periods). */
static void idle_for(double s)
{
	struct timespec ts = { .tv_sec = (time_t)s, .tv_nsec = (long)((s - (double)(time_t)s) * 1e9) };

	urcu_qsbr_thread_offline();
	nanosleep(&ts, NULL);
	urcu_qsbr_thread_online();
}

/* A SET of key i (value of @p vlen bytes), passing quiescent states while it gets NOSPACE. */
static void put(struct dpc_cache *c, unsigned i, uint32_t vlen, unsigned long *nospace)
{
	char key[32], val[256];
	int n = snprintf(key, sizeof(key), "key:%u", i);
	struct dpc_key k = { .data = key, .len = (uint8_t)n, .hash = dpc_hash(key, (size_t)n) };
	enum dpc_status st;

	memset(val, 'v', sizeof(val));
	for (unsigned long tries = 0; tries < 5000000; tries++) {
		st = dpc_store_set(c, 0, DPC_SET, &k, val, vlen, 0, 0, 0, NULL);
		if (st != DPC_NOSPACE)
			break;
		(*nospace)++;
		urcu_qsbr_quiescent_state();
	}
	assert_int_equal(st, DPC_OK);
	urcu_qsbr_quiescent_state();
}

static void test_idle_wakeups(void **state)
{
	(void)state;
	/* 10 ms: in 0.3 s at most 30 naps end, plus the first wake-up and one in progress. */
	struct dpc_cache *c = mkcache(8u << 20, DPC_EVICT_CLOCK, 10000);
	struct dpc_store_stats s0 = test_stats(c, 0), s1;

	idle_for(0.3);
	s1 = test_stats(c, 0);
	print_message("idle 0.3 s at 10 ms: %llu wake-ups, %llu grace periods\n",
		      (unsigned long long)(s1.reclaim_wakeups - s0.reclaim_wakeups),
		      (unsigned long long)(s1.reclaim_grace_periods - s0.reclaim_grace_periods));
	assert_true(s1.reclaim_wakeups - s0.reclaim_wakeups <= 32);
	assert_true(s1.reclaim_wakeups > s0.reclaim_wakeups);   /* it does run */
	assert_int_equal(s1.reclaim_grace_periods, s0.reclaim_grace_periods); /* nothing retired */
	dpc_cache_free(c);
}

static void test_interval_at_run_time(void **state)
{
	(void)state;
	struct dpc_cache *c = mkcache(8u << 20, DPC_EVICT_CLOCK, DPC_RECLAIM_INTERVAL_MAX_US);
	struct dpc_store_stats s0, s1;

	/* from 100 ms to 1 ms: the nap in progress ends, then ~1000 a second */
	dpc_cache_set_reclaim_interval(c, 1000);
	idle_for(0.15);   /* the 100 ms nap that was in progress has ended */
	s0 = test_stats(c, 0);
	idle_for(0.2);
	s1 = test_stats(c, 0);
	print_message("idle 0.2 s at 1 ms: %llu wake-ups\n",
		      (unsigned long long)(s1.reclaim_wakeups - s0.reclaim_wakeups));
	/* more than 100 ms naps allow (3), at most what 1 ms allows (200 + 2) */
	assert_true(s1.reclaim_wakeups - s0.reclaim_wakeups > 3);
	assert_true(s1.reclaim_wakeups - s0.reclaim_wakeups <= 202);
	/* out of range values are clamped, 0 is the default */
	dpc_cache_set_reclaim_interval(c, 1);
	dpc_cache_set_reclaim_interval(c, 0);
	dpc_cache_free(c);
}

/* Overwrites of few keys at a modest pace leave holes all the time: one grace period per
 * interval covers them all (not one per hole, nor back to back). */
static void test_batched_grace_periods(void **state)
{
	(void)state;
	struct dpc_cache *c = mkcache(64u << 20, DPC_EVICT_CLOCK, 20000);
	unsigned long nosp = 0;
	struct dpc_store_stats s0 = test_stats(c, 0), s1;
	double t0 = now_s();
	unsigned writes = 0;

	while (now_s() - t0 < 0.3) {
		for (unsigned i = 0; i < 16; i++, writes++)
			put(c, i % 8, 32, &nosp);
		idle_for(0.0005);
	}
	s1 = test_stats(c, 0);
	print_message("%u overwrites in 0.3 s at 20 ms: %llu grace periods, %llu wake-ups, "
		      "%llu holes reused\n", writes,
		      (unsigned long long)(s1.reclaim_grace_periods - s0.reclaim_grace_periods),
		      (unsigned long long)(s1.reclaim_wakeups - s0.reclaim_wakeups),
		      (unsigned long long)(s1.holes_reused - s0.holes_reused));
	/* 0.3 s (or more: a slow machine only lengthens the naps) / 20 ms = 15, + 2 */
	assert_true(s1.reclaim_grace_periods - s0.reclaim_grace_periods <= 17);
	assert_true(s1.reclaim_grace_periods > s0.reclaim_grace_periods);
	assert_int_equal(nosp, 0);
	dpc_cache_free(c);
}

/* Holes alone (overwrites; the head never moves) wait DPC_RECLAIM_HOLE_NAPS intervals for
 * their grace period: at a 1 ms interval, a steady trickle of overwrites costs at most one
 * grace period per 8 ms (one per wake-up, ~1 per ms, before), and its holes are reused. */
static void test_hole_grace_periods_deferred(void **state)
{
	(void)state;
	struct dpc_cache *c = mkcache(64u << 20, DPC_EVICT_CLOCK, 1000);
	unsigned long nosp = 0;
	struct dpc_store_stats s0 = test_stats(c, 0), s1;
	double t0 = now_s(), dt;
	unsigned writes = 0;

	while (now_s() - t0 < 0.4) {
		for (unsigned i = 0; i < 16; i++, writes++)
			put(c, i % 8, 32, &nosp);
		idle_for(0.0002);
	}
	dt = now_s() - t0;
	s1 = test_stats(c, 0);
	uint64_t gps = s1.reclaim_grace_periods - s0.reclaim_grace_periods;
	uint64_t wakes = s1.reclaim_wakeups - s0.reclaim_wakeups;

	print_message("%u overwrites in %.2f s at 1 ms: %llu grace periods, %llu wake-ups, "
		      "%llu holes reused\n", writes, dt, (unsigned long long)gps,
		      (unsigned long long)wakes, (unsigned long long)(s1.holes_reused - s0.holes_reused));
	assert_int_equal(s1.evictions, s0.evictions);   /* holes only: the head never moved */
	/* a slow machine only lengthens the waits: dt / 8 ms, + 2 */
	assert_true(gps <= (uint64_t)(dt / (DPC_RECLAIM_HOLE_NAPS * 0.001)) + 2);
	assert_true(gps > 0);
	assert_true(wakes > 2 * gps);   /* the reclaimer still wakes each interval */
	assert_true(s1.holes_reused - s0.holes_reused > writes / 2);
	assert_int_equal(nosp, 0);
	dpc_cache_free(c);
}

/* A writer far faster than the interval allows: its tails reach their horizons, and the
 * reclaimer then runs grace periods at once instead of napping 100 ms each time. */
static void fill_fast(enum dpc_evict_policy pol)
{
	struct dpc_cache *c = mkcache(2u << 20, pol, DPC_RECLAIM_INTERVAL_MAX_US);
	unsigned long nosp = 0;
	struct dpc_store_stats s0 = test_stats(c, 0), s1;
	double t0 = now_s(), dt;
	const unsigned N = 200000;   /* ~ 30 MB of items into 2 MB: small segments, many retires */

	for (unsigned i = 0; i < N; i++)
		put(c, i, 100, &nosp);
	dt = now_s() - t0;
	s1 = test_stats(c, 0);
	uint64_t gps = s1.reclaim_grace_periods - s0.reclaim_grace_periods;
	uint64_t paced = (uint64_t)(dt / 0.1) + 2;   /* what 100 ms naps alone would allow */

	print_message("policy %d: %u SETs in %.2f s: %llu grace periods (100 ms naps alone: <= %llu), "
		      "%llu evictions, %lu NOSPACE retries\n", pol, N, dt, (unsigned long long)gps,
		      (unsigned long long)paced, (unsigned long long)s1.evictions, nosp);
	assert_true(s1.evictions > N / 2);
	assert_true(gps > 2 * paced);
	dpc_cache_free(c);
}

static void test_fast_writer_clock(void **state)
{
	(void)state;
	fill_fast(DPC_EVICT_CLOCK);
}

static void test_fast_writer_s3fifo(void **state)
{
	(void)state;
	fill_fast(DPC_EVICT_S3FIFO);   /* two logs per partition, the small one with a small reserve */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_idle_wakeups),
		cmocka_unit_test(test_interval_at_run_time),
		cmocka_unit_test(test_batched_grace_periods),
		cmocka_unit_test(test_hole_grace_periods_deferred),
		cmocka_unit_test(test_fast_writer_clock),
		cmocka_unit_test(test_fast_writer_s3fifo),
	};

	return cmocka_run_group_tests(tests, test_qsbr_setup, test_qsbr_teardown);
}
