/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target: the IPv4 reassembly table (dataplane/engine/reasm.c)
 * under arbitrary sequences of fragments, clock steps and expiry.  The
 * table is DPDK-free, so no EAL is needed.  Input: 6-byte records
 *   [0] datagram (low 3 bits: one of 8 keys) | bit 3: MF | bits 4-7: clock step
 *   [1..2] fragment offset / 8 (13 bits), [3..4] length, [5] bit 0: expire now
 * Invariants (abort() if broken): entries and bytes held never exceed their
 * bounds; a completed datagram's fragments are in order, without gap or
 * overlap, and cover exactly its length; every fragment handed in comes
 * back exactly once (completed or freed), none is freed twice.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "reasm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAXH 4096
static uint8_t state[MAXH];  /* 0 unused, 1 held by the table, 2 returned */
static uint8_t base;

static unsigned idx(void *h) { return (unsigned)((uint8_t *)h - &base); }

static void free_bulk(void *ctx, void **h, unsigned n)
{
	(void)ctx;
	for (unsigned i = 0; i < n; i++) {
		unsigned k = idx(h[i]);
		if (k >= MAXH || state[k] != 1)
			abort(); /* unknown or freed twice */
		state[k] = 2;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct dpc_worker_stats st;
	struct dpc_reasm_params p = {
		.max_entries = 4, .max_frags = 16, .max_bytes = 24 * 1000, .timeout = 100,
		.free_bulk = free_bulk, .stats = &st,
	};
	struct dpc_reasm *r;
	uint64_t now = 0;
	unsigned nh = 0;

	memset(state, 0, sizeof(state));
	dpc_stats_reset(&st);
	r = dpc_reasm_create(&p);
	if (r == NULL)
		abort();
	for (size_t i = 0; i + 6 <= size && nh < MAXH; i += 6) {
		const uint8_t *d = data + i;
		struct dpc_reasm_key k = { .src = 1, .dst = 2, .id = (uint16_t)(d[0] & 7), .proto = 17 };
		uint16_t off = (uint16_t)(((d[1] << 8 | d[2]) & 0x1fff) << 3);
		uint16_t len = (uint16_t)(d[3] << 8 | d[4]);
		struct dpc_reasm_done done;
		void *h = &base + nh;

		now += d[0] >> 4;
		state[nh++] = 1;
		switch (dpc_reasm_add(r, &k, off, len, (d[0] & 8) != 0, h, 1000, now, &done)) {
		case DPC_REASM_DONE: {
			uint32_t at = 0;
			for (unsigned j = 0; j < done.n; j++) {
				unsigned hk = idx(done.frags[j].handle);
				if (done.frags[j].off != at || hk >= nh || state[hk] != 1)
					abort();
				at += done.frags[j].len;
				state[hk] = 2;
			}
			if (at != done.len || done.len > DPC_REASM_MAX_PAYLOAD || done.n > p.max_frags)
				abort();
			break;
		}
		case DPC_REASM_HELD:
		case DPC_REASM_DROPPED:
			break;
		default:
			abort();
		}
		if (d[5] & 1)
			(void)dpc_reasm_expire(r, now, 2);
		if (d[5] & 2)
			dpc_reasm_flush(r);
		if (dpc_reasm_entries(r) > p.max_entries || dpc_reasm_bytes(r) > p.max_bytes ||
		    dpc_stat_load(&st, reasm_entries) != dpc_reasm_entries(r) ||
		    dpc_stat_load(&st, reasm_bytes) != dpc_reasm_bytes(r))
			abort();
	}
	dpc_reasm_free(r);
	for (unsigned j = 0; j < nh; j++)
		if (state[j] != 2)
			abort(); /* leaked */
	return 0;
}
