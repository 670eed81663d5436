/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dpcache-bench transport over kernel UDP sockets: one unconnected socket,
 * bursts sent with sendmmsg() (destination per datagram: server and
 * partition port) and received with recvmmsg(MSG_DONTWAIT).  Buffers are
 * allocated once; nothing is allocated per datagram.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench.h"

#define UDP_RX_BUF 2048u

struct tp_udp {
	struct bench_tp tp;
	int fd;
	unsigned nservers, nparts;
	struct sockaddr_in *dst;             /* [server * nparts + part] */
	uint8_t txbuf[BENCH_BURST][BENCH_REQ_MAX];
	struct mmsghdr txm[BENCH_BURST];
	struct iovec txiov[BENCH_BURST];
	uint8_t rxbuf[BENCH_BURST][UDP_RX_BUF];
	struct mmsghdr rxm[BENCH_BURST];
	struct iovec rxiov[BENCH_BURST];
};

static unsigned udp_tx_get(struct bench_tp *tp, struct bench_txd *d, unsigned n)
{
	struct tp_udp *u = (struct tp_udp *)tp;

	if (n > BENCH_BURST)
		n = BENCH_BURST;
	for (unsigned i = 0; i < n; i++) {
		d[i].buf = u->txbuf[i];
		d[i].cap = BENCH_REQ_MAX;
		d[i].len = 0;
		d[i].server = 0;
		d[i].part = 0;
	}
	return n;
}

static unsigned udp_tx_send(struct bench_tp *tp, struct bench_txd *d, unsigned n)
{
	struct tp_udp *u = (struct tp_udp *)tp;
	unsigned done = 0, tries = 0;

	for (unsigned i = 0; i < n; i++) {
		struct sockaddr_in *sa = &u->dst[d[i].server * u->nparts + d[i].part];

		u->txiov[i].iov_base = d[i].buf;
		u->txiov[i].iov_len = d[i].len;
		memset(&u->txm[i].msg_hdr, 0, sizeof(u->txm[i].msg_hdr));
		u->txm[i].msg_hdr.msg_name = sa;
		u->txm[i].msg_hdr.msg_namelen = sizeof(*sa);
		u->txm[i].msg_hdr.msg_iov = &u->txiov[i];
		u->txm[i].msg_hdr.msg_iovlen = 1;
	}
	while (done < n && tries < 64) {
		int r = sendmmsg(u->fd, u->txm + done, n - done, 0);

		if (r > 0) {
			done += (unsigned)r;
			continue;
		}
		tries++;
		if (r < 0 && errno != EAGAIN && errno != EINTR && errno != ENOBUFS &&
		    errno != ECONNREFUSED)
			break;
	}
	for (unsigned i = done; i < n; i++)
		d[i].len = 0;
	tp->tx_refused += n - done;
	return done;
}

static unsigned udp_rx(struct bench_tp *tp, struct bench_rxd *d, unsigned max)
{
	struct tp_udp *u = (struct tp_udp *)tp;
	int r;

	if (max > BENCH_BURST)
		max = BENCH_BURST;
	for (unsigned i = 0; i < max; i++) {
		u->rxiov[i].iov_base = u->rxbuf[i];
		u->rxiov[i].iov_len = UDP_RX_BUF;
		memset(&u->rxm[i].msg_hdr, 0, sizeof(u->rxm[i].msg_hdr));
		u->rxm[i].msg_hdr.msg_iov = &u->rxiov[i];
		u->rxm[i].msg_hdr.msg_iovlen = 1;
	}
	r = recvmmsg(u->fd, u->rxm, max, MSG_DONTWAIT, NULL);
	if (r <= 0)
		return 0;
	unsigned n = 0;
	for (int i = 0; i < r; i++) {
		if (u->rxm[i].msg_hdr.msg_flags & MSG_TRUNC) {
			tp->rx_trunc++;
			continue;
		}
		d[n].buf = u->rxbuf[i];
		d[n].len = (uint16_t)u->rxm[i].msg_len;
		n++;
	}
	return n;
}

static void udp_close(struct bench_tp *tp)
{
	struct tp_udp *u = (struct tp_udp *)tp;

	if (!u)
		return;
	if (u->fd >= 0)
		close(u->fd);
	free(u->dst);
	free(u);
}

static const struct bench_tp_ops udp_ops = {
	.tx_get = udp_tx_get,
	.tx_send = udp_tx_send,
	.rx = udp_rx,
	.close = udp_close,
};

struct bench_tp *bench_tp_udp_open(const struct bench_cfg *c)
{
	struct tp_udp *u;
	int sz = 16 << 20, err;

	u = calloc(1, sizeof(*u));
	if (!u)
		return NULL;
	u->fd = -1;
	u->tp.ops = &udp_ops;
	u->tp.name = "udp";
	u->nservers = c->nservers;
	u->nparts = c->steer > 1 ? c->steer : 1;
	u->dst = calloc((size_t)u->nservers * u->nparts, sizeof(*u->dst));
	if (!u->dst)
		goto fail;
	for (unsigned s = 0; s < u->nservers; s++) {
		for (unsigned p = 0; p < u->nparts; p++) {
			struct sockaddr_in *sa = &u->dst[s * u->nparts + p];

			sa->sin_family = AF_INET;
			sa->sin_addr.s_addr = c->servers[s].ip;
			sa->sin_port = htons((uint16_t)(c->servers[s].port + p));
		}
	}
	u->fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (u->fd < 0)
		goto fail;
	/* Large buffers: multi-datagram responses (1 MiB = 754 datagrams) arrive in one burst. */
	if (setsockopt(u->fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)) < 0)
		(void)setsockopt(u->fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	if (setsockopt(u->fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz)) < 0)
		(void)setsockopt(u->fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	if (c->src_port) {
		struct sockaddr_in me = { .sin_family = AF_INET, .sin_port = htons(c->src_port) };

		if (bind(u->fd, (struct sockaddr *)&me, sizeof(me)) < 0)
			goto fail;
	}
	return &u->tp;
fail:
	err = errno;
	udp_close(&u->tp);
	errno = err ? err : ENOMEM;
	return NULL;
}
