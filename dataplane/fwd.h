/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file fwd.h
 * The forwarding rings' admission (docs/design.md, "Forwarding rings"):
 * what one worker may put in another worker's inbox.
 *
 *  - Per source: the forwarded datagrams and fragments of one source (one
 *    of DPC_FWD_SLOTS slots, by a seeded hash of its IPv4 address) that
 *    worker p has in worker c's inbox never exceed ring_source_share % of
 *    the ring, divided by the workers that can forward into it (the others);
 *    over that: dropped, drop_ring_share.  ring_source_share 100: no
 *    per-source bound (only the ring's own size, drop_ring_full).  One source cannot fill a ring,
 *    so other sources' writes still get in.
 *  - Chains: a reassembled datagram is a chain of up to reasm_max_frags
 *    mbufs in one ring entry.  The mbufs of the chains p has in c's inbox
 *    (counted until c has processed them) never exceed
 *    max(reasm_max_frags, ring_chain_mbufs / (workers - 1)); over that:
 *    dropped, drop_ring_chains.  The mbuf pool holds (workers - 1) x that
 *    per inbox (dpc_fwd_pool_mbufs()).
 *
 * Both are counted with single-writer counters and no atomic
 * read-modify-write: the producer p counts what it put in (sent, its own
 * memory), the consumer c counts what it took out per producer (done,
 * c's memory, a relaxed store; p reads it relaxed).  p's view of done may be
 * late, never early: it can only think more is held than is.  Counters are
 * 32-bit and compared by difference (wrap-safe).
 */
#ifndef DPCACHE_FWD_H
#define DPCACHE_FWD_H

#include <stdatomic.h>
#include <stdint.h>

#include <rte_mbuf.h>
#include <rte_ring.h>

#include "dp.h"

/**
 * Hand @p m (a datagram, a fragment or a reassembled chain for worker
 * @p to, its dpc_pkt_info @p info) to that worker's inbox, within its
 * source's share and, for a chain, the chain-mbuf share.  Writes @p info,
 * with the accounting fields set, into the mbuf's dynamic field.  Returns
 * 0 (forwarded_out counted), or -1 with the reason counted
 * (drop_ring_share, drop_ring_chains, drop_ring_full): the caller still
 * owns @p m and frees it.  Owner lcore (the producer) only.
 */
static inline int dpc_fwd_enqueue(struct dpc_worker *w, unsigned to, struct rte_mbuf *m,
				  const uint8_t *frame, const struct dpc_pkt_info *info)
{
	struct dpc_fwd *f = &w->fwd;
	const struct dpc_fwd *peer = &w->peers[to].fwd;
	uint32_t src = dpc_srcguard_src_ip(frame, info);
	unsigned slot = (uint32_t)((src ^ f->seed) * 0x9e3779b1u) >> (32 - DPC_FWD_SLOT_BITS);
	unsigned i = to * DPC_FWD_SLOTS + slot, mine = w->id * DPC_FWD_SLOTS + slot;
	uint32_t pct = __atomic_load_n(&w->cfg->ring_source_share, __ATOMIC_RELAXED);
	uint32_t segs = m->nb_segs;
	struct dpc_pkt_info *dst = RTE_MBUF_DYNFIELD(m, w->dynoff, struct dpc_pkt_info *);

	if (dpc_unlikely(pct != f->share_pct))
		dpc_fwd_share_update(w, pct); /* `config set ring_source_share` */
	if (dpc_unlikely(f->sent[i] - atomic_load_explicit(&peer->done[mine], memory_order_relaxed) >=
			 f->share)) {
		dpc_stat_inc(w->st, drop_ring_share);
		return -1;
	}
	if (dpc_unlikely(segs > 1) &&
	    f->sent_mbufs[to] - atomic_load_explicit(&peer->done_mbufs[w->id], memory_order_relaxed) +
			    segs > f->chain_share) {
		dpc_stat_inc(w->st, drop_ring_chains);
		return -1;
	}
	*dst = *info;
	dst->fwd_from = (uint8_t)w->id;
	dst->fwd_slot = (uint8_t)slot;
	/* counted before the enqueue: the owner may take it out (and count it done) at once */
	f->sent[i]++;
	if (segs > 1)
		f->sent_mbufs[to] += segs;
	if (dpc_unlikely(rte_ring_mp_enqueue(w->rings[to], m) != 0)) {
		f->sent[i]--;
		if (segs > 1)
			f->sent_mbufs[to] -= segs;
		dpc_stat_inc(w->st, drop_ring_full);
		return -1;
	}
	dpc_stat_inc(w->st, forwarded_out);
	return 0;
}

/**
 * The consumer's side: a forwarded entry described by @p info, of
 * @p segs mbufs, is out of this worker's inbox and (for a chain) done
 * with.  Call it for a single-mbuf entry once dequeued, for a chain once
 * processed and freed.  Owner lcore (the consumer) only.
 */
static inline void dpc_fwd_taken(struct dpc_worker *w, unsigned from, unsigned slot, uint32_t segs)
{
	_Atomic uint32_t *d = &w->fwd.done[from * DPC_FWD_SLOTS + slot];

	/* single writer: a relaxed load and store, read relaxed by the producer */
	atomic_store_explicit(d, atomic_load_explicit(d, memory_order_relaxed) + 1,
			      memory_order_relaxed);
	if (segs > 1) {
		_Atomic uint32_t *c = &w->fwd.done_mbufs[from];

		atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + segs,
				      memory_order_relaxed);
	}
}

#endif /* DPCACHE_FWD_H */
