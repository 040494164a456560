// SPDX-License-Identifier: GPL-2.0
/*
 * The owner of an open file description (F_SETOWN / F_SETOWN_EX: which
 * process, thread or process group gets SIGIO/SIGURG for it) and the
 * signal sent instead of SIGIO (F_SETSIG). Any kind of file has them;
 * with O_ASYNC set (kept among the status flags) the kernel signals the
 * owner when the file becomes readable or writable.
 *
 * Asked on criu-lite's pidfd_getfd copy (it shares the description).
 * Restored in the puppet once the fds are at their numbers, O_ASYNC
 * last: the kernel's fasync entry keeps the fd number it was set through
 * (the si_fd of F_SETSIG's signals), so not from a parking slot. An owner
 * that is another process of the tree may not be forked yet and is
 * waited for. The owner's credentials, which the kernel checks before it
 * signals, become the puppet's (criu-lite's) ones.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "fd-ops.h"
#include "log.h"
#include "proc.h"

/* how long a puppet waits for the owning process to be forked */
#define OWNER_WAIT_MS	10000

static bool in_tree(const struct fd_dump *d, pid_t pid)
{
	for (size_t i = 0; i < d->nr_tree; i++)
		if (d->tree[i] == pid)
			return true;
	return false;
}

/* An O_PATH fd is no open file: fcntl gives EBADF for owners. */
static bool has_owner_state(const struct fd_dump *d)
{
	return !(d->fi.flags & O_PATH);
}

const char *fd_owner_refusal(const struct fd_dump *d, char *buf, size_t len)
{
	struct f_owner_ex o;

	if (!has_owner_state(d) || fcntl(d->copy, F_GETOWN_EX, &o) || !o.pid)
		return NULL;
	if (o.type == F_OWNER_TID && o.pid != d->pid) {
		snprintf(buf, len, "signals go to thread %d (F_SETOWN_EX "
			 "F_OWNER_TID of a thread not supported yet)", o.pid);
		return buf;
	}
	if (!in_tree(d, o.pid)) {
		snprintf(buf, len, "signals go to %s %d, outside the dumped "
			 "tree (F_SETOWN; not supported)",
			 o.type == F_OWNER_PGRP ? "process group" : "pid", o.pid);
		return buf;
	}
	return NULL;
}

int fd_owner_dump(const struct fd_dump *d, FdEntry *e)
{
	struct f_owner_ex o;
	int sig;

	if (!has_owner_state(d))
		return 0;
	if (fcntl(d->copy, F_GETOWN_EX, &o)) {
		pr_perror("pid %d fd %d: F_GETOWN_EX", d->pid, d->fd);
		return -1;
	}
	sig = fcntl(d->copy, F_GETSIG);
	if (sig < 0) {
		pr_perror("pid %d fd %d: F_GETSIG", d->pid, d->fd);
		return -1;
	}
	if (o.pid) {
		e->has_owner_type = e->has_owner_pid = true;
		e->owner_type = o.type;
		e->owner_pid = proc_ns_tid(o.pid, o.pid);	/* the tree's view */
	}
	if (sig) {
		e->has_signum = true;
		e->signum = sig;
	}
	return 0;
}

static int set_owner(const FdEntry *e, int fd)
{
	struct f_owner_ex o = { (int)e->owner_type, e->owner_pid };
	struct timespec ts = { 0, 1000000 };

	for (int ms = 0;; ms++) {
		if (!fcntl(fd, F_SETOWN_EX, &o))
			return 0;
		if (errno != ESRCH || ms == OWNER_WAIT_MS) {
			pr_perror("restore fd %u: F_SETOWN_EX type %u pid %d%s",
				  e->fd, e->owner_type, e->owner_pid,
				  errno == ESRCH ? ": the owner was not made "
				  "in time" : "");
			return -1;
		}
		nanosleep(&ts, NULL);
	}
}

int fd_owner_restore(const FdEntry *e, int fd)
{
	int fl;

	if (e->has_owner_pid && e->owner_pid && set_owner(e, fd))
		return -1;
	if (e->has_signum && fcntl(fd, F_SETSIG, (int)e->signum)) {
		pr_perror("restore fd %u: F_SETSIG %u", e->fd, e->signum);
		return -1;
	}
	if (!(e->flags & O_ASYNC))
		return 0;
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_ASYNC)) {
		pr_perror("restore fd %u: O_ASYNC", e->fd);
		return -1;
	}
	return 0;
}
