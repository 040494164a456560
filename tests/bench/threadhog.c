// SPDX-License-Identifier: GPL-2.0
/*
 * The target of bench-threads: 16 threads sharing MIB MiB (default 2048)
 * of private anonymous memory, each thread owning one sixteenth of it.
 * Every thread first fills its own slice with non-zero words derived from
 * their index (no page is zero, no two pages are equal); then:
 *
 *   thread  0       the main thread: sigwaitinfo(SIGUSR1)
 *   threads 1-4     spin rewriting their slice, pass after pass: each word
 *                   is checked to hold the previous pass's value and gets
 *                   the next one, so the slice always holds pass g + 1
 *                   below the thread's position and pass g above it
 *   threads 5-6     spin reading their slice, checking every word
 *   thread  7       FUTEX_WAIT without a timeout
 *   thread  8       pthread_cond_wait
 *   thread  9       FUTEX_WAIT with a 10 ms timeout, in a loop
 *   thread 10       poll() on a pipe without a timeout
 *   thread 11       poll() on a pipe with a 20 ms timeout, in a loop
 *   thread 12       read() on an empty pipe
 *   thread 13       select() on a pipe without a timeout
 *   thread 14       nanosleep(5 ms), in a loop
 *   thread 15       clock_nanosleep(1 h), woken by SIGUSR2
 *
 * Threads that wake up on their own (9, 11, 14) check a 1 MiB window of
 * their slice each time. Once all are running it prints
 *     READY <pid> <address in hex> <bytes> <threads>
 * and points stdin/stdout/stderr at /dev/null.
 *
 * On SIGUSR1 (after a restore) it checks itself:
 *   1. every thread must make progress: the spinning ones on their own,
 *      the blocked ones once woken (futex wake, cond broadcast, a byte in
 *      their pipe, SIGUSR2); a thread that does not within 10 s is stuck
 *   2. every thread is told to stop, checks its whole slice (the writers
 *      against their own pass and position, which came back in their
 *      registers) and is joined; the main thread checks its own slice
 * Exit status: 0 all intact and running, 3 main thread's slice wrong,
 * 10 + T thread T's slice wrong, 30 + T thread T made no progress,
 * 50 + T thread T did not stop, 1 setup failed.
 * Usage: threadhog [MIB]   (MIB a multiple of 16; default 2048)
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/select.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define NR_THREADS	16
#define STRIDE		512		/* words between progress/stop checks */
#define WINDOW		(128UL << 10)	/* words checked per wake-up: 1 MiB */

enum role {
	R_MAIN, R_WRITE, R_READ, R_FUTEX, R_COND, R_FUTEX_TIMED, R_POLL,
	R_POLL_TIMED, R_READ_PIPE, R_SELECT, R_NANOSLEEP, R_LONG_SLEEP,
};

static const enum role roles[NR_THREADS] = {
	R_MAIN,
	R_WRITE, R_WRITE, R_WRITE, R_WRITE,
	R_READ, R_READ,
	R_FUTEX, R_COND, R_FUTEX_TIMED,
	R_POLL, R_POLL_TIMED, R_READ_PIPE, R_SELECT,
	R_NANOSLEEP, R_LONG_SLEEP,
};

struct worker {
	int idx;
	enum role role;
	uint64_t *mem;		/* its slice */
	size_t base;		/* index of its first word in the mapping */
	size_t n;		/* words in its slice */
	int rfd, wfd;		/* its pipe, for the pipe roles */
	pthread_t th;
	bool joined;
	atomic_ulong progress;
	atomic_int fail;
} __attribute__((aligned(64)));

static struct worker workers[NR_THREADS];
static atomic_int stop;
static atomic_uint futex_word;
static pthread_mutex_t cond_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static unsigned int cond_gen;
static pthread_barrier_t filled;

static inline uint64_t val(size_t i, uint64_t gen)
{
	return ((i + 1) * 0x9e3779b97f4a7c15ULL ^ gen << 32) | 1;
}

static bool has_pipe(enum role r)
{
	return r == R_POLL || r == R_POLL_TIMED || r == R_READ_PIPE ||
	       r == R_SELECT;
}

static bool check_range(const struct worker *w, size_t from, size_t to,
			uint64_t gen)
{
	for (size_t i = from; i < to; i++)
		if (w->mem[i] != val(w->base + i, gen))
			return false;
	return true;
}

/* Checks the next window of a constant slice; false if it is wrong. */
static bool check_window(struct worker *w, size_t *pos)
{
	size_t end = *pos + WINDOW < w->n ? *pos + WINDOW : w->n;
	bool ok = check_range(w, *pos, end, 0);

	*pos = end == w->n ? 0 : end;
	return ok;
}

static void *writer(struct worker *w)
{
	uint64_t *m = w->mem;
	size_t i;

	for (uint64_t gen = 0;; gen++) {
		for (i = 0; i < w->n; i++) {
			if (m[i] != val(w->base + i, gen))
				return (void *)1L;
			m[i] = val(w->base + i, gen + 1);
			if ((i + 1) % STRIDE)
				continue;
			atomic_fetch_add_explicit(&w->progress, 1,
						  memory_order_relaxed);
			if (atomic_load_explicit(&stop, memory_order_relaxed)) {
				i++;
				return (void *)(long)!(check_range(w, 0, i,
						gen + 1) &&
					check_range(w, i, w->n, gen));
			}
		}
	}
}

static void *reader(struct worker *w)
{
	for (;;) {
		for (size_t i = 0; i < w->n; i += STRIDE) {
			if (!check_range(w, i, i + STRIDE, 0))
				return (void *)1L;
			atomic_fetch_add_explicit(&w->progress, 1,
						  memory_order_relaxed);
			if (atomic_load_explicit(&stop, memory_order_relaxed))
				return (void *)(long)!check_range(w, 0, w->n,
								  0);
		}
	}
}

static long futex_wait(atomic_uint *uaddr, unsigned int v,
		       const struct timespec *rel)
{
	return syscall(SYS_futex, uaddr, FUTEX_WAIT_PRIVATE, v, rel, NULL, 0);
}

static void drain(int fd)
{
	char buf[256];

	/* the pipe is non-blocking for reading once woken */
	while (read(fd, buf, sizeof(buf)) > 0)
		;
}

/* One wait of a blocking role; returns after a wake-up, timeout or EINTR. */
static void block_once(struct worker *w, unsigned int *seen)
{
	struct timespec ts;
	struct pollfd pfd = { .fd = w->rfd, .events = POLLIN };
	fd_set rset;
	char c;

	switch (w->role) {
	case R_FUTEX:
		while (atomic_load(&futex_word) == *seen &&
		       !atomic_load(&stop))
			futex_wait(&futex_word, *seen, NULL);
		*seen = atomic_load(&futex_word);
		break;
	case R_FUTEX_TIMED:
		ts = (struct timespec){ .tv_nsec = 10 * 1000000 };
		futex_wait(&futex_word, *seen, &ts);
		*seen = atomic_load(&futex_word);
		break;
	case R_COND:
		pthread_mutex_lock(&cond_lock);
		*seen = cond_gen;
		while (cond_gen == *seen && !atomic_load(&stop))
			pthread_cond_wait(&cond, &cond_lock);
		pthread_mutex_unlock(&cond_lock);
		break;
	case R_POLL:
		if (poll(&pfd, 1, -1) > 0)
			drain(w->rfd);
		break;
	case R_POLL_TIMED:
		if (poll(&pfd, 1, 20) > 0)
			drain(w->rfd);
		break;
	case R_READ_PIPE:
		/* blocking read: a blocking pipe, made non-blocking only
		 * around the drain */
		if (read(w->rfd, &c, 1) == 1) {
			fcntl(w->rfd, F_SETFL, O_NONBLOCK);
			drain(w->rfd);
			fcntl(w->rfd, F_SETFL, 0);
		}
		break;
	case R_SELECT:
		FD_ZERO(&rset);
		FD_SET(w->rfd, &rset);
		if (select(w->rfd + 1, &rset, NULL, NULL, NULL) > 0)
			drain(w->rfd);
		break;
	case R_NANOSLEEP:
		ts = (struct timespec){ .tv_nsec = 5 * 1000000 };
		nanosleep(&ts, NULL);
		break;
	case R_LONG_SLEEP:
		ts = (struct timespec){ .tv_sec = 3600 };
		clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, NULL);
		break;
	default:
		break;
	}
}

static void *blocker(struct worker *w)
{
	unsigned int seen = atomic_load(&futex_word);
	size_t pos = 0;
	bool windows = w->role == R_FUTEX_TIMED ||
		       w->role == R_POLL_TIMED || w->role == R_NANOSLEEP;

	for (;;) {
		block_once(w, &seen);
		atomic_fetch_add(&w->progress, 1);
		if (atomic_load(&stop))
			return (void *)(long)!check_range(w, 0, w->n, 0);
		if (windows && !check_window(w, &pos))
			return (void *)1L;
	}
}

static void *thread_main(void *arg)
{
	struct worker *w = arg;

	for (size_t i = 0; i < w->n; i++)
		w->mem[i] = val(w->base + i, 0);
	pthread_barrier_wait(&filled);
	switch (w->role) {
	case R_WRITE:
		return writer(w);
	case R_READ:
		return reader(w);
	default:
		return blocker(w);
	}
}

static void on_usr2(int sig)
{
	(void)sig;
}

/* Wakes every blocked thread (again: a wake-up can land just before a
 * thread goes back to sleep, so callers repeat it until it shows). */
static void wake_all(void)
{
	char c = 1;

	atomic_fetch_add(&futex_word, 1);
	syscall(SYS_futex, &futex_word, FUTEX_WAKE_PRIVATE, INT_MAX, NULL,
		NULL, 0);
	pthread_mutex_lock(&cond_lock);
	cond_gen++;
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&cond_lock);
	for (int t = 1; t < NR_THREADS; t++) {
		struct worker *w = &workers[t];

		if (has_pipe(w->role) && write(w->wfd, &c, 1) < 0 &&
		    errno != EAGAIN)
			exit(1);
		if (w->role == R_LONG_SLEEP && !w->joined)
			pthread_kill(w->th, SIGUSR2);
	}
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void pause_ms(long ms)
{
	struct timespec ts = { ms / 1000, ms % 1000 * 1000000 };

	nanosleep(&ts, NULL);
}

/* Step 1: every thread makes progress (failed ones say so at once). */
static int check_progress(void)
{
	unsigned long before[NR_THREADS];
	bool moved[NR_THREADS] = { false };
	double end = now() + 10;
	int left = NR_THREADS - 1;

	for (int t = 1; t < NR_THREADS; t++)
		before[t] = atomic_load(&workers[t].progress);
	while (left) {
		wake_all();
		pause_ms(20);
		for (int t = 1; t < NR_THREADS; t++) {
			if (moved[t])
				continue;
			if (atomic_load(&workers[t].progress) != before[t]) {
				moved[t] = true;
				left--;
			}
		}
		if (left && now() > end)
			break;
	}
	for (int t = 1; t < NR_THREADS; t++) {
		void *ret;

		/* a thread that found its slice wrong has returned */
		if (!pthread_tryjoin_np(workers[t].th, &ret)) {
			workers[t].joined = true;
			return 10 + t;
		}
		if (!moved[t])
			return 30 + t;
	}
	return 0;
}

/* Step 2: every thread stops and checks its slice. */
static int stop_and_join(void)
{
	double end = now() + 20;
	int left = 0;

	atomic_store(&stop, 1);
	for (int t = 1; t < NR_THREADS; t++)
		left += !workers[t].joined;
	while (left) {
		wake_all();
		for (int t = 1; t < NR_THREADS; t++) {
			void *ret;

			if (workers[t].joined ||
			    pthread_tryjoin_np(workers[t].th, &ret))
				continue;
			workers[t].joined = true;
			left--;
			if (ret)
				return 10 + t;
		}
		if (!left)
			break;
		if (now() > end) {
			for (int t = 1; t < NR_THREADS; t++)
				if (!workers[t].joined)
					return 50 + t;
		}
		pause_ms(5);
	}
	return check_range(&workers[0], 0, workers[0].n, 0) ? 0 : 3;
}

int main(int argc, char **argv)
{
	size_t bytes = (argc > 1 ? strtoull(argv[1], NULL, 10) : 2048) << 20;
	size_t slice = bytes / NR_THREADS / 8;
	struct sigaction sa = { .sa_handler = on_usr2 };
	sigset_t usr1;
	uint64_t *mem;
	int null, ret;

	if (!bytes || bytes % (NR_THREADS << 20)) {
		fprintf(stderr, "usage: threadhog [MIB], MIB a multiple of "
			"%d\n", NR_THREADS);
		return 2;
	}
	/* SIGUSR1 is for sigwaitinfo in the main thread only */
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &usr1, NULL);
	sigaction(SIGUSR2, &sa, NULL);
	mem = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED) {
		perror("threadhog: mmap");
		return 1;
	}
	pthread_barrier_init(&filled, NULL, NR_THREADS);
	for (int t = 0; t < NR_THREADS; t++) {
		struct worker *w = &workers[t];
		int p[2];

		w->idx = t;
		w->role = roles[t];
		w->base = t * slice;
		w->mem = mem + w->base;
		w->n = slice;
		w->rfd = w->wfd = -1;
		if (has_pipe(w->role)) {
			if (pipe(p)) {
				perror("threadhog: pipe");
				return 1;
			}
			w->rfd = p[0];
			w->wfd = p[1];
			/* the waker must never block */
			fcntl(w->wfd, F_SETFL, O_NONBLOCK);
			if (w->role != R_READ_PIPE)
				fcntl(w->rfd, F_SETFL, O_NONBLOCK);
		}
		if (t && pthread_create(&w->th, NULL, thread_main, w)) {
			fprintf(stderr, "threadhog: pthread_create failed\n");
			return 1;
		}
	}
	for (size_t i = 0; i < slice; i++)
		mem[i] = val(i, 0);
	pthread_barrier_wait(&filled);

	printf("READY %d %lx %zu %d\n", getpid(), (unsigned long)mem, bytes,
	       NR_THREADS);
	fflush(stdout);
	null = open("/dev/null", O_RDWR);
	if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 ||
	    dup2(null, 2) < 0)
		return 1;
	if (null > 2)
		close(null);

	/* EINTR: a freeze interrupts it, and it does not restart */
	while (sigwaitinfo(&usr1, NULL) != SIGUSR1)
		;
	ret = check_progress();
	if (!ret)
		ret = stop_and_join();
	return ret;
}
