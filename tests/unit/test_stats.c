/* SPDX-License-Identifier: BSD-3-Clause */
/* Per-worker counters: the X-macro tables, dpc_stat_get, read/aggregate/reset. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "dpcache/stats.h"

static void test_names_units_help(void **state)
{
	unsigned i, j;

	(void)state;
	assert_true(DPC_WORKER_STATS_N > 10);
	assert_string_equal(dpc_stat_names[0], "rx_packets");
	assert_string_equal(dpc_stat_units[0], "packets");
	for (i = 0; i < DPC_WORKER_STATS_N; i++) {
		assert_non_null(dpc_stat_names[i]);
		assert_non_null(dpc_stat_units[i]);
		assert_non_null(dpc_stat_help[i]);
		assert_true(strlen(dpc_stat_names[i]) > 0);
		assert_true(strlen(dpc_stat_help[i]) > 0);
		/* Names become Prometheus metric names: [a-z0-9_] only. */
		assert_int_equal(strspn(dpc_stat_names[i], "abcdefghijklmnopqrstuvwxyz0123456789_"),
				 strlen(dpc_stat_names[i]));
		for (j = 0; j < i; j++)
			assert_string_not_equal(dpc_stat_names[i], dpc_stat_names[j]);
	}
}

/* dpc_stat_get(i) must read the field that dpc_stat_names[i] names. */
static void test_get_matches_fields(void **state)
{
	struct dpc_worker_stats s;
	unsigned i;

	(void)state;
	dpc_stats_reset(&s);
	s.rx_packets = 11;
	s.get_hits = 22;
	s.get_misses = 33;
	s.poll_cycles = 44;
	for (i = 0; i < DPC_WORKER_STATS_N; i++) {
		uint64_t want = 0;

		if (strcmp(dpc_stat_names[i], "rx_packets") == 0)
			want = 11;
		else if (strcmp(dpc_stat_names[i], "get_hits") == 0)
			want = 22;
		else if (strcmp(dpc_stat_names[i], "get_misses") == 0)
			want = 33;
		else if (strcmp(dpc_stat_names[i], "poll_cycles") == 0)
			want = 44;
		assert_int_equal(dpc_stat_get(&s, i), want);
	}
	/* Every index maps to a distinct field: set each to its index + 1 by memory order. */
	for (i = 0; i < DPC_WORKER_STATS_N; i++)
		((uint64_t *)(void *)&s)[i] = 1000 + i;
	for (i = 0; i < DPC_WORKER_STATS_N; i++)
		assert_int_equal(dpc_stat_get(&s, i), 1000 + i);
	assert_int_equal(dpc_stat_get(&s, DPC_WORKER_STATS_N), 0);
}

static void test_read_add_reset(void **state)
{
	struct dpc_worker_stats w[3], snap, total;
	unsigned k, i;

	(void)state;
	assert_int_equal(sizeof(struct dpc_worker_stats) % DPC_CACHE_LINE, 0);
	assert_int_equal((uintptr_t)&w[1] % DPC_CACHE_LINE, 0);
	dpc_stats_reset(&total);
	for (k = 0; k < 3; k++) {
		dpc_stats_reset(&w[k]);
		dpc_stat_add(&w[k], cmd_get, 10 * (k + 1));
		dpc_stat_inc(&w[k], get_hits);
		dpc_stat_add(&w[k], get_misses, 10 * (k + 1) - 1);
		dpc_stats_reset(&snap);
		dpc_stats_read(&w[k], &snap);
		for (i = 0; i < DPC_WORKER_STATS_N; i++)
			assert_int_equal(dpc_stat_get(&snap, i), dpc_stat_get(&w[k], i));
		dpc_stats_add_into(&total, &snap);
	}
	assert_int_equal(total.cmd_get, 60);
	assert_int_equal(total.get_hits, 3);
	assert_int_equal(total.get_misses, 57);
	assert_int_equal(total.get_hits + total.get_misses, total.cmd_get);
	for (i = 0; i < DPC_WORKER_STATS_N; i++)
		if (strcmp(dpc_stat_names[i], "cmd_get") != 0 && strcmp(dpc_stat_names[i], "get_hits") != 0 &&
		    strcmp(dpc_stat_names[i], "get_misses") != 0)
			assert_int_equal(dpc_stat_get(&total, i), 0);
	dpc_stats_reset(&total);
	for (i = 0; i < DPC_WORKER_STATS_N; i++)
		assert_int_equal(dpc_stat_get(&total, i), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names_units_help),
		cmocka_unit_test(test_get_matches_fields),
		cmocka_unit_test(test_read_add_reset),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
