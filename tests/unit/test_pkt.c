/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Packet parsing and reply building (lib/pkt.c).  Frames are written byte
 * by byte here and checksums are verified with an independent, naive
 * big-endian implementation, so a bug shared by builder and checker in
 * pkt.c cannot hide.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "dpcache/pkt.h"
#include "dpcache/stats.h"

static const uint8_t OUR_MAC[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
static const uint8_t PEER_MAC[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x02};
static const uint8_t OUR_IP[4] = {198, 18, 0, 1};
static const uint8_t PEER_IP[4] = {198, 18, 0, 2};
#define PORT_LO 11211
#define PORT_N 4

static struct dpc_netcfg cfg(void)
{
	struct dpc_netcfg c;

	memset(&c, 0, sizeof(c));
	memcpy(c.mac, OUR_MAC, 6);
	memcpy(&c.ip, OUR_IP, 4);
	c.port_lo = PORT_LO;
	c.port_count = PORT_N;
	return c;
}

/* ---- independent reference checksum (big-endian words, 32-bit acc) ---- */
static uint32_t ref_add(const uint8_t *p, size_t n, uint32_t acc)
{
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		acc += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		acc += (uint32_t)p[n - 1] << 8;
	return acc;
}

static uint16_t ref_fold(uint32_t acc)
{
	while (acc >> 16)
		acc = (acc & 0xffff) + (acc >> 16);
	return (uint16_t)acc;
}

static uint32_t ref_pseudo(const uint8_t *ip, unsigned udp_len)
{
	uint32_t acc = ref_add(ip + 12, 8, 0);

	return acc + 17 + udp_len;
}

static unsigned be16(const uint8_t *p) { return (unsigned)(p[0] << 8 | p[1]); }
static void put_be16(uint8_t *p, unsigned v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }

/* Is the IPv4 header checksum right? */
static int ip_ok(const uint8_t *ip) { return ref_fold(ref_add(ip, 20, 0)) == 0xffff; }

/* Is the full UDP checksum right (over udp_len bytes)? */
static int udp_ok(const uint8_t *ip)
{
	const uint8_t *udp = ip + 20;
	unsigned ulen = be16(udp + 4);

	return ref_fold(ref_add(udp, ulen, ref_pseudo(ip, ulen))) == 0xffff;
}

/* Set a correct IPv4 header checksum, independently of pkt.c. */
static void ip_fix(uint8_t *ip)
{
	ip[10] = ip[11] = 0;
	put_be16(ip + 10, (uint16_t)~ref_fold(ref_add(ip, 20, 0)));
}

static void udp_fix(uint8_t *ip)
{
	uint8_t *udp = ip + 20;
	unsigned ulen = be16(udp + 4);
	uint16_t c;

	udp[6] = udp[7] = 0;
	c = (uint16_t)~ref_fold(ref_add(udp, ulen, ref_pseudo(ip, ulen)));
	put_be16(udp + 6, c ? c : 0xffff);
}

/*
 * A UDP request frame from the peer to us, by hand: @plen payload bytes,
 * correct checksums.  Returns the frame length (at least 60: padded).
 */
static size_t mk_udp(uint8_t *f, unsigned dport, const void *payload, unsigned plen)
{
	memset(f, 0, 2048);
	memcpy(f, OUR_MAC, 6);
	memcpy(f + 6, PEER_MAC, 6);
	put_be16(f + 12, 0x0800);
	uint8_t *ip = f + 14;
	ip[0] = 0x45;
	put_be16(ip + 2, 28 + plen);
	put_be16(ip + 4, 0x1234);
	put_be16(ip + 6, 0x4000); /* DF */
	ip[8] = 64;
	ip[9] = 17;
	memcpy(ip + 12, PEER_IP, 4);
	memcpy(ip + 16, OUR_IP, 4);
	uint8_t *udp = ip + 20;
	put_be16(udp, 40000);
	put_be16(udp + 2, dport);
	put_be16(udp + 4, 8 + plen);
	memcpy(udp + 8, payload, plen);
	ip_fix(ip);
	udp_fix(ip);
	size_t len = 42 + plen;
	return len < 60 ? 60 : len;
}

static size_t mk_arp(uint8_t *f, unsigned oper, const uint8_t tpa[4])
{
	memset(f, 0, 2048);
	memset(f, 0xff, 6);
	memcpy(f + 6, PEER_MAC, 6);
	put_be16(f + 12, 0x0806);
	uint8_t *a = f + 14;
	put_be16(a, 1);
	put_be16(a + 2, 0x0800);
	a[4] = 6;
	a[5] = 4;
	put_be16(a + 6, oper);
	memcpy(a + 8, PEER_MAC, 6);
	memcpy(a + 14, PEER_IP, 4);
	memcpy(a + 24, tpa, 4);
	return 60;
}

static size_t mk_icmp(uint8_t *f, unsigned type, unsigned datalen)
{
	memset(f, 0, 2048);
	memcpy(f, OUR_MAC, 6);
	memcpy(f + 6, PEER_MAC, 6);
	put_be16(f + 12, 0x0800);
	uint8_t *ip = f + 14;
	ip[0] = 0x45;
	put_be16(ip + 2, 20 + 8 + datalen);
	ip[8] = 64;
	ip[9] = 1;
	memcpy(ip + 12, PEER_IP, 4);
	memcpy(ip + 16, OUR_IP, 4);
	ip_fix(ip);
	uint8_t *ic = ip + 20;
	ic[0] = (uint8_t)type;
	put_be16(ic + 4, 0xbeef); /* id */
	put_be16(ic + 6, 7);      /* seq */
	for (unsigned i = 0; i < datalen; i++)
		ic[8 + i] = (uint8_t)(i * 7 + 1);
	put_be16(ic + 2, (uint16_t)~ref_fold(ref_add(ic, 8 + datalen, 0)));
	size_t len = 14 + 28 + datalen;
	return len < 60 ? 60 : len;
}

static enum dpc_pkt_kind classify(const uint8_t *f, size_t len, struct dpc_pkt_info *info)
{
	struct dpc_netcfg c = cfg();

	return dpc_pkt_classify(f, len, &c, false, info);
}

/* ---- tests ---------------------------------------------------------------- */

static void test_udp_ok(void **state)
{
	(void)state;
	uint8_t f[2048];
	struct dpc_pkt_info info;
	const char payload[] = "0123456789abcdefXYZ";
	size_t len = mk_udp(f, PORT_LO + 2, payload, sizeof(payload) - 1);

	assert_int_equal(classify(f, len, &info), DPC_PKT_UDP);
	assert_int_equal(info.l3_off, 14);
	assert_int_equal(info.l4_off, 34);
	assert_int_equal(info.payload_off, 42);
	assert_int_equal(info.payload_len, sizeof(payload) - 1);
	assert_int_equal(info.dst_port, PORT_LO + 2);
	assert_int_equal(info.port_index, 2);
	assert_memory_equal(f + info.payload_off, payload, sizeof(payload) - 1);

	/* odd payload length and a long one */
	uint8_t big[1400];
	for (unsigned i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 13);
	len = mk_udp(f, PORT_LO, big, 1399);
	assert_int_equal(classify(f, len, &info), DPC_PKT_UDP);
	assert_int_equal(info.payload_len, 1399);
	assert_int_equal(info.port_index, 0);
}

static void test_udp_padding(void **state)
{
	(void)state;
	uint8_t f[2048];
	struct dpc_pkt_info info;
	size_t len = mk_udp(f, PORT_LO, "ab", 2);

	/* the frame is 60 bytes; the padding is garbage, not payload */
	assert_int_equal(len, 60);
	memset(f + 44, 0xa5, 16);
	assert_int_equal(classify(f, len, &info), DPC_PKT_UDP);
	assert_int_equal(info.payload_len, 2);

	/* IP total length shorter than the UDP length: refused */
	len = mk_udp(f, PORT_LO, "abcdef", 6);
	put_be16(f + 14 + 2, 28 + 2);
	ip_fix(f + 14);
	assert_int_equal(classify(f, len, &info), DPC_PKT_DROP_UDP_LEN);
}

static void test_udp_checksums(void **state)
{
	(void)state;
	uint8_t f[2048];
	struct dpc_pkt_info info;
	struct dpc_netcfg c = cfg();
	size_t len = mk_udp(f, PORT_LO, "hello world", 11);
	uint8_t *ip = f + 14, *udp = ip + 20;

	/* zero = no checksum: accepted */
	udp[6] = udp[7] = 0;
	assert_int_equal(classify(f, len, &info), DPC_PKT_UDP);

	/* corrupt: dropped, unless the NIC vouched for it */
	udp_fix(ip);
	udp[9] ^= 0x40;
	assert_int_equal(classify(f, len, &info), DPC_PKT_DROP_UDP_CSUM);
	assert_int_equal(dpc_pkt_classify(f, len, &c, true, &info), DPC_PKT_UDP);

	/* partial checksum from a kernel peer (CHECKSUM_PARTIAL over veth) */
	put_be16(udp + 6, ref_fold(ref_pseudo(ip, 8 + 11)));
	assert_int_equal(classify(f, len, &info), DPC_PKT_UDP);
	assert_int_equal(info.payload_len, 11);
	/* ... but a partial sum that is off by one is not */
	put_be16(udp + 6, (ref_fold(ref_pseudo(ip, 8 + 11)) + 1) & 0xffff);
	assert_int_equal(classify(f, len, &info), DPC_PKT_DROP_UDP_CSUM);

	/* the pseudo-header helper agrees with the reference */
	uint16_t ph = dpc_udp4_phdr_cksum(ip, 19);
	assert_int_equal(be16((uint8_t *)&ph), ref_fold(ref_pseudo(ip, 19)));
}

static void test_checksum_helpers(void **state)
{
	(void)state;
	uint8_t f[2048];
	size_t len = mk_udp(f, PORT_LO, "xyz", 3);
	uint8_t *ip = f + 14, *udp = ip + 20;
	uint8_t want_ip[2], want_udp[2];

	(void)len;
	memcpy(want_ip, ip + 10, 2);
	memcpy(want_udp, udp + 6, 2);
	ip[10] = ip[11] = 0;
	udp[6] = udp[7] = 0;
	uint16_t c = dpc_ip4_cksum(ip);
	assert_memory_equal(&c, want_ip, 2);
	c = dpc_udp4_cksum(ip, udp, 11);
	assert_memory_equal(&c, want_udp, 2);
	/* with the field in place the header sums to zero */
	memcpy(ip + 10, want_ip, 2);
	assert_int_equal(dpc_ip4_cksum(ip), 0);
}

static void test_arp(void **state)
{
	(void)state;
	uint8_t f[2048];
	struct dpc_pkt_info info;
	struct dpc_netcfg c = cfg();
	size_t len = mk_arp(f, 1, OUR_IP);

	assert_int_equal(classify(f, len, &info), DPC_PKT_ARP_REQUEST);
	size_t out = dpc_pkt_arp_reply(f, len, &c);
	assert_int_equal(out, 60);
	assert_memory_equal(f, PEER_MAC, 6);          /* eth dst */
	assert_memory_equal(f + 6, OUR_MAC, 6);       /* eth src */
	assert_int_equal(be16(f + 12), 0x0806);
	const uint8_t *a = f + 14;
	assert_int_equal(be16(a), 1);
	assert_int_equal(be16(a + 2), 0x0800);
	assert_int_equal(a[4], 6);
	assert_int_equal(a[5], 4);
	assert_int_equal(be16(a + 6), 2);              /* reply */
	assert_memory_equal(a + 8, OUR_MAC, 6);        /* sha */
	assert_memory_equal(a + 14, OUR_IP, 4);        /* spa */
	assert_memory_equal(a + 18, PEER_MAC, 6);      /* tha */
	assert_memory_equal(a + 24, PEER_IP, 4);       /* tpa */
	for (unsigned i = 42; i < 60; i++)
		assert_int_equal(f[i], 0);

	/* a 42-byte request (no padding) gets a 42-byte reply */
	len = mk_arp(f, 1, OUR_IP);
	assert_int_equal(dpc_pkt_arp_reply(f, 42, &c), 42);

	/* a forged sender hardware address does not aim the reply at a third host:
	 * it goes to the frame's Ethernet source */
	static const uint8_t victim[6] = {0x02, 0x99, 0x99, 0x99, 0x99, 0x99};
	len = mk_arp(f, 1, OUR_IP);
	memcpy(f + 14 + 8, victim, 6);
	assert_int_equal(classify(f, len, &info), DPC_PKT_ARP_REQUEST);
	dpc_pkt_arp_reply(f, len, &c);
	assert_memory_equal(f, PEER_MAC, 6);

	/* for someone else, a reply, a truncated one: not answered */
	static const uint8_t other[4] = {198, 18, 0, 9};
	len = mk_arp(f, 1, other);
	assert_int_equal(classify(f, len, &info), DPC_PKT_DROP_ARP_OTHER);
	/* a reply to our address is the kernel's (exception path); one to another is dropped */
	len = mk_arp(f, 2, OUR_IP);
	assert_int_equal(classify(f, len, &info), DPC_PKT_ARP_REPLY);
	len = mk_arp(f, 2, other);
	assert_int_equal(classify(f, len, &info), DPC_PKT_DROP_ARP_OTHER);
	len = mk_arp(f, 3, OUR_IP); /* RARP request: neither */
	assert_int_equal(classify(f, len, &info), DPC_PKT_DROP_ARP_OTHER);
	len = mk_arp(f, 1, OUR_IP);
	f[14 + 4] = 8; /* hlen */
	assert_int_equal(classify(f, len, &info), DPC_PKT_DROP_ARP_OTHER);
	len = mk_arp(f, 1, OUR_IP);
	assert_int_equal(classify(f, 41, &info), DPC_PKT_DROP_SHORT);
}

static void test_icmp(void **state)
{
	(void)state;
	uint8_t f[2048], orig[2048];
	struct dpc_pkt_info info;

	for (unsigned datalen = 0; datalen <= 57; datalen += 19) {
		size_t len = mk_icmp(f, 8, datalen);
		memcpy(orig, f, sizeof(f));
		assert_int_equal(classify(f, len, &info), DPC_PKT_ICMP_ECHO);
		size_t out = dpc_pkt_icmp_reply(f, len, &info);
		assert_int_equal(out, 14 + 28 + datalen);
		assert_memory_equal(f, PEER_MAC, 6);
		assert_memory_equal(f + 6, OUR_MAC, 6);
		const uint8_t *ip = f + 14, *ic = ip + 20;
		assert_true(ip_ok(ip));
		assert_memory_equal(ip + 12, OUR_IP, 4);
		assert_memory_equal(ip + 16, PEER_IP, 4);
		assert_int_equal(ic[0], 0);
		assert_int_equal(ic[1], 0);
		/* id, seq and data echoed; checksum independently right */
		assert_memory_equal(ic + 4, orig + 14 + 20 + 4, 4 + datalen);
		assert_int_equal(ref_fold(ref_add(ic, 8 + datalen, 0)), 0xffff);
	}

	size_t len = mk_icmp(f, 0, 8); /* an echo reply is not answered */
	assert_int_equal(classify(f, len, &info), DPC_PKT_DROP_PROTO);
	len = mk_icmp(f, 8, 8);
	f[14 + 20 + 9] ^= 1; /* corrupt the data */
	assert_int_equal(classify(f, len, &info), DPC_PKT_DROP_PROTO);
}

static void test_drops(void **state)
{
	(void)state;
	uint8_t f[2048];
	struct dpc_pkt_info info;
	uint8_t *ip = f + 14, *udp = ip + 20;
	size_t len;

	len = mk_udp(f, PORT_LO, "x", 1);
	assert_int_equal(classify(f, 13, &info), DPC_PKT_DROP_SHORT);
	assert_int_equal(classify(f, 33, &info), DPC_PKT_DROP_SHORT);

	put_be16(f + 12, 0x86dd);
	assert_int_equal(classify(f, len, &info), DPC_PKT_DROP_ETHERTYPE);
	put_be16(f + 12, 0x8100);
	assert_int_equal(classify(f, len, &info), DPC_PKT_DROP_ETHERTYPE);

	len = mk_udp(f, PORT_LO, "x", 1);
	ip[0] = 0x65;
	ip_fix(ip);
	assert_int_equal(classify(f, len, &info), DPC_PKT_DROP_IP_VERSION);

	len = mk_udp(f, PORT_LO, "x", 1);
	ip[0] = 0x46;
	ip_fix(ip);
	assert_int_equal(classify(f, len, &info), DPC_PKT_DROP_IP_OPTIONS);
	ip[0] = 0x44;
	assert_int_equal(classify(f, len, &info), DPC_PKT_DROP_IP_OPTIONS);

	/* fragments are handed to reassembly with their offset, MF and id */
	len = mk_udp(f, PORT_LO, "x", 1);
	put_be16(ip + 4, 0xbeef);
	put_be16(ip + 6, 0x2000); /* MF */
	ip_fix(ip);
	assert_int_equal(classify(f, len, &info), DPC_PKT_IP_FRAGMENT);
	assert_int_equal(info.is_fragment, 1);
	assert_int_equal(info.frag_off, 0);
	assert_int_equal(info.frag_more, 1);
	assert_int_equal(info.ip_id, 0xbeef);
	assert_int_equal(info.payload_off, 34);
	assert_int_equal(info.payload_len, 8 + 1);
	put_be16(ip + 6, 0x4000 | 185); /* DF + offset */
	ip_fix(ip);
	assert_int_equal(classify(f, len, &info), DPC_PKT_IP_FRAGMENT);
	assert_int_equal(info.frag_off, 185 * 8);
	assert_int_equal(info.frag_more, 0);
	/* a fragment keeps the IP checks: checksum, destination, protocol */
	ip[9] = 6;
	ip_fix(ip);
	assert_int_equal(classify(f, len, &info), DPC_PKT_DROP_PROTO);
	ip[9] = 17;
	ip[16 + 3] ^= 1;
	ip_fix(ip);
	assert_int_equal(classify(f, len, &info), DPC_PKT_DROP_NOT_US);
	ip[16 + 3] ^= 1;
	ip_fix(ip);
	ip[10] ^= 1;
	assert_int_equal(classify(f, len, &info), DPC_PKT_DROP_IP_CSUM);
	/* a whole datagram is not a fragment */
	len = mk_udp(f, PORT_LO, "x", 1);
	assert_int_equal(classify(f, len, &info), DPC_PKT_UDP);
	assert_int_equal(info.is_fragment, 0);

	len = mk_udp(f, PORT_LO, "x", 1);
	put_be16(ip + 2, (unsigned)(len - 14 + 1)); /* longer than the frame */
	ip_fix(ip);
	assert_int_equal(classify(f, len, &info), DPC_PKT_DROP_IP_LEN);
	put_be16(ip + 2, 19);
	ip_fix(ip);
	assert_int_equal(classify(f, len, &info), DPC_PKT_DROP_IP_LEN);
	/* a frame truncated below its IP length */
	len = mk_udp(f, PORT_LO, "0123456789012345678901234567890123456789", 40);
	assert_int_equal(classify(f, len - 1, &info), DPC_PKT_DROP_IP_LEN);

	len = mk_udp(f, PORT_LO, "x", 1);
	ip[8] = 63; /* TTL changed, checksum not */
	assert_int_equal(classify(f, len, &info), DPC_PKT_DROP_IP_CSUM);

	len = mk_udp(f, PORT_LO, "x", 1);
	ip[19] = 7;
	ip_fix(ip);
	assert_int_equal(classify(f, len, &info), DPC_PKT_DROP_NOT_US);
	memset(ip + 16, 0xff, 4);
	ip_fix(ip);
	assert_int_equal(classify(f, len, &info), DPC_PKT_DROP_NOT_US);

	len = mk_udp(f, PORT_LO, "x", 1);
	ip[9] = 6; /* TCP to us: for the kernel (exception path) */
	ip_fix(ip);
	assert_int_equal(classify(f, len, &info), DPC_PKT_TCP);
	ip[9] = 132; /* SCTP */
	ip_fix(ip);
	assert_int_equal(classify(f, len, &info), DPC_PKT_DROP_PROTO);
	ip[9] = 6; /* TCP to someone else */
	ip[19] = 7;
	ip_fix(ip);
	assert_int_equal(classify(f, len, &info), DPC_PKT_DROP_NOT_US);

	/* UDP header cut off by the IP length */
	len = mk_udp(f, PORT_LO, "x", 1);
	put_be16(ip + 2, 27);
	ip_fix(ip);
	assert_int_equal(classify(f, len, &info), DPC_PKT_DROP_SHORT);

	len = mk_udp(f, PORT_LO, "x", 1);
	put_be16(udp + 4, 7);
	udp_fix(ip);
	assert_int_equal(classify(f, len, &info), DPC_PKT_DROP_UDP_LEN);
	put_be16(udp + 4, 10); /* more than the IP payload */
	assert_int_equal(classify(f, len, &info), DPC_PKT_DROP_UDP_LEN);

	len = mk_udp(f, PORT_LO, "x", 1);
	udp[8] ^= 1;
	assert_int_equal(classify(f, len, &info), DPC_PKT_DROP_UDP_CSUM);

	len = mk_udp(f, PORT_LO - 1, "x", 1);
	assert_int_equal(classify(f, len, &info), DPC_PKT_DROP_UDP_PORT);
	len = mk_udp(f, PORT_LO + PORT_N, "x", 1);
	assert_int_equal(classify(f, len, &info), DPC_PKT_DROP_UDP_PORT);
	len = mk_udp(f, PORT_LO + PORT_N - 1, "x", 1);
	assert_int_equal(classify(f, len, &info), DPC_PKT_UDP);
}

static void check_reply(const uint8_t *out, unsigned plen, const char *payload, bool sw)
{
	const uint8_t *ip = out + 14, *udp = ip + 20;

	assert_memory_equal(out, PEER_MAC, 6);
	assert_memory_equal(out + 6, OUR_MAC, 6);
	assert_int_equal(be16(out + 12), 0x0800);
	assert_int_equal(ip[0], 0x45);
	assert_int_equal(be16(ip + 2), 28 + plen);
	assert_int_equal(be16(ip + 6) & 0x3fff, 0);
	assert_true(ip[8] > 0);
	assert_int_equal(ip[9], 17);
	assert_memory_equal(ip + 12, OUR_IP, 4);
	assert_memory_equal(ip + 16, PEER_IP, 4);
	assert_int_equal(be16(udp), PORT_LO + 1);
	assert_int_equal(be16(udp + 2), 40000);
	assert_int_equal(be16(udp + 4), 8 + plen);
	assert_memory_equal(udp + 8, payload, plen);
	if (sw) {
		assert_true(ip_ok(ip));
		assert_true(udp_ok(ip));
		assert_true(be16(udp + 6) != 0);
	} else {
		assert_int_equal(be16(ip + 10), 0);
		assert_int_equal(be16(udp + 6), ref_fold(ref_pseudo(ip, 8 + plen)));
	}
}

/* The first fragment's header, rewritten for the whole datagram, classifies as UDP. */
static void test_unfragment(void **state)
{
	(void)state;
	uint8_t f[2048];
	struct dpc_pkt_info info;
	uint8_t *ip = f + 14;
	size_t len = mk_udp(f, PORT_LO + 2, "0123456789abcdef", 16);

	put_be16(ip + 6, 0x2000);
	ip_fix(ip);
	assert_int_equal(classify(f, len, &info), DPC_PKT_IP_FRAGMENT);
	dpc_pkt_ip4_unfragment(f, info.payload_len);
	assert_true(ip_ok(ip));
	assert_int_equal(be16(ip + 6), 0);
	assert_int_equal(classify(f, len, &info), DPC_PKT_UDP);
	assert_int_equal(info.port_index, 2);
	assert_int_equal(info.payload_len, 16);
}

static void test_udp_reply(void **state)
{
	(void)state;
	uint8_t f[2048], out[2048];
	struct dpc_pkt_info info;
	const char *resp = "a response that is somewhat longer than the request, odd-sized!";
	unsigned rlen = (unsigned)strlen(resp);

	for (int sw = 0; sw <= 1; sw++) {
		/* into another buffer */
		size_t len = mk_udp(f, PORT_LO + 1, "req", 3);
		assert_int_equal(classify(f, len, &info), DPC_PKT_UDP);
		memset(out, 0xcc, sizeof(out));
		memcpy(out + 42, resp, rlen);
		dpc_pkt_udp_reply_hdr(out, f, &info, (uint16_t)rlen, sw);
		check_reply(out, rlen, resp, sw);

		/* in place */
		memcpy(f + 42, resp, rlen);
		dpc_pkt_udp_reply_hdr(f, f, &info, (uint16_t)rlen, sw);
		check_reply(f, rlen, resp, sw);
		/* and what we send is what we accept */
		if (sw) {
			struct dpc_netcfg c = cfg();
			memcpy(c.mac, PEER_MAC, 6);
			memcpy(&c.ip, PEER_IP, 4);
			c.port_lo = 40000;
			c.port_count = 1;
			assert_int_equal(dpc_pkt_classify(f, 42 + rlen, &c, false, &info), DPC_PKT_UDP);
			assert_int_equal(info.payload_len, rlen);
		}
	}
}

static void test_udp_build(void **state)
{
	(void)state;
	uint8_t f[2048];
	struct dpc_pkt_info info;
	uint32_t src, dst;

	memcpy(&src, PEER_IP, 4);
	memcpy(&dst, OUR_IP, 4);
	for (int sw = 0; sw <= 1; sw++) {
		memset(f, 0, sizeof(f));
		memcpy(f + 42, "get-me", 6);
		size_t len = dpc_pkt_udp_build(f, PEER_MAC, OUR_MAC, src, dst, 40000, PORT_LO + 3, 6, sw);
		assert_int_equal(len, 48);
		const uint8_t *ip = f + 14;
		if (sw) {
			assert_true(ip_ok(ip));
			assert_true(udp_ok(ip));
		} else {
			assert_int_equal(be16(ip + 10), 0);
			assert_int_equal(be16(ip + 20 + 6), ref_fold(ref_pseudo(ip, 14)));
			/* offload-style frames are still accepted as partial checksums */
			uint16_t c = dpc_ip4_cksum(ip);
			memcpy(f + 14 + 10, &c, 2);
		}
		/* padded to the minimum frame size, as a NIC would */
		assert_int_equal(classify(f, 60, &info), DPC_PKT_UDP);
		assert_int_equal(info.port_index, 3);
		assert_int_equal(info.payload_len, 6);
		assert_memory_equal(f + info.payload_off, "get-me", 6);
	}
}

static void test_kind_names(void **state)
{
	(void)state;
	for (int k = 0; k < DPC_PKT_KIND_MAX; k++) {
		const char *n = dpc_pkt_kind_name((enum dpc_pkt_kind)k);
		assert_non_null(n);
		assert_string_not_equal(n, "unknown");
		for (int j = 0; j < k; j++)
			assert_string_not_equal(n, dpc_pkt_kind_name((enum dpc_pkt_kind)j));
	}
	assert_string_equal(dpc_pkt_kind_name(DPC_PKT_KIND_MAX), "unknown");
}

/* Every drop kind is counted under the counter of its own name, and only there. */
static void test_drop_accounting(void **state)
{
	(void)state;
	struct dpc_worker_stats st;
	unsigned ndrops = 0;

	for (int k = 0; k < DPC_PKT_KIND_MAX; k++) {
		const char *n = dpc_pkt_kind_name((enum dpc_pkt_kind)k);
		uint64_t sum = 0, mine = 0;
		bool found = false;

		dpc_stats_reset(&st);
		dpc_stat_count_drop(&st, (enum dpc_pkt_kind)k);
		for (unsigned i = 0; i < DPC_WORKER_STATS_N; i++) {
			sum += dpc_stat_get(&st, i);
			if (strcmp(dpc_stat_names[i], n) == 0) {
				found = true;
				mine = dpc_stat_get(&st, i);
			}
		}
		if (dpc_pkt_kind_is_drop((enum dpc_pkt_kind)k)) {
			ndrops++;
			assert_true(found);
			assert_int_equal(mine, 1);
			assert_int_equal(sum, 1);
			assert_int_equal(strncmp(n, "drop_", 5), 0);
		} else {
			assert_int_equal(sum, 0); /* served kinds are not drops */
		}
	}
	assert_true(ndrops >= 13);
	assert_false(dpc_pkt_kind_is_drop(DPC_PKT_UDP));
	assert_true(dpc_pkt_kind_is_drop(DPC_PKT_DROP_UDP_PORT));
	assert_false(dpc_pkt_kind_is_drop(DPC_PKT_KIND_MAX));
	dpc_stats_reset(&st);
	dpc_stat_count_drop(&st, DPC_PKT_KIND_MAX);
	for (unsigned i = 0; i < DPC_WORKER_STATS_N; i++)
		assert_int_equal(dpc_stat_get(&st, i), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_udp_ok),
		cmocka_unit_test(test_udp_padding),
		cmocka_unit_test(test_udp_checksums),
		cmocka_unit_test(test_checksum_helpers),
		cmocka_unit_test(test_arp),
		cmocka_unit_test(test_icmp),
		cmocka_unit_test(test_drops),
		cmocka_unit_test(test_unfragment),
		cmocka_unit_test(test_udp_reply),
		cmocka_unit_test(test_udp_build),
		cmocka_unit_test(test_kind_names),
		cmocka_unit_test(test_drop_accounting),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
