// SPDX-License-Identifier: GPL-2.0
/*
 * tcp_halfclosed: half-closed TCP connections, both ends in the test
 * (needs --tcp-established, tests.list flag tcp).
 *   fw2/cw (::1)  a sent 7 bytes and shut down writing (FIN_WAIT2), b
 *                 sent 7 bytes and read nothing (CLOSE_WAIT);
 *   fw1 (v4)      a's FIN waits behind bytes b's closed window holds back
 *                 (FIN_WAIT1; b ESTABLISHED, reads nothing);
 *   la (v4)       b's FIN waits behind bytes a's window holds back, after
 *                 a's FIN came (b LAST_ACK, a FIN_WAIT2);
 *   closing (v4)  a's FIN waits behind held-back bytes while b's FIN
 *                 came (a CLOSING, b FIN_WAIT2).
 * After restore each end is in its state again, reads every byte it was
 * sent in order then EOF where the peer's FIN came, can still write where
 * it did not shut down (the other end reads it), and gets EPIPE where it
 * did.
 *
 * Corrupt points: state (a's FIN_WAIT2 end read as another state), stream
 * (one byte of a held-back stream consumed before the check).
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

enum { ESTABLISHED = 1, FIN_WAIT1 = 4, FIN_WAIT2 = 5, CLOSE_WAIT = 8,
       LAST_ACK = 9, CLOSING = 11 };

struct conn {
	const char *name;
	int a, b;
	unsigned long long held;	/* bytes held back (fill) */
};

static void pair(int family, struct conn *c, int rcvbuf_a, int rcvbuf_b)
{
	struct sockaddr_storage ss = { .ss_family = family };
	socklen_t len = family == AF_INET ? sizeof(struct sockaddr_in) :
					    sizeof(struct sockaddr_in6);
	int l = socket(family, SOCK_STREAM, 0);

	if (family == AF_INET)
		((struct sockaddr_in *)&ss)->sin_addr.s_addr =
			htonl(INADDR_LOOPBACK);
	else
		((struct sockaddr_in6 *)&ss)->sin6_addr = in6addr_loopback;
	c->a = socket(family, SOCK_STREAM, 0);
	if (l < 0 || c->a < 0 || bind(l, (struct sockaddr *)&ss, len) ||
	    listen(l, 1) || getsockname(l, (struct sockaddr *)&ss, &len))
		test_abort("%s: listener: %m", c->name);
	if (rcvbuf_a && setsockopt(c->a, SOL_SOCKET, SO_RCVBUF, &rcvbuf_a,
				   sizeof(rcvbuf_a)))
		test_abort("SO_RCVBUF: %m");
	if (rcvbuf_b && setsockopt(l, SOL_SOCKET, SO_RCVBUF, &rcvbuf_b,
				   sizeof(rcvbuf_b)))
		test_abort("SO_RCVBUF: %m");
	if (connect(c->a, (struct sockaddr *)&ss, len) ||
	    (c->b = accept(l, NULL, NULL)) < 0)
		test_abort("%s: connect: %m", c->name);
	close(l);
}

static uint8_t byte_at(unsigned long long i)
{
	return (uint8_t)(i * 13 + i / 509);
}

/* Writes the pattern from fd until the peer's window holds it back. */
static unsigned long long fill(int fd)
{
	unsigned long long sent = 0;
	uint8_t chunk[4096];

	for (;;) {
		ssize_t r;

		for (size_t i = 0; i < sizeof(chunk); i++)
			chunk[i] = byte_at(sent + i);
		r = send(fd, chunk, sizeof(chunk), MSG_DONTWAIT);
		if (r < 0 && errno == EAGAIN)
			return sent;
		if (r <= 0)
			test_abort("fill: %m");
		sent += r;
	}
}

static int state(int fd)
{
	struct tcp_info ti;
	socklen_t l = sizeof(ti);

	return getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &l) ? -1 :
	       ti.tcpi_state;
}

static void want_state(const char *what, int fd, int want)
{
	int s = state(fd);

	if (s != want)
		test_fail("%s: state %d, not %d", what, s, want);
}

/* Reads n pattern bytes, then EOF if eof. */
static void read_stream(const char *what, int fd, unsigned long long n,
			bool eof)
{
	unsigned long long got = 0;
	uint8_t buf[8192];

	for (;;) {
		struct pollfd p = { fd, POLLIN, 0 };
		ssize_t r;

		if (got == n && !eof)
			return;
		if (poll(&p, 1, 10000) <= 0) {
			test_fail("%s: stalled after %llu of %llu bytes", what,
				  got, n);
			return;
		}
		r = recv(fd, buf, sizeof(buf), 0);
		if (r < 0) {
			test_fail("%s: recv: %m", what);
			return;
		}
		if (r == 0) {
			if (got != n)
				test_fail("%s: EOF after %llu of %llu bytes",
					  what, got, n);
			return;
		}
		for (ssize_t i = 0; i < r; i++)
			if (buf[i] != byte_at(got + i)) {
				test_fail("%s: byte %llu differs", what,
					  got + i);
				return;
			}
		got += r;
		if (got > n) {
			test_fail("%s: more than %llu bytes", what, n);
			return;
		}
	}
}

static void read_msg(const char *what, int fd, const char *msg, bool eof)
{
	char buf[64] = "";
	size_t n = strlen(msg);
	struct pollfd p = { fd, POLLIN, 0 };

	if (poll(&p, 1, 10000) <= 0 || recv(fd, buf, n, MSG_WAITALL) !=
	    (ssize_t)n || memcmp(buf, msg, n))
		test_fail("%s: \"%s\" lost", what, msg);
	if (eof && recv(fd, buf, 1, 0) != 0)
		test_fail("%s: no EOF after \"%s\"", what, msg);
}

static void no_write(const char *what, int fd)
{
	if (send(fd, "x", 1, MSG_NOSIGNAL | MSG_DONTWAIT) >= 0 ||
	    errno != EPIPE)
		test_fail("%s: a write after shutdown did not fail with EPIPE",
			  what);
}

int main(int argc, char **argv)
{
	struct conn cw = { "fw2/cw" }, fw1 = { "fw1" }, la = { "la" },
		    cl = { "closing" };

	test_init(argc, argv);
	pair(AF_INET6, &cw, 0, 0);
	pair(AF_INET, &fw1, 0, 4096);
	pair(AF_INET, &la, 4096, 0);
	pair(AF_INET, &cl, 0, 4096);
	if (send(cw.a, "from a:", 7, 0) != 7 || send(cw.b, "from b:", 7, 0) != 7 ||
	    shutdown(cw.a, SHUT_WR))
		test_abort("fw2/cw: %m");
	fw1.held = fill(fw1.a);
	la.held = fill(la.b);
	cl.held = fill(cl.a);
	if (shutdown(fw1.a, SHUT_WR) || shutdown(la.a, SHUT_WR) ||
	    shutdown(cl.a, SHUT_WR))
		test_abort("shutdown: %m");
	usleep(100000);
	if (shutdown(la.b, SHUT_WR) || shutdown(cl.b, SHUT_WR))
		test_abort("shutdown: %m");
	usleep(100000);	/* let the FINs and ACKs land */
	if (state(cw.a) != FIN_WAIT2 || state(cw.b) != CLOSE_WAIT ||
	    state(fw1.a) != FIN_WAIT1 || state(fw1.b) != ESTABLISHED ||
	    state(la.a) != FIN_WAIT2 || state(la.b) != LAST_ACK ||
	    state(cl.a) != CLOSING || state(cl.b) != FIN_WAIT2)
		test_abort("states: %d %d, %d %d, %d %d, %d %d", state(cw.a),
			   state(cw.b), state(fw1.a), state(fw1.b),
			   state(la.a), state(la.b), state(cl.a), state(cl.b));
	test_msg("held back: fw1 %llu, la %llu, closing %llu bytes", fw1.held,
		 la.held, cl.held);
	test_ready();
	test_wait_term();

	if (test_corrupt("stream"))
		recv(fw1.b, &(char){ 0 }, 1, 0);
	want_state("fw2/cw a", cw.a, test_corrupt("state") ? FIN_WAIT1 : FIN_WAIT2);
	want_state("fw2/cw b", cw.b, CLOSE_WAIT);
	want_state("fw1 a", fw1.a, FIN_WAIT1);
	want_state("fw1 b", fw1.b, ESTABLISHED);
	want_state("la a", la.a, FIN_WAIT2);
	want_state("la b", la.b, LAST_ACK);
	want_state("closing a", cl.a, CLOSING);
	want_state("closing b", cl.b, FIN_WAIT2);

	read_msg("fw2/cw b", cw.b, "from a:", true);
	read_msg("fw2/cw a", cw.a, "from b:", false);
	if (send(cw.b, "more", 4, 0) != 4)
		test_fail("fw2/cw: CLOSE_WAIT end can't write: %m");
	read_msg("fw2/cw a", cw.a, "more", false);
	no_write("fw2/cw a", cw.a);
	close(cw.b);
	read_msg("fw2/cw a", cw.a, "", true);

	read_stream("fw1 b", fw1.b, fw1.held, true);
	no_write("fw1 a", fw1.a);
	if (send(fw1.b, "back", 4, 0) != 4)
		test_fail("fw1: b can't write: %m");
	read_msg("fw1 a", fw1.a, "back", false);

	read_stream("la a", la.a, la.held, true);
	no_write("la b", la.b);
	read_msg("la b", la.b, "", true);

	read_stream("closing b", cl.b, cl.held, true);
	read_msg("closing a", cl.a, "", true);
	no_write("closing a", cl.a);
	no_write("closing b", cl.b);
	test_done();
}
