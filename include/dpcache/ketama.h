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

/**
 * How a key is hashed onto the continuum.  The continuum itself (server
 * names, points) is the same for libmemcached and twemproxy; the key hash
 * is libmemcached's MD5 for ketama, and twemproxy's `hash:` setting, whose
 * default is fnv1a_64 (see dpc_ketama_fnv1a_64()).
 */
enum dpc_ketama_key_hash {
	DPC_KETAMA_KEY_MD5 = 0,     /**< libmemcached; twemproxy with `hash: md5` */
	DPC_KETAMA_KEY_FNV1A_64,    /**< twemproxy's default `hash: fnv1a_64` */
};

/** Build the continuum (key hash: MD5); NULL + errno (EINVAL, ENOMEM). */
struct dpc_ketama *dpc_ketama_create(const struct dpc_ketama_server *servers, unsigned n);
void dpc_ketama_free(struct dpc_ketama *k);
/** Choose the key hash (before any lookup: not thread-safe against dpc_ketama_pick()). */
void dpc_ketama_set_key_hash(struct dpc_ketama *k, enum dpc_ketama_key_hash h);
/** "md5" or "fnv1a_64" (twemproxy's names) -> the enum; -1 for anything else. */
int dpc_ketama_key_hash_parse(const char *name);
/** Index (0..n-1) of the server owning @p key. */
unsigned dpc_ketama_pick(const struct dpc_ketama *k, const void *key, size_t len);
/** The 32-bit ketama hash of a key (first 4 bytes of its MD5, little-endian). */
uint32_t dpc_ketama_hash(const void *key, size_t len);
/**
 * twemproxy's hash_fnv1a_64 (hashkit/nc_fnv.c), bit for bit: despite the
 * name a 32-bit FNV-1a, with the 64-bit offset basis and prime truncated
 * to 32 bits (0x84222325, 0x1b3), and each byte sign-extended as a C
 * `char` before the xor (bytes >= 0x80 xor 0xffffffxx).
 */
uint32_t dpc_ketama_fnv1a_64(const void *key, size_t len);

/** MD5 (RFC 1321), used by ketama; exposed for tests. */
void dpc_md5(const void *data, size_t len, uint8_t out[16]);

#endif /* DPCACHE_KETAMA_H */
