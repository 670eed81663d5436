/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The forwarding rings' admission, cold half: allocation, the shares, and
 * the pool's share of them.  The hot half (enqueue, taken) is inline in
 * fwd.h; docs/design.md, "Forwarding rings", has the arithmetic.
 */
#include <errno.h>

#include <rte_malloc.h>
#include <rte_random.h>

#include "dp.h"

/* Chained mbufs one producer may have in one consumer's inbox. */
static uint32_t chain_share(const struct dpc_config *cfg, unsigned nworkers)
{
	uint32_t per = nworkers > 1 ? cfg->ring_chain_mbufs / (nworkers - 1) : cfg->ring_chain_mbufs;

	/* one maximal datagram always fits */
	return per > cfg->reasm_max_frags ? per : cfg->reasm_max_frags;
}

unsigned dpc_fwd_pool_mbufs(const struct dpc_config *cfg, unsigned nworkers)
{
	if (nworkers < 2 || cfg->reasm_entries == 0)
		return 0; /* nothing is forwarded, or no chain is ever made */
	return (nworkers - 1) * chain_share(cfg, nworkers);
}

void dpc_fwd_share_update(struct dpc_worker *w, uint32_t pct)
{
	/* usable ring entries: ring_size - 1; split over the workers that forward into it */
	uint64_t s = (uint64_t)(w->cfg->ring_size - 1) * pct / 100 /
		     (w->nworkers > 1 ? w->nworkers - 1 : 1);

	w->fwd.share = pct >= 100 ? UINT32_MAX : s < 1 ? 1 : (uint32_t)s; /* 100: no bound */
	w->fwd.share_pct = pct;
}

int dpc_fwd_init(struct dpc_worker *w, const struct dpc_config *cfg, unsigned nworkers)
{
	struct dpc_fwd *f = &w->fwd;
	size_t slots = (size_t)nworkers * DPC_FWD_SLOTS;

	f->sent = rte_zmalloc("dpc_fwd", slots * sizeof(*f->sent), RTE_CACHE_LINE_SIZE);
	f->sent_mbufs = rte_zmalloc("dpc_fwd", nworkers * sizeof(*f->sent_mbufs), RTE_CACHE_LINE_SIZE);
	f->done = rte_zmalloc("dpc_fwd", slots * sizeof(*f->done), RTE_CACHE_LINE_SIZE);
	f->done_mbufs = rte_zmalloc("dpc_fwd", nworkers * sizeof(*f->done_mbufs), RTE_CACHE_LINE_SIZE);
	if (f->sent == NULL || f->sent_mbufs == NULL || f->done == NULL || f->done_mbufs == NULL) {
		dpc_fwd_fini(w);
		return -ENOMEM;
	}
	f->seed = (uint32_t)rte_rand();
	f->chain_share = chain_share(cfg, nworkers);
	dpc_fwd_share_update(w, cfg->ring_source_share);
	return 0;
}

void dpc_fwd_fini(struct dpc_worker *w)
{
	struct dpc_fwd *f = &w->fwd;

	rte_free(f->sent);
	rte_free(f->sent_mbufs);
	rte_free((void *)f->done);
	rte_free((void *)f->done_mbufs);
	f->sent = f->sent_mbufs = NULL;
	f->done = f->done_mbufs = NULL;
}
