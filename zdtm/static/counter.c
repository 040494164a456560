// SPDX-License-Identifier: GPL-2.0
/*
 * counter: a busy loop increments a counter in memory and checks, on every
 * iteration, that it still holds the value it wrote the iteration before,
 * and that a heap mirror agrees.  Every 4096 iterations CLOCK_MONOTONIC
 * must not have gone backwards.  A checkpoint can stop the loop anywhere,
 * including between the write of the counter and the write of the mirror.
 *
 * Corrupt points: gap, clock.
 *   (gap: the counter skips a value; clock: a time in the future)
 */
#include <stdlib.h>

#include "zdtmtst.h"

static volatile uint64_t counter;

int main(int argc, char **argv)
{
	volatile uint64_t *mirror;
	uint64_t expect = 0, at_ready, last_ns, now_ns;
	bool corrupt_gap, corrupt_clock;
	unsigned int errors = 0;

	test_init(argc, argv);
	corrupt_gap = test_corrupt("gap");
	corrupt_clock = test_corrupt("clock");

	mirror = malloc(sizeof(*mirror));
	if (!mirror)
		test_abort("malloc");
	*mirror = 0;
	last_ns = test_now_ns();

	/* Run a little before READY so the state is not trivial. */
	while (expect < 1000000) {
		counter = ++expect;
		*mirror = expect;
	}
	at_ready = expect;
	test_ready();

	do {
		if (counter != expect || *mirror != expect) {
			if (errors++ < 5)
				test_fail("counter %lu mirror %lu, expected %lu",
					  (unsigned long)counter,
					  (unsigned long)*mirror,
					  (unsigned long)expect);
			expect = counter;
		}
		counter = ++expect;
		*mirror = expect;

		if (corrupt_gap && expect == at_ready + 1)
			counter = expect + 1;
		if (corrupt_clock) {
			last_ns = test_now_ns() + 1000000000ULL;
			corrupt_clock = false;
		}
		if (expect % 4096)
			continue;
		now_ns = test_now_ns();
		if (now_ns < last_ns && errors++ < 5)
			test_fail("CLOCK_MONOTONIC went back by %lu ns",
				  (unsigned long)(last_ns - now_ns));
		last_ns = now_ns;
	} while (!test_stop);

	if (counter != expect || *mirror != expect)
		test_fail("final counter %lu mirror %lu, expected %lu",
			  (unsigned long)counter, (unsigned long)*mirror,
			  (unsigned long)expect);
	if (test_now_ns() < last_ns)
		test_fail("CLOCK_MONOTONIC went back at the end");
	if (expect <= at_ready)
		test_fail("the loop made no progress after READY");
	test_msg("counted %lu", (unsigned long)expect);
	test_done();
}
