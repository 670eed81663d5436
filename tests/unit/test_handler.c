/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The request handler against a real cache: every opcode, quiet variants,
 * multi-get, values spanning many datagram areas, CAS, TTL (the cache
 * clock is moved), every malformed case, partition ownership.  Responses
 * are parsed back from a flat writer whose areas are DPC_UDP_MAX_DATA
 * bytes, as the DPDK glue's datagrams are.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <urcu/urcu-qsbr.h>

#include "dpcache/hash.h"
#include "handler.h"

#define T0 1700000000u
#define MAXV (100u * 1024u)
#define AREAS 128u

/* ---- flat writer ------------------------------------------------------------ */
struct flatw {
	struct dpc_wr w;
	unsigned areas, max_areas;
	uint8_t buf[AREAS * DPC_UDP_MAX_DATA];
};

static int flat_next(struct dpc_wr *w)
{
	struct flatw *f = w->ctx;

	if (f->areas == f->max_areas)
		return -ENOMEM;
	w->p = f->buf + (size_t)f->areas * DPC_UDP_MAX_DATA;
	w->end = w->p + DPC_UDP_MAX_DATA;
	f->areas++;
	return 0;
}

static void flat_reset(struct flatw *f, unsigned max_areas)
{
	memset(&f->w, 0, sizeof(f->w));
	f->w.p = f->w.end = f->buf;
	f->w.next = flat_next;
	f->w.ctx = f;
	f->areas = 0;
	f->max_areas = max_areas;
}

/* ---- request builder ---------------------------------------------------------- */
struct msg {
	size_t n;
	uint8_t b[128 * 1024];
};

static void add(struct msg *m, uint8_t op, const void *ext, unsigned extlen, const char *key,
		const void *val, unsigned vlen, uint64_t cas, uint32_t opaque)
{
	unsigned klen = key ? (unsigned)strlen(key) : 0;

	assert_true(m->n + 24 + extlen + klen + vlen <= sizeof(m->b));
	dpc_mc_encode_req_hdr(m->b + m->n, op, (uint8_t)extlen, (uint16_t)klen, vlen, opaque, cas);
	m->n += 24;
	if (extlen)
		memcpy(m->b + m->n, ext, extlen);
	m->n += extlen;
	if (klen)
		memcpy(m->b + m->n, key, klen);
	m->n += klen;
	if (vlen)
		memcpy(m->b + m->n, val, vlen);
	m->n += vlen;
}

static void be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}
static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static uint64_t rd64(const uint8_t *p) { return (uint64_t)rd32(p) << 32 | rd32(p + 4); }
static void be64(uint8_t *p, uint64_t v) { be32(p, (uint32_t)(v >> 32)); be32(p + 4, (uint32_t)v); }

static void add_set(struct msg *m, uint8_t op, const char *key, const char *val, uint32_t flags,
		    uint32_t exptime, uint64_t cas, uint32_t opaque)
{
	uint8_t ext[8];

	be32(ext, flags);
	be32(ext + 4, exptime);
	add(m, op, ext, 8, key, val, (unsigned)strlen(val), cas, opaque);
}

static void add_arith(struct msg *m, uint8_t op, const char *key, uint64_t delta, uint64_t initial,
		      uint32_t exptime, uint32_t opaque)
{
	uint8_t ext[20];

	be64(ext, delta);
	be64(ext + 8, initial);
	be32(ext + 16, exptime);
	add(m, op, ext, 20, key, NULL, 0, 0, opaque);
}

static void add_exp(struct msg *m, uint8_t op, const char *key, uint32_t exptime, uint32_t opaque)
{
	uint8_t ext[4];

	be32(ext, exptime);
	add(m, op, ext, 4, key, NULL, 0, 0, opaque);
}

/* ---- fixture ------------------------------------------------------------------------ */
#define MAXRES 512
struct fx {
	struct dpc_cache *cache;
	struct dpc_worker_stats stats[3];
	struct dpc_worker_stats *all[3];
	struct dpc_handler h[3];
	struct flatw fw;
	struct msg m;
	int rc;
	unsigned nres;
	struct dpc_mc_res res[MAXRES];
};

static struct fx *fx_new(unsigned nparts)
{
	/* the stats are cache-line aligned: so must the fixture be */
	size_t sz = (sizeof(struct fx) + DPC_CACHE_LINE - 1) & ~(size_t)(DPC_CACHE_LINE - 1);
	struct fx *f = aligned_alloc(DPC_CACHE_LINE, sz);
	struct dpc_cache_params p = {
		.nparts = nparts, .mem_bytes = 16u << 20, .item_size_hint = 128,
		.max_value = MAXV, .policy = DPC_EVICT_CLOCK, .hugepages = false, .numa_socket = -1,
	};

	assert_non_null(f);
	memset(f, 0, sizeof(*f));
	f->cache = dpc_cache_create(&p);
	assert_non_null(f->cache);
	dpc_cache_set_time(f->cache, T0);
	for (unsigned i = 0; i < nparts; i++) {
		f->all[i] = &f->stats[i];
		f->h[i] = (struct dpc_handler){
			.cache = f->cache, .part = i, .max_value = MAXV, .stats = &f->stats[i],
			.all_stats = f->all, .nworkers = nparts, .version = "9.9.9-test",
		};
	}
	return f;
}

static int setup1(void **state)
{
	urcu_qsbr_register_thread();
	*state = fx_new(1);
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	urcu_qsbr_quiescent_state();
	dpc_cache_free(f->cache);
	free(f);
	urcu_qsbr_unregister_thread();
	return 0;
}

/* Run the message through handler @hi; parse all responses into f->res. */
static void run_on(struct fx *f, unsigned hi)
{
	flat_reset(&f->fw, AREAS);
	size_t before = f->fw.w.total;
	f->rc = dpc_handler_process(&f->h[hi], f->m.b, f->m.n, &f->fw.w);
	size_t total = f->fw.w.total - before;
	/* areas are contiguous in the flat buffer: the stream is buf[0..total) */
	assert_int_equal(f->fw.areas, (total + DPC_UDP_MAX_DATA - 1) / DPC_UDP_MAX_DATA);
	f->nres = 0;
	size_t off = 0;
	while (off < total) {
		assert_true(f->nres < MAXRES);
		int n = dpc_mc_parse_res(f->fw.buf + off, total - off, &f->res[f->nres]);
		if (n <= 0)
			fail_msg("unparsable response stream at %zu of %zu (%d)", off, total, n);
		off += (size_t)n;
		f->nres++;
	}
	f->m.n = 0;
	/* views are valid until the next quiescent state: take one per "poll loop" */
	urcu_qsbr_quiescent_state();
}

static void run(struct fx *f) { run_on(f, 0); }

static uint32_t op_of(uint32_t x) { uint32_t o; memcpy(&o, &x, 4); return o; }

static void expect(const struct dpc_mc_res *r, uint8_t op, uint16_t status, uint32_t opaque)
{
	if (r->opcode != op || r->status != status || r->opaque != op_of(opaque))
		fail_msg("response op 0x%x status 0x%x opaque %u; want op 0x%x status 0x%x opaque %u",
			 r->opcode, r->status, r->opaque, op, status, opaque);
}

static void expect_val(const struct dpc_mc_res *r, const char *val)
{
	size_t n = strlen(val);

	assert_int_equal(r->vlen, n);
	assert_memory_equal(r->value, val, n);
}

/* GET @key through handler 0: 1 = hit with @val (may be NULL), 0 = miss. */
static int get_is(struct fx *f, const char *key, const char *val)
{
	add(&f->m, DPC_OP_GET, NULL, 0, key, NULL, 0, 0, 77);
	run(f);
	assert_int_equal(f->rc, 0);
	assert_int_equal(f->nres, 1);
	if (f->res[0].status == DPC_MC_KEY_ENOENT)
		return 0;
	expect(&f->res[0], DPC_OP_GET, DPC_MC_OK, 77);
	if (val)
		expect_val(&f->res[0], val);
	return 1;
}

/* Where dpc_handler_parse() routes a datagram arriving at handler @h. */
static int route_of(const struct dpc_handler *h, const uint8_t *payload, size_t len)
{
	struct dpc_dgram d;

	dpc_handler_parse(h, payload, len, true, &d);
	return dpc_handler_route(&d);
}

/* ---- tests --------------------------------------------------------------------------- */

static void test_set_get(void **state)
{
	struct fx *f = *state;

	add(&f->m, DPC_OP_GET, NULL, 0, "alpha", NULL, 0, 0, 1);
	add(&f->m, DPC_OP_GETK, NULL, 0, "alpha", NULL, 0, 0, 2);
	add_set(&f->m, DPC_OP_SET, "alpha", "one", 0xdeadbeef, 0, 0, 3);
	add(&f->m, DPC_OP_GET, NULL, 0, "alpha", NULL, 0, 0, 4);
	add(&f->m, DPC_OP_GETK, NULL, 0, "alpha", NULL, 0, 0, 5);
	run(f);
	assert_int_equal(f->rc, 0);
	assert_int_equal(f->nres, 5);
	/* miss: memcached's text; GETK: the key */
	expect(&f->res[0], DPC_OP_GET, DPC_MC_KEY_ENOENT, 1);
	expect_val(&f->res[0], "Not found");
	assert_int_equal(f->res[0].extlen, 0);
	expect(&f->res[1], DPC_OP_GETK, DPC_MC_KEY_ENOENT, 2);
	assert_int_equal(f->res[1].keylen, 5);
	assert_memory_equal(f->res[1].key, "alpha", 5);
	/* SET carries the new CAS; GETs carry flags and the same CAS */
	expect(&f->res[2], DPC_OP_SET, DPC_MC_OK, 3);
	assert_int_equal(f->res[2].bodylen, 0);
	uint64_t cas = f->res[2].cas;
	assert_true(cas != 0);
	expect(&f->res[3], DPC_OP_GET, DPC_MC_OK, 4);
	assert_int_equal(f->res[3].extlen, 4);
	assert_int_equal(rd32(f->res[3].extras), 0xdeadbeef);
	assert_int_equal(f->res[3].keylen, 0);
	expect_val(&f->res[3], "one");
	assert_true(f->res[3].cas == cas);
	expect(&f->res[4], DPC_OP_GETK, DPC_MC_OK, 5);
	assert_int_equal(f->res[4].keylen, 5);
	assert_memory_equal(f->res[4].key, "alpha", 5);
	expect_val(&f->res[4], "one");

	/* overwrite: new CAS */
	add_set(&f->m, DPC_OP_SET, "alpha", "two", 1, 0, 0, 6);
	run(f);
	expect(&f->res[0], DPC_OP_SET, DPC_MC_OK, 6);
	assert_true(f->res[0].cas != cas);
	assert_true(get_is(f, "alpha", "two"));

	struct dpc_worker_stats *s = &f->stats[0];
	assert_int_equal(s->cmd_get, 5);
	assert_int_equal(s->get_hits, 3);
	assert_int_equal(s->get_misses, 2);
	assert_int_equal(s->cmd_set, 2);
	assert_int_equal(s->requests, 7);
}

static void test_quiet(void **state)
{
	struct fx *f = *state;

	add_set(&f->m, DPC_OP_SETQ, "q1", "v1", 0, 0, 0, 1);
	add_set(&f->m, DPC_OP_SETQ, "q2", "v2", 0, 0, 0, 2);
	add(&f->m, DPC_OP_GETQ, NULL, 0, "q1", NULL, 0, 0, 3);
	add(&f->m, DPC_OP_GETQ, NULL, 0, "nope", NULL, 0, 0, 4);
	add(&f->m, DPC_OP_DELETEQ, NULL, 0, "q2", NULL, 0, 0, 5);
	add(&f->m, DPC_OP_DELETEQ, NULL, 0, "q2", NULL, 0, 0, 6);  /* error: answered */
	add_set(&f->m, DPC_OP_ADDQ, "q1", "x", 0, 0, 0, 7);          /* error: answered */
	add_arith(&f->m, DPC_OP_INCREMENTQ, "ctr", 1, 5, 0, 8);
	add(&f->m, DPC_OP_FLUSHQ, NULL, 0, NULL, NULL, 0, 0, 9);
	add(&f->m, DPC_OP_NOOP, NULL, 0, NULL, NULL, 0, 0, 11);
	add(&f->m, DPC_OP_QUITQ, NULL, 0, NULL, NULL, 0, 0, 10);
	run(f);
	assert_int_equal(f->rc, 0);
	assert_int_equal(f->nres, 4);
	expect(&f->res[0], DPC_OP_GETQ, DPC_MC_OK, 3);
	expect_val(&f->res[0], "v1");
	expect(&f->res[1], DPC_OP_DELETEQ, DPC_MC_KEY_ENOENT, 6);
	expect(&f->res[2], DPC_OP_ADDQ, DPC_MC_KEY_EEXISTS, 7);
	expect(&f->res[3], DPC_OP_NOOP, DPC_MC_OK, 11);
	/* the quiet flush really flushed */
	assert_false(get_is(f, "q1", NULL));
	assert_false(get_is(f, "ctr", NULL));
}

static void test_multiget(void **state)
{
	struct fx *f = *state;
	char key[32], val[32];

	/* 70 keys, even ones present: spans three bulk lookups */
	for (unsigned i = 0; i < 70; i += 2) {
		snprintf(key, sizeof(key), "mk%u", i);
		snprintf(val, sizeof(val), "value-%u", i * 3);
		add_set(&f->m, DPC_OP_SETQ, key, val, i, 0, 0, i);
	}
	run(f);
	assert_int_equal(f->nres, 0);
	for (unsigned i = 0; i < 70; i++) {
		snprintf(key, sizeof(key), "mk%u", i);
		add(&f->m, DPC_OP_GETKQ, NULL, 0, key, NULL, 0, 0, 1000 + i);
	}
	add(&f->m, DPC_OP_NOOP, NULL, 0, NULL, NULL, 0, 0, 9999);
	struct dpc_dgram d;
	dpc_handler_parse(&f->h[0], f->m.b, f->m.n, true, &d);
	dpc_handler_prefetch(&f->h[0], &d);
	dpc_handler_prefetch_item(&f->h[0], &d);
	run(f);
	assert_int_equal(f->rc, 0);
	assert_int_equal(f->nres, 36);
	for (unsigned j = 0; j < 35; j++) {
		unsigned i = j * 2;
		snprintf(key, sizeof(key), "mk%u", i);
		snprintf(val, sizeof(val), "value-%u", i * 3);
		expect(&f->res[j], DPC_OP_GETKQ, DPC_MC_OK, 1000 + i);
		assert_int_equal(f->res[j].keylen, strlen(key));
		assert_memory_equal(f->res[j].key, key, strlen(key));
		expect_val(&f->res[j], val);
		assert_int_equal(rd32(f->res[j].extras), i);
	}
	expect(&f->res[35], DPC_OP_NOOP, DPC_MC_OK, 9999);
	assert_int_equal(f->stats[0].get_hits, 35);
	assert_int_equal(f->stats[0].get_misses, 35);

	/* a write in the middle of GETs is seen by the GETs after it */
	add(&f->m, DPC_OP_GET, NULL, 0, "mid", NULL, 0, 0, 1);
	add_set(&f->m, DPC_OP_SET, "mid", "now", 0, 0, 0, 2);
	add(&f->m, DPC_OP_GET, NULL, 0, "mid", NULL, 0, 0, 3);
	run(f);
	assert_int_equal(f->nres, 3);
	expect(&f->res[0], DPC_OP_GET, DPC_MC_KEY_ENOENT, 1);
	expect(&f->res[1], DPC_OP_SET, DPC_MC_OK, 2);
	expect(&f->res[2], DPC_OP_GET, DPC_MC_OK, 3);
	expect_val(&f->res[2], "now");
}

static void test_add_replace_append(void **state)
{
	struct fx *f = *state;

	add_set(&f->m, DPC_OP_REPLACE, "r", "x", 0, 0, 0, 1);
	add_set(&f->m, DPC_OP_ADD, "r", "first", 7, 0, 0, 2);
	add_set(&f->m, DPC_OP_ADD, "r", "second", 0, 0, 0, 3);
	add_set(&f->m, DPC_OP_REPLACE, "r", "third", 9, 0, 0, 4);
	add(&f->m, DPC_OP_APPEND, NULL, 0, "r", "-tail", 5, 0, 5);
	add(&f->m, DPC_OP_PREPEND, NULL, 0, "r", "head-", 5, 0, 6);
	add(&f->m, DPC_OP_APPEND, NULL, 0, "none", "z", 1, 0, 7);
	add(&f->m, DPC_OP_PREPENDQ, NULL, 0, "none", "z", 1, 0, 8);
	add(&f->m, DPC_OP_APPENDQ, NULL, 0, "r", "!", 1, 0, 9);
	add(&f->m, DPC_OP_GET, NULL, 0, "r", NULL, 0, 0, 10);
	run(f);
	assert_int_equal(f->rc, 0);
	assert_int_equal(f->nres, 9);
	expect(&f->res[0], DPC_OP_REPLACE, DPC_MC_KEY_ENOENT, 1);
	expect(&f->res[1], DPC_OP_ADD, DPC_MC_OK, 2);
	expect(&f->res[2], DPC_OP_ADD, DPC_MC_KEY_EEXISTS, 3);
	expect(&f->res[3], DPC_OP_REPLACE, DPC_MC_OK, 4);
	expect(&f->res[4], DPC_OP_APPEND, DPC_MC_OK, 5);
	assert_true(f->res[4].cas != 0);
	expect(&f->res[5], DPC_OP_PREPEND, DPC_MC_OK, 6);
	expect(&f->res[6], DPC_OP_APPEND, DPC_MC_NOT_STORED, 7);
	expect(&f->res[7], DPC_OP_PREPENDQ, DPC_MC_NOT_STORED, 8);
	expect(&f->res[8], DPC_OP_GET, DPC_MC_OK, 10);
	expect_val(&f->res[8], "head-third-tail!");
	assert_int_equal(rd32(f->res[8].extras), 9); /* flags kept by append/prepend */
	assert_int_equal(f->stats[0].cmd_add, 2);
	assert_int_equal(f->stats[0].cmd_replace, 2);
	assert_int_equal(f->stats[0].cmd_append, 3);
	assert_int_equal(f->stats[0].cmd_prepend, 2);
}

static void test_cas(void **state)
{
	struct fx *f = *state;

	add_set(&f->m, DPC_OP_SET, "c", "v1", 0, 0, 0, 1);
	run(f);
	uint64_t cas = f->res[0].cas;

	add_set(&f->m, DPC_OP_SET, "c", "bad", 0, 0, cas + 1, 2);
	add_set(&f->m, DPC_OP_SET, "c", "v2", 0, 0, cas, 3);
	add_set(&f->m, DPC_OP_SET, "c", "again", 0, 0, cas, 4);       /* stale now */
	add_set(&f->m, DPC_OP_SET, "missing", "m", 0, 0, 12345, 5);
	add(&f->m, DPC_OP_DELETE, NULL, 0, "c", NULL, 0, cas, 6);       /* stale */
	run(f);
	assert_int_equal(f->nres, 5);
	expect(&f->res[0], DPC_OP_SET, DPC_MC_KEY_EEXISTS, 2);
	assert_true(f->res[0].cas == 0);
	expect(&f->res[1], DPC_OP_SET, DPC_MC_OK, 3);
	uint64_t cas2 = f->res[1].cas;
	assert_true(cas2 != cas);
	expect(&f->res[2], DPC_OP_SET, DPC_MC_KEY_EEXISTS, 4);
	expect(&f->res[3], DPC_OP_SET, DPC_MC_KEY_ENOENT, 5);
	expect(&f->res[4], DPC_OP_DELETE, DPC_MC_KEY_EEXISTS, 6);
	assert_int_equal(f->stats[0].cas_mismatch, 3);
	assert_true(get_is(f, "c", "v2"));
	assert_false(get_is(f, "missing", NULL));

	add(&f->m, DPC_OP_DELETE, NULL, 0, "c", NULL, 0, cas2, 7);
	add(&f->m, DPC_OP_DELETE, NULL, 0, "c", NULL, 0, 0, 8);
	run(f);
	expect(&f->res[0], DPC_OP_DELETE, DPC_MC_OK, 7);
	expect(&f->res[1], DPC_OP_DELETE, DPC_MC_KEY_ENOENT, 8);
	assert_false(get_is(f, "c", NULL));
	assert_int_equal(f->stats[0].cmd_delete, 3);
}

static void test_arith(void **state)
{
	struct fx *f = *state;

	add_arith(&f->m, DPC_OP_INCREMENT, "n", 5, 100, 0, 1);          /* created: 100 */
	add_arith(&f->m, DPC_OP_INCREMENT, "n", 5, 100, 0, 2);          /* 105 */
	add_arith(&f->m, DPC_OP_DECREMENT, "n", 200, 0, 0, 3);          /* floors at 0 */
	add_arith(&f->m, DPC_OP_INCREMENT, "absent", 1, 0, 0xffffffffu, 4);
	add_set(&f->m, DPC_OP_SET, "txt", "abc", 0, 0, 0, 5);
	add_arith(&f->m, DPC_OP_INCREMENT, "txt", 1, 0, 0, 6);
	add_set(&f->m, DPC_OP_SET, "big", "18446744073709551615", 0, 0, 0, 7);
	add_arith(&f->m, DPC_OP_INCREMENT, "big", 2, 0, 0, 8);          /* wraps to 1 */
	add_arith(&f->m, DPC_OP_DECREMENTQ, "big", 1, 0, 0, 9);         /* silent */
	run(f);
	assert_int_equal(f->rc, 0);
	assert_int_equal(f->nres, 8);
	uint64_t want[] = {100, 105, 0};
	for (unsigned i = 0; i < 3; i++) {
		expect(&f->res[i], i == 2 ? DPC_OP_DECREMENT : DPC_OP_INCREMENT, DPC_MC_OK, i + 1);
		assert_int_equal(f->res[i].extlen, 0);
		assert_int_equal(f->res[i].vlen, 8);
		assert_true(rd64(f->res[i].value) == want[i]);
		assert_true(f->res[i].cas != 0);
	}
	expect(&f->res[3], DPC_OP_INCREMENT, DPC_MC_KEY_ENOENT, 4);
	expect(&f->res[5], DPC_OP_INCREMENT, DPC_MC_DELTA_BADVAL, 6);
	expect(&f->res[7], DPC_OP_INCREMENT, DPC_MC_OK, 8);
	assert_true(rd64(f->res[7].value) == 1);
	assert_int_equal(f->stats[0].incr_misses, 1);
	assert_int_equal(f->stats[0].cmd_incr, 5);
	assert_int_equal(f->stats[0].cmd_decr, 2);
	/* a value that got shorter keeps its length, padded with spaces (memcached's in-place
	 * rewrite), and still counts as a number */
	assert_true(get_is(f, "big", "0                   "));
	assert_true(get_is(f, "n", "0  "));
	add_arith(&f->m, DPC_OP_INCREMENT, "n", 1234, 0, 0, 10);
	run(f);
	expect(&f->res[0], DPC_OP_INCREMENT, DPC_MC_OK, 10);
	assert_true(rd64(f->res[0].value) == 1234);
	assert_true(get_is(f, "n", "1234"));
}

static void test_ttl_touch_gat(void **state)
{
	struct fx *f = *state;

	add_set(&f->m, DPC_OP_SET, "t", "tv", 3, 100, 0, 1);
	add_set(&f->m, DPC_OP_SET, "abs", "av", 0, T0 + 20, 0, 2);
	add_set(&f->m, DPC_OP_SET, "past", "pv", 0, T0 - 20 > 2592000 ? T0 - 20 : 0, 0, 3);
	add_set(&f->m, DPC_OP_SET, "forever", "fv", 0, 0, 0, 4);
	run(f);
	assert_int_equal(f->nres, 4);
	assert_false(get_is(f, "past", NULL));

	dpc_cache_set_time(f->cache, T0 + 50);
	assert_true(get_is(f, "t", "tv"));
	assert_false(get_is(f, "abs", NULL));

	/* TOUCH answers flags only; it extends the life */
	add_exp(&f->m, DPC_OP_TOUCH, "t", 1000, 5);
	add_exp(&f->m, DPC_OP_TOUCH, "nothere", 1000, 6);
	run(f);
	expect(&f->res[0], DPC_OP_TOUCH, DPC_MC_OK, 5);
	assert_int_equal(f->res[0].extlen, 4);
	assert_int_equal(rd32(f->res[0].extras), 3);
	assert_int_equal(f->res[0].vlen, 0);
	expect(&f->res[1], DPC_OP_TOUCH, DPC_MC_KEY_ENOENT, 6);
	dpc_cache_set_time(f->cache, T0 + 500);
	assert_true(get_is(f, "t", "tv"));

	/* GAT returns the value and sets a short life */
	add_exp(&f->m, DPC_OP_GAT, "t", 10, 7);
	add_exp(&f->m, DPC_OP_GATK, "forever", 0, 8);
	add_exp(&f->m, DPC_OP_GATQ, "nothere", 10, 9);
	add_exp(&f->m, DPC_OP_GATKQ, "nothere", 10, 10);
	add_exp(&f->m, DPC_OP_GATKQ, "forever", 0, 11);
	add_exp(&f->m, DPC_OP_GAT, "nothere", 10, 12);
	run(f);
	assert_int_equal(f->nres, 4);
	expect(&f->res[0], DPC_OP_GAT, DPC_MC_OK, 7);
	expect_val(&f->res[0], "tv");
	assert_int_equal(rd32(f->res[0].extras), 3);
	expect(&f->res[1], DPC_OP_GATK, DPC_MC_OK, 8);
	assert_memory_equal(f->res[1].key, "forever", 7);
	expect_val(&f->res[1], "fv");
	expect(&f->res[2], DPC_OP_GATKQ, DPC_MC_OK, 11);
	expect(&f->res[3], DPC_OP_GAT, DPC_MC_KEY_ENOENT, 12);
	dpc_cache_set_time(f->cache, T0 + 511);
	assert_false(get_is(f, "t", NULL));
	assert_true(get_is(f, "forever", "fv"));
	assert_int_equal(f->stats[0].cmd_touch, 2);
	assert_int_equal(f->stats[0].cmd_gat, 6);
}

static void test_flush_noop_version_quit(void **state)
{
	struct fx *f = *state;
	uint8_t delay[4];

	add_set(&f->m, DPC_OP_SET, "f1", "x", 0, 0, 0, 1);
	add(&f->m, DPC_OP_FLUSH, NULL, 0, NULL, NULL, 0, 0, 2);
	add(&f->m, DPC_OP_GET, NULL, 0, "f1", NULL, 0, 0, 3);
	add(&f->m, DPC_OP_NOOP, NULL, 0, NULL, NULL, 0, 0, 4);
	add(&f->m, DPC_OP_VERSION, NULL, 0, NULL, NULL, 0, 0, 5);
	add(&f->m, DPC_OP_QUIT, NULL, 0, NULL, NULL, 0, 0, 6);
	add(&f->m, DPC_OP_QUITQ, NULL, 0, NULL, NULL, 0, 0, 7); /* after QUIT: not read */
	run(f);
	assert_int_equal(f->rc, 0);
	assert_int_equal(f->nres, 6);
	expect(&f->res[1], DPC_OP_FLUSH, DPC_MC_OK, 2);
	expect(&f->res[2], DPC_OP_GET, DPC_MC_KEY_ENOENT, 3);
	expect(&f->res[3], DPC_OP_NOOP, DPC_MC_OK, 4);
	assert_int_equal(f->res[3].bodylen, 0);
	expect(&f->res[4], DPC_OP_VERSION, DPC_MC_OK, 5);
	expect_val(&f->res[4], "9.9.9-test");
	expect(&f->res[5], DPC_OP_QUIT, DPC_MC_OK, 6);
	assert_int_equal(f->res[5].bodylen, 0);

	/* delayed flush: still there before the delay, gone after */
	add_set(&f->m, DPC_OP_SET, "f2", "y", 0, 0, 0, 1);
	be32(delay, 30);
	add(&f->m, DPC_OP_FLUSH, delay, 4, NULL, NULL, 0, 0, 2);
	run(f);
	expect(&f->res[1], DPC_OP_FLUSH, DPC_MC_OK, 2);
	(void)dpc_store_maintain(f->cache, 0, 1000);
	assert_true(get_is(f, "f2", "y"));
	dpc_cache_set_time(f->cache, T0 + 31);
	(void)dpc_store_maintain(f->cache, 0, 1000);
	assert_false(get_is(f, "f2", NULL));
	assert_int_equal(f->stats[0].cmd_flush, 2);
	assert_int_equal(f->stats[0].cmd_quit, 1);
	assert_int_equal(f->stats[0].cmd_noop, 1);
	assert_int_equal(f->stats[0].cmd_version, 1);
}

/* Find response named @name among f->res[0..n) (STAT); NULL if absent. */
static const struct dpc_mc_res *find_stat(struct fx *f, const char *name)
{
	size_t n = strlen(name);

	for (unsigned i = 0; i < f->nres; i++)
		if (f->res[i].keylen == n && memcmp(f->res[i].key, name, n) == 0)
			return &f->res[i];
	return NULL;
}

static uint64_t stat_val(struct fx *f, const char *name)
{
	const struct dpc_mc_res *r = find_stat(f, name);
	char buf[32];

	if (r == NULL)
		fail_msg("stat %s missing", name);
	assert_true(r->vlen > 0 && r->vlen < sizeof(buf));
	memcpy(buf, r->value, r->vlen);
	buf[r->vlen] = 0;
	return strtoull(buf, NULL, 10);
}

static void test_stat(void **state)
{
	struct fx *f = *state;

	add_set(&f->m, DPC_OP_SET, "s1", "12345", 0, 0, 0, 1);
	add_set(&f->m, DPC_OP_ADD, "s2", "x", 0, 0, 0, 2);
	add(&f->m, DPC_OP_GET, NULL, 0, "s1", NULL, 0, 0, 3);
	add(&f->m, DPC_OP_GET, NULL, 0, "zz", NULL, 0, 0, 4);
	run(f);
	f->stats[0].rx_packets = 4242; /* as the glue would count */

	add(&f->m, DPC_OP_STAT, NULL, 0, NULL, NULL, 0, 0, 55);
	run(f);
	assert_int_equal(f->rc, 0);
	assert_true(f->nres > 30);
	for (unsigned i = 0; i < f->nres; i++)
		expect(&f->res[i], DPC_OP_STAT, DPC_MC_OK, 55);
	/* the terminator: empty */
	const struct dpc_mc_res *last = &f->res[f->nres - 1];
	assert_int_equal(last->keylen, 0);
	assert_int_equal(last->bodylen, 0);
	for (unsigned i = 0; i + 1 < f->nres; i++) {
		assert_true(f->res[i].keylen > 0);
		for (unsigned j = 0; j < i; j++)
			if (f->res[j].keylen == f->res[i].keylen &&
			    memcmp(f->res[j].key, f->res[i].key, f->res[i].keylen) == 0)
				fail_msg("duplicate stat %.*s", f->res[i].keylen,
					 (const char *)f->res[i].key);
	}
	assert_int_equal(stat_val(f, "cmd_get"), 2);
	assert_int_equal(stat_val(f, "get_hits"), 1);
	assert_int_equal(stat_val(f, "get_misses"), 1);
	assert_int_equal(stat_val(f, "cmd_set"), 2);   /* memcached: all storage commands */
	assert_int_equal(stat_val(f, "cmd_add"), 1);
	assert_int_equal(stat_val(f, "curr_items"), 2);
	assert_true(stat_val(f, "bytes") >= 5 + 2);
	assert_true(stat_val(f, "limit_maxbytes") > 0);
	assert_int_equal(stat_val(f, "time"), T0);
	assert_int_equal(stat_val(f, "rx_packets"), 4242);
	assert_int_equal(stat_val(f, "requests"), 5); /* the STAT itself included */
	assert_int_equal(stat_val(f, "threads"), 1);
	assert_non_null(find_stat(f, "drop_bad_magic"));
	const struct dpc_mc_res *v = find_stat(f, "version");
	assert_non_null(v);
	expect_val(v, "9.9.9-test");

	add(&f->m, DPC_OP_STAT, NULL, 0, "settings", NULL, 0, 0, 56);
	add(&f->m, DPC_OP_STAT, NULL, 0, "bogus", NULL, 0, 0, 57);
	run(f);
	assert_int_equal(stat_val(f, "item_size_max"), MAXV);
	unsigned n = f->nres;
	expect(&f->res[n - 2], DPC_OP_STAT, DPC_MC_OK, 56);
	assert_int_equal(f->res[n - 2].bodylen, 0);
	expect(&f->res[n - 1], DPC_OP_STAT, DPC_MC_KEY_ENOENT, 57);
	assert_int_equal(f->stats[0].cmd_stat, 3);
}

/*
 * In-server latency on the wire: STAT merges every worker's histogram
 * (lat.h) into latency_samples, latency_<pct>_ns and latency_max_ns; a
 * handler without histograms answers no latency lines.
 */
static void test_stat_latency(void **state)
{
	struct fx *f = *state;
	struct dpc_hist *lat[1] = { dpc_lat_create() }, *want = dpc_lat_create();
	char name[40];

	assert_non_null(lat[0]);
	add(&f->m, DPC_OP_STAT, NULL, 0, NULL, NULL, 0, 0, 90);
	run(f);
	assert_null(find_stat(f, "latency_samples"));
	/* 990 requests answered in 1.5 us, 10 in 80 us (one record per burst of 10) */
	for (unsigned i = 0; i < 100; i++) {
		uint64_t ns = i < 99 ? 1500 : 80000;

		dpc_lat_record(lat[0], ns, 10);
		dpc_hist_record_n(want, ns, 10);
	}
	f->h[0].all_lat = lat;
	add(&f->m, DPC_OP_STAT, NULL, 0, NULL, NULL, 0, 0, 91);
	run(f);
	assert_int_equal(stat_val(f, "latency_samples"), 1000);
	for (unsigned i = 0; i < DPC_LAT_NPCTS; i++) {
		snprintf(name, sizeof(name), "latency_%s_ns", dpc_lat_names[i]);
		assert_int_equal(stat_val(f, name), dpc_hist_percentile(want, dpc_lat_pcts[i]));
	}
	assert_true(stat_val(f, "latency_p50_ns") >= 1500 && stat_val(f, "latency_p50_ns") < 1600);
	assert_true(stat_val(f, "latency_p99_9_ns") >= 80000);
	assert_int_equal(stat_val(f, "latency_max_ns"), 80000);
	f->h[0].all_lat = NULL;
	dpc_hist_free(lat[0]);
	dpc_hist_free(want);
}

/* STAT groups as memcached 1.6 answers them over binary (issue: "detail on" got KEY_ENOENT). */
static void test_stat_groups(void **state)
{
	struct fx *f = *state;
	static const char *const empty[] = {"detail on", "detail off", "reset", "items"};

	for (unsigned i = 0; i < DPC_ARRAY_SIZE(empty); i++) {
		/* just the empty terminator */
		add(&f->m, DPC_OP_STAT, NULL, 0, empty[i], NULL, 0, 0, 60 + i);
		run(f);
		assert_int_equal(f->nres, 1);
		expect(&f->res[0], DPC_OP_STAT, DPC_MC_OK, 60 + i);
		assert_int_equal(f->res[0].bodylen, 0);
	}
	add(&f->m, DPC_OP_STAT, NULL, 0, "detail dump", NULL, 0, 0, 70);
	run(f);
	assert_int_equal(f->nres, 2);
	assert_int_equal(f->res[0].keylen, 8);
	assert_memory_equal(f->res[0].key, "detailed", 8);
	expect_val(&f->res[0], "END\r\n");
	assert_int_equal(f->res[1].bodylen, 0);
	add(&f->m, DPC_OP_STAT, NULL, 0, "slabs", NULL, 0, 0, 71);
	run(f);
	assert_int_equal(f->nres, 3);
	assert_non_null(find_stat(f, "active_slabs"));
	assert_non_null(find_stat(f, "total_malloced"));
	add(&f->m, DPC_OP_STAT, NULL, 0, "sizes", NULL, 0, 0, 72);
	run(f);
	assert_int_equal(f->nres, 2);
	expect_val(find_stat(f, "sizes_status"), "disabled");
	static const char *const unknown[] = {"detail", "detail foo", "conns", "nonsense"};
	for (unsigned i = 0; i < DPC_ARRAY_SIZE(unknown); i++) {
		add(&f->m, DPC_OP_STAT, NULL, 0, unknown[i], NULL, 0, 0, 80 + i);
		run(f);
		assert_int_equal(f->nres, 1);
		expect(&f->res[0], DPC_OP_STAT, DPC_MC_KEY_ENOENT, 80 + i);
		expect_val(&f->res[0], "Not found");
	}
	/* memcached's per-command outcome names, counted */
	add_set(&f->m, DPC_OP_SET, "o", "1", 0, 0, 0, 1);
	add(&f->m, DPC_OP_DELETE, NULL, 0, "o", NULL, 0, 0, 2);
	add(&f->m, DPC_OP_DELETE, NULL, 0, "o", NULL, 0, 0, 3);
	add_exp(&f->m, DPC_OP_TOUCH, "o", 0, 4);
	add(&f->m, DPC_OP_STAT, NULL, 0, NULL, NULL, 0, 0, 5);
	run(f);
	assert_int_equal(stat_val(f, "delete_hits"), 1);
	assert_int_equal(stat_val(f, "delete_misses"), 1);
	assert_int_equal(stat_val(f, "touch_misses"), 1);
	assert_int_equal(stat_val(f, "total_items"), 1);
	assert_non_null(find_stat(f, "uptime"));
	assert_non_null(find_stat(f, "rusage_user"));
	assert_non_null(find_stat(f, "cas_badval"));
}

static void test_large_values(void **state)
{
	struct fx *f = *state;
	static char big[60001];

	for (unsigned i = 0; i < 60000; i++)
		big[i] = (char)('a' + (i * 7) % 26);
	big[60000] = 0;
	add_set(&f->m, DPC_OP_SET, "big", big, 5, 0, 0, 1);
	run(f);
	expect(&f->res[0], DPC_OP_SET, DPC_MC_OK, 1);

	/* value of 60000 bytes: 44 areas of DPC_UDP_MAX_DATA, stream intact */
	add(&f->m, DPC_OP_GETK, NULL, 0, "big", NULL, 0, 0, 2);
	add(&f->m, DPC_OP_GET, NULL, 0, "big", NULL, 0, 0, 3);
	run(f);
	assert_int_equal(f->nres, 2);
	expect(&f->res[0], DPC_OP_GETK, DPC_MC_OK, 2);
	expect_val(&f->res[0], big);
	expect(&f->res[1], DPC_OP_GET, DPC_MC_OK, 3);
	expect_val(&f->res[1], big);
	assert_true(f->fw.areas > 80);

	/* the writer running out drops the response: -ENOMEM */
	add(&f->m, DPC_OP_GET, NULL, 0, "big", NULL, 0, 0, 4);
	flat_reset(&f->fw, 3);
	assert_int_equal(dpc_handler_process(&f->h[0], f->m.b, f->m.n, &f->fw.w), -ENOMEM);
	f->m.n = 0;
	urcu_qsbr_quiescent_state();

	/* exactly max_value is fine; one more is E2BIG and drops the old value */
	static char maxv[MAXV + 2];
	memset(maxv, 'm', MAXV);
	maxv[MAXV] = 0;
	add_set(&f->m, DPC_OP_SET, "edge", maxv, 0, 0, 0, 5);
	run(f);
	expect(&f->res[0], DPC_OP_SET, DPC_MC_OK, 5);
	maxv[MAXV] = 'm';
	maxv[MAXV + 1] = 0;
	add_set(&f->m, DPC_OP_SET, "edge", maxv, 0, 0, 0, 6);
	run(f);
	expect(&f->res[0], DPC_OP_SET, DPC_MC_E2BIG, 6);
	expect_val(&f->res[0], "Too large.");
	add_set(&f->m, DPC_OP_ADD, "new", maxv, 0, 0, 0, 7);
	run(f);
	expect(&f->res[0], DPC_OP_ADD, DPC_MC_E2BIG, 7);
	assert_false(get_is(f, "edge", NULL));
	assert_false(get_is(f, "new", NULL));
	assert_int_equal(f->stats[0].errors_too_large, 2);
}

/*
 * A burst of large writes within one poll iteration (no quiescent state)
 * outruns the memory the grace periods have returned: the store answers
 * DPC_NOSPACE (store.h), and the client gets Temporary failure, a status
 * it may retry, not Out of memory.  After a quiescent state the same
 * write succeeds.
 */
static void test_burst_retryable(void **state)
{
	struct fx *f = *state;
	static char big[60001];
	uint16_t status = DPC_MC_OK;
	unsigned n = 0;

	memset(big, 'b', 60000);
	big[60000] = 0;
	for (; n < 1000 && status == DPC_MC_OK; n++) {
		char key[16];

		snprintf(key, sizeof(key), "burst%u", n);
		add_set(&f->m, DPC_OP_SET, key, big, 0, 0, 0, n);
		flat_reset(&f->fw, AREAS);
		assert_int_equal(dpc_handler_process(&f->h[0], f->m.b, f->m.n, &f->fw.w), 0);
		f->m.n = 0;
		assert_true(dpc_mc_parse_res(f->fw.buf, f->fw.w.total, &f->res[0]) > 0);
		status = f->res[0].status;
	}
	assert_int_equal(status, DPC_MC_ETMPFAIL);
	/* the next poll iteration: memory comes back after a grace period */
	for (unsigned i = 0; i < 20000 && status != DPC_MC_OK; i++) {
		urcu_qsbr_quiescent_state();
		usleep(50);
		add_set(&f->m, DPC_OP_SET, "burst-retry", big, 0, 0, 0, 1);
		run(f);
		status = f->res[0].status;
	}
	assert_int_equal(status, DPC_MC_OK);
}

static void test_malformed(void **state)
{
	struct fx *f = *state;
	char key[300];
	uint8_t ext[20] = {0};

	/* zero-length and short payloads */
	run(f);
	assert_int_equal(f->rc, -EBADMSG);
	assert_int_equal(f->stats[0].drop_truncated, 1);
	memcpy(f->m.b, "\x80\x00\x00", 3);
	f->m.n = 3;
	run(f);
	assert_int_equal(f->rc, -EBADMSG);
	assert_int_equal(f->stats[0].drop_truncated, 2);

	/* bad magic first: nothing answered */
	add(&f->m, DPC_OP_GET, NULL, 0, "x", NULL, 0, 0, 1);
	f->m.b[0] = 0x81;
	run(f);
	assert_int_equal(f->rc, -EBADMSG);
	assert_int_equal(f->nres, 0);
	assert_int_equal(f->stats[0].drop_bad_magic, 1);

	/* a good request, then garbage: the first answer is kept */
	add(&f->m, DPC_OP_GET, NULL, 0, "x", NULL, 0, 0, 2);
	memcpy(f->m.b + f->m.n, "get x\r\n and some more garbage here", 34);
	f->m.n += 34;
	run(f);
	assert_int_equal(f->rc, 0);
	assert_int_equal(f->nres, 1);
	expect(&f->res[0], DPC_OP_GET, DPC_MC_KEY_ENOENT, 2);
	assert_int_equal(f->stats[0].drop_bad_magic, 2);

	/* a quiet SET applies; the truncated SET behind it does not, nothing answered */
	add_set(&f->m, DPC_OP_SETQ, "ok", "fine", 0, 0, 0, 3);
	add_set(&f->m, DPC_OP_SET, "cut", "0123456789", 0, 0, 0, 4);
	f->m.n -= 3;
	run(f);
	assert_int_equal(f->rc, -EBADMSG);
	assert_int_equal(f->nres, 0);
	assert_int_equal(f->stats[0].drop_truncated, 3);
	assert_true(get_is(f, "ok", "fine"));
	assert_false(get_is(f, "cut", NULL));

	/* header claims a body far past the datagram */
	add(&f->m, DPC_OP_GET, NULL, 0, "ok", NULL, 0, 0, 5);
	add_set(&f->m, DPC_OP_SET, "liar", "v", 0, 0, 0, 6);
	be32(f->m.b + 26 + 8, 1u << 30);
	run(f);
	assert_int_equal(f->rc, 0);
	assert_int_equal(f->nres, 1);
	expect(&f->res[0], DPC_OP_GET, DPC_MC_OK, 5);
	assert_int_equal(f->stats[0].drop_truncated, 4);
	assert_false(get_is(f, "liar", NULL));

	/* protocol errors: answered, then the rest of the datagram is not read (memcached
	 * closes the connection after them); the NOOP behind each stays unanswered */
	memset(key, 'k', sizeof(key));
	key[251] = 0;
	add(&f->m, DPC_OP_GET, NULL, 0, key, NULL, 0, 0, 10);           /* key > 250 */
	add(&f->m, DPC_OP_NOOP, NULL, 0, NULL, NULL, 0, 0, 99);
	run(f);
	assert_int_equal(f->nres, 1);
	expect(&f->res[0], DPC_OP_GET, DPC_MC_EINVAL, 10);
	expect_val(&f->res[0], "Invalid arguments");
	key[250] = 0;
	add_set(&f->m, DPC_OP_SET, key, "250 is fine", 0, 0, 0, 11);
	run(f);
	expect(&f->res[0], DPC_OP_SET, DPC_MC_OK, 11);
	static const struct { uint8_t op; uint8_t extlen; const char *key; const char *val; } bad[] = {
		{DPC_OP_GET, 4, "ok", NULL},         /* extras on GET */
		{DPC_OP_SET, 4, "w1", "v"},          /* SET with 4 extras */
		{DPC_OP_INCREMENT, 16, "w2", NULL},  /* INCR with 16 */
		{DPC_OP_GET, 0, NULL, NULL},         /* no key */
		{DPC_OP_NOOP, 0, "k", NULL},         /* key on NOOP */
		{DPC_OP_TOUCH, 0, "ok", NULL},       /* no extras */
	};
	for (unsigned i = 0; i < DPC_ARRAY_SIZE(bad); i++) {
		add(&f->m, bad[i].op, bad[i].extlen ? ext : NULL, bad[i].extlen, bad[i].key, bad[i].val,
		    bad[i].val ? 1 : 0, 0, 12 + i);
		add(&f->m, DPC_OP_NOOP, NULL, 0, NULL, NULL, 0, 0, 99);
		run(f);
		assert_int_equal(f->rc, 0);
		assert_int_equal(f->nres, 1);
		expect(&f->res[0], bad[i].op, DPC_MC_EINVAL, 12 + i);
	}
	/* an unknown opcode is not a protocol error: the next request is answered */
	add(&f->m, 0x42, NULL, 0, "ok", NULL, 0, 0, 18);
	add(&f->m, DPC_OP_GETK, NULL, 0, "ok", NULL, 0, 0, 20);
	run(f);
	assert_int_equal(f->nres, 2);
	expect(&f->res[0], 0x42, DPC_MC_UNKNOWN_COMMAND, 18);
	expect_val(&f->res[0], "Unknown command");
	expect(&f->res[1], DPC_OP_GETK, DPC_MC_OK, 20);
	expect_val(&f->res[1], "fine");
	/* lying lengths: Unknown command, and nothing after it is read */
	add(&f->m, DPC_OP_SETQ, ext, 8, "w3", "v", 1, 0, 19);
	f->m.b[f->m.n - 35 + 3] = 30; /* keylen 30 > bodylen 11: lying lengths */
	add(&f->m, DPC_OP_GETK, NULL, 0, "ok", NULL, 0, 0, 21);
	run(f);
	assert_int_equal(f->nres, 1);
	expect(&f->res[0], DPC_OP_SETQ, DPC_MC_UNKNOWN_COMMAND, 19);
	assert_int_equal(f->stats[0].errors_inval, 7);
	assert_int_equal(f->stats[0].cmd_unknown, 2);
	/* nothing half-stored */
	assert_false(get_is(f, "w1", NULL));
	assert_false(get_is(f, "w2", NULL));
	assert_false(get_is(f, "w3", NULL));
	assert_true(get_is(f, key, "250 is fine"));
}

/* A key owned by partition @part of @nparts. */
static void key_for(char *buf, size_t n, unsigned part, unsigned nparts, unsigned skip)
{
	for (unsigned i = 0;; i++) {
		snprintf(buf, n, "part%u-key%u", part, i);
		if (dpc_hash_part(dpc_hash(buf, strlen(buf)), nparts) == part && skip-- == 0)
			return;
	}
}

static int setup3(void **state)
{
	urcu_qsbr_register_thread();
	*state = fx_new(3);
	return 0;
}

static void test_partitions(void **state)
{
	struct fx *f = *state;
	char k0[32], k1[32], k2[32];

	key_for(k0, sizeof(k0), 0, 3, 0);
	key_for(k1, sizeof(k1), 1, 3, 0);
	key_for(k2, sizeof(k2), 2, 3, 0);

	/* GETs go anywhere; writes go to their owner */
	add(&f->m, DPC_OP_GET, NULL, 0, k1, NULL, 0, 0, 1);
	add(&f->m, DPC_OP_GET, NULL, 0, k2, NULL, 0, 0, 2);
	assert_int_equal(route_of(&f->h[0], f->m.b, f->m.n), DPC_ROUTE_HERE);
	f->m.n = 0;
	add_set(&f->m, DPC_OP_SET, k0, "zero", 0, 0, 0, 1);
	assert_int_equal(route_of(&f->h[0], f->m.b, f->m.n), DPC_ROUTE_HERE);
	add_set(&f->m, DPC_OP_SETQ, k2, "two", 0, 0, 0, 2);
	add_set(&f->m, DPC_OP_SET, k1, "one", 0, 0, 0, 3);
	assert_int_equal(route_of(&f->h[0], f->m.b, f->m.n), 2);
	assert_int_equal(route_of(&f->h[2], f->m.b, f->m.n), 0);

	/* processed on 2 (its first foreign write's owner): k0 and k1 are foreign */
	run_on(f, 2);
	assert_int_equal(f->rc, 0);
	assert_int_equal(f->nres, 2);
	expect(&f->res[0], DPC_OP_SET, DPC_MC_ETMPFAIL, 1);
	expect(&f->res[1], DPC_OP_SET, DPC_MC_ETMPFAIL, 3);
	/* k2 was stored by its owner; nothing else was */
	assert_true(get_is(f, k2, "two"));
	assert_false(get_is(f, k0, NULL));
	assert_false(get_is(f, k1, NULL));

	/* each owner applies its own; any worker reads */
	add_set(&f->m, DPC_OP_SET, k1, "one", 0, 0, 0, 4);
	add(&f->m, DPC_OP_DELETE, NULL, 0, k1, NULL, 0, 0, 5);
	add_set(&f->m, DPC_OP_SET, k1, "uno", 0, 0, 0, 6);
	assert_int_equal(route_of(&f->h[1], f->m.b, f->m.n), DPC_ROUTE_HERE);
	run_on(f, 1);
	assert_int_equal(f->nres, 3);
	expect(&f->res[2], DPC_OP_SET, DPC_MC_OK, 6);
	assert_true(get_is(f, k1, "uno"));
	add(&f->m, DPC_OP_GETK, NULL, 0, k1, NULL, 0, 0, 7);
	run_on(f, 2);
	expect(&f->res[0], DPC_OP_GETK, DPC_MC_OK, 7);
	expect_val(&f->res[0], "uno");

	/* INCR, TOUCH and GAT are writes too */
	add_arith(&f->m, DPC_OP_INCREMENT, k1, 1, 0, 0, 8);
	assert_int_equal(route_of(&f->h[0], f->m.b, f->m.n), 1);
	add_exp(&f->m, DPC_OP_GAT, k1, 0, 9);
	add_exp(&f->m, DPC_OP_TOUCH, k1, 0, 10);
	run_on(f, 0);
	assert_int_equal(f->nres, 3);
	for (unsigned i = 0; i < 3; i++)
		assert_int_equal(f->res[i].status, DPC_MC_ETMPFAIL);
	/* malformed and empty datagrams route here (and are dropped there) */
	assert_int_equal(route_of(&f->h[0], (const uint8_t *)"junk", 4), DPC_ROUTE_HERE);
	assert_int_equal(route_of(&f->h[0], NULL, 0), DPC_ROUTE_HERE);

	/* STAT sums every worker */
	add(&f->m, DPC_OP_STAT, NULL, 0, NULL, NULL, 0, 0, 11);
	run_on(f, 0);
	assert_int_equal(stat_val(f, "threads"), 3);
	assert_int_equal(stat_val(f, "cmd_get"),
			 f->stats[0].cmd_get + f->stats[1].cmd_get + f->stats[2].cmd_get);
	assert_int_equal(stat_val(f, "curr_items"), 2);
}

/* ---- text protocol ------------------------------------------------------------------ */

static void text_run(struct fx *f, unsigned hi, const char *in, const char *want)
{
	size_t n = strlen(in);

	memcpy(f->m.b, in, n);
	flat_reset(&f->fw, AREAS);
	f->rc = dpc_handler_process(&f->h[hi], f->m.b, n, &f->fw.w);
	urcu_qsbr_quiescent_state();
	if (want == NULL)
		return;
	assert_int_equal(f->rc, 0);
	if (f->fw.w.total != strlen(want) || memcmp(f->fw.buf, want, f->fw.w.total) != 0)
		fail_msg("text answer\n%.*s\nwanted\n%s", (int)f->fw.w.total, (const char *)f->fw.buf, want);
}

static void test_text(void **state)
{
	struct fx *f = *state;

	text_run(f, 0, "get foo\r\n", "END\r\n");
	text_run(f, 0, "set foo 5 0 3\r\nbar\r\nget foo\r\n", "STORED\r\nVALUE foo 5 3\r\nbar\r\nEND\r\n");
	text_run(f, 0, "add foo 0 0 1\r\nx\r\nadd new 1 0 2\r\nnn\r\nreplace nope 0 0 1\r\nx\r\n"
		 "append foo 0 0 2\r\n!!\r\nprepend foo 0 0 1\r\n<\r\nget foo new nope\r\n",
		 "NOT_STORED\r\nSTORED\r\nNOT_STORED\r\nSTORED\r\nSTORED\r\n"
		 "VALUE foo 5 6\r\n<bar!!\r\nVALUE new 1 2\r\nnn\r\nEND\r\n");
	/* gets / cas */
	add(&f->m, DPC_OP_GET, NULL, 0, "foo", NULL, 0, 0, 1);
	run(f);
	char line[256], want[256];
	unsigned long long cas = (unsigned long long)f->res[0].cas;
	snprintf(want, sizeof(want), "VALUE foo 5 6 %llu\r\n<bar!!\r\nEND\r\n", cas);
	text_run(f, 0, "gets foo\n", want);
	snprintf(line, sizeof(line), "cas foo 9 0 2 %llu\r\nzz\r\ncas foo 9 0 2 %llu\r\nyy\r\n"
		 "cas none 0 0 1 1\r\nq\r\nget foo\r\n", cas, cas);
	text_run(f, 0, line, "STORED\r\nEXISTS\r\nNOT_FOUND\r\nVALUE foo 9 2\r\nzz\r\nEND\r\n");
	/* delete, incr/decr, touch, noreply */
	text_run(f, 0, "set n 0 0 2\r\n10\r\nincr n 5\r\ndecr n 100\r\nincr none 1\r\nincr foo 1\r\n"
		 "delete n\r\ndelete n\r\ntouch new 100\r\ntouch none 1\r\n",
		 "STORED\r\n15\r\n0\r\nNOT_FOUND\r\n"
		 "CLIENT_ERROR cannot increment or decrement non-numeric value\r\n"
		 "DELETED\r\nNOT_FOUND\r\nTOUCHED\r\nNOT_FOUND\r\n");
	text_run(f, 0, "set q 0 0 1 noreply\r\nq\r\ndelete nothere noreply\r\nget q\r\n",
		 "VALUE q 0 1\r\nq\r\nEND\r\n");
	/* gat: value and a new life */
	text_run(f, 0, "gat 10 new\r\n", "VALUE new 1 2\r\nnn\r\nEND\r\n");
	dpc_cache_set_time(f->cache, T0 + 11);
	text_run(f, 0, "get new q\r\n", "VALUE q 0 1\r\nq\r\nEND\r\n");
	/* errors, each answered, the rest of the datagram still served */
	text_run(f, 0, "bogus\r\nset k 0 0\r\nset k x 0 1\r\nz\r\nincr q abc\r\ntouch q x\r\n"
		 "delete q 5\r\nget q\r\n",
		 "ERROR\r\nERROR\r\nCLIENT_ERROR bad command line format\r\nERROR\r\n"
		 "CLIENT_ERROR invalid numeric delta argument\r\n"
		 "CLIENT_ERROR invalid exptime argument\r\n"
		 "CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]\r\n"
		 "VALUE q 0 1\r\nq\r\nEND\r\n");
	/* a value too large is swallowed; a bad data chunk swallows its vlen + 2 bytes (the
	 * rest is read as commands, as memcached reads it) */
	static char big[MAXV + 64];
	snprintf(big, sizeof(big), "set b 0 0 %u\r\n", MAXV + 1);
	size_t hl = strlen(big);
	memset(big + hl, 'v', MAXV + 1);
	memcpy(big + hl + MAXV + 1, "\r\nget q\r\n", 10);
	text_run(f, 0, big, "SERVER_ERROR object too large for cache\r\nVALUE q 0 1\r\nq\r\nEND\r\n");
	text_run(f, 0, "set c 0 0 3\r\nabcd\r\nget q\r\n",
		 "CLIENT_ERROR bad data chunk\r\nERROR\r\nVALUE q 0 1\r\nq\r\nEND\r\n");
	/* a data block the datagram does not hold: the rest is lost */
	text_run(f, 0, "set c 0 0 30\r\nabcd\r\nget q\r\n", "CLIENT_ERROR bad data chunk\r\n");
	text_run(f, 0, "get c\r\n", "END\r\n");
	/* a truncated line: dropped, counted */
	uint64_t tr = f->stats[0].drop_truncated;
	text_run(f, 0, "get q", NULL);
	assert_int_equal(f->rc, -EBADMSG);
	assert_int_equal(f->stats[0].drop_truncated, tr + 1);
	/* version, verbosity, stats, flush_all, quit */
	text_run(f, 0, "version\r\nverbosity 1\r\n", "VERSION 9.9.9-test\r\nOK\r\n");
	/* memcached 1.6 answers a version line whatever follows (memccapable -a checks it) */
	text_run(f, 0, "version foo bar\r\nversion noreply\r\n",
		 "VERSION 9.9.9-test\r\nVERSION 9.9.9-test\r\n");
	text_run(f, 0, "stats\r\n", NULL);
	assert_int_equal(f->rc, 0);
	assert_true(f->fw.w.total > 100);
	assert_memory_equal(f->fw.buf, "STAT pid ", 9);
	assert_memory_equal(f->fw.buf + f->fw.w.total - 5, "END\r\n", 5);
	assert_non_null(memmem(f->fw.buf, f->fw.w.total, "\r\nSTAT cmd_get ", 15));
	text_run(f, 0, "stats nonsense\r\n", "ERROR\r\n");
	text_run(f, 0, "flush_all\r\nget q\r\nquit\r\nget q\r\n", "OK\r\nEND\r\n");
	assert_true(f->stats[0].cmd_unknown >= 3);
}

/*
 * A text SET the store refuses with DPC_NOSPACE (a burst of large writes
 * in one poll iteration, as in test_burst_retryable) is answered with
 * memcached's own out-of-memory line, "SERVER_ERROR out of memory storing
 * object", so that clients that look for it recognise it, and it is sent
 * even with noreply, as memcached's out_of_memory() does; counted as
 * errors_nospace.
 */
static void test_text_burst_nospace(void **state)
{
	struct fx *f = *state;
	static const char want[] = "SERVER_ERROR out of memory storing object\r\n";
	unsigned seen = 0;   /* 1: without noreply, 2: with it too */

	for (unsigned n = 0; n < 1000 && seen < 2; n++) {
		int hl = snprintf((char *)f->m.b, 64, "set tburst%u 0 0 60000%s\r\n", n,
				  seen ? " noreply" : "");

		memset(f->m.b + hl, 't', 60000);
		memcpy(f->m.b + hl + 60000, "\r\n", 2);
		flat_reset(&f->fw, AREAS);
		assert_int_equal(dpc_handler_process(&f->h[0], f->m.b, (size_t)hl + 60002, &f->fw.w),
				 0);
		if ((seen == 0 && f->fw.w.total == 8 && memcmp(f->fw.buf, "STORED\r\n", 8) == 0) ||
		    (seen == 1 && f->fw.w.total == 0))
			continue;   /* stored (no quiescent state yet: memory runs out soon) */
		if (f->fw.w.total != strlen(want) || memcmp(f->fw.buf, want, f->fw.w.total) != 0)
			fail_msg("text answer\n%.*s\nwanted\n%s", (int)f->fw.w.total,
				 (const char *)f->fw.buf, want);
		seen++;
	}
	assert_int_equal(seen, 2);
	assert_true(f->stats[0].errors_nospace >= 2);
}

/* Text forms memcached 1.6 answers differently from a strict reading (found by the differential). */
static void test_text_parity(void **state)
{
	struct fx *f = *state;
	static char line[MAXV + 128];

	/* memcached ignores tokens after "version" (memccapable -a checks this after most commands) */
	text_run(f, 0, "version foo bar\r\n", "VERSION 9.9.9-test\r\n");
	/* stats groups and their odd forms */
	text_run(f, 0, "stats detail on\r\nstats detail off\r\nstats detail dump\r\n", "OK\r\nOK\r\nEND\r\n");
	text_run(f, 0, "stats detail\r\n", "CLIENT_ERROR usage: stats detail on|off|dump\r\n");
	text_run(f, 0, "stats detail foo\r\n", "CLIENT_ERROR usage: stats detail on|off|dump\r\n");
	text_run(f, 0, "stats reset\r\nstats items\r\nstats reset extra\r\n", "RESET\r\nEND\r\nRESET\r\n");
	text_run(f, 0, "stats sizes\r\n", "STAT sizes_status disabled\r\nEND\r\n");
	text_run(f, 0, "stats nonsense\r\nstats a b c\r\n", "ERROR\r\nERROR\r\n");
	text_run(f, 0, "stats settings extra\r\n", NULL);
	assert_memory_equal(f->fw.buf, "STAT maxbytes ", 14);

	/* memcached reads any datagram that is not binary as text */
	text_run(f, 0, "GET a\r\n", "ERROR\r\n");
	text_run(f, 0, " get a\r\n", "END\r\n");
	text_run(f, 0, "\r\n", "ERROR\r\n");
	/* binary QUIT ends the datagram, as memcached closes the connection */
	add(&f->m, DPC_OP_QUIT, NULL, 0, NULL, NULL, 0, 0, 1);
	add(&f->m, DPC_OP_NOOP, NULL, 0, NULL, NULL, 0, 0, 2);
	run(f);
	assert_int_equal(f->nres, 1);
	expect(&f->res[0], DPC_OP_QUIT, DPC_MC_OK, 1);
	add(&f->m, DPC_OP_QUITQ, NULL, 0, NULL, NULL, 0, 0, 3);
	add(&f->m, DPC_OP_NOOP, NULL, 0, NULL, NULL, 0, 0, 4);
	run(f);
	assert_int_equal(f->nres, 0);

	/* a SET refused as too large removes the old value (memcached does; binary did already) */
	text_run(f, 0, "set big 0 0 3\r\nold\r\n", "STORED\r\n");
	int n = snprintf(line, sizeof(line), "set big 0 0 %u\r\n", MAXV + 1);
	memset(line + n, 'x', MAXV + 1);
	memcpy(line + n + MAXV + 1, "\r\nget big\r\n", 12);
	text_run(f, 0, line, "SERVER_ERROR object too large for cache\r\nEND\r\n");
	/* an APPEND whose result would be over the limit: NOT_STORED in both protocols */
	static char half[MAXV / 2 + 1];
	memset(half, 'h', MAXV / 2 + 1);
	add_set(&f->m, DPC_OP_SET, "app", "x", 0, 0, 0, 1);
	run(f);
	for (unsigned i = 0; i < 2; i++) {
		add(&f->m, DPC_OP_APPEND, NULL, 0, "app", half, sizeof(half), 0, 2 + i);
		run(f);
		expect(&f->res[0], DPC_OP_APPEND, i == 0 ? DPC_MC_OK : DPC_MC_NOT_STORED, 2 + i);
	}
	n = snprintf(line, sizeof(line), "prepend app 0 0 %u\r\n", MAXV / 2 + 1);
	memset(line + n, 'p', MAXV / 2 + 1);
	memcpy(line + n + MAXV / 2 + 1, "\r\n", 3);
	text_run(f, 0, line, "NOT_STORED\r\n");

	/* ... only SET: a refused ADD/APPEND leaves the item alone */
	text_run(f, 0, "set big 0 0 3\r\nold\r\n", "STORED\r\n");
	n = snprintf(line, sizeof(line), "append big 0 0 %u\r\n", MAXV + 1);
	memset(line + n, 'x', MAXV + 1);
	memcpy(line + n + MAXV + 1, "\r\nget big\r\n", 12);
	text_run(f, 0, line, "SERVER_ERROR object too large for cache\r\nVALUE big 0 3\r\nold\r\nEND\r\n");
}

/*
 * Admin commands from a source outside `admin` (h.admin_denied, set per
 * datagram by the glue): binary FLUSH/FLUSHQ and STAT "reset" answer
 * AUTH_ERROR, text flush_all/verbosity/"stats reset" CLIENT_ERROR (even
 * with noreply); nothing is flushed; every refusal counted.
 */
static void test_admin_denied(void **state)
{
	struct fx *f = *state;

	add_set(&f->m, DPC_OP_SET, "a1", "x", 0, 0, 0, 1);
	run(f);
	f->h[0].admin_denied = true;
	add(&f->m, DPC_OP_FLUSH, NULL, 0, NULL, NULL, 0, 0, 2);
	add(&f->m, DPC_OP_FLUSHQ, NULL, 0, NULL, NULL, 0, 0, 3);
	add(&f->m, DPC_OP_STAT, NULL, 0, "reset", NULL, 0, 0, 4);
	add(&f->m, DPC_OP_NOOP, NULL, 0, NULL, NULL, 0, 0, 5);
	run(f);
	assert_int_equal(f->rc, 0);
	assert_int_equal(f->nres, 4);
	expect(&f->res[0], DPC_OP_FLUSH, DPC_MC_AUTH_ERROR, 2);
	expect(&f->res[1], DPC_OP_FLUSHQ, DPC_MC_AUTH_ERROR, 3);
	expect(&f->res[2], DPC_OP_STAT, DPC_MC_AUTH_ERROR, 4);
	expect(&f->res[3], DPC_OP_NOOP, DPC_MC_OK, 5);
	text_run(f, 0, "flush_all\r\nflush_all noreply\r\nverbosity 1\r\nstats reset\r\nget a1\r\n",
		 "CLIENT_ERROR permission denied\r\nCLIENT_ERROR permission denied\r\n"
		 "CLIENT_ERROR permission denied\r\nCLIENT_ERROR permission denied\r\n"
		 "VALUE a1 0 1\r\nx\r\nEND\r\n");
	assert_true(get_is(f, "a1", "x"));
	assert_int_equal(f->stats[0].refused_admin, 7);
	/* other statistics stay open to everyone */
	text_run(f, 0, "stats nonsense\r\n", "ERROR\r\n");
	/* allowed again: the flush happens */
	f->h[0].admin_denied = false;
	text_run(f, 0, "flush_all\r\nget a1\r\n", "OK\r\nEND\r\n");
	assert_int_equal(f->stats[0].refused_admin, 7);
}

static void test_text_partitions(void **state)
{
	struct fx *f = *state;
	char k1[32], line[128];

	key_for(k1, sizeof(k1), 1, 3, 0);
	snprintf(line, sizeof(line), "set %s 0 0 1\r\nx\r\n", k1);
	assert_int_equal(route_of(&f->h[0], (const uint8_t *)line, strlen(line)), 1);
	assert_int_equal(route_of(&f->h[1], (const uint8_t *)line, strlen(line)), DPC_ROUTE_HERE);
	text_run(f, 0, line, "SERVER_ERROR temporary failure\r\n");
	text_run(f, 1, line, "STORED\r\n");
	snprintf(line, sizeof(line), "get %s\r\n", k1);
	assert_int_equal(route_of(&f->h[0], (const uint8_t *)line, strlen(line)), DPC_ROUTE_HERE);
	text_run(f, 2, line, NULL);
	assert_int_equal(f->rc, 0);
	assert_memory_equal(f->fw.buf, "VALUE ", 6);
}

/*
 * Parse once: the descriptor holds each of the first keys' hashes in
 * datagram order (text key lists count each key), and processing uses
 * those hashes rather than hashing again: a descriptor whose hash says
 * "another partition" makes the owner refuse the write.
 */
static void test_parse_once(void **state)
{
	struct fx *f = *state;
	struct dpc_dgram d;
	char k0[32], k1[32], k2[32], line[256];

	key_for(k0, sizeof(k0), 0, 3, 0);
	key_for(k1, sizeof(k1), 1, 3, 0);
	key_for(k2, sizeof(k2), 2, 3, 0);

	/* binary: GET k0, NOOP (no key), SET k1, DELETE k2 */
	add(&f->m, DPC_OP_GET, NULL, 0, k0, NULL, 0, 0, 1);
	add(&f->m, DPC_OP_NOOP, NULL, 0, NULL, NULL, 0, 0, 2);
	add_set(&f->m, DPC_OP_SET, k1, "v", 0, 0, 0, 3);
	add(&f->m, DPC_OP_DELETE, NULL, 0, k2, NULL, 0, 0, 4);
	dpc_handler_parse(&f->h[1], f->m.b, f->m.n, true, &d);
	assert_int_equal(d.proto, DPC_DGRAM_BIN);
	assert_int_equal(d.first, DPC_MC_HDR_LEN + strlen(k0));
	assert_int_equal(d.req.bin.base, DPC_OP_GET);
	/* routed to 2 by the DELETE, after hashing k0, k1, k2 */
	assert_int_equal(dpc_handler_route(&d), 2);
	assert_int_equal(d.nhash, 3);
	assert_true(d.hash[0] == dpc_hash(k0, strlen(k0)));
	assert_true(d.hash[1] == dpc_hash(k1, strlen(k1)));
	assert_true(d.hash[2] == dpc_hash(k2, strlen(k2)));
	/* without routing only the first request is parsed */
	dpc_handler_parse(&f->h[1], f->m.b, f->m.n, false, &d);
	assert_int_equal(dpc_handler_route(&d), DPC_ROUTE_HERE);
	assert_int_equal(d.nhash, 1);

	/* processing reads the kept hash: SET k1 on its owner, told k1 is k2's */
	f->m.n = 0;
	add_set(&f->m, DPC_OP_SET, k1, "v", 0, 0, 0, 5);
	dpc_handler_parse(&f->h[1], f->m.b, f->m.n, true, &d);
	assert_int_equal(dpc_handler_route(&d), DPC_ROUTE_HERE);
	d.hash[0] = dpc_hash(k2, strlen(k2));
	flat_reset(&f->fw, AREAS);
	assert_int_equal(dpc_handler_process_dgram(&f->h[1], &d, &f->fw.w), 0);
	assert_true(dpc_mc_parse_res(f->fw.buf, f->fw.w.total, &f->res[0]) > 0);
	expect(&f->res[0], DPC_OP_SET, DPC_MC_ETMPFAIL, 5);
	f->m.n = 0;
	urcu_qsbr_quiescent_state();

	/* text: a key list counts each key; "gat" goes where its first key lives */
	snprintf(line, sizeof(line), "get %s %s\r\ndelete %s\r\ngat 0 %s %s\r\n", k0, k1, k2, k1, k0);
	dpc_handler_parse(&f->h[0], (const uint8_t *)line, strlen(line), true, &d);
	assert_int_equal(d.proto, DPC_DGRAM_TEXT);
	assert_int_equal(d.req.txt.cmd, DPC_TXT_GET);
	assert_int_equal(dpc_handler_route(&d), 2);
	assert_int_equal(d.nhash, 3);
	assert_true(d.hash[1] == dpc_hash(k1, strlen(k1)));
	assert_true(d.hash[2] == dpc_hash(k2, strlen(k2)));
	snprintf(line, sizeof(line), "get %s\r\ngat 0 %s %s\r\n", k0, k1, k0);
	dpc_handler_parse(&f->h[0], (const uint8_t *)line, strlen(line), true, &d);
	assert_int_equal(dpc_handler_route(&d), 1);

	/* empty and junk datagrams: no key, here */
	dpc_handler_parse(&f->h[0], NULL, 0, true, &d);
	assert_int_equal(d.nhash, 0);
	assert_int_equal(dpc_handler_route(&d), DPC_ROUTE_HERE);
	dpc_handler_parse(&f->h[0], (const uint8_t *)"\x80junk", 5, true, &d);
	assert_int_equal(d.nhash, 0);
	assert_true(d.first < 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_set_get, setup1, teardown),
		cmocka_unit_test_setup_teardown(test_quiet, setup1, teardown),
		cmocka_unit_test_setup_teardown(test_multiget, setup1, teardown),
		cmocka_unit_test_setup_teardown(test_add_replace_append, setup1, teardown),
		cmocka_unit_test_setup_teardown(test_cas, setup1, teardown),
		cmocka_unit_test_setup_teardown(test_arith, setup1, teardown),
		cmocka_unit_test_setup_teardown(test_ttl_touch_gat, setup1, teardown),
		cmocka_unit_test_setup_teardown(test_flush_noop_version_quit, setup1, teardown),
		cmocka_unit_test_setup_teardown(test_admin_denied, setup1, teardown),
		cmocka_unit_test_setup_teardown(test_stat, setup1, teardown),
		cmocka_unit_test_setup_teardown(test_stat_groups, setup1, teardown),
		cmocka_unit_test_setup_teardown(test_stat_latency, setup1, teardown),
		cmocka_unit_test_setup_teardown(test_text_parity, setup1, teardown),
		cmocka_unit_test_setup_teardown(test_large_values, setup1, teardown),
		cmocka_unit_test_setup_teardown(test_burst_retryable, setup1, teardown),
		cmocka_unit_test_setup_teardown(test_text_burst_nospace, setup1, teardown),
		cmocka_unit_test_setup_teardown(test_malformed, setup1, teardown),
		cmocka_unit_test_setup_teardown(test_partitions, setup3, teardown),
		cmocka_unit_test_setup_teardown(test_text, setup1, teardown),
		cmocka_unit_test_setup_teardown(test_text_partitions, setup3, teardown),
		cmocka_unit_test_setup_teardown(test_parse_once, setup3, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
