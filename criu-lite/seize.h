/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Freezing a process tree from outside: every thread PTRACE_SEIZE'd and
 * PTRACE_INTERRUPT'ed, re-listing /proc/PID/task until no new thread shows
 * up, then the children of each frozen process the same way. Releasing
 * either detaches every thread (they run on as if nothing happened) or
 * kills the tree.
 */
#ifndef CRIU_LITE_SEIZE_H
#define CRIU_LITE_SEIZE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct frozen_proc {
	pid_t pid, ppid, pgid, sid;	/* as criu-lite sees them */
	pid_t *tids;		/* leader first */
	size_t nr_threads;
	/* as the tree sees them, in its own PID namespace (what the images
	 * record); equal to the above when the tree lives in ours */
	pid_t vpid, vpgid, vsid;
	pid_t *vtids;
	bool zombie;		/* dead, not reaped: nothing to seize */
	int exit_code;		/* its wait status */
	char comm[64];
};

struct frozen_tree {
	struct frozen_proc *procs;	/* parents before children */
	size_t nr;
	uint64_t freeze_ns;		/* time to stop everything */
};

int freeze_tree(pid_t root, struct frozen_tree *t);
/* Detach every thread; they continue (kill == false) or die (true). */
void release_tree(struct frozen_tree *t, bool kill);
void free_tree(struct frozen_tree *t);

uint64_t now_ns(void);

#endif
