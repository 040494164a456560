// SPDX-License-Identifier: GPL-2.0
/*
 * kernel_features_probe / cmd_check on this machine, and the pure logic
 * around them (required set, tracker choice).
 *
 * Build (from the repo root, after `make` built the library):
 *   gcc -O2 -g -Wall -Wextra -Werror -D_GNU_SOURCE -Icriu-lite -Iimages \
 *       -o build/tests/test_check tests/test_check.c build/libcriulite.a -lcmocka
 * Run as root (clone3 set_tid and pidfd_getfd need privilege).
 */
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "check.h"
#include "dirty.h"

/* Run cmd_check with stdout sent to /dev/null. */
static int quiet_check(int argc, char **argv)
{
	int saved = dup(STDOUT_FILENO), null = open("/dev/null", O_WRONLY), ret;

	fflush(stdout);
	dup2(null, STDOUT_FILENO);
	ret = cmd_check(argc, argv);
	fflush(stdout);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	close(null);
	return ret;
}

/* What ARCHITECTURE.md measured on this machine kind must probe so. */
static void test_probe_this_machine(void **state)
{
	struct kernel_features kf;
	char missing[128];

	(void)state;
	assert_int_equal(kernel_features_probe(&kf), 0);
	assert_true(kf.ptrace_seize);
	assert_true(kf.pidfd_open);
	assert_true(kf.pidfd_getfd);
	assert_true(kf.process_vm_readv);
	assert_true(kf.process_vm_writev);
	assert_true(kf.pagemap);
	assert_true(kf.pagemap_scan);
	assert_true(kf.clone3_set_tid);
	assert_true(kf.uffd_wp_async);
	assert_true(kf.procmap_query);
	assert_true(kf.prctl_mm_map);
	assert_int_equal(kernel_features_missing(&kf, missing, sizeof(missing)), 0);
	assert_string_equal(missing, "");
	/* uffd-wp whenever it works, soft-dirty or not */
	assert_ptr_equal(dirty_tracker_pick(&kf), &uffd_wp_tracker_ops);
}

static void test_required_and_pick(void **state)
{
	struct kernel_features kf = { 0 };
	char missing[256];

	(void)state;
	assert_int_equal(kernel_features_missing(&kf, missing, sizeof(missing)), 6);
	assert_string_equal(missing, "ptrace-seize, pidfd_open, pidfd_getfd, "
			    "process_vm_readv, pagemap, clone3-set-tid");
	kf.pagemap_scan = true;	/* either pagemap interface will do */
	assert_int_equal(kernel_features_missing(&kf, missing, sizeof(missing)), 5);
	assert_int_equal(kernel_features_missing(&kf, NULL, 0), 5);

	assert_null(dirty_tracker_pick(&kf));
	kf.soft_dirty = true;
	assert_ptr_equal(dirty_tracker_pick(&kf), &soft_dirty_tracker_ops);
	kf.uffd_wp_async = true;
	assert_ptr_equal(dirty_tracker_pick(&kf), &uffd_wp_tracker_ops);
	kf.pagemap_scan = false;	/* uffd-wp collects with PAGEMAP_SCAN */
	assert_ptr_equal(dirty_tracker_pick(&kf), &soft_dirty_tracker_ops);
	assert_false(kernel_features_lazy_pages(&kf));
}

static void test_cmd_check(void **state)
{
	char *ok[] = { "check", NULL };
	char *json[] = { "check", "--json", NULL };
	char *help[] = { "check", "--help", NULL };
	char *bad[] = { "check", "--bogus", NULL };

	(void)state;
	assert_int_equal(quiet_check(1, ok), 0);
	assert_int_equal(quiet_check(2, json), 0);
	assert_int_equal(quiet_check(2, help), 0);
	assert_int_equal(quiet_check(2, bad), 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_probe_this_machine),
		cmocka_unit_test(test_required_and_pick),
		cmocka_unit_test(test_cmd_check),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
