/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file reasm.h
 * IPv4 reassembly table: one per worker, bounded in datagrams, fragments
 * per datagram, buffer bytes held and time.  DPDK-free: fragments are
 * opaque handles (the glue's mbufs) with their offset and length, so the
 * logic is unit-tested and fuzzed without EAL; the glue (dataplane/
 * reasm_rx.c) turns a completed set of fragments into one datagram.
 *
 * Why not DPDK's librte_ip_frag: Debian's librte_ip_frag is built with
 * RTE_LIBRTE_IP_FRAG_MAX_FRAG = 8, so it gives up on any datagram of more
 * than 8 fragments (8 x 1480 = 11,840 bytes at a 1500-byte MTU), and a
 * 64 KiB request needs 45 (docs/design.md, "IPv4 reassembly").
 *
 * Rules (each refusal frees the whole datagram and counts it once, by
 * reason, in the worker's stats: pkt.h DPC_PKT_REASM_DROPS):
 *  - any overlap between two fragments of a datagram (duplicates too) gives
 *    it up, as Linux does since 4.19 and RFC 5722 asks for IPv6;
 *  - fragments reaching past 65,535 bytes of IPv4 datagram (offset + length
 *    > 65,515 bytes of payload) give it up;
 *  - more than max_frags fragments give it up;
 *  - an empty fragment, a non-last fragment whose length is not a multiple
 *    of 8, a second, different last fragment or one past the last's end is
 *    bad: it gives the datagram up;
 *  - a datagram not complete timeout after its first fragment is given up
 *    (dpc_reasm_expire());
 *  - a new datagram when max_entries are in progress, or a fragment that
 *    would hold more than max_bytes, evicts the oldest datagrams first.
 *
 * Concurrency: single-threaded (the owning worker only); no locks, no
 * allocation after dpc_reasm_create(), no syscalls.
 */
#ifndef DPCACHE_REASM_H
#define DPCACHE_REASM_H

#include <stdbool.h>
#include <stdint.h>

#include "dpcache/stats.h"

/** IPv4 payload bytes a datagram may carry: 65,535 - 20. */
#define DPC_REASM_MAX_PAYLOAD 65515u

struct dpc_reasm_params {
	uint32_t max_entries;  /**< datagrams in reassembly at once (>= 1) */
	uint32_t max_frags;    /**< fragments per datagram (2 .. 1024) */
	uint64_t max_bytes;    /**< sum of the costs of the fragments held */
	uint64_t timeout;      /**< in the unit of the @c now arguments (e.g. TSC cycles) */
	/**
	 * Frees fragments given up (the death row, see dpc_reasm_flush()):
	 * called with up to the death row's size of handles at once.
	 */
	void (*free_bulk)(void *ctx, void **handles, unsigned n);
	void *ctx;
	struct dpc_worker_stats *stats; /**< frag_in, reasm_*: the owner's counters */
};

/** A datagram's identity (RFC 791): addresses (network order), id, protocol. */
struct dpc_reasm_key {
	uint32_t src, dst;
	uint16_t id;
	uint8_t proto;
};

/** One fragment held: the glue's handle, the bytes it carries, what it costs. */
struct dpc_reasm_frag {
	void *handle;
	uint16_t off, len;     /**< payload bytes [off, off + len) of the datagram */
	uint32_t cost;         /**< charged against max_bytes (e.g. the mbuf's buffer size) */
};

enum dpc_reasm_result {
	DPC_REASM_HELD = 0,    /**< kept: the datagram is not complete yet */
	DPC_REASM_DONE,        /**< complete: see the dpc_reasm_done filled in */
	DPC_REASM_DROPPED,     /**< given up (counted): the handle is on the death row */
};

/** A completed datagram: its fragments in offset order, valid until the next call. */
struct dpc_reasm_done {
	const struct dpc_reasm_frag *frags;
	unsigned n;
	uint32_t len;          /**< payload bytes (sum of the fragments' lengths) */
};

struct dpc_reasm;

/**
 * Create a table.  Returns NULL with errno EINVAL (bad parameters: no
 * entries, max_frags out of range, no free_bulk) or ENOMEM.  Cold path.
 */
struct dpc_reasm *dpc_reasm_create(const struct dpc_reasm_params *p);

/** Free every fragment still held (through free_bulk) and the table.  NULL is a no-op. */
void dpc_reasm_free(struct dpc_reasm *r);

/**
 * Take one fragment: payload bytes [@p off, @p off + @p len) of the
 * datagram @p k, @p more: the MF bit.  The handle belongs to the table
 * from here: HELD (kept), DONE (handed back with the others in @p done,
 * which the caller now owns) or DROPPED (on the death row).  @p now: the
 * caller's clock (same unit as timeout).
 */
enum dpc_reasm_result dpc_reasm_add(struct dpc_reasm *r, const struct dpc_reasm_key *k,
				    uint16_t off, uint16_t len, bool more, void *handle,
				    uint32_t cost, uint64_t now, struct dpc_reasm_done *done);

/**
 * Give up datagrams older than the timeout, oldest first, at most
 * @p budget of them (bounded work per poll iteration).  Returns how many.
 */
unsigned dpc_reasm_expire(struct dpc_reasm *r, uint64_t now, unsigned budget);

/** Free what is on the death row now (free_bulk).  Once per poll iteration. */
void dpc_reasm_flush(struct dpc_reasm *r);

/** Datagrams in reassembly now (0: nothing to expire). */
unsigned dpc_reasm_entries(const struct dpc_reasm *r);

/** Sum of the costs of the fragments held now. */
uint64_t dpc_reasm_bytes(const struct dpc_reasm *r);

#endif /* DPCACHE_REASM_H */
