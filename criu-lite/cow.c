// SPDX-License-Identifier: GPL-2.0
/* Copy-on-write sharing between a process and its parent (cow.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cow.h"
#include "log.h"
#include "mem.h"
#include "pagemap.h"

/* /proc/PID/pagemap entry bits (Documentation/admin-guide/mm/pagemap.rst) */
#define PM_PRESENT	(1ULL << 63)
#define PM_SWAP		(1ULL << 62)
#define PM_GUARD	(1ULL << 58)	/* a guard region marker (6.14) */
#define PM_FRAME	((1ULL << 55) - 1)	/* PFN, or swap type and offset */
#define PM_CHUNK	8192		/* entries read at once */

enum { COW_NONE, COW_READY, COW_FAILED };

static const uint8_t zero_page[PAGE_SZ];	/* a zero run's data */

/* ---- dump ---- */

static bool shareable_entry(const VmaEntry *v)
{
	return v->kind == VMA_KIND__VMA_ANON_PRIVATE && !(v->flags & MAP_GROWSDOWN);
}

static bool shareable_info(const struct vma_info *v)
{
	const char *why;

	return vma_kind_of(v, &why) == VMA_KIND__VMA_ANON_PRIVATE &&
	       !(v->vmflags & VMF_GROWSDOWN);
}

/*
 * The same page in both entries: the same page frame (root reads PFNs;
 * without CAP_SYS_ADMIN they read 0 and nothing is taken as shared), or
 * the same swap slot of a page swapped out while shared.
 */
static bool same_page(uint64_t a, uint64_t b)
{
	if ((a | b) & PM_GUARD)
		return false;
	if ((a & PM_PRESENT) && (b & PM_PRESENT))
		return (a & PM_FRAME) && (a & PM_FRAME) == (b & PM_FRAME);
	if ((a & PM_SWAP) && (b & PM_SWAP) && !((a | b) & PM_PRESENT))
		return (a & PM_FRAME) && (a & PM_FRAME) == (b & PM_FRAME);
	return false;
}

/* A new range: never merged with the last one, which may be of the VMA
 * before (ranges do not span VMAs). */
static int add_range(PageRange ***v, size_t *n, uint64_t start, uint64_t end)
{
	PageRange **nv, *r;

	nv = realloc(*v, (*n + 1) * sizeof(*nv));
	r = malloc(sizeof(*r));
	if (nv)
		*v = nv;
	if (!nv || !r) {
		free(r);
		return -1;
	}
	page_range__init(r);
	r->start = start;
	r->end = end;
	(*v)[(*n)++] = r;
	return 0;
}

static int read_entries(int fd, uint64_t addr, uint64_t *buf, size_t n,
			pid_t pid)
{
	ssize_t len = n * sizeof(*buf);

	if (pread(fd, buf, len, addr / PAGE_SZ * sizeof(*buf)) != len) {
		pr_perror("read /proc/%d/pagemap at %#lx", pid, (long)addr);
		return -1;
	}
	return 0;
}

/* The shared pages of one VMA both have, appended to out. */
static int scan_vma_pair(int cfd, int pfd, pid_t pid, pid_t ppid,
			 const struct vma_info *v, struct cow_ranges *out,
			 uint64_t *bufs)
{
	uint64_t *c = bufs, *p = bufs + PM_CHUNK;
	bool last = false;	/* the previous page was shared */

	for (uint64_t at = v->start; at < v->end;) {
		size_t n = (v->end - at) / PAGE_SZ;

		if (n > PM_CHUNK)
			n = PM_CHUNK;
		if (read_entries(cfd, at, c, n, pid) ||
		    read_entries(pfd, at, p, n, ppid))
			return -1;
		for (size_t i = 0; i < n; i++, at += PAGE_SZ) {
			bool shared = same_page(c[i], p[i]);

			/* a new range at each VMA's first shared page */
			if (shared && !last &&
			    add_range(&out->v, &out->n, at, at + PAGE_SZ))
				return -1;
			if (shared && last)
				out->v[out->n - 1]->end += PAGE_SZ;
			last = shared;
		}
	}
	return 0;
}

static int open_pagemap(pid_t pid)
{
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/pagemap", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		pr_perror("open %s", path);
	return fd;
}

int find_cow_shared(pid_t pid, const struct vma_info *vmas, size_t n,
		    pid_t ppid, const struct vma_info *pv, size_t npv,
		    struct cow_ranges *out)
{
	uint64_t *bufs = NULL;
	int cfd = -1, pfd = -1, ret = -1;

	for (size_t i = 0, k = 0; i < n; i++) {
		const struct vma_info *v = &vmas[i];

		if (!shareable_info(v))
			continue;
		while (k < npv && pv[k].end <= v->start)
			k++;	/* both lists are sorted by address */
		if (k == npv || pv[k].start != v->start || pv[k].end != v->end ||
		    !shareable_info(&pv[k]))
			continue;
		if (!bufs) {
			bufs = malloc(2 * PM_CHUNK * sizeof(*bufs));
			cfd = open_pagemap(pid);
			pfd = open_pagemap(ppid);
			if (!bufs || cfd < 0 || pfd < 0)
				goto out;
		}
		if (scan_vma_pair(cfd, pfd, pid, ppid, v, out, bufs))
			goto out;
	}
	ret = 0;
out:
	if (cfd >= 0)
		close(cfd);
	if (pfd >= 0)
		close(pfd);
	free(bufs);
	return ret;
}

void free_cow_ranges(struct cow_ranges *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->v[i]);
	free(r->v);
	r->v = NULL;
	r->n = 0;
}

/* ---- restore: the plan ---- */

static const VmaEntry *vma_same(const MmEntry *mm, const VmaEntry *v)
{
	for (size_t i = 0; i < mm->n_vmas; i++)
		if (mm->vmas[i]->start == v->start && mm->vmas[i]->end == v->end)
			return mm->vmas[i];
	return NULL;
}

int check_cow_shared(const MmEntry *mm, unsigned pid)
{
	uint64_t prev_end = 0;

	for (size_t i = 0; i < mm->n_cow_shared; i++) {
		const PageRange *r = mm->cow_shared[i];
		const VmaEntry *v = mm_vma_holding(mm, r->start, r->end);

		if (r->start < prev_end || r->start >= r->end ||
		    (r->start | r->end) % PAGE_SZ || !v || !shareable_entry(v)) {
			pr_err("mm-%u.img: copy-on-write range %zu [%#lx, %#lx) "
			       "is out of order, malformed or not inside one "
			       "anonymous VMA", pid, i, (long)r->start,
			       (long)r->end);
			return -1;
		}
		prev_end = r->end;
	}
	return 0;
}

/* The stored data of the page at addr of a process: its run's data, a
 * zero page for a zero run; NULL when it has none. */
static const uint8_t *page_data(const struct cow_tree *t,
				const struct cow_proc *p, uint64_t addr)
{
	size_t lo = 0, hi = p->nr_pme;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		const PagemapEntry *e = p->pme[mid];
		uint64_t end = e->vaddr + (uint64_t)e->nr_pages * PAGE_SZ;

		if (addr < e->vaddr) {
			hi = mid;
		} else if (addr >= end) {
			lo = mid + 1;
		} else if (e->flags & PE_PRESENT) {
			uint64_t off = e->offset + (addr - e->vaddr);

			return off + PAGE_SZ <= t->size ? t->data + off : NULL;
		} else {
			return e->flags & PE_ZERO ? zero_page : NULL;
		}
	}
	return NULL;
}

static struct cow_vma *plan_vma(struct cow_proc *p, const VmaEntry *v)
{
	struct cow_vma *nv;

	for (size_t i = 0; i < p->nr_vmas; i++)
		if (p->vmas[i].start == v->start)
			return &p->vmas[i];
	nv = realloc(p->vmas, (p->nr_vmas + 1) * sizeof(*nv));
	if (!nv)
		return NULL;
	p->vmas = nv;
	nv = &p->vmas[p->nr_vmas++];
	memset(nv, 0, sizeof(*nv));
	nv->start = v->start;
	nv->end = v->end;
	return nv;
}

static int add_inherit(struct cow_vma *cv, uint64_t addr)
{
	struct addr_range *nv;

	if (cv->nr_inherit && cv->inherit[cv->nr_inherit - 1].end == addr) {
		cv->inherit[cv->nr_inherit - 1].end += PAGE_SZ;
		return 0;
	}
	nv = realloc(cv->inherit, (cv->nr_inherit + 1) * sizeof(*nv));
	if (!nv)
		return -1;
	cv->inherit = nv;
	cv->inherit[cv->nr_inherit++] = (struct addr_range){ addr, addr + PAGE_SZ };
	return 0;
}

/*
 * The pages of range r of process x that it keeps from its parent: listed
 * as shared at dump, and (whatever the page frames said) stored with the
 * very bytes of the parent's page there. Returns how many, or -1.
 */
static long plan_range(struct cow_tree *t, struct cow_proc *x,
		       const PageRange *r)
{
	struct cow_proc *par = &t->procs[x->parent];
	const VmaEntry *v = mm_vma_holding(x->mm, r->start, r->end);
	const VmaEntry *pv = v ? vma_same(par->mm, v) : NULL;
	struct cow_vma *cv = NULL, *pcv = NULL;
	long n = 0;

	if (!v || !pv || !shareable_entry(v) || !shareable_entry(pv))
		return 0;
	for (uint64_t at = r->start; at < r->end; at += PAGE_SZ) {
		const uint8_t *mine = page_data(t, x, at);
		const uint8_t *theirs = page_data(t, par, at);

		if (!mine || !theirs || memcmp(mine, theirs, PAGE_SZ))
			continue;
		if (!cv) {
			cv = plan_vma(x, v);
			pcv = plan_vma(par, pv);
			if (!cv || !pcv)
				return -1;
			cv->adopt = true;
			pcv->for_children = true;
		}
		if (add_inherit(cv, at))
			return -1;
		n++;
	}
	return n;
}

static int cmp_cow_vma(const void *a, const void *b)
{
	const struct cow_vma *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/* Slots for every planned VMA; an adopting one knows its parent's. */
static void assign_slots(struct cow_tree *t)
{
	t->nr_slots = 0;
	for (size_t i = 0; i < t->nr; i++) {
		struct cow_proc *p = &t->procs[i];

		if (p->nr_vmas)
			qsort(p->vmas, p->nr_vmas, sizeof(*p->vmas), cmp_cow_vma);
		for (size_t k = 0; k < p->nr_vmas; k++)
			p->vmas[k].slot = t->nr_slots++;
	}
	for (size_t i = 0; i < t->nr; i++) {
		struct cow_proc *p = &t->procs[i];

		for (size_t k = 0; k < p->nr_vmas; k++) {
			const struct cow_proc *par;

			if (!p->vmas[k].adopt)
				continue;
			par = &t->procs[p->parent];
			for (size_t j = 0; j < par->nr_vmas; j++)
				if (par->vmas[j].start == p->vmas[k].start)
					p->vmas[k].parent_slot = par->vmas[j].slot;
		}
	}
}

int cow_plan(struct cow_tree *t)
{
	uint64_t pages = 0;

	for (size_t i = 0; i < t->nr; i++) {
		struct cow_proc *x = &t->procs[i];

		if (x->skip || x->parent < 0 || t->procs[x->parent].skip)
			continue;
		for (size_t r = 0; r < x->mm->n_cow_shared; r++) {
			long n = plan_range(t, x, x->mm->cow_shared[r]);

			if (n < 0)
				return -1;
			pages += n;
		}
	}
	assign_slots(t);
	if (!t->nr_slots)
		return 0;
	t->status = mmap(NULL, t->nr_slots, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (t->status == MAP_FAILED) {
		t->status = NULL;
		pr_perror("map the copy-on-write status table");
		return -1;
	}
	pr_info("copy-on-write: %lu pages to keep shared with a parent; %zu "
		"VMAs made or adopted by the puppets before they fork",
		(unsigned long)pages, t->nr_slots);
	return 0;
}

/* ---- restore: in the puppet ---- */

/* Writes the process' stored pages of the VMA (but the kept ones): over
 * zeros, so zero runs need nothing. */
static void write_own_pages(const struct cow_tree *t, const struct cow_proc *x,
			    const struct cow_vma *cv, bool skip_kept)
{
	size_t k = 0;

	for (uint64_t at = cv->start; at < cv->end; at += PAGE_SZ) {
		const uint8_t *d;

		while (skip_kept && k < cv->nr_inherit && cv->inherit[k].end <= at)
			k++;
		if (skip_kept && k < cv->nr_inherit && at >= cv->inherit[k].start)
			continue;
		d = page_data(t, x, at);
		if (d && d != zero_page)
			memcpy((void *)at, d, PAGE_SZ);
	}
}

/* The parent's VMA, now ours: what is not kept goes, ours goes in. */
static int adopt_vma(const struct cow_tree *t, const struct cow_proc *x,
		     const struct cow_vma *cv)
{
	uint64_t at = cv->start;

	for (size_t k = 0; k <= cv->nr_inherit; k++) {
		uint64_t gap_end = k < cv->nr_inherit ? cv->inherit[k].start : cv->end;

		if (gap_end > at && madvise((void *)at, gap_end - at, MADV_DONTNEED))
			return COW_FAILED;
		if (k < cv->nr_inherit)
			at = cv->inherit[k].end;
	}
	write_own_pages(t, x, cv, true);
	return COW_READY;
}

/* A VMA of ours that children will keep pages of: made and filled now. */
static int make_vma(const struct cow_tree *t, const struct cow_proc *x,
		    const struct cow_vma *cv)
{
	size_t len = cv->end - cv->start;
	void *p = mmap((void *)cv->start, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);

	if (p == MAP_FAILED)
		return COW_FAILED;	/* taken in this puppet: rebuilt later */
	if (p != (void *)cv->start) {	/* a kernel without NOREPLACE */
		munmap(p, len);
		return COW_FAILED;
	}
	write_own_pages(t, x, cv, false);
	return COW_READY;
}

static const struct cow_vma *find_vma(const struct cow_proc *p, uint64_t start)
{
	for (size_t k = 0; k < p->nr_vmas; k++)
		if (p->vmas[k].start == start)
			return &p->vmas[k];
	return NULL;
}

void cow_prepare(const struct cow_tree *t, size_t idx)
{
	const struct cow_proc *x = &t->procs[idx];

	if (!t->status)
		return;
	/* what the parent made for a sibling, or for itself: not ours */
	if (x->parent >= 0) {
		const struct cow_proc *par = &t->procs[x->parent];

		for (size_t k = 0; k < par->nr_vmas; k++) {
			const struct cow_vma *pv = &par->vmas[k];
			const struct cow_vma *mine = find_vma(x, pv->start);

			if (t->status[pv->slot] == COW_READY &&
			    !(mine && mine->adopt))
				munmap((void *)pv->start, pv->end - pv->start);
		}
	}
	for (size_t k = 0; k < x->nr_vmas; k++) {
		const struct cow_vma *cv = &x->vmas[k];
		int st = COW_NONE;

		if (cv->adopt && t->status[cv->parent_slot] == COW_READY)
			st = adopt_vma(t, x, cv);
		else if (cv->for_children)
			st = make_vma(t, x, cv);
		/* an adopted VMA the parent could not make is not there */
		t->status[cv->slot] = st;
	}
}

int cow_ready(const struct cow_tree *t, size_t idx, struct addr_range **out,
	      size_t *nr)
{
	const struct cow_proc *x = &t->procs[idx];

	*out = NULL;
	*nr = 0;
	if (!t->status || !x->nr_vmas)
		return 0;
	*out = calloc(x->nr_vmas, sizeof(**out));
	if (!*out)
		return -1;
	for (size_t k = 0; k < x->nr_vmas; k++) {
		const struct cow_vma *cv = &x->vmas[k];

		if (t->status[cv->slot] == COW_READY)
			(*out)[(*nr)++] = (struct addr_range){ cv->start, cv->end };
		else if (t->status[cv->slot] == COW_FAILED)
			pr_info("restore: [%#lx, %#lx) could not be made before "
				"the fork: its pages are not shared",
				(long)cv->start, (long)cv->end);
	}
	return 0;
}

void cow_free(struct cow_tree *t)
{
	for (size_t i = 0; i < t->nr; i++) {
		for (size_t k = 0; k < t->procs[i].nr_vmas; k++)
			free(t->procs[i].vmas[k].inherit);
		free(t->procs[i].vmas);
	}
	free(t->procs);
	if (t->status)
		munmap(t->status, t->nr_slots);
	memset(t, 0, sizeof(*t));
}
