// SPDX-License-Identifier: GPL-2.0
/*
 * udp: UDP and UDP-Lite sockets.
 *   srv:   IPv4 socket bound to 127.0.0.1, with three datagrams queued
 *          (5, 1000 and 0 bytes), two from cli and one from a sender
 *          that is closed before the dump;
 *   cli:   connected to srv;
 *   v6:    IPv6 socket bound to ::1, one datagram queued;
 *   shut:  connected to srv, then shutdown(SHUT_WR);
 *   bcast: SO_BROADCAST on;
 *   lite:  UDP-Lite socket bound to 127.0.0.1.
 * After restore srv reads its three datagrams, in order, with their
 * contents (cli's still come from cli's address), then EAGAIN; cli is
 * still connected to srv and both directions work; v6 reads its
 * datagram; shut's send fails with EPIPE; bcast has SO_BROADCAST; lite
 * is still UDP-Lite at its address and receives.
 *
 * Corrupt points: queue, peer, shut.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "zdtmtst.h"

#ifndef IPPROTO_UDPLITE
#define IPPROTO_UDPLITE	136
#endif

static uint8_t big[1000], buf[2048];

static int bound_sock(int family, int proto, const char *ip,
		      struct sockaddr_storage *ss, socklen_t *len)
{
	int fd = socket(family, SOCK_DGRAM, proto);

	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		struct sockaddr_in *a = (void *)ss;

		a->sin_family = AF_INET;
		inet_pton(AF_INET, ip, &a->sin_addr);
		*len = sizeof(*a);
	} else {
		struct sockaddr_in6 *a = (void *)ss;

		a->sin6_family = AF_INET6;
		inet_pton(AF_INET6, ip, &a->sin6_addr);
		*len = sizeof(*a);
	}
	if (fd < 0 || bind(fd, (struct sockaddr *)ss, *len) ||
	    getsockname(fd, (struct sockaddr *)ss, len))
		test_abort("bind %s: %m", ip);
	return fd;
}

static void send_to(int fd, const void *d, size_t n,
		    const struct sockaddr_storage *to, socklen_t len)
{
	if (sendto(fd, d, n, 0, (const struct sockaddr *)to, len) != (ssize_t)n)
		test_abort("sendto: %m");
}

/* The next datagram of fd: n bytes of want, from `from` if given. */
static void expect(int fd, const char *what, const void *want, size_t n,
		   const struct sockaddr_storage *from, socklen_t flen)
{
	struct sockaddr_storage got;
	socklen_t glen = sizeof(got);
	ssize_t r = recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT,
			     (struct sockaddr *)&got, &glen);

	if (r < 0) {
		test_fail("%s: no datagram: %m", what);
		return;
	}
	if ((size_t)r != n || memcmp(buf, want, n))
		test_fail("%s: datagram of %zd bytes, want %zu", what, r, n);
	if (from && (glen != flen || memcmp(&got, from, flen)))
		test_fail("%s: datagram from another address", what);
}

static void check_peer(int fd, const struct sockaddr_storage *want,
		       socklen_t len)
{
	struct sockaddr_storage p;
	socklen_t l = sizeof(p);

	if (getpeername(fd, (struct sockaddr *)&p, &l) || l != len ||
	    memcmp(&p, want, len))
		test_fail("cli: not connected to srv any more");
}

int main(int argc, char **argv)
{
	struct sockaddr_storage srv_a, cli_a, v6_a, lite_a, tmp_a;
	socklen_t srv_l, cli_l = sizeof(cli_a), v6_l, lite_l, tmp_l;
	int srv, cli, v6, shut, bcast, lite, tmp, on = 1, v = 0;
	socklen_t il = sizeof(v);

	test_init(argc, argv);
	test_fill(big, sizeof(big), 11);
	srv = bound_sock(AF_INET, 0, "127.0.0.1", &srv_a, &srv_l);
	cli = socket(AF_INET, SOCK_DGRAM, 0);
	if (cli < 0 || connect(cli, (struct sockaddr *)&srv_a, srv_l))
		test_abort("cli: %m");
	getsockname(cli, (struct sockaddr *)&cli_a, &cli_l);
	tmp = bound_sock(AF_INET, 0, "127.0.0.1", &tmp_a, &tmp_l);
	if (send(cli, "hello", 5, 0) != 5)
		test_abort("send: %m");
	send_to(tmp, big, sizeof(big), &srv_a, srv_l);
	close(tmp);
	if (send(cli, "", 0, 0) != 0)
		test_abort("send empty: %m");
	v6 = bound_sock(AF_INET6, 0, "::1", &v6_a, &v6_l);
	tmp = socket(AF_INET6, SOCK_DGRAM, 0);
	send_to(tmp, "six", 3, &v6_a, v6_l);
	close(tmp);
	shut = socket(AF_INET, SOCK_DGRAM, 0);
	if (shut < 0 || connect(shut, (struct sockaddr *)&srv_a, srv_l) ||
	    shutdown(shut, SHUT_WR))
		test_abort("shut: %m");
	bcast = socket(AF_INET, SOCK_DGRAM, 0);
	if (bcast < 0 || setsockopt(bcast, SOL_SOCKET, SO_BROADCAST, &on,
				    sizeof(on)))
		test_abort("bcast: %m");
	lite = bound_sock(AF_INET, IPPROTO_UDPLITE, "127.0.0.1", &lite_a,
			  &lite_l);
	test_ready();
	test_wait_term();

	if (test_corrupt("queue"))
		recv(srv, buf, sizeof(buf), 0);
	if (test_corrupt("peer")) {
		struct sockaddr_in un = { .sin_family = AF_UNSPEC };

		connect(cli, (struct sockaddr *)&un, sizeof(un));
	}
	if (test_corrupt("shut")) {
		close(shut);
		shut = socket(AF_INET, SOCK_DGRAM, 0);
		connect(shut, (struct sockaddr *)&srv_a, srv_l);
	}
	expect(srv, "srv 1", "hello", 5, &cli_a, cli_l);
	expect(srv, "srv 2", big, sizeof(big), NULL, 0);
	expect(srv, "srv 3", "", 0, &cli_a, cli_l);
	if (recv(srv, buf, sizeof(buf), MSG_DONTWAIT) >= 0 || errno != EAGAIN)
		test_fail("srv: more datagrams than queued");
	check_peer(cli, &srv_a, srv_l);
	if (send(cli, "again", 5, 0) != 5)
		test_fail("cli: send: %m");
	expect(srv, "srv after", "again", 5, &cli_a, cli_l);
	if (sendto(srv, "back", 4, 0, (struct sockaddr *)&cli_a, cli_l) != 4)
		test_fail("srv: sendto cli: %m");
	expect(cli, "cli", "back", 4, &srv_a, srv_l);
	expect(v6, "v6", "six", 3, NULL, 0);
	if (send(shut, "x", 1, MSG_NOSIGNAL) >= 0 || errno != EPIPE)
		test_fail("shut: send works after SHUT_WR");
	getsockopt(bcast, SOL_SOCKET, SO_BROADCAST, &v, &il);
	if (!v)
		test_fail("bcast: SO_BROADCAST lost");
	v = 0;
	getsockopt(lite, SOL_SOCKET, SO_PROTOCOL, &v, &il);
	if (v != IPPROTO_UDPLITE)
		test_fail("lite: protocol %d", v);
	tmp = socket(AF_INET, SOCK_DGRAM, IPPROTO_UDPLITE);
	if (tmp >= 0)
		sendto(tmp, "lite", 4, 0, (struct sockaddr *)&lite_a, lite_l);
	expect(lite, "lite", "lite", 4, NULL, 0);
	test_done();
}
