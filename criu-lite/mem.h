/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Memory: which VMAs a process has and what of them must be stored
 * (dump side), and rebuilding them inside a restored process by injected
 * syscalls (restore side).
 */
#ifndef CRIU_LITE_MEM_H
#define CRIU_LITE_MEM_H

#include "cr.h"
#include "inject.h"
#include "inject-batch.h"
#include "kernel-compat.h"
#include "mm.pb-c.h"
#include "pagemap.pb-c.h"
#include "fdinfo.pb-c.h"

/* Kind of a VMA as seen in /proc/PID/smaps; -1 with *why set if it can't
 * be dumped. */
int vma_kind_of(const struct vma_info *v, const char **why);
bool vma_is_vdso(const struct vma_info *v);

/* A file's identity beside its size: crc32c of three sampled 4 KiB
 * blocks (start, middle, end), folded with the size. */
uint32_t file_sample_sum(int fd, uint64_t size);
/* Records size and sample sum of each mapped file (mm filled already). */
int mm_fill_file_ids(MmEntry *mm, pid_t pid);
/* Restore: each mapped file recorded is the same one here (logged). */
int check_mapped_files(const MmEntry *mm, int pid);

/* Fills mm->vmas from vmas (already vetted). */
int mm_fill_vmas(MmEntry *mm, const struct vma_info *vmas, size_t nr);
/* The fields of e that follow from v's VmFlags (kind, map flags, advice,
 * lock), set again. */
void mm_vma_set_flags(VmaEntry *e, const struct vma_info *v);

/* Reads the pages of pid that must be stored into x, with one pagemap
 * entry per run (the pagemap of vpid). pid must be frozen. pc: its
 * pre-copy state, or NULL for a plain dump. ps: the splice path into
 * pid (page-splice.h), for the VMAs it can read, or NULL. */
struct pc_proc;
struct page_source;
struct page_xfer;
struct page_splice;
int dump_pages(pid_t pid, pid_t vpid, const MmEntry *mm,
	       struct page_xfer *x, const struct pc_proc *pc,
	       struct page_splice *ps);

/* Shared memory objects already mapped by a restored process of the tree:
 * later ones map the same object through /proc/PID/map_files. */
struct shm_src {
	uint64_t dev, ino;
	pid_t hpid;
	uint64_t start, end;
};

/* Found by (dev, ino) through a hash index (slot: index + 1 into v, 0
 * free): one lookup per shared VMA, not a walk of all before it. */
struct shm_table {
	struct shm_src *v;
	size_t nr, cap;
	size_t *slot;
	size_t nslot;		/* a power of 2, at least twice nr */
};
void shm_table_free(struct shm_table *t);

/* Per process: the size each shared memory object needs for all the
 * pieces this process maps, keyed by (dev, ino, kind); built on first
 * use, by one pass over the VMAs. */
struct shm_size {
	uint64_t dev, ino, size;
	int kind;
	bool used;
};

struct addr_range {
	uint64_t start, end;
};

struct progress;
struct ghost_maps;
/* Restore side, run against a traced puppet whose address space holds
 * only the gadget, the vDSO and the VMAs it made ready itself (cow.h). */
struct mm_restore {
	pid_t pid;
	struct remote *r;	/* leader, syscall ip in the gadget */
	struct remote_batch *batch;	/* calls queued for the leader, made
					 * in batches (inject-batch.h) */
	uint64_t scratch;	/* scratch memory in the gadget page */
	size_t scratch_len;
	const MmEntry *mm;
	PagemapEntry **pme;
	size_t nr_pme;
	struct page_source *src;	/* where page data comes from */
	bool check_pages;	/* pages not checked yet are, on arrival */
	bool verify;		/* read back and check after writing */
	FdEntry **fds;		/* the process' fds, already in place */
	size_t nr_fds;
	struct shm_table *shm;	/* shared with the rest of the tree */
	struct shm_size *shm_sizes;	/* of this mm's objects, or NULL */
	size_t nr_shm_sizes;		/* slots: a power of 2 */
	struct ghost_maps *ghosts;	/* deleted files mapped (mem-ghost.h) */
	bool lazy;		/* large anonymous VMAs come later, on fault */
	const struct addr_range *ready;	/* VMAs in place and filled already
					 * (cow.h), sorted: not mapped nor
					 * written again */
	size_t nr_ready;
	struct progress *progress;	/* pages written are counted here */
};

int restore_vmas(struct mm_restore *m);
int restore_pages(struct mm_restore *m);
int restore_protections(struct mm_restore *m);
int verify_pages(struct mm_restore *m);
int restore_mm_fields(struct mm_restore *m);

/* The VMA of mm holding all of [start, end), or NULL */
const VmaEntry *mm_vma_holding(const MmEntry *mm, uint64_t start,
			       uint64_t end);

#endif
