// SPDX-License-Identifier: GPL-2.0
/*
 * zdtm-run: starts each zdtm test, checkpoints and restores it with
 * criu-lite a number of times, then asks it (SIGTERM) whether its state
 * survived.  See zdtm/README.md.
 *
 * The runner is PR_SET_CHILD_SUBREAPER: a test it started is its child; a
 * dump kills it (the runner reaps it, freeing its pid for the restore); the
 * restore's criu-lite creates it again and exits, and the orphan comes back
 * to the runner, which can then wait for its exit status as before.
 */
#include <errno.h>
#include <ftw.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "proc.h"
#include "spawn.h"
#include "testlist.h"

#define READY_TIMEOUT_MS	30000
#define GONE_TIMEOUT_MS		10000
#define BACK_TIMEOUT_MS		2000
#define SETTLE_MS		100
#define MASKS_BACK_MS		5000
#define MASKS_MAX		8192
#define FDS_MAX			65536
#define LOG_TAIL_LINES		20
#define TOOL_TAIL_LINES		30
#define ROOT_MAX		2048		/* short enough for every path below */
#define TEST_PATH_MAX		3072

/* kill-*: criu-lite SIGKILLs itself there (mid-injection): the test must
 * still run on, unchanged, and pass its own checks at the end */
static const char *const fault_points[] = {
	"after-seize", "after-inject", "after-pages",
	"kill-inject-set", "kill-inject-entry", "kill-inject-exit",
	/* the plain injection (no self-restoring frame), killed between
	 * two calls: the thread was parked back in its stop */
	"kill-inject-plain-between",
};
/* the same with the one-copy path's file (or pipe) open in the process
 * (its first pwritev or vmsplice, or just after the open): dumps with
 * neither --precopy,
 * --predump nor --compress, and not CRIU_LITE_PAGE_PATH=copy */
static const char *const splice_fault_points[] = {
	"kill-vmsplice-open", "kill-vmsplice-set", "kill-vmsplice-entry",
	"kill-vmsplice-exit",
};
/* the same in a thread that is not the leader (tests flagged threads) */
static const char *const thread_fault_points[] = {
	"kill-inject-thread-set", "kill-inject-thread-entry",
	"kill-inject-thread-exit",
};

struct opts {
	int iters;
	int timeout_s;		/* for one criu-lite run and for a test's exit */
	bool keep_going;
	bool all;
	bool leave_running;
	bool pidns;
	char precopy[16];	/* --precopy N: dump --precopy-rounds N */
	int predump;		/* --predump N: N pre-dumps before each dump */
	const char *compress;	/* --compress CODEC: dump --compress CODEC */
	bool keep_img;
	bool verbose;
	bool list;
	char criu[PATH_MAX];
	char root[ROOT_MAX];	/* the repository: build/ is below it */
};

struct test_run {
	const struct opts *o;
	const struct zdtm_test *t;
	char bin[TEST_PATH_MAX], log[TEST_PATH_MAX];
	char work[TEST_PATH_MAX], img[TEST_PATH_MAX];
	char tool_log[PATH_MAX];	/* output of the last criu-lite run */
	char prev[64];		/* --prev-images-dir of the next (pre-)dump */
	pid_t pid;		/* the test's root process, as we see it */
	pid_t orig_pid;		/* its pid when started, kept by restores */
	bool our_child;		/* pid can be waited for */
	bool reaped;
	struct proc_tree tree;	/* taken after READY */
	char reason[512];
};

/* For the signal handler: what to kill when the runner is interrupted. */
static volatile pid_t current_test;

static void on_signal(int sig)
{
	if (spawn_tool_pid > 0)
		kill(spawn_tool_pid, SIGKILL);
	if (current_test > 0)
		kill(current_test, SIGKILL);
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Records the first reason a test failed; returns -1 for "return fail()". */
static int __attribute__((format(printf, 2, 3)))
fail(struct test_run *r, const char *fmt, ...)
{
	va_list ap;

	if (r->reason[0])
		return -1;
	va_start(ap, fmt);
	vsnprintf(r->reason, sizeof(r->reason), fmt, ap);
	va_end(ap);
	return -1;
}

static void __attribute__((format(printf, 2, 3)))
verbose(const struct test_run *r, const char *fmt, ...)
{
	va_list ap;

	if (!r->o->verbose)
		return;
	printf("  %s: ", r->t->name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static int rm_entry(const char *path, const struct stat *st, int type,
		    struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	remove(path);
	return 0;
}

static void rm_rf(const char *path)
{
	nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static int mkdir_p(const char *path)
{
	char buf[PATH_MAX], *p;

	snprintf(buf, sizeof(buf), "%s", path);
	for (p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) && errno != EEXIST)
			return -1;
		*p = '/';
	}
	return mkdir(buf, 0755) && errno != EEXIST ? -1 : 0;
}

/* Whole file, or its last 256 KiB; malloc'ed, NUL-terminated. */
static char *read_tail(const char *path)
{
	FILE *f = fopen(path, "re");
	char *buf;
	long size;
	size_t n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	if (size > 256 * 1024) {
		fseek(f, -256 * 1024, SEEK_END);
		size = 256 * 1024;
	} else {
		fseek(f, 0, SEEK_SET);
	}
	buf = malloc(size + 1);
	if (buf) {
		n = fread(buf, 1, size, f);
		buf[n] = '\0';
	}
	fclose(f);
	return buf;
}

/* Does @path hold a line equal to @line (or, with @prefix, starting with it)? */
static bool log_has(const char *path, const char *line, bool prefix)
{
	char *buf = read_tail(path), *p;
	size_t len = strlen(line);
	bool found = false;

	for (p = buf; p && *p && !found; ) {
		size_t n = strcspn(p, "\n");

		found = prefix ? n >= len && !strncmp(p, line, len) :
				 n == len && !strncmp(p, line, len);
		p += n + (p[n] == '\n');
	}
	free(buf);
	return found;
}

static void print_tail(const char *title, const char *path, int lines)
{
	char *buf = read_tail(path), *p;
	int n = 0;

	if (!buf)
		return;
	for (p = buf + strlen(buf); p > buf; p--)
		if (p[-1] == '\n' && p[0] && ++n == lines)
			break;
	printf("  --- %s (%s) ---\n", title, path);
	while (*p) {
		size_t len = strcspn(p, "\n");

		printf("  | %.*s\n", (int)len, p);
		p += len + (p[len] == '\n');
	}
	free(buf);
}

static void set_paths(struct test_run *r)
{
	const char *root = r->o->root, *name = r->t->name, *dir = r->t->dir;

	snprintf(r->bin, sizeof(r->bin), "%s/build/zdtm/%s/%s", root, dir, name);
	snprintf(r->log, sizeof(r->log), "%s/build/zdtm/%s/%s.out", root, dir, name);
	snprintf(r->work, sizeof(r->work), "%s/build/zdtm/work/%s", root, name);
	snprintf(r->img, sizeof(r->img), "%s/build/zdtm/img/%s", root, name);
}

/* Waits for "READY" in the log; the test must not exit before. */
static int wait_ready(struct test_run *r)
{
	long long deadline = now_ms() + READY_TIMEOUT_MS;
	char buf[64];
	int status;

	while (!log_has(r->log, "READY", false)) {
		if (wait_child(r->pid, 0, &status) == 0) {
			r->reaped = true;
			return fail(r, "exited before READY: %s",
				    status_str(status, buf, sizeof(buf)));
		}
		if (now_ms() > deadline)
			return fail(r, "no READY within %d s", READY_TIMEOUT_MS / 1000);
		msleep(10);
	}
	return 0;
}

static int start_test(struct test_run *r)
{
	if (access(r->bin, X_OK))
		return fail(r, "%s is not built", r->bin);
	rm_rf(r->work);
	rm_rf(r->img);
	if (mkdir_p(r->work) || mkdir_p(r->img))
		return fail(r, "mkdir %s: %s", r->work, strerror(errno));
	r->pid = spawn_test(r->bin, r->work, r->log);
	if (r->pid < 0)
		return fail(r, "cannot start %s", r->bin);
	r->orig_pid = r->pid;
	r->our_child = true;
	current_test = r->pid;
	if (wait_ready(r))
		return -1;
	if (proc_tree_snapshot(r->pid, &r->tree))
		return fail(r, "cannot read the process tree of %d", r->pid);
	verbose(r, "pid %d READY, %d process(es), %d thread(s) in the root",
		r->pid, r->tree.nr, r->tree.nodes[0].nr_threads);
	return 0;
}

/*
 * Runs "criu-lite dump|restore" with its output in <dir>.<action>.log.
 * Returns 0 when it exited 0, -1 otherwise (*status says how), -2 when it
 * timed out or could not be started.
 */
static int run_criu(struct test_run *r, const char *action, const char *dir,
		    const char *fault, int *status, long long *ms)
{
	char pid_str[16], *argv[16];
	long long t0 = now_ms();
	int argc = 0, ret;

	argv[argc++] = (char *)r->o->criu;
	argv[argc++] = (char *)action;
	if (!strcmp(action, "dump") || !strcmp(action, "pre-dump")) {
		snprintf(pid_str, sizeof(pid_str), "%d", r->pid);
		argv[argc++] = "-t";
		argv[argc++] = pid_str;
	}
	argv[argc++] = "-D";
	argv[argc++] = (char *)dir;
	if (!strcmp(action, "dump") && r->o->leave_running && !fault)
		argv[argc++] = "--leave-running";
	if (!strcmp(action, "dump") && r->o->precopy[0]) {
		argv[argc++] = "--precopy-rounds";
		argv[argc++] = (char *)r->o->precopy;
	}
	if (strcmp(action, "restore") && r->prev[0] && !fault) {
		argv[argc++] = "--prev-images-dir";
		argv[argc++] = r->prev;
		if (!strcmp(action, "dump"))
			argv[argc++] = "--track-mem";
	}
	if (!strcmp(action, "dump") && r->o->compress) {
		argv[argc++] = "--compress";
		argv[argc++] = (char *)r->o->compress;
	}
	if (r->t->flags & TF_TCP)
		argv[argc++] = "--tcp-established";
	if (!strcmp(action, "restore")) {
		if (r->o->pidns)
			argv[argc++] = "--pidns";
		argv[argc++] = "-d";
	}
	argv[argc] = NULL;

	snprintf(r->tool_log, sizeof(r->tool_log), "%s.%s.log", dir, action);
	*status = 0;
	ret = run_tool(argv, fault, r->tool_log, r->o->timeout_s * 1000, status);
	*ms = now_ms() - t0;
	if (ret)
		return -2;	/* timed out */
	return WIFEXITED(*status) && WEXITSTATUS(*status) == 0 ? 0 : -1;
}

/* The test must be running on its own: not a zombie, not stopped, not traced. */
static int check_running(struct test_run *r, const char *when)
{
	long long deadline = now_ms() + BACK_TIMEOUT_MS;
	struct proc_status st;
	char buf[64];
	int status;

	for (;;) {
		if (proc_status(r->pid, &st))
			return fail(r, "pid %d is gone %s", r->pid, when);
		if (st.state == 'Z' || st.state == 'X') {
			if (r->our_child && wait_child(r->pid, 0, &status) == 0) {
				r->reaped = true;
				return fail(r, "test died %s: %s", when,
					    status_str(status, buf, sizeof(buf)));
			}
			return fail(r, "test is a zombie %s", when);
		}
		if (st.state != 'T' && st.state != 't' && !st.tracer &&
		    (!r->our_child || st.ppid == getpid()))
			return 0;
		if (now_ms() > deadline)
			break;
		msleep(5);
	}
	if (st.tracer)
		return fail(r, "test is still traced by %d %s", st.tracer, when);
	if (st.state == 'T' || st.state == 't')
		return fail(r, "test is left stopped (State %c) %s", st.state, when);
	return fail(r, "restored test's parent is %d, not the runner (%d)",
		    st.ppid, getpid());
}

static int check_tree(struct test_run *r, const char *when)
{
	struct proc_tree now;
	char why[256];

	if (r->o->pidns)
		return 0;	/* pids differ from the outside */
	if (proc_tree_snapshot(r->pid, &now))
		return fail(r, "cannot read the process tree %s", when);
	if (!proc_tree_equal(&r->tree, &now, why, sizeof(why)))
		return fail(r, "process tree changed %s: %s", when, why);
	return 0;
}

/* A busy test must get CPU time, i.e. it really runs. On a loaded
 * machine a runnable test may wait its turn for a while (CI, load 15 on
 * 2 CPUs: none in 300 ms): it has 10 s; a stopped one never gets any. */
static int check_progress(struct test_run *r, const char *when)
{
	unsigned long long before;

	if (!(r->t->flags & TF_BUSY))
		return 0;
	before = proc_cpu_ticks(r->pid);
	for (int i = 0; i < 100; i++) {
		msleep(100);
		if (proc_cpu_ticks(r->pid) > before)
			return 0;
	}
	return fail(r, "test got no CPU time in 10 s %s", when);
}

/* "tid SigBlk" of every thread of the tree, one a line, into buf. */
static void tree_masks(const struct test_run *r, char *buf, size_t len)
{
	char path[64], line[128];
	size_t off = 0;
	FILE *f;

	buf[0] = 0;
	for (int i = 0; i < r->tree.nr; i++) {
		const struct proc_node *n = &r->tree.nodes[i];

		for (int t = 0; t < n->nr_threads && off < len; t++) {
			snprintf(path, sizeof(path), "/proc/%d/task/%d/status",
				 n->pid, n->tids[t]);
			f = fopen(path, "r");
			if (!f)
				continue;
			while (fgets(line, sizeof(line), f))
				if (!strncmp(line, "SigBlk:", 7))
					off += snprintf(buf + off, len - off,
							"%d %s", n->tids[t],
							line + 8);
			fclose(f);
		}
	}
}

/*
 * Every thread's signal mask is as before. A thread criu-lite died while
 * injecting into is runnable with the all-blocked mask until it gets a
 * CPU and rt_sigreturns to its own (it runs none of its code before): a
 * loaded machine can make that milliseconds, so it has MASKS_BACK_MS.
 */
static int check_masks(struct test_run *r, const char *before,
		       const char *when)
{
	static char now[MASKS_MAX];
	long long deadline = now_ms() + MASKS_BACK_MS;

	for (;;) {
		tree_masks(r, now, sizeof(now));
		if (!strcmp(before, now))
			return 0;
		if (now_ms() > deadline)
			break;
		msleep(5);
	}
	verbose(r, "masks before:\n%s  now:\n%s", before, now);
	return fail(r, "a thread's signal mask changed %s", when);
}

/* Every process' fd table: "pid fd -> target" lines. */
static void tree_fds(const struct test_run *r, char *buf, size_t len)
{
	char path[64], target[256];
	size_t off = 0;

	buf[0] = 0;
	for (int i = 0; i < r->tree.nr && off < len; i++) {
		pid_t pid = r->tree.nodes[i].pid;

		for (int fd = 0; fd < 1024 && off < len; fd++) {
			ssize_t n;

			snprintf(path, sizeof(path), "/proc/%d/fd/%d", pid, fd);
			n = readlink(path, target, sizeof(target) - 1);
			if (n < 0)
				continue;
			target[n] = 0;
			off += snprintf(buf + off, len - off, "%d %d -> %s\n",
					pid, fd, target);
		}
	}
}

/* Every fd table is as before: no fd of criu-lite's left in a process
 * (one it killed while injecting closes it before its own code runs:
 * MASKS_BACK_MS, as the masks). */
static int check_fds(struct test_run *r, const char *before, const char *when)
{
	static char now[FDS_MAX];
	long long deadline = now_ms() + MASKS_BACK_MS;

	for (;;) {
		tree_fds(r, now, sizeof(now));
		if (!strcmp(before, now))
			return 0;
		if (now_ms() > deadline)
			break;
		msleep(5);
	}
	verbose(r, "fds before:\n%s  now:\n%s", before, now);
	return fail(r, "a process' fd table changed %s", when);
}

/*
 * A dump made to fail on purpose must exit non-zero and leave the test
 * running, untraced and unchanged (signal masks and fd tables included).
 */
static int fault_dump(struct test_run *r, const char *point)
{
	static char masks[MASKS_MAX], fds[FDS_MAX];
	char dir[PATH_MAX], when[96], buf[64];
	long long ms;
	int status, ret;
	bool force;

	snprintf(dir, sizeof(dir), "%s/fault-%s", r->img, point);
	snprintf(when, sizeof(when), "after a dump failed at %s", point);
	if (mkdir_p(dir))
		return fail(r, "mkdir %s: %s", dir, strerror(errno));
	tree_masks(r, masks, sizeof(masks));
	tree_fds(r, fds, sizeof(fds));
	/* the one-copy path's points: splice unless CRIU_LITE_PAGE_PATH says
	 * a way (the default is the copy path where the pipe is small) */
	force = !strncmp(point, "kill-vmsplice-", 14) &&
		!getenv("CRIU_LITE_PAGE_PATH");
	if (force)
		setenv("CRIU_LITE_PAGE_PATH", "splice", 1);
	ret = run_criu(r, "dump", dir, point, &status, &ms);
	if (force)
		unsetenv("CRIU_LITE_PAGE_PATH");
	verbose(r, "dump with CRIU_LITE_FAULT=%s: %s, %lld ms", point,
		status_str(status, buf, sizeof(buf)), ms);
	if (ret == -2)
		return fail(r, "dump with CRIU_LITE_FAULT=%s timed out", point);
	if (ret == 0)
		return fail(r, "dump with CRIU_LITE_FAULT=%s exited 0", point);
	if (!strncmp(point, "kill-", 5)) {
		if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL)
			return fail(r, "dump with CRIU_LITE_FAULT=%s did not die "
				    "of SIGKILL: %s", point,
				    status_str(status, buf, sizeof(buf)));
	} else if (WIFSIGNALED(status))
		return fail(r, "dump with CRIU_LITE_FAULT=%s crashed: %s", point,
			    status_str(status, buf, sizeof(buf)));
	if (check_running(r, when) || check_tree(r, when) ||
	    check_masks(r, masks, when) || check_fds(r, fds, when) ||
	    check_progress(r, when))
		return -1;
	rm_rf(dir);
	return 0;
}

/*
 * After a dump without --leave-running every process of the tree must go.
 * The root is our child, the others come to us (subreaper) when it dies:
 * reap them all, or their zombies keep the pids the restore needs.
 */
static int wait_tree_gone(struct test_run *r, const char *when)
{
	long long deadline = now_ms() + GONE_TIMEOUT_MS;
	struct proc_status st;
	char buf[64];
	int i, status;

	for (i = 0; i < r->tree.nr; i++) {
		pid_t pid = r->tree.nodes[i].pid;

		for (;;) {
			if (waitpid(pid, &status, WNOHANG | __WALL) == pid) {
				if (pid != r->pid)
					break;
				r->reaped = true;
				if (!WIFSIGNALED(status))
					return fail(r, "test %s %s",
						    status_str(status, buf, sizeof(buf)),
						    when);
				break;
			}
			if (proc_status(pid, &st))
				break;
			if (now_ms() > deadline)
				return fail(r, "pid %d still there (State %c) %s",
					    pid, st.state, when);
			msleep(2);
		}
	}
	if (!kill(r->pid, 0))
		return fail(r, "pid %d still exists %s", r->pid, when);
	return 0;
}

/* Finds the restored root: same pid, or with --pidns the same NSpid. */
static int locate_restored(struct test_run *r)
{
	long long deadline = now_ms() + BACK_TIMEOUT_MS;
	struct proc_status st;
	pid_t pid = 0;

	r->reaped = false;
	if (!r->o->pidns) {
		r->pid = r->orig_pid;
		r->our_child = true;
		return 0;
	}
	while (!(pid = proc_find_nspid(getpid(), r->orig_pid)) &&
	       now_ms() < deadline)
		msleep(10);
	if (!pid)
		return fail(r, "no process with inner pid %d after --pidns restore",
			    r->orig_pid);
	r->pid = pid;
	current_test = pid;
	r->our_child = !proc_status(pid, &st) && st.ppid == getpid();
	verbose(r, "restored in a pid namespace as pid %d (parent %d)", pid, st.ppid);
	if (proc_tree_snapshot(pid, &r->tree))
		return fail(r, "cannot read the restored process tree");
	return 0;
}

/*
 * --predump N: N pre-dumps of the running test, each on top of the one
 * before (<iter>-pre<k>), so that the dump stores only what changed since
 * the last; the test must run on, unharmed, after each.
 */
static int predumps(struct test_run *r, int iter)
{
	char dir[PATH_MAX], buf[64], when[64];
	long long ms;
	int status;

	r->prev[0] = '\0';
	for (int k = 1; k <= r->o->predump; k++) {
		snprintf(dir, sizeof(dir), "%s/%d-pre%d", r->img, iter, k);
		if (mkdir_p(dir))
			return fail(r, "mkdir %s: %s", dir, strerror(errno));
		if (run_criu(r, "pre-dump", dir, NULL, &status, &ms))
			return fail(r, "pre-dump %d.%d failed: %s", iter, k,
				    status_str(status, buf, sizeof(buf)));
		snprintf(when, sizeof(when), "after pre-dump %d.%d", iter, k);
		if (check_running(r, when) || check_tree(r, when))
			return -1;
		verbose(r, "pre-dump %d.%d: %lld ms", iter, k, ms);
		snprintf(r->prev, sizeof(r->prev), "../%d-pre%d", iter, k);
		msleep(50);
	}
	return 0;
}

static void remove_predumps(struct test_run *r, int iter)
{
	char dir[PATH_MAX];

	for (int k = 1; k <= r->o->predump; k++) {
		snprintf(dir, sizeof(dir), "%s/%d-pre%d", r->img, iter, k);
		rm_rf(dir);
	}
}

static int checkpoint(struct test_run *r, int iter)
{
	char dir[PATH_MAX], when[64], buf[64];
	long long dump_ms, restore_ms;
	int status, ret;

	snprintf(dir, sizeof(dir), "%s/%d", r->img, iter);
	if (mkdir_p(dir))
		return fail(r, "mkdir %s: %s", dir, strerror(errno));
	if (predumps(r, iter))
		return -1;
	ret = run_criu(r, "dump", dir, NULL, &status, &dump_ms);
	r->prev[0] = '\0';
	if (ret == -2)
		return fail(r, "dump %d timed out after %d s", iter, r->o->timeout_s);
	if (ret) {
		fail(r, "dump %d failed: %s", iter, status_str(status, buf, sizeof(buf)));
		if (!check_running(r, "after a failed dump"))
			verbose(r, "the test still runs after the failed dump");
		return -1;
	}

	snprintf(when, sizeof(when), "after dump %d", iter);
	if (r->o->leave_running) {
		verbose(r, "dump %d (--leave-running): %lld ms", iter, dump_ms);
		if (check_running(r, when) || check_tree(r, when) ||
		    check_progress(r, when))
			return -1;
		return 0;
	}
	if (wait_tree_gone(r, when))
		return -1;

	ret = run_criu(r, "restore", dir, NULL, &status, &restore_ms);
	if (ret == -2)
		return fail(r, "restore %d timed out after %d s", iter, r->o->timeout_s);
	if (ret)
		return fail(r, "restore %d failed: %s", iter,
			    status_str(status, buf, sizeof(buf)));
	snprintf(when, sizeof(when), "after restore %d", iter);
	if (locate_restored(r) || check_running(r, when) || check_tree(r, when))
		return -1;
	msleep(SETTLE_MS);
	if (check_running(r, when) || check_progress(r, when))
		return -1;
	verbose(r, "iteration %d: dump %lld ms, restore %lld ms", iter, dump_ms,
		restore_ms);
	if (iter > 1 && !r->o->keep_img) {
		snprintf(dir, sizeof(dir), "%s/%d", r->img, iter - 1);
		rm_rf(dir);
		remove_predumps(r, iter - 1);
	}
	return 0;
}

/* The first "FAIL..." line of the log, for the one-line reason. */
static void first_fail_line(const char *log, char *out, size_t len)
{
	char *buf = read_tail(log), *p;

	*out = '\0';
	for (p = buf; p && *p; ) {
		size_t n = strcspn(p, "\n");

		if (!strncmp(p, "FAIL", 4)) {
			snprintf(out, len, ": %.*s", (int)n, p);
			break;
		}
		p += n + (p[n] == '\n');
	}
	free(buf);
}

/* SIGTERM: the test checks its state, prints PASS and exits 0. */
static int stop_test(struct test_run *r)
{
	long long deadline = now_ms() + r->o->timeout_s * 1000LL;
	char buf[64], line[256];
	int status, ret;

	if (kill(r->pid, SIGTERM))
		return fail(r, "kill(%d, SIGTERM): %s", r->pid, strerror(errno));
	first_fail_line(r->log, line, sizeof(line));
	if (r->our_child) {
		ret = wait_child(r->pid, r->o->timeout_s * 1000, &status);
		if (ret == 1)
			return fail(r, "no exit within %d s of SIGTERM", r->o->timeout_s);
		if (ret < 0)
			return fail(r, "pid %d is not the runner's child", r->pid);
		r->reaped = true;
		first_fail_line(r->log, line, sizeof(line));
		if (!WIFEXITED(status) || WEXITSTATUS(status))
			return fail(r, "%s%s", status_str(status, buf, sizeof(buf)),
				    line);
	} else {
		while (!kill(r->pid, 0) && now_ms() < deadline)
			msleep(10);
		if (!kill(r->pid, 0))
			return fail(r, "no exit within %d s of SIGTERM", r->o->timeout_s);
		first_fail_line(r->log, line, sizeof(line));
	}
	if (line[0])
		return fail(r, "the log has a failure%s", line);
	if (!log_has(r->log, "PASS", false))
		return fail(r, "no PASS in the log");
	return 0;
}

static void kill_test(struct test_run *r)
{
	int i;

	if (r->pid > 0 && !r->reaped)
		kill(r->pid, SIGKILL);
	for (i = 0; i < r->tree.nr; i++)
		if (proc_alive(r->tree.nodes[i].pid))
			kill(r->tree.nodes[i].pid, SIGKILL);
	reap_all_children();
	current_test = 0;
}

/* Whether the dumps read pages by the splice path (page-splice.h). */
static bool splice_dumps(const struct opts *o)
{
	const char *p = getenv("CRIU_LITE_PAGE_PATH");

	return !o->precopy[0] && !o->predump && !o->compress &&
	       !(p && !strcmp(p, "copy"));
}

static bool run_one(const struct opts *o, const struct zdtm_test *t)
{
	static struct test_run run;
	struct test_run *r = &run;
	unsigned int i;
	int iter;

	memset(r, 0, sizeof(*r));
	r->o = o;
	r->t = t;
	set_paths(r);
	if (start_test(r))
		goto out;
	if (o->iters > 0 && (t->flags & TF_FAULT)) {
		for (i = 0; i < sizeof(fault_points) / sizeof(fault_points[0]); i++)
			if (fault_dump(r, fault_points[i]))
				goto out;
	}
	if (o->iters > 0 && (t->flags & TF_FAULT) && splice_dumps(o)) {
		for (i = 0; i < sizeof(splice_fault_points) /
			    sizeof(splice_fault_points[0]); i++)
			if (fault_dump(r, splice_fault_points[i]))
				goto out;
	}
	if (o->iters > 0 && (t->flags & TF_FAULT) && (t->flags & TF_THREADS)) {
		for (i = 0; i < sizeof(thread_fault_points) /
			    sizeof(thread_fault_points[0]); i++)
			if (fault_dump(r, thread_fault_points[i]))
				goto out;
	}
	for (iter = 1; iter <= o->iters; iter++)
		if (checkpoint(r, iter))
			goto out;
	stop_test(r);
out:
	kill_test(r);
	if (!r->reason[0]) {
		printf("PASS %s\n", t->name);
		if (!o->keep_img)
			rm_rf(r->img);
		rm_rf(r->work);
		return true;
	}
	printf("FAIL %s (%s)\n", t->name, r->reason);
	print_tail("test log", r->log, LOG_TAIL_LINES);
	if (r->tool_log[0])
		print_tail("criu-lite output", r->tool_log, TOOL_TAIL_LINES);
	fflush(stdout);
	return false;
}

static void usage(FILE *f)
{
	fprintf(f,
"usage: zdtm/run [options] [TEST...]\n"
"  Runs the zdtm tests listed in zdtm/tests.list (by default those not\n"
"  flagged notyet; TEST may be a name or dir/name, and runs even if notyet).\n"
"  --iters N        dump/restore rounds per test (default 1; 0: no criu-lite,\n"
"                   just READY, SIGTERM, PASS)\n"
"  --criu PATH      the engine (default build/criu-lite)\n"
"  --keep-going     do not stop at the first failing test\n"
"  --all            also run tests flagged notyet\n"
"  --leave-running  dump with --leave-running and do not restore\n"
"  --pidns          restore with --pidns\n"
"  --precopy N      dump with --precopy-rounds N (memory copied while the\n"
"                   test runs, then only what changed)\n"
"  --predump N      N pre-dumps (a chain) before each dump, which stores\n"
"                   only what changed since (--prev-images-dir --track-mem)\n"
"  --compress CODEC dump with --compress CODEC (lz4, zstd)\n"
"  --timeout S      limit for one criu-lite run and for a test's exit (60)\n"
"  --keep-img       keep the images of passing tests (build/zdtm/img/)\n"
"  --list           print the test list and exit\n"
"  -v, --verbose    print each step with its time\n"
"Logs: build/zdtm/<dir>/<test>.out, criu-lite output next to the images.\n");
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{ "iters", required_argument, NULL, 'i' },
		{ "criu", required_argument, NULL, 'c' },
		{ "keep-going", no_argument, NULL, 'k' },
		{ "all", no_argument, NULL, 'a' },
		{ "leave-running", no_argument, NULL, 'l' },
		{ "pidns", no_argument, NULL, 'p' },
		{ "precopy", required_argument, NULL, 'P' },
		{ "predump", required_argument, NULL, 'D' },
		{ "compress", required_argument, NULL, 'Z' },
		{ "timeout", required_argument, NULL, 't' },
		{ "keep-img", no_argument, NULL, 'K' },
		{ "list", no_argument, NULL, 'L' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	int c;

	o->iters = 1;
	o->timeout_s = 60;
	while ((c = getopt_long(argc, argv, "vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'i': o->iters = atoi(optarg); break;
		case 'c':
			if (!realpath(optarg, o->criu))
				snprintf(o->criu, sizeof(o->criu), "%s", optarg);
			break;
		case 'k': o->keep_going = true; break;
		case 'a': o->all = true; break;
		case 'l': o->leave_running = true; break;
		case 'p': o->pidns = true; break;
		case 'P':
			snprintf(o->precopy, sizeof(o->precopy), "%d", atoi(optarg));
			break;
		case 'D': o->predump = atoi(optarg); break;
		case 'Z': o->compress = optarg; break;
		case 't': o->timeout_s = atoi(optarg); break;
		case 'K': o->keep_img = true; break;
		case 'L': o->list = true; break;
		case 'v': o->verbose = true; break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return -1;
		}
	}
	if (o->iters < 0 || o->timeout_s <= 0 || o->predump < 0 ||
	    o->predump > 9) {
		usage(stderr);
		return -1;
	}
	return 0;
}

/* The repository root: this binary is <root>/build/zdtm/zdtm-run. */
static int find_root(struct opts *o)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	int i;

	if (n < 0)
		return -1;
	exe[n] = '\0';
	for (i = 0; i < 3; i++) {
		char *slash = strrchr(exe, '/');

		if (!slash || slash == exe)
			return -1;
		*slash = '\0';
	}
	if (strlen(exe) >= sizeof(o->root))
		return -1;
	memcpy(o->root, exe, strlen(exe) + 1);
	return 0;
}

static bool selected(const struct zdtm_test *t, int argc, char **argv,
		     const struct opts *o)
{
	char full[128];
	int i;

	if (!argc)
		return o->all || !(t->flags & TF_NOTYET);
	snprintf(full, sizeof(full), "%s/%s", t->dir, t->name);
	for (i = 0; i < argc; i++)
		if (!strcmp(argv[i], t->name) || !strcmp(argv[i], full))
			return true;
	return false;
}

/* Every name given on the command line must be in the list. */
static int check_names(struct zdtm_test *tests, int nr, int argc, char **argv)
{
	const struct opts all = { .all = true };
	int i, j, bad = 0;

	for (i = 0; i < argc; i++) {
		for (j = 0; j < nr; j++)
			if (selected(&tests[j], 1, &argv[i], &all))
				break;
		if (j == nr) {
			fprintf(stderr, "zdtm: no test \"%s\" in zdtm/tests.list\n",
				argv[i]);
			bad = 1;
		}
	}
	return bad ? -1 : 0;
}

/*
 * The icmp test needs ping sockets, which the kernel gives only to groups
 * in net.ipv4.ping_group_range; its own default "1 0" is empty (systemd
 * sets "0 2147483647", a machine without it keeps none). Run as root on
 * such a machine, the runner lets group 0 have them and says so.
 */
static void allow_ping_sockets(void)
{
	const char *p = "/proc/sys/net/ipv4/ping_group_range";
	unsigned long lo, hi;
	FILE *f;

	if (geteuid() != 0 || !(f = fopen(p, "r")))
		return;
	if (fscanf(f, "%lu %lu", &lo, &hi) != 2 || lo <= hi) {
		fclose(f);
		return;
	}
	fclose(f);
	f = fopen(p, "w");
	if (f && fputs("0 0\n", f) >= 0 && fclose(f) == 0)
		fprintf(stderr, "zdtm: net.ipv4.ping_group_range was \"%lu %lu\" (no ping sockets): "
				"set to \"0 0\" for the icmp test\n", lo, hi);
	else if (f)
		fclose(f);
}

int main(int argc, char **argv)
{
	struct opts o = {};
	struct zdtm_test *tests;
	int nr, i, passed = 0, failed = 0;
	char list[PATH_MAX], flags[128];

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (parse_opts(argc, argv, &o))
		return 2;
	argc -= optind;
	argv += optind;
	if (find_root(&o) || chdir(o.root)) {
		fprintf(stderr, "zdtm: cannot find the repository root\n");
		return 2;
	}
	if (!o.criu[0])
		snprintf(o.criu, sizeof(o.criu), "%s/build/criu-lite", o.root);
	snprintf(list, sizeof(list), "%s/zdtm/tests.list", o.root);
	nr = testlist_load(list, &tests);
	if (nr < 0 || check_names(tests, nr, argc, argv))
		return 2;
	if (o.list) {
		for (i = 0; i < nr; i++)
			printf("%-20s %-12s %s\n", tests[i].name, tests[i].dir,
			       testlist_flags_str(tests[i].flags, flags, sizeof(flags)));
		return 0;
	}
	allow_ping_sockets();
	if (o.iters > 0 && access(o.criu, X_OK)) {
		fprintf(stderr, "zdtm: %s is not there (make builds it), or use --iters 0\n",
			o.criu);
		return 2;
	}
	if (prctl(PR_SET_CHILD_SUBREAPER, 1)) {
		perror("zdtm: PR_SET_CHILD_SUBREAPER");
		return 2;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);

	for (i = 0; i < nr; i++) {
		if (!selected(&tests[i], argc, argv, &o))
			continue;
		if (run_one(&o, &tests[i])) {
			passed++;
		} else {
			failed++;
			if (!o.keep_going)
				break;
		}
	}
	printf("zdtm: %d passed, %d failed\n", passed, failed);
	free(tests);
	return failed ? 1 : 0;
}
