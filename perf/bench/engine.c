/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dpcache-bench load engine.
 *
 * One engine per bench lcore, sharing nothing but the read-only
 * configuration and the per-key arrays of the key space (each key belongs
 * to one lcore's slice, so its version is written by that lcore only).
 * Every request in flight owns a slot; the memcached UDP
 * request id is (generation << idx_bits | slot index), so a reply finds
 * its slot in O(1) and a reply to a request already given up (timeout)
 * is recognised as late.  The opaque field carries a per-request sequence
 * number, checked on every response.  Requests are built from 24-byte
 * header templates (only the opaque patched) and precomputed keys; values
 * are generated from (key, version) and every hit is checked byte for
 * byte.  Latency is measured in TSC ticks from the request's send time
 * (closed loop) or from its scheduled time (open loop, so a stalled
 * server cannot hide its queueing delay: no coordinated omission).
 *
 * --fill-on-miss (look-aside caching): every key a GET missed goes into a
 * FIFO; the next requests sent are SETs of those keys, before any new draw
 * (closed loop: they take window slots like any request; open loop: they
 * are sent as soon as a slot is free, on top of the Poisson schedule, as an
 * application fills its cache after a miss).
 *
 * --prefill: every key of the lcore's slice once, as SETQ batches + NOOP
 * (a quiet SET answers only when it failed).  A key whose SETQ got
 * Temporary failure (dpcached refuses a write while QSBR grace periods
 * catch up: store.h, DPC_NOSPACE) is sent again after a back-off of
 * PF_BACKOFF_US, doubling per try up to 1024 times that, and is sent at most
 * PF_TRIES times (then given up and counted); the keys of a batch that
 * was lost are sent again at once.  While any key waits to be sent again,
 * no new key goes out: a server that pushes back gets only the retries
 * until they are stored.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_pause.h>

#include "dpcache/byteorder.h"
#include "bench.h"
#include "dpcache/hist.h"

enum slot_kind { K_GET = 1, K_MGET, K_SET, K_PREFILL };
enum phase { PH_PREFILL = 0, PH_WARMUP, PH_MEASURE, PH_N };

/* prefill: tries of a key answered Temporary failure, and the back-off between them */
#define PF_TRIES 16u              /* sends of one key at the most */
#define PF_BACKOFF_US 20u         /* before the first retry; doubles per try ... */
#define PF_BACKOFF_DOUBLINGS 10u  /* ... 10 times: 20 ms at the most, ~120 ms over all tries */

struct slot {
	uint64_t t0;
	uint64_t deadline;
	uint32_t opaque;
	uint16_t gen;
	uint8_t busy;
	uint8_t kind;
	uint8_t phase;
	uint16_t nkeys;
	uint16_t hits;
	uint16_t msg_total, msg_got;
	uint32_t version;        /* K_SET */
	uint64_t hitmask;        /* K_MGET: positions answered; K_PREFILL: positions that failed */
	uint32_t *keys;          /* [BENCH_MAX_BATCH]; K_PREFILL: positions in pf_order */
	uint8_t *rbuf;           /* reassembly, max_chunks * DPC_UDP_MAX_DATA, or NULL */
	uint16_t *clen;          /* [max_chunks] */
};

struct engine {
	struct bench_cfg *cfg;
	struct bench_tp *tp;
	unsigned core, lcore;     /* bench lcore index (0 = main) and its EAL lcore id */
	struct bench_result pf, m; /* this lcore's prefill and measurement */
	struct bench_port_stats port0, port1;  /* core 0: port counters at the start and end */
	int port_rc;
	int rc;
	struct bench_keyspace ks;
	struct bench_rng rng;
	struct slot *slots;
	unsigned nslots, idx_bits, window;
	uint32_t *free_stack;
	unsigned nfree;
	uint32_t *keybuf;
	uint8_t *rbuf_all;
	uint16_t *clen_all;
	unsigned max_chunks;
	uint32_t next_opaque;
	uint64_t timeout_ticks;
	struct bench_counters cnt[PH_N];
	struct dpc_hist *hist;
	uint64_t busy_cycles;    /* measure phase: TSC spent in iterations that did work */
	uint8_t phase;           /* phase new requests are sent in */
	uint64_t get_thresh;     /* get_ratio scaled to 2^32 */
	/* open loop: exponential inter-arrival quantiles, ticks * 256 */
	uint64_t *exp_tab;
	unsigned exp_mask;
	/*
	 * prefill: keys in destination order (pf_next: the first never sent),
	 * the Temporary failures of each position, and a FIFO of positions to
	 * send again, each not before its due TSC.  A position is in flight, in
	 * the FIFO, or done; new ones go out only while the FIFO is empty, so
	 * it never holds more than nslots * prefill_batch (its size).
	 */
	uint32_t *pf_order;
	uint64_t pf_next;
	uint8_t *pf_tries;
	uint32_t *pf_again_pos;
	uint64_t *pf_again_due;
	unsigned pf_again_mask, pf_again_head, pf_again_tail;
	uint64_t pf_backoff_ticks;
	/* --fill-on-miss: keys to SET, a ring of fill_mask + 1 */
	uint32_t *fillq;
	unsigned fill_mask, fill_head, fill_tail;
	/* progress line: the phase and counters at the previous line */
	uint8_t prog_phase;
	uint64_t prog_hits, prog_looked;
	/* header templates */
	uint8_t h_get[24], h_getkq[24], h_noop[24], h_set[24], h_setq[24];
};

static inline uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline unsigned key_server(const struct engine *e, uint64_t k)
{
	return e->ks.server ? e->ks.server[k] : 0;
}

static inline unsigned key_part(const struct engine *e, uint64_t k)
{
	return e->ks.part ? e->ks.part[k] : 0;
}

/* ---- slots ----------------------------------------------------------------- */

static inline struct slot *slot_get(struct engine *e, uint32_t *idx)
{
	*idx = e->free_stack[--e->nfree];
	return &e->slots[*idx];
}

static inline void slot_put(struct engine *e, struct slot *s)
{
	s->busy = 0;
	s->gen++;
	s->msg_total = 0;
	e->free_stack[e->nfree++] = (uint32_t)(s - e->slots);
}

static inline uint16_t slot_rid(const struct engine *e, const struct slot *s)
{
	uint32_t idx = (uint32_t)(s - e->slots);

	return (uint16_t)(((uint32_t)s->gen << e->idx_bits) | idx);
}

/* ---- prefill: positions to send again ------------------------------------------- */

static inline unsigned pf_again_len(const struct engine *e)
{
	return e->pf_again_tail - e->pf_again_head;
}

static void pf_again_push(struct engine *e, uint32_t pos, uint64_t due)
{
	if (pf_again_len(e) > e->pf_again_mask) {   /* not reached: see struct engine */
		e->cnt[PH_PREFILL].gave_up++;
		e->cnt[PH_PREFILL].err_status++;
		return;
	}
	e->pf_again_pos[e->pf_again_tail & e->pf_again_mask] = pos;
	e->pf_again_due[e->pf_again_tail++ & e->pf_again_mask] = due;
}

/* Position @p pos was answered Temporary failure: send it again after a back-off, or give up. */
static void pf_tmpfail(struct engine *e, uint32_t pos, uint64_t now)
{
	struct bench_counters *c = &e->cnt[PH_PREFILL];
	unsigned t = e->pf_tries[pos]++;

	if (t + 1 >= PF_TRIES) {
		c->gave_up++;
		c->err_status++;   /* a key not stored */
		return;
	}
	c->retries++;
	if (t > PF_BACKOFF_DOUBLINGS)
		t = PF_BACKOFF_DOUBLINGS;
	pf_again_push(e, pos, now + (e->pf_backoff_ticks << t));
}

static void slot_fail(struct engine *e, struct slot *s, uint64_t *counter)
{
	(*counter)++;
	/* a prefill batch lost or garbled: its keys that did not fail already go again now */
	if (s->kind == K_PREFILL)
		for (unsigned i = 0; i < s->nkeys; i++)
			if (!(s->hitmask >> i & 1))
				pf_again_push(e, s->keys[i], 0);
	slot_put(e, s);
}

static void slot_done(struct engine *e, struct slot *s, uint64_t now)
{
	struct bench_counters *c = &e->cnt[s->phase];

	c->completed++;
	if (s->phase == PH_MEASURE)
		dpc_hist_record(e->hist, now > s->t0 ? now - s->t0 : 0);
	slot_put(e, s);
}

/* ---- --fill-on-miss ------------------------------------------------------------- */

static inline unsigned fill_len(const struct engine *e)
{
	return e->fill_tail - e->fill_head;
}

/* Queue a SET of key @p k (a GET missed it); counted as dropped when the FIFO is full. */
static inline void fill_push(struct engine *e, uint64_t k)
{
	if (!e->fillq)
		return;
	if (fill_len(e) > e->fill_mask) {
		e->cnt[e->phase].fills_dropped++;
		return;
	}
	e->fillq[e->fill_tail++ & e->fill_mask] = (uint32_t)k;
}

/* ---- requests ------------------------------------------------------------------ */

static inline uint8_t *put_frame(uint8_t *p, uint16_t rid)
{
	dpc_put_be16(p, rid);
	p[2] = 0;
	p[3] = 0;
	p[4] = 0;
	p[5] = 1;
	p[6] = 0;
	p[7] = 0;
	return p + DPC_UDP_FRAME_LEN;
}

static inline uint8_t *put_hdr(uint8_t *p, const uint8_t tmpl[24], uint32_t opaque)
{
	memcpy(p, tmpl, 24);
	memcpy(p + 12, &opaque, 4);
	return p + 24;
}

static uint16_t build_get(struct engine *e, struct slot *s, uint8_t *buf, uint64_t k)
{
	unsigned ks = e->ks.key_size;
	uint8_t *p = put_frame(buf, slot_rid(e, s));

	s->kind = K_GET;
	s->nkeys = 1;
	s->keys[0] = (uint32_t)k;
	if (e->cfg->prefill)
		dpc_prefetch0(&e->ks.version[k]);   /* read again when the reply is checked */
	s->opaque = e->next_opaque++;
	p = put_hdr(p, e->h_get, s->opaque);
	bench_key_put(p, ks, k);
	return (uint16_t)(p + ks - buf);
}

static uint16_t build_mget(struct engine *e, struct slot *s, uint8_t *buf, uint64_t k0)
{
	unsigned ks = e->ks.key_size, n = e->cfg->batch, srv = key_server(e, k0);
	uint8_t *p = put_frame(buf, slot_rid(e, s));

	s->kind = K_MGET;
	s->nkeys = (uint16_t)n;
	s->hitmask = 0;
	s->hits = 0;
	s->opaque = e->next_opaque;
	e->next_opaque += n + 1;
	for (unsigned i = 0; i < n; i++) {
		uint64_t k = k0;

		if (i > 0) {
			k = bench_key_draw(&e->ks, &e->rng);
			/* every key of a datagram must live on the same server */
			for (unsigned tries = 0; key_server(e, k) != srv; tries++)
				k = tries < 64 ? bench_key_draw(&e->ks, &e->rng) : k0;
		}
		s->keys[i] = (uint32_t)k;
		p = put_hdr(p, e->h_getkq, s->opaque + i);
		bench_key_put(p, ks, k);
		p += ks;
	}
	p = put_hdr(p, e->h_noop, s->opaque + n);
	return (uint16_t)(p - buf);
}

static uint8_t *put_set(struct engine *e, uint8_t *p, const uint8_t tmpl[24], uint32_t opaque,
			uint64_t k, uint32_t version)
{
	unsigned ks = e->ks.key_size, vl = bench_value_len(&e->ks, k);

	p = put_hdr(p, tmpl, opaque);
	if (e->ks.vlen_tab)   /* total body length: extras + key + this key's value */
		dpc_put_be32(p - 16, 8u + ks + vl);
	dpc_put_be32(p, bench_value_flags(k));
	dpc_put_be32(p + 4, 0);
	p += 8;
	bench_key_put(p, ks, k);
	p += ks;
	bench_value_fill(p, vl, k, version);
	return p + vl;
}

static uint16_t build_set(struct engine *e, struct slot *s, uint8_t *buf, uint64_t k)
{
	uint8_t *p = put_frame(buf, slot_rid(e, s));

	s->kind = K_SET;
	s->nkeys = 1;
	s->keys[0] = (uint32_t)k;
	s->version = ++e->ks.version[k];
	s->opaque = e->next_opaque++;
	p = put_set(e, p, e->h_set, s->opaque, k, s->version);
	return (uint16_t)(p - buf);
}

/*
 * The positions of the next prefill batch into @p pos (at least one: the
 * caller bounds the batches, see send_burst()): from the FIFO of keys to
 * send again while its head is due, else new keys; all of one destination.
 */
static unsigned pf_take(struct engine *e, uint32_t *pos, uint64_t now)
{
	unsigned m = 0, batch = e->cfg->prefill_batch;
	uint64_t k0;

	if (pf_again_len(e)) {
		pos[m++] = e->pf_again_pos[e->pf_again_head++ & e->pf_again_mask];
		k0 = e->pf_order[pos[0]];
		while (m < batch && pf_again_len(e)) {
			unsigned h = e->pf_again_head & e->pf_again_mask;
			uint64_t k = e->pf_order[e->pf_again_pos[h]];

			if (e->pf_again_due[h] > now || key_server(e, k) != key_server(e, k0) ||
			    key_part(e, k) != key_part(e, k0))
				break;
			pos[m++] = e->pf_again_pos[h];
			e->pf_again_head++;
		}
		return m;
	}
	k0 = e->pf_order[e->pf_next];
	pos[m++] = (uint32_t)e->pf_next++;
	/* extend the batch while keys share the destination */
	while (m < batch && e->pf_next < e->ks.ndraw &&
	       key_server(e, e->pf_order[e->pf_next]) == key_server(e, k0) &&
	       key_part(e, e->pf_order[e->pf_next]) == key_part(e, k0))
		pos[m++] = (uint32_t)e->pf_next++;
	return m;
}

/* SETQ x n + NOOP for the prefill positions s->keys[0..n) (of pf_order). */
static uint16_t build_prefill(struct engine *e, struct slot *s, uint8_t *buf, unsigned n)
{
	uint8_t *p = put_frame(buf, slot_rid(e, s));

	s->kind = K_PREFILL;
	s->nkeys = (uint16_t)n;
	s->hits = 0;        /* failed SETQs of this batch (a reused slot holds its last batch's) */
	s->hitmask = 0;
	s->opaque = e->next_opaque;
	e->next_opaque += n + 1;
	for (unsigned i = 0; i < n; i++)
		p = put_set(e, p, e->h_setq, s->opaque + i, e->pf_order[s->keys[i]], 0);
	p = put_hdr(p, e->h_noop, s->opaque + n);
	return (uint16_t)(p - buf);
}

/* ---- responses ------------------------------------------------------------------- */

static bool check_hit(struct engine *e, const struct dpc_mc_res *r, uint64_t k)
{
	if (r->extlen != 4 || dpc_get_be32(r->extras) != bench_value_flags(k))
		return false;
	if (r->vlen != bench_value_len(&e->ks, k))
		return false;
	/*
	 * Without a prefill in this run, values may come from SETs of earlier
	 * runs, with versions this run never issued: check key and content only.
	 */
	return bench_value_check(r->value, r->vlen, k, e->cfg->prefill ? e->ks.version[k] : UINT32_MAX,
				 NULL) == 0;
}

/* Returns true when @p s is finished (done or failed). */
static bool on_response(struct engine *e, struct slot *s, const struct dpc_mc_res *r,
			uint32_t opaque, uint64_t now)
{
	struct bench_counters *c = &e->cnt[s->phase];
	uint64_t k;

	switch (s->kind) {
	case K_GET:
		k = s->keys[0];
		c->gets++;
		if (r->opcode != DPC_OP_GET || opaque != s->opaque) {
			slot_fail(e, s, &c->err_content);
			return true;
		}
		if (r->status == DPC_MC_OK) {
			if (!check_hit(e, r, k)) {
				slot_fail(e, s, &c->err_content);
				return true;
			}
			c->get_hits++;
		} else if (r->status == DPC_MC_KEY_ENOENT) {
			c->get_misses++;
			fill_push(e, k);
		} else {
			slot_fail(e, s, &c->err_status);
			return true;
		}
		slot_done(e, s, now);
		return true;
	case K_MGET: {
		uint32_t pos = opaque - s->opaque;

		if (r->opcode == DPC_OP_NOOP && pos == s->nkeys) {
			c->gets += s->nkeys;
			c->get_hits += s->hits;
			c->get_misses += (uint64_t)(s->nkeys - s->hits);
			for (unsigned i = 0; e->fillq && i < s->nkeys; i++)
				if (!(s->hitmask >> i & 1))
					fill_push(e, s->keys[i]);
			slot_done(e, s, now);
			return true;
		}
		if (r->opcode != DPC_OP_GETKQ || pos >= s->nkeys || (s->hitmask >> pos & 1)) {
			slot_fail(e, s, &c->err_content);
			return true;
		}
		if (r->status != DPC_MC_OK) {
			slot_fail(e, s, &c->err_status);
			return true;
		}
		k = s->keys[pos];
		uint8_t kb[DPC_KEY_MAX];
		bench_key_put(kb, e->ks.key_size, k);
		if (r->keylen != e->ks.key_size || memcmp(r->key, kb, e->ks.key_size) != 0 ||
		    !check_hit(e, r, k)) {
			slot_fail(e, s, &c->err_content);
			return true;
		}
		s->hitmask |= 1ull << pos;
		s->hits++;
		return false;
	}
	case K_SET:
		c->sets++;
		if (r->opcode != DPC_OP_SET || opaque != s->opaque) {
			slot_fail(e, s, &c->err_content);
			return true;
		}
		if (r->status != DPC_MC_OK) {
			slot_fail(e, s, &c->err_status);
			return true;
		}
		c->set_ok++;
		slot_done(e, s, now);
		return true;
	case K_PREFILL: {
		uint32_t pos = opaque - s->opaque;

		if (r->opcode == DPC_OP_NOOP && pos == s->nkeys) {
			c->sets += s->nkeys;
			c->set_ok += (uint64_t)(s->nkeys - s->hits);   /* hits <= nkeys: one per position */
			slot_done(e, s, now);
			return true;
		}
		/* a quiet SET answers only when it failed, once */
		if (r->opcode != DPC_OP_SETQ || pos >= s->nkeys || (s->hitmask >> pos & 1)) {
			slot_fail(e, s, &c->err_content);
			return true;
		}
		s->hitmask |= 1ull << pos;
		s->hits++;
		if (r->status == DPC_MC_ETMPFAIL)
			pf_tmpfail(e, s->keys[pos], now);
		else
			c->err_status++;
		return false;
	}
	default:
		slot_fail(e, s, &c->err_proto);
		return true;
	}
}

static void parse_msg(struct engine *e, struct slot *s, const uint8_t *buf, size_t len, uint64_t now)
{
	size_t off = 0;

	while (off < len) {
		struct dpc_mc_res r;
		uint32_t opaque;
		int n = dpc_mc_parse_res(buf + off, len - off, &r);

		if (n <= 0) {
			slot_fail(e, s, &e->cnt[s->phase].err_proto);
			return;
		}
		memcpy(&opaque, buf + off + 12, 4);
		off += (size_t)n;
		if (on_response(e, s, &r, opaque, now)) {
			if (off < len)
				e->cnt[s->phase].err_proto++;  /* bytes after the final response */
			return;
		}
	}
}

static void on_dgram(struct engine *e, const uint8_t *buf, size_t len, uint64_t now)
{
	uint16_t rid, seq, total;
	struct slot *s;

	if (len < DPC_UDP_FRAME_LEN) {
		e->cnt[e->phase].err_proto++;
		return;
	}
	rid = be16(buf);
	seq = be16(buf + 2);
	total = be16(buf + 4);
	s = &e->slots[rid & (e->nslots - 1)];
	if (!s->busy || (uint16_t)(s->gen << e->idx_bits | (rid & (e->nslots - 1))) != rid) {
		e->cnt[e->phase].late++;
		return;
	}
	e->cnt[s->phase].rx_dgrams++;
	e->cnt[s->phase].rx_bytes += len;
	/* memcached 1.6 sends an empty datagram with total 0 for each silent quiet op */
	if (total == 0 && len == DPC_UDP_FRAME_LEN)
		return;
	if (dpc_likely(total == 1 && seq == 0)) {
		parse_msg(e, s, buf + DPC_UDP_FRAME_LEN, len - DPC_UDP_FRAME_LEN, now);
		return;
	}
	/* a response spread over several datagrams: reassemble by sequence number */
	size_t dlen = len - DPC_UDP_FRAME_LEN;
	if (total == 0 || seq >= total || total > e->max_chunks || !s->rbuf || dlen > DPC_UDP_MAX_DATA ||
	    (s->msg_total && s->msg_total != total)) {
		slot_fail(e, s, &e->cnt[s->phase].err_proto);
		return;
	}
	if (!s->msg_total) {
		s->msg_total = total;
		s->msg_got = 0;
		memset(s->clen, 0xff, total * sizeof(*s->clen));
	}
	if (s->clen[seq] != 0xffff) {
		slot_fail(e, s, &e->cnt[s->phase].err_proto);   /* duplicate datagram */
		return;
	}
	memcpy(s->rbuf + (size_t)seq * DPC_UDP_MAX_DATA, buf + DPC_UDP_FRAME_LEN, dlen);
	s->clen[seq] = (uint16_t)dlen;
	if (++s->msg_got < total)
		return;
	size_t mlen = 0;
	for (unsigned i = 0; i < total; i++) {
		if (mlen != (size_t)i * DPC_UDP_MAX_DATA)
			memmove(s->rbuf + mlen, s->rbuf + (size_t)i * DPC_UDP_MAX_DATA, s->clen[i]);
		mlen += s->clen[i];
	}
	s->msg_total = 0;
	parse_msg(e, s, s->rbuf, mlen, now);
}

/*
 * Poll once.  Replies are stamped with one TSC read taken just after the
 * poll returned something (rdtsc costs ~18 ns in a VM: once per non-empty
 * burst, not per reply).  Reading it after the poll, not before, keeps the
 * poll itself inside the latency, and with --dry-run the reflector's work
 * too (it runs inside the poll).
 */
static unsigned rx_all(struct engine *e)
{
	struct bench_rxd d[BENCH_BURST];
	unsigned n = e->tp->ops->rx(e->tp, d, BENCH_BURST);
	uint64_t now;

	if (!n)
		return 0;
	now = bench_tsc();
	for (unsigned i = 0; i < n; i++)
		on_dgram(e, d[i].buf, d[i].len, now);
	return n;
}

static void scan_timeouts(struct engine *e, uint64_t now, bool all)
{
	for (unsigned i = 0; i < e->nslots; i++) {
		struct slot *s = &e->slots[i];

		if (s->busy && (all || now > s->deadline))
			slot_fail(e, s, &e->cnt[s->phase].timeouts);
	}
}

/* ---- sending --------------------------------------------------------------------- */

/*
 * Send up to @p n requests.  @p sched: scheduled times (open loop), or
 * NULL (closed loop: stamped just before the burst leaves).  Returns the
 * number handed to the transport.
 */
static unsigned send_burst(struct engine *e, unsigned n, const uint64_t *sched, bool prefill)
{
	struct bench_txd d[BENCH_BURST];
	struct slot *sl[BENCH_BURST];
	struct bench_counters *c = &e->cnt[e->phase];
	unsigned got, k = 0;
	uint64_t now = 0;

	if (n > e->nfree)
		n = e->nfree;
	if (prefill) {
		/* a lower bound of the batches left, so that every buffer taken is filled */
		unsigned batch = e->cfg->prefill_batch, due = 0;
		uint64_t left;

		now = bench_tsc();
		/* FIFO entries due now, from its head (pf_take() stops at the first not due) */
		while (due < pf_again_len(e) && due < n * batch &&
		       e->pf_again_due[(e->pf_again_head + due) & e->pf_again_mask] <= now)
			due++;
		if (pf_again_len(e))
			left = (due + batch - 1) / batch;
		else
			left = (e->ks.ndraw - e->pf_next + batch - 1) / batch;
		if (n > left)
			n = (unsigned)left;
	}
	if (!n)
		return 0;
	got = e->tp->ops->tx_get(e->tp, d, n);
	c->tx_refused += n - got;   /* no buffer: counted like a refused send */
	for (unsigned i = 0; i < got; i++) {
		uint32_t idx;
		struct slot *s;
		uint64_t key;

		if (prefill) {
			s = slot_get(e, &idx);
			d[i].len = build_prefill(e, s, d[i].buf, pf_take(e, s->keys, now));
			key = e->pf_order[s->keys[0]];
		} else if (fill_len(e)) {
			s = slot_get(e, &idx);
			key = e->fillq[e->fill_head++ & e->fill_mask];
			d[i].len = build_set(e, s, d[i].buf, key);
			c->fills++;
		} else {
			s = slot_get(e, &idx);
			key = bench_key_draw(&e->ks, &e->rng);
			if ((bench_rng_next(&e->rng) >> 32) < e->get_thresh)
				d[i].len = e->cfg->batch > 1 ? build_mget(e, s, d[i].buf, key)
							     : build_get(e, s, d[i].buf, key);
			else
				d[i].len = build_set(e, s, d[i].buf, key);
		}
		d[i].server = (uint16_t)key_server(e, key);
		d[i].part = (uint16_t)key_part(e, key);
		s->busy = 1;
		s->phase = e->phase;
		s->msg_total = 0;
		sl[k++] = s;
	}
	now = bench_tsc();
	for (unsigned i = 0; i < k; i++) {
		sl[i]->t0 = sched ? sched[i] : now;
		sl[i]->deadline = now + e->timeout_ticks;
	}
	(void)e->tp->ops->tx_send(e->tp, d, k);
	for (unsigned i = 0; i < k; i++) {
		if (d[i].len == 0) {
			slot_fail(e, sl[i], &c->tx_refused);
			continue;
		}
		c->sent++;
		c->tx_bytes += d[i].len;
	}
	return k;
}

/* ---- set-up ------------------------------------------------------------------------ */

static size_t resp_max(const struct bench_cfg *c)
{
	size_t get = 24 + 4 + c->value_size + 64;
	size_t mget = (size_t)c->batch * (24 + 4 + c->key_size + c->value_size) + 24;
	size_t pf = (size_t)c->prefill_batch * (24 + 64) + 24;
	size_t m = get > mget ? get : mget;

	return (m > pf ? m : pf) + 64;
}

static int engine_init(struct engine *e, struct bench_cfg *cfg, struct bench_tp *tp,
		       const struct bench_keyspace *all, unsigned core, unsigned lcore)
{
	unsigned want = cfg->outstanding;
	size_t rmax;
	int rc;

	memset(e, 0, sizeof(*e));
	e->cfg = cfg;
	e->tp = tp;
	e->core = core;
	e->lcore = lcore;
	/* lcore 0 draws what a one-lcore run drew; the others, streams of their own */
	bench_rng_seed(&e->rng, cfg->seed + core * 0x9e3779b97f4a7c15ull);
	rc = bench_keyspace_slice(&e->ks, all, core, cfg->ncores);
	if (rc < 0) {
		fprintf(stderr, "dpcache-bench: lcore %u: no keys of its own (%s): give more --keys, "
			"or --steer at least the number of bench lcores\n", core, strerror(-rc));
		return rc;
	}
	e->window = want;
	e->nslots = 1;
	e->idx_bits = 0;
	while (e->nslots < want) {
		e->nslots <<= 1;
		e->idx_bits++;
	}
	rmax = resp_max(cfg);
	e->max_chunks = (unsigned)((rmax + DPC_UDP_MAX_DATA - 1) / DPC_UDP_MAX_DATA);
	e->slots = calloc(e->nslots, sizeof(*e->slots));
	e->free_stack = calloc(e->nslots, sizeof(*e->free_stack));
	e->keybuf = calloc((size_t)e->nslots * BENCH_MAX_BATCH, sizeof(*e->keybuf));
	e->hist = dpc_hist_create(bench_tsc_hz() * 10, 7);
	if (!e->slots || !e->free_stack || !e->keybuf || !e->hist)
		return -ENOMEM;
	if (e->max_chunks > 1) {
		size_t per = (size_t)e->max_chunks * DPC_UDP_MAX_DATA;

		if (per * e->nslots > (1ull << 30)) {
			fprintf(stderr, "dpcache-bench: responses of %zu bytes x %u outstanding need "
				"over 1 GiB of reassembly buffers: lower --outstanding\n", rmax, e->nslots);
			return -E2BIG;
		}
		e->rbuf_all = malloc(per * e->nslots);
		e->clen_all = malloc((size_t)e->max_chunks * e->nslots * sizeof(uint16_t));
		if (!e->rbuf_all || !e->clen_all)
			return -ENOMEM;
	}
	for (unsigned i = 0; i < e->nslots; i++) {
		e->slots[i].keys = e->keybuf + (size_t)i * BENCH_MAX_BATCH;
		if (e->rbuf_all) {
			e->slots[i].rbuf = e->rbuf_all + (size_t)i * e->max_chunks * DPC_UDP_MAX_DATA;
			e->slots[i].clen = e->clen_all + (size_t)i * e->max_chunks;
		}
	}
	/* only `window` slots are ever free at once */
	for (unsigned i = 0; i < want; i++)
		e->free_stack[e->nfree++] = want - 1 - i;
	e->timeout_ticks = bench_tsc_hz() / 1000000 * cfg->timeout_us;
	e->get_thresh = (uint64_t)(cfg->get_ratio * 4294967296.0);
	if (cfg->get_ratio >= 1.0)
		e->get_thresh = UINT64_MAX;
	e->next_opaque = (uint32_t)bench_rng_next(&e->rng);
	dpc_mc_encode_req_hdr(e->h_get, DPC_OP_GET, 0, (uint16_t)cfg->key_size, 0, 0, 0);
	dpc_mc_encode_req_hdr(e->h_getkq, DPC_OP_GETKQ, 0, (uint16_t)cfg->key_size, 0, 0, 0);
	dpc_mc_encode_req_hdr(e->h_noop, DPC_OP_NOOP, 0, 0, 0, 0, 0);
	dpc_mc_encode_req_hdr(e->h_set, DPC_OP_SET, 8, (uint16_t)cfg->key_size, cfg->value_size, 0, 0);
	dpc_mc_encode_req_hdr(e->h_setq, DPC_OP_SETQ, 8, (uint16_t)cfg->key_size, cfg->value_size, 0, 0);
	if (cfg->fill_on_miss) {
		/* room for every miss of a full window of multi-gets: none dropped in closed loop */
		unsigned need = e->nslots * cfg->batch, cap = 64;

		while (cap < need)
			cap <<= 1;
		e->fill_mask = cap - 1;
		e->fillq = malloc(cap * sizeof(*e->fillq));
		if (!e->fillq)
			return -ENOMEM;
	}
	if (cfg->rate > 0) {
		e->exp_mask = 4095;
		e->exp_tab = malloc((e->exp_mask + 1) * sizeof(*e->exp_tab));
		if (!e->exp_tab)
			return -ENOMEM;
		/* the aggregate --rate, split evenly over the lcores */
		double mean = (double)bench_tsc_hz() / (cfg->rate / cfg->ncores) * 256.0;
		for (unsigned i = 0; i <= e->exp_mask; i++)
			e->exp_tab[i] = (uint64_t)(-log(((double)i + 0.5) / (e->exp_mask + 1)) * mean);
	}
	return 0;
}

static void engine_free(struct engine *e)
{
	bench_keyspace_free(&e->ks);
	free(e->slots);
	free(e->free_stack);
	free(e->keybuf);
	free(e->rbuf_all);
	free(e->clen_all);
	free(e->exp_tab);
	free(e->fillq);
	free(e->pf_order);
	free(e->pf_tries);
	free(e->pf_again_pos);
	free(e->pf_again_due);
	dpc_hist_free(e->hist);
}

static double thread_cpu_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void progress(struct engine *e, const char *what, double t, uint64_t *last_done,
		     double *last_t)
{
	const struct bench_counters *c = &e->cnt[e->phase];
	double dt = t - *last_t;
	double rate = dt > 0 ? (double)(c->completed - *last_done) / dt : 0;
	uint64_t hits, looked;

	if (e->prog_phase != e->phase) {
		e->prog_phase = e->phase;
		e->prog_hits = e->prog_looked = 0;
	}
	hits = c->get_hits - e->prog_hits;
	looked = c->get_hits + c->get_misses - e->prog_looked;
	e->prog_hits = c->get_hits;
	e->prog_looked = c->get_hits + c->get_misses;
	fprintf(stderr, "[%6.1fs] %-8s %10.3f Mreq/s  done %llu  in flight %u  lost %llu  errors %llu",
		t, what, rate / 1e6, (unsigned long long)c->completed, e->window - e->nfree,
		(unsigned long long)c->timeouts,
		(unsigned long long)(c->err_status + c->err_content + c->err_proto));
	if (e->cfg->ncores > 1)
		fprintf(stderr, "  (lcore 0 of %u)", e->cfg->ncores);
	/* the hit ratio of this interval: with --fill-on-miss, how fast the cache warms */
	if (looked)
		fprintf(stderr, "  hits %.2f %%", 100.0 * (double)hits / (double)looked);
	fputc('\n', stderr);
	*last_done = c->completed;
	*last_t = t;
}

/* ---- phases -------------------------------------------------------------------------- */

static int prefill(struct engine *e, struct bench_result *res)
{
	uint64_t hz = bench_tsc_hz(), t0 = bench_tsc(), next_scan = t0, next_prog = t0 + hz;
	uint64_t last_done = 0, *cnt;
	double last_t = 0;
	unsigned ndest = (e->cfg->nservers) * (e->cfg->steer > 1 ? e->cfg->steer : 1);

	e->phase = PH_PREFILL;
	/* counting sort of keys by destination: batches of SETQ never span two */
	e->pf_order = malloc(e->ks.ndraw * sizeof(*e->pf_order));
	cnt = calloc(ndest + 1, sizeof(*cnt));
	e->pf_tries = calloc(e->ks.ndraw ? e->ks.ndraw : 1, sizeof(*e->pf_tries));
	for (e->pf_again_mask = 63; e->pf_again_mask < e->nslots * e->cfg->prefill_batch;)
		e->pf_again_mask = e->pf_again_mask << 1 | 1;
	e->pf_again_pos = malloc((e->pf_again_mask + 1ull) * sizeof(*e->pf_again_pos));
	e->pf_again_due = malloc((e->pf_again_mask + 1ull) * sizeof(*e->pf_again_due));
	e->pf_backoff_ticks = hz / 1000000 * PF_BACKOFF_US;
	if (!e->pf_order || !cnt || !e->pf_tries || !e->pf_again_pos || !e->pf_again_due) {
		free(cnt);
		return -ENOMEM;
	}
	unsigned np = e->cfg->steer > 1 ? e->cfg->steer : 1;
	/* this lcore's slice of the keys */
	for (uint64_t j = 0; j < e->ks.ndraw; j++) {
		uint64_t k = bench_key_at(&e->ks, j);

		cnt[key_server(e, k) * np + key_part(e, k) + 1]++;
	}
	for (unsigned i = 1; i <= ndest; i++)
		cnt[i] += cnt[i - 1];
	for (uint64_t j = 0; j < e->ks.ndraw; j++) {
		uint64_t k = bench_key_at(&e->ks, j);

		e->pf_order[cnt[key_server(e, k) * np + key_part(e, k)]++] = (uint32_t)k;
	}
	free(cnt);
	e->pf_next = 0;
	for (;;) {
		uint64_t now = bench_tsc();

		rx_all(e);
		if (e->pf_next >= e->ks.ndraw && !pf_again_len(e) && e->nfree == e->window)
			break;
		if (bench_stop_requested() || now - t0 > 300 * hz) {
			scan_timeouts(e, now, true);
			break;
		}
		if (e->nfree && (e->pf_next < e->ks.ndraw || pf_again_len(e)))
			(void)send_burst(e, e->nfree < BENCH_BURST ? e->nfree : BENCH_BURST, NULL, true);
		if (now >= next_scan) {
			scan_timeouts(e, now, false);
			next_scan = now + e->timeout_ticks / 4 + 1;
		}
		if (e->cfg->progress && e->core == 0 && now >= next_prog) {
			progress(e, "prefill", (double)(now - t0) / (double)hz, &last_done, &last_t);
			next_prog += hz;
		}
	}
	res->phase = "prefill";
	res->seconds = (double)(bench_tsc() - t0) / (double)hz;
	res->c = e->cnt[PH_PREFILL];
	return 0;
}

static void measure(struct engine *e, struct bench_result *res)
{
	const struct bench_cfg *cfg = e->cfg;
	uint64_t hz = bench_tsc_hz(), t0 = bench_tsc();
	uint64_t warm_end = t0 + (uint64_t)(cfg->warmup_s * (double)hz);
	uint64_t meas_end = warm_end + (uint64_t)(cfg->duration_s * (double)hz);
	uint64_t meas_start = warm_end, stop_at = 0, next_scan = t0, next_prog = t0 + hz;
	uint64_t next_send = t0 << 8;   /* open loop schedule, ticks * 256 */
	uint64_t last_done = 0, prev = t0;
	/* --rx-pause: replies left unread in this window (the sending goes on) */
	uint64_t pause_from = t0 + (uint64_t)(cfg->rx_pause_at * (double)hz);
	uint64_t pause_to = pause_from + (uint64_t)(cfg->rx_pause_s * (double)hz);
	double last_t = 0;
	bool sending = true, did_work = false;
	uint64_t sched[BENCH_BURST];
	double cpu0 = thread_cpu_s(), cpu1 = cpu0;

	e->phase = cfg->warmup_s > 0 ? PH_WARMUP : PH_MEASURE;
	for (;;) {
		uint64_t now = bench_tsc();
		unsigned work;

		/* the bench's own cost: cycles of iterations that did something */
		if (did_work && e->phase == PH_MEASURE)
			e->busy_cycles += now - prev;
		prev = now;
		work = dpc_unlikely(now >= pause_from && now < pause_to) ? 0 : rx_all(e);

		if (e->phase == PH_WARMUP && now >= warm_end) {
			e->phase = PH_MEASURE;
			meas_start = now;
			last_done = 0;
			cpu0 = thread_cpu_s();
		}
		if (sending && now >= meas_end) {
			sending = false;
			stop_at = now;
			cpu1 = thread_cpu_s();
		}
		if (sending) {
			if (cfg->rate <= 0) {
				if (e->nfree)
					work += send_burst(e, e->nfree < BENCH_BURST ? e->nfree : BENCH_BURST,
							   NULL, false);
			} else {
				unsigned n = 0, nf = fill_len(e);

				/* look-aside fills go out now, outside the Poisson schedule */
				if (nf > BENCH_BURST)
					nf = BENCH_BURST;
				if (nf && e->nfree)
					work += send_burst(e, nf, NULL, false);
				while (n < BENCH_BURST && n < e->nfree && (next_send >> 8) <= now) {
					sched[n++] = next_send >> 8;
					next_send += e->exp_tab[bench_rng_next(&e->rng) & e->exp_mask];
				}
				if (n)
					work += send_burst(e, n, sched, false);
			}
		} else if (e->nfree == e->window || now - stop_at > e->timeout_ticks + hz / 100) {
			scan_timeouts(e, now, true);
			break;
		}
		did_work = work != 0;
		if (now >= next_scan) {
			scan_timeouts(e, now, false);
			next_scan = now + e->timeout_ticks / 4 + 1;
			if (sending && bench_stop_requested()) {
				sending = false;
				stop_at = now;
				cpu1 = thread_cpu_s();
			}
		}
		if (cfg->progress && e->core == 0 && now >= next_prog) {
			progress(e, e->phase == PH_WARMUP ? "warmup" : "measure",
				 (double)(now - t0) / (double)hz, &last_done, &last_t);
			next_prog += hz;
		}
	}
	res->phase = "measure";
	res->seconds = (double)((stop_at > meas_start ? stop_at : meas_start) - meas_start) / (double)hz;
	res->offered_rate = cfg->rate;
	res->c = e->cnt[PH_MEASURE];
	res->warm = e->cnt[PH_WARMUP];
	res->lat = e->hist;
	res->busy_cycles = e->busy_cycles;
	res->cpu_seconds = cpu1 - cpu0;
}

/* ---- several lcores ------------------------------------------------------------------ */

/* Lcores that finished their prefill: the measurement starts on all once all are there. */
static unsigned prefill_done;

static void barrier_wait(unsigned ncores)
{
	uint64_t hz = bench_tsc_hz(), t0 = bench_tsc();

	__atomic_add_fetch(&prefill_done, 1, __ATOMIC_ACQ_REL);
	while (__atomic_load_n(&prefill_done, __ATOMIC_ACQUIRE) < ncores) {
		if (bench_stop_requested() || bench_tsc() - t0 > 400 * hz)
			break;   /* an lcore failed or hangs: measure anyway, its row shows it */
		rte_pause();
	}
}

static int core_main(void *arg)
{
	struct engine *e = arg;
	const struct bench_cfg *cfg = e->cfg;

	if (cfg->prefill) {
		e->rc = prefill(e, &e->pf);
		if (e->rc < 0) {
			__atomic_add_fetch(&prefill_done, 1, __ATOMIC_ACQ_REL);  /* do not hold the others */
			return e->rc;
		}
	}
	barrier_wait(cfg->ncores);
	if (e->core == 0 && e->tp->ops->port_stats)
		e->port_rc = e->tp->ops->port_stats(e->tp, &e->port0);
	measure(e, &e->m);
	e->m.lcore = e->lcore;
	e->m.ncores = 1;
	return 0;
}

static void counters_add(struct bench_counters *d, const struct bench_counters *c)
{
	d->sent += c->sent;
	d->completed += c->completed;
	d->gets += c->gets;
	d->get_hits += c->get_hits;
	d->get_misses += c->get_misses;
	d->sets += c->sets;
	d->set_ok += c->set_ok;
	d->fills += c->fills;
	d->fills_dropped += c->fills_dropped;
	d->retries += c->retries;
	d->gave_up += c->gave_up;
	d->err_status += c->err_status;
	d->err_content += c->err_content;
	d->err_proto += c->err_proto;
	d->timeouts += c->timeouts;
	d->late += c->late;
	d->tx_refused += c->tx_refused;
	d->rx_dgrams += c->rx_dgrams;
	d->rx_bytes += c->rx_bytes;
	d->tx_bytes += c->tx_bytes;
}

/* Merge the lcores' results into @p m (histogram into @p lat), the per-lcore rows into @p rows. */
static void merge(struct engine **es, unsigned n, struct bench_result *pf, struct bench_result *m,
		  struct dpc_hist *lat, struct bench_result *rows)
{
	memset(pf, 0, sizeof(*pf));
	memset(m, 0, sizeof(*m));
	pf->phase = "prefill";
	m->phase = "measure";
	m->lat = lat;
	m->ncores = n;
	for (unsigned i = 0; i < n; i++) {
		const struct engine *e = es[i];

		counters_add(&pf->c, &e->pf.c);
		if (e->pf.seconds > pf->seconds)
			pf->seconds = e->pf.seconds;
		counters_add(&m->c, &e->m.c);
		counters_add(&m->warm, &e->m.warm);
		if (e->m.seconds > m->seconds)
			m->seconds = e->m.seconds;
		m->offered_rate = e->m.offered_rate;
		m->busy_cycles += e->m.busy_cycles;
		m->cpu_seconds += e->m.cpu_seconds;
		(void)dpc_hist_merge(lat, e->hist);
		rows[i] = e->m;
		rows[i].lcore = e->lcore;
	}
	m->per_core = n > 1 ? rows : NULL;
}

int bench_run_load(struct bench_cfg *cfg, struct bench_tp **tps)
{
	unsigned n = cfg->ncores ? cfg->ncores : 1, lc, i;
	struct bench_keyspace all;
	struct engine **es = calloc(n, sizeof(*es));
	struct bench_result *rows = calloc(n, sizeof(*rows));
	struct bench_result pf, m;
	struct bench_port_stats port;
	struct dpc_hist *lat = dpc_hist_create(bench_tsc_hz() * 10, 7);
	int rc;

	memset(&all, 0, sizeof(all));
	if (!es || !rows || !lat) {
		rc = -ENOMEM;
		goto out;
	}
	rc = bench_keyspace_init(&all, cfg);
	if (rc < 0) {
		fprintf(stderr, "dpcache-bench: cannot build %llu keys of %u bytes: %s\n",
			(unsigned long long)cfg->keys, cfg->key_size, strerror(-rc));
		goto out;
	}
	/* lcore 0 is the one we run on (the main lcore, or the only thread over kernel UDP) */
	lc = n > 1 ? rte_get_main_lcore() : 0;
	for (i = 0; i < n; i++) {
		es[i] = calloc(1, sizeof(*es[i]));
		if (!es[i]) {
			rc = -ENOMEM;
			goto out;
		}
		rc = engine_init(es[i], cfg, tps[i], &all, i, lc);
		if (rc < 0)
			goto out;
		if (n > 1)
			lc = rte_get_next_lcore(lc, 1, 0);
	}
	__atomic_store_n(&prefill_done, 0, __ATOMIC_RELAXED);
	for (i = 1; i < n; i++) {
		rc = rte_eal_remote_launch(core_main, es[i], es[i]->lcore);
		if (rc < 0) {
			fprintf(stderr, "dpcache-bench: cannot start lcore %u: %s\n", es[i]->lcore,
				strerror(-rc));
			goto out;
		}
	}
	(void)core_main(es[0]);
	if (n > 1)
		rte_eal_mp_wait_lcore();
	for (i = 0; i < n; i++) {
		if (es[i]->rc < 0) {
			rc = es[i]->rc;
			goto out;
		}
	}
	merge(es, n, &pf, &m, lat, rows);
	if (es[0]->tp->ops->port_stats && es[0]->port_rc == 0 &&
	    es[0]->tp->ops->port_stats(es[0]->tp, &es[0]->port1) == 0) {
		const struct bench_port_stats *a = &es[0]->port0, *b = &es[0]->port1;

		port.port = b->port;
		port.ipackets = b->ipackets - a->ipackets;
		port.opackets = b->opackets - a->opackets;
		port.ibytes = b->ibytes - a->ibytes;
		port.obytes = b->obytes - a->obytes;
		port.imissed = b->imissed - a->imissed;
		port.ierrors = b->ierrors - a->ierrors;
		port.oerrors = b->oerrors - a->oerrors;
		port.rx_nombuf = b->rx_nombuf - a->rx_nombuf;
		m.ports = &port;
		m.nports = 1;
	}
	if (cfg->prefill && (cfg->progress || !cfg->json_path || strcmp(cfg->json_path, "-") != 0))
		fprintf(stderr, "prefill: %llu keys in %.2f s, %llu stored, %llu prefill_retries "
			"(Temporary failure), %llu given up, %llu lost datagrams, %llu errors\n",
			(unsigned long long)all.n, pf.seconds, (unsigned long long)pf.c.set_ok,
			(unsigned long long)pf.c.retries, (unsigned long long)pf.c.gave_up,
			(unsigned long long)pf.c.timeouts,
			(unsigned long long)(pf.c.err_status + pf.c.err_content + pf.c.err_proto));
	bench_report_text(stdout, cfg, &m);
	if (cfg->json_path) {
		FILE *f = strcmp(cfg->json_path, "-") == 0 ? stdout : fopen(cfg->json_path, "w");

		if (!f) {
			fprintf(stderr, "dpcache-bench: cannot write %s: %s\n", cfg->json_path,
				strerror(errno));
			rc = -errno;
			goto out;
		}
		bench_report_json(f, cfg, &m, cfg->prefill ? &pf : NULL);
		if (f != stdout)
			fclose(f);
	}
	rc = (m.c.err_status + m.c.err_content + m.c.err_proto + pf.c.err_content + pf.c.err_proto) ? 1 : 0;
out:
	for (i = 0; es && i < n; i++) {
		if (es[i])
			engine_free(es[i]);
		free(es[i]);
	}
	free(es);
	free(rows);
	dpc_hist_free(lat);
	bench_keyspace_free(&all);
	return rc;
}
