/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Stream framing for memcached over TCP (stream.h): where the next whole
 * request ends in a connection's input, and what the TCP server needs to
 * know to place it.  Every length is checked against req_max before more
 * input is waited for, so a request that cannot fit is refused at once.
 */
#include <string.h>

#include "dpcache/byteorder.h"
#include "dpcache/proto.h"
#include "dpcache/stream.h"

#define MAX_TOKENS 8

/* "VALUE <key> <flags> <bytes> <cas>\r\n" for a 250-byte key, plus the data's CRLF. */
#define TXT_VALUE_OVERHEAD (6u + DPC_KEY_MAX + 1u + 10u + 1u + 10u + 1u + 20u + 2u + 2u)
/* The longest answer of a text write that is not a get: an error line. */
#define TXT_WRITE_RESP 128u
/* Binary: a header and memcached's longest error text. */
#define BIN_WRITE_RESP (DPC_MC_HDR_LEN + 64u)

struct tok {
	const uint8_t *p;
	size_t n;
};

static bool tok_is(const struct tok *t, const char *s)
{
	size_t n = strlen(s);

	return t->n == n && memcmp(t->p, s, n) == 0;
}

/* Split a line (without its line end) at spaces; at most MAX_TOKENS. */
static unsigned tokenize(const uint8_t *p, size_t n, struct tok *t)
{
	unsigned nt = 0;
	size_t i = 0;

	while (i < n && nt < MAX_TOKENS) {
		while (i < n && p[i] == ' ')
			i++;
		if (i == n)
			break;
		size_t s = i;
		while (i < n && p[i] != ' ')
			i++;
		t[nt].p = p + s;
		t[nt].n = i - s;
		nt++;
	}
	return nt;
}

/* Decimal, saturating at UINT64_MAX; false if not all digits. */
static bool to_u64_sat(const struct tok *t, uint64_t *out)
{
	uint64_t v = 0;

	if (t->n == 0)
		return false;
	for (size_t i = 0; i < t->n; i++) {
		unsigned d = (unsigned)(t->p[i] - '0');
		if (d > 9)
			return false;
		v = v > (UINT64_MAX - d) / 10 ? UINT64_MAX : v * 10 + d;
	}
	*out = v;
	return true;
}

static void set_key(struct dpc_stream_req *r, const struct tok *t)
{
	if (t->n > 0 && t->n <= DPC_KEY_MAX) {
		r->key = t->p;
		r->keylen = (uint16_t)t->n;
	}
}

static int frame_binary(const uint8_t *buf, size_t len, size_t req_max, uint32_t max_value,
			struct dpc_stream_req *r)
{
	if (len < DPC_MC_HDR_LEN)
		return buf[0] == DPC_MC_REQ_MAGIC ? 0 : DPC_STREAM_BAD_MAGIC;
	if (buf[0] != DPC_MC_REQ_MAGIC)
		return DPC_STREAM_BAD_MAGIC;

	uint64_t total = DPC_MC_HDR_LEN + (uint64_t)dpc_get_be32(buf + 8);
	if (total > req_max) {
		r->quit = true;
		return DPC_STREAM_TOO_LARGE;
	}
	if (len < total)
		return 0;

	unsigned keylen = dpc_get_be16(buf + 2), extlen = buf[4];
	uint8_t base = dpc_mc_base_op(buf[1]);
	struct dpc_mc_req req;

	r->len = (uint32_t)total;
	/* memcached closes the connection after QUIT and after a protocol error (lying
	 * lengths, a key over 250 bytes, the wrong extras/key/value shape: req.fatal); the
	 * handler answers the error where it is, with no store access */
	(void)dpc_mc_parse(buf, (size_t)total, max_value, &req);
	r->quit = base == DPC_OP_QUIT || req.fatal;
	if (dpc_mc_is_write(base) && !req.fatal && keylen > 0) {
		r->write = true;
		r->key = buf + DPC_MC_HDR_LEN + extlen;
		r->keylen = (uint16_t)keylen;
		if (base == DPC_OP_GAT || base == DPC_OP_GATK)
			r->resp_max = DPC_MC_HDR_LEN + 4u + keylen + (uint64_t)max_value;
		else
			r->resp_max = BIN_WRITE_RESP;
	}
	return (int)total;
}

/* Bytes announced by a storage command line, or false if the line says none. */
static bool storage_bytes(const struct tok *t, unsigned nt, uint64_t *bytes)
{
	static const char *const cmds[] = { "set", "add", "replace", "append", "prepend", "cas" };
	bool storage = false;

	for (unsigned i = 0; i < DPC_ARRAY_SIZE(cmds) && !storage; i++)
		storage = tok_is(&t[0], cmds[i]);
	/* set <key> <flags> <exptime> <bytes> ..., cas the same: bytes is token 4 */
	return storage && nt >= 5 && to_u64_sat(&t[4], bytes);
}

static bool is_keyed_write(const struct tok *t)
{
	static const char *const cmds[] = {
		"set", "add", "replace", "append", "prepend", "cas", "delete", "incr", "decr", "touch",
	};

	for (unsigned i = 0; i < DPC_ARRAY_SIZE(cmds); i++)
		if (tok_is(t, cmds[i]))
			return true;
	return false;
}

static int frame_text(const uint8_t *buf, size_t len, size_t req_max, uint32_t max_value,
		      struct dpc_stream_req *r)
{
	size_t scan = len < req_max ? len : req_max;
	const uint8_t *nl = memchr(buf, '\n', scan);

	if (nl == NULL) {
		if (len >= req_max) {
			r->quit = true;
			return DPC_STREAM_TOO_LARGE;
		}
		return 0;
	}

	size_t line = (size_t)(nl - buf) + 1, n = line - 1;
	struct tok t[MAX_TOKENS];
	uint64_t bytes, total = line;

	if (n > 0 && buf[n - 1] == '\r')
		n--;
	unsigned nt = tokenize(buf, n, t);
	if (nt == 0)
		goto done;
	if (storage_bytes(t, nt, &bytes)) {
		/* the data block and its CRLF belong to this request */
		total = bytes > req_max ? UINT64_MAX : line + bytes + 2;
		if (total > req_max) {
			r->quit = true;
			return DPC_STREAM_TOO_LARGE;
		}
		if (len < total)
			return 0;
	}
	r->quit = nt == 1 && tok_is(&t[0], "quit");
	if (nt >= 2 && is_keyed_write(&t[0])) {
		r->write = true;
		set_key(r, &t[1]);
		r->resp_max = TXT_WRITE_RESP;
	} else if (nt >= 3 && (tok_is(&t[0], "gat") || tok_is(&t[0], "gats"))) {
		/* gat <exptime> <key>*: the first key places it; every key may answer a value */
		uint64_t keys = 0;
		for (size_t i = 0; i < n;) {
			while (i < n && buf[i] == ' ')
				i++;
			if (i < n)
				keys++;
			while (i < n && buf[i] != ' ')
				i++;
		}
		r->write = true;
		set_key(r, &t[2]);
		r->resp_max = (keys - 2) * (TXT_VALUE_OVERHEAD + (uint64_t)max_value) + 5u;
	}
	if (r->write && r->key == NULL)
		r->write = false; /* no valid key: refused where it is, no store access */
done:
	r->len = (uint32_t)total;
	return (int)total;
}

int dpc_stream_next(enum dpc_stream_proto proto, const uint8_t *buf, size_t len, size_t req_max,
		    uint32_t max_value, struct dpc_stream_req *r)
{
	memset(r, 0, sizeof(*r));
	if (len == 0)
		return 0;
	if (req_max > INT32_MAX)
		req_max = INT32_MAX; /* results are ints */
	if (proto == DPC_STREAM_BIN)
		return frame_binary(buf, len, req_max, max_value, r);
	return frame_text(buf, len, req_max, max_value, r);
}

size_t dpc_stream_too_large(enum dpc_stream_proto proto, const uint8_t *buf, size_t len,
			    uint8_t *out)
{
	static const char bin_txt[] = "Too large.";
	static const char txt_big[] = "SERVER_ERROR object too large for cache\r\n";
	static const char txt_long[] = "CLIENT_ERROR line too long\r\n";

	if (proto == DPC_STREAM_BIN && len >= DPC_MC_HDR_LEN) {
		struct dpc_mc_req req = { .opcode = buf[1] };

		memcpy(&req.opaque, buf + 12, 4);
		dpc_mc_encode_res_hdr(out, &req, DPC_MC_E2BIG, 0, 0, sizeof(bin_txt) - 1, 0);
		memcpy(out + DPC_MC_HDR_LEN, bin_txt, sizeof(bin_txt) - 1);
		return DPC_MC_HDR_LEN + sizeof(bin_txt) - 1;
	}
	if (memchr(buf, '\n', len) != NULL) {
		memcpy(out, txt_big, sizeof(txt_big) - 1);
		return sizeof(txt_big) - 1;
	}
	memcpy(out, txt_long, sizeof(txt_long) - 1);
	return sizeof(txt_long) - 1;
}
