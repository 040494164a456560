// SPDX-License-Identifier: GPL-2.0
/*
 * ghost_files: files that exist only while open, larger than what goes
 * inside an fdinfo entry, and the mode, owner and times of deleted files.
 *   big    "ghost.big", deleted: 160 MiB, sparse: 1 MiB of pattern at 0,
 *          5 MiB at 70 MiB (across store pieces), 4 KiB at the end; mode
 *          0640, atime and mtime set to fixed past times; offset 12345;
 *   small  "ghost.small", deleted: 3000 bytes, mode 0604, fixed times;
 *   mfd    memfd "ghost-memfd": 96 MiB, 8 MiB of pattern at 64 MiB.
 * After restore: sizes, offsets, each data extent byte for byte, zeroes
 * in the holes (sampled), the holes still holes (few blocks allocated),
 * mode and owner, atime and mtime to the nanosecond (checked before
 * anything is read), and each file still takes writes.
 *
 * Corrupt points: data, hole, times, mode.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zdtmtst.h"

#define MiB		(1UL << 20)
#define BIG_SIZE	(160 * MiB)
#define BIG_POS		12345
#define SMALL_LEN	3000
#define MFD_SIZE	(96 * MiB)

struct extent {
	off_t off;
	size_t len;
	uint64_t seed;
};

static const struct extent big_ext[] = {
	{ 0, 1 * MiB, 0x9100 },
	{ 70 * MiB, 5 * MiB, 0x9101 },
	{ BIG_SIZE - 4096, 4096, 0x9102 },
};
static const struct extent small_ext[] = { { 0, SMALL_LEN, 0x9103 } };
static const struct extent mfd_ext[] = { { 64 * MiB, 8 * MiB, 0x9104 } };
static const off_t big_holes[] = { 1 * MiB, 40 * MiB, 75 * MiB + 1, BIG_SIZE - 4097 };

static const struct timespec big_times[2] = {
	{ 1000000000, 123456789 }, { 1200000000, 500000001 } };
static const struct timespec small_times[2] = {
	{ 1300000000, 1 }, { 1400000000, 999999999 } };

static int big, small, mfd;
static uint8_t *buf;

static void put(int fd, const struct extent *e, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		test_fill(buf, e[i].len, e[i].seed);
		if (pwrite(fd, buf, e[i].len, e[i].off) != (ssize_t)e[i].len)
			test_abort("pwrite %zu at %ld: %m", e[i].len, (long)e[i].off);
	}
}

static int deleted(const char *name, mode_t mode, off_t size,
		   const struct extent *e, size_t n,
		   const struct timespec *times)
{
	int fd = open(name, O_RDWR | O_CREAT | O_TRUNC, 0600);

	if (fd < 0 || ftruncate(fd, size))
		test_abort("create %s: %m", name);
	put(fd, e, n);
	if (fchmod(fd, mode) || futimens(fd, times) || unlink(name))
		test_abort("%s: %m", name);
	return fd;
}

static void setup(void)
{
	buf = malloc(8 * MiB);
	if (!buf)
		test_abort("malloc");
	big = deleted("ghost.big", 0640, BIG_SIZE, big_ext, 3, big_times);
	if (lseek(big, BIG_POS, SEEK_SET) != BIG_POS)
		test_abort("lseek: %m");
	small = deleted("ghost.small", 0604, SMALL_LEN, small_ext, 1, small_times);
	mfd = memfd_create("ghost-memfd", 0);
	if (mfd < 0 || ftruncate(mfd, MFD_SIZE))
		test_abort("memfd: %m");
	put(mfd, mfd_ext, 1);
}

static void corrupt(void)
{
	if (test_corrupt("data") && pwrite(big, "x", 1, 72 * MiB) != 1)
		test_msg("pwrite: %m");
	if (test_corrupt("hole") && pwrite(mfd, "x", 1, 10 * MiB) != 1)
		test_msg("pwrite: %m");
	if (test_corrupt("times")) {
		struct timespec now[2] = { { 0, UTIME_NOW }, { 0, UTIME_NOW } };

		futimens(small, now);
	}
	if (test_corrupt("mode"))
		fchmod(big, 0600);
}

static void check_meta(int fd, const char *name, mode_t mode, off_t size,
		       const struct timespec *times)
{
	struct stat st;

	if (fstat(fd, &st)) {
		test_fail("%s: fstat: %m", name);
		return;
	}
	if (st.st_size != size || st.st_nlink || (st.st_mode & 07777) != mode ||
	    st.st_uid != getuid() || st.st_gid != getgid())
		test_fail("%s: size %ld nlink %lu mode %o uid %u, expected %ld, 0, "
			  "%o, %u", name, (long)st.st_size,
			  (unsigned long)st.st_nlink, st.st_mode & 07777,
			  st.st_uid, (long)size, mode, getuid());
	if (times && (st.st_atim.tv_sec != times[0].tv_sec ||
		      st.st_atim.tv_nsec != times[0].tv_nsec ||
		      st.st_mtim.tv_sec != times[1].tv_sec ||
		      st.st_mtim.tv_nsec != times[1].tv_nsec))
		test_fail("%s: atime %ld.%09ld mtime %ld.%09ld, expected "
			  "%ld.%09ld and %ld.%09ld", name,
			  (long)st.st_atim.tv_sec, st.st_atim.tv_nsec,
			  (long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec,
			  (long)times[0].tv_sec, times[0].tv_nsec,
			  (long)times[1].tv_sec, times[1].tv_nsec);
	/* the holes stay holes: not much more allocated than the data */
	if (size > (off_t)MiB && (uint64_t)st.st_blocks * 512 > (uint64_t)size / 4)
		test_fail("%s: %lu bytes allocated of %ld: holes were filled",
			  name, (unsigned long)st.st_blocks * 512, (long)size);
}

static void check_data(int fd, const char *name, const struct extent *e,
		       size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (pread(fd, buf, e[i].len, e[i].off) != (ssize_t)e[i].len ||
		    !test_check_fill(buf, e[i].len, e[i].seed))
			test_fail("%s: data at %ld (%zu bytes) differs", name,
				  (long)e[i].off, e[i].len);
}

static void check_hole(int fd, const char *name, off_t off)
{
	uint8_t b = 0xff;

	if (pread(fd, &b, 1, off) != 1 || b)
		test_fail("%s: byte %ld in a hole is %#x", name, (long)off, b);
}

static void check_writes(int fd, const char *name)
{
	char got[16] = "";

	if (pwrite(fd, "still writable", 14, 100) != 14 ||
	    pread(fd, got, 14, 100) != 14 || memcmp(got, "still writable", 14))
		test_fail("%s: a write is not read back", name);
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	setup();
	test_ready();
	test_wait_term();
	corrupt();
	check_meta(big, "big", 0640, BIG_SIZE, big_times);
	check_meta(small, "small", 0604, SMALL_LEN, small_times);
	check_meta(mfd, "memfd", 0777, MFD_SIZE, NULL);
	if (lseek(big, 0, SEEK_CUR) != BIG_POS)
		test_fail("big: offset %ld, expected %d",
			  (long)lseek(big, 0, SEEK_CUR), BIG_POS);
	check_data(big, "big", big_ext, 3);
	check_data(small, "small", small_ext, 1);
	check_data(mfd, "memfd", mfd_ext, 1);
	for (size_t i = 0; i < sizeof(big_holes) / sizeof(big_holes[0]); i++)
		check_hole(big, "big", big_holes[i]);
	check_hole(mfd, "memfd", 10 * MiB);
	check_hole(mfd, "memfd", MFD_SIZE - 1);
	check_writes(big, "big");
	check_writes(small, "small");
	check_writes(mfd, "memfd");
	test_done();
}
