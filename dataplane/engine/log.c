/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The circular item log: mapping, tail appends, head retirement, flush
 * horizon, debug poisoning of reclaimed memory, and the reclaimer thread.
 * Layout and protocol: log.h.
 */
#include <errno.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include <urcu/urcu-qsbr.h>

#include "log.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define DPC_POISON(p, n)   ASAN_POISON_MEMORY_REGION((p), (n))
#define DPC_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define DPC_POISON(p, n)   ((void)(p), (void)(n))
#define DPC_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

static void *map_mem(uint64_t bytes, bool huge, size_t *mapped)
{
	void *m = MAP_FAILED;

	if (huge) {
		size_t hb = (bytes + (2u << 20) - 1) & ~((size_t)(2u << 20) - 1);

		m = mmap(NULL, hb, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
		if (m != MAP_FAILED) {
			*mapped = hb;
			return m;
		}
	}
	m = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return NULL;
	if (huge) {
		/* Transparent huge pages, then fault everything in now: the memory
		 * budget is taken at start-up, not on the first writes. */
		(void)madvise(m, bytes, MADV_HUGEPAGE);
		(void)madvise(m, bytes, MADV_POPULATE_WRITE);
	}
	*mapped = bytes;
	return m;
}

int dpc_log_init(struct dpc_log *l, uint64_t cap, uint64_t seg, uint64_t reserve, bool huge,
		 uint64_t origin)
{
	memset(l, 0, sizeof(*l));
	l->mem = map_mem(cap, huge, &l->map);
	if (l->mem == NULL)
		return -ENOMEM;
	DPC_POISON(l->mem, cap);   /* never written yet */
	l->cap = cap;
	l->cap_inv = UINT64_MAX / cap + 1;
	l->seg = seg;
	l->reserve = reserve;
	l->origin = origin;
	/* The first lap may use the whole ring (rc + cap). */
	l->h = l->t = l->last_retire = l->poisoned = origin;
	atomic_init(&l->h_pub, origin);
	atomic_init(&l->t_pub, origin);
	atomic_init(&l->rc, origin);
	atomic_init(&l->retire_req, origin);
	atomic_init(&l->flush_pos, 0);
	return 0;
}

void dpc_log_fini(struct dpc_log *l)
{
	if (l == NULL || l->mem == NULL)
		return;
	dpc_reuse_fini(&l->ru);
	DPC_UNPOISON(l->mem, l->cap);
	munmap(l->mem, l->map);
	l->mem = NULL;
}

/* Debug builds: fill reclaimed memory with 0xdd and poison it for ASan, so a
 * reader that uses memory after its grace period reads garbage or trips
 * ASan.  The owner unpoisons what it appends. */
static void poison_reclaimed(struct dpc_log *l, uint64_t rc)
{
#ifdef DPC_DEBUG
	while (l->poisoned < rc) {
		uint64_t off = dpc_log_off(l, l->poisoned);
		uint64_t n = rc - l->poisoned;

		if (n > l->cap - off)
			n = l->cap - off;
		DPC_UNPOISON(l->mem + off, n);   /* ring-end padding was never unpoisoned */
		memset(l->mem + off, 0xdd, n);
		DPC_POISON(l->mem + off, n);
		l->poisoned += n;
	}
#else
	(void)l;
	(void)rc;
#endif
}

bool dpc_log_append(struct dpc_log *l, uint32_t size, uint64_t *pos)
{
	uint64_t off = dpc_log_off(l, l->t);
	uint64_t pad = off + size > l->cap ? l->cap - off : 0;
	/* Acquire: pairs with the reclaimer's release; memory below rc + cap is ours again. */
	uint64_t rc = atomic_load_explicit(&l->rc, memory_order_acquire);

	if (l->t + pad + size > rc + l->cap)
		return false;
	poison_reclaimed(l, rc);
	if (pad) {
		_Atomic uint32_t *w = dpc_log_at(l, l->t);

		DPC_UNPOISON(w, sizeof(*w));
		/* Relaxed: padding is read by the owner's head walk only. */
		atomic_store_explicit(w, 0, memory_order_relaxed);
		l->t += pad;
	}
	*pos = l->t;
	DPC_UNPOISON(dpc_log_at(l, l->t), size);
	l->t += size;
	return true;
}

void dpc_log_retire(struct dpc_log *l)
{
	uint64_t upto = l->h & ~(l->seg - 1);

	if (upto <= l->last_retire)
		return;
	l->last_retire = upto;
	/* Release: readers that see the new head ignore positions below it. */
	atomic_store_explicit(&l->h_pub, l->h, memory_order_release);
	/* Release: the reclaimer's grace period starts after the head moved. */
	atomic_store_explicit(&l->retire_req, upto, memory_order_release);
}

void dpc_log_flush(struct dpc_log *l)
{
	/* seq_cst: the load half of the flusher's side of the copy protocol
	 * (dpc_copy_end(), store_internal.h); it also acquires the owner's
	 * release of t_pub, so the records below it are complete. */
	uint64_t t = atomic_load_explicit(&l->t_pub, memory_order_seq_cst);
	uint64_t cur = atomic_load_explicit(&l->flush_pos, memory_order_relaxed);

	/* Release: pairs with the acquire loads of dpc_log_valid_from() and
	 * dpc_log_owner_from(). */
	while (cur < t && !atomic_compare_exchange_weak_explicit(&l->flush_pos, &cur, t,
								 memory_order_release,
								 memory_order_relaxed))
		;
}

/*
 * The reclaimer thread (not registered with QSBR, so it may wait for grace
 * periods): collect retire requests, wait for one grace period, then
 * publish each log's reclaim horizon.  Polls every 100 us while idle, so
 * owners signal it with a plain store instead of a syscall.
 */
static void *reclaimer_main(void *arg)
{
	struct dpc_reclaimer *r = arg;
	uint64_t want[DPC_RECLAIM_LOGS_MAX];
	uint32_t hwant[DPC_RECLAIM_LOGS_MAX];
	bool holes[DPC_RECLAIM_LOGS_MAX];
	const struct timespec nap = { .tv_sec = 0, .tv_nsec = 100000 };

	while (!atomic_load_explicit(&r->stop, memory_order_acquire)) {
		bool any = false;

		for (unsigned i = 0; i < r->nlogs; i++) {
			struct dpc_log *l = r->logs[i];

			/* Acquire: pairs with dpc_log_retire(); the head moved before this request. */
			want[i] = atomic_load_explicit(&l->retire_req, memory_order_acquire);
			any |= want[i] > atomic_load_explicit(&l->rc, memory_order_relaxed);
			/* Holes waiting for a grace period (acquire inside: reuse.h). */
			holes[i] = dpc_reuse_want(&l->ru, &hwant[i]);
			any |= holes[i];
		}
		if (!any) {
			nanosleep(&nap, NULL);
			continue;
		}
		/* Every reader online before this point has passed a quiescent
		 * state when it returns: nobody still holds a ref below want[i]. */
		urcu_qsbr_synchronize_rcu();
		for (unsigned i = 0; i < r->nlogs; i++) {
			struct dpc_log *l = r->logs[i];

			/* Release: pairs with the owner's acquire load in dpc_log_append(). */
			if (want[i] > atomic_load_explicit(&l->rc, memory_order_relaxed))
				atomic_store_explicit(&l->rc, want[i], memory_order_release);
			if (holes[i])   /* release inside: reuse.h */
				dpc_reuse_covered(&l->ru, hwant[i]);
		}
	}
	return NULL;
}

int dpc_reclaimer_start(struct dpc_reclaimer *r)
{
	atomic_init(&r->stop, false);
	if (pthread_create(&r->thread, NULL, reclaimer_main, r) != 0)
		return -EAGAIN;
	r->started = true;
	return 0;
}

void dpc_reclaimer_stop(struct dpc_reclaimer *r)
{
	if (!r->started)
		return;
	/* It may be waiting for a grace period that needs this thread's
	 * quiescent state: go offline while joining. */
	bool online = urcu_qsbr_read_ongoing();

	atomic_store_explicit(&r->stop, true, memory_order_release);
	if (online)
		urcu_qsbr_thread_offline();
	pthread_join(r->thread, NULL);
	if (online)
		urcu_qsbr_thread_online();
	r->started = false;
}
