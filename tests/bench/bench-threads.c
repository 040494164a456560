// SPDX-License-Identifier: GPL-2.0
/*
 * The 16-thread benchmark: criu-lite dump and restore of a process of 16
 * threads holding 2 GiB of non-zero anonymous memory (threadhog: 6 threads
 * spinning over their slice, writing or reading it, the others blocked in
 * futex, condvar, poll, read, select, sigwaitinfo or sleeping). Measured:
 *
 *   freeze         criu-lite's own "freeze" figure: from the first
 *                  PTRACE_SEIZE until every thread is stopped, parsed
 *                  from "dumped PID: frozen X ms (freeze Y ms), ..."
 *   frozen         the "frozen" figure of the same line: from all stopped
 *                  until released (the target killed and dead)
 *   dump           criu-lite dump -t PID -D DIR, wall time; the target is
 *                  killed by the dump and reaped here
 *   image size     du of DIR (allocated blocks)
 *   restore        criu-lite restore -D DIR -d, wall time until it
 *                  returns, i.e. until the process runs again; and the
 *                  "restored PID: T ms" of its log
 *
 * Each run starts a fresh target. Before the dump its 16 TIDs and their
 * states are taken from /proc; after the restore the same 16 TIDs must be
 * there, and the target is told (SIGUSR1) to check itself: every thread
 * must go on running (the blocked ones once woken) and find its slice
 * intact, or it exits non-zero (see threadhog.c). This program is
 * PR_SET_CHILD_SUBREAPER: the restored process becomes its child when
 * criu-lite exits. Medians of RUNS runs are printed as a table.
 *
 * Usage: bench-threads CRIU_LITE THREADHOG DIR [RUNS [MIB]]
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NR_THREADS	16
#define MAX_RUNS	15
#define CMD_TIMEOUT_S	120
#define SETTLE_US	300000	/* let the threads reach their loops */

/* What threadhog's threads do, by index (threadhog.c has the list). */
static const char *const roles[NR_THREADS] = {
	"sigwaitinfo", "writer", "writer", "writer", "writer", "reader",
	"reader", "futex", "cond", "futex 10 ms", "poll", "poll 20 ms",
	"read", "select", "nanosleep 5 ms", "clock_nanosleep 1 h",
};

static const char *criu, *hog, *dir;
static size_t bytes;

enum metric {
	M_FREEZE, M_FROZEN, M_DUMP, M_DUMP_OWN, M_IMG_BYTES, M_RESTORE,
	M_RESTORE_OWN, M_CHECK, M_NR,
};
static double res[M_NR][MAX_RUNS];
static char states[MAX_RUNS][NR_THREADS + 1];

static pid_t target;

#define BENCH_NAME "bench-threads"
#include "benchlib.h"

static void bench_kill_children(void)
{
	if (target > 0)
		kill(target, SIGKILL);
}

static void start_target(void)
{
	char mib[32];
	char *argv[] = { (char *)hog, mib, NULL };
	char line[256] = "";
	unsigned long addr;
	size_t len;
	int pid, nr, fd;
	FILE *f;

	snprintf(mib, sizeof(mib), "%zu", bytes >> 20);
	target = spawn(argv, &fd, NULL);
	f = fdopen(fd, "r");
	if (!f || !fgets(line, sizeof(line), f) ||
	    sscanf(line, "READY %d %lx %zu %d", &pid, &addr, &len, &nr) != 4 ||
	    pid != target || len != bytes || nr != NR_THREADS)
		die("threadhog did not start: \"%s\"", line);
	fclose(f);
}

static int cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

/*
 * The TIDs of pid, sorted, and (if st) the state letter of each from
 * /proc/PID/task/TID/stat. Returns how many there are (at most max).
 */
static int list_tasks(pid_t pid, int *tids, int max, char *st)
{
	char path[64];
	struct dirent *de;
	DIR *d;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	d = opendir(path);
	if (!d)
		die("opendir %s: %s", path, strerror(errno));
	while ((de = readdir(d)))
		if (de->d_name[0] != '.' && n < max)
			tids[n++] = atoi(de->d_name);
	closedir(d);
	qsort(tids, n, sizeof(*tids), cmp_int);
	for (int i = 0; st && i < n; i++) {
		char buf[512], *p;
		ssize_t len;
		int fd;

		snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", pid,
			 tids[i]);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		len = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
		if (fd >= 0)
			close(fd);
		buf[len > 0 ? len : 0] = 0;
		p = strrchr(buf, ')');
		st[i] = p && p[1] == ' ' ? p[2] : '?';
	}
	if (st)
		st[n] = 0;
	return n;
}

static char *read_log(const char *log)
{
	static char buf[65536];
	int fd = open(log, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? 0 : read(fd, buf, sizeof(buf) - 1);

	if (fd >= 0)
		close(fd);
	buf[n > 0 ? n : 0] = 0;
	return buf;
}

static double run_criu(char *const argv[], const char *log, const char *what)
{
	double t0 = now();
	pid_t pid = spawn(argv, NULL, log);
	int status = wait_for(pid, CMD_TIMEOUT_S, what);
	double t = now() - t0;

	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		fputs(read_log(log), stderr);
		die("%s failed (status %#x), log %s", what, status, log);
	}
	return t;
}

/* Tells the restored target to check itself; its exit status says. */
static double check_target(pid_t pid)
{
	double t0 = now();
	int status, code;

	if (kill(pid, SIGUSR1))
		die("restored target %d: kill: %s", pid, strerror(errno));
	status = wait_for(pid, 60, "restored target's self-check");
	if (WIFEXITED(status) && !WEXITSTATUS(status))
		return now() - t0;
	if (!WIFEXITED(status))
		die("restored target %d killed by signal %d during its check",
		    pid, WTERMSIG(status));
	code = WEXITSTATUS(status);
	if (code == 3)
		die("restored target %d: main thread's slice is wrong", pid);
	if (code >= 10 && code < 10 + NR_THREADS)
		die("restored target %d: thread %d (%s) found its slice wrong",
		    pid, code - 10, roles[code - 10]);
	if (code >= 30 && code < 30 + NR_THREADS)
		die("restored target %d: thread %d (%s) did not go on running",
		    pid, code - 30, roles[code - 30]);
	if (code >= 50 && code < 50 + NR_THREADS)
		die("restored target %d: thread %d (%s) did not stop when "
		    "told", pid, code - 50, roles[code - 50]);
	die("restored target %d: check failed, exit status %d", pid, code);
}

static void one_run(int r)
{
	char img[4096], log[4096], pidstr[32];
	int tids[NR_THREADS + 1], back[NR_THREADS + 1];
	const char *p;
	int n, status, pid;

	snprintf(img, sizeof(img), "%s/img", dir);
	mkdir(img, 0700);
	clear_dir(img);
	settle_fs();

	start_target();
	pid = target;
	usleep(SETTLE_US);
	n = list_tasks(pid, tids, NR_THREADS + 1, states[r]);
	if (n != NR_THREADS)
		die("target %d has %d threads, not %d", pid, n, NR_THREADS);

	snprintf(pidstr, sizeof(pidstr), "%d", pid);
	snprintf(log, sizeof(log), "%s/dump-%d.log", dir, r + 1);
	{
		char *argv[] = { (char *)criu, "dump", "-t", pidstr, "-D", img,
				 NULL };

		res[M_DUMP][r] = run_criu(argv, log, "criu-lite dump");
	}
	p = strstr(read_log(log), "dumped ");
	if (!p || sscanf(p, "dumped %*d: frozen %lf ms (freeze %lf ms), "
			 "total %lf ms", &res[M_FROZEN][r], &res[M_FREEZE][r],
			 &res[M_DUMP_OWN][r]) != 3)
		die("no \"dumped PID: frozen X ms (freeze Y ms), total Z ms\" "
		    "in %s", log);
	res[M_DUMP_OWN][r] /= 1000;
	/* the dump kills the target; reap it so that its PID is free */
	status = wait_for(pid, 10, "dumped target");
	if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL)
		die("dumped target %d: status %#x, expected SIGKILL", pid,
		    status);
	target = 0;
	res[M_IMG_BYTES][r] = du(img);

	snprintf(log, sizeof(log), "%s/restore-%d.log", dir, r + 1);
	{
		char *argv[] = { (char *)criu, "restore", "-D", img, "-d",
				 NULL };

		res[M_RESTORE][r] = run_criu(argv, log, "criu-lite restore");
	}
	target = pid;
	p = strstr(read_log(log), "restored ");
	if (!p ||
	    sscanf(p, "restored %*d: %lf ms", &res[M_RESTORE_OWN][r]) != 1)
		die("no \"restored PID: T ms\" in %s", log);
	res[M_RESTORE_OWN][r] /= 1000;
	if (kill(pid, 0))
		die("restored target %d is not there: %s", pid,
		    strerror(errno));
	n = list_tasks(pid, back, NR_THREADS + 1, NULL);
	if (n != NR_THREADS || memcmp(tids, back, sizeof(int) * n))
		die("restored target %d has %d threads, not the %d dumped",
		    pid, n, NR_THREADS);
	res[M_CHECK][r] = check_target(pid);
	target = 0;
	fprintf(stderr, "bench-threads: run %d: thread states at dump %s, "
		"freeze %.2f ms, frozen %.1f ms, dump %.3f s, restore %.3f s, "
		"self-check %.3f s; %d threads running, memory verified\n",
		r + 1, states[r], res[M_FREEZE][r], res[M_FROZEN][r],
		res[M_DUMP][r], res[M_RESTORE][r], res[M_CHECK][r],
		NR_THREADS);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(enum metric m, int runs, double *lo, double *hi)
{
	double v[MAX_RUNS];

	memcpy(v, res[m], runs * sizeof(double));
	qsort(v, runs, sizeof(double), cmp_double);
	*lo = v[0];
	*hi = v[runs - 1];
	return runs % 2 ? v[runs / 2] : (v[runs / 2 - 1] + v[runs / 2]) / 2;
}

static void row(const char *name, const char *val, const char *rate,
		const char *range)
{
	printf("%-36s %13s %11s   %s\n", name, val, rate, range);
}

/* A row of times: in ms if ms, else in s, with a throughput if rate. */
static void row_time(const char *name, enum metric m, int runs, bool ms,
		     bool rate)
{
	double lo, hi, med = median(m, runs, &lo, &hi);
	char v[32], r[32] = "", range[64];

	if (ms) {
		snprintf(v, sizeof(v), "%.2f ms", med);
		snprintf(range, sizeof(range), "(%.2f-%.2f ms)", lo, hi);
	} else {
		snprintf(v, sizeof(v), "%.3f s", med);
		snprintf(range, sizeof(range), "(%.3f-%.3f s)", lo, hi);
	}
	if (rate)
		snprintf(r, sizeof(r), "%.2f GB/s", bytes / med / 1e9);
	row(name, v, r, range);
}

int main(int argc, char **argv)
{
	char v[32], r[32], range[64];
	double lo, hi, img;
	int runs;

	if (argc < 4 || argc > 6) {
		fprintf(stderr, "usage: %s CRIU_LITE THREADHOG DIR [RUNS "
			"[MIB]]\n", argv[0]);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	criu = argv[1];
	hog = argv[2];
	dir = argv[3];
	runs = argc > 4 ? atoi(argv[4]) : 3;
	bytes = (argc > 5 ? strtoull(argv[5], NULL, 10) : 2048) << 20;
	if (runs < 1 || runs > MAX_RUNS || !bytes ||
	    bytes % (NR_THREADS << 20))
		die("RUNS must be 1..%d and MIB a multiple of %d", MAX_RUNS,
		    NR_THREADS);
	if (prctl(PR_SET_CHILD_SUBREAPER, 1))
		die("PR_SET_CHILD_SUBREAPER: %s", strerror(errno));
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);

	for (int r = 0; r < runs; r++)
		one_run(r);

	printf("\n16-thread benchmark: %d threads, %zu MiB non-zero anonymous "
	       "memory (%zu MiB a thread), images in %s, median of %d runs "
	       "(min-max)\n", NR_THREADS, bytes >> 20,
	       (bytes >> 20) / NR_THREADS, dir, runs);
	printf("threads: 4 writing and 2 reading their slice without pause; "
	       "blocked in\nsigwaitinfo, futex, futex (10 ms), "
	       "pthread_cond_wait, poll, poll (20 ms), read,\nselect; "
	       "sleeping in nanosleep (5 ms), clock_nanosleep (1 h)\n");
	printf("thread states at each dump (/proc, R running, "
	       "S sleeping; thread 0 first):\n ");
	for (int r = 0; r < runs; r++)
		printf(" %s", states[r]);
	printf("\n\n");
	row("measurement", "median", "throughput", "(min-max)");
	row_time("freeze: all 16 threads stopped", M_FREEZE, runs, true,
		 false);
	row_time("frozen: stopped until released", M_FROZEN, runs, true,
		 false);
	row_time("criu-lite dump, wall", M_DUMP, runs, false, true);
	row_time("  its own total (info)", M_DUMP_OWN, runs, false, false);
	img = median(M_IMG_BYTES, runs, &lo, &hi);
	snprintf(v, sizeof(v), "%.1f MiB", img / (1 << 20));
	snprintf(r, sizeof(r), "%.2f x mem", img / bytes);
	snprintf(range, sizeof(range), "(%.1f-%.1f MiB)", lo / (1 << 20),
		 hi / (1 << 20));
	row("image size (du)", v, r, range);
	row_time("criu-lite restore -d, wall", M_RESTORE, runs, false, true);
	row_time("  its own account (info)", M_RESTORE_OWN, runs, false,
		 false);
	row_time("self-check after restore (info)", M_CHECK, runs, false,
		 false);
	printf("\nall %d restores verified: the same %d threads running on, "
	       "every slice intact\n", runs, NR_THREADS);
	return 0;
}
