// SPDX-License-Identifier: GPL-2.0
/*
 * epoll_loop: an event loop at work.  A producer thread, every millisecond,
 * writes the next u64 of a sequence into a non-blocking pipe and adds 1 to
 * an eventfd.  The main thread runs an epoll_wait() loop over both: it
 * reads every sequence number (no gap, no repeat) and sums the eventfd
 * counts.  A checkpoint finds the main thread in epoll_wait() or handling
 * an event, the producer in nanosleep() or writing.  At the end the number
 * of values received, the eventfd sum and the producer's count agree.
 *
 * Corrupt points: event.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "zdtmtst.h"

static int pipe_fd[2], efd;
static uint64_t produced;
static int producer_done;

static void *producer(void *arg)
{
	struct timespec ms = { .tv_nsec = 1000000 };
	uint64_t seq = 0, one = 1;

	(void)arg;
	while (!test_stop) {
		if (write(pipe_fd[1], &seq, 8) != 8) {
			if (errno != EAGAIN && errno != EINTR)
				test_fail("producer: write pipe: %m");
			continue;	/* full or interrupted: try again */
		}
		seq++;
		while (write(efd, &one, 8) != 8)
			if (errno != EINTR) {
				test_fail("producer: write eventfd: %m");
				break;
			}
		nanosleep(&ms, NULL);
	}
	produced = seq;
	__atomic_store_n(&producer_done, 1, __ATOMIC_RELEASE);
	return NULL;
}

struct consumer {
	uint64_t expect;	/* next sequence number */
	uint64_t events;	/* sum of eventfd counts */
	unsigned int errors;
};

static void drain_pipe(struct consumer *c)
{
	uint64_t v[64];
	ssize_t n;
	int i;

	while ((n = read(pipe_fd[0], v, sizeof(v))) > 0) {
		if (n % 8)
			test_fail("consumer: read %zd bytes, not whole values", n);
		for (i = 0; i < n / 8; i++) {
			if (v[i] != c->expect && c->errors++ < 3)
				test_fail("consumer: got %lu, expected %lu",
					  (unsigned long)v[i], (unsigned long)c->expect);
			c->expect = v[i] + 1;
		}
	}
}

static void drain_eventfd(struct consumer *c)
{
	uint64_t v;

	if (read(efd, &v, 8) == 8)
		c->events += v;
}

int main(int argc, char **argv)
{
	struct epoll_event ev = { .events = EPOLLIN }, evs[4];
	struct consumer c = { 0 };
	pthread_t th;
	int ep, n, i;

	test_init(argc, argv);
	ep = epoll_create1(0);
	efd = eventfd(0, EFD_NONBLOCK);
	if (ep < 0 || efd < 0 || pipe2(pipe_fd, O_NONBLOCK))
		test_abort("setup: %m");
	ev.data.fd = pipe_fd[0];
	if (epoll_ctl(ep, EPOLL_CTL_ADD, pipe_fd[0], &ev))
		test_abort("epoll_ctl: %m");
	ev.data.fd = efd;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev))
		test_abort("epoll_ctl: %m");
	if (pthread_create(&th, NULL, producer, NULL))
		test_abort("pthread_create: %m");

	test_ready();
	while (!__atomic_load_n(&producer_done, __ATOMIC_ACQUIRE)) {
		n = epoll_wait(ep, evs, 4, 100);
		if (n < 0 && errno != EINTR)
			test_fail("epoll_wait: %m");
		for (i = 0; i < n; i++) {
			if (evs[i].data.fd == pipe_fd[0])
				drain_pipe(&c);
			else
				drain_eventfd(&c);
		}
	}
	pthread_join(th, NULL);
	drain_pipe(&c);
	drain_eventfd(&c);
	if (test_corrupt("event"))
		c.events--;
	if (c.expect != produced || c.events != produced)
		test_fail("produced %lu, received %lu values and %lu events",
			  (unsigned long)produced, (unsigned long)c.expect,
			  (unsigned long)c.events);
	if (!produced)
		test_fail("nothing was produced");
	test_msg("%lu events", (unsigned long)produced);
	test_done();
}
