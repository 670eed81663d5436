/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * reasm_bench: what a fragmented request costs dpcached before the handler
 * sees it, stage by stage, per datagram (DPDK-free: the same engine and
 * packet code the worker runs, on buffers laid out like mbufs).
 *   table:    dpc_reasm_add() of every fragment (lookup, sort, overlap check)
 *   copy:     gathering the fragments' payloads into one 64 KiB buffer (what
 *             worker.c rx_chained() does with rte_pktmbuf_read())
 *   classify: dpc_pkt_classify() of the whole datagram (UDP checksum over it)
 * The copy is the price of contiguous codecs: parsing across segments would
 * save it, nothing else.  Usage: reasm_bench [ITERATIONS (20000)]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dpcache/pkt.h"
#include "reasm.h"

#define FRAG_DATA 1480u
#define SEG_ROOM 2176u     /* an mbuf's buffer: RTE_MBUF_DEFAULT_BUF_SIZE */

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void no_free(void *ctx, void **h, unsigned n)
{
	(void)ctx;
	(void)h;
	(void)n;
}

static void run(unsigned udp_payload, unsigned iters)
{
	static uint8_t whole[DPC_ETH_HLEN + 65536], big[DPC_ETH_HLEN + 65536];
	static struct dpc_worker_stats st;
	const uint8_t mac[6] = { 2, 0, 0, 0, 0, 1 }, peer[6] = { 2, 0, 0, 0, 0, 2 };
	uint32_t src = 0x0200a8c0, dst = 0x0100a8c0;
	struct dpc_netcfg cfg = { .ip = dst, .port_lo = 11211, .port_count = 1 };
	unsigned ip_payload = DPC_UDP_HLEN + udp_payload;
	unsigned nfrag = (ip_payload + FRAG_DATA - 1) / FRAG_DATA;
	uint8_t *seg = malloc((size_t)nfrag * SEG_ROOM);
	struct dpc_reasm_params p = { .max_entries = 64, .max_frags = 64, .max_bytes = 64u << 20,
				      .timeout = ~0ull >> 1, .free_bulk = no_free, .stats = &st };
	struct dpc_reasm *r = dpc_reasm_create(&p);
	struct dpc_pkt_info info;
	double t_table = 0, t_copy = 0, t_cls = 0;
	unsigned ok = 0;

	if (seg == NULL || r == NULL) {
		perror("reasm_bench");
		exit(1);
	}
	memcpy(cfg.mac, mac, 6);
	for (unsigned i = 0; i < udp_payload; i++)
		whole[DPC_HDRS_LEN + i] = (uint8_t)(i * 31);
	dpc_pkt_udp_build(whole, peer, mac, src, dst, 40000, 11211, (uint16_t)udp_payload, true);
	/* the fragments' payloads, each in a buffer of its own, as mbufs would hold them */
	for (unsigned f = 0; f < nfrag; f++) {
		unsigned off = f * FRAG_DATA;
		unsigned len = ip_payload - off < FRAG_DATA ? ip_payload - off : FRAG_DATA;
		memcpy(seg + (size_t)f * SEG_ROOM, whole + DPC_ETH_HLEN + DPC_IP4_HLEN + off, len);
	}
	for (unsigned it = 0; it < iters; it++) {
		struct dpc_reasm_key k = { .src = src, .dst = dst, .id = (uint16_t)it, .proto = 17 };
		struct dpc_reasm_done d = { 0 };
		double t0 = now_ns(), t1, t2, t3;
		unsigned at = DPC_ETH_HLEN + DPC_IP4_HLEN;

		for (unsigned f = 0; f < nfrag; f++) {
			unsigned off = f * FRAG_DATA;
			unsigned len = ip_payload - off < FRAG_DATA ? ip_payload - off : FRAG_DATA;

			(void)dpc_reasm_add(r, &k, (uint16_t)off, (uint16_t)len, f + 1 < nfrag,
					    seg + (size_t)f * SEG_ROOM, SEG_ROOM, 0, &d);
		}
		t1 = now_ns();
		memcpy(big, whole, DPC_ETH_HLEN + DPC_IP4_HLEN); /* headers: the first segment's */
		for (unsigned f = 0; f < d.n; f++) {
			memcpy(big + at, d.frags[f].handle, d.frags[f].len);
			at += d.frags[f].len;
		}
		t2 = now_ns();
		ok += dpc_pkt_classify(big, at, &cfg, false, &info) == DPC_PKT_UDP;
		t3 = now_ns();
		t_table += t1 - t0;
		t_copy += t2 - t1;
		t_cls += t3 - t2;
	}
	printf("%6u-byte request in %2u fragments: table %7.0f ns, copy %6.0f ns, classify %6.0f ns "
	       "per datagram (%u of %u whole)\n", udp_payload, nfrag, t_table / iters, t_copy / iters,
	       t_cls / iters, ok, iters);
	dpc_reasm_free(r);
	free(seg);
}

int main(int argc, char **argv)
{
	unsigned iters = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 20000;

	if (iters == 0)
		iters = 1;
	run(20 * 1024, iters);
	run(60 * 1024, iters);
	run(65507, iters);
	return 0;
}
