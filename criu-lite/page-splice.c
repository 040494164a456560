// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "cr.h"
#include "inject.h"
#include "log.h"
#include "page-splice.h"
#include "progress.h"
#include "seize.h"
#include "sigframe.h"

/* The pipe: as large as we may make it; each injected vmsplice fills at
 * most half of it, so that splicing one half overlaps queueing the next.
 * Without CAP_SYS_RESOURCE (a container's root) fs.pipe-max-size holds,
 * 1 MiB by default: 2048 injected calls per GiB. */
#define PIPE_WANT	(64UL << 20)
/*
 * The smallest pipe with which splice is the default (smaller: the copy
 * path; CRIU_LITE_SPLICE_MIN_PIPE=BYTES[K|M] sets another, for tests).
 * Each injected vmsplice is a round trip to a tracee that must be
 * scheduled: 0.08-0.63 ms each on the 2 GiB guest (3575 calls with the 1
 * MiB pipe took 277-2237 ms), while the copy that splice saves
 * (process_vm_readv into criu-lite's buffer) costs 0.23-0.67 s per GiB
 * (its ceiling here: 1.6-4.6 GB/s). With 1 MiB (2048 calls per GiB,
 * 0.16-1.3 s) splice lost: its --no-sync dump 2.61x CRIU's, the copy
 * path's 1.09x (docs/results.md, issue 8, session 8). From 8 MiB (256
 * calls per GiB, 0.02-0.16 s) the round trips cost less than the copy at
 * its fastest.
 */
#define SPLICE_MIN_PIPE	(8UL << 20)
/* The write way (CRIU_LITE_PAGE_PATH=write): bytes of one injected
 * pwritev (its 32 iovecs aside):
 * the checksum thread checks one call's pages while the next is
 * written, the pages it reads still mostly in the last-level cache */
#ifndef WRITE_STEP
#define WRITE_STEP	(32UL << 20)
#endif
/* The splicer moves at most this much per splice() and the checksum
 * thread maps and checks this much at a time: it follows the splicer
 * closely, the pages it reads still in the CPU's last-level cache. */
#define SPLICE_STEP	(4UL << 20)
#define CHECK_CHUNK	(4UL << 20)
/* iovecs of one vmsplice, in the thread's scratch memory */
#define MAX_IOV		(SIGFRAME_SCRATCH / sizeof(struct iovec))

struct page_splice {
	struct remote *r;
	pid_t pid;
	bool by_write;		/* the process pwritevs into the file itself */
	long tfd;		/* the pipe (or the file), in the process */
	int pipe_r, pipe_w;	/* ours */
	size_t cap;		/* of the pipe */
	struct page_xfer *x;
	int fd, rfd;		/* the pages file: written, read back */
	uint8_t *cbuf;		/* the checksum thread's, if it can't mmap */
	uint64_t check_ns;	/* the checksum thread's time */
	unsigned long calls;	/* injected vmsplice or pwritev calls */
	/* the regions of the VMAs added and not yet moved (page_splice_add),
	 * and where each VMA's end in them */
	struct page_region *pend;
	size_t npend, pend_cap, *vma_end, nvma, vma_cap;
	uint64_t pend_bytes;
	/* one batch (page_splice_regions): its pages from base on */
	uint64_t base;
	uint32_t *sums;
	uint8_t *zero;
	/* file offsets, under lock: vmspliced up to queued, in the file up
	 * to spliced, checked up to checked, which stays below limit */
	uint64_t queued, spliced, checked, limit;
	bool stop, failed;
	int err;
	const char *what;	/* of the failure */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t splicer, checker;
	bool splicer_up, checker_up;
};

/* Grows the pipe of fd as far as we may, up to PIPE_WANT (root may pass
 * fs.pipe-max-size: each step down is a half); its size, or -1. */
static long grow_pipe(int fd)
{
	for (unsigned long want = PIPE_WANT; want >= (1UL << 20); want /= 2)
		if (fcntl(fd, F_SETPIPE_SZ, want) >= 0)
			break;
	return fcntl(fd, F_GETPIPE_SZ);
}

static unsigned long splice_min_pipe(void)
{
	const char *e = getenv("CRIU_LITE_SPLICE_MIN_PIPE");
	unsigned long v;
	char *end;

	if (!e || !*e)
		return SPLICE_MIN_PIPE;
	errno = 0;
	v = strtoul(e, &end, 10);
	if (*end == 'K' || *end == 'M')
		v <<= *end++ == 'K' ? 10 : 20;
	if (errno || *end || end == e) {
		pr_warn("CRIU_LITE_SPLICE_MIN_PIPE=%s is not a size (BYTES, "
			"or with K or M): %lu MiB", e, SPLICE_MIN_PIPE >> 20);
		return SPLICE_MIN_PIPE;
	}
	return v;
}

/*
 * Whether splice pays with the pipe criu-lite can have here (probed once,
 * on a pipe of its own grown as the splice path grows its): said at -v2
 * when it does not (the dump then takes the copy path), at -v3 when it
 * does.
 */
static bool splice_pays(void)
{
	static int pays = -1;
	unsigned long min;
	long cap = -1;
	int p[2], err;

	if (pays >= 0)
		return pays;
	if (!pipe2(p, O_CLOEXEC)) {
		cap = grow_pipe(p[0]);
		err = errno;
		close(p[0]);
		close(p[1]);
		errno = err;
	}
	min = splice_min_pipe();
	pays = cap >= (long)(2 * PAGE_SZ) && cap >= (long)min;
	if (cap < (long)(2 * PAGE_SZ))
		pr_info("pages by copy: no pipe for the splice path: %m");
	else if (!pays)
		pr_info("pages by copy: criu-lite's pipe can have %g MiB here "
			"(fs.pipe-max-size, no CAP_SYS_RESOURCE?), splice pays "
			"from %g MiB (%ld injected calls per GiB; "
			"CRIU_LITE_PAGE_PATH=splice forces it)", cap / 1048576.0,
			min / 1048576.0, (2L << 30) / cap);
	else
		pr_debug("pages by splice: criu-lite's pipe can have %g MiB "
			 "here, splice pays from %g MiB", cap / 1048576.0,
			 min / 1048576.0);
	return pays;
}

bool page_splice_wanted(const struct page_xfer *x)
{
	const char *p = getenv("CRIU_LITE_PAGE_PATH");

	if (!page_xfer_can_direct(x) || (p && !strcmp(p, "copy")))
		return false;
	if (p && (!strcmp(p, "splice") || !strcmp(p, "write")))
		return true;
	return splice_pays();
}

/*
 * A memory limit on the process' memory cgroup or an ancestor of it (v1
 * memory.limit_in_bytes, v2 memory.max), as far as criu-lite sees them
 * under /sys/fs/cgroup: the page cache the write way fills is charged to
 * the process (the writer), and could push a cgroup at its limit into
 * reclaim, or worse.
 */
static bool memcg_limited(pid_t pid)
{
	char *cg = proc_read_file("/proc/%d/cgroup", pid), *line, *save = NULL;
	char path[PATH_MAX] = "", *file = NULL;
	bool limited = false;

	for (line = cg ? strtok_r(cg, "\n", &save) : NULL; line;
	     line = strtok_r(NULL, "\n", &save)) {
		char *ctl = strchr(line, ':'), *p = ctl ? strchr(ctl + 1, ':') : NULL;

		if (!p)
			continue;
		*p++ = 0;
		ctl++;
		if (!strcmp(ctl, "memory") || strstr(ctl, "memory,") ||
		    strstr(ctl, ",memory")) {	/* v1: the controller's own */
			snprintf(path, sizeof(path), "/sys/fs/cgroup/memory%s", p);
			file = "memory.limit_in_bytes";
			break;
		}
		if (!*ctl && !file) {		/* v2 */
			snprintf(path, sizeof(path), "/sys/fs/cgroup%s", p);
			file = "memory.max";
		}
	}
	free(cg);
	while (file && !limited) {
		char *v = proc_read_file("%s/%s", path, file), *slash;

		limited = v && strncmp(v, "max", 3) &&
			  strtoull(v, NULL, 10) < (1ULL << 62);
		free(v);
		slash = strrchr(path, '/');
		if (!slash || !strcmp(path, "/sys/fs/cgroup") ||
		    !strcmp(path, "/sys/fs/cgroup/memory"))
			break;
		*slash = 0;
	}
	return limited;
}

/*
 * The write way if CRIU_LITE_PAGE_PATH=write, for a process whose writes
 * no RLIMIT_FSIZE stops (one would get SIGXFSZ: a signal left pending in
 * it) and whose memory cgroup has no limit. Not the default: on the 2 GiB
 * guest of bench-compare its pwritev of the guest RAM took 2.9-27 s
 * (mostly 15-27 s, the target's own CPU time up to 11 s in
 * copy_folio_from_iter_atomic) where the splice way took 1.0-6.2 s and the
 * copy path 0.9-1.2 s, in the same interleaved runs (load 5-9); a plain
 * process writing 1 GiB of its own memory into a fresh file took 47, 11
 * and 0.8 s in a row here: not the injection, this machine's memory.
 */
static bool write_wanted(pid_t pid)
{
	const char *p = getenv("CRIU_LITE_PAGE_PATH");
	char *limits, *l;
	bool ok;

	if (!p || strcmp(p, "write"))
		return false;
	limits = proc_read_file("/proc/%d/limits", pid);
	l = limits ? strstr(limits, "\nMax file size") : NULL;
	ok = l && !strncmp(l + strcspn(l + 1, "u0123456789") + 1, "unlimited", 9);
	if (!ok)
		pr_info("pid %d: its RLIMIT_FSIZE is not unlimited: pages by "
			"splice", pid);
	free(limits);
	if (ok && memcg_limited(pid)) {
		pr_info("pid %d: its memory cgroup has a limit (the pages "
			"file's page cache would be charged to it): pages by "
			"splice", pid);
		ok = false;
	}
	return ok;
}

bool page_splice_can(const struct page_splice *ps, int prot)
{
	return ps && (prot & PROT_READ);
}

static void fail_locked(struct page_splice *ps, const char *what, int err)
{
	if (!ps->failed) {
		ps->failed = true;
		ps->what = what;
		ps->err = err;
	}
	pthread_cond_broadcast(&ps->cond);
}

/* Waits (locked) until ready(ps) or a failure or stop; false on those. */
static bool wait_for(struct page_splice *ps,
		     bool (*ready)(const struct page_splice *, uint64_t),
		     uint64_t arg)
{
	while (!ready(ps, arg) && !ps->failed && !ps->stop)
		pthread_cond_wait(&ps->cond, &ps->lock);
	return ready(ps, arg) && !ps->failed;
}

static bool have_queued(const struct page_splice *ps, uint64_t unused)
{
	(void)unused;
	return ps->spliced < ps->queued;
}

static bool have_spliced(const struct page_splice *ps, uint64_t unused)
{
	(void)unused;
	return ps->checked < ps->spliced && ps->checked < ps->limit;
}

/* Moves what the process queued from the pipe into the pages file. */
static void *splicer_main(void *arg)
{
	struct page_splice *ps = arg;

	pthread_mutex_lock(&ps->lock);
	while (wait_for(ps, have_queued, 0)) {
		uint64_t want = ps->queued - ps->spliced, t0;
		loff_t off = ps->spliced;
		ssize_t n;

		pthread_mutex_unlock(&ps->lock);
		if (want > SPLICE_STEP)
			want = SPLICE_STEP;
		t0 = now_ns();
		page_xfer_direct_room(ps->x, want);
		n = splice(ps->pipe_r, NULL, ps->fd, &off, want, SPLICE_F_MOVE);
		if (n > 0)
			page_xfer_direct_wrote(ps->x, n, now_ns() - t0);
		pthread_mutex_lock(&ps->lock);
		if (n <= 0) {
			fail_locked(ps, "splice the pipe into pages-1.img",
				    n ? errno : EIO);
			break;
		}
		ps->spliced += n;
		pthread_cond_broadcast(&ps->cond);
	}
	pthread_mutex_unlock(&ps->lock);
	return NULL;
}

/*
 * Checksums (and finds the zero pages of) what is in the file, read back
 * from the page cache while it is hot: mapped read-only, no copy (a pread
 * into a buffer copied every page once more: 0.165 against 0.088 CPU-s
 * per GiB of page cache with the crc, load 3); by
 * pread if the file can't be mapped.
 */
static int check_piece(struct page_splice *ps, uint64_t off, size_t len)
{
	size_t first = (off - ps->base) / PAGE_SZ, skew = off % PAGE_SZ;
	const uint8_t *pages;
	uint8_t *map = NULL;

	if (!ps->cbuf)
		map = mmap(NULL, len + skew, PROT_READ,
			   MAP_SHARED | MAP_POPULATE, ps->rfd, off - skew);
	if (map == MAP_FAILED || !map) {
		if (!ps->cbuf && !(ps->cbuf = malloc(CHECK_CHUNK)))
			return -1;
		if (pread(ps->rfd, ps->cbuf, len, off) != (ssize_t)len)
			return -1;
		pages = ps->cbuf;
		map = NULL;
	} else {
		pages = map + skew;
	}
	for (size_t i = 0; i < len / PAGE_SZ; i++) {
		const uint8_t *p = pages + i * PAGE_SZ;

		ps->zero[first + i] = page_is_zero(p);
		ps->sums[first + i] = ps->zero[first + i] ? 0 : page_csum(p);
	}
	if (map)
		munmap(map, len + skew);
	return 0;
}

static void *checker_main(void *arg)
{
	struct page_splice *ps = arg;

	pthread_mutex_lock(&ps->lock);
	while (wait_for(ps, have_spliced, 0)) {
		uint64_t off = ps->checked, len = ps->spliced - off, t0;
		int ret;

		if (len > ps->limit - off)
			len = ps->limit - off;
		if (len > CHECK_CHUNK)
			len = CHECK_CHUNK;
		pthread_mutex_unlock(&ps->lock);
		t0 = now_ns();
		ret = check_piece(ps, off, len);
		ps->check_ns += now_ns() - t0;
		pthread_mutex_lock(&ps->lock);
		if (ret) {
			fail_locked(ps, "read pages-1.img back", errno ? errno : EIO);
			break;
		}
		ps->checked += len;
		pthread_cond_broadcast(&ps->cond);
	}
	pthread_mutex_unlock(&ps->lock);
	return NULL;
}

static void stop_threads(struct page_splice *ps)
{
	pthread_mutex_lock(&ps->lock);
	ps->stop = true;
	pthread_cond_broadcast(&ps->cond);
	pthread_mutex_unlock(&ps->lock);
	if (ps->splicer_up)
		pthread_join(ps->splicer, NULL);
	if (ps->checker_up)
		pthread_join(ps->checker, NULL);
	ps->splicer_up = ps->checker_up = false;
}

static void free_splice(struct page_splice *ps)
{
	stop_threads(ps);
	if (ps->pipe_r >= 0)
		close(ps->pipe_r);
	if (ps->pipe_w >= 0)
		close(ps->pipe_w);
	if (ps->rfd >= 0)
		close(ps->rfd);
	free(ps->cbuf);
	free(ps->sums);
	free(ps->zero);
	free(ps->pend);
	free(ps->vma_end);
	pthread_mutex_destroy(&ps->lock);
	pthread_cond_destroy(&ps->cond);
	free(ps);
}

static int make_pipe(struct page_splice *ps)
{
	int p[2];
	long cap;

	if (pipe2(p, O_CLOEXEC)) {
		pr_perror("pipe for the splice path");
		return -1;
	}
	ps->pipe_r = p[0];
	ps->pipe_w = p[1];
	cap = grow_pipe(p[0]);
	if (cap < (long)(2 * PAGE_SZ)) {
		pr_perror("F_GETPIPE_SZ");
		return -1;
	}
	ps->cap = cap;
	return 0;
}

/* The fd the process got is ours (the pipe's or the file's): /proc/<pid>
 * in its mount may be another process (another pid namespace), its root
 * another tree. */
static bool is_ours(struct page_splice *ps, int ours)
{
	struct stat a, b;
	int pidfd = syscall(__NR_pidfd_open, ps->pid, 0), fd = -1;
	bool same;

	if (pidfd >= 0) {
		fd = syscall(__NR_pidfd_getfd, pidfd, ps->tfd, 0);
		close(pidfd);
	}
	same = fd >= 0 && !fstat(fd, &a) && !fstat(ours, &b) &&
	       a.st_ino == b.st_ino && a.st_dev == b.st_dev;
	if (fd >= 0)
		close(fd);
	return same;
}

/* The injected open of our fd (the pipe's write end, or the pages file),
 * kept open under the closing frame. 1: the process can't have it (the
 * next way then). */
static int give_fd(struct page_splice *ps, int expect, int ours, int flags,
		   const char *what, const char *next)
{
	char path[64];
	int len = snprintf(path, sizeof(path), "/proc/%d/fd/%d", getpid(),
			   ours) + 1;

	if (remote_write(ps->pid, ps->r->scratch, path, len))
		return -1;
	ps->tfd = remote_call_new_fd(ps->r, expect, __NR_open, ps->r->scratch,
				     flags | O_CLOEXEC, 0);
	if (ps->tfd == -EIO)
		return -1;
	if (ps->tfd < 0) {
		pr_info("pid %d: can't open criu-lite's %s (%s): pages by %s",
			ps->pid, what, strerror(-ps->tfd), next);
		return 1;
	}
	if (ps->r->state != REMOTE_FD_OPEN) {
		/* opened by a plain call (no room for the closing frame):
		 * criu-lite killed now would leave it there */
		pr_info("pid %d: no closing frame for criu-lite's %s: pages "
			"by copy", ps->pid, what);
		return remote_close_new_fd(ps->r, ps->tfd) ? -1 : 2;
	}
	if (fault_at("kill-vmsplice-open"))
		raise(SIGKILL);
	if (!is_ours(ps, ours)) {
		pr_info("pid %d: %s is not criu-lite's %s there (another "
			"pid namespace or root): pages by copy", ps->pid, path,
			what);
		return remote_close_new_fd(ps->r, ps->tfd) ? -1 : 2;
	}
	return 0;
}

/* The pages file, else the pipe: 0, 1 (the copy path), -1 */
static int give_way(struct page_splice *ps, int expect)
{
	int ret;

	if (write_wanted(ps->pid)) {
		ret = give_fd(ps, expect, ps->fd, O_WRONLY, "pages file",
			      "splice");
		if (ret <= 0) {
			ps->by_write = !ret;
			return ret;
		}
		if (ret == 2)
			return 1;
	}
	if (make_pipe(ps))
		return -1;
	ret = give_fd(ps, expect, ps->pipe_w, O_RDWR | O_NONBLOCK, "pipe",
		      "copy");
	return ret > 0 ? 1 : ret;
}

static int start_threads(struct page_splice *ps)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/self/fd/%d", ps->fd);
	ps->rfd = open(path, O_RDONLY | O_CLOEXEC);
	if (ps->rfd < 0) {
		pr_perror("read back pages-1.img");
		return -1;
	}
	ps->queued = ps->spliced = ps->checked = ps->x->offset;
	ps->limit = UINT64_MAX;
	if (!ps->by_write) {
		if (pthread_create(&ps->splicer, NULL, splicer_main, ps))
			return -1;
		ps->splicer_up = true;
	}
	if (pthread_create(&ps->checker, NULL, checker_main, ps))
		return -1;
	ps->checker_up = true;
	return 0;
}

struct page_splice *page_splice_open(struct remote *r, pid_t pid, int expect,
				     struct page_xfer *x, bool *err)
{
	struct page_splice *ps;
	int ret;

	*err = false;
	if (!page_splice_wanted(x) || !r->self_restoring || !r->scratch)
		return NULL;
	ps = calloc(1, sizeof(*ps));
	if (!ps) {
		*err = true;
		return NULL;
	}
	ps->r = r;
	ps->pid = pid;
	ps->x = x;
	ps->tfd = -1;
	ps->pipe_r = ps->pipe_w = ps->rfd = -1;
	pthread_mutex_init(&ps->lock, NULL);
	pthread_cond_init(&ps->cond, NULL);
	ps->fd = page_xfer_direct_begin(x);
	if (ps->fd == -1) {
		free_splice(ps);	/* not a local uncompressed file */
		return NULL;
	}
	if (ps->fd < 0)
		goto err;
	ret = give_way(ps, expect);
	if (ret < 0)
		goto err;
	if (ret > 0) {
		ps->tfd = -1;
		free_splice(ps);
		return NULL;
	}
	if (start_threads(ps)) {
		page_splice_close(ps);
		*err = true;
		return NULL;
	}
	if (ps->by_write)
		pr_debug("pid %d: pages by pwritev of its fd %ld (pages-1.img)",
			 pid, ps->tfd);
	else
		pr_debug("pid %d: pages by vmsplice into its fd %ld (pipe of "
			 "%zu bytes)", pid, ps->tfd, ps->cap);
	return ps;
err:
	free_splice(ps);
	*err = true;
	return NULL;
}

int page_splice_close(struct page_splice *ps)
{
	int ret = 0;

	if (!ps)
		return 0;
	stop_threads(ps);
	pr_debug("pid %d: %s: %lu injected calls, checksums %.1f ms", ps->pid,
		 ps->by_write ? "pwritev" : "vmsplice", ps->calls,
		 ps->check_ns / 1e6);
	if (ps->tfd >= 0 && remote_close_new_fd(ps->r, ps->tfd)) {
		pr_err("pid %d: can't close its fd %ld (criu-lite's pipe)",
		       ps->pid, ps->tfd);
		ret = -1;
	}
	free_splice(ps);
	return ret;
}

/* ---- one call: the regions of a VMA ---- */

static bool room_for(const struct page_splice *ps, uint64_t len)
{
	return ps->queued - ps->spliced + len <= ps->cap;
}

static bool pipe_drained(const struct page_splice *ps, uint64_t was)
{
	return ps->spliced > was || ps->spliced == ps->queued;
}

static bool all_spliced(const struct page_splice *ps, uint64_t unused)
{
	(void)unused;
	return ps->spliced == ps->queued;
}

static bool all_checked(const struct page_splice *ps, uint64_t end)
{
	return ps->checked >= end;
}

static int splice_failed(struct page_splice *ps)
{
	errno = ps->err;
	pr_perror("pid %d: %s at offset %lu", ps->pid,
		  ps->what ? ps->what : "splice path", (unsigned long)ps->spliced);
	return -1;
}

/* The next iovecs from (*i, *pos) on, at most half the pipe in all. */
static size_t next_iovs(struct page_splice *ps, const struct page_region *regs,
			size_t nr, size_t i, uint64_t pos, struct iovec *iov,
			size_t *bytes)
{
	size_t n = 0, left = ps->by_write ? WRITE_STEP : ps->cap / 2;

	*bytes = 0;
	while (i < nr && n < MAX_IOV && left) {
		uint64_t len = regs[i].end - pos;

		if (len > left)
			len = left;
		iov[n].iov_base = (void *)pos;
		iov[n++].iov_len = len;
		*bytes += len;
		left -= len;
		pos += len;
		if (pos == regs[i].end && ++i < nr)
			pos = regs[i].start;
	}
	return n;
}

/* One injected pwritev of the process into the pages file at the end of
 * what it wrote: the bytes written (then checked), or -1. */
static long write_iovs(struct page_splice *ps, const struct iovec *iov,
		       size_t n, size_t bytes)
{
	uint64_t t0, off = ps->queued;
	long ret;

	if (remote_write(ps->pid, ps->r->scratch, iov, n * sizeof(*iov)))
		return -1;
	page_xfer_direct_room(ps->x, bytes);
	t0 = now_ns();
	ret = remote_call_keeping_fd(ps->r, __NR_pwritev, ps->tfd,
				     ps->r->scratch, n, off);
	ps->calls++;
	if (ret <= 0) {
		pr_err("pid %d: injected pwritev into pages-1.img at offset "
		       "%lu: %s", ps->pid, (unsigned long)off,
		       ret ? strerror(-ret) : "nothing written");
		return -1;
	}
	page_xfer_direct_wrote(ps->x, ret, now_ns() - t0);
	pthread_mutex_lock(&ps->lock);
	ps->queued += ret;
	ps->spliced += ret;
	pthread_cond_broadcast(&ps->cond);
	pthread_mutex_unlock(&ps->lock);
	return ret;
}

/* Queues every page of the regions into the pipe by injected vmsplice
 * (or has the process write them into the file by pwritev). */
static int queue_regions(struct page_splice *ps, const struct page_region *regs,
			 size_t nr)
{
	struct iovec iov[MAX_IOV];
	uint64_t pos = regs[0].start;
	size_t i = 0;

	while (i < nr) {
		size_t bytes, n = next_iovs(ps, regs, nr, i, pos, iov, &bytes);
		uint64_t t0, was;
		long ret;

		if (ps->by_write) {
			ret = write_iovs(ps, iov, n, bytes);
			if (ret < 0)
				return -1;
			goto advance;
		}

		pthread_mutex_lock(&ps->lock);
		if (!wait_for(ps, room_for, bytes)) {
			pthread_mutex_unlock(&ps->lock);
			return splice_failed(ps);
		}
		was = ps->spliced;
		pthread_mutex_unlock(&ps->lock);
		t0 = now_ns();
		if (remote_write(ps->pid, ps->r->scratch, iov, n * sizeof(*iov)))
			return -1;
		ret = remote_call_keeping_fd(ps->r, __NR_vmsplice, ps->tfd,
					     ps->r->scratch, n, 0);
		ps->calls++;
		ps->x->st->read_ns += now_ns() - t0;
		if (ret == -EAGAIN && was != ps->queued) {
			/* full by its slots: wait for the splicer */
			pthread_mutex_lock(&ps->lock);
			wait_for(ps, pipe_drained, was);
			pthread_mutex_unlock(&ps->lock);
			continue;
		}
		if (ret <= 0) {
			pr_err("pid %d: injected vmsplice of %zu bytes at %#lx: "
			       "%s", ps->pid, bytes, (long)pos,
			       ret ? strerror(-ret) : "nothing queued");
			return -1;
		}
		pthread_mutex_lock(&ps->lock);
		ps->queued += ret;
		pthread_cond_broadcast(&ps->cond);
		pthread_mutex_unlock(&ps->lock);
advance:
		progress_add(ps->x->progress, ret / PAGE_SZ, ret);
		/* on from where it stopped */
		while (ret > 0) {
			uint64_t len = regs[i].end - pos;

			if ((uint64_t)ret < len) {
				pos += ret;
				break;
			}
			ret -= len;
			if (++i < nr)
				pos = regs[i].start;
		}
	}
	return 0;
}

/*
 * The injection's own bytes on the leader's stack (its frames, below the
 * red zone, and the scratch memory in them) were spliced with the pages
 * around them: the file gets the bytes that were there before (which
 * remote_finish() puts back in the process), before they are checked.
 */
struct injected {
	uint64_t at;
	size_t len;
	const uint8_t *orig;
};

static size_t injected_areas(const struct page_splice *ps, struct injected *a)
{
	size_t n = 0;

	if (ps->r->area_orig)
		a[n++] = (struct injected){ ps->r->area, ps->r->area_len,
					    ps->r->area_orig };
	if (ps->r->close_orig)
		a[n++] = (struct injected){ ps->r->close_area, ps->r->close_len,
					    ps->r->close_orig };
	return n;
}

/* Patches (or, !write, only counts) the pieces of the areas the regions
 * hold; their number, or -1. */
static int put_back_injected(struct page_splice *ps,
			     const struct page_region *regs, size_t nr,
			     bool write)
{
	struct injected a[2];
	size_t na = injected_areas(ps, a);
	uint64_t off = ps->base;
	int pieces = 0;

	for (size_t i = 0; i < nr; off += regs[i].end - regs[i].start, i++) {
		for (size_t j = 0; j < na; j++) {
			uint64_t lo = a[j].at > regs[i].start ? a[j].at : regs[i].start;
			uint64_t hi = a[j].at + a[j].len < regs[i].end ?
				      a[j].at + a[j].len : regs[i].end;

			if (lo >= hi)
				continue;
			pieces++;
			if (write && pwrite(ps->fd, a[j].orig + (lo - a[j].at),
					    hi - lo, off + (lo - regs[i].start)) !=
					 (ssize_t)(hi - lo)) {
				pr_perror("pid %d: put its stack bytes at %#lx "
					  "back into pages-1.img", ps->pid,
					  (long)lo);
				return -1;
			}
		}
	}
	return pieces;
}

static int fix_injected(struct page_splice *ps, const struct page_region *regs,
			size_t nr)
{
	pthread_mutex_lock(&ps->lock);
	if (!wait_for(ps, all_spliced, 0)) {
		pthread_mutex_unlock(&ps->lock);
		return splice_failed(ps);
	}
	pthread_mutex_unlock(&ps->lock);
	if (put_back_injected(ps, regs, nr, true) < 0)
		return -1;
	pthread_mutex_lock(&ps->lock);
	ps->limit = UINT64_MAX;
	pthread_cond_broadcast(&ps->cond);
	pthread_mutex_unlock(&ps->lock);
	return 0;
}

/* The checked pages into the runs: zero ones PE_ZERO, the others stored
 * where they were spliced, with their checksums; no run across the end of
 * a VMA (vma_end: the index of the region after each VMA's last). */
static int add_runs(struct page_splice *ps, const struct page_region *regs,
		    size_t nr, const size_t *vma_end, size_t nvma,
		    struct run_builder *rb)
{
	size_t k = 0, v = 0;

	for (size_t i = 0; i < nr; i++) {
		for (; v < nvma && vma_end[v] <= i; v++)
			if (run_builder_finish(rb))
				return -1;
		size_t pages = (regs[i].end - regs[i].start) / PAGE_SZ, p = 0;

		while (p < pages) {
			size_t q = p + 1;
			uint64_t va = regs[i].start + p * PAGE_SZ;
			int ret;

			while (q < pages && ps->zero[k + q] == ps->zero[k + p])
				q++;
			if (ps->zero[k + p])
				ret = run_builder_add_flagged(rb, va, q - p,
							      PE_ZERO);
			else
				ret = run_builder_add_stored(rb, va, q - p,
						ps->base + (k + p) * PAGE_SZ,
						ps->sums + k + p);
			if (ret)
				return -1;
			p = q;
		}
		k += pages;
	}
	return 0;
}

static int move_regions(struct page_splice *ps, const struct page_region *regs,
			size_t nr, const size_t *vma_end, size_t nvma,
			struct run_builder *rb)
{
	size_t pages = 0;
	uint64_t end;
	bool held;
	int ret = -1;

	for (size_t i = 0; i < nr; i++)
		pages += (regs[i].end - regs[i].start) / PAGE_SZ;
	if (!pages)
		return 0;
	/* the threads are idle: everything queued before is checked */
	free(ps->sums);
	free(ps->zero);
	ps->sums = malloc(pages * sizeof(*ps->sums));
	ps->zero = malloc(pages);
	if (!ps->sums || !ps->zero) {
		pr_err("pid %d: no memory for %zu page checksums", ps->pid, pages);
		return -1;
	}
	/* what the copy path stored meanwhile (a VMA the process can't
	 * read) is written first: these pages go after it */
	if (page_xfer_direct_begin(ps->x) < 0)
		return -1;
	pthread_mutex_lock(&ps->lock);
	ps->base = ps->queued = ps->spliced = ps->checked = ps->x->offset;
	held = put_back_injected(ps, regs, nr, false) > 0;
	ps->limit = held ? ps->base : UINT64_MAX;
	pthread_mutex_unlock(&ps->lock);
	end = ps->base + pages * PAGE_SZ;
	if (queue_regions(ps, regs, nr) || (held && fix_injected(ps, regs, nr)))
		return -1;
	pthread_mutex_lock(&ps->lock);
	if (!wait_for(ps, all_checked, end)) {
		pthread_mutex_unlock(&ps->lock);
		return splice_failed(ps);
	}
	pthread_mutex_unlock(&ps->lock);
	ret = add_runs(ps, regs, nr, vma_end, nvma, rb);
	rb->next_offset = ps->x->offset;
	return ret;
}

int page_splice_regions(struct page_splice *ps, const struct page_region *regs,
			size_t nr, struct run_builder *rb)
{
	return page_splice_flush(ps, rb) ||
	       move_regions(ps, regs, nr, &nr, 1, rb) ? -1 : 0;
}

int page_splice_flush(struct page_splice *ps, struct run_builder *rb)
{
	int ret;

	if (!ps || !ps->npend)
		return 0;
	/* the batch's last run ends too: the next VMA may go by copy */
	ret = move_regions(ps, ps->pend, ps->npend, ps->vma_end, ps->nvma, rb) ||
	      run_builder_finish(rb) ? -1 : 0;
	ps->npend = ps->nvma = 0;
	ps->pend_bytes = 0;
	return ret;
}

int page_splice_add(struct page_splice *ps, const struct page_region *regs,
		    size_t nr, struct run_builder *rb)
{
	if (ps->npend + nr > ps->pend_cap) {
		size_t cap = (ps->npend + nr) * 2;
		struct page_region *n = realloc(ps->pend, cap * sizeof(*n));

		if (!n)
			return -1;
		ps->pend = n;
		ps->pend_cap = cap;
	}
	if (ps->nvma == ps->vma_cap) {
		size_t cap = ps->vma_cap ? ps->vma_cap * 2 : 64;
		size_t *n = realloc(ps->vma_end, cap * sizeof(*n));

		if (!n)
			return -1;
		ps->vma_end = n;
		ps->vma_cap = cap;
	}
	for (size_t i = 0; i < nr; i++)
		ps->pend_bytes += regs[i].end - regs[i].start;
	if (nr)		/* (pend may still be NULL) */
		memcpy(ps->pend + ps->npend, regs, nr * sizeof(*regs));
	ps->npend += nr;
	ps->vma_end[ps->nvma++] = ps->npend;
	return ps->pend_bytes >= WRITE_STEP ? page_splice_flush(ps, rb) : 0;
}
