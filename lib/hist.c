/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Log-linear histogram.  With S = sub_bits:
 *   v < 2^S                 -> bin v (exact)
 *   v in [2^(S+e), 2^(S+e+1)) -> bin ((e+1) << S) + (v >> e) - 2^S   (width 2^e)
 * so a bin's width is at most 2^-S of any value in it, and reporting a
 * bin's highest value overstates the true value by less than that ratio.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "dpcache/common.h"
#include "dpcache/hist.h"

struct dpc_hist {
	uint64_t max_value;
	unsigned sub_bits;
	unsigned nbins;
	uint64_t count;
	uint64_t clamped;        /**< values recorded above max_value */
	uint64_t min, max;       /**< of recorded (clamped) values */
	unsigned __int128 sum;   /**< exact, for the mean */
	uint64_t bins[];
};

static inline unsigned msb64(uint64_t v)
{
	return 63u - (unsigned)__builtin_clzll(v);
}

static inline unsigned bin_of(unsigned s, uint64_t v)
{
	unsigned e;

	if (v < (1ull << s))
		return (unsigned)v;
	e = msb64(v) - s;
	return ((e + 1) << s) + (unsigned)((v >> e) - (1ull << s));
}

/* Highest value that falls in bin @p b. */
static inline uint64_t bin_high(unsigned s, unsigned b)
{
	unsigned e;
	uint64_t m;

	if (b < (1u << s))
		return b;
	e = (b >> s) - 1;
	m = (b & ((1u << s) - 1)) + (1ull << s);
	return (m << e) + ((1ull << e) - 1);
}

struct dpc_hist *dpc_hist_create(uint64_t max_value, unsigned sub_bits)
{
	struct dpc_hist *h;
	unsigned nbins;

	if (max_value == 0 || sub_bits < 1 || sub_bits > 20) {
		errno = EINVAL;
		return NULL;
	}
	nbins = bin_of(sub_bits, max_value) + 1;
	h = calloc(1, sizeof(*h) + (size_t)nbins * sizeof(h->bins[0]));
	if (h == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	h->max_value = max_value;
	h->sub_bits = sub_bits;
	h->nbins = nbins;
	dpc_hist_reset(h);
	return h;
}

void dpc_hist_free(struct dpc_hist *h)
{
	free(h);
}

void dpc_hist_reset(struct dpc_hist *h)
{
	memset(h->bins, 0, (size_t)h->nbins * sizeof(h->bins[0]));
	h->count = 0;
	h->clamped = 0;
	h->min = UINT64_MAX;
	h->max = 0;
	h->sum = 0;
}

void dpc_hist_record_n(struct dpc_hist *h, uint64_t v, uint64_t n)
{
	if (n == 0)
		return;
	if (dpc_unlikely(v > h->max_value)) {
		v = h->max_value;
		h->clamped += n;
	}
	h->bins[bin_of(h->sub_bits, v)] += n;
	h->count += n;
	h->sum += (unsigned __int128)v * n;
	if (v < h->min)
		h->min = v;
	if (v > h->max)
		h->max = v;
}

void dpc_hist_record(struct dpc_hist *h, uint64_t v)
{
	dpc_hist_record_n(h, v, 1);
}

int dpc_hist_merge(struct dpc_hist *dst, const struct dpc_hist *src)
{
	unsigned i;

	if (dst->sub_bits != src->sub_bits || dst->max_value != src->max_value)
		return -EINVAL;
	for (i = 0; i < dst->nbins; i++)
		dst->bins[i] += src->bins[i];
	dst->count += src->count;
	dst->clamped += src->clamped;
	dst->sum += src->sum;
	if (src->count != 0) {
		if (src->min < dst->min)
			dst->min = src->min;
		if (src->max > dst->max)
			dst->max = src->max;
	}
	return 0;
}

/* Relaxed atomic accesses to plain fields (GCC builtins: valid on non-_Atomic objects). */
#define LD(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#define ST(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)

/*
 * The 128-bit sum as two 64-bit halves (no lock-free 16-byte atomics): a
 * reader can tear it only when the low half wraps, which moves the mean
 * of that one read.
 */
static inline uint64_t *sum_halves(struct dpc_hist *h)
{
	return (uint64_t *)(void *)&h->sum;
}

static inline const uint64_t *sum_halves_c(const struct dpc_hist *h)
{
	return (const uint64_t *)(const void *)&h->sum;
}

void dpc_hist_record_n_shared(struct dpc_hist *h, uint64_t v, uint64_t n)
{
	uint64_t *sh = sum_halves(h), lo, add;

	if (n == 0)
		return;
	if (dpc_unlikely(v > h->max_value)) {
		v = h->max_value;
		ST(&h->clamped, LD(&h->clamped) + n);
	}
	/* min and max before the bin: a reader that sees the bin sees them too */
	if (v < LD(&h->min))
		ST(&h->min, v);
	if (v > LD(&h->max))
		ST(&h->max, v);
	/* x86-64 is little-endian: sh[0] is the low half */
	unsigned __int128 prod = (unsigned __int128)v * n;

	add = (uint64_t)prod;
	lo = LD(&sh[0]) + add;
	ST(&sh[1], LD(&sh[1]) + (uint64_t)(prod >> 64) + (lo < add));
	ST(&sh[0], lo);
	ST(&h->count, LD(&h->count) + n);
	uint64_t *bin = &h->bins[bin_of(h->sub_bits, v)];

	/* Release: pairs with the reader's acquire load of the bin (a plain mov on x86). */
	__atomic_store_n(bin, LD(bin) + n, __ATOMIC_RELEASE);
}

void dpc_hist_reset_shared(struct dpc_hist *h)
{
	for (unsigned i = 0; i < h->nbins; i++)
		ST(&h->bins[i], 0);
	ST(&h->count, 0);
	ST(&h->clamped, 0);
	ST(&sum_halves(h)[0], 0);
	ST(&sum_halves(h)[1], 0);
	ST(&h->max, 0);
	ST(&h->min, UINT64_MAX);
}

int dpc_hist_merge_shared(struct dpc_hist *dst, const struct dpc_hist *src)
{
	uint64_t count = 0, mn, mx, lo, hi;

	if (dst->sub_bits != src->sub_bits || dst->max_value != src->max_value)
		return -EINVAL;
	for (unsigned i = 0; i < dst->nbins; i++) {
		/* Acquire: pairs with the writer's release store; min/max read below cover it. */
		uint64_t b = __atomic_load_n(&src->bins[i], __ATOMIC_ACQUIRE);

		dst->bins[i] += b;
		count += b;
	}
	dst->count += count;
	dst->clamped += LD(&src->clamped);
	lo = LD(&sum_halves_c(src)[0]);
	hi = LD(&sum_halves_c(src)[1]);
	dst->sum += ((unsigned __int128)hi << 64) | lo;
	mn = LD(&src->min);
	mx = LD(&src->max);
	if (count != 0) {
		if (mn < dst->min)
			dst->min = mn;
		if (mx > dst->max)
			dst->max = mx;
	}
	return 0;
}

uint64_t dpc_hist_count(const struct dpc_hist *h)
{
	return h->count;
}

uint64_t dpc_hist_clamped(const struct dpc_hist *h)
{
	return h->clamped;
}

uint64_t dpc_hist_min(const struct dpc_hist *h)
{
	return h->count ? h->min : 0;
}

uint64_t dpc_hist_max(const struct dpc_hist *h)
{
	return h->max;
}

double dpc_hist_mean(const struct dpc_hist *h)
{
	return h->count ? (double)h->sum / (double)h->count : 0.0;
}

uint64_t dpc_hist_percentile(const struct dpc_hist *h, double p)
{
	uint64_t rank, cum = 0;
	double r;
	unsigned i;

	if (h->count == 0)
		return 0;
	if (!(p > 0.0))
		return h->min;
	if (p >= 100.0)
		return h->max;
	/* Smallest value with at least ceil(p% of count) values at or below it. */
	r = p / 100.0 * (double)h->count;
	rank = (uint64_t)r;
	if ((double)rank < r)
		rank++;
	if (rank == 0)
		rank = 1;
	for (i = 0; i < h->nbins; i++) {
		cum += h->bins[i];
		if (cum >= rank) {
			uint64_t v = bin_high(h->sub_bits, i);

			/* Never report beyond what was seen (keeps p100 exact). */
			if (v > h->max)
				v = h->max;
			if (v < h->min)
				v = h->min;
			return v;
		}
	}
	return h->max;
}

double dpc_hist_rel_error(const struct dpc_hist *h)
{
	return 1.0 / (double)(1u << h->sub_bits);
}
