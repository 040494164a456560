/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The destination of a migration holds the memory before the switch
 * (migrate --incoming): every page received is also copied into a buffer
 * of this process that mirrors the pages file by offset; those of the
 * places the source names (X_HOLD) are held there only, and written into
 * the pages file (prefill_spill) only if they are to come from there.
 * At restore, each large anonymous VMA of the tree's root whose pages lie
 * in that buffer one after the other (a migration's tracked ranges have
 * fixed places in the pages file) is moved (mremap) to its address here, checked against
 * the final pagemap (a page whose checksum is not the held one is copied
 * from the pages file, a page zero or missing there is zeroed), and the
 * root puppet, a clone of this process, starts with it in place: the
 * tree resumes with that memory in, no lazy fault and no copy.
 */
#ifndef CRIU_LITE_PREFILL_H
#define CRIU_LITE_PREFILL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mem.h"
#include "pagemap.pb-c.h"
#include "mm.pb-c.h"

struct page_source;

struct prefill {
	uint8_t *base;		/* mirror of the pages file, by offset */
	uint64_t reserved;	/* bytes of address space behind base */
	uint64_t writable;	/* [0, writable) read-write (accounted) */
	uint64_t end;		/* farthest byte held */
	uint32_t *sums;		/* per page: checksum of the held copy */
	uint8_t *have;		/* per page: held */
	size_t cap;		/* pages sums and have can take */
	bool off;		/* gave up (no memory): nothing held */
	bool thp;		/* huge pages asked for (CRIU_LITE_PREFILL_THP=1) */
	int advice;		/* the buffer's: MADV_(NO)HUGEPAGE, or -1 */
	struct addr_range *moved;	/* in place at the root's addresses */
	uint64_t *moved_off;	/* where each moved VMA was in the buffer */
	size_t nr_moved;
	/* The pages file (migrate --incoming, set by the page server):
	 * pages held here are not written to it too (have[] says HELD_ONLY);
	 * prefill_spill writes those it still has into it, for what is
	 * restored from the file after all. -1: every page goes to both. */
	int spill_fd;
	bool spill_failed;	/* a spill failed: the file misses pages */
	struct addr_range *only;	/* offsets held only here (sorted) */
	size_t nr_only;
	size_t nr_copied;	/* of them, copied rather than moved */
	uint64_t bytes_moved, pages_fixed, pages_zeroed, bytes_spilled;
	struct addr_range *dropping;	/* being unmapped by dropper */
	size_t nr_dropping;
	pthread_t dropper;
};

/* THP is "always" here (the buffer then needs MADV_NOHUGEPAGE to hold
 * small pages, and VMAs without it are copied, not moved). */
bool prefill_thp_always(void);

/* Reserves the buffer's address space (nothing accounted yet); -1 if it
 * can't (the migration then goes without). */
int prefill_init(struct prefill *pf);

/* The places in the pages file (n [offset, length) pairs, X_HOLD) whose
 * pages may be held only here: the source's hint of what the restore
 * takes from memory. 0, or -1 (out of memory: none). */
int prefill_hold_only(struct prefill *pf, const uint64_t *pairs, size_t n);

/* Pages [off, off + len) of the pages file arrived, with their checksums:
 * held. True if they are held only here (a spill_fd is set, and they lie
 * in the places prefill_hold_only gave): the caller does not write them to
 * the pages file. Running out of memory gives up
 * holding, silently for the migration (it falls back to the lazy
 * restore): what was held only here is spilled into the file first
 * (spill_failed if that fails). */
bool prefill_put(struct prefill *pf, uint64_t off, const void *buf,
		 uint64_t len, const uint32_t *sums);

/*
 * Every page held only here and still here (in the buffer, or moved into
 * place) written to the pages file: before the pages are taken from the
 * file instead (a VMA not taken, a process not held, the holding given
 * up, a clone refused). 0, or -1 (spill_failed; the file misses pages:
 * a restore from it fails its checksums, never restores them wrong).
 */
int prefill_spill(struct prefill *pf);

/*
 * The range matching: the runs (sorted, those of the VMA [start, end) and
 * maybe others around) say where its pages are. It can be held if every
 * present run in it lies at base + (vaddr - start) of the pages file, in
 * [0, held_end) (what arrived), no run is lazy (left in a source) and none crosses the
 * VMA's ends, and at least one page is present. 0 and *base, or -1.
 */
int prefill_match(uint64_t start, uint64_t end, PagemapEntry *const *pme,
		  size_t nr, uint64_t held_end, uint64_t *base);

/*
 * Puts the held VMAs of mm (the root's) in place in this process, each
 * checked against pme (its final pagemap) and fixed from src, and gives
 * them (sorted) for the puppet to keep. Nothing held, or a VMA that does
 * not match or whose address is taken here: that VMA goes the normal way.
 */
int prefill_take(struct prefill *pf, const MmEntry *mm,
		 PagemapEntry *const *pme, size_t nr, struct page_source *src);

/*
 * After the root's clone, which has its own copy now: a buffer not taken
 * goes at once; the moved VMAs stay out of later forks (MADV_DONTFORK:
 * a lazy-pages daemon's fork would copy their page tables).
 */
void prefill_keep_out_of_forks(struct prefill *pf);

/*
 * Once the restore no longer needs our mm (before the tree resumes): the
 * moved VMAs are unmapped by a thread of ours, so that their teardown
 * (~40 ms for 1.7 GiB of 4 KiB pages here) is not in the downtime, and no
 * call of the restore waits on our mmap lock meanwhile (begun right
 * after the clone it held up the restore's own calls: 71-269 ms against
 * 39-43 at load 3-8). prefill_release waits for it.
 */
void prefill_drop_behind(struct prefill *pf);

/* Unmaps everything held here (the buffer and the moved VMAs): after the
 * root's clone took its copy, or when the restore gives up. */
void prefill_release(struct prefill *pf);

#endif
