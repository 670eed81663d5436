/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Private to the handler's files (handler.c, proto_bin.c, proto_text.c,
 * proto_stats.c): what the codecs' processors share.  Same concurrency as
 * handler.h: one handler per worker thread.
 */
#ifndef DPCACHE_HANDLER_INTERNAL_H
#define DPCACHE_HANDLER_INTERNAL_H

#include "dpcache/hash.h"
#include "handler.h"

/* ---- keys and their hashes (dpc_handler_parse() and the processors agree) ---- */

/* A binary request whose key was located and is a valid key: one key of the datagram. */
static inline bool dpc_bin_keyed(const struct dpc_mc_req *r)
{
	return r->key != NULL && r->keylen > 0 && r->keylen <= DPC_KEY_MAX;
}

/* A text command's single key (storage, delete, arith, touch; also when refused). */
static inline bool dpc_txt_keyed(const struct dpc_txt_req *r)
{
	return r->key != NULL && r->keylen > 0 && r->keylen <= DPC_KEY_MAX;
}

/* A text command with a key list (get, gets, gat, gats). */
static inline bool dpc_txt_is_list(const struct dpc_txt_req *r)
{
	return r->cmd == DPC_TXT_GET || r->cmd == DPC_TXT_GETS || r->cmd == DPC_TXT_GAT ||
	       r->cmd == DPC_TXT_GATS;
}

/* Hash of key number @j of the datagram: the one dpc_handler_parse() kept, else computed now. */
static inline uint64_t dpc_dgram_hash(const struct dpc_dgram *d, unsigned j, const void *key,
				      size_t len)
{
	return j < d->nhash ? d->hash[j] : dpc_hash(key, len);
}

/* ---- shared by both protocols ---------------------------------------------------- */

static inline const char *dpc_handler_version(const struct dpc_handler *h)
{
	return h->version ? h->version : DPC_MC_VERSION;
}

/* flush_all / FLUSH with memcached's delay rule (absolute when over 30 days). */
void dpc_handler_flush(struct dpc_handler *h, uint32_t delay);

/* ---- the processors (one per codec) ------------------------------------------------ */

/* Same contract as dpc_handler_process_dgram(), for d->proto == DPC_DGRAM_BIN / TEXT. */
int dpc_proto_bin_process(struct dpc_handler *h, const struct dpc_dgram *d, struct dpc_wr *w);
int dpc_proto_text_process(struct dpc_handler *h, const struct dpc_dgram *d, struct dpc_wr *w);

/* ---- statistics (proto_stats.c) ----------------------------------------------------- */

/* One "name value" pair out: a binary STAT response or a text STAT line.  0 or -ENOMEM. */
typedef int (*dpc_stat_emit_fn)(void *ctx, const char *name, const char *val);

/*
 * Emit the statistics group @p group (@p len bytes; 0 = the general
 * group) through @p emit.  Returns 0, -ENOMEM from the emitter, or
 * -ENOENT for a group memcached does not answer either.
 */
int dpc_proto_stats(const struct dpc_handler *h, const uint8_t *group, size_t len,
		    dpc_stat_emit_fn emit, void *ctx);

#endif /* DPCACHE_HANDLER_INTERNAL_H */
