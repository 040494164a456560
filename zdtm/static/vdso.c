// SPDX-License-Identifier: GPL-2.0
/*
 * vdso: the vDSO after a restore.
 * Before the checkpoint the test records where [vdso], [vvar] and
 * [vvar_vclock] are mapped and looks up __vdso_clock_gettime,
 * __vdso_gettimeofday, __vdso_time, __vdso_getcpu and __vdso_clock_getres
 * in the vDSO's own symbol table.
 * After restore: the mappings are where they were (and AT_SYSINFO_EHDR
 * still points at [vdso]); the saved vDSO entry points, and glibc's
 * clock_gettime(), gettimeofday(), time() and sched_getcpu() (which go
 * through the vDSO), give the same answers as the system calls: each clock
 * read between two syscall reads of that clock, the same resolution, the
 * CPU we are pinned to.  A fault in the vDSO is caught and reported.
 *
 * Corrupt points: addr, vvar.
 */
#include <elf.h>
#include <sched.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>

#include "zdtmtst.h"

#define SLACK_NS	1000000ULL	/* 1 ms either way */
#define NR_SPECIAL	3

typedef int (*clock_gettime_fn)(clockid_t, struct timespec *);
typedef int (*gettimeofday_fn)(struct timeval *, void *);
typedef time_t (*time_fn)(time_t *);
typedef long (*getcpu_fn)(unsigned int *, unsigned int *, void *);

static struct {
	clock_gettime_fn clock_gettime;
	clock_gettime_fn clock_getres;
	gettimeofday_fn gettimeofday;
	time_fn time;
	getcpu_fn getcpu;
} vdso;

static const char *const special[NR_SPECIAL] = { "[vdso]", "[vvar]", "[vvar_vclock]" };
static unsigned long spec_start[NR_SPECIAL], spec_end[NR_SPECIAL];
static unsigned long sysinfo_ehdr;

static const struct {
	clockid_t id;
	const char *name;
} clocks[] = {
	{ CLOCK_REALTIME, "REALTIME" },
	{ CLOCK_MONOTONIC, "MONOTONIC" },
	{ CLOCK_BOOTTIME, "BOOTTIME" },
	{ CLOCK_MONOTONIC_RAW, "MONOTONIC_RAW" },
	{ CLOCK_REALTIME_COARSE, "REALTIME_COARSE" },
	{ CLOCK_MONOTONIC_COARSE, "MONOTONIC_COARSE" },
};
#define NR_CLOCKS	(sizeof(clocks) / sizeof(clocks[0]))

static sigjmp_buf fault_jmp;
static volatile sig_atomic_t fault_sig;

static void on_fault(int sig)
{
	fault_sig = sig;
	siglongjmp(fault_jmp, 1);
}

/* Start and end of the mappings named @name in /proc/self/maps. */
static void read_special(unsigned long *start, unsigned long *end)
{
	static char buf[65536];
	char *p;
	int i;

	for (i = 0; i < NR_SPECIAL; i++)
		start[i] = end[i] = 0;
	if (test_read_file("/proc/self/maps", buf, sizeof(buf)) < 0)
		return;
	for (p = buf; *p; ) {
		size_t n = strcspn(p, "\n");
		unsigned long s, e;
		char name[64] = "";

		if (sscanf(p, "%lx-%lx %*s %*s %*s %*s %63s", &s, &e, name) >= 2)
			for (i = 0; i < NR_SPECIAL; i++)
				if (!strcmp(name, special[i])) {
					start[i] = s;
					end[i] = e;
				}
		p += n + (p[n] == '\n');
	}
}

/* Looks @name up in the dynamic symbol table of the vDSO at @base. */
static void *vdso_sym(unsigned long base, const char *name)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)base;
	const Elf64_Phdr *ph = (const Elf64_Phdr *)(base + eh->e_phoff);
	const Elf64_Shdr *sh = (const Elf64_Shdr *)(base + eh->e_shoff);
	unsigned long bias = base;
	int i;

	for (i = 0; i < eh->e_phnum; i++)
		if (ph[i].p_type == PT_LOAD) {
			bias = base + ph[i].p_offset - ph[i].p_vaddr;
			break;
		}
	for (i = 0; i < eh->e_shnum; i++) {
		const Elf64_Sym *sym;
		const char *str;
		size_t j, n;

		if (sh[i].sh_type != SHT_DYNSYM)
			continue;
		sym = (const Elf64_Sym *)(base + sh[i].sh_offset);
		str = (const char *)(base + sh[sh[i].sh_link].sh_offset);
		n = sh[i].sh_size / sizeof(*sym);
		for (j = 0; j < n; j++)
			if (sym[j].st_shndx != SHN_UNDEF && !strcmp(str + sym[j].st_name, name))
				return (void *)(bias + sym[j].st_value);
	}
	return NULL;
}

static uint64_t ts_ns(const struct timespec *ts)
{
	return (uint64_t)ts->tv_sec * 1000000000ULL + ts->tv_nsec;
}

static void setup(void)
{
	int i;

	sysinfo_ehdr = getauxval(AT_SYSINFO_EHDR);
	read_special(spec_start, spec_end);
	if (!sysinfo_ehdr || sysinfo_ehdr != spec_start[0])
		test_abort("AT_SYSINFO_EHDR %#lx, [vdso] at %#lx", sysinfo_ehdr,
			   spec_start[0]);
	for (i = 0; i < NR_SPECIAL; i++)
		test_msg("%s: %lx-%lx", special[i], spec_start[i], spec_end[i]);
	vdso.clock_gettime = vdso_sym(sysinfo_ehdr, "__vdso_clock_gettime");
	vdso.clock_getres = vdso_sym(sysinfo_ehdr, "__vdso_clock_getres");
	vdso.gettimeofday = vdso_sym(sysinfo_ehdr, "__vdso_gettimeofday");
	vdso.time = vdso_sym(sysinfo_ehdr, "__vdso_time");
	vdso.getcpu = vdso_sym(sysinfo_ehdr, "__vdso_getcpu");
	if (!vdso.clock_gettime || !vdso.clock_getres || !vdso.gettimeofday ||
	    !vdso.time || !vdso.getcpu)
		test_abort("a __vdso_* symbol is missing");
}

static void corrupt(void)
{
	if (test_corrupt("addr")) {
		size_t len = spec_end[0] - spec_start[0];
		void *to = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (mremap((void *)spec_start[0], len, len,
			   MREMAP_MAYMOVE | MREMAP_FIXED, to) == MAP_FAILED)
			test_msg("mremap [vdso]: %m");
	}
	if (test_corrupt("vvar")) {
		int i;

		for (i = 1; i < NR_SPECIAL; i++)
			if (spec_start[i])
				munmap((void *)spec_start[i], spec_end[i] - spec_start[i]);
	}
}

static void check_maps(void)
{
	unsigned long start[NR_SPECIAL], end[NR_SPECIAL];
	int i;

	read_special(start, end);
	for (i = 0; i < NR_SPECIAL; i++)
		if (start[i] != spec_start[i] || end[i] != spec_end[i])
			test_fail("%s at %lx-%lx, was %lx-%lx", special[i], start[i],
				  end[i], spec_start[i], spec_end[i]);
	if (getauxval(AT_SYSINFO_EHDR) != sysinfo_ehdr)
		test_fail("AT_SYSINFO_EHDR %#lx, was %#lx",
			  getauxval(AT_SYSINFO_EHDR), sysinfo_ehdr);
}

/* Reads each clock through @fn between two syscall reads. */
static void check_clocks(clock_gettime_fn fn, const char *via)
{
	struct timespec a, v, b, rs, rv;
	unsigned int i, round;

	for (i = 0; i < NR_CLOCKS; i++) {
		clockid_t id = clocks[i].id;

		for (round = 0; round < 100; round++) {
			syscall(SYS_clock_gettime, id, &a);
			if (fn(id, &v)) {
				test_fail("%s(%s) failed", via, clocks[i].name);
				break;
			}
			syscall(SYS_clock_gettime, id, &b);
			if (ts_ns(&v) + SLACK_NS < ts_ns(&a) ||
			    ts_ns(&v) > ts_ns(&b) + SLACK_NS) {
				test_fail("%s(%s) = %lu.%09lu, not between %lu.%09lu and %lu.%09lu",
					  via, clocks[i].name, (long)v.tv_sec, v.tv_nsec,
					  (long)a.tv_sec, a.tv_nsec, (long)b.tv_sec,
					  b.tv_nsec);
				break;
			}
		}
		if (vdso.clock_getres(id, &rv) || syscall(SYS_clock_getres, id, &rs) ||
		    ts_ns(&rv) != ts_ns(&rs))
			test_fail("vDSO clock_getres(%s) %lu ns, the syscall says %lu ns",
				  clocks[i].name, (unsigned long)ts_ns(&rv),
				  (unsigned long)ts_ns(&rs));
	}
}

static void check_tod(gettimeofday_fn tod, time_fn tm, const char *via)
{
	struct timeval a, v, b;
	time_t ta, tv, tb;

	syscall(SYS_gettimeofday, &a, NULL);
	if (tod(&v, NULL))
		test_fail("%s gettimeofday failed", via);
	syscall(SYS_gettimeofday, &b, NULL);
	if (timercmp(&v, &a, <) || timercmp(&v, &b, >))
		test_fail("%s gettimeofday %ld.%06ld, not between %ld.%06ld and %ld.%06ld",
			  via, (long)v.tv_sec, (long)v.tv_usec, (long)a.tv_sec,
			  (long)a.tv_usec, (long)b.tv_sec, (long)b.tv_usec);

	ta = syscall(SYS_time, NULL);
	tv = tm(NULL);
	tb = syscall(SYS_time, NULL);
	if (tv < ta || tv > tb)
		test_fail("%s time() %ld, not between %ld and %ld", via, (long)tv,
			  (long)ta, (long)tb);
}

static time_t glibc_time(time_t *t)
{
	return time(t);
}

static int glibc_gettimeofday(struct timeval *tv, void *tz)
{
	return gettimeofday(tv, tz);
}

/* Pinned to each allowed CPU in turn, every way of asking says that one. */
static void check_getcpu(void)
{
	cpu_set_t allowed, one;
	unsigned int cpu, node, scpu, snode;
	int c;

	if (sched_getaffinity(0, sizeof(allowed), &allowed)) {
		test_fail("sched_getaffinity: %m");
		return;
	}
	for (c = 0; c < CPU_SETSIZE; c++) {
		if (!CPU_ISSET(c, &allowed))
			continue;
		CPU_ZERO(&one);
		CPU_SET(c, &one);
		if (sched_setaffinity(0, sizeof(one), &one)) {
			test_fail("sched_setaffinity(%d): %m", c);
			continue;
		}
		cpu = node = scpu = snode = ~0U;
		if (vdso.getcpu(&cpu, &node, NULL) ||
		    syscall(SYS_getcpu, &scpu, &snode, NULL) ||
		    cpu != (unsigned int)c || scpu != cpu || node != snode)
			test_fail("pinned to CPU %d: vDSO getcpu %u/%u, syscall %u/%u", c,
				  cpu, node, scpu, snode);
		if (sched_getcpu() != c)
			test_fail("pinned to CPU %d: sched_getcpu() %d", c, sched_getcpu());
	}
	sched_setaffinity(0, sizeof(allowed), &allowed);
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_fault, .sa_flags = SA_NODEFER };

	test_init(argc, argv);
	setup();
	/* the checks work before the checkpoint, too */
	check_clocks(vdso.clock_gettime, "vDSO clock_gettime");
	check_getcpu();
	if (test_failures())
		test_abort("the vDSO checks fail before the checkpoint");

	test_ready();
	test_wait_term();
	corrupt();

	check_maps();
	sigemptyset(&sa.sa_mask);
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	if (sigsetjmp(fault_jmp, 1)) {
		test_fail("signal %d in a call into the vDSO", fault_sig);
		test_done();
	}
	check_clocks(vdso.clock_gettime, "vDSO clock_gettime");
	check_clocks(clock_gettime, "clock_gettime");
	check_tod(vdso.gettimeofday, vdso.time, "vDSO");
	check_tod(glibc_gettimeofday, glibc_time, "glibc");
	check_getcpu();
	test_done();
}
