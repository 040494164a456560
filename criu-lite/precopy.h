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
#include "layers.h"
#include "page-xfer.h"

#define SLOT_EMPTY 3

struct pc_range {
	uint64_t start, end;
	uint64_t *slot;		/* per page: 0 none, 1 zero, SLOT_EMPTY
				 * never populated nor written, else
				 * offset + 2 (even); NULL: nothing copied
				 * in this dump */
	uint32_t *csum;		/* per page checksum of the stored copy */
	uint64_t place;		/* placed (pc_place_ranges): where its
				 * first page is stored, each copy */
};

/*
 * One process whose writes are tracked: by rounds of this dump
 * (pc_start, --precopy-rounds), or since a parent layer (pc_resume, the
 * tracking taken from a pre-dump's tracker) - or both for a pre-dump's
 * process new since its parent.
 */
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
	struct parent_index parent;	/* the parent layer's pages */
	bool has_parent;
	struct page_region *layer;	/* pre-dump: what its layer describes */
	size_t nr_layer;
	bool pinned;	/* seen with pinned memory: the tracker may have
			 * missed writes, no page is taken from a copy */
	bool placed;		/* every range has its place */
};

/*
 * Migration: each tracked range gets a fixed place in the pages file,
 * from offset at on, one after the other (returns the end of the last);
 * every copy of a page goes to its place, replacing the one before
 * (page_xfer_place), so that the final pagemap has one run where the
 * rounds copied pages in any order, not one per page copied again.
 */
uint64_t pc_place_ranges(struct pc_proc *pc, uint64_t at);
/* Placement on for rb, if pc's ranges have places. */
struct run_builder;
void pc_builder_place(const struct pc_proc *pc, struct run_builder *rb);

/* Starts tracking the private anonymous VMAs of vmas (uffd: a userfaultfd
 * of the target's, see dirty.h; owned by the tracker from here on). The
 * tree must be frozen: the pages populated now are listed first (round 0
 * copies those), the rest is recorded as zero without being read. */
int pc_start(struct pc_proc *pc, pid_t pid, int uffd,
	     const struct dirty_tracker_ops *ops,
	     const struct vma_info *vmas, size_t nr);
/* Takes over the tracking a pre-dump's tracker held for pid (tp's uffd
 * is pc's from here on): the next collect reports what was written since
 * that pre-dump's layer. */
struct tracked_proc;
int pc_resume(struct pc_proc *pc, pid_t pid, const struct dirty_tracker_ops *ops,
	      struct tracked_proc *tp);
/* The parent layer's pages of this process (ix is pc's from here on):
 * unchanged pages become PE_PARENT runs. */
void pc_set_parent(struct pc_proc *pc, struct parent_index *ix);
/* pc's tracking as a tracker would hold it (tp->uffd stays pc's). */
int pc_export(const struct pc_proc *pc, struct tracked_proc *tp);
/* Round 0: copies the pages that were populated when tracking started. */
int pc_copy_all(struct pc_proc *pc, struct page_xfer *x, uint64_t *pages);
/* Later rounds: copies the pages written since the last round. */
int pc_copy_dirty(struct pc_proc *pc, struct page_xfer *x, uint64_t *pages);
/* At the final freeze (or a pre-dump's): what was written since the last
 * round or the parent layer. */
int pc_final_collect(struct pc_proc *pc);
/* Whether the tracking of pc can be trusted, i.e. handed on to the next
 * layer: false once pc was seen with pinned memory (precopy.c). */
bool pc_trusted(const struct pc_proc *pc);
/* Whether addr lies in a range the tracker watches. */
bool pc_tracks(const struct pc_proc *pc, uint64_t addr);
/* [start, end) lies in one range tracked since before this dump's first
 * round: each of its pages has a slot (copied, zero, or to be read), so
 * the final dump needs no page-table walk to list them. */
bool pc_knows_every_page(const struct pc_proc *pc, uint64_t start,
			 uint64_t end);
/* The pages of regs (of a tracked VMA) into x and rb: unchanged pages
 * from their earlier copy or the parent layer, the rest read now.
 * running: the process runs meanwhile (a pre-dump). */
int pc_dump_regions(const struct pc_proc *pc, struct page_xfer *x,
		    const struct page_region *regs, size_t nr,
		    struct run_builder *rb, bool running);
/* Pre-dump, tree frozen: the pages of the tracked ranges the process owns
 * now, which its layer describes. */
int pc_scan_layer(struct pc_proc *pc, const struct vma_info *vmas, size_t nr);
/* Pre-dump, tree running: the layer's pagemap of vpid, and its pages. */
int pc_dump_layer(struct pc_proc *pc, pid_t vpid, struct page_xfer *x);
void pc_free(struct pc_proc *pc);

/*
 * Within the limit, pre-copy goes on while a round leaves at most 3/4 of
 * what the one before left, PRECOPY_EXTRA rounds at most, until what is
 * left would take PRECOPY_FLOOR_MS: the frozen copy of the rest is only
 * part of the downtime (the dump's fixed part and the restore there add
 * 100-250 ms), so the limit says little about when to stop; a busy 2 GiB
 * guest at the 300 ms limit left 7.8k pages (~31 MB, 60-150 ms of the
 * frozen dump at this machine's 200 MB/s), each round after it about
 * half of that in ~0.1-0.2 s.
 */
#define PRECOPY_SHRINKS		75	/* % of the round before */
#define PRECOPY_EXTRA		6
#define PRECOPY_FLOOR_MS	20

/* Whether to go on: a round copied pages (the round before prev), what
 * is left would take expect_ms of the limit_ms, extra rounds went on so
 * far by this rule. */
bool precopy_one_more(uint64_t pages, uint64_t prev, uint64_t expect_ms,
		      unsigned limit_ms, unsigned extra);

#endif
