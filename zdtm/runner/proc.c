// SPDX-License-Identifier: GPL-2.0
/*
 * /proc readers for the runner.  This kernel has no CONFIG_PROC_CHILDREN,
 * so children are found by scanning every /proc/PID/stat for the parent.
 */
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proc.h"

static ssize_t read_text(const char *path, char *buf, size_t size)
{
	ssize_t len = 0, n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	while ((size_t)len + 1 < size &&
	       (n = read(fd, buf + len, size - 1 - len)) > 0)
		len += n;
	close(fd);
	buf[len] = '\0';
	return len;
}

static const char *field(const char *text, const char *name)
{
	size_t len = strlen(name);
	const char *p = text;

	while (p && *p) {
		if (!strncmp(p, name, len) && p[len] == ':')
			return p + len + 1;
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return NULL;
}

int proc_status(pid_t pid, struct proc_status *st)
{
	char path[64], buf[4096];
	const char *p;
	char *end;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	if (read_text(path, buf, sizeof(buf)) <= 0)
		return -1;
	memset(st, 0, sizeof(*st));
	p = field(buf, "State");
	if (p) {
		while (isspace((unsigned char)*p))
			p++;
		st->state = *p;
	}
	p = field(buf, "PPid");
	if (p)
		st->ppid = strtol(p, NULL, 10);
	p = field(buf, "TracerPid");
	if (p)
		st->tracer = strtol(p, NULL, 10);
	p = field(buf, "NSpid");
	while (p && *p && *p != '\n') {
		long v = strtol(p, &end, 10);

		if (end == p)
			break;
		st->nspid_inner = v;
		st->nspid_levels++;
		p = end;
	}
	return 0;
}

bool proc_alive(pid_t pid)
{
	struct proc_status st;

	return !proc_status(pid, &st) && st.state != 'Z' && st.state != 'X';
}

struct proc_stat {
	pid_t ppid, pgid, sid;
	char comm[32];
	unsigned long long utime, stime;
};

/* Parses /proc/PID/stat; comm may hold spaces and ')', so split at the last ')'. */
static int read_stat(pid_t pid, struct proc_stat *ps)
{
	char path[64], buf[1024], *open, *close_paren;
	int n;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (read_text(path, buf, sizeof(buf)) <= 0)
		return -1;
	open = strchr(buf, '(');
	close_paren = strrchr(buf, ')');
	if (!open || !close_paren || close_paren < open)
		return -1;
	n = close_paren - open - 1;
	if (n >= (int)sizeof(ps->comm))
		n = sizeof(ps->comm) - 1;
	memcpy(ps->comm, open + 1, n);
	ps->comm[n] = '\0';
	/* state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime */
	if (sscanf(close_paren + 2, "%*c %d %d %d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
		   &ps->ppid, &ps->pgid, &ps->sid, &ps->utime, &ps->stime) != 5)
		return -1;
	return 0;
}

unsigned long long proc_cpu_ticks(pid_t pid)
{
	struct proc_stat ps;

	if (read_stat(pid, &ps))
		return 0;
	return ps.utime + ps.stime;
}

static int cmp_pid(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;

	return (x > y) - (x < y);
}

static void read_threads(struct proc_node *node)
{
	char path[64];
	struct dirent *de;
	DIR *d;

	node->nr_threads = 0;
	snprintf(path, sizeof(path), "/proc/%d/task", node->pid);
	d = opendir(path);
	if (!d)
		return;
	while ((de = readdir(d)) && node->nr_threads < PROC_THREADS_MAX)
		if (isdigit((unsigned char)de->d_name[0]))
			node->tids[node->nr_threads++] = atoi(de->d_name);
	closedir(d);
	qsort(node->tids, node->nr_threads, sizeof(pid_t), cmp_pid);
}

/* Calls @fn for every process whose parent is @parent. */
static int for_each_child(pid_t parent, int (*fn)(pid_t pid, void *arg),
			  void *arg)
{
	struct proc_stat ps;
	struct dirent *de;
	DIR *d = opendir("/proc");
	int ret = 0;

	if (!d)
		return -1;
	while (!ret && (de = readdir(d))) {
		pid_t pid;

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		pid = atoi(de->d_name);
		if (!read_stat(pid, &ps) && ps.ppid == parent)
			ret = fn(pid, arg);
	}
	closedir(d);
	return ret;
}

static int add_node(pid_t pid, void *arg)
{
	struct proc_tree *tree = arg;
	struct proc_node *node;
	struct proc_stat ps;

	if (tree->nr >= PROC_TREE_MAX)
		return -1;
	if (read_stat(pid, &ps))
		return 0;	/* it just went away */
	node = &tree->nodes[tree->nr++];
	node->pid = pid;
	node->ppid = ps.ppid;
	node->pgid = ps.pgid;
	node->sid = ps.sid;
	memcpy(node->comm, ps.comm, sizeof(node->comm));
	read_threads(node);
	return 0;
}

int proc_tree_snapshot(pid_t root, struct proc_tree *tree)
{
	int i;

	tree->nr = 0;
	if (add_node(root, tree) || !tree->nr)
		return -1;
	/* Breadth first: nodes[] grows while we walk it. */
	for (i = 0; i < tree->nr; i++)
		if (for_each_child(tree->nodes[i].pid, add_node, tree))
			return -1;
	return 0;
}

static const struct proc_node *find_node(const struct proc_tree *tree, pid_t pid)
{
	int i;

	for (i = 0; i < tree->nr; i++)
		if (tree->nodes[i].pid == pid)
			return &tree->nodes[i];
	return NULL;
}

static bool node_equal(const struct proc_node *a, const struct proc_node *b,
		       char *why, size_t len)
{
	if (a->ppid != b->ppid || a->pgid != b->pgid || a->sid != b->sid) {
		snprintf(why, len, "pid %d: ppid/pgid/sid %d/%d/%d, was %d/%d/%d",
			 a->pid, b->ppid, b->pgid, b->sid, a->ppid, a->pgid, a->sid);
		return false;
	}
	if (strcmp(a->comm, b->comm)) {
		snprintf(why, len, "pid %d: comm \"%s\", was \"%s\"", a->pid,
			 b->comm, a->comm);
		return false;
	}
	if (a->nr_threads != b->nr_threads ||
	    memcmp(a->tids, b->tids, a->nr_threads * sizeof(pid_t))) {
		snprintf(why, len, "pid %d: %d threads (first tid %d), was %d (first tid %d)",
			 a->pid, b->nr_threads, b->nr_threads ? b->tids[0] : 0,
			 a->nr_threads, a->nr_threads ? a->tids[0] : 0);
		return false;
	}
	return true;
}

bool proc_tree_equal(const struct proc_tree *was, const struct proc_tree *now,
		     char *why, size_t len)
{
	const struct proc_node *n;
	int i;

	for (i = 0; i < was->nr; i++) {
		n = find_node(now, was->nodes[i].pid);
		if (!n) {
			snprintf(why, len, "pid %d (%s) is missing", was->nodes[i].pid,
				 was->nodes[i].comm);
			return false;
		}
		if (!node_equal(&was->nodes[i], n, why, len))
			return false;
	}
	for (i = 0; i < now->nr; i++) {
		if (!find_node(was, now->nodes[i].pid)) {
			snprintf(why, len, "unexpected process %d (%s)",
				 now->nodes[i].pid, now->nodes[i].comm);
			return false;
		}
	}
	return true;
}

struct pid_list {
	pid_t *pids;
	int nr, max;
};

static int collect(pid_t pid, void *arg)
{
	struct pid_list *l = arg;

	if (l->nr < l->max)
		l->pids[l->nr++] = pid;
	return 0;
}

int proc_children(pid_t parent, pid_t *pids, int max)
{
	struct pid_list l = { .pids = pids, .max = max };

	for_each_child(parent, collect, &l);
	return l.nr;
}

struct nspid_search {
	pid_t inner;
	pid_t found;
};

static int match_nspid(pid_t pid, void *arg)
{
	struct nspid_search *s = arg;
	struct proc_status st;

	if (!proc_status(pid, &st) && st.nspid_levels > 1 &&
	    st.nspid_inner == s->inner) {
		s->found = pid;
		return 1;
	}
	return for_each_child(pid, match_nspid, arg);
}

pid_t proc_find_nspid(pid_t ancestor, pid_t inner)
{
	struct nspid_search s = { .inner = inner };

	for_each_child(ancestor, match_nspid, &s);
	return s.found;
}
