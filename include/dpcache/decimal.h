/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file decimal.h
 * Unsigned decimal numbers as memcached reads and writes them on the wire
 * (command-line numbers of the text protocol, INCR/DECR values stored in
 * items): digits only, no sign, no blanks, at most 20 digits.  The one
 * parser and formatter of such numbers (codec, store, handler).  Pure
 * functions on buffers: thread-safe, no allocation.
 */
#ifndef DPCACHE_DECIMAL_H
#define DPCACHE_DECIMAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Room dpc_dec_format_u64() needs: 20 digits (UINT64_MAX) and a terminating NUL. */
#define DPC_DEC_U64_BUF 21u

/**
 * Parse @p n bytes at @p s as a decimal number no larger than @p max.
 * Returns true and stores it in *out; false (and *out untouched) for an
 * empty string, a non-digit, more than 20 digits or a value over @p max.
 */
static inline bool dpc_dec_parse_u64(const void *s, size_t n, uint64_t max, uint64_t *out)
{
	const uint8_t *p = s;
	uint64_t v = 0;

	if (n == 0 || n > 20)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned d = (unsigned)(p[i] - '0');
		if (d > 9 || v > (max - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

/**
 * Parse an item's value as INCR/DECR read it (memcached's safe_strtoull()
 * on the stored data): leading white space, digits (no overflow), then the
 * end or white space followed by anything.  A '-' sign is refused.  Returns
 * true and stores the number in *out.
 */
static inline bool dpc_dec_parse_value(const void *s, size_t n, uint64_t *out)
{
	const uint8_t *p = s, *end = p + n;
	uint64_t v = 0;
	bool digits = false;

	while (p < end && (*p == ' ' || (*p >= '\t' && *p <= '\r')))
		p++;
	if (p < end && *p == '+')
		p++;
	for (; p < end && *p >= '0' && *p <= '9'; p++) {
		unsigned d = (unsigned)(*p - '0');
		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
		digits = true;
	}
	if (!digits || (p < end && !(*p == ' ' || (*p >= '\t' && *p <= '\r'))))
		return false;
	*out = v;
	return true;
}

/** Write @p v in decimal into @p buf (NUL-terminated); returns the digit count (1..20). */
static inline unsigned dpc_dec_format_u64(uint64_t v, char buf[DPC_DEC_U64_BUF])
{
	char tmp[DPC_DEC_U64_BUF];
	unsigned n = 0, i = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	while (n > 0)
		buf[i++] = tmp[--n];
	buf[i] = '\0';
	return i;
}

#endif /* DPCACHE_DECIMAL_H */
