/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file byteorder.h
 * Big-endian (network order) loads and stores on unaligned byte buffers,
 * shared by the codec, the handler, the clients and the bench (one
 * definition instead of one per file).  Pure inline functions; thread-safe.
 */
#ifndef DPCACHE_BYTEORDER_H
#define DPCACHE_BYTEORDER_H

#include <stdint.h>

static inline uint16_t dpc_get_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline void dpc_put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline uint32_t dpc_get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t dpc_get_be64(const uint8_t *p)
{
	return (uint64_t)dpc_get_be32(p) << 32 | dpc_get_be32(p + 4);
}

static inline void dpc_put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static inline void dpc_put_be64(uint8_t *p, uint64_t v)
{
	dpc_put_be32(p, (uint32_t)(v >> 32));
	dpc_put_be32(p + 4, (uint32_t)v);
}

#endif /* DPCACHE_BYTEORDER_H */
