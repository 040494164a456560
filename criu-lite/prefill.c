// SPDX-License-Identifier: GPL-2.0
/*
 * Memory held by the destination of a migration before the switch
 * (prefill.h). The buffer is address space reserved far from where
 * processes map things (its moved pieces must not be in the way of the
 * root's VMAs here), made read-write, and so accounted, a step at a time
 * as pages arrive: under strict overcommit a step refused just ends the
 * holding, and the restore goes the lazy way it went before.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cr.h"
#include "lazy.h"
#include "log.h"
#include "page-source.h"
#include "pagemap.h"
#include "prefill.h"
#include "seize.h"
#include "xfer-proto.h"

#define HOLD_RESERVE	(64ULL << 30)	/* the pages file held at most */
#define HOLD_STEP	(256ULL << 20)	/* made writable at a time */
#define HOLD_HINT	(1ULL << 44)	/* below the mmap area, above PIE */

/* have[] of a page: received and held, and in the pages file too or not;
 * held only here and moved into place (or copied there) for the root */
#define HELD_TOO	1
#define HELD_ONLY	2
#define HELD_MOVED	3

int prefill_init(struct prefill *pf)
{
	void *p;

	memset(pf, 0, sizeof(*pf));
	pf->spill_fd = -1;
	p = mmap((void *)HOLD_HINT, HOLD_RESERVE, PROT_NONE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED) {
		pr_warn("migrate: no address space to hold the memory before "
			"the switch (%s): the tree resumes on lazy memory",
			strerror(errno));
		pf->off = true;
		return -1;
	}
	pf->base = p;
	pf->reserved = HOLD_RESERVE;
	pf->thp = getenv("CRIU_LITE_PREFILL_THP") &&
		  !strcmp(getenv("CRIU_LITE_PREFILL_THP"), "1");
	pf->advice = pf->thp ? MADV_HUGEPAGE :
		     prefill_thp_always() ? MADV_NOHUGEPAGE : -1;
	return 0;
}

bool prefill_thp_always(void)
{
	char mode[128] = "";
	FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "re");

	if (f) {
		if (!fgets(mode, sizeof(mode), f))
			mode[0] = 0;
		fclose(f);
	}
	return strstr(mode, "[always]") != NULL;
}

static void give_up(struct prefill *pf, const char *why)
{
	pr_warn("migrate: memory no longer held before the switch (%s): the "
		"tree resumes on lazy memory", why);
	prefill_spill(pf);
	prefill_release(pf);
	pf->off = true;
}

/* Pages [first, first + n) of the pages file, those in state want (held
 * only here), from at: into the file, runs of them at a time. */
static int spill_range(struct prefill *pf, size_t first, size_t n,
		       const uint8_t *at, uint8_t want)
{
	for (size_t i = 0; i < n;) {
		size_t k = i;

		if (first + i >= pf->cap || pf->have[first + i] != want) {
			i++;
			continue;
		}
		while (k < n && first + k < pf->cap &&
		       pf->have[first + k] == want)
			k++;
		if (pf->spill_fd < 0 ||
		    pwrite_all(pf->spill_fd, at + i * PAGE_SZ, (k - i) * PAGE_SZ,
			       (first + i) * PAGE_SZ)) {
			pr_perror("migrate: write held pages into the pages "
				  "file at %#lx", (unsigned long)((first + i) *
								  PAGE_SZ));
			pf->spill_failed = true;
			return -1;
		}
		memset(pf->have + first + i, HELD_TOO, k - i);
		pf->bytes_spilled += (k - i) * PAGE_SZ;
		i = k;
	}
	return 0;
}

/* What the buffer still holds only here (not the moved VMAs: their
 * place in it is unmapped). */
static int spill_buffer(struct prefill *pf)
{
	uint64_t t0 = now_ns(), w0 = pf->bytes_spilled;
	int ret;

	if (!pf->have || !pf->base)
		return 0;
	ret = spill_range(pf, 0, pf->end / PAGE_SZ, pf->base, HELD_ONLY);
	if (pf->bytes_spilled > w0)
		pr_debug("prefill: %.1f MiB held only here written to the "
			 "pages file in %.1f ms", (pf->bytes_spilled - w0) /
			 1048576.0, (now_ns() - t0) / 1e6);
	return ret;
}

int prefill_spill(struct prefill *pf)
{
	int ret = 0;

	if (!pf->have)
		return 0;
	for (size_t i = 0; i < pf->nr_moved; i++)
		ret |= spill_range(pf, pf->moved_off[i] / PAGE_SZ,
				   (pf->moved[i].end - pf->moved[i].start) /
				   PAGE_SZ, (const uint8_t *)pf->moved[i].start,
				   HELD_MOVED);
	ret |= spill_buffer(pf);
	return ret ? -1 : 0;
}

static int hold_room(struct prefill *pf, uint64_t end)
{
	size_t pages = end / PAGE_SZ;

	if (end > pf->reserved) {
		give_up(pf, "more than the reserve");
		return -1;
	}
	if (end > pf->writable) {
		uint64_t to = (end + HOLD_STEP - 1) / HOLD_STEP * HOLD_STEP;

		if (to > pf->reserved)
			to = pf->reserved;
		if (mprotect(pf->base + pf->writable, to - pf->writable,
			     PROT_READ | PROT_WRITE)) {
			give_up(pf, strerror(errno));
			return -1;
		}
		/*
		 * Small pages unless CRIU_LITE_PREFILL_THP=1: no advice where
		 * THP is "madvise" or "never" (a VMA moved from here then has
		 * only its own, no nh it never had: it is moved, not copied),
		 * MADV_NOHUGEPAGE where it is "always". Huge pages make
		 * the root's clone copy one entry per 2 MiB, not 512 (2 GiB
		 * guest: fork 14 against 58 ms, restore there 63 against
		 * 228 ms), but every 2 MiB the rounds touch is taken whole and
		 * cleared first: the sparse layout of a QEMU's memory (its
		 * TCG buffer) held 1.6 GiB for 0.5 GiB received, and clearing
		 * fresh huge pages ran at ~0.3 GB/s on a virtual machine
		 * here. Round 0 of a 512 MiB guest took 4.4-7.5 s with huge
		 * pages, 0.7-0.9 s without; a busy 2 GiB guest's move 24-31 s
		 * against 4.3-5.2 s, pause 297-4175 against 420-451 ms.
		 */
		if (pf->advice >= 0)
			madvise(pf->base + pf->writable, to - pf->writable,
				pf->advice);
		pf->writable = to;
	}
	if (pages > pf->cap) {
		size_t cap = pf->cap ? pf->cap : 65536;
		uint32_t *s;
		uint8_t *h;

		while (cap < pages)
			cap *= 2;
		s = realloc(pf->sums, cap * sizeof(*s));
		if (s)
			pf->sums = s;
		h = s ? realloc(pf->have, cap) : NULL;
		if (!h) {
			give_up(pf, "out of memory");
			return -1;
		}
		memset(h + pf->cap, 0, cap - pf->cap);
		pf->have = h;
		pf->cap = cap;
	}
	return 0;
}

static int cmp_range(const void *a, const void *b)
{
	const struct addr_range *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

int prefill_hold_only(struct prefill *pf, const uint64_t *pairs, size_t n)
{
	struct addr_range *r = n ? calloc(n, sizeof(*r)) : NULL;

	if (n && !r)
		return -1;
	for (size_t i = 0; i < n; i++) {
		r[i].start = pairs[2 * i];
		r[i].end = pairs[2 * i] + pairs[2 * i + 1];
		if (r[i].end < r[i].start)
			r[i].end = r[i].start;	/* nonsense: empty */
	}
	qsort(r, n, sizeof(*r), cmp_range);
	free(pf->only);
	pf->only = r;
	pf->nr_only = n;
	return 0;
}

/* [off, off + len) inside one of the hold-only places. */
static bool in_one_place(const struct prefill *pf, uint64_t off, uint64_t len)
{
	size_t lo = 0, hi = pf->nr_only;

	while (lo < hi) {	/* the last place starting at or below off */
		size_t mid = lo + (hi - lo) / 2;

		if (pf->only[mid].start <= off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo && off + len <= pf->only[lo - 1].end &&
	       off + len >= off;
}

static bool only_here(const struct prefill *pf, uint64_t off, uint64_t len)
{
	return pf->spill_fd >= 0 && in_one_place(pf, off, len);
}

bool prefill_put(struct prefill *pf, uint64_t off, const void *buf,
		 uint64_t len, const uint32_t *sums)
{
	uint64_t first = off / PAGE_SZ, n = len / PAGE_SZ;
	bool only;

	if (pf->off || !pf->base || off % PAGE_SZ || len % PAGE_SZ ||
	    hold_room(pf, off + len))
		return false;
	only = only_here(pf, off, len);
	memcpy(pf->base + off, buf, len);
	memcpy(pf->sums + first, sums, n * sizeof(*sums));
	memset(pf->have + first, only ? HELD_ONLY : HELD_TOO, n);
	if (off + len > pf->end)
		pf->end = off + len;
	return only;
}

/* The first run that ends above addr (runs sorted by vaddr). */
static size_t first_run(PagemapEntry *const *pme, size_t nr, uint64_t addr)
{
	size_t lo = 0, hi = nr;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const PagemapEntry *e = pme[mid];

		if (e->vaddr + (uint64_t)e->nr_pages * PAGE_SZ <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int prefill_match(uint64_t start, uint64_t end, PagemapEntry *const *pme,
		  size_t nr, uint64_t held_end, uint64_t *base)
{
	bool found = false;
	uint64_t b = 0;

	if (start % PAGE_SZ || end % PAGE_SZ || end <= start)
		return -1;
	for (size_t i = first_run(pme, nr, start); i < nr; i++) {
		const PagemapEntry *e = pme[i];
		uint64_t len = (uint64_t)e->nr_pages * PAGE_SZ;

		if (e->vaddr >= end)
			break;
		if (e->vaddr < start || e->vaddr + len > end)
			return -1;	/* across the VMA's ends */
		if (e->flags & (PE_LAZY | PE_PARENT))
			return -1;
		if (!(e->flags & PE_PRESENT))
			continue;	/* zero: zeroed */
		if (!e->has_offset || e->offset < e->vaddr - start ||
		    (e->offset - (e->vaddr - start)) % PAGE_SZ ||
		    e->offset > held_end || len > held_end - e->offset)
			return -1;	/* not held */
		if (!found) {
			b = e->offset - (e->vaddr - start);
			found = true;
		} else if (e->offset - (e->vaddr - start) != b) {
			return -1;	/* not one after the other */
		}
	}
	if (!found)
		return -1;
	*base = b;
	return 0;
}

/* Pages [from, to) of the VMA at start are zero: those held with data
 * are cleared (with memset: MADV_DONTNEED of a page would split the huge
 * page around it); the others were never written, and are zero. */
static void zero_held(struct prefill *pf, uint8_t *at, uint64_t b,
		      uint64_t start, uint64_t from, uint64_t to)
{
	for (uint64_t a = from; a < to; a += PAGE_SZ) {
		size_t pg = (b + (a - start)) / PAGE_SZ;

		if (pg >= pf->cap)
			break;
		if (!pf->have[pg])
			continue;
		memset(at + (a - start), 0, PAGE_SZ);
		pf->pages_zeroed++;
	}
}

/* The held copy of the VMA, at pf->base + b, made what pme says: pages
 * whose held checksum is not the run's copied from src, pages zero or
 * missing zeroed. */
static int fix_held(struct prefill *pf, uint64_t start, uint64_t end,
		    uint64_t b, PagemapEntry *const *pme, size_t nr,
		    struct page_source *src)
{
	uint8_t *at = pf->base + b;
	uint64_t next = start;	/* below it: done */

	for (size_t i = first_run(pme, nr, start); i <= nr; i++) {
		const PagemapEntry *e = i < nr ? pme[i] : NULL;
		uint64_t va = e && e->vaddr < end ? e->vaddr : end;

		if (va > next)
			zero_held(pf, at, b, start, next, va);
		if (!e || e->vaddr >= end)
			break;
		next = e->vaddr + (uint64_t)e->nr_pages * PAGE_SZ;
		if (!(e->flags & PE_PRESENT)) {
			zero_held(pf, at, b, start, e->vaddr, next);
			continue;
		}
		for (uint32_t k = 0; k < e->nr_pages; k++) {
			size_t pg = (b + (e->vaddr - start)) / PAGE_SZ + k;
			const uint8_t *p;

			if (pf->have[pg] && k < e->n_page_csums &&
			    pf->sums[pg] == e->page_csums[k])
				continue;
			p = page_source_get_checked(src, e, k, 1, 0);
			if (!p)
				return -1;
			memcpy(at + (e->vaddr - start) + (uint64_t)k * PAGE_SZ,
			       p, PAGE_SZ);
			pf->pages_fixed++;
		}
	}
	return 0;
}

static int add_moved(struct prefill *pf, uint64_t start, uint64_t end,
		     uint64_t b)
{
	struct addr_range *m = realloc(pf->moved,
				       (pf->nr_moved + 1) * sizeof(*m));
	uint64_t *o = m ? realloc(pf->moved_off,
				  (pf->nr_moved + 1) * sizeof(*o)) : NULL;

	if (m)
		pf->moved = m;
	if (!o)
		return -1;
	pf->moved_off = o;
	m[pf->nr_moved].start = start;
	m[pf->nr_moved].end = end;
	o[pf->nr_moved] = b;
	pf->nr_moved++;
	pf->bytes_moved += end - start;
	return 0;
}

/* Whether the held slice of v can be moved: mremap keeps the buffer's
 * advice, and no madvise takes hg or nh back to none. Moved, the VMA gets
 * its own advice in the puppet (finish_ready_vma). */
static bool can_move(const struct prefill *pf, const VmaEntry *v)
{
	return pf->advice < 0 || (v->madv & (1ULL << pf->advice));
}

/* A VMA with advice the buffer has and it has not (can_move): its present
 * pages are copied into a fresh mapping instead (tens of MiB of a QEMU's
 * heap and stacks: ~25 ms of the downtime here). */
static int copy_present(struct prefill *pf, const VmaEntry *v, uint64_t b,
			PagemapEntry *const *pme, size_t nr)
{
	void *p = mmap((void *)v->start, v->end - v->start,
		       PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS |
		       MAP_FIXED, -1, 0);

	if (p != (void *)v->start)
		return -1;
	for (size_t i = first_run(pme, nr, v->start); i < nr; i++) {
		const PagemapEntry *e = pme[i];

		if (e->vaddr >= v->end)
			break;
		if (e->flags & PE_PRESENT)
			memcpy((void *)e->vaddr,
			       pf->base + b + (e->vaddr - v->start),
			       (uint64_t)e->nr_pages * PAGE_SZ);
	}
	return 0;
}

/* One VMA: its address taken here first (a placeholder that fails if
 * anything of ours is there), then the held slice moved over it (or its
 * pages copied, see copy_present). */
static int take_vma(struct prefill *pf, const VmaEntry *v, uint64_t b,
		    PagemapEntry *const *pme, size_t nr,
		    struct page_source *src)
{
	uint64_t len = v->end - v->start;
	void *p;

	/* the VMA's tail may lie past what arrived: zero, but read-write */
	if (b + len > pf->reserved)
		return 0;
	if (b + len > pf->writable) {
		if (mprotect(pf->base + pf->writable, b + len - pf->writable,
			     PROT_READ | PROT_WRITE))
			return 0;
		pf->writable = b + len;
	}
	p = mmap((void *)v->start, len, PROT_NONE, MAP_PRIVATE |
		 MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
	if (p == MAP_FAILED || p != (void *)v->start) {
		if (p != MAP_FAILED)
			munmap(p, len);
		pr_info("prefill: [%#lx, %#lx) is taken in criu-lite here: "
			"restored the normal way", (long)v->start, (long)v->end);
		return 0;
	}
	if (fix_held(pf, v->start, v->end, b, pme, nr, src) ||
	    (can_move(pf, v) ?
	     mremap(pf->base + b, len, len, MREMAP_MAYMOVE | MREMAP_FIXED,
		    p) != p ||
	     /* the VMA's own huge pages from the clone on (the puppet
	      * advises it again: the same) */
	     ((v->madv & (1ULL << MADV_HUGEPAGE)) &&
	      madvise(p, len, MADV_HUGEPAGE)) :
	     copy_present(pf, v, b, pme, nr) ||
	     !++pf->nr_copied)) {
		pr_perror("prefill: put [%#lx, %#lx) in place", (long)v->start,
			  (long)v->end);
		munmap(p, len);
		return -1;
	}
	if (add_moved(pf, v->start, v->end, b)) {
		munmap(p, len);
		return -1;
	}
	/* held only here: now at the VMA's place (the buffer's is gone) */
	for (size_t pg = b / PAGE_SZ; pg < (b + len) / PAGE_SZ && pg < pf->cap;
	     pg++)
		if (pf->have[pg] == HELD_ONLY)
			pf->have[pg] = HELD_MOVED;
	return 0;
}

int prefill_take(struct prefill *pf, const MmEntry *mm,
		 PagemapEntry *const *pme, size_t nr, struct page_source *src)
{
	if (pf->off || !pf->base)
		return 0;
	for (size_t i = 0; i < mm->n_vmas; i++) {
		const VmaEntry *v = mm->vmas[i];
		uint64_t b;

		if (!vma_is_lazy(v) || (v->flags & MAP_GROWSDOWN) ||
		    prefill_match(v->start, v->end, pme, nr, pf->end, &b))
			continue;
		/* its slice of the buffer within the place of one tracked
		 * range the source named (none named: nothing taken): a VMA
		 * grown since pre-copy began (mremap, brk) would reach into
		 * the next range's place and take (and zero) its pages; it
		 * goes the normal way */
		if (!in_one_place(pf, b, v->end - v->start)) {
			pr_info("prefill: [%#lx, %#lx) is not the range it was "
				"when its pages were placed: restored the "
				"normal way", (long)v->start, (long)v->end);
			continue;
		}
		if (take_vma(pf, v, b, pme, nr, src)) {
			/* what was moved so far is dropped: the normal way,
			 * from the pages file */
			prefill_spill(pf);
			prefill_release(pf);
			pf->off = true;
			return -1;
		}
	}
	/* the rest of the buffer is of no use now (into the pages file what
	 * only it had: VMAs not taken, the other processes' pages): gone
	 * before the root's clone, which would copy its page tables */
	if (spill_buffer(pf)) {
		prefill_release(pf);
		pf->off = true;
		return -1;
	}
	munmap(pf->base, pf->reserved);
	pf->base = NULL;
	if (pf->nr_moved)
		pr_info("prefill: %zu VMA(s), %.1f MiB held in place (%zu of "
			"them copied: without the buffer's THP advice; %lu "
			"pages fixed from the pages file, %lu zeroed)",
			pf->nr_moved,
			pf->bytes_moved / 1048576.0, pf->nr_copied,
			(unsigned long)pf->pages_fixed,
			(unsigned long)pf->pages_zeroed);
	return 0;
}

static void unmap_ranges(const struct addr_range *r, size_t nr)
{
	for (size_t i = 0; i < nr; i++)
		munmap((void *)r[i].start, r[i].end - r[i].start);
}

static void *dropper_main(void *arg)
{
	struct prefill *pf = arg;

	unmap_ranges(pf->dropping, pf->nr_dropping);
	return NULL;
}

void prefill_keep_out_of_forks(struct prefill *pf)
{
	if (pf->base) {
		prefill_release(pf);
		return;
	}
	for (size_t i = 0; i < pf->nr_moved; i++) {
		void *at = (void *)pf->moved[i].start;
		size_t len = pf->moved[i].end - pf->moved[i].start;

		/* else a fork (a lazy-pages daemon's) would copy its page
		 * tables: unmapped now as before */
		if (madvise(at, len, MADV_DONTFORK)) {
			pr_perror("prefill: MADV_DONTFORK [%p, +%#zx)", at, len);
			prefill_release(pf);
			return;
		}
	}
}

void prefill_drop_behind(struct prefill *pf)
{
	sigset_t all, old;

	if (pf->base || !pf->nr_moved) {
		prefill_release(pf);
		return;
	}
	pf->dropping = pf->moved;
	pf->nr_dropping = pf->nr_moved;
	pf->moved = NULL;
	pf->nr_moved = 0;
	/* no signal of the tree's restore lands on the thread */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	if (pthread_create(&pf->dropper, NULL, dropper_main, pf)) {
		unmap_ranges(pf->dropping, pf->nr_dropping);
		free(pf->dropping);
		pf->dropping = NULL;
		pf->nr_dropping = 0;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

void prefill_release(struct prefill *pf)
{
	if (pf->dropping) {
		pthread_join(pf->dropper, NULL);
		free(pf->dropping);
		pf->dropping = NULL;
		pf->nr_dropping = 0;
	}
	for (size_t i = 0; i < pf->nr_moved; i++)
		munmap((void *)pf->moved[i].start,
		       pf->moved[i].end - pf->moved[i].start);
	free(pf->moved);
	free(pf->moved_off);
	pf->moved = NULL;
	pf->moved_off = NULL;
	pf->nr_moved = 0;
	if (pf->spill_fd >= 0)
		close(pf->spill_fd);
	pf->spill_fd = -1;
	free(pf->only);
	pf->only = NULL;
	pf->nr_only = 0;
	if (pf->base)
		munmap(pf->base, pf->reserved);
	pf->base = NULL;
	free(pf->sums);
	free(pf->have);
	pf->sums = NULL;
	pf->have = NULL;
	pf->cap = 0;
}
