/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dpcachectl: the control-channel client (one request per connection,
 * bounded by a deadline) and the stats model with its JSON and Prometheus
 * renderings.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "dpcache/common.h"
#include "ctl_client.h"

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for @p ev on @p fd until @p deadline (ms); 0, or -ETIMEDOUT / -errno. */
static int wait_fd(int fd, short ev, int64_t deadline)
{
	for (;;) {
		int64_t left = deadline - now_ms();
		struct pollfd p = { .fd = fd, .events = ev };
		int r;

		if (left <= 0)
			return -ETIMEDOUT;
		r = poll(&p, 1, (int)left);
		if (r > 0)
			return 0;
		if (r < 0 && errno != EINTR)
			return -errno;
	}
}

static int parse_reply(char *raw, size_t len, struct dpc_ctl_reply *out)
{
	char *p = raw, *end = raw + len, *nl;
	unsigned cap = 0;

	nl = memchr(p, '\n', (size_t)(end - p));
	if (nl == NULL)
		return -EPROTO;
	*nl = '\0';
	if (strcmp(p, "OK") == 0) {
		out->ok = true;
	} else if (strncmp(p, "ERR ", 4) == 0) {
		out->ok = false;
		out->error = p + 4;
	} else {
		return -EPROTO;
	}
	for (p = nl + 1; p < end; p = nl + 1) {
		char *sp;

		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			return -EPROTO; /* truncated answer */
		*nl = '\0';
		sp = strchr(p, ' ');
		if (sp == NULL)
			continue;
		*sp = '\0';
		if (out->n == cap) {
			unsigned ncap = cap ? cap * 2 : 256;
			struct dpc_ctl_kv *nkv = realloc(out->kv, ncap * sizeof(*nkv));

			if (nkv == NULL)
				return -ENOMEM;
			out->kv = nkv;
			cap = ncap;
		}
		out->kv[out->n].key = p;
		out->kv[out->n].val = sp + 1;
		out->n++;
	}
	return 0;
}

int dpc_ctl_call(const char *path, const char *request, int timeout_ms, struct dpc_ctl_reply *out,
		 char *err, size_t errlen)
{
	struct sockaddr_un sa;
	int64_t deadline = now_ms() + (timeout_ms > 0 ? timeout_ms : 1);
	char *buf = NULL;
	size_t len = 0, cap = 0, reqlen = strlen(request), off = 0;
	int fd = -1, rc;

	memset(out, 0, sizeof(*out));
	if (reqlen + 1 > DPC_CTL_REQ_MAX || strchr(request, '\n') != NULL) {
		dpc_set_err(err, errlen, "request too long");
		return -EINVAL;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		dpc_set_err(err, errlen, "socket path too long: %s", path);
		return -ENAMETOOLONG;
	}
	memcpy(sa.sun_path, path, strlen(path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		rc = -errno;
		dpc_set_err(err, errlen, "socket: %s", strerror(errno));
		return rc;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		rc = -errno;
		if (rc == -ENOENT || rc == -ENOTDIR)
			dpc_set_err(err, errlen, "dpcached is not running (no control socket at %s)", path);
		else if (rc == -ECONNREFUSED)
			dpc_set_err(err, errlen,
				    "dpcached is not running (stale control socket %s refused "
				    "the connection)", path);
		else if (rc == -EACCES || rc == -EPERM)
			dpc_set_err(err, errlen,
				    "permission denied on %s (root, dpcached's user or a member of its "
				    "ctl_group may connect)", path);
		else if (rc == -EAGAIN)
			dpc_set_err(err, errlen, "dpcached's control socket %s is busy (backlog full)", path);
		else
			dpc_set_err(err, errlen, "cannot connect to %s: %s", path, strerror(-rc));
		goto out;
	}
	while (off < reqlen + 1) {
		char line[DPC_CTL_REQ_MAX + 1];
		ssize_t s;

		snprintf(line, sizeof(line), "%s\n", request);
		rc = wait_fd(fd, POLLOUT, deadline);
		if (rc != 0)
			goto timeout;
		s = send(fd, line + off, reqlen + 1 - off, MSG_NOSIGNAL);
		if (s < 0 && errno != EAGAIN && errno != EINTR) {
			rc = -errno;
			dpc_set_err(err, errlen, "sending to dpcached: %s", strerror(errno));
			goto out;
		}
		if (s > 0)
			off += (size_t)s;
	}
	for (;;) {
		ssize_t r;

		if (cap - len < 4096) {
			size_t ncap = cap ? cap * 2 : 65536;
			char *nb;

			if (ncap > DPC_CTL_REPLY_MAX + 1) {
				rc = -EMSGSIZE;
				dpc_set_err(err, errlen, "answer from dpcached larger than %u bytes",
					DPC_CTL_REPLY_MAX);
				goto out;
			}
			nb = realloc(buf, ncap);
			if (nb == NULL) {
				rc = -ENOMEM;
				dpc_set_err(err, errlen, "out of memory");
				goto out;
			}
			buf = nb;
			cap = ncap;
		}
		rc = wait_fd(fd, POLLIN, deadline);
		if (rc != 0)
			goto timeout;
		r = recv(fd, buf + len, cap - len - 1, 0);
		if (r == 0)
			break;
		if (r < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			rc = -errno;
			dpc_set_err(err, errlen, "reading from dpcached: %s", strerror(errno));
			goto out;
		}
		len += (size_t)r;
	}
	buf[len] = '\0';
	out->raw = buf;
	buf = NULL;
	rc = parse_reply(out->raw, len, out);
	if (rc != 0) {
		dpc_set_err(err, errlen, "malformed answer from dpcached");
		dpc_ctl_reply_free(out);
	}
	goto out;
timeout:
	if (rc == -ETIMEDOUT)
		dpc_set_err(err, errlen, "no answer from dpcached within %d ms (%s)", timeout_ms, path);
	else
		dpc_set_err(err, errlen, "waiting for dpcached: %s", strerror(-rc));
out:
	free(buf);
	close(fd);
	return rc;
}

void dpc_ctl_reply_free(struct dpc_ctl_reply *r)
{
	if (r == NULL)
		return;
	free(r->kv);
	free(r->raw);
	memset(r, 0, sizeof(*r));
}

const char *dpc_ctl_reply_get(const struct dpc_ctl_reply *r, const char *key)
{
	unsigned i;

	for (i = 0; i < r->n; i++)
		if (strcmp(r->kv[i].key, key) == 0)
			return r->kv[i].val;
	return NULL;
}

/* ---- the stats model ---------------------------------------------------------- */

const char *const dpc_ctl_store_fields[DPC_CTL_STORE_N] = {
#define DPC_X_F(field, metric, type, help) #field,
	DPC_CTL_STORE_STATS(DPC_X_F)
#undef DPC_X_F
};
const char *const dpc_ctl_store_metrics[DPC_CTL_STORE_N] = {
#define DPC_X_M(field, metric, type, help) metric,
	DPC_CTL_STORE_STATS(DPC_X_M)
#undef DPC_X_M
};
const char *const dpc_ctl_store_types[DPC_CTL_STORE_N] = {
#define DPC_X_T(field, metric, type, help) type,
	DPC_CTL_STORE_STATS(DPC_X_T)
#undef DPC_X_T
};
const char *const dpc_ctl_store_help[DPC_CTL_STORE_N] = {
#define DPC_X_H(field, metric, type, help) help,
	DPC_CTL_STORE_STATS(DPC_X_H)
#undef DPC_X_H
};
const char *const dpc_ctl_chan_names[DPC_CTL_CHAN_N] = {
#define DPC_X_CN(name, help) #name,
	DPC_CTL_CHAN_STATS(DPC_X_CN)
#undef DPC_X_CN
};
const char *const dpc_ctl_chan_help[DPC_CTL_CHAN_N] = {
#define DPC_X_CH(name, help) help,
	DPC_CTL_CHAN_STATS(DPC_X_CH)
#undef DPC_X_CH
};
#define DPC_X_C(field, metric, type, help) +1
static_assert(0 DPC_CTL_STORE_STATS(DPC_X_C) == DPC_CTL_STORE_N, "DPC_CTL_STORE_N matches the list");
#undef DPC_X_C

int dpc_ctl_stat_index(const char *name)
{
	unsigned i;

	for (i = 0; i < DPC_WORKER_STATS_N; i++)
		if (strcmp(dpc_stat_names[i], name) == 0)
			return (int)i;
	return -1;
}

static int chan_index(const char *name)
{
	unsigned i;

	for (i = 0; i < DPC_CTL_CHAN_N; i++)
		if (strcmp(dpc_ctl_chan_names[i], name) == 0)
			return (int)i;
	return -1;
}

static int store_index(const char *name)
{
	unsigned i;

	for (i = 0; i < DPC_CTL_STORE_N; i++)
		if (strcmp(dpc_ctl_store_fields[i], name) == 0)
			return (int)i;
	return -1;
}

static bool parse_u64(const char *s, uint64_t *v)
{
	char *end;

	if (s == NULL || *s < '0' || *s > '9')
		return false;
	errno = 0;
	*v = strtoull(s, &end, 10);
	return errno == 0 && *end == '\0';
}

/* "w12.get_hits" -> 12, "get_hits"; false if not of that form. */
static bool split_indexed(const char *key, char prefix, unsigned *idx, const char **name)
{
	char *end;
	unsigned long v;

	if (key[0] != prefix || key[1] < '0' || key[1] > '9')
		return false;
	v = strtoul(key + 1, &end, 10);
	if (*end != '.' || v > 1000000)
		return false;
	*idx = (unsigned)v;
	*name = end + 1;
	return true;
}

/* A "latency_..." line (lat.h names) into @p ls; false if @p name is not one. */
static bool lat_field(struct dpc_lat_summary *ls, const char *name, uint64_t v)
{
	char want[40];

	if (strcmp(name, "latency_samples") == 0) {
		ls->samples = v;
		return true;
	}
	if (strcmp(name, "latency_max_ns") == 0) {
		ls->max_ns = v;
		return true;
	}
	for (unsigned i = 0; i < DPC_LAT_NPCTS; i++) {
		snprintf(want, sizeof(want), "latency_%s_ns", dpc_lat_names[i]);
		if (strcmp(name, want) == 0) {
			ls->ns[i] = v;
			return true;
		}
	}
	return false;
}

int dpc_ctl_stats_parse(const struct dpc_ctl_reply *r, struct dpc_ctl_stats *s)
{
	uint64_t v;
	unsigned i, k;
	const char *val;

	memset(s, 0, sizeof(*s));
	if (!r->ok)
		return -EPROTO;
	if (!parse_u64(dpc_ctl_reply_get(r, "workers"), &v) || v > 4096)
		return -EPROTO;
	s->nworkers = (unsigned)v;
	if (!parse_u64(dpc_ctl_reply_get(r, "partitions"), &v) || v > 4096)
		return -EPROTO;
	s->nparts = (unsigned)v;
	val = dpc_ctl_reply_get(r, "name");
	snprintf(s->name, sizeof(s->name), "%s", val ? val : "?");
	val = dpc_ctl_reply_get(r, "version");
	snprintf(s->version, sizeof(s->version), "%s", val ? val : "?");
	if (parse_u64(dpc_ctl_reply_get(r, "pid"), &v))
		s->pid = (long)v;
	if (parse_u64(dpc_ctl_reply_get(r, "uptime_s"), &v))
		s->uptime_s = v;
	s->w = calloc(s->nworkers ? s->nworkers : 1, sizeof(*s->w));
	s->p = calloc(s->nparts ? s->nparts : 1, sizeof(*s->p));
	s->wlat = calloc(s->nworkers ? s->nworkers : 1, sizeof(*s->wlat));
	if (s->w == NULL || s->p == NULL || s->wlat == NULL) {
		dpc_ctl_stats_free(s);
		return -ENOMEM;
	}
	for (k = 0; k < r->n; k++) {
		const char *name;
		unsigned idx;
		int c;

		if (split_indexed(r->kv[k].key, 'w', &idx, &name)) {
			c = dpc_ctl_stat_index(name);
			if (idx < s->nworkers && c >= 0 && parse_u64(r->kv[k].val, &v))
				s->w[idx][c] = v;
			else if (idx < s->nworkers && parse_u64(r->kv[k].val, &v))
				(void)lat_field(&s->wlat[idx], name, v);
		} else if (split_indexed(r->kv[k].key, 't', &idx, &name)) {
			/* a service thread's counters (TCP, exception path): totals only */
			c = dpc_ctl_stat_index(name);
			if (c >= 0 && parse_u64(r->kv[k].val, &v))
				s->total[c] += v;
		} else if (parse_u64(r->kv[k].val, &v) && lat_field(&s->lat, r->kv[k].key, v)) {
			s->have_lat = true;
		} else if (split_indexed(r->kv[k].key, 'p', &idx, &name)) {
			c = store_index(name);
			if (idx < s->nparts && c >= 0 && parse_u64(r->kv[k].val, &v))
				s->p[idx][c] = v;
		} else if (strncmp(r->kv[k].key, "ctl.", 4) == 0) {
			c = chan_index(r->kv[k].key + 4);
			if (c >= 0 && parse_u64(r->kv[k].val, &v))
				s->ctl[c] = v;
		}
	}
	for (k = 0; k < s->nworkers; k++)
		for (i = 0; i < DPC_WORKER_STATS_N; i++)
			s->total[i] += s->w[k][i];
	for (k = 0; k < s->nparts; k++)
		for (i = 0; i < DPC_CTL_STORE_N; i++)
			s->ptotal[i] += s->p[k][i];
	/* A ratio is not a sum: the total's live fraction is total live / total log. */
	{
		int lf = store_index("live_fraction_bp"), lb = store_index("log_bytes");
		int bu = store_index("bytes_used");

		if (lf >= 0 && lb >= 0 && bu >= 0)
			s->ptotal[lf] = s->ptotal[lb] ? s->ptotal[bu] * 10000 / s->ptotal[lb] : 0;
	}
	return 0;
}

void dpc_ctl_stats_free(struct dpc_ctl_stats *s)
{
	if (s == NULL)
		return;
	free(s->w);
	free(s->p);
	free(s->wlat);
	s->w = NULL;
	s->p = NULL;
	s->wlat = NULL;
}

int dpc_ctl_get_stats(const char *path, int timeout_ms, struct dpc_ctl_stats *s, char *err,
		      size_t errlen)
{
	struct dpc_ctl_reply r;
	int rc = dpc_ctl_call(path, "stats", timeout_ms, &r, err, errlen);

	memset(s, 0, sizeof(*s));
	if (rc != 0)
		return rc;
	if (!r.ok) {
		dpc_set_err(err, errlen, "dpcached: %s", r.error);
		dpc_ctl_reply_free(&r);
		return -EPROTO;
	}
	rc = dpc_ctl_stats_parse(&r, s);
	if (rc != 0)
		dpc_set_err(err, errlen, "malformed stats answer from dpcached");
	dpc_ctl_reply_free(&r);
	return rc;
}

/* ---- renderings ----------------------------------------------------------------- */

void dpc_ctl_json_str(FILE *f, const char *str)
{
	const unsigned char *p;

	fputc('"', f);
	for (p = (const unsigned char *)str; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p < 0x20)
			fprintf(f, "\\u%04x", *p);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

static void json_counters(FILE *f, const uint64_t *v)
{
	unsigned i;

	fputc('{', f);
	for (i = 0; i < DPC_WORKER_STATS_N; i++)
		fprintf(f, "%s\"%s\":%" PRIu64, i ? "," : "", dpc_stat_names[i], v[i]);
	fputc('}', f);
}

static void json_lat(FILE *f, const struct dpc_lat_summary *ls)
{
	fprintf(f, "{\"samples\":%" PRIu64, ls->samples);
	for (unsigned i = 0; i < DPC_LAT_NPCTS; i++)
		fprintf(f, ",\"%s\":%" PRIu64, dpc_lat_names[i], ls->ns[i]);
	fprintf(f, ",\"max\":%" PRIu64 "}", ls->max_ns);
}

static void json_store(FILE *f, const uint64_t *v)
{
	unsigned i;

	fputc('{', f);
	for (i = 0; i < DPC_CTL_STORE_N; i++)
		fprintf(f, "%s\"%s\":%" PRIu64, i ? "," : "", dpc_ctl_store_fields[i], v[i]);
	fputc('}', f);
}

void dpc_ctl_stats_json(FILE *f, const struct dpc_ctl_stats *s)
{
	unsigned k;

	fprintf(f, "{\"name\":");
	dpc_ctl_json_str(f, s->name);
	fprintf(f, ",\"version\":");
	dpc_ctl_json_str(f, s->version);
	fprintf(f, ",\"pid\":%ld,\"uptime_s\":%" PRIu64 ",\"workers\":%u,\"total\":", s->pid, s->uptime_s,
		s->nworkers);
	json_counters(f, s->total);
	fprintf(f, ",\"per_worker\":[");
	for (k = 0; k < s->nworkers; k++) {
		if (k)
			fputc(',', f);
		json_counters(f, s->w[k]);
	}
	fprintf(f, "],\"store\":{\"partitions\":%u,\"total\":", s->nparts);
	json_store(f, s->ptotal);
	fprintf(f, ",\"per_partition\":[");
	for (k = 0; k < s->nparts; k++) {
		if (k)
			fputc(',', f);
		json_store(f, s->p[k]);
	}
	fprintf(f, "]},\"control\":{");
	for (k = 0; k < DPC_CTL_CHAN_N; k++)
		fprintf(f, "%s\"%s\":%" PRIu64, k ? "," : "", dpc_ctl_chan_names[k], s->ctl[k]);
	fputc('}', f);
	if (s->have_lat) {
		/* in-server latency, ns: RX burst -> TX burst of the reply (lat.h) */
		fprintf(f, ",\"latency_ns\":{\"total\":");
		json_lat(f, &s->lat);
		fprintf(f, ",\"per_worker\":[");
		for (k = 0; k < s->nworkers; k++) {
			if (k)
				fputc(',', f);
			json_lat(f, &s->wlat[k]);
		}
		fprintf(f, "]}");
	}
	fputc('}', f);
}

/* Prometheus name of counter i: dpcache_<name>[_<unit>]_total (unit unless the name ends with
 * it; no _total for a gauge). */
static void prom_counter_name(unsigned i, char *buf, size_t len)
{
	const char *n = dpc_stat_names[i], *u = dpc_stat_units[i];
	size_t nl = strlen(n), ul = strlen(u);
	bool has_unit = (nl == ul && strcmp(n, u) == 0) ||
			(nl > ul && strcmp(n + nl - ul, u) == 0 && n[nl - ul - 1] == '_');

	const char *total = dpc_stat_is_gauge(i) ? "" : "_total"; /* a gauge is no total */

	if (has_unit || ul == 0)
		snprintf(buf, len, "dpcache_%s%s", n, total);
	else
		snprintf(buf, len, "dpcache_%s_%s%s", n, u, total);
}

static void prom_help(FILE *f, const char *metric, const char *help, const char *type)
{
	const char *p;

	fprintf(f, "# HELP %s ", metric);
	for (p = help; *p; p++) {
		if (*p == '\\')
			fputs("\\\\", f);
		else if (*p == '\n')
			fputs("\\n", f);
		else
			fputc(*p, f);
	}
	fprintf(f, "\n# TYPE %s %s\n", metric, type);
}

/* A label value, escaped as the exposition format wants (\\, \", \n). */
static void prom_label(FILE *f, const char *v)
{
	fputc('"', f);
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			fprintf(f, "\\%c", *v);
		else if (*v == '\n')
			fputs("\\n", f);
		else
			fputc(*v, f);
	}
	fputc('"', f);
}

void dpc_ctl_stats_prom(FILE *f, const struct dpc_ctl_stats *s)
{
	char metric[160];
	unsigned i, k;

	prom_help(f, "dpcache_up", "1 if dpcached answered this scrape", "gauge");
	fprintf(f, "dpcache_up 1\n");
	prom_help(f, "dpcache_info", "dpcached instance name and version", "gauge");
	fprintf(f, "dpcache_info{name=");
	prom_label(f, s->name);
	fprintf(f, ",version=");
	prom_label(f, s->version);
	fprintf(f, "} 1\n");
	prom_help(f, "dpcache_uptime_seconds", "Seconds since dpcached's control channel started", "gauge");
	fprintf(f, "dpcache_uptime_seconds %" PRIu64 "\n", s->uptime_s);
	prom_help(f, "dpcache_workers", "Worker lcores", "gauge");
	fprintf(f, "dpcache_workers %u\n", s->nworkers);
	for (i = 0; i < DPC_WORKER_STATS_N; i++) {
		char help[256];

		prom_counter_name(i, metric, sizeof(metric));
		snprintf(help, sizeof(help), "%s (%s; worker=\"total\" is the sum)", dpc_stat_help[i],
			 dpc_stat_units[i]);
		prom_help(f, metric, help, dpc_stat_is_gauge(i) ? "gauge" : "counter");
		for (k = 0; k < s->nworkers; k++)
			fprintf(f, "%s{worker=\"%u\"} %" PRIu64 "\n", metric, k, s->w[k][i]);
		fprintf(f, "%s{worker=\"total\"} %" PRIu64 "\n", metric, s->total[i]);
	}
	for (i = 0; i < DPC_CTL_STORE_N; i++) {
		char help[256];

		snprintf(help, sizeof(help), "%s (partition=\"total\" is the sum)", dpc_ctl_store_help[i]);
		prom_help(f, dpc_ctl_store_metrics[i], help, dpc_ctl_store_types[i]);
		for (k = 0; k < s->nparts; k++)
			fprintf(f, "%s{partition=\"%u\"} %" PRIu64 "\n", dpc_ctl_store_metrics[i], k,
				s->p[k][i]);
		fprintf(f, "%s{partition=\"total\"} %" PRIu64 "\n", dpc_ctl_store_metrics[i], s->ptotal[i]);
	}
	for (i = 0; i < DPC_CTL_CHAN_N; i++) {
		snprintf(metric, sizeof(metric), "dpcache_ctl_%s_total", dpc_ctl_chan_names[i]);
		prom_help(f, metric, dpc_ctl_chan_help[i], "counter");
		fprintf(f, "%s %" PRIu64 "\n", metric, s->ctl[i]);
	}
	if (!s->have_lat)
		return;
	prom_help(f, "dpcache_request_latency_seconds", "In-server latency of a request, from its RX "
		  "burst to the TX burst of its reply, since start (worker=\"total\": all merged)",
		  "gauge");
	for (i = 0; i < DPC_LAT_NPCTS; i++) {
		for (k = 0; k < s->nworkers; k++)
			fprintf(f, "dpcache_request_latency_seconds{worker=\"%u\",quantile=\"%g\"} %.9f\n", k,
				dpc_lat_pcts[i] / 100, (double)s->wlat[k].ns[i] / 1e9);
		fprintf(f, "dpcache_request_latency_seconds{worker=\"total\",quantile=\"%g\"} %.9f\n",
			dpc_lat_pcts[i] / 100, (double)s->lat.ns[i] / 1e9);
	}
	prom_help(f, "dpcache_request_latency_samples_total", "Requests whose in-server latency was "
		  "measured", "counter");
	for (k = 0; k < s->nworkers; k++)
		fprintf(f, "dpcache_request_latency_samples_total{worker=\"%u\"} %" PRIu64 "\n", k,
			s->wlat[k].samples);
	fprintf(f, "dpcache_request_latency_samples_total{worker=\"total\"} %" PRIu64 "\n",
		s->lat.samples);
}
