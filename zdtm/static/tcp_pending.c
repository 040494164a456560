// SPDX-License-Identifier: GPL-2.0
/*
 * tcp_pending: TCP connections not yet accepted, their clients in the
 * test (needs --tcp-established, tests.list flag tcp).
 *   v4: a listener on 127.0.0.1 with two clients connected, neither
 *       accepted;
 *   v6: a listener on ::1 with one client not accepted.
 * After restore each listener's accept() returns its pending connections
 * (and no more: a further accept says EAGAIN); the peer address accept()
 * gives is the client's own address (kept across the dump); each carries
 * data both ways; the listeners take a new client.
 *
 * Corrupt points: accept (one pending connection accepted and closed
 * before the check), addr (a client's address taken after a new bind).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "zdtmtst.h"

struct addr {
	struct sockaddr_storage ss;
	socklen_t len;
};

static int listener(int family, struct addr *a)
{
	int l = socket(family, SOCK_STREAM | SOCK_NONBLOCK, 0);

	memset(a, 0, sizeof(*a));
	a->ss.ss_family = family;
	a->len = family == AF_INET ? sizeof(struct sockaddr_in) :
				     sizeof(struct sockaddr_in6);
	if (family == AF_INET)
		((struct sockaddr_in *)&a->ss)->sin_addr.s_addr =
			htonl(INADDR_LOOPBACK);
	else
		((struct sockaddr_in6 *)&a->ss)->sin6_addr = in6addr_loopback;
	if (l < 0 || bind(l, (struct sockaddr *)&a->ss, a->len) ||
	    listen(l, 8) || getsockname(l, (struct sockaddr *)&a->ss, &a->len))
		test_abort("listener: %m");
	return l;
}

static int client(const struct addr *a, struct addr *self)
{
	int c = socket(a->ss.ss_family, SOCK_STREAM, 0);

	self->len = sizeof(self->ss);
	if (c < 0 || connect(c, (const struct sockaddr *)&a->ss, a->len) ||
	    getsockname(c, (struct sockaddr *)&self->ss, &self->len))
		test_abort("connect: %m");
	return c;
}

/* accept() one pending connection: its peer must be the client at @want */
static int accept_from(int l, const struct addr *want, const char *what)
{
	struct pollfd p = { l, POLLIN, 0 };
	struct addr got = { .len = sizeof(got.ss) };
	int s;

	if (poll(&p, 1, 5000) <= 0 ||
	    (s = accept(l, (struct sockaddr *)&got.ss, &got.len)) < 0) {
		test_fail("%s: pending connection lost (%m)", what);
		return -1;
	}
	if (got.len != want->len || memcmp(&got.ss, &want->ss, got.len))
		test_fail("%s: accept() names another peer than the client", what);
	return s;
}

static void talk(int a, int b, const char *what)
{
	char buf[64] = "";
	struct pollfd p = { b, POLLIN, 0 };
	size_t n = strlen(what);

	if (send(a, what, n, 0) != (ssize_t)n || poll(&p, 1, 5000) <= 0 ||
	    recv(b, buf, sizeof(buf) - 1, 0) != (ssize_t)n || strcmp(buf, what))
		test_fail("%s: client to server lost", what);
	p.fd = a;
	memset(buf, 0, sizeof(buf));
	if (send(b, "ok", 2, 0) != 2 || poll(&p, 1, 5000) <= 0 ||
	    recv(a, buf, sizeof(buf) - 1, 0) != 2 || strcmp(buf, "ok"))
		test_fail("%s: server to client lost", what);
}

static void no_more(int l, const char *what)
{
	int s = accept(l, NULL, NULL);

	if (s >= 0 || errno != EAGAIN)
		test_fail("%s: a connection more than were pending (%m)", what);
	if (s >= 0)
		close(s);
}

int main(int argc, char **argv)
{
	struct addr a4, a6, s1, s2, s3;
	int l4, l6, c1, c2, c3, s;

	test_init(argc, argv);
	l4 = listener(AF_INET, &a4);
	l6 = listener(AF_INET6, &a6);
	c1 = client(&a4, &s1);
	c2 = client(&a4, &s2);
	c3 = client(&a6, &s3);
	test_ready();
	test_wait_term();

	if (test_corrupt("accept"))
		close(accept(l6, NULL, NULL));
	if (test_corrupt("addr"))
		((struct sockaddr_in *)&s2.ss)->sin_port ^= 1;
	if ((s = accept_from(l4, &s1, "v4 first")) >= 0)
		talk(c1, s, "v4 first");
	if ((s = accept_from(l4, &s2, "v4 second")) >= 0)
		talk(c2, s, "v4 second");
	no_more(l4, "v4");
	if ((s = accept_from(l6, &s3, "v6")) >= 0)
		talk(c3, s, "v6");
	no_more(l6, "v6");
	c1 = client(&a4, &s1);
	if ((s = accept_from(l4, &s1, "v4 new")) >= 0)
		talk(c1, s, "v4 new");
	test_done();
}
