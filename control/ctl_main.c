/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dpcachectl: the control process.  Talks to a running dpcached over its
 * local control socket (dpcache/ctl.h); never links DPDK.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dpcache/config.h"
#include "ctl_client.h"

#define DPCACHECTL_VERSION "0.1.0"

struct opts {
	const char *name;
	const char *socket;
	int timeout_ms;
	char path[256];
	/* subcommand options */
	bool json, all, help;
	double watch_s;
	unsigned long count;
	const char *listen;
	unsigned long max_requests;
	double duration_s;
	unsigned long request_timeout_ms, max_clients;
	/* positional arguments after the command */
	const char *pos[8];
	unsigned npos;
};

static const char *const usage_main =
	"Usage: dpcachectl [--name NAME | --socket PATH] [--timeout MS] COMMAND [ARGS]\n"
	"\n"
	"Control a running dpcached over its local control socket, /run/dpcache/<NAME>/"
	DPC_CTL_SOCK_NAME "\n"
	"when dpcached runs as root (root, dpcached's user and members of its ctl_group may use it).\n"
	"\n"
	"Commands:\n"
	"  stats [--json] [--all] [--watch SECONDS [--count N]]   counters, store, control channel\n"
	"  config get [KEY] [--json]                              settings in force\n"
	"  config set KEY VALUE                                   change a run-time setting\n"
	"  flush [DELAY]                                          flush_all (after DELAY seconds)\n"
	"  ping                                                   is dpcached answering?\n"
	"  version                                                dpcachectl's and dpcached's versions\n"
	"  metrics --listen 127.0.0.1:PORT [--max-requests N] [--duration SECONDS]\n"
	"          [--request-timeout MS] [--max-clients N]        Prometheus endpoint (loopback only)\n"
	"  help [COMMAND]                                         this text, or a command's\n"
	"\n"
	"Options:\n"
	"  --name NAME      dpcached instance (its `name` setting = EAL --file-prefix); default dpcache\n"
	"  --socket PATH    control socket path (overrides --name)\n"
	"  --timeout MS     give up on an answer after MS milliseconds; default 3000\n"
	"\n"
	"Exit status: 0 ok, 1 dpcached refused the command (bad value, ERR permission denied,\n"
	"ERR busy), 2 usage error, 3 dpcached not reachable (not running, no permission on the\n"
	"socket, no answer within --timeout).\n";

static const struct {
	const char *cmd;
	const char *text;
} usage_cmd[] = {
	{ "stats",
	  "Usage: dpcachectl stats [--json] [--all] [--watch SECONDS [--count N]]\n"
	  "\n"
	  "Worker counters (total and per worker), store figures (per partition), the control\n"
	  "channel's counters and, once measured, in-server latency percentiles.\n"
	  "  --json           one JSON object: name, version, pid, uptime_s, workers, total,\n"
	  "                   per_worker[], store {partitions, total, per_partition[]}, control,\n"
	  "                   latency_ns {total, per_worker[]}\n"
	  "  --all            also list counters that are zero (the table hides them)\n"
	  "  --watch SECONDS  refresh every SECONDS, with rates per second since the previous sample\n"
	  "  --count N        stop after N samples (with --watch)\n"
	  "Counters are read without locks, one snapshot per worker; totals are sums of those\n"
	  "snapshots, so they are exact once traffic stops.\n" },
	{ "config",
	  "Usage: dpcachectl config get [KEY] [--json]\n"
	  "       dpcachectl config set KEY VALUE\n"
	  "\n"
	  "get: the settings in force (KEY alone prints just its value).\n"
	  "set: change a setting at run time.  Only settings marked `runtime` below can change\n"
	  "     while dpcached runs; a bad value is refused with the allowed range and changes\n"
	  "     nothing.  The change is published atomically to the workers.\n" },
	{ "flush",
	  "Usage: dpcachectl flush [DELAY]\n"
	  "\n"
	  "memcached flush_all: every item stored before now + DELAY seconds (default 0) stops\n"
	  "being returned from that moment on.\n" },
	{ "ping",
	  "Usage: dpcachectl ping\n\nExit 0 and print `pong` if dpcached answers, else exit 3.\n" },
	{ "version",
	  "Usage: dpcachectl version\n\nPrint dpcachectl's version and the running dpcached's.\n" },
	{ "metrics",
	  "Usage: dpcachectl metrics --listen 127.0.0.1:PORT [--max-requests N] [--duration SECONDS]\n"
	  "                          [--request-timeout MS] [--max-clients N]\n"
	  "\n"
	  "Serve Prometheus text format (0.0.4) over HTTP/1.0 at GET /metrics, querying dpcached\n"
	  "afresh for each scrape (each query bounded by --timeout).  Loopback addresses only\n"
	  "(127.0.0.0/8, [::1], localhost); PORT 0 picks a free port (printed as\n"
	  "`listening on ADDR:PORT`).  Several clients are served at once; a slow one delays nobody.\n"
	  "  --max-requests N       exit after answering N requests\n"
	  "  --duration SECONDS     exit after SECONDS\n"
	  "  --request-timeout MS   close each connection MS after accepting it at the latest\n"
	  "                         (408 if its request was not complete); default 2000\n"
	  "  --max-clients N        connections served at once (more get 503); default 16\n"
	  "Metrics: dpcache_<counter>[_<unit>]_total{worker=\"i\"|\"total\"} for every worker\n"
	  "counter (a gauge has no _total), dpcache_store_*{partition=\"i\"|\"total\"},\n"
	  "dpcache_request_latency_seconds{worker,quantile}, dpcache_request_latency_samples_total,\n"
	  "dpcache_up, dpcache_info, dpcache_uptime_seconds, dpcache_workers, dpcache_ctl_*_total\n"
	  "(the control channel).\n"
	  "When dpcached is down, dpcache_up is 0.\n" },
};

static int usage_for(const char *cmd, FILE *f)
{
	unsigned i;

	for (i = 0; cmd != NULL && i < DPC_ARRAY_SIZE(usage_cmd); i++) {
		if (strcmp(usage_cmd[i].cmd, cmd) == 0) {
			fputs(usage_cmd[i].text, f);
			if (strcmp(cmd, "config") == 0) {
				fprintf(f, "\nSettings (runtime = changeable while running):\n");
				for (unsigned k = 0; k < dpc_config_ndefs; k++)
					fprintf(f, "  %-16s %s%s\n", dpc_config_defs[k].name,
						dpc_config_defs[k].runtime ? "runtime  " : "         ",
						dpc_config_defs[k].help);
			}
			return 0;
		}
	}
	fputs(usage_main, f);
	return cmd == NULL ? 0 : -1;
}

static int usage_error(const char *cmd, const char *msg, const char *arg)
{
	fprintf(stderr, "dpcachectl: %s%s%s\n", msg, arg ? ": " : "", arg ? arg : "");
	fprintf(stderr, "Try `dpcachectl %s%s--help`.\n", cmd ? cmd : "", cmd ? " " : "");
	return CTL_EXIT_USAGE;
}

static bool parse_ulong(const char *s, unsigned long *v)
{
	char *end;

	if (s == NULL || *s < '0' || *s > '9')
		return false;
	errno = 0;
	*v = strtoul(s, &end, 10);
	return errno == 0 && *end == '\0';
}

static bool parse_double(const char *s, double *v)
{
	char *end;

	if (s == NULL || ((*s < '0' || *s > '9') && *s != '.'))
		return false;
	errno = 0;
	*v = strtod(s, &end);
	return errno == 0 && *end == '\0' && isfinite(*v) && *v >= 0;
}

/* ---- commands ------------------------------------------------------------------- */

static int call(const struct opts *o, const char *req, struct dpc_ctl_reply *r)
{
	char err[512];

	if (dpc_ctl_call(o->path, req, o->timeout_ms, r, err, sizeof(err)) != 0) {
		fprintf(stderr, "dpcachectl: %s\n", err);
		return CTL_EXIT_CONN;
	}
	if (!r->ok) {
		fprintf(stderr, "dpcachectl: %s\n", r->error);
		dpc_ctl_reply_free(r);
		return CTL_EXIT_FAIL;
	}
	return CTL_EXIT_OK;
}

static void print_table(const struct dpc_ctl_stats *s, const struct dpc_ctl_stats *prev, double dt,
			bool all)
{
	unsigned i, k, shown_workers = s->nworkers <= 8 ? s->nworkers : 0, hidden = 0;
	char col[32];

	printf("dpcached '%s' %s  pid %ld  up %" PRIu64 " s  workers %u  partitions %u\n\n", s->name,
	       s->version, s->pid, s->uptime_s, s->nworkers, s->nparts);
	printf("%-20s %16s", "counter", "total");
	if (prev != NULL)
		printf(" %14s", "per second");
	for (k = 0; k < shown_workers; k++) {
		snprintf(col, sizeof(col), "worker %u", k);
		printf(" %14s", col);
	}
	printf("  unit\n");
	for (i = 0; i < DPC_WORKER_STATS_N; i++) {
		if (!all && s->total[i] == 0) {
			hidden++;
			continue;
		}
		printf("%-20s %16" PRIu64, dpc_stat_names[i], s->total[i]);
		if (prev != NULL) {
			double d = s->total[i] >= prev->total[i] ? (double)(s->total[i] - prev->total[i]) : 0;

			printf(" %14.1f", dt > 0 ? d / dt : 0.0);
		}
		for (k = 0; k < shown_workers; k++)
			printf(" %14" PRIu64, s->w[k][i]);
		printf("  %s\n", dpc_stat_units[i]);
	}
	if (hidden != 0)
		printf("(%u counters are zero; --all lists them)\n", hidden);
	if (s->nparts == 0)
		return;
	printf("\n%-20s %16s", "store", "total");
	for (k = 0; k < s->nparts && k < 8; k++) {
		snprintf(col, sizeof(col), "partition %u", k);
		printf(" %14s", col);
	}
	printf("\n");
	for (i = 0; i < DPC_CTL_STORE_N; i++) {
		printf("%-20s %16" PRIu64, dpc_ctl_store_fields[i], s->ptotal[i]);
		for (k = 0; k < s->nparts && k < 8; k++)
			printf(" %14" PRIu64, s->p[k][i]);
		printf("\n");
	}
	printf("\n%-20s %16s\n", "control channel", "total");
	for (i = 0; i < DPC_CTL_CHAN_N; i++)
		printf("%-20s %16" PRIu64 "\n", dpc_ctl_chan_names[i], s->ctl[i]);
	{
		uint64_t gets = s->total[dpc_ctl_stat_index("get_hits")] +
				s->total[dpc_ctl_stat_index("get_misses")];

		if (gets != 0)
			printf("\nhit ratio %.4f\n",
			       (double)s->total[dpc_ctl_stat_index("get_hits")] / (double)gets);
	}
	if (s->have_lat && s->lat.samples != 0) {
		printf("\n%-20s %16s", "in-server latency", "total");
		for (k = 0; k < shown_workers; k++) {
			snprintf(col, sizeof(col), "worker %u", k);
			printf(" %14s", col);
		}
		printf("  (RX burst -> TX burst of the reply, since start)\n");
		printf("%-20s %16" PRIu64, "samples", s->lat.samples);
		for (k = 0; k < shown_workers; k++)
			printf(" %14" PRIu64, s->wlat[k].samples);
		printf("  requests\n");
		for (i = 0; i <= DPC_LAT_NPCTS; i++) {
			bool max = i == DPC_LAT_NPCTS;

			printf("%-20s %16.3f", max ? "max" : dpc_lat_names[i],
			       (double)(max ? s->lat.max_ns : s->lat.ns[i]) / 1e3);
			for (k = 0; k < shown_workers; k++)
				printf(" %14.3f", (double)(max ? s->wlat[k].max_ns : s->wlat[k].ns[i]) / 1e3);
			printf("  us\n");
		}
	}
}

static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmd_stats(struct opts *o)
{
	struct dpc_ctl_stats cur, prev;
	char err[512];
	double tprev = 0;
	unsigned long n = 0;
	bool have_prev = false, tty = isatty(STDOUT_FILENO);

	if (o->npos != 0)
		return usage_error("stats", "unexpected argument", o->pos[0]);
	if (o->count != 0 && o->watch_s <= 0)
		return usage_error("stats", "--count needs --watch", NULL);
	memset(&prev, 0, sizeof(prev));
	for (;;) {
		double t;

		if (dpc_ctl_get_stats(o->path, o->timeout_ms, &cur, err, sizeof(err)) != 0) {
			fprintf(stderr, "dpcachectl: %s\n", err);
			dpc_ctl_stats_free(&prev);
			return CTL_EXIT_CONN;
		}
		t = mono_s();
		if (o->json && o->watch_s > 0) {
			/* One line per sample, with rates per second since the previous one. */
			printf("{\"sample\":%lu,\"interval_s\":%.3f,\"stats\":", n,
			       have_prev ? t - tprev : 0.0);
			dpc_ctl_stats_json(stdout, &cur);
			printf(",\"rates\":{");
			for (unsigned i = 0; i < DPC_WORKER_STATS_N; i++) {
				double d = have_prev && cur.total[i] >= prev.total[i] ?
					   (double)(cur.total[i] - prev.total[i]) : 0.0;

				printf("%s\"%s\":%.3f", i ? "," : "", dpc_stat_names[i],
				       have_prev && t > tprev ? d / (t - tprev) : 0.0);
			}
			printf("}}\n");
		} else if (o->json) {
			dpc_ctl_stats_json(stdout, &cur);
			printf("\n");
		} else {
			if (o->watch_s > 0 && tty)
				printf("\033[H\033[2J");
			print_table(&cur, have_prev ? &prev : NULL, t - tprev, o->all);
			if (o->watch_s > 0)
				printf("\n");
		}
		fflush(stdout);
		n++;
		dpc_ctl_stats_free(&prev);
		prev = cur;
		tprev = t;
		have_prev = true;
		if (o->watch_s <= 0 || (o->count != 0 && n >= o->count))
			break;
		{
			struct timespec ts = { .tv_sec = (time_t)o->watch_s,
					       .tv_nsec = (long)((o->watch_s - floor(o->watch_s)) * 1e9) };

			nanosleep(&ts, NULL);
		}
	}
	dpc_ctl_stats_free(&prev);
	return CTL_EXIT_OK;
}

static int cmd_config(struct opts *o)
{
	struct dpc_ctl_reply r;
	char req[DPC_CTL_REQ_MAX];
	unsigned i;
	int rc;

	if (o->npos == 0)
		return usage_error("config", "config needs `get` or `set`", NULL);
	if (strcmp(o->pos[0], "get") == 0) {
		if (o->npos > 2)
			return usage_error("config", "unexpected argument", o->pos[2]);
		if (o->npos == 2 && dpc_config_find(o->pos[1]) == NULL) {
			fprintf(stderr, "dpcachectl: unknown setting '%s' (`dpcachectl config --help` lists "
				"them)\n", o->pos[1]);
			return CTL_EXIT_FAIL;
		}
		snprintf(req, sizeof(req), "config get%s%s", o->npos == 2 ? " " : "",
			 o->npos == 2 ? o->pos[1] : "");
		rc = call(o, req, &r);
		if (rc != CTL_EXIT_OK)
			return rc;
		if (o->json) {
			printf("{");
			for (i = 0; i < r.n; i++) {
				printf("%s", i ? "," : "");
				dpc_ctl_json_str(stdout, r.kv[i].key);
				printf(":");
				dpc_ctl_json_str(stdout, r.kv[i].val);
			}
			printf("}\n");
		} else if (o->npos == 2 && r.n == 1) {
			printf("%s\n", r.kv[0].val);
		} else {
			for (i = 0; i < r.n; i++) {
				const struct dpc_config_def *d = dpc_config_find(r.kv[i].key);

				printf("%-16s = %-12s%s\n", r.kv[i].key, r.kv[i].val,
				       d && d->runtime ? "  (runtime)" : "");
			}
		}
		dpc_ctl_reply_free(&r);
		return CTL_EXIT_OK;
	}
	if (strcmp(o->pos[0], "set") == 0) {
		if (o->npos != 3)
			return usage_error("config", "usage: config set KEY VALUE", NULL);
		if (strpbrk(o->pos[1], " \t\n") || strpbrk(o->pos[2], " \t\n") || o->pos[2][0] == '\0') {
			fprintf(stderr, "dpcachectl: %s: '%s' is not a valid value\n", o->pos[1], o->pos[2]);
			return CTL_EXIT_FAIL;
		}
		snprintf(req, sizeof(req), "config set %s %s", o->pos[1], o->pos[2]);
		rc = call(o, req, &r);
		if (rc != CTL_EXIT_OK)
			return rc;
		if (r.n >= 1)
			printf("%s = %s\n", r.kv[0].key, r.kv[0].val);
		dpc_ctl_reply_free(&r);
		return CTL_EXIT_OK;
	}
	return usage_error("config", "config needs `get` or `set`, not", o->pos[0]);
}

static int cmd_flush(struct opts *o)
{
	struct dpc_ctl_reply r;
	char req[64];
	unsigned long delay = 0;
	int rc;

	if (o->npos > 1)
		return usage_error("flush", "unexpected argument", o->pos[1]);
	if (o->npos == 1 && (!parse_ulong(o->pos[0], &delay) || delay > 0xffffffffUL))
		return usage_error("flush", "DELAY must be a number of seconds", o->pos[0]);
	snprintf(req, sizeof(req), "flush %lu", delay);
	rc = call(o, req, &r);
	if (rc != CTL_EXIT_OK)
		return rc;
	if (delay == 0)
		printf("flushed\n");
	else
		printf("flush in %lu s\n", delay);
	dpc_ctl_reply_free(&r);
	return CTL_EXIT_OK;
}

static int cmd_simple(struct opts *o, const char *cmd)
{
	struct dpc_ctl_reply r;
	const char *v;
	int rc;

	if (o->npos != 0)
		return usage_error(cmd, "unexpected argument", o->pos[0]);
	rc = call(o, cmd, &r);
	if (rc != CTL_EXIT_OK)
		return rc;
	if (strcmp(cmd, "ping") == 0) {
		v = dpc_ctl_reply_get(&r, "pong");
		printf("pong from '%s'\n", v ? v : "?");
	} else {
		v = dpc_ctl_reply_get(&r, "version");
		printf("dpcachectl %s\ndpcached %s\n", DPCACHECTL_VERSION, v ? v : "?");
	}
	dpc_ctl_reply_free(&r);
	return CTL_EXIT_OK;
}

static int cmd_metrics(struct opts *o)
{
	char err[512];
	struct dpc_ctl_metrics_opts mo = {
		.listen = o->listen, .sock_path = o->path, .timeout_ms = o->timeout_ms,
		.request_timeout_ms = (int)o->request_timeout_ms, .max_clients = (unsigned)o->max_clients,
		.max_requests = o->max_requests, .duration_s = o->duration_s, .log = stdout,
	};

	if (o->npos != 0)
		return usage_error("metrics", "unexpected argument", o->pos[0]);
	if (o->listen == NULL)
		return usage_error("metrics", "--listen 127.0.0.1:PORT is required", NULL);
	if (dpc_ctl_metrics_serve(&mo, err, sizeof(err)) != 0) {
		fprintf(stderr, "dpcachectl: %s\n", err);
		return CTL_EXIT_FAIL;
	}
	return CTL_EXIT_OK;
}

/* ---- argument parsing ------------------------------------------------------------ */

/* "--opt=value" or "--opt value": the value, advancing *i; NULL if missing. */
static const char *opt_value(int argc, char **argv, int *i, const char *opt)
{
	size_t n = strlen(opt);

	if (argv[*i][n] == '=')
		return argv[*i] + n + 1;
	if (*i + 1 < argc)
		return argv[++*i];
	return NULL;
}

static bool is_opt(const char *a, const char *opt)
{
	size_t n = strlen(opt);

	return strncmp(a, opt, n) == 0 && (a[n] == '\0' || a[n] == '=');
}

int main(int argc, char **argv)
{
	struct opts o = { .name = "dpcache", .timeout_ms = 3000 };
	const char *cmd = NULL;
	unsigned long ul;
	int i;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *v;

		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			o.help = true;
		} else if (is_opt(a, "--name")) {
			if ((v = opt_value(argc, argv, &i, "--name")) == NULL)
				return usage_error(cmd, "--name needs a value", NULL);
			o.name = v;
		} else if (is_opt(a, "--socket")) {
			if ((v = opt_value(argc, argv, &i, "--socket")) == NULL)
				return usage_error(cmd, "--socket needs a value", NULL);
			o.socket = v;
		} else if (is_opt(a, "--timeout")) {
			v = opt_value(argc, argv, &i, "--timeout");
			if (!parse_ulong(v, &ul) || ul == 0 || ul > 600000)
				return usage_error(cmd, "--timeout needs milliseconds (1..600000)", v);
			o.timeout_ms = (int)ul;
		} else if (strcmp(a, "--json") == 0) {
			o.json = true;
		} else if (strcmp(a, "--all") == 0) {
			o.all = true;
		} else if (is_opt(a, "--watch")) {
			v = opt_value(argc, argv, &i, "--watch");
			if (!parse_double(v, &o.watch_s) || o.watch_s < 0.05 || o.watch_s > 86400)
				return usage_error(cmd, "--watch needs seconds (0.05..86400)", v);
		} else if (is_opt(a, "--count")) {
			v = opt_value(argc, argv, &i, "--count");
			if (!parse_ulong(v, &o.count) || o.count == 0)
				return usage_error(cmd, "--count needs a positive number", v);
		} else if (is_opt(a, "--listen")) {
			if ((o.listen = opt_value(argc, argv, &i, "--listen")) == NULL)
				return usage_error(cmd, "--listen needs ADDR:PORT", NULL);
		} else if (is_opt(a, "--max-requests")) {
			v = opt_value(argc, argv, &i, "--max-requests");
			if (!parse_ulong(v, &o.max_requests) || o.max_requests == 0)
				return usage_error(cmd, "--max-requests needs a positive number", v);
		} else if (is_opt(a, "--request-timeout")) {
			v = opt_value(argc, argv, &i, "--request-timeout");
			if (!parse_ulong(v, &o.request_timeout_ms) || o.request_timeout_ms < 10 ||
			    o.request_timeout_ms > 600000)
				return usage_error(cmd, "--request-timeout needs milliseconds (10..600000)",
						   v);
		} else if (is_opt(a, "--max-clients")) {
			v = opt_value(argc, argv, &i, "--max-clients");
			if (!parse_ulong(v, &o.max_clients) || o.max_clients == 0 || o.max_clients > 4096)
				return usage_error(cmd, "--max-clients needs a number (1..4096)", v);
		} else if (is_opt(a, "--duration")) {
			v = opt_value(argc, argv, &i, "--duration");
			if (!parse_double(v, &o.duration_s) || o.duration_s <= 0)
				return usage_error(cmd, "--duration needs seconds", v);
		} else if (a[0] == '-' && a[1] == '-') {
			return usage_error(cmd, "unknown option", a);
		} else if (cmd == NULL) {
			cmd = a;
		} else if (o.npos < DPC_ARRAY_SIZE(o.pos)) {
			o.pos[o.npos++] = a;
		} else {
			return usage_error(cmd, "too many arguments", NULL);
		}
	}
	if (cmd != NULL && strcmp(cmd, "help") == 0) {
		if (usage_for(o.npos ? o.pos[0] : NULL, stdout) != 0)
			return usage_error(NULL, "unknown command", o.pos[0]);
		return CTL_EXIT_OK;
	}
	if (o.help) {
		if (usage_for(cmd, stdout) != 0)
			return usage_error(NULL, "unknown command", cmd);
		return CTL_EXIT_OK;
	}
	if (cmd == NULL) {
		fputs(usage_main, stderr);
		return CTL_EXIT_USAGE;
	}
	if (o.socket != NULL) {
		snprintf(o.path, sizeof(o.path), "%s", o.socket);
	} else {
		const struct dpc_config_def *d = dpc_config_find("name");
		char err[256];
		struct dpc_config tmp;

		int bad;

		dpc_config_defaults(&tmp);
		/* The instance name obeys the `name` setting's rules (no '/', no '..' tricks). */
		bad = d != NULL && dpc_config_set(&tmp, "name", o.name, false, err, sizeof(err)) != 0;
		dpc_config_free(&tmp);
		if (bad)
			return usage_error(cmd, err, NULL);
		if (dpc_ctl_socket_path(o.name, o.path, sizeof(o.path)) != 0)
			return usage_error(cmd, "instance name too long", o.name);
	}
	if (strcmp(cmd, "stats") == 0)
		return cmd_stats(&o);
	if (strcmp(cmd, "config") == 0)
		return cmd_config(&o);
	if (strcmp(cmd, "flush") == 0)
		return cmd_flush(&o);
	if (strcmp(cmd, "ping") == 0 || strcmp(cmd, "version") == 0)
		return cmd_simple(&o, cmd);
	if (strcmp(cmd, "metrics") == 0)
		return cmd_metrics(&o);
	return usage_error(NULL, "unknown command", cmd);
}
