// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "files.h"
#include "kernel-compat.h"
#include "log.h"

/* ---- regular files, directories, character devices ---- */

static int reg_dump(struct fd_dump *d, FdEntry *e)
{
	e->path = strdup(d->link);
	e->has_pos = true;
	e->pos = d->fi.pos;
	e->has_mode = true;
	e->mode = d->st.st_mode;
	return e->path ? 0 : -1;
}

static int reg_open(struct fd_restore *r, const FdEntry *e)
{
	int flags = e->flags & ~(O_CREAT | O_EXCL | O_TRUNC | O_NOCTTY);
	int fd;

	(void)r;
	fd = open(e->path, flags);
	if (fd < 0) {
		pr_perror("restore fd %u: open %s", e->fd, e->path);
		return -1;
	}
	if (e->has_pos && e->type == FD_TYPE__FD_REG &&
	    lseek(fd, e->pos, SEEK_SET) != (off_t)e->pos) {
		pr_perror("restore fd %u: lseek %s to %lu", e->fd, e->path,
			  (unsigned long)e->pos);
		close(fd);
		return -1;
	}
	return fd;
}

/* ---- pipes ---- */

/*
 * The bytes in flight are read without consuming them: a read end is
 * opened through /proc/PID/fd/N (works whichever end the target holds) and
 * tee(2) duplicates the buffers into a private pipe, which we drain.
 */
static int pipe_peek(struct fd_dump *d, FdEntry *e)
{
	char path[64];
	int rd, tmp[2] = { -1, -1 }, sz, ret = -1;
	ssize_t n, got = 0;

	snprintf(path, sizeof(path), "/proc/%d/fd/%d", d->pid, d->fd);
	rd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (rd < 0) {
		pr_perror("open %s to read pipe contents", path);
		return -1;
	}
	sz = fcntl(rd, F_GETPIPE_SZ);
	e->has_pipe_sz = sz > 0;
	e->pipe_sz = sz;
	if (pipe2(tmp, O_NONBLOCK | O_CLOEXEC))
		goto out;
	if (sz > 0 && fcntl(tmp[1], F_SETPIPE_SZ, sz) < 0)
		pr_debug("F_SETPIPE_SZ(%d): %m", sz);
	n = tee(rd, tmp[1], 1 << 30, SPLICE_F_NONBLOCK);
	if (n < 0 && errno != EAGAIN) {
		pr_perror("tee pipe %s", path);
		goto out;
	}
	if (n > 0) {
		e->data.data = malloc(n);
		if (!e->data.data)
			goto out;
		while (got < n) {
			ssize_t r = read(tmp[0], e->data.data + got, n - got);

			if (r <= 0)
				goto out;
			got += r;
		}
		e->data.len = n;
		e->has_data = true;
	}
	ret = 0;
out:
	close(rd);
	if (tmp[0] >= 0) {
		close(tmp[0]);
		close(tmp[1]);
	}
	return ret;
}

/* Pipes whose contents are already stored (first fd seen for an inode) */
struct seen_ids {
	uint64_t ids[1024];
	size_t n;
};
static struct seen_ids seen_pipes;

static bool pipe_seen(uint64_t ino)
{
	for (size_t i = 0; i < seen_pipes.n; i++)
		if (seen_pipes.ids[i] == ino)
			return true;
	if (seen_pipes.n < sizeof(seen_pipes.ids) / sizeof(seen_pipes.ids[0]))
		seen_pipes.ids[seen_pipes.n++] = ino;
	return false;
}

static int pipe_dump(struct fd_dump *d, FdEntry *e)
{
	e->has_id = true;
	e->id = d->st.st_ino;
	if (pipe_seen(e->id))
		return 0;
	return pipe_peek(d, e);
}

struct made_pipe {
	uint64_t id;
	int end[2];
};

struct fd_restore {
	FdEntry **fds;
	size_t n;
	struct made_pipe pipes[256];
	size_t nr_pipes;
};

static const FdEntry *pipe_data_entry(struct fd_restore *r, uint64_t id)
{
	for (size_t i = 0; i < r->n; i++)
		if (r->fds[i]->type == FD_TYPE__FD_PIPE && r->fds[i]->id == id &&
		    r->fds[i]->has_data)
			return r->fds[i];
	return NULL;
}

static int make_pipe(struct fd_restore *r, const FdEntry *e,
		     struct made_pipe **out)
{
	struct made_pipe *p;
	const FdEntry *de;

	for (size_t i = 0; i < r->nr_pipes; i++) {
		if (r->pipes[i].id == e->id) {
			*out = &r->pipes[i];
			return 0;
		}
	}
	if (r->nr_pipes == sizeof(r->pipes) / sizeof(r->pipes[0])) {
		pr_err("too many pipes");
		return -1;
	}
	p = &r->pipes[r->nr_pipes++];
	p->id = e->id;
	if (pipe2(p->end, 0)) {
		pr_perror("pipe");
		return -1;
	}
	if (e->has_pipe_sz && e->pipe_sz &&
	    fcntl(p->end[0], F_SETPIPE_SZ, e->pipe_sz) < 0)
		pr_warn("pipe %lu: can't set size %u: %m", (unsigned long)e->id,
			e->pipe_sz);
	de = pipe_data_entry(r, e->id);
	if (de && write_all(p->end[1], de->data.data, de->data.len)) {
		pr_perror("refill pipe %lu with %zu bytes", (unsigned long)e->id,
			  de->data.len);
		return -1;
	}
	*out = p;
	return 0;
}

static int pipe_open(struct fd_restore *r, const FdEntry *e)
{
	struct made_pipe *p;
	int end, fd;

	if (make_pipe(r, e, &p))
		return -1;
	end = (e->flags & O_ACCMODE) == O_WRONLY ? 1 : 0;
	fd = fcntl(p->end[end], F_DUPFD, 0);
	if (fd < 0)
		return -1;
	if (fcntl(fd, F_SETFL, e->flags & (O_NONBLOCK | O_DIRECT))) {
		close(fd);
		return -1;
	}
	return fd;
}

static const struct fd_ops fd_ops_table[] = {
	{ FD_TYPE__FD_REG,  "file",      reg_dump,  reg_open },
	{ FD_TYPE__FD_DIR,  "directory", reg_dump,  reg_open },
	{ FD_TYPE__FD_CHR,  "chardev",   reg_dump,  reg_open },
	{ FD_TYPE__FD_PIPE, "pipe",      pipe_dump, pipe_open },
};

static const struct fd_ops *ops_of(FdType t)
{
	for (size_t i = 0; i < sizeof(fd_ops_table) / sizeof(fd_ops_table[0]); i++)
		if (fd_ops_table[i].type == t)
			return &fd_ops_table[i];
	return NULL;
}

static bool chr_supported(const char *path)
{
	static const char *const ok[] = {
		"/dev/null", "/dev/zero", "/dev/full", "/dev/random",
		"/dev/urandom",
	};

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (!strcmp(path, ok[i]))
			return true;
	return false;
}

const struct fd_ops *fd_ops_for(const char *link, const struct stat *st,
				const char **why)
{
	*why = NULL;
	if (!strncmp(link, "pipe:", 5))
		return ops_of(FD_TYPE__FD_PIPE);
	if (!strncmp(link, "anon_inode:kvm", 14) || !strcmp(link, "/dev/kvm")) {
		*why = "KVM VM/vCPU state lives in the kernel; run QEMU with "
		       "accel=tcg, or use QEMU's own migration";
		return NULL;
	}
	if (!strncmp(link, "/dev/vhost", 10)) {
		*why = "vhost device (kernel-side virtio state)";
		return NULL;
	}
	if (!strcmp(link, "anon_inode:[io_uring]")) {
		*why = "io_uring (in-flight kernel requests)";
		return NULL;
	}
	if (!strcmp(link, "anon_inode:[userfaultfd]")) {
		*why = "userfaultfd owned by the process";
		return NULL;
	}
	if (!strncmp(link, "socket:", 7)) {
		*why = "socket (not supported yet)";
		return NULL;
	}
	if (!strncmp(link, "anon_inode:", 11)) {
		*why = "anonymous-inode object (eventfd/signalfd/timerfd/epoll "
		       "not supported yet)";
		return NULL;
	}
	if (link[0] != '/') {
		*why = "unknown kind of file";
		return NULL;
	}
	if (strstr(link, " (deleted)")) {
		*why = "deleted file (not supported yet)";
		return NULL;
	}
	if (S_ISREG(st->st_mode)) {
		if (!strncmp(link, "/memfd:", 7)) {
			*why = "memfd (not supported yet)";
			return NULL;
		}
		return ops_of(FD_TYPE__FD_REG);
	}
	if (S_ISDIR(st->st_mode))
		return ops_of(FD_TYPE__FD_DIR);
	if (S_ISCHR(st->st_mode) && chr_supported(link))
		return ops_of(FD_TYPE__FD_CHR);
	*why = S_ISCHR(st->st_mode) ? "character device" : "special file";
	return NULL;
}

static int read_link(pid_t pid, int fd, char *buf, size_t sz)
{
	char path[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/fd/%d", pid, fd);
	n = readlink(path, buf, sz - 1);
	if (n < 0)
		return -1;
	buf[n] = 0;
	return 0;
}

int check_fds(pid_t pid, struct refusals *rf)
{
	int *fds;
	size_t n;

	if (proc_list_fds(pid, &fds, &n)) {
		pr_perror("list fds of %d", pid);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		char link[PATH_MAX], path[64];
		struct stat st;
		const char *why;

		snprintf(path, sizeof(path), "/proc/%d/fd/%d", pid, fds[i]);
		if (read_link(pid, fds[i], link, sizeof(link)) ||
		    stat(path, &st))
			continue;	/* closed meanwhile */
		if (!fd_ops_for(link, &st, &why))
			refuse(rf, "pid %d fd %d: %s: %s", pid, fds[i], link, why);
	}
	free(fds);
	return 0;
}

static int dump_one_fd(pid_t pid, int pidfd, int fd, struct cr_img *img)
{
	FdEntry e = FD_ENTRY__INIT;
	struct fd_dump d = { .pid = pid, .fd = fd, .copy = -1 };
	const struct fd_ops *ops;
	char link[PATH_MAX];
	const char *why;
	int fdflags, ret = -1;

	if (read_link(pid, fd, link, sizeof(link))) {
		pr_perror("readlink /proc/%d/fd/%d", pid, fd);
		return -1;
	}
	d.link = link;
	d.copy = syscall(__NR_pidfd_getfd, pidfd, fd, 0);
	if (d.copy < 0) {
		pr_perror("pidfd_getfd(%d, %d)", pid, fd);
		return -1;
	}
	if (fstat(d.copy, &d.st) || proc_read_fdinfo(pid, fd, &d.fi))
		goto out;
	ops = fd_ops_for(link, &d.st, &why);
	if (!ops) {
		pr_err("pid %d fd %d: %s: %s", pid, fd, link, why);
		goto out;
	}
	fdflags = fcntl(d.copy, F_GETFD);	/* not shared: read fdinfo */
	(void)fdflags;
	e.fd = fd;
	e.type = ops->type;
	e.flags = d.fi.flags & ~O_CLOEXEC;
	e.cloexec = !!(d.fi.flags & O_CLOEXEC);
	if (ops->dump(&d, &e))
		goto out;
	ret = img_write_msg(img, &e.base);
out:
	free(e.path);
	free(e.data.data);
	close(d.copy);
	return ret;
}

int dump_fds(pid_t pid, int dirfd)
{
	struct cr_img *img;
	int *fds, pidfd, ret = 0;
	size_t n;

	pidfd = syscall(__NR_pidfd_open, pid, 0);
	if (pidfd < 0) {
		pr_perror("pidfd_open(%d)", pid);
		return -1;
	}
	if (proc_list_fds(pid, &fds, &n)) {
		pr_perror("list fds of %d", pid);
		close(pidfd);
		return -1;
	}
	seen_pipes.n = 0;
	img = img_open_write(dirfd, IMG_FDINFO, pid);
	for (size_t i = 0; img && i < n && !ret; i++)
		ret = dump_one_fd(pid, pidfd, fds[i], img);
	if (!img || img_close(img))
		ret = -1;
	free(fds);
	close(pidfd);
	return ret;
}

/*
 * Puppet side. Objects are created first and parked above keep_at, so
 * that creating one never lands on a number another still needs; then
 * everything else is closed and each is dup2'ed to its number.
 */
int restore_fds(FdEntry **fds, size_t n, int keep, int keep_at)
{
	struct fd_restore r = { .fds = fds, .n = n };
	const int temp = keep_at + 1;
	int ret = -1;

	if (keep != keep_at) {
		if (dup2(keep, keep_at) < 0) {
			pr_perror("dup2(%d, %d)", keep, keep_at);
			return -1;
		}
		close(keep);
	}
	for (size_t i = 0; i < n; i++) {
		const struct fd_ops *ops = ops_of(fds[i]->type);
		int fd;

		if (!ops) {
			pr_err("fd %u: unknown type %d in image", fds[i]->fd,
			       fds[i]->type);
			goto out;
		}
		fd = ops->open(&r, fds[i]);
		if (fd < 0)
			goto out;
		if (dup2(fd, temp + i) < 0) {
			pr_perror("dup2(%d, %d)", fd, temp + (int)i);
			goto out;
		}
		close(fd);
	}
	for (size_t i = 0; i < r.nr_pipes; i++) {
		close(r.pipes[i].end[0]);
		close(r.pipes[i].end[1]);
	}
	/* close everything but the parked objects and keep_at */
	if (keep_at > 0)
		syscall(__NR_close_range, 0, keep_at - 1, 0);
	syscall(__NR_close_range, temp + n, ~0U, 0);
	for (size_t i = 0; i < n; i++) {
		int fd = fds[i]->fd;

		if (dup2(temp + i, fd) < 0) {
			pr_perror("dup2 to fd %d", fd);
			goto out;
		}
		close(temp + i);
		if (fds[i]->cloexec)
			fcntl(fd, F_SETFD, FD_CLOEXEC);
	}
	ret = 0;
out:
	return ret;
}
