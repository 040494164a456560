/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Resource limits of a process: asked inside the target (prlimit() from
 * outside needs CAP_SYS_RESOURCE once the target runs under other uids),
 * set again with prlimit() from criu-lite before the process runs.
 */
#ifndef CRIU_LITE_RLIMITS_H
#define CRIU_LITE_RLIMITS_H

#include <sys/types.h>

#include "inject.h"
#include "task.pb-c.h"

/* Every RLIM_NLIMITS limit by injected prlimit64. 0 or -1 (logged). */
int dump_rlimits(struct remote *r, uint64_t scratch, TaskEntry *te);
void free_rlimits(TaskEntry *te);
/* On the restored process pid (as we see it); a limit that can't be set
 * is warned about, not fatal. */
void restore_rlimits(pid_t pid, const TaskEntry *te);

#endif
