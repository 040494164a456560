/* SPDX-License-Identifier: GPL-2.0 */
#ifndef CRIU_LITE_RESTORE_H
#define CRIU_LITE_RESTORE_H

#include "cr.h"

struct restore_stats {
	uint64_t total_ns, load_ns, pid_wait_ns, fork_ns, mm_ns;
	uint64_t hold_ns;	/* migrate: held memory put in place */
	uint64_t verify_ns;	/* page checksums and --verify (within the above) */
	uint64_t pages_written;
	uint64_t pages_lazy;	/* left to the lazy-pages daemon */
	pid_t root_pid;
	/* the lazy-pages daemons (children of ours) left running, -d */
#define MAX_DAEMONS_RECORDED 64
	pid_t daemons[MAX_DAEMONS_RECORDED];
	unsigned nr_daemons;
};

/* Restores the tree in opts->dir. Images are all read and checked before
 * anything is created; on failure everything created is killed. Returns
 * 0 once the tree runs (-d) or the root's exit status encoded as
 * 0x100|status when waiting; -1 on failure. */
int restore_tree(const struct restore_opts *opts, struct restore_stats *st);

#endif
