/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * When the index rather than the log fills (items smaller than
 * item_size_hint), a new key's insert drops one of the entries of its two
 * buckets (dataplane/engine/store.c, index_victim()).  Under CLOCK and
 * S3-FIFO that choice is not-recently-used: the oldest entry not read since
 * it was written.  Observed through the store: a small hot set, each key
 * read once per 2000 writes, survives a stream of cold keys six times the
 * index's size; with the oldest entry dropped whatever its reads (the
 * choice before), every hot key went within one turnover of the index.
 * Under FIFO (no hit marks) the oldest still goes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "dpcache/hash.h"
#include "dpcache/store.h"
#include "store_test.h"

#define HOT 2000
#define COLD 400000

/* HOT keys written, then COLD new keys, each hot key read once per 2000 of them; returns
 * how many hot keys are held at the end. */
static unsigned hot_held(enum dpc_evict_policy pol, struct dpc_store_stats *st)
{
	/* 16 MB, the index sized for 256-byte items: it holds ~64 k entries, the log ~250 k
	 * of these 60-byte ones, so the index fills first and every drop is an index victim */
	struct dpc_cache *c = test_cache((struct dpc_cache_params){
		.nparts = 1, .mem_bytes = 16u << 20, .item_size_hint = 256, .max_value = 4096,
		.policy = pol, .hugepages = false, .numa_socket = -1,
	});
	unsigned held = 0;
	int r = 0;

	assert_non_null(c);
	for (int i = 0; i < HOT; i++)
		test_put(c, "hot", i, 32);
	for (int i = 0; i < COLD; i++) {
		test_put(c, "cold", i, 32);
		if (i % 100 == 99)
			for (int j = 0; j < 100; j++, r++)
				(void)test_held(c, "hot", r % HOT);
		urcu_qsbr_quiescent_state();
	}
	for (int i = 0; i < HOT; i++)
		held += test_held(c, "hot", i);
	*st = test_stats(c, 0);
	print_message("policy %d: %u of %d hot keys held after %d cold writes; index %llu slots, "
		      "%llu items, %llu index evictions, %llu log evictions\n", pol, held, HOT, COLD,
		      (unsigned long long)st->index_slots, (unsigned long long)st->items,
		      (unsigned long long)st->index_evictions, (unsigned long long)st->evictions);
	dpc_cache_free(c);
	return held;
}

static void test_clock_keeps_read_entries(void **state)
{
	struct dpc_store_stats st;
	unsigned held = hot_held(DPC_EVICT_CLOCK, &st);

	(void)state;
	assert_true(st.index_evictions > COLD / 2);   /* the index was the bound */
	assert_true(st.index_slots * 4 < COLD);       /* the cold stream turned it over */
	assert_true(held >= HOT * 9 / 10);
}

static void test_s3fifo_keeps_read_entries(void **state)
{
	struct dpc_store_stats st;
	unsigned held = hot_held(DPC_EVICT_S3FIFO, &st);

	(void)state;
	assert_true(st.index_evictions > COLD / 2);
	assert_true(held >= HOT * 9 / 10);
}

/* FIFO marks no hits: the oldest entry goes, so the hot keys (written first, never
 * rewritten) are gone after a turnover of the index, reads or not. */
static void test_fifo_drops_oldest(void **state)
{
	struct dpc_store_stats st;
	unsigned held = hot_held(DPC_EVICT_FIFO, &st);

	(void)state;
	assert_true(st.index_evictions > COLD / 2);
	assert_true(held < HOT / 10);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_clock_keeps_read_entries),
		cmocka_unit_test(test_s3fifo_keeps_read_entries),
		cmocka_unit_test(test_fifo_drops_oldest),
	};

	return cmocka_run_group_tests(tests, test_qsbr_setup, test_qsbr_teardown);
}
