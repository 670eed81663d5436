/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * IPv4 reassembly table (reasm.h).
 *
 * Layout: max_entries entries, each with room for max_frags fragment
 * records kept sorted by offset (insertion: a memmove of at most
 * max_frags records, on a path that only fragments take).  Entries are
 * found through a chained hash on (src, dst, id, proto) with twice as many
 * buckets as entries, and sit on an age list (oldest first) that the
 * timeout and the evictions walk from its head.  A datagram is complete
 * when its last fragment (MF clear) has been seen and the bytes held equal
 * its length: with overlaps refused, equal sums mean full coverage.
 *
 * Given-up fragments go to a death row, freed in bulk by dpc_reasm_flush()
 * (once per poll iteration) or when the row is full, as DPDK's ip_frag
 * does.  No allocation after create.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "reasm.h"

#define NIL UINT32_MAX

enum reason {
#define DPC_X_REASON(a, kind, name, help) R_##kind,
	DPC_PKT_REASM_DROPS(DPC_X_REASON, )
#undef DPC_X_REASON
};

struct entry {
	struct dpc_reasm_key key;
	uint32_t hnext;          /* hash chain; free list when unused */
	uint32_t older, newer;   /* age list */
	uint32_t nfrags;
	uint32_t got;            /* payload bytes held */
	uint32_t end;            /* payload length, once the last fragment is seen */
	bool have_last;
	uint64_t start;          /* clock at the first fragment */
	uint64_t cost;
};

struct dpc_reasm {
	struct dpc_reasm_params p;
	struct entry *e;
	struct dpc_reasm_frag *frags;  /* max_entries x max_frags, sorted by offset per entry */
	struct dpc_reasm_frag *done;   /* max_frags: the last completed datagram */
	uint32_t *bucket;
	uint32_t bmask;
	uint32_t free_head, oldest, newest;
	unsigned nentries;
	uint64_t bytes;
	void **dead;
	unsigned ndead, dead_cap;
};

static void count(struct dpc_worker_stats *st, enum reason r)
{
	switch (r) {
#define DPC_X_CASE(a, kind, name, help) case R_##kind: dpc_stat_inc(st, name); break;
	DPC_PKT_REASM_DROPS(DPC_X_CASE, )
#undef DPC_X_CASE
	}
}

static void publish(struct dpc_reasm *r)
{
	dpc_stat_set(r->p.stats, reasm_entries, r->nentries);
	dpc_stat_set(r->p.stats, reasm_bytes, r->bytes);
}

static uint32_t hash_key(const struct dpc_reasm_key *k)
{
	uint64_t h = ((uint64_t)k->src << 32 | k->dst) * 0x9e3779b97f4a7c15ull;

	h ^= ((uint64_t)k->id << 8 | k->proto) * 0xc2b2ae3d27d4eb4full;
	h ^= h >> 29;
	return (uint32_t)(h ^ (h >> 32));
}

static bool key_eq(const struct dpc_reasm_key *a, const struct dpc_reasm_key *b)
{
	return a->src == b->src && a->dst == b->dst && a->id == b->id && a->proto == b->proto;
}

static inline struct dpc_reasm_frag *frags_of(const struct dpc_reasm *r, uint32_t i)
{
	return r->frags + (size_t)i * r->p.max_frags;
}

void dpc_reasm_flush(struct dpc_reasm *r)
{
	if (r->ndead > 0)
		r->p.free_bulk(r->p.ctx, r->dead, r->ndead);
	r->ndead = 0;
}

static void to_dead(struct dpc_reasm *r, void *h)
{
	if (r->ndead == r->dead_cap)
		dpc_reasm_flush(r);
	r->dead[r->ndead++] = h;
}

/* Take entry i off its hash chain and the age list, back onto the free list. */
static void unlink_entry(struct dpc_reasm *r, uint32_t i)
{
	struct entry *e = &r->e[i];
	uint32_t *pp = &r->bucket[hash_key(&e->key) & r->bmask];

	while (*pp != i)
		pp = &r->e[*pp].hnext;
	*pp = e->hnext;
	if (e->older != NIL)
		r->e[e->older].newer = e->newer;
	else
		r->oldest = e->newer;
	if (e->newer != NIL)
		r->e[e->newer].older = e->older;
	else
		r->newest = e->older;
	r->nentries--;
	r->bytes -= e->cost;
	e->hnext = r->free_head;
	r->free_head = i;
}

/* Give datagram i up: its fragments to the death row, counted once under @why. */
static void give_up(struct dpc_reasm *r, uint32_t i, enum reason why)
{
	struct dpc_reasm_frag *f = frags_of(r, i);

	for (uint32_t k = 0; k < r->e[i].nfrags; k++)
		to_dead(r, f[k].handle);
	count(r->p.stats, why);
	unlink_entry(r, i);
}

static uint32_t lookup(const struct dpc_reasm *r, const struct dpc_reasm_key *k)
{
	uint32_t i = r->bucket[hash_key(k) & r->bmask];

	while (i != NIL && !key_eq(&r->e[i].key, k))
		i = r->e[i].hnext;
	return i;
}

static uint32_t insert_entry(struct dpc_reasm *r, const struct dpc_reasm_key *k, uint64_t now)
{
	uint32_t i = r->free_head;
	struct entry *e = &r->e[i];
	uint32_t b = hash_key(k) & r->bmask;

	r->free_head = e->hnext;
	memset(e, 0, sizeof(*e));
	e->key = *k;
	e->start = now;
	e->hnext = r->bucket[b];
	r->bucket[b] = i;
	e->older = r->newest;
	e->newer = NIL;
	if (r->newest != NIL)
		r->e[r->newest].newer = i;
	else
		r->oldest = i;
	r->newest = i;
	r->nentries++;
	return i;
}

/* The fragment is refused: datagram i (if any) given up, the fragment freed too. */
static enum dpc_reasm_result refuse(struct dpc_reasm *r, uint32_t i, enum reason why, void *handle)
{
	if (i != NIL)
		give_up(r, i, why);
	else
		count(r->p.stats, why);
	to_dead(r, handle);
	publish(r);
	return DPC_REASM_DROPPED;
}

enum dpc_reasm_result dpc_reasm_add(struct dpc_reasm *r, const struct dpc_reasm_key *k,
				    uint16_t off, uint16_t len, bool more, void *handle,
				    uint32_t cost, uint64_t now, struct dpc_reasm_done *done)
{
	uint32_t end = (uint32_t)off + len, i, n, pos;
	struct dpc_reasm_frag *f;
	struct entry *e;

	dpc_stat_inc(r->p.stats, frag_in);
	i = lookup(r, k);
	if (i != NIL && now - r->e[i].start >= r->p.timeout) {
		give_up(r, i, R_TIMEOUT); /* not expired yet by dpc_reasm_expire(): same thing */
		i = NIL;
	}
	if (len == 0 || (more && (len & 7u) != 0))
		return refuse(r, i, R_BAD, handle);
	if (end > DPC_REASM_MAX_PAYLOAD)
		return refuse(r, i, R_OVERSIZE, handle);
	if (i == NIL) {
		if (r->nentries == r->p.max_entries)
			give_up(r, r->oldest, R_EVICTED);
		i = insert_entry(r, k, now);
	}
	e = &r->e[i];
	f = frags_of(r, i);
	n = e->nfrags;
	/* the last fragment fixes the length: nothing may reach past it, and it comes once */
	if (e->have_last ? (end > e->end || (!more && end != e->end)) :
			   (!more && n > 0 && f[n - 1].off + (uint32_t)f[n - 1].len > end))
		return refuse(r, i, R_BAD, handle);
	if (n == r->p.max_frags)
		return refuse(r, i, R_TOO_MANY, handle);
	/* sorted by offset: the new one goes before the first that starts at or after it */
	for (pos = n; pos > 0 && f[pos - 1].off >= off; pos--)
		;
	if ((pos > 0 && f[pos - 1].off + (uint32_t)f[pos - 1].len > off) ||
	    (pos < n && f[pos].off < end))
		return refuse(r, i, R_OVERLAP, handle);
	/* the bytes held stay bounded: the oldest other datagrams make room */
	while (r->bytes + cost > r->p.max_bytes) {
		uint32_t victim = r->oldest == i ? e->newer : r->oldest;

		if (victim == NIL)
			return refuse(r, i, R_EVICTED, handle);
		give_up(r, victim, R_EVICTED);
	}

	memmove(f + pos + 1, f + pos, (n - pos) * sizeof(*f));
	f[pos] = (struct dpc_reasm_frag){ .handle = handle, .off = off, .len = len, .cost = cost };
	e->nfrags = n + 1;
	e->got += len;
	e->cost += cost;
	r->bytes += cost;
	if (!more) {
		e->have_last = true;
		e->end = end;
	}
	if (e->have_last && e->got == e->end) {
		memcpy(r->done, f, e->nfrags * sizeof(*f));
		done->frags = r->done;
		done->n = e->nfrags;
		done->len = e->end;
		unlink_entry(r, i);
		dpc_stat_inc(r->p.stats, reasm_done);
		publish(r);
		return DPC_REASM_DONE;
	}
	publish(r);
	return DPC_REASM_HELD;
}

unsigned dpc_reasm_expire(struct dpc_reasm *r, uint64_t now, unsigned budget)
{
	unsigned n = 0;

	while (n < budget && r->oldest != NIL && now - r->e[r->oldest].start >= r->p.timeout) {
		give_up(r, r->oldest, R_TIMEOUT);
		n++;
	}
	if (n > 0)
		publish(r);
	return n;
}

unsigned dpc_reasm_entries(const struct dpc_reasm *r)
{
	return r->nentries;
}

uint64_t dpc_reasm_bytes(const struct dpc_reasm *r)
{
	return r->bytes;
}

struct dpc_reasm *dpc_reasm_create(const struct dpc_reasm_params *p)
{
	struct dpc_reasm *r;
	uint32_t nb = 1;

	if (p == NULL || p->max_entries == 0 || p->max_entries > (1u << 20) || p->max_frags < 2 ||
	    p->max_frags > 1024 || p->free_bulk == NULL || p->stats == NULL) {
		errno = EINVAL;
		return NULL;
	}
	r = calloc(1, sizeof(*r));
	if (r == NULL)
		goto nomem;
	r->p = *p;
	r->oldest = r->newest = r->free_head = NIL;
	while (nb < 2 * p->max_entries)
		nb <<= 1;
	r->bmask = nb - 1;
	r->dead_cap = 2 * p->max_frags + 32;
	r->e = calloc(p->max_entries, sizeof(*r->e));
	r->frags = calloc((size_t)p->max_entries * p->max_frags, sizeof(*r->frags));
	r->done = calloc(p->max_frags, sizeof(*r->done));
	r->bucket = malloc(nb * sizeof(*r->bucket));
	r->dead = calloc(r->dead_cap, sizeof(*r->dead));
	if (r->e == NULL || r->frags == NULL || r->done == NULL || r->bucket == NULL || r->dead == NULL)
		goto nomem_r;
	for (uint32_t b = 0; b < nb; b++)
		r->bucket[b] = NIL;
	for (uint32_t i = 0; i < p->max_entries; i++)
		r->e[i].hnext = i + 1 < p->max_entries ? i + 1 : NIL;
	r->free_head = 0;
	publish(r);
	return r;
nomem_r:
	dpc_reasm_free(r);
nomem:
	errno = ENOMEM;
	return NULL;
}

void dpc_reasm_free(struct dpc_reasm *r)
{
	if (r == NULL)
		return;
	if (r->e != NULL && r->frags != NULL && r->dead != NULL) {
		while (r->oldest != NIL) {
			uint32_t i = r->oldest;
			struct dpc_reasm_frag *f = frags_of(r, i);

			for (uint32_t k = 0; k < r->e[i].nfrags; k++)
				to_dead(r, f[k].handle);
			unlink_entry(r, i);
		}
		dpc_reasm_flush(r);
		publish(r);
	}
	free(r->dead);
	free(r->bucket);
	free(r->done);
	free(r->frags);
	free(r->e);
	free(r);
}
