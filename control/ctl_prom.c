/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * `dpcachectl metrics`: a Prometheus endpoint over HTTP/1.0, loopback only.
 * Several clients at once on the connection loop of dpcache/connsrv.h, each
 * connection closed at its deadline (--request-timeout) at the latest, so a
 * slow client delays nobody else; request heads are framed and parsed by
 * lib/ctlproto.c.  The scrape itself asks dpcached synchronously, bounded
 * by --timeout.  The whole server is bounded by --max-requests / --duration.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "dpcache/common.h"
#include "dpcache/connsrv.h"
#include "dpcache/ctlproto.h"
#include "ctl_client.h"

struct prom_ctx {
	const char *sock_path;
	int timeout_ms;       /* for each question to dpcached */
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * Parse "HOST:PORT" (HOST: an IPv4 address, "[IPv6]" or "localhost") into
 * @p ss.  Loopback only.  0, -EINVAL (malformed) or -EPERM (not loopback).
 */
static int parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *sl)
{
	char host[128];
	const char *colon = strrchr(s, ':');
	unsigned long port;
	char *end;
	size_t hl;

	if (colon == NULL)
		return -EINVAL;
	hl = (size_t)(colon - s);
	if (hl == 0 || hl >= sizeof(host))
		return -EINVAL;
	memcpy(host, s, hl);
	host[hl] = '\0';
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (colon[1] < '0' || colon[1] > '9' || *end != '\0' || errno != 0 || port > 65535)
		return -EINVAL;
	memset(ss, 0, sizeof(*ss));
	if (strcmp(host, "localhost") == 0)
		snprintf(host, sizeof(host), "127.0.0.1");
	if (host[0] == '[') {
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;

		if (hl < 3 || host[hl - 1] != ']')
			return -EINVAL;
		host[hl - 1] = '\0';
		if (inet_pton(AF_INET6, host + 1, &a6->sin6_addr) != 1)
			return -EINVAL;
		if (!IN6_IS_ADDR_LOOPBACK(&a6->sin6_addr))
			return -EPERM;
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)port);
		*sl = sizeof(*a6);
	} else {
		struct sockaddr_in *a4 = (struct sockaddr_in *)ss;

		if (inet_pton(AF_INET, host, &a4->sin_addr) != 1)
			return -EINVAL;
		if ((ntohl(a4->sin_addr.s_addr) >> 24) != 127)
			return -EPERM;
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)port);
		*sl = sizeof(*a4);
	}
	return 0;
}

static void respond(struct dpc_buf *o, bool head_only, const char *status, const char *ctype,
		    const char *body, size_t blen)
{
	dpc_buf_printf(o, "HTTP/1.0 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
		       "Connection: close\r\n\r\n", status, ctype, blen);
	if (!head_only)
		dpc_buf_add(o, body, blen);
}

#define PROM_CTYPE "text/plain; version=0.0.4; charset=utf-8"
#define TEXT_CTYPE "text/plain; charset=utf-8"

/* A fixed text answer (its body left out for HEAD). */
static void respond_page(struct dpc_buf *o, bool head_only, const char *status, const char *text)
{
	respond(o, head_only, status, TEXT_CTYPE, text, strlen(text));
}

static void respond_text(struct dpc_buf *o, const char *status, const char *text)
{
	respond_page(o, false, status, text);
}

/* The scrape: ask dpcached afresh (bounded by timeout_ms) and render. */
static void respond_metrics(struct dpc_buf *o, bool head_only, const struct prom_ctx *pc)
{
	struct dpc_ctl_stats s;
	char err[512];
	char *body = NULL;
	size_t blen = 0;
	FILE *mf = open_memstream(&body, &blen);

	if (mf == NULL) {
		respond_text(o, "500 Internal Server Error", "out of memory\n");
		return;
	}
	if (dpc_ctl_get_stats(pc->sock_path, pc->timeout_ms, &s, err, sizeof(err)) == 0) {
		dpc_ctl_stats_prom(mf, &s);
		dpc_ctl_stats_free(&s);
	} else {
		/* The exporter is up, dpcached is not: say so the Prometheus way. */
		fprintf(mf, "# dpcachectl: %s\n", err);
		fprintf(mf, "# HELP dpcache_up 1 if dpcached answered this scrape\n"
			"# TYPE dpcache_up gauge\ndpcache_up 0\n");
	}
	fclose(mf);
	respond(o, head_only, "200 OK", PROM_CTYPE, body, blen);
	free(body);
}

/* Answer a complete (or, at EOF, the partial) request head. */
static void answer(struct dpc_buf *o, const char *in, size_t len, const struct prom_ctx *pc)
{
	struct dpc_http_req r;

	switch (dpc_http_req_parse(in, len, &r)) {
	case 200:
		break;
	case 405:
		respond_text(o, "405 Method Not Allowed", "only GET and HEAD\n");
		return;
	case 505:
		respond_text(o, "505 HTTP Version Not Supported", "HTTP/1.x only\n");
		return;
	default:
		respond_text(o, "400 Bad Request", "bad request\n");
		return;
	}
	switch (r.target) {
	case DPC_HTTP_METRICS:
		respond_metrics(o, r.head, pc);
		break;
	case DPC_HTTP_ROOT:
		respond_page(o, r.head, "200 OK", "dpcachectl metrics exporter: see /metrics\n");
		break;
	case DPC_HTTP_OTHER:
		respond_page(o, r.head, "404 Not Found", "not found (try /metrics)\n");
		break;
	}
}

static enum dpc_srv_action http_event(void *ctx, int fd, enum dpc_srv_event ev, const char *in,
				      size_t len, struct dpc_buf *o)
{
	const struct prom_ctx *pc = ctx;
	long n;

	(void)fd;
	switch (ev) {
	case DPC_SRV_ACCEPT:
		return DPC_SRV_MORE;
	case DPC_SRV_BUSY:
		respond_text(o, "503 Service Unavailable", "busy: too many clients, retry\n");
		return DPC_SRV_REPLY;
	case DPC_SRV_TIMEOUT:
		respond_text(o, "408 Request Timeout", "no complete request in time\n");
		return DPC_SRV_REPLY;
	case DPC_SRV_EOF:
		if (len == 0)
			return DPC_SRV_CLOSE;
		answer(o, in, len, pc); /* a client that sent its request line and stopped */
		return DPC_SRV_REPLY;
	case DPC_SRV_DATA:
		break;
	}
	n = dpc_http_req_frame(in, len);
	if (n == 0)
		return DPC_SRV_MORE;
	if (n < 0)
		respond_text(o, "431 Request Header Fields Too Large", "request head too large\n");
	else
		answer(o, in, (size_t)n, pc);
	return DPC_SRV_REPLY;
}

int dpc_ctl_metrics_serve(const struct dpc_ctl_metrics_opts *mo, char *err, size_t errlen)
{
	struct sockaddr_storage ss, bound;
	socklen_t sl = 0, bl = sizeof(bound);
	struct prom_ctx pc = { .sock_path = mo->sock_path, .timeout_ms = mo->timeout_ms };
	struct dpc_srv_ops ops = { .event = http_event, .ctx = &pc };
	struct dpc_srv *loop;
	unsigned long served = 0;
	double t0 = now_s();
	char host[INET6_ADDRSTRLEN];
	int fd, rc, one = 1;
	uint16_t port;

	rc = parse_listen(mo->listen, &ss, &sl);
	if (rc == -EPERM) {
		dpc_set_err(err, errlen, "metrics: refusing to listen on %s: loopback addresses only "
			"(127.0.0.0/8, [::1], localhost)", mo->listen);
		return rc;
	}
	if (rc != 0) {
		dpc_set_err(err, errlen, "metrics: bad listen address '%s' (want 127.0.0.1:PORT)",
			     mo->listen);
		return rc;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		rc = -errno;
		dpc_set_err(err, errlen, "metrics: socket: %s", strerror(errno));
		return rc;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, sl) != 0 || listen(fd, 64) != 0 ||
	    getsockname(fd, (struct sockaddr *)&bound, &bl) != 0) {
		rc = -errno;
		dpc_set_err(err, errlen, "metrics: cannot listen on %s: %s", mo->listen, strerror(errno));
		close(fd);
		return rc;
	}
	loop = dpc_srv_create(fd, mo->max_clients ? mo->max_clients : DPC_CTL_METRICS_CLIENTS,
			      DPC_HTTP_HEAD_MAX, mo->request_timeout_ms > 0 ? mo->request_timeout_ms :
								       DPC_CTL_METRICS_DEADLINE_MS, &ops);
	if (loop == NULL) {
		rc = -errno;
		dpc_set_err(err, errlen, "metrics: %s", strerror(errno));
		close(fd);
		return rc;
	}
	if (bound.ss_family == AF_INET6) {
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&bound;

		inet_ntop(AF_INET6, &a6->sin6_addr, host, sizeof(host));
		port = ntohs(a6->sin6_port);
		fprintf(mo->log, "listening on [%s]:%u\n", host, port);
	} else {
		struct sockaddr_in *a4 = (struct sockaddr_in *)&bound;

		inet_ntop(AF_INET, &a4->sin_addr, host, sizeof(host));
		port = ntohs(a4->sin_port);
		fprintf(mo->log, "listening on %s:%u\n", host, port);
	}
	fflush(mo->log);
	while (mo->max_requests == 0 || served < mo->max_requests) {
		int wait_ms = 500;

		if (mo->duration_s > 0) {
			double left = mo->duration_s - (now_s() - t0);

			if (left <= 0)
				break;
			if (left * 1000 < wait_ms)
				wait_ms = (int)(left * 1000) + 1;
		}
		rc = dpc_srv_poll(loop, wait_ms);
		if (rc > 0)
			served += (unsigned long)rc;
	}
	dpc_srv_free(loop);
	close(fd);
	return 0;
}
