/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Lazy restore: large private anonymous VMAs are registered with a
 * userfaultfd of the restored process instead of being filled, the process
 * resumes at once, and a lazy-pages daemon (a child of criu-lite) answers
 * its page faults from the pages image (UFFDIO_COPY, UFFDIO_ZEROPAGE for
 * holes) while it copies everything else in the background.
 */
#ifndef CRIU_LITE_LAZY_H
#define CRIU_LITE_LAZY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "mm.pb-c.h"
#include "pagemap.pb-c.h"

/* Whether a VMA is restored lazily (large private anonymous memory). */
#define LAZY_MIN_VMA	(1UL << 20)	/* smaller ones are filled at once */
bool vma_is_lazy(const VmaEntry *v);

struct addr_range;

struct lazy_proc {
	pid_t pid;		/* as criu-lite sees it */
	pid_t vpid;		/* in the images: what a lazy source knows */
	int uffd;		/* the process' userfaultfd, our copy */
	PagemapEntry **runs;	/* PE_PRESENT runs of lazy VMAs and PE_LAZY
				 * runs (left in the source), sorted */
	size_t nr_runs;
	uint8_t **done;		/* per run, per page: copied or dropped */
	const MmEntry *mm;
	bool check_pages;	/* check each piece against its checksums */
	bool gone;
	bool guarded;		/* traced by the daemon (lazy-guard.h) */
	pid_t daemon;		/* the daemon serving it (restore's view) */
	int ctl;		/* restore's end of the daemon's control socket */
};

/* Registers the lazy VMAs of mm with uffd (already UFFDIO_API'd by
 * lazy_uffd_api); collects the runs the daemon must copy. The VMAs in
 * held (sorted; migrate's memory held in place, prefill.h) are neither:
 * their pages are in. */
/*
 * Whether a lazy restore of mm has anything for a lazy-pages daemon: a
 * PE_LAZY or PE_PARENT run in a lazy VMA that is not held (pme sorted by
 * vaddr), or more than eager_max pages present in such VMAs. Otherwise
 * every lazy VMA is held in place, all zero (which an empty anonymous
 * mapping is) or has few enough pages to be read in now: no userfaultfd,
 * no daemon (its fork and registration were ~15-35 ms of a migration's
 * downtime).
 */
bool lazy_needed(const MmEntry *mm, PagemapEntry *const *pme, size_t nr_pme,
		 const struct addr_range *held, size_t nr_held,
		 uint64_t eager_max);
/* migrate --incoming with the root's memory held: the pages of its lazy
 * VMAs not held (new or changed since pre-copy began: a thread's stack)
 * read in before it resumes, up to this many (64 MiB) */
#define LAZY_EAGER_MAX	16384

int lazy_register(struct lazy_proc *lp, pid_t pid, int uffd, const MmEntry *mm,
		  PagemapEntry **pme, size_t nr_pme,
		  const struct addr_range *held, size_t nr_held);
int lazy_uffd_api(int uffd);
/* The runs of mm's lazy VMAs the daemon must copy, into a cleared lp
 * (lazy_register without the registering: the standalone daemon gets
 * userfaultfds restore registered). */
int lazy_collect_runs(struct lazy_proc *lp, pid_t pid, int uffd,
		      const MmEntry *mm, PagemapEntry **pme, size_t nr_pme);

/* The daemon: serves faults and prefetches until every run is in, then
 * closes the userfaultfds. src: the page data. Pages are checked against
 * their checksums (lp->check_pages) as they are copied, so a page that
 * does not match never reaches the process: the daemon fails, killing it.
 * Returns 0 when everything was copied. The pages copied are counted in
 * progress, as phase "lazy-fill" (progress may be NULL). */
struct page_source;
struct lazy_guard;
struct progress;
int lazy_serve(struct lazy_proc *procs, size_t nr, struct page_source *src,
	       struct lazy_guard *guard, struct progress *progress);

#endif
