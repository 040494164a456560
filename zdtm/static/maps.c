// SPDX-License-Identifier: GPL-2.0
/*
 * maps: the kinds of memory a process has, each with content to check:
 *   - a private file mapping at a file offset, two pages written (COW copies
 *     that differ from the file; the file itself must stay unchanged);
 *   - an anonymous region filled and then made read-only;
 *   - an anonymous region filled and then made PROT_NONE;
 *   - an rwx anonymous region (a JIT buffer, like QEMU's TCG code cache);
 *   - a shared anonymous mapping (after restore a child must see the
 *     parent's writes and the other way round: it is still shared);
 *   - stack, a small (brk heap) and a large (mmap) malloc block;
 *   - memory added with sbrk(), and the program break itself.
 * /proc/self/maps is read into a static buffer just before waiting and just
 * after waking, without allocating in between, and must describe the same
 * mappings (up to VMA merging and new inodes of deleted files, see
 * compare_maps()).
 *
 * Corrupt points: cow, file, ro, none, rwx, shared, stack, heap, brk, maps.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zdtmtst.h"

#define FILE_PAGES	8
#define MAP_PGOFF	1	/* the mapping starts at file page 1 */
#define MAP_PAGES	6
#define ANON_PAGES	4
#define STACK_BYTES	16384
#define SMALL_BYTES	1000
#define LARGE_BYTES	(1 << 20)
#define BRK_PAGES	3

enum seed {
	SEED_FILE = 0x1000, SEED_COW = 0x2000, SEED_RO = 0x3000,
	SEED_NONE = 0x4000, SEED_RWX = 0x5000, SEED_SHARED = 0x6000,
	SEED_STACK = 0x7000, SEED_SMALL = 0x8000, SEED_LARGE = 0x9000,
	SEED_BRK = 0xa000,
};

static size_t ps;
static char maps_before[65536], maps_after[65536];

static bool cow_page(size_t i)
{
	return i == 1 || i == 3;
}

static void *map_anon(int flags, uint64_t seed)
{
	void *p = mmap(NULL, ANON_PAGES * ps, PROT_READ | PROT_WRITE, flags, -1, 0);

	if (p == MAP_FAILED)
		test_abort("mmap anon: %m");
	test_fill(p, ANON_PAGES * ps, seed);
	return p;
}

static uint8_t *map_file(int *pfd)
{
	uint8_t *buf = malloc(FILE_PAGES * ps), *p;
	size_t i;
	int fd;

	fd = open("maps.data", O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || !buf)
		test_abort("open maps.data: %m");
	test_fill(buf, FILE_PAGES * ps, SEED_FILE);
	if (write(fd, buf, FILE_PAGES * ps) != (ssize_t)(FILE_PAGES * ps))
		test_abort("write maps.data: %m");
	free(buf);

	p = mmap(NULL, MAP_PAGES * ps, PROT_READ | PROT_WRITE, MAP_PRIVATE,
		 fd, MAP_PGOFF * ps);
	if (p == MAP_FAILED)
		test_abort("mmap maps.data: %m");
	for (i = 0; i < MAP_PAGES; i++) {
		if (cow_page(i))
			test_fill(p + i * ps, ps, SEED_COW + i);
		else if (p[i * ps] == 0x5a)	/* read: maps the file page */
			test_msg("maps: page %zu starts with 0x5a", i);
	}
	*pfd = fd;
	return p;
}

static void check_file_map(const uint8_t *p, int fd)
{
	uint8_t *buf = malloc(FILE_PAGES * ps);
	size_t i;

	if (!buf || pread(fd, buf, FILE_PAGES * ps, 0) != (ssize_t)(FILE_PAGES * ps)) {
		test_fail("pread maps.data: %m");
		free(buf);
		return;
	}
	if (!test_check_fill(buf, FILE_PAGES * ps, SEED_FILE))
		test_fail("maps.data changed on disk (a private write leaked?)");
	for (i = 0; i < MAP_PAGES; i++) {
		const uint8_t *page = p + i * ps;
		bool ok;

		if (cow_page(i))
			ok = test_check_fill(page, ps, SEED_COW + i);
		else
			ok = !memcmp(page, buf + (i + MAP_PGOFF) * ps, ps);
		if (!ok)
			test_fail("file mapping page %zu (%s) differs", i,
				  cow_page(i) ? "COW" : "file");
	}
	free(buf);
}

/* After restore the shared mapping must still be shared with a child. */
static void check_shared(uint8_t *sh)
{
	int status;
	pid_t pid;

	if (!test_check_fill(sh, ANON_PAGES * ps, SEED_SHARED)) {
		test_fail("shared anonymous mapping content differs");
		return;
	}
	sh[0] = 0x11;
	pid = fork();
	if (pid < 0) {
		test_fail("fork: %m");
		return;
	}
	if (pid == 0) {
		_exit(sh[0] == 0x11 ? (sh[ps] = 0x22, 0) : 1);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status))
		test_fail("child did not see the parent's write to MAP_SHARED");
	else if (sh[ps] != 0x22)
		test_fail("parent did not see the child's write to MAP_SHARED");
}

/*
 * /proc/self/maps before and after must describe the same memory.  Two
 * differences are not a restore's fault, so both sides are normalized:
 *   - adjacent VMAs that the kernel may or may not merge (same protection,
 *     same file at contiguous offsets, or both anonymous) count as one;
 *   - a deleted file ("/dev/zero (deleted)" backs shared anonymous memory,
 *     "/memfd:x (deleted)") has to be created anew, with a new inode number.
 */
struct map_line {
	unsigned long start, end, offset, inode;
	char perms[8], dev[16], path[256];
};

#define MAX_MAP_LINES	512

static struct map_line lines_before[MAX_MAP_LINES], lines_after[MAX_MAP_LINES];

static bool deleted_file(const struct map_line *m)
{
	size_t len = strlen(m->path);

	return len > 10 && !strcmp(m->path + len - 10, " (deleted)");
}

static bool mergeable(const struct map_line *a, const struct map_line *b)
{
	return a->end == b->start && !strcmp(a->perms, b->perms) &&
	       !strcmp(a->dev, b->dev) && a->inode == b->inode &&
	       !strcmp(a->path, b->path) &&
	       (!a->inode || b->offset == a->offset + (a->end - a->start));
}

/* Parses and merges; returns the number of entries. */
static int parse_maps(const char *text, struct map_line *v)
{
	char line[512];
	int nr = 0, off;

	while (*text && nr < MAX_MAP_LINES) {
		size_t len = strcspn(text, "\n");
		struct map_line *m = &v[nr];

		snprintf(line, sizeof(line), "%.*s", (int)len, text);
		text += len + (text[len] == '\n');
		off = 0;
		if (sscanf(line, "%lx-%lx %7s %lx %15s %lu %n", &m->start, &m->end,
			   m->perms, &m->offset, m->dev, &m->inode, &off) != 6 || !off)
			continue;
		snprintf(m->path, sizeof(m->path), "%s", line + off);
		if (nr && mergeable(&v[nr - 1], m))
			v[nr - 1].end = m->end;
		else
			nr++;
	}
	return nr;
}

static bool same_map(const struct map_line *a, const struct map_line *b)
{
	return a->start == b->start && a->end == b->end &&
	       !strcmp(a->perms, b->perms) && a->offset == b->offset &&
	       !strcmp(a->dev, b->dev) && !strcmp(a->path, b->path) &&
	       (a->inode == b->inode || deleted_file(a));
}

static void compare_maps(void)
{
	int nb = parse_maps(maps_before, lines_before);
	int na = parse_maps(maps_after, lines_after);
	int i;

	for (i = 0; i < nb && i < na; i++) {
		const struct map_line *b = &lines_before[i], *a = &lines_after[i];

		if (same_map(b, a))
			continue;
		test_fail("/proc/self/maps differs: before %lx-%lx %s %lx %s %lu %s, after %lx-%lx %s %lx %s %lu %s",
			  b->start, b->end, b->perms, b->offset, b->dev, b->inode, b->path,
			  a->start, a->end, a->perms, a->offset, a->dev, a->inode, a->path);
		return;
	}
	if (na != nb)
		test_fail("/proc/self/maps: %d mappings, was %d", na, nb);
}

static void snapshot_maps(char *buf)
{
	if (test_read_file("/proc/self/maps", buf, sizeof(maps_before)) <= 0)
		test_fail("read /proc/self/maps: %m");
}

int main(int argc, char **argv)
{
	uint8_t stack[STACK_BYTES], *file_map, *ro, *none, *rwx, *sh;
	uint8_t *small, *large, *brk_area;
	void *brk_end, *brk_now;
	int fd;

	test_init(argc, argv);
	ps = sysconf(_SC_PAGESIZE);

	file_map = map_file(&fd);
	ro = map_anon(MAP_PRIVATE | MAP_ANONYMOUS, SEED_RO);
	none = map_anon(MAP_PRIVATE | MAP_ANONYMOUS, SEED_NONE);
	rwx = map_anon(MAP_PRIVATE | MAP_ANONYMOUS, SEED_RWX);
	sh = map_anon(MAP_SHARED | MAP_ANONYMOUS, SEED_SHARED);
	if (mprotect(ro, ANON_PAGES * ps, PROT_READ) ||
	    mprotect(none, ANON_PAGES * ps, PROT_NONE) ||
	    mprotect(rwx, ANON_PAGES * ps, PROT_READ | PROT_WRITE | PROT_EXEC))
		test_abort("mprotect: %m");

	test_fill(stack, sizeof(stack), SEED_STACK);
	small = malloc(SMALL_BYTES);
	large = malloc(LARGE_BYTES);
	if (!small || !large)
		test_abort("malloc");
	test_fill(small, SMALL_BYTES, SEED_SMALL);
	test_fill(large, LARGE_BYTES, SEED_LARGE);

	brk_area = sbrk(BRK_PAGES * ps);
	if (brk_area == (void *)-1)
		test_abort("sbrk: %m");
	test_fill(brk_area, BRK_PAGES * ps, SEED_BRK);
	brk_end = sbrk(0);

	snapshot_maps(maps_before);
	test_ready();
	test_wait_term();
	if (test_corrupt("maps"))
		mprotect(rwx, ps, PROT_READ);
	snapshot_maps(maps_after);
	compare_maps();

	if (test_corrupt("cow"))
		file_map[ps + 10]++;
	if (test_corrupt("file"))
		file_map[0]++;
	if (test_corrupt("ro") && !mprotect(ro, ps, PROT_READ | PROT_WRITE))
		ro[0]++;
	if (test_corrupt("none") && !mprotect(none, ps, PROT_READ | PROT_WRITE))
		none[0]++;
	if (test_corrupt("rwx"))
		rwx[3 * ps]++;
	if (test_corrupt("shared"))
		sh[7]++;
	if (test_corrupt("stack"))
		stack[STACK_BYTES / 2]++;
	if (test_corrupt("heap"))
		small[SMALL_BYTES - 1]++;
	if (test_corrupt("brk"))
		brk_area[ps]++;

	check_file_map(file_map, fd);
	if (!test_check_fill(ro, ANON_PAGES * ps, SEED_RO))
		test_fail("read-only region differs");
	if (mprotect(none, ANON_PAGES * ps, PROT_READ))
		test_fail("mprotect PROT_NONE region: %m");
	else if (!test_check_fill(none, ANON_PAGES * ps, SEED_NONE))
		test_fail("PROT_NONE region differs");
	if (!test_check_fill(rwx, ANON_PAGES * ps, SEED_RWX))
		test_fail("rwx region differs");
	check_shared(sh);
	if (!test_check_fill(stack, sizeof(stack), SEED_STACK))
		test_fail("stack content differs");
	if (!test_check_fill(small, SMALL_BYTES, SEED_SMALL))
		test_fail("small malloc block differs");
	if (!test_check_fill(large, LARGE_BYTES, SEED_LARGE))
		test_fail("large malloc block differs");
	if (!test_check_fill(brk_area, BRK_PAGES * ps, SEED_BRK))
		test_fail("sbrk area differs");
	brk_now = sbrk(0);
	if (brk_now != brk_end)
		test_fail("program break %p, expected %p", brk_now, brk_end);
	test_done();
}
