/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The cuckoo index of one partition: mapping, and the owner's insert with a
 * bounded breadth-first cuckoo-path search (the writer half of the
 * seqlock).  The reader half is inline in table.h, beside the protocol
 * description both follow.
 */
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>

#include "table.h"

/* BFS bound: at most this many buckets are examined per insert (depth ~3
 * with 7 slots per bucket); a failed search ends in an index eviction. */
#define BFS_MAX 256

int dpc_table_init(struct dpc_table *t, uint32_t nb, bool hugepages)
{
	size_t bytes = (size_t)nb * sizeof(struct dpc_bucket);
	void *m = MAP_FAILED;

	memset(t, 0, sizeof(*t));
	if (nb < 2)
		return -EINVAL;
	if (hugepages) {
		size_t hb = (bytes + (2u << 20) - 1) & ~((size_t)(2u << 20) - 1);

		m = mmap(NULL, hb, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_POPULATE, -1, 0);
		if (m != MAP_FAILED) {
			bytes = hb;
			t->huge = true;
		}
	}
	if (m == MAP_FAILED) {
		m = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (m == MAP_FAILED)
			return -ENOMEM;
		if (hugepages) {
			(void)madvise(m, bytes, MADV_HUGEPAGE);
			(void)madvise(m, bytes, MADV_POPULATE_WRITE);
		}
	}
	t->b = m;       /* anonymous memory is zeroed: every slot empty, versions 0 */
	t->nb = nb;
	t->bytes = bytes;
	return 0;
}

void dpc_table_fini(struct dpc_table *t)
{
	if (t == NULL || t->b == NULL)
		return;
	munmap(t->b, t->bytes);
	t->b = NULL;
}

static inline bool slot_free(uint64_t s, const struct dpc_ref_win *live)
{
	return s == 0 || !dpc_ref_in(live, dpc_slot_ref(s));
}

static int find_free(const struct dpc_bucket *bk, const struct dpc_ref_win *live)
{
	for (unsigned i = 0; i < DPC_BUCKET_SLOTS; i++)
		if (slot_free(atomic_load_explicit(&bk->slot[i], memory_order_relaxed), live))
			return (int)i;
	return -1;
}

/*
 * Move the entry in (src, s) into (dst, d), where dst is that entry's other
 * candidate bucket.  Seqlock writer side (Boehm's C11 form): both versions
 * are made odd, then a release fence orders those stores before the slot
 * stores, so a reader whose slot loads observe any part of the move also
 * observes a changed version on its re-check (the acquire fence of
 * dpc_table_version_end() pairs with this one); the final release stores
 * make them even again (dpc_table_version_begin() acquires them).
 */
static void move_entry(struct dpc_bucket *src, unsigned s, struct dpc_bucket *dst, unsigned d)
{
	uint64_t v = atomic_load_explicit(&src->slot[s], memory_order_relaxed);
	uint32_t vs = atomic_load_explicit(&src->ver, memory_order_relaxed);
	uint32_t vd = atomic_load_explicit(&dst->ver, memory_order_relaxed);

	atomic_store_explicit(&src->ver, vs + 1, memory_order_relaxed);
	if (dst != src)
		atomic_store_explicit(&dst->ver, vd + 1, memory_order_relaxed);
	/* Fence: the odd versions are ordered before the slot stores below. */
	atomic_thread_fence(memory_order_release);
	/* Release: a reader that acquires the new slot also sees the item it refers to. */
	atomic_store_explicit(&dst->slot[d], v, memory_order_release);
	atomic_store_explicit(&src->slot[s], 0, memory_order_relaxed);
	/* Release: the slot stores are ordered before the versions turn even. */
	atomic_store_explicit(&src->ver, vs + 2, memory_order_release);
	if (dst != src)
		atomic_store_explicit(&dst->ver, vd + 2, memory_order_release);
}

/* Single-writer counter: relaxed load and store, no LOCK prefix. */
static void count_move(struct dpc_table *t)
{
	atomic_store_explicit(&t->moves, atomic_load_explicit(&t->moves, memory_order_relaxed) + 1,
			      memory_order_relaxed);
}

struct bfs_node {
	uint32_t bucket;
	int16_t parent;  /* index in the queue, -1 for a root */
	uint8_t slot;    /* slot in the parent's bucket whose entry moves here */
};

int dpc_table_insert(struct dpc_table *t, uint32_t b1, uint32_t b2, uint64_t slotval,
		     const struct dpc_ref_win *live, uint64_t *dropped)
{
	struct bfs_node q[BFS_MAX];
	int head = 0, tail = 0;
	int f;

	*dropped = 0;
	/* Fast path: a free slot in either candidate. */
	for (int pass = 0; pass < 2; pass++) {
		struct dpc_bucket *bk = &t->b[pass ? b2 : b1];

		f = find_free(bk, live);
		if (f >= 0) {
			*dropped = atomic_load_explicit(&bk->slot[f], memory_order_relaxed);
			/* Release: the item is complete before a reader can find its ref. */
			atomic_store_explicit(&bk->slot[f], slotval, memory_order_release);
			return 0;
		}
	}
	q[tail++] = (struct bfs_node){ .bucket = b1, .parent = -1, .slot = 0 };
	if (b2 != b1)
		q[tail++] = (struct bfs_node){ .bucket = b2, .parent = -1, .slot = 0 };
	while (head < tail) {
		struct bfs_node n = q[head];
		struct dpc_bucket *bk = &t->b[n.bucket];

		f = n.parent >= 0 ? find_free(bk, live) : -1;
		if (f >= 0)
			break;
		for (unsigned i = 0; i < DPC_BUCKET_SLOTS && tail < BFS_MAX; i++) {
			uint64_t s = atomic_load_explicit(&bk->slot[i], memory_order_relaxed);
			uint32_t alt = dpc_table_alt(t, n.bucket, dpc_slot_tag(s));

			if (alt == n.bucket)
				continue;
			q[tail++] = (struct bfs_node){ .bucket = alt, .parent = (int16_t)head,
						       .slot = (uint8_t)i };
		}
		head++;
	}
	if (head >= tail)
		return -ENOSPC;

	/* Walk the path back from the free slot, moving each entry one step. */
	int cur = head;
	unsigned free_slot = (unsigned)f;
	bool moved = false;

	*dropped = atomic_load_explicit(&t->b[q[cur].bucket].slot[free_slot], memory_order_relaxed);
	while (q[cur].parent >= 0) {
		int par = q[cur].parent;
		struct dpc_bucket *src = &t->b[q[par].bucket];
		uint64_t s = atomic_load_explicit(&src->slot[q[cur].slot], memory_order_relaxed);

		/* A path may revisit a bucket; check the entry still belongs there. */
		if (s == 0 || dpc_table_alt(t, q[par].bucket, dpc_slot_tag(s)) != q[cur].bucket) {
			if (!moved)  /* nothing overwritten yet: the stale entry stays */
				*dropped = 0;
			return -ENOSPC;
		}
		move_entry(src, q[cur].slot, &t->b[q[cur].bucket], free_slot);
		count_move(t);
		moved = true;
		free_slot = q[cur].slot;
		cur = par;
	}
	/* Release: the item is complete before a reader can find its ref. */
	atomic_store_explicit(&t->b[q[cur].bucket].slot[free_slot], slotval, memory_order_release);
	return 0;
}

_Atomic uint64_t *dpc_table_victim(struct dpc_table *t, uint32_t b1, uint32_t b2,
				   const struct dpc_ref_win *live)
{
	_Atomic uint64_t *best = &t->b[b1].slot[0];
	uint64_t best_dist = UINT64_MAX;

	for (int pass = 0; pass < 2; pass++) {
		struct dpc_bucket *bk = &t->b[pass ? b2 : b1];

		for (unsigned i = 0; i < DPC_BUCKET_SLOTS; i++) {
			uint64_t r = dpc_slot_ref(atomic_load_explicit(&bk->slot[i], memory_order_relaxed));
			uint64_t d = dpc_ref_dist(live, r);

			if (d < best_dist) {
				best_dist = d;
				best = &bk->slot[i];
			}
		}
	}
	return best;
}
