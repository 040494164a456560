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

#include "proc.h"

/* Addresses in a target that a self-restoring injection needs. */
struct inject_gadgets {
	uint64_t syscall_ret;	/* `syscall`, register clears, `ret` ([vdso]) */
	uint64_t sigreturn;	/* mov $15, %(e|r)ax; syscall (__restore_rt) */
};

/* Where a self-restoring thread is between calls. */
enum remote_state {
	REMOTE_FROZEN,		/* as frozen: nothing changed yet */
	REMOTE_INJECTED,	/* injected registers set, all signals blocked */
	REMOTE_AT_EXIT,		/* in a syscall-exit stop, resume regs set */
	REMOTE_FD_OPEN,		/* after remote_call_new_fd: left alone, the
				 * thread closes that fd, then rt_sigreturns */
};

struct remote {
	pid_t tid;
	uint64_t syscall_ip;	/* address of a 0f 05 in the tracee */
	struct user_regs_struct saved;
	bool regs_saved;
	/* Dump mode (remote_init_dump): a frame on the thread's stack lets
	 * it restore itself if criu-lite dies; see sigframe.h. */
	bool self_restoring;
	enum remote_state state;
	struct user_regs_struct resume;	/* saved, restart applied */
	uint64_t frame_sp;		/* rsp for injected calls */
	uint64_t area;			/* the stack area we wrote */
	uint8_t *area_orig;		/* its bytes before, put back at the end */
	size_t area_len;
	bool at_entry;			/* in a syscall-entry stop */
	void *xstate;			/* the thread's, for more frames */
	size_t xlen;
	uint64_t sigreturn_ip;
	uint64_t close_area;		/* the closing frame, below area */
	uint8_t *close_orig;
	size_t close_len;
	uint64_t close_frame;		/* its pretcode word */
	long open_fd;			/* REMOTE_FD_OPEN: that fd */
	uint64_t saved_mask;	/* the thread's signal mask, blocked-all while
				 * we inject (a signal must not be delivered
				 * into injected code, nor be lost) */
	uint64_t scratch;	/* scratch memory in the tracee, or 0 */
	size_t scratch_len;
	unsigned nr_calls;
	/* dump's plain fallback (remote_init_plain): put back in its
	 * interrupt stop with its own registers and mask after each call */
	bool park_between;
	unsigned nr_vmsplice;	/* of them, vmsplice or pwritev (fault points) */
	int last_event;		/* PTRACE_EVENT_* seen during the last call */
	unsigned long event_msg;	/* its PTRACE_GETEVENTMSG */
};

/* Saves tid's registers; syscall_ip is where a `syscall` insn is. For a
 * puppet being restored: criu-lite's death kills it (PTRACE_O_EXITKILL). */
int remote_init(struct remote *r, pid_t tid, uint64_t syscall_ip);

/*
 * A thread of a frozen tree being dumped where no self-restoring frame
 * fits (remote_init_dump's 1): between injected calls it is parked, back
 * in its interrupt stop with its own registers and signal mask, so that
 * criu-lite dying there leaves it as it was; during a call (registers
 * set, stepped) it would not be. Scratch for results: SIGFRAME_SCRATCH
 * bytes of its stack below the red zone (128 bytes under rsp, which the
 * ABI leaves to signal delivery), put back by remote_finish; none (0)
 * when that is not mapped writable.
 */
int remote_init_plain(struct remote *r, pid_t tid, uint64_t syscall_ip);

/*
 * For a thread of a frozen tree being dumped (seized with
 * PTRACE_O_TRACESYSGOOD): every injected call is made so that the thread
 * puts itself back exactly as it was if criu-lite dies at any moment,
 * SIGKILL included (sigframe.h). r->scratch is SIGFRAME_SCRATCH bytes of
 * the thread's stack below its red zone. Returns 1 if the thread can't
 * have that (no gadget, no room on its stack): nothing changed, the
 * caller may fall back to remote_init. 0: ready; -1: error.
 */
int remote_init_dump(struct remote *r, pid_t tid,
		     const struct inject_gadgets *g);
/*
 * An injected call that makes a new fd in the thread's fd table
 * (userfaultfd()), for criu-lite to take with pidfd_getfd. Until
 * remote_close_new_fd(), a thread left alone (criu-lite dead) closes fd
 * `expect` before it rt_sigreturns: the lowest free fd, which the call
 * takes since the whole tree is frozen. Plain injection: an ordinary call.
 */
long remote_call_new_fd(struct remote *r, int expect, long nr, long a1,
			long a2, long a3);
int remote_close_new_fd(struct remote *r, int fd);
/*
 * Between remote_call_new_fd and remote_close_new_fd: another call that
 * uses that fd (vmsplice into it), made so that the thread left alone
 * at any point of it still closes the fd before it rt_sigreturns. Plain
 * injection, or no fd open: an ordinary call. The result, or -EIO.
 */
long remote_call_keeping_fd(struct remote *r, long nr, long a1, long a2,
			    long a3, long a4);

/* Ends injection in tid: registers, mask and stack bytes as they were,
 * the thread back in its interrupt stop. For either kind of init. */
int remote_finish(struct remote *r);
/* The gadgets of a process, from its [vdso] and its executable mappings;
 * -1 (no message) if it has none. */
int find_inject_gadgets(pid_t pid, const struct vma_info *vmas, size_t n,
			struct inject_gadgets *g);
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

/*
 * Where to inject syscalls into pid (frozen, or a puppet): a `syscall` of
 * its [vdso]; for a process that unmapped its vDSO, one of a read-only
 * executable private file mapping (libc's first). *where names the
 * mapping. -1 with a message if there is none.
 */
int find_syscall_site(pid_t pid, const struct vma_info *vmas, size_t n,
		      uint64_t *ip, const char **where);

/* Waits for a ptrace stop of tid; returns the wait status or -1. */
int wait_stop(pid_t tid, int *status);

#endif
