// SPDX-License-Identifier: GPL-2.0
/*
 * FIFOs (named pipes). A FIFO is a pipe reached through a path: the
 * bytes in flight live in the pipe, the name in the file system. Dump
 * records the path (or that it was unlinked), and the bytes queued, read
 * with tee(2) as for a pipe, with the first fd seen of the inode.
 *
 * Restore opens every open file description of one FIFO in one puppet,
 * through a helper opened O_RDWR first: a FIFO opened for reading alone
 * blocks until there is a writer (and O_WRONLY|O_NONBLOCK fails with
 * ENXIO without a reader); with the helper holding both ends, each OFD
 * opens at once with its own access mode, and the queued bytes go in
 * through the helper. The helper is closed when the puppet's objects are
 * made (the fd cache is cleared).
 *
 * An unlinked FIFO is made again at its old name when that is free (then
 * unlinked: /proc shows the same "path (deleted)"), else at a temporary
 * name beside it; its mode and owner are set again.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fd-ops.h"
#include "log.h"

static int fifo_dump(struct fd_dump *d, FdEntry *e)
{
	if (fd_dump_inode_ref(d, e))
		return -1;
	e->unlinked = e->unlinked || !d->st.st_nlink;
	if (fd_inode_seen(d->fc, d->st.st_dev, d->st.st_ino))
		return 0;
	return fd_pipe_peek(d, e);
}

static size_t fifo_keys(const FdEntry *e, struct fd_key *k)
{
	k[0] = (struct fd_key){ FD_KEY_INODE, fd_inode_key(e->dev, e->id) };
	return 1;
}

static int open_helper(const FdEntry *e, const char *path)
{
	struct stat st;
	int fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0) {
		pr_perror("restore fifo %s: open", path);
		return -1;
	}
	if (fstat(fd, &st) || !S_ISFIFO(st.st_mode)) {
		pr_err("restore fd %u: %s is not a FIFO any more", e->fd, path);
		close(fd);
		return -1;
	}
	return fd;
}

/* A FIFO that still has its name: the one there (made again if gone). */
static int helper_at_path(const FdEntry *e)
{
	if (mkfifo(e->path, e->has_mode ? e->mode : 0600) && errno != EEXIST) {
		pr_perror("restore fd %u: mkfifo %s", e->fd, e->path);
		return -1;
	}
	return open_helper(e, e->path);
}

/* An unlinked FIFO: made under its old name if free, else beside it. */
static int helper_unlinked(const FdEntry *e)
{
	char tmp[PATH_MAX];
	const char *name = e->path;
	int fd;

	if (mkfifo(name, 0600)) {
		snprintf(tmp, sizeof(tmp), "%s.criu-lite-fifo.%d", e->path,
			 getpid());
		name = tmp;
		if (mkfifo(name, 0600)) {
			pr_perror("restore unlinked fifo %s: mkfifo %s", e->path,
				  name);
			return -1;
		}
		pr_warn("restore fd %u: %s is taken; the unlinked FIFO was "
			"made as %s", e->fd, e->path, name);
	}
	fd = open_helper(e, name);
	unlink(name);
	if (fd < 0)
		return -1;
	if (e->has_mode && fchmod(fd, e->mode))
		pr_warn("restore fifo %s: chmod %o: %m", e->path, e->mode);
	if (e->has_uid && fchown(fd, e->uid, e->gid))
		pr_warn("restore fifo %s: chown: %m", e->path);
	return fd;
}

static int make_fifo(struct fd_restore *r, const FdEntry *e)
{
	int fd = e->unlinked ? helper_unlinked(e) : helper_at_path(e);

	if (fd < 0)
		return -1;
	if (e->has_pipe_sz && e->pipe_sz && fcntl(fd, F_GETPIPE_SZ) <
	    (int)e->pipe_sz && fcntl(fd, F_SETPIPE_SZ, e->pipe_sz) < 0)
		pr_warn("restore fifo %s: can't set size %u: %m", e->path,
			e->pipe_sz);
	if (e->has_data && write_all(fd, e->data.data, e->data.len)) {
		pr_perror("restore fifo %s: refill %zu bytes", e->path,
			  e->data.len);
		close(fd);
		return -1;
	}
	return fd_cache_put(r, FD_KEY_INODE, fd_inode_key(e->dev, e->id), 0, fd);
}

static int fifo_open(struct fd_restore *r, const FdEntry *e)
{
	uint64_t key = fd_inode_key(e->dev, e->id);
	int helper = fd_cache_get(r, FD_KEY_INODE, key, 0, NULL);

	if (helper < 0 && make_fifo(r, e))
		return -1;
	helper = fd_cache_get(r, FD_KEY_INODE, key, 0, NULL);
	if (helper < 0)
		return -1;
	/* through /proc/self/fd: the same inode, named or not */
	return fd_reopen(helper, (e->flags & ~O_NONBLOCK) | O_NONBLOCK);
}

const struct fd_ops fd_fifo_ops = {
	.type = FD_TYPE__FD_FIFO, .name = "fifo",
	.dump = fifo_dump, .open = fifo_open, .keys = fifo_keys,
};
