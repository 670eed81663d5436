/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Eviction policy comparison by hit ratio on a Zipf workload.
 *
 *   evict_sim [--keys N] [--requests R] [--alpha A] [--json FILE] [--no-store]
 *
 * Item-level simulators (equal-size items, capacity in items) of FIFO,
 * CLOCK (FIFO with reinsertion of items read since the last pass), S3-FIFO
 * (small FIFO 10 % + main CLOCK-2bit + ghost of main's size; two promotion
 * thresholds) and LRU as a reference, followed by the real store
 * (dpc_store_*, one partition) with its FIFO, CLOCK and S3-FIFO policies on
 * the same request trace: get; on a miss, set.  Cache sizes 1, 5, 10 and 25 %
 * of the key space.  The first 20 % of the requests warm up and are not
 * counted.  Results: a table on stdout and JSON (--json).
 */
#include <getopt.h>
#include <math.h>
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

static uint64_t rng_s = 0x853c49e6748fea9bull;

static uint64_t rnd(void)
{
	return perf_rng_next(&rng_s);
}

/* Zipf(alpha) over ranks 0..n-1 by inverse CDF; ranks are then scrambled
 * into key ids so that popularity is unrelated to the key's hash. */
static uint32_t *make_trace(uint32_t n, uint64_t reqs, double alpha)
{
	double sum;
	double *cdf = perf_zipf_cdf(n, alpha, &sum);
	uint32_t *perm = malloc(sizeof(uint32_t) * n);
	uint32_t *tr = malloc(sizeof(uint32_t) * reqs);

	if (!cdf || !perm || !tr) {
		fprintf(stderr, "out of memory\n");
		exit(1);
	}
	for (uint32_t i = 0; i < n; i++)
		perm[i] = i;
	for (uint32_t i = n - 1; i > 0; i--) {
		uint32_t j = (uint32_t)(rnd() % (i + 1));
		uint32_t t = perm[i];

		perm[i] = perm[j];
		perm[j] = t;
	}
	for (uint64_t r = 0; r < reqs; r++)
		tr[r] = perm[perf_cdf_rank(cdf, n, perf_unit(rnd()) * sum)];
	free(cdf);
	free(perm);
	return tr;
}

/* ---- a ring queue of key ids ------------------------------------------- */

struct q {
	uint32_t *a;
	uint64_t head, tail, cap;   /* pop at head, push at tail */
};

static void q_init(struct q *q, uint64_t cap)
{
	q->a = malloc(sizeof(uint32_t) * (cap + 1));
	q->head = q->tail = 0;
	q->cap = cap + 1;
}

static inline uint64_t q_len(const struct q *q) { return q->tail - q->head; }
static inline void q_push(struct q *q, uint32_t k) { q->a[q->tail++ % q->cap] = k; }
static inline uint32_t q_pop(struct q *q) { return q->a[q->head++ % q->cap]; }

/* ---- simulators ------------------------------------------------------- */

enum pol { P_FIFO, P_CLOCK, P_S3FIFO1, P_S3FIFO2, P_LRU, P_N };
static const char *const pol_name[P_N] = {
	"FIFO", "CLOCK", "S3-FIFO(>=1)", "S3-FIFO(>=2)", "LRU",
};

static double simulate(enum pol pol, const uint32_t *tr, uint64_t reqs, uint64_t warm,
		       uint32_t n, uint64_t cap)
{
	uint8_t *where = calloc(n, 1);    /* 0 absent, 1 in S/queue, 2 in M */
	uint8_t *freq = calloc(n, 1);
	uint64_t *ghost = calloc(n, sizeof(uint64_t));
	uint32_t *prev = NULL, *next = NULL;
	struct q s, m;
	uint64_t hits = 0, counted = 0, gclock = 0;
	uint64_t scap = cap / 10 ? cap / 10 : 1, used = 0;
	uint32_t lru_head = UINT32_MAX, lru_tail = UINT32_MAX;
	unsigned thr = pol == P_S3FIFO2 ? 2 : 1;

	q_init(&s, cap);
	q_init(&m, cap);
	if (pol == P_LRU) {
		prev = malloc(sizeof(uint32_t) * n);
		next = malloc(sizeof(uint32_t) * n);
	}
	for (uint64_t r = 0; r < reqs; r++) {
		uint32_t k = tr[r];
		bool hit = where[k] != 0;

		if (r >= warm) {
			counted++;
			hits += hit;
		}
		if (hit) {
			if (pol == P_LRU) {  /* move to front */
				if (lru_head != k) {
					next[prev[k]] = next[k];
					if (next[k] != UINT32_MAX)
						prev[next[k]] = prev[k];
					else
						lru_tail = prev[k];
					prev[k] = UINT32_MAX;
					next[k] = lru_head;
					prev[lru_head] = k;
					lru_head = k;
				}
			} else if (pol == P_CLOCK) {
				freq[k] = 1;
			} else if (freq[k] < 3) {
				freq[k]++;
			}
			continue;
		}
		/* miss: insert k, evicting as needed */
		switch (pol) {
		case P_FIFO:
		case P_CLOCK:
			while (q_len(&s) >= cap) {
				uint32_t v = q_pop(&s);

				if (pol == P_CLOCK && freq[v]) {
					freq[v] = 0;
					q_push(&s, v);
				} else {
					where[v] = 0;
				}
			}
			q_push(&s, k);
			where[k] = 1;
			freq[k] = 0;
			break;
		case P_LRU:
			if (used >= cap) {
				uint32_t v = lru_tail;

				lru_tail = prev[v];
				next[lru_tail] = UINT32_MAX;
				where[v] = 0;
				used--;
			}
			prev[k] = UINT32_MAX;
			next[k] = lru_head;
			if (lru_head != UINT32_MAX)
				prev[lru_head] = k;
			lru_head = k;
			if (lru_tail == UINT32_MAX)
				lru_tail = k;
			where[k] = 1;
			used++;
			break;
		default: {   /* S3-FIFO */
			while (q_len(&s) + q_len(&m) >= cap) {
				if (q_len(&s) >= scap || q_len(&m) == 0) {
					uint32_t v = q_pop(&s);

					if (freq[v] >= thr) {
						freq[v] = 0;
						where[v] = 2;
						q_push(&m, v);
					} else {
						where[v] = 0;
						ghost[v] = ++gclock;
					}
				} else {
					uint32_t v = q_pop(&m);

					if (freq[v] > 0) {
						freq[v]--;
						q_push(&m, v);
					} else {
						where[v] = 0;
					}
				}
			}
			freq[k] = 0;
			if (ghost[k] != 0 && gclock - ghost[k] < cap - scap) {
				ghost[k] = 0;
				where[k] = 2;
				q_push(&m, k);
			} else {
				where[k] = 1;
				q_push(&s, k);
			}
			break;
		}
		}
	}
	free(where);
	free(freq);
	free(ghost);
	free(prev);
	free(next);
	free(s.a);
	free(m.a);
	return counted ? (double)hits / (double)counted : 0;
}

/* ---- the real store on the same trace --------------------------------- */

#define VAL_LEN 32u

static double run_store(enum dpc_evict_policy pol, const uint32_t *tr, uint64_t reqs,
			uint64_t warm, uint64_t cap, uint64_t *items_out, uint64_t *nospace_out)
{
	/* 16-byte key + 32-byte value = 60-byte item; index ~10.2 B/item at
	 * 90 % load; the log keeps 1/32 free for grace-period lag. */
	double per = 60.0 + 64.0 / (7 * 0.9);
	struct dpc_cache_params prm = {
		.nparts = 1, .item_size_hint = 48, .max_value = 1024, .policy = pol,
		.mem_bytes = (size_t)((double)cap * per * 32.0 / 31.0) + (64u << 10),
		.numa_socket = -1,
	};
	struct dpc_cache *c = dpc_cache_create(&prm);
	uint64_t hits = 0, counted = 0, nospace = 0;
	char key[17], val[VAL_LEN];

	if (c == NULL) {
		perror("dpc_cache_create");
		exit(1);
	}
	memset(val, 'v', sizeof(val));
	for (uint64_t r = 0; r < reqs; r++) {
		struct dpc_key k = { .data = key, .len = 16 };
		struct dpc_item_view v;

		snprintf(key, sizeof(key), "%016u", tr[r]);
		k.hash = dpc_hash(key, 16);
		bool hit = dpc_cache_get(c, &k, &v) == DPC_OK;

		if (r >= warm) {
			counted++;
			hits += hit;
		}
		if (!hit) {
			while (dpc_store_set(c, 0, DPC_SET, &k, val, VAL_LEN, 0, 0, 0, NULL) ==
			       DPC_NOSPACE) {
				nospace++;
				urcu_qsbr_quiescent_state();
			}
		}
		urcu_qsbr_quiescent_state();
	}
	struct dpc_store_stats st;

	dpc_cache_stats(c, 0, &st);
	*items_out = st.items;
	*nospace_out = nospace;
	dpc_cache_free(c);
	return counted ? (double)hits / (double)counted : 0;
}

int main(int argc, char **argv)
{
	uint32_t n = 1000000;
	uint64_t reqs = 10000000;
	double alpha = 0.99;
	const char *json = NULL;
	bool store = true;
	static const double fracs[] = { 0.01, 0.05, 0.10, 0.25 };
	static const struct option opts[] = {
		{ "keys", required_argument, NULL, 'k' },
		{ "requests", required_argument, NULL, 'r' },
		{ "alpha", required_argument, NULL, 'a' },
		{ "json", required_argument, NULL, 'j' },
		{ "no-store", no_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int o;

	while ((o = getopt_long(argc, argv, "k:r:a:j:nh", opts, NULL)) != -1) {
		switch (o) {
		case 'k': n = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'r': reqs = strtoull(optarg, NULL, 10); break;
		case 'a': alpha = strtod(optarg, NULL); break;
		case 'j': json = optarg; break;
		case 'n': store = false; break;
		default:
			fprintf(stderr, "usage: %s [--keys N] [--requests R] [--alpha A] [--json FILE] "
				"[--no-store]\n", argv[0]);
			return o == 'h' ? 0 : 2;
		}
	}
	if (n < 100 || reqs < 1000 || alpha <= 0) {
		fprintf(stderr, "bad arguments\n");
		return 2;
	}
	uint64_t warm = reqs / 5;
	uint32_t *tr = make_trace(n, reqs, alpha);
	enum { NS = 3 };
	static const enum dpc_evict_policy spol[NS] = { DPC_EVICT_FIFO, DPC_EVICT_CLOCK,
							DPC_EVICT_S3FIFO };
	static const char *const sname[NS] = { "store FIFO", "store CLOCK", "store S3-FIFO" };
	double res[4][P_N + NS];
	uint64_t sitems[4][NS], snosp[4][NS];

	urcu_qsbr_register_thread();
	printf("Zipf(%.2f), %u keys, %llu requests (first %llu warm-up), hit ratio in %%\n", alpha, n,
	       (unsigned long long)reqs, (unsigned long long)warm);
	printf("%-8s", "cache");
	for (int p = 0; p < P_N; p++)
		printf(" %13s", pol_name[p]);
	if (store)
		for (int s = 0; s < NS; s++)
			printf(" %13s", sname[s]);
	printf("\n");
	for (int f = 0; f < 4; f++) {
		uint64_t cap = (uint64_t)(fracs[f] * n);

		printf("%6.0f %%", fracs[f] * 100);
		for (int p = 0; p < P_N; p++) {
			res[f][p] = simulate((enum pol)p, tr, reqs, warm, n, cap);
			printf(" %13.2f", 100 * res[f][p]);
			fflush(stdout);
		}
		for (int s = 0; store && s < NS; s++) {
			res[f][P_N + s] = run_store(spol[s], tr, reqs, warm, cap, &sitems[f][s],
						    &snosp[f][s]);
			printf(" %13.2f", 100 * res[f][P_N + s]);
			fflush(stdout);
		}
		printf("\n");
		if (store)
			printf("         (store items at end: FIFO %llu, CLOCK %llu, S3-FIFO %llu of %llu "
			       "target; transient nospace %llu / %llu / %llu)\n",
			       (unsigned long long)sitems[f][0], (unsigned long long)sitems[f][1],
			       (unsigned long long)sitems[f][2], (unsigned long long)cap,
			       (unsigned long long)snosp[f][0], (unsigned long long)snosp[f][1],
			       (unsigned long long)snosp[f][2]);
	}
	if (json) {
		FILE *fp = fopen(json, "w");

		if (fp == NULL) {
			perror(json);
			return 1;
		}
		fprintf(fp, "{\"benchmark\":\"evict_sim\",\"alpha\":%.3f,\"keys\":%u,\"requests\":%llu,"
			"\"results\":[", alpha, n, (unsigned long long)reqs);
		for (int f = 0; f < 4; f++) {
			fprintf(fp, "%s{\"cache_fraction\":%.2f", f ? "," : "", fracs[f]);
			for (int p = 0; p < P_N; p++)
				fprintf(fp, ",\"%s\":%.5f", pol_name[p], res[f][p]);
			for (int s = 0; store && s < NS; s++)
				fprintf(fp, ",\"%s\":%.5f", sname[s], res[f][P_N + s]);
			fprintf(fp, "}");
		}
		fprintf(fp, "]}\n");
		fclose(fp);
	}
	urcu_qsbr_unregister_thread();
	free(tr);
	return 0;
}
