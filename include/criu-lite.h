/* SPDX-License-Identifier: GPL-2.0 */
/*
 * libcriu-lite: checkpoint and restore of a process tree (a whole QEMU
 * process included) from a program, e.g. a VM manager.
 *
 *     #include <criu-lite.h>
 *     cc prog.c $(pkg-config --cflags --libs criu-lite)
 *
 * The calls do what `criu-lite check`, `criu-lite dump` and
 * `criu-lite restore` do, in the calling process: it must have the same
 * privileges (root, or CAP_SYS_PTRACE + CAP_CHECKPOINT_RESTORE), and it
 * becomes the parent of a restored tree. Messages go to stderr, prefixed
 * "criu-lite:", at the level set by criu_lite_set_log_level.
 *
 * Guarantees (as the command line): a failed dump leaves the tree running
 * as it was and the images directory as it was; a failed restore leaves
 * nothing of what it made. The calls are not thread-safe: one at a time.
 */
#ifndef LIBCRIU_LITE_H
#define LIBCRIU_LITE_H

#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CRIU_LITE_API_VERSION	1

struct criu_lite_dump_req {
	pid_t pid;			/* root of the tree */
	const char *images_dir;		/* replaced only once the dump is whole */
	int leave_running;		/* else the tree is killed after the dump */
	const char *qmp_socket;		/* QEMU: stop the VM through QMP first */
	unsigned precopy_rounds;	/* copy memory while running first */
	int no_sync;			/* images may stay in the page cache */
};

struct criu_lite_restore_req {
	const char *images_dir;
	int detach;			/* return once the tree runs (else wait
					 * for its root and return its status) */
	int pidns;			/* in a new PID namespace */
	int lazy_pages;			/* resume at once, memory on fault */
	int no_verify;			/* skip the page checksums */
	int no_cont;			/* leave a QMP-stopped VM stopped */
};

struct criu_lite_result {
	pid_t root_pid;			/* restore: the root as the caller sees it */
	int exit_status;		/* restore without detach: the root's */
	uint64_t frozen_us;		/* dump: how long the tree was stopped */
	uint64_t total_us;
	uint64_t pages;			/* stored (dump) / written (restore) */
};

/* "0.1" and so on. */
const char *criu_lite_version(void);
/* 0 errors only, 1 warnings, 2 info (the default), 3 debug. */
void criu_lite_set_log_level(int level);
/* 0 when the kernel has every feature dump and restore need; -1 if not
 * (what is missing is logged). */
int criu_lite_check(void);
/* 0 or -1 (the cause is logged). res may be NULL. */
int criu_lite_dump(const struct criu_lite_dump_req *req,
		   struct criu_lite_result *res);
int criu_lite_restore(const struct criu_lite_restore_req *req,
		      struct criu_lite_result *res);

#ifdef __cplusplus
}
#endif

#endif
