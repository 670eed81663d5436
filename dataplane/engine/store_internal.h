/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file store_internal.h
 * Private to the engine: the layout of a cache, its partitions and items,
 * and the owner's primitives that the store's modules share (see
 * docs/design.md, "The table and the store").
 *
 * The store's modules, one file each:
 *   table.{h,c}    the cuckoo index and both halves of its seqlock
 *   log.{h,c}      the circular item log and the reclaimer thread
 *   evict.h, evict.c, evict_<policy>.c   eviction: one interface, one file
 *                  per policy, the head walk they share
 *   lookup.c       the lock-free readers (get, get_bulk, prefetch)
 *   semantics.c    memcached semantics of the owner's writes
 *   sweep.c        flush_all and the background expiry sweep (maintain)
 *   store.c        life cycle, statistics, the owner's index primitives
 *
 * A partition's item memory is one log (log.h), or two under S3-FIFO (the
 * main log and the small one), addressed by 64-bit positions; the small
 * log's positions start at DPC_LOG1_BASE, so a position names its log.  The index refers
 * to an item by its log and position / 4 (modulo 2^47).  Items are
 * immutable once published (only exptime changes, atomically, and readers
 * may set the accessed bit).
 */
#ifndef DPCACHE_STORE_INTERNAL_H
#define DPCACHE_STORE_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "dpcache/hash.h"
#include "dpcache/store.h"
#include "evict.h"
#include "log.h"
#include "table.h"

/*
 * Item header: 12 bytes, 4-byte aligned, followed by key and value bytes and
 * padding to 4; 16 bytes if the item's client flags need a word of their
 * own, 24 if it is a slack item (below).
 *
 *	w0       klen (bits 0..7) | vlen (8..28) | FLAGS (29) | SLACK (30) | ACC (31)
 *	cas32    the low 32 bits of the write's CAS sequence; in a slack item,
 *	         where its slack is: DPC_SLACK_BACK or DPC_SLACK_FRONT
 *	exptime  expiry (bits 0..27): seconds after the partition's exp_base,
 *	         0 = never; flags index (28..31): the item's client flags are
 *	         the partition's flagtab[index] (0: flags 0) unless FLAGS is set
 *	ext[0]   client flags (FLAGS set; a slack item always has it)
 *	ext[1,2] a slack item's 64-bit CAS base (lo, hi)
 *
 * Client flags.  Deployments use a handful of distinct flags values (a
 * client library's serialisation kinds, a compression bit), so each
 * partition keeps the first DPC_FLAGTAB_SIZE - 1 distinct non-zero values
 * it is asked to store in an append-only table (flagtab) and an item names
 * its value by a 4-bit index in the exptime word: 12 bytes of header for
 * such an item, 16 (FLAGS, ext[0]) only for a value that found the table
 * full.  An entry is written once, by the owner, before the first item
 * that names it is published, and never changes: a reader that found the
 * item through a slot loaded with acquire reads the entry written.
 * memcached saves its flags word only when flags are 0 (ITEM_CFLAGS).
 *
 * Expiry.  28 bits of seconds from exp_base (the cache clock at the
 * partition's first write, less DPC_EXP_BACK, so that an expiry in the
 * past always encodes to 1 <= now - exp_base) hold 8.5 years: an absolute
 * expiry further ahead is kept as exp_base + DPC_EXP_MASK (an item kept
 * by a cache that ran for 8.5 years expires then).  memcached keeps its
 * times as 32-bit seconds from its own start (rel_time_t) the same way.
 *
 * The owner writes w0 once before publishing; afterwards readers may only
 * set the accessed bit, with a relaxed store of the same word, and only
 * under a policy that asks for it (mark_hits).  klen == 0 marks a record
 * that is not an item: w0 == 0 the log's padding up to the end of the
 * ring, otherwise a filler of (vlen field * 4) bytes (the unused rest of a
 * reused hole, log.h).
 *
 * CAS.  Each partition counts its writes in a 64-bit sequence t (cas_seq,
 * never 0, never wraps); a write's CAS is t << 6 | partition.  The item
 * stores only t mod 2^32; a reader recovers t as the largest value at or
 * below an upper bound U of the partition's sequence whose low 32 bits are
 * cas32 (dpc_cas_recover()): the owner publishes U (cas_pub, relaxed)
 * before the release store that publishes the item, so a reader that found
 * the item loads a U >= t.  Why this is safe:
 *  - recovery never underestimates (U >= t), and a write after a client's
 *    read has a sequence above every U that read could have seen, so the
 *    CAS of any later version of a key is larger than any CAS a client
 *    read before it: no ABA, whatever position the later version takes
 *    (a reused hole at the same position included: the CAS is not made
 *    from the position);
 *  - a copy (CLOCK's second chance, S3-FIFO's move to the main FIFO)
 *    copies cas32 and keeps its CAS;
 *  - the cost: for an item written more than 2^32 writes of its partition
 *    ago, recovery may return t + k * 2^32 (it still never collides with
 *    another version), and it moves up by 2^32 each time the partition
 *    writes 2^32 more times, so a `gets` .. `cas` pair on such an item
 *    gets a spurious EXISTS (the safe answer: the client re-reads) if the
 *    partition wrote past a multiple of 2^32 in between, with probability
 *    (writes in between) / 2^32.
 * A slack item (APPEND) keeps a 64-bit base of its own space (top bit set,
 * apart from t << 6) and its CAS is base + vlen << 6, read with the same
 * load of w0 as the length: every length has its own CAS, and a reader
 * never pairs an old value with a new CAS.
 */
struct dpc_item {
	_Atomic uint32_t w0;
	uint32_t cas32;
	_Atomic uint32_t exptime;   /* expiry from exp_base (0 = never) | flags index << 28 */
	uint32_t ext[];             /* flags, slack CAS base; then key, then value */
};

static_assert(sizeof(struct dpc_item) == 12, "item header is 12 bytes (without flags)");

#define DPC_EXP_BITS      28u
#define DPC_EXP_MASK      ((1u << DPC_EXP_BITS) - 1)   /* 2^28 s: 8.5 years */
#define DPC_EXP_BACK      86400u   /* exp_base lies a day before the first write */
#define DPC_FLAGTAB_SIZE  (1u << (32u - DPC_EXP_BITS))   /* entry 0: flags 0 */
#define DPC_FLAGTAB_FULL  DPC_FLAGTAB_SIZE   /* flag_index() (store.c): no entry, use ext[0] */

#define DPC_ITEM_HDR_MIN 12u   /* no flags */
#define DPC_ITEM_HDR_MAX 24u   /* a slack item: flags and a 64-bit CAS base */

/** A filler record of @p n bytes (4 <= n < 8 MiB, a multiple of 4) for the head walk to skip. */
#define DPC_FILLER_W0(n) (((uint32_t)(n) >> 2) << 8)

#define DPC_ITEM_ACC     (1u << 31)
/*
 * An item written by APPEND or PREPEND: its record is larger than the item
 * (capacity dpc_slack_cap(): the next power of two, at most the largest
 * item), and later APPENDs (PREPENDs) that fit write their bytes into that
 * slack and grow vlen in place (one atomic add on w0, release, after the
 * bytes): readers that loaded the old w0 read the old value, whose bytes
 * never change.  An APPEND's slack follows the value (DPC_SLACK_BACK: the
 * value starts after the key); a PREPEND's precedes it (DPC_SLACK_FRONT:
 * the value ends at the end of the record and starts vlen bytes before,
 * so the start moves with the length read in the same load of w0).  Its
 * CAS is its base plus vlen << 6 (dpc_item_cas()): each base reserves
 * DPC_SLACK_CAS_SPAN sequence values, so every length has its own CAS.
 * Readers mark such an item with an atomic OR (the owner changes w0).
 */
#define DPC_ITEM_SLACK   (1u << 30)
#define DPC_SLACK_BACK   0u   /* a slack item's cas32: room after the value (APPEND) */
#define DPC_SLACK_FRONT  1u   /* room before the value (PREPEND) */
/* The item has client flags (ext[0]); set in every slack item. */
#define DPC_ITEM_FLAGS   (1u << 29)
#define DPC_SLACK_CAS_SPAN (1ull << 21)
#define DPC_SLACK_CAS_TOP  (1ull << 63)   /* slack CAS bases: apart from t << 6 */
#define DPC_ITEM_VSHIFT  8u
#define DPC_ITEM_VMASK   ((1u << 21) - 1)   /* values up to 2 MiB - 1 */
static_assert(DPC_ITEM_VMASK == DPC_VALUE_MAX_STORE, "max_value's bound is what vlen holds");
static_assert(DPC_SLACK_CAS_SPAN > DPC_ITEM_VMASK, "a slack base reserves a CAS per length");

/* Owner-written counters, read relaxed by anyone (no atomic RMW). */
struct dpc_part_ctrs {
	_Atomic uint64_t items, item_bytes, kv_bytes;
	_Atomic uint64_t evictions, reinserted, expired, index_ev, nospace;
	_Atomic uint64_t to_main, ghost_hits;   /* S3-FIFO */
	_Atomic uint64_t flags_values, flags_words;   /* the flags table (flagtab) */
};

#define DPC_LOG_MAIN  0u
#define DPC_LOG_SMALL 1u                /* S3-FIFO's small FIFO */
#define DPC_LOG1_BASE (1ull << 56)      /* first position of log 1 (64 PiB above log 0) */

struct dpc_part {
	/* Read-only after create (the logs' own fields: log.h). */
	struct dpc_table tbl;
	struct dpc_log logs[2];           /* [DPC_LOG_MAIN], [DPC_LOG_SMALL] (cap 0: none) */
	unsigned nlogs;
	struct dpc_cache *c;
	const struct dpc_evict_ops *ev;   /* the eviction policy (evict.h) */
	unsigned idx;
	bool mark_hits;                   /* readers set accessed bits (ev->mark_hits) */
	uint32_t small_max;               /* S3-FIFO: larger items go to the main log */
	void *ev_state;                   /* the policy's own tables (S3-FIFO's ghost) */
	size_t ev_bytes;                  /* their size, inside the memory budget */
	/* Written once by the owner before the first item that depends on them
	 * is published (header comment: "Client flags", "Expiry"), read-only
	 * afterwards. */
	uint32_t exp_base;                /* unix seconds that an expiry counts from */
	uint32_t flagtab[DPC_FLAGTAB_SIZE];   /* client flags by index; [0] = 0 */

	_Atomic uint32_t flush_at dpc_cache_aligned;  /* pending delayed flush (unix s), 0 = none */
	_Atomic uint64_t flush_seq;       /* flushes begun (dpc_flush_apply()), for copiers */
	_Atomic uint64_t flushes;         /* flush requests (any thread, atomic add: cold) */

	/* Owner-written, read by readers that recover a CAS (dpc_cas_recover()):
	 * the sequence of the newest write, stored (relaxed) before that write
	 * is published.  Its own line: it changes with every write. */
	_Atomic uint64_t cas_pub dpc_cache_aligned;

	/* Owner-private. */
	uint64_t cas_seq dpc_cache_aligned;   /* writes so far (the sequence t of the newest) */
	uint64_t slack_seq;               /* slack CAS bases handed out, in DPC_SLACK_CAS_SPAN steps */
	uint32_t sweep;                   /* maintain(): next bucket to sweep */
	uint32_t sweep_left;              /* without TTLs: buckets left to sweep after a flush */
	uint64_t sweep_fp[2];             /* the flush horizons sweep_left was set for */
	uint64_t rng;                     /* CLOCK's size-aware second chance (xorshift64, never 0) */
	bool has_ttl;                     /* an item with an expiry was ever written: only then
					   * does the sweep read item headers */

	struct dpc_part_ctrs ctr dpc_cache_aligned;
};

struct dpc_cache {
	unsigned nparts;
	uint32_t max_value;
	uint32_t max_item;                /* header + 250 + max_value, aligned */
	enum dpc_evict_policy policy;
	struct dpc_reclaimer reclaimer;
	_Atomic uint32_t now dpc_cache_aligned;
	struct dpc_part *parts[DPC_MAX_PARTS] dpc_cache_aligned;
};

/**
 * dpc_cache_create() whose logs start at position @p origin instead of
 * their size (0 = default).  For tests: a partition that starts just below
 * a point where item references wrap.
 */
struct dpc_cache *dpc_cache_create_at(const struct dpc_cache_params *prm, uint64_t origin);

/* ---- small helpers ------------------------------------------------------ */

/* Single-writer counter update: a relaxed load and store, no LOCK prefix. */
static inline void dpc_ctr_add(_Atomic uint64_t *ctr, uint64_t d)
{
	atomic_store_explicit(ctr, atomic_load_explicit(ctr, memory_order_relaxed) + d,
			      memory_order_relaxed);
}

static inline void dpc_ctr_sub(_Atomic uint64_t *ctr, uint64_t d)
{
	atomic_store_explicit(ctr, atomic_load_explicit(ctr, memory_order_relaxed) - d,
			      memory_order_relaxed);
}

static inline uint64_t dpc_ctr_ld(const _Atomic uint64_t *v)
{
	return atomic_load_explicit(v, memory_order_relaxed);
}

/** Header bytes of an item whose flags take ext[0] if @p ext_flags (slack: APPEND's result). */
static inline uint32_t dpc_hdr_bytes(bool ext_flags, bool slack)
{
	return slack ? DPC_ITEM_HDR_MAX : ext_flags ? 16u : DPC_ITEM_HDR_MIN;
}

/** Header bytes of the item whose first word is @p w (12, 16 or 24). */
static inline uint32_t dpc_w0_hdr(uint32_t w)
{
	/* FLAGS (bit 29) adds 4 bytes, SLACK (bit 30) 8 more. */
	return DPC_ITEM_HDR_MIN + ((w >> 27) & 12u);
}

static inline uint32_t dpc_item_size(uint32_t hdr, uint32_t klen, uint32_t vlen)
{
	return (hdr + klen + vlen + 3u) & ~3u;
}

static inline uint32_t dpc_w0_klen(uint32_t w) { return w & 0xffu; }
static inline uint32_t dpc_w0_vlen(uint32_t w) { return (w >> DPC_ITEM_VSHIFT) & DPC_ITEM_VMASK; }
/** Bytes of the filler record whose first word is @p w (klen 0, w != 0). */
static inline uint32_t dpc_filler_len(uint32_t w) { return dpc_w0_vlen(w) << 2; }

/** The key of the item whose first word is @p w (the value follows it). */
static inline uint8_t *dpc_item_key(const struct dpc_item *it, uint32_t w)
{
	return (uint8_t *)it + dpc_w0_hdr(w);
}

/** The client flags of the item whose first word is @p w and exptime word @p e. */
static inline uint32_t dpc_item_flags(const struct dpc_part *p, const struct dpc_item *it,
				      uint32_t w, uint32_t e)
{
	return (w & DPC_ITEM_FLAGS) ? it->ext[0] : p->flagtab[e >> DPC_EXP_BITS];
}

/** The log a position belongs to. */
static inline unsigned dpc_pos_log(uint64_t pos)
{
	return pos >= DPC_LOG1_BASE;
}

static inline struct dpc_item *dpc_item_at(const struct dpc_part *p, uint64_t pos)
{
	return (struct dpc_item *)dpc_log_at(&p->logs[dpc_pos_log(pos)], pos);
}

/**
 * The sequence whose low 32 bits are @p c32: the largest value at or below
 * @p u (an upper bound of the partition's sequence, at least that of the
 * item: see the CAS scheme above).
 */
static inline uint64_t dpc_cas_recover(uint32_t c32, uint64_t u)
{
	return u - (uint32_t)((uint32_t)u - c32);
}

/**
 * The CAS of an item whose first word is @p w, recovered against @p u
 * (owner: p->cas_seq; reader: p->cas_pub loaded after the slot that led to
 * the item; a slack item's CAS follows its length and needs no bound).
 */
static inline uint64_t dpc_item_cas(const struct dpc_part *p, const struct dpc_item *it, uint32_t w,
				    uint64_t u)
{
	if (dpc_unlikely(w & DPC_ITEM_SLACK)) {
		uint64_t base = (uint64_t)it->ext[2] << 32 | it->ext[1];

		return base + ((uint64_t)dpc_w0_vlen(w) << 6);
	}
	return dpc_cas_recover(it->cas32, u) << 6 | p->idx;
}

/** Owner: the CAS of an item (the exact bound: the owner's own sequence). */
static inline uint64_t dpc_owner_cas(const struct dpc_part *p, const struct dpc_item *it, uint32_t w)
{
	return dpc_item_cas(p, it, w, p->cas_seq);
}

/** Owner: the sequence of the next write, published for readers before it is. */
static inline uint64_t dpc_next_seq(struct dpc_part *p)
{
	/* Relaxed: the release store that publishes the item orders it. */
	atomic_store_explicit(&p->cas_pub, ++p->cas_seq, memory_order_relaxed);
	return p->cas_seq;
}

/** Owner: the CAS base of a slack item (DPC_SLACK_CAS_SPAN values reserved). */
static inline uint64_t dpc_next_cas_slack(struct dpc_part *p)
{
	uint64_t base = DPC_SLACK_CAS_TOP | p->slack_seq << 6 | p->idx;

	p->slack_seq += DPC_SLACK_CAS_SPAN;
	return base;
}

/** Record bytes of a slack item of @p size item bytes: the next power of two, at most @p max. */
static inline uint32_t dpc_slack_cap(uint32_t size, uint32_t max)
{
	uint32_t c = size <= 4 ? 4 : 1u << (32 - __builtin_clz(size - 1));

	return c < max ? c : max;
}

/** Record bytes in the log of the item whose first word is @p w. */
static inline uint32_t dpc_rec_size(const struct dpc_part *p, uint32_t w)
{
	uint32_t s = dpc_item_size(dpc_w0_hdr(w), dpc_w0_klen(w), dpc_w0_vlen(w));

	return (w & DPC_ITEM_SLACK) ? dpc_slack_cap(s, p->c->max_item) : s;
}

/** The value of the item whose first word is @p w (vlen bytes; any thread). */
static inline uint8_t *dpc_item_val(const struct dpc_part *p, const struct dpc_item *it, uint32_t w)
{
	if (dpc_unlikely((w & DPC_ITEM_SLACK) && it->cas32 == DPC_SLACK_FRONT))
		return (uint8_t *)it + dpc_rec_size(p, w) - dpc_w0_vlen(w);
	return dpc_item_key(it, w) + dpc_w0_klen(w);
}

/** True if the item whose exptime word is @p e has expired at unix time @p now. */
static inline bool dpc_expired(const struct dpc_part *p, uint32_t e, uint32_t now)
{
	uint32_t r = e & DPC_EXP_MASK;

	return r != 0 && (uint64_t)p->exp_base + r <= now;
}

/** The absolute expiry (unix seconds, 0 = never) in the exptime word @p e. */
static inline uint32_t dpc_exp_abs(const struct dpc_part *p, uint32_t e)
{
	uint32_t r = e & DPC_EXP_MASK;

	return r == 0 ? 0 : p->exp_base + r;   /* dpc_exp_enc() keeps the sum below 2^32 */
}

/** The expiry bits of an exptime word for absolute expiry @p abs (0 = never); owner. */
static inline uint32_t dpc_exp_enc(const struct dpc_part *p, uint32_t abs)
{
	uint32_t max = UINT32_MAX - p->exp_base < DPC_EXP_MASK ? UINT32_MAX - p->exp_base :
			DPC_EXP_MASK;

	if (abs == 0)
		return 0;
	if (abs <= p->exp_base)
		return 1;   /* in the past: exp_base + 1 <= now */
	return abs - p->exp_base > max ? max : abs - p->exp_base;
}

static inline struct dpc_part *dpc_part_of(const struct dpc_cache *c, uint64_t h)
{
	return c->parts[dpc_hash_part(h, c->nparts)];
}

/* ---- the index reference of an item ------------------------------------- */

/*
 * An index slot refers to an item by its log and position / 4, modulo
 * 2^47 (table.h): a 64-bit position is recovered from a reference and a
 * known live position at or below it (a reader's dpc_log_valid_from(), the
 * owner's head), because every live item lies less than the log's size
 * above that point.  Positions never wrap (64 bits); references do, every
 * 2^49 bytes written, and that is harmless.
 */
static inline uint64_t dpc_ref_make(uint64_t pos)
{
	return (uint64_t)dpc_pos_log(pos) << DPC_REF_LOG_BIT | ((pos >> 2) & DPC_REF_POS_MASK);
}

/** The slot value for an item of tag @p tag at position @p pos. */
static inline uint64_t dpc_ref_slot(uint16_t tag, uint64_t pos)
{
	return dpc_slot_make(tag, dpc_ref_make(pos));
}

/**
 * The position @p ref stands for if it lies in [@p from, @p from + @p cap)
 * (live, for @p from the lowest live position of its log), else 0 (retired
 * or flushed: positions are never 0).  @p from is a multiple of 4.
 */
static inline uint64_t dpc_ref_pos(uint64_t ref, uint64_t from, uint64_t cap)
{
	uint64_t d = (ref - (from >> 2)) & DPC_REF_POS_MASK;

	return d < (cap >> 2) ? from + (d << 2) : 0;
}

/**
 * The position the (non-zero) slot value @p s refers to if it is live:
 * at or above @p from of its log (from[] as dpc_part_valid_from() or
 * dpc_part_owner_from() fill it), else 0.
 */
static inline uint64_t dpc_slot_pos(const struct dpc_part *p, uint64_t s, const uint64_t from[2])
{
	uint64_t ref = dpc_slot_ref(s);
	unsigned l = dpc_ref_log(ref);

	return dpc_ref_pos(ref, from[l], p->logs[l].cap);
}

/** Any thread: each log's lowest valid position (dpc_log_valid_from()). */
static inline void dpc_part_valid_from(const struct dpc_part *p, uint64_t from[2])
{
	from[0] = dpc_log_valid_from(&p->logs[0]);
	from[1] = p->nlogs > 1 ? dpc_log_valid_from(&p->logs[1]) : 0;
}

/** Owner: each log's lowest live position (dpc_log_owner_from()). */
static inline void dpc_part_owner_from(const struct dpc_part *p, uint64_t from[2])
{
	from[0] = dpc_log_owner_from(&p->logs[0]);
	from[1] = p->nlogs > 1 ? dpc_log_owner_from(&p->logs[1]) : 0;
}

/** Owner: each log's head (items below it are no longer indexed or counted). */
static inline void dpc_part_heads(const struct dpc_part *p, uint64_t h[2])
{
	h[0] = p->logs[0].h;
	h[1] = p->logs[1].h;
}

/** The owner's window of live references (for the table's insert and victim choice). */
static inline struct dpc_ref_win dpc_owner_win(const struct dpc_part *p)
{
	uint64_t from[2];
	struct dpc_ref_win w;

	dpc_part_owner_from(p, from);
	for (unsigned l = 0; l < 2; l++) {
		w.lo[l] = (from[l] >> 2) & DPC_REF_POS_MASK;
		w.span[l] = p->logs[l].cap >> 2;
	}
	return w;
}

/* ---- flush (sweep.c) ---------------------------------------------------- */

/** Any thread: flush every log of @p p now (the copy protocol's flusher side). */
void dpc_flush_apply(struct dpc_part *p);

/*
 * Copies of old records (a second chance, S3-FIFO's move from the small to
 * the main log, a cleaner, a merge) must not outlive a flush that began
 * before them: a flusher reads the published tails, so a copy it did not
 * see would survive above its horizon.  The owner brackets each copy:
 *
 *	seq = dpc_copy_begin(p);         before deciding the original is live
 *	append to log `to`, copy the bytes
 *	if (dpc_copy_end(p, to, seq))    publish the copy in the index
 *	else                             the original is flushed: drop it
 *
 * Dekker's pattern, all seq_cst: the flusher bumps flush_seq, then reads
 * every log's t_pub; the owner publishes t_pub of the copy's log, then
 * reads flush_seq.  At least one sees the other: either the flush horizon
 * covers the copy, or the owner sees that a flush began and drops the item.
 */
static inline uint64_t dpc_copy_begin(const struct dpc_part *p)
{
	/* seq_cst: ordered before the owner's loads of flush_pos that follow. */
	return atomic_load_explicit(&p->flush_seq, memory_order_seq_cst);
}

static inline bool dpc_copy_end(struct dpc_part *p, unsigned to, uint64_t seq)
{
	struct dpc_log *l = &p->logs[to];

	/* seq_cst store then seq_cst load: the owner's half of Dekker's pattern
	 * (the flusher's half is dpc_flush_apply()). */
	atomic_store_explicit(&l->t_pub, l->t, memory_order_seq_cst);
	return atomic_load_explicit(&p->flush_seq, memory_order_seq_cst) == seq;
}

/* A delayed flush takes effect at the first look after its deadline; the
 * owner looks before every write, so no write after the deadline is lost.
 * Any thread. */
static inline void dpc_check_flush(struct dpc_part *p, uint32_t now)
{
	uint32_t at = atomic_load_explicit(&p->flush_at, memory_order_relaxed);

	if (dpc_unlikely(at != 0 && now >= at) &&
	    atomic_compare_exchange_strong_explicit(&p->flush_at, &at, 0, memory_order_relaxed,
						    memory_order_relaxed))
		dpc_flush_apply(p);
}

/* ---- owner primitives (store.c) ------------------------------------------ */

/** Where a key's entry is (owner_find()). */
struct dpc_loc {
	_Atomic uint64_t *slot;
	struct dpc_item *it;
	uint64_t pos;
	uint32_t w;
	uint32_t e;               /* the exptime word */
	bool expired;
};

/** A key's candidate buckets and tag. */
struct dpc_kh {
	uint32_t i1, i2;
	uint16_t tag;
};

static inline struct dpc_kh dpc_key_buckets(const struct dpc_part *p, uint64_t h)
{
	struct dpc_kh r;

	r.tag = dpc_table_tag(h);
	r.i1 = dpc_table_b1(&p->tbl, h);
	r.i2 = dpc_table_alt(&p->tbl, r.i1, r.tag);
	return r;
}

/** Owner lookup: the key's entry (live or expired, not flushed). */
bool dpc_owner_find(struct dpc_part *p, const struct dpc_key *k, struct dpc_kh b, uint32_t now,
		    struct dpc_loc *l);

/**
 * Owner: write a new item (key, then up to two value pieces, making room by
 * eviction) and publish it in the index over the key's old entry.
 * DPC_OK (*cas_out set if non-NULL) or DPC_NOSPACE.
 */
enum dpc_status dpc_write_item(struct dpc_part *p, const struct dpc_key *k, struct dpc_kh b,
			       const void *v1, uint32_t l1, const void *v2, uint32_t l2,
			       uint32_t flags, uint32_t exp, uint32_t now, uint64_t *cas_out);
/** dpc_write_item() of a slack item (DPC_ITEM_SLACK: the result of an APPEND, or of
 *  a PREPEND if @p front: the slack before the value). */
enum dpc_status dpc_write_item_slack(struct dpc_part *p, const struct dpc_key *k, struct dpc_kh b,
				     const void *v1, uint32_t l1, const void *v2, uint32_t l2,
				     uint32_t flags, uint32_t exp, uint32_t now, uint64_t *cas_out,
				     bool front);

/** Owner: the item at @p pos left the index (counters); returns its size in the log. */
uint32_t dpc_account_drop(struct dpc_part *p, uint64_t pos);

/**
 * Owner: the item at @p pos, at or above its log's head, left the index
 * (its slot was changed or cleared before this call): account for it and
 * record its bytes as a hole of its log, reused after a grace period
 * (reuse.h).
 */
void dpc_drop_dead(struct dpc_part *p, uint64_t pos);

/** Fill a reader's view of the item @p it at @p pos (w0 @p w, exptime word @p exp), after
 *  loading the slot that refers to it with acquire (or as the owner). */
static inline void dpc_fill_view(const struct dpc_part *p, const struct dpc_item *it, uint64_t pos,
				 uint32_t w, uint32_t exp, struct dpc_item_view *out)
{
	uint32_t klen = dpc_w0_klen(w);
	const uint8_t *key = dpc_item_key(it, w);

	out->key = key;
	out->val = dpc_item_val(p, it, w);
	out->vlen = dpc_w0_vlen(w);
	out->flags = dpc_item_flags(p, it, w, exp);
	out->exptime = dpc_exp_abs(p, exp);
	out->klen = (uint8_t)klen;
	/* Relaxed: loaded after the slot (acquire) that led to the item, so at
	 * least the sequence the owner published before that slot store. */
	out->cas = dpc_item_cas(p, it, w, atomic_load_explicit(&p->cas_pub, memory_order_relaxed));
	(void)pos;
}

#endif /* DPCACHE_STORE_INTERNAL_H */
