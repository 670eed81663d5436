/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * memcached binary protocol codec and the memcached UDP frame header.
 *
 * Wire layout of a binary header (24 bytes, network order):
 *   0 magic  1 opcode  2 keylen(16)  4 extlen  5 datatype  6 vbucket/status(16)
 *   8 bodylen(32)  12 opaque(32, echoed raw)  16 cas(64)
 * Byte order is converted here and nowhere else.
 *
 * Validation follows memcached 1.6 proto_bin.c (dispatch_bin_command), in
 * its order: keylen + extlen > bodylen -> UNKNOWN_COMMAND; key > 250 ->
 * EINVAL; unknown opcode -> UNKNOWN_COMMAND; wrong extras / key / body
 * shape for the opcode -> EINVAL; value over the limit -> E2BIG.  After
 * all but the last two memcached closes the connection (req->fatal): the
 * handler answers and reads no further requests of the datagram.
 */
#include <string.h>

#include "dpcache/byteorder.h"
#include "dpcache/proto.h"

/* ---- UDP frame header ----------------------------------------------------- */

int dpc_frame_decode(const uint8_t *buf, size_t len, struct dpc_udp_frame *f)
{
	if (dpc_unlikely(buf == NULL || f == NULL || len < DPC_UDP_FRAME_LEN))
		return -EINVAL;
	f->req_id = dpc_get_be16(buf);
	f->seq = dpc_get_be16(buf + 2);
	f->total = dpc_get_be16(buf + 4);
	f->reserved = dpc_get_be16(buf + 6);
	return 0;
}

void dpc_frame_encode(uint8_t *buf, const struct dpc_udp_frame *f)
{
	dpc_put_be16(buf, f->req_id);
	dpc_put_be16(buf + 2, f->seq);
	dpc_put_be16(buf + 4, f->total);
	dpc_put_be16(buf + 6, f->reserved);
}

/* ---- opcode tables -------------------------------------------------------- */

#define F_QUIET 0x100u
#define F_KNOWN 0x200u
#define K(op) ((op) | F_KNOWN)
#define Q(op) ((op) | F_KNOWN | F_QUIET)

/*
 * Per opcode: base opcode (low byte), F_KNOWN, F_QUIET for quiet variants;
 * 0 (unknown) where memcached's binary dispatch has no case either.
 */
static const uint16_t op_table[256] = {
#define DPC_X_OP(name, code, base, quiet) \
	[DPC_OP_##name] = DPC_OP_##base | F_KNOWN | ((quiet) ? F_QUIET : 0),
	DPC_MC_OPCODES(DPC_X_OP)
#undef DPC_X_OP
};

bool dpc_mc_is_quiet(uint8_t op)
{
	return (op_table[op] & F_QUIET) != 0;
}

uint8_t dpc_mc_base_op(uint8_t op)
{
	uint16_t t = op_table[op];

	return (t & F_KNOWN) ? (uint8_t)t : op;
}

bool dpc_mc_is_write(uint8_t base_op)
{
	switch (base_op) {
	case DPC_OP_SET: case DPC_OP_ADD: case DPC_OP_REPLACE: case DPC_OP_APPEND:
	case DPC_OP_PREPEND: case DPC_OP_DELETE: case DPC_OP_INCREMENT: case DPC_OP_DECREMENT:
	case DPC_OP_TOUCH: case DPC_OP_GAT: case DPC_OP_GATK:
		return true;
	default:
		return false;
	}
}

const char *dpc_mc_op_name(uint8_t op)
{
	switch (op) {
#define DPC_X_OP(name, code, base, quiet) case DPC_OP_##name: return #name;
	DPC_MC_OPCODES(DPC_X_OP)
#undef DPC_X_OP
	default: return "UNKNOWN";
	}
}

const char *dpc_mc_status_text(uint16_t status)
{
	switch (status) {
#define DPC_X_ST(name, code, text) case DPC_MC_##name: return text;
	DPC_MC_STATUSES(DPC_X_ST)
#undef DPC_X_ST
	default: return "Unknown status";
	}
}

/* ---- requests --------------------------------------------------------------- */

/*
 * Shape of the body per base opcode (memcached 1.6 dispatch_bin_command,
 * slightly stricter where memcached would misframe the stream: a TOUCH,
 * STAT or FLUSH with trailing value bytes is refused rather than having
 * those bytes parsed as the next request).
 */
static uint16_t check_shape(uint8_t base, unsigned extlen, unsigned keylen, uint32_t vlen)
{
	bool ok;

	switch (base) {
	case DPC_OP_GET: case DPC_OP_GETK: case DPC_OP_DELETE:
		ok = extlen == 0 && keylen > 0 && vlen == 0;
		break;
	case DPC_OP_SET: case DPC_OP_ADD: case DPC_OP_REPLACE:
		ok = extlen == 8 && keylen > 0;
		break;
	case DPC_OP_APPEND: case DPC_OP_PREPEND:
		ok = extlen == 0 && keylen > 0;
		break;
	case DPC_OP_INCREMENT: case DPC_OP_DECREMENT:
		ok = extlen == 20 && keylen > 0 && vlen == 0;
		break;
	case DPC_OP_TOUCH: case DPC_OP_GAT: case DPC_OP_GATK:
		ok = extlen == 4 && keylen > 0 && vlen == 0;
		break;
	case DPC_OP_FLUSH:
		ok = (extlen == 0 || extlen == 4) && keylen == 0 && vlen == 0;
		break;
	case DPC_OP_STAT:
		ok = extlen == 0 && vlen == 0;
		break;
	default: /* NOOP, VERSION, QUIT */
		ok = extlen == 0 && keylen == 0 && vlen == 0;
		break;
	}
	return ok ? 0 : DPC_MC_EINVAL;
}

int dpc_mc_parse(const uint8_t *buf, size_t len, uint32_t max_value, struct dpc_mc_req *req)
{
	DPC_RETURN_IF(buf == NULL || req == NULL, DPC_MC_PARSE_TRUNCATED);
	if (dpc_unlikely(len < DPC_MC_HDR_LEN))
		return DPC_MC_PARSE_TRUNCATED;
	if (dpc_unlikely(buf[0] != DPC_MC_REQ_MAGIC))
		return DPC_MC_PARSE_BAD_MAGIC;

	uint32_t bodylen = dpc_get_be32(buf + 8);
	/* the whole request must be in this datagram before anything else is read */
	if (dpc_unlikely(bodylen > len - DPC_MC_HDR_LEN || bodylen > INT32_MAX - DPC_MC_HDR_LEN))
		return DPC_MC_PARSE_TRUNCATED;

	uint8_t op = buf[1];
	uint16_t t = op_table[op];
	unsigned keylen = dpc_get_be16(buf + 2);
	unsigned extlen = buf[4];

	req->opcode = op;
	req->base = (uint8_t)t;
	req->quiet = (t & F_QUIET) != 0;
	req->vbucket = dpc_get_be16(buf + 6);
	req->bodylen = bodylen;
	memcpy(&req->opaque, buf + 12, 4);
	req->cas = dpc_get_be64(buf + 16);
	req->flags = 0;
	req->exptime = 0;
	req->delta = 0;
	req->initial = 0;
	req->error = 0;
	req->fatal = false;

	if (dpc_unlikely((uint64_t)keylen + extlen > bodylen)) {
		/* lying lengths: nothing inside the body can be located */
		req->base = dpc_mc_base_op(op);
		req->extlen = 0;
		req->keylen = 0;
		req->vlen = 0;
		req->extras = req->key = req->value = NULL;
		req->error = DPC_MC_UNKNOWN_COMMAND;
		req->fatal = true;
		return (int)(DPC_MC_HDR_LEN + bodylen);
	}
	req->extlen = (uint8_t)extlen;
	req->keylen = (uint16_t)keylen;
	req->vlen = bodylen - (uint32_t)extlen - (uint32_t)keylen;
	req->extras = buf + DPC_MC_HDR_LEN;
	req->key = req->extras + extlen;
	req->value = req->key + keylen;

	if (dpc_unlikely(keylen > DPC_KEY_MAX)) {
		req->base = dpc_mc_base_op(op);
		req->error = DPC_MC_EINVAL;
		req->fatal = true;
	} else if (dpc_unlikely(!(t & F_KNOWN))) {
		req->base = op;
		req->error = DPC_MC_UNKNOWN_COMMAND;
	} else if (dpc_unlikely((req->error = check_shape(req->base, extlen, keylen, req->vlen)) != 0)) {
		req->fatal = true;
	} else {
		const uint8_t *x = req->extras;

		switch (req->base) {
		case DPC_OP_SET: case DPC_OP_ADD: case DPC_OP_REPLACE:
			req->flags = dpc_get_be32(x);
			req->exptime = dpc_get_be32(x + 4);
			/* fall through */
		case DPC_OP_APPEND: case DPC_OP_PREPEND:
			if (req->vlen > max_value)
				req->error = DPC_MC_E2BIG;
			break;
		case DPC_OP_INCREMENT: case DPC_OP_DECREMENT:
			req->delta = dpc_get_be64(x);
			req->initial = dpc_get_be64(x + 8);
			req->exptime = dpc_get_be32(x + 16);
			break;
		case DPC_OP_TOUCH: case DPC_OP_GAT: case DPC_OP_GATK:
			req->exptime = dpc_get_be32(x);
			break;
		case DPC_OP_FLUSH:
			if (extlen == 4)
				req->exptime = dpc_get_be32(x);
			break;
		default:
			break;
		}
	}
	return (int)(DPC_MC_HDR_LEN + bodylen);
}

void dpc_mc_encode_res_hdr(uint8_t *out, const struct dpc_mc_req *req, uint16_t status,
			   uint8_t extlen, uint16_t keylen, uint32_t vlen, uint64_t cas)
{
	out[0] = DPC_MC_RES_MAGIC;
	out[1] = req->opcode;
	dpc_put_be16(out + 2, keylen);
	out[4] = extlen;
	out[5] = 0;
	dpc_put_be16(out + 6, status);
	dpc_put_be32(out + 8, (uint32_t)extlen + keylen + vlen);
	memcpy(out + 12, &req->opaque, 4);
	dpc_put_be64(out + 16, cas);
}

void dpc_mc_encode_req_hdr(uint8_t *out, uint8_t opcode, uint8_t extlen, uint16_t keylen,
			   uint32_t vlen, uint32_t opaque, uint64_t cas)
{
	out[0] = DPC_MC_REQ_MAGIC;
	out[1] = opcode;
	dpc_put_be16(out + 2, keylen);
	out[4] = extlen;
	out[5] = 0;
	dpc_put_be16(out + 6, 0);
	dpc_put_be32(out + 8, (uint32_t)extlen + keylen + vlen);
	memcpy(out + 12, &opaque, 4);
	dpc_put_be64(out + 16, cas);
}

int dpc_mc_parse_res(const uint8_t *buf, size_t len, struct dpc_mc_res *res)
{
	DPC_RETURN_IF(buf == NULL || res == NULL, DPC_MC_PARSE_TRUNCATED);
	if (len < DPC_MC_HDR_LEN)
		return DPC_MC_PARSE_TRUNCATED;
	if (buf[0] != DPC_MC_RES_MAGIC)
		return DPC_MC_PARSE_BAD_MAGIC;
	uint32_t bodylen = dpc_get_be32(buf + 8);
	unsigned keylen = dpc_get_be16(buf + 2), extlen = buf[4];
	if (bodylen > len - DPC_MC_HDR_LEN || bodylen > INT32_MAX - DPC_MC_HDR_LEN ||
	    (uint64_t)keylen + extlen > bodylen)
		return DPC_MC_PARSE_TRUNCATED;
	res->opcode = buf[1];
	res->extlen = (uint8_t)extlen;
	res->keylen = (uint16_t)keylen;
	res->status = dpc_get_be16(buf + 6);
	res->bodylen = bodylen;
	memcpy(&res->opaque, buf + 12, 4);
	res->cas = dpc_get_be64(buf + 16);
	res->extras = buf + DPC_MC_HDR_LEN;
	res->key = res->extras + extlen;
	res->value = res->key + keylen;
	res->vlen = bodylen - (uint32_t)extlen - (uint32_t)keylen;
	return (int)(DPC_MC_HDR_LEN + bodylen);
}
