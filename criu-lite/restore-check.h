/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Checks restore makes on a whole images directory before it creates
 * anything, beyond what each image's own decoding checks: that the files
 * of the tree belong together, and that the page data is what was dumped.
 */
#ifndef CRIU_LITE_RESTORE_CHECK_H
#define CRIU_LITE_RESTORE_CHECK_H

#include <stdbool.h>
#include <stddef.h>

#include "mm.pb-c.h"
#include "pagemap.pb-c.h"
#include "pstree.pb-c.h"

struct page_source;

/*
 * pstree.img against the directory: no PID or TID twice, and no per-process
 * or per-thread image (core, mm, pagemap, fdinfo, task) of a PID or TID the
 * tree does not list (a thread or process lost from pstree.img). That each
 * listed one has its images is checked as they are read.
 */
int check_tree_images(int dirfd, PstreeEntry *const *pes, size_t n);

/* The stored pages a restore writes itself (with lazy: not those of lazy
 * VMAs, which the lazy-pages daemon copies). */
uint64_t pages_to_restore(const MmEntry *mm, PagemapEntry *const *pme,
			  size_t nr, bool lazy);

/*
 * Every page of pid's stored runs in the local pages image s, against its
 * checksum; runs of lazily restored VMAs (lazy set) are left to the
 * lazy-pages daemon, which checks them as it copies them. The pages
 * checked are counted in progress (may be NULL).
 */
struct progress;
int check_page_data(struct page_source *s, const MmEntry *mm,
		    PagemapEntry *const *pme, size_t nr, bool lazy, int pid,
		    struct progress *progress);

#endif
