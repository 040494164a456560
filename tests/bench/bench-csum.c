// SPDX-License-Identifier: GPL-2.0
/*
 * bench-csum: the page checksum alone, per GiB of pages (best of 5 passes
 * over a 256 MiB buffer of random pages, in cache-cold order), against the
 * multiply-xor checksum the images used before format 2 and against a plain
 * read of the same memory (the ceiling).
 *   bench-csum [MIB]
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "csum.h"

#define PAGE	4096UL

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* The format-1 page checksum (images/pagemap.c before crc32c): four
 * multiply-xor lanes. Kept here only to compare. */
static uint32_t legacy_page(const void *p)
{
	const uint64_t *w = p;
	const uint64_t k = 0xff51afd7ed558ccdULL;
	uint64_t a = 0x9e3779b97f4a7c15ULL, b = a ^ 1, c = a ^ 2, d = a ^ 3;

	for (size_t i = 0; i < PAGE / 8; i += 4) {
		a = (a ^ w[i]) * k;
		b = (b ^ w[i + 1]) * k;
		c = (c ^ w[i + 2]) * k;
		d = (d ^ w[i + 3]) * k;
	}
	a ^= (b << 1 | b >> 63) ^ (c << 2 | c >> 62) ^ (d << 3 | d >> 61);
	return a ^ a >> 33;
}

static uint32_t read_only(const void *p)
{
	const uint64_t *w = p;
	uint64_t x = 0;

	for (size_t i = 0; i < PAGE / 8; i++)
		x ^= w[i];
	return x;
}

static uint32_t one_lane(const void *p)
{
	return crc32c(p, PAGE);
}

static void run(const char *name, uint32_t (*fn)(const void *),
		const uint8_t *buf, size_t len)
{
	double best = 1e9;
	uint32_t acc = 0;

	for (int pass = 0; pass < 5; pass++) {
		double t0 = now();

		for (size_t off = 0; off < len; off += PAGE)
			acc ^= fn(buf + off);
		if (now() - t0 < best)
			best = now() - t0;
	}
	printf("bench-csum: %-28s %6.1f ms/GiB  %5.1f GB/s  (%08x)\n", name,
	       best * 1e3 * (1UL << 30) / len, len / best / 1e9, acc);
}

int main(int argc, char **argv)
{
	size_t mib = argc > 1 ? strtoul(argv[1], NULL, 0) : 256;
	size_t len = mib << 20;
	uint8_t *buf = aligned_alloc(PAGE, len);
	uint64_t x = 88172645463325252ULL;

	if (!buf || !len) {
		fprintf(stderr, "bench-csum: no memory for %zu MiB\n", mib);
		return 1;
	}
	for (size_t i = 0; i < len / 8; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		memcpy(buf + i * 8, &x, 8);
	}
	printf("bench-csum: %zu MiB of random pages, crc32 instruction: %s\n",
	       mib, csum_has_hw() ? "yes" : "no");
	run("read (ceiling)", read_only, buf, len);
	run("format 1 multiply-xor", legacy_page, buf, len);
	run("page_crc (4-lane crc32c)", page_crc, buf, len);
	run("crc32c one lane", one_lane, buf, len);
	run("page_crc_sw (tables)", page_crc_sw, buf, len);
	free(buf);
	return 0;
}
