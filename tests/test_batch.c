// SPDX-License-Identifier: GPL-2.0
/*
 * Batched injected calls (criu-lite/inject-batch.h) against a real traced
 * child: the calls are made in order with their results, a failed call
 * flagged BATCH_MUST_SUCCEED stops the batch (the later ones are not
 * made), an unflagged one does not, and more calls than the table holds
 * go in several runs. The restore's own use is exercised by zdtm and
 * bench-vmas; these pin the runner's contract.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "inject-batch.h"

#define GADGET	0x5a0000000000UL	/* runner at +0, table at +4096 */
#define TABLE_LEN	8192		/* 128 calls */
#define PROBE	0x5a0000100000UL	/* a page the batch maps */

struct child {
	pid_t pid;
	struct remote r;
	struct remote_batch b;
};

/* what the checks saw, in order */
static long seen[512];
static size_t nseen;

static int record(const void *tag, const struct batch_call *c, pid_t pid)
{
	(void)tag;
	(void)pid;
	if (nseen < sizeof(seen) / sizeof(seen[0]))
		seen[nseen] = c->ret;
	nseen++;
	return c->ret < 0 && (c->flags & BATCH_MUST_SUCCEED) ? -1 : 0;
}

static int start_child(void **state)
{
	struct child *ch = calloc(1, sizeof(*ch));
	int status;

	ch->pid = fork();
	if (ch->pid == 0) {
		void *g = mmap((void *)GADGET, 4096 + TABLE_LEN,
			       PROT_READ | PROT_WRITE | PROT_EXEC,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
			       -1, 0);

		if (g != (void *)GADGET)
			_exit(2);
		batch_runner_copy(g);
		ptrace(PTRACE_TRACEME, 0, NULL, NULL);
		raise(SIGSTOP);
		_exit(3);
	}
	assert_true(ch->pid > 0);
	assert_int_equal(waitpid(ch->pid, &status, 0), ch->pid);
	assert_true(WIFSTOPPED(status));
	assert_int_equal(remote_init(&ch->r, ch->pid, GADGET), 0);
	assert_int_equal(batch_init(&ch->b, &ch->r, GADGET, GADGET + 4096,
				    TABLE_LEN), 0);
	nseen = 0;
	*state = ch;
	return 0;
}

static int stop_child(void **state)
{
	struct child *ch = *state;

	batch_free(&ch->b);
	kill(ch->pid, SIGKILL);
	waitpid(ch->pid, NULL, 0);
	free(ch);
	return 0;
}

static void add(struct child *ch, long nr, long a0, long a1, long a2, long a3,
		unsigned flags)
{
	const long a[6] = { a0, a1, a2, a3, -1, 0 };

	assert_int_equal(batch_add(&ch->b, nr, a, flags, record, NULL), 0);
}

static bool child_maps(pid_t pid, unsigned long addr)
{
	char path[64], line[512];
	bool found = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "r");
	assert_non_null(f);
	while (!found && fgets(line, sizeof(line), f))
		found = strtoul(line, NULL, 16) == addr;
	fclose(f);
	return found;
}

static void test_in_order_with_results(void **state)
{
	struct child *ch = *state;

	add(ch, __NR_getpid, 0, 0, 0, 0, 0);
	add(ch, __NR_mmap, PROBE, 4096, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, BATCH_MUST_SUCCEED);
	add(ch, __NR_mprotect, PROBE, 4096, PROT_READ, 0, BATCH_MUST_SUCCEED);
	assert_int_equal(batch_flush(&ch->b), 0);
	assert_int_equal(nseen, 3);
	assert_int_equal(seen[0], ch->pid);
	assert_int_equal(seen[1], (long)PROBE);
	assert_int_equal(seen[2], 0);
	assert_true(child_maps(ch->pid, PROBE));
	assert_int_equal(ch->b.runs, 1);
}

static void test_must_succeed_stops(void **state)
{
	struct child *ch = *state;

	add(ch, __NR_getpid, 0, 0, 0, 0, 0);
	/* misaligned: EINVAL */
	add(ch, __NR_munmap, PROBE + 1, 4096, 0, 0, BATCH_MUST_SUCCEED);
	add(ch, __NR_mmap, PROBE, 4096, PROT_READ,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, BATCH_MUST_SUCCEED);
	assert_int_equal(batch_flush(&ch->b), -1);
	assert_int_equal(nseen, 2);
	assert_int_equal(seen[1], -EINVAL);
	/* the call after the failed one was not made */
	assert_false(child_maps(ch->pid, PROBE));
	assert_int_equal(ch->b.n, 0);
}

static void test_unflagged_failure_goes_on(void **state)
{
	struct child *ch = *state;

	add(ch, __NR_munmap, PROBE + 1, 4096, 0, 0, 0);
	add(ch, __NR_mmap, PROBE, 4096, PROT_READ,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, BATCH_MUST_SUCCEED);
	assert_int_equal(batch_flush(&ch->b), 0);
	assert_int_equal(nseen, 2);
	assert_int_equal(seen[0], -EINVAL);
	assert_int_equal(seen[1], (long)PROBE);
	assert_true(child_maps(ch->pid, PROBE));
}

static void test_more_than_a_table(void **state)
{
	struct child *ch = *state;

	for (int i = 0; i < 300; i++)
		add(ch, __NR_getpid, 0, 0, 0, 0, BATCH_MUST_SUCCEED);
	assert_int_equal(batch_flush(&ch->b), 0);
	assert_int_equal(nseen, 300);
	for (int i = 0; i < 300; i++)
		assert_int_equal(seen[i], ch->pid);
	assert_int_equal(ch->b.runs, 3);	/* 128 + 128 + 44 */
	assert_int_equal(ch->b.made, 300);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_in_order_with_results,
						start_child, stop_child),
		cmocka_unit_test_setup_teardown(test_must_succeed_stops,
						start_child, stop_child),
		cmocka_unit_test_setup_teardown(test_unflagged_failure_goes_on,
						start_child, stop_child),
		cmocka_unit_test_setup_teardown(test_more_than_a_table,
						start_child, stop_child),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
