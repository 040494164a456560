// SPDX-License-Identifier: GPL-2.0
/*
 * pipe_pump: a writer thread pumps a sequence of u64 numbers through a
 * pipe in chunks of random size, a reader thread reads it back with reads
 * of random size (so values straddle reads) and checks that the sequence
 * has no gap, no repeat and no garbage.  At a checkpoint the pipe holds
 * data in flight and either thread may be blocked in write() or read(),
 * possibly part way through a chunk.  On SIGTERM the writer closes its end;
 * the reader must then have read exactly what was written.
 *
 * Corrupt points: seq.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "zdtmtst.h"

#define MAX_CHUNK	512	/* values */

static int pipe_fd[2];
static uint64_t written, received;

/* Writes all of @len bytes; write() may stop part way on a signal. */
static int write_all(const uint8_t *p, size_t len)
{
	while (len) {
		ssize_t n = write(pipe_fd[1], p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= n;
	}
	return 0;
}

static void *writer(void *arg)
{
	uint64_t buf[MAX_CHUNK], seq = 0;
	unsigned int rnd = 1, i, n;
	bool corrupt = test_corrupt("seq");

	(void)arg;
	do {
		n = 1 + rand_r(&rnd) % MAX_CHUNK;
		for (i = 0; i < n; i++)
			buf[i] = seq++;
		if (corrupt) {
			buf[n - 1]++;
			corrupt = false;
		}
		if (write_all((uint8_t *)buf, n * 8)) {
			test_fail("writer: write: %m");
			break;
		}
	} while (!test_stop);
	written = seq;
	close(pipe_fd[1]);
	return NULL;
}

static void *reader(void *arg)
{
	uint8_t buf[4096 + 8];
	unsigned int rnd = 2, errors = 0;
	size_t have = 0, i;
	uint64_t expect = 0, v;
	ssize_t n;

	(void)arg;
	for (;;) {
		n = read(pipe_fd[0], buf + have, 1 + rand_r(&rnd) % 4096);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			test_fail("reader: read: %m");
		if (n <= 0)
			break;
		have += n;
		for (i = 0; i + 8 <= have; i += 8) {
			memcpy(&v, buf + i, 8);
			if (v != expect && errors++ < 3)
				test_fail("reader: got %lu, expected %lu",
					  (unsigned long)v, (unsigned long)expect);
			expect = v + 1;
		}
		memmove(buf, buf + i, have - i);
		have -= i;
	}
	if (have)
		test_fail("reader: %zu stray bytes at EOF", have);
	received = expect;
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t w, r;

	test_init(argc, argv);
	if (pipe(pipe_fd))
		test_abort("pipe: %m");
	if (pthread_create(&w, NULL, writer, NULL) ||
	    pthread_create(&r, NULL, reader, NULL))
		test_abort("pthread_create: %m");

	test_ready();
	test_wait_term();
	pthread_join(w, NULL);
	pthread_join(r, NULL);
	if (received != written)
		test_fail("wrote %lu values, read %lu", (unsigned long)written,
			  (unsigned long)received);
	if (!written)
		test_fail("nothing was pumped");
	test_msg("pumped %lu values", (unsigned long)written);
	test_done();
}
