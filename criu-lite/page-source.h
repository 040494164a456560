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
 *   u32 magic "CLPS" | u32 version | u64 size of the page stream
 * then answers each request  u64 offset | u32 len  (page aligned, len <=
 * 8 MiB) with exactly len bytes followed by one u32 page_crc() per page:
 * the client checks every page on arrival. A bad request closes the
 * connection. Offsets from PS_LAZY_BASE on are pages a dump --lazy-pages
 * left in the frozen tree (pagemap runs flagged PE_LAZY): the server reads
 * them from its memory. The request offset PS_REQ_DONE, len VPID says
 * "every page of process VPID is in" (answered with a u32 0): the source
 * of a lazy dump lets its tree go once every process said so.
 */
#ifndef CRIU_LITE_PAGE_SOURCE_H
#define CRIU_LITE_PAGE_SOURCE_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pagemap.pb-c.h"

#define PS_MAGIC	0x53504c43u	/* "CLPS" */
#define PS_VERSION	2
#define PS_MAX_REQ	(8u << 20)
#define PS_LAZY_BASE	(1ULL << 62)
#define PS_REQ_DONE	UINT64_MAX

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
struct conn;
struct tls_opts;

struct page_source {
	const struct page_source_ops *ops;
	uint64_t size;			/* of the page stream */
	const uint8_t *map;		/* the whole page stream mapped, or NULL */
	struct page_part *parts;	/* a layer chain: the files mapped at map */
	size_t nr_parts;
	bool remote;			/* a page server */
	bool checked;			/* every stored byte checked at open */
	struct frame_reader *frames;	/* a compressed image, else NULL */
	struct conn *conn;		/* remote: the connection */
	const struct tls_opts *tls;	/* remote: TLS (NULL: plain) */
	uint8_t *buf;			/* remote: the last answer */
	struct page_source *near;	/* remote: the stored pages, read here
					 * (offsets below PS_LAZY_BASE) */
	char addr[280];			/* remote: HOST:PORT */
	unsigned retry_s;		/* remote: reconnect for this long */
	char name[80];			/* for messages */
	uint64_t bytes_fetched;
	bool fault;			/* remote: the next gets serve a page
					 * fault (counted apart by the server:
					 * pulled, not pushed) */
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
 * populate, the parents' as they are used; read ahead if readahead (not
 * for files just received: what arrived is in the page cache, and a
 * migration's pages file is sparse, its holes would be read as zeros). */
int page_source_open_parts(struct page_source *s, const struct page_part *p,
			   size_t n, bool populate, bool readahead);
/* A page server at "HOST:PORT" (TLS with tls->on; tls may be NULL, and
 * must stay valid while s is used: reconnections use it). */
int page_source_open_remote(struct page_source *s, const char *addr,
			    const struct tls_opts *tls);
/* Remote: another connection to the same server (a lazy-pages daemon's
 * own), s's connection dropped here without a word to the server. */
int page_source_reconnect(struct page_source *s);
/* Remote: the server is told every page of process vpid is in; 0 once it
 * acknowledged. */
int page_source_done(struct page_source *s, int vpid);
/* A request's len with this bit: it serves a page fault (the process
 * waits for it), not a background push. */
#define PS_REQ_FAULT	(1u << 31)

/* What a server sent: bytes in requests, those that served faults apart. */
struct serve_tally {
	uint64_t bytes, requests;
	uint64_t fault_bytes, fault_requests;
};

/* The greeting of a PULL connection: a page stream of size bytes. */
int serve_greet(struct conn *c, uint64_t size);
/* Serves one request of a PULL client on c from src (answer and page
 * checksums), counted in t; 2: served; 1: the client said a process is
 * done (*done_vpid); 0: the client left; -1: bad request or the
 * connection failed (logged). */
int serve_request(struct conn *c, struct page_source *src, const char *name,
		  int *done_vpid, struct serve_tally *t);

/* The server's side of a PULL connection c: DIR's pages image; a client
 * that asks nothing (or takes nothing) for idle_s seconds is dropped. */
int serve_pull(struct conn *c, const char *dir, unsigned idle_s);

#endif
