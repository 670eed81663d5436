/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dpcache-cli: a small memcached-binary-over-UDP client on kernel sockets,
 * for people and scripts.  One request datagram per command (multi-get:
 * GETKQ... + NOOP), the response reassembled from its datagrams by
 * sequence number, retried on timeout.
 *
 * Exit codes: 0 ok / hit; 1 the cache said no (miss, not found, exists,
 * not stored); 2 error (usage, timeout, any other status).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netdb.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "dpcache/byteorder.h"
#include "dpcache/ketama.h"
#include "dpcache/proto.h"

#define EXIT_OK 0
#define EXIT_NO 1
#define EXIT_ERR 2
/* A request must be one datagram and must not be fragmented: 1500-byte MTU less IPv4 and UDP. */
#define REQ_MAX 1472u
#define RCVBUF_BYTES (16 << 20)

#define MAX_SERVERS 64

struct opts {
	const char *server;
	const char *key_hash;      /* ketama key hash over several servers */
	int timeout_ms;
	int retries;
	uint32_t flags, exptime;
	uint64_t cas;
	const char *value_file;
	bool no_newline, verbose;
};

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: dpcache-cli [options] COMMAND [ARGS]\n"
		"memcached binary protocol over UDP (with the 8-byte UDP frame header).\n\n"
		"Commands:\n"
		"  get KEY [KEY...]          print the value (several keys: `KEY VALUE` lines, GETKQ+NOOP)\n"
		"  gets KEY                  print `CAS VALUE`\n"
		"  set|add|replace KEY [VALUE]\n"
		"  append|prepend KEY [VALUE]\n"
		"                            VALUE: the argument, --value-file, or stdin (absent or `-`)\n"
		"  delete KEY\n"
		"  incr|decr KEY [DELTA [INITIAL]]   print the new value (no INITIAL: miss if absent)\n"
		"  touch KEY EXPTIME\n"
		"  gat KEY EXPTIME           get and touch\n"
		"  flush [DELAY]\n"
		"  stats [GROUP]             print `name value` lines\n"
		"  version | noop\n"
		"  server KEY [KEY...]       print `KEY HOST:PORT`: the server ketama picks (no request)\n\n"
		"Options:\n"
		"  -s, --server HOST:PORT[,HOST:PORT...]\n"
		"                            server (default 127.0.0.1:11211); several: each request goes\n"
		"                            to the server ketama picks for its (first) key, as\n"
		"                            libmemcached and twemproxy place it\n"
		"  -H, --hash md5|fnv1a_64   ketama key hash (default md5: libmemcached, twemproxy's\n"
		"                            `hash: md5`; fnv1a_64: twemproxy's default)\n"
		"  -t, --timeout MS          wait per try (default 1000)\n"
		"  -r, --retries N           tries after the first on timeout (default 2)\n"
		"  -F, --flags N             item flags for set/add/replace (default 0)\n"
		"  -e, --exptime N           expiry for set/add/replace (default 0: never)\n"
		"  -c, --cas N               only if the item's CAS is N (set/replace/append/delete...)\n"
		"  -f, --value-file FILE     read the value from FILE\n"
		"  -n, --no-newline          no newline after a printed value\n"
		"  -v, --verbose             print status, flags and CAS on stderr\n"
		"  -h, --help\n\n"
		"Exit status: 0 ok/hit, 1 miss/not found/exists/not stored, 2 error or timeout.\n"
		"Retries resend the request: a write may then be applied twice (UDP semantics).\n");
}

/* ---- transport -------------------------------------------------------------- */

struct conn {
	int fd;
	uint16_t next_id;
};

static int conn_open(struct conn *c, const char *server)
{
	char host[256], *colon;
	const char *port = "11211";
	struct addrinfo hints, *ai = NULL;
	int rc, sz = RCVBUF_BYTES;

	snprintf(host, sizeof(host), "%s", server);
	colon = strrchr(host, ':');
	if (colon != NULL) {
		*colon = '\0';
		port = colon + 1;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_DGRAM;
	rc = getaddrinfo(host, port, &hints, &ai);
	if (rc != 0) {
		fprintf(stderr, "dpcache-cli: %s: %s\n", server, gai_strerror(rc));
		return -1;
	}
	c->fd = socket(ai->ai_family, SOCK_DGRAM, 0);
	if (c->fd < 0 || connect(c->fd, ai->ai_addr, ai->ai_addrlen) != 0) {
		fprintf(stderr, "dpcache-cli: %s: %s\n", server, strerror(errno));
		freeaddrinfo(ai);
		return -1;
	}
	freeaddrinfo(ai);
	/* Large responses arrive as a burst of datagrams: make room (root may force it). */
	if (setsockopt(c->fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)) != 0)
		(void)setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	c->next_id = (uint16_t)(getpid() ^ time(NULL));
	return 0;
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* A reassembled response: the messages of one request id, in order of arrival. */
struct msg {
	uint8_t *buf;
	size_t len;
};

/* What ends a response: any one response, a NOOP (multi-get), an empty-key STAT (stats). */
enum end_kind { END_ONE, END_NOOP, END_STAT };

static bool complete(const struct msg *m, enum end_kind end)
{
	struct dpc_mc_res res;

	for (size_t off = 0; off < m->len;) {
		int k = dpc_mc_parse_res(m->buf + off, m->len - off, &res);

		if (k < 0)
			return true; /* malformed: the caller reports it */
		off += (size_t)k;
		if (end == END_ONE || (end == END_NOOP && res.opcode == DPC_OP_NOOP) ||
		    (end == END_STAT && (res.opcode != DPC_OP_STAT || res.keylen == 0 || res.status != 0)))
			return true;
	}
	return false;
}

static void *xalloc(size_t n)
{
	void *p = calloc(1, n);

	if (p == NULL) {
		fprintf(stderr, "dpcache-cli: out of memory\n");
		exit(EXIT_ERR);
	}
	return p;
}

/*
 * Send @p req (memcached requests, no frame header) and collect the whole
 * response: every datagram of our request id, reassembled by seq into
 * messages (dpcached sends one message per request datagram; memcached may
 * send several), until @p end is seen.  Returns 0, or -1 (message printed).
 */
static int transact(struct conn *c, const struct opts *o, const uint8_t *req, size_t len,
		    enum end_kind end, struct msg *out)
{
	uint8_t dgram[REQ_MAX + DPC_UDP_FRAME_LEN];
	static uint8_t rx[65536];

	if (len + DPC_UDP_FRAME_LEN > REQ_MAX) {
		fprintf(stderr, "dpcache-cli: request of %zu bytes does not fit one datagram "
			"(max %u): use append to build larger values\n", len, REQ_MAX - DPC_UDP_FRAME_LEN);
		return -1;
	}
	memcpy(dgram + DPC_UDP_FRAME_LEN, req, len);
	for (int attempt = 0; attempt <= o->retries; attempt++) {
		struct dpc_udp_frame f = { .req_id = c->next_id++, .seq = 0, .total = 1, .reserved = 0 };
		uint8_t **parts = NULL;
		size_t *plen = NULL;
		unsigned total = 0, got = 0;
		long deadline;

		out->len = 0;
		dpc_frame_encode(dgram, &f);
		if (send(c->fd, dgram, len + DPC_UDP_FRAME_LEN, 0) < 0) {
			fprintf(stderr, "dpcache-cli: send: %s\n", strerror(errno));
			return -1;
		}
		deadline = now_ms() + o->timeout_ms;
		for (;;) {
			struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
			long left = deadline - now_ms();
			struct dpc_udp_frame rf;
			ssize_t n;

			if (left <= 0)
				break;
			if (poll(&pfd, 1, (int)left) <= 0)
				continue;
			n = recv(c->fd, rx, sizeof(rx), 0);
			if (n < 0) {
				if (errno == ECONNREFUSED) { /* ICMP port unreachable from a kernel */
					fprintf(stderr, "dpcache-cli: %s: connection refused\n", o->server);
					return -1;
				}
				continue;
			}
			if (dpc_frame_decode(rx, (size_t)n, &rf) != 0 || rf.req_id != f.req_id ||
			    rf.total == 0 || rf.seq >= rf.total)
				continue; /* stale or foreign datagram */
			if (parts == NULL) {
				total = rf.total;
				got = 0;
				parts = xalloc(total * sizeof(*parts));
				plen = xalloc(total * sizeof(*plen));
			}
			if (rf.total != total || parts[rf.seq] != NULL)
				continue; /* duplicate, or a datagram of another message */
			plen[rf.seq] = (size_t)n - DPC_UDP_FRAME_LEN;
			parts[rf.seq] = xalloc(plen[rf.seq] + 1);
			memcpy(parts[rf.seq], rx + DPC_UDP_FRAME_LEN, plen[rf.seq]);
			if (++got < total)
				continue;
			/* one message complete: append it */
			for (unsigned i = 0; i < total; i++) {
				uint8_t *nb = realloc(out->buf, out->len + plen[i] + 1);

				if (nb == NULL) {
					fprintf(stderr, "dpcache-cli: out of memory\n");
					exit(EXIT_ERR);
				}
				out->buf = nb;
				memcpy(out->buf + out->len, parts[i], plen[i]);
				out->len += plen[i];
				free(parts[i]);
			}
			free(parts);
			free(plen);
			parts = NULL;
			plen = NULL;
			if (complete(out, end))
				return 0;
			deadline = now_ms() + o->timeout_ms; /* more messages to come */
		}
		if (parts != NULL) {
			for (unsigned i = 0; i < total; i++)
				free(parts[i]);
			if (o->verbose)
				fprintf(stderr, "dpcache-cli: try %d: %u of %u datagrams\n", attempt + 1, got,
					total);
		}
		free(parts);
		free(plen);
	}
	fprintf(stderr, "dpcache-cli: no (complete) answer from %s after %d tries of %d ms\n", o->server,
		o->retries + 1, o->timeout_ms);
	return -1;
}

/* ---- requests ---------------------------------------------------------------- */

struct req {
	uint8_t b[REQ_MAX];
	size_t len;
	bool overflow;
};

static void put_req(struct req *r, uint8_t op, const void *ext, uint8_t extlen, const char *key,
		    const void *val, size_t vlen, uint64_t cas)
{
	size_t klen = key != NULL ? strlen(key) : 0;
	size_t need = DPC_MC_HDR_LEN + extlen + klen + vlen;

	if (klen > UINT16_MAX || r->len + need > sizeof(r->b)) {
		r->overflow = true;
		return;
	}
	dpc_mc_encode_req_hdr(r->b + r->len, op, extlen, (uint16_t)klen, (uint32_t)vlen,
			      (uint32_t)(r->len + 1), cas);
	r->len += DPC_MC_HDR_LEN;
	if (extlen > 0)
		memcpy(r->b + r->len, ext, extlen);
	r->len += extlen;
	if (klen > 0)
		memcpy(r->b + r->len, key, klen);
	r->len += klen;
	if (vlen > 0)
		memcpy(r->b + r->len, val, vlen);
	r->len += vlen;
}

static int status_exit(uint16_t s)
{
	switch (s) {
	case DPC_MC_OK: return EXIT_OK;
	case DPC_MC_KEY_ENOENT:
	case DPC_MC_KEY_EEXISTS:
	case DPC_MC_NOT_STORED: return EXIT_NO;
	default: return EXIT_ERR;
	}
}

/* Read a whole file (or stdin for "-"). */
static uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	size_t cap = 4096, n = 0;
	uint8_t *b;

	if (f == NULL) {
		fprintf(stderr, "dpcache-cli: %s: %s\n", path, strerror(errno));
		return NULL;
	}
	b = malloc(cap);
	while (b != NULL) {
		size_t k = fread(b + n, 1, cap - n, f);

		n += k;
		if (k == 0)
			break;
		if (n == cap) {
			uint8_t *nb = realloc(b, cap * 2);

			if (nb == NULL) {
				free(b);
				b = NULL;
				break;
			}
			b = nb;
			cap *= 2;
		}
	}
	if (f != stdin)
		fclose(f);
	*len = n;
	return b;
}

static int parse_u64(const char *s, uint64_t *v)
{
	char *end;

	errno = 0;
	if (s[0] == '-')
		return -1;
	*v = strtoull(s, &end, 0);
	return (errno != 0 || *end != '\0' || end == s) ? -1 : 0;
}

static int parse_u32(const char *s, uint32_t *v)
{
	uint64_t x;

	if (parse_u64(s, &x) != 0 || x > UINT32_MAX)
		return -1;
	*v = (uint32_t)x;
	return 0;
}

static void print_value(const struct opts *o, const void *v, size_t n)
{
	fwrite(v, 1, n, stdout);
	if (!o->no_newline)
		fputc('\n', stdout);
}

struct cmd {
	const char *name;
	uint8_t op;
	int min_args, max_args;  /* after the command name */
};

static const struct cmd cmds[] = {
	{ "get", DPC_OP_GET, 1, 64 },        { "gets", DPC_OP_GET, 1, 1 },
	{ "set", DPC_OP_SET, 1, 2 },         { "add", DPC_OP_ADD, 1, 2 },
	{ "replace", DPC_OP_REPLACE, 1, 2 }, { "append", DPC_OP_APPEND, 1, 2 },
	{ "prepend", DPC_OP_PREPEND, 1, 2 }, { "delete", DPC_OP_DELETE, 1, 1 },
	{ "incr", DPC_OP_INCREMENT, 1, 3 },  { "decr", DPC_OP_DECREMENT, 1, 3 },
	{ "touch", DPC_OP_TOUCH, 2, 2 },     { "gat", DPC_OP_GAT, 2, 2 },
	{ "flush", DPC_OP_FLUSH, 0, 1 },     { "stats", DPC_OP_STAT, 0, 1 },
	{ "version", DPC_OP_VERSION, 0, 0 }, { "noop", DPC_OP_NOOP, 0, 0 },
};

static int run(const struct opts *o, const struct cmd *cmd, int argc, char **argv)
{
	static struct req r;
	uint8_t ext[20];
	uint8_t *val = NULL;
	size_t vlen = 0;
	struct conn c;
	struct msg m = { NULL, 0 };
	struct dpc_mc_res res;
	int rc, ret = EXIT_ERR;
	enum end_kind end;
	uint64_t a, b;
	uint32_t t;
	const char *key = argc > 0 ? argv[0] : NULL;

	if (key != NULL && cmd->op != DPC_OP_FLUSH && cmd->op != DPC_OP_STAT && strlen(key) > DPC_KEY_MAX)
		fprintf(stderr, "dpcache-cli: warning: key longer than %u bytes; the server will refuse it\n",
			DPC_KEY_MAX);
	switch (cmd->op) {
	case DPC_OP_GET:
		if (argc == 1) {
			put_req(&r, DPC_OP_GET, NULL, 0, key, NULL, 0, 0);
		} else {
			for (int i = 0; i < argc; i++)
				put_req(&r, DPC_OP_GETKQ, NULL, 0, argv[i], NULL, 0, 0);
			put_req(&r, DPC_OP_NOOP, NULL, 0, NULL, NULL, 0, 0);
		}
		break;
	case DPC_OP_SET: case DPC_OP_ADD: case DPC_OP_REPLACE:
	case DPC_OP_APPEND: case DPC_OP_PREPEND:
		if (argc == 2 && strcmp(argv[1], "-") != 0) {
			val = (uint8_t *)strdup(argv[1]);
			vlen = strlen(argv[1]);
		} else {
			val = slurp(o->value_file != NULL && argc == 1 ? o->value_file : "-", &vlen);
		}
		if (val == NULL)
			return EXIT_ERR;
		dpc_put_be32(ext, o->flags);
		dpc_put_be32(ext + 4, o->exptime);
		put_req(&r, cmd->op, ext, (cmd->op == DPC_OP_APPEND || cmd->op == DPC_OP_PREPEND) ? 0 : 8,
			key, val, vlen, o->cas);
		break;
	case DPC_OP_DELETE:
		put_req(&r, DPC_OP_DELETE, NULL, 0, key, NULL, 0, o->cas);
		break;
	case DPC_OP_INCREMENT: case DPC_OP_DECREMENT:
		a = 1;
		b = 0;
		t = 0xffffffffu; /* no initial value: a miss is a miss */
		if ((argc >= 2 && parse_u64(argv[1], &a) != 0) ||
		    (argc >= 3 && parse_u64(argv[2], &b) != 0)) {
			fprintf(stderr, "dpcache-cli: DELTA and INITIAL are unsigned 64-bit numbers\n");
			return EXIT_ERR;
		}
		if (argc >= 3)
			t = o->exptime;
		dpc_put_be64(ext, a);
		dpc_put_be64(ext + 8, b);
		dpc_put_be32(ext + 16, t);
		put_req(&r, cmd->op, ext, 20, key, NULL, 0, o->cas);
		break;
	case DPC_OP_TOUCH: case DPC_OP_GAT:
		if (parse_u32(argv[1], &t) != 0) {
			fprintf(stderr, "dpcache-cli: EXPTIME is an unsigned 32-bit number\n");
			return EXIT_ERR;
		}
		dpc_put_be32(ext, t);
		put_req(&r, cmd->op, ext, 4, key, NULL, 0, 0);
		break;
	case DPC_OP_FLUSH:
		t = 0;
		if (argc == 1 && parse_u32(argv[0], &t) != 0) {
			fprintf(stderr, "dpcache-cli: DELAY is an unsigned 32-bit number\n");
			return EXIT_ERR;
		}
		dpc_put_be32(ext, t);
		put_req(&r, DPC_OP_FLUSH, ext, argc == 1 ? 4 : 0, NULL, NULL, 0, 0);
		break;
	case DPC_OP_STAT:
		put_req(&r, DPC_OP_STAT, NULL, 0, argc == 1 ? argv[0] : NULL, NULL, 0, 0);
		break;
	default:
		put_req(&r, cmd->op, NULL, 0, NULL, NULL, 0, 0);
		break;
	}
	free(val);
	if (r.overflow) {
		fprintf(stderr, "dpcache-cli: request does not fit one UDP datagram (max %u bytes); "
			"build larger values with append\n", REQ_MAX - DPC_UDP_FRAME_LEN);
		return EXIT_ERR;
	}
	if (conn_open(&c, o->server) != 0)
		return EXIT_ERR;
	end = cmd->op == DPC_OP_STAT ? END_STAT : (cmd->op == DPC_OP_GET && argc > 1) ? END_NOOP : END_ONE;
	rc = transact(&c, o, r.b, r.len, end, &m);
	close(c.fd);
	if (rc != 0)
		return EXIT_ERR;

	/* Walk the responses. */
	ret = EXIT_OK;
	bool any_miss = false, saw_end = false;
	for (size_t off = 0; off < m.len;) {
		int k = dpc_mc_parse_res(m.buf + off, m.len - off, &res);

		if (k < 0) {
			fprintf(stderr, "dpcache-cli: malformed response at byte %zu of %zu\n", off, m.len);
			ret = EXIT_ERR;
			break;
		}
		off += (size_t)k;
		if (o->verbose)
			fprintf(stderr, "%s: status 0x%04x (%s), flags %" PRIu32 ", cas %" PRIu64 "\n",
				dpc_mc_op_name(res.opcode), res.status, dpc_mc_status_text(res.status),
				res.extlen >= 4 ? dpc_get_be32(res.extras) : 0, res.cas);
		if (res.opcode == DPC_OP_NOOP || (res.opcode == DPC_OP_STAT && res.keylen == 0)) {
			saw_end = true;
			break;
		}
		if (res.status != DPC_MC_OK) {
			ret = status_exit(res.status);
			if (ret == EXIT_ERR || cmd->op != DPC_OP_GET || argc == 1)
				fprintf(stderr, "dpcache-cli: %s\n", dpc_mc_status_text(res.status));
			if (res.vlen > 0 && ret == EXIT_ERR)
				fprintf(stderr, "dpcache-cli: server says: %.*s\n", (int)res.vlen, res.value);
			continue;
		}
		switch (cmd->op) {
		case DPC_OP_GET:
			if (argc > 1) {
				fwrite(res.key, 1, res.keylen, stdout);
				fputc(' ', stdout);
				print_value(o, res.value, res.vlen);
			} else if (strcmp(cmd->name, "gets") == 0) {
				printf("%" PRIu64 " ", res.cas);
				print_value(o, res.value, res.vlen);
			} else {
				print_value(o, res.value, res.vlen);
			}
			break;
		case DPC_OP_GAT:
		case DPC_OP_VERSION:
			print_value(o, res.value, res.vlen);
			break;
		case DPC_OP_INCREMENT:
		case DPC_OP_DECREMENT:
			if (res.vlen == 8)
				printf("%" PRIu64 "\n", dpc_get_be64(res.value));
			break;
		case DPC_OP_STAT:
			printf("%.*s %.*s\n", (int)res.keylen, res.key, (int)res.vlen, res.value);
			break;
		default:
			break;
		}
	}
	if (cmd->op == DPC_OP_GET && argc > 1) {
		/* quiet gets: the keys that did not come back are misses */
		unsigned hits = 0;

		for (size_t off = 0; off < m.len;) {
			int k = dpc_mc_parse_res(m.buf + off, m.len - off, &res);

			if (k < 0)
				break;
			off += (size_t)k;
			if (res.opcode == DPC_OP_GETKQ && res.status == DPC_MC_OK)
				hits++;
		}
		any_miss = hits < (unsigned)argc;
		if (!saw_end) {
			fprintf(stderr, "dpcache-cli: response without the closing NOOP\n");
			ret = EXIT_ERR;
		}
		if (ret == EXIT_OK && any_miss)
			ret = EXIT_NO;
	}
	free(m.buf);
	return ret;
}

/*
 * Ketama over the comma-separated servers of o->server (host:port, port
 * 11211 if absent): print `KEY HOST:PORT` for each key (@p print), and the
 * first key's server into @p out.  0, or EXIT_ERR for a bad server list.
 */
static int pick_servers(const struct opts *o, char **keys, int nkeys, bool print, char *out,
			size_t outlen)
{
	char list[1024], *save = NULL, *tok;
	char hosts[MAX_SERVERS][256];
	struct dpc_ketama_server sv[MAX_SERVERS];
	const char *names[MAX_SERVERS];
	struct dpc_ketama *k;
	unsigned n = 0;

	snprintf(list, sizeof(list), "%s", o->server);
	for (tok = strtok_r(list, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		char *colon = strrchr(tok, ':');
		uint32_t port = 11211;

		if (n == MAX_SERVERS || (colon != NULL && (parse_u32(colon + 1, &port) != 0 ||
							   port == 0 || port > 65535))) {
			fprintf(stderr, "dpcache-cli: bad server list '%s'\n", o->server);
			return EXIT_ERR;
		}
		names[n] = tok;
		snprintf(hosts[n], sizeof(hosts[n]), "%.*s",
			 (int)(colon ? (size_t)(colon - tok) : strlen(tok)), tok);
		sv[n].host = hosts[n];
		sv[n].port = (uint16_t)port;
		sv[n].weight = 1;
		n++;
	}
	k = n > 0 ? dpc_ketama_create(sv, n) : NULL;
	if (k == NULL) {
		fprintf(stderr, "dpcache-cli: bad server list '%s'\n", o->server);
		return EXIT_ERR;
	}
	dpc_ketama_set_key_hash(k, (enum dpc_ketama_key_hash)dpc_ketama_key_hash_parse(o->key_hash));
	for (int i = 0; i < nkeys; i++) {
		unsigned s = dpc_ketama_pick(k, keys[i], strlen(keys[i]));
		char full[300];

		snprintf(full, sizeof(full), "%s%s", names[s], strchr(names[s], ':') ? "" : ":11211");
		if (i == 0)
			snprintf(out, outlen, "%s", full);
		if (print)
			printf("%s %s\n", keys[i], full);
	}
	dpc_ketama_free(k);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "server", required_argument, NULL, 's' },
		{ "timeout", required_argument, NULL, 't' },
		{ "retries", required_argument, NULL, 'r' },
		{ "flags", required_argument, NULL, 'F' },
		{ "exptime", required_argument, NULL, 'e' },
		{ "cas", required_argument, NULL, 'c' },
		{ "value-file", required_argument, NULL, 'f' },
		{ "no-newline", no_argument, NULL, 'n' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "hash", required_argument, NULL, 'H' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static char picked[512];
	struct opts o = { .server = "127.0.0.1:11211", .key_hash = "md5", .timeout_ms = 1000,
			  .retries = 2 };
	uint32_t u;
	int ch;

	while ((ch = getopt_long(argc, argv, "s:H:t:r:F:e:c:f:nvh", lopts, NULL)) != -1) {
		switch (ch) {
		case 's': o.server = optarg; break;
		case 'H':
			if (dpc_ketama_key_hash_parse(optarg) < 0)
				goto bad;
			o.key_hash = optarg;
			break;
		case 't':
			if (parse_u32(optarg, &u) != 0 || u == 0 || u > 600000)
				goto bad;
			o.timeout_ms = (int)u;
			break;
		case 'r':
			if (parse_u32(optarg, &u) != 0 || u > 100)
				goto bad;
			o.retries = (int)u;
			break;
		case 'F':
			if (parse_u32(optarg, &o.flags) != 0)
				goto bad;
			break;
		case 'e':
			if (parse_u32(optarg, &o.exptime) != 0)
				goto bad;
			break;
		case 'c':
			if (parse_u64(optarg, &o.cas) != 0)
				goto bad;
			break;
		case 'f': o.value_file = optarg; break;
		case 'n': o.no_newline = true; break;
		case 'v': o.verbose = true; break;
		case 'h': usage(stdout); return EXIT_OK;
		default: usage(stderr); return EXIT_ERR;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EXIT_ERR;
	}
	if (strcmp(argv[optind], "server") == 0 || strchr(o.server, ',') != NULL) {
		/* several servers (or the question which one): place by the first key */
		bool ask = strcmp(argv[optind], "server") == 0;
		int rc;

		if (argc - optind < 2) {
			fprintf(stderr, "dpcache-cli: %s needs a key to place it on one of the servers\n",
				argv[optind]);
			return EXIT_ERR;
		}
		rc = pick_servers(&o, argv + optind + 1, ask ? argc - optind - 1 : 1, ask, picked,
				  sizeof(picked));
		if (rc != 0 || ask)
			return rc;
		o.server = picked;
	}
	for (size_t i = 0; i < DPC_ARRAY_SIZE(cmds); i++) {
		const struct cmd *c = &cmds[i];
		int nargs = argc - optind - 1;

		if (strcmp(argv[optind], c->name) != 0)
			continue;
		if (nargs < c->min_args || nargs > c->max_args) {
			fprintf(stderr, "dpcache-cli: %s takes %d to %d arguments (see --help)\n", c->name,
				c->min_args, c->max_args);
			return EXIT_ERR;
		}
		return run(&o, c, nargs, argv + optind + 1);
	}
	fprintf(stderr, "dpcache-cli: unknown command '%s' (see --help)\n", argv[optind]);
	return EXIT_ERR;
bad:
	fprintf(stderr, "dpcache-cli: bad value '%s' for -%c (see --help)\n", optarg, ch);
	return EXIT_ERR;
}
