/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file pkt.h
 * Ethernet / ARP / IPv4 / UDP / ICMP parsing and reply building on plain
 * byte buffers (no DPDK types: the glue passes rte_pktmbuf_mtod()).
 * Every length is checked before the bytes behind it are read.
 * Pure functions; thread-safe.
 */
#ifndef DPCACHE_PKT_H
#define DPCACHE_PKT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DPC_ETH_HLEN 14u
#define DPC_IP4_HLEN 20u
#define DPC_UDP_HLEN 8u
#define DPC_HDRS_LEN (DPC_ETH_HLEN + DPC_IP4_HLEN + DPC_UDP_HLEN) /* 42 */

/** Our address on one port (network byte order for ip/port). */
struct dpc_netcfg {
	uint8_t mac[6];
	uint32_t ip;          /**< network order */
	uint16_t port_lo;     /**< first UDP port served, host order */
	uint16_t port_count;  /**< ports port_lo .. port_lo+count-1 (partition steering) */
};

/** What a received frame is, and what to do with it. */
enum dpc_pkt_kind {
	DPC_PKT_UDP = 0,      /**< UDP to one of our ports: payload at info.l4_payload */
	DPC_PKT_ARP_REQUEST,  /**< ARP request for our IP: answer with dpc_pkt_arp_reply() */
	DPC_PKT_ICMP_ECHO,    /**< ICMP echo request to us: answer with dpc_pkt_icmp_reply() */
	/* drops, each counted under its own name (stats.h) */
	DPC_PKT_DROP_SHORT,       /**< truncated L2/L3/L4 header */
	DPC_PKT_DROP_ETHERTYPE,   /**< not IPv4 or ARP (VLAN, IPv6, ...) */
	DPC_PKT_DROP_ARP_OTHER,   /**< ARP not a request for our IP */
	DPC_PKT_DROP_IP_VERSION,  /**< not version 4 */
	DPC_PKT_DROP_IP_OPTIONS,  /**< IHL != 5 */
	DPC_PKT_DROP_IP_FRAGMENT, /**< MF set or fragment offset != 0 */
	DPC_PKT_DROP_IP_LEN,      /**< total length inconsistent with the frame */
	DPC_PKT_DROP_IP_CSUM,     /**< bad IPv4 header checksum */
	DPC_PKT_DROP_NOT_US,      /**< destination IP is not ours (or broadcast) */
	DPC_PKT_DROP_PROTO,       /**< neither UDP nor ICMP echo */
	DPC_PKT_DROP_UDP_LEN,     /**< UDP length inconsistent with IP length */
	DPC_PKT_DROP_UDP_CSUM,    /**< bad UDP checksum (partial checksums from kernel peers accepted) */
	DPC_PKT_DROP_UDP_PORT,    /**< not one of our ports */
	DPC_PKT_KIND_MAX
};

struct dpc_pkt_info {
	uint16_t l3_off, l4_off;   /**< offsets of IPv4 and UDP/ICMP headers */
	uint16_t payload_off;      /**< offset of the UDP payload */
	uint16_t payload_len;      /**< UDP payload length (from the UDP header) */
	uint16_t dst_port;         /**< host order */
	unsigned port_index;       /**< dst_port - port_lo (partition steering) */
};

/**
 * Classify a frame of @p len bytes.  UDP checksums are verified unless 0,
 * or unless @p csum_ok_hint says the NIC/kernel vouched for it (a partial
 * checksum from a veth peer cannot be verified and is accepted).
 */
enum dpc_pkt_kind dpc_pkt_classify(const uint8_t *frame, size_t len, const struct dpc_netcfg *cfg,
				   bool csum_ok_hint, struct dpc_pkt_info *info);
const char *dpc_pkt_kind_name(enum dpc_pkt_kind k);

/** Turn an ARP request (classified DPC_PKT_ARP_REQUEST) into our reply, in place; returns frame length. */
size_t dpc_pkt_arp_reply(uint8_t *frame, size_t len, const struct dpc_netcfg *cfg);
/** Turn an ICMP echo request into the echo reply, in place (checksums fixed); returns frame length. */
size_t dpc_pkt_icmp_reply(uint8_t *frame, size_t len, const struct dpc_pkt_info *info);

/**
 * Write Ethernet+IPv4+UDP headers (42 bytes) at @p out for a reply to the
 * request frame @p req, carrying @p payload_len bytes already at out+42.
 * @p sw_csum: compute IPv4 and UDP checksums in software (else leave them
 * for offload: IPv4 checksum 0, UDP pseudo-header checksum filled in).
 * @p out may equal @p req (reply in place).
 */
void dpc_pkt_udp_reply_hdr(uint8_t *out, const uint8_t *req, const struct dpc_pkt_info *info,
			   uint16_t payload_len, bool sw_csum);

/** Build a UDP/IPv4/Ethernet request frame (clients); returns frame length. Payload at out+42. */
size_t dpc_pkt_udp_build(uint8_t *out, const uint8_t src_mac[6], const uint8_t dst_mac[6],
			 uint32_t src_ip, uint32_t dst_ip, uint16_t sport, uint16_t dport,
			 uint16_t payload_len, bool sw_csum);

/*
 * Checksums (RFC 1071), summed over 16-bit words in memory order: the
 * result is ready to be stored into the header with memcpy (never
 * byte-swap it).  dpc_ip4_cksum/dpc_udp4_cksum sum what is there, so
 * zero the checksum field first when generating one.
 */
uint16_t dpc_ip4_cksum(const void *iphdr);                     /**< over a 20-byte header */
uint16_t dpc_udp4_cksum(const void *iphdr, const void *udp, size_t udp_len);
uint16_t dpc_udp4_phdr_cksum(const void *iphdr, size_t udp_len); /**< pseudo-header only (offload seed) */

#endif /* DPCACHE_PKT_H */
