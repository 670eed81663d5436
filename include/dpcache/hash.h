/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file hash.h
 * The key hash, and the key -> partition map shared by dpcached and every
 * client that steers requests to a partition's owner (dpcache-bench).
 * Changing either breaks client-side steering: both sides must agree.
 */
#ifndef DPCACHE_HASH_H
#define DPCACHE_HASH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/** dpc_hash() of a key longer than 16 bytes (out of line; lib/hash.c). */
uint64_t dpc_hash_long(const void *key, size_t len);

/* Internals of the inline short-key path (lib/hash.c explains the construction). */
#define DPC_HASH_K0 0x8f3a5c71e4d2b96bull
#define DPC_HASH_K1 0xd1b54a32d192ed03ull
#define DPC_HASH_K2 0x9e3779b97f4a7c15ull
#define DPC_HASH_K3 0xc2b2ae3d27d4eb4full
#define DPC_HASH_FM 0xd6e8feb86659fd93ull

/** 64x64 -> 128-bit product folded to 64 bits (low half xor high half). */
static inline uint64_t dpc_hash_mum(uint64_t a, uint64_t b)
{
	unsigned __int128 r = (unsigned __int128)a * b;

	return (uint64_t)r ^ (uint64_t)(r >> 64);
}

static inline uint64_t dpc_hash_rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/** Final mix of the hash state: every input bit reaches every output bit. */
static inline uint64_t dpc_hash_fin(uint64_t a, uint64_t b, uint64_t seed)
{
	uint64_t h = dpc_hash_mum(a ^ DPC_HASH_K1 ^ DPC_HASH_K3, b ^ seed ^ DPC_HASH_K2);

	h ^= h >> 32;
	h *= DPC_HASH_FM;
	h ^= h >> 32;
	h *= DPC_HASH_FM;
	h ^= h >> 32;
	return h;
}

/**
 * 64-bit hash of a key.  Fast for short keys (up to 16 bytes: inline, no
 * loop, about 20 instructions), good avalanche in all 64 bits (the table
 * takes bucket, tag and partition from different bits).  Pure function;
 * thread-safe.
 */
static inline uint64_t dpc_hash(const void *key, size_t len)
{
	const uint8_t *p = key;
	uint64_t seed, a, b;

	if (len > 16)
		return dpc_hash_long(key, len);
	seed = DPC_HASH_K0 ^ dpc_hash_mum((uint64_t)len ^ DPC_HASH_K1, DPC_HASH_K2);
	if (len >= 4) {
		/* Two (possibly overlapping) 4-byte reads from each end. */
		size_t mid = (len >> 3) << 2;

		a = (dpc_hash_rd32(p) << 32) | dpc_hash_rd32(p + mid);
		b = (dpc_hash_rd32(p + len - 4) << 32) | dpc_hash_rd32(p + len - 4 - mid);
	} else if (len > 0) {
		a = ((uint64_t)p[0] << 16) | ((uint64_t)p[len >> 1] << 8) | p[len - 1];
		b = 0;
	} else {
		a = 0;
		b = 0;
	}
	return dpc_hash_fin(a, b, seed);
}

/**
 * Partition that owns a key of hash @p h among @p nparts partitions
 * (multiply-shift on the top 32 bits: uniform, no division).
 */
static inline unsigned dpc_hash_part(uint64_t h, unsigned nparts)
{
	return (unsigned)(((h >> 32) * (uint64_t)nparts) >> 32);
}

#endif /* DPCACHE_HASH_H */
