// SPDX-License-Identifier: GPL-2.0
/*
 * aio: two AIO contexts (io_setup of 16 and of 200 events), each used
 * once before the dump (a write submitted and its completion read). After
 * restore each context id still names a context: its ring is at that
 * address with the kernel's magic and is empty, a write submitted through
 * io_submit completes (io_getevents gives its cookie and length) and its
 * bytes are in the file, io_destroy succeeds.
 * Corrupt: ctx destroys the first context before the check.
 * Corrupt points: ctx.
 */
#include <fcntl.h>
#include <linux/aio_abi.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "zdtmtst.h"

#define AIO_RING_MAGIC	0xa10a10a1

struct ring_head {
	unsigned id, nr, head, tail, magic;
};

static int fd;

/* Writes msg at off through ctx and reads its completion: 0 or -1. */
static int aio_write(aio_context_t ctx, const char *msg, off_t off,
		     uint64_t cookie)
{
	struct iocb cb = { 0 }, *cbs[1] = { &cb };
	struct io_event ev = { 0 };
	struct timespec ts = { 5, 0 };
	long n;

	cb.aio_data = cookie;
	cb.aio_lio_opcode = IOCB_CMD_PWRITE;
	cb.aio_fildes = fd;
	cb.aio_buf = (uint64_t)msg;
	cb.aio_nbytes = strlen(msg);
	cb.aio_offset = off;
	if (syscall(__NR_io_submit, ctx, 1, cbs) != 1) {
		test_fail("io_submit on context %#lx: %m", (long)ctx);
		return -1;
	}
	n = syscall(__NR_io_getevents, ctx, 1, 1, &ev, &ts);
	if (n != 1 || ev.data != cookie || ev.res != (long)strlen(msg)) {
		test_fail("context %#lx: %ld events, data %#llx res %lld", (long)ctx,
			  n, (unsigned long long)ev.data, (long long)ev.res);
		return -1;
	}
	return 0;
}

static void check_ctx(aio_context_t ctx, const char *msg, off_t off)
{
	const struct ring_head *r = (const void *)ctx;
	char buf[64] = "";

	if (r->magic != AIO_RING_MAGIC || r->head != r->tail)
		test_fail("ring %#lx: magic %#x head %u tail %u", (long)ctx,
			  r->magic, r->head, r->tail);
	if (aio_write(ctx, msg, off, 0xc0de + off))
		return;
	if (pread(fd, buf, strlen(msg), off) != (ssize_t)strlen(msg) ||
	    memcmp(buf, msg, strlen(msg)))
		test_fail("context %#lx: the file does not hold %s", (long)ctx, msg);
	if (syscall(__NR_io_destroy, ctx))
		test_fail("io_destroy(%#lx): %m", (long)ctx);
}

int main(int argc, char **argv)
{
	aio_context_t a = 0, b = 0;

	test_init(argc, argv);
	fd = open("aio.data", O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || syscall(__NR_io_setup, 16, &a) ||
	    syscall(__NR_io_setup, 200, &b))
		test_abort("setup: %m");
	if (aio_write(a, "before-a", 0, 1) || aio_write(b, "before-b", 64, 2))
		test_abort("first writes failed");
	test_ready();
	test_wait_term();

	if (test_corrupt("ctx"))
		syscall(__NR_io_destroy, a);
	check_ctx(a, "after-a", 128);
	check_ctx(b, "after-b", 192);
	test_done();
}
