/* SPDX-License-Identifier: GPL-2.0 */
/*
 * zdtm/tests.list: one test a line, "name dir flags", '#' comments.
 * flags is "-" or a comma-separated list of:
 *   threads  the test is multi-threaded
 *   tree     the test forks a process tree
 *   notyet   needs engine features not there yet: skipped unless --all
 *            or named on the command line
 *   fault    also run the failed-dump cases (CRIU_LITE_FAULT)
 *   busy     the test keeps a CPU busy (the runner checks it still runs)
 *   tcp      holds established TCP connections: every dump, pre-dump and
 *            restore gets --tcp-established
 */
#ifndef ZDTM_RUNNER_TESTLIST_H
#define ZDTM_RUNNER_TESTLIST_H

enum test_flags {
	TF_THREADS	= 1 << 0,
	TF_TREE		= 1 << 1,
	TF_NOTYET	= 1 << 2,
	TF_FAULT	= 1 << 3,
	TF_BUSY		= 1 << 4,
	TF_TCP		= 1 << 5,
};

struct zdtm_test {
	char name[64];
	char dir[32];
	unsigned int flags;
};

/* Loads @path into a malloc'ed array; returns the number of tests or -1. */
int testlist_load(const char *path, struct zdtm_test **tests);

/* "threads,notyet" for @flags, "-" for none; returns @buf. */
const char *testlist_flags_str(unsigned int flags, char *buf, int len);

#endif /* ZDTM_RUNNER_TESTLIST_H */
