// SPDX-License-Identifier: GPL-2.0
/*
 * Which fd is which object, which objects are shared, and where and when
 * each one is made again. What each kind of object is: fd-anon.c
 * (eventfd, signalfd, timerfd, epoll), fd-memfd.c (memfd, deleted files),
 * sockets.c (unix sockets), fd-inet.c (TCP, UDP), and the plain files and pipes below.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/kcmp.h>

#include "fd-ops.h"
#include "kernel-compat.h"
#include "log.h"
#include "names.h"
#include "seize.h"

/* O_TMPFILE without O_DIRECTORY (glibc's __O_TMPFILE includes it: masking
 * that off lost the O_DIRECTORY of every reopened directory) */
#define TMPFILE_BIT	020000000

/* Flags of an open file description that F_SETFL sets. */
#define SETFL_MASK	(O_APPEND | O_NONBLOCK | O_DIRECT | O_NOATIME)

struct ofd_seen {
	pid_t pid;
	int fd;
	dev_t dev;
	ino_t ino;
	uint64_t id;
};

struct inode_seen {
	uint64_t dev, ino;
};

struct fd_dump_ctx {
	int dirfd;
	struct ofd_seen *ofds;
	size_t nr_ofds, cap_ofds;
	struct inode_seen *inodes;	/* contents already stored */
	size_t nr_inodes, cap_inodes;
	struct inode_seen *mapped;	/* files of mappings already stored */
	size_t nr_mapped, cap_mapped;
	struct unix_diag_table *unix_table;
	unsigned ghosts;		/* ghost images written */
	int nested;			/* inside fd_dump_held */
	struct inet_dump_state *inet;
	struct tcp_repair_hold *tcp_hold;	/* NULL: no --tcp-established */
};

static int grow(void **v, size_t *cap, size_t need, size_t size)
{
	size_t n = *cap ? *cap : 16;
	void *nv;

	if (need <= *cap)
		return 0;
	while (n < need)
		n *= 2;
	nv = realloc(*v, n * size);
	if (!nv)
		return -1;
	*v = nv;
	*cap = n;
	return 0;
}

static bool inode_seen_in(struct inode_seen **v, size_t *nr, size_t *cap,
			  uint64_t dev, uint64_t ino)
{
	for (size_t i = 0; i < *nr; i++)
		if ((*v)[i].dev == dev && (*v)[i].ino == ino)
			return true;
	if (!grow((void **)v, cap, *nr + 1, sizeof(**v)))
		(*v)[(*nr)++] = (struct inode_seen){ dev, ino };
	return false;
}

bool fd_inode_seen(struct fd_dump_ctx *fc, uint64_t dev, uint64_t ino)
{
	return inode_seen_in(&fc->inodes, &fc->nr_inodes, &fc->cap_inodes,
			     dev, ino);
}

bool fd_mapping_seen(struct fd_dump_ctx *fc, uint64_t dev, uint64_t ino)
{
	return inode_seen_in(&fc->mapped, &fc->nr_mapped, &fc->cap_mapped,
			     dev, ino);
}

int fd_dump_dirfd(struct fd_dump_ctx *fc)
{
	return fc->dirfd;
}

unsigned fd_dump_ghost_id(struct fd_dump_ctx *fc)
{
	return ++fc->ghosts;
}

struct unix_diag_table **fd_dump_unix_table(struct fd_dump_ctx *fc)
{
	return &fc->unix_table;
}

struct inet_dump_state **fd_dump_inet_state(struct fd_dump_ctx *fc)
{
	return &fc->inet;
}

struct tcp_repair_hold *fd_dump_tcp_hold(struct fd_dump_ctx *fc)
{
	return fc->tcp_hold;
}

/* ---- helpers for the kinds ---- */

int fd_reopen(int fd, int flags)
{
	char path[64];
	int nfd;

	flags &= ~(O_CREAT | O_EXCL | O_TRUNC | O_NOCTTY | O_CLOEXEC |
		   TMPFILE_BIT);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	nfd = open(path, flags);
	if (nfd < 0)
		pr_perror("reopen %s with flags %#o", path, flags);
	return nfd;
}

int fd_open_target(const struct fd_dump *d, int flags)
{
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/fd/%d", d->pid, d->fd);
	fd = open(path, flags | O_CLOEXEC);
	if (fd < 0)
		pr_perror("open %s", path);
	return fd;
}

static int add_chunk(FdEntry *e, int fd, uint64_t off, uint64_t len)
{
	FileChunk *c, **v;
	size_t got = 0;

	v = realloc(e->chunks, (e->n_chunks + 1) * sizeof(*v));
	if (!v)
		return -1;
	e->chunks = v;
	c = malloc(sizeof(*c));
	if (!c)
		return -1;
	file_chunk__init(c);
	e->chunks[e->n_chunks++] = c;
	c->off = off;
	c->data.data = malloc(len ? len : 1);
	if (!c->data.data)
		return -1;
	while (got < len) {
		ssize_t n = pread(fd, c->data.data + got, len - got, off + got);

		if (n <= 0) {
			pr_perror("read %lu bytes at %lu", (unsigned long)len,
				  (unsigned long)(off + got));
			return -1;
		}
		got += n;
	}
	c->data.len = len;
	return 0;
}

/*
 * Only the data extents are stored (SEEK_DATA/SEEK_HOLE on a private
 * OFD, so the target's offset is untouched): a memfd's untouched pages
 * cost nothing.
 */
int fd_dump_contents(int fd, uint64_t size, FdEntry *e)
{
	uint64_t off = 0;

	e->has_size = true;
	e->size = size;
	while (off < size) {
		off_t data = lseek(fd, off, SEEK_DATA), hole;

		if (data < 0 && errno == ENXIO)
			break;
		if (data < 0)	/* no SEEK_DATA here: all of it */
			return add_chunk(e, fd, off, size - off);
		hole = lseek(fd, data, SEEK_HOLE);
		if (hole < 0 || (uint64_t)hole > size)
			hole = size;
		if (hole > data && add_chunk(e, fd, data, hole - data))
			return -1;
		off = hole;
	}
	return 0;
}

/* hugetlbfs has no write(): its files are filled through a mapping */
static int restore_contents_mapped(int fd, const FdEntry *e)
{
	uint8_t *m;

	if (!e->size)
		return 0;
	m = mmap(NULL, e->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED) {
		pr_perror("map %lu bytes to fill", (unsigned long)e->size);
		return -1;
	}
	for (size_t i = 0; i < e->n_chunks; i++)
		if (e->chunks[i]->off + e->chunks[i]->data.len <= e->size)
			memcpy(m + e->chunks[i]->off, e->chunks[i]->data.data,
			       e->chunks[i]->data.len);
	munmap(m, e->size);
	return 0;
}

int fd_restore_contents(int fd, const FdEntry *e)
{
	if (ftruncate(fd, e->size)) {
		pr_perror("ftruncate to %lu", (unsigned long)e->size);
		return -1;
	}
	if (e->hugetlb)
		return restore_contents_mapped(fd, e);
	for (size_t i = 0; i < e->n_chunks; i++) {
		const FileChunk *c = e->chunks[i];
		size_t done = 0;

		while (done < c->data.len) {
			ssize_t n = pwrite(fd, c->data.data + done,
					   c->data.len - done, c->off + done);

			if (n <= 0) {
				pr_perror("write %zu bytes at %lu", c->data.len,
					  (unsigned long)c->off);
				return -1;
			}
			done += n;
		}
	}
	return 0;
}

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
	int flags = e->flags & ~(O_CREAT | O_EXCL | O_TRUNC | O_NOCTTY |
				 TMPFILE_BIT);
	int fd;

	(void)r;
	if (!e->path) {		/* a well-formed image can still lack it */
		pr_err("restore fd %u: fdinfo entry without a path", e->fd);
		return -1;
	}
	if (e->type != FD_TYPE__FD_DIR && !(e->flags & O_PATH))
		flags &= ~O_DIRECTORY;
	if (e->type == FD_TYPE__FD_CHR)
		flags |= O_NOCTTY;	/* a terminal is not taken as ctty */
	fd = open(e->path, flags);
	if (fd < 0) {
		pr_perror("restore fd %u: open %s (flags %#o)", e->fd, e->path,
			  flags);
		return -1;
	}
	if (e->has_pos && e->type == FD_TYPE__FD_REG && !(flags & O_PATH) &&
	    lseek(fd, e->pos, SEEK_SET) != (off_t)e->pos) {
		pr_perror("restore fd %u: lseek %s to %lu", e->fd, e->path,
			  (unsigned long)e->pos);
		close(fd);
		return -1;
	}
	return fd;
}

const struct fd_ops fd_reg_ops = {
	.type = FD_TYPE__FD_REG, .name = "file",
	.dump = reg_dump, .open = reg_open,
};
const struct fd_ops fd_chr_ops = {
	.type = FD_TYPE__FD_CHR, .name = "chardev",
	.dump = reg_dump, .open = reg_open,
};

/* ---- pipes ---- */

/*
 * The bytes in flight are read without consuming them: a read end is
 * opened through /proc/PID/fd/N (works whichever end the target holds) and
 * tee(2) duplicates the buffers into a private pipe, which we drain.
 */
int fd_pipe_peek(struct fd_dump *d, FdEntry *e)
{
	int rd, tmp[2] = { -1, -1 }, sz, ret = -1;
	ssize_t n, got = 0;

	rd = fd_open_target(d, O_RDONLY | O_NONBLOCK);
	if (rd < 0)
		return -1;
	sz = fcntl(rd, F_GETPIPE_SZ);
	e->has_pipe_sz = sz > 0;
	e->pipe_sz = sz;
	if (pipe2(tmp, O_NONBLOCK | O_CLOEXEC))
		goto out;
	if (sz > 0 && fcntl(tmp[1], F_SETPIPE_SZ, sz) < 0)
		pr_debug("F_SETPIPE_SZ(%d): %m", sz);
	n = tee(rd, tmp[1], 1 << 30, SPLICE_F_NONBLOCK);
	if (n < 0 && errno != EAGAIN) {
		pr_perror("tee pipe of %d fd %d", d->pid, d->fd);
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

/* The contents go with the first fd seen of a pipe, whichever end. */
static int pipe_dump(struct fd_dump *d, FdEntry *e)
{
	e->has_id = true;
	e->id = d->st.st_ino;
	if (fd_inode_seen(d->fc, d->st.st_dev, d->st.st_ino))
		return 0;
	return fd_pipe_peek(d, e);
}

static size_t pipe_keys(const FdEntry *e, struct fd_key *k)
{
	k[0] = (struct fd_key){ FD_KEY_PIPE, e->id };
	return 1;
}

static int make_pipe(struct fd_restore *r, const FdEntry *e)
{
	int p[2];

	/* non-blocking while filling: a full pipe fails instead of hanging;
	 * each OFD gets its own flags when parked */
	if (pipe2(p, O_NONBLOCK)) {
		pr_perror("pipe");
		return -1;
	}
	if (e->has_pipe_sz && e->pipe_sz &&
	    fcntl(p[0], F_SETPIPE_SZ, e->pipe_sz) < 0)
		pr_warn("pipe %lu: can't set size %u: %m", (unsigned long)e->id,
			e->pipe_sz);
	if (e->has_data && write_all(p[1], e->data.data, e->data.len)) {
		pr_perror("refill pipe %lu with %zu bytes", (unsigned long)e->id,
			  e->data.len);
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (fd_cache_put(r, FD_KEY_PIPE, e->id, 0, p[0]) ||
	    fd_cache_put(r, FD_KEY_PIPE, e->id, 1, p[1]))
		return -1;
	return 0;
}

/* The first OFD of each end is the end pipe() made; another one (opened
 * through /proc) is a new open of the pipe. */
static int pipe_open(struct fd_restore *r, const FdEntry *e)
{
	int end = (e->flags & O_ACCMODE) == O_WRONLY ? 1 : 0, fd;
	bool used = false;

	fd = fd_cache_get(r, FD_KEY_PIPE, e->id, end, NULL);
	if (fd < 0 && make_pipe(r, e))
		return -1;
	fd = fd_cache_get(r, FD_KEY_PIPE, e->id, end, &used);
	if (fd < 0)
		return -1;
	if (used)
		return fd_reopen(fd, e->flags);
	fd = fcntl(fd, F_DUPFD, 0);
	if (fd < 0)
		pr_perror("dup pipe end");
	return fd;
}

const struct fd_ops fd_pipe_ops = {
	.type = FD_TYPE__FD_PIPE, .name = "pipe",
	.dump = pipe_dump, .open = pipe_open, .keys = pipe_keys,
};

/* ---- which kind an fd is ---- */

static const struct fd_ops *const fd_ops_table[] = {
	&fd_reg_ops, &fd_dir_ops, &fd_chr_ops, &fd_pipe_ops,
	&fd_eventfd_ops, &fd_signalfd_ops, &fd_timerfd_ops, &fd_epoll_ops,
	&fd_memfd_ops, &fd_deleted_ops, &fd_unix_ops, &fd_fifo_ops,
	&fd_path_ops, &fd_inet_ops, &fd_pidfd_ops, &fd_nsfs_ops,
};

static const struct fd_ops *ops_of(FdType t)
{
	for (size_t i = 0; i < sizeof(fd_ops_table) / sizeof(fd_ops_table[0]); i++)
		if (fd_ops_table[i]->type == t)
			return fd_ops_table[i];
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
	/* terminals are reopened by path, as CRIU's --shell-job does: the
	 * same terminal must still be there at restore */
	return !strncmp(path, "/dev/pts/", 9) || !strncmp(path, "/dev/tty", 8) ||
	       !strcmp(path, "/dev/console");
}

static bool has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && !strcmp(s + n - m, suffix);
}

static const struct fd_ops *anon_ops(const char *link, const char **why)
{
	static const struct { const char *link; const struct fd_ops *ops; }
	anon[] = {
		{ "anon_inode:[eventfd]",   &fd_eventfd_ops },
		{ "anon_inode:[signalfd]",  &fd_signalfd_ops },
		{ "anon_inode:[timerfd]",   &fd_timerfd_ops },
		{ "anon_inode:[eventpoll]", &fd_epoll_ops },
		{ "anon_inode:[pidfd]",     &fd_pidfd_ops },
	};

	for (size_t i = 0; i < sizeof(anon) / sizeof(anon[0]); i++)
		if (!strcmp(link, anon[i].link))
			return anon[i].ops;
	if (!strncmp(link, "anon_inode:kvm", 14))
		*why = "KVM VM/vCPU state lives in the kernel: KVM-accelerated "
		       "QEMU needs accel=tcg, or QEMU's own migration";
	else if (!strcmp(link, "anon_inode:[io_uring]"))
		*why = "io_uring (in-flight kernel requests; QEMU: use "
		       "aio=threads)";
	else if (!strcmp(link, "anon_inode:[userfaultfd]"))
		*why = "userfaultfd owned by the process (QEMU postcopy or "
		       "background snapshot in progress?)";
	else
		*why = "anonymous-inode object not supported yet";
	return NULL;
}

/*
 * Which ops describe this fd (copy: our pidfd_getfd copy, for sockets;
 * flags: its open flags, from fdinfo);
 * NULL with *why set if none can.
 */
static const struct fd_ops *fd_ops_for(const char *link, const struct stat *st,
				       int copy, unsigned flags, const char **why)
{
	*why = NULL;
	if (flags & O_PATH)	/* a reference to an inode, of any kind */
		return &fd_path_ops;
	if (!strncmp(link, "pipe:", 5))
		return &fd_pipe_ops;
	if (!strncmp(link, "socket:", 7))
		return socket_ops(copy, why);
	if (!strncmp(link, "anon_inode:", 11))
		return anon_ops(link, why);
	if (!strncmp(link, "pidfd:", 6))	/* pidfs names, newer kernels */
		return &fd_pidfd_ops;
	if (fd_is_nsfs(copy))
		return &fd_nsfs_ops;
	if (!strcmp(link, "/dev/kvm")) {
		*why = "KVM VM/vCPU state lives in the kernel: KVM-accelerated "
		       "QEMU needs accel=tcg, or QEMU's own migration";
		return NULL;
	}
	if (!strncmp(link, "/dev/vhost", 10)) {
		*why = "vhost device (virtio state in the kernel; QEMU: "
		       "vhost=off)";
		return NULL;
	}
	if (link[0] != '/') {
		*why = "unknown kind of file";
		return NULL;
	}
	if (S_ISREG(st->st_mode) && !strncmp(link, "/memfd:", 7))
		return &fd_memfd_ops;
	if (!strncmp(link, "/secretmem", 10)) {
		*why = "memfd_secret (not supported)";
		return NULL;
	}
	if (S_ISFIFO(st->st_mode))
		return &fd_fifo_ops;
	if (S_ISDIR(st->st_mode))
		return &fd_dir_ops;	/* deleted ones too */
	if (has_suffix(link, " (deleted)")) {
		if (S_ISREG(st->st_mode))
			return &fd_deleted_ops;
		*why = "deleted file that is not a regular file";
		return NULL;
	}
	if (S_ISREG(st->st_mode))
		return &fd_reg_ops;
	if (S_ISCHR(st->st_mode) && chr_supported(link))
		return &fd_chr_ops;
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

/* Fills d (link must point to a PATH_MAX buffer) and finds its ops.
 * 1: fd closed meanwhile; -1: error (logged); 0 with *ops NULL and *why
 * set: a kind that can't be dumped. */
static int describe_fd(struct fd_dump *d, int pidfd, char *link,
		       const struct fd_ops **ops, const char **why)
{
	*ops = NULL;
	if (read_link(d->pid, d->fd, link, PATH_MAX))
		return 1;
	d->link = link;
	d->copy = syscall(__NR_pidfd_getfd, pidfd, d->fd, 0);
	if (d->copy < 0) {
		if (errno == EBADF)
			return 1;
		pr_perror("pidfd_getfd(%d, %d)", d->pid, d->fd);
		return -1;
	}
	if (fstat(d->copy, &d->st) || proc_read_fdinfo(d->pid, d->fd, &d->fi)) {
		pr_perror("stat fd %d of %d", d->fd, d->pid);
		return -1;
	}
	*ops = fd_ops_for(link, &d->st, d->copy, d->fi.flags, why);
	return 0;
}

int check_fds(pid_t pid, bool tcp_established, const pid_t *tree,
	      size_t nr_tree, struct refusals *rf)
{
	int *fds, pidfd;
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
	for (size_t i = 0; i < n; i++) {
		struct fd_dump d = { .pid = pid, .fd = fds[i], .copy = -1,
				     .tcp_established = tcp_established,
				     .tree = tree, .nr_tree = nr_tree };
		char link[PATH_MAX];
		const struct fd_ops *ops;
		const char *why = NULL;
		char owner_why[160];
		int ret = describe_fd(&d, pidfd, link, &ops, &why);

		if (!ret && ops && ops->check)
			why = ops->check(&d);
		if (!ret && ops && !why)
			why = fd_owner_refusal(&d, owner_why, sizeof(owner_why));
		if (!ret && why)
			refuse(rf, "pid %d fd %d: %s: %s", pid, fds[i], link, why);
		if (d.copy >= 0)
			close(d.copy);
		proc_fdinfo_free(&d.fi);
		if (ret < 0) {
			free(fds);
			close(pidfd);
			return -1;
		}
	}
	free(fds);
	close(pidfd);
	return 0;
}

/* ---- fd tables shared between processes ---- */

static bool same_fd_table(pid_t a, pid_t b)
{
	return syscall(SYS_kcmp, a, b, KCMP_FILES, 0, 0) == 0;
}

bool fd_table_of_parent(const struct frozen_tree *t, size_t i)
{
	const struct frozen_proc *p = &t->procs[i];

	if (!i || p->zombie)
		return false;
	for (size_t j = 0; j < i; j++)
		if (t->procs[j].pid == p->ppid)
			return !t->procs[j].zombie &&
			       same_fd_table(p->pid, p->ppid);
	return false;
}

static bool has_children(const struct frozen_tree *t, size_t i)
{
	for (size_t j = i + 1; j < t->nr; j++)
		if (t->procs[j].ppid == t->procs[i].pid)
			return true;
	return false;
}

int check_fd_tables(const struct frozen_tree *t, struct refusals *rf)
{
	for (size_t i = 1; i < t->nr; i++) {
		const struct frozen_proc *p = &t->procs[i];
		bool of_parent = fd_table_of_parent(t, i);

		if (p->zombie)
			continue;
		if (of_parent && has_children(t, i))
			refuse(rf, "pid %d shares its parent's fd table "
			       "(CLONE_FILES) and has children of its own (not "
			       "supported yet)", p->pid);
		for (size_t j = 0; j < i; j++) {
			const struct frozen_proc *q = &t->procs[j];

			if (q->zombie || (of_parent && q->pid == p->ppid))
				continue;
			if (same_fd_table(p->pid, q->pid))
				refuse(rf, "pid %d shares its fd table with pid "
				       "%d, not its parent (CLONE_FILES; not "
				       "supported yet)", p->pid, q->pid);
		}
	}
	return 0;
}

/* ---- dump ---- */

struct fd_dump_ctx *fd_dump_begin(int dirfd, struct tcp_repair_hold *tcp_hold)
{
	struct fd_dump_ctx *fc = calloc(1, sizeof(*fc));

	if (fc) {
		fc->dirfd = dirfd;
		fc->tcp_hold = tcp_hold;
	}
	return fc;
}

void fd_dump_end(struct fd_dump_ctx *fc)
{
	if (!fc)
		return;
	unix_diag_free(fc->unix_table);
	inet_dump_state_free(fc->inet);
	free(fc->ofds);
	free(fc->inodes);
	free(fc->mapped);
	free(fc);
}

/*
 * The open file description of pid's fd: the same as one seen before (in
 * this process or an earlier one of the tree, all frozen) when kcmp says
 * so. Only OFDs of the same inode can be equal, which keeps kcmp calls
 * few. *fresh tells whether it is new.
 */
static int ofd_id_of(struct fd_dump_ctx *fc, const struct fd_dump *d,
		     uint64_t *id, bool *fresh)
{
	for (size_t i = 0; i < fc->nr_ofds; i++) {
		const struct ofd_seen *s = &fc->ofds[i];
		long r;

		if (s->dev != d->st.st_dev || s->ino != d->st.st_ino)
			continue;
		r = syscall(SYS_kcmp, d->pid, s->pid, KCMP_FILE, d->fd, s->fd);
		if (r < 0) {
			pr_perror("kcmp(%d fd %d, %d fd %d)", d->pid, d->fd,
				  s->pid, s->fd);
			return -1;
		}
		if (r == 0) {
			*id = s->id;
			*fresh = false;
			return 0;
		}
	}
	if (grow((void **)&fc->ofds, &fc->cap_ofds, fc->nr_ofds + 1,
		 sizeof(*fc->ofds)))
		return -1;
	/* unique across the tree even when each process had its own ctx */
	*id = (uint64_t)d->pid << 32 | (fc->nr_ofds + 1);
	fc->ofds[fc->nr_ofds++] = (struct ofd_seen){
		d->pid, d->fd, d->st.st_dev, d->st.st_ino, *id };
	*fresh = true;
	return 0;
}

static int dump_one_fd(struct fd_dump_ctx *fc, pid_t pid, int pidfd, int fd,
		       struct cr_img *img)
{
	struct fd_dump d = { .fc = fc, .pid = pid, .fd = fd, .copy = -1,
			     .tcp_established = fc->tcp_hold != NULL };
	FdEntry *e = malloc(sizeof(*e));
	const struct fd_ops *ops;
	char link[PATH_MAX];
	const char *why = NULL;
	bool fresh;
	int ret = -1;

	if (!e)
		return -1;
	fd_entry__init(e);
	ret = describe_fd(&d, pidfd, link, &ops, &why);
	if (ret) {
		if (ret > 0)	/* closed meanwhile: the tree is frozen */
			pr_err("pid %d fd %d vanished during the dump", pid, fd);
		ret = -1;
		goto out;
	}
	ret = -1;
	if (!ops) {
		pr_err("pid %d fd %d: %s: %s", pid, fd, link, why);
		goto out;
	}
	e->fd = fd;
	e->type = ops->type;
	e->flags = d.fi.flags & ~O_CLOEXEC;
	e->cloexec = !!(d.fi.flags & O_CLOEXEC);
	e->has_ofd_id = true;
	if (ofd_id_of(fc, &d, &e->ofd_id, &fresh))
		goto out;
	if (fresh && (ops->dump(&d, e) || fd_owner_dump(&d, e)))
		goto out;
	if (log_get_level() >= LOG_DEBUG) {
		char line[512];

		pr_debug("pid %d: %s", pid, describe_fd_entry(e, line,
							       sizeof(line)));
	}
	ret = img_write_msg(img, &e->base);
out:
	fd_entry__free_unpacked(e, NULL);
	if (d.copy >= 0)
		close(d.copy);
	proc_fdinfo_free(&d.fi);
	return ret;
}

int dump_proc_fds(struct fd_dump_ctx *fc, pid_t pid, pid_t vpid)
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
	img = img_open_write(fc->dirfd, IMG_FDINFO, vpid);
	for (size_t i = 0; img && i < n && !ret; i++)
		ret = dump_one_fd(fc, pid, pidfd, fds[i], img);
	if (!img || img_close(img))
		ret = -1;
	free(fds);
	close(pidfd);
	return ret;
}

bool fd_dump_nested(const struct fd_dump_ctx *fc)
{
	return fc->nested > 0;
}

/*
 * Its own table of stored inodes while it runs: a pipe passed in flight
 * carries the pipe's bytes whether or not the tree's fds of that pipe
 * do (either entry may be the one that makes it again).
 */
int fd_dump_held(struct fd_dump_ctx *fc, int fd, FdEntry **out)
{
	struct fd_dump d = { .fc = fc, .pid = getpid(), .fd = fd, .copy = -1 };
	struct inode_seen *inodes = fc->inodes;
	size_t nr = fc->nr_inodes, cap = fc->cap_inodes;
	FdEntry *e = malloc(sizeof(*e));
	const struct fd_ops *ops;
	char link[PATH_MAX];
	const char *why = NULL;
	int pidfd = syscall(__NR_pidfd_open, d.pid, 0), ret = -1;

	if (!e || pidfd < 0) {
		free(e);
		if (pidfd >= 0)
			close(pidfd);
		return -1;
	}
	fd_entry__init(e);
	fc->inodes = NULL;
	fc->nr_inodes = fc->cap_inodes = 0;
	fc->nested++;
	if (describe_fd(&d, pidfd, link, &ops, &why))
		goto out;
	if (!ops) {
		pr_err("a file passed in a unix socket's queue: %s: %s", link, why);
		goto out;
	}
	e->type = ops->type;
	e->flags = d.fi.flags & ~O_CLOEXEC;
	if (ops->check && (why = ops->check(&d))) {
		pr_err("a file passed in a unix socket's queue: %s: %s", link, why);
		goto out;
	}
	ret = ops->dump(&d, e);
out:
	fc->nested--;
	free(fc->inodes);
	fc->inodes = inodes;
	fc->nr_inodes = nr;
	fc->cap_inodes = cap;
	if (d.copy >= 0)
		close(d.copy);
	proc_fdinfo_free(&d.fi);
	close(pidfd);
	if (ret) {
		fd_entry__free_unpacked(e, NULL);
		return -1;
	}
	*out = e;
	return 0;
}

int dump_fds(pid_t pid, int dirfd)
{
	struct fd_dump_ctx *fc = fd_dump_begin(dirfd, NULL);
	int ret;

	if (!fc)
		return -1;
	ret = dump_proc_fds(fc, pid, pid);
	fd_dump_end(fc);
	return ret;
}

/* ---- restore: the plan ---- */

/*
 * A small open-addressing map of (tag, id) -> int. Sized once for the
 * most entries it will hold.
 */
struct kmap_slot {
	uint64_t tag, id;
	int val;
	bool used;
};

struct kmap {
	struct kmap_slot *s;
	size_t mask;
};

static int kmap_init(struct kmap *m, size_t n)
{
	size_t cap = 16;

	while (cap < 2 * n + 2)
		cap <<= 1;
	m->s = calloc(cap, sizeof(*m->s));
	m->mask = cap - 1;
	return m->s ? 0 : -1;
}

/* The slot for (tag, id): found (used set) or the free one to fill. */
static struct kmap_slot *kmap_at(struct kmap *m, uint64_t tag, uint64_t id)
{
	uint64_t h = (id * 0x9e3779b97f4a7c15ULL) ^ (tag * 0xc2b2ae3d27d4eb4fULL);

	for (size_t i = (h ^ (h >> 29)) & m->mask;; i = (i + 1) & m->mask)
		if (!m->s[i].used || (m->s[i].tag == tag && m->s[i].id == id))
			return &m->s[i];
}

/* What the entry carrying an open file description lacks to be opened,
 * or NULL. */
void close_tcp_connections(const struct fd_tree *t)
{
	for (size_t p = 0; p < t->nr; p++)
		for (size_t i = 0; i < t->procs[p].nr_fds; i++)
			inet_entry_close(t->procs[p].fds[i]);
}

static const char *fd_entry_lacks(const FdEntry *e, bool tcp_established)
{
	switch (e->type) {
	case FD_TYPE__FD_REG:
	case FD_TYPE__FD_DIR:
	case FD_TYPE__FD_CHR:
	case FD_TYPE__FD_DELETED:
	case FD_TYPE__FD_FIFO:
	case FD_TYPE__FD_PATH:
		return e->path && e->path[0] ? NULL : "no path";
	case FD_TYPE__FD_UNIX:
		return e->usk ? NULL : "no socket description";
	case FD_TYPE__FD_INET:
		return inet_entry_lacks(e, tcp_established);
	default:
		return ops_of(e->type) ? NULL : "an unknown type";
	}
}

int check_fd_images(const struct fd_tree *t, const unsigned *pids,
		    bool tcp_established)
{
	size_t total = 0;
	struct kmap m;
	int ret = 0;

	for (size_t p = 0; p < t->nr; p++)
		total += t->procs[p].nr_fds;
	if (kmap_init(&m, total))
		return -1;
	for (size_t p = 0; p < t->nr && !ret; p++) {
		for (size_t i = 0; i < t->procs[p].nr_fds && !ret; i++) {
			const FdEntry *e = t->procs[p].fds[i];
			const struct fd_ops *ops = ops_of(e->type);
			const char *why;

			if (e->has_ofd_id) {	/* the first one carries it */
				struct kmap_slot *s = kmap_at(&m, 0, e->ofd_id);

				if (s->used)
					continue;
				*s = (struct kmap_slot){ 0, e->ofd_id, 0, true };
			}
			why = fd_entry_lacks(e, tcp_established);
			if (why) {
				pr_err("fdinfo-%u.img: fd %u (%s) has %s: can't "
				       "restore it", pids[p], e->fd,
				       ops ? ops->name : "?", why);
				ret = -1;
			} else if (fd_check_ghost(t->dirfd, e)) {
				pr_err("fdinfo-%u.img: fd %u: its contents "
				       "(ghost-%u.img) can't be used", pids[p],
				       e->fd, e->ghost_id);
				ret = -1;
			}
		}
	}
	free(m.s);
	return ret;
}

struct plan_ofd {
	const FdEntry *e;	/* first entry: carries the description */
	int proc;		/* the process of that entry */
	int up;			/* union-find: objects made together */
	/* valid at the union-find root: */
	int site;		/* the process that makes them */
	int first;		/* first process holding one, -1: none yet */
	bool shared;		/* held by more than one process */
};

struct fd_plan {
	const struct fd_tree *t;
	struct plan_ofd *ofds;
	size_t nr_ofds;
	int **ofd_of;		/* [proc][entry]: index in ofds */
	int *depth;
};

static void plan_free(struct fd_plan *pl)
{
	if (pl->ofd_of)
		for (size_t p = 0; p < pl->t->nr; p++)
			free(pl->ofd_of[p]);
	free(pl->ofd_of);
	free(pl->ofds);
	free(pl->depth);
}

static int find_root(struct fd_plan *pl, int k)
{
	while (pl->ofds[k].up != k) {
		pl->ofds[k].up = pl->ofds[pl->ofds[k].up].up;
		k = pl->ofds[k].up;
	}
	return k;
}

static int lca(const struct fd_plan *pl, int a, int b)
{
	const struct fd_proc *pr = pl->t->procs;

	while (pl->depth[a] > pl->depth[b])
		a = pr[a].parent;
	while (pl->depth[b] > pl->depth[a])
		b = pr[b].parent;
	while (a != b) {
		a = pr[a].parent;
		b = pr[b].parent;
	}
	return a;
}

static int plan_depths(struct fd_plan *pl)
{
	const struct fd_tree *t = pl->t;

	pl->depth = calloc(t->nr, sizeof(*pl->depth));
	if (!pl->depth)
		return -1;
	for (size_t p = 0; p < t->nr; p++) {
		int par = t->procs[p].parent;

		if (p == 0 ? par != -1 : (par < 0 || (size_t)par >= p)) {
			pr_err("restore fds: process %zu has parent %d: the tree "
			       "is not in pstree order", p, par);
			return -1;
		}
		pl->depth[p] = p ? pl->depth[par] + 1 : 0;
	}
	return 0;
}

/* Every OFD of the tree, once, in order of first appearance. */
static int plan_ofds(struct fd_plan *pl, struct kmap *m)
{
	const struct fd_tree *t = pl->t;

	for (size_t p = 0; p < t->nr; p++) {
		const struct fd_proc *fp = &t->procs[p];

		pl->ofd_of[p] = calloc(fp->nr_fds + 1, sizeof(int));
		if (!pl->ofd_of[p])
			return -1;
		for (size_t i = 0; i < fp->nr_fds; i++) {
			const FdEntry *e = fp->fds[i];
			struct kmap_slot *s;

			/* old images: every fd its own OFD */
			s = e->has_ofd_id ? kmap_at(m, 0, e->ofd_id) :
					    kmap_at(m, 1, (uint64_t)p << 32 | i);
			if (!s->used) {
				*s = (struct kmap_slot){ e->has_ofd_id ? 0 : 1,
					e->has_ofd_id ? e->ofd_id :
					(uint64_t)p << 32 | i, pl->nr_ofds, true };
				pl->ofds[pl->nr_ofds] = (struct plan_ofd){
					e, p, pl->nr_ofds, -1, -1, false };
				pl->nr_ofds++;
			} else if (pl->ofds[s->val].e->type != e->type) {
				pr_err("fdinfo-*.img: fd %u and fd %u share an "
				       "OFD but differ in type", e->fd,
				       pl->ofds[s->val].e->fd);
				return -1;
			}
			pl->ofd_of[p][i] = s->val;
		}
	}
	return 0;
}

/* OFDs made together (a key in common) become one group. */
static void plan_groups(struct fd_plan *pl, struct kmap *m)
{
	for (size_t k = 0; k < pl->nr_ofds; k++) {
		const struct fd_ops *ops = ops_of(pl->ofds[k].e->type);
		struct fd_key keys[FD_KEYS_MAX];
		size_t n;

		if (!ops || !ops->keys)
			continue;
		n = ops->keys(pl->ofds[k].e, keys);
		for (size_t i = 0; i < n; i++) {
			struct kmap_slot *s = kmap_at(m, 16 + keys[i].kind,
						      keys[i].id);

			if (!s->used) {
				*s = (struct kmap_slot){ 16 + keys[i].kind,
					keys[i].id, k, true };
				continue;
			}
			pl->ofds[find_root(pl, k)].up = find_root(pl, s->val);
		}
	}
}

/* Each group is made by the nearest common ancestor of its holders. */
static void plan_sites(struct fd_plan *pl)
{
	for (size_t p = 0; p < pl->t->nr; p++) {
		for (size_t i = 0; i < pl->t->procs[p].nr_fds; i++) {
			struct plan_ofd *g = &pl->ofds[find_root(pl,
							pl->ofd_of[p][i])];

			if (g->first < 0) {
				g->first = g->site = p;
			} else if (g->first != (int)p) {
				g->shared = true;
				g->site = lca(pl, g->site, p);
			}
		}
	}
}

static int plan_build(struct fd_plan *pl, const struct fd_tree *t)
{
	struct kmap m = { NULL, 0 };
	size_t total = 0;
	int ret = -1;

	memset(pl, 0, sizeof(*pl));
	pl->t = t;
	for (size_t p = 0; p < t->nr; p++)
		total += t->procs[p].nr_fds;
	pl->ofds = calloc(total + 1, sizeof(*pl->ofds));
	pl->ofd_of = calloc(t->nr, sizeof(*pl->ofd_of));
	if (!pl->ofds || !pl->ofd_of || kmap_init(&m, 3 * total) ||
	    plan_depths(pl) || plan_ofds(pl, &m))
		goto out;
	plan_groups(pl, &m);
	plan_sites(pl);
	ret = 0;
out:
	free(m.s);
	if (ret)
		plan_free(pl);
	return ret;
}

/* ---- restore: making the objects ---- */

struct fd_cached {
	enum fd_key_kind kind;
	uint64_t id;
	int sub;
	int fd;
	bool used;
};

struct fd_restore {
	struct fd_plan *pl;
	size_t idx;		/* the puppet's process */
	int base;		/* OFD k is parked at base + k */
	int high;		/* cached fds live from here up */
	struct fd_cached *cache;
	size_t nr_cache, cap_cache;
};

int fd_cache_put(struct fd_restore *r, enum fd_key_kind kind, uint64_t id,
		 int sub, int fd)
{
	int hi;

	if (grow((void **)&r->cache, &r->cap_cache, r->nr_cache + 1,
		 sizeof(*r->cache))) {
		close(fd);
		return -1;
	}
	hi = fcntl(fd, F_DUPFD, r->high);
	if (hi < 0) {
		pr_perror("move fd %d above %d", fd, r->high);
		close(fd);
		return -1;
	}
	close(fd);
	r->cache[r->nr_cache++] = (struct fd_cached){ kind, id, sub, hi, false };
	return 0;
}

int fd_cache_get(struct fd_restore *r, enum fd_key_kind kind, uint64_t id,
		 int sub, bool *used)
{
	for (size_t i = 0; i < r->nr_cache; i++) {
		struct fd_cached *c = &r->cache[i];

		if (c->kind != kind || c->id != id || c->sub != sub)
			continue;
		if (used) {
			*used = c->used;
			c->used = true;
		}
		return c->fd;
	}
	return -1;
}

static void cache_clear(struct fd_restore *r)
{
	for (size_t i = 0; i < r->nr_cache; i++)
		close(r->cache[i].fd);
	r->nr_cache = 0;
}

pid_t fd_restorer_pid(const struct fd_restore *r)
{
	return r->pl->t->restorer;
}

const FdEntry *fd_find_unix(struct fd_restore *r, uint64_t ino)
{
	for (size_t k = 0; k < r->pl->nr_ofds; k++) {
		const FdEntry *e = r->pl->ofds[k].e;

		if (e->type == FD_TYPE__FD_UNIX && e->usk && e->usk->ino == ino)
			return e;
	}
	return NULL;
}

const FdEntry *fd_next_inet(struct fd_restore *r, size_t *k)
{
	for (; *k < r->pl->nr_ofds; (*k)++) {
		const FdEntry *e = r->pl->ofds[*k].e;

		if (e->type == FD_TYPE__FD_INET && e->isk) {
			(*k)++;
			return e;
		}
	}
	return NULL;
}

const FdEntry *fd_find_inet(struct fd_restore *r, uint64_t ino)
{
	for (size_t k = 0; k < r->pl->nr_ofds; k++) {
		const FdEntry *e = r->pl->ofds[k].e;

		if (e->type == FD_TYPE__FD_INET && e->isk && e->isk->ino == ino)
			return e;
	}
	return NULL;
}

int fd_restore_dirfd(const struct fd_restore *r)
{
	return r->pl->t->dirfd;
}

static int set_status_flags(int fd, const FdEntry *e)
{
	int cur = fcntl(fd, F_GETFL), want;

	if (cur < 0)
		return -1;
	want = (cur & ~SETFL_MASK) | (e->flags & SETFL_MASK);
	if (want != cur && fcntl(fd, F_SETFL, want)) {
		pr_perror("restore fd %u: set flags %#o", e->fd, want);
		return -1;
	}
	return 0;
}

size_t fd_entry_keys(const FdEntry *e, struct fd_key *k, size_t room)
{
	const struct fd_ops *ops = ops_of(e->type);
	struct fd_key tmp[FD_KEYS_MAX];
	size_t n;

	if (!ops || !ops->keys)
		return 0;
	n = ops->keys(e, tmp);
	n = n < room ? n : room;
	memcpy(k, tmp, n * sizeof(*k));
	return n;
}

int fd_open_entry(struct fd_restore *r, const FdEntry *e)
{
	const struct fd_ops *ops = ops_of(e->type);
	int fd;

	if (!ops) {
		pr_err("a file in flight: unknown type %d in image", e->type);
		return -1;
	}
	fd = ops->open(r, e);
	if (fd >= 0 && set_status_flags(fd, e)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Makes OFD k and parks it at its number. */
static int open_ofd(struct fd_restore *r, size_t k)
{
	const FdEntry *e = r->pl->ofds[k].e;
	const struct fd_ops *ops = ops_of(e->type);
	int fd, slot = r->base + k;

	if (!ops) {
		pr_err("fd %u: unknown type %d in image", e->fd, e->type);
		return -1;
	}
	fd = ops->open(r, e);
	if (fd < 0)
		return -1;
	if (set_status_flags(fd, e)) {
		close(fd);
		return -1;
	}
	if (fd != slot) {
		if (dup2(fd, slot) < 0) {
			pr_perror("dup2(%d, %d)", fd, slot);
			close(fd);
			return -1;
		}
		close(fd);
	}
	return 0;
}

static int restore_init(struct fd_restore *r, struct fd_plan *pl,
			const struct fd_tree *t, size_t idx)
{
	memset(r, 0, sizeof(*r));
	if (plan_build(pl, t))
		return -1;
	r->pl = pl;
	r->idx = idx;
	r->base = t->keep_at + 1;
	r->high = r->base + pl->nr_ofds;
	return 0;
}

static void restore_fini(struct fd_restore *r)
{
	cache_clear(r);
	free(r->cache);
	plan_free(r->pl);
}

/* Opens the OFDs this puppet makes: those of groups shared with its
 * descendants (prefork) or those only it holds (!prefork). */
static int open_own(struct fd_restore *r, bool prefork)
{
	struct fd_plan *pl = r->pl;
	int ret = 0;

	for (size_t k = 0; k < pl->nr_ofds && !ret; k++) {
		const struct plan_ofd *g = &pl->ofds[find_root(pl, k)];

		if (g->site == (int)r->idx && g->shared == prefork)
			ret = open_ofd(r, k);
	}
	cache_clear(r);
	return ret;
}

int restore_fds_prefork(const struct fd_tree *t, size_t idx)
{
	struct fd_restore r;
	struct fd_plan pl;
	int ret;

	if (restore_init(&r, &pl, t, idx))
		return -1;
	ret = open_own(&r, true);
	restore_fini(&r);
	return ret;
}

/* Everything but keep_at and the parked OFDs this process holds goes. */
static void close_others(struct fd_restore *r)
{
	const struct fd_proc *fp = &r->pl->t->procs[r->idx];
	int keep_at = r->pl->t->keep_at;
	bool *held = calloc(r->pl->nr_ofds + 1, sizeof(*held));

	if (keep_at > 0)
		syscall(__NR_close_range, 0, keep_at - 1, 0);
	for (size_t i = 0; held && i < fp->nr_fds; i++)
		held[r->pl->ofd_of[r->idx][i]] = true;
	for (size_t k = 0; held && k < r->pl->nr_ofds; k++)
		if (!held[k])
			close(r->base + k);
	syscall(__NR_close_range, r->high, ~0U, 0);
	free(held);
}

static int place_fds(struct fd_restore *r)
{
	const struct fd_proc *fp = &r->pl->t->procs[r->idx];

	for (size_t i = 0; i < fp->nr_fds; i++) {
		const FdEntry *e = fp->fds[i];
		int slot = r->base + r->pl->ofd_of[r->idx][i];

		if (dup2(slot, e->fd) < 0) {
			pr_perror("dup2(%d, %d)", slot, e->fd);
			return -1;
		}
		if (e->cloexec && fcntl(e->fd, F_SETFD, FD_CLOEXEC)) {
			pr_perror("fd %u: FD_CLOEXEC", e->fd);
			return -1;
		}
	}
	syscall(__NR_close_range, r->base, ~0U, 0);
	return 0;
}

/* Steps that need every fd at its number, by the process holding the
 * describing entry (epoll watches name fds by number). */
static int post_fds(struct fd_restore *r)
{
	const struct fd_proc *fp = &r->pl->t->procs[r->idx];

	for (size_t i = 0; i < fp->nr_fds; i++) {
		const FdEntry *e = fp->fds[i];
		const struct plan_ofd *o = &r->pl->ofds[r->pl->ofd_of[r->idx][i]];
		const struct fd_ops *ops = ops_of(e->type);

		if (o->e != e)
			continue;
		if (fd_owner_restore(e, e->fd))
			return -1;
		if (ops->post && ops->post(r, e, e->fd))
			return -1;
	}
	return 0;
}

int restore_fds(const struct fd_tree *t, size_t idx)
{
	struct fd_restore r;
	struct fd_plan pl;
	int ret = -1;

	if (restore_init(&r, &pl, t, idx))
		return -1;
	if (open_own(&r, false))
		goto out;
	close_others(&r);
	if (place_fds(&r) || post_fds(&r))
		goto out;
	ret = 0;
out:
	restore_fini(&r);
	return ret;
}

int restore_fds_late(pid_t pid, FdEntry **fds, size_t n)
{
	int pidfd = syscall(__NR_pidfd_open, pid, 0), ret = 0;

	if (pidfd < 0) {
		pr_perror("pidfd_open(%d)", pid);
		return -1;
	}
	for (size_t i = 0; i < n && !ret; i++) {
		const struct fd_ops *ops = ops_of(fds[i]->type);
		int copy;

		if (!ops || !ops->late)
			continue;
		copy = syscall(__NR_pidfd_getfd, pidfd, fds[i]->fd, 0);
		if (copy < 0) {
			pr_perror("pidfd_getfd(%d, %u)", pid, fds[i]->fd);
			ret = -1;
			break;
		}
		ret = ops->late(fds[i], copy);
		close(copy);
	}
	close(pidfd);
	return ret;
}
