/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Prefix lists (acl.h): parsing, errors, matching, the martian test, and
 * the allow/trusted/admin settings of the config table (defaults, `subnet`
 * resolved against the final address, run-time swap and retirement).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "dpcache/acl.h"
#include "dpcache/config.h"

static uint32_t ip(const char *s)
{
	struct in_addr a;

	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return a.s_addr;
}

static uint32_t hip(const char *s)
{
	return ntohl(ip(s));
}

static struct dpc_acl *parse_ok(const char *text)
{
	char err[256] = "";
	struct dpc_acl *a = dpc_acl_parse(text, ip("198.18.0.1"), 24, err, sizeof(err));

	if (a == NULL)
		fail_msg("'%s' refused: %s", text, err);
	return a;
}

static void parse_bad(const char *text, const char *want)
{
	char err[256] = "";

	errno = 0;
	assert_null(dpc_acl_parse(text, ip("198.18.0.1"), 24, err, sizeof(err)));
	assert_int_equal(errno, EINVAL);
	if (strstr(err, want) == NULL)
		fail_msg("'%s': error '%s' lacks '%s'", text, err, want);
}

static void test_parse_and_match(void **state)
{
	struct dpc_acl *a;

	(void)state;
	a = parse_ok(" 10.0.0.0/8 , 192.168.1.0/24,203.0.113.7");
	assert_int_equal(a->n, 3);
	assert_string_equal(a->text, "10.0.0.0/8,192.168.1.0/24,203.0.113.7");
	assert_true(dpc_acl_match(a, hip("10.0.0.0")));
	assert_true(dpc_acl_match(a, hip("10.255.255.255")));
	assert_false(dpc_acl_match(a, hip("11.0.0.0")));
	assert_false(dpc_acl_match(a, hip("9.255.255.255")));
	assert_true(dpc_acl_match(a, hip("192.168.1.77")));
	assert_false(dpc_acl_match(a, hip("192.168.2.1")));
	assert_true(dpc_acl_match(a, hip("203.0.113.7")));   /* a bare address is a /32 */
	assert_false(dpc_acl_match(a, hip("203.0.113.8")));
	dpc_acl_free(a);

	/* everyone, only when written out */
	a = parse_ok("0.0.0.0/0");
	assert_true(dpc_acl_match(a, hip("203.0.113.7")));
	assert_true(dpc_acl_match(a, hip("255.255.255.255")));
	dpc_acl_free(a);

	/* none: matches nothing, and so does a NULL list */
	a = parse_ok("none");
	assert_int_equal(a->n, 0);
	assert_string_equal(a->text, "none");
	assert_false(dpc_acl_match(a, hip("198.18.0.2")));
	dpc_acl_free(a);
	assert_false(dpc_acl_match(NULL, hip("198.18.0.2")));

	/* subnet = address/subnet_len, kept as the keyword in the text form */
	a = parse_ok("subnet");
	assert_int_equal(a->n, 1);
	assert_string_equal(a->text, "subnet");
	assert_true(dpc_acl_match(a, hip("198.18.0.2")));
	assert_true(dpc_acl_match(a, hip("198.18.0.254")));
	assert_false(dpc_acl_match(a, hip("198.18.1.2")));
	assert_false(dpc_acl_match(a, hip("203.0.113.7")));
	dpc_acl_free(a);
	{
		char err[64];

		a = dpc_acl_parse("subnet", ip("10.1.2.3"), 16, err, sizeof(err));
		assert_non_null(a);
		assert_true(dpc_acl_match(a, hip("10.1.200.1")));
		assert_false(dpc_acl_match(a, hip("10.2.0.1")));
		dpc_acl_free(a);
	}

	/* duplicates collapse; the limit counts distinct prefixes */
	a = parse_ok("subnet,198.18.0.0/24");
	assert_int_equal(a->n, 1);
	dpc_acl_free(a);
	{
		char text[DPC_ACL_TEXT_MAX];
		size_t n = 0;

		for (unsigned i = 0; i < DPC_ACL_MAX; i++)
			n += (size_t)snprintf(text + n, sizeof(text) - n, "%s10.%u.0.0/16", i ? "," : "", i);
		a = parse_ok(text);
		assert_int_equal(a->n, DPC_ACL_MAX);
		assert_true(dpc_acl_match(a, hip("10.15.3.3")));
		assert_false(dpc_acl_match(a, hip("10.16.3.3")));
		struct dpc_acl *c = dpc_acl_dup(a);

		assert_non_null(c);
		assert_memory_equal(c->e, a->e, sizeof(a->e));
		assert_string_equal(c->text, a->text);
		dpc_acl_free(a);
		dpc_acl_free(c);
		snprintf(text + n, sizeof(text) - n, ",10.99.0.0/16");
		parse_bad(text, "more than 16 prefixes");
	}
}

static void test_parse_errors(void **state)
{
	(void)state;
	parse_bad("10.1.0.0/8", "host bits set (did you mean 10.0.0.0/8?)");
	parse_bad("10.0.0.0/33", "prefix length must be 0..32");
	parse_bad("10.0.0.0/", "prefix length must be 0..32");
	parse_bad("10.0.0.0/8x", "prefix length must be 0..32");
	parse_bad("10.0.0.0/-1", "prefix length must be 0..32");
	parse_bad("10.0.0/8", "is not a prefix");
	parse_bad("256.0.0.0/8", "is not a prefix");
	parse_bad("example.com", "is not a prefix");
	parse_bad("", "empty element");
	parse_bad("10.0.0.0/8,", "empty element");
	parse_bad(",10.0.0.0/8", "empty element");
	parse_bad("10.0.0.0/8,,11.0.0.0/8", "empty element");
	parse_bad("none,10.0.0.0/8", "'none' must stand alone");
	parse_bad("any", "is not a prefix"); /* everyone is spelled 0.0.0.0/0 */
}

static void test_martian(void **state)
{
	const uint32_t self = hip("198.18.0.1");

	(void)state;
	static const char *const bad[] = { "0.0.0.0", "0.1.2.3", "127.0.0.1", "127.255.255.254",
					   "224.0.0.1", "239.255.255.250", "240.0.0.1",
					   "255.255.255.255", "198.18.0.1", "198.18.0.255" };
	static const char *const good[] = { "198.18.0.2", "198.18.0.254", "198.18.1.255", "1.0.0.1",
					    "8.8.8.8", "203.0.113.7", "223.255.255.254", "169.254.1.1" };

	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (!dpc_ip4_src_martian(hip(bad[i]), self, 24))
			fail_msg("%s must be a martian source", bad[i]);
	for (unsigned i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (dpc_ip4_src_martian(hip(good[i]), self, 24))
			fail_msg("%s must not be a martian source", good[i]);
	/* the directed broadcast follows the subnet; /31 and /32 have none */
	assert_false(dpc_ip4_src_martian(hip("198.18.0.255"), self, 16));
	assert_true(dpc_ip4_src_martian(hip("198.18.255.255"), self, 16));
	assert_false(dpc_ip4_src_martian(hip("198.18.0.0"), hip("198.18.0.1"), 31));
}

/* ---- the settings --------------------------------------------------------------- */

static void test_config_defaults(void **state)
{
	struct dpc_config c;
	char buf[DPC_ACL_TEXT_MAX];

	(void)state;
	dpc_config_defaults(&c);
	assert_non_null(c.allow);
	assert_non_null(c.trusted);
	assert_non_null(c.admin);
	/* the server's /24: make run's client (198.18.0.2) yes, a forged internet source no */
	assert_true(dpc_acl_match(c.allow, hip("198.18.0.2")));
	assert_false(dpc_acl_match(c.allow, hip("203.0.113.7")));
	assert_true(dpc_acl_match(c.trusted, hip("198.18.0.2")));
	assert_false(dpc_acl_match(c.trusted, hip("203.0.113.7")));
	assert_false(dpc_acl_match(c.admin, hip("198.18.0.2")));
	assert_int_equal(c.amp_factor, 3);
	assert_int_equal(c.src_rate, 1u << 20);
	assert_int_equal(c.trusted_rate, 0);
	assert_int_equal(c.promiscuous, 0);
	assert_int_equal(dpc_config_get(&c, "allow", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "subnet");
	assert_int_equal(dpc_config_get(&c, "admin", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "none");
	dpc_config_free(&c);
	dpc_config_free(NULL);
}

static char **mkargv(const char *const *a, int *argc)
{
	static char store[16][256];
	static char *v[17];
	int i;

	for (i = 0; a[i] != NULL && i < 16; i++) {
		snprintf(store[i], sizeof(store[i]), "%s", a[i]);
		v[i] = store[i];
	}
	v[i] = NULL;
	*argc = i;
	return v;
}

static void test_config_subnet_resolved_last(void **state)
{
	struct dpc_config c;
	char err[256] = "";
	int argc;

	(void)state;
	dpc_config_defaults(&c);
	{
		/* `subnet` written before the address and its length: resolved against both */
		const char *const a[] = { "dpcached", "--trusted", "subnet,192.0.2.0/24", "--allow",
					  "subnet", "--address", "10.1.2.3", "--subnet-len", "16", NULL };
		char **argv = mkargv(a, &argc);

		assert_int_equal(dpc_config_parse_args(&c, argc, argv, err, sizeof(err)), 0);
	}
	assert_true(dpc_acl_match(c.allow, hip("10.1.200.9")));
	assert_false(dpc_acl_match(c.allow, hip("198.18.0.2")));
	assert_true(dpc_acl_match(c.trusted, hip("10.1.0.1")));
	assert_true(dpc_acl_match(c.trusted, hip("192.0.2.1")));
	{
		/* a bad list names the setting and what is allowed; nothing changes */
		const struct dpc_acl *before = c.allow;
		const char *const a[] = { "dpcached", "--allow", "10.0.0.1/8", NULL };
		char **argv = mkargv(a, &argc);

		assert_int_equal(dpc_config_parse_args(&c, argc, argv, err, sizeof(err)), -EINVAL);
		assert_non_null(strstr(err, "allow: '10.0.0.1/8' has host bits set"));
		assert_ptr_equal(c.allow, before);
	}
	dpc_config_free(&c);

	/* the same through a file */
	dpc_config_defaults(&c);
	{
		char path[] = "/tmp/dpc_test_acl_XXXXXX";
		int fd = mkstemp(path);
		static const char text[] = "allow = subnet, 203.0.113.0/24\naddress = 10.9.0.1\n";

		assert_true(fd >= 0);
		assert_int_equal(write(fd, text, sizeof(text) - 1), (ssize_t)(sizeof(text) - 1));
		close(fd);
		assert_int_equal(dpc_config_load_file(&c, path, err, sizeof(err)), 0);
		unlink(path);
	}
	assert_true(dpc_acl_match(c.allow, hip("10.9.0.77")));
	assert_true(dpc_acl_match(c.allow, hip("203.0.113.7")));
	assert_false(dpc_acl_match(c.allow, hip("198.18.0.2")));
	dpc_config_free(&c);
}

static void test_config_runtime_swap(void **state)
{
	struct dpc_config c;
	struct dpc_acl *old, *r;
	char err[256] = "", buf[DPC_ACL_TEXT_MAX];

	(void)state;
	dpc_config_defaults(&c);
	/* the defaults are shared lists (nothing to free, nothing to retire) */
	assert_true(c.allow->shared && c.trusted->shared && c.admin->shared);
	assert_int_equal(dpc_config_set(&c, "allow", "subnet,10.0.0.0/8", true, err, sizeof(err)), 0);
	assert_null(dpc_config_take_retired(&c));
	old = c.allow;
	assert_int_equal(dpc_config_set(&c, "allow", "0.0.0.0/0", true, err, sizeof(err)), 0);
	/* a new list is published; the old one is still intact (a reader may hold it) and retired */
	assert_ptr_not_equal(c.allow, old);
	assert_true(dpc_acl_match(c.allow, hip("203.0.113.7")));
	assert_true(dpc_acl_match(old, hip("10.1.2.3")));
	assert_int_equal(dpc_config_get(&c, "allow", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "0.0.0.0/0");
	assert_int_equal(dpc_config_set(&c, "admin", "198.18.0.2", true, err, sizeof(err)), 0);
	r = c.admin;
	assert_int_equal(dpc_config_set(&c, "admin", "198.18.0.3", true, err, sizeof(err)), 0);
	/* a refused change leaves the list in force and retires nothing more */
	assert_int_equal(dpc_config_set(&c, "admin", "198.18.0.2/24", true, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "admin: '198.18.0.2/24' has host bits set"));
	assert_true(dpc_acl_match(c.admin, hip("198.18.0.3")));
	/* both replaced lists wait on the chain, newest first; taking it empties it */
	struct dpc_acl *chain = dpc_config_take_retired(&c);
	assert_ptr_equal(chain, r);
	assert_ptr_equal(chain->retired_next, old);
	assert_null(chain->retired_next->retired_next);
	assert_null(dpc_config_take_retired(&c));
	dpc_acl_free_chain(chain);
	/* the prefix-list settings are the run-time kind */
	assert_true(dpc_config_find("allow")->runtime);
	assert_true(dpc_config_find("trusted")->runtime);
	assert_true(dpc_config_find("admin")->runtime);
	assert_false(dpc_config_find("subnet_len")->runtime);
	/* retired lists left on the chain are freed with the config (ASan checks) */
	assert_int_equal(dpc_config_set(&c, "trusted", "none", true, err, sizeof(err)), 0);
	dpc_config_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_and_match),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_martian),
		cmocka_unit_test(test_config_defaults),
		cmocka_unit_test(test_config_subnet_resolved_last),
		cmocka_unit_test(test_config_runtime_swap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
