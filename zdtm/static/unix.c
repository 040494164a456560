// SPDX-License-Identifier: GPL-2.0
/*
 * unix: unix sockets with queued data, and listening sockets.
 *   stream pair:    17 bytes queued one way (two sends), 5 the other way;
 *   dgram pair:     three datagrams of 10, 200 and 1 bytes queued;
 *   seqpacket pair: two records of 100 and 3000 bytes queued;
 *   listeners:      one bound to a path in the cwd, one abstract.
 * After restore every queue holds exactly its bytes with the record
 * boundaries of its type, then EAGAIN; each pair still carries data both
 * ways; a new client can connect to each listener and talk to the
 * accepted socket; names and SO_TYPE / SO_ACCEPTCONN are unchanged.
 *
 * Corrupt points: queue, listen, name.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "zdtmtst.h"

struct listener {
	const char *name;
	int fd;
	struct sockaddr_un addr;
	socklen_t len;
};

static uint8_t pattern[4096], buf[8192];

static void send_all(int fd, const void *data, size_t len)
{
	if (send(fd, data, len, MSG_DONTWAIT) != (ssize_t)len)
		test_abort("send %zu bytes: %m", len);
}

static void make_pair(int type, int sv[2])
{
	if (socketpair(AF_UNIX, type, 0, sv))
		test_abort("socketpair(%d): %m", type);
}

static void make_listener(struct listener *l, const char *name, bool abstract)
{
	char cwd[PATH_MAX];

	l->name = name;
	memset(&l->addr, 0, sizeof(l->addr));
	l->addr.sun_family = AF_UNIX;
	if (abstract) {
		snprintf(l->addr.sun_path + 1, sizeof(l->addr.sun_path) - 1,
			 "zdtm-unix-%d", getpid());
		l->len = offsetof(struct sockaddr_un, sun_path) + 1 +
			 strlen(l->addr.sun_path + 1);
	} else {
		if (!getcwd(cwd, sizeof(cwd)) ||
		    strlen(cwd) + 12 > sizeof(l->addr.sun_path))
			test_abort("cwd too long for a socket path");
		snprintf(l->addr.sun_path, sizeof(l->addr.sun_path), "%s/unix.sock", cwd);
		unlink(l->addr.sun_path);
		l->len = sizeof(l->addr);
	}
	l->fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (l->fd < 0 || bind(l->fd, (struct sockaddr *)&l->addr, l->len) ||
	    listen(l->fd, 8))
		test_abort("%s listener: %m", name);
}

static int sock_opt(int fd, int opt)
{
	socklen_t len = sizeof(int);
	int v = -1;

	getsockopt(fd, SOL_SOCKET, opt, &v, &len);
	return v;
}

/* Receives one message; must be @len bytes of pattern at @off. */
static void expect_msg(int fd, const char *what, size_t len, size_t off)
{
	ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

	if (n != (ssize_t)len)
		test_fail("%s: received %zd bytes (%m), expected %zu", what, n, len);
	else if (memcmp(buf, pattern + off, len))
		test_fail("%s: received bytes differ", what);
}

static void expect_empty(int fd, const char *what)
{
	ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

	if (n >= 0 || errno != EAGAIN)
		test_fail("%s: %zd more bytes queued", what, n);
}

/* The pair still carries data both ways. */
static void check_pair(int sv[2], int type, const char *what)
{
	if (sock_opt(sv[0], SO_TYPE) != type || sock_opt(sv[1], SO_TYPE) != type) {
		test_fail("%s: SO_TYPE %d/%d, expected %d", what,
			  sock_opt(sv[0], SO_TYPE), sock_opt(sv[1], SO_TYPE), type);
		return;
	}
	if (send(sv[0], pattern, 33, MSG_DONTWAIT) != 33 ||
	    send(sv[1], pattern + 50, 44, MSG_DONTWAIT) != 44) {
		test_fail("%s: send after restore: %m", what);
		return;
	}
	expect_msg(sv[1], what, 33, 0);
	expect_msg(sv[0], what, 44, 50);
}

static bool same_name(const struct listener *l, struct sockaddr_un *addr,
		      socklen_t len)
{
	size_t off = offsetof(struct sockaddr_un, sun_path);

	if (getsockname(l->fd, (struct sockaddr *)addr, &len) || len <= off)
		return false;
	if (l->addr.sun_path[0])
		return !strcmp(addr->sun_path, l->addr.sun_path);
	return len == l->len && !memcmp(addr->sun_path, l->addr.sun_path, len - off);
}

static void check_listener(const struct listener *l)
{
	struct sockaddr_un addr;
	socklen_t len = sizeof(addr);
	int c, a;

	if (sock_opt(l->fd, SO_ACCEPTCONN) != 1) {
		test_fail("%s: not listening", l->name);
		return;
	}
	if (!same_name(l, &addr, len))
		test_fail("%s: getsockname gives another name", l->name);
	c = socket(AF_UNIX, SOCK_STREAM, 0);
	if (c < 0 || connect(c, (const struct sockaddr *)&l->addr, l->len)) {
		test_fail("%s: connect: %m", l->name);
		goto out;
	}
	a = accept(l->fd, NULL, NULL);
	if (a < 0) {
		test_fail("%s: accept: %m", l->name);
		goto out;
	}
	if (send(c, pattern, 77, 0) != 77)
		test_fail("%s: send: %m", l->name);
	else
		expect_msg(a, l->name, 77, 0);
	close(a);
out:
	close(c);
}

int main(int argc, char **argv)
{
	int st[2], dg[2], sq[2];
	struct listener path, abstract;

	test_init(argc, argv);
	test_fill(pattern, sizeof(pattern), 0x50c4);
	make_pair(SOCK_STREAM, st);
	make_pair(SOCK_DGRAM, dg);
	make_pair(SOCK_SEQPACKET, sq);
	make_listener(&path, "path listener", false);
	make_listener(&abstract, "abstract listener", true);

	send_all(st[0], pattern, 12);
	send_all(st[0], pattern + 12, 5);
	send_all(st[1], pattern + 100, 5);
	send_all(dg[0], pattern, 10);
	send_all(dg[0], pattern + 10, 200);
	send_all(dg[0], pattern + 210, 1);
	send_all(sq[0], pattern, 100);
	send_all(sq[0], pattern + 100, 3000);

	test_ready();
	test_wait_term();
	if (test_corrupt("queue") && recv(dg[1], buf, 1, MSG_DONTWAIT) < 0)
		test_msg("corrupt: %m");
	if (test_corrupt("name"))
		abstract.addr.sun_path[1] ^= 1;
	if (test_corrupt("listen")) {
		int s = socket(AF_UNIX, SOCK_STREAM, 0);

		dup2(s, path.fd);
		close(s);
	}

	expect_msg(st[1], "stream", 17, 0);
	expect_empty(st[1], "stream");
	expect_msg(st[0], "stream back", 5, 100);
	expect_empty(st[0], "stream back");
	expect_msg(dg[1], "dgram 1", 10, 0);
	expect_msg(dg[1], "dgram 2", 200, 10);
	expect_msg(dg[1], "dgram 3", 1, 210);
	expect_empty(dg[1], "dgram");
	expect_msg(sq[1], "seqpacket 1", 100, 0);
	expect_msg(sq[1], "seqpacket 2", 3000, 100);
	expect_empty(sq[1], "seqpacket");

	check_pair(st, SOCK_STREAM, "stream");
	check_pair(dg, SOCK_DGRAM, "dgram");
	check_pair(sq, SOCK_SEQPACKET, "seqpacket");
	check_listener(&path);
	check_listener(&abstract);
	test_done();
}
