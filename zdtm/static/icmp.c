// SPDX-License-Identifier: GPL-2.0
/*
 * icmp: ICMP datagram ("ping") sockets (net.ipv4.ping_group_range lets
 * the test's group make them).
 *   v4:  bound to 127.0.0.1 (its identifier is its port);
 *   v4c: connected to 127.0.0.1;
 *   v6:  bound to ::1.
 * After restore each keeps its address and identifier, and an echo
 * request it sends gets its reply (same identifier, sequence and payload);
 * the connected one sends without an address.
 *
 * Corrupt points: ident (the identifier compared is off by one), echo
 * (the payload checked is not the one sent).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "zdtmtst.h"

struct ping {
	const char *name;
	int fd, family;
	struct sockaddr_storage self;
	socklen_t len;
};

static void make(struct ping *p, int family, bool connected)
{
	struct sockaddr_storage a = { .ss_family = family };
	socklen_t len = family == AF_INET ? sizeof(struct sockaddr_in) :
					    sizeof(struct sockaddr_in6);

	if (family == AF_INET)
		((struct sockaddr_in *)&a)->sin_addr.s_addr =
			htonl(INADDR_LOOPBACK);
	else
		((struct sockaddr_in6 *)&a)->sin6_addr = in6addr_loopback;
	p->family = family;
	p->fd = socket(family, SOCK_DGRAM, family == AF_INET ? IPPROTO_ICMP :
							       IPPROTO_ICMPV6);
	if (p->fd < 0)
		test_abort("%s: socket: %m (net.ipv4.ping_group_range?)",
			   p->name);
	if (connected ? connect(p->fd, (struct sockaddr *)&a, len) :
			bind(p->fd, (struct sockaddr *)&a, len))
		test_abort("%s: bind/connect: %m", p->name);
	p->len = sizeof(p->self);
	if (getsockname(p->fd, (struct sockaddr *)&p->self, &p->len))
		test_abort("%s: getsockname: %m", p->name);
}

static uint16_t ident(const struct sockaddr_storage *ss)
{
	return ss->ss_family == AF_INET ?
	       ntohs(((const struct sockaddr_in *)ss)->sin_port) :
	       ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
}

/* An echo request with payload msg; its reply must carry it back. */
static void echo(struct ping *p, bool connected, const char *msg)
{
	struct { struct icmphdr h; char data[32]; } req = { 0 }, rep;
	struct sockaddr_storage to = { .ss_family = p->family };
	socklen_t tolen = p->family == AF_INET ? sizeof(struct sockaddr_in) :
						 sizeof(struct sockaddr_in6);
	struct pollfd pf = { p->fd, POLLIN, 0 };
	const char *want = test_corrupt("echo") ? "something else" : msg;
	ssize_t n;

	if (p->family == AF_INET)
		((struct sockaddr_in *)&to)->sin_addr.s_addr =
			htonl(INADDR_LOOPBACK);
	else
		((struct sockaddr_in6 *)&to)->sin6_addr = in6addr_loopback;
	req.h.type = p->family == AF_INET ? ICMP_ECHO : ICMP6_ECHO_REQUEST;
	req.h.un.echo.sequence = htons(7);
	snprintf(req.data, sizeof(req.data), "%s", msg);
	n = connected ? send(p->fd, &req, sizeof(req), 0) :
		sendto(p->fd, &req, sizeof(req), 0, (struct sockaddr *)&to, tolen);
	if (n != sizeof(req)) {
		test_fail("%s: send an echo request: %m", p->name);
		return;
	}
	if (poll(&pf, 1, 5000) <= 0 ||
	    recv(p->fd, &rep, sizeof(rep), 0) != sizeof(rep)) {
		test_fail("%s: no echo reply", p->name);
		return;
	}
	if (ntohs(rep.h.un.echo.sequence) != 7 || strcmp(rep.data, want))
		test_fail("%s: the reply is not the request's", p->name);
}

int main(int argc, char **argv)
{
	struct ping v4 = { "v4" }, v4c = { "v4c" }, v6 = { "v6" };
	struct ping *all[] = { &v4, &v4c, &v6 };

	test_init(argc, argv);
	make(&v4, AF_INET, false);
	make(&v4c, AF_INET, true);
	make(&v6, AF_INET6, false);
	echo(&v4, false, "before");	/* each works before, too */
	test_ready();
	test_wait_term();

	for (size_t i = 0; i < 3; i++) {
		struct sockaddr_storage now;
		socklen_t len = sizeof(now);
		uint16_t want = ident(&all[i]->self) + test_corrupt("ident");

		if (getsockname(all[i]->fd, (struct sockaddr *)&now, &len) ||
		    ident(&now) != want || len != all[i]->len ||
		    memcmp(&((struct sockaddr_in *)&now)->sin_addr,
			   &((struct sockaddr_in *)&all[i]->self)->sin_addr, 4))
			test_fail("%s: address or identifier changed (%u, was %u)",
				  all[i]->name, ident(&now), want);
	}
	echo(&v4, false, "after v4");
	echo(&v4c, true, "after v4c");
	echo(&v6, false, "after v6");
	test_done();
}
