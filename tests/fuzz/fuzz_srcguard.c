/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target: the source checks (srcguard.h).
 *  1. dpc_srcguard_check() on an arbitrary frame after dpc_pkt_classify():
 *     a frame it lets through has a unicast Ethernet source, our MAC as
 *     destination (ARP: or broadcast), and, for UDP/ICMP, a source that is
 *     not martian, inside `allow`, with source port != 0 (UDP); the
 *     trusted/admin flags match the lists.
 *  2. The same bytes as a script of (source, bytes in, bytes out, time)
 *     steps against a tiny table (one line of 4 for 8 sources: constant
 *     eviction): for every source, bytes sent never exceed 3 x bytes
 *     received, whatever the evictions, and never more than a full bucket
 *     per lifetime of its entry plus rate x the time elapsed.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dpcache/acl.h"
#include "dpcache/pkt.h"
#include "dpcache/srcguard.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t OUR_MAC[6] = {0x02, 0, 0, 0, 0, 0x01};

static void check_frame(const uint8_t *data, size_t size)
{
	static struct dpc_acl *allow, *trusted, *admin;
	static const uint8_t ip[4] = {198, 18, 0, 1};
	struct dpc_netcfg c;
	struct dpc_pkt_info info;
	struct dpc_srcguard_lists l;
	uint8_t flags = 0xff;
	uint32_t self;

	memcpy(&self, ip, 4);
	if (allow == NULL) {
		char err[64];

		allow = dpc_acl_parse("subnet,203.0.113.0/24", self, 24, err, sizeof(err));
		trusted = dpc_acl_parse("subnet", self, 24, err, sizeof(err));
		admin = dpc_acl_parse("198.18.0.5", self, 24, err, sizeof(err));
		if (allow == NULL || trusted == NULL || admin == NULL)
			abort();
	}
	memset(&c, 0, sizeof(c));
	memcpy(c.mac, OUR_MAC, 6);
	c.ip = self;
	c.port_lo = 11211;
	c.port_count = 2;
	l.allow = allow;
	l.trusted = trusted;
	l.admin = admin;
	enum dpc_pkt_kind k = dpc_pkt_classify(data, size, &c, false, &info);
	enum dpc_pkt_kind g = dpc_srcguard_check(data, k, &info, &c, 24, &l, &flags);

	if (dpc_pkt_kind_is_drop(k) && g != k)
		abort();
	if (dpc_pkt_kind_is_drop(g))
		return;
	if (g != k || (data[6] & 1))
		abort();
	if (g == DPC_PKT_ARP_REQUEST || g == DPC_PKT_ARP_REPLY) {
		static const uint8_t bc[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
		if (memcmp(data, OUR_MAC, 6) != 0 && memcmp(data, bc, 6) != 0)
			abort();
		return;
	}
	if (memcmp(data, OUR_MAC, 6) != 0)
		abort();
	uint32_t src = __builtin_bswap32(dpc_srcguard_src_ip(data, &info));
	if (dpc_ip4_src_martian(src, __builtin_bswap32(self), 24) || !dpc_acl_match(allow, src))
		abort();
	if (g == DPC_PKT_UDP && data[info.l4_off] == 0 && data[info.l4_off + 1] == 0)
		abort();
	if (((flags & DPC_SRC_TRUSTED) != 0) != dpc_acl_match(trusted, src) ||
	    ((flags & DPC_SRC_ADMIN) != 0) != dpc_acl_match(admin, src))
		abort();
}

static void check_budget(const uint8_t *data, size_t size)
{
	enum { NSRC = 8 };
	const struct dpc_srcguard_policy p = { .amp_factor = 3, .rate = 4096, .burst = 2048 };
	struct dpc_srcguard *g = dpc_srcguard_create(4, 1234);
	uint64_t in[NSRC] = {0}, out[NSRC] = {0}, fresh[NSRC] = {0};
	uint32_t now = 0;

	if (g == NULL)
		abort();
	for (size_t i = 0; i + 4 <= size; i += 4) {
		unsigned s = data[i] % NSRC;
		uint32_t ip = 0x0a000001u + s;
		uint32_t bi = data[i + 1] * 8u, bo = (uint32_t)(data[i + 2] << 4);
		struct dpc_srcguard_entry e;

		now += data[i + 3] * 1024u;
		if (dpc_srcguard_lookup(g, ip, &e) != 0)
			fresh[s]++;                 /* a new lifetime: a full bucket again */
		in[s] += bi;
		if (dpc_srcguard_charge(g, ip, bi, bo, now, &p) == DPC_SG_SEND)
			out[s] += bo;
		if (out[s] > 3 * in[s])
			abort();
		if (out[s] > fresh[s] * p.burst + ((uint64_t)now * p.rate >> 20) + p.burst)
			abort();
	}
	dpc_srcguard_free(g);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 4096)
		return 0;
	check_frame(data, size);
	check_budget(data, size);
	return 0;
}
