// SPDX-License-Identifier: GPL-2.0
/*
 * tree: a process tree with a session, a process group and a pipe.
 *   root     setsid(): leader of a new session and group;
 *   child a  leader of a new process group; writes 1000 bytes into a pipe;
 *   child b  joins a's group; has read 500 of those bytes.
 * After restore each child checks its parent, group, session and (b) the
 * 500 bytes still in the pipe; the root sends them SIGTERM, reaps both
 * under their old pids with exit status 0, and checks its own session.
 *
 * Corrupt points: pgid, data.
 */
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zdtmtst.h"

#define PIPE_BYTES	1000
#define READ_FIRST	500
#define SEED		0x7ee

static uint8_t pattern[PIPE_BYTES];
static pid_t root_pid, a_pid;

static void check_ids(const char *who, pid_t pgid)
{
	if (getppid() != root_pid)
		test_fail("%s: parent %d, expected %d", who, getppid(), root_pid);
	if (getpgid(0) != pgid)
		test_fail("%s: process group %d, expected %d", who, getpgid(0), pgid);
	if (getsid(0) != root_pid)
		test_fail("%s: session %d, expected %d", who, getsid(0), root_pid);
}

static void __attribute__((noreturn)) child_a(int data_w, int ready_w)
{
	setpgid(0, 0);
	if (write(data_w, pattern, PIPE_BYTES) != PIPE_BYTES || write(ready_w, "a", 1) != 1)
		test_abort("child a: write: %m");
	test_wait_term();
	check_ids("child a", getpid());
	_exit(test_failures() ? 1 : 0);
}

static void __attribute__((noreturn)) child_b(int data_r, int ready_w)
{
	uint8_t buf[PIPE_BYTES];
	size_t got = 0;
	ssize_t n;

	setpgid(0, a_pid);
	while (got < READ_FIRST && (n = read(data_r, buf + got, READ_FIRST - got)) > 0)
		got += n;
	if (got != READ_FIRST || memcmp(buf, pattern, READ_FIRST) ||
	    write(ready_w, "b", 1) != 1)
		test_abort("child b: read: %m");
	test_wait_term();
	if (test_corrupt("pgid"))
		setpgid(0, 0);
	if (test_corrupt("data") && read(data_r, buf, 1) != 1)
		test_msg("corrupt: %m");
	check_ids("child b", a_pid);
	got = 0;
	while (got < PIPE_BYTES - READ_FIRST &&
	       (n = read(data_r, buf + got, PIPE_BYTES - READ_FIRST - got)) > 0)
		got += n;
	if (got != PIPE_BYTES - READ_FIRST || memcmp(buf, pattern + READ_FIRST, got))
		test_fail("child b: read %zu bytes from the pipe, or wrong ones", got);
	_exit(test_failures() ? 1 : 0);
}

static void reap(pid_t pid, const char *who)
{
	int status;

	if (waitpid(pid, &status, 0) != pid)
		test_fail("waitpid %s (%d): %m", who, pid);
	else if (!WIFEXITED(status) || WEXITSTATUS(status))
		test_fail("%s exited with status %#x", who, status);
}

int main(int argc, char **argv)
{
	int data[2], ready[2];
	pid_t b_pid;
	char c[2];

	test_init(argc, argv);
	test_fill(pattern, PIPE_BYTES, SEED);
	root_pid = setsid();
	if (root_pid < 0 || pipe(data) || pipe(ready))
		test_abort("setsid/pipe: %m");

	a_pid = fork();
	if (a_pid == 0) {
		close(data[0]);
		child_a(data[1], ready[1]);
	}
	setpgid(a_pid, a_pid);		/* both sides: no race with b */
	b_pid = fork();
	if (b_pid == 0) {
		close(data[1]);
		child_b(data[0], ready[1]);
	}
	if (a_pid < 0 || b_pid < 0)
		test_abort("fork: %m");
	setpgid(b_pid, a_pid);
	close(data[0]);
	close(data[1]);
	if (read(ready[0], c, 1) != 1 || read(ready[0], c + 1, 1) != 1)
		test_abort("children did not get ready");

	test_ready();
	test_wait_term();
	if (getsid(0) != root_pid || getpgid(0) != root_pid)
		test_fail("root: session %d group %d, expected %d", getsid(0),
			  getpgid(0), root_pid);
	kill(a_pid, SIGTERM);
	kill(b_pid, SIGTERM);
	reap(a_pid, "child a");
	reap(b_pid, "child b");
	test_done();
}
