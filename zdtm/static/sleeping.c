// SPDX-License-Identifier: GPL-2.0
/*
 * sleeping: the process is almost always inside a sleep when checkpointed.
 * It alternates a relative nanosleep() of 300 ms and an absolute
 * clock_nanosleep(TIMER_ABSTIME) to a deadline 300 ms ahead.
 *
 * A sleep interrupted by a checkpoint must be resumed by the restore: the
 * kernel restarts an absolute sleep itself (-ERESTARTNOHAND), a relative
 * one cannot be (-ERESTART_RESTARTBLOCK), so it may come back as EINTR with
 * *rem holding the time that was left at the checkpoint (that is what a
 * signal would do).  Either way:
 *   - a sleep that returns 0 has slept at least the time asked for;
 *   - an EINTR without our SIGTERM leaves a sane rem: not more than asked,
 *     not less than asked minus the time elapsed since;
 *   - then sleeping rem more completes the 300 ms.
 *
 * Corrupt points: early.
 *   (after SIGTERM, one more sleep pretends to have started earlier)
 */
#include <errno.h>

#include "zdtmtst.h"

#define NAP_NS	300000000ULL

static uint64_t ts_ns(const struct timespec *ts)
{
	return (uint64_t)ts->tv_sec * 1000000000ULL + ts->tv_nsec;
}

static struct timespec ns_ts(uint64_t ns)
{
	struct timespec ts = { .tv_sec = ns / 1000000000ULL,
			       .tv_nsec = ns % 1000000000ULL };
	return ts;
}

static unsigned int nr_eintr;

/* Returns false when SIGTERM ended the sleep. */
static bool nap_relative(bool corrupt)
{
	struct timespec req = ns_ts(NAP_NS), rem;
	uint64_t t0 = test_now_ns(), elapsed;

	if (corrupt)
		t0 += NAP_NS / 2;
	while (nanosleep(&req, &rem)) {
		if (errno != EINTR) {
			test_fail("nanosleep: %m");
			return false;
		}
		if (test_stop)
			return false;
		nr_eintr++;
		elapsed = test_now_ns() - t0;
		if (ts_ns(&rem) > ts_ns(&req) ||
		    ts_ns(&rem) + elapsed + 1000000 < NAP_NS)
			test_fail("nanosleep EINTR: rem %lu ns, asked %lu ns, %lu ns elapsed",
				  (unsigned long)ts_ns(&rem),
				  (unsigned long)ts_ns(&req),
				  (unsigned long)elapsed);
		req = rem;
	}
	elapsed = test_now_ns() - t0;
	if (elapsed < NAP_NS)
		test_fail("nanosleep returned after %lu ns, asked %llu ns",
			  (unsigned long)elapsed, NAP_NS);
	return true;
}

static bool nap_absolute(void)
{
	uint64_t deadline = test_now_ns() + NAP_NS;
	struct timespec ts = ns_ts(deadline);
	int ret;

	while ((ret = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL))) {
		if (ret != EINTR) {
			test_fail("clock_nanosleep: %d", ret);
			return false;
		}
		if (test_stop)
			return false;
		nr_eintr++;
	}
	if (test_now_ns() < deadline)
		test_fail("clock_nanosleep returned %lu ns before its deadline",
			  (unsigned long)(deadline - test_now_ns()));
	return true;
}

int main(int argc, char **argv)
{
	bool corrupt;
	unsigned int naps = 0;

	test_init(argc, argv);
	corrupt = test_corrupt("early");
	test_ready();
	while (!test_stop) {
		if (!nap_relative(false))
			break;
		naps++;
		if (!nap_absolute())
			break;
		naps++;
	}
	if (corrupt)
		nap_relative(true);
	test_msg("%u naps completed, %u resumed after EINTR", naps, nr_eintr);
	test_done();
}
