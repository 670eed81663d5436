/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Names, units and help texts of the per-worker counters, generated from
 * the X-macro list in stats.h (nothing else lists counters).
 */
#include "dpcache/stats.h"

const char *const dpc_stat_names[] = {
#define DPC_X_NAME(name, unit, help) #name,
	DPC_WORKER_STATS(DPC_X_NAME)
#undef DPC_X_NAME
};

const char *const dpc_stat_units[] = {
#define DPC_X_UNIT(name, unit, help) unit,
	DPC_WORKER_STATS(DPC_X_UNIT)
#undef DPC_X_UNIT
};

const char *const dpc_stat_help[] = {
#define DPC_X_HELP(name, unit, help) help,
	DPC_WORKER_STATS(DPC_X_HELP)
#undef DPC_X_HELP
};

static_assert(sizeof(dpc_stat_names) / sizeof(dpc_stat_names[0]) == DPC_WORKER_STATS_N,
	      "one name per counter");

/* Byte offset of each counter in struct dpc_worker_stats, same order as the names. */
static const size_t dpc_stat_offsets[] = {
#define DPC_X_OFF(name, unit, help) offsetof(struct dpc_worker_stats, name),
	DPC_WORKER_STATS(DPC_X_OFF)
#undef DPC_X_OFF
};

uint64_t dpc_stat_get(const struct dpc_worker_stats *s, unsigned i)
{
	if (i >= DPC_WORKER_STATS_N)
		return 0;
	const _Atomic uint64_t *c = (const _Atomic uint64_t *)(const void *)((const char *)s +
									     dpc_stat_offsets[i]);
	return atomic_load_explicit(c, memory_order_relaxed);
}
