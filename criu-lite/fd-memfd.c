// SPDX-License-Identifier: GPL-2.0
/*
 * Files that exist only while open: memfds and regular files unlinked
 * while open. Their contents go into the image (holes skipped; inline, or
 * as a ghost image when large: fd-ghost.c) with the first fd seen of the
 * inode; every open file description of one inode is made from one
 * recreated file, with the mode, owner and access and modification times
 * the inode had.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "fd-ops.h"
#include "log.h"

#ifndef HUGETLBFS_MAGIC
#define HUGETLBFS_MAGIC	0x958458f6
#endif
#ifndef F_SEAL_EXEC
#define F_SEAL_EXEC	0x0020		/* 6.3 */
#endif

#define DELETED_SUFFIX	" (deleted)"

/* link minus prefix and the " (deleted)" suffix, malloc'ed */
static char *strip_link(const char *link, size_t prefix)
{
	size_t n = strlen(link), m = strlen(DELETED_SUFFIX);

	if (n >= prefix + m && !strcmp(link + n - m, DELETED_SUFFIX))
		n -= m;
	return strndup(link + prefix, n - prefix);
}

static uint64_t ts_ns(const struct timespec *t)
{
	return (uint64_t)t->tv_sec * 1000000000ULL + t->tv_nsec;
}

/* What both kinds record of the inode: owner, mode, times, identity. */
static void unlinked_attrs(const struct stat *st, FdEntry *e)
{
	e->has_mode = e->has_uid = e->has_gid = true;
	e->mode = st->st_mode & 07777;
	e->uid = st->st_uid;
	e->gid = st->st_gid;
	e->has_atime_ns = e->has_mtime_ns = true;
	e->atime_ns = ts_ns(&st->st_atim);
	e->mtime_ns = ts_ns(&st->st_mtim);
	e->has_id = e->has_dev = true;
	e->id = st->st_ino;
	e->dev = st->st_dev;
}

/* What both kinds record: name, offset, owner, mode, times, inode,
 * contents. The contents are read through a new OFD with O_NOATIME, so
 * that the dump does not change the file's access time. */
static int unlinked_dump(struct fd_dump *d, FdEntry *e, size_t prefix)
{
	int rfd, ret;

	e->path = strip_link(d->link, prefix);
	if (!e->path)
		return -1;
	e->has_pos = true;
	e->pos = d->fi.pos;
	unlinked_attrs(&d->st, e);
	if (fd_inode_seen(d->fc, d->st.st_dev, d->st.st_ino))
		return 0;
	rfd = fd_open_target(d, O_RDONLY | O_NOATIME);
	if (rfd < 0)
		return -1;
	ret = fd_store_contents(d, rfd, d->st.st_size, e);
	close(rfd);
	if (ret)
		pr_err("pid %d fd %d: can't read the contents of %s", d->pid,
		       d->fd, d->link);
	return ret;
}

static int memfd_kind_of(int fd, FdEntry *e)
{
	struct statfs sfs;
	int seals = fcntl(fd, F_GET_SEALS);

	if (seals < 0)
		return -1;
	e->has_seals = true;
	e->seals = seals;
	if (!fstatfs(fd, &sfs) && sfs.f_type == HUGETLBFS_MAGIC) {
		e->has_hugetlb = true;
		e->hugetlb = true;
	}
	return 0;
}

int fd_dump_unlinked_file(struct fd_dump_ctx *fc, int fd, const char *link,
			  FdEntry *e)
{
	bool memfd = !strncmp(link, "/memfd:", 7);
	struct stat st;

	if (fstat(fd, &st))
		return -1;
	e->type = memfd ? FD_TYPE__FD_MEMFD : FD_TYPE__FD_DELETED;
	e->flags = O_RDWR;
	e->path = strip_link(link, memfd ? strlen("/memfd:") : 0);
	if (!e->path || (memfd && memfd_kind_of(fd, e)))
		return -1;
	unlinked_attrs(&st, e);
	return fd_store_file(fc, fd, st.st_size, e);
}

static size_t inode_keys(const FdEntry *e, struct fd_key *k)
{
	k[0] = (struct fd_key){ FD_KEY_INODE, fd_inode_key(e->dev, e->id) };
	return 1;
}

/* After the filling, which moved them. */
static int set_times(int fd, const FdEntry *e)
{
	struct timespec t[2] = {
		{ e->atime_ns / 1000000000ULL, e->atime_ns % 1000000000ULL },
		{ e->mtime_ns / 1000000000ULL, e->mtime_ns % 1000000000ULL },
	};

	return futimens(fd, t);
}

/* Fills a newly made file as dumped. Seals last: F_SEAL_WRITE would stop
 * the filling, F_SEAL_EXEC the chmod. */
static int fill_made(int dirfd, const FdEntry *e, int fd, bool memfd)
{
	if (fd_fill_contents(dirfd, fd, e))
		return -1;
	if (e->has_mode && fchmod(fd, e->mode))
		pr_warn("restore fd %u: chmod %s to %o: %m", e->fd, e->path,
			e->mode);
	if (e->has_uid && fchown(fd, e->uid, e->gid))
		pr_warn("restore fd %u: chown %s: %m", e->fd, e->path);
	if (e->has_mtime_ns && set_times(fd, e))
		pr_warn("restore fd %u: times of %s: %m", e->fd, e->path);
	if (memfd && e->has_seals && e->seals &&
	    fcntl(fd, F_ADD_SEALS, e->seals)) {
		pr_perror("restore memfd %s: seals %#x", e->path, e->seals);
		return -1;
	}
	return 0;
}

/* Fills a newly made file and caches it for the other OFDs of the inode. */
static int fill_new(struct fd_restore *r, const FdEntry *e, int fd, bool memfd)
{
	if (fill_made(fd_restore_dirfd(r), e, fd, memfd)) {
		close(fd);
		return -1;
	}
	return fd_cache_put(r, FD_KEY_INODE, fd_inode_key(e->dev, e->id), 0, fd);
}

/* The OFD of e from the made file: the first OFD of a file is the one
 * made when its access mode fits, the others are opens of it. */
static int ofd_from_made(struct fd_restore *r, const FdEntry *e)
{
	bool used;
	int made = fd_cache_get(r, FD_KEY_INODE, fd_inode_key(e->dev, e->id),
				0, &used), fd;

	if (made < 0) {
		pr_err("restore fd %u: %s was not made", e->fd, e->path);
		return -1;
	}
	if (!used && (e->flags & O_ACCMODE) == O_RDWR)
		fd = fcntl(made, F_DUPFD, 0);
	else
		fd = fd_reopen(made, e->flags & ~O_DIRECTORY);
	if (fd < 0)
		return -1;
	if (e->has_pos && lseek(fd, e->pos, SEEK_SET) != (off_t)e->pos) {
		pr_perror("restore fd %u: lseek %s to %lu", e->fd, e->path,
			  (unsigned long)e->pos);
		close(fd);
		return -1;
	}
	return fd;
}

static bool made_already(struct fd_restore *r, const FdEntry *e)
{
	return fd_cache_get(r, FD_KEY_INODE, fd_inode_key(e->dev, e->id), 0,
			    NULL) >= 0;
}

/* ---- memfd ---- */

static int memfd_dump(struct fd_dump *d, FdEntry *e)
{
	if (memfd_kind_of(d->copy, e)) {
		pr_perror("pid %d fd %d: F_GET_SEALS", d->pid, d->fd);
		return -1;
	}
	return unlinked_dump(d, e, strlen("/memfd:"));
}

static int make_memfd(const FdEntry *e)
{
	unsigned flags = MFD_ALLOW_SEALING | (e->hugetlb ? MFD_HUGETLB : 0);
	int fd = memfd_create(e->path ? e->path : "", flags);

	if (fd < 0)
		pr_perror("restore memfd_create(%s)", e->path);
	return fd;
}

static int memfd_open(struct fd_restore *r, const FdEntry *e)
{
	if (!made_already(r, e)) {
		int fd = make_memfd(e);

		if (fd < 0 || fill_new(r, e, fd, true))
			return -1;
	}
	return ofd_from_made(r, e);
}

const struct fd_ops fd_memfd_ops = {
	.type = FD_TYPE__FD_MEMFD, .name = "memfd",
	.dump = memfd_dump, .open = memfd_open, .keys = inode_keys,
};

/* ---- deleted files ---- */

static int deleted_dump(struct fd_dump *d, FdEntry *e)
{
	if (d->st.st_nlink)
		pr_warn("pid %d fd %d: %s has %lu other link(s); restored as "
			"a private copy", d->pid, d->fd, d->link,
			(unsigned long)d->st.st_nlink);
	return unlinked_dump(d, e, 0);
}

/*
 * The same name where it is free (create, then unlink: /proc shows the
 * same "path (deleted)"); else an O_TMPFILE in its directory; else one in
 * /tmp.
 */
static int make_deleted(const FdEntry *e)
{
	char *copy = e->path ? strdup(e->path) : NULL, *dir;
	int fd;

	if (!copy)
		return -1;
	dir = dirname(copy);
	fd = open(e->path, O_RDWR | O_CREAT | O_EXCL, 0600);
	if (fd >= 0) {
		unlink(e->path);
	} else {
		fd = open(dir, O_TMPFILE | O_RDWR, 0600);
		if (fd < 0) {
			pr_warn("restore deleted %s: no place in %s (%m); the "
				"copy lives in /tmp", e->path, dir);
			fd = open("/tmp", O_TMPFILE | O_RDWR, 0600);
		}
	}
	if (fd < 0)
		pr_perror("restore deleted file %s", e->path);
	free(copy);
	return fd;
}

static int deleted_open(struct fd_restore *r, const FdEntry *e)
{
	if (!made_already(r, e)) {
		int fd = make_deleted(e);

		if (fd < 0 || fill_new(r, e, fd, false))
			return -1;
	}
	return ofd_from_made(r, e);
}

const struct fd_ops fd_deleted_ops = {
	.type = FD_TYPE__FD_DELETED, .name = "deleted file",
	.dump = deleted_dump, .open = deleted_open, .keys = inode_keys,
};

int fd_make_unlinked(int dirfd, const FdEntry *e)
{
	bool memfd = e->type == FD_TYPE__FD_MEMFD;
	int fd = memfd ? make_memfd(e) : make_deleted(e);

	if (fd >= 0 && fill_made(dirfd, e, fd, memfd)) {
		close(fd);
		return -1;
	}
	return fd;
}
