// SPDX-License-Identifier: GPL-2.0
/*
 * The established TCP connections a dump holds (tcp-repair.h): a copy of
 * each socket, what giving it back to its program takes, a guard process
 * that gives them back if criu-lite dies first, and the network lock that
 * keeps their peers' segments out from just before the tree is killed
 * until restore (netlock.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/filter.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "tcp-repair.h"

static int set_int(int fd, int level, int name, int v)
{
	return setsockopt(fd, level, name, &v, sizeof(v));
}

/* ---- the repair guard ---- */

/*
 * What a held socket needs to get back to its program if the tree runs
 * on: leave repair, SO_REUSEADDR again (leaving repair clears it), and
 * its own socket filter instead of our drop-all one (none: detached).
 */
static void give_back(int fd, bool reuse, bool locked, const void *filter,
		      size_t len)
{
	struct sock_fprog prog = { len / sizeof(struct sock_filter),
				   (struct sock_filter *)filter };

	if (set_int(fd, IPPROTO_TCP, TCP_REPAIR, TCP_REPAIR_OFF_NO_WP))
		pr_perror("TCP connection: leave repair mode");
	if (reuse)
		set_int(fd, SOL_SOCKET, SO_REUSEADDR, 1);
	if (!locked)
		return;
	if (len ? setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog,
			     sizeof(prog)) :
		  set_int(fd, SOL_SOCKET, SO_DETACH_FILTER, 0))
		pr_perror("TCP connection: give its socket filter back");
}

/* The message to the guard: flags, then the socket's own filter. */
struct guard_msg {
	uint8_t reuse, locked;
	uint8_t filter[BPF_MAXINSNS * sizeof(struct sock_filter)];
};

/*
 * The guard: a child of criu-lite with a copy of every socket put in
 * repair mode (received over a unix socket as they come, with what giving
 * it back takes). If criu-lite goes away without dismissing it, it gives
 * each back (give_back), so the tree that was left running keeps working
 * connections.
 */
static void guard_main(int sk)
{
	static struct guard_msg m[256];
	static size_t len[256];
	char lock[NETLOCK_NAME_MAX] = "";
	int fds[256];
	size_t n = 0;

	for (;;) {
		char cbuf[CMSG_SPACE(sizeof(int))];
		struct iovec iov = { &m[n < 256 ? n : 255], sizeof(m[0]) };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
				     .msg_control = cbuf,
				     .msg_controllen = sizeof(cbuf) };
		struct cmsghdr *cm;
		ssize_t r = recvmsg(sk, &mh, 0);

		if (r < 0 && errno == EINTR)
			continue;
		if (r == 1)	/* dismissed */
			_exit(0);
		if (r <= 0)
			break;
		cm = CMSG_FIRSTHDR(&mh);
		if (!cm) {	/* the network lock's table */
			size_t l = (size_t)r < sizeof(lock) ? (size_t)r :
							       sizeof(lock) - 1;

			memcpy(lock, iov.iov_base, l);
			lock[l] = 0;
			continue;
		}
		if (cm->cmsg_type == SCM_RIGHTS && n < 256 &&
		    (size_t)r >= offsetof(struct guard_msg, filter)) {
			memcpy(&fds[n], CMSG_DATA(cm), sizeof(int));
			len[n] = r - offsetof(struct guard_msg, filter);
			n++;
		}
	}
	for (size_t i = 0; i < n; i++)
		give_back(fds[i], m[i].reuse, m[i].locked, m[i].filter, len[i]);
	if (n)
		fprintf(stderr, "criu-lite: died during the dump: %zu TCP "
			"connection(s) left repair mode again\n", n);
	if (lock[0] && !netlock_remove(lock))
		fprintf(stderr, "criu-lite: died during the dump: network lock "
			"(nftables table inet %s) removed\n", lock);
	_exit(0);
}

static int guard_start(struct tcp_repair_hold *h)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv)) {
		pr_perror("socketpair for the TCP repair guard");
		return -1;
	}
	h->guard = fork();
	if (h->guard < 0) {
		pr_perror("fork the TCP repair guard");
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	if (h->guard == 0) {
		/* nothing of the tree's but what it is sent: a copy of a
		 * pipe end here would keep the pipe open */
		if (dup2(sv[1], 3) < 0)
			_exit(1);
		syscall(__NR_close_range, 4, ~0U, 0);
		setsid();
		signal(SIGINT, SIG_IGN);
		signal(SIGTERM, SIG_IGN);
		guard_main(3);
	}
	close(sv[1]);
	h->sk = sv[0];
	return 0;
}

static int send_to_guard(struct tcp_repair_hold *h, int fd,
			 const struct tcp_repair_held *e)
{
	static struct guard_msg m;
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { &m, offsetof(struct guard_msg, filter) +
				     e->filter_len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);

	m.reuse = e->reuse;
	m.locked = e->locked;
	if (e->filter_len)
		memcpy(m.filter, e->filter, e->filter_len);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	if (sendmsg(h->sk, &mh, MSG_NOSIGNAL) != (ssize_t)iov.iov_len) {
		pr_perror("hand a socket to the TCP repair guard");
		return -1;
	}
	return 0;
}

int tcp_repair_hold_add(struct tcp_repair_hold *h, int fd, bool reuse,
			const void *filter, size_t filter_len, bool lock,
			bool netlock)
{
	struct tcp_repair_held *v, *e;

	if (filter_len > sizeof(((struct guard_msg *)0)->filter))
		return -1;
	if (h->sk < 0 && guard_start(h))
		return -1;
	if (h->n == 256) {
		pr_err("more than 256 established TCP connections: not "
		       "supported yet");
		return -1;
	}
	v = realloc(h->held, (h->n + 1) * sizeof(*v));
	if (!v)
		return -1;
	h->held = v;
	e = &v[h->n];
	memset(e, 0, sizeof(*e));
	e->reuse = reuse;
	e->locked = lock;
	e->netlock = netlock;
	e->filter_len = filter_len;
	if (filter_len && !(e->filter = malloc(filter_len)))
		return -1;
	if (filter_len)
		memcpy(e->filter, filter, filter_len);
	e->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (e->fd < 0) {
		pr_perror("dup a socket to hold in repair");
		free(e->filter);
		return -1;
	}
	h->n++;
	return send_to_guard(h, fd, e);
}

void tcp_repair_hold_init(struct tcp_repair_hold *h, bool lock)
{
	memset(h, 0, sizeof(*h));
	h->sk = -1;
	h->guard = -1;
	if (lock)
		netlock_name(h->lock, sizeof(h->lock));
}

/* The connection of a held socket, as the lock's rule names it. */
static int conn_of(int fd, struct netlock_conn *c)
{
	socklen_t l = sizeof(c->local), p = sizeof(c->peer);

	memset(c, 0, sizeof(*c));
	return getsockname(fd, (struct sockaddr *)&c->local, &l) ||
	       getpeername(fd, (struct sockaddr *)&c->peer, &p) ? -1 : 0;
}

int tcp_repair_lock_network(struct tcp_repair_hold *h)
{
	struct netlock_conn *c;
	size_t n = 0;
	int ret = -1;

	if (!h->n || !h->lock[0])
		return 0;
	c = calloc(h->n, sizeof(*c));
	if (!c)
		return -1;
	for (size_t i = 0; i < h->n; i++) {
		if (!h->held[i].netlock)
			continue;
		if (conn_of(h->held[i].fd, &c[n++])) {
			pr_perror("network lock: address of a held connection");
			goto out;
		}
	}
	if (!n) {
		ret = 0;
		goto out;
	}
	/* the guard knows the table before it exists */
	if (send(h->sk, h->lock, strlen(h->lock), MSG_NOSIGNAL) !=
	    (ssize_t)strlen(h->lock)) {
		pr_perror("tell the TCP repair guard the network lock");
		goto out;
	}
	ret = netlock_install(h->lock, c, n);
	h->locked = !ret;
out:
	free(c);
	return ret;
}

void tcp_repair_before_kill(struct tcp_repair_hold *h)
{
	for (size_t i = 0; i < h->n; i++)
		if (set_int(h->held[i].fd, IPPROTO_TCP, TCP_REPAIR, TCP_REPAIR_ON))
			pr_perror("TCP connection: repair mode before the kill "
				  "(its peer may get a reset)");
}

void tcp_repair_release(struct tcp_repair_hold *h, bool tree_gone)
{
	for (size_t i = 0; i < h->n; i++) {
		const struct tcp_repair_held *e = &h->held[i];

		/* the tree is gone: closed in repair, the peer sees nothing */
		if (!tree_gone)
			give_back(e->fd, e->reuse, e->locked, e->filter,
				  e->filter_len);
		close(e->fd);
		free(e->filter);
	}
	free(h->held);
	if (h->sk >= 0) {
		char c = 'd';

		if (send(h->sk, &c, 1, MSG_NOSIGNAL) != 1)
			pr_perror("dismiss the TCP repair guard");
		close(h->sk);
	}
	if (h->guard > 0)
		waitpid(h->guard, NULL, 0);
	/* the tree runs on: its peers must get through again */
	if (h->locked && !tree_gone)
		netlock_remove(h->lock);
	tcp_repair_hold_init(h, false);
}
