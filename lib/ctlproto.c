/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The control plane's parsers and rules (see dpcache/ctlproto.h): control
 * request lines, HTTP request heads, the peer rule, the socket directory.
 * Every parser works on (pointer, length): the input may hold any byte,
 * NUL included, and nothing is read past its end.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dpcache/common.h"
#include "dpcache/ctl.h"
#include "dpcache/ctlproto.h"

/* ---- control requests ----------------------------------------------------------- */

long dpc_ctl_req_frame(const void *buf, size_t len)
{
	size_t n = len < DPC_CTL_REQ_MAX ? len : DPC_CTL_REQ_MAX;
	const char *nl = memchr(buf, '\n', n);

	if (nl != NULL)
		return (long)(nl - (const char *)buf) + 1;
	return len >= DPC_CTL_REQ_MAX ? -EMSGSIZE : 0;
}

static bool is_blank(unsigned char c)
{
	return c == ' ' || c == '\t';
}

/* Digits only, at most 0xffffffff. */
static bool parse_delay(const char *s, uint32_t *out)
{
	uint64_t v = 0;

	if (*s == '\0')
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		v = v * 10 + (uint64_t)(*s - '0');
		if (v > 0xffffffffull)
			return false;
	}
	*out = (uint32_t)v;
	return true;
}

#define CTL_USAGE "(ping, version, stats, config get [KEY], config set KEY VALUE, flush [DELAY])"

int dpc_ctl_req_parse(const void *line, size_t len, struct dpc_ctl_req *r, char *err,
		      size_t errlen)
{
	const unsigned char *p = line;
	char w[4][DPC_CTL_WORD_MAX];
	unsigned n = 0;
	size_t i, wl;

	memset(r, 0, sizeof(*r));
	if (len > 0 && p[len - 1] == '\n')
		len--;
	if (len > 0 && p[len - 1] == '\r')
		len--;
	/* Every byte first: the words below are then plain C strings. */
	for (i = 0; i < len; i++) {
		if (p[i] == '\0') {
			dpc_set_err(err, errlen, "request holds a NUL byte (offset %zu)", i);
			return -EINVAL;
		}
		if ((p[i] < 0x20 || p[i] > 0x7e) && !is_blank(p[i])) {
			dpc_set_err(err, errlen, "request holds a non-printable byte 0x%02x (offset %zu)",
				    p[i], i);
			return -EINVAL;
		}
	}
	for (i = 0; i < len;) {
		while (i < len && is_blank(p[i]))
			i++;
		if (i == len)
			break;
		if (n == DPC_ARRAY_SIZE(w)) {
			dpc_set_err(err, errlen, "too many words " CTL_USAGE);
			return -EINVAL;
		}
		for (wl = 0; i < len && !is_blank(p[i]); i++, wl++) {
			if (wl == DPC_CTL_WORD_MAX - 1) {
				dpc_set_err(err, errlen, "word %u longer than %u bytes", n + 1,
					    DPC_CTL_WORD_MAX - 1);
				return -EINVAL;
			}
			w[n][wl] = (char)p[i];
		}
		w[n++][wl] = '\0';
	}
	if (n == 0) {
		dpc_set_err(err, errlen, "empty request " CTL_USAGE);
		return -EINVAL;
	}
	if (strcmp(w[0], "ping") == 0 && n == 1) {
		r->cmd = DPC_CTL_PING;
	} else if (strcmp(w[0], "version") == 0 && n == 1) {
		r->cmd = DPC_CTL_VERSION;
	} else if (strcmp(w[0], "stats") == 0 && n == 1) {
		r->cmd = DPC_CTL_STATS;
	} else if (strcmp(w[0], "config") == 0 && n >= 2 && n <= 3 && strcmp(w[1], "get") == 0) {
		r->cmd = DPC_CTL_CONFIG_GET;
		if (n == 3)
			memcpy(r->key, w[2], sizeof(r->key));
	} else if (strcmp(w[0], "config") == 0 && n == 4 && strcmp(w[1], "set") == 0) {
		r->cmd = DPC_CTL_CONFIG_SET;
		memcpy(r->key, w[2], sizeof(r->key));
		memcpy(r->value, w[3], sizeof(r->value));
	} else if (strcmp(w[0], "flush") == 0 && n <= 2) {
		r->cmd = DPC_CTL_FLUSH;
		if (n == 2 && !parse_delay(w[1], &r->delay)) {
			dpc_set_err(err, errlen, "flush: delay '%s' is not a number of seconds "
				    "(0..4294967295)", w[1]);
			return -EINVAL;
		}
	} else {
		dpc_set_err(err, errlen, "unknown or malformed request " CTL_USAGE);
		return -EINVAL;
	}
	return 0;
}

/* ---- HTTP request heads ---------------------------------------------------------- */

long dpc_http_req_frame(const void *buf, size_t len)
{
	const unsigned char *p = buf;
	size_t n = len < DPC_HTTP_HEAD_MAX ? len : DPC_HTTP_HEAD_MAX, i;

	/* The head ends at an empty line: "\n\n" or "\n\r\n". */
	for (i = 0; i < n; i++) {
		if (p[i] != '\n')
			continue;
		if (i + 1 < n && p[i + 1] == '\n')
			return (long)(i + 2);
		if (i + 2 < n && p[i + 1] == '\r' && p[i + 2] == '\n')
			return (long)(i + 3);
	}
	return len >= DPC_HTTP_HEAD_MAX ? -EMSGSIZE : 0;
}

/* Does p[0..n) equal the C string s? */
static bool span_is(const unsigned char *p, size_t n, const char *s)
{
	return strlen(s) == n && memcmp(p, s, n) == 0;
}

int dpc_http_req_parse(const void *head, size_t len, struct dpc_http_req *r)
{
	const unsigned char *p = head, *m, *t, *v = NULL;
	size_t i, ml, tl, vl = 0, eol;

	memset(r, 0, sizeof(*r));
	/* No NUL and no control byte but CR, LF and tab anywhere in the head. */
	for (i = 0; i < len; i++)
		if ((p[i] < 0x20 && p[i] != '\r' && p[i] != '\n' && p[i] != '\t') || p[i] == 0x7f)
			return 400;
	for (eol = 0; eol < len && p[eol] != '\n'; eol++)
		;
	if (eol > 0 && p[eol - 1] == '\r')
		eol--;
	/* METHOD */
	for (m = p, ml = 0; ml < eol && m[ml] >= 'A' && m[ml] <= 'Z'; ml++)
		;
	if (ml == 0 || ml >= eol || p[ml] != ' ')
		return 400;
	/* SP TARGET */
	t = p + ml + 1;
	for (tl = 0; ml + 1 + tl < eol && t[tl] > ' ' && t[tl] < 0x7f; tl++)
		;
	if (tl == 0)
		return 400;
	/* [SP VERSION] and nothing else */
	i = ml + 1 + tl;
	if (i < eol) {
		if (p[i] != ' ')
			return 400;
		v = p + i + 1;
		vl = eol - i - 1;
		if (vl != 8 || memcmp(v, "HTTP/", 5) != 0 || v[5] < '0' || v[5] > '9' || v[6] != '.' ||
		    v[7] < '0' || v[7] > '9')
			return 400;
		if (v[5] != '1')
			return 505;
	}
	if (span_is(m, ml, "HEAD"))
		r->head = true;
	else if (!span_is(m, ml, "GET"))
		return 405;
	if (span_is(t, tl, "/metrics") || (tl > 8 && memcmp(t, "/metrics?", 9) == 0))
		r->target = DPC_HTTP_METRICS;
	else if (span_is(t, tl, "/"))
		r->target = DPC_HTTP_ROOT;
	else
		r->target = DPC_HTTP_OTHER;
	return 200;
}

/* ---- peers ------------------------------------------------------------------------ */

bool dpc_ctl_peer_allowed(uid_t uid, gid_t gid, const gid_t *groups, size_t ngroups,
			  uid_t self_uid, gid_t allowed_gid)
{
	size_t i;

	if (uid == 0 || uid == self_uid || gid == allowed_gid)
		return true;
	for (i = 0; i < ngroups; i++)
		if (groups[i] == allowed_gid)
			return true;
	return false;
}

/* ---- the socket directory ----------------------------------------------------------- */

/* The parent of the instance directories, for a server running as @p uid. */
static int base_dir(uid_t uid, char *buf, size_t len)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	int n;

	if (uid == 0)
		n = snprintf(buf, len, "/run/dpcache");
	else if (xdg != NULL && xdg[0] == '/')
		n = snprintf(buf, len, "%s/dpcache", xdg);
	else
		n = snprintf(buf, len, "/tmp/dpcache-%lu", (unsigned long)uid);
	return (n < 0 || (size_t)n >= len) ? -ENAMETOOLONG : 0;
}

int dpc_ctl_dir_for(const char *name, uid_t uid, char *buf, size_t len)
{
	char base[200];
	int n, rc;

	if (name == NULL || name[0] == '\0' || name[0] == '.' || strchr(name, '/') != NULL)
		return -EINVAL;
	rc = base_dir(uid, base, sizeof(base));
	if (rc != 0)
		return rc;
	n = snprintf(buf, len, "%s/%s", base, name);
	return (n < 0 || (size_t)n >= len) ? -ENAMETOOLONG : 0;
}

/*
 * mkdir @p path with @p mode unless it exists; then it must be a directory
 * (not a symlink), owned by us (or by root when @p root_ok), and not
 * writable by group or others.
 */
static int safe_dir(const char *path, mode_t mode, bool root_ok, char *err, size_t errlen)
{
	struct stat st;

	if (mkdir(path, mode) != 0 && errno != EEXIST) {
		int rc = -errno;

		dpc_set_err(err, errlen, "cannot create %s: %s", path, strerror(errno));
		return rc;
	}
	if (lstat(path, &st) != 0) {
		int rc = -errno;

		dpc_set_err(err, errlen, "%s: %s", path, strerror(errno));
		return rc;
	}
	if (!S_ISDIR(st.st_mode)) {
		dpc_set_err(err, errlen, "%s is not a directory (a symlink or a file is refused)", path);
		return -ENOTDIR;
	}
	if (st.st_uid != geteuid() && !(root_ok && st.st_uid == 0)) {
		dpc_set_err(err, errlen, "%s belongs to uid %lu, not to us (uid %lu): refusing it", path,
			    (unsigned long)st.st_uid, (unsigned long)geteuid());
		return -EPERM;
	}
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
		dpc_set_err(err, errlen, "%s is writable by others (mode %04o): refusing it", path,
			    (unsigned)(st.st_mode & 07777));
		return -EPERM;
	}
	return 0;
}

int dpc_ctl_dir_prepare(const char *name, gid_t gid, char *buf, size_t len, char *err,
			size_t errlen)
{
	uid_t uid = geteuid();
	char base[200];
	int rc, fd;

	rc = dpc_ctl_dir_for(name, uid, buf, len);
	if (rc == -EINVAL) {
		dpc_set_err(err, errlen, "instance name '%s' cannot name a directory", name ? name : "");
		return rc;
	}
	if (rc == 0)
		rc = base_dir(uid, base, sizeof(base));
	if (rc != 0) {
		dpc_set_err(err, errlen, "control socket directory: path too long");
		return rc;
	}
	rc = safe_dir(base, uid == 0 ? 0755 : 0700, true, err, errlen);
	if (rc != 0)
		return rc;
	rc = safe_dir(buf, 0700, false, err, errlen);
	if (rc != 0)
		return rc;
	/* Through a descriptor of the checked directory, so that a swap after the checks fails. */
	fd = open(buf, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		dpc_set_err(err, errlen, "%s: %s", buf, strerror(errno));
		return rc;
	}
	if (fchown(fd, (uid_t)-1, gid) != 0 || fchmod(fd, 0710) != 0) {
		rc = -errno;
		dpc_set_err(err, errlen, "%s: cannot give it group %lu, mode 0710: %s", buf,
			    (unsigned long)gid, strerror(errno));
		close(fd);
		return rc;
	}
	close(fd);
	return 0;
}

int dpc_ctl_socket_path(const char *name, char *buf, size_t len)
{
	char dir[256];
	struct stat st;
	int rc, n;

	rc = dpc_ctl_dir_for(name, 0, dir, sizeof(dir));
	if (rc == 0 && getuid() != 0 && stat(dir, &st) != 0)
		rc = dpc_ctl_dir_for(name, getuid(), dir, sizeof(dir));
	if (rc != 0)
		return rc;
	n = snprintf(buf, len, "%s/%s", dir, DPC_CTL_SOCK_NAME);
	return (n < 0 || (size_t)n >= len) ? -ENAMETOOLONG : 0;
}
