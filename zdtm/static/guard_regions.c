// SPDX-License-Identifier: GPL-2.0
/*
 * guard_regions: guard pages installed with MADV_GUARD_INSTALL (Linux
 * 6.13), markers in the page table whose access raises SIGSEGV.
 *   anon     16 private anonymous pages, filled, guards on pages 2-3, 9
 *            and 15;
 *   ro       4 anonymous pages, filled, a guard on page 0, then read-only;
 *   file     a private mapping of 4 pages of a file, page 3 written (a
 *            copy-on-write page), a guard on page 1 (file-backed guards:
 *            Linux 6.15; skipped where refused).
 * After restore every guard page faults and every other page reads its
 * content; PAGEMAP_SCAN (PAGE_IS_GUARD, 6.14) reports the same guards; a
 * guard removed with MADV_GUARD_REMOVE leaves a page that reads zero (anon)
 * or the file's content.
 *
 * Corrupt points: remove, content.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "zdtmtst.h"

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL	102
#define MADV_GUARD_REMOVE	103
#endif

/* PAGEMAP_SCAN (linux/fs.h of 6.7+; Debian 12's headers are older) */
struct scan_region { uint64_t start, end, categories; };
struct scan_arg {
	uint64_t size, flags, start, end, walk_end, vec, vec_len, max_pages;
	uint64_t category_inverted, category_mask, category_anyof_mask;
	uint64_t return_mask;
};
#define PAGEMAP_SCAN_	_IOWR('f', 16, struct scan_arg)
#define PAGE_IS_GUARD_	(1 << 8)

enum { SEED_ANON = 0x6100, SEED_RO = 0x6200, SEED_FILE = 0x6300,
       SEED_COW = 0x6400 };

struct region {
	const char *name;
	uint8_t *p;
	size_t pages;
	uint32_t guards;	/* bit n: page n is a guard */
	bool file;
};

static size_t ps;
static struct region regs[3] = {
	{ "anon", NULL, 16, 1u << 2 | 1u << 3 | 1u << 9 | 1u << 15, false },
	{ "ro", NULL, 4, 1u << 0, false },
	{ "file", NULL, 4, 1u << 1, true },
};
static uint8_t file_data[4 * 4096], cow_page[4096];
static sigjmp_buf fault_jmp;

static void on_segv(int sig)
{
	(void)sig;
	siglongjmp(fault_jmp, 1);
}

/* 1 if reading p faults, 0 if it reads (into buf). */
static int probe(const uint8_t *p, uint8_t *buf)
{
	if (sigsetjmp(fault_jmp, 1))
		return 1;
	memcpy(buf, (const void *)p, ps);
	return 0;
}

/* What page pg of r must hold when it is not a guard. */
static void expected(const struct region *r, size_t pg, uint8_t *want)
{
	if (!r->file) {
		uint8_t all[16 * 4096];

		test_fill(all, r->pages * ps, r == &regs[0] ? SEED_ANON : SEED_RO);
		memcpy(want, all + pg * ps, ps);
	} else if (pg == 3) {
		memcpy(want, cow_page, ps);
	} else {
		memcpy(want, file_data + pg * ps, ps);
	}
}

static void check_pages(const struct region *r)
{
	uint8_t got[4096], want[4096];

	for (size_t pg = 0; pg < r->pages; pg++) {
		bool guard = r->guards & (1u << pg);
		int faults = probe(r->p + pg * ps, got);

		if (guard && !faults)
			test_fail("%s page %zu: a guard page reads", r->name, pg);
		if (!guard && faults)
			test_fail("%s page %zu faults, not a guard page", r->name, pg);
		expected(r, pg, want);
		if (!guard && !faults && memcmp(got, want, ps))
			test_fail("%s page %zu: content changed", r->name, pg);
	}
}

/* The guards PAGEMAP_SCAN reports for r as a page mask; -1 if it can't. */
static long scanned_guards(const struct region *r)
{
	struct scan_region v[16];
	struct scan_arg a = {
		.size = sizeof(a), .start = (uint64_t)r->p,
		.end = (uint64_t)r->p + r->pages * ps,
		.vec = (uint64_t)v, .vec_len = 16,
		.category_mask = PAGE_IS_GUARD_, .return_mask = PAGE_IS_GUARD_,
	};
	int fd = open("/proc/self/pagemap", O_RDONLY);
	long n = fd < 0 ? -1 : ioctl(fd, PAGEMAP_SCAN_, &a);
	long mask = 0;

	if (fd >= 0)
		close(fd);
	for (long i = 0; i < n; i++)
		for (uint64_t at = v[i].start; at < v[i].end; at += ps)
			mask |= 1L << ((at - (uint64_t)r->p) / ps);
	return n < 0 ? -1 : mask;
}

static void check_region(const struct region *r)
{
	long scanned;

	if (!r->p)
		return;
	check_pages(r);
	scanned = scanned_guards(r);
	if (scanned >= 0 && scanned != (long)r->guards)
		test_fail("%s: PAGEMAP_SCAN guards %#lx, expected %#x", r->name,
			  scanned, r->guards);
}

static int install(struct region *r)
{
	for (size_t pg = 0; pg < r->pages; pg++)
		if ((r->guards & (1u << pg)) &&
		    madvise(r->p + pg * ps, ps, MADV_GUARD_INSTALL))
			return -1;
	return 0;
}

static void setup(void)
{
	int fd;

	regs[0].p = mmap(NULL, 16 * ps, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	regs[1].p = mmap(NULL, 4 * ps, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (regs[0].p == MAP_FAILED || regs[1].p == MAP_FAILED)
		test_abort("mmap: %m");
	test_fill(regs[0].p, 16 * ps, SEED_ANON);
	test_fill(regs[1].p, 4 * ps, SEED_RO);
	if (install(&regs[0]))
		test_abort("MADV_GUARD_INSTALL: %m (this kernel has no guard "
			   "regions: Linux 6.13+)");
	if (install(&regs[1]) || mprotect(regs[1].p, 4 * ps, PROT_READ))
		test_abort("guard/mprotect ro: %m");

	test_fill(file_data, sizeof(file_data), SEED_FILE);
	test_fill(cow_page, sizeof(cow_page), SEED_COW);
	fd = open("guard.data", O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, file_data, 4 * ps) != (ssize_t)(4 * ps))
		test_abort("guard.data: %m");
	regs[2].p = mmap(NULL, 4 * ps, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	close(fd);
	if (regs[2].p == MAP_FAILED)
		test_abort("mmap guard.data: %m");
	memcpy(regs[2].p + 3 * ps, cow_page, ps);
	if (install(&regs[2])) {
		test_msg("file-backed guard refused (%m): not checked");
		munmap(regs[2].p, 4 * ps);
		regs[2].p = NULL;
	}
}

/* Removing a guard gives the page its backing again: zero, or the file. */
static void check_remove(void)
{
	uint8_t got[4096], want[4096];

	if (madvise(regs[0].p + 9 * ps, ps, MADV_GUARD_REMOVE) ||
	    probe(regs[0].p + 9 * ps, got))
		test_fail("anon page 9: MADV_GUARD_REMOVE: %m, or it faults still");
	else if (memcmp(got, memset(want, 0, ps), ps))
		test_fail("anon page 9 is not zero once its guard is removed");
	if (!regs[2].p)
		return;
	if (madvise(regs[2].p + ps, ps, MADV_GUARD_REMOVE) ||
	    probe(regs[2].p + ps, got))
		test_fail("file page 1: MADV_GUARD_REMOVE: %m, or it faults still");
	else if (memcmp(got, file_data + ps, ps))
		test_fail("file page 1 does not read the file once its guard is "
			  "removed");
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_segv, .sa_flags = SA_NODEFER };

	test_init(argc, argv);
	ps = sysconf(_SC_PAGESIZE);
	if (ps != 4096)
		test_abort("page size %zu", ps);
	sigemptyset(&sa.sa_mask);
	sigaction(SIGSEGV, &sa, NULL);
	setup();
	for (int i = 0; i < 3; i++)
		check_region(&regs[i]);
	if (test_failures())
		test_abort("the checks fail before the checkpoint");

	test_ready();
	test_wait_term();
	if (test_corrupt("remove"))
		madvise(regs[0].p + 2 * ps, ps, MADV_GUARD_REMOVE);
	if (test_corrupt("content"))
		regs[0].p[5] ^= 1;
	for (int i = 0; i < 3; i++)
		check_region(&regs[i]);
	check_remove();
	test_done();
}
