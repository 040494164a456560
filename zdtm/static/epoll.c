// SPDX-License-Identifier: GPL-2.0
/*
 * epoll: an epoll set over three pipes and an eventfd, each with its own
 * events and data:
 *   p1 read end  EPOLLIN           data 0x1111   (a byte is in flight)
 *   p2 read end  EPOLLIN|EPOLLET   data 0x2222   (empty)
 *   p3 write end EPOLLOUT          data 0x3333   (always writable)
 *   eventfd      EPOLLIN           data 0x4444   (count 1)
 * After restore epoll_wait() reports exactly 0x1111, 0x3333 and 0x4444;
 * a write into p2 then reports 0x2222 once (edge-triggered); the "tfd:"
 * lines of the epoll fd's fdinfo are unchanged.
 *
 * Corrupt points: ready, target.
 */
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "zdtmtst.h"

enum { D_P1 = 0x1111, D_P2 = 0x2222, D_P3 = 0x3333, D_EFD = 0x4444 };

static int ep;

/*
 * The "tfd:" lines without what a restore legitimately changes (pos, inode
 * numbers of new pipes) and in a fixed order (the kernel orders them by
 * struct file address).
 */
static void epoll_targets(char *out, size_t size)
{
	char raw[2048], *lines[16], *p, *save = NULL;
	int n = 0, i, j;
	size_t len = 0;

	test_fdinfo_lines(ep, "tfd:", raw, sizeof(raw));
	for (p = strtok_r(raw, "\n", &save); p && n < 16; p = strtok_r(NULL, "\n", &save)) {
		char *pos = strstr(p, " pos:");

		if (pos)
			*pos = '\0';
		lines[n++] = p;
	}
	for (i = 1; i < n; i++)
		for (j = i; j > 0 && strcmp(lines[j - 1], lines[j]) > 0; j--) {
			p = lines[j];
			lines[j] = lines[j - 1];
			lines[j - 1] = p;
		}
	out[0] = '\0';
	for (i = 0; i < n && len < size; i++)
		len += snprintf(out + len, size - len, "%s%s", i ? "\n" : "", lines[i]);
}

static void add(int fd, uint32_t events, uint64_t data)
{
	struct epoll_event ev = { .events = events, .data.u64 = data };

	if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev))
		test_abort("epoll_ctl: %m");
}

/* The data of the ready targets as a bit set (bit 0: 0x1111 ... bit 3: 0x4444). */
static unsigned int ready_set(void)
{
	struct epoll_event evs[8];
	unsigned int set = 0;
	int i, n = epoll_wait(ep, evs, 8, 0);

	if (n < 0)
		test_fail("epoll_wait: %m");
	for (i = 0; i < n; i++) {
		uint64_t d = evs[i].data.u64;

		if (d % 0x1111 || d < D_P1 || d > D_EFD)
			test_fail("epoll_wait: unknown data %#lx", (unsigned long)d);
		else
			set |= 1U << (d / 0x1111 - 1);
	}
	return set;
}

int main(int argc, char **argv)
{
	char tfd_before[1024], tfd_after[1024], link[64];
	int p1[2], p2[2], p3[2], efd;
	uint64_t one = 1;
	unsigned int set;

	test_init(argc, argv);
	ep = epoll_create1(0);
	efd = eventfd(0, 0);
	if (ep < 0 || efd < 0 || pipe(p1) || pipe(p2) || pipe(p3))
		test_abort("setup: %m");
	add(p1[0], EPOLLIN, D_P1);
	add(p2[0], EPOLLIN | EPOLLET, D_P2);
	add(p3[1], EPOLLOUT, D_P3);
	add(efd, EPOLLIN, D_EFD);
	if (write(p1[1], "x", 1) != 1 || write(efd, &one, sizeof(one)) != sizeof(one))
		test_abort("write: %m");
	epoll_targets(tfd_before, sizeof(tfd_before));

	test_ready();
	test_wait_term();
	if (test_corrupt("ready") && read(efd, &one, sizeof(one)) < 0)
		test_msg("corrupt: %m");
	if (test_corrupt("target"))
		epoll_ctl(ep, EPOLL_CTL_DEL, p3[1], NULL);

	test_fd_link(ep, link, sizeof(link));
	if (strcmp(link, "anon_inode:[eventpoll]"))
		test_fail("fd %d is \"%s\", not an epoll fd", ep, link);
	epoll_targets(tfd_after, sizeof(tfd_after));
	if (strcmp(tfd_before, tfd_after))
		test_fail("epoll targets differ:\n%s\nwas:\n%s", tfd_after, tfd_before);
	set = ready_set();
	if (set != 0xd)
		test_fail("ready set %#x, expected 0xd (p1, p3, eventfd)", set);
	if (write(p2[1], "y", 1) != 1)
		test_fail("write p2: %m");
	set = ready_set();
	if (set != 0xf)
		test_fail("after a write to p2: ready set %#x, expected 0xf", set);
	set = ready_set();
	if (set != 0xd)
		test_fail("p2 is edge-triggered, yet reported again (set %#x)", set);
	test_done();
}
