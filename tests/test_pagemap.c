// SPDX-License-Identifier: GPL-2.0
/*
 * Zero-page elision and checksums (images/pagemap.h): the run builder
 * splits pages into zero and non-zero runs, merges runs across calls when
 * they are contiguous and of one kind, hands over exactly the bytes of the
 * non-zero runs with matching offsets, splits at max_run_pages, and gives a
 * run the same checksum however the caller cut it into calls; with
 * placement, pages with a place are stored there whenever copied.
 */
#include "testlib.h"

#include "csum.h"
#include "pagemap.h"

#define MAX_RUNS	64
#define BASE		0x7f0000000000ULL

/* What the builder emitted: the runs and the concatenated data. */
struct sink {
	struct page_run runs[MAX_RUNS];
	size_t nr;
	uint8_t *data;
	size_t len, cap;
	int fail_emit_at;	/* emit() fails on this run (1-based), 0: never */
	int fail_data;
};

static int sink_emit(void *arg, const struct page_run *run)
{
	struct sink *s = arg;

	if (s->fail_emit_at && (int)s->nr + 1 == s->fail_emit_at)
		return -1;
	assert_true(s->nr < MAX_RUNS);
	/* a stored run hands over its page checksums, which fold into its
	 * checksum (the pointer is the builder's: valid during emit only) */
	if (run->flags & PE_PRESENT)
		assert_int_equal(run_csum_of(run->page_csums, run->nr_pages),
				 run->checksum);
	s->runs[s->nr++] = *run;
	s->runs[s->nr - 1].page_csums = NULL;
	return 0;
}

static int sink_data(void *arg, const void *buf, size_t len,
		     const uint32_t *csums)
{
	struct sink *s = arg;

	/* the checksums handed over are those of the bytes */
	for (size_t i = 0; i < len / PAGE_SZ; i++)
		assert_int_equal(csums[i],
				 page_csum((const uint8_t *)buf + i * PAGE_SZ));
	if (s->fail_data)
		return -1;
	if (s->len + len > s->cap) {
		s->cap = (s->len + len) * 2;
		s->data = realloc(s->data, s->cap);
		assert_non_null(s->data);
	}
	memcpy(s->data + s->len, buf, len);
	s->len += len;
	return 0;
}

static void sink_init(struct sink *s, struct run_builder *rb)
{
	memset(s, 0, sizeof(*s));
	run_builder_init(rb, sink_emit, sink_data, s);
}

/* nr pages; page i is zero where pattern[i] == '0', else filled with
 * bytes derived from i and pattern[i] */
static uint8_t *pages(const char *pattern)
{
	size_t nr = strlen(pattern);
	uint8_t *p = aligned_alloc(PAGE_SZ, nr * PAGE_SZ);

	assert_non_null(p);
	memset(p, 0, nr * PAGE_SZ);
	for (size_t i = 0; i < nr; i++) {
		if (pattern[i] == '0')
			continue;
		for (size_t b = 0; b < PAGE_SZ; b++)
			p[i * PAGE_SZ + b] = (uint8_t)(i * 13 + b * 7 + pattern[i]);
	}
	return p;
}

static uint64_t chained(const uint8_t *p, size_t nr)
{
	uint64_t c = CSUM_SEED;

	for (size_t i = 0; i < nr; i++)
		c = run_csum_fold(c, page_csum(p + i * PAGE_SZ));
	return c;
}

static void assert_run(const struct page_run *r, uint64_t vaddr,
		       uint32_t nr, uint32_t flags)
{
	if (r->vaddr != vaddr || r->nr_pages != nr || r->flags != flags)
		fail_msg("run {%#llx, %u pages, flags %#x}, want "
			 "{%#llx, %u pages, flags %#x}",
			 (unsigned long long)r->vaddr, r->nr_pages, r->flags,
			 (unsigned long long)vaddr, nr, flags);
}

static void test_page_is_zero(void **state)
{
	uint64_t *p = aligned_alloc(PAGE_SZ, PAGE_SZ);
	uint8_t *b = (uint8_t *)p;

	(void)state;
	memset(p, 0, PAGE_SZ);
	assert_true(page_is_zero(p));
	/* one set bit anywhere makes it non-zero */
	for (size_t i = 0; i < PAGE_SZ; i++) {
		for (int bit = 0; bit < 8; bit += 7) {
			b[i] = 1 << bit;
			if (page_is_zero(p))
				fail_msg("page with byte %zu = %#x seen as zero",
					 i, b[i]);
			b[i] = 0;
		}
	}
	assert_true(page_is_zero(p));
	free(p);
}

#define GOLDEN_ZERO	0x5bad4d0cu
#define GOLDEN_PAGE	0x0658b578u
#define GOLDEN_RUN	0xf09ffffe9812cba4ull

static void test_checksum_properties(void **state)
{
	uint8_t *p = pages("1"), *q = pages("1");
	uint32_t c = page_csum(p);

	(void)state;
	assert_int_equal(c, page_csum(q));
	/* any one flipped bit changes it, in every lane and word */
	for (size_t bit = 0; bit < PAGE_SZ * 8; bit++) {
		q[bit / 8] ^= 1 << (bit % 8);
		if (page_csum(q) == c)
			fail_msg("flipping bit %zu kept the checksum", bit);
		q[bit / 8] ^= 1 << (bit % 8);
	}
	/* swapping two words changes it (lanes are not simply XORed) */
	memcpy(q, p + 8, 8);
	memcpy(q + 8, p, 8);
	assert_int_not_equal(page_csum(q), c);
	free(p);
	free(q);
}

/* The table path gives exactly what the crc32 instruction gives: images
 * move between machines with and without SSE4.2. */
static void test_checksum_hw_sw(void **state)
{
	uint8_t *p = pages("1");
	uint8_t buf[100];

	(void)state;
	for (int i = 0; i < 64; i++) {
		p[i * 61 % PAGE_SZ] ^= (uint8_t)(i * 37 + 1);
		assert_int_equal(page_crc(p), page_crc_sw(p));
	}
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 7 + 3);
	for (size_t len = 0; len <= sizeof(buf); len++)
		assert_int_equal(crc32c(buf, len), crc32c_update_sw(0, buf, len));
	/* continuing a CRC is the CRC of the whole */
	assert_int_equal(crc32c_update(crc32c(buf, 37), buf + 37, 63),
			 crc32c(buf, 100));
	free(p);
}

/*
 * Images carry checksums: a change to the functions makes restore reject
 * every image written before it. These values pin them down (the CRC-32C
 * check value of "123456789" is the standard one); change them only
 * together with IMG_FORMAT.
 */
static void test_checksum_golden(void **state)
{
	uint8_t *p = pages("1");
	uint8_t *z = pages("0");

	(void)state;
	assert_int_equal(crc32c("123456789", 9), 0xe3069283);
	assert_int_equal(page_csum(z), GOLDEN_ZERO);
	assert_int_equal(page_csum(p), GOLDEN_PAGE);
	assert_int_equal(run_csum_of((uint32_t[]){ 1, 2, 3 }, 3), GOLDEN_RUN);
	free(p);
	free(z);
}

/* pages_check finds the first page that does not match its checksum. */
static void test_pages_check(void **state)
{
	uint8_t *p = pages("1A0B");
	uint32_t cs[4];

	(void)state;
	for (int i = 0; i < 4; i++)
		cs[i] = page_csum(p + i * PAGE_SZ);
	assert_int_equal(pages_check(cs, 0, p, 4), -1);
	assert_int_equal(pages_check(cs, 1, p + PAGE_SZ, 3), -1);
	p[2 * PAGE_SZ + 100] ^= 4;
	assert_int_equal(pages_check(cs, 0, p, 4), 2);
	assert_int_equal(pages_check(cs, 2, p + 2 * PAGE_SZ, 2), 0);
	assert_int_equal(pages_check(cs, 3, p + 3 * PAGE_SZ, 1), -1);
	free(p);
}

static void test_split_zero_nonzero(void **state)
{
	/* D D 0 0 0 D 0 D D D */
	const char *pat = "AB000C0DEF";
	uint8_t *p = pages(pat);
	struct run_builder rb;
	struct sink s;

	(void)state;
	sink_init(&s, &rb);
	assert_int_equal(run_builder_add(&rb, BASE, p, 10), 0);
	assert_int_equal(run_builder_finish(&rb), 0);
	assert_int_equal(s.nr, 5);
	assert_run(&s.runs[0], BASE, 2, PE_PRESENT);
	assert_run(&s.runs[1], BASE + 2 * PAGE_SZ, 3, PE_ZERO);
	assert_run(&s.runs[2], BASE + 5 * PAGE_SZ, 1, PE_PRESENT);
	assert_run(&s.runs[3], BASE + 6 * PAGE_SZ, 1, PE_ZERO);
	assert_run(&s.runs[4], BASE + 7 * PAGE_SZ, 3, PE_PRESENT);
	/* offsets index the data stream; zero runs carry none */
	assert_int_equal(s.runs[0].offset, 0);
	assert_int_equal(s.runs[2].offset, 2 * PAGE_SZ);
	assert_int_equal(s.runs[4].offset, 3 * PAGE_SZ);
	assert_int_equal(s.runs[1].offset, 0);
	assert_int_equal(s.runs[1].checksum, 0);
	/* the data is exactly the non-zero pages, in order */
	assert_int_equal(s.len, 6 * PAGE_SZ);
	assert_memory_equal(s.data, p, 2 * PAGE_SZ);
	assert_memory_equal(s.data + 2 * PAGE_SZ, p + 5 * PAGE_SZ, PAGE_SZ);
	assert_memory_equal(s.data + 3 * PAGE_SZ, p + 7 * PAGE_SZ,
			    3 * PAGE_SZ);
	/* checksums chain page by page from CSUM_SEED */
	assert_int_equal(s.runs[0].checksum, chained(p, 2));
	assert_int_equal(s.runs[2].checksum, chained(p + 5 * PAGE_SZ, 1));
	assert_int_equal(s.runs[4].checksum, chained(p + 7 * PAGE_SZ, 3));
	free(s.data);
	free(p);
}

static void test_all_zero_no_data(void **state)
{
	uint8_t *p = pages("00000000");
	struct run_builder rb;
	struct sink s;

	(void)state;
	sink_init(&s, &rb);
	s.fail_data = 1;	/* data() must not be called at all */
	assert_int_equal(run_builder_add(&rb, BASE, p, 8), 0);
	assert_int_equal(run_builder_finish(&rb), 0);
	assert_int_equal(s.nr, 1);
	assert_run(&s.runs[0], BASE, 8, PE_ZERO);
	assert_int_equal(rb.next_offset, 0);
	free(p);
}

/* The offset of the first run starts where the sink already is. */
static void test_offset_continues(void **state)
{
	uint8_t *p = pages("A0B");
	struct run_builder rb;
	struct sink s;

	(void)state;
	sink_init(&s, &rb);
	rb.next_offset = 100 * PAGE_SZ;
	assert_int_equal(run_builder_add(&rb, BASE, p, 3), 0);
	assert_int_equal(run_builder_finish(&rb), 0);
	assert_int_equal(s.nr, 3);
	assert_int_equal(s.runs[0].offset, 100 * PAGE_SZ);
	assert_int_equal(s.runs[2].offset, 101 * PAGE_SZ);
	assert_int_equal(rb.next_offset, 102 * PAGE_SZ);
	free(s.data);
	free(p);
}

/* Placement: pages [BASE, BASE + 4 pages) have places from page 1000 of
 * the pages file on; the others are appended. */
#define PLACED_PAGES	4
#define PLACE_AT	(1000 * PAGE_SZ)

struct placed {
	uint64_t at[8];		/* data_at() offsets, in order */
	size_t nr, pages;
};

static uint64_t test_place(void *arg, uint64_t vaddr, size_t *pages)
{
	(void)arg;
	if (vaddr < BASE + PLACED_PAGES * PAGE_SZ) {
		*pages = (BASE + PLACED_PAGES * PAGE_SZ - vaddr) / PAGE_SZ;
		return PLACE_AT + (vaddr - BASE);
	}
	*pages = SIZE_MAX;
	return PLACE_NONE;
}

static struct placed placed_log;

static int test_data_at(void *arg, const void *buf, size_t len,
			const uint32_t *csums, uint64_t off)
{
	(void)arg;
	for (size_t i = 0; i < len / PAGE_SZ; i++)
		assert_int_equal(csums[i],
				 page_csum((const uint8_t *)buf + i * PAGE_SZ));
	assert_true(placed_log.nr < 8);
	placed_log.at[placed_log.nr++] = off;
	placed_log.pages += len / PAGE_SZ;
	return 0;
}

/* A page copied again goes to its place, not after what was appended; a
 * call across the end of the places is cut there; zero pages have no
 * data either way. */
static void test_placed(void **state)
{
	uint8_t *ab = pages("AB"), *c = pages("C"), *d = pages("D"),
		*e = pages("E"), *fgh = pages("F0H");
	struct run_builder rb;
	struct sink s;

	(void)state;
	memset(&placed_log, 0, sizeof(placed_log));
	sink_init(&s, &rb);
	run_builder_place(&rb, test_place, NULL, test_data_at);
	assert_int_equal(run_builder_add(&rb, BASE + 2 * PAGE_SZ, ab, 2), 0);
	assert_int_equal(run_builder_add(&rb, BASE + 8 * PAGE_SZ, c, 1), 0);
	assert_int_equal(run_builder_add(&rb, BASE, d, 1), 0);
	assert_int_equal(run_builder_add(&rb, BASE + 2 * PAGE_SZ, e, 1), 0);
	assert_int_equal(run_builder_add(&rb, BASE + 3 * PAGE_SZ, fgh, 3), 0);
	assert_int_equal(run_builder_finish(&rb), 0);
	assert_int_equal(s.nr, 6);
	assert_run(&s.runs[0], BASE + 2 * PAGE_SZ, 2, PE_PRESENT);
	assert_int_equal(s.runs[0].offset, PLACE_AT + 2 * PAGE_SZ);
	assert_run(&s.runs[1], BASE + 8 * PAGE_SZ, 1, PE_PRESENT);
	assert_int_equal(s.runs[1].offset, 0);
	assert_run(&s.runs[2], BASE, 1, PE_PRESENT);
	assert_int_equal(s.runs[2].offset, PLACE_AT);
	/* E at its place again, F (the next page) too: one run */
	assert_run(&s.runs[3], BASE + 2 * PAGE_SZ, 2, PE_PRESENT);
	assert_int_equal(s.runs[3].offset, PLACE_AT + 2 * PAGE_SZ);
	assert_int_equal(s.runs[3].checksum,
			 run_csum_fold(run_csum_fold(CSUM_SEED,
						     page_csum(e)),
				       page_csum(fgh)));
	assert_run(&s.runs[4], BASE + 4 * PAGE_SZ, 1, PE_ZERO);
	assert_run(&s.runs[5], BASE + 5 * PAGE_SZ, 1, PE_PRESENT);
	assert_int_equal(s.runs[5].offset, PAGE_SZ);
	/* appended: C and H only */
	assert_int_equal(s.len, 2 * PAGE_SZ);
	assert_memory_equal(s.data, c, PAGE_SZ);
	assert_memory_equal(s.data + PAGE_SZ, fgh + 2 * PAGE_SZ, PAGE_SZ);
	assert_int_equal(rb.next_offset, 2 * PAGE_SZ);
	/* placed: AB, D, E, F where they belong */
	assert_int_equal(placed_log.nr, 4);
	assert_int_equal(placed_log.pages, 5);
	assert_int_equal(placed_log.at[0], PLACE_AT + 2 * PAGE_SZ);
	assert_int_equal(placed_log.at[1], PLACE_AT);
	assert_int_equal(placed_log.at[2], PLACE_AT + 2 * PAGE_SZ);
	assert_int_equal(placed_log.at[3], PLACE_AT + 3 * PAGE_SZ);
	run_builder_release(&rb);
	free(s.data);
	free(ab);
	free(c);
	free(d);
	free(e);
	free(fgh);
}

static void test_merge_across_calls(void **state)
{
	const char *pat = "ABCD0000EF";
	uint8_t *p = pages(pat);
	struct run_builder rb;
	struct sink s;

	(void)state;
	sink_init(&s, &rb);
	/* contiguous calls, each boundary inside a run */
	assert_int_equal(run_builder_add(&rb, BASE, p, 1), 0);
	assert_int_equal(run_builder_add(&rb, BASE + PAGE_SZ, p + PAGE_SZ, 2), 0);
	assert_int_equal(run_builder_add(&rb, BASE + 3 * PAGE_SZ,
					 p + 3 * PAGE_SZ, 3), 0);
	assert_int_equal(run_builder_add(&rb, BASE + 6 * PAGE_SZ,
					 p + 6 * PAGE_SZ, 4), 0);
	assert_int_equal(run_builder_finish(&rb), 0);
	assert_int_equal(s.nr, 3);
	assert_run(&s.runs[0], BASE, 4, PE_PRESENT);
	assert_run(&s.runs[1], BASE + 4 * PAGE_SZ, 4, PE_ZERO);
	assert_run(&s.runs[2], BASE + 8 * PAGE_SZ, 2, PE_PRESENT);
	assert_int_equal(s.runs[0].checksum, chained(p, 4));
	assert_int_equal(s.runs[2].checksum, chained(p + 8 * PAGE_SZ, 2));
	assert_int_equal(s.runs[2].offset, 4 * PAGE_SZ);
	free(s.data);
	free(p);
}

static void test_no_merge_across_gap(void **state)
{
	uint8_t *p = pages("AB00");
	struct run_builder rb;
	struct sink s;

	(void)state;
	sink_init(&s, &rb);
	assert_int_equal(run_builder_add(&rb, BASE, p, 1), 0);
	/* one page hole: same kind, not contiguous */
	assert_int_equal(run_builder_add(&rb, BASE + 2 * PAGE_SZ,
					 p + PAGE_SZ, 1), 0);
	assert_int_equal(run_builder_add(&rb, BASE + 3 * PAGE_SZ,
					 p + 2 * PAGE_SZ, 1), 0);
	/* zero pages across a hole */
	assert_int_equal(run_builder_add(&rb, BASE + 5 * PAGE_SZ,
					 p + 3 * PAGE_SZ, 1), 0);
	assert_int_equal(run_builder_finish(&rb), 0);
	assert_int_equal(s.nr, 4);
	assert_run(&s.runs[0], BASE, 1, PE_PRESENT);
	assert_run(&s.runs[1], BASE + 2 * PAGE_SZ, 1, PE_PRESENT);
	assert_run(&s.runs[2], BASE + 3 * PAGE_SZ, 1, PE_ZERO);
	assert_run(&s.runs[3], BASE + 5 * PAGE_SZ, 1, PE_ZERO);
	/* the data stream has no hole: the second run follows the first */
	assert_int_equal(s.runs[1].offset, PAGE_SZ);
	free(s.data);
	free(p);
}

/* Run the same 12 pages through the builder cut at the given points. */
static void run_cut(const uint8_t *p, const size_t *cuts, size_t ncuts,
		    struct sink *s)
{
	struct run_builder rb;
	size_t from = 0;

	sink_init(s, &rb);
	for (size_t i = 0; i <= ncuts; i++) {
		size_t to = i < ncuts ? cuts[i] : 12;

		assert_int_equal(run_builder_add(&rb, BASE + from * PAGE_SZ,
						 p + from * PAGE_SZ, to - from), 0);
		from = to;
	}
	assert_int_equal(run_builder_finish(&rb), 0);
}

static void test_checksum_independent_of_split(void **state)
{
	const char *pat = "ABCDE00FGHIJ";
	static const size_t c1[] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11 };
	static const size_t c2[] = { 3 };
	static const size_t c3[] = { 5, 6, 10 };
	static const size_t c4[] = { 2, 9 };
	const size_t *cuts[] = { NULL, c1, c2, c3, c4 };
	const size_t ncuts[] = { 0, 11, 1, 3, 2 };
	uint8_t *p = pages(pat);
	struct sink ref, s;

	(void)state;
	run_cut(p, NULL, 0, &ref);
	assert_int_equal(ref.nr, 3);
	assert_int_equal(ref.runs[0].checksum, chained(p, 5));
	assert_int_equal(ref.runs[2].checksum, chained(p + 7 * PAGE_SZ, 5));
	for (size_t k = 1; k < 5; k++) {
		run_cut(p, cuts[k], ncuts[k], &s);
		assert_int_equal(s.nr, ref.nr);
		for (size_t i = 0; i < s.nr; i++) {
			assert_memory_equal(&s.runs[i], &ref.runs[i],
					    sizeof(s.runs[i]));
		}
		assert_int_equal(s.len, ref.len);
		assert_memory_equal(s.data, ref.data, s.len);
		free(s.data);
	}
	free(ref.data);
	free(p);
}

/* Runs longer than max_run_pages are split, each part a run of its own
 * with its own checksum and offset, when the pages come one call each. */
static void test_max_run_pages_across_calls(void **state)
{
	uint8_t *p = pages("ABCDEFGH");
	struct run_builder rb;
	struct sink s;

	(void)state;
	sink_init(&s, &rb);
	rb.max_run_pages = 3;
	for (size_t i = 0; i < 8; i++)
		assert_int_equal(run_builder_add(&rb, BASE + i * PAGE_SZ,
						 p + i * PAGE_SZ, 1), 0);
	assert_int_equal(run_builder_finish(&rb), 0);
	assert_int_equal(s.nr, 3);
	assert_run(&s.runs[0], BASE, 3, PE_PRESENT);
	assert_run(&s.runs[1], BASE + 3 * PAGE_SZ, 3, PE_PRESENT);
	assert_run(&s.runs[2], BASE + 6 * PAGE_SZ, 2, PE_PRESENT);
	assert_int_equal(s.runs[1].offset, 3 * PAGE_SZ);
	assert_int_equal(s.runs[2].offset, 6 * PAGE_SZ);
	assert_int_equal(s.runs[1].checksum, chained(p + 3 * PAGE_SZ, 3));
	assert_int_equal(s.runs[2].checksum, chained(p + 6 * PAGE_SZ, 2));
	free(s.data);
	free(p);
}

/* The same, with all pages in one call: the limit must still hold. */
static void test_max_run_pages_one_call(void **state)
{
	uint8_t *p = pages("ABCDEFGH00000000");
	struct run_builder rb;
	struct sink s;

	(void)state;
	sink_init(&s, &rb);
	rb.max_run_pages = 3;
	assert_int_equal(run_builder_add(&rb, BASE, p, 16), 0);
	assert_int_equal(run_builder_finish(&rb), 0);
	for (size_t i = 0; i < s.nr; i++)
		if (s.runs[i].nr_pages > 3)
			fail_msg("run %zu has %u pages > max_run_pages 3", i,
				 s.runs[i].nr_pages);
	assert_int_equal(s.nr, 3 + 3);
	assert_int_equal(s.runs[2].checksum, chained(p + 6 * PAGE_SZ, 2));
	free(s.data);
	free(p);
}

/* Pages known without reading them: no data, no checksum, and they merge
 * only with their own kind. */
static void test_flagged(void **state)
{
	uint8_t *p = pages("A");
	struct run_builder rb;
	struct sink s;

	(void)state;
	sink_init(&s, &rb);
	assert_int_equal(run_builder_add_flagged(&rb, BASE, 2, PE_PARENT), 0);
	assert_int_equal(run_builder_add_flagged(&rb, BASE + 2 * PAGE_SZ, 3,
						 PE_PARENT), 0);
	assert_int_equal(run_builder_add(&rb, BASE + 5 * PAGE_SZ, p, 1), 0);
	assert_int_equal(run_builder_add_flagged(&rb, BASE + 6 * PAGE_SZ, 1,
						 PE_ZERO), 0);
	assert_int_equal(run_builder_add_flagged(&rb, BASE + 7 * PAGE_SZ, 1,
						 PE_PARENT), 0);
	assert_int_equal(run_builder_finish(&rb), 0);
	assert_int_equal(s.nr, 4);
	assert_run(&s.runs[0], BASE, 5, PE_PARENT);
	assert_run(&s.runs[1], BASE + 5 * PAGE_SZ, 1, PE_PRESENT);
	assert_run(&s.runs[2], BASE + 6 * PAGE_SZ, 1, PE_ZERO);
	assert_run(&s.runs[3], BASE + 7 * PAGE_SZ, 1, PE_PARENT);
	assert_int_equal(s.runs[0].checksum, 0);
	assert_int_equal(s.runs[0].offset, 0);
	assert_int_equal(s.runs[1].offset, 0);
	assert_int_equal(s.len, PAGE_SZ);
	free(s.data);
	free(p);
}

/* A flagged zero run merges with zero pages found by reading. */
static void test_flagged_zero_merges_with_read_zero(void **state)
{
	uint8_t *p = pages("00");
	struct run_builder rb;
	struct sink s;

	(void)state;
	sink_init(&s, &rb);
	assert_int_equal(run_builder_add_flagged(&rb, BASE, 4, PE_ZERO), 0);
	assert_int_equal(run_builder_add(&rb, BASE + 4 * PAGE_SZ, p, 2), 0);
	assert_int_equal(run_builder_finish(&rb), 0);
	assert_int_equal(s.nr, 1);
	assert_run(&s.runs[0], BASE, 6, PE_ZERO);
	free(p);
}

static void test_errors_propagate(void **state)
{
	uint8_t *p = pages("A0B");
	struct run_builder rb;
	struct sink s;

	(void)state;
	sink_init(&s, &rb);
	s.fail_data = 1;
	assert_int_equal(run_builder_add(&rb, BASE, p, 3), -1);
	free(s.data);

	sink_init(&s, &rb);
	s.fail_emit_at = 1;	/* the first run is emitted when the 2nd starts */
	assert_int_equal(run_builder_add(&rb, BASE, p, 3), -1);
	free(s.data);

	sink_init(&s, &rb);
	s.fail_emit_at = 3;	/* the last run is emitted by finish */
	assert_int_equal(run_builder_add(&rb, BASE, p, 3), 0);
	assert_int_equal(run_builder_finish(&rb), -1);
	free(s.data);
	free(p);
}

static void test_finish_empty(void **state)
{
	struct run_builder rb;
	struct sink s;

	(void)state;
	sink_init(&s, &rb);
	assert_int_equal(run_builder_finish(&rb), 0);
	assert_int_equal(s.nr, 0);
	assert_int_equal(rb.max_run_pages, 1 << 18);	/* 1 GiB */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_page_is_zero),
		cmocka_unit_test(test_checksum_properties),
		cmocka_unit_test(test_checksum_hw_sw),
		cmocka_unit_test(test_checksum_golden),
		cmocka_unit_test(test_pages_check),
		cmocka_unit_test(test_split_zero_nonzero),
		cmocka_unit_test(test_all_zero_no_data),
		cmocka_unit_test(test_offset_continues),
		cmocka_unit_test(test_placed),
		cmocka_unit_test(test_merge_across_calls),
		cmocka_unit_test(test_no_merge_across_gap),
		cmocka_unit_test(test_checksum_independent_of_split),
		cmocka_unit_test(test_max_run_pages_across_calls),
		cmocka_unit_test(test_max_run_pages_one_call),
		cmocka_unit_test(test_flagged),
		cmocka_unit_test(test_flagged_zero_merges_with_read_zero),
		cmocka_unit_test(test_errors_propagate),
		cmocka_unit_test(test_finish_empty),
	};

	return cmocka_run_group_tests_name("pagemap", tests, NULL, NULL);
}
