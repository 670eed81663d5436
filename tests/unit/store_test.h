/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What the store's unit tests share: a fixed clock, cache creation, a write
 * that rides out DPC_NOSPACE the way a server's owner does, keys named
 * PREFIX:I written and looked up in partition 0, a partition's statistics,
 * and the QSBR registration of the test thread.  Include after <cmocka.h>.
 */
#ifndef DPCACHE_TESTS_STORE_TEST_H
#define DPCACHE_TESTS_STORE_TEST_H

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <urcu/urcu-qsbr.h>

#include "dpcache/hash.h"
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

/** Key "@p pfx:@p i", its bytes in @p buf (@p bufsz), into *@p k. */
static inline struct dpc_key *test_key(struct dpc_key *k, char *buf, size_t bufsz, const char *pfx,
				       int i)
{
	int n = snprintf(buf, bufsz, "%s:%d", pfx, i);

	k->data = buf;
	k->len = (uint8_t)n;
	k->hash = dpc_hash(buf, (size_t)n);
	return k;
}

/** SET of key PFX:I in partition 0 (a value of @p vlen <= 8192 bytes), which must succeed
 * (riding out DPC_NOSPACE: test_set()), then a quiescent state. */
static inline void test_put(struct dpc_cache *c, const char *pfx, int i, uint32_t vlen)
{
	static char val[8192];
	char buf[32];
	struct dpc_key k;

	memset(val, 'v', sizeof(val));
	test_key(&k, buf, sizeof(buf), pfx, i);
	assert_int_equal(test_set(c, 0, DPC_SET, &k, val, vlen, 0, 0, 0, NULL, NULL), DPC_OK);
	urcu_qsbr_quiescent_state();
}

/** Is key PFX:I held (a GET hit)? */
static inline bool test_held(struct dpc_cache *c, const char *pfx, int i)
{
	char buf[32];
	struct dpc_key k;
	struct dpc_item_view v;

	return dpc_cache_get(c, test_key(&k, buf, sizeof(buf), pfx, i), &v) == DPC_OK;
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
