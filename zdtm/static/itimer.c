// SPDX-License-Identifier: GPL-2.0
/*
 * itimer: the three interval timers.
 *   ITIMER_REAL     every 50 ms; a SIGALRM handler counts the ticks;
 *   ITIMER_VIRTUAL  one-shot in 1000 s of user time (never reached);
 *   ITIMER_PROF     2 s interval, first expiry in 500 s of CPU time.
 * After restore each keeps its interval, a value not above what was asked
 * (and for the CPU-time timers barely below), and ITIMER_REAL still ticks.
 * Setting a CPU-time itimer adds one scheduler tick to its value (kernel
 * set_cpu_itimer()), so each restore may add a tick: allow 100 ms of that.
 *
 * Corrupt points: real, virtual.
 */
#include <sys/time.h>

#include "zdtmtst.h"

#define REAL_US		50000
#define VIRT_S		1000
#define PROF_S		500
#define PROF_IVAL_S	2
#define RESET_SLACK_US	100000	/* one tick per restore, 25 restores at HZ=250 */
static volatile sig_atomic_t ticks;

static void on_alarm(int sig)
{
	(void)sig;
	ticks++;
}

static uint64_t tv_us(const struct timeval *tv)
{
	return (uint64_t)tv->tv_sec * 1000000 + tv->tv_usec;
}

static void set(int which, uint64_t value_us, uint64_t interval_us)
{
	struct itimerval it = {
		.it_value = { value_us / 1000000, value_us % 1000000 },
		.it_interval = { interval_us / 1000000, interval_us % 1000000 },
	};

	if (setitimer(which, &it, NULL))
		test_abort("setitimer(%d): %m", which);
}

/* value in (@min_us, @max_us], interval == @interval_us */
static void check(int which, const char *name, uint64_t min_us, uint64_t max_us,
		  uint64_t interval_us)
{
	struct itimerval it;

	if (getitimer(which, &it)) {
		test_fail("getitimer(%s): %m", name);
		return;
	}
	if (tv_us(&it.it_interval) != interval_us || tv_us(&it.it_value) <= min_us ||
	    tv_us(&it.it_value) > max_us)
		test_fail("%s: value %lu us interval %lu us, expected (%lu, %lu] and %lu",
			  name, (unsigned long)tv_us(&it.it_value),
			  (unsigned long)tv_us(&it.it_interval), (unsigned long)min_us,
			  (unsigned long)max_us, (unsigned long)interval_us);
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_alarm, .sa_flags = SA_RESTART };
	struct timespec nap = { .tv_nsec = 300000000 };
	struct itimerval virt, prof;
	int before;

	test_init(argc, argv);
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGALRM, &sa, NULL))
		test_abort("sigaction: %m");
	set(ITIMER_REAL, REAL_US, REAL_US);
	set(ITIMER_VIRTUAL, VIRT_S * 1000000ULL, 0);
	set(ITIMER_PROF, PROF_S * 1000000ULL, PROF_IVAL_S * 1000000ULL);
	/* CPU-time timers round up to a tick: compare with what they read now. */
	getitimer(ITIMER_VIRTUAL, &virt);
	getitimer(ITIMER_PROF, &prof);

	test_ready();
	test_wait_term();
	if (test_corrupt("real"))
		set(ITIMER_REAL, REAL_US, REAL_US * 2);
	if (test_corrupt("virtual"))
		set(ITIMER_VIRTUAL, VIRT_S * 500000ULL, 0);

	check(ITIMER_REAL, "ITIMER_REAL", 0, REAL_US, REAL_US);
	check(ITIMER_VIRTUAL, "ITIMER_VIRTUAL", (VIRT_S - 5) * 1000000ULL,
	      tv_us(&virt.it_value) + RESET_SLACK_US, 0);
	check(ITIMER_PROF, "ITIMER_PROF", (PROF_S - 5) * 1000000ULL,
	      tv_us(&prof.it_value) + RESET_SLACK_US, tv_us(&prof.it_interval));
	before = ticks;
	while (nanosleep(&nap, &nap))
		;
	if (ticks - before < 3)
		test_fail("ITIMER_REAL: %d ticks in 300 ms", ticks - before);
	test_done();
}
