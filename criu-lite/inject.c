// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "inject.h"
#include "log.h"

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

long remote_syscall(struct remote *r, bool *failed, long nr, long a1,
		    long a2, long a3, long a4, long a5, long a6)
{
	struct user_regs_struct regs = r->saved;
	int status, stops = 0;

	*failed = true;
	r->last_event = 0;
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
	if (ptrace(PTRACE_SETREGS, r->tid, NULL, &regs)) {
		pr_perror("PTRACE_SETREGS(%d)", r->tid);
		return -EIO;
	}
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
	r->nr_calls++;
	*failed = false;
	return regs.rax;
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
