// SPDX-License-Identifier: GPL-2.0
/*
 * dirty_pages: memory that keeps changing while it is pre-dumped layer
 * after layer, the way a guest's RAM does.
 *
 * One area of ZDTM_DIRTY_MB MiB (default 32), in quarters, every word of
 * page i holding i << 32 | gen[i], gen[i] counting its writes (gen lives
 * in memory too):
 *   - the first is written once before READY and never again: a restore
 *     takes it from the oldest layer of a pre-dump chain;
 *   - the middle half is written before READY too, then rewritten by a
 *     writer thread, ZDTM_DIRTY_RATE pages a second (default 4000), pages
 *     picked at random; with ZDTM_DIRTY_ZERO=K every K-th of those
 *     writes zeroes its page instead (generation 0: must read as zero),
 *     so that pages copied with data become zero pages;
 *   - the last is never touched and must read as zero.
 * Meanwhile the main thread, every 20 ms, maps a fresh 64-page VMA over
 * the "churn" area (MAP_FIXED: a new VMA where a tracked one was) and
 * fills it with its round number, and drops a 64-page "dropped" area with
 * MADV_DONTNEED and rewrites its first half.
 *
 * A dump freezing a thread mid-page is fine: the thread completes the page
 * after restore. After SIGTERM every page must match its generation, the
 * untouched quarter be zero, churn and dropped hold their last round.
 *
 * Corrupt points: mem, zero, churn, dropped.
 * (mem: a word of a written page; zero: one of the untouched quarter)
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "zdtmtst.h"

#define SIDE_PAGES	64

static size_t ps, words, nr_pages;
static uint64_t *area;		/* nr_pages pages */
static uint32_t *gen;		/* per page of area */
static uint64_t *churn, *dropped;
static uint64_t churn_round, drop_round;
static uint64_t writes;
static unsigned long zero_every;	/* ZDTM_DIRTY_ZERO */

static void fill_page(uint64_t *p, uint64_t v)
{
	for (size_t w = 0; w < words; w++)
		p[w] = v;
}

static bool page_is(const uint64_t *p, uint64_t v)
{
	for (size_t w = 0; w < words; w++)
		if (p[w] != v)
			return false;
	return true;
}

static void *writer_fn(void *arg)
{
	size_t first = nr_pages / 4, span = nr_pages / 2;
	unsigned long rate = (unsigned long)(uintptr_t)arg, batch;
	struct timespec ms = { 0, 1000000 };
	uint64_t n = 0;

	batch = rate / 1000 ? rate / 1000 : 1;
	while (!test_stop) {
		for (unsigned long b = 0; b < batch; b++) {
			size_t i = first + test_mix64(n) % span;
			uint32_t g = gen[i] + 1;

			if (zero_every && n % zero_every == 0) {
				fill_page(area + i * words, 0);
				gen[i] = 0;
			} else {
				fill_page(area + i * words, (uint64_t)i << 32 | g);
				gen[i] = g;
			}
			n++;
			writes++;
		}
		nanosleep(&ms, NULL);
	}
	return NULL;
}

/* A new VMA over the old one, filled with the round number. */
static void churn_once(void)
{
	uint64_t r = churn_round + 1;
	void *p = mmap(churn, SIDE_PAGES * ps, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);

	if (p != churn)
		test_abort("mmap over the churn area: %m");
	for (size_t i = 0; i < SIDE_PAGES; i++)
		fill_page(churn + i * words, r << 32 | i);
	churn_round = r;
}

/* Dropped, then half of it written again. */
static void drop_once(void)
{
	uint64_t r = drop_round + 1;

	if (madvise(dropped, SIDE_PAGES * ps, MADV_DONTNEED))
		test_abort("madvise(MADV_DONTNEED): %m");
	for (size_t i = 0; i < SIDE_PAGES / 2; i++)
		fill_page(dropped + i * words, r << 32 | i);
	drop_round = r;
}

static void check_area(void)
{
	unsigned bad = 0;

	for (size_t i = 0; i < nr_pages; i++) {
		uint64_t want = gen[i] ? (uint64_t)i << 32 | gen[i] : 0;

		if (page_is(area + i * words, want))
			continue;
		if (bad++ < 3)
			test_fail("page %zu of %zu: expected generation %u (word "
				  "0 holds %#lx)", i, nr_pages, gen[i],
				  (unsigned long)area[i * words]);
	}
	if (bad)
		test_fail("%u of %zu pages wrong", bad, nr_pages);
}

static void check_sides(void)
{
	for (size_t i = 0; i < SIDE_PAGES; i++) {
		if (!page_is(churn + i * words, churn_round << 32 | i)) {
			test_fail("churn page %zu: not round %lu", i,
				  (unsigned long)churn_round);
			break;
		}
	}
	for (size_t i = 0; i < SIDE_PAGES; i++) {
		uint64_t want = i < SIDE_PAGES / 2 ? drop_round << 32 | i : 0;

		if (!page_is(dropped + i * words, want)) {
			test_fail("dropped page %zu: not round %lu%s", i,
				  (unsigned long)drop_round,
				  want ? "" : " (a dropped half: zero)");
			break;
		}
	}
}

static void *map_area(size_t pages)
{
	void *p = mmap(NULL, pages * ps, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		test_abort("mmap %zu pages: %m", pages);
	return p;
}

static void corrupt(void)
{
	if (test_corrupt("mem"))
		area[(nr_pages / 2) * words + 3] ^= 1;
	if (test_corrupt("zero"))
		area[(nr_pages - 1) * words] = 1;
	if (test_corrupt("churn"))
		churn[5] ^= 1;
	if (test_corrupt("dropped"))
		dropped[(SIDE_PAGES - 1) * words] = 7;
}

int main(int argc, char **argv)
{
	unsigned long mb = test_env_ul("ZDTM_DIRTY_MB", 32);
	unsigned long rate = test_env_ul("ZDTM_DIRTY_RATE", 4000);

	zero_every = test_env_ul("ZDTM_DIRTY_ZERO", 0);
	struct timespec tick = { 0, 20000000 };
	pthread_t writer;

	test_init(argc, argv);
	ps = sysconf(_SC_PAGESIZE);
	words = ps / sizeof(uint64_t);
	nr_pages = (mb << 20) / ps;
	if (nr_pages < 16)
		test_abort("ZDTM_DIRTY_MB too small");
	area = map_area(nr_pages);
	gen = calloc(nr_pages, sizeof(*gen));
	if (!gen)
		test_abort("calloc");
	churn = map_area(SIDE_PAGES);
	dropped = map_area(SIDE_PAGES);
	for (size_t i = 0; i < nr_pages / 4 * 3; i++) {
		gen[i] = 1;
		fill_page(area + i * words, (uint64_t)i << 32 | 1);
	}
	churn_once();
	drop_once();
	if (pthread_create(&writer, NULL, writer_fn, (void *)(uintptr_t)rate))
		test_abort("pthread_create: %m");
	test_ready();
	while (!test_stop) {
		churn_once();
		drop_once();
		nanosleep(&tick, NULL);
	}
	pthread_join(writer, NULL);
	corrupt();
	check_area();
	check_sides();
	test_msg("%lu page writes, %lu churn rounds, %lu drop rounds",
		 (unsigned long)writes, (unsigned long)churn_round,
		 (unsigned long)drop_round);
	if (!writes)
		test_fail("the writer made no progress");
	test_done();
}
