// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static int log_level = LOG_INFO;
/* a progress line is on the terminal, without its newline yet */
static bool status_open;
/* -o FILE: every message at the level, with the time since it opened */
static int log_fd = -1;
static struct timespec log_t0;

void log_set_level(int level)
{
	log_level = level;
}

int log_get_level(void)
{
	return log_level;
}

/* "(  1.234567) ": seconds since the log file was opened, as CRIU's */
static int stamp(char *buf, size_t len)
{
	struct timespec now;
	long sec, usec;

	clock_gettime(CLOCK_MONOTONIC, &now);
	sec = now.tv_sec - log_t0.tv_sec;
	usec = (now.tv_nsec - log_t0.tv_nsec) / 1000;
	if (usec < 0) {
		sec--;
		usec += 1000000;
	}
	return snprintf(buf, len, "(%3ld.%06ld) ", sec, usec);
}

/* One write per line: lines from a forked puppet or daemon do not mix.
 * n is what snprintf wanted: the line is cut to the buffer. */
static void write_line(int fd, const char *buf, int n, size_t size)
{
	size_t len = n < (int)size ? (size_t)n : size - 1;

	if (write(fd, buf, len) < 0)
		return;
}

void log_msg(int level, const char *fmt, ...)
{
	char msg[4096], buf[4200];
	int saved = errno, n, m;
	bool to_file = log_fd >= 0 && level <= log_level;
	/* with a log file, stderr still gets errors and warnings */
	bool to_err = level <= log_level && (log_fd < 0 || level <= LOG_WARN);
	va_list ap;

	if (!to_file && !to_err)
		return;
	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n >= (int)sizeof(msg))
		n = sizeof(msg) - 1;
	if (to_file) {
		m = stamp(buf, sizeof(buf));
		m += snprintf(buf + m, sizeof(buf) - m, "criu-lite: %s\n", msg);
		write_line(log_fd, buf, m, sizeof(buf));
	}
	if (to_err) {
		m = 0;
		/* the message takes the progress line's place */
		if (status_open) {
			m = snprintf(buf, sizeof(buf), "\r\033[K");
			status_open = false;
		}
		m += snprintf(buf + m, sizeof(buf) - m, "criu-lite: %s\n", msg);
		write_line(STDERR_FILENO, buf, m, sizeof(buf));
	}
	errno = saved;
}

void log_status(const char *text, bool final)
{
	char buf[512];
	int n;

	n = snprintf(buf, sizeof(buf), "\rcriu-lite: %s\033[K%s", text,
		     final ? "\n" : "");
	status_open = !final;
	write_line(STDERR_FILENO, buf, n, sizeof(buf));
}

int log_open_file(const char *dir, const char *name, bool make_dir)
{
	char path[4096], head[256];
	struct timespec rt;
	struct tm tm;
	time_t now;
	int fd, n;

	if (!strcmp(name, "-"))
		return 0;	/* stderr, as without -o */
	if (name[0] == '/' || !dir)
		snprintf(path, sizeof(path), "%s", name);
	else
		snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (make_dir && dir && name[0] != '/' && mkdir(dir, 0700) &&
	    errno != EEXIST) {
		pr_perror("log file %s: create the images directory %s", path,
			  dir);
		return -1;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC,
		  0600);
	if (fd < 0) {
		pr_perror("can't open log file %s", path);
		return -1;
	}
	log_close_file();
	log_fd = fd;
	clock_gettime(CLOCK_MONOTONIC, &log_t0);
	clock_gettime(CLOCK_REALTIME, &rt);
	now = rt.tv_sec;
	/* what the relative stamps count from, whatever the level (to the
	 * ms: logs of two hosts, and other clocks, can be put side by side) */
	gmtime_r(&now, &tm);
	n = stamp(head, sizeof(head));
	n += snprintf(head + n, sizeof(head) - n, "criu-lite: log of pid %d, "
		      "level %d, started %04d-%02d-%02d %02d:%02d:%02d.%03ld "
		      "UTC\n", getpid(), log_level, tm.tm_year + 1900,
		      tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
		      tm.tm_sec, rt.tv_nsec / 1000000);
	write_line(log_fd, head, n, sizeof(head));
	return 0;
}

void log_forget_file(void)
{
	log_fd = -1;
}

int log_file_fd(void)
{
	return log_fd;
}

void log_close_file(void)
{
	if (log_fd >= 0)
		close(log_fd);
	log_fd = -1;
}
