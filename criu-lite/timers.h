/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Interval timers (setitimer) and POSIX timers (timer_create) of a process:
 * read by syscalls injected in the frozen target, recreated the same way
 * in the puppet with the same timer IDs.
 */
#ifndef CRIU_LITE_TIMERS_H
#define CRIU_LITE_TIMERS_H

#include "inject.h"
#include "task.pb-c.h"

int dump_timers(struct remote *r, uint64_t scratch, TaskEntry *te);
void free_timers(TaskEntry *te);
int restore_timers(struct remote *r, uint64_t scratch, const TaskEntry *te);

#endif
