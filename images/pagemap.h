/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Page runs: how dumped memory is described. A run is a range of pages with
 * one flag: PE_PRESENT (data stored in pages-<id>.img at .offset), PE_ZERO
 * (all zero, not stored), PE_PARENT (unchanged since the parent layer),
 * PE_LAZY (stored, but restored on fault). Each stored run carries one
 * checksum per page and their fold, so that restore can check every page
 * it takes from an image or a page server, whole runs or pieces of them.
 */
#ifndef CRIU_LITE_PAGEMAP_H
#define CRIU_LITE_PAGEMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PAGE_SZ		4096UL

enum {
	PE_PRESENT = 1 << 0,
	PE_ZERO    = 1 << 1,
	PE_PARENT  = 1 << 2,
	PE_LAZY    = 1 << 3,
};

/* true if the page at p (PAGE_SZ bytes, 8-byte aligned) is all zero */
bool page_is_zero(const void *p);
/* A page's checksum (page_crc of images/csum.h), and a run's: PE_PRESENT
 * runs fold their pages' checksums in order, from CSUM_SEED (so pages
 * copied at different times can make one run); other runs carry 0
 * (PE_ZERO is checked by being 0). */
uint32_t page_csum(const void *page);
uint64_t run_csum_fold(uint64_t h, uint32_t page_sum);
uint64_t run_csum_of(const uint32_t *page_csums, size_t nr);
#define CSUM_SEED	0x9e3779b97f4a7c15ULL

/*
 * Checks nr pages of data, pages [first, first + nr) of a stored run whose
 * page checksums are csums; the index of the first bad page, or -1.
 */
long pages_check(const uint32_t *csums, size_t first, const void *data,
		 size_t nr);

struct page_run {
	uint64_t vaddr;
	uint32_t nr_pages;
	uint32_t flags;
	uint64_t checksum;
	uint64_t offset;	/* in the pages file, for PE_PRESENT */
	uint32_t *page_csums;	/* PE_PRESENT: nr_pages of them */
};

/*
 * Splits a buffer of pages read from vaddr into runs of zero and non-zero
 * pages, merging with the previous run where contiguous and of the same
 * kind. emit() is called for each finished run; data() for the bytes of
 * each non-zero run, in order, so the caller can write them out.
 */
struct run_builder {
	struct page_run cur;
	bool have_cur;
	uint64_t next_offset;
	uint32_t max_run_pages;	/* split runs longer than this (0: 1 GiB) */
	uint32_t csum_cap;	/* room in cur.page_csums */
	int (*emit)(void *arg, const struct page_run *run);
	/* csums: the page checksums of the len bytes at buf */
	int (*data)(void *arg, const void *buf, size_t len,
		    const uint32_t *csums);
	void *arg;		/* of emit() */
	void *data_arg;		/* of data(): arg unless set apart */
	/* Placed pages (run_builder_place): a page with a fixed place in the
	 * pages file is stored there (data_at), whenever it is copied, and
	 * the others are appended at next_offset (data). */
	uint64_t (*place)(void *arg, uint64_t vaddr, size_t *pages);
	void *place_arg;
	int (*data_at)(void *arg, const void *buf, size_t len,
		       const uint32_t *csums, uint64_t off);
};

/* place() answers this for a page without a fixed place; *pages is then
 * how many pages from vaddr on have none. */
#define PLACE_NONE	UINT64_MAX
/* data() gets at most this many pages a call */
#define RB_CSUM_CHUNK	64

void run_builder_init(struct run_builder *rb,
		      int (*emit)(void *, const struct page_run *),
		      int (*data)(void *, const void *, size_t,
				  const uint32_t *), void *arg);
int run_builder_add(struct run_builder *rb, uint64_t vaddr, const void *buf,
		    size_t nr_pages);
/* Add pages that are known without reading them (PE_PARENT, PE_ZERO). */
int run_builder_add_flagged(struct run_builder *rb, uint64_t vaddr,
			    size_t nr_pages, uint32_t flags);
/* Pages already in the pages file at offset (contiguous), with their
 * checksums: copied in an earlier round and unchanged since. */
int run_builder_add_stored(struct run_builder *rb, uint64_t vaddr,
			   size_t nr_pages, uint64_t offset,
			   const uint32_t *csums);
/*
 * From now on the non-zero pages that place(place_arg, vaddr, &n) gives an
 * offset (n pages on from vaddr: the offsets that follow) are stored at
 * that offset through data_at(data_arg, ...), not appended: a page copied
 * again replaces its earlier copy, and the pages of a range stay one run
 * however often and in whatever order they were copied.
 */
void run_builder_place(struct run_builder *rb,
		       uint64_t (*place)(void *, uint64_t, size_t *),
		       void *place_arg,
		       int (*data_at)(void *, const void *, size_t,
				      const uint32_t *, uint64_t));
/* Emits the last run; the builder can go on with more pages after it. */
int run_builder_finish(struct run_builder *rb);
/* Frees what the builder holds. */
void run_builder_release(struct run_builder *rb);

#endif
