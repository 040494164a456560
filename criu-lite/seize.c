// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "inject.h"
#include "log.h"
#include "proc.h"
#include "seize.h"

uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static bool has_tid(const struct frozen_proc *p, pid_t tid)
{
	for (size_t i = 0; i < p->nr_threads; i++)
		if (p->tids[i] == tid)
			return true;
	return false;
}

/*
 * PTRACE_SEIZE then PTRACE_INTERRUPT: the thread stops in a
 * PTRACE_EVENT_STOP without any signal being queued, so nothing of its
 * signal state changes. A thread that exited between listing and seizing
 * gives ESRCH and is simply not there. PTRACE_O_TRACESYSGOOD: the
 * syscall stops of injection report SIGTRAP|0x80, which is no signal, so
 * a thread left in one when criu-lite dies gets no SIGTRAP (inject.h). The stop is waited for later, so
 * that all threads of a listing are interrupted at once (waiting for each
 * in turn costs a scheduling round per running thread).
 */
static int seize_thread(struct frozen_proc *p, pid_t tid)
{
	if (ptrace(PTRACE_SEIZE, tid, NULL, (void *)PTRACE_O_TRACESYSGOOD)) {
		if (errno == ESRCH)
			return 0;
		if (errno == EPERM) {
			char why[512];

			pr_err("can't seize %d: %s", tid,
			       proc_trace_refusal(tid, why, sizeof(why)));
		} else
			pr_perror("PTRACE_SEIZE(%d)", tid);
		return -1;
	}
	p->tids[p->nr_threads++] = tid;
	if (ptrace(PTRACE_INTERRUPT, tid, NULL, NULL)) {
		pr_perror("PTRACE_INTERRUPT(%d)", tid);
		return -1;
	}
	return 0;
}

/* 0: stopped; 1: the thread exited meanwhile (it is simply not there);
 * -1: error */
static int wait_interrupted(pid_t tid)
{
	int status;

	for (;;) {
		if (wait_stop(tid, &status))
			return -1;
		if (WIFEXITED(status) || WIFSIGNALED(status))
			return 1;
		if (status >> 16 == PTRACE_EVENT_STOP)
			return 0;
		/* A signal-delivery stop came first: let it be delivered as
		 * it would have been, the interrupt stop follows. */
		if (ptrace(PTRACE_CONT, tid, NULL,
			   (void *)(long)WSTOPSIG(status))) {
			pr_perror("PTRACE_CONT(%d)", tid);
			return -1;
		}
	}
}

/* The process' ids as seen inside its own PID namespace. */
static int ns_ids(struct frozen_proc *p)
{
	char *status = proc_read_file("/proc/%d/status", p->pid);

	if (!status)
		return -1;
	p->vpid = proc_ns_field(status, "NSpid:");
	p->vpgid = proc_ns_field(status, "NSpgid:");
	p->vsid = proc_ns_field(status, "NSsid:");
	free(status);
	if (p->vpid <= 0)
		p->vpid = p->pid, p->vpgid = p->pgid, p->vsid = p->sid;
	p->vtids = calloc(p->nr_threads, sizeof(pid_t));
	if (!p->vtids)
		return -1;
	for (size_t i = 0; i < p->nr_threads; i++)
		p->vtids[i] = proc_ns_tid(p->pid, p->tids[i]);
	return 0;
}

static int freeze_proc(struct frozen_proc *p)
{
	bool changed = true;
	struct proc_stat st;

	while (changed) {
		pid_t *tids;
		size_t n;

		changed = false;
		if (proc_list_tids(p->pid, &tids, &n)) {
			pr_err("process %d is gone", p->pid);
			return -1;
		}
		size_t first_new = p->nr_threads;

		for (size_t i = 0; i < n; i++) {
			if (has_tid(p, tids[i]))
				continue;
			pid_t *nt = realloc(p->tids, (p->nr_threads + 1) *
					    sizeof(pid_t));
			if (!nt) {
				free(tids);
				return -1;
			}
			p->tids = nt;
			changed = true;
			if (seize_thread(p, tids[i])) {
				/* stopped ones can be detached cleanly */
				for (size_t k = first_new; k < p->nr_threads; k++)
					wait_interrupted(p->tids[k]);
				free(tids);
				return -1;
			}
		}
		free(tids);
		for (size_t i = first_new; i < p->nr_threads; i++) {
			int r = wait_interrupted(p->tids[i]);

			if (r < 0)
				return -1;
			if (r > 0) {	/* gone: forget it */
				if (p->tids[i] == p->pid) {
					pr_err("process %d exited while being "
					       "frozen", p->pid);
					return -1;
				}
				p->tids[i--] = p->tids[--p->nr_threads];
			}
		}
	}
	if (!p->nr_threads || p->tids[0] != p->pid) {
		pr_err("process %d: thread-group leader not frozen", p->pid);
		return -1;
	}
	if (proc_read_stat(p->pid, p->pid, &st)) {
		pr_err("process %d is gone", p->pid);
		return -1;
	}
	p->ppid = st.ppid;
	p->pgid = st.pgrp;
	p->sid = st.session;
	return ns_ids(p);
}

/* A dead child its parent has not reaped: recorded (restore makes it
 * again, as a child that exits at once), not seized. */
static bool is_zombie(struct frozen_proc *p)
{
	struct proc_stat st;

	if (proc_read_stat(p->pid, p->pid, &st) || st.state != 'Z')
		return false;
	p->zombie = true;
	p->exit_code = st.exit_code;
	snprintf(p->comm, sizeof(p->comm), "%s", st.comm);
	p->ppid = st.ppid;
	p->pgid = st.pgrp;
	p->sid = st.session;
	p->tids = calloc(1, sizeof(pid_t));
	if (p->tids) {
		p->tids[0] = p->pid;
		p->nr_threads = 1;
	}
	if (ns_ids(p) == 0)
		return true;
	p->vpid = p->pid;
	return true;
}

static struct frozen_proc *add_proc(struct frozen_tree *t, pid_t pid)
{
	struct frozen_proc *np = realloc(t->procs, (t->nr + 1) * sizeof(*np));

	if (!np)
		return NULL;
	t->procs = np;
	memset(&np[t->nr], 0, sizeof(*np));
	np[t->nr].pid = pid;
	return &np[t->nr++];
}

int freeze_tree(pid_t root, struct frozen_tree *t)
{
	uint64_t start = now_ns();

	memset(t, 0, sizeof(*t));
	if (!add_proc(t, root))
		return -1;
	/* t->procs grows while walking it: a breadth-first walk */
	for (size_t i = 0; i < t->nr; i++) {
		pid_t *kids;
		size_t nk;

		if (t->procs[i].pid == getpid()) {
			pr_err("the tree of %d contains criu-lite itself", root);
			return -1;
		}
		if (is_zombie(&t->procs[i]))
			continue;
		if (freeze_proc(&t->procs[i]))
			return -1;
		if (proc_list_children(t->procs[i].pid, &kids, &nk))
			return -1;
		for (size_t k = 0; k < nk; k++) {
			if (!add_proc(t, kids[k])) {
				free(kids);
				return -1;
			}
		}
		free(kids);
	}
	t->freeze_ns = now_ns() - start;
	return 0;
}

/* A killed process is gone only once it is a zombie (or reaped): its
 * exit tears down its memory, which takes a while for gigabytes. */
static void wait_dead(pid_t pid)
{
	uint64_t deadline = now_ns() + 10000000000ULL;

	while (now_ns() < deadline) {
		struct proc_stat st;

		if (proc_read_stat(pid, pid, &st) || st.state == 'Z' ||
		    st.state == 'X')
			return;
		usleep(1000);
	}
	pr_warn("process %d still not dead 10 s after SIGKILL", pid);
}

void release_tree(struct frozen_tree *t, bool kill_it)
{
	for (size_t i = 0; i < t->nr; i++) {
		struct frozen_proc *p = &t->procs[i];

		if (p->zombie)
			continue;
		if (kill_it)
			kill(p->pid, SIGKILL);
		for (size_t j = 0; j < p->nr_threads; j++) {
			if (ptrace(PTRACE_DETACH, p->tids[j], NULL, NULL) &&
			    errno != ESRCH)
				pr_perror("PTRACE_DETACH(%d)", p->tids[j]);
		}
	}
	for (size_t i = 0; kill_it && i < t->nr; i++)
		wait_dead(t->procs[i].pid);
}

void free_tree(struct frozen_tree *t)
{
	for (size_t i = 0; i < t->nr; i++) {
		free(t->procs[i].tids);
		free(t->procs[i].vtids);
	}
	free(t->procs);
	memset(t, 0, sizeof(*t));
}
