/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file stream.h
 * Stream framing for memcached over TCP: split a connection's byte stream
 * into whole requests before they reach the request handler (handler.h),
 * which takes complete requests only.  Binary requests are framed by the
 * header's body length; text requests by their command line plus, for the
 * storage commands (set/add/replace/append/prepend/cas), the data block
 * the line announces (<bytes> + CRLF).
 *
 * The framer never reads past what it is given and never needs more than
 * @c req_max bytes to decide: a request that cannot fit (a binary body
 * length, a data block, or a command line without its newline, over the
 * limit) is DPC_STREAM_TOO_LARGE at once, so a client that sends 1 GB
 * without ending its request is refused after at most req_max bytes.
 *
 * It also says what the TCP server needs to place each request: whether
 * it writes the store (and so must run on the owner of its key), its key,
 * whether it ends the connection, and a bound on the size of its answer.
 * DPDK-free, allocation-free, thread-safe (pure functions on buffers).
 */
#ifndef DPCACHE_STREAM_H
#define DPCACHE_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dpcache/common.h"

/** Protocol of a connection, decided by its first byte as memcached does. */
enum dpc_stream_proto {
	DPC_STREAM_BIN,   /**< first byte 0x80 */
	DPC_STREAM_TEXT,  /**< anything else */
};

/** dpc_stream_next() results below zero (0 means: not complete yet, read more). */
enum dpc_stream_err {
	DPC_STREAM_TOO_LARGE = -1,  /**< the request is over req_max: answer and close */
	DPC_STREAM_BAD_MAGIC = -2,  /**< binary connection, request without the 0x80 magic: close */
};

/** One framed request (pointers point into the caller's buffer). */
struct dpc_stream_req {
	uint32_t len;          /**< bytes of the whole request */
	bool write;            /**< changes the store: run it on the owner of @c key */
	/** QUIT / QUITQ / quit, or a binary protocol error (memcached closes the connection
	 * after its answer): the connection ends after it. */
	bool quit;
	const uint8_t *key;    /**< first key of a write (NULL: none, or not a valid key) */
	uint16_t keylen;
	/** An upper bound of the response bytes of a write (sizes the owner's answer buffer). */
	uint64_t resp_max;
};

/**
 * Frame the next request at buf[0..len) of a connection speaking @p proto.
 * Returns the bytes of one complete request (> 0, @p r filled), 0 when more
 * bytes are needed, or a dpc_stream_err.  @p req_max: the largest request
 * accepted; @p max_value: the server's largest value (for resp_max).
 * On DPC_STREAM_TOO_LARGE, @p r->quit is set and dpc_stream_too_large()
 * writes the answer.
 */
int dpc_stream_next(enum dpc_stream_proto proto, const uint8_t *buf, size_t len, size_t req_max,
		    uint32_t max_value, struct dpc_stream_req *r);

/**
 * memcached's answer to a request over the limit, for the request that
 * starts at buf[0..len) (at least its 24-byte header for binary): binary
 * E2BIG "Too large." with the opcode and opaque echoed, or the text line
 * "SERVER_ERROR object too large for cache" (or "CLIENT_ERROR line too
 * long" when not even the line fits).  Writes at most DPC_STREAM_ERR_MAX
 * bytes into @p out; returns the length.
 */
#define DPC_STREAM_ERR_MAX 64u
size_t dpc_stream_too_large(enum dpc_stream_proto proto, const uint8_t *buf, size_t len,
			    uint8_t *out);

#endif /* DPCACHE_STREAM_H */
