/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A lazily restored process must never run on a zero page that was not
 * zero when it was dumped. If its lazy-pages daemon died with pages still
 * missing, the kernel would drop the userfaultfd registration and the
 * process would read zeros. So the daemon traces the process' leader
 * with PTRACE_O_EXITKILL until every page is in: the daemon's death, by
 * any cause, SIGKILLs the process (its whole thread group). The daemon
 * lets every stop go at once (signals re-delivered, group stops kept by
 * PTRACE_LISTEN), and detaches when the last page is in.
 *
 * Hand-over: restore traces the process until it lets it run; then it
 * sends 'g' on the control socket and the daemon seizes the leader and
 * answers 'a' (attached), or 'd' if all pages were in already. No answer
 * means the daemon is gone: restore kills the process and fails.
 */
#ifndef CRIU_LITE_LAZY_GUARD_H
#define CRIU_LITE_LAZY_GUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct lazy_proc;

struct lazy_guard {
	int ctl;		/* the daemon's end of the control socket */
	bool attached;		/* the leaders are ours */
	bool answered;		/* 'a' or 'd' sent */
};

/* Daemon side, never blocks: the hand-over, and stops of the leaders. */
void guard_poll(struct lazy_guard *g, struct lazy_proc *procs, size_t nr);
/* Daemon side, all pages in: says 'd' if not attached yet, else detaches
 * every leader (they run on, untraced). */
void guard_release(struct lazy_guard *g, struct lazy_proc *procs, size_t nr);

/* Restore side, once the process runs: 0 when the daemon guards it (or
 * is done), -1 when it is gone (logged). */
int guard_hand_over(int ctl, pid_t daemon, pid_t pid);

#endif
