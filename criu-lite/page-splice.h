/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The one-copy page paths of a frozen process, two ways:
 *
 * splice (CRIU's way; the default where criu-lite's pipe can grow to 8
 * MiB): the process vmsplices its pages into a pipe of criu-lite's and a
 * splicer thread splices the pipe into the file (the only copy of the
 * data, into the page cache). A call moves at most half the pipe, and
 * without CAP_SYS_RESOURCE the pipe is fs.pipe-max-size, 1 MiB by
 * default: 2048 injected calls per GiB, each a round trip to a tracee
 * that must be scheduled, which cost more than the copy they save: with
 * a pipe below 8 MiB the dump takes the copy path unless
 * CRIU_LITE_PAGE_PATH=splice.
 *
 * write (CRIU_LITE_PAGE_PATH=write; not for a process with an
 * RLIMIT_FSIZE: its write could get SIGXFSZ, nor for one in a memory
 * cgroup with a limit: the page cache it writes is charged to it): the
 * process pwritevs its own pages into the pages file, up to 32 regions
 * and 32 MiB per injected call: ~140 calls for a 2 GiB guest. Measured
 * slower than splice here (page-splice.c), so not the default.
 *
 * Either way a checksum thread reads what was written back from the page
 * cache (mapped read-only, close behind the writes) for each page's
 * checksum and to find the zero pages, recorded PE_ZERO as on the copy
 * path (their bytes stay in the file, unreferenced: no hole is punched).
 *
 * The process gets the file (or the pipe) by an injected open of
 * /proc/<criu-lite>/fd/<N> (checked to be that file, else the next way
 * is tried: splice, then copy); from then on, every injected call keeps
 * the closing frame (inject.h): criu-lite killed at any moment, the
 * process finishes the call, closes that fd before it goes on, and its
 * fd table is as before. Its pages are read, never moved or unshared
 * (vmsplice takes references, no SPLICE_F_GIFT): the tree is frozen
 * until they are in the file. The injection's own bytes on the leader's
 * stack (its frames, below the red zone) are written with the stack: the
 * file gets the bytes that were there before they are checked.
 *
 * Only for the local, uncompressed pages file of a dump that is not a
 * pre-copy's or a lazy one, and for a process with self-restoring
 * injection; CRIU_LITE_PAGE_PATH=copy|splice|write chooses.
 */
#ifndef CRIU_LITE_PAGE_SPLICE_H
#define CRIU_LITE_PAGE_SPLICE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "page-xfer.h"

struct remote;
struct page_splice;

/*
 * Whether x, the local uncompressed pages file, is to be written by a
 * one-copy path: CRIU_LITE_PAGE_PATH=splice or write (copy: no); unset,
 * splice where criu-lite's pipe can grow to SPLICE_MIN_PIPE (8 MiB),
 * the copy path where it can't (page-splice.c).
 */
bool page_splice_wanted(const struct page_xfer *x);
/*
 * Opens the path into the process of r (injection begun, nothing open
 * yet; expect: its lowest free fd). NULL if it can't have it (said in
 * the log: the caller reads through x as before); *err set if the
 * process could not be driven (the dump fails).
 */
struct page_splice *page_splice_open(struct remote *r, pid_t pid, int expect,
				     struct page_xfer *x, bool *err);
/* Whether a VMA's pages can go this way (readable by the process). */
bool page_splice_can(const struct page_splice *ps, int prot);
/* xfer_read_regions() of the process, this way (what was added first). */
int page_splice_regions(struct page_splice *ps, const struct page_region *regs,
			size_t nr, struct run_builder *rb);
/* The same for the regions of one VMA, kept until 32 MiB of them (or a
 * flush): the VMAs of a batch share injected calls (a process' many
 * small VMAs, ~1 call each before); their runs end with each VMA. */
int page_splice_add(struct page_splice *ps, const struct page_region *regs,
		    size_t nr, struct run_builder *rb);
/* Moves what was added and not yet moved (ps may be NULL). */
int page_splice_flush(struct page_splice *ps, struct run_builder *rb);
/* Closes the process' fd (injected) and frees ps; -1 if that failed. */
int page_splice_close(struct page_splice *ps);

#endif
