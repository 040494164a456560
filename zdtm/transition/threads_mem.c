// SPDX-License-Identifier: GPL-2.0
/*
 * threads_mem: four threads keep writing memory while being checkpointed.
 * Each owns 256 pages; in round g it checks that the first and last word
 * of every page hold g, then writes g + 1 there, and adds 1 to a shared
 * atomic counter and to its own.  Rounds are never cut short, so after
 * SIGTERM every page holds the final round number, and the shared counter
 * equals the sum of the threads' own counters.
 *
 * Corrupt points: mem, counter.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "zdtmtst.h"

#define NR_WORKERS	4
#define AREA_PAGES	256

struct worker {
	pthread_t handle;
	int idx;
	uint64_t *area;
	uint64_t rounds;
	uint64_t adds;
	unsigned int errors;
};

static struct worker workers[NR_WORKERS];
static uint64_t shared_adds;
static size_t words;		/* per page */
static bool corrupt_mem;

static bool check_page(struct worker *w, size_t i, uint64_t gen)
{
	uint64_t *p = w->area + i * words;

	if (p[0] == gen && p[words - 1] == gen)
		return true;
	if (w->errors++ < 3)
		test_fail("thread %d: page %zu holds %lu/%lu in round %lu", w->idx,
			  i, (unsigned long)p[0], (unsigned long)p[words - 1],
			  (unsigned long)gen);
	return false;
}

static void *worker_fn(void *arg)
{
	struct worker *w = arg;
	uint64_t gen = 0;
	size_t i;

	while (!test_stop) {
		for (i = 0; i < AREA_PAGES; i++) {
			uint64_t *p = w->area + i * words;

			check_page(w, i, gen);
			p[0] = gen + 1;
			p[words - 1] = gen + 1;
			__atomic_add_fetch(&shared_adds, 1, __ATOMIC_RELAXED);
			w->adds++;
		}
		gen++;
	}
	w->rounds = gen;
	if (corrupt_mem && w->idx == 0)
		w->area[7 * words] = 12345;
	for (i = 0; i < AREA_PAGES; i++)
		check_page(w, i, gen);
	return NULL;
}

int main(int argc, char **argv)
{
	size_t ps = sysconf(_SC_PAGESIZE);
	uint64_t sum = 0;
	int i;

	test_init(argc, argv);
	words = ps / 8;
	corrupt_mem = test_corrupt("mem");
	for (i = 0; i < NR_WORKERS; i++) {
		workers[i].idx = i;
		workers[i].area = aligned_alloc(ps, AREA_PAGES * ps);
		if (!workers[i].area)
			test_abort("aligned_alloc");
		memset(workers[i].area, 0, AREA_PAGES * ps);
	}
	for (i = 0; i < NR_WORKERS; i++)
		if (pthread_create(&workers[i].handle, NULL, worker_fn, &workers[i]))
			test_abort("pthread_create: %m");

	test_ready();
	test_wait_term();
	for (i = 0; i < NR_WORKERS; i++) {
		pthread_join(workers[i].handle, NULL);
		sum += workers[i].adds;
		if (!workers[i].rounds)
			test_fail("thread %d made no progress", i);
	}
	if (test_corrupt("counter"))
		sum++;
	if (sum != __atomic_load_n(&shared_adds, __ATOMIC_RELAXED))
		test_fail("shared counter %lu, threads counted %lu",
			  (unsigned long)shared_adds, (unsigned long)sum);
	test_msg("rounds: %lu %lu %lu %lu", (unsigned long)workers[0].rounds,
		 (unsigned long)workers[1].rounds, (unsigned long)workers[2].rounds,
		 (unsigned long)workers[3].rounds);
	test_done();
}
