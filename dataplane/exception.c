/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The kernel exception path: TCP is terminated by the kernel's stack, so
 * the frames it needs reach the kernel through a DPDK TAP port, and what
 * the kernel sends goes back out of the port.
 *
 *   wire -> worker: dpc_pkt_classify() says DPC_PKT_TCP (TCP to our
 *           address) or DPC_PKT_ARP_REPLY (answers to the kernel's own
 *           ARP requests); the worker collects them over the burst and
 *           calls dpc_exc_to_kernel(), one rte_eth_tx_burst on TAP queue
 *           w->id (a write() per frame inside net_tap: only on this path).
 *   kernel -> wire: this file's thread sleeps in epoll_wait on the TAP
 *           queues' fds (rx interrupts), reads what the kernel sent and
 *           puts each frame in a worker's inbox tagged DPC_INBOX_TX; the
 *           worker sends it on its own TX queue (queues are per worker).
 *
 * The kernel interface gets the port's MAC (so frames need no rewriting
 * either way) and the server's address with cfg->subnet_len (the connected
 * route replies take).  ARP requests for our address and ICMP echo stay on
 * the fast path (the workers answer them), so the kernel never answers for
 * the wire.  Cold path everywhere except dpc_exc_to_kernel(), which runs
 * only for frames of this path.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <rte_bus_vdev.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_ring.h>

#include "dp.h"

#define EXC_VDEV "net_tap_dpc_exc"
#define EXC_NB_DESC 512u
#define EXC_POLL_US 200u        /* without rx interrupts: poll period */

void dpc_exc_to_kernel(struct dpc_worker *w, struct rte_mbuf **m, unsigned n)
{
	unsigned sent = rte_eth_tx_burst(w->exc_port, (uint16_t)w->id, m, (uint16_t)n);

	if (dpc_unlikely(sent < n)) {
		rte_pktmbuf_free_bulk(m + sent, n - sent);
		dpc_stat_add(w->st, exc_to_kernel_drops, n - sent);
	}
	dpc_stat_add(w->st, exc_to_kernel, sent);
}

/* ---- the kernel interface ---------------------------------------------------- */

static int ifreq_ioctl(int fd, unsigned long req, struct ifreq *ifr, const char *what)
{
	if (ioctl(fd, req, ifr) == 0)
		return 0;
	int rc = -errno;
	DPC_LOG(ERR, "exception interface %s: %s: %s", ifr->ifr_name, what, strerror(errno));
	return rc;
}

/* MAC, address/prefix, up; IPv6 off (no router solicitations out of the port). */
static int iface_config(const char *name, const struct rte_ether_addr *mac, uint32_t ip,
			unsigned prefix)
{
	struct ifreq ifr;
	struct sockaddr_in *sin = (struct sockaddr_in *)(void *)&ifr.ifr_addr;
	char path[96];
	int fd, rc;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	ifr.ifr_hwaddr.sa_family = ARPHRD_ETHER;
	memcpy(ifr.ifr_hwaddr.sa_data, mac->addr_bytes, RTE_ETHER_ADDR_LEN);
	rc = ifreq_ioctl(fd, SIOCSIFHWADDR, &ifr, "set MAC");
	if (rc == 0) {
		memset(&ifr.ifr_addr, 0, sizeof(ifr.ifr_addr));
		sin->sin_family = AF_INET;
		sin->sin_addr.s_addr = ip;
		rc = ifreq_ioctl(fd, SIOCSIFADDR, &ifr, "set address");
	}
	if (rc == 0) {
		sin->sin_addr.s_addr = htonl(prefix == 0 ? 0 : ~0u << (32 - prefix));
		rc = ifreq_ioctl(fd, SIOCSIFNETMASK, &ifr, "set netmask");
	}
	if (rc == 0)
		rc = ifreq_ioctl(fd, SIOCGIFFLAGS, &ifr, "get flags");
	if (rc == 0) {
		ifr.ifr_flags = (short)(ifr.ifr_flags | IFF_UP);
		rc = ifreq_ioctl(fd, SIOCSIFFLAGS, &ifr, "bring up");
	}
	close(fd);

	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6", name);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (write(fd, "1", 1) != 1)
			DPC_LOG(DEBUG, "%s: cannot turn IPv6 off", name);
		close(fd);
	}
	return rc;
}

/* ---- set-up ------------------------------------------------------------------- */

static void exc_name(const struct dpc_config *cfg, char *out, size_t len)
{
	if (strcmp(cfg->tcp_iface, "auto") == 0)
		snprintf(out, len, "dpc-%.11s", cfg->name);
	else
		snprintf(out, len, "%.15s", cfg->tcp_iface);
}

/* The TAP queues' fds in an epoll set of our own (rx interrupts); -1 if the port has none. */
static int rx_intr_epoll(struct dpc_exc *x)
{
	int ep = epoll_create1(EPOLL_CLOEXEC);

	if (ep < 0)
		return -1;
	for (uint16_t q = 0; q < x->nqueues; q++) {
		int fd = rte_eth_dev_rx_intr_ctl_q_get_fd(x->port_id, q);
		struct epoll_event ev = { .events = EPOLLIN, .data.u32 = q };

		if (fd < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
			close(ep);
			return -1;
		}
	}
	return ep;
}

int dpc_exc_setup(struct dpc_exc *x, const struct dpc_config *cfg,
		  const struct rte_ether_addr *mac, struct rte_mempool *pool, uint16_t nqueues)
{
	struct rte_eth_conf conf;
	char args[64];
	int rc;

	x->epfd = -1;
	x->nqueues = nqueues;
	if (nqueues > DPC_EXC_MAX_QUEUES) {
		DPC_LOG(ERR, "tcp=yes: the TAP exception port has at most %u queues, workers=%u",
			DPC_EXC_MAX_QUEUES, nqueues);
		return -EINVAL;
	}
	exc_name(cfg, x->ifname, sizeof(x->ifname));
	snprintf(args, sizeof(args), "iface=%s,mac=" RTE_ETHER_ADDR_PRT_FMT, x->ifname,
		 RTE_ETHER_ADDR_BYTES(mac));
	rc = rte_vdev_init(EXC_VDEV, args);
	if (rc != 0) {
		DPC_LOG(ERR, "tcp=yes: cannot create the TAP exception port (%s): %s (needs "
			"/dev/net/tun and CAP_NET_ADMIN; tcp=no serves UDP only)", args,
			strerror(rc < 0 ? -rc : rc));
		return rc < 0 ? rc : -rc;
	}
	x->vdev = true;
	rc = rte_eth_dev_get_port_by_name(EXC_VDEV, &x->port_id);
	if (rc != 0)
		goto fail;

	memset(&conf, 0, sizeof(conf));
	conf.intr_conf.rxq = 1;
	rc = rte_eth_dev_configure(x->port_id, nqueues, nqueues, &conf);
	if (rc != 0) {
		conf.intr_conf.rxq = 0; /* then the thread polls */
		rc = rte_eth_dev_configure(x->port_id, nqueues, nqueues, &conf);
	}
	if (rc != 0)
		goto fail;
	for (uint16_t q = 0; q < nqueues && rc == 0; q++) {
		rc = rte_eth_rx_queue_setup(x->port_id, q, EXC_NB_DESC, (unsigned)rte_socket_id(), NULL,
					    pool);
		if (rc == 0)
			rc = rte_eth_tx_queue_setup(x->port_id, q, EXC_NB_DESC,
						    (unsigned)rte_socket_id(), NULL);
	}
	if (rc != 0)
		goto fail;
	rc = rte_eth_dev_start(x->port_id);
	if (rc != 0)
		goto fail;
	x->port_started = true;
	rc = iface_config(x->ifname, mac, cfg->address, cfg->subnet_len);
	if (rc != 0)
		return rc;
	if (conf.intr_conf.rxq)
		x->epfd = rx_intr_epoll(x);
	DPC_LOG(INFO, "exception path: TAP port %u, kernel interface %s, %u queue(s), %s", x->port_id,
		x->ifname, nqueues, x->epfd >= 0 ? "rx interrupts" : "polled");
	return 0;
fail:
	DPC_LOG(ERR, "tcp=yes: TAP exception port %s: %s", x->ifname, rte_strerror(rc < 0 ? -rc : rc));
	return rc < 0 ? rc : -EIO;
}

/* ---- the thread: kernel -> wire ------------------------------------------------- */

/* Read one TAP queue dry; each frame to a worker's inbox (queue q -> worker q). */
static unsigned drain_queue(struct dpc_exc *x, uint16_t q)
{
	struct rte_mbuf *m[DPC_BURST];
	struct rte_ring *ring = x->rings[q];
	unsigned total = 0, n;

	do {
		n = rte_eth_rx_burst(x->port_id, q, m, DPC_BURST);
		for (unsigned i = 0; i < n; i++) {
			if (rte_ring_mp_enqueue(ring, dpc_inbox_tag(m[i], DPC_INBOX_TX)) != 0) {
				rte_pktmbuf_free(m[i]);
				dpc_stat_inc(x->st, exc_from_kernel_drops);
			} else {
				dpc_stat_inc(x->st, exc_from_kernel);
			}
		}
		total += n;
	} while (n == DPC_BURST && !atomic_load_explicit(x->stop, memory_order_relaxed));
	return total;
}

static void *exc_thread(void *arg)
{
	struct dpc_exc *x = arg;

	while (!atomic_load_explicit(x->stop, memory_order_relaxed)) {
		if (x->epfd >= 0) {
			struct epoll_event ev[DPC_EXC_MAX_QUEUES];
			int n = epoll_wait(x->epfd, ev, (int)DPC_EXC_MAX_QUEUES, 100);

			for (int i = 0; i < n; i++)
				drain_queue(x, (uint16_t)ev[i].data.u32);
		} else {
			unsigned got = 0;

			for (uint16_t q = 0; q < x->nqueues; q++)
				got += drain_queue(x, q);
			if (got == 0)
				rte_delay_us_sleep(EXC_POLL_US);
		}
	}
	return NULL;
}

int dpc_exc_start(struct dpc_exc *x)
{
	int rc = rte_ctrl_thread_create(&x->thread, "dpc-exception", NULL, exc_thread, x);

	if (rc != 0) {
		DPC_LOG(ERR, "exception path thread: %s", strerror(rc));
		return -rc;
	}
	x->thread_started = true;
	return 0;
}

void dpc_exc_close(struct dpc_exc *x)
{
	if (x->thread_started) {
		pthread_join(x->thread, NULL);
		x->thread_started = false;
	}
	if (x->vdev && x->epfd >= 0) {
		close(x->epfd);
		x->epfd = -1;
	}
	if (x->port_started) {
		dpc_port_close(x->port_id);
		x->port_started = false;
	}
	if (x->vdev) {
		(void)rte_vdev_uninit(EXC_VDEV);
		x->vdev = false;
	}
}
