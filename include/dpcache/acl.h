/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file acl.h
 * IPv4 prefix lists (the `allow`, `trusted` and `admin` settings) and the
 * martian-source test, on plain integers: no DPDK types, so the UDP data
 * path (dataplane/guard.c) and the TCP front end share one matcher, and
 * cmocka tests it without an EAL.
 *
 * Text form: prefixes separated by commas (blanks around them ignored):
 *   `A.B.C.D/N` (host bits must be zero), `A.B.C.D` (= /32),
 *   `subnet` (the server's own subnet: `address`/`subnet_len`, resolved when
 *   the list is parsed), `none` (the empty list; alone).
 * `0.0.0.0/0` (everyone) is accepted but only when written out.
 *
 * A parsed list is immutable: publish a new one and retire the old (the
 * config keeps retired lists until the caller has waited for its readers;
 * see dpc_config_take_retired()).  Matching is read-only and thread-safe.
 */
#ifndef DPCACHE_ACL_H
#define DPCACHE_ACL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Most prefixes in one list. */
#define DPC_ACL_MAX 16u
/** Longest text form of a list, terminator included (16 x "255.255.255.255/32,"). */
#define DPC_ACL_TEXT_MAX 320u

/** One prefix, host byte order: @c ip matches iff (ip & mask) == net. */
struct dpc_acl_prefix {
	uint32_t net, mask;
};

/** An immutable prefix list. */
struct dpc_acl {
	unsigned n;                               /**< prefixes in e[] */
	struct dpc_acl_prefix e[DPC_ACL_MAX];
	struct dpc_acl *retired_next;             /**< the config's retire chain (owner: config.c) */
	unsigned char shared;                     /**< 1: lives as long as the process (defaults) */
	char text[DPC_ACL_TEXT_MAX];              /**< the list as parsed, blanks removed */
};

/**
 * Parse @p text (see the file comment).  @p self_ip (network order) and
 * @p subnet_len (0..32) give what `subnet` stands for.  Constructor: returns
 * the new list, or NULL with errno EINVAL (message in @p err: which element
 * and why) or ENOMEM.  Cold path (malloc).
 */
struct dpc_acl *dpc_acl_parse(const char *text, uint32_t self_ip, unsigned subnet_len, char *err,
			      size_t errlen);
/** A copy of @p a (NULL and errno ENOMEM on failure; NULL for NULL). */
struct dpc_acl *dpc_acl_dup(const struct dpc_acl *a);
/** Free a list (NULL and shared lists are left alone).  Only once no reader can hold it. */
void dpc_acl_free(struct dpc_acl *a);
/** Free a chain of retired lists linked by retired_next (NULL is fine). */
void dpc_acl_free_chain(struct dpc_acl *a);

/** Prefix length @p len (0..32) as a host-order mask. */
static inline uint32_t dpc_acl_mask(unsigned len)
{
	return len == 0 ? 0 : (uint32_t)(0xffffffffu << (32 - len));
}

/**
 * Does @p ip_host (host byte order) fall in one of @p a's prefixes?  A NULL
 * list matches nothing.  O(n) with n <= DPC_ACL_MAX, no branches but the
 * loop's; thread-safe (the list is immutable).
 */
static inline bool dpc_acl_match(const struct dpc_acl *a, uint32_t ip_host)
{
	if (a == NULL)
		return false;
	for (unsigned i = 0; i < a->n; i++)
		if ((ip_host & a->e[i].mask) == a->e[i].net)
			return true;
	return false;
}

/**
 * A source address nobody may answer to (host byte order): 0.0.0.0/8,
 * 127.0.0.0/8 (loopback), 224.0.0.0/4 (multicast), 240.0.0.0/4 (reserved,
 * with 255.255.255.255), our own address @p self_host, and the directed
 * broadcast of our subnet (self | ~mask, for subnets of /30 and wider).
 */
static inline bool dpc_ip4_src_martian(uint32_t ip_host, uint32_t self_host, unsigned subnet_len)
{
	uint8_t top = (uint8_t)(ip_host >> 24);

	if (top == 0 || top == 127 || top >= 224 || ip_host == self_host)
		return true;
	if (subnet_len <= 30) {
		uint32_t m = dpc_acl_mask(subnet_len);

		if ((ip_host & m) == (self_host & m) && (ip_host | m) == 0xffffffffu)
			return true;
	}
	return false;
}

#endif /* DPCACHE_ACL_H */
