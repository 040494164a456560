// SPDX-License-Identifier: GPL-2.0
/* Reading a target's pages, sharing kept (page-read.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "inject.h"
#include "log.h"
#include "page-read.h"
#include "pagemap.h"

#define PM_PRESENT	(1ULL << 63)
#define PM_SWAP		(1ULL << 62)
#define PM_EXCLUSIVE	(1ULL << 56)	/* mapped by this process only */
#define MAX_PIECES	1024
#define PM_BATCH	2048		/* pagemap entries read at once */

/* Pinning the page reads it without a copy: present and exclusive, or
 * not there at all (nothing to share). */
static bool pin_safe(uint64_t pme)
{
	if (pme & PM_PRESENT)
		return pme & PM_EXCLUSIVE;
	return !(pme & PM_SWAP);
}

struct reader {
	pid_t pid;
	int pagemap_fd, mem_fd;
	struct iovec local[MAX_PIECES], remote[MAX_PIECES];
	size_t n;
	bool quiet;	/* a running target: a page may be gone, not an error */
};

static int flush_pinned(struct reader *r)
{
	size_t total = 0;

	if (!r->n)
		return 0;
	for (size_t i = 0; i < r->n; i++)
		total += r->local[i].iov_len;
	if (process_vm_readv(r->pid, r->local, r->n, r->remote, r->n, 0) !=
	    (ssize_t)total) {
		if (r->quiet)
			return -1;
		for (size_t i = 0; i < r->n; i++)
			if (remote_read(r->pid, (uint64_t)r->remote[i].iov_base,
					r->local[i].iov_base, r->local[i].iov_len))
				return -1;
	}
	r->n = 0;
	return 0;
}

static int read_pinned(struct reader *r, uint64_t addr, uint8_t *to, size_t len)
{
	if (r->n && (uint8_t *)r->local[r->n - 1].iov_base +
		    r->local[r->n - 1].iov_len == to &&
	    (uint64_t)r->remote[r->n - 1].iov_base + r->remote[r->n - 1].iov_len == addr) {
		r->local[r->n - 1].iov_len += len;
		r->remote[r->n - 1].iov_len += len;
		return 0;
	}
	if (r->n == MAX_PIECES && flush_pinned(r))
		return -1;
	r->local[r->n] = (struct iovec){ to, len };
	r->remote[r->n] = (struct iovec){ (void *)addr, len };
	r->n++;
	return 0;
}

/* Through /proc/PID/mem: references, no pin, no copy. */
static int read_unpinned(struct reader *r, uint64_t addr, uint8_t *to,
			 size_t len)
{
	if (r->mem_fd < 0) {
		char path[64];

		snprintf(path, sizeof(path), "/proc/%d/mem", r->pid);
		r->mem_fd = open(path, O_RDONLY | O_CLOEXEC);
		if (r->mem_fd < 0) {
			if (!r->quiet)
				pr_perror("open %s", path);
			return -1;
		}
	}
	for (size_t off = 0; off < len;) {
		ssize_t got = pread(r->mem_fd, to + off, len - off, addr + off);

		if (got <= 0) {
			if (!r->quiet)
				pr_perror("read /proc/%d/mem at %#lx", r->pid,
					  (long)(addr + off));
			return -1;
		}
		off += got;
	}
	return 0;
}

/* One piece, split by what each page's pagemap entry allows. */
static int read_piece(struct reader *r, uint64_t addr, size_t len, uint8_t *to)
{
	uint64_t pme[PM_BATCH];

	while (len) {
		size_t n = len / PAGE_SZ < PM_BATCH ? len / PAGE_SZ : PM_BATCH;
		ssize_t want = n * sizeof(*pme);

		if (pread(r->pagemap_fd, pme, want, addr / PAGE_SZ * sizeof(*pme)) !=
		    want) {
			if (!r->quiet)
				pr_perror("read /proc/%d/pagemap at %#lx", r->pid,
					  (long)addr);
			return -1;
		}
		for (size_t i = 0; i < n;) {
			size_t j = i + 1;
			bool safe = pin_safe(pme[i]);

			while (j < n && pin_safe(pme[j]) == safe)
				j++;
			if ((safe ? read_pinned : read_unpinned)(r,
					addr + i * PAGE_SZ, to + i * PAGE_SZ,
					(j - i) * PAGE_SZ))
				return -1;
			i = j;
		}
		addr += n * PAGE_SZ;
		to += n * PAGE_SZ;
		len -= n * PAGE_SZ;
	}
	return 0;
}

/*
 * The pagemap and mem fds of the process read last, kept for the next
 * call: a dump reads a process in many small batches. A pidfd tells
 * whether that process still lives: if not, its PID may name another
 * one now, whose files are opened anew.
 */
static struct {
	pid_t pid;
	int pidfd, pagemap_fd, mem_fd;
} kept = { 0, -1, -1, -1 };

static void drop_kept(void)
{
	if (kept.pidfd >= 0)
		close(kept.pidfd);
	if (kept.pagemap_fd >= 0)
		close(kept.pagemap_fd);
	if (kept.mem_fd >= 0)
		close(kept.mem_fd);
	kept.pid = 0;
	kept.pidfd = kept.pagemap_fd = kept.mem_fd = -1;
}

static bool kept_for(pid_t pid)
{
	return kept.pid == pid &&
	       !syscall(__NR_pidfd_send_signal, kept.pidfd, 0, NULL, 0);
}

static int keep_files_of(pid_t pid)
{
	char path[64];

	drop_kept();
	snprintf(path, sizeof(path), "/proc/%d/pagemap", pid);
	kept.pidfd = syscall(__NR_pidfd_open, pid, 0);
	kept.pagemap_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (kept.pidfd < 0 || kept.pagemap_fd < 0) {
		pr_perror("open %s", path);
		drop_kept();
		return -1;
	}
	kept.pid = pid;
	return 0;
}

static int read_pages(pid_t pid, const struct iovec *remote, size_t n,
		      uint8_t *buf, bool quiet)
{
	struct reader r;
	int ret = 0;

	if (!kept_for(pid) && keep_files_of(pid))
		return -1;
	r.pid = pid;
	r.n = 0;
	r.quiet = quiet;
	r.pagemap_fd = kept.pagemap_fd;
	r.mem_fd = kept.mem_fd;
	for (size_t i = 0; i < n && !ret; i++) {
		ret = read_piece(&r, (uint64_t)remote[i].iov_base,
				 remote[i].iov_len, buf);
		buf += remote[i].iov_len;
	}
	if (!ret)
		ret = flush_pinned(&r);
	kept.mem_fd = r.mem_fd;
	if (ret)
		drop_kept();
	return ret;
}

int read_target_pages(pid_t pid, const struct iovec *remote, size_t n,
		      uint8_t *buf)
{
	return read_pages(pid, remote, n, buf, false);
}

int read_running_pages(pid_t pid, const struct iovec *remote, size_t n,
		       uint8_t *buf)
{
	return read_pages(pid, remote, n, buf, true);
}
