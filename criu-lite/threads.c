// SPDX-License-Identifier: GPL-2.0
/*
 * Threads (threads.h): dump and restore of each thread's own state.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <elf.h>
#include <unistd.h>

#include "kernel-compat.h"
#include "log.h"
#include "proc.h"
#include "sigframe.h"
#include "threads.h"

#define XSTATE_MAX	(64 * 1024)

/* ---- dump ---- */

static int dump_xstate(pid_t tid, CoreEntry *ce)
{
	struct iovec iov;

	ce->xstate.data = malloc(XSTATE_MAX);
	if (!ce->xstate.data)
		return -1;
	iov.iov_base = ce->xstate.data;
	iov.iov_len = XSTATE_MAX;
	if (ptrace(PTRACE_GETREGSET, tid, NT_X86_XSTATE, &iov)) {
		pr_perror("PTRACE_GETREGSET(%d, NT_X86_XSTATE)", tid);
		return -1;
	}
	ce->xstate.len = iov.iov_len;
	return 0;
}

static int dump_pending(pid_t tid, bool shared, CoreEntry *ce)
{
	struct { uint64_t off; uint32_t flags; int32_t nr; } args;
	uint8_t si[128];

	for (uint64_t off = 0;; off++) {
		SiginfoEntry *se;
		long n;

		args.off = off;
		args.flags = shared ? 1 : 0;	/* PTRACE_PEEKSIGINFO_SHARED */
		args.nr = 1;
		n = ptrace(PTRACE_PEEKSIGINFO, tid, &args, si);
		if (n < 0) {
			pr_perror("PTRACE_PEEKSIGINFO(%d)", tid);
			return -1;
		}
		if (n == 0)
			return 0;
		se = malloc(sizeof(*se));
		if (!se)
			return -1;
		siginfo_entry__init(se);
		se->siginfo.data = malloc(sizeof(si));
		if (!se->siginfo.data)
			return -1;
		memcpy(se->siginfo.data, si, sizeof(si));
		se->siginfo.len = sizeof(si);
		se->shared = shared;
		ce->pending = realloc(ce->pending, (ce->n_pending + 1) *
				      sizeof(*ce->pending));
		if (!ce->pending)
			return -1;
		ce->pending[ce->n_pending++] = se;
	}
}

/* Thread state only the thread itself can report: injected in it. */
static int dump_thread_injected(struct remote *r, uint64_t scratch,
				CoreEntry *ce)
{
	uint64_t tidaddr;
	struct { uint64_t sp; int32_t flags; int32_t pad; uint64_t size; } ss;
	long ret;

	ret = rcall(r, __NR_prctl, PR_GET_TID_ADDRESS, scratch, 0, 0, 0, 0);
	if (ret < 0 || remote_read(r->tid, scratch, &tidaddr, 8)) {
		pr_err("thread %d: PR_GET_TID_ADDRESS failed (%ld)", r->tid, ret);
		return -1;
	}
	ce->has_clear_tid = true;
	ce->clear_tid = tidaddr;
	ret = rcall(r, __NR_sigaltstack, 0, scratch, 0, 0, 0, 0);
	if (ret < 0 || remote_read(r->tid, scratch, &ss, sizeof(ss))) {
		pr_err("thread %d: sigaltstack failed (%ld)", r->tid, ret);
		return -1;
	}
	if (!(ss.flags & SS_DISABLE)) {
		ce->sas = malloc(sizeof(*ce->sas));
		if (!ce->sas)
			return -1;
		sigaltstack_entry__init(ce->sas);
		ce->sas->sp = ss.sp;
		ce->sas->flags = ss.flags & ~SS_ONSTACK;
		ce->sas->size = ss.size;
	}
	return 0;
}

int dump_thread_core(pid_t pid, struct remote *r, uint64_t scratch,
		     CoreEntry *ce)
{
	struct user_regs_struct *regs = malloc(sizeof(*regs));
	struct cl_rseq_config rc;
	pid_t tid = r->tid;
	uint64_t head, len;
	char *comm;

	if (!regs)
		return -1;
	*regs = r->saved;
	ce->regs.data = (uint8_t *)regs;
	ce->regs.len = sizeof(*regs);
	if (dump_xstate(tid, ce))
		return -1;
	/* the mask as it was: injection blocks everything meanwhile */
	ce->sigmask = r->saved_mask;
	if (ptrace(PTRACE_GET_RSEQ_CONFIGURATION, tid, sizeof(rc), &rc) > 0 &&
	    rc.rseq_abi_pointer) {
		ce->has_rseq_addr = ce->has_rseq_len = ce->has_rseq_sig = true;
		ce->rseq_addr = rc.rseq_abi_pointer;
		ce->rseq_len = rc.rseq_abi_size;
		ce->rseq_sig = rc.signature;
	}
	if (syscall(SYS_get_robust_list, tid, &head, &len) == 0) {
		ce->has_robust_list = ce->has_robust_len = true;
		ce->robust_list = head;
		ce->robust_len = len;
	}
	if (dump_thread_injected(r, scratch, ce) || dump_pending(tid, false, ce))
		return -1;
	/* the process-wide queue goes with the leader */
	if (tid == pid && dump_pending(tid, true, ce))
		return -1;
	comm = proc_read_file("/proc/%d/task/%d/comm", pid, tid);
	if (comm) {
		comm[strcspn(comm, "\n")] = 0;
		ce->comm = comm;
	}
	errno = 0;
	ce->nice = getpriority(PRIO_PROCESS, tid);
	ce->has_nice = !errno;
	return 0;
}

void free_thread_core(CoreEntry *ce)
{
	free(ce->regs.data);
	free(ce->xstate.data);
	free(ce->comm);
	for (size_t i = 0; i < ce->n_pending; i++) {
		free(ce->pending[i]->siginfo.data);
		free(ce->pending[i]);
	}
	free(ce->pending);
	free(ce->sas);
}

/* ---- restore ---- */

int create_threads(struct remote *leader, const PstreeEntry *pe,
		   uint64_t args_at, pid_t *htids, pid_t *seized,
		   size_t *nr_seized)
{
	uint64_t tid_at = args_at + 256;

	for (size_t t = 1; t < pe->n_threads; t++) {
		pid_t tid = pe->threads[t];
		struct clone_args_abi ca = {
			.flags = CLONE_VM | CLONE_FS | CLONE_FILES |
				 CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM,
			.set_tid = tid_at,
			.set_tid_size = 1,
		};
		int status;
		long ret;

		if (remote_write(leader->tid, tid_at, &tid, sizeof(tid)) ||
		    remote_write(leader->tid, args_at, &ca, sizeof(ca)))
			return -1;
		/* a TID can be held a moment longer, as for clone_with_pid */
		for (int i = 0; i < 200; i++) {
			ret = rcall(leader, __NR_clone3, args_at, sizeof(ca), 0, 0,
				    0, 0);
			if (ret != -EEXIST)
				break;
			usleep(10000);
		}
		if (ret != tid) {
			pr_err("restore %u: clone3 of thread %d gave %ld",
			       pe->pid, tid, ret);
			return -1;
		}
		/* the kernel reports the new thread's TID as we see it */
		if (leader->last_event != PTRACE_EVENT_CLONE) {
			pr_err("restore %u: no clone event for thread %d",
			       pe->pid, tid);
			return -1;
		}
		htids[t] = leader->event_msg;
		seized[(*nr_seized)++] = htids[t];
		if (wait_stop(htids[t], &status) || !WIFSTOPPED(status)) {
			pr_err("restore %u: new thread %d did not stop",
			       pe->pid, tid);
			return -1;
		}
	}
	return 0;
}

/* Kernel-side thread state that only the thread can set for itself. */
int restore_thread_state(struct remote *r, pid_t vpid, uint64_t scratch,
			 const CoreEntry *ce)
{
	if (ce->has_robust_list && ce->robust_list)
		RSYS_OK(rcall(r, __NR_set_robust_list, ce->robust_list,
			     ce->robust_len, 0, 0, 0, 0),
			"thread %u: set_robust_list", ce->tid);
	if (ce->has_clear_tid)
		rcall(r, __NR_set_tid_address, ce->clear_tid, 0, 0, 0, 0, 0);
	if (ce->has_rseq_addr && ce->rseq_addr)
		RSYS_OK(rcall(r, __NR_rseq, ce->rseq_addr, ce->rseq_len, 0,
			     ce->rseq_sig, 0, 0), "thread %u: rseq", ce->tid);
	if (ce->sas) {
		struct { uint64_t sp; int32_t flags; int32_t pad; uint64_t size; }
			ss = { ce->sas->sp, (int32_t)ce->sas->flags, 0,
			       ce->sas->size };

		if (remote_write(r->tid, scratch, &ss, sizeof(ss)))
			return -1;
		RSYS_OK(rcall(r, __NR_sigaltstack, scratch, 0, 0, 0, 0, 0),
			"thread %u: sigaltstack", ce->tid);
	}
	/* its own, not the restoring criu-lite's (a thread inherits it) */
	if (ce->has_nice && setpriority(PRIO_PROCESS, r->tid, ce->nice)) {
		pr_perror("thread %u: setpriority %d", ce->tid, ce->nice);
		return -1;
	}
	if (ce->comm) {
		char name[16] = { 0 };

		snprintf(name, sizeof(name), "%s", ce->comm);
		if (!remote_write(r->tid, scratch, name, sizeof(name)))
			rcall(r, __NR_prctl, PR_SET_NAME, scratch, 0, 0, 0, 0);
	}
	for (size_t i = 0; i < ce->n_pending; i++) {
		const SiginfoEntry *se = ce->pending[i];
		int sig = *(const int32_t *)se->siginfo.data;

		if (remote_write(r->tid, scratch, se->siginfo.data,
				 se->siginfo.len))
			return -1;
		/* queued by the process to itself: any si_code is accepted */
		if (se->shared)
			RSYS_OK(rcall(r, __NR_rt_sigqueueinfo, vpid, sig,
				     scratch, 0, 0, 0),
				"process %u: requeue shared signal %d",
				vpid, sig);
		else
			RSYS_OK(rcall(r, __NR_rt_tgsigqueueinfo, vpid,
				     ce->tid, sig, scratch, 0, 0),
				"thread %u: requeue signal %d", ce->tid, sig);
	}
	return 0;
}

/*
 * A thread frozen inside a syscall shows rax = -ERESTART* and orig_rax =
 * the syscall. Resume it as the kernel would after a signal without a
 * handler: re-execute the syscall, except after -ERESTART_RESTARTBLOCK
 * (nanosleep and friends), whose restart state stayed with the dumped
 * kernel task: that one returns -EINTR, as CRIU does.
 */
int restore_thread_regs(pid_t tid, const CoreEntry *ce)
{
	struct user_regs_struct regs;
	struct iovec iov = { ce->xstate.data, ce->xstate.len };
	uint64_t mask = ce->sigmask;

	memcpy(&regs, ce->regs.data, sizeof(regs));
	syscall_restart_regs(&regs, RESTART_BLOCK_EINTR);
	if (ptrace(PTRACE_SETREGS, tid, NULL, &regs)) {
		pr_perror("PTRACE_SETREGS(%d)", tid);
		return -1;
	}
	if (ce->xstate.len && ptrace(PTRACE_SETREGSET, tid, NT_X86_XSTATE, &iov)) {
		pr_perror("PTRACE_SETREGSET(%d, NT_X86_XSTATE)", tid);
		return -1;
	}
	if (ptrace(PTRACE_SETSIGMASK, tid, sizeof(mask), &mask)) {
		pr_perror("PTRACE_SETSIGMASK(%d)", tid);
		return -1;
	}
	return 0;
}
