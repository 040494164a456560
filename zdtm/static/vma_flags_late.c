// SPDX-License-Identifier: GPL-2.0
/*
 * vma_flags_late: a VMA whose flags change without any boundary change,
 * late: between a pre-copy's start and its freeze (the VmFlags a dump
 * saw when it began are no longer true at the freeze).
 *   late   private anonymous, filled, its own VMA (PROT_NONE on both
 *          sides); on SIGUSR1 MADV_DONTFORK and mlock() of the whole
 *          of it (says "late flags set");
 * After restore late holds its pattern and /proc/self/smaps shows "dc"
 * and "lo" on it if SIGUSR1 came before the checkpoint (ZDTM_LATE=1 says
 * it must have), a child forked now does not have it.
 *
 * Corrupt points: fill.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zdtmtst.h"

#define PAGES		16
#define SEED_LATE	0x4100

static size_t len;
static uint8_t *late;
static volatile sig_atomic_t want_flags;

static void on_usr1(int sig)
{
	(void)sig;
	want_flags = 1;
}

/* A filled VMA of its own: PROT_NONE pages on both sides keep it from
 * merging with its neighbours, now or once its flags change. */
static uint8_t *own_vma(uint64_t seed)
{
	size_t ps = sysconf(_SC_PAGESIZE);
	uint8_t *p = mmap(NULL, len + 2 * ps, PROT_NONE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		test_abort("mmap: %m");
	if (mprotect(p + ps, len, PROT_READ | PROT_WRITE))
		test_abort("mprotect: %m");
	test_fill(p + ps, len, seed);
	return p + ps;
}

static void set_flags(void)
{
	if (madvise(late, len, MADV_DONTFORK) || mlock(late, len))
		test_abort("madvise/mlock: %m");
	test_msg("late flags set");
}

int main(int argc, char **argv)
{
	bool must = test_env_ul("ZDTM_LATE", 0) == 1;
	int status;
	pid_t pid;

	test_init(argc, argv);
	len = PAGES * sysconf(_SC_PAGESIZE);
	late = own_vma(SEED_LATE);
	signal(SIGUSR1, on_usr1);
	test_ready();
	while (!test_stop) {
		if (want_flags) {
			want_flags = 0;
			set_flags();
		}
		/* written on: a pre-copy round always finds something */
		((volatile uint8_t *)late)[0] = late[0];
		usleep(10000);
	}
	if (test_corrupt("fill"))
		late[len / 2] ^= 1;
	if (!test_check_fill(late, len, SEED_LATE))
		test_fail("late memory changed");
	if (must) {
		test_check_vmflags("late", late, "dc lo");
		pid = fork();
		if (pid == 0) {
			int r = madvise(late, len, MADV_NORMAL);

			_exit(r && errno == ENOMEM ? 1 : 0);	/* 1: not there */
		}
		if (pid < 0 || waitpid(pid, &status, 0) != pid ||
		    !WIFEXITED(status))
			test_fail("fork/wait: %m");
		else if (!WEXITSTATUS(status))
			test_fail("late: a child has the don't-fork memory");
	}
	test_done();
}
