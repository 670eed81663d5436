/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The control plane's parsers and rules (lib/ctlproto.c) and its server
 * loop (lib/connsrv.c), without dpcached: request framing and parsing on
 * hostile bytes, HTTP request heads, the SO_PEERCRED rule, the socket
 * directory checks, and the loop's deadline, slots and overflow.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "dpcache/common.h"
#include "dpcache/connsrv.h"
#include "dpcache/ctl.h"
#include "dpcache/ctlproto.h"
#include "sock_client.h"

/* ---- control requests ---------------------------------------------------------- */

static int parse(const char *line, struct dpc_ctl_req *r, char *err, size_t errlen)
{
	return dpc_ctl_req_parse(line, strlen(line), r, err, errlen);
}

static void test_ctl_frame(void **state)
{
	char big[DPC_CTL_REQ_MAX + 10];

	(void)state;
	assert_int_equal(dpc_ctl_req_frame("", 0), 0);
	assert_int_equal(dpc_ctl_req_frame("ping", 4), 0);
	assert_int_equal(dpc_ctl_req_frame("ping\n", 5), 5);
	assert_int_equal(dpc_ctl_req_frame("ping\nstats\n", 11), 5);   /* one request per connection */
	assert_int_equal(dpc_ctl_req_frame("pi\0ng\n", 6), 6);         /* a NUL does not hide the end */
	memset(big, 'x', sizeof(big));
	assert_int_equal(dpc_ctl_req_frame(big, DPC_CTL_REQ_MAX - 1), 0);
	assert_int_equal(dpc_ctl_req_frame(big, DPC_CTL_REQ_MAX), -EMSGSIZE);
	big[DPC_CTL_REQ_MAX - 1] = '\n';
	assert_int_equal(dpc_ctl_req_frame(big, sizeof(big)), DPC_CTL_REQ_MAX);
	big[DPC_CTL_REQ_MAX - 1] = 'x';
	big[DPC_CTL_REQ_MAX] = '\n';                 /* one byte too far */
	assert_int_equal(dpc_ctl_req_frame(big, sizeof(big)), -EMSGSIZE);
}

static void test_ctl_parse_good(void **state)
{
	struct dpc_ctl_req r;
	char err[256];

	(void)state;
	assert_int_equal(parse("ping\n", &r, err, sizeof(err)), 0);
	assert_int_equal(r.cmd, DPC_CTL_PING);
	assert_int_equal(parse("  version \t\r\n", &r, err, sizeof(err)), 0);
	assert_int_equal(r.cmd, DPC_CTL_VERSION);
	assert_int_equal(parse("stats", &r, err, sizeof(err)), 0);
	assert_int_equal(r.cmd, DPC_CTL_STATS);
	assert_int_equal(parse("config get\n", &r, err, sizeof(err)), 0);
	assert_int_equal(r.cmd, DPC_CTL_CONFIG_GET);
	assert_string_equal(r.key, "");
	assert_int_equal(parse("config get log_level\n", &r, err, sizeof(err)), 0);
	assert_string_equal(r.key, "log_level");
	assert_int_equal(parse("config\tset  tx_retries   3\n", &r, err, sizeof(err)), 0);
	assert_int_equal(r.cmd, DPC_CTL_CONFIG_SET);
	assert_string_equal(r.key, "tx_retries");
	assert_string_equal(r.value, "3");
	assert_int_equal(parse("flush\n", &r, err, sizeof(err)), 0);
	assert_int_equal(r.cmd, DPC_CTL_FLUSH);
	assert_int_equal(r.delay, 0);
	assert_int_equal(parse("flush 4294967295\n", &r, err, sizeof(err)), 0);
	assert_int_equal(r.delay, 4294967295u);
}

static void test_ctl_parse_bad(void **state)
{
	static const struct {
		const char *line;
		size_t len;
		const char *err;
	} bad[] = {
		{ "ping\0\n", 6, "request holds a NUL byte (offset 4)" },
		{ "\0", 1, "request holds a NUL byte (offset 0)" },
		{ "ping\x01\n", 6, "request holds a non-printable byte 0x01 (offset 4)" },
		{ "ping\x1b[2J\n", 9, "request holds a non-printable byte 0x1b (offset 4)" },
		{ "st\xc3\xa4ts\n", 7, "request holds a non-printable byte 0xc3 (offset 2)" },
		{ "ping\r\r\n", 7, "request holds a non-printable byte 0x0d (offset 4)" },
		{ "ping\nstats\n", 11, "request holds a non-printable byte 0x0a (offset 4)" },
		{ "\n", 1, "empty request" },
		{ " \t \n", 4, "empty request" },
		{ "bogus\n", 6, "unknown or malformed request" },
		{ "PING\n", 5, "unknown or malformed request" },
		{ "ping x\n", 7, "unknown or malformed request" },
		{ "stats extra\n", 12, "unknown or malformed request" },
		{ "config\n", 7, "unknown or malformed request" },
		{ "config set x\n", 13, "unknown or malformed request" },
		{ "config get a b\n", 15, "unknown or malformed request" },
		{ "config set a b c\n", 17, "too many words" },
		{ "flush 1 2\n", 10, "unknown or malformed request" },
		{ "flush -1\n", 9, "flush: delay '-1' is not a number of seconds" },
		{ "flush 4294967296\n", 17, "flush: delay '4294967296' is not a number" },
		{ "flush 99999999999999999999999\n", 30, "flush: delay" },
		{ "flush 1x\n", 9, "flush: delay '1x'" },
	};
	struct dpc_ctl_req r;
	char err[256], word[300];
	unsigned i;

	(void)state;
	for (i = 0; i < DPC_ARRAY_SIZE(bad); i++) {
		err[0] = '\0';
		assert_int_equal(dpc_ctl_req_parse(bad[i].line, bad[i].len, &r, err, sizeof(err)), -EINVAL);
		if (strncmp(err, bad[i].err, strlen(bad[i].err)) != 0)
			fail_msg("case %u: '%s', expected '%s...'", i, err, bad[i].err);
	}
	/* A word as long as a word may be, and one byte longer. */
	memset(word, 'k', sizeof(word));
	memcpy(word, "config get ", 11);
	assert_int_equal(dpc_ctl_req_parse(word, 11 + DPC_CTL_WORD_MAX - 1, &r, err, sizeof(err)), 0);
	assert_int_equal(strlen(r.key), DPC_CTL_WORD_MAX - 1);
	assert_int_equal(dpc_ctl_req_parse(word, 11 + DPC_CTL_WORD_MAX, &r, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "word 3 longer than 127 bytes");
	/* NULL err is allowed */
	assert_int_equal(dpc_ctl_req_parse("x", 1, &r, NULL, 0), -EINVAL);
}

/* ---- HTTP ----------------------------------------------------------------------- */

static int http(const char *head, struct dpc_http_req *r)
{
	return dpc_http_req_parse(head, strlen(head), r);
}

static void test_http_frame(void **state)
{
	static char big[DPC_HTTP_HEAD_MAX + 4];

	(void)state;
	assert_int_equal(dpc_http_req_frame("GET / HTTP/1.0\r\n", 16), 0);
	assert_int_equal(dpc_http_req_frame("GET / HTTP/1.0\r\n\r\n", 18), 18);
	assert_int_equal(dpc_http_req_frame("GET /\n\nrest", 11), 7);
	assert_int_equal(dpc_http_req_frame("GET /\r\nHost: x\r\n\r\nbody", 22), 18);
	assert_int_equal(dpc_http_req_frame("\n\n", 2), 2);
	memset(big, 'a', sizeof(big));
	assert_int_equal(dpc_http_req_frame(big, DPC_HTTP_HEAD_MAX - 1), 0);
	assert_int_equal(dpc_http_req_frame(big, sizeof(big)), -EMSGSIZE);
}

static void test_http_parse(void **state)
{
	struct dpc_http_req r;

	(void)state;
	assert_int_equal(http("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", &r), 200);
	assert_int_equal(r.target, DPC_HTTP_METRICS);
	assert_false(r.head);
	assert_int_equal(http("HEAD /metrics?name[]=x HTTP/1.0\r\n\r\n", &r), 200);
	assert_int_equal(r.target, DPC_HTTP_METRICS);
	assert_true(r.head);
	assert_int_equal(http("GET / HTTP/1.0\n\n", &r), 200);
	assert_int_equal(r.target, DPC_HTTP_ROOT);
	assert_int_equal(http("GET /metricsx HTTP/1.0\r\n\r\n", &r), 200);
	assert_int_equal(r.target, DPC_HTTP_OTHER);
	assert_int_equal(http("GET /metrics\r\n\r\n", &r), 200); /* HTTP/0.9-style: no version */
	assert_int_equal(http("POST /metrics HTTP/1.0\r\n\r\n", &r), 405);
	assert_int_equal(http("DELETE / HTTP/1.0\r\n\r\n", &r), 405);
	assert_int_equal(http("GET /metrics HTTP/2.0\r\n\r\n", &r), 505);
	assert_int_equal(http("GET /metrics HTTP/1.0 x\r\n\r\n", &r), 400);
	assert_int_equal(http("GET /metrics FTP/1.0\r\n\r\n", &r), 400);
	assert_int_equal(http("GET /metrics HTTP/1.\r\n\r\n", &r), 400);
	assert_int_equal(http("GET  /metrics HTTP/1.0\r\n\r\n", &r), 400);
	assert_int_equal(http("GET\r\n\r\n", &r), 400);
	assert_int_equal(http("get /metrics HTTP/1.0\r\n\r\n", &r), 400);
	assert_int_equal(http("\r\n\r\n", &r), 400);
	assert_int_equal(http("", &r), 400);
	assert_int_equal(dpc_http_req_parse("GET /\0 HTTP/1.0\r\n\r\n", 20, &r), 400);
	assert_int_equal(dpc_http_req_parse("GET / HTTP/1.0\r\nX: \x01\r\n\r\n", 24, &r), 400);
	assert_int_equal(http("GET /\x7f HTTP/1.0\r\n\r\n", &r), 400);
}

/* ---- peers and directories ---------------------------------------------------------- */

static void test_peer_rule(void **state)
{
	const gid_t groups[] = { 100, 27, 1001 };

	(void)state;
	assert_true(dpc_ctl_peer_allowed(0, 0, NULL, 0, 0, 0));            /* root */
	assert_true(dpc_ctl_peer_allowed(0, 65534, NULL, 0, 1000, 1001));  /* root, any group */
	assert_true(dpc_ctl_peer_allowed(1000, 1000, NULL, 0, 1000, 0));   /* dpcached's own user */
	assert_true(dpc_ctl_peer_allowed(65534, 1001, NULL, 0, 0, 1001));  /* primary group */
	assert_true(dpc_ctl_peer_allowed(65534, 65534, groups, 3, 0, 1001)); /* supplementary */
	assert_false(dpc_ctl_peer_allowed(65534, 65534, groups, 2, 0, 1001));
	assert_false(dpc_ctl_peer_allowed(65534, 65534, NULL, 0, 0, 0));   /* nobody, group root */
	assert_false(dpc_ctl_peer_allowed(1, 1, groups, 3, 0, 0));
}

static void test_dir_for(void **state)
{
	char p[256];

	(void)state;
	assert_int_equal(dpc_ctl_dir_for("cache1", 0, p, sizeof(p)), 0);
	assert_string_equal(p, "/run/dpcache/cache1");
	setenv("XDG_RUNTIME_DIR", "/run/user/1000", 1);
	assert_int_equal(dpc_ctl_dir_for("cache1", 1000, p, sizeof(p)), 0);
	assert_string_equal(p, "/run/user/1000/dpcache/cache1");
	unsetenv("XDG_RUNTIME_DIR");
	assert_int_equal(dpc_ctl_dir_for("cache1", 1000, p, sizeof(p)), 0);
	assert_string_equal(p, "/tmp/dpcache-1000/cache1");
	assert_int_equal(dpc_ctl_dir_for("a/b", 0, p, sizeof(p)), -EINVAL);
	assert_int_equal(dpc_ctl_dir_for("..", 0, p, sizeof(p)), -EINVAL);
	assert_int_equal(dpc_ctl_dir_for("", 0, p, sizeof(p)), -EINVAL);
	assert_int_equal(dpc_ctl_dir_for("cache1", 0, p, 10), -ENAMETOOLONG);
	/* The client looks where a root server puts it. */
	assert_int_equal(dpc_ctl_socket_path("cache1", p, sizeof(p)), 0);
	if (geteuid() == 0)
		assert_string_equal(p, "/run/dpcache/cache1/" DPC_CTL_SOCK_NAME);
}

/* Refuse a symlink, a directory of another user, a directory others may write to. */
static void test_dir_prepare(void **state)
{
	char name[64], dir[256], got[256], err[512];
	struct stat st;

	(void)state;
	if (geteuid() != 0)
		skip();
	snprintf(name, sizeof(name), "dpc_test_ctlproto_%d", (int)getpid());
	snprintf(dir, sizeof(dir), "/run/dpcache/%s", name);
	assert_int_equal(dpc_ctl_dir_prepare(name, 0, got, sizeof(got), err, sizeof(err)), 0);
	assert_string_equal(got, dir);
	assert_int_equal(lstat(dir, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0710);
	assert_int_equal(lstat("/run/dpcache", &st), 0);
	assert_int_equal(st.st_mode & 022, 0);
	/* again: it exists, it is ours */
	assert_int_equal(dpc_ctl_dir_prepare(name, 65534, got, sizeof(got), err, sizeof(err)), 0);
	assert_int_equal(lstat(dir, &st), 0);
	assert_int_equal(st.st_gid, 65534);
	/* writable by others */
	assert_int_equal(chmod(dir, 0777), 0);
	assert_int_equal(dpc_ctl_dir_prepare(name, 0, got, sizeof(got), err, sizeof(err)), -EPERM);
	assert_non_null(strstr(err, "is writable by others (mode 0777)"));
	/* another user's */
	assert_int_equal(chmod(dir, 0700), 0);
	assert_int_equal(chown(dir, 65534, 65534), 0);
	assert_int_equal(dpc_ctl_dir_prepare(name, 0, got, sizeof(got), err, sizeof(err)), -EPERM);
	assert_non_null(strstr(err, "belongs to uid 65534"));
	assert_int_equal(rmdir(dir), 0);
	/* a symlink planted where the directory goes */
	assert_int_equal(symlink("/tmp", dir), 0);
	assert_int_equal(dpc_ctl_dir_prepare(name, 0, got, sizeof(got), err, sizeof(err)), -ENOTDIR);
	assert_non_null(strstr(err, "is not a directory"));
	assert_int_equal(unlink(dir), 0);
	assert_int_equal(dpc_ctl_dir_prepare("../x", 0, got, sizeof(got), err, sizeof(err)), -EINVAL);
}

/* ---- the server loop ----------------------------------------------------------------- */

struct loop_fixture {
	char path[108];
	int lfd;
	struct dpc_srv *srv;
	pthread_t tid;
	int stop;
	unsigned events[5];
};

/* Echo protocol: a line "x\n" is answered "got x\n"; EOF and TIMEOUT answered by name. */
static enum dpc_srv_action echo_event(void *ctx, int fd, enum dpc_srv_event ev, const char *in,
				      size_t len, struct dpc_buf *out)
{
	struct loop_fixture *f = ctx;
	const char *nl;

	(void)fd;
	__atomic_fetch_add(&f->events[ev], 1, __ATOMIC_RELAXED);
	switch (ev) {
	case DPC_SRV_ACCEPT:
		return DPC_SRV_MORE;
	case DPC_SRV_BUSY:
		dpc_buf_printf(out, "busy\n");
		return DPC_SRV_REPLY;
	case DPC_SRV_TIMEOUT:
		dpc_buf_printf(out, "timeout after %zu bytes\n", len);
		return DPC_SRV_REPLY;
	case DPC_SRV_EOF:
		dpc_buf_printf(out, "eof after %zu bytes\n", len);
		return DPC_SRV_REPLY;
	case DPC_SRV_DATA:
		break;
	}
	nl = memchr(in, '\n', len);
	if (nl == NULL)
		return DPC_SRV_MORE;
	dpc_buf_printf(out, "got %.*s\n", (int)(nl - in), in);
	return DPC_SRV_REPLY;
}

static void *loop_thread(void *arg)
{
	struct loop_fixture *f = arg;

	while (!__atomic_load_n(&f->stop, __ATOMIC_RELAXED))
		dpc_srv_poll(f->srv, 20);
	return NULL;
}

static void loop_start(struct loop_fixture *f, unsigned max_conns, size_t in_max, int timeout_ms)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	const struct dpc_srv_ops ops = { .event = echo_event, .ctx = f };

	memset(f, 0, sizeof(*f));
	snprintf(f->path, sizeof(f->path), "/tmp/dpc_test_connsrv_%d.sock", (int)getpid());
	memcpy(sa.sun_path, f->path, strlen(f->path));
	unlink(f->path);
	f->lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(f->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(f->lfd, 64), 0);
	f->srv = dpc_srv_create(f->lfd, max_conns, in_max, timeout_ms, &ops);
	assert_non_null(f->srv);
	assert_int_equal(pthread_create(&f->tid, NULL, loop_thread, f), 0);
}

static void test_loop_basics(void **state)
{
	struct loop_fixture f;
	struct dpc_srv_stats st;
	char ans[128];
	int a, b, c, fds[4], i;

	(void)state;
	errno = 0;
	assert_null(dpc_srv_create(-1, 1, 1, 1, NULL));
	assert_int_equal(errno, EINVAL);
	loop_start(&f, 4, 16, 300);
	/* a and b hold connections without a complete request; c is answered meanwhile */
	a = unix_connect(f.path);
	b = unix_connect(f.path);
	assert_int_equal(send(a, "slo", 3, 0), 3);
	c = unix_connect(f.path);
	assert_int_equal(send(c, "hi\n", 3, 0), 3);
	(void)sock_read_all(c, ans, sizeof(ans));
	assert_string_equal(ans, "got hi\n");
	close(c);
	/* EOF with a partial request */
	assert_int_equal(shutdown(b, SHUT_WR), 0);
	(void)sock_read_all(b, ans, sizeof(ans));
	assert_string_equal(ans, "eof after 0 bytes\n");
	close(b);
	/* a's deadline: 300 ms after accept */
	(void)sock_read_all(a, ans, sizeof(ans));
	assert_string_equal(ans, "timeout after 3 bytes\n");
	close(a);
	/* a request longer than in_max with no end: closed (the protocol said MORE) */
	a = unix_connect(f.path);
	assert_int_equal(send(a, "0123456789abcdefXYZ", 19, 0), 19);
	(void)sock_read_all(a, ans, sizeof(ans));
	assert_string_equal(ans, "");
	close(a);
	/* every slot taken: the next connection is refused at once */
	for (i = 0; i < 4; i++)
		fds[i] = unix_connect(f.path);
	a = unix_connect(f.path);
	(void)sock_read_all(a, ans, sizeof(ans));
	assert_string_equal(ans, "busy\n");
	close(a);
	/* Counters are the loop thread's: read them once it has stopped. */
	__atomic_store_n(&f.stop, 1, __ATOMIC_RELAXED);
	pthread_join(f.tid, NULL);
	assert_int_equal(dpc_srv_active(f.srv), 4);
	dpc_srv_get_stats(f.srv, &st);
	assert_int_equal(st.accepted, 9);
	assert_int_equal(st.answered, 4); /* hi, eof, the timeout, busy */
	assert_int_equal(st.timeouts, 1);
	assert_int_equal(st.overflow, 1);
	assert_int_equal(st.busy, 1);
	assert_int_equal(f.events[DPC_SRV_ACCEPT], 8);
	for (i = 0; i < 4; i++)
		close(fds[i]);
	dpc_srv_free(f.srv);
	close(f.lfd);
	unlink(f.path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ctl_frame),
		cmocka_unit_test(test_ctl_parse_good),
		cmocka_unit_test(test_ctl_parse_bad),
		cmocka_unit_test(test_http_frame),
		cmocka_unit_test(test_http_parse),
		cmocka_unit_test(test_peer_rule),
		cmocka_unit_test(test_dir_for),
		cmocka_unit_test(test_dir_prepare),
		cmocka_unit_test(test_loop_basics),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
