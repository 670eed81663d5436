/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file wr.h
 * Response writer: the request handler appends the response byte stream;
 * the owner of the writer (the DPDK glue: one mbuf per datagram; tests: a
 * flat buffer) supplies data areas of at most DPC_UDP_MAX_DATA bytes,
 * each the body of one datagram.  The hot path (response fits the current
 * area) is an inline memcpy; next() runs only when an area fills.
 * Process-local, single-thread.
 */
#ifndef DPCACHE_WR_H
#define DPCACHE_WR_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "dpcache/common.h"

struct dpc_wr {
	uint8_t *p;     /**< next byte to write */
	uint8_t *end;   /**< end of the current data area */
	/** Provide the next area (set p/end); 0, or -ENOMEM to abort the response. */
	int (*next)(struct dpc_wr *w);
	void *ctx;      /**< owner's state */
	size_t total;   /**< bytes written so far over all areas (owner-maintained is fine) */
};

/** Append @p n bytes.  0, or -ENOMEM (response must be dropped). */
static inline int dpc_wr_put(struct dpc_wr *w, const void *src, size_t n)
{
	const uint8_t *s = src;

	while (n > 0) {
		size_t room = (size_t)(w->end - w->p);
		if (dpc_unlikely(room == 0)) {
			int rc = w->next(w);
			if (rc < 0)
				return rc;
			continue;
		}
		size_t k = n < room ? n : room;
		memcpy(w->p, s, k);
		w->p += k;
		w->total += k;
		s += k;
		n -= k;
	}
	return 0;
}

#endif /* DPCACHE_WR_H */
