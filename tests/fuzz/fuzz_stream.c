/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target: the TCP stream framer (dpc_stream_next) on arbitrary
 * bytes, request after request, in both protocols.  Invariants (abort()
 * if broken): a framed request lies inside the input and is no longer
 * than req_max; "need more" is never said of input already past req_max;
 * a write's key lies inside its request and is 1..250 bytes; a complete
 * text request is a whole line (plus a data block ending in CRLF for
 * storage commands, when the line announces one); the too-large answer
 * fits its buffer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dpcache/stream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum dpc_stream_proto proto;
	size_t req_max, off = 2;
	uint8_t out[DPC_STREAM_ERR_MAX];

	if (size < 2)
		return 0;
	proto = (data[0] & 1) ? DPC_STREAM_BIN : DPC_STREAM_TEXT;
	req_max = 24 + 16u * data[1];
	while (off < size) {
		struct dpc_stream_req r;
		const uint8_t *buf = data + off;
		size_t len = size - off;
		int n = dpc_stream_next(proto, buf, len, req_max, 1000, &r);

		if (n == 0) {
			if (len >= req_max && proto == DPC_STREAM_TEXT)
				abort(); /* a line past the limit must be refused, not waited for */
			break;
		}
		if (n < 0) {
			if (n != DPC_STREAM_TOO_LARGE && n != DPC_STREAM_BAD_MAGIC)
				abort();
			if (n == DPC_STREAM_TOO_LARGE &&
			    dpc_stream_too_large(proto, buf, len, out) > sizeof(out))
				abort();
			break;
		}
		if ((size_t)n > len || (size_t)n > req_max || r.len != (uint32_t)n)
			abort();
		if (r.write && (r.key == NULL || r.keylen == 0 || r.keylen > 250 || r.key < buf ||
				r.key + r.keylen > buf + n))
			abort();
		if (proto == DPC_STREAM_TEXT && memchr(buf, '\n', (size_t)n) == NULL)
			abort();
		off += (size_t)n;
	}
	return 0;
}
