/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Credentials and capabilities. Dumped from /proc and libcap; restored by
 * syscalls injected as the very last privileged step, since dropping them
 * earlier would stop the puppet from finishing its own restore.
 */
#ifndef CRIU_LITE_CREDS_H
#define CRIU_LITE_CREDS_H

#include "inject.h"
#include "task.pb-c.h"

int dump_creds(pid_t pid, TaskEntry *te);
void free_creds(TaskEntry *te);
int restore_creds(struct remote *r, uint64_t scratch, const CredsEntry *ce);

#endif
