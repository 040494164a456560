// SPDX-License-Identifier: GPL-2.0
/*
 * stopped: a child in group-stop (it raised SIGSTOP; its parent saw it
 * stop) counting in shared memory until then. After restore the child is
 * still stopped: SIGCONT to it brings the parent a CLD_CONTINUED report,
 * which the kernel sends only for a stopped process, and the child counts
 * again.
 * Corrupt: running continues the child (and takes the report) before
 * the check.
 * Corrupt points: running.
 */
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zdtmtst.h"

#define WAIT_MS		10000

static bool continued(pid_t kid, int ms)
{
	for (int i = 0; i < ms; i++) {
		siginfo_t si = { 0 };

		if (waitid(P_PID, kid, &si, WCONTINUED | WNOHANG))
			return false;
		if (si.si_pid == kid)
			return si.si_code == CLD_CONTINUED;
		usleep(1000);
	}
	return false;
}

int main(int argc, char **argv)
{
	volatile unsigned long *count;
	unsigned long seen;
	pid_t kid;
	int st, i;

	test_init(argc, argv);
	count = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (count == MAP_FAILED)
		test_abort("mmap: %m");
	kid = fork();
	if (kid < 0)
		test_abort("fork: %m");
	if (kid == 0) {
		(*count)++;
		raise(SIGSTOP);
		for (;;)
			(*count)++;
	}
	if (waitpid(kid, &st, WUNTRACED) != kid || !WIFSTOPPED(st))
		test_abort("child did not stop (status %#x)", st);
	test_ready();
	test_wait_term();

	if (test_corrupt("running")) {
		kill(kid, SIGCONT);
		continued(kid, WAIT_MS);
	}
	seen = *count;
	if (kill(kid, SIGCONT))
		test_fail("SIGCONT: %m");
	if (!continued(kid, WAIT_MS))
		test_fail("no CLD_CONTINUED for child %d: it was not stopped", kid);
	for (i = 0; i < WAIT_MS && *count == seen; i++)
		usleep(1000);
	if (*count == seen)
		test_fail("child %d does not count after SIGCONT", kid);
	kill(kid, SIGKILL);
	waitpid(kid, &st, 0);
	test_done();
}
