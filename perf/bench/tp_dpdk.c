/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dpcache-bench transport over a DPDK port (memif, af_xdp, af_packet, tap,
 * a NIC): bursts of 32, Ethernet/IPv4/UDP headers copied from a
 * precomputed template per (server, partition) with only the lengths and
 * the IPv4 checksum patched.  With --steer N the port has N queue pairs
 * and partition p's requests leave on TX queue p (memif: straight to the
 * worker that owns p).  With several bench lcores, each has a transport of
 * its own on the same port (bench_tp_dpdk_open_core()): the queue pairs
 * q % ncores == core, polled by that lcore only, and a UDP source port of
 * its own.  Answers ARP for its own address; resolves the servers' MACs by
 * ARP unless --dst-mac is given.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_arp.h>
#include <rte_byteorder.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <rte_eth_ring.h>
#include <rte_udp.h>

#include "bench.h"

#define HDRS 42u
#define NB_DESC 1024u

struct tp_dpdk {
	struct bench_tp tp;
	uint16_t port;
	uint16_t nq;           /* queue pairs of the port */
	uint16_t qs[BENCH_MAX_STEER], nqs;  /* the ones this lcore owns */
	uint16_t rxq_next;     /* index into qs */
	bool owner;            /* set the port up: stops and closes it */
	struct rte_mempool *pool;
	struct rte_ether_addr mac;
	uint32_t src_ip;       /* network order */
	uint16_t src_port;     /* host order */
	bool udp_csum;
	unsigned nservers, nparts;
	uint8_t (*tmpl)[HDRS]; /* [server * nparts + part] */
	uint32_t *tmpl_sum;    /* IPv4 header sum without the length, folded later */
	struct rte_mbuf *txm[BENCH_BURST];
	struct rte_mbuf *rxm[BENCH_BURST];
	unsigned nrx;
	struct bench_reflector *peer;   /* --dry-run: polled before every receive */
	/* requests larger than one frame (SETs of large values): built here, sent as IPv4
	 * fragments; NULL when every request fits a frame (then built in the mbuf itself) */
	uint8_t (*stage)[BENCH_REQ_MAX];
	uint16_t ip_id;
	/* ARP resolution */
	const struct bench_cfg *cfg;
	bool resolving;
	bool resolved[BENCH_MAX_SERVERS];
	uint8_t rmac[BENCH_MAX_SERVERS][6];
};

static uint32_t sum16(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint32_t s = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		s += (uint32_t)(b[i] << 8 | b[i + 1]);
	return s;
}

static uint16_t fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

static void build_template(struct tp_dpdk *t, unsigned s, unsigned p, const uint8_t dmac[6])
{
	uint8_t *h = t->tmpl[s * t->nparts + p];
	const struct bench_server *sv = &t->cfg->servers[s];
	uint16_t dport = (uint16_t)(sv->port + p);

	memset(h, 0, HDRS);
	memcpy(h, dmac, 6);
	memcpy(h + 6, t->mac.addr_bytes, 6);
	h[12] = 0x08;
	h[13] = 0x00;
	h[14] = 0x45;          /* IPv4, IHL 5 */
	h[20] = 0x40;          /* DF */
	h[22] = 64;            /* TTL */
	h[23] = 17;            /* UDP */
	memcpy(h + 26, &t->src_ip, 4);
	memcpy(h + 30, &sv->ip, 4);
	h[34] = (uint8_t)(t->src_port >> 8);
	h[35] = (uint8_t)t->src_port;
	h[36] = (uint8_t)(dport >> 8);
	h[37] = (uint8_t)dport;
	/* IPv4 header sum with total length and checksum 0 */
	t->tmpl_sum[s * t->nparts + p] = sum16(h + 14, 20);
}

static unsigned dpdk_tx_get(struct bench_tp *tp, struct bench_txd *d, unsigned n)
{
	struct tp_dpdk *t = (struct tp_dpdk *)tp;

	if (n > BENCH_BURST)
		n = BENCH_BURST;
	if (t->stage) {   /* large requests: mbufs are taken at send time */
		for (unsigned i = 0; i < n; i++) {
			d[i].buf = t->stage[i];
			d[i].cap = BENCH_REQ_MAX;
			d[i].len = 0;
			d[i].server = 0;
			d[i].part = 0;
		}
		return n;
	}
	while (n > 0 && rte_pktmbuf_alloc_bulk(t->pool, t->txm, n) != 0)
		n /= 2;
	for (unsigned i = 0; i < n; i++) {
		d[i].buf = rte_pktmbuf_mtod(t->txm[i], uint8_t *) + HDRS;
		d[i].cap = BENCH_DGRAM_MAX;
		d[i].len = 0;
		d[i].server = 0;
		d[i].part = 0;
	}
	return n;
}

static void finish_frame(struct tp_dpdk *t, struct rte_mbuf *m, const struct bench_txd *d)
{
	unsigned ti = d->server * t->nparts + d->part;
	uint8_t *f = rte_pktmbuf_mtod(m, uint8_t *);
	uint16_t udp_len = (uint16_t)(d->len + 8u);
	uint16_t ip_len = (uint16_t)(udp_len + 20u);
	uint16_t ck;

	memcpy(f, t->tmpl[ti], HDRS);
	f[16] = (uint8_t)(ip_len >> 8);
	f[17] = (uint8_t)ip_len;
	ck = (uint16_t)~fold(t->tmpl_sum[ti] + ip_len);
	f[24] = (uint8_t)(ck >> 8);
	f[25] = (uint8_t)ck;
	f[38] = (uint8_t)(udp_len >> 8);
	f[39] = (uint8_t)udp_len;
	if (t->udp_csum) {
		uint32_t s = sum16(f + 26, 8) + 17u + udp_len + sum16(f + 34, udp_len);
		if (udp_len & 1)
			s += (uint32_t)f[34 + udp_len - 1] << 8;
		ck = (uint16_t)~fold(s);
		if (ck == 0)
			ck = 0xffff;
		f[40] = (uint8_t)(ck >> 8);
		f[41] = (uint8_t)ck;
	}
	m->data_len = (uint16_t)(HDRS + d->len);
	m->pkt_len = m->data_len;
}

static unsigned tx_burst_retry(struct tp_dpdk *t, uint16_t q, struct rte_mbuf **m, unsigned n)
{
	unsigned done = 0;

	for (unsigned tries = 0; done < n && tries < 64; tries++)
		done += rte_eth_tx_burst(t->port, q, m + done, (uint16_t)(n - done));
	return done;
}

/* TX queue of partition @p part: its own with --steer (one of ours: see the key slices), else our first. */
static inline uint16_t txq(const struct tp_dpdk *t, uint16_t part)
{
	return (uint16_t)(t->nparts > 1 ? part % t->nq : t->qs[0]);
}

/*
 * One staged request as frames: one if it fits, else IPv4 fragments of at
 * most 1480 bytes of the UDP datagram each (MF on all but the last, offset
 * in 8-byte units, one IP id per datagram, DF off), the UDP header in the
 * first.  Returns the frames in @p m (at most 7 for BENCH_REQ_MAX), or 0 if
 * the pool is dry.
 */
#define FRAG_DATA 1480u

static unsigned stage_frames(struct tp_dpdk *t, const struct bench_txd *d, struct rte_mbuf **m)
{
	unsigned ti = d->server * t->nparts + d->part;
	uint16_t udp_len = (uint16_t)(d->len + 8u);
	unsigned nf = d->len <= BENCH_DGRAM_MAX ? 1 : (udp_len + FRAG_DATA - 1) / FRAG_DATA;
	uint8_t udp[8];

	if (rte_pktmbuf_alloc_bulk(t->pool, m, nf) != 0)
		return 0;
	if (nf == 1) {
		memcpy(rte_pktmbuf_mtod(m[0], uint8_t *) + HDRS, d->buf, d->len);
		finish_frame(t, m[0], d);
		return 1;
	}
	memcpy(udp, t->tmpl[ti] + 34, 4);   /* ports */
	udp[4] = (uint8_t)(udp_len >> 8);
	udp[5] = (uint8_t)udp_len;
	udp[6] = udp[7] = 0;                /* no checksum (IPv4 allows it) */
	t->ip_id++;
	for (unsigned f = 0; f < nf; f++) {
		uint8_t *fr = rte_pktmbuf_mtod(m[f], uint8_t *);
		unsigned off = f * FRAG_DATA, n = udp_len - off < FRAG_DATA ? udp_len - off : FRAG_DATA;
		uint16_t ip_len = (uint16_t)(20u + n), fo = (uint16_t)(off / 8u);
		uint16_t ck;

		memcpy(fr, t->tmpl[ti], 34);   /* Ethernet + IPv4 */
		fr[16] = (uint8_t)(ip_len >> 8);
		fr[17] = (uint8_t)ip_len;
		fr[18] = (uint8_t)(t->ip_id >> 8);
		fr[19] = (uint8_t)t->ip_id;
		fr[20] = (uint8_t)((f + 1 < nf ? 0x20 : 0) | (fo >> 8));   /* MF, offset; no DF */
		fr[21] = (uint8_t)fo;
		fr[24] = fr[25] = 0;
		ck = (uint16_t)~fold(sum16(fr + 14, 20));
		fr[24] = (uint8_t)(ck >> 8);
		fr[25] = (uint8_t)ck;
		if (f == 0) {
			memcpy(fr + 34, udp, 8);
			memcpy(fr + 42, d->buf, n - 8);
		} else {
			memcpy(fr + 34, d->buf + off - 8, n);
		}
		m[f]->data_len = (uint16_t)(34u + n);
		m[f]->pkt_len = m[f]->data_len;
	}
	return nf;
}

static unsigned dpdk_tx_send_staged(struct tp_dpdk *t, struct bench_txd *d, unsigned n)
{
	struct rte_mbuf *m[BENCH_REQ_MAX / FRAG_DATA + 1];
	unsigned sent = 0;

	for (unsigned i = 0; i < n; i++) {
		uint16_t q = t->qs[0];
		unsigned nf = stage_frames(t, &d[i], m), done;

		if (t->nq > 1)
			q = (uint16_t)(d[i].part % t->nq);
		if (t->cfg->frag_spread && nf > 1) {
			/* fragment f on queue (q + f) % nq: one datagram over several RX queues */
			done = 0;
			for (unsigned f = 0; f < nf && done == f; f++)
				done += tx_burst_retry(t, (uint16_t)((q + f) % t->nq), m + f, 1);
		} else {
			done = nf ? tx_burst_retry(t, q, m, nf) : 0;
		}
		if (nf && done == nf) {
			sent++;
			continue;
		}
		for (unsigned j = done; j < nf; j++)
			rte_pktmbuf_free(m[j]);
		d[i].len = 0;   /* a datagram missing a fragment is lost: count it refused */
	}
	t->tp.tx_refused += n - sent;
	return sent;
}

static unsigned dpdk_tx_send(struct bench_tp *tp, struct bench_txd *d, unsigned n)
{
	struct tp_dpdk *t = (struct tp_dpdk *)tp;
	struct rte_mbuf *q_m[BENCH_BURST];
	unsigned q_i[BENCH_BURST];
	unsigned sent = 0;
	uint64_t qmask = 0;

	if (t->stage)
		return dpdk_tx_send_staged(t, d, n);
	for (unsigned i = 0; i < n; i++) {
		finish_frame(t, t->txm[i], &d[i]);
		qmask |= 1ull << txq(t, d[i].part);
	}
	while (qmask) {
		uint16_t q = (uint16_t)__builtin_ctzll(qmask);
		unsigned k = 0, done;

		qmask &= qmask - 1;
		for (unsigned i = 0; i < n; i++) {
			if (txq(t, d[i].part) == q) {
				q_m[k] = t->txm[i];
				q_i[k++] = i;
			}
		}
		done = tx_burst_retry(t, q, q_m, k);
		sent += done;
		for (unsigned j = done; j < k; j++) {
			rte_pktmbuf_free(q_m[j]);
			d[q_i[j]].len = 0;
		}
	}
	tp->tx_refused += n - sent;
	return sent;
}

static void handle_arp(struct tp_dpdk *t, struct rte_mbuf *m)
{
	struct rte_ether_hdr *eh = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	struct rte_arp_hdr *ah;

	if (m->data_len < sizeof(*eh) + sizeof(*ah))
		return;
	ah = (struct rte_arp_hdr *)(eh + 1);
	if (ah->arp_hardware != rte_cpu_to_be_16(RTE_ARP_HRD_ETHER) ||
	    ah->arp_protocol != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4))
		return;
	if (ah->arp_opcode == rte_cpu_to_be_16(RTE_ARP_OP_REPLY)) {
		for (unsigned s = 0; s < t->nservers; s++) {
			if (ah->arp_data.arp_sip == t->cfg->servers[s].ip && !t->resolved[s]) {
				memcpy(t->rmac[s], ah->arp_data.arp_sha.addr_bytes, 6);
				t->resolved[s] = true;
			}
		}
		return;
	}
	if (ah->arp_opcode != rte_cpu_to_be_16(RTE_ARP_OP_REQUEST) ||
	    ah->arp_data.arp_tip != t->src_ip)
		return;
	/* answer in a fresh mbuf (the received one is released with its burst) */
	struct rte_mbuf *r = rte_pktmbuf_alloc(t->pool);
	if (!r)
		return;
	struct rte_ether_hdr *re = rte_pktmbuf_mtod(r, struct rte_ether_hdr *);
	struct rte_arp_hdr *ra = (struct rte_arp_hdr *)(re + 1);

	re->dst_addr = eh->src_addr;
	re->src_addr = t->mac;
	re->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP);
	*ra = *ah;
	ra->arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REPLY);
	ra->arp_data.arp_tha = ah->arp_data.arp_sha;
	ra->arp_data.arp_tip = ah->arp_data.arp_sip;
	ra->arp_data.arp_sha = t->mac;
	ra->arp_data.arp_sip = t->src_ip;
	r->data_len = (uint16_t)(sizeof(*re) + sizeof(*ra));
	r->pkt_len = r->data_len;
	if (tx_burst_retry(t, t->qs[0], &r, 1) != 1)
		rte_pktmbuf_free(r);
	else
		t->tp.arp_replies++;
}

static unsigned dpdk_rx(struct bench_tp *tp, struct bench_rxd *d, unsigned max)
{
	struct tp_dpdk *t = (struct tp_dpdk *)tp;
	unsigned got = 0, n = 0;

	if (t->nrx) {
		rte_pktmbuf_free_bulk(t->rxm, t->nrx);
		t->nrx = 0;
	}
	if (max > BENCH_BURST)
		max = BENCH_BURST;
	if (t->peer)
		(void)bench_reflector_poll(t->peer);
	for (uint16_t k = 0; k < t->nqs && got < max; k++) {
		uint16_t q = t->qs[t->rxq_next];

		t->rxq_next = (uint16_t)(t->rxq_next + 1 == t->nqs ? 0 : t->rxq_next + 1);
		got += rte_eth_rx_burst(t->port, q, t->rxm + got, (uint16_t)(max - got));
	}
	t->nrx = got;
	for (unsigned i = 0; i < got; i++) {
		struct rte_mbuf *m = t->rxm[i];
		const uint8_t *f = rte_pktmbuf_mtod(m, const uint8_t *);
		unsigned len = m->data_len, ulen;

		if (i + 1 < got)
			rte_prefetch0(rte_pktmbuf_mtod(t->rxm[i + 1], void *));
		if (len >= 14 && f[12] == 0x08 && f[13] == 0x06) {
			handle_arp(t, m);
			continue;
		}
		if (m->nb_segs != 1 || len < HDRS || f[12] != 0x08 || f[13] != 0x00 ||
		    f[14] != 0x45 || f[23] != 17 || memcmp(f + 30, &t->src_ip, 4) != 0 ||
		    (unsigned)(f[36] << 8 | f[37]) != t->src_port) {
			tp->rx_foreign++;
			continue;
		}
		ulen = (unsigned)(f[38] << 8 | f[39]);
		if (ulen < 8 || HDRS - 8 + ulen > len) {
			tp->rx_foreign++;
			continue;
		}
		d[n].buf = f + HDRS;
		d[n].len = (uint16_t)(ulen - 8);
		n++;
	}
	return n;
}

static void dpdk_close(struct bench_tp *tp)
{
	struct tp_dpdk *t = (struct tp_dpdk *)tp;

	if (!t)
		return;
	if (t->nrx)
		rte_pktmbuf_free_bulk(t->rxm, t->nrx);
	if (t->owner) {
		rte_eth_dev_stop(t->port);
		rte_eth_dev_close(t->port);
	}
	free(t->stage);
	free(t->tmpl);
	free(t->tmpl_sum);
	free(t);
}

static int dpdk_port_stats(struct bench_tp *tp, struct bench_port_stats *st)
{
	struct tp_dpdk *t = (struct tp_dpdk *)tp;
	struct rte_eth_stats es;
	int rc;

	if (!t->owner)
		return -ENOENT;
	rc = rte_eth_stats_get(t->port, &es);
	if (rc < 0)
		return rc;
	st->port = t->port;
	st->ipackets = es.ipackets;
	st->opackets = es.opackets;
	st->ibytes = es.ibytes;
	st->obytes = es.obytes;
	st->imissed = es.imissed;
	st->ierrors = es.ierrors;
	st->oerrors = es.oerrors;
	st->rx_nombuf = es.rx_nombuf;
	return 0;
}

static const struct bench_tp_ops dpdk_ops = {
	.tx_get = dpdk_tx_get,
	.tx_send = dpdk_tx_send,
	.rx = dpdk_rx,
	.close = dpdk_close,
	.port_stats = dpdk_port_stats,
};

unsigned bench_tp_queues(const struct bench_cfg *c)
{
	unsigned nq = c->steer > 1 ? c->steer : 1;

	if (c->queues > nq)
		nq = c->queues;
	if (c->ncores > nq)
		nq = c->ncores;
	return nq;
}

/* This lcore's queues: q % ncores == core. */
static void own_queues(struct tp_dpdk *t, unsigned core, unsigned ncores)
{
	t->nqs = 0;
	for (uint16_t q = 0; q < t->nq; q++)
		if (q % (ncores ? ncores : 1) == core)
			t->qs[t->nqs++] = q;
}

static int send_arp_request(struct tp_dpdk *t, uint32_t ip)
{
	struct rte_mbuf *r = rte_pktmbuf_alloc(t->pool);

	if (!r)
		return -ENOMEM;
	struct rte_ether_hdr *re = rte_pktmbuf_mtod(r, struct rte_ether_hdr *);
	struct rte_arp_hdr *ra = (struct rte_arp_hdr *)(re + 1);

	memset(&re->dst_addr, 0xff, sizeof(re->dst_addr));
	re->src_addr = t->mac;
	re->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP);
	ra->arp_hardware = rte_cpu_to_be_16(RTE_ARP_HRD_ETHER);
	ra->arp_protocol = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	ra->arp_hlen = 6;
	ra->arp_plen = 4;
	ra->arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REQUEST);
	ra->arp_data.arp_sha = t->mac;
	ra->arp_data.arp_sip = t->src_ip;
	memset(&ra->arp_data.arp_tha, 0, sizeof(ra->arp_data.arp_tha));
	ra->arp_data.arp_tip = ip;
	r->data_len = (uint16_t)(sizeof(*re) + sizeof(*ra));
	r->pkt_len = r->data_len;
	if (tx_burst_retry(t, t->qs[0], &r, 1) != 1) {
		rte_pktmbuf_free(r);
		return -EAGAIN;
	}
	return 0;
}

/* ARP for every server (retry every 100 ms, up to 5 s). */
static int resolve_servers(struct tp_dpdk *t)
{
	struct bench_rxd d[BENCH_BURST];
	uint64_t hz = rte_get_tsc_hz(), start = rte_get_tsc_cycles(), next = start;

	for (;;) {
		unsigned left = 0;
		uint64_t now = rte_get_tsc_cycles();

		for (unsigned s = 0; s < t->nservers; s++)
			left += !t->resolved[s];
		if (!left)
			return 0;
		if (now - start > 5 * hz || bench_stop_requested())
			return -ETIMEDOUT;
		if (now >= next) {
			for (unsigned s = 0; s < t->nservers; s++)
				if (!t->resolved[s])
					(void)send_arp_request(t, t->cfg->servers[s].ip);
			next = now + hz / 10;
		}
		(void)dpdk_rx(&t->tp, d, BENCH_BURST);
	}
}

int bench_dpdk_port_setup(uint16_t port, uint16_t nq, unsigned nb_mbufs, bool wait_link,
			  struct rte_mempool **poolp, struct rte_ether_addr *mac)
{
	struct rte_eth_conf conf;
	struct rte_eth_dev_info info;
	struct rte_eth_link link;
	struct rte_mempool *pool;
	char pname[32];
	uint64_t hz = rte_get_tsc_hz();
	int rc;

	if (!rte_eth_dev_is_valid_port(port)) {
		fprintf(stderr, "dpcache-bench: DPDK port %u does not exist (pass --vdev=...)\n", port);
		return -ENODEV;
	}
	/*
	 * Auto size: a full RX and TX ring per queue pair plus bursts in hand.
	 * Small on purpose: every mbuf is touched when the pool is populated,
	 * and fresh pages can be slow to fault in (in a VM) - 16K mbufs once
	 * took tens of seconds to start.
	 */
	if (!nb_mbufs) {
		nb_mbufs = 4095;
		while (nb_mbufs < (unsigned)nq * 2u * NB_DESC + 1024u)
			nb_mbufs = nb_mbufs * 2 + 1;
	}
	snprintf(pname, sizeof(pname), "bench_pool_%u", port);
	pool = rte_pktmbuf_pool_create(pname, nb_mbufs, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
				       (int)rte_socket_id());
	if (!pool)
		return -rte_errno;
	*poolp = pool;
	rc = rte_eth_dev_info_get(port, &info);
	if (rc < 0)
		return rc;
	if (nq > info.max_rx_queues || nq > info.max_tx_queues) {
		fprintf(stderr, "dpcache-bench: port %u has at most %u/%u queues, %u wanted\n",
			port, info.max_rx_queues, info.max_tx_queues, nq);
		return -EINVAL;
	}
	memset(&conf, 0, sizeof(conf));
	rc = rte_eth_dev_configure(port, nq, nq, &conf);
	if (rc < 0)
		return rc;
	uint16_t nrx = NB_DESC, ntx = NB_DESC;
	(void)rte_eth_dev_adjust_nb_rx_tx_desc(port, &nrx, &ntx);
	for (uint16_t q = 0; q < nq; q++) {
		rc = rte_eth_rx_queue_setup(port, q, nrx, (unsigned)rte_eth_dev_socket_id(port), NULL,
					    pool);
		if (rc < 0)
			return rc;
		rc = rte_eth_tx_queue_setup(port, q, ntx, (unsigned)rte_eth_dev_socket_id(port), NULL);
		if (rc < 0)
			return rc;
	}
	/* memif client before its server: start fails until the server is up; retry 10 s. */
	for (uint64_t t0 = rte_get_tsc_cycles();;) {
		rc = rte_eth_dev_start(port);
		if (rc == 0)
			break;
		if (rte_get_tsc_cycles() - t0 > 10 * hz || bench_stop_requested())
			return rc;
		usleep(100 * 1000);
	}
	(void)rte_eth_promiscuous_enable(port);
	rc = rte_eth_macaddr_get(port, mac);
	if (rc < 0 || !wait_link)
		return rc;
	for (uint64_t t0 = rte_get_tsc_cycles();;) {
		memset(&link, 0, sizeof(link));
		(void)rte_eth_link_get_nowait(port, &link);
		if (link.link_status == RTE_ETH_LINK_UP)
			return 0;
		if (rte_get_tsc_cycles() - t0 > 10 * hz || bench_stop_requested()) {
			fprintf(stderr, "dpcache-bench: port %u link down after 10 s\n", port);
			return -ETIMEDOUT;
		}
		usleep(10 * 1000);
	}
}

int bench_ring_pair(unsigned idx, uint16_t *a, uint16_t *b)
{
	struct rte_ring *ab, *ba;
	char n[4][32];
	int pa, pb;

	snprintf(n[0], sizeof(n[0]), "bench_dry_ab%u", idx);
	snprintf(n[1], sizeof(n[1]), "bench_dry_ba%u", idx);
	snprintf(n[2], sizeof(n[2]), "bench_dry_a%u", idx);
	snprintf(n[3], sizeof(n[3]), "bench_dry_b%u", idx);
	ab = rte_ring_create(n[0], 4096, (int)rte_socket_id(), RING_F_SP_ENQ | RING_F_SC_DEQ);
	ba = rte_ring_create(n[1], 4096, (int)rte_socket_id(), RING_F_SP_ENQ | RING_F_SC_DEQ);
	if (!ab || !ba)
		return -rte_errno;
	pa = rte_eth_from_rings(n[2], &ba, 1, &ab, 1, rte_socket_id());
	pb = rte_eth_from_rings(n[3], &ab, 1, &ba, 1, rte_socket_id());
	if (pa < 0 || pb < 0)
		return -rte_errno;
	*a = (uint16_t)pa;
	*b = (uint16_t)pb;
	return 0;
}

struct bench_tp *bench_tp_dpdk_open(struct bench_cfg *c)
{
	return bench_tp_dpdk_open_peer(c, NULL);
}

struct bench_tp *bench_tp_dpdk_open_peer(struct bench_cfg *c, struct bench_reflector *peer)
{
	struct tp_dpdk *t;
	int rc = -ENOMEM;

	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->tp.ops = &dpdk_ops;
	t->tp.name = "dpdk";
	t->cfg = c;
	t->peer = peer;
	t->port = c->port_id;
	t->src_ip = c->src_ip;
	t->src_port = c->src_port ? c->src_port : 40000;
	t->udp_csum = c->udp_csum;
	t->nservers = c->nservers;
	t->nparts = c->steer > 1 ? c->steer : 1;
	/* --dry-run: a ring pair per lcore, one queue each */
	t->nq = (uint16_t)(peer ? 1 : bench_tp_queues(c));
	t->owner = true;
	own_queues(t, 0, peer ? 1 : c->ncores);
	t->tmpl = calloc((size_t)t->nservers * t->nparts, HDRS);
	t->tmpl_sum = calloc((size_t)t->nservers * t->nparts, sizeof(*t->tmpl_sum));
	if (!t->tmpl || !t->tmpl_sum)
		goto fail;
	if (bench_req_max(c) > BENCH_DGRAM_MAX) {
		t->stage = malloc(BENCH_BURST * sizeof(*t->stage));
		if (!t->stage)
			goto fail;
	}
	rc = bench_dpdk_port_setup(t->port, t->nq, c->nb_mbufs, true, &t->pool, &t->mac);
	if (rc < 0)
		goto fail;
	if (c->have_dst_mac) {
		for (unsigned s = 0; s < t->nservers; s++) {
			memcpy(t->rmac[s], c->dst_mac, 6);
			t->resolved[s] = true;
		}
	} else {
		rc = resolve_servers(t);
		if (rc < 0) {
			fprintf(stderr, "dpcache-bench: no ARP reply from the server(s) in 5 s "
				"(give --dst-mac)\n");
			goto fail;
		}
	}
	for (unsigned s = 0; s < t->nservers; s++) {
		memcpy(c->servers[s].mac, t->rmac[s], 6);
		for (unsigned p = 0; p < t->nparts; p++)
			build_template(t, s, p, t->rmac[s]);
	}
	return &t->tp;
fail:
	free(t->stage);
	free(t->tmpl);
	free(t->tmpl_sum);
	free(t);
	errno = rc < 0 ? -rc : EIO;
	return NULL;
}

struct bench_tp *bench_tp_dpdk_open_core(struct bench_tp *first, unsigned core)
{
	const struct tp_dpdk *f = (const struct tp_dpdk *)first;
	struct tp_dpdk *t = calloc(1, sizeof(*t));
	size_t nt = (size_t)f->nservers * f->nparts;

	if (!t)
		return NULL;
	*t = *f;
	t->owner = false;
	t->nrx = 0;
	t->rxq_next = 0;
	t->tp.rx_foreign = t->tp.rx_trunc = t->tp.tx_refused = t->tp.arp_replies = 0;
	t->src_port = (uint16_t)(f->src_port + core);
	own_queues(t, core, f->cfg->ncores);
	t->tmpl = calloc(nt, HDRS);
	t->tmpl_sum = calloc(nt, sizeof(*t->tmpl_sum));
	t->stage = f->stage ? malloc(BENCH_BURST * sizeof(*t->stage)) : NULL;
	if (!t->tmpl || !t->tmpl_sum || t->nqs == 0 || (f->stage && !t->stage)) {
		free(t->stage);
		free(t->tmpl);
		free(t->tmpl_sum);
		free(t);
		errno = ENOMEM;
		return NULL;
	}
	for (unsigned s = 0; s < t->nservers; s++)
		for (unsigned p = 0; p < t->nparts; p++)
			build_template(t, s, p, t->rmac[s]);
	return &t->tp;
}
