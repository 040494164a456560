/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The memory tracker: a small process that keeps a tree's write tracking
 * alive from one criu-lite invocation to the next (pre-dump, pre-dump
 * --prev-images-dir, ..., dump --prev-images-dir --track-mem).
 *
 * uffd-wp tracking lives exactly as long as its userfaultfd (dirty.h), so
 * a pre-dump that exits would end it. Instead, once its layer is in DIR,
 * a pre-dump forks a tracker that holds the userfaultfds, listens on
 * DIR/tracker.sock and does nothing else. The next invocation that names
 * DIR as its parent connects, says which tree and which layer it wants
 * the tracking of, and gets the fds (SCM_RIGHTS) with the tracked ranges;
 * the tracker then exits. The fds never leave criu-lite's own processes.
 *
 * A tracker exits, which makes the kernel drop the tracking (the target
 * runs on untouched), when its tracking is taken; when the tree's root
 * exits; when DIR or its socket is removed or replaced; on SIGTERM; and
 * after its timeout. Whoever then finds no tracker copies everything: a
 * missing tracker costs time, never correctness.
 */
#ifndef CRIU_LITE_MEM_TRACKER_H
#define CRIU_LITE_MEM_TRACKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "dirty.h"
#include "image.h"

#define TRACKER_SOCK		"tracker.sock"

/* One process whose writes are tracked. */
struct tracked_proc {
	pid_t pid;		/* as criu-lite sees it */
	uint64_t start_time;	/* /proc/PID/stat: the same process, not a
				 * new one under a reused pid */
	int uffd;		/* -1 for a backend without one (soft-dirty) */
	struct dirty_range *ranges;	/* as the tracker registered them */
	size_t nr_ranges;
};

/* The tracking of one tree, as handed from one invocation to the next. */
struct tracking {
	char backend[16];	/* dirty_tracker_ops.name */
	uint8_t layer_id[IMG_LAYER_ID_LEN];	/* writes since this layer */
	pid_t root;
	struct tracked_proc *procs;
	size_t nr;
};

/*
 * Forks the tracker of t into DIR (t's fds are duplicated into it; the
 * caller still closes its own). Returns once it listens, with its pid in
 * *pid, or -1 (logged) if it could not start.
 */
int tracker_spawn(const char *dir, const struct tracking *t,
		  unsigned timeout_s, pid_t *pid);

/*
 * Takes the tracking of root's tree since layer layer_id from DIR's
 * tracker, which then exits (its own fds closed before this returns).
 * 0: *t filled (free with tracking_free); 1: no tracking to take, why
 * says so in words (no tracker, gone, another tree or layer); -1: error.
 */
int tracker_take(const char *dir, pid_t root,
		 const uint8_t layer_id[IMG_LAYER_ID_LEN], struct tracking *t,
		 char *why, size_t len);

/* The process pid of t, if it is the same process (start time), or NULL. */
struct tracked_proc *tracking_find(struct tracking *t, pid_t pid);
/* Closes every fd still in t and frees it. */
void tracking_free(struct tracking *t);

/* /proc/PID/stat's start time; -1 if there is no such process. */
int proc_start_time(pid_t pid, uint64_t *start);

#endif
