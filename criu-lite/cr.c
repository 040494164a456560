// SPDX-License-Identifier: GPL-2.0
/* What cr.h promises: fault injection, the CPU's xsave features, full
 * writes, unix socket messages with an fd, and the list of what a dump refuses. */
#include <errno.h>
#include <pthread.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "cr.h"
#include "log.h"

/* CRIU_LITE_PAUSE=<point>: wait there (up to 30 s) for SIGINT, SIGTERM or
 * SIGHUP, which a dump blocks and checks at its next stage: a test can
 * interrupt it at a known place. The signal stays pending. */
void pause_at(const char *point)
{
	const char *f = getenv("CRIU_LITE_PAUSE");
	struct timespec ts = { 30, 0 };
	sigset_t sigs, old;
	int sig;

	if (!f || strcmp(f, point))
		return;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGCONT);
	pthread_sigmask(SIG_BLOCK, &sigs, &old);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	pr_err("paused at %s (CRIU_LITE_PAUSE)", point);
	sig = sigtimedwait(&sigs, NULL, &ts);
	if (sig > 0 && sig != SIGCONT)
		raise(sig);	/* blocked: pending again for the dump */
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

bool fault_at(const char *point)
{
	const char *f = getenv("CRIU_LITE_FAULT");

	pause_at(point);

	if (f && !strcmp(f, point)) {
		pr_err("fault injected at %s (CRIU_LITE_FAULT)", point);
		return true;
	}
	return false;
}

bool fault_set(const char *point)
{
	const char *f = getenv("CRIU_LITE_FAULT");

	return f && !strcmp(f, point);
}

uint64_t cpu_xfeatures(void)
{
	uint32_t lo, hi;

	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return (uint64_t)hi << 32 | lo;
}

int read_full(int fd, void *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(fd, (char *)buf + got, len - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (!n)
				errno = ECONNRESET;	/* end of stream */
			return -1;
		}
		got += n;
	}
	return 0;
}

int writev_all(int fd, struct iovec *iov, int n)
{
	while (n > 0) {
		/* a socket whose peer is gone: EPIPE, not SIGPIPE */
		struct msghdr mh = { .msg_iov = iov,
				     .msg_iovlen = n > IOV_MAX ? IOV_MAX : n };
		ssize_t done = sendmsg(fd, &mh, MSG_NOSIGNAL);

		if (done < 0 && errno == ENOTSOCK)
			done = writev(fd, iov, mh.msg_iovlen);

		if (done < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		while (n > 0 && (size_t)done >= iov->iov_len) {
			done -= iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (char *)iov->iov_base + done;
			iov->iov_len -= done;
		}
	}
	return 0;
}

int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= n;
	}
	return 0;
}

int pwrite_all(int fd, const void *buf, size_t len, uint64_t off)
{
	const char *p = buf;

	while (len) {
		ssize_t n = pwrite(fd, p, len, off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0) {
			errno = ENOSPC;
			return -1;
		}
		p += n;
		len -= n;
		off += n;
	}
	return 0;
}

int unix_msg_send(int sk, const void *buf, size_t len, int fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { (void *)buf, len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (fd >= 0) {
		struct cmsghdr *cm;

		mh.msg_control = cbuf;
		mh.msg_controllen = sizeof(cbuf);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	}
	return sendmsg(sk, &mh, MSG_NOSIGNAL) == (ssize_t)len ? 0 : -1;
}

int unix_msg_recv(int sk, void *buf, size_t len, int *fd)
{
	char cbuf[CMSG_SPACE(sizeof(int) * 4)];
	struct iovec iov = { buf, len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm;
	ssize_t n = recvmsg(sk, &mh, MSG_CMSG_CLOEXEC);

	if (fd)
		*fd = -1;
	/* every fd that came is taken: the first one kept, others closed */
	for (cm = n >= 0 ? CMSG_FIRSTHDR(&mh) : NULL; cm; cm = CMSG_NXTHDR(&mh, cm)) {
		int nfd = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		for (int i = 0; i < nfd; i++) {
			int got;

			memcpy(&got, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
			if (fd && *fd < 0)
				*fd = got;
			else
				close(got);
		}
	}
	if (n == (ssize_t)len && !(mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)))
		return 1;
	if (fd && *fd >= 0)
		close(*fd);
	if (fd)
		*fd = -1;
	if (!n) {
		errno = ECONNRESET;	/* for a caller's message */
		return 0;
	}
	if (n > 0)
		errno = EPROTO;
	return -1;
}

void refuse(struct refusals *rf, const char *fmt, ...)
{
	va_list ap;
	int n;

	rf->count++;
	if (rf->len >= sizeof(rf->text) - 2)
		return;
	rf->text[rf->len++] = ' ';
	rf->text[rf->len++] = ' ';
	va_start(ap, fmt);
	n = vsnprintf(rf->text + rf->len, sizeof(rf->text) - rf->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		rf->len += n;
	if (rf->len >= sizeof(rf->text) - 1)
		rf->len = sizeof(rf->text) - 2;
	rf->text[rf->len++] = '\n';
	rf->text[rf->len] = 0;
}
