/* SPDX-License-Identifier: GPL-2.0 */
/*
 * AIO contexts (io_setup): a ring of completion events the kernel maps
 * into the process ("/[aio]"); the context id the process holds is the
 * ring's address. Dump records the ring's size; restore makes a context
 * of the same size with an injected io_setup and moves its ring to the
 * old address (mremap: the kernel moves the context id with it), as CRIU
 * does. Requests submitted and not completed are not visible from
 * outside; completions not yet read (head != tail) are refused.
 */
#ifndef CRIU_LITE_AIO_H
#define CRIU_LITE_AIO_H

#include "mem.h"
#include "proc.h"

#define AIO_RING_PATH	"/[aio]"

/* Why the ring of v (a VMA_AIO) can't be dumped, or NULL. */
const char *aio_ring_refusal(pid_t pid, const struct vma_info *v);
/* Fills aio_nr of every VMA_AIO of mm from the frozen target. */
int mm_fill_aio(MmEntry *mm, pid_t pid);
/* In the puppet being rebuilt: the context of v at its address. */
int restore_aio_ring(struct mm_restore *m, const VmaEntry *v);

#endif
