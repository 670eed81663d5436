/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Ketama consistent hashing, computed the way libmemcached does with
 * MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED:
 *  - server i gets floor(w_i / W * 160 / 4 * n + 1e-10) * 4 points
 *    (single-precision arithmetic, as libmemcached computes it);
 *  - point group j (0..points/4-1) hashes "host-j" when the port is
 *    11211, else "host:port-j", with MD5; the 16-byte digest gives 4
 *    points, bytes 4k..4k+3 read little-endian;
 *  - a key hashes to the first 4 bytes of its MD5, little-endian; its
 *    server owns the first point >= that hash, wrapping to point 0.
 * twemproxy builds the same continuum (nc_ketama.c: the same names,
 * points and search) but hashes keys with its `hash:` setting, fnv1a_64
 * by default: dpc_ketama_set_key_hash() follows it.
 * MD5 below follows RFC 1321.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dpcache/common.h"
#include "dpcache/ketama.h"

/* ---- MD5 (RFC 1321) --------------------------------------------------------- */

struct md5_ctx {
	uint32_t h[4];
	uint64_t len;      /* bytes fed so far */
	uint8_t buf[64];
};

/* K[i] = floor(2^32 * |sin(i + 1)|), RFC 1321 section 3.4. */
static const uint32_t md5_k[64] = {
	0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501,
	0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821,
	0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
	0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a,
	0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70,
	0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
	0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
	0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391,
};

/* Per-round left-rotation amounts. */
static const uint8_t md5_r[4][4] = {
	{ 7, 12, 17, 22 }, { 5, 9, 14, 20 }, { 4, 11, 16, 23 }, { 6, 10, 15, 21 },
};

static inline uint32_t rotl32(uint32_t x, unsigned n)
{
	return (x << n) | (x >> (32 - n));
}

static inline uint32_t load_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void md5_block(uint32_t h[4], const uint8_t blk[64])
{
	uint32_t m[16], a = h[0], b = h[1], c = h[2], d = h[3];
	unsigned i;

	for (i = 0; i < 16; i++)
		m[i] = load_le32(blk + 4 * i);
	for (i = 0; i < 64; i++) {
		uint32_t f, t;
		unsigned g, round = i / 16;

		switch (round) {
		case 0: f = (b & c) | (~b & d); g = i; break;
		case 1: f = (d & b) | (~d & c); g = (5 * i + 1) % 16; break;
		case 2: f = b ^ c ^ d; g = (3 * i + 5) % 16; break;
		default: f = c ^ (b | ~d); g = (7 * i) % 16; break;
		}
		t = d;
		d = c;
		c = b;
		b = b + rotl32(a + f + md5_k[i] + m[g], md5_r[round][i % 4]);
		a = t;
	}
	h[0] += a;
	h[1] += b;
	h[2] += c;
	h[3] += d;
}

static void md5_init(struct md5_ctx *x)
{
	x->h[0] = 0x67452301;
	x->h[1] = 0xefcdab89;
	x->h[2] = 0x98badcfe;
	x->h[3] = 0x10325476;
	x->len = 0;
}

static void md5_update(struct md5_ctx *x, const uint8_t *p, size_t n)
{
	size_t have = (size_t)(x->len % 64);

	x->len += n;
	if (have != 0) {
		size_t take = 64 - have < n ? 64 - have : n;

		memcpy(x->buf + have, p, take);
		p += take;
		n -= take;
		if (have + take < 64)
			return;
		md5_block(x->h, x->buf);
	}
	for (; n >= 64; p += 64, n -= 64)
		md5_block(x->h, p);
	memcpy(x->buf, p, n);
}

static void md5_final(struct md5_ctx *x, uint8_t out[16])
{
	static const uint8_t pad[64] = { 0x80 };
	uint64_t bits = x->len * 8;
	size_t have = (size_t)(x->len % 64);
	uint8_t lenb[8];
	unsigned i;

	md5_update(x, pad, have < 56 ? 56 - have : 120 - have);
	for (i = 0; i < 8; i++)
		lenb[i] = (uint8_t)(bits >> (8 * i));
	md5_update(x, lenb, 8);
	for (i = 0; i < 16; i++)
		out[i] = (uint8_t)(x->h[i / 4] >> (8 * (i % 4)));
}

void dpc_md5(const void *data, size_t len, uint8_t out[16])
{
	struct md5_ctx x;

	md5_init(&x);
	md5_update(&x, data, len);
	md5_final(&x, out);
}

/* ---- the continuum ------------------------------------------------------------ */

#define KETAMA_POINTS_PER_SERVER 160u   /* libmemcached's MEMCACHED_POINTS_PER_SERVER_KETAMA */
#define KETAMA_DEFAULT_PORT 11211u

struct ketama_point {
	uint32_t value;
	uint32_t server;
};

struct dpc_ketama {
	unsigned npoints;
	unsigned nservers;
	enum dpc_ketama_key_hash key_hash;
	struct ketama_point points[];
};

uint32_t dpc_ketama_fnv1a_64(const void *key, size_t len)
{
	const int8_t *p = key; /* twemproxy reads the key as (signed) char */
	uint32_t h = (uint32_t)0xcbf29ce484222325ull;

	for (size_t i = 0; i < len; i++) {
		h ^= (uint32_t)(int32_t)p[i];
		h *= (uint32_t)0x100000001b3ull;
	}
	return h;
}

void dpc_ketama_set_key_hash(struct dpc_ketama *k, enum dpc_ketama_key_hash h)
{
	k->key_hash = h;
}

int dpc_ketama_key_hash_parse(const char *name)
{
	if (name != NULL && strcmp(name, "md5") == 0)
		return DPC_KETAMA_KEY_MD5;
	if (name != NULL && strcmp(name, "fnv1a_64") == 0)
		return DPC_KETAMA_KEY_FNV1A_64;
	return -1;
}

uint32_t dpc_ketama_hash(const void *key, size_t len)
{
	uint8_t d[16];

	dpc_md5(key, len, d);
	return load_le32(d);
}

static int point_cmp(const void *a, const void *b)
{
	const struct ketama_point *x = a, *y = b;

	if (x->value != y->value)
		return x->value < y->value ? -1 : 1;
	/* Ties (never seen in practice): order by server so that the result is deterministic. */
	return x->server < y->server ? -1 : x->server > y->server;
}

/* Points of one server, in libmemcached's single-precision arithmetic. */
static unsigned server_points(uint32_t weight, uint64_t total, unsigned n)
{
	float pct = (float)weight / (float)total;
	float groups = (float)(pct * (float)KETAMA_POINTS_PER_SERVER / 4.0f * (float)n + 0.0000000001);

	return (unsigned)floorf(groups) * 4u;
}

struct dpc_ketama *dpc_ketama_create(const struct dpc_ketama_server *servers, unsigned n)
{
	struct dpc_ketama *k = NULL;
	uint64_t total = 0;
	unsigned i, j, x, npts = 0;

	if (servers == NULL || n == 0 || n > 65536) {
		errno = EINVAL;
		return NULL;
	}
	for (i = 0; i < n; i++) {
		if (servers[i].host == NULL || servers[i].host[0] == '\0' || strlen(servers[i].host) > 255) {
			errno = EINVAL;
			return NULL;
		}
		total += servers[i].weight ? servers[i].weight : 1;
	}
	for (i = 0; i < n; i++)
		npts += server_points(servers[i].weight ? servers[i].weight : 1, total, n);
	k = calloc(1, sizeof(*k) + (size_t)(npts ? npts : 1) * sizeof(k->points[0]));
	if (k == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	k->nservers = n;
	for (i = 0; i < n; i++) {
		unsigned groups = server_points(servers[i].weight ? servers[i].weight : 1, total, n) / 4;

		for (j = 0; j < groups; j++) {
			char name[300];
			uint8_t d[16];
			int len;

			if (servers[i].port == KETAMA_DEFAULT_PORT)
				len = snprintf(name, sizeof(name), "%s-%u", servers[i].host, j);
			else
				len = snprintf(name, sizeof(name), "%s:%u-%u", servers[i].host,
					       (unsigned)servers[i].port, j);
			dpc_md5(name, (size_t)len, d);
			for (x = 0; x < 4; x++) {
				k->points[k->npoints].value = load_le32(d + 4 * x);
				k->points[k->npoints].server = i;
				k->npoints++;
			}
		}
	}
	qsort(k->points, k->npoints, sizeof(k->points[0]), point_cmp);
	return k;
}

void dpc_ketama_free(struct dpc_ketama *k)
{
	free(k);
}

unsigned dpc_ketama_pick(const struct dpc_ketama *k, const void *key, size_t len)
{
	uint32_t h = k->key_hash == DPC_KETAMA_KEY_FNV1A_64 ? dpc_ketama_fnv1a_64(key, len) :
							       dpc_ketama_hash(key, len);
	unsigned lo = 0, hi = k->npoints;

	if (k->npoints == 0)
		return 0;
	/* First point with value >= h. */
	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;

		if (k->points[mid].value < h)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == k->npoints)
		lo = 0; /* past the last point: wrap around the circle */
	return k->points[lo].server;
}
