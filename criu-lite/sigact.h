/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Signal dispositions of a process (rt_sigaction), dump and restore in one
 * room, as CRIU's sigact.c. Every disposition is recorded, SIG_DFL ones
 * too (with their flags: SA_NOCLDSTOP matters for a default SIGCHLD), and
 * restore sets each one, so nothing is inherited from the restoring
 * criu-lite (nohup's ignored SIGHUP).
 */
#ifndef CRIU_LITE_SIGACT_H
#define CRIU_LITE_SIGACT_H

#include "inject.h"
#include "task.pb-c.h"

/* Asked by rt_sigaction calls injected in the frozen target (scratch: a
 * page of it for the answers). 0 or -1 (logged). */
int dump_sigactions(struct remote *r, uint64_t scratch, TaskEntry *te);
void free_sigactions(TaskEntry *te);
/* Image check before anything is created: each entry names a signal
 * that has a disposition. 0 or -1 (logged). */
int check_sigactions(const TaskEntry *te);
/* In the puppet: every signal to SIG_DFL, then each recorded one (images
 * of older dumps list only caught and ignored signals). 0 or -1. */
int restore_sigactions(const TaskEntry *te);

#endif
