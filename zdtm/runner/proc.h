/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the runner reads about processes from /proc: the state of one
 * process, and a snapshot of a test's process tree to compare before a
 * checkpoint and after the restore.
 */
#ifndef ZDTM_RUNNER_PROC_H
#define ZDTM_RUNNER_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct proc_status {
	char state;		/* R, S, D, T, t, Z, X... */
	pid_t ppid;
	pid_t tracer;
	pid_t nspid_inner;	/* last NSpid field: the pid in its own ns */
	int nspid_levels;	/* number of NSpid fields */
};

/* Fills @st from /proc/@pid/status; -1 when the process does not exist. */
int proc_status(pid_t pid, struct proc_status *st);

/* Exists and is not a zombie. */
bool proc_alive(pid_t pid);

/* user + system time in clock ticks, or 0 when unreadable. */
unsigned long long proc_cpu_ticks(pid_t pid);

#define PROC_TREE_MAX		64
#define PROC_THREADS_MAX	64

struct proc_node {
	pid_t pid, ppid, pgid, sid;
	char comm[32];
	int nr_threads;
	pid_t tids[PROC_THREADS_MAX];	/* sorted */
};

/* A process and all its descendants, parents before children. */
struct proc_tree {
	int nr;
	struct proc_node nodes[PROC_TREE_MAX];
};

int proc_tree_snapshot(pid_t root, struct proc_tree *tree);

/*
 * Compares two snapshots: same pids, parents, groups, sessions, names and
 * thread ids.  On a difference returns false and says which in @why.
 */
bool proc_tree_equal(const struct proc_tree *was, const struct proc_tree *now,
		     char *why, size_t len);

/* Children of @parent (scan of /proc); returns how many were stored. */
int proc_children(pid_t parent, pid_t *pids, int max);

/*
 * A descendant of @ancestor whose pid in its innermost pid namespace is
 * @inner and that lives in a namespace below ours; 0 when there is none.
 */
pid_t proc_find_nspid(pid_t ancestor, pid_t inner);

#endif /* ZDTM_RUNNER_PROC_H */
