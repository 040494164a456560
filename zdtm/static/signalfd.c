// SPDX-License-Identifier: GPL-2.0
/*
 * signalfd: SIGUSR1, SIGUSR2 and SIGRTMIN+1 are blocked and read from
 * signalfds (like QEMU's main loop does):
 *   a: SFD_NONBLOCK, mask {SIGUSR1}; SIGUSR1 is pending at the checkpoint
 *      and must be read from it after restore (sender pid = us), once;
 *   b: blocking, mask {SIGUSR2, SIGRTMIN+1}.
 * After restore both still deliver: SIGUSR1 sent again comes out of a, a
 * queued SIGRTMIN+1 with value 77 out of b.  The masks in fdinfo stay.
 *
 * Corrupt points: pending, mask.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "zdtmtst.h"

#define RT_SIG	(SIGRTMIN + 1)

struct sfd {
	const char *name;
	int fd;
	int fl;
	char sigmask[64];	/* the "sigmask:" line of fdinfo */
};

static void read_sigmask(int fd, char *out, size_t len)
{
	test_fdinfo_lines(fd, "sigmask:", out, len);
}

static void open_sfd(struct sfd *s, const char *name, int flags, int sig1, int sig2)
{
	sigset_t mask;

	sigemptyset(&mask);
	sigaddset(&mask, sig1);
	if (sig2)
		sigaddset(&mask, sig2);
	s->name = name;
	s->fd = signalfd(-1, &mask, flags);
	if (s->fd < 0)
		test_abort("signalfd: %m");
	s->fl = fcntl(s->fd, F_GETFL);
	read_sigmask(s->fd, s->sigmask, sizeof(s->sigmask));
}

static bool check_identity(const struct sfd *s)
{
	char link[64], mask[64];

	test_fd_link(s->fd, link, sizeof(link));
	if (strcmp(link, "anon_inode:[signalfd]")) {
		test_fail("%s: fd %d is \"%s\"", s->name, s->fd, link);
		return false;
	}
	read_sigmask(s->fd, mask, sizeof(mask));
	if (strcmp(mask, s->sigmask) || fcntl(s->fd, F_GETFL) != s->fl) {
		test_fail("%s: \"%s\" flags %#o, was \"%s\" %#o", s->name, mask,
			  fcntl(s->fd, F_GETFL), s->sigmask, s->fl);
		return false;
	}
	return true;
}

/* Reads one siginfo: must be @sig from us (and @value if non-zero). */
static void expect_signal(const struct sfd *s, int sig, int value)
{
	struct signalfd_siginfo si;
	ssize_t n = read(s->fd, &si, sizeof(si));

	if (n != sizeof(si)) {
		test_fail("%s: read: %zd (%m), expected signal %d", s->name, n, sig);
		return;
	}
	if ((int)si.ssi_signo != sig || si.ssi_pid != (uint32_t)getpid() ||
	    (value && si.ssi_int != value))
		test_fail("%s: got signal %u from %u value %d, expected %d from %d value %d",
			  s->name, si.ssi_signo, si.ssi_pid, si.ssi_int, sig,
			  getpid(), value);
}

static void expect_none(const struct sfd *s)
{
	struct signalfd_siginfo si;

	if (read(s->fd, &si, sizeof(si)) >= 0 || errno != EAGAIN)
		test_fail("%s: more signals than expected (signal %u)", s->name,
			  si.ssi_signo);
}

int main(int argc, char **argv)
{
	union sigval val = { .sival_int = 77 };
	struct sfd a, b;
	sigset_t block;

	test_init(argc, argv);
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigaddset(&block, SIGUSR2);
	sigaddset(&block, RT_SIG);
	if (sigprocmask(SIG_BLOCK, &block, NULL))
		test_abort("sigprocmask: %m");
	open_sfd(&a, "a", SFD_NONBLOCK, SIGUSR1, 0);
	open_sfd(&b, "b", 0, SIGUSR2, RT_SIG);
	if (kill(getpid(), SIGUSR1))
		test_abort("kill: %m");

	test_ready();
	test_wait_term();
	if (test_corrupt("pending")) {
		struct signalfd_siginfo si;

		if (read(a.fd, &si, sizeof(si)) < 0)
			test_msg("corrupt: %m");
	}
	if (test_corrupt("mask")) {
		sigset_t m;

		sigemptyset(&m);
		sigaddset(&m, SIGUSR2);
		signalfd(a.fd, &m, 0);
	}

	if (check_identity(&a)) {
		expect_signal(&a, SIGUSR1, 0);
		expect_none(&a);
		kill(getpid(), SIGUSR1);
		expect_signal(&a, SIGUSR1, 0);
		expect_none(&a);
	}
	if (check_identity(&b)) {
		sigqueue(getpid(), RT_SIG, val);
		expect_signal(&b, RT_SIG, 77);
	}
	test_done();
}
