// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "pagemap.h"
#include "progress.h"
#include "seize.h"

#define FD_EVERY_NS	100000000ULL	/* fd lines: ten a second at most */
#define TTY_EVERY_NS	100000000ULL	/* the terminal line: the same */
#define LINE_EVERY_NS	1000000000ULL	/* plain stderr lines: one a second */
#define QUIET_NS	1000000000ULL	/* stderr: nothing in the first second */

int progress_init(struct progress *p, int fd)
{
	*p = (struct progress){ .fd = fd, .t_run = now_ns() };
	p->tty = isatty(STDERR_FILENO);
	if (fd >= 0 && fcntl(fd, F_GETFD) < 0) {
		pr_perror("--progress-fd %d", fd);
		return -1;
	}
	return 0;
}

/*
 * One write of line to the progress fd. A reader that went away gives
 * EPIPE, and SIGPIPE, which would kill us in the middle of a dump: it is
 * blocked around the write and taken back if it came.
 */
static void fd_line(struct progress *p, const char *line, size_t len)
{
	const struct timespec now = { 0, 0 };
	sigset_t pipe_set, old;
	ssize_t n;

	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	sigprocmask(SIG_BLOCK, &pipe_set, &old);
	do
		n = write(p->fd, line, len);
	while (n < 0 && errno == EINTR);
	if (n < 0 && errno == EPIPE)
		sigtimedwait(&pipe_set, NULL, &now);
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (n != (ssize_t)len) {
		pr_warn("--progress-fd %d: %s: no more progress lines there",
			p->fd, n < 0 ? strerror(errno) : "short write");
		p->fd = -1;
	}
}

static void emit_fd(struct progress *p, uint64_t now)
{
	char line[256];
	int n;

	n = snprintf(line, sizeof(line), "phase=%s done=%llu total=%llu "
		     "bytes=%llu elapsed_ms=%llu\n", p->phase,
		     (unsigned long long)p->done, (unsigned long long)p->total,
		     (unsigned long long)p->bytes,
		     (unsigned long long)(now - p->t_phase) / 1000000);
	p->t_fd = now;
	fd_line(p, line, n);
}

/* "dump-pages: 131072 of 262144 pages (50%), 312.0 MiB at 950 MB/s":
 * pages gone through (a dump's zero, parent and lazy pages included);
 * MiB and rate of the page data stored or sent (dump), copied in
 * (restore) or checked, as p->bytes counts them */
static void emit_stderr(struct progress *p, uint64_t now, bool final)
{
	double secs = (now - p->t_phase) / 1e9;
	double mib = p->bytes / 1048576.0;
	double rate = secs > 0 ? p->bytes / 1e6 / secs : 0;
	char line[256];

	if (p->total)
		snprintf(line, sizeof(line), "%s: %llu of %llu pages (%llu%%), "
			 "%.1f MiB at %.0f MB/s%s", p->phase,
			 (unsigned long long)p->done,
			 (unsigned long long)p->total,
			 (unsigned long long)(p->done * 100 / p->total), mib,
			 rate, final ? ", done" : "");
	else
		snprintf(line, sizeof(line), "%s: %llu pages, %.1f MiB at "
			 "%.0f MB/s%s", p->phase, (unsigned long long)p->done,
			 mib, rate, final ? ", done" : "");
	p->t_err = now;
	p->shown = true;
	if (p->tty)
		log_status(line, final);
	else
		pr_info("%s", line);
}

static void update(struct progress *p)
{
	uint64_t now = now_ns();
	uint64_t every = p->tty ? TTY_EVERY_NS : LINE_EVERY_NS;

	if (p->total && p->done > p->total)
		p->total = p->done;	/* the estimate was short */
	if (p->fd >= 0 && now - p->t_fd >= FD_EVERY_NS)
		emit_fd(p, now);
	if (log_get_level() >= LOG_INFO && now - p->t_run >= QUIET_NS &&
	    now - p->t_err >= every)
		emit_stderr(p, now, false);
}

void progress_phase(struct progress *p, const char *phase, uint64_t total)
{
	if (!p)
		return;
	if (p->phase)
		progress_end(p);
	p->phase = phase;
	p->total = total;
	p->done = p->bytes = 0;
	p->shown = false;
	p->t_phase = now_ns();
	p->t_err = 0;
	if (p->fd >= 0)
		emit_fd(p, p->t_phase);
}

void progress_add(struct progress *p, uint64_t pages, uint64_t bytes)
{
	if (!p || !p->phase)
		return;
	p->done += pages;
	p->bytes += bytes;
	update(p);
}

void progress_set(struct progress *p, uint64_t done, uint64_t bytes)
{
	if (!p || !p->phase)
		return;
	p->done = done;
	p->bytes = bytes;
	update(p);
}

void progress_end(struct progress *p)
{
	uint64_t now;

	if (!p || !p->phase)
		return;
	now = now_ns();
	p->total = p->done;
	if (p->fd >= 0)
		emit_fd(p, now);
	/* a phase that printed, or was long itself (one big copy) */
	if (log_get_level() >= LOG_INFO &&
	    (p->shown || (now - p->t_phase >= QUIET_NS &&
			  now - p->t_run >= QUIET_NS)))
		emit_stderr(p, now, true);
	p->phase = NULL;
}
