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
 * Usage: memhog [MIB]   (default 1024)
 */
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#define WORD(i)	(((uint64_t)(i) + 1) * 0x9e3779b97f4a7c15ULL | 1)

static volatile sig_atomic_t check_now;

static void on_usr1(int sig)
{
	(void)sig;
	check_now = 1;
}

int main(int argc, char **argv)
{
	size_t bytes = (argc > 1 ? strtoull(argv[1], NULL, 10) : 1024) << 20;
	size_t n = bytes / 8;
	struct sigaction sa = { .sa_handler = on_usr1 };
	uint64_t *mem;
	int null;

	if (!bytes) {
		fprintf(stderr, "usage: memhog [MIB]\n");
		return 2;
	}
	sigaction(SIGUSR1, &sa, NULL);
	mem = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED) {
		perror("memhog: mmap");
		return 1;
	}
	for (size_t i = 0; i < n; i++)
		mem[i] = WORD(i);
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
	for (size_t i = 0; i < n; i++)
		if (mem[i] != WORD(i))
			return 3;
	return 0;
}
