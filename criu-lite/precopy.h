/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Pre-copy: memory is copied while the process runs, in rounds, and the
 * final (frozen) dump copies only the pages written since their last copy.
 * A dirty tracker (uffd-wp + PAGEMAP_SCAN here, soft-dirty where the
 * kernel has it) says which pages were written; an index remembers, for
 * every page of the tracked VMAs, where its last copy is in the pages file
 * and its checksum.
 */
#ifndef CRIU_LITE_PRECOPY_H
#define CRIU_LITE_PRECOPY_H

#include "cr.h"
#include "dirty.h"
#include "proc.h"
#include "page-xfer.h"

struct pc_range {
	uint64_t start, end;
	uint64_t *slot;		/* per page: 0 none, 1 zero, else offset + 2 */
	uint32_t *csum;		/* per page checksum of the stored copy */
};

struct pc_proc {
	pid_t pid;
	struct dirty_tracker t;
	bool tracking;
	struct pc_range *r;
	size_t nr;
	struct page_region *final_dirty;	/* at the final freeze */
	size_t nr_final_dirty;
	struct page_region *populated;	/* at the start, before tracking */
	size_t nr_populated;
};

/* Starts tracking the private anonymous VMAs of vmas (uffd: a userfaultfd
 * of the target's, see dirty.h; owned by the tracker from here on). The
 * tree must be frozen: the pages populated now are listed first (round 0
 * copies those), the rest is recorded as zero without being read. */
int pc_start(struct pc_proc *pc, pid_t pid, int uffd,
	     const struct dirty_tracker_ops *ops,
	     const struct vma_info *vmas, size_t nr);
/* Round 0: copies the pages that were populated when tracking started. */
int pc_copy_all(struct pc_proc *pc, struct page_xfer *x, uint64_t *pages);
/* Later rounds: copies the pages written since the last round. */
int pc_copy_dirty(struct pc_proc *pc, struct page_xfer *x, uint64_t *pages);
/* At the final freeze: what was written since the last round. */
int pc_final_collect(struct pc_proc *pc);
/* Length of the piece of [addr, end) from addr on whose stored copy is
 * still good (*reuse) or not (!*reuse). */
uint64_t pc_piece(const struct pc_proc *pc, uint64_t addr, uint64_t end,
		  bool *reuse);
/* The stored copy of the page at addr (only where pc_piece said reuse). */
void pc_slot(const struct pc_proc *pc, uint64_t addr, uint64_t *slot,
	     uint32_t *csum);
/* Whether addr lies in a range the tracker watches. */
bool pc_tracks(const struct pc_proc *pc, uint64_t addr);
/* The final dump of regs (of a tracked VMA, the process frozen) into x
 * and rb: unchanged pages from their earlier copy, the rest read now. */
int pc_dump_regions(const struct pc_proc *pc, struct page_xfer *x,
		    const struct page_region *regs, size_t nr,
		    struct run_builder *rb);
void pc_free(struct pc_proc *pc);

#endif
