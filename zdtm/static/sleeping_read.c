// SPDX-License-Identifier: GPL-2.0
/*
 * sleeping_read: the process is blocked in read() on an empty pipe for its
 * whole life.  The SIGTERM handler (SA_RESTART) writes 'T' into the pipe, so
 * the read, restarted by the kernel after the handler, returns that byte.
 * A checkpoint interrupts the read with -ERESTARTSYS; the restored process
 * must go back into the same read: an EINTR, an early return or any other
 * byte is a failure.
 *
 * Corrupt points: eintr.
 *   (the SIGTERM handler is installed without SA_RESTART)
 */
#include <errno.h>
#include <unistd.h>

#include "zdtmtst.h"

static int pipe_fd[2];

static void on_sigterm(int sig)
{
	(void)sig;
	test_stop = 1;
	if (write(pipe_fd[1], "T", 1) != 1)
		_exit(3);
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_sigterm, .sa_flags = SA_RESTART };
	unsigned char c = 0;
	ssize_t n;

	test_init(argc, argv);
	if (pipe(pipe_fd))
		test_abort("pipe: %m");
	if (test_corrupt("eintr"))
		sa.sa_flags = 0;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGTERM, &sa, NULL))
		test_abort("sigaction: %m");

	test_ready();
	n = read(pipe_fd[0], &c, 1);
	if (n < 0)
		test_fail("read: %m (stop flag %d)", test_stop);
	else if (n != 1 || c != 'T')
		test_fail("read returned %zd, byte %#x; expected 1, 'T'", n, c);
	else if (!test_stop)
		test_fail("read returned before SIGTERM");
	test_done();
}
