/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file proto.h
 * memcached binary protocol codec and the memcached UDP frame header.
 * DPDK-free, allocation-free, thread-safe (pure functions on buffers).
 * Byte order is converted here and nowhere else (STYLE.md #12).
 */
#ifndef DPCACHE_PROTO_H
#define DPCACHE_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dpcache/common.h"

/* ---- memcached UDP frame header (8 bytes, network order) ---------------- */
struct dpc_udp_frame {
	uint16_t req_id;    /* 0: request id, echoed in every response datagram */
	uint16_t seq;       /* 2: datagram number 0..total-1 */
	uint16_t total;     /* 4: datagrams in this message */
	uint16_t reserved;  /* 6: 0 */
};
#define DPC_UDP_FRAME_LEN 8u
/** Largest UDP payload memcached sends per datagram, frame header included. */
#define DPC_UDP_MAX_PAYLOAD 1400u
#define DPC_UDP_MAX_DATA (DPC_UDP_MAX_PAYLOAD - DPC_UDP_FRAME_LEN)

/** Decode a frame header: 0, or -EINVAL if len < 8. */
int dpc_frame_decode(const uint8_t *buf, size_t len, struct dpc_udp_frame *f);
void dpc_frame_encode(uint8_t *buf, const struct dpc_udp_frame *f);

/* ---- binary protocol ------------------------------------------------------ */
#define DPC_MC_REQ_MAGIC 0x80u
#define DPC_MC_RES_MAGIC 0x81u
#define DPC_MC_HDR_LEN 24u

enum dpc_mc_opcode {
	DPC_OP_GET = 0x00, DPC_OP_SET = 0x01, DPC_OP_ADD = 0x02, DPC_OP_REPLACE = 0x03,
	DPC_OP_DELETE = 0x04, DPC_OP_INCREMENT = 0x05, DPC_OP_DECREMENT = 0x06,
	DPC_OP_QUIT = 0x07, DPC_OP_FLUSH = 0x08, DPC_OP_GETQ = 0x09, DPC_OP_NOOP = 0x0a,
	DPC_OP_VERSION = 0x0b, DPC_OP_GETK = 0x0c, DPC_OP_GETKQ = 0x0d,
	DPC_OP_APPEND = 0x0e, DPC_OP_PREPEND = 0x0f, DPC_OP_STAT = 0x10,
	DPC_OP_SETQ = 0x11, DPC_OP_ADDQ = 0x12, DPC_OP_REPLACEQ = 0x13,
	DPC_OP_DELETEQ = 0x14, DPC_OP_INCREMENTQ = 0x15, DPC_OP_DECREMENTQ = 0x16,
	DPC_OP_QUITQ = 0x17, DPC_OP_FLUSHQ = 0x18, DPC_OP_APPENDQ = 0x19,
	DPC_OP_PREPENDQ = 0x1a, DPC_OP_TOUCH = 0x1c, DPC_OP_GAT = 0x1d,
	DPC_OP_GATQ = 0x1e, DPC_OP_GATK = 0x23, DPC_OP_GATKQ = 0x24,
};

enum dpc_mc_status {
	DPC_MC_OK = 0x0000, DPC_MC_KEY_ENOENT = 0x0001, DPC_MC_KEY_EEXISTS = 0x0002,
	DPC_MC_E2BIG = 0x0003, DPC_MC_EINVAL = 0x0004, DPC_MC_NOT_STORED = 0x0005,
	DPC_MC_DELTA_BADVAL = 0x0006, DPC_MC_UNKNOWN_COMMAND = 0x0081,
	DPC_MC_ENOMEM = 0x0082, DPC_MC_NOT_SUPPORTED = 0x0083, DPC_MC_EINTERNAL = 0x0084,
	DPC_MC_EBUSY = 0x0085, DPC_MC_ETMPFAIL = 0x0086,
};

/**
 * One decoded request.  Pointers point into the caller's buffer.  Quiet
 * opcodes are folded onto their base opcode (GETQ -> GET, GETKQ -> GETK,
 * SETQ -> SET, GATKQ -> GATK, ...) with @c quiet set (STYLE.md #12).
 */
struct dpc_mc_req {
	uint8_t opcode;        /**< as received */
	uint8_t base;          /**< base (non-quiet) opcode */
	bool quiet;
	uint8_t extlen;
	uint16_t keylen;
	uint16_t vbucket;
	uint32_t bodylen;
	uint32_t vlen;         /**< bodylen - extlen - keylen */
	uint32_t opaque;       /**< raw bytes as received (echoed unchanged) */
	uint64_t cas;
	const uint8_t *extras, *key, *value;
	/* decoded extras (only those the opcode defines) */
	uint32_t flags;        /**< SET/ADD/REPLACE */
	uint32_t exptime;      /**< SET/ADD/REPLACE/INCR/DECR/TOUCH/GAT/FLUSH(delay) */
	uint64_t delta;        /**< INCR/DECR */
	uint64_t initial;      /**< INCR/DECR */
	/**
	 * 0 if the request is valid; else the status to answer with
	 * (DPC_MC_EINVAL for wrong extras/key presence, key > 250,
	 * DPC_MC_E2BIG for a value over max_value, DPC_MC_UNKNOWN_COMMAND
	 * for an unknown opcode or keylen + extlen > bodylen, as memcached
	 * does; in that last case extras/key/value are NULL and their
	 * lengths 0).  The request's bytes are still consumed, so the next
	 * one parses.
	 */
	uint16_t error;
};

/** Outcome of dpc_mc_parse() when no request could be framed at all. */
enum dpc_mc_parse_err {
	DPC_MC_PARSE_TRUNCATED = -1,  /**< fewer than 24 bytes, or body runs past the end */
	DPC_MC_PARSE_BAD_MAGIC = -2,  /**< not a request magic: drop the rest of the datagram */
};

/**
 * Parse one request at buf[0..len).  Every length relation is checked
 * before the body is read.  Returns the bytes consumed (> 0; the request
 * may still carry req->error), or a dpc_mc_parse_err (< 0).
 * @p max_value: largest acceptable value length.
 */
int dpc_mc_parse(const uint8_t *buf, size_t len, uint32_t max_value, struct dpc_mc_req *req);

/**
 * Encode a 24-byte response header into @p out for request @p req
 * (opcode as received, opaque echoed).
 */
void dpc_mc_encode_res_hdr(uint8_t *out, const struct dpc_mc_req *req, uint16_t status,
			   uint8_t extlen, uint16_t keylen, uint32_t vlen, uint64_t cas);

/**
 * Encode a 24-byte request header (clients: dpcache-bench, dpcache-cli,
 * tests).  @p opaque is copied raw (memcpy, no byte swap), as req->opaque
 * and res->opaque are read: a client gets back exactly the value it gave.
 */
void dpc_mc_encode_req_hdr(uint8_t *out, uint8_t opcode, uint8_t extlen, uint16_t keylen,
			   uint32_t vlen, uint32_t opaque, uint64_t cas);

/** Decoded response header (clients). */
struct dpc_mc_res {
	uint8_t opcode, extlen;
	uint16_t keylen, status;
	uint32_t bodylen, opaque;
	uint64_t cas;
	const uint8_t *extras, *key, *value;
	uint32_t vlen;
};
/** Parse one response; bytes consumed, or a dpc_mc_parse_err. */
int dpc_mc_parse_res(const uint8_t *buf, size_t len, struct dpc_mc_res *res);

/** true if @p op is a quiet opcode; dpc_mc_base_op() folds it. */
bool dpc_mc_is_quiet(uint8_t op);
uint8_t dpc_mc_base_op(uint8_t op);
/** true if @p op changes the store (must run on the key's owner). */
bool dpc_mc_is_write(uint8_t base_op);
const char *dpc_mc_op_name(uint8_t op);

#endif /* DPCACHE_PROTO_H */
