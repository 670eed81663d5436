/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file common.h
 * Small shared definitions: branch hints, cache-line size, debug-only checks.
 *
 * Result conventions, kept apart everywhere in dpcache:
 *  - constructors return NULL and set errno;
 *  - operations return 0 or a negative errno value;
 *  - cache outcomes are `enum dpc_status` (store.h), never an errno.
 */
#ifndef DPCACHE_COMMON_H
#define DPCACHE_COMMON_H

#include <assert.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#define DPC_CACHE_LINE 64
#define dpc_likely(x)   __builtin_expect(!!(x), 1)
#define dpc_unlikely(x) __builtin_expect(!!(x), 0)
#define dpc_aligned(a)  __attribute__((aligned(a)))
#define dpc_cache_aligned dpc_aligned(DPC_CACHE_LINE)
#define DPC_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/** dpcached's own version; the memcached VERSION reply carries DPC_MC_VERSION. */
#define DPCACHED_VERSION "0.1.0"
#define DPC_MC_VERSION "1.6.21-dpcache-" DPCACHED_VERSION

/**
 * memcached's exptime rule: 0 = never, 1..DPC_EXPTIME_REL_MAX (30 days) =
 * seconds from now, larger = absolute unix time.
 */
#define DPC_EXPTIME_REL_MAX 2592000u

/** Largest key memcached accepts. */
#define DPC_KEY_MAX 250u
/** Largest value accepted by default (memcached's default item size limit). */
#define DPC_VALUE_MAX_DEFAULT (1024u * 1024u)
/** Largest value the store can hold (a 21-bit length in the item header): max_value's bound. */
#define DPC_VALUE_MAX_STORE ((2u << 20) - 1)

/**
 * Hot-path argument checks: compiled into debug builds (-DDPC_DEBUG, which
 * the tests use) and out of release builds.
 */
#ifdef DPC_DEBUG
#define DPC_RETURN_IF(cond, ret) do { if (dpc_unlikely(cond)) return (ret); } while (0)
#else
#define DPC_RETURN_IF(cond, ret) do { (void)sizeof(cond); } while (0)
#endif

/**
 * Format an error message into @p err (at most @p errlen bytes, always
 * terminated); does nothing if @p err is NULL or @p errlen is 0.  The one
 * helper behind every "char *err, size_t errlen" parameter (config,
 * dpcachectl).  Thread-safe; cold paths only.
 */
__attribute__((format(printf, 3, 4)))
void dpc_set_err(char *err, size_t errlen, const char *fmt, ...);

static inline void dpc_prefetch0(const void *p) { __builtin_prefetch(p, 0, 3); }
static inline void dpc_prefetchw(const void *p) { __builtin_prefetch(p, 1, 3); }

#endif /* DPCACHE_COMMON_H */
