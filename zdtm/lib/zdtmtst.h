/* SPDX-License-Identifier: GPL-2.0 */
/*
 * zdtmtst: the protocol every zdtm test program follows.
 *
 * The runner (zdtm/zdtm-run.c) starts a test with stdin on /dev/null and
 * stdout/stderr on an O_APPEND log.  The test sets up its state, calls
 * test_ready() (prints "READY"), waits for SIGTERM (test_wait_term(), or its
 * own loop on test_stop), checks that its state survived and ends with
 * test_done(): "PASS" and exit 0, or exit 1 after one or more
 * "FAIL: <reason>" lines.
 *
 * Every line goes out with one write(2) on the O_APPEND log, so lines of
 * several processes of one test never interleave, and nothing is buffered
 * in stdio when a test forks or is checkpointed.
 *
 * ZDTM_CORRUPT=<point>[,<point>...] makes a test damage its own state at a
 * named point before checking it: proves that the check can fail.
 */
#ifndef ZDTM_ZDTMTST_H
#define ZDTM_ZDTMTST_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

/* Set by the SIGTERM handler that test_init() installs. */
extern volatile sig_atomic_t test_stop;

/* Installs the SIGTERM handler (no SA_RESTART: blocking calls see EINTR). */
void test_init(int argc, char **argv);

/* Prints "READY": the runner may checkpoint from now on. */
void test_ready(void);

/* Sleeps until SIGTERM has been received; no signal is blocked meanwhile. */
void test_wait_term(void);

/* Prints one log line; test_msg() for information, test_fail() for a failure. */
void test_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void test_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A failure during setup: prints "FAIL: setup: ..." and exits 1 at once. */
void test_abort(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));

/* Failures so far (test_fail() calls in this process). */
unsigned int test_failures(void);

/* Prints "PASS" and exits 0, or exits 1 when test_fail() was called. */
void test_done(void) __attribute__((noreturn));

/* True when ZDTM_CORRUPT names @point (comma-separated list, or "all"). */
bool test_corrupt(const char *point);

/* An unsigned number from the environment, @def when unset or invalid. */
unsigned long test_env_ul(const char *name, unsigned long def);

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t test_now_ns(void);

/* Reads a whole (small) file into @buf, NUL-terminated; -1 on error. */
ssize_t test_read_file(const char *path, char *buf, size_t size);

/*
 * Reads /proc/self/smaps into @buf and returns where the entry of the
 * mapping that starts at @p begins in it (at the '\n' before its first
 * line); NULL when it can't be read or there is no such mapping.
 */
char *test_smaps_entry(const void *p, char *buf, size_t size);

/*
 * Each two-letter flag of @want ("dc lo": separated by one space) is on
 * the VmFlags line of the mapping that starts at @p; else test_fail()
 * naming @name, the flag and the line, and false.
 */
bool test_check_vmflags(const char *name, const void *p, const char *want);

/*
 * Probes the calling thread's rseq registration by registering glibc's rseq
 * area again: returns the errno (EBUSY: registered as glibc did it), 0 when
 * the thread had none (it has now), -1 when glibc does not use rseq.
 */
int test_rseq_probe(void);

/* readlink() of /proc/self/fd/@fd into @buf (NUL-terminated); -1 on error. */
int test_fd_link(int fd, char *buf, size_t size);

/*
 * The lines of /proc/self/fdinfo/@fd that start with @prefix, joined by
 * '\n' into @out ("" when none); -1 when fdinfo cannot be read.
 */
int test_fdinfo_lines(int fd, const char *prefix, char *out, size_t size);

/* A cheap, well-mixed 64-bit value for pattern generators. */
static inline uint64_t test_mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

/* Fills / checks @len bytes with a pattern that depends on @seed and offset. */
void test_fill(void *buf, size_t len, uint64_t seed);
bool test_check_fill(const void *buf, size_t len, uint64_t seed);

#endif /* ZDTM_ZDTMTST_H */
