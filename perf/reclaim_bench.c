/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What the store's reclaimer costs a worker that shares its CPU, without a
 * network: one thread plays a worker (bursts of 32 requests, GETs by
 * dpc_cache_get_bulk() with the value copied out, SETs by dpc_store_set(),
 * one QSBR quiescent state per burst), on a cache like the perf scripts'
 * dpcached (512 MiB, one partition, CLOCK, 1M keys of 16 B, 32 B values,
 * uniform).  With --shared (the default) the cache is created while the
 * thread is pinned to its CPU, so the reclaimer thread inherits that CPU,
 * as when every dpcached thread is pinned to dpcached's CPU
 * (perf/lib.sh PERF_SRV_PIN=1); --apart leaves the reclaimer on the other
 * CPUs.  Prints ns per request (wall clock on the pinned CPU, so the
 * reclaimer's share and its context switches are in it), the reclaimer's
 * wake-ups and grace periods a second, and the transient NOSPACE answers.
 * No EAL, no network; best of --rounds rounds.
 *
 *   reclaim_bench [--seconds S] [--rounds N] [--get-ratio R] [--keys N]
 *                 [--interval US] [--apart]
 */
#include <getopt.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <urcu/urcu-qsbr.h>

#include "dpcache/hash.h"
#include "dpcache/store.h"
#include "workload.h"

#define KLEN 16u
#define VLEN 32u
#define BURST 32u

static uint64_t rng_s = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	return perf_rng_next(&rng_s);
}

static void key_of(char *k, uint32_t i)
{
	char tmp[24];

	snprintf(tmp, sizeof(tmp), "key:%012u", i);
	memcpy(k, tmp, KLEN);
}

static struct dpc_store_stats stats(const struct dpc_cache *c)
{
	struct dpc_store_stats s;

	memset(&s, 0, sizeof(s));
	dpc_cache_stats(c, 0, &s);
	return s;
}

int main(int argc, char **argv)
{
	double seconds = 2, get_ratio = 0.9;
	unsigned rounds = 3, interval = 0;
	uint32_t nkeys = 1000000;
	bool apart = false;
	static const struct option opts[] = {
		{ "seconds", required_argument, NULL, 's' }, { "rounds", required_argument, NULL, 'r' },
		{ "get-ratio", required_argument, NULL, 'g' }, { "keys", required_argument, NULL, 'k' },
		{ "interval", required_argument, NULL, 'i' }, { "apart", no_argument, NULL, 'a' },
		{ NULL, 0, NULL, 0 },
	};
	int o;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 's': seconds = atof(optarg); break;
		case 'r': rounds = (unsigned)atoi(optarg); break;
		case 'g': get_ratio = atof(optarg); break;
		case 'k': nkeys = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'i': interval = (unsigned)atoi(optarg); break;
		case 'a': apart = true; break;
		default:
			fprintf(stderr, "usage: %s [--seconds S] [--rounds N] [--get-ratio R] [--keys N] "
				"[--interval US] [--apart]\n", argv[0]);
			return 2;
		}
	}
	if (nkeys == 0 || rounds == 0 || seconds <= 0) {
		fprintf(stderr, "reclaim_bench: --keys, --rounds and --seconds must be > 0\n");
		return 2;
	}

	/* The worker's CPU: the first one we may run on; the rest are the "other" CPUs. */
	cpu_set_t all, one;
	int cpu = -1;

	if (sched_getaffinity(0, sizeof(all), &all) != 0) {
		perror("sched_getaffinity");
		return 1;
	}
	for (int i = 0; i < CPU_SETSIZE && cpu < 0; i++)
		if (CPU_ISSET(i, &all))
			cpu = i;
	CPU_ZERO(&one);
	CPU_SET(cpu, &one);
	cpu_set_t others = all;

	CPU_CLR(cpu, &others);
	if (apart && CPU_COUNT(&others) == 0) {
		fprintf(stderr, "reclaim_bench: --apart needs a second CPU\n");
		return 2;
	}
	/* The reclaimer inherits the affinity of the thread that creates the cache. */
	(void)sched_setaffinity(0, sizeof(cpu_set_t), apart ? &others : &one);

	struct dpc_cache_params prm = {
		.nparts = 1, .mem_bytes = 512u << 20, .item_size_hint = 64, .max_value = 1u << 20,
		.policy = DPC_EVICT_CLOCK, .hugepages = true, .numa_socket = -1,
		.reclaim_interval_us = interval,
	};
	struct dpc_cache *c = dpc_cache_create(&prm);
	char *keys = malloc((size_t)nkeys * KLEN);
	uint8_t val[VLEN], out[VLEN];

	if (c == NULL || keys == NULL) {
		perror("reclaim_bench: cache");
		return 1;
	}
	(void)sched_setaffinity(0, sizeof(one), &one);
	urcu_qsbr_register_thread();
	memset(val, 'v', sizeof(val));
	for (uint32_t i = 0; i < nkeys; i++) {
		struct dpc_key k = { .data = keys + (size_t)i * KLEN, .len = KLEN };

		key_of(keys + (size_t)i * KLEN, i);
		k.hash = dpc_hash(k.data, KLEN);
		while (dpc_store_set(c, 0, DPC_SET, &k, val, VLEN, 0, 0, 0, NULL) == DPC_NOSPACE)
			urcu_qsbr_quiescent_state();
		if ((i & (BURST - 1)) == 0)
			urcu_qsbr_quiescent_state();
	}

	uint64_t set_thresh = (uint64_t)((1.0 - get_ratio) * 65536.0);
	double best = 1e30;
	uint64_t sink = 0, nospace = 0;

	printf("reclaim_bench: %u keys, %.0f %% GET, reclaimer %s, interval %u us (0: default)\n",
	       nkeys, 100 * get_ratio, apart ? "on the other CPUs" : "on the worker's CPU", interval);
	for (unsigned r = 0; r < rounds; r++) {
		struct dpc_store_stats s0 = stats(c), s1;
		uint64_t ops = 0;
		double t0 = perf_now_s(), t = t0;

		while (t - t0 < seconds) {
			for (unsigned b = 0; b < 64; b++) {
				struct dpc_key k[BURST];
				struct dpc_item_view v[BURST];
				enum dpc_status st[BURST];
				unsigned ng = 0;

				for (unsigned j = 0; j < BURST; j++) {
					uint64_t x = rnd();
					uint32_t i = (uint32_t)((x >> 16) % nkeys);
					struct dpc_key kk = { .data = keys + (size_t)i * KLEN, .len = KLEN };

					kk.hash = dpc_hash(kk.data, KLEN);
					if ((x & 0xffff) < set_thresh) {
						if (dpc_store_set(c, 0, DPC_SET, &kk, val, VLEN, 0, 0, 0,
								  NULL) == DPC_NOSPACE)
							nospace++;
					} else {
						dpc_cache_prefetch(c, kk.hash);
						k[ng++] = kk;
					}
				}
				dpc_cache_get_bulk(c, k, ng, v, st);
				for (unsigned j = 0; j < ng; j++)
					if (st[j] == DPC_OK) {
						memcpy(out, v[j].val, v[j].vlen < VLEN ? v[j].vlen : VLEN);
						sink += out[0];
					}
				urcu_qsbr_quiescent_state();
				ops += BURST;
			}
			t = perf_now_s();
		}
		s1 = stats(c);
		double ns = (t - t0) * 1e9 / (double)ops;

		printf("  round %u: %.1f ns/request (%.2f M req/s), reclaimer %.0f wake-ups/s, "
		       "%.0f grace periods/s\n", r + 1, ns, (double)ops / (t - t0) / 1e6,
		       (double)(s1.reclaim_wakeups - s0.reclaim_wakeups) / (t - t0),
		       (double)(s1.reclaim_grace_periods - s0.reclaim_grace_periods) / (t - t0));
		best = ns < best ? ns : best;
	}
	printf("best: %.1f ns/request; NOSPACE answers %llu%s\n", best, (unsigned long long)nospace,
	       sink == 42 ? " " : "");
	urcu_qsbr_unregister_thread();
	dpc_cache_free(c);
	free(keys);
	return 0;
}
