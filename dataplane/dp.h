/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file dp.h
 * dpcached's private glue between main.c (EAL, set-up, signals), port.c
 * (ethdev configuration) and worker.c (the poll loop).  DPDK types live
 * here and in those three files only; the engine (store, handler, codec,
 * packets) never sees an mbuf.
 */
#ifndef DPCACHE_DP_H
#define DPCACHE_DP_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <rte_ether.h>
#include <rte_log.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "dpcache/config.h"
#include "dpcache/lat.h"
#include "dpcache/pkt.h"
#include "dpcache/srcguard.h"
#include "dpcache/stats.h"
#include "dpcache/store.h"
#include "handler.h"

/** The dpcache logtype (registered in main.c before anything logs; read-only afterwards). */
extern int dpc_logtype;
#define DPC_LOG(level, fmt, ...) \
	rte_log(RTE_LOG_##level, dpc_logtype, "dpcached: " fmt "\n", ##__VA_ARGS__)

/** Map the config's log_level index (error|warning|info|debug) to an rte_log level. */
uint32_t dpc_log_level_from_cfg(uint32_t idx);

/* ---- port.c --------------------------------------------------------------- */

/** What port set-up found out about the port. */
struct dpc_port_state {
	uint16_t port_id;
	uint16_t nqueues;
	bool tx_csum_offload;     /**< IPv4 + UDP checksums offloaded on TX */
	bool rx_csum_offload;     /**< RX checksum flags are reported in mbufs */
	bool rss;                 /**< RSS configured over the queues */
	struct rte_ether_addr mac;
	char driver[32];
};

/**
 * Configure and start @p port_id with @p nqueues RX/TX queue pairs, RX
 * buffers from @p pool.  @p sw_mode is the sw_checksum setting
 * (0 auto, 1 yes, 2 no); @p promisc: promiscuous mode (the promiscuous
 * setting; off, frames for other MACs are dropped in software anyway).
 * Cold path.  Returns 0 or a negative errno
 * (logged with the reason: not enough queues, no offload with
 * sw_checksum=no, driver errors).
 */
int dpc_port_setup(uint16_t port_id, uint16_t nqueues, struct rte_mempool *pool, uint32_t sw_mode,
		   bool promisc, struct dpc_port_state *out);
/** Stop and close a started port (errors logged, not returned). */
void dpc_port_close(uint16_t port_id);

/* ---- guard.c: the source checks (srcguard.h) ------------------------------ */

struct dpc_worker;

/** A worker's source-check state (owner only). */
struct dpc_guard {
	struct dpc_srcguard *sources;      /**< per-source credit and buckets */
	uint64_t tick_mult;                /**< TSC -> 2^-20 s ticks: (tsc * tick_mult) >> 32 */
	unsigned subnet_len;
	uint32_t icmp_tokens, icmp_last;   /**< ICMP echo bucket, in 1/1024 replies */
};

/** Set up @p w->guard from @p cfg (cold path).  0 or -ENOMEM. */
int dpc_guard_init(struct dpc_worker *w, const struct dpc_config *cfg);
/** Free what dpc_guard_init() made (NULL-safe on a zeroed guard). */
void dpc_guard_fini(struct dpc_worker *w);
/** The ICMP echo rate limit (icmp_rate): DPC_PKT_ICMP_ECHO or DPC_PKT_DROP_ICMP_RATE.  Owner lcore. */
enum dpc_pkt_kind dpc_guard_icmp(struct dpc_worker *w);
/**
 * May the response to the request frame @p frame, @p bytes_out bytes of
 * frames, go out?  The request counts as its Ethernet frame (14 + IPv4
 * total length, at least 60; a reassembled one as one frame of the whole
 * datagram).  Trusted sources without trusted_rate: always (nothing looked
 * up).  Others: the source's credit (amp_factor) and bucket
 * (dpc_srcguard_charge()); a refusal is counted (drop_amplification,
 * drop_src_rate).  Owner lcore.
 */
bool dpc_guard_tx(struct dpc_worker *w, const uint8_t *frame, const struct dpc_pkt_info *info,
		  uint32_t bytes_out);
/**
 * The most bytes of frames a response to @p frame could be sent now
 * (dpc_srcguard_allowance(): nothing charged); UINT32_MAX for a trusted
 * source without trusted_rate (one flag test, one relaxed load).  The
 * worker stops building a response at it.  Owner lcore.
 */
uint32_t dpc_guard_allowance_slow(struct dpc_worker *w, const uint8_t *frame,
				  const struct dpc_pkt_info *info);
static inline uint32_t dpc_guard_allowance(struct dpc_worker *w, const uint8_t *frame,
					   const struct dpc_pkt_info *info);

/* ---- fwd.c, fwd.h: the forwarding rings' admission -------------------------- */

/** Source slots per (producer, consumer) pair; a slot index fits dpc_pkt_info.fwd_slot. */
#define DPC_FWD_SLOT_BITS 6u
#define DPC_FWD_SLOTS (1u << DPC_FWD_SLOT_BITS)

/**
 * A worker's ring accounting (fwd.h).  @c sent and @c sent_mbufs: written
 * by this worker only, read by nobody else.  @c done and @c done_mbufs:
 * written by this worker only (the consumer of its inbox), read relaxed by
 * the producers.
 */
struct dpc_fwd {
	uint32_t *sent;                    /**< [to][slot]: entries put in worker to's inbox */
	uint32_t *sent_mbufs;              /**< [to]: mbufs of chains put in worker to's inbox */
	_Atomic uint32_t *done;            /**< [from][slot]: entries of worker from taken out */
	_Atomic uint32_t *done_mbufs;      /**< [from]: mbufs of its chains processed and freed */
	uint32_t seed;                     /**< source hash seed (a sender cannot aim at a slot) */
	uint32_t share_pct;                /**< ring_source_share the share was computed for */
	uint32_t share;                    /**< entries per (to, slot) */
	uint32_t chain_share;              /**< chained mbufs per to */
};

struct dpc_config;
/** Allocate @p w's accounting for @p nworkers workers (cold path).  0 or -ENOMEM. */
int dpc_fwd_init(struct dpc_worker *w, const struct dpc_config *cfg, unsigned nworkers);
/** Free it (NULL-safe on a zeroed worker). */
void dpc_fwd_fini(struct dpc_worker *w);
/** Recompute the per-source share for ring_source_share = @p pct (a run-time change). */
void dpc_fwd_share_update(struct dpc_worker *w, uint32_t pct);
/** mbufs one worker's inbox may hold in chains beyond one per entry (pool sizing). */
unsigned dpc_fwd_pool_mbufs(const struct dpc_config *cfg, unsigned nworkers);

/* ---- worker.c ------------------------------------------------------------- */

#define DPC_BURST 32u        /**< rte_eth_rx_burst size */
#define DPC_TX_BUF 64u       /**< frames queued before an rte_eth_tx_burst */
#define DPC_RING_DRAIN 64u   /**< most forwarded datagrams processed per poll iteration */
/** Fraction bits of dpc_worker.lat_mult. */
#define DPC_LAT_SHIFT 20u
/**
 * Datagrams of long responses sent per poll iteration: a response of more
 * goes to the send backlog and out DPC_TX_CHUNK at a time, so that the
 * replies of the next iterations (other sources' small ones) go between.
 */
#define DPC_TX_CHUNK 64u
/** Maximal responses (dpc_worker_resp_max datagrams each) the send backlog holds. */
#define DPC_BACKLOG_RESPONSES 4u
/**
 * Microseconds of empty poll iterations in a row before the idle back-off
 * (idle_sleep_us) starts sleeping.  A time, not a count of iterations: an
 * empty iteration costs 0.1-6 us depending on the background work it finds,
 * and a count made the threshold swing with it (256 cheap iterations are a
 * 25 us gap in the traffic, which a busy server sees all the time).  Not
 * much longer either: a client that shares the worker's CPU (tests, a
 * bench on a small machine) runs only once the worker yields, and at 1 ms a
 * closed-loop bench beside it made 5 k requests a second instead of 44 k.
 */
#define DPC_IDLE_SPIN_US 100u
/** A busy poll iteration does 1/this of maintain_budget (plus one unit); an idle one all of it. */
#define DPC_MAINTAIN_BUSY_DIV 16u

/**
 * One worker: one lcore, one RX/TX queue pair, one table partition.
 * Everything here is touched by its own lcore only, except @c ring (other
 * workers enqueue, MP), the stats and the latency histogram (read relaxed by
 * the control thread and by STAT).
 */
struct dpc_worker {
	/* read-mostly set-up */
	unsigned id;                       /**< == partition == queue */
	unsigned lcore;
	uint16_t port_id, queue_id;
	bool sw_csum;                      /**< checksums in software (else TX offload) */
	bool rx_csum_offload;
	bool clock_keeper;                 /**< updates the cache clock once a second */
	int dynoff;                        /**< mbuf dynfield: struct dpc_pkt_info of forwarded frames */
	unsigned nworkers;
	struct dpc_handler h;
	struct dpc_netcfg net;
	struct dpc_guard guard;
	struct rte_mempool *pool;
	struct rte_ring *ring;             /**< this worker's inbox (MP enqueue, SC dequeue) */
	struct rte_ring *const *rings;     /**< every worker's inbox, by partition */
	const struct dpc_worker *peers;    /**< every worker (their fwd.done counters), by partition */
	struct dpc_fwd fwd;                /**< forwarding-ring admission (fwd.h) */
	struct dpc_config *cfg;            /**< live config: runtime settings read relaxed */
	struct dpc_worker_stats *st;
	struct dpc_hist *lat;              /**< in-server latency (lat.h): written here, read by others */
	uint64_t lat_mult;                 /**< TSC ticks -> ns, fixed point (DPC_LAT_SHIFT bits) */
	uint32_t lat_epoch;                /**< latency_epoch last seen: a change empties @c lat */
#ifdef DPC_WORKER_PHASES
	struct dpc_phases *phases;         /**< where a busy iteration's time goes (worker.c) */
#endif
	const atomic_bool *stop;
	uint64_t tsc_hz, next_sec_tsc;

	/* the response being built: one mbuf per datagram, at most resp_cap */
	struct dpc_wr wr;
	struct rte_mbuf **resp;
	unsigned nresp, resp_max, resp_cap;
	struct rte_mbuf *reuse;            /**< the request's mbuf, for the first datagram, or NULL */
	uint16_t reuse_off;                /**< where that datagram starts in it (data_off) */

	/* send backlog: datagrams of long responses, DPC_TX_CHUNK per iteration (FIFO) */
	struct rte_mbuf **backlog;
	unsigned backlog_cap, backlog_head, backlog_n;

	/* mbufs pre-allocated in bulk for responses */
	struct rte_mbuf *stash[DPC_BURST];
	unsigned nstash;

	/* frames waiting for rte_eth_tx_burst */
	struct rte_mbuf *tx[DPC_TX_BUF];
	unsigned ntx;

	/* IPv4 reassembly (reasm_rx.c); NULL when reasm_entries = 0 */
	struct dpc_reasm *reasm;
	bool reasm_live;                   /**< entries held or fragments on the death row */
	uint8_t *big;                      /**< DPC_BIG_BUF bytes: a chained datagram, copied whole */
	/* the exception path (exception.c): TAP queue w->id, when TCP is served */
	bool exc;
	uint16_t exc_port;
} __rte_cache_aligned;

/* ---- reasm_rx.c ------------------------------------------------------------ */

struct dpc_reasm;
/** A whole frame of the largest IPv4 datagram: Ethernet header + 65,535 bytes (+ slack). */
#define DPC_BIG_BUF (DPC_ETH_HLEN + 65535u + 64u)
/** Expired datagrams given up per poll iteration at most (bounded work). */
#define DPC_REASM_EXPIRE_BUDGET 16u

/**
 * Give @p w its reassembly table and 64 KiB buffer from the reasm_*
 * settings (nothing when reasm_entries = 0).  Cold path.  0 or -ENOMEM.
 */
int dpc_reasm_rx_init(struct dpc_worker *w, const struct dpc_config *cfg);
/** Free them, with every fragment still held.  Safe on a worker never initialised. */
void dpc_reasm_rx_fini(struct dpc_worker *w);
/** mbufs one worker's reassembly may hold at once (pool sizing), for @p mbuf_truesize each. */
unsigned dpc_reasm_rx_mbufs(const struct dpc_config *cfg, unsigned mbuf_truesize);
/**
 * The worker that reassembles a fragment (classified DPC_PKT_IP_FRAGMENT):
 * by a hash of (source, destination, IP id), the same for every fragment
 * of a datagram whatever queue it lands on.
 */
unsigned dpc_reasm_rx_owner(const struct dpc_worker *w, const uint8_t *frame,
			    const struct dpc_pkt_info *info);
/**
 * Take one fragment (owner lcore only; @p m belongs to reassembly from
 * here).  Returns the whole datagram when this fragment completed it: a
 * chain of mbufs, the first carrying Ethernet + an unfragmented IPv4
 * header, the rest the payload in order (the caller owns it); else NULL.
 */
struct rte_mbuf *dpc_reasm_rx(struct dpc_worker *w, struct rte_mbuf *m,
			      const struct dpc_pkt_info *info, uint64_t now);
/** Per poll iteration: give up timed-out datagrams (bounded), free the death row. */
void dpc_reasm_rx_poll(struct dpc_worker *w, uint64_t now);

/**
 * Datagrams a single response may span for a server whose largest value
 * is @p max_value (a GETK of a maximal key and value plus slack); sizes
 * each worker's response array and, with it, the mbuf pool.
 */
unsigned dpc_worker_resp_max(uint64_t max_value);

/**
 * The source checks on a classified frame, before any other work
 * (worker.c, RX; guard.c has the rest): Ethernet, martian and `allow`
 * checks (dpc_srcguard_check()), the ICMP echo rate; sets
 * info->src_flags.  Returns @p kind or the drop kind.  Owner lcore; the
 * live lists are loaded with acquire and used until the worker's next
 * QSBR quiescent state (a replaced list is freed only after it).  Inline:
 * once per received frame.
 */
static inline enum dpc_pkt_kind dpc_guard_rx(struct dpc_worker *w, const uint8_t *frame,
					     enum dpc_pkt_kind kind, struct dpc_pkt_info *info)
{
	const struct dpc_config *cfg = w->cfg;
	/* pairs with the release in dpc_config_set()'s exchange */
	struct dpc_srcguard_lists l = {
		.allow = __atomic_load_n(&cfg->allow, __ATOMIC_ACQUIRE),
		.trusted = __atomic_load_n(&cfg->trusted, __ATOMIC_ACQUIRE),
		.admin = __atomic_load_n(&cfg->admin, __ATOMIC_ACQUIRE),
	};

	kind = dpc_srcguard_check(frame, kind, info, &w->net, w->guard.subnet_len, &l, &info->src_flags);
	if (__builtin_expect(kind == DPC_PKT_ICMP_ECHO, 0))
		return dpc_guard_icmp(w);
	return kind;
}

static inline uint32_t dpc_guard_allowance(struct dpc_worker *w, const uint8_t *frame,
					   const struct dpc_pkt_info *info)
{
	/* the common case inline: a trusted source without trusted_rate has no budget */
	if (__builtin_expect((info->src_flags & DPC_SRC_TRUSTED) &&
			     __atomic_load_n(&w->cfg->trusted_rate, __ATOMIC_RELAXED) == 0, 1))
		return UINT32_MAX;
	return dpc_guard_allowance_slow(w, frame, info);
}

/** The poll loop (rte_lcore_function_t): runs until *w->stop.  Returns 0. */
int dpc_worker_main(void *arg);

/*
 * A worker's inbox carries three kinds of entry, told apart by the low
 * bits of the pointer (mbufs and jobs are cache-line aligned):
 *   DPC_INBOX_DGRAM  an mbuf: a datagram another worker forwarded (its
 *                    struct dpc_pkt_info in the mbuf dynamic field);
 *   DPC_INBOX_TX     an mbuf: a frame from the kernel (exception path) to
 *                    send out of the port as it is;
 *   DPC_INBOX_JOB    a struct dpc_tcp_job: TCP writes to run (tcp.c).
 * Forwarded datagrams are tag 0, so the forwarding path is unchanged.
 */
enum dpc_inbox_tag { DPC_INBOX_DGRAM = 0, DPC_INBOX_TX = 1, DPC_INBOX_JOB = 2 };
#define DPC_INBOX_TAG_MASK ((uintptr_t)3)

static inline void *dpc_inbox_tag(void *p, enum dpc_inbox_tag tag)
{
	return (void *)((uintptr_t)p | (uintptr_t)tag);
}

static inline enum dpc_inbox_tag dpc_inbox_tag_of(const void *e)
{
	return (enum dpc_inbox_tag)((uintptr_t)e & DPC_INBOX_TAG_MASK);
}

static inline void *dpc_inbox_untag(void *e)
{
	return (void *)((uintptr_t)e & ~DPC_INBOX_TAG_MASK);
}

/* ---- exception.c: the kernel exception path (TAP) ------------------------- */

#define DPC_EXC_MAX_QUEUES 16u

/**
 * The exception port: a DPDK TAP port whose kernel interface holds the
 * server's address and the port's MAC.  Workers send it the frames that
 * are not for the UDP fast path (TCP to us, ARP replies to us), each on
 * TAP queue w->id; a thread of its own (rx interrupts, no polling) reads
 * what the kernel sends and hands each frame to a worker's inbox
 * (DPC_INBOX_TX), which sends it out of the port.
 */
struct dpc_exc {
	uint16_t port_id;                  /**< the TAP port */
	uint16_t nqueues;                  /**< == workers */
	char ifname[16];                   /**< kernel interface */
	struct rte_ring *const *rings;     /**< every worker's inbox */
	struct dpc_worker_stats *st;       /**< this thread's counters (exc_from_kernel...) */
	const atomic_bool *stop;
	int epfd;                          /**< TAP queue fds (rx interrupts); -1: poll */
	bool vdev, port_started, thread_started;
	pthread_t thread;
};

/**
 * Create and start the TAP port for @p nqueues workers, name its kernel
 * interface (cfg->tcp_iface), give it the port's MAC and cfg->address /
 * cfg->subnet_len, and bring it up.  RX buffers from @p pool.  Cold path.
 * Returns 0 or a negative errno (logged with the reason).
 */
int dpc_exc_setup(struct dpc_exc *x, const struct dpc_config *cfg,
		  const struct rte_ether_addr *mac, struct rte_mempool *pool, uint16_t nqueues);
/** Start the thread that forwards the kernel's frames; 0 or a negative errno. */
int dpc_exc_start(struct dpc_exc *x);
/** Join the thread (it leaves when *x->stop is set), stop and close the port.  Idempotent. */
void dpc_exc_close(struct dpc_exc *x);
/**
 * Worker side: pass @p n frames to the kernel on TAP queue w->id; what the
 * TAP refuses is freed and counted (exc_to_kernel_drops).  Only frames of
 * the exception path: never called on the UDP fast path.
 */
void dpc_exc_to_kernel(struct dpc_worker *w, struct rte_mbuf **m, unsigned n);

/* ---- tcp.c: the TCP server --------------------------------------------------- */

/** What the TCP server needs from the instance (all of it outlives the server). */
struct dpc_tcp_env {
	struct dpc_config *cfg;                 /**< live config (runtime settings read relaxed) */
	struct dpc_cache *cache;
	struct rte_ring *const *rings;          /**< every worker's inbox, by partition */
	unsigned nworkers;
	/** Each TCP thread's own counters (cfg->tcp_threads of them; one writer each). */
	struct dpc_worker_stats *const *st;
	struct dpc_worker_stats *const *all_stats; /**< for STAT: workers then service threads */
	struct dpc_hist *const *all_lat;           /**< for STAT: the workers' latency (lat.h) */
	unsigned nstats;
	const atomic_bool *stop;
};

struct dpc_tcp;

/**
 * Open cfg->tcp_threads listening sockets on cfg->address:cfg->port
 * (SO_REUSEPORT; the exception interface must hold the address).  Returns
 * NULL and sets errno.  Cold.
 */
struct dpc_tcp *dpc_tcp_create(const struct dpc_tcp_env *env);
/**
 * Start the server threads (dpc-tcp<i>, each a QSBR reader with its own
 * connections); 0 or a negative errno (the threads started are joined by
 * dpc_tcp_join()).
 */
int dpc_tcp_start(struct dpc_tcp *t);
/**
 * Join the threads (they leave when *env->stop is set).  Call after the
 * workers have stopped: a write job a worker still holds points into the
 * server's memory.  Then dpc_tcp_free() (NULL is fine).
 */
void dpc_tcp_join(struct dpc_tcp *t);
void dpc_tcp_free(struct dpc_tcp *t);

/**
 * Worker side (an inbox entry tagged DPC_INBOX_JOB): run the TCP writes of
 * @p job with the owner's handler @p h into the job's answer buffer and
 * publish completion (release).  Bounded: one job holds at most
 * DPC_TCP_JOB_REQS requests.  Owner worker only.
 */
#define DPC_TCP_JOB_REQS 64u
void dpc_tcp_job_run(struct dpc_handler *h, struct dpc_worker_stats *st, void *job);

#endif /* DPCACHE_DP_H */
