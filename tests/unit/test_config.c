/* SPDX-License-Identifier: BSD-3-Clause */
/* The settings table: defaults, validation, errors, file, flags, help. */
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

#include "dpcache/config.h"

static void test_defaults(void **state)
{
	struct dpc_config c;
	char buf[128];
	unsigned i;

	(void)state;
	dpc_config_defaults(&c);
	assert_string_equal(c.name, "dpcache");
	assert_int_equal(c.address, htonl(0xc6120001u));
	assert_int_equal(c.port, 11211);
	assert_int_equal(c.workers, 1);
	assert_int_equal(c.memory, 256ull << 20);
	assert_int_equal(c.max_value, 1ull << 20);
	assert_int_equal(c.eviction, 2); /* s3fifo, of fifo|clock|s3fifo */
	assert_int_equal(c.log_level, 2); /* error|warning|info|debug */
	assert_int_equal(c.hugepages, 1);
	assert_int_equal(c.ring_size, 4096);
	/* Every default is valid, and get() prints it back the way the table spells it. */
	for (i = 0; i < dpc_config_ndefs; i++) {
		const struct dpc_config_def *d = &dpc_config_defs[i];
		struct dpc_config t;
		char err[256] = "";

		dpc_config_defaults(&t);
		assert_int_equal(dpc_config_set(&t, d->name, d->def, false, err, sizeof(err)), 0);
		assert_int_equal(dpc_config_get(&c, d->name, buf, sizeof(buf)), 0);
		assert_string_equal(buf, d->def);
		assert_ptr_equal(dpc_config_find(d->name), d);
		assert_true(d->offset + d->size <= sizeof(struct dpc_config));
		dpc_config_free(&t);
	}
	dpc_config_free(&c);
}

static void test_u32_range_errors(void **state)
{
	struct dpc_config c;
	char err[256];
	static const char *const bad[] = { "abc", "-1", "1x", "", " 2", "4.5", "0x10",
					   "99999999999999999999999" };
	unsigned i;

	(void)state;
	dpc_config_defaults(&c);
	assert_int_equal(dpc_config_set(&c, "workers", "4", false, err, sizeof(err)), 0);
	assert_int_equal(c.workers, 4);
	assert_int_equal(dpc_config_set(&c, "workers", "0", false, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "workers: 0 is out of range 1..64");
	assert_int_equal(c.workers, 4);
	assert_int_equal(dpc_config_set(&c, "workers", "65", false, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "workers: 65 is out of range 1..64");
	assert_int_equal(dpc_config_set(&c, "workers", "64", false, err, sizeof(err)), 0);
	assert_int_equal(c.workers, 64);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(dpc_config_set(&c, "workers", bad[i], false, err, sizeof(err)), -EINVAL);
		assert_non_null(strstr(err, "workers: "));
		assert_non_null(strstr(err, "1..64"));
		assert_int_equal(c.workers, 64);
	}
	assert_int_equal(dpc_config_set(&c, "port", "65536", false, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "port: 65536 is out of range 1..65535");
	/* 2^32 + 1 must not wrap into range. */
	assert_int_equal(dpc_config_set(&c, "port", "4294967297", false, err, sizeof(err)), -EINVAL);
	assert_int_equal(c.port, 11211);
	/* A check the range cannot express. */
	assert_int_equal(dpc_config_set(&c, "ring_size", "1000", false, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "ring_size: 1000 is not a power of 2");
	assert_int_equal(c.ring_size, 4096);
	assert_int_equal(dpc_config_set(&c, "ring_size", "1024", false, err, sizeof(err)), 0);
	assert_int_equal(c.ring_size, 1024);
	dpc_config_free(&c);
}

static void test_size(void **state)
{
	struct dpc_config c;
	char err[256], buf[64];

	(void)state;
	dpc_config_defaults(&c);
	assert_int_equal(dpc_config_set(&c, "memory", "2G", false, err, sizeof(err)), 0);
	assert_int_equal(c.memory, 2ull << 30);
	assert_int_equal(dpc_config_get(&c, "memory", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "2G");
	assert_int_equal(dpc_config_set(&c, "memory", "1536k", false, err, sizeof(err)), 0);
	assert_int_equal(c.memory, 1536ull << 10);
	assert_int_equal(dpc_config_get(&c, "memory", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "1536K");
	assert_int_equal(dpc_config_set(&c, "memory", "3000000", false, err, sizeof(err)), 0);
	assert_int_equal(dpc_config_get(&c, "memory", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "3000000");
	assert_int_equal(dpc_config_set(&c, "memory", "1K", false, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "memory: 1K is out of range 1M..1T");
	assert_int_equal(dpc_config_set(&c, "memory", "2T", false, err, sizeof(err)), -EINVAL);
	assert_int_equal(dpc_config_set(&c, "memory", "99999999999G", false, err, sizeof(err)), -EINVAL);
	assert_int_equal(dpc_config_set(&c, "memory", "12Q", false, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "memory: '12Q' is not a size"));
	assert_int_equal(dpc_config_set(&c, "memory", "1MB", false, err, sizeof(err)), -EINVAL);
	assert_int_equal(c.memory, 3000000);
	dpc_config_free(&c);
}

static void test_enum_bool_ip_string(void **state)
{
	struct dpc_config c;
	char err[256], buf[64];

	(void)state;
	dpc_config_defaults(&c);
	assert_int_equal(dpc_config_set(&c, "eviction", "FIFO", false, err, sizeof(err)), 0);
	assert_int_equal(c.eviction, 0);
	assert_int_equal(dpc_config_get(&c, "eviction", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "fifo");
	assert_int_equal(dpc_config_set(&c, "eviction", "S3FIFO", false, err, sizeof(err)), 0);
	assert_int_equal(c.eviction, 2);
	assert_int_equal(dpc_config_set(&c, "eviction", "fifo", false, err, sizeof(err)), 0);
	assert_int_equal(dpc_config_set(&c, "eviction", "lru", false, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "eviction: 'lru' is not one of fifo|clock|s3fifo");
	assert_int_equal(dpc_config_set(&c, "eviction", "fif", false, err, sizeof(err)), -EINVAL);
	assert_int_equal(c.eviction, 0);

	assert_int_equal(dpc_config_set(&c, "hugepages", "off", false, err, sizeof(err)), 0);
	assert_int_equal(c.hugepages, 0);
	assert_int_equal(dpc_config_set(&c, "hugepages", "TRUE", false, err, sizeof(err)), 0);
	assert_int_equal(c.hugepages, 1);
	assert_int_equal(dpc_config_set(&c, "hugepages", "0", false, err, sizeof(err)), 0);
	assert_int_equal(dpc_config_get(&c, "hugepages", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "no");
	assert_int_equal(dpc_config_set(&c, "hugepages", "maybe", false, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "hugepages: 'maybe' is not a boolean"));
	assert_int_equal(c.hugepages, 0);

	assert_int_equal(dpc_config_set(&c, "address", "198.19.1.2", false, err, sizeof(err)), 0);
	assert_int_equal(c.address, htonl(0xc6130102u));
	assert_int_equal(dpc_config_get(&c, "address", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "198.19.1.2");
	assert_int_equal(dpc_config_set(&c, "address", "1.2.3", false, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "address: '1.2.3' is not an IPv4 address (a.b.c.d)");
	assert_int_equal(dpc_config_set(&c, "address", "256.1.1.1", false, err, sizeof(err)), -EINVAL);
	assert_int_equal(c.address, htonl(0xc6130102u));

	assert_int_equal(dpc_config_set(&c, "name", "cache-2.a_b", false, err, sizeof(err)), 0);
	assert_string_equal(c.name, "cache-2.a_b");
	assert_int_equal(dpc_config_set(&c, "name", "a/b", false, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "name: 'a/b' must be"));
	assert_int_equal(dpc_config_set(&c, "name", "", false, err, sizeof(err)), -EINVAL);
	{
		char longname[DPC_CFG_STR_MAX + 1];

		memset(longname, 'x', DPC_CFG_STR_MAX);
		longname[DPC_CFG_STR_MAX] = '\0';
		assert_int_equal(dpc_config_set(&c, "name", longname, false, err, sizeof(err)), -EINVAL);
		longname[DPC_CFG_STR_MAX - 1] = '\0';
		assert_int_equal(dpc_config_set(&c, "name", longname, false, err, sizeof(err)), 0);
		assert_string_equal(c.name, longname);
	}
	dpc_config_free(&c);
}

static void test_runtime_and_unknown(void **state)
{
	struct dpc_config c;
	char err[256];
	unsigned i, nrt = 0;

	(void)state;
	dpc_config_defaults(&c);
	assert_int_equal(dpc_config_set(&c, "log_level", "debug", true, err, sizeof(err)), 0);
	assert_int_equal(c.log_level, 3);
	assert_int_equal(dpc_config_set(&c, "tx_retries", "0", true, err, sizeof(err)), 0);
	assert_int_equal(c.tx_retries, 0);
	assert_int_equal(dpc_config_set(&c, "maintain_budget", "0", true, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "maintain_budget: 0 is out of range 1..65536");
	assert_int_equal(c.maintain_budget, 64);
	assert_int_equal(dpc_config_set(&c, "workers", "2", true, err, sizeof(err)), -EPERM);
	assert_non_null(strstr(err, "workers: cannot be changed at run time"));
	assert_int_equal(c.workers, 1);
	assert_int_equal(dpc_config_set(&c, "name", "other", true, err, sizeof(err)), -EPERM);
	assert_string_equal(c.name, "dpcache");
	assert_int_equal(dpc_config_set(&c, "no_such", "1", false, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "unknown setting 'no_such'"));
	assert_null(dpc_config_find("no_such"));
	assert_null(dpc_config_find(""));
	assert_ptr_equal(dpc_config_find("log-level"), dpc_config_find("log_level"));
	assert_int_equal(dpc_config_get(&c, "no_such", err, sizeof(err)), -ENOENT);
	for (i = 0; i < dpc_config_ndefs; i++) {
		if (dpc_config_defs[i].runtime) {
			nrt++;
			assert_true(dpc_config_defs[i].type != DPC_CFG_STRING);
		}
	}
	assert_true(nrt >= 3);
	dpc_config_free(&c);
}

static char *write_tmp(const char *text)
{
	static char path[64];
	int fd;

	snprintf(path, sizeof(path), "/tmp/dpc_test_config_XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

static void test_file(void **state)
{
	struct dpc_config c, before;
	char err[256];
	char *path;

	(void)state;
	dpc_config_defaults(&c);
	path = write_tmp("# dpcache config\n\n  workers = 4   \nmemory=1G # one gig\n"
			 "eviction = fifo\n\taddress = 198.18.0.9\nname = prod\n");
	assert_int_equal(dpc_config_load_file(&c, path, err, sizeof(err)), 0);
	unlink(path);
	assert_int_equal(c.workers, 4);
	assert_int_equal(c.memory, 1ull << 30);
	assert_int_equal(c.eviction, 0);
	assert_int_equal(c.address, htonl(0xc6120009u));
	assert_string_equal(c.name, "prod");

	/* An error names file and line, and the whole file is rejected. */
	memcpy(&before, &c, sizeof(c));
	path = write_tmp("workers = 8\n# fine\nworkers = 0\n");
	assert_int_equal(dpc_config_load_file(&c, path, err, sizeof(err)), -EINVAL);
	{
		char want[256];

		snprintf(want, sizeof(want), "%s:3: workers: 0 is out of range 1..64", path);
		assert_string_equal(err, want);
	}
	unlink(path);
	assert_memory_equal(&c, &before, sizeof(c));

	path = write_tmp("workers 8\n");
	assert_int_equal(dpc_config_load_file(&c, path, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, ":1: expected 'name = value'"));
	unlink(path);
	path = write_tmp("wrokers = 8\n");
	assert_int_equal(dpc_config_load_file(&c, path, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, ":1: unknown setting 'wrokers'"));
	unlink(path);
	assert_int_equal(dpc_config_load_file(&c, "/nonexistent/dpc.conf", err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "/nonexistent/dpc.conf"));
	assert_memory_equal(&c, &before, sizeof(c));
	dpc_config_free(&c);
}

/* argv for the parser from string literals (-Wwrite-strings): NULL-terminated copy. */
static char **mkargv(const char *const *a)
{
	static char store[16][256];
	static char *v[17];
	unsigned i;

	for (i = 0; a[i] != NULL && i < 16; i++) {
		snprintf(store[i], sizeof(store[i]), "%s", a[i]);
		v[i] = store[i];
	}
	v[i] = NULL;
	return v;
}

static void test_args(void **state)
{
	struct dpc_config c, before;
	char err[256];
	char *path;

	(void)state;
	dpc_config_defaults(&c);
	path = write_tmp("workers = 4\nport = 2000\nlog_level = error\n");
	{
		/* --config comes last on the line but is applied first: flags override it. */
		const char *const a[] = { "dpcached", "--workers=2", "--log-level", "debug",
					  "--memory", "64M", "--config", path, NULL };
		char **argv = mkargv(a);

		assert_int_equal(dpc_config_parse_args(&c, 8, argv, err, sizeof(err)), 0);
	}
	assert_int_equal(c.workers, 2);
	assert_int_equal(c.port, 2000);
	assert_int_equal(c.log_level, 3);
	assert_int_equal(c.memory, 64ull << 20);
	{
		/* Without a program name too (a flag never starts one). */
		const char *const a[] = { "--config=x-does-not-matter-help-wins", "--help", NULL };
		char **argv = mkargv(a);

		assert_int_equal(dpc_config_parse_args(&c, 2, argv, err, sizeof(err)), 1);
	}
	memcpy(&before, &c, sizeof(c));
	{
		const char *const a[] = { "dpcached", "--workers=3", "--workers=0", NULL };
		char **argv = mkargv(a);

		assert_int_equal(dpc_config_parse_args(&c, 3, argv, err, sizeof(err)), -EINVAL);
		assert_string_equal(err, "workers: 0 is out of range 1..64");
	}
	{
		const char *const a[] = { "dpcached", "--port", NULL };
		char **argv = mkargv(a);

		assert_int_equal(dpc_config_parse_args(&c, 2, argv, err, sizeof(err)), -EINVAL);
		assert_string_equal(err, "--port: missing value");
	}
	{
		const char *const a[] = { "dpcached", "--bogus=1", NULL };
		char **argv = mkargv(a);

		assert_int_equal(dpc_config_parse_args(&c, 2, argv, err, sizeof(err)), -ENOENT);
		assert_non_null(strstr(err, "unknown setting 'bogus'"));
	}
	{
		const char *const a[] = { "dpcached", "stray", NULL };
		char **argv = mkargv(a);

		assert_int_equal(dpc_config_parse_args(&c, 2, argv, err, sizeof(err)), -EINVAL);
		assert_non_null(strstr(err, "unexpected argument 'stray'"));
	}
	{
		const char *const a[] = { "dpcached", "--config", "/nonexistent/x.conf", NULL };
		char **argv = mkargv(a);

		assert_int_equal(dpc_config_parse_args(&c, 3, argv, err, sizeof(err)), -ENOENT);
	}
	assert_memory_equal(&c, &before, sizeof(c));
	unlink(path);
	dpc_config_free(&c);
}

static void test_help(void **state)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	unsigned i;

	(void)state;
	assert_non_null(f);
	dpc_config_help(f);
	fclose(f);
	for (i = 0; i < dpc_config_ndefs; i++) {
		char flag[80];

		snprintf(flag, sizeof(flag), "--%s=", dpc_config_defs[i].name);
		assert_non_null(strstr(text, flag));
		assert_non_null(strstr(text, dpc_config_defs[i].help));
	}
	assert_non_null(strstr(text, "--workers=N  (1..64)  default 1\n"));
	assert_non_null(strstr(text, "--config FILE"));
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_u32_range_errors),
		cmocka_unit_test(test_size),
		cmocka_unit_test(test_enum_bool_ip_string),
		cmocka_unit_test(test_runtime_and_unknown),
		cmocka_unit_test(test_file),
		cmocka_unit_test(test_args),
		cmocka_unit_test(test_help),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
