// SPDX-License-Identifier: GPL-2.0
/*
 * zombie: two children that died before the dump and were not reaped (one
 * exited with 7, one was killed by SIGKILL). After restore they are still
 * zombies with the same PIDs, and reaping them gives the same statuses.
 * Corrupt points: status, pid.
 */
#include <signal.h>
#include <stdbool.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zdtmtst.h"

static bool zombie(pid_t pid)
{
	siginfo_t si = { 0 };

	return !waitid(P_PID, pid, &si, WEXITED | WNOHANG | WNOWAIT) &&
	       si.si_pid == pid;
}

int main(int argc, char **argv)
{
	pid_t a, b, w;
	int st;

	test_init(argc, argv);
	a = fork();
	if (a == 0)
		_exit(7);
	b = fork();
	if (b == 0) {
		raise(SIGKILL);
		_exit(1);
	}
	while (!zombie(a) || !zombie(b))
		usleep(1000);
	test_ready();
	test_wait_term();

	/* still dead and unreaped (asked without /proc: with --pidns it
	 * is the host's and shows other PIDs) */
	if (!zombie(a) || !zombie(b))
		test_fail("children %d %d are not both waiting to be reaped", a, b);
	if (test_corrupt("pid"))
		a++;
	w = waitpid(a, &st, WNOHANG);
	if (w != a)
		test_fail("waitpid(%d) = %d: the zombie is not there", a, w);
	else if (!WIFEXITED(st) || WEXITSTATUS(st) != (test_corrupt("status") ? 8 : 7))
		test_fail("child %d: status %#x, expected exit 7", a, st);
	w = waitpid(b, &st, WNOHANG);
	if (w != b)
		test_fail("waitpid(%d) = %d: the zombie is not there", b, w);
	else if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGKILL)
		test_fail("child %d: status %#x, expected SIGKILL", b, st);
	test_done();
}
