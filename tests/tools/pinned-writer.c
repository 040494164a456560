// SPDX-License-Identifier: GPL-2.0
/*
 * pinned-writer: a process whose memory the kernel changes without a
 * write fault, between two pre-copy rounds (tests/pinned.sh).
 *
 * An area of AREA_PAGES pages, every byte 0x11. After READY it waits until
 * a dirty tracker write-protects the area (a pre-copy has started), then
 * makes an io_uring and registers the area's first page as a fixed buffer
 * (the pin takes one write fault), waits until a collect has protected
 * that page again (its own PAGEMAP_SCAN says "not written"), and has the
 * kernel read 0x22 bytes from a file into it (IORING_OP_READ_FIXED: the
 * kernel writes through its pin, not the page table). The ring is closed
 * and "WRITTEN" printed; the final freeze may come. After SIGTERM the first
 * page must hold 0x22, the rest 0x11; FAIL names the page otherwise.
 *
 * Usage: pinned-writer FILE    (FILE: scratch, in a directory of the test)
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/io_uring.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "kernel-compat.h"

#define PG		4096UL
#define AREA_PAGES	64
#define OLD		0x11
#define NEW		0x22

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static void die(const char *what)
{
	printf("FAIL: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* Pages of [p, p + len) in the categories of mask, by our own pagemap. */
static long scan_self(int pm, const char *p, size_t len, uint64_t mask)
{
	struct page_region r[AREA_PAGES];
	struct pm_scan_arg a = {
		.size = sizeof(a), .start = (uintptr_t)p,
		.end = (uintptr_t)p + len, .vec = (uintptr_t)r,
		.vec_len = AREA_PAGES, .category_mask = mask,
		.return_mask = mask,
	};
	long n = ioctl(pm, PAGEMAP_SCAN, &a), pages = 0;

	if (n < 0)
		die("PAGEMAP_SCAN");
	for (long i = 0; i < n; i++)
		pages += (r[i].end - r[i].start) / PG;
	return pages;
}

/* Polls cond every ms for up to 60 s (a pre-copy round may be slow). */
static void wait_for(int pm, const char *p, size_t len, uint64_t mask,
		     long want, const char *what)
{
	struct timespec ms = { 0, 1000000 };

	for (int i = 0; i < 60000 && !stop; i++) {
		if (scan_self(pm, p, len, mask) == want)
			return;
		nanosleep(&ms, NULL);
	}
	printf("FAIL: %s did not happen\n", what);
	exit(1);
}

/* A ring of 4 entries: one READ_FIXED of fd into buffer 0 at page. */
static void read_fixed(int fd, char *page, int pm)
{
	struct io_uring_params pr = { 0 };
	struct iovec iov = { page, PG };
	struct io_uring_sqe *sqe;
	unsigned *tail, *array;
	size_t sq_len;
	char *sq;
	int ring;

	ring = syscall(__NR_io_uring_setup, 4, &pr);
	if (ring < 0)
		die("io_uring_setup");
	if (syscall(__NR_io_uring_register, ring, IORING_REGISTER_BUFFERS,
		    &iov, 1))
		die("IORING_REGISTER_BUFFERS");
	printf("REGISTERED\n");
	fflush(stdout);
	sq_len = pr.sq_off.array + pr.sq_entries * sizeof(unsigned);
	if (sq_len < pr.cq_off.cqes + pr.cq_entries * sizeof(struct io_uring_cqe))
		sq_len = pr.cq_off.cqes + pr.cq_entries * sizeof(struct io_uring_cqe);
	sq = mmap(NULL, sq_len, PROT_READ | PROT_WRITE, MAP_SHARED, ring,
		  IORING_OFF_SQ_RING);
	sqe = mmap(NULL, pr.sq_entries * sizeof(*sqe), PROT_READ | PROT_WRITE,
		   MAP_SHARED, ring, IORING_OFF_SQES);
	if (sq == MAP_FAILED || sqe == MAP_FAILED)
		die("mmap io_uring");
	/* the pin wrote the page once; a collect protects it again */
	wait_for(pm, page, PG, PAGE_IS_WRITTEN, 0,
		 "a collect protecting the registered page again");
	memset(sqe, 0, sizeof(*sqe));
	sqe->opcode = IORING_OP_READ_FIXED;
	sqe->fd = fd;
	sqe->addr = (uintptr_t)page;
	sqe->len = PG;
	sqe->buf_index = 0;
	tail = (unsigned *)(sq + pr.sq_off.tail);
	array = (unsigned *)(sq + pr.sq_off.array);
	array[*tail & *(unsigned *)(sq + pr.sq_off.ring_mask)] = 0;
	__atomic_store_n(tail, *tail + 1, __ATOMIC_RELEASE);
	if (syscall(__NR_io_uring_enter, ring, 1, 1, IORING_ENTER_GETEVENTS,
		    NULL, 0) != 1)
		die("io_uring_enter");
	munmap(sqe, pr.sq_entries * sizeof(*sqe));
	munmap(sq, sq_len);
	close(ring);
}

static int check(const char *area)
{
	int bad = 0;

	for (size_t i = 0; i < AREA_PAGES * PG; i++) {
		int want = i < PG ? NEW : OLD;

		if ((unsigned char)area[i] != want) {
			printf("FAIL: page %zu byte %zu holds %#x, not %#x%s\n",
			       i / PG, i % PG, (unsigned char)area[i], want,
			       i < PG ? " (the kernel's write through its pin "
			       "was lost)" : "");
			bad = 1;
			break;
		}
	}
	return bad;
}

int main(int argc, char **argv)
{
	char buf[PG], *area;
	int pm, fd;

	/* --odirect FILE PROG ARGS...: PROG run with FILE open O_DIRECT on
	 * fd 9 (pinned.sh's odirect case) */
	if (argc >= 4 && !strcmp(argv[1], "--odirect")) {
		fd = open(argv[2], O_RDWR | O_CREAT | O_DIRECT, 0600);
		if (fd < 0 || dup2(fd, 9) != 9)
			die(argv[2]);
		execv(argv[3], argv + 3);
		die(argv[3]);
	}
	if (argc != 2) {
		fprintf(stderr, "usage: pinned-writer FILE\n"
			"       pinned-writer --odirect FILE PROG [ARGS...]\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGTERM, on_term);
	memset(buf, NEW, sizeof(buf));
	fd = open(argv[1], O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, buf, PG) != (ssize_t)PG)
		die(argv[1]);
	pm = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	area = mmap(NULL, AREA_PAGES * PG, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (pm < 0 || area == MAP_FAILED)
		die("setup");
	memset(area, OLD, AREA_PAGES * PG);
	printf("READY\n");
	wait_for(pm, area, AREA_PAGES * PG, PAGE_IS_WPALLOWED, AREA_PAGES,
		 "write tracking of the area");
	if (!stop) {
		read_fixed(fd, area, pm);
		close(pm);	/* no /proc fd or file left for the dump */
		close(fd);
		printf("WRITTEN\n");
	}
	while (!stop)
		pause();
	if (check(area))
		return 1;
	printf("PASS\n");
	return 0;
}
