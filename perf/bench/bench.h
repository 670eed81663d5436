/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file bench.h
 * dpcache-bench internals (private to perf/bench/): settings, the transport
 * interface (DPDK port or kernel UDP sockets), the workload (keys, values,
 * key popularity), the load engine, the conformance check, the reflector
 * and the reports.  A load run has one engine per EAL lcore (engine.c);
 * everything else (check, reflect) runs on the main lcore alone.
 */
#ifndef DPCACHE_BENCH_H
#define DPCACHE_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "dpcache/common.h"
#include "dpcache/proto.h"

#define BENCH_MAX_SERVERS 16u
#define BENCH_MAX_STEER 64u
#define BENCH_MAX_BATCH 64u
#define BENCH_BURST 32u
/** Largest UDP payload the bench sends or accepts per datagram (frame header included). */
#define BENCH_DGRAM_MAX 1472u
/**
 * Largest request datagram: a SET of a value up to 8 KiB (--value-size
 * MIN-MAX).  Above BENCH_DGRAM_MAX it leaves as IPv4 fragments (kernel UDP:
 * the kernel's; DPDK: the bench's own, tp_dpdk.c).
 */
#define BENCH_REQ_MAX 9216u

/* ---- settings ------------------------------------------------------------ */

enum bench_transport { BENCH_TP_DPDK = 0, BENCH_TP_UDP };
enum bench_mode { BENCH_MODE_LOAD = 0, BENCH_MODE_CHECK, BENCH_MODE_REFLECT };

struct bench_server {
	char name[64];      /**< "host:port" as given */
	char host[48];
	uint32_t ip;        /**< network order */
	uint16_t port;      /**< host order: first UDP port (partition 0) */
	uint8_t mac[6];     /**< DPDK: resolved by ARP or --dst-mac */
};

struct bench_cfg {
	enum bench_transport transport;
	enum bench_mode mode;
	struct bench_server servers[BENCH_MAX_SERVERS];
	unsigned nservers;
	int ketama_hash;           /**< enum dpc_ketama_key_hash: md5 (libmemcached) or fnv1a_64 */
	/* workload */
	uint64_t keys;
	unsigned key_size, value_size;
	unsigned value_min;        /**< > 0: values of value_min..value_size bytes (bench_value_len()) */
	double get_ratio;
	double zipf_s;             /**< 0 = uniform */
	unsigned batch;            /**< 1 = plain GET; > 1 = GETKQ x n + NOOP */
	unsigned outstanding;      /**< closed loop window, or open loop cap */
	double rate;               /**< requests/s, 0 = closed loop */
	double warmup_s, duration_s;
	bool prefill;
	bool fill_on_miss;         /**< look-aside: a GET miss is followed by a SET of the key */
	unsigned prefill_batch;    /**< SETQ per datagram while prefilling */
	unsigned steer;            /**< 0 = off; N = partitions of each server */
	unsigned timeout_us;
	uint64_t seed;
	bool progress;
	const char *json_path;     /**< NULL, "-" or a file */
	const char *label;
	/* DPDK */
	uint16_t port_id;
	uint32_t src_ip;           /**< network order */
	uint16_t src_port;         /**< host order */
	bool have_dst_mac;
	uint8_t dst_mac[6];
	bool udp_csum;             /**< compute UDP checksums (else 0, allowed in IPv4) */
	unsigned nb_mbufs;
	unsigned queues;           /**< queue pairs opened (0: the --steer count, or 1) */
	bool frag_spread;          /**< fragment f of a request leaves on queue (q + f) % queues */
	double rx_pause_at, rx_pause_s; /**< stop reading replies at this second of the run, so long */
	unsigned ncores;           /**< bench lcores (the EAL's; 1 over kernel UDP) */
	/* reflect */
	uint16_t reflect_port;     /**< first UDP port answered */
	double reflect_s;          /**< 0 = until SIGINT/SIGTERM */
	/* check */
	bool check_big;
	/* dry run: bench and reflector in one thread over a net_ring pair */
	bool dry_run;            /**< include 100 KiB / 1 MiB values */
};

void bench_cfg_defaults(struct bench_cfg *c);
/** Bytes of the largest request datagram this configuration sends (frame header included). */
size_t bench_req_max(const struct bench_cfg *c);
/** Parse bench flags (after EAL's "--"); 0, 1 for --help, or -EINVAL (message printed). */
int bench_cfg_parse(struct bench_cfg *c, int argc, char **argv);
void bench_usage(FILE *out);

/* ---- time ----------------------------------------------------------------- */

/** TSC ticks; bench_tsc_hz() is calibrated once at start-up. */
uint64_t bench_tsc(void);
uint64_t bench_tsc_hz(void);
void bench_tsc_calibrate(void);
double bench_tsc_to_us(uint64_t ticks);

/** Set by SIGINT/SIGTERM: stop at the next check. */
bool bench_stop_requested(void);
void bench_install_signals(void);

/* ---- transports ------------------------------------------------------------ */

/** One datagram to send: the engine fills buf[0..len) (UDP payload). */
struct bench_txd {
	uint8_t *buf;
	uint16_t len;       /**< set by the engine; 0 after tx_send() = not sent */
	uint16_t server;
	uint16_t part;      /**< partition: UDP port offset and (DPDK) TX queue */
	uint16_t cap;       /**< room at buf (>= BENCH_DGRAM_MAX) */
};

/** One received UDP payload, valid until the next rx(). */
struct bench_rxd {
	const uint8_t *buf;
	uint16_t len;
};

struct bench_tp;

/** A DPDK port's own counters (rte_eth_stats), beside the bench's: where a NIC drops. */
struct bench_port_stats {
	uint16_t port;
	uint64_t ipackets, opackets, ibytes, obytes;
	uint64_t imissed;     /**< dropped by the NIC: RX ring full */
	uint64_t ierrors, oerrors;
	uint64_t rx_nombuf;   /**< RX mbuf allocation failures */
};

struct bench_tp_ops {
	/** Get up to @p n empty datagram buffers; returns how many. */
	unsigned (*tx_get)(struct bench_tp *tp, struct bench_txd *d, unsigned n);
	/**
	 * Send d[0..n); every one is consumed.  Those the transport could not
	 * send (queue full after bounded retries) get len = 0.  Returns the number sent.
	 */
	unsigned (*tx_send)(struct bench_tp *tp, struct bench_txd *d, unsigned n);
	/** Receive up to @p max payloads (non-blocking); the previous batch is released. */
	unsigned (*rx)(struct bench_tp *tp, struct bench_rxd *d, unsigned max);
	void (*close)(struct bench_tp *tp);
	/**
	 * The port's counters (NULL for kernel sockets).  0, or -ENOENT from a
	 * transport that shares its port with the one that reports it (one row per port).
	 */
	int (*port_stats)(struct bench_tp *tp, struct bench_port_stats *st);
};

struct bench_tp {
	const struct bench_tp_ops *ops;
	const char *name;
	uint64_t rx_foreign;    /**< frames that were not replies to us (dropped) */
	uint64_t rx_trunc;      /**< datagrams larger than our buffers */
	uint64_t tx_refused;    /**< datagrams the queue refused after retries */
	uint64_t arp_replies;   /**< ARP requests for our address answered (DPDK) */
};

/** Kernel UDP sockets (sendmmsg/recvmmsg).  NULL + errno. */
struct bench_tp *bench_tp_udp_open(const struct bench_cfg *c);
/**
 * A DPDK port (EAL already initialised) with bench_tp_queues(c) queue pairs;
 * resolves servers' MACs by ARP.  The transport of bench lcore 0 of
 * c->ncores: it owns the queues q with q % ncores == 0.  NULL + errno.
 */
struct bench_tp *bench_tp_dpdk_open(struct bench_cfg *c);
/**
 * The transport of bench lcore @p core on @p first's port: the queues
 * q % ncores == core, UDP source port src_port + core (so that every reply
 * can be told apart by its destination port).  Closed before @p first.  NULL + errno.
 */
struct bench_tp *bench_tp_dpdk_open_core(struct bench_tp *first, unsigned core);
/** Queue pairs a DPDK port is opened with: the largest of --queues, --steer and the lcores. */
unsigned bench_tp_queues(const struct bench_cfg *c);

struct rte_mempool;
struct rte_ether_addr;
/**
 * Configure and start DPDK port @p port with @p nq queue pairs and a new
 * mbuf pool; with @p wait_link, wait up to 10 s for the link (a memif
 * server's link comes up only when a client connects).  Retries the start
 * for 10 s (memif client before its server).  0 or -errno.
 */
int bench_dpdk_port_setup(uint16_t port, uint16_t nq, unsigned nb_mbufs, bool wait_link,
			  struct rte_mempool **pool, struct rte_ether_addr *mac);

/* ---- workload ---------------------------------------------------------------- */

/** xoshiro-style fast PRNG state (splitmix64 seeded). */
struct bench_rng {
	uint64_t s[2];
};
void bench_rng_seed(struct bench_rng *r, uint64_t seed);
static inline uint64_t bench_rng_next(struct bench_rng *r)
{
	uint64_t s0 = r->s[0], s1 = r->s[1];
	uint64_t res = s0 + s1;

	s1 ^= s0;
	r->s[0] = ((s0 << 55) | (s0 >> 9)) ^ s1 ^ (s1 << 14);
	r->s[1] = (s1 << 36) | (s1 >> 28);
	return res;
}
/** Uniform in [0, n). */
static inline uint64_t bench_rng_below(struct bench_rng *r, uint64_t n)
{
	return (uint64_t)(((unsigned __int128)bench_rng_next(r) * n) >> 64);
}

struct bench_keyspace {
	uint64_t n;           /**< keys in all (the per-key arrays' length) */
	unsigned key_size;
	uint8_t *server;      /**< per key: ketama server index (NULL if one server) */
	uint8_t *part;        /**< per key: partition (NULL if no steering) */
	uint32_t *version;    /**< per key: last version written (by the lcore whose slice holds it) */
	/*
	 * What is drawn from: ndraw keys, draw j -> key draw_map[j] if there is
	 * a map, else j * draw_stride + draw_off.  The whole key space for one
	 * lcore; a slice of it per lcore with several (bench_keyspace_slice()).
	 */
	uint64_t ndraw;
	uint32_t *draw_map;
	uint32_t draw_stride, draw_off;
	/* popularity over the ndraw keys: uniform, or Zipf through an alias table over ranks */
	double zipf_s;
	float *alias_prob;
	uint32_t *alias_idx;
	uint64_t perm_mul;    /**< rank -> draw index: (rank * perm_mul) mod ndraw */
	bool slice;           /**< the per-key arrays belong to another keyspace (not freed) */
	/* value lengths: fixed (vlen_tab NULL), or one of BENCH_VLEN_TAB per key */
	unsigned vlen_fixed;
	uint32_t *vlen_tab;
};

#define BENCH_VLEN_TAB 1024u

/**
 * Value length of key @p k: the fixed --value-size, or with --value-size
 * MIN-MAX one of BENCH_VLEN_TAB lengths spaced log-uniformly over
 * [MIN, MAX], chosen by a hash of the key (the same for every write of the
 * key, so that every hit can be checked, and like an application whose
 * objects keep their size).
 */
static inline unsigned bench_value_len(const struct bench_keyspace *ks, uint64_t k)
{
	if (!ks->vlen_tab)
		return ks->vlen_fixed;
	return ks->vlen_tab[((k + 1) * 0x9e3779b97f4a7c15ull) >> 54];
}

/** Build the ketama and steering maps (keys are not stored: see bench_key_put()). 0 or -errno. */
int bench_keyspace_init(struct bench_keyspace *ks, const struct bench_cfg *c);
/**
 * Lcore @p core's slice of @p all among @p ncores (sharing its per-key
 * arrays, which must outlive the slice): with steering (all->part), the
 * keys whose partition p has p % ncores == core, so that every partition
 * (and its queue) belongs to one lcore; else every ncores-th key from
 * @p core.  Own popularity table (same Zipf exponent) over the slice.
 * 0, -ENOENT if the slice is empty, -ENOMEM.
 */
int bench_keyspace_slice(struct bench_keyspace *s, const struct bench_keyspace *all, unsigned core,
			 unsigned ncores);
void bench_keyspace_free(struct bench_keyspace *ks);

/** Key of draw index @p j (0 <= j < ks->ndraw). */
static inline uint64_t bench_key_at(const struct bench_keyspace *ks, uint64_t j)
{
	return ks->draw_map ? ks->draw_map[j] : j * ks->draw_stride + ks->draw_off;
}

static inline uint8_t bench_hexc(unsigned d)
{
	return (uint8_t)('0' + d + ((0u - ((9u - d) >> 31)) & 39u));   /* 0-9a-f, branch-free */
}

/**
 * Write key @p i: "k" then hex digits, zero-padded to @p key_size bytes
 * (same bytes as bench_key_format()).  Computed, not looked up: a table
 * of 1M keys would cost a cache miss per request.  @p i must fit (checked
 * once at start-up with bench_key_format()).
 */
static inline void bench_key_put(uint8_t *out, unsigned key_size, uint64_t i)
{
	unsigned nd = key_size - 1, pad = nd > 16 ? nd - 16 : 0, p;

	out[0] = 'k';
	for (p = 0; p < pad; p++)
		out[1 + p] = '0';
	for (p = pad; p < nd; p++)
		out[1 + p] = bench_hexc((unsigned)(i >> (4 * (nd - 1 - p))) & 15u);
}

/** Draw a key index by the configured popularity. */
uint64_t bench_key_draw(const struct bench_keyspace *ks, struct bench_rng *r);
/** Format key @p i (key_size bytes, no terminator); -EINVAL if the index does not fit. */
int bench_key_format(uint8_t *out, unsigned key_size, uint64_t i);
/** Parse a key made by bench_key_format(); the index, or UINT64_MAX. */
uint64_t bench_key_parse(const uint8_t *key, size_t len);

/**
 * Deterministic value of key @p k at version @p v: bytes 0..3 the key
 * index, 4..7 the version (little-endian, when len >= 8), the rest a
 * pseudo-random filler seeded by (k, v).  The bench checks every GET's content.
 */
void bench_value_fill(uint8_t *out, size_t len, uint64_t k, uint32_t v);
/** Flags stored with key @p k (checked on every hit). */
static inline uint32_t bench_value_flags(uint64_t k)
{
	return (uint32_t)((k * 0x9e3779b97f4a7c15ull) >> 40) | 0x1000000u;
}
/**
 * Check a value returned for key @p k: 0 if it is the value of some version
 * <= @p max_version (its version in *@p v_out), else -EBADMSG.
 */
int bench_value_check(const uint8_t *val, size_t len, uint64_t k, uint32_t max_version,
		      uint32_t *v_out);

/* ---- results ------------------------------------------------------------------ */

struct dpc_hist;

struct bench_counters {
	uint64_t sent;          /**< request datagrams sent */
	uint64_t completed;     /**< request datagrams fully answered */
	uint64_t gets;          /**< keys asked for */
	uint64_t get_hits, get_misses;
	uint64_t sets, set_ok;
	uint64_t fills;         /**< --fill-on-miss: SETs sent for keys a GET missed (in sets too) */
	uint64_t fills_dropped; /**< --fill-on-miss: misses not followed by a SET (queue full) */
	uint64_t retries;       /**< prefill: SETs sent again after a Temporary failure */
	uint64_t gave_up;       /**< prefill: keys given up after their last try (also in err_status) */
	uint64_t err_status;    /**< unexpected status */
	uint64_t err_content;   /**< wrong value, flags, key or opaque */
	uint64_t err_proto;     /**< malformed response, bad frame header */
	uint64_t timeouts;      /**< requests given up (loss) */
	uint64_t late;          /**< replies for requests already given up, or unknown ids */
	uint64_t tx_refused;    /**< datagrams our transport could not send */
	uint64_t rx_dgrams;     /**< response datagrams */
	uint64_t rx_bytes;
	uint64_t tx_bytes;
};

struct bench_result {
	const char *phase;
	double seconds;
	double offered_rate;    /**< open loop: target requests/s */
	struct bench_counters c;
	struct bench_counters warm;  /**< the warm-up phase (hit ratio while the cache fills) */
	struct dpc_hist *lat;   /**< request latency in TSC ticks */
	uint64_t busy_cycles;   /**< TSC the bench spent in poll iterations that did work */
	double cpu_seconds;     /**< CPU time the thread(s) got during the measurement (sum) */
	unsigned lcore;         /**< the EAL lcore of a per-lcore row */
	unsigned ncores;        /**< lcores merged into this result */
	const struct bench_result *per_core;   /**< ncores rows when ncores > 1, else NULL */
	const struct bench_port_stats *ports;  /**< per DPDK port: counters over warm-up + measurement */
	unsigned nports;
};

/** Print for people. */
void bench_report_text(FILE *out, const struct bench_cfg *cfg, const struct bench_result *r);
/** JSON object for scripts (one line per key-group, valid JSON). */
void bench_report_json(FILE *out, const struct bench_cfg *cfg, const struct bench_result *r,
		       const struct bench_result *prefill);

/* ---- modes -------------------------------------------------------------------- */

/**
 * Load run (prefill, warm-up, measure) on c->ncores lcores: tps[i] is lcore
 * i's transport (i = 0 the main lcore, then the EAL's worker lcores in
 * order).  Each has its own slice of the keys, seed, window and 1/ncores of
 * --rate; counters and histograms are merged at the end, with a row per
 * lcore.  Returns 0, or 1 if errors were seen, or -errno.
 */
int bench_run_load(struct bench_cfg *c, struct bench_tp **tps);
/** Conformance check; 0 if every check passed, 1 if any failed. */
int bench_run_check(struct bench_cfg *c, struct bench_tp *tp);
/** Reflector: answer GET/GETK/GETKQ/NOOP/SET on a DPDK port as fast as possible. */
int bench_run_reflect(struct bench_cfg *c);

/** The reflector as an object (also polled inline by --dry-run).  NULL + errno. */
struct bench_reflector;
struct bench_reflector *bench_reflector_open(const struct bench_cfg *c, uint16_t port, uint16_t nq);
/** One pass over its queues; returns the frames received. */
unsigned bench_reflector_poll(struct bench_reflector *r);
/** Print its counters, stop the port, free (NULL is fine). */
void bench_reflector_close(struct bench_reflector *r);
/** --dry-run: a DPDK transport that polls @p peer at every receive (one thread does both). */
struct bench_tp *bench_tp_dpdk_open_peer(struct bench_cfg *c, struct bench_reflector *peer);
/**
 * --dry-run: create pair @p idx (one per bench lcore) of net_ring ports wired
 * to each other; sets *@p a (the bench's) and *@p b (the reflector's).  0 or -errno.
 */
int bench_ring_pair(unsigned idx, uint16_t *a, uint16_t *b);

#endif /* DPCACHE_BENCH_H */
