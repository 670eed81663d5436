/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dpcached: `dpcached [EAL args] -- [dpcache flags]`.
 *
 * Start-up (a goto-cleanup chain): parse our flags (before EAL, so that
 * --help and bad values fail fast), add --file-prefix=<name> to the EAL
 * arguments if absent, rte_eal_init(), the cache (one partition per
 * worker), one mbuf pool, one ring per worker, the port (one queue pair
 * per worker), the control channel, then one worker per lcore.  SIGINT or
 * SIGTERM sets the stop flag; the workers leave their loops and the chain
 * unwinds: port stopped and closed, cache freed, EAL cleaned up, exit 0.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>
#include <rte_mbuf_pool_ops.h>
#include <rte_ring.h>

#include "ctl_server.h"
#include "dp.h"

int dpc_logtype = RTE_LOGTYPE_USER1;

/* Set by the signal handler, read by every worker (relaxed: it only has to arrive). */
static atomic_bool stop_flag;

static void on_signal(int sig)
{
	(void)sig;
	atomic_store_explicit(&stop_flag, true, memory_order_relaxed);
}

uint32_t dpc_log_level_from_cfg(uint32_t idx)
{
	static const uint32_t map[] = { RTE_LOG_ERR, RTE_LOG_WARNING, RTE_LOG_INFO, RTE_LOG_DEBUG };

	return idx < DPC_ARRAY_SIZE(map) ? map[idx] : RTE_LOG_INFO;
}

static void usage_hook(const char *prog)
{
	printf("Usage: %s [EAL options] -- [dpcache options]\n\n", prog);
	dpc_config_help(stdout);
}

/*
 * CPUs for the threads dpcached starts besides the workers (the store's
 * reclaimer): DPDK's rule for control threads, the process's affinity at
 * start-up minus the lcores' CPUs, or all of it when nothing is left.  A
 * thread pinned beside a busy-polling worker would share its CPU with a
 * loop that never blocks (and some hypervisors do not preempt it at all).
 */
static cpu_set_t startup_cpus;

static void ctrl_cpuset(cpu_set_t *out)
{
	unsigned lcore;

	*out = startup_cpus;
	RTE_LCORE_FOREACH(lcore) {
		rte_cpuset_t cs = rte_lcore_cpuset(lcore);

		for (unsigned c = 0; c < CPU_SETSIZE; c++)
			if (CPU_ISSET(c, &cs))
				CPU_CLR(c, out);
	}
	if (CPU_COUNT(out) == 0)
		*out = startup_cpus;
}

/* The instance being run: everything main() sets up and tears down. */
struct dpc_instance {
	struct dpc_config *cfg;
	unsigned nworkers;
	struct dpc_cache *cache;
	struct rte_mempool *pool;
	struct rte_ring **rings;
	struct dpc_worker_stats *stats;          /* nworkers, cache-aligned each */
	struct dpc_worker_stats **stats_ptrs;
	struct dpc_hist **lat;                   /* nworkers: in-server latency (lat.h) */
	struct dpc_worker *workers;
	struct dpc_port_state port;
	bool port_started;
	int dynoff;
	/* TCP (tcp=yes): the exception path and the server */
	struct dpc_exc exc;
	struct dpc_tcp *tcp;
};

/*
 * Counters besides the workers', after them in the same array: one per TCP
 * thread (tcp_threads), then the exception thread's.
 */
static unsigned svc_count(const struct dpc_config *cfg)
{
	return (unsigned)cfg->tcp_threads + 1;
}

static unsigned svc_exc(const struct dpc_config *cfg)
{
	return (unsigned)cfg->tcp_threads;
}

static int setup_workers(struct dpc_instance *in)
{
	const struct dpc_config *cfg = in->cfg;
	unsigned lcore = (unsigned)-1, n = in->nworkers; /* rte_get_next_lcore(-1) is the first */
	bool main_works = rte_lcore_count() - 1 < n; /* too few lcores: main lcore is worker 0 */

	for (unsigned i = 0; i < n; i++) {
		struct dpc_worker *w = &in->workers[i];

		if (i == 0 && main_works) {
			w->lcore = rte_get_main_lcore();
		} else {
			lcore = rte_get_next_lcore(lcore, 1, 0);
			w->lcore = lcore;
		}
		w->id = i;
		w->port_id = in->port.port_id;
		w->queue_id = (uint16_t)i;
		w->sw_csum = !in->port.tx_csum_offload;
		w->rx_csum_offload = in->port.rx_csum_offload;
		w->clock_keeper = i == 0;
		w->dynoff = in->dynoff;
		w->nworkers = n;
		w->pool = in->pool;
		w->ring = in->rings[i];
		w->rings = in->rings;
		w->peers = in->workers;
		w->cfg = in->cfg;
		w->st = in->stats_ptrs[i];
		w->lat = in->lat[i];
		w->lat_epoch = cfg->latency_epoch;
		w->stop = &stop_flag;
		memcpy(w->net.mac, in->port.mac.addr_bytes, sizeof(w->net.mac));
		w->net.ip = cfg->address;
		w->net.port_lo = (uint16_t)cfg->port;
		w->net.port_count = (uint16_t)n;
		w->h.cache = in->cache;
		w->h.part = i;
		w->h.max_value = (uint32_t)cfg->max_value;
		w->h.stats = in->stats_ptrs[i];
		w->h.all_stats = in->stats_ptrs;
		w->h.all_lat = in->lat;
		w->h.nworkers = n;
		w->h.nstats = n + svc_count(in->cfg);
		w->h.version = DPC_MC_VERSION;
		w->resp_max = dpc_worker_resp_max(cfg->max_value);
		w->resp = rte_zmalloc("dpc_resp", w->resp_max * sizeof(*w->resp), RTE_CACHE_LINE_SIZE);
		w->backlog_cap = DPC_BACKLOG_RESPONSES * w->resp_max;
		w->backlog = rte_zmalloc("dpc_backlog", w->backlog_cap * sizeof(*w->backlog),
					 RTE_CACHE_LINE_SIZE);
		if (w->resp == NULL || w->backlog == NULL)
			return -ENOMEM;
		if (dpc_reasm_rx_init(w, cfg) != 0)
			return -ENOMEM;
		if (dpc_guard_init(w, cfg) != 0)
			return -ENOMEM;
		if (dpc_fwd_init(w, cfg, n) != 0)
			return -ENOMEM;
	}
	return 0;
}

static void free_instance(struct dpc_instance *in)
{
	dpc_tcp_free(in->tcp);
	dpc_exc_close(&in->exc);
	if (in->port_started)
		dpc_port_close(in->port.port_id);
	if (in->workers != NULL)
		for (unsigned i = 0; i < in->nworkers; i++) {
			rte_free(in->workers[i].resp);
			rte_free(in->workers[i].backlog);
			dpc_reasm_rx_fini(&in->workers[i]);
			dpc_guard_fini(&in->workers[i]);
			dpc_fwd_fini(&in->workers[i]);
		}
	rte_free(in->workers);
	if (in->rings != NULL)
		for (unsigned i = 0; i < in->nworkers; i++)
			rte_ring_free(in->rings[i]);
	rte_free(in->rings);
	rte_mempool_free(in->pool);
	dpc_cache_free(in->cache);
	rte_free(in->stats_ptrs);
	rte_free(in->stats);
	if (in->lat != NULL)
		for (unsigned i = 0; i < in->nworkers; i++)
			dpc_hist_free(in->lat[i]);
	free(in->lat);
}

/* Lowest and highest object address of a mempool (rte_mempool_obj_iter callback). */
struct obj_span {
	uintptr_t lo, hi;
};

static void obj_span_cb(struct rte_mempool *mp, void *arg, void *obj, unsigned idx)
{
	struct obj_span *s = arg;
	uintptr_t a = (uintptr_t)obj;

	(void)mp;
	(void)idx;
	if (a < s->lo)
		s->lo = a;
	if (a + mp->elt_size > s->hi)
		s->hi = a + mp->elt_size;
}

/*
 * The mbuf pool.  For net_af_xdp its objects must lie back to back in one
 * chunk: DPDK 22.11's af_xdp PMD registers [first object, first object +
 * n x object size) as the AF_XDP umem, and the kernel silently drops (and
 * never completes) a TX descriptor outside it.  A default pool keeps each
 * object inside one page (IOVA-contiguous objects for DMA): with 4 KiB
 * pages (--no-huge) that is one 2.3 KiB mbuf per page and the upper ~40 %
 * of the mbufs outside the umem, the "TX stall after large responses"
 * (docs/design.md).  RTE_MEMPOOL_F_NO_IOVA_CONTIG packs them; af_xdp
 * copies through the kernel, no device DMAs into them.
 */
static struct rte_mempool *pool_create(unsigned n, int socket, bool packed)
{
	struct rte_pktmbuf_pool_private priv = {
		.mbuf_data_room_size = RTE_MBUF_DEFAULT_BUF_SIZE,
		.mbuf_priv_size = 0,
	};
	struct rte_mempool *mp;
	struct obj_span span = { UINTPTR_MAX, 0 };
	size_t stride;

	if (!packed) {
		mp = rte_pktmbuf_pool_create("dpc_mbufs", n, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE, socket);
		goto out;
	}
	mp = rte_mempool_create_empty("dpc_mbufs", n,
				      (unsigned)(sizeof(struct rte_mbuf) + RTE_MBUF_DEFAULT_BUF_SIZE),
				      256, sizeof(priv), socket, RTE_MEMPOOL_F_NO_IOVA_CONTIG);
	if (mp == NULL)
		return NULL;
	if (rte_mempool_set_ops_byname(mp, rte_mbuf_best_mempool_ops(), NULL) != 0)
		goto fail;
	rte_pktmbuf_pool_init(mp, &priv);
	if (rte_mempool_populate_default(mp) < 0)
		goto fail;
	rte_mempool_obj_iter(mp, rte_pktmbuf_init, NULL);
out:
	if (mp == NULL)
		return NULL;
	rte_mempool_obj_iter(mp, obj_span_cb, &span);
	stride = rte_mempool_calc_obj_size(mp->elt_size, mp->flags, NULL);
	DPC_LOG(INFO, "mbuf pool: %u mbufs in %u chunk(s), %zu bytes apart, spanning %zu bytes "
		"(umem: %zu)", mp->populated_size, mp->nb_mem_chunks, stride,
		(size_t)(span.hi - span.lo), (size_t)mp->populated_size * stride);
	if (packed && mp->nb_mem_chunks != 1)
		DPC_LOG(WARNING, "mbuf pool in %u chunks: net_af_xdp may drop replies from the "
			"later ones (more EAL memory, or hugepages)", mp->nb_mem_chunks);
	return mp;
fail:
	rte_mempool_free(mp);
	rte_errno = ENOMEM;
	return NULL;
}

static int setup_instance(struct dpc_instance *in)
{
	struct dpc_config *cfg = in->cfg;
	const unsigned n = in->nworkers;
	struct dpc_cache_params cp;
	unsigned nmbufs, socket;
	char name[RTE_RING_NAMESIZE];
	uint16_t port_id = (uint16_t)cfg->port_id;
	int rc;

	if (rte_eth_dev_count_avail() == 0) {
		DPC_LOG(ERR, "no DPDK port: give one with an EAL --vdev (e.g. "
			"--vdev=net_af_packet0,iface=veth0 or net_memif0,role=server) or bind a NIC");
		return -ENODEV;
	}
	if (!rte_eth_dev_is_valid_port(port_id)) {
		DPC_LOG(ERR, "port_id=%u: no such port (%u available)", port_id, rte_eth_dev_count_avail());
		return -ENODEV;
	}
	if (cfg->port + n - 1 > 65535) {
		DPC_LOG(ERR, "port=%u with workers=%u runs past UDP port 65535", cfg->port, n);
		return -EINVAL;
	}
	socket = (unsigned)(rte_eth_dev_socket_id(port_id) < 0 ? (int)rte_socket_id() :
							       rte_eth_dev_socket_id(port_id));

	in->stats = rte_zmalloc_socket("dpc_stats", (n + svc_count(cfg)) * sizeof(*in->stats),
				       RTE_CACHE_LINE_SIZE, (int)socket);
	in->stats_ptrs = rte_zmalloc("dpc_stats_ptrs", (n + svc_count(cfg)) * sizeof(*in->stats_ptrs), 0);
	if (in->stats == NULL || in->stats_ptrs == NULL)
		goto nomem;
	for (unsigned i = 0; i < n + svc_count(cfg); i++)
		in->stats_ptrs[i] = &in->stats[i];
	in->lat = calloc(n, sizeof(*in->lat));
	if (in->lat == NULL)
		goto nomem;
	for (unsigned i = 0; i < n; i++) {
		in->lat[i] = dpc_lat_create();
		if (in->lat[i] == NULL)
			goto nomem;
	}

	memset(&cp, 0, sizeof(cp));
	cp.nparts = n;
	cp.mem_bytes = cfg->memory;
	cp.item_size_hint = cfg->item_size_hint;
	cp.max_value = (uint32_t)cfg->max_value;
	cp.policy = (enum dpc_evict_policy)cfg->eviction;
	cp.hugepages = cfg->hugepages != 0;
	cp.numa_socket = (int)socket;
	cp.reclaim_interval_us = cfg->reclaim_interval_us;
	/* The cache starts its reclaimer thread: it inherits our affinity, so lend
	 * it the control CPUs for the call (the main lcore may be worker 0). */
	cpu_set_t main_cpus, ctrl_cpus;
	bool repin = pthread_getaffinity_np(pthread_self(), sizeof(main_cpus), &main_cpus) == 0;

	ctrl_cpuset(&ctrl_cpus);
	if (repin)
		repin = pthread_setaffinity_np(pthread_self(), sizeof(ctrl_cpus), &ctrl_cpus) == 0;
	in->cache = dpc_cache_create(&cp);
	rc = -errno;
	if (repin)
		(void)pthread_setaffinity_np(pthread_self(), sizeof(main_cpus), &main_cpus);
	if (in->cache == NULL) {
		DPC_LOG(ERR, "cache of %" PRIu64 " bytes in %u partitions: %s", cfg->memory, n,
			strerror(-rc));
		return rc;
	}
	dpc_cache_set_time(in->cache, (uint32_t)time(NULL));

	/*
	 * mbufs: per worker the RX and TX rings (up to 2048 descriptors each
	 * on some virtual ports), a burst in flight, the mempool cache, one
	 * maximal response being built and the send backlog's, what may wait
	 * in the forwarding rings (an mbuf per entry, and the chains of
	 * reassembled datagrams within ring_chain_mbufs), and what reassembly
	 * may hold (its reasm_bytes bound).  The arithmetic: docs/design.md,
	 * "mbufs".
	 */
	nmbufs = 0;
	for (unsigned i = 0; i < n; i++)
		nmbufs += 2048 + 2048 + 2 * DPC_BURST + 256 +
			  (1 + DPC_BACKLOG_RESPONSES) * dpc_worker_resp_max(cfg->max_value) +
			  cfg->ring_size + /* a full inbox */
			  dpc_fwd_pool_mbufs(cfg, n) + /* its chains (fwd.h) */
			  dpc_reasm_rx_mbufs(cfg, RTE_MBUF_DEFAULT_BUF_SIZE + sizeof(struct rte_mbuf)) +
			  (cfg->tcp ? 2 * DPC_BURST : 0);
	struct rte_eth_dev_info dinfo;
	bool af_xdp = rte_eth_dev_info_get(port_id, &dinfo) == 0 &&
		      strcmp(dinfo.driver_name, "net_af_xdp") == 0;

	in->pool = pool_create(nmbufs, (int)socket, af_xdp);
	if (in->pool == NULL) {
		DPC_LOG(ERR, "mbuf pool of %u buffers: %s (more EAL memory: -m, or hugepages)", nmbufs,
			rte_strerror(rte_errno));
		return -rte_errno;
	}

	static const struct rte_mbuf_dynfield dyn = {
		.name = "dpcache_pkt_info",
		.size = sizeof(struct dpc_pkt_info),
		.align = __alignof__(struct dpc_pkt_info),
	};
	in->dynoff = rte_mbuf_dynfield_register(&dyn);
	if (in->dynoff < 0) {
		DPC_LOG(ERR, "mbuf dynamic field: %s", rte_strerror(rte_errno));
		return -rte_errno;
	}

	in->rings = rte_zmalloc("dpc_rings", n * sizeof(*in->rings), 0);
	if (in->rings == NULL)
		goto nomem;
	if ((cfg->ring_size & (cfg->ring_size - 1)) != 0) {
		DPC_LOG(ERR, "ring_size=%u is not a power of 2", cfg->ring_size);
		return -EINVAL;
	}
	for (unsigned i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "dpc_inbox%u", i);
		/* MP enqueue (any worker), SC dequeue (the owner); usable size ring_size - 1. */
		in->rings[i] = rte_ring_create(name, cfg->ring_size, (int)socket, RING_F_SC_DEQ);
		if (in->rings[i] == NULL) {
			DPC_LOG(ERR, "ring %s: %s", name, rte_strerror(rte_errno));
			return -rte_errno;
		}
	}

	in->workers = rte_zmalloc_socket("dpc_workers", n * sizeof(*in->workers), RTE_CACHE_LINE_SIZE,
					 (int)socket);
	if (in->workers == NULL)
		goto nomem;

	rc = dpc_port_setup(port_id, (uint16_t)n, in->pool, cfg->sw_checksum, cfg->promiscuous != 0,
			    &in->port);
	if (rc != 0)
		return rc;
	in->port_started = true;
	rc = setup_workers(in);
	if (rc != 0)
		goto nomem;
	return 0;
nomem:
	DPC_LOG(ERR, "out of EAL memory (more with -m, or hugepages)");
	return -ENOMEM;
}

/*
 * tcp=yes: the exception port (its kernel interface takes our address and
 * MAC), the workers told to use it, then the TCP server on address:port.
 */
static int setup_tcp(struct dpc_instance *in)
{
	struct dpc_config *cfg = in->cfg;
	const unsigned n = in->nworkers;
	int rc;

	rc = dpc_exc_setup(&in->exc, cfg, &in->port.mac, in->pool, (uint16_t)n);
	if (rc != 0)
		return rc;
	in->exc.rings = in->rings;
	in->exc.st = in->stats_ptrs[n + svc_exc(cfg)];
	in->exc.stop = &stop_flag;
	for (unsigned i = 0; i < n; i++) {
		in->workers[i].exc = true;
		in->workers[i].exc_port = in->exc.port_id;
	}
	struct dpc_tcp_env env = {
		.cfg = cfg,
		.cache = in->cache,
		.rings = in->rings,
		.nworkers = n,
		.st = in->stats_ptrs + n, /* the TCP threads' come first */
		.all_stats = in->stats_ptrs,
		.all_lat = (struct dpc_hist *const *)in->lat,
		.nstats = n + svc_count(cfg),
		.stop = &stop_flag,
	};
	in->tcp = dpc_tcp_create(&env);
	if (in->tcp == NULL) {
		rc = -errno;
		DPC_LOG(ERR, "tcp=yes: cannot listen on port %u: %s", cfg->port, strerror(errno));
		return rc;
	}
	rc = dpc_exc_start(&in->exc);
	if (rc == 0)
		rc = dpc_tcp_start(in->tcp);
	if (rc != 0)
		DPC_LOG(ERR, "tcp=yes: cannot start the TCP threads: %s", strerror(-rc));
	return rc;
}

static int run_workers(struct dpc_instance *in)
{
	struct dpc_worker *w0 = &in->workers[0];
	bool main_works = w0->lcore == rte_get_main_lcore();
	char ip[16];
	int rc = 0;

	for (unsigned i = main_works ? 1 : 0; i < in->nworkers; i++) {
		rc = rte_eal_remote_launch(dpc_worker_main, &in->workers[i], in->workers[i].lcore);
		if (rc != 0) {
			DPC_LOG(ERR, "cannot launch worker %u on lcore %u: %s", i, in->workers[i].lcore,
				rte_strerror(-rc));
			atomic_store(&stop_flag, true);
			break;
		}
	}
	inet_ntop(AF_INET, &in->cfg->address, ip, sizeof(ip));
	/* Not a log line: scripts wait for it, whatever log_level says. */
	if (rc == 0) {
		char tcp[48] = "";

		if (in->tcp != NULL)
			snprintf(tcp, sizeof(tcp), " tcp %u (kernel interface %s)", in->cfg->port,
				 in->exc.ifname);
		printf("dpcached: ready: %s udp %u-%u%s on port %u (%s, mac " RTE_ETHER_ADDR_PRT_FMT
		       "), %u workers, checksums %s, RSS %s, idle back-off %s\n",
		       ip, in->cfg->port, in->cfg->port + in->nworkers - 1, tcp, in->port.port_id,
		       in->port.driver, RTE_ETHER_ADDR_BYTES(&in->port.mac), in->nworkers,
		       in->port.tx_csum_offload ? "offloaded" : "in software", in->port.rss ? "on" : "off",
		       in->cfg->idle_sleep_us ? "on" : "off (busy-poll)");
		fflush(stdout);
	}
	if (rc == 0 && main_works) {
		dpc_worker_main(w0);
	} else {
		while (!atomic_load_explicit(&stop_flag, memory_order_relaxed))
			usleep(100 * 1000);
	}
	rte_eal_mp_wait_lcore();
	/* the workers are gone: no job of the TCP server is held any more */
	dpc_tcp_join(in->tcp);
	return rc;
}

/* EAL arguments: ours before `--`, plus --file-prefix=<name> unless given. */
static char **eal_args(int argc, char **argv, int sep, const char *name, int *eal_argc)
{
	static char prefix[DPC_CFG_STR_MAX + 16];
	bool has_prefix = false;
	char **ea = calloc((size_t)sep + 2, sizeof(*ea));
	int n = 0;

	if (ea == NULL)
		return NULL;
	for (int i = 0; i < sep && i < argc; i++) {
		if (strncmp(argv[i], "--file-prefix", 13) == 0)
			has_prefix = true;
		ea[n++] = argv[i];
	}
	if (!has_prefix) {
		snprintf(prefix, sizeof(prefix), "--file-prefix=%s", name);
		ea[n++] = prefix;
	}
	ea[n] = NULL;
	*eal_argc = n;
	return ea;
}

int main(int argc, char **argv)
{
	struct dpc_instance in;
	struct dpc_config *cfg = NULL;
	struct sigaction sa;
	char **app_argv = NULL, **eal_argv = NULL;
	char err[256] = "";
	int sep = argc, app_argc, eal_argc = 0, rc, ret = EXIT_FAILURE;

	memset(&in, 0, sizeof(in));
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0) {
			sep = i;
			break;
		}
	}
	/* Our flags first: --help and bad values are answered before EAL starts. */
	cfg = calloc(1, sizeof(*cfg));
	app_argv = calloc((size_t)argc + 1, sizeof(*app_argv));
	if (cfg == NULL || app_argv == NULL) {
		fprintf(stderr, "dpcached: out of memory\n");
		goto out;
	}
	app_argc = 0;
	app_argv[app_argc++] = argv[0];
	for (int i = sep + 1; i < argc; i++)
		app_argv[app_argc++] = argv[i];
	dpc_config_defaults(cfg);
	rc = dpc_config_parse_args(cfg, app_argc, app_argv, err, sizeof(err));
	if (rc == 1) {
		printf("Usage: %s [EAL options] -- [dpcache options]\n"
		       "(`%s --help` lists the EAL options)\n\n", argv[0], argv[0]);
		dpc_config_help(stdout);
		ret = EXIT_SUCCESS;
		goto out;
	}
	if (rc < 0) {
		fprintf(stderr, "dpcached: %s\n", err);
		ret = 2;
		goto out;
	}

	eal_argv = eal_args(argc, argv, sep, cfg->name, &eal_argc);
	if (eal_argv == NULL) {
		fprintf(stderr, "dpcached: out of memory\n");
		goto out;
	}
	rte_set_application_usage_hook(usage_hook);
	if (sched_getaffinity(0, sizeof(startup_cpus), &startup_cpus) != 0)
		CPU_ZERO(&startup_cpus); /* then ctrl_cpuset() leaves affinities alone */
	if (rte_eal_init(eal_argc, eal_argv) < 0) {
		fprintf(stderr, "dpcached: EAL initialisation failed: %s\n", rte_strerror(rte_errno));
		goto out;
	}
	rc = rte_log_register_type_and_pick_level("dpcache", RTE_LOG_INFO);
	if (rc >= 0)
		dpc_logtype = rc;
	rte_log_set_level(dpc_logtype, dpc_log_level_from_cfg(cfg->log_level));

	in.cfg = cfg;
	in.nworkers = cfg->workers;
	if (rte_lcore_count() < in.nworkers) {
		DPC_LOG(ERR, "workers=%u needs %u lcores, EAL has %u (give more with -l)", in.nworkers,
			in.nworkers, rte_lcore_count());
		goto eal;
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = 0; /* repeated signals are harmless: the flag is just set again */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	if (setup_instance(&in) != 0)
		goto inst;
	if (cfg->tcp && setup_tcp(&in) != 0)
		goto inst;
	struct dpc_ctl_env env = {
		.cfg = cfg,
		.cache = in.cache,
		.stats = (struct dpc_worker_stats *const *)in.stats_ptrs,
		.lat = (struct dpc_hist *const *)in.lat,
		.nworkers = in.nworkers,
		.nthreads = svc_count(cfg),
		.version = DPCACHED_VERSION,
	};
	if (cfg->stats_socket) {
		rc = dpc_ctl_server_start(&env);
		if (rc < 0) {
			DPC_LOG(ERR, "control channel for name=%s: %s%s", cfg->name, strerror(-rc),
				rc == -EADDRINUSE ? " (another dpcached runs with this name)" :
						    " (stats_socket=no runs without it)");
			goto inst;
		}
	}
	if (run_workers(&in) == 0)
		ret = EXIT_SUCCESS;
	DPC_LOG(NOTICE, "stopping");
	dpc_ctl_server_stop();
inst:
	atomic_store(&stop_flag, true); /* threads started before a failed set-up leave too */
	free_instance(&in);
eal:
	rte_eal_cleanup();
out:
	free(eal_argv);
	free(app_argv);
	dpc_config_free(cfg);
	free(cfg);
	return ret;
}
