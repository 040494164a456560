/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What a VMA carries besides its pages and protections, set again once
 * the pages are in: guard regions (MADV_GUARD_INSTALL, Linux 6.13: pages
 * whose access raises SIGSEGV, kept as markers in the page table) and
 * memory locks (mlock, mlock2 MLOCK_ONFAULT).
 */
#ifndef CRIU_LITE_MEM_MARKS_H
#define CRIU_LITE_MEM_MARKS_H

#include "mem.h"

/* Whether PAGEMAP_SCAN knows PAGE_IS_GUARD (Linux 6.14); asked once. */
bool pagemap_scan_has_guard(void);

/* The guard regions of pid's VMAs into mm->guards (pid frozen). Without
 * PAGE_IS_GUARD there is no way to see them: none are recorded. */
int dump_guards(pid_t pid, MmEntry *mm);
void free_guards(MmEntry *mm);

/* Refuses (naming mm-<pid>.img) guard ranges restore_guards can't apply. */
int check_guards(const MmEntry *mm, unsigned pid);

/* Installs the guard markers again; after the pages are written (a guard
 * page can't be written, and installing one drops what is there). */
int restore_guards(struct mm_restore *m);

/* mlock()s each VMA that was locked; after its pages and protections. */
int restore_locks(struct mm_restore *m);

#endif
