// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>

#include "log.h"
#include "proc.h"
#include "timers.h"

#ifndef SIGEV_THREAD_ID
#define SIGEV_THREAD_ID 4
#endif

struct kernel_sigevent {
	uint64_t value;
	int32_t signo;
	int32_t notify;
	int32_t tid;
	int32_t pad[11];
};

static uint64_t ts_ns(const struct timespec *t)
{
	return t->tv_sec * 1000000000ULL + t->tv_nsec;
}

static int dump_itimers(struct remote *r, uint64_t scratch, TaskEntry *te)
{
	te->itimers = calloc(3, sizeof(*te->itimers));
	if (!te->itimers)
		return -1;
	for (int which = 0; which < 3; which++) {
		struct itimerval iv;
		ItimerEntry *ie;
		long ret = rcall(r, __NR_getitimer, which, scratch, 0, 0, 0, 0);

		if (ret || remote_read(r->tid, scratch, &iv, sizeof(iv))) {
			pr_err("pid %d: getitimer(%d) failed (%ld)", r->tid, which,
			       ret);
			return -1;
		}
		/* value 0 with an interval: it expired and its SIGALRM is
		 * pending (re-armed when that is taken): keep it */
		if (!iv.it_value.tv_sec && !iv.it_value.tv_usec &&
		    !iv.it_interval.tv_sec && !iv.it_interval.tv_usec)
			continue;
		ie = malloc(sizeof(*ie));
		if (!ie)
			return -1;
		itimer_entry__init(ie);
		ie->which = which;
		ie->interval_us = iv.it_interval.tv_sec * 1000000ULL +
				  iv.it_interval.tv_usec;
		ie->value_us = iv.it_value.tv_sec * 1000000ULL + iv.it_value.tv_usec;
		te->itimers[te->n_itimers++] = ie;
	}
	return 0;
}

/* Parses /proc/PID/timers: "ID:", "signal: N/VALUE", "notify: KIND/pid.N",
 * "ClockID: N", one block per timer. */
static int parse_proc_timers(pid_t pid, const char *text, TaskEntry *te)
{
	const char *p = text;
	PosixTimerEntry *cur = NULL;

	while (p && *p) {
		unsigned long long v;
		unsigned a;
		char kind[16], idkind[4];
		int n;

		if (sscanf(p, "ID: %u", &a) == 1) {
			PosixTimerEntry **nt = realloc(te->posix_timers,
				(te->n_posix_timers + 1) * sizeof(*nt));

			cur = malloc(sizeof(*cur));
			if (!nt || !cur)
				return -1;
			te->posix_timers = nt;
			posix_timer_entry__init(cur);
			cur->id = a;
			te->posix_timers[te->n_posix_timers++] = cur;
		} else if (cur && sscanf(p, "signal: %u/%llx", &a, &v) == 2) {
			cur->signo = a;
			cur->sigev_value = v;
		} else if (cur && sscanf(p, "notify: %15[^/]/%3[a-z].%n", kind,
					 idkind, &n) == 2) {
			/* "signal|none|thread" / "pid|tid" . id */
			unsigned id = strtoul(p + n, NULL, 10);

			if (!strcmp(kind, "none"))
				cur->notify = SIGEV_NONE;
			else if (!strcmp(kind, "thread"))
				cur->notify = SIGEV_THREAD;
			else
				cur->notify = SIGEV_SIGNAL;
			if (!strcmp(idkind, "tid")) {
				cur->notify |= SIGEV_THREAD_ID;
				cur->has_notify_tid = true;
				cur->notify_tid = proc_ns_tid(pid, id);
			}
		} else if (cur && sscanf(p, "ClockID: %u", &a) == 1) {
			cur->clockid = a;
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return 0;
}

int dump_timers(struct remote *r, uint64_t scratch, TaskEntry *te)
{
	char *text;

	if (dump_itimers(r, scratch, te))
		return -1;
	text = proc_read_file("/proc/%d/timers", r->tid);
	if (!text)
		return 0;	/* no CONFIG_CHECKPOINT_RESTORE: no timers list */
	if (parse_proc_timers(r->tid, text, te)) {
		free(text);
		return -1;
	}
	free(text);
	for (size_t i = 0; i < te->n_posix_timers; i++) {
		PosixTimerEntry *pt = te->posix_timers[i];
		struct itimerspec its;
		long ret = rcall(r, __NR_timer_gettime, pt->id, scratch, 0, 0, 0, 0);

		if (ret || remote_read(r->tid, scratch, &its, sizeof(its))) {
			pr_err("pid %d: timer_gettime(%u) failed (%ld)", r->tid,
			       pt->id, ret);
			return -1;
		}
		pt->value_ns = ts_ns(&its.it_value);
		pt->interval_ns = ts_ns(&its.it_interval);
	}
	return 0;
}

void free_timers(TaskEntry *te)
{
	for (size_t i = 0; i < te->n_itimers; i++)
		free(te->itimers[i]);
	for (size_t i = 0; i < te->n_posix_timers; i++)
		free(te->posix_timers[i]);
	free(te->itimers);
	free(te->posix_timers);
}

static struct timespec ns_ts(uint64_t ns)
{
	struct timespec t = { ns / 1000000000ULL, ns % 1000000000ULL };

	return t;
}

/*
 * A new process hands out timer IDs in order from 0, so timers are made
 * in ID order, with placeholders for the holes (deleted at the end).
 */
static int restore_posix_timers(struct remote *r, uint64_t scratch,
				const TaskEntry *te)
{
	PosixTimerEntry **v = malloc(te->n_posix_timers * sizeof(*v) + 1);
	uint32_t next = 0;
	long holes[256];
	size_t nholes = 0;
	int ret = -1;

	if (!v)
		return -1;
	if (te->n_posix_timers)	/* posix_timers is NULL when there are none */
		memcpy(v, te->posix_timers, te->n_posix_timers * sizeof(*v));
	for (size_t i = 1; i < te->n_posix_timers; i++)	/* few: insertion sort */
		for (size_t j = i; j && v[j - 1]->id > v[j]->id; j--) {
			PosixTimerEntry *t = v[j];

			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	for (size_t i = 0; i < te->n_posix_timers; i++) {
		const PosixTimerEntry *pt = v[i];
		struct kernel_sigevent se = {
			.value = pt->sigev_value, .signo = pt->signo,
			.notify = pt->notify, .tid = pt->notify_tid,
		};
		struct itimerspec its = { ns_ts(pt->interval_ns),
					  ns_ts(pt->value_ns) };
		int32_t id = -1;
		long rc;

		for (;;) {
			struct kernel_sigevent none = { .notify = SIGEV_NONE };
			bool hole = next < pt->id;

			if (remote_write(r->tid, scratch, hole ? &none : &se,
					 sizeof(se)))
				goto out;
			rc = rcall(r, __NR_timer_create, pt->clockid, scratch,
				   scratch + 128, 0, 0, 0);
			if (rc || remote_read(r->tid, scratch + 128, &id, 4)) {
				pr_err("pid %d: timer_create for timer %u: %ld",
				       r->tid, pt->id, rc);
				goto out;
			}
			next = id + 1;
			if (!hole)
				break;
			if (nholes == 256 || (uint32_t)id > pt->id) {
				pr_err("pid %d: can't recreate timer id %u",
				       r->tid, pt->id);
				goto out;
			}
			holes[nholes++] = id;
		}
		if ((uint32_t)id != pt->id) {
			pr_err("pid %d: timer %u came back as %d", r->tid, pt->id, id);
			goto out;
		}
		if (remote_write(r->tid, scratch, &its, sizeof(its)))
			goto out;
		rc = rcall(r, __NR_timer_settime, id, 0, scratch, 0, 0, 0);
		if (rc) {
			pr_err("pid %d: timer_settime(%d): %ld", r->tid, id, rc);
			goto out;
		}
	}
	ret = 0;
out:
	for (size_t i = 0; i < nholes; i++)
		rcall(r, __NR_timer_delete, holes[i], 0, 0, 0, 0, 0);
	free(v);
	return ret;
}

int restore_timers(struct remote *r, uint64_t scratch, const TaskEntry *te)
{
	for (size_t i = 0; i < te->n_itimers; i++) {
		const ItimerEntry *ie = te->itimers[i];
		/* expired, signal pending: value 0 would disarm it, and
		 * nothing would re-arm it; the next expiry is due within an
		 * interval */
		uint64_t value = ie->value_us ? ie->value_us : ie->interval_us;
		struct itimerval iv = {
			{ ie->interval_us / 1000000, ie->interval_us % 1000000 },
			{ value / 1000000, value % 1000000 },
		};
		long rc;

		if (remote_write(r->tid, scratch, &iv, sizeof(iv)))
			return -1;
		rc = rcall(r, __NR_setitimer, ie->which, scratch, 0, 0, 0, 0);
		if (rc) {
			pr_err("pid %d: setitimer(%u): %ld", r->tid, ie->which, rc);
			return -1;
		}
	}
	return restore_posix_timers(r, scratch, te);
}
