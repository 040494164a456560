// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "cr.h"
#include "kernel-compat.h"
#include "lazy.h"
#include "lazy-guard.h"
#include "log.h"
#include "mem.h"
#include "page-source.h"
#include "pagemap.h"
#include "progress.h"
#include "seize.h"

#define FAULT_CHUNK	16		/* pages copied around a fault */
/* pages per background UFFDIO_COPY: a fault waits for the one under way
 * (a busy 2 GiB guest resumed on lazy memory stalled ~1.8 s with 512, a
 * few hundred ms with 64: it faults on random pages until all are in) */
#define PREFETCH_CHUNK	64

bool vma_is_lazy(const VmaEntry *v)
{
	return v->kind == VMA_KIND__VMA_ANON_PRIVATE &&
	       v->end - v->start >= LAZY_MIN_VMA &&
	       !(v->path && !strcmp(v->path, "[stack]"));
}

int lazy_uffd_api(int uffd)
{
	struct uffdio_api api = {
		.api = UFFD_API,
		/* the process may drop or move memory before we copy it */
		.features = UFFD_FEATURE_EVENT_REMAP | UFFD_FEATURE_EVENT_REMOVE |
			    UFFD_FEATURE_EVENT_UNMAP,
	};

	if (ioctl(uffd, UFFDIO_API, &api)) {
		pr_perror("UFFDIO_API for lazy pages");
		return -1;
	}
	return 0;
}

static const VmaEntry *vma_of(const MmEntry *mm, uint64_t addr)
{
	for (size_t i = 0; i < mm->n_vmas; i++)
		if (addr >= mm->vmas[i]->start && addr < mm->vmas[i]->end)
			return mm->vmas[i];
	return NULL;
}

static bool is_held(const VmaEntry *v, const struct addr_range *held,
		    size_t nr_held)
{
	for (size_t i = 0; i < nr_held; i++)
		if (held[i].start == v->start && held[i].end == v->end)
			return true;
	return false;
}

static int collect_runs(struct lazy_proc *lp, pid_t pid, int uffd,
			const MmEntry *mm, PagemapEntry **pme, size_t nr_pme,
			const struct addr_range *held, size_t nr_held);

bool lazy_needed(const MmEntry *mm, PagemapEntry *const *pme, size_t nr_pme,
		 const struct addr_range *held, size_t nr_held,
		 uint64_t eager_max)
{
	uint64_t present = 0;

	for (size_t i = 0; i < mm->n_vmas; i++) {
		const VmaEntry *v = mm->vmas[i];
		size_t lo = 0, hi = nr_pme;

		if (!vma_is_lazy(v) || is_held(v, held, nr_held))
			continue;
		/* the first run that ends above the VMA's start */
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			const PagemapEntry *e = pme[mid];

			if (e->vaddr + (uint64_t)e->nr_pages * PAGE_SZ <= v->start)
				lo = mid + 1;
			else
				hi = mid;
		}
		for (; lo < nr_pme && pme[lo]->vaddr < v->end; lo++) {
			if (pme[lo]->flags & (PE_LAZY | PE_PARENT))
				return true;
			if ((pme[lo]->flags & PE_PRESENT) &&
			    (present += pme[lo]->nr_pages) > eager_max)
				return true;
		}
	}
	return false;
}

int lazy_register(struct lazy_proc *lp, pid_t pid, int uffd, const MmEntry *mm,
		  PagemapEntry **pme, size_t nr_pme,
		  const struct addr_range *held, size_t nr_held)
{
	for (size_t i = 0; i < mm->n_vmas; i++) {
		const VmaEntry *v = mm->vmas[i];
		struct uffdio_register reg = {
			.range = { v->start, v->end - v->start },
			.mode = UFFDIO_REGISTER_MODE_MISSING,
		};

		if (!vma_is_lazy(v) || is_held(v, held, nr_held))
			continue;
		if (ioctl(uffd, UFFDIO_REGISTER, &reg)) {
			pr_perror("restore %d: UFFDIO_REGISTER [%#lx, %#lx)", pid,
				  (long)v->start, (long)v->end);
			return -1;
		}
	}
	return collect_runs(lp, pid, uffd, mm, pme, nr_pme, held, nr_held);
}

int lazy_collect_runs(struct lazy_proc *lp, pid_t pid, int uffd,
		      const MmEntry *mm, PagemapEntry **pme, size_t nr_pme)
{
	return collect_runs(lp, pid, uffd, mm, pme, nr_pme, NULL, 0);
}

static int collect_runs(struct lazy_proc *lp, pid_t pid, int uffd,
			const MmEntry *mm, PagemapEntry **pme, size_t nr_pme,
			const struct addr_range *held, size_t nr_held)
{
	memset(lp, 0, sizeof(*lp));
	lp->pid = pid;
	lp->uffd = uffd;
	lp->mm = mm;
	lp->runs = calloc(nr_pme + 1, sizeof(*lp->runs));
	lp->done = calloc(nr_pme + 1, sizeof(*lp->done));
	if (!lp->runs || !lp->done)
		return -1;
	for (size_t i = 0; i < nr_pme; i++) {
		const VmaEntry *v = vma_of(mm, pme[i]->vaddr);

		if (!(pme[i]->flags & (PE_PRESENT | PE_LAZY)) || !v ||
		    !vma_is_lazy(v) || is_held(v, held, nr_held))
			continue;
		lp->done[lp->nr_runs] = calloc(pme[i]->nr_pages, 1);
		if (!lp->done[lp->nr_runs])
			return -1;
		lp->runs[lp->nr_runs++] = pme[i];
	}
	return 0;
}

/* The run holding addr, or -1 (a hole or a zero run: zero-filled). */
static long run_at(const struct lazy_proc *lp, uint64_t addr)
{
	size_t lo = 0, hi = lp->nr_runs;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		const PagemapEntry *e = lp->runs[mid];

		if (addr < e->vaddr)
			hi = mid;
		else if (addr >= e->vaddr + (uint64_t)e->nr_pages * PAGE_SZ)
			lo = mid + 1;
		else
			return mid;
	}
	return -1;
}

struct lazy_stats {
	uint64_t faults, fault_pages, prefetch_pages, zero_pages;
	uint64_t first_fault_ns;
	struct lazy_guard *guard;	/* or NULL */
	struct progress *progress;	/* or NULL */
};

/* Pages [p, p+k) of run r, checked against their checksums unless the
 * daemon was told not to. A PE_LAZY run has none in the pagemap: its
 * pages come from the frozen source, each checked on arrival against the
 * checksum sent with it (page-source.h). */
static const uint8_t *run_data(struct lazy_proc *lp, const PagemapEntry *e,
			       uint32_t p, uint32_t k, struct page_source *src)
{
	if (lp->check_pages && !(e->flags & PE_LAZY))
		return page_source_get_checked(src, e, p, k, lp->pid);
	return src->ops->get(src, e->offset + (uint64_t)p * PAGE_SZ,
			     (uint64_t)k * PAGE_SZ);
}

/*
 * UFFDIO_COPY. Tests (CRIU_LITE_FAULT=uffd-partial-copy): the first copy
 * of more than one page stops half way with EAGAIN, as the kernel's does
 * when the process' layout changes meanwhile (uc->copy: what got in).
 */
static int copy_or_part(int uffd, struct uffdio_copy *uc)
{
	static bool cut;
	uint64_t len = uc->len;
	int ret;

	if (cut || len < 2 * PAGE_SZ || !getenv("CRIU_LITE_FAULT") ||
	    !fault_at("uffd-partial-copy"))
		return ioctl(uffd, UFFDIO_COPY, uc);
	cut = true;
	uc->len = len / 2 / PAGE_SZ * PAGE_SZ;
	ret = ioctl(uffd, UFFDIO_COPY, uc);
	uc->len = len;
	if (ret)
		return ret;
	errno = EAGAIN;
	return -1;
}

/* Copies pages [p, p+n) of run r (those not done yet) into the process;
 * a page is marked done only once it is in (or its range is gone). */
static int copy_pages(struct lazy_proc *lp, size_t r, uint32_t p, uint32_t n,
		      struct page_source *src, uint64_t *copied)
{
	const PagemapEntry *e = lp->runs[r];

	while (n) {
		struct uffdio_copy uc;
		const uint8_t *data;
		uint32_t k = 0;

		while (n && lp->done[r][p]) {
			p++;
			n--;
		}
		while (k < n && !lp->done[r][p + k])
			k++;
		if (!k)
			break;
		uc.dst = e->vaddr + (uint64_t)p * PAGE_SZ;
		data = run_data(lp, e, p, k, src);
		if (!data)
			return -1;
		uc.src = (uint64_t)data;
		uc.len = (uint64_t)k * PAGE_SZ;
		uc.mode = 0;
		uc.copy = 0;
		if (copy_or_part(lp->uffd, &uc)) {
			int err = errno;

			pr_debug("lazy-pages %d: UFFDIO_COPY %#lx+%u: %m (copied %lld)",
				 lp->pid, (long)uc.dst, k, (long long)uc.copy);
			/* a part copied before the error (EAGAIN: the
			 * layout changes meanwhile) is in: only that part */
			if (uc.copy > 0) {
				uint32_t in = uc.copy / PAGE_SZ;

				memset(&lp->done[r][p], 1, in);
				*copied += in;
				p += in;
				n -= in;
				k -= in;
			}
			errno = err;
			if (!k)
				continue;
			if (errno == EEXIST) {
				/* the kernel stops at the first page that is
				 * there (populated by the process, or by us
				 * before an EAGAIN): that one is done, the
				 * rest is tried again */
				lp->done[r][p] = 1;
				p++;
				n--;
				continue;
			}
			if (errno == ESRCH) {
				lp->gone = true;	/* the process is gone */
				return 0;
			}
			if (errno == ENOENT) {	/* unmapped meanwhile */
				memset(&lp->done[r][p], 1, k);
				p += k;
				n -= k;
				continue;
			}
			if (errno == EAGAIN)	/* a layout change: retry later */
				return 0;
			pr_perror("lazy-pages %d: UFFDIO_COPY at %#lx", lp->pid,
				  (long)uc.dst);
			return -1;
		}
		memset(&lp->done[r][p], 1, k);
		*copied += k;
		p += k;
		n -= k;
	}
	return 0;
}

static int zero_page(struct lazy_proc *lp, uint64_t addr, uint64_t *zeroed)
{
	struct uffdio_zeropage z = { .range = { addr, PAGE_SZ } };

	if (ioctl(lp->uffd, UFFDIO_ZEROPAGE, &z) && errno != EEXIST) {
		if (errno == ESRCH || errno == ENOENT || errno == EAGAIN)
			return 0;
		pr_perror("lazy-pages %d: UFFDIO_ZEROPAGE at %#lx", lp->pid,
			  (long)addr);
		return -1;
	}
	(*zeroed)++;
	return 0;
}

/* The process dropped [start, end) (munmap, MADV_DONTNEED): what we still
 * hold for it must not be copied there any more. */
static void drop_range(struct lazy_proc *lp, uint64_t start, uint64_t end)
{
	for (size_t r = 0; r < lp->nr_runs; r++) {
		const PagemapEntry *e = lp->runs[r];
		uint64_t rs = e->vaddr, re = rs + (uint64_t)e->nr_pages * PAGE_SZ;

		if (re <= start || rs >= end)
			continue;
		for (uint64_t a = rs > start ? rs : start; a < re && a < end;
		     a += PAGE_SZ)
			lp->done[r][(a - rs) / PAGE_SZ] = 1;
	}
}

static int handle_msg(struct lazy_proc *lp, const struct uffd_msg *m,
		      struct page_source *src, struct lazy_stats *st)
{
	int ret;

	switch (m->event) {
	case UFFD_EVENT_PAGEFAULT: {
		uint64_t addr = m->arg.pagefault.address & ~(PAGE_SZ - 1);
		long r = run_at(lp, addr);

		if (!st->faults++)
			st->first_fault_ns = now_ns();
		if (r < 0)
			return zero_page(lp, addr, &st->zero_pages);
		/* the faulting page first, then the rest of its chunk */
		uint32_t p = (addr - lp->runs[r]->vaddr) / PAGE_SZ;
		uint32_t n = lp->runs[r]->nr_pages - p;

		if (n > FAULT_CHUNK)
			n = FAULT_CHUNK;
		src->fault = true;	/* the server counts it as pulled */
		ret = copy_pages(lp, r, p, n, src, &st->fault_pages);
		src->fault = false;
		return ret;
	}
	case UFFD_EVENT_REMOVE:
	case UFFD_EVENT_UNMAP:
		drop_range(lp, m->arg.remove.start, m->arg.remove.end);
		return 0;
	case UFFD_EVENT_REMAP:
		/* moved memory: the pages still to come would land at the old
		 * address; copy nothing more there */
		pr_warn("lazy-pages %d: mremap of [%#lx, +%#lx) during lazy "
			"restore: its missing pages read as zero", lp->pid,
			(long)m->arg.remap.from, (long)m->arg.remap.len);
		drop_range(lp, m->arg.remap.from,
			   m->arg.remap.from + m->arg.remap.len);
		return 0;
	}
	return 0;
}

/* Serves every queued fault of every process; blocks timeout ms at most. */
static int drain_faults(struct lazy_proc *procs, size_t nr,
			struct page_source *src, struct lazy_stats *st, int timeout)
{
	struct pollfd pfd[64];
	size_t n = 0;

	if (st->guard)
		guard_poll(st->guard, procs, nr);

	for (size_t i = 0; i < nr && n < 64; i++) {
		if (procs[i].gone)
			continue;
		pfd[n].fd = procs[i].uffd;
		pfd[n].events = POLLIN;
		n++;
	}
	if (!n || poll(pfd, n, timeout) <= 0)
		return 0;
	for (size_t i = 0, k = 0; i < nr; i++) {
		struct uffd_msg msgs[32];
		ssize_t got;

		if (procs[i].gone)
			continue;
		if (pfd[k].revents & (POLLERR | POLLHUP))
			procs[i].gone = true;
		if (!(pfd[k++].revents & POLLIN))
			continue;
		got = read(procs[i].uffd, msgs, sizeof(msgs));
		for (ssize_t m = 0; m < got / (ssize_t)sizeof(msgs[0]); m++)
			if (handle_msg(&procs[i], &msgs[m], src, st))
				return -1;
	}
	return 0;
}

static bool has_lazy_runs(const struct lazy_proc *lp)
{
	for (size_t r = 0; r < lp->nr_runs; r++)
		if (lp->runs[r]->flags & PE_LAZY)
			return true;
	return false;
}

static bool all_done(const struct lazy_proc *lp)
{
	if (lp->gone)
		return true;
	for (size_t r = 0; r < lp->nr_runs; r++)
		if (memchr(lp->done[r], 0, lp->runs[r]->nr_pages))
			return false;
	return true;
}

/* One pass over everything not copied yet, serving faults in between. */
static int prefetch_pass(struct lazy_proc *procs, size_t nr,
			 struct page_source *src, struct lazy_stats *st)
{
	int ret = 0;

	for (size_t i = 0; i < nr && !ret; i++) {
		struct lazy_proc *lp = &procs[i];

		for (size_t r = 0; r < lp->nr_runs && !ret && !lp->gone; r++) {
			for (uint32_t p = 0; p < lp->runs[r]->nr_pages && !ret;
			     p += PREFETCH_CHUNK) {
				uint32_t n = lp->runs[r]->nr_pages - p;

				/* faults first: they stall the process */
				ret = drain_faults(procs, nr, src, st, 0);
				if (!ret)
					ret = copy_pages(lp, r, p, n < PREFETCH_CHUNK ?
							 n : PREFETCH_CHUNK, src,
							 &st->prefetch_pages);
				progress_set(st->progress, st->fault_pages +
					     st->prefetch_pages, (st->fault_pages +
					     st->prefetch_pages) * PAGE_SZ);
			}
		}
	}
	return ret;
}

int lazy_serve(struct lazy_proc *procs, size_t nr, struct page_source *src,
	       struct lazy_guard *guard, struct progress *progress)
{
	struct lazy_stats st = { .guard = guard, .progress = progress };
	uint64_t t0 = now_ns(), total = 0;
	int ret = 0, passes = 0;

	for (size_t i = 0; i < nr; i++)
		for (size_t r = 0; r < procs[i].nr_runs; r++)
			total += procs[i].runs[r]->nr_pages;
	progress_phase(progress, "lazy-fill", total);

	for (;;) {
		bool done = true;

		for (size_t i = 0; i < nr; i++)
			done = done && all_done(&procs[i]);
		if (done || ret)
			break;
		if (passes++)	/* a copy refused by a layout change: again */
			ret = drain_faults(procs, nr, src, &st, 10);
		if (!ret)
			ret = prefetch_pass(procs, nr, src, &st);
	}
	if (ret) {
		/* closing the userfaultfd would let the missing pages read
		 * as zero: a process with wrong memory must not run on */
		for (size_t i = 0; i < nr; i++) {
			if (!procs[i].gone)
				kill(procs[i].pid, SIGKILL);
			close(procs[i].uffd);
		}
		pr_err("lazy-pages: failed; the restored process%s killed",
		       nr > 1 ? "es were" : " was");
		return ret;
	}
	/* every run is in: holes and zero runs are ordinary zero pages once
	 * the userfaultfd is gone; let the processes go first, so that our
	 * death in between can't kill them */
	progress_end(progress);
	/* a lazy source lets its tree go once told (PS_REQ_DONE); if it
	 * can't be told, it keeps the tree, and we have every page anyway */
	for (size_t i = 0; src->remote && i < nr; i++)
		if (has_lazy_runs(&procs[i]))
			page_source_done(src, procs[i].vpid);
	if (guard)
		guard_release(guard, procs, nr);
	for (size_t i = 0; i < nr; i++)
		close(procs[i].uffd);
	pr_info("lazy-pages: all in after %.1f ms: %lu pages on %lu faults, "
		"%lu prefetched, %lu zero pages, %d passes", (now_ns() - t0) / 1e6,
		(unsigned long)st.fault_pages, (unsigned long)st.faults,
		(unsigned long)st.prefetch_pages, (unsigned long)st.zero_pages,
		passes);
	return ret;
}
