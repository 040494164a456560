// SPDX-License-Identifier: GPL-2.0
/*
 * nsfs fds: an open /proc/PID/ns/<name>, a handle on a namespace (for
 * setns, ioctl NS_GET_*). What can be made again is a handle on a
 * namespace that exists again after restore: the holding process's own
 * namespace of that type, or the one criu-lite itself runs in. A handle
 * on any other namespace (another container's network, a namespace kept
 * alive only by this fd) is refused at dump.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "fd-ops.h"
#include "log.h"

#ifndef NSFS_MAGIC
#define NSFS_MAGIC	0x6e736673
#endif

/* The names under /proc/PID/ns; "pid:[N]" may be pid or pid_for_children. */
static const char *const ns_names[] = {
	"cgroup", "ipc", "mnt", "net", "pid", "pid_for_children", "time",
	"time_for_children", "user", "uts",
};

bool fd_is_nsfs(int fd)
{
	struct statfs sf;

	return !fstatfs(fd, &sf) && sf.f_type == NSFS_MAGIC;
}

/* The inode of /proc/<who>/ns/<name>; 0 if there is none. */
static ino_t ns_ino(const char *who, const char *name)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%s/ns/%s", who, name);
	return stat(path, &st) ? 0 : st.st_ino;
}

/* "net:[4026531833]" names type "net"; the fd's name can be that or
 * <type>_for_children. */
static bool name_of_type(const char *name, const char *link)
{
	size_t n = strcspn(link, ":");

	return !strncmp(name, link, n) && (!name[n] || !strcmp(name + n,
							       "_for_children"));
}

/* Whose namespace the fd is and under which name; false: neither. */
static bool ns_whose(const struct fd_dump *d, const char **name, NsOwner *of)
{
	char pid[16];

	snprintf(pid, sizeof(pid), "%d", d->pid);
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < sizeof(ns_names) / sizeof(ns_names[0]); i++) {
			if (!name_of_type(ns_names[i], d->link) ||
			    ns_ino(pass ? "self" : pid, ns_names[i]) != d->st.st_ino)
				continue;
			*name = ns_names[i];
			*of = pass ? NS_OWNER__NS_RESTORER : NS_OWNER__NS_OWN_PROC;
			return true;
		}
	}
	return false;
}

static const char *nsfs_check(const struct fd_dump *d)
{
	const char *name;
	NsOwner of;

	if (ns_whose(d, &name, &of))
		return NULL;
	return "namespace fd of a namespace that is neither the process's own "
	       "nor criu-lite's (not supported)";
}

static int nsfs_dump(struct fd_dump *d, FdEntry *e)
{
	const char *name;
	NsOwner of;

	if (!ns_whose(d, &name, &of)) {
		pr_err("pid %d fd %d: %s: %s", d->pid, d->fd, d->link,
		       nsfs_check(d));
		return -1;
	}
	e->ns_type = strdup(name);
	e->has_ns_of = true;
	e->ns_of = of;
	return e->ns_type ? 0 : -1;
}

static bool ns_name_known(const char *name)
{
	for (size_t i = 0; i < sizeof(ns_names) / sizeof(ns_names[0]); i++)
		if (!strcmp(name, ns_names[i]))
			return true;
	return false;
}

static int nsfs_open(struct fd_restore *r, const FdEntry *e)
{
	char path[64];
	int fd;

	if (!e->ns_type || !e->has_ns_of || !ns_name_known(e->ns_type)) {
		pr_err("restore fd %u: namespace fd without a known namespace "
		       "name", e->fd);
		return -1;
	}
	if (e->ns_of == NS_OWNER__NS_RESTORER)
		snprintf(path, sizeof(path), "/proc/%d/ns/%s",
			 fd_restorer_pid(r), e->ns_type);
	else
		snprintf(path, sizeof(path), "/proc/self/ns/%s", e->ns_type);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		pr_perror("restore fd %u: open %s", e->fd, path);
	return fd;
}

const struct fd_ops fd_nsfs_ops = {
	.type = FD_TYPE__FD_NSFS, .name = "namespace",
	.check = nsfs_check, .dump = nsfs_dump, .open = nsfs_open,
};
