// SPDX-License-Identifier: GPL-2.0
/*
 * vma_flags: memory whose behaviour is a flag of the mapping: what a fork
 * does with it, how it is read ahead, whether it is locked.
 *   wipe       private anonymous, MADV_WIPEONFORK, filled;
 *   dontfork   private anonymous, MADV_DONTFORK, filled;
 *   droppable  MAP_DROPPABLE (Linux 6.11; skipped where the kernel has
 *              none), filled: the kernel may drop its pages (they read
 *              zero then) at any time, and so may a restore;
 *   random     MADV_RANDOM, filled; sequential: MADV_SEQUENTIAL, filled;
 *   locked     mlock(), filled; onfault: mlock2(MLOCK_ONFAULT), half filled;
 *   a child forked before the checkpoint sees wipe and droppable zeroed
 *   and fills its wipe with a pattern of its own.
 * After restore every region holds its pattern (the child's wipe its own;
 * each droppable page its pattern or zeros, nothing else), /proc/self/smaps
 * shows the flags again (wf; dc; dp, wf, dd; rr; sr; lo; lo, lf), and a
 * child forked now sees wipe and droppable zeroed and has no dontfork
 * region.
 *
 * Corrupt points: wipe, keeponfork, droppable, unlock, random.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zdtmtst.h"

#define PAGES		4
#define MAP_DROPPABLE_	0x08	/* Linux 6.11: a map type, like MAP_PRIVATE */

enum { SEED_WIPE = 0x3100, SEED_DONTFORK = 0x3200, SEED_DROP = 0x3300,
       SEED_CHILD = 0x3400, SEED_RANDOM = 0x3500, SEED_SEQ = 0x3600,
       SEED_LOCKED = 0x3700, SEED_ONFAULT = 0x3800 };

static size_t len;
static uint8_t *wipe, *dontfork, *droppable, *random_, *sequential, *locked,
	       *onfault;

static uint8_t *map_filled(int flags, int advice, uint64_t seed)
{
	uint8_t *p = mmap(NULL, len, PROT_READ | PROT_WRITE, flags, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	if (advice >= 0 && madvise(p, len, advice))
		test_abort("madvise(%d): %m", advice);
	test_fill(p, len, seed);
	return p;
}

static bool zero_bytes(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

static bool all_zero(const uint8_t *p)
{
	return zero_bytes(p, len);
}

/* Each page as filled, or dropped (zero). */
static bool droppable_ok(void)
{
	uint8_t want[PAGES * 4096];
	size_t ps = len / PAGES;

	if (ps > 4096)
		return test_check_fill(droppable, len, SEED_DROP);
	test_fill(want, len, SEED_DROP);
	for (size_t pg = 0; pg < PAGES; pg++)
		if (memcmp(droppable + pg * ps, want + pg * ps, ps) &&
		    !zero_bytes(droppable + pg * ps, ps))
			return false;
	return true;
}

/* What a child forked now must see; its exit status says. */
static int fork_semantics(void)
{
	bool dontfork_mapped = !madvise(dontfork, len, MADV_NORMAL) || errno != ENOMEM;
	int bad = 0;

	if (!all_zero(wipe))
		bad |= 1;
	if (droppable && !all_zero(droppable))
		bad |= 2;
	if (dontfork_mapped)
		bad |= 4;
	return bad;
}

static void check_fork(const char *when)
{
	int status;
	pid_t pid = fork();

	if (pid == 0)
		_exit(fork_semantics());
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) {
		test_fail("%s: fork/wait: %m", when);
		return;
	}
	if (WEXITSTATUS(status) & 1)
		test_fail("%s: a child sees the parent's wipe-on-fork memory", when);
	if (WEXITSTATUS(status) & 2)
		test_fail("%s: a child sees the parent's droppable memory", when);
	if (WEXITSTATUS(status) & 4)
		test_fail("%s: a child has the parent's don't-fork memory", when);
}

static void check_more(void)
{
	if (!test_check_fill(random_, len, SEED_RANDOM) ||
	    !test_check_fill(sequential, len, SEED_SEQ) ||
	    !test_check_fill(locked, len, SEED_LOCKED) ||
	    !test_check_fill(onfault, len / 2, SEED_ONFAULT))
		test_fail("random, sequential or locked memory changed");
	test_check_vmflags("random", random_, "rr");
	test_check_vmflags("sequential", sequential, "sr");
	test_check_vmflags("locked", locked, "lo");
	test_check_vmflags("onfault", onfault, "lo lf");
}

static void check_all(const char *who)
{
	if (!test_check_fill(wipe, len, SEED_WIPE))
		test_fail("%s: wipe-on-fork memory changed", who);
	if (!test_check_fill(dontfork, len, SEED_DONTFORK))
		test_fail("%s: don't-fork memory changed", who);
	if (droppable && !droppable_ok())
		test_fail("%s: droppable memory neither as it was nor dropped", who);
	test_check_vmflags("wipe", wipe, "wf");
	test_check_vmflags("dontfork", dontfork, "dc");
	if (droppable)
		test_check_vmflags("droppable", droppable, "dp wf dd");
	check_fork(who);
}

static void __attribute__((noreturn)) early_child(int ready_w)
{
	if (!all_zero(wipe) || (droppable && !all_zero(droppable)))
		test_abort("child: wipe-on-fork memory not wiped at fork");
	test_fill(wipe, len, SEED_CHILD);
	if (write(ready_w, "c", 1) != 1)
		test_abort("child: write: %m");
	test_wait_term();
	if (!test_check_fill(wipe, len, SEED_CHILD))
		test_fail("child: its own wipe-on-fork memory changed");
	test_check_vmflags("child wipe", wipe, "wf");
	_exit(test_failures() ? 1 : 0);
}

int main(int argc, char **argv)
{
	int ready[2], status;
	pid_t child;
	char c;

	test_init(argc, argv);
	len = PAGES * sysconf(_SC_PAGESIZE);
	wipe = map_filled(MAP_PRIVATE | MAP_ANONYMOUS, MADV_WIPEONFORK, SEED_WIPE);
	dontfork = map_filled(MAP_PRIVATE | MAP_ANONYMOUS, MADV_DONTFORK,
			      SEED_DONTFORK);
	droppable = map_filled(MAP_DROPPABLE_ | MAP_ANONYMOUS, -1, SEED_DROP);
	random_ = map_filled(MAP_PRIVATE | MAP_ANONYMOUS, MADV_RANDOM, SEED_RANDOM);
	sequential = map_filled(MAP_PRIVATE | MAP_ANONYMOUS, MADV_SEQUENTIAL,
				SEED_SEQ);
	locked = map_filled(MAP_PRIVATE | MAP_ANONYMOUS, -1, SEED_LOCKED);
	onfault = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (!wipe || !dontfork || !random_ || !sequential || !locked ||
	    onfault == MAP_FAILED)
		test_abort("mmap: %m");
	if (mlock(locked, len) || syscall(SYS_mlock2, onfault, len, 1 /* ONFAULT */))
		test_abort("mlock: %m");
	test_fill(onfault, len / 2, SEED_ONFAULT);
	if (!droppable)
		test_msg("no MAP_DROPPABLE here (%m): not checked");
	check_all("before");
	check_more();
	if (pipe(ready))
		test_abort("pipe: %m");
	child = fork();
	if (child == 0)
		early_child(ready[1]);
	if (child < 0 || read(ready[0], &c, 1) != 1)
		test_abort("child did not get ready");

	test_ready();
	test_wait_term();
	if (test_corrupt("wipe"))
		wipe[len / 2] ^= 1;
	if (test_corrupt("keeponfork"))
		madvise(wipe, len, MADV_KEEPONFORK);
	if (test_corrupt("droppable") && droppable)
		droppable[0] ^= 1;
	if (test_corrupt("unlock"))
		munlock(locked, len);
	if (test_corrupt("random"))
		madvise(random_, len, MADV_NORMAL);
	check_all("after restore");
	check_more();
	kill(child, SIGTERM);
	if (waitpid(child, &status, 0) != child || !WIFEXITED(status) ||
	    WEXITSTATUS(status))
		test_fail("child failed (status %#x)", status);
	test_done();
}
