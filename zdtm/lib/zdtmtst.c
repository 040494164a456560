// SPDX-License-Identifier: GPL-2.0
/* zdtmtst: see zdtmtst.h for the protocol between tests and the runner. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/rseq.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "zdtmtst.h"

volatile sig_atomic_t test_stop;
static unsigned int nr_failures;

static void on_sigterm(int sig)
{
	(void)sig;
	test_stop = 1;
}

void test_init(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_sigterm };

	(void)argc;
	(void)argv;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGTERM, &sa, NULL))
		test_abort("sigaction(SIGTERM): %m");
}

/* One write(2) per line: O_APPEND makes each line land whole. */
static void log_line(const char *prefix, const char *fmt, va_list ap)
{
	char buf[1024];
	int saved_errno = errno;
	int n;

	n = snprintf(buf, sizeof(buf), "%s", prefix);
	errno = saved_errno;
	n += vsnprintf(buf + n, sizeof(buf) - n - 1, fmt, ap);
	if (n > (int)sizeof(buf) - 2)
		n = sizeof(buf) - 2;
	buf[n++] = '\n';
	if (write(STDOUT_FILENO, buf, n) < 0)
		_exit(2);
	errno = saved_errno;
}

void test_msg(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_line("", fmt, ap);
	va_end(ap);
}

void test_fail(const char *fmt, ...)
{
	va_list ap;

	__atomic_fetch_add(&nr_failures, 1, __ATOMIC_RELAXED);
	va_start(ap, fmt);
	log_line("FAIL: ", fmt, ap);
	va_end(ap);
}

void test_abort(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_line("FAIL: setup: ", fmt, ap);
	va_end(ap);
	exit(1);
}

unsigned int test_failures(void)
{
	return nr_failures;
}

void test_ready(void)
{
	test_msg("READY");
}

/*
 * ppoll() with a timeout and no signal mask: nothing is ever blocked, and a
 * SIGTERM that lands between the flag test and the syscall costs at most the
 * timeout.  A checkpoint usually finds the test inside this ppoll().
 */
void test_wait_term(void)
{
	while (!test_stop) {
		struct timespec ts = { .tv_sec = 1 };

		ppoll(NULL, 0, &ts, NULL);
	}
}

void test_done(void)
{
	if (nr_failures)
		exit(1);
	test_msg("PASS");
	exit(0);
}

bool test_corrupt(const char *point)
{
	const char *list = getenv("ZDTM_CORRUPT");
	size_t len = strlen(point);

	if (!list)
		return false;
	while (*list) {
		size_t n = strcspn(list, ",");

		if ((n == len && !strncmp(list, point, n)) ||
		    (n == 3 && !strncmp(list, "all", 3))) {
			test_msg("corrupting %s (ZDTM_CORRUPT)", point);
			return true;
		}
		list += n;
		if (*list == ',')
			list++;
	}
	return false;
}

unsigned long test_env_ul(const char *name, unsigned long def)
{
	const char *s = getenv(name);
	unsigned long v;
	char *end;

	if (!s || !*s)
		return def;
	errno = 0;
	v = strtoul(s, &end, 0);
	if (errno || *end)
		return def;
	return v;
}

uint64_t test_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

ssize_t test_read_file(const char *path, char *buf, size_t size)
{
	size_t len = 0;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	while (len + 1 < size) {
		n = read(fd, buf + len, size - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += n;
	}
	close(fd);
	buf[len] = '\0';
	return len;
}

char *test_smaps_entry(const void *p, char *buf, size_t size)
{
	char head[32];

	if (test_read_file("/proc/self/smaps", buf, size) < 0)
		return NULL;
	snprintf(head, sizeof(head), "\n%lx-", (unsigned long)p);
	return strstr(buf, head);
}

bool test_check_vmflags(const char *name, const void *p, const char *want)
{
	static char smaps[1 << 17];
	char *at = test_smaps_entry(p, smaps, sizeof(smaps)), flag[4];
	char *fl = at ? strstr(at, "VmFlags:") : NULL;
	bool ok = true;

	if (fl)
		fl[strcspn(fl, "\n")] = 0;
	for (const char *w = want; w[0] && w[1]; w += w[2] ? 3 : 2) {
		snprintf(flag, sizeof(flag), " %.2s", w);
		if (!fl || !strstr(fl, flag)) {
			test_fail("%s: no \"%.2s\" in \"%s\"", name, w,
				  fl ? fl : "");
			ok = false;
		}
	}
	return ok;
}

static uint8_t pattern_byte(uint64_t seed, size_t off)
{
	return test_mix64(seed ^ (off / 8)) >> (8 * (off % 8));
}

void test_fill(void *buf, size_t len, uint64_t seed)
{
	uint8_t *p = buf;
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = pattern_byte(seed, i);
}

bool test_check_fill(const void *buf, size_t len, uint64_t seed)
{
	const uint8_t *p = buf;
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i] != pattern_byte(seed, i))
			return false;
	return true;
}

int test_rseq_probe(void)
{
	void *area = (char *)__builtin_thread_pointer() + __rseq_offset;

	if (!__rseq_size)
		return -1;
	/* The kernel's struct rseq is 32 bytes; glibc registers that length. */
	if (syscall(SYS_rseq, area, 32, 0, RSEQ_SIG) == 0)
		return 0;
	return errno;
}

int test_fd_link(int fd, char *buf, size_t size)
{
	char path[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, buf, size - 1);
	if (n < 0) {
		buf[0] = '\0';
		return -1;
	}
	buf[n] = '\0';
	return 0;
}

int test_fdinfo_lines(int fd, const char *prefix, char *out, size_t size)
{
	char path[64], buf[16384], *p;
	size_t len = 0, plen = strlen(prefix);

	out[0] = '\0';
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	if (test_read_file(path, buf, sizeof(buf)) < 0)
		return -1;
	for (p = buf; *p; ) {
		size_t n = strcspn(p, "\n");

		if (!strncmp(p, prefix, plen) && len + n + 2 < size) {
			len += snprintf(out + len, size - len, "%s%.*s",
					len ? "\n" : "", (int)n, p);
		}
		p += n + (p[n] == '\n');
	}
	return 0;
}
