/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Starting and waiting for the runner's children: test programs and
 * criu-lite.  The runner is PR_SET_CHILD_SUBREAPER, so a restored test,
 * orphaned when criu-lite exits, becomes its child again.
 */
#ifndef ZDTM_RUNNER_SPAWN_H
#define ZDTM_RUNNER_SPAWN_H

#include <sys/types.h>

/* The criu-lite run in progress, 0 when none: a signal handler may kill it. */
extern volatile pid_t spawn_tool_pid;

/*
 * Starts @bin in @workdir with stdin on /dev/null and stdout, stderr
 * appended to @log.  Returns the pid or -1.
 */
pid_t spawn_test(const char *bin, const char *workdir, const char *log);

/*
 * Runs @argv (argv[0] a path) with stdout and stderr in @out (truncated),
 * CRIU_LITE_FAULT set to @fault or unset when NULL.  Waits at most
 * @timeout_ms, then kills it.  Returns 0 with its wait status in *status,
 * -1 when it could not be started or timed out.
 */
int run_tool(char *const argv[], const char *fault, const char *out,
	     int timeout_ms, int *status);

/*
 * Waits for our child @pid at most @timeout_ms without stealing other
 * children's statuses.  Returns 0 (reaped, *status set), 1 (timeout) or
 * -1 (not our child).
 */
int wait_child(pid_t pid, int timeout_ms, int *status);

/* Kills every child of the runner that is still there, and reaps them. */
void reap_all_children(void);

/* "exited 3", "killed by signal 9 (Killed)" for a wait status. */
const char *status_str(int status, char *buf, int len);

void msleep(int ms);

#endif /* ZDTM_RUNNER_SPAWN_H */
