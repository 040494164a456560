// SPDX-License-Identifier: GPL-2.0
/*
 * memfd: memory files, as QEMU backs guest RAM with them.
 *   a: memfd "zdtm-memfd-a", 4 MiB, filled by write(), sealed against
 *      shrinking and growing, fd offset at 12345, mapped MAP_SHARED and
 *      written through the mapping at a few pages;
 *   b: memfd "zdtm-memfd-b", 1 MiB, mapped MAP_SHARED, filled through the
 *      mapping, and its fd closed: only the mapping keeps it.
 * After restore: a is still that memfd (name, size, seals, offset, flags),
 * its content is the pattern with the mapping's writes, and the mapping is
 * still shared with the fd (a write through one is seen through the
 * other); b's mapping keeps its content and still names the memfd.
 *
 * Corrupt points: content, seals, shared.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zdtmtst.h"

#define A_SIZE		(4 << 20)
#define B_SIZE		(1 << 20)
#define A_OFFSET	12345
#define SEED_A		0xa0a0
#define SEED_B		0xb0b0
#define SEED_MAPPED	0xc0c0

static size_t ps;
static uint8_t expect[A_SIZE], got[A_SIZE];

static bool mapped_page(size_t i)
{
	return i % 97 == 3;
}

/* Writes through the mapping at a few pages; the same in @expect. */
static void write_through_map(uint8_t *map)
{
	size_t i;

	for (i = 0; i < A_SIZE / ps; i++)
		if (mapped_page(i)) {
			test_fill(map + i * ps, ps, SEED_MAPPED + i);
			test_fill(expect + i * ps, ps, SEED_MAPPED + i);
		}
}

static void check_a(int fd, uint8_t *map, int fl, int seals)
{
	char link[64];
	struct stat st;

	test_fd_link(fd, link, sizeof(link));
	if (strncmp(link, "/memfd:zdtm-memfd-a", 19)) {
		test_fail("a: fd %d is \"%s\"", fd, link);
		return;
	}
	if (fstat(fd, &st) || st.st_size != A_SIZE)
		test_fail("a: size %ld, expected %d", (long)st.st_size, A_SIZE);
	if (fcntl(fd, F_GET_SEALS) != seals || fcntl(fd, F_GETFL) != fl)
		test_fail("a: seals %#x flags %#o, expected %#x %#o",
			  fcntl(fd, F_GET_SEALS), fcntl(fd, F_GETFL), seals, fl);
	if (lseek(fd, 0, SEEK_CUR) != A_OFFSET)
		test_fail("a: offset %ld, expected %d", (long)lseek(fd, 0, SEEK_CUR),
			  A_OFFSET);
	if (pread(fd, got, A_SIZE, 0) != A_SIZE || memcmp(got, expect, A_SIZE))
		test_fail("a: file content differs");
	if (memcmp(map, expect, A_SIZE))
		test_fail("a: mapped content differs");
	map[5] ^= 0xff;
	if (pread(fd, got, 8, 0) != 8 || got[5] != map[5])
		test_fail("a: a write through the mapping is not seen by pread");
	got[0] = 0x42;
	if (pwrite(fd, got, 1, ps) != 1 || map[ps] != 0x42)
		test_fail("a: a pwrite is not seen through the mapping");
}

static void check_b(const uint8_t *map)
{
	char maps[65536], needle[64];

	if (!test_check_fill(map, B_SIZE, SEED_B))
		test_fail("b: mapped content differs");
	snprintf(needle, sizeof(needle), "%lx-", (unsigned long)map);
	if (test_read_file("/proc/self/maps", maps, sizeof(maps)) <= 0 ||
	    !strstr(maps, needle) ||
	    !strstr(strstr(maps, needle), "/memfd:zdtm-memfd-b"))
		test_fail("b: the mapping at %p no longer names the memfd", map);
}

int main(int argc, char **argv)
{
	uint8_t *map_a, *map_b;
	int a, b, fl, seals;

	test_init(argc, argv);
	ps = sysconf(_SC_PAGESIZE);
	a = memfd_create("zdtm-memfd-a", MFD_ALLOW_SEALING);
	b = memfd_create("zdtm-memfd-b", 0);
	if (a < 0 || b < 0 || ftruncate(b, B_SIZE))
		test_abort("memfd: %m");
	test_fill(expect, A_SIZE, SEED_A);
	if (write(a, expect, A_SIZE) != A_SIZE ||
	    fcntl(a, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW) ||
	    lseek(a, A_OFFSET, SEEK_SET) != A_OFFSET)
		test_abort("memfd a: %m");
	map_a = mmap(NULL, A_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, a, 0);
	map_b = mmap(NULL, B_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, b, 0);
	if (map_a == MAP_FAILED || map_b == MAP_FAILED)
		test_abort("mmap: %m");
	write_through_map(map_a);
	test_fill(map_b, B_SIZE, SEED_B);
	close(b);
	fl = fcntl(a, F_GETFL);
	seals = fcntl(a, F_GET_SEALS);

	test_ready();
	test_wait_term();
	if (test_corrupt("content"))
		map_b[B_SIZE - 1]++;
	if (test_corrupt("seals"))
		fcntl(a, F_ADD_SEALS, F_SEAL_SEAL);
	if (test_corrupt("shared")) {
		/* Replace the mapping with a private copy of the same content. */
		uint8_t *copy = mmap(NULL, A_SIZE, PROT_READ | PROT_WRITE,
				     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		memcpy(copy, map_a, A_SIZE);
		mremap(copy, A_SIZE, A_SIZE, MREMAP_MAYMOVE | MREMAP_FIXED, map_a);
	}

	check_a(a, map_a, fl, seals);
	check_b(map_b);
	test_done();
}
