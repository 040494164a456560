/* SPDX-License-Identifier: GPL-2.0 */
/*
 * File descriptors: one struct fd_ops per kind of object. Dump takes a
 * copy of each of the target's fds with pidfd_getfd and describes it;
 * restore recreates the object inside the puppet with ordinary calls and
 * moves it to its original number.
 */
#ifndef CRIU_LITE_FILES_H
#define CRIU_LITE_FILES_H

#include <sys/stat.h>

#include "cr.h"
#include "fdinfo.pb-c.h"

struct fd_dump {
	pid_t pid;
	int fd;			/* number in the target */
	int copy;		/* our pidfd_getfd copy */
	const char *link;	/* readlink of /proc/PID/fd/N */
	struct stat st;
	struct proc_fdinfo fi;
};

struct fd_restore;

struct fd_ops {
	FdType type;
	const char *name;
	/* Fill e (fd, flags, type are set by the caller). */
	int (*dump)(struct fd_dump *d, FdEntry *e);
	/* In the puppet: create the object, return an fd for it. */
	int (*open)(struct fd_restore *r, const FdEntry *e);
};

/* Which ops describe this fd; NULL with *why set if none can. */
const struct fd_ops *fd_ops_for(const char *link, const struct stat *st,
				const char **why);

/* Checks every fd of pid, adding what can't be dumped to rf. */
int check_fds(pid_t pid, struct refusals *rf);
/* Writes fdinfo-<pid>.img. */
int dump_fds(pid_t pid, int dirfd);

/*
 * In the puppet: recreate fds[] at their numbers. Afterwards the only
 * other open fd is keep, moved to keep_at (above every restored fd).
 * Returns 0 or -1 (logged).
 */
int restore_fds(FdEntry **fds, size_t n, int keep, int keep_at);

#endif
