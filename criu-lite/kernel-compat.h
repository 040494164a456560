/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel interfaces newer than the uapi headers Debian 12 installs (6.1).
 * Each definition is guarded and names the kernel that added it; values are
 * the kernel ABI and never change.
 */
#ifndef CRIU_LITE_KERNEL_COMPAT_H
#define CRIU_LITE_KERNEL_COMPAT_H

#include <linux/types.h>
#include <linux/fs.h>
#include <linux/userfaultfd.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>

/* PAGEMAP_SCAN: Linux 6.7 */
#ifndef PAGEMAP_SCAN
#define PAGE_IS_WPALLOWED	(1 << 0)
#define PAGE_IS_WRITTEN		(1 << 1)
#define PAGE_IS_FILE		(1 << 2)
#define PAGE_IS_PRESENT		(1 << 3)
#define PAGE_IS_SWAPPED		(1 << 4)
#define PAGE_IS_PFNZERO		(1 << 5)
#define PAGE_IS_HUGE		(1 << 6)
#define PAGE_IS_SOFT_DIRTY	(1 << 7)

struct page_region {
	__u64 start;
	__u64 end;
	__u64 categories;
};

#define PM_SCAN_WP_MATCHING	(1 << 0)
#define PM_SCAN_CHECK_WPASYNC	(1 << 1)

struct pm_scan_arg {
	__u64 size;
	__u64 flags;
	__u64 start;
	__u64 end;
	__u64 walk_end;
	__u64 vec;
	__u64 vec_len;
	__u64 max_pages;
	__u64 category_inverted;
	__u64 category_mask;
	__u64 category_anyof_mask;
	__u64 return_mask;
};

#define PAGEMAP_SCAN	_IOWR('f', 16, struct pm_scan_arg)
#endif

/* MAP_DROPPABLE: Linux 6.11, a map type like MAP_PRIVATE (VmFlags "dp") */
#ifndef MAP_DROPPABLE
#define MAP_DROPPABLE		0x08
#endif

/* PAGEMAP_SCAN's PAGE_IS_GUARD (Linux 6.14) and madvise guard regions
 * (Linux 6.13) */
#ifndef PAGE_IS_GUARD
#define PAGE_IS_GUARD		(1 << 8)
#endif
#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL	102
#define MADV_GUARD_REMOVE	103
#endif

/* PROCMAP_QUERY: Linux 6.11 */
#ifndef PROCMAP_QUERY
#define PROCMAP_QUERY	_IOWR('f', 17, struct procmap_query)
enum procmap_query_flags {
	PROCMAP_QUERY_VMA_READABLE	= 0x01,
	PROCMAP_QUERY_VMA_WRITABLE	= 0x02,
	PROCMAP_QUERY_VMA_EXECUTABLE	= 0x04,
	PROCMAP_QUERY_VMA_SHARED	= 0x08,
	PROCMAP_QUERY_COVERING_OR_NEXT_VMA = 0x10,
	PROCMAP_QUERY_FILE_BACKED_VMA	= 0x20,
};
struct procmap_query {
	__u64 size;
	__u64 query_flags;
	__u64 query_addr;
	__u64 vma_start;
	__u64 vma_end;
	__u64 vma_flags;
	__u64 vma_page_size;
	__u64 vma_offset;
	__u64 inode;
	__u32 dev_major;
	__u32 dev_minor;
	__u32 vma_name_size;
	__u32 build_id_size;
	__u64 vma_name_addr;
	__u64 build_id_addr;
};
#endif

/* userfaultfd write-protect async: Linux 6.7; WP_UNPOPULATED: 6.4 */
#ifndef UFFD_FEATURE_WP_UNPOPULATED
#define UFFD_FEATURE_WP_UNPOPULATED	(1 << 13)
#endif
#ifndef UFFD_FEATURE_POISON
#define UFFD_FEATURE_POISON		(1 << 14)
#endif
#ifndef UFFD_FEATURE_WP_ASYNC
#define UFFD_FEATURE_WP_ASYNC		(1 << 15)
#endif
#ifndef UFFD_USER_MODE_ONLY
#define UFFD_USER_MODE_ONLY		1
#endif

/* syscalls glibc 2.36 does not wrap */
#ifndef __NR_pidfd_open
#define __NR_pidfd_open		434
#endif
#ifndef __NR_clone3
#define __NR_clone3		435
#endif
#ifndef __NR_pidfd_getfd
#define __NR_pidfd_getfd	438
#endif
#ifndef __NR_rseq
#define __NR_rseq		334
#endif

/* PTRACE_GET_RSEQ_CONFIGURATION: Linux 5.13 */
#ifndef PTRACE_GET_RSEQ_CONFIGURATION
#define PTRACE_GET_RSEQ_CONFIGURATION	0x420f
#endif

/* clone3's struct clone_args up to cgroup (5.7); glibc has no wrapper */
struct clone_args_abi {
	__u64 flags, pidfd, child_tid, parent_tid, exit_signal;
	__u64 stack, stack_size, tls, set_tid, set_tid_size, cgroup;
};

/* struct ptrace_rseq_configuration; glibc's sys/ptrace.h has only the
 * request number and linux/ptrace.h clashes with it, so it is named here. */
struct cl_rseq_config {
	__u64 rseq_abi_pointer;
	__u32 rseq_abi_size;
	__u32 signature;
	__u32 flags;
	__u32 pad;
};

#ifndef RSEQ_FLAG_UNREGISTER
#define RSEQ_FLAG_UNREGISTER	1
#endif

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME		0x00000080
#endif

/* the kernel's internal syscall-restart codes, seen in rax of a thread
 * stopped inside a syscall (include/linux/errno.h) */
#ifndef ERESTARTSYS
#define ERESTARTSYS		512
#define ERESTARTNOINTR		513
#define ERESTARTNOHAND		514
#define ERESTART_RESTARTBLOCK	516
#endif

#endif /* CRIU_LITE_KERNEL_COMPAT_H */
