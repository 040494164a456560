// SPDX-License-Identifier: GPL-2.0
/*
 * deleted_maps: mappings of files that exist only while mapped.
 *   A  "dmap.a", 16 pages of pattern, mapped MAP_PRIVATE, pages 2 and 5
 *      written (copied-on-write), then closed and unlinked;
 *   B  a memfd "dmap.b" of 5 MiB (pattern in its first 16 pages and its
 *      last one, a hole between: a ghost image), mapped MAP_PRIVATE, page
 *      1 written, the memfd closed;
 *   C  "dmap.c", 8 pages, mapped MAP_SHARED, page 3 written through the
 *      mapping, closed and unlinked;
 *   D  "dmap.d", 8 pages, mapped MAP_PRIVATE, page 0 written, unlinked,
 *      its fd kept open.
 * After restore each mapping is at its address with its protection and
 * its "(deleted)" name; the written private pages hold what was written,
 * the others show the file (read through /proc/self/map_files: A's and
 * B's files never saw the private writes); a private write after restore
 * does not reach the file; C's file holds the write and a new write
 * through C reaches it (shared); D is mapped from the file its fd holds: a
 * write through the fd shows through D's unwritten pages.
 *
 * Corrupt points: data (a page of A that shows the file), file (A's file
 * changed under a written page), shared (C's file written past the
 * mapping's view: another file behind C), inode (D remapped from a copy).
 */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zdtmtst.h"

#define PG		4096UL
#define A_PAGES		16
#define B_SIZE		(5UL << 20)
#define B_DATA_PAGES	16
#define C_PAGES		8
#define D_PAGES		8

struct dmap {
	const char *name;
	uint8_t *addr;
	size_t len;
	uint64_t seed;
	char link[PATH_MAX];
	int prot;
};

static struct dmap maps[] = {
	{ "dmap.a", NULL, A_PAGES * PG, 0xd1a },
	{ "dmap.b", NULL, B_SIZE, 0xd1b },
	{ "dmap.c", NULL, C_PAGES * PG, 0xd1c },
	{ "dmap.d", NULL, D_PAGES * PG, 0xd1d },
};
enum { A, B, C, D };
static int fd_d;

static void fill_page(uint8_t *p, uint64_t seed, unsigned pg)
{
	test_fill(p, PG, seed * 1000 + pg);
}

static bool page_is(const uint8_t *p, uint64_t seed, unsigned pg)
{
	return test_check_fill(p, PG, seed * 1000 + pg);
}

/* The file's page pg (seed) as stored, for pages of pattern. */
static void write_file_pages(int fd, const struct dmap *m, unsigned from,
			     unsigned to)
{
	static uint8_t buf[PG];

	for (unsigned pg = from; pg < to; pg++) {
		fill_page(buf, m->seed, pg);
		if (pwrite(fd, buf, PG, pg * PG) != (ssize_t)PG)
			test_abort("write %s: %m", m->name);
	}
}

static void map_it(struct dmap *m, int fd, int flags)
{
	m->prot = PROT_READ | PROT_WRITE;
	m->addr = mmap(NULL, m->len, m->prot, flags, fd, 0);
	if (m->addr == MAP_FAILED)
		test_abort("mmap %s: %m", m->name);
}

static int map_files_open(const struct dmap *m, int flags)
{
	char path[96];

	snprintf(path, sizeof(path), "/proc/self/map_files/%lx-%lx",
		 (unsigned long)m->addr, (unsigned long)(m->addr + m->len));
	return open(path, flags);
}

static int map_link(const struct dmap *m, char *buf, size_t size)
{
	char path[96];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/map_files/%lx-%lx",
		 (unsigned long)m->addr, (unsigned long)(m->addr + m->len));
	n = readlink(path, buf, size - 1);
	if (n < 0)
		return -1;
	buf[n] = 0;
	return 0;
}

static int make_file(const struct dmap *m, unsigned pages)
{
	int fd = open(m->name, O_RDWR | O_CREAT | O_TRUNC, 0600);

	if (fd < 0)
		test_abort("create %s: %m", m->name);
	write_file_pages(fd, m, 0, pages);
	return fd;
}

static void setup(void)
{
	int fd;

	fd = make_file(&maps[A], A_PAGES);
	map_it(&maps[A], fd, MAP_PRIVATE);
	fill_page(maps[A].addr + 2 * PG, 0xa2, 0);
	fill_page(maps[A].addr + 5 * PG, 0xa5, 0);
	close(fd);
	unlink(maps[A].name);

	fd = memfd_create(maps[B].name, 0);
	if (fd < 0 || ftruncate(fd, B_SIZE))
		test_abort("memfd: %m");
	write_file_pages(fd, &maps[B], 0, B_DATA_PAGES);
	write_file_pages(fd, &maps[B], B_SIZE / PG - 1, B_SIZE / PG);
	map_it(&maps[B], fd, MAP_PRIVATE);
	fill_page(maps[B].addr + PG, 0xb1, 0);
	close(fd);

	fd = make_file(&maps[C], C_PAGES);
	map_it(&maps[C], fd, MAP_SHARED);
	fill_page(maps[C].addr + 3 * PG, 0xc3, 0);
	close(fd);
	unlink(maps[C].name);

	fd_d = make_file(&maps[D], D_PAGES);
	map_it(&maps[D], fd_d, MAP_PRIVATE);
	fill_page(maps[D].addr, 0xd0, 0);
	unlink(maps[D].name);

	for (size_t i = 0; i < sizeof(maps) / sizeof(maps[0]); i++)
		if (map_link(&maps[i], maps[i].link, sizeof(maps[i].link)))
			test_abort("map_files of %s: %m", maps[i].name);
}

static void corrupt(void)
{
	if (test_corrupt("data"))
		maps[A].addr[7 * PG + 5] ^= 1;
	if (test_corrupt("file")) {
		int fd = map_files_open(&maps[A], O_RDWR);

		if (fd < 0 || pwrite(fd, maps[A].addr + 2 * PG, PG, 2 * PG) != (ssize_t)PG)
			test_msg("corrupt file: %m");
		close(fd);
	}
	if (test_corrupt("shared")) {
		/* a private copy in place of C: C's file no longer follows */
		void *copy = mmap(NULL, maps[C].len, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		memcpy(copy, maps[C].addr, maps[C].len);
		mremap(copy, maps[C].len, maps[C].len, MREMAP_MAYMOVE | MREMAP_FIXED,
		       maps[C].addr);
	}
	if (test_corrupt("inode")) {
		int fd = open("dmap.other", O_RDWR | O_CREAT | O_TRUNC, 0600);

		write_file_pages(fd, &maps[D], 0, D_PAGES);
		unlink("dmap.other");
		if (mmap(maps[D].addr + PG, (D_PAGES - 1) * PG, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_FIXED, fd, PG) == MAP_FAILED)
			test_msg("corrupt inode: %m");
		close(fd);
	}
}

static void check_names(void)
{
	for (size_t i = 0; i < sizeof(maps) / sizeof(maps[0]); i++) {
		char link[PATH_MAX];

		if (map_link(&maps[i], link, sizeof(link)))
			test_fail("%s: no mapping at %p (%m)", maps[i].name,
				  maps[i].addr);
		else if (strcmp(link, maps[i].link))
			test_fail("%s: mapping names \"%s\", expected \"%s\"",
				  maps[i].name, link, maps[i].link);
	}
}

/* Page pg of m's file, read through map_files, is the pattern. */
static bool file_page_is(const struct dmap *m, unsigned pg, uint64_t seed,
			 unsigned seed_pg)
{
	static uint8_t buf[PG];
	int fd = map_files_open(m, O_RDONLY);
	bool ok;

	ok = fd >= 0 && pread(fd, buf, PG, pg * PG) == (ssize_t)PG &&
	     page_is(buf, seed, seed_pg);
	if (fd >= 0)
		close(fd);
	return ok;
}

/* A private mapping: written pages as written, others the file's, the
 * file's own pages untouched; a new write stays private. */
static void check_private(const struct dmap *m, unsigned npages,
			  const unsigned *written, const uint64_t *wseed,
			  size_t nw)
{
	for (unsigned pg = 0; pg < npages; pg++) {
		size_t k;

		for (k = 0; k < nw && written[k] != pg; k++)
			;
		if (k < nw && !page_is(m->addr + pg * PG, wseed[k], 0))
			test_fail("%s: written page %u lost its data", m->name, pg);
		if (k == nw && !page_is(m->addr + pg * PG, m->seed, pg))
			test_fail("%s: page %u does not show the file", m->name, pg);
		if (!file_page_is(m, pg, m->seed, pg))
			test_fail("%s: the file's page %u changed", m->name, pg);
	}
	fill_page(m->addr + (npages - 1) * PG, 0xee, 0);
	if (!file_page_is(m, npages - 1, m->seed, npages - 1))
		test_fail("%s: a private write after restore reached the file",
			  m->name);
}

static void check_b_tail(void)
{
	const struct dmap *m = &maps[B];
	unsigned last = B_SIZE / PG - 1;

	if (!page_is(m->addr + last * PG, m->seed, last))
		test_fail("%s: last page does not show the file", m->name);
	for (unsigned pg = B_DATA_PAGES; pg < last; pg += 97)
		for (size_t i = 0; i < PG; i++)
			if (m->addr[pg * PG + i]) {
				test_fail("%s: page %u in the hole is not zero",
					  m->name, pg);
				return;
			}
}

static void check_shared(void)
{
	const struct dmap *m = &maps[C];

	for (unsigned pg = 0; pg < C_PAGES; pg++) {
		uint64_t seed = pg == 3 ? 0xc3 : m->seed;
		unsigned spg = pg == 3 ? 0 : pg;

		if (!page_is(m->addr + pg * PG, seed, spg))
			test_fail("%s: page %u differs", m->name, pg);
		if (!file_page_is(m, pg, seed, spg))
			test_fail("%s: the file's page %u differs", m->name, pg);
	}
	fill_page(m->addr + 6 * PG, 0xc6, 0);
	if (!file_page_is(m, 6, 0xc6, 0))
		test_fail("%s: a write through the shared mapping did not "
			  "reach its file", m->name);
}

static void check_through_fd(void)
{
	const struct dmap *m = &maps[D];
	static uint8_t buf[PG];
	struct stat sf, sm;
	int fd = map_files_open(m, O_RDONLY);

	if (fd < 0 || fstat(fd, &sm) || fstat(fd_d, &sf) ||
	    sf.st_ino != sm.st_ino || sf.st_dev != sm.st_dev)
		test_fail("%s: the mapping and fd %d are not one file", m->name,
			  fd_d);
	if (fd >= 0)
		close(fd);
	if (!page_is(m->addr, 0xd0, 0))
		test_fail("%s: written page 0 lost its data", m->name);
	fill_page(buf, 0xd4, 0);
	if (pwrite(fd_d, buf, PG, 4 * PG) != (ssize_t)PG ||
	    !page_is(m->addr + 4 * PG, 0xd4, 0))
		test_fail("%s: a write through its fd does not show through "
			  "an unwritten page", m->name);
}

int main(int argc, char **argv)
{
	static const unsigned a_w[] = { 2, 5 }, b_w[] = { 1 };
	static const uint64_t a_s[] = { 0xa2, 0xa5 }, b_s[] = { 0xb1 };

	test_init(argc, argv);
	setup();
	test_ready();
	test_wait_term();
	corrupt();
	check_names();
	check_private(&maps[A], A_PAGES, a_w, a_s, 2);
	check_private(&maps[B], B_DATA_PAGES, b_w, b_s, 1);
	check_b_tail();
	check_shared();
	check_through_fd();
	test_done();
}
