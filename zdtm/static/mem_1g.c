// SPDX-License-Identifier: GPL-2.0
/*
 * mem_1g: a large private anonymous mapping (1 GiB, or ZDTM_MEM_MB MiB) with
 * pages of four kinds, by page index i:
 *   i % 64 == 0        fully patterned (every u64 derived from i and offset)
 *   i % 16 == 7        written with zeros (present, but all zero)
 *   i % 16 == 15       never touched (not present, must read as zero)
 *   last 1/8 of area   never touched (one long hole)
 *   otherwise          one u64 derived from i, at an offset that moves
 *                      with i; the rest of the page is zero
 * After restore every page must hold exactly what was written.
 *
 * Corrupt points: word, full, hole.
 *   (a single-word page, a fully patterned page, an untouched page changes)
 */
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "zdtmtst.h"

#define SEED 0x6d656d5f31670000ULL

enum page_kind { PAGE_FULL, PAGE_ZERO_WRITTEN, PAGE_HOLE, PAGE_WORD };

struct area {
	uint8_t *base;
	size_t nr_pages;
	size_t page_size;
};

static enum page_kind page_kind(const struct area *a, size_t i)
{
	if (i >= a->nr_pages - a->nr_pages / 8)
		return PAGE_HOLE;
	if (i % 64 == 0)
		return PAGE_FULL;
	if (i % 16 == 7)
		return PAGE_ZERO_WRITTEN;
	if (i % 16 == 15)
		return PAGE_HOLE;
	return PAGE_WORD;
}

static size_t word_slot(const struct area *a, size_t i)
{
	return (i * 7) % (a->page_size / 8);
}

static uint64_t word_value(size_t i)
{
	return test_mix64(SEED + i) | 1;	/* never zero */
}

static uint64_t full_value(size_t i, size_t w)
{
	return test_mix64(SEED ^ (i << 20) ^ w);
}

static void fill_page(struct area *a, size_t i)
{
	uint64_t *p = (uint64_t *)(a->base + i * a->page_size);
	size_t w, words = a->page_size / 8;

	switch (page_kind(a, i)) {
	case PAGE_FULL:
		for (w = 0; w < words; w++)
			p[w] = full_value(i, w);
		break;
	case PAGE_ZERO_WRITTEN:
		memset(p, 0, a->page_size);
		break;
	case PAGE_WORD:
		p[word_slot(a, i)] = word_value(i);
		break;
	case PAGE_HOLE:
		break;
	}
}

/* Returns the index of the first wrong word of page @i, or -1. */
static long check_page(const struct area *a, size_t i)
{
	const uint64_t *p = (const uint64_t *)(a->base + i * a->page_size);
	size_t w, words = a->page_size / 8;
	enum page_kind kind = page_kind(a, i);

	for (w = 0; w < words; w++) {
		uint64_t want = 0;

		if (kind == PAGE_FULL)
			want = full_value(i, w);
		else if (kind == PAGE_WORD && w == word_slot(a, i))
			want = word_value(i);
		if (p[w] != want)
			return w;
	}
	return -1;
}

static void corrupt(struct area *a)
{
	size_t ps = a->page_size;

	if (test_corrupt("word"))
		a->base[5 * ps + word_slot(a, 5) * 8] ^= 0x10;
	if (test_corrupt("full"))
		a->base[64 * ps + 100] ^= 0x01;
	if (test_corrupt("hole"))
		a->base[15 * ps + 200] = 1;
}

int main(int argc, char **argv)
{
	struct area a = { .page_size = sysconf(_SC_PAGESIZE) };
	size_t mb = test_env_ul("ZDTM_MEM_MB", 1024), i, bad = 0;
	uint64_t t0;

	test_init(argc, argv);
	if (mb < 1)
		mb = 1;
	a.nr_pages = (mb << 20) / a.page_size;
	a.base = mmap(NULL, a.nr_pages * a.page_size, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (a.base == MAP_FAILED)
		test_abort("mmap %zu MiB: %m", mb);

	t0 = test_now_ns();
	for (i = 0; i < a.nr_pages; i++)
		fill_page(&a, i);
	test_msg("mem: %zu MiB at %p filled in %lu ms", mb, (void *)a.base,
		 (unsigned long)((test_now_ns() - t0) / 1000000));

	test_ready();
	test_wait_term();

	corrupt(&a);
	t0 = test_now_ns();
	for (i = 0; i < a.nr_pages; i++) {
		long w = check_page(&a, i);

		if (w < 0)
			continue;
		if (bad++ < 5)
			test_fail("page %zu (kind %d) word %ld: %#lx", i,
				  page_kind(&a, i), w,
				  (unsigned long)((uint64_t *)(a.base +
					i * a.page_size))[w]);
	}
	if (bad)
		test_fail("%zu of %zu pages differ", bad, a.nr_pages);
	test_msg("mem: checked in %lu ms",
		 (unsigned long)((test_now_ns() - t0) / 1000000));
	test_done();
}
