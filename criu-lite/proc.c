// SPDX-License-Identifier: GPL-2.0
#include <dirent.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/mman.h>
#include <unistd.h>

#include "log.h"
#include "proc.h"
#include "util.h"

char *proc_read_file(const char *fmt, ...)
{
	char path[PATH_MAX];
	size_t len = 0, cap = 8192;
	char *buf;
	va_list ap;
	int fd;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	buf = malloc(cap);
	while (buf) {
		ssize_t n = read(fd, buf + len, cap - len - 1);

		if (n < 0) {
			free(buf);
			buf = NULL;
			break;
		}
		if (n == 0) {
			buf[len] = 0;
			break;
		}
		len += n;
		if (cap - len < 4096) {
			char *nb = realloc(buf, cap *= 2);

			if (!nb)
				free(buf);
			buf = nb;
		}
	}
	close(fd);
	return buf;
}

/* The interned paths: an open-addressing set, doubled at half full. */
static struct {
	pthread_mutex_t lock;
	char **slot;
	size_t nslot, nr;
} paths = { .lock = PTHREAD_MUTEX_INITIALIZER };

static size_t path_hash(const char *s, size_t len)
{
	uint64_t h = 14695981039346656037ULL;	/* FNV-1a */

	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
	return h;
}

static char **path_slot(char **slot, size_t nslot, const char *s, size_t len)
{
	for (size_t i = path_hash(s, len);; i++) {
		char **e = &slot[i & (nslot - 1)];

		if (!*e || (!strncmp(*e, s, len) && !(*e)[len]))
			return e;
	}
}

const char *proc_intern_path(const char *path, size_t len)
{
	const char *ret = NULL;
	char **e;

	if (!len)
		return "";
	pthread_mutex_lock(&paths.lock);
	if (2 * (paths.nr + 1) > paths.nslot) {
		size_t n = paths.nslot ? 2 * paths.nslot : 256;
		char **slot = calloc(n, sizeof(*slot));

		if (!slot)
			goto out;
		for (size_t i = 0; i < paths.nslot; i++)
			if (paths.slot[i])
				*path_slot(slot, n, paths.slot[i],
					   strlen(paths.slot[i])) = paths.slot[i];
		free(paths.slot);
		paths.slot = slot;
		paths.nslot = n;
	}
	e = path_slot(paths.slot, paths.nslot, path, len);
	if (!*e) {
		*e = strndup(path, len);
		if (*e)
			paths.nr++;
	}
	ret = *e;
out:
	pthread_mutex_unlock(&paths.lock);
	return ret;
}

int proc_parse_maps_line(const char *line, struct vma_info *v)
{
	char perms[8];
	unsigned long long start, end, pgoff, ino;
	unsigned maj, min;
	int n = 0;
	size_t plen;
	const char *p;

	memset(v, 0, sizeof(*v));
	if (sscanf(line, "%llx-%llx %7s %llx %x:%x %llu%n", &start, &end, perms,
		   &pgoff, &maj, &min, &ino, &n) != 7)
		return -1;
	v->start = start;
	v->end = end;
	v->pgoff = pgoff;
	v->dev_major = maj;
	v->dev_minor = min;
	v->ino = ino;
	if (perms[0] == 'r')
		v->prot |= PROT_READ;
	if (perms[1] == 'w')
		v->prot |= PROT_WRITE;
	if (perms[2] == 'x')
		v->prot |= PROT_EXEC;
	v->shared = perms[3] == 's';
	p = line + n;
	while (*p == ' ' || *p == '\t')
		p++;
	plen = strcspn(p, "\n");
	if (plen >= PATH_MAX)
		return -1;
	if (plen > 10 && !strncmp(p + plen - 10, " (deleted)", 10)) {
		v->deleted = true;
		plen -= 10;
	}
	v->path = proc_intern_path(p, plen);
	return v->path ? 0 : -1;
}

uint32_t proc_parse_vmflags(const char *list)
{
	static const struct { char name[3]; uint32_t bit; } map[] = {
		{ "gd", VMF_GROWSDOWN }, { "dc", VMF_DONTFORK },
		{ "hg", VMF_HUGEPAGE }, { "nh", VMF_NOHUGEPAGE },
		{ "wf", VMF_WIPEONFORK }, { "dd", VMF_DONTDUMP },
		{ "mg", VMF_MERGEABLE }, { "io", VMF_IO },
		{ "pf", VMF_PFNMAP }, { "um", VMF_UFFD_MISSING },
		{ "uw", VMF_UFFD_WP }, { "lo", VMF_LOCKED },
		{ "sr", VMF_SEQREAD }, { "rr", VMF_RANDREAD },
		{ "mw", VMF_MAYWRITE }, { "dp", VMF_DROPPABLE },
		{ "lf", VMF_LOCKONFAULT },
	};
	uint32_t flags = 0;
	const char *p = list;

	while (*p && *p != '\n') {
		while (*p == ' ')
			p++;
		if (p[0] && p[1] && (p[2] == ' ' || p[2] == '\n' || !p[2])) {
			for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
				if (p[0] == map[i].name[0] && p[1] == map[i].name[1])
					flags |= map[i].bit;
		}
		while (*p && *p != ' ' && *p != '\n')
			p++;
	}
	return flags;
}

int proc_parse_smaps(const char *text, struct vma_info **out, size_t *nr)
{
	struct vma_info *v = NULL, tmp;
	size_t n = 0, cap = 0;
	const char *line = text;

	while (line && *line) {
		const char *next = strchr(line, '\n');
		size_t len = next ? (size_t)(next - line) : strlen(line);
		char one[PATH_MAX + 256];

		/* one line at a time, NUL-terminated: sscanf on the rest of
		 * the text measures all of it each time (quadratic in VMAs) */
		if (len >= sizeof(one))
			len = sizeof(one) - 1;
		memcpy(one, line, len);
		one[len] = 0;
		if (!strncmp(one, "VmFlags:", 8)) {
			if (n)
				v[n - 1].vmflags = proc_parse_vmflags(one + 8);
		} else if (isxdigit((unsigned char)one[0]) &&
			   !isupper((unsigned char)one[0]) &&
			   proc_parse_maps_line(one, &tmp) == 0) {
			if (n == cap) {
				struct vma_info *nv;

				cap = cap ? cap * 2 : 256;
				nv = realloc(v, cap * sizeof(*v));
				if (!nv) {
					free(v);
					return -1;
				}
				v = nv;
			}
			v[n++] = tmp;
		}
		line = next ? next + 1 : NULL;
	}
	*out = v;
	*nr = n;
	return 0;
}

static int read_vma_list(pid_t pid, const char *file, struct vma_info **out,
			 size_t *nr)
{
	char *text = proc_read_file("/proc/%d/%s", pid, file);
	int ret;

	if (!text) {
		pr_perror("read /proc/%d/%s", pid, file);
		return -1;
	}
	ret = proc_parse_smaps(text, out, nr);
	free(text);
	return ret;
}

int proc_read_vmas(pid_t pid, struct vma_info **out, size_t *nr)
{
	return read_vma_list(pid, "smaps", out, nr);
}

int proc_read_maps(pid_t pid, struct vma_info **out, size_t *nr)
{
	return read_vma_list(pid, "maps", out, nr);
}

int proc_parse_stat(const char *text, struct proc_stat *st)
{
	const char *lp = strchr(text, '('), *rp = strrchr(text, ')');
	unsigned long long f[64];
	const char *p;
	int i;

	memset(st, 0, sizeof(*st));
	if (!lp || !rp || rp < lp)
		return -1;
	st->pid = atoi(text);
	snprintf(st->comm, sizeof(st->comm), "%.*s", (int)(rp - lp - 1), lp + 1);
	p = rp + 2;
	st->state = *p;
	p += 1;
	/* fields 4.. of proc(5), f[4] = ppid */
	for (i = 4; i < 64; i++) {
		char *end;

		while (*p == ' ')
			p++;
		if (!*p || *p == '\n')
			break;
		f[i] = strtoull(p, &end, 10);
		if (*p == '-')
			f[i] = (unsigned long long)strtoll(p, &end, 10);
		p = end;
	}
	if (i <= 51)
		return -1;
	st->ppid = f[4];
	st->pgrp = f[5];
	st->session = f[6];
	st->start_code = f[26];
	st->end_code = f[27];
	st->start_stack = f[28];
	st->flags = f[9];
	st->start_time = f[22];
	st->minflt = f[10];
	st->majflt = f[12];
	st->exit_signal = f[38];
	st->exit_code = i > 52 ? (int)f[52] : 0;
	st->start_data = f[45];
	st->end_data = f[46];
	st->start_brk = f[47];
	st->arg_start = f[48];
	st->arg_end = f[49];
	st->env_start = f[50];
	st->env_end = f[51];
	return 0;
}

int proc_read_stat(pid_t pid, pid_t tid, struct proc_stat *st)
{
	char *text = proc_read_file("/proc/%d/task/%d/stat", pid, tid);
	int ret;

	if (!text)
		return -1;
	ret = proc_parse_stat(text, st);
	free(text);
	return ret;
}

static const char *field(const char *text, const char *name)
{
	size_t len = strlen(name);
	const char *p = text;

	while (p) {
		if (!strncmp(p, name, len) && p[len] == ':')
			return p + len + 1;
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return NULL;
}

int proc_parse_status(const char *text, struct proc_status *st)
{
	const char *p;

	memset(st, 0, sizeof(*st));
	p = field(text, "State");
	if (!p)
		return -1;
	while (*p == ' ' || *p == '\t')
		p++;
	st->state = *p;
	if ((p = field(text, "TracerPid")))
		st->tracer = atoi(p);
	if ((p = field(text, "Umask")))
		st->umask = strtoul(p, NULL, 8);
	if ((p = field(text, "SigPnd")))
		st->sig_pending = strtoull(p, NULL, 16);
	if ((p = field(text, "ShdPnd")))
		st->shd_pending = strtoull(p, NULL, 16);
	if ((p = field(text, "SigBlk")))
		st->sig_blocked = strtoull(p, NULL, 16);
	if ((p = field(text, "SigIgn")))
		st->sig_ignored = strtoull(p, NULL, 16);
	if ((p = field(text, "SigCgt")))
		st->sig_caught = strtoull(p, NULL, 16);
	if ((p = field(text, "CapInh")))
		st->cap_inh = strtoull(p, NULL, 16);
	if ((p = field(text, "CapPrm")))
		st->cap_prm = strtoull(p, NULL, 16);
	if ((p = field(text, "CapEff")))
		st->cap_eff = strtoull(p, NULL, 16);
	if ((p = field(text, "CapBnd")))
		st->cap_bnd = strtoull(p, NULL, 16);
	if ((p = field(text, "CapAmb")))
		st->cap_amb = strtoull(p, NULL, 16);
	if ((p = field(text, "NoNewPrivs")))
		st->no_new_privs = atoi(p);
	if ((p = field(text, "Seccomp")))
		st->seccomp = atoi(p);
	if ((p = field(text, "Threads")))
		st->threads = atoi(p);
	if ((p = field(text, "Uid")))
		sscanf(p, "%u %u %u %u", &st->uid[0], &st->uid[1], &st->uid[2],
		       &st->uid[3]);
	if ((p = field(text, "Gid")))
		sscanf(p, "%u %u %u %u", &st->gid[0], &st->gid[1], &st->gid[2],
		       &st->gid[3]);
	return 0;
}

int proc_read_status(pid_t pid, struct proc_status *st)
{
	char *text = proc_read_file("/proc/%d/status", pid);
	int ret;

	if (!text)
		return -1;
	ret = proc_parse_status(text, st);
	free(text);
	return ret;
}

static uint64_t timespec_field_ns(const char *p)
{
	unsigned long long s = 0, ns = 0;

	/* "(sec, nsec)" */
	if (sscanf(p, " (%llu, %llu)", &s, &ns) != 2)
		return 0;
	return s * 1000000000ULL + ns;
}

int proc_parse_fdinfo(const char *text, struct proc_fdinfo *fi)
{
	const char *p;

	memset(fi, 0, sizeof(*fi));
	if (!(p = field(text, "pos")))
		return -1;
	fi->pos = strtoull(p, NULL, 10);
	if ((p = field(text, "flags")))
		fi->flags = strtoul(p, NULL, 8);
	if ((p = field(text, "ino")))
		fi->ino = strtoull(p, NULL, 10);
	if ((p = field(text, "eventfd-count"))) {
		fi->has_eventfd = true;
		fi->eventfd_count = strtoull(p, NULL, 16);
		p = field(text, "eventfd-semaphore");
		fi->eventfd_semaphore = p && atoi(p);
	}
	if ((p = field(text, "sigmask"))) {
		fi->has_sigmask = true;
		fi->sigmask = strtoull(p, NULL, 16);
	}
	if ((p = field(text, "clockid"))) {
		fi->has_timerfd = true;
		fi->clockid = atoi(p);
		if ((p = field(text, "ticks")))
			fi->ticks = strtoull(p, NULL, 10);
		if ((p = field(text, "it_value")))
			fi->it_value_ns = timespec_field_ns(p);
		if ((p = field(text, "it_interval")))
			fi->it_interval_ns = timespec_field_ns(p);
	}
	for (p = text; (p = strstr(p, "tfd:")); p++) {
		unsigned tfd, ev;
		unsigned long long data;

		if (sscanf(p, "tfd: %u events: %x data: %llx", &tfd, &ev,
			   &data) != 3)
			continue;
		if (fi->nr_tfds == fi->cap_tfds) {
			void *nt = realloc(fi->tfds, (fi->cap_tfds = fi->cap_tfds ?
					   fi->cap_tfds * 2 : 16) * sizeof(*fi->tfds));

			if (!nt)
				return -1;
			fi->tfds = nt;
		}
		fi->tfds[fi->nr_tfds].tfd = tfd;
		fi->tfds[fi->nr_tfds].events = ev;
		fi->tfds[fi->nr_tfds].data = data;
		fi->nr_tfds++;
	}
	return 0;
}

void proc_fdinfo_free(struct proc_fdinfo *fi)
{
	free(fi->tfds);
	fi->tfds = NULL;
	fi->nr_tfds = fi->cap_tfds = 0;
}

int proc_read_fdinfo(pid_t pid, int fd, struct proc_fdinfo *fi)
{
	char *text = proc_read_file("/proc/%d/fdinfo/%d", pid, fd);
	int ret;

	if (!text) {
		pr_perror("read /proc/%d/fdinfo/%d", pid, fd);
		return -1;
	}
	ret = proc_parse_fdinfo(text, fi);
	if (ret)
		pr_err("can't parse /proc/%d/fdinfo/%d", pid, fd);
	free(text);
	return ret;
}

static int cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

/* Numeric entries of a directory, sorted. */
static int list_dir_numbers(const char *path, int **out, size_t *nr)
{
	DIR *d = opendir(path);
	struct dirent *de;
	int *v = NULL;
	size_t n = 0, cap = 0;

	if (!d)
		return -1;
	while ((de = readdir(d))) {
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		if (n == cap) {
			int *nv = realloc(v, (cap = cap ? cap * 2 : 64) * sizeof(*v));

			if (!nv) {
				free(v);
				closedir(d);
				return -1;
			}
			v = nv;
		}
		v[n++] = atoi(de->d_name);
	}
	closedir(d);
	qsort(v, n, sizeof(*v), cmp_int);
	*out = v;
	*nr = n;
	return 0;
}

int proc_list_tids(pid_t pid, pid_t **tids, size_t *nr)
{
	char path[64];
	int ret;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	ret = list_dir_numbers(path, tids, nr);
	if (ret)
		return ret;
	/* leader first */
	for (size_t i = 0; i < *nr; i++) {
		if ((*tids)[i] == pid) {
			(*tids)[i] = (*tids)[0];
			(*tids)[0] = pid;
			break;
		}
	}
	return 0;
}

int proc_list_fds(pid_t pid, int **fds, size_t *nr)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/fd", pid);
	return list_dir_numbers(path, fds, nr);
}

int proc_list_children(pid_t pid, pid_t **kids, size_t *nr)
{
	pid_t *tids, *v = NULL;
	size_t ntids, n = 0, cap = 0;

	if (proc_list_tids(pid, &tids, &ntids))
		return -1;
	for (size_t i = 0; i < ntids; i++) {
		char *text = proc_read_file("/proc/%d/task/%d/children", pid,
					    tids[i]);
		char *p = text, *end;

		while (p && *p) {
			long c = strtol(p, &end, 10);

			if (end == p)
				break;
			if (array_grow(&v, &cap, n, sizeof(*v), 16)) {
				pr_err("out of memory listing the children of %d",
				       pid);
				free(text);
				free(tids);
				free(v);
				return -1;
			}
			v[n++] = c;
			p = end;
		}
		free(text);
	}
	free(tids);
	if (n)
		qsort(v, n, sizeof(*v), cmp_int);
	*kids = v;
	*nr = n;
	return 0;
}

pid_t proc_ns_field(const char *status, const char *name)
{
	size_t len = strlen(name);
	const char *p = status;
	pid_t last = -1;
	char *end;

	/* at the start of a line only */
	while (p && strncmp(p, name, len)) {
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	if (!p)
		return -1;
	p += len;
	for (;;) {
		long v;

		while (*p == ' ' || *p == '\t')
			p++;
		v = strtol(p, &end, 10);
		if (end == p)
			break;
		last = v;
		p = end;
	}
	return last;
}

pid_t proc_ns_tid(pid_t pid, pid_t tid)
{
	char *st = proc_read_file("/proc/%d/task/%d/status", pid, tid);
	pid_t v = st ? proc_ns_field(st, "NSpid:") : -1;

	free(st);
	return v > 0 ? v : tid;
}

#define PF_KTHREAD	0x00200000

/* Names of the capabilities in mask, "cap_a, cap_b". */
static void cap_names(uint64_t mask, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = 0;
	for (int c = 0; c < 64 && n < len; c++) {
		char *name;

		if (!(mask & (1ULL << c)))
			continue;
		name = cap_to_name(c);
		n += snprintf(buf + n, len - n, "%s%s", n ? ", " : "",
			      name ? name : "?");
		cap_free(name);
	}
}

static const char *cap_refusal(pid_t pid, const struct proc_status *ps,
			       char *buf, size_t len)
{
	struct proc_status me;
	char names[256];
	uint64_t missing;

	if (proc_read_status(getpid(), &me))
		return NULL;
	if (!(me.cap_eff & (1ULL << CAP_SYS_PTRACE)) &&
	    (ps->uid[1] != me.uid[1] || ps->cap_prm & ~me.cap_prm)) {
		snprintf(buf, len, "not permitted: criu-lite lacks "
			 "CAP_SYS_PTRACE (PID %d runs as uid %u, criu-lite as "
			 "%u)", pid, ps->uid[1], me.uid[1]);
		return buf;
	}
	missing = ps->cap_prm & ~me.cap_prm;
	if (!missing)
		return NULL;
	cap_names(missing, names, sizeof(names));
	snprintf(buf, len, "not permitted: PID %d holds capabilities "
		 "criu-lite lacks (%s)", pid, names);
	return buf;
}

const char *proc_trace_refusal(pid_t pid, char *buf, size_t len)
{
	struct proc_status ps;
	struct proc_stat st;

	if (!proc_read_stat(pid, pid, &st) && (st.flags & PF_KTHREAD)) {
		snprintf(buf, len, "PID %d (%s) is a kernel thread: it has no "
			 "user space to dump", pid, st.comm);
		return buf;
	}
	if (proc_read_status(pid, &ps)) {
		snprintf(buf, len, "PID %d is gone", pid);
		return buf;
	}
	if (ps.tracer) {
		char *comm = proc_read_file("/proc/%d/comm", ps.tracer);

		if (comm)
			comm[strcspn(comm, "\n")] = 0;
		snprintf(buf, len, "already traced by PID %d (%s: a debugger, "
			 "strace, or another dump?)", ps.tracer,
			 comm ? comm : "?");
		free(comm);
		return buf;
	}
	if (cap_refusal(pid, &ps, buf, len))
		return buf;
	snprintf(buf, len, "not permitted (criu-lite has CAP_SYS_PTRACE and "
		 "every capability PID %d holds: a security module, or another "
		 "user namespace?)", pid);
	return buf;
}
