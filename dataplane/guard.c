/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The source checks of the UDP data path (docs/operations.md "Security",
 * docs/design.md "Exposure"): the DPDK glue around srcguard.h.
 *
 *  RX, per frame, before any other work (dpc_guard_rx, inline in dp.h,
 *  around srcguard.h's inline dpc_srcguard_check): Ethernet source
 *  and destination, martian source, UDP source port 0, `allow`; the
 *  source's class (trusted, admin) goes with the frame in
 *  dpc_pkt_info.src_flags, also to the owner worker of a forwarded write.
 *  ICMP echo replies are rate-limited per worker (icmp_rate).
 *
 *  TX, per response (dpc_guard_tx): a source outside `trusted` is charged
 *  in this worker's source table: its request's bytes earn amp_factor x
 *  credit, the response must fit the credit and the src_rate bucket, or
 *  it is dropped whole and counted.  Trusted sources cost one flag test
 *  and one relaxed load (trusted_rate, 0 by default).
 *
 * The prefix lists are immutable dpc_acl objects published in the config;
 * a worker loads the pointers (acquire) per frame and uses them until its
 * next QSBR quiescent state; `config set` swaps them and the control
 * thread (ctl_server.c) frees the old ones after a grace period.
 */
#include <errno.h>

#include <rte_cycles.h>
#include <rte_random.h>

#include "dp.h"

/* ICMP bucket unit: 1/1024 of a reply, so that slow refills lose no time to rounding. */
#define ICMP_UNIT 1024u

int dpc_guard_init(struct dpc_worker *w, const struct dpc_config *cfg)
{
	struct dpc_guard *g = &w->guard;

	g->subnet_len = cfg->subnet_len;
	/* 2^-20 s ticks: ticks = tsc * 2^20 / hz = (tsc * (2^52 / hz)) >> 32 */
	g->tick_mult = (uint64_t)((((unsigned __int128)1) << 52) / rte_get_tsc_hz());
	g->icmp_tokens = cfg->icmp_rate * ICMP_UNIT;
	g->icmp_last = 0;
	g->sources = dpc_srcguard_create(cfg->src_table, rte_rand());
	return g->sources == NULL ? -ENOMEM : 0;
}

void dpc_guard_fini(struct dpc_worker *w)
{
	dpc_srcguard_free(w->guard.sources);
	w->guard.sources = NULL;
}

static inline uint32_t now_ticks(const struct dpc_guard *g)
{
	return (uint32_t)(((unsigned __int128)rte_rdtsc() * g->tick_mult) >> 32);
}

/* The ICMP echo bucket (dpc_guard_rx's rare path): DPC_PKT_ICMP_ECHO or DPC_PKT_DROP_ICMP_RATE. */
enum dpc_pkt_kind dpc_guard_icmp(struct dpc_worker *w)
{
	uint32_t rate = __atomic_load_n(&w->cfg->icmp_rate, __ATOMIC_RELAXED);

	if (rate == 0 || !dpc_tbucket_take(&w->guard.icmp_tokens, &w->guard.icmp_last, ICMP_UNIT,
					   rate * ICMP_UNIT, rate * ICMP_UNIT, now_ticks(&w->guard)))
		return DPC_PKT_DROP_ICMP_RATE;
	return DPC_PKT_ICMP_ECHO;
}

static inline uint32_t clamp32(uint64_t v)
{
	return v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

/* The source's policy: false for a trusted source without trusted_rate (no limit at all). */
static inline bool policy_of(const struct dpc_config *cfg, const struct dpc_pkt_info *info,
			     struct dpc_srcguard_policy *p)
{
	if (dpc_likely(info->src_flags & DPC_SRC_TRUSTED)) {
		p->rate = clamp32(__atomic_load_n(&cfg->trusted_rate, __ATOMIC_RELAXED));
		if (dpc_likely(p->rate == 0))
			return false;
		p->amp_factor = 0;
		p->burst = clamp32(__atomic_load_n(&cfg->trusted_burst, __ATOMIC_RELAXED));
	} else {
		p->amp_factor = __atomic_load_n(&cfg->amp_factor, __ATOMIC_RELAXED);
		p->rate = clamp32(__atomic_load_n(&cfg->src_rate, __ATOMIC_RELAXED));
		p->burst = clamp32(__atomic_load_n(&cfg->src_burst, __ATOMIC_RELAXED));
	}
	return true;
}

/* The request as it came: Ethernet header + IPv4 total length, padded to the minimum frame. */
static inline uint32_t bytes_in_of(const uint8_t *frame, const struct dpc_pkt_info *info)
{
	uint32_t n = DPC_ETH_HLEN + (uint32_t)((frame[info->l3_off + 2] << 8) | frame[info->l3_off + 3]);

	return n < 60 ? 60 : n;
}

uint32_t dpc_guard_allowance_slow(struct dpc_worker *w, const uint8_t *frame,
				  const struct dpc_pkt_info *info)
{
	struct dpc_srcguard_policy p;

	if (dpc_likely(!policy_of(w->cfg, info, &p)))
		return UINT32_MAX;
	return dpc_srcguard_allowance(w->guard.sources, dpc_srcguard_src_ip(frame, info),
				      bytes_in_of(frame, info), now_ticks(&w->guard), &p);
}

bool dpc_guard_tx(struct dpc_worker *w, const uint8_t *frame, const struct dpc_pkt_info *info,
		  uint32_t bytes_out)
{
	struct dpc_srcguard_policy p;
	uint32_t bytes_in;

	if (dpc_likely(!policy_of(w->cfg, info, &p)))
		return true;
	bytes_in = bytes_in_of(frame, info);
	switch (dpc_srcguard_charge(w->guard.sources, dpc_srcguard_src_ip(frame, info), bytes_in,
				    bytes_out, now_ticks(&w->guard), &p)) {
	case DPC_SG_SEND:
		return true;
	case DPC_SG_DROP_AMPLIFICATION:
		dpc_stat_inc(w->st, drop_amplification);
		return false;
	case DPC_SG_DROP_RATE:
		dpc_stat_inc(w->st, drop_src_rate);
		return false;
	}
	return false;
}
