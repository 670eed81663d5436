/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file proto.h
 * memcached binary protocol codec and the memcached UDP frame header.
 * DPDK-free, allocation-free, thread-safe (pure functions on buffers).
 * Byte order is converted here and nowhere else.
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

/*
 * The binary opcodes memcached 1.6 serves, defined once:
 * X(name, code, base, quiet).  Quiet variants fold onto their base
 * opcode; the codec's opcode table and names are generated from this.
 */
#define DPC_MC_OPCODES(X) \
	X(GET,        0x00, GET,       0) \
	X(SET,        0x01, SET,       0) \
	X(ADD,        0x02, ADD,       0) \
	X(REPLACE,    0x03, REPLACE,   0) \
	X(DELETE,     0x04, DELETE,    0) \
	X(INCREMENT,  0x05, INCREMENT, 0) \
	X(DECREMENT,  0x06, DECREMENT, 0) \
	X(QUIT,       0x07, QUIT,      0) \
	X(FLUSH,      0x08, FLUSH,     0) \
	X(GETQ,       0x09, GET,       1) \
	X(NOOP,       0x0a, NOOP,      0) \
	X(VERSION,    0x0b, VERSION,   0) \
	X(GETK,       0x0c, GETK,      0) \
	X(GETKQ,      0x0d, GETK,      1) \
	X(APPEND,     0x0e, APPEND,    0) \
	X(PREPEND,    0x0f, PREPEND,   0) \
	X(STAT,       0x10, STAT,      0) \
	X(SETQ,       0x11, SET,       1) \
	X(ADDQ,       0x12, ADD,       1) \
	X(REPLACEQ,   0x13, REPLACE,   1) \
	X(DELETEQ,    0x14, DELETE,    1) \
	X(INCREMENTQ, 0x15, INCREMENT, 1) \
	X(DECREMENTQ, 0x16, DECREMENT, 1) \
	X(QUITQ,      0x17, QUIT,      1) \
	X(FLUSHQ,     0x18, FLUSH,     1) \
	X(APPENDQ,    0x19, APPEND,    1) \
	X(PREPENDQ,   0x1a, PREPEND,   1) \
	X(TOUCH,      0x1c, TOUCH,     0) \
	X(GAT,        0x1d, GAT,       0) \
	X(GATQ,       0x1e, GAT,       1) \
	X(GATK,       0x23, GATK,      0) \
	X(GATKQ,      0x24, GATK,      1)

enum dpc_mc_opcode {
#define DPC_X_OP(name, code, base, quiet) DPC_OP_##name = code,
	DPC_MC_OPCODES(DPC_X_OP)
#undef DPC_X_OP
};

/*
 * Response statuses, defined once: X(name, code, text).  The text is what
 * memcached 1.6 sends as the value of an error response (proto_bin.c
 * write_bin_error()); statuses memcached never sends carry our own words.
 * The handler's error responses and dpcache-cli's messages both use it.
 */
#define DPC_MC_STATUSES(X) \
	X(OK,              0x0000, "Success") \
	X(KEY_ENOENT,      0x0001, "Not found") \
	X(KEY_EEXISTS,     0x0002, "Data exists for key.") \
	X(E2BIG,           0x0003, "Too large.") \
	X(EINVAL,          0x0004, "Invalid arguments") \
	X(NOT_STORED,      0x0005, "Not stored.") \
	X(DELTA_BADVAL,    0x0006, "Non-numeric server-side value for incr or decr") \
	X(AUTH_ERROR,      0x0020, "Auth failure.") \
	X(UNKNOWN_COMMAND, 0x0081, "Unknown command") \
	X(ENOMEM,          0x0082, "Out of memory") \
	X(NOT_SUPPORTED,   0x0083, "Not supported") \
	X(EINTERNAL,       0x0084, "Internal error") \
	X(EBUSY,           0x0085, "Busy") \
	X(ETMPFAIL,        0x0086, "Temporary failure")

enum dpc_mc_status {
#define DPC_X_ST(name, code, text) DPC_MC_##name = code,
	DPC_MC_STATUSES(DPC_X_ST)
#undef DPC_X_ST
};

/** The text of a status (DPC_MC_STATUSES), or "Unknown status".  Thread-safe. */
const char *dpc_mc_status_text(uint16_t status);

/**
 * One decoded request.  Pointers point into the caller's buffer.  Quiet
 * opcodes are folded onto their base opcode (GETQ -> GET, GETKQ -> GETK,
 * SETQ -> SET, GATKQ -> GATK, ...) with @c quiet set.
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
	/**
	 * The error is a protocol error after which memcached closes the
	 * connection (lying lengths, key over 250 bytes, wrong extras/key/body
	 * shape): answer it and read no further requests of the datagram.
	 */
	bool fatal;
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
