/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file textproto.h
 * memcached text protocol codec (the second codec over UDP: a datagram
 * whose payload does not start with the binary magic 0x80 is text, as
 * memcached decides per datagram).  Parses one command line (and its data
 * block for storage commands) at a time.  DPDK-free, allocation-free,
 * thread-safe (pure functions on buffers); pointers point into the
 * caller's buffer.
 */
#ifndef DPCACHE_TEXTPROTO_H
#define DPCACHE_TEXTPROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dpcache/common.h"

enum dpc_txt_cmd {
	DPC_TXT_GET, DPC_TXT_GETS, DPC_TXT_GAT, DPC_TXT_GATS,
	DPC_TXT_SET, DPC_TXT_ADD, DPC_TXT_REPLACE, DPC_TXT_APPEND, DPC_TXT_PREPEND, DPC_TXT_CAS,
	DPC_TXT_DELETE, DPC_TXT_INCR, DPC_TXT_DECR, DPC_TXT_TOUCH,
	DPC_TXT_FLUSH_ALL, DPC_TXT_VERSION, DPC_TXT_VERBOSITY, DPC_TXT_STATS, DPC_TXT_QUIT,
	DPC_TXT_ERROR,   /**< refused: answer with @c error */
};

struct dpc_txt_req {
	enum dpc_txt_cmd cmd;
	bool noreply;
	/** single-key commands: the key (1..250 bytes) */
	const uint8_t *key;
	size_t keylen;
	/** GET/GETS/GAT/GATS: the key list (space-separated); walk it with dpc_txt_next_key() */
	const uint8_t *keys, *keys_end;
	uint32_t flags;      /**< storage commands */
	uint32_t exptime;    /**< storage, TOUCH, GAT/GATS, FLUSH_ALL (delay) */
	uint32_t vlen;       /**< storage commands: data block length */
	const uint8_t *value;
	uint64_t cas;        /**< CAS: the unique to compare */
	uint64_t delta;      /**< INCR/DECR */
	/** DPC_TXT_ERROR: memcached's answer line without CRLF, e.g. "ERROR" */
	const char *error;
	/** STATS: the group argument (NULL if none) and the one after it ("detail on") */
	const uint8_t *arg, *arg2;
	size_t arglen, arg2len;
	/**
	 * DPC_TXT_ERROR for a SET refused as too large: @c key is set and its
	 * old value must be removed (memcached never leaves stale data then).
	 */
	bool drop_key;
};

/**
 * Parse one command at buf[0..len).  Returns the bytes consumed (> 0;
 * the command may be DPC_TXT_ERROR, and parsing can go on after it), or
 * DPC_MC_PARSE_TRUNCATED (proto.h) when no complete line is there.
 * Storage commands whose data block is missing or not followed by CRLF
 * are answered "CLIENT_ERROR bad data chunk" and consume the rest of the
 * buffer (the framing is lost).  @p max_value: largest data block.
 */
int dpc_txt_parse(const uint8_t *buf, size_t len, uint32_t max_value, struct dpc_txt_req *req);

/**
 * Next key of a key list: stores its start in *key and returns its
 * length (0: no more keys).  Advances *p.  Keys over 250 bytes are
 * returned as they are (the caller refuses them).
 */
size_t dpc_txt_next_key(const uint8_t **p, const uint8_t *end, const uint8_t **key);

#endif /* DPCACHE_TEXTPROTO_H */
