/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * S3-FIFO's size awareness (dataplane/engine/evict_s3fifo.c), observed
 * through the store:
 *
 *  - an unread item under half the mean record gets more laps of the small
 *    FIFO than a large one: of keys written once and never read, more small
 *    ones than large ones are still held;
 *  - a key dropped unread from the small FIFO and written again goes to the
 *    main FIFO only if its record is at most LARGE_X (3) mean records; a
 *    larger one goes to the small FIFO again and is the next lap's victim.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "dpcache/hash.h"
#include "dpcache/store.h"
#include "store_test.h"

static struct dpc_cache *mkcache(size_t mem, unsigned hint)
{
	return test_cache((struct dpc_cache_params){
		.nparts = 1, .mem_bytes = mem, .item_size_hint = hint, .max_value = 8192,
		.policy = DPC_EVICT_S3FIFO, .hugepages = false, .numa_socket = -1,
	});
}

/*
 * 40- and 2000-byte values written in turn, never read, 16 MB through a
 * 4 MiB cache.  The main FIFO keeps the first ~3 MB (nothing is ever moved
 * to it); every later key lives or dies in the small FIFO.  Of the second
 * half of the keys, a size-blind small FIFO holds as many small as large
 * ones; the size-aware one holds several times more small ones.
 */
static void test_s3fifo_small_laps(void **state)
{
	struct dpc_cache *c = mkcache(4u << 20, 64);
	const int n = 16000;
	unsigned small = 0, large = 0;
	(void)state;
	for (int i = 0; i < n; i++) {
		test_put(c, "mix", i, i % 2 ? 2000 : 40);
		if (i % 2 == 0)   /* let grace periods keep up */
			usleep(50);
	}
	for (int i = n / 2; i < n; i++)
		if (test_held(c, "mix", i))
			(*(i % 2 ? &large : &small))++;
	struct dpc_store_stats st = test_stats(c, 0);

	print_message("second half held: %u small, %u large; reinserted %llu, evictions %llu\n",
		      small, large, (unsigned long long)st.reinserted,
		      (unsigned long long)st.evictions);
	assert_true(large > 0);
	assert_true(small > 3 * large);
	dpc_cache_free(c);
}

/*
 * Fill the main FIFO with never-read 500-byte fillers, then write a
 * 600-byte and a 4000-byte probe, push them out of the small FIFO unread
 * (into the ghost), write both again (the ghost finds both), push one more
 * lap of fillers through the small FIFO.  The 600-byte probe went to the
 * main FIFO and is held; the 4000-byte one (over 3 mean records) went to
 * the small FIFO and is gone.  Size-blind, both went to the main FIFO.
 */
static void test_s3fifo_large_ghost_hit(void **state)
{
	struct dpc_cache *c = mkcache(4u << 20, 64);
	int f = 0;

	(void)state;
	for (int i = 0; i < 8000; i++, f++)   /* ~4.2 MB: the main FIFO fills, then the small */
		test_put(c, "fill", f, 500);
	test_put(c, "probe", 1, 600);
	test_put(c, "probe", 2, 4000);
	for (int i = 0; i < 1500; i++, f++)   /* ~0.8 MB: twice the small FIFO */
		test_put(c, "fill", f, 500);
	assert_int_equal(test_stats(c, 0).ghost_hits, 0);
	test_put(c, "probe", 1, 600);
	test_put(c, "probe", 2, 4000);
	assert_int_equal(test_stats(c, 0).ghost_hits, 1);   /* only the 600-byte one went to the main FIFO */
	for (int i = 0; i < 1500; i++, f++)
		test_put(c, "fill", f, 500);
	assert_true(test_held(c, "probe", 1));
	assert_false(test_held(c, "probe", 2));
	dpc_cache_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_s3fifo_small_laps),
		cmocka_unit_test(test_s3fifo_large_ghost_hit),
	};

	return cmocka_run_group_tests(tests, test_qsbr_setup, test_qsbr_teardown);
}
