// SPDX-License-Identifier: GPL-2.0
/*
 * IP sockets: TCP, UDP, UDP-Lite and ICMP datagram ("ping") sockets, over
 * IPv4 and IPv6 (v4-mapped addresses included).
 *
 * Dump. Addresses come from getsockname/getpeername on our pidfd_getfd
 * copy; what those do not show (the TCP state, a listener's backlog, the
 * shutdown bits) comes from inet_diag over sock_diag (libnl-3), one
 * snapshot per family and protocol per dump, taken while the tree is
 * frozen. Options are stored only where they differ from a fresh socket
 * of the same kind, so restore sets only what the program set. A UDP
 * socket's queued datagrams are peeked (SO_PEEK_OFF) with their senders.
 *
 * Established TCP connections (--tcp-established) are locked (a
 * drop-all socket filter) and read in repair mode (TCP_REPAIR,
 * CAP_NET_ADMIN): sequence numbers, both queues, window and the options
 * negotiated at SYN time; then they leave repair, locked, until the tree's
 * fate is settled. A socket in repair mode sends nothing, and closing it
 * sends neither FIN nor RST: they go back into repair just before the tree
 * is killed (the peer sees nothing); a tree given back (--leave-running,
 * a failure) gets its own filters back. A small guard process holds a
 * copy of every such socket and gives them back if criu-lite dies first.
 *
 * Restore, in the puppet, with ordinary calls:
 *   listening   socket, options, bind (SO_REUSEADDR while binding: the
 *               old connections of the port may still be in TIME_WAIT),
 *               listen
 *   closed      socket, options, bind if it was bound (in repair mode:
 *               forced onto a port in use), shutdown bits
 *   UDP         socket, options, bind, queued datagrams sent to it again,
 *               connect, shutdown
 *   established socket, options, repair mode, sequence numbers, bind,
 *               connect (in repair: no SYN), options, queues, window; it
 *               leaves repair in criu-lite just before the process runs
 *               (late), then gets the bytes that were not sent yet.
 *   half-closed the same, then the FINs again (make_fins: shutdown for
 *               ours, a segment from the peer's address for its FIN or
 *               its ACK of ours)
 *   pending     the client end of a connection its listener (in the
 *               tree) has not accepted yet: a real connect to it
 *   ICMP        socket, options, bind (its identifier), connect
 * The network lock (netlock.c) of a dump's connections is removed in late.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <linux/filter.h>
#include <linux/inet_diag.h>
#include <linux/sock_diag.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip6.h>
#include <netinet/tcp.h>
#include <netinet/udp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <netlink/attr.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>

#include "fd-ops.h"
#include "log.h"
#include "netlock.h"
#include "sock-diag.h"
#include "tcp-repair.h"
#include "util.h"

#ifndef IPPROTO_UDPLITE
#define IPPROTO_UDPLITE	136
#endif
#ifndef SO_BUF_LOCK
#define SO_BUF_LOCK	72	/* Linux 5.14 */
#endif
#ifndef UDPLITE_SEND_CSCOV
#define UDPLITE_SEND_CSCOV	10
#define UDPLITE_RECV_CSCOV	11
#endif

/* include/net/tcp_states.h */
enum { SK_ESTABLISHED = 1, SK_SYN_RECV = 3, SK_FIN_WAIT1 = 4,
       SK_FIN_WAIT2 = 5, SK_CLOSE = 7, SK_CLOSE_WAIT = 8, SK_LAST_ACK = 9,
       SK_LISTEN = 10, SK_CLOSING = 11, SK_NEW_SYN_RECV = 12 };
static const char *const tcp_state_names[] = {
	"?", "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2",
	"TIME_WAIT", "CLOSE", "CLOSE_WAIT", "LAST_ACK", "LISTEN", "CLOSING",
	"NEW_SYN_RECV", "BOUND_INACTIVE",
};
/* include/net/sock.h: sk_shutdown bits */
#define RCV_SHUTDOWN	1
#define SEND_SHUTDOWN	2

#define DGRAM_MAX	(64U << 10)	/* larger than any UDP datagram */
#define DGRAMS_MAX	(1U << 16)
#define QUEUE_MAX	(64U << 20)	/* a TCP queue we agree to store */

static const char *state_name(unsigned s)
{
	return s < sizeof(tcp_state_names) / sizeof(tcp_state_names[0]) ?
		       tcp_state_names[s] : "?";
}

static bool is_tcp(const InetSk *k)
{
	return k->type == SOCK_STREAM;
}

/* ICMP datagram ("ping") sockets: net.ipv4.ping_group_range lets them be
 * made; sock_diag does not list them. */
static bool is_icmp(const InetSk *k)
{
	return k->type == SOCK_DGRAM && (k->protocol == IPPROTO_ICMP ||
					 k->protocol == IPPROTO_ICMPV6);
}

/*
 * A connection's FINs, by state. Each FIN takes a sequence number: the
 * send sequence read in repair mode (write_seq) counts ours once it is
 * queued, the receive one (rcv_nxt) the peer's once it came. Half-closed
 * connections are made again from an established one in repair mode:
 * shutdown() queues our FIN, a segment from the peer's address brings
 * its FIN (or the ACK of ours), and the state machine does the rest.
 */
static bool fin_sent(unsigned state)	/* ours is queued */
{
	return state == SK_FIN_WAIT1 || state == SK_FIN_WAIT2 ||
	       state == SK_CLOSING || state == SK_LAST_ACK;
}

static bool fin_acked(unsigned state)	/* the peer acknowledged ours */
{
	return state == SK_FIN_WAIT2;
}

static bool fin_rcvd(unsigned state)	/* the peer's came */
{
	return state == SK_CLOSE_WAIT || state == SK_LAST_ACK ||
	       state == SK_CLOSING;
}

/* The states a connection is dumped in with --tcp-established. */
static bool is_connected(unsigned state)
{
	return state == SK_ESTABLISHED || fin_sent(state) || fin_rcvd(state);
}

/* ---- options ---- */

enum { OPT_ANY = 0, OPT_TCP = 1, OPT_UDP = 2, OPT_V4 = 4, OPT_V6 = 8,
       OPT_LITE = 16 };

struct inet_opt {
	int level, name;
	const char *label;
	unsigned only;	/* OPT_*: the sockets it is looked at on */
};

/*
 * The options kept. Each is read on the target's socket and on a fresh
 * socket of the same kind; only a difference is stored. Buffer sizes are
 * special: the kernel doubles what is set (restore sets half, forced).
 */
static const struct inet_opt inet_opts[] = {
	{ SOL_SOCKET, SO_REUSEADDR, "SO_REUSEADDR", OPT_ANY },
	{ SOL_SOCKET, SO_REUSEPORT, "SO_REUSEPORT", OPT_ANY },
	{ SOL_SOCKET, SO_KEEPALIVE, "SO_KEEPALIVE", OPT_ANY },
	{ SOL_SOCKET, SO_BROADCAST, "SO_BROADCAST", OPT_ANY },
	{ SOL_SOCKET, SO_OOBINLINE, "SO_OOBINLINE", OPT_ANY },
	{ SOL_SOCKET, SO_PRIORITY, "SO_PRIORITY", OPT_ANY },
	{ SOL_SOCKET, SO_MARK, "SO_MARK", OPT_ANY },
	{ SOL_SOCKET, SO_RCVLOWAT, "SO_RCVLOWAT", OPT_ANY },
	{ SOL_SOCKET, SO_TIMESTAMP, "SO_TIMESTAMP", OPT_ANY },
	{ SOL_SOCKET, SO_RCVBUF, "SO_RCVBUF", OPT_ANY },
	{ SOL_SOCKET, SO_SNDBUF, "SO_SNDBUF", OPT_ANY },
	{ SOL_SOCKET, SO_BUF_LOCK, "SO_BUF_LOCK", OPT_ANY },
	{ IPPROTO_TCP, TCP_NODELAY, "TCP_NODELAY", OPT_TCP },
	{ IPPROTO_TCP, TCP_CORK, "TCP_CORK", OPT_TCP },
	{ IPPROTO_TCP, TCP_KEEPIDLE, "TCP_KEEPIDLE", OPT_TCP },
	{ IPPROTO_TCP, TCP_KEEPINTVL, "TCP_KEEPINTVL", OPT_TCP },
	{ IPPROTO_TCP, TCP_KEEPCNT, "TCP_KEEPCNT", OPT_TCP },
	{ IPPROTO_TCP, TCP_USER_TIMEOUT, "TCP_USER_TIMEOUT", OPT_TCP },
	{ IPPROTO_TCP, TCP_LINGER2, "TCP_LINGER2", OPT_TCP },
	{ IPPROTO_TCP, TCP_SYNCNT, "TCP_SYNCNT", OPT_TCP },
	{ IPPROTO_TCP, TCP_DEFER_ACCEPT, "TCP_DEFER_ACCEPT", OPT_TCP },
	{ IPPROTO_TCP, TCP_NOTSENT_LOWAT, "TCP_NOTSENT_LOWAT", OPT_TCP },
	{ IPPROTO_IP, IP_FREEBIND, "IP_FREEBIND", OPT_ANY },
	{ IPPROTO_IP, IP_TRANSPARENT, "IP_TRANSPARENT", OPT_ANY },
	{ IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, "IP_BIND_ADDRESS_NO_PORT", OPT_ANY },
	{ IPPROTO_IP, IP_TOS, "IP_TOS", OPT_V4 },
	{ IPPROTO_IP, IP_TTL, "IP_TTL", OPT_V4 },
	{ IPPROTO_IP, IP_RECVERR, "IP_RECVERR", OPT_V4 },
	{ IPPROTO_IP, IP_PKTINFO, "IP_PKTINFO", OPT_V4 },
	{ IPPROTO_IP, IP_RECVTOS, "IP_RECVTOS", OPT_V4 },
	{ IPPROTO_IP, IP_RECVTTL, "IP_RECVTTL", OPT_V4 },
	{ IPPROTO_IP, IP_MTU_DISCOVER, "IP_MTU_DISCOVER", OPT_V4 },
	{ IPPROTO_IP, IP_MULTICAST_TTL, "IP_MULTICAST_TTL", OPT_V4 | OPT_UDP },
	{ IPPROTO_IP, IP_MULTICAST_LOOP, "IP_MULTICAST_LOOP", OPT_V4 | OPT_UDP },
	{ IPPROTO_IPV6, IPV6_V6ONLY, "IPV6_V6ONLY", OPT_V6 },
	{ IPPROTO_IPV6, IPV6_TCLASS, "IPV6_TCLASS", OPT_V6 },
	{ IPPROTO_IPV6, IPV6_UNICAST_HOPS, "IPV6_UNICAST_HOPS", OPT_V6 },
	{ IPPROTO_IPV6, IPV6_RECVPKTINFO, "IPV6_RECVPKTINFO", OPT_V6 },
	{ IPPROTO_IPV6, IPV6_RECVERR, "IPV6_RECVERR", OPT_V6 },
	{ IPPROTO_IPV6, IPV6_MTU_DISCOVER, "IPV6_MTU_DISCOVER", OPT_V6 },
	{ IPPROTO_IPV6, IPV6_MULTICAST_HOPS, "IPV6_MULTICAST_HOPS",
	  OPT_V6 | OPT_UDP },
	{ IPPROTO_IPV6, IPV6_MULTICAST_LOOP, "IPV6_MULTICAST_LOOP",
	  OPT_V6 | OPT_UDP },
	{ IPPROTO_UDPLITE, UDPLITE_SEND_CSCOV, "UDPLITE_SEND_CSCOV", OPT_LITE },
	{ IPPROTO_UDPLITE, UDPLITE_RECV_CSCOV, "UDPLITE_RECV_CSCOV", OPT_LITE },
};

#define NR_INET_OPTS	(sizeof(inet_opts) / sizeof(inet_opts[0]))

static bool opt_applies(const struct inet_opt *o, const InetSk *k)
{
	if ((o->only & OPT_TCP) && !is_tcp(k))
		return false;
	if ((o->only & OPT_UDP) && is_tcp(k))
		return false;
	if ((o->only & OPT_LITE) && k->protocol != IPPROTO_UDPLITE)
		return false;
	if ((o->only & OPT_V4) && k->family != AF_INET)
		return false;
	if ((o->only & OPT_V6) && k->family != AF_INET6)
		return false;
	return true;
}

static const struct inet_opt *opt_known(uint32_t level, uint32_t name)
{
	for (size_t i = 0; i < NR_INET_OPTS; i++)
		if ((uint32_t)inet_opts[i].level == level &&
		    (uint32_t)inet_opts[i].name == name)
			return &inet_opts[i];
	return NULL;
}

static int get_int(int fd, int level, int name, int *v)
{
	socklen_t l = sizeof(*v);

	*v = 0;
	return getsockopt(fd, level, name, v, &l);
}

static int set_int(int fd, int level, int name, int v)
{
	return setsockopt(fd, level, name, &v, sizeof(v));
}

static int add_opt(InetSk *k, int level, int name, int value)
{
	SkOpt **v = realloc(k->opts, (k->n_opts + 1) * sizeof(*v)), *o;

	if (!v)
		return -1;
	k->opts = v;
	o = malloc(sizeof(*o));
	if (!o)
		return -1;
	sk_opt__init(o);
	o->level = level;
	o->name = name;
	o->value = value;
	k->opts[k->n_opts++] = o;
	return 0;
}

/* Options of sk that differ from those of a fresh socket of its kind. */
static int dump_opts(struct fd_dump *d, InetSk *k)
{
	int fresh = socket(k->family, k->type | SOCK_CLOEXEC, k->protocol);
	struct linger lg;
	socklen_t l = sizeof(lg);

	if (fresh < 0) {
		pr_perror("pid %d fd %d: a fresh socket to compare options with",
			  d->pid, d->fd);
		return -1;
	}
	for (size_t i = 0; i < NR_INET_OPTS; i++) {
		const struct inet_opt *o = &inet_opts[i];
		int v, f;

		if (!opt_applies(o, k) || get_int(d->copy, o->level, o->name, &v) ||
		    get_int(fresh, o->level, o->name, &f) || v == f)
			continue;
		pr_debug("pid %d fd %d: %s = %d", d->pid, d->fd, o->label, v);
		if (add_opt(k, o->level, o->name, v)) {
			close(fresh);
			return -1;
		}
	}
	close(fresh);
	if (!getsockopt(d->copy, SOL_SOCKET, SO_LINGER, &lg, &l) && lg.l_onoff) {
		k->has_linger = true;
		k->linger = lg.l_linger;
	}
	return 0;
}

/* A classic BPF filter (SO_ATTACH_FILTER), read back with SO_GET_FILTER;
 * an eBPF one (SO_ATTACH_BPF) can't be read back: refused. */
static int dump_filter(struct fd_dump *d, InetSk *k)
{
	socklen_t n = 0;
	int locked;

	if (getsockopt(d->copy, SOL_SOCKET, SO_GET_FILTER, NULL, &n)) {
		pr_perror("pid %d fd %d: SO_GET_FILTER (an eBPF socket filter "
			  "can't be dumped)", d->pid, d->fd);
		return -1;
	}
	if (!n)
		return 0;
	k->filter.data = malloc(n * sizeof(struct sock_filter));
	if (!k->filter.data)
		return -1;
	if (getsockopt(d->copy, SOL_SOCKET, SO_GET_FILTER, k->filter.data, &n)) {
		pr_perror("pid %d fd %d: SO_GET_FILTER", d->pid, d->fd);
		return -1;
	}
	k->has_filter = true;
	k->filter.len = n * sizeof(struct sock_filter);
	if (!get_int(d->copy, SOL_SOCKET, SO_LOCK_FILTER, &locked) && locked)
		k->has_filter_locked = k->filter_locked = true;
	return 0;
}

/* ---- inet_diag: the TCP state, backlog and shutdown bits ---- */

struct inet_diag_sk {
	uint32_t ino;
	uint8_t state, shutdown;
	uint32_t rq, wq;	/* listener: pending, backlog */
	uint16_t sport, dport;	/* network order */
	uint32_t src[4], dst[4];	/* IPv4: [0] */
};

struct inet_diag_table {
	uint8_t family, protocol;
	struct inet_diag_sk *sk;
	size_t n, cap;
	int err;
};

struct inet_dump_state {
	struct inet_diag_table *t[8];
	size_t n;
};

static int inet_diag_one(struct nl_msg *msg, void *arg)
{
	struct inet_diag_table *t = arg;
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	struct inet_diag_msg *m = nlmsg_data(nlh);
	struct nlattr *tb[INET_DIAG_MAX + 1];
	struct inet_diag_sk *s;

	if (nlmsg_parse(nlh, sizeof(*m), tb, INET_DIAG_MAX, NULL) < 0) {
		t->err = -1;
		return NL_STOP;
	}
	if (array_grow(&t->sk, &t->cap, t->n, sizeof(*t->sk), 64)) {
		t->err = -1;
		return NL_STOP;
	}
	s = &t->sk[t->n++];
	memset(s, 0, sizeof(*s));
	s->ino = m->idiag_inode;
	s->state = m->idiag_state;
	s->rq = m->idiag_rqueue;
	s->wq = m->idiag_wqueue;
	s->sport = m->id.idiag_sport;
	s->dport = m->id.idiag_dport;
	memcpy(s->src, m->id.idiag_src, sizeof(s->src));
	memcpy(s->dst, m->id.idiag_dst, sizeof(s->dst));
	if (tb[INET_DIAG_SHUTDOWN])
		s->shutdown = nla_get_u8(tb[INET_DIAG_SHUTDOWN]);
	return NL_OK;
}

static void inet_diag_free(struct inet_diag_table *t)
{
	if (t) {
		free(t->sk);
		free(t);
	}
}

void inet_dump_state_free(struct inet_dump_state *st)
{
	if (!st)
		return;
	for (size_t i = 0; i < st->n; i++)
		inet_diag_free(st->t[i]);
	free(st);
}

static struct inet_diag_table *inet_diag_load(uint8_t family, uint8_t protocol)
{
	struct inet_diag_req_v2 req = {
		.sdiag_family = family,
		.sdiag_protocol = protocol,
		.idiag_states = ~0U,
	};
	struct inet_diag_table *t = calloc(1, sizeof(*t));
	char what[16];

	if (!t)
		return NULL;
	t->family = family;
	t->protocol = protocol;
	snprintf(what, sizeof(what), "%s %s", family == AF_INET ? "IPv4" : "IPv6",
		 protocol == IPPROTO_TCP ? "TCP" : "UDP");
	if (sock_diag_dump(&req, sizeof(req), inet_diag_one, t, &t->err, what)) {
		inet_diag_free(t);
		return NULL;
	}
	return t;
}

/*
 * What sock_diag says of k's socket. Sockets in no hash table (a TCP
 * socket never bound, a UDP socket never bound or connected) are not
 * listed: they are closed, with nothing shut down.
 */
static const struct inet_diag_sk *inet_diag_find(struct fd_dump *d,
						 const InetSk *k)
{
	static const struct inet_diag_sk unhashed = { .state = SK_CLOSE };

	struct inet_dump_state **sp = fd_dump_inet_state(d->fc), *st;
	struct inet_diag_table *t = NULL;

	if (!*sp && !(*sp = calloc(1, sizeof(**sp))))
		return NULL;
	st = *sp;
	for (size_t i = 0; i < st->n && !t; i++)
		if (st->t[i]->family == k->family &&
		    st->t[i]->protocol == k->protocol)
			t = st->t[i];
	if (!t) {
		if (st->n == sizeof(st->t) / sizeof(st->t[0]))
			return NULL;
		t = inet_diag_load(k->family, k->protocol);
		if (!t)
			return NULL;
		st->t[st->n++] = t;
	}
	for (size_t i = 0; i < t->n; i++)
		if (t->sk[i].ino == k->ino)
			return &t->sk[i];
	return &unhashed;
}

/*
 * Connections not accepted yet. The kernel lists each in the listener's
 * accept queue as an established socket of its own without an inode (no
 * file: only accept() makes one), on the listener's port. Nothing but
 * accept() reads such a socket, and nothing puts a socket made in repair
 * mode into a listener's queue: only a connection whose client is in the
 * tree can be made again, by that client connecting anew at restore
 * (its peer sees nothing: it is in the tree too).
 */
/* The states of a socket in an accept queue (orphans of closed
 * connections, TIME_WAIT ones, have no inode either). */
static bool is_child_state(unsigned state)
{
	return state == SK_ESTABLISHED || state == SK_CLOSE_WAIT ||
	       state == SK_SYN_RECV || state == SK_NEW_SYN_RECV;
}

static bool is_child_of(const struct inet_diag_sk *c,
			const struct inet_diag_sk *l, size_t alen)
{
	static const uint32_t any[4];

	return !c->ino && is_child_state(c->state) && c->sport == l->sport &&
	       (!memcmp(l->src, any, alen) || !memcmp(c->src, l->src, alen));
}

static size_t diag_alen(const struct inet_diag_table *t)
{
	return t->family == AF_INET ? 4 : 16;
}

static struct inet_diag_table *diag_table(struct fd_dump *d, const InetSk *k)
{
	struct inet_dump_state **sp = fd_dump_inet_state(d->fc);

	for (size_t i = 0; *sp && i < (*sp)->n; i++)
		if ((*sp)->t[i]->family == k->family &&
		    (*sp)->t[i]->protocol == k->protocol)
			return (*sp)->t[i];
	return NULL;
}

/* A listener's connections not accepted yet: one holding data its client
 * sent is refused (only accept() could read it); one whose client is not
 * a socket of this host is lost, with a warning. */
static int dump_pending(struct fd_dump *d, const struct inet_diag_sk *l,
			const InetSk *k)
{
	const struct inet_diag_table *t = diag_table(d, k);
	size_t alen = t ? diag_alen(t) : 0, lost = 0;

	for (size_t i = 0; t && i < t->n; i++) {
		const struct inet_diag_sk *c = &t->sk[i];
		bool local = false;

		if (!is_child_of(c, l, alen))
			continue;
		if (c->rq) {
			pr_err("pid %d fd %d: a connection not yet accepted on "
			       "this listening socket holds %u bytes (readable "
			       "only by accept(): not supported)", d->pid, d->fd,
			       c->rq);
			return -1;
		}
		for (size_t j = 0; j < t->n && !local; j++)
			local = t->sk[j].ino && t->sk[j].sport == c->dport &&
				t->sk[j].dport == c->sport &&
				!memcmp(t->sk[j].src, c->dst, alen) &&
				!memcmp(t->sk[j].dst, c->src, alen);
		lost += !local;
	}
	if (lost)
		pr_warn("pid %d fd %d: %zu connection(s) not yet accepted on this "
			"listening socket, from clients outside this host, will "
			"be lost", d->pid, d->fd, lost);
	return 0;
}

/* The established socket s: the client end of a connection its listener
 * has not accepted yet? Then k records that listener. */
static void pending_on(struct fd_dump *d, const struct inet_diag_sk *s,
		       InetSk *k)
{
	const struct inet_diag_table *t = diag_table(d, k);
	size_t alen = t ? diag_alen(t) : 0;

	for (size_t i = 0; t && i < t->n; i++) {
		const struct inet_diag_sk *c = &t->sk[i];

		if (c->ino || c->sport != s->dport || c->dport != s->sport ||
		    memcmp(c->src, s->dst, alen) || memcmp(c->dst, s->src, alen))
			continue;
		for (size_t j = 0; j < t->n; j++)
			if (t->sk[j].state == SK_LISTEN && t->sk[j].ino &&
			    is_child_of(c, &t->sk[j], alen)) {
				k->has_listener_ino = true;
				k->listener_ino = t->sk[j].ino;
				return;
			}
	}
}

/* ---- addresses ---- */

static bool addr_bound(const struct sockaddr_storage *ss)
{
	static const struct in6_addr any6 = IN6ADDR_ANY_INIT;

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const void *)ss;

		return a->sin_port || a->sin_addr.s_addr != htonl(INADDR_ANY);
	}
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const void *)ss;

		return a->sin6_port || memcmp(&a->sin6_addr, &any6, sizeof(any6));
	}
	return false;
}

static int put_addr(ProtobufCBinaryData *b, protobuf_c_boolean *has,
		    const void *sa, socklen_t len)
{
	b->data = malloc(len);
	if (!b->data)
		return -1;
	memcpy(b->data, sa, len);
	b->len = len;
	*has = true;
	return 0;
}

/* "127.0.0.1:80", "[::1]:80" */
static const char *addr_str(const ProtobufCBinaryData *b, char *buf, size_t sz)
{
	char ip[INET6_ADDRSTRLEN] = "?";
	struct sockaddr_storage ss = { 0 };

	if (!b->data || b->len > sizeof(ss))
		return "-";
	memcpy(&ss, b->data, b->len);
	if (ss.ss_family == AF_INET) {
		struct sockaddr_in *a = (void *)&ss;

		inet_ntop(AF_INET, &a->sin_addr, ip, sizeof(ip));
		snprintf(buf, sz, "%s:%u", ip, ntohs(a->sin_port));
	} else {
		struct sockaddr_in6 *a = (void *)&ss;

		inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof(ip));
		snprintf(buf, sz, "[%s]:%u", ip, ntohs(a->sin6_port));
	}
	return buf;
}

static int dump_addrs(struct fd_dump *d, InetSk *k)
{
	struct sockaddr_storage ss;
	socklen_t l = sizeof(ss);

	if (getsockname(d->copy, (struct sockaddr *)&ss, &l)) {
		pr_perror("pid %d fd %d: getsockname", d->pid, d->fd);
		return -1;
	}
	if (addr_bound(&ss) && put_addr(&k->local, &k->has_local, &ss, l))
		return -1;
	l = sizeof(ss);
	if (!getpeername(d->copy, (struct sockaddr *)&ss, &l))
		return put_addr(&k->peer, &k->has_peer, &ss, l);
	if (errno != ENOTCONN) {
		pr_perror("pid %d fd %d: getpeername", d->pid, d->fd);
		return -1;
	}
	return 0;
}

/* ---- UDP receive queue ---- */

static int add_dgram(InetSk *k, const uint8_t *buf, size_t n,
		     const struct sockaddr_storage *from, socklen_t flen)
{
	InetDgram **v = realloc(k->dgrams, (k->n_dgrams + 1) * sizeof(*v)), *g;

	if (!v)
		return -1;
	k->dgrams = v;
	g = malloc(sizeof(*g));
	if (!g)
		return -1;
	inet_dgram__init(g);
	k->dgrams[k->n_dgrams++] = g;
	g->data.data = malloc(n ? n : 1);
	if (!g->data.data)
		return -1;
	memcpy(g->data.data, buf, n);
	g->data.len = n;
	return flen ? put_addr(&g->from, &g->has_from, from, flen) : 0;
}

/*
 * The datagrams queued, each with its sender, read without consuming
 * them: SO_PEEK_OFF makes each MSG_PEEK go on to the next one. The
 * socket's own peek offset is put back.
 */
static int peek_dgrams(struct fd_dump *d, InetSk *k)
{
	int old = -1, zero = 0, ret = -1;
	socklen_t l = sizeof(old);
	uint8_t *buf = malloc(DGRAM_MAX);

	if (!buf)
		return -1;
	getsockopt(d->copy, SOL_SOCKET, SO_PEEK_OFF, &old, &l);
	if (setsockopt(d->copy, SOL_SOCKET, SO_PEEK_OFF, &zero, sizeof(zero))) {
		pr_perror("pid %d fd %d: SO_PEEK_OFF", d->pid, d->fd);
		goto out;
	}
	for (unsigned i = 0; i < DGRAMS_MAX; i++) {
		struct sockaddr_storage from;
		struct iovec iov = { buf, DGRAM_MAX };
		struct msghdr mh = { .msg_name = &from,
				     .msg_namelen = sizeof(from),
				     .msg_iov = &iov, .msg_iovlen = 1 };
		ssize_t n = recvmsg(d->copy, &mh, MSG_PEEK | MSG_DONTWAIT);

		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			ret = 0;
			break;
		}
		if (n < 0) {
			pr_perror("pid %d fd %d: peek at the socket's queue",
				  d->pid, d->fd);
			break;
		}
		if (add_dgram(k, buf, n, &from, mh.msg_namelen))
			break;
	}
	if (ret)
		pr_err("pid %d fd %d: more than %u datagrams queued", d->pid,
		       d->fd, DGRAMS_MAX);
	if (setsockopt(d->copy, SOL_SOCKET, SO_PEEK_OFF, &old, sizeof(old)))
		pr_warn("pid %d fd %d: can't put SO_PEEK_OFF back: %m", d->pid,
			d->fd);
out:
	free(buf);
	return ret;
}

/* ---- established TCP, in repair mode ---- */

static int repair_queue(int sk, int q)
{
	return setsockopt(sk, IPPROTO_TCP, TCP_REPAIR_QUEUE, &q, sizeof(q));
}

/*
 * len bytes of the queue selected (TCP_REPAIR_QUEUE), not consumed. One
 * MSG_PEEK copies the whole queue, from its start (the peek offset is
 * off): the send queue by tcp_peek_sndq, the receive queue skb after skb.
 * Fewer bytes than SIOCOUTQ/SIOCINQ said means it changed: an error.
 */
static int peek_tcp_queue(int sk, int q, uint32_t len, ProtobufCBinaryData *b,
			  protobuf_c_boolean *has)
{
	ssize_t n;

	if (!len)
		return 0;
	if (len > QUEUE_MAX) {
		errno = EFBIG;
		return -1;
	}
	b->data = malloc(len);
	if (!b->data || repair_queue(sk, q))
		return -1;
	n = recv(sk, b->data, len, MSG_PEEK | MSG_DONTWAIT);
	if (n < 0)
		return -1;
	if (n != (ssize_t)len) {
		errno = EIO;
		return -1;
	}
	b->len = len;
	*has = true;
	return 0;
}

static int queue_seq(int sk, int q, uint32_t *seq)
{
	int v;

	if (repair_queue(sk, q) || get_int(sk, IPPROTO_TCP, TCP_QUEUE_SEQ, &v))
		return -1;
	*seq = v;
	return 0;
}

static int dump_tcp_opts(int sk, TcpConn *t)
{
	struct tcp_info ti;
	socklen_t l = sizeof(ti);
	int v;

	if (get_int(sk, IPPROTO_TCP, TCP_MAXSEG, &v) ||
	    getsockopt(sk, IPPROTO_TCP, TCP_INFO, &ti, &l))
		return -1;
	t->mss = v;	/* in repair mode: the clamp the peer announced */
	if (ti.tcpi_options & TCPI_OPT_WSCALE) {
		t->has_snd_wscale = t->has_rcv_wscale = true;
		t->snd_wscale = ti.tcpi_snd_wscale;
		t->rcv_wscale = ti.tcpi_rcv_wscale;
	}
	t->has_sack = t->has_tstamp = true;
	t->sack = !!(ti.tcpi_options & TCPI_OPT_SACK);
	t->tstamp = !!(ti.tcpi_options & TCPI_OPT_TIMESTAMPS);
	if (t->tstamp) {
		if (get_int(sk, IPPROTO_TCP, TCP_TIMESTAMP, &v))
			return -1;
		t->has_timestamp = true;
		t->timestamp = v;
	}
	return 0;
}

static int dump_tcp_window(int sk, TcpConn *t)
{
	struct tcp_repair_window w;
	socklen_t l = sizeof(w);

	if (getsockopt(sk, IPPROTO_TCP, TCP_REPAIR_WINDOW, &w, &l))
		return -1;
	t->has_snd_wl1 = t->has_snd_wnd = t->has_max_window = true;
	t->has_rcv_wnd = t->has_rcv_wup = true;
	t->snd_wl1 = w.snd_wl1;
	t->snd_wnd = w.snd_wnd;
	t->max_window = w.max_window;
	t->rcv_wnd = w.rcv_wnd;
	t->rcv_wup = w.rcv_wup;
	return 0;
}

/* What repair mode shows of the connection; the socket is in repair. */
static int dump_tcp_conn(int sk, unsigned state, TcpConn *t)
{
	int outq, unsent, inq, old_off = -1, off = -1;
	socklen_t l = sizeof(old_off);
	int ret = -1;

	if (ioctl(sk, SIOCOUTQ, &outq) || ioctl(sk, SIOCOUTQNSD, &unsent) ||
	    ioctl(sk, SIOCINQ, &inq))
		return -1;
	/* our FIN, not acknowledged yet, is in the send queue's count (and
	 * in the unsent count until it went out): it carries no byte */
	if (fin_sent(state) && !fin_acked(state)) {
		outq -= outq > 0;
		unsent -= unsent > 0;
	}
	getsockopt(sk, SOL_SOCKET, SO_PEEK_OFF, &old_off, &l);
	if (old_off >= 0 &&
	    setsockopt(sk, SOL_SOCKET, SO_PEEK_OFF, &off, sizeof(off)))
		return -1;
	if (queue_seq(sk, TCP_SEND_QUEUE, &t->snd_seq) ||
	    peek_tcp_queue(sk, TCP_SEND_QUEUE, outq, &t->sndq, &t->has_sndq) ||
	    queue_seq(sk, TCP_RECV_QUEUE, &t->rcv_seq) ||
	    peek_tcp_queue(sk, TCP_RECV_QUEUE, inq, &t->rcvq, &t->has_rcvq))
		goto out;
	t->has_unsent = true;
	t->unsent = unsent;
	if (dump_tcp_opts(sk, t) || dump_tcp_window(sk, t))
		goto out;
	ret = 0;
out:
	repair_queue(sk, TCP_NO_QUEUE);
	if (old_off >= 0)
		setsockopt(sk, SOL_SOCKET, SO_PEEK_OFF, &old_off, sizeof(old_off));
	return ret;
}

/*
 * The connection's state is read in repair mode while nothing comes in: a
 * socket filter that drops every packet (CRIU locks the network with
 * netfilter rules; this is a lock of the socket's own) stays on until the
 * tree's fate is settled. Dropped segments are not acked: the peer sends
 * them again later, to the restored socket. Without it, data arriving
 * between reading rcv_nxt and peeking the receive queue would be acked
 * yet stored nowhere.
 */
static int dump_established(struct fd_dump *d, InetSk *k)
{
	static struct sock_filter drop[] = { BPF_STMT(BPF_RET | BPF_K, 0) };
	static const struct sock_fprog drop_all = { 1, drop };
	struct tcp_repair_hold *h = fd_dump_tcp_hold(d->fc);
	int on = TCP_REPAIR_ON, reuse = 0;
	bool lock;
	TcpConn *t;

	if (!h) {
		pr_err("pid %d fd %d: established TCP connection, and "
		       "--tcp-established was not given", d->pid, d->fd);
		return -1;
	}
	if (h->close) {	/* --tcp-close: kept as a closed socket */
		k->state = SK_CLOSE;
		k->shutdown = RCV_SHUTDOWN | SEND_SHUTDOWN;
		k->has_listener_ino = false;
		return 0;
	}
	if (!h->n && h->lock[0] && netlock_unavailable()) {
		pr_err("pid %d fd %d: TCP connection: no network lock: %s",
		       d->pid, d->fd, netlock_unavailable());
		return -1;
	}
	t = malloc(sizeof(*t));
	if (!t)
		return -1;
	tcp_conn__init(t);
	k->tcp = t;
	if (h->lock[0] && !k->has_listener_ino &&
	    !(t->lock_table = strdup(h->lock)))
		return -1;
	get_int(d->copy, SOL_SOCKET, SO_REUSEADDR, &reuse);
	lock = !k->filter_locked;
	/* the guard has it before it is touched: if we die, it undoes it */
	/* a client of a connection not accepted yet connects again at
	 * restore, to its listener in the tree: nothing to lock out */
	if (tcp_repair_hold_add(h, d->copy, reuse, k->filter.data,
				k->filter.len, lock, !k->has_listener_ino))
		return -1;
	if (lock && setsockopt(d->copy, SOL_SOCKET, SO_ATTACH_FILTER, &drop_all,
			       sizeof(drop_all))) {
		pr_perror("pid %d fd %d: lock the connection (drop-all socket "
			  "filter)", d->pid, d->fd);
		return -1;
	}
	if (!lock)
		pr_warn("pid %d fd %d: its socket filter is locked: the "
			"connection is not locked while it is read", d->pid,
			d->fd);
	if (setsockopt(d->copy, IPPROTO_TCP, TCP_REPAIR, &on, sizeof(on))) {
		pr_perror("pid %d fd %d: TCP_REPAIR (needs CAP_NET_ADMIN)",
			  d->pid, d->fd);
		return -1;
	}
	if (dump_tcp_conn(d->copy, k->state, t)) {
		pr_perror("pid %d fd %d: read the TCP connection in repair mode",
			  d->pid, d->fd);
		return -1;
	}
	/* out of repair until just before the tree is killed: a thread of
	 * the tree let go meanwhile (criu-lite killed) must not find its
	 * socket in repair (recv: EPERM); the filter keeps it quiet */
	if (set_int(d->copy, IPPROTO_TCP, TCP_REPAIR, TCP_REPAIR_OFF_NO_WP) ||
	    (reuse && set_int(d->copy, SOL_SOCKET, SO_REUSEADDR, 1))) {
		pr_perror("pid %d fd %d: leave repair mode", d->pid, d->fd);
		return -1;
	}
	pr_debug("pid %d fd %d: TCP snd_seq %u rcv_seq %u sndq %zu (unsent %u) "
		 "rcvq %zu mss %u", d->pid, d->fd, t->snd_seq, t->rcv_seq,
		 t->sndq.len, t->unsent, t->rcvq.len, t->mss);
	return 0;
}

/* ---- dump ---- */

static void sock_kind(int fd, int *dom, int *type, int *proto)
{
	*dom = *type = *proto = -1;
	get_int(fd, SOL_SOCKET, SO_DOMAIN, dom);
	get_int(fd, SOL_SOCKET, SO_TYPE, type);
	get_int(fd, SOL_SOCKET, SO_PROTOCOL, proto);
}

const char *inet_refusal(int fd)
{
	int dom, type, proto;

	sock_kind(fd, &dom, &type, &proto);
	if (type == SOCK_STREAM && proto == IPPROTO_TCP)
		return NULL;
	if (type == SOCK_DGRAM && (proto == IPPROTO_UDP ||
				   proto == IPPROTO_UDPLITE))
		return NULL;
	if (type == SOCK_DGRAM && (proto == IPPROTO_ICMP ||
				   proto == IPPROTO_ICMPV6))
		return NULL;
	if (type == SOCK_RAW)
		return "raw IP socket (not supported)";
	return "IP socket of another protocol (SCTP, MPTCP...: not supported)";
}

/* A listener's connections not accepted yet hold no data: else refused
 * (only accept() reads them; dump_pending says the same at dump). */
static const char *pending_check(const struct fd_dump *d, int dom, int proto)
{
	static char why[160];
	struct inet_diag_table *t = inet_diag_load(dom, proto);
	const struct inet_diag_sk *l = NULL;
	uint32_t held = 0;

	if (!t)
		return "listening socket whose connections can't be listed "
		       "(sock_diag)";
	for (size_t i = 0; i < t->n && !l; i++)
		if (t->sk[i].ino == d->st.st_ino)
			l = &t->sk[i];
	for (size_t i = 0; l && i < t->n; i++)
		if (is_child_of(&t->sk[i], l, diag_alen(t)))
			held += t->sk[i].rq;
	inet_diag_free(t);
	if (!held)
		return NULL;
	snprintf(why, sizeof(why), "listening socket whose connections not yet "
		 "accepted hold %u bytes (readable only by accept(): not "
		 "supported)", held);
	return why;
}

/* Before anything is touched: the states and settings we can't make. */
static const char *inet_check(const struct fd_dump *d)
{
	static char why[160];
	char dev[IFNAMSIZ + 1] = "";
	socklen_t l = sizeof(dev) - 1;
	struct tcp_info ti;
	int dom, type, proto;

	sock_kind(d->copy, &dom, &type, &proto);
	if (!getsockopt(d->copy, SOL_SOCKET, SO_BINDTODEVICE, dev, &l) && dev[0])
		return "socket bound to a device (SO_BINDTODEVICE; not "
		       "supported yet)";
	if (type != SOCK_STREAM)
		return NULL;
	l = sizeof(ti);
	if (getsockopt(d->copy, IPPROTO_TCP, TCP_INFO, &ti, &l))
		return "TCP socket whose state can't be read (TCP_INFO)";
	if (ti.tcpi_state == SK_LISTEN)	/* tcpi_unacked: its accept queue */
		return ti.tcpi_unacked ? pending_check(d, dom, proto) : NULL;
	if (ti.tcpi_state == SK_CLOSE)
		return NULL;
	if (ti.tcpi_state == SK_ESTABLISHED)
		return d->tcp_established ? NULL :
		       "established TCP connection (dump with --tcp-established "
		       "to keep it)";
	if (is_connected(ti.tcpi_state) && d->tcp_established)
		return NULL;
	if (is_connected(ti.tcpi_state))
		snprintf(why, sizeof(why), "TCP connection in state %s (dump "
			 "with --tcp-established to keep it)",
			 state_name(ti.tcpi_state));
	else
		snprintf(why, sizeof(why), "TCP connection in state %s (only "
			 "LISTEN, CLOSE and, with --tcp-established, ESTABLISHED, "
			 "FIN_WAIT1/2, CLOSE_WAIT, LAST_ACK, CLOSING are "
			 "supported)", state_name(ti.tcpi_state));
	return why;
}

/* A socket sock_diag did not list must be one that is in no table: else
 * it is one of another network namespace. */
static bool unlisted_ok(struct fd_dump *d, const InetSk *k)
{
	struct tcp_info ti;
	socklen_t l = sizeof(ti);
	bool ok;

	if (is_tcp(k))
		ok = !getsockopt(d->copy, IPPROTO_TCP, TCP_INFO, &ti, &l) &&
		     ti.tcpi_state == SK_CLOSE;
	else
		ok = !k->has_local && !k->has_peer;
	if (!ok)
		pr_err("pid %d fd %d: socket %lu is not in sock_diag (in another "
		       "network namespace?)", d->pid, d->fd,
		       (unsigned long)k->ino);
	return ok;
}

/*
 * The shutdown bits of a TCP socket sock_diag does not list (closed, in no
 * table), which a connection that ended leaves set: a peek reads EOF from
 * such a socket, ENOTCONN from one that was never connected. (Writing
 * fails with EPIPE on any closed socket.)
 */
static unsigned closed_shutdown(struct fd_dump *d)
{
	char c;

	if (recv(d->copy, &c, 1, MSG_PEEK | MSG_DONTWAIT) == 0)
		return RCV_SHUTDOWN | SEND_SHUTDOWN;
	return 0;
}

/*
 * A ping socket: its identifier is its port (getsockname), the address
 * it is connected to from /proc (icmp_peer). Replies queued can't be dumped (no peek offset on these sockets:
 * only the first one can be peeked): refused. A peek reading 0 bytes
 * (an ICMP message has at least its 8-byte header) is a receive shutdown;
 * a send shutdown is not seen (not kept).
 */
/* "0100007F" (IPv4) or four such words (IPv6): the address bytes as
 * /proc/net/icmp{,6} prints them (each 32-bit word of the raw address in
 * hex, host order). */
static bool parse_proc_addr(const char *hex, void *out, size_t words)
{
	for (size_t i = 0; i < words; i++) {
		char w[9];
		uint32_t v;

		memcpy(w, hex + 8 * i, 8);
		w[8] = 0;
		if (sscanf(w, "%x", &v) != 1)
			return false;
		memcpy((uint8_t *)out + 4 * i, &v, 4);
	}
	return true;
}

/*
 * The peer a ping socket is connected to: getpeername says ENOTCONN (no
 * port), /proc/net/icmp{,6} has it (criu-lite's network namespace is
 * the target's: checked before). Absent: not connected.
 */
static int icmp_peer(struct fd_dump *d, InetSk *k)
{
	bool v4 = k->family == AF_INET;
	FILE *f = fopen(v4 ? "/proc/net/icmp" : "/proc/net/icmp6", "r");
	char line[512], rem[40];
	unsigned long ino;
	unsigned st;

	if (!f) {
		pr_perror("pid %d fd %d: /proc/net/icmp", d->pid, d->fd);
		return -1;
	}
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, " %*u: %*[0-9A-Fa-f]:%*x %39[0-9A-Fa-f]:%*x %x "
			   "%*x:%*x %*x:%*x %*x %*u %*u %lu", rem, &st, &ino) == 3 &&
		    ino == k->ino)
			break;
	fclose(f);
	if (ino != k->ino || st != SK_ESTABLISHED)
		return 0;
	if (v4) {
		struct sockaddr_in a = { .sin_family = AF_INET };

		if (!parse_proc_addr(rem, &a.sin_addr, 1))
			return -1;
		return put_addr(&k->peer, &k->has_peer, &a, sizeof(a));
	} else {
		struct sockaddr_in6 a = { .sin6_family = AF_INET6 };

		if (!parse_proc_addr(rem, &a.sin6_addr, 4))
			return -1;
		return put_addr(&k->peer, &k->has_peer, &a, sizeof(a));
	}
}

static int dump_icmp(struct fd_dump *d, InetSk *k)
{
	char c;
	ssize_t n;

	if (dump_addrs(d, k) || dump_opts(d, k) || dump_filter(d, k) ||
	    (!k->has_peer && icmp_peer(d, k)))
		return -1;
	k->state = k->has_peer ? SK_ESTABLISHED : SK_CLOSE;
	k->has_shutdown = true;
	n = recv(d->copy, &c, 1, MSG_PEEK | MSG_DONTWAIT | MSG_TRUNC);
	if (n == 0) {
		k->shutdown = RCV_SHUTDOWN;
	} else if (n > 0) {
		pr_err("pid %d fd %d: ICMP socket with replies queued (can't be "
		       "read without taking them: not supported)", d->pid, d->fd);
		return -1;
	}
	return 0;
}

static int inet_dump(struct fd_dump *d, FdEntry *e)
{
	const struct inet_diag_sk *s;
	int dom, type, proto;
	InetSk *k = malloc(sizeof(*k));

	if (!k)
		return -1;
	inet_sk__init(k);
	e->isk = k;
	sock_kind(d->copy, &dom, &type, &proto);
	k->family = dom;
	k->type = type;
	k->protocol = proto;
	k->ino = d->st.st_ino;
	if (is_icmp(k))
		return dump_icmp(d, k);
	s = inet_diag_find(d, k);
	if (!s)
		return -1;
	k->state = s->state;
	k->has_shutdown = true;
	k->shutdown = s->shutdown;
	if (dump_addrs(d, k) || dump_opts(d, k) || dump_filter(d, k))
		return -1;
	if (!s->ino && !unlisted_ok(d, k))
		return -1;
	if (!s->ino && is_tcp(k))
		k->shutdown = closed_shutdown(d);
	if (!is_tcp(k))
		return peek_dgrams(d, k);
	if (s->state == SK_LISTEN) {
		k->has_backlog = true;
		k->backlog = s->wq;
		return s->rq ? dump_pending(d, s, k) : 0;
	}
	if (s->state == SK_ESTABLISHED)
		pending_on(d, s, k);
	if (is_connected(s->state))
		return dump_established(d, k);
	if (s->state != SK_CLOSE) {
		pr_err("pid %d fd %d: TCP connection in state %s (not supported)",
		       d->pid, d->fd, state_name(s->state));
		return -1;
	}
	return 0;
}

/* ---- restore ---- */

static bool has_opt(const InetSk *k, int level, int name)
{
	for (size_t i = 0; i < k->n_opts; i++)
		if ((int)k->opts[i]->level == level && (int)k->opts[i]->name == name)
			return true;
	return false;
}

/* Buffer sizes: the kernel doubles what is set; root may go past the
 * sysctl limits. */
static int set_buf(int fd, int name, int v)
{
	int force = name == SO_RCVBUF ? SO_RCVBUFFORCE : SO_SNDBUFFORCE;

	if (!set_int(fd, SOL_SOCKET, force, v / 2))
		return 0;
	return set_int(fd, SOL_SOCKET, name, v / 2);
}

/*
 * Room for a queue of len bytes: the skbs restore makes need not be as
 * few as the original's, so the buffer grows (forced) if it is short.
 * late() puts the size the program had back.
 */
static void room_for(int fd, int name, size_t len)
{
	int cur = 0;
	size_t need = 2 * len + (256U << 10);

	get_int(fd, SOL_SOCKET, name, &cur);
	if (len && (size_t)cur < need && need < (1U << 30))
		set_buf(fd, name, need);
}

/* The buffer size recorded (as the kernel reports it), or -1. */
static int recorded_buf(const InetSk *k, int name)
{
	for (size_t i = 0; i < k->n_opts; i++)
		if (k->opts[i]->level == SOL_SOCKET &&
		    (int)k->opts[i]->name == name)
			return k->opts[i]->value;
	return -1;
}

/*
 * Setting a buffer size locks it (no more autotuning); a program that
 * never set one had its size autotuned: the lock goes again. Kernels
 * before 5.14 have no SO_BUF_LOCK: the size stays locked there.
 */
static void restore_buf_lock(int fd, const InetSk *k, bool grown)
{
	int lock = recorded_buf(k, SO_BUF_LOCK);

	if (!grown && recorded_buf(k, SO_RCVBUF) < 0 &&
	    recorded_buf(k, SO_SNDBUF) < 0 && lock < 0)
		return;
	set_int(fd, SOL_SOCKET, SO_BUF_LOCK, lock < 0 ? 0 : lock);
}

static int restore_opts(int fd, const InetSk *k)
{
	for (size_t i = 0; i < k->n_opts; i++) {
		const SkOpt *o = k->opts[i];
		const struct inet_opt *known = opt_known(o->level, o->name);
		int r;

		if (!known) {
			pr_err("restore socket %lu: unknown option %u/%u in image",
			       (unsigned long)k->ino, o->level, o->name);
			return -1;
		}
		if (o->level == SOL_SOCKET &&
		    (o->name == SO_RCVBUF || o->name == SO_SNDBUF))
			r = set_buf(fd, o->name, o->value);
		else if (o->level == SOL_SOCKET && o->name == SO_BUF_LOCK)
			r = 0;	/* after the sizes: restore_buf_lock() */
		else
			r = set_int(fd, o->level, o->name, o->value);
		if (r) {
			pr_perror("restore socket %lu: %s = %d",
				  (unsigned long)k->ino, known->label, o->value);
			return -1;
		}
	}
	restore_buf_lock(fd, k, false);
	if (k->has_linger) {
		struct linger lg = { 1, (int)k->linger };

		if (setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg))) {
			pr_perror("restore socket %lu: SO_LINGER",
				  (unsigned long)k->ino);
			return -1;
		}
	}
	return 0;
}

static int restore_filter(int fd, const InetSk *k)
{
	struct sock_fprog prog;

	if (!k->has_filter)
		return 0;
	if (!k->filter.len || k->filter.len % sizeof(struct sock_filter) ||
	    k->filter.len / sizeof(struct sock_filter) > BPF_MAXINSNS) {
		pr_err("restore socket %lu: bad filter of %zu bytes in image",
		       (unsigned long)k->ino, k->filter.len);
		return -1;
	}
	prog.len = k->filter.len / sizeof(struct sock_filter);
	prog.filter = (struct sock_filter *)k->filter.data;
	if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) ||
	    (k->filter_locked && set_int(fd, SOL_SOCKET, SO_LOCK_FILTER, 1))) {
		pr_perror("restore socket %lu: SO_ATTACH_FILTER",
			  (unsigned long)k->ino);
		return -1;
	}
	return 0;
}

static bool addr_ok(const ProtobufCBinaryData *b, uint32_t family)
{
	size_t want = family == AF_INET ? sizeof(struct sockaddr_in) :
					  sizeof(struct sockaddr_in6);
	sa_family_t f;

	if (!b->data || b->len != want)
		return false;
	memcpy(&f, b->data, sizeof(f));
	return f == family;
}

static int bind_local(int fd, const InetSk *k)
{
	char a[80];

	if (!k->has_local)
		return 0;
	if (bind(fd, (const struct sockaddr *)k->local.data, k->local.len)) {
		pr_perror("restore socket %lu: bind %s", (unsigned long)k->ino,
			  addr_str(&k->local, a, sizeof(a)));
		return -1;
	}
	return 0;
}

/* Where to send datagrams so that the socket gets them: its own
 * address, loopback if it is bound to any. */
static void own_addr(const InetSk *k, struct sockaddr_storage *to)
{
	memcpy(to, k->local.data, k->local.len);
	if (k->family == AF_INET) {
		struct sockaddr_in *a = (void *)to;

		if (a->sin_addr.s_addr == htonl(INADDR_ANY))
			a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	} else {
		struct sockaddr_in6 *a = (void *)to;

		if (IN6_IS_ADDR_UNSPECIFIED(&a->sin6_addr))
			a->sin6_addr = in6addr_loopback;
	}
}

/* A sender socket at the datagram's original address if that can be
 * bound again, else an unbound one (the receiver sees another sender). */
static int sender_for(const InetSk *k, const InetDgram *g, bool *warned)
{
	sa_family_t f = AF_UNSPEC;
	int s;

	if (g->has_from && g->from.len >= sizeof(f))
		memcpy(&f, g->from.data, sizeof(f));
	s = socket(f == AF_INET || f == AF_INET6 ? f : k->family,
		   SOCK_DGRAM | SOCK_CLOEXEC, k->protocol);
	if (s < 0)
		return -1;
	if (f == AF_INET || f == AF_INET6) {
		set_int(s, SOL_SOCKET, SO_REUSEADDR, 1);
		set_int(s, SOL_SOCKET, SO_REUSEPORT, 1);
		if (!bind(s, (const struct sockaddr *)g->from.data, g->from.len))
			return s;
		if (!*warned)
			pr_warn("restore socket %lu: queued datagrams come from a "
				"new address (the sender's is in use)",
				(unsigned long)k->ino);
		*warned = true;
		close(s);
		s = socket(k->family, SOCK_DGRAM | SOCK_CLOEXEC, k->protocol);
	}
	return s;
}

static int requeue_dgrams(int fd, const InetSk *k)
{
	struct sockaddr_storage to;
	bool warned = false;

	(void)fd;
	if (!k->n_dgrams)
		return 0;
	if (!k->has_local || !addr_ok(&k->local, k->family)) {
		pr_err("restore socket %lu: datagrams queued but no address",
		       (unsigned long)k->ino);
		return -1;
	}
	own_addr(k, &to);
	for (size_t i = 0; i < k->n_dgrams; i++) {
		const InetDgram *g = k->dgrams[i];
		int s = sender_for(k, g, &warned);
		ssize_t n = s < 0 ? -1 : sendto(s, g->data.data, g->data.len, 0,
						(struct sockaddr *)&to,
						k->local.len);

		if (s >= 0)
			close(s);
		if (n != (ssize_t)g->data.len) {
			pr_perror("restore socket %lu: requeue datagram %zu of %zu",
				  (unsigned long)k->ino, i, k->n_dgrams);
			return -1;
		}
	}
	return 0;
}

static int connect_peer(int fd, const InetSk *k)
{
	char a[80];

	if (!k->has_peer)
		return 0;
	if (connect(fd, (const struct sockaddr *)k->peer.data, k->peer.len)) {
		pr_perror("restore socket %lu: connect to %s",
			  (unsigned long)k->ino, addr_str(&k->peer, a, sizeof(a)));
		return -1;
	}
	return 0;
}

static int apply_shutdown(int fd, const InetSk *k)
{
	int how = -1;

	if ((k->shutdown & RCV_SHUTDOWN) && (k->shutdown & SEND_SHUTDOWN))
		how = SHUT_RDWR;
	else if (k->shutdown & RCV_SHUTDOWN)
		how = SHUT_RD;
	else if (k->shutdown & SEND_SHUTDOWN)
		how = SHUT_WR;
	/* an unconnected datagram socket, a TCP socket closed after its
	 * connection: ENOTCONN, yet the bits are set (inet_shutdown), as
	 * they were in the dumped one (a read then sees EOF, a write EPIPE) */
	if (how >= 0 && shutdown(fd, how) &&
	    !(errno == ENOTCONN && (!is_tcp(k) || k->state == SK_CLOSE))) {
		pr_perror("restore socket %lu: shutdown(%d)", (unsigned long)k->ino,
			  how);
		return -1;
	}
	return 0;
}

/*
 * A closed TCP socket may be bound to a port in use (by a listener, by
 * connections of its own past): it was bound while that was allowed. In
 * repair mode bind forces its way (SK_FORCE_REUSE); leaving repair on a
 * closed socket sends nothing, and clears SO_REUSEADDR (put back).
 */
static int bind_closed(int fd, const InetSk *k)
{
	int ret;

	if (!k->has_local || set_int(fd, IPPROTO_TCP, TCP_REPAIR, TCP_REPAIR_ON))
		return bind_local(fd, k);
	ret = bind_local(fd, k);
	if (set_int(fd, IPPROTO_TCP, TCP_REPAIR, TCP_REPAIR_OFF_NO_WP)) {
		pr_perror("restore socket %lu: leave repair mode",
			  (unsigned long)k->ino);
		return -1;
	}
	if (has_opt(k, SOL_SOCKET, SO_REUSEADDR))
		set_int(fd, SOL_SOCKET, SO_REUSEADDR, 1);
	return ret;
}

static uint16_t local_port(const InetSk *k)
{
	struct sockaddr_storage ss = { 0 };

	if (!k->has_local || k->local.len > sizeof(ss))
		return 0;
	memcpy(&ss, k->local.data, k->local.len);
	return ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port :
	       ((struct sockaddr_in6 *)&ss)->sin6_port;
}

/*
 * A listener that shares its port with another of the tree by
 * SO_REUSEPORT, but has it off now (the program cleared it after its
 * bind): it binds with it on, until late(), so that the other one can
 * still bind next to it, as when the program made them.
 */
static bool reuseport_for_bind(struct fd_restore *r, const InetSk *k)
{
	const FdEntry *e;
	size_t i = 0;

	if (has_opt(k, SOL_SOCKET, SO_REUSEPORT) || !local_port(k))
		return false;
	while ((e = fd_next_inet(r, &i)))
		if (e->isk->ino != k->ino && is_tcp(e->isk) &&
		    local_port(e->isk) == local_port(k) &&
		    has_opt(e->isk, SOL_SOCKET, SO_REUSEPORT))
			return true;
	return false;
}

static int make_listener(struct fd_restore *r, int fd, const InetSk *k)
{
	bool reuse = has_opt(k, SOL_SOCKET, SO_REUSEADDR);

	if (!reuse && set_int(fd, SOL_SOCKET, SO_REUSEADDR, 1))
		return -1;
	if (reuseport_for_bind(r, k) && set_int(fd, SOL_SOCKET, SO_REUSEPORT, 1))
		return -1;
	if (bind_local(fd, k))
		return -1;
	if (!reuse)
		set_int(fd, SOL_SOCKET, SO_REUSEADDR, 0);
	if (listen(fd, k->has_backlog ? (int)k->backlog : SOMAXCONN)) {
		pr_perror("restore socket %lu: listen", (unsigned long)k->ino);
		return -1;
	}
	return 0;
}

static int send_repair_queue(int fd, int q, const uint8_t *data, size_t len)
{
	size_t done = 0;

	if (!len)
		return 0;
	if (repair_queue(fd, q))
		return -1;
	while (done < len) {
		ssize_t n = send(fd, data + done, len - done, MSG_DONTWAIT);

		if (n <= 0)
			return -1;
		done += n;
	}
	return 0;
}

static int repair_options(int fd, const TcpConn *t)
{
	struct tcp_repair_opt o[4];
	int n = 0;

	o[n++] = (struct tcp_repair_opt){ TCPOPT_MAXSEG, t->mss };
	if (t->has_snd_wscale && t->has_rcv_wscale)
		o[n++] = (struct tcp_repair_opt){ TCPOPT_WINDOW,
			t->snd_wscale | t->rcv_wscale << 16 };
	if (t->sack)
		o[n++] = (struct tcp_repair_opt){ TCPOPT_SACK_PERMITTED, 0 };
	if (t->tstamp)
		o[n++] = (struct tcp_repair_opt){ TCPOPT_TIMESTAMP, 0 };
	return setsockopt(fd, IPPROTO_TCP, TCP_REPAIR_OPTIONS, o,
			  n * sizeof(o[0]));
}

static int repair_window(int fd, const TcpConn *t, unsigned state)
{
	struct tcp_repair_window w = {
		.snd_wl1 = t->snd_wl1, .snd_wnd = t->snd_wnd,
		.max_window = t->max_window, .rcv_wnd = t->rcv_wnd,
		.rcv_wup = t->rcv_wup,
	};

	if (!t->has_snd_wl1)
		return 0;
	/* rcv_nxt is one short of the peer's FIN until it comes again:
	 * the window may not start after it */
	if (fin_rcvd(state) && w.rcv_wup == t->rcv_seq) {
		w.rcv_wup--;
		w.rcv_wnd++;
	}
	return setsockopt(fd, IPPROTO_TCP, TCP_REPAIR_WINDOW, &w, sizeof(w));
}

/* ---- FINs of half-closed connections ---- */

static uint32_t csum_add(uint32_t sum, const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)b[i] << 8 | b[i + 1];
	if (n & 1)
		sum += (uint32_t)b[n - 1] << 8;
	return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons((uint16_t)~sum);
}

/* IPv4 address of an AF_INET or v4-mapped AF_INET6 sockaddr, else false. */
static bool addr_v4(const ProtobufCBinaryData *b, struct in_addr *a,
		    uint16_t *port)
{
	struct sockaddr_storage ss = { 0 };

	memcpy(&ss, b->data, b->len);
	if (ss.ss_family == AF_INET) {
		*a = ((struct sockaddr_in *)&ss)->sin_addr;
		*port = ((struct sockaddr_in *)&ss)->sin_port;
		return true;
	}
	if (!IN6_IS_ADDR_V4MAPPED(&((struct sockaddr_in6 *)&ss)->sin6_addr))
		return false;
	memcpy(a, &((struct sockaddr_in6 *)&ss)->sin6_addr.s6_addr[12], 4);
	*port = ((struct sockaddr_in6 *)&ss)->sin6_port;
	return true;
}

/*
 * While a half-closed connection is made, its socket takes only the
 * segments we send it (marked by their TTL / hop limit): the segments
 * it answers with go to a peer that may not be restored yet, whose
 * address answers with a reset. The lock stays until late().
 */
#define SEG_TTL		NETLOCK_TTL

static int lock_but_ours(int fd, const InetSk *k)
{
	struct in_addr a;
	uint16_t port;
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_B | BPF_ABS, SKF_NET_OFF +
			 (addr_v4(&k->peer, &a, &port) ?
			  offsetof(struct iphdr, ttl) :
			  offsetof(struct ip6_hdr, ip6_hlim))),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SEG_TTL, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, 0xffffffff),
		BPF_STMT(BPF_RET | BPF_K, 0),
	};
	struct sock_fprog prog = { sizeof(f) / sizeof(f[0]), f };

	if (k->filter_locked) {
		pr_warn("restore TCP connection %lu: its socket filter is locked: "
			"not locked while its FINs are made", (unsigned long)k->ino);
		return 0;
	}
	return setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog));
}

/* The program's own filter again (or none) in place of lock_but_ours. */
static void unlock(int fd, const InetSk *k)
{
	if (k->filter_locked)
		return;
	if (k->has_filter ? restore_filter(fd, k) :
	    set_int(fd, SOL_SOCKET, SO_DETACH_FILTER, 0))
		pr_perror("restore TCP connection %lu: unlock",
			  (unsigned long)k->ino);
}

struct peer_seg {
	uint32_t seq, ack;
	uint16_t win;
	bool fin;
};

static void fill_tcp(struct tcphdr *th, uint16_t sport, uint16_t dport,
		     const struct peer_seg *g)
{
	memset(th, 0, sizeof(*th));
	th->source = sport;
	th->dest = dport;
	th->seq = htonl(g->seq);
	th->ack_seq = htonl(g->ack);
	th->doff = sizeof(*th) / 4;
	th->ack = 1;
	th->fin = g->fin;
	th->window = htons(g->win);
}

static int send_raw(int family, const void *pkt, size_t len,
		    const void *to, socklen_t tolen)
{
	int raw = socket(family, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
	ssize_t n;

	if (raw < 0)
		return -1;
	n = sendto(raw, pkt, len, 0, to, tolen);
	close(raw);
	return n == (ssize_t)len ? 0 : -1;
}

/* An IPv4 segment from the peer's address to k (IPPROTO_RAW: our own IP
 * header; the kernel fills its checksum, we the TCP one). */
static int seg_v4(const InetSk *k, const struct peer_seg *g)
{
	struct { struct iphdr ip; struct tcphdr th; } pkt = { 0 };
	struct sockaddr_in to = { .sin_family = AF_INET };
	struct in_addr src, dst;
	uint16_t sport, dport;
	uint8_t pseudo[12];
	uint32_t sum;

	if (!addr_v4(&k->peer, &src, &sport) || !addr_v4(&k->local, &dst, &dport))
		return -1;
	pkt.ip.ihl = 5;
	pkt.ip.version = 4;
	pkt.ip.tot_len = htons(sizeof(pkt));
	pkt.ip.frag_off = htons(IP_DF);
	pkt.ip.ttl = SEG_TTL;
	pkt.ip.protocol = IPPROTO_TCP;
	pkt.ip.saddr = src.s_addr;
	pkt.ip.daddr = dst.s_addr;
	fill_tcp(&pkt.th, sport, dport, g);
	memcpy(pseudo, &src, 4);
	memcpy(pseudo + 4, &dst, 4);
	pseudo[8] = 0;
	pseudo[9] = IPPROTO_TCP;
	pseudo[10] = 0;
	pseudo[11] = sizeof(pkt.th);
	sum = csum_add(csum_add(0, pseudo, sizeof(pseudo)), &pkt.th,
		       sizeof(pkt.th));
	pkt.th.check = csum_fold(sum);
	to.sin_addr = dst;
	return send_raw(AF_INET, &pkt, sizeof(pkt), &to, sizeof(to));
}

static int seg_v6(const InetSk *k, const struct peer_seg *g)
{
	struct { struct ip6_hdr ip; struct tcphdr th; } pkt = { 0 };
	struct sockaddr_in6 src, dst;
	uint8_t pseudo[40] = { 0 };
	uint32_t sum;

	memcpy(&src, k->peer.data, sizeof(src));
	memcpy(&dst, k->local.data, sizeof(dst));
	pkt.ip.ip6_flow = htonl(6U << 28);
	pkt.ip.ip6_plen = htons(sizeof(pkt.th));
	pkt.ip.ip6_nxt = IPPROTO_TCP;
	pkt.ip.ip6_hlim = SEG_TTL;
	pkt.ip.ip6_src = src.sin6_addr;
	pkt.ip.ip6_dst = dst.sin6_addr;
	fill_tcp(&pkt.th, src.sin6_port, dst.sin6_port, g);
	memcpy(pseudo, &src.sin6_addr, 16);
	memcpy(pseudo + 16, &dst.sin6_addr, 16);
	pseudo[35] = sizeof(pkt.th);
	pseudo[39] = IPPROTO_TCP;
	sum = csum_add(csum_add(0, pseudo, sizeof(pseudo)), &pkt.th,
		       sizeof(pkt.th));
	pkt.th.check = csum_fold(sum);
	dst.sin6_port = 0;
	return send_raw(AF_INET6, &pkt, sizeof(pkt), &dst, sizeof(dst));
}

static int tcp_state(int fd)
{
	struct tcp_info ti;
	socklen_t l = sizeof(ti);

	return getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &l) ? -1 :
	       ti.tcpi_state;
}

/*
 * The segment the peer sent (its FIN, or the ACK of ours), sent again from
 * its address to the socket in repair mode (CAP_NET_RAW). The kernel takes
 * it in softirq context, on loopback: we wait (bounded) for the state it
 * leads to.
 */
static int from_peer(int fd, const InetSk *k, const struct peer_seg *g,
		     unsigned want)
{
	struct in_addr a;
	uint16_t port;
	int st = -1;

	if ((addr_v4(&k->peer, &a, &port) ? seg_v4(k, g) : seg_v6(k, g))) {
		pr_perror("restore TCP connection %lu: send the peer's %s from "
			  "its address (raw socket, needs CAP_NET_RAW)",
			  (unsigned long)k->ino, g->fin ? "FIN" : "ACK");
		return -1;
	}
	for (int i = 0; i < 2000; i++) {
		st = tcp_state(fd);
		if (st == (int)want)
			return 0;
		nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
	}
	pr_err("restore TCP connection %lu: the peer's %s was not taken (state "
	       "%s, not %s)", (unsigned long)k->ino, g->fin ? "FIN" : "ACK",
	       st < 0 ? "?" : state_name(st), state_name(want));
	return -1;
}

/* Our FIN, queued after the send queue as sent already (TCP_SEND_QUEUE:
 * nothing goes out; the retransmission timer sends it if it is not
 * acknowledged). */
static int our_fin(int fd)
{
	int ret;

	if (repair_queue(fd, TCP_SEND_QUEUE))
		return -1;
	ret = shutdown(fd, SHUT_WR);
	return repair_queue(fd, TCP_NO_QUEUE) || ret;
}

/* The peer's view of the window it announces (unscaled). */
static uint16_t peer_win(const TcpConn *t)
{
	uint32_t w = t->has_snd_wnd ? t->snd_wnd >> (t->has_snd_wscale ?
						      t->snd_wscale : 0) : 0;

	return w > 0xffff ? 0xffff : (w ? w : 1);
}

/*
 * An established connection in repair mode becomes the half-closed one
 * it was, in the order the FINs came (the state machine takes each step):
 *   FIN_WAIT1   our FIN
 *   FIN_WAIT2   our FIN, the peer's ACK of it
 *   CLOSE_WAIT  the peer's FIN
 *   LAST_ACK    the peer's FIN, then ours
 *   CLOSING     our FIN, then the peer's (not acknowledging ours)
 */
static int make_fins(int fd, const InetSk *k)
{
	const TcpConn *t = k->tcp;
	unsigned st = k->state;
	uint32_t una = t->snd_seq - fin_sent(st) - t->sndq.len;
	struct peer_seg fin = { t->rcv_seq - 1, una, peer_win(t), true };
	struct peer_seg ack = { t->rcv_seq, t->snd_seq, peer_win(t), false };
	const char *step = "lock (a socket filter)";

	if (lock_but_ours(fd, k))
		goto err;
	step = "our FIN (shutdown)";
	if (fin_sent(st) && st != SK_LAST_ACK && our_fin(fd))
		goto err;
	if (fin_rcvd(st) &&
	    from_peer(fd, k, &fin, st == SK_CLOSING ? SK_CLOSING : SK_CLOSE_WAIT))
		return -1;
	if (st == SK_LAST_ACK && our_fin(fd))
		goto err;
	if (fin_acked(st) && from_peer(fd, k, &ack, SK_FIN_WAIT2))
		return -1;
	step = "its state";
	if (tcp_state(fd) != (int)st) {
		errno = EPROTO;
		goto err;
	}
	return 0;
err:
	pr_perror("restore TCP connection %lu (%s): %s", (unsigned long)k->ino,
		  state_name(st), step);
	return -1;
}

/*
 * The connection as it was, in repair mode: the sequence numbers before
 * the queued bytes, then bind and connect (no SYN in repair), the SYN
 * options, the bytes received and the bytes sent but not acknowledged,
 * the window. Repair mode stays on until late().
 */
static int make_established(int fd, const InetSk *k)
{
	const TcpConn *t = k->tcp;
	/* a FIN to follow: every byte goes before it, as sent already */
	size_t sent = fin_sent(k->state) ? t->sndq.len : t->sndq.len -
		(t->unsent < t->sndq.len ? t->unsent : t->sndq.len);
	uint32_t snd = t->snd_seq - fin_sent(k->state) - t->sndq.len;
	uint32_t rcv = t->rcv_seq - fin_rcvd(k->state) - t->rcvq.len;
	const char *step;

	step = "TCP_REPAIR (needs CAP_NET_ADMIN)";
	if (set_int(fd, IPPROTO_TCP, TCP_REPAIR, TCP_REPAIR_ON))
		goto err;
	step = "sequence numbers";
	if (repair_queue(fd, TCP_SEND_QUEUE) ||
	    set_int(fd, IPPROTO_TCP, TCP_QUEUE_SEQ, snd) ||
	    repair_queue(fd, TCP_RECV_QUEUE) ||
	    set_int(fd, IPPROTO_TCP, TCP_QUEUE_SEQ, rcv))
		goto err;
	if (bind_local(fd, k) || connect_peer(fd, k))
		return -1;
	step = "TCP_REPAIR_OPTIONS";
	if (repair_options(fd, t))
		goto err;
	step = "TCP_TIMESTAMP";
	if (t->has_timestamp &&
	    set_int(fd, IPPROTO_TCP, TCP_TIMESTAMP, t->timestamp))
		goto err;
	room_for(fd, SO_RCVBUF, t->rcvq.len);
	room_for(fd, SO_SNDBUF, t->sndq.len);
	step = "the receive queue";
	if (send_repair_queue(fd, TCP_RECV_QUEUE, t->rcvq.data, t->rcvq.len))
		goto err;
	step = "the send queue";
	if (send_repair_queue(fd, TCP_SEND_QUEUE, t->sndq.data, sent))
		goto err;
	step = "TCP_REPAIR_WINDOW";
	if (repair_queue(fd, TCP_NO_QUEUE) || repair_window(fd, t, k->state))
		goto err;
	return k->state == SK_ESTABLISHED ? 0 : make_fins(fd, k);
err:
	pr_perror("restore TCP connection %lu: %s", (unsigned long)k->ino, step);
	return -1;
}

static int inet_make_cached(struct fd_restore *r, const FdEntry *e);

/*
 * The client end of a connection not accepted yet: its listener (in the
 * tree, made first) gets a real connection from it, which its accept()
 * returns; the bytes the client had not got acknowledged are sent again
 * (the listener's end held none: refused at dump otherwise).
 */
static int make_pending_client(struct fd_restore *r, int fd, const InetSk *k)
{
	const FdEntry *le = fd_find_inet(r, k->listener_ino);
	const TcpConn *t = k->tcp;
	size_t done = 0;

	if (fd_cache_get(r, FD_KEY_INET, k->listener_ino, 0, NULL) < 0 &&
	    inet_make_cached(r, le) < 0)
		return -1;
	if (bind_local(fd, k) || connect_peer(fd, k))
		return -1;
	while (t && done < t->sndq.len) {
		ssize_t n = send(fd, t->sndq.data + done, t->sndq.len - done,
				 MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n <= 0) {
			pr_perror("restore socket %lu: send its %zu unacked bytes",
				  (unsigned long)k->ino, t->sndq.len);
			return -1;
		}
		done += n;
	}
	return apply_shutdown(fd, k);
}

static bool is_pending_client(struct fd_restore *r, const InetSk *k)
{
	return is_tcp(k) && k->state == SK_ESTABLISHED && k->has_listener_ino &&
	       fd_find_inet(r, k->listener_ino);
}

/* What an entry lacks to be made, or NULL. */
static const char *inet_lacks(const InetSk *k)
{
	if (k->family != AF_INET && k->family != AF_INET6)
		return "a family that is not IPv4 or IPv6";
	if ((k->has_local && !addr_ok(&k->local, k->family)) ||
	    (k->has_peer && !addr_ok(&k->peer, k->family)))
		return "a malformed address";
	if (is_tcp(k) && is_connected(k->state) &&
	    (!k->tcp || !k->has_local || !k->has_peer))
		return "an established connection without its state";
	if (is_tcp(k) && !is_connected(k->state) && k->state != SK_LISTEN &&
	    k->state != SK_CLOSE)
		return "a TCP state that can't be made";
	return NULL;
}

void inet_entry_close(FdEntry *e)
{
	InetSk *k = e->isk;

	if (e->type != FD_TYPE__FD_INET || !k || !is_tcp(k) ||
	    !is_connected(k->state))
		return;
	k->state = SK_CLOSE;
	k->has_shutdown = true;
	k->shutdown = RCV_SHUTDOWN | SEND_SHUTDOWN;
	k->has_listener_ino = false;
}

const char *inet_entry_lacks(const FdEntry *e, bool tcp_established)
{
	if (!e->isk)
		return "no socket description";
	if (is_tcp(e->isk) && is_connected(e->isk->state) && !tcp_established)
		return "an established TCP connection (restore with "
		       "--tcp-established)";
	return inet_lacks(e->isk);
}

static int inet_make(struct fd_restore *r, const FdEntry *e)
{
	const InetSk *k = e->isk;
	const char *why = k ? inet_lacks(k) : "no socket description";
	int fd, ret;

	if (why) {
		pr_err("restore fd %u: IP socket with %s", e->fd, why);
		return -1;
	}
	fd = socket(k->family, k->type, k->protocol);
	if (fd < 0) {
		pr_perror("restore socket %lu: socket(%u, %u, %u)%s",
			  (unsigned long)k->ino, k->family, k->type, k->protocol,
			  is_icmp(k) ? " (an ICMP socket: is the group in "
			  "net.ipv4.ping_group_range?)" : "");
		return -1;
	}
	if (restore_opts(fd, k) || restore_filter(fd, k))
		goto err;
	if (!is_tcp(k))
		ret = bind_local(fd, k) || requeue_dgrams(fd, k) ||
		      connect_peer(fd, k) || apply_shutdown(fd, k);
	else if (k->state == SK_LISTEN)
		ret = make_listener(r, fd, k);
	else if (is_pending_client(r, k))
		ret = make_pending_client(r, fd, k);
	else if (is_connected(k->state))
		ret = make_established(fd, k);
	else
		ret = bind_closed(fd, k) || apply_shutdown(fd, k);
	if (ret)
		goto err;
	return fd;
err:
	close(fd);
	return -1;
}

/* Made once per restore site, cached under its inode: a listener is made
 * before the clients of its pending connections connect to it. */
static int inet_make_cached(struct fd_restore *r, const FdEntry *e)
{
	int fd;

	if (!e || !e->isk) {
		pr_err("restore: an IP socket's listener is not in the images");
		return -1;
	}
	fd = fd_cache_get(r, FD_KEY_INET, e->isk->ino, 0, NULL);
	if (fd >= 0)
		return fd;
	fd = inet_make(r, e);
	if (fd < 0 || fd_cache_put(r, FD_KEY_INET, e->isk->ino, 0, fd))
		return -1;
	return fd_cache_get(r, FD_KEY_INET, e->isk->ino, 0, NULL);
}

static int inet_open(struct fd_restore *r, const FdEntry *e)
{
	int fd = inet_make_cached(r, e);

	if (fd < 0)
		return -1;
	fd = fcntl(fd, F_DUPFD, 0);
	if (fd < 0)
		pr_perror("restore fd %u: dup socket", e->fd);
	return fd;
}

static size_t inet_keys(const FdEntry *e, struct fd_key *k)
{
	size_t n = 0;

	if (!e->isk)
		return 0;
	k[n++] = (struct fd_key){ FD_KEY_INET, e->isk->ino };
	if (e->isk->has_listener_ino)
		k[n++] = (struct fd_key){ FD_KEY_INET, e->isk->listener_ino };
	return n;
}

/*
 * The dump's network lock (one nftables table for all its connections)
 * goes once the first of them leaves repair mode: every socket of the
 * tree exists by then, and the peers' segments are taken again.
 */
static void unlock_network(const TcpConn *t)
{
	static char done[4][NETLOCK_NAME_MAX];

	if (!t->lock_table || !t->lock_table[0])
		return;
	for (size_t i = 0; i < 4; i++)
		if (!strcmp(done[i], t->lock_table))
			return;
	for (size_t i = 0; i < 4; i++)
		if (!done[i][0]) {
			snprintf(done[i], sizeof(done[i]), "%s", t->lock_table);
			break;
		}
	netlock_remove(t->lock_table);
}

/* TCP_REPAIR as it is now (1: in repair), -1 if it can't be read. */
static int repair_get(int fd)
{
	int v;

	return get_int(fd, IPPROTO_TCP, TCP_REPAIR, &v) ? -1 : v;
}

/*
 * In criu-lite just before the process runs: the connection leaves
 * repair mode (a window probe tells the peer we are here), gets the bytes
 * it had not sent yet, and SO_REUSEADDR back (leaving repair clears it).
 */
static int inet_late(const FdEntry *e, int fd)
{
	const InetSk *k = e->isk;
	const TcpConn *t = k ? k->tcp : NULL;
	size_t done, unsent;

	/* a connection restored closed (--tcp-close): its lock goes too */
	if (t && !is_connected(k->state))
		unlock_network(t);
	/* a listener made with SO_REUSEPORT it no longer has */
	if (k && is_tcp(k) && k->state == SK_LISTEN &&
	    !has_opt(k, SOL_SOCKET, SO_REUSEPORT))
		set_int(fd, SOL_SOCKET, SO_REUSEPORT, 0);
	if (!t || !is_tcp(k) || !is_connected(k->state))
		return 0;
	if (repair_get(fd) == 0)	/* made by a real connect */
		return 0;
	if (k->state != SK_ESTABLISHED)
		unlock(fd, k);	/* locked by make_fins() */
	if (set_int(fd, IPPROTO_TCP, TCP_REPAIR, TCP_REPAIR_OFF)) {
		pr_perror("restore TCP connection %lu: leave repair mode",
			  (unsigned long)k->ino);
		return 0;
	}
	if (has_opt(k, SOL_SOCKET, SO_REUSEADDR))
		set_int(fd, SOL_SOCKET, SO_REUSEADDR, 1);
	unlock_network(t);
	/* before a FIN, every byte was queued in repair mode */
	unsent = fin_sent(k->state) ? 0 :
		 t->unsent < t->sndq.len ? t->unsent : t->sndq.len;
	done = t->sndq.len - unsent;
	while (done < t->sndq.len) {
		ssize_t n = send(fd, t->sndq.data + done, t->sndq.len - done,
				 MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n <= 0) {
			pr_warn("restore TCP connection %lu: %zu unsent bytes "
				"lost: %m", (unsigned long)k->ino,
				t->sndq.len - done);
			break;
		}
		done += n;
	}
	if (k->shutdown & RCV_SHUTDOWN)
		shutdown(fd, SHUT_RD);
	if (recorded_buf(k, SO_SNDBUF) > 0)
		set_buf(fd, SO_SNDBUF, recorded_buf(k, SO_SNDBUF));
	if (recorded_buf(k, SO_RCVBUF) > 0)
		set_buf(fd, SO_RCVBUF, recorded_buf(k, SO_RCVBUF));
	restore_buf_lock(fd, k, true);	/* room_for() may have grown them */
	return 0;
}

const struct fd_ops fd_inet_ops = {
	.type = FD_TYPE__FD_INET, .name = "IP socket",
	.check = inet_check, .dump = inet_dump, .open = inet_open,
	.keys = inet_keys, .late = inet_late,
};
