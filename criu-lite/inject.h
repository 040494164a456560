/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Running system calls inside a ptrace-stopped thread, from outside.
 *
 * The thread's registers are saved, rip is pointed at a `syscall`
 * instruction that already exists in its address space (one in [vdso] when
 * dumping, the restore gadget page when restoring), the arguments are
 * loaded and the thread is single-stepped over that one instruction. The
 * kernel reports the step as a SIGTRAP after the syscall returns; rax holds
 * the result. orig_rax is set to -1 so the kernel's syscall-restart logic
 * never rewrites rip/rax when the thread resumes. The caller restores the
 * saved registers when done (remote_restore_regs).
 */
#ifndef CRIU_LITE_INJECT_H
#define CRIU_LITE_INJECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/user.h>

struct remote {
	pid_t tid;
	uint64_t syscall_ip;	/* address of a 0f 05 in the tracee */
	struct user_regs_struct saved;
	bool regs_saved;
	uint64_t saved_mask;	/* the thread's signal mask, blocked-all while
				 * we inject (a signal must not be delivered
				 * into injected code, nor be lost) */
	uint64_t scratch;	/* scratch memory in the tracee, or 0 */
	size_t scratch_len;
	unsigned nr_calls;
	int last_event;		/* PTRACE_EVENT_* seen during the last call */
	unsigned long event_msg;	/* its PTRACE_GETEVENTMSG */
};

/* Saves tid's registers; syscall_ip is where a `syscall` insn is. */
int remote_init(struct remote *r, pid_t tid, uint64_t syscall_ip);
/* Runs nr(args) in the tracee; returns the raw result (-errno on error)
 * or, if the tracee could not be driven, sets *failed. */
long remote_syscall(struct remote *r, bool *failed, long nr, long a1,
		    long a2, long a3, long a4, long a5, long a6);
int remote_restore_regs(struct remote *r);
/* remote_syscall folding "could not drive the tracee" into -EIO. */
long rcall(struct remote *r, long nr, long a1, long a2, long a3, long a4,
	   long a5, long a6);

/* Copy to/from the tracee's memory (process_vm_writev / readv, falling
 * back to /proc/PID/mem for pages without the needed protection). */
int remote_write(pid_t pid, uint64_t addr, const void *buf, size_t len);
int remote_read(pid_t pid, uint64_t addr, void *buf, size_t len);

/* Finds a `syscall` instruction inside [start, end) of pid's memory. */
int find_syscall_insn(pid_t pid, uint64_t start, uint64_t end, uint64_t *ip);

/* Waits for a ptrace stop of tid; returns the wait status or -1. */
int wait_stop(pid_t tid, int *status);

#endif
