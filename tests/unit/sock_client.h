/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Raw stream-socket clients for the unit tests of the control channel
 * (test_ctl.c, test_ctlproto.c): connect to a Unix socket with 5 s send
 * and receive timeouts, and read an answer (any stream socket) to its end.
 * Include after <cmocka.h> (failures are cmocka assertions).  Any thread;
 * no state.
 */
#ifndef DPC_TEST_SOCK_CLIENT_H
#define DPC_TEST_SOCK_CLIENT_H

#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>

/* A socket connected to @p path (the test fails if it cannot connect). */
static inline int unix_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = 5 };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	assert_true(strlen(path) < sizeof(sa.sun_path));
	memcpy(sa.sun_path, path, strlen(path));
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	return fd;
}

/* Read until EOF (or 5 s of silence) into ans (NUL-terminated); returns the bytes read. */
static inline size_t sock_read_all(int fd, char *ans, size_t cap)
{
	size_t got = 0;
	ssize_t n;

	while (got + 1 < cap && (n = recv(fd, ans + got, cap - 1 - got, 0)) > 0)
		got += (size_t)n;
	ans[got] = '\0';
	return got;
}

#endif /* DPC_TEST_SOCK_CLIENT_H */
