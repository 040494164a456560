/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Between files.c (which fd, which object, when) and the per-kind code in
 * fd-*.c and sockets.c (what the object is and how to make it again).
 */
#ifndef CRIU_LITE_FD_OPS_H
#define CRIU_LITE_FD_OPS_H

#include <sys/stat.h>

#include "files.h"

/* Contents of memfds and deleted files up to this size go inside their
 * fdinfo entry; larger ones into a ghost image of their own (fd-ghost.c). */
#define FD_INLINE_MAX		(4UL << 20)

struct fd_dump_ctx;

struct fd_dump {
	struct fd_dump_ctx *fc;
	pid_t pid;
	int fd;			/* number in the target */
	int copy;		/* our pidfd_getfd copy: shares the OFD */
	const char *link;	/* readlink of /proc/PID/fd/N */
	struct stat st;
	struct proc_fdinfo fi;
	bool tcp_established;	/* --tcp-established: connections are dumped */
	const pid_t *tree;	/* check only: the dumped tree's pids */
	size_t nr_tree;
};

/*
 * A key names an object that several OFDs are made from at once: the
 * OFDs of one pipe, the two sockets of a pair, the opens of one memfd.
 * OFDs sharing a key are created together, by the same puppet.
 */
enum fd_key_kind {
	FD_KEY_PIPE = 1,
	FD_KEY_UNIX,
	FD_KEY_INODE,
	FD_KEY_INET,		/* an IP socket, by inode */
};

struct fd_key {
	enum fd_key_kind kind;
	uint64_t id;
};

#define FD_KEYS_MAX	8

struct fd_restore;

struct fd_ops {
	FdType type;
	const char *name;
	/* Optional, before the dump touches anything: why this object
	 * can't be dumped, or NULL. */
	const char *(*check)(const struct fd_dump *d);
	/* Fill e (fd, flags, type, ofd_id are set by the caller); every
	 * pointer put in e must be malloc'ed (freed by free_unpacked). */
	int (*dump)(struct fd_dump *d, FdEntry *e);
	/* In the puppet: create the object of e, return an fd for it. The
	 * caller sets the status flags (O_NONBLOCK...) afterwards. */
	int (*open)(struct fd_restore *r, const FdEntry *e);
	/* Optional: the objects e is made together with; returns how many
	 * of k[FD_KEYS_MAX] it filled. */
	size_t (*keys)(const FdEntry *e, struct fd_key *k);
	/* Optional, in the puppet once every fd is at its number. */
	int (*post)(struct fd_restore *r, const FdEntry *e, int fd);
	/* Optional, in criu-lite on a copy of the restored fd, just before
	 * the process runs. */
	int (*late)(const FdEntry *e, int fd);
};

extern const struct fd_ops fd_reg_ops, fd_dir_ops, fd_chr_ops, fd_pipe_ops;
extern const struct fd_ops fd_eventfd_ops, fd_signalfd_ops, fd_timerfd_ops;
extern const struct fd_ops fd_epoll_ops, fd_memfd_ops, fd_deleted_ops;
extern const struct fd_ops fd_unix_ops, fd_fifo_ops, fd_path_ops;
extern const struct fd_ops fd_inet_ops;
extern const struct fd_ops fd_pidfd_ops, fd_nsfs_ops;

/* ---- services of files.c to the kinds ---- */

/* Objects made together wait in a cache until their own OFD is opened;
 * cached fds live above the parking area. Returns 0 or -1. */
int fd_cache_put(struct fd_restore *r, enum fd_key_kind kind, uint64_t id,
		 int sub, int fd);
/* The cached fd, or -1. *used (if given) says whether it was taken
 * before; taking it marks it used. */
int fd_cache_get(struct fd_restore *r, enum fd_key_kind kind, uint64_t id,
		 int sub, bool *used);
/* The first entry of the tree that describes a unix socket of that inode
 * (carries usk), or NULL: the socket is not in the dumped tree. */
const FdEntry *fd_find_unix(struct fd_restore *r, uint64_t ino);
/* The same for an IP socket (carries isk). */
const FdEntry *fd_find_inet(struct fd_restore *r, uint64_t ino);
/* The IP socket entries of the tree, one per call from *k (start at 0);
 * NULL after the last. */
const FdEntry *fd_next_inet(struct fd_restore *r, size_t *k);
/* True when the contents of this inode were stored already (for an
 * earlier fd of the dump); records it otherwise. */
bool fd_inode_seen(struct fd_dump_ctx *fc, uint64_t dev, uint64_t ino);
/* The key of an inode (memfd, deleted file), for fd_cache_* and keys. */
static inline uint64_t fd_inode_key(uint64_t dev, uint64_t ino)
{
	return ino ^ (dev * 0x9e3779b97f4a7c15ULL);
}
/* criu-lite's own pid, as the puppets see it from /proc. */
pid_t fd_restorer_pid(const struct fd_restore *r);
/* fd-nsfs.c: fd is an nsfs inode (/proc/PID/ns/...). */
bool fd_is_nsfs(int fd);
/* Opens the object behind fd anew through /proc/self/fd, with flags. */
int fd_reopen(int fd, int flags);
/* pidfd_getfd-free way to read what the target has: open
 * /proc/PID/fd/N, a new OFD of the same file (offset untouched). */
int fd_open_target(const struct fd_dump *d, int flags);
/* Reads the data extents of fd (SEEK_DATA/SEEK_HOLE, up to size) into
 * e->chunks. */
int fd_dump_contents(int fd, uint64_t size, FdEntry *e);
/* The bytes queued in the pipe or FIFO of d, read without consuming them
 * (tee), into e->data; its size into e->pipe_sz. */
int fd_pipe_peek(struct fd_dump *d, FdEntry *e);
/* Writes e->chunks back into fd and sets its size. */
int fd_restore_contents(int fd, const FdEntry *e);

/* An fd criu-lite holds (one that came with a peeked SCM_RIGHTS message)
 * described as a target's fd is, on its own: no OFD shared with the
 * tree's. *out is malloc'ed. 0 or -1 (logged). */
int fd_dump_held(struct fd_dump_ctx *fc, int fd, FdEntry **out);
/* True while fd_dump_held describes a file: a unix socket in flight
 * holding files itself is refused rather than followed. */
bool fd_dump_nested(const struct fd_dump_ctx *fc);
/* The keys of e's kind, at most room of them (for a socket carrying e). */
size_t fd_entry_keys(const FdEntry *e, struct fd_key *k, size_t room);
/* Makes the object of e (not parked): for files carried in a queue. The
 * caller closes the fd. */
int fd_open_entry(struct fd_restore *r, const FdEntry *e);

/* fd-dir.c: path (without " (deleted)"), unlinked, inode, mode, owner */
int fd_dump_inode_ref(struct fd_dump *d, FdEntry *e);
/* The removed directory of e, made once per restore site (cached). */
int fd_gone_dir(struct fd_restore *r, const FdEntry *e);

/* fd-ghost.c: the contents of a file that exists only while open, from
 * fd (read with pread, the target's offset untouched), stored inline or
 * as ghost-<id>.img; filled back into a new file; ghost image checked. */
int fd_store_contents(struct fd_dump *d, int fd, uint64_t size, FdEntry *e);
int fd_store_file(struct fd_dump_ctx *fc, int fd, uint64_t size, FdEntry *e);
int fd_fill_contents(int dirfd, int fd, const FdEntry *e);
int fd_check_ghost(int dirfd, const FdEntry *e);
/* fd-memfd.c: a deleted file or memfd read through fd (a mapping's), named
 * by link ("/memfd:x", "/path"; " (deleted)" stripped) described as its fd
 * would be, with its contents; fd_make_unlinked makes such a file again,
 * filled, and returns an fd on it (not cached). */
int fd_dump_unlinked_file(struct fd_dump_ctx *fc, int fd, const char *link,
			  FdEntry *e);
int fd_make_unlinked(int dirfd, const FdEntry *e);
/* files.c: true when the file mapped was stored already (for a mapping of
 * an earlier process); records it otherwise. */
bool fd_mapping_seen(struct fd_dump_ctx *fc, uint64_t dev, uint64_t ino);
/* files.c: the images directory of a dump and a new ghost id in it; the
 * images directory of a restore */
int fd_dump_dirfd(struct fd_dump_ctx *fc);
unsigned fd_dump_ghost_id(struct fd_dump_ctx *fc);
int fd_restore_dirfd(const struct fd_restore *r);

/* fd-owner.c: F_SETOWN_EX / F_SETSIG of any open file description */
const char *fd_owner_refusal(const struct fd_dump *d, char *buf, size_t len);
int fd_owner_dump(const struct fd_dump *d, FdEntry *e);
/* in the puppet, on the fd at its number */
int fd_owner_restore(const FdEntry *e, int fd);

/* sockets.c: the ops of a socket (our copy fd), or NULL and *why */
const struct fd_ops *socket_ops(int fd, const char **why);
struct unix_diag_table;
void unix_diag_free(struct unix_diag_table *t);
struct unix_diag_table **fd_dump_unix_table(struct fd_dump_ctx *fc);


/* fd-inet.c */
const char *inet_refusal(int fd);	/* NULL: TCP, UDP, UDP-Lite */
struct inet_dump_state;
void inet_dump_state_free(struct inet_dump_state *st);
struct inet_dump_state **fd_dump_inet_state(struct fd_dump_ctx *fc);
/* Where established connections are held in repair, NULL: the dump was
 * not asked to dump them (--tcp-established). */
struct tcp_repair_hold *fd_dump_tcp_hold(struct fd_dump_ctx *fc);
/* What an FD_INET entry lacks to be made, or NULL. */
const char *inet_entry_lacks(const FdEntry *e, bool tcp_established);
/* restore --tcp-close: e, if a TCP connection, is made as a closed socket
 * (bound where it was, reading EOF, writing EPIPE), as CRIU's. */
void inet_entry_close(FdEntry *e);

#endif
