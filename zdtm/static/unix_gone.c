// SPDX-License-Identifier: GPL-2.0
/*
 * unix_gone: unix sockets bound to a name whose file was removed.
 *   L  a stream listener bound to "<cwd>/gone.sock" (absolute name), with
 *      one connection accepted (A, its client C), then the file unlinked;
 *   G  a datagram socket bound to the relative name "gone.dgram", the file
 *      unlinked; D, an unbound datagram socket that sent G a datagram.
 * After restore the names are the sockets' again (getsockname), no file
 * came back at either path, L still listens, A and C still talk, and D's
 * queued datagram is in G.
 * (Not checked, not done: A's own name, which accept() gave it, and a
 * datagram socket connected to G, which restore leaves unconnected.)
 *
 * Corrupt points: name (L closed and a socket bound elsewhere put in its
 * place), file (a file at gone.dgram), listen (L replaced by a socket
 * that does not listen), queue (G's datagram read).
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "zdtmtst.h"

static int l, a, c, g, d;
static char l_path[108];

static socklen_t addr_of(const char *path, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	snprintf(sa->sun_path, sizeof(sa->sun_path), "%s", path);
	return sizeof(*sa);
}

static int bound(int type, const char *path)
{
	struct sockaddr_un sa;
	int fd = socket(AF_UNIX, type, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, addr_of(path, &sa)))
		test_abort("bind %s: %m", path);
	return fd;
}

static void setup(void)
{
	struct sockaddr_un sa;
	char cwd[PATH_MAX];

	if (!getcwd(cwd, sizeof(cwd)) ||
	    snprintf(l_path, sizeof(l_path), "%s/gone.sock", cwd) >=
	    (int)sizeof(l_path))
		test_abort("cwd too long for a socket name");
	l = bound(SOCK_STREAM, l_path);
	if (listen(l, 4))
		test_abort("listen: %m");
	c = socket(AF_UNIX, SOCK_STREAM, 0);
	if (c < 0 || connect(c, (struct sockaddr *)&sa, addr_of(l_path, &sa)))
		test_abort("connect: %m");
	a = accept(l, NULL, NULL);
	g = bound(SOCK_DGRAM, "gone.dgram");
	d = socket(AF_UNIX, SOCK_DGRAM, 0);
	if (a < 0 || d < 0 ||
	    sendto(d, "d to g", 6, 0, (struct sockaddr *)&sa,
		   addr_of("gone.dgram", &sa)) != 6)
		test_abort("accept / sendto: %m");
	if (unlink(l_path) || unlink("gone.dgram"))
		test_abort("unlink: %m");
}

static void corrupt(void)
{
	if (test_corrupt("name")) {
		int fd = bound(SOCK_STREAM, "other.sock");

		listen(fd, 4);
		dup2(fd, l);
		close(fd);
	}
	if (test_corrupt("file"))
		close(bound(SOCK_DGRAM, "gone.dgram"));
	if (test_corrupt("queue"))
		recv(g, (char[16]){ 0 }, 16, MSG_DONTWAIT);
	if (test_corrupt("listen")) {
		int fd = socket(AF_UNIX, SOCK_STREAM, 0);

		dup2(fd, l);
		close(fd);
	}
}

static void check_name(int fd, const char *what, const char *want)
{
	struct sockaddr_un sa;
	socklen_t len = sizeof(sa);

	memset(&sa, 0, sizeof(sa));
	if (getsockname(fd, (struct sockaddr *)&sa, &len))
		test_fail("%s: getsockname: %m", what);
	else if (strcmp(sa.sun_path, want))
		test_fail("%s: bound to \"%s\", expected \"%s\"", what,
			  sa.sun_path, want);
}

static void check_gone(const char *path)
{
	struct stat st;

	if (!lstat(path, &st))
		test_fail("%s exists: the removed name came back as a file", path);
}

static void check_recv(int to, const char *what)
{
	char buf[16];

	if (recv(to, buf, sizeof(buf), MSG_DONTWAIT) != (ssize_t)strlen(what) ||
	    memcmp(buf, what, strlen(what)))
		test_fail("%s: the message is not there", what);
}

static void check_talk(int from, int to, const char *what)
{
	char buf[16];

	if (send(from, what, strlen(what), MSG_DONTWAIT) != (ssize_t)strlen(what) ||
	    recv(to, buf, sizeof(buf), MSG_DONTWAIT) != (ssize_t)strlen(what) ||
	    memcmp(buf, what, strlen(what)))
		test_fail("%s: the message did not get through", what);
}

int main(int argc, char **argv)
{
	int on = 0;
	socklen_t len = sizeof(on);

	test_init(argc, argv);
	setup();
	test_ready();
	test_wait_term();
	corrupt();
	check_name(l, "listener", l_path);
	check_name(g, "datagram", "gone.dgram");
	check_gone(l_path);
	check_gone("gone.dgram");
	if (getsockopt(l, SOL_SOCKET, SO_ACCEPTCONN, &on, &len) || !on)
		test_fail("listener: no longer listening");
	check_talk(c, a, "c to a");
	check_talk(a, c, "a to c");
	check_recv(g, "d to g");
	test_done();
}
