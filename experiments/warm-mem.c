// SPDX-License-Identifier: GPL-2.0
/*
 * warm-mem MIB: touches MIB MiB of fresh anonymous memory, then gives it
 * back, for benchmarks on a virtual machine whose host takes free memory
 * back (free page reporting): memory freed a few seconds ago, written
 * again, costs the host's fault per page (a 1.6 GiB buffered write took
 * 0.3 s or 7.8 s on the same machine, by that alone). Run right before a
 * measured step, it leaves that step as many warm free pages as it
 * touched, for every tool alike. Prints the time the touch took.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>

static double now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
	char *end;
	unsigned long mib = argc == 2 ? strtoul(argv[1], &end, 10) : 0;
	size_t len;
	double t0;
	char *p;

	if (argc != 2 || !mib || *end) {
		fprintf(stderr, "usage: warm-mem MIB\n");
		return 2;
	}
	len = mib << 20;
	p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED) {
		perror("warm-mem: mmap");
		return 1;
	}
	/* small pages: what the page cache and the tools' buffers take */
	madvise(p, len, MADV_NOHUGEPAGE);
	t0 = now_ms();
	for (size_t off = 0; off < len; off += 4096)
		p[off] = 1;
	printf("warm-mem: %lu MiB touched in %.0f ms\n", mib, now_ms() - t0);
	munmap(p, len);
	return 0;
}
