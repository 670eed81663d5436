/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dpcache-bench workload: the key space (keys, ketama and steering maps),
 * key popularity (uniform, or Zipf through Vose's alias table: O(1) per
 * draw, no pow()/log() on the hot path), and deterministic values that
 * every GET is checked against.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "dpcache/hash.h"
#include "dpcache/ketama.h"

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

void bench_rng_seed(struct bench_rng *r, uint64_t seed)
{
	uint64_t x = seed;

	r->s[0] = splitmix64(&x);
	r->s[1] = splitmix64(&x);
	if ((r->s[0] | r->s[1]) == 0)
		r->s[1] = 1;
}

static const char hexdig[] = "0123456789abcdef";

int bench_key_format(uint8_t *out, unsigned key_size, uint64_t i)
{
	if (key_size < 2)
		return -EINVAL;
	out[0] = 'k';
	for (unsigned p = key_size - 1; p >= 1; p--) {
		out[p] = (uint8_t)hexdig[i & 15];
		i >>= 4;
	}
	return i == 0 ? 0 : -EINVAL;
}

uint64_t bench_key_parse(const uint8_t *key, size_t len)
{
	uint64_t v = 0;

	if (len < 2 || key[0] != 'k')
		return UINT64_MAX;
	for (size_t p = 1; p < len; p++) {
		uint8_t ch = key[p];
		unsigned d;

		if (ch >= '0' && ch <= '9')
			d = (unsigned)(ch - '0');
		else if (ch >= 'a' && ch <= 'f')
			d = (unsigned)(ch - 'a' + 10);
		else
			return UINT64_MAX;
		if (v >> 60)
			return UINT64_MAX;
		v = (v << 4) | d;
	}
	return v;
}

static inline void put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static inline uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t filler_seed(uint64_t k, uint32_t v)
{
	return k * 0xd6e8feb86659fd93ull ^ ((uint64_t)v << 32 | v) ^ 0x5bd1e9955bd1e995ull;
}

void bench_value_fill(uint8_t *out, size_t len, uint64_t k, uint32_t v)
{
	size_t off = 0;
	uint64_t s;

	if (len >= 8) {
		put_le32(out, (uint32_t)k);
		put_le32(out + 4, v);
		off = 8;
	} else {
		v = 0;
	}
	s = filler_seed(k, v);
	while (off + 8 <= len) {
		uint64_t z = splitmix64(&s);
		memcpy(out + off, &z, 8);
		off += 8;
	}
	if (off < len) {
		uint64_t z = splitmix64(&s);
		memcpy(out + off, &z, len - off);
	}
}

int bench_value_check(const uint8_t *val, size_t len, uint64_t k, uint32_t max_version,
		      uint32_t *v_out)
{
	size_t off = 0;
	uint32_t v = 0;
	uint64_t s;

	if (len >= 8) {
		if (get_le32(val) != (uint32_t)k)
			return -EBADMSG;
		v = get_le32(val + 4);
		if (v > max_version)
			return -EBADMSG;
		off = 8;
	}
	s = filler_seed(k, v);
	while (off + 8 <= len) {
		uint64_t z = splitmix64(&s);
		if (memcmp(val + off, &z, 8) != 0)
			return -EBADMSG;
		off += 8;
	}
	if (off < len) {
		uint64_t z = splitmix64(&s);
		if (memcmp(val + off, &z, len - off) != 0)
			return -EBADMSG;
	}
	if (v_out)
		*v_out = v;
	return 0;
}

static uint64_t gcd64(uint64_t a, uint64_t b)
{
	while (b) {
		uint64_t t = a % b;
		a = b;
		b = t;
	}
	return a;
}

/* Vose's alias method over ranks 0..n-1 with weight 1/(rank+1)^s. */
static int zipf_init(struct bench_keyspace *ks)
{
	uint64_t n = ks->ndraw;
	double *p = NULL, sum = 0;
	uint32_t *small = NULL, *large = NULL;
	uint64_t ns = 0, nl = 0;
	int rc = -ENOMEM;

	p = malloc(n * sizeof(*p));
	small = malloc(n * sizeof(*small));
	large = malloc(n * sizeof(*large));
	ks->alias_prob = malloc(n * sizeof(*ks->alias_prob));
	ks->alias_idx = malloc(n * sizeof(*ks->alias_idx));
	if (!p || !small || !large || !ks->alias_prob || !ks->alias_idx)
		goto out;
	for (uint64_t i = 0; i < n; i++) {
		p[i] = pow((double)(i + 1), -ks->zipf_s);
		sum += p[i];
	}
	for (uint64_t i = 0; i < n; i++) {
		p[i] = p[i] * (double)n / sum;
		if (p[i] < 1.0)
			small[ns++] = (uint32_t)i;
		else
			large[nl++] = (uint32_t)i;
	}
	while (ns && nl) {
		uint32_t s = small[--ns], l = large[nl - 1];

		ks->alias_prob[s] = (float)p[s];
		ks->alias_idx[s] = l;
		p[l] = (p[l] + p[s]) - 1.0;
		if (p[l] < 1.0) {
			nl--;
			small[ns++] = l;
		}
	}
	while (nl) {
		uint32_t l = large[--nl];
		ks->alias_prob[l] = 1.0f;
		ks->alias_idx[l] = l;
	}
	while (ns) {
		uint32_t s = small[--ns];
		ks->alias_prob[s] = 1.0f;
		ks->alias_idx[s] = s;
	}
	/* Scatter ranks over the key space so hot keys are not neighbours. */
	ks->perm_mul = 2654435761u % n;
	if (ks->perm_mul == 0)
		ks->perm_mul = 1;
	while (gcd64(ks->perm_mul, n) != 1)
		ks->perm_mul++;
	rc = 0;
out:
	free(p);
	free(small);
	free(large);
	return rc;
}

uint64_t bench_key_draw(const struct bench_keyspace *ks, struct bench_rng *r)
{
	uint64_t x = bench_rng_next(r);
	uint64_t i = (uint64_t)(((unsigned __int128)x * ks->ndraw) >> 64);

	if (!ks->alias_prob)
		return bench_key_at(ks, i);
	/* low 24 bits (unused by the multiply-high above, practically) decide the coin */
	float u = (float)(x & 0xffffff) * (1.0f / 16777216.0f);
	uint64_t rank = u < ks->alias_prob[i] ? i : ks->alias_idx[i];
	return bench_key_at(ks, (rank * ks->perm_mul) % ks->ndraw);
}

int bench_keyspace_init(struct bench_keyspace *ks, const struct bench_cfg *c)
{
	struct dpc_ketama *k = NULL;
	int rc = -ENOMEM;

	memset(ks, 0, sizeof(*ks));
	ks->n = c->keys;
	ks->ndraw = c->keys;
	ks->draw_stride = 1;
	ks->key_size = c->key_size;
	ks->zipf_s = c->zipf_s;
	ks->vlen_fixed = c->value_size;
	if (ks->n == 0 || ks->n > UINT32_MAX)
		return -EINVAL;
	if (c->value_min > 0 && c->value_min < c->value_size) {
		double lr = log((double)c->value_size / c->value_min);

		ks->vlen_tab = malloc(BENCH_VLEN_TAB * sizeof(*ks->vlen_tab));
		if (!ks->vlen_tab)
			goto fail;
		for (unsigned i = 0; i < BENCH_VLEN_TAB; i++)
			ks->vlen_tab[i] = (uint32_t)lround(c->value_min *
							   exp(lr * i / (BENCH_VLEN_TAB - 1)));
	}
	uint8_t kb[DPC_KEY_MAX];

	ks->version = calloc(ks->n, sizeof(*ks->version));
	if (!ks->version)
		goto fail;
	if (bench_key_format(kb, ks->key_size, ks->n - 1) < 0) {
		rc = -EINVAL;
		goto fail;
	}
	if (c->nservers > 1) {
		struct dpc_ketama_server sv[BENCH_MAX_SERVERS];

		for (unsigned s = 0; s < c->nservers; s++) {
			sv[s].host = c->servers[s].host;
			sv[s].port = c->servers[s].port;
			sv[s].weight = 1;
		}
		k = dpc_ketama_create(sv, c->nservers);
		ks->server = malloc(ks->n);
		if (!k || !ks->server)
			goto fail;
		dpc_ketama_set_key_hash(k, (enum dpc_ketama_key_hash)c->ketama_hash);
		for (uint64_t i = 0; i < ks->n; i++) {
			bench_key_put(kb, ks->key_size, i);
			ks->server[i] = (uint8_t)dpc_ketama_pick(k, kb, ks->key_size);
		}
		dpc_ketama_free(k);
		k = NULL;
	}
	if (c->steer > 1) {
		ks->part = malloc(ks->n);
		if (!ks->part)
			goto fail;
		for (uint64_t i = 0; i < ks->n; i++) {
			bench_key_put(kb, ks->key_size, i);
			ks->part[i] = (uint8_t)dpc_hash_part(dpc_hash(kb, ks->key_size), c->steer);
		}
	}
	if (ks->zipf_s > 0) {
		rc = zipf_init(ks);
		if (rc < 0)
			goto fail;
	}
	return 0;
fail:
	dpc_ketama_free(k);
	bench_keyspace_free(ks);
	return rc;
}

int bench_keyspace_slice(struct bench_keyspace *s, const struct bench_keyspace *all, unsigned core,
			 unsigned ncores)
{
	int rc;

	*s = *all;
	s->slice = true;
	s->draw_map = NULL;
	s->alias_prob = NULL;
	s->alias_idx = NULL;
	if (ncores <= 1) {
		s->ndraw = all->n;
		s->draw_stride = 1;
		s->draw_off = 0;
	} else if (all->part) {
		uint64_t m = 0;

		for (uint64_t k = 0; k < all->n; k++)
			m += all->part[k] % ncores == core;
		if (m == 0)
			return -ENOENT;
		s->draw_map = malloc(m * sizeof(*s->draw_map));
		if (!s->draw_map)
			return -ENOMEM;
		s->ndraw = 0;
		for (uint64_t k = 0; k < all->n; k++)
			if (all->part[k] % ncores == core)
				s->draw_map[s->ndraw++] = (uint32_t)k;
	} else {
		if (core >= all->n)
			return -ENOENT;
		s->draw_stride = ncores;
		s->draw_off = core;
		s->ndraw = (all->n - core + ncores - 1) / ncores;
	}
	if (s->zipf_s > 0) {
		rc = zipf_init(s);
		if (rc < 0) {
			bench_keyspace_free(s);
			return rc;
		}
	}
	return 0;
}

void bench_keyspace_free(struct bench_keyspace *ks)
{
	if (!ks)
		return;
	if (!ks->slice) {
		free(ks->server);
		free(ks->part);
		free(ks->version);
		free(ks->vlen_tab);   /* a slice shares its keyspace's table */
	}
	free(ks->draw_map);
	free(ks->alias_prob);
	free(ks->alias_idx);
	memset(ks, 0, sizeof(*ks));
}
