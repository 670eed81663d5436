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

/*
 * Packet kinds, defined once: these two lists generate
 * enum dpc_pkt_kind, dpc_pkt_kind_name(), the drop_* counters of stats.h
 * and their accounting (dpc_stat_count_drop()).  Add a kind by adding one
 * line; nothing else lists them.
 *
 * DPC_PKT_SERVED(X, a): X(a, KIND, name, what) -- frames the worker acts on.
 * DPC_PKT_DROPS(X, a):  X(a, KIND, counter, help) -- frames dropped, each
 * counted under its own counter (which is also the kind's name).
 * @c a is passed through unchanged (lets a user forward another X-macro).
 */
#define DPC_PKT_SERVED(X, a) \
	X(a, UDP,         udp,         "UDP to one of our ports: payload at info.payload_off") \
	X(a, IP_FRAGMENT, ip_fragment, "IPv4 fragment to us (UDP): IP payload at info.payload_off") \
	X(a, ARP_REQUEST, arp_request, "ARP request for our IP: answer with dpc_pkt_arp_reply()") \
	X(a, ICMP_ECHO,   icmp_echo,   "ICMP echo request to us: answer with dpc_pkt_icmp_reply()") \
	X(a, TCP,         tcp,         "IPv4 TCP to us: the kernel's (exception path; else drop_proto)") \
	X(a, ARP_REPLY,   arp_reply,   "ARP reply to us: the kernel's (exception path; else drop_arp_other)")

#define DPC_PKT_DROPS(X, a) \
	X(a, SHORT,       drop_short,       "truncated L2/L3/L4 header") \
	X(a, ETHERTYPE,   drop_ethertype,   "not IPv4 or ARP") \
	X(a, ARP_OTHER,   drop_arp_other,   "ARP not a request for our address") \
	X(a, IP_VERSION,  drop_ip_version,  "IP version not 4") \
	X(a, IP_OPTIONS,  drop_ip_options,  "IPv4 options") \
	X(a, IP_FRAGMENT, drop_ip_fragment, "IPv4 fragments not reassembled (reasm_entries=0)") \
	X(a, IP_LEN,      drop_ip_len,      "bad IPv4 length") \
	X(a, IP_CSUM,     drop_ip_csum,     "bad IPv4 checksum") \
	X(a, NOT_US,      drop_not_us,      "not addressed to us") \
	X(a, PROTO,       drop_proto,       "IP protocol not served") \
	X(a, UDP_LEN,     drop_udp_len,     "bad UDP length") \
	X(a, UDP_CSUM,    drop_udp_csum,    "bad UDP checksum") \
	X(a, UDP_PORT,    drop_udp_port,    "UDP port not served") \
	/* source checks (srcguard.h, dataplane/guard.c): nothing is ever sent back */ \
	X(a, ETH_SRC,     drop_eth_src,     "Ethernet source multicast or broadcast") \
	X(a, ETH_DST,     drop_eth_dst,     "Ethernet destination not our MAC (ARP: nor broadcast)") \
	X(a, SRC_MARTIAN, drop_src_martian, "source 0.0.0.0/8, loopback, multicast, broadcast or ours") \
	X(a, UDP_SPORT0,  drop_udp_sport0,  "UDP source port 0") \
	X(a, SRC_DENIED,  drop_src_denied,  "source not in the allow list") \
	X(a, ICMP_RATE,   drop_icmp_rate,   "ICMP echo request over icmp_rate")

/*
 * Why a datagram in reassembly was given up (dataplane/engine/reasm.c),
 * X(a, KIND, counter, help); each datagram is counted once, under the
 * first reason that applies, and all its fragments are freed.
 */
#define DPC_PKT_REASM_DROPS(X, a) \
	X(a, TIMEOUT,  reasm_drop_timeout,  "incomplete when its reasm_timeout_ms ran out") \
	X(a, EVICTED,  reasm_drop_evicted,  "incomplete, evicted for newer ones (entries or bytes full)") \
	X(a, OVERLAP,  reasm_drop_overlap,  "a fragment overlapped another one (duplicates included)") \
	X(a, OVERSIZE, reasm_drop_oversize, "fragments reach past 65,535 bytes of IPv4 datagram") \
	X(a, TOO_MANY, reasm_drop_too_many, "more than reasm_max_frags fragments") \
	X(a, BAD,      reasm_drop_bad,      "empty, a non-last one not 8k bytes long, or past the end")

/** What a received frame is, and what to do with it (DPC_PKT_<KIND>, DPC_PKT_DROP_<KIND>). */
enum dpc_pkt_kind {
#define DPC_X_SERVED_ENUM(a, kind, name, what) DPC_PKT_##kind,
#define DPC_X_DROP_ENUM(a, kind, name, help) DPC_PKT_DROP_##kind,
	DPC_PKT_SERVED(DPC_X_SERVED_ENUM, )
	DPC_PKT_DROPS(DPC_X_DROP_ENUM, )
#undef DPC_X_SERVED_ENUM
#undef DPC_X_DROP_ENUM
	DPC_PKT_KIND_MAX
};

/** True for the DPC_PKT_DROP_* kinds (the drops follow the served kinds). */
static inline bool dpc_pkt_kind_is_drop(enum dpc_pkt_kind k)
{
	return k >= DPC_PKT_DROP_SHORT && k < DPC_PKT_KIND_MAX;
}

struct dpc_pkt_info {
	uint16_t l3_off, l4_off;   /**< offsets of IPv4 and UDP/ICMP headers */
	uint16_t payload_off;      /**< UDP payload (DPC_PKT_IP_FRAGMENT: the IP payload) */
	uint16_t payload_len;      /**< its length (UDP: from the UDP header; fragment: from IP) */
	uint16_t dst_port;         /**< host order (not set for fragments) */
	uint16_t frag_off;         /**< DPC_PKT_IP_FRAGMENT: offset of this fragment, bytes */
	uint16_t ip_id;            /**< DPC_PKT_IP_FRAGMENT: IPv4 identification, host order */
	uint8_t frag_more;         /**< DPC_PKT_IP_FRAGMENT: 1 if MF (more fragments) is set */
	uint8_t is_fragment;       /**< 1: a fragment (set by the classifier, read by the glue) */
	uint8_t src_flags;          /**< DPC_SRC_* (srcguard.h): set by the source checks, not classify */
	uint8_t fwd_from;          /**< forwarded: the worker that put it in the ring (dataplane/fwd.h) */
	uint8_t fwd_slot;          /**< forwarded: its source's slot in that worker's ring shares */
	unsigned port_index;       /**< dst_port - port_lo (partition steering) */
};

/**
 * Classify a frame of @p len bytes.  UDP checksums are verified unless 0,
 * or unless @p csum_ok_hint says the NIC/kernel vouched for it (a partial
 * checksum from a veth peer cannot be verified and is accepted).
 */
enum dpc_pkt_kind dpc_pkt_classify(const uint8_t *frame, size_t len, const struct dpc_netcfg *cfg,
				   bool csum_ok_hint, struct dpc_pkt_info *info);
/** The kind's name ("udp", "drop_short": the drop counter's name), "unknown" out of range. */
const char *dpc_pkt_kind_name(enum dpc_pkt_kind k);

/**
 * Rewrite the IPv4 header of a reassembled datagram's first fragment
 * (@p frame, classified DPC_PKT_IP_FRAGMENT with offset 0) so that it
 * describes the whole datagram: total length 20 + @p ip_payload_len, no
 * fragment bits, checksum recomputed.  @p ip_payload_len <= 65515.
 */
void dpc_pkt_ip4_unfragment(uint8_t *frame, unsigned ip_payload_len);

/**
 * Turn an ARP request (classified DPC_PKT_ARP_REQUEST) into our reply, in
 * place, sent to the request's Ethernet source (never to the sender
 * hardware address it claims); returns frame length.
 */
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
