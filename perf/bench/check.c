/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dpcache-bench --check: conformance of a memcached-binary-over-UDP server
 * (dpcached or memcached).  Every opcode once with the exact status and
 * value expected, quiet variants, a multi-get, STAT, errors, and 100 KiB /
 * 1 MiB values (built with SET + APPENDs, read back as one response spread
 * over many datagrams and reassembled by sequence number).  Prints PASS or
 * FAIL per check; the run passes only if every check does.
 *
 * One request in flight at a time; responses are collected until the
 * request's final response (the single reply, the NOOP that ends a quiet
 * batch, or the empty STAT that ends a STAT listing).  A response may
 * come as several messages (memcached 1.6 sends each response as its own
 * message) and each message may span several datagrams.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dpcache/byteorder.h"
#include "bench.h"
#include "dpcache/hash.h"

#define CHK_MAX_RES 512u
#define CHK_STORE (3u << 20)
#define CHK_MSG_CHUNKS 1024u

enum until { UNTIL_ONE, UNTIL_NOOP, UNTIL_STAT_END };

struct chk {
	struct bench_cfg *cfg;
	struct bench_tp *tp;
	uint16_t rid;
	uint32_t opaque;
	unsigned pass, fail;
	char prefix[24];
	uint8_t *store;            /* every response byte of the current exchange */
	size_t store_len;
	uint8_t *msg;              /* reassembly of one multi-datagram message */
	uint16_t clen[CHK_MSG_CHUNKS];
	unsigned msg_total, msg_got;
	struct dpc_mc_res res[CHK_MAX_RES];
	uint32_t res_opaque[CHK_MAX_RES];
	unsigned nres;
	uint8_t req[DPC_UDP_MAX_PAYLOAD];
	size_t req_len;
	uint8_t *big;              /* expected content of the big values */
	uint8_t *val;              /* scratch */
};

static void report(struct chk *c, bool ok, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void report(struct chk *c, bool ok, const char *name, const char *fmt, ...)
{
	va_list ap;

	printf("%s  %-28s ", ok ? "PASS" : "FAIL", name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	if (ok)
		c->pass++;
	else
		c->fail++;
}

/* ---- building requests ---------------------------------------------------------- */

static void req_reset(struct chk *c)
{
	c->req_len = 0;
}

/* Append one request; returns its opaque. */
static uint32_t req_add(struct chk *c, uint8_t op, const void *ext, uint8_t extlen, const char *key,
			const void *val, uint32_t vlen, uint64_t cas)
{
	size_t klen = key ? strlen(key) : 0;
	uint32_t opaque = ++c->opaque;
	uint8_t *p = c->req + c->req_len;

	if (c->req_len + 24 + extlen + klen + vlen > sizeof(c->req) - DPC_UDP_FRAME_LEN) {
		fprintf(stderr, "check: request too large (internal)\n");
		abort();
	}
	dpc_mc_encode_req_hdr(p, op, extlen, (uint16_t)klen, vlen, opaque, cas);
	p += 24;
	if (extlen)
		memcpy(p, ext, extlen);
	p += extlen;
	if (klen)
		memcpy(p, key, klen);
	p += klen;
	if (vlen)
		memcpy(p, val, vlen);
	p += vlen;
	c->req_len = (size_t)(p - c->req);
	return opaque;
}

/* SET-family extras: flags, exptime */
static uint32_t add_store(struct chk *c, uint8_t op, const char *key, const void *val, uint32_t vlen,
			  uint32_t flags, uint32_t exptime, uint64_t cas)
{
	uint8_t ext[8];

	dpc_put_be32(ext, flags);
	dpc_put_be32(ext + 4, exptime);
	return req_add(c, op, ext, 8, key, val, vlen, cas);
}

static uint32_t add_arith(struct chk *c, uint8_t op, const char *key, uint64_t delta, uint64_t initial,
			  uint32_t exptime)
{
	uint8_t ext[20];

	dpc_put_be64(ext, delta);
	dpc_put_be64(ext + 8, initial);
	dpc_put_be32(ext + 16, exptime);
	return req_add(c, op, ext, 20, key, NULL, 0, 0);
}

static uint32_t add_exptime(struct chk *c, uint8_t op, const char *key, uint32_t exptime)
{
	uint8_t ext[4];

	dpc_put_be32(ext, exptime);
	return req_add(c, op, ext, 4, key, NULL, 0, 0);
}

/* ---- the exchange ---------------------------------------------------------------- */

static unsigned key_part(const struct chk *c, const char *key)
{
	if (c->cfg->steer <= 1 || !key)
		return 0;
	return dpc_hash_part(dpc_hash(key, strlen(key)), c->cfg->steer);
}

static bool is_final(enum until u, const struct dpc_mc_res *r)
{
	switch (u) {
	case UNTIL_ONE:
		return true;
	case UNTIL_NOOP:
		return r->opcode == DPC_OP_NOOP;
	case UNTIL_STAT_END:
		return r->opcode != DPC_OP_STAT || r->keylen == 0 || r->status != DPC_MC_OK;
	}
	return true;
}

/* Parse the message at store[off..store_len); true once the final response was seen. */
static int parse_message(struct chk *c, size_t off, enum until u, bool *final)
{
	while (off < c->store_len) {
		struct dpc_mc_res *r = &c->res[c->nres];
		int n;

		if (c->nres >= CHK_MAX_RES)
			return -E2BIG;
		n = dpc_mc_parse_res(c->store + off, c->store_len - off, r);
		if (n <= 0)
			return -EBADMSG;
		memcpy(&c->res_opaque[c->nres], c->store + off + 12, 4);
		c->nres++;
		off += (size_t)n;
		if (is_final(u, r)) {
			*final = true;
			return off == c->store_len ? 0 : -EBADMSG;
		}
	}
	return 0;
}

/*
 * Send the request built in c->req (one datagram) and collect responses
 * until the final one.  0, -ETIMEDOUT, -EBADMSG (malformed), -EIO (send).
 */
static int xact(struct chk *c, const char *steer_key, enum until u, unsigned timeout_ms)
{
	struct bench_txd d;
	struct bench_rxd rx[BENCH_BURST];
	uint64_t hz = bench_tsc_hz(), t0, limit = hz / 1000 * timeout_ms;
	bool final = false;

	c->rid = (uint16_t)(c->rid + 1);
	c->nres = 0;
	c->store_len = 0;
	c->msg_total = 0;
	/* drain stale datagrams of earlier exchanges */
	while (c->tp->ops->rx(c->tp, rx, BENCH_BURST))
		;
	if (c->tp->ops->tx_get(c->tp, &d, 1) != 1)
		return -EIO;
	d.buf[0] = (uint8_t)(c->rid >> 8);
	d.buf[1] = (uint8_t)c->rid;
	memset(d.buf + 2, 0, 6);
	d.buf[5] = 1;
	memcpy(d.buf + DPC_UDP_FRAME_LEN, c->req, c->req_len);
	d.len = (uint16_t)(DPC_UDP_FRAME_LEN + c->req_len);
	d.server = 0;
	d.part = (uint16_t)key_part(c, steer_key);
	if (c->tp->ops->tx_send(c->tp, &d, 1) != 1)
		return -EIO;
	t0 = bench_tsc();
	while (!final) {
		unsigned n = c->tp->ops->rx(c->tp, rx, BENCH_BURST);

		if (!n) {
			if (bench_tsc() - t0 > limit || bench_stop_requested())
				return -ETIMEDOUT;
			continue;
		}
		for (unsigned i = 0; i < n && !final; i++) {
			const uint8_t *b = rx[i].buf;
			size_t len = rx[i].len, dlen, start;
			unsigned seq, total;

			if (len < DPC_UDP_FRAME_LEN || (uint16_t)(b[0] << 8 | b[1]) != c->rid)
				continue;
			seq = (unsigned)(b[2] << 8 | b[3]);
			total = (unsigned)(b[4] << 8 | b[5]);
			dlen = len - DPC_UDP_FRAME_LEN;
			/* memcached 1.6 sends an empty datagram with total 0 for a silent quiet op */
			if (total == 0 && dlen == 0)
				continue;
			if (total == 0 || seq >= total || total > CHK_MSG_CHUNKS || dlen > DPC_UDP_MAX_DATA)
				return -EBADMSG;
			start = c->store_len;
			if (total == 1) {
				if (c->store_len + dlen > CHK_STORE)
					return -E2BIG;
				memcpy(c->store + c->store_len, b + DPC_UDP_FRAME_LEN, dlen);
				c->store_len += dlen;
			} else {
				if (c->msg_total && c->msg_total != total)
					return -EBADMSG;
				if (!c->msg_total) {
					c->msg_total = total;
					c->msg_got = 0;
					memset(c->clen, 0xff, sizeof(c->clen));
				}
				if (c->clen[seq] != 0xffff)
					return -EBADMSG;
				memcpy(c->msg + (size_t)seq * DPC_UDP_MAX_DATA, b + DPC_UDP_FRAME_LEN, dlen);
				c->clen[seq] = (uint16_t)dlen;
				if (++c->msg_got < total)
					continue;
				for (unsigned k = 0; k < total; k++) {
					if (c->store_len + c->clen[k] > CHK_STORE)
						return -E2BIG;
					memcpy(c->store + c->store_len, c->msg + (size_t)k * DPC_UDP_MAX_DATA,
					       c->clen[k]);
					c->store_len += c->clen[k];
				}
				c->msg_total = 0;
			}
			int rc = parse_message(c, start, u, &final);
			if (rc < 0)
				return rc;
		}
	}
	return 0;
}

static const char *xerr(int rc)
{
	return rc == -ETIMEDOUT ? "no (complete) response" : rc == -EBADMSG ? "malformed response" :
	       strerror(-rc);
}

/* The one response of a simple exchange: checks count, opcode, opaque. */
static const struct dpc_mc_res *one(struct chk *c, const char *name, int rc, uint8_t op, uint32_t opaque)
{
	if (rc < 0) {
		report(c, false, name, "%s", xerr(rc));
		return NULL;
	}
	if (c->nres != 1 || c->res[0].opcode != op || c->res_opaque[0] != opaque) {
		report(c, false, name, "%u responses, opcode 0x%02x (want 0x%02x), opaque %s", c->nres,
		       c->res[0].opcode, op, c->res_opaque[0] == opaque ? "ok" : "wrong");
		return NULL;
	}
	return &c->res[0];
}

static bool want_status(struct chk *c, const char *name, const struct dpc_mc_res *r, uint16_t st)
{
	if (!r)
		return false;
	if (r->status != st) {
		report(c, false, name, "status 0x%04x, expected 0x%04x", r->status, st);
		return false;
	}
	return true;
}

/* Simple request: one key, expect status. */
static const struct dpc_mc_res *simple(struct chk *c, const char *name, const char *key, uint8_t op,
				       uint32_t opaque, uint16_t st)
{
	int rc = xact(c, key, UNTIL_ONE, 2000);
	const struct dpc_mc_res *r = one(c, name, rc, op, opaque);

	return want_status(c, name, r, st) ? r : NULL;
}

static bool same_value(const struct dpc_mc_res *r, const void *v, size_t len)
{
	return r->vlen == len && (len == 0 || memcmp(r->value, v, len) == 0);
}

static void k(struct chk *c, char *out, size_t len, const char *name)
{
	snprintf(out, len, "%s%s", c->prefix, name);
}

/* GET @p key: expect a hit with value and flags. */
static void expect_get(struct chk *c, const char *name, const char *key, const void *v, size_t vlen,
		       uint32_t flags)
{
	uint32_t o;
	const struct dpc_mc_res *r;

	req_reset(c);
	o = req_add(c, DPC_OP_GET, NULL, 0, key, NULL, 0, 0);
	r = simple(c, name, key, DPC_OP_GET, o, DPC_MC_OK);
	if (!r)
		return;
	if (r->extlen != 4 || dpc_get_be32(r->extras) != flags || r->keylen != 0) {
		report(c, false, name, "extras %u/flags 0x%08x (want 0x%08x), keylen %u", r->extlen,
		       r->extlen == 4 ? dpc_get_be32(r->extras) : 0, flags, r->keylen);
		return;
	}
	if (!same_value(r, v, vlen)) {
		report(c, false, name, "value of %u bytes differs from the %zu expected", r->vlen, vlen);
		return;
	}
	report(c, true, name, "hit, %zu bytes, flags ok", vlen);
}

static void expect_miss(struct chk *c, const char *name, const char *key)
{
	uint32_t o;

	req_reset(c);
	o = req_add(c, DPC_OP_GET, NULL, 0, key, NULL, 0, 0);
	if (simple(c, name, key, DPC_OP_GET, o, DPC_MC_KEY_ENOENT))
		report(c, true, name, "miss (Not found)");
}

static void expect_store(struct chk *c, const char *name, uint8_t op, const char *key, const char *v,
			 uint32_t flags, uint64_t cas, uint16_t st, uint64_t *cas_out)
{
	uint32_t o;
	const struct dpc_mc_res *r;

	req_reset(c);
	o = add_store(c, op, key, v, (uint32_t)strlen(v), flags, 0, cas);
	r = simple(c, name, key, op, o, st);
	if (!r)
		return;
	if (st == DPC_MC_OK && r->cas == 0) {
		report(c, false, name, "stored but CAS is 0");
		return;
	}
	if (cas_out)
		*cas_out = r->cas;
	report(c, true, name, "status 0x%04x as expected", st);
}

/* APPEND/PREPEND have no extras. */
static void expect_concat(struct chk *c, const char *name, uint8_t op, const char *key, const char *v,
			  uint16_t st)
{
	uint32_t o;

	req_reset(c);
	o = req_add(c, op, NULL, 0, key, v, (uint32_t)strlen(v), 0);
	if (simple(c, name, key, op, o, st))
		report(c, true, name, "status 0x%04x as expected", st);
}

static void expect_arith(struct chk *c, const char *name, uint8_t op, const char *key, uint64_t delta,
			 uint64_t initial, uint32_t exptime, uint16_t st, uint64_t want)
{
	uint32_t o;
	const struct dpc_mc_res *r;

	req_reset(c);
	o = add_arith(c, op, key, delta, initial, exptime);
	r = simple(c, name, key, op, o, st);
	if (!r)
		return;
	if (st == DPC_MC_OK && (r->vlen != 8 || dpc_get_be64(r->value) != want)) {
		report(c, false, name, "value %llu (%u bytes), expected %llu",
		       r->vlen == 8 ? (unsigned long long)dpc_get_be64(r->value) : 0ull, r->vlen,
		       (unsigned long long)want);
		return;
	}
	if (st == DPC_MC_OK)
		report(c, true, name, "value %llu", (unsigned long long)want);
	else
		report(c, true, name, "status 0x%04x as expected", st);
}

/* ---- the checks -------------------------------------------------------------------- */

static void check_basic(struct chk *c)
{
	char k1[64], k2[64], kx[64], kc[64];
	uint32_t o;
	int rc;
	const struct dpc_mc_res *r;
	uint64_t cas1 = 0;

	k(c, k1, sizeof(k1), "k1");
	k(c, k2, sizeof(k2), "k2");
	k(c, kx, sizeof(kx), "missing");
	k(c, kc, sizeof(kc), "counter");

	req_reset(c);
	o = req_add(c, DPC_OP_NOOP, NULL, 0, NULL, NULL, 0, 0);
	if (simple(c, "noop", NULL, DPC_OP_NOOP, o, DPC_MC_OK))
		report(c, true, "noop", "ok");

	req_reset(c);
	o = req_add(c, DPC_OP_VERSION, NULL, 0, NULL, NULL, 0, 0);
	r = simple(c, "version", NULL, DPC_OP_VERSION, o, DPC_MC_OK);
	if (r) {
		if (r->vlen == 0 || r->vlen > 200)
			report(c, false, "version", "empty or oversized version string");
		else
			report(c, true, "version", "%.*s", (int)r->vlen, (const char *)r->value);
	}

	expect_store(c, "set", DPC_OP_SET, k1, "value-one", 0xcafef00du, 0, DPC_MC_OK, &cas1);
	expect_get(c, "get (hit)", k1, "value-one", 9, 0xcafef00du);

	req_reset(c);
	o = req_add(c, DPC_OP_GETK, NULL, 0, k1, NULL, 0, 0);
	r = simple(c, "getk", k1, DPC_OP_GETK, o, DPC_MC_OK);
	if (r) {
		if (r->keylen != strlen(k1) || memcmp(r->key, k1, r->keylen) != 0 ||
		    !same_value(r, "value-one", 9) || r->cas != cas1)
			report(c, false, "getk", "key, value or CAS differs");
		else
			report(c, true, "getk", "key echoed, value and CAS match");
	}
	expect_miss(c, "get (miss)", kx);

	/* quiet get of a missing key: only the NOOP answers */
	req_reset(c);
	(void)req_add(c, DPC_OP_GETQ, NULL, 0, kx, NULL, 0, 0);
	o = req_add(c, DPC_OP_NOOP, NULL, 0, NULL, NULL, 0, 0);
	rc = xact(c, kx, UNTIL_NOOP, 2000);
	if (rc < 0)
		report(c, false, "getq (miss) + noop", "%s", xerr(rc));
	else if (c->nres != 1 || c->res_opaque[0] != o)
		report(c, false, "getq (miss) + noop", "%u responses, want only the NOOP", c->nres);
	else
		report(c, true, "getq (miss) + noop", "silent miss");

	/* quiet set: silent on success */
	req_reset(c);
	(void)add_store(c, DPC_OP_SETQ, k2, "two", 3, 2, 0, 0);
	o = req_add(c, DPC_OP_NOOP, NULL, 0, NULL, NULL, 0, 0);
	rc = xact(c, k2, UNTIL_NOOP, 2000);
	if (rc < 0)
		report(c, false, "setq + noop", "%s", xerr(rc));
	else if (c->nres != 1 || c->res_opaque[0] != o)
		report(c, false, "setq + noop", "%u responses, want only the NOOP", c->nres);
	else
		report(c, true, "setq + noop", "silent store");
	expect_get(c, "get after setq", k2, "two", 3, 2);

	expect_store(c, "add (exists)", DPC_OP_ADD, k1, "x", 0, 0, DPC_MC_KEY_EEXISTS, NULL);
	{
		char ka[64];

		k(c, ka, sizeof(ka), "added");
		expect_store(c, "add (new)", DPC_OP_ADD, ka, "added", 7, 0, DPC_MC_OK, NULL);
		expect_get(c, "get after add", ka, "added", 5, 7);
	}
	expect_store(c, "replace (missing)", DPC_OP_REPLACE, kx, "x", 0, 0, DPC_MC_KEY_ENOENT, NULL);
	expect_store(c, "replace", DPC_OP_REPLACE, k1, "value-1b", 0xcafef00du, 0, DPC_MC_OK, NULL);
	expect_get(c, "get after replace", k1, "value-1b", 8, 0xcafef00du);

	expect_concat(c, "append", DPC_OP_APPEND, k1, "+app", DPC_MC_OK);
	expect_concat(c, "prepend", DPC_OP_PREPEND, k1, "pre+", DPC_MC_OK);
	expect_get(c, "get after append/prepend", k1, "pre+value-1b+app", 16, 0xcafef00du);
	expect_concat(c, "append (missing)", DPC_OP_APPEND, kx, "x", DPC_MC_NOT_STORED);

	/* CAS */
	req_reset(c);
	o = req_add(c, DPC_OP_GET, NULL, 0, k1, NULL, 0, 0);
	r = simple(c, "get cas", k1, DPC_OP_GET, o, DPC_MC_OK);
	if (r) {
		uint64_t cas = r->cas;

		report(c, cas != 0, "get cas", "cas 0x%llx", (unsigned long long)cas);
		expect_store(c, "set cas mismatch", DPC_OP_SET, k1, "nope", 1, cas + 1, DPC_MC_KEY_EEXISTS,
			     NULL);
		expect_store(c, "set cas match", DPC_OP_SET, k1, "cas-ok", 1, cas, DPC_MC_OK, NULL);
		expect_get(c, "get after cas", k1, "cas-ok", 6, 1);
	}
	expect_store(c, "set cas (missing)", DPC_OP_SET, kx, "x", 0, 12345, DPC_MC_KEY_ENOENT, NULL);

	/* delete */
	req_reset(c);
	o = req_add(c, DPC_OP_DELETE, NULL, 0, k1, NULL, 0, 0);
	if (simple(c, "delete", k1, DPC_OP_DELETE, o, DPC_MC_OK))
		report(c, true, "delete", "deleted");
	expect_miss(c, "get after delete", k1);
	req_reset(c);
	o = req_add(c, DPC_OP_DELETE, NULL, 0, k1, NULL, 0, 0);
	if (simple(c, "delete (missing)", k1, DPC_OP_DELETE, o, DPC_MC_KEY_ENOENT))
		report(c, true, "delete (missing)", "Not found");

	/* incr / decr */
	expect_arith(c, "incr (create)", DPC_OP_INCREMENT, kc, 5, 10, 0, DPC_MC_OK, 10);
	expect_arith(c, "incr", DPC_OP_INCREMENT, kc, 5, 10, 0, DPC_MC_OK, 15);
	expect_arith(c, "decr (floor 0)", DPC_OP_DECREMENT, kc, 20, 0, 0, DPC_MC_OK, 0);
	expect_arith(c, "incr", DPC_OP_INCREMENT, kc, 42, 0, 0, DPC_MC_OK, 42);
	expect_get(c, "get counter", kc, "42", 2, 0);
	expect_arith(c, "incr (non-numeric)", DPC_OP_INCREMENT, k2, 1, 0, 0, DPC_MC_DELTA_BADVAL, 0);
	expect_arith(c, "incr (missing, no create)", DPC_OP_INCREMENT, kx, 1, 0, 0xffffffffu,
		     DPC_MC_KEY_ENOENT, 0);

	/* touch / gat */
	req_reset(c);
	o = add_exptime(c, DPC_OP_TOUCH, k2, 3600);
	if (simple(c, "touch", k2, DPC_OP_TOUCH, o, DPC_MC_OK))
		report(c, true, "touch", "touched");
	req_reset(c);
	o = add_exptime(c, DPC_OP_TOUCH, kx, 3600);
	if (simple(c, "touch (missing)", kx, DPC_OP_TOUCH, o, DPC_MC_KEY_ENOENT))
		report(c, true, "touch (missing)", "Not found");
	req_reset(c);
	o = add_exptime(c, DPC_OP_GAT, k2, 3600);
	r = simple(c, "gat", k2, DPC_OP_GAT, o, DPC_MC_OK);
	if (r)
		report(c, same_value(r, "two", 3) && r->extlen == 4 && dpc_get_be32(r->extras) == 2, "gat",
		       "value and flags");
	req_reset(c);
	o = add_exptime(c, DPC_OP_GATK, k2, 3600);
	r = simple(c, "gatk", k2, DPC_OP_GATK, o, DPC_MC_OK);
	if (r)
		report(c, same_value(r, "two", 3) && r->keylen == strlen(k2) &&
		       memcmp(r->key, k2, r->keylen) == 0, "gatk", "key and value");
	req_reset(c);
	o = add_exptime(c, DPC_OP_GAT, kx, 3600);
	if (simple(c, "gat (missing)", kx, DPC_OP_GAT, o, DPC_MC_KEY_ENOENT))
		report(c, true, "gat (missing)", "Not found");
	/* expiry in the past (absolute time 1 s after the epoch): gone at once */
	req_reset(c);
	{
		char ke[64];

		k(c, ke, sizeof(ke), "expired");
		o = add_store(c, DPC_OP_SET, ke, "old", 3, 0, 2592001u, 0);
		if (simple(c, "set (expired exptime)", ke, DPC_OP_SET, o, DPC_MC_OK))
			report(c, true, "set (expired exptime)", "stored");
		expect_miss(c, "get (expired)", ke);
	}
}

static void check_multiget(struct chk *c)
{
	char keys[7][64], val[7][16];
	const bool present[7] = { true, false, true, true, false, true, true };
	uint32_t op[7], on;
	int rc;

	for (unsigned i = 0; i < 7; i++) {
		char nm[16];

		snprintf(nm, sizeof(nm), "m%u", i);
		k(c, keys[i], sizeof(keys[i]), nm);
		snprintf(val[i], sizeof(val[i]), "mv-%u", i * 37);
		if (present[i]) {
			uint32_t o;

			req_reset(c);
			o = add_store(c, DPC_OP_SET, keys[i], val[i], (uint32_t)strlen(val[i]), i, 0, 0);
			if (!simple(c, "multi-get (set)", keys[i], DPC_OP_SET, o, DPC_MC_OK))
				return;
		} else {
			uint32_t o;

			req_reset(c);
			o = req_add(c, DPC_OP_DELETE, NULL, 0, keys[i], NULL, 0, 0);
			rc = xact(c, keys[i], UNTIL_ONE, 2000);
			(void)o;
			(void)rc;
		}
	}
	req_reset(c);
	for (unsigned i = 0; i < 7; i++)
		op[i] = req_add(c, DPC_OP_GETKQ, NULL, 0, keys[i], NULL, 0, 0);
	on = req_add(c, DPC_OP_NOOP, NULL, 0, NULL, NULL, 0, 0);
	rc = xact(c, keys[0], UNTIL_NOOP, 2000);
	if (rc < 0) {
		report(c, false, "multi-get (getkq x7 + noop)", "%s", xerr(rc));
		return;
	}
	unsigned j = 0;
	for (unsigned i = 0; i < 7; i++) {
		if (!present[i])
			continue;
		const struct dpc_mc_res *r = &c->res[j];

		if (j >= c->nres || r->opcode != DPC_OP_GETKQ || c->res_opaque[j] != op[i] ||
		    r->status != DPC_MC_OK || r->keylen != strlen(keys[i]) ||
		    memcmp(r->key, keys[i], r->keylen) != 0 || !same_value(r, val[i], strlen(val[i])) ||
		    r->extlen != 4 || dpc_get_be32(r->extras) != i) {
			report(c, false, "multi-get (getkq x7 + noop)", "response %u (key %u) wrong", j, i);
			return;
		}
		j++;
	}
	if (c->nres != j + 1 || c->res[j].opcode != DPC_OP_NOOP || c->res_opaque[j] != on) {
		report(c, false, "multi-get (getkq x7 + noop)", "%u responses, want 5 hits + NOOP", c->nres);
		return;
	}
	report(c, true, "multi-get (getkq x7 + noop)", "5 hits in order, 2 silent misses, NOOP");
}

static void check_stat(struct chk *c)
{
	int rc;
	unsigned named = 0;

	req_reset(c);
	(void)req_add(c, DPC_OP_STAT, NULL, 0, NULL, NULL, 0, 0);
	rc = xact(c, NULL, UNTIL_STAT_END, 2000);
	if (rc < 0) {
		report(c, false, "stat", "%s", xerr(rc));
		return;
	}
	for (unsigned i = 0; i < c->nres; i++) {
		const struct dpc_mc_res *r = &c->res[i];

		if (r->opcode != DPC_OP_STAT || r->status != DPC_MC_OK) {
			report(c, false, "stat", "response %u: opcode 0x%02x status 0x%04x", i, r->opcode,
			       r->status);
			return;
		}
		if (r->keylen)
			named++;
	}
	if (!named || c->res[c->nres - 1].keylen != 0)
		report(c, false, "stat", "%u stats, terminator %s", named,
		       c->res[c->nres - 1].keylen ? "missing" : "ok");
	else
		report(c, true, "stat", "%u stats and the empty terminator", named);
}

static void check_errors(struct chk *c)
{
	char longkey[DPC_KEY_MAX + 2];
	uint32_t o;

	memset(longkey, 'L', DPC_KEY_MAX + 1);
	longkey[DPC_KEY_MAX + 1] = '\0';
	req_reset(c);
	o = req_add(c, DPC_OP_GET, NULL, 0, longkey, NULL, 0, 0);
	if (simple(c, "get (key of 251 bytes)", NULL, DPC_OP_GET, o, DPC_MC_EINVAL))
		report(c, true, "get (key of 251 bytes)", "Invalid arguments");
	req_reset(c);
	o = req_add(c, 0x50, NULL, 0, NULL, NULL, 0, 0);
	if (simple(c, "unknown opcode 0x50", NULL, 0x50, o, DPC_MC_UNKNOWN_COMMAND))
		report(c, true, "unknown opcode 0x50", "Unknown command");
}

/* Build a value of @p size with SET + APPENDs, then read it back in one GET. */
static void check_big(struct chk *c, const char *name, size_t size)
{
	char key[64];
	const size_t chunk = 1300;
	uint32_t o;
	int rc;

	snprintf(key, sizeof(key), "%sbig%zu", c->prefix, size);
	for (size_t off = 0; off < size; off += chunk) {
		size_t n = size - off < chunk ? size - off : chunk;

		req_reset(c);
		if (off == 0)
			o = add_store(c, DPC_OP_SET, key, c->big, (uint32_t)n, 0xb16u, 0, 0);
		else
			o = req_add(c, DPC_OP_APPEND, NULL, 0, key, c->big + off, (uint32_t)n, 0);
		rc = xact(c, key, UNTIL_ONE, 2000);
		if (rc < 0 || c->nres != 1 || c->res_opaque[0] != o || c->res[0].status != DPC_MC_OK) {
			report(c, false, name, "building the value: at %zu bytes: %s (status 0x%04x)", off,
			       rc < 0 ? xerr(rc) : "bad response", c->nres ? c->res[0].status : 0);
			return;
		}
	}
	req_reset(c);
	o = req_add(c, DPC_OP_GET, NULL, 0, key, NULL, 0, 0);
	rc = xact(c, key, UNTIL_ONE, 5000);
	const struct dpc_mc_res *r = one(c, name, rc, DPC_OP_GET, o);
	if (!want_status(c, name, r, DPC_MC_OK))
		return;
	if (!same_value(r, c->big, size) || r->extlen != 4 || dpc_get_be32(r->extras) != 0xb16u) {
		report(c, false, name, "value of %u bytes differs from the %zu written", r->vlen, size);
		return;
	}
	report(c, true, name, "%zu bytes back intact (%zu datagrams)", size,
	       (24 + 4 + size + DPC_UDP_MAX_DATA - 1) / DPC_UDP_MAX_DATA);
	/* free the memory again */
	req_reset(c);
	(void)req_add(c, DPC_OP_DELETE, NULL, 0, key, NULL, 0, 0);
	(void)xact(c, key, UNTIL_ONE, 2000);
}

static void check_flush(struct chk *c)
{
	char k2[64];
	uint32_t o;

	k(c, k2, sizeof(k2), "k2");
	req_reset(c);
	o = req_add(c, DPC_OP_FLUSH, NULL, 0, NULL, NULL, 0, 0);
	if (simple(c, "flush", NULL, DPC_OP_FLUSH, o, DPC_MC_OK))
		report(c, true, "flush", "flushed");
	expect_miss(c, "get after flush", k2);
}

int bench_run_check(struct bench_cfg *cfg, struct bench_tp *tp)
{
	struct chk *c = calloc(1, sizeof(*c));
	int rc = 1;

	if (!c)
		return -ENOMEM;
	c->cfg = cfg;
	c->tp = tp;
	c->store = malloc(CHK_STORE);
	c->msg = malloc((size_t)CHK_MSG_CHUNKS * DPC_UDP_MAX_DATA);
	c->big = malloc(DPC_VALUE_MAX_DEFAULT);
	if (!c->store || !c->msg || !c->big) {
		rc = -ENOMEM;
		goto out;
	}
	bench_value_fill(c->big, DPC_VALUE_MAX_DEFAULT, 0xb16, 1);
	c->rid = (uint16_t)(bench_tsc() >> 4);
	c->opaque = (uint32_t)bench_tsc();
	snprintf(c->prefix, sizeof(c->prefix), "chk%x.%x:", (unsigned)getpid(),
		 (unsigned)(bench_tsc() >> 8) & 0xffffu);
	printf("dpcache-bench --check against %s over %s (keys %s*)\n", cfg->servers[0].name,
	       tp->name, c->prefix);
	check_basic(c);
	check_multiget(c);
	check_stat(c);
	check_errors(c);
	if (cfg->check_big) {
		check_big(c, "value 100 KiB (multi-datagram)", 100 * 1024);
		check_big(c, "value 1 MiB (multi-datagram)", DPC_VALUE_MAX_DEFAULT);
	}
	check_flush(c);
	printf("check: %u passed, %u failed\n", c->pass, c->fail);
	rc = c->fail ? 1 : 0;
out:
	free(c->store);
	free(c->msg);
	free(c->big);
	free(c);
	return rc;
}
