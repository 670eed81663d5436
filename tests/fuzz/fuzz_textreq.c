/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target: the memcached text protocol parser (dpc_txt_parse) on
 * arbitrary bytes, command after command.  Invariants (abort() if
 * broken): consumed bytes never exceed the input; every pointer lies
 * inside it; a refused command carries an answer; single-key commands
 * have a key of 1..250 bytes; a storage command's data block ends in
 * CRLF and fits max_value; key lists yield only non-empty keys <= 250.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dpcache/proto.h"
#include "dpcache/textproto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void inside(const uint8_t *p, size_t n, const uint8_t *lo, const uint8_t *hi)
{
	if (p != NULL && (p < lo || p + n > hi))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint32_t max_value = size > 0 ? 8u * data[0] : 64;
	size_t off = size > 0 ? 1 : 0;

	while (off < size) {
		struct dpc_txt_req r;
		const uint8_t *buf = data + off, *end = data + size;
		int n = dpc_txt_parse(buf, size - off, max_value, &r);

		if (n < 0) {
			if (n != DPC_MC_PARSE_TRUNCATED || memchr(buf, '\n', size - off) != NULL)
				abort();
			break;
		}
		if (n == 0 || (size_t)n > size - off)
			abort();
		inside(r.key, r.keylen, buf, buf + n);
		inside(r.value, r.vlen, buf, buf + n);
		inside(r.arg, r.arglen, buf, buf + n);
		switch (r.cmd) {
		case DPC_TXT_ERROR:
			if (r.error == NULL || r.error[0] == 0)
				abort();
			break;
		case DPC_TXT_SET: case DPC_TXT_ADD: case DPC_TXT_REPLACE: case DPC_TXT_APPEND:
		case DPC_TXT_PREPEND: case DPC_TXT_CAS:
			if (r.vlen > max_value || r.value == NULL || r.value + r.vlen + 2 > end ||
			    r.value[r.vlen] != '\r' || r.value[r.vlen + 1] != '\n')
				abort();
			/* fall through */
		case DPC_TXT_DELETE: case DPC_TXT_INCR: case DPC_TXT_DECR: case DPC_TXT_TOUCH:
			if (r.key == NULL || r.keylen == 0 || r.keylen > DPC_KEY_MAX)
				abort();
			break;
		case DPC_TXT_GET: case DPC_TXT_GETS: case DPC_TXT_GAT: case DPC_TXT_GATS: {
			const uint8_t *it = r.keys, *k;
			size_t kl;
			unsigned nk = 0;
			inside(r.keys, (size_t)(r.keys_end - r.keys), buf, buf + n);
			while ((kl = dpc_txt_next_key(&it, r.keys_end, &k)) != 0) {
				if (kl > DPC_KEY_MAX || memchr(k, ' ', kl) != NULL)
					abort();
				inside(k, kl, buf, buf + n);
				nk++;
			}
			/* get/gets need a key; "gat <exptime>" alone is answered END */
			if (nk == 0 && (r.cmd == DPC_TXT_GET || r.cmd == DPC_TXT_GETS))
				abort();
			break;
		}
		default:
			break;
		}
		off += (size_t)n;
	}
	return 0;
}
