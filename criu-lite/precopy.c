// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#include "inject.h"
#include "log.h"
#include "page-xfer.h"
#include "pagemap.h"
#include "precopy.h"
#include "progress.h"
#include "seize.h"

/*
 * What the tracked ranges hold now, listed before the tracker arms them:
 * uffd-wp with WP_UNPOPULATED then puts a marker in every empty PTE, and
 * PAGEMAP_SCAN reports markers as swapped pages, so a scan afterwards
 * cannot tell 1 GiB of untouched TCG buffer from memory (round 0 read
 * 456k pages of a 512 MiB guest, 130k of them real). The empty pages are
 * zero and stay so unless written, which the tracker then reports: they
 * are recorded as zero (slot 1) without being read.
 */
static int list_populated(struct pc_proc *pc)
{
	char path[64];
	int fd, ret = 0;

	snprintf(path, sizeof(path), "/proc/%d/pagemap", pc->pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		pr_perror("open %s", path);
		return -1;
	}
	for (size_t i = 0; i < pc->nr && !ret; i++) {
		struct pc_range *r = &pc->r[i];
		struct page_region *reg, *all;
		size_t n, pages = (r->end - r->start) / PAGE_SZ;

		ret = scan_owned_pages(fd, r->start, r->end, &reg, &n);
		if (ret)
			break;
		for (size_t p = 0; p < pages; p++)
			r->slot[p] = 1;
		for (size_t k = 0; k < n; k++)
			for (uint64_t a = reg[k].start; a < reg[k].end; a += PAGE_SZ)
				r->slot[(a - r->start) / PAGE_SZ] = 0;
		all = realloc(pc->populated, (pc->nr_populated + n + 1) *
			      sizeof(*all));
		if (!all) {
			free(reg);
			ret = -1;
			break;
		}
		memcpy(all + pc->nr_populated, reg, n * sizeof(*reg));
		pc->populated = all;
		pc->nr_populated += n;
		free(reg);
	}
	close(fd);
	return ret;
}

int pc_start(struct pc_proc *pc, pid_t pid, int uffd,
	     const struct dirty_tracker_ops *ops,
	     const struct vma_info *vmas, size_t nr)
{
	struct dirty_range *dr;
	struct dirty_track_args a = { .pid = pid, .uffd = uffd };
	int ret;

	memset(pc, 0, sizeof(*pc));
	pc->pid = pid;
	pc->r = calloc(nr, sizeof(*pc->r));
	dr = calloc(nr, sizeof(*dr));
	if (!pc->r || !dr) {
		free(dr);
		if (uffd >= 0)
			close(uffd);
		return -1;
	}
	for (size_t i = 0; i < nr; i++) {
		const struct vma_info *v = &vmas[i];
		struct pc_range *r;
		size_t pages;

		/* private anonymous memory: where a guest's RAM lives (not
		 * droppable memory: no userfaultfd, nothing stored) */
		if (v->shared || v->path[0] == '/' || !strcmp(v->path, "[vsyscall]") ||
		    !strncmp(v->path, "[v", 2) ||
		    (v->vmflags & (VMF_IO | VMF_PFNMAP | VMF_DROPPABLE)))
			continue;
		r = &pc->r[pc->nr];
		pages = (v->end - v->start) / PAGE_SZ;
		r->start = v->start;
		r->end = v->end;
		r->slot = calloc(pages, sizeof(uint64_t));
		r->csum = calloc(pages, sizeof(uint32_t));
		if (!r->slot || !r->csum) {
			free(r->slot);
			free(r->csum);
			free(dr);
			if (uffd >= 0)
				close(uffd);
			return -1;
		}
		dr[pc->nr].start = v->start;
		dr[pc->nr].end = v->end;
		pc->nr++;
	}
	a.ranges = dr;
	a.nr_ranges = pc->nr;
	if (list_populated(pc)) {
		free(dr);
		if (uffd >= 0)
			close(uffd);
		return -1;
	}
	ret = dirty_tracker_start(&pc->t, ops, &a);
	free(dr);
	if (ret) {
		errno = -ret;
		pr_perror("pid %d: start dirty tracking (%s)", pid, ops->name);
		return -1;
	}
	pc->tracking = true;
	return 0;
}

static struct pc_range *range_of(const struct pc_proc *pc, uint64_t addr)
{
	for (size_t i = 0; i < pc->nr; i++)
		if (addr >= pc->r[i].start && addr < pc->r[i].end)
			return &pc->r[i];
	return NULL;
}

/* Where each copied page went: run by run, as the reader stores them. */
static int pc_record(void *arg, const struct page_run *run)
{
	struct pc_proc *pc = arg;
	struct pc_range *r = NULL;

	for (uint32_t i = 0; i < run->nr_pages; i++) {
		uint64_t a = run->vaddr + (uint64_t)i * PAGE_SZ;
		size_t idx;

		if (!r || a < r->start || a >= r->end)
			r = range_of(pc, a);
		if (!r)
			continue;	/* not tracked: nothing to keep */
		idx = (a - r->start) / PAGE_SZ;
		if (run->flags & PE_PRESENT) {
			r->slot[idx] = run->offset + (uint64_t)i * PAGE_SZ + 2;
			r->csum[idx] = run->page_csums[i];
		} else {
			r->slot[idx] = 1;	/* zero now */
		}
	}
	return 0;
}

/*
 * Copies the regions of the running process into the transfer and
 * records where each page went. A page written while it is being read is
 * reported dirty by the next collect, so a torn copy is never kept.
 */
static int copy_regions(struct pc_proc *pc, struct page_xfer *x,
			const struct page_region *reg, size_t nr,
			uint64_t *pages)
{
	struct run_builder rb;
	int ret;

	xfer_run_builder_init(&rb, x, pc_record, pc);
	ret = xfer_read_regions(x, pc->pid, reg, nr, &rb);
	if (!ret)
		ret = run_builder_finish(&rb);
	run_builder_release(&rb);
	for (size_t i = 0; i < nr; i++)
		*pages += (reg[i].end - reg[i].start) / PAGE_SZ;
	return ret;
}

int pc_copy_all(struct pc_proc *pc, struct page_xfer *x, uint64_t *pages)
{
	int ret = copy_regions(pc, x, pc->populated, pc->nr_populated, pages);

	free(pc->populated);
	pc->populated = NULL;
	pc->nr_populated = 0;
	return ret;
}

int pc_copy_dirty(struct pc_proc *pc, struct page_xfer *x, uint64_t *pages)
{
	struct page_region *reg;
	size_t n;
	int ret = dirty_tracker_collect(&pc->t, &reg, &n);

	if (ret) {
		errno = -ret;
		pr_perror("pid %d: collect written pages", pc->pid);
		return -1;
	}
	return copy_regions(pc, x, reg, n, pages);	/* reg: the tracker's */
}

int pc_final_collect(struct pc_proc *pc)
{
	struct page_region *reg;
	size_t n;
	int ret = dirty_tracker_collect(&pc->t, &reg, &n);

	if (ret) {
		errno = -ret;
		pr_perror("pid %d: collect written pages", pc->pid);
		return -1;
	}
	pc->final_dirty = malloc((n ? n : 1) * sizeof(*reg));
	if (!pc->final_dirty)
		return -1;
	memcpy(pc->final_dirty, reg, n * sizeof(*reg));
	pc->nr_final_dirty = n;
	return 0;
}

static bool dirty_at(const struct pc_proc *pc, uint64_t addr, uint64_t *until)
{
	size_t lo = 0, hi = pc->nr_final_dirty;

	/* first region ending after addr */
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (pc->final_dirty[mid].end <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == pc->nr_final_dirty) {
		*until = UINT64_MAX;
		return false;
	}
	if (pc->final_dirty[lo].start <= addr) {
		*until = pc->final_dirty[lo].end;
		return true;
	}
	*until = pc->final_dirty[lo].start;
	return false;
}

uint64_t pc_piece(const struct pc_proc *pc, uint64_t addr, uint64_t end,
		  bool *reuse)
{
	const struct pc_range *r = range_of(pc, addr);
	uint64_t until, a;
	bool dirty;

	if (!r) {
		*reuse = false;
		for (a = addr; a < end && !range_of(pc, a); a += PAGE_SZ)
			;
		return a - addr;
	}
	if (end > r->end)
		end = r->end;
	dirty = dirty_at(pc, addr, &until);
	if (until < end)
		end = until;
	*reuse = !dirty && r->slot[(addr - r->start) / PAGE_SZ];
	for (a = addr + PAGE_SZ; a < end; a += PAGE_SZ)
		if (!r->slot[(a - r->start) / PAGE_SZ] != !*reuse && !dirty)
			break;
	return a - addr;
}

void pc_slot(const struct pc_proc *pc, uint64_t addr, uint64_t *slot,
	     uint32_t *csum)
{
	const struct pc_range *r = range_of(pc, addr);
	size_t idx = (addr - r->start) / PAGE_SZ;

	*slot = r->slot[idx];
	*csum = r->csum[idx];
}

bool pc_tracks(const struct pc_proc *pc, uint64_t addr)
{
	return range_of(pc, addr) != NULL;
}

void pc_free(struct pc_proc *pc)
{
	if (pc->tracking)
		dirty_tracker_stop(&pc->t);
	pc->tracking = false;
	for (size_t i = 0; i < pc->nr; i++) {
		free(pc->r[i].slot);
		free(pc->r[i].csum);
	}
	free(pc->r);
	free(pc->final_dirty);
	free(pc->populated);
	memset(pc, 0, sizeof(*pc));
}

/*
 * The final dump of a tracked VMA: pages whose copy from an earlier round
 * is still good are referenced where they are in the pages file; only the
 * rest is read now.
 */
int pc_dump_regions(const struct pc_proc *pc, struct page_xfer *x,
		    const struct page_region *regs, size_t nr,
		    struct run_builder *rb)
{
	struct page_region *fresh = NULL;
	size_t nf = 0, cap = 0;
	int ret = 0;

	for (size_t i = 0; i < nr && !ret; i++) {
		for (uint64_t a = regs[i].start; a < regs[i].end && !ret;) {
			bool reuse;
			uint64_t len = pc_piece(pc, a, regs[i].end, &reuse);

			if (!reuse) {
				if (nf && fresh[nf - 1].end == a) {
					fresh[nf - 1].end += len;
				} else {
					if (nf == cap) {
						void *n = realloc(fresh, (cap = cap ? 2 * cap : 64) *
								  sizeof(*fresh));
						if (!n) {
							ret = -1;
							break;
						}
						fresh = n;
					}
					fresh[nf].start = a;
					fresh[nf++].end = a + len;
				}
				a += len;
				continue;
			}
			if (nf) {
				ret = xfer_read_regions(x, pc->pid, fresh, nf, rb);
				nf = 0;
			}
			for (uint64_t p = a; p < a + len && !ret; p += PAGE_SZ) {
				uint64_t slot;
				uint32_t csum;

				pc_slot(pc, p, &slot, &csum);
				ret = slot == 1 ?
					run_builder_add_flagged(rb, p, 1, PE_ZERO) :
					run_builder_add_stored(rb, p, 1, slot - 2, &csum);
				x->st->pages_reused++;
				progress_add(x->progress, 1, 0);
			}
			a += len;
		}
	}
	if (!ret && nf)
		ret = xfer_read_regions(x, pc->pid, fresh, nf, rb);
	free(fresh);
	return ret;
}
