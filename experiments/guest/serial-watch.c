/*
 * serial-watch: follow a guest's serial log file (written by QEMU) and give
 * its lines host timestamps, so that host-side times can be put next to the
 * guest's own heartbeat clock.
 *
 *   serial-watch [-t SEC] [-o OFFSET] [-c COUNT] [-p PID] FILE PATTERN
 *       Wait until COUNT (default 1) lines containing PATTERN have appeared
 *       at or after byte OFFSET; print each as "<host_ms> <line>". Exit 0,
 *       or 1 on timeout (default 60 s) or when process PID (the QEMU
 *       writing the file) has ended.
 *   serial-watch --stamp [-o OFFSET] FILE
 *       Print "<host_ms> <line>" for every complete line, until killed.
 *
 * host_ms is CLOCK_REALTIME in milliseconds (what `date +%s%3N` prints),
 * taken when the line's newline was seen. The file is watched with inotify
 * (QEMU writes it byte by byte) with a 20 ms poll as a fallback.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct watch {
	const char *path;
	int fd, ino;
	off_t offset;
	char buf[65536];
	size_t len;
};

static uint64_t clock_ms(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The writer is gone: no such process, or a zombie nobody reaped yet. */
static bool process_gone(pid_t pid)
{
	char path[64], buf[256], *paren;
	int fd;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return true;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return true;
	buf[n] = 0;
	paren = strrchr(buf, ')');
	return !paren || paren[1] == 0 || paren[2] == 'Z' || paren[2] == 'X';
}

static int open_wait(struct watch *w, uint64_t deadline)
{
	for (;;) {
		w->fd = open(w->path, O_RDONLY | O_CLOEXEC);
		if (w->fd >= 0)
			break;
		if (errno != ENOENT || clock_ms(CLOCK_MONOTONIC) >= deadline) {
			fprintf(stderr, "serial-watch: %s: %s\n", w->path,
				strerror(errno));
			return -1;
		}
		usleep(10000);
	}
	w->ino = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (w->ino >= 0 && inotify_add_watch(w->ino, w->path, IN_MODIFY) < 0) {
		close(w->ino);
		w->ino = -1;
	}
	return 0;
}

/* Sleeps until the file may have grown, at most until deadline. */
static void wait_growth(struct watch *w, uint64_t deadline)
{
	uint64_t now = clock_ms(CLOCK_MONOTONIC);
	int timeout = 20;
	char ev[4096];

	if (deadline <= now)
		return;
	if (deadline - now < (uint64_t)timeout)
		timeout = deadline - now;
	if (w->ino < 0) {
		usleep(timeout * 1000);
		return;
	}
	poll(&(struct pollfd){ .fd = w->ino, .events = POLLIN }, 1, timeout);
	while (read(w->ino, ev, sizeof(ev)) > 0)
		;
}

/*
 * Reads what was appended and calls fn for each complete line ('\r'
 * stripped). Returns the number of lines, or -1 when fn asks to stop.
 */
static int read_lines(struct watch *w, int (*fn)(const char *, void *),
		      void *arg)
{
	struct stat st;
	ssize_t n;
	int lines = 0;

	if (!fstat(w->fd, &st) && st.st_size < w->offset) {
		w->offset = 0;	/* truncated: a new QEMU reopened the log */
		w->len = 0;
	}
	n = pread(w->fd, w->buf + w->len, sizeof(w->buf) - w->len, w->offset);
	if (n <= 0)
		return 0;
	w->offset += n;
	w->len += n;
	for (;;) {
		char *nl = memchr(w->buf, '\n', w->len);
		size_t used;

		if (!nl) {
			if (w->len == sizeof(w->buf))
				w->len = 0;	/* a line too long: drop it */
			return lines;
		}
		used = nl + 1 - w->buf;
		*nl = 0;
		if (nl > w->buf && nl[-1] == '\r')
			nl[-1] = 0;
		lines++;
		if (fn(w->buf, arg)) {
			memmove(w->buf, w->buf + used, w->len - used);
			w->len -= used;
			return -1;
		}
		memmove(w->buf, w->buf + used, w->len - used);
		w->len -= used;
	}
}

struct match {
	const char *pattern;
	int want, seen;
};

static int print_stamped(const char *line, void *arg)
{
	(void)arg;
	printf("%llu %s\n", (unsigned long long)clock_ms(CLOCK_REALTIME), line);
	fflush(stdout);
	return 0;
}

static int print_if_match(const char *line, void *arg)
{
	struct match *m = arg;

	if (!strstr(line, m->pattern))
		return 0;
	print_stamped(line, NULL);
	return ++m->seen >= m->want;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: serial-watch [-t SEC] [-o OFFSET] [-c COUNT] [-p PID] FILE PATTERN\n"
		   "       serial-watch --stamp [-o OFFSET] FILE\n");
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "stamp", no_argument, NULL, 's' },
		{ "timeout", required_argument, NULL, 't' },
		{ "offset", required_argument, NULL, 'o' },
		{ "count", required_argument, NULL, 'c' },
		{ "pid", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct watch w = { .fd = -1, .ino = -1 };
	struct match m = { .want = 1 };
	double timeout_s = 60;
	bool stamp = false;
	pid_t writer = 0;
	uint64_t deadline;
	int ch;

	while ((ch = getopt_long(argc, argv, "st:o:c:p:h", lopts, NULL)) != -1) {
		switch (ch) {
		case 's': stamp = true; break;
		case 't': timeout_s = atof(optarg); break;
		case 'o': w.offset = strtoll(optarg, NULL, 0); break;
		case 'c': m.want = atoi(optarg); break;
		case 'p': writer = atoi(optarg); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (argc - optind != (stamp ? 1 : 2)) {
		usage(stderr);
		return 2;
	}
	w.path = argv[optind];
	m.pattern = stamp ? NULL : argv[optind + 1];
	deadline = stamp ? UINT64_MAX :
			   clock_ms(CLOCK_MONOTONIC) + (uint64_t)(timeout_s * 1000);
	if (open_wait(&w, deadline))
		return 1;
	for (;;) {
		bool gone = writer && process_gone(writer);

		/* Read once more after the writer is gone: its last lines. */
		if (read_lines(&w, stamp ? print_stamped : print_if_match, &m) < 0)
			return 0;
		if (gone && !stamp) {
			fprintf(stderr, "serial-watch: %s: process %d ended; %d of "
				"%d '%s' lines\n", w.path, (int)writer, m.seen,
				m.want, m.pattern);
			return 1;
		}
		if (clock_ms(CLOCK_MONOTONIC) >= deadline) {
			fprintf(stderr, "serial-watch: %s: %d of %d '%s' lines "
				"before timeout\n", w.path, m.seen, m.want,
				m.pattern);
			return 1;
		}
		wait_growth(&w, deadline);
	}
}
