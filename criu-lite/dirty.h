/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Dirty-page tracking of a target's memory, for pre-dump rounds and
 * migrate: "which pages did the target write since the last look?"
 *
 * One interface, two backends chosen once by the caller (dirty_tracker_pick):
 *
 *   uffd-wp     a userfaultfd of the TARGET's mm in async write-protect mode
 *               (Linux 6.7: UFFD_FEATURE_WP_ASYNC + PAGEMAP_SCAN). Exact;
 *               collect reads and re-arms atomically, so the target may keep
 *               running. Costs: transparent huge pages of tracked VMAs are
 *               split on the first write, and each first write after a
 *               collect costs the target ~1.5 us. If the tracker's uffd is
 *               closed (stop, or the tool dies) the kernel drops the
 *               tracking and the target runs on untouched.
 *   soft-dirty  /proc/PID/clear_refs "4" + pagemap bit 55
 *               (CONFIG_MEM_SOFT_DIRTY). Read and clear are two steps: a
 *               page written between them is lost, so the target must be
 *               frozen around collect. Not testable on kernels without
 *               CONFIG_MEM_SOFT_DIRTY (the project's machine kind).
 *
 * What collect reports (uffd-wp, measured on 6.18):
 *   - every page of the tracked ranges written since start or the previous
 *     collect, including first writes to never-touched pages;
 *   - pages the target dropped with MADV_DONTNEED: their pte is empty,
 *     which counts as written. The caller reads them as absent and
 *     stores a hole, never "same as parent";
 *   - all of a VMA the target mapped (or mremap'ed) INSIDE a tracked range
 *     after start; the tracker then adopts it, so later rounds report
 *     only its writes. A VMA mapped outside every tracked range is not
 *     seen: the caller compares VMA lists between rounds anyway;
 *   - never: a page only read (a read of a dropped page maps the zero page
 *     write-protected and is not reported);
 *   - never: the kernel's writes into a page pinned long-term before the
 *     last collect (io_uring fixed buffers, RDMA): they bypass the page
 *     table. The caller checks VmPin around each collect (precopy.c).
 * It may over-report, it never under-reports. The caller marks a page as
 * in-parent only if it is present/swapped now and not reported, as CRIU
 * does with soft-dirty.
 */
#ifndef CRIU_LITE_DIRTY_H
#define CRIU_LITE_DIRTY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "kernel-compat.h"	/* struct page_region */

struct kernel_features;
struct dirty_tracker;

/* One address range [start, end) to track, page aligned; normally a VMA. */
struct dirty_range {
	uint64_t start;
	uint64_t end;
};

struct dirty_track_args {
	pid_t pid;		/* the target; its /proc/PID/pagemap is scanned */
	/*
	 * uffd-wp only: a userfaultfd created BY THE TARGET (so it belongs
	 * to the target's mm), taken into the tool with pidfd_getfd, on
	 * which UFFDIO_API has NOT been called yet. Create it in the target
	 * as userfaultfd(O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY) and
	 * close the target's copy afterwards. The tracker owns the fd from
	 * start on (closes it in stop, and on a failed start).
	 * Ignored by soft-dirty (pass -1).
	 */
	int uffd;
	const struct dirty_range *ranges;	/* any order; may touch/overlap */
	size_t nr_ranges;
};

struct dirty_tracker_ops {
	const char *name;	/* "uffd-wp", "soft-dirty" */
	/*
	 * Register the ranges and arm tracking: the first collect reports
	 * pages written after start returned. Start tracking BEFORE the
	 * first full copy of the memory, or writes during the copy are lost.
	 * Returns 0 or -errno; on failure nothing stays armed.
	 */
	int (*start)(struct dirty_tracker *t, const struct dirty_track_args *a);
	/*
	 * Take over tracking that start armed in another process (a pre-dump
	 * whose tracker outlived it, mem-tracker.h): a->uffd is already
	 * handshaken, a->ranges registered and armed. Nothing is re-armed:
	 * the first collect reports every page written since start or since
	 * the last collect of whoever held the tracking before. Returns 0 or
	 * -errno; owns a->uffd from here on, as start does.
	 */
	int (*resume)(struct dirty_tracker *t, const struct dirty_track_args *a);
	/*
	 * Pages written since start or the previous collect, re-armed.
	 * *out: sorted, non-overlapping, adjacent regions merged; owned by
	 * the tracker and valid until the next collect or stop.
	 * region.categories is PAGE_IS_WRITTEN. Returns 0 or -errno.
	 */
	int (*collect)(struct dirty_tracker *t, struct page_region **out,
		       size_t *n);
	/* Drop all tracking; the target runs on unaffected. Idempotent. */
	void (*stop)(struct dirty_tracker *t);
};

/* Measured per collect, for logs and benchmarks. */
struct dirty_stats {
	uint64_t collect_ns;	/* wall time of the last collect */
	uint64_t pages;		/* pages reported by the last collect */
	uint64_t regions;	/* regions reported by the last collect */
	uint64_t ioctls;	/* PAGEMAP_SCAN calls of the last collect */
	uint64_t new_vma_pages;	/* of those, in VMAs mapped since start */
	uint64_t tracked_pages;	/* size of all tracked ranges */
};

/* Private state: read only stats from outside. */
struct dirty_tracker {
	const struct dirty_tracker_ops *ops;
	pid_t pid;
	int uffd;
	int pagemap_fd;
	int clear_refs_fd;
	bool scan_ioctl;	/* soft-dirty: PAGEMAP_SCAN usable */
	struct dirty_range *ranges;	/* sorted, merged */
	size_t nr_ranges;
	struct page_region *vec;	/* PAGEMAP_SCAN scratch */
	size_t vec_len;
	uint64_t *pme;			/* soft-dirty pagemap read scratch */
	struct page_region *out;	/* result of the last collect */
	size_t nr_out, out_cap;
	bool out_unsorted;
	struct dirty_stats stats;
};

extern const struct dirty_tracker_ops uffd_wp_tracker_ops;
extern const struct dirty_tracker_ops soft_dirty_tracker_ops;

/*
 * The backend this kernel supports: uffd-wp if WP_ASYNC and PAGEMAP_SCAN
 * work (exact, needs no freeze), else soft-dirty, else NULL (no
 * incremental dumps: every dump is full).
 */
const struct dirty_tracker_ops *
dirty_tracker_pick(const struct kernel_features *kf);

/* Convenience wrappers: t->ops is set by dirty_tracker_start. */
int dirty_tracker_start(struct dirty_tracker *t,
			const struct dirty_tracker_ops *ops,
			const struct dirty_track_args *a);
int dirty_tracker_resume(struct dirty_tracker *t,
			 const struct dirty_tracker_ops *ops,
			 const struct dirty_track_args *a);
int dirty_tracker_collect(struct dirty_tracker *t, struct page_region **out,
			  size_t *n);
void dirty_tracker_stop(struct dirty_tracker *t);
/* The ranges tracked (sorted, merged), to hand the tracking on. */
const struct dirty_range *dirty_tracker_ranges(const struct dirty_tracker *t,
					       size_t *n);
/* The backend of that name, or NULL. */
const struct dirty_tracker_ops *dirty_tracker_by_name(const char *name);

#endif /* CRIU_LITE_DIRTY_H */
