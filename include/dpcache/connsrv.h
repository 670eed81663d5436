/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file connsrv.h
 * A small server loop for one-request-per-connection protocols (the
 * control socket of dpcached, the Prometheus endpoint of dpcachectl):
 * several connections at once, each with its own state and one overall
 * deadline, over non-blocking sockets and poll(2).  A slow client holds
 * only its own connection, and only until its deadline.
 *
 * The protocol is one callback (struct dpc_srv_ops): it is told when a
 * connection is accepted, when bytes arrive, when the peer stops sending,
 * when the deadline passes, and when no slot is free; it answers by
 * writing into a dpc_buf and saying whether to wait for more bytes, send
 * the answer and close, or close at once.  After an answer is sent the
 * server shuts its side down and reads and drops whatever the peer still
 * sends until the peer closes or the deadline passes (so that a client
 * still writing an over-long request reads its error instead of a reset).
 *
 * Concurrency: one dpc_srv is used by one thread; callbacks run on it.
 * Memory: buffers are allocated at create time (max_conns x in_max), plus
 * the answers the callback builds.  No signal is raised (MSG_NOSIGNAL).
 */
#ifndef DPCACHE_CONNSRV_H
#define DPCACHE_CONNSRV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- a growable output buffer -------------------------------------------------- */

struct dpc_buf {
	char *p;
	size_t len, cap;
	bool oom;       /**< an append failed: the content is incomplete */
};

/** Append formatted text (sets b->oom on allocation failure; then appends nothing more). */
__attribute__((format(printf, 2, 3)))
void dpc_buf_printf(struct dpc_buf *b, const char *fmt, ...);
/** Append @p n bytes. */
void dpc_buf_add(struct dpc_buf *b, const void *p, size_t n);
/** Forget the content, keep the memory. */
void dpc_buf_clear(struct dpc_buf *b);
/** Free the memory (NULL and zeroed buffers are fine). */
void dpc_buf_free(struct dpc_buf *b);

/* ---- the server loop ------------------------------------------------------------ */

enum dpc_srv_event {
	DPC_SRV_ACCEPT,    /**< new connection (in is empty): MORE serves it, REPLY refuses it */
	DPC_SRV_DATA,      /**< new bytes: in[0..len) is all the connection sent so far */
	DPC_SRV_EOF,       /**< the peer shut down its sending side; in holds what it sent */
	DPC_SRV_TIMEOUT,   /**< the deadline passed before a request was complete */
	DPC_SRV_BUSY,      /**< accepted while every slot is taken: REPLY refuses it */
};

enum dpc_srv_action {
	DPC_SRV_MORE,      /**< wait for more bytes (ACCEPT, DATA only) */
	DPC_SRV_REPLY,     /**< send out, then close */
	DPC_SRV_CLOSE,     /**< close without an answer */
};

struct dpc_srv_ops {
	/**
	 * The protocol.  @p fd is the connection (for getsockopt: peer
	 * credentials); @p out starts empty.  Returning MORE after in_max bytes
	 * closes the connection (the protocol must decide by then).
	 */
	enum dpc_srv_action (*event)(void *ctx, int fd, enum dpc_srv_event ev, const char *in,
				     size_t len, struct dpc_buf *out);
	void *ctx;
};

/** Server loop counters, X(name, help); the ctl channel prints them (dpcache/ctl.h). */
#define DPC_SRV_STATS(X) \
	X(accepted,   "Connections accepted") \
	X(answered,   "Answers sent in full (refusals and late errors included)") \
	X(busy,       "Connections refused because every slot was taken") \
	X(timeouts,   "Connections closed at their deadline") \
	X(overflow,   "Connections closed: request longer than the buffer") \
	X(send_fail,  "Answers cut short: the peer stopped reading or went away")

struct dpc_srv_stats {
#define DPC_X_SRV_FIELD(name, help) uint64_t name;
	DPC_SRV_STATS(DPC_X_SRV_FIELD)
#undef DPC_X_SRV_FIELD
};

struct dpc_srv;

/**
 * A server on the listening socket @p lfd (made non-blocking here; the
 * caller keeps owning it), serving at most @p max_conns connections at
 * once, buffering at most @p in_max bytes of request per connection, each
 * connection closed @p timeout_ms after it was accepted at the latest.
 * NULL with errno (EINVAL, ENOMEM).
 */
struct dpc_srv *dpc_srv_create(int lfd, unsigned max_conns, size_t in_max, int timeout_ms,
			       const struct dpc_srv_ops *ops);

/** Deadline for connections accepted from now on (ms, > 0). */
void dpc_srv_set_timeout(struct dpc_srv *s, int timeout_ms);

/**
 * Serve for at most @p wait_ms (less when a deadline comes sooner): accept,
 * read, call the protocol, write, expire.  Returns the answers sent in full
 * in this call, refusals and late errors included (>= 0), or a negative
 * errno if poll(2) failed (not EINTR).
 */
int dpc_srv_poll(struct dpc_srv *s, int wait_ms);

/** Connections open now. */
unsigned dpc_srv_active(const struct dpc_srv *s);
/** A copy of the counters. */
void dpc_srv_get_stats(const struct dpc_srv *s, struct dpc_srv_stats *st);

/** Close every connection and free @p s (NULL is fine); the listener stays open. */
void dpc_srv_free(struct dpc_srv *s);

#endif /* DPCACHE_CONNSRV_H */
