/*
 * link-ceiling: what the link between the experiments' two hosts carries at
 * best over TCP, measured in the same run as the migrations that cross it
 * (experiments/matrix/run-experiments.sh), so each mode's throughput can be
 * put beside it.
 *
 *   link-ceiling -l ADDR [-n STREAMS]
 *       listens on ADDR (port chosen by the kernel), prints "port=N" on the
 *       first line of stdout, accepts STREAMS connections (default 1), reads
 *       each until its end, then prints the bytes received, the time from
 *       the first connection to the last byte, and the rate:
 *       "bytes=B ms=T mb_s=R streams=S" (MB = 10^6 bytes, as QEMU's mbps).
 *   link-ceiling -c ADDR:PORT [-n STREAMS] [-s SECONDS]
 *       sends zeros-free data (a pattern, so no layer can shortcut zeros)
 *       on STREAMS connections for SECONDS (default 2), 1 MiB per write(),
 *       then closes them; prints what it sent the same way.
 *
 * The receiver's figure is the one to use: it counts what arrived. Each
 * stream is a thread; the receiver's clock starts at the first accept.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BUF_SZ (1 << 20)
#define MAX_STREAMS 16

struct stream {
	int fd;
	double until;		/* sender: stop after this time (s) */
	uint64_t bytes;
	int err;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *receive(void *arg)
{
	struct stream *s = arg;
	char *buf = malloc(BUF_SZ);
	ssize_t n;

	if (!buf) {
		s->err = ENOMEM;
		return NULL;
	}
	while ((n = read(s->fd, buf, BUF_SZ)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			s->err = errno;
			break;
		}
		s->bytes += n;
	}
	free(buf);
	close(s->fd);
	return NULL;
}

static void *send_until(void *arg)
{
	struct stream *s = arg;
	char *buf = malloc(BUF_SZ);

	if (!buf) {
		s->err = ENOMEM;
		return NULL;
	}
	for (size_t i = 0; i < BUF_SZ; i++)
		buf[i] = (char)(i * 131 + 7);
	while (now_s() < s->until) {
		size_t off = 0;

		while (off < BUF_SZ) {
			ssize_t n = write(s->fd, buf + off, BUF_SZ - off);

			if (n < 0) {
				if (errno == EINTR)
					continue;
				s->err = errno;
				goto out;
			}
			off += n;
			s->bytes += n;
		}
	}
out:
	free(buf);
	close(s->fd);
	return NULL;
}

/* parse "ADDR" or "ADDR:PORT" (IPv4) */
static int parse_addr(const char *arg, struct sockaddr_in *sa, int need_port)
{
	char host[64];
	const char *colon = strrchr(arg, ':');
	size_t len = colon ? (size_t)(colon - arg) : strlen(arg);

	if ((need_port && !colon) || len >= sizeof(host))
		return -1;
	memcpy(host, arg, len);
	host[len] = 0;
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons(colon ? atoi(colon + 1) : 0);
	return inet_pton(AF_INET, host, &sa->sin_addr) == 1 ? 0 : -1;
}

static void report(struct stream *st, int n, double t0, double t1)
{
	uint64_t bytes = 0;

	for (int i = 0; i < n; i++) {
		if (st[i].err)
			fprintf(stderr, "link-ceiling: stream %d: %s\n", i,
				strerror(st[i].err));
		bytes += st[i].bytes;
	}
	printf("bytes=%llu ms=%.0f mb_s=%.1f streams=%d\n",
	       (unsigned long long)bytes, (t1 - t0) * 1e3,
	       t1 > t0 ? bytes / (t1 - t0) / 1e6 : 0.0, n);
}

static int run_listener(const struct sockaddr_in *sa, int n)
{
	struct stream st[MAX_STREAMS] = { 0 };
	pthread_t th[MAX_STREAMS];
	struct sockaddr_in bound;
	socklen_t len = sizeof(bound);
	int one = 1, l;
	double t0 = 0;

	l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (l < 0 || setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(l, (const struct sockaddr *)sa, sizeof(*sa)) || listen(l, n) ||
	    getsockname(l, (struct sockaddr *)&bound, &len)) {
		perror("link-ceiling: listen");
		return 1;
	}
	printf("port=%d\n", ntohs(bound.sin_port));
	fflush(stdout);
	for (int i = 0; i < n; i++) {
		st[i].fd = accept4(l, NULL, NULL, SOCK_CLOEXEC);
		if (st[i].fd < 0) {
			perror("link-ceiling: accept");
			return 1;
		}
		if (!i)
			t0 = now_s();
		if (pthread_create(&th[i], NULL, receive, &st[i])) {
			fprintf(stderr, "link-ceiling: no thread\n");
			return 1;
		}
	}
	for (int i = 0; i < n; i++)
		pthread_join(th[i], NULL);
	report(st, n, t0, now_s());
	return 0;
}

static int run_sender(const struct sockaddr_in *sa, int n, double secs)
{
	struct stream st[MAX_STREAMS] = { 0 };
	pthread_t th[MAX_STREAMS];
	double t0;

	for (int i = 0; i < n; i++) {
		st[i].fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (st[i].fd < 0 || connect(st[i].fd, (const struct sockaddr *)sa,
					    sizeof(*sa))) {
			perror("link-ceiling: connect");
			return 1;
		}
	}
	t0 = now_s();
	for (int i = 0; i < n; i++) {
		st[i].until = t0 + secs;
		if (pthread_create(&th[i], NULL, send_until, &st[i])) {
			fprintf(stderr, "link-ceiling: no thread\n");
			return 1;
		}
	}
	for (int i = 0; i < n; i++)
		pthread_join(th[i], NULL);
	report(st, n, t0, now_s());
	return 0;
}

int main(int argc, char **argv)
{
	const char *listen_at = NULL, *connect_to = NULL;
	struct sockaddr_in sa;
	double secs = 2;
	int n = 1, opt;

	while ((opt = getopt(argc, argv, "l:c:n:s:")) != -1) {
		switch (opt) {
		case 'l': listen_at = optarg; break;
		case 'c': connect_to = optarg; break;
		case 'n': n = atoi(optarg); break;
		case 's': secs = atof(optarg); break;
		default: goto usage;
		}
	}
	if (n < 1 || n > MAX_STREAMS || secs <= 0 || !listen_at == !connect_to)
		goto usage;
	if (parse_addr(listen_at ? listen_at : connect_to, &sa, !listen_at)) {
		fprintf(stderr, "link-ceiling: bad address %s\n",
			listen_at ? listen_at : connect_to);
		return 2;
	}
	return listen_at ? run_listener(&sa, n) : run_sender(&sa, n, secs);
usage:
	fprintf(stderr, "usage: link-ceiling -l ADDR [-n STREAMS]\n"
		"       link-ceiling -c ADDR:PORT [-n STREAMS] [-s SECONDS]\n");
	return 2;
}
