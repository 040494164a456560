// SPDX-License-Identifier: GPL-2.0
/*
 * clone_files: a child made by clone(CLONE_FILES) shares the root's fd
 * table (one table, two processes). After restore they still share it:
 * an eventfd the root creates is there, with its count, in the child
 * under the number the root got; one the child creates is there in the
 * root; the child's close of a fd closes it for the root.
 * Corrupt: table makes the child unshare its fd table first.
 * Corrupt points: table.
 */
#include <fcntl.h>
#include <sched.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zdtmtst.h"

static int to_kid[2], to_root[2], spare;

static uint64_t count_of(int fd)
{
	uint64_t v = 0;

	return read(fd, &v, sizeof(v)) == sizeof(v) ? v : (uint64_t)-1;
}

struct answer {
	int mine;	/* the child's new eventfd */
	int bad;	/* 1: the root's fd not in its table; 2: close failed */
};

/* Takes the root's new fd, answers with its own. */
static int __attribute__((noreturn)) child(void)
{
	struct answer a = { -1, 0 };
	int fd = -1;

	if (read(to_kid[0], &fd, sizeof(fd)) != sizeof(fd))
		_exit(10);
	if (test_corrupt("table"))
		unshare(CLONE_FILES);
	if (count_of(fd) != 42)
		a.bad = 1;
	a.mine = eventfd(7, 0);
	if (close(spare))
		a.bad = 2;
	if (write(to_root[1], &a, sizeof(a)) != sizeof(a))
		_exit(11);
	for (;;)
		pause();
}

int main(int argc, char **argv)
{
	struct answer a = { -1, 0 };
	int fd, st;
	pid_t kid;

	test_init(argc, argv);
	if (pipe(to_kid) || pipe(to_root))
		test_abort("pipe: %m");
	spare = open("/dev/null", O_RDONLY);
	kid = syscall(SYS_clone, CLONE_FILES | SIGCHLD, 0, 0, 0, 0);
	if (kid < 0)
		test_abort("clone(CLONE_FILES): %m");
	if (kid == 0)
		child();
	test_ready();
	test_wait_term();

	fd = eventfd(42, 0);
	if (fd < 0 || write(to_kid[1], &fd, sizeof(fd)) != sizeof(fd))
		test_fail("eventfd to the child: %m");
	if (read(to_root[0], &a, sizeof(a)) != sizeof(a))
		test_fail("no answer from the child: %m");
	else if (a.bad)
		test_fail("child: %s", a.bad == 1 ? "our eventfd is not in its "
			  "table" : "close of the spare fd failed");
	else if (count_of(a.mine) != 7)
		test_fail("the child's eventfd %d is not in our table", a.mine);
	if (fcntl(spare, F_GETFD) != -1)
		test_fail("fd %d the child closed is still open here", spare);
	kill(kid, SIGKILL);
	if (waitpid(kid, &st, 0) != kid)
		test_fail("waitpid: %m");
	else if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGKILL)
		test_fail("child: status %#x", st);
	test_done();
}
