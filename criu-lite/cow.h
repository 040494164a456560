/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Pages a process still shares copy-on-write with its parent since fork
 * (a forked server's memory): they stay shared after a restore, instead of
 * becoming one private copy per process.
 *
 * Dump: the child's pages that are its parent's very pages at the same
 * address (same page frame or swap slot in /proc/PID/pagemap) are listed
 * in mm-<pid>.img (cow_shared); their data is stored as usual.
 *
 * Restore: each puppet, before it forks its children, maps and fills
 * itself the VMAs they will inherit; a child keeps of such a VMA the pages
 * listed as shared whose stored data is byte for byte its parent's, and
 * puts its own data over the rest. Those VMAs ("ready") are then neither
 * mapped nor written again. Where a VMA can't be made there (the address
 * is taken in the puppet), the usual rebuild does it, unshared: never
 * different memory, at worst more of it.
 */
#ifndef CRIU_LITE_COW_H
#define CRIU_LITE_COW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "mem.h"

/* ---- dump ---- */

struct cow_ranges {
	PageRange **v;		/* what mm-<pid>.img lists as cow_shared */
	size_t n;
};

/*
 * The pages of pid (VMAs vmas) that are the pages of its parent ppid (VMAs
 * pv) at the same address, in anonymous private VMAs both have with the
 * same bounds. Both frozen, and asked before any page of the tree is read:
 * process_vm_readv pins the pages it reads, and pinning a page shared
 * copy-on-write makes the kernel give the reader's target a copy of its
 * own (FAULT_FLAG_UNSHARE, Linux 5.19+), which ends the sharing.
 */
int find_cow_shared(pid_t pid, const struct vma_info *vmas, size_t n,
		    pid_t ppid, const struct vma_info *pv, size_t npv,
		    struct cow_ranges *out);
void free_cow_ranges(struct cow_ranges *r);

/* ---- restore ---- */

struct cow_vma {
	uint64_t start, end;
	bool adopt;		/* kept from the parent's ready VMA */
	bool for_children;	/* a child adopts it */
	struct addr_range *inherit;	/* adopt: the pages kept */
	size_t nr_inherit;
	size_t slot;		/* its state in cow_tree.status */
	size_t parent_slot;	/* adopt: the parent's VMA's */
};

struct cow_proc {
	/* from the images, set by the caller */
	const MmEntry *mm;
	PagemapEntry **pme;
	size_t nr_pme;
	int parent;		/* index; -1: the root */
	bool skip;		/* a zombie */
	/* the plan: VMAs this process makes ready, by address */
	struct cow_vma *vmas;
	size_t nr_vmas;
};

struct cow_tree {
	struct cow_proc *procs;
	size_t nr;
	const uint8_t *data;	/* the pages image, mapped */
	uint64_t size;
	uint8_t *status;	/* shared with the puppets: COW_* per slot */
	size_t nr_slots;
};

/* Refuses (naming mm-<pid>.img) cow_shared ranges outside one VMA. */
int check_cow_shared(const MmEntry *mm, unsigned pid);

/* Plans which process makes which VMA ready, before any puppet exists
 * (t->procs and t->data set). 0, or -1 (nothing can be shared then). */
int cow_plan(struct cow_tree *t);

/* In puppet idx, first thing: the VMAs of its plan made ready, the ones
 * its parent made that it does not keep unmapped. Failures are recorded
 * (that VMA is rebuilt the usual way), never fatal. */
void cow_prepare(const struct cow_tree *t, size_t idx);

/* The VMAs puppet idx made ready (sorted), for the rebuild; malloc'ed. */
int cow_ready(const struct cow_tree *t, size_t idx, struct addr_range **out,
	      size_t *nr);

void cow_free(struct cow_tree *t);

#endif
