/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Where restore reads page data from: the local pages image (mapped), or a
 * page server on another host (criu-lite page-server) over TCP. One ops
 * table, chosen once by restore; memory code and the lazy-pages daemon only
 * ask for "len bytes at offset".
 *
 * Wire protocol (little endian): on connect the server sends
 *   u32 magic "CLPS" | u32 version | u64 size of the pages image
 * then answers each request  u64 offset | u32 len  (len <= 8 MiB) with
 * exactly len bytes; a bad request closes the connection.
 */
#ifndef CRIU_LITE_PAGE_SOURCE_H
#define CRIU_LITE_PAGE_SOURCE_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pagemap.pb-c.h"

#define PS_MAGIC	0x53504c43u	/* "CLPS" */
#define PS_VERSION	1
#define PS_MAX_REQ	(8u << 20)

struct page_source;

struct page_source_ops {
	/* len bytes at offset; valid until the next call. NULL on error. */
	const uint8_t *(*get)(struct page_source *s, uint64_t off, size_t len);
	void (*close)(struct page_source *s);
};

/* A pages file of a layer chain (layers.h), at base in the offsets of a
 * local source. */
struct page_part {
	int dirfd;
	const char *file;	/* its name in dirfd */
	char name[PATH_MAX];	/* for messages: DIR/parent/pages-1.img */
	uint64_t base, size;
};

struct page_source {
	const struct page_source_ops *ops;
	uint64_t size;			/* of the pages image(s) */
	const uint8_t *map;		/* local: the whole image, else NULL */
	struct page_part *parts;	/* local: the files mapped at map */
	size_t nr_parts;
	int fd;				/* remote: the connection */
	uint8_t *buf;			/* remote: the last answer */
	char name[80];			/* for messages */
	uint64_t bytes_fetched;
};

/*
 * Page data checked on the way in: pages [first, first + nr) of the stored
 * run e, taken from s, against the run's page checksums. A mismatch is
 * logged naming the source, the page's address and pid, and gives NULL,
 * as does a failed get. Every path that puts image pages into a process
 * goes through here unless restore --no-verify.
 */
const uint8_t *page_source_get_checked(struct page_source *s,
				       const PagemapEntry *e, uint32_t first,
				       uint32_t nr, int pid);
/* A run's page checksums agree with it (count and fold); logged if not. */
int pagemap_run_csums_ok(const PagemapEntry *e, int pid);

/* The local image, mmap'ed (pre-faulted unless lazy). */
int page_source_open_local(struct page_source *s, int dirfd, const char *name,
			   bool populate);
/* The pages files of a layer chain, each mapped at its base; the first
 * (DIR's own) pre-faulted if populate, the parents' as they are used. */
int page_source_open_parts(struct page_source *s, const struct page_part *p,
			   size_t n, bool populate);
/* A page server at "HOST:PORT". */
int page_source_open_remote(struct page_source *s, const char *addr);

/* criu-lite page-server: serves DIR's pages image to one client. */
int serve_pages(const char *dir, const char *addr, unsigned port);

#endif
