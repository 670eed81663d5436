/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The control channel end to end inside one process: EAL (no hugepages, no
 * PCI), dpcached's ctl_server on its real socket, and dpcachectl's client
 * code (connect, request, parse, JSON, Prometheus over HTTP) against it,
 * over a real cache (two partitions) for the store figures and flush.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <grp.h>
#include <linux/capability.h>
#include <poll.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <rte_eal.h>
#include <urcu/urcu-qsbr.h>

#include "dpcache/hash.h"
#include "sock_client.h"

/* The code under test, compiled into this binary (dpcached and dpcachectl are not libraries). */
#include "../../dataplane/ctl_server.c"
#include "../../control/ctl_client.c"
#include "../../control/ctl_prom.c"

/* ---- fixture ------------------------------------------------------------------- */

static struct dpc_config cfg;
static struct dpc_worker_stats wst[2];
static struct dpc_worker_stats *const wptr[2] = { &wst[0], &wst[1] };
static struct dpc_ctl_env env = {
	.cfg = &cfg, .stats = wptr, .nworkers = 2, .version = "9.8.7-test",
};

/* Store @p n keys "key:<i>" each in its owner partition (this thread plays both owners). */
static void put_keys(unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++) {
		char kb[32];
		int len = snprintf(kb, sizeof(kb), "key:%u", i);
		struct dpc_key k = { .data = kb, .len = (uint8_t)len, .hash = dpc_hash(kb, (size_t)len) };

		assert_int_equal(dpc_store_set(env.cache, dpc_hash_part(k.hash, 2), DPC_SET, &k, "value", 5,
					       0, 0, 0, NULL), DPC_OK);
	}
	urcu_qsbr_quiescent_state();
}

static enum dpc_status get_key(unsigned i)
{
	char kb[32];
	int len = snprintf(kb, sizeof(kb), "key:%u", i);
	struct dpc_key k = { .data = kb, .len = (uint8_t)len, .hash = dpc_hash(kb, (size_t)len) };
	struct dpc_item_view v;
	enum dpc_status st = dpc_cache_get(env.cache, &k, &v);

	urcu_qsbr_quiescent_state();
	return st;
}
static char sock_path[256];

static int setup(void **state)
{
	static char a[8][64];
	static const char *const fixed[] = { "test_ctl", "--no-huge", "-m", "64", "--no-pci",
					     "--no-shconf", "--log-level=lib.eal:error" };
	static char *args[8];
	int n;

	(void)state;
	for (n = 0; n < 7; n++) {
		snprintf(a[n], sizeof(a[n]), "%s", fixed[n]);
		args[n] = a[n];
	}
	snprintf(a[n], sizeof(a[n]), "--file-prefix=dpc_test_ctl_%d", (int)getpid());
	args[n] = a[n];
	n++;
	if (rte_eal_init(n, args) < 0)
		return -1;
	dpc_config_defaults(&cfg);
	/* A name of our own: the socket directory is /run/dpcache/<name> (never a real instance's). */
	snprintf(cfg.name, sizeof(cfg.name), "dpc_test_ctl_%d", (int)getpid());
	{
		struct dpc_cache_params p = {
			.nparts = 2, .mem_bytes = 8u << 20, .item_size_hint = 64, .max_value = 1024,
			.policy = DPC_EVICT_CLOCK, .hugepages = false, .numa_socket = -1,
		};

		urcu_qsbr_register_thread();
		env.cache = dpc_cache_create(&p);
		if (env.cache == NULL)
			return -1;
		dpc_cache_set_time(env.cache, 1700000000u);
	}
	if (dpc_ctl_socket_path(cfg.name, sock_path, sizeof(sock_path)) != 0)
		return -1;
	if (dpc_ctl_server_start(&env) != 0)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	dpc_ctl_server_stop();
	dpc_ctl_server_stop(); /* idempotent */
	{
		char dir[256];

		DIR *d;
		struct dirent *e;

		snprintf(dir, sizeof(dir), "%s", rte_eal_get_runtime_dir());
		rte_eal_cleanup();
		/* EAL leaves the runtime dir of our unique prefix (and the telemetry socket) behind. */
		d = opendir(dir);
		while (d != NULL && (e = readdir(d)) != NULL) {
			if (e->d_name[0] != '.')
				unlinkat(dirfd(d), e->d_name, 0);
		}
		if (d != NULL)
			closedir(d);
		rmdir(dir);
	}
	urcu_qsbr_quiescent_state();
	dpc_cache_free(env.cache);
	urcu_qsbr_unregister_thread();
	return 0;
}

static void call_ok(const char *req, struct dpc_ctl_reply *r)
{
	char err[512] = "";
	int rc = dpc_ctl_call(sock_path, req, 5000, r, err, sizeof(err));

	if (rc != 0)
		fail_msg("%s: %s", req, err);
}

/* ---- tests --------------------------------------------------------------------- */

static void test_socket_where_ctl_looks(void **state)
{
	char p[256];

	(void)state;
	/* dpcachectl --name NAME finds the socket in the runtime dir EAL made for that prefix. */
	snprintf(p, sizeof(p), "dpc_test_ctl_%d", (int)getpid());
	{
		char want[256];

		assert_int_equal(dpc_ctl_socket_path(p, want, sizeof(want)), 0);
		assert_string_equal(want, sock_path);
	}
	assert_int_equal(access(sock_path, F_OK), 0);
	assert_int_equal(dpc_ctl_server_start(&env), -EALREADY);
	{
		/* The socket 0660 and the directory 0710, both of group ctl_group (root here). */
		struct stat st;
		char dir[256];

		assert_int_equal(lstat(sock_path, &st), 0);
		assert_true(S_ISSOCK(st.st_mode));
		assert_int_equal(st.st_mode & 07777, 0660);
		assert_int_equal(st.st_gid, 0);
		snprintf(dir, sizeof(dir), "%s", sock_path);
		*strrchr(dir, '/') = '\0';
		assert_int_equal(lstat(dir, &st), 0);
		assert_true(S_ISDIR(st.st_mode));
		assert_int_equal(st.st_mode & 07777, 0710);
		assert_int_equal(st.st_uid, geteuid());
		assert_int_equal(st.st_gid, 0);
	}
}

static void test_ping_version(void **state)
{
	struct dpc_ctl_reply r;

	(void)state;
	call_ok("ping", &r);
	assert_true(r.ok);
	assert_string_equal(dpc_ctl_reply_get(&r, "pong"), cfg.name);
	dpc_ctl_reply_free(&r);
	call_ok("version", &r);
	assert_string_equal(dpc_ctl_reply_get(&r, "version"), "9.8.7-test");
	dpc_ctl_reply_free(&r);
}

static void test_stats(void **state)
{
	struct dpc_ctl_stats s;
	char err[256];
	int gets = dpc_ctl_stat_index("cmd_get"), hits = dpc_ctl_stat_index("get_hits"),
	    misses = dpc_ctl_stat_index("get_misses");

	(void)state;
	dpc_stats_reset(&wst[0]);
	dpc_stats_reset(&wst[1]);
	dpc_stat_add(&wst[0], cmd_get, 10);
	dpc_stat_add(&wst[0], get_hits, 4);
	dpc_stat_add(&wst[0], get_misses, 6);
	dpc_stat_add(&wst[1], cmd_get, 5);
	dpc_stat_add(&wst[1], get_hits, 5);
	dpc_stat_add(&wst[1], poll_cycles, 123456789012ull);
	put_keys(300);
	assert_int_equal(dpc_ctl_get_stats(sock_path, 5000, &s, err, sizeof(err)), 0);
	assert_int_equal(s.nworkers, 2);
	assert_int_equal(s.nparts, 2);
	assert_string_equal(s.name, cfg.name);
	assert_string_equal(s.version, "9.8.7-test");
	assert_int_equal(s.pid, getpid());
	assert_int_equal(s.w[0][gets], 10);
	assert_int_equal(s.w[1][gets], 5);
	assert_int_equal(s.total[gets], 15);
	assert_int_equal(s.total[hits], 9);
	assert_int_equal(s.total[misses], 6);
	assert_int_equal(s.total[hits] + s.total[misses], s.total[gets]);
	assert_int_equal(s.total[dpc_ctl_stat_index("poll_cycles")], 123456789012ull);
	{
		struct dpc_store_stats s0, s1;

		dpc_cache_stats(env.cache, 0, &s0);
		dpc_cache_stats(env.cache, 1, &s1);
		/* items per partition, as the store reports them; both got keys; 300 in all. */
		assert_int_equal(s.p[0][0], s0.items);
		assert_int_equal(s.p[1][0], s1.items);
		assert_true(s0.items > 0 && s1.items > 0);
		assert_int_equal(s.ptotal[0], 300);
		assert_int_equal(s.p[0][2], s0.bytes_limit); /* bytes_limit */
		assert_true(s.ptotal[1] > 300 * 5);          /* bytes_used: at least the values */
	}
	{
		/* JSON: well-formed enough for python's json module (checked by shape here). */
		char *txt = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&txt, &len);

		dpc_ctl_stats_json(f, &s);
		fclose(f);
		assert_non_null(strstr(txt, "\"total\":{\"rx_packets\":0,"));
		assert_non_null(strstr(txt, "\"cmd_get\":15"));
		assert_non_null(strstr(txt, "\"per_worker\":[{"));
		assert_non_null(strstr(txt, "\"store\":{\"partitions\":2,\"total\":{\"items\":300,"));
		assert_int_equal(txt[0], '{');
		assert_int_equal(txt[len - 1], '}');
		free(txt);
	}
	dpc_ctl_stats_free(&s);
}

/* The same totals over DPDK's telemetry socket (what dpdk-telemetry.py shows). */
static void test_telemetry(void **state)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char buf[16384];
	int fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	ssize_t n;

	(void)state;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/dpdk_telemetry.v2", rte_eal_get_runtime_dir());
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	n = recv(fd, buf, sizeof(buf) - 1, 0); /* greeting: version, pid, max_output_len */
	assert_true(n > 0);
	assert_int_equal(send(fd, "/dpcache/stats", 14, 0), 14);
	n = recv(fd, buf, sizeof(buf) - 1, 0);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_non_null(strstr(buf, "{\"/dpcache/stats\":{\"workers\":2,"));
	assert_non_null(strstr(buf, "\"cmd_get\":15,"));
	assert_non_null(strstr(buf, "\"get_hits\":9,"));
	close(fd);
}

static void test_config(void **state)
{
	struct dpc_ctl_reply r;
	char err[512];

	(void)state;
	call_ok("config get", &r);
	assert_true(r.ok);
	assert_int_equal(r.n, dpc_config_ndefs);
	assert_string_equal(dpc_ctl_reply_get(&r, "workers"), "1");
	assert_string_equal(dpc_ctl_reply_get(&r, "memory"), "256M");
	dpc_ctl_reply_free(&r);

	call_ok("config get log_level", &r);
	assert_int_equal(r.n, 1);
	assert_string_equal(dpc_ctl_reply_get(&r, "log_level"), "info");
	dpc_ctl_reply_free(&r);

	/* A run-time setting changes, atomically, in the live config. */
	call_ok("config set log_level debug", &r);
	assert_true(r.ok);
	assert_string_equal(dpc_ctl_reply_get(&r, "log_level"), "debug");
	dpc_ctl_reply_free(&r);
	assert_int_equal(__atomic_load_n(&cfg.log_level, __ATOMIC_RELAXED), 3);
	call_ok("config set tx_retries 3", &r);
	assert_true(r.ok);
	dpc_ctl_reply_free(&r);
	assert_int_equal(cfg.tx_retries, 3);

	/* Bad value: refused with the range; nothing changes. */
	call_ok("config set tx_retries 5000", &r);
	assert_false(r.ok);
	assert_string_equal(r.error, "tx_retries: 5000 is out of range 0..1024");
	dpc_ctl_reply_free(&r);
	assert_int_equal(cfg.tx_retries, 3);

	/* Not changeable at run time. */
	call_ok("config set workers 4", &r);
	assert_false(r.ok);
	assert_non_null(strstr(r.error, "workers: cannot be changed at run time"));
	dpc_ctl_reply_free(&r);
	assert_int_equal(cfg.workers, 1);
	call_ok("config set name other", &r);
	assert_false(r.ok);
	dpc_ctl_reply_free(&r);
	assert_non_null(strstr(cfg.name, "dpc_test_ctl_"));

	call_ok("config set nope 1", &r);
	assert_false(r.ok);
	assert_non_null(strstr(r.error, "unknown setting 'nope'"));
	dpc_ctl_reply_free(&r);
	call_ok("config get nope", &r);
	assert_false(r.ok);
	dpc_ctl_reply_free(&r);
	(void)err;
}

static void test_flush(void **state)
{
	struct dpc_ctl_reply r;

	(void)state;
	assert_int_equal(get_key(7), DPC_OK);
	call_ok("flush -1", &r);
	assert_false(r.ok);
	dpc_ctl_reply_free(&r);
	call_ok("flush 99999999999", &r);
	assert_false(r.ok);
	dpc_ctl_reply_free(&r);
	assert_int_equal(get_key(7), DPC_OK); /* refused flushes flushed nothing */
	call_ok("flush 30", &r);
	assert_true(r.ok);
	assert_string_equal(dpc_ctl_reply_get(&r, "delay"), "30");
	dpc_ctl_reply_free(&r);
	dpc_store_maintain(env.cache, 0, 64);
	dpc_store_maintain(env.cache, 1, 64);
	assert_int_equal(get_key(7), DPC_OK); /* not yet: 30 s from now */
	call_ok("flush", &r);
	assert_true(r.ok);
	dpc_ctl_reply_free(&r);
	dpc_store_maintain(env.cache, 0, 64);
	dpc_store_maintain(env.cache, 1, 64);
	assert_int_equal(get_key(7), DPC_NOT_FOUND);
	assert_int_equal(get_key(299), DPC_NOT_FOUND);
}

static void test_bad_requests(void **state)
{
	static const char *const bad[] = { "", "   ", "bogus", "stats extra", "config", "config set x",
					   "config get a b", "flush 1 2", "config set log_level debug x" };
	struct dpc_ctl_reply r;
	unsigned i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		call_ok(bad[i], &r);
		assert_false(r.ok);
		assert_non_null(r.error);
		dpc_ctl_reply_free(&r);
	}
	assert_int_equal(cfg.log_level, 3);
	/* A request with no newline and over the size limit, sent raw. */
	{
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		char big[2000], ans[256];
		int fd = socket(AF_UNIX, SOCK_STREAM, 0);
		ssize_t n;

		memcpy(sa.sun_path, sock_path, strlen(sock_path));
		assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
		memset(big, 'x', sizeof(big));
		assert_int_equal(send(fd, big, sizeof(big), MSG_NOSIGNAL), (ssize_t)sizeof(big));
		n = recv(fd, ans, sizeof(ans) - 1, 0);
		assert_true(n > 4);
		ans[n] = '\0';
		assert_non_null(strstr(ans, "ERR request too long"));
		close(fd);
	}
	/* A client that connects and says nothing delays the next one by at most the I/O timeout. */
	{
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		int fd = socket(AF_UNIX, SOCK_STREAM, 0);

		memcpy(sa.sun_path, sock_path, strlen(sock_path));
		assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
		call_ok("ping", &r);
		assert_true(r.ok);
		dpc_ctl_reply_free(&r);
		close(fd);
	}
}

/* ---- raw clients ------------------------------------------------------------------ */

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Send @p len raw bytes (all of them: the server must read what it does not
 * want rather than reset us), optionally shut down our side, read the answer.
 */
static void raw_exchange(const void *req, size_t len, bool shut, char *ans, size_t cap)
{
	int fd = unix_connect(sock_path);
	size_t off = 0;

	while (off < len) {
		ssize_t n = send(fd, (const char *)req + off, len - off, MSG_NOSIGNAL);

		assert_true(n > 0);
		off += (size_t)n;
	}
	if (shut)
		shutdown(fd, SHUT_WR);
	sock_read_all(fd, ans, cap);
	close(fd);
}

static uint64_t ctl_counter(const char *name)
{
	struct dpc_ctl_stats s;
	char err[256];
	int i;
	uint64_t v;

	assert_int_equal(dpc_ctl_get_stats(sock_path, 5000, &s, err, sizeof(err)), 0);
	for (i = 0; i < (int)DPC_CTL_CHAN_N; i++)
		if (strcmp(dpc_ctl_chan_names[i], name) == 0)
			break;
	assert_true(i < (int)DPC_CTL_CHAN_N);
	v = s.ctl[i];
	dpc_ctl_stats_free(&s);
	return v;
}

static void ping_ok(void)
{
	struct dpc_ctl_reply r;

	call_ok("ping", &r);
	assert_true(r.ok);
	dpc_ctl_reply_free(&r);
}

/* Regression: `ping\0\n` killed dpcached (strchr stopped at the NUL; NULL dereferenced). */
static void test_nul_byte(void **state)
{
	static const char req[] = "ping\0\n";
	char ans[256];

	(void)state;
	raw_exchange(req, sizeof(req) - 1, false, ans, sizeof(ans));
	assert_string_equal(ans, "ERR request holds a NUL byte (offset 4)\n");
	raw_exchange("\0\0\0\n", 4, false, ans, sizeof(ans));
	assert_non_null(strstr(ans, "ERR request holds a NUL byte"));
	ping_ok(); /* still alive, and serving */
}

/* Any bytes get an ERR answer, never a crash, a hang or a reset. */
static void test_any_bytes(void **state)
{
	size_t big = 1u << 20;
	char *junk = malloc(big + 1), ans[512];
	uint64_t errors0 = ctl_counter("errors"), x = 88172645463325252ull;
	size_t i;

	(void)state;
	/* no newline, then the client stops sending */
	raw_exchange("ping", 4, true, ans, sizeof(ans));
	assert_string_equal(ans, "ERR request not terminated by a newline\n");
	/* a 1 MB line: refused once DPC_CTL_REQ_MAX bytes hold no newline; the rest is read and dropped */
	memset(junk, 'x', big);
	junk[big - 1] = '\n';
	raw_exchange(junk, big, false, ans, sizeof(ans));
	assert_non_null(strstr(ans, "ERR request too long"));
	/* 1 MB of binary junk (xorshift64), newlines and NULs included */
	for (i = 0; i < big; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		junk[i] = (char)(x >> 56);
	}
	raw_exchange(junk, big, true, ans, sizeof(ans));
	assert_int_equal(strncmp(ans, "ERR ", 4), 0);
	/* control bytes, DEL, high bytes */
	raw_exchange("ping\x01\n", 6, false, ans, sizeof(ans));
	assert_non_null(strstr(ans, "ERR request holds a non-printable byte 0x01"));
	raw_exchange("stats\xff\n", 7, false, ans, sizeof(ans));
	assert_non_null(strstr(ans, "non-printable byte 0xff"));
	raw_exchange("\x7f\n", 2, false, ans, sizeof(ans));
	assert_non_null(strstr(ans, "non-printable byte 0x7f"));
	/* over-long words */
	memset(junk, 'k', 300);
	memcpy(junk, "config get ", 11);
	junk[300] = '\n';
	raw_exchange(junk, 301, false, ans, sizeof(ans));
	assert_non_null(strstr(ans, "ERR word 3 longer than"));
	/* CR LF is a line end, not junk */
	raw_exchange("ping\r\n", 6, false, ans, sizeof(ans));
	assert_int_equal(strncmp(ans, "OK\npong ", 8), 0);
	free(junk);
	assert_int_equal(ctl_counter("errors"), errors0 + 7);
	ping_ok();
}

/* A slow client holds only its own connection: another one is answered meanwhile. */
static void test_slow_client(void **state)
{
	struct dpc_ctl_reply r;
	char err[256];
	int slow = unix_connect(sock_path);
	int64_t t0;
	int rc;

	(void)state;
	assert_int_equal(send(slow, "pi", 2, 0), 2);
	/* The server's deadline is 2000 ms; we give up after 1000 ms: only a concurrent server passes. */
	t0 = mono_ms();
	rc = dpc_ctl_call(sock_path, "ping", 1000, &r, err, sizeof(err));
	print_message("other client answered after %lld ms while a slow client held a connection\n",
		      (long long)(mono_ms() - t0));
	assert_int_equal(rc, 0);
	assert_true(r.ok);
	dpc_ctl_reply_free(&r);
	assert_int_equal(send(slow, "ng\n", 3, 0), 3);
	{
		char ans[256];

		sock_read_all(slow, ans, sizeof(ans));
		assert_int_equal(strncmp(ans, "OK\npong ", 8), 0); /* and the slow one is served too */
	}
	close(slow);
}

/* One deadline per connection, from accept: trickling bytes does not extend it. */
static void test_deadline(void **state)
{
	struct dpc_ctl_reply r;
	uint64_t t0 = ctl_counter("timeouts");
	char ans[256] = "";
	int fd, sent = 0;

	(void)state;
	call_ok("config set ctl_timeout_ms 300", &r);
	assert_true(r.ok);
	dpc_ctl_reply_free(&r);
	fd = unix_connect(sock_path);
	/* one byte every 100 ms, for up to 3 s, until an answer arrives */
	while (sent < 30) {
		struct pollfd p = { .fd = fd, .events = POLLIN };

		(void)!send(fd, "p", 1, MSG_NOSIGNAL);
		sent++;
		if (poll(&p, 1, 100) == 1)
			break;
	}
	sock_read_all(fd, ans, sizeof(ans));
	close(fd);
	assert_string_equal(ans, "ERR no complete request within 300 ms (ctl_timeout_ms)\n");
	print_message("trickling client cut off after %d bytes (one per 100 ms)\n", sent);
	assert_true(sent < 30);
	assert_int_equal(ctl_counter("timeouts"), t0 + 1);
	call_ok("config set ctl_timeout_ms 2000", &r);
	dpc_ctl_reply_free(&r);
}

/* ctl_max_clients connections at once; the next one is told so, not left waiting. */
static void test_busy(void **state)
{
	int fds[64], extra;
	unsigned i, n = cfg.ctl_max_clients;
	uint64_t busy0 = ctl_counter("busy");
	char ans[256];

	(void)state;
	assert_true(n <= DPC_ARRAY_SIZE(fds));
	for (i = 0; i < n; i++)
		fds[i] = unix_connect(sock_path);
	extra = unix_connect(sock_path);
	sock_read_all(extra, ans, sizeof(ans));
	close(extra);
	assert_non_null(strstr(ans, "ERR busy: 16 control connections open"));
	for (i = 0; i < n; i++)
		close(fds[i]);
	ping_ok();
	assert_int_equal(ctl_counter("busy"), busy0 + 1);
}

static int capset_effective(uint32_t caps0)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2];

	memset(d, 0, sizeof(d));
	d[0].effective = caps0;
	d[0].permitted = caps0;
	return (int)syscall(SYS_capset, &h, d);
}

/*
 * In a child: become nobody (uid/gid 65534, no supplementary groups).
 * @p dac_override: keep CAP_DAC_OVERRIDE, so that the file system lets the
 * connect through and only SO_PEERCRED stands in the way.  Exit status:
 * 10 connect refused with EACCES, 11 connected and refused with the
 * expected ERR, 12 connected and served, 1 anything else.
 */
static int as_nobody(bool dac_override)
{
	pid_t pid = fork();
	int st;

	if (pid == 0) {
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		char ans[256];
		int fd;

		if (prctl(PR_SET_KEEPCAPS, 1) != 0 || setgroups(0, NULL) != 0 ||
		    setresgid(65534, 65534, 65534) != 0 || setresuid(65534, 65534, 65534) != 0)
			_exit(1);
		if (dac_override && capset_effective(1u << CAP_DAC_OVERRIDE) != 0)
			_exit(1);
		memcpy(sa.sun_path, sock_path, strlen(sock_path));
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
			_exit(errno == EACCES ? 10 : 1);
		if (send(fd, "ping\n", 5, MSG_NOSIGNAL) != 5)
			_exit(1);
		sock_read_all(fd, ans, sizeof(ans));
		if (strstr(ans, "ERR permission denied: uid 65534 is not root and not in group root") == ans)
			_exit(11);
		_exit(strncmp(ans, "OK\n", 3) == 0 ? 12 : 1);
	}
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	return WEXITSTATUS(st);
}

static void test_peer_refused(void **state)
{
	uint64_t refused0 = ctl_counter("refused_peer");

	(void)state;
	if (geteuid() != 0)
		skip();
	/* Not root and not in ctl_group: the directory (0710 root:root) keeps nobody out ... */
	assert_int_equal(as_nobody(false), 10);
	assert_int_equal(ctl_counter("refused_peer"), refused0);
	/* ... and past the file system (CAP_DAC_OVERRIDE), SO_PEERCRED does. */
	assert_int_equal(as_nobody(true), 11);
	assert_int_equal(ctl_counter("refused_peer"), refused0 + 1);
	ping_ok();
}

static void test_not_running_and_timeouts(void **state)
{
	struct dpc_ctl_reply r;
	char err[512], path[128];
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, rc;

	(void)state;
	rc = dpc_ctl_call("/nonexistent/dpdk/x/dpcache_ctl.sock", "ping", 500, &r, err, sizeof(err));
	assert_int_equal(rc, -ENOENT);
	assert_non_null(strstr(err, "dpcached is not running"));

	/* A socket file nobody listens on (a dead dpcached's leftover). */
	snprintf(path, sizeof(path), "/tmp/dpc_test_ctl_stale_%d.sock", (int)getpid());
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
	rc = dpc_ctl_call(path, "ping", 500, &r, err, sizeof(err));
	assert_int_equal(rc, -ECONNREFUSED);
	assert_non_null(strstr(err, "not running"));
	unlink(path);

	/* A server that accepts (backlog) but never answers: the client gives up on time. */
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 4), 0);
	{
		struct timespec t0, t1;
		double el;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		rc = dpc_ctl_call(path, "stats", 300, &r, err, sizeof(err));
		clock_gettime(CLOCK_MONOTONIC, &t1);
		el = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
		assert_int_equal(rc, -ETIMEDOUT);
		assert_non_null(strstr(err, "no answer from dpcached within 300 ms"));
		/* Not a timing threshold on performance: only that the call did not hang. */
		assert_true(el < 60.0);
	}
	close(fd);
	unlink(path);
}

/* ---- Prometheus ------------------------------------------------------------------- */

struct prom_run {
	int pipe_w;
	int request_timeout_ms;
	unsigned long max_req;
	int rc;
	char err[256];
};

static void *prom_thread(void *arg)
{
	struct prom_run *p = arg;
	FILE *log = fdopen(p->pipe_w, "w");

	struct dpc_ctl_metrics_opts mo = {
		.listen = "127.0.0.1:0", .sock_path = sock_path, .timeout_ms = 3000,
		.request_timeout_ms = p->request_timeout_ms, .max_requests = p->max_req,
		.duration_s = 30.0, .log = log,
	};

	p->rc = dpc_ctl_metrics_serve(&mo, p->err, sizeof(p->err));
	fclose(log);
	return NULL;
}

static int http_connect(unsigned port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	struct timeval tv = { .tv_sec = 10 };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

/* Send @p len raw bytes, read the whole answer (until the server closes). */
static char *http_raw(unsigned port, const char *req, size_t len)
{
	char *buf = calloc(1, 1 << 20);
	int fd = http_connect(port);

	assert_int_equal(send(fd, req, len, MSG_NOSIGNAL), (ssize_t)len);
	sock_read_all(fd, buf, 1 << 20);
	close(fd);
	return buf;
}

static char *http_text(unsigned port, const char *req)
{
	return http_raw(port, req, strlen(req));
}

static char *http_get(unsigned port, const char *target)
{
	char req[256];

	snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: x\r\n\r\n", target);
	return http_raw(port, req, strlen(req));
}

/*
 * Check the exposition text: every sample line is `name{labels} value` or
 * `name value`, and every family has HELP and TYPE before its samples.
 * Returns the value of @p want (a full `name{labels}` string), or -1.
 */
static double prom_check(char *body, const char *want)
{
	char *save = NULL, *line;
	char help[256][128], type[256][128];
	unsigned nh = 0, nt = 0, samples = 0, i;
	double found = -1;

	for (line = strtok_r(body, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char name[160], *sp, *br;
		bool h = false, t = false;

		if (strncmp(line, "# HELP ", 7) == 0) {
			sscanf(line + 7, "%127s", help[nh < 255 ? nh++ : nh]);
			continue;
		}
		if (strncmp(line, "# TYPE ", 7) == 0) {
			char kind[32];

			assert_int_equal(sscanf(line + 7, "%127s %31s", type[nt < 255 ? nt : 255], kind), 2);
			nt += nt < 255;
			assert_true(strcmp(kind, "counter") == 0 || strcmp(kind, "gauge") == 0);
			continue;
		}
		assert_true(line[0] != '#');
		sp = strrchr(line, ' ');
		assert_non_null(sp);
		{
			char *end;

			(void)strtod(sp + 1, &end);
			assert_int_equal(*end, '\0');
		}
		br = strchr(line, '{');
		snprintf(name, sizeof(name), "%.*s", (int)((br && br < sp ? br : sp) - line), line);
		assert_int_equal(strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_:"), strlen(name));
		if (br && br < sp)
			assert_int_equal(sp[-1], '}');
		for (i = 0; i < nh; i++)
			h |= strcmp(help[i], name) == 0;
		for (i = 0; i < nt; i++)
			t |= strcmp(type[i], name) == 0;
		assert_true(h);
		assert_true(t);
		if (strncmp(line, want, strlen(want)) == 0 && line + strlen(want) == sp)
			found = strtod(sp + 1, NULL);
		samples++;
	}
	assert_true(samples > 60);
	return found;
}

static void test_prometheus(void **state)
{
	struct prom_run p = { .max_req = 8, .request_timeout_ms = 500 };
	pthread_t t;
	int pfd[2];
	char line[128];
	unsigned port = 0;
	FILE *rd;
	char *body;
	int slow;
	int64_t t0;

	(void)state;
	assert_int_equal(pipe(pfd), 0);
	p.pipe_w = pfd[1];
	assert_int_equal(pthread_create(&t, NULL, prom_thread, &p), 0);
	rd = fdopen(pfd[0], "r");
	assert_non_null(fgets(line, sizeof(line), rd));
	assert_int_equal(sscanf(line, "listening on 127.0.0.1:%u", &port), 1);

	/* A slow client holds one connection, with half a request line ... */
	slow = http_connect(port);
	assert_int_equal(send(slow, "GET /met", 8, 0), 8);
	/* ... while the others are answered. */
	t0 = mono_ms();
	body = http_get(port, "/metrics");
	print_message("scrape answered after %lld ms while a slow client held a connection\n",
		      (long long)(mono_ms() - t0));
	assert_non_null(strstr(body, "HTTP/1.0 200 OK\r\n"));
	assert_non_null(strstr(body, "Content-Type: text/plain; version=0.0.4"));
	{
		char *txt = strstr(body, "\r\n\r\n") + 4;

		/* Same counters as the stats test left in the workers. */
		assert_true(prom_check(txt, "dpcache_cmd_get_requests_total{worker=\"total\"}") == 15);
	}
	free(body);
	body = http_get(port, "/metrics");
	assert_true(prom_check(strstr(body, "\r\n\r\n") + 4, "dpcache_get_hits_requests_total{worker=\"1\"}")
		    == 5);
	free(body);
	body = http_get(port, "/other");
	assert_non_null(strstr(body, "HTTP/1.0 404"));
	free(body);
	/* Any bytes: NUL, junk, other methods and versions, an over-long head. */
	{
		static const char nul[] = "GET /\0 HTTP/1.0\r\n\r\n";

		body = http_raw(port, nul, sizeof(nul) - 1);
	}
	assert_non_null(strstr(body, "HTTP/1.0 400 Bad Request\r\n"));
	free(body);
	body = http_text(port, "POST /metrics HTTP/1.0\r\n\r\n");
	assert_non_null(strstr(body, "HTTP/1.0 405"));
	free(body);
	body = http_text(port, "HEAD /metrics HTTP/1.1\r\n\r\n");
	assert_non_null(strstr(body, "HTTP/1.0 200 OK\r\n"));
	assert_null(strstr(body, "dpcache_up")); /* no body for HEAD */
	free(body);
	{
		char *big = malloc(20000);

		memset(big, 'a', 20000);
		memcpy(big, "GET /", 5);
		body = http_raw(port, big, 20000);
		assert_non_null(strstr(body, "HTTP/1.0 431"));
		free(body);
		free(big);
	}
	/* The slow client's deadline (500 ms from accept) passes: 408, and the connection closes. */
	{
		char ans[512];

		sock_read_all(slow, ans, sizeof(ans));
		assert_non_null(strstr(ans, "HTTP/1.0 408 Request Timeout\r\n"));
		close(slow);
	}
	/* --max-requests 8 (the 408 included): the server has stopped. */
	pthread_join(t, NULL);
	assert_int_equal(p.rc, 0);
	fclose(rd);

	{
		static const char *const bad[] = { "0.0.0.0:0", "198.18.0.1:9100", "[::]:0", "127.0.0.1" };
		static const int want[] = { -EPERM, -EPERM, -EPERM, -EINVAL };
		char err[256];
		unsigned i;

		for (i = 0; i < DPC_ARRAY_SIZE(bad); i++) {
			struct dpc_ctl_metrics_opts mo = {
				.listen = bad[i], .sock_path = sock_path, .timeout_ms = 100,
				.max_requests = 1, .duration_s = 1.0, .log = stdout,
			};

			assert_int_equal(dpc_ctl_metrics_serve(&mo, err, sizeof(err)), want[i]);
			if (want[i] == -EPERM)
				assert_non_null(strstr(err, "loopback addresses only"));
		}
	}
}

static void test_restart(void **state)
{
	struct dpc_ctl_reply r;
	char err[256];

	(void)state;
	dpc_ctl_server_stop();
	assert_int_equal(access(sock_path, F_OK), -1);
	assert_int_equal(dpc_ctl_call(sock_path, "ping", 500, &r, err, sizeof(err)), -ENOENT);
	assert_int_equal(dpc_ctl_server_start(&env), 0);
	call_ok("ping", &r);
	assert_true(r.ok);
	dpc_ctl_reply_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_socket_where_ctl_looks),
		cmocka_unit_test(test_ping_version),
		cmocka_unit_test(test_stats),
		cmocka_unit_test(test_telemetry),
		cmocka_unit_test(test_config),
		cmocka_unit_test(test_flush),
		cmocka_unit_test(test_bad_requests),
		cmocka_unit_test(test_nul_byte),
		cmocka_unit_test(test_any_bytes),
		cmocka_unit_test(test_slow_client),
		cmocka_unit_test(test_deadline),
		cmocka_unit_test(test_busy),
		cmocka_unit_test(test_peer_refused),
		cmocka_unit_test(test_not_running_and_timeouts),
		cmocka_unit_test(test_prometheus),
		cmocka_unit_test(test_restart),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
