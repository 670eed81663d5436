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

/* ---- per-command outcome counters (memcached's STAT names), both protocols ------- */

/* A storage command's outcome; @with_cas: a CAS write (binary CAS != 0, text "cas"). */
static inline void dpc_count_store(struct dpc_worker_stats *s, enum dpc_status st, bool with_cas)
{
	if (st == DPC_OK)
		dpc_stat_inc(s, total_items);
	if (!with_cas)
		return;
	if (st == DPC_OK)
		dpc_stat_inc(s, cas_hits);
	else if (st == DPC_NOT_FOUND)
		dpc_stat_inc(s, cas_misses);
	else if (st == DPC_EXISTS)
		dpc_stat_inc(s, cas_mismatch);
}

/* A DELETE's outcome; @with_cas: binary DELETE with a CAS to match. */
static inline void dpc_count_delete(struct dpc_worker_stats *s, enum dpc_status st, bool with_cas)
{
	if (st == DPC_OK)
		dpc_stat_inc(s, delete_hits);
	else if (st == DPC_NOT_FOUND)
		dpc_stat_inc(s, delete_misses);
	else if (st == DPC_EXISTS && with_cas)
		dpc_stat_inc(s, cas_mismatch);
}

/* INCR/DECR that found the item or did not (and created nothing). */
static inline void dpc_count_arith(struct dpc_worker_stats *s, bool incr, enum dpc_status st)
{
	if (st == DPC_OK) {
		if (incr)
			dpc_stat_inc(s, incr_hits);
		else
			dpc_stat_inc(s, decr_hits);
	} else if (st == DPC_NOT_FOUND) {
		if (incr)
			dpc_stat_inc(s, incr_misses);
		else
			dpc_stat_inc(s, decr_misses);
	}
}

static inline void dpc_count_touch(struct dpc_worker_stats *s, enum dpc_status st)
{
	if (st == DPC_OK)
		dpc_stat_inc(s, touch_hits);
	else if (st == DPC_NOT_FOUND)
		dpc_stat_inc(s, touch_misses);
}

/* ---- the processors (one per codec) ------------------------------------------------ */

/* Same contract as dpc_handler_process_dgram(), for d->proto == DPC_DGRAM_BIN / TEXT. */
int dpc_proto_bin_process(struct dpc_handler *h, const struct dpc_dgram *d, struct dpc_wr *w);
int dpc_proto_text_process(struct dpc_handler *h, const struct dpc_dgram *d, struct dpc_wr *w);

/* ---- statistics (proto_stats.c) ----------------------------------------------------- */

/* One "name value" pair out: a binary STAT response or a text STAT line.  0 or -ENOMEM. */
typedef int (*dpc_stat_emit_fn)(void *ctx, const char *name, const char *val);

/*
 * What a statistics group asks for, as memcached 1.6 answers it; each
 * protocol words the outcome its own way (binary | text):
 *   LIST         name/value pairs, then the terminator | "END"
 *   UNKNOWN      KEY_ENOENT | "ERROR"
 *   RESET        terminator only | "RESET"
 *   DETAIL_SET   "detail on|off": terminator only | "OK"
 *   DETAIL_DUMP  ("detailed", "END\r\n"), terminator | "END"
 *   DETAIL_USAGE "detail" without on|off|dump: KEY_ENOENT | CLIENT_ERROR usage
 */
enum dpc_stats_group {
	DPC_STATS_LIST, DPC_STATS_UNKNOWN, DPC_STATS_RESET, DPC_STATS_DETAIL_SET,
	DPC_STATS_DETAIL_DUMP, DPC_STATS_DETAIL_USAGE,
};

/*
 * Classify group @p g (@p glen bytes; 0 = the general group) with its
 * sub-argument @p sub ("on" of "detail on"; may be NULL); for
 * DPC_STATS_LIST, dpc_proto_stats() emits it.
 */
enum dpc_stats_group dpc_stats_classify(const uint8_t *g, size_t glen, const uint8_t *sub,
					size_t sublen);

/*
 * Emit the pairs of the listing group @p g (dpc_stats_classify() said
 * DPC_STATS_LIST) through @p emit.  Returns 0 or -ENOMEM from the emitter.
 */
int dpc_proto_stats(const struct dpc_handler *h, const uint8_t *g, size_t glen,
		    dpc_stat_emit_fn emit, void *ctx);

#endif /* DPCACHE_HANDLER_INTERNAL_H */
