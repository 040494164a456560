// SPDX-License-Identifier: GPL-2.0
/*
 * fifo: named pipes, opened each way, with data queued.
 *   "fifo.a"   rd: O_RDONLY|O_NONBLOCK, wr: O_WRONLY; 5000 bytes written,
 *              the first 1000 read;
 *   "fifo.rw"  rw: one O_RDWR open holding 100 bytes;
 *   "fifo.gone" grd: O_RDONLY|O_NONBLOCK, gwr: O_WRONLY, 300 bytes queued,
 *              mode 0640, then unlinked.
 * After restore: each fd's link and access mode are the same; rd reads
 * exactly the other 4000 bytes, then EAGAIN; bytes written on wr come out
 * of rd, and so do bytes written by a new open of "fifo.a" by its path
 * (the FIFO is still the one at that name); rw reads its 100 bytes and
 * then what it writes itself; grd reads the 300 queued bytes, then what
 * gwr writes; "fifo.gone" has no link and mode 0640, and its name is
 * free; the three FIFOs are three inodes.
 *
 * Corrupt points: data, peer, name.
 *   (data: a byte is eaten; peer: wr is replaced by a writer of another
 *   FIFO; name: "fifo.a" is replaced by a new FIFO)
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zdtmtst.h"

#define A_LEN		5000
#define A_READ		1000
#define RW_LEN		100
#define G_LEN		300
#define SEED_A		0xf1f0
#define SEED_RW		0xf1f1
#define SEED_G		0xf1f2
#define SEED_MORE	0xf1f3

enum { RD, WR, RW, GRD, GWR, NR_FDS };
static const char *const names[NR_FDS] = { "rd", "wr", "rw", "grd", "gwr" };

static int fds[NR_FDS], fl[NR_FDS];
static char links[NR_FDS][PATH_MAX];
static uint8_t pat_a[A_LEN], pat_rw[RW_LEN], pat_g[G_LEN], buf[A_LEN];

static void make_fifo(const char *name, mode_t mode)
{
	unlink(name);
	if (mkfifo(name, mode) || chmod(name, mode))
		test_abort("mkfifo %s: %m", name);
}

static void setup(void)
{
	test_fill(pat_a, A_LEN, SEED_A);
	test_fill(pat_rw, RW_LEN, SEED_RW);
	test_fill(pat_g, G_LEN, SEED_G);

	make_fifo("fifo.a", 0600);
	fds[RD] = open("fifo.a", O_RDONLY | O_NONBLOCK);
	fds[WR] = open("fifo.a", O_WRONLY);
	if (fds[RD] < 0 || fds[WR] < 0 ||
	    write(fds[WR], pat_a, A_LEN) != A_LEN ||
	    read(fds[RD], buf, A_READ) != A_READ)
		test_abort("fifo.a: %m");

	make_fifo("fifo.rw", 0600);
	fds[RW] = open("fifo.rw", O_RDWR | O_NONBLOCK);
	if (fds[RW] < 0 || write(fds[RW], pat_rw, RW_LEN) != RW_LEN)
		test_abort("fifo.rw: %m");

	make_fifo("fifo.gone", 0640);
	fds[GRD] = open("fifo.gone", O_RDONLY | O_NONBLOCK);
	fds[GWR] = open("fifo.gone", O_WRONLY);
	if (fds[GRD] < 0 || fds[GWR] < 0 ||
	    write(fds[GWR], pat_g, G_LEN) != G_LEN || unlink("fifo.gone"))
		test_abort("fifo.gone: %m");

	for (int i = 0; i < NR_FDS; i++) {
		fl[i] = fcntl(fds[i], F_GETFL);
		if (test_fd_link(fds[i], links[i], sizeof(links[i])))
			test_abort("readlink: %m");
	}
}

static void corrupt(void)
{
	if (test_corrupt("data") && read(fds[RD], buf, 1) != 1)
		test_msg("read: %m");
	if (test_corrupt("peer")) {
		int fd;

		make_fifo("fifo.other", 0600);
		fd = open("fifo.other", O_RDWR);
		dup2(fd, fds[WR]);
		close(fd);
	}
	if (test_corrupt("name")) {
		unlink("fifo.a");
		make_fifo("fifo.a", 0600);
	}
}

/* Reads exactly len bytes (non-blocking fd), then expects EAGAIN. */
static void expect(int i, const uint8_t *want, size_t len, const char *what)
{
	size_t got = 0;
	ssize_t n;

	while (got < len && (n = read(fds[i], buf + got, len - got)) > 0)
		got += n;
	if (got != len || memcmp(buf, want, len)) {
		test_fail("%s: read %zu bytes of %s, expected %zu (or they differ)",
			  names[i], got, what, len);
		return;
	}
	n = read(fds[i], buf, 1);
	if (n != -1 || errno != EAGAIN)
		test_fail("%s: after %s: read returned %zd (%m), expected EAGAIN",
			  names[i], what, n);
}

static void check_fds(void)
{
	char link[PATH_MAX];
	struct stat st;

	for (int i = 0; i < NR_FDS; i++) {
		if (test_fd_link(fds[i], link, sizeof(link)) || strcmp(link, links[i]))
			test_fail("%s: link \"%s\", expected \"%s\"", names[i], link,
				  links[i]);
		if (fcntl(fds[i], F_GETFL) != fl[i])
			test_fail("%s: flags %#o, expected %#o", names[i],
				  fcntl(fds[i], F_GETFL), fl[i]);
		if (fstat(fds[i], &st) || !S_ISFIFO(st.st_mode))
			test_fail("%s: not a FIFO", names[i]);
	}
	if (fstat(fds[GRD], &st) || st.st_nlink || (st.st_mode & 07777) != 0640)
		test_fail("gone: nlink %lu mode %o, expected 0 and 0640",
			  (unsigned long)st.st_nlink, st.st_mode & 07777);
	if (!access("fifo.gone", F_OK))
		test_fail("fifo.gone is back in the directory");
}

static void check_a(void)
{
	uint8_t more[64];
	int fd;

	expect(RD, pat_a + A_READ, A_LEN - A_READ, "the queued bytes");
	test_fill(more, sizeof(more), SEED_MORE);
	if (write(fds[WR], more, sizeof(more)) != sizeof(more))
		test_fail("wr: write: %m");
	expect(RD, more, sizeof(more), "bytes written on wr");
	fd = open("fifo.a", O_WRONLY | O_NONBLOCK);
	if (fd < 0 || write(fd, more, 10) != 10)
		test_fail("fifo.a opened by name: %m (no reader?)");
	else
		expect(RD, more, 10, "bytes written through the name");
	if (fd >= 0)
		close(fd);
}

static void check_rw_and_gone(void)
{
	uint8_t more[32];
	struct stat a, rw, g;

	expect(RW, pat_rw, RW_LEN, "the queued bytes");
	test_fill(more, sizeof(more), SEED_MORE + 1);
	if (write(fds[RW], more, sizeof(more)) != sizeof(more))
		test_fail("rw: write: %m");
	expect(RW, more, sizeof(more), "its own bytes");

	expect(GRD, pat_g, G_LEN, "the queued bytes");
	if (write(fds[GWR], more, sizeof(more)) != sizeof(more))
		test_fail("gwr: write: %m");
	expect(GRD, more, sizeof(more), "bytes written on gwr");

	if (fstat(fds[RD], &a) || fstat(fds[RW], &rw) || fstat(fds[GRD], &g) ||
	    a.st_ino == rw.st_ino || a.st_ino == g.st_ino || rw.st_ino == g.st_ino)
		test_fail("the three FIFOs are not three inodes");
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	setup();
	test_ready();
	test_wait_term();
	corrupt();
	check_fds();
	check_a();
	check_rw_and_gone();
	test_done();
}
