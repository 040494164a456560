// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "net.h"

int net_split(const char *addr, char *host, size_t hlen, unsigned *port)
{
	const char *colon = strrchr(addr, ':'), *h = addr;
	size_t n;
	char *end;
	long p;

	if (!colon || colon == addr || !colon[1])
		goto bad;
	n = colon - addr;
	if (addr[0] == '[' && colon[-1] == ']') {
		h = addr + 1;
		n -= 2;
	}
	if (!n || n >= hlen)
		goto bad;
	memcpy(host, h, n);
	host[n] = 0;
	errno = 0;
	p = strtol(colon + 1, &end, 10);
	if (*end || errno || p < 1 || p > 65535)
		goto bad;
	*port = p;
	return 0;
bad:
	pr_err("address \"%s\": expected HOST:PORT (PORT 1-65535)", addr);
	return -1;
}

int net_connect(const char *host, unsigned port, const char *what)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai, *a;
	char ports[16];
	int fd = -1, one = 1, err, saved = 0;

	snprintf(ports, sizeof(ports), "%u", port);
	err = getaddrinfo(host, ports, &hints, &ai);
	if (err) {
		pr_err("%s %s:%u: %s", what, host, port, gai_strerror(err));
		return -1;
	}
	for (a = ai; a; a = a->ai_next) {
		fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC,
			    a->ai_protocol);
		if (fd >= 0 && !connect(fd, a->ai_addr, a->ai_addrlen))
			break;
		saved = errno;
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	if (fd < 0) {
		errno = saved;
		pr_perror("%s %s:%u: connect", what, host, port);
		return -1;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

int net_listen(const char *addr, unsigned port, const char *what)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE }, *ai, *a;
	char ports[16];
	int fd = -1, one = 1, err, saved = 0;

	snprintf(ports, sizeof(ports), "%u", port);
	err = getaddrinfo(addr, ports, &hints, &ai);
	if (err) {
		pr_err("%s: address %s: %s", what, addr ? addr : "*",
		       gai_strerror(err));
		return -1;
	}
	for (a = ai; a; a = a->ai_next) {
		fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC,
			    a->ai_protocol);
		if (fd < 0)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (!bind(fd, a->ai_addr, a->ai_addrlen) && !listen(fd, 4))
			break;
		saved = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	if (fd < 0) {
		errno = saved;
		pr_perror("%s: listen on %s:%u", what, addr ? addr : "*", port);
		return -1;
	}
	return fd;
}
