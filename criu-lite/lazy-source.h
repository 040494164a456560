/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The source side of a lazy dump (dump --lazy-pages, migrate --postcopy):
 * the pages of the large anonymous VMAs are not written; the pagemap says
 * where they are (PE_LAZY runs at offsets from PS_LAZY_BASE on), the tree
 * stays frozen, and its memory is the page source the destination's
 * lazy-pages daemons pull from (page-source.h protocol, any number of
 * connections, one per restored process and more after reconnects).
 *
 * The tree may go only once every process with lazy runs was reported
 * done by the destination (PS_REQ_DONE). If no request comes for the
 * timeout (destination killed, link cut for good) lazy_source_serve fails:
 * no page was lost, and the caller decides what becomes of the tree.
 */
#ifndef CRIU_LITE_LAZY_SOURCE_H
#define CRIU_LITE_LAZY_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "page-source.h"

struct lazy_span {
	pid_t pid, vpid;	/* where the pages are read, its image pid */
	uint64_t vaddr, off;	/* off: in the page stream */
	uint64_t len;
};

struct lazy_source {
	struct lazy_span *spans;	/* by offset */
	size_t nr, cap;
	uint64_t end;			/* PS_LAZY_BASE + bytes assigned */
	int listen_fd;
	const struct tls_opts *tls;	/* NULL or !on: plain */
	char addr[280];			/* where it listens, HOST:PORT */
	struct page_source stored;	/* the pages written (or none) */
	bool have_stored;
	struct page_source src;		/* what is served: both */
	uint8_t *buf;
	/* watched while serving (migrate: the destination's reply): watch()
	 * is called when watch_fd is readable; 0 goes on (it may set watch_fd
	 * to -1), else serving ends with that value */
	int watch_fd;
	int (*watch)(struct lazy_source *ls, void *arg);
	void *watch_arg;
	/* asked on each turn: a stop signal that came (taken), or 0. Before
	 * the destination's first request it ends the serving (the tree runs
	 * on here); after it, it is said and ignored (the destination runs
	 * the tree on this memory) */
	int (*stop)(void *arg);
	void *stop_arg;
	/* figures */
	struct serve_tally served;	/* faults (pulled) and pushes */
	uint64_t lazy_bytes;		/* of it, from the frozen memory */
	uint64_t conns;
	uint64_t first_request_ns, all_done_ns;
};

/* Listens at addr:port (port 0: any free one; addr NULL: every address);
 * clients must speak TLS with tls->on (tls stays valid while ls is used). */
int lazy_source_listen(struct lazy_source *ls, const char *addr, unsigned port,
		       const struct tls_opts *tls);
/* The pages [vaddr, vaddr+len) of pid (image pid vpid) are served from
 * memory; *off is their offset in the page stream. */
int lazy_source_add(struct lazy_source *ls, pid_t pid, pid_t vpid,
		    uint64_t vaddr, uint64_t len, uint64_t *off);
/* Serves until every process with lazy pages was reported done (0), or
 * no request came for timeout_s seconds (-1, logged); a progress line a
 * second meanwhile (pulled, pushed, left, requests), at level info.
 * stored_dirfd: the dump's images (its pages-1.img is served below
 * PS_LAZY_BASE), or -1. */
int lazy_source_serve(struct lazy_source *ls, int stored_dirfd,
		      unsigned timeout_s);
void lazy_source_free(struct lazy_source *ls);

#endif
