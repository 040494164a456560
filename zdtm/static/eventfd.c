// SPDX-License-Identifier: GPL-2.0
/*
 * eventfd: three eventfds with counts and flags to keep:
 *   a: EFD_NONBLOCK, initial 5, plus a write of 37: reads 42, then EAGAIN;
 *   b: EFD_SEMAPHORE | EFD_NONBLOCK, count 3: reads 1 three times, then
 *      EAGAIN;
 *   c: blocking, count 0.
 * After restore each still counts: what is written is read back.
 *
 * Corrupt points: count, flags.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "zdtmtst.h"

struct efd {
	const char *name;
	int fd;
	int fl;
};

static void open_efd(struct efd *e, const char *name, unsigned int init, int flags)
{
	e->name = name;
	e->fd = eventfd(init, flags);
	if (e->fd < 0)
		test_abort("eventfd: %m");
	e->fl = fcntl(e->fd, F_GETFL);
}

static bool check_identity(const struct efd *e)
{
	char link[64];

	test_fd_link(e->fd, link, sizeof(link));
	if (strcmp(link, "anon_inode:[eventfd]")) {
		test_fail("%s: fd %d is \"%s\", not an eventfd", e->name, e->fd, link);
		return false;
	}
	if (fcntl(e->fd, F_GETFL) != e->fl) {
		test_fail("%s: flags %#o, expected %#o", e->name,
			  fcntl(e->fd, F_GETFL), e->fl);
		return false;
	}
	return true;
}

/* One read; 0 (errno EAGAIN) when the counter is zero. */
static uint64_t read_count(const struct efd *e)
{
	uint64_t v = 0;

	errno = 0;
	if (read(e->fd, &v, sizeof(v)) != sizeof(v))
		return 0;
	return v;
}

static void write_count(const struct efd *e, uint64_t v)
{
	if (write(e->fd, &v, sizeof(v)) != sizeof(v))
		test_fail("%s: write %lu: %m", e->name, (unsigned long)v);
}

/* Reads @nr values, each must be @want, then (non-blocking) EAGAIN. */
static void expect_reads(const struct efd *e, int nr, uint64_t want, bool eagain)
{
	uint64_t v;
	int i;

	for (i = 0; i < nr; i++)
		if ((v = read_count(e)) != want)
			test_fail("%s: read %d gave %lu, expected %lu", e->name, i,
				  (unsigned long)v, (unsigned long)want);
	if (eagain && (read_count(e) || errno != EAGAIN))
		test_fail("%s: no EAGAIN after %d read(s)", e->name, nr);
}

int main(int argc, char **argv)
{
	struct efd a, b, c;

	test_init(argc, argv);
	open_efd(&a, "a", 5, EFD_NONBLOCK);
	open_efd(&b, "b", 3, EFD_SEMAPHORE | EFD_NONBLOCK);
	open_efd(&c, "c", 0, 0);
	write_count(&a, 37);
	if (test_failures())
		test_abort("eventfd write");

	test_ready();
	test_wait_term();
	if (test_corrupt("count"))
		write_count(&a, 1);
	if (test_corrupt("flags"))
		fcntl(b.fd, F_SETFL, 0);

	if (check_identity(&a)) {
		expect_reads(&a, 1, 42, true);
		write_count(&a, 9);
		expect_reads(&a, 1, 9, true);
	}
	if (check_identity(&b)) {
		expect_reads(&b, 3, 1, true);
		write_count(&b, 2);
		expect_reads(&b, 2, 1, true);
	}
	if (check_identity(&c)) {
		write_count(&c, 7);
		expect_reads(&c, 1, 7, false);
	}
	test_done();
}
