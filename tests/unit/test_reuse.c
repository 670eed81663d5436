/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Dead-space reuse in the log (reuse.h): the hole lists themselves, the
 * store's use of them (an overwrite reuses the old copy's bytes after a
 * grace period instead of growing the log, so dead copies of hot keys do
 * not push live items out), CAS uniqueness when a position is reused,
 * fillers, flush_all, and readers on other threads racing with writes into
 * holes (every value read written whole; debug builds scribble over a hole
 * before reuse, so a grace-period bug shows as a bad checksum).
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <urcu/urcu-qsbr.h>

#include "dpcache/hash.h"
#include "dpcache/store.h"
#include "reuse.h"
#include "store_internal.h"
#include "store_test.h"

struct kbuf {
	struct dpc_key k;
	char s[64];
};

static struct dpc_key *mkkey(struct kbuf *b, const char *fmt, unsigned i)
{
	int n = snprintf(b->s, sizeof(b->s), fmt, i);

	b->k.data = b->s;
	b->k.len = (uint8_t)n;
	b->k.hash = dpc_hash(b->s, (size_t)n);
	return &b->k;
}

static struct dpc_cache *mkcache(size_t mem, enum dpc_evict_policy pol, unsigned hint)
{
	return test_cache((struct dpc_cache_params){
		.nparts = 1, .mem_bytes = mem, .item_size_hint = hint, .max_value = 16384,
		.policy = pol, .numa_socket = -1,
	});
}

/* A SET, passing quiescent states while a grace period is pending (bounded). */
static enum dpc_status put(struct dpc_cache *c, const struct dpc_key *k, const void *v, uint32_t n,
			   uint64_t cas, uint64_t *cas_out)
{
	return test_set(c, 0, DPC_SET, k, v, n, 0, 0, cas, cas_out, NULL);
}

/* Wait (bounded) until the reclaimer has covered every hole recorded so far. */
static void settle(struct dpc_cache *c)
{
	struct dpc_reuse *r = &c->parts[0]->logs[0].ru;

	for (int i = 0; i < 20000; i++) {
		uint32_t w = atomic_load(&r->want);

		urcu_qsbr_quiescent_state();
		if (atomic_load(&r->covered) == w)
			return;
		usleep(50);
	}
	fail_msg("the reclaimer never covered the holes");
}

/* ---- the hole lists alone ------------------------------------------------ */

static void test_lists(void **state)
{
	struct dpc_reuse r;
	uint32_t hs;

	(void)state;
	assert_int_equal(dpc_reuse_init(&r, 4), 0);
	dpc_reuse_add(&r, 1000, 64);
	dpc_reuse_add(&r, 2000, 200);
	/* Nothing is taken before its grace period. */
	assert_int_equal(dpc_reuse_take(&r, 64, 0, &hs), 0);
	uint32_t w;

	assert_true(dpc_reuse_want(&r, &w));
	assert_int_equal(w, 2);
	dpc_reuse_covered(&r, 1);   /* a grace period that covered the first hole only */
	assert_int_equal(dpc_reuse_take(&r, 190, 0, &hs), 0);   /* the 200-byte hole: not yet */
	assert_int_equal(dpc_reuse_take(&r, 64, 0, &hs), 1000);
	assert_int_equal(hs, 64);
	dpc_reuse_covered(&r, 2);
	assert_false(dpc_reuse_want(&r, &w));
	/* An item takes a hole of its own size class or a larger one. */
	assert_int_equal(dpc_reuse_take(&r, 250, 0, &hs), 0);
	assert_int_equal(dpc_reuse_take(&r, 150, 0, &hs), 2000);
	assert_int_equal(hs, 200);
	/* Holes below the valid horizon (passed by the head, flushed) are forgotten. */
	dpc_reuse_add(&r, 3000, 64);
	dpc_reuse_covered(&r, 3);
	assert_int_equal(dpc_reuse_take(&r, 64, 3001, &hs), 0);
	assert_int_equal(dpc_ctr_ld(&r.bytes), 0);
	/* A full pool recycles its oldest node: never more than 4 holes. */
	for (unsigned i = 0; i < 10; i++)
		dpc_reuse_add(&r, 10000 + 100 * i, 96);
	assert_int_equal(dpc_ctr_ld(&r.bytes), 4 * 96);
	dpc_reuse_covered(&r, atomic_load(&r.want));
	assert_int_equal(dpc_reuse_take(&r, 96, 0, &hs), 10600);   /* the oldest kept */
	/* The rest of a hole goes back at once, ready. */
	dpc_reuse_add_ready(&r, 50000, 48);
	assert_int_equal(dpc_reuse_take(&r, 40, 0, &hs), 50000);
	dpc_reuse_clear(&r);
	assert_int_equal(dpc_ctr_ld(&r.bytes), 0);
	dpc_reuse_fini(&r);
}

/*
 * A full pool gives up the smallest hole it holds: a forgotten hole is dead
 * until the head comes round, so the pool loses the fewest bytes.  Here the
 * pool is full of large holes and small ones keep coming (the remainders of
 * holes taken by slightly smaller items): the large ones must stay.
 * Recycling each class in turn (the old rule) went on forgetting 8 KiB
 * holes once its turn had reached their class.
 */
static void test_pool_keeps_large_holes(void **state)
{
	struct dpc_reuse r;
	uint32_t hs;

	(void)state;
	assert_int_equal(dpc_reuse_init(&r, 4), 0);
	for (unsigned i = 0; i < 4; i++)
		dpc_reuse_add_ready(&r, 10000 + 10000 * i, 8192);
	/* The first small hole finds no smaller one to give up: a large one goes. */
	dpc_reuse_add_ready(&r, 100000, 40);
	assert_int_equal(dpc_ctr_ld(&r.bytes), 3 * 8192 + 40);
	/* Every later one recycles a small one. */
	for (unsigned i = 1; i < 10; i++)
		dpc_reuse_add_ready(&r, 100000 + 100 * i, 40);
	assert_int_equal(dpc_ctr_ld(&r.bytes), 3 * 8192 + 40);
	for (unsigned i = 0; i < 3; i++) {
		assert_int_not_equal(dpc_reuse_take(&r, 8192, 0, &hs), 0);
		assert_int_equal(hs, 8192);
	}
	assert_int_equal(dpc_reuse_take(&r, 8192, 0, &hs), 0);
	assert_int_equal(dpc_reuse_take(&r, 40, 0, &hs), 100900);   /* the newest small one */
	dpc_reuse_fini(&r);
}

/* ---- the store ----------------------------------------------------------- */


/*
 * Records a few bytes apart (a 12- or 16-byte header, values of near sizes)
 * have classes of their own below 1 KiB: a 232-byte item finds the 232-byte
 * hole behind a 228-byte one (with 16-byte classes the 228 at the head
 * blocked it).  And an item whose own class holds holes not ready yet goes
 * to the tail rather than take another size's ready hole: each size's
 * overwrites make as many holes as they take, and taking the other's left
 * its own to age unused (live fraction 81 % instead of 95 % in live_sim on
 * 228- and 232-byte records).
 */
static void test_near_sizes(void **state)
{
	struct dpc_reuse r;
	uint32_t hs, w;

	(void)state;
	assert_int_equal(dpc_reuse_init(&r, 8), 0);
	dpc_reuse_add(&r, 1000, 228);
	dpc_reuse_add(&r, 2000, 232);
	assert_true(dpc_reuse_want(&r, &w));
	dpc_reuse_covered(&r, w);
	assert_int_equal(dpc_reuse_take(&r, 232, 0, &hs), 2000);
	assert_int_equal(hs, 232);
	assert_int_equal(dpc_reuse_take(&r, 228, 0, &hs), 1000);
	/* own class not ready: no larger hole taken */
	dpc_reuse_add(&r, 3000, 232);
	assert_true(dpc_reuse_want(&r, &w));
	dpc_reuse_covered(&r, w);
	dpc_reuse_add(&r, 4000, 228);
	assert_int_equal(dpc_reuse_take(&r, 228, 0, &hs), 0);
	assert_true(dpc_reuse_want(&r, &w));
	dpc_reuse_covered(&r, w);
	assert_int_equal(dpc_reuse_take(&r, 228, 0, &hs), 4000);
	assert_int_equal(dpc_reuse_take(&r, 232, 0, &hs), 3000);
	/* an empty own class still takes a larger size's hole */
	dpc_reuse_add(&r, 5000, 240);
	assert_true(dpc_reuse_want(&r, &w));
	dpc_reuse_covered(&r, w);
	assert_int_equal(dpc_reuse_take(&r, 228, 0, &hs), 5000);
	assert_int_equal(hs, 240);
	dpc_reuse_fini(&r);
}

/*
 * Cold keys fill ~60 % of the log, then one hot key is overwritten many
 * times the log's size.  Without reuse each overwrite appends, the dead
 * copies fill the log and the head evicts the cold keys; with reuse the
 * hot key's writes go into its own old copies: nothing live is evicted and
 * the live fraction stays at the cold keys' share.
 */
static void test_hot_overwrites_keep_cold_keys(void **state)
{
	struct dpc_cache *c = mkcache(4u << 20, DPC_EVICT_CLOCK, 200);
	struct dpc_store_stats s = test_stats(c, 0);
	char val[200];
	struct kbuf kb;
	unsigned ncold = (unsigned)(s.log_bytes * 6 / 10 / (20 + 8 + sizeof(val)));

	(void)state;
	memset(val, 'c', sizeof(val));
	for (unsigned i = 0; i < ncold; i++) {
		assert_int_equal(put(c, mkkey(&kb, "cold:%06u", i), val, sizeof(val), 0, NULL), DPC_OK);
		urcu_qsbr_quiescent_state();
	}
	uint64_t rounds = 20 * s.log_bytes / sizeof(val);

	for (uint64_t r = 0; r < rounds; r++) {
		memcpy(val, &r, sizeof(r));
		assert_int_equal(put(c, mkkey(&kb, "hot:%u", 0), val, sizeof(val), 0, NULL), DPC_OK);
		urcu_qsbr_quiescent_state();
		/* A server's reclaimer keeps up with its owner; a loaded test
		 * machine may starve it: bound the holes waiting at any time. */
		if (r % 512 == 511)
			settle(c);
	}
	s = test_stats(c, 0);
	print_message("cold %u, overwrites %llu: items %llu, evictions %llu, holes reused %llu, "
		      "live %.1f %%\n", ncold, (unsigned long long)rounds, (unsigned long long)s.items,
		      (unsigned long long)s.evictions, (unsigned long long)s.holes_reused,
		      (double)s.live_fraction_bp / 100.0);
	assert_int_equal(s.evictions, 0);
	assert_int_equal(s.items, ncold + 1);
	assert_true(s.holes_reused > rounds / 2);
	assert_true(s.live_fraction_bp >= 5500);
	for (unsigned i = 0; i < ncold; i++) {
		struct dpc_item_view v;

		assert_int_equal(dpc_cache_get(c, mkkey(&kb, "cold:%06u", i), &v), DPC_OK);
	}
	dpc_cache_free(c);
}

/* Every write gets a CAS no earlier write of the key had, also when it
 * lands on a position the key held before; an old CAS never matches. */
static void test_cas_unique_over_reuse(void **state)
{
	struct dpc_cache *c = mkcache(2u << 20, DPC_EVICT_CLOCK, 64);
	enum { N = 4, ROUNDS = 3000 };
	static uint64_t seen[N * ROUNDS];
	static uint64_t where[N * ROUNDS];
	unsigned nseen = 0, same_pos = 0;
	struct kbuf kb;
	char val[40];

	(void)state;
	memset(val, 'x', sizeof(val));
	for (unsigned r = 0; r < ROUNDS; r++) {
		for (unsigned i = 0; i < N; i++) {
			struct dpc_key *k = mkkey(&kb, "cas:%u", i);
			struct dpc_item_view v;
			uint64_t cas;

			assert_int_equal(put(c, k, val, sizeof(val), 0, &cas), DPC_OK);
			assert_int_equal(dpc_cache_get(c, k, &v), DPC_OK);
			assert_int_equal(v.cas, cas);
			bool again = false;

			for (unsigned j = 0; j < nseen; j++) {
				assert_true(seen[j] != cas);
				again |= (uint64_t)(uintptr_t)v.key == where[j] && j % N == i;
			}
			same_pos += again;
			seen[nseen] = cas;
			where[nseen++] = (uint64_t)(uintptr_t)v.key;
			if (r > 0)   /* the previous write's CAS is stale now */
				assert_int_equal(dpc_store_set(c, 0, DPC_SET, k, val, sizeof(val), 0, 0,
							       seen[nseen - 1 - N], NULL), DPC_EXISTS);
		}
		settle(c);
	}
	print_message("%u writes, %u landed where the same key had been before\n", nseen, same_pos);
	assert_true(same_pos > 0);   /* the case this test is about did happen */
	dpc_cache_free(c);
}

/*
 * Mixed sizes: a smaller item in a larger hole leaves a filler that the
 * head walk skips (and that is a hole of its own); after many laps of the
 * log every key still reads back its last value and the accounting holds.
 */
static void test_fillers(void **state)
{
	struct dpc_cache *c = mkcache(2u << 20, DPC_EVICT_CLOCK, 256);
	enum { N = 500 };
	static uint32_t len[N];
	static char val[4096];
	struct kbuf kb;
	uint64_t s0 = 0x243f6a8885a308d3ull;

	(void)state;
	for (unsigned r = 0; r < 60; r++) {
		for (unsigned i = 0; i < N; i++) {
			s0 = s0 * 6364136223846793005ull + 1442695040888963407ull;
			len[i] = 8 + (uint32_t)(s0 >> 33) % 2000;
			memset(val, (int)('a' + (i + r) % 26), len[i]);
			memcpy(val, &i, sizeof(i));
			assert_int_equal(put(c, mkkey(&kb, "f:%u", i), val, len[i], 0, NULL), DPC_OK);
			if (i % 8 == 0)
				urcu_qsbr_quiescent_state();
		}
		settle(c);
	}
	struct dpc_store_stats s = test_stats(c, 0);
	uint64_t bytes = 0, found = 0;

	for (unsigned i = 0; i < N; i++) {
		struct dpc_item_view v;

		if (dpc_cache_get(c, mkkey(&kb, "f:%u", i), &v) != DPC_OK)
			continue;
		found++;
		bytes += dpc_item_size(dpc_hdr_bytes(false, false), v.klen, v.vlen);   /* flags 0 */
		assert_int_equal(v.vlen, len[i]);
		assert_memory_equal(v.val, &i, sizeof(i));
		assert_int_equal(((const char *)v.val)[v.vlen - 1], 'a' + (i + 59) % 26);
	}
	print_message("items %llu (found %llu), holes reused %llu, evictions %llu, live %.1f %%\n",
		      (unsigned long long)s.items, (unsigned long long)found,
		      (unsigned long long)s.holes_reused, (unsigned long long)s.evictions,
		      (double)s.live_fraction_bp / 100.0);
	assert_true(s.holes_reused > 0);
	assert_int_equal(s.items, found);
	assert_int_equal(s.bytes_used, bytes);
	dpc_cache_free(c);
}

/* flush_all: holes of flushed items are not reused (a write into one would
 * sit below the flush horizon and be lost); writes after the flush stay. */
static void test_flush_and_holes(void **state)
{
	struct dpc_cache *c = mkcache(2u << 20, DPC_EVICT_CLOCK, 64);
	enum { N = 2000 };
	struct kbuf kb;
	char val[64];
	struct dpc_item_view v;

	(void)state;
	memset(val, 'v', sizeof(val));
	for (unsigned r = 0; r < 3; r++)
		for (unsigned i = 0; i < N; i++)
			assert_int_equal(put(c, mkkey(&kb, "fl:%u", i), val, sizeof(val), 0, NULL), DPC_OK);
	settle(c);
	assert_true(test_stats(c, 0).hole_bytes > 0);
	dpc_cache_flush(c, 0);
	for (unsigned i = 0; i < N; i++)
		assert_int_equal(put(c, mkkey(&kb, "new:%u", i), val, sizeof(val), 0, NULL), DPC_OK);
	for (unsigned i = 0; i < N; i++) {
		assert_int_equal(dpc_cache_get(c, mkkey(&kb, "new:%u", i), &v), DPC_OK);
		assert_int_equal(dpc_cache_get(c, mkkey(&kb, "fl:%u", i), &v), DPC_NOT_FOUND);
	}
	dpc_cache_free(c);
}

/* ---- readers racing with writes into holes ------------------------------- */

#define RKEYS 256u
#define HDR 16u

struct race {
	struct dpc_cache *c;
	_Atomic bool stop;
	_Atomic uint64_t hits, bad, writes;
	bool mixed;
};

static uint64_t sum_of(uint32_t id, uint32_t seq, const uint8_t *b, size_t n)
{
	return dpc_hash(b, n) ^ ((uint64_t)id << 32 | seq);
}

static void *race_owner(void *arg)
{
	struct race *rc = arg;
	uint8_t val[1200];
	uint64_t s = 0x9e3779b97f4a7c15ull, n = 0;
	uint32_t seq = 0;
	struct kbuf kb;

	urcu_qsbr_register_thread();
	while (!atomic_load_explicit(&rc->stop, memory_order_relaxed)) {
		s ^= s << 13;
		s ^= s >> 7;
		s ^= s << 17;
		uint32_t id = (uint32_t)(s % RKEYS), len = rc->mixed ? HDR + (uint32_t)(s >> 40) % 1100
								  : 200;

		seq++;
		for (uint32_t j = HDR; j < len; j++)
			val[j] = (uint8_t)(id * 7u + seq * 13u + j);
		uint64_t sum = sum_of(id, seq, val + HDR, len - HDR);

		memcpy(val, &id, 4);
		memcpy(val + 4, &seq, 4);
		memcpy(val + 8, &sum, 8);
		if (dpc_store_set(rc->c, 0, DPC_SET, mkkey(&kb, "r:%u", id), val, len, 0, 0, 0, NULL) ==
		    DPC_OK)
			n++;
		if (s % 7 == 0)
			(void)dpc_store_delete(rc->c, 0, mkkey(&kb, "r:%u", (uint32_t)(s >> 20) % RKEYS), 0);
		urcu_qsbr_quiescent_state();
	}
	atomic_store(&rc->writes, n);
	urcu_qsbr_unregister_thread();
	return NULL;
}

static void *race_reader(void *arg)
{
	struct race *rc = arg;
	uint64_t s = (uint64_t)(uintptr_t)&s | 1, hits = 0, bad = 0;
	struct kbuf kb;

	urcu_qsbr_register_thread();
	while (!atomic_load_explicit(&rc->stop, memory_order_relaxed)) {
		for (int i = 0; i < 16; i++) {
			s ^= s << 13;
			s ^= s >> 7;
			s ^= s << 17;
			uint32_t id = (uint32_t)(s % RKEYS), vid, seq;
			struct dpc_item_view v;
			uint64_t sum;

			if (dpc_cache_get(rc->c, mkkey(&kb, "r:%u", id), &v) != DPC_OK)
				continue;
			hits++;
			if (v.vlen < HDR) {
				bad++;
				continue;
			}
			memcpy(&vid, v.val, 4);
			memcpy(&seq, (const uint8_t *)v.val + 4, 4);
			memcpy(&sum, (const uint8_t *)v.val + 8, 8);
			bad += vid != id ||
			       sum != sum_of(id, seq, (const uint8_t *)v.val + HDR, v.vlen - HDR);
		}
		urcu_qsbr_quiescent_state();   /* views are used only before this point */
	}
	atomic_fetch_add(&rc->hits, hits);
	atomic_fetch_add(&rc->bad, bad);
	urcu_qsbr_unregister_thread();
	return NULL;
}

static void race(bool mixed, unsigned nreaders)
{
	struct race *rc = calloc(1, sizeof(*rc));
	pthread_t o, r[8];
	const struct timespec run = { .tv_sec = 1, .tv_nsec = 0 };

	assert_non_null(rc);
	rc->c = mkcache(1u << 20, DPC_EVICT_CLOCK, 200);
	rc->mixed = mixed;
	urcu_qsbr_thread_offline();   /* this thread only waits: no grace period waits for it */
	assert_int_equal(pthread_create(&o, NULL, race_owner, rc), 0);
	for (unsigned i = 0; i < nreaders; i++)
		assert_int_equal(pthread_create(&r[i], NULL, race_reader, rc), 0);
	nanosleep(&run, NULL);
	/* Bounded: keep going until writes went into holes under the readers. */
	for (int i = 0; i < 100 && test_stats(rc->c, 0).holes_reused < 1000; i++)
		usleep(20000);
	atomic_store(&rc->stop, true);
	pthread_join(o, NULL);
	for (unsigned i = 0; i < nreaders; i++)
		pthread_join(r[i], NULL);
	urcu_qsbr_thread_online();
	struct dpc_store_stats s = test_stats(rc->c, 0);

	print_message("%s sizes, %u readers: writes %llu, holes reused %llu, hits %llu, bad %llu\n",
		      mixed ? "mixed" : "equal", nreaders, (unsigned long long)rc->writes,
		      (unsigned long long)s.holes_reused, (unsigned long long)rc->hits,
		      (unsigned long long)rc->bad);
	assert_int_equal(rc->bad, 0);
	assert_true(s.holes_reused >= 1000);
	assert_true(rc->hits > 1000);
	dpc_cache_free(rc->c);
	free(rc);
}

static void test_race_equal_sizes(void **state)
{
	(void)state;
	race(false, 2);
}

/* Mixed sizes (holes split, fillers) with more threads than cores. */
static void test_race_mixed_sizes(void **state)
{
	(void)state;
	race(true, 4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lists),
		cmocka_unit_test(test_near_sizes),
		cmocka_unit_test(test_pool_keeps_large_holes),
		cmocka_unit_test(test_hot_overwrites_keep_cold_keys),
		cmocka_unit_test(test_cas_unique_over_reuse),
		cmocka_unit_test(test_fillers),
		cmocka_unit_test(test_flush_and_holes),
		cmocka_unit_test(test_race_equal_sizes),
		cmocka_unit_test(test_race_mixed_sizes),
	};

	return cmocka_run_group_tests(tests, test_qsbr_setup, test_qsbr_teardown);
}
