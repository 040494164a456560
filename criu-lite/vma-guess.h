/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The frozen VMAs of a pre-copied process without waiting for smaps.
 *
 * /proc/PID/smaps is the only place that tells a VMA's VmFlags, and it
 * walks every present page table entry to count the VMA's pages: on a
 * busy 2 GiB guest after pre-copy (its huge pages split into 4 KiB
 * entries by the uffd-wp write faults) 125-190 ms of the frozen window.
 * /proc/PID/maps has the same VMAs without the walk (~3 ms).
 *
 * So at the freeze a pre-copied process' VMAs come from maps, each with
 * the flags of the same VMA in the smaps list the tracking started with
 * (a guess), while a thread reads smaps of the frozen process beside the
 * dump. The guess decides nothing for good: the mm image, which records
 * the flags, is written only once that frozen read is in, with its
 * flags; and the flags the dump of the pages looked at (the VMA's kind,
 * whether it is refused: VMF_LAYOUT) must be the frozen read's, or the
 * dump fails (the tree runs on: a migration's source continues).
 * madvise()/mlock() of a whole VMA change its flags and no boundary:
 * only the frozen read sees that.
 */
#ifndef CRIU_LITE_VMA_GUESS_H
#define CRIU_LITE_VMA_GUESS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "proc.h"

/* The flags that the page phase (and the refusals before it) looks at:
 * a VMA's kind (vma_kind_of), what the copy-on-write tree shares. */
#define VMF_LAYOUT	(VMF_GROWSDOWN | VMF_IO | VMF_PFNMAP | \
			 VMF_UFFD_MISSING | VMF_UFFD_WP | VMF_DROPPABLE)

/*
 * Gives each VMA of now (read from maps: no flags) the flags of before's
 * (an smaps list of the same process, older): the same VMA (start, end,
 * prot, sharing, offset, file) takes its flags; one that grew, shrank or
 * was split (a stack, a heap) those of a VMA of the same file, prot and
 * sharing it overlaps; any other none. Both lists sorted by address.
 * Returns how many VMAs were exactly as before.
 */
size_t vma_guess_flags(struct vma_info *now, size_t n,
		       const struct vma_info *before, size_t nb);

/*
 * Whether read (frozen smaps) is used (what the dump went by) VMA for
 * VMA: the same boundaries, prot, sharing, offset and file, and the same
 * VMF_LAYOUT flags. If not, what differs into why.
 */
bool vma_same_layout(const struct vma_info *used, size_t n,
		     const struct vma_info *read, size_t nr, char *why,
		     size_t len);

/* Frozen smaps reads of a list of processes, one after the other, on a
 * thread of their own. */
struct vma_reader;
/* NULL if no thread could be started (the caller reads them itself). */
struct vma_reader *vma_reader_start(const pid_t *pids, size_t n);
/* Waits for pid's list (malloc'ed, the caller's); -1 if its read failed
 * or pid is not in the list. *ns: how long the read took, *waited: how
 * long this call waited for it. */
int vma_reader_take(struct vma_reader *vr, pid_t pid, struct vma_info **v,
		    size_t *n, uint64_t *ns, uint64_t *waited);
/* Waits for the thread; frees what was not taken. NULL is fine. */
void vma_reader_stop(struct vma_reader *vr);

#endif
