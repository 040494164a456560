/* SPDX-License-Identifier: GPL-2.0 */
/*
 * File descriptors: one struct fd_ops per kind of object (fd-ops.h).
 * Dump takes a copy of each of the target's fds with pidfd_getfd and
 * describes it; restore recreates each object inside a puppet with
 * ordinary calls and moves it to its original number.
 *
 * Sharing. An open file description (OFD) held by several fds - dup'ed in
 * one process, or inherited across fork - is found at dump time with
 * kcmp(KCMP_FILE) and gets one ofd_id for the whole tree. On restore it is
 * created once, in the nearest common ancestor of its holders, before that
 * puppet forks its children, so that they inherit it. Objects made in one
 * go (both ends of a pipe, a socketpair, several opens of one memfd) count
 * as one: they are created together.
 */
#ifndef CRIU_LITE_FILES_H
#define CRIU_LITE_FILES_H

#include "cr.h"
#include "fdinfo.pb-c.h"

/* Checks every fd of pid, adding what can't be dumped to rf. tree: the
 * pids of the whole dumped tree, as we see them (objects such as pidfds
 * may only refer to those). */
int check_fds(pid_t pid, bool tcp_established, const pid_t *tree,
	      size_t nr_tree, struct refusals *rf);

/*
 * fd tables shared between processes (clone with CLONE_FILES and without
 * CLONE_THREAD): a child may share its parent's, as long as it has no
 * children itself; any other sharing goes into rf. 0 or -1 (logged).
 */
struct frozen_tree;
int check_fd_tables(const struct frozen_tree *t, struct refusals *rf);
/* Process i of the frozen tree shares its parent's fd table. */
bool fd_table_of_parent(const struct frozen_tree *t, size_t i);

/*
 * Dump. One context per dump of a tree: it remembers the open file
 * descriptions already described (and the sock_diag view of unix
 * sockets), so that each process's fdinfo-<pid>.img refers to objects the
 * processes share instead of describing them twice. Call dump_proc_fds for
 * each process in pstree order (parents first), while the whole tree is
 * frozen.
 */
struct fd_dump_ctx;
struct tcp_repair_hold;
/* tcp_hold: where established TCP connections are held in repair mode
 * (tcp-repair.h); NULL refuses them (no --tcp-established). */
struct fd_dump_ctx *fd_dump_begin(int dirfd, struct tcp_repair_hold *tcp_hold);
/* Writes fdinfo-<pid>.img. 0 or -1 (logged). */
/* pid: as we see it; vpid: as the tree sees it (names the image) */
int dump_proc_fds(struct fd_dump_ctx *fc, pid_t pid, pid_t vpid);
void fd_dump_end(struct fd_dump_ctx *fc);
/* One process on its own context: nothing is found shared with others. */
int dump_fds(pid_t pid, int dirfd);

/*
 * Restore. The tree as the fd code sees it; procs[] in pstree order
 * (parents before children), each process's fds as read from its image.
 * keep_at: the fd every puppet keeps (above all restored numbers); objects
 * are parked at keep_at + 1 + k (k < total OFDs of the tree) while they are
 * made, so RLIMIT_NOFILE must leave room for that plus a few.
 */
struct fd_proc {
	FdEntry **fds;
	size_t nr_fds;
	int parent;		/* index of its parent in procs[], -1: root */
};

struct fd_tree {
	const struct fd_proc *procs;
	size_t nr;
	int keep_at;
	int dirfd;		/* the images (ghost files are read from it) */
	pid_t restorer;		/* criu-lite's pid (its namespaces) */
};

/* Before anything is created: every entry that carries an open file
 * description has what opening it needs (a file's path, ...). pids[i]
 * names procs[i]'s image in the message. 0 or -1 (logged). */
int check_fd_images(const struct fd_tree *t, const unsigned *pids,
		    bool tcp_established);
/* restore --tcp-close: every TCP connection of the images is made as a
 * closed socket instead. */
void close_tcp_connections(const struct fd_tree *t);

/*
 * In puppet idx, before it forks its children: creates the objects that
 * idx is the nearest common ancestor of the holders of, when they are held
 * by more than one process, and parks them; the children inherit them.
 * 0 or -1 (logged).
 */
int restore_fds_prefork(const struct fd_tree *t, size_t idx);

/*
 * In puppet idx, after its children are forked: creates its own objects,
 * moves every fd it held to its number and closes everything else but
 * keep_at (criu-lite's own fds, and inherited objects only children
 * needed). Then the steps that need fds at their final numbers (epoll
 * watches). 0 or -1 (logged).
 */
int restore_fds(const struct fd_tree *t, size_t idx);

/*
 * In criu-lite, just before the restored process pid runs again: re-arms
 * its timerfds with the remaining time they had at dump, so that the time
 * restore took is not counted against them (they were armed in the puppet
 * already, so calling this is a refinement, not a requirement).
 */
/* In the puppet, its fds at their numbers: back into cwd, also a removed
 * directory ("path (deleted)"). 0 or -1 (logged). */
int restore_cwd(const char *cwd, FdEntry **fds, size_t n);

int restore_fds_late(pid_t pid, FdEntry **fds, size_t n);

#endif
