/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * `dpcachectl metrics`: a Prometheus endpoint over HTTP/1.0, loopback only.
 * One connection at a time (a scraper is one client); every socket
 * operation is bounded by a timeout, and the whole server by
 * --max-requests / --duration.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "dpcache/common.h"
#include "ctl_client.h"

#define HTTP_IO_TIMEOUT_MS 2000
#define HTTP_REQ_MAX 8192

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

static void send_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t s = send(fd, p, n, MSG_NOSIGNAL);

		if (s <= 0)
			return;
		p += s;
		n -= (size_t)s;
	}
}

static void respond(int fd, const char *status, const char *ctype, const char *body, size_t blen)
{
	char head[256];
	int n = snprintf(head, sizeof(head),
			 "HTTP/1.0 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
			 "Connection: close\r\n\r\n",
			 status, ctype, blen);

	send_all(fd, head, (size_t)n);
	send_all(fd, body, blen);
}

#define PROM_CTYPE "text/plain; version=0.0.4; charset=utf-8"

/* Read the request head (bounded by size and time); answer it.  Returns true if it was answered. */
static bool serve_http(int fd, const char *sock_path, int timeout_ms)
{
	char req[HTTP_REQ_MAX + 1], method[16], target[256];
	size_t got = 0;
	struct timeval tv = { .tv_sec = HTTP_IO_TIMEOUT_MS / 1000, .tv_usec = 0 };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	while (got < HTTP_REQ_MAX) {
		ssize_t r = recv(fd, req + got, HTTP_REQ_MAX - got, 0);

		if (r <= 0)
			break;
		got += (size_t)r;
		req[got] = '\0';
		if (strstr(req, "\r\n\r\n") != NULL || strstr(req, "\n\n") != NULL)
			break;
	}
	req[got] = '\0';
	if (got == 0)
		return false;
	if (sscanf(req, "%15s %255s", method, target) != 2) {
		static const char b[] = "bad request\n";

		respond(fd, "400 Bad Request", "text/plain", b, sizeof(b) - 1);
		return true;
	}
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
		static const char b[] = "only GET\n";

		respond(fd, "405 Method Not Allowed", "text/plain", b, sizeof(b) - 1);
		return true;
	}
	if (strcmp(target, "/metrics") == 0 || strncmp(target, "/metrics?", 9) == 0) {
		struct dpc_ctl_stats s;
		char err[512];
		char *body = NULL;
		size_t blen = 0;
		FILE *mf = open_memstream(&body, &blen);

		if (mf == NULL) {
			static const char b[] = "out of memory\n";

			respond(fd, "500 Internal Server Error", "text/plain", b, sizeof(b) - 1);
			return true;
		}
		if (dpc_ctl_get_stats(sock_path, timeout_ms, &s, err, sizeof(err)) == 0) {
			dpc_ctl_stats_prom(mf, &s);
			dpc_ctl_stats_free(&s);
		} else {
			/* The exporter is up, dpcached is not: say so the Prometheus way. */
			fprintf(mf, "# dpcachectl: %s\n", err);
			fprintf(mf, "# HELP dpcache_up 1 if dpcached answered this scrape\n"
				"# TYPE dpcache_up gauge\ndpcache_up 0\n");
		}
		fclose(mf);
		respond(fd, "200 OK", PROM_CTYPE, strcmp(method, "HEAD") ? body : "",
			strcmp(method, "HEAD") ? blen : 0);
		free(body);
		return true;
	}
	if (strcmp(target, "/") == 0) {
		static const char b[] = "dpcachectl metrics exporter: see /metrics\n";

		respond(fd, "200 OK", "text/plain", b, sizeof(b) - 1);
		return true;
	}
	{
		static const char b[] = "not found (try /metrics)\n";

		respond(fd, "404 Not Found", "text/plain", b, sizeof(b) - 1);
	}
	return true;
}

int dpc_ctl_metrics_serve(const char *listen_addr, const char *sock_path, int timeout_ms,
			  unsigned long max_requests, double duration_s, FILE *log, char *err,
			  size_t errlen)
{
	struct sockaddr_storage ss, bound;
	socklen_t sl = 0, bl = sizeof(bound);
	unsigned long served = 0;
	double t0 = now_s();
	char host[INET6_ADDRSTRLEN];
	int fd, rc, one = 1;
	uint16_t port;

	rc = parse_listen(listen_addr, &ss, &sl);
	if (rc == -EPERM) {
		dpc_set_err(err, errlen, "metrics: refusing to listen on %s: loopback addresses only "
			"(127.0.0.0/8, [::1], localhost)", listen_addr);
		return rc;
	}
	if (rc != 0) {
		dpc_set_err(err, errlen, "metrics: bad listen address '%s' (want 127.0.0.1:PORT)",
			     listen_addr);
		return rc;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		rc = -errno;
		dpc_set_err(err, errlen, "metrics: socket: %s", strerror(errno));
		return rc;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, sl) != 0 || listen(fd, 16) != 0 ||
	    getsockname(fd, (struct sockaddr *)&bound, &bl) != 0) {
		rc = -errno;
		dpc_set_err(err, errlen, "metrics: cannot listen on %s: %s", listen_addr, strerror(errno));
		close(fd);
		return rc;
	}
	if (bound.ss_family == AF_INET6) {
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&bound;

		inet_ntop(AF_INET6, &a6->sin6_addr, host, sizeof(host));
		port = ntohs(a6->sin6_port);
		fprintf(log, "listening on [%s]:%u\n", host, port);
	} else {
		struct sockaddr_in *a4 = (struct sockaddr_in *)&bound;

		inet_ntop(AF_INET, &a4->sin_addr, host, sizeof(host));
		port = ntohs(a4->sin_port);
		fprintf(log, "listening on %s:%u\n", host, port);
	}
	fflush(log);
	while (max_requests == 0 || served < max_requests) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int wait_ms = 500, cfd;

		if (duration_s > 0) {
			double left = duration_s - (now_s() - t0);

			if (left <= 0)
				break;
			if (left * 1000 < wait_ms)
				wait_ms = (int)(left * 1000) + 1;
		}
		if (poll(&p, 1, wait_ms) <= 0)
			continue;
		cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
		if (cfd < 0)
			continue;
		if (serve_http(cfd, sock_path, timeout_ms))
			served++;
		close(cfd);
	}
	close(fd);
	return 0;
}
