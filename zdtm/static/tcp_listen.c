// SPDX-License-Identifier: GPL-2.0
/*
 * tcp_listen: TCP sockets that are not connected.
 *   listeners: 127.0.0.1, ::1, :: dual-stack (reached through 127.0.0.1:
 *              a v4-mapped peer), :: with IPV6_V6ONLY; ephemeral ports;
 *   bound:     a socket bound to 127.0.0.1, not listening;
 *   unbound:   a fresh IPv6 socket;
 *   closed:    both ends of a connection over the v4 listener, each shut
 *              down for writing: the connection is over (CLOSE);
 *   reuseport: two listeners on one port by SO_REUSEPORT, the first of
 *              which cleared it once both were bound.
 * After restore each listener has its address and port, SO_ACCEPTCONN and
 * IPV6_V6ONLY as before, and accepts a new client that talks both ways
 * (the dual-stack one sees a ::ffff:127.0.0.1 peer); the bound socket has
 * its port and can listen; the unbound one has none; both closed ends
 * read EOF and fail to write with EPIPE; the reuseport pair still shares
 * its port, SO_REUSEPORT off on the first and on on the second.
 *
 * Corrupt points: listen, v6only, closed, reuseport.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "zdtmtst.h"

struct lsk {
	const char *name;
	int family;
	const char *addr;	/* to bind */
	const char *connect_to;	/* a client's view */
	int v6only;		/* -1: not set */
	int fd;
	struct sockaddr_storage ss;
	socklen_t len;
};

static struct lsk lsks[] = {
	{ "v4", AF_INET, "127.0.0.1", "127.0.0.1", -1 },
	{ "v6", AF_INET6, "::1", "::1", -1 },
	{ "dual", AF_INET6, "::", "127.0.0.1", 0 },
	{ "v6only", AF_INET6, "::", "::1", 1 },
};
#define NR (sizeof(lsks) / sizeof(lsks[0]))

static socklen_t make_addr(int family, const char *ip, int port,
			   struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		struct sockaddr_in *a = (void *)ss;

		a->sin_family = AF_INET;
		a->sin_port = htons(port);
		inet_pton(AF_INET, ip, &a->sin_addr);
		return sizeof(*a);
	}
	struct sockaddr_in6 *a = (void *)ss;

	a->sin6_family = AF_INET6;
	a->sin6_port = htons(port);
	inet_pton(AF_INET6, ip, &a->sin6_addr);
	return sizeof(*a);
}

static int port_of(const struct sockaddr_storage *ss)
{
	return ntohs(ss->ss_family == AF_INET ?
		     ((const struct sockaddr_in *)ss)->sin_port :
		     ((const struct sockaddr_in6 *)ss)->sin6_port);
}

static void setup(struct lsk *l)
{
	struct sockaddr_storage ss;
	socklen_t len = make_addr(l->family, l->addr, 0, &ss);

	l->fd = socket(l->family, SOCK_STREAM, 0);
	if (l->fd < 0)
		test_abort("%s: socket: %m", l->name);
	if (l->v6only >= 0 && setsockopt(l->fd, IPPROTO_IPV6, IPV6_V6ONLY,
					 &l->v6only, sizeof(int)))
		test_abort("%s: IPV6_V6ONLY: %m", l->name);
	if (bind(l->fd, (struct sockaddr *)&ss, len) || listen(l->fd, 7))
		test_abort("%s: bind/listen: %m", l->name);
	l->len = sizeof(l->ss);
	getsockname(l->fd, (struct sockaddr *)&l->ss, &l->len);
}

static void talk(const char *name, int a, int b)
{
	char buf[16] = "";

	if (send(a, "ping", 4, 0) != 4 || recv(b, buf, sizeof(buf), 0) != 4 ||
	    memcmp(buf, "ping", 4) || send(b, "pong", 4, 0) != 4 ||
	    recv(a, buf, sizeof(buf), 0) != 4 || memcmp(buf, "pong", 4))
		test_fail("%s: no exchange over the accepted connection: %m",
			  name);
}

static void check(struct lsk *l)
{
	struct sockaddr_storage ss, peer;
	socklen_t len = sizeof(ss), plen = sizeof(peer);
	int on = 0, v6only = -1, c, a;
	socklen_t il = sizeof(int);

	if (getsockname(l->fd, (struct sockaddr *)&ss, &len) || len != l->len ||
	    memcmp(&ss, &l->ss, len)) {
		test_fail("%s: address changed (port %d, was %d)", l->name,
			  port_of(&ss), port_of(&l->ss));
		return;
	}
	getsockopt(l->fd, SOL_SOCKET, SO_ACCEPTCONN, &on, &il);
	if (!on)
		test_fail("%s: not listening any more", l->name);
	if (l->v6only >= 0) {
		getsockopt(l->fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, &il);
		if (v6only != l->v6only)
			test_fail("%s: IPV6_V6ONLY %d, was %d", l->name, v6only,
				  l->v6only);
	}
	c = socket(strchr(l->connect_to, ':') ? AF_INET6 : AF_INET,
		   SOCK_STREAM, 0);
	len = make_addr(strchr(l->connect_to, ':') ? AF_INET6 : AF_INET,
			l->connect_to, port_of(&l->ss), &ss);
	if (c < 0 || connect(c, (struct sockaddr *)&ss, len)) {
		test_fail("%s: connect to %s port %d: %m", l->name, l->connect_to,
			  port_of(&l->ss));
		return;
	}
	a = accept(l->fd, (struct sockaddr *)&peer, &plen);
	if (a < 0) {
		test_fail("%s: accept: %m", l->name);
		close(c);
		return;
	}
	if (!strcmp(l->name, "dual") && (peer.ss_family != AF_INET6 ||
	    !IN6_IS_ADDR_V4MAPPED(&((struct sockaddr_in6 *)&peer)->sin6_addr)))
		test_fail("dual: peer is not v4-mapped");
	talk(l->name, c, a);
	close(a);
	close(c);
}

int main(int argc, char **argv)
{
	struct sockaddr_storage ss, bss;
	socklen_t len, blen = sizeof(bss);
	int bound, unbound, closed[2], rp[2], one = 1, zero = 0, v;
	struct sockaddr_storage rss, now;
	socklen_t vl = sizeof(v), rlen;
	char c;

	test_init(argc, argv);
	for (size_t i = 0; i < NR; i++)
		setup(&lsks[i]);
	bound = socket(AF_INET, SOCK_STREAM, 0);
	len = make_addr(AF_INET, "127.0.0.1", 0, &ss);
	if (bound < 0 || bind(bound, (struct sockaddr *)&ss, len))
		test_abort("bound: %m");
	getsockname(bound, (struct sockaddr *)&bss, &blen);
	unbound = socket(AF_INET6, SOCK_STREAM, 0);
	if (unbound < 0)
		test_abort("unbound: %m");
	closed[0] = socket(AF_INET, SOCK_STREAM, 0);
	if (closed[0] < 0 || connect(closed[0], (struct sockaddr *)&lsks[0].ss,
				     lsks[0].len) ||
	    (closed[1] = accept(lsks[0].fd, NULL, NULL)) < 0 ||
	    shutdown(closed[0], SHUT_WR) || shutdown(closed[1], SHUT_WR))
		test_abort("closed: %m");
	rlen = make_addr(AF_INET, "127.0.0.1", 0, &rss);
	for (int i = 0; i < 2; i++) {
		rp[i] = socket(AF_INET, SOCK_STREAM, 0);
		if (rp[i] < 0 || setsockopt(rp[i], SOL_SOCKET, SO_REUSEPORT, &one,
					    sizeof(one)) ||
		    bind(rp[i], (struct sockaddr *)&rss, rlen) || listen(rp[i], 1) ||
		    getsockname(rp[i], (struct sockaddr *)&rss, &rlen))
			test_abort("reuseport: %m");
	}
	if (setsockopt(rp[0], SOL_SOCKET, SO_REUSEPORT, &zero, sizeof(zero)))
		test_abort("reuseport off: %m");
	usleep(200000);	/* the FINs and their ACKs */
	test_ready();
	test_wait_term();

	if (test_corrupt("listen")) {
		close(lsks[0].fd);
		setup(&lsks[0]);
		lsks[0].len = 0;	/* a new port: "changed" */
	}
	if (test_corrupt("closed")) {
		close(closed[1]);
		closed[1] = socket(AF_INET, SOCK_STREAM, 0);
	}
	if (test_corrupt("v6only")) {
		int v = 0;

		close(lsks[3].fd);
		lsks[3].fd = socket(AF_INET6, SOCK_STREAM, 0);
		setsockopt(lsks[3].fd, IPPROTO_IPV6, IPV6_V6ONLY, &v, sizeof(v));
		bind(lsks[3].fd, (struct sockaddr *)&lsks[3].ss, lsks[3].len);
		listen(lsks[3].fd, 1);
	}
	for (size_t i = 0; i < NR; i++)
		check(&lsks[i]);
	if (test_corrupt("reuseport"))
		setsockopt(rp[0], SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	for (int i = 0; i < 2; i++) {
		rlen = sizeof(now);
		if (getsockname(rp[i], (struct sockaddr *)&now, &rlen) ||
		    port_of(&now) != port_of(&rss))
			test_fail("reuseport: listener %d's port changed", i);
	}
	if (getsockopt(rp[0], SOL_SOCKET, SO_REUSEPORT, &v, &vl) || v)
		test_fail("reuseport: on for the first listener");
	vl = sizeof(v);
	if (getsockopt(rp[1], SOL_SOCKET, SO_REUSEPORT, &v, &vl) || !v)
		test_fail("reuseport: off for the second listener");

	len = sizeof(ss);
	if (getsockname(bound, (struct sockaddr *)&ss, &len) ||
	    port_of(&ss) != port_of(&bss) || !port_of(&ss))
		test_fail("bound: port %d, was %d", port_of(&ss), port_of(&bss));
	else if (listen(bound, 1))
		test_fail("bound: listen: %m");
	len = sizeof(ss);
	if (getsockname(unbound, (struct sockaddr *)&ss, &len) || port_of(&ss))
		test_fail("unbound: has port %d", port_of(&ss));
	for (int i = 0; i < 2; i++) {
		if (recv(closed[i], &c, 1, MSG_DONTWAIT) != 0)
			test_fail("closed %d: no EOF: %m", i);
		if (send(closed[i], "x", 1, MSG_NOSIGNAL) != -1 || errno != EPIPE)
			test_fail("closed %d: write does not fail with EPIPE", i);
	}
	test_done();
}
