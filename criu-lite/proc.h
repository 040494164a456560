/* SPDX-License-Identifier: GPL-2.0 */
/*
 * /proc parsers. The *_parse_* functions take text and are pure (unit
 * tested with recorded text); the readers open the files.
 */
#ifndef CRIU_LITE_PROC_H
#define CRIU_LITE_PROC_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* VmFlags from smaps that restore replays or that decide how to dump */
enum {
	VMF_GROWSDOWN  = 1 << 0,	/* gd */
	VMF_DONTFORK   = 1 << 1,	/* dc */
	VMF_HUGEPAGE   = 1 << 2,	/* hg */
	VMF_NOHUGEPAGE = 1 << 3,	/* nh */
	VMF_WIPEONFORK = 1 << 4,	/* wf */
	VMF_DONTDUMP   = 1 << 5,	/* dd */
	VMF_MERGEABLE  = 1 << 6,	/* mg */
	VMF_IO         = 1 << 7,	/* io: device memory, can't be dumped */
	VMF_PFNMAP     = 1 << 8,	/* pf */
	VMF_UFFD_MISSING = 1 << 9,	/* um */
	VMF_UFFD_WP    = 1 << 10,	/* uw */
	VMF_LOCKED     = 1 << 11,	/* lo */
	VMF_SEQREAD    = 1 << 12,	/* sr */
	VMF_RANDREAD   = 1 << 13,	/* rr */
	VMF_MAYWRITE   = 1 << 14,	/* mw */
	VMF_DROPPABLE  = 1 << 15,	/* dp: MAP_DROPPABLE (6.11) */
	VMF_LOCKONFAULT = 1 << 16,	/* lf: mlock2(MLOCK_ONFAULT) */
};

struct vma_info {
	uint64_t start, end, pgoff;
	uint32_t prot;		/* PROT_* */
	bool shared;
	uint32_t dev_major, dev_minor;
	uint64_t ino;
	uint32_t vmflags;	/* VMF_* */
	bool deleted;		/* path ended in " (deleted)" (stripped) */
	const char *path;	/* file path, "[heap]", ... or "": interned
				 * (proc_intern_path), never freed, shared by
				 * every VMA of that path */
};

/* The one copy of a path (len bytes, no NUL needed) for the life of the
 * process: 20k VMAs of one file hold one string, not 20k PATH_MAX
 * buffers. NULL when out of memory. Thread-safe. */
const char *proc_intern_path(const char *path, size_t len);

int proc_parse_maps_line(const char *line, struct vma_info *v);
uint32_t proc_parse_vmflags(const char *list);
/* Parses the text of /proc/PID/smaps (or maps) into a malloc'ed array. */
int proc_parse_smaps(const char *text, struct vma_info **out, size_t *nr);
int proc_read_vmas(pid_t pid, struct vma_info **out, size_t *nr);
/* The same from /proc/PID/maps: no page walk (smaps walks every page
 * table of the process: ~30 ms for a restore's 1.7 GiB of held 4 KiB
 * pages here), every vmflags 0. */
int proc_read_maps(pid_t pid, struct vma_info **out, size_t *nr);

struct proc_stat {
	pid_t pid, ppid, pgrp, session;
	char state;
	char comm[64];
	uint64_t start_code, end_code, start_stack;
	uint64_t start_data, end_data, start_brk;
	uint64_t arg_start, arg_end, env_start, env_end;
	int exit_signal;
	int exit_code;		/* of a zombie: its wait status */
	unsigned long flags;	/* PF_* */
	uint64_t start_time;	/* clock ticks after boot: with the pid, names
				 * one process (pids are reused) */
	uint64_t minflt, majflt;	/* page faults so far */
};
int proc_parse_stat(const char *text, struct proc_stat *st);
int proc_read_stat(pid_t pid, pid_t tid, struct proc_stat *st);

struct proc_status {
	char state;
	pid_t tracer;
	uint32_t umask;
	uint64_t sig_pending, shd_pending, sig_blocked, sig_ignored, sig_caught;
	uint32_t uid[4], gid[4];
	uint64_t cap_inh, cap_prm, cap_eff, cap_bnd, cap_amb;
	int no_new_privs;
	int seccomp;
	int threads;
};
int proc_parse_status(const char *text, struct proc_status *st);
int proc_read_status(pid_t pid, struct proc_status *st);

/* Why ptrace may not attach to pid, in words: a kernel thread, traced
 * already (by whom), a capability criu-lite lacks. Into buf; never NULL. */
const char *proc_trace_refusal(pid_t pid, char *buf, size_t len);

struct proc_fdinfo {
	uint64_t pos;
	uint32_t flags;
	uint64_t ino;
	bool has_eventfd;
	uint64_t eventfd_count;
	bool eventfd_semaphore;
	bool has_sigmask;
	uint64_t sigmask;
	bool has_timerfd;
	int clockid;
	uint64_t ticks;
	uint64_t it_value_ns, it_interval_ns;
	size_t nr_tfds;
	struct { int tfd; uint32_t events; uint64_t data; } *tfds;	/* malloc'ed */
	size_t cap_tfds;
};
int proc_parse_fdinfo(const char *text, struct proc_fdinfo *fi);
int proc_read_fdinfo(pid_t pid, int fd, struct proc_fdinfo *fi);
void proc_fdinfo_free(struct proc_fdinfo *fi);

/* Threads of pid, sorted, leader first. */
int proc_list_tids(pid_t pid, pid_t **tids, size_t *nr);
/* Open fds of pid, sorted. */
int proc_list_fds(pid_t pid, int **fds, size_t *nr);
/* Direct children of pid (all threads' children files). */
int proc_list_children(pid_t pid, pid_t **kids, size_t *nr);

/* The last number of a status line like "NSpid:\t100\t1" (name includes
 * the colon): the id in the innermost PID namespace; -1 if absent. */
pid_t proc_ns_field(const char *status, const char *name);
/* tid of pid (as we see them) as its own PID namespace sees it; tid when
 * that can't be read. */
pid_t proc_ns_tid(pid_t pid, pid_t tid);

/* Reads a whole /proc file into a NUL-terminated malloc'ed buffer. */
char *proc_read_file(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
