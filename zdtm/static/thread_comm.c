// SPDX-License-Identifier: GPL-2.0
/*
 * thread_comm: threads with their own names.
 *   main     "zdtm main" (PR_SET_NAME: spaces);
 *   four     "zt-1", "zt name two", "15-chars-name!!" (the longest a comm
 *            holds), "(paren) x";
 *   one      left unnamed: it keeps the comm main had when it was created.
 * After restore /proc/self/task/ lists the same tids with the same comm,
 * /proc/self/comm is main's, each thread reads its own name back, and a
 * rename after restore shows in /proc.  Tids are compared as gettid()
 * gives them (NSpid), so /proc may be of an outer PID namespace.
 *
 * Corrupt points: name, main.
 */
#include <dirent.h>
#include <pthread.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "zdtmtst.h"

#define NR_THREADS	5
#define MAX_TASKS	16

static const char *const names[NR_THREADS] = {
	"zt-1", "zt name two", "15-chars-name!!", "(paren) x", NULL,
};
#define MAIN_NAME	"zdtm main"

struct thread {
	int idx;
	pthread_t handle;
	pid_t tid;
	char name[16];		/* expected */
	volatile int phase;	/* 1: check yourself; 2: done */
};

struct task {
	pid_t tid;
	char comm[32];
};

static struct thread threads[NR_THREADS];
static struct task before[MAX_TASKS];
static int nr_before;

static int cmp_task(const void *a, const void *b)
{
	return ((const struct task *)a)->tid - ((const struct task *)b)->tid;
}

/*
 * The tid of /proc/self/task/@name as gettid() gives it: the last NSpid
 * field (/proc may be of an outer PID namespace, after restore --pidns).
 */
static pid_t ns_tid(const char *name)
{
	char path[300], buf[4096], *p;
	pid_t tid = atoi(name);

	snprintf(path, sizeof(path), "/proc/self/task/%s/status", name);
	if (test_read_file(path, buf, sizeof(buf)) < 0)
		return tid;
	p = strstr(buf, "\nNSpid:");
	if (!p)
		return tid;
	for (p += 7; *p && *p != '\n'; ) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p >= '0' && *p <= '9')
			tid = strtol(p, &p, 10);
		else if (*p != '\n')
			p++;
	}
	return tid;
}

static int read_tasks(struct task *tasks)
{
	char path[300];
	struct dirent *de;
	DIR *d;
	int n = 0;

	d = opendir("/proc/self/task");
	if (!d)
		return -1;
	while ((de = readdir(d)) && n < MAX_TASKS) {
		if (de->d_name[0] == '.')
			continue;
		tasks[n].tid = ns_tid(de->d_name);
		snprintf(path, sizeof(path), "/proc/self/task/%s/comm", de->d_name);
		if (test_read_file(path, tasks[n].comm, sizeof(tasks[n].comm)) < 0)
			strcpy(tasks[n].comm, "?");
		tasks[n].comm[strcspn(tasks[n].comm, "\n")] = '\0';
		n++;
	}
	closedir(d);
	qsort(tasks, n, sizeof(tasks[0]), cmp_task);
	return n;
}

static void *thread_fn(void *arg)
{
	struct thread *t = arg;
	char name[16] = "";

	t->tid = gettid();
	if (names[t->idx])
		pthread_setname_np(pthread_self(), names[t->idx]);
	prctl(PR_GET_NAME, t->name);
	while (!t->phase) {
		struct timespec ts = { .tv_nsec = 50000000 };

		nanosleep(&ts, NULL);
	}
	if (t->idx == 1 && test_corrupt("name"))
		prctl(PR_SET_NAME, "zt-other");
	prctl(PR_GET_NAME, name);
	if (strcmp(name, t->name))
		test_fail("thread %d: own name \"%s\", expected \"%s\"", t->tid, name,
			  t->name);
	if (gettid() != t->tid)
		test_fail("thread: tid %d, was %d", gettid(), t->tid);
	if (t->idx == 0)
		prctl(PR_SET_NAME, "zt-renamed");
	t->phase = 2;
	while (t->phase != 3) {
		struct timespec ts = { .tv_nsec = 10000000 };

		nanosleep(&ts, NULL);
	}
	return NULL;
}

static void check_tasks(void)
{
	struct task now[MAX_TASKS];
	int n, i;

	n = read_tasks(now);
	if (n != nr_before)
		test_fail("%d tasks in /proc/self/task, expected %d", n, nr_before);
	for (i = 0; i < n && i < nr_before; i++)
		if (now[i].tid != before[i].tid || strcmp(now[i].comm, before[i].comm))
			test_fail("task %d \"%s\", expected task %d \"%s\"", now[i].tid,
				  now[i].comm, before[i].tid, before[i].comm);
}

/* A rename after restore shows in /proc: the name is live, not a copy. */
static void check_rename(struct thread *t)
{
	struct task now[MAX_TASKS];
	int n, i;

	n = read_tasks(now);
	for (i = 0; i < n; i++)
		if (now[i].tid == t->tid)
			break;
	if (i == n)
		test_fail("thread %d not in /proc/self/task", t->tid);
	else if (strcmp(now[i].comm, "zt-renamed"))
		test_fail("renamed thread %d shows \"%s\"", t->tid, now[i].comm);
}

int main(int argc, char **argv)
{
	char comm[32];
	int i;

	test_init(argc, argv);
	if (prctl(PR_SET_NAME, "zt-creator"))
		test_abort("PR_SET_NAME: %m");
	for (i = 0; i < NR_THREADS; i++) {
		threads[i].idx = i;
		if (pthread_create(&threads[i].handle, NULL, thread_fn, &threads[i]))
			test_abort("pthread_create");
	}
	for (i = 0; i < NR_THREADS; i++)
		while (!__atomic_load_n(&threads[i].tid, __ATOMIC_ACQUIRE))
			usleep(1000);
	usleep(10000);		/* names set after the tids */
	if (prctl(PR_SET_NAME, MAIN_NAME))
		test_abort("PR_SET_NAME: %m");
	nr_before = read_tasks(before);
	if (nr_before != NR_THREADS + 1)
		test_abort("%d tasks", nr_before);
	for (i = 0; i < nr_before; i++)
		test_msg("task %d: \"%s\"", before[i].tid, before[i].comm);

	test_ready();
	test_wait_term();
	if (test_corrupt("main"))
		prctl(PR_SET_NAME, "zdtm other");

	check_tasks();
	if (test_read_file("/proc/self/comm", comm, sizeof(comm)) < 0)
		comm[0] = '\0';
	comm[strcspn(comm, "\n")] = '\0';
	if (strcmp(comm, MAIN_NAME))
		test_fail("/proc/self/comm is \"%s\"", comm);
	for (i = 0; i < NR_THREADS; i++)
		threads[i].phase = 1;
	for (i = 0; i < NR_THREADS; i++)
		while (threads[i].phase != 2)
			usleep(1000);
	check_rename(&threads[0]);
	for (i = 0; i < NR_THREADS; i++) {
		threads[i].phase = 3;
		pthread_join(threads[i].handle, NULL);
	}
	test_done();
}
