/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel feature probing. Every feature is probed by using it for real
 * (forking a child to seize, open, scan, clone into a new namespace...),
 * never by kernel version: distro kernels backport and configs differ.
 */
#ifndef CRIU_LITE_CHECK_H
#define CRIU_LITE_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct kernel_features {
	/* required by dump / restore */
	bool ptrace_seize;	/* PTRACE_SEIZE + PTRACE_INTERRUPT -> event stop */
	bool pidfd_open;
	bool pidfd_getfd;	/* a dup of another process' fd */
	bool process_vm_readv;
	bool clone3_set_tid;	/* exact pid (tested in a new pid ns) */
	bool pagemap;		/* /proc/PID/pagemap entries readable */
	bool pagemap_scan;	/* ioctl PAGEMAP_SCAN (6.7) */
	/* used when present */
	bool process_vm_writev;
	bool ptrace_rseq_conf;	/* PTRACE_GET_RSEQ_CONFIGURATION (5.13) */
	bool pid_ns;		/* clone3(CLONE_NEWPID) */
	bool time_ns;		/* CLONE_NEWTIME + timens_offsets applied */
	bool procmap_query;	/* ioctl PROCMAP_QUERY on /proc/PID/maps (6.11) */
	bool prctl_mm_map;	/* PR_SET_MM_MAP accepted (mm fields, exe) */
	/* dirty tracking, lazy pages */
	bool uffd_syscall;	/* userfaultfd(2) */
	bool uffd_dev;		/* /dev/userfaultfd + USERFAULTFD_IOC_NEW */
	bool uffd_missing;	/* UFFDIO_REGISTER MODE_MISSING on anon */
	bool uffd_wp_async;	/* WP_ASYNC tracking works end to end */
	bool uffd_wp_unpopulated;
	bool uffd_event_fork, uffd_event_remap;
	bool uffd_event_remove, uffd_event_unmap;
	bool uffd_minor_shmem;
	bool soft_dirty;	/* bit 55 set by a write after clear_refs 4 */
	/* informational */
	bool cap_sys_resource;
	uint64_t uffd_features;	/* as reported by UFFDIO_API(features = 0) */
};

/*
 * Probe everything (~10 ms: forks a few short-lived children, writes
 * clear_refs of the calling process). Fills *kf; returns 0, or -1 if the
 * probe itself could not run (fork/pipe failure). Missing features are
 * not an error here: see kernel_features_missing.
 */
int kernel_features_probe(struct kernel_features *kf);

/*
 * Names the required features *kf lacks, comma separated, into buf
 * ("" when complete). Returns how many are missing.
 */
int kernel_features_missing(const struct kernel_features *kf,
			    char *buf, size_t len);

/* Lazy restore needs MISSING registration and the non-cooperative events. */
bool kernel_features_lazy_pages(const struct kernel_features *kf);

/*
 * `criu-lite check [--json] [--help]`; argv[0] is "check". Prints one line
 * per feature to stdout. Returns the process exit code: 0 all required
 * features present, 1 something required missing, 2 usage error.
 */
int cmd_check(int argc, char **argv);

#endif /* CRIU_LITE_CHECK_H */
