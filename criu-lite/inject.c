// SPDX-License-Identifier: GPL-2.0
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "inject.h"
#include "log.h"
#include "seize.h"
#include "sigframe.h"

int wait_stop(pid_t tid, int *status)
{
	for (;;) {
		pid_t r = waitpid(tid, status, __WALL);

		if (r == tid)
			return 0;
		if (r < 0 && errno == EINTR)
			continue;
		pr_perror("waitpid(%d)", tid);
		return -1;
	}
}

int remote_init(struct remote *r, pid_t tid, uint64_t syscall_ip)
{
	memset(r, 0, sizeof(*r));
	r->tid = tid;
	r->syscall_ip = syscall_ip;
	uint64_t all = ~0ULL;

	if (ptrace(PTRACE_GETREGS, tid, NULL, &r->saved)) {
		pr_perror("PTRACE_GETREGS(%d)", tid);
		return -1;
	}
	if (ptrace(PTRACE_GETSIGMASK, tid, sizeof(r->saved_mask), &r->saved_mask) ||
	    ptrace(PTRACE_SETSIGMASK, tid, sizeof(all), &all)) {
		pr_perror("PTRACE_[GS]ETSIGMASK(%d)", tid);
		return -1;
	}
	r->regs_saved = true;
	return 0;
}

static long syscall_by_stops(struct remote *r, bool *failed, long nr,
			     const long a[6]);
static void kill_point(const struct remote *r, long nr, const char *stage);
static int park_raw(struct remote *r);
static int vm_exact(pid_t pid, uint64_t addr, void *buf, size_t len,
		    bool write_mem);

int remote_init_plain(struct remote *r, pid_t tid, uint64_t syscall_ip)
{
	uint64_t base;

	if (remote_init(r, tid, syscall_ip))
		return -1;
	/* its own mask until a call: remote_init blocked everything */
	if (ptrace(PTRACE_SETSIGMASK, tid, sizeof(r->saved_mask),
		   &r->saved_mask)) {
		pr_perror("PTRACE_SETSIGMASK(%d)", tid);
		return -1;
	}
	r->park_between = true;
	base = (r->saved.rsp - SIGFRAME_RED_ZONE - SIGFRAME_SCRATCH) & ~63ULL;
	r->area_orig = malloc(SIGFRAME_SCRATCH);
	/* mapped and writable: writing the old bytes back proves it */
	if (!r->area_orig ||
	    vm_exact(tid, base, r->area_orig, SIGFRAME_SCRATCH, false) ||
	    vm_exact(tid, base, r->area_orig, SIGFRAME_SCRATCH, true)) {
		free(r->area_orig);
		r->area_orig = NULL;
		return 0;
	}
	r->area = r->scratch = base;
	r->area_len = r->scratch_len = SIGFRAME_SCRATCH;
	return 0;
}

static long inject_syscall(struct remote *r, bool *failed, long nr, long a1,
			   long a2, long a3, long a4, long a5, long a6)
{
	struct user_regs_struct regs = r->saved;
	int status, stops = 0;

	*failed = true;
	r->last_event = 0;
	if (r->self_restoring) {
		const long a[6] = { a1, a2, a3, a4, a5, a6 };

		return syscall_by_stops(r, failed, nr, a);
	}
	regs.rip = r->syscall_ip;
	regs.rax = nr;
	regs.orig_rax = -1;	/* no syscall restart on resume */
	regs.rdi = a1;
	regs.rsi = a2;
	regs.rdx = a3;
	regs.r10 = a4;
	regs.r8 = a5;
	regs.r9 = a6;
	regs.eflags &= ~(1UL << 8);	/* TF: the kernel sets it for the step */
	if (r->park_between) {
		uint64_t all = ~0ULL;

		if (ptrace(PTRACE_SETSIGMASK, r->tid, sizeof(all), &all)) {
			pr_perror("PTRACE_SETSIGMASK(%d)", r->tid);
			return -EIO;
		}
		r->state = REMOTE_INJECTED;
	}
	if (ptrace(PTRACE_SETREGS, r->tid, NULL, &regs)) {
		pr_perror("PTRACE_SETREGS(%d)", r->tid);
		return -EIO;
	}
	kill_point(r, nr, r->park_between ? "plain-set" : "set");
	kill_point(r, nr, "entry");
	for (;;) {
		if (ptrace(PTRACE_SINGLESTEP, r->tid, NULL, NULL)) {
			pr_perror("PTRACE_SINGLESTEP(%d)", r->tid);
			return -EIO;
		}
		if (wait_stop(r->tid, &status))
			return -EIO;
		if (!WIFSTOPPED(status)) {
			pr_err("thread %d died during injected syscall %ld "
			       "(status %#x)", r->tid, nr, status);
			return -EIO;
		}
		if (WSTOPSIG(status) == SIGTRAP && status >> 16) {
			/* an event (clone) inside the syscall; the step
			 * trap follows when we go on */
			r->last_event = status >> 16;
			ptrace(PTRACE_GETEVENTMSG, r->tid, NULL, &r->event_msg);
			continue;
		}
		if (WSTOPSIG(status) == SIGTRAP)
			break;
		/* Every blockable signal is blocked while we inject; what
		 * still stops us here (SIGSTOP, a synchronous fault) is
		 * not ours to deliver into injected code: step on, at
		 * most a few times. */
		if (++stops > 16) {
			pr_err("thread %d: stopped by signal %d again and again "
			       "during injected syscall %ld", r->tid,
			       WSTOPSIG(status), nr);
			return -EIO;
		}
		pr_debug("thread %d: stop %d during injection of %ld", r->tid,
			 WSTOPSIG(status), nr);
		if (ptrace(PTRACE_GETREGS, r->tid, NULL, &regs))
			return -EIO;
		if (regs.rip != r->syscall_ip) {
			pr_err("thread %d: unexpected stop (signal %d) at %#llx "
			       "during injected syscall %ld", r->tid,
			       WSTOPSIG(status), regs.rip, nr);
			return -EIO;
		}
	}
	kill_point(r, nr, r->park_between ? "plain-exit" : "exit");
	if (ptrace(PTRACE_GETREGS, r->tid, NULL, &regs)) {
		pr_perror("PTRACE_GETREGS(%d)", r->tid);
		return -EIO;
	}
	if (regs.rip != r->syscall_ip + 2) {
		pr_err("thread %d: injected syscall %ld ended at %#llx, "
		       "expected %#lx", r->tid, nr, regs.rip,
		       (unsigned long)(r->syscall_ip + 2));
		return -EIO;
	}
	if (r->park_between) {
		if (park_raw(r))
			return -EIO;
		kill_point(r, nr, "plain-between");
	}
	r->nr_calls++;
	*failed = false;
	return regs.rax;
}

/* The calls criu-lite injects, by name, for the -v4 trace */
static const char *syscall_name(long nr)
{
	static const char *const names[] = {
		[__NR_mmap] = "mmap", [__NR_munmap] = "munmap",
		[__NR_mremap] = "mremap", [__NR_mprotect] = "mprotect",
		[__NR_madvise] = "madvise", [__NR_brk] = "brk",
		[__NR_openat] = "openat", [__NR_close] = "close",
		[__NR_close_range] = "close_range", [__NR_ftruncate] = "ftruncate",
		[__NR_memfd_create] = "memfd_create", [__NR_prctl] = "prctl",
		[__NR_userfaultfd] = "userfaultfd", [__NR_clone3] = "clone3",
		[__NR_rt_sigaction] = "rt_sigaction",
		[__NR_sigaltstack] = "sigaltstack", [__NR_rseq] = "rseq",
		[__NR_set_robust_list] = "set_robust_list",
		[__NR_set_tid_address] = "set_tid_address",
		[__NR_rt_sigqueueinfo] = "rt_sigqueueinfo",
		[__NR_rt_tgsigqueueinfo] = "rt_tgsigqueueinfo",
		[__NR_prlimit64] = "prlimit64", [__NR_personality] = "personality",
		[__NR_getitimer] = "getitimer", [__NR_setitimer] = "setitimer",
		[__NR_timer_create] = "timer_create",
		[__NR_timer_settime] = "timer_settime",
		[__NR_timer_gettime] = "timer_gettime",
		[__NR_timer_delete] = "timer_delete", [__NR_capget] = "capget",
		[__NR_capset] = "capset", [__NR_setresuid] = "setresuid",
		[__NR_setresgid] = "setresgid", [__NR_setgroups] = "setgroups",
		[__NR_setfsuid] = "setfsuid", [__NR_setfsgid] = "setfsgid",
		[__NR_pause] = "pause", [__NR_vmsplice] = "vmsplice",
		[__NR_pwritev] = "pwritev",
	};

	if (nr >= 0 && nr < (long)(sizeof(names) / sizeof(names[0])) && names[nr])
		return names[nr];
	return "syscall";
}

static void trace_call(const struct remote *r, long nr, const long a[6],
		       long ret, bool failed, uint64_t t0)
{
	pr_trace("thread %d: injected %s#%ld(%#lx, %#lx, %#lx, %#lx, %#lx, "
		 "%#lx) = %ld%s (%.1f us)", r->tid, syscall_name(nr), nr, a[0],
		 a[1], a[2], a[3], a[4], a[5], ret,
		 failed ? " (injection failed)" : "", (now_ns() - t0) / 1e3);
}

long remote_syscall(struct remote *r, bool *failed, long nr, long a1,
		    long a2, long a3, long a4, long a5, long a6)
{
	const long a[6] = { a1, a2, a3, a4, a5, a6 };
	uint64_t t0 = now_ns();
	long ret = inject_syscall(r, failed, nr, a1, a2, a3, a4, a5, a6);

	if (log_get_level() >= LOG_TRACE)
		trace_call(r, nr, a, ret, *failed, t0);
	return ret;
}

long rcall(struct remote *r, long nr, long a1, long a2, long a3, long a4,
	   long a5, long a6)
{
	bool failed;
	long ret = remote_syscall(r, &failed, nr, a1, a2, a3, a4, a5, a6);

	return failed ? -EIO : ret;
}

int remote_restore_regs(struct remote *r)
{
	if (!r->regs_saved)
		return 0;
	if (ptrace(PTRACE_SETREGS, r->tid, NULL, &r->saved)) {
		pr_perror("PTRACE_SETREGS(%d) restoring registers", r->tid);
		return -1;
	}
	if (ptrace(PTRACE_SETSIGMASK, r->tid, sizeof(r->saved_mask),
		   &r->saved_mask)) {
		pr_perror("PTRACE_SETSIGMASK(%d) restoring the mask", r->tid);
		return -1;
	}
	return 0;
}

static int proc_mem_io(pid_t pid, uint64_t addr, void *buf, size_t len,
		       bool write_mem)
{
	char path[64];
	size_t off = 0;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	fd = open(path, (write_mem ? O_WRONLY : O_RDONLY) | O_CLOEXEC);
	if (fd < 0) {
		pr_perror("open %s", path);
		return -1;
	}
	while (off < len) {
		ssize_t n = write_mem ?
			pwrite(fd, (char *)buf + off, len - off, addr + off) :
			pread(fd, (char *)buf + off, len - off, addr + off);

		if (n <= 0) {
			pr_perror("%s %s at %#lx", write_mem ? "write" : "read",
				  path, (unsigned long)(addr + off));
			close(fd);
			return -1;
		}
		off += n;
	}
	close(fd);
	return 0;
}

static int vm_io(pid_t pid, uint64_t addr, void *buf, size_t len,
		 bool write_mem)
{
	size_t off = 0;

	while (off < len) {
		struct iovec l = { (char *)buf + off, len - off };
		struct iovec r = { (void *)(addr + off), len - off };
		ssize_t n = write_mem ? process_vm_writev(pid, &l, 1, &r, 1, 0) :
					process_vm_readv(pid, &l, 1, &r, 1, 0);

		if (n <= 0)
			return proc_mem_io(pid, addr + off, (char *)buf + off,
					   len - off, write_mem);
		off += n;
	}
	return 0;
}

int remote_write(pid_t pid, uint64_t addr, const void *buf, size_t len)
{
	return vm_io(pid, addr, (void *)buf, len, true);
}

int remote_read(pid_t pid, uint64_t addr, void *buf, size_t len)
{
	return vm_io(pid, addr, buf, len, false);
}

int find_syscall_insn(pid_t pid, uint64_t start, uint64_t end, uint64_t *ip)
{
	size_t len = end - start;
	uint8_t *buf = malloc(len);

	if (!buf)
		return -1;
	if (remote_read(pid, start, buf, len)) {
		free(buf);
		return -1;
	}
	for (size_t i = 0; i + 1 < len; i++) {
		if (buf[i] == 0x0f && buf[i + 1] == 0x05) {
			*ip = start + i;
			free(buf);
			return 0;
		}
	}
	free(buf);
	pr_err("no syscall instruction in %d's [%#lx, %#lx)", pid,
	       (unsigned long)start, (unsigned long)end);
	return -1;
}

/* ---- self-restoring injection (dump) ---- */

#define XSTATE_BUF	(64 * 1024)
#define SYSGOOD_TRAP	(SIGTRAP | 0x80)

/* `syscall`, then only `xor r32, r32` (with or without REX) or nops,
 * then `ret`: what follows the syscall touches nothing but registers
 * and the return address at rsp. */
static bool is_syscall_ret(const uint8_t *p, size_t left)
{
	size_t i = 2;

	if (left < 3 || p[0] != 0x0f || p[1] != 0x05)
		return false;
	while (i < left && i < 64) {
		if (p[i] == 0xc3)
			return true;
		if (p[i] == 0x90) {
			i++;
			continue;
		}
		if ((p[i] & 0xf0) == 0x40 && i + 2 < left &&
		    p[i + 1] == 0x31 && p[i + 2] >= 0xc0) {
			i += 3;
			continue;
		}
		if (p[i] == 0x31 && i + 1 < left && p[i + 1] >= 0xc0) {
			i += 2;
			continue;
		}
		return false;
	}
	return false;
}

static bool is_sigreturn(const uint8_t *p, size_t left)
{
	static const uint8_t movq[] = { 0x48, 0xc7, 0xc0, 0x0f, 0, 0, 0, 0x0f, 0x05 };
	static const uint8_t movl[] = { 0xb8, 0x0f, 0, 0, 0, 0x0f, 0x05 };

	return (left >= sizeof(movq) && !memcmp(p, movq, sizeof(movq))) ||
	       (left >= sizeof(movl) && !memcmp(p, movl, sizeof(movl)));
}

static int scan_vma(pid_t pid, const struct vma_info *v,
		    bool (*match)(const uint8_t *, size_t), uint64_t *at)
{
	size_t len = v->end - v->start;
	uint8_t *buf;

	if (len > (64u << 20))
		return -1;
	buf = malloc(len);
	if (!buf)
		return -1;
	if (remote_read(pid, v->start, buf, len)) {
		free(buf);
		return -1;
	}
	for (size_t i = 0; i < len; i++) {
		if (match(buf + i, len - i)) {
			*at = v->start + i;
			free(buf);
			return 0;
		}
	}
	free(buf);
	return -1;
}

static bool is_libc(const struct vma_info *v)
{
	const char *base = strrchr(v->path, '/');

	return base && (!strncmp(base, "/libc.so", 8) ||
			!strncmp(base, "/libc-", 6) || strstr(base, "ld-musl"));
}

/*
 * Code the process can't change while it is frozen and nobody else may:
 * the vDSO, or an executable private file mapping that is not writable
 * (its unwritten pages follow the file, which a package update replaces
 * by rename, never in place).
 */
static bool is_stable_code(const struct vma_info *v)
{
	return (v->prot & PROT_EXEC) && !(v->prot & PROT_WRITE) && !v->shared &&
	       v->path[0] == '/' && !v->deleted;
}

/* The stable code mappings in order: libc's first, then the others. */
static const struct vma_info *stable_code(const struct vma_info *vmas,
					  size_t n, size_t k)
{
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < n; i++)
			if (is_stable_code(&vmas[i]) &&
			    is_libc(&vmas[i]) == (pass == 0) && !k--)
				return &vmas[i];
	return NULL;
}

static bool is_syscall(const uint8_t *p, size_t left)
{
	return left >= 2 && p[0] == 0x0f && p[1] == 0x05;
}

/*
 * Injection single-steps exactly the one instruction at the chosen
 * address, and checks it ended right after those two bytes: any 0f 05
 * (even inside a longer instruction of the program) is a `syscall` when
 * executed from its first byte, and what follows it never runs.
 */
int find_syscall_site(pid_t pid, const struct vma_info *vmas, size_t n,
		      uint64_t *ip, const char **where)
{
	const struct vma_info *v;

	for (size_t i = 0; i < n; i++)
		if (!strcmp(vmas[i].path, "[vdso]")) {
			*where = "[vdso]";
			return find_syscall_insn(pid, vmas[i].start, vmas[i].end, ip);
		}
	for (size_t k = 0; (v = stable_code(vmas, n, k)); k++) {
		if (!scan_vma(pid, v, is_syscall, ip)) {
			*where = v->path;
			return 0;
		}
	}
	pr_err("pid %d has no [vdso] and no `syscall` instruction in a "
	       "read-only executable file mapping: can't inject syscalls", pid);
	return -1;
}

int find_inject_gadgets(pid_t pid, const struct vma_info *vmas, size_t n,
			struct inject_gadgets *g)
{
	const struct vma_info *v;

	memset(g, 0, sizeof(*g));
	for (size_t i = 0; i < n && !g->syscall_ret; i++)
		if (!strcmp(vmas[i].path, "[vdso]"))
			scan_vma(pid, &vmas[i], is_syscall_ret, &g->syscall_ret);
	/* no vDSO (unmapped by the process): libc's `syscall; ret` */
	for (size_t k = 0; !g->syscall_ret && (v = stable_code(vmas, n, k)); k++)
		scan_vma(pid, v, is_syscall_ret, &g->syscall_ret);
	/* glibc's __restore_rt first; then any executable file mapping
	 * (a static binary's own, Go's runtime) */
	for (int pass = 0; pass < 2 && !g->sigreturn; pass++) {
		for (size_t i = 0; i < n && !g->sigreturn; i++) {
			const struct vma_info *v = &vmas[i];

			if (!(v->prot & PROT_EXEC) || v->path[0] != '/' ||
			    is_libc(v) != (pass == 0))
				continue;
			scan_vma(pid, v, is_sigreturn, &g->sigreturn);
		}
	}
	return g->syscall_ret && g->sigreturn ? 0 : -1;
}

/* process_vm_{read,write}v of exactly len bytes, no /proc/PID/mem
 * fallback: that one would write through read-only protections. */
static int vm_exact(pid_t pid, uint64_t addr, void *buf, size_t len,
		    bool write_mem)
{
	struct iovec l = { buf, len }, r = { (void *)addr, len };
	ssize_t n = write_mem ? process_vm_writev(pid, &l, 1, &r, 1, 0) :
				process_vm_readv(pid, &l, 1, &r, 1, 0);

	return n == (ssize_t)len ? 0 : -1;
}

/* Writes the frame; 1 if the stack below the red zone can't hold it. */
static int place_frame(struct remote *r, const struct inject_gadgets *g,
		       const void *xstate, size_t xlen)
{
	struct sigframe_layout l;
	uint8_t *img;

	sigframe_place(r->saved.rsp, xlen, &l);
	r->area_orig = malloc(l.len);
	img = malloc(l.len);
	if (!r->area_orig || !img)
		goto no;
	/* mapped, and writable without forcing: writing the old bytes back
	 * proves it and changes nothing */
	if (vm_exact(r->tid, l.base, r->area_orig, l.len, false) ||
	    vm_exact(r->tid, l.base, r->area_orig, l.len, true))
		goto no;
	if (sigframe_build(img, &l, &r->resume, r->saved_mask, xstate, xlen,
			   g->sigreturn))
		goto no;
	if (vm_exact(r->tid, l.base, img, l.len, true)) {
		pr_err("thread %d: writing the injection frame failed", r->tid);
		vm_exact(r->tid, l.base, r->area_orig, l.len, true);
		free(img);
		return -1;
	}
	free(img);
	r->area = l.base;
	r->area_len = l.len;
	r->frame_sp = l.frame;
	r->scratch = l.scratch;
	r->scratch_len = SIGFRAME_SCRATCH;
	return 0;
no:
	free(img);
	free(r->area_orig);
	r->area_orig = NULL;
	return 1;
}

int remote_init_dump(struct remote *r, pid_t tid,
		     const struct inject_gadgets *g)
{
	struct iovec iov;
	void *xstate;
	int ret;

	memset(r, 0, sizeof(*r));
	r->tid = tid;
	r->syscall_ip = g->syscall_ret;
	if (ptrace(PTRACE_GETREGS, tid, NULL, &r->saved) ||
	    ptrace(PTRACE_GETSIGMASK, tid, sizeof(r->saved_mask),
		   &r->saved_mask)) {
		pr_perror("thread %d: PTRACE_GETREGS/GETSIGMASK", tid);
		return -1;
	}
	xstate = malloc(XSTATE_BUF);
	if (!xstate)
		return -1;
	iov.iov_base = xstate;
	iov.iov_len = XSTATE_BUF;
	if (ptrace(PTRACE_GETREGSET, tid, NT_X86_XSTATE, &iov)) {
		pr_perror("PTRACE_GETREGSET(%d, NT_X86_XSTATE)", tid);
		free(xstate);
		return -1;
	}
	sigframe_resume_regs(&r->saved, &r->resume);
	ret = place_frame(r, g, xstate, iov.iov_len);
	if (ret) {
		free(xstate);
		return ret;
	}
	r->xstate = xstate;
	r->xlen = iov.iov_len;
	r->sigreturn_ip = g->sigreturn;
	r->self_restoring = true;
	r->regs_saved = true;
	r->state = REMOTE_FROZEN;
	return 0;
}

static bool is_group_leader(pid_t tid)
{
	char *status = proc_read_file("/proc/%d/status", tid);
	char *tgid = status ? strstr(status, "\nTgid:") : NULL;
	bool leader = tgid && atoi(tgid + 6) == tid;

	free(status);
	return leader;
}

/* Test hook: CRIU_LITE_FAULT=kill-inject-<stage> SIGKILLs criu-lite at
 * that stage of the 3rd injected call of a thread (the leader: the others
 * get two), kill-inject-thread-<stage> at the 2nd call of a thread that is
 * not the leader; to prove the thread survives it. kill-inject-plain-*
 * (set, exit, between: after the call, the thread parked) make the dump
 * inject the plain way (dump.c); plain-set and plain-exit show the window
 * where that harms the thread, plain-between that parking does not. */
static void kill_point(const struct remote *r, long nr, const char *stage)
{
	const char *f = getenv("CRIU_LITE_FAULT");

	/* kill-vmsplice-<stage>: at that stage of the first vmsplice (or
	 * pwritev: the write way) a thread gets, with criu-lite's pipe (or
	 * pages file) open in it */
	if (f && (nr == __NR_vmsplice || nr == __NR_pwritev) &&
	    !strncmp(f, "kill-vmsplice-", 14) &&
	    !strcmp(f + 14, stage) && !r->nr_vmsplice)
		raise(SIGKILL);
	if (!f || strncmp(f, "kill-inject-", 12))
		return;
	f += 12;
	if (!strcmp(f, stage) && r->nr_calls == 2)
		raise(SIGKILL);
	if (!strncmp(f, "thread-", 7) && !strcmp(f + 7, stage) &&
	    r->nr_calls == 1 && !is_group_leader(r->tid))
		raise(SIGKILL);
}

/* One stop of the call: 1 a syscall stop, 0 another stop to step over,
 * -1 the thread can't be driven. */
static int syscall_stop(struct remote *r, long nr)
{
	int status;

	if (ptrace(PTRACE_SYSCALL, r->tid, NULL, NULL)) {
		pr_perror("PTRACE_SYSCALL(%d)", r->tid);
		return -1;
	}
	if (wait_stop(r->tid, &status))
		return -1;
	if (!WIFSTOPPED(status)) {
		pr_err("thread %d died during injected syscall %ld (status %#x)",
		       r->tid, nr, status);
		return -1;
	}
	if (WSTOPSIG(status) == SYSGOOD_TRAP)
		return 1;
	if (status >> 16 == PTRACE_EVENT_STOP)
		return 0;	/* a group stop or an interrupt: go on */
	pr_err("thread %d: signal %d during injected syscall %ld", r->tid,
	       WSTOPSIG(status), nr);
	return -1;
}

/* Runs nr(a) with rsp at sp; returns its result with the thread left in
 * the syscall-exit stop, injected registers still set (left alone, it
 * goes on into the frame at sp); *failed if it could not be driven. */
static long run_call(struct remote *r, long nr, const long a[6], uint64_t sp,
		     bool *failed)
{
	struct user_regs_struct regs = r->saved;
	uint64_t all = ~0ULL;
	int seen = 0, others = 0;

	*failed = true;
	regs.rip = r->syscall_ip;
	regs.rsp = sp;
	regs.rax = nr;
	regs.orig_rax = -1;
	regs.rdi = a[0], regs.rsi = a[1], regs.rdx = a[2];
	regs.r10 = a[3], regs.r8 = a[4], regs.r9 = a[5];
	regs.eflags &= ~(1UL << 8);
	/* registers first: from here on the thread, left alone, runs the
	 * call and rt_sigreturns to where it was */
	if (ptrace(PTRACE_SETREGS, r->tid, NULL, &regs) ||
	    ptrace(PTRACE_SETSIGMASK, r->tid, sizeof(all), &all)) {
		pr_perror("thread %d: set up injected syscall %ld", r->tid, nr);
		return -EIO;
	}
	if (r->state != REMOTE_FD_OPEN)
		r->state = REMOTE_INJECTED;
	kill_point(r, nr, "set");
	while (seen < 2) {
		int st = syscall_stop(r, nr);

		if (st < 0 || (st == 0 && ++others > 16))
			return -EIO;
		seen += st;
		r->at_entry = seen == 1;
		if (seen == 1)
			kill_point(r, nr, "entry");
	}
	kill_point(r, nr, "exit");
	if (ptrace(PTRACE_GETREGS, r->tid, NULL, &regs)) {
		pr_perror("PTRACE_GETREGS(%d)", r->tid);
		return -EIO;
	}
	if (regs.rip != r->syscall_ip + 2 || (long)regs.orig_rax != nr) {
		pr_err("thread %d: injected syscall %ld ended at %#llx (nr %lld)",
		       r->tid, nr, regs.rip, (long long)regs.orig_rax);
		return -EIO;
	}
	r->nr_calls++;
	if (nr == __NR_vmsplice || nr == __NR_pwritev)
		r->nr_vmsplice++;
	*failed = false;
	return regs.rax;
}

/* From a syscall-exit stop to the resume registers: mask first (left
 * alone in between, the thread would still rt_sigreturn), registers last. */
static int settle(struct remote *r)
{
	if (ptrace(PTRACE_SETSIGMASK, r->tid, sizeof(r->saved_mask),
		   &r->saved_mask) ||
	    ptrace(PTRACE_SETREGS, r->tid, NULL, &r->resume)) {
		pr_perror("thread %d: resume registers", r->tid);
		return -1;
	}
	r->state = REMOTE_AT_EXIT;
	return 0;
}

static long syscall_by_stops(struct remote *r, bool *failed, long nr,
			     const long a[6])
{
	bool bad;
	long ret = run_call(r, nr, a, r->frame_sp, &bad);

	if (bad || settle(r))
		return -EIO;
	*failed = false;
	return ret;
}

/* The frame a thread left alone after remote_call_new_fd runs first: its
 * "registers" are a close(fd) at the [vdso] `syscall; ret`, with rsp at
 * the ordinary frame, into which that `ret` goes. */
static int write_close_frame(struct remote *r, int fd)
{
	struct user_regs_struct ra = r->resume;
	struct sigframe_layout l;
	uint8_t *img;
	int ret = -1;

	sigframe_place_below(r->area, r->xlen, &l);
	ra.rip = r->syscall_ip;
	ra.rax = __NR_close;
	ra.rdi = fd;
	ra.rsp = r->frame_sp;
	ra.orig_rax = -1;
	ra.eflags &= ~(1UL << 8);
	if (!r->close_orig) {
		r->close_orig = malloc(l.len);
		if (!r->close_orig ||
		    vm_exact(r->tid, l.base, r->close_orig, l.len, false)) {
			free(r->close_orig);
			r->close_orig = NULL;
			return -1;
		}
		r->close_area = l.base;
		r->close_len = l.len;
	}
	img = malloc(l.len);
	if (img && !sigframe_build(img, &l, &ra, ~0ULL, r->xstate, r->xlen,
				   r->sigreturn_ip))
		ret = vm_exact(r->tid, l.base, img, l.len, true);
	free(img);
	if (!ret)
		r->close_frame = l.frame;
	return ret;
}

long remote_call_new_fd(struct remote *r, int expect, long nr, long a1,
			long a2, long a3)
{
	const long a[6] = { a1, a2, a3, 0, 0, 0 };
	uint64_t t0;
	bool bad;
	long fd;

	if (!r->self_restoring)
		return rcall(r, nr, a1, a2, a3, 0, 0, 0);
	if (write_close_frame(r, expect)) {
		pr_warn("thread %d: no room for a closing frame below %#lx: "
			"killed now, criu-lite would leave it an extra fd",
			r->tid, (unsigned long)r->area);
		return rcall(r, nr, a1, a2, a3, 0, 0, 0);
	}
	t0 = now_ns();
	fd = run_call(r, nr, a, r->close_frame, &bad);
	if (log_get_level() >= LOG_TRACE)
		trace_call(r, nr, a, fd, bad, t0);
	if (bad)
		return -EIO;
	if (fd < 0)
		return settle(r) ? -EIO : fd;
	r->state = REMOTE_FD_OPEN;
	r->open_fd = fd;
	/* another number than foreseen: the frame must close that one */
	if (fd != expect && write_close_frame(r, fd)) {
		pr_err("thread %d: can't aim the closing frame at fd %ld",
		       r->tid, fd);
		return -EIO;
	}
	return fd;
}

long remote_call_keeping_fd(struct remote *r, long nr, long a1, long a2,
			   long a3, long a4)
{
	const long a[6] = { a1, a2, a3, a4, 0, 0 };
	uint64_t t0 = now_ns();
	bool bad;
	long ret;

	if (!r->self_restoring || r->state != REMOTE_FD_OPEN)
		return rcall(r, nr, a1, a2, a3, a4, 0, 0);
	/* rsp at the closing frame: left alone at any point of the call,
	 * the thread goes on into close(open_fd), then the ordinary frame;
	 * its state stays REMOTE_FD_OPEN */
	ret = run_call(r, nr, a, r->close_frame, &bad);
	if (log_get_level() >= LOG_TRACE)
		trace_call(r, nr, a, ret, bad, t0);
	return bad ? -EIO : ret;
}

/* An ordinary injected call: left alone from its start on, the thread
 * closes fd and rt_sigreturns through the ordinary frame. */
int remote_close_new_fd(struct remote *r, int fd)
{
	long ret = rcall(r, __NR_close, fd, 0, 0, 0, 0, 0);

	if (r->self_restoring && r->state == REMOTE_FD_OPEN)
		return -1;	/* not driven to its end */
	r->open_fd = -1;
	return ret ? -1 : 0;
}

/*
 * Back to the interrupt stop it was frozen in, with its raw registers
 * (rax = -ERESTART*, orig_rax = the syscall): released, it restarts (or
 * not) its syscall by the kernel's own rules. PTRACE_INTERRUPT first: it
 * sets TIF_SIGPENDING, so that even if criu-lite dies right after the
 * registers are set, the thread goes through the kernel's signal and
 * restart code before user mode.
 */
static int park_raw(struct remote *r)
{
	int status;

	if (r->at_entry) {
		/* never let the raw orig_rax run as a syscall from here */
		struct user_regs_struct regs = r->saved;

		regs.orig_rax = -1;
		regs.rip = r->syscall_ip + 2;
		if (ptrace(PTRACE_SETREGS, r->tid, NULL, &regs) ||
		    syscall_stop(r, -1) != 1)
			return -1;
		r->at_entry = false;
	}
	if (ptrace(PTRACE_INTERRUPT, r->tid, NULL, NULL) ||
	    ptrace(PTRACE_SETSIGMASK, r->tid, sizeof(r->saved_mask),
		   &r->saved_mask) ||
	    ptrace(PTRACE_SETREGS, r->tid, NULL, &r->saved) ||
	    ptrace(PTRACE_CONT, r->tid, NULL, NULL)) {
		pr_perror("thread %d: put back in its stop", r->tid);
		return -1;
	}
	if (wait_stop(r->tid, &status))
		return -1;
	if (!WIFSTOPPED(status) || status >> 16 != PTRACE_EVENT_STOP) {
		pr_err("thread %d: expected an interrupt stop, got %#x", r->tid,
		       status);
		return -1;
	}
	r->state = REMOTE_FROZEN;
	return 0;
}

static void put_back(struct remote *r, uint64_t at, uint8_t **orig,
		     size_t len)
{
	if (!*orig)
		return;
	if (vm_exact(r->tid, at, *orig, len, true))
		pr_err("thread %d: can't put back %zu bytes of its stack at "
		       "%#lx", r->tid, len, (unsigned long)at);
	free(*orig);
	*orig = NULL;
}

int remote_finish(struct remote *r)
{
	int ret = 0;

	if (r->park_between) {
		/* parked after each call already: its stack scratch back */
		if (r->state != REMOTE_FROZEN && park_raw(r))
			ret = -1;
		put_back(r, r->area, &r->area_orig, r->area_len);
		r->park_between = false;
		return remote_restore_regs(r) || ret ? -1 : 0;
	}
	if (!r->self_restoring)
		return remote_restore_regs(r);
	if (r->state == REMOTE_FD_OPEN && r->open_fd >= 0 &&
	    remote_close_new_fd(r, r->open_fd))
		ret = -1;
	if (r->state != REMOTE_FROZEN && park_raw(r))
		ret = -1;
	put_back(r, r->area, &r->area_orig, r->area_len);
	put_back(r, r->close_area, &r->close_orig, r->close_len);
	free(r->xstate);
	r->xstate = NULL;
	r->self_restoring = false;
	r->regs_saved = false;
	return ret;
}
