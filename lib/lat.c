/* SPDX-License-Identifier: BSD-3-Clause */
/* In-server latency histograms: creation and the readers' merge (lat.h). */
#include <errno.h>
#include <string.h>

#include "dpcache/lat.h"

const char *const dpc_lat_names[DPC_LAT_NPCTS] = {
#define DPC_X_LAT_NAME(name, pct) #name,
	DPC_LAT_PCTS(DPC_X_LAT_NAME)
#undef DPC_X_LAT_NAME
};

const double dpc_lat_pcts[DPC_LAT_NPCTS] = {
#define DPC_X_LAT_PCT(name, pct) pct,
	DPC_LAT_PCTS(DPC_X_LAT_PCT)
#undef DPC_X_LAT_PCT
};

struct dpc_hist *dpc_lat_create(void)
{
	return dpc_hist_create(DPC_LAT_MAX_NS, DPC_LAT_SUB_BITS);
}

int dpc_lat_summarize(struct dpc_hist *const *hists, unsigned n, struct dpc_lat_summary *out)
{
	struct dpc_hist *m;

	memset(out, 0, sizeof(*out));
	m = dpc_lat_create();
	if (m == NULL)
		return -ENOMEM;
	for (unsigned i = 0; hists != NULL && i < n; i++)
		if (hists[i] != NULL)
			(void)dpc_hist_merge_shared(m, hists[i]);
	out->samples = dpc_hist_count(m);
	for (unsigned i = 0; i < DPC_LAT_NPCTS; i++)
		out->ns[i] = dpc_hist_percentile(m, dpc_lat_pcts[i]);
	out->max_ns = dpc_hist_max(m);
	dpc_hist_free(m);
	return 0;
}
