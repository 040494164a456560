// SPDX-License-Identifier: GPL-2.0
/*
 * vma-grow: a 1 MiB anonymous VMA A next to a 4 MiB one X (gaps around
 * both), each filled with a pattern; on SIGUSR1, A grows in place to 4
 * MiB (mremap, the new part untouched), which is what a migration's
 * pre-copy did not see: A's place in the pages file is 1 MiB, the next
 * place is X's. On SIGTERM it checks both and prints PASS or FAIL with
 * the pages that differ (the new part of A must read zero).
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define A	((char *)0x600000000000UL)
#define X	((char *)0x600000600000UL)
#define MIB	(1UL << 20)

static volatile sig_atomic_t grow, term;

static void on_usr1(int s)
{
	(void)s;
	grow = 1;
}

static void on_term(int s)
{
	(void)s;
	term = 1;
}

static uint64_t word(size_t i, unsigned seed)
{
	return (i * 2654435761u) ^ seed ^ 0x1234567890abcdefULL;
}

static void fill(char *p, size_t len, unsigned seed)
{
	for (size_t i = 0; i < len; i += 8)
		*(uint64_t *)(p + i) = word(i, seed);
}

static long bad_pages(const char *p, size_t len, unsigned seed)
{
	long bad = 0;

	for (size_t i = 0; i < len; i += 4096)
		for (size_t k = i; k < i + 4096; k += 8)
			if (*(const uint64_t *)(p + k) !=
			    (seed ? word(k, seed) : 0)) {
				bad++;
				break;
			}
	return bad;
}

int main(void)
{
	long ba, bg = 0, bx;

	if (mmap(A, MIB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS |
		 MAP_FIXED_NOREPLACE, -1, 0) != A ||
	    mmap(X, 4 * MIB, PROT_READ | PROT_WRITE, MAP_PRIVATE |
		 MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0) != X) {
		perror("vma-grow: mmap");
		return 1;
	}
	fill(A, MIB, 1);
	fill(X, 4 * MIB, 2);
	signal(SIGUSR1, on_usr1);
	signal(SIGTERM, on_term);
	printf("READY\n");
	fflush(stdout);
	while (!term) {
		if (grow == 1) {
			if (mremap(A, MIB, 4 * MIB, 0) != A) {
				perror("vma-grow: mremap");
				return 1;
			}
			grow = 2;
			printf("grown\n");
			fflush(stdout);
		}
		usleep(10000);
	}
	ba = bad_pages(A, MIB, 1);
	if (grow == 2)
		bg = bad_pages(A + MIB, 3 * MIB, 0);
	bx = bad_pages(X, 4 * MIB, 2);
	printf("%s: A %ld bad pages, its new part %ld, X %ld\n",
	       ba || bg || bx ? "FAIL" : "PASS", ba, bg, bx);
	fflush(stdout);
	return 0;
}
