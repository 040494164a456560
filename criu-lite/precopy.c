// SPDX-License-Identifier: GPL-2.0
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#include "inject.h"
#include "layers.h"
#include "log.h"
#include "mem-tracker.h"
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
 * are recorded as empty (SLOT_EMPTY) without being read, and a final
 * dump lists them as a plain dump does: not at all (a PE_ZERO run only
 * where a parent layer has the page: the layer below must not show
 * through). Listing them zero made the 512 MiB guest's final dump claim
 * 530k pages, 400k of them never touched, and --verify read them all.
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
			r->slot[p] = SLOT_EMPTY;
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

/*
 * Pinned pages change without a write fault. io_uring's registered
 * buffers (and its rings in user memory), RDMA and the like hold the
 * pages with FOLL_LONGTERM pins and the kernel writes into them through
 * its own reference, not through the page table. The pin takes a write
 * fault once, when it is made; after the next collect re-protects the
 * page (PM_SCAN_WP_MATCHING does not skip pinned pages, unlike
 * soft-dirty's clear_refs) the kernel's writes are never reported
 * (measured, 6.18: a READ_FIXED into a registered buffer after a collect
 * is not in the next one). Such pins are counted in /proc/PID/status
 * VmPin: a process with any there around a collect is untrusted from
 * then on, and nothing of it is taken from an earlier copy (a round's,
 * or the parent layer's); a status that cannot be read counts as pinned.
 * Short pins (an O_DIRECT read in flight) are not counted there: a
 * process with an O_DIRECT fd is untrusted likewise (odirect_fd).
 */
/*
 * An fd open with O_DIRECT: a read through it lands in the buffer by DMA
 * under a short pin taken when the read starts (the write fault then is
 * reported, at a collect that may come before the data): the data that
 * arrives after it is never reported. VmPin does not count such pins, so
 * a process holding an O_DIRECT fd around a collect is untrusted too (QEMU
 * with cache=none). The fd number, or -1 if none; an fdinfo directory that
 * cannot be read counts as one.
 */
static int odirect_fd(pid_t pid)
{
	char path[320], line[128];
	struct dirent *de;
	DIR *d;
	int found = -1;

	snprintf(path, sizeof(path), "/proc/%d/fdinfo", pid);
	d = opendir(path);
	if (!d)
		return INT_MAX;
	while (found < 0 && (de = readdir(d))) {
		FILE *f;

		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/fdinfo/%s", pid,
			 de->d_name);
		f = fopen(path, "re");
		while (f && fgets(line, sizeof(line), f))
			if (!strncmp(line, "flags:", 6)) {
				if (strtoul(line + 6, NULL, 8) & O_DIRECT)
					found = atoi(de->d_name);
				break;
			}
		if (f)
			fclose(f);
	}
	closedir(d);
	return found;
}

/* MiB of pc's tracked memory present now: what the freeze will read
 * whole once pc is untrusted (-1: the pagemap can't be read). */
static double pc_present_mib(const struct pc_proc *pc)
{
	char path[64];
	uint64_t bytes = 0;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/pagemap", pc->pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	for (size_t i = 0; i < pc->nr; i++) {
		struct page_region *reg;
		size_t n;

		if (scan_owned_pages(fd, pc->r[i].start, pc->r[i].end, &reg,
				     &n)) {
			close(fd);
			return -1;
		}
		for (size_t k = 0; k < n; k++)
			bytes += reg[k].end - reg[k].start;
		free(reg);
	}
	close(fd);
	return bytes / 1048576.0;
}

/* "N MiB", or a word when unknown, of what pc's freeze reads whole */
static const char *frozen_read(const struct pc_proc *pc, char *buf,
			       size_t len)
{
	double mib = pc_present_mib(pc);

	if (mib < 0)
		snprintf(buf, len, "all of its private memory");
	else
		snprintf(buf, len, "%.1f MiB (its private memory now)", mib);
	return buf;
}

static void pc_check_pins(struct pc_proc *pc, const char *when)
{
	char mib[64];
	char path[64], line[128];
	long long kb = -1;
	FILE *f;
	int fd;

	if (pc->pinned)
		return;
	fd = odirect_fd(pc->pid);
	if (fd >= 0) {
		pc->pinned = true;
		if (fd == INT_MAX)
			pr_warn("pid %d: its fdinfo can't be read %s: its memory "
				"is read whole, as if an fd had O_DIRECT: %s "
				"will be read with the tree frozen", pc->pid,
				when, frozen_read(pc, mib, sizeof(mib)));
		else
			pr_warn("pid %d: fd %d is open with O_DIRECT %s: a read "
				"through it writes by DMA without a write fault, "
				"so none of its memory is taken from an earlier "
				"copy: %s will be read with the tree frozen",
				pc->pid, fd, when,
				frozen_read(pc, mib, sizeof(mib)));
		return;
	}
	snprintf(path, sizeof(path), "/proc/%d/status", pc->pid);
	f = fopen(path, "re");
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "VmPin:", 6)) {
			kb = strtoll(line + 6, NULL, 10);
			break;
		}
	if (f)
		fclose(f);
	if (!kb)
		return;
	pc->pinned = true;
	if (kb < 0)
		pr_warn("pid %d: no VmPin in %s %s: its memory is read whole, "
			"as if pinned: %s will be read with the tree frozen",
			pc->pid, path, when, frozen_read(pc, mib, sizeof(mib)));
	else
		pr_warn("pid %d: %lld KiB of pinned memory %s (io_uring "
			"registered buffers, RDMA...): the kernel writes into "
			"pinned pages without a write fault, so none of its "
			"memory is taken from an earlier copy: %s will be read "
			"with the tree frozen", pc->pid, kb, when,
			frozen_read(pc, mib, sizeof(mib)));
}

bool pc_trusted(const struct pc_proc *pc)
{
	return !pc->pinned;
}

/* Private anonymous memory: what pc_start tracks (not droppable memory:
 * no userfaultfd, nothing stored). */
static bool vma_is_tracked_kind(const struct vma_info *v)
{
	return !v->shared && v->path[0] != '/' && strncmp(v->path, "[v", 2) &&
	       !(v->vmflags & (VMF_IO | VMF_PFNMAP | VMF_DROPPABLE));
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

		/* private anonymous memory: where a guest's RAM lives */
		if (!vma_is_tracked_kind(v))
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
	pc_check_pins(pc, "when tracking started");
	ret = dirty_tracker_start(&pc->t, ops, &a);
	free(dr);
	if (ret) {
		errno = -ret;
		pr_perror("pid %d: start dirty tracking (%s)", pid, ops->name);
		return -1;
	}
	pc->tracking = true;
	pc_check_pins(pc, "when tracking started");
	return 0;
}

int pc_resume(struct pc_proc *pc, pid_t pid, const struct dirty_tracker_ops *ops,
	      struct tracked_proc *tp)
{
	struct dirty_track_args a = { .pid = pid, .uffd = tp->uffd,
				      .ranges = tp->ranges,
				      .nr_ranges = tp->nr_ranges };
	int ret;

	memset(pc, 0, sizeof(*pc));
	pc->pid = pid;
	tp->uffd = -1;		/* the tracker's from here on, whatever happens */
	pc->r = calloc(tp->nr_ranges ? tp->nr_ranges : 1, sizeof(*pc->r));
	if (!pc->r) {
		if (a.uffd >= 0)
			close(a.uffd);
		return -1;
	}
	/* nothing copied in this dump yet: no slots */
	for (size_t i = 0; i < tp->nr_ranges; i++) {
		pc->r[i].start = tp->ranges[i].start;
		pc->r[i].end = tp->ranges[i].end;
	}
	pc->nr = tp->nr_ranges;
	ret = dirty_tracker_resume(&pc->t, ops, &a);
	if (ret) {
		errno = -ret;
		pr_perror("pid %d: take over dirty tracking (%s)", pid, ops->name);
		return -1;
	}
	pc->tracking = true;
	return 0;
}

void pc_set_parent(struct pc_proc *pc, struct parent_index *ix)
{
	parent_index_free(&pc->parent);
	pc->parent = *ix;
	pc->has_parent = true;
	memset(ix, 0, sizeof(*ix));
}

int pc_export(const struct pc_proc *pc, struct tracked_proc *tp)
{
	const struct dirty_range *r;
	size_t n;

	memset(tp, 0, sizeof(*tp));
	tp->pid = pc->pid;
	tp->uffd = pc->t.uffd;	/* still pc's: the caller does not close it */
	if (proc_start_time(pc->pid, &tp->start_time))
		return -1;
	r = dirty_tracker_ranges(&pc->t, &n);
	tp->ranges = malloc((n ? n : 1) * sizeof(*r));
	if (!tp->ranges)
		return -1;
	memcpy(tp->ranges, r, n * sizeof(*r));
	tp->nr_ranges = n;
	return 0;
}

static struct pc_range *range_of(const struct pc_proc *pc, uint64_t addr)
{
	for (size_t i = 0; i < pc->nr; i++)
		if (addr >= pc->r[i].start && addr < pc->r[i].end)
			return &pc->r[i];
	return NULL;
}

/* Places keep the address's offset in a huge page: the destination holds
 * the pages file in memory by offset (prefill.h) and moves a range to its
 * address with mremap, which moves a 2 MiB page whole only if both sides
 * agree (else it splits it, during the pause, and the root's clone then
 * copies 512 entries for it instead of one). */
#define PLACE_ALIGN	(2ULL << 20)

uint64_t pc_place_ranges(struct pc_proc *pc, uint64_t at)
{
	for (size_t i = 0; i < pc->nr; i++) {
		at += (pc->r[i].start - at) & (PLACE_ALIGN - 1);
		pc->r[i].place = at;
		at += pc->r[i].end - pc->r[i].start;
	}
	pc->placed = true;
	return at;
}

/* The run builder's place(): a tracked page's place, and how many pages
 * on it goes (to its range's end); else how many pages have none. */
static uint64_t pc_place(void *arg, uint64_t vaddr, size_t *pages)
{
	const struct pc_proc *pc = arg;
	const struct pc_range *r = range_of(pc, vaddr);
	uint64_t next = UINT64_MAX;

	if (r) {
		*pages = (r->end - vaddr) / PAGE_SZ;
		return r->place + (vaddr - r->start);
	}
	for (size_t i = 0; i < pc->nr; i++)
		if (pc->r[i].start > vaddr && pc->r[i].start < next)
			next = pc->r[i].start;
	*pages = next == UINT64_MAX ? SIZE_MAX : (next - vaddr) / PAGE_SZ;
	return PLACE_NONE;
}

void pc_builder_place(const struct pc_proc *pc, struct run_builder *rb)
{
	if (pc && pc->placed)
		xfer_run_builder_place(rb, pc_place, (void *)pc);
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
	pc_builder_place(pc, &rb);
	ret = xfer_read_running(x, pc->pid, reg, nr, &rb);
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

/* A collect with the pin checks around it: a pin that exists at any
 * moment of the walk exists at one of the two checks, unless it is made
 * and dropped again within the walk. */
static int pc_collect(struct pc_proc *pc, struct page_region **reg, size_t *n)
{
	int ret;

	pc_check_pins(pc, "before a collect");
	ret = dirty_tracker_collect(&pc->t, reg, n);
	pc_check_pins(pc, "after a collect");
	return ret;
}

int pc_copy_dirty(struct pc_proc *pc, struct page_xfer *x, uint64_t *pages)
{
	struct page_region *reg;
	size_t n;
	int ret = pc_collect(pc, &reg, &n);

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
	int ret = pc_collect(pc, &reg, &n);

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

/* Where the final dump (or a pre-dump layer) gets a page of a tracked
 * range from, without reading it, if it can. */
enum pc_source {
	PC_READ,	/* read it now */
	PC_STORED,	/* copied by a round of this dump, unchanged since */
	PC_PARENT,	/* unchanged since the parent layer, which has it */
	PC_ZERO,	/* unchanged since the parent layer, which has zero */
};

static uint64_t slot_at(const struct pc_range *r, uint64_t addr)
{
	return r->slot ? r->slot[(addr - r->start) / PAGE_SZ] : 0;
}

/* The parent's answer for an unchanged page without a copy here. */
static enum pc_source from_parent(enum parent_has has)
{
	return has == PARENT_ZERO ? PC_ZERO :
	       has == PARENT_DATA ? PC_PARENT : PC_READ;
}

/*
 * The source of the page at addr and how far [addr, end) goes on with
 * the same source. A page is taken from a copy only if the tracker did
 * not report it written since that copy was made: a round's copy (slot)
 * or the parent layer's. Everything else is read.
 */
static uint64_t pc_piece(const struct pc_proc *pc, uint64_t addr, uint64_t end,
			 enum pc_source *src)
{
	const struct pc_range *r = range_of(pc, addr);
	enum parent_has has = PARENT_NONE;
	uint64_t until, a;

	*src = PC_READ;
	if (pc->pinned)
		return end - addr;
	if (!r) {
		for (a = addr; a < end && !range_of(pc, a); a += PAGE_SZ)
			;
		return a - addr;
	}
	if (end > r->end)
		end = r->end;
	if (dirty_at(pc, addr, &until))
		return (until < end ? until : end) - addr;
	if (until < end)
		end = until;
	if (pc->has_parent) {
		has = parent_index_at(&pc->parent, addr, &until);
		if (until < end)
			end = until;
	}
	*src = slot_at(r, addr) ? PC_STORED : from_parent(has);
	for (a = addr + PAGE_SZ; a < end; a += PAGE_SZ)
		if ((slot_at(r, a) ? PC_STORED : from_parent(has)) != *src)
			break;
	return a - addr;
}

bool pc_tracks(const struct pc_proc *pc, uint64_t addr)
{
	return range_of(pc, addr) != NULL;
}

bool pc_knows_every_page(const struct pc_proc *pc, uint64_t start,
			 uint64_t end)
{
	const struct pc_range *r = range_of(pc, start);

	return r && r->slot && end <= r->end && !pc->pinned;
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
	free(pc->layer);
	parent_index_free(&pc->parent);
	memset(pc, 0, sizeof(*pc));
}

struct fresh_list {
	struct page_region *v;
	size_t n, cap;
};

static int fresh_add(struct fresh_list *f, uint64_t start, uint64_t len)
{
	if (f->n && f->v[f->n - 1].end == start) {
		f->v[f->n - 1].end += len;
		return 0;
	}
	if (f->n == f->cap) {
		size_t cap = f->cap ? 2 * f->cap : 64;
		void *n = realloc(f->v, cap * sizeof(*f->v));

		if (!n)
			return -1;
		f->v = n;
		f->cap = cap;
	}
	f->v[f->n].start = start;
	f->v[f->n++].end = start + len;
	return 0;
}

static int fresh_read(const struct pc_proc *pc, struct page_xfer *x,
		      struct fresh_list *f, struct run_builder *rb, bool running)
{
	int ret;

	if (!f->n)
		return 0;
	ret = running ? xfer_read_running(x, pc->pid, f->v, f->n, rb) :
			xfer_read_regions(x, pc->pid, f->v, f->n, rb);
	f->n = 0;
	return ret;
}

/* How many of the max pages from idx on form one run of the builder: all
 * zero (slot 1), or stored one after the other in the pages file. The
 * final dump of a migration references ~460k pages of a 512 MiB guest
 * this way, frozen: a run at a time, not a page. */
static size_t same_slot_run(const struct pc_range *r, size_t idx, size_t max)
{
	uint64_t slot = r->slot[idx];
	size_t n = 1;

	while (n < max && r->slot[idx + n] ==
	       (slot == 1 || slot == SLOT_EMPTY ? slot : slot + n * PAGE_SZ))
		n++;
	return n;
}

/* Pages of [a, a + len) known without reading them, into rb. */
static int add_known(const struct pc_proc *pc, struct page_xfer *x,
		     uint64_t a, uint64_t len, enum pc_source src,
		     struct run_builder *rb)
{
	const struct pc_range *r = range_of(pc, a);
	int ret = 0;

	progress_add(x->progress, len / PAGE_SZ, 0);
	if (src == PC_PARENT) {
		x->st->pages_parent += len / PAGE_SZ;
		return run_builder_add_flagged(rb, a, len / PAGE_SZ, PE_PARENT);
	}
	if (src == PC_ZERO)
		return run_builder_add_flagged(rb, a, len / PAGE_SZ, PE_ZERO);
	for (uint64_t p = a; p < a + len && !ret;) {
		size_t idx = (p - r->start) / PAGE_SZ;
		size_t n = same_slot_run(r, idx, (a + len - p) / PAGE_SZ);
		uint64_t slot = r->slot[idx];

		if (slot == SLOT_EMPTY) {
			if (pc->has_parent)
				ret = run_builder_add_flagged(rb, p, n, PE_ZERO);
			p += n * PAGE_SZ;
			continue;
		}
		ret = slot == 1 ?
			run_builder_add_flagged(rb, p, n, PE_ZERO) :
			run_builder_add_stored(rb, p, n, slot - 2, &r->csum[idx]);
		x->st->pages_reused += n;
		if (slot != 1)
			x->st->pages_reused_stored += n;
		p += n * PAGE_SZ;
	}
	return ret;
}

/* The known pieces of a final dump, added to its run builder in address
 * order between the pages read (xfer_read_between). */
struct known_pieces {
	const struct pc_proc *pc;
	struct page_xfer *x;
	struct run_builder *rb;
	struct page_region *v;
	enum pc_source *src;
	size_t n, cap, next;
};

static int known_push(struct known_pieces *k, uint64_t a, uint64_t len,
		      enum pc_source src)
{
	if (k->n == k->cap) {
		size_t cap = k->cap ? 2 * k->cap : 64;
		void *v = realloc(k->v, cap * sizeof(*k->v));
		void *s = v ? realloc(k->src, cap * sizeof(*k->src)) : NULL;

		if (v)
			k->v = v;
		if (!s)
			return -1;
		k->src = s;
		k->cap = cap;
	}
	k->v[k->n].start = a;
	k->v[k->n].end = a + len;
	k->src[k->n++] = src;
	return 0;
}

static int known_below(void *arg, uint64_t below)
{
	struct known_pieces *k = arg;
	int ret = 0;

	for (; k->next < k->n && k->v[k->next].start < below && !ret; k->next++)
		ret = add_known(k->pc, k->x, k->v[k->next].start,
				k->v[k->next].end - k->v[k->next].start,
				k->src[k->next], k->rb);
	return ret;
}

/* An untrusted process' tracked pages, read whole with the tree frozen */
static void count_untrusted(const struct pc_proc *pc, struct page_xfer *x,
			    const struct page_region *regs, size_t nr)
{
	if (!pc->pinned)
		return;
	for (size_t i = 0; i < nr; i++)
		x->st->pages_untrusted += (regs[i].end - regs[i].start) / PAGE_SZ;
}

/* The frozen case of pc_dump_regions: every piece to read in one list,
 * read in full batches whatever lies between them. */
static int dump_regions_frozen(const struct pc_proc *pc, struct page_xfer *x,
			       const struct page_region *regs, size_t nr,
			       struct run_builder *rb)
{
	struct known_pieces k = { .pc = pc, .x = x, .rb = rb };
	struct fresh_list fresh = { 0 };
	int ret = 0;

	count_untrusted(pc, x, regs, nr);
	for (size_t i = 0; i < nr && !ret; i++) {
		for (uint64_t a = regs[i].start; a < regs[i].end && !ret;) {
			enum pc_source src;
			uint64_t len = pc_piece(pc, a, regs[i].end, &src);

			ret = src == PC_READ ? fresh_add(&fresh, a, len) :
					       known_push(&k, a, len, src);
			a += len;
		}
	}
	if (!ret)
		ret = xfer_read_between(x, pc->pid, fresh.v, fresh.n, rb,
					known_below, &k);
	free(fresh.v);
	free(k.v);
	free(k.src);
	return ret;
}

/*
 * The pages of regs (of tracked VMAs) into x and rb: pages with a good
 * copy from an earlier round are referenced where they are in the pages
 * file, unchanged pages the parent layer holds become PE_PARENT (or
 * PE_ZERO) runs, only the rest is read. running: the process runs
 * meanwhile (a pre-dump layer).
 */
int pc_dump_regions(const struct pc_proc *pc, struct page_xfer *x,
		    const struct page_region *regs, size_t nr,
		    struct run_builder *rb, bool running)
{
	struct fresh_list fresh = { 0 };
	int ret = 0;

	if (!running && !x->lazy_vma)
		return dump_regions_frozen(pc, x, regs, nr, rb);
	if (!running)
		count_untrusted(pc, x, regs, nr);
	for (size_t i = 0; i < nr && !ret; i++) {
		for (uint64_t a = regs[i].start; a < regs[i].end && !ret;) {
			enum pc_source src;
			uint64_t len = pc_piece(pc, a, regs[i].end, &src);

			if (src == PC_READ) {
				ret = fresh_add(&fresh, a, len);
			} else {
				ret = fresh_read(pc, x, &fresh, rb, running);
				if (!ret)
					ret = add_known(pc, x, a, len, src, rb);
			}
			a += len;
		}
	}
	if (!ret)
		ret = fresh_read(pc, x, &fresh, rb, running);
	free(fresh.v);
	return ret;
}

static int layer_push(struct pc_proc *pc, const struct page_region *reg,
		      size_t n)
{
	struct page_region *all = realloc(pc->layer, (pc->nr_layer + n + 1) *
					  sizeof(*all));

	if (!all)
		return -1;
	memcpy(all + pc->nr_layer, reg, n * sizeof(*reg));
	pc->layer = all;
	pc->nr_layer += n;
	return 0;
}

int pc_scan_layer(struct pc_proc *pc, const struct vma_info *vmas, size_t nr)
{
	char path[64];
	int fd, ret = 0;

	snprintf(path, sizeof(path), "/proc/%d/pagemap", pc->pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		pr_perror("open %s", path);
		return -1;
	}
	for (size_t i = 0; i < nr && !ret; i++) {
		if (!vma_is_tracked_kind(&vmas[i]))
			continue;
		for (size_t k = 0; k < pc->nr && !ret; k++) {
			uint64_t s = vmas[i].start > pc->r[k].start ?
				     vmas[i].start : pc->r[k].start;
			uint64_t e = vmas[i].end < pc->r[k].end ?
				     vmas[i].end : pc->r[k].end;
			struct page_region *reg;
			size_t n;

			if (s >= e)
				continue;
			ret = scan_owned_pages(fd, s, e, &reg, &n);
			if (!ret) {
				ret = layer_push(pc, reg, n);
				free(reg);
			}
		}
	}
	close(fd);
	return ret;
}

int pc_dump_layer(struct pc_proc *pc, pid_t vpid, struct page_xfer *x)
{
	struct run_builder rb;
	int ret;

	if (x->ops->pagemap_begin(x, vpid))
		return -1;
	xfer_run_builder_init(&rb, x, xfer_emit_pagemap, x);
	ret = pc_dump_regions(pc, x, pc->layer, pc->nr_layer, &rb, true);
	if (!ret)
		ret = run_builder_finish(&rb);
	run_builder_release(&rb);
	if (x->ops->pagemap_end(x, ret == 0))
		ret = -1;
	return ret;
}

bool precopy_one_more(uint64_t pages, uint64_t prev, uint64_t expect_ms,
		      unsigned limit_ms, unsigned extra)
{
	return expect_ms <= limit_ms && expect_ms > PRECOPY_FLOOR_MS &&
	       extra < PRECOPY_EXTRA && prev &&
	       pages * 100 <= prev * PRECOPY_SHRINKS;
}
