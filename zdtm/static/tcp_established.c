// SPDX-License-Identifier: GPL-2.0
/*
 * tcp_established: established TCP connections, both ends in the test
 * (needs --tcp-established, tests.list flag tcp).
 *   v4: srv (accepted from a listener on 127.0.0.1) writes a byte stream
 *       to cli until its send buffer is full: part of it waits in cli's
 *       receive queue, the rest in srv's send queue, unsent (cli's small
 *       receive buffer closes the window); cli sent 1000 bytes srv has
 *       not read; srv has SO_KEEPALIVE, TCP_KEEPIDLE 55, TCP_NODELAY;
 *   v6: a connection over ::1 with 300 bytes queued each way.
 * After restore the addresses of both ends are the same, cli reads the
 * whole stream in order (every byte it was sent), srv reads the 1000
 * bytes, the options are kept, both connections carry new data both
 * ways, and the listener accepts a new client.
 *
 * Corrupt points: stream, queue.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "zdtmtst.h"

static uint8_t buf[1 << 16];

static uint8_t stream_byte(uint64_t i)
{
	return (uint8_t)(i * 7 + i / 251);
}

static void pair(int family, int *l, int *cli, int *srv, int rcvbuf)
{
	struct sockaddr_storage ss = { .ss_family = family };
	socklen_t len = family == AF_INET ? sizeof(struct sockaddr_in) :
					    sizeof(struct sockaddr_in6);

	if (family == AF_INET)
		((struct sockaddr_in *)&ss)->sin_addr.s_addr =
			htonl(INADDR_LOOPBACK);
	else
		((struct sockaddr_in6 *)&ss)->sin6_addr = in6addr_loopback;
	*l = socket(family, SOCK_STREAM, 0);
	*cli = socket(family, SOCK_STREAM, 0);
	if (*l < 0 || *cli < 0 || bind(*l, (struct sockaddr *)&ss, len) ||
	    listen(*l, 4) || getsockname(*l, (struct sockaddr *)&ss, &len))
		test_abort("listener: %m");
	if (rcvbuf && setsockopt(*cli, SOL_SOCKET, SO_RCVBUF, &rcvbuf,
				 sizeof(rcvbuf)))
		test_abort("SO_RCVBUF: %m");
	if (connect(*cli, (struct sockaddr *)&ss, len))
		test_abort("connect: %m");
	*srv = accept(*l, NULL, NULL);
	if (*srv < 0)
		test_abort("accept: %m");
}

static void send_n(int fd, const void *d, size_t n)
{
	if (send(fd, d, n, 0) != (ssize_t)n)
		test_abort("send %zu: %m", n);
}

/* Reads exactly n bytes (poll, then recv), 0 or -1. */
static int read_n(int fd, uint8_t *out, size_t n)
{
	size_t got = 0;

	while (got < n) {
		struct pollfd p = { fd, POLLIN, 0 };
		ssize_t r;

		if (poll(&p, 1, 10000) <= 0)
			return -1;
		r = recv(fd, out + got, n - got, MSG_DONTWAIT);
		if (r <= 0)
			return -1;
		got += r;
	}
	return 0;
}

static void check_stream(int cli, uint64_t sent)
{
	uint64_t off = 0;

	while (off < sent) {
		size_t n = sent - off < sizeof(buf) ? sent - off : sizeof(buf);

		if (read_n(cli, buf, n)) {
			test_fail("v4: stream ends after %llu of %llu bytes",
				  (unsigned long long)off,
				  (unsigned long long)sent);
			return;
		}
		for (size_t i = 0; i < n; i++)
			if (buf[i] != stream_byte(off + i)) {
				test_fail("v4: stream byte %llu wrong",
					  (unsigned long long)(off + i));
				return;
			}
		off += n;
	}
}

static void exchange(const char *name, int a, int b)
{
	uint8_t in[8];

	if (send(a, "request", 7, 0) != 7 || read_n(b, in, 7) ||
	    memcmp(in, "request", 7) || send(b, "answer", 6, 0) != 6 ||
	    read_n(a, in, 6) || memcmp(in, "answer", 6))
		test_fail("%s: no new exchange after restore: %m", name);
}

struct names {
	struct sockaddr_storage self, peer;
	socklen_t sl, pl;
};

static void names_of(int fd, struct names *n)
{
	n->sl = n->pl = sizeof(n->self);
	getsockname(fd, (struct sockaddr *)&n->self, &n->sl);
	getpeername(fd, (struct sockaddr *)&n->peer, &n->pl);
}

static bool names_same(int fd, const struct names *n)
{
	struct names m;

	names_of(fd, &m);
	return m.sl == n->sl && m.pl == n->pl && !memcmp(&m.self, &n->self, m.sl) &&
	       !memcmp(&m.peer, &n->peer, m.pl);
}

int main(int argc, char **argv)
{
	int l4, cli4, srv4, l6, cli6, srv6, one = 1, idle = 55, v;
	uint8_t req[1000], q6[300];
	uint64_t sent = 0;
	struct names n[4];
	socklen_t il = sizeof(v);

	test_init(argc, argv);
	pair(AF_INET, &l4, &cli4, &srv4, 4096);
	pair(AF_INET6, &l6, &cli6, &srv6, 0);
	if (setsockopt(srv4, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one)) ||
	    setsockopt(srv4, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle)) ||
	    setsockopt(srv4, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)))
		test_abort("options: %m");
	test_fill(req, sizeof(req), 3);
	test_fill(q6, sizeof(q6), 6);
	send_n(cli4, req, sizeof(req));
	send_n(cli6, q6, sizeof(q6));
	send_n(srv6, q6, sizeof(q6));
	/* fill srv4's send queue: the window closes, bytes stay unsent */
	for (;;) {
		uint8_t chunk[4096];
		ssize_t r;

		for (size_t i = 0; i < sizeof(chunk); i++)
			chunk[i] = stream_byte(sent + i);
		r = send(srv4, chunk, sizeof(chunk), MSG_DONTWAIT);
		if (r < 0 && errno == EAGAIN)
			break;
		if (r <= 0)
			test_abort("fill: %m");
		sent += r;
	}
	usleep(100000);	/* let in-flight segments land */
	names_of(cli4, &n[0]);
	names_of(srv4, &n[1]);
	names_of(cli6, &n[2]);
	names_of(srv6, &n[3]);
	test_msg("v4 stream: %llu bytes queued", (unsigned long long)sent);
	test_ready();
	test_wait_term();

	if (test_corrupt("stream"))
		recv(cli4, buf, 1, 0);
	if (test_corrupt("queue"))
		recv(srv4, buf, 10, 0);
	if (!names_same(cli4, &n[0]) || !names_same(srv4, &n[1]) ||
	    !names_same(cli6, &n[2]) || !names_same(srv6, &n[3]))
		test_fail("addresses of a connection changed");
	check_stream(cli4, sent);
	if (read_n(srv4, buf, sizeof(req)) || memcmp(buf, req, sizeof(req)))
		test_fail("v4: srv's queued request lost or changed");
	if (read_n(srv6, buf, sizeof(q6)) || memcmp(buf, q6, sizeof(q6)) ||
	    read_n(cli6, buf, sizeof(q6)) || memcmp(buf, q6, sizeof(q6)))
		test_fail("v6: queued bytes lost or changed");
	getsockopt(srv4, IPPROTO_TCP, TCP_KEEPIDLE, &v, &il);
	if (v != idle)
		test_fail("TCP_KEEPIDLE %d, was %d", v, idle);
	v = 0;
	getsockopt(srv4, IPPROTO_TCP, TCP_NODELAY, &v, &il);
	if (!v)
		test_fail("TCP_NODELAY lost");
	exchange("v4", cli4, srv4);
	exchange("v6", cli6, srv6);
	{
		int c, s;
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);

		getsockname(l4, (struct sockaddr *)&ss, &len);
		c = socket(AF_INET, SOCK_STREAM, 0);
		if (connect(c, (struct sockaddr *)&ss, len) ||
		    (s = accept(l4, NULL, NULL)) < 0)
			test_fail("listener: no new connection: %m");
		else
			exchange("new", c, s);
	}
	test_done();
}
