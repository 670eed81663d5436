/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The TCP server: memcached's binary and text protocols over the kernel's
 * TCP (the exception path, exception.c, brings the segments to the
 * kernel), from the same store as UDP.  tcp_threads threads beside the
 * workers, on the control CPUs, each with a listening socket of its own
 * (SO_REUSEPORT: the kernel spreads new connections over them), serve the
 * connections with epoll (edge-triggered); a connection stays with the
 * thread that accepted it:
 *
 *   read      into the connection's input buffer, at most tcp_request_max
 *             plus one read's worth: a request over the limit is answered
 *             (memcached's "too large" answer) and the connection closed,
 *             never buffered (dpc_stream_next() decides from the header or
 *             the command line);
 *   frame     whole requests out of the stream (lib/stream.c);
 *   reads     (get, multi-get, stats, version, flush_all, noop...) run
 *             here through the request handler, lock-free against the
 *             table: the thread is a QSBR reader (registered, one
 *             quiescent state per loop iteration, offline while it sleeps
 *             in epoll_wait), and every value is copied into the output
 *             buffer before that quiescent state;
 *   writes    go to the owner of their key: consecutive binary writes for
 *             one owner (at most DPC_TCP_JOB_REQS) form a job, put in the
 *             owner's inbox (DPC_INBOX_JOB); the worker runs them with its
 *             own handler into the job's answer buffer, sized by
 *             dpc_stream_req.resp_max, and publishes completion with a
 *             release store; this thread polls the pending jobs (every
 *             20 us while any is pending) and appends the answer.  The
 *             connection reads no further request until then, so answers
 *             keep request order;
 *   write     the output buffer; while more than OUT_SOFT bytes wait for
 *             the client, no further request of that connection runs.
 *
 * A connection runs at most reqs_per_event requests in a row, then yields
 * to the others (conn_yields), as memcached's -R.  idle_timeout closes
 * idle connections (idle_kicks); max_connections bounds them (one more is
 * answered "ERROR Too many open connections" and closed:
 * rejected_connections; counted over every thread with one atomic, per
 * connection).  Counters are each thread's own (single writer); the gauge
 * curr_connections is each thread's count, so their sum is the server's.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <rte_lcore.h>
#include <rte_ring.h>

#include <urcu/urcu-qsbr.h>

#include "dp.h"
#include "dpcache/acl.h"
#include "dpcache/hash.h"
#include "dpcache/stream.h"

#define READ_CHUNK (64u << 10)      /* room kept for one read */
#define IN_MIN (16u << 10)          /* first input buffer */
#define OUT_SOFT (256u << 10)       /* pending output that stops new requests */
#define OUT_GROW (64u << 10)
#define BUF_KEEP (256u << 10)       /* larger idle buffers are given back */
#define JOB_OUT_MAX (64ull << 20)   /* answers of one job; larger: one request per job */
#define MAX_EVENTS 64
#define ACCEPT_BURST 64
#define JOB_POLL_NS 20000           /* epoll timeout while a job is pending */
#define IDLE_WAIT_MS 100            /* epoll timeout otherwise (stop flag, idle scan) */
#define BIN_READ_RUN 64u            /* binary reads handed to the handler together */

/* One write job; the owner worker writes out_len, rc, then done (release). */
struct dpc_tcp_job {
	const uint8_t *req;
	uint32_t req_len;
	bool admin_denied;              /* the connection's peer is not in `admin` */
	uint8_t *out;
	uint64_t out_cap;
	uint64_t out_len;
	int rc;
	atomic_uint done;
} __rte_cache_aligned;

struct conn {
	struct dpc_tcp_job job;         /* first: cache-aligned, tagged in the inbox */
	int fd;
	enum dpc_stream_proto proto;
	bool proto_known;
	bool readable, writable;        /* edge-triggered: what the last events said */
	bool eof;                       /* the peer closed its side */
	bool closing;                   /* close once the output is written */
	bool dead;                      /* socket closed; kept until its job is done */
	bool job_busy;                  /* a job is with a worker */
	bool ready;                     /* on the ready list */
	uint8_t *in, *out, *jbuf;
	size_t in_off, in_len, in_cap;
	size_t out_off, out_len, out_cap;
	size_t jbuf_cap;
	uint32_t job_bytes;             /* input the pending job consumes */
	bool admin;                     /* the peer is in `admin` (flush_all, stats reset, verbosity) */
	time_t last_active;
	struct conn *next_ready;
	struct conn *prev, *next;       /* every connection (idle scan) */
	struct conn *wprev, *wnext;     /* connections whose job is out (job poll) */
};

/* One TCP thread: its listening socket (SO_REUSEPORT), epoll set, connections, counters. */
struct tcp_thr {
	struct dpc_tcp_env env;
	struct dpc_tcp *srv;            /* the connection count all threads share */
	struct dpc_worker_stats *st;    /* this thread's counters (single writer) */
	struct dpc_handler h;           /* reads only: h.part is no partition */
	int lfd, epfd;
	unsigned id;
	pthread_t thread;
	bool thread_started;
	struct conn *all;
	struct conn *ready_head, *ready_tail;
	struct conn *waiting;           /* job_busy connections */
	unsigned nconns, jobs_pending;
	time_t next_idle_scan;
	uint8_t listen_tag;             /* epoll data of the listener: &listen_tag */
};

struct dpc_tcp {
	/* connections open over all threads (max_connections); per connection, cold */
	atomic_uint nconns;
	unsigned n;
	struct tcp_thr *thr[];
};

/* ---- the worker side ------------------------------------------------------------- */

static int job_full(struct dpc_wr *w)
{
	(void)w;
	return -ENOMEM; /* sized by resp_max: not reached */
}

void dpc_tcp_job_run(struct dpc_handler *h, struct dpc_worker_stats *st, void *arg)
{
	struct dpc_tcp_job *j = arg;
	struct dpc_wr wr = { .p = j->out, .end = j->out + j->out_cap, .next = job_full };
	bool denied = h->admin_denied;

	h->admin_denied = j->admin_denied; /* the connection's, not the last datagram's */
	j->rc = dpc_handler_process(h, j->req, j->req_len, &wr);
	h->admin_denied = denied;
	j->out_len = (uint64_t)(wr.p - j->out);
	dpc_stat_inc(st, tcp_jobs_run);
	/* pairs with the TCP thread's acquire load of done: out, out_len, rc are visible */
	atomic_store_explicit(&j->done, 1, memory_order_release);
}

/* ---- buffers ----------------------------------------------------------------------- */

static int grow(uint8_t **buf, size_t *cap, size_t need)
{
	size_t ncap = *cap ? *cap : IN_MIN;
	uint8_t *nb;

	while (ncap < need)
		ncap *= 2;
	if (ncap == *cap)
		return 0;
	nb = realloc(*buf, ncap);
	if (nb == NULL)
		return -ENOMEM;
	*buf = nb;
	*cap = ncap;
	return 0;
}

static size_t req_max(const struct tcp_thr *t)
{
	return (size_t)__atomic_load_n(&t->env.cfg->tcp_request_max, __ATOMIC_RELAXED);
}

/* Largest output of one request batch: a text multi-get of many large values is refused past it. */
static size_t out_max(const struct tcp_thr *t)
{
	size_t m = 4 * req_max(t);

	return m < JOB_OUT_MAX ? (size_t)JOB_OUT_MAX : m;
}

/* dpc_wr.next() over the connection's output buffer. */
struct out_wr {
	struct dpc_wr wr;
	struct conn *c;
	size_t limit;
};

static int out_next(struct dpc_wr *w)
{
	struct out_wr *o = (struct out_wr *)w;
	struct conn *c = o->c;

	c->out_len = (size_t)(w->p - c->out);
	if (c->out_len + OUT_GROW > o->limit ||
	    grow(&c->out, &c->out_cap, c->out_len + OUT_GROW) != 0)
		return -ENOMEM;
	w->p = c->out + c->out_len;
	w->end = c->out + c->out_cap;
	return 0;
}

static int out_put(struct conn *c, const void *p, size_t n)
{
	if (grow(&c->out, &c->out_cap, c->out_len + n) != 0)
		return -ENOMEM;
	memcpy(c->out + c->out_len, p, n);
	c->out_len += n;
	return 0;
}

/* ---- connection life -------------------------------------------------------------- */

static void wait_add(struct tcp_thr *t, struct conn *c)
{
	c->wprev = NULL;
	c->wnext = t->waiting;
	if (t->waiting != NULL)
		t->waiting->wprev = c;
	t->waiting = c;
	t->jobs_pending++;
}

static void wait_del(struct tcp_thr *t, struct conn *c)
{
	if (c->wprev != NULL)
		c->wprev->wnext = c->wnext;
	else
		t->waiting = c->wnext;
	if (c->wnext != NULL)
		c->wnext->wprev = c->wprev;
	c->wprev = c->wnext = NULL;
	c->job_busy = false;
	t->jobs_pending--;
}

static void make_ready(struct tcp_thr *t, struct conn *c)
{
	if (c->ready || c->dead)
		return;
	c->ready = true;
	c->next_ready = NULL;
	if (t->ready_tail != NULL)
		t->ready_tail->next_ready = c;
	else
		t->ready_head = c;
	t->ready_tail = c;
}

static void conn_free(struct tcp_thr *t, struct conn *c)
{
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		t->all = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	free(c->in);
	free(c->out);
	free(c->jbuf);
	free(c);
}

/* Close the socket now; the memory goes when no worker holds a job of it. */
static void conn_close(struct tcp_thr *t, struct conn *c)
{
	if (c->fd >= 0) {
		close(c->fd);
		c->fd = -1;
		t->nconns--;
		atomic_fetch_sub_explicit(&t->srv->nconns, 1, memory_order_relaxed);
		dpc_stat_set(t->st, curr_connections, t->nconns);
	}
	c->dead = true;
	if (!c->job_busy && !c->ready)
		conn_free(t, c);
}

static void accept_all(struct tcp_thr *t)
{
	static const char busy[] = "ERROR Too many open connections\r\n";
	struct dpc_worker_stats *st = t->st;

	for (unsigned i = 0; i < ACCEPT_BURST; i++) {
		struct sockaddr_in peer;
		socklen_t plen = sizeof(peer);
		int fd = accept4(t->lfd, (struct sockaddr *)&peer, &plen, SOCK_NONBLOCK | SOCK_CLOEXEC);
		int one = 1;
		struct epoll_event ev;
		struct conn *c;
		uint32_t ip;

		if (fd < 0)
			return; /* EAGAIN, or an error the next event repeats */
		/* the UDP path's allow list applies to TCP too (lists read as a QSBR reader) */
		ip = plen >= sizeof(peer) && peer.sin_family == AF_INET ? ntohl(peer.sin_addr.s_addr) : 0;
		if (!dpc_acl_match(__atomic_load_n(&t->env.cfg->allow, __ATOMIC_ACQUIRE), ip)) {
			close(fd); /* nothing is sent to a refused source */
			dpc_stat_inc(st, conn_refused);
			continue;
		}
		/* counted over every thread: taken first, given back if over the limit */
		if (atomic_fetch_add_explicit(&t->srv->nconns, 1, memory_order_relaxed) >=
		    __atomic_load_n(&t->env.cfg->max_connections, __ATOMIC_RELAXED)) {
			/* memcached's answer at maxconns; best effort, then close */
			ssize_t wn = write(fd, busy, sizeof(busy) - 1);
			(void)wn;
			close(fd);
			atomic_fetch_sub_explicit(&t->srv->nconns, 1, memory_order_relaxed);
			dpc_stat_inc(st, rejected_connections);
			continue;
		}
		c = aligned_alloc(RTE_CACHE_LINE_SIZE, sizeof(*c));
		if (c == NULL) {
			close(fd);
			atomic_fetch_sub_explicit(&t->srv->nconns, 1, memory_order_relaxed);
			dpc_stat_inc(st, rejected_connections);
			continue;
		}
		memset(c, 0, sizeof(*c));
		c->fd = fd;
		c->admin = dpc_acl_match(__atomic_load_n(&t->env.cfg->admin, __ATOMIC_ACQUIRE), ip);
		c->readable = c->writable = true;
		c->last_active = time(NULL);
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
		ev.data.ptr = c;
		if (epoll_ctl(t->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
			close(fd);
			free(c);
			atomic_fetch_sub_explicit(&t->srv->nconns, 1, memory_order_relaxed);
			dpc_stat_inc(st, rejected_connections);
			continue;
		}
		c->next = t->all;
		if (t->all != NULL)
			t->all->prev = c;
		t->all = c;
		t->nconns++;
		dpc_stat_set(st, curr_connections, t->nconns);
		dpc_stat_inc(st, total_connections);
		make_ready(t, c); /* data may already be there */
	}
}

/* ---- I/O --------------------------------------------------------------------------- */

/* Read what fits; false on a connection error (closed by the caller). */
static bool conn_read(struct tcp_thr *t, struct conn *c)
{
	size_t in_max = req_max(t) + READ_CHUNK;

	while (c->readable && !c->eof) {
		if (c->in_cap - c->in_len < READ_CHUNK / 4 && !c->job_busy) {
			/* compact, then grow; never while a job points into the buffer */
			if (c->in_off > 0) {
				memmove(c->in, c->in + c->in_off, c->in_len - c->in_off);
				c->in_len -= c->in_off;
				c->in_off = 0;
			}
			if (c->in_cap - c->in_len < READ_CHUNK / 4 && c->in_cap < in_max &&
			    grow(&c->in, &c->in_cap, c->in_cap + 1) != 0)
				return false;
		}
		size_t room = c->in_cap - c->in_len;
		if (room == 0)
			return true; /* full: the framer decides (too large) or a job must finish */
		ssize_t n = read(c->fd, c->in + c->in_len, room);
		if (n > 0) {
			c->in_len += (size_t)n;
			dpc_stat_add(t->st, tcp_bytes_read, n);
			c->last_active = time(NULL);
			continue;
		}
		if (n == 0) {
			c->eof = true;
			return true;
		}
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			c->readable = false;
			return true;
		}
		if (errno != EINTR)
			return false;
	}
	return true;
}

/* Write what the socket takes; false on a connection error. */
static bool conn_flush(struct tcp_thr *t, struct conn *c)
{
	while (c->writable && c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
		if (n > 0) {
			c->out_off += (size_t)n;
			dpc_stat_add(t->st, tcp_bytes_written, n);
			c->last_active = time(NULL);
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			c->writable = false;
			break;
		}
		if (n < 0 && errno == EINTR)
			continue;
		return false;
	}
	if (c->out_off == c->out_len) {
		c->out_off = c->out_len = 0;
		if (c->out_cap > BUF_KEEP) {
			free(c->out);
			c->out = NULL;
			c->out_cap = 0;
		}
	}
	return true;
}

/* ---- requests ---------------------------------------------------------------------- */

/* Reads (or refused requests) at c->in + c->in_off, @len bytes, through the handler here. */
static int run_here(struct tcp_thr *t, struct conn *c, size_t len)
{
	struct out_wr o = { .c = c, .limit = out_max(t) };
	size_t before = c->out_len;
	int rc;

	o.wr.p = c->out + c->out_len;
	o.wr.end = c->out + c->out_cap;
	o.wr.next = out_next;
	t->h.admin_denied = !c->admin;
	rc = dpc_handler_process(&t->h, c->in + c->in_off, len, &o.wr);
	if (c->out != NULL)
		c->out_len = (size_t)(o.wr.p - c->out);
	if (rc == -ENOMEM) {
		/* more answer than one batch may hold (a multi-get of many large values) */
		static const char txt[] = "SERVER_ERROR out of memory writing get response\r\n";
		c->out_len = before;
		(void)out_put(c, txt, sizeof(txt) - 1);
		c->closing = true;
	}
	return 0;
}

/*
 * Hand the write at the front of the input to its owner, with the binary
 * writes for the same owner right behind it.  0 (sent, the connection
 * waits), or -EAGAIN (the owner's inbox is full: try again later).
 */
static int submit_job(struct tcp_thr *t, struct conn *c, const struct dpc_stream_req *first)
{
	unsigned nparts = t->env.nworkers;
	unsigned owner = dpc_hash_part(dpc_hash(first->key, first->keylen), nparts);
	size_t off = first->len, avail = c->in_len - c->in_off, rmax = req_max(t);
	uint64_t resp = first->resp_max;
	unsigned nreq = 1;
	struct dpc_tcp_job *j = &c->job;

	if (c->proto == DPC_STREAM_BIN) {
		while (nreq < DPC_TCP_JOB_REQS && !first->quit) {
			struct dpc_stream_req r;
			int n = dpc_stream_next(c->proto, c->in + c->in_off + off, avail - off, rmax,
						t->h.max_value, &r);
			if (n <= 0 || !r.write || r.quit ||
			    dpc_hash_part(dpc_hash(r.key, r.keylen), nparts) != owner ||
			    resp + r.resp_max > JOB_OUT_MAX)
				break;
			off += (size_t)n;
			resp += r.resp_max;
			nreq++;
		}
	}
	if (resp > c->jbuf_cap && grow(&c->jbuf, &c->jbuf_cap, (size_t)resp) != 0)
		return -ENOMEM;
	j->req = c->in + c->in_off;
	j->req_len = (uint32_t)off;
	j->admin_denied = !c->admin;
	j->out = c->jbuf;
	j->out_cap = resp;
	j->out_len = 0;
	j->rc = 0;
	atomic_store_explicit(&j->done, 0, memory_order_relaxed);
	/* the ring's enqueue is a release: the worker sees the job filled in */
	if (rte_ring_mp_enqueue(t->env.rings[owner], dpc_inbox_tag(j, DPC_INBOX_JOB)) != 0) {
		dpc_stat_inc(t->st, tcp_ring_full);
		return -EAGAIN;
	}
	dpc_stat_inc(t->st, tcp_jobs);
	c->job_busy = true;
	c->job_bytes = (uint32_t)off;
	wait_add(t, c);
	return 0;
}

/* The owner answered: append its answer, consume the requests. */
static void finish_job(struct tcp_thr *t, struct conn *c)
{
	struct dpc_tcp_job *j = &c->job;

	wait_del(t, c);
	if (j->rc == -ENOMEM || out_put(c, j->out, (size_t)j->out_len) != 0) {
		static const char txt[] = "SERVER_ERROR out of memory\r\n";
		(void)out_put(c, txt, sizeof(txt) - 1);
		c->closing = true;
	}
	c->in_off += c->job_bytes;
	c->job_bytes = 0;
	if (c->jbuf_cap > BUF_KEEP) {
		free(c->jbuf);
		c->jbuf = NULL;
		c->jbuf_cap = 0;
	}
}

/*
 * Run the requests waiting in the connection's input, up to
 * reqs_per_event.  Returns false when the connection must be closed now.
 */
static bool conn_run(struct tcp_thr *t, struct conn *c)
{
	unsigned budget = __atomic_load_n(&t->env.cfg->reqs_per_event, __ATOMIC_RELAXED);
	unsigned done = 0;
	size_t rmax = req_max(t);

	if (c->job_busy) {
		if (!atomic_load_explicit(&c->job.done, memory_order_acquire))
			return true; /* polled again by the loop */
		finish_job(t, c);
	}
	while (!c->closing) {
		struct dpc_stream_req r;
		size_t avail;
		int n;

		if (c->out_len - c->out_off > OUT_SOFT) {
			if (!conn_flush(t, c))
				return false;
			if (c->out_len - c->out_off > OUT_SOFT)
				return true; /* EPOLLOUT brings it back */
		}
		avail = c->in_len - c->in_off;
		if (avail > 0 && !c->proto_known) {
			/* memcached decides once per connection, by the first byte */
			c->proto = c->in[c->in_off] == DPC_MC_REQ_MAGIC ? DPC_STREAM_BIN : DPC_STREAM_TEXT;
			c->proto_known = true;
		}
		n = avail == 0 ? 0 :
		    dpc_stream_next(c->proto, c->in + c->in_off, avail, rmax, t->h.max_value, &r);
		if (n == 0) {
			size_t had = c->in_len;
			if (!conn_read(t, c))
				return false;
			if (c->in_len != had)
				continue;
			if (c->eof)
				c->closing = true; /* nothing more will come */
			break;
		}
		if (n < 0) {
			uint8_t ans[DPC_STREAM_ERR_MAX];
			if (n == DPC_STREAM_TOO_LARGE) {
				size_t k = dpc_stream_too_large(c->proto, c->in + c->in_off, avail, ans);
				(void)out_put(c, ans, k);
				dpc_stat_inc(t->st, conn_too_large);
			}
			c->closing = true; /* bad magic: memcached closes too */
			break;
		}
		if (r.write) {
			int rc = submit_job(t, c, &r);
			if (rc == -EAGAIN) {
				make_ready(t, c); /* the owner's inbox is full: again next round */
				break;
			}
			if (rc != 0)
				return false;
			return conn_flush(t, c); /* answers come with the job */
		}
		if (c->proto == DPC_STREAM_TEXT && !dpc_dgram_is_text(c->in[c->in_off])) {
			/* the handler drops a datagram of binary junk; on a text connection
			 * memcached answers the line as an unknown command */
			static const char err[] = "ERROR\r\n";
			(void)out_put(c, err, sizeof(err) - 1);
			dpc_stat_inc(t->st, cmd_unknown);
		} else if (c->proto == DPC_STREAM_BIN && !r.quit) {
			/* consecutive binary reads together: a multi-get is looked up in bulk */
			size_t len = (size_t)n;
			for (unsigned k = 1; k < BIN_READ_RUN && done + k < budget; k++, done++) {
				struct dpc_stream_req r2;
				int m = dpc_stream_next(c->proto, c->in + c->in_off + len, avail - len, rmax,
							t->h.max_value, &r2);
				if (m <= 0 || r2.write || r2.quit)
					break;
				len += (size_t)m;
			}
			n = (int)len;
			run_here(t, c, len);
		} else {
			run_here(t, c, (size_t)n);
		}
		c->in_off += (size_t)n;
		if (r.quit)
			c->closing = true;
		if (++done >= budget) {
			dpc_stat_inc(t->st, conn_yields);
			make_ready(t, c);
			break;
		}
	}
	if (!conn_flush(t, c))
		return false;
	if (c->in_off == c->in_len) {
		c->in_off = c->in_len = 0;
		if (c->in_cap > BUF_KEEP) {
			free(c->in);
			c->in = NULL;
			c->in_cap = 0;
		}
	}
	return !(c->closing && c->out_off == c->out_len);
}

/* ---- the loop ---------------------------------------------------------------------- */

static void idle_scan(struct tcp_thr *t, time_t now)
{
	uint32_t limit = __atomic_load_n(&t->env.cfg->idle_timeout, __ATOMIC_RELAXED);
	struct conn *c, *next;

	if (limit == 0)
		return;
	for (c = t->all; c != NULL; c = next) {
		next = c->next;
		if (!c->dead && !c->job_busy && now - c->last_active >= (time_t)limit) {
			dpc_stat_inc(t->st, idle_kicks);
			conn_close(t, c);
		}
	}
}

/* Jobs the workers finished: their connections run again. */
static void poll_jobs(struct tcp_thr *t)
{
	struct conn *c, *next;

	for (c = t->waiting; c != NULL; c = next) {
		next = c->wnext;
		if (!atomic_load_explicit(&c->job.done, memory_order_acquire))
			continue;
		if (c->dead) {
			wait_del(t, c);
			if (!c->ready)
				conn_free(t, c); /* else the ready list frees it */
		} else {
			make_ready(t, c);
		}
	}
}

static void wait_events(struct tcp_thr *t)
{
	struct epoll_event ev[MAX_EVENTS];
	struct timespec ts = { 0, 0 };
	int n;

	if (t->ready_head == NULL) {
		if (t->jobs_pending > 0)
			ts.tv_nsec = JOB_POLL_NS;
		else
			ts.tv_nsec = IDLE_WAIT_MS * 1000000L;
	}
	/* holding no item view here: grace periods need not wait for us while we sleep */
	urcu_qsbr_thread_offline();
	n = epoll_pwait2(t->epfd, ev, MAX_EVENTS, &ts, NULL);
	urcu_qsbr_thread_online();
	for (int i = 0; i < n; i++) {
		struct conn *c = ev[i].data.ptr;

		if (ev[i].data.ptr == &t->listen_tag) {
			accept_all(t);
			continue;
		}
		if (ev[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
			c->readable = true;
		if (ev[i].events & (EPOLLOUT | EPOLLHUP | EPOLLERR))
			c->writable = true;
		make_ready(t, c);
	}
}

static void *tcp_thread(void *arg)
{
	struct tcp_thr *t = arg;

	urcu_qsbr_register_thread();
	while (!atomic_load_explicit(t->env.stop, memory_order_relaxed)) {
		struct conn *c, *list;
		time_t now;

		wait_events(t);
		if (t->jobs_pending > 0)
			poll_jobs(t);
		/* each ready connection runs once per round; yielders queue up again */
		list = t->ready_head;
		t->ready_head = t->ready_tail = NULL;
		while (list != NULL) {
			c = list;
			list = c->next_ready;
			c->ready = false;
			if (c->dead) {
				if (!c->job_busy)
					conn_free(t, c);
				continue;
			}
			if (!conn_run(t, c))
				conn_close(t, c);
		}
		/* every answer of this round is copied out: item views are dead */
		urcu_qsbr_quiescent_state();
		now = time(NULL);
		if (now >= t->next_idle_scan) {
			t->next_idle_scan = now + 1;
			idle_scan(t, now);
		}
	}
	urcu_qsbr_unregister_thread();
	return NULL;
}

/* ---- life cycle -------------------------------------------------------------------- */

static void thr_free(struct tcp_thr *t)
{
	if (t == NULL)
		return;
	while (t->all != NULL) {
		struct conn *c = t->all;
		if (c->fd >= 0)
			close(c->fd);
		conn_free(t, c);
	}
	if (t->epfd >= 0)
		close(t->epfd);
	if (t->lfd >= 0)
		close(t->lfd);
	free(t);
}

static struct tcp_thr *thr_create(struct dpc_tcp *srv, const struct dpc_tcp_env *env, unsigned id)
{
	struct tcp_thr *t = calloc(1, sizeof(*t));
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct epoll_event ev = { .events = EPOLLIN };
	int one = 1, err;

	if (t == NULL)
		return NULL;
	t->env = *env;
	t->srv = srv;
	t->id = id;
	t->st = env->st[id];
	t->lfd = t->epfd = -1;
	t->h.cache = env->cache;
	t->h.part = env->nworkers; /* no partition: writes never run here */
	t->h.max_value = (uint32_t)env->cfg->max_value;
	t->h.stats = t->st;
	t->h.all_stats = env->all_stats;
	t->h.all_lat = env->all_lat;
	t->h.nstats = env->nstats;
	t->h.nworkers = env->nworkers;
	t->h.version = DPC_MC_VERSION;

	t->lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (t->lfd < 0)
		goto fail;
	(void)setsockopt(t->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* one listener per thread on the same address: the kernel spreads connections */
	if (env->cfg->tcp_threads > 1 &&
	    setsockopt(t->lfd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0)
		goto fail;
	sa.sin_addr.s_addr = env->cfg->address;
	sa.sin_port = htons((uint16_t)env->cfg->port);
	if (bind(t->lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(t->lfd, 1024) != 0)
		goto fail;
	t->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (t->epfd < 0)
		goto fail;
	ev.data.ptr = &t->listen_tag;
	if (epoll_ctl(t->epfd, EPOLL_CTL_ADD, t->lfd, &ev) != 0)
		goto fail;
	return t;
fail:
	err = errno;
	thr_free(t);
	errno = err;
	return NULL;
}

struct dpc_tcp *dpc_tcp_create(const struct dpc_tcp_env *env)
{
	unsigned n = env->cfg->tcp_threads ? (unsigned)env->cfg->tcp_threads : 1;
	struct dpc_tcp *srv = calloc(1, sizeof(*srv) + n * sizeof(srv->thr[0]));
	int err;

	if (srv == NULL)
		return NULL;
	atomic_init(&srv->nconns, 0);
	for (srv->n = 0; srv->n < n; srv->n++) {
		srv->thr[srv->n] = thr_create(srv, env, srv->n);
		if (srv->thr[srv->n] == NULL)
			goto fail;
	}
	return srv;
fail:
	err = errno;
	dpc_tcp_free(srv);
	errno = err;
	return NULL;
}

int dpc_tcp_start(struct dpc_tcp *srv)
{
	for (unsigned i = 0; i < srv->n; i++) {
		struct tcp_thr *t = srv->thr[i];
		char name[32]; /* the thread name keeps 15 characters */
		int rc;

		snprintf(name, sizeof(name), "dpc-tcp%u", i);
		rc = rte_ctrl_thread_create(&t->thread, name, NULL, tcp_thread, t);
		if (rc != 0)
			return -rc;
		t->thread_started = true;
	}
	return 0;
}

void dpc_tcp_join(struct dpc_tcp *srv)
{
	if (srv == NULL)
		return;
	for (unsigned i = 0; i < srv->n; i++) {
		struct tcp_thr *t = srv->thr[i];
		if (t->thread_started) {
			pthread_join(t->thread, NULL);
			t->thread_started = false;
		}
	}
}

void dpc_tcp_free(struct dpc_tcp *srv)
{
	if (srv == NULL)
		return;
	for (unsigned i = 0; i < srv->n; i++)
		thr_free(srv->thr[i]);
	free(srv);
}
