// SPDX-License-Identifier: GPL-2.0
/*
 * no_vdso: a process that unmapped its vDSO ([vdso], [vvar] and
 * [vvar_vclock]), as some sandboxes and runtimes do. criu-lite then
 * injects its calls at a `syscall` of libc.
 * From then on the test never calls into the vDSO (glibc's clock_gettime,
 * gettimeofday, time and sched_getcpu would): raw system calls only.
 * After restore: no vDSO mapping is back, nothing is mapped where it was,
 * AT_SYSINFO_EHDR in /proc/self/auxv is what it was, a pattern in memory
 * is intact, system calls work and a signal handler runs and returns
 * (through libc's __restore_rt, not the vDSO).
 *
 * Corrupt points: pattern, remap.
 */
#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "zdtmtst.h"

#define PATTERN_LEN	(64 * 1024)
#define SEED		0x7d50

static const char *const vdso_names[] = { "[vdso]", "[vvar]", "[vvar_vclock]" };
#define NR_NAMES	(sizeof(vdso_names) / sizeof(vdso_names[0]))

static unsigned long gone_start[NR_NAMES], gone_end[NR_NAMES];
static uint8_t pattern[PATTERN_LEN];
static volatile sig_atomic_t got_usr1;
static char maps[1 << 16];

static void on_usr1(int sig)
{
	(void)sig;
	got_usr1 = 1;
}

/* Start and end of each vDSO mapping (0 when there is none). */
static void find_vdso(unsigned long *start, unsigned long *end)
{
	for (size_t i = 0; i < NR_NAMES; i++)
		start[i] = end[i] = 0;
	if (test_read_file("/proc/self/maps", maps, sizeof(maps)) < 0)
		test_abort("read /proc/self/maps: %m");
	for (char *p = maps; *p;) {
		size_t len = strcspn(p, "\n");
		unsigned long s, e;
		char name[64] = "";

		if (sscanf(p, "%lx-%lx %*s %*s %*s %*s %63s", &s, &e, name) >= 2)
			for (size_t i = 0; i < NR_NAMES; i++)
				if (!strcmp(name, vdso_names[i])) {
					start[i] = s;
					end[i] = e;
				}
		p += len + (p[len] == '\n');
	}
}

static unsigned long auxv_sysinfo(void)
{
	static uint64_t auxv[256];
	ssize_t n = test_read_file("/proc/self/auxv", (char *)auxv, sizeof(auxv));

	for (ssize_t i = 0; i + 1 < n / 8; i += 2)
		if (auxv[i] == AT_SYSINFO_EHDR)
			return auxv[i + 1];
	return 0;
}

static bool mapped(unsigned long start, unsigned long end)
{
	/* madvise on a hole fails with ENOMEM */
	return !syscall(SYS_madvise, start, end - start, MADV_NORMAL) ||
	       errno != ENOMEM;
}

static void check(unsigned long sysinfo)
{
	unsigned long start[NR_NAMES], end[NR_NAMES];

	find_vdso(start, end);
	for (size_t i = 0; i < NR_NAMES; i++) {
		if (start[i])
			test_fail("%s is mapped again at %lx", vdso_names[i], start[i]);
		if (gone_start[i] && mapped(gone_start[i], gone_end[i]))
			test_fail("something is mapped where %s was (%lx-%lx)",
				  vdso_names[i], gone_start[i], gone_end[i]);
	}
	if (auxv_sysinfo() != sysinfo)
		test_fail("AT_SYSINFO_EHDR %#lx, was %#lx", auxv_sysinfo(), sysinfo);
	if (!test_check_fill(pattern, PATTERN_LEN, SEED))
		test_fail("the pattern in memory changed");
	if (syscall(SYS_getpid) != getpid() || syscall(SYS_getppid) <= 0)
		test_fail("getpid/getppid by syscall");
	got_usr1 = 0;
	syscall(SYS_tgkill, getpid(), syscall(SYS_gettid), SIGUSR1);
	if (!got_usr1)
		test_fail("SIGUSR1's handler did not run");
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_usr1 };
	unsigned long sysinfo;

	test_init(argc, argv);
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGUSR1, &sa, NULL))
		test_abort("sigaction: %m");
	test_fill(pattern, PATTERN_LEN, SEED);
	sysinfo = auxv_sysinfo();
	find_vdso(gone_start, gone_end);
	if (!gone_start[0])
		test_abort("no [vdso] to unmap");
	for (size_t i = 0; i < NR_NAMES; i++)
		if (gone_start[i] &&
		    munmap((void *)gone_start[i], gone_end[i] - gone_start[i]))
			test_abort("munmap %s: %m", vdso_names[i]);
	check(sysinfo);
	if (test_failures())
		test_abort("the checks fail before the checkpoint");

	test_ready();
	test_wait_term();
	if (test_corrupt("pattern"))
		pattern[PATTERN_LEN / 2] ^= 1;
	if (test_corrupt("remap"))
		mmap((void *)gone_start[0], gone_end[0] - gone_start[0], PROT_READ,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	check(sysinfo);
	test_done();
}
