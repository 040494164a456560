// SPDX-License-Identifier: GPL-2.0
/*
 * deleted_file: regular files that are open but unlinked.
 *   fd A       "deleted.a": 20000 bytes of pattern, a hole, 4096 bytes at
 *              256 KiB; left at offset 3000; then unlinked;
 *   fds B, C   "deleted.b": C = dup(B), one open file: one offset (1234);
 *   fd D       "deleted.b" opened again: its own offset (777), same inode;
 *              then "deleted.b" is unlinked.
 * After restore each fd still shows its "<path> (deleted)" link, has no
 * link count and the old size; A reads on from 3000 (and zeroes in the
 * hole); B and C still share one offset (a read on B moves C); D has its
 * own; a write through B is read through D (one inode), and A and B are
 * different files.
 *
 * Corrupt points: data, share, inode, offset.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zdtmtst.h"

#define A_NAME		"deleted.a"
#define B_NAME		"deleted.b"
#define A_LEN		20000
#define A_TAIL_OFF	(256 * 1024)
#define A_TAIL_LEN	4096
#define A_POS		3000
#define B_LEN		8192
#define B_POS		1234
#define D_POS		777
#define SEED_A		0xde1a
#define SEED_A_TAIL	0xde1b
#define SEED_B		0xde1c

enum { FD_A, FD_B, FD_C, FD_D, NR_FDS };

static int fds[NR_FDS];
static char links[NR_FDS][PATH_MAX];
static uint8_t pat_a[A_LEN], pat_b[B_LEN], tail[A_TAIL_LEN];

static int make_file(const char *name, const uint8_t *data, size_t len)
{
	int fd = open(name, O_RDWR | O_CREAT | O_TRUNC, 0600);

	if (fd < 0 || write(fd, data, len) != (ssize_t)len)
		test_abort("create %s: %m", name);
	return fd;
}

static void setup(void)
{
	int i;

	test_fill(pat_a, A_LEN, SEED_A);
	test_fill(tail, A_TAIL_LEN, SEED_A_TAIL);
	test_fill(pat_b, B_LEN, SEED_B);

	fds[FD_A] = make_file(A_NAME, pat_a, A_LEN);
	if (pwrite(fds[FD_A], tail, A_TAIL_LEN, A_TAIL_OFF) != A_TAIL_LEN ||
	    lseek(fds[FD_A], A_POS, SEEK_SET) != A_POS)
		test_abort("A: %m");
	fds[FD_B] = make_file(B_NAME, pat_b, B_LEN);
	fds[FD_C] = dup(fds[FD_B]);
	fds[FD_D] = open(B_NAME, O_RDWR);
	if (fds[FD_C] < 0 || fds[FD_D] < 0 ||
	    lseek(fds[FD_B], B_POS, SEEK_SET) != B_POS ||
	    lseek(fds[FD_D], D_POS, SEEK_SET) != D_POS)
		test_abort("B: %m");
	if (unlink(A_NAME) || unlink(B_NAME))
		test_abort("unlink: %m");
	for (i = 0; i < NR_FDS; i++)
		if (test_fd_link(fds[i], links[i], sizeof(links[i])))
			test_abort("readlink: %m");
}

static void corrupt(void)
{
	if (test_corrupt("data") && pwrite(fds[FD_A], "x", 1, A_POS + 10) != 1)
		test_msg("pwrite: %m");
	if (test_corrupt("share")) {
		char path[64];
		int fd;

		/* the same file, but an open file of its own at offset 0 */
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fds[FD_B]);
		fd = open(path, O_RDWR);
		dup2(fd, fds[FD_C]);
		close(fd);
	}
	if (test_corrupt("inode")) {
		int fd = open("deleted.other", O_RDWR | O_CREAT | O_TRUNC, 0600);

		if (write(fd, pat_b, B_LEN) != B_LEN ||
		    lseek(fd, D_POS, SEEK_SET) != D_POS)
			test_msg("deleted.other: %m");
		unlink("deleted.other");
		dup2(fd, fds[FD_D]);
		close(fd);
	}
	if (test_corrupt("offset"))
		lseek(fds[FD_D], 1, SEEK_CUR);
}

static void check_file(int i, const char *name, off_t size)
{
	char link[PATH_MAX];
	struct stat st;

	if (test_fd_link(fds[i], link, sizeof(link)) || strcmp(link, links[i]))
		test_fail("%s: link \"%s\", expected \"%s\"", name, link, links[i]);
	if (fstat(fds[i], &st) || !S_ISREG(st.st_mode) || st.st_nlink ||
	    st.st_size != size)
		test_fail("%s: mode %o nlink %ld size %ld, expected a deleted file of %ld bytes",
			  name, st.st_mode, (long)st.st_nlink, (long)st.st_size,
			  (long)size);
}

static void check_a(void)
{
	static uint8_t buf[A_TAIL_OFF + A_TAIL_LEN];
	size_t want = A_TAIL_OFF + A_TAIL_LEN - A_POS, got = 0, i;
	ssize_t n;

	check_file(FD_A, "A", A_TAIL_OFF + A_TAIL_LEN);
	if (lseek(fds[FD_A], 0, SEEK_CUR) != A_POS)
		test_fail("A: offset %ld, expected %d",
			  (long)lseek(fds[FD_A], 0, SEEK_CUR), A_POS);
	while (got < want && (n = read(fds[FD_A], buf + got, want - got)) > 0)
		got += n;
	if (got != want) {
		test_fail("A: read %zu bytes from the offset, expected %zu", got, want);
		return;
	}
	if (memcmp(buf, pat_a + A_POS, A_LEN - A_POS))
		test_fail("A: data differs");
	for (i = A_LEN - A_POS; i < A_TAIL_OFF - A_POS; i++)
		if (buf[i]) {
			test_fail("A: byte %zu in the hole is %#x", i + A_POS, buf[i]);
			break;
		}
	if (memcmp(buf + A_TAIL_OFF - A_POS, tail, A_TAIL_LEN))
		test_fail("A: data after the hole differs");
}

static void check_b(void)
{
	struct stat sb, sd, sa;
	uint8_t buf[100];
	off_t pos;

	check_file(FD_B, "B", B_LEN);
	check_file(FD_C, "C", B_LEN);
	check_file(FD_D, "D", B_LEN);
	pos = lseek(fds[FD_C], 0, SEEK_CUR);
	if (pos != B_POS)
		test_fail("C (dup of B): offset %ld, expected %d", (long)pos, B_POS);
	if (read(fds[FD_B], buf, 100) != 100 || memcmp(buf, pat_b + B_POS, 100))
		test_fail("B: read at its offset differs");
	pos = lseek(fds[FD_C], 0, SEEK_CUR);
	if (pos != B_POS + 100)
		test_fail("C: offset %ld after reading 100 bytes on B, expected %d",
			  (long)pos, B_POS + 100);
	pos = lseek(fds[FD_D], 0, SEEK_CUR);
	if (pos != D_POS)
		test_fail("D: offset %ld, expected %d", (long)pos, D_POS);
	if (read(fds[FD_D], buf, 100) != 100 || memcmp(buf, pat_b + D_POS, 100))
		test_fail("D: read at its offset differs");

	/* one inode: a write through B shows through D */
	if (pwrite(fds[FD_B], "written via B", 13, 5000) != 13 ||
	    pread(fds[FD_D], buf, 13, 5000) != 13 || memcmp(buf, "written via B", 13))
		test_fail("a write through B is not seen through D");
	if (fstat(fds[FD_A], &sa) || fstat(fds[FD_B], &sb) || fstat(fds[FD_D], &sd) ||
	    sb.st_ino != sd.st_ino || sb.st_dev != sd.st_dev || sa.st_ino == sb.st_ino)
		test_fail("inodes: A %lu, B %lu, D %lu (B and D must be one, A another)",
			  (unsigned long)sa.st_ino, (unsigned long)sb.st_ino,
			  (unsigned long)sd.st_ino);
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	setup();
	test_ready();
	test_wait_term();
	corrupt();
	check_a();
	check_b();
	test_done();
}
