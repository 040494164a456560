// SPDX-License-Identifier: GPL-2.0
/*
 * epoll_tfd: epoll watches whose fd number changed since EPOLL_CTL_ADD
 * (the kernel keeps a watch as long as its file is open anywhere).
 *   a  pipe read end added with data 0xa, then dup'ed and closed: the
 *      file lives on under another number, the old number is free;
 *   b  pipe read end added with data 0xb, then dup'ed, and its number
 *      given to /dev/null (dup2 over it).
 * After restore a byte into a's pipe reports 0xa, one into b's reports
 * 0xb (the watches follow the files, not the numbers); fdinfo still
 * lists the watches under their old numbers; a's old number is closed,
 * b's is /dev/null.
 * Corrupt: closed closes a's last fd (the kernel drops its watch).
 * Corrupt points: closed.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "zdtmtst.h"

/* The data of the one ready watch, or 0. */
static uint64_t ready_one(int ep)
{
	struct epoll_event ev[4];
	int n = epoll_wait(ep, ev, 4, 5000);

	return n == 1 ? ev[0].data.u64 : 0;
}

static void check_event(int ep, int wr, int rd, uint64_t want, const char *what)
{
	char c;
	uint64_t got;

	if (write(wr, "x", 1) != 1)
		test_fail("%s: write: %m", what);
	got = ready_one(ep);
	if (got != want)
		test_fail("%s: epoll reports %#lx, expected %#lx", what,
			  (unsigned long)got, (unsigned long)want);
	if (read(rd, &c, 1) != 1)
		test_fail("%s: read back: %m", what);
}

static bool listed(int ep, int tfd)
{
	char lines[1024], want[32];

	snprintf(want, sizeof(want), "tfd: %8d ", tfd);
	return !test_fdinfo_lines(ep, "tfd:", lines, sizeof(lines)) &&
	       strstr(lines, want);
}

int main(int argc, char **argv)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int ep, a[2], b[2], a_now, b_now, nul;
	char link[64];

	test_init(argc, argv);
	ep = epoll_create1(0);
	if (ep < 0 || pipe(a) || pipe(b))
		test_abort("setup: %m");
	ev.data.u64 = 0xa;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, a[0], &ev))
		test_abort("add a: %m");
	ev.data.u64 = 0xb;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, b[0], &ev))
		test_abort("add b: %m");
	a_now = dup(a[0]);
	b_now = dup(b[0]);
	nul = open("/dev/null", O_RDONLY);
	if (a_now < 0 || b_now < 0 || nul < 0 || close(a[0]) ||
	    dup2(nul, b[0]) < 0 || close(nul))
		test_abort("move the fds: %m");
	if (!listed(ep, a[0]) || !listed(ep, b[0]))
		test_abort("fdinfo does not list the watches under %d, %d",
			   a[0], b[0]);
	test_ready();
	test_wait_term();

	if (test_corrupt("closed"))
		close(a_now);
	if (!listed(ep, a[0]) || !listed(ep, b[0]))
		test_fail("fdinfo lost the watches under fds %d, %d", a[0], b[0]);
	check_event(ep, a[1], a_now, 0xa, "a");
	check_event(ep, b[1], b_now, 0xb, "b");
	if (fcntl(a[0], F_GETFD) != -1)
		test_fail("fd %d (a's old number) is open", a[0]);
	if (test_fd_link(b[0], link, sizeof(link)) || strcmp(link, "/dev/null"))
		test_fail("fd %d (b's old number) is not /dev/null", b[0]);
	test_done();
}
