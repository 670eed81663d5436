/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target: Ethernet/ARP/IPv4/UDP/ICMP classification and reply
 * building on arbitrary frames.  Invariants (abort() if broken): offsets
 * and lengths handed out lie inside the frame; every reply we build is
 * accepted by our own classifier from the peer's side, with checksums
 * that verify; ARP replies answer the asker; a fragment's payload lies in
 * the frame and its header, rewritten for the whole datagram, verifies.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dpcache/pkt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAXF 4096

static const uint8_t OUR_MAC[6] = {0x02, 0, 0, 0, 0, 0x01};

static struct dpc_netcfg our_cfg(void)
{
	struct dpc_netcfg c;
	static const uint8_t ip[4] = {198, 18, 0, 1};

	memset(&c, 0, sizeof(c));
	memcpy(c.mac, OUR_MAC, 6);
	memcpy(&c.ip, ip, 4);
	c.port_lo = 11211;
	c.port_count = 4;
	return c;
}

/* Fold-sum in big-endian words (independent of pkt.c). */
static uint32_t sum_be(const uint8_t *p, size_t n, uint32_t acc)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		acc += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		acc += (uint32_t)p[n - 1] << 8;
	while (acc >> 16)
		acc = (acc & 0xffff) + (acc >> 16);
	return acc;
}

static void check_udp_reply(const uint8_t *frame, const struct dpc_pkt_info *info, bool sw)
{
	static uint8_t out[MAXF + 64];
	struct dpc_netcfg peer;
	struct dpc_pkt_info pi;
	uint16_t plen = info->payload_len;

	/* echo the request payload back, as a reply of the same size */
	memcpy(out + DPC_HDRS_LEN, frame + info->payload_off, plen);
	dpc_pkt_udp_reply_hdr(out, frame, info, plen, sw);
	memset(&peer, 0, sizeof(peer));
	memcpy(peer.mac, frame + 6, 6);
	memcpy(&peer.ip, frame + 14 + 12, 4);
	peer.port_lo = (uint16_t)(frame[info->l4_off] << 8 | frame[info->l4_off + 1]);
	peer.port_count = 1;
	if (!sw) {
		/* offload frames: IP checksum 0, UDP field the pseudo-header sum */
		if (out[14 + 10] != 0 || out[14 + 11] != 0)
			abort();
		uint16_t c = dpc_ip4_cksum(out + 14);
		memcpy(out + 14 + 10, &c, 2);
	}
	if (dpc_pkt_classify(out, DPC_HDRS_LEN + plen, &peer, false, &pi) != DPC_PKT_UDP)
		abort();
	if (pi.payload_len != plen || memcmp(out + pi.payload_off, frame + info->payload_off, plen) != 0)
		abort();
	if (sw && sum_be(out + 14, 20, 0) != 0xffff)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t frame[MAXF];
	struct dpc_netcfg cfg = our_cfg();
	struct dpc_pkt_info info;

	if (size > MAXF)
		return 0;
	memcpy(frame, data, size);
	for (int hint = 0; hint <= 1; hint++) {
		enum dpc_pkt_kind k = dpc_pkt_classify(frame, size, &cfg, hint, &info);
		if ((unsigned)k >= DPC_PKT_KIND_MAX || dpc_pkt_kind_name(k) == NULL)
			abort();
		switch (k) {
		case DPC_PKT_UDP:
			if ((size_t)info.payload_off + info.payload_len > size ||
			    info.payload_off != DPC_HDRS_LEN || info.port_index >= cfg.port_count)
				abort();
			check_udp_reply(frame, &info, true);
			check_udp_reply(frame, &info, false);
			break;
		case DPC_PKT_IP_FRAGMENT:
			/* the IP payload lies inside the frame; offset + length fit 16 bits */
			if (!info.is_fragment || info.payload_off != 34 ||
			    (size_t)info.payload_off + info.payload_len > size ||
			    (info.frag_off & 7) != 0)
				abort();
			if (info.frag_off == 0) {
				/* rewritten for a whole datagram, its header verifies */
				dpc_pkt_ip4_unfragment(frame, info.payload_len);
				if (sum_be(frame + 14, 20, 0) != 0xffff ||
				    (frame[14 + 6] | frame[14 + 7]) != 0)
					abort();
				memcpy(frame, data, size);
			}
			break;
		case DPC_PKT_ARP_REQUEST: {
			uint8_t asker[6];
			memcpy(asker, frame + 6, 6); /* the reply goes to the Ethernet source */
			size_t n = dpc_pkt_arp_reply(frame, size, &cfg);
			if (n < 42 || n > size || memcmp(frame, asker, 6) != 0 ||
			    memcmp(frame + 14 + 8, OUR_MAC, 6) != 0)
				abort();
			memcpy(frame, data, size);
			break;
		}
		case DPC_PKT_ICMP_ECHO: {
			size_t n = dpc_pkt_icmp_reply(frame, size, &info);
			if (n < 42 || n > size)
				abort();
			if (sum_be(frame + 14, 20, 0) != 0xffff || sum_be(frame + 34, n - 34, 0) != 0xffff)
				abort();
			memcpy(frame, data, size);
			break;
		}
		default:
			break;
		}
	}
	return 0;
}
