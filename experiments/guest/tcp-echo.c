/*
 * tcp-echo: the host end of the guest's network check. The guest connects
 * to 10.0.2.2:PORT, which QEMU user-net turns into a connection to the
 * host's 127.0.0.1:PORT; this echoes each connection's bytes back.
 *
 *   tcp-echo [-p PORT] [-a ADDR]
 *
 * Prints the bound port (useful with -p 0, the default) on the first line of
 * stdout, then serves connections one at a time until killed. A connection
 * idle for 5 s is dropped, so a stuck guest cannot wedge the server.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void serve(int c)
{
	char buf[4096];

	for (;;) {
		struct pollfd pfd = { .fd = c, .events = POLLIN };
		ssize_t n;

		if (poll(&pfd, 1, 5000) <= 0)
			return;
		n = read(c, buf, sizeof(buf));
		if (n <= 0 || send(c, buf, n, MSG_NOSIGNAL) != n)
			return;
	}
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	const char *addr = "127.0.0.1";
	int port = 0, one = 1, s, ch;

	while ((ch = getopt(argc, argv, "p:a:")) != -1) {
		if (ch == 'p')
			port = atoi(optarg);
		else if (ch == 'a')
			addr = optarg;
		else {
			fprintf(stderr, "usage: tcp-echo [-p PORT] [-a ADDR]\n");
			return 2;
		}
	}
	sa.sin_port = htons(port);
	if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1) {
		fprintf(stderr, "tcp-echo: bad address %s\n", addr);
		return 2;
	}
	s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0 || setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(s, (struct sockaddr *)&sa, sizeof(sa)) || listen(s, 16) ||
	    getsockname(s, (struct sockaddr *)&sa, &len)) {
		fprintf(stderr, "tcp-echo: %s:%d: %s\n", addr, port,
			strerror(errno));
		return 1;
	}
	printf("%d\n", ntohs(sa.sin_port));
	fflush(stdout);
	for (;;) {
		int c = accept4(s, NULL, NULL, SOCK_CLOEXEC);

		if (c < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			perror("tcp-echo: accept");
			return 1;
		}
		serve(c);
		close(c);
	}
}
