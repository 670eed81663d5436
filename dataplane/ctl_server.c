/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dpcached's side of the control channel (protocol in dpcache/ctl.h): a
 * DPDK control thread (never a worker lcore) serving the Unix socket with
 * the connection loop of dpcache/connsrv.h: up to ctl_max_clients
 * connections at once, each closed ctl_timeout_ms after accept at the
 * latest, so that a slow or stuck client holds only its own connection.
 * Request lines are framed and parsed by lib/ctlproto.c (any bytes are
 * answered, with ERR when they are not a request); peers are checked with
 * SO_PEERCRED at accept.
 *
 * Reads worker counters with relaxed loads, one snapshot per worker per
 * request; applies run-time config changes through dpc_config_set(), which
 * validates first and publishes with one atomic store.  The workers never
 * wait on this thread.
 *
 * The totals of a few settings are also offered over DPDK telemetry
 * (/dpcache/stats, /dpcache/version) for dpdk-telemetry.py users.
 */
#include <errno.h>
#include <grp.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_lcore.h>
#include <rte_log.h>
#include <rte_telemetry.h>

#include <urcu/urcu-qsbr.h>

#include "dpcache/acl.h"
#include "dpcache/connsrv.h"
#include "dpcache/ctl.h"
#include "dpcache/ctlproto.h"
#include "ctl_server.h"

/* How often the thread looks at the stop flag (and at ctl_timeout_ms). */
#define CTL_POLL_MS 100

/* The one server of this process (a process serves one instance). */
static struct ctl_server {
	const struct dpc_ctl_env *env;
	pthread_t tid;
	int lfd;
	bool running;
	atomic_bool stop;
	time_t started;
	gid_t gid;                 /* ctl_group */
	struct dpc_srv *loop;
	/* Written and read by the control thread only (its own answers print them). */
	uint64_t refused_peer, errors;
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
} srv = { .lfd = -1 };

/* The env telemetry callbacks read (they take no user argument); set before registering. */
static const struct dpc_ctl_env *_Atomic tel_env;
static bool tel_registered;

/* ---- commands ----------------------------------------------------------------- */

/*
 * In-server latency (lat.h) of workers hists[0..n), merged while they run:
 * "wW.latency_<pct>_ns" lines for one worker @p w, "latency_..." for all (w = UINT_MAX).
 */
static void out_latency(struct dpc_buf *o, struct dpc_hist *const *hists, unsigned n, unsigned w)
{
	struct dpc_lat_summary ls;
	char pre[16] = "";

	if (dpc_lat_summarize(hists, n, &ls) != 0)
		return;
	if (w != UINT_MAX)
		snprintf(pre, sizeof(pre), "w%u.", w);
	dpc_buf_printf(o, "%slatency_samples %" PRIu64 "\n", pre, ls.samples);
	for (unsigned i = 0; i < DPC_LAT_NPCTS; i++)
		dpc_buf_printf(o, "%slatency_%s_ns %" PRIu64 "\n", pre, dpc_lat_names[i], ls.ns[i]);
	dpc_buf_printf(o, "%slatency_max_ns %" PRIu64 "\n", pre, ls.max_ns);
}

static void cmd_stats(const struct dpc_ctl_env *env, struct dpc_buf *o)
{
	struct dpc_worker_stats snap;
	unsigned w, i, nparts;

	dpc_buf_printf(o, "OK\nname %s\nversion %s\npid %d\nuptime_s %lld\nworkers %u\n", env->cfg->name,
	    env->version ? env->version : "?", (int)getpid(), (long long)(time(NULL) - srv.started),
	    env->nworkers);
	for (w = 0; w < env->nworkers; w++) {
		/* One relaxed snapshot per worker: every line of it comes from the same copy. */
		dpc_stats_reset(&snap);
		if (env->stats != NULL && env->stats[w] != NULL)
			dpc_stats_read(env->stats[w], &snap);
		for (i = 0; i < DPC_WORKER_STATS_N; i++)
			dpc_buf_printf(o, "w%u.%s %" PRIu64 "\n", w, dpc_stat_names[i],
				       dpc_stat_get(&snap, i));
		if (env->lat != NULL)
			out_latency(o, &env->lat[w], 1, w);
	}
	/* The service threads' own counters (TCP server, exception path): in the totals too. */
	for (w = 0; w < env->nthreads && env->stats != NULL; w++) {
		dpc_stats_reset(&snap);
		if (env->stats[env->nworkers + w] != NULL)
			dpc_stats_read(env->stats[env->nworkers + w], &snap);
		for (i = 0; i < DPC_WORKER_STATS_N; i++)
			if (dpc_stat_get(&snap, i) != 0)
				dpc_buf_printf(o, "t%u.%s %" PRIu64 "\n", w, dpc_stat_names[i],
					       dpc_stat_get(&snap, i));
	}
	if (env->lat != NULL)
		out_latency(o, env->lat, env->nworkers, UINT_MAX);
	nparts = env->cache ? dpc_cache_nparts(env->cache) : 0;
	dpc_buf_printf(o, "partitions %u\n", nparts);
	for (w = 0; w < nparts; w++) {
		struct dpc_store_stats ss;

		memset(&ss, 0, sizeof(ss));
		dpc_cache_stats(env->cache, w, &ss);
#define DPC_X_STORE(field, metric, type, help) \
		dpc_buf_printf(o, "p%u.%s %" PRIu64 "\n", w, #field, ss.field);
		DPC_CTL_STORE_STATS(DPC_X_STORE)
#undef DPC_X_STORE
	}
	{
		struct dpc_srv_stats ls;
		struct {
#define DPC_X_CHAN_FIELD(name, help) uint64_t name;
			DPC_CTL_CHAN_STATS(DPC_X_CHAN_FIELD)
#undef DPC_X_CHAN_FIELD
		} c;

		dpc_srv_get_stats(srv.loop, &ls);
#define DPC_X_SRV_COPY(name, help) c.name = ls.name;
		DPC_SRV_STATS(DPC_X_SRV_COPY)
#undef DPC_X_SRV_COPY
		c.refused_peer = srv.refused_peer;
		c.errors = srv.errors;
#define DPC_X_CHAN_OUT(name, help) dpc_buf_printf(o, "ctl.%s %" PRIu64 "\n", #name, c.name);
		DPC_CTL_CHAN_STATS(DPC_X_CHAN_OUT)
#undef DPC_X_CHAN_OUT
	}
}

static void cmd_config_get(const struct dpc_ctl_env *env, const char *key, struct dpc_buf *o)
{
	char val[DPC_ACL_TEXT_MAX]; /* the longest value: a prefix list */
	unsigned i;

	if (key != NULL) {
		const struct dpc_config_def *d = dpc_config_find(key);

		if (d == NULL) {
			dpc_buf_printf(o, "ERR unknown setting '%s'\n", key);
			return;
		}
		dpc_config_get(env->cfg, d->name, val, sizeof(val));
		dpc_buf_printf(o, "OK\n%s %s\n", d->name, val);
		return;
	}
	dpc_buf_printf(o, "OK\n");
	for (i = 0; i < dpc_config_ndefs; i++) {
		dpc_config_get(env->cfg, dpc_config_defs[i].name, val, sizeof(val));
		dpc_buf_printf(o, "%s %s\n", dpc_config_defs[i].name, val);
	}
}

static void apply_side_effects(const struct dpc_ctl_env *env, const struct dpc_config_def *d)
{
	if (d->type == DPC_CFG_PREFIXES) {
		/* The list replaced: taken first, freed after a grace period that starts
		 * later, so no worker (a QSBR reader) can still hold it. */
		struct dpc_acl *old = dpc_config_take_retired(env->cfg);

		if (old != NULL) {
			urcu_qsbr_synchronize_rcu();
			dpc_acl_free_chain(old);
		}
	}
	if (strcmp(d->name, "log_level") == 0) {
		static const uint32_t map[] = { RTE_LOG_ERR, RTE_LOG_WARNING, RTE_LOG_INFO, RTE_LOG_DEBUG };
		uint32_t idx = __atomic_load_n(&env->cfg->log_level, __ATOMIC_RELAXED);

		if (idx < DPC_ARRAY_SIZE(map))
			rte_log_set_level_pattern("dpcache*", map[idx]);
	}
}

static void cmd_config_set(const struct dpc_ctl_env *env, const char *key, const char *value,
			   struct dpc_buf *o)
{
	char err[256], val[DPC_ACL_TEXT_MAX];
	const struct dpc_config_def *d;
	int rc;

	rc = dpc_config_set(env->cfg, key, value, true, err, sizeof(err));
	if (rc != 0) {
		dpc_buf_printf(o, "ERR %s\n", err);
		return;
	}
	d = dpc_config_find(key);
	apply_side_effects(env, d);
	dpc_config_get(env->cfg, d->name, val, sizeof(val));
	RTE_LOG(NOTICE, USER1, "dpcached: config set %s = %s\n", d->name, val);
	dpc_buf_printf(o, "OK\n%s %s\n", d->name, val);
}

static void cmd_flush(const struct dpc_ctl_env *env, uint32_t delay, struct dpc_buf *o)
{
	if (env->cache == NULL) {
		dpc_buf_printf(o, "ERR flush: no cache\n");
		return;
	}
	dpc_cache_flush(env->cache, delay);
	dpc_buf_printf(o, "OK\ndelay %" PRIu32 "\n", delay);
}

/* ---- the protocol on the connection loop ------------------------------------------ */

static void dispatch(const struct dpc_ctl_env *env, const struct dpc_ctl_req *r, struct dpc_buf *o)
{
	switch (r->cmd) {
	case DPC_CTL_PING:
		dpc_buf_printf(o, "OK\npong %s\n", env->cfg->name);
		break;
	case DPC_CTL_VERSION:
		dpc_buf_printf(o, "OK\nversion %s\n", env->version ? env->version : "?");
		break;
	case DPC_CTL_STATS:
		cmd_stats(env, o);
		break;
	case DPC_CTL_CONFIG_GET:
		cmd_config_get(env, r->key[0] ? r->key : NULL, o);
		break;
	case DPC_CTL_CONFIG_SET:
		cmd_config_set(env, r->key, r->value, o);
		break;
	case DPC_CTL_FLUSH:
		cmd_flush(env, r->delay, o);
		break;
	}
}

/* SO_PEERCRED (and SO_PEERGROUPS): root, our own user, or a member of ctl_group. */
static bool peer_allowed(int fd, struct dpc_buf *o)
{
	struct ucred cr;
	socklen_t cl = sizeof(cr);
	gid_t groups[256];
	size_t ng = 0;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &cl) != 0) {
		srv.refused_peer++;
		dpc_buf_printf(o, "ERR permission denied: cannot read the peer's credentials\n");
		return false;
	}
#ifdef SO_PEERGROUPS
	{
		socklen_t gl = sizeof(groups);

		/* ERANGE (more than 256 groups): the primary group alone decides. */
		if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &gl) == 0)
			ng = gl / sizeof(gid_t);
	}
#endif
	if (dpc_ctl_peer_allowed(cr.uid, cr.gid, groups, ng, geteuid(), srv.gid))
		return true;
	srv.refused_peer++;
	dpc_buf_printf(o, "ERR permission denied: uid %lu is not root and not in group %s (ctl_group)\n",
		       (unsigned long)cr.uid, srv.env->cfg->ctl_group);
	return false;
}

static enum dpc_srv_action ctl_event(void *ctx, int fd, enum dpc_srv_event ev, const char *in,
				     size_t len, struct dpc_buf *o)
{
	const struct dpc_ctl_env *env = ctx;
	struct dpc_ctl_req req;
	char err[256];
	long n;

	switch (ev) {
	case DPC_SRV_ACCEPT:
		return peer_allowed(fd, o) ? DPC_SRV_MORE : DPC_SRV_REPLY;
	case DPC_SRV_BUSY:
		dpc_buf_printf(o, "ERR busy: %" PRIu32 " control connections open (ctl_max_clients); "
			       "retry\n", env->cfg->ctl_max_clients);
		return DPC_SRV_REPLY;
	case DPC_SRV_TIMEOUT:
		srv.errors++;
		dpc_buf_printf(o, "ERR no complete request within %" PRIu32 " ms (ctl_timeout_ms)\n",
			       __atomic_load_n(&env->cfg->ctl_timeout_ms, __ATOMIC_RELAXED));
		return DPC_SRV_REPLY;
	case DPC_SRV_EOF:
		if (len == 0)
			return DPC_SRV_CLOSE; /* connected and left: nothing to answer */
		srv.errors++;
		dpc_buf_printf(o, "ERR request not terminated by a newline\n");
		return DPC_SRV_REPLY;
	case DPC_SRV_DATA:
		break;
	}
	n = dpc_ctl_req_frame(in, len);
	if (n == 0)
		return DPC_SRV_MORE;
	if (n < 0) {
		srv.errors++;
		dpc_buf_printf(o, "ERR request too long (no newline in %u bytes)\n", DPC_CTL_REQ_MAX);
		return DPC_SRV_REPLY;
	}
	if (dpc_ctl_req_parse(in, (size_t)n, &req, err, sizeof(err)) != 0) {
		srv.errors++;
		dpc_buf_printf(o, "ERR %s\n", err);
		return DPC_SRV_REPLY;
	}
	dispatch(env, &req, o);
	if (o->len >= 3 && memcmp(o->p, "ERR", 3) == 0)
		srv.errors++;
	return DPC_SRV_REPLY;
}

static void *ctl_thread(void *arg)
{
	const struct dpc_ctl_env *env = arg;

	while (!atomic_load_explicit(&srv.stop, memory_order_relaxed)) {
		/* A new ctl_timeout_ms applies to connections accepted from now on. */
		dpc_srv_set_timeout(srv.loop, (int)__atomic_load_n(&env->cfg->ctl_timeout_ms,
								    __ATOMIC_RELAXED));
		dpc_srv_poll(srv.loop, CTL_POLL_MS);
	}
	return NULL;
}

/* ---- DPDK telemetry (totals only: its dicts hold at most 256 entries) ---------- */

static int tel_stats(const char *cmd, const char *params, struct rte_tel_data *d)
{
	const struct dpc_ctl_env *env = atomic_load(&tel_env);
	struct dpc_worker_stats total, snap;
	unsigned w, i;

	(void)cmd;
	(void)params;
	if (env == NULL)
		return -ENODEV;
	dpc_stats_reset(&total);
	for (w = 0; w < env->nworkers + env->nthreads; w++) {
		if (env->stats == NULL || env->stats[w] == NULL)
			continue;
		dpc_stats_read(env->stats[w], &snap);
		dpc_stats_add_into(&total, &snap);
	}
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_u64(d, "workers", env->nworkers);
	for (i = 0; i < DPC_WORKER_STATS_N; i++)
		rte_tel_data_add_dict_u64(d, dpc_stat_names[i], dpc_stat_get(&total, i));
	return 0;
}

static int tel_version(const char *cmd, const char *params, struct rte_tel_data *d)
{
	const struct dpc_ctl_env *env = atomic_load(&tel_env);

	(void)cmd;
	(void)params;
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_string(d, "version", env && env->version ? env->version : "?");
	return 0;
}

/* ---- start / stop ------------------------------------------------------------- */

/* ctl_group: a group name, or a number. */
static int resolve_group(const char *name, gid_t *gid)
{
	struct group gr, *res = NULL;
	char buf[4096], *end;
	unsigned long v;

	if (getgrnam_r(name, &gr, buf, sizeof(buf), &res) == 0 && res != NULL) {
		*gid = res->gr_gid;
		return 0;
	}
	errno = 0;
	v = strtoul(name, &end, 10);
	if (name[0] >= '0' && name[0] <= '9' && *end == '\0' && errno == 0 && v < (gid_t)-1) {
		*gid = (gid_t)v;
		return 0;
	}
	return -ENOENT;
}

int dpc_ctl_server_start(const struct dpc_ctl_env *env)
{
	const struct dpc_srv_ops ops = { .event = ctl_event, .ctx = (void *)(uintptr_t)env };
	struct sockaddr_un sa;
	char err[512];
	mode_t old_mask;
	int fd = -1, rc, n;

	if (env == NULL || env->cfg == NULL || (env->nworkers > 0 && env->stats == NULL))
		return -EINVAL;
	if (srv.running)
		return -EALREADY;
	if (resolve_group(env->cfg->ctl_group, &srv.gid) != 0) {
		RTE_LOG(ERR, USER1, "dpcached: ctl_group: no group '%s'\n", env->cfg->ctl_group);
		return -ENOENT;
	}
	rc = dpc_ctl_dir_prepare(env->cfg->name, srv.gid, srv.dir, sizeof(srv.dir), err, sizeof(err));
	if (rc != 0) {
		RTE_LOG(ERR, USER1, "dpcached: control socket directory: %s\n", err);
		return rc;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	n = snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%s", srv.dir, DPC_CTL_SOCK_NAME);
	if (n < 0 || (size_t)n >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* A live server already answers there (two instances with one name): refuse. */
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		rc = -EADDRINUSE;
		goto err_fd;
	}
	close(fd);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	unlink(sa.sun_path); /* stale socket of a dead instance */
	/* Created with its final mode, 0660: never reachable by others, not even for an instant. */
	old_mask = umask(0117);
	rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old_mask);
	if (rc != 0 || chown(sa.sun_path, (uid_t)-1, srv.gid) != 0 || listen(fd, 64) != 0) {
		rc = -errno;
		RTE_LOG(ERR, USER1, "dpcached: control socket %s: %s\n", sa.sun_path, strerror(errno));
		goto err_unlink;
	}
	srv.loop = dpc_srv_create(fd, env->cfg->ctl_max_clients, DPC_CTL_REQ_MAX,
				  (int)env->cfg->ctl_timeout_ms, &ops);
	if (srv.loop == NULL) {
		rc = -errno;
		goto err_unlink;
	}
	snprintf(srv.path, sizeof(srv.path), "%s", sa.sun_path);
	srv.lfd = fd;
	srv.env = env;
	srv.started = time(NULL);
	srv.refused_peer = 0;
	srv.errors = 0;
	atomic_store(&srv.stop, false);
	rc = rte_ctrl_thread_create(&srv.tid, "dpc-ctl", NULL, ctl_thread, (void *)(uintptr_t)env);
	if (rc != 0) {
		rc = rc > 0 ? -rc : rc;
		goto err_loop;
	}
	srv.running = true;
	atomic_store(&tel_env, env);
	if (!tel_registered) {
		/* Absent telemetry (EAL --no-telemetry) is not an error for us. */
		rte_telemetry_register_cmd("/dpcache/stats", tel_stats,
					   "Totals of dpcached's worker counters. No parameters");
		rte_telemetry_register_cmd("/dpcache/version", tel_version,
					   "dpcached's version. No parameters");
		tel_registered = true;
	}
	return 0;

err_loop:
	dpc_srv_free(srv.loop);
	srv.loop = NULL;
err_unlink:
	unlink(sa.sun_path);
	srv.lfd = -1;
err_fd:
	close(fd);
	rmdir(srv.dir);
	return rc;
}

void dpc_ctl_server_stop(void)
{
	if (!srv.running)
		return;
	atomic_store(&srv.stop, true);
	pthread_join(srv.tid, NULL);
	dpc_srv_free(srv.loop);
	srv.loop = NULL;
	close(srv.lfd);
	srv.lfd = -1;
	unlink(srv.path);
	rmdir(srv.dir); /* ours, and empty now; the parent stays (other instances) */
	atomic_store(&tel_env, NULL);
	srv.running = false;
}
