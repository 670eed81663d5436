/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dpcached's side of the control channel (protocol in dpcache/ctl.h): a
 * DPDK control thread (never a worker lcore) accepting one request per
 * connection on a Unix socket in the instance's runtime directory.
 *
 * Reads worker counters with relaxed loads, one snapshot per worker per
 * request; applies run-time config changes through dpc_config_set(), which
 * validates first and publishes with one atomic store.  Every socket
 * operation has a timeout, so a stuck client cannot stall the thread for
 * long; the workers never wait on this thread.
 *
 * The totals of a few settings are also offered over DPDK telemetry
 * (/dpcache/stats, /dpcache/version) for dpdk-telemetry.py users.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_lcore.h>
#include <rte_log.h>
#include <rte_telemetry.h>

#include "dpcache/ctl.h"
#include "ctl_server.h"

#define CTL_IO_TIMEOUT_MS 2000
#define CTL_POLL_MS 100

/* The one server of this process (a process serves one instance). */
static struct ctl_server {
	const struct dpc_ctl_env *env;
	pthread_t tid;
	int lfd;
	bool running;
	atomic_bool stop;
	time_t started;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
} srv = { .lfd = -1 };

/* The env telemetry callbacks read (they take no user argument); set before registering. */
static const struct dpc_ctl_env *_Atomic tel_env;
static bool tel_registered;

/* ---- the answer being built ------------------------------------------------ */

struct obuf {
	char *p;
	size_t len, cap;
	bool oom;
};

__attribute__((format(printf, 2, 3)))
static void out(struct obuf *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->oom)
		return;
	for (;;) {
		size_t room = o->cap - o->len;

		va_start(ap, fmt);
		n = vsnprintf(o->p ? o->p + o->len : NULL, o->p ? room : 0, fmt, ap);
		va_end(ap);
		if (n < 0) {
			o->oom = true;
			return;
		}
		if (o->p != NULL && (size_t)n < room) {
			o->len += (size_t)n;
			return;
		}
		{
			size_t ncap = o->cap ? o->cap * 2 : 8192;
			char *np;

			while (ncap < o->len + (size_t)n + 1)
				ncap *= 2;
			np = realloc(o->p, ncap);
			if (np == NULL) {
				o->oom = true;
				return;
			}
			o->p = np;
			o->cap = ncap;
		}
	}
}

/* ---- commands ----------------------------------------------------------------- */

static void cmd_stats(const struct dpc_ctl_env *env, struct obuf *o)
{
	struct dpc_worker_stats snap;
	unsigned w, i, nparts;

	out(o, "OK\nname %s\nversion %s\npid %d\nuptime_s %lld\nworkers %u\n", env->cfg->name,
	    env->version ? env->version : "?", (int)getpid(), (long long)(time(NULL) - srv.started),
	    env->nworkers);
	for (w = 0; w < env->nworkers; w++) {
		/* One relaxed snapshot per worker: every line of it comes from the same copy. */
		dpc_stats_reset(&snap);
		if (env->stats != NULL && env->stats[w] != NULL)
			dpc_stats_read(env->stats[w], &snap);
		for (i = 0; i < DPC_WORKER_STATS_N; i++)
			out(o, "w%u.%s %" PRIu64 "\n", w, dpc_stat_names[i], dpc_stat_get(&snap, i));
	}
	nparts = env->cache ? dpc_cache_nparts(env->cache) : 0;
	out(o, "partitions %u\n", nparts);
	for (w = 0; w < nparts; w++) {
		struct dpc_store_stats ss;

		memset(&ss, 0, sizeof(ss));
		dpc_cache_stats(env->cache, w, &ss);
#define DPC_X_STORE(field, metric, type, help) out(o, "p%u.%s %" PRIu64 "\n", w, #field, ss.field);
		DPC_CTL_STORE_STATS(DPC_X_STORE)
#undef DPC_X_STORE
	}
}

static void cmd_config_get(const struct dpc_ctl_env *env, const char *key, struct obuf *o)
{
	char val[128];
	unsigned i;

	if (key != NULL) {
		const struct dpc_config_def *d = dpc_config_find(key);

		if (d == NULL) {
			out(o, "ERR unknown setting '%s'\n", key);
			return;
		}
		dpc_config_get(env->cfg, d->name, val, sizeof(val));
		out(o, "OK\n%s %s\n", d->name, val);
		return;
	}
	out(o, "OK\n");
	for (i = 0; i < dpc_config_ndefs; i++) {
		dpc_config_get(env->cfg, dpc_config_defs[i].name, val, sizeof(val));
		out(o, "%s %s\n", dpc_config_defs[i].name, val);
	}
}

static void apply_side_effects(const struct dpc_ctl_env *env, const struct dpc_config_def *d)
{
	if (strcmp(d->name, "log_level") == 0) {
		static const uint32_t map[] = { RTE_LOG_ERR, RTE_LOG_WARNING, RTE_LOG_INFO, RTE_LOG_DEBUG };
		uint32_t idx = __atomic_load_n(&env->cfg->log_level, __ATOMIC_RELAXED);

		if (idx < DPC_ARRAY_SIZE(map))
			rte_log_set_level_pattern("dpcache*", map[idx]);
	}
}

static void cmd_config_set(const struct dpc_ctl_env *env, const char *key, const char *value,
			   struct obuf *o)
{
	char err[256], val[128];
	const struct dpc_config_def *d;
	int rc;

	rc = dpc_config_set(env->cfg, key, value, true, err, sizeof(err));
	if (rc != 0) {
		out(o, "ERR %s\n", err);
		return;
	}
	d = dpc_config_find(key);
	apply_side_effects(env, d);
	dpc_config_get(env->cfg, d->name, val, sizeof(val));
	RTE_LOG(NOTICE, USER1, "dpcached: config set %s = %s\n", d->name, val);
	out(o, "OK\n%s %s\n", d->name, val);
}

static void cmd_flush(const struct dpc_ctl_env *env, const char *arg, struct obuf *o)
{
	unsigned long delay = 0;
	char *end;

	if (arg != NULL) {
		errno = 0;
		delay = strtoul(arg, &end, 10);
		if (*arg < '0' || *arg > '9' || *end != '\0' || errno != 0 || delay > 0xffffffffUL) {
			out(o, "ERR flush: delay '%s' is not a number of seconds (0..4294967295)\n", arg);
			return;
		}
	}
	if (env->cache == NULL) {
		out(o, "ERR flush: no cache\n");
		return;
	}
	dpc_cache_flush(env->cache, (uint32_t)delay);
	out(o, "OK\ndelay %lu\n", delay);
}

/* Split @p line (modified in place) into at most @p max words. */
static unsigned split_words(char *line, char **w, unsigned max)
{
	unsigned n = 0;
	char *save = NULL, *t;

	for (t = strtok_r(line, " \t\r\n", &save); t != NULL && n < max; t = strtok_r(NULL, " \t\r\n", &save))
		w[n++] = t;
	if (t != NULL)
		return max + 1; /* too many words */
	return n;
}

/* Answer one request line into @p o (the protocol in ctl.h). */
static void handle_request(const struct dpc_ctl_env *env, char *line, struct obuf *o)
{
	char *w[4];
	unsigned n = split_words(line, w, 4);

	if (n == 0) {
		out(o, "ERR empty request\n");
	} else if (strcmp(w[0], "ping") == 0 && n == 1) {
		out(o, "OK\npong %s\n", env->cfg->name);
	} else if (strcmp(w[0], "version") == 0 && n == 1) {
		out(o, "OK\nversion %s\n", env->version ? env->version : "?");
	} else if (strcmp(w[0], "stats") == 0 && n == 1) {
		cmd_stats(env, o);
	} else if (strcmp(w[0], "config") == 0 && n >= 2 && strcmp(w[1], "get") == 0 && n <= 3) {
		cmd_config_get(env, n == 3 ? w[2] : NULL, o);
	} else if (strcmp(w[0], "config") == 0 && n == 4 && strcmp(w[1], "set") == 0) {
		cmd_config_set(env, w[2], w[3], o);
	} else if (strcmp(w[0], "flush") == 0 && n <= 2) {
		cmd_flush(env, n == 2 ? w[1] : NULL, o);
	} else {
		out(o, "ERR unknown or malformed request (ping, version, stats, config get [KEY], "
		    "config set KEY VALUE, flush [DELAY])\n");
	}
}

/* ---- the socket --------------------------------------------------------------- */

static void set_timeouts(int fd, int ms)
{
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

static void serve_one(const struct dpc_ctl_env *env, int cfd)
{
	char req[DPC_CTL_REQ_MAX + 1];
	size_t got = 0;
	struct obuf o = { 0 };
	bool line = false;

	set_timeouts(cfd, CTL_IO_TIMEOUT_MS);
	while (got < DPC_CTL_REQ_MAX) {
		ssize_t r = recv(cfd, req + got, DPC_CTL_REQ_MAX - got, 0);

		if (r <= 0)
			break;
		got += (size_t)r;
		if (memchr(req, '\n', got) != NULL) {
			line = true;
			break;
		}
	}
	req[got] = '\0';
	if (!line) {
		if (got == 0)
			return; /* connected and left, or timed out: nothing to answer */
		out(&o, "ERR request too long or not terminated by a newline\n");
	} else {
		*strchr(req, '\n') = '\0';
		handle_request(env, req, &o);
	}
	if (o.oom) {
		static const char msg[] = "ERR out of memory\n";

		(void)!send(cfd, msg, sizeof(msg) - 1, MSG_NOSIGNAL);
	} else {
		size_t off = 0;

		while (off < o.len) {
			ssize_t s = send(cfd, o.p + off, o.len - off, MSG_NOSIGNAL);

			if (s <= 0)
				break;
			off += (size_t)s;
		}
	}
	free(o.p);
}

static void *ctl_thread(void *arg)
{
	const struct dpc_ctl_env *env = arg;

	while (!atomic_load_explicit(&srv.stop, memory_order_relaxed)) {
		struct pollfd pfd = { .fd = srv.lfd, .events = POLLIN };
		int cfd;

		if (poll(&pfd, 1, CTL_POLL_MS) <= 0)
			continue;
		cfd = accept4(srv.lfd, NULL, NULL, SOCK_CLOEXEC);
		if (cfd < 0)
			continue;
		serve_one(env, cfd);
		close(cfd);
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
	for (w = 0; w < env->nworkers; w++) {
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

int dpc_ctl_server_start(const struct dpc_ctl_env *env)
{
	struct sockaddr_un sa;
	int fd = -1, rc, n;

	if (env == NULL || env->cfg == NULL || (env->nworkers > 0 && env->stats == NULL))
		return -EINVAL;
	if (srv.running)
		return -EALREADY;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	n = snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%s", rte_eal_get_runtime_dir(),
		     DPC_CTL_SOCK_NAME);
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
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(fd, 16) != 0) {
		rc = -errno;
		goto err_fd;
	}
	chmod(sa.sun_path, 0660);
	snprintf(srv.path, sizeof(srv.path), "%s", sa.sun_path);
	srv.lfd = fd;
	srv.env = env;
	srv.started = time(NULL);
	atomic_store(&srv.stop, false);
	rc = rte_ctrl_thread_create(&srv.tid, "dpc-ctl", NULL, ctl_thread, (void *)(uintptr_t)env);
	if (rc != 0) {
		rc = rc > 0 ? -rc : rc;
		goto err_unlink;
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

err_unlink:
	unlink(sa.sun_path);
	srv.lfd = -1;
err_fd:
	close(fd);
	return rc;
}

void dpc_ctl_server_stop(void)
{
	if (!srv.running)
		return;
	atomic_store(&srv.stop, true);
	pthread_join(srv.tid, NULL);
	close(srv.lfd);
	srv.lfd = -1;
	unlink(srv.path);
	atomic_store(&tel_env, NULL);
	srv.running = false;
}
