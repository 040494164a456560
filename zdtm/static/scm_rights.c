// SPDX-License-Identifier: GPL-2.0
/*
 * scm_rights: files in flight in unix socket queues (SCM_RIGHTS).
 *   stream pair: "hello", then "files" carrying the write end of a pipe
 *   (holding "inpipe"; the test keeps its read end) and the file
 *   "scm.file" opened O_RDWR at offset 7, then "tail"; the sent fds are
 *   closed in the test: they live only in the queue.
 *   datagram pair: "m1", "m2" carrying a memfd ("memfd data"), "m3"
 *   carrying an eventfd counting 5.
 * After restore each message comes out as it went in (a stream read ends
 * with the bytes that carry files: "hellofiles", then "tail"), the files
 * with the same messages only: the pipe end is the pipe the test still reads
 * ("inpipe", then a byte written through the received end); the file is
 * scm.file at offset 7; the memfd holds its data; the eventfd counts 5.
 *
 * Corrupt points: fds, pipe.
 *   (fds: the "files" message is received before the checks; pipe: the
 *   kept read end is replaced by another pipe's)
 */
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "zdtmtst.h"

#define FILE_DATA	"0123456789abcdef"
#define MEMFD_DATA	"memfd data"

static int st[2], dg[2], pipe_rd;
static char file_link[PATH_MAX];

static void send_fds(int sk, const char *msg, const int *fds, int nr)
{
	char cbuf[CMSG_SPACE(sizeof(int) * 4)];
	struct iovec iov = { (void *)msg, strlen(msg) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (nr) {
		struct cmsghdr *c;

		mh.msg_control = cbuf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nr);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nr);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nr);
	}
	if (sendmsg(sk, &mh, 0) != (ssize_t)strlen(msg))
		test_abort("sendmsg %s: %m", msg);
}

/* One recvmsg: its bytes (NUL-terminated) and up to 4 fds; count of fds. */
static int recv_fds(int sk, char *buf, size_t sz, int *fds)
{
	char cbuf[CMSG_SPACE(sizeof(int) * 4)];
	struct iovec iov = { buf, sz - 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	ssize_t n = recvmsg(sk, &mh, MSG_DONTWAIT);
	int nr = 0;

	buf[n > 0 ? n : 0] = 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); n >= 0 && c;
	     c = CMSG_NXTHDR(&mh, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
			nr = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			memcpy(fds, CMSG_DATA(c), nr * sizeof(int));
		}
	return n < 0 ? -1 : nr;
}

static void setup(void)
{
	int p[2], f, m, e, fds[2];

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, st) ||
	    socketpair(AF_UNIX, SOCK_DGRAM, 0, dg) || pipe(p))
		test_abort("socketpair, pipe: %m");
	f = open("scm.file", O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (f < 0 || write(f, FILE_DATA, strlen(FILE_DATA)) != strlen(FILE_DATA) ||
	    lseek(f, 7, SEEK_SET) != 7 || write(p[1], "inpipe", 6) != 6 ||
	    test_fd_link(f, file_link, sizeof(file_link)))
		test_abort("scm.file, pipe: %m");
	pipe_rd = p[0];
	send_fds(st[0], "hello", NULL, 0);
	fds[0] = p[1];
	fds[1] = f;
	send_fds(st[0], "files", fds, 2);
	send_fds(st[0], "tail", NULL, 0);
	close(p[1]);
	close(f);

	m = memfd_create("scm-memfd", 0);
	e = eventfd(5, 0);
	if (m < 0 || e < 0 || write(m, MEMFD_DATA, strlen(MEMFD_DATA)) !=
	    strlen(MEMFD_DATA))
		test_abort("memfd, eventfd: %m");
	send_fds(dg[0], "m1", NULL, 0);
	send_fds(dg[0], "m2", &m, 1);
	send_fds(dg[0], "m3", &e, 1);
	close(m);
	close(e);
}

static void corrupt(void)
{
	if (test_corrupt("fds")) {
		/* the same messages, without the files */
		int s2[2];

		if (!socketpair(AF_UNIX, SOCK_STREAM, 0, s2)) {
			send_fds(s2[0], "hello", NULL, 0);
			send_fds(s2[0], "files", NULL, 0);
			send_fds(s2[0], "tail", NULL, 0);
			dup2(s2[1], st[1]);
		}
	}
	if (test_corrupt("pipe")) {
		int p[2];

		if (!pipe(p) && write(p[1], "inpipe", 6) == 6)
			dup2(p[0], pipe_rd);
	}
}

static void expect(int sk, const char *want, int want_fds, int *fds)
{
	char buf[64];
	int n = recv_fds(sk, buf, sizeof(buf), fds);

	if (n != want_fds || strcmp(buf, want))
		test_fail("received \"%s\" with %d file(s), expected \"%s\" with %d",
			  buf, n, want, want_fds);
}

static void check_stream(void)
{
	char buf[64] = "", link[PATH_MAX];
	int fds[4] = { -1, -1 };

	/* a stream read stops after the bytes that carry files */
	expect(st[1], "hellofiles", 2, fds);
	expect(st[1], "tail", 0, fds);
	if (fds[0] < 0 || fds[1] < 0)
		return;
	if (read(pipe_rd, buf, 6) != 6 || memcmp(buf, "inpipe", 6))
		test_fail("pipe: \"%.6s\" read, expected inpipe", buf);
	if (write(fds[0], "X", 1) != 1 || read(pipe_rd, buf, 1) != 1 || buf[0] != 'X')
		test_fail("pipe: a byte written on the received end is not read "
			  "from the kept one");
	if (test_fd_link(fds[1], link, sizeof(link)) || strcmp(link, file_link))
		test_fail("file: link %s, expected %s", link, file_link);
	if (lseek(fds[1], 0, SEEK_CUR) != 7 || read(fds[1], buf, 3) != 3 ||
	    memcmp(buf, FILE_DATA + 7, 3))
		test_fail("file: not at offset 7 or its bytes differ");
}

static void check_dgram(void)
{
	char buf[64] = "";
	uint64_t cnt = 0;
	int fds[4] = { -1, -1 };

	expect(dg[1], "m1", 0, fds);
	expect(dg[1], "m2", 1, fds);
	if (fds[0] >= 0 && (pread(fds[0], buf, strlen(MEMFD_DATA), 0) !=
			    (ssize_t)strlen(MEMFD_DATA) ||
			    memcmp(buf, MEMFD_DATA, strlen(MEMFD_DATA))))
		test_fail("memfd: holds \"%s\"", buf);
	fds[0] = -1;
	expect(dg[1], "m3", 1, fds);
	if (fds[0] >= 0 && (read(fds[0], &cnt, 8) != 8 || cnt != 5))
		test_fail("eventfd: counts %lu, expected 5", (unsigned long)cnt);
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	setup();
	test_ready();
	test_wait_term();
	corrupt();
	check_stream();
	check_dgram();
	test_done();
}
