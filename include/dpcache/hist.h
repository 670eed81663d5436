/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file hist.h
 * Log-linear latency histogram (HdrHistogram-like): values are binned in
 * power-of-two ranges each split into 2^sub_bits linear sub-buckets, so the
 * relative error of any reported percentile is at most 2^-sub_bits
 * (sub_bits = 7: < 0.8 %).  Recording is a few integer ops, no allocation.
 * One writer per histogram; merge per-thread histograms for reporting
 * (after the writer stopped, or with the _shared variants while it runs).
 */
#ifndef DPCACHE_HIST_H
#define DPCACHE_HIST_H

#include <stdint.h>
#include <stdio.h>

struct dpc_hist;

/** Create for values 0..max_value (e.g. ns); NULL + errno on failure. */
struct dpc_hist *dpc_hist_create(uint64_t max_value, unsigned sub_bits);
void dpc_hist_free(struct dpc_hist *h);
void dpc_hist_reset(struct dpc_hist *h);
/** Record one value (values above max are clamped to max and counted as such). */
void dpc_hist_record(struct dpc_hist *h, uint64_t v);
void dpc_hist_record_n(struct dpc_hist *h, uint64_t v, uint64_t n);
/** Add @p src into @p dst (same geometry); 0 or -EINVAL. */
int dpc_hist_merge(struct dpc_hist *dst, const struct dpc_hist *src);
/*
 * A histogram that other threads read while its one writer records (a
 * worker's, read by the control thread): the writer uses
 * dpc_hist_record_n_shared() (atomic loads and stores of each field, no
 * read-modify-write: the same plain moves on x86; the bin is stored last,
 * with release), a reader dpc_hist_merge_shared() (the bins with acquire,
 * so min and max cover every value counted).  A reader may see a record
 * half done (the total counted, the bin not yet): the merge takes the
 * count from the bins it read, so percentiles stay consistent; the mean
 * may lag by one record.  Never mix with the plain record/merge on one
 * histogram.
 */
/** Writer side: as dpc_hist_record_n(), for a histogram that is read concurrently. */
void dpc_hist_record_n_shared(struct dpc_hist *h, uint64_t v, uint64_t n);
/** Writer side: as dpc_hist_reset(), for a histogram that is read concurrently. */
void dpc_hist_reset_shared(struct dpc_hist *h);
/** Reader side: add @p src (being written concurrently) into the private @p dst; 0 or -EINVAL. */
int dpc_hist_merge_shared(struct dpc_hist *dst, const struct dpc_hist *src);
uint64_t dpc_hist_count(const struct dpc_hist *h);
/** How many recorded values were above max_value (they count as max_value). */
uint64_t dpc_hist_clamped(const struct dpc_hist *h);
uint64_t dpc_hist_min(const struct dpc_hist *h);
uint64_t dpc_hist_max(const struct dpc_hist *h);
double dpc_hist_mean(const struct dpc_hist *h);
/** Value at percentile @p p (0..100): an upper bound within the relative error. 0 if empty. */
uint64_t dpc_hist_percentile(const struct dpc_hist *h, double p);
/** Relative error bound of this histogram (2^-sub_bits). */
double dpc_hist_rel_error(const struct dpc_hist *h);

#endif /* DPCACHE_HIST_H */
