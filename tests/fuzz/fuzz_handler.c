/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target: the whole request handler on a small two-partition
 * cache.  Input byte 0 picks the worker (partition) and moves the cache
 * clock; the rest is one datagram's payload.  Invariants (abort() if
 * broken): only the documented return codes; -EBADMSG only when nothing
 * was answered; the response stream is a clean sequence of response
 * headers and bodies (text answers end a line); routing and prefetch
 * never fault.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <urcu/urcu-qsbr.h>

#include "handler.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define AREAS 64u
#define NPARTS 2u

static struct dpc_cache *cache;
static struct dpc_worker_stats stats[NPARTS];
static struct dpc_worker_stats *all[NPARTS] = {&stats[0], &stats[1]};
static struct dpc_handler h[NPARTS];
static uint8_t areas[AREAS * DPC_UDP_MAX_DATA];
static unsigned nareas;
static uint32_t now = 1700000000u;

static int next_area(struct dpc_wr *w)
{
	if (nareas == AREAS)
		return -ENOMEM;
	w->p = areas + (size_t)nareas * DPC_UDP_MAX_DATA;
	w->end = w->p + DPC_UDP_MAX_DATA;
	nareas++;
	return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	struct dpc_cache_params p = {
		.nparts = NPARTS, .mem_bytes = 8u << 20, .item_size_hint = 64, .max_value = 2048,
		.policy = DPC_EVICT_CLOCK, .hugepages = false, .numa_socket = -1,
	};

	urcu_qsbr_register_thread();
	cache = dpc_cache_create(&p);
	if (cache == NULL)
		abort();
	dpc_cache_set_time(cache, now);
	for (unsigned i = 0; i < NPARTS; i++)
		h[i] = (struct dpc_handler){
			.cache = cache, .part = i, .max_value = 2048, .stats = &stats[i],
			.all_stats = all, .nworkers = NPARTS, .version = "fuzz",
		};
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dpc_wr w;

	if (size == 0)
		return 0;
	struct dpc_handler *hd = &h[data[0] & 1];
	now += data[0] >> 4;
	dpc_cache_set_time(cache, now);
	data++;
	size--;

	/* parse once; route, prefetch and processing all read the descriptor */
	struct dpc_dgram d;
	dpc_handler_parse(hd, data, size, true, &d);
	int route = dpc_handler_route(&d);
	if (route != DPC_ROUTE_HERE &&
	    (route < 0 || (unsigned)route >= NPARTS || (unsigned)route == hd->part))
		abort();
	if (d.nhash > DPC_DGRAM_HASHES || (d.first > 0 && (size_t)d.first > size))
		abort();
	dpc_handler_prefetch(hd, &d);
	dpc_handler_prefetch_item(hd, &d);

	memset(&w, 0, sizeof(w));
	w.p = w.end = areas;
	w.next = next_area;
	nareas = 0;
	int rc = dpc_handler_process_dgram(hd, &d, &w);
	if (rc != 0 && rc != -ENOMEM && rc != -EBADMSG)
		abort();
	if (rc == -EBADMSG && w.total != 0)
		abort();
	bool text = size > 0 && dpc_dgram_is_text(data[0]);
	if (rc == 0 && text) {
		/* every text answer ends a line */
		if (w.total > 0 && (w.total < 2 || areas[w.total - 2] != '\r' || areas[w.total - 1] != '\n'))
			abort();
	} else if (rc == 0) {
		size_t off = 0;
		while (off < w.total) {
			struct dpc_mc_res r;
			int n = dpc_mc_parse_res(areas + off, w.total - off, &r);
			if (n <= 0)
				abort();
			off += (size_t)n;
		}
		if (off != w.total)
			abort();
	}
	(void)dpc_store_maintain(cache, hd->part, 64);
	urcu_qsbr_quiescent_state();
	return 0;
}
