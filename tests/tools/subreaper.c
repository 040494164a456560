// SPDX-License-Identifier: GPL-2.0
/*
 * subreaper CMD [ARGS...]: runs CMD as a child subreaper, so that every
 * process orphaned below it (a QEMU started in the background, a tree
 * restored with -d) is reaped at once instead of by PID 1 seconds later.
 * CMD gets only stdin, stdout and stderr: an fd the caller happened to
 * leave open (a high one of a terminal or a CI harness) would make the
 * tests' targets differ from one machine to the next.
 * Exits with CMD's status once CMD has exited.
 */
#include <errno.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	pid_t cmd, pid;
	int status;

	if (argc < 2) {
		fprintf(stderr, "usage: subreaper CMD [ARGS...]\n");
		return 2;
	}
	if (prctl(PR_SET_CHILD_SUBREAPER, 1)) {
		perror("PR_SET_CHILD_SUBREAPER");
		return 1;
	}
	cmd = fork();
	if (cmd < 0) {
		perror("fork");
		return 1;
	}
	if (cmd == 0) {
		syscall(__NR_close_range, 3, ~0U, 0);
		execvp(argv[1], argv + 1);
		perror(argv[1]);
		_exit(127);
	}
	for (;;) {
		pid = wait(&status);
		if (pid < 0 && errno == EINTR)
			continue;
		if (pid < 0)
			return 1;
		if (pid == cmd)
			return WIFEXITED(status) ? WEXITSTATUS(status) :
						   128 + WTERMSIG(status);
	}
}
