/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file lat.h
 * In-server latency: for every request, the time from the start of the
 * RX burst that carried it to the TX burst that sent its reply, measured
 * by its worker with one TSC read per burst (every request of a burst
 * gets the burst's figure), in ns, into a log-linear histogram (hist.h)
 * per worker.  Single writer: the worker, with dpc_lat_record(); readers
 * on other threads (the control thread, a worker answering STAT) merge
 * the histograms with dpc_lat_summarize() while they are written.
 * Cumulative since start, like the counters.
 */
#ifndef DPCACHE_LAT_H
#define DPCACHE_LAT_H

#include <stdint.h>

#include "dpcache/hist.h"

/** Percentiles reported, defined once: X(name, percentile).  Names: latency_<name>_ns. */
#define DPC_LAT_PCTS(X) \
	X(p50,   50.0) \
	X(p99,   99.0) \
	X(p99_9, 99.9)

enum {
#define DPC_X_LAT_N(name, pct) +1
	DPC_LAT_NPCTS = 0 DPC_LAT_PCTS(DPC_X_LAT_N)
#undef DPC_X_LAT_N
};

/** Largest figure kept (10 ms); longer ones count as 10 ms. */
#define DPC_LAT_MAX_NS 10000000ull
/** Sub-bucket bits: percentiles are upper bounds within 2^-5 (3.1 %). */
#define DPC_LAT_SUB_BITS 5u

extern const char *const dpc_lat_names[DPC_LAT_NPCTS];   /**< "p50", "p99", "p99_9" */
extern const double dpc_lat_pcts[DPC_LAT_NPCTS];         /**< 50, 99, 99.9 */

/** A worker's histogram; NULL + errno.  Free with dpc_hist_free(). */
struct dpc_hist *dpc_lat_create(void);

/** Owner only (the worker): @p n requests answered @p ns after their RX burst began. */
static inline void dpc_lat_record(struct dpc_hist *h, uint64_t ns, uint64_t n)
{
	dpc_hist_record_n_shared(h, ns, n);
}

struct dpc_lat_summary {
	uint64_t samples;                 /**< requests measured */
	uint64_t ns[DPC_LAT_NPCTS];       /**< the percentiles of DPC_LAT_PCTS, 0 if no sample */
	uint64_t max_ns;
};

/**
 * Any thread: merge @p hists[0..n) (NULL entries skipped) while their
 * workers write them, into @p out.  Allocates one histogram for the
 * merge (cold path).  0, or -ENOMEM (out zeroed).
 */
int dpc_lat_summarize(struct dpc_hist *const *hists, unsigned n, struct dpc_lat_summary *out);

#endif /* DPCACHE_LAT_H */
