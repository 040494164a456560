// SPDX-License-Identifier: GPL-2.0
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <elf.h>
#include <unistd.h>

#include "dump.h"
#include "files.h"
#include "imgdir.h"
#include "inject.h"
#include "kernel-compat.h"
#include "layers.h"
#include "lazy.h"
#include "log.h"
#include "cow.h"
#include "creds.h"
#include "mem.h"
#include "mem-ghost.h"
#include "mem-marks.h"
#include "mem-tracker.h"
#include "namespaces.h"
#include "names.h"
#include "page-splice.h"
#include "page-xfer.h"
#include "precopy.h"
#include "progress.h"
#include "aio.h"
#include "check.h"
#include "lazy-source.h"
#include "migrate.h"
#include "qmp.h"
#include "rlimits.h"
#include "seize.h"
#include "sigact.h"
#include "stats.h"
#include "task-state.h"
#include "threads.h"
#include "xfer-proto.h"
#include "tcp-repair.h"
#include "vma-guess.h"
#include "timers.h"

#include "core.pb-c.h"
#include "inventory.pb-c.h"
#include "pstree.pb-c.h"
#include "task.pb-c.h"

#define SCRATCH_LEN	(16 * 1024)
#define PF_KTHREAD	0x00200000

struct dump_ctx {
	const struct dump_opts *o;
	int dirfd;		/* the staging dir of img */
	struct images_dir img;
	struct frozen_tree tree;
	struct page_xfer *xfer;	/* where pages go */
	struct dump_stats *st;
	struct progress progress;
	char phase[32];		/* name of the pre-copy round's phase */
	uint64_t best_round;	/* fewest pages a pre-copy round copied */
	unsigned stalled;	/* rounds since one shrank below best_round */
	uint64_t prev_round;	/* pages the round before copied */
	unsigned extra;		/* rounds gone on within the limit */
	sigset_t stop_sigs;	/* blocked while the tree is frozen */
	/* --page-server: a thread that takes a stop signal while the dump
	 * may be blocked on the connection (a stopped server, a dead link),
	 * cuts the connection and raises the signal again */
	pthread_t net_watch;
	bool net_watch_on;
	volatile bool net_watch_quit;
	struct fd_dump_ctx *fdc;	/* open file descriptions of the tree */
	struct pc_proc *pcs;		/* pre-copy, one per process of pc_tree */
	pid_t *pc_pids;
	struct vma_list { struct vma_info *v; size_t n; } *pc_vmas;
					/* their smaps when tracking began */
	size_t nr_pcs;
	struct vma_reader *vr;		/* frozen smaps of the guessed */
	uint8_t layer_id[IMG_LAYER_ID_LEN];	/* this dump's */
	struct layer_parent parent;	/* --prev-images-dir */
	bool has_parent;
	struct tracking taken;		/* from the parent's tracker */
	const struct dirty_tracker_ops *taken_ops;
	bool have_taken;
	const struct dirty_tracker_ops *ops;	/* pre-dump: for new tracking */
	bool qmp_stopped;	/* we stopped the VM: continue it on failure */
	struct lazy_source lazy;	/* --lazy-pages: the frozen memory */
	bool lazy_on;
	bool dest_runs;		/* migrate --postcopy: the tree runs there */
	/* migrate: the destination was sent everything, then said nothing
	 * for --idle-timeout: it may run the tree (held here as dest_runs) */
	bool dest_unknown;
	uint64_t t0;		/* the command's start */
	struct qmp_guard qmp_guard;	/* continues it if we die */
	char qmp_path[PATH_MAX];
	struct tcp_repair_hold tcp_hold;	/* connections in repair mode */
};

/* Per process: a remote-syscall handle on its leader and scratch memory. */
struct proc_dump {
	struct dump_ctx *c;
	struct frozen_proc *fp;
	struct vma_info *vmas;
	size_t nr_vmas;
	bool guessed;	/* vmas from maps, flags guessed (vma-guess.h):
			 * its frozen smaps is still to come */
	uint64_t syscall_ip;
	struct inject_gadgets g;	/* for self-restoring injection */
	bool have_gadgets;
	struct remote r;
	uint64_t scratch;	/* results of injected calls */
	bool scratch_mapped;	/* an mmap of ours, not the leader's stack */
	long brk;
	struct pc_proc *pc;	/* pre-copy state, or NULL */
	int stop_sig;		/* in group-stop: the signal that stopped it */
	const struct proc_dump *parent;	/* in the tree; NULL for the root */
	struct cow_ranges cow;	/* pages shared with the parent (cow.h) */
	struct page_splice *splice;	/* its pages by vmsplice, or NULL */
};

/* SIGINT/SIGTERM/SIGHUP are blocked during a dump; one arriving aborts it
 * at the next stage, which then leaves the tree as it was. */
/* A stop signal that came (blocked, pending), taken; 0 if none. */
static int take_stop_sig(void *arg)
{
	struct dump_ctx *c = arg;
	const struct timespec now = { 0, 0 };
	int sig = sigtimedwait(&c->stop_sigs, NULL, &now);

	return sig > 0 ? sig : 0;
}

static void *net_watch_run(void *arg)
{
	struct dump_ctx *c = arg;
	const struct timespec tick = { 0, 100000000 };
	int sig;

	while (!c->net_watch_quit) {
		sig = sigtimedwait(&c->stop_sigs, NULL, &tick);
		if (sig <= 0)
			continue;
		pr_err("dump interrupted by signal %d: the connection to the "
		       "page server %s:%u is cut", sig, c->o->ps_addr,
		       c->o->ps_port);
		shutdown(page_xfer_conn_fd(c->xfer), SHUT_RDWR);
		kill(getpid(), sig);	/* pending again: interrupted() */
		break;
	}
	return NULL;
}

/* From the connection to a page server on (the stop signals blocked in
 * every thread) until net_watch_stop. */
static void net_watch_start(struct dump_ctx *c)
{
	c->net_watch_quit = false;
	c->net_watch_on = !pthread_create(&c->net_watch, NULL, net_watch_run,
					  c);
	if (!c->net_watch_on)
		pr_warn("no watch thread: a stop signal waits while the page "
			"server does not answer");
}

static void net_watch_stop(struct dump_ctx *c)
{
	if (!c->net_watch_on)
		return;
	c->net_watch_quit = true;
	pthread_join(c->net_watch, NULL);
	c->net_watch_on = false;
}

static bool interrupted(struct dump_ctx *c)
{
	sigset_t pend;

	sigpending(&pend);
	for (int s = 1; s < NSIG; s++) {
		if (sigismember(&c->stop_sigs, s) && sigismember(&pend, s)) {
			pr_err("dump interrupted by signal %d", s);
			return true;
		}
	}
	return false;
}

static char *read_link_str(const char *fmt, pid_t pid)
{
	char path[64], buf[PATH_MAX];
	ssize_t n;

	snprintf(path, sizeof(path), fmt, pid);
	n = readlink(path, buf, sizeof(buf) - 1);
	if (n < 0)
		return NULL;
	buf[n] = 0;
	return strdup(buf);
}

/* ---- checks before anything is touched ---- */

static int check_target(pid_t pid)
{
	struct proc_status ps;
	struct proc_stat st;
	char why[512];

	if (pid <= 0) {
		pr_err("bad PID %d", pid);
		return -1;
	}
	if (pid == getpid()) {
		pr_err("PID %d is criu-lite itself", pid);
		return -1;
	}
	if (proc_read_status(pid, &ps)) {
		pr_err("no process with PID %d", pid);
		return -1;
	}
	if (proc_read_stat(pid, pid, &st) == 0 && st.flags & PF_KTHREAD) {
		pr_err("can't dump %d: %s", pid,
		       proc_trace_refusal(pid, why, sizeof(why)));
		return -1;
	}
	if (ps.tracer) {
		pr_err("process %d is %s", pid,
		       proc_trace_refusal(pid, why, sizeof(why)));
		return -1;
	}
	if (ps.state == 'Z') {
		pr_err("process %d is a zombie: it has exited, nothing of it "
		       "is left to dump but its exit status (a zombie in a "
		       "tree is dumped with the tree: dump its parent's)", pid);
		return -1;
	}
	return 0;
}

static bool tree_has(const struct frozen_tree *t, pid_t pid)
{
	for (size_t i = 0; i < t->nr; i++)
		if (t->procs[i].pid == pid)
			return true;
	return false;
}

/* What of pd can't be dumped goes into rf; t: its whole tree, frozen. */
static int check_proc(struct proc_dump *pd, const struct frozen_tree *t,
		      struct refusals *rf)
{
	pid_t pid = pd->fp->pid, *pids;
	struct proc_status ps;
	int ret;

	if (proc_read_status(pid, &ps))
		return -1;
	if (ps.seccomp)
		refuse(rf, "pid %d: seccomp filter/mode %d (not supported yet)",
		       pid, ps.seccomp);
	for (size_t i = 0; i < pd->nr_vmas; i++) {
		const char *why;
		int kind = vma_kind_of(&pd->vmas[i], &why);

		if (kind == VMA_KIND__VMA_AIO)
			why = aio_ring_refusal(pid, &pd->vmas[i]);
		if (kind < 0 || why)
			refuse(rf, "pid %d vma [%#lx, %#lx) %s: %s", pid,
			       (long)pd->vmas[i].start, (long)pd->vmas[i].end,
			       pd->vmas[i].path, why);
		if (kind == VMA_KIND__VMA_ANON_DROPPABLE)
			pr_info("pid %d vma [%#lx, %#lx): droppable memory "
				"(MAP_DROPPABLE) is not stored: restored empty, "
				"as the kernel may leave it at any time", pid,
				(long)pd->vmas[i].start, (long)pd->vmas[i].end);
	}
	pids = calloc(t->nr, sizeof(*pids));
	if (!pids)
		return -1;
	for (size_t i = 0; i < t->nr; i++)
		pids[i] = t->procs[i].pid;
	ret = check_fds(pid, pd->c->o->tcp_established || pd->c->o->tcp_close,
			pids, t->nr, rf);
	free(pids);
	return ret;
}

/* ---- threads ---- */

/*
 * Injection into tid. Self-restoring where the process allows it (a
 * [vdso] `syscall; ret`, an rt_sigreturn sequence, room on the thread's
 * stack): criu-lite may die at any moment, the thread puts itself back.
 * Otherwise the plain way, said in the log: there, criu-lite dying while
 * a call is under way leaves the thread with injected registers.
 */
static int begin_inject(struct proc_dump *pd, pid_t tid, struct remote *r)
{
	const char *f = getenv("CRIU_LITE_FAULT");
	bool plain = f && !strncmp(f, "kill-inject-plain-", 18);	/* tests */
	int ret = 1;

	if (pd->have_gadgets && !plain)
		ret = remote_init_dump(r, tid, &pd->g);
	if (ret <= 0)
		return ret;
	pr_warn("thread %d: no self-restoring injection (%s): it is parked "
		"between injected calls, but killing criu-lite during one "
		"would harm it", tid, plain ? "CRIU_LITE_FAULT" :
		pd->have_gadgets ? "no room below its stack pointer" :
		"no syscall/ret or rt_sigreturn gadget");
	return remote_init_plain(r, tid, pd->syscall_ip);
}

static int dump_thread(struct proc_dump *pd, pid_t tid, pid_t vtid)
{
	CoreEntry ce = CORE_ENTRY__INIT;
	struct remote tr, *r = &pd->r;
	uint64_t scratch;
	int ret = -1;

	ce.tid = vtid;
	if (tid != pd->fp->pid) {
		if (begin_inject(pd, tid, &tr))
			return -1;
		r = &tr;
	}
	scratch = r->scratch ? r->scratch : pd->scratch;
	if (!dump_thread_core(pd->fp->pid, r, scratch, &ce))
		ret = img_write_one(pd->c->dirfd, IMG_CORE, vtid, &ce.base);
	if (r == &tr && remote_finish(&tr))
		ret = -1;
	free_thread_core(&ce);
	return ret;
}

/* ---- process-wide state ---- */

static void free_task(TaskEntry *te)
{
	free_sigactions(te);
	free_rlimits(te);
	free_timers(te);
	free_creds(te);
	free_ns(te);
	free(te->cwd);
	free(te->root);
	free(te->comm);
}

/*
 * A process in group-stop (SIGSTOP, ^Z) reports the seize's stop as a
 * PTRACE_EVENT_STOP carrying its stop signal instead of SIGTRAP. Asked
 * before any injected call replaces that siginfo.
 */
static int group_stop_sig(pid_t pid)
{
	siginfo_t si;

	if (ptrace(PTRACE_GETSIGINFO, pid, NULL, &si))
		return 0;
	if (si.si_code >> 8 != PTRACE_EVENT_STOP || si.si_signo == SIGTRAP)
		return 0;
	return si.si_signo;
}

static int dump_task(struct proc_dump *pd)
{
	TaskEntry te = TASK_ENTRY__INIT;
	pid_t pid = pd->fp->pid;
	struct proc_status ps;
	char *pers;
	long ret;
	int pdeath = 0, err = -1;

	te.pid = pd->fp->vpid;
	if (proc_read_status(pid, &ps))
		goto out;
	te.umask = ps.umask;
	te.has_stop_sig = pd->stop_sig != 0;
	te.stop_sig = pd->stop_sig;
	te.has_no_new_privs = true;
	te.no_new_privs = ps.no_new_privs;
	te.cwd = read_link_str("/proc/%d/cwd", pid);
	te.root = read_link_str("/proc/%d/root", pid);
	if (!te.cwd) {
		pr_perror("readlink /proc/%d/cwd", pid);
		goto out;
	}
	pers = proc_read_file("/proc/%d/personality", pid);
	if (pers) {
		te.has_personality = true;
		te.personality = strtoul(pers, NULL, 16);
		free(pers);
	}
	ret = rcall(&pd->r, __NR_prctl, PR_GET_PDEATHSIG, pd->scratch, 0, 0, 0, 0);
	if (ret == 0 && !remote_read(pid, pd->scratch, &pdeath, sizeof(pdeath))) {
		te.has_pdeathsig = true;
		te.pdeathsig = pdeath;
	}
	if (dump_ns(pid, pd->fp == pd->c->tree.procs ? 0 : pd->fp->ppid, &te))
		goto out;
	if (dump_sigactions(&pd->r, pd->scratch, &te) ||
	    dump_rlimits(&pd->r, pd->scratch, &te) ||
	    dump_timers(&pd->r, pd->scratch, &te) || dump_creds(pid, &te) ||
	    dump_task_state(&pd->r, pd->scratch, &te))
		goto out;
	ret = rcall(&pd->r, __NR_prctl, PR_GET_SECUREBITS, 0, 0, 0, 0, 0);
	if (ret >= 0) {
		te.creds->has_securebits = true;
		te.creds->securebits = ret;
	}
	err = img_write_one(pd->c->dirfd, IMG_TASK, pd->fp->vpid, &te.base);
out:
	free_task(&te);
	return err;
}

static int settle_vmas(struct proc_dump *pd, MmEntry *mm, bool went_by);

static void free_mm(MmEntry *mm)
{
	for (size_t i = 0; i < mm->n_vmas; i++) {
		free(mm->vmas[i]->path);
		free(mm->vmas[i]);
	}
	free(mm->vmas);
	free_guards(mm);
	free_cow_ranges(&(struct cow_ranges){ mm->cow_shared, mm->n_cow_shared });
	mm_free_unlinked(mm);
	free(mm->auxv.data);
	free(mm->exe);
}

static int dump_mm(struct proc_dump *pd)
{
	MmEntry mm = MM_ENTRY__INIT;
	pid_t pid = pd->fp->pid;
	struct proc_stat st;
	char path[64];
	int fd, ret = -1;

	if (proc_read_stat(pid, pid, &st))
		goto out;
	mm.start_code = st.start_code;
	mm.end_code = st.end_code;
	mm.start_data = st.start_data;
	mm.end_data = st.end_data;
	mm.start_brk = st.start_brk;
	mm.brk = pd->brk;
	mm.start_stack = st.start_stack;
	mm.arg_start = st.arg_start;
	mm.arg_end = st.arg_end;
	mm.env_start = st.env_start;
	mm.env_end = st.env_end;
	mm.exe = read_link_str("/proc/%d/exe", pid);
	snprintf(path, sizeof(path), "/proc/%d/auxv", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		mm.auxv.data = malloc(1024);
		ssize_t n = mm.auxv.data ? read(fd, mm.auxv.data, 1024) : -1;

		close(fd);
		if (n > 0) {
			mm.has_auxv = true;
			mm.auxv.len = n;
		}
	}
	if (mm_fill_vmas(&mm, pd->vmas, pd->nr_vmas) ||
	    mm_fill_file_ids(&mm, pid) || mm_fill_aio(&mm, pid) ||
	    dump_guards(pid, &mm) || mm_dump_unlinked(pd->c->fdc, pid, &mm))
		goto out;
	mm.cow_shared = pd->cow.v;
	mm.n_cow_shared = pd->cow.n;
	pd->cow = (struct cow_ranges){ NULL, 0 };	/* freed with mm */
	if (dump_pages(pid, pd->fp->vpid, &mm, pd->c->xfer, pd->pc, pd->splice))
		goto out;
	/* the VmFlags recorded are the frozen ones (vma-guess.h) */
	if (settle_vmas(pd, &mm, true))
		goto out;
	for (size_t i = 0; log_get_level() >= LOG_DEBUG && i < mm.n_vmas; i++) {
		char line[PATH_MAX + 128];

		pr_debug("pid %d: vma %s", pid,
			 describe_vma_entry(mm.vmas[i], line, sizeof(line)));
	}
	if (img_write_one(pd->c->dirfd, IMG_MM, pd->fp->vpid, &mm.base))
		goto out;
	ret = 0;
out:
	free_mm(&mm);
	return ret;
}

/* The `syscall` injection runs at: [vdso]'s, or (a process that unmapped
 * its vDSO) one of its libc's (inject.h). */
static int find_syscall_ip(struct proc_dump *pd)
{
	const char *where;

	if (find_syscall_site(pd->fp->pid, pd->vmas, pd->nr_vmas,
			      &pd->syscall_ip, &where))
		return -1;
	if (strcmp(where, "[vdso]"))
		pr_info("pid %d has no [vdso]: injecting at the `syscall` at "
			"%#lx of %s", pd->fp->pid, (long)pd->syscall_ip, where);
	return 0;
}

/* Scratch memory for results: the leader's stack below its red zone, or
 * (plain injection) an mmap of ours, unmapped again in end_inject. */
static int get_scratch(struct proc_dump *pd)
{
	long addr;

	if (pd->r.scratch) {
		pd->scratch = pd->r.scratch;
		return 0;
	}
	/* a VMA of ours: not while smaps is read beside the dump */
	if (settle_vmas(pd, NULL, true))
		return -1;
	addr = rcall(&pd->r, __NR_mmap, 0, SCRATCH_LEN, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (addr < 0 && addr > -4096) {
		pr_err("pid %d: can't map scratch memory (%ld)", pd->fp->pid,
		       addr);
		return -1;
	}
	pd->scratch = addr;
	pd->scratch_mapped = true;
	return 0;
}

static int end_inject(struct proc_dump *pd)
{
	if (pd->scratch_mapped)
		rcall(&pd->r, __NR_munmap, pd->scratch, SCRATCH_LEN, 0, 0, 0, 0);
	pd->scratch_mapped = false;
	pd->scratch = 0;
	return remote_finish(&pd->r);
}

/* Everything only the process can tell, asked by injected calls. */
static int dump_injected(struct proc_dump *pd)
{
	struct frozen_proc *fp = pd->fp;

	if (get_scratch(pd) || fault_at("after-inject") || interrupted(pd->c))
		return -1;
	for (size_t i = 0; i < fp->nr_threads; i++)
		if (dump_thread(pd, fp->tids[i], fp->vtids[i]))
			return -1;
	if (dump_task(pd))
		return -1;
	pd->brk = rcall(&pd->r, __NR_brk, 0, 0, 0, 0, 0, 0);
	if (pd->brk <= 0) {
		pr_err("pid %d: brk(0) failed (%ld)", fp->pid, pd->brk);
		return -1;
	}
	return 0;
}

/* One interval of the frozen page phase: its wall time and the page
 * reads, writes and fsync that ended within it (the timing line). */
struct phase_mark {
	uint64_t t, read, write, sync;
};

static void phase_begin(const struct dump_stats *st, struct phase_mark *m)
{
	*m = (struct phase_mark){ now_ns(), st->read_ns, st->write_ns,
				  st->sync_ns };
}

static void phase_end(struct dump_stats *st, const struct phase_mark *m)
{
	st->phase_read_ns += st->read_ns - m->read;
	st->phase_write_ns += st->write_ns - m->write;
	st->phase_sync_ns += st->sync_ns - m->sync;
	st->pages_ns += now_ns() - m->t;	/* last: holds the others */
}

static int lowest_free_fd(pid_t pid);

/*
 * The splice path (page-splice.h) for a plain dump's pages: injection
 * into the leader again, for as long as its pages are read. A process
 * that can't have it is read by copy, as before.
 */
static int begin_splice(struct proc_dump *pd)
{
	bool err;

	pd->splice = NULL;
	if (pd->pc || pd->c->lazy_on || !page_splice_wanted(pd->c->xfer) ||
	    !pd->have_gadgets)
		return 0;
	if (begin_inject(pd, pd->fp->pid, &pd->r))
		return -1;
	pd->splice = page_splice_open(&pd->r, pd->fp->pid,
				      lowest_free_fd(pd->fp->pid), pd->c->xfer,
				      &err);
	if (!pd->splice && remote_finish(&pd->r))
		err = true;
	return err ? -1 : 0;
}

/* Before anything else happens to the tree: the process' fd closed. */
static int end_splice(struct proc_dump *pd)
{
	int ret;

	if (!pd->splice)
		return 0;
	ret = page_splice_close(pd->splice);
	pd->splice = NULL;
	return remote_finish(&pd->r) | ret;
}

/*
 * Everything of one frozen process. The injected calls come first and
 * end (registers, mask and stack bytes as they were) before the long
 * part, the memory, is read from outside.
 */
static int dump_proc(struct proc_dump *pd)
{
	struct frozen_proc *fp = pd->fp;
	struct phase_mark pm;
	int ret;

	pr_debug("pid %d: dumping (%zu threads, %zu VMAs)", fp->pid,
		 (size_t)fp->nr_threads, pd->nr_vmas);
	if (find_syscall_ip(pd))
		return -1;
	pd->have_gadgets = !find_inject_gadgets(fp->pid, pd->vmas, pd->nr_vmas,
						&pd->g);
	if (begin_inject(pd, fp->pid, &pd->r))
		return -1;
	ret = dump_injected(pd);
	if (end_inject(pd) || ret)
		return -1;
	if (dump_proc_fds(pd->c->fdc, fp->pid, fp->vpid) || interrupted(pd->c))
		return -1;
	if (pd->pc && pc_final_collect(pd->pc))
		return -1;
	phase_begin(pd->c->st, &pm);
	ret = begin_splice(pd);
	if (!ret)
		ret = dump_mm(pd);
	if (end_splice(pd))
		ret = -1;
	phase_end(pd->c->st, &pm);
	if (ret || fault_at("after-pages") || interrupted(pd->c))
		return -1;
	return 0;
}

static pid_t vpid_of(const struct frozen_tree *t, pid_t pid)
{
	for (size_t i = 0; i < t->nr; i++)
		if (t->procs[i].pid == pid)
			return t->procs[i].vpid;
	return 0;
}

static int write_pstree(struct dump_ctx *c)
{
	struct cr_img *img = img_open_write(c->dirfd, IMG_PSTREE, 0);
	int ret = 0;

	if (!img)
		return -1;
	for (size_t i = 0; i < c->tree.nr && !ret; i++) {
		struct frozen_proc *p = &c->tree.procs[i];
		PstreeEntry e = PSTREE_ENTRY__INIT;

		e.pid = p->vpid;
		e.ppid = i ? (uint32_t)vpid_of(&c->tree, p->ppid) : 0;
		e.pgid = p->vpgid;
		e.sid = p->vsid;
		e.n_threads = p->nr_threads;
		e.threads = (uint32_t *)p->vtids;
		if (fd_table_of_parent(&c->tree, i))
			e.has_files_of_parent = e.files_of_parent = true;
		if (p->zombie) {
			e.has_zombie = e.has_exit_code = true;
			e.zombie = true;
			e.exit_code = p->exit_code;
			e.comm = p->comm;
		}
		ret = img_write_msg(img, &e.base);
	}
	if (img_close(img))
		ret = -1;
	return ret;
}

static int write_inventory(struct dump_ctx *c)
{
	InventoryEntry inv = INVENTORY_ENTRY__INIT;
	struct utsname u;

	uname(&u);
	inv.tool_version = CRIU_LITE_VERSION;
	inv.kernel_release = u.release;
	inv.xsave_features = cpu_xfeatures();
	inv.page_size = PAGE_SZ;
	inv.root_pid = c->tree.procs[0].vpid;
	inv.has_pages_id = true;
	inv.pages_id = 1;
	inv.has_format = true;
	inv.format = IMG_FORMAT;
	if (c->o->compress) {
		inv.has_pages_codec = true;
		inv.pages_codec = c->o->compress;
	}
	inv.has_dump_time_ns = true;
	inv.dump_time_ns = now_ns();
	inv.has_layer_id = true;
	inv.layer_id.len = IMG_LAYER_ID_LEN;
	inv.layer_id.data = c->layer_id;
	if (c->has_parent) {
		inv.parent = (char *)c->o->prev_dir;
		inv.has_parent_id = true;
		inv.parent_id.len = IMG_LAYER_ID_LEN;
		inv.parent_id.data = c->parent.id;
	}
	inv.has_pre_dump = inv.pre_dump = c->o->pre_dump;
	if (c->qmp_stopped) {
		inv.has_qmp_stopped = true;
		inv.qmp_stopped = true;
		inv.qmp_socket = c->qmp_path;
	}
	return img_write_one(c->dirfd, IMG_INVENTORY, 0, &inv.base);
}

/* DIR/parent -> REL, as CRIU links a layer to its parent. */
static int write_parent_link(struct dump_ctx *c)
{
	if (!c->has_parent)
		return 0;
	if (symlinkat(c->o->prev_dir, c->dirfd, LAYER_LINK)) {
		pr_perror("link %s/%s to %s", c->o->dir, LAYER_LINK,
			  c->o->prev_dir);
		return -1;
	}
	return 0;
}

static int pcs_alloc(struct dump_ctx *c, size_t n)
{
	c->pcs = calloc(n ? n : 1, sizeof(*c->pcs));
	c->pc_pids = calloc(n ? n : 1, sizeof(pid_t));
	c->pc_vmas = calloc(n ? n : 1, sizeof(*c->pc_vmas));
	return c->pcs && c->pc_pids && c->pc_vmas ? 0 : -1;
}

/*
 * The tracking the parent's tracker handed over, for one process of the
 * frozen tree: its pages unchanged since the parent layer become
 * PE_PARENT runs. A process the tracker did not follow (new since, or a
 * reused pid) is dumped whole.
 */
static int adopt_tracking(struct dump_ctx *c, struct proc_dump *pd)
{
	struct tracked_proc *tp = tracking_find(&c->taken, pd->fp->pid);
	struct parent_index ix;
	struct pc_proc *pc;

	if (!tp)
		return 0;
	if (!c->pcs && pcs_alloc(c, c->tree.nr))
		return -1;
	pc = &c->pcs[c->nr_pcs];
	c->pc_pids[c->nr_pcs++] = pd->fp->pid;
	if (pc_resume(pc, pd->fp->pid, c->taken_ops, tp))
		return -1;
	pd->pc = pc;
	if (parent_index_load(&c->parent, pd->fp->vpid, &ix))
		return -1;
	pc_set_parent(pc, &ix);
	return 0;
}

/* VMAs write-protected by our own pre-copy tracker are the process' own
 * memory as far as the dump is concerned (the registration goes with the
 * tracker's userfaultfd). */
static void forget_own_uffd(const struct pc_proc *pc, struct vma_info *v,
			    size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (v[i].vmflags & VMF_UFFD_MISSING)
			continue;	/* that one is the process' */
		if (pc_tracks(pc, v[i].start))
			v[i].vmflags &= ~VMF_UFFD_WP;
	}
}

/* ---- VMAs at the freeze (vma-guess.h) ---- */

/* The smaps list pre-copy started pc's process with, or NULL. */
static const struct vma_list *pc_start_vmas(const struct dump_ctx *c,
					    const struct pc_proc *pc)
{
	if (!pc || !c->pc_vmas || getenv("CRIU_LITE_FROZEN_SMAPS"))
		return NULL;
	for (size_t k = 0; k < c->nr_pcs; k++)
		if (&c->pcs[k] == pc)
			return c->pc_vmas[k].v ? &c->pc_vmas[k] : NULL;
	return NULL;
}

/* The frozen process' VMAs from /proc/PID/maps (no page walk), their
 * flags guessed from the ones pre-copy started with. */
static int guess_vmas(struct proc_dump *pd, const struct vma_list *before)
{
	uint64_t t = now_ns();
	char *text = proc_read_file("/proc/%d/maps", pd->fp->pid);
	size_t same;

	if (!text) {
		pr_perror("read /proc/%d/maps", pd->fp->pid);
		return -1;
	}
	if (proc_parse_smaps(text, &pd->vmas, &pd->nr_vmas)) {
		free(text);
		return -1;
	}
	free(text);
	same = vma_guess_flags(pd->vmas, pd->nr_vmas, before->v, before->n);
	pd->guessed = true;
	pr_info("pid %d: %zu VMAs from maps in %.1f ms, %zu as when pre-copy "
		"began; their flags from smaps read beside the dump",
		pd->fp->pid, pd->nr_vmas, (now_ns() - t) / 1e6, same);
	return 0;
}

/*
 * The frozen smaps read of a guessed process. If the dump went by the
 * guess (went_by), it must be what smaps says (same VMAs, same flags of
 * VMF_LAYOUT), else the dump fails and the tree runs on; its flags are
 * the ones recorded from here on (pd->vmas, and mm's entries if given:
 * they follow pd->vmas one to one). Otherwise smaps' list replaces the
 * guess.
 */
static int settle_vmas(struct proc_dump *pd, MmEntry *mm, bool went_by)
{
	struct vma_info *v = NULL;
	size_t n = 0;
	uint64_t ns = 0, waited = 0;
	char why[PATH_MAX + 160];

	if (!pd->guessed)
		return 0;
	pd->guessed = false;
	if (vma_reader_take(pd->c->vr, pd->fp->pid, &v, &n, &ns, &waited)) {
		pr_err("pid %d: no frozen read of its smaps", pd->fp->pid);
		return -1;
	}
	if (pd->pc)
		forget_own_uffd(pd->pc, v, n);
	pr_info("pid %d: frozen smaps read in %.1f ms beside the dump "
		"(waited %.1f ms for it)", pd->fp->pid, ns / 1e6, waited / 1e6);
	if (!went_by) {
		free(pd->vmas);
		pd->vmas = v;
		pd->nr_vmas = n;
		return 0;
	}
	if (!vma_same_layout(pd->vmas, pd->nr_vmas, v, n, why, sizeof(why))) {
		pr_err("pid %d: its VMAs changed in a way that matters for its "
		       "pages between the start of pre-copy and the freeze, "
		       "and the dump went by the old ones: %s. Nothing is "
		       "kept; the tree runs on here (dump it again)",
		       pd->fp->pid, why);
		free(v);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		pd->vmas[i].vmflags = v[i].vmflags;
		if (mm && i < mm->n_vmas)
			mm_vma_set_flags(mm->vmas[i], &v[i]);
	}
	free(v);
	return 0;
}

/* A figure of /proc/PID/status in kB ("RssAnon:"), 0 if absent. */
static uint64_t status_kb(pid_t pid, const char *key)
{
	char path[64], line[256];
	uint64_t kb = 0;
	size_t klen = strlen(key);
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, klen)) {
			kb = strtoull(line + klen, NULL, 10);
			break;
		}
	fclose(f);
	return kb;
}

/*
 * What the dump of the frozen tree is going to scan, for its progress
 * line: the anonymous pages each process owns (resident or swapped, as
 * PAGEMAP_SCAN will find them) and its shared anonymous mappings, which
 * are read whole. An estimate, for free: the line corrects it as it goes.
 */
static uint64_t pages_to_scan(const struct proc_dump *pds, size_t nr)
{
	uint64_t pages = 0;
	const char *why;

	for (size_t i = 0; i < nr; i++) {
		if (pds[i].fp->zombie)
			continue;
		pages += (status_kb(pds[i].fp->pid, "RssAnon:") +
			  status_kb(pds[i].fp->pid, "VmSwap:")) * 1024 / PAGE_SZ;
		for (size_t k = 0; k < pds[i].nr_vmas; k++)
			if (vma_kind_of(&pds[i].vmas[k], &why) ==
			    VMA_KIND__VMA_ANON_SHARED)
				pages += (pds[i].vmas[k].end -
					  pds[i].vmas[k].start) / PAGE_SZ;
	}
	return pages;
}

/* The pages on disk (durable): a phase of its own, for the progress
 * line, as it may take longer than reading them did. */
static int flush_pages(struct dump_ctx *c)
{
	int ret;

	/* migrate: no round trip while the tree is frozen; the hand-over
	 * ends with one (page_xfer_done), which answers only once every
	 * page sent was received and checked, and each pagemap run was
	 * checked against the pages it refers to */
	if (c->o->migrate)
		return c->xfer->ops->submit(c->xfer);
	if (c->o->no_sync || c->o->page_server)
		return page_xfer_flush(c->xfer);
	progress_phase(&c->progress, "sync-pages", c->st->pages_stored);
	ret = page_xfer_flush(c->xfer);
	if (!ret)
		progress_set(&c->progress, c->st->pages_stored,
			     c->st->bytes_written);
	progress_end(&c->progress);
	return ret;
}

static int dump_frozen(struct dump_ctx *c)
{
	struct proc_dump *pds;
	struct refusals rf = { .len = 0 };
	struct phase_mark pm;
	pid_t *guess;
	size_t nr_guess = 0;
	int ret = -1;

	pds = calloc(c->tree.nr, sizeof(*pds));
	guess = calloc(c->tree.nr + 1, sizeof(*guess));
	if (!pds || !guess) {
		free(pds);
		free(guess);
		return -1;
	}
	for (size_t i = 0; i < c->tree.nr; i++) {
		pds[i].c = c;
		pds[i].fp = &c->tree.procs[i];
		for (size_t k = 0; k < c->nr_pcs; k++)
			if (c->pc_pids[k] == pds[i].fp->pid)
				pds[i].pc = &c->pcs[k];
		for (size_t j = 0; j < i; j++)	/* parents come first */
			if (i && pds[j].fp->pid == pds[i].fp->ppid)
				pds[i].parent = &pds[j];
		if (!pds[i].fp->zombie && pc_start_vmas(c, pds[i].pc))
			guess[nr_guess++] = pds[i].fp->pid;
	}
	/* the page walks of smaps begin at once, beside all the rest */
	c->vr = nr_guess ? vma_reader_start(guess, nr_guess) : NULL;
	free(guess);
	for (size_t i = 0; i < c->tree.nr; i++) {
		int err;

		if (pds[i].fp->zombie)
			continue;
		pds[i].stop_sig = group_stop_sig(pds[i].fp->pid);
		if (c->vr && pc_start_vmas(c, pds[i].pc))
			err = guess_vmas(&pds[i], pc_start_vmas(c, pds[i].pc));
		else
			err = proc_read_vmas(pds[i].fp->pid, &pds[i].vmas,
					     &pds[i].nr_vmas);
		if (err || (c->have_taken && adopt_tracking(c, &pds[i])))
			goto out;
		if (pds[i].pc)
			forget_own_uffd(pds[i].pc, pds[i].vmas, pds[i].nr_vmas);
		/* a guess that would refuse a VMA or leave out its pages: the
		 * frozen read decides before anything else */
		for (size_t k = 0; pds[i].guessed && k < pds[i].nr_vmas; k++) {
			const char *why;
			int kind = vma_kind_of(&pds[i].vmas[k], &why);

			if ((kind < 0 || kind == VMA_KIND__VMA_ANON_DROPPABLE) &&
			    settle_vmas(&pds[i], NULL, false))
				goto out;
		}
		if (check_proc(&pds[i], &c->tree, &rf))
			goto out;
	}
	if (ns_check_tree(&c->tree, &rf) || check_fd_tables(&c->tree, &rf))
		goto out;
	if (rf.count) {
		pr_err("can't dump %d's tree: %u object(s) not supported:\n%s",
		       c->o->pid, rf.count, rf.text);
		goto out;
	}
	/* before any page of the tree is read (find_cow_shared) */
	for (size_t i = 0; i < c->tree.nr; i++)
		if (pds[i].parent && !pds[i].fp->zombie &&
		    find_cow_shared(pds[i].fp->pid, pds[i].vmas, pds[i].nr_vmas,
				    pds[i].parent->fp->pid, pds[i].parent->vmas,
				    pds[i].parent->nr_vmas, &pds[i].cow))
			goto out;
	c->fdc = fd_dump_begin(c->dirfd, c->o->tcp_established ||
					 c->o->tcp_close ? &c->tcp_hold : NULL);
	if (!c->fdc)
		goto out;
	progress_phase(&c->progress, "dump-pages", pages_to_scan(pds, c->tree.nr));
	for (size_t i = 0; i < c->tree.nr; i++)
		if (!pds[i].fp->zombie && dump_proc(&pds[i]))
			goto out;
	progress_end(&c->progress);
	pr_debug("writing pstree.img, syncing pages-1.img, inventory.img last");
	if (write_pstree(c) || fault_at("before-inventory") || interrupted(c))
		goto out;
	phase_begin(c->st, &pm);
	ret = flush_pages(c);
	phase_end(c->st, &pm);
	if (ret || write_parent_link(c)) {
		ret = -1;
		goto out;
	}
	ret = write_inventory(c);
out:
	if (c->fdc)
		fd_dump_end(c->fdc);
	c->fdc = NULL;
	vma_reader_stop(c->vr);
	c->vr = NULL;
	for (size_t i = 0; i < c->tree.nr; i++) {
		free(pds[i].vmas);
		free_cow_ranges(&pds[i].cow);
	}
	free(pds);
	return ret;
}

/*
 * Stops the guest through QMP ("stop" also drains in-flight block I/O)
 * before the process is frozen, so the guest sees no time pass.
 */
static int qmp_stop_vm(struct dump_ctx *c)
{
	char status[256];
	int ret;

	if (!realpath(c->o->qmp, c->qmp_path)) {
		pr_perror("QMP socket %s", c->o->qmp);
		return -1;
	}
	/* the guard armed between query-status and "stop" */
	ret = qmp_stop_running(c->qmp_path, status, sizeof(status), 10000,
			       &c->qmp_guard);
	if (ret <= 0) {
		qmp_guard_dismiss(&c->qmp_guard);
		if (!ret)
			pr_info("VM of %d is not running (%s): not stopping it",
				c->o->pid, status);
		return ret;
	}
	c->qmp_stopped = true;
	pr_info("VM of %d stopped through QMP %s", c->o->pid, c->qmp_path);
	return 0;
}

/* ---- pre-copy ---- */

/* A userfaultfd of the target's own mm, for the dirty tracker: made by an
 * injected userfaultfd(), copied out with pidfd_getfd, closed in the
 * target again. Only the tool holds it: if the tool dies, tracking ends. */
/* The fd number the next new fd of pid gets: the lowest free one (its
 * tree is frozen, nothing else opens one meanwhile). */
static int lowest_free_fd(pid_t pid)
{
	char path[64];
	struct dirent *de;
	uint8_t used[4096] = { 0 };
	DIR *d;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/fd", pid);
	d = opendir(path);
	if (!d)
		return -1;
	while ((de = readdir(d))) {
		long fd = de->d_name[0] == '.' ? -1 : atol(de->d_name);

		if (fd >= 0 && fd < (long)sizeof(used))
			used[fd] = 1;
	}
	closedir(d);
	while (n < (int)sizeof(used) && used[n])
		n++;
	return n;
}

static int take_target_uffd(struct proc_dump *pd)
{
	int pidfd, fd = -1;
	long tfd;

	if (find_syscall_ip(pd))
		return -1;
	pd->have_gadgets = !find_inject_gadgets(pd->fp->pid, pd->vmas,
						pd->nr_vmas, &pd->g);
	if (begin_inject(pd, pd->fp->pid, &pd->r))
		return -1;
	/* killed from here on, the target closes the new fd itself */
	tfd = remote_call_new_fd(&pd->r, lowest_free_fd(pd->fp->pid),
				 __NR_userfaultfd,
				 O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY,
				 0, 0);
	if (tfd < 0) {
		pr_err("pid %d: userfaultfd() in the target failed: %s",
		       pd->fp->pid, strerror(-tfd));
		remote_finish(&pd->r);
		return -1;
	}
	pidfd = syscall(__NR_pidfd_open, pd->fp->pid, 0);
	if (pidfd >= 0) {
		fd = syscall(__NR_pidfd_getfd, pidfd, tfd, 0);
		close(pidfd);
	}
	if (fd < 0)
		pr_perror("pidfd_getfd of the target's userfaultfd");
	if (fault_at("kill-uffd-open"))
		raise(SIGKILL);
	if (remote_close_new_fd(&pd->r, tfd) | remote_finish(&pd->r)) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/*
 * Freezes the tree once to start tracking (and to refuse early what the
 * final dump would refuse), then lets it run on.
 */
static int precopy_start(struct dump_ctx *c, const struct dirty_tracker_ops *ops)
{
	struct frozen_tree t;
	struct refusals rf = { .len = 0 };
	int ret = -1;

	if (freeze_tree(c->o->pid, &t))
		goto out;
	if (pcs_alloc(c, t.nr) || ns_check_tree(&t, &rf) ||
	    check_fd_tables(&t, &rf))
		goto out;
	for (size_t i = 0; i < t.nr; i++) {
		struct proc_dump pd = { .c = c, .fp = &t.procs[i] };
		int uffd, err;

		if (pd.fp->zombie)
			continue;
		if (proc_read_vmas(pd.fp->pid, &pd.vmas, &pd.nr_vmas))
			goto out;
		err = check_proc(&pd, &t, &rf) || rf.count;
		if (rf.count)
			pr_err("can't dump %d's tree: %u object(s) not supported:"
			       "\n%s", c->o->pid, rf.count, rf.text);
		uffd = !err && ops == &uffd_wp_tracker_ops ? take_target_uffd(&pd) : -1;
		if (!err && ops == &uffd_wp_tracker_ops && uffd < 0)
			err = 1;
		if (!err)
			err = pc_start(&c->pcs[c->nr_pcs], pd.fp->pid, uffd, ops,
				       pd.vmas, pd.nr_vmas);
		if (err) {
			free(pd.vmas);
			goto out;
		}
		/* the guess of the final freeze's flags (vma-guess.h) */
		c->pc_vmas[c->nr_pcs] = (struct vma_list){ pd.vmas, pd.nr_vmas };
		c->pc_pids[c->nr_pcs++] = pd.fp->pid;
	}
	ret = 0;
out:
	release_tree(&t, false);
	free_tree(&t);
	return ret;
}

/* Round 0 of pre-copy reads each process' resident anonymous memory. */
static uint64_t precopy_estimate(struct dump_ctx *c)
{
	uint64_t pages = 0;

	for (size_t i = 0; i < c->nr_pcs; i++)
		pages += status_kb(c->pc_pids[i], "RssAnon:") * 1024 / PAGE_SZ;
	return pages;
}

/* Rounds in a row that did not shrink below the best one by 10 % before
 * pre-copy gives up: one such round says little on a busy tree (a round
 * copies what was written during the one before, which varies with the
 * machine's load), and the freeze then takes whatever the last round
 * left (a busy 2 GiB guest: 80-130 MB, given up after one). */
#define PRECOPY_STALLS	3
/* Given up, the freeze waits for a round near the best one (within 25 %),
 * for this many more rounds at most: on a loaded machine the rounds'
 * sizes swing (a busy 2 GiB guest at load 20: 12k, 28k, 48k pages), and
 * freezing after a bad one sent 4x what the best one would have. */
#define PRECOPY_WAIT_GOOD	4

/*
 * Migration: what the last round copied will be about what the final,
 * frozen copy has to send; at the bandwidth of that round (pages read and
 * sent, the zero ones elided), does it fit the allowed downtime (and has
 * it stopped shrinking fast)? Or have the rounds stopped shrinking (the
 * tree writes as fast as we copy)?
 */
static bool converged(struct dump_ctx *c, uint64_t pages, uint64_t ns,
		      uint64_t bytes, unsigned round)
{
	double bw = ns ? bytes * 1e9 / ns : 0, left = pages * (double)PAGE_SZ;
	uint64_t expect, prev;

	if (bytes < PAGE_SZ * 64 || !bw)
		bw = c->st->round_bytes[0] * 1e9 / (c->st->round_ns[0] + 1);
	expect = bw > 0 ? left / bw * 1000 : UINT32_MAX;
	c->st->expected_downtime_ms = expect;
	prev = c->prev_round;
	c->prev_round = pages;
	if (precopy_one_more(pages, prev, expect, c->o->downtime_ms,
			     c->extra)) {
		c->extra++;
		pr_info("pre-copy: %lu pages left, %lu ms at %.0f MB/s: within "
			"the %u ms downtime limit, %lu%% of the round before: "
			"one more", (unsigned long)pages, (unsigned long)expect,
			bw / 1e6, c->o->downtime_ms,
			(unsigned long)(pages * 100 / prev));
		return false;
	}
	if (expect <= c->o->downtime_ms) {
		pr_info("pre-copy: %lu pages left, %lu ms at %.0f MB/s: within "
			"the %u ms downtime limit", (unsigned long)pages,
			(unsigned long)expect, bw / 1e6, c->o->downtime_ms);
		return true;
	}
	if (round == 1 || pages * 10 < c->best_round * 9) {
		c->best_round = pages;
		c->stalled = 0;
		return false;
	}
	if (pages < c->best_round)
		c->best_round = pages;
	if (++c->stalled < PRECOPY_STALLS)
		return false;
	if (pages * 4 > c->best_round * 5 &&
	    c->stalled < PRECOPY_STALLS + PRECOPY_WAIT_GOOD) {
		pr_info("pre-copy: rounds no longer shrink; %lu pages is not "
			"near the best round's %lu: one more", (unsigned long)pages,
			(unsigned long)c->best_round);
		return false;
	}
	pr_info("pre-copy: rounds no longer shrink (%u without 10 %% below "
		"%lu pages, now %lu): expected downtime %lu ms", c->stalled,
		(unsigned long)c->best_round, (unsigned long)pages,
		(unsigned long)expect);
	return true;
}

/*
 * Migration: the tracked memory gets its places at the start of the pages
 * file on the destination (pc_place_ranges): a busy guest's pages copied
 * again and again in random order then still make a run per range in the
 * final pagemap (a 2 GiB guest writing 20000 pages/s: 284k runs without,
 * each built, sent, checked and loaded while the guest was stopped).
 */
static void place_ranges(struct dump_ctx *c)
{
	uint64_t end = 0, *hold;
	size_t n = 0;

	for (size_t i = 0; i < c->nr_pcs; i++)
		end = pc_place_ranges(&c->pcs[i], end);
	if (page_xfer_place(c->xfer, end)) {
		pr_warn("pre-copy: pages cannot be placed in this transfer; "
			"each copy is appended");
		for (size_t i = 0; i < c->nr_pcs; i++)
			c->pcs[i].placed = false;
		return;
	}
	/* the root's large anonymous ranges: what the destination's restore
	 * takes from its memory, held there only (the rest, which it takes
	 * from its pages file, is written there as it comes) */
	hold = c->nr_pcs ? malloc(2 * c->pcs[0].nr * sizeof(*hold)) : NULL;
	for (size_t i = 0; hold && c->pc_pids[0] == c->o->pid &&
			   i < c->pcs[0].nr; i++) {
		const struct pc_range *r = &c->pcs[0].r[i];

		if (r->end - r->start < LAZY_MIN_VMA)
			continue;
		hold[2 * n] = r->place;
		hold[2 * n + 1] = r->end - r->start;
		n++;
	}
	if (page_xfer_hold_hint(c->xfer, hold, n))
		pr_warn("migrate: the destination will keep every page in its "
			"pages file too");
	free(hold);
}

/*
 * Copies all memory of the running tree, then what was written meanwhile,
 * round after round, until a round finds fewer than precopy_until dirty
 * pages or the rounds are used up; then makes it durable, so the final
 * freeze does not wait for it.
 */
static int precopy(struct dump_ctx *c)
{
	const struct dump_opts *o = c->o;
	const struct dirty_tracker_ops *ops;
	struct kernel_features kf;
	uint64_t t0 = now_ns();

	if (kernel_features_probe(&kf) || !(ops = dirty_tracker_pick(&kf))) {
		pr_err("pre-copy needs dirty tracking: this kernel has neither "
		       "soft-dirty nor userfaultfd write-protect (see "
		       "criu-lite check)");
		return -1;
	}
	if (precopy_start(c, ops))
		return -1;
	if (o->migrate)
		place_ranges(c);
	pr_info("pre-copy: tracking writes with %s; copying while %d runs",
		ops->name, o->pid);
	for (unsigned round = 0; round < o->precopy_rounds; round++) {
		uint64_t pages = 0, tr = now_ns(), b0 = c->st->bytes_written;
		uint64_t ns, bytes;

		if (round && o->precopy_ms)
			usleep(o->precopy_ms * 1000);
		/* round 0 reads what was populated; later ones, unknown */
		snprintf(c->phase, sizeof(c->phase), "precopy-%u", round);
		progress_phase(&c->progress, c->phase,
			       round ? 0 : precopy_estimate(c));
		for (size_t i = 0; i < c->nr_pcs; i++)
			if (round ? pc_copy_dirty(&c->pcs[i], c->xfer, &pages) :
				    pc_copy_all(&c->pcs[i], c->xfer, &pages))
				return -1;
		/* a migration's round ends when the destination has taken
		 * it in (checked, written, held): its bandwidth is then what
		 * the freeze will get, not the socket's, and no backlog of
		 * the rounds waits behind the freeze */
		if (o->migrate && page_xfer_flush(c->xfer))
			return -1;
		ns = now_ns() - tr;
		bytes = c->st->bytes_written - b0;
		if (round < MAX_ROUNDS_RECORDED) {
			c->st->round_pages[round] = pages;
			c->st->round_ns[round] = ns;
			c->st->round_bytes[round] = bytes;
		}
		progress_end(&c->progress);
		c->st->precopy_rounds++;
		c->st->precopy_pages += pages;
		c->st->last_round_pages = pages;
		pr_info("pre-copy round %u: %lu pages in %.1f ms", round,
			(unsigned long)pages, ns / 1e6);
		if ((round && pages < o->precopy_until) || interrupted(c))
			break;
		if (!round)
			c->prev_round = pages;
		if (o->downtime_ms && round && converged(c, pages, ns, bytes,
							 round))
			break;
	}
	if (interrupted(c))
		return -1;
	/* a migration's rounds are in (above); a local pre-copy's are made
	 * durable now, so that the freeze does not wait for them */
	if (!o->migrate && page_xfer_flush(c->xfer))
		return -1;
	c->st->precopy_ns = now_ns() - t0;
	return 0;
}

static void precopy_end(struct dump_ctx *c)
{
	for (size_t i = 0; i < c->nr_pcs; i++) {
		pc_free(&c->pcs[i]);
		if (c->pc_vmas)
			free(c->pc_vmas[i].v);
	}
	free(c->pcs);
	free(c->pc_pids);
	free(c->pc_vmas);
	c->pc_vmas = NULL;
	c->pcs = NULL;
	c->nr_pcs = 0;
	tracking_free(&c->taken);	/* what no process adopted */
	c->have_taken = false;
	if (c->has_parent)
		layer_parent_close(&c->parent);
}

/*
 * --prev-images-dir: the parent layer, and the tracking its tracker kept
 * since (pre-dump, dump --track-mem). Without it, or without a tracker,
 * every page is copied: a layer never lends a page it can't vouch for.
 */
static int open_parent_layer(struct dump_ctx *c)
{
	const struct dump_opts *o = c->o;
	struct stat dst, pst;
	char why[512];
	int ret;

	if (layer_parent_open(o->dir, o->prev_dir, &c->parent))
		return -1;
	c->has_parent = true;
	if (!stat(o->dir, &dst) && !fstat(c->parent.dirfd, &pst) &&
	    dst.st_dev == pst.st_dev && dst.st_ino == pst.st_ino) {
		pr_err("--prev-images-dir %s is %s itself: a layer can't be its "
		       "own parent", o->prev_dir, o->dir);
		return -1;
	}
	ret = tracker_take(c->parent.dir, o->pid, c->parent.id, &c->taken, why,
			   sizeof(why));
	if (ret < 0)
		return -1;
	if (ret > 0) {
		pr_warn("no memory tracking to go on from: %s; copying all "
			"memory of %d", why, o->pid);
		return 0;
	}
	c->taken_ops = dirty_tracker_by_name(c->taken.backend);
	if (!o->track_mem && !o->pre_dump) {
		pr_info("dump without --track-mem: the tracking of %s ended, "
			"copying all memory", c->parent.dir);
		tracking_free(&c->taken);
		return 0;
	}
	if (!c->taken_ops) {
		pr_warn("the tracker of %s used \"%s\", unknown here: copying "
			"all memory", c->parent.dir, c->taken.backend);
		tracking_free(&c->taken);
		return 0;
	}
	c->have_taken = true;
	pr_info("memory of %d tracked since %s (%s, %zu process(es)): only "
		"what was written since is copied", o->pid, c->parent.dir,
		c->taken.backend, c->taken.nr);
	return 0;
}

static void block_stop_sigs(struct dump_ctx *c, sigset_t *old)
{
	sigemptyset(&c->stop_sigs);
	sigaddset(&c->stop_sigs, SIGINT);
	sigaddset(&c->stop_sigs, SIGTERM);
	sigaddset(&c->stop_sigs, SIGHUP);
	sigprocmask(SIG_BLOCK, &c->stop_sigs, old);
}

/* Our own address on the link to the destination: where its lazy-pages
 * daemons find the frozen memory of a migrate --postcopy. */
static int link_address(struct dump_ctx *c, char *host, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int fd = page_xfer_conn_fd(c->xfer);

	if (fd < 0 || getsockname(fd, (struct sockaddr *)&ss, &sl) ||
	    getnameinfo((struct sockaddr *)&ss, sl, host, len, NULL, 0,
			NI_NUMERICHOST)) {
		pr_perror("migrate --postcopy: our address on the link");
		return -1;
	}
	return 0;
}

/* The text file postcopy-source.img (HOST:PORT), sent with the images. */
static int write_postcopy_source(int dirfd, const char *addr)
{
	int fd = openat(dirfd, POSTCOPY_SOURCE, O_WRONLY | O_CREAT | O_TRUNC |
			O_CLOEXEC, 0600);

	if (fd < 0 || write_all(fd, addr, strlen(addr))) {
		pr_perror("write %s", POSTCOPY_SOURCE);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return close(fd);
}

/* --lazy-pages: the listener is up before the tree is frozen (a port in
 * use fails the dump early); migrate --postcopy listens on the link it
 * migrates over, on a free port, and tells the destination through the
 * file postcopy-source among the images. */
static int open_lazy_source(struct dump_ctx *c)
{
	char host[256];
	const char *addr = c->o->lazy_addr;

	if (c->o->migrate && !addr) {
		if (link_address(c, host, sizeof(host)))
			return -1;
		addr = host;
	}
	if (lazy_source_listen(&c->lazy, addr, c->o->lazy_port, &c->o->tls))
		return -1;
	c->lazy_on = true;
	c->xfer->lazy = &c->lazy;
	pr_info("lazy pages will be served on %s", c->lazy.addr);
	if (!c->o->migrate)
		return 0;
	return write_postcopy_source(c->dirfd, c->lazy.addr);
}

/* Images go to a staging directory; DIR is replaced only by commit. */
static int open_images(struct dump_ctx *c)
{
	if (imgdir_open(&c->img, c->o->dir))
		return -1;
	c->dirfd = c->img.fd;
	if (c->o->page_server || c->o->migrate) {
		/* a layer keeps its pagemaps: the next one builds on them */
		bool layer = c->o->pre_dump || c->o->prev_dir;
		struct net_sink ns = { .host = c->o->ps_addr,
				       .port = c->o->ps_port,
				       .tls = &c->o->tls,
				       .migrate = c->o->migrate,
				       .postcopy = c->o->migrate &&
						   c->o->lazy_pages,
				       .pagemap_dirfd = layer ? c->dirfd : -1,
				       .timeout_s = c->o->idle_s };

		c->xfer = page_xfer_open_net(&ns, !c->o->no_sync, c->st);
	} else
		c->xfer = page_xfer_open_local(c->dirfd, !c->o->no_sync,
					       c->o->compress, c->st);
	if (!c->xfer) {
		if (c->o->page_server || c->o->migrate)
			pr_err("can't write pages to %s %s:%u", c->o->migrate ?
			       "the migration destination" : "page server",
			       c->o->ps_addr, c->o->ps_port);
		else
			pr_err("can't write pages into %s", c->o->dir);
		return -1;
	}
	c->xfer->max_bw = c->o->max_bw;
	c->xfer->progress = &c->progress;
	if (c->o->page_server && !c->o->migrate)
		net_watch_start(c);
	return c->o->lazy_pages ? open_lazy_source(c) : 0;
}

static void stop_behind_freeze(struct dump_ctx *c, int sig)
{
	for (size_t i = 0; i < c->tree.nr; i++)
		if (!c->tree.procs[i].zombie)
			kill(c->tree.procs[i].pid, sig);
}

/*
 * A layer of a pre-dump chain sent to a page server: its inventory (the
 * chain's ids, which restore checks) and its parent link go there too,
 * so that the receiving side holds the chain as DIR/parent links.
 */
static int send_layer(struct dump_ctx *c)
{
	const char *inv = "inventory.img";
	struct stat st;
	void *data;
	int fd, ret = -1;

	if (!c->o->page_server || !(c->o->pre_dump || c->has_parent))
		return 0;
	if (c->has_parent && page_xfer_send_link(c->xfer, c->o->prev_dir))
		return -1;
	fd = openat(c->dirfd, inv, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st)) {
		pr_perror("read %s of the layer", inv);
		goto out;
	}
	data = malloc(st.st_size ? st.st_size : 1);
	if (data && read_full(fd, data, st.st_size) == 0)
		ret = page_xfer_send_file(c->xfer, inv, data, st.st_size);
	else
		pr_perror("read %s of the layer", inv);
	free(data);
out:
	if (fd >= 0)
		close(fd);
	return ret;
}

/* Complete images take DIR's place before the tree may be killed; with
 * a page server, once it has kept the pages. */
static int commit_images(struct dump_ctx *c)
{
	if (c->o->migrate) {
		int ret;

		/* From here on the source must not resume by itself: if
		 * criu-lite dies now, the destination may be running it. A
		 * QMP-stopped VM stays stopped (QEMU's postmigrate), and a
		 * SIGSTOP waits behind the freeze: a dying tracer lets the
		 * tree go, into a job-control stop. */
		qmp_guard_dismiss(&c->qmp_guard);
		if (interrupted(c))
			return -1;
		stop_behind_freeze(c, SIGSTOP);
		ret = migrate_handover(c->xfer, c->dirfd, c->st, !c->lazy_on);
		/* silent once it had everything: it may have restored the
		 * tree, so this side never resumes it by itself (QEMU's
		 * postmigrate) */
		c->dest_unknown = ret && page_xfer_outcome_unknown(c->xfer);
		if (ret && !c->dest_unknown)	/* SIGCONT drops the SIGSTOP */
			stop_behind_freeze(c, SIGCONT);
		return ret;
	}
	if (interrupted(c) || send_layer(c) || page_xfer_done(c->xfer)) {
		if (page_xfer_outcome_unknown(c->xfer))
			pr_warn("page server %s:%u: whether it kept the pages "
				"is not known (its DIR may hold them now); the "
				"rest of this dump is not kept: %s stays as it "
				"was", c->o->ps_addr, c->o->ps_port, c->o->dir);
		return -1;
	}
	pr_debug("images complete: putting them in %s's place", c->o->dir);
	return imgdir_commit(&c->img, !c->o->no_sync, &c->st->sync_ns);
}

/* migrate --postcopy: the destination's word on its restore, read while
 * the memory is served. Running there: from now on the tree must never
 * run here by itself. */
static int postcopy_reply(struct lazy_source *ls, void *arg)
{
	struct dump_ctx *c = arg;
	char text[XP_MAX_TEXT + 1];

	ls->watch_fd = -1;
	if (page_xfer_reply(c->xfer, text, sizeof(text))) {
		c->dest_unknown = page_xfer_outcome_unknown(c->xfer);
		if (!c->dest_unknown)
			pr_err("migrate: the destination did not take over: "
			       "the tree runs on here");
		return -1;
	}
	c->dest_runs = true;
	c->st->running_at_ns = now_ns() - c->t0;
	pr_info("migrate: the destination says: %s; its memory follows "
		"(postcopy)", text);
	return 0;
}

/*
 * The frozen tree's memory served until the destination has every page.
 * A plain dump --lazy-pages that gives up lets the tree run on here (it
 * fails, so it is thawed); a migrate --postcopy whose destination runs
 * the tree keeps it stopped (keep_stopped).
 */
static int serve_lazy(struct dump_ctx *c, uint64_t t0)
{
	int ret;

	c->t0 = t0;
	if (!c->o->migrate) {
		c->lazy.stop = take_stop_sig;
		c->lazy.stop_arg = c;
	}
	if (c->o->migrate) {
		c->lazy.watch_fd = page_xfer_conn_fd(c->xfer);
		c->lazy.watch = postcopy_reply;
		c->lazy.watch_arg = c;
	}
	ret = lazy_source_serve(&c->lazy, c->o->migrate ? -1 : c->dirfd,
				c->o->lazy_timeout_s);
	c->st->postcopy_requests = c->lazy.served.requests;
	c->st->postcopy_bytes = c->lazy.served.bytes;
	c->st->postcopy_fault_requests = c->lazy.served.fault_requests;
	c->st->postcopy_fault_bytes = c->lazy.served.fault_bytes;
	if (!ret && c->o->migrate && !c->dest_runs)
		ret = postcopy_reply(&c->lazy, c);	/* all in before its word */
	if (ret && !c->dest_runs && !c->dest_unknown && c->o->migrate)
		stop_behind_freeze(c, SIGCONT);
	if (ret && !c->o->migrate)
		pr_err("dump --lazy-pages: not every page reached the "
		       "destination: the tree of %d runs on here", c->o->pid);
	return ret;
}

/* The destination runs the tree but lacks pages: the tree stays here,
 * stopped (SIGSTOP behind the freeze, the VM QMP-stopped), its memory
 * whole, for the user to decide. */
static void keep_stopped(struct dump_ctx *c)
{
	if (c->dest_unknown) {
		pr_err("migrate: the destination %s:%u had every image but "
		       "did not answer for %u s: it may run the tree. The tree "
		       "of %d stays here, stopped (SIGSTOP%s), its memory "
		       "whole; if the destination does not run it, continue "
		       "it here: kill -CONT the tree%s", c->o->ps_addr,
		       c->o->ps_port, c->o->idle_s, c->o->pid,
		       c->qmp_stopped ? ", VM stopped by QMP" : "",
		       c->qmp_stopped ? " and QMP cont" : "");
		return;
	}
	pr_err("migrate --postcopy: the destination runs the tree but does "
	       "not have all its memory; the tree of %d stays here, stopped "
	       "(SIGSTOP%s), its memory whole. If the destination's copy is "
	       "gone (it is killed when its lazy-pages daemon gives up), "
	       "continue it here: kill -CONT the tree%s", c->o->pid,
	       c->qmp_stopped ? ", VM stopped by QMP" : "",
	       c->qmp_stopped ? " and QMP cont" : "");
}

/*
 * SIGINT/SIGTERM/SIGHUP that came too late to stop the dump: taken here,
 * before the mask goes back, so that they do not end criu-lite silently
 * with 128+N after a dump that succeeded (a caller would take the tree for
 * still running). After a failure, the failure's message stands.
 */
static void settle_stop_sigs(struct dump_ctx *c, int ret)
{
	const struct timespec now = { 0, 0 };
	int sig;

	while ((sig = sigtimedwait(&c->stop_sigs, NULL, &now)) > 0) {
		if (!ret)
			pr_warn("signal %d came after the dump was complete: "
				"ignored, the checkpoint in %s stands", sig,
				c->o->dir);
	}
}

int dump_tree(const struct dump_opts *o, struct dump_stats *st)
{
	struct dump_ctx c = { .o = o, .st = st, .dirfd = -1,
			      .qmp_guard = { .pid = -1, .fd = -1 },
			      .parent = { .dirfd = -1 } };
	sigset_t old;
	uint64_t t0 = now_ns(), t_frozen = t0;
	int ret = -1;

	memset(st, 0, sizeof(*st));
	if (progress_init(&c.progress, o->progress_fd))
		return -1;
	c.img.fd = c.img.parentfd = -1;
	if (check_target(o->pid))
		return -1;
	tcp_repair_hold_init(&c.tcp_hold, o->tcp_established &&
			     !o->leave_running && o->network_lock);
	c.tcp_hold.close = o->tcp_close && !o->tcp_established;
	block_stop_sigs(&c, &old);
	/* a QMP socket that is not there is said now, not after a
	 * pre-copy's rounds (the tree runs on, untouched) */
	if (o->qmp) {
		struct stat qs;

		if (stat(o->qmp, &qs)) {
			pr_perror("--qmp %s", o->qmp);
			goto out_release;
		}
		if (!S_ISSOCK(qs.st_mode)) {
			pr_err("--qmp %s: not a socket", o->qmp);
			goto out_release;
		}
	}
	/* the VM's guard starts now, idle (armed before "stop"): its exec
	 * is not in the downtime */
	if (o->qmp && realpath(o->qmp, c.qmp_path))
		qmp_guard_prepare(&c.qmp_guard, c.qmp_path);
	layer_new_id(c.layer_id);
	if (open_images(&c))
		goto out_release;
	if (o->prev_dir && open_parent_layer(&c))
		goto out_release;
	if (o->precopy_rounds && precopy(&c))
		goto out_release;
	st->stop_at_ns = now_ns() - t0;
	pause_at("before-freeze");
	if (interrupted(&c))
		goto out_release;
	if (o->qmp && qmp_stop_vm(&c))
		goto out_release;
	pr_debug("freezing the tree of %d", o->pid);
	if (freeze_tree(o->pid, &c.tree))
		goto out_release;
	t_frozen = now_ns();
	st->frozen_at_ns = t_frozen - t0;
	pr_debug("frozen: %zu processes in %.2f ms", c.tree.nr,
		 c.tree.freeze_ns / 1e6);
	st->freeze_ns = c.tree.freeze_ns;
	if (tree_has(&c.tree, getpid())) {
		pr_err("the tree of %d contains criu-lite itself", o->pid);
		goto out_release;
	}
	if (fault_at("after-seize") || interrupted(&c))
		goto out_release;
	ret = dump_frozen(&c);
	if (!ret)
		ret = tcp_repair_lock_network(&c.tcp_hold);
	st->dumped_at_ns = now_ns() - t0;
	if (!ret)
		ret = commit_images(&c);
	net_watch_stop(&c);	/* committed: a signal now is ignored */
	if (!ret && o->migrate && !c.lazy_on)
		st->running_at_ns = now_ns() - t0;
	if (!ret && c.lazy_on)
		ret = serve_lazy(&c, t0);
	if (!ret)
		pause_at("after-commit");
out_release:
	/* on failure the tree goes on running, whatever was asked */
	if (ret == 0 && !o->leave_running)
		tcp_repair_before_kill(&c.tcp_hold);
	release_tree(&c.tree, ret == 0 && !o->leave_running);
	if (ret && (c.dest_runs || c.dest_unknown))
		keep_stopped(&c);
	/* killed: its connections close in repair mode, the peers see
	 * nothing; running: they leave repair */
	tcp_repair_release(&c.tcp_hold, (ret == 0 && !o->leave_running) ||
			   c.dest_runs || c.dest_unknown);
	if (c.qmp_stopped && (ret || o->leave_running) && !c.dest_runs &&
	    !c.dest_unknown &&
	    qmp_command(c.qmp_path, "cont", NULL, 0, 5000))
		pr_err("the VM of %d stays stopped: QMP cont failed", o->pid);
	qmp_guard_dismiss(&c.qmp_guard);
	st->frozen_ns = now_ns() - t_frozen;
	free_tree(&c.tree);
	precopy_end(&c);
	if (c.lazy_on)
		lazy_source_free(&c.lazy);
	net_watch_stop(&c);
	page_xfer_close(c.xfer);
	imgdir_abort(&c.img);	/* after a commit: only closes */
	settle_stop_sigs(&c, ret);
	sigprocmask(SIG_SETMASK, &old, NULL);
	st->total_ns = now_ns() - t0;
	/* a failed dump leaves DIR as it was; a migration's DIR is scratch
	 * (its figures go to migrate --stats-file) */
	if (!ret && !o->migrate)
		stats_record_dump(o->dir, st, o->display_stats, stdout);
	return ret;
}

/* ---- pre-dump ---- */

/*
 * One process of a pre-dump, its tree frozen: the tracking taken over
 * from the parent's tracker (what was written since that layer is
 * collected now), or started here (a first layer, a process new since,
 * or a tracker that was gone); then the pages its layer describes are
 * listed. Nothing is started once anything of the tree was refused.
 */
static int predump_proc(struct dump_ctx *c, struct proc_dump *pd,
			struct refusals *rf)
{
	pid_t pid = pd->fp->pid;
	struct pc_proc *pc;
	int uffd = -1;

	if (proc_read_vmas(pid, &pd->vmas, &pd->nr_vmas))
		return -1;
	if (c->have_taken && adopt_tracking(c, pd))
		return -1;
	if (pd->pc)
		forget_own_uffd(pd->pc, pd->vmas, pd->nr_vmas);
	if (check_proc(pd, &c->tree, rf))
		return -1;
	if (rf->count)
		return 0;
	if (pd->pc) {
		if (pc_final_collect(pd->pc))
			return -1;
	} else {
		if (c->ops == &uffd_wp_tracker_ops &&
		    (uffd = take_target_uffd(pd)) < 0)
			return -1;
		pc = &c->pcs[c->nr_pcs];
		c->pc_pids[c->nr_pcs++] = pid;
		if (pc_start(pc, pid, uffd, c->ops, pd->vmas, pd->nr_vmas))
			return -1;
		pd->pc = pc;
	}
	return pc_scan_layer(pd->pc, pd->vmas, pd->nr_vmas);
}

static int predump_frozen(struct dump_ctx *c)
{
	struct refusals rf = { .len = 0 };
	struct proc_dump *pds = calloc(c->tree.nr, sizeof(*pds));
	int ret = -1;

	if (!pds || (!c->pcs && pcs_alloc(c, c->tree.nr)) ||
	    ns_check_tree(&c->tree, &rf) || check_fd_tables(&c->tree, &rf))
		goto out;
	for (size_t i = 0; i < c->tree.nr; i++) {
		pds[i].c = c;
		pds[i].fp = &c->tree.procs[i];
		if (!pds[i].fp->zombie && predump_proc(c, &pds[i], &rf))
			goto out;
	}
	if (rf.count) {
		pr_err("can't dump %d's tree: %u object(s) not supported:\n%s",
		       c->o->pid, rf.count, rf.text);
		goto out;
	}
	ret = 0;
out:
	for (size_t i = 0; pds && i < c->tree.nr; i++)
		free(pds[i].vmas);
	free(pds);
	return ret;
}

/* The layer, the tree running again: pagemaps and pages, then the
 * inventory that makes it a layer. */
static int predump_write(struct dump_ctx *c)
{
	for (size_t i = 0; i < c->nr_pcs; i++)
		if (pc_dump_layer(&c->pcs[i], vpid_of(&c->tree, c->pc_pids[i]),
				  c->xfer) || interrupted(c))
			return -1;
	if (page_xfer_flush(c->xfer) || write_parent_link(c) ||
	    fault_at("predump-before-inventory"))
		return -1;
	return write_inventory(c);
}

/* The tracking goes on in a tracker process, found by the next layer
 * through DIR/tracker.sock. */
static int leave_tracker(struct dump_ctx *c)
{
	struct tracking t = { .root = c->o->pid };
	pid_t tpid;
	int ret = -1;

	snprintf(t.backend, sizeof(t.backend), "%s", c->ops->name);
	memcpy(t.layer_id, c->layer_id, sizeof(t.layer_id));
	/* the tracker watches the root (procs[0]): an untrusted root leaves
	 * no tracker at all, and the next layer copies everything */
	if (!c->nr_pcs || c->pc_pids[0] != c->o->pid) {
		pr_warn("no memory tracker is left for the next layer (the "
			"root %d's memory is not tracked): it will copy "
			"everything", c->o->pid);
		return 0;
	}
	if (!pc_trusted(&c->pcs[0])) {
		pr_warn("no memory tracker is left for the next layer (the "
			"root %d's writes can't all be seen, as said above): it "
			"will copy everything", c->o->pid);
		return 0;
	}
	t.procs = calloc(c->nr_pcs, sizeof(*t.procs));
	if (!t.procs)
		return -1;
	for (size_t i = 0; i < c->nr_pcs; i++) {
		if (!pc_trusted(&c->pcs[i])) {
			pr_warn("pid %d: its tracking is not handed on (pinned "
				"memory or an O_DIRECT fd): the next layer "
				"copies it whole", c->pc_pids[i]);
			continue;
		}
		if (pc_export(&c->pcs[i], &t.procs[t.nr++]))
			goto out;
	}
	ret = tracker_spawn(c->o->dir, &t, c->o->track_timeout_s, &tpid);
	if (!ret)
		pr_info("memory tracker %d keeps tracking writes of %d's tree "
			"(%s) for the next layer: until it is taken, the tree "
			"exits, %s is removed, or %u s", tpid, c->o->pid,
			c->ops->name, c->o->dir, c->o->track_timeout_s);
out:
	for (size_t i = 0; i < t.nr; i++)
		t.procs[i].uffd = -1;	/* pc's own, closed by pc_free */
	tracking_free(&t);
	return ret;
}

static int pick_tracker(struct dump_ctx *c)
{
	struct kernel_features kf;

	if (kernel_features_probe(&kf) || !(c->ops = dirty_tracker_pick(&kf))) {
		pr_err("pre-dump needs dirty tracking: this kernel has neither "
		       "soft-dirty nor userfaultfd write-protect (see "
		       "criu-lite check)");
		return -1;
	}
	if (c->have_taken && c->taken_ops != c->ops) {
		pr_warn("the tracker of %s used %s, this dump uses %s: copying "
			"all memory", c->parent.dir, c->taken.backend,
			c->ops->name);
		tracking_free(&c->taken);
		c->have_taken = false;
	}
	return 0;
}

/*
 * pre-dump: the tree is frozen only to take over (or start) the tracking
 * of its writes and to list its pages; the layer is copied while it runs
 * on. A page written meanwhile is reported by the next collect, so the
 * next layer has it again: a torn copy here is never the one restored.
 */
int pre_dump_tree(const struct dump_opts *o, struct dump_stats *st)
{
	struct dump_ctx c = { .o = o, .st = st, .dirfd = -1,
			      .qmp_guard = { .pid = -1, .fd = -1 },
			      .parent = { .dirfd = -1 } };
	uint64_t t0 = now_ns(), t1;
	bool released = false;
	sigset_t old;
	int ret = -1;

	memset(st, 0, sizeof(*st));
	c.img.fd = c.img.parentfd = -1;
	if (check_target(o->pid))
		return -1;
	block_stop_sigs(&c, &old);
	layer_new_id(c.layer_id);
	if (open_images(&c) || (o->prev_dir && open_parent_layer(&c)) ||
	    pick_tracker(&c))
		goto out;
	if (freeze_tree(o->pid, &c.tree))
		goto out;
	t1 = now_ns();
	st->freeze_ns = c.tree.freeze_ns;
	if (tree_has(&c.tree, getpid())) {
		pr_err("the tree of %d contains criu-lite itself", o->pid);
		goto out;
	}
	ret = fault_at("after-seize") || interrupted(&c) ? -1 : predump_frozen(&c);
	release_tree(&c.tree, false);	/* the layer is copied while it runs */
	released = true;
	st->frozen_ns = now_ns() - t1;
	if (!ret)
		ret = predump_write(&c);
	if (!ret)
		ret = commit_images(&c);
	net_watch_stop(&c);
	page_xfer_close(c.xfer);	/* its writer thread too: we fork next */
	c.xfer = NULL;
	if (!ret)
		ret = leave_tracker(&c);
out:
	if (!released)
		release_tree(&c.tree, false);
	free_tree(&c.tree);
	precopy_end(&c);
	if (c.lazy_on)
		lazy_source_free(&c.lazy);
	net_watch_stop(&c);
	page_xfer_close(c.xfer);
	imgdir_abort(&c.img);
	settle_stop_sigs(&c, ret);
	sigprocmask(SIG_SETMASK, &old, NULL);
	st->total_ns = now_ns() - t0;
	/* as CRIU's pre-dump: the layer's figures in DIR/stats-dump */
	if (!ret)
		stats_record_dump(o->dir, st, o->display_stats, stdout);
	return ret;
}
