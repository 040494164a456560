// SPDX-License-Identifier: GPL-2.0
/*
 * The progress line on stderr (criu-lite/progress.h): what its figures
 * count. The clock is not waited for: the run and the phase are made to
 * have begun long ago by moving their start times back.
 */
#include "testlib.h"

#include "log.h"
#include "pagemap.h"
#include "progress.h"
#include "seize.h"

#define SEC	1000000000ULL

/* A phase that began secs ago, in a run older than the quiet second,
 * stderr captured (a file: plain lines, not a terminal's). */
static void begin(struct progress *p, struct tl_capture *c,
		  const char *phase, uint64_t total, uint64_t secs)
{
	tl_capture_start(c, STDERR_FILENO);
	assert_int_equal(progress_init(p, -1), 0);
	p->t_run -= (secs + 2) * SEC;
	progress_phase(p, phase, total);
	p->t_phase -= secs * SEC;
}

/* 100000 pages gone through, 65536 of them stored (256 MiB): the line
 * says 256 MiB, and the rate is that over the phase's 100 s, not the
 * 390.6 MiB of every page gone through (zero, parent, lazy pages are
 * part of those but not stored). */
static void test_mib_is_bytes_stored(void **state)
{
	struct progress p;
	struct tl_capture c;
	char *err;

	(void)state;
	begin(&p, &c, "dump-pages", 100000, 100);
	progress_add(&p, 100000, 65536ULL * PAGE_SZ);
	err = tl_capture_end(&c);
	assert_contains(err, "dump-pages: 100000 of 100000 pages (100%), "
			"256.0 MiB at 3 MB/s");
	free(err);
	tl_capture_start(&c, STDERR_FILENO);
	progress_end(&p);
	err = tl_capture_end(&c);
	assert_contains(err, "256.0 MiB at 3 MB/s, done");
	free(err);
}

/* A phase of pages gone through that stored nothing (all of them in the
 * parent layer): 0 MiB. */
static void test_nothing_stored(void **state)
{
	struct progress p;
	struct tl_capture c;
	char *err;

	(void)state;
	begin(&p, &c, "dump-pages", 0, 10);
	progress_add(&p, 5000, 0);
	progress_end(&p);
	err = tl_capture_end(&c);
	assert_contains(err, "dump-pages: 5000 pages, 0.0 MiB at 0 MB/s\n");
	assert_contains(err, "5000 of 5000 pages (100%), 0.0 MiB at 0 MB/s, done");
	free(err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mib_is_bytes_stored),
		cmocka_unit_test(test_nothing_stored),
	};

	log_set_level(LOG_INFO);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
