/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target: the memcached UDP frame header (dpc_frame_decode /
 * dpc_frame_encode).  Invariants: short input is refused; a decoded header
 * re-encodes to the same 8 bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dpcache/proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dpc_udp_frame f;
	uint8_t out[DPC_UDP_FRAME_LEN];
	int rc = dpc_frame_decode(data, size, &f);

	if (size < DPC_UDP_FRAME_LEN) {
		if (rc != -EINVAL)
			abort();
		return 0;
	}
	if (rc != 0)
		abort();
	dpc_frame_encode(out, &f);
	if (memcmp(out, data, DPC_UDP_FRAME_LEN) != 0)
		abort();
	/* what a datagram must look like to be served */
	if (f.total == 1 && f.seq == 0 && size > DPC_UDP_FRAME_LEN) {
		struct dpc_mc_req req;
		int n = dpc_mc_parse(data + DPC_UDP_FRAME_LEN, size - DPC_UDP_FRAME_LEN,
				     DPC_VALUE_MAX_DEFAULT, &req);
		if (n > 0 && (size_t)n > size - DPC_UDP_FRAME_LEN)
			abort();
	}
	return 0;
}
