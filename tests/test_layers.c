// SPDX-License-Identifier: GPL-2.0
/*
 * Image layers (criu-lite/layers.h): what a parent holds at an address,
 * and restore's resolution of PE_PARENT runs through a chain of layers
 * written to a scratch directory (l1 <- l2 <- l3, each linked by its
 * "parent" symlink and the parent's layer id): the runs of the layer that
 * holds each page, at that layer's base in the chain's page source, with
 * its page checksums; and every broken chain refused naming the file.
 */
#include "testlib.h"

#include <sys/mman.h>

#include "image.h"
#include "layers.h"
#include "page-source.h"
#include "pagemap.h"

#define PID	42
#define VA	0x10000000UL
#define PG(n)	(VA + (uint64_t)(n) * PAGE_SZ)

struct chain_fx {
	char *root;
	char dir[3][4096];	/* l1 (oldest), l2, l3 (the dump) */
	uint8_t id[3][IMG_LAYER_ID_LEN];
};

/* A run: nr pages at page index first, flags; PE_PRESENT data at page
 * offset off of the layer's pages file. */
struct run {
	unsigned first, nr;
	uint32_t flags;
	unsigned off;
};

static uint32_t csum_of(unsigned layer, unsigned page)
{
	return 0x1000 * (layer + 1) + page;
}

static void write_layer(struct chain_fx *f, int k, const struct run *runs,
			size_t n, unsigned pages)
{
	InventoryEntry inv = INVENTORY_ENTRY__INIT;
	int dfd = open(f->dir[k], O_DIRECTORY | O_RDONLY);
	struct cr_img *img;
	char *data;
	int fd;

	assert_true(dfd >= 0);
	layer_new_id(f->id[k]);
	inv.tool_version = "t";
	inv.kernel_release = "t";
	inv.has_format = true;
	inv.format = IMG_FORMAT;
	inv.has_pages_id = true;
	inv.pages_id = 1;
	inv.has_layer_id = true;
	inv.layer_id.len = IMG_LAYER_ID_LEN;
	inv.layer_id.data = f->id[k];
	if (k) {
		inv.has_parent_id = true;
		inv.parent_id.len = IMG_LAYER_ID_LEN;
		inv.parent_id.data = f->id[k - 1];
		assert_int_equal(symlinkat(k == 1 ? "../l1" : "../l2", dfd,
					   LAYER_LINK), 0);
	}
	assert_int_equal(img_write_one(dfd, IMG_INVENTORY, 0, &inv.base), 0);
	img = img_open_write(dfd, IMG_PAGEMAP, PID);
	assert_non_null(img);
	for (size_t i = 0; i < n; i++) {
		PagemapEntry e = PAGEMAP_ENTRY__INIT;
		uint32_t cs[64];

		e.vaddr = PG(runs[i].first);
		e.nr_pages = runs[i].nr;
		e.flags = runs[i].flags;
		if (e.flags & PE_PRESENT) {
			for (unsigned p = 0; p < runs[i].nr; p++)
				cs[p] = csum_of(k, runs[i].off + p);
			e.has_offset = true;
			e.offset = (uint64_t)runs[i].off * PAGE_SZ;
			e.n_page_csums = runs[i].nr;
			e.page_csums = cs;
			e.checksum = run_csum_of(cs, runs[i].nr);
		}
		assert_int_equal(img_write_msg(img, &e.base), 0);
	}
	assert_int_equal(img_close(img), 0);
	fd = openat(dfd, "pages-1.img", O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	data = calloc(pages ? pages : 1, PAGE_SZ);
	assert_int_equal(write(fd, data, (size_t)pages * PAGE_SZ),
			 (ssize_t)pages * PAGE_SZ);
	free(data);
	close(fd);
	close(dfd);
}

/*
 * Pages 0-15 of process PID:
 *   l1: 0-7 present (offsets 0-7), 8-11 zero, 12-15 present (8-11)
 *   l2: 0-3 parent, 4-5 present (0-1), 6-11 parent, 12-15 parent
 *   l3: 0-1 present (0-1), 2-13 parent, 14-15 zero
 * so l3 resolves to: 0-1 l3, 2-3 l1, 4-5 l2, 6-7 l1, 8-11 zero (l1),
 * 12-13 l1, 14-15 zero.
 */
static int setup(void **state)
{
	static const struct run l1[] = {
		{ 0, 8, PE_PRESENT, 0 }, { 8, 4, PE_ZERO, 0 },
		{ 12, 4, PE_PRESENT, 8 },
	};
	static const struct run l2[] = {
		{ 0, 4, PE_PARENT, 0 }, { 4, 2, PE_PRESENT, 0 },
		{ 6, 6, PE_PARENT, 0 }, { 12, 4, PE_PARENT, 0 },
	};
	static const struct run l3[] = {
		{ 0, 2, PE_PRESENT, 0 }, { 2, 12, PE_PARENT, 0 },
		{ 14, 2, PE_ZERO, 0 },
	};
	struct chain_fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->root = tl_mkdtemp();
	for (int k = 0; k < 3; k++) {
		snprintf(f->dir[k], sizeof(f->dir[k]), "%s/l%d", f->root, k + 1);
		assert_int_equal(mkdir(f->dir[k], 0700), 0);
	}
	write_layer(f, 0, l1, 3, 12);
	write_layer(f, 1, l2, 4, 2);
	write_layer(f, 2, l3, 3, 2);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct chain_fx *f = *state;
	char cmd[4200];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->root);
	if (system(cmd))
		fprintf(stderr, "can't remove %s\n", f->root);
	free(f->root);
	free(f);
	return 0;
}

struct loaded {
	int dirfd;
	InventoryEntry *inv;
	PagemapEntry **pme;
	size_t nr;
	struct layer_chain ch;
};

static void load_top(struct chain_fx *f, struct loaded *l)
{
	memset(l, 0, sizeof(*l));
	l->dirfd = open(f->dir[2], O_DIRECTORY | O_RDONLY);
	assert_true(l->dirfd >= 0);
	l->inv = (InventoryEntry *)img_read_one(l->dirfd, IMG_INVENTORY, 0);
	assert_non_null(l->inv);
	assert_int_equal(img_read_all(l->dirfd, IMG_PAGEMAP, PID, false,
				      (ProtobufCMessage ***)&l->pme, &l->nr), 0);
	assert_int_equal(layer_chain_init(&l->ch, l->dirfd, f->dir[2], l->inv), 0);
}

static void unload(struct loaded *l)
{
	layer_chain_close(&l->ch);
	for (size_t i = 0; i < l->nr; i++)
		img_free_msg(NULL, &l->pme[i]->base);
	free(l->pme);
	img_free_msg(NULL, &l->inv->base);
	close(l->dirfd);
}

static void expect(const PagemapEntry *e, unsigned first, unsigned nr,
		   uint32_t flags, uint64_t offset, unsigned layer, unsigned page)
{
	assert_int_equal(e->vaddr, PG(first));
	assert_int_equal(e->nr_pages, nr);
	assert_int_equal(e->flags, flags);
	if (!(flags & PE_PRESENT))
		return;
	assert_int_equal(e->offset, offset);
	assert_int_equal(e->n_page_csums, nr);
	for (unsigned p = 0; p < nr; p++)
		assert_int_equal(e->page_csums[p], csum_of(layer, page + p));
	assert_int_equal(e->checksum, run_csum_of(e->page_csums, nr));
}

static void test_resolve(void **state)
{
	struct chain_fx *f = *state;
	struct loaded l;
	uint64_t b2, b1;

	load_top(f, &l);
	assert_true(pagemap_has_parent_runs(l.pme, l.nr));
	assert_int_equal(layer_resolve(&l.ch, PID, &l.pme, &l.nr), 0);
	assert_false(pagemap_has_parent_runs(l.pme, l.nr));
	/* l3's own pages first, then l2's, then l1's, each page aligned */
	assert_int_equal(l.ch.nr, 3);
	b2 = l.ch.l[1].base;
	b1 = l.ch.l[2].base;
	assert_int_equal(b2, 2 * PAGE_SZ);
	assert_int_equal(b1, 4 * PAGE_SZ);
	assert_int_equal(l.nr, 7);
	expect(l.pme[0], 0, 2, PE_PRESENT, 0, 2, 0);
	expect(l.pme[1], 2, 2, PE_PRESENT, b1 + 2 * PAGE_SZ, 0, 2);
	expect(l.pme[2], 4, 2, PE_PRESENT, b2, 1, 0);
	expect(l.pme[3], 6, 2, PE_PRESENT, b1 + 6 * PAGE_SZ, 0, 6);
	expect(l.pme[4], 8, 4, PE_ZERO, 0, 0, 0);
	expect(l.pme[5], 12, 2, PE_PRESENT, b1 + 8 * PAGE_SZ, 0, 8);
	/* l2's 12-15 are l1's, of which l3 asked for 12-13 only */
	expect(l.pme[6], 14, 2, PE_ZERO, 0, 0, 0);
	unload(&l);
}

/* One page source over the layers: each file at its base, and a page
 * that does not match its checksum named by the file that holds it. */
static void test_chain_source(void **state)
{
	struct chain_fx *f = *state;
	struct page_part parts[3];
	struct page_source s;
	struct tl_capture cap;
	struct loaded l;
	char *err;

	load_top(f, &l);
	assert_int_equal(layer_resolve(&l.ch, PID, &l.pme, &l.nr), 0);
	for (size_t k = 0; k < l.ch.nr; k++) {
		parts[k] = (struct page_part){ .dirfd = l.ch.l[k].dirfd,
					       .file = l.ch.l[k].pages,
					       .base = l.ch.l[k].base,
					       .size = l.ch.l[k].size };
		snprintf(parts[k].name, sizeof(parts[k].name), "%s/%s",
			 l.ch.l[k].path, l.ch.l[k].pages);
	}
	assert_int_equal(page_source_open_parts(&s, parts, 3, false, true), 0);
	assert_int_equal(s.size, l.ch.l[2].base + 12 * PAGE_SZ);
	/* mapped away from the mmap area (~127 TiB), where a restored
	 * tree's large VMAs lie (page-source.c) */
	assert_true((uintptr_t)s.map < (1ULL << 46));
	/* l1's page 6, as the resolved run 3 reads it: zero data, so its
	 * made-up checksum does not match, and l1's file is named */
	tl_capture_start(&cap, STDERR_FILENO);
	assert_null(page_source_get_checked(&s, l.pme[3], 0, 1, PID));
	err = tl_capture_end(&cap);
	assert_non_null(strstr(err, "/l3/parent/parent/pages-1.img: page"));
	free(err);
	s.ops->close(&s);
	unload(&l);
}

static void expect_refused(struct chain_fx *f, const char *msg)
{
	struct tl_capture cap;
	struct loaded l;
	char *err;

	load_top(f, &l);
	tl_capture_start(&cap, STDERR_FILENO);
	assert_int_equal(layer_resolve(&l.ch, PID, &l.pme, &l.nr), -1);
	err = tl_capture_end(&cap);
	if (!strstr(err, msg))
		fail_msg("no \"%s\" in: %s", msg, err);
	free(err);
	/* the runs are as they were: nothing half-resolved */
	assert_int_equal(l.nr, 3);
	assert_int_equal(l.pme[1]->flags, PE_PARENT);
	unload(&l);
}

static void test_parent_missing(void **state)
{
	struct chain_fx *f = *state;
	char moved[4200];

	snprintf(moved, sizeof(moved), "%s.away", f->dir[1]);
	assert_int_equal(rename(f->dir[1], moved), 0);
	expect_refused(f, "l3/parent (-> ../l2), the parent layer that holds "
		       "pages of");
	assert_int_equal(rename(moved, f->dir[1]), 0);
}

static void test_parent_replaced(void **state)
{
	struct chain_fx *f = *state;
	char moved[4200];

	/* l2's place taken by l1: another layer id */
	snprintf(moved, sizeof(moved), "%s.away", f->dir[1]);
	assert_int_equal(rename(f->dir[1], moved), 0);
	assert_int_equal(symlink("l1", f->dir[1]), 0);
	expect_refused(f, "l3/parent/inventory.img: layer ");
	expect_refused(f, "the parent was replaced by another dump");
	assert_int_equal(unlink(f->dir[1]), 0);
	assert_int_equal(rename(moved, f->dir[1]), 0);
}

static void test_parent_lacks_pages(void **state)
{
	struct chain_fx *f = *state;
	char path[4200], moved[4300];

	snprintf(path, sizeof(path), "%s/pagemap-%d.img", f->dir[0], PID);
	snprintf(moved, sizeof(moved), "%s.away", path);
	assert_int_equal(rename(path, moved), 0);
	expect_refused(f, "l3/parent/parent/pagemap-42.img is missing");
	assert_int_equal(rename(moved, path), 0);
}

/* What the dump side asks: the parent's holdings by address. */
static void test_parent_index(void **state)
{
	struct chain_fx *f = *state;
	struct layer_parent p;
	struct parent_index ix;
	uint64_t until;

	assert_int_equal(layer_parent_open(f->dir[2], "../l2", &p), 0);
	assert_memory_equal(p.id, f->id[1], IMG_LAYER_ID_LEN);
	assert_int_equal(parent_index_load(&p, PID, &ix), 0);
	assert_int_equal(parent_index_at(&ix, PG(0), &until), PARENT_DATA);
	assert_int_equal(until, PG(4));
	assert_int_equal(parent_index_at(&ix, PG(5), &until), PARENT_DATA);
	assert_int_equal(until, PG(6));
	assert_int_equal(parent_index_at(&ix, PG(16), &until), PARENT_NONE);
	assert_int_equal(until, UINT64_MAX);
	assert_int_equal(parent_index_at(&ix, VA - PAGE_SZ, &until), PARENT_NONE);
	assert_int_equal(until, VA);
	parent_index_free(&ix);
	/* a process the parent does not have: nothing from it */
	assert_int_equal(parent_index_load(&p, PID + 1, &ix), 0);
	assert_int_equal(parent_index_at(&ix, PG(0), &until), PARENT_NONE);
	parent_index_free(&ix);
	layer_parent_close(&p);

	assert_int_equal(layer_parent_open(f->dir[1], "../l1", &p), 0);
	assert_int_equal(parent_index_load(&p, PID, &ix), 0);
	assert_int_equal(parent_index_at(&ix, PG(9), &until), PARENT_ZERO);
	assert_int_equal(until, PG(12));
	parent_index_free(&ix);
	layer_parent_close(&p);
}

/* --prev-images-dir of a DIR the dump has yet to create: its missing
 * components are taken off by the leading "../" of REL. */
static void test_parent_of_new_dir(void **state)
{
	struct chain_fx *f = *state;
	struct layer_parent p;
	char dir[4200];

	snprintf(dir, sizeof(dir), "%s/new", f->root);
	assert_int_equal(layer_parent_open(dir, "../l3", &p), 0);
	assert_memory_equal(p.id, f->id[2], IMG_LAYER_ID_LEN);
	layer_parent_close(&p);
	snprintf(dir, sizeof(dir), "%s/new/deeper", f->root);
	assert_int_equal(layer_parent_open(dir, "../../l1", &p), 0);
	assert_memory_equal(p.id, f->id[0], IMG_LAYER_ID_LEN);
	layer_parent_close(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_resolve, setup, teardown),
		cmocka_unit_test_setup_teardown(test_chain_source, setup, teardown),
		cmocka_unit_test_setup_teardown(test_parent_missing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_parent_replaced, setup, teardown),
		cmocka_unit_test_setup_teardown(test_parent_lacks_pages, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_parent_index, setup, teardown),
		cmocka_unit_test_setup_teardown(test_parent_of_new_dir, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
