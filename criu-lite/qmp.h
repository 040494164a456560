/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A minimal QMP client: enough to stop a guest before its QEMU process is
 * frozen and to continue it after restore. A process frozen from outside
 * keeps QEMU's clocks running, and the guest sees time jump (clocksource
 * watchdog, soft lockups); a guest stopped through QMP does not.
 */
#ifndef CRIU_LITE_QMP_H
#define CRIU_LITE_QMP_H

#include <stddef.h>

/* Runs one command ("stop", "cont", "query-status") on the QMP socket at
 * path; the "return" object is copied to reply (may be NULL). Returns 0,
 * or -1 with the reason logged. Waits at most timeout_ms for each step. */
int qmp_command(const char *path, const char *cmd, char *reply, size_t len,
		int timeout_ms);

#endif
