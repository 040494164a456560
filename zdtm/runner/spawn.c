// SPDX-License-Identifier: GPL-2.0
/* Process start/wait helpers for the runner (see spawn.h). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "proc.h"
#include "spawn.h"

volatile pid_t spawn_tool_pid;

void msleep(int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* In the forked child: never returns. */
static void exec_child(char *const argv[], const char *dir, int out_fd)
{
	int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	if (null_fd < 0 || dup2(null_fd, STDIN_FILENO) < 0 ||
	    dup2(out_fd, STDOUT_FILENO) < 0 || dup2(out_fd, STDERR_FILENO) < 0)
		_exit(126);
	if (dir && chdir(dir)) {
		dprintf(STDERR_FILENO, "zdtm: chdir %s: %s\n", dir, strerror(errno));
		_exit(126);
	}
	/* Only 0, 1 and 2: no fd of the runner (or of make) may leak in. */
	close_range(3, ~0U, 0);
	/* Undo what the runner changed for itself. */
	signal(SIGPIPE, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	execv(argv[0], argv);
	dprintf(STDERR_FILENO, "zdtm: exec %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

pid_t spawn_test(const char *bin, const char *workdir, const char *log)
{
	char *argv[] = { (char *)bin, NULL };
	pid_t pid;
	int fd;

	fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0) {
		fprintf(stderr, "zdtm: open %s: %s\n", log, strerror(errno));
		return -1;
	}
	pid = fork();
	if (pid == 0)
		exec_child(argv, workdir, fd);
	if (pid < 0)
		perror("zdtm: fork");
	close(fd);
	return pid;
}

int run_tool(char *const argv[], const char *fault, const char *out,
	     int timeout_ms, int *status)
{
	pid_t pid;
	int fd;

	fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0) {
		fprintf(stderr, "zdtm: open %s: %s\n", out, strerror(errno));
		return -1;
	}
	pid = fork();
	if (pid == 0) {
		if (fault)
			setenv("CRIU_LITE_FAULT", fault, 1);
		else
			unsetenv("CRIU_LITE_FAULT");
		exec_child(argv, NULL, fd);
	}
	close(fd);
	if (pid < 0) {
		perror("zdtm: fork");
		return -1;
	}
	spawn_tool_pid = pid;
	if (wait_child(pid, timeout_ms, status) == 0) {
		spawn_tool_pid = 0;
		return 0;
	}
	dprintf(STDERR_FILENO, "zdtm: %s timed out after %d ms, killing it\n",
		argv[0], timeout_ms);
	kill(pid, SIGKILL);
	waitpid(pid, status, 0);
	spawn_tool_pid = 0;
	return -1;
}

int wait_child(pid_t pid, int timeout_ms, int *status)
{
	long long deadline = now_ms() + timeout_ms;
	int delay = 1;
	pid_t ret;

	for (;;) {
		ret = waitpid(pid, status, WNOHANG | __WALL);
		if (ret == pid)
			return 0;
		if (ret < 0 && errno != EINTR)
			return -1;
		if (now_ms() >= deadline)
			return 1;
		msleep(delay);
		if (delay < 20)
			delay *= 2;
	}
}

void reap_all_children(void)
{
	pid_t pids[256];
	int i, n, rounds;

	for (rounds = 0; rounds < 50; rounds++) {
		n = proc_children(getpid(), pids, 256);
		for (i = 0; i < n; i++)
			kill(pids[i], SIGKILL);
		while (waitpid(-1, NULL, WNOHANG | __WALL) > 0)
			;
		if (!n)
			return;
		msleep(10);
	}
}

const char *status_str(int status, char *buf, int len)
{
	if (WIFEXITED(status))
		snprintf(buf, len, "exited %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, len, "killed by signal %d (%s)", WTERMSIG(status),
			 strsignal(WTERMSIG(status)));
	else
		snprintf(buf, len, "wait status %#x", status);
	return buf;
}
