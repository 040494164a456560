/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Many injected system calls for one ptrace round trip.
 *
 * A restore rebuilds a process with one injected call per VMA (mmap,
 * mprotect, madvise): one PTRACE_SETREGS/SINGLESTEP/wait/GETREGS round
 * trip each, two context switches, 70-130 us on a loaded machine. A
 * process with 50 000 VMAs then takes seconds. Here the calls are queued
 * in a table in the tracee's memory and a small runner (position
 * independent code copied into the restore gadget, as CRIU's restorer
 * walks its VMA list) makes them one after the other and stops at an
 * int3: one round trip for up to a table of calls.
 *
 * Only for a puppet being restored (plain injection, all signals
 * blocked): a criu-lite killed meanwhile kills it (PTRACE_O_EXITKILL).
 * Calls that make threads (clone) or need their result as another call's
 * argument stay with rcall().
 */
#ifndef CRIU_LITE_INJECT_BATCH_H
#define CRIU_LITE_INJECT_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "inject.h"

/* One call as the runner reads it in the tracee (64 bytes). */
struct batch_call {
	uint32_t nr;
	uint32_t flags;		/* BATCH_MUST_SUCCEED */
	uint64_t a[6];
	int64_t ret;		/* written by the runner */
};

/* The runner stops the batch after this call if it fails. */
#define BATCH_MUST_SUCCEED	1u

/*
 * Looks at a call's result once made (ret in c->ret); tag is what the
 * caller gave with it (a VMA). Returns 0 to go on, -1 to fail the batch
 * (the cause logged). Called for every call made, in order.
 */
typedef int (*batch_check_fn)(const void *tag, const struct batch_call *c,
			      pid_t pid);

struct batch_note {
	batch_check_fn check;
	const void *tag;
};

struct remote_batch {
	struct remote *r;	/* the thread that runs the calls */
	uint64_t runner;	/* the runner's code in the tracee */
	uint64_t table;		/* the call table in the tracee */
	size_t cap;		/* calls the table holds */
	struct batch_call *calls;	/* queued, not made yet */
	struct batch_note *notes;
	size_t n;
	unsigned long runs, made;	/* round trips and calls, for the log */
};

/* The runner's bytes, for the puppet to copy into its gadget (it is a
 * fork of criu-lite: the same code at the same place). */
size_t batch_runner_size(void);
void batch_runner_copy(void *dst);

/* runner: where the puppet copied the runner; table: table_len bytes of
 * writable memory in it that nothing else uses while the batch lives. */
int batch_init(struct remote_batch *b, struct remote *r, uint64_t runner,
	       uint64_t table, size_t table_len);
void batch_free(struct remote_batch *b);

/*
 * Queues nr(a[0..5]). check (or, if NULL, a plain "must not fail" with
 * the call named) judges its result. A full table is made first.
 * Returns -1 if that earlier run failed.
 */
int batch_add(struct remote_batch *b, long nr, const long a[6],
	      unsigned flags, batch_check_fn check, const void *tag);
/* Makes every queued call, in order; 0 if all passed their checks. The
 * queue is empty afterwards either way. */
int batch_flush(struct remote_batch *b);

#endif
