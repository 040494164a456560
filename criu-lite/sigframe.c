// SPDX-License-Identifier: GPL-2.0
/* The self-restoring frame of sigframe.h: layout and contents. */
#include <errno.h>
#include <string.h>

#include "kernel-compat.h"
#include "sigframe.h"

/* The kernel's x86-64 struct sigcontext and struct ucontext (uapi). */
struct k_sigcontext {
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t di, si, bp, bx, dx, ax, cx, sp, ip, flags;
	uint16_t cs, gs, fs, ss;
	uint64_t err, trapno, oldmask, cr2;
	uint64_t fpstate;
	uint64_t reserved1[8];
};

struct k_ucontext {
	uint64_t uc_flags;
	uint64_t uc_link;
	uint64_t ss_sp;
	int32_t ss_flags;
	int32_t ss_pad;
	uint64_t ss_size;
	struct k_sigcontext mc;
	uint64_t sigmask;
};

/* what rt_sigreturn reads: sp - 8 points at it */
struct k_rt_sigframe {
	uint64_t pretcode;
	struct k_ucontext uc;
	uint8_t info[128];
};

_Static_assert(sizeof(struct k_sigcontext) == 256, "sigcontext layout");
_Static_assert(sizeof(struct k_ucontext) == 304, "ucontext layout");

#define UC_FP_XSTATE		0x1
#define UC_SIGCONTEXT_SS	0x2
#define UC_STRICT_RESTORE_SS	0x4
#define FP_XSTATE_MAGIC1	0x46505853u
#define FP_XSTATE_MAGIC2	0x46505845u
#define FX_SW_OFF		464	/* sw_reserved in the fxsave area */
#define FX_SIZE			512
#define XSAVE_HDR_SIZE		64
/* ss_flags that do_sigaltstack() refuses with EINVAL, which rt_sigreturn
 * ignores: the thread's alternate stack stays as it is, whatever it is */
#define SS_LEAVE_ALONE		3

/* struct _fpx_sw_bytes, which the kernel checks before it restores the
 * extended state from a frame (else it restores only x87/SSE) */
struct fx_sw_bytes {
	uint32_t magic1;
	uint32_t extended_size;
	uint64_t xfeatures;
	uint32_t xstate_size;
	uint32_t padding[7];
};

void sigframe_place(uint64_t sp, size_t xlen, struct sigframe_layout *l)
{
	sigframe_place_below(sp - SIGFRAME_RED_ZONE, xlen, l);
}

void sigframe_place_below(uint64_t top, size_t xlen, struct sigframe_layout *l)
{
	uint64_t fp = (top - (xlen + 4)) & ~63ULL;	/* XRSTOR: 64-aligned */

	l->frame = (fp - sizeof(struct k_rt_sigframe)) & ~63ULL;
	l->scratch = l->frame - SIGFRAME_SCRATCH;
	l->base = l->scratch;
	l->len = top - l->base;
}

void syscall_restart_regs(struct user_regs_struct *regs,
			  enum restart_block_as rb)
{
	if ((long)regs->orig_rax >= 0) {
		switch ((long)regs->rax) {
		case -ERESTARTSYS:
		case -ERESTARTNOINTR:
		case -ERESTARTNOHAND:
			regs->rax = regs->orig_rax;
			regs->rip -= 2;
			break;
		case -ERESTART_RESTARTBLOCK:
			if (rb == RESTART_BLOCK_EINTR) {
				regs->rax = -EINTR;
			} else {
				regs->rax = regs->orig_rax;
				regs->rip -= 2;
			}
			break;
		}
	}
	regs->orig_rax = -1;
}

void sigframe_resume_regs(const struct user_regs_struct *saved,
			  struct user_regs_struct *resume)
{
	*resume = *saved;
	syscall_restart_regs(resume, RESTART_BLOCK_AGAIN);
}

static void fill_sigcontext(struct k_sigcontext *mc,
			    const struct user_regs_struct *r)
{
	mc->r8 = r->r8, mc->r9 = r->r9, mc->r10 = r->r10, mc->r11 = r->r11;
	mc->r12 = r->r12, mc->r13 = r->r13, mc->r14 = r->r14;
	mc->r15 = r->r15;
	mc->di = r->rdi, mc->si = r->rsi, mc->bp = r->rbp, mc->bx = r->rbx;
	mc->dx = r->rdx, mc->ax = r->rax, mc->cx = r->rcx, mc->sp = r->rsp;
	mc->ip = r->rip, mc->flags = r->eflags;
	mc->cs = r->cs, mc->ss = r->ss;
}

/* ptrace's NT_X86_XSTATE has XCR0 in the first word of sw_reserved and no
 * magic; a signal frame wants the magic, the sizes and the trailer. */
static int fill_fpstate(uint8_t *fp, const void *xstate, size_t xlen)
{
	struct fx_sw_bytes sw = { 0 };
	uint32_t magic2 = FP_XSTATE_MAGIC2;

	if (xlen < FX_SIZE + XSAVE_HDR_SIZE)
		return -1;
	memcpy(fp, xstate, xlen);
	memcpy(&sw.xfeatures, fp + FX_SW_OFF, sizeof(sw.xfeatures));
	if (!sw.xfeatures)
		return -1;
	sw.magic1 = FP_XSTATE_MAGIC1;
	sw.xstate_size = xlen;
	sw.extended_size = xlen + sizeof(magic2);
	memcpy(fp + FX_SW_OFF, &sw, sizeof(sw));
	memcpy(fp + xlen, &magic2, sizeof(magic2));
	return 0;
}

int sigframe_build(uint8_t *buf, const struct sigframe_layout *l,
		   const struct user_regs_struct *resume, uint64_t sigmask,
		   const void *xstate, size_t xlen, uint64_t sigreturn_ip)
{
	uint64_t fp_at = l->frame + sizeof(struct k_rt_sigframe);
	struct k_rt_sigframe f;

	fp_at = (fp_at + 63) & ~63ULL;
	if (fp_at + xlen + 4 > l->base + l->len)
		return -1;
	memset(buf, 0, l->len);
	if (fill_fpstate(buf + (fp_at - l->base), xstate, xlen))
		return -1;
	memset(&f, 0, sizeof(f));
	f.pretcode = sigreturn_ip;
	f.uc.uc_flags = UC_FP_XSTATE | UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS;
	f.uc.ss_flags = SS_LEAVE_ALONE;
	fill_sigcontext(&f.uc.mc, resume);
	f.uc.mc.fpstate = fp_at;
	f.uc.sigmask = sigmask;
	memcpy(buf + (l->frame - l->base), &f, sizeof(f));
	return 0;
}
