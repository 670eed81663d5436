/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * IPv4 prefix lists: parsing into an immutable list, copies, freeing.
 * Matching is inline in acl.h.  Cold path only: lists are built when a
 * setting is read or changed, never per packet.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dpcache/acl.h"
#include "dpcache/common.h"

/* Append @p s to the text form; false if it does not fit. */
static bool text_add(struct dpc_acl *a, const char *s)
{
	size_t have = strlen(a->text), add = strlen(s) + (have ? 1 : 0);

	if (have + add >= sizeof(a->text))
		return false;
	if (have)
		a->text[have++] = ',';
	memcpy(a->text + have, s, strlen(s) + 1);
	return true;
}

static bool add_prefix(struct dpc_acl *a, uint32_t net, uint32_t mask)
{
	for (unsigned i = 0; i < a->n; i++)
		if (a->e[i].net == net && a->e[i].mask == mask)
			return true; /* duplicates (e.g. `subnet` written out too) cost nothing */
	if (a->n == DPC_ACL_MAX)
		return false;
	a->e[a->n].net = net;
	a->e[a->n].mask = mask;
	a->n++;
	return true;
}

/* One element "A.B.C.D[/N]" or a keyword, already trimmed. 0 or -EINVAL. */
static int parse_one(struct dpc_acl *a, const char *el, uint32_t self_ip, unsigned subnet_len,
		     bool *saw_none, char *err, size_t errlen)
{
	char addr[INET_ADDRSTRLEN];
	const char *slash = strchr(el, '/');
	size_t alen = slash ? (size_t)(slash - el) : strlen(el);
	unsigned len = 32;
	struct in_addr ia;
	uint32_t host, mask;

	if (strcmp(el, "none") == 0) {
		*saw_none = true;
		return 0;
	}
	if (strcmp(el, "subnet") == 0) {
		if (subnet_len > 32) {
			dpc_set_err(err, errlen, "subnet: prefix length %u is not 0..32", subnet_len);
			return -EINVAL;
		}
		mask = dpc_acl_mask(subnet_len);
		if (!add_prefix(a, ntohl(self_ip) & mask, mask))
			goto full;
		return 0;
	}
	if (alen == 0 || alen >= sizeof(addr)) {
		dpc_set_err(err, errlen, "'%s' is not a prefix (A.B.C.D/N, A.B.C.D, subnet or none)", el);
		return -EINVAL;
	}
	memcpy(addr, el, alen);
	addr[alen] = '\0';
	if (inet_pton(AF_INET, addr, &ia) != 1) {
		dpc_set_err(err, errlen, "'%s' is not a prefix (A.B.C.D/N, A.B.C.D, subnet or none)", el);
		return -EINVAL;
	}
	if (slash != NULL) {
		const char *p = slash + 1;

		len = 0;
		if (*p == '\0' || strlen(p) > 2)
			goto badlen;
		for (; *p; p++) {
			if (!isdigit((unsigned char)*p))
				goto badlen;
			len = len * 10 + (unsigned)(*p - '0');
		}
		if (len > 32)
			goto badlen;
	}
	host = ntohl(ia.s_addr);
	mask = dpc_acl_mask(len);
	if ((host & ~mask) != 0) {
		struct in_addr n = { .s_addr = htonl(host & mask) };
		char buf[INET_ADDRSTRLEN];

		inet_ntop(AF_INET, &n, buf, sizeof(buf));
		dpc_set_err(err, errlen, "'%s' has host bits set (did you mean %s/%u?)", el, buf, len);
		return -EINVAL;
	}
	if (!add_prefix(a, host, mask))
		goto full;
	return 0;
badlen:
	dpc_set_err(err, errlen, "'%s': prefix length must be 0..32", el);
	return -EINVAL;
full:
	dpc_set_err(err, errlen, "more than %u prefixes", DPC_ACL_MAX);
	return -EINVAL;
}

struct dpc_acl *dpc_acl_parse(const char *text, uint32_t self_ip, unsigned subnet_len, char *err,
			      size_t errlen)
{
	struct dpc_acl *a;
	const char *p = text;
	bool saw_none = false;
	unsigned elems = 0;

	if (text == NULL) {
		dpc_set_err(err, errlen, "missing list");
		errno = EINVAL;
		return NULL;
	}
	a = calloc(1, sizeof(*a));
	if (a == NULL) {
		dpc_set_err(err, errlen, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	for (;;) {
		char el[64];
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);

		while (n > 0 && isspace((unsigned char)*p)) {
			p++;
			n--;
		}
		while (n > 0 && isspace((unsigned char)p[n - 1]))
			n--;
		if (n == 0 || n >= sizeof(el)) {
			dpc_set_err(err, errlen, n == 0 ? "empty element in '%s' (use 'none' for no "
				    "source)" : "element too long in '%s'", text);
			goto inval;
		}
		memcpy(el, p, n);
		el[n] = '\0';
		if (parse_one(a, el, self_ip, subnet_len, &saw_none, err, errlen) != 0)
			goto inval;
		if (!text_add(a, el)) {
			dpc_set_err(err, errlen, "list longer than %u characters", DPC_ACL_TEXT_MAX - 1);
			goto inval;
		}
		elems++;
		if (comma == NULL)
			break;
		p = comma + 1;
	}
	if (saw_none && elems > 1) {
		dpc_set_err(err, errlen, "'none' must stand alone in '%s'", text);
		goto inval;
	}
	return a;
inval:
	free(a);
	errno = EINVAL;
	return NULL;
}

struct dpc_acl *dpc_acl_dup(const struct dpc_acl *a)
{
	struct dpc_acl *c;

	if (a == NULL)
		return NULL;
	c = malloc(sizeof(*c));
	if (c == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	memcpy(c, a, sizeof(*c));
	c->retired_next = NULL;
	c->shared = 0;
	return c;
}

void dpc_acl_free(struct dpc_acl *a)
{
	if (a != NULL && !a->shared)
		free(a);
}

void dpc_acl_free_chain(struct dpc_acl *a)
{
	while (a != NULL) {
		struct dpc_acl *next = a->retired_next;

		dpc_acl_free(a);
		a = next;
	}
}
