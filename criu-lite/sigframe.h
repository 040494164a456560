/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A signal frame that puts a thread back as it was, for injection during a
 * dump that survives the death of criu-lite (SIGKILL, OOM, a crash).
 *
 * When the tracer of a ptrace-stopped thread dies, the kernel detaches the
 * thread and lets it run with whatever registers it holds at that moment.
 * A dump that injects syscalls would leave the thread with the injected
 * registers. So, before the first injected call, this frame is written
 * below the red zone of the thread's own stack: an rt_sigframe whose
 * ucontext holds the thread's registers (with the syscall restart the
 * kernel would do), its signal mask and its xstate. Each injected call
 * runs at a `syscall` of the [vdso] that is followed only by register
 * clears and `ret`; rsp points at the frame, whose first word (pretcode)
 * is the address of an `rt_sigreturn` sequence of the target (glibc's and
 * musl's __restore_rt). Alive, criu-lite stops the thread at the end of
 * the syscall and puts its registers back itself; dead, the thread goes
 * on: `ret` into rt_sigreturn, which restores everything from the frame.
 */
#ifndef CRIU_LITE_SIGFRAME_H
#define CRIU_LITE_SIGFRAME_H

#include <stddef.h>
#include <stdint.h>
#include <sys/user.h>

#define SIGFRAME_RED_ZONE	128
#define SIGFRAME_SCRATCH	512	/* results of injected calls */

struct sigframe_layout {
	uint64_t base;		/* lowest address of the area used */
	size_t len;		/* up to the red zone */
	uint64_t scratch;	/* SIGFRAME_SCRATCH bytes for results */
	uint64_t frame;		/* rsp for injected calls: the pretcode word */
};

/* Where the frame goes below sp, for an xstate of xlen bytes. */
void sigframe_place(uint64_t sp, size_t xlen, struct sigframe_layout *l);
/* Same, right below top (a frame under another one, no red zone). */
void sigframe_place_below(uint64_t top, size_t xlen, struct sigframe_layout *l);

/*
 * Fills buf (l->len bytes, the image of [l->base, l->base + l->len)) with
 * the frame: rt_sigreturn from it resumes `resume` with `sigmask` and the
 * xstate (the NT_X86_XSTATE regset as ptrace gives it). Returns 0, or -1
 * if the xstate is not usable as a signal frame's.
 */
int sigframe_build(uint8_t *buf, const struct sigframe_layout *l,
		   const struct user_regs_struct *resume, uint64_t sigmask,
		   const void *xstate, size_t xlen, uint64_t sigreturn_ip);

/* What an interrupted call whose restart state lives in the kernel task
 * (-ERESTART_RESTARTBLOCK: nanosleep, poll with a timeout) becomes. */
enum restart_block_as {
	RESTART_BLOCK_AGAIN,	/* the call again, with its own arguments */
	RESTART_BLOCK_EINTR,	/* -EINTR (a restored task has no such state) */
};

/* regs made to continue as the kernel would after a stop with no handler
 * run: an interrupted syscall restarted (rax = the call, rip back over
 * `syscall`), orig_rax = -1 so nothing rewrites them again on resume. */
void syscall_restart_regs(struct user_regs_struct *regs,
			  enum restart_block_as rb);

/* The registers a self-restoring thread continues with if nothing else
 * happens: saved, restarted (RESTART_BLOCK_AGAIN: rt_sigreturn resets the
 * restart block, so restart_syscall would return EINTR). */
void sigframe_resume_regs(const struct user_regs_struct *saved,
			  struct user_regs_struct *resume);

#endif
