/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file ketama.h
 * Consistent hashing over several servers, compatible with libmemcached's
 * MEMCACHED_BEHAVIOR_KETAMA (MD5, 160 points per server weighted, 4 points
 * per MD5 digest, server names "host:port" (port omitted when 11211), the
 * continuum searched for the first point >= hash(key), wrapping).
 * Immutable after creation; lookups are thread-safe.
 */
#ifndef DPCACHE_KETAMA_H
#define DPCACHE_KETAMA_H

#include <stddef.h>
#include <stdint.h>

struct dpc_ketama;

struct dpc_ketama_server {
	const char *host;   /**< as the client names it, e.g. "198.18.0.1" */
	uint16_t port;
	uint32_t weight;    /**< 0 or 1 = equal weights */
};

/** Build the continuum; NULL + errno (EINVAL, ENOMEM). */
struct dpc_ketama *dpc_ketama_create(const struct dpc_ketama_server *servers, unsigned n);
void dpc_ketama_free(struct dpc_ketama *k);
/** Index (0..n-1) of the server owning @p key. */
unsigned dpc_ketama_pick(const struct dpc_ketama *k, const void *key, size_t len);
/** The 32-bit ketama hash of a key (first 4 bytes of its MD5, little-endian). */
uint32_t dpc_ketama_hash(const void *key, size_t len);

/** MD5 (RFC 1321), used by ketama; exposed for tests. */
void dpc_md5(const void *data, size_t len, uint8_t out[16]);

#endif /* DPCACHE_KETAMA_H */
