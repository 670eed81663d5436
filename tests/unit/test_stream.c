/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Stream framing for TCP (lib/stream.c): whole requests out of a byte
 * stream, for both protocols; partial input waits, input over the limit is
 * refused at once (never waited for), writes are told apart from reads
 * with their key, quit is seen, and the too-large answers are memcached's.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "dpcache/byteorder.h"
#include "dpcache/proto.h"
#include "dpcache/stream.h"

#define MAXV (1u << 20)
#define REQMAX ((size_t)MAXV + 1024)

static int next(enum dpc_stream_proto p, const void *buf, size_t len, struct dpc_stream_req *r)
{
	return dpc_stream_next(p, buf, len, REQMAX, MAXV, r);
}

static int text(const char *s, struct dpc_stream_req *r)
{
	return next(DPC_STREAM_TEXT, s, strlen(s), r);
}

/* A binary request: header, extras, key, value. */
static size_t bin(uint8_t *out, uint8_t op, uint8_t extlen, const char *key, uint32_t vlen)
{
	uint16_t klen = (uint16_t)strlen(key);

	dpc_mc_encode_req_hdr(out, op, extlen, klen, vlen, 0x01020304u, 0);
	memset(out + DPC_MC_HDR_LEN, 0, extlen);
	memcpy(out + DPC_MC_HDR_LEN + extlen, key, klen);
	memset(out + DPC_MC_HDR_LEN + extlen + klen, 'v', vlen);
	return DPC_MC_HDR_LEN + extlen + klen + vlen;
}

static void test_text_lines(void **state)
{
	struct dpc_stream_req r;
	(void)state;

	assert_int_equal(text("get a b c\r\n", &r), 11);
	assert_false(r.write);
	assert_false(r.quit);
	/* a bare \n ends a line too, as in memcached */
	assert_int_equal(text("get a\nget b\r\n", &r), 6);
	/* pipelined: only the first request is framed */
	assert_int_equal(text("version\r\nget a\r\n", &r), 9);
	/* no line end yet: wait */
	assert_int_equal(text("get a b", &r), 0);
	assert_int_equal(text("", &r), 0);
	assert_int_equal(text("quit\r\n", &r), 6);
	assert_true(r.quit);
	assert_int_equal(text("GET a\r\n", &r), 7);
	assert_int_equal(text("\r\n", &r), 2);
	assert_false(r.write);
}

static void test_text_storage(void **state)
{
	struct dpc_stream_req r;
	(void)state;

	/* the data block belongs to the request; until it is there, wait */
	assert_int_equal(text("set k 0 0 5\r\nhel", &r), 0);
	assert_int_equal(text("set k 0 0 5\r\nhello\r", &r), 0);
	assert_int_equal(text("set k 0 0 5\r\nhello\r\nget k\r\n", &r), 20);
	assert_true(r.write);
	assert_int_equal(r.keylen, 1);
	assert_memory_equal(r.key, "k", 1);
	assert_true(r.resp_max >= 64);
	assert_int_equal(text("cas key 1 2 3 99 noreply\r\nabc\r\n", &r), 31);
	assert_true(r.write);
	assert_int_equal(r.keylen, 3);
	assert_int_equal(text("set k 0 0 0\r\n\r\n", &r), 15);
	/* no byte count the line can be read with: the line alone (the handler refuses it) */
	assert_int_equal(text("set k 0 0 x\r\nabc\r\n", &r), 13);
	assert_int_equal(text("set k 0 0\r\n", &r), 11);
	/* other keyed writes, with the key */
	assert_int_equal(text("delete foo\r\n", &r), 12);
	assert_true(r.write);
	assert_memory_equal(r.key, "foo", 3);
	assert_int_equal(text("incr n 5\r\n", &r), 10);
	assert_true(r.write);
	assert_int_equal(text("touch k 10\r\n", &r), 12);
	assert_true(r.write);
	/* gat: placed by its first key; every key may carry a value */
	assert_int_equal(text("gat 10 a b\r\n", &r), 12);
	assert_true(r.write);
	assert_memory_equal(r.key, "a", 1);
	assert_true(r.resp_max >= 2ull * MAXV);
	/* a key over 250 bytes is no key: refused by the handler, off the owner */
	char line[300];
	memset(line, 0, sizeof(line));
	memcpy(line, "delete ", 7);
	memset(line + 7, 'k', 251);
	memcpy(line + 258, "\r\n", 2);
	assert_int_equal(text(line, &r), 260);
	assert_false(r.write);
	/* reads and admin commands are not writes */
	assert_int_equal(text("flush_all\r\n", &r), 11);
	assert_false(r.write);
	assert_int_equal(text("stats\r\n", &r), 7);
	assert_false(r.write);
}

static void test_text_limits(void **state)
{
	static uint8_t big[REQMAX + 16];
	struct dpc_stream_req r;
	uint8_t out[DPC_STREAM_ERR_MAX];
	size_t n;
	(void)state;

	/* a data block over the limit is refused from its line alone */
	assert_int_equal(text("set k 0 0 1048577000\r\n", &r), DPC_STREAM_TOO_LARGE);
	assert_true(r.quit);
	assert_int_equal(text("set k 0 0 99999999999999999999999\r\n", &r), DPC_STREAM_TOO_LARGE);
	n = dpc_stream_too_large(DPC_STREAM_TEXT, (const uint8_t *)"set k 0 0 1048577000\r\n", 22, out);
	assert_int_equal(n, strlen("SERVER_ERROR object too large for cache\r\n"));
	assert_memory_equal(out, "SERVER_ERROR object too large for cache\r\n", n);
	/* exactly max_value fits */
	char hdr[64];
	int hl = snprintf(hdr, sizeof(hdr), "set k 0 0 %u\r\n", MAXV);
	memcpy(big, hdr, (size_t)hl);
	memset(big + hl, 'v', MAXV);
	memcpy(big + hl + MAXV, "\r\n", 2);
	assert_int_equal(next(DPC_STREAM_TEXT, big, (size_t)hl + MAXV + 2, &r), hl + (int)MAXV + 2);
	assert_int_equal(next(DPC_STREAM_TEXT, big, (size_t)hl + MAXV + 1, &r), 0);
	/* a line that never ends: waited for up to the limit, refused there */
	memset(big, 'a', sizeof(big));
	assert_int_equal(next(DPC_STREAM_TEXT, big, REQMAX - 1, &r), 0);
	assert_int_equal(next(DPC_STREAM_TEXT, big, REQMAX, &r), DPC_STREAM_TOO_LARGE);
	n = dpc_stream_too_large(DPC_STREAM_TEXT, big, REQMAX, out);
	assert_memory_equal(out, "CLIENT_ERROR line too long\r\n", n);
}

static void test_binary(void **state)
{
	static uint8_t b[2 * DPC_MC_HDR_LEN + 600];
	struct dpc_stream_req r;
	size_t n, m;
	(void)state;

	n = bin(b, DPC_OP_GETKQ, 0, "key", 0);
	m = bin(b + n, DPC_OP_NOOP, 0, "", 0);
	assert_int_equal(next(DPC_STREAM_BIN, b, n + m, &r), (int)n);
	assert_false(r.write);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(next(DPC_STREAM_BIN, b, i, &r), 0); /* wait for the rest */
	n = bin(b, DPC_OP_SETQ, 8, "key", 100);
	assert_int_equal(next(DPC_STREAM_BIN, b, n, &r), (int)n);
	assert_true(r.write);
	assert_int_equal(r.keylen, 3);
	assert_memory_equal(r.key, "key", 3);
	assert_true(r.resp_max >= DPC_MC_HDR_LEN + 20);
	n = bin(b, DPC_OP_GATK, 4, "key", 0);
	assert_int_equal(next(DPC_STREAM_BIN, b, n, &r), (int)n);
	assert_true(r.write);
	assert_true(r.resp_max >= MAXV + DPC_MC_HDR_LEN + 4 + 3);
	/* a write without a valid key is placed nowhere: the handler refuses it */
	n = bin(b, DPC_OP_SET, 8, "", 5);
	assert_int_equal(next(DPC_STREAM_BIN, b, n, &r), (int)n);
	assert_false(r.write);
	n = bin(b, DPC_OP_QUITQ, 0, "", 0);
	assert_int_equal(next(DPC_STREAM_BIN, b, n, &r), (int)n);
	assert_true(r.quit);
	/* bad magic, at once and after a whole request */
	b[0] = 'g';
	assert_int_equal(next(DPC_STREAM_BIN, b, 1, &r), DPC_STREAM_BAD_MAGIC);
	assert_int_equal(next(DPC_STREAM_BIN, b, 24, &r), DPC_STREAM_BAD_MAGIC);
}

static void test_binary_limits(void **state)
{
	uint8_t b[DPC_MC_HDR_LEN], out[DPC_STREAM_ERR_MAX];
	struct dpc_stream_req r;
	size_t n;
	(void)state;

	/* a 1 GB body is refused from the header, before any of it is read */
	dpc_mc_encode_req_hdr(b, DPC_OP_SET, 8, 3, 1u << 30, 0xaabbccddu, 0);
	assert_int_equal(next(DPC_STREAM_BIN, b, sizeof(b), &r), DPC_STREAM_TOO_LARGE);
	assert_true(r.quit);
	n = dpc_stream_too_large(DPC_STREAM_BIN, b, sizeof(b), out);
	assert_int_equal(n, DPC_MC_HDR_LEN + 10);
	assert_int_equal(out[0], DPC_MC_RES_MAGIC);
	assert_int_equal(out[1], DPC_OP_SET);
	assert_int_equal(dpc_get_be16(out + 6), DPC_MC_E2BIG);
	assert_int_equal(dpc_get_be32(out + 8), 10);
	assert_memory_equal(out + 12, b + 12, 4); /* opaque echoed */
	assert_memory_equal(out + DPC_MC_HDR_LEN, "Too large.", 10);
	/* the largest body that fits is waited for */
	dpc_mc_encode_req_hdr(b, DPC_OP_SET, 8, 3, (uint32_t)(REQMAX - DPC_MC_HDR_LEN - 11), 0, 0);
	assert_int_equal(next(DPC_STREAM_BIN, b, sizeof(b), &r), 0);
	/* a body length of 2^32-1 does not overflow */
	memset(b + 8, 0xff, 4);
	assert_int_equal(next(DPC_STREAM_BIN, b, sizeof(b), &r), DPC_STREAM_TOO_LARGE);
}

/* memcached closes the connection after a binary protocol error: the framer says quit */
static void test_binary_fatal(void **state)
{
	static uint8_t b[DPC_MC_HDR_LEN + 300];
	struct dpc_stream_req r;
	size_t n;
	(void)state;

	n = bin(b, DPC_OP_SET, 0, "key", 1); /* SET without its 8 bytes of extras */
	assert_int_equal(next(DPC_STREAM_BIN, b, n, &r), (int)n);
	assert_true(r.quit);
	assert_false(r.write); /* answered where it is: no store access */
	n = bin(b, DPC_OP_INCREMENT, 8, "key", 0); /* INCR with 8 bytes of extras, not 20 */
	assert_int_equal(next(DPC_STREAM_BIN, b, n, &r), (int)n);
	assert_true(r.quit);
	n = bin(b, DPC_OP_GET, 4, "key", 0); /* GET with extras */
	assert_int_equal(next(DPC_STREAM_BIN, b, n, &r), (int)n);
	assert_true(r.quit);
	memset(b, 0, sizeof(b));
	n = bin(b, DPC_OP_GET, 0, "", 0);
	memset(b + DPC_MC_HDR_LEN, 'k', 251);
	dpc_put_be16(b + 2, 251); /* a key over 250 bytes */
	dpc_put_be32(b + 8, 251);
	assert_int_equal(next(DPC_STREAM_BIN, b, DPC_MC_HDR_LEN + 251, &r), DPC_MC_HDR_LEN + 251);
	assert_true(r.quit);
	/* an unknown opcode is answered and the connection goes on, as in memcached */
	n = bin(b, 0x50, 0, "", 0);
	assert_int_equal(next(DPC_STREAM_BIN, b, n, &r), (int)n);
	assert_false(r.quit);
	/* a well-formed write is not fatal */
	n = bin(b, DPC_OP_SET, 8, "key", 1);
	assert_int_equal(next(DPC_STREAM_BIN, b, n, &r), (int)n);
	assert_false(r.quit);
	assert_true(r.write);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text_lines),
		cmocka_unit_test(test_text_storage),
		cmocka_unit_test(test_text_limits),
		cmocka_unit_test(test_binary),
		cmocka_unit_test(test_binary_limits),
		cmocka_unit_test(test_binary_fatal),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
