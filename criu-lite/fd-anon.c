// SPDX-License-Identifier: GPL-2.0
/*
 * Anonymous-inode objects whose whole state /proc/PID/fdinfo shows:
 * eventfd (counter, semaphore mode), signalfd (mask), timerfd (clock,
 * remaining time, interval, expirations not yet read) and epoll (every
 * watch: fd number, events, data).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>
#include <linux/kcmp.h>

#include "fd-ops.h"
#include "log.h"

/* linux/timerfd.h, since 3.17 (CONFIG_CHECKPOINT_RESTORE) */
#ifndef TFD_IOC_SET_TICKS
#define TFD_IOC_SET_TICKS	_IOW('T', 0, uint64_t)
#endif

#define NSEC	1000000000ULL

/* ---- eventfd ---- */

static int eventfd_dump(struct fd_dump *d, FdEntry *e)
{
	if (!d->fi.has_eventfd) {
		pr_err("pid %d fd %d: no eventfd-count in fdinfo", d->pid, d->fd);
		return -1;
	}
	e->has_count = true;
	e->count = d->fi.eventfd_count;
	e->has_semaphore = true;
	e->semaphore = d->fi.eventfd_semaphore;
	return 0;
}

/* eventfd()'s initial value is an unsigned int; the counter is 64-bit. */
static int eventfd_open(struct fd_restore *r, const FdEntry *e)
{
	int fd = eventfd(0, e->semaphore ? EFD_SEMAPHORE : 0);
	uint64_t v = e->count;

	(void)r;
	if (fd < 0) {
		pr_perror("restore fd %u: eventfd", e->fd);
		return -1;
	}
	if (v && write(fd, &v, sizeof(v)) != sizeof(v)) {
		pr_perror("restore fd %u: eventfd count %lu", e->fd,
			  (unsigned long)v);
		close(fd);
		return -1;
	}
	return fd;
}

const struct fd_ops fd_eventfd_ops = {
	.type = FD_TYPE__FD_EVENTFD, .name = "eventfd",
	.dump = eventfd_dump, .open = eventfd_open,
};

/* ---- signalfd ---- */

/* Signals queued for it are the process's pending signals (core-*.img). */
static int signalfd_dump(struct fd_dump *d, FdEntry *e)
{
	if (!d->fi.has_sigmask) {
		pr_err("pid %d fd %d: no sigmask in fdinfo", d->pid, d->fd);
		return -1;
	}
	e->has_sigmask = true;
	e->sigmask = d->fi.sigmask;
	return 0;
}

static int signalfd_open(struct fd_restore *r, const FdEntry *e)
{
	uint64_t mask = e->sigmask;
	int fd;

	(void)r;
	fd = syscall(SYS_signalfd4, -1, &mask, sizeof(mask), 0);
	if (fd < 0)
		pr_perror("restore fd %u: signalfd(%#lx)", e->fd,
			  (unsigned long)mask);
	return fd;
}

const struct fd_ops fd_signalfd_ops = {
	.type = FD_TYPE__FD_SIGNALFD, .name = "signalfd",
	.dump = signalfd_dump, .open = signalfd_open,
};

/* ---- timerfd ---- */

static uint64_t clock_ns(clockid_t clk)
{
	struct timespec ts;

	if (clock_gettime(clk, &ts))
		return 0;
	return ts.tv_sec * NSEC + ts.tv_nsec;
}

static struct timespec ns_ts(uint64_t ns)
{
	return (struct timespec){ ns / NSEC, ns % NSEC };
}

static bool is_realtime(uint32_t clk)
{
	return clk == CLOCK_REALTIME || clk == CLOCK_REALTIME_ALARM;
}

/* "settime flags:" is not in the shared fdinfo parser (proc.c). */
static uint32_t timerfd_settime_flags(const struct fd_dump *d)
{
	char *text = proc_read_file("/proc/%d/fdinfo/%d", d->pid, d->fd);
	const char *p = text ? strstr(text, "settime flags:") : NULL;
	uint32_t flags = 0;

	if (p)
		flags = strtoul(p + strlen("settime flags:"), NULL, 8);
	free(text);
	return flags;
}

/*
 * fdinfo shows the time left, not the time the timer was set for. A
 * relative restore keeps the time left (the frozen interval does not
 * count, as for the rest of the process); an absolute CLOCK_REALTIME
 * timer keeps its wall-clock expiry.
 */
static int timerfd_dump(struct fd_dump *d, FdEntry *e)
{
	if (!d->fi.has_timerfd) {
		pr_err("pid %d fd %d: no clockid in fdinfo", d->pid, d->fd);
		return -1;
	}
	e->has_clockid = e->has_ticks = true;
	e->has_it_value_ns = e->has_it_interval_ns = true;
	e->clockid = d->fi.clockid;
	e->ticks = d->fi.ticks;
	e->it_value_ns = d->fi.it_value_ns;
	e->it_interval_ns = d->fi.it_interval_ns;
	e->has_settime_flags = true;
	e->settime_flags = timerfd_settime_flags(d);
	if ((e->settime_flags & TFD_TIMER_ABSTIME) && is_realtime(e->clockid) &&
	    e->it_value_ns) {
		e->has_abs_ns = true;
		e->abs_ns = clock_ns(CLOCK_REALTIME) + e->it_value_ns;
	}
	return 0;
}

/* Arms fd as e describes and puts back the unread expirations; settime
 * clears those, so the ticks come after it. */
static int timerfd_arm(int fd, const FdEntry *e)
{
	struct itimerspec its = { ns_ts(e->it_interval_ns),
				  ns_ts(e->it_value_ns) };
	int flags = 0;
	uint64_t ticks = e->ticks;

	if (e->has_abs_ns) {
		flags = e->settime_flags & (TFD_TIMER_ABSTIME |
					    TFD_TIMER_CANCEL_ON_SET);
		its.it_value = ns_ts(e->abs_ns);
	} else if (!e->it_value_ns && e->it_interval_ns) {
		its.it_value = ns_ts(1);	/* due right now */
	}
	if ((its.it_value.tv_sec || its.it_value.tv_nsec) &&
	    timerfd_settime(fd, flags, &its, NULL)) {
		pr_perror("restore fd %u: timerfd_settime", e->fd);
		return -1;
	}
	if (ticks && ioctl(fd, TFD_IOC_SET_TICKS, &ticks)) {
		pr_perror("restore fd %u: TFD_IOC_SET_TICKS(%lu) (needs "
			  "CONFIG_CHECKPOINT_RESTORE)", e->fd,
			  (unsigned long)ticks);
		return -1;
	}
	return 0;
}

static int timerfd_open(struct fd_restore *r, const FdEntry *e)
{
	int fd = timerfd_create(e->clockid, 0);

	(void)r;
	if (fd < 0) {
		pr_perror("restore fd %u: timerfd_create(%u)", e->fd, e->clockid);
		return -1;
	}
	if (timerfd_arm(fd, e)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Armed in the puppet already; once more just before the process runs,
 * so that the restore's own duration is not taken off the time left. */
static int timerfd_late(const FdEntry *e, int fd)
{
	if (!e->has_clockid)	/* a dup: described elsewhere */
		return 0;
	return timerfd_arm(fd, e);
}

const struct fd_ops fd_timerfd_ops = {
	.type = FD_TYPE__FD_TIMERFD, .name = "timerfd",
	.dump = timerfd_dump, .open = timerfd_open, .late = timerfd_late,
};

/* ---- epoll ---- */

/*
 * fdinfo names each watched file by the fd number it was added with (the
 * kernel keys a watch by file and that number). The number may have been
 * closed, or given to another file, since: the watch stays as long as the
 * file is open somewhere. kcmp(KCMP_EPOLL_TFD) tells whether a fd of the
 * process is that very file (toff: which of several watches added under
 * one number).
 */
static long epoll_tfd_is(const struct fd_dump *d, size_t i, int fd)
{
	struct kcmp_epoll_slot slot = { d->fd, d->fi.tfds[i].tfd, 0 };

	for (size_t j = 0; j < i; j++)
		if (d->fi.tfds[j].tfd == d->fi.tfds[i].tfd)
			slot.toff++;
	return syscall(SYS_kcmp, d->pid, d->pid, KCMP_EPOLL_TFD, fd,
		       (unsigned long)&slot);
}

/* Where watch i's file is in the process now: its own number, another fd
 * it was dup'ed to, or -1 (no fd of this process has it). */
static int epoll_tfd_where(const struct fd_dump *d, size_t i)
{
	int *fds, at = -1;
	size_t n;

	if (!epoll_tfd_is(d, i, d->fi.tfds[i].tfd))
		return d->fi.tfds[i].tfd;
	if (proc_list_fds(d->pid, &fds, &n))
		return -1;
	for (size_t j = 0; j < n && at < 0; j++)
		if (fds[j] != d->fd && !epoll_tfd_is(d, i, fds[j]))
			at = fds[j];
	free(fds);
	return at;
}

static const char *epoll_check(const struct fd_dump *d)
{
	for (size_t i = 0; i < d->fi.nr_tfds; i++)
		if (epoll_tfd_where(d, i) < 0)
			return "a watched file is no longer open in this "
			       "process (only elsewhere; not supported)";
	return NULL;
}

static int epoll_dump(struct fd_dump *d, FdEntry *e)
{
	e->tfds = calloc(d->fi.nr_tfds + 1, sizeof(*e->tfds));
	if (!e->tfds)
		return -1;
	for (size_t i = 0; i < d->fi.nr_tfds; i++) {
		int at = epoll_tfd_where(d, i);
		EpollTfd *t;

		if (at < 0) {
			pr_err("pid %d epoll fd %d: the file watched under fd %d "
			       "is no longer open in the process", d->pid,
			       d->fd, d->fi.tfds[i].tfd);
			return -1;
		}
		t = malloc(sizeof(*t));
		if (!t)
			return -1;
		epoll_tfd__init(t);
		t->tfd = d->fi.tfds[i].tfd;
		t->events = d->fi.tfds[i].events;
		t->data = d->fi.tfds[i].data;
		if (at != d->fi.tfds[i].tfd) {
			t->has_src_fd = true;
			t->src_fd = at;
		}
		e->tfds[e->n_tfds++] = t;
	}
	return 0;
}

static int epoll_open(struct fd_restore *r, const FdEntry *e)
{
	int fd = epoll_create1(0);

	(void)r;
	if (fd < 0)
		pr_perror("restore fd %u: epoll_create1", e->fd);
	return fd;
}

/*
 * A watch added under a number the file is no longer at: the file is
 * put at that number for the EPOLL_CTL_ADD (what held the number is
 * set aside and put back, fd flags included), so the watch is keyed as
 * it was. The puppet is single-threaded: nobody sees the swap.
 */
static int epoll_add_moved(int ep, const EpollTfd *t, struct epoll_event *ev)
{
	int saved = -1, fdfl = fcntl(t->tfd, F_GETFD), ret = -1;

	if (fdfl >= 0) {
		saved = fcntl(t->tfd, F_DUPFD_CLOEXEC, t->tfd + 1);
		if (saved < 0)
			return -1;
	}
	if (dup2(t->src_fd, t->tfd) < 0)
		goto out;
	ret = epoll_ctl(ep, EPOLL_CTL_ADD, t->tfd, ev);
out:
	if (saved >= 0) {
		if (dup2(saved, t->tfd) < 0 || fcntl(t->tfd, F_SETFD, fdfl))
			ret = -1;
		close(saved);
	} else {
		close(t->tfd);
	}
	return ret;
}

/* Watches are added once every fd has its number (see restore_fds). */
static int epoll_post(struct fd_restore *r, const FdEntry *e, int fd)
{
	(void)r;
	for (size_t i = 0; i < e->n_tfds; i++) {
		const EpollTfd *t = e->tfds[i];
		struct epoll_event ev = { .events = t->events,
					  .data.u64 = t->data };
		int ret = t->has_src_fd ? epoll_add_moved(fd, t, &ev) :
			  epoll_ctl(fd, EPOLL_CTL_ADD, t->tfd, &ev);

		if (ret) {
			pr_perror("restore epoll fd %u: watch fd %u%s (events "
				  "%#x)", e->fd, t->tfd, t->has_src_fd ?
				  " (its file now elsewhere)" : "", ev.events);
			return -1;
		}
	}
	return 0;
}

const struct fd_ops fd_epoll_ops = {
	.type = FD_TYPE__FD_EPOLL, .name = "epoll",
	.check = epoll_check, .dump = epoll_dump, .open = epoll_open, .post = epoll_post,
};
