/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target: the prefix-list parser (dpc_acl_parse, the `allow`,
 * `trusted` and `admin` settings) and the source checks on a parsed list.
 * Input: byte 0 = subnet_len (mod 33), bytes 1-4 = our address, the rest
 * the list's text.  Invariants: a refused list sets EINVAL and an error;
 * an accepted one has at most DPC_ACL_MAX prefixes, each net within its
 * mask, a text form that parses again to the same prefixes, and matching
 * agrees with a plain scan; the martian test never calls our address good.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dpcache/acl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char text[512], err[256];
	uint32_t self;
	unsigned len;
	struct dpc_acl *a, *b;

	if (size < 5 || size - 5 >= sizeof(text))
		return 0;
	len = data[0] % 33u;
	memcpy(&self, data + 1, 4);
	memcpy(text, data + 5, size - 5);
	text[size - 5] = '\0';
	err[0] = '\0';
	errno = 0;
	a = dpc_acl_parse(text, self, len, err, sizeof(err));
	if (a == NULL) {
		if (errno != EINVAL || err[0] == '\0')
			abort();
		return 0;
	}
	if (a->n > DPC_ACL_MAX || strlen(a->text) >= DPC_ACL_TEXT_MAX)
		abort();
	for (unsigned i = 0; i < a->n; i++)
		if ((a->e[i].net & ~a->e[i].mask) != 0)
			abort();
	b = dpc_acl_parse(a->text, self, len, err, sizeof(err));
	if (b == NULL || b->n != a->n || memcmp(b->e, a->e, a->n * sizeof(a->e[0])) != 0)
		abort();
	for (unsigned k = 0; k < 8; k++) {
		uint32_t ip = self * 2654435761u + k * 0x01000193u;
		bool want = false;

		for (unsigned i = 0; i < a->n; i++)
			want |= (ip & a->e[i].mask) == a->e[i].net;
		if (dpc_acl_match(a, ip) != want)
			abort();
	}
	if (!dpc_ip4_src_martian(__builtin_bswap32(self), __builtin_bswap32(self), len))
		abort();
	dpc_acl_free(a);
	dpc_acl_free(b);
	return 0;
}
