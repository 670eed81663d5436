/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * IPv4 reassembly, the worker's side: the DPDK-free table (engine/reasm.c)
 * holds the fragment mbufs; a completed datagram becomes one mbuf chain
 * (first fragment with its Ethernet/IP headers rewritten for the whole
 * datagram, then every other fragment's payload in order), which the
 * worker copies whole into its 64 KiB buffer and serves like any other
 * datagram (worker.c rx_chained()).
 *
 * Owner lcore only; no locks, no allocation per fragment.  Fragments of
 * one datagram may land on different RX queues (RSS cannot see the UDP
 * ports of a non-first fragment): dpc_reasm_rx_owner() names one worker
 * per datagram and the others hand fragments to it through its ring.
 */
#include <errno.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>

#include "dp.h"
#include "reasm.h"

/* Offset of the IP payload in a fragment frame (IPv4 options are refused). */
#define FRAG_HDRS (DPC_ETH_HLEN + DPC_IP4_HLEN)

static void free_mbufs(void *ctx, void **handles, unsigned n)
{
	(void)ctx;
	rte_pktmbuf_free_bulk((struct rte_mbuf **)handles, n);
}

unsigned dpc_reasm_rx_mbufs(const struct dpc_config *cfg, unsigned mbuf_truesize)
{
	uint64_t by_bytes, by_frags;

	if (cfg->reasm_entries == 0)
		return 0;
	/* what the bounds let the table hold, plus its death row and one RX burst */
	by_bytes = cfg->reasm_bytes / mbuf_truesize + 1;
	by_frags = (uint64_t)cfg->reasm_entries * cfg->reasm_max_frags;
	return (unsigned)RTE_MIN(by_bytes, by_frags) + 2 * cfg->reasm_max_frags + 32 + DPC_BURST;
}

int dpc_reasm_rx_init(struct dpc_worker *w, const struct dpc_config *cfg)
{
	struct dpc_reasm_params p = {
		.max_entries = cfg->reasm_entries,
		.max_frags = cfg->reasm_max_frags,
		.max_bytes = cfg->reasm_bytes,
		.timeout = (uint64_t)cfg->reasm_timeout_ms * rte_get_tsc_hz() / 1000,
		.free_bulk = free_mbufs,
		.ctx = w,
		.stats = w->st,
	};

	w->reasm = NULL;
	w->big = NULL;
	if (cfg->reasm_entries == 0)
		return 0;
	w->reasm = dpc_reasm_create(&p);
	w->big = rte_malloc("dpc_big", DPC_BIG_BUF, RTE_CACHE_LINE_SIZE);
	if (w->reasm == NULL || w->big == NULL) {
		dpc_reasm_rx_fini(w);
		return -ENOMEM;
	}
	return 0;
}

void dpc_reasm_rx_fini(struct dpc_worker *w)
{
	dpc_reasm_free(w->reasm);
	rte_free(w->big);
	w->reasm = NULL;
	w->big = NULL;
}

unsigned dpc_reasm_rx_owner(const struct dpc_worker *w, const uint8_t *frame,
			    const struct dpc_pkt_info *info)
{
	uint32_t src, dst;
	uint64_t h;

	memcpy(&src, frame + info->l3_off + 12, 4);
	memcpy(&dst, frame + info->l3_off + 16, 4);
	h = (((uint64_t)src << 32 | dst) ^ info->ip_id) * 0x9e3779b97f4a7c15ull;
	return (unsigned)((h >> 32) % w->nworkers);
}

/* The completed datagram as one chain: headers of the first fragment, payloads in order. */
static struct rte_mbuf *chain(const struct dpc_reasm_done *d)
{
	struct rte_mbuf *head = d->frags[0].handle;

	head->data_len = (uint16_t)(FRAG_HDRS + d->frags[0].len); /* Ethernet padding goes */
	head->pkt_len = head->data_len;
	dpc_pkt_ip4_unfragment(rte_pktmbuf_mtod(head, uint8_t *), d->len);
	for (unsigned i = 1; i < d->n; i++) {
		struct rte_mbuf *m = d->frags[i].handle;

		rte_pktmbuf_adj(m, FRAG_HDRS);
		m->data_len = d->frags[i].len;
		m->pkt_len = m->data_len;
		/* cannot fail: at most reasm_max_frags (<= 1024) segments */
		(void)rte_pktmbuf_chain(head, m);
	}
	return head;
}

struct rte_mbuf *dpc_reasm_rx(struct dpc_worker *w, struct rte_mbuf *m,
			      const struct dpc_pkt_info *info, uint64_t now)
{
	const uint8_t *ip = rte_pktmbuf_mtod(m, const uint8_t *) + info->l3_off;
	struct dpc_reasm_key k;
	struct dpc_reasm_done d;

	memset(&k, 0, sizeof(k));
	memcpy(&k.src, ip + 12, 4);
	memcpy(&k.dst, ip + 16, 4);
	k.id = info->ip_id;
	k.proto = 17; /* only UDP fragments are classified DPC_PKT_IP_FRAGMENT */
	w->reasm_live = true;
	if (dpc_reasm_add(w->reasm, &k, info->frag_off, info->payload_len, info->frag_more != 0, m,
			  (uint32_t)(m->buf_len + sizeof(struct rte_mbuf)), now, &d) != DPC_REASM_DONE)
		return NULL;
	return chain(&d);
}

void dpc_reasm_rx_poll(struct dpc_worker *w, uint64_t now)
{
	(void)dpc_reasm_expire(w->reasm, now, DPC_REASM_EXPIRE_BUDGET);
	dpc_reasm_flush(w->reasm);
	w->reasm_live = dpc_reasm_entries(w->reasm) > 0;
}
