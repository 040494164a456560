// SPDX-License-Identifier: GPL-2.0
/*
 * fown: signal-driven I/O (O_ASYNC) on two pipes.
 *   a  read end owned by the root itself (F_SETOWN_EX F_OWNER_PID), its
 *      signal SIGUSR2 (F_SETSIG) instead of SIGIO;
 *   b  read end owned by a child (F_SETOWN), plain SIGIO.
 * After restore the owners, the signal and O_ASYNC read back the same;
 * a byte written into a brings SIGUSR2 to the root with si_fd = a's read
 * end (F_SETSIG's siginfo), a byte written into b brings SIGIO to the
 * child, which says so through a report pipe.
 * Corrupt: sig sets a's signal back to SIGIO, owner makes the root own b.
 * Corrupt points: sig, owner.
 */
#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zdtmtst.h"

static volatile sig_atomic_t usr2_fd = -1, got_io;

static void on_usr2(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	usr2_fd = si->si_fd;
}

static void on_io(int sig)
{
	(void)sig;
	got_io = 1;
}

static void handle(int sig, void (*h)(int), void (*sa)(int, siginfo_t *, void *))
{
	struct sigaction act = { 0 };

	sigemptyset(&act.sa_mask);
	if (sa) {
		act.sa_sigaction = sa;
		act.sa_flags = SA_SIGINFO;
	} else {
		act.sa_handler = h;
	}
	if (sigaction(sig, &act, NULL))
		test_abort("sigaction(%d): %m", sig);
}

static void make_async(int fd, pid_t owner, int type, int sig)
{
	struct f_owner_ex o = { type, owner };

	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_ASYNC | O_NONBLOCK) ||
	    fcntl(fd, F_SETOWN_EX, &o) || (sig && fcntl(fd, F_SETSIG, sig)))
		test_abort("fd %d async to %d: %m", fd, owner);
}

static void __attribute__((noreturn)) child(int report)
{
	while (!got_io)
		pause();
	_exit(write(report, "I", 1) == 1 ? 0 : 1);
}

static void check_owner(int fd, const char *what, pid_t pid, int type, int sig)
{
	struct f_owner_ex o = { 0, 0 };
	int fl = fcntl(fd, F_GETFL), s = fcntl(fd, F_GETSIG);

	if (fcntl(fd, F_GETOWN_EX, &o) || o.pid != pid || (int)o.type != type)
		test_fail("%s: owner type %d pid %d, expected %d %d", what, (int)
			  o.type, o.pid, type, pid);
	if (s != sig)
		test_fail("%s: F_GETSIG %d, expected %d", what, s, sig);
	if (fl < 0 || !(fl & O_ASYNC))
		test_fail("%s: O_ASYNC lost (flags %#x)", what, fl);
}

int main(int argc, char **argv)
{
	int a[2], b[2], rep[2], st;
	struct pollfd p;
	pid_t kid;

	test_init(argc, argv);
	handle(SIGUSR2, NULL, on_usr2);
	handle(SIGIO, on_io, NULL);
	if (pipe(a) || pipe(b) || pipe(rep))
		test_abort("pipe: %m");
	kid = fork();
	if (kid < 0)
		test_abort("fork: %m");
	if (kid == 0)
		child(rep[1]);
	make_async(a[0], getpid(), F_OWNER_PID, SIGUSR2);
	make_async(b[0], kid, F_OWNER_PID, 0);
	test_ready();
	test_wait_term();

	if (test_corrupt("sig"))
		fcntl(a[0], F_SETSIG, 0);
	if (test_corrupt("owner"))
		fcntl(b[0], F_SETOWN, getpid());
	check_owner(a[0], "a", getpid(), F_OWNER_PID, SIGUSR2);
	check_owner(b[0], "b", kid, F_OWNER_PID, 0);
	if (write(a[1], "x", 1) != 1 || write(b[1], "y", 1) != 1)
		test_fail("write: %m");
	for (int i = 0; i < 5000 && usr2_fd < 0; i++)
		usleep(1000);
	if (usr2_fd != a[0])
		test_fail("SIGUSR2 for a: si_fd %d, expected %d", usr2_fd, a[0]);
	p = (struct pollfd){ rep[0], POLLIN, 0 };
	if (poll(&p, 1, 10000) != 1)
		test_fail("the child got no SIGIO for b");
	kill(kid, SIGKILL);
	waitpid(kid, &st, 0);
	test_done();
}
