// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "kernel-compat.h"
#include "log.h"
#include "lazy.h"
#include "aio.h"
#include "mem.h"
#include "page-splice.h"
#include "mem-ghost.h"
#include "page-source.h"
#include "page-xfer.h"
#include "precopy.h"
#include "progress.h"
#include "seize.h"

/* restore: pages written per process_vm_writev, pieces per call */
#define READ_BATCH	(8UL << 20)
#define MAX_IOV		1024


bool vma_is_vdso(const struct vma_info *v)
{
	return !strcmp(v->path, "[vdso]") || !strcmp(v->path, "[vvar]") ||
	       !strcmp(v->path, "[vvar_vclock]");
}

static bool path_is_anon_shared(const char *path)
{
	return !path[0] || !strcmp(path, "/dev/zero") ||
	       !strncmp(path, "/SYSV", 5) || !strncmp(path, "/memfd:", 7);
}

int vma_kind_of(const struct vma_info *v, const char **why)
{
	*why = NULL;
	if (vma_is_vdso(v))
		return VMA_KIND__VMA_VDSO;
	if (!strcmp(v->path, "[vsyscall]"))
		return VMA_KIND__VMA_VSYSCALL;
	if (v->vmflags & (VMF_IO | VMF_PFNMAP)) {
		*why = "device memory (VM_IO/VM_PFNMAP)";
		return -1;
	}
	if (v->vmflags & (VMF_UFFD_MISSING | VMF_UFFD_WP)) {
		*why = "registered with a userfaultfd: the process's own, or "
		       "the tracker of a pre-dump (then name that layer with "
		       "--prev-images-dir)";
		return -1;
	}
	if (v->vmflags & VMF_DROPPABLE)
		return VMA_KIND__VMA_ANON_DROPPABLE;
	if (v->shared && v->deleted && !strcmp(v->path, AIO_RING_PATH))
		return VMA_KIND__VMA_AIO;
	if (v->shared)
		return path_is_anon_shared(v->path) ? VMA_KIND__VMA_ANON_SHARED :
						     VMA_KIND__VMA_FILE_SHARED;
	if (v->path[0] == '/')
		return VMA_KIND__VMA_FILE_PRIVATE;	/* deleted: mem-ghost.c */
	return VMA_KIND__VMA_ANON_PRIVATE;
}

/* VmFlags bits that restore replays with madvise(), as advice numbers */
static uint64_t madv_bits(uint32_t vmflags)
{
	uint64_t m = 0;

	if (vmflags & VMF_DONTFORK)
		m |= 1ULL << MADV_DONTFORK;
	if (vmflags & VMF_HUGEPAGE)
		m |= 1ULL << MADV_HUGEPAGE;
	if (vmflags & VMF_NOHUGEPAGE)
		m |= 1ULL << MADV_NOHUGEPAGE;
	if (vmflags & VMF_WIPEONFORK)
		m |= 1ULL << MADV_WIPEONFORK;
	if (vmflags & VMF_DONTDUMP)
		m |= 1ULL << MADV_DONTDUMP;
	if (vmflags & VMF_MERGEABLE)
		m |= 1ULL << MADV_MERGEABLE;
	if (vmflags & VMF_SEQREAD)
		m |= 1ULL << MADV_SEQUENTIAL;
	if (vmflags & VMF_RANDREAD)
		m |= 1ULL << MADV_RANDOM;
	return m;
}

uint32_t file_sample_sum(int fd, uint64_t size)
{
	uint64_t offs[3] = { 0, size / 2 & ~(PAGE_SZ - 1),
			     size > PAGE_SZ ? size - PAGE_SZ : 0 };
	uint64_t blk[PAGE_SZ / 8];
	uint32_t sum = 0;

	for (int i = 0; i < 3; i++) {
		ssize_t n;

		memset(blk, 0, sizeof(blk));
		n = pread(fd, blk, PAGE_SZ, offs[i]);
		if (n < 0)
			n = 0;
		sum = (sum << 11 | sum >> 21) ^ page_csum(blk) ^ (uint32_t)n;
	}
	return sum ^ (uint32_t)size ^ (uint32_t)(size >> 32);
}

static bool is_checked_file(const VmaEntry *e)
{
	return (e->kind == VMA_KIND__VMA_FILE_PRIVATE ||
		e->kind == VMA_KIND__VMA_FILE_SHARED) && e->path &&
	       e->path[0] == '/' && strncmp(e->path, "/memfd:", 7) &&
	       strncmp(e->path, "/dev/", 5) && !e->unlinked;
}

/* Size and sample sum of each mapped file, through map_files (the very
 * file mapped, even if its path now names another). A file's VMAs
 * (text, data, with its bss or heap between them) are sampled once. */
int mm_fill_file_ids(MmEntry *mm, pid_t pid)
{
	const VmaEntry *last = NULL;	/* the last file sampled */

	for (size_t i = 0; i < mm->n_vmas; i++) {
		VmaEntry *e = mm->vmas[i];
		char path[96];
		struct stat st;
		int fd;

		if (!is_checked_file(e))
			continue;
		if (last && last->ino == e->ino && last->dev == e->dev) {
			e->has_file_size = e->has_file_sum = true;
			e->file_size = last->file_size;
			e->file_sum = last->file_sum;
			continue;
		}
		snprintf(path, sizeof(path), "/proc/%d/map_files/%lx-%lx", pid,
			 (unsigned long)e->start, (unsigned long)e->end);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || fstat(fd, &st)) {
			if (fd >= 0)
				close(fd);
			continue;	/* not checkable: restore maps by path */
		}
		e->has_file_size = e->has_file_sum = true;
		e->file_size = st.st_size;
		e->file_sum = file_sample_sum(fd, st.st_size);
		close(fd);
		last = e;
	}
	return 0;
}

int check_mapped_files(const MmEntry *mm, int pid)
{
	const VmaEntry *last = NULL;	/* the last file checked */

	for (size_t i = 0; i < mm->n_vmas; i++) {
		const VmaEntry *e = mm->vmas[i];
		struct stat st;
		uint32_t sum;
		int fd;

		if (!e->has_file_size || !is_checked_file(e))
			continue;
		if (last && !strcmp(last->path, e->path) &&
		    last->file_size == e->file_size &&
		    last->file_sum == e->file_sum)
			continue;	/* checked just before */
		last = e;
		fd = open(e->path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || fstat(fd, &st)) {
			pr_perror("mm-%d.img: mapped file %s", pid, e->path);
			if (fd >= 0)
				close(fd);
			return -1;
		}
		sum = (uint64_t)st.st_size == e->file_size ?
		      file_sample_sum(fd, st.st_size) : 0;
		close(fd);
		if ((uint64_t)st.st_size != e->file_size || sum != e->file_sum) {
			pr_err("mm-%d.img: %s is not the file that was mapped "
			       "when the tree was dumped (%s): another version "
			       "here? Restoring with it would run the old "
			       "process on new code", pid, e->path,
			       (uint64_t)st.st_size != e->file_size ?
			       "its size differs" : "its contents differ");
			return -1;
		}
	}
	return 0;
}

void mm_vma_set_flags(VmaEntry *e, const struct vma_info *v)
{
	const char *why;

	e->flags = (v->shared ? MAP_SHARED : MAP_PRIVATE) |
		   ((v->vmflags & VMF_GROWSDOWN) ? MAP_GROWSDOWN : 0);
	e->kind = vma_kind_of(v, &why);
	if (e->kind == VMA_KIND__VMA_ANON_DROPPABLE)
		e->flags = MAP_DROPPABLE;
	e->has_madv = true;
	e->madv = madv_bits(v->vmflags);
	e->has_may_write = true;
	e->may_write = !!(v->vmflags & VMF_MAYWRITE);
	e->has_lock = !!(v->vmflags & VMF_LOCKED);
	e->lock = !e->has_lock ? 0 : v->vmflags & VMF_LOCKONFAULT ?
		  VMA_LOCK__VMA_LOCKED_ONFAULT : VMA_LOCK__VMA_LOCKED;
}

int mm_fill_vmas(MmEntry *mm, const struct vma_info *vmas, size_t nr)
{
	mm->vmas = calloc(nr, sizeof(*mm->vmas));
	if (!mm->vmas)
		return -1;
	for (size_t i = 0; i < nr; i++) {
		const struct vma_info *v = &vmas[i];
		VmaEntry *e = malloc(sizeof(*e));

		if (!e)
			return -1;
		vma_entry__init(e);
		e->start = v->start;
		e->end = v->end;
		e->prot = v->prot;
		mm_vma_set_flags(e, v);
		e->has_pgoff = true;
		e->pgoff = v->pgoff;
		e->path = strdup(v->path);
		if (v->deleted && (e->kind == VMA_KIND__VMA_FILE_PRIVATE ||
				   e->kind == VMA_KIND__VMA_FILE_SHARED))
			e->has_unlinked = e->unlinked = true;
		e->has_dev = e->has_ino = true;
		e->dev = (uint64_t)v->dev_major << 32 | v->dev_minor;
		e->ino = v->ino;
		mm->vmas[mm->n_vmas++] = e;
	}
	return 0;
}

const VmaEntry *mm_vma_holding(const MmEntry *mm, uint64_t start,
			       uint64_t end)
{
	for (size_t i = 0; i < mm->n_vmas; i++)
		if (start >= mm->vmas[i]->start && end <= mm->vmas[i]->end)
			return mm->vmas[i];
	return NULL;
}

static bool vma_has_pages(const VmaEntry *v)
{
	return v->kind == VMA_KIND__VMA_ANON_PRIVATE ||
	       v->kind == VMA_KIND__VMA_ANON_SHARED ||
	       v->kind == VMA_KIND__VMA_FILE_PRIVATE;
}

/*
 * Private mappings: the pages the process owns are the anonymous ones that
 * are present or swapped; file pages not yet copied-on-write come from the
 * file again, and the shared zero page is a zero page anyway. PAGEMAP_SCAN
 * (6.7) selects exactly those in one walk. Shared anonymous memory lives in
 * shmem, not in this page table: all of it is read.
 */
static int scan_vma(int pagemap_fd, const VmaEntry *v,
		    struct page_region **out, size_t *nr)
{
	if (v->kind == VMA_KIND__VMA_ANON_SHARED) {
		struct page_region *regs = malloc(sizeof(*regs));

		if (!regs)
			return -1;
		regs[0].start = v->start;
		regs[0].end = v->end;
		*out = regs;
		*nr = 1;
		return 0;
	}
	return scan_owned_pages(pagemap_fd, v->start, v->end, out, nr);
}

/*
 * The final freeze of a pre-copy: a tracked VMA's pages are listed by the
 * tracker's own knowledge (pc_dump_regions: copied in a round and not
 * written since, zero since the tracking began, or read now), not by one
 * more PAGEMAP_SCAN of the whole VMA while the tree is frozen (a 512 MiB
 * TCG guest: 1.8 GiB of page tables, markers included, ~20 ms of CPU).
 * Pages written since are read whatever the page table says; a page
 * read that is not there reads as zero. Guard regions are left to the
 * scan, which keeps them out (reading one fails); so are the VMAs a lazy
 * dump leaves in the frozen tree.
 */
static bool listed_by_tracker(const MmEntry *mm, const VmaEntry *v,
			      const struct pc_proc *pc, bool lazy)
{
	return pc && v->kind == VMA_KIND__VMA_ANON_PRIVATE && !mm->n_guards &&
	       !lazy && pc_knows_every_page(pc, v->start, v->end);
}

int dump_pages(pid_t pid, pid_t vpid, const MmEntry *mm,
	       struct page_xfer *x, const struct pc_proc *pc,
	       struct page_splice *ps)
{
	struct run_builder rb;
	char path[64];
	int pagemap_fd, ret = -1;

	snprintf(path, sizeof(path), "/proc/%d/pagemap", pid);
	pagemap_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (pagemap_fd < 0) {
		pr_perror("open %s", path);
		return -1;
	}
	if (x->ops->pagemap_begin(x, vpid)) {
		close(pagemap_fd);
		return -1;
	}
	xfer_run_builder_init(&rb, x, xfer_emit_pagemap, x);
	pc_builder_place(pc, &rb);
	x->lazy_vpid = vpid;
	for (size_t i = 0; i < mm->n_vmas; i++) {
		struct page_region *regs;
		size_t nr;

		if (!vma_has_pages(mm->vmas[i]))
			continue;
		/* a lazy dump leaves these pages in the frozen tree */
		x->lazy_vma = x->lazy && vma_is_lazy(mm->vmas[i]);
		if (listed_by_tracker(mm, mm->vmas[i], pc, x->lazy_vma)) {
			regs = malloc(sizeof(*regs));
			if (!regs)
				goto out;
			regs->start = mm->vmas[i]->start;
			regs->end = mm->vmas[i]->end;
			nr = 1;
		} else if (scan_vma(pagemap_fd, mm->vmas[i], &regs, &nr))
			goto out;
		for (size_t k = 0; k < nr; k++)
			x->st->pages_scanned += (regs[k].end - regs[k].start) / PAGE_SZ;
		/* the one-copy path's VMAs go in batches (page_splice_add),
		 * moved before any other is read */
		if (!x->lazy_vma && page_splice_can(ps, mm->vmas[i]->prot))
			ret = page_splice_add(ps, regs, nr, &rb);
		else if (page_splice_flush(ps, &rb))
			ret = -1;
		else if (pc && mm->vmas[i]->kind == VMA_KIND__VMA_ANON_PRIVATE)
			ret = pc_dump_regions(pc, x, regs, nr, &rb, false);
		else
			ret = xfer_read_regions(x, pid, regs, nr, &rb);
		free(regs);
		/* runs never span two VMAs: restore handles them per VMA */
		if (ret || run_builder_finish(&rb))
			goto out;
		ret = -1;
	}
	if (page_splice_flush(ps, &rb) || run_builder_finish(&rb))
		goto out;
	ret = 0;
out:
	x->lazy_vma = false;
	run_builder_release(&rb);
	if (x->ops->pagemap_end(x, ret == 0))
		ret = -1;
	close(pagemap_fd);
	return ret;
}

/* ---- restore side ---- */

/* Opens path inside the puppet (via the scratch page); returns its fd. */
static long remote_open(struct mm_restore *m, const char *path, int flags)
{
	size_t len = strlen(path) + 1;

	if (len > m->scratch_len) {
		pr_err("path too long: %s", path);
		return -ENAMETOOLONG;
	}
	if (remote_write(m->pid, m->scratch, path, len))
		return -EIO;
	return rcall(m->r, __NR_openat, AT_FDCWD, m->scratch, flags, 0, 0, 0);
}

static bool is_memfd_vma(const VmaEntry *v)
{
	return v->kind == VMA_KIND__VMA_ANON_SHARED && v->path &&
	       !strncmp(v->path, "/memfd:", 7);
}

/* The fd (already restored in the process) of the memfd a VMA maps, or -1 */
static int memfd_fd_of(const struct mm_restore *m, const VmaEntry *v)
{
	for (size_t i = 0; i < m->nr_fds; i++)
		if (m->fds[i]->type == FD_TYPE__FD_MEMFD && m->fds[i]->has_id &&
		    m->fds[i]->id == v->ino)
			return m->fds[i]->fd;
	return -1;
}

static size_t shm_hash(uint64_t dev, uint64_t ino)
{
	uint64_t h = (ino ^ (dev * 0x9e3779b97f4a7c15ULL)) *
		     0xff51afd7ed558ccdULL;

	return h ^ (h >> 29);
}

/* The slot of (dev, ino, kind) in the size map (slots a power of 2) */
static struct shm_size *shm_size_slot(struct shm_size *t, size_t n,
				      const VmaEntry *v)
{
	size_t i = shm_hash(v->dev, v->ino ^ ((uint64_t)v->kind << 56));

	for (;; i++) {
		struct shm_size *e = &t[i & (n - 1)];

		if (!e->used || (e->dev == v->dev && e->ino == v->ino &&
				 e->kind == (int)v->kind))
			return e;
	}
}

static int build_shm_sizes(struct mm_restore *m)
{
	size_t n = 16, shared = 0;

	for (size_t i = 0; i < m->mm->n_vmas; i++)
		shared += m->mm->vmas[i]->kind == VMA_KIND__VMA_ANON_SHARED;
	while (n < 2 * shared)
		n *= 2;
	m->shm_sizes = calloc(n, sizeof(*m->shm_sizes));
	if (!m->shm_sizes)
		return -1;
	m->nr_shm_sizes = n;
	for (size_t i = 0; i < m->mm->n_vmas; i++) {
		const VmaEntry *o = m->mm->vmas[i];
		struct shm_size *e;

		if (o->kind != VMA_KIND__VMA_ANON_SHARED)
			continue;
		e = shm_size_slot(m->shm_sizes, n, o);
		*e = (struct shm_size){ o->dev, o->ino, e->used ? e->size : 0,
					o->kind, true };
		if (o->pgoff + o->end - o->start > e->size)
			e->size = o->pgoff + o->end - o->start;
	}
	return 0;
}

/* The size a shared memory object needs for all of its pieces this
 * process maps (one mapping split by mprotect has several): 0 when the
 * map could not be built (no memory; the mmap that follows then fails). */
static uint64_t shm_object_size(struct mm_restore *m, const VmaEntry *v)
{
	uint64_t size = 0;

	if (v->kind == VMA_KIND__VMA_ANON_SHARED) {
		if (!m->shm_sizes && build_shm_sizes(m))
			return 0;
		return shm_size_slot(m->shm_sizes, m->nr_shm_sizes, v)->size;
	}
	for (size_t i = 0; i < m->mm->n_vmas; i++) {
		const VmaEntry *o = m->mm->vmas[i];

		if (o->ino == v->ino && o->dev == v->dev &&
		    o->kind == v->kind && o->pgoff + o->end - o->start > size)
			size = o->pgoff + o->end - o->start;
	}
	return size;
}

/*
 * A shared mapping of a memfd must map that very memfd again, or writes
 * through it would no longer reach the fd. If the process still holds the
 * memfd, reopen it through /proc/self/fd; its contents came with the fd.
 * If not, make a new memfd of the same name, to be filled from the pages.
 */
static long open_memfd_for(struct mm_restore *m, const VmaEntry *v,
			   bool *filled)
{
	int fd = memfd_fd_of(m, v);
	char name[PATH_MAX];
	long ret, nfd;

	*filled = fd >= 0;
	if (fd >= 0) {
		snprintf(name, sizeof(name), "/proc/self/fd/%d", fd);
		return remote_open(m, name, O_RDWR | O_CLOEXEC);
	}
	snprintf(name, sizeof(name), "%s", v->path + 7);
	name[strcspn(name, " ")] = 0;	/* " (deleted)" */
	if (remote_write(m->pid, m->scratch, name, strlen(name) + 1))
		return -EIO;
	nfd = rcall(m->r, __NR_memfd_create, m->scratch, MFD_CLOEXEC, 0, 0, 0, 0);
	if (nfd < 0)
		return nfd;
	ret = rcall(m->r, __NR_ftruncate, nfd, shm_object_size(m, v),
		    0, 0, 0, 0);
	if (ret < 0) {
		rcall(m->r, __NR_close, nfd, 0, 0, 0, 0, 0);
		return ret;
	}
	return nfd;
}

static int map_prot(const VmaEntry *v)
{
	/* private memory is filled after mapping: writable until then */
	if (v->kind == VMA_KIND__VMA_FILE_SHARED ||
	    v->kind == VMA_KIND__VMA_ANON_DROPPABLE)
		return v->prot;
	return v->prot | PROT_READ | PROT_WRITE;
}

static const struct shm_src *shm_find(const struct shm_table *t,
				      const VmaEntry *v)
{
	if (!t || !t->nslot)
		return NULL;
	for (size_t i = shm_hash(v->dev, v->ino);; i++) {
		size_t s = t->slot[i & (t->nslot - 1)];

		if (!s)
			return NULL;
		if (t->v[s - 1].ino == v->ino && t->v[s - 1].dev == v->dev)
			return &t->v[s - 1];
	}
}

static void shm_index(struct shm_table *t, size_t idx)
{
	size_t i = shm_hash(t->v[idx].dev, t->v[idx].ino);

	while (t->slot[i & (t->nslot - 1)])
		i++;
	t->slot[i & (t->nslot - 1)] = idx + 1;
}

/* Adds an object (not in t yet): room doubled as needed, the index
 * rebuilt at twice the entries; 0 or -1 (t unchanged). */
static int shm_add(struct shm_table *t, const struct shm_src *src)
{
	if (t->nr == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 64;
		struct shm_src *nv = realloc(t->v, cap * sizeof(*nv));

		if (!nv)
			return -1;
		t->v = nv;
		t->cap = cap;
	}
	if (2 * (t->nr + 1) > t->nslot) {
		size_t n = t->nslot ? 2 * t->nslot : 128;
		size_t *slot = calloc(n, sizeof(*slot));

		if (!slot)
			return -1;
		free(t->slot);
		t->slot = slot;
		t->nslot = n;
		for (size_t i = 0; i < t->nr; i++)
			shm_index(t, i);
	}
	t->v[t->nr] = *src;
	shm_index(t, t->nr++);
	return 0;
}

void shm_table_free(struct shm_table *t)
{
	free(t->v);
	free(t->slot);
	memset(t, 0, sizeof(*t));
}

static int restore_madvise(struct mm_restore *m, const VmaEntry *v);

/*
 * The first piece of a shared anonymous object that is bigger than it (or
 * that does not start at offset 0): the whole object is made at a place
 * the kernel picks, the piece moved to its address, the rest unmapped.
 * The other pieces then map the same object through map_files.
 */
static int map_piece_of_new_object(struct mm_restore *m, const VmaEntry *v)
{
	uint64_t size = shm_object_size(m, v), len = v->end - v->start;
	long tmp, ret;

	tmp = rcall(m->r, __NR_mmap, 0, size, PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (tmp < 0 && tmp > -4096) {
		pr_err("restore %d: shared memory of %#lx bytes: %s", m->pid,
		       (long)size, strerror(-tmp));
		return -1;
	}
	ret = rcall(m->r, __NR_mremap, tmp + v->pgoff, len, len,
		    MREMAP_MAYMOVE | MREMAP_FIXED, v->start, 0);
	rcall(m->r, __NR_munmap, tmp, size, 0, 0, 0, 0);
	if (ret != (long)v->start) {
		pr_err("restore %d: move shared piece to %#lx: %ld", m->pid,
		       (long)v->start, ret);
		return -1;
	}
	if (map_prot(v) != (PROT_READ | PROT_WRITE))
		rcall(m->r, __NR_mprotect, v->start, len, map_prot(v), 0, 0, 0);
	return restore_madvise(m, v) ? -1 : 0;
}

/*
 * Shared anonymous memory (and memfd mappings) inherited across fork: the
 * first process of the tree to be rebuilt creates the object, the others
 * map that very object through /proc/<first>/map_files/. Returns 0 when
 * mapped that way, 1 when this process is the first (and is recorded as
 * the source), -1 on error.
 */
static int map_shared_from_tree(struct mm_restore *m, const VmaEntry *v)
{
	const struct shm_src *src = shm_find(m->shm, v);
	char path[96];
	long fd, ret;

	if (!m->shm)
		return 1;
	if (!src) {
		struct shm_src nv = { v->dev, v->ino, m->pid, v->start,
				      v->end };

		if (shm_add(m->shm, &nv))
			return -1;
		if (is_memfd_vma(v) || (v->pgoff == 0 &&
					shm_object_size(m, v) == v->end - v->start))
			return 1;
		return map_piece_of_new_object(m, v);
	}
	snprintf(path, sizeof(path), "/proc/%d/map_files/%lx-%lx", src->hpid,
		 (unsigned long)src->start, (unsigned long)src->end);
	fd = remote_open(m, path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		errno = -fd;
		pr_perror("restore %d: open %s to share [%#lx, %#lx)", m->pid,
			  path, (long)v->start, (long)v->end);
		return -1;
	}
	ret = rcall(m->r, __NR_mmap, v->start, v->end - v->start, map_prot(v),
		    MAP_SHARED | MAP_FIXED, fd, v->pgoff);
	rcall(m->r, __NR_close, fd, 0, 0, 0, 0, 0);
	if (ret != (long)v->start) {
		errno = ret < 0 ? -ret : EINVAL;
		pr_perror("restore %d: mmap shared [%#lx, %#lx) from %d",
			  m->pid, (long)v->start, (long)v->end, src->hpid);
		return -1;
	}
	return restore_madvise(m, v);
}

/* Advice is kept on a best-effort basis: a kernel without one (KSM off)
 * gets the VMA without it, said once per VMA. */
static int check_madvise(const void *tag, const struct batch_call *c,
			 pid_t pid)
{
	(void)tag;
	if (c->ret < 0 && c->a[2] != MADV_MERGEABLE)
		pr_warn("restore %d: madvise(%#lx, %ld): %s", pid, (long)c->a[0],
			(long)c->a[2], strerror(-c->ret));
	return 0;
}

/*
 * Queued: made, in order, after the VMA's own mmap. All but
 * MADV_HUGEPAGE, which restore_late_madvise gives once the pages are
 * written (CRIU's order too): with it first, every write of a page fills
 * a fresh 2 MiB folio, and where the kernel hands free memory back to its
 * hypervisor (free page reporting, as on this project's test machines)
 * such a folio comes back cold: 1 GiB took 10-11 s to touch in huge pages
 * against 0.9-1.4 s in small ones, and a 2 GiB guest's restore 6-43 s.
 * The restored VMA has the advice before the process runs; khugepaged
 * may collapse its pages later, as for any process.
 */
static int restore_madvise(struct mm_restore *m, const VmaEntry *v)
{
	for (int adv = 0; adv < 64; adv++) {
		const long a[6] = { v->start, v->end - v->start, adv };

		if (adv == MADV_HUGEPAGE)
			continue;
		if ((v->madv & (1ULL << adv)) &&
		    batch_add(m->batch, __NR_madvise, a, 0, check_madvise, v))
			return -1;
	}
	return 0;
}

/* The advice restore_madvise leaves for after the pages */
static int restore_late_madvise(struct mm_restore *m)
{
	for (size_t i = 0; i < m->mm->n_vmas; i++) {
		const VmaEntry *v = m->mm->vmas[i];
		const long a[6] = { v->start, v->end - v->start, MADV_HUGEPAGE };

		if ((v->madv & (1ULL << MADV_HUGEPAGE)) &&
		    batch_add(m->batch, __NR_madvise, a, 0, check_madvise, v))
			return -1;
	}
	return 0;
}

/* Whether [start, end) lies in a VMA the puppet made ready itself (the
 * ready ranges are sorted and apart: a binary search). */
static bool in_ready(const struct mm_restore *m, uint64_t start, uint64_t end)
{
	size_t lo = 0, hi = m->nr_ready;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (m->ready[mid].start <= start)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo && end <= m->ready[lo - 1].end;
}

static int check_mprotect(const void *tag, const struct batch_call *c,
			  pid_t pid)
{
	const VmaEntry *v = tag;

	if (c->ret >= 0)
		return 0;
	errno = -c->ret;
	pr_perror("restore %d: mprotect [%#lx, %#lx)", pid, (long)v->start,
		  (long)v->end);
	return -1;
}

static int queue_mprotect(struct mm_restore *m, const VmaEntry *v, int prot)
{
	const long a[6] = { v->start, v->end - v->start, prot };

	return batch_add(m->batch, __NR_mprotect, a, BATCH_MUST_SUCCEED,
			 check_mprotect, v);
}

/* A ready VMA is in place, read-write, filled: its protection for the
 * rest of the rebuild and its advice are all it lacks. */
static int finish_ready_vma(struct mm_restore *m, const VmaEntry *v)
{
	if (map_prot(v) != (PROT_READ | PROT_WRITE) &&
	    queue_mprotect(m, v, map_prot(v)))
		return -1;
	return restore_madvise(m, v);
}

/* A deleted file or privately mapped memfd: its file made again (or the
 * process' fd on it), mapped at the same place and offset (mem-ghost.c). */
static int map_unlinked(struct mm_restore *m, const VmaEntry *v, int flags)
{
	bool rw = v->kind == VMA_KIND__VMA_FILE_SHARED &&
		  ((v->prot & PROT_WRITE) || (v->has_may_write && v->may_write));
	char path[64];
	long fd, ret;

	if (ghost_map_path(m->ghosts, v, path, sizeof(path)))
		return -1;
	fd = remote_open(m, path, (rw ? O_RDWR : O_RDONLY) | O_CLOEXEC);
	if (fd < 0) {
		errno = -fd;
		pr_perror("restore %d: open %s (%s, deleted) for mapping at %#lx",
			  m->pid, path, v->path, (long)v->start);
		return -1;
	}
	ret = rcall(m->r, __NR_mmap, v->start, v->end - v->start, map_prot(v),
		    flags, fd, v->pgoff);
	rcall(m->r, __NR_close, fd, 0, 0, 0, 0, 0);
	if (ret != (long)v->start) {
		errno = ret < 0 ? -ret : EINVAL;
		pr_perror("restore %d: mmap [%#lx, %#lx) %s (deleted)", m->pid,
			  (long)v->start, (long)v->end, v->path);
		return -1;
	}
	return restore_madvise(m, v);
}

static int check_mmap(const void *tag, const struct batch_call *c, pid_t pid)
{
	const VmaEntry *v = tag;

	if (c->ret == (int64_t)v->start)
		return 0;
	errno = c->ret < 0 && c->ret > -4096 ? -c->ret : EINVAL;
	pr_perror("restore %d: mmap [%#lx, %#lx) %s", pid, (long)v->start,
		  (long)v->end, v->path ? v->path : "");
	return -1;
}

/* Ordinary VMAs (anonymous, or of a file already open) are mapped in
 * batches; the others, which need calls whose results feed the next
 * ones, are made at once, after everything queued before them. */
static bool mapped_in_batch(const struct mm_restore *m, const VmaEntry *v)
{
	if (in_ready(m, v->start, v->end))
		return true;
	switch (v->kind) {
	case VMA_KIND__VMA_ANON_PRIVATE:
	case VMA_KIND__VMA_ANON_DROPPABLE:
		return true;
	case VMA_KIND__VMA_FILE_PRIVATE:
	case VMA_KIND__VMA_FILE_SHARED:
		return !v->unlinked;
	default:
		return false;
	}
}

static int restore_one_vma(struct mm_restore *m, const VmaEntry *v,
			   long *fd, const char **fd_path, bool *fd_rw)
{
	int flags = (v->flags & (MAP_SHARED | MAP_PRIVATE | MAP_GROWSDOWN)) |
		    MAP_FIXED;
	long ret, mfd = -1;

	if (!mapped_in_batch(m, v) && batch_flush(m->batch))
		return -1;
	if (in_ready(m, v->start, v->end))
		return finish_ready_vma(m, v);

	switch (v->kind) {
	case VMA_KIND__VMA_ANON_SHARED:
		ret = map_shared_from_tree(m, v);
		if (ret <= 0)
			return ret;
		if (is_memfd_vma(v)) {
			bool filled;

			mfd = open_memfd_for(m, v, &filled);
			if (mfd < 0) {
				errno = -mfd;
				pr_perror("restore %d: memfd for mapping at %#lx (%s)",
					  m->pid, (long)v->start, v->path);
				return -1;
			}
			ret = rcall(m->r, __NR_mmap, v->start, v->end - v->start,
				    filled ? (int)v->prot : map_prot(v), flags, mfd,
				    v->pgoff);
			rcall(m->r, __NR_close, mfd, 0, 0, 0, 0, 0);
			if (ret != (long)v->start) {
				errno = ret < 0 ? -ret : EINVAL;
				pr_perror("restore %d: mmap memfd [%#lx, %#lx)",
					  m->pid, (long)v->start, (long)v->end);
				return -1;
			}
			return restore_madvise(m, v);
		}
		flags |= MAP_ANONYMOUS;
		break;
	case VMA_KIND__VMA_ANON_PRIVATE:
		flags |= MAP_ANONYMOUS;
		break;
	case VMA_KIND__VMA_AIO:
		return restore_aio_ring(m, v);
	case VMA_KIND__VMA_ANON_DROPPABLE:
		/* a map type of its own; nothing to fill, its madvise bits
		 * (wipe-on-fork, don't-dump) are the ones it implies */
		flags = MAP_DROPPABLE | MAP_ANONYMOUS | MAP_FIXED;
		break;
	case VMA_KIND__VMA_FILE_PRIVATE:
	case VMA_KIND__VMA_FILE_SHARED:
		if (v->unlinked)
			return map_unlinked(m, v, flags);
		/* a shared mapping that may be made writable (VM_MAYWRITE)
		 * needs a writable fd, even if it is read-only now */
		bool rw = v->kind == VMA_KIND__VMA_FILE_SHARED &&
			  ((v->prot & PROT_WRITE) || (v->has_may_write && v->may_write));

		if (!*fd_path || strcmp(*fd_path, v->path) || rw != *fd_rw) {
			int oflags = rw ? O_RDWR : O_RDONLY;
			const long close_a[6] = { *fd };

			/* closed once the mmaps queued with it are made */
			if (*fd >= 0 && batch_add(m->batch, __NR_close, close_a,
						  0, NULL, NULL))
				return -1;
			*fd = -1;
			*fd_rw = rw;
			*fd = remote_open(m, v->path, oflags | O_CLOEXEC);
			if (*fd < 0) {
				errno = -*fd;
				pr_perror("restore %d: open %s for mapping at %#lx",
					  m->pid, v->path, (long)v->start);
				*fd_path = NULL;
				return -1;
			}
			*fd_path = v->path;
		}
		mfd = *fd;
		break;
	default:
		return 0;
	}
	const long a[6] = { v->start, v->end - v->start, map_prot(v), flags,
			    mfd, v->pgoff };

	if (batch_add(m->batch, __NR_mmap, a, BATCH_MUST_SUCCEED, check_mmap, v))
		return -1;
	return restore_madvise(m, v);
}

/* Every VMA in place when it returns 0 (the batch made). */
int restore_vmas(struct mm_restore *m)
{
	const char *fd_path = NULL;
	bool fd_rw = false;
	long fd = -1;
	int ret = 0;

	for (size_t i = 0; i < m->mm->n_vmas && !ret; i++)
		ret = restore_one_vma(m, m->mm->vmas[i], &fd, &fd_path, &fd_rw);
	free(m->shm_sizes);
	m->shm_sizes = NULL;
	if (fd >= 0) {
		const long a[6] = { fd };

		ret = batch_add(m->batch, __NR_close, a, 0, NULL, NULL) || ret;
	}
	return batch_flush(m->batch) || ret ? -1 : 0;
}

static const VmaEntry *vma_at(const MmEntry *mm, uint64_t addr)
{
	size_t lo = 0, hi = mm->n_vmas;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (addr < mm->vmas[mid]->start)
			hi = mid;
		else if (addr >= mm->vmas[mid]->end)
			lo = mid + 1;
		else
			return mm->vmas[mid];
	}
	return NULL;
}

/* A zero run needs writing only where a fresh mapping is not zero: in
 * private file mappings, whose unwritten pages come from the file. */
static bool zero_run_needs_write(const MmEntry *mm, const PagemapEntry *e)
{
	const VmaEntry *v = vma_at(mm, e->vaddr);

	return v && v->kind == VMA_KIND__VMA_FILE_PRIVATE;
}

static int write_iov(pid_t pid, struct iovec *local, struct iovec *remote,
		     size_t n)
{
	size_t total = 0;
	ssize_t done;

	for (size_t i = 0; i < n; i++)
		total += local[i].iov_len;
	done = process_vm_writev(pid, local, n, remote, n, 0);
	if (done == (ssize_t)total)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (remote_write(pid, (uint64_t)remote[i].iov_base,
				 local[i].iov_base, local[i].iov_len))
			return -1;
	return 0;
}

static bool lazy_run(const struct mm_restore *m, const PagemapEntry *e)
{
	const VmaEntry *v = vma_at(m->mm, e->vaddr);

	return v && vma_is_lazy(v);
}

static bool filled_by_fd(const struct mm_restore *m, const PagemapEntry *e)
{
	const VmaEntry *v = vma_at(m->mm, e->vaddr);

	return v && is_memfd_vma(v) && memfd_fd_of(m, v) >= 0;
}

/* A run from a page source that is not mapped here (a page server, a
 * compressed image): fetched and written piece by piece, each piece
 * checked on arrival. */
static int write_fetched(struct mm_restore *m, const PagemapEntry *e)
{
	const uint32_t step = PS_MAX_REQ / PAGE_SZ;

	for (uint32_t pg = 0; pg < e->nr_pages; pg += step) {
		uint32_t n = e->nr_pages - pg < step ? e->nr_pages - pg : step;
		uint64_t off = (uint64_t)pg * PAGE_SZ;
		const uint8_t *p;

		if (m->check_pages)
			p = page_source_get_checked(m->src, e, pg, n, m->pid);
		else
			p = m->src->ops->get(m->src, e->offset + off,
					     (uint64_t)n * PAGE_SZ);
		if (!p || remote_write(m->pid, e->vaddr + off, p,
				       (uint64_t)n * PAGE_SZ))
			return -1;
	}
	return 0;
}

int restore_pages(struct mm_restore *m)
{
	static const uint8_t zero[1 << 16];
	struct iovec local[MAX_IOV], remote[MAX_IOV];
	size_t n = 0;

	for (size_t i = 0; i < m->nr_pme; i++) {
		const PagemapEntry *e = m->pme[i];
		uint64_t len = (uint64_t)e->nr_pages * PAGE_SZ;

		if (m->lazy && lazy_run(m, e)) {
			/* the lazy-pages daemon copies it on fault */
		} else if (in_ready(m, e->vaddr, e->vaddr + len)) {
			/* written by the puppet before its fork: writing it
			 * again would end sharing it with its children */
		} else if ((e->flags & PE_PRESENT) && filled_by_fd(m, e)) {
			/* the memfd's own contents came with its fd */
		} else if ((e->flags & PE_PRESENT) && !m->src->map) {
			if (write_fetched(m, e))
				return -1;
			progress_add(m->progress, e->nr_pages, len);
		} else if (e->flags & PE_PRESENT) {
			if (e->offset > m->src->size || len > m->src->size - e->offset) {
				pr_err("pages image too short for run at %#lx "
				       "(needs %#lx bytes)", (long)e->vaddr,
				       (long)(e->offset + len));
				return -1;
			}
			local[n].iov_base = (void *)(m->src->map + e->offset);
			local[n].iov_len = len;
			remote[n].iov_base = (void *)e->vaddr;
			remote[n].iov_len = len;
			n++;
			progress_add(m->progress, e->nr_pages, len);
		} else if ((e->flags & PE_ZERO) &&
			   zero_run_needs_write(m->mm, e)) {
			for (uint64_t off = 0; off < len; off += sizeof(zero)) {
				uint64_t l = len - off < sizeof(zero) ?
					     len - off : sizeof(zero);

				if (remote_write(m->pid, e->vaddr + off, zero, l))
					return -1;
			}
		}
		if (n == MAX_IOV || (n && i + 1 == m->nr_pme)) {
			if (write_iov(m->pid, local, remote, n))
				return -1;
			n = 0;
		}
	}
	if (n && write_iov(m->pid, local, remote, n))
		return -1;
	return 0;
}

int verify_pages(struct mm_restore *m)
{
	size_t cap = READ_BATCH;
	uint8_t *buf = malloc(cap);
	uint64_t bad = 0, checked = 0;

	if (!buf)
		return -1;
	for (size_t i = 0; i < m->nr_pme; i++) {
		const PagemapEntry *e = m->pme[i];
		uint64_t csum = CSUM_SEED;

		if (!(e->flags & (PE_PRESENT | PE_ZERO)) || (m->lazy && lazy_run(m, e)))
			continue;	/* lazy runs are checked by the daemon */
		for (uint64_t p = 0; p < e->nr_pages; ) {
			uint64_t nr = e->nr_pages - p;

			if (nr > cap / PAGE_SZ)
				nr = cap / PAGE_SZ;
			if (remote_read(m->pid, e->vaddr + p * PAGE_SZ, buf,
					nr * PAGE_SZ))
				goto err;
			for (uint64_t k = 0; k < nr; k++) {
				const uint8_t *pg = buf + k * PAGE_SZ;

				if (e->flags & PE_PRESENT)
					csum = run_csum_fold(csum, page_csum(pg));
				else if (!page_is_zero(pg) && !bad++)
					pr_err("verify %d: page %#lx should be "
					       "zero", m->pid, (long)(e->vaddr +
					       (p + k) * PAGE_SZ));
			}
			p += nr;
		}
		checked += e->nr_pages;
		if ((e->flags & PE_PRESENT) && csum != e->checksum && !bad++)
			pr_err("verify %d: checksum mismatch in run [%#lx, +%u "
			       "pages)", m->pid, (long)e->vaddr, e->nr_pages);
	}
	free(buf);
	if (bad) {
		pr_err("verify %d: %lu bad run(s) of %lu pages checked", m->pid,
		       (unsigned long)bad, (unsigned long)checked);
		return -1;
	}
	pr_info("verify %d: %lu pages match their dump checksums", m->pid,
		(unsigned long)checked);
	return 0;
err:
	free(buf);
	return -1;
}

int restore_protections(struct mm_restore *m)
{
	if (restore_late_madvise(m))
		return -1;
	for (size_t i = 0; i < m->mm->n_vmas; i++) {
		const VmaEntry *v = m->mm->vmas[i];

		if (vma_has_pages(v) && map_prot(v) != (int)v->prot &&
		    queue_mprotect(m, v, v->prot))
			return -1;
	}
	return batch_flush(m->batch);
}

/* struct prctl_mm_map of linux/prctl.h (kernel ABI) */
struct mm_map_abi {
	uint64_t start_code, end_code, start_data, end_data;
	uint64_t start_brk, brk, start_stack;
	uint64_t arg_start, arg_end, env_start, env_end;
	uint64_t auxv;
	uint32_t auxv_size;
	uint32_t exe_fd;
};

#ifndef PR_SET_MM_MAP
#define PR_SET_MM_MAP 14
#endif

/*
 * PR_SET_MM_MAP sets every mm field in one call and, unlike the single
 * PR_SET_MM_* fields, needs no CAP_SYS_RESOURCE. Its exe_fd is refused
 * with EBUSY while another executable is still mapped: call it after the
 * puppet's own mappings are gone.
 */
int restore_mm_fields(struct mm_restore *m)
{
	const MmEntry *mm = m->mm;
	struct mm_map_abi map = {
		.start_code = mm->start_code, .end_code = mm->end_code,
		.start_data = mm->start_data, .end_data = mm->end_data,
		.start_brk = mm->start_brk, .brk = mm->brk,
		.start_stack = mm->start_stack,
		.arg_start = mm->arg_start, .arg_end = mm->arg_end,
		.env_start = mm->env_start, .env_end = mm->env_end,
	};
	uint64_t auxv_at = m->scratch + 4096;	/* after a PATH_MAX path */
	long exe_fd = -1, ret;

	if (mm->has_auxv && mm->auxv.len <= 1024) {
		map.auxv = auxv_at;
		map.auxv_size = mm->auxv.len;
		if (remote_write(m->pid, auxv_at, mm->auxv.data, mm->auxv.len))
			return -1;
	}
	if (mm->exe && mm->exe[0] == '/') {
		/* the path goes to scratch+0 and is consumed by openat */
		exe_fd = remote_open(m, mm->exe, O_RDONLY | O_CLOEXEC);
		if (exe_fd < 0)
			pr_warn("restore %d: can't open exe %s: %s", m->pid,
				mm->exe, strerror(-exe_fd));
	}
	map.exe_fd = exe_fd >= 0 ? exe_fd : (uint32_t)-1;
	if (remote_write(m->pid, m->scratch + 6144, &map, sizeof(map)))
		return -1;
	ret = rcall(m->r, __NR_prctl, PR_SET_MM, PR_SET_MM_MAP, m->scratch + 6144,
		   sizeof(map), 0, 0);
	if (ret < 0 && exe_fd >= 0) {
		pr_warn("restore %d: PR_SET_MM_MAP with exe_fd: %s; retrying "
			"without /proc/PID/exe", m->pid, strerror(-ret));
		map.exe_fd = -1;
		remote_write(m->pid, m->scratch + 6144, &map, sizeof(map));
		ret = rcall(m->r, __NR_prctl, PR_SET_MM, PR_SET_MM_MAP,
			   m->scratch + 6144, sizeof(map), 0, 0);
	}
	if (exe_fd >= 0)
		rcall(m->r, __NR_close, exe_fd, 0, 0, 0, 0, 0);
	if (ret < 0) {
		errno = -ret;
		pr_perror("restore %d: prctl(PR_SET_MM_MAP)", m->pid);
		return -1;
	}
	return 0;
}
