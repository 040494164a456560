// SPDX-License-Identifier: GPL-2.0
/*
 * Memory held by a migration's destination (criu-lite/prefill.h): which
 * VMAs can be taken from the held copy of the pages file (the range
 * matching), and, in this process, a held VMA put in place and made what
 * the final pagemap says: pages whose checksum changed copied from the
 * pages file, pages zero or missing zeroed, moved if it is MADV_HUGEPAGE
 * (as the buffer), else copied (no hg flag it did not have); an address
 * taken here left to the normal way.
 */
#include "testlib.h"

#include <sys/mman.h>
#include <sys/wait.h>

#include "csum.h"
#include "lazy.h"
#include "page-source.h"
#include "pagemap.h"
#include "prefill.h"

#define VA	0x300000000000UL	/* free in this test process */
#define PG(n)	(VA + (uint64_t)(n) * PAGE_SZ)
#define VMA_PAGES	256		/* 1 MiB: a lazy-sized VMA */

static PagemapEntry runs[8];
static PagemapEntry *pme[8];
static uint32_t sums[8][VMA_PAGES];

static size_t set_run(size_t i, unsigned first, unsigned nr, uint32_t flags,
		      uint64_t off)
{
	pagemap_entry__init(&runs[i]);
	runs[i].vaddr = PG(first);
	runs[i].nr_pages = nr;
	runs[i].flags = flags;
	if (flags & PE_PRESENT) {
		runs[i].has_offset = true;
		runs[i].offset = off;
		runs[i].n_page_csums = nr;
		runs[i].page_csums = sums[i];
	}
	pme[i] = &runs[i];
	return i + 1;
}

static void test_match(void **state)
{
	uint64_t base;
	size_t n;

	(void)state;
	/* one run at its place, a zero run, a hole: held at 8 pages */
	n = set_run(0, 0, 4, PE_PRESENT, 8 * PAGE_SZ);
	n = set_run(n, 4, 2, PE_ZERO, 0);
	n = set_run(n, 10, 2, PE_PRESENT, 18 * PAGE_SZ);
	assert_int_equal(prefill_match(VA, PG(16), pme, n, 24 * PAGE_SZ,
				       &base), 0);
	assert_int_equal(base, 8 * PAGE_SZ);
	/* the VMA's tail past what arrived: zero, fine */
	assert_int_equal(prefill_match(VA, PG(40), pme, n, 20 * PAGE_SZ,
				       &base), 0);
	/* a present run past what arrived */
	assert_int_equal(prefill_match(VA, PG(16), pme, n, 19 * PAGE_SZ,
				       &base), -1);
	/* a run that is not at base + (vaddr - start) */
	set_run(2, 10, 2, PE_PRESENT, 19 * PAGE_SZ);
	assert_int_equal(prefill_match(VA, PG(16), pme, n, 64 * PAGE_SZ,
				       &base), -1);
	/* a run across the VMA's end */
	set_run(2, 10, 8, PE_PRESENT, 18 * PAGE_SZ);
	assert_int_equal(prefill_match(VA, PG(16), pme, n, 64 * PAGE_SZ,
				       &base), -1);
	/* lazy or parent runs are not held */
	set_run(2, 10, 2, PE_LAZY, 0);
	assert_int_equal(prefill_match(VA, PG(16), pme, n, 64 * PAGE_SZ,
				       &base), -1);
	/* runs of other VMAs around do not matter; no present page: no */
	n = set_run(0, 0, 4, PE_PRESENT, 0);
	n = set_run(n, 20, 4, PE_ZERO, 0);
	n = set_run(n, 40, 4, PE_PRESENT, 100 * PAGE_SZ);
	assert_int_equal(prefill_match(PG(16), PG(32), pme, n, 200 * PAGE_SZ,
				       &base), -1);
	assert_int_equal(prefill_match(PG(40), PG(48), pme, n, 200 * PAGE_SZ,
				       &base), 0);
	assert_int_equal(base, 100 * PAGE_SZ);
	/* an offset below the page's distance from the start */
	n = set_run(0, 4, 4, PE_PRESENT, 2 * PAGE_SZ);
	assert_int_equal(prefill_match(VA, PG(8), pme, n, 64 * PAGE_SZ,
				       &base), -1);
}

/* The pages file, as a page source: page i filled with 0xE0 + i. */
static uint8_t file_page[PAGE_SZ];
static const uint8_t *mock_get(struct page_source *s, uint64_t off, size_t len)
{
	(void)s;
	assert_int_equal(len, PAGE_SZ);
	memset(file_page, 0xE0 + (int)(off / PAGE_SZ), PAGE_SZ);
	return file_page;
}
static const struct page_source_ops mock_ops = { .get = mock_get };

static void fill(uint8_t *p, int v)
{
	memset(p, v, PAGE_SZ);
}

static bool page_is(uint64_t addr, int v)
{
	const uint8_t *p = (const uint8_t *)addr;

	for (size_t i = 0; i < PAGE_SZ; i++)
		if (p[i] != (uint8_t)v)
			return false;
	return true;
}

/* >= 0: hold() holds its pages only in memory, this the pages file */
static int hold_spill_fd = -1;
static const uint64_t only_place[2] = { 0, VMA_PAGES * PAGE_SZ };

/* Held: the VMA's 8 first pages at place 0 of the pages file (page i
 * holds i + 1). Final: pages 0-3 as held, page 4 rewritten since (its
 * checksum: the file's page), page 5 zero, page 6 on missing. */
static void hold(struct prefill *pf, MmEntry *mm, VmaEntry *v,
		 VmaEntry **vp)
{
	uint8_t buf[8 * PAGE_SZ];
	uint32_t held[8];
	size_t n;

	assert_int_equal(prefill_init(pf), 0);
	/* the VMA's place, named by the source (X_HOLD): held only here
	 * with a pages file to spill into */
	assert_int_equal(prefill_hold_only(pf, only_place, 1), 0);
	if (hold_spill_fd >= 0)
		pf->spill_fd = dup(hold_spill_fd);
	for (int i = 0; i < 8; i++) {
		fill(buf + i * PAGE_SZ, i + 1);
		held[i] = page_crc(buf + i * PAGE_SZ);
	}
	prefill_put(pf, 0, buf, sizeof(buf), held);
	n = set_run(0, 0, 5, PE_PRESENT, 0);
	memcpy(sums[0], held, 4 * sizeof(*held));
	fill(buf, 0xE0 + 4);
	sums[0][4] = page_crc(buf);
	n = set_run(n, 5, 1, PE_ZERO, 0);
	(void)n;
	mm_entry__init(mm);
	vma_entry__init(v);
	v->start = VA;
	v->end = PG(VMA_PAGES);
	v->kind = VMA_KIND__VMA_ANON_PRIVATE;
	v->prot = PROT_READ | PROT_WRITE;
	v->flags = MAP_PRIVATE | MAP_ANONYMOUS;
	*vp = v;
	mm->n_vmas = 1;
	mm->vmas = vp;
	assert_true(vma_is_lazy(v));
}

/* Whether VmFlags of the mapping at addr in /proc/self/smaps has flag. */
static bool vm_flag(uint64_t addr, const char *flag)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	char line[512], want[32];
	bool in = false, has = false;

	assert_non_null(f);
	snprintf(want, sizeof(want), "%lx-", (unsigned long)addr);
	while (fgets(line, sizeof(line), f)) {
		if (strchr(line, '-') && strchr(line, ' ') &&
		    strchr(line, '-') < strchr(line, ' '))
			in = !strncmp(line, want, strlen(want));
		else if (in && !strncmp(line, "VmFlags:", 8))
			has = strstr(line, flag) != NULL;
	}
	fclose(f);
	return has;
}

/* hugepage: the VMA was MADV_HUGEPAGE (moved), else copied; either way
 * the same contents and the VMA's own flags. */
static void take(bool hugepage)
{
	struct page_source src = { .ops = &mock_ops, .name = "mock" };
	struct prefill pf;
	MmEntry mm;
	VmaEntry v, *vp;

	hold(&pf, &mm, &v, &vp);
	if (hugepage) {
		v.has_madv = true;
		v.madv = 1ULL << MADV_HUGEPAGE;
	}
	assert_int_equal(prefill_take(&pf, &mm, pme, 2, &src), 0);
	assert_int_equal(pf.nr_moved, 1);
	/* THP "madvise" or "never": the buffer has no advice, any VMA is
	 * moved; "always": nh, so a VMA without it is copied */
	assert_int_equal(pf.nr_copied,
			 !hugepage && prefill_thp_always() ? 1 : 0);
	assert_true(vm_flag(VA, " hg") == hugepage);
	assert_false(vm_flag(VA, " nh"));
	assert_int_equal(pf.moved[0].start, VA);
	assert_int_equal(pf.moved[0].end, PG(VMA_PAGES));
	for (int i = 0; i < 4; i++)
		assert_true(page_is(PG(i), i + 1));
	assert_true(page_is(PG(4), 0xE0 + 4));	/* fixed from the file */
	assert_true(page_is(PG(5), 0));		/* zero in the image */
	assert_true(page_is(PG(6), 0));		/* missing: zero */
	assert_true(page_is(PG(7), 0));
	assert_int_equal(pf.pages_fixed, 1);
	/* those held with data: 5 (zero), 6 and 7 (missing) */
	assert_int_equal(pf.pages_zeroed, 3);
	prefill_release(&pf);
	/* released: the address is free again */
	assert_int_equal(msync((void *)VA, PAGE_SZ, 0), -1);
	assert_int_equal(errno, ENOMEM);
}

static void test_take(void **state)
{
	(void)state;
	take(false);
}

static void test_take_hugepage(void **state)
{
	(void)state;
	take(true);
}

/* A VMA without advice, THP not "always": moved, not copied (the copy
 * of a QEMU's heap and stacks was ~25 ms of the downtime), and without
 * the nh of a buffer that had it. */
static void test_take_plain_moved(void **state)
{
	struct page_source src = { .ops = &mock_ops, .name = "mock" };
	struct prefill pf;
	MmEntry mm;
	VmaEntry v, *vp;
	uint8_t *held;

	(void)state;
	if (prefill_thp_always())
		skip();
	hold(&pf, &mm, &v, &vp);
	held = pf.base;
	assert_int_equal(prefill_take(&pf, &mm, pme, 2, &src), 0);
	assert_int_equal(pf.nr_moved, 1);
	assert_int_equal(pf.nr_copied, 0);
	assert_false(vm_flag(VA, " nh"));
	assert_false(vm_flag(VA, " hg"));
	assert_true(page_is(PG(0), 1));
	/* moved: the buffer's pages went with it (the buffer is gone) */
	assert_null(pf.base);
	assert_int_equal(msync(held, PAGE_SZ, 0), -1);
	prefill_release(&pf);
}

/* After the root's clone: the moved VMAs stay, out of any fork; then
 * they are unmapped by a thread; prefill_release waits for it. */
static void test_drop_behind(void **state)
{
	struct page_source src = { .ops = &mock_ops, .name = "mock" };
	struct prefill pf;
	MmEntry mm;
	VmaEntry v, *vp;
	int status;
	pid_t pid;

	(void)state;
	hold(&pf, &mm, &v, &vp);
	assert_int_equal(prefill_take(&pf, &mm, pme, 2, &src), 0);
	assert_int_equal(pf.nr_moved, 1);
	prefill_keep_out_of_forks(&pf);
	assert_int_equal(pf.nr_moved, 1);
	assert_true(vm_flag(VA, " dc"));
	assert_true(page_is(PG(0), 1));		/* still ours */
	prefill_drop_behind(&pf);
	assert_int_equal(pf.nr_moved, 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)	/* dontfork, or already gone: not in a child */
		_exit(msync((void *)VA, PAGE_SZ, 0) == -1 && errno == ENOMEM ?
		      0 : 1);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	prefill_release(&pf);
	assert_null(pf.dropping);
	assert_int_equal(msync((void *)VA, PAGE_SZ, 0), -1);
	assert_int_equal(errno, ENOMEM);
	prefill_release(&pf);	/* twice: nothing left */
}

/* A buffer that was not taken goes at once. */
static void test_drop_behind_untaken(void **state)
{
	struct prefill pf;
	MmEntry mm;
	VmaEntry v, *vp;
	uint8_t *held;

	(void)state;
	hold(&pf, &mm, &v, &vp);
	held = pf.base;
	prefill_keep_out_of_forks(&pf);
	assert_null(pf.base);
	assert_null(pf.dropping);
	assert_int_equal(msync(held, PAGE_SZ, 0), -1);
	prefill_release(&pf);
}

/* A lazy-pages daemon is needed for a lazy VMA that is not held and has
 * a PE_LAZY or PE_PARENT run, or more present pages than are read in at
 * restore; held, all zero or small VMAs need none. */
static void test_lazy_needed(void **state)
{
	VmaEntry a, b, small, *vp[3] = { &a, &b, &small };
	MmEntry mm;
	struct addr_range held = { PG(0), PG(VMA_PAGES) };
	size_t n;

	(void)state;
	mm_entry__init(&mm);
	mm.n_vmas = 3;
	mm.vmas = vp;
	for (int i = 0; i < 2; i++) {
		vma_entry__init(vp[i]);
		vp[i]->start = PG(i * 2 * VMA_PAGES);
		vp[i]->end = vp[i]->start + VMA_PAGES * PAGE_SZ;
		vp[i]->kind = VMA_KIND__VMA_ANON_PRIVATE;
		assert_true(vma_is_lazy(vp[i]));
	}
	vma_entry__init(&small);
	small.start = PG(5 * VMA_PAGES);
	small.end = small.start + PAGE_SZ;
	small.kind = VMA_KIND__VMA_ANON_PRIVATE;
	assert_false(vma_is_lazy(&small));
	/* a (held) has pages, b only zero runs, small a page */
	n = set_run(0, 0, 4, PE_PRESENT, 0);
	n = set_run(n, 2 * VMA_PAGES + 1, 3, PE_ZERO, 0);
	n = set_run(n, 5 * VMA_PAGES, 1, PE_PRESENT, 4 * PAGE_SZ);
	assert_false(lazy_needed(&mm, pme, n, &held, 1, 0));
	/* a not held */
	assert_true(lazy_needed(&mm, pme, n, NULL, 0, 0));
	/* a page of b present, or left in the source */
	set_run(1, 2 * VMA_PAGES + 1, 3, PE_PRESENT, 8 * PAGE_SZ);
	assert_true(lazy_needed(&mm, pme, n, &held, 1, 0));
	/* up to eager_max of them are read in at restore: no daemon */
	assert_false(lazy_needed(&mm, pme, n, &held, 1, 3));
	assert_true(lazy_needed(&mm, pme, n, &held, 1, 2));
	/* a not held: 4 + 3 */
	assert_false(lazy_needed(&mm, pme, n, NULL, 0, 7));
	assert_true(lazy_needed(&mm, pme, n, NULL, 0, 6));
	/* never read in now: left in the source, or in a parent layer */
	set_run(1, 2 * VMA_PAGES + 1, 3, PE_LAZY, 0);
	assert_true(lazy_needed(&mm, pme, n, &held, 1, 1000));
	set_run(1, 2 * VMA_PAGES + 1, 3, PE_PARENT, 0);
	assert_true(lazy_needed(&mm, pme, n, &held, 1, 1000));
}

/* Something of ours at the VMA's address: not taken, nothing moved. */
static void test_taken_here(void **state)
{
	struct page_source src = { .ops = &mock_ops, .name = "mock" };
	struct prefill pf;
	MmEntry mm;
	VmaEntry v, *vp;
	void *ours;

	(void)state;
	ours = mmap((void *)PG(100), PAGE_SZ, PROT_READ, MAP_PRIVATE |
		    MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	assert_ptr_equal(ours, (void *)PG(100));
	hold(&pf, &mm, &v, &vp);
	assert_int_equal(prefill_take(&pf, &mm, pme, 2, &src), 0);
	assert_int_equal(pf.nr_moved, 0);
	assert_true(page_is(PG(100), 0));	/* ours, untouched */
	prefill_release(&pf);
	munmap(ours, PAGE_SZ);
}

/* Held as the tests above, then how (given up or without places):
 * prefill_take moves nothing. */
static void nothing_taken(bool given_up)
{
	struct page_source src = { .ops = &mock_ops, .name = "mock" };
	struct prefill pf;
	MmEntry mm;
	VmaEntry v, *vp;

	hold(&pf, &mm, &v, &vp);
	if (given_up) {
		prefill_release(&pf);
		pf.off = true;
	} else {
		assert_int_equal(prefill_hold_only(&pf, NULL, 0), 0);
	}
	assert_int_equal(prefill_take(&pf, &mm, pme, 2, &src), 0);
	assert_int_equal(pf.nr_moved, 0);
	prefill_release(&pf);
}

/* No place named by the source (no X_HOLD): nothing is taken, however
 * its pages lie (a VMA grown since could reach into another's place). */
static void test_no_place_no_take(void **state)
{
	(void)state;
	nothing_taken(false);
}

/* Nothing held (given up): nothing taken, nothing to release twice. */
static void test_off(void **state)
{
	(void)state;
	nothing_taken(true);
}

/* A pages file of the test's own (unlinked); its page at off is v? */
static int pages_file(void)
{
	char path[] = "/tmp/test_prefill.XXXXXX";
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	unlink(path);
	return fd;
}

static bool file_page_is(int fd, uint64_t off, int v)
{
	uint8_t p[PAGE_SZ];

	if (pread(fd, p, PAGE_SZ, off) != PAGE_SZ)
		return v == 0;	/* past the end: a hole, zero */
	for (size_t i = 0; i < PAGE_SZ; i++)
		if (p[i] != (uint8_t)v)
			return false;
	return true;
}

/* Held only in memory: not in the pages file; the holding given up (the
 * reserve exceeded), what was held goes into the file first. */
static void test_held_only_give_up(void **state)
{
	struct prefill pf;
	uint8_t buf[3 * PAGE_SZ];
	uint32_t cs[3];
	int fd = pages_file();

	uint64_t only[4] = { 0, 4 * PAGE_SZ, 1ULL << 40, PAGE_SZ };

	(void)state;
	assert_int_equal(prefill_init(&pf), 0);
	pf.spill_fd = dup(fd);
	assert_int_equal(prefill_hold_only(&pf, only, 2), 0);
	for (int i = 0; i < 3; i++) {
		fill(buf + i * PAGE_SZ, 0x41 + i);
		cs[i] = page_crc(buf + i * PAGE_SZ);
	}
	/* across the end of a hold-only place: held, and for the file too */
	assert_false(prefill_put(&pf, 2 * PAGE_SZ, buf, sizeof(buf), cs));
	assert_true(prefill_put(&pf, PAGE_SZ, buf, sizeof(buf), cs));
	assert_int_equal(lseek(fd, 0, SEEK_END), 0);	/* not written */
	/* far past the reserve: given up, the three pages spilled */
	assert_false(prefill_put(&pf, 1ULL << 40, buf, PAGE_SZ, cs));
	assert_true(pf.off);
	assert_false(pf.spill_failed);
	for (int i = 0; i < 3; i++)
		assert_true(file_page_is(fd, (1 + i) * PAGE_SZ, 0x41 + i));
	assert_true(file_page_is(fd, 0, 0));
	prefill_release(&pf);
	close(fd);
}

/* The root's VMA taken (moved into place): its pages stay out of the
 * file; pages outside the hold-only places (another process') are held
 * for the file too (the page server writes them), nothing is spilled at
 * the take. A clone refused after that: prefill_spill writes the moved
 * VMA's pages from their place, as fixed by the take. */
static void test_held_only_take(void **state)
{
	struct page_source src = { .ops = &mock_ops, .name = "mock" };
	struct prefill pf;
	MmEntry mm;
	VmaEntry v, *vp;
	uint8_t other[2 * PAGE_SZ];
	uint32_t cs[2];
	int fd = pages_file();

	(void)state;
	hold_spill_fd = fd;
	hold(&pf, &mm, &v, &vp);
	hold_spill_fd = -1;
	fill(other, 0x77);
	fill(other + PAGE_SZ, 0x78);
	cs[0] = page_crc(other);
	cs[1] = page_crc(other + PAGE_SZ);
	assert_int_equal(lseek(fd, 0, SEEK_END), 0);	/* held only */
	/* beyond the VMA's places: another process' pages, to the file */
	assert_false(prefill_put(&pf, 2 * VMA_PAGES * PAGE_SZ, other,
				 sizeof(other), cs));
	assert_int_equal(pwrite(fd, other, sizeof(other),
				2 * VMA_PAGES * PAGE_SZ), sizeof(other));
	assert_int_equal(prefill_take(&pf, &mm, pme, 2, &src), 0);
	assert_int_equal(pf.nr_moved, 1);
	assert_true(page_is(PG(0), 1));
	assert_int_equal(pf.bytes_spilled, 0);
	/* the other pages in the file, the VMA's not */
	assert_true(file_page_is(fd, 2 * VMA_PAGES * PAGE_SZ, 0x77));
	assert_true(file_page_is(fd, (2 * VMA_PAGES + 1) * PAGE_SZ, 0x78));
	for (int i = 0; i < 8; i++)
		assert_true(file_page_is(fd, i * PAGE_SZ, 0));
	/* the clone refused: the moved VMA's pages into the file as they
	 * are in place (page 4 fixed, 5 zeroed) */
	assert_int_equal(prefill_spill(&pf), 0);
	for (int i = 0; i < 4; i++)
		assert_true(file_page_is(fd, i * PAGE_SZ, i + 1));
	assert_true(file_page_is(fd, 4 * PAGE_SZ, 0xE0 + 4));
	assert_true(file_page_is(fd, 5 * PAGE_SZ, 0));
	prefill_release(&pf);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_match),
		cmocka_unit_test(test_take),
		cmocka_unit_test(test_take_hugepage),
		cmocka_unit_test(test_take_plain_moved),
		cmocka_unit_test(test_drop_behind),
		cmocka_unit_test(test_drop_behind_untaken),
		cmocka_unit_test(test_lazy_needed),
		cmocka_unit_test(test_taken_here),
		cmocka_unit_test(test_off),
		cmocka_unit_test(test_no_place_no_take),
		cmocka_unit_test(test_held_only_give_up),
		cmocka_unit_test(test_held_only_take),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
