/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What the store's unit tests share: a fixed clock, cache creation, a write
 * that rides out DPC_NOSPACE the way a server's owner does, a partition's
 * statistics, and the QSBR registration of the test thread.  Include after
 * <cmocka.h>.
 */
#ifndef DPCACHE_TESTS_STORE_TEST_H
#define DPCACHE_TESTS_STORE_TEST_H

#include <string.h>
#include <unistd.h>

#include <urcu/urcu-qsbr.h>

#include "dpcache/store.h"

#define T0 1700000000u   /* a fixed "now" for the tests */

/** dpc_cache_create(@p prm), which must succeed, with its clock set to T0. */
static inline struct dpc_cache *test_cache(struct dpc_cache_params prm)
{
	struct dpc_cache *c = dpc_cache_create(&prm);

	assert_non_null(c);
	dpc_cache_set_time(c, T0);
	return c;
}

/*
 * dpc_store_set(), again while it answers DPC_NOSPACE (a grace period is
 * pending: transient, counted).  A test writer is far faster than a
 * server's owner; like an owner it passes quiescent states and tries again,
 * napping now and then so that the reclaimer runs (bounded).  Each retry is
 * added to *@p retries (may be NULL).
 */
static inline enum dpc_status test_set(struct dpc_cache *c, unsigned part, enum dpc_set_mode m,
				       const struct dpc_key *k, const void *val, uint32_t vlen,
				       uint32_t flags, uint32_t exp, uint64_t cas, uint64_t *cas_out,
				       unsigned long *retries)
{
	enum dpc_status st;
	unsigned long tries = 0;

	while ((st = dpc_store_set(c, part, m, k, val, vlen, flags, exp, cas, cas_out)) ==
	       DPC_NOSPACE && tries < 2000000) {
		tries++;
		urcu_qsbr_quiescent_state();
		if (tries % 64 == 0)
			usleep(20);
	}
	if (retries != NULL)
		*retries += tries;
	return st;
}

/** Partition @p part's statistics. */
static inline struct dpc_store_stats test_stats(const struct dpc_cache *c, unsigned part)
{
	struct dpc_store_stats s;

	memset(&s, 0, sizeof(s));
	dpc_cache_stats(c, part, &s);
	return s;
}

/* cmocka group set-up and tear-down: the test thread is a QSBR reader. */
static inline int test_qsbr_setup(void **state)
{
	(void)state;
	urcu_qsbr_register_thread();
	return 0;
}

static inline int test_qsbr_teardown(void **state)
{
	(void)state;
	urcu_qsbr_unregister_thread();
	return 0;
}

#endif /* DPCACHE_TESTS_STORE_TEST_H */
