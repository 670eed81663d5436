/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file ctl_server.h
 * dpcached's side of the local control channel used by dpcachectl
 * (stats, config get|set, flush, ping, version).  Local only: nothing
 * reachable from the network.  Runs in a control thread, never on a worker
 * lcore; reads worker counters with relaxed loads (stats.h) and publishes
 * run-time config changes with atomic stores (config.h).
 */
#ifndef DPCACHE_CTL_SERVER_H
#define DPCACHE_CTL_SERVER_H

#include "dpcache/config.h"
#include "dpcache/lat.h"
#include "dpcache/stats.h"
#include "dpcache/store.h"

struct dpc_ctl_env {
	struct dpc_config *cfg;                 /**< live config (workers read it relaxed) */
	struct dpc_cache *cache;                /**< for flush and store figures */
	struct dpc_worker_stats *const *stats;  /**< one per worker, then one per service thread */
	struct dpc_hist *const *lat;            /**< one per worker: in-server latency (lat.h), or NULL */
	unsigned nworkers;
	unsigned nthreads;                      /**< service threads (TCP, exception path): "t<i>." */
	const char *version;                    /**< e.g. "0.1.0" */
};

/**
 * Start serving the control channel for this instance (call after
 * rte_eal_init(); @p env must outlive the server): prepare the socket
 * directory (dpc_ctl_dir_prepare()), bind the socket with mode 0660 and
 * group ctl_group, start the control thread.  Returns 0; -EINVAL (bad
 * @p env); -EALREADY (running); -ENOENT (no such ctl_group); -EPERM or
 * -ENOTDIR (the directory failed its checks); -EADDRINUSE (another live
 * dpcached has this name); -ENAMETOOLONG; another negative errno from the
 * socket calls or the thread start.  A bad group, directory or socket is
 * also logged here with the path and the reason.
 */
int dpc_ctl_server_start(const struct dpc_ctl_env *env);
/** Stop serving: join the thread, close every connection, remove the socket and its directory
 * (idempotent). */
void dpc_ctl_server_stop(void);

#endif /* DPCACHE_CTL_SERVER_H */
