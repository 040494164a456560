// SPDX-License-Identifier: GPL-2.0
/*
 * pdeathsig: parent-death signals in a three-process chain.
 *   root        the test;
 *   child       PR_SET_PDEATHSIG = SIGUSR1 (it would get it if root died);
 *   grandchild  PR_SET_PDEATHSIG = SIGUSR2, with a handler that counts it.
 * After restore the child and the grandchild read their setting back with
 * PR_GET_PDEATHSIG; then the child exits, and the grandchild must get
 * SIGUSR2 from the kernel: it reports through a pipe to the root.
 *
 * Corrupt points: child, grandchild, signal.
 */
#include <poll.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zdtmtst.h"

#define REPORT_TIMEOUT_MS	5000

static volatile sig_atomic_t got_usr2;

static void on_usr2(int sig)
{
	(void)sig;
	got_usr2++;
}

static void check_pdeathsig(const char *who, int expected)
{
	int sig = -1;

	if (prctl(PR_GET_PDEATHSIG, &sig, 0, 0, 0))
		test_fail("%s: PR_GET_PDEATHSIG: %m", who);
	else if (sig != expected)
		test_fail("%s: parent-death signal %d, expected %d", who, sig, expected);
}

static void __attribute__((noreturn)) grandchild(pid_t parent, int ready_w, int report_w)
{
	struct sigaction sa = { .sa_handler = on_usr2 };
	char c;
	int i;

	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGUSR2, &sa, NULL) || prctl(PR_SET_PDEATHSIG, SIGUSR2, 0, 0, 0))
		test_abort("grandchild: %m");
	if (getppid() != parent)
		test_abort("grandchild: the child died early");
	if (write(ready_w, "g", 1) != 1)
		test_abort("grandchild: write: %m");
	test_wait_term();
	if (test_corrupt("grandchild"))
		prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
	if (test_corrupt("signal")) {
		sigset_t set;

		sigemptyset(&set);
		sigaddset(&set, SIGUSR2);
		sigprocmask(SIG_BLOCK, &set, NULL);
	}
	check_pdeathsig("grandchild", SIGUSR2);
	/* The child exits after its check: wait for its death signal. */
	for (i = 0; i < REPORT_TIMEOUT_MS / 10 && !got_usr2; i++)
		usleep(10000);
	if (!got_usr2)
		test_fail("grandchild: no SIGUSR2 when its parent died");
	c = test_failures() ? 'F' : 'P';
	if (write(report_w, &c, 1) != 1)
		test_fail("grandchild: write report: %m");
	_exit(test_failures() ? 1 : 0);
}

static void __attribute__((noreturn)) child(int ready_w, int report_w)
{
	pid_t self = getpid(), pid;

	if (prctl(PR_SET_PDEATHSIG, SIGUSR1, 0, 0, 0))
		test_abort("child: PR_SET_PDEATHSIG: %m");
	pid = fork();
	if (pid < 0)
		test_abort("child: fork: %m");
	if (pid == 0)
		grandchild(self, ready_w, report_w);
	if (write(ready_w, "c", 1) != 1)
		test_abort("child: write: %m");
	test_wait_term();
	if (test_corrupt("child"))
		prctl(PR_SET_PDEATHSIG, SIGUSR2, 0, 0, 0);
	kill(pid, SIGTERM);
	check_pdeathsig("child", SIGUSR1);
	/* The grandchild is not waited for: it is reparented. */
	_exit(test_failures() ? 1 : 0);
}

int main(int argc, char **argv)
{
	int ready[2], report[2], status;
	struct pollfd pfd;
	pid_t pid;
	char c[2];

	test_init(argc, argv);
	if (pipe(ready) || pipe(report))
		test_abort("pipe: %m");
	pid = fork();
	if (pid < 0)
		test_abort("fork: %m");
	if (pid == 0) {
		close(ready[0]);
		close(report[0]);
		child(ready[1], report[1]);
	}
	close(ready[1]);
	close(report[1]);
	if (read(ready[0], c, 1) != 1 || read(ready[0], c + 1, 1) != 1)
		test_abort("children did not get ready");

	test_ready();
	test_wait_term();
	/* The child passes SIGTERM on to the grandchild, checks, and exits. */
	kill(pid, SIGTERM);
	if (waitpid(pid, &status, 0) != pid)
		test_fail("waitpid child: %m");
	else if (!WIFEXITED(status) || WEXITSTATUS(status))
		test_fail("child exited with status %#x", status);

	pfd.fd = report[0];
	pfd.events = POLLIN;
	c[0] = 0;
	if (poll(&pfd, 1, REPORT_TIMEOUT_MS + 2000) != 1 || read(report[0], c, 1) != 1)
		test_fail("no report from the grandchild");
	else if (c[0] != 'P')
		test_fail("the grandchild failed");
	test_done();
}
