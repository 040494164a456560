// SPDX-License-Identifier: GPL-2.0
/*
 * vmahog N FILE [shared]: maps one page of FILE N times privately,
 * alternating protections so that no two mappings merge (N VMAs), writes
 * every fourth one (a copy-on-write page to dump), prints READY and waits
 * for a signal. shared: N shared anonymous pages instead (MAP_SHARED |
 * MAP_ANONYMOUS: N shared memory objects, one VMA each; FILE is unused).
 * On SIGUSR1 it checks that every written page still holds its index
 * (after a restore) and prints OK or BAD.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static volatile sig_atomic_t check;

static void on_usr1(int sig)
{
	(void)sig;
	check = 1;
}

int main(int argc, char **argv)
{
	long n = argc > 2 ? atol(argv[1]) : 0;
	bool shared = argc > 3 && !strcmp(argv[3], "shared");
	unsigned long **maps;
	int fd;

	if (n <= 0 || (argc > 3 && !shared)) {
		fprintf(stderr, "usage: vmahog N FILE [shared]\n");
		return 2;
	}
	fd = open(argv[2], O_RDWR | O_CREAT, 0600);
	maps = calloc(n, sizeof(*maps));
	if (fd < 0 || !maps || ftruncate(fd, 4096))
		return 1;
	for (long i = 0; i < n; i++) {
		int prot = i & 1 ? PROT_READ : PROT_READ | PROT_WRITE;

		maps[i] = shared ? mmap(NULL, 4096, prot, MAP_SHARED |
					MAP_ANONYMOUS, -1, 0) :
			  mmap(NULL, 4096, prot, MAP_PRIVATE, fd, 0);
		if (maps[i] == MAP_FAILED) {
			perror("mmap");
			return 1;
		}
		if (i % 4 == 0)
			maps[i][0] = i;
	}
	signal(SIGUSR1, on_usr1);
	printf("READY\n");
	fflush(stdout);
	for (;;) {
		pause();
		if (!check)
			continue;
		check = 0;
		long bad = 0;

		for (long i = 0; i < n; i += 4)
			bad += maps[i][0] != (unsigned long)i;
		printf(bad ? "BAD %ld\n" : "OK\n", bad);
		fflush(stdout);
	}
}
