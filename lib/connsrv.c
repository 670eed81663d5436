/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * One-request-per-connection server loop (see dpcache/connsrv.h): a fixed
 * table of connections, each READ -> WRITE -> DRAIN under one deadline,
 * driven by poll(2) over non-blocking sockets.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "dpcache/connsrv.h"

/* ---- dpc_buf ------------------------------------------------------------------------ */

static bool buf_reserve(struct dpc_buf *b, size_t more)
{
	size_t ncap;
	char *np;

	if (b->oom)
		return false;
	if (b->cap - b->len > more)
		return true;
	ncap = b->cap ? b->cap : 4096;
	while (ncap - b->len <= more) {
		if (ncap > ((size_t)-1) / 2) {
			b->oom = true;
			return false;
		}
		ncap *= 2;
	}
	np = realloc(b->p, ncap);
	if (np == NULL) {
		b->oom = true;
		return false;
	}
	b->p = np;
	b->cap = ncap;
	return true;
}

void dpc_buf_printf(struct dpc_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->oom = true;
		return;
	}
	if (!buf_reserve(b, (size_t)n + 1))
		return;
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void dpc_buf_add(struct dpc_buf *b, const void *p, size_t n)
{
	if (n == 0 || !buf_reserve(b, n + 1))
		return;
	memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void dpc_buf_clear(struct dpc_buf *b)
{
	b->len = 0;
	b->oom = false;
}

void dpc_buf_free(struct dpc_buf *b)
{
	if (b == NULL)
		return;
	free(b->p);
	memset(b, 0, sizeof(*b));
}

/* ---- the loop ------------------------------------------------------------------------ */

enum conn_phase {
	C_FREE,
	C_READ,     /* gathering the request */
	C_WRITE,    /* sending the answer */
	C_DRAIN,    /* answer sent, our side shut down: dropping what the peer still sends */
};

struct conn {
	int fd;
	enum conn_phase phase;
	int64_t deadline;      /* ms, CLOCK_MONOTONIC */
	char *in;              /* in_max + 1 bytes (NUL after the data, for the protocol's ease) */
	size_t inlen;
	struct dpc_buf out;
	size_t off;            /* of out already sent */
};

struct dpc_srv {
	int lfd;
	unsigned max_conns, active;
	size_t in_max;
	int timeout_ms;
	struct dpc_srv_ops ops;
	struct conn *c;
	struct pollfd *pfd;    /* 1 + max_conns */
	unsigned *pconn;       /* pfd[i + 1] is connection pconn[i] */
	struct dpc_srv_stats st;
};

/* At most this many accepts per call, so that a connection storm cannot starve the others. */
#define SRV_ACCEPT_BURST 32u

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct dpc_srv *dpc_srv_create(int lfd, unsigned max_conns, size_t in_max, int timeout_ms,
			       const struct dpc_srv_ops *ops)
{
	struct dpc_srv *s;
	unsigned i;
	int fl;

	if (lfd < 0 || max_conns == 0 || max_conns > 65536 || in_max == 0 || timeout_ms <= 0 ||
	    ops == NULL || ops->event == NULL) {
		errno = EINVAL;
		return NULL;
	}
	fl = fcntl(lfd, F_GETFL);
	if (fl < 0 || fcntl(lfd, F_SETFL, fl | O_NONBLOCK) != 0)
		return NULL;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NULL;
	s->lfd = lfd;
	s->max_conns = max_conns;
	s->in_max = in_max;
	s->timeout_ms = timeout_ms;
	s->ops = *ops;
	s->c = calloc(max_conns, sizeof(*s->c));
	s->pfd = calloc(max_conns + 1, sizeof(*s->pfd));
	s->pconn = calloc(max_conns, sizeof(*s->pconn));
	if (s->c == NULL || s->pfd == NULL || s->pconn == NULL)
		goto err;
	for (i = 0; i < max_conns; i++) {
		s->c[i].fd = -1;
		s->c[i].in = malloc(in_max + 1);
		if (s->c[i].in == NULL)
			goto err;
	}
	return s;
err:
	dpc_srv_free(s);
	errno = ENOMEM;
	return NULL;
}

void dpc_srv_set_timeout(struct dpc_srv *s, int timeout_ms)
{
	if (timeout_ms > 0)
		s->timeout_ms = timeout_ms;
}

unsigned dpc_srv_active(const struct dpc_srv *s)
{
	return s->active;
}

void dpc_srv_get_stats(const struct dpc_srv *s, struct dpc_srv_stats *st)
{
	*st = s->st;
}

static void conn_close(struct dpc_srv *s, struct conn *c)
{
	close(c->fd);
	c->fd = -1;
	c->phase = C_FREE;
	c->inlen = 0;
	c->off = 0;
	dpc_buf_clear(&c->out);
	s->active--;
}

/*
 * One non-blocking send of whatever fits: for refusals and late errors,
 * never waited on.  True if the whole answer went out.
 */
static bool send_once(int fd, const struct dpc_buf *out)
{
	return out->len > 0 && !out->oom &&
	       send(fd, out->p, out->len, MSG_NOSIGNAL | MSG_DONTWAIT) == (ssize_t)out->len;
}

/* Send what the socket takes now; the answer is complete -> shut down our side and drain. */
static int conn_write(struct dpc_srv *s, struct conn *c)
{
	while (c->off < c->out.len) {
		ssize_t n = send(c->fd, c->out.p + c->off, c->out.len - c->off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n > 0) {
			c->off += (size_t)n;
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			return 0;
		s->st.send_fail++;
		conn_close(s, c);
		return 0;
	}
	s->st.answered++;
	shutdown(c->fd, SHUT_WR);
	c->phase = C_DRAIN;
	return 1;
}

/* Act on the protocol's decision; returns answers completed (0 or 1). */
static int conn_act(struct dpc_srv *s, struct conn *c, enum dpc_srv_action a)
{
	switch (a) {
	case DPC_SRV_MORE:
		if (c->phase == C_READ && c->inlen >= s->in_max) {
			s->st.overflow++;
			conn_close(s, c);
		}
		return 0;
	case DPC_SRV_REPLY:
		if (c->out.oom) {
			static const char msg[] = "out of memory\n";

			dpc_buf_clear(&c->out);
			dpc_buf_add(&c->out, msg, sizeof(msg) - 1);
		}
		c->phase = C_WRITE;
		c->off = 0;
		return conn_write(s, c);
	case DPC_SRV_CLOSE:
		break;
	}
	conn_close(s, c);
	return 0;
}

static enum dpc_srv_action call(struct dpc_srv *s, struct conn *c, enum dpc_srv_event ev)
{
	c->in[c->inlen] = '\0';
	dpc_buf_clear(&c->out);
	return s->ops.event(s->ops.ctx, c->fd, ev, c->in, c->inlen, &c->out);
}

static int conn_read(struct dpc_srv *s, struct conn *c)
{
	ssize_t n = recv(c->fd, c->in + c->inlen, s->in_max - c->inlen, MSG_DONTWAIT);

	if (n > 0) {
		c->inlen += (size_t)n;
		return conn_act(s, c, call(s, c, DPC_SRV_DATA));
	}
	if (n == 0)
		return conn_act(s, c, call(s, c, DPC_SRV_EOF));
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
		return 0;
	conn_close(s, c);
	return 0;
}

static void conn_drain(struct dpc_srv *s, struct conn *c)
{
	char sink[16384];
	unsigned i;

	/* Bounded per wake-up: a peer that floods us shares the thread with the others. */
	for (i = 0; i < 64; i++) {
		ssize_t n = recv(c->fd, sink, sizeof(sink), MSG_DONTWAIT);

		if (n > 0)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			return;
		break;
	}
	if (i < 64)
		conn_close(s, c);
}

/* The deadline passed; returns answers completed (a late error sent whole counts). */
static int conn_expire(struct dpc_srv *s, struct conn *c)
{
	int answered = 0;

	switch (c->phase) {
	case C_READ:
		s->st.timeouts++;
		if (call(s, c, DPC_SRV_TIMEOUT) == DPC_SRV_REPLY && send_once(c->fd, &c->out)) {
			s->st.answered++;
			answered = 1;
		}
		break;
	case C_WRITE:
		s->st.timeouts++;
		s->st.send_fail++;
		break;
	case C_DRAIN:
	case C_FREE:
		break;
	}
	conn_close(s, c);
	return answered;
}

static int accept_some(struct dpc_srv *s, int64_t now)
{
	int answered = 0;
	unsigned n, i;

	for (n = 0; n < SRV_ACCEPT_BURST; n++) {
		int fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct conn *c = NULL;

		if (fd < 0)
			break;
		s->st.accepted++;
		for (i = 0; i < s->max_conns; i++) {
			if (s->c[i].phase == C_FREE) {
				c = &s->c[i];
				break;
			}
		}
		if (c == NULL) {
			struct dpc_buf out = { 0 };

			s->st.busy++;
			if (s->ops.event(s->ops.ctx, fd, DPC_SRV_BUSY, "", 0, &out) == DPC_SRV_REPLY &&
			    send_once(fd, &out)) {
				s->st.answered++;
				answered++;
			}
			dpc_buf_free(&out);
			close(fd);
			/* Look at the open connections (some may be closing) before the next accept. */
			break;
		}
		c->fd = fd;
		c->phase = C_READ;
		c->inlen = 0;
		c->deadline = now + s->timeout_ms;
		s->active++;
		answered += conn_act(s, c, call(s, c, DPC_SRV_ACCEPT));
	}
	return answered;
}

int dpc_srv_poll(struct dpc_srv *s, int wait_ms)
{
	int64_t now = now_ms(), soonest = now + (wait_ms > 0 ? wait_ms : 0);
	unsigned i, np = 1;
	int answered = 0, r;

	s->pfd[0] = (struct pollfd){ .fd = s->lfd, .events = POLLIN };
	for (i = 0; i < s->max_conns; i++) {
		struct conn *c = &s->c[i];

		if (c->phase == C_FREE)
			continue;
		if (c->deadline < soonest)
			soonest = c->deadline;
		s->pfd[np] = (struct pollfd){ .fd = c->fd,
					      .events = c->phase == C_WRITE ? POLLOUT : POLLIN };
		s->pconn[np - 1] = i;
		np++;
	}
	r = poll(s->pfd, np, soonest > now ? (int)(soonest - now) : 0);
	if (r < 0)
		return errno == EINTR ? 0 : -errno;
	now = now_ms();
	for (i = 1; i < np && r > 0; i++) {
		struct conn *c = &s->c[s->pconn[i - 1]];
		short rev = s->pfd[i].revents;

		if (rev == 0)
			continue;
		if (c->phase == C_READ)
			answered += conn_read(s, c);
		else if (c->phase == C_WRITE)
			answered += conn_write(s, c);
		else if (c->phase == C_DRAIN)
			conn_drain(s, c);
	}
	for (i = 0; i < s->max_conns; i++)
		if (s->c[i].phase != C_FREE && s->c[i].deadline <= now)
			answered += conn_expire(s, &s->c[i]);
	if (s->pfd[0].revents & POLLIN)
		answered += accept_some(s, now);
	return answered;
}

void dpc_srv_free(struct dpc_srv *s)
{
	unsigned i;

	if (s == NULL)
		return;
	for (i = 0; s->c != NULL && i < s->max_conns; i++) {
		if (s->c[i].phase != C_FREE)
			close(s->c[i].fd);
		free(s->c[i].in);
		dpc_buf_free(&s->c[i].out);
	}
	free(s->c);
	free(s->pfd);
	free(s->pconn);
	free(s);
}
