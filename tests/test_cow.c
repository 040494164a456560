// SPDX-License-Identifier: GPL-2.0
/*
 * The copy-on-write plan (criu-lite/cow.h) on made-up images: which pages a
 * child keeps from its parent (listed as shared at dump AND stored with
 * the same bytes), which VMAs each process makes before its fork, and the
 * checks of the cow_shared ranges an image may hold.
 */
#include "testlib.h"

#include "cow.h"
#include "pagemap.h"

#define BASE	0x100000UL

struct fake_proc {
	MmEntry mm;
	VmaEntry vma, *vmas[1];
	PageRange range, *ranges[1];
	PagemapEntry run, *runs[1];
};

/* One 4-page anonymous VMA at BASE whose pages are stored at data_off of
 * the pages image; cow_shared covers [first, last) of its pages. */
static void fake(struct fake_proc *f, uint64_t data_off, int first, int last)
{
	memset(f, 0, sizeof(*f));
	mm_entry__init(&f->mm);
	vma_entry__init(&f->vma);
	f->vma.start = BASE;
	f->vma.end = BASE + 4 * PAGE_SZ;
	f->vma.kind = VMA_KIND__VMA_ANON_PRIVATE;
	f->vma.flags = 0x02;	/* MAP_PRIVATE */
	f->vmas[0] = &f->vma;
	f->mm.vmas = f->vmas;
	f->mm.n_vmas = 1;
	if (last > first) {
		page_range__init(&f->range);
		f->range.start = BASE + first * PAGE_SZ;
		f->range.end = BASE + last * PAGE_SZ;
		f->ranges[0] = &f->range;
		f->mm.cow_shared = f->ranges;
		f->mm.n_cow_shared = 1;
	}
	pagemap_entry__init(&f->run);
	f->run.vaddr = BASE;
	f->run.nr_pages = 4;
	f->run.flags = PE_PRESENT;
	f->run.has_offset = true;
	f->run.offset = data_off;
	f->runs[0] = &f->run;
}

static void test_plan_keeps_equal_listed_pages(void **state)
{
	static uint8_t data[8 * 4096];
	struct fake_proc parent, child;
	struct cow_tree t = { 0 };
	struct cow_proc procs[2];

	(void)state;
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = i / PAGE_SZ % 4;	/* the child's copy: same bytes */
	data[4 * PAGE_SZ + 2 * PAGE_SZ + 7] = 0xee;	/* but page 2 differs */
	fake(&parent, 0, 0, 0);
	fake(&child, 4 * PAGE_SZ, 0, 3);	/* listed: pages 0-2, not 3 */
	procs[0] = (struct cow_proc){ .mm = &parent.mm, .pme = parent.runs,
				      .nr_pme = 1, .parent = -1 };
	procs[1] = (struct cow_proc){ .mm = &child.mm, .pme = child.runs,
				      .nr_pme = 1, .parent = 0 };
	t.procs = malloc(sizeof(procs));
	memcpy(t.procs, procs, sizeof(procs));
	t.nr = 2;
	t.data = data;
	t.size = sizeof(data);

	assert_int_equal(cow_plan(&t), 0);
	/* the parent makes the VMA before its fork, the child adopts it */
	assert_int_equal(t.procs[0].nr_vmas, 1);
	assert_true(t.procs[0].vmas[0].for_children);
	assert_false(t.procs[0].vmas[0].adopt);
	assert_int_equal(t.procs[1].nr_vmas, 1);
	assert_true(t.procs[1].vmas[0].adopt);
	assert_int_equal(t.procs[1].vmas[0].parent_slot, t.procs[0].vmas[0].slot);
	/* kept: listed and equal (0, 1); not page 2 (bytes differ), not 3
	 * (equal, but not listed as shared at dump) */
	assert_int_equal(t.procs[1].vmas[0].nr_inherit, 1);
	assert_int_equal(t.procs[1].vmas[0].inherit[0].start, BASE);
	assert_int_equal(t.procs[1].vmas[0].inherit[0].end, BASE + 2 * PAGE_SZ);
	assert_non_null(t.status);
	cow_free(&t);
}

static void test_plan_nothing_equal(void **state)
{
	static uint8_t data[8 * 4096];
	struct fake_proc parent, child;
	struct cow_tree t = { 0 };

	(void)state;
	memset(data + 4 * PAGE_SZ, 1, 4 * PAGE_SZ);	/* child: all differ */
	fake(&parent, 0, 0, 0);
	fake(&child, 4 * PAGE_SZ, 0, 4);
	t.procs = calloc(2, sizeof(*t.procs));
	t.procs[0] = (struct cow_proc){ .mm = &parent.mm, .pme = parent.runs,
					.nr_pme = 1, .parent = -1 };
	t.procs[1] = (struct cow_proc){ .mm = &child.mm, .pme = child.runs,
					.nr_pme = 1, .parent = 0 };
	t.nr = 2;
	t.data = data;
	t.size = sizeof(data);
	assert_int_equal(cow_plan(&t), 0);
	assert_int_equal(t.procs[0].nr_vmas, 0);
	assert_int_equal(t.procs[1].nr_vmas, 0);
	assert_null(t.status);
	cow_free(&t);
}

static void test_check_ranges(void **state)
{
	struct fake_proc f;

	(void)state;
	fake(&f, 0, 1, 3);
	assert_int_equal(check_cow_shared(&f.mm, 1), 0);
	f.range.end = BASE + 5 * PAGE_SZ;	/* past the VMA */
	assert_int_equal(check_cow_shared(&f.mm, 1), -1);
	f.range.end = BASE + 3 * PAGE_SZ + 1;	/* not page aligned */
	assert_int_equal(check_cow_shared(&f.mm, 1), -1);
	f.range.end = BASE + 3 * PAGE_SZ;
	f.vma.kind = VMA_KIND__VMA_FILE_PRIVATE;	/* not anonymous */
	assert_int_equal(check_cow_shared(&f.mm, 1), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plan_keeps_equal_listed_pages),
		cmocka_unit_test(test_plan_nothing_equal),
		cmocka_unit_test(test_check_ranges),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
