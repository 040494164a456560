// SPDX-License-Identifier: GPL-2.0
/*
 * subreaper: the root is a child subreaper (PR_SET_CHILD_SUBREAPER); its
 * child a forked the grandchild g and exited, so g was reparented to the
 * root (an orphan under its subreaper). After restore the root is still a
 * subreaper and g still its child; then g forks h and exits: h must be
 * reparented to the root again, which reaps it (the flag works, not just
 * reads back).
 * Corrupt: reaper drops the subreaper flag before the check.
 * Corrupt points: reaper.
 */
#include <errno.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zdtmtst.h"

static volatile sig_atomic_t go;

static void on_usr1(int sig)
{
	(void)sig;
	go = 1;
}

/* g: waits to be an orphan under root, then for SIGUSR1: forks h, exits */
static void __attribute__((noreturn)) grandchild(pid_t root, int w)
{
	pid_t h;

	while (getppid() != root)
		usleep(1000);
	if (write(w, "r", 1) != 1)
		_exit(1);
	while (!go)
		pause();
	h = fork();
	if (h == 0) {
		for (;;)
			pause();
	}
	if (write(w, &h, sizeof(h)) != sizeof(h))
		_exit(1);
	_exit(0);
}

static bool is_child(pid_t pid)
{
	siginfo_t si;

	return !waitid(P_PID, pid, &si, WEXITED | WNOHANG | WNOWAIT) ||
	       errno != ECHILD;
}

static void check_orphan_reparented(pid_t g, int r)
{
	pid_t h = 0;
	int st, i;

	if (kill(g, SIGUSR1) || read(r, &h, sizeof(h)) != sizeof(h) || h <= 0) {
		test_fail("g did not fork h: %m");
		return;
	}
	if (waitpid(g, &st, 0) != g || !WIFEXITED(st) || WEXITSTATUS(st))
		test_fail("g did not exit 0 (status %#x)", st);
	for (i = 0; i < 10000 && !is_child(h); i++)
		usleep(1000);
	if (!is_child(h)) {
		test_fail("orphan h %d was not reparented to the subreaper", h);
		kill(h, SIGKILL);
		return;
	}
	kill(h, SIGKILL);
	if (waitpid(h, &st, 0) != h || !WIFSIGNALED(st))
		test_fail("reaping h %d: status %#x", h, st);
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_usr1 };
	int p[2], reaper = -1;
	pid_t root = getpid(), a, g = 0;
	char c;

	test_init(argc, argv);
	sigemptyset(&sa.sa_mask);
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) || pipe(p) ||
	    sigaction(SIGUSR1, &sa, NULL))
		test_abort("setup: %m");
	a = fork();
	if (a < 0)
		test_abort("fork: %m");
	if (a == 0) {
		g = fork();
		if (g == 0)
			grandchild(root, p[1]);
		_exit(write(p[1], &g, sizeof(g)) == sizeof(g) ? 0 : 1);
	}
	if (read(p[0], &g, sizeof(g)) != sizeof(g) || g <= 0 ||
	    waitpid(a, NULL, 0) != a || read(p[0], &c, 1) != 1)
		test_abort("a and g: %m");
	test_ready();
	test_wait_term();

	if (test_corrupt("reaper"))
		prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0);
	if (prctl(PR_GET_CHILD_SUBREAPER, &reaper, 0, 0, 0) || reaper != 1)
		test_fail("PR_GET_CHILD_SUBREAPER: %d, expected 1", reaper);
	if (!is_child(g))
		test_fail("g %d is not the root's child", g);
	check_orphan_reparented(g, p[0]);
	test_done();
}
