/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The worker poll loop.  Per iteration (batched in stages, each stage bounded):
 *   1. rte_eth_rx_burst(32); classify every frame (dpc_pkt_classify);
 *      answer ARP and ICMP echo in place; drop and count the rest by reason;
 *      memcached datagrams: check the frame header, parse each once
 *      (dpc_handler_parse(): one descriptor per datagram, its keys hashed
 *      once) and route it (here, or the owner's ring for writes to another
 *      partition); IPv4 fragments: to this worker's reassembly table or to
 *      their owner's ring (reasm_rx.c), a datagram they complete served at
 *      once from the worker's 64 KiB buffer;
 *   2. stage 1: dpc_handler_prefetch() for every local datagram of the
 *      burst (hash, prefetch bucket lines), stage 2:
 *      dpc_handler_prefetch_item() (prefetch the matching items), stage 3:
 *      dpc_handler_process();
 *   3. drain this worker's ring (bounded), the same two stages;
 *   4. DPC_TX_CHUNK datagrams from the send backlog (long responses, sent
 *      over several iterations so that other replies go between);
 *      one rte_eth_tx_burst per DPC_TX_BUF frames, retried tx_retries times;
 *      reassembly: timed-out datagrams given up (bounded), death row freed;
 *   5. dpc_store_maintain(budget: maintain_budget when idle, 1/16 of it
 *      when busy), one QSBR quiescent state;
 *   6. idle back-off: after DPC_IDLE_SPIN_US of iterations in a row that
 *      found nothing (no frame, nothing in the ring; TX is always flushed
 *      by then), sleep idle_sleep_us per further empty iteration, offline
 *      for QSBR, so that an idle server leaves its CPU to the kernel.  The
 *      first frame or forwarded datagram ends the back-off; while packets
 *      flow the loop makes no syscall.  idle_sleep_us=0 busy-polls always.
 * Responses go into fresh mbufs, one per datagram of at most
 * DPC_UDP_MAX_DATA bytes, taken from a per-worker stash refilled in bulk:
 * no locks, no syscalls, no allocation beyond the mempool's per-lcore cache.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>
#include <rte_prefetch.h>
#include <rte_ring.h>

#include <urcu/urcu-qsbr.h>

#include "dp.h"
#include "fwd.h"
#include "dpcache/lat.h"
#include "dpcache/proto.h"

/* Headers in front of each response datagram's data: Ethernet+IPv4+UDP, memcached frame. */
#define RESP_HDR (DPC_HDRS_LEN + DPC_UDP_FRAME_LEN)

unsigned dpc_worker_resp_max(uint64_t max_value)
{
	/* GETK of the largest value: 24 header + 4 flags + 250 key + value, plus a NOOP. */
	uint64_t bytes = max_value + DPC_MC_HDR_LEN + 4 + DPC_KEY_MAX + DPC_MC_HDR_LEN;
	uint64_t n = (bytes + DPC_UDP_MAX_DATA - 1) / DPC_UDP_MAX_DATA + 2;

	return n > UINT16_MAX ? UINT16_MAX : (unsigned)n; /* `total` is 16 bits on the wire */
}

static inline struct dpc_pkt_info *pkt_info(const struct dpc_worker *w, struct rte_mbuf *m)
{
	return RTE_MBUF_DYNFIELD(m, w->dynoff, struct dpc_pkt_info *);
}

/* ---- TX ----------------------------------------------------------------- */

static void tx_flush(struct dpc_worker *w)
{
	unsigned n = w->ntx, sent, retries;
	uint64_t bytes = 0;

	if (n == 0)
		return;
	for (unsigned i = 0; i < n; i++)
		bytes += w->tx[i]->pkt_len;
	sent = rte_eth_tx_burst(w->port_id, w->queue_id, w->tx, (uint16_t)n);
	retries = __atomic_load_n(&w->cfg->tx_retries, __ATOMIC_RELAXED);
	while (sent < n && retries-- > 0)
		sent += rte_eth_tx_burst(w->port_id, w->queue_id, w->tx + sent, (uint16_t)(n - sent));
	if (dpc_unlikely(sent < n)) {
		for (unsigned i = sent; i < n; i++)
			bytes -= w->tx[i]->pkt_len;
		dpc_stat_add(w->st, drop_tx_full, n - sent);
		rte_pktmbuf_free_bulk(w->tx + sent, n - sent);
	}
	dpc_stat_add(w->st, tx_packets, sent);
	dpc_stat_add(w->st, tx_bytes, bytes);
	w->ntx = 0;
}

static inline void tx_queue(struct dpc_worker *w, struct rte_mbuf *m)
{
	w->tx[w->ntx++] = m;
	if (w->ntx == DPC_TX_BUF)
		tx_flush(w);
}

/* ---- responses ------------------------------------------------------------ */

static inline struct rte_mbuf *stash_get(struct dpc_worker *w)
{
	if (dpc_unlikely(w->nstash == 0)) {
		if (rte_pktmbuf_alloc_bulk(w->pool, w->stash, DPC_BURST) != 0)
			return rte_pktmbuf_alloc(w->pool); /* pool nearly dry: one at a time */
		w->nstash = DPC_BURST;
	}
	return w->stash[--w->nstash];
}

/*
 * Where a response datagram may go in its request's own mbuf: just past
 * the request (which the handler is still reading), cache-line aligned,
 * if a whole datagram fits before the end of the buffer.  0 if it does not
 * (or the mbuf is chained, or shared).
 */
static inline uint16_t reuse_off(const struct rte_mbuf *m)
{
	uint32_t off = RTE_ALIGN_CEIL((uint32_t)m->data_off + m->data_len, RTE_CACHE_LINE_SIZE);

	if (m->nb_segs != 1 || rte_mbuf_refcnt_read(m) != 1 ||
	    off + RESP_HDR + DPC_UDP_MAX_DATA > m->buf_len)
		return 0;
	return (uint16_t)off;
}

/* dpc_wr.next(): the current datagram is full (or none yet); start the next. */
static int resp_next(struct dpc_wr *wr)
{
	struct dpc_worker *w = wr->ctx;
	struct rte_mbuf *m;
	uint8_t *data;

	if (dpc_unlikely(w->nresp == w->resp_cap))
		return -E2BIG; /* answered with dpc_handler_too_large() */
	if (w->reuse != NULL) {
		/* the first datagram goes into the request's mbuf: no allocation, lines in cache */
		m = w->reuse;
		w->reuse = NULL;
		m->data_off = w->reuse_off;
	} else {
		m = stash_get(w);
		if (dpc_unlikely(m == NULL))
			return -ENOMEM;
	}
	w->resp[w->nresp++] = m;
	data = rte_pktmbuf_mtod(m, uint8_t *) + RESP_HDR;
	wr->p = data;
	wr->end = data + DPC_UDP_MAX_DATA;
	return 0;
}

/* Free the response datagrams built so far, except the request's own mbuf (its caller's). */
static void resp_drop(struct dpc_worker *w, const struct rte_mbuf *req)
{
	unsigned first = w->nresp > 0 && w->resp[0] == req;

	if (w->nresp > first)
		rte_pktmbuf_free_bulk(w->resp + first, w->nresp - first);
	w->nresp = 0;
}

static void resp_reset(struct dpc_worker *w, unsigned cap)
{
	w->nresp = 0;
	w->resp_cap = cap < w->resp_max ? cap : w->resp_max;
	w->wr.p = w->wr.end = NULL;
	w->wr.total = 0;
}

/* The built response's datagrams, in order, behind what waits already. */
static void backlog_push(struct dpc_worker *w, struct rte_mbuf **m, unsigned n)
{
	if (dpc_unlikely(w->backlog_n + n > w->backlog_cap)) {
		dpc_stat_add(w->st, drop_backlog, n);
		rte_pktmbuf_free_bulk(m, n);
		return;
	}
	for (unsigned i = 0; i < n; i++)
		w->backlog[(w->backlog_head + w->backlog_n + i) % w->backlog_cap] = m[i];
	w->backlog_n += n;
	dpc_stat_inc(w->st, resp_chunked);
	dpc_stat_set(w->st, tx_backlog, w->backlog_n);
}

/* One chunk of the send backlog to TX; returns the datagrams moved. */
static unsigned backlog_send(struct dpc_worker *w)
{
	unsigned k = w->backlog_n < DPC_TX_CHUNK ? w->backlog_n : DPC_TX_CHUNK;

	for (unsigned i = 0; i < k; i++) {
		tx_queue(w, w->backlog[w->backlog_head]);
		w->backlog_head = (w->backlog_head + 1) % w->backlog_cap;
	}
	w->backlog_n -= k;
	dpc_stat_set(w->st, tx_backlog, w->backlog_n);
	return k;
}

/*
 * Run the handler over one datagram and queue its response: one datagram
 * per DPC_UDP_MAX_DATA bytes, frame headers (same request id, seq 0..n-1,
 * total n) and Ethernet/IPv4/UDP headers written once the count is known.
 * The first datagram goes into the request's mbuf @p req when it fits
 * there (NULL: never); returns true if @p req was used (it is on its way
 * out: the caller must not free it), false if the caller still owns it.
 */
static bool process_one(struct dpc_worker *w, struct rte_mbuf *req, const uint8_t *frame,
			const struct dpc_pkt_info *info, const struct dpc_dgram *d)
{
	const uint8_t *payload = frame + info->payload_off;
	struct dpc_udp_frame f;
	unsigned n;
	int rc;

	uint32_t allow;
	bool budget_cap = false;

	(void)dpc_frame_decode(payload, info->payload_len, &f); /* length checked at RX */
	resp_reset(w, __atomic_load_n(&w->cfg->max_response_datagrams, __ATOMIC_RELAXED));
	/* A source with a budget (untrusted: amp_factor, src_rate; trusted_rate): no more
	 * datagrams than could fit it, so that a response it cannot be sent is not built
	 * (a forged GET of a 1 MiB value no longer costs the copy).  n datagrams take at
	 * least (n - 1) full ones and one of headers and a byte. */
	allow = dpc_guard_allowance(w, frame, info);
	if (dpc_unlikely(allow != UINT32_MAX)) {
		unsigned fit = allow <= RESP_HDR ? 0 :
			       (allow - RESP_HDR - 1) / (RESP_HDR + DPC_UDP_MAX_DATA) + 1;

		if (fit < w->resp_cap) {
			w->resp_cap = fit;
			budget_cap = true;
		}
	}
	w->h.admin_denied = !(info->src_flags & DPC_SRC_ADMIN); /* guard.c: source in `admin`? */
	/* where the first datagram may go in the request's own mbuf (computed once: resp_next()
	 * moves the mbuf's data_off there) */
	w->reuse_off = req != NULL ? reuse_off(req) : 0;
	w->reuse = w->reuse_off != 0 ? req : NULL;
	rc = dpc_handler_process_dgram(&w->h, d, &w->wr);
	if (dpc_unlikely(rc == -E2BIG && budget_cap)) {
		/* over the source's budget: dropped whole, charged and counted as after the
		 * handler (drop_amplification / drop_src_rate), nothing sent */
		w->reuse = NULL;
		resp_drop(w, req);
		(void)dpc_guard_tx(w, frame, info, allow + 1);
		dpc_stat_inc(w->st, resp_budget_cut);
		return false;
	}
	if (dpc_unlikely(rc == -E2BIG)) {
		/* over max_response_datagrams: one error instead of the response */
		resp_drop(w, req);
		resp_reset(w, w->resp_max);
		w->reuse = w->reuse_off != 0 ? req : NULL;
		dpc_stat_inc(w->st, resp_over_cap);
		rc = dpc_handler_too_large(&w->h, d, &w->wr);
	}
	w->reuse = NULL;
	if (dpc_unlikely(rc < 0)) {
		/* -EBADMSG is counted by the handler; -ENOMEM is ours (pool or datagram limit). */
		if (rc == -ENOMEM)
			dpc_stat_inc(w->st, drop_nombuf);
		resp_drop(w, req);
		return false;
	}
	n = w->nresp;
	/* Source budget (untrusted: amp_factor, src_rate): the whole response (its frames'
	 * bytes: n full datagrams less the room left in the last one) or nothing. */
	if (!dpc_guard_tx(w, frame, info,
			  n == 0 ? 0 : (uint32_t)(n * (RESP_HDR + DPC_UDP_MAX_DATA) -
						  (size_t)(w->wr.end - w->wr.p)))) {
		resp_drop(w, req);
		return false;
	}
	if (n == 0)
		return false; /* quiet requests only */
	bool in_place = w->resp[0] == req;

	for (unsigned i = 0; i < n; i++) {
		struct rte_mbuf *m = w->resp[i];
		uint8_t *out = rte_pktmbuf_mtod(m, uint8_t *);
		size_t dlen = i + 1 < n ? DPC_UDP_MAX_DATA : (size_t)(w->wr.p - (out + RESP_HDR));
		uint16_t plen = (uint16_t)(DPC_UDP_FRAME_LEN + dlen);
		struct dpc_udp_frame rf = { .req_id = f.req_id, .seq = (uint16_t)i,
					    .total = (uint16_t)n, .reserved = 0 };

		dpc_frame_encode(out + DPC_HDRS_LEN, &rf);
		dpc_pkt_udp_reply_hdr(out, frame, info, plen, w->sw_csum);
		m->data_len = (uint16_t)(DPC_HDRS_LEN + plen);
		m->pkt_len = m->data_len;
		if (!w->sw_csum) {
			m->ol_flags = RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_UDP_CKSUM;
			m->l2_len = DPC_ETH_HLEN;
			m->l3_len = DPC_IP4_HLEN;
		} else {
			m->ol_flags = 0; /* a reused request mbuf carries its RX flags */
		}
		if (n <= DPC_TX_CHUNK)
			tx_queue(w, m);
	}
	if (n > DPC_TX_CHUNK)
		backlog_push(w, w->resp, n);
	w->nresp = 0;
	dpc_stat_add(w->st, resp_datagrams, n);
	if (n > 1)
		dpc_stat_inc(w->st, resp_multi);
	if (in_place)
		dpc_stat_inc(w->st, resp_in_place);
	return in_place;
}

/* ---- RX ------------------------------------------------------------------- */

/* The memcached frame header of a UDP datagram: 0, or -1 (counted: drop it). */
static int frame_check(struct dpc_worker *w, const uint8_t *data, const struct dpc_pkt_info *info)
{
	struct dpc_udp_frame f;

	if (dpc_unlikely(dpc_frame_decode(data + info->payload_off, info->payload_len, &f) != 0)) {
		dpc_stat_inc(w->st, drop_frame_short);
		return -1;
	}
	if (dpc_unlikely(f.total != 1)) {
		dpc_stat_inc(w->st, drop_frame_multi);
		return -1;
	}
	return 0;
}

/*
 * A datagram in more than one segment (reassembled from fragments): copied
 * whole into the worker's 64 KiB buffer (rte_pktmbuf_read), classified
 * again there (UDP length and checksum over the whole datagram), parsed,
 * then answered here, or handed to the owner of the partition it writes
 * unless @p routed (it came from a ring: it is ours).  Consumes @p m.
 */
static void rx_chained(struct dpc_worker *w, struct rte_mbuf *m, bool routed)
{
	const uint8_t *frame = rte_pktmbuf_read(m, 0, m->pkt_len, w->big);
	struct dpc_pkt_info info;
	struct dpc_dgram d;
	enum dpc_pkt_kind kind;
	int route;

	kind = dpc_pkt_classify(frame, m->pkt_len, &w->net, false, &info);
	kind = dpc_guard_rx(w, frame, kind, &info); /* its fragments passed; this sets src_flags */
	if (dpc_unlikely(kind != DPC_PKT_UDP)) {
		dpc_stat_count_drop(w->st, kind);
		rte_pktmbuf_free(m);
		return;
	}
	if (frame_check(w, frame, &info) != 0) {
		rte_pktmbuf_free(m);
		return;
	}
	dpc_handler_parse(&w->h, frame + info.payload_off + DPC_UDP_FRAME_LEN,
			  (size_t)info.payload_len - DPC_UDP_FRAME_LEN, !routed && w->nworkers > 1, &d);
	route = dpc_handler_route(&d);
	if (!routed && route != DPC_ROUTE_HERE && (unsigned)route != w->id &&
	    (unsigned)route < w->nworkers) {
		/* a chain of up to reasm_max_frags mbufs: within the ring's chain share (fwd.h) */
		if (dpc_fwd_enqueue(w, (unsigned)route, m, frame, &info) != 0)
			rte_pktmbuf_free(m);
		return;
	}
	(void)process_one(w, NULL, frame, &info, &d); /* the reply never goes in a chain */
	rte_pktmbuf_free(m);
}

/* A fragment for this worker's table; a datagram it completes is served at once. */
static void rx_fragment(struct dpc_worker *w, struct rte_mbuf *m, const struct dpc_pkt_info *info,
			uint64_t now)
{
	struct rte_mbuf *whole = dpc_reasm_rx(w, m, info, now);

	if (whole != NULL)
		rx_chained(w, whole, false);
}

static void rx_burst(struct dpc_worker *w, struct rte_mbuf **pkts, unsigned n, uint64_t now)
{
	struct rte_mbuf *local[DPC_BURST], *fwd[DPC_BURST], *dead[DPC_BURST], *exc[DPC_BURST];
	struct dpc_pkt_info linfo[DPC_BURST], finfo[DPC_BURST];
	struct dpc_dgram dg[DPC_BURST];
	unsigned fdst[DPC_BURST];
	unsigned nl = 0, nf = 0, nd = 0, nx = 0;
	uint64_t bytes = 0;

	for (unsigned i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		uint8_t *data = rte_pktmbuf_mtod(m, uint8_t *);
		struct dpc_pkt_info info;
		struct dpc_udp_frame f;
		enum dpc_pkt_kind kind;
		bool hint;
		int route;

		if (i + 2 < n)
			rte_prefetch0(rte_pktmbuf_mtod(pkts[i + 2], void *));
		bytes += m->pkt_len;
		hint = w->rx_csum_offload &&
		       (m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK) == RTE_MBUF_F_RX_L4_CKSUM_GOOD;
		/* RX scatter is never configured: a received frame is one segment. */
		kind = dpc_pkt_classify(data, m->data_len, &w->net, hint, &info);
		kind = dpc_guard_rx(w, data, kind, &info); /* source checks, before anything else */
		switch (kind) {
		case DPC_PKT_UDP:
			if (dpc_unlikely(dpc_frame_decode(data + info.payload_off, info.payload_len,
							  &f) != 0)) {
				dpc_stat_inc(w->st, drop_frame_short);
				dead[nd++] = m;
				break;
			}
			if (dpc_unlikely(f.total != 1)) {
				dpc_stat_inc(w->st, drop_frame_multi);
				dead[nd++] = m;
				break;
			}
			/* parsed into the next local slot; a forwarded one leaves it free */
			dpc_handler_parse(&w->h, data + info.payload_off + DPC_UDP_FRAME_LEN,
					  (size_t)info.payload_len - DPC_UDP_FRAME_LEN, w->nworkers > 1,
					  &dg[nl]);
			route = dpc_handler_route(&dg[nl]);
			if (route == DPC_ROUTE_HERE || (unsigned)route == w->id ||
			    (unsigned)route >= w->nworkers) {
				linfo[nl] = info;
				local[nl++] = m;
			} else {
				finfo[nf] = info;
				fdst[nf] = (unsigned)route;
				fwd[nf++] = m;
			}
			break;
		case DPC_PKT_IP_FRAGMENT:
			if (dpc_unlikely(w->reasm == NULL)) {
				dpc_stat_inc(w->st, drop_ip_fragment);
				dead[nd++] = m;
				break;
			}
			route = w->nworkers == 1 ? (int)w->id : (int)dpc_reasm_rx_owner(w, data, &info);
			if ((unsigned)route == w->id) {
				rx_fragment(w, m, &info, now);
			} else {
				/* its datagram's other fragments may be on other queues: to its owner */
				finfo[nf] = info;
				fdst[nf] = (unsigned)route;
				fwd[nf++] = m;
				dpc_stat_inc(w->st, frag_forwarded);
			}
			break;
		case DPC_PKT_ARP_REQUEST:
			m->data_len = (uint16_t)dpc_pkt_arp_reply(data, m->data_len, &w->net);
			m->pkt_len = m->data_len;
			m->ol_flags = 0;
			dpc_stat_inc(w->st, arp_replies);
			tx_queue(w, m);
			break;
		case DPC_PKT_ICMP_ECHO:
			m->data_len = (uint16_t)dpc_pkt_icmp_reply(data, m->data_len, &info);
			m->pkt_len = m->data_len;
			m->ol_flags = 0;
			dpc_stat_inc(w->st, icmp_echo);
			tx_queue(w, m);
			break;
		case DPC_PKT_TCP:
		case DPC_PKT_ARP_REPLY:
			/* the kernel's (exception path), when TCP is served */
			if (w->exc) {
				exc[nx++] = m;
				break;
			}
			dpc_stat_count_drop(w->st, kind == DPC_PKT_TCP ? DPC_PKT_DROP_PROTO :
									 DPC_PKT_DROP_ARP_OTHER);
			dead[nd++] = m;
			break;
		default:
			dpc_stat_count_drop(w->st, kind);
			dead[nd++] = m;
			break;
		}
	}
	dpc_stat_add(w->st, rx_packets, n);
	dpc_stat_add(w->st, rx_bytes, bytes);
	if (dpc_unlikely(nx > 0))
		dpc_exc_to_kernel(w, exc, nx);

	/* Writes for other partitions (and fragments for their reassembling worker): to their
	 * owners first, they answer them; each source within its share of the ring (fwd.h). */
	for (unsigned i = 0; i < nf; i++)
		if (dpc_fwd_enqueue(w, fdst[i], fwd[i], rte_pktmbuf_mtod(fwd[i], const uint8_t *),
				    &finfo[i]) != 0)
			dead[nd++] = fwd[i];
	/* Stage 1: hash and prefetch every local datagram's first key ... */
	for (unsigned i = 0; i < nl; i++)
		dpc_handler_prefetch(&w->h, &dg[i]);
	/* ... stage 2: with the buckets arriving, prefetch the items they point to
	 * (one DRAM miss per GET otherwise, taken one datagram at a time) ... */
	for (unsigned i = 0; i < nl; i++)
		dpc_handler_prefetch_item(&w->h, &dg[i]);
	/* ... stage 3: answer them while those lines arrive. */
	for (unsigned i = 0; i < nl; i++)
		if (!process_one(w, local[i], rte_pktmbuf_mtod(local[i], const uint8_t *), &linfo[i],
				 &dg[i]))
			dead[nd++] = local[i]; /* not carrying its reply: free it */
	if (nd > 0)
		rte_pktmbuf_free_bulk(dead, nd);
}

/*
 * An inbox entry that is not a forwarded datagram (dp.h): a frame from the
 * kernel is sent as it is, a TCP write job runs here.
 */
static void inbox_side(struct dpc_worker *w, void *e)
{
	if (dpc_inbox_tag_of(e) == DPC_INBOX_TX) {
		struct rte_mbuf *m = dpc_inbox_untag(e);

		m->ol_flags = 0; /* the kernel computed its checksums */
		tx_queue(w, m);
	} else {
		dpc_tcp_job_run(&w->h, w->st, dpc_inbox_untag(e));
	}
}

/* Datagrams other workers handed over (and inbox_side() entries); at most DPC_RING_DRAIN per iteration. */
static unsigned ring_drain(struct dpc_worker *w, uint64_t now)
{
	struct rte_mbuf *pkts[DPC_BURST];
	struct dpc_dgram dg[DPC_BURST];
	unsigned total = 0;

	while (total < DPC_RING_DRAIN) {
		unsigned got = rte_ring_sc_dequeue_burst(w->ring, (void **)pkts, DPC_BURST, NULL), n = 0;
		unsigned side = 0;

		if (got == 0)
			break;
		/* fragments to reassemble and reassembled (chained) datagrams: one at a time */
		for (unsigned i = 0; i < got; i++) {
			const struct dpc_pkt_info *info;

			if (dpc_unlikely(dpc_inbox_tag_of(pkts[i]) != DPC_INBOX_DGRAM)) {
				inbox_side(w, pkts[i]); /* TCP: a kernel frame or a write job */
				side++;
				continue;
			}
			info = pkt_info(w, pkts[i]);
			if (dpc_unlikely(pkts[i]->nb_segs > 1)) {
				/* a reassembled datagram: its mbufs count in the chain share
				 * until processed and freed */
				unsigned from = info->fwd_from, slot = info->fwd_slot;
				uint32_t segs = pkts[i]->nb_segs;

				rx_chained(w, pkts[i], true);
				dpc_fwd_taken(w, from, slot, segs);
				continue;
			}
			dpc_fwd_taken(w, info->fwd_from, info->fwd_slot, 1);
			if (dpc_unlikely(info->is_fragment))
				rx_fragment(w, pkts[i], info, now);
			else
				pkts[n++] = pkts[i];
		}
		for (unsigned i = 0; i < n; i++) {
			const struct dpc_pkt_info *info = pkt_info(w, pkts[i]);
			const uint8_t *p = rte_pktmbuf_mtod(pkts[i], const uint8_t *) + info->payload_off;

			/* routed where it arrived: this worker owns it */
			dpc_handler_parse(&w->h, p + DPC_UDP_FRAME_LEN,
					  (size_t)info->payload_len - DPC_UDP_FRAME_LEN, false, &dg[i]);
			dpc_handler_prefetch(&w->h, &dg[i]);
		}
		unsigned nfree = 0;

		for (unsigned i = 0; i < n; i++)
			if (!process_one(w, pkts[i], rte_pktmbuf_mtod(pkts[i], const uint8_t *),
					 pkt_info(w, pkts[i]), &dg[i]))
				pkts[nfree++] = pkts[i]; /* i >= nfree: still to be read, or done */
		if (nfree > 0)
			rte_pktmbuf_free_bulk(pkts, nfree);
		dpc_stat_add(w->st, forwarded_in, got - side);
		total += got;
		if (got < DPC_BURST)
			break;
	}
	return total;
}

/* Once a second (a TSC compare per iteration): evictions; worker 0: cache clock, reclaimer
 * interval, log level. */
static void housekeeping(struct dpc_worker *w, uint64_t now)
{
	struct dpc_store_stats ss;

	w->next_sec_tsc = now + w->tsc_hz;
	/* The store counts evictions per partition; mirror them into our counters. */
	dpc_cache_stats(w->h.cache, w->h.part, &ss);
	dpc_stat_set(w->st, evictions, ss.evictions);
	if (!w->clock_keeper)
		return;
	dpc_cache_set_time(w->h.cache, (uint32_t)time(NULL)); /* vDSO, not a syscall */
	dpc_cache_set_reclaim_interval(w->h.cache,
				       __atomic_load_n(&w->cfg->reclaim_interval_us, __ATOMIC_RELAXED));
	uint32_t lvl = dpc_log_level_from_cfg(__atomic_load_n(&w->cfg->log_level, __ATOMIC_RELAXED));
	if ((uint32_t)rte_log_get_level(dpc_logtype) != lvl)
		rte_log_set_level(dpc_logtype, lvl);
}

/*
 * Idle back-off: sleep @p us microseconds.  The worker holds no RCU
 * references here (just after its quiescent state), so it goes offline and
 * grace periods need not wait for it while it sleeps.
 */
static void idle_sleep(struct dpc_worker *w, uint32_t us)
{
	urcu_qsbr_thread_offline();
	rte_delay_us_sleep(us);
	urcu_qsbr_thread_online();
	dpc_stat_inc(w->st, idle_sleeps);
}

#ifdef DPC_WORKER_PHASES
/*
 * Where the time of a poll iteration goes: a diagnostic build only
 * (`make EXTRA_CFLAGS=-DDPC_WORKER_PHASES`, perf/phases.sh), never the
 * shipped one: it reads the TSC five more times per iteration.  Cycles of
 * each stage summed over the busy iterations of at most PH_SMALL frames
 * (low load: the per-iteration costs), over all busy ones, and the
 * iterations by length with the requests they carried (what sets the
 * in-server percentiles).  Reset with the latency histogram
 * (latency_epoch), printed when the worker stops.
 */
#define PH_STAGES 6   /* rx_burst, frame processing, ring, tx_flush, maintenance, QSBR */
#define PH_SMALL 2u
static const char *const ph_stage[PH_STAGES] = { "rx", "process", "ring", "tx", "maintain",
						 "qsbr" };
static const uint32_t ph_len_us[] = { 5, 10, 20, 50, 100 };   /* upper bounds; last: above */
#define PH_LENS (sizeof(ph_len_us) / sizeof(ph_len_us[0]) + 1)

struct dpc_phases {
	uint64_t cyc[2][PH_STAGES];   /* [0] iterations of <= PH_SMALL frames, [1] all busy */
	uint64_t iters[2], frames[2];
	uint64_t len_iters[PH_LENS], len_reqs[PH_LENS], len_ns[PH_LENS];
};

static void ph_add(struct dpc_worker *w, const uint64_t *t, unsigned n, uint64_t nreq)
{
	struct dpc_phases *ph = w->phases;
	uint64_t ns = ((t[PH_STAGES] - t[0]) * w->lat_mult) >> DPC_LAT_SHIFT;
	unsigned b = 0;

	for (unsigned k = 0; k < 2; k++) {
		if (k == 0 && n > PH_SMALL)
			continue;
		for (unsigned s = 0; s < PH_STAGES; s++)
			ph->cyc[k][s] += t[s + 1] - t[s];
		ph->iters[k]++;
		ph->frames[k] += n;
	}
	while (b < PH_LENS - 1 && ns >= (uint64_t)ph_len_us[b] * 1000u)
		b++;
	ph->len_iters[b]++;
	ph->len_reqs[b] += nreq;
	ph->len_ns[b] += ns;
}

static void ph_print(const struct dpc_worker *w)
{
	const struct dpc_phases *ph = w->phases;
	char buf[256];

	for (unsigned k = 0; k < 2; k++) {
		int o = 0;

		if (ph->iters[k] == 0)
			continue;
		for (unsigned s = 0; s < PH_STAGES; s++)
			o += snprintf(buf + o, sizeof(buf) - (size_t)o, " %s %.0f", ph_stage[s],
				      (double)ph->cyc[k][s] / (double)ph->iters[k] * 1e9 /
				      (double)w->tsc_hz);
		DPC_LOG(INFO, "phases %s: %" PRIu64 " busy iterations, %.2f frames each, ns:%s",
			k == 0 ? "small" : "all", ph->iters[k],
			(double)ph->frames[k] / (double)ph->iters[k], buf);
	}
	for (unsigned b = 0; b < PH_LENS; b++)
		if (ph->len_iters[b] > 0)
			DPC_LOG(INFO, "phases length %s %3u us: %" PRIu64 " iterations, %" PRIu64
				" requests, mean %" PRIu64 " ns", b < PH_LENS - 1 ? "<" : ">=",
				ph_len_us[b < PH_LENS - 1 ? b : b - 1], ph->len_iters[b],
				ph->len_reqs[b], ph->len_ns[b] / ph->len_iters[b]);
}
#define PH_T(i) (ph_t[i] = rte_rdtsc())
#else
#define PH_T(i) ((void)0)
#endif

/*
 * In-server latency (lat.h): every request of this iteration was answered
 * by the TX burst just sent (or by an earlier one, when DPC_TX_BUF filled
 * up mid-burst: an upper bound), and arrived in the RX burst that began at
 * @p t0.  One TSC read per busy iteration, one histogram record for all of
 * its @p nreq requests.  Forwarded writes count from the owner's iteration,
 * not from their RX burst on the other worker (their ring wait is left out).
 */
static inline void lat_record(struct dpc_worker *w, uint64_t t0, uint64_t nreq)
{
	uint64_t ticks = rte_rdtsc() - t0;
	uint32_t epoch = __atomic_load_n(&w->cfg->latency_epoch, __ATOMIC_RELAXED);

	/* `config set latency_epoch N`: start a new measurement (we are the only writer) */
	if (dpc_unlikely(epoch != w->lat_epoch)) {
		w->lat_epoch = epoch;
		dpc_hist_reset_shared(w->lat);
#ifdef DPC_WORKER_PHASES
		memset(w->phases, 0, sizeof(*w->phases));
#endif
	}
	if (nreq > 0)
		dpc_lat_record(w->lat, (ticks * w->lat_mult) >> DPC_LAT_SHIFT, nreq);
}

int dpc_worker_main(void *arg)
{
	struct dpc_worker *w = arg;
	struct rte_mbuf *pkts[DPC_BURST];
	uint64_t idle_from = 0;   /* TSC of the first empty iteration in a row; 0: busy */
	uint64_t idle_spin;

	urcu_qsbr_register_thread();
	w->wr.next = resp_next;
	w->wr.ctx = w;
	w->tsc_hz = rte_get_tsc_hz();
	/* ns = ticks * lat_mult >> DPC_LAT_SHIFT (no overflow for iterations shorter than hours) */
	w->lat_mult = (uint64_t)(((unsigned __int128)1000000000u << DPC_LAT_SHIFT) / w->tsc_hz);
	w->next_sec_tsc = rte_rdtsc();
	idle_spin = w->tsc_hz / 1000000u * DPC_IDLE_SPIN_US;
#ifdef DPC_WORKER_PHASES
	w->phases = calloc(1, sizeof(*w->phases));
	if (w->phases == NULL)
		return -1;
#endif
	DPC_LOG(INFO, "worker %u on lcore %u: port %u queue %u, partition %u", w->id, w->lcore,
		w->port_id, w->queue_id, w->h.part);

	while (!atomic_load_explicit(w->stop, memory_order_relaxed)) {
		uint64_t t0 = rte_rdtsc(), t1;
		uint64_t req0 = dpc_stat_load(w->st, requests);
		unsigned n, busy, budget;
#ifdef DPC_WORKER_PHASES
		uint64_t ph_t[PH_STAGES + 1];

		ph_t[0] = t0;
#endif

		n = rte_eth_rx_burst(w->port_id, w->queue_id, pkts, DPC_BURST);
		PH_T(1);
		if (n > 0)
			rx_burst(w, pkts, n, t0);
		PH_T(2);
		busy = n + ring_drain(w, t0);
		if (dpc_unlikely(w->backlog_n > 0))
			busy += backlog_send(w);
		PH_T(3);
		tx_flush(w);
		PH_T(4);
		if (busy > 0)
			lat_record(w, t0, dpc_stat_load(w->st, requests) - req0);
		if (dpc_unlikely(w->reasm_live))
			dpc_reasm_rx_poll(w, t0);
		/* Background work (the expiry sweep above all) goes to iterations that
		 * found nothing; a busy one does 1/DPC_MAINTAIN_BUSY_DIV of it, so that
		 * it still progresses under saturation. */
		budget = __atomic_load_n(&w->cfg->maintain_budget, __ATOMIC_RELAXED);
		if (busy > 0)
			budget = 1 + budget / DPC_MAINTAIN_BUSY_DIV;
		dpc_store_maintain(w->h.cache, w->h.part, budget);
		PH_T(5);
		/* Item views handed out in this iteration are dead now: let reclamation proceed. */
		urcu_qsbr_quiescent_state();
		t1 = rte_rdtsc();
#ifdef DPC_WORKER_PHASES
		ph_t[PH_STAGES] = t1;
		if (busy > 0)
			ph_add(w, ph_t, n, dpc_stat_load(w->st, requests) - req0);
#endif
		dpc_stat_inc(w->st, poll_loops);
		if (busy > 0) {
			dpc_stat_inc(w->st, poll_busy);
			dpc_stat_add(w->st, poll_cycles, t1 - t0);
			idle_from = 0;
		} else if (idle_from == 0) {
			idle_from = t1;
		} else if (dpc_unlikely(t1 - idle_from >= idle_spin)) {
			uint32_t us = __atomic_load_n(&w->cfg->idle_sleep_us, __ATOMIC_RELAXED);

			if (us != 0)   /* and on each further empty iteration, until a busy one */
				idle_sleep(w, us);
		}
		if (dpc_unlikely(t1 >= w->next_sec_tsc))
			housekeeping(w, t1);
	}

	tx_flush(w);
	while (w->backlog_n > 0) {
		rte_pktmbuf_free(w->backlog[w->backlog_head]);
		w->backlog_head = (w->backlog_head + 1) % w->backlog_cap;
		w->backlog_n--;
	}
	if (w->nstash > 0)
		rte_pktmbuf_free_bulk(w->stash, w->nstash);
	w->nstash = 0;
	urcu_qsbr_unregister_thread();
#ifdef DPC_WORKER_PHASES
	ph_print(w);
	free(w->phases);
#endif
	DPC_LOG(INFO, "worker %u stopped", w->id);
	return 0;
}
