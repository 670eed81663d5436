/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dpc_hash(): a 64-bit multiply-mix hash for short keys.
 *
 * Construction (written for dpcache): the key is read as at most two 64-bit
 * words for keys up to 16 bytes (overlapping reads, no loop, no branch per
 * byte), or 16 bytes per round for longer keys.  Each round folds a 64x64
 * -> 128-bit product ("mum": low half xor high half) into the state; a
 * final mum with the length and an xor-shift spread the entropy into all
 * 64 output bits.  tests/unit/test_table.c checks the avalanche of every
 * output bit.  Not a cryptographic hash: a client can build collisions.
 */
#include <string.h>

#include "dpcache/hash.h"

/* Odd 64-bit constants with about half their bits set. */
#define K0 DPC_HASH_K0
#define K1 DPC_HASH_K1
#define K2 DPC_HASH_K2
#define K3 DPC_HASH_K3

static inline uint64_t rd64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* Keys of up to 16 bytes take the inline path in hash.h (the same
 * construction: two words from the ends, then dpc_hash_fin()). */
uint64_t dpc_hash_long(const void *key, size_t len)
{
	const uint8_t *p = key;
	uint64_t seed = K0 ^ dpc_hash_mum((uint64_t)len ^ K1, K2);
	size_t i = len;

	if (len <= 16)
		return dpc_hash(key, len);
	if (i > 48) {
		uint64_t s1 = seed, s2 = seed;

		do {
			seed = dpc_hash_mum(rd64(p) ^ K1, rd64(p + 8) ^ seed);
			s1 = dpc_hash_mum(rd64(p + 16) ^ K2, rd64(p + 24) ^ s1);
			s2 = dpc_hash_mum(rd64(p + 32) ^ K3, rd64(p + 40) ^ s2);
			p += 48;
			i -= 48;
		} while (i > 48);
		seed ^= s1 ^ s2;
	}
	while (i > 16) {
		seed = dpc_hash_mum(rd64(p) ^ K1, rd64(p + 8) ^ seed);
		p += 16;
		i -= 16;
	}
	/* Final avalanche (dpc_hash_fin()): xor-shift-multiply rounds (the
	 * murmur3 fmix64 shape, own constants), so that every input bit
	 * reaches every output bit even when one mum operand is constant. */
	return dpc_hash_fin(rd64(p + i - 16), rd64(p + i - 8), seed);
}
