/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Ethernet / ARP / IPv4 / UDP / ICMP on plain byte buffers.
 *
 * Headers are read and written field by field at fixed offsets (no packed
 * structs, no alignment assumptions): the glue hands us rte_pktmbuf_mtod()
 * whose alignment depends on the driver's headroom.  Every length is
 * checked before the bytes behind it are touched.
 *
 * Checksums (RFC 1071) are summed over 16-bit words in memory order, so a
 * result is stored back with memcpy and never byte-swapped; this is also
 * what DPDK's rte_raw_cksum() and the Linux kernel do.
 */
#include <string.h>

#include "dpcache/common.h"
#include "dpcache/pkt.h"

/* ---- fixed offsets ------------------------------------------------------ */
/* Ethernet */
#define ETH_DST   0
#define ETH_SRC   6
#define ETH_TYPE 12
#define ETHERTYPE_IPV4 0x0800u
#define ETHERTYPE_ARP  0x0806u
#define ETH_MIN_FRAME 60u   /* without FCS: shorter frames get padded */

/* ARP (Ethernet/IPv4), relative to the ARP header */
#define ARP_LEN   28u
#define ARP_HTYPE 0
#define ARP_PTYPE 2
#define ARP_HLEN  4
#define ARP_PLEN  5
#define ARP_OPER  6
#define ARP_SHA   8
#define ARP_SPA  14
#define ARP_THA  18
#define ARP_TPA  24

/* IPv4, relative to the IP header */
#define IP_VIHL   0
#define IP_TOS    1
#define IP_TOTLEN 2
#define IP_ID     4
#define IP_FRAG   6
#define IP_TTL    8
#define IP_PROTO  9
#define IP_CSUM  10
#define IP_SRC   12
#define IP_DST   16
#define IP_MF      0x2000u
#define IP_OFFMASK 0x1fffu
#define IPPROTO_ICMP_ 1u
#define IPPROTO_TCP_ 6u
#define IPPROTO_UDP_ 17u
#define REPLY_TTL 64u

/* UDP, relative to the UDP header */
#define UDP_SPORT 0
#define UDP_DPORT 2
#define UDP_LEN   4
#define UDP_CSUM  6

/* ICMP */
#define ICMP_HLEN 8u
#define ICMP_TYPE 0
#define ICMP_CODE 1
#define ICMP_CSUM 2
#define ICMP_ECHO_REPLY   0u
#define ICMP_ECHO_REQUEST 8u

static inline uint16_t get16(const uint8_t *p) { return (uint16_t)((p[0] << 8) | p[1]); }
static inline void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }

/* ---- checksums ---------------------------------------------------------- */

/* Add n bytes to a one's-complement accumulator (memory-order words). */
static uint64_t raw_sum(const void *buf, size_t n, uint64_t acc)
{
	const uint8_t *b = buf;

	/* 32-bit chunks: 2^16 == 1 (mod 0xffff), so they fold like two words */
	while (n >= 8) {
		uint64_t v;
		memcpy(&v, b, 8);
		acc += (v & 0xffffffffu) + (v >> 32);
		b += 8;
		n -= 8;
	}
	while (n >= 2) {
		uint16_t v;
		memcpy(&v, b, 2);
		acc += v;
		b += 2;
		n -= 2;
	}
	if (n) {
		/* odd trailing byte, padded with a zero byte after it */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
		acc += b[0];
#else
		acc += (uint64_t)b[0] << 8;
#endif
	}
	return acc;
}

static inline uint16_t fold(uint64_t acc)
{
	while (acc >> 16)
		acc = (acc & 0xffffu) + (acc >> 16);
	return (uint16_t)acc;
}

/* Sum of the UDP pseudo header (src, dst, zero, proto, length). */
static uint64_t phdr_sum(const uint8_t *ip, size_t udp_len)
{
	uint8_t ph[12];

	memcpy(ph, ip + IP_SRC, 8);
	ph[8] = 0;
	ph[9] = IPPROTO_UDP_;
	put16(ph + 10, (uint16_t)udp_len);
	return raw_sum(ph, sizeof(ph), 0);
}

uint16_t dpc_ip4_cksum(const void *iphdr)
{
	return (uint16_t)~fold(raw_sum(iphdr, DPC_IP4_HLEN, 0));
}

uint16_t dpc_udp4_cksum(const void *iphdr, const void *udp, size_t udp_len)
{
	uint16_t c = (uint16_t)~fold(raw_sum(udp, udp_len, phdr_sum(iphdr, udp_len)));

	/* 0 means "no checksum" in UDP: send the other zero */
	return c == 0 ? 0xffff : c;
}

uint16_t dpc_udp4_phdr_cksum(const void *iphdr, size_t udp_len)
{
	return fold(phdr_sum(iphdr, udp_len));
}

/* ---- classification ----------------------------------------------------- */

static const char *const kind_names[DPC_PKT_KIND_MAX] = {
#define DPC_X_NAME(a, kind, name, text) #name,
	DPC_PKT_SERVED(DPC_X_NAME, )
	DPC_PKT_DROPS(DPC_X_NAME, )
#undef DPC_X_NAME
};

const char *dpc_pkt_kind_name(enum dpc_pkt_kind k)
{
	if ((unsigned)k >= DPC_PKT_KIND_MAX)
		return "unknown";
	return kind_names[k];
}

static enum dpc_pkt_kind classify_arp(const uint8_t *frame, size_t len, const struct dpc_netcfg *cfg,
				      struct dpc_pkt_info *info)
{
	const uint8_t *a = frame + DPC_ETH_HLEN;

	if (len < DPC_ETH_HLEN + ARP_LEN)
		return DPC_PKT_DROP_SHORT;
	if (get16(a + ARP_HTYPE) != 1 || get16(a + ARP_PTYPE) != ETHERTYPE_IPV4 ||
	    a[ARP_HLEN] != 6 || a[ARP_PLEN] != 4)
		return DPC_PKT_DROP_ARP_OTHER;
	if (memcmp(a + ARP_TPA, &cfg->ip, 4) != 0)
		return DPC_PKT_DROP_ARP_OTHER;
	info->l3_off = DPC_ETH_HLEN;
	switch (get16(a + ARP_OPER)) {
	case 1: return DPC_PKT_ARP_REQUEST;
	case 2: return DPC_PKT_ARP_REPLY; /* an answer to the kernel's own request */
	default: return DPC_PKT_DROP_ARP_OTHER;
	}
}

/* The ICMP message of ip_len - 20 bytes sums to 0xffff when intact. */
static enum dpc_pkt_kind classify_icmp(const uint8_t *ip, unsigned ip_len)
{
	const uint8_t *icmp = ip + DPC_IP4_HLEN;
	unsigned n = ip_len - DPC_IP4_HLEN;

	if (n < ICMP_HLEN)
		return DPC_PKT_DROP_SHORT;
	if (icmp[ICMP_TYPE] != ICMP_ECHO_REQUEST || icmp[ICMP_CODE] != 0)
		return DPC_PKT_DROP_PROTO;
	/* a corrupted echo is not an echo: never "repair" it by replying */
	if (fold(raw_sum(icmp, n, 0)) != 0xffff)
		return DPC_PKT_DROP_PROTO;
	return DPC_PKT_ICMP_ECHO;
}

enum dpc_pkt_kind dpc_pkt_classify(const uint8_t *frame, size_t len, const struct dpc_netcfg *cfg,
				   bool csum_ok_hint, struct dpc_pkt_info *info)
{
	DPC_RETURN_IF(frame == NULL || cfg == NULL || info == NULL, DPC_PKT_DROP_SHORT);
	memset(info, 0, sizeof(*info));
	if (dpc_unlikely(len < DPC_ETH_HLEN))
		return DPC_PKT_DROP_SHORT;

	uint16_t etype = get16(frame + ETH_TYPE);
	if (dpc_unlikely(etype != ETHERTYPE_IPV4)) {
		if (etype == ETHERTYPE_ARP)
			return classify_arp(frame, len, cfg, info);
		return DPC_PKT_DROP_ETHERTYPE;
	}

	/* IPv4: version, no options, lengths, no fragments, checksum, us */
	if (dpc_unlikely(len < DPC_ETH_HLEN + DPC_IP4_HLEN))
		return DPC_PKT_DROP_SHORT;
	const uint8_t *ip = frame + DPC_ETH_HLEN;
	if (dpc_unlikely((ip[IP_VIHL] >> 4) != 4))
		return DPC_PKT_DROP_IP_VERSION;
	if (dpc_unlikely((ip[IP_VIHL] & 0x0f) != 5))
		return DPC_PKT_DROP_IP_OPTIONS;
	/* total length, not frame length: frames may carry Ethernet padding */
	unsigned ip_len = get16(ip + IP_TOTLEN);
	if (dpc_unlikely(ip_len < DPC_IP4_HLEN || ip_len > len - DPC_ETH_HLEN))
		return DPC_PKT_DROP_IP_LEN;
	uint16_t frag = get16(ip + IP_FRAG);
	if (dpc_unlikely(fold(raw_sum(ip, DPC_IP4_HLEN, 0)) != 0xffff))
		return DPC_PKT_DROP_IP_CSUM;
	if (dpc_unlikely(memcmp(ip + IP_DST, &cfg->ip, 4) != 0))
		return DPC_PKT_DROP_NOT_US;

	info->l3_off = DPC_ETH_HLEN;
	info->l4_off = DPC_ETH_HLEN + DPC_IP4_HLEN;
	if (dpc_unlikely(frag & (IP_MF | IP_OFFMASK))) {
		/* only UDP is reassembled; the UDP header is checked on the whole datagram */
		if (ip[IP_PROTO] != IPPROTO_UDP_)
			return DPC_PKT_DROP_PROTO;
		info->payload_off = info->l4_off;
		info->payload_len = (uint16_t)(ip_len - DPC_IP4_HLEN);
		info->frag_off = (uint16_t)((frag & IP_OFFMASK) << 3);
		info->frag_more = (frag & IP_MF) != 0;
		info->ip_id = get16(ip + IP_ID);
		info->is_fragment = 1;
		return DPC_PKT_IP_FRAGMENT;
	}
	if (dpc_unlikely(ip[IP_PROTO] != IPPROTO_UDP_)) {
		if (ip[IP_PROTO] == IPPROTO_ICMP_)
			return classify_icmp(ip, ip_len);
		if (ip[IP_PROTO] == IPPROTO_TCP_)
			return DPC_PKT_TCP; /* the kernel checks the rest */
		return DPC_PKT_DROP_PROTO;
	}

	/* UDP */
	if (dpc_unlikely(ip_len < DPC_IP4_HLEN + DPC_UDP_HLEN))
		return DPC_PKT_DROP_SHORT;
	const uint8_t *udp = ip + DPC_IP4_HLEN;
	unsigned udp_len = get16(udp + UDP_LEN);
	/* as Linux: the UDP length may be shorter than the IP payload, never longer */
	if (dpc_unlikely(udp_len < DPC_UDP_HLEN || udp_len > ip_len - DPC_IP4_HLEN))
		return DPC_PKT_DROP_UDP_LEN;
	uint16_t dport = get16(udp + UDP_DPORT);
	unsigned idx = (unsigned)(uint16_t)(dport - cfg->port_lo);
	if (dpc_unlikely(idx >= cfg->port_count))
		return DPC_PKT_DROP_UDP_PORT;

	uint16_t field;
	memcpy(&field, udp + UDP_CSUM, 2);
	if (field != 0 && !csum_ok_hint &&
	    fold(raw_sum(udp, udp_len, phdr_sum(ip, udp_len))) != 0xffff) {
		/*
		 * Not a valid full checksum.  A kernel peer on a veth pair with
		 * tx offload on sends CHECKSUM_PARTIAL frames: the field holds
		 * the folded pseudo-header sum (not complemented), the rest is
		 * left to a NIC that does not exist.  Accept exactly that.
		 */
		uint16_t ph = fold(phdr_sum(ip, udp_len));
		if (field != ph && !(ph == 0xffff && field == 0))
			return DPC_PKT_DROP_UDP_CSUM;
	}

	info->payload_off = (uint16_t)(info->l4_off + DPC_UDP_HLEN);
	info->payload_len = (uint16_t)(udp_len - DPC_UDP_HLEN);
	info->dst_port = dport;
	info->port_index = idx;
	return DPC_PKT_UDP;
}

void dpc_pkt_ip4_unfragment(uint8_t *frame, unsigned ip_payload_len)
{
	uint8_t *ip = frame + DPC_ETH_HLEN;

	if (frame == NULL || ip_payload_len > 0xffffu - DPC_IP4_HLEN)
		return;
	put16(ip + IP_TOTLEN, (uint16_t)(DPC_IP4_HLEN + ip_payload_len));
	put16(ip + IP_FRAG, 0);
	memset(ip + IP_CSUM, 0, 2);
	uint16_t c = dpc_ip4_cksum(ip);
	memcpy(ip + IP_CSUM, &c, 2);
}

/* ---- replies -------------------------------------------------------------- */

size_t dpc_pkt_arp_reply(uint8_t *frame, size_t len, const struct dpc_netcfg *cfg)
{
	uint8_t *a = frame + DPC_ETH_HLEN;
	uint8_t peer_mac[6], peer_ip[4];

	DPC_RETURN_IF(frame == NULL || cfg == NULL || len < DPC_ETH_HLEN + ARP_LEN, 0);
	memcpy(peer_mac, a + ARP_SHA, 6);
	memcpy(peer_ip, a + ARP_SPA, 4);

	/* to the frame's Ethernet source: a forged SHA must not aim our reply elsewhere */
	memcpy(frame + ETH_DST, frame + ETH_SRC, 6);
	memcpy(frame + ETH_SRC, cfg->mac, 6);
	put16(a + ARP_OPER, 2);
	memcpy(a + ARP_SHA, cfg->mac, 6);
	memcpy(a + ARP_SPA, &cfg->ip, 4);
	memcpy(a + ARP_THA, peer_mac, 6);
	memcpy(a + ARP_TPA, peer_ip, 4);

	size_t out = DPC_ETH_HLEN + ARP_LEN;
	if (len >= ETH_MIN_FRAME) {
		/* keep the minimum frame size, with clean padding */
		memset(frame + out, 0, ETH_MIN_FRAME - out);
		out = ETH_MIN_FRAME;
	}
	return out;
}

static void swap_eth(uint8_t *frame)
{
	uint8_t tmp[6];

	memcpy(tmp, frame + ETH_DST, 6);
	memcpy(frame + ETH_DST, frame + ETH_SRC, 6);
	memcpy(frame + ETH_SRC, tmp, 6);
}

size_t dpc_pkt_icmp_reply(uint8_t *frame, size_t len, const struct dpc_pkt_info *info)
{
	DPC_RETURN_IF(frame == NULL || info == NULL || info->l3_off != DPC_ETH_HLEN, 0);
	uint8_t *ip = frame + info->l3_off;
	unsigned ip_len = get16(ip + IP_TOTLEN);
	DPC_RETURN_IF(ip_len < DPC_IP4_HLEN + ICMP_HLEN || ip_len > len - DPC_ETH_HLEN, 0);
	uint8_t *icmp = ip + DPC_IP4_HLEN;
	uint8_t tmp[4];

	swap_eth(frame);
	memcpy(tmp, ip + IP_SRC, 4);
	memcpy(ip + IP_SRC, ip + IP_DST, 4);
	memcpy(ip + IP_DST, tmp, 4);
	ip[IP_TTL] = REPLY_TTL;
	put16(ip + IP_FRAG, 0);
	memset(ip + IP_CSUM, 0, 2);
	uint16_t c = dpc_ip4_cksum(ip);
	memcpy(ip + IP_CSUM, &c, 2);

	icmp[ICMP_TYPE] = ICMP_ECHO_REPLY;
	memset(icmp + ICMP_CSUM, 0, 2);
	c = (uint16_t)~fold(raw_sum(icmp, ip_len - DPC_IP4_HLEN, 0));
	memcpy(icmp + ICMP_CSUM, &c, 2);
	return DPC_ETH_HLEN + ip_len;
}

/* Fill IPv4 + UDP headers (addresses already in place) and their checksums. */
static void fill_ip_udp(uint8_t *ip, uint16_t sport, uint16_t dport, uint16_t payload_len, bool sw_csum)
{
	uint8_t *udp = ip + DPC_IP4_HLEN;
	uint16_t udp_len = (uint16_t)(DPC_UDP_HLEN + payload_len);

	ip[IP_VIHL] = 0x45;
	ip[IP_TOS] = 0;
	put16(ip + IP_TOTLEN, (uint16_t)(DPC_IP4_HLEN + udp_len));
	put16(ip + IP_ID, 0);
	put16(ip + IP_FRAG, 0);
	ip[IP_TTL] = REPLY_TTL;
	ip[IP_PROTO] = IPPROTO_UDP_;
	memset(ip + IP_CSUM, 0, 2);

	put16(udp + UDP_SPORT, sport);
	put16(udp + UDP_DPORT, dport);
	put16(udp + UDP_LEN, udp_len);
	uint16_t c;
	if (sw_csum) {
		memset(udp + UDP_CSUM, 0, 2);
		c = dpc_udp4_cksum(ip, udp, udp_len);
		memcpy(udp + UDP_CSUM, &c, 2);
		c = dpc_ip4_cksum(ip);
		memcpy(ip + IP_CSUM, &c, 2);
	} else {
		/* what DPDK's TX offload expects: IP 0, UDP = pseudo-header sum */
		c = dpc_udp4_phdr_cksum(ip, udp_len);
		memcpy(udp + UDP_CSUM, &c, 2);
	}
}

void dpc_pkt_udp_reply_hdr(uint8_t *out, const uint8_t *req, const struct dpc_pkt_info *info,
			   uint16_t payload_len, bool sw_csum)
{
	uint8_t mac_dst[6], mac_src[6], ip_dst[4], ip_src[4];
	uint16_t sport, dport;

#ifdef DPC_DEBUG
	if (out == NULL || req == NULL || info == NULL ||
	    payload_len > 0xffffu - DPC_IP4_HLEN - DPC_UDP_HLEN)
		return;
#endif
	/* read everything first: @out may be @req */
	const uint8_t *rip = req + info->l3_off;
	const uint8_t *rudp = req + info->l4_off;
	memcpy(mac_dst, req + ETH_SRC, 6);
	memcpy(mac_src, req + ETH_DST, 6);
	memcpy(ip_dst, rip + IP_SRC, 4);
	memcpy(ip_src, rip + IP_DST, 4);
	sport = get16(rudp + UDP_DPORT);
	dport = get16(rudp + UDP_SPORT);

	memcpy(out + ETH_DST, mac_dst, 6);
	memcpy(out + ETH_SRC, mac_src, 6);
	put16(out + ETH_TYPE, ETHERTYPE_IPV4);
	uint8_t *ip = out + DPC_ETH_HLEN;
	memcpy(ip + IP_SRC, ip_src, 4);
	memcpy(ip + IP_DST, ip_dst, 4);
	fill_ip_udp(ip, sport, dport, payload_len, sw_csum);
}

size_t dpc_pkt_udp_build(uint8_t *out, const uint8_t src_mac[6], const uint8_t dst_mac[6],
			 uint32_t src_ip, uint32_t dst_ip, uint16_t sport, uint16_t dport,
			 uint16_t payload_len, bool sw_csum)
{
	DPC_RETURN_IF(out == NULL || src_mac == NULL || dst_mac == NULL, 0);
	DPC_RETURN_IF(payload_len > 0xffffu - DPC_IP4_HLEN - DPC_UDP_HLEN, 0);
	memcpy(out + ETH_DST, dst_mac, 6);
	memcpy(out + ETH_SRC, src_mac, 6);
	put16(out + ETH_TYPE, ETHERTYPE_IPV4);
	uint8_t *ip = out + DPC_ETH_HLEN;
	memcpy(ip + IP_SRC, &src_ip, 4);
	memcpy(ip + IP_DST, &dst_ip, 4);
	fill_ip_udp(ip, sport, dport, payload_len, sw_csum);
	return DPC_HDRS_LEN + (size_t)payload_len;
}
