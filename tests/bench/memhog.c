// SPDX-License-Identifier: GPL-2.0
/*
 * The target of bench-mem: maps MIB MiB of private anonymous memory, fills
 * every 8-byte word with a non-zero value derived from its index (so no
 * page is zero and no two pages are equal), prints
 *     READY <pid> <address in hex> <bytes>
 * then points stdin/stdout/stderr at /dev/null (nothing in the dumped
 * process refers to the benchmark) and sleeps in pause().
 * On SIGUSR1 it checks every word and exits 0 if all are intact, 3 if not:
 * after a restore this proves the memory came back whole.
 *
 * Mode "mixed" fills pages the way ordinary process memory compresses
 * (2.5x with zstd, 1.8x with LZ4 here) instead of not at all: of each
 * page, the first KiB is text (a line naming the page, repeated), the
 * next 2 KiB small integers (20-bit values in 64-bit words) and the last
 * KiB the words above.
 * Usage: memhog [MIB [mixed]]   (default 1024, incompressible)
 */
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define WORD(i)		(((uint64_t)(i) + 1) * 0x9e3779b97f4a7c15ULL | 1)
#define PAGE		4096
#define PAGE_WORDS	(PAGE / 8)
#define TEXT_BYTES	1024
#define SMALL_END	(3 * PAGE_WORDS / 4)	/* words of small integers */

static volatile sig_atomic_t check_now;

static void on_usr1(int sig)
{
	(void)sig;
	check_now = 1;
}

/* Page p (words from index p * PAGE_WORDS) as mode mixed has it. */
static void mixed_page(size_t p, uint64_t *w)
{
	char line[96], *text = (char *)w;
	int len = snprintf(line, sizeof(line), "memhog page %zu: the quick "
			   "brown fox jumps over the lazy dog\n", p);

	for (int off = 0; off < TEXT_BYTES; off += len)
		memcpy(text + off, line, off + len <= TEXT_BYTES ? len :
		       TEXT_BYTES - off);
	for (size_t k = TEXT_BYTES / 8; k < PAGE_WORDS; k++)
		w[k] = k < SMALL_END ? WORD(p * PAGE_WORDS + k) >> 44 | 1 :
			WORD(p * PAGE_WORDS + k);
}

static void fill(uint64_t *mem, size_t n, bool mixed)
{
	for (size_t i = 0; i < n; i++)
		mem[i] = WORD(i);
	for (size_t p = 0; mixed && p < n / PAGE_WORDS; p++)
		mixed_page(p, mem + p * PAGE_WORDS);
}

static bool intact(const uint64_t *mem, size_t n, bool mixed)
{
	uint64_t page[PAGE_WORDS];

	if (!mixed) {
		for (size_t i = 0; i < n; i++)
			if (mem[i] != WORD(i))
				return false;
		return true;
	}
	for (size_t p = 0; p < n / PAGE_WORDS; p++) {
		mixed_page(p, page);
		if (memcmp(page, mem + p * PAGE_WORDS, PAGE))
			return false;
	}
	return true;
}

int main(int argc, char **argv)
{
	size_t bytes = (argc > 1 ? strtoull(argv[1], NULL, 10) : 1024) << 20;
	bool mixed = argc > 2 && !strcmp(argv[2], "mixed");
	size_t n = bytes / 8;
	struct sigaction sa = { .sa_handler = on_usr1 };
	uint64_t *mem;
	int null;

	if (!bytes || (argc > 2 && !mixed)) {
		fprintf(stderr, "usage: memhog [MIB [mixed]]\n");
		return 2;
	}
	sigaction(SIGUSR1, &sa, NULL);
	mem = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED) {
		perror("memhog: mmap");
		return 1;
	}
	fill(mem, n, mixed);
	printf("READY %d %lx %zu\n", getpid(), (unsigned long)mem, bytes);
	fflush(stdout);
	null = open("/dev/null", O_RDWR);
	if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 ||
	    dup2(null, 2) < 0)
		return 1;
	if (null > 2)
		close(null);

	while (!check_now)
		pause();
	return intact(mem, n, mixed) ? 0 : 3;
}
