/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Threads: the state of each one (core-<tid>.img), read from the frozen
 * thread (ptrace regsets, the rseq and robust-list registrations, calls
 * injected in the thread for what only it can report) and given back to
 * a thread created in the puppet with clone3 under the same TID.
 */
#ifndef CRIU_LITE_THREADS_H
#define CRIU_LITE_THREADS_H

#include <sys/types.h>

#include "inject.h"
#include "core.pb-c.h"
#include "pstree.pb-c.h"

/*
 * Dump: fills ce (tid set by the caller) for the thread r is injecting
 * into (its registers and signal mask saved by the injection): registers,
 * xstate, signal mask, rseq, robust list, clear_child_tid, sigaltstack,
 * its pending signals (the process-wide queue with the leader, pid), its
 * name. scratch: target memory for injected answers. 0 or -1 (logged);
 * free_thread_core frees what it allocated, either way.
 */
int dump_thread_core(pid_t pid, struct remote *r, uint64_t scratch,
		     CoreEntry *ce);
void free_thread_core(CoreEntry *ce);

/*
 * Restore, in the puppet traced through leader: clone3 of every thread
 * but the leader under its TID (args_at: a page of the puppet for the
 * clone arguments), each stopped; htids[] gets their TIDs as we see them
 * and each is added to seized[]. 0 or -1 (logged).
 */
int create_threads(struct remote *leader, const PstreeEntry *pe,
		   uint64_t args_at, pid_t *htids, pid_t *seized,
		   size_t *nr_seized);
/* Kernel-side state the thread r must set for itself (robust list, tid
 * address, rseq, sigaltstack, name, pending signals; vpid: its process
 * as it sees itself). 0 or -1 (logged). */
int restore_thread_state(struct remote *r, pid_t vpid, uint64_t scratch,
			 const CoreEntry *ce);
/* Last: registers (a syscall interrupted at dump restarted as the kernel
 * would), xstate and signal mask. 0 or -1 (logged). */
int restore_thread_regs(pid_t tid, const CoreEntry *ce);

#endif
