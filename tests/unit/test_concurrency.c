/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Concurrency: reader threads (registered QSBR readers) hammer partitions
 * while their owners insert, replace, delete, touch and evict.  Every value
 * read must be one that was written whole: value = key id, sequence number,
 * checksum over the rest.  Reclaimed log memory is filled with 0xdd and
 * poisoned in debug builds (ASan reports any read of it under
 * FLAVOUR=asan), so a freed or torn read fails the checksum or trips ASan.
 * Each case runs for a bounded time; assertions are on correctness only.
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

#include <cmocka.h>
#include <urcu/urcu-qsbr.h>

#include "dpcache/hash.h"
#include "dpcache/store.h"
#include "store_internal.h"   /* dpc_cache_create_at(): a log that starts near a wrap point */

#define NKEYS 20000u
#define HDR 16u

struct shared {
	struct dpc_cache *c;
	unsigned nowners;
	_Atomic bool stop;
	_Atomic uint64_t reads, hits, bad, owner_ops, nospace;
	char first_bad[160];
	_Atomic bool have_bad;
};

struct owner_arg {
	struct shared *sh;
	unsigned part;
	uint64_t seed;
};

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dull;
}

static uint8_t keybuf_len(char *buf, uint32_t id)
{
	return (uint8_t)snprintf(buf, 16, "ck:%05u", id);
}

static uint64_t body_sum(uint32_t id, uint32_t seq, const uint8_t *body, size_t n)
{
	return dpc_hash(body, n) ^ ((uint64_t)id << 32 | seq);
}

/* value: id (4) | seq (4) | checksum (8) | body bytes derived from id, seq */
static uint32_t make_value(uint8_t *v, uint32_t id, uint32_t seq, uint32_t len)
{
	for (uint32_t j = HDR; j < len; j++)
		v[j] = (uint8_t)(id * 31u + seq * 17u + j);
	uint64_t sum = body_sum(id, seq, v + HDR, len - HDR);

	memcpy(v, &id, 4);
	memcpy(v + 4, &seq, 4);
	memcpy(v + 8, &sum, 8);
	return len;
}

static void report_bad(struct shared *sh, const char *what, uint32_t id)
{
	bool expect = false;

	atomic_fetch_add(&sh->bad, 1);
	if (atomic_compare_exchange_strong(&sh->have_bad, &expect, true))
		snprintf(sh->first_bad, sizeof(sh->first_bad), "%s (key id %u)", what, id);
}

static void check_view(struct shared *sh, uint32_t id, const struct dpc_item_view *v)
{
	char kb[16];
	uint8_t kl = keybuf_len(kb, id);
	uint32_t vid, seq;
	uint64_t sum;

	if (v->klen != kl || memcmp(v->key, kb, kl) != 0)
		return report_bad(sh, "wrong key", id);
	if (v->vlen < HDR)
		return report_bad(sh, "short value", id);
	memcpy(&vid, v->val, 4);
	memcpy(&seq, (const uint8_t *)v->val + 4, 4);
	memcpy(&sum, (const uint8_t *)v->val + 8, 8);
	if (vid != id)
		return report_bad(sh, "value of another key", id);
	if (sum != body_sum(id, seq, (const uint8_t *)v->val + HDR, v->vlen - HDR))
		return report_bad(sh, "torn or freed value (checksum)", id);
	if (v->cas == 0)
		return report_bad(sh, "zero CAS", id);
}

static void *owner_main(void *arg)
{
	struct owner_arg *oa = arg;
	struct shared *sh = oa->sh;
	struct dpc_cache *c = sh->c;
	uint64_t s = oa->seed;
	uint32_t seq = 0;
	uint8_t *val = malloc(2048);
	uint64_t ops = 0, nosp = 0;

	urcu_qsbr_register_thread();
	while (!atomic_load_explicit(&sh->stop, memory_order_relaxed)) {
		uint32_t id = (uint32_t)(rnd(&s) % NKEYS);
		char kb[16];
		struct dpc_key k = { .data = kb };

		k.len = keybuf_len(kb, id);
		k.hash = dpc_hash(kb, k.len);
		if (dpc_hash_part(k.hash, dpc_cache_nparts(c)) != oa->part)
			continue;   /* not ours */
		unsigned op = (unsigned)(rnd(&s) % 100);
		enum dpc_status st = DPC_OK;

		if (op < 75) {
			uint32_t len = HDR + (uint32_t)(rnd(&s) % 1000);

			make_value(val, id, ++seq, len);
			st = dpc_store_set(c, oa->part, op < 5 ? DPC_ADD : DPC_SET, &k, val, len, seq,
					   0, 0, NULL);
			if (st == DPC_OK && op >= 5) {
				/* A write the owner just made is found, with its value. */
				struct dpc_item_view v;

				if (dpc_cache_get(c, &k, &v) != DPC_OK)
					report_bad(sh, "the owner's own write is not found", id);
				else if (v.vlen != len || memcmp(v.val, val, len) != 0)
					report_bad(sh, "the owner's own write reads back otherwise", id);
			}
		} else if (op < 85) {
			st = dpc_store_delete(c, oa->part, &k, 0);
		} else if (op < 90) {
			struct dpc_item_view v;

			st = dpc_store_touch(c, oa->part, &k, 0, &v);
			if (st == DPC_OK)
				check_view(sh, id, &v);
		} else {
			/* replace with CAS read from a fresh get */
			struct dpc_item_view v;

			if (dpc_cache_get(c, &k, &v) == DPC_OK) {
				uint32_t len = HDR + (uint32_t)(rnd(&s) % 300);

				check_view(sh, id, &v);
				make_value(val, id, ++seq, len);
				st = dpc_store_set(c, oa->part, DPC_REPLACE, &k, val, len, 0, 0, v.cas,
						   NULL);
				if (st != DPC_OK && st != DPC_NOSPACE)
					report_bad(sh, "CAS replace of a just-read item failed", id);
			}
		}
		if (st == DPC_NOSPACE)
			nosp++;
		ops++;
		urcu_qsbr_quiescent_state();
		if (ops % 64 == 0)
			dpc_store_maintain(c, oa->part, 16);
	}
	atomic_fetch_add(&sh->owner_ops, ops);
	atomic_fetch_add(&sh->nospace, nosp);
	urcu_qsbr_unregister_thread();
	free(val);
	return NULL;
}

static void *reader_main(void *arg)
{
	struct shared *sh = arg;
	uint64_t s = (uint64_t)(uintptr_t)&s ^ 0x9e3779b97f4a7c15ull;
	uint64_t reads = 0, hits = 0;
	char kb[DPC_BULK_MAX][16];
	struct dpc_key k[DPC_BULK_MAX];
	uint32_t ids[DPC_BULK_MAX];
	struct dpc_item_view v[DPC_BULK_MAX];
	enum dpc_status st[DPC_BULK_MAX];

	urcu_qsbr_register_thread();
	while (!atomic_load_explicit(&sh->stop, memory_order_relaxed)) {
		unsigned n = (rnd(&s) & 1) ? DPC_BULK_MAX : 1;

		for (unsigned i = 0; i < n; i++) {
			ids[i] = (uint32_t)(rnd(&s) % NKEYS);
			k[i].data = kb[i];
			k[i].len = keybuf_len(kb[i], ids[i]);
			k[i].hash = dpc_hash(kb[i], k[i].len);
		}
		if (n == 1)
			st[0] = dpc_cache_get(sh->c, &k[0], &v[0]);
		else
			dpc_cache_get_bulk(sh->c, k, n, v, st);
		for (unsigned i = 0; i < n; i++) {
			reads++;
			if (st[i] == DPC_OK) {
				hits++;
				check_view(sh, ids[i], &v[i]);
			} else if (st[i] != DPC_NOT_FOUND) {
				report_bad(sh, "unexpected get status", ids[i]);
			}
		}
		/* Views are used only before this point. */
		urcu_qsbr_quiescent_state();
	}
	atomic_fetch_add(&sh->reads, reads);
	atomic_fetch_add(&sh->hits, hits);
	urcu_qsbr_unregister_thread();
	return NULL;
}

static uint64_t total_evictions(const struct dpc_cache *c, unsigned nparts)
{
	uint64_t n = 0;

	for (unsigned p = 0; p < nparts; p++) {
		struct dpc_store_stats s;

		dpc_cache_stats(c, p, &s);
		n += s.evictions + s.reinserted + s.index_evictions;
	}
	return n;
}

static uint64_t total_moves(const struct dpc_cache *c, unsigned nparts)
{
	uint64_t n = 0;

	for (unsigned p = 0; p < nparts; p++) {
		struct dpc_store_stats s;

		dpc_cache_stats(c, p, &s);
		n += s.index_moves;
	}
	return n;
}

/* Every partition's log has written 8 MiB past the wrap point above @p origin. */
static bool past(const struct dpc_cache *c, uint64_t origin)
{
	uint64_t wrap = (origin + (1ull << 49)) & ~((1ull << 49) - 1);

	for (unsigned p = 0; p < dpc_cache_nparts(c); p++)
		if (atomic_load_explicit(&c->parts[p]->logs[0].t_pub, memory_order_relaxed) <
		    wrap + (8u << 20))
			return false;
	return true;
}

/*
 * @p hint sizes the index (item_size_hint): the values written average
 * ~530 bytes, so a hint of 512 leaves the index below its target load and
 * a larger one makes it dense (full buckets: cuckoo moves under readers).
 * @p want_moves: keep going (bounded) until moves happened, and assert it.
 */
static void run_case_at(unsigned nparts, unsigned nowners, unsigned nreaders, size_t mem,
			enum dpc_evict_policy pol, double seconds, unsigned hint, bool want_moves,
			uint64_t origin)
{
	struct dpc_cache_params prm = {
		.nparts = nparts, .mem_bytes = mem, .item_size_hint = hint, .max_value = 4096,
		.policy = pol, .numa_socket = -1,
	};
	struct shared *sh = calloc(1, sizeof(*sh));
	pthread_t ot[8], rt[32];
	struct owner_arg oa[8];
	struct timespec ts = { .tv_sec = (time_t)seconds,
			       .tv_nsec = (long)((seconds - (double)(time_t)seconds) * 1e9) };
	uint64_t evictions = 0, moves = 0;

	assert_non_null(sh);
	sh->c = dpc_cache_create_at(&prm, origin);
	assert_non_null(sh->c);
	sh->nowners = nowners;
	for (unsigned i = 0; i < nowners; i++) {
		oa[i] = (struct owner_arg){ .sh = sh, .part = i, .seed = 0x1234567ull * (i + 1) };
		assert_int_equal(pthread_create(&ot[i], NULL, owner_main, &oa[i]), 0);
	}
	for (unsigned i = 0; i < nreaders; i++)
		assert_int_equal(pthread_create(&rt[i], NULL, reader_main, sh), 0);
	nanosleep(&ts, NULL);
	/* The point is eviction under readers: on an oversubscribed machine
	 * grace periods lag and most writes get DPC_NOSPACE, so keep going
	 * (bounded) until the owners have really evicted something. */
	for (unsigned extra = 0; extra < 600 && (total_evictions(sh->c, nparts) == 0 ||
						 (want_moves && total_moves(sh->c, nparts) == 0) ||
						 (origin != 0 && !past(sh->c, origin)));
	     extra++) {
		const struct timespec tick = { .tv_sec = 0, .tv_nsec = 100000000 };

		nanosleep(&tick, NULL);
	}
	atomic_store(&sh->stop, true);
	for (unsigned i = 0; i < nowners; i++)
		pthread_join(ot[i], NULL);
	for (unsigned i = 0; i < nreaders; i++)
		pthread_join(rt[i], NULL);
	evictions = total_evictions(sh->c, nparts);
	moves = total_moves(sh->c, nparts);
	print_message("%u parts, %u owners, %u readers: owner ops %llu (nospace %llu), reads %llu, "
		      "hits %llu, evictions+reinserts %llu, cuckoo moves %llu, bad %llu\n", nparts,
		      nowners, nreaders, (unsigned long long)sh->owner_ops,
		      (unsigned long long)sh->nospace, (unsigned long long)sh->reads,
		      (unsigned long long)sh->hits, (unsigned long long)evictions,
		      (unsigned long long)moves, (unsigned long long)sh->bad);
	if (sh->bad)
		print_error("first bad read: %s\n", sh->first_bad);
	assert_int_equal(sh->bad, 0);
	assert_true(sh->owner_ops > 1000);
	assert_true(sh->hits > 1000);
	assert_true(evictions > 0);     /* the owner really evicted while readers read */
	if (want_moves)
		assert_true(moves > 0);  /* and really moved entries between buckets */
	if (origin != 0)
		assert_true(past(sh->c, origin));   /* and wrote past the wrap point */
	dpc_cache_free(sh->c);
	free(sh);
}

static void run_case(unsigned nparts, unsigned nowners, unsigned nreaders, size_t mem,
		     enum dpc_evict_policy pol, double seconds, unsigned hint, bool want_moves)
{
	run_case_at(nparts, nowners, nreaders, mem, pol, seconds, hint, want_moves, 0);
}

static void test_one_owner_two_readers(void **state)
{
	(void)state;
	run_case(1, 1, 2, 4u << 20, DPC_EVICT_CLOCK, 1.5, 512, false);
}

static void test_s3fifo_policy(void **state)
{
	(void)state;
	run_case(1, 1, 2, 4u << 20, DPC_EVICT_S3FIFO, 1.0, 512, false);
}

static void test_fifo_policy(void **state)
{
	(void)state;
	run_case(1, 1, 2, 4u << 20, DPC_EVICT_FIFO, 1.0, 512, false);
}

/* More threads than cores: 2 owners and 8 readers, preempted at random points. */
static void test_oversubscribed(void **state)
{
	(void)state;
	run_case(2, 2, 8, 8u << 20, DPC_EVICT_CLOCK, 2.0, 512, false);
}

/* Dense index (an index sized for 4 KiB items holding ~530-byte ones):
 * cuckoo moves race with readers, and the test checks that they happened. */
static void test_many_parts_readers(void **state)
{
	(void)state;
	run_case(4, 4, 4, 16u << 20, DPC_EVICT_CLOCK, 1.5, 4096, true);
}

/*
 * In-place APPENDs under readers: the owner appends 16-byte pieces of one
 * pattern (byte i of a value = pat(i)) to a few keys, restarting a key
 * with a fresh SET past 48 KiB; readers check that every value they get is
 * a whole prefix of the pattern (never a byte not yet written, never a
 * length beyond the bytes) and that the CAS changes whenever the length
 * does.  The same with PREPENDs (front): byte i from the end = pat(i), and
 * every value read is a whole suffix of that reversed pattern (the value's
 * start moves with its length).
 */
#define AP_KEYS 8u
static uint8_t pat(uint32_t i)
{
	return (uint8_t)(i * 131u + 7u);
}

struct ap_shared {
	struct dpc_cache *c;
	bool front;                  /* PREPEND instead of APPEND */
	_Atomic bool stop;
	_Atomic uint64_t appends, reads, hits, bad;
};

static void ap_key(char kb[16], struct dpc_key *k, unsigned i)
{
	k->data = kb;
	k->len = (uint8_t)snprintf(kb, 16, "ap:%u", i);
	k->hash = dpc_hash(kb, k->len);
}

static void *ap_owner(void *arg)
{
	struct ap_shared *sh = arg;
	uint8_t buf[100];
	uint32_t len[AP_KEYS] = { 0 };
	uint64_t n = 0;

	urcu_qsbr_register_thread();
	for (uint32_t i = 0; i < sizeof(buf); i++)
		buf[sh->front ? sizeof(buf) - 1 - i : i] = pat(i);
	while (!atomic_load_explicit(&sh->stop, memory_order_relaxed)) {
		unsigned i = (unsigned)(n % AP_KEYS);
		char kb[16];
		struct dpc_key k;
		uint8_t piece[16];
		enum dpc_status st;

		ap_key(kb, &k, i);
		if (len[i] == 0 || len[i] > (48u << 10)) {
			st = dpc_store_set(sh->c, 0, DPC_SET, &k, buf, sizeof(buf), 0, 0, 0, NULL);
			if (st == DPC_OK)
				len[i] = sizeof(buf);
		} else {
			for (uint32_t j = 0; j < sizeof(piece); j++)
				piece[sh->front ? sizeof(piece) - 1 - j : j] = pat(len[i] + j);
			st = dpc_store_set(sh->c, 0, sh->front ? DPC_PREPEND : DPC_APPEND, &k, piece,
					   sizeof(piece), 0, 0, 0, NULL);
			if (st == DPC_OK)
				len[i] += sizeof(piece);
			else if (st == DPC_NOT_STORED)
				len[i] = 0;   /* evicted: start again */
		}
		n++;
		urcu_qsbr_quiescent_state();
	}
	atomic_store(&sh->appends, n);
	urcu_qsbr_unregister_thread();
	return NULL;
}

static void *ap_reader(void *arg)
{
	struct ap_shared *sh = arg;
	uint64_t reads = 0, hits = 0, bad = 0;
	uint32_t seen_len[AP_KEYS] = { 0 };
	uint64_t seen_cas[AP_KEYS] = { 0 };

	urcu_qsbr_register_thread();
	while (!atomic_load_explicit(&sh->stop, memory_order_relaxed)) {
		unsigned i = (unsigned)(reads % AP_KEYS);
		char kb[16];
		struct dpc_key k;
		struct dpc_item_view v;

		ap_key(kb, &k, i);
		reads++;
		if (dpc_cache_get(sh->c, &k, &v) == DPC_OK) {
			const uint8_t *b = v.val;

			hits++;
			for (uint32_t j = 0; j < v.vlen; j++)
				if (b[sh->front ? v.vlen - 1 - j : j] != pat(j)) {
					bad++;
					break;
				}
			if (v.vlen % 16 != 100 % 16 || v.cas == 0)
				bad++;
			if (v.vlen != seen_len[i] && v.cas == seen_cas[i])
				bad++;   /* a new length with the old CAS */
			seen_len[i] = v.vlen;
			seen_cas[i] = v.cas;
		}
		urcu_qsbr_quiescent_state();
	}
	atomic_fetch_add(&sh->reads, reads);
	atomic_fetch_add(&sh->hits, hits);
	atomic_fetch_add(&sh->bad, bad);
	urcu_qsbr_unregister_thread();
	return NULL;
}

static void grow_in_place_readers(bool front)
{
	struct dpc_cache_params prm = {
		.nparts = 1, .mem_bytes = 4u << 20, .item_size_hint = 512, .max_value = 65536,
		.policy = DPC_EVICT_CLOCK, .numa_socket = -1,
	};
	struct ap_shared *sh = calloc(1, sizeof(*sh));
	pthread_t ot, rt[2];
	const struct timespec ts = { .tv_sec = 1, .tv_nsec = 0 };

	assert_non_null(sh);
	sh->front = front;
	sh->c = dpc_cache_create(&prm);
	assert_non_null(sh->c);
	assert_int_equal(pthread_create(&ot, NULL, ap_owner, sh), 0);
	for (unsigned i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&rt[i], NULL, ap_reader, sh), 0);
	nanosleep(&ts, NULL);
	atomic_store(&sh->stop, true);
	pthread_join(ot, NULL);
	for (unsigned i = 0; i < 2; i++)
		pthread_join(rt[i], NULL);
	print_message("in-place %s: %llu writes, %llu reads, %llu hits, bad %llu\n",
		      front ? "prepends" : "appends", (unsigned long long)sh->appends,
		      (unsigned long long)sh->reads, (unsigned long long)sh->hits,
		      (unsigned long long)sh->bad);
	assert_int_equal(sh->bad, 0);
	assert_true(sh->appends > 1000);
	assert_true(sh->hits > 1000);
	dpc_cache_free(sh->c);
	free(sh);
}

static void test_append_in_place_readers(void **state)
{
	(void)state;
	grow_in_place_readers(false);
}

static void test_prepend_in_place_readers(void **state)
{
	(void)state;
	grow_in_place_readers(true);
}

/* Item references wrap (2^50 bytes written): a partition that starts 2 MiB
 * before that point writes past it while readers read. */
static void test_wrap_point_readers(void **state)
{
	(void)state;
	run_case_at(1, 1, 2, 4u << 20, DPC_EVICT_CLOCK, 1.0, 512, false, (1ull << 50) - (2u << 20));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_owner_two_readers),
		cmocka_unit_test(test_fifo_policy),
		cmocka_unit_test(test_s3fifo_policy),
		cmocka_unit_test(test_oversubscribed),
		cmocka_unit_test(test_many_parts_readers),
		cmocka_unit_test(test_wrap_point_readers),
		cmocka_unit_test(test_append_in_place_readers),
		cmocka_unit_test(test_prepend_in_place_readers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
