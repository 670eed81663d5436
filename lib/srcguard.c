/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Source checks: the stateless per-frame judgement and the per-worker
 * table of sources (anti-amplification credit, response-rate bucket).
 *
 * Table: 2^k lines of DPC_SG_WAYS entries; a source hashes (multiply by a
 * per-table odd constant mixed with a random seed, top bits) to one line
 * and lives in one of its ways.  A miss takes an empty way, else the way
 * refilled longest ago: bounded memory, constant time, no allocation, and
 * a stream of new sources only displaces the stalest entries of the lines
 * it hits.  Losing an entry loses its credit and its bucket together: the
 * source starts again with no credit (so a reflector that evicts its
 * victim's entry gains nothing: bytes out <= factor x bytes in holds for
 * every lifetime of an entry, hence overall), but with a full bucket.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dpcache/common.h"
#include "dpcache/srcguard.h"

#define DPC_SG_WAYS 4u

struct sg_line {
	struct dpc_srcguard_entry e[DPC_SG_WAYS];
};
/* One line per source lookup: the whole set in one cache line. */
static_assert(sizeof(struct sg_line) == DPC_CACHE_LINE, "a line of ways must be one cache line");

struct dpc_srcguard {
	struct sg_line *lines;
	unsigned shift;      /* 64 - log2(lines) */
	unsigned nlines;
	uint64_t mult;       /* odd, from the seed */
	uint64_t seed;
};

/* ---- per frame --------------------------------------------------------------- */

static const uint8_t bcast_mac[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

enum dpc_pkt_kind dpc_srcguard_check(const uint8_t *frame, enum dpc_pkt_kind kind,
				     const struct dpc_pkt_info *info, const struct dpc_netcfg *net,
				     unsigned subnet_len, const struct dpc_srcguard_lists *l,
				     uint8_t *src_flags)
{
	uint32_t src, src_host;
	uint8_t flags = 0;

	*src_flags = 0;
	if (dpc_unlikely(dpc_pkt_kind_is_drop(kind)))
		return kind;
	/* Ethernet source: the group bit marks multicast and broadcast senders (never real). */
	if (dpc_unlikely(frame[6] & 1u))
		return DPC_PKT_DROP_ETH_SRC;
	if (dpc_unlikely(kind == DPC_PKT_ARP_REQUEST)) {
		if (memcmp(frame, net->mac, 6) != 0 && memcmp(frame, bcast_mac, 6) != 0)
			return DPC_PKT_DROP_ETH_DST;
		return kind;
	}
	/* IPv4 to us: unicast to our MAC only (never flooded, broadcast or multicast frames). */
	if (dpc_unlikely(memcmp(frame, net->mac, 6) != 0))
		return DPC_PKT_DROP_ETH_DST;
	src = dpc_srcguard_src_ip(frame, info);
	src_host = __builtin_bswap32(src);
	if (dpc_unlikely(dpc_ip4_src_martian(src_host, __builtin_bswap32(net->ip), subnet_len)))
		return DPC_PKT_DROP_SRC_MARTIAN;
	if (kind == DPC_PKT_UDP && dpc_unlikely(frame[info->l4_off] == 0 && frame[info->l4_off + 1] == 0))
		return DPC_PKT_DROP_UDP_SPORT0;
	if (dpc_unlikely(!dpc_acl_match(l->allow, src_host)))
		return DPC_PKT_DROP_SRC_DENIED;
	if (dpc_acl_match(l->trusted, src_host))
		flags |= DPC_SRC_TRUSTED;
	if (dpc_unlikely(l->admin != NULL && l->admin->n > 0) && dpc_acl_match(l->admin, src_host))
		flags |= DPC_SRC_ADMIN;
	*src_flags = flags;
	return kind;
}

/* ---- per source -------------------------------------------------------------- */

struct dpc_srcguard *dpc_srcguard_create(unsigned entries, uint64_t seed)
{
	struct dpc_srcguard *g;
	unsigned nlines = 1, bits = 0;

	if (entries == 0 || entries > (1u << 24)) {
		errno = EINVAL;
		return NULL;
	}
	while (nlines * DPC_SG_WAYS < entries) {
		nlines <<= 1;
		bits++;
	}
	g = calloc(1, sizeof(*g));
	if (g == NULL)
		goto nomem;
	g->lines = aligned_alloc(DPC_CACHE_LINE, nlines * sizeof(struct sg_line));
	if (g->lines == NULL)
		goto nomem;
	memset(g->lines, 0, nlines * sizeof(struct sg_line));
	g->nlines = nlines;
	g->shift = 64 - bits;
	g->seed = seed;
	g->mult = (seed * 0x9e3779b97f4a7c15ull) | 1u;
	return g;
nomem:
	dpc_srcguard_free(g);
	errno = ENOMEM;
	return NULL;
}

void dpc_srcguard_free(struct dpc_srcguard *g)
{
	if (g == NULL)
		return;
	free(g->lines);
	free(g);
}

unsigned dpc_srcguard_entries(const struct dpc_srcguard *g)
{
	return g->nlines * DPC_SG_WAYS;
}

static inline struct sg_line *line_of(const struct dpc_srcguard *g, uint32_t ip)
{
	uint64_t h = ((uint64_t)ip ^ g->seed) * g->mult;

	/* bits == 0 (one line): a shift by 64 is undefined, so mask instead */
	return &g->lines[g->shift == 64 ? 0 : (h >> g->shift)];
}

enum dpc_srcguard_verdict dpc_srcguard_charge(struct dpc_srcguard *g, uint32_t ip, uint32_t bytes_in,
					      uint32_t bytes_out, uint32_t now,
					      const struct dpc_srcguard_policy *p)
{
	struct sg_line *ln = line_of(g, ip);
	struct dpc_srcguard_entry *e = NULL, *victim = &ln->e[0];
	uint32_t oldest = 0;
	uint64_t credit;

	for (unsigned i = 0; i < DPC_SG_WAYS; i++) {
		struct dpc_srcguard_entry *x = &ln->e[i];
		/* an empty way is older than any used one */
		uint32_t age = x->ip == 0 ? UINT32_MAX : now - x->last;

		if (x->ip == ip) {
			e = x;
			break;
		}
		if (i == 0 || age > oldest) {
			victim = x;
			oldest = age;
		}
	}
	if (e == NULL) {
		e = victim;
		e->ip = ip;
		e->credit = 0;
		e->tokens = p->burst;
		e->last = now;
	}
	if (p->amp_factor != 0) {
		credit = (uint64_t)e->credit + (uint64_t)p->amp_factor * bytes_in;
		e->credit = credit > UINT32_MAX ? UINT32_MAX : (uint32_t)credit;
		if (bytes_out > e->credit)
			return DPC_SG_DROP_AMPLIFICATION;
	}
	if (p->rate != 0) {
		if (!dpc_tbucket_take(&e->tokens, &e->last, bytes_out, p->rate, p->burst, now))
			return DPC_SG_DROP_RATE;
	} else {
		e->last = now;
	}
	if (p->amp_factor != 0)
		e->credit -= bytes_out;
	return DPC_SG_SEND;
}

int dpc_srcguard_lookup(const struct dpc_srcguard *g, uint32_t ip, struct dpc_srcguard_entry *out)
{
	const struct sg_line *ln = line_of(g, ip);

	for (unsigned i = 0; i < DPC_SG_WAYS; i++) {
		if (ln->e[i].ip == ip && ip != 0) {
			*out = ln->e[i];
			return 0;
		}
	}
	return -ENOENT;
}
