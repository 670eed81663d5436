/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file srcguard.h
 * Source checks of the UDP data path, DPDK-free (unit-tested with cmocka,
 * called by dataplane/guard.c):
 *
 *  - dpc_srcguard_check(): per frame, stateless: Ethernet source
 *    multicast/broadcast, Ethernet destination not ours, martian IPv4
 *    source, UDP source port 0, source outside `allow`; classifies the
 *    source as trusted and/or admin for the rest of the path.
 *  - struct dpc_srcguard: per worker, a bounded table of recent sources
 *    (set-associative, 4 ways of 16 bytes per 64-byte line, LRU within a
 *    line, never allocates after creation, constant time per datagram)
 *    that holds for each source the anti-amplification credit (RFC 9000
 *    section 8.1: bytes sent <= factor x bytes received) and a token bucket
 *    of response bytes per second.
 *
 * Time is given by the caller in ticks of 2^-20 s (about 0.95 us) as a
 * wrapping 32-bit count (4096 s per wrap).
 */
#ifndef DPCACHE_SRCGUARD_H
#define DPCACHE_SRCGUARD_H

#include <stdbool.h>
#include <stdint.h>

#include "dpcache/acl.h"
#include "dpcache/pkt.h"

/** Ticks per second of the time base (2^20). */
#define DPC_SRCGUARD_HZ (1u << 20)

/* ---- per frame ------------------------------------------------------------- */

/** Source classes, set by dpc_srcguard_check() (struct dpc_pkt_info src_flags). */
#define DPC_SRC_TRUSTED 0x1u   /**< inside `trusted`: no amplification limit */
#define DPC_SRC_ADMIN   0x2u   /**< inside `admin`: may flush, reset stats, set verbosity */

/** The lists in force (each may be NULL: matches nothing). */
struct dpc_srcguard_lists {
	const struct dpc_acl *allow, *trusted, *admin;
};

/** IPv4 source of a classified UDP/ICMP frame, network byte order. */
static inline uint32_t dpc_srcguard_src_ip(const uint8_t *frame, const struct dpc_pkt_info *info)
{
	uint32_t ip;

	__builtin_memcpy(&ip, frame + info->l3_off + 12, 4);
	return ip;
}

/** Compare 6-byte MAC addresses (two loads, no call). */
static inline bool dpc_srcguard_mac_eq(const uint8_t *a, const uint8_t *b)
{
	uint32_t a4, b4;
	uint16_t a2, b2;

	__builtin_memcpy(&a4, a, 4);
	__builtin_memcpy(&b4, b, 4);
	__builtin_memcpy(&a2, a + 4, 2);
	__builtin_memcpy(&b2, b + 4, 2);
	return a4 == b4 && a2 == b2;
}

/**
 * Judge a frame that dpc_pkt_classify() classified as @p kind (with
 * @p info), before any other work.  Served kinds only; a drop kind is
 * returned unchanged.  ARP (requests, and replies for the kernel's
 * exception path): Ethernet source unicast, destination broadcast or
 * @p net's MAC.  IPv4 (UDP, fragments, ICMP echo, TCP for the exception
 * path): Ethernet source unicast, destination @p net's MAC, IPv4 source
 * not martian (acl.h, with @p subnet_len), inside @p l->allow; UDP
 * source port not 0.  Returns @p kind
 * or the DPC_PKT_DROP_* kind that refuses it; sets *@p src_flags
 * (DPC_SRC_*) for UDP and ICMP, 0 otherwise.  Pure; thread-safe; inline
 * (once per received frame).
 */
static inline enum dpc_pkt_kind dpc_srcguard_check(const uint8_t *frame, enum dpc_pkt_kind kind,
						   const struct dpc_pkt_info *info,
						   const struct dpc_netcfg *net, unsigned subnet_len,
						   const struct dpc_srcguard_lists *l, uint8_t *src_flags)
{
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	uint32_t src_host;
	uint8_t flags = 0;

	*src_flags = 0;
	if (__builtin_expect(dpc_pkt_kind_is_drop(kind), 0))
		return kind;
	/* Ethernet source: the group bit marks multicast and broadcast senders (never real). */
	if (__builtin_expect(frame[6] & 1u, 0))
		return DPC_PKT_DROP_ETH_SRC;
	if (__builtin_expect(kind == DPC_PKT_ARP_REQUEST || kind == DPC_PKT_ARP_REPLY, 0)) {
		if (!dpc_srcguard_mac_eq(frame, net->mac) && !dpc_srcguard_mac_eq(frame, bcast))
			return DPC_PKT_DROP_ETH_DST;
		return kind;
	}
	/* IPv4 to us: unicast to our MAC only (never flooded, broadcast or multicast frames). */
	if (__builtin_expect(!dpc_srcguard_mac_eq(frame, net->mac), 0))
		return DPC_PKT_DROP_ETH_DST;
	src_host = __builtin_bswap32(dpc_srcguard_src_ip(frame, info));
	if (__builtin_expect(dpc_ip4_src_martian(src_host, __builtin_bswap32(net->ip), subnet_len), 0))
		return DPC_PKT_DROP_SRC_MARTIAN;
	if (kind == DPC_PKT_UDP &&
	    __builtin_expect(frame[info->l4_off] == 0 && frame[info->l4_off + 1] == 0, 0))
		return DPC_PKT_DROP_UDP_SPORT0;
	if (__builtin_expect(!dpc_acl_match(l->allow, src_host), 0))
		return DPC_PKT_DROP_SRC_DENIED;
	if (dpc_acl_match(l->trusted, src_host))
		flags |= DPC_SRC_TRUSTED;
	if (__builtin_expect(l->admin != NULL && l->admin->n > 0, 0) && dpc_acl_match(l->admin, src_host))
		flags |= DPC_SRC_ADMIN;
	*src_flags = flags;
	return kind;
}

/* ---- token bucket ------------------------------------------------------------ */

/**
 * Take @p cost units from a bucket (*@p tokens, refilled at @p rate units
 * per second up to @p burst since *@p last, in ticks) at time @p now.
 * true: taken.  false: not enough; nothing taken.  The fraction of a unit
 * earned is kept: *@p last advances by the time the whole units took,
 * rounded up (a division, only when a refill is partial), so the rate is
 * never exceeded and at most one tick per refill is lost.  0 < @p rate <= 2^31.
 * Owner only (plain stores).
 */
static inline bool dpc_tbucket_take(uint32_t *tokens, uint32_t *last, uint32_t cost, uint32_t rate,
				    uint32_t burst, uint32_t now)
{
	uint64_t add = ((uint64_t)(uint32_t)(now - *last) * rate) >> 20;
	uint64_t t = (uint64_t)*tokens + add;

	if (t >= burst) {
		t = burst;
		*last = now;
	} else if (add > 0) {
		/* rounded up: never credit time twice (<= now, as add <= dt x rate) */
		*last += (uint32_t)(((add << 20) + rate - 1) / rate);
	}
	if (t < cost) {
		*tokens = (uint32_t)t;
		return false;
	}
	*tokens = (uint32_t)(t - cost);
	return true;
}

/* ---- per source -------------------------------------------------------------- */

/** What one source class may receive. */
struct dpc_srcguard_policy {
	uint32_t amp_factor;   /**< 0: no limit; else bytes out <= amp_factor x bytes in */
	uint32_t rate;         /**< response bytes per second, 0: no rate limit (<= 2^31) */
	uint32_t burst;        /**< token bucket depth, bytes */
};

/** The verdict on one response. */
enum dpc_srcguard_verdict {
	DPC_SG_SEND = 0,            /**< send it (charged) */
	DPC_SG_DROP_AMPLIFICATION,  /**< would exceed amp_factor x bytes received */
	DPC_SG_DROP_RATE,           /**< would exceed the source's token bucket */
};

/** One source's state (16 bytes: four per cache line). */
struct dpc_srcguard_entry {
	uint32_t ip;      /**< network order; 0 = empty (0.0.0.0 is never tracked: martian) */
	uint32_t credit;  /**< bytes it may still be sent: amp_factor x in - out (saturating) */
	uint32_t tokens;  /**< token bucket, bytes */
	uint32_t last;    /**< ticks: the bucket's refill clock (= last seen, to within 1/rate s) */
};

struct dpc_srcguard;

/**
 * A table of @p entries sources (rounded up to a power of 2, at least one
 * line of 4), hashed with @p seed (pick it at random: a remote sender must
 * not be able to aim at one line).  Constructor: NULL with errno EINVAL
 * (entries 0 or over 2^24) or ENOMEM.  Cold path.  One table per worker;
 * not thread-safe (owner only).
 */
struct dpc_srcguard *dpc_srcguard_create(unsigned entries, uint64_t seed);
/** Free a table (NULL is fine). */
void dpc_srcguard_free(struct dpc_srcguard *g);
/** Entries in the table (after rounding). */
unsigned dpc_srcguard_entries(const struct dpc_srcguard *g);

/**
 * A datagram of @p bytes_in bytes (frame) arrived from @p ip (network
 * order) at @p now; its response would be @p bytes_out bytes (frames, 0 for
 * none).  Credits amp_factor x @p bytes_in, then decides: the response fits
 * the credit (if amp_factor) and the token bucket (if rate): DPC_SG_SEND,
 * both charged; else the verdict that refused it, nothing charged.  A
 * source not in the table takes the least recently refilled entry of its
 * line (empty first), starting with a full bucket and no credit.
 * Constant time, no allocation.  Owner only.
 */
enum dpc_srcguard_verdict dpc_srcguard_charge(struct dpc_srcguard *g, uint32_t ip, uint32_t bytes_in,
					      uint32_t bytes_out, uint32_t now,
					      const struct dpc_srcguard_policy *p);

/**
 * The most bytes a response to a datagram of @p bytes_in bytes from @p ip
 * could be sent now under @p p, without charging anything: the smaller of
 * the credit it would have (credit + amp_factor x @p bytes_in, if
 * amp_factor) and its bucket refilled to @p now (if rate); UINT32_MAX when
 * neither applies.  A source not in the table counts as new (no credit, a
 * full bucket).  Lets the caller stop building a response that
 * dpc_srcguard_charge() would refuse.  Constant time, read only.  Owner only.
 */
uint32_t dpc_srcguard_allowance(const struct dpc_srcguard *g, uint32_t ip, uint32_t bytes_in,
				uint32_t now, const struct dpc_srcguard_policy *p);

/** Copy @p ip's entry into *@p out (tests, diagnostics): 0, or -ENOENT if not tracked. */
int dpc_srcguard_lookup(const struct dpc_srcguard *g, uint32_t ip, struct dpc_srcguard_entry *out);

#endif /* DPCACHE_SRCGUARD_H */
