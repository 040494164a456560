// SPDX-License-Identifier: GPL-2.0
/*
 * Namespaces: what a dump refuses, what it records, what a restore
 * rebuilds (namespaces.h). A namespace is known by its /proc/PID/ns link,
 * "uts:[4026531838]": two processes are in the same one when the links
 * are equal.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "namespaces.h"

#define NS_LINK_LEN	64
#define UTS_LEN		64	/* __NEW_UTS_LEN */

/* fsopen(2) and friends: Linux 5.2 */
#ifndef FSOPEN_CLOEXEC
#define FSOPEN_CLOEXEC		0x00000001
#define FSCONFIG_CMD_CREATE	6
#define FSMOUNT_CLOEXEC		0x00000001
#endif

/* Namespaces restore does not rebuild: a process must share criu-lite's. */
static const struct {
	const char *file;	/* in /proc/PID/ns */
	const char *what;	/* in messages */
} kept_kinds[] = {
	{ "net", "network" },
	{ "mnt", "mount" },
	{ "user", "user" },
	{ "cgroup", "cgroup" },
	{ "time", "time" },
};

/* Namespaces restore rebuilds: a new one where a process had its own. */
static const struct {
	const char *file;
	const char *what;
	int nstype;
} rebuilt_kinds[] = {
	{ "uts", "UTS", CLONE_NEWUTS },
	{ "ipc", "IPC", CLONE_NEWIPC },
};

#define ARRAY_LEN(a)	(sizeof(a) / sizeof((a)[0]))

/* The namespace link of pid (0: criu-lite itself); -errno on failure
 * (ENOENT for pid_for_children of a PID namespace not entered yet). */
static int ns_link(pid_t pid, const char *file, char buf[NS_LINK_LEN])
{
	char path[64];
	ssize_t n;

	if (pid)
		snprintf(path, sizeof(path), "/proc/%d/ns/%s", pid, file);
	else
		snprintf(path, sizeof(path), "/proc/self/ns/%s", file);
	n = readlink(path, buf, NS_LINK_LEN - 1);
	if (n < 0)
		return -errno;
	buf[n] = 0;
	return 0;
}

/* The same for one thread of pid. */
static int ns_link_tid(pid_t pid, pid_t tid, const char *file,
		       char buf[NS_LINK_LEN])
{
	char path[80];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/ns/%s", pid, tid, file);
	n = readlink(path, buf, NS_LINK_LEN - 1);
	if (n < 0)
		return -errno;
	buf[n] = 0;
	return 0;
}

/* Like ns_link, the failure said once, naming pid. */
static int ns_link_of(pid_t pid, const char *file, char buf[NS_LINK_LEN])
{
	int ret = ns_link(pid, file, buf);

	if (ret) {
		errno = -ret;
		pr_perror("readlink /proc/%d/ns/%s", pid, file);
	}
	return ret;
}

static uint64_t ns_ino(const char *link)
{
	const char *p = strchr(link, '[');

	return p ? strtoull(p + 1, NULL, 10) : 0;
}

/* ---- a helper process inside a namespace of the target ---- */

/*
 * Runs fn in a child of ours that has entered pid's namespace (ns file,
 * CLONE_NEW* type) and collects what it writes, up to len - 1 bytes, into
 * buf (NUL-terminated). The child only reads: the target is not touched.
 * Returns the bytes read, or -1 when the child could not enter or failed.
 */
static ssize_t run_in_ns(pid_t pid, const char *file, int nstype,
			 int (*fn)(int out), char *buf, size_t len)
{
	char path[64];
	size_t got = 0;
	int nsfd, p[2], status;
	pid_t child;

	snprintf(path, sizeof(path), "/proc/%d/ns/%s", pid, file);
	nsfd = open(path, O_RDONLY | O_CLOEXEC);
	if (nsfd < 0) {
		pr_perror("open %s", path);
		return -1;
	}
	if (pipe2(p, O_CLOEXEC)) {
		close(nsfd);
		return -1;
	}
	child = fork();
	if (child == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(p[0]);
		if (setns(nsfd, nstype)) {
			dprintf(p[1], "setns: %s", strerror(errno));
			_exit(1);
		}
		_exit(fn(p[1]) ? 1 : 0);
	}
	close(nsfd);
	close(p[1]);
	while (child > 0 && got < len - 1) {
		ssize_t n = read(p[0], buf + got, len - 1 - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += n;
	}
	buf[got] = 0;
	close(p[0]);
	if (child < 0) {
		pr_perror("fork a helper for %s", path);
		return -1;
	}
	if (waitpid(child, &status, 0) != child || !WIFEXITED(status) ||
	    WEXITSTATUS(status)) {
		pr_err("helper in %s failed: %s", path, buf);
		return -1;
	}
	return got;
}

/* ---- IPC: a new namespace must be empty ---- */

/* One line per SysV object of the caller's IPC namespace. */
static void list_sysv(int out)
{
	static const struct {
		const char *file, *what;
	} kinds[] = {
		{ "/proc/sysvipc/shm", "SysV shared memory segment" },
		{ "/proc/sysvipc/msg", "SysV message queue" },
		{ "/proc/sysvipc/sem", "SysV semaphore set" },
	};

	for (size_t k = 0; k < ARRAY_LEN(kinds); k++) {
		FILE *f = fopen(kinds[k].file, "re");
		char line[512];
		int key, id;

		if (!f)
			continue;
		while (fgets(line, sizeof(line), f))
			if (sscanf(line, "%d %d", &key, &id) == 2)
				dprintf(out, "%s key %#x id %d\n", kinds[k].what,
					(unsigned)key, id);
		fclose(f);
	}
}

/* One line per POSIX message queue of the caller's IPC namespace: an
 * mqueue filesystem made now belongs to it (its queues are the files),
 * mounted nowhere. */
static int list_mqueues(int out)
{
	char buf[4096];
	int fs, mnt, dir;
	long n;

	fs = syscall(__NR_fsopen, "mqueue", FSOPEN_CLOEXEC);
	if (fs < 0 || syscall(__NR_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL,
			      NULL, 0)) {
		dprintf(out, "mqueue filesystem: %s", strerror(errno));
		return -1;
	}
	mnt = syscall(__NR_fsmount, fs, FSMOUNT_CLOEXEC, 0);
	dir = mnt < 0 ? -1 : openat(mnt, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0) {
		dprintf(out, "mqueue filesystem: %s", strerror(errno));
		return -1;
	}
	while ((n = syscall(__NR_getdents64, dir, buf, sizeof(buf))) > 0) {
		for (long off = 0; off < n;) {
			struct {
				uint64_t ino;
				int64_t off;
				unsigned short reclen;
				unsigned char type;
				char name[];
			} *de = (void *)(buf + off);

			if (de->name[0] != '.')
				dprintf(out, "POSIX message queue /%s\n", de->name);
			off += de->reclen;
		}
	}
	return n < 0 ? -1 : 0;
}

static int list_ipc_objects(int out)
{
	list_sysv(out);
	return list_mqueues(out);
}

/* pid is in link, an IPC namespace that is not criu-lite's: each object
 * in it would be lost in the empty one restore makes. */
static int check_ipc_empty(pid_t pid, const char *link, struct refusals *rf)
{
	char text[4096];
	char *line, *save = NULL;

	if (run_in_ns(pid, "ipc", CLONE_NEWIPC, list_ipc_objects, text,
		      sizeof(text)) < 0)
		return -1;
	for (line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save))
		refuse(rf, "pid %d is in another IPC namespace (%s) than "
		       "criu-lite, holding %s: a restored IPC namespace is "
		       "empty; not supported yet", pid, link, line);
	return 0;
}

/* ---- dump: the checks ---- */

static int check_kept(pid_t pid, struct refusals *rf)
{
	char mine[NS_LINK_LEN], ours[NS_LINK_LEN];

	for (size_t k = 0; k < ARRAY_LEN(kept_kinds); k++) {
		if (ns_link(0, kept_kinds[k].file, ours))
			continue;	/* a kernel without that kind */
		if (ns_link_of(pid, kept_kinds[k].file, mine))
			return -1;
		if (strcmp(mine, ours))
			refuse(rf, "pid %d is in another %s namespace (%s) than "
			       "criu-lite (%s); not supported yet", pid,
			       kept_kinds[k].what, mine, ours);
	}
	return 0;
}

/*
 * The whole tree in the root's PID namespace (the root may be in another
 * one than criu-lite: ids are recorded as the tree sees them), and no
 * process with a PID or time namespace pending for its children
 * (unshare() without a fork yet): its next child would be born elsewhere.
 * pid_for_children reads ENOENT while that PID namespace has no init.
 */
static int check_pid_time(const struct frozen_tree *t, size_t i,
			  struct refusals *rf)
{
	pid_t pid = t->procs[i].pid;
	char mine[NS_LINK_LEN], root[NS_LINK_LEN], kids[NS_LINK_LEN];
	int ret;

	if (ns_link_of(pid, "pid", mine) ||
	    ns_link_of(t->procs[0].pid, "pid", root))
		return -1;
	if (strcmp(mine, root))
		refuse(rf, "pid %d: in another PID namespace (%s) than the "
		       "tree's root %d (%s): nested namespaces not supported",
		       pid, mine, t->procs[0].pid, root);
	ret = ns_link(pid, "pid_for_children", kids);
	if (ret == -ENOENT || (!ret && strcmp(mine, kids)))
		refuse(rf, "pid %d has unshared a PID namespace for its "
		       "children (%s); not supported yet", pid,
		       ret ? "none of them born yet" : kids);
	if (!ns_link(pid, "time", mine) &&
	    !ns_link(pid, "time_for_children", kids) && strcmp(mine, kids))
		refuse(rf, "pid %d has unshared a time namespace for its "
		       "children (%s); not supported yet", pid, kids);
	return 0;
}

/* The tree's first process (before i) in the namespace link, or 0. */
static pid_t first_in(const struct frozen_tree *t, size_t i, const char *file,
		      const char *link)
{
	char other[NS_LINK_LEN];

	for (size_t j = 0; j < i; j++)
		if (!t->procs[j].zombie && !ns_link(t->procs[j].pid, file, other) &&
		    !strcmp(other, link))
			return t->procs[j].pid;
	return 0;
}

/*
 * A UTS or IPC namespace restore can make: process i is in its parent's
 * (the root: in criu-lite's), or in one of its own that no process before
 * it in the tree (parents come first) is in. Not: back in criu-lite's
 * under a parent that is not, nor one shared with a process that is not
 * its ancestor through that namespace.
 */
static int check_rebuilt(const struct frozen_tree *t, size_t i, size_t k,
			 struct refusals *rf)
{
	const char *file = rebuilt_kinds[k].file, *what = rebuilt_kinds[k].what;
	const struct frozen_proc *p = &t->procs[i];
	char mine[NS_LINK_LEN], parent[NS_LINK_LEN], ours[NS_LINK_LEN];
	pid_t other;

	if (ns_link_of(p->pid, file, mine) || ns_link_of(0, file, ours) ||
	    (i && ns_link_of(p->ppid, file, parent)))
		return -1;
	if (!strcmp(mine, i ? parent : ours))
		return 0;
	if (!strcmp(mine, ours)) {
		refuse(rf, "pid %d is in criu-lite's %s namespace (%s) but its "
		       "parent %d is in %s; not supported yet", p->pid, what,
		       mine, p->ppid, parent);
		return 0;
	}
	other = first_in(t, i, file, mine);
	if (other) {
		refuse(rf, "pid %d shares its %s namespace (%s) with pid %d but "
		       "not with its parent %d; not supported yet", p->pid,
		       what, mine, other, p->ppid);
		return 0;
	}
	if (rebuilt_kinds[k].nstype == CLONE_NEWIPC)
		return check_ipc_empty(p->pid, mine, rf);
	return 0;
}

/*
 * Namespaces are a thread's (unshare() in one thread moves only it):
 * restore makes every thread in its process' (the leader's).
 */
static void check_threads(const struct frozen_proc *p, struct refusals *rf)
{
	static const char *const all[] = { "net", "mnt", "user", "cgroup",
					   "time", "uts", "ipc", "pid" };
	char leader[NS_LINK_LEN], mine[NS_LINK_LEN];

	for (size_t k = 0; k < ARRAY_LEN(all); k++) {
		if (ns_link(p->pid, all[k], leader))
			continue;
		for (size_t t = 1; t < p->nr_threads; t++)
			if (!ns_link_tid(p->pid, p->tids[t], all[k], mine) &&
			    strcmp(mine, leader))
				refuse(rf, "thread %d of pid %d is in another %s "
				       "namespace (%s) than its process (%s); "
				       "not supported yet", p->tids[t], p->pid,
				       all[k], mine, leader);
	}
}

int ns_check_tree(const struct frozen_tree *t, struct refusals *rf)
{
	for (size_t i = 0; i < t->nr; i++) {
		if (t->procs[i].zombie)
			continue;	/* no namespaces left; restored as a zombie */
		check_threads(&t->procs[i], rf);
		if (check_kept(t->procs[i].pid, rf) || check_pid_time(t, i, rf))
			return -1;
		for (size_t k = 0; k < ARRAY_LEN(rebuilt_kinds); k++)
			if (check_rebuilt(t, i, k, rf))
				return -1;
	}
	return 0;
}

/* ---- dump: the record ---- */

/* nodename, NUL, domainname, NUL of the caller's UTS namespace. */
static int write_uname(int out)
{
	struct utsname u;

	if (uname(&u))
		return -1;
	return dprintf(out, "%s%c%s%c", u.nodename, 0, u.domainname, 0) < 0;
}

static int dump_uts_names(pid_t pid, NsEntry *ns)
{
	char buf[2 * UTS_LEN + 4];
	ssize_t n = run_in_ns(pid, "uts", CLONE_NEWUTS, write_uname, buf,
			      sizeof(buf));
	size_t hlen;

	if (n < 0)
		return -1;
	hlen = strnlen(buf, n);
	if (hlen + 1 >= (size_t)n) {
		pr_err("pid %d: hostname of its UTS namespace unreadable", pid);
		return -1;
	}
	ns->hostname = strdup(buf);
	ns->domainname = strdup(buf + hlen + 1);
	return ns->hostname && ns->domainname ? 0 : -1;
}

int dump_ns(pid_t pid, pid_t ppid, TaskEntry *te)
{
	char mine[NS_LINK_LEN], parent[NS_LINK_LEN];
	NsEntry *ns = malloc(sizeof(*ns));

	if (!ns)
		return -1;
	ns_entry__init(ns);
	te->ns = ns;
	if (ns_link_of(pid, "uts", mine) || ns_link_of(ppid, "uts", parent))
		return -1;
	ns->has_uts_id = ns->has_new_uts = true;
	ns->uts_id = ns_ino(mine);
	ns->new_uts = strcmp(mine, parent) != 0;
	if (ns->new_uts && dump_uts_names(pid, ns))
		return -1;
	if (ns_link_of(pid, "ipc", mine) || ns_link_of(ppid, "ipc", parent))
		return -1;
	ns->has_ipc_id = ns->has_new_ipc = true;
	ns->ipc_id = ns_ino(mine);
	ns->new_ipc = strcmp(mine, parent) != 0;
	return 0;
}

void free_ns(TaskEntry *te)
{
	if (!te->ns)
		return;
	free(te->ns->hostname);
	free(te->ns->domainname);
	free(te->ns);
	te->ns = NULL;
}

/* ---- restore ---- */

int check_ns_entry(const TaskEntry *te)
{
	const NsEntry *ns = te->ns;

	if (!ns || !ns->new_uts)
		return 0;
	if (!ns->hostname || !ns->domainname ||
	    strlen(ns->hostname) > UTS_LEN || strlen(ns->domainname) > UTS_LEN) {
		pr_err("task-%u.img: a new UTS namespace without a valid "
		       "hostname and domainname", te->pid);
		return -1;
	}
	return 0;
}

int restore_ns(const TaskEntry *te)
{
	const NsEntry *ns = te->ns;
	int flags = 0;

	if (!ns)
		return 0;
	if (ns->new_uts)
		flags |= CLONE_NEWUTS;
	if (ns->new_ipc)
		flags |= CLONE_NEWIPC;
	if (!flags)
		return 0;
	if (unshare(flags)) {
		pr_perror("restore %u: unshare(%s%s)", te->pid,
			  ns->new_uts ? "UTS " : "", ns->new_ipc ? "IPC" : "");
		return -1;
	}
	if (ns->new_uts &&
	    (sethostname(ns->hostname, strlen(ns->hostname)) ||
	     setdomainname(ns->domainname, strlen(ns->domainname)))) {
		pr_perror("restore %u: hostname %s", te->pid, ns->hostname);
		return -1;
	}
	return 0;
}
