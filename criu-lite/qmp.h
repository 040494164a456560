/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A minimal QMP client: enough to stop a guest before its QEMU process is
 * frozen and to continue it after restore. A process frozen from outside
 * keeps QEMU's clocks running, and the guest sees time jump (clocksource
 * watchdog, soft lockups); a guest stopped through QMP does not.
 */
#ifndef CRIU_LITE_QMP_H
#define CRIU_LITE_QMP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Runs one command ("stop", "cont", "query-status") on the QMP socket at
 * path; the "return" object is copied to reply (may be NULL). Returns 0,
 * or -1 with the reason logged. Waits at most timeout_ms for each step. */
int qmp_command(const char *path, const char *cmd, char *reply, size_t len,
		int timeout_ms);

/*
 * One command queued on a new connection before the other end can answer:
 * "qmp_capabilities" and cmd are written at once, without waiting for the
 * greeting (QMP answers commands in order). restore queues "cont" while
 * the restored QEMU is still stopped: it runs the command in its first
 * pass of the main loop, not after three round trips (greeting,
 * negotiation, cont). NULL if it can't be queued now (why: in the log
 * at -v3): qmp_command then. Queued, it can't be taken back: closing the
 * connection unanswered stops it only if QEMU has not accepted it yet.
 */
struct qmp_conn;
struct qmp_conn *qmp_queue(const char *path, const char *cmd, int timeout_ms);
/* The answers (the greeting, the negotiation, cmd's, its "return" object
 * into reply), each waited for timeout_ms at most (an event resets the
 * wait): 0, or -1 (logged); q is closed and freed either way. */
int qmp_queued_result(struct qmp_conn *q, char *reply, size_t len);

struct qmp_guard;

/* query-status, and "stop" if the VM runs, on one connection (the VM's
 * pause starts with it: one greeting and negotiation, not two), the
 * guard g (if not NULL) armed right before "stop": 1 stopped, 0 not
 * running (status holds query-status' answer), -1 (the reason logged). */
int qmp_stop_running(const char *path, char *status, size_t len,
		     int timeout_ms, struct qmp_guard *g);

/*
 * A VM criu-lite stopped must not stay stopped because criu-lite died
 * (SIGKILL, OOM kill, a crash) before it could continue it. The guard is a
 * tiny process of its own session, started before "stop": it waits on a
 * pipe and, if criu-lite goes away without dismissing it, sends "cont".
 *
 * In the criu-lite binary it is a fresh exec of it (QMP_GUARD_CMD), not a
 * fork: a fork of a migration's criu-lite shares its memory copy-on-write
 * for as long as the guard lives, so every buffer criu-lite then wrote
 * in the downtime was copied first (30-60 ms of the busy 2 GiB guest's
 * frozen dump here). A program using the library gets the fork.
 */
#define QMP_GUARD_CMD	"__qmp-guard"
/* Set by criu-lite's main: /proc/self/exe is criu-lite and runs
 * QMP_GUARD_CMD. */
extern bool qmp_guard_by_exec;
/* criu-lite __qmp-guard FD PATH: the guard's main (never returns). */
int qmp_guard_main(int argc, char **argv);
struct qmp_guard {
	pid_t pid;
	int fd;			/* our end of its pipe */
};

/* An idle guard, made early (a migration's, before its pre-copy) so
 * that its start is not in the downtime; qmp_guard_start arms it. 0, or
 * -1 (none: qmp_guard_start makes one). The path is the socket's
 * absolute path. */
int qmp_guard_prepare(struct qmp_guard *g, const char *path);
/* Before "stop": the guard armed (the prepared one, else a new one). */
int qmp_guard_start(struct qmp_guard *g, const char *path);
/* The VM's fate is settled (continued, or its QEMU killed): the guard
 * leaves without touching it. */
void qmp_guard_dismiss(struct qmp_guard *g);

#endif
