// SPDX-License-Identifier: GPL-2.0
/*
 * file_read: regular files and their open file state.
 *   - a 64 KiB file read up to an odd offset: the next read after restore
 *     continues exactly there, and EOF comes where it should;
 *   - an O_APPEND file written before the checkpoint and seeked to 0: a write
 *     after restore still goes to the end;
 *   - an O_RDWR, O_CLOEXEC file at an offset: FD_CLOEXEC and the offset stay.
 * Every fd must keep its number, its file (inode) and its F_GETFL flags.
 *
 * Corrupt points: offset, append, cloexec.
 */
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zdtmtst.h"

#define DATA_SIZE	65536
#define READ_FIRST	(32768 + 123)
#define RW_SIZE		10000
#define RW_OFFSET	4000
#define SEED_DATA	0x1111
#define SEED_RW		0x2222

struct tracked_fd {
	const char *path;
	int fd;
	int fl;
	ino_t ino;
};

static uint8_t data[DATA_SIZE];

static void create_file(const char *path, size_t len, uint64_t seed)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	test_fill(data, len, seed);
	if (fd < 0 || write(fd, data, len) != (ssize_t)len)
		test_abort("create %s: %m", path);
	close(fd);
}

static void track(struct tracked_fd *t, const char *path, int fd)
{
	struct stat st;

	if (fd < 0 || fstat(fd, &st))
		test_abort("open %s: %m", path);
	t->path = path;
	t->fd = fd;
	t->fl = fcntl(fd, F_GETFL);
	t->ino = st.st_ino;
}

static void check_tracked(const struct tracked_fd *t)
{
	struct stat st;
	int fl;

	if (fstat(t->fd, &st)) {
		test_fail("fd %d (%s): %m", t->fd, t->path);
		return;
	}
	if (st.st_ino != t->ino)
		test_fail("fd %d: inode %lu, expected %lu (%s)", t->fd,
			  (unsigned long)st.st_ino, (unsigned long)t->ino, t->path);
	fl = fcntl(t->fd, F_GETFL);
	if (fl != t->fl)
		test_fail("fd %d (%s): flags %#o, expected %#o", t->fd, t->path,
			  fl, t->fl);
}

static void check_read_fd(int fd)
{
	static uint8_t buf[DATA_SIZE];
	size_t want = DATA_SIZE - READ_FIRST, got = 0;
	off_t off = lseek(fd, 0, SEEK_CUR);
	ssize_t n;

	if (off != READ_FIRST)
		test_fail("read fd offset %ld, expected %d", (long)off, READ_FIRST);
	while (got < want) {
		n = read(fd, buf + got, want - got);
		if (n <= 0)
			break;
		got += n;
	}
	test_fill(data, DATA_SIZE, SEED_DATA);
	if (got != want)
		test_fail("read %zu bytes after restore, expected %zu", got, want);
	else if (memcmp(buf, data + READ_FIRST, want))
		test_fail("data read after restore differs from the file at %d",
			  READ_FIRST);
	if (read(fd, buf, 1) != 0)
		test_fail("no EOF at the end of the file");
}

static void check_append_fd(int fd)
{
	static const char want[] = "before\nafter\n";
	char buf[64];
	ssize_t n;

	if (write(fd, "after\n", 6) != 6)
		test_fail("write to O_APPEND file: %m");
	if (lseek(fd, 0, SEEK_CUR) != (off_t)strlen(want))
		test_fail("O_APPEND fd offset %ld after write, expected %zu",
			  (long)lseek(fd, 0, SEEK_CUR), strlen(want));
	n = test_read_file("file_read.log", buf, sizeof(buf));
	if (n != (ssize_t)strlen(want) || strcmp(buf, want))
		test_fail("O_APPEND file holds \"%s\", expected \"before\\nafter\\n\"",
			  n < 0 ? "?" : buf);
}

static void check_rw_fd(int fd)
{
	uint8_t buf[100];
	int fdfl = fcntl(fd, F_GETFD);

	if (fdfl < 0 || !(fdfl & FD_CLOEXEC))
		test_fail("FD_CLOEXEC lost on fd %d", fd);
	if (lseek(fd, 0, SEEK_CUR) != RW_OFFSET)
		test_fail("rw fd offset %ld, expected %d",
			  (long)lseek(fd, 0, SEEK_CUR), RW_OFFSET);
	test_fill(data, RW_SIZE, SEED_RW);
	if (read(fd, buf, sizeof(buf)) != sizeof(buf) ||
	    memcmp(buf, data + RW_OFFSET, sizeof(buf)))
		test_fail("rw fd: read after restore differs");
}

int main(int argc, char **argv)
{
	struct tracked_fd rd, app, rw;
	size_t got = 0;
	ssize_t n;

	test_init(argc, argv);
	create_file("file_read.data", DATA_SIZE, SEED_DATA);
	create_file("file_read.rw", RW_SIZE, SEED_RW);

	track(&rd, "file_read.data", open("file_read.data", O_RDONLY));
	while (got < READ_FIRST) {
		n = read(rd.fd, data, READ_FIRST - got);
		if (n <= 0)
			test_abort("read file_read.data: %m");
		got += n;
	}

	track(&app, "file_read.log", open("file_read.log",
		O_WRONLY | O_APPEND | O_CREAT | O_TRUNC, 0644));
	if (write(app.fd, "before\n", 7) != 7 || lseek(app.fd, 0, SEEK_SET))
		test_abort("write file_read.log: %m");

	track(&rw, "file_read.rw", open("file_read.rw", O_RDWR | O_CLOEXEC));
	if (lseek(rw.fd, RW_OFFSET, SEEK_SET) != RW_OFFSET)
		test_abort("lseek: %m");

	test_ready();
	test_wait_term();

	if (test_corrupt("offset"))
		lseek(rd.fd, 1, SEEK_CUR);
	if (test_corrupt("append"))
		fcntl(app.fd, F_SETFL, 0);
	if (test_corrupt("cloexec"))
		fcntl(rw.fd, F_SETFD, 0);

	check_tracked(&rd);
	check_tracked(&app);
	check_tracked(&rw);
	check_read_fd(rd.fd);
	check_append_fd(app.fd);
	check_rw_fd(rw.fd);
	test_done();
}
