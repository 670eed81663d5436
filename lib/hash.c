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
#define K0 0x8f3a5c71e4d2b96bull
#define K1 0xd1b54a32d192ed03ull
#define K2 0x9e3779b97f4a7c15ull
#define K3 0xc2b2ae3d27d4eb4full

static inline uint64_t mum(uint64_t a, uint64_t b)
{
	unsigned __int128 r = (unsigned __int128)a * b;

	return (uint64_t)r ^ (uint64_t)(r >> 64);
}

static inline uint64_t rd64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static inline uint64_t rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

uint64_t dpc_hash(const void *key, size_t len)
{
	const uint8_t *p = key;
	uint64_t seed = K0 ^ mum((uint64_t)len ^ K1, K2);
	uint64_t a, b;

	if (len <= 16) {
		if (len >= 4) {
			/* Two (possibly overlapping) 4-byte reads from each end. */
			size_t mid = (len >> 3) << 2;

			a = (rd32(p) << 32) | rd32(p + mid);
			b = (rd32(p + len - 4) << 32) | rd32(p + len - 4 - mid);
		} else if (len > 0) {
			a = ((uint64_t)p[0] << 16) | ((uint64_t)p[len >> 1] << 8) | p[len - 1];
			b = 0;
		} else {
			a = 0;
			b = 0;
		}
	} else {
		size_t i = len;

		if (i > 48) {
			uint64_t s1 = seed, s2 = seed;

			do {
				seed = mum(rd64(p) ^ K1, rd64(p + 8) ^ seed);
				s1 = mum(rd64(p + 16) ^ K2, rd64(p + 24) ^ s1);
				s2 = mum(rd64(p + 32) ^ K3, rd64(p + 40) ^ s2);
				p += 48;
				i -= 48;
			} while (i > 48);
			seed ^= s1 ^ s2;
		}
		while (i > 16) {
			seed = mum(rd64(p) ^ K1, rd64(p + 8) ^ seed);
			p += 16;
			i -= 16;
		}
		a = rd64(p + i - 16);
		b = rd64(p + i - 8);
	}
	uint64_t h = mum(a ^ K1 ^ K3, b ^ seed ^ K2);

	/* Final avalanche: xor-shift-multiply rounds (the murmur3 fmix64
	 * shape, own constants), so that every input bit reaches every
	 * output bit even when one mum operand is constant. */
	h ^= h >> 32;
	h *= 0xd6e8feb86659fd93ull;
	h ^= h >> 32;
	h *= 0xd6e8feb86659fd93ull;
	h ^= h >> 32;
	return h;
}
