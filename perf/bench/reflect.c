/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dpcache-bench --reflect: a minimal memcached-binary-over-UDP responder on
 * a DPDK port, as fast as one lcore allows.  It keeps no data: every GET,
 * GETK, GETQ, GETKQ of a key made by the bench ("k<hex>") is a hit whose
 * value is generated from the key (version 0), so the bench's content
 * checks pass; SET/SETQ are acknowledged; NOOP answered; anything else
 * gets Unknown command.  Replies are written into the request's mbuf.
 * Its purpose: measure the load generator's own ceiling (bench vs
 * reflector over memif), so that a server's figure can be read against it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>

#include "bench.h"

#define HDRS 42u

struct bench_reflector {
	const struct bench_cfg *cfg;
	uint16_t port, nq;
	struct rte_mempool *pool;
	struct rte_ether_addr mac;
	uint16_t port_lo, port_hi;
	uint64_t rx, tx, requests, dropped, foreign, arp;
	uint8_t out[DPC_UDP_MAX_PAYLOAD];
};

static size_t put_res(uint8_t *p, const uint8_t *req, uint8_t op, uint16_t status, uint8_t extlen,
		      uint16_t keylen, uint32_t vlen)
{
	uint32_t body = extlen + keylen + vlen;

	p[0] = DPC_MC_RES_MAGIC;
	p[1] = op;
	p[2] = (uint8_t)(keylen >> 8);
	p[3] = (uint8_t)keylen;
	p[4] = extlen;
	p[5] = 0;
	p[6] = (uint8_t)(status >> 8);
	p[7] = (uint8_t)status;
	p[8] = (uint8_t)(body >> 24);
	p[9] = (uint8_t)(body >> 16);
	p[10] = (uint8_t)(body >> 8);
	p[11] = (uint8_t)body;
	memcpy(p + 12, req + 12, 4);          /* opaque */
	memset(p + 16, 0, 7);
	p[23] = 1;                            /* CAS 1 */
	return 24;
}

/*
 * Key index of a bench key ("k" + hex digits), branch-free over the last
 * 16 digits; UINT64_MAX if it does not start with 'k'.  Other characters
 * give some index: a reflector need not be strict.
 */
static inline uint64_t key_parse_fast(const uint8_t *key, unsigned len)
{
	uint64_t v = 0;
	unsigned p = len > 17 ? len - 16 : 1;

	if (len < 2 || key[0] != 'k')
		return UINT64_MAX;
	for (; p < len; p++)
		v = v << 4 | (uint64_t)((key[p] & 0xfu) + (key[p] >> 6) * 9u);
	return v;
}

/* Answer the requests in @p in (after the frame header); returns bytes written to out. */
static size_t answer(struct bench_reflector *r, const uint8_t *in, size_t len)
{
	uint8_t *o = r->out, *end = r->out + sizeof(r->out) - DPC_UDP_FRAME_LEN;
	size_t off = 0;
	unsigned vs = r->cfg->value_size;

	while (off + 24 <= len && in[off] == DPC_MC_REQ_MAGIC) {
		const uint8_t *q = in + off;
		uint8_t op = q[1], extlen = q[4];
		uint16_t klen = (uint16_t)(q[2] << 8 | q[3]);
		uint32_t body = (uint32_t)q[8] << 24 | (uint32_t)q[9] << 16 | (uint32_t)q[10] << 8 | q[11];
		const uint8_t *key = q + 24 + extlen;

		if (off + 24 + body > len || extlen + klen > body)
			break;
		off += 24 + body;
		r->requests++;
		switch (op) {
		case DPC_OP_GET: case DPC_OP_GETQ: case DPC_OP_GETK: case DPC_OP_GETKQ: {
			uint64_t k = key_parse_fast(key, klen);
			bool withkey = op == DPC_OP_GETK || op == DPC_OP_GETKQ;
			size_t need = 24 + 4 + (withkey ? klen : 0) + vs;

			if (k == UINT64_MAX) {
				if (op == DPC_OP_GETQ || op == DPC_OP_GETKQ)
					break;
				if (o + 24 > end)
					goto full;
				o += put_res(o, q, op, DPC_MC_KEY_ENOENT, 0, 0, 0);
				break;
			}
			if (o + need > end)
				goto full;
			o += put_res(o, q, op, DPC_MC_OK, 4, withkey ? klen : 0, vs);
			uint32_t fl = bench_value_flags(k);
			o[0] = (uint8_t)(fl >> 24);
			o[1] = (uint8_t)(fl >> 16);
			o[2] = (uint8_t)(fl >> 8);
			o[3] = (uint8_t)fl;
			o += 4;
			if (withkey) {
				memcpy(o, key, klen);
				o += klen;
			}
			bench_value_fill(o, vs, k, 0);
			o += vs;
			break;
		}
		case DPC_OP_SETQ:
			break;
		case DPC_OP_SET: case DPC_OP_NOOP:
			if (o + 24 > end)
				goto full;
			o += put_res(o, q, op, DPC_MC_OK, 0, 0, 0);
			break;
		default:
			if (o + 24 > end)
				goto full;
			o += put_res(o, q, op, DPC_MC_UNKNOWN_COMMAND, 0, 0, 0);
			break;
		}
	}
	return (size_t)(o - r->out);
full:
	r->dropped++;      /* the rest would need a second datagram: not a reflector's job */
	return (size_t)(o - r->out);
}

/* ARP request for our address: reply in place.  Returns true if @p m is to be sent. */
static bool arp_reply(struct bench_reflector *r, struct rte_mbuf *m)
{
	uint8_t *f = rte_pktmbuf_mtod(m, uint8_t *);
	uint8_t tmp[4];

	if (m->data_len < 42 || f[20] != 0 || f[21] != 1 ||
	    memcmp(f + 38, &r->cfg->servers[0].ip, 4) != 0)
		return false;
	memcpy(f, f + 6, 6);
	memcpy(f + 6, r->mac.addr_bytes, 6);
	f[21] = 2;
	memcpy(f + 32, f + 22, 6);             /* tha = sha */
	memcpy(tmp, f + 28, 4);
	memcpy(f + 28, f + 38, 4);             /* spa = our ip */
	memcpy(f + 38, tmp, 4);                /* tpa = requester */
	memcpy(f + 22, r->mac.addr_bytes, 6);
	r->arp++;
	return true;
}

static bool reflect_one(struct bench_reflector *r, struct rte_mbuf *m)
{
	uint8_t *f = rte_pktmbuf_mtod(m, uint8_t *);
	unsigned len = m->data_len, ulen, dport;
	uint8_t tmp[6];
	size_t n;

	if (len >= 42 && f[12] == 0x08 && f[13] == 0x06)
		return arp_reply(r, m);
	if (m->nb_segs != 1 || len < HDRS + DPC_UDP_FRAME_LEN || f[12] != 0x08 || f[13] != 0x00 ||
	    f[14] != 0x45 || f[23] != 17)
		goto foreign;
	dport = (unsigned)(f[36] << 8 | f[37]);
	ulen = (unsigned)(f[38] << 8 | f[39]);
	if (dport < r->port_lo || dport > r->port_hi || ulen < 8 + DPC_UDP_FRAME_LEN ||
	    HDRS - 8 + ulen > len)
		goto foreign;
	n = answer(r, f + HDRS + DPC_UDP_FRAME_LEN, ulen - 8 - DPC_UDP_FRAME_LEN);
	if (!n)
		return false;
	/* frame header: echo the request id, one datagram */
	f[HDRS + 2] = 0;
	f[HDRS + 3] = 0;
	f[HDRS + 4] = 0;
	f[HDRS + 5] = 1;
	memcpy(f + HDRS + DPC_UDP_FRAME_LEN, r->out, n);
	memcpy(tmp, f, 6);
	memcpy(f, f + 6, 6);
	memcpy(f + 6, tmp, 6);
	memcpy(tmp, f + 26, 4);
	memcpy(f + 26, f + 30, 4);
	memcpy(f + 30, tmp, 4);
	memcpy(tmp, f + 34, 2);
	memcpy(f + 34, f + 36, 2);
	memcpy(f + 36, tmp, 2);
	uint16_t udp_len = (uint16_t)(8 + DPC_UDP_FRAME_LEN + n), ip_len = (uint16_t)(udp_len + 20);
	f[16] = (uint8_t)(ip_len >> 8);
	f[17] = (uint8_t)ip_len;
	f[24] = 0;
	f[25] = 0;
	f[38] = (uint8_t)(udp_len >> 8);
	f[39] = (uint8_t)udp_len;
	f[40] = 0;
	f[41] = 0;
	uint16_t ck = rte_ipv4_cksum((const struct rte_ipv4_hdr *)(f + 14));
	memcpy(f + 24, &ck, 2);
	m->data_len = (uint16_t)(14 + ip_len);
	m->pkt_len = m->data_len;
	return true;
foreign:
	r->foreign++;
	return false;
}

struct bench_reflector *bench_reflector_open(const struct bench_cfg *c, uint16_t port, uint16_t nq)
{
	struct bench_reflector *r = calloc(1, sizeof(*r));
	int rc;

	if (!r)
		return NULL;
	r->cfg = c;
	r->port = port;
	r->nq = nq;
	r->port_lo = c->reflect_port;
	r->port_hi = (uint16_t)(c->reflect_port + r->nq - 1);
	rc = bench_dpdk_port_setup(r->port, r->nq, c->nb_mbufs, false, &r->pool, &r->mac);
	if (rc < 0) {
		fprintf(stderr, "dpcache-bench: reflector on port %u: %s\n", r->port, strerror(-rc));
		free(r);
		errno = -rc;
		return NULL;
	}
	return r;
}

unsigned bench_reflector_poll(struct bench_reflector *r)
{
	struct rte_mbuf *rx[BENCH_BURST], *tx[BENCH_BURST];
	unsigned total = 0;

	for (uint16_t q = 0; q < r->nq; q++) {
		uint16_t n = rte_eth_rx_burst(r->port, q, rx, BENCH_BURST), k = 0, sent = 0;

		if (!n)
			continue;
		total += n;
		r->rx += n;
		for (uint16_t i = 0; i < n; i++) {
			if (i + 1 < n)
				rte_prefetch0(rte_pktmbuf_mtod(rx[i + 1], void *));
			if (reflect_one(r, rx[i]))
				tx[k++] = rx[i];
			else
				rte_pktmbuf_free(rx[i]);
		}
		for (unsigned tries = 0; sent < k && tries < 64; tries++)
			sent = (uint16_t)(sent + rte_eth_tx_burst(r->port, q, tx + sent,
								  (uint16_t)(k - sent)));
		r->tx += sent;
		if (sent < k) {
			r->dropped += (uint64_t)(k - sent);
			rte_pktmbuf_free_bulk(tx + sent, (unsigned)(k - sent));
		}
	}
	return total;
}

void bench_reflector_close(struct bench_reflector *r)
{
	if (!r)
		return;
	fprintf(stderr, "dpcache-bench reflector: rx %llu, tx %llu, requests %llu, dropped %llu, "
		"foreign %llu, arp %llu\n", (unsigned long long)r->rx, (unsigned long long)r->tx,
		(unsigned long long)r->requests, (unsigned long long)r->dropped,
		(unsigned long long)r->foreign, (unsigned long long)r->arp);
	rte_eth_dev_stop(r->port);
	rte_eth_dev_close(r->port);
	free(r);
}

int bench_run_reflect(struct bench_cfg *c)
{
	struct bench_reflector *r;
	uint64_t hz = bench_tsc_hz(), t0, next, last_rx = 0, end;
	uint16_t nq = (uint16_t)(c->steer > 1 ? c->steer : 1);

	if (c->queues > nq)
		nq = (uint16_t)c->queues;   /* as many as a bench with several lcores opens */

	r = bench_reflector_open(c, c->port_id, nq);
	if (!r)
		return -errno;
	fprintf(stderr, "dpcache-bench --reflect: port %u, %u queue(s), UDP %u..%u, ARP for %s, "
		"value %u bytes\n", r->port, r->nq, r->port_lo, r->port_hi, c->servers[0].host,
		c->value_size);
	t0 = bench_tsc();
	next = t0 + hz;
	end = c->reflect_s > 0 ? t0 + (uint64_t)(c->reflect_s * (double)hz) : UINT64_MAX;
	while (!bench_stop_requested()) {
		uint64_t now;

		(void)bench_reflector_poll(r);
		now = bench_tsc();
		if (now >= next) {
			if (c->progress)
				fprintf(stderr, "[reflect] %.3f Mpps  (rx %llu, tx %llu, dropped %llu)\n",
					(double)(r->rx - last_rx) / 1e6, (unsigned long long)r->rx,
					(unsigned long long)r->tx, (unsigned long long)r->dropped);
			last_rx = r->rx;
			next += hz;
		}
		if (now >= end)
			break;
	}
	bench_reflector_close(r);
	return 0;
}
