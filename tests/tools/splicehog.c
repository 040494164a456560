// SPDX-License-Identifier: GPL-2.0
/*
 * The target of tests/splice.sh: maps MIB MiB of private anonymous
 * memory; every 4th page is written and then zeroed again (present, all
 * zero: the zero-page skipper's), the others get a pattern derived from
 * their index (no two equal). With "fork", a child is forked after the
 * fill: every page is then shared copy-on-write between the two. Prints
 *     READY <pid> <child pid or 0> <address in hex> <bytes>
 * and waits. On SIGUSR1 each process checks every page and exits 0 if
 * all are intact, 3 if not (and says so); on SIGUSR2 the parent writes a word of every
 * page (the child must keep seeing its own, the COW copies).
 * Usage: splicehog MIB [fork]
 */
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PAGE		4096
#define PAGE_WORDS	(PAGE / 8)
#define WORD(i)		(((uint64_t)(i) + 1) * 0x9e3779b97f4a7c15ULL | 1)

static volatile sig_atomic_t check_now, write_now;

static void on_usr1(int sig)
{
	(void)sig;
	check_now = 1;
}

static void on_usr2(int sig)
{
	(void)sig;
	write_now = 1;
}

static bool zero_page(size_t p)
{
	return p % 4 == 3;
}

static void fill(uint64_t *mem, size_t pages)
{
	for (size_t p = 0; p < pages; p++) {
		uint64_t *w = mem + p * PAGE_WORDS;

		for (size_t k = 0; k < PAGE_WORDS; k++)
			w[k] = WORD(p * PAGE_WORDS + k);
		if (zero_page(p))
			memset(w, 0, PAGE);
	}
}

static bool intact(const uint64_t *mem, size_t pages)
{
	for (size_t p = 0; p < pages; p++) {
		const uint64_t *w = mem + p * PAGE_WORDS;

		for (size_t k = 0; k < PAGE_WORDS; k++)
			if (w[k] != (zero_page(p) ? 0 : WORD(p * PAGE_WORDS + k)))
				return false;
	}
	return true;
}

/* Waits for the signals; the check's result is said ("CHECK <pid> ok"
 * or "bad": the child's status is not the test's to wait for) and is
 * the exit status. */
static int serve(uint64_t *mem, size_t pages, bool writer)
{
	for (;;) {
		if (check_now) {
			bool ok = intact(mem, pages);

			printf("CHECK %d %s\n", getpid(), ok ? "ok" : "bad");
			fflush(stdout);
			return ok ? 0 : 3;
		}
		if (write_now && writer) {
			/* the parent's own copies now; checked no more */
			for (size_t p = 0; p < pages; p++)
				mem[p * PAGE_WORDS] = ~0ULL;
			write_now = 0;
			pages = 0;
		}
		/* not pause(): a signal caught between the checks above and
		 * the pause (a restored process comes back to this loop just
		 * as the test signals it) would be waited for for ever */
		nanosleep(&(struct timespec){ .tv_nsec = 50 * 1000 * 1000 }, NULL);
	}
}

int main(int argc, char **argv)
{
	size_t bytes = (argc > 1 ? strtoull(argv[1], NULL, 10) : 0) << 20;
	bool forked = argc > 2 && !strcmp(argv[2], "fork");
	struct sigaction sa = { .sa_handler = on_usr1 };
	uint64_t *mem;
	pid_t child = 0;

	if (!bytes || (argc > 2 && !forked)) {
		fprintf(stderr, "usage: splicehog MIB [fork]\n");
		return 2;
	}
	sigaction(SIGUSR1, &sa, NULL);
	sa.sa_handler = on_usr2;
	sigaction(SIGUSR2, &sa, NULL);
	mem = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED) {
		perror("splicehog: mmap");
		return 1;
	}
	fill(mem, bytes / PAGE);
	if (forked) {
		child = fork();
		if (child < 0)
			return 1;
		if (!child)
			return serve(mem, bytes / PAGE, false);
	}
	printf("READY %d %d %lx %zu\n", getpid(), child, (unsigned long)mem,
	       bytes);
	fflush(stdout);
	return serve(mem, bytes / PAGE, true);
}
