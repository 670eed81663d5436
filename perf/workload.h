/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Workload pieces shared by the in-process benchmarks (evict_sim, live_sim,
 * reclaim_bench, table_bench; every .c file in perf/ is a tool of its own, so this is a
 * header of static inline functions): the xorshift64* generator, a
 * monotonic clock, and Zipf popularity by inverse CDF.
 *
 * No state of its own: each tool keeps its generator state (and seed) and
 * its own mapping of ranks to keys, so that a tool's results for a given
 * seed are what they were before these pieces were shared.  Single-threaded
 * use; nothing here is safe to share between threads without a state each.
 */
#ifndef DPC_PERF_WORKLOAD_H
#define DPC_PERF_WORKLOAD_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

/* xorshift64* (Marsaglia's xorshift, Vigna's multiplier): advances *s (never 0) and returns a value. */
static inline uint64_t perf_rng_next(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dull;
}

/* A uniform double in [0, 1) from the top 53 bits of a generator value. */
static inline double perf_unit(uint64_t x)
{
	return (double)(x >> 11) * (1.0 / 9007199254740992.0);
}

/* CLOCK_MONOTONIC in seconds. */
static inline double perf_now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/*
 * Zipf(alpha) over ranks 0..n-1 (n >= 1): cdf[i] = sum over r <= i of
 * 1 / (r + 1)^alpha, not normalised; *sum receives cdf[n - 1].  Returns
 * the array (malloc'd: the caller frees it), or NULL when out of memory.
 */
static inline double *perf_zipf_cdf(uint32_t n, double alpha, double *sum)
{
	double *cdf = malloc(sizeof(double) * n);
	double s = 0;

	if (cdf == NULL)
		return NULL;
	for (uint32_t i = 0; i < n; i++) {
		s += 1.0 / pow((double)(i + 1), alpha);
		cdf[i] = s;
	}
	*sum = s;
	return cdf;
}

/* Inverse CDF: the first rank i with cdf[i] >= u (n - 1 when none is: u past the end). */
static inline uint32_t perf_cdf_rank(const double *cdf, uint32_t n, double u)
{
	uint32_t lo = 0, hi = n - 1;

	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;

		if (cdf[mid] < u)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

#endif /* DPC_PERF_WORKLOAD_H */
