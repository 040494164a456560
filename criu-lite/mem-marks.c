// SPDX-License-Identifier: GPL-2.0
/* Guard regions and memory locks, dumped and restored (mem-marks.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "log.h"
#include "mem-marks.h"

#ifndef MLOCK_ONFAULT
#define MLOCK_ONFAULT	0x01
#endif

/*
 * A locked VMA is locked again with the call that made it so: mlock2 with
 * MLOCK_ONFAULT locks pages as they are touched, plain mlock faults the
 * whole range in now (as it was at dump: a locked VMA is populated). The
 * puppet still has criu-lite's privileges here: no RLIMIT_MEMLOCK limit.
 */
int restore_locks(struct mm_restore *m)
{
	for (size_t i = 0; i < m->mm->n_vmas; i++) {
		const VmaEntry *v = m->mm->vmas[i];
		bool onfault = v->lock == VMA_LOCK__VMA_LOCKED_ONFAULT;
		long ret;

		if (!v->has_lock || v->lock == VMA_LOCK__VMA_UNLOCKED)
			continue;
		ret = rcall(m->r, __NR_mlock2, v->start, v->end - v->start,
			    onfault ? MLOCK_ONFAULT : 0, 0, 0, 0);
		if (ret < 0) {
			errno = -ret;
			pr_perror("restore %d: mlock2 [%#lx, %#lx)%s", m->pid,
				  (long)v->start, (long)v->end,
				  onfault ? " MLOCK_ONFAULT" : "");
			return -1;
		}
	}
	return 0;
}

/* ---- guard regions ---- */

bool pagemap_scan_has_guard(void)
{
	static int known = -1;
	static char probe[2 * PAGE_SZ];
	uint64_t page = ((uint64_t)probe + PAGE_SZ - 1) & ~(PAGE_SZ - 1);
	struct page_region r;
	struct pm_scan_arg arg = {
		.size = sizeof(arg),
		.start = page, .end = page + PAGE_SZ,
		.vec = (uint64_t)&r, .vec_len = 1,
		.category_mask = PAGE_IS_GUARD, .return_mask = PAGE_IS_GUARD,
	};
	int fd;

	if (known >= 0)
		return known;
	fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	/* an unknown category bit is refused with EINVAL */
	known = fd >= 0 && ioctl(fd, PAGEMAP_SCAN, &arg) >= 0;
	if (fd >= 0)
		close(fd);
	return known;
}

static bool may_have_guards(const VmaEntry *v)
{
	return v->kind != VMA_KIND__VMA_VDSO && v->kind != VMA_KIND__VMA_VSYSCALL;
}

/* Appends [start, end), merged with the last range if that one is of the
 * same VMA (index first on) and ends there. */
static int add_guard(MmEntry *mm, size_t first, uint64_t start, uint64_t end)
{
	PageRange **nv, *g;

	if (mm->n_guards > first && mm->guards[mm->n_guards - 1]->end == start) {
		mm->guards[mm->n_guards - 1]->end = end;
		return 0;
	}
	nv = realloc(mm->guards, (mm->n_guards + 1) * sizeof(*nv));
	g = malloc(sizeof(*g));
	if (nv)
		mm->guards = nv;
	if (!nv || !g) {
		free(g);
		return -1;
	}
	page_range__init(g);
	g->start = start;
	g->end = end;
	mm->guards[mm->n_guards++] = g;
	return 0;
}

/* The guard pages of [start, end) (one VMA), one PAGEMAP_SCAN call per 64
 * runs. Guard markers read as swapped pages too (they are swap-type page
 * table entries): PAGE_IS_GUARD tells them apart. */
static int scan_guards(int fd, MmEntry *mm, uint64_t start, uint64_t end)
{
	struct page_region r[64];
	size_t first = mm->n_guards;

	while (start < end) {
		struct pm_scan_arg arg = {
			.size = sizeof(arg), .start = start, .end = end,
			.vec = (uint64_t)r, .vec_len = 64,
			.category_mask = PAGE_IS_GUARD,
			.return_mask = PAGE_IS_GUARD,
		};
		long n = ioctl(fd, PAGEMAP_SCAN, &arg);

		if (n < 0) {
			pr_perror("PAGEMAP_SCAN(PAGE_IS_GUARD) [%#lx, %#lx)",
				  (long)start, (long)end);
			return -1;
		}
		for (long i = 0; i < n; i++)
			if (add_guard(mm, first, r[i].start, r[i].end))
				return -1;
		/* as in scan_owned_pages: a vector not filled ends the walk */
		if (n < 64)
			break;
		start = r[n - 1].end;
	}
	return 0;
}

int dump_guards(pid_t pid, MmEntry *mm)
{
	char path[64];
	int fd, ret = 0;

	if (!pagemap_scan_has_guard())
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/pagemap", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		pr_perror("open %s", path);
		return -1;
	}
	for (size_t i = 0; i < mm->n_vmas && !ret; i++)
		if (may_have_guards(mm->vmas[i]))
			ret = scan_guards(fd, mm, mm->vmas[i]->start,
					  mm->vmas[i]->end);
	close(fd);
	return ret;
}

void free_guards(MmEntry *mm)
{
	for (size_t i = 0; i < mm->n_guards; i++)
		free(mm->guards[i]);
	free(mm->guards);
	mm->guards = NULL;
	mm->n_guards = 0;
}

int check_guards(const MmEntry *mm, unsigned pid)
{
	uint64_t prev_end = 0;

	for (size_t i = 0; i < mm->n_guards; i++) {
		const PageRange *g = mm->guards[i];
		const VmaEntry *v = mm_vma_holding(mm, g->start, g->end);

		if (g->start < prev_end || g->start >= g->end ||
		    (g->start | g->end) % PAGE_SZ || !v || !may_have_guards(v)) {
			pr_err("mm-%u.img: guard region %zu [%#lx, %#lx) is out "
			       "of order, malformed or not inside one VMA", pid,
			       i, (long)g->start, (long)g->end);
			return -1;
		}
		prev_end = g->end;
	}
	return 0;
}

static int check_guard(const void *tag, const struct batch_call *c,
		       pid_t pid)
{
	(void)tag;
	if (c->ret >= 0)
		return 0;
	errno = -c->ret;
	pr_perror("restore %d: MADV_GUARD_INSTALL [%#lx, %#lx)", pid,
		  (long)c->a[0], (long)(c->a[0] + c->a[1]));
	return -1;
}

int restore_guards(struct mm_restore *m)
{
	for (size_t i = 0; i < m->mm->n_guards; i++) {
		const PageRange *g = m->mm->guards[i];
		const long a[6] = { g->start, g->end - g->start,
				    MADV_GUARD_INSTALL };

		if (batch_add(m->batch, __NR_madvise, a, BATCH_MUST_SUCCEED,
			      check_guard, NULL))
			return -1;
	}
	return batch_flush(m->batch);
}
