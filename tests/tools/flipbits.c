// SPDX-License-Identifier: GPL-2.0
/*
 * flipbits FILE SEED N: flips N bits of FILE at offsets drawn from SEED
 * (splitmix64), in place, and prints them as "byte.bit" so that a failing
 * case can be made again by hand.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static uint64_t splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ z >> 30) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ z >> 27) * 0x94d049bb133111ebULL;
	return z ^ z >> 31;
}

int main(int argc, char **argv)
{
	uint64_t seed;
	struct stat st;
	int fd, n;

	if (argc != 4) {
		fprintf(stderr, "usage: flipbits FILE SEED N\n");
		return 2;
	}
	seed = strtoull(argv[2], NULL, 0);
	n = atoi(argv[3]);
	fd = open(argv[1], O_RDWR);
	if (fd < 0 || fstat(fd, &st) || !st.st_size) {
		perror(argv[1]);
		return 1;
	}
	for (int i = 0; i < n; i++) {
		uint64_t r = splitmix(&seed);
		off_t off = r % st.st_size;
		int bit = (r >> 56) & 7;
		uint8_t b;

		if (pread(fd, &b, 1, off) != 1)
			return 1;
		b ^= 1 << bit;
		if (pwrite(fd, &b, 1, off) != 1)
			return 1;
		printf("%s%lld.%d", i ? " " : "", (long long)off, bit);
	}
	printf("\n");
	return 0;
}
