/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target: dpc_mc_parse() on arbitrary bytes, request after
 * request, as the handler walks a datagram.  Invariants (abort() if
 * broken): consumed bytes never exceed the input and equal 24 + bodylen;
 * every pointer handed out lies inside the consumed request; a request
 * without error has the shape its opcode requires, a key of 1..250 bytes
 * where one is needed and a value within max_value; the response header
 * encoder and response parser agree.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dpcache/proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void inside(const uint8_t *p, size_t n, const uint8_t *lo, const uint8_t *hi)
{
	if (p == NULL) {
		if (n != 0)
			abort();
		return;
	}
	if (p < lo || p + n > hi)
		abort();
}

static void check_shape(const struct dpc_mc_req *r, uint32_t max_value)
{
	switch (r->base) {
	case DPC_OP_GET: case DPC_OP_GETK: case DPC_OP_DELETE:
		if (r->extlen != 0 || r->keylen == 0 || r->vlen != 0)
			abort();
		break;
	case DPC_OP_SET: case DPC_OP_ADD: case DPC_OP_REPLACE:
		if (r->extlen != 8 || r->keylen == 0 || r->vlen > max_value)
			abort();
		break;
	case DPC_OP_APPEND: case DPC_OP_PREPEND:
		if (r->extlen != 0 || r->keylen == 0 || r->vlen > max_value)
			abort();
		break;
	case DPC_OP_INCREMENT: case DPC_OP_DECREMENT:
		if (r->extlen != 20 || r->keylen == 0 || r->vlen != 0)
			abort();
		break;
	case DPC_OP_TOUCH: case DPC_OP_GAT: case DPC_OP_GATK:
		if (r->extlen != 4 || r->keylen == 0 || r->vlen != 0)
			abort();
		break;
	case DPC_OP_FLUSH:
		if ((r->extlen != 0 && r->extlen != 4) || r->keylen != 0 || r->vlen != 0)
			abort();
		break;
	case DPC_OP_STAT:
		if (r->extlen != 0 || r->vlen != 0)
			abort();
		break;
	case DPC_OP_NOOP: case DPC_OP_VERSION: case DPC_OP_QUIT:
		if (r->extlen != 0 || r->keylen != 0 || r->vlen != 0)
			abort();
		break;
	default:
		abort(); /* unknown opcodes must carry an error */
	}
	if (r->keylen > DPC_KEY_MAX)
		abort();
	if (dpc_mc_base_op(r->opcode) != r->base || dpc_mc_is_quiet(r->opcode) != r->quiet)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* the first byte picks a value limit, so E2BIG is reachable */
	uint32_t max_value = size > 0 ? 16u * data[0] : 1024;
	size_t off = size > 0 ? 1 : 0;
	unsigned guard = 0;

	while (off < size) {
		struct dpc_mc_req r;
		const uint8_t *buf = data + off;
		size_t len = size - off;
		int n = dpc_mc_parse(buf, len, max_value, &r);

		if (n < 0) {
			if (n != DPC_MC_PARSE_TRUNCATED && n != DPC_MC_PARSE_BAD_MAGIC)
				abort();
			if (n == DPC_MC_PARSE_BAD_MAGIC &&
			    (len < DPC_MC_HDR_LEN || buf[0] == DPC_MC_REQ_MAGIC))
				abort();
			break;
		}
		if (n < (int)DPC_MC_HDR_LEN || (size_t)n > len || (size_t)n != DPC_MC_HDR_LEN + r.bodylen)
			abort();
		inside(r.extras, r.extlen, buf + DPC_MC_HDR_LEN, buf + n);
		inside(r.key, r.keylen, buf + DPC_MC_HDR_LEN, buf + n);
		inside(r.value, r.vlen, buf + DPC_MC_HDR_LEN, buf + n);
		if ((uint64_t)r.extlen + r.keylen + r.vlen > r.bodylen)
			abort();
		if (r.error == 0)
			check_shape(&r, max_value);
		else if (r.error != DPC_MC_EINVAL && r.error != DPC_MC_E2BIG &&
			 r.error != DPC_MC_UNKNOWN_COMMAND)
			abort();

		/* response header round trip */
		uint8_t hdr[DPC_MC_HDR_LEN + 8];
		struct dpc_mc_res res;
		memset(hdr + DPC_MC_HDR_LEN, 0, 8);
		dpc_mc_encode_res_hdr(hdr, &r, r.error, 4, 1, 3, r.cas);
		if (dpc_mc_parse_res(hdr, sizeof(hdr), &res) != (int)sizeof(hdr) || res.status != r.error ||
		    res.opaque != r.opaque || res.cas != r.cas || res.opcode != r.opcode || res.vlen != 3)
			abort();
		off += (size_t)n;
		if (++guard > 100000)
			abort();
	}
	/* and the response parser on the same bytes */
	struct dpc_mc_res res;
	int n = dpc_mc_parse_res(data, size, &res);
	if (n > 0 && ((size_t)n > size || res.extlen + res.keylen + (uint64_t)res.vlen != res.bodylen))
		abort();
	return 0;
}
