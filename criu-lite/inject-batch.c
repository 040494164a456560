// SPDX-License-Identifier: GPL-2.0
/* Many injected system calls for one ptrace round trip (inject-batch.h). */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/wait.h>

#include "inject-batch.h"
#include "log.h"

_Static_assert(sizeof(struct batch_call) == 64, "the runner's entry size");

/*
 * The runner, entered with rdi = table, rsi = number of calls. For each
 * entry it loads nr and the six arguments, makes the call, stores rax in
 * ret, and stops early if the call failed and was flagged
 * BATCH_MUST_SUCCEED. Then int3: a SIGTRAP stop for criu-lite, with r14 =
 * calls made. It uses no stack and no absolute address, so it runs
 * wherever it is copied; r12-r14 are free (the caller's registers are put
 * back from the saved set after the batch).
 */
extern const unsigned char batch_runner_start[], batch_runner_end[];
__asm__(
	".pushsection .text\n"
	".globl batch_runner_start\n"
	".hidden batch_runner_start\n"
	".globl batch_runner_end\n"
	".hidden batch_runner_end\n"
	"batch_runner_start:\n"
	"	mov %rdi, %r12\n"
	"	mov %rsi, %r13\n"
	"	xor %r14d, %r14d\n"
	"1:	cmp %r13, %r14\n"
	"	je 2f\n"
	"	mov (%r12), %eax\n"		/* nr, zero-extended */
	"	mov 8(%r12), %rdi\n"
	"	mov 16(%r12), %rsi\n"
	"	mov 24(%r12), %rdx\n"
	"	mov 32(%r12), %r10\n"
	"	mov 40(%r12), %r8\n"
	"	mov 48(%r12), %r9\n"
	"	syscall\n"
	"	mov %rax, 56(%r12)\n"
	"	inc %r14\n"
	"	add $64, %r12\n"
	"	testl $1, -60(%r12)\n"		/* flags of the call just made */
	"	jz 1b\n"
	"	cmp $-4095, %rax\n"
	"	jb 1b\n"			/* unsigned: not -4095..-1 */
	"2:	int3\n"
	"batch_runner_end:\n"
	".popsection\n");

size_t batch_runner_size(void)
{
	return batch_runner_end - batch_runner_start;
}

void batch_runner_copy(void *dst)
{
	memcpy(dst, batch_runner_start, batch_runner_size());
}

int batch_init(struct remote_batch *b, struct remote *r, uint64_t runner,
	       uint64_t table, size_t table_len)
{
	*b = (struct remote_batch){ .r = r, .runner = runner, .table = table,
				    .cap = table_len / sizeof(struct batch_call) };
	b->calls = calloc(b->cap, sizeof(*b->calls));
	b->notes = calloc(b->cap, sizeof(*b->notes));
	if (!b->cap || !b->calls || !b->notes) {
		batch_free(b);
		pr_err("batch of injected calls: no memory");
		return -1;
	}
	return 0;
}

void batch_free(struct remote_batch *b)
{
	if (b->runs)
		pr_debug("thread %d: %lu calls injected in %lu batches",
			 b->r->tid, b->made, b->runs);
	free(b->calls);
	free(b->notes);
	b->calls = NULL;
	b->notes = NULL;
	b->n = b->cap = 0;
}

int batch_add(struct remote_batch *b, long nr, const long a[6],
	      unsigned flags, batch_check_fn check, const void *tag)
{
	struct batch_call *c;

	if (b->n == b->cap && batch_flush(b))
		return -1;
	c = &b->calls[b->n];
	*c = (struct batch_call){ .nr = nr, .flags = flags, .ret = -ENOSYS };
	memcpy(c->a, a, sizeof(c->a));
	b->notes[b->n++] = (struct batch_note){ check, tag };
	return 0;
}

/*
 * Runs the runner until its int3. Every blockable signal is blocked in
 * the puppet (remote_init); a SIGSTOP sent to it meanwhile is dropped (it
 * is not ours to deliver into the runner); any other stop is a fault of
 * the runner. Returns the number of calls made, or -1.
 */
static long run_runner(struct remote_batch *b)
{
	struct user_regs_struct regs = b->r->saved;
	pid_t tid = b->r->tid;
	int status, sig = 0;

	regs.rip = b->runner;
	regs.rdi = b->table;
	regs.rsi = b->n;
	regs.orig_rax = -1;	/* no syscall restart on resume */
	regs.eflags &= ~(1UL << 8);	/* TF */
	if (ptrace(PTRACE_SETREGS, tid, NULL, &regs)) {
		pr_perror("PTRACE_SETREGS(%d)", tid);
		return -1;
	}
	for (int stops = 0;; stops++) {
		if (ptrace(PTRACE_CONT, tid, NULL, (void *)(long)sig)) {
			pr_perror("PTRACE_CONT(%d) into the batch runner", tid);
			return -1;
		}
		if (wait_stop(tid, &status))
			return -1;
		if (!WIFSTOPPED(status)) {
			pr_err("thread %d died in a batch of %zu injected calls "
			       "(status %#x)", tid, b->n, status);
			return -1;
		}
		if (ptrace(PTRACE_GETREGS, tid, NULL, &regs)) {
			pr_perror("PTRACE_GETREGS(%d)", tid);
			return -1;
		}
		if (WSTOPSIG(status) == SIGTRAP && !(status >> 16) &&
		    regs.rip == b->runner + batch_runner_size())
			break;
		if (WSTOPSIG(status) != SIGSTOP || (status >> 16) || stops > 16) {
			pr_err("thread %d: unexpected stop %#x at %#llx in the "
			       "batch runner", tid, status >> 8, regs.rip);
			return -1;
		}
		sig = 0;	/* the SIGSTOP is dropped */
	}
	if (regs.r14 > b->n) {
		pr_err("thread %d: batch runner made %llu of %zu calls", tid,
		       regs.r14, b->n);
		return -1;
	}
	return regs.r14;
}

static int check_made(const struct remote_batch *b, size_t i)
{
	const struct batch_call *c = &b->calls[i];

	if (log_get_level() >= LOG_TRACE)
		pr_trace("thread %d: batched syscall#%u(%#lx, %#lx, %#lx, %#lx, "
			 "%#lx, %#lx) = %ld", b->r->tid, c->nr, (long)c->a[0],
			 (long)c->a[1], (long)c->a[2], (long)c->a[3],
			 (long)c->a[4], (long)c->a[5], (long)c->ret);
	if (b->notes[i].check)
		return b->notes[i].check(b->notes[i].tag, c, b->r->tid);
	if (c->ret < 0 && c->ret > -4096) {
		errno = -c->ret;
		pr_perror("thread %d: injected syscall %u(%#lx, %#lx, %#lx)",
			  b->r->tid, c->nr, (long)c->a[0], (long)c->a[1],
			  (long)c->a[2]);
		return -1;
	}
	return 0;
}

int batch_flush(struct remote_batch *b)
{
	size_t len = b->n * sizeof(struct batch_call);
	long made;
	int ret = 0;

	if (!b->n)
		return 0;
	if (remote_write(b->r->tid, b->table, b->calls, len))
		goto fail;
	made = run_runner(b);
	if (made < 0 ||
	    remote_read(b->r->tid, b->table, b->calls, made * sizeof(*b->calls)))
		goto fail;
	b->runs++;
	b->made += made;
	b->r->nr_calls += made;
	for (long i = 0; i < made && !ret; i++)
		ret = check_made(b, i);
	if (!ret && made && (size_t)made < b->n) {
		/* stopped on a failed call whose check let it pass */
		pr_err("thread %d: batch stopped after call %ld of %zu (%ld)",
		       b->r->tid, made, b->n, (long)b->calls[made - 1].ret);
		ret = -1;
	}
	b->n = 0;
	return ret;
fail:
	b->n = 0;
	return -1;
}
