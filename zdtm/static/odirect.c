// SPDX-License-Identifier: GPL-2.0
/*
 * odirect: a file open with O_DIRECT, used with aligned buffers.
 * 32 blocks of 4 KiB are written (O_DIRECT) with a pattern; the fd is left
 * at block 8 after a read of blocks 5..7; a second fd has the file open
 * without O_DIRECT at block 20.
 * After restore: the O_DIRECT fd still has O_DIRECT and O_RDWR, is at
 * block 8, reads the next blocks (aligned) and then sits at block 12; a
 * misaligned read fails with EINVAL (O_DIRECT is really in force); an
 * aligned write goes to disk and is read back through the buffered fd,
 * which is still at its own offset.
 *
 * Corrupt points: flags, offset, data.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "zdtmtst.h"

#define BLK		4096
#define NR_BLOCKS	32
#define POS_BLOCK	8
#define BUF_POS_BLOCK	20
#define SEED		0xd1ec7
#define FILE_NAME	"odirect.data"

static int dfd, bfd;
static uint8_t *buf;

static uint64_t seed_of(int block)
{
	return SEED + block;
}

static void setup(void)
{
	int i;

	if (posix_memalign((void **)&buf, BLK, 4 * BLK))
		test_abort("posix_memalign");
	dfd = open(FILE_NAME, O_RDWR | O_CREAT | O_TRUNC | O_DIRECT, 0644);
	if (dfd < 0)
		test_abort("open O_DIRECT: %m");
	for (i = 0; i < NR_BLOCKS; i++) {
		test_fill(buf, BLK, seed_of(i));
		if (write(dfd, buf, BLK) != BLK)
			test_abort("O_DIRECT write: %m");
	}
	if (pread(dfd, buf, 3 * BLK, 5 * BLK) != 3 * BLK ||
	    lseek(dfd, POS_BLOCK * BLK, SEEK_SET) != POS_BLOCK * BLK)
		test_abort("O_DIRECT read/seek: %m");
	for (i = 0; i < 3; i++)
		if (!test_check_fill(buf + i * BLK, BLK, seed_of(5 + i)))
			test_abort("O_DIRECT read back wrong data");
	/* the misaligned read must fail, or the check after restore is moot */
	if (pread(dfd, buf + 1, BLK, 0) >= 0 || errno != EINVAL)
		test_abort("a misaligned O_DIRECT read did not fail with EINVAL: %m");

	bfd = open(FILE_NAME, O_RDWR);
	if (bfd < 0 || lseek(bfd, BUF_POS_BLOCK * BLK, SEEK_SET) < 0)
		test_abort("open: %m");
}

static void corrupt(void)
{
	if (test_corrupt("flags"))
		fcntl(dfd, F_SETFL, fcntl(dfd, F_GETFL) & ~O_DIRECT);
	if (test_corrupt("offset"))
		lseek(dfd, BLK, SEEK_CUR);
	if (test_corrupt("data")) {
		memset(buf, 0x5a, BLK);
		if (pwrite(bfd, buf, BLK, (POS_BLOCK + 1) * BLK) != BLK)
			test_msg("pwrite: %m");
		fsync(bfd);
	}
}

int main(int argc, char **argv)
{
	off_t pos;
	int flags, i;

	test_init(argc, argv);
	setup();
	test_ready();
	test_wait_term();
	corrupt();

	flags = fcntl(dfd, F_GETFL);
	if (flags < 0 || !(flags & O_DIRECT) || (flags & O_ACCMODE) != O_RDWR)
		test_fail("O_DIRECT fd flags %#o, expected O_RDWR|O_DIRECT", flags);
	pos = lseek(dfd, 0, SEEK_CUR);
	if (pos != POS_BLOCK * BLK)
		test_fail("O_DIRECT fd at %ld, expected %d", (long)pos, POS_BLOCK * BLK);
	pos = lseek(bfd, 0, SEEK_CUR);
	if (pos != BUF_POS_BLOCK * BLK)
		test_fail("buffered fd at %ld, expected %d", (long)pos, BUF_POS_BLOCK * BLK);

	/* the next 4 blocks from where the O_DIRECT fd is */
	if (read(dfd, buf, 4 * BLK) != 4 * BLK)
		test_fail("O_DIRECT read: %m");
	for (i = 0; i < 4; i++)
		if (!test_check_fill(buf + i * BLK, BLK, seed_of(POS_BLOCK + i)))
			test_fail("O_DIRECT read: block %d differs", POS_BLOCK + i);
	pos = lseek(dfd, 0, SEEK_CUR);
	if (pos != (POS_BLOCK + 4) * BLK)
		test_fail("O_DIRECT fd at %ld after reading 4 blocks", (long)pos);
	if (pread(dfd, buf + 1, BLK, 0) >= 0 || errno != EINVAL)
		test_fail("a misaligned read on the O_DIRECT fd did not fail with EINVAL");

	/* an aligned O_DIRECT write, seen through the page cache */
	test_fill(buf, BLK, SEED ^ 0xffff);
	if (write(dfd, buf, BLK) != BLK)
		test_fail("O_DIRECT write: %m");
	memset(buf, 0, BLK);
	if (read(bfd, buf, BLK) != BLK || !test_check_fill(buf, BLK, seed_of(BUF_POS_BLOCK)))
		test_fail("buffered read at block %d differs", BUF_POS_BLOCK);
	if (pread(bfd, buf + 1, BLK, (POS_BLOCK + 4) * BLK) != BLK ||
	    !test_check_fill(buf + 1, BLK, SEED ^ 0xffff))
		test_fail("the O_DIRECT write after restore is not in the file");
	test_done();
}
