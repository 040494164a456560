// SPDX-License-Identifier: GPL-2.0
/*
 * O_PATH fds: a reference to an inode (a file, a directory, a symlink
 * itself when opened with O_NOFOLLOW, a FIFO, a socket file, a device),
 * not an open of it: nothing to read or seek, no FIFO open to block on.
 * Made again with open(path, O_PATH) and checked to be the same kind of
 * inode. A removed directory is made as the directory fds are (fd-dir.c),
 * sharing its inode with them; other removed inodes are refused.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fd-ops.h"
#include "log.h"

static const char *path_check(const struct fd_dump *d)
{
	size_t n = strlen(d->link);

	if (d->link[0] != '/')
		return "O_PATH fd of an object without a path";
	if (!S_ISDIR(d->st.st_mode) && n > 10 &&
	    !strcmp(d->link + n - 10, " (deleted)"))
		return "O_PATH fd of a deleted file (not supported yet)";
	return NULL;
}

static int path_dump(struct fd_dump *d, FdEntry *e)
{
	const char *why = path_check(d);

	if (why) {
		pr_err("pid %d fd %d: %s: %s", d->pid, d->fd, d->link, why);
		return -1;
	}
	e->has_ftype = true;
	e->ftype = d->st.st_mode & S_IFMT;
	return fd_dump_inode_ref(d, e);
}

static size_t path_keys(const FdEntry *e, struct fd_key *k)
{
	if (!e->unlinked)
		return 0;
	k[0] = (struct fd_key){ FD_KEY_INODE, fd_inode_key(e->dev, e->id) };
	return 1;
}

static const char *ftype_name(unsigned t)
{
	switch (t) {
	case S_IFREG: return "file";
	case S_IFDIR: return "directory";
	case S_IFLNK: return "symlink";
	case S_IFIFO: return "FIFO";
	case S_IFSOCK: return "socket";
	case S_IFCHR: return "character device";
	case S_IFBLK: return "block device";
	default: return "unknown";
	}
}

static int path_open(struct fd_restore *r, const FdEntry *e)
{
	int flags = O_PATH | (e->flags & (O_NOFOLLOW | O_DIRECTORY)), fd;
	struct stat st;

	if (e->unlinked) {
		int dir = fd_gone_dir(r, e);

		return dir < 0 ? -1 : fd_reopen(dir, flags);
	}
	if (e->has_ftype && e->ftype == S_IFLNK)
		flags |= O_NOFOLLOW;
	fd = open(e->path, flags);
	if (fd < 0) {
		pr_perror("restore fd %u: open %s with O_PATH", e->fd, e->path);
		return -1;
	}
	if (e->has_ftype && (fstat(fd, &st) || (st.st_mode & S_IFMT) != e->ftype)) {
		pr_err("restore fd %u: %s is a %s now, was a %s", e->fd, e->path,
		       ftype_name(st.st_mode & S_IFMT), ftype_name(e->ftype));
		close(fd);
		return -1;
	}
	return fd;
}

const struct fd_ops fd_path_ops = {
	.type = FD_TYPE__FD_PATH, .name = "O_PATH",
	.check = path_check, .dump = path_dump, .open = path_open,
	.keys = path_keys,
};
