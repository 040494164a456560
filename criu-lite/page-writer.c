// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#include "log.h"
#include "page-writer.h"
#include "seize.h"

#define BATCH_IOV	4096

struct batch {
	uint8_t *buf;
	struct iovec iov[BATCH_IOV];
	int niov;
	size_t bytes;
	bool full;		/* handed to the writer, not written yet */
};

struct page_writer {
	int fd;
	size_t batch_len;
	struct dump_stats *st;
	struct batch b[2];
	int cur;		/* the one being filled */
	uint64_t file_off;	/* where the writer thread writes next */
	bool stop, failed;
	bool durable;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
};

static int write_batch(struct page_writer *w, struct batch *b)
{
	uint64_t t0 = now_ns(), start = w->file_off;

	for (int i = 0; i < b->niov;) {
		int n = b->niov - i < IOV_MAX ? b->niov - i : IOV_MAX;
		size_t want = 0;
		ssize_t done;

		for (int k = 0; k < n; k++)
			want += b->iov[i + k].iov_len;
		done = pwritev(w->fd, b->iov + i, n, w->file_off);
		if (done < 0 && errno == EINTR)
			continue;
		if (done != (ssize_t)want) {
			/* short writes: finish this piece by piece */
			for (int k = 0; k < n; k++) {
				if (pwrite_all(w->fd, b->iov[i + k].iov_base,
					       b->iov[i + k].iov_len, w->file_off)) {
					pr_perror("write pages image at offset %lu",
						  (unsigned long)w->file_off);
					return -1;
				}
				w->file_off += b->iov[i + k].iov_len;
			}
		} else {
			w->file_off += want;
		}
		i += n;
	}
	if (w->durable && w->file_off > start)
		sync_file_range(w->fd, start, w->file_off - start,
				SYNC_FILE_RANGE_WRITE);
	w->st->write_ns += now_ns() - t0;
	w->st->bytes_written += w->file_off - start;
	return 0;
}

static void *writer_main(void *arg)
{
	struct page_writer *w = arg;
	int next = 0;

	pthread_mutex_lock(&w->lock);
	for (;;) {
		struct batch *b = &w->b[next];

		while (!b->full && !w->stop)
			pthread_cond_wait(&w->cond, &w->lock);
		if (!b->full)
			break;
		pthread_mutex_unlock(&w->lock);
		int ret = w->failed ? -1 : write_batch(w, b);
		pthread_mutex_lock(&w->lock);
		if (ret)
			w->failed = true;
		b->full = false;
		b->niov = 0;
		b->bytes = 0;
		next ^= 1;
		pthread_cond_broadcast(&w->cond);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

struct page_writer *page_writer_start(int fd, uint64_t off, size_t batch_len,
				      bool durable, struct dump_stats *st)
{
	struct page_writer *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	w->fd = fd;
	w->batch_len = batch_len;
	w->st = st;
	w->file_off = off;
	w->durable = durable;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);
	for (int i = 0; i < 2; i++) {
		w->b[i].buf = mmap(NULL, batch_len, PROT_READ | PROT_WRITE,
				   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (w->b[i].buf == MAP_FAILED)
			goto err;
	}
	if (pthread_create(&w->thread, NULL, writer_main, w)) {
		pr_err("can't start the page writer thread");
		goto err;
	}
	return w;
err:
	for (int i = 0; i < 2; i++)
		if (w->b[i].buf && w->b[i].buf != MAP_FAILED)
			munmap(w->b[i].buf, batch_len);
	free(w);
	return NULL;
}

uint8_t *page_writer_buffer(struct page_writer *w)
{
	return w->b[w->cur].buf;
}

int page_writer_add(struct page_writer *w, const void *p, size_t len)
{
	struct batch *b = &w->b[w->cur];
	struct iovec *last = b->niov ? &b->iov[b->niov - 1] : NULL;

	if (last && (uint8_t *)last->iov_base + last->iov_len == p) {
		last->iov_len += len;
	} else {
		if (b->niov == BATCH_IOV && page_writer_submit(w))
			return -1;
		b = &w->b[w->cur];
		if ((const uint8_t *)p < b->buf ||
		    (const uint8_t *)p + len > b->buf + w->batch_len) {
			/* e.g. in the buffer just handed over: it may be
			 * written or reused already */
			pr_err("page writer: data outside the current batch");
			return -1;
		}
		b->iov[b->niov].iov_base = (void *)p;
		b->iov[b->niov].iov_len = len;
		b->niov++;
	}
	b->bytes += len;
	return 0;
}

int page_writer_submit(struct page_writer *w)
{
	int other = w->cur ^ 1, ret;

	pthread_mutex_lock(&w->lock);
	w->b[w->cur].full = true;
	pthread_cond_broadcast(&w->cond);
	while (w->b[other].full)
		pthread_cond_wait(&w->cond, &w->lock);
	w->cur = other;
	ret = w->failed ? -1 : 0;
	pthread_mutex_unlock(&w->lock);
	return ret;
}

int page_writer_finish(struct page_writer *w)
{
	int ret;

	if (!w)
		return 0;
	ret = page_writer_submit(w);
	pthread_mutex_lock(&w->lock);
	w->stop = true;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	if (w->failed)
		ret = -1;
	for (int i = 0; i < 2; i++)
		munmap(w->b[i].buf, w->batch_len);
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->cond);
	free(w);
	return ret;
}
