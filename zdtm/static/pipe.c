// SPDX-License-Identifier: GPL-2.0
/*
 * pipe: pipes with data in flight.  By default (test "pipe"):
 *   - pipe A: 5000 bytes written, the first 1000 read; the read end is
 *     O_NONBLOCK.  After restore exactly the other 4000 bytes come out,
 *     then EAGAIN.
 *   - pipe B: empty.
 * Then both pipes still work: bytes written now are read back, in order.
 * Both ends of a pipe must still be one pipe (same inode), the two pipes
 * different ones, and F_GETFL/F_GETPIPE_SZ unchanged.
 *
 * Built a second time as "pipe_big" (-DPIPE_BIG): pipe A is grown to
 * 256 KiB with F_SETPIPE_SZ and holds 200000 bytes.
 *
 * Corrupt points: data, flags.
 *   (data: a byte is eaten; flags: O_NONBLOCK is cleared)
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zdtmtst.h"

#ifdef PIPE_BIG
#define PIPE_SIZE	(256 * 1024)
#define WRITTEN		200000
#else
#define PIPE_SIZE	0	/* leave the default */
#define WRITTEN		5000
#endif
#define READ_FIRST	1000
#define SEED_A		0xa1a1
#define SEED_MORE	0xb2b2

struct pipe_state {
	int fd[2];
	int fl[2];
	int size;
};

static uint8_t pattern[WRITTEN], buf[WRITTEN + 4096];

static void open_pipe(struct pipe_state *p, int size)
{
	if (pipe(p->fd))
		test_abort("pipe: %m");
	if (size && fcntl(p->fd[1], F_SETPIPE_SZ, size) < 0)
		test_abort("F_SETPIPE_SZ %d: %m", size);
}

static void record(struct pipe_state *p)
{
	p->fl[0] = fcntl(p->fd[0], F_GETFL);
	p->fl[1] = fcntl(p->fd[1], F_GETFL);
	p->size = fcntl(p->fd[0], F_GETPIPE_SZ);
}

static ino_t check_identity(const struct pipe_state *p, const char *name)
{
	struct stat st[2];
	int i;

	for (i = 0; i < 2; i++) {
		if (fstat(p->fd[i], &st[i])) {
			test_fail("pipe %s fd %d: %m", name, p->fd[i]);
			return 0;
		}
		if (!S_ISFIFO(st[i].st_mode))
			test_fail("pipe %s fd %d is not a pipe", name, p->fd[i]);
		if (fcntl(p->fd[i], F_GETFL) != p->fl[i])
			test_fail("pipe %s fd %d: flags %#o, expected %#o", name,
				  p->fd[i], fcntl(p->fd[i], F_GETFL), p->fl[i]);
	}
	if (st[0].st_ino != st[1].st_ino)
		test_fail("pipe %s: ends are different pipes (%lu, %lu)", name,
			  (unsigned long)st[0].st_ino, (unsigned long)st[1].st_ino);
	if (fcntl(p->fd[0], F_GETPIPE_SZ) != p->size)
		test_fail("pipe %s: size %d, expected %d", name,
			  fcntl(p->fd[0], F_GETPIPE_SZ), p->size);
	return st[0].st_ino;
}

/* Reads until EAGAIN from the non-blocking read end. */
static size_t drain(int fd)
{
	size_t got = 0;
	ssize_t n;

	while ((n = read(fd, buf + got, sizeof(buf) - got)) > 0)
		got += n;
	if (n < 0 && errno != EAGAIN)
		test_fail("read pipe: %m");
	if (n == 0)
		test_fail("read pipe: unexpected EOF");
	return got;
}

static void check_in_flight(struct pipe_state *a)
{
	size_t want = WRITTEN - READ_FIRST, got = drain(a->fd[0]);

	if (got != want)
		test_fail("pipe A held %zu bytes, expected %zu", got, want);
	else if (memcmp(buf, pattern + READ_FIRST, want))
		test_fail("pipe A data differs");
}

/* Writes fresh bytes into a pipe and reads them back. */
static void check_works(struct pipe_state *p, const char *name, bool nonblock)
{
	size_t len = 3333, got = 0;
	ssize_t n;

	test_fill(pattern, len, SEED_MORE);
	if (write(p->fd[1], pattern, len) != (ssize_t)len) {
		test_fail("pipe %s: write after restore: %m", name);
		return;
	}
	if (nonblock) {
		got = drain(p->fd[0]);
	} else {
		while (got < len && (n = read(p->fd[0], buf + got, len - got)) > 0)
			got += n;
	}
	if (got != len || memcmp(buf, pattern, len))
		test_fail("pipe %s: read back %zu of %zu bytes, or wrong bytes",
			  name, got, len);
}

int main(int argc, char **argv)
{
	struct pipe_state a, b;
	size_t done = 0;
	ssize_t n;

	test_init(argc, argv);
	open_pipe(&a, PIPE_SIZE);
	open_pipe(&b, 0);
	test_fill(pattern, WRITTEN, SEED_A);
	while (done < WRITTEN) {
		n = write(a.fd[1], pattern + done, WRITTEN - done);
		if (n <= 0)
			test_abort("write pipe A: %m");
		done += n;
	}
	if (read(a.fd[0], buf, READ_FIRST) != READ_FIRST)
		test_abort("read pipe A: %m");
	if (fcntl(a.fd[0], F_SETFL, O_NONBLOCK))
		test_abort("F_SETFL: %m");
	record(&a);
	record(&b);

	test_ready();
	test_wait_term();

	if (test_corrupt("data") && read(a.fd[0], buf, 1) != 1)
		test_msg("corrupt: read failed");
	if (test_corrupt("flags"))
		fcntl(a.fd[0], F_SETFL, 0);

	if (check_identity(&a, "A") == check_identity(&b, "B"))
		test_fail("pipes A and B are the same pipe");
	if (fcntl(a.fd[0], F_GETFL) & O_NONBLOCK) {
		check_in_flight(&a);
		check_works(&a, "A", true);
	}
	check_works(&b, "B", false);
	test_done();
}
