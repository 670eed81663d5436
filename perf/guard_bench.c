/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * guard_bench: what the source checks cost per frame, measured alone (the
 * whole-server figure, perf/compare.sh, moves by more than this from run
 * to run on a shared machine).
 *
 *   check    dpc_srcguard_check() on a GET frame from a trusted source
 *            (the default lists: allow = trusted = subnet, admin = none):
 *            the cost every served frame pays;
 *   charge   dpc_srcguard_charge() for an untrusted source (amp_factor 3,
 *            src_rate 1M): the extra cost of a response to one, over
 *            4096 sources in a 4096-entry table.
 * Prints ns per call (clock_gettime around each round), best of rounds.
 *   build/release/bin/guard_bench [--rounds N] [--calls N]
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dpcache/acl.h"
#include "dpcache/pkt.h"
#include "dpcache/srcguard.h"

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

int main(int argc, char **argv)
{
	static const uint8_t our_mac[6] = {0x02, 0, 0, 0, 0, 0x01}, peer_mac[6] = {0x02, 0, 0, 0, 0, 0x02};
	unsigned rounds = 8, calls = 4000000;
	uint8_t frames[32][128];
	struct dpc_pkt_info info[32];
	struct dpc_netcfg net;
	struct dpc_srcguard_lists l;
	struct dpc_acl *allow, *trusted, *admin;
	char err[128];
	double best_check = 1e30, best_charge = 1e30;
	unsigned sink = 0; /* feeds the exit status: the measured calls cannot be optimised away */

	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--rounds") == 0)
			rounds = (unsigned)atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--calls") == 0)
			calls = (unsigned)atoi(argv[i + 1]);
	}
	memset(&net, 0, sizeof(net));
	memcpy(net.mac, our_mac, 6);
	net.ip = htonl(0xc6120001u);
	net.port_lo = 11211;
	net.port_count = 1;
	allow = dpc_acl_parse("subnet", net.ip, 24, err, sizeof(err));
	trusted = dpc_acl_parse("subnet", net.ip, 24, err, sizeof(err));
	admin = dpc_acl_parse("none", net.ip, 24, err, sizeof(err));
	if (allow == NULL || trusted == NULL || admin == NULL)
		return 1;
	l.allow = allow;
	l.trusted = trusted;
	l.admin = admin;
	for (unsigned i = 0; i < 32; i++) {
		memset(frames[i], 0, sizeof(frames[i]));
		dpc_pkt_udp_build(frames[i], peer_mac, our_mac, htonl(0xc6120002u + (i % 4)), net.ip,
				  (uint16_t)(40000 + i), 11211, 50, true);
		if (dpc_pkt_classify(frames[i], 92, &net, true, &info[i]) != DPC_PKT_UDP)
			return 1;
	}
	for (unsigned r = 0; r < rounds; r++) {
		double t0 = now_ns();
		unsigned acc = 0;

		for (unsigned c = 0; c < calls; c++) {
			uint8_t flags;
			unsigned i = c & 31;

			acc += (unsigned)dpc_srcguard_check(frames[i], DPC_PKT_UDP, &info[i], &net, 24, &l,
							    &flags) + flags;
		}
		sink += acc;
		double ns = (now_ns() - t0) / calls;
		if (ns < best_check)
			best_check = ns;
	}
	{
		struct dpc_srcguard *g = dpc_srcguard_create(4096, 77);
		const struct dpc_srcguard_policy p = {.amp_factor = 3, .rate = 1u << 20, .burst = 65536};

		for (unsigned r = 0; r < rounds; r++) {
			double t0 = now_ns();
			unsigned acc = 0;

			for (unsigned c = 0; c < calls; c++)
				acc += (unsigned)dpc_srcguard_charge(g, htonl(0xcb007100u + (c & 4095)), 90,
								     178, c >> 4, &p);
			sink += acc;
			double ns = (now_ns() - t0) / calls;
			if (ns < best_charge)
				best_charge = ns;
		}
		dpc_srcguard_free(g);
	}
	printf("guard_bench: check %.2f ns/frame (trusted GET, default lists), charge %.2f ns/response "
	       "(untrusted, 4096 sources), best of %u rounds x %u calls\n", best_check, best_charge, rounds,
	       calls);
	dpc_acl_free(allow);
	dpc_acl_free(trusted);
	dpc_acl_free(admin);
	return sink == 0xffffffffu ? 2 : 0;
}
