/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Ethernet port set-up: one RX/TX queue pair per worker, RSS over them
 * when the port can hash, IPv4/UDP checksum offload on TX when the port
 * offers it (else software checksums).  Cold path only.
 */
#include <errno.h>
#include <string.h>

#include <rte_ethdev.h>
#include <rte_mempool.h>

#include "dp.h"

#define DPC_NB_RXD 1024u
#define DPC_NB_TXD 1024u

int dpc_port_setup(uint16_t port_id, uint16_t nqueues, struct rte_mempool *pool, uint32_t sw_mode,
		   bool promisc, struct dpc_port_state *out)
{
	const uint64_t tx_csum = RTE_ETH_TX_OFFLOAD_IPV4_CKSUM | RTE_ETH_TX_OFFLOAD_UDP_CKSUM;
	const uint64_t rx_csum = RTE_ETH_RX_OFFLOAD_IPV4_CKSUM | RTE_ETH_RX_OFFLOAD_UDP_CKSUM;
	struct rte_eth_conf conf;
	struct rte_eth_dev_info info;
	struct rte_eth_rxconf rxq;
	struct rte_eth_txconf txq;
	uint16_t nb_rxd = DPC_NB_RXD, nb_txd = DPC_NB_TXD;
	int socket, rc;

	memset(out, 0, sizeof(*out));
	memset(&conf, 0, sizeof(conf));
	out->port_id = port_id;
	out->nqueues = nqueues;
	if (!rte_eth_dev_is_valid_port(port_id)) {
		DPC_LOG(ERR, "port %u does not exist (%u ports; add one with --vdev=...)", port_id,
			rte_eth_dev_count_avail());
		return -ENODEV;
	}
	rc = rte_eth_dev_info_get(port_id, &info);
	if (rc != 0) {
		DPC_LOG(ERR, "port %u: cannot get device info: %s", port_id, rte_strerror(-rc));
		return rc;
	}
	snprintf(out->driver, sizeof(out->driver), "%s", info.driver_name);
	if (nqueues > info.max_rx_queues || nqueues > info.max_tx_queues) {
		DPC_LOG(ERR, "port %u (%s) has %u RX / %u TX queues, workers=%u needs %u of each "
			"(e.g. af_xdp queue_count=, af_packet qpairs=, memif: as many as the peer)",
			port_id, info.driver_name, info.max_rx_queues, info.max_tx_queues, nqueues,
			nqueues);
		return -EINVAL;
	}

	/* RSS: spread flows over the workers' queues when the port can hash. */
	if (nqueues > 1 && info.flow_type_rss_offloads != 0) {
		conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
		conf.rx_adv_conf.rss_conf.rss_key = NULL;
		conf.rx_adv_conf.rss_conf.rss_hf =
			(RTE_ETH_RSS_IP | RTE_ETH_RSS_UDP) & info.flow_type_rss_offloads;
		out->rss = conf.rx_adv_conf.rss_conf.rss_hf != 0;
	}
	if (nqueues > 1 && !out->rss)
		DPC_LOG(INFO, "port %u (%s): no RSS; the driver spreads frames over its %u queues",
			port_id, info.driver_name, nqueues);

	/* Checksums: offload when offered, unless sw_checksum=yes. */
	if (sw_mode != 1 && (info.tx_offload_capa & tx_csum) == tx_csum) {
		conf.txmode.offloads |= tx_csum;
		out->tx_csum_offload = true;
	} else if (sw_mode == 2) {
		DPC_LOG(ERR, "port %u (%s) cannot offload IPv4/UDP checksums and sw_checksum=no",
			port_id, info.driver_name);
		return -ENOTSUP;
	}
	if ((info.rx_offload_capa & rx_csum) == rx_csum) {
		conf.rxmode.offloads |= rx_csum;
		out->rx_csum_offload = true;
	}
	if (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE)
		conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE; /* one pool, refcnt 1 */

	rc = rte_eth_dev_configure(port_id, nqueues, nqueues, &conf);
	if (rc != 0) {
		DPC_LOG(ERR, "port %u (%s): configure with %u queues failed: %s", port_id,
			info.driver_name, nqueues, rte_strerror(-rc));
		return rc;
	}
	rc = rte_eth_dev_adjust_nb_rx_tx_desc(port_id, &nb_rxd, &nb_txd);
	if (rc != 0) {
		DPC_LOG(ERR, "port %u: descriptor counts refused: %s", port_id, rte_strerror(-rc));
		return rc;
	}
	socket = rte_eth_dev_socket_id(port_id);
	if (socket < 0)
		socket = (int)rte_socket_id();
	rxq = info.default_rxconf;
	rxq.offloads = conf.rxmode.offloads;
	txq = info.default_txconf;
	txq.offloads = conf.txmode.offloads;
	for (uint16_t q = 0; q < nqueues; q++) {
		rc = rte_eth_rx_queue_setup(port_id, q, nb_rxd, (unsigned)socket, &rxq, pool);
		if (rc != 0) {
			DPC_LOG(ERR, "port %u: RX queue %u set-up failed: %s", port_id, q,
				rte_strerror(-rc));
			return rc;
		}
		rc = rte_eth_tx_queue_setup(port_id, q, nb_txd, (unsigned)socket, &txq);
		if (rc != 0) {
			DPC_LOG(ERR, "port %u: TX queue %u set-up failed: %s", port_id, q,
				rte_strerror(-rc));
			return rc;
		}
	}
	rc = rte_eth_macaddr_get(port_id, &out->mac);
	if (rc != 0) {
		DPC_LOG(ERR, "port %u: cannot read the MAC address: %s", port_id, rte_strerror(-rc));
		return rc;
	}
	rc = rte_eth_dev_start(port_id);
	if (rc != 0) {
		DPC_LOG(ERR, "port %u (%s): start failed: %s", port_id, info.driver_name,
			rte_strerror(-rc));
		return rc;
	}
	/*
	 * Frames for our MAC are all we serve (guard.c drops the others): no
	 * promiscuous mode unless asked.  None of the virtual ports used here
	 * needs it: af_packet and af_xdp take the interface's own MAC, memif
	 * does not filter, tap's kernel side sends to the port's MAC.  Some PMDs
	 * start promiscuous (tap): switch it off explicitly.
	 */
	rc = promisc ? rte_eth_promiscuous_enable(port_id) : rte_eth_promiscuous_disable(port_id);
	if (rc != 0 && rc != -ENOTSUP)
		DPC_LOG(WARNING, "port %u: promiscuous mode %s: %s", port_id, promisc ? "on" : "off",
			rte_strerror(-rc));
	return 0;
}

void dpc_port_close(uint16_t port_id)
{
	int rc = rte_eth_dev_stop(port_id);

	if (rc != 0)
		DPC_LOG(WARNING, "port %u: stop: %s", port_id, rte_strerror(-rc));
	rc = rte_eth_dev_close(port_id);
	if (rc != 0)
		DPC_LOG(WARNING, "port %u: close: %s", port_id, rte_strerror(-rc));
}
