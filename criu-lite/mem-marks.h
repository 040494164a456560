/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What a VMA carries besides its pages and protections, set again once
 * the pages are in: memory locks (mlock, mlock2 MLOCK_ONFAULT).
 */
#ifndef CRIU_LITE_MEM_MARKS_H
#define CRIU_LITE_MEM_MARKS_H

#include "mem.h"

/* mlock()s each VMA that was locked; after its pages and protections. */
int restore_locks(struct mm_restore *m);

#endif
