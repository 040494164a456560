// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#include "csum.h"
#include "image.h"
#include "inject.h"
#include "kernel-compat.h"
#include "lazy-source.h"
#include "log.h"
#include "mem-marks.h"
#include "net.h"
#include "page-frames.h"
#include "page-read.h"
#include "page-xfer.h"
#include "xfer-proto.h"
#include "progress.h"
#include "seize.h"

/*
 * One batch: 64 pages. Read, zero-checked, checksummed and written while
 * it is still in the cache (the 8 MiB batches of before were read from
 * memory three times: 0.5 GB/s instead of 1.5+).
 */
#define LOCAL_BATCH	(256UL << 10)
#define LOCAL_NBUF	16
#define BATCH_PAGES	(LOCAL_BATCH / PAGE_SZ)
/* Preallocation step, and how much written data starts its write-back. */
#define PREALLOC_STEP	(64ULL << 20)
#define WRITEBACK_STEP	(8ULL << 20)

/* ---- reading the target ---- */

int scan_owned_pages(int pagemap_fd, uint64_t start, uint64_t end,
		     struct page_region **out, size_t *nr)
{
	struct page_region *regs = NULL;
	size_t n = 0, cap = 0;
	struct pm_scan_arg arg;

	while (start < end) {
		long ret;

		if (cap - n < 512) {
			struct page_region *nr_ = realloc(regs, (cap += 4096) * sizeof(*regs));

			if (!nr_) {
				free(regs);
				return -1;
			}
			regs = nr_;
		}
		memset(&arg, 0, sizeof(arg));
		arg.size = sizeof(arg);
		arg.start = start;
		arg.end = end;
		arg.vec = (uint64_t)(regs + n);
		arg.vec_len = cap - n;
		/* guard markers look swapped: never read (mem-marks.c) */
		arg.category_mask = PAGE_IS_FILE | PAGE_IS_PFNZERO |
				    (pagemap_scan_has_guard() ? PAGE_IS_GUARD : 0);
		arg.category_inverted = arg.category_mask;
		arg.category_anyof_mask = PAGE_IS_PRESENT | PAGE_IS_SWAPPED;
		arg.return_mask = PAGE_IS_PRESENT | PAGE_IS_SWAPPED;
		ret = ioctl(pagemap_fd, PAGEMAP_SCAN, &arg);
		if (ret < 0) {
			pr_perror("PAGEMAP_SCAN [%#lx, %#lx)", (long)start,
				  (long)end);
			free(regs);
			return -1;
		}
		n += ret;
		/* A walk that did not fill the vector is complete. Else go on
		 * from the end of the last region: walk_end is not reliable
		 * (seen on 6.18: stale, or 16 MiB behind, after a full
		 * vector), and a region cut by the full vector just goes on
		 * in the next call (runs merge again later). */
		if ((uint64_t)ret < arg.vec_len || !ret)
			break;
		start = regs[n - 1].end;
	}
	*out = regs;
	*nr = n;
	return 0;
}

/* Reads the pieces, keeping what the process shares copy-on-write: its
 * non-exclusive pages are not read by process_vm_readv (page-read.h). */
static int read_pieces(pid_t pid, struct iovec *remote, size_t n,
		       uint8_t *buf)
{
	return read_target_pages(pid, remote, n, buf);
}

/* One page through /proc/PID/mem, which does not pin it (page-read.h):
 * false if it is gone. */
static bool read_page_quiet(pid_t pid, int *memfd, uint64_t addr, uint8_t *buf)
{
	char path[64];

	if (*memfd < 0) {
		snprintf(path, sizeof(path), "/proc/%d/mem", pid);
		*memfd = open(path, O_RDONLY | O_CLOEXEC);
	}
	return *memfd >= 0 && pread(*memfd, buf, PAGE_SZ, addr) == (ssize_t)PAGE_SZ;
}

/*
 * Running target: a page listed a moment ago may be gone (munmap,
 * mremap) by the time it is read. Such pages are left out: the dirty
 * tracker reports whatever is mapped there later as written, so a later
 * layer never takes them from this one.
 */
static int add_readable(struct run_builder *rb, pid_t pid, struct iovec *iov,
			size_t n, uint8_t *buf)
{
	size_t fill = 0;
	int memfd = -1, ret = 0;

	for (size_t k = 0; k < n && !ret; k++) {
		uint64_t a = (uint64_t)iov[k].iov_base;
		size_t pages = iov[k].iov_len / PAGE_SZ, run = 0;

		for (size_t p = 0; p <= pages && !ret; p++) {
			bool ok = p < pages && read_page_quiet(pid, &memfd,
					a + p * PAGE_SZ, buf + fill + p * PAGE_SZ);

			if (ok) {
				run++;
				continue;
			}
			if (run)
				ret = run_builder_add(rb, a + (p - run) * PAGE_SZ,
						      buf + fill + (p - run) * PAGE_SZ,
						      run);
			if (p < pages)
				pr_debug("pid %d: page %#lx went away while "
					 "being read", pid, (long)(a + p * PAGE_SZ));
			run = 0;
		}
		fill += iov[k].iov_len;
	}
	if (memfd >= 0)
		close(memfd);
	return ret;
}

static int xfer_data(void *arg, const void *buf, size_t len,
		     const uint32_t *csums)
{
	struct page_xfer *x = arg;

	progress_add(x->progress, 0, len);
	return x->ops->add(x, buf, len, csums);
}

static int xfer_data_at(void *arg, const void *buf, size_t len,
			const uint32_t *csums, uint64_t off)
{
	struct page_xfer *x = arg;

	progress_add(x->progress, 0, len);
	return x->ops->add_at(x, buf, len, csums, off);
}

void xfer_run_builder_place(struct run_builder *rb,
			    uint64_t (*place)(void *, uint64_t, size_t *),
			    void *arg)
{
	struct page_xfer *x = rb->data_arg;

	if (x->placed && x->ops->add_at)
		run_builder_place(rb, place, arg, xfer_data_at);
}

void xfer_run_builder_init(struct run_builder *rb, struct page_xfer *x,
			   int (*emit)(void *, const struct page_run *),
			   void *arg)
{
	run_builder_init(rb, emit, xfer_data, arg);
	rb->data_arg = x;
	rb->next_offset = x->offset;
}

/* known: see xfer_read_between() (NULL: no pages between the regions) */
static int read_regions(struct page_xfer *x, pid_t pid,
			const struct page_region *regs, size_t nr,
			struct run_builder *rb, bool running,
			int (*known)(void *, uint64_t), void *arg)
{
	struct iovec iov[BATCH_PAGES];
	size_t niov = 0, fill = 0, i = 0, max_iov = x->batch / PAGE_SZ;
	uint64_t pos = nr ? regs[0].start : 0;

	if (max_iov > BATCH_PAGES)
		max_iov = BATCH_PAGES;
	rb->next_offset = x->offset;
	while (i < nr || niov) {
		bool flush = i == nr || niov == max_iov || fill == x->batch;
		uint8_t *buf;
		uint64_t t0;
		int ret = 0;

		if (!flush) {
			uint64_t len = regs[i].end - pos;

			if (len > x->batch - fill)
				len = x->batch - fill;
			iov[niov].iov_base = (void *)pos;
			iov[niov].iov_len = len;
			niov++;
			fill += len;
			pos += len;
			if (pos == regs[i].end && ++i < nr)
				pos = regs[i].start;
			continue;
		}
		buf = x->ops->buffer(x);
		if (!buf)
			return -1;
		t0 = now_ns();
		if (running && read_running_pages(pid, iov, niov, buf)) {
			ret = add_readable(rb, pid, iov, niov, buf);
			niov = 0;	/* added */
		} else if (!running && read_pieces(pid, iov, niov, buf)) {
			return -1;
		}
		x->st->read_ns += now_ns() - t0;
		fill = 0;
		for (size_t k = 0; k < niov && !ret; k++) {
			uint64_t a = (uint64_t)iov[k].iov_base;

			if (known)
				ret = known(arg, a);
			if (!ret)
				ret = run_builder_add(rb, a, buf + fill,
						      iov[k].iov_len / PAGE_SZ);
			fill += iov[k].iov_len;
		}
		progress_add(x->progress, fill / PAGE_SZ, 0);
		if (ret || x->ops->submit(x))
			return -1;
		niov = 0;
		fill = 0;
	}
	return 0;
}

/* A lazy VMA of a lazy dump: its pages stay in the frozen process and are
 * described as PE_LAZY runs at the offsets the lazy source serves them at
 * (runs of the builder before them are complete first: the pagemap stays
 * in address order). */
static int lazy_regions(struct page_xfer *x, pid_t pid,
			const struct page_region *regs, size_t nr,
			struct run_builder *rb)
{
	if (run_builder_finish(rb))
		return -1;
	for (size_t i = 0; i < nr; i++) {
		PagemapEntry e = PAGEMAP_ENTRY__INIT;
		uint64_t len = regs[i].end - regs[i].start, off;

		if (lazy_source_add(x->lazy, pid, x->lazy_vpid, regs[i].start,
				    len, &off))
			return -1;
		e.vaddr = regs[i].start;
		e.nr_pages = len / PAGE_SZ;
		e.flags = PE_LAZY;
		e.has_offset = true;
		e.offset = off;
		if (x->ops->pagemap_entry(x, &e))
			return -1;
		x->st->pages_lazy += e.nr_pages;
		progress_add(x->progress, e.nr_pages, 0);
	}
	return 0;
}

int xfer_read_regions(struct page_xfer *x, pid_t pid,
		      const struct page_region *regs, size_t nr,
		      struct run_builder *rb)
{
	if (x->lazy_vma)
		return lazy_regions(x, pid, regs, nr, rb);
	return read_regions(x, pid, regs, nr, rb, false, NULL, NULL);
}

int xfer_read_between(struct page_xfer *x, pid_t pid,
		      const struct page_region *regs, size_t nr,
		      struct run_builder *rb,
		      int (*known)(void *arg, uint64_t below), void *arg)
{
	if (x->lazy_vma) {
		pr_err("pid %d: pages read between known ones cannot be lazy",
		       pid);
		return -1;
	}
	if (read_regions(x, pid, regs, nr, rb, false, known, arg))
		return -1;
	return known(arg, UINT64_MAX);
}

int xfer_read_running(struct page_xfer *x, pid_t pid,
		      const struct page_region *regs, size_t nr,
		      struct run_builder *rb)
{
	return read_regions(x, pid, regs, nr, rb, true, NULL, NULL);
}

int xfer_emit_pagemap(void *arg, const struct page_run *run)
{
	struct page_xfer *x = arg;
	PagemapEntry e = PAGEMAP_ENTRY__INIT;

	e.vaddr = run->vaddr;
	e.nr_pages = run->nr_pages;
	e.flags = run->flags;
	e.checksum = run->checksum;
	if (run->flags & PE_PRESENT) {
		e.has_offset = true;
		e.offset = run->offset;
		e.n_page_csums = run->nr_pages;
		e.page_csums = run->page_csums;
		x->st->pages_stored += run->nr_pages;
	} else if (run->flags & PE_ZERO) {
		x->st->pages_zero += run->nr_pages;
	}
	return x->ops->pagemap_entry(x, &e);
}

int page_xfer_flush(struct page_xfer *x)
{
	return x ? x->ops->flush(x) : 0;
}

void page_xfer_close(struct page_xfer *x)
{
	if (x)
		x->ops->close(x);
}

/* ---- the local pages file ---- */

/*
 * A buffer's way through the local transfer: filled by the reader (the
 * dumping thread), compressed (dump --compress) by one of the compressor
 * threads, stored (written or sent) by the writer thread in the order the
 * buffers were filled, free again.
 */
enum lbuf_state { LB_FREE, LB_FULL, LB_COMPRESSING, LB_READY };

struct lbuf {
	uint8_t *buf;
	struct iovec iov[BATCH_PAGES + 2];	/* net: header and ctl too */
	uint64_t at[BATCH_PAGES];	/* net: where each piece lands */
	uint32_t sums[BATCH_PAGES];	/* of each page, in order */
	int niov;
	size_t bytes;
	uint8_t *ctl;		/* net: messages sent after the pages */
	size_t ctl_len, ctl_cap;
	enum lbuf_state state;
	/* compressed: the frame's stored bytes, and the frame (the writer
	 * places it in the page stream and the file) */
	uint8_t *zbuf;
	struct page_frame frame;
};

#define MAX_COMPRESSORS	4

struct local_xfer;

struct compressor {
	struct local_xfer *l;
	struct frame_codec *fc;
	pthread_t thread;
	bool up;
};

struct local_xfer {
	struct page_xfer x;
	bool net;		/* conn: a page server's connection */
	struct conn *conn;
	char peer[80];		/* net: for messages */
	unsigned timeout_s;	/* net: a silent server is given up after */
	bool done_sent;		/* net: X_DONE is out */
	bool timed_out;		/* net: a read or write waited timeout_s */
	/* the writer's way to store a ready buffer: written as it is, as a
	 * frame, or sent */
	int (*store)(struct local_xfer *l, struct lbuf *b);
	int dirfd, fd;
	struct cr_img *pm;
	uint8_t *mem;		/* all buffers, one mapping */
	struct lbuf b[LOCAL_NBUF];
	unsigned fill;		/* the buffer being filled */
	unsigned take;		/* the compressors' next */
	unsigned next;		/* the writer's next */
	struct compressor comp[MAX_COMPRESSORS];
	unsigned nr_comp;	/* 0: not compressed */
	/* writer thread's own */
	uint64_t file_off;	/* where it writes next */
	uint64_t alloc_end;	/* preallocated up to here */
	uint64_t wb_start;	/* written, write-back not started yet */
	bool prealloc;
	bool flipped;		/* CRIU_LITE_FAULT=xfer-flip done */
	bool run_sum_changed;	/* CRIU_LITE_FAULT=xfer-run-sum done */
	bool resent;		/* CRIU_LITE_FAULT=xfer-resend done */
	uint64_t bw_start;	/* net, --max-bandwidth: first send */
	uint64_t sent;		/* net: bytes of pages sent */
	uint64_t sent_end;	/* net: the end of the farthest piece sent */
	struct page_frame *frames;	/* compressed: written so far */
	size_t nr_frames, cap_frames;
	uint64_t stream_off;	/* compressed: page stream stored so far */
	/* shared, under lock */
	bool stop, failed;
	int err;
	pthread_t thread;
	bool thread_up;
	pthread_mutex_t lock;
	pthread_cond_t cond;
};

/*
 * ext4 (and xfs) charge every page of a buffered write into a fresh file
 * for delayed allocation; into preallocated (unwritten) blocks the same
 * write is 2-4x faster here. The tail that turns out not to be needed is
 * cut at flush. A filesystem without fallocate, or one too full for the
 * step, is simply written without.
 */
static void prealloc_for(struct local_xfer *l, uint64_t end)
{
	uint64_t len;

	if (!l->prealloc || end <= l->alloc_end)
		return;
	len = end - l->alloc_end;
	if (len < PREALLOC_STEP)
		len = PREALLOC_STEP;
	if (fallocate(l->fd, 0, l->alloc_end, len)) {
		l->prealloc = false;
		return;
	}
	l->alloc_end += len;
}

static int write_buf(struct local_xfer *l, struct lbuf *b)
{
	uint64_t t0 = now_ns(), start = l->file_off;
	int i = 0;

	prealloc_for(l, l->file_off + b->bytes);
	while (i < b->niov) {
		ssize_t done = pwritev(l->fd, b->iov + i, b->niov - i, l->file_off);
		if (done < 0 && errno == EINTR)
			continue;
		if (done <= 0) {
			if (!done)
				errno = EIO;
			return -1;
		}
		l->file_off += done;
		/* a short write: go on from where it stopped */
		while (done > 0 && i < b->niov) {
			if ((size_t)done >= b->iov[i].iov_len) {
				done -= b->iov[i].iov_len;
				i++;
			} else {
				b->iov[i].iov_base = (uint8_t *)b->iov[i].iov_base + done;
				b->iov[i].iov_len -= done;
				done = 0;
			}
		}
	}
	if (l->x.durable && l->file_off - l->wb_start >= WRITEBACK_STEP) {
		sync_file_range(l->fd, l->wb_start, l->file_off - l->wb_start,
				SYNC_FILE_RANGE_WRITE);
		l->wb_start = l->file_off;
	}
	l->x.st->write_ns += now_ns() - t0;
	l->x.st->bytes_written += l->file_off - start;
	return 0;
}

/*
 * A buffer's pieces as X_PAGES messages: one per run of pieces that lie
 * one after the other in the pages file (all of them, unless some are
 * placed), each with its pages' checksums after them, for the receiver
 * to check on arrival. Returns the number of iovecs used.
 */
static int pages_msgs(struct lbuf *b, struct xp_hdr *h, uint32_t *sums,
		      struct iovec *iov)
{
	size_t k = 0;
	int n = 0, m = 0;

	for (int i = 0; i < b->niov;) {
		uint64_t len = 0;
		size_t first = k;
		int j = i;

		do {
			len += b->iov[j].iov_len;
			j++;
		} while (j < b->niov && b->at[j] == b->at[i] + len);
		h[m] = (struct xp_hdr){ X_PAGES, len / PAGE_SZ, b->at[i],
					len / PAGE_SZ * (PAGE_SZ + 4) };
		iov[n].iov_base = &h[m++];
		iov[n++].iov_len = sizeof(*h);
		memcpy(iov + n, b->iov + i, (j - i) * sizeof(*iov));
		n += j - i;
		k += len / PAGE_SZ;
		iov[n].iov_base = sums + first;
		iov[n++].iov_len = (k - first) * sizeof(*sums);
		i = j;
	}
	return n;
}

static int send_buf(struct local_xfer *l, struct lbuf *b)
{
	uint64_t t0 = now_ns();
	struct xp_hdr h[BATCH_PAGES];
	struct iovec iov[3 * BATCH_PAGES + 1];
	int n = 0;

	/* each page's checksum (b->sums, made as it was read), for the
	 * receiver to check on arrival; tests: one byte changed on the way,
	 * after its checksum was made */
	if (b->bytes && !l->flipped && fault_at("xfer-flip")) {
		((uint8_t *)b->iov[0].iov_base)[100] ^= 0x40;
		l->flipped = true;
	}
	if (b->bytes)
		n = pages_msgs(b, h, b->sums, iov);
	if (b->ctl_len) {
		iov[n].iov_base = b->ctl;
		iov[n++].iov_len = b->ctl_len;
	}
	if (conn_writev(l->conn, iov, n))
		return -1;
	for (int i = 0; i < b->niov; i++)
		if (b->at[i] + b->iov[i].iov_len > l->sent_end)
			l->sent_end = b->at[i] + b->iov[i].iov_len;
	l->sent += b->bytes;
	if (l->x.max_bw) {
		/* --max-bandwidth: not ahead of the allowed rate */
		uint64_t due = l->bw_start + (uint64_t)((double)l->sent *
							1e9 / l->x.max_bw),
			 now = now_ns();

		if (!l->bw_start)
			l->bw_start = now;
		else if (due > now)
			usleep((due - now) / 1000);
	}
	l->x.st->write_ns += now_ns() - t0;
	l->x.st->bytes_written += b->bytes;
	return 0;
}

/* ---- compressed: one frame per buffer ---- */

/* A buffer's pieces (its non-zero pages) moved together at its start, in
 * order: the codecs take one contiguous input. Pieces only move down. */
static uint32_t gather(struct lbuf *b)
{
	size_t len = 0;

	for (int i = 0; i < b->niov; i++) {
		if ((uint8_t *)b->iov[i].iov_base != b->buf + len)
			memmove(b->buf + len, b->iov[i].iov_base,
				b->iov[i].iov_len);
		len += b->iov[i].iov_len;
	}
	return len;
}

/* The buffer as one frame (at most LOCAL_BATCH bytes of the page stream):
 * what is to be written is then its stored bytes. */
static void compress_buf(struct frame_codec *fc, struct lbuf *b)
{
	uint32_t len = gather(b);
	const void *stored = frame_compress(fc, b->buf, len, b->zbuf,
					    &b->frame);

	b->iov[0].iov_base = (void *)stored;
	b->iov[0].iov_len = b->frame.file_len;
	b->niov = 1;
	b->bytes = b->frame.file_len;
}

/*
 * Compressor threads take the full buffers in turn; compressing costs
 * more than reading and writing together (zstd: ~0.3-1 GB/s a core
 * here), so there is one per CPU (up to MAX_COMPRESSORS), and the writer
 * puts their frames back in order.
 */
static void *compressor_main(void *arg)
{
	struct compressor *c = arg;
	struct local_xfer *l = c->l;
	struct lbuf *b;

	pthread_mutex_lock(&l->lock);
	for (;;) {
		uint64_t t0;

		while ((b = &l->b[l->take])->state != LB_FULL && !l->stop)
			pthread_cond_wait(&l->cond, &l->lock);
		if (l->stop)
			break;
		b->state = LB_COMPRESSING;
		l->take = (l->take + 1) % LOCAL_NBUF;
		pthread_mutex_unlock(&l->lock);
		t0 = now_ns();
		compress_buf(c->fc, b);
		t0 = now_ns() - t0;
		pthread_mutex_lock(&l->lock);
		l->x.st->compress_ns += t0;
		l->x.st->bytes_compressed += b->frame.len;
		b->state = LB_READY;
		pthread_cond_broadcast(&l->cond);
	}
	pthread_mutex_unlock(&l->lock);
	return NULL;
}

static int add_frame(struct local_xfer *l, const struct page_frame *f)
{
	if (l->nr_frames == l->cap_frames) {
		size_t cap = l->cap_frames ? l->cap_frames * 2 : 4096;
		struct page_frame *nf = realloc(l->frames, cap * sizeof(*nf));

		if (!nf)
			return -1;
		l->frames = nf;
		l->cap_frames = cap;
	}
	l->frames[l->nr_frames++] = *f;
	return 0;
}

/* The compressed store: the frame written after the last one, and
 * recorded for the index. */
static int store_frame(struct local_xfer *l, struct lbuf *b)
{
	b->frame.off = l->stream_off;
	b->frame.file_off = l->file_off;
	if (add_frame(l, &b->frame))
		return -1;
	l->stream_off += b->frame.len;
	return write_buf(l, b);
}

static void *writer_main(void *arg)
{
	struct local_xfer *l = arg;

	pthread_mutex_lock(&l->lock);
	for (;;) {
		struct lbuf *b = &l->b[l->next];
		int ret;

		while (b->state != LB_READY && !l->stop)
			pthread_cond_wait(&l->cond, &l->lock);
		if (b->state != LB_READY)
			break;
		pthread_mutex_unlock(&l->lock);
		ret = l->failed ? -1 : l->store(l, b);
		pthread_mutex_lock(&l->lock);
		if (ret && !l->failed) {
			l->failed = true;
			l->err = errno;
		}
		b->state = LB_FREE;
		b->niov = 0;
		b->bytes = 0;
		b->ctl_len = 0;
		l->next = (l->next + 1) % LOCAL_NBUF;
		pthread_cond_broadcast(&l->cond);
	}
	pthread_mutex_unlock(&l->lock);
	return NULL;
}

static int net_reply(struct local_xfer *l, char *text, size_t len,
		     const char *stage);

static int local_failed(struct local_xfer *l)
{
	char why[XP_MAX_TEXT + 1];

	errno = l->err;
	if (!l->net) {
		pr_perror("write pages image pages-1.img at offset %lu",
			  (unsigned long)l->file_off);
		return -1;
	}
	/* the server says why it closed, if it did */
	if (l->err == EPIPE || l->err == ECONNRESET) {
		if (net_reply(l, why, sizeof(why), "transfer") < 0)
			return -1;	/* logged */
	}
	if (l->err == EAGAIN || l->err == EWOULDBLOCK) {
		l->timed_out = true;
		pr_err("%s took nothing for %u s (stopped, or the link is "
		       "gone?): the transfer is given up after %lu bytes of "
		       "pages (--idle-timeout)", l->peer, l->timeout_s,
		       (unsigned long)l->sent);
		return -1;
	}
	errno = l->err;
	pr_perror("%s: send pages after %lu bytes", l->peer,
		  (unsigned long)l->sent);
	return -1;
}

static uint8_t *local_buffer(struct page_xfer *x)
{
	struct local_xfer *l = (struct local_xfer *)x;

	return l->b[l->fill].buf;
}

/* len bytes at p of the current buffer, to land at offset at */
static int add_piece(struct local_xfer *l, const void *p, size_t len,
		     const uint32_t *csums, uint64_t at)
{
	struct lbuf *b = &l->b[l->fill];
	struct iovec *last = b->niov ? &b->iov[b->niov - 1] : NULL;

	if ((const uint8_t *)p < b->buf ||
	    (const uint8_t *)p + len > b->buf + l->x.batch ||
	    b->bytes + len > l->x.batch) {
		pr_err("page transfer: data outside the current batch");
		return -1;
	}
	memcpy(b->sums + b->bytes / PAGE_SZ, csums,
	       len / PAGE_SZ * sizeof(*csums));
	if (last && (uint8_t *)last->iov_base + last->iov_len == p &&
	    b->at[b->niov - 1] + last->iov_len == at) {
		last->iov_len += len;
	} else {
		/* every piece holds a page of its own: never more than
		 * BATCH_PAGES of them */
		b->iov[b->niov].iov_base = (void *)p;
		b->iov[b->niov].iov_len = len;
		b->at[b->niov] = at;
		b->niov++;
	}
	b->bytes += len;
	return 0;
}

static int local_add(struct page_xfer *x, const void *p, size_t len,
		     const uint32_t *csums)
{
	if (add_piece((struct local_xfer *)x, p, len, csums, x->offset))
		return -1;
	x->offset += len;
	return 0;
}

/* Placed pages: only in [0, x->placed), before what is appended. */
static int net_add_at(struct page_xfer *x, const void *p, size_t len,
		      const uint32_t *csums, uint64_t off)
{
	if (off % PAGE_SZ || off + len > x->placed) {
		pr_err("page transfer: %zu bytes placed at %#lx, outside the "
		       "%#lx bytes kept for them", len, (unsigned long)off,
		       (unsigned long)x->placed);
		return -1;
	}
	return add_piece((struct local_xfer *)x, p, len, csums, off);
}

int page_xfer_place(struct page_xfer *x, uint64_t bytes)
{
	struct local_xfer *l = (struct local_xfer *)x;

	if (!l->net || !x->ops->add_at || x->offset || bytes % PAGE_SZ)
		return -1;
	x->placed = bytes;
	x->offset = bytes;
	return 0;
}

static int ctl_add(struct local_xfer *l, uint32_t type, uint32_t id,
		   uint64_t off, const void *data, size_t len);
static int local_submit(struct page_xfer *x);

int page_xfer_hold_hint(struct page_xfer *x, const uint64_t *pairs, size_t n)
{
	struct local_xfer *l = (struct local_xfer *)x;

	if (!l->net || !n)
		return 0;
	/* out before any page: those of these places are held only; off:
	 * where the pages not placed will be appended (the receiver
	 * prepares that part of its file) */
	if (ctl_add(l, X_HOLD, 0, x->placed, pairs, n * 2 * sizeof(*pairs)))
		return -1;
	return local_submit(x);
}

static int local_submit(struct page_xfer *x)
{
	struct local_xfer *l = (struct local_xfer *)x;
	int ret;

	if (!l->b[l->fill].bytes && !l->b[l->fill].ctl_len)
		return 0;	/* all zero: nothing to write, reuse it */
	pthread_mutex_lock(&l->lock);
	l->b[l->fill].state = l->nr_comp ? LB_FULL : LB_READY;
	pthread_cond_broadcast(&l->cond);
	l->fill = (l->fill + 1) % LOCAL_NBUF;
	while (l->b[l->fill].state != LB_FREE && !l->failed)
		pthread_cond_wait(&l->cond, &l->lock);
	ret = l->failed ? -1 : 0;
	pthread_mutex_unlock(&l->lock);
	return ret ? local_failed(l) : 0;
}

static int local_pagemap_begin(struct page_xfer *x, pid_t vpid)
{
	struct local_xfer *l = (struct local_xfer *)x;

	if (l->pm) {
		pr_err("page transfer: pagemap of two processes at once");
		return -1;
	}
	l->pm = img_open_write(l->dirfd, IMG_PAGEMAP, vpid);
	return l->pm ? 0 : -1;
}

static int local_pagemap_entry(struct page_xfer *x, const PagemapEntry *e)
{
	struct local_xfer *l = (struct local_xfer *)x;

	return img_write_msg(l->pm, &e->base);
}

static int local_pagemap_end(struct page_xfer *x, bool ok)
{
	struct local_xfer *l = (struct local_xfer *)x;
	int ret = 0;

	if (ok)
		ret = img_close(l->pm);
	else
		img_discard(l->pm);
	l->pm = NULL;
	return ret;
}

static int net_flush(struct local_xfer *l);
static int wait_idle(struct local_xfer *l);
static const struct page_xfer_ops local_ops;

static int local_flush(struct page_xfer *x)
{
	struct local_xfer *l = (struct local_xfer *)x;
	uint64_t t0;

	if (local_submit(x))
		return -1;
	if (l->net)
		return net_flush(l);
	if (wait_idle(l))
		return -1;
	/* the writer is idle: its fields are ours until the next submit */
	if (l->alloc_end > l->file_off) {
		if (ftruncate(l->fd, l->file_off)) {
			pr_perror("truncate pages-1.img");
			return -1;
		}
		l->alloc_end = l->file_off;
	}
	if (!x->durable)
		return 0;
	t0 = now_ns();
	if (fsync(l->fd) && errno != EINVAL) {
		pr_perror("fsync pages-1.img");
		return -1;
	}
	l->wb_start = l->file_off;
	x->st->sync_ns += now_ns() - t0;
	return 0;
}

/* ---- written by another path (page-splice.h) ---- */

bool page_xfer_can_direct(const struct page_xfer *x)
{
	return x->ops == &local_ops && !x->placed;
}

int page_xfer_direct_begin(struct page_xfer *x)
{
	struct local_xfer *l = (struct local_xfer *)x;

	if (!page_xfer_can_direct(x))
		return -1;
	if (local_submit(x) || wait_idle(l))
		return -2;
	return l->fd;
}

void page_xfer_direct_room(struct page_xfer *x, uint64_t len)
{
	struct local_xfer *l = (struct local_xfer *)x;

	prealloc_for(l, l->file_off + len);
}

void page_xfer_direct_wrote(struct page_xfer *x, uint64_t len, uint64_t ns)
{
	struct local_xfer *l = (struct local_xfer *)x;

	l->file_off += len;
	x->offset += len;
	if (x->durable && l->file_off - l->wb_start >= WRITEBACK_STEP) {
		sync_file_range(l->fd, l->wb_start, l->file_off - l->wb_start,
				SYNC_FILE_RANGE_WRITE);
		l->wb_start = l->file_off;
	}
	x->st->write_ns += ns;
	x->st->bytes_written += len;
}

/* ---- over the network: the same ring, sent to a page server ---- */

static int ctl_add(struct local_xfer *l, uint32_t type, uint32_t id,
		   uint64_t off, const void *data, size_t len)
{
	struct lbuf *b = &l->b[l->fill];
	struct xp_hdr h = { type, id, off, len };

	if (b->ctl_len + sizeof(h) + len > b->ctl_cap) {
		size_t cap = (b->ctl_len + sizeof(h) + len) * 2;
		uint8_t *n = realloc(b->ctl, cap);

		if (!n)
			return -1;
		b->ctl = n;
		b->ctl_cap = cap;
	}
	memcpy(b->ctl + b->ctl_len, &h, sizeof(h));
	if (len)
		memcpy(b->ctl + b->ctl_len + sizeof(h), data, len);
	b->ctl_len += sizeof(h) + len;
	return 0;
}

/* A read of a reply failed: why, naming the stage it answers. */
static void reply_failed(struct local_xfer *l, const char *stage, bool cut)
{
	if (errno == EAGAIN || errno == EWOULDBLOCK) {
		l->timed_out = true;
		pr_err("%s: no answer to the %s for %u s (stopped, the link "
		       "gone, or not criu-lite?): given up (--idle-timeout)",
		       l->peer, stage, l->timeout_s);
	} else {
		pr_perror("%s: %s to the %s (connection lost)", l->peer, cut ?
			  "answer cut short" : "no answer", stage);
	}
}

/*
 * A reply of the server: 0 (ok, its text in text), or -1 (logged: the
 * server's reason, or that the connection is gone or silent for the
 * timeout). stage names what it answers, for messages.
 */
static int net_reply(struct local_xfer *l, char *text, size_t size,
		     const char *stage)
{
	struct xp_reply r;
	size_t n;

	if (conn_read(l->conn, &r, sizeof(r))) {
		reply_failed(l, stage, false);
		return -1;
	}
	if (r.text_len > XP_MAX_TEXT) {
		pr_err("%s: bad answer to the %s (not a criu-lite page server?)",
		       l->peer, stage);
		return -1;
	}
	n = r.text_len < size ? r.text_len : size - 1;
	if (conn_read(l->conn, text, n)) {
		reply_failed(l, stage, true);
		return -1;
	}
	text[n] = 0;
	for (uint32_t i = n; i < r.text_len; i++) {
		char c;

		if (conn_read(l->conn, &c, 1))
			break;
	}
	if (r.status) {
		pr_err("%s refused: %s", l->peer, text);
		return -1;
	}
	return 0;
}

static int wait_idle(struct local_xfer *l)
{
	bool failed;

	pthread_mutex_lock(&l->lock);
	for (;;) {
		bool busy = false;

		for (int i = 0; i < LOCAL_NBUF; i++)
			busy |= l->b[i].state != LB_FREE;
		if (!busy || l->failed)
			break;
		pthread_cond_wait(&l->cond, &l->lock);
	}
	failed = l->failed;
	pthread_mutex_unlock(&l->lock);
	return failed ? local_failed(l) : 0;
}

/* The writer is idle after wait_idle: the connection is ours. */
static int net_request(struct local_xfer *l, uint32_t type, uint64_t off,
		       char *text, size_t size)
{
	struct xp_hdr h = { type, 0, off, 0 };

	if (wait_idle(l))
		return -1;
	if (conn_write(l->conn, &h, sizeof(h))) {
		l->err = errno;
		return local_failed(l);
	}
	l->done_sent |= type == X_DONE;
	return net_reply(l, text, size, type == X_DONE ? "end of the transfer"
			 : "flush");
}

static int net_flush(struct local_xfer *l)
{
	char text[XP_MAX_TEXT + 1];
	uint64_t t0 = now_ns();

	if (net_request(l, X_FLUSH, l->x.durable, text, sizeof(text)))
		return -1;
	/* placed pages: the pages file ends where the farthest piece sent
	 * does (nothing may have been appended after the places yet) */
	if (strtoull(text, NULL, 10) != (l->x.placed ? l->sent_end :
					 l->x.offset)) {
		pr_err("%s has %s bytes of pages, %lu were sent", l->peer,
		       text, (unsigned long)(l->x.placed ? l->sent_end :
					     l->x.offset));
		return -1;
	}
	if (l->x.durable)
		l->x.st->sync_ns += now_ns() - t0;
	return 0;
}

/* A layer's pagemaps are also kept in its own directory (dirfd set):
 * the next layer finds there what this one holds. */
static int net_pagemap_begin(struct page_xfer *x, pid_t vpid)
{
	struct local_xfer *l = (struct local_xfer *)x;

	if (l->dirfd >= 0 && local_pagemap_begin(x, vpid))
		return -1;
	return ctl_add(l, X_PM_BEGIN, vpid, 0, NULL, 0);
}

/* CRIU_LITE_FAULT=xfer-resend: a page of a run already stored in a
 * pagemap sent again (a zero page, its checksum right): the receiver must
 * refuse it, as that entry would no longer match its pages */
static int resend_page(struct local_xfer *l, uint64_t off)
{
	uint8_t *m = calloc(1, PAGE_SZ + sizeof(uint32_t));
	uint32_t sum;
	int ret;

	if (!m)
		return -1;
	sum = page_crc(m);
	memcpy(m + PAGE_SZ, &sum, sizeof(sum));
	ret = ctl_add(l, X_PAGES, 1, off, m, PAGE_SZ + sizeof(sum));
	free(m);
	l->resent = true;
	return ret;
}

/* The receiver has each page's checksum as its page arrived (checked
 * then): an entry goes without them, its run's checksum (their fold) the
 * cross-check (page-server.c check_run). Tests: xfer-run-sum changes the
 * first run's, as a page changed between sending and storing would. */
static int net_pagemap_entry(struct page_xfer *x, const PagemapEntry *e)
{
	struct local_xfer *l = (struct local_xfer *)x;
	PagemapEntry w = *e;
	size_t len;
	uint8_t *buf;
	int ret;

	if (l->dirfd >= 0 && local_pagemap_entry(x, e))
		return -1;
	w.n_page_csums = 0;
	w.page_csums = NULL;
	if ((w.flags & PE_PRESENT) && !l->run_sum_changed &&
	    fault_at("xfer-run-sum")) {
		w.checksum ^= 1;
		l->run_sum_changed = true;
	}
	len = pagemap_entry__get_packed_size(&w);
	buf = malloc(len ? len : 1);
	if (!buf)
		return -1;
	pagemap_entry__pack(&w, buf);
	ret = ctl_add(l, X_PM_ENTRY, 0, 0, buf, len);
	free(buf);
	if (!ret && x->placed && (w.flags & PE_PRESENT) && !l->resent &&
	    fault_at("xfer-resend"))
		ret = resend_page(l, w.offset);
	return ret;
}

static int net_pagemap_end(struct page_xfer *x, bool ok)
{
	struct local_xfer *l = (struct local_xfer *)x;

	if (l->dirfd >= 0 && local_pagemap_end(x, ok))
		return -1;
	return ctl_add(l, X_PM_END, 0, ok, NULL, 0);
}

/* Over the network only: a message after every page so far is out */
static int net_send_after_pages(struct page_xfer *x, struct iovec *iov,
				int n)
{
	struct local_xfer *l = (struct local_xfer *)x;

	if (!l->net)
		return 0;
	if (local_submit(x) || wait_idle(l))
		return -1;
	if (conn_writev(l->conn, iov, n)) {
		l->err = errno;
		return local_failed(l);
	}
	return 0;
}

int page_xfer_send_link(struct page_xfer *x, const char *target)
{
	size_t len = strlen(target);
	struct xp_hdr h = { X_PARENT, 0, 0, len };
	struct iovec iov[2] = { { &h, sizeof(h) }, { (void *)target, len } };

	return net_send_after_pages(x, iov, 2);
}

int page_xfer_send_file(struct page_xfer *x, const char *name,
			const void *data, size_t len)
{
	size_t nlen = strlen(name);
	struct xp_hdr h = { X_FILE, nlen, 0, nlen + len };
	struct iovec iov[3] = { { &h, sizeof(h) }, { (void *)name, nlen },
				{ (void *)data, len } };

	return net_send_after_pages(x, iov, 3);
}

int page_xfer_done(struct page_xfer *x)
{
	struct local_xfer *l = (struct local_xfer *)x;
	char text[XP_MAX_TEXT + 1];

	if (!l->net)
		return 0;
	if (local_submit(x))
		return -1;
	return net_request(l, X_DONE, x->durable, text, sizeof(text));
}

int page_xfer_conn_fd(const struct page_xfer *x)
{
	const struct local_xfer *l = (const struct local_xfer *)x;

	return l->net ? conn_fd(l->conn) : -1;
}

int page_xfer_reply(struct page_xfer *x, char *text, size_t size)
{
	struct local_xfer *l = (struct local_xfer *)x;

	return l->net ? net_reply(l, text, size, "hand-over (its restore)") : 0;
}

bool page_xfer_outcome_unknown(const struct page_xfer *x)
{
	const struct local_xfer *l = (const struct local_xfer *)x;

	return l->net && l->done_sent && l->timed_out;
}

/* Compressed: the pages file is readable only with its index, written
 * whole at each flush (pre-copy flushes before the final dump goes on). */
static int frames_flush(struct page_xfer *x)
{
	struct local_xfer *l = (struct local_xfer *)x;

	if (local_flush(x))
		return -1;
	return frames_write(l->dirfd, 1, l->frames, l->nr_frames);
}

static void local_close(struct page_xfer *x)
{
	struct local_xfer *l = (struct local_xfer *)x;

	pthread_mutex_lock(&l->lock);
	l->stop = true;
	l->failed = true;	/* what is still queued is dropped */
	pthread_cond_broadcast(&l->cond);
	pthread_mutex_unlock(&l->lock);
	if (l->thread_up)
		pthread_join(l->thread, NULL);
	for (unsigned i = 0; i < MAX_COMPRESSORS; i++) {
		if (l->comp[i].up)
			pthread_join(l->comp[i].thread, NULL);
		frame_codec_free(l->comp[i].fc);
	}
	img_discard(l->pm);
	conn_close(l->conn);
	if (l->fd >= 0)
		close(l->fd);
	if (l->mem)
		munmap(l->mem, LOCAL_BATCH * LOCAL_NBUF);
	for (int i = 0; i < LOCAL_NBUF; i++) {
		free(l->b[i].ctl);
		free(l->b[i].zbuf);
	}
	free(l->frames);
	pthread_mutex_destroy(&l->lock);
	pthread_cond_destroy(&l->cond);
	free(l);
}

static const struct page_xfer_ops local_ops = {
	.buffer = local_buffer,
	.add = local_add,
	.submit = local_submit,
	.pagemap_begin = local_pagemap_begin,
	.pagemap_entry = local_pagemap_entry,
	.pagemap_end = local_pagemap_end,
	.flush = local_flush,
	.close = local_close,
};

static const struct page_xfer_ops net_ops = {
	.buffer = local_buffer,
	.add = local_add,
	.add_at = net_add_at,
	.submit = local_submit,
	.pagemap_begin = net_pagemap_begin,
	.pagemap_entry = net_pagemap_entry,
	.pagemap_end = net_pagemap_end,
	.flush = local_flush,
	.close = local_close,
};

static int start_ring(struct local_xfer *l)
{
	l->mem = mmap(NULL, LOCAL_BATCH * LOCAL_NBUF, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (l->mem == MAP_FAILED) {
		l->mem = NULL;
		pr_perror("page transfer buffers");
		return -1;
	}
	for (int i = 0; i < LOCAL_NBUF; i++)
		l->b[i].buf = l->mem + i * LOCAL_BATCH;
	if (pthread_create(&l->thread, NULL, writer_main, l)) {
		pr_err("can't start the page writer thread");
		return -1;
	}
	l->thread_up = true;
	return 0;
}

struct page_xfer *page_xfer_open_net(const struct net_sink *ns, bool durable,
				     struct dump_stats *st)
{
	struct local_xfer *l = calloc(1, sizeof(*l));
	bool migrate = ns->migrate;
	struct xp_hello hello = { XP_MAGIC, XP_VERSION,
				  !migrate ? XP_PUSH : ns->postcopy ?
				  XP_MIGRATE_POSTCOPY : XP_MIGRATE };
	char text[XP_MAX_TEXT + 1];

	if (!l)
		return NULL;
	l->x.ops = &net_ops;
	l->store = send_buf;
	l->x.batch = LOCAL_BATCH;
	l->x.durable = durable;
	l->x.st = st;
	l->net = true;
	l->dirfd = ns->pagemap_dirfd;
	l->fd = -1;
	l->timeout_s = ns->timeout_s;
	snprintf(l->peer, sizeof(l->peer), "%s %s:%u", migrate ?
		 "migration destination" : "page server", ns->host, ns->port);
	pthread_mutex_init(&l->lock, NULL);
	pthread_cond_init(&l->cond, NULL);
	l->conn = conn_connect(ns->host, ns->port, ns->tls, migrate ?
			       "migration destination" : "page server",
			       ns->timeout_s);
	if (!l->conn)
		goto err;
	if (conn_write(l->conn, &hello, sizeof(hello))) {
		pr_perror("%s: send greeting", l->peer);
		goto err;
	}
	if (net_reply(l, text, sizeof(text), "greeting") || start_ring(l))
		goto err;
	return &l->x;
err:
	local_close(&l->x);
	return NULL;
}

/* The same, the pages file compressed frame by frame and indexed. */
static const struct page_xfer_ops frames_ops = {
	.buffer = local_buffer,
	.add = local_add,
	.submit = local_submit,
	.pagemap_begin = local_pagemap_begin,
	.pagemap_entry = local_pagemap_entry,
	.pagemap_end = local_pagemap_end,
	.flush = frames_flush,
	.close = local_close,
};

_Static_assert(LOCAL_BATCH <= FRAME_MAX_LEN, "a buffer is one frame");

static unsigned nr_compressors(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : n > MAX_COMPRESSORS ? MAX_COMPRESSORS : n;
}

/* Compressed: a frame buffer per buffer, a codec per compressor. */
static int setup_frames(struct local_xfer *l, unsigned codec)
{
	l->x.ops = &frames_ops;
	l->store = store_frame;
	for (int i = 0; i < LOCAL_NBUF; i++)
		if (!(l->b[i].zbuf = malloc(frame_stored_max())))
			goto nomem;
	for (unsigned i = 0; i < nr_compressors(); i++) {
		struct compressor *c = &l->comp[i];

		c->l = l;
		c->fc = frame_codec_new(codec);
		if (!c->fc)
			goto nomem;
		if (pthread_create(&c->thread, NULL, compressor_main, c)) {
			pr_err("can't start a page compressor thread");
			return -1;
		}
		c->up = true;
		l->nr_comp++;
	}
	return 0;
nomem:
	pr_err("page transfer: out of memory for the %s codec",
	       pages_codec_name(codec));
	return -1;
}

struct page_xfer *page_xfer_open_local(int dirfd, bool durable, unsigned codec,
				       struct dump_stats *st)
{
	struct local_xfer *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	l->x.ops = &local_ops;
	l->store = write_buf;
	l->x.batch = LOCAL_BATCH;
	l->x.durable = durable;
	l->x.st = st;
	l->dirfd = dirfd;
	l->prealloc = true;
	pthread_mutex_init(&l->lock, NULL);
	pthread_cond_init(&l->cond, NULL);
	/* Durable images are written back piece by piece while the dump
	 * goes on (sync_file_range) and stay in the page cache. O_DIRECT
	 * was tried: it saves 2-3x faster here, but a restore right after
	 * (a migration) then reads the image back from the disk and the
	 * guest's pause grew from ~4 s to ~5.5 s at 2 GiB. */
	l->fd = openat(dirfd, "pages-1.img",
		       O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (l->fd < 0) {
		pr_perror("create pages-1.img");
		goto err;
	}
	if ((codec != PAGES_CODEC_NONE && setup_frames(l, codec)) ||
	    start_ring(l))
		goto err;
	return &l->x;
err:
	local_close(&l->x);
	return NULL;
}
