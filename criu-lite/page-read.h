/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Reading a target's pages without ending what it shares copy-on-write.
 *
 * process_vm_readv pins the pages it reads, and pinning an anonymous page
 * that is not exclusively the target's (shared copy-on-write since a
 * fork, or swapped out while shared) makes the kernel give the target a
 * copy of its own first (FAULT_FLAG_UNSHARE, Linux 5.19+): a dump, a
 * pre-copy round or a --leave-running dump would double a forked server's
 * memory. /proc/PID/mem reads without pinning; it is slower, so only those
 * pages go through it (/proc/PID/pagemap tells: bit 56, exclusively
 * mapped), the rest through process_vm_readv.
 */
#ifndef CRIU_LITE_PAGE_READ_H
#define CRIU_LITE_PAGE_READ_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

/* The page-aligned pieces remote[0..n) of pid, one after the other into
 * buf. 0, or -1 with a message. */
int read_target_pages(pid_t pid, const struct iovec *remote, size_t n,
		      uint8_t *buf);
/* The same from a target that runs on (a pre-dump): a page it unmapped
 * meanwhile makes it -1 without a message; the caller reads page by page. */
int read_running_pages(pid_t pid, const struct iovec *remote, size_t n,
		       uint8_t *buf);

#endif
