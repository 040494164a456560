// SPDX-License-Identifier: GPL-2.0
/*
 * pidfd: three pidfds, each checked by what it does after restore.
 *   child  pidfd_open of a live child (which waits in pause()): not
 *          readable while the child lives; its fdinfo names the child;
 *          pidfd_send_signal(SIGKILL) through it kills that child, poll
 *          then says readable, waitid(P_PIDFD) reaps it as killed;
 *   dead   pidfd of a child that exited and was reaped before the dump:
 *          readable at once, pidfd_send_signal gives ESRCH;
 *   self   pidfd_open(getpid()), non-blocking: names this process, a
 *          signal 0 through it succeeds, SIGUSR1 through it arrives.
 * Corrupt: child kills the child before the check, dead replaces the dead
 * pidfd by one of this process, self the self pidfd by the child's.
 * Corrupt points: child, dead, self.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zdtmtst.h"

#ifndef P_PIDFD
#define P_PIDFD		3
#endif

static volatile sig_atomic_t got_usr1;

static void on_usr1(int sig)
{
	(void)sig;
	got_usr1 = 1;
}

static int pidfd_open(pid_t pid, unsigned flags)
{
	return syscall(__NR_pidfd_open, pid, flags);
}

static int pidfd_send_signal(int fd, int sig)
{
	return syscall(__NR_pidfd_send_signal, fd, sig, NULL, 0);
}

/* poll for POLLIN within ms */
static bool readable(int fd, int ms)
{
	struct pollfd p = { fd, POLLIN, 0 };

	return poll(&p, 1, ms) == 1 && (p.revents & POLLIN);
}

/* The pid the pidfd names, in its own PID namespace: the last of NSpid
 * (/proc is the host's when restored with --pidns). */
static pid_t fdinfo_pid(int fd)
{
	char line[128], *last;

	if (test_fdinfo_lines(fd, "NSpid:", line, sizeof(line)) || !line[0])
		return 0;
	last = strrchr(line, '\t');
	return strtol(last ? last + 1 : line + 6, NULL, 10);
}

static void check_child(int fd, pid_t child)
{
	siginfo_t si = { 0 };
	pid_t named = fdinfo_pid(fd);

	if (named != child)
		test_fail("child pidfd names pid %d, expected %d", named, child);
	if (readable(fd, 0))
		test_fail("child pidfd readable: child %d is gone", child);
	if (pidfd_send_signal(fd, SIGKILL))
		test_fail("pidfd_send_signal(child, SIGKILL): %m");
	if (!readable(fd, 10000))
		test_fail("child pidfd not readable after SIGKILL");
	if (waitid(P_PIDFD, fd, &si, WEXITED))
		test_fail("waitid(P_PIDFD, child): %m");
	else if (si.si_pid != child || si.si_code != CLD_KILLED ||
		 si.si_status != SIGKILL)
		test_fail("waitid(P_PIDFD): pid %d code %d status %d, expected "
			  "%d killed by SIGKILL", si.si_pid, si.si_code,
			  si.si_status, child);
}

static void check_dead(int fd)
{
	if (!readable(fd, 0))
		test_fail("pidfd of the reaped child is not readable");
	if (pidfd_send_signal(fd, 0) == 0)
		test_fail("pidfd of the reaped child: a signal went through");
	else if (errno != ESRCH)
		test_fail("pidfd of the reaped child: %m, expected ESRCH");
}

static void check_self(int fd)
{
	pid_t named = fdinfo_pid(fd);
	int fl = fcntl(fd, F_GETFL);

	if (named != getpid())
		test_fail("self pidfd names pid %d, expected %d", named, getpid());
	if (fl < 0 || !(fl & O_NONBLOCK))
		test_fail("self pidfd lost PIDFD_NONBLOCK (flags %#x)", fl);
	if (pidfd_send_signal(fd, 0))
		test_fail("pidfd_send_signal(self, 0): %m");
	if (pidfd_send_signal(fd, SIGUSR1))
		test_fail("pidfd_send_signal(self, SIGUSR1): %m");
	for (int i = 0; i < 1000 && !got_usr1; i++)
		usleep(1000);
	if (!got_usr1)
		test_fail("SIGUSR1 sent through the self pidfd did not arrive");
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_usr1 };
	int pc, pd, ps;
	pid_t child, dead;

	test_init(argc, argv);
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGUSR1, &sa, NULL))
		test_abort("sigaction: %m");
	child = fork();
	if (child < 0)
		test_abort("fork: %m");
	if (child == 0) {
		for (;;)
			pause();
	}
	dead = fork();
	if (dead < 0)
		test_abort("fork: %m");
	if (dead == 0)
		_exit(0);
	pc = pidfd_open(child, 0);
	pd = pidfd_open(dead, 0);
	ps = pidfd_open(getpid(), O_NONBLOCK);
	if (pc < 0 || pd < 0 || ps < 0)
		test_abort("pidfd_open: %m");
	if (waitpid(dead, NULL, 0) != dead)
		test_abort("waitpid(%d): %m", dead);
	test_ready();
	test_wait_term();

	if (test_corrupt("child")) {
		siginfo_t si;

		kill(child, SIGKILL);
		waitid(P_PID, child, &si, WEXITED | WNOWAIT);
	}
	if (test_corrupt("dead"))
		dup2(ps, pd);
	if (test_corrupt("self"))
		dup2(pc, ps);
	check_dead(pd);
	check_self(ps);
	check_child(pc, child);
	kill(child, SIGKILL);
	test_done();
}
