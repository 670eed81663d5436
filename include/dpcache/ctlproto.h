/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file ctlproto.h
 * The control plane's parsers and rules, free of DPDK and of sockets so
 * that they are unit-tested and fuzzed on arbitrary bytes
 * (tests/unit/test_ctlproto.c, tests/fuzz/fuzz_ctl.c):
 *  - the control request line of dpcache/ctl.h (framing, then parsing);
 *  - the HTTP request head of `dpcachectl metrics` (framing, then parsing);
 *  - who may use the control socket (the SO_PEERCRED rule);
 *  - where the control socket lives, and the checks on its directory.
 *
 * Every function takes (pointer, length) and reads nothing beyond it; no
 * input, however long or binary (NUL bytes included), makes one read out of
 * bounds, loop without bound or allocate.  All are reentrant (no state).
 */
#ifndef DPCACHE_CTLPROTO_H
#define DPCACHE_CTLPROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* ---- control requests (wire format: dpcache/ctl.h) ---------------------------- */

/** Longest request line, '\n' included. */
#define DPC_CTL_REQ_MAX 512u
/** Longest word of a request (a setting name or value), plus its NUL. */
#define DPC_CTL_WORD_MAX 128u

enum dpc_ctl_cmd {
	DPC_CTL_PING,
	DPC_CTL_VERSION,
	DPC_CTL_STATS,
	DPC_CTL_CONFIG_GET,   /**< key: a setting, or "" for all */
	DPC_CTL_CONFIG_SET,   /**< key, value */
	DPC_CTL_FLUSH,        /**< delay */
};

/** A parsed request; words are copied out (NUL-terminated), the input is not kept. */
struct dpc_ctl_req {
	enum dpc_ctl_cmd cmd;
	char key[DPC_CTL_WORD_MAX];
	char value[DPC_CTL_WORD_MAX];
	uint32_t delay;
};

/**
 * Find the end of the request line in the first @p len bytes a connection
 * sent.  Returns the line's length with its '\n' (1..DPC_CTL_REQ_MAX), 0
 * when more bytes may still complete it, or -EMSGSIZE when
 * DPC_CTL_REQ_MAX bytes hold no '\n' (the request is too long).
 */
long dpc_ctl_req_frame(const void *buf, size_t len);

/**
 * Parse one request line of @p len bytes (its '\n' and a '\r' before it
 * may be included; any other byte must be printable ASCII, a blank or a
 * tab: a NUL or a control byte is an error).  Returns 0 with @p r filled,
 * or -EINVAL with @p err saying what is wrong (at most @p errlen bytes).
 * Setting names and values are checked by the config table, not here.
 */
int dpc_ctl_req_parse(const void *line, size_t len, struct dpc_ctl_req *r, char *err,
		      size_t errlen);

/* ---- HTTP requests of the Prometheus endpoint ---------------------------------- */

/** Largest request head accepted (request line and headers). */
#define DPC_HTTP_HEAD_MAX 8192u

enum dpc_http_target {
	DPC_HTTP_METRICS,     /**< /metrics, or /metrics?query */
	DPC_HTTP_ROOT,        /**< / */
	DPC_HTTP_OTHER,
};

struct dpc_http_req {
	bool head;            /**< HEAD (else GET) */
	enum dpc_http_target target;
};

/**
 * Find the end of an HTTP request head (the empty line: CRLF CRLF, or LF
 * LF from lenient clients) in the first @p len bytes.  Returns the head's
 * length (> 0), 0 when more bytes may still complete it, or -EMSGSIZE when
 * DPC_HTTP_HEAD_MAX bytes hold no end of head.
 */
long dpc_http_req_frame(const void *buf, size_t len);

/**
 * Parse a request head of @p len bytes: `METHOD SP TARGET [SP HTTP/1.x]`,
 * then header lines (not interpreted).  Returns the status to answer: 200
 * (GET or HEAD: @p r filled; r->target says which page), 400 (malformed:
 * NUL or control bytes, no target, bad version), 405 (another method) or
 * 505 (an HTTP version other than 1.x).
 */
int dpc_http_req_parse(const void *head, size_t len, struct dpc_http_req *r);

/* ---- who may use the control socket ------------------------------------------- */

/**
 * The SO_PEERCRED rule: a peer is allowed if it is root (uid 0), runs as
 * dpcached's own user (@p self_uid), or has @p allowed_gid as its primary
 * group (@p gid) or among its @p ngroups supplementary @p groups
 * (SO_PEERGROUPS; @p groups may be NULL when @p ngroups is 0).
 */
bool dpc_ctl_peer_allowed(uid_t uid, gid_t gid, const gid_t *groups, size_t ngroups,
			  uid_t self_uid, gid_t allowed_gid);

/* ---- where the socket lives ---------------------------------------------------- */

/**
 * The directory of instance @p name's control socket, for a server running
 * as @p uid: `/run/dpcache/<name>` for root; for another user
 * `$XDG_RUNTIME_DIR/dpcache/<name>` or, without XDG_RUNTIME_DIR,
 * `/tmp/dpcache-<uid>/<name>`.  Writes the path into @p buf (@p len bytes);
 * 0, -EINVAL (@p name empty, or holding '/' or starting with '.') or
 * -ENAMETOOLONG.
 */
int dpc_ctl_dir_for(const char *name, uid_t uid, char *buf, size_t len);

/**
 * Create (if absent) and check the directory chain for instance @p name's
 * socket as the calling user: the parent (`/run/dpcache`, ...) is created
 * 0755 for root and 0700 otherwise, must be a real directory (no symlink),
 * owned by us or root and writable by nobody else; the instance directory
 * is created 0700, must be owned by us, and is then given group
 * @p gid and mode 0710 (members may reach the socket, not list or create
 * anything).  Writes the instance directory into @p buf.  0 or a negative
 * errno with @p err naming the path and the problem.  Not thread-safe with
 * respect to other users of the same paths (start-up only).
 */
int dpc_ctl_dir_prepare(const char *name, gid_t gid, char *buf, size_t len, char *err,
			size_t errlen);

#endif /* DPCACHE_CTLPROTO_H */
