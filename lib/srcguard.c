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

uint32_t dpc_srcguard_allowance(const struct dpc_srcguard *g, uint32_t ip, uint32_t bytes_in,
				uint32_t now, const struct dpc_srcguard_policy *p)
{
	const struct sg_line *ln = line_of(g, ip);
	struct dpc_srcguard_entry e = { .ip = ip, .credit = 0, .tokens = p->burst, .last = now };
	uint64_t allow = UINT32_MAX;

	for (unsigned i = 0; i < DPC_SG_WAYS; i++) {
		if (ln->e[i].ip == ip) {
			e = ln->e[i];
			break;
		}
	}
	if (p->amp_factor != 0) {
		uint64_t credit = (uint64_t)e.credit + (uint64_t)p->amp_factor * bytes_in;

		allow = credit < allow ? credit : allow;
	}
	if (p->rate != 0) {
		/* what dpc_tbucket_take() would find: the refill to now, up to the depth */
		uint64_t t = (uint64_t)e.tokens + (((uint64_t)(uint32_t)(now - e.last) * p->rate) >> 20);

		t = t < p->burst ? t : p->burst;
		allow = t < allow ? t : allow;
	}
	return (uint32_t)allow;
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
