// SPDX-License-Identifier: GPL-2.0
/*
 * Directories held open, and the cwd. A directory still at its path is
 * opened there again. One removed while open (rmdir: /proc shows
 * "path (deleted)") is made again as an empty directory at that name when
 * it is free (else beside it, with a warning), opened, and removed again:
 * every open file description of that inode in the tree, O_PATH ones
 * too, is opened from it through /proc/self/fd, and a process whose cwd
 * was that directory is put back into it.
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

#define DELETED_SUFFIX	" (deleted)"

static bool link_deleted(const char *link)
{
	size_t n = strlen(link), m = strlen(DELETED_SUFFIX);

	return n > m && !strcmp(link + n - m, DELETED_SUFFIX);
}

int fd_dump_inode_ref(struct fd_dump *d, FdEntry *e)
{
	size_t n = strlen(d->link);

	e->has_unlinked = true;
	e->unlinked = link_deleted(d->link);
	if (e->unlinked)
		n -= strlen(DELETED_SUFFIX);
	e->path = strndup(d->link, n);
	if (!e->path)
		return -1;
	e->has_id = e->has_dev = true;
	e->id = d->st.st_ino;
	e->dev = d->st.st_dev;
	e->has_mode = e->has_uid = e->has_gid = true;
	e->mode = d->st.st_mode & 07777;
	e->uid = d->st.st_uid;
	e->gid = d->st.st_gid;
	return 0;
}

static int dir_dump(struct fd_dump *d, FdEntry *e)
{
	e->has_pos = true;
	e->pos = d->fi.pos;
	return fd_dump_inode_ref(d, e);
}

static size_t dir_keys(const FdEntry *e, struct fd_key *k)
{
	if (!e->unlinked)
		return 0;
	k[0] = (struct fd_key){ FD_KEY_INODE, fd_inode_key(e->dev, e->id) };
	return 1;
}

/* An empty directory made at path (or beside it), open, then removed. */
static int make_gone_dir(const char *path, unsigned mode)
{
	char tmp[PATH_MAX];
	const char *name = path;
	int fd;

	if (mkdir(path, 0700)) {
		snprintf(tmp, sizeof(tmp), "%s.criu-lite-dir.XXXXXX", path);
		if (!mkdtemp(tmp)) {
			pr_perror("restore removed directory %s: mkdir", path);
			return -1;
		}
		name = tmp;
		pr_warn("restore removed directory %s: the name is taken, made "
			"as %s", path, name);
	}
	fd = open(name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		pr_perror("restore removed directory %s: open", name);
	if (rmdir(name))
		pr_perror("restore removed directory %s: rmdir", name);
	if (fd >= 0 && fchmod(fd, mode))
		pr_warn("restore removed directory %s: chmod %o: %m", path, mode);
	return fd;
}

int fd_gone_dir(struct fd_restore *r, const FdEntry *e)
{
	uint64_t key = fd_inode_key(e->dev, e->id);
	int fd = fd_cache_get(r, FD_KEY_INODE, key, 0, NULL);

	if (fd >= 0)
		return fd;
	fd = make_gone_dir(e->path, e->has_mode ? e->mode : 0700);
	if (fd < 0)
		return -1;
	if (e->has_uid && fchown(fd, e->uid, e->gid))
		pr_warn("restore removed directory %s: chown: %m", e->path);
	if (fd_cache_put(r, FD_KEY_INODE, key, 0, fd))
		return -1;
	return fd_cache_get(r, FD_KEY_INODE, key, 0, NULL);
}

static int dir_open(struct fd_restore *r, const FdEntry *e)
{
	int dir, fd;

	if (!e->unlinked) {
		fd = open(e->path, (e->flags & ~(O_CREAT | O_EXCL | O_TRUNC)) |
			  O_DIRECTORY);
		if (fd < 0)
			pr_perror("restore fd %u: open directory %s", e->fd,
				  e->path);
		return fd;
	}
	dir = fd_gone_dir(r, e);
	return dir < 0 ? -1 : fd_reopen(dir, e->flags | O_DIRECTORY);
}

const struct fd_ops fd_dir_ops = {
	.type = FD_TYPE__FD_DIR, .name = "directory",
	.dump = dir_dump, .open = dir_open, .keys = dir_keys,
};

/*
 * The cwd is a path; a removed one reads "path (deleted)". If one of the
 * process's fds is that removed directory (same link), the cwd goes back
 * into that very inode; else into an empty one made and removed again.
 */
int restore_cwd(const char *cwd, FdEntry **fds, size_t n)
{
	char path[PATH_MAX], link[64], got[PATH_MAX];
	int fd;

	if (!link_deleted(cwd)) {
		if (!chdir(cwd))
			return 0;
		pr_perror("chdir %s", cwd);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		ssize_t l;

		if (fds[i]->type != FD_TYPE__FD_DIR &&
		    fds[i]->type != FD_TYPE__FD_PATH)
			continue;
		snprintf(link, sizeof(link), "/proc/self/fd/%u", fds[i]->fd);
		l = readlink(link, got, sizeof(got) - 1);
		if (l < 0)
			continue;
		got[l] = 0;
		if (!strcmp(got, cwd) && !fchdir(fds[i]->fd))
			return 0;
	}
	snprintf(path, sizeof(path), "%.*s", (int)(strlen(cwd) -
		 strlen(DELETED_SUFFIX)), cwd);
	fd = make_gone_dir(path, 0700);
	if (fd < 0)
		return -1;
	if (fchdir(fd)) {
		pr_perror("chdir into the removed directory %s", path);
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}
