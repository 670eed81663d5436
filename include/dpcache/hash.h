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

/**
 * 64-bit hash of a key.  Fast for short keys (16 bytes: a few ns), good
 * avalanche in all 64 bits (the table takes bucket, tag and partition from
 * different bits).  Pure function; thread-safe.
 */
uint64_t dpc_hash(const void *key, size_t len);

/**
 * Partition that owns a key of hash @p h among @p nparts partitions
 * (multiply-shift on the top 32 bits: uniform, no division).
 */
static inline unsigned dpc_hash_part(uint64_t h, unsigned nparts)
{
	return (unsigned)(((h >> 32) * (uint64_t)nparts) >> 32);
}

#endif /* DPCACHE_HASH_H */
