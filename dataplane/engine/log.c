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
#include <sys/prctl.h>
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
	atomic_init(&l->starved, 0);
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

	if (l->t + pad + size > rc + l->cap) {
		/* Relaxed: only paces the reclaimer's naps (single writer, no RMW). */
		atomic_store_explicit(&l->starved, ++l->starved_n, memory_order_relaxed);
		return false;
	}
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

/* ---- the reclaimer thread ---------------------------------------------------- */

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);   /* vDSO */
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint32_t clamp_interval(uint32_t us)
{
	if (us == 0)
		return DPC_RECLAIM_INTERVAL_DEFAULT_US;
	if (us < DPC_RECLAIM_INTERVAL_MIN_US)
		return DPC_RECLAIM_INTERVAL_MIN_US;
	return us > DPC_RECLAIM_INTERVAL_MAX_US ? DPC_RECLAIM_INTERVAL_MAX_US : us;
}

/* Single-writer counter (the reclaimer thread): relaxed load and store, no LOCK prefix. */
static inline void ctr_inc(_Atomic uint64_t *c)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + 1,
			      memory_order_relaxed);
}

/*
 * The nap after this wake-up, in ns (at most @p nap), for a log whose tail
 * is at @p t, whose horizon is @p rc now and @p hz after the next grace
 * period (its pending retire request); @p rate (bytes/ns) is the tail's recent peak
 * rate.  At that rate the tail uses at most half of the room before
 * hz + cap by the next wake-up.  A tail already within half its reserve of
 * rc + cap (its owner may be getting DPC_NOSPACE, and then its tail stands
 * still) gets no nap (0): the next grace period follows at once.
 */
static uint64_t nap_for(const struct dpc_log *l, uint64_t t, uint64_t rc, uint64_t hz,
			double rate, uint64_t nap)
{
	uint64_t room = hz + l->cap > t ? (hz + l->cap - t) / 2 : 0;

	if (hz > rc && rc + l->cap < t + l->reserve / 2)
		return 0;
	if (rate > 0 && (double)room / rate < (double)nap)
		return (uint64_t)((double)room / rate);
	return nap;
}

/*
 * The reclaimer thread (not registered with QSBR, so it may wait for grace
 * periods).  Each wake-up: collect every log's retire request and hole
 * sequence, run one grace period for all of them if any is pending, publish
 * the horizons, nap (log.h: the interval, shorter when a tail runs towards
 * its horizon).  Owners signal it with plain stores, never a syscall.
 */
static void *reclaimer_main(void *arg)
{
	struct dpc_reclaimer *r = arg;
	uint64_t want[DPC_RECLAIM_LOGS_MAX];
	uint64_t last_t[DPC_RECLAIM_LOGS_MAX];
	double rate[DPC_RECLAIM_LOGS_MAX];   /* bytes/ns: the tail's rate, peak halved per wake-up */
	uint64_t last_starved[DPC_RECLAIM_LOGS_MAX];
	uint32_t hwant[DPC_RECLAIM_LOGS_MAX];
	bool holes[DPC_RECLAIM_LOGS_MAX];
	uint64_t hole_since[DPC_RECLAIM_LOGS_MAX];   /* first wake-up that saw them; 0: none */
	uint64_t last_ns = mono_ns();

	/* Naps as asked (the default timer slack, 50 us, would lengthen the short
	 * ones of a fast tail by up to that much); the number of wake-ups is the same. */
	(void)prctl(PR_SET_TIMERSLACK, 1000ul, 0ul, 0ul, 0ul);

	for (unsigned i = 0; i < r->nlogs; i++) {
		last_t[i] = atomic_load_explicit(&r->logs[i]->t_pub, memory_order_relaxed);
		last_starved[i] = atomic_load_explicit(&r->logs[i]->starved, memory_order_relaxed);
		rate[i] = 0;
		hole_since[i] = 0;
	}
	/* The nap ceiling: the interval, cut to a quarter when an owner was refused. */
	uint64_t ceil_ns = (uint64_t)atomic_load_explicit(&r->interval_us, memory_order_relaxed) * 1000u;
	while (!atomic_load_explicit(&r->stop, memory_order_acquire)) {
		bool any = false;
		uint64_t wake = mono_ns();
		/* The interval as of this wake-up (a run-time setting).  Holes alone wait
		 * DPC_RECLAIM_HOLE_NAPS of it; not after a refusal (the naps are
		 * shortened then: ceil_ns below the interval). */
		uint64_t ival = (uint64_t)atomic_load_explicit(&r->interval_us,
							       memory_order_relaxed) * 1000u;
		uint64_t hole_wait = ceil_ns < ival ? 0 : ival * DPC_RECLAIM_HOLE_NAPS;

		ctr_inc(&r->wakeups);
		for (unsigned i = 0; i < r->nlogs; i++) {
			struct dpc_log *l = r->logs[i];

			/* Acquire: pairs with dpc_log_retire(); the head moved before this request. */
			want[i] = atomic_load_explicit(&l->retire_req, memory_order_acquire);
			any |= want[i] > atomic_load_explicit(&l->rc, memory_order_relaxed);
			/* Holes waiting for a grace period (acquire inside: reuse.h). */
			holes[i] = dpc_reuse_want(&l->ru, &hwant[i]);
			if (holes[i] && hole_since[i] == 0)
				hole_since[i] = wake;
			any |= holes[i] && wake - hole_since[i] >= hole_wait;
		}
		if (any) {
			/* Every reader online before this point has passed a quiescent
			 * state when it returns: nobody still holds a ref below want[i]. */
			urcu_qsbr_synchronize_rcu();
			ctr_inc(&r->grace_periods);
			for (unsigned i = 0; i < r->nlogs; i++) {
				struct dpc_log *l = r->logs[i];

				/* Release: pairs with the owner's acquire load in dpc_log_append(). */
				if (want[i] > atomic_load_explicit(&l->rc, memory_order_relaxed))
					atomic_store_explicit(&l->rc, want[i], memory_order_release);
				if (holes[i]) {   /* release inside: reuse.h */
					dpc_reuse_covered(&l->ru, hwant[i]);
					hole_since[i] = 0;
				}
			}
		}

		/* The nap, from every log's state now (after the grace period). */
		uint64_t now = mono_ns(), dt = now - last_ns;
		bool starved = false;

		last_ns = now;
		for (unsigned i = 0; i < r->nlogs; i++) {
			/* Relaxed: a count that only paces the naps. */
			uint64_t n = atomic_load_explicit(&r->logs[i]->starved, memory_order_relaxed);

			starved |= n != last_starved[i];
			last_starved[i] = n;
		}
		ceil_ns = starved ? ceil_ns / 4 : ceil_ns * 2;
		if (ceil_ns > ival)
			ceil_ns = ival;
		if (ceil_ns < DPC_RECLAIM_NAP_MIN_US * 1000u)
			ceil_ns = DPC_RECLAIM_NAP_MIN_US * 1000u;

		uint64_t nap = ceil_ns;

		for (unsigned i = 0; i < r->nlogs; i++) {
			struct dpc_log *l = r->logs[i];
			/* Relaxed, all three: they only pace the naps; the next wake-up
			 * reads the request again with acquire before acting on it. */
			uint64_t t = atomic_load_explicit(&l->t_pub, memory_order_relaxed);
			uint64_t rc = atomic_load_explicit(&l->rc, memory_order_relaxed);
			uint64_t req = atomic_load_explicit(&l->retire_req, memory_order_relaxed);
			double now_rate = dt > 0 ? (double)(t - last_t[i]) / (double)dt : 0;

			rate[i] = now_rate > rate[i] / 2 ? now_rate : rate[i] / 2;
			last_t[i] = t;
			nap = nap_for(l, t, rc, req > rc ? req : rc, rate[i], nap);
		}
		if (nap == 0)   /* a tail at its horizon: the next grace period at once */
			continue;
		if (nap < DPC_RECLAIM_NAP_MIN_US * 1000u)
			nap = DPC_RECLAIM_NAP_MIN_US * 1000u;
		struct timespec ts = { .tv_sec = (time_t)(nap / 1000000000u),
				       .tv_nsec = (long)(nap % 1000000000u) };

		nanosleep(&ts, NULL);
	}
	return NULL;
}

void dpc_reclaimer_set_interval(struct dpc_reclaimer *r, uint32_t interval_us)
{
	atomic_store_explicit(&r->interval_us, clamp_interval(interval_us), memory_order_relaxed);
}

int dpc_reclaimer_start(struct dpc_reclaimer *r, uint32_t interval_us)
{
	atomic_init(&r->stop, false);
	atomic_init(&r->interval_us, clamp_interval(interval_us));
	atomic_init(&r->wakeups, 0);
	atomic_init(&r->grace_periods, 0);
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
