// SPDX-License-Identifier: GPL-2.0
/*
 * timerfd: three timers that must keep their settings and keep running:
 *   tick: CLOCK_MONOTONIC, TFD_NONBLOCK, every 100 ms.  After restore its
 *         interval is still 100 ms, it still expires, and it never reports
 *         more expirations than the time elapsed allows;
 *   far:  CLOCK_REALTIME one-shot in 1 hour: the time left must be at most
 *         what was asked, and at least that minus the time elapsed;
 *   abs:  CLOCK_MONOTONIC with TFD_TIMER_ABSTIME 1 hour ahead: same check.
 *
 * Corrupt points: interval, far.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "zdtmtst.h"

#define TICK_NS		100000000ULL
#define HOUR_NS		3600000000000ULL
#define SLACK_NS	50000000ULL

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

static int set_timer(int fd, int flags, uint64_t value_ns, uint64_t interval_ns)
{
	struct itimerspec its = { .it_value = ns_ts(value_ns),
				  .it_interval = ns_ts(interval_ns) };

	return timerfd_settime(fd, flags, &its, NULL);
}

static int make_timer(int clock, int flags, int set_flags, uint64_t value_ns,
		      uint64_t interval_ns)
{
	int fd = timerfd_create(clock, flags);

	if (fd < 0 || set_timer(fd, set_flags, value_ns, interval_ns))
		test_abort("timerfd: %m");
	return fd;
}

static bool is_timerfd(int fd, const char *name)
{
	char link[64];

	test_fd_link(fd, link, sizeof(link));
	if (strcmp(link, "anon_inode:[timerfd]")) {
		test_fail("%s: fd %d is \"%s\"", name, fd, link);
		return false;
	}
	return true;
}

static uint64_t read_ticks(int fd)
{
	uint64_t n = 0;

	if (read(fd, &n, sizeof(n)) != sizeof(n) && errno != EAGAIN)
		test_fail("tick: read: %m");
	return n;
}

static void check_tick(int fd, uint64_t start_ns, uint64_t ticks_before)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	struct itimerspec its;
	uint64_t ticks, elapsed;

	if (timerfd_gettime(fd, &its) || ts_ns(&its.it_interval) != TICK_NS)
		test_fail("tick: interval %lu ns, expected %llu",
			  (unsigned long)ts_ns(&its.it_interval), TICK_NS);
	if (ts_ns(&its.it_value) == 0 || ts_ns(&its.it_value) > TICK_NS)
		test_fail("tick: next expiry in %lu ns", (unsigned long)ts_ns(&its.it_value));
	ticks = ticks_before + read_ticks(fd);
	if (poll(&pfd, 1, 500) != 1)
		test_fail("tick: no expiry within 500 ms after restore");
	ticks += read_ticks(fd);
	elapsed = test_now_ns() - start_ns;
	if (ticks < 2 || ticks > elapsed / TICK_NS + 1)
		test_fail("tick: %lu expirations in %lu ms", (unsigned long)ticks,
			  (unsigned long)(elapsed / 1000000));
}

static void check_far(int fd, const char *name, uint64_t start_ns)
{
	uint64_t left, elapsed = test_now_ns() - start_ns;
	struct itimerspec its;

	if (timerfd_gettime(fd, &its)) {
		test_fail("%s: timerfd_gettime: %m", name);
		return;
	}
	left = ts_ns(&its.it_value);
	if (ts_ns(&its.it_interval) || left > HOUR_NS ||
	    left + elapsed + SLACK_NS < HOUR_NS)
		test_fail("%s: %lu ms left (interval %lu), asked 1 h %lu ms ago",
			  name, (unsigned long)(left / 1000000),
			  (unsigned long)ts_ns(&its.it_interval),
			  (unsigned long)(elapsed / 1000000));
}

int main(int argc, char **argv)
{
	uint64_t start = test_now_ns(), ticks;
	struct timespec now, nap = ns_ts(TICK_NS + TICK_NS / 2);
	int tick, far, abs_fd;

	test_init(argc, argv);
	clock_gettime(CLOCK_MONOTONIC, &now);
	tick = make_timer(CLOCK_MONOTONIC, TFD_NONBLOCK, 0, TICK_NS, TICK_NS);
	far = make_timer(CLOCK_REALTIME, 0, 0, HOUR_NS, 0);
	abs_fd = make_timer(CLOCK_MONOTONIC, TFD_NONBLOCK, TFD_TIMER_ABSTIME,
			    ts_ns(&now) + HOUR_NS, 0);
	/* Let the tick timer expire once before the checkpoint. */
	nanosleep(&nap, NULL);
	ticks = read_ticks(tick);

	test_ready();
	test_wait_term();
	if (test_corrupt("interval"))
		set_timer(tick, 0, TICK_NS, TICK_NS / 2);
	if (test_corrupt("far"))
		set_timer(far, 0, HOUR_NS / 2, 0);

	if (is_timerfd(tick, "tick"))
		check_tick(tick, start, ticks);
	if (is_timerfd(far, "far"))
		check_far(far, "far", start);
	if (is_timerfd(abs_fd, "abs"))
		check_far(abs_fd, "abs", start);
	test_done();
}
