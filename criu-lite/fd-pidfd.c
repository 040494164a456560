// SPDX-License-Identifier: GPL-2.0
/*
 * pidfds (pidfd_open, clone's CLONE_PIDFD). A pidfd is a handle on one
 * process: its whole state is which process, and whether that process is
 * still there. /proc/PID/fdinfo says both ("Pid:" is -1 once the process
 * was reaped; "NSpid:" lists its pid down to its own namespace).
 *
 * Restore: a pidfd of a process of the tree is pidfd_open of the same pid
 * (the process may not be forked yet: the tree is made by several
 * puppets at once, so it is waited for); a pidfd of a reaped process is a
 * pidfd of a helper child that has exited and been reaped, which behaves
 * the same (poll says readable, pidfd_send_signal gives ESRCH). A pidfd of
 * a live process outside the tree is refused: nothing would make it refer
 * to that process again.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fd-ops.h"
#include "log.h"
#include "proc.h"

#ifndef PIDFD_THREAD
#define PIDFD_THREAD	O_EXCL		/* linux/pidfd.h, since 6.9 */
#endif

/* how long a puppet waits for the process a pidfd refers to be forked */
#define PIDFD_WAIT_MS	10000

struct pidfd_target {
	pid_t pid;		/* as we see it; -1: reaped; 0: not in our ns */
	pid_t vpid;		/* in its own (innermost) PID namespace */
};

static int pidfd_target_of(pid_t pid, int fd, struct pidfd_target *t)
{
	char *text = proc_read_file("/proc/%d/fdinfo/%d", pid, fd);
	const char *p;

	if (!text) {
		pr_perror("read fdinfo of pid %d fd %d", pid, fd);
		return -1;
	}
	p = strstr(text, "\nPid:");
	if (!p) {
		pr_err("pid %d fd %d: pidfd without Pid: in fdinfo", pid, fd);
		free(text);
		return -1;
	}
	t->pid = strtol(p + 5, NULL, 10);
	t->vpid = t->pid > 0 ? proc_ns_field(text, "NSpid:") : t->pid;
	if (t->vpid < 0 && t->pid > 0)
		t->vpid = t->pid;
	free(text);
	return 0;
}

static bool pidfd_in_tree(const struct fd_dump *d, pid_t pid)
{
	for (size_t i = 0; i < d->nr_tree; i++)
		if (d->tree[i] == pid)
			return true;
	return false;
}

static bool is_thread_leader(pid_t pid)
{
	char *status = proc_read_file("/proc/%d/status", pid);
	bool leader = status && proc_ns_field(status, "Tgid:") == pid;

	free(status);
	return leader;
}

static const char *pidfd_check(const struct fd_dump *d)
{
	struct pidfd_target t;
	static char why[128];

	if (pidfd_target_of(d->pid, d->fd, &t))
		return "pidfd whose fdinfo can't be read";
	if (t.pid < 0)
		return NULL;	/* reaped: made again from a helper */
	if (t.pid == 0)
		return "pidfd of a process outside criu-lite's PID namespace";
	if (!pidfd_in_tree(d, t.pid)) {
		snprintf(why, sizeof(why), "pidfd of pid %d, which is not in "
			 "the dumped tree (not supported)", t.pid);
		return why;
	}
	if ((d->fi.flags & PIDFD_THREAD) && !is_thread_leader(t.pid)) {
		snprintf(why, sizeof(why), "PIDFD_THREAD pidfd of thread %d "
			 "(not supported yet)", t.pid);
		return why;
	}
	return NULL;
}

static int pidfd_dump(struct fd_dump *d, FdEntry *e)
{
	struct pidfd_target t;

	if (pidfd_target_of(d->pid, d->fd, &t))
		return -1;
	if (t.pid == 0) {
		pr_err("pid %d fd %d: pidfd of a process outside our PID "
		       "namespace", d->pid, d->fd);
		return -1;
	}
	e->has_pidfd_pid = true;
	e->pidfd_pid = t.pid < 0 ? -1 : t.vpid;
	return 0;
}

static int sys_pidfd_open(pid_t pid, unsigned flags)
{
	return syscall(__NR_pidfd_open, pid, flags);
}

/* A pidfd of a process that has exited and been reaped. */
static int dead_pidfd(const FdEntry *e, unsigned flags)
{
	pid_t pid = fork();
	int fd;

	if (pid < 0) {
		pr_perror("restore fd %u: fork a helper for a dead pidfd", e->fd);
		return -1;
	}
	if (pid == 0)
		_exit(0);
	fd = sys_pidfd_open(pid, flags & ~PIDFD_THREAD);
	if (fd < 0)
		pr_perror("restore fd %u: pidfd_open of helper %d", e->fd, pid);
	if (waitpid(pid, NULL, 0) != pid)
		pr_perror("restore fd %u: reap helper %d", e->fd, pid);
	return fd;
}

/*
 * The process may be forked by another puppet meanwhile: ESRCH is waited
 * out, up to PIDFD_WAIT_MS (a pidfd of a child held by a sibling made
 * before that child, for one, never sees it).
 */
static int live_pidfd(const FdEntry *e, unsigned flags)
{
	struct timespec ts = { 0, 1000000 };

	for (int ms = 0;; ms++) {
		int fd = sys_pidfd_open(e->pidfd_pid, flags);

		if (fd >= 0)
			return fd;
		if (errno != ESRCH || ms == PIDFD_WAIT_MS) {
			pr_perror("restore fd %u: pidfd_open(%d)%s", e->fd,
				  e->pidfd_pid, errno == ESRCH ?
				  ": the process was not made in time" : "");
			return -1;
		}
		nanosleep(&ts, NULL);
	}
}

static int pidfd_open_fd(struct fd_restore *r, const FdEntry *e)
{
	unsigned flags = e->flags & (PIDFD_THREAD | O_NONBLOCK);

	(void)r;
	if (!e->has_pidfd_pid) {
		pr_err("restore fd %u: pidfd entry without its process", e->fd);
		return -1;
	}
	if (e->pidfd_pid < 0)
		return dead_pidfd(e, flags);
	return live_pidfd(e, flags);
}

const struct fd_ops fd_pidfd_ops = {
	.type = FD_TYPE__FD_PIDFD, .name = "pidfd",
	.check = pidfd_check, .dump = pidfd_dump, .open = pidfd_open_fd,
};
