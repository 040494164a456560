// SPDX-License-Identifier: GPL-2.0
/*
 * cow_tree: memory shared copy-on-write across fork must stay shared
 * after a restore (a forked server must not double its memory).
 *   root   fills A (64 anonymous pages) and B (16 pages, then read-only);
 *   c1     forked; writes A pages 3 and 10; forks
 *   g        which writes A page 20 and drops page 30 (MADV_DONTNEED);
 *   root   then writes A page 5 and forks
 *   c2     which writes nothing.
 * Before the checkpoint each process notes from /proc/self/smaps how much
 * of A and B it shares (Shared_Clean + Shared_Dirty) and owns alone
 * (Private_*). After restore each checks every page of A and B (its own
 * writes, the ones it inherited, the dropped page zero) and that it shares
 * as much as before and owns no more (a page of slack).
 *
 * Corrupt points: content, unshare.
 */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zdtmtst.h"

#define A_PAGES		64
#define B_PAGES		16
#define SLACK_KB	4

enum { SEED_A = 0xc0a0, SEED_B = 0xc0b0, SEED_C1 = 0xc0c1, SEED_G = 0xc0d1,
       SEED_ROOT = 0xc0e1 };

/* who wrote a page of A: the pattern seeds, per page, as one process sees */
struct view {
	const char *who;
	uint64_t seed[A_PAGES];	/* 0: dropped, reads zero */
};

struct usage {
	unsigned long shared_kb, private_kb;
};

static size_t ps;
static uint8_t *a, *b;
static char smaps[1 << 17];

static void fill_page(int pg, uint64_t seed)
{
	test_fill(a + pg * ps, ps, seed + pg);
}

static void view_init(struct view *v, const char *who)
{
	v->who = who;
	for (int pg = 0; pg < A_PAGES; pg++)
		v->seed[pg] = SEED_A + pg;
}

static void view_write(struct view *v, int pg, uint64_t seed)
{
	fill_page(pg, seed);
	v->seed[pg] = seed + pg;
}

/* Shared_* and Private_* of the VMA at p, in kB. */
static void usage_of(const void *p, struct usage *u)
{
	char *at = test_smaps_entry(p, smaps, sizeof(smaps)), *end;
	unsigned long kb;

	memset(u, 0, sizeof(*u));
	end = at ? strstr(at, "VmFlags:") : NULL;
	if (!end)
		return;
	*end = 0;
	for (char *l = at; (l = strchr(l + 1, '\n'));) {
		if (sscanf(l + 1, "Shared_Clean: %lu", &kb) == 1 ||
		    sscanf(l + 1, "Shared_Dirty: %lu", &kb) == 1)
			u->shared_kb += kb;
		else if (sscanf(l + 1, "Private_Clean: %lu", &kb) == 1 ||
			 sscanf(l + 1, "Private_Dirty: %lu", &kb) == 1)
			u->private_kb += kb;
	}
}

static void note(struct usage u[2])
{
	usage_of(a, &u[0]);
	usage_of(b, &u[1]);
}

static void check(const struct view *v, const struct usage before[2])
{
	static uint8_t zero[4096];
	struct usage now[2];

	for (int pg = 0; pg < A_PAGES; pg++) {
		bool ok = v->seed[pg] ? test_check_fill(a + pg * ps, ps, v->seed[pg]) :
					!memcmp(a + pg * ps, zero, ps);

		if (!ok)
			test_fail("%s: page %d of A is not what it wrote, "
				  "inherited or dropped", v->who, pg);
	}
	if (!test_check_fill(b, B_PAGES * ps, SEED_B))
		test_fail("%s: B changed", v->who);
	note(now);
	for (int i = 0; i < 2; i++) {
		if (now[i].shared_kb + SLACK_KB < before[i].shared_kb ||
		    now[i].private_kb > before[i].private_kb + SLACK_KB)
			test_fail("%s: %c shares %lu kB and owns %lu kB alone, "
				  "was %lu and %lu", v->who, "AB"[i],
				  now[i].shared_kb, now[i].private_kb,
				  before[i].shared_kb, before[i].private_kb);
	}
}

static void tell(int fd)
{
	if (write(fd, "r", 1) != 1)
		test_abort("write: %m");
}

static void reap(pid_t pid, const char *who)
{
	int status;

	if (waitpid(pid, &status, 0) != pid)
		test_fail("waitpid %s (%d): %m", who, pid);
	else if (!WIFEXITED(status) || WEXITSTATUS(status))
		test_fail("%s exited with status %#x", who, status);
}

static void __attribute__((noreturn)) grandchild(struct view *v, int ready_w)
{
	struct usage u[2];

	v->who = "g";
	view_write(v, 20, SEED_G);
	madvise(a + 30 * ps, ps, MADV_DONTNEED);
	v->seed[30] = 0;
	note(u);
	tell(ready_w);
	test_wait_term();
	check(v, u);
	_exit(test_failures() ? 1 : 0);
}

static void __attribute__((noreturn)) child1(int ready_w, int go_r)
{
	struct view v;
	struct usage u[2];
	pid_t g;
	char c;

	view_init(&v, "c1");
	view_write(&v, 3, SEED_C1);
	view_write(&v, 10, SEED_C1);
	g = fork();
	if (g == 0)
		grandchild(&v, ready_w);
	if (g < 0)
		test_abort("fork g: %m");
	/* g has its own view; c1 notes its usage once g has written */
	if (read(go_r, &c, 1) != 1)
		test_abort("c1: read: %m");
	note(u);
	tell(ready_w);
	test_wait_term();
	check(&v, u);
	kill(g, SIGTERM);
	reap(g, "g");
	_exit(test_failures() ? 1 : 0);
}

static void __attribute__((noreturn)) child2(const struct view *root, int ready_w)
{
	struct view v = *root;
	struct usage u[2];

	v.who = "c2";
	note(u);
	tell(ready_w);
	test_wait_term();
	check(&v, u);
	_exit(test_failures() ? 1 : 0);
}

int main(int argc, char **argv)
{
	int ready[2], go[2];
	struct usage u[2];
	struct view v;
	pid_t c1, c2;
	char c[4];

	test_init(argc, argv);
	ps = sysconf(_SC_PAGESIZE);
	if (ps != 4096)
		test_abort("page size %zu", ps);
	a = mmap(NULL, A_PAGES * ps, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	b = mmap(NULL, B_PAGES * ps, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (a == MAP_FAILED || b == MAP_FAILED || pipe(ready) || pipe(go))
		test_abort("mmap/pipe: %m");
	/* no huge pages: the test counts 4 KiB pages */
	madvise(a, A_PAGES * ps, MADV_NOHUGEPAGE);
	madvise(b, B_PAGES * ps, MADV_NOHUGEPAGE);
	view_init(&v, "root");
	for (int pg = 0; pg < A_PAGES; pg++)
		fill_page(pg, SEED_A);
	test_fill(b, B_PAGES * ps, SEED_B);
	if (mprotect(b, B_PAGES * ps, PROT_READ))
		test_abort("mprotect: %m");

	c1 = fork();
	if (c1 == 0)
		child1(ready[1], go[0]);
	if (read(ready[0], c, 1) != 1)	/* g has written */
		test_abort("g did not get ready");
	if (write(go[1], "g", 1) != 1)
		test_abort("write: %m");
	if (read(ready[0], c, 1) != 1)	/* c1 has noted */
		test_abort("c1 did not get ready");
	view_write(&v, 5, SEED_ROOT);
	c2 = fork();
	if (c2 == 0)
		child2(&v, ready[1]);
	if (c1 < 0 || c2 < 0 || read(ready[0], c, 1) != 1)
		test_abort("fork/c2: %m");
	note(u);

	test_ready();
	test_wait_term();
	if (test_corrupt("content"))
		a[7 * ps + 1] ^= 1;
	if (test_corrupt("unshare"))
		for (int pg = 0; pg < A_PAGES; pg++)
			((volatile uint8_t *)a)[pg * ps] = a[pg * ps];
	check(&v, u);
	kill(c1, SIGTERM);
	kill(c2, SIGTERM);
	reap(c1, "c1");
	reap(c2, "c2");
	test_done();
}
