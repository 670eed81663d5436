/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * memcached text protocol codec: one command line (plus its data block for
 * storage commands) at a time, with memcached 1.6's answers for bad input
 * (proto_text.c): unknown command or wrong arity -> "ERROR"; bad numbers
 * or a key over 250 bytes -> "CLIENT_ERROR bad command line format";
 * data block not ending in CRLF -> "CLIENT_ERROR bad data chunk"; value
 * over the limit -> "SERVER_ERROR object too large for cache" (the data
 * block is swallowed).  Tokens are separated by spaces; a line ends with
 * "\n", an "\r" before it is dropped.
 */
#include <string.h>

#include "dpcache/decimal.h"
#include "dpcache/proto.h"
#include "dpcache/textproto.h"

#define MAX_TOKENS 8

static const char E_ERROR[] = "ERROR";
static const char E_FORMAT[] = "CLIENT_ERROR bad command line format";
static const char E_CHUNK[] = "CLIENT_ERROR bad data chunk";
static const char E_TOO_LARGE[] = "SERVER_ERROR object too large for cache";
static const char E_DELTA[] = "CLIENT_ERROR invalid numeric delta argument";
static const char E_EXPTIME[] = "CLIENT_ERROR invalid exptime argument";
static const char E_DELETE[] = "CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]";

struct tok {
	const uint8_t *p;
	size_t n;
};

static bool tok_is(const struct tok *t, const char *s)
{
	size_t n = strlen(s);

	return t->n == n && memcmp(t->p, s, n) == 0;
}

/* Unsigned decimal, no sign, no overflow past @max. */
static bool to_u64(const struct tok *t, uint64_t max, uint64_t *out)
{
	return dpc_dec_parse_u64(t->p, t->n, max, out);
}

/*
 * memcached exptime: a signed 32-bit number; a negative one means
 * "already expired", which we express as an absolute time in 1970.
 */
static bool to_exptime(const struct tok *t, uint32_t *out)
{
	uint64_t v;

	if (t->n > 1 && t->p[0] == '-') {
		struct tok u = {t->p + 1, t->n - 1};
		if (!to_u64(&u, 0x80000000ull, &v))
			return false;
		*out = v == 0 ? 0 : DPC_EXPTIME_REL_MAX + 1;
		return true;
	}
	if (!to_u64(t, 0x7fffffffull, &v))
		return false;
	*out = (uint32_t)v;
	return true;
}

static int refuse(struct dpc_txt_req *req, const char *why, size_t consumed)
{
	req->cmd = DPC_TXT_ERROR;
	req->error = why;
	return (int)consumed;
}

/* Split the line into at most MAX_TOKENS tokens; returns the count, MAX_TOKENS + 1 if more. */
static unsigned tokenize(const uint8_t *p, const uint8_t *end, struct tok *t)
{
	unsigned n = 0;

	while (p < end) {
		while (p < end && *p == ' ')
			p++;
		if (p == end)
			break;
		const uint8_t *s = p;
		while (p < end && *p != ' ')
			p++;
		if (n == MAX_TOKENS)
			return MAX_TOKENS + 1;
		t[n].p = s;
		t[n].n = (size_t)(p - s);
		n++;
	}
	return n;
}

static bool noreply_tok(const struct tok *t) { return tok_is(t, "noreply"); }

int dpc_txt_parse(const uint8_t *buf, size_t len, uint32_t max_value, struct dpc_txt_req *req)
{
	struct tok t[MAX_TOKENS];
	unsigned nt;

	DPC_RETURN_IF(buf == NULL || req == NULL, DPC_MC_PARSE_TRUNCATED);
	const uint8_t *nl = len ? memchr(buf, '\n', len) : NULL;
	if (nl == NULL || len > INT32_MAX)
		return DPC_MC_PARSE_TRUNCATED;
	size_t consumed = (size_t)(nl - buf) + 1;
	const uint8_t *end = nl;
	if (end > buf && end[-1] == '\r')
		end--;

	memset(req, 0, sizeof(*req));
	/* the command word decides how the rest is read */
	const uint8_t *p = buf;
	while (p < end && *p == ' ')
		p++;
	const uint8_t *cs = p;
	while (p < end && *p != ' ')
		p++;
	struct tok cmd = {cs, (size_t)(p - cs)};

	bool get = tok_is(&cmd, "get"), gets = tok_is(&cmd, "gets");
	bool gat = tok_is(&cmd, "gat"), gats = tok_is(&cmd, "gats");
	if (get || gets || gat || gats) {
		req->cmd = get ? DPC_TXT_GET : gets ? DPC_TXT_GETS : gat ? DPC_TXT_GAT : DPC_TXT_GATS;
		if (gat || gats) {
			while (p < end && *p == ' ')
				p++;
			const uint8_t *es = p;
			while (p < end && *p != ' ')
				p++;
			struct tok e = {es, (size_t)(p - es)};
			if (e.n == 0)
				return refuse(req, E_ERROR, consumed);
			if (!to_exptime(&e, &req->exptime))
				return refuse(req, E_EXPTIME, consumed);
		}
		req->keys = p;
		req->keys_end = end;
		const uint8_t *k, *it = p;
		size_t kl = dpc_txt_next_key(&it, end, &k);
		if (kl == 0 && !(gat || gats))
			return refuse(req, E_ERROR, consumed); /* "gat 0" alone answers END */
		/* memcached refuses the whole line when a key is too long */
		for (; kl; kl = dpc_txt_next_key(&it, end, &k))
			if (kl > DPC_KEY_MAX)
				return refuse(req, E_FORMAT, consumed);
		return (int)consumed;
	}

	nt = tokenize(buf, end, t);
	if (nt == 0 || nt > MAX_TOKENS)
		return refuse(req, E_ERROR, consumed);

	int storage = -1;
	if (tok_is(&t[0], "set"))
		storage = DPC_TXT_SET;
	else if (tok_is(&t[0], "add"))
		storage = DPC_TXT_ADD;
	else if (tok_is(&t[0], "replace"))
		storage = DPC_TXT_REPLACE;
	else if (tok_is(&t[0], "append"))
		storage = DPC_TXT_APPEND;
	else if (tok_is(&t[0], "prepend"))
		storage = DPC_TXT_PREPEND;
	else if (tok_is(&t[0], "cas"))
		storage = DPC_TXT_CAS;
	if (storage >= 0) {
		unsigned base = storage == DPC_TXT_CAS ? 6 : 5;
		uint64_t v;
		req->cmd = (enum dpc_txt_cmd)storage;
		if (nt != base && nt != base + 1)
			return refuse(req, E_ERROR, consumed);
		/* one more token: "noreply", anything else is ignored (memcached) */
		req->noreply = nt == base + 1 && noreply_tok(&t[base]);
		req->key = t[1].p;
		req->keylen = t[1].n;
		if (t[1].n > DPC_KEY_MAX || !to_u64(&t[2], UINT32_MAX, &v))
			return refuse(req, E_FORMAT, consumed);
		req->flags = (uint32_t)v;
		if (!to_exptime(&t[3], &req->exptime) || !to_u64(&t[4], INT32_MAX, &v))
			return refuse(req, E_FORMAT, consumed);
		req->vlen = (uint32_t)v;
		if (storage == DPC_TXT_CAS && !to_u64(&t[5], UINT64_MAX, &req->cas))
			return refuse(req, E_FORMAT, consumed);
		/* the data block: vlen bytes and CRLF */
		size_t rest = len - consumed;
		if (req->vlen > max_value) {
			size_t swallow = (size_t)req->vlen + 2;
			/* memcached unlinks the old value of a refused SET (only SET) */
			req->drop_key = storage == DPC_TXT_SET;
			return refuse(req, E_TOO_LARGE, consumed + (swallow < rest ? swallow : rest));
		}
		/* memcached reads vlen + 2 bytes, then wants them to end in CRLF; a block
		 * that the datagram does not hold ends it (memcached would wait for more) */
		if (rest < (size_t)req->vlen + 2)
			return refuse(req, E_CHUNK, len);
		if (buf[consumed + req->vlen] != '\r' || buf[consumed + req->vlen + 1] != '\n')
			return refuse(req, E_CHUNK, consumed + req->vlen + 2);
		req->value = buf + consumed;
		return (int)(consumed + req->vlen + 2);
	}

	if (tok_is(&t[0], "delete")) {
		req->cmd = DPC_TXT_DELETE;
		if (nt < 2 || nt > 4)
			return refuse(req, E_ERROR, consumed);
		unsigned extra = nt - 2;
		if (extra > 0 && noreply_tok(&t[nt - 1])) {
			req->noreply = true;
			extra--;
		}
		/* a legacy "hold" time is accepted only as 0 */
		if (extra > 1 || (extra == 1 && !tok_is(&t[2], "0")))
			return refuse(req, E_DELETE, consumed);
		req->key = t[1].p;
		req->keylen = t[1].n;
		if (t[1].n > DPC_KEY_MAX)
			return refuse(req, E_FORMAT, consumed);
		return (int)consumed;
	}
	if (tok_is(&t[0], "incr") || tok_is(&t[0], "decr")) {
		req->cmd = t[0].p[0] == 'i' ? DPC_TXT_INCR : DPC_TXT_DECR;
		if (nt != 3 && nt != 4)
			return refuse(req, E_ERROR, consumed);
		req->noreply = nt == 4 && noreply_tok(&t[3]);
		req->key = t[1].p;
		req->keylen = t[1].n;
		if (t[1].n > DPC_KEY_MAX)
			return refuse(req, E_FORMAT, consumed);
		if (!to_u64(&t[2], UINT64_MAX, &req->delta))
			return refuse(req, E_DELTA, consumed);
		return (int)consumed;
	}
	if (tok_is(&t[0], "touch")) {
		req->cmd = DPC_TXT_TOUCH;
		if (nt != 3 && nt != 4)
			return refuse(req, E_ERROR, consumed);
		req->noreply = nt == 4 && noreply_tok(&t[3]);
		req->key = t[1].p;
		req->keylen = t[1].n;
		if (t[1].n > DPC_KEY_MAX)
			return refuse(req, E_FORMAT, consumed);
		if (!to_exptime(&t[2], &req->exptime))
			return refuse(req, E_EXPTIME, consumed);
		return (int)consumed;
	}
	if (tok_is(&t[0], "flush_all")) {
		req->cmd = DPC_TXT_FLUSH_ALL;
		if (nt > 3)
			return refuse(req, E_ERROR, consumed);
		req->noreply = noreply_tok(&t[nt - 1]);
		if (nt != (req->noreply ? 2u : 1u)) {
			/* a signed delay; a negative one flushes now */
			uint32_t e;
			if (!to_exptime(&t[1], &e))
				return refuse(req, E_EXPTIME, consumed);
			req->exptime = e > DPC_EXPTIME_REL_MAX && t[1].p[0] == '-' ? 0 : e;
		}
		return (int)consumed;
	}
	if (tok_is(&t[0], "version")) {
		/* memcached 1.6 ignores any further tokens */
		req->cmd = DPC_TXT_VERSION;
		return (int)consumed;
	}
	if (tok_is(&t[0], "verbosity")) {
		uint64_t level;
		req->cmd = DPC_TXT_VERBOSITY;
		if (nt < 2 || nt > 3)
			return refuse(req, E_ERROR, consumed);
		req->noreply = noreply_tok(&t[nt - 1]);
		if (!to_u64(&t[1], UINT32_MAX, &level))
			return refuse(req, E_FORMAT, consumed);
		return (int)consumed;
	}
	if (tok_is(&t[0], "stats")) {
		/* memcached reads the group and (for "detail") one more token; the rest is ignored */
		req->cmd = DPC_TXT_STATS;
		if (nt >= 2) {
			req->arg = t[1].p;
			req->arglen = t[1].n;
		}
		if (nt >= 3) {
			req->arg2 = t[2].p;
			req->arg2len = t[2].n;
		}
		return (int)consumed;
	}
	if (tok_is(&t[0], "quit")) {
		req->cmd = DPC_TXT_QUIT;
		return (int)consumed;
	}
	return refuse(req, E_ERROR, consumed);
}

size_t dpc_txt_next_key(const uint8_t **p, const uint8_t *end, const uint8_t **key)
{
	const uint8_t *s = *p;

	while (s < end && *s == ' ')
		s++;
	const uint8_t *e = s;
	while (e < end && *e != ' ')
		e++;
	*key = s;
	*p = e;
	return (size_t)(e - s);
}
