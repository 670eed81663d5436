/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target: the control plane's parsers (lib/ctlproto.c) on
 * arbitrary bytes: the control request line (framing, then parsing) and
 * the HTTP request head of the Prometheus endpoint (framing, then parsing).
 * Every input goes to both.  Invariants (abort() if broken):
 *  - framing: a positive length ends at the first '\n' (control) or at the
 *    first empty line (HTTP) and lies within the input and the size limit;
 *    0 only while the input is short of the limit; -EMSGSIZE only at it;
 *  - parsing: 0 or -EINVAL (control) with an error text, words copied out
 *    NUL-terminated, printable, shorter than DPC_CTL_WORD_MAX; an HTTP
 *    status among 200/400/405/505, 200 only for GET or HEAD.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dpcache/ctlproto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_word(const char *w)
{
	size_t n = strnlen(w, DPC_CTL_WORD_MAX), i;

	if (n >= DPC_CTL_WORD_MAX)
		abort();
	for (i = 0; i < n; i++)
		if ((unsigned char)w[i] <= ' ' || (unsigned char)w[i] > 0x7e)
			abort();
}

static void fuzz_ctl(const uint8_t *data, size_t size)
{
	struct dpc_ctl_req r;
	char err[256];
	long n = dpc_ctl_req_frame(data, size);
	const uint8_t *nl = memchr(data, '\n', size < DPC_CTL_REQ_MAX ? size : DPC_CTL_REQ_MAX);
	int rc;

	if (n > 0) {
		if ((size_t)n > size || (size_t)n > DPC_CTL_REQ_MAX || nl == NULL || nl + 1 != data + n)
			abort();
	} else if (n == 0) {
		if (nl != NULL || size >= DPC_CTL_REQ_MAX)
			abort();
	} else if (n != -EMSGSIZE || nl != NULL || size < DPC_CTL_REQ_MAX) {
		abort();
	}
	/* The parser on the framed line, and on the raw input (it must cope with either). */
	for (int pass = 0; pass < 2; pass++) {
		size_t len = pass == 0 ? (n > 0 ? (size_t)n : 0) : size;

		if (pass == 0 && n <= 0)
			continue;
		memset(err, 0x55, sizeof(err));
		rc = dpc_ctl_req_parse(data, len, &r, err, sizeof(err));
		if (rc == 0) {
			if (r.cmd > DPC_CTL_FLUSH)
				abort();
			check_word(r.key);
			check_word(r.value);
			if (r.cmd != DPC_CTL_CONFIG_SET && r.cmd != DPC_CTL_CONFIG_GET && r.key[0] != '\0')
				abort();
			if (r.cmd == DPC_CTL_CONFIG_SET && (r.key[0] == '\0' || r.value[0] == '\0'))
				abort();
		} else if (rc != -EINVAL || memchr(err, '\0', sizeof(err)) == NULL || err[0] == '\0') {
			abort();
		}
	}
}

static bool head_end(const uint8_t *p, size_t n, size_t *end)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i] != '\n')
			continue;
		if (i + 1 < n && p[i + 1] == '\n') {
			*end = i + 2;
			return true;
		}
		if (i + 2 < n && p[i + 1] == '\r' && p[i + 2] == '\n') {
			*end = i + 3;
			return true;
		}
	}
	return false;
}

static void fuzz_http(const uint8_t *data, size_t size)
{
	struct dpc_http_req r;
	size_t lim = size < DPC_HTTP_HEAD_MAX ? size : DPC_HTTP_HEAD_MAX, end = 0;
	bool found = head_end(data, lim, &end);
	long n = dpc_http_req_frame(data, size);
	int st;

	if (found ? n != (long)end : (n != (size >= DPC_HTTP_HEAD_MAX ? -EMSGSIZE : 0)))
		abort();
	st = dpc_http_req_parse(data, n > 0 ? (size_t)n : size, &r);
	if (st != 200 && st != 400 && st != 405 && st != 505)
		abort();
	if (st == 200) {
		if (r.target > DPC_HTTP_OTHER)
			abort();
		if (r.head ? memcmp(data, "HEAD ", 5) != 0 : memcmp(data, "GET ", 4) != 0)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_ctl(data, size);
	fuzz_http(data, size);
	return 0;
}
