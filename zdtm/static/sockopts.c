// SPDX-License-Identifier: GPL-2.0
/*
 * sockopts: IP socket options that must survive.
 *   tcp (listening, 127.0.0.1): SO_REUSEADDR, SO_KEEPALIVE, TCP_KEEPIDLE
 *        77, TCP_KEEPINTVL 13, TCP_KEEPCNT 4, SO_LINGER on 9 s,
 *        SO_RCVBUF 96 KiB, SO_SNDBUF 80 KiB, TCP_NODELAY, IP_FREEBIND,
 *        IP_TOS 0x10, TCP_USER_TIMEOUT 4321;
 *   udp (v4): SO_REUSEPORT, SO_BROADCAST, IP_TTL 17, and a classic BPF
 *        filter (SO_ATTACH_FILTER) that drops datagrams shorter than 4
 *        bytes;
 *   v6 (udp, IPv6): IPV6_V6ONLY, IPV6_UNICAST_HOPS 9.
 * After restore getsockopt gives the same values (buffer sizes as the
 * kernel reports them: doubled), SO_GET_FILTER the same program, and the
 * filter still filters.
 *
 * Corrupt points: opt, filter.
 */
#include <errno.h>
#include <arpa/inet.h>
#include <linux/filter.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "zdtmtst.h"

struct opt {
	int *fd;
	const char *name;
	int level, opt, value;
	int seen;	/* what getsockopt said before the checkpoint */
};

static int tcp, udp, v6;

static struct opt opts[] = {
	{ &tcp, "SO_REUSEADDR", SOL_SOCKET, SO_REUSEADDR, 1 },
	{ &tcp, "SO_KEEPALIVE", SOL_SOCKET, SO_KEEPALIVE, 1 },
	{ &tcp, "TCP_KEEPIDLE", IPPROTO_TCP, TCP_KEEPIDLE, 77 },
	{ &tcp, "TCP_KEEPINTVL", IPPROTO_TCP, TCP_KEEPINTVL, 13 },
	{ &tcp, "TCP_KEEPCNT", IPPROTO_TCP, TCP_KEEPCNT, 4 },
	{ &tcp, "SO_RCVBUF", SOL_SOCKET, SO_RCVBUF, 96 << 10 },
	{ &tcp, "SO_SNDBUF", SOL_SOCKET, SO_SNDBUF, 80 << 10 },
	{ &tcp, "TCP_NODELAY", IPPROTO_TCP, TCP_NODELAY, 1 },
	{ &tcp, "IP_FREEBIND", IPPROTO_IP, IP_FREEBIND, 1 },
	{ &tcp, "IP_TOS", IPPROTO_IP, IP_TOS, 0x10 },
	{ &tcp, "TCP_USER_TIMEOUT", IPPROTO_TCP, TCP_USER_TIMEOUT, 4321 },
	{ &udp, "SO_REUSEPORT", SOL_SOCKET, SO_REUSEPORT, 1 },
	{ &udp, "SO_BROADCAST", SOL_SOCKET, SO_BROADCAST, 1 },
	{ &udp, "IP_TTL", IPPROTO_IP, IP_TTL, 17 },
	{ &v6, "IPV6_V6ONLY", IPPROTO_IPV6, IPV6_V6ONLY, 1 },
	{ &v6, "IPV6_UNICAST_HOPS", IPPROTO_IPV6, IPV6_UNICAST_HOPS, 9 },
};
#define NR (sizeof(opts) / sizeof(opts[0]))

/* ret 0 (drop) if the payload is shorter than 4 bytes (the filter sees
 * the UDP header too: 8 + 4), else keep it */
static struct sock_filter prog[] = {
	BPF_STMT(BPF_LD | BPF_W | BPF_LEN, 0),
	BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 8 + 4, 0, 1),
	BPF_STMT(BPF_RET | BPF_K, 0xffff),
	BPF_STMT(BPF_RET | BPF_K, 0),
};

static int get(int fd, int level, int opt)
{
	int v = -1;
	socklen_t l = sizeof(v);

	if (getsockopt(fd, level, opt, &v, &l))
		return -1;
	return v;
}

static void check_filter(struct sockaddr_in *a)
{
	struct sock_filter got[16];
	socklen_t n = 16;
	char buf[16];
	int s = socket(AF_INET, SOCK_DGRAM, 0);

	if (getsockopt(udp, SOL_SOCKET, SO_GET_FILTER, got, &n) ||
	    n != sizeof(prog) / sizeof(prog[0]) || memcmp(got, prog, sizeof(prog)))
		test_fail("filter: SO_GET_FILTER gives another program (%u)", n);
	sendto(s, "ab", 2, 0, (struct sockaddr *)a, sizeof(*a));
	sendto(s, "long", 4, 0, (struct sockaddr *)a, sizeof(*a));
	if (recv(udp, buf, sizeof(buf), 0) != 4)
		test_fail("filter: a short datagram came through");
	close(s);
}

int main(int argc, char **argv)
{
	struct sock_fprog fp = { sizeof(prog) / sizeof(prog[0]), prog };
	struct linger lg = { 1, 9 }, lg2;
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t l = sizeof(a);

	test_init(argc, argv);
	tcp = socket(AF_INET, SOCK_STREAM, 0);
	udp = socket(AF_INET, SOCK_DGRAM, 0);
	v6 = socket(AF_INET6, SOCK_DGRAM, 0);
	if (tcp < 0 || udp < 0 || v6 < 0)
		test_abort("socket: %m");
	for (size_t i = 0; i < NR; i++) {
		if (setsockopt(*opts[i].fd, opts[i].level, opts[i].opt,
			       &opts[i].value, sizeof(int)))
			test_abort("%s: %m", opts[i].name);
		opts[i].seen = get(*opts[i].fd, opts[i].level, opts[i].opt);
	}
	if (setsockopt(tcp, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)) ||
	    setsockopt(udp, SOL_SOCKET, SO_ATTACH_FILTER, &fp, sizeof(fp)))
		test_abort("SO_LINGER / SO_ATTACH_FILTER: %m");
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(tcp, (struct sockaddr *)&a, sizeof(a)) || listen(tcp, 4) ||
	    bind(udp, (struct sockaddr *)&a, sizeof(a)) ||
	    getsockname(udp, (struct sockaddr *)&a, &l))
		test_abort("bind: %m");
	test_ready();
	test_wait_term();

	if (test_corrupt("opt"))
		setsockopt(tcp, IPPROTO_TCP, TCP_KEEPIDLE, &(int){ 78 }, sizeof(int));
	if (test_corrupt("filter"))
		setsockopt(udp, SOL_SOCKET, SO_DETACH_FILTER, &(int){ 0 },
			   sizeof(int));
	for (size_t i = 0; i < NR; i++) {
		int v = get(*opts[i].fd, opts[i].level, opts[i].opt);

		if (v != opts[i].seen)
			test_fail("%s: %d, was %d", opts[i].name, v, opts[i].seen);
	}
	l = sizeof(lg2);
	if (getsockopt(tcp, SOL_SOCKET, SO_LINGER, &lg2, &l) || !lg2.l_onoff ||
	    lg2.l_linger != 9)
		test_fail("SO_LINGER: %d %d", lg2.l_onoff, lg2.l_linger);
	check_filter(&a);
	test_done();
}
