/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The forwarding rings' admission (dataplane/fwd.h, fwd.c) on real DPDK
 * rings and mbufs (EAL without hugepages or PCI): two workers, worker 0
 * forwarding into worker 1's inbox, which nobody drains unless the test
 * says so (a stalled or preempted owner: the case the bounds are for).
 *   - one source stops at its share of the ring (drop_ring_share), and
 *     another source's datagrams still get in; without the share
 *     (ring_source_share 100, set at run time) the first source fills the
 *     ring and the second is refused (drop_ring_full);
 *   - entries taken out by the consumer give the source its room back;
 *   - chains of reassembled datagrams stop at the chain share
 *     (drop_ring_chains), and the mbufs they hold never exceed what the
 *     pool reserves for them (dpc_fwd_pool_mbufs());
 *   - the pool arithmetic for several worker counts.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <rte_eal.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>
#include <rte_ring.h>

/* The code under test, compiled into this binary (dpcached is not a library). */
#include "../../dataplane/fwd.c"
#include "../../dataplane/fwd.h"

int dpc_logtype = RTE_LOGTYPE_USER1;

#define RING 64u /* ring_size: 63 usable entries */
#define NMBUF 1024u

static struct dpc_config cfg;
static struct dpc_worker w[2];
static struct dpc_worker_stats st[2];
static struct rte_ring *rings[2];
static struct rte_mempool *pool;

static int setup(void **state)
{
	static char a[8][64];
	static const char *const fixed[] = { "test_fwd", "--no-huge", "-m", "64", "--no-pci",
					     "--no-shconf", "--log-level=lib.eal:error" };
	static char *args[8];
	static const struct rte_mbuf_dynfield dyn = {
		.name = "dpcache_pkt_info",
		.size = sizeof(struct dpc_pkt_info),
		.align = __alignof__(struct dpc_pkt_info),
	};
	int n, dynoff;

	(void)state;
	for (n = 0; n < 7; n++) {
		snprintf(a[n], sizeof(a[n]), "%s", fixed[n]);
		args[n] = a[n];
	}
	snprintf(a[n], sizeof(a[n]), "--file-prefix=dpc_test_fwd_%d", (int)getpid());
	args[n] = a[n];
	n++;
	if (rte_eal_init(n, args) < 0)
		return -1;
	pool = rte_pktmbuf_pool_create("test_fwd", NMBUF, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
				       (int)rte_socket_id());
	dynoff = rte_mbuf_dynfield_register(&dyn);
	rings[0] = rte_ring_create("test_fwd0", RING, (int)rte_socket_id(), RING_F_SC_DEQ);
	rings[1] = rte_ring_create("test_fwd1", RING, (int)rte_socket_id(), RING_F_SC_DEQ);
	if (pool == NULL || dynoff < 0 || rings[0] == NULL || rings[1] == NULL)
		return -1;
	dpc_config_defaults(&cfg);
	cfg.ring_size = RING;
	cfg.ring_source_share = 25;  /* 63 x 25 % = 15 entries per source */
	cfg.ring_chain_mbufs = 64;
	cfg.reasm_max_frags = 8;
	for (unsigned i = 0; i < 2; i++) {
		w[i].id = i;
		w[i].nworkers = 2;
		w[i].dynoff = dynoff;
		w[i].rings = rings;
		w[i].peers = w;
		w[i].cfg = &cfg;
		w[i].st = &st[i];
		if (dpc_fwd_init(&w[i], &cfg, 2) != 0)
			return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	for (unsigned i = 0; i < 2; i++)
		dpc_fwd_fini(&w[i]);
	rte_ring_free(rings[0]);
	rte_ring_free(rings[1]);
	rte_mempool_free(pool);
	rte_eal_cleanup();
	return 0;
}

/* A frame from @p src (host order): Ethernet + IPv4 header, enough for the source lookup. */
static struct rte_mbuf *frame_from(uint32_t src, struct dpc_pkt_info *info)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
	uint8_t *p;
	uint32_t be = __builtin_bswap32(src);

	assert_non_null(m);
	p = (uint8_t *)rte_pktmbuf_append(m, 60);
	memset(p, 0, 60);
	p[14] = 0x45;
	memcpy(p + 14 + 12, &be, 4);
	memset(info, 0, sizeof(*info));
	info->l3_off = 14;
	return m;
}

static unsigned slot_of(uint32_t src)
{
	uint32_t be = __builtin_bswap32(src);

	return (uint32_t)((be ^ w[0].fwd.seed) * 0x9e3779b1u) >> (32 - DPC_FWD_SLOT_BITS);
}

/* Worker 0 forwards @p n datagrams from @p src to worker 1; returns how many got in. */
static unsigned flood(uint32_t src, unsigned n)
{
	unsigned in = 0;

	for (unsigned i = 0; i < n; i++) {
		struct dpc_pkt_info info;
		struct rte_mbuf *m = frame_from(src, &info);

		if (dpc_fwd_enqueue(&w[0], 1, m, rte_pktmbuf_mtod(m, const uint8_t *), &info) == 0)
			in++;
		else
			rte_pktmbuf_free(m);
	}
	return in;
}

/* Worker 1 drains its inbox (up to @p n entries), accounting as ring_drain() does. */
static unsigned drain(unsigned n)
{
	void *e;
	unsigned got = 0;

	while (got < n && rte_ring_sc_dequeue(rings[1], &e) == 0) {
		struct rte_mbuf *m = e;
		const struct dpc_pkt_info *info = RTE_MBUF_DYNFIELD(m, w[1].dynoff, struct dpc_pkt_info *);
		unsigned from = info->fwd_from, slot = info->fwd_slot;
		uint32_t segs = m->nb_segs;

		assert_int_equal(from, 0);
		rte_pktmbuf_free(m);
		dpc_fwd_taken(&w[1], from, slot, segs);
		got++;
	}
	return got;
}

static void test_source_share(void **state)
{
	const uint32_t a = 0xc6120002; /* 198.18.0.2 floods */
	uint32_t b = 0xc6120003;       /* 198.18.0.3: another slot */

	(void)state;
	while (slot_of(b) == slot_of(a))
		b++;
	memset(&st[0], 0, sizeof(st[0]));
	assert_int_equal(w[0].fwd.share, 15);
	/* the flood: 100 datagrams, 15 get in */
	assert_int_equal(flood(a, 100), 15);
	assert_int_equal(dpc_stat_load(&st[0], drop_ring_share), 85);
	assert_int_equal(dpc_stat_load(&st[0], drop_ring_full), 0);
	/* another source is still served in full */
	assert_int_equal(flood(b, 10), 10);
	assert_int_equal(rte_ring_count(rings[1]), 25);
	/* the owner takes 5 out (the oldest: the flooder's): 5 more of the flood get in */
	assert_int_equal(drain(5), 5);
	assert_int_equal(flood(a, 100), 5);
	assert_int_equal(drain(RING), 25);

	/* without the share (ring_source_share 100: the whole ring, at run time) the flood
	 * fills the ring and the other source is refused: the failure the share prevents */
	cfg.ring_source_share = 100;
	memset(&st[0], 0, sizeof(st[0]));
	assert_int_equal(flood(a, 100), RING - 1);
	assert_int_equal(w[0].fwd.share, UINT32_MAX);
	assert_int_equal(flood(b, 10), 0);
	assert_int_equal(dpc_stat_load(&st[0], drop_ring_full), 100 - (RING - 1) + 10);
	assert_int_equal(dpc_stat_load(&st[0], drop_ring_share), 0);
	assert_int_equal(drain(RING), RING - 1);
	cfg.ring_source_share = 25;
	assert_int_equal(flood(b, 100), 15);
	assert_int_equal(drain(RING), 15);
}

/* A reassembled datagram: a chain of @p segs mbufs, headers in the first. */
static struct rte_mbuf *chain_from(uint32_t src, unsigned segs, struct dpc_pkt_info *info)
{
	struct rte_mbuf *head = frame_from(src, info);

	for (unsigned i = 1; i < segs; i++) {
		struct rte_mbuf *m = rte_pktmbuf_alloc(pool);

		assert_non_null(m);
		assert_non_null(rte_pktmbuf_append(m, 1480));
		assert_int_equal(rte_pktmbuf_chain(head, m), 0);
	}
	return head;
}

static void test_chain_share(void **state)
{
	unsigned in = 0, peak = 0;
	unsigned reserved = dpc_fwd_pool_mbufs(&cfg, 2);

	(void)state;
	memset(&st[0], 0, sizeof(st[0]));
	assert_int_equal(w[0].fwd.chain_share, 64);
	assert_int_equal(reserved, 64);
	/* 8-mbuf chains from many sources (each within its own share): 8 fit, then refused */
	for (unsigned i = 0; i < 40; i++) {
		struct dpc_pkt_info info;
		struct rte_mbuf *m = chain_from(0x0a000000 + i * 977, 8, &info);

		if (dpc_fwd_enqueue(&w[0], 1, m, rte_pktmbuf_mtod(m, const uint8_t *), &info) == 0)
			in++;
		else
			rte_pktmbuf_free(m);
		unsigned held = (unsigned)(NMBUF - rte_mempool_avail_count(pool));

		peak = held > peak ? held : peak;
	}
	assert_int_equal(in, 8);
	assert_int_equal(dpc_stat_load(&st[0], drop_ring_chains), 32);
	/* what the ring's chains hold never went past the pool's reserve for them */
	assert_true(peak <= reserved);
	/* single-mbuf datagrams are not held back by the chains */
	assert_int_equal(flood(0xc6120002, 3), 3);
	/* one chain processed and freed: room for one more */
	assert_int_equal(drain(1), 1);
	{
		struct dpc_pkt_info info;
		struct rte_mbuf *m = chain_from(0x0b000001, 8, &info);

		assert_int_equal(dpc_fwd_enqueue(&w[0], 1, m, rte_pktmbuf_mtod(m, const uint8_t *),
						 &info), 0);
	}
	assert_int_equal(drain(RING), 8 + 3);
	assert_int_equal(rte_mempool_avail_count(pool), NMBUF);
}

static void test_pool_arithmetic(void **state)
{
	struct dpc_config c;

	(void)state;
	dpc_config_defaults(&c);
	/* defaults: ring_chain_mbufs 1024, reasm_max_frags 64 */
	assert_int_equal(dpc_fwd_pool_mbufs(&c, 1), 0);    /* nothing is forwarded */
	assert_int_equal(dpc_fwd_pool_mbufs(&c, 2), 1024);
	assert_int_equal(dpc_fwd_pool_mbufs(&c, 8), 7 * 146);
	/* every sender may always have one maximal datagram in flight */
	assert_int_equal(dpc_fwd_pool_mbufs(&c, 64), 63 * 64);
	c.reasm_entries = 0;                              /* no reassembly: no chains */
	assert_int_equal(dpc_fwd_pool_mbufs(&c, 8), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_source_share),
		cmocka_unit_test(test_chain_share),
		cmocka_unit_test(test_pool_arithmetic),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
