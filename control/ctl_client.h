/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dpcachectl's client side of the control channel (protocol: dpcache/ctl.h)
 * and the stats model shared by the text, JSON and Prometheus views.
 * Plain C and sockets: dpcachectl does not link DPDK.
 */
#ifndef DPCACHE_CTL_CLIENT_H
#define DPCACHE_CTL_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "dpcache/ctl.h"
#include "dpcache/lat.h"
#include "dpcache/stats.h"
#include "dpcache/store.h"

/** Exit codes of dpcachectl. */
enum { CTL_EXIT_OK = 0, CTL_EXIT_FAIL = 1, CTL_EXIT_USAGE = 2, CTL_EXIT_CONN = 3 };

struct dpc_ctl_kv {
	const char *key;
	const char *val;
};

/** A parsed answer: ok, or error text; the key/value lines point into @c raw. */
struct dpc_ctl_reply {
	bool ok;
	const char *error;
	struct dpc_ctl_kv *kv;
	unsigned n;
	char *raw;
};

/**
 * Send @p request (one line, no '\n') to the server at @p path and read
 * the whole answer, all within @p timeout_ms.  0 with @p out filled (it
 * may be an ERR answer: out->ok false), or a negative errno with @p err
 * saying what went wrong in words (not running, permission, timeout).
 * Never blocks beyond the timeout.
 */
int dpc_ctl_call(const char *path, const char *request, int timeout_ms, struct dpc_ctl_reply *out,
		 char *err, size_t errlen);
/** Free an answer's memory (NULL and zeroed replies are fine). */
void dpc_ctl_reply_free(struct dpc_ctl_reply *r);
/** Value of @p key in the answer, or NULL. */
const char *dpc_ctl_reply_get(const struct dpc_ctl_reply *r, const char *key);

/* The number of entries of DPC_CTL_STORE_STATS (ctl.h), counted from the list. */
#define DPC_CTL_STORE_ONE(field, metric, type, help) +1u
#define DPC_CTL_STORE_N (0u DPC_CTL_STORE_STATS(DPC_CTL_STORE_ONE))

/** A stats answer, in the client's own counter order (names it does not know are dropped). */
struct dpc_ctl_stats {
	char name[64];
	char version[64];
	long pid;
	uint64_t uptime_s;
	unsigned nworkers, nparts;
	uint64_t (*w)[DPC_WORKER_STATS_N];      /**< [nworkers] */
	uint64_t total[DPC_WORKER_STATS_N];     /**< sum over the workers of the same snapshot */
	uint64_t (*p)[DPC_CTL_STORE_N];         /**< [nparts] */
	uint64_t ptotal[DPC_CTL_STORE_N];
	uint64_t ctl[DPC_CTL_CHAN_N];           /**< the control channel's counters */
	/** In-server latency (lat.h), merged by dpcached; have_lat false from a dpcached without it. */
	bool have_lat;
	struct dpc_lat_summary lat;             /**< all workers */
	struct dpc_lat_summary *wlat;           /**< [nworkers] */
};

extern const char *const dpc_ctl_store_fields[DPC_CTL_STORE_N];
extern const char *const dpc_ctl_store_metrics[DPC_CTL_STORE_N];
extern const char *const dpc_ctl_store_types[DPC_CTL_STORE_N];
extern const char *const dpc_ctl_store_help[DPC_CTL_STORE_N];
/** Names and help of the control channel's counters (DPC_CTL_CHAN_STATS order). */
extern const char *const dpc_ctl_chan_names[DPC_CTL_CHAN_N];
extern const char *const dpc_ctl_chan_help[DPC_CTL_CHAN_N];

/** Build @p s from a stats answer.  0, -EPROTO (malformed) or -ENOMEM. */
int dpc_ctl_stats_parse(const struct dpc_ctl_reply *r, struct dpc_ctl_stats *s);
void dpc_ctl_stats_free(struct dpc_ctl_stats *s);
/** Ask for stats and parse them; as dpc_ctl_call (an ERR answer gives -EPROTO with its text). */
int dpc_ctl_get_stats(const char *path, int timeout_ms, struct dpc_ctl_stats *s, char *err,
		      size_t errlen);

/** Index of counter @p name in stats.h's order, or -1. */
int dpc_ctl_stat_index(const char *name);

/** The stats as JSON (one object, no trailing newline). */
void dpc_ctl_stats_json(FILE *f, const struct dpc_ctl_stats *s);
/** The stats in Prometheus text exposition format 0.0.4. */
void dpc_ctl_stats_prom(FILE *f, const struct dpc_ctl_stats *s);
/** JSON string literal of @p str (quotes and escapes). */
void dpc_ctl_json_str(FILE *f, const char *str);

/** Defaults of `dpcachectl metrics`: clients served at once, and each one's deadline. */
#define DPC_CTL_METRICS_CLIENTS 16u
#define DPC_CTL_METRICS_DEADLINE_MS 2000

struct dpc_ctl_metrics_opts {
	const char *listen;        /**< "127.0.0.1:PORT", "[::1]:PORT" or "localhost:PORT" */
	const char *sock_path;     /**< dpcached's control socket */
	int timeout_ms;            /**< for each question to dpcached */
	int request_timeout_ms;    /**< deadline of one HTTP connection (0: the default) */
	unsigned max_clients;      /**< HTTP connections at once (0: the default) */
	unsigned long max_requests; /**< stop after this many answers (0 = no limit) */
	double duration_s;         /**< stop after this many seconds (0 = no limit) */
	FILE *log;                 /**< gets "listening on ADDR:PORT" once bound */
};

/**
 * Serve Prometheus metrics over HTTP/1.0 at mo->listen (loopback only: any
 * other address is refused with -EPERM; PORT 0 picks a free port).  Each
 * GET /metrics queries dpcached afresh.  Up to mo->max_clients connections
 * are served at once, each closed mo->request_timeout_ms after accept at
 * the latest (408 if its request was not complete by then); more
 * connections get 503.  Returns 0 once max_requests answers were sent or
 * duration_s passed, or a negative errno with @p err.
 */
int dpc_ctl_metrics_serve(const struct dpc_ctl_metrics_opts *mo, char *err, size_t errlen);

#endif /* DPCACHE_CTL_CLIENT_H */
