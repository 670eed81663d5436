/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The cache engine: per-partition circular item logs indexed by the cuckoo
 * table (table.h), memcached semantics, eviction (segment FIFO or CLOCK),
 * flush horizons, and QSBR reclamation.  Layout and protocol:
 * store_internal.h and docs/design.md.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include <urcu/urcu-qsbr.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "dpcache/hash.h"
#include "dpcache/store.h"
#include "store_internal.h"
#include "table.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define DPC_POISON(p, n)   ASAN_POISON_MEMORY_REGION((p), (n))
#define DPC_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define DPC_POISON(p, n)   ((void)(p), (void)(n))
#define DPC_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#define TTL_REL_MAX 2592000u     /* memcached: larger exptimes are absolute */
#define TARGET_LOAD 0.90         /* index sized for this load at the size hint */
#define REINSERT_BUDGET 16       /* CLOCK second chances per allocation */

/* ---- small helpers ------------------------------------------------------ */

/* Single-writer counter update: a relaxed load and store, no LOCK prefix. */
static inline void ctr_add(_Atomic uint64_t *ctr, uint64_t d)
{
	atomic_store_explicit(ctr, atomic_load_explicit(ctr, memory_order_relaxed) + d,
			      memory_order_relaxed);
}

static inline void ctr_sub(_Atomic uint64_t *ctr, uint64_t d)
{
	atomic_store_explicit(ctr, atomic_load_explicit(ctr, memory_order_relaxed) - d,
			      memory_order_relaxed);
}

static inline uint64_t ld(const _Atomic uint64_t *v)
{
	return atomic_load_explicit(v, memory_order_relaxed);
}

static inline uint32_t item_size(uint32_t klen, uint32_t vlen)
{
	return (uint32_t)((sizeof(struct dpc_item) + klen + vlen + 3u) & ~3u);
}

static inline uint32_t w0_klen(uint32_t w) { return w & 0xffu; }
static inline uint32_t w0_vlen(uint32_t w) { return (w >> DPC_ITEM_VSHIFT) & DPC_ITEM_VMASK; }

/* pos % cap without a divide: q = pos * ceil(2^64 / cap) >> 64 is pos / cap
 * or one more (pos < 2^50, so the error term is below 1); fix up once. */
static inline uint64_t ring_off(const struct dpc_part *p, uint64_t pos)
{
	uint64_t q = (uint64_t)(((unsigned __int128)pos * p->cap_inv) >> 64);
	uint64_t r = pos - q * p->cap;

	return (int64_t)r < 0 ? r + p->cap : r;
}

static inline struct dpc_item *item_at(const struct dpc_part *p, uint64_t pos)
{
	return (struct dpc_item *)(void *)(p->log + ring_off(p, pos));
}

static inline uint64_t make_cas(const struct dpc_part *p, uint64_t pos)
{
	return ((pos >> 2) << 6) | p->idx;
}

static inline bool expired(uint32_t exp, uint32_t now)
{
	return exp != 0 && exp <= now;
}

static inline struct dpc_part *part_of(const struct dpc_cache *c, uint64_t h)
{
	return c->parts[dpc_hash_part(h, c->nparts)];
}

static inline void cpu_relax(void)
{
	__builtin_ia32_pause();
}

static void fill_view(const struct dpc_part *p, const struct dpc_item *it, uint64_t pos,
		      uint32_t w, uint32_t exp, struct dpc_item_view *out)
{
	uint32_t klen = w0_klen(w);

	out->key = it->data;
	out->val = it->data + klen;
	out->vlen = w0_vlen(w);
	out->flags = it->flags;
	out->exptime = exp;
	out->klen = (uint8_t)klen;
	out->cas = make_cas(p, pos);
}

/* ---- time --------------------------------------------------------------- */

void dpc_cache_set_time(struct dpc_cache *c, uint32_t now)
{
	atomic_store_explicit(&c->now, now, memory_order_relaxed);
}

uint32_t dpc_cache_time(const struct dpc_cache *c)
{
	return atomic_load_explicit(&c->now, memory_order_relaxed);
}

uint32_t dpc_cache_abs_exptime(const struct dpc_cache *c, uint32_t exptime)
{
	if (exptime == 0)
		return 0;
	if (exptime <= TTL_REL_MAX)
		return dpc_cache_time(c) + exptime;
	return exptime;
}

/* ---- flush -------------------------------------------------------------- */

/* Raise the flush horizon to the current tail: everything stored so far is
 * invalid.  Any thread; CAS-max because several may race (cold path). */
static void flush_now(struct dpc_part *p)
{
	/* Acquire pairs with the owner's release of t_pub: items below it are complete. */
	uint64_t t = atomic_load_explicit(&p->t_pub, memory_order_acquire);
	uint64_t cur = atomic_load_explicit(&p->flush_pos, memory_order_relaxed);

	while (cur < t && !atomic_compare_exchange_weak_explicit(&p->flush_pos, &cur, t,
								 memory_order_release,
								 memory_order_relaxed))
		;
}

/* A delayed flush takes effect at the first look after its deadline; the
 * owner looks before every write, so no write after the deadline is lost. */
static inline void check_flush(struct dpc_part *p, uint32_t now)
{
	uint32_t at = atomic_load_explicit(&p->flush_at, memory_order_relaxed);

	if (dpc_unlikely(at != 0 && now >= at) &&
	    atomic_compare_exchange_strong_explicit(&p->flush_at, &at, 0, memory_order_relaxed,
						    memory_order_relaxed))
		flush_now(p);
}

void dpc_cache_flush(struct dpc_cache *c, uint32_t delay)
{
	uint32_t now = dpc_cache_time(c);

	for (unsigned i = 0; i < c->nparts; i++) {
		struct dpc_part *p = c->parts[i];

		atomic_fetch_add_explicit(&p->flushes, 1, memory_order_relaxed);
		if (delay == 0) {
			atomic_store_explicit(&p->flush_at, 0, memory_order_relaxed);
			flush_now(p);
		} else {
			atomic_store_explicit(&p->flush_at, now + delay, memory_order_relaxed);
		}
	}
}

/* ---- readers ------------------------------------------------------------ */

static inline uint64_t valid_from(const struct dpc_part *p)
{
	/* Acquire: both are published by release stores; a position at or above
	 * them refers to memory not yet retired (see store_internal.h). */
	uint64_t h = atomic_load_explicit(&p->h_pub, memory_order_acquire);
	uint64_t f = atomic_load_explicit(&p->flush_pos, memory_order_acquire);

	return h > f ? h : f;
}

static inline uint64_t rd64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* Key equality; keys of 8..16 bytes (the common case) are compared as two
 * overlapping 8-byte words, without a call.  Both buffers hold @p len bytes. */
static inline bool key_eq(const uint8_t *a, const uint8_t *b, unsigned len)
{
	if (dpc_likely(len - 8u <= 8u))
		return ((rd64(a) ^ rd64(b)) | (rd64(a + len - 8) ^ rd64(b + len - 8))) == 0;
	return memcmp(a, b, len) == 0;
}

/* Compare one candidate; fill @p out and return true on a live match. */
static inline bool try_item(const struct dpc_part *p, uint64_t pos, const struct dpc_key *k,
			    uint32_t now, struct dpc_item_view *out)
{
	struct dpc_item *it = item_at(p, pos);
	uint32_t w = atomic_load_explicit(&it->w0, memory_order_relaxed);

	if (w0_klen(w) != k->len || !key_eq(it->data, k->data, k->len))
		return false;
	uint32_t exp = atomic_load_explicit(&it->exptime, memory_order_relaxed);

	if (expired(exp, now))
		return false;
	/* CLOCK: mark as used.  Relaxed store of the same word plus the bit; the
	 * owner never rewrites w0 of a published item, so nothing is lost. */
	if (p->clock && !(w & DPC_ITEM_ACC))
		atomic_store_explicit(&it->w0, w | DPC_ITEM_ACC, memory_order_relaxed);
	fill_view(p, it, pos, w, exp, out);
	return true;
}

/*
 * Tag filter: a mask of the slots of @p bk whose tag may be @p tag, as bits
 * 7 + 4 * slot (the bit of the slot's top 16-bit word in a 32-word view of
 * the bucket).  SSE2: four 16-byte loads, compare 16-bit words, pack to a
 * 32-bit mask: about a dozen instructions and no branch (which slots match
 * is random; a branch per slot mispredicts).  The loads are plain, not
 * atomic: the mask only selects slots; each selected slot is then loaded
 * again with acquire and its tag checked (cand_slot()), so a value seen by
 * the filter alone is never used.  Aligned 8-byte parts of these loads are
 * single accesses on x86 (as DPDK's lock-free rte_hash relies on for its
 * signature compare), so the filter sees each slot either before or after
 * a concurrent store; a miss is still validated by the bucket versions.
 */
#define TAG_BITS 0x88888880u   /* words 7, 11, .., 31: the tags of slots 0..6 */

static inline uint32_t tag_filter(const struct dpc_bucket *bk, uint16_t tag)
{
#if defined(__SSE2__)
	const __m128i *v = (const __m128i *)(const void *)bk;
	__m128i t = _mm_set1_epi16((short)tag);
	__m128i lo = _mm_packs_epi16(_mm_cmpeq_epi16(_mm_load_si128(v), t),
				     _mm_cmpeq_epi16(_mm_load_si128(v + 1), t));
	__m128i hi = _mm_packs_epi16(_mm_cmpeq_epi16(_mm_load_si128(v + 2), t),
				     _mm_cmpeq_epi16(_mm_load_si128(v + 3), t));
	uint32_t m = (uint32_t)_mm_movemask_epi8(lo) | (uint32_t)_mm_movemask_epi8(hi) << 16;

	return m & TAG_BITS;
#else
	uint32_t m = 0;

	for (unsigned i = 0; i < DPC_BUCKET_SLOTS; i++)
		m |= (uint32_t)(dpc_slot_tag(atomic_load_explicit(&bk->slot[i],
								  memory_order_relaxed)) == tag)
		     << (7 + 4 * i);
	return m;
#endif
}

/*
 * The position a selected filter bit refers to, or 0 if that slot does not
 * hold @p tag (any more) or refers below @p from (retired, flushed; also
 * empty slots, ref 0: positions start at the ring size).  Acquire: pairs
 * with the owner's release store of the slot, so the item is complete.
 */
static inline uint64_t cand_pos(const struct dpc_bucket *b1, const struct dpc_bucket *b2,
				unsigned bit, uint16_t tag, uint64_t from)
{
	const struct dpc_bucket *bk = bit < 32 ? b1 : b2;
	uint64_t s = atomic_load_explicit(&bk->slot[((bit & 31u) - 7u) >> 2], memory_order_acquire);
	uint64_t pos = dpc_slot_ref(s) << 2;

	return dpc_slot_tag(s) == tag && pos >= from ? pos : 0;
}

static enum dpc_status part_get(struct dpc_part *p, const struct dpc_key *k, uint32_t now,
				struct dpc_item_view *out)
{
	const struct dpc_table *t = &p->tbl;
	uint16_t tag = dpc_table_tag(k->hash);
	uint32_t i1 = dpc_table_b1(t, k->hash);
	const struct dpc_bucket *b1 = &t->b[i1], *b2 = NULL;

	check_flush(p, now);
	for (;;) {
		/* Primary bucket first (about 90 % of keys live there): the second
		 * bucket's line is touched only on a miss in the first, as in
		 * dpc_cache_get_bulk().  Acquire: the slot loads below are not
		 * hoisted above the version load. */
		uint32_t v1 = atomic_load_explicit(&b1->ver, memory_order_acquire);

		if (v1 & 1u) {   /* a cuckoo move is in progress */
			cpu_relax();
			continue;
		}
		uint64_t from = valid_from(p);

		for (uint32_t m = tag_filter(b1, tag); m != 0; m &= m - 1) {
			uint64_t pos = cand_pos(b1, b1, (unsigned)__builtin_ctz(m), tag, from);

			if (pos != 0 && try_item(p, pos, k, now, out))
				return DPC_OK;   /* a hit is validated by the full key */
		}
		if (b2 == NULL)
			b2 = &t->b[dpc_table_alt(t, i1, tag)];
		/* Loaded after b1 was scanned: a move between b1 and b2 at any time
		 * since v1 was loaded changes b1's version, caught below. */
		uint32_t v2 = atomic_load_explicit(&b2->ver, memory_order_acquire);

		if (v2 & 1u) {
			cpu_relax();
			continue;
		}
		for (uint32_t m = b2 == b1 ? 0 : tag_filter(b2, tag); m != 0; m &= m - 1) {
			uint64_t pos = cand_pos(b1, b2, 32u + (unsigned)__builtin_ctz(m), tag, from);

			if (pos != 0 && try_item(p, pos, k, now, out))
				return DPC_OK;
		}
		/* Fence: orders the slot loads before the version re-check; pairs
		 * with the release fence in move_entry() (table.c).  A miss is
		 * final only if no entry moved between the two buckets meanwhile. */
		atomic_thread_fence(memory_order_acquire);
		if (atomic_load_explicit(&b1->ver, memory_order_relaxed) == v1 &&
		    atomic_load_explicit(&b2->ver, memory_order_relaxed) == v2)
			return DPC_NOT_FOUND;
	}
}

void dpc_cache_prefetch(const struct dpc_cache *c, uint64_t hash)
{
	const struct dpc_part *p = part_of(c, hash);
	uint32_t i1 = dpc_table_b1(&p->tbl, hash);

	dpc_prefetch0(&p->tbl.b[i1]);
}

void dpc_cache_prefetch_item(const struct dpc_cache *c, uint64_t hash)
{
	const struct dpc_part *p = part_of(c, hash);
	const struct dpc_table *t = &p->tbl;
	uint16_t tag = dpc_table_tag(hash);
	uint32_t i1 = dpc_table_b1(t, hash);
	const struct dpc_bucket *b1 = &t->b[i1];
	uint32_t m = tag_filter(b1, tag);

	if (m == 0) {
		dpc_prefetch0(&t->b[dpc_table_alt(t, i1, tag)]);
		return;
	}
	/* Relaxed: a hint; part_get() re-reads the slot with acquire before use. */
	uint64_t s = atomic_load_explicit(&b1->slot[((unsigned)__builtin_ctz(m) - 7u) >> 2],
					  memory_order_relaxed);
	uint64_t pos = dpc_slot_ref(s) << 2;

	if (pos >= valid_from(p)) {
		const uint8_t *it = (const uint8_t *)item_at(p, pos);

		/* Header, key and a short value span two lines in most cases. */
		dpc_prefetch0(it);
		dpc_prefetch0(it + DPC_CACHE_LINE);
	}
}

enum dpc_status dpc_cache_get(const struct dpc_cache *c, const struct dpc_key *k,
			      struct dpc_item_view *out)
{
	if (dpc_unlikely(k->len == 0 || k->len > DPC_KEY_MAX))
		return DPC_INVALID;
	return part_get(part_of(c, k->hash), k, dpc_cache_time(c), out);
}

/* Value lines prefetched by stage 3 of dpc_cache_get_bulk() for large values. */
#define BULK_VAL_PREFETCH_LINES 32u

void dpc_cache_get_bulk(const struct dpc_cache *c, const struct dpc_key *keys, unsigned n,
			struct dpc_item_view *out, enum dpc_status *st)
{
	enum { B_MISS, B_CAND, B_SLOW, B_INVALID, B_NEED_B2 };
	struct {
		struct dpc_part *p;
		const struct dpc_bucket *b1, *b2;   /* b2: only once needed (B_NEED_B2) */
		uint64_t pos;        /* the one candidate (B_CAND) */
		uint32_t i1;         /* index of b1 */
		uint32_t v1;         /* version of b1 before its filter */
		uint32_t m1;         /* tag filter of b1 */
		uint16_t tag;
		uint8_t state;
	} s[DPC_BULK_MAX];
	uint32_t now = dpc_cache_time(c);
	unsigned need_b2 = 0;

	if (n > DPC_BULK_MAX)
		n = DPC_BULK_MAX;
	/*
	 * Stage 1: hash -> buckets; prefetch the primary bucket of every key.
	 * The owner inserts into b1 when it has room, so most keys (about 90 %
	 * at the target load) are found there; b2 is fetched only for the
	 * others (stage 3b), which saves one line per lookup.
	 */
	for (unsigned i = 0; i < n; i++) {
		struct dpc_part *p = part_of(c, keys[i].hash);
		uint16_t tag = dpc_table_tag(keys[i].hash);
		uint32_t i1 = dpc_table_b1(&p->tbl, keys[i].hash);

		s[i].p = p;
		s[i].tag = tag;
		s[i].i1 = i1;
		s[i].b1 = &p->tbl.b[i1];
		dpc_prefetch0(s[i].b1);
		check_flush(p, now);
	}
	/* Stage 2: version and tag filter of b1.  A short loop without
	 * data-dependent branches, so that the out-of-order core keeps many of
	 * the misses of stage 1 in flight at once. */
	for (unsigned i = 0; i < n; i++) {
		/* Acquire: as in part_get(); the filter loads are not hoisted above. */
		s[i].v1 = atomic_load_explicit(&s[i].b1->ver, memory_order_acquire);
		s[i].m1 = tag_filter(s[i].b1, s[i].tag);
	}
	/* Stage 3: the candidate of each key in b1: prefetch its item; none:
	 * prefetch b2. */
	for (unsigned i = 0; i < n; i++) {
		uint64_t from = valid_from(s[i].p);
		unsigned ncand = 0;

		if (dpc_unlikely(keys[i].len == 0 || keys[i].len > DPC_KEY_MAX)) {
			s[i].state = B_INVALID;
			continue;
		}
		for (uint32_t m = s[i].m1; m != 0; m &= m - 1) {
			uint64_t pos = cand_pos(s[i].b1, s[i].b1, (unsigned)__builtin_ctz(m), s[i].tag,
						from);

			if (pos != 0) {
				s[i].pos = pos;
				ncand++;
			}
		}
		if (dpc_unlikely(ncand > 1 || (s[i].v1 & 1u))) {
			s[i].state = B_SLOW;   /* tag collision, or a cuckoo move under way */
		} else if (ncand == 1) {
			const uint8_t *it = (const uint8_t *)item_at(s[i].p, s[i].pos);

			/* The header and key, and the rest of an item of up to a line. */
			dpc_prefetch0(it);
			dpc_prefetch0(it + DPC_CACHE_LINE - 1);
			s[i].state = B_CAND;
		} else {
			const struct dpc_table *t = &s[i].p->tbl;

			s[i].b2 = &t->b[dpc_table_alt(t, s[i].i1, s[i].tag)];
			dpc_prefetch0(s[i].b2);
			s[i].state = B_NEED_B2;
			need_b2++;
		}
	}
	/* Stage 3b: keys not in b1 look in b2.  A miss is final only if neither
	 * version changed since it was read before its bucket's scan: b1 was
	 * scanned before b2, so a key that moved from b2 to b1 in between
	 * changed v1 (see part_get()). */
	for (unsigned i = 0; need_b2 != 0 && i < n; i++) {
		if (s[i].state != B_NEED_B2)
			continue;
		need_b2--;

		const struct dpc_bucket *b2 = s[i].b2;
		/* Acquire: the slot loads of the filter are not hoisted above. */
		uint32_t v2 = atomic_load_explicit(&b2->ver, memory_order_acquire);
		uint64_t from = valid_from(s[i].p);
		unsigned ncand = 0;

		for (uint32_t m = tag_filter(b2, s[i].tag); m != 0; m &= m - 1) {
			uint64_t pos = cand_pos(b2, b2, (unsigned)__builtin_ctz(m), s[i].tag, from);

			if (pos != 0) {
				s[i].pos = pos;
				ncand++;
			}
		}
		if (dpc_unlikely(ncand > 1 || (v2 & 1u) || b2 == s[i].b1)) {
			s[i].state = B_SLOW;
		} else if (ncand == 1) {
			const uint8_t *it = (const uint8_t *)item_at(s[i].p, s[i].pos);

			dpc_prefetch0(it);
			dpc_prefetch0(it + DPC_CACHE_LINE - 1);
			s[i].state = B_CAND;
		} else {
			/* Fence: orders the slot loads before the re-check; pairs with
			 * the release fence in move_entry() (table.c). */
			atomic_thread_fence(memory_order_acquire);
			s[i].state = atomic_load_explicit(&s[i].b1->ver, memory_order_relaxed) ==
				     s[i].v1 &&
				     atomic_load_explicit(&b2->ver, memory_order_relaxed) == v2 ?
				     B_MISS : B_SLOW;
		}
	}
	/* Stage 4: compare keys and answer; start fetching large values, which
	 * the caller reads next. */
	for (unsigned i = 0; i < n; i++) {
		switch (s[i].state) {
		case B_CAND:
			if (dpc_likely(try_item(s[i].p, s[i].pos, &keys[i], now, &out[i]))) {
				st[i] = DPC_OK;
				if (dpc_unlikely(out[i].vlen > DPC_CACHE_LINE)) {
					const uint8_t *v = out[i].val;
					uint32_t l = out[i].vlen < BULK_VAL_PREFETCH_LINES * DPC_CACHE_LINE ?
						     out[i].vlen : BULK_VAL_PREFETCH_LINES * DPC_CACHE_LINE;

					for (uint32_t o = DPC_CACHE_LINE; o < l; o += DPC_CACHE_LINE)
						dpc_prefetch0(v + o);
				}
				break;
			}
			/* Tag collision or expired: the careful path decides. */
			st[i] = part_get(s[i].p, &keys[i], now, &out[i]);
			break;
		case B_MISS:
			st[i] = DPC_NOT_FOUND;
			break;
		case B_INVALID:
			st[i] = DPC_INVALID;
			break;
		default:
			st[i] = part_get(s[i].p, &keys[i], now, &out[i]);
			break;
		}
	}
}

/* ---- owner: reclamation ------------------------------------------------- */

/* Retire whole segments below the head: publish the head, then ask the
 * reclaimer for a grace period.  Two stores, never waits. */
static void retire(struct dpc_part *p)
{
	uint64_t upto = p->h & ~(p->seg - 1);

	if (upto <= p->last_retire)
		return;
	p->last_retire = upto;
	/* Release: readers that see the new head ignore positions below it. */
	atomic_store_explicit(&p->h_pub, p->h, memory_order_release);
	/* Release: the reclaimer's grace period starts after the head moved. */
	atomic_store_explicit(&p->retire_req, upto, memory_order_release);
}

/*
 * The reclaimer thread of a cache (not registered with QSBR, so it may wait
 * for grace periods): collect retire requests, wait for one grace period,
 * then publish each partition's reclaim horizon.  Polls every 100 us while
 * idle, so owners signal it with a plain store instead of a syscall.
 */
static void *reclaimer_main(void *arg)
{
	struct dpc_cache *c = arg;
	uint64_t want[DPC_MAX_PARTS];
	const struct timespec nap = { .tv_sec = 0, .tv_nsec = 100000 };

	while (!atomic_load_explicit(&c->stop, memory_order_acquire)) {
		bool any = false;

		for (unsigned i = 0; i < c->nparts; i++) {
			struct dpc_part *p = c->parts[i];

			/* Acquire: pairs with retire(); the head moved before this request. */
			want[i] = atomic_load_explicit(&p->retire_req, memory_order_acquire);
			any |= want[i] > atomic_load_explicit(&p->rc, memory_order_relaxed);
		}
		if (!any) {
			nanosleep(&nap, NULL);
			continue;
		}
		/* Every reader online before this point has passed a quiescent
		 * state when it returns: nobody still holds a ref below want[i]. */
		urcu_qsbr_synchronize_rcu();
		for (unsigned i = 0; i < c->nparts; i++) {
			struct dpc_part *p = c->parts[i];

			/* Release: pairs with the owner's acquire load in tail_put(). */
			if (want[i] > atomic_load_explicit(&p->rc, memory_order_relaxed))
				atomic_store_explicit(&p->rc, want[i], memory_order_release);
		}
	}
	return NULL;
}

/* Debug builds: fill reclaimed memory with 0xdd and poison it for ASan, so a
 * reader that uses memory after its grace period reads garbage or trips
 * ASan.  The owner unpoisons what it writes at the tail. */
static void poison_reclaimed(struct dpc_part *p, uint64_t rc)
{
#ifdef DPC_DEBUG
	while (p->poisoned < rc) {
		uint64_t off = p->poisoned % p->cap;
		uint64_t n = rc - p->poisoned;

		if (n > p->cap - off)
			n = p->cap - off;
		DPC_UNPOISON(p->log + off, n);   /* ring-end padding was never unpoisoned */
		memset(p->log + off, 0xdd, n);
		DPC_POISON(p->log + off, n);
		p->poisoned += n;
	}
#else
	(void)p;
	(void)rc;
#endif
}

/* Reserve @p size bytes at the tail (padding to the ring end first if the
 * item would wrap).  Fails if that memory is still waiting for a grace
 * period.  Does not evict. */
static bool tail_put(struct dpc_part *p, uint32_t size, uint64_t *pos)
{
	uint64_t off = p->t % p->cap;
	uint64_t pad = off + size > p->cap ? p->cap - off : 0;
	/* Acquire: pairs with the reclaimer's release; memory below rc + cap is ours again. */
	uint64_t rc = atomic_load_explicit(&p->rc, memory_order_acquire);

	if (p->t + pad + size > rc + p->cap)
		return false;
	poison_reclaimed(p, rc);
	if (pad) {
		struct dpc_item *padit = item_at(p, p->t);

		DPC_UNPOISON(padit, sizeof(uint32_t));
		atomic_store_explicit(&padit->w0, 0, memory_order_relaxed);
		p->t += pad;
	}
	*pos = p->t;
	DPC_UNPOISON(item_at(p, p->t), size);
	p->t += size;
	return true;
}

static inline void account_add(struct dpc_part *p, uint32_t klen, uint32_t vlen)
{
	ctr_add(&p->ctr.items, 1);
	ctr_add(&p->ctr.item_bytes, item_size(klen, vlen));
	ctr_add(&p->ctr.kv_bytes, klen + vlen);
}

/* The item at @p pos left the index. */
static void account_drop(struct dpc_part *p, uint64_t pos)
{
	uint32_t w = atomic_load_explicit(&item_at(p, pos)->w0, memory_order_relaxed);

	ctr_sub(&p->ctr.items, 1);
	ctr_sub(&p->ctr.item_bytes, item_size(w0_klen(w), w0_vlen(w)));
	ctr_sub(&p->ctr.kv_bytes, w0_klen(w) + w0_vlen(w));
}

/* Evict (or, under CLOCK, give a second chance to) the item at the head. */
static void evict_one(struct dpc_part *p, uint32_t now, int *budget)
{
	struct dpc_item *it = item_at(p, p->h);
	uint32_t w = atomic_load_explicit(&it->w0, memory_order_relaxed);
	uint32_t klen = w0_klen(w), vlen = w0_vlen(w);

	if (klen == 0) {   /* padding to the end of the ring */
		p->h += p->cap - p->h % p->cap;
		return;
	}
	uint32_t sz = item_size(klen, vlen);
	uint64_t hh = dpc_hash(it->data, klen);
	uint16_t tag = dpc_table_tag(hh);
	uint32_t i1 = dpc_table_b1(&p->tbl, hh);
	uint32_t i2 = dpc_table_alt(&p->tbl, i1, tag);
	_Atomic uint64_t *slot = dpc_table_find_exact(&p->tbl, i1, i2, dpc_slot_make(tag, p->h >> 2));

	if (slot != NULL) {
		bool flushed = p->h < atomic_load_explicit(&p->flush_pos, memory_order_acquire);
		uint32_t exp = atomic_load_explicit(&it->exptime, memory_order_relaxed);
		bool dead = expired(exp, now);
		uint64_t npos;

		if (p->clock && (w & DPC_ITEM_ACC) && !flushed && !dead && *budget > 0) {
			--*budget;
			if (tail_put(p, sz, &npos)) {
				struct dpc_item *ni = item_at(p, npos);

				memcpy(ni, it, sz);
				atomic_store_explicit(&ni->w0, w & ~DPC_ITEM_ACC, memory_order_relaxed);
				/* Release: the copy is complete before readers find it. */
				atomic_store_explicit(slot, dpc_slot_make(tag, npos >> 2),
						      memory_order_release);
				ctr_add(&p->ctr.reinserted, 1);
				p->h += sz;
				return;
			}
		}
		/* Release not needed: clearing a slot publishes nothing; the memory
		 * stays valid for readers holding the old ref until the grace
		 * period that follows the segment's retirement. */
		atomic_store_explicit(slot, 0, memory_order_relaxed);
		account_drop(p, p->h);
		if (dead)
			ctr_add(&p->ctr.expired, 1);
		else if (!flushed)
			ctr_add(&p->ctr.evictions, 1);
	}
	p->h += sz;
}

/* Allocate @p size bytes at the tail, evicting from the head as needed. */
static bool log_alloc(struct dpc_part *p, uint32_t size, uint32_t now, uint64_t *pos)
{
	int budget = REINSERT_BUDGET;

	for (;;) {
		uint64_t off = p->t % p->cap;
		uint64_t need = (off + size > p->cap ? p->cap - off : 0) + size;

		if (p->t + need - p->h <= p->cap - p->reserve)
			break;
		if (p->h >= p->t)
			break;
		evict_one(p, now, &budget);
	}
	retire(p);
	if (dpc_unlikely(!tail_put(p, size, pos))) {
		ctr_add(&p->ctr.nospace, 1);
		return false;
	}
	return true;
}

/* ---- owner: index ------------------------------------------------------- */

struct loc {
	_Atomic uint64_t *slot;
	struct dpc_item *it;
	uint64_t pos;
	uint32_t w;
	bool expired;
};

struct kh {
	uint32_t i1, i2;
	uint16_t tag;
};

static inline struct kh key_buckets(const struct dpc_part *p, uint64_t h)
{
	struct kh r;

	r.tag = dpc_table_tag(h);
	r.i1 = dpc_table_b1(&p->tbl, h);
	r.i2 = dpc_table_alt(&p->tbl, r.i1, r.tag);
	return r;
}

/* Owner lookup: the key's entry (live or expired, not flushed). */
static bool owner_find(struct dpc_part *p, const struct dpc_key *k, struct kh b, uint32_t now,
		       struct loc *l)
{
	uint64_t fp = atomic_load_explicit(&p->flush_pos, memory_order_acquire);
	uint64_t from = fp > p->h ? fp : p->h;

	for (int pass = 0; pass < 2; pass++) {
		struct dpc_bucket *bk = &p->tbl.b[pass ? b.i2 : b.i1];

		for (unsigned i = 0; i < DPC_BUCKET_SLOTS; i++) {
			uint64_t s = atomic_load_explicit(&bk->slot[i], memory_order_relaxed);
			uint64_t pos = dpc_slot_ref(s) << 2;

			if (s == 0 || dpc_slot_tag(s) != b.tag || pos < from)
				continue;
			struct dpc_item *it = item_at(p, pos);
			uint32_t w = atomic_load_explicit(&it->w0, memory_order_relaxed);

			if (w0_klen(w) != k->len || memcmp(it->data, k->data, k->len) != 0)
				continue;
			l->slot = &bk->slot[i];
			l->it = it;
			l->pos = pos;
			l->w = w;
			l->expired = expired(atomic_load_explicit(&it->exptime, memory_order_relaxed),
					     now);
			return true;
		}
		if (b.i2 == b.i1)
			break;
	}
	return false;
}

/* Publish the item at @p pos for key @p k: replace the key's entry in place,
 * or insert (cuckoo), or as a last resort drop the oldest entry. */
static void index_put(struct dpc_part *p, const struct dpc_key *k, struct kh b, uint64_t pos,
		      uint32_t now)
{
	uint64_t sv = dpc_slot_make(b.tag, pos >> 2);
	struct loc l;

	if (owner_find(p, k, b, now, &l)) {
		/* Release: the new item is complete before readers find it. */
		atomic_store_explicit(l.slot, sv, memory_order_release);
		account_drop(p, l.pos);
		return;
	}
	uint64_t fp = atomic_load_explicit(&p->flush_pos, memory_order_acquire);
	uint64_t from = fp > p->h ? fp : p->h;
	uint64_t dropped;
	int r = dpc_table_insert(&p->tbl, b.i1, b.i2, sv, from >> 2, &dropped);

	if (dropped != 0 && (dpc_slot_ref(dropped) << 2) >= p->h)
		account_drop(p, dpc_slot_ref(dropped) << 2);
	if (r < 0) {
		_Atomic uint64_t *v = dpc_table_victim(&p->tbl, b.i1, b.i2);
		uint64_t old = atomic_load_explicit(v, memory_order_relaxed);

		/* Release: the new item is complete before readers find it. */
		atomic_store_explicit(v, sv, memory_order_release);
		if (old != 0 && (dpc_slot_ref(old) << 2) >= p->h)
			account_drop(p, dpc_slot_ref(old) << 2);
		ctr_add(&p->ctr.index_ev, 1);
	}
}

/* Write a new item (key, then up to two value pieces) and publish it. */
static enum dpc_status write_item(struct dpc_part *p, const struct dpc_key *k, struct kh b,
				  const void *v1, uint32_t l1, const void *v2, uint32_t l2,
				  uint32_t flags, uint32_t exp, uint32_t now, uint64_t *cas_out)
{
	uint32_t vlen = l1 + l2;
	uint32_t sz = item_size(k->len, vlen);
	uint64_t pos;

	if (!log_alloc(p, sz, now, &pos))
		return DPC_NOSPACE;
	struct dpc_item *it = item_at(p, pos);

	/* Plain stores: nobody can see this memory until index_put() publishes. */
	atomic_store_explicit(&it->w0, k->len | (vlen << DPC_ITEM_VSHIFT), memory_order_relaxed);
	it->flags = flags;
	atomic_store_explicit(&it->exptime, exp, memory_order_relaxed);
	p->has_ttl |= exp != 0;
	memcpy(it->data, k->data, k->len);
	if (l1)
		memcpy(it->data + k->len, v1, l1);
	if (l2)
		memcpy(it->data + k->len + l1, v2, l2);
	/* Release: flushers that read the tail see this item complete. */
	atomic_store_explicit(&p->t_pub, p->t, memory_order_release);
	index_put(p, k, b, pos, now);
	account_add(p, k->len, vlen);
	if (cas_out)
		*cas_out = make_cas(p, pos);
	return DPC_OK;
}

/* ---- owner: operations -------------------------------------------------- */

static inline bool bad_key(const struct dpc_key *k)
{
	return k->len == 0 || k->len > DPC_KEY_MAX;
}

enum dpc_status dpc_store_set(struct dpc_cache *c, unsigned part, enum dpc_set_mode mode,
			      const struct dpc_key *k, const void *val, uint32_t vlen,
			      uint32_t flags, uint32_t exptime, uint64_t cas, uint64_t *cas_out)
{
	if (dpc_unlikely(part >= c->nparts || bad_key(k) || (vlen != 0 && val == NULL)))
		return DPC_INVALID;
	if (vlen > c->max_value)
		return DPC_TOO_LARGE;

	struct dpc_part *p = c->parts[part];
	uint32_t now = dpc_cache_time(c);
	struct kh b = key_buckets(p, k->hash);
	struct loc l;
	bool found;

	check_flush(p, now);
	found = owner_find(p, k, b, now, &l) && !l.expired;
	if (!found) {
		if (mode == DPC_REPLACE || mode == DPC_APPEND || mode == DPC_PREPEND)
			return DPC_NOT_STORED;
		if (cas != 0)
			return DPC_NOT_FOUND;
	} else {
		if (mode == DPC_ADD)
			return DPC_EXISTS;
		if (cas != 0 && cas != make_cas(p, l.pos))
			return DPC_EXISTS;
	}
	if (mode == DPC_APPEND || mode == DPC_PREPEND) {
		uint32_t ovlen = w0_vlen(l.w);
		const uint8_t *ov = l.it->data + w0_klen(l.w);
		uint32_t oexp = atomic_load_explicit(&l.it->exptime, memory_order_relaxed);

		if ((uint64_t)ovlen + vlen > c->max_value)
			return DPC_TOO_LARGE;
		/* The old item stays readable while we copy it: it cannot be
		 * reclaimed before this thread's next quiescent state. */
		if (mode == DPC_APPEND)
			return write_item(p, k, b, ov, ovlen, val, vlen, l.it->flags, oexp, now,
					  cas_out);
		return write_item(p, k, b, val, vlen, ov, ovlen, l.it->flags, oexp, now, cas_out);
	}
	return write_item(p, k, b, val, vlen, NULL, 0, flags, dpc_cache_abs_exptime(c, exptime),
			  now, cas_out);
}

enum dpc_status dpc_store_delete(struct dpc_cache *c, unsigned part, const struct dpc_key *k,
				 uint64_t cas)
{
	if (dpc_unlikely(part >= c->nparts || bad_key(k)))
		return DPC_INVALID;

	struct dpc_part *p = c->parts[part];
	uint32_t now = dpc_cache_time(c);
	struct loc l;

	check_flush(p, now);
	if (!owner_find(p, k, key_buckets(p, k->hash), now, &l))
		return DPC_NOT_FOUND;
	if (l.expired) {
		atomic_store_explicit(l.slot, 0, memory_order_relaxed);
		account_drop(p, l.pos);
		ctr_add(&p->ctr.expired, 1);
		return DPC_NOT_FOUND;
	}
	if (cas != 0 && cas != make_cas(p, l.pos))
		return DPC_EXISTS;
	/* Relaxed: clearing publishes nothing; readers that still hold the ref
	 * read a valid item until their next quiescent state. */
	atomic_store_explicit(l.slot, 0, memory_order_relaxed);
	account_drop(p, l.pos);
	return DPC_OK;
}

/* memcached accepts a decimal u64 of at most 20 digits (no sign, no blanks). */
static bool parse_u64(const uint8_t *s, uint32_t n, uint64_t *out)
{
	uint64_t v = 0;

	if (n == 0 || n > 20)
		return false;
	for (uint32_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		uint64_t d = (uint64_t)(s[i] - '0');

		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

static uint32_t fmt_u64(uint64_t v, char buf[24])
{
	char tmp[24];
	uint32_t n = 0, i = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	while (n > 0)
		buf[i++] = tmp[--n];
	return i;
}

enum dpc_status dpc_store_arith(struct dpc_cache *c, unsigned part, const struct dpc_key *k,
				bool incr, uint64_t delta, uint64_t initial, uint32_t exptime,
				uint64_t cas, uint64_t *value_out, uint64_t *cas_out)
{
	if (dpc_unlikely(part >= c->nparts || bad_key(k)))
		return DPC_INVALID;

	struct dpc_part *p = c->parts[part];
	uint32_t now = dpc_cache_time(c);
	struct kh b = key_buckets(p, k->hash);
	struct loc l;
	char buf[24];
	uint64_t v;
	enum dpc_status st;

	check_flush(p, now);
	if (!owner_find(p, k, b, now, &l) || l.expired) {
		if (exptime == 0xffffffffu || cas != 0)
			return DPC_NOT_FOUND;
		v = initial;
		st = write_item(p, k, b, buf, fmt_u64(v, buf), NULL, 0, 0,
				dpc_cache_abs_exptime(c, exptime), now, cas_out);
	} else {
		if (cas != 0 && cas != make_cas(p, l.pos))
			return DPC_EXISTS;
		if (!parse_u64(l.it->data + w0_klen(l.w), w0_vlen(l.w), &v))
			return DPC_NON_NUMERIC;
		if (incr)
			v += delta;     /* wraps at 2^64, as memcached */
		else
			v = v > delta ? v - delta : 0;
		st = write_item(p, k, b, buf, fmt_u64(v, buf), NULL, 0, l.it->flags,
				atomic_load_explicit(&l.it->exptime, memory_order_relaxed), now,
				cas_out);
	}
	if (st == DPC_OK && value_out)
		*value_out = v;
	return st;
}

enum dpc_status dpc_store_touch(struct dpc_cache *c, unsigned part, const struct dpc_key *k,
				uint32_t exptime, struct dpc_item_view *out)
{
	if (dpc_unlikely(part >= c->nparts || bad_key(k)))
		return DPC_INVALID;

	struct dpc_part *p = c->parts[part];
	uint32_t now = dpc_cache_time(c);
	struct loc l;

	check_flush(p, now);
	if (!owner_find(p, k, key_buckets(p, k->hash), now, &l) || l.expired)
		return DPC_NOT_FOUND;
	uint32_t exp = dpc_cache_abs_exptime(c, exptime);

	/* Relaxed: exptime is the one mutable field; readers load it atomically. */
	atomic_store_explicit(&l.it->exptime, exp, memory_order_relaxed);
	p->has_ttl |= exp != 0;
	if (out)
		fill_view(p, l.it, l.pos, l.w, exp, out);
	return DPC_OK;
}

/* Sweep a few buckets: drop expired and flushed entries from the index. */
static unsigned sweep(struct dpc_part *p, uint32_t now, unsigned nbuckets)
{
	uint64_t fp = atomic_load_explicit(&p->flush_pos, memory_order_acquire);
	unsigned done = 0;

	for (; done < nbuckets; done++) {
		struct dpc_bucket *bk = &p->tbl.b[p->sweep];

		p->sweep = p->sweep + 1 == p->tbl.nb ? 0 : p->sweep + 1;
		for (unsigned i = 0; i < DPC_BUCKET_SLOTS; i++) {
			uint64_t s = atomic_load_explicit(&bk->slot[i], memory_order_relaxed);
			uint64_t pos = dpc_slot_ref(s) << 2;

			if (s == 0 || pos < p->h)
				continue;
			bool flushed = pos < fp;

			/* Without any TTL ever written nothing can expire: skip the item
			 * read (a DRAM miss per slot at millions of items). */
			if (!flushed && (!p->has_ttl ||
					 !expired(atomic_load_explicit(&item_at(p, pos)->exptime,
								       memory_order_relaxed), now)))
				continue;
			atomic_store_explicit(&bk->slot[i], 0, memory_order_relaxed);
			account_drop(p, pos);
			if (!flushed)
				ctr_add(&p->ctr.expired, 1);
		}
	}
	return done;
}

unsigned dpc_store_maintain(struct dpc_cache *c, unsigned part, unsigned budget)
{
	if (dpc_unlikely(part >= c->nparts))
		return 0;

	struct dpc_part *p = c->parts[part];
	uint32_t now = dpc_cache_time(c);
	unsigned work = 1;

	check_flush(p, now);
	retire(p);
	if (budget > 1)
		work += sweep(p, now, budget - 1);
	return work;
}

/* ---- life cycle and stats ---------------------------------------------- */

unsigned dpc_cache_nparts(const struct dpc_cache *c)
{
	return c->nparts;
}

void dpc_cache_stats(const struct dpc_cache *c, unsigned part, struct dpc_store_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (part >= c->nparts)
		return;

	const struct dpc_part *p = c->parts[part];
	out->items = ld(&p->ctr.items);
	out->bytes_used = ld(&p->ctr.item_bytes);
	out->bytes_limit = p->cap - p->reserve;
	out->index_slots = (uint64_t)p->tbl.nb * DPC_BUCKET_SLOTS;
	out->evictions = ld(&p->ctr.evictions);
	out->reinserted = ld(&p->ctr.reinserted);
	out->expired_reclaimed = ld(&p->ctr.expired);
	out->index_evictions = ld(&p->ctr.index_ev);
	out->nospace = ld(&p->ctr.nospace);
	out->flushes = ld(&p->flushes);
}

double dpc_cache_meta_bytes_per_item(const struct dpc_cache *c)
{
	double meta = 0, items = 0;

	for (unsigned i = 0; i < c->nparts; i++) {
		const struct dpc_part *p = c->parts[i];

		meta += (double)p->tbl.nb * sizeof(struct dpc_bucket);
		meta += (double)(ld(&p->ctr.item_bytes) - ld(&p->ctr.kv_bytes));
		items += (double)ld(&p->ctr.items);
	}
	return items > 0 ? meta / items : 0.0;
}

static uint64_t pow2_floor(uint64_t v)
{
	return v == 0 ? 0 : 1ull << (63 - __builtin_clzll(v));
}

static void part_free(struct dpc_part *p)
{
	if (p == NULL)
		return;
	dpc_table_fini(&p->tbl);
	if (p->log != NULL) {
		DPC_UNPOISON(p->log, p->cap);
		munmap(p->log, p->log_map);
	}
	free(p);
}

static void *map_log(uint64_t bytes, bool huge, size_t *mapped)
{
	void *m = MAP_FAILED;

	if (huge) {
		size_t hb = (bytes + (2u << 20) - 1) & ~((size_t)(2u << 20) - 1);

		m = mmap(NULL, hb, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
		if (m != MAP_FAILED) {
			*mapped = hb;
			return m;
		}
	}
	m = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return NULL;
	if (huge) {
		/* Transparent huge pages, then fault everything in now: the memory
		 * budget is taken at start-up, not on the first writes. */
		(void)madvise(m, bytes, MADV_HUGEPAGE);
		(void)madvise(m, bytes, MADV_POPULATE_WRITE);
	}
	*mapped = bytes;
	return m;
}

static struct dpc_part *part_create(struct dpc_cache *c, unsigned idx, uint64_t budget,
				    unsigned hint, bool huge)
{
	struct dpc_part *p = aligned_alloc(DPC_CACHE_LINE, sizeof(*p));
	double per_item = (double)item_size(0, hint);
	double idx_per_item = (double)sizeof(struct dpc_bucket) / (DPC_BUCKET_SLOTS * TARGET_LOAD);
	uint64_t cap, seg, reserve;
	uint32_t nb;

	if (p == NULL)
		return NULL;
	memset(p, 0, sizeof(*p));
	p->c = c;
	p->idx = idx;
	p->clock = c->policy != DPC_EVICT_FIFO;
	/* Split the budget so that the index reaches TARGET_LOAD when the log
	 * is full of items of the hinted size. */
	cap = (uint64_t)((double)budget * per_item / (per_item + idx_per_item));
	seg = pow2_floor(cap / 64);
	seg = seg < 4096 ? 4096 : seg > (1u << 20) ? (1u << 20) : seg;
	cap &= ~(seg - 1);
	/* The reserve absorbs writes while a grace period is pending. */
	reserve = cap / 32 > 4 * seg ? cap / 32 : 4 * seg;
	if (reserve < 2ull * c->max_item)
		reserve = 2ull * c->max_item;
	reserve = (reserve + seg - 1) & ~(seg - 1);
	if (cap < 16 * seg || reserve >= cap || c->max_item > (cap - reserve) / 2)
		goto fail_inval;
	nb = (uint32_t)((double)(cap - reserve) / per_item / (DPC_BUCKET_SLOTS * TARGET_LOAD)) + 1;
	if ((uint64_t)nb * sizeof(struct dpc_bucket) + cap > budget)
		nb = (uint32_t)((budget - cap) / sizeof(struct dpc_bucket));
	if (nb < 2)
		goto fail_inval;
	if (dpc_table_init(&p->tbl, nb, huge) < 0)
		goto fail_nomem;
	p->log = map_log(cap, huge, &p->log_map);
	if (p->log == NULL)
		goto fail_nomem;
	DPC_POISON(p->log, cap);   /* never written yet */
	p->cap = cap;
	p->cap_inv = UINT64_MAX / cap + 1;
	p->seg = seg;
	p->reserve = reserve;
	/* Positions start at cap: never 0 (an empty slot), and the first lap
	 * may use the whole ring (rc + cap). */
	p->h = p->t = p->last_retire = p->poisoned = cap;
	atomic_init(&p->h_pub, cap);
	atomic_init(&p->t_pub, cap);
	atomic_init(&p->rc, cap);
	atomic_init(&p->retire_req, cap);
	atomic_init(&p->flush_pos, 0);
	atomic_init(&p->flush_at, 0);
	return p;

fail_inval:
	part_free(p);
	errno = EINVAL;
	return NULL;
fail_nomem:
	part_free(p);
	errno = ENOMEM;
	return NULL;
}

struct dpc_cache *dpc_cache_create(const struct dpc_cache_params *prm)
{
	struct dpc_cache *c;
	unsigned i;

	if (prm == NULL || prm->nparts == 0 || prm->nparts > DPC_MAX_PARTS ||
	    prm->max_value > DPC_ITEM_VMASK || prm->policy > DPC_EVICT_S3FIFO) {
		errno = EINVAL;
		return NULL;
	}
	/* S3-FIFO is measured (perf/evict_sim.c) but not implemented here:
	 * refuse it rather than run CLOCK under its name. */
	if (prm->policy == DPC_EVICT_S3FIFO) {
		errno = ENOTSUP;
		return NULL;
	}
	c = aligned_alloc(DPC_CACHE_LINE, sizeof(*c));
	if (c == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	memset(c, 0, sizeof(*c));
	c->nparts = prm->nparts;
	c->max_value = prm->max_value ? prm->max_value : DPC_VALUE_MAX_DEFAULT;
	c->max_item = item_size(DPC_KEY_MAX, c->max_value);
	c->policy = prm->policy;
	atomic_init(&c->now, (uint32_t)time(NULL));
	atomic_init(&c->stop, false);
	for (i = 0; i < c->nparts; i++) {
		c->parts[i] = part_create(c, i, prm->mem_bytes / c->nparts,
					  prm->item_size_hint ? prm->item_size_hint : 64,
					  prm->hugepages);
		if (c->parts[i] == NULL)
			goto fail;
	}
	if (pthread_create(&c->reclaimer, NULL, reclaimer_main, c) != 0) {
		errno = EAGAIN;
		goto fail;
	}
	c->reclaimer_started = true;
	return c;

fail:
	{
		int e = errno;

		for (unsigned j = 0; j < i; j++)
			part_free(c->parts[j]);
		free(c);
		errno = e;
	}
	return NULL;
}

void dpc_cache_free(struct dpc_cache *c)
{
	if (c == NULL)
		return;
	/* Stop the reclaimer.  It may be waiting for a grace period that needs
	 * this thread's quiescent state: go offline while joining. */
	if (c->reclaimer_started) {
		bool online = urcu_qsbr_read_ongoing();

		atomic_store_explicit(&c->stop, true, memory_order_release);
		if (online)
			urcu_qsbr_thread_offline();
		pthread_join(c->reclaimer, NULL);
		if (online)
			urcu_qsbr_thread_online();
	}
	for (unsigned i = 0; i < c->nparts; i++)
		part_free(c->parts[i]);
	free(c);
}
