/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * One-core benchmark of the cache engine against DPDK's rte_hash.
 *
 *   table_bench [--json FILE] [--lookups N] [--quick] [--big]
 *               [--keys N [--value BYTES]] [--dist uniform|zipf]
 *               [--policy clock|fifo] [--small-pages] [--rte-huge]
 *
 * For each configuration (keys: 1M, 10M; 16-byte keys; values of 32 B and
 * 1 KiB; uniform and Zipf(0.99) popularity; or the one of --keys/--value/
 * --dist) it measures, on one core and in the same run:
 *   - SET: inserting every key into an empty cache (dpc_store_set);
 *   - GET: dpc_cache_get per key, and dpc_cache_get_bulk by 32, both with
 *     the value copied out into a buffer (what a server does);
 *   - rte_hash (RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF, CRC hash) on the
 *     same keys: rte_hash_add_key_data, rte_hash_lookup_data and
 *     rte_hash_lookup_bulk by 32 (rte_hash returns a position/pointer only:
 *     no value is copied on its side);
 *   - the engine's metadata bytes per item at that load.
 * Both sides take their keys from the same precomputed trace of key indexes
 * (no RNG or Zipf sampling in the timed loops) and both hash inside the
 * timed loop.  The lookup loops run in ROUNDS rounds over the same trace
 * slices, alternating, and each reports its best round: on a shared,
 * noisy machine a burst of load then spoils one round, not the ratio.
 * The engine's memory is on 2 MiB pages (MAP_HUGETLB, else THP);
 * --small-pages uses 4 KiB pages; --rte-huge gives rte_hash hugepages too
 * (EAL --in-memory; default --no-huge).  10M keys x 1 KiB (over 10 GiB)
 * runs only with --big.  Readers report a QSBR quiescent state once per 32
 * operations, as a worker per burst.  Output: a table on stdout (the last
 * two columns: TSC cycles per key of our burst's hash stage and of
 * dpc_cache_get_bulk()) and JSON (--json FILE).
 */
#include <getopt.h>
#include <math.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <x86intrin.h>

#include <rte_eal.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_lcore.h>
#include <urcu/urcu-qsbr.h>

#include "dpcache/hash.h"
#include "dpcache/store.h"
#include "workload.h"

#define KLEN 16u
#define BURST 32u
#define ROUNDS 8u   /* lookup rounds; each loop reports its best */

static uint64_t rng_s = 0x9e3779b97f4a7c15ull;
static enum dpc_evict_policy bench_policy = DPC_EVICT_CLOCK;
static bool bench_huge = true;
static bool rte_huge;

static uint64_t rnd(void)
{
	return perf_rng_next(&rng_s);
}

/* Request trace of key indexes: uniform, or Zipf(alpha) by inverse CDF with
 * ranks scrambled over the keys. */
static uint32_t *make_trace(uint32_t n, uint64_t reqs, double alpha)
{
	uint32_t *tr = malloc(sizeof(uint32_t) * reqs);

	if (tr == NULL)
		return NULL;
	if (alpha == 0) {
		for (uint64_t r = 0; r < reqs; r++)
			tr[r] = (uint32_t)(rnd() % n);
		return tr;
	}
	double sum;
	double *cdf = perf_zipf_cdf(n, alpha, &sum);

	if (cdf == NULL) {
		free(tr);
		return NULL;
	}
	for (uint64_t r = 0; r < reqs; r++) {
		uint32_t lo = perf_cdf_rank(cdf, n, perf_unit(rnd()) * sum);

		/* scramble rank -> key index (odd multiplier mod 2^32, then mod n) */
		tr[r] = (uint32_t)(((uint64_t)lo * 2654435761u) % n);
	}
	free(cdf);
	return tr;
}

struct result {
	uint32_t keys, vlen;
	const char *dist;
	double set_mops, get_mops, bulk_mops;
	double rte_add_mops, rte_get_mops, rte_bulk_mops;
	double meta;
	double hash_cyc, get_cyc;   /* TSC cycles per key: hash stage, dpc_cache_get_bulk() */
	uint64_t misses, rte_fail;
};

/* The key array on transparent huge pages (both sides read their keys from
 * it: no page walk per key for either). */
static void *alloc_huge(size_t n)
{
	size_t sz = (n + (2u << 20) - 1) & ~((size_t)(2u << 20) - 1);
	void *p = aligned_alloc(2u << 20, sz);

	if (p != NULL)
		(void)madvise(p, sz, MADV_HUGEPAGE);
	return p;
}

static void key_of(char *k, uint32_t i)
{
	char tmp[24];

	snprintf(tmp, sizeof(tmp), "key:%012u", i);
	memcpy(k, tmp, KLEN);
}

/* One timed pass of each lookup loop over trace slice [r0, r1). */
struct ctx {
	struct dpc_cache *c;
	struct rte_hash *h;
	const char *keys;
	const uint32_t *tr;
	uint8_t *out;
	uint64_t sink, misses;
	uint64_t cyc_hash, cyc_get, nbulk;   /* TSC cycles in the two stages of our burst */
};

static double pass_get(struct ctx *x, uint64_t r0, uint64_t r1)
{
	double t0 = perf_now_s();

	for (uint64_t r = r0; r < r1; r++) {
		struct dpc_key k = { .data = x->keys + (size_t)x->tr[r] * KLEN, .len = KLEN };
		struct dpc_item_view v;

		k.hash = dpc_hash(k.data, KLEN);
		if (dpc_cache_get(x->c, &k, &v) == DPC_OK) {
			memcpy(x->out, v.val, v.vlen);
			x->sink += x->out[0];
		} else {
			x->misses++;
		}
		if ((r & (BURST - 1)) == 0)
			urcu_qsbr_quiescent_state();
	}
	return perf_now_s() - t0;
}

/* Our burst: the key bytes of the burst are fetched in parallel first
 * (rte_hash_lookup_bulk prefetches its keys too), hashed (each hash then
 * starts the fetch of its index buckets: dpc_cache_prefetch()), looked up
 * with dpc_cache_get_bulk(), and every value copied out (what a server
 * does). */
static double pass_bulk(struct ctx *x, uint64_t r0, uint64_t r1)
{
	double t0 = perf_now_s();

	for (uint64_t r = r0; r + BURST <= r1; r += BURST) {
		struct dpc_key k[BURST];
		struct dpc_item_view v[BURST];
		enum dpc_status st[BURST];
		uint64_t c0 = __rdtsc(), c1;

		for (unsigned j = 0; j < BURST; j++) {
			k[j].data = x->keys + (size_t)x->tr[r + j] * KLEN;
			__builtin_prefetch(k[j].data);
		}
		for (unsigned j = 0; j < BURST; j++) {
			k[j].len = KLEN;
			k[j].hash = dpc_hash(k[j].data, KLEN);
			dpc_cache_prefetch(x->c, k[j].hash);
		}
		c1 = __rdtsc();
		dpc_cache_get_bulk(x->c, k, BURST, v, st);
		x->cyc_hash += c1 - c0;
		x->cyc_get += __rdtsc() - c1;
		x->nbulk += BURST;
		for (unsigned j = 0; j < BURST; j++) {
			if (st[j] == DPC_OK) {
				memcpy(x->out, v[j].val, v[j].vlen);
				x->sink += x->out[0];
			} else {
				x->misses++;
			}
		}
		urcu_qsbr_quiescent_state();
	}
	return perf_now_s() - t0;
}

static double pass_rte_get(struct ctx *x, uint64_t r0, uint64_t r1)
{
	double t0 = perf_now_s();

	for (uint64_t r = r0; r < r1; r++) {
		void *d;

		if (rte_hash_lookup_data(x->h, x->keys + (size_t)x->tr[r] * KLEN, &d) >= 0)
			x->sink += (uintptr_t)d & 1;
	}
	return perf_now_s() - t0;
}

/* rte_hash's burst: the same key pointers; it hashes, prefetches and
 * compares inside rte_hash_lookup_bulk() (no value is copied). */
static double pass_rte_bulk(struct ctx *x, uint64_t r0, uint64_t r1)
{
	double t0 = perf_now_s();

	for (uint64_t r = r0; r + BURST <= r1; r += BURST) {
		const void *kp[BURST];
		int32_t pos[BURST];

		for (unsigned j = 0; j < BURST; j++)
			kp[j] = x->keys + (size_t)x->tr[r + j] * KLEN;
		rte_hash_lookup_bulk(x->h, kp, BURST, pos);
		for (unsigned j = 0; j < BURST; j++)
			x->sink += pos[j] < 0;
	}
	return perf_now_s() - t0;
}

static int run(uint32_t nkeys, uint32_t vlen, double alpha, uint64_t lookups, struct result *res)
{
	char *keys = alloc_huge((size_t)nkeys * KLEN);
	uint8_t *val = malloc(vlen), *out = malloc(vlen + 64);
	uint32_t *tr = make_trace(nkeys, lookups, alpha);
	double per = (double)((12 + KLEN + vlen + 3) & ~3u) + 64.0 / (7 * 0.9);
	struct dpc_cache_params prm = {
		.nparts = 1, .item_size_hint = KLEN + vlen, .max_value = vlen < 4096 ? 4096 : vlen,
		.policy = bench_policy, .hugepages = bench_huge, .numa_socket = -1,
		.mem_bytes = (size_t)((double)nkeys * per * 32.0 / 31.0 * 1.02) + (8u << 20),
	};
	struct rte_hash_parameters hp = {
		.name = "bench", .entries = nkeys + nkeys / 4, .key_len = KLEN,
		.hash_func = rte_hash_crc, .hash_func_init_val = 0, .socket_id = (int)rte_socket_id(),
		.extra_flag = RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF,
	};
	struct ctx x = { .keys = keys, .tr = tr, .out = out };
	double t0, t1, best[4] = { 1e30, 1e30, 1e30, 1e30 };
	uint64_t slice = lookups / ROUNDS / BURST * BURST;

	if (!keys || !val || !out || !tr) {
		fprintf(stderr, "out of memory\n");
		return -1;
	}
	memset(res, 0, sizeof(*res));
	res->keys = nkeys;
	res->vlen = vlen;
	res->dist = alpha == 0 ? "uniform" : "zipf0.99";
	for (uint32_t i = 0; i < nkeys; i++)
		key_of(keys + (size_t)i * KLEN, i);
	for (uint32_t i = 0; i < vlen; i++)
		val[i] = (uint8_t)i;
	x.c = dpc_cache_create(&prm);
	if (x.c == NULL) {
		perror("dpc_cache_create");
		return -1;
	}
	/* SET: insert all keys */
	t0 = perf_now_s();
	for (uint32_t i = 0; i < nkeys; i++) {
		struct dpc_key k = { .data = keys + (size_t)i * KLEN, .len = KLEN };

		k.hash = dpc_hash(k.data, KLEN);
		memcpy(val, &i, sizeof(i));
		while (dpc_store_set(x.c, 0, DPC_SET, &k, val, vlen, 0, 0, 0, NULL) == DPC_NOSPACE)
			urcu_qsbr_quiescent_state();
		if ((i & (BURST - 1)) == 0)
			urcu_qsbr_quiescent_state();
	}
	t1 = perf_now_s();
	res->set_mops = nkeys / (t1 - t0) / 1e6;
	res->meta = dpc_cache_meta_bytes_per_item(x.c);

	/* rte_hash on the same keys (data = pointer to a value buffer) */
	x.h = rte_hash_create(&hp);
	if (x.h == NULL) {
		fprintf(stderr, "rte_hash_create failed (EAL memory?)\n");
		return -1;
	}
	t0 = perf_now_s();
	for (uint32_t i = 0; i < nkeys; i++)
		if (rte_hash_add_key_data(x.h, keys + (size_t)i * KLEN, val) < 0)
			res->rte_fail++;
	t1 = perf_now_s();
	res->rte_add_mops = nkeys / (t1 - t0) / 1e6;

	/* Lookups: ROUNDS rounds; each runs the four loops on the same trace
	 * slice, one after the other, and each loop keeps its best round, so
	 * that a burst of load from other processes hits one round of one
	 * loop, not the comparison. */
	for (unsigned rd = 0; rd < ROUNDS; rd++) {
		uint64_t r0 = rd * slice, r1 = r0 + slice;
		double t[4];

		t[0] = pass_get(&x, r0, r1);
		t[1] = pass_bulk(&x, r0, r1);
		t[2] = pass_rte_get(&x, r0, r1);
		t[3] = pass_rte_bulk(&x, r0, r1);
		for (unsigned i = 0; i < 4; i++)
			best[i] = t[i] < best[i] ? t[i] : best[i];
	}
	res->get_mops = (double)slice / best[0] / 1e6;
	res->bulk_mops = (double)slice / best[1] / 1e6;
	res->rte_get_mops = (double)slice / best[2] / 1e6;
	res->rte_bulk_mops = (double)slice / best[3] / 1e6;
	res->misses = x.misses;
	res->hash_cyc = (double)x.cyc_hash / (double)x.nbulk;
	res->get_cyc = (double)x.cyc_get / (double)x.nbulk;
	rte_hash_free(x.h);
	dpc_cache_free(x.c);
	if (x.sink == 42)
		printf(" ");
	free(keys);
	free(val);
	free(out);
	free(tr);
	return 0;
}

static void print_row(const struct result *r)
{
	printf("%5u%c %5u %-8s | %6.2f %6.1f | %6.2f %6.1f | %6.2f %6.1f | %6.2f | %6.2f %6.2f %6.2f |"
	       " %5.2fx | %5.1f | %4.0f %4.0f\n",
	       r->keys % 1000000 ? r->keys / 1000 : r->keys / 1000000, r->keys % 1000000 ? 'K' : 'M',
	       r->vlen, r->dist,
	       r->set_mops, 1e3 / r->set_mops, r->get_mops, 1e3 / r->get_mops,
	       r->bulk_mops, 1e3 / r->bulk_mops, r->rte_add_mops, r->rte_get_mops,
	       r->rte_bulk_mops, 1e3 / r->rte_bulk_mops, r->bulk_mops / r->rte_bulk_mops, r->meta,
	       r->hash_cyc, r->get_cyc);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	const char *json = NULL;
	uint64_t lookups = 10000000;
	bool quick = false, big = false;
	uint32_t only_keys = 0, only_vlen = 0;
	int only_dist = -1;
	static const struct option opts[] = {
		{ "json", required_argument, NULL, 'j' },
		{ "lookups", required_argument, NULL, 'n' },
		{ "quick", no_argument, NULL, 'q' },
		{ "big", no_argument, NULL, 'b' },
		{ "keys", required_argument, NULL, 'k' },
		{ "value", required_argument, NULL, 'v' },
		{ "dist", required_argument, NULL, 'd' },
		{ "policy", required_argument, NULL, 'p' },
		{ "small-pages", no_argument, NULL, 's' },
		{ "rte-huge", no_argument, NULL, 'H' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char a_nohuge[] = "--no-huge", a_m[] = "-m", a_mem[] = "3072", a_nopci[] = "--no-pci";
	char a_noshconf[] = "--no-shconf", a_log[] = "--log-level=error", a_l[] = "-l", a_cpu[16];
	char *eal[] = { argv[0], a_nohuge, a_m, a_mem, a_nopci, a_noshconf, a_log, a_l, a_cpu, NULL };
	cpu_set_t cs;
	int cpu = 0;

	/* The EAL lcore is the first CPU we may run on (taskset -c N picks it):
	 * asking EAL for a CPU outside our affinity can stall in setaffinity. */
	if (sched_getaffinity(0, sizeof(cs), &cs) == 0)
		while (cpu < CPU_SETSIZE - 1 && !CPU_ISSET(cpu, &cs))
			cpu++;
	snprintf(a_cpu, sizeof(a_cpu), "%d", cpu);
	int o;

	while ((o = getopt_long(argc, argv, "j:n:qbk:v:d:p:sHh", opts, NULL)) != -1) {
		switch (o) {
		case 'j': json = optarg; break;
		case 'n': lookups = strtoull(optarg, NULL, 10); break;
		case 'q': quick = true; break;
		case 'b': big = true; break;
		case 'k': only_keys = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'v': only_vlen = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 's': bench_huge = false; break;
		case 'H': rte_huge = true; break;
		case 'p':
			bench_policy = strcmp(optarg, "fifo") == 0 ? DPC_EVICT_FIFO : DPC_EVICT_CLOCK;
			break;
		case 'd': only_dist = strcmp(optarg, "zipf") == 0; break;
		default:
			fprintf(stderr, "usage: %s [--json FILE] [--lookups N] [--quick] [--big]"
				" [--keys N [--value BYTES]] [--dist uniform|zipf] [--policy clock|fifo]"
				" [--small-pages] [--rte-huge]\n",
				argv[0]);
			return o == 'h' ? 0 : 2;
		}
	}
	if (rte_huge) {
		/* rte_hash on 2 MiB pages too (as the engine's memory), from the
		 * hugetlbfs pool, nothing kept after exit. */
		static char a_inmem[] = "--in-memory";

		eal[1] = a_inmem;
		eal[2] = a_nopci;
		eal[3] = a_log;
		eal[4] = a_l;
		eal[5] = a_cpu;
		eal[6] = NULL;
	}
	if (rte_eal_init(rte_huge ? 6 : (int)DPC_ARRAY_SIZE(eal) - 1, eal) < 0) {
		fprintf(stderr, "rte_eal_init failed\n");
		return 1;
	}
	urcu_qsbr_register_thread();

	struct { uint32_t keys, vlen; } cfg[] = {
		{ 1000000, 32 }, { 1000000, 1024 }, { 10000000, 32 }, { 10000000, 1024 },
	};
	struct result res[16];
	unsigned nres = 0;

	printf("one core; Mops/s and ns/op; GET = value copied out; rte_hash returns a position only\n");
	printf("%6s %5s %-8s | %13s | %13s | %13s | %6s | %20s | %6s | %5s | %9s\n", "keys", "value",
	       "dist", "SET  Mops ns", "GET  Mops ns", "GETx32 Mops ns", "rteadd",
	       "rte get / x32 Mops ns", "x32/rte", "meta", "x32 tsc/k");
	if (only_keys != 0) {
		cfg[0].keys = only_keys;
		cfg[0].vlen = only_vlen ? only_vlen : 32;
	}
	for (unsigned i = 0; i < (only_keys ? 1u : DPC_ARRAY_SIZE(cfg)); i++) {
		if (cfg[i].keys == 10000000 && cfg[i].vlen == 1024 && !big) {
			printf("%5uM %5u (skipped: over 10 GiB of items; --big runs it)\n",
			       cfg[i].keys / 1000000, cfg[i].vlen);
			continue;
		}
		if (quick && cfg[i].keys > 1000000)
			continue;
		for (int d = 0; d < 2; d++) {
			if (only_dist >= 0 && d != only_dist)
				continue;
			if (run(cfg[i].keys, cfg[i].vlen, d ? 0.99 : 0, lookups, &res[nres]) < 0)
				return 1;
			print_row(&res[nres++]);
		}
	}
	if (json) {
		FILE *fp = fopen(json, "w");

		if (fp == NULL) {
			perror(json);
			return 1;
		}
		fprintf(fp, "{\"benchmark\":\"table_bench\",\"lookups\":%llu,\"results\":[",
			(unsigned long long)lookups);
		for (unsigned i = 0; i < nres; i++) {
			const struct result *r = &res[i];

			fprintf(fp, "%s{\"keys\":%u,\"key_len\":%u,\"value_len\":%u,\"dist\":\"%s\","
				"\"set_mops\":%.3f,\"get_mops\":%.3f,\"get_bulk32_mops\":%.3f,"
				"\"rte_add_mops\":%.3f,\"rte_lookup_mops\":%.3f,"
				"\"rte_lookup_bulk32_mops\":%.3f,"
				"\"bulk_vs_rte_bulk\":%.3f,\"meta_bytes_per_item\":%.2f,"
				"\"bulk_hash_tsc_per_key\":%.1f,\"bulk_get_tsc_per_key\":%.1f,"
				"\"misses\":%llu,"
				"\"rte_add_failures\":%llu}", i ? "," : "", r->keys, KLEN, r->vlen, r->dist,
				r->set_mops, r->get_mops, r->bulk_mops, r->rte_add_mops, r->rte_get_mops,
				r->rte_bulk_mops, r->bulk_mops / r->rte_bulk_mops, r->meta, r->hash_cyc,
				r->get_cyc,
				(unsigned long long)r->misses, (unsigned long long)r->rte_fail);
		}
		fprintf(fp, "]}\n");
		fclose(fp);
	}
	urcu_qsbr_unregister_thread();
	rte_eal_cleanup();
	return 0;
}
