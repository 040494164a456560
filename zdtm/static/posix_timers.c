// SPDX-License-Identifier: GPL-2.0
/*
 * posix_timers: POSIX timers of several kinds, with a hole in the ids.
 *   mono    CLOCK_MONOTONIC, every 20 ms, SIGEV_SIGNAL, sigev_value 0x1001;
 *   real    CLOCK_REALTIME, every 30 ms, SIGEV_SIGNAL, sigev_value 0x1002;
 *   (hole)  a timer created after "real" and deleted at once;
 *   thread  CLOCK_MONOTONIC, every 25 ms, SIGEV_THREAD_ID to a worker
 *           thread, sigev_value 0x1004;
 *   none    CLOCK_MONOTONIC, SIGEV_NONE, first expiry in 1000 s, 5 s interval;
 *   cpu     CLOCK_PROCESS_CPUTIME_ID, every 20 ms of CPU time, SIGEV_SIGNAL,
 *           sigev_value 0x1006.
 * Timers are made with raw syscalls, so the ids are the kernel's.  After
 * restore: every id still answers timer_gettime() with the same interval
 * and a sane value, the deleted id gives EINVAL, /proc/self/timers lists
 * the same timers, and the signal timers keep firing (the CPU one while we
 * burn CPU) with their own signal, sigev_value, si_timerid, and (thread)
 * in the worker thread.  Pids in /proc/self/timers are compared as
 * getpid()/gettid() give them: /proc may be of an outer PID namespace.
 *
 * Corrupt points: interval, value, hole, delete, none.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "zdtmtst.h"

#ifndef SIGEV_THREAD_ID
#define SIGEV_THREAD_ID	4
#endif
#ifndef PR_TIMER_CREATE_RESTORE_IDS
#define PR_TIMER_CREATE_RESTORE_IDS	77
#define PR_TIMER_CREATE_RESTORE_IDS_OFF	0
#define PR_TIMER_CREATE_RESTORE_IDS_ON	1
#endif

#define MS		1000000ULL
#define NONE_VALUE_S	1000
#define NONE_IVAL_S	5

enum { T_MONO, T_REAL, T_HOLE, T_THREAD, T_NONE, T_CPU, NR_TIMERS };

struct ptimer {
	const char *name;
	clockid_t clock;
	int notify;		/* SIGEV_SIGNAL, SIGEV_THREAD_ID, SIGEV_NONE */
	int sig_off;		/* signal: SIGRTMIN + sig_off */
	uint64_t value_ns, interval_ns;
	int id;			/* the kernel's timer id */
	/* filled by the signal handler */
	volatile int fired;
	volatile int bad;	/* wrong value, timer id, code or thread */
};

static struct ptimer timers[NR_TIMERS] = {
	[T_MONO]   = { "mono", CLOCK_MONOTONIC, SIGEV_SIGNAL, 1, 20 * MS, 20 * MS },
	[T_REAL]   = { "real", CLOCK_REALTIME, SIGEV_SIGNAL, 2, 30 * MS, 30 * MS },
	[T_HOLE]   = { "hole", CLOCK_MONOTONIC, SIGEV_SIGNAL, 1, 0, 0 },
	[T_THREAD] = { "thread", CLOCK_MONOTONIC, SIGEV_THREAD_ID, 3, 25 * MS, 25 * MS },
	[T_NONE]   = { "none", CLOCK_MONOTONIC, SIGEV_NONE, 0,
		       NONE_VALUE_S * 1000 * MS, NONE_IVAL_S * 1000 * MS },
	[T_CPU]    = { "cpu", CLOCK_PROCESS_CPUTIME_ID, SIGEV_SIGNAL, 4, 20 * MS, 20 * MS },
};

static pid_t worker_tid;
static volatile int worker_stop;
static char proc_timers[8192];

static int sival_of(int idx)
{
	return 0x1001 + idx;
}

static void on_timer(int sig, siginfo_t *si, void *uc)
{
	int i;

	(void)uc;
	for (i = 0; i < NR_TIMERS; i++) {
		struct ptimer *t = &timers[i];

		if (t->notify == SIGEV_NONE || i == T_HOLE ||
		    sig != SIGRTMIN + t->sig_off)
			continue;
		t->fired++;
		if (si->si_code != SI_TIMER || si->si_value.sival_int != sival_of(i) ||
		    si->si_timerid != t->id ||
		    (t->notify == SIGEV_THREAD_ID && gettid() != worker_tid))
			t->bad++;
	}
}

static uint64_t ts_ns(const struct timespec *ts)
{
	return (uint64_t)ts->tv_sec * 1000000000ULL + ts->tv_nsec;
}

static struct timespec ns_ts(uint64_t ns)
{
	struct timespec ts = { ns / 1000000000ULL, ns % 1000000000ULL };

	return ts;
}

static int k_timer_create(clockid_t clock, struct sigevent *sev, int *id)
{
	return syscall(SYS_timer_create, clock, sev, id);
}

static int k_timer_gettime(int id, struct itimerspec *its)
{
	return syscall(SYS_timer_gettime, id, its);
}

static int k_timer_settime(int id, uint64_t value, uint64_t interval)
{
	struct itimerspec its = { .it_interval = ns_ts(interval),
				  .it_value = ns_ts(value) };

	return syscall(SYS_timer_settime, id, 0, &its, NULL);
}

static int k_timer_delete(int id)
{
	return syscall(SYS_timer_delete, id);
}

static void make_sigevent(int idx, struct sigevent *sev)
{
	struct ptimer *t = &timers[idx];

	memset(sev, 0, sizeof(*sev));
	sev->sigev_notify = t->notify;
	sev->sigev_signo = t->notify == SIGEV_NONE ? 0 : SIGRTMIN + t->sig_off;
	sev->sigev_value.sival_int = sival_of(idx);
	if (t->notify == SIGEV_THREAD_ID)
		sev->_sigev_un._tid = worker_tid;
}

static void *worker(void *arg)
{
	sigset_t set;

	(void)arg;
	sigemptyset(&set);
	sigaddset(&set, SIGRTMIN + 3);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	pthread_setname_np(pthread_self(), "zt-timer");
	__atomic_store_n(&worker_tid, gettid(), __ATOMIC_RELEASE);
	while (!worker_stop) {
		struct timespec ts = { .tv_nsec = 100 * MS };

		nanosleep(&ts, NULL);
	}
	return NULL;
}

/*
 * /proc/self/timers, as blocks of lines per timer (each starts "ID: "),
 * sorted by id: the kernel lists them in hash or creation order.
 */
static int cmp_block(const void *a, const void *b)
{
	return atoi(*(char *const *)a + 4) - atoi(*(char *const *)b + 4);
}

/*
 * /proc/self/timers shows pids as its /proc sees them, which after restore
 * --pidns is an outer PID namespace: "pid.N" and "tid.N" become the ids
 * getpid() and gettid() give (the last NSpid field of that task).
 */
static long ns_id(long id)
{
	char path[64], buf[4096], *p;

	snprintf(path, sizeof(path), "/proc/self/task/%ld/status", id);
	if (test_read_file(path, buf, sizeof(buf)) < 0)
		return id;
	p = strstr(buf, "\nNSpid:");
	if (!p)
		return id;
	for (p += 7; *p && *p != '\n'; ) {
		if (*p >= '0' && *p <= '9')
			id = strtol(p, &p, 10);
		else
			p++;
	}
	return id;
}

static void normalize_ids(char *buf, size_t size)
{
	char out[8192], *p = buf, *q;
	size_t len = 0;

	/* "notify: signal/pid.N": rewrite each N after "pid." or "tid." */
	while ((q = strstr(p, "id.")) && len < sizeof(out)) {
		char *end;
		long id;

		q += 3;
		id = strtol(q, &end, 10);
		if (end == q || (q[-4] != 'p' && q[-4] != 't')) {
			len += snprintf(out + len, sizeof(out) - len, "%.*s",
					(int)(q - p), p);
			p = q;
			continue;
		}
		len += snprintf(out + len, sizeof(out) - len, "%.*s%ld",
				(int)(q - p), p, ns_id(id));
		p = end;
	}
	if (len < sizeof(out))
		snprintf(out + len, sizeof(out) - len, "%s", p);
	snprintf(buf, size, "%s", out);
}

static void read_proc_timers(char *out, size_t size)
{
	char buf[8192], *blocks[64], *p, *next;
	size_t n = 0, len = 0, i;

	out[0] = '\0';
	if (test_read_file("/proc/self/timers", buf, sizeof(buf)) < 0)
		return;
	normalize_ids(buf, sizeof(buf));
	for (p = buf; p && *p && n < 64; p = next) {
		next = strstr(p + 1, "\nID: ");
		if (next)
			*next++ = '\0';
		blocks[n++] = p;
	}
	qsort(blocks, n, sizeof(blocks[0]), cmp_block);
	for (i = 0; i < n; i++)
		len += snprintf(out + len, len < size ? size - len : 0, "%s%s",
				blocks[i], blocks[i][strlen(blocks[i]) - 1] == '\n' ?
				"" : "\n");
}

/* The first line that differs, with the timer it belongs to. */
static void report_diff(const char *now, const char *was)
{
	const char *n = now, *w = was, *id_n = now, *id_w = was;

	while (*n && *w) {
		size_t ln = strcspn(n, "\n"), lw = strcspn(w, "\n");

		if (!strncmp(n, "ID: ", 4))
			id_n = n;
		if (!strncmp(w, "ID: ", 4))
			id_w = w;
		if (ln != lw || strncmp(n, w, ln))
			break;
		n += ln + (n[ln] == '\n');
		w += lw + (w[lw] == '\n');
	}
	test_fail("/proc/self/timers differs: \"%.*s\" \"%.*s\", was \"%.*s\" \"%.*s\"",
		  (int)strcspn(id_n, "\n"), id_n, (int)strcspn(n, "\n"), n,
		  (int)strcspn(id_w, "\n"), id_w, (int)strcspn(w, "\n"), w);
}

static void setup(void)
{
	struct sigaction sa = { .sa_sigaction = on_timer, .sa_flags = SA_SIGINFO | SA_RESTART };
	struct sigevent sev;
	sigset_t set;
	pthread_t th;
	int i;

	sigemptyset(&sa.sa_mask);
	sigemptyset(&set);
	for (i = 1; i <= 4; i++) {
		if (sigaction(SIGRTMIN + i, &sa, NULL))
			test_abort("sigaction: %m");
		if (i != 3)
			sigaddset(&set, SIGRTMIN + i);
	}
	/*
	 * The worker only takes its own signal, which main takes too: if
	 * the thread timer turned into a process one, main would get it.
	 */
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	if (pthread_create(&th, NULL, worker, NULL))
		test_abort("pthread_create");
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	while (!__atomic_load_n(&worker_tid, __ATOMIC_ACQUIRE))
		usleep(1000);

	for (i = 0; i < NR_TIMERS; i++) {
		make_sigevent(i, &sev);
		if (k_timer_create(timers[i].clock, &sev, &timers[i].id))
			test_abort("timer_create(%s): %m", timers[i].name);
		if (i == T_HOLE) {
			if (k_timer_delete(timers[i].id))
				test_abort("timer_delete: %m");
			continue;
		}
		if (k_timer_settime(timers[i].id, timers[i].value_ns,
				    timers[i].interval_ns))
			test_abort("timer_settime(%s): %m", timers[i].name);
	}
	for (i = 0; i < NR_TIMERS; i++)
		test_msg("timer %s: id %d", timers[i].name, timers[i].id);
	read_proc_timers(proc_timers, sizeof(proc_timers));
	test_msg("/proc/self/timers, sorted, with our own pids:\n%s", proc_timers);
}

/* Makes a timer with the id @id (the kernel's checkpoint/restore mode). */
static int create_with_id(int idx, int id)
{
	struct sigevent sev;
	int got = id, ret;

	if (prctl(PR_TIMER_CREATE_RESTORE_IDS, PR_TIMER_CREATE_RESTORE_IDS_ON, 0, 0, 0)) {
		test_msg("PR_TIMER_CREATE_RESTORE_IDS: %m");
		return -1;
	}
	make_sigevent(idx, &sev);
	ret = k_timer_create(timers[idx].clock, &sev, &got);
	if (ret || got != id)
		test_msg("timer_create with id %d: %m (got %d)", id, got);
	prctl(PR_TIMER_CREATE_RESTORE_IDS, PR_TIMER_CREATE_RESTORE_IDS_OFF, 0, 0, 0);
	return ret;
}

static void corrupt(void)
{
	if (test_corrupt("interval"))
		k_timer_settime(timers[T_MONO].id, 20 * MS, 40 * MS);
	if (test_corrupt("value")) {
		/* the same id and clock, another sigev_value */
		k_timer_delete(timers[T_REAL].id);
		if (!create_with_id(T_HOLE, timers[T_REAL].id))
			k_timer_settime(timers[T_REAL].id, 30 * MS, 30 * MS);
	}
	if (test_corrupt("hole"))
		create_with_id(T_HOLE, timers[T_HOLE].id);
	if (test_corrupt("delete"))
		k_timer_delete(timers[T_THREAD].id);
	if (test_corrupt("none"))
		k_timer_settime(timers[T_NONE].id, NONE_VALUE_S * 500 * MS,
				NONE_IVAL_S * 1000 * MS);
}

static void check_settings(void)
{
	char now[8192];
	struct itimerspec its;
	int i;

	for (i = 0; i < NR_TIMERS; i++) {
		struct ptimer *t = &timers[i];
		uint64_t value, ival, min = 0;

		if (i == T_HOLE) {
			if (!k_timer_gettime(t->id, &its))
				test_fail("deleted timer id %d: timer_gettime works", t->id);
			else if (errno != EINVAL)
				test_fail("deleted timer id %d: timer_gettime: %m, expected EINVAL",
					  t->id);
			continue;
		}
		if (k_timer_gettime(t->id, &its)) {
			test_fail("timer %s (id %d): timer_gettime: %m", t->name, t->id);
			continue;
		}
		value = ts_ns(&its.it_value);
		ival = ts_ns(&its.it_interval);
		if (i == T_NONE)
			min = (NONE_VALUE_S - 100) * 1000 * MS;
		if (ival != t->interval_ns || value <= min || value > t->value_ns)
			test_fail("timer %s: value %lu ns interval %lu ns, expected (%lu, %lu] and %lu",
				  t->name, (unsigned long)value, (unsigned long)ival,
				  (unsigned long)min, (unsigned long)t->value_ns,
				  (unsigned long)t->interval_ns);
	}
	read_proc_timers(now, sizeof(now));
	if (strcmp(now, proc_timers))
		report_diff(now, proc_timers);
}

static void burn_cpu(uint64_t ns)
{
	struct timespec start, ts;
	volatile uint64_t x = 0;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &start);
	do {
		for (int i = 0; i < 100000; i++)
			x += i;
		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	} while (ts_ns(&ts) - ts_ns(&start) < ns &&
		 timers[T_CPU].fired < 3);
}

static void check_firing(void)
{
	int before[NR_TIMERS], i;
	struct timespec nap = { .tv_nsec = 300 * MS };

	for (i = 0; i < NR_TIMERS; i++) {
		before[i] = timers[i].fired;
		timers[i].bad = 0;
	}
	while (nanosleep(&nap, &nap))
		;
	timers[T_CPU].fired = 0;
	burn_cpu(3000 * MS);
	before[T_CPU] = 0;
	for (i = 0; i < NR_TIMERS; i++) {
		struct ptimer *t = &timers[i];

		if (t->notify == SIGEV_NONE || i == T_HOLE)
			continue;
		if (t->fired - before[i] < 3)
			test_fail("timer %s fired %d times in 300 ms (CPU timer: 3 s of CPU)",
				  t->name, t->fired - before[i]);
		if (t->bad)
			test_fail("timer %s: %d signals with a wrong value, id, code or thread",
				  t->name, t->bad);
	}
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	setup();
	test_ready();
	test_wait_term();
	corrupt();
	check_settings();
	check_firing();
	worker_stop = 1;
	test_done();
}
