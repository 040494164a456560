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
 * faster here) and, durable, starts write-back of each piece at once;
 * compressed (dump --compress), compressor threads make each buffer a
 * frame before the writer writes them, in order.
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
struct tls_opts;

struct page_xfer_ops {
	/* The buffer to read the next batch into (xfer->batch bytes). */
	uint8_t *(*buffer)(struct page_xfer *x);
	/* Stores len bytes at p (inside the current buffer), after all
	 * stored so far; they land at xfer->offset. csums: their pages'
	 * checksums (the network sends them, not computed twice). */
	int (*add)(struct page_xfer *x, const void *p, size_t len,
		   const uint32_t *csums);
	/* Stores len bytes at p (inside the current buffer) at offset off
	 * of the pages file, replacing what is there (placed pages,
	 * page_xfer_place; NULL where the transfer cannot). */
	int (*add_at)(struct page_xfer *x, const void *p, size_t len,
		      const uint32_t *csums, uint64_t off);
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
	uint64_t max_bw;	/* net: bytes per second at most (0: any) */
	struct dump_stats *st;
	struct progress *progress;	/* pages read, bytes stored (or NULL) */
	/* A lazy dump (lazy-source.h): while lazy_vma, the final reads of
	 * xfer_read_regions() become PE_LAZY runs of process lazy_vpid
	 * served from its frozen memory. */
	struct lazy_source *lazy;
	bool lazy_vma;
	pid_t lazy_vpid;
	/* page_xfer_place: [0, placed) of the pages file are the places of
	 * pages copied more than once (a migration's tracked memory) */
	uint64_t placed;
};

/* The pages file pages-1.img in dirfd (created), and the pagemap images
 * of each process beside it. With a codec (PAGES_CODEC_LZ4, _ZSTD) each
 * buffer is compressed into a frame (images/page-frames.h) by one of the
 * compressor threads (one per CPU, up to 4), and each flush writes the
 * frames' index pages-index-1.img; the offsets pagemap entries get stay
 * offsets in the page stream. */
struct page_xfer *page_xfer_open_local(int dirfd, bool durable, unsigned codec,
				       struct dump_stats *st);
/* Where a network transfer goes. */
struct net_sink {
	const char *host;
	unsigned port;
	const struct tls_opts *tls;	/* NULL or !on: plain TCP */
	bool migrate;			/* a migrate --incoming */
	bool postcopy;			/* ... resuming before all memory */
	int pagemap_dirfd;		/* >= 0: pagemaps kept there too */
	/* a server that takes nothing and answers nothing for this long
	 * (connect, greeting, sends, replies) ends the transfer (0: never) */
	unsigned timeout_s;
};
/* A page server (criu-lite page-server) at host:port: pages and pagemaps
 * go there, checked on arrival, and are kept there only once
 * page_xfer_done() said everything arrived. */
struct page_xfer *page_xfer_open_net(const struct net_sink *ns, bool durable,
				     struct dump_stats *st);
/*
 * Migration: the first bytes of the pages file are the fixed places of
 * the tracked memory (run_builder_place), whatever is appended comes
 * after them. Only before anything is stored, only over the network
 * (migrate --incoming takes pages at any offset); -1 if not possible.
 */
int page_xfer_place(struct page_xfer *x, uint64_t bytes);
/*
 * Migration: n [offset, length) pairs of the pages file that the
 * destination may keep in its memory only, not in its pages file too
 * (the places of the root's large anonymous memory, which its restore
 * takes from there); it writes every other page to the file. 0 (no-op
 * for a local transfer), or -1.
 */
int page_xfer_hold_hint(struct page_xfer *x, const uint64_t *pairs, size_t n);
/* A run builder of x: pages that place() gives a place go there. */
void xfer_run_builder_place(struct run_builder *rb,
			    uint64_t (*place)(void *, uint64_t, size_t *),
			    void *arg);
int page_xfer_flush(struct page_xfer *x);
/* Net: another image file, after everything stored so far (local: no-op,
 * the file is in the images directory already). */
int page_xfer_send_file(struct page_xfer *x, const char *name,
			const void *data, size_t len);
/* Net: the received layer's DIR/parent links to target (a pre-dump
 * chain on the server's side). Local: no-op (the dump links it). */
int page_xfer_send_link(struct page_xfer *x, const char *target);
/* Net: all is sent; returns once the server has kept it. Local: no-op. */
int page_xfer_done(struct page_xfer *x);
/* Net: the server's next reply (migrate: the destination runs the tree);
 * 0 and its text, or -1 (logged, with the server's reason). */
int page_xfer_reply(struct page_xfer *x, char *text, size_t size);
/* Net, after a failure: the server was sent everything (done) and then
 * said nothing within the timeout, so whether it kept it (a migrate
 * --incoming: whether it runs the tree) is not known. */
bool page_xfer_outcome_unknown(const struct page_xfer *x);
void page_xfer_close(struct page_xfer *x);
/* Net: the connection (to poll for the server's reply, to learn our own
 * address on the link); local: -1. */
int page_xfer_conn_fd(const struct page_xfer *x);

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
 * xfer_read_regions() of a frozen process for pages lying among others
 * known without reading them: before rb gets the pages read at an
 * address a, known(arg, a) adds to rb every known page below a, and
 * known(arg, UINT64_MAX) the rest at the end, so that the runs stay in
 * address order while the reads and sends are batched across the known
 * pages (a busy guest's last dirty pages lie one by one among the copies
 * of the rounds: a buffer, a read and a send each, they went at 100-200
 * MB/s). Not for a lazy VMA.
 */
int xfer_read_between(struct page_xfer *x, pid_t pid,
		      const struct page_region *regs, size_t nr,
		      struct run_builder *rb,
		      int (*known)(void *arg, uint64_t below), void *arg);
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

/*
 * The local, uncompressed pages file, written meanwhile by another path
 * (page-splice.h) at x->offset: begin waits until everything submitted
 * is written and returns the file's fd (-1: x is not that kind, -2: a
 * write failed, logged); then, with nothing submitted meanwhile, room()
 * preallocates len more bytes and wrote() says len more bytes (taking
 * ns) are there, from one thread at a time. can_direct: x is that kind.
 */
bool page_xfer_can_direct(const struct page_xfer *x);
int page_xfer_direct_begin(struct page_xfer *x);
void page_xfer_direct_room(struct page_xfer *x, uint64_t len);
void page_xfer_direct_wrote(struct page_xfer *x, uint64_t len, uint64_t ns);

/* Pages of [start, end) a process owns (present or swapped, neither file
 * pages nor the zero page), by PAGEMAP_SCAN on its pagemap fd. */
int scan_owned_pages(int pagemap_fd, uint64_t start, uint64_t end,
		     struct page_region **out, size_t *nr);

#endif
