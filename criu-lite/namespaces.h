/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Namespaces of a dumped tree. Restore rebuilds UTS and IPC namespaces: a
 * new one wherever a process had one of its own (not its parent's; for
 * the root: not criu-lite's), with the recorded hostname and domainname,
 * and an empty IPC namespace (one holding SysV objects or POSIX message
 * queues is refused). Every other namespace a process is in must be
 * criu-lite's own (PID: the tree root's), or the dump is refused: nothing
 * is restored into a namespace other than the one it ran in.
 */
#ifndef CRIU_LITE_NAMESPACES_H
#define CRIU_LITE_NAMESPACES_H

#include <sys/types.h>

#include "cr.h"
#include "seize.h"
#include "task.pb-c.h"

/* Adds to rf every namespace of the tree that restore could not rebuild as
 * it was. Reads /proc only (and, for a new IPC namespace, lists its
 * objects from a helper process that enters it): the tree is not touched. */
int ns_check_tree(const struct frozen_tree *t, struct refusals *rf);

/* Records in te what restore needs for pid, whose parent is ppid (0: the
 * tree's root, whose parent at restore is criu-lite). */
int dump_ns(pid_t pid, pid_t ppid, TaskEntry *te);
void free_ns(TaskEntry *te);

/* Refuses (naming task-<pid>.img) an entry restore_ns could not apply. */
int check_ns_entry(const TaskEntry *te);

/* In the puppet, before its children are forked: new UTS and IPC
 * namespaces as recorded. 0 or -1 with errno. */
int restore_ns(const TaskEntry *te);

#endif
