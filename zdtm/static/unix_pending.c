// SPDX-License-Identifier: GPL-2.0
/*
 * unix_pending: unix connections not yet accepted by their listener.
 *   stream:    a listener bound to a file in the cwd with two clients
 *              connected, neither accepted (the second shut down for
 *              writing: its end reads EOF once accepted);
 *   seqpacket: an abstract listener with one client not accepted.
 * After restore each listener's accept() returns its pending connections
 * (and no more: a further accept says EAGAIN), in connect order; each
 * carries data both ways with its client; the listeners take a new client.
 *
 * Corrupt points: accept (one pending connection accepted and closed
 * before the check), order (the stream clients' messages swapped).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "zdtmtst.h"

static socklen_t addr_of(struct sockaddr_un *sa, const char *name, bool abstr)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	strcpy(sa->sun_path + abstr, name);
	return offsetof(struct sockaddr_un, sun_path) + abstr + strlen(name) +
	       !abstr;
}

static int listener(int type, const struct sockaddr_un *sa, socklen_t len)
{
	int l = socket(AF_UNIX, type, 0);

	if (l < 0 || bind(l, (const struct sockaddr *)sa, len) || listen(l, 8))
		test_abort("listener: %m");
	return l;
}

static int client(int type, const struct sockaddr_un *sa, socklen_t len)
{
	int c = socket(AF_UNIX, type, 0);

	if (c < 0 || connect(c, (const struct sockaddr *)sa, len))
		test_abort("connect: %m");
	return c;
}

static int accept_nb(int l)
{
	struct pollfd p = { l, POLLIN, 0 };

	if (poll(&p, 1, 5000) <= 0)
		return -1;
	return accept4(l, NULL, NULL, SOCK_NONBLOCK);
}

/* msg from a to b, then a reply back; true when both arrive intact */
static bool talk(int a, int b, const char *msg)
{
	char buf[64] = "";
	struct pollfd p = { b, POLLIN, 0 };

	if (send(a, msg, strlen(msg), 0) != (ssize_t)strlen(msg) ||
	    poll(&p, 1, 5000) <= 0 || recv(b, buf, sizeof(buf) - 1, 0) !=
	    (ssize_t)strlen(msg) || strcmp(buf, msg))
		return false;
	memset(buf, 0, sizeof(buf));
	p.fd = a;
	return send(b, "ok", 2, 0) == 2 && poll(&p, 1, 5000) > 0 &&
	       recv(a, buf, sizeof(buf) - 1, 0) == 2 && !strcmp(buf, "ok");
}

static void no_more(int l, const char *what)
{
	int s = accept4(l, NULL, NULL, SOCK_NONBLOCK);

	if (s >= 0 || errno != EAGAIN)
		test_fail("%s: a connection more than were pending (%m)", what);
	if (s >= 0)
		close(s);
}

int main(int argc, char **argv)
{
	struct sockaddr_un sa, sq;
	socklen_t la, lq;
	int ls, lp, c1, c2, c3, s;
	char c;

	test_init(argc, argv);
	la = addr_of(&sa, "pending.sock", false);
	lq = addr_of(&sq, "zdtm-unix-pending", true);
	unlink("pending.sock");
	ls = listener(SOCK_STREAM, &sa, la);
	lp = listener(SOCK_SEQPACKET, &sq, lq);
	fcntl(ls, F_SETFL, O_NONBLOCK);
	fcntl(lp, F_SETFL, O_NONBLOCK);
	c1 = client(SOCK_STREAM, &sa, la);
	c2 = client(SOCK_STREAM, &sa, la);
	c3 = client(SOCK_SEQPACKET, &sq, lq);
	if (shutdown(c2, SHUT_WR))
		test_abort("shutdown: %m");
	test_ready();
	test_wait_term();

	if (test_corrupt("accept"))
		close(accept(lp, NULL, NULL));
	if (test_corrupt("order")) {
		int t = c1;

		c1 = c2;
		c2 = t;
	}
	s = accept_nb(ls);
	if (s < 0 || !talk(c1, s, "first"))
		test_fail("stream: first pending connection lost (%m)");
	if (s >= 0)
		close(s);
	s = accept_nb(ls);
	if (s < 0)
		test_fail("stream: second pending connection lost (%m)");
	else if (poll(&(struct pollfd){ s, POLLIN, 0 }, 1, 5000) <= 0 ||
		 recv(s, &c, 1, 0) != 0)
		test_fail("stream: second connection does not read EOF");
	else if (send(s, "x", 1, 0) != 1 || recv(c2, &c, 1, 0) != 1)
		test_fail("stream: second connection does not carry data back");
	no_more(ls, "stream");
	s = accept_nb(lp);
	if (s < 0 || !talk(c3, s, "seqpacket"))
		test_fail("seqpacket: pending connection lost (%m)");
	no_more(lp, "seqpacket");
	c1 = client(SOCK_STREAM, &sa, la);
	s = accept_nb(ls);
	if (s < 0 || !talk(c1, s, "new"))
		test_fail("stream: listener takes no new client (%m)");
	test_done();
}
