/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Where dumped pages go: one page transfer per dump, chosen once at the
 * top (the local pages file today; a page server over the network is the
 * same interface). Every writer of pages, a pre-copy round or the final
 * dump of a process, reads through xfer_read_regions(): it reads the
 * target's memory with process_vm_readv straight into the transfer's
 * buffer, in batches small enough to stay in the CPU cache, skips zero
 * pages and checksums the others while they are hot, and hands the runs
 * of non-zero pages to the transfer; the runs themselves (where each
 * page went, with its checksum) go to the caller's run builder.
 *
 * The local transfer writes the buffers with a writer thread (reading
 * the next batch overlaps writing the last), preallocates the file ahead
 * of the writes (ext4 then skips its per-page delayed allocation: 2-4x
 * faster here) and, durable, starts write-back of each piece at once.
 */
#ifndef CRIU_LITE_PAGE_XFER_H
#define CRIU_LITE_PAGE_XFER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "cr.h"
#include "kernel-compat.h"
#include "pagemap.h"
#include "pagemap.pb-c.h"

struct page_xfer;

struct page_xfer_ops {
	/* The buffer to read the next batch into (xfer->batch bytes). */
	uint8_t *(*buffer)(struct page_xfer *x);
	/* Stores len bytes at p (inside the current buffer), after all
	 * stored so far; they land at xfer->offset. */
	int (*add)(struct page_xfer *x, const void *p, size_t len);
	/* The current buffer is complete: send it on. */
	int (*submit)(struct page_xfer *x);
	/* Pagemap entries of one process: begin, entries, end. */
	int (*pagemap_begin)(struct page_xfer *x, pid_t vpid);
	int (*pagemap_entry)(struct page_xfer *x, const PagemapEntry *e);
	/* ok: the pagemap is complete; else it is dropped */
	int (*pagemap_end)(struct page_xfer *x, bool ok);
	/* Everything submitted has arrived (and, durable, is on disk). */
	int (*flush)(struct page_xfer *x);
	/* Frees the transfer; after a failure, whatever is in flight is
	 * dropped. */
	void (*close)(struct page_xfer *x);
};

struct page_xfer {
	const struct page_xfer_ops *ops;
	size_t batch;		/* bytes of one buffer */
	uint64_t offset;	/* where the next stored byte lands */
	bool durable;
	struct dump_stats *st;
};

/* The pages file pages-1.img in dirfd (created), and the pagemap images
 * of each process beside it. */
struct page_xfer *page_xfer_open_local(int dirfd, bool durable,
				       struct dump_stats *st);
int page_xfer_flush(struct page_xfer *x);
void page_xfer_close(struct page_xfer *x);

/*
 * Reads the regions of pid (page aligned, ascending) into the transfer
 * and adds them to rb: zero pages as PE_ZERO runs (not stored), the rest
 * as PE_PRESENT runs at the offsets where they were stored, with their
 * checksums. rb's data callback is set up by xfer_run_builder_init().
 * Regions without PROT_READ are read through /proc/PID/mem.
 */
int xfer_read_regions(struct page_xfer *x, pid_t pid,
		      const struct page_region *regs, size_t nr,
		      struct run_builder *rb);
/*
 * The same from a process that runs meanwhile (pre-copy rounds,
 * pre-dump): a page that went away (munmap) before it was read is left
 * out of rb instead of failing the read.
 */
int xfer_read_running(struct page_xfer *x, pid_t pid,
		      const struct page_region *regs, size_t nr,
		      struct run_builder *rb);
/* A run builder whose stored pages go to x, and whose runs go to emit. */
void xfer_run_builder_init(struct run_builder *rb, struct page_xfer *x,
			   int (*emit)(void *, const struct page_run *),
			   void *arg);
/* Emits a run as a pagemap entry of the current process. */
int xfer_emit_pagemap(void *xfer, const struct page_run *run);

/* Pages of [start, end) a process owns (present or swapped, neither file
 * pages nor the zero page), by PAGEMAP_SCAN on its pagemap fd. */
int scan_owned_pages(int pagemap_fd, uint64_t start, uint64_t end,
		     struct page_region **out, size_t *nr);

#endif
