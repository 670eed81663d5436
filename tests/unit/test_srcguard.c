/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Source checks (srcguard.h): the per-frame judgement (Ethernet, martian,
 * source port 0, allow; trusted/admin classes) and the per-source table
 * (anti-amplification credit, token bucket, bounded table with reuse).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "dpcache/acl.h"
#include "dpcache/pkt.h"
#include "dpcache/srcguard.h"

static const uint8_t OUR_MAC[6] = { 0x02, 0, 0, 0, 0, 0x01 };
static const uint8_t PEER_MAC[6] = { 0x02, 0, 0, 0, 0, 0x02 };

static uint32_t ip(const char *s)
{
	struct in_addr a;

	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return a.s_addr;
}

static struct dpc_netcfg net(void)
{
	struct dpc_netcfg c;

	memset(&c, 0, sizeof(c));
	memcpy(c.mac, OUR_MAC, 6);
	c.ip = ip("198.18.0.1");
	c.port_lo = 11211;
	c.port_count = 1;
	return c;
}

struct fixture {
	struct dpc_acl *allow, *trusted, *admin;
	struct dpc_srcguard_lists l;
};

static struct fixture fx(const char *allow, const char *trusted, const char *admin)
{
	struct fixture f;
	char err[128];

	f.allow = dpc_acl_parse(allow, ip("198.18.0.1"), 24, err, sizeof(err));
	f.trusted = dpc_acl_parse(trusted, ip("198.18.0.1"), 24, err, sizeof(err));
	f.admin = dpc_acl_parse(admin, ip("198.18.0.1"), 24, err, sizeof(err));
	assert_non_null(f.allow);
	assert_non_null(f.trusted);
	assert_non_null(f.admin);
	f.l.allow = f.allow;
	f.l.trusted = f.trusted;
	f.l.admin = f.admin;
	return f;
}

static void fx_free(struct fixture *f)
{
	dpc_acl_free(f->allow);
	dpc_acl_free(f->trusted);
	dpc_acl_free(f->admin);
}

/* A GET-sized UDP request from @p src:@p sport, Ethernet @p smac -> @p dmac. */
static size_t udp_frame(uint8_t *f, const uint8_t smac[6], const uint8_t dmac[6], const char *src,
			uint16_t sport)
{
	memset(f, 0, 128);
	return dpc_pkt_udp_build(f, smac, dmac, ip(src), ip("198.18.0.1"), sport, 11211, 20, true);
}

/* Classify, then judge; returns the final kind and the classes. */
static enum dpc_pkt_kind judge(const uint8_t *f, size_t len, const struct fixture *x, uint8_t *flags)
{
	struct dpc_netcfg c = net();
	struct dpc_pkt_info info;
	enum dpc_pkt_kind k = dpc_pkt_classify(f, len, &c, false, &info);

	return dpc_srcguard_check(f, k, &info, &c, 24, &x->l, flags);
}

static void test_check_sources(void **state)
{
	struct fixture x = fx("subnet,203.0.113.0/24", "subnet", "198.18.0.5");
	uint8_t f[128], flags;
	size_t n;

	(void)state;
	/* a client on our subnet: trusted, not admin */
	n = udp_frame(f, PEER_MAC, OUR_MAC, "198.18.0.2", 40000);
	assert_int_equal(judge(f, n, &x, &flags), DPC_PKT_UDP);
	assert_int_equal(flags, DPC_SRC_TRUSTED);
	/* the admin host */
	n = udp_frame(f, PEER_MAC, OUR_MAC, "198.18.0.5", 40000);
	assert_int_equal(judge(f, n, &x, &flags), DPC_PKT_UDP);
	assert_int_equal(flags, DPC_SRC_TRUSTED | DPC_SRC_ADMIN);
	/* allowed but not trusted */
	n = udp_frame(f, PEER_MAC, OUR_MAC, "203.0.113.7", 40000);
	assert_int_equal(judge(f, n, &x, &flags), DPC_PKT_UDP);
	assert_int_equal(flags, 0);
	/* not allowed */
	n = udp_frame(f, PEER_MAC, OUR_MAC, "192.0.2.7", 40000);
	assert_int_equal(judge(f, n, &x, &flags), DPC_PKT_DROP_SRC_DENIED);
	assert_int_equal(flags, 0);
	/* martians, even where allow would let them in */
	static const char *const martians[] = { "0.0.0.0", "127.0.0.1", "224.0.0.251",
						"255.255.255.255", "198.18.0.1", "198.18.0.255" };
	for (unsigned i = 0; i < sizeof(martians) / sizeof(martians[0]); i++) {
		n = udp_frame(f, PEER_MAC, OUR_MAC, martians[i], 40000);
		if (judge(f, n, &x, &flags) != DPC_PKT_DROP_SRC_MARTIAN)
			fail_msg("source %s not refused as martian", martians[i]);
	}
	/* UDP source port 0 */
	n = udp_frame(f, PEER_MAC, OUR_MAC, "198.18.0.2", 0);
	assert_int_equal(judge(f, n, &x, &flags), DPC_PKT_DROP_UDP_SPORT0);
	fx_free(&x);
}

static void test_check_ethernet(void **state)
{
	struct fixture x = fx("0.0.0.0/0", "subnet", "none");
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	static const uint8_t mcast[6] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb };
	static const uint8_t other[6] = { 0x02, 0, 0, 0, 0, 0x09 };
	uint8_t f[128], flags;
	size_t n;

	(void)state;
	n = udp_frame(f, bcast, OUR_MAC, "198.18.0.2", 40000);
	assert_int_equal(judge(f, n, &x, &flags), DPC_PKT_DROP_ETH_SRC);
	n = udp_frame(f, mcast, OUR_MAC, "198.18.0.2", 40000);
	assert_int_equal(judge(f, n, &x, &flags), DPC_PKT_DROP_ETH_SRC);
	/* IPv4 to a MAC that is not ours, or to broadcast / multicast: not for us */
	n = udp_frame(f, PEER_MAC, other, "198.18.0.2", 40000);
	assert_int_equal(judge(f, n, &x, &flags), DPC_PKT_DROP_ETH_DST);
	n = udp_frame(f, PEER_MAC, bcast, "198.18.0.2", 40000);
	assert_int_equal(judge(f, n, &x, &flags), DPC_PKT_DROP_ETH_DST);
	n = udp_frame(f, PEER_MAC, mcast, "198.18.0.2", 40000);
	assert_int_equal(judge(f, n, &x, &flags), DPC_PKT_DROP_ETH_DST);

	/* ARP: broadcast or our MAC as destination; a group source never */
	struct dpc_netcfg c = net();
	uint8_t *a = f + 14;

	memset(f, 0, sizeof(f));
	memcpy(f, bcast, 6);
	memcpy(f + 6, PEER_MAC, 6);
	f[12] = 0x08, f[13] = 0x06;
	a[1] = 1, a[2] = 0x08, a[4] = 6, a[5] = 4, a[7] = 1;
	memcpy(a + 8, PEER_MAC, 6);
	memcpy(a + 24, &c.ip, 4);
	assert_int_equal(judge(f, 60, &x, &flags), DPC_PKT_ARP_REQUEST);
	memcpy(f, OUR_MAC, 6);
	assert_int_equal(judge(f, 60, &x, &flags), DPC_PKT_ARP_REQUEST);
	memcpy(f, other, 6);
	assert_int_equal(judge(f, 60, &x, &flags), DPC_PKT_DROP_ETH_DST);
	memcpy(f, bcast, 6);
	memcpy(f + 6, mcast, 6);
	assert_int_equal(judge(f, 60, &x, &flags), DPC_PKT_DROP_ETH_SRC);
	/* an ARP reply (the kernel's, on the TCP exception path) is judged as ARP, not as IPv4:
	 * its bytes at the IPv4 source offset are no address */
	memcpy(f, OUR_MAC, 6);
	memcpy(f + 6, PEER_MAC, 6);
	a[7] = 2;
	memcpy(a + 14, "\x7f\x00\x00\x01", 4); /* a sender address that would look martian */
	assert_int_equal(judge(f, 60, &x, &flags), DPC_PKT_ARP_REPLY);
	/* a drop kind from classify passes through unchanged */
	assert_int_equal(judge(f, 10, &x, &flags), DPC_PKT_DROP_SHORT);
	fx_free(&x);
}

/* ---- the table --------------------------------------------------------------------- */

#define SEC DPC_SRCGUARD_HZ

/*
 * dpc_srcguard_allowance() predicts dpc_srcguard_charge() exactly: a response
 * of at most the allowance is sent, one byte more is refused, whatever mix of
 * credit, rate and time came before (the worker stops building a response at
 * the allowance, so that a forged GET of a large value costs no copy).
 */
static void test_allowance(void **state)
{
	const struct dpc_srcguard_policy pols[] = {
		{ .amp_factor = 3, .rate = 0, .burst = 0 },
		{ .amp_factor = 0, .rate = 100000, .burst = 20000 },
		{ .amp_factor = 3, .rate = 50000, .burst = 65536 },
		{ .amp_factor = 0, .rate = 0, .burst = 0 },
	};

	(void)state;
	for (unsigned k = 0; k < sizeof(pols) / sizeof(pols[0]); k++) {
		const struct dpc_srcguard_policy *p = &pols[k];
		struct dpc_srcguard *g = dpc_srcguard_create(16, 42 + k);
		uint32_t now = 0, sent = 0, refused = 0;

		assert_non_null(g);
		srand(11 + k);
		if (p->amp_factor == 0 && p->rate == 0)
			assert_int_equal(dpc_srcguard_allowance(g, ip("203.0.113.9"), 60, 0, p), UINT32_MAX);
		for (unsigned i = 0; i < 50000; i++) {
			uint32_t src = ip("203.0.113.1") + (uint32_t)(rand() % 40) * 0x01000000u;
			uint32_t bi = 60 + (uint32_t)(rand() % 1400);
			uint32_t a = dpc_srcguard_allowance(g, src, bi, now, p);
			uint32_t bo = rand() % 4 == 0 ? a :
				      rand() % 4 == 0 ? a + 1 : (uint32_t)(rand() % 8000);
			enum dpc_srcguard_verdict v;

			if (a == UINT32_MAX)
				bo = (uint32_t)(rand() % 8000);
			v = dpc_srcguard_charge(g, src, bi, bo, now, p);
			assert_int_equal(v == DPC_SG_SEND, bo <= a);
			if (v == DPC_SG_SEND)
				sent++;
			else
				refused++;
			now += (uint32_t)(rand() % (SEC / 1000));
		}
		/* both outcomes were exercised (no limit: only sending) */
		assert_true(sent > 0);
		assert_true(refused > 0 || (p->amp_factor == 0 && p->rate == 0));
		dpc_srcguard_free(g);
	}
}

static void test_amplification(void **state)
{
	struct dpc_srcguard *g = dpc_srcguard_create(64, 12345);
	const struct dpc_srcguard_policy p = { .amp_factor = 3, .rate = 0, .burst = 0 };
	const uint32_t src = ip("203.0.113.7");
	struct dpc_srcguard_entry e;
	uint64_t in = 0, out = 0;

	(void)state;
	assert_non_null(g);
	/* a 1 MiB GET for 60 bytes: refused whole, the request still earns its credit */
	assert_int_equal(dpc_srcguard_charge(g, src, 60, 1090000, 0, &p), DPC_SG_DROP_AMPLIFICATION);
	assert_int_equal(dpc_srcguard_lookup(g, src, &e), 0);
	assert_int_equal(e.credit, 180);
	/* 3x exactly passes, one byte more does not */
	assert_int_equal(dpc_srcguard_charge(g, src, 60, 360, 1, &p), DPC_SG_SEND);
	assert_int_equal(dpc_srcguard_charge(g, src, 60, 181, 2, &p), DPC_SG_DROP_AMPLIFICATION);
	assert_int_equal(dpc_srcguard_charge(g, src, 0, 180, 3, &p), DPC_SG_SEND);
	assert_int_equal(dpc_srcguard_lookup(g, src, &e), 0);
	assert_int_equal(e.credit, 0);
	/* quiet requests (no response) build credit */
	assert_int_equal(dpc_srcguard_charge(g, src, 100, 0, 4, &p), DPC_SG_SEND);
	assert_int_equal(dpc_srcguard_lookup(g, src, &e), 0);
	assert_int_equal(e.credit, 300);
	/* over any mix, bytes out never exceed 3x bytes in */
	dpc_srcguard_free(g);
	g = dpc_srcguard_create(64, 99);
	srand(7);
	for (unsigned i = 0; i < 100000; i++) {
		uint32_t bi = (uint32_t)(rand() % 1500), bo = (uint32_t)(rand() % 5000);

		in += bi;
		if (dpc_srcguard_charge(g, src, bi, bo, i, &p) == DPC_SG_SEND)
			out += bo;
	}
	assert_true(out <= 3 * in);
	assert_true(out > 2 * in); /* and the budget is used, not wasted */
	/* another source has its own credit */
	assert_int_equal(dpc_srcguard_charge(g, ip("203.0.113.8"), 10, 31, 5, &p),
			 DPC_SG_DROP_AMPLIFICATION);
	dpc_srcguard_free(g);
}

static void test_rate(void **state)
{
	/* 100 KiB/s, 10 KiB bucket */
	const struct dpc_srcguard_policy p = { .amp_factor = 0, .rate = 100 * 1024, .burst = 10240 };
	struct dpc_srcguard *g = dpc_srcguard_create(64, 1);
	const uint32_t src = ip("198.18.0.2");
	uint64_t sent = 0;

	(void)state;
	/* a full bucket to start with, then nothing until it refills */
	assert_int_equal(dpc_srcguard_charge(g, src, 60, 10240, 0, &p), DPC_SG_SEND);
	assert_int_equal(dpc_srcguard_charge(g, src, 60, 1, 0, &p), DPC_SG_DROP_RATE);
	/* 10 ms later: 1 KiB earned */
	assert_int_equal(dpc_srcguard_charge(g, src, 60, 1100, SEC / 100, &p), DPC_SG_DROP_RATE);
	assert_int_equal(dpc_srcguard_charge(g, src, 60, 1000, SEC / 100, &p), DPC_SG_SEND);
	/* long idle: never more than the bucket */
	assert_int_equal(dpc_srcguard_charge(g, src, 60, 10241, 100 * SEC, &p), DPC_SG_DROP_RATE);
	assert_int_equal(dpc_srcguard_charge(g, src, 60, 10240, 100 * SEC, &p), DPC_SG_SEND);
	/* offered 1 MB/s in 64-byte responses for 2 s: never more than rate x 2 s, and at most
	 * one tick per refill lost to rounding (here a refill every 64 ticks: < 2 %) */
	for (uint32_t t = 1; t <= 2 * SEC; t += 64) {
		if (dpc_srcguard_charge(g, src, 60, 64, 100 * SEC + t, &p) == DPC_SG_SEND)
			sent += 64;
	}
	assert_true(sent <= 2 * 100 * 1024);
	assert_true(sent >= 2 * 100 * 1024 * 98 / 100);
	dpc_srcguard_free(g);

	/* the generic bucket helper, in 1/1024 units as the ICMP limit uses it: 100/s, burst 100 */
	uint32_t tokens = 100 * 1024, last = 0, ok = 0;

	for (uint32_t t = 0; t < SEC; t += SEC / 10000) /* 10000 echo requests in one second */
		ok += dpc_tbucket_take(&tokens, &last, 1024, 100 * 1024, 100 * 1024, t);
	assert_true(ok >= 195 && ok <= 201);
}

static void test_table_bounded_and_reused(void **state)
{
	const struct dpc_srcguard_policy p = { .amp_factor = 3, .rate = 0, .burst = 0 };
	struct dpc_srcguard *g;
	struct dpc_srcguard_entry e;
	unsigned found = 0;

	(void)state;
	errno = 0;
	assert_null(dpc_srcguard_create(0, 1));
	assert_int_equal(errno, EINVAL);
	assert_null(dpc_srcguard_create((1u << 24) + 1, 1));
	g = dpc_srcguard_create(100, 42);
	assert_non_null(g);
	assert_int_equal(dpc_srcguard_entries(g), 128); /* rounded up to a power of 2 */
	dpc_srcguard_free(g);
	dpc_srcguard_free(NULL);

	/* one line of four: a fifth source displaces the stalest */
	g = dpc_srcguard_create(4, 42);
	assert_int_equal(dpc_srcguard_entries(g), 4);
	for (uint32_t i = 1; i <= 4; i++)
		dpc_srcguard_charge(g, htonl(0x0a000000u + i), 10, 0, i, &p);
	dpc_srcguard_charge(g, htonl(0x0a000001u), 10, 0, 10, &p); /* 10.0.0.1 seen again */
	dpc_srcguard_charge(g, htonl(0x0a000005u), 10, 0, 11, &p);
	assert_int_equal(dpc_srcguard_lookup(g, htonl(0x0a000002u), &e), -ENOENT);
	assert_int_equal(dpc_srcguard_lookup(g, htonl(0x0a000001u), &e), 0);
	assert_int_equal(e.credit, 60);
	assert_int_equal(dpc_srcguard_lookup(g, htonl(0x0a000005u), &e), 0);
	assert_int_equal(e.credit, 30); /* a reused entry starts without credit */
	dpc_srcguard_free(g);

	/* a flood of 100000 sources through 1024 entries: still 1024, the recent ones kept */
	g = dpc_srcguard_create(1024, 7);
	for (uint32_t i = 0; i < 100000; i++)
		dpc_srcguard_charge(g, htonl(0x0b000000u + i), 10, 0, i, &p);
	for (uint32_t i = 0; i < 100000; i++)
		found += dpc_srcguard_lookup(g, htonl(0x0b000000u + i), &e) == 0;
	assert_true(found <= 1024);
	assert_true(found >= 900);
	found = 0;
	for (uint32_t i = 100000 - 256; i < 100000; i++)
		found += dpc_srcguard_lookup(g, htonl(0x0b000000u + i), &e) == 0;
	assert_true(found >= 240); /* LRU within a line: the newest survive */
	dpc_srcguard_free(g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check_sources),
		cmocka_unit_test(test_check_ethernet),
		cmocka_unit_test(test_amplification),
		cmocka_unit_test(test_allowance),
		cmocka_unit_test(test_rate),
		cmocka_unit_test(test_table_bounded_and_reused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
