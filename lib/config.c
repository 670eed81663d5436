/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dpcached's settings, driven by the one declarative table in config.h:
 * defaults, the config file, command-line flags, run-time
 * `config get|set` and --help all walk dpc_config_defs[].
 *
 * A change is parsed and validated into a local first; only a valid value
 * is published, with one atomic store of the whole (naturally aligned)
 * field, so workers reading the setting see the old or the new value and a
 * rejected change leaves the old one in force.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dpcache/acl.h"
#include "dpcache/common.h"
#include "dpcache/config.h"
#include "dpcache/store.h"

const struct dpc_config_def dpc_config_defs[] = {
#define DPC_X_CFG_DEF(n, t, d, mn, mx, ev, rt, h) \
	{ .name = #n, .type = t, .def = d, .min = (uint64_t)(mn), .max = (uint64_t)(mx), \
	  .enum_values = ev, .runtime = rt, .help = h, \
	  .offset = offsetof(struct dpc_config, n), .size = sizeof(((struct dpc_config *)0)->n) },
	DPC_CONFIG_SETTINGS(DPC_X_CFG_DEF)
#undef DPC_X_CFG_DEF
};
const unsigned dpc_config_ndefs = (unsigned)DPC_ARRAY_SIZE(dpc_config_defs);

/* Fields are published with one atomic store: they must be single aligned words. */
#define DPC_X_CFG_CHECK(n, t, d, mn, mx, ev, rt, h) \
	_Static_assert(t == DPC_CFG_STRING || sizeof(((struct dpc_config *)0)->n) == \
		      (t == DPC_CFG_SIZE ? 8 : t == DPC_CFG_PREFIXES ? sizeof(void *) : 4), \
		      #n " must be one word");
DPC_CONFIG_SETTINGS(DPC_X_CFG_CHECK)
#undef DPC_X_CFG_CHECK

/* Setting names use '_'; flags may spell them with '-' too.  0 or -ENOENT. */
static int normalize_name(const char *in, size_t len, char *out, size_t outlen)
{
	size_t i;

	if (len == 0 || len >= outlen)
		return -ENOENT;
	for (i = 0; i < len; i++)
		out[i] = in[i] == '-' ? '_' : in[i];
	out[len] = '\0';
	return 0;
}

const struct dpc_config_def *dpc_config_find(const char *name)
{
	char norm[64];
	unsigned i;

	if (name == NULL || normalize_name(name, strlen(name), norm, sizeof(norm)) != 0)
		return NULL;
	for (i = 0; i < dpc_config_ndefs; i++)
		if (strcmp(dpc_config_defs[i].name, norm) == 0)
			return &dpc_config_defs[i];
	return NULL;
}

/* ---- value formatting ----------------------------------------------------- */

/* Bytes with the largest K/M/G/T suffix that divides them exactly ("256M"). */
void dpc_config_format_size(uint64_t v, char *buf, size_t len)
{
	static const char suffix[] = "KMGT";
	int i;

	for (i = 3; i >= 0; i--) {
		uint64_t unit = 1ull << (10 * (i + 1));

		if (v != 0 && v % unit == 0) {
			snprintf(buf, len, "%" PRIu64 "%c", v / unit, suffix[i]);
			return;
		}
	}
	snprintf(buf, len, "%" PRIu64, v);
}

/* Name of enum index @p idx from "a|b|c" into buf; -ENOENT past the end. */
static int enum_name(const char *values, uint32_t idx, char *buf, size_t len)
{
	const char *p = values;
	uint32_t i = 0;

	while (p != NULL && *p != '\0') {
		const char *bar = strchr(p, '|');
		size_t n = bar ? (size_t)(bar - p) : strlen(p);

		if (i == idx) {
			snprintf(buf, len, "%.*s", (int)n, p);
			return 0;
		}
		i++;
		p = bar ? bar + 1 : NULL;
	}
	return -ENOENT;
}

/* Index of @p s among "a|b|c" (case-insensitive), or -ENOENT. */
static int enum_index(const char *values, const char *s)
{
	const char *p = values;
	size_t slen = strlen(s);
	int i = 0;

	while (p != NULL && *p != '\0') {
		const char *bar = strchr(p, '|');
		size_t n = bar ? (size_t)(bar - p) : strlen(p);

		if (n == slen && strncasecmp(p, s, n) == 0)
			return i;
		i++;
		p = bar ? bar + 1 : NULL;
	}
	return -ENOENT;
}

/* "1..64", "1M..1T": the allowed range in the setting's own notation. */
static void format_range(const struct dpc_config_def *d, char *buf, size_t len)
{
	char lo[32], hi[32];

	switch (d->type) {
	case DPC_CFG_U32:
		snprintf(buf, len, "%" PRIu64 "..%" PRIu64, d->min, d->max);
		break;
	case DPC_CFG_SIZE:
		dpc_config_format_size(d->min, lo, sizeof(lo));
		dpc_config_format_size(d->max, hi, sizeof(hi));
		snprintf(buf, len, "%s..%s", lo, hi);
		break;
	case DPC_CFG_IPV4:
		snprintf(buf, len, "a.b.c.d");
		break;
	case DPC_CFG_ENUM:
		snprintf(buf, len, "%s", d->enum_values);
		break;
	case DPC_CFG_BOOL:
		snprintf(buf, len, "yes|no");
		break;
	case DPC_CFG_STRING:
		snprintf(buf, len, "1..%d characters of [A-Za-z0-9_.-]", DPC_CFG_STR_MAX - 1);
		break;
	case DPC_CFG_PREFIXES:
		snprintf(buf, len, "up to %u of A.B.C.D/N, A.B.C.D, subnet, comma-separated; or none",
			 DPC_ACL_MAX);
		break;
	}
}

/* ---- value parsing -------------------------------------------------------- */

/* Strict unsigned decimal (no sign, no blanks, no junk); -EINVAL or -ERANGE. */
static int parse_u64(const char *s, uint64_t *out, const char **end)
{
	uint64_t v = 0;
	const char *p = s;

	if (!isdigit((unsigned char)*p))
		return -EINVAL;
	for (; isdigit((unsigned char)*p); p++) {
		unsigned dgt = (unsigned)(*p - '0');

		if (v > (UINT64_MAX - dgt) / 10)
			return -ERANGE;
		v = v * 10 + dgt;
	}
	*out = v;
	*end = p;
	return 0;
}

static int parse_size(const char *s, uint64_t *out)
{
	const char *end;
	uint64_t v;
	unsigned shift = 0;
	int rc = parse_u64(s, &v, &end);

	if (rc != 0)
		return rc;
	switch (*end) {
	case '\0': break;
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	case 't': case 'T': shift = 40; end++; break;
	default: return -EINVAL;
	}
	if (*end != '\0')
		return -EINVAL;
	if (shift != 0 && v > (UINT64_MAX >> shift))
		return -ERANGE;
	*out = v << shift;
	return 0;
}

static int parse_bool(const char *s, uint32_t *out)
{
	static const char *const yes[] = { "yes", "true", "1", "on" };
	static const char *const no[] = { "no", "false", "0", "off" };
	unsigned i;

	for (i = 0; i < DPC_ARRAY_SIZE(yes); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = 1;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = 0;
			return 0;
		}
	}
	return -EINVAL;
}

static bool valid_string(const char *s)
{
	size_t n = strlen(s);
	size_t i;

	if (n == 0 || n >= DPC_CFG_STR_MAX)
		return false;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '.' && s[i] != '-')
			return false;
	return true;
}

/* Checks that a range cannot express (the table's help text names them). */
static int extra_check(const struct dpc_config_def *d, uint64_t v, char *err, size_t errlen)
{
	if (strcmp(d->name, "ring_size") == 0 && (v & (v - 1)) != 0) {
		dpc_set_err(err, errlen, "%s: %" PRIu64 " is not a power of 2", d->name, v);
		return -EINVAL;
	}
	return 0;
}

/* Field address, for the atomic publish. */
static void *field_ptr(struct dpc_config *c, const struct dpc_config_def *d)
{
	return (char *)c + d->offset;
}

static const void *field_cptr(const struct dpc_config *c, const struct dpc_config_def *d)
{
	return (const char *)c + d->offset;
}

/* ---- prefix lists ----------------------------------------------------------- */

static struct dpc_acl **list_ptr(struct dpc_config *c, const struct dpc_config_def *d)
{
	return (struct dpc_acl **)field_ptr(c, d);
}

/* Put @p a on the retire chain (any thread: a CAS push). */
static void retire(struct dpc_config *c, struct dpc_acl *a)
{
	struct dpc_acl *head = __atomic_load_n(&c->retired, __ATOMIC_RELAXED);

	if (a == NULL || a->shared)
		return; /* a shared default is never freed: nothing to wait for */
	do {
		a->retired_next = head;
	} while (!__atomic_compare_exchange_n(&c->retired, &head, a, true, __ATOMIC_RELEASE,
					      __ATOMIC_RELAXED));
}

struct dpc_acl *dpc_config_take_retired(struct dpc_config *c)
{
	return __atomic_exchange_n(&c->retired, NULL, __ATOMIC_ACQUIRE);
}

/*
 * Re-parse every list from its text against @p c's final address and
 * subnet_len (a file or the flags may set those after a list that says
 * `subnet`).  Start-up only.  0 or -ENOMEM (lists left as they were).
 */
static int resolve_lists(struct dpc_config *c, char *err, size_t errlen)
{
	for (unsigned i = 0; i < dpc_config_ndefs; i++) {
		const struct dpc_config_def *d = &dpc_config_defs[i];
		struct dpc_acl **f, *a;

		if (d->type != DPC_CFG_PREFIXES)
			continue;
		f = list_ptr(c, d);
		if (*f == NULL)
			continue;
		a = dpc_acl_parse((*f)->text, c->address, c->subnet_len, err, errlen);
		if (a == NULL)
			return -errno;
		dpc_acl_free(*f);
		*f = a;
	}
	return 0;
}

/* A deep copy of @p src into @p dst (which owns nothing yet).  0 or -ENOMEM. */
static int config_clone(struct dpc_config *dst, const struct dpc_config *src)
{
	memcpy(dst, src, sizeof(*dst));
	dst->retired = NULL;
	for (unsigned i = 0; i < dpc_config_ndefs; i++) {
		const struct dpc_config_def *d = &dpc_config_defs[i];

		if (d->type == DPC_CFG_PREFIXES)
			*list_ptr(dst, d) = NULL;
	}
	for (unsigned i = 0; i < dpc_config_ndefs; i++) {
		const struct dpc_config_def *d = &dpc_config_defs[i];
		const struct dpc_acl *a;

		if (d->type != DPC_CFG_PREFIXES)
			continue;
		a = *(struct dpc_acl *const *)field_cptr(src, d);
		if (a == NULL)
			continue;
		*list_ptr(dst, d) = dpc_acl_dup(a);
		if (*list_ptr(dst, d) == NULL) {
			dpc_config_free(dst);
			return -ENOMEM;
		}
	}
	return 0;
}

/* Replace @p c's settings by @p tmp's, which it takes over (start-up only). */
static void config_commit(struct dpc_config *c, struct dpc_config *tmp)
{
	struct dpc_acl *retired = c->retired;

	c->retired = NULL;
	dpc_config_free(c);
	memcpy(c, tmp, sizeof(*c));
	c->retired = retired;
	memset(tmp, 0, sizeof(*tmp));
}

void dpc_config_free(struct dpc_config *c)
{
	if (c == NULL)
		return;
	for (unsigned i = 0; i < dpc_config_ndefs; i++) {
		const struct dpc_config_def *d = &dpc_config_defs[i];

		if (d->type == DPC_CFG_PREFIXES) {
			dpc_acl_free(*list_ptr(c, d));
			*list_ptr(c, d) = NULL;
		}
	}
	dpc_acl_free_chain(dpc_config_take_retired(c));
}

static int set_def(struct dpc_config *c, const struct dpc_config_def *d, const char *value,
		   bool at_runtime, char *err, size_t errlen)
{
	char range[96];
	uint64_t v = 0;
	uint32_t v32 = 0;
	const char *end;
	struct in_addr a;
	int rc;

	if (value == NULL) {
		dpc_set_err(err, errlen, "%s: missing value", d->name);
		return -EINVAL;
	}
	if (at_runtime && (!d->runtime || d->type == DPC_CFG_STRING)) {
		dpc_set_err(err, errlen, "%s: cannot be changed at run time (set it in the config file "
			"or on the command line and restart)", d->name);
		return -EPERM;
	}
	format_range(d, range, sizeof(range));
	switch (d->type) {
	case DPC_CFG_U32:
	case DPC_CFG_SIZE:
		if (d->type == DPC_CFG_U32) {
			rc = parse_u64(value, &v, &end);
			if (rc == 0 && *end != '\0')
				rc = -EINVAL;
		} else {
			rc = parse_size(value, &v);
		}
		if (rc == -EINVAL) {
			dpc_set_err(err, errlen, "%s: '%s' is not a %s (allowed range %s)", d->name, value,
				d->type == DPC_CFG_SIZE ? "size (number with optional K/M/G/T)" : "number",
				range);
			return -EINVAL;
		}
		if (rc != 0 || v < d->min || v > d->max) {
			dpc_set_err(err, errlen, "%s: %s is out of range %s", d->name, value, range);
			return -EINVAL;
		}
		rc = extra_check(d, v, err, errlen);
		if (rc != 0)
			return rc;
		if (d->type == DPC_CFG_SIZE)
			__atomic_store_n((uint64_t *)field_ptr(c, d), v, __ATOMIC_RELEASE);
		else
			__atomic_store_n((uint32_t *)field_ptr(c, d), (uint32_t)v, __ATOMIC_RELEASE);
		return 0;
	case DPC_CFG_IPV4:
		if (inet_pton(AF_INET, value, &a) != 1) {
			dpc_set_err(err, errlen, "%s: '%s' is not an IPv4 address (a.b.c.d)", d->name, value);
			return -EINVAL;
		}
		__atomic_store_n((uint32_t *)field_ptr(c, d), (uint32_t)a.s_addr, __ATOMIC_RELEASE);
		return 0;
	case DPC_CFG_ENUM:
		rc = enum_index(d->enum_values, value);
		if (rc < 0) {
			dpc_set_err(err, errlen, "%s: '%s' is not one of %s", d->name, value, range);
			return -EINVAL;
		}
		if (extra_check(d, (uint64_t)rc, err, errlen) != 0)
			return -EINVAL;
		__atomic_store_n((uint32_t *)field_ptr(c, d), (uint32_t)rc, __ATOMIC_RELEASE);
		return 0;
	case DPC_CFG_BOOL:
		if (parse_bool(value, &v32) != 0) {
			dpc_set_err(err, errlen, "%s: '%s' is not a boolean (yes|no|true|false|on|off|1|0)",
				d->name, value);
			return -EINVAL;
		}
		__atomic_store_n((uint32_t *)field_ptr(c, d), v32, __ATOMIC_RELEASE);
		return 0;
	case DPC_CFG_STRING:
		if (!valid_string(value)) {
			dpc_set_err(err, errlen, "%s: '%s' must be %s", d->name, value, range);
			return -EINVAL;
		}
		/* Start-up only (never at run time): a plain copy is safe. */
		snprintf((char *)field_ptr(c, d), d->size, "%s", value);
		return 0;
	case DPC_CFG_PREFIXES: {
		char msg[192];
		struct dpc_acl *acl = dpc_acl_parse(value, c->address, c->subnet_len, msg, sizeof(msg));

		if (acl == NULL) {
			rc = -errno;
			dpc_set_err(err, errlen, "%s: %s (allowed: %s)", d->name, msg, range);
			return rc;
		}
		if (at_runtime) {
			/* Readers hold the old list until their next quiescent state. */
			retire(c, __atomic_exchange_n(list_ptr(c, d), acl, __ATOMIC_ACQ_REL));
		} else {
			dpc_acl_free(*list_ptr(c, d));
			__atomic_store_n(list_ptr(c, d), acl, __ATOMIC_RELEASE);
		}
		return 0;
	}
	}
	dpc_set_err(err, errlen, "%s: unsupported type", d->name);
	return -EINVAL;
}

/*
 * The default of prefix-list setting @p i, parsed once per process and
 * shared (never freed: dpc_acl_free() leaves shared lists alone), so that
 * dpc_config_defaults() allocates nothing a caller must free.  The lists
 * come last in the table: @p c's address and subnet_len are the defaults.
 */
static struct dpc_acl *default_list(unsigned i, const struct dpc_config *c)
{
	static struct dpc_acl *cache[64];
	struct dpc_acl *a, *expected = NULL;

	if (i >= DPC_ARRAY_SIZE(cache))
		return NULL;
	a = __atomic_load_n(&cache[i], __ATOMIC_ACQUIRE);
	if (a != NULL)
		return a;
	a = dpc_acl_parse(dpc_config_defs[i].def, c->address, c->subnet_len, NULL, 0);
	if (a == NULL)
		return NULL; /* ENOMEM: an empty list, the safe side */
	a->shared = 1;
	if (!__atomic_compare_exchange_n(&cache[i], &expected, a, false, __ATOMIC_ACQ_REL,
					 __ATOMIC_ACQUIRE)) {
		a->shared = 0;
		dpc_acl_free(a); /* another thread won: use its copy */
		a = expected;
	}
	return a;
}

void dpc_config_defaults(struct dpc_config *c)
{
	unsigned i;

	memset(c, 0, sizeof(*c));
	for (i = 0; i < dpc_config_ndefs; i++) {
		if (dpc_config_defs[i].type == DPC_CFG_PREFIXES) {
			*list_ptr(c, &dpc_config_defs[i]) = default_list(i, c);
			continue;
		}
		int rc = set_def(c, &dpc_config_defs[i], dpc_config_defs[i].def, false, NULL, 0);

		/* The table's own defaults are valid: test_config checks every one. */
		(void)rc;
	}
}

int dpc_config_set(struct dpc_config *c, const char *name, const char *value, bool at_runtime,
		   char *err, size_t errlen)
{
	const struct dpc_config_def *d = dpc_config_find(name);

	if (d == NULL) {
		dpc_set_err(err, errlen, "unknown setting '%s' (dpcached --help lists them)",
			name ? name : "");
		return -ENOENT;
	}
	return set_def(c, d, value, at_runtime, err, errlen);
}

int dpc_config_get(const struct dpc_config *c, const char *name, char *buf, size_t len)
{
	const struct dpc_config_def *d = dpc_config_find(name);
	struct in_addr a;
	char ip[INET_ADDRSTRLEN];
	uint32_t v32;

	if (d == NULL)
		return -ENOENT;
	switch (d->type) {
	case DPC_CFG_U32:
		snprintf(buf, len, "%" PRIu32,
			 __atomic_load_n((const uint32_t *)field_cptr(c, d), __ATOMIC_ACQUIRE));
		break;
	case DPC_CFG_SIZE:
		dpc_config_format_size(__atomic_load_n((const uint64_t *)field_cptr(c, d),
							__ATOMIC_ACQUIRE), buf, len);
		break;
	case DPC_CFG_IPV4:
		a.s_addr = __atomic_load_n((const uint32_t *)field_cptr(c, d), __ATOMIC_ACQUIRE);
		if (inet_ntop(AF_INET, &a, ip, sizeof(ip)) == NULL)
			snprintf(ip, sizeof(ip), "?");
		snprintf(buf, len, "%s", ip);
		break;
	case DPC_CFG_ENUM:
		v32 = __atomic_load_n((const uint32_t *)field_cptr(c, d), __ATOMIC_ACQUIRE);
		if (enum_name(d->enum_values, v32, buf, len) != 0)
			snprintf(buf, len, "%" PRIu32, v32);
		break;
	case DPC_CFG_BOOL:
		v32 = __atomic_load_n((const uint32_t *)field_cptr(c, d), __ATOMIC_ACQUIRE);
		snprintf(buf, len, "%s", v32 ? "yes" : "no");
		break;
	case DPC_CFG_STRING:
		snprintf(buf, len, "%s", (const char *)field_cptr(c, d));
		break;
	case DPC_CFG_PREFIXES: {
		/* Immutable once published; a retired list is freed only after a grace period. */
		const struct dpc_acl *acl =
			__atomic_load_n((struct dpc_acl *const *)field_cptr(c, d), __ATOMIC_ACQUIRE);

		snprintf(buf, len, "%s", acl != NULL ? acl->text : "none");
		break;
	}
	}
	return 0;
}

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/*
 * Parse into a scratch copy; commit to @p c only if the whole file is good,
 * so that a bad file changes nothing.
 */
int dpc_config_load_file(struct dpc_config *c, const char *path, char *err, size_t errlen)
{
	struct dpc_config tmp;
	char line[1024], msg[256];
	unsigned lineno = 0;
	FILE *f;
	int rc = 0;

	f = fopen(path, "r");
	if (f == NULL) {
		rc = -errno;
		dpc_set_err(err, errlen, "%s: %s", path, strerror(errno));
		return rc;
	}
	rc = config_clone(&tmp, c);
	if (rc != 0) {
		dpc_set_err(err, errlen, "%s: out of memory", path);
		fclose(f);
		return rc;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		char *p, *eq, *hash, *key, *val;

		lineno++;
		if (strchr(line, '\n') == NULL && !feof(f)) {
			dpc_set_err(err, errlen, "%s:%u: line too long", path, lineno);
			rc = -EINVAL;
			goto out;
		}
		hash = strchr(line, '#');
		if (hash != NULL)
			*hash = '\0';
		p = trim(line);
		if (*p == '\0')
			continue;
		eq = strchr(p, '=');
		if (eq == NULL) {
			dpc_set_err(err, errlen, "%s:%u: expected 'name = value'", path, lineno);
			rc = -EINVAL;
			goto out;
		}
		*eq = '\0';
		key = trim(p);
		val = trim(eq + 1);
		rc = dpc_config_set(&tmp, key, val, false, msg, sizeof(msg));
		if (rc != 0) {
			dpc_set_err(err, errlen, "%s:%u: %s", path, lineno, msg);
			goto out;
		}
	}
	if (ferror(f)) {
		dpc_set_err(err, errlen, "%s: read error", path);
		rc = -EIO;
		goto out;
	}
	rc = resolve_lists(&tmp, err, errlen);
	if (rc != 0)
		goto out;
	config_commit(c, &tmp);
out:
	dpc_config_free(&tmp); /* nothing left after a commit */
	fclose(f);
	return rc;
}

/*
 * Split "--name=value" / "--name value" at argv[*i]; advances *i past what
 * it used.  0, or -EINVAL with @p err.
 */
static int next_flag(int argc, char **argv, int *i, char *name, size_t nlen, const char **value,
		     char *err, size_t errlen)
{
	const char *a = argv[*i];
	const char *eq;
	size_t n;

	if (strncmp(a, "--", 2) != 0 || a[2] == '\0') {
		dpc_set_err(err, errlen, "unexpected argument '%s' (settings are --name=value)", a);
		return -EINVAL;
	}
	a += 2;
	eq = strchr(a, '=');
	n = eq ? (size_t)(eq - a) : strlen(a);
	if (n >= nlen) {
		dpc_set_err(err, errlen, "unknown setting '--%.*s'", (int)n, a);
		return -ENOENT;
	}
	memcpy(name, a, n);
	name[n] = '\0';
	if (eq != NULL) {
		*value = eq + 1;
	} else if (strcmp(name, "help") == 0) {
		*value = NULL;
	} else if (*i + 1 < argc) {
		*value = argv[++*i];
	} else {
		dpc_set_err(err, errlen, "--%s: missing value", name);
		return -EINVAL;
	}
	++*i;
	return 0;
}

int dpc_config_parse_args(struct dpc_config *c, int argc, char **argv, char *err, size_t errlen)
{
	struct dpc_config tmp;
	char name[64];
	const char *value;
	int i, rc;

	/* argv[0] is the program name as rte_eal_init() leaves it (a flag never starts it). */
	i = (argc > 0 && strncmp(argv[0], "--", 2) != 0) ? 1 : 0;
	/* Pass 0: --help wins over everything, even bad flags. */
	for (int j = i; j < argc; j++)
		if (strcmp(argv[j], "--help") == 0)
			return 1;
	rc = config_clone(&tmp, c);
	if (rc != 0) {
		dpc_set_err(err, errlen, "out of memory");
		return rc;
	}
	/* Pass 1: --config files are applied before any other flag. */
	for (int j = i; j < argc;) {
		rc = next_flag(argc, argv, &j, name, sizeof(name), &value, err, errlen);
		if (rc != 0)
			goto fail;
		if (strcmp(name, "config") == 0) {
			rc = dpc_config_load_file(&tmp, value, err, errlen);
			if (rc != 0)
				goto fail;
		}
	}
	/* Pass 2: every other flag, in order, overriding the files. */
	while (i < argc) {
		rc = next_flag(argc, argv, &i, name, sizeof(name), &value, err, errlen);
		if (rc != 0)
			goto fail;
		if (strcmp(name, "config") == 0)
			continue;
		rc = dpc_config_set(&tmp, name, value, false, err, errlen);
		if (rc != 0)
			goto fail;
	}
	rc = resolve_lists(&tmp, err, errlen);
	if (rc != 0)
		goto fail;
	config_commit(c, &tmp);
	return 0;
fail:
	dpc_config_free(&tmp);
	return rc;
}

static const char *type_hint(const struct dpc_config_def *d)
{
	switch (d->type) {
	case DPC_CFG_U32: return "N";
	case DPC_CFG_SIZE: return "SIZE";
	case DPC_CFG_IPV4: return "A.B.C.D";
	case DPC_CFG_ENUM: return d->enum_values;
	case DPC_CFG_BOOL: return "yes|no";
	case DPC_CFG_STRING: return "NAME";
	case DPC_CFG_PREFIXES: return "A.B.C.D/N,...";
	}
	return "?";
}

void dpc_config_help(FILE *out)
{
	unsigned i;

	fprintf(out, "dpcached settings (flags after EAL's `--`, or `name = value` lines in --config FILE;\n"
		"flags override the file; sizes take K/M/G/T suffixes):\n\n");
	fprintf(out, "  --config FILE\n      Read settings from FILE first\n");
	fprintf(out, "  --help\n      Print this help\n");
	for (i = 0; i < dpc_config_ndefs; i++) {
		const struct dpc_config_def *d = &dpc_config_defs[i];
		char range[96];

		format_range(d, range, sizeof(range));
		fprintf(out, "  --%s=%s", d->name, type_hint(d));
		if (d->type == DPC_CFG_U32 || d->type == DPC_CFG_SIZE)
			fprintf(out, "  (%s)", range);
		fprintf(out, "  default %s%s\n      %s\n", d->def,
			d->runtime ? ", changeable at run time" : "", d->help);
	}
}
