/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Live fraction and hit ratio of the real store (one partition) at equal
 * memory, on the workload of the memory-efficiency comparison:
 *
 *   live_sim [--keys N (2000000)] [--requests R (20000000)] [--zipf S (0.99)]
 *            [--memory MiB (64)] [--value B (200)] [--value-min B (0: fixed)] [--get-ratio G (0.9)]
 *            [--fill-on-miss] [--hint B (64)] [--policy fifo|clock|s3fifo] [--json FILE]
 *            [--prefill] [--max-value B (1048576: the largest value, sizes the reserve)]
 *
 * Each request draws a key (Zipf over ranks scattered over the key space);
 * with probability G it is a GET, otherwise a SET of that key; with
 * --fill-on-miss a GET miss is followed by a SET of the key (look-aside
 * caching).  With --prefill every key is first SET once, in key order (as
 * dpcache-bench --prefill before perf/memory.sh's short runs, which then
 * measure the cache on its way from that state).  The last half of the
 * requests is measured.  Reports hit
 * ratio, items held, bytes per item (memory / items) and the live fraction
 * of the log (live item bytes / log bytes), read from dpc_cache_stats().
 */
#include <getopt.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <urcu/urcu-qsbr.h>

#include "dpcache/hash.h"
#include "dpcache/store.h"
#include "workload.h"

struct wl {
	uint32_t keys;
	uint64_t reqs;
	double zipf, get_ratio;
	bool fill, prefill;
	enum dpc_evict_policy pol;
	uint64_t mem;
	unsigned vlen, vmin, hint;   /* vmin > 0: each key's value vmin..vlen bytes, log-uniform */
	unsigned max_value;          /* the store's largest value (sizes the log's reserve) */
};

static uint64_t rng_s = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	return perf_rng_next(&rng_s);
}

static double *cdf;
static uint64_t perm_mul;

static void zipf_init(const struct wl *w)
{
	double sum;

	cdf = perf_zipf_cdf(w->keys, w->zipf, &sum);
	if (cdf == NULL)
		exit(1);
	for (uint32_t i = 0; i < w->keys; i++)
		cdf[i] /= sum;
	perm_mul = 2654435761u % w->keys;
	while (perm_mul < 2)
		perm_mul++;
}

static uint32_t draw(const struct wl *w)
{
	uint32_t lo = perf_cdf_rank(cdf, w->keys, perf_unit(rnd()));

	return (uint32_t)((lo * perm_mul) % w->keys);
}

static void key_fmt(char k[16], uint32_t i)
{
	static const char hx[] = "0123456789abcdef";

	k[0] = 'k';
	for (int p = 15; p >= 1; p--) {
		k[p] = hx[i & 15];
		i >>= 4;
	}
}

struct res {
	double hit;
	uint64_t lost;      /* SETs still refused after 100 ms of retries */
	struct dpc_store_stats st;   /* the store's own counters at the end (nospace: refused
				      * write attempts, each retried here) */
};

/* Value length of key @p i: fixed, or log-uniform over [vmin, vlen] by a hash of the key
 * (as dpcache-bench --value-size MIN-MAX: a key keeps its size). */
static uint32_t vlen_of(const struct wl *w, uint32_t i)
{
	if (w->vmin == 0)
		return w->vlen;
	double u = (double)((((uint64_t)i + 1) * 0x9e3779b97f4a7c15ull) >> 11) / 9007199254740992.0;

	return (uint32_t)lround(w->vmin * exp(u * log((double)w->vlen / w->vmin)));
}

/*
 * A SET, tried again while the store says "no space" (its log's head waits
 * for a grace period of the reclaimer thread).  This loop runs the store
 * tens of times faster than a server's clients do, so that the reclaimer,
 * which wakes every millisecond, falls behind it; waiting for it (up to
 * 100 ms) measures the policy, not that lag.  *lost counts SETs given up.
 */
static void set_retry(struct dpc_cache *c, const struct dpc_key *k, const uint8_t *val,
		      uint32_t vlen, uint64_t *lost)
{
	for (int tries = 0; tries < 10000; tries++) {
		if (dpc_store_set(c, 0, DPC_SET, k, val, vlen, 0, 0, 0, NULL) != DPC_NOSPACE)
			return;
		urcu_qsbr_quiescent_state();
		if (tries >= 100)
			usleep(10);
	}
	(*lost)++;
}

static void run_store(const struct wl *w, struct res *out)
{
	struct dpc_cache_params prm = {
		.nparts = 1, .mem_bytes = w->mem, .item_size_hint = w->hint, .max_value = w->max_value,
		.policy = w->pol, .numa_socket = -1,
	};
	struct dpc_cache *c = dpc_cache_create(&prm);
	uint64_t hits = 0, gets = 0, lost = 0;
	uint8_t *val = malloc(w->vlen + 1);
	char key[16];

	if (c == NULL || val == NULL) {
		perror("dpc_cache_create");
		exit(1);
	}
	memset(val, 'v', w->vlen);
	rng_s = 0x9e3779b97f4a7c15ull;
	for (uint32_t ki = 0; w->prefill && ki < w->keys; ki++) {
		struct dpc_key k = { .data = key, .len = 16 };

		key_fmt(key, ki);
		k.hash = dpc_hash(key, 16);
		set_retry(c, &k, val, vlen_of(w, ki), &lost);
		if ((ki & 63) == 0) {
			dpc_store_maintain(c, 0, 64);
			urcu_qsbr_quiescent_state();
		}
	}
	for (uint64_t r = 0; r < w->reqs; r++) {
		uint32_t ki = draw(w);
		struct dpc_key k = { .data = key, .len = 16 };
		struct dpc_item_view v;
		bool set = (double)(rnd() >> 11) * (1.0 / 9007199254740992.0) >= w->get_ratio;

		key_fmt(key, ki);
		k.hash = dpc_hash(key, 16);
		if (!set) {
			bool hit = dpc_cache_get(c, &k, &v) == DPC_OK;

			if (r >= w->reqs / 2) {
				gets++;
				hits += hit;
			}
			set = !hit && w->fill;
		}
		if (set)
			set_retry(c, &k, val, vlen_of(w, ki), &lost);
		if ((r & 63) == 0) {
			dpc_store_maintain(c, 0, 64);
			urcu_qsbr_quiescent_state();
		}
	}
	dpc_cache_stats(c, 0, &out->st);
	out->hit = gets ? (double)hits / (double)gets : 0;
	out->lost = lost;
	dpc_cache_free(c);
	free(val);
}

int main(int argc, char **argv)
{
	struct wl w = { .keys = 2000000, .reqs = 20000000, .zipf = 0.99, .get_ratio = 0.9,
			.mem = 64ull << 20, .vlen = 200, .hint = 64, .pol = DPC_EVICT_CLOCK,
			.max_value = 1u << 20 };
	const char *json = NULL;
	static const struct option opts[] = {
		{ "keys", required_argument, NULL, 'k' },
		{ "requests", required_argument, NULL, 'r' },
		{ "zipf", required_argument, NULL, 'z' },
		{ "memory", required_argument, NULL, 'm' },
		{ "value", required_argument, NULL, 'v' },
		{ "value-min", required_argument, NULL, 'V' },
		{ "get-ratio", required_argument, NULL, 'g' },
		{ "fill-on-miss", no_argument, NULL, 'f' },
		{ "hint", required_argument, NULL, 'H' },
		{ "policy", required_argument, NULL, 'p' },
		{ "json", required_argument, NULL, 'j' },
		{ "prefill", no_argument, NULL, 'P' },
		{ "max-value", required_argument, NULL, 'M' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int o;

	while ((o = getopt_long(argc, argv, "k:r:z:m:v:V:g:fH:p:j:PM:h", opts, NULL)) != -1) {
		switch (o) {
		case 'k': w.keys = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'r': w.reqs = strtoull(optarg, NULL, 10); break;
		case 'z': w.zipf = strtod(optarg, NULL); break;
		case 'm': w.mem = strtoull(optarg, NULL, 10) << 20; break;
		case 'v': w.vlen = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'V': w.vmin = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'g': w.get_ratio = strtod(optarg, NULL); break;
		case 'f': w.fill = true; break;
		case 'H': w.hint = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'p':
			w.pol = strcmp(optarg, "fifo") == 0 ? DPC_EVICT_FIFO :
				strcmp(optarg, "s3fifo") == 0 ? DPC_EVICT_S3FIFO : DPC_EVICT_CLOCK;
			break;
		case 'j': json = optarg; break;
		case 'P': w.prefill = true; break;
		case 'M': w.max_value = (unsigned)strtoul(optarg, NULL, 10); break;
		default:
			fprintf(stderr, "usage: %s [--keys N] [--requests R] [--zipf S] [--memory MiB] "
				"[--value B] [--value-min B] [--get-ratio G] [--fill-on-miss] [--hint B] "
				"[--policy fifo|clock|s3fifo] [--json FILE] [--prefill] [--max-value B]\n",
				argv[0]);
			return o == 'h' ? 0 : 2;
		}
	}
	if (w.keys < 100 || w.reqs < 1000 || w.zipf <= 0 || w.vlen == 0 || w.vlen > (1u << 20) ||
	    w.vmin > w.vlen || w.max_value < w.vlen) {
		fprintf(stderr, "bad arguments\n");
		return 2;
	}
	zipf_init(&w);
	urcu_qsbr_register_thread();

	struct res r;

	run_store(&w, &r);
	double live = r.st.log_bytes ? (double)r.st.bytes_used / (double)r.st.log_bytes : 0;

	printf("store (%s): %u keys%s, Zipf %.2f, %.0f %% GET%s, %u%s%.0u B values, %llu MiB: "
	       "hits %.2f %%, "
	       "items %llu, %.1f B/item of memory, live %.1f MB in a %.1f MB log = %.1f %% "
	       "(%.1f %% of the %.1f MB outside the reserve); %llu refused write attempts, %llu SETs lost\n",
	       w.pol == DPC_EVICT_FIFO ? "fifo" : w.pol == DPC_EVICT_S3FIFO ? "s3fifo" : "clock",
	       w.keys, w.prefill ? " prefilled" : "", w.zipf, 100 * w.get_ratio,
	       w.fill ? " + fill on miss" : "",
	       w.vmin ? w.vmin : w.vlen, w.vmin ? ".." : "", w.vmin ? w.vlen : 0u,
	       (unsigned long long)(w.mem >> 20), 100 * r.hit,
	       (unsigned long long)r.st.items, r.st.items ? (double)w.mem / (double)r.st.items : 0,
	       (double)r.st.bytes_used / 1e6, (double)r.st.log_bytes / 1e6, 100 * live,
	       r.st.bytes_limit ? 100.0 * (double)r.st.bytes_used / (double)r.st.bytes_limit : 0,
	       (double)r.st.bytes_limit / 1e6, (unsigned long long)r.st.nospace,
	       (unsigned long long)r.lost);
	printf("store counters: evictions %llu, second chances %llu, small to main %llu, "
	       "ghost hits %llu, index evictions %llu, holes %.1f MB recorded, %llu reused\n",
	       (unsigned long long)r.st.evictions, (unsigned long long)r.st.reinserted,
	       (unsigned long long)r.st.small_to_main, (unsigned long long)r.st.ghost_hits,
	       (unsigned long long)r.st.index_evictions, (double)r.st.hole_bytes / 1e6,
	       (unsigned long long)r.st.holes_reused);
	if (json) {
		FILE *fp = fopen(json, "w");

		if (fp == NULL) {
			perror(json);
			return 1;
		}
		fprintf(fp, "{\"benchmark\":\"live_sim\",\"keys\":%u,\"requests\":%llu,\"zipf\":%.3f,"
			"\"get_ratio\":%.3f,\"fill_on_miss\":%s,\"prefill\":%s,\"value\":%u,\"memory\":%llu,"
			"\"hit_ratio\":%.5f,\"items\":%llu,\"live_bytes\":%llu,\"log_bytes\":%llu,"
			"\"live_fraction\":%.5f,\"nospace\":%llu,\"lost\":%llu}\n",
			w.keys, (unsigned long long)w.reqs, w.zipf, w.get_ratio,
			w.fill ? "true" : "false", w.prefill ? "true" : "false", w.vlen,
			(unsigned long long)w.mem, r.hit,
			(unsigned long long)r.st.items, (unsigned long long)r.st.bytes_used,
			(unsigned long long)r.st.log_bytes, live, (unsigned long long)r.st.nospace,
			(unsigned long long)r.lost);
		fclose(fp);
	}
	urcu_qsbr_unregister_thread();
	free(cdf);
	return 0;
}
