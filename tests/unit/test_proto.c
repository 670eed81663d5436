/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * memcached binary codec and UDP frame header (lib/proto.c): framing,
 * every length rule, the shape rules per opcode, quiet folding, and
 * response encoding checked against hand-written bytes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "dpcache/decimal.h"
#include "dpcache/proto.h"
#include "dpcache/textproto.h"

#define MAXV 1000u

static void be16(uint8_t *p, unsigned v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static void be32(uint8_t *p, uint32_t v) { be16(p, v >> 16); be16(p + 2, v & 0xffff); }
static void be64(uint8_t *p, uint64_t v) { be32(p, (uint32_t)(v >> 32)); be32(p + 4, (uint32_t)v); }

/*
 * A request written byte by byte (independent of dpc_mc_encode_req_hdr).
 * bodylen = extlen + keylen + vlen + @lie.
 */
static size_t mk(uint8_t *b, uint8_t op, const void *ext, unsigned extlen, const char *key,
		 unsigned keylen, const void *val, unsigned vlen, int lie)
{
	memset(b, 0, DPC_MC_HDR_LEN);
	b[0] = 0x80;
	b[1] = op;
	be16(b + 2, keylen);
	b[4] = (uint8_t)extlen;
	be32(b + 8, (uint32_t)((int)(extlen + keylen + vlen) + lie));
	b[12] = 0xde; b[13] = 0xad; b[14] = 0xbe; b[15] = 0xef;
	be64(b + 16, 0x0102030405060708ull);
	if (extlen)
		memcpy(b + 24, ext, extlen);
	if (keylen)
		memcpy(b + 24 + extlen, key, keylen);
	if (vlen)
		memcpy(b + 24 + extlen + keylen, val, vlen);
	return 24 + extlen + keylen + vlen;
}

static void test_frame(void **state)
{
	(void)state;
	uint8_t b[8];
	struct dpc_udp_frame f = {.req_id = 0x1234, .seq = 2, .total = 0x0305, .reserved = 0};
	struct dpc_udp_frame g;

	dpc_frame_encode(b, &f);
	static const uint8_t want[8] = {0x12, 0x34, 0x00, 0x02, 0x03, 0x05, 0x00, 0x00};
	assert_memory_equal(b, want, 8);
	assert_int_equal(dpc_frame_decode(b, 8, &g), 0);
	assert_int_equal(g.req_id, 0x1234);
	assert_int_equal(g.seq, 2);
	assert_int_equal(g.total, 0x0305);
	assert_int_equal(g.reserved, 0);
	assert_int_equal(dpc_frame_decode(b, 7, &g), -EINVAL);
	assert_int_equal(dpc_frame_decode(b, 0, &g), -EINVAL);
	assert_int_equal(DPC_UDP_MAX_DATA + DPC_UDP_FRAME_LEN, 1400);
}

static void test_get(void **state)
{
	(void)state;
	uint8_t b[256];
	struct dpc_mc_req r;
	size_t n = mk(b, DPC_OP_GET, NULL, 0, "hello", 5, NULL, 0, 0);

	assert_int_equal(dpc_mc_parse(b, n, MAXV, &r), (int)n);
	assert_int_equal(r.error, 0);
	assert_int_equal(r.opcode, DPC_OP_GET);
	assert_int_equal(r.base, DPC_OP_GET);
	assert_false(r.quiet);
	assert_int_equal(r.keylen, 5);
	assert_int_equal(r.extlen, 0);
	assert_int_equal(r.vlen, 0);
	assert_int_equal(r.bodylen, 5);
	assert_ptr_equal(r.key, b + 24);
	assert_memory_equal(r.key, "hello", 5);
	assert_memory_equal(&r.opaque, "\xde\xad\xbe\xef", 4);
	assert_true(r.cas == 0x0102030405060708ull);

	/* a second request right behind the first */
	size_t n2 = mk(b + n, DPC_OP_GETKQ, NULL, 0, "k2", 2, NULL, 0, 0);
	assert_int_equal(dpc_mc_parse(b + n, n2, MAXV, &r), (int)n2);
	assert_int_equal(r.base, DPC_OP_GETK);
	assert_true(r.quiet);
	assert_memory_equal(r.key, "k2", 2);
	/* trailing bytes after a request are not its business */
	assert_int_equal(dpc_mc_parse(b, n + n2, MAXV, &r), (int)n);
}

static void test_truncated_and_magic(void **state)
{
	(void)state;
	uint8_t b[256];
	struct dpc_mc_req r;
	size_t n = mk(b, DPC_OP_GET, NULL, 0, "hello", 5, NULL, 0, 0);

	for (size_t len = 0; len < n; len++)
		assert_int_equal(dpc_mc_parse(b, len, MAXV, &r), DPC_MC_PARSE_TRUNCATED);
	/* bodylen claims more than the datagram has */
	n = mk(b, DPC_OP_SET, "\0\0\0\0\0\0\0\0", 8, "k", 1, "v", 1, 1);
	assert_int_equal(dpc_mc_parse(b, n, MAXV, &r), DPC_MC_PARSE_TRUNCATED);
	be32(b + 8, 0xffffffffu);
	assert_int_equal(dpc_mc_parse(b, n, MAXV, &r), DPC_MC_PARSE_TRUNCATED);

	n = mk(b, DPC_OP_GET, NULL, 0, "hello", 5, NULL, 0, 0);
	b[0] = 0x81; /* a response is not a request */
	assert_int_equal(dpc_mc_parse(b, n, MAXV, &r), DPC_MC_PARSE_BAD_MAGIC);
	b[0] = 'g';
	assert_int_equal(dpc_mc_parse(b, n, MAXV, &r), DPC_MC_PARSE_BAD_MAGIC);
	/* under 24 bytes it is truncated whatever the first byte */
	assert_int_equal(dpc_mc_parse(b, 10, MAXV, &r), DPC_MC_PARSE_TRUNCATED);
}

static void test_lying_lengths(void **state)
{
	(void)state;
	uint8_t b[256];
	struct dpc_mc_req r;

	/* keylen + extlen > bodylen: memcached answers Unknown command */
	size_t n = mk(b, DPC_OP_GET, NULL, 0, "hello", 5, NULL, 0, -1);
	assert_int_equal(dpc_mc_parse(b, n, MAXV, &r), (int)n - 1);
	assert_int_equal(r.error, DPC_MC_UNKNOWN_COMMAND);
	assert_null(r.key);
	assert_int_equal(r.keylen, 0);
	assert_int_equal(r.vlen, 0);

	n = mk(b, DPC_OP_SET, "\0\0\0\0\0\0\0\0", 8, "k", 1, NULL, 0, -3);
	assert_int_equal(dpc_mc_parse(b, n, MAXV, &r), (int)n - 3);
	assert_int_equal(r.error, DPC_MC_UNKNOWN_COMMAND);
	assert_null(r.extras);
	assert_int_equal(r.base, DPC_OP_SET);
}

static void test_key_length(void **state)
{
	(void)state;
	uint8_t b[600];
	char key[260];
	struct dpc_mc_req r;

	memset(key, 'k', sizeof(key));
	size_t n = mk(b, DPC_OP_GET, NULL, 0, key, 250, NULL, 0, 0);
	assert_int_equal(dpc_mc_parse(b, n, MAXV, &r), (int)n);
	assert_int_equal(r.error, 0);
	n = mk(b, DPC_OP_GET, NULL, 0, key, 251, NULL, 0, 0);
	assert_int_equal(dpc_mc_parse(b, n, MAXV, &r), (int)n);
	assert_int_equal(r.error, DPC_MC_EINVAL);
	/* the key limit is checked before the opcode, as memcached does */
	n = mk(b, 0x55, NULL, 0, key, 251, NULL, 0, 0);
	assert_int_equal(dpc_mc_parse(b, n, MAXV, &r), (int)n);
	assert_int_equal(r.error, DPC_MC_EINVAL);
}

static void test_unknown_opcode(void **state)
{
	(void)state;
	uint8_t b[256];
	struct dpc_mc_req r;
	static const uint8_t unknown[] = {0x1b, 0x1f, 0x20, 0x21, 0x25, 0x30, 0x3c, 0x80, 0xff};

	for (unsigned i = 0; i < sizeof(unknown); i++) {
		size_t n = mk(b, unknown[i], "abcd", 4, "key", 3, "value", 5, 0);
		assert_int_equal(dpc_mc_parse(b, n, MAXV, &r), (int)n);
		assert_int_equal(r.error, DPC_MC_UNKNOWN_COMMAND);
		assert_int_equal(r.opcode, unknown[i]);
		assert_int_equal(r.base, unknown[i]);
		assert_false(dpc_mc_is_quiet(unknown[i]));
		assert_string_equal(dpc_mc_op_name(unknown[i]), "UNKNOWN");
	}
}

struct shape {
	uint8_t op;
	unsigned extlen, keylen, vlen;
	uint16_t want;
};

static void test_shapes(void **state)
{
	(void)state;
	static const struct shape cases[] = {
		{DPC_OP_GET, 0, 3, 0, 0}, {DPC_OP_GET, 0, 0, 0, DPC_MC_EINVAL},
		{DPC_OP_GET, 4, 3, 0, DPC_MC_EINVAL}, {DPC_OP_GET, 0, 3, 2, DPC_MC_EINVAL},
		{DPC_OP_GETQ, 0, 3, 0, 0}, {DPC_OP_GETK, 0, 0, 0, DPC_MC_EINVAL},
		{DPC_OP_GETKQ, 1, 3, 0, DPC_MC_EINVAL},
		{DPC_OP_SET, 8, 3, 0, 0}, {DPC_OP_SET, 8, 3, 10, 0},
		{DPC_OP_SET, 0, 3, 10, DPC_MC_EINVAL}, {DPC_OP_SET, 4, 3, 10, DPC_MC_EINVAL},
		{DPC_OP_SET, 8, 0, 10, DPC_MC_EINVAL}, {DPC_OP_SETQ, 12, 3, 1, DPC_MC_EINVAL},
		{DPC_OP_ADD, 8, 1, 1, 0}, {DPC_OP_ADDQ, 0, 1, 1, DPC_MC_EINVAL},
		{DPC_OP_REPLACE, 8, 1, 1, 0}, {DPC_OP_REPLACEQ, 8, 0, 1, DPC_MC_EINVAL},
		{DPC_OP_APPEND, 0, 1, 1, 0}, {DPC_OP_APPEND, 8, 1, 1, DPC_MC_EINVAL},
		{DPC_OP_PREPENDQ, 0, 1, 0, 0}, {DPC_OP_PREPEND, 0, 0, 1, DPC_MC_EINVAL},
		{DPC_OP_DELETE, 0, 2, 0, 0}, {DPC_OP_DELETE, 4, 2, 0, DPC_MC_EINVAL},
		{DPC_OP_DELETEQ, 0, 0, 0, DPC_MC_EINVAL}, {DPC_OP_DELETE, 0, 2, 1, DPC_MC_EINVAL},
		{DPC_OP_INCREMENT, 20, 2, 0, 0}, {DPC_OP_INCREMENT, 16, 2, 0, DPC_MC_EINVAL},
		{DPC_OP_DECREMENTQ, 20, 0, 0, DPC_MC_EINVAL}, {DPC_OP_DECREMENT, 20, 2, 4, DPC_MC_EINVAL},
		{DPC_OP_TOUCH, 4, 2, 0, 0}, {DPC_OP_TOUCH, 0, 2, 0, DPC_MC_EINVAL},
		{DPC_OP_TOUCH, 4, 0, 0, DPC_MC_EINVAL}, {DPC_OP_TOUCH, 4, 2, 1, DPC_MC_EINVAL},
		{DPC_OP_GAT, 4, 2, 0, 0}, {DPC_OP_GATQ, 8, 2, 0, DPC_MC_EINVAL},
		{DPC_OP_GATK, 4, 2, 0, 0}, {DPC_OP_GATKQ, 4, 0, 0, DPC_MC_EINVAL},
		{DPC_OP_FLUSH, 0, 0, 0, 0}, {DPC_OP_FLUSH, 4, 0, 0, 0},
		{DPC_OP_FLUSHQ, 8, 0, 0, DPC_MC_EINVAL}, {DPC_OP_FLUSH, 0, 1, 0, DPC_MC_EINVAL},
		{DPC_OP_FLUSH, 0, 0, 4, DPC_MC_EINVAL},
		{DPC_OP_NOOP, 0, 0, 0, 0}, {DPC_OP_NOOP, 0, 1, 0, DPC_MC_EINVAL},
		{DPC_OP_NOOP, 0, 0, 1, DPC_MC_EINVAL}, {DPC_OP_NOOP, 4, 0, 0, DPC_MC_EINVAL},
		{DPC_OP_VERSION, 0, 0, 0, 0}, {DPC_OP_VERSION, 0, 3, 0, DPC_MC_EINVAL},
		{DPC_OP_QUIT, 0, 0, 0, 0}, {DPC_OP_QUITQ, 0, 0, 1, DPC_MC_EINVAL},
		{DPC_OP_STAT, 0, 0, 0, 0}, {DPC_OP_STAT, 0, 8, 0, 0},
		{DPC_OP_STAT, 4, 0, 0, DPC_MC_EINVAL},
	};
	uint8_t b[512], ext[32], key[16], val[16];

	memset(ext, 0, sizeof(ext));
	memset(key, 'k', sizeof(key));
	memset(val, 'v', sizeof(val));
	for (unsigned i = 0; i < DPC_ARRAY_SIZE(cases); i++) {
		const struct shape *c = &cases[i];
		struct dpc_mc_req r;
		size_t n = mk(b, c->op, ext, c->extlen, (const char *)key, c->keylen, val, c->vlen, 0);
		int rc = dpc_mc_parse(b, n, MAXV, &r);
		if (rc != (int)n || r.error != c->want)
			fail_msg("case %u (%s ext %u key %u val %u): rc %d error 0x%x, want 0x%x", i,
				 dpc_mc_op_name(c->op), c->extlen, c->keylen, c->vlen, rc, r.error, c->want);
	}
}

static void test_extras_decoded(void **state)
{
	(void)state;
	uint8_t b[256], ext[20];
	struct dpc_mc_req r;

	be32(ext, 0xcafef00d);
	be32(ext + 4, 3600);
	size_t n = mk(b, DPC_OP_SETQ, ext, 8, "key", 3, "value", 5, 0);
	assert_int_equal(dpc_mc_parse(b, n, MAXV, &r), (int)n);
	assert_int_equal(r.error, 0);
	assert_int_equal(r.base, DPC_OP_SET);
	assert_true(r.quiet);
	assert_int_equal(r.flags, 0xcafef00d);
	assert_int_equal(r.exptime, 3600);
	assert_int_equal(r.vlen, 5);
	assert_memory_equal(r.value, "value", 5);
	assert_memory_equal(r.key, "key", 3);

	be64(ext, 0x1122334455667788ull);
	be64(ext + 8, 42);
	be32(ext + 16, 0xffffffffu);
	n = mk(b, DPC_OP_DECREMENT, ext, 20, "ctr", 3, NULL, 0, 0);
	assert_int_equal(dpc_mc_parse(b, n, MAXV, &r), (int)n);
	assert_int_equal(r.error, 0);
	assert_true(r.delta == 0x1122334455667788ull);
	assert_true(r.initial == 42);
	assert_int_equal(r.exptime, 0xffffffffu);

	be32(ext, 77);
	n = mk(b, DPC_OP_GATK, ext, 4, "g", 1, NULL, 0, 0);
	assert_int_equal(dpc_mc_parse(b, n, MAXV, &r), (int)n);
	assert_int_equal(r.exptime, 77);
	n = mk(b, DPC_OP_FLUSHQ, ext, 4, NULL, 0, NULL, 0, 0);
	assert_int_equal(dpc_mc_parse(b, n, MAXV, &r), (int)n);
	assert_int_equal(r.base, DPC_OP_FLUSH);
	assert_int_equal(r.exptime, 77);
	n = mk(b, DPC_OP_FLUSH, NULL, 0, NULL, 0, NULL, 0, 0);
	assert_int_equal(dpc_mc_parse(b, n, MAXV, &r), (int)n);
	assert_int_equal(r.exptime, 0);
}

static void test_value_too_large(void **state)
{
	(void)state;
	static uint8_t b[4096], val[2048];
	uint8_t ext[8] = {0};
	struct dpc_mc_req r;

	size_t n = mk(b, DPC_OP_SET, ext, 8, "k", 1, val, MAXV, 0);
	assert_int_equal(dpc_mc_parse(b, n, MAXV, &r), (int)n);
	assert_int_equal(r.error, 0);
	n = mk(b, DPC_OP_SET, ext, 8, "k", 1, val, MAXV + 1, 0);
	assert_int_equal(dpc_mc_parse(b, n, MAXV, &r), (int)n);
	assert_int_equal(r.error, DPC_MC_E2BIG);
	n = mk(b, DPC_OP_APPENDQ, NULL, 0, "k", 1, val, MAXV + 1, 0);
	assert_int_equal(dpc_mc_parse(b, n, MAXV, &r), (int)n);
	assert_int_equal(r.error, DPC_MC_E2BIG);
	/* shape errors win over size, as in memcached */
	n = mk(b, DPC_OP_SET, ext, 4, "k", 1, val, MAXV + 1, 0);
	assert_int_equal(dpc_mc_parse(b, n, MAXV, &r), (int)n);
	assert_int_equal(r.error, DPC_MC_EINVAL);
}

static void test_quiet_and_write(void **state)
{
	(void)state;
	static const uint8_t pairs[][2] = {
		{DPC_OP_GETQ, DPC_OP_GET}, {DPC_OP_GETKQ, DPC_OP_GETK}, {DPC_OP_SETQ, DPC_OP_SET},
		{DPC_OP_ADDQ, DPC_OP_ADD}, {DPC_OP_REPLACEQ, DPC_OP_REPLACE},
		{DPC_OP_DELETEQ, DPC_OP_DELETE}, {DPC_OP_INCREMENTQ, DPC_OP_INCREMENT},
		{DPC_OP_DECREMENTQ, DPC_OP_DECREMENT}, {DPC_OP_QUITQ, DPC_OP_QUIT},
		{DPC_OP_FLUSHQ, DPC_OP_FLUSH}, {DPC_OP_APPENDQ, DPC_OP_APPEND},
		{DPC_OP_PREPENDQ, DPC_OP_PREPEND}, {DPC_OP_GATQ, DPC_OP_GAT}, {DPC_OP_GATKQ, DPC_OP_GATK},
	};
	for (unsigned i = 0; i < DPC_ARRAY_SIZE(pairs); i++) {
		assert_true(dpc_mc_is_quiet(pairs[i][0]));
		assert_false(dpc_mc_is_quiet(pairs[i][1]));
		assert_int_equal(dpc_mc_base_op(pairs[i][0]), pairs[i][1]);
		assert_int_equal(dpc_mc_base_op(pairs[i][1]), pairs[i][1]);
		assert_string_not_equal(dpc_mc_op_name(pairs[i][0]), "UNKNOWN");
	}
	static const uint8_t writes[] = {DPC_OP_SET, DPC_OP_ADD, DPC_OP_REPLACE, DPC_OP_APPEND,
					 DPC_OP_PREPEND, DPC_OP_DELETE, DPC_OP_INCREMENT,
					 DPC_OP_DECREMENT, DPC_OP_TOUCH, DPC_OP_GAT, DPC_OP_GATK};
	static const uint8_t reads[] = {DPC_OP_GET, DPC_OP_GETK, DPC_OP_NOOP, DPC_OP_VERSION,
					DPC_OP_STAT, DPC_OP_FLUSH, DPC_OP_QUIT};
	for (unsigned i = 0; i < sizeof(writes); i++)
		assert_true(dpc_mc_is_write(writes[i]));
	for (unsigned i = 0; i < sizeof(reads); i++)
		assert_false(dpc_mc_is_write(reads[i]));
	assert_string_equal(dpc_mc_op_name(DPC_OP_GATKQ), "GATKQ");
}

static void test_res_encode(void **state)
{
	(void)state;
	uint8_t b[64], out[64];
	struct dpc_mc_req r;
	struct dpc_mc_res s;
	size_t n = mk(b, DPC_OP_GETK, NULL, 0, "abc", 3, NULL, 0, 0);

	assert_int_equal(dpc_mc_parse(b, n, MAXV, &r), (int)n);
	dpc_mc_encode_res_hdr(out, &r, DPC_MC_KEY_ENOENT, 4, 3, 10, 0xa1b2c3d4e5f60718ull);
	static const uint8_t want[24] = {
		0x81, 0x0c, 0x00, 0x03, 0x04, 0x00, 0x00, 0x01,
		0x00, 0x00, 0x00, 0x11, 0xde, 0xad, 0xbe, 0xef,
		0xa1, 0xb2, 0xc3, 0xd4, 0xe5, 0xf6, 0x07, 0x18,
	};
	assert_memory_equal(out, want, 24);

	memset(out + 24, 'x', 17);
	assert_int_equal(dpc_mc_parse_res(out, 41, &s), 41);
	assert_int_equal(s.opcode, DPC_OP_GETK);
	assert_int_equal(s.status, DPC_MC_KEY_ENOENT);
	assert_int_equal(s.extlen, 4);
	assert_int_equal(s.keylen, 3);
	assert_int_equal(s.vlen, 10);
	assert_int_equal(s.bodylen, 17);
	assert_ptr_equal(s.key, out + 28);
	assert_ptr_equal(s.value, out + 31);
	assert_int_equal(s.opaque, r.opaque);
	assert_true(s.cas == 0xa1b2c3d4e5f60718ull);
	assert_int_equal(dpc_mc_parse_res(out, 40, &s), DPC_MC_PARSE_TRUNCATED);
	assert_int_equal(dpc_mc_parse_res(out, 23, &s), DPC_MC_PARSE_TRUNCATED);
	out[0] = 0x80;
	assert_int_equal(dpc_mc_parse_res(out, 41, &s), DPC_MC_PARSE_BAD_MAGIC);
	out[0] = 0x81;
	out[4] = 15; /* extlen + keylen > bodylen */
	assert_int_equal(dpc_mc_parse_res(out, 41, &s), DPC_MC_PARSE_TRUNCATED);
}

static void test_req_encode(void **state)
{
	(void)state;
	uint8_t b[64], hand[64];
	struct dpc_mc_req r;
	uint32_t opaque;

	memcpy(&opaque, "\xde\xad\xbe\xef", 4);
	dpc_mc_encode_req_hdr(b, DPC_OP_SET, 8, 2, 3, opaque, 0x0102030405060708ull);
	memset(b + 24, 0, 8);
	memcpy(b + 32, "kkvvv", 5);
	size_t n = mk(hand, DPC_OP_SET, b + 24, 8, "kk", 2, "vvv", 3, 0);
	assert_int_equal(n, 37);
	assert_memory_equal(b, hand, n);
	assert_int_equal(dpc_mc_parse(b, n, MAXV, &r), (int)n);
	assert_int_equal(r.opaque, opaque);
	assert_int_equal(r.error, 0);
}

static int tparse(const char *s, struct dpc_txt_req *r)
{
	return dpc_txt_parse((const uint8_t *)s, strlen(s), MAXV, r);
}

static void test_text_parse(void **state)
{
	(void)state;
	struct dpc_txt_req r;
	const uint8_t *it, *k;

	assert_int_equal(tparse("get a bb  ccc\r\nget x\r\n", &r), 15);
	assert_int_equal(r.cmd, DPC_TXT_GET);
	it = r.keys;
	assert_int_equal(dpc_txt_next_key(&it, r.keys_end, &k), 1);
	assert_memory_equal(k, "a", 1);
	assert_int_equal(dpc_txt_next_key(&it, r.keys_end, &k), 2);
	assert_int_equal(dpc_txt_next_key(&it, r.keys_end, &k), 3);
	assert_memory_equal(k, "ccc", 3);
	assert_int_equal(dpc_txt_next_key(&it, r.keys_end, &k), 0);

	assert_int_equal(tparse("gats -1 k\n", &r), 10);
	assert_int_equal(r.cmd, DPC_TXT_GATS);
	assert_true(r.exptime > 2592000); /* negative: already expired (absolute 1970) */

	assert_int_equal(tparse("cas key 4294967295 100 3 18446744073709551615 noreply\r\nabc\r\n", &r), 60);
	assert_int_equal(r.cmd, DPC_TXT_CAS);
	assert_true(r.noreply);
	assert_int_equal(r.flags, 4294967295u);
	assert_int_equal(r.exptime, 100);
	assert_int_equal(r.vlen, 3);
	assert_memory_equal(r.value, "abc", 3);
	assert_true(r.cas == UINT64_MAX);
	assert_int_equal(r.keylen, 3);

	assert_int_equal(tparse("set k 4294967296 0 1\r\nx\r\n", &r), 22);
	assert_int_equal(r.cmd, DPC_TXT_ERROR);
	assert_string_equal(r.error, "CLIENT_ERROR bad command line format");
	assert_int_equal(tparse("set k 0 0 -1\r\n", &r), 14);
	assert_int_equal(r.cmd, DPC_TXT_ERROR);
	/* a sixth token other than noreply is ignored, as memcached ignores it */
	assert_int_equal(tparse("set k 0 0 5 maybe\r\nxxxxx\r\n", &r), 26);
	assert_int_equal(r.cmd, DPC_TXT_SET);
	assert_false(r.noreply);
	/* a block not ending in CRLF: vlen + 2 bytes swallowed; one past the datagram: all */
	assert_int_equal(tparse("set k 0 0 5\r\nxxxxxx\r\n", &r), 20);
	assert_string_equal(r.error, "CLIENT_ERROR bad data chunk");
	assert_int_equal(tparse("set k 0 0 50\r\nxxxxxx\r\n", &r), 22);
	assert_string_equal(r.error, "CLIENT_ERROR bad data chunk");
	/* errors after the arity check carry noreply (memcached then says nothing) */
	assert_int_equal(tparse("set k x 0 1 noreply\r\nx\r\n", &r), 21);
	assert_true(r.noreply);
	assert_int_equal(tparse("verbosity x\r\n", &r), 13);
	assert_string_equal(r.error, "CLIENT_ERROR bad command line format");
	assert_int_equal(tparse("flush_all x\r\n", &r), 13);
	assert_string_equal(r.error, "CLIENT_ERROR invalid exptime argument");
	assert_int_equal(tparse("set k 0 0 2000\r\nxx\r\n", &r), 20); /* too large, swallowed */
	assert_string_equal(r.error, "SERVER_ERROR object too large for cache");

	char longkey[300] = "get ";
	memset(longkey + 4, 'k', 251);
	strcpy(longkey + 255, "\r\n");
	assert_int_equal(tparse(longkey, &r), 257);
	assert_string_equal(r.error, "CLIENT_ERROR bad command line format");

	assert_int_equal(tparse("incr n 18446744073709551615 noreply\r\n", &r), 37);
	assert_int_equal(r.cmd, DPC_TXT_INCR);
	assert_true(r.delta == UINT64_MAX && r.noreply);
	assert_int_equal(tparse("decr n 18446744073709551616\r\n", &r), 29);
	assert_string_equal(r.error, "CLIENT_ERROR invalid numeric delta argument");
	assert_int_equal(tparse("delete k 0 noreply\n", &r), 19);
	assert_int_equal(r.cmd, DPC_TXT_DELETE);
	assert_true(r.noreply);
	assert_int_equal(tparse("flush_all 30\n", &r), 13);
	assert_int_equal(r.exptime, 30);
	assert_int_equal(tparse("stats settings\n", &r), 15);
	assert_int_equal(r.arglen, 8);
	assert_int_equal(tparse("GET k\r\n", &r), 7); /* case matters, as in memcached */
	assert_string_equal(r.error, "ERROR");
	assert_int_equal(tparse("\r\n", &r), 2);
	assert_string_equal(r.error, "ERROR");
	assert_int_equal(tparse("get k", &r), DPC_MC_PARSE_TRUNCATED);
	assert_int_equal(tparse("", &r), DPC_MC_PARSE_TRUNCATED);
}

/* The one decimal parser/formatter (text numbers, INCR values in items). */
static void test_decimal(void **state)
{
	char buf[DPC_DEC_U64_BUF];
	uint64_t v = 7;

	(void)state;
	assert_true(dpc_dec_parse_u64("18446744073709551615", 20, UINT64_MAX, &v));
	assert_true(v == UINT64_MAX);
	assert_false(dpc_dec_parse_u64("18446744073709551616", 20, UINT64_MAX, &v));
	assert_false(dpc_dec_parse_u64("000000000000000000001", 21, UINT64_MAX, &v));
	assert_false(dpc_dec_parse_u64("", 0, UINT64_MAX, &v));
	assert_false(dpc_dec_parse_u64("12a", 3, UINT64_MAX, &v));
	assert_false(dpc_dec_parse_u64("-1", 2, UINT64_MAX, &v));
	assert_false(dpc_dec_parse_u64("4294967296", 10, UINT32_MAX, &v));
	assert_true(dpc_dec_parse_u64("4294967295", 10, UINT32_MAX, &v));
	assert_true(v == UINT32_MAX);
	assert_int_equal(dpc_dec_format_u64(0, buf), 1);
	assert_string_equal(buf, "0");
	assert_int_equal(dpc_dec_format_u64(UINT64_MAX, buf), 20);
	assert_string_equal(buf, "18446744073709551615");
}

/* Status texts, defined once (DPC_MC_STATUSES): memcached's words where it sends them. */
static void test_status_text(void **state)
{
	(void)state;
	assert_string_equal(dpc_mc_status_text(DPC_MC_KEY_ENOENT), "Not found");
	assert_string_equal(dpc_mc_status_text(DPC_MC_KEY_EEXISTS), "Data exists for key.");
	assert_string_equal(dpc_mc_status_text(DPC_MC_E2BIG), "Too large.");
	assert_string_equal(dpc_mc_status_text(DPC_MC_NOT_STORED), "Not stored.");
	assert_string_equal(dpc_mc_status_text(0x7777), "Unknown status");
	assert_string_equal(dpc_mc_op_name(DPC_OP_GATKQ), "GATKQ");
	assert_int_equal(dpc_mc_base_op(DPC_OP_GATKQ), DPC_OP_GATK);
	assert_true(dpc_mc_is_quiet(DPC_OP_SETQ));
	assert_false(dpc_mc_is_quiet(DPC_OP_SET));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_frame),
		cmocka_unit_test(test_get),
		cmocka_unit_test(test_truncated_and_magic),
		cmocka_unit_test(test_lying_lengths),
		cmocka_unit_test(test_key_length),
		cmocka_unit_test(test_unknown_opcode),
		cmocka_unit_test(test_shapes),
		cmocka_unit_test(test_extras_decoded),
		cmocka_unit_test(test_value_too_large),
		cmocka_unit_test(test_quiet_and_write),
		cmocka_unit_test(test_res_encode),
		cmocka_unit_test(test_req_encode),
		cmocka_unit_test(test_text_parse),
		cmocka_unit_test(test_decimal),
		cmocka_unit_test(test_status_text),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
