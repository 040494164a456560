/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Process-wide settings that only the process can be asked about and
 * that an ordinary call sets again: whether it is a child subreaper
 * (PR_SET_CHILD_SUBREAPER: orphans of its subtree become its children),
 * and which membarrier commands it registered for (without the
 * registration, MEMBARRIER_CMD_PRIVATE_EXPEDITED fails with EPERM).
 */
#ifndef CRIU_LITE_TASK_STATE_H
#define CRIU_LITE_TASK_STATE_H

#include "inject.h"
#include "task.pb-c.h"

/* Asked by calls injected in the frozen target; 0 or -1 (logged). */
int dump_task_state(struct remote *r, uint64_t scratch, TaskEntry *te);
/* In the puppet (its mm is the one the process gets back), before it
 * forks its children. 0 or -1 (logged). */
int restore_task_state_early(const TaskEntry *te);

#endif
