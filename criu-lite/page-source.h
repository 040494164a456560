/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Where restore reads page data from: the local pages image (mapped, or,
 * compressed by dump --compress, decompressed frame by frame as asked), or
 * a page server on another host (criu-lite page-server) over TCP. One ops
 * table, chosen once by restore; memory code and the lazy-pages daemon only
 * ask for "len bytes at offset" of the page stream (the offsets of the
 * pagemap runs, whatever the image's compression).
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

struct frame_reader;

struct page_source {
	const struct page_source_ops *ops;
	uint64_t size;			/* of the page stream */
	const uint8_t *map;		/* the whole page stream mapped, or NULL */
	struct page_part *parts;	/* a layer chain: the files mapped at map */
	size_t nr_parts;
	bool remote;			/* a page server */
	bool checked;			/* every stored byte checked at open */
	struct frame_reader *frames;	/* a compressed image, else NULL */
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
/*
 * Whether restore reads and checks the pages it will write before it
 * creates anything (check_page_data): yes for a local image, unless it is
 * compressed and was opened whole (its every frame was checked against
 * its checksum then, and the pages are checked as they are decompressed);
 * a page server's pages are checked as they arrive.
 */
bool page_source_check_first(const struct page_source *s);

/*
 * The local image pages-<id>.img, compressed with codec (PAGES_CODEC_*,
 * inventory.img's; then with its index pages-index-<id>.img). whole: all
 * of it will be read (a full restore): a plain image is mapped pre-faulted,
 * a compressed one has every frame checked now; else (lazy restore, the
 * page server) it is read as asked, each frame checked when first read.
 * Requests are at most PS_MAX_REQ bytes.
 */
int page_source_open_local(struct page_source *s, int dirfd, unsigned id,
			   unsigned codec, bool whole);
/*
 * A compressed image decompressed whole into memory, s->map set as for a
 * plain image (then read, and its pages checked, as one): for a restore
 * whose copy-on-write plan compares and copies stored pages by address
 * (cow.h). No-op for a plain image.
 */
int page_source_inflate(struct page_source *s);
/* The pages files of a layer chain (layers.h), plain (a chain is never
 * compressed), each mapped at its base; the first (DIR's own) pre-faulted if
 * populate, the parents' as they are used. */
int page_source_open_parts(struct page_source *s, const struct page_part *p,
			   size_t n, bool populate);
/* A page server at "HOST:PORT". */
int page_source_open_remote(struct page_source *s, const char *addr);

/* The server's side of a PULL connection c: DIR's pages image. */
int serve_pull(int c, const char *dir);

#endif
