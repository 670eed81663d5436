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
};

extern const char *const dpc_ctl_store_fields[DPC_CTL_STORE_N];
extern const char *const dpc_ctl_store_metrics[DPC_CTL_STORE_N];
extern const char *const dpc_ctl_store_types[DPC_CTL_STORE_N];
extern const char *const dpc_ctl_store_help[DPC_CTL_STORE_N];

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

/**
 * Serve Prometheus metrics over HTTP/1.0 at @p listen ("127.0.0.1:PORT",
 * "[::1]:PORT" or "localhost:PORT"; loopback only: any other address is
 * refused with -EPERM).  Each GET /metrics queries dpcached at
 * @p sock_path afresh.  Stops after @p max_requests answers (0 = no
 * limit) or @p duration_s seconds (0 = no limit).  Prints "listening on
 * ADDR:PORT" to @p log once bound (PORT 0 picks a free port).
 * 0 or negative errno with @p err.
 */
int dpc_ctl_metrics_serve(const char *listen, const char *sock_path, int timeout_ms,
			  unsigned long max_requests, double duration_s, FILE *log, char *err,
			  size_t errlen);

#endif /* DPCACHE_CTL_CLIENT_H */
