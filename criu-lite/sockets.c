// SPDX-License-Identifier: GPL-2.0
/*
 * Sockets. Unix sockets are dumped and restored here, IP sockets in
 * fd-inet.c; every other family is refused by name. What /proc does not show of a unix socket (its peer,
 * listen state and backlog, bound name, shutdown state, pending
 * connections) comes from the kernel's sock_diag over netlink (libnl-3),
 * one snapshot of all unix sockets per dump, taken while the tree is
 * frozen. Queued data is read without consuming it: MSG_PEEK on our
 * pidfd_getfd copy, walking the queue with SO_PEEK_OFF.
 *
 * Restore makes each socket with ordinary calls in the puppet:
 *   listening            socket, bind (stale socket file removed), listen;
 *                        a client socket connects for each connection
 *                        not accepted yet (sock_diag's icons): the one in
 *                        the tree takes it, one outside has closed it
 *   pair in the tree     socketpair; each end's queue is sent through the
 *                        other; both ends are made by the same puppet
 *   peer outside/closed  socketpair whose other end is closed after its
 *                        queue is sent: the owner reads it, then EOF (a QMP
 *                        client that went away: QEMU listens again); a
 *                        datagram socket connected to a named socket
 *                        outside is connected to that name again
 *   not connected        socket, bind; datagrams queued are sent again to
 *                        its name
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <netinet/in.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <netlink/attr.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>

#include "fd-ops.h"
#include "log.h"
#include "sock-diag.h"
#include "util.h"

/* include/net/tcp_states.h */
#define SK_ESTABLISHED	1
#define SK_CLOSE	7
#define SK_LISTEN	10
/* include/net/sock.h: sk_shutdown bits */
#define RCV_SHUTDOWN	1
#define SEND_SHUTDOWN	2

#define PEEK_BUF	(4U << 20)	/* larger than any datagram allowed */
#define MAX_MSGS	(1U << 20)

/* ---- which sockets we take ---- */

static const char *socket_refusal(int fd, int dom)
{
	int type = -1;
	socklen_t l = sizeof(int);

	getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &l);
	switch (dom) {
	case AF_UNIX:
		if (type == SOCK_STREAM || type == SOCK_DGRAM ||
		    type == SOCK_SEQPACKET)
			return NULL;
		return "unix socket of unknown type";
	case AF_INET:
	case AF_INET6:
		return inet_refusal(fd);
	case AF_NETLINK:
		return "netlink socket (not supported yet)";
	case AF_PACKET:
		return "packet socket (not supported)";
	case AF_VSOCK:
		return "vsock socket (not supported)";
	default:
		return "socket of an unsupported family";
	}
}

const struct fd_ops *socket_ops(int fd, const char **why)
{
	int dom = -1;
	socklen_t l = sizeof(int);

	if (fd < 0 || getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &dom, &l)) {
		*why = "socket of unknown family";
		return NULL;
	}
	*why = socket_refusal(fd, dom);
	if (*why)
		return NULL;
	return dom == AF_UNIX ? &fd_unix_ops : &fd_inet_ops;
}

/* ---- sock_diag: every unix socket of this network namespace ---- */

struct unix_diag_sk {
	uint32_t ino;
	uint8_t type, state, shutdown;
	bool has_peer;
	uint32_t peer;		/* 0: the peer was closed */
	size_t name_len;	/* 0: not bound */
	char name[sizeof(((struct sockaddr_un *)0)->sun_path)];
	bool has_vfs;
	uint32_t vfs_ino;	/* the bound socket file */
	uint32_t rq, wq;	/* listener: pending, backlog; else queue */
	uint32_t *icons;	/* listener: client ends of pending ones */
	size_t n_icons;
};

struct unix_diag_table {
	struct unix_diag_sk *sk;
	size_t n, cap;
	int err;
};

void unix_diag_free(struct unix_diag_table *t)
{
	if (t) {
		for (size_t i = 0; i < t->n; i++)
			free(t->sk[i].icons);
		free(t->sk);
		free(t);
	}
}

/* UNIX_DIAG_ICONS: the inode of each pending connection's client end (the
 * kernel lists the peer of each embryo queued on the listener). */
static int diag_icons(struct unix_diag_sk *s, struct nlattr *a)
{
	size_t n = nla_len(a) / sizeof(uint32_t);

	if (!n)
		return 0;
	s->icons = malloc(n * sizeof(uint32_t));
	if (!s->icons)
		return -1;
	memcpy(s->icons, nla_data(a), n * sizeof(uint32_t));
	s->n_icons = n;
	return 0;
}

static int diag_one(struct nl_msg *msg, void *arg)
{
	struct unix_diag_table *t = arg;
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	struct unix_diag_msg *m = nlmsg_data(nlh);
	struct nlattr *tb[UNIX_DIAG_MAX + 1];
	struct unix_diag_sk *s;

	if (nlmsg_parse(nlh, sizeof(*m), tb, UNIX_DIAG_MAX, NULL) < 0) {
		t->err = -1;
		return NL_STOP;
	}
	if (array_grow(&t->sk, &t->cap, t->n, sizeof(*t->sk), 256)) {
		t->err = -1;
		return NL_STOP;
	}
	s = &t->sk[t->n++];
	memset(s, 0, sizeof(*s));
	s->ino = m->udiag_ino;
	s->type = m->udiag_type;
	s->state = m->udiag_state;
	if (tb[UNIX_DIAG_NAME]) {
		s->name_len = nla_len(tb[UNIX_DIAG_NAME]);
		if (s->name_len > sizeof(s->name))
			s->name_len = sizeof(s->name);
		memcpy(s->name, nla_data(tb[UNIX_DIAG_NAME]), s->name_len);
	}
	if (tb[UNIX_DIAG_VFS]) {
		struct unix_diag_vfs *v = nla_data(tb[UNIX_DIAG_VFS]);

		s->has_vfs = true;
		s->vfs_ino = v->udiag_vfs_ino;
	}
	if (tb[UNIX_DIAG_PEER]) {
		s->has_peer = true;
		s->peer = nla_get_u32(tb[UNIX_DIAG_PEER]);
	}
	if (tb[UNIX_DIAG_RQLEN]) {
		struct unix_diag_rqlen *q = nla_data(tb[UNIX_DIAG_RQLEN]);

		s->rq = q->udiag_rqueue;
		s->wq = q->udiag_wqueue;
	}
	if (tb[UNIX_DIAG_SHUTDOWN])
		s->shutdown = nla_get_u8(tb[UNIX_DIAG_SHUTDOWN]);
	if (tb[UNIX_DIAG_ICONS] && diag_icons(s, tb[UNIX_DIAG_ICONS])) {
		t->err = -1;
		return NL_STOP;
	}
	return NL_OK;
}

static int cmp_sk(const void *a, const void *b)
{
	const struct unix_diag_sk *x = a, *y = b;

	return x->ino < y->ino ? -1 : x->ino > y->ino;
}

static struct unix_diag_table *unix_diag_load(void)
{
	struct unix_diag_req req = {
		.sdiag_family = AF_UNIX,
		.udiag_states = ~0U,
		.udiag_show = UDIAG_SHOW_NAME | UDIAG_SHOW_VFS | UDIAG_SHOW_PEER |
			      UDIAG_SHOW_ICONS | UDIAG_SHOW_RQLEN,
	};
	struct unix_diag_table *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	if (sock_diag_dump(&req, sizeof(req), diag_one, t, &t->err, "unix")) {
		unix_diag_free(t);
		return NULL;
	}
	qsort(t->sk, t->n, sizeof(*t->sk), cmp_sk);
	return t;
}

static const struct unix_diag_sk *diag_find(const struct unix_diag_table *t,
					    uint64_t ino)
{
	struct unix_diag_sk key = { .ino = ino };

	return bsearch(&key, t->sk, t->n, sizeof(*t->sk), cmp_sk);
}

/* ---- dump ---- */

static bool is_abstract(const uint8_t *name, size_t len)
{
	return len && name[0] == 0;
}

/* name as a C string (path names may or may not end in NUL) */
static void name_str(const uint8_t *name, size_t len, char *out, size_t sz)
{
	size_t n = len < sz - 1 ? len : sz - 1;

	memcpy(out, name, n);
	out[n] = 0;
}

/*
 * A path name is ours to bind again only while its file is the socket's
 * (unix_diag VFS inode); a relative one resolves in the process's cwd,
 * which is assumed to be where it was bound (checked by the inode).
 */
static int dump_bound_file(struct fd_dump *d, const struct unix_diag_sk *s,
			   UnixSk *u)
{
	char name[sizeof(s->name) + 1], path[PATH_MAX + 128], cwd[PATH_MAX];
	struct stat st;
	ssize_t n;

	name_str((const uint8_t *)s->name, s->name_len, name, sizeof(name));
	if (name[0] == '/') {
		snprintf(path, sizeof(path), "%s", name);
	} else {
		snprintf(path, sizeof(path), "/proc/%d/cwd", d->pid);
		n = readlink(path, cwd, sizeof(cwd) - 1);
		if (n < 0) {
			pr_perror("readlink %s", path);
			return -1;
		}
		cwd[n] = 0;
		u->bind_dir = strdup(cwd);
		if (!u->bind_dir)
			return -1;
		snprintf(path, sizeof(path), "/proc/%d/cwd/%s", d->pid, name);
	}
	if (s->has_vfs && !stat(path, &st) && S_ISSOCK(st.st_mode) &&
	    st.st_ino == s->vfs_ino) {
		u->has_file_mode = u->has_file_uid = u->has_file_gid = true;
		u->file_mode = st.st_mode & 07777;
		u->file_uid = st.st_uid;
		u->file_gid = st.st_gid;
		return 0;
	}
	pr_info("pid %d fd %d: socket bound to %s, whose file is gone (or, "
		"for a relative name, not in the cwd): restored bound to it, "
		"without the file", d->pid, d->fd, name);
	u->has_name_unlinked = true;
	u->name_unlinked = true;
	return 0;
}

static int add_msg(UnixSk *u, const uint8_t *buf, size_t n)
{
	ProtobufCBinaryData *v = realloc(u->msgs, (u->n_msgs + 1) * sizeof(*v));

	if (!v)
		return -1;
	u->msgs = v;
	v[u->n_msgs].data = malloc(n ? n : 1);
	if (!v[u->n_msgs].data)
		return -1;
	memcpy(v[u->n_msgs].data, buf, n);
	v[u->n_msgs++].len = n;
	return 0;
}

static int add_bytes(UnixSk *u, const uint8_t *buf, size_t n)
{
	uint8_t *q = realloc(u->queue.data, u->queue.len + n);

	if (!q)
		return -1;
	memcpy(q + u->queue.len, buf, n);
	u->queue.data = q;
	u->queue.len += n;
	u->has_queue = true;
	return 0;
}

/*
 * The files that came with a peeked message (SCM_RIGHTS: MSG_PEEK gives
 * criu-lite its own fds of them, the queue keeps its references) are
 * described into u->scm as riding with message or bytes `at` (len bytes
 * of a stream), then closed. A socket in flight that has files in its
 * own queue is refused, not followed.
 */
static int keep_passed_fds(struct fd_dump *d, UnixSk *u, struct msghdr *mh,
			   uint32_t at, uint32_t len)
{
	ScmFiles *s = NULL;
	int ret = 0;

	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		for (size_t i = 0; i < n; i++) {
			FdEntry *fe, **v;
			int fd;

			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (ret || !s) {
				ScmFiles **sv = ret ? NULL :
					realloc(u->scm, (u->n_scm + 1) * sizeof(*sv));

				if (!sv || !(s = malloc(sizeof(*s)))) {
					ret = -1;
					close(fd);
					continue;
				}
				u->scm = sv;
				scm_files__init(s);
				s->at = at;
				s->has_len = true;
				s->len = len;
				u->scm[u->n_scm++] = s;
			}
			if (fd_dump_nested(d->fc)) {
				pr_err("pid %d fd %d: a unix socket in flight holds "
				       "files in its own queue: not supported",
				       d->pid, d->fd);
				ret = -1;
			} else if (!fd_dump_held(d->fc, fd, &fe)) {
				v = realloc(s->files, (s->n_files + 1) * sizeof(*v));
				if (v) {
					s->files = v;
					s->files[s->n_files++] = fe;
				} else {
					fd_entry__free_unpacked(fe, NULL);
					ret = -1;
				}
			} else {
				ret = -1;
			}
			close(fd);
		}
	}
	if (mh->msg_flags & MSG_CTRUNC) {
		pr_err("pid %d fd %d: more files in one queued message than "
		       "criu-lite takes (253)", d->pid, d->fd);
		ret = -1;
	}
	return ret;
}

/*
 * The receive queue, read without consuming it. SO_PEEK_OFF makes each
 * MSG_PEEK start where the previous one stopped: for a stream the next
 * bytes, for datagrams the next message (an empty datagram is skipped
 * once it has been peeked). The socket's own peek offset is put back.
 */
static int peek_queue(struct fd_dump *d, UnixSk *u)
{
	int old = -1, zero = 0, ret = -1;
	socklen_t l = sizeof(old);
	uint8_t *buf = malloc(PEEK_BUF);
	char cbuf[CMSG_SPACE(sizeof(int) * 253)];
	bool stream = u->type == SOCK_STREAM;

	if (!buf)
		return -1;
	getsockopt(d->copy, SOL_SOCKET, SO_PEEK_OFF, &old, &l);
	if (setsockopt(d->copy, SOL_SOCKET, SO_PEEK_OFF, &zero, sizeof(zero))) {
		pr_perror("pid %d fd %d: SO_PEEK_OFF", d->pid, d->fd);
		goto out;
	}
	for (unsigned i = 0; i < MAX_MSGS; i++) {
		struct iovec iov = { buf, PEEK_BUF };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
				     .msg_control = cbuf,
				     .msg_controllen = sizeof(cbuf) };
		ssize_t n = recvmsg(d->copy, &mh, MSG_PEEK | MSG_DONTWAIT |
				    MSG_CMSG_CLOEXEC);
		uint32_t at = stream ? u->queue.len : u->n_msgs;

		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			ret = 0;
			break;
		}
		if (n < 0) {
			pr_perror("pid %d fd %d: peek at the socket's queue",
				  d->pid, d->fd);
			break;
		}
		if (n >= 0 && keep_passed_fds(d, u, &mh, at, n))
			break;
		if (!stream && (mh.msg_flags & MSG_TRUNC)) {
			pr_err("pid %d fd %d: queued datagram larger than %u "
			       "bytes", d->pid, d->fd, PEEK_BUF);
			break;
		}
		/* end of a stream; for seqpacket, EOF after shutdown */
		if (n == 0 && (stream || (u->type == SOCK_SEQPACKET &&
					  (u->shutdown & RCV_SHUTDOWN)))) {
			ret = 0;
			break;
		}
		if (stream ? add_bytes(u, buf, n) : add_msg(u, buf, n))
			break;
	}
	if (setsockopt(d->copy, SOL_SOCKET, SO_PEEK_OFF, &old, sizeof(old)))
		pr_warn("pid %d fd %d: can't put SO_PEEK_OFF back: %m", d->pid,
			d->fd);
out:
	free(buf);
	return ret;
}

/*
 * The connections not yet accepted on listener s: the client end of each
 * (made again at restore and connected to the listener, so accept()
 * returns it). What a client wrote sits in the embryo the listener holds,
 * which nothing but accept() can read (the client's write queue, as the
 * kernel charges it, says whether there is any): such a connection is
 * refused, as is one whose client has closed (its data unknowable).
 */
static int dump_icons(struct fd_dump *d, const struct unix_diag_table *t,
		      const struct unix_diag_sk *s, UnixSk *u)
{
	if (!s->n_icons)
		return 0;
	u->icon_peers = malloc(s->n_icons * sizeof(*u->icon_peers));
	if (!u->icon_peers)
		return -1;
	for (size_t i = 0; i < s->n_icons; i++) {
		const struct unix_diag_sk *c = diag_find(t, s->icons[i]);

		if (!s->icons[i]) {
			pr_err("pid %d fd %d: a connection not yet accepted on "
			       "this listening socket was closed by its client "
			       "(what it sent is readable only by accept(): not "
			       "supported)", d->pid, d->fd);
			return -1;
		}
		if (c && c->wq) {
			pr_err("pid %d fd %d: a connection not yet accepted on "
			       "this listening socket holds data its client "
			       "(socket %u) sent (readable only by accept(): not "
			       "supported)", d->pid, d->fd, s->icons[i]);
			return -1;
		}
		u->icon_peers[u->n_icon_peers++] = s->icons[i];
	}
	pr_debug("pid %d fd %d: %zu connection(s) not yet accepted", d->pid,
		 d->fd, u->n_icon_peers);
	return 0;
}

/* A connected stream socket whose peer has no inode: the embryo of a
 * connection its listener has not accepted yet, if a listener lists it. */
static void pending_on(const struct unix_diag_table *t, UnixSk *u)
{
	for (size_t i = 0; i < t->n; i++)
		for (size_t j = 0; j < t->sk[i].n_icons; j++)
			if (t->sk[i].icons[j] == u->ino) {
				u->has_listener_ino = true;
				u->listener_ino = t->sk[i].ino;
				return;
			}
}

static int unix_dump(struct fd_dump *d, FdEntry *e)
{
	struct unix_diag_table **tp = fd_dump_unix_table(d->fc);
	const struct unix_diag_sk *s, *peer;
	UnixSk *u;

	if (!*tp && !(*tp = unix_diag_load()))
		return -1;
	s = diag_find(*tp, d->st.st_ino);
	if (!s) {
		pr_err("pid %d fd %d: unix socket %lu is not in sock_diag (in "
		       "another network namespace?)", d->pid, d->fd,
		       (unsigned long)d->st.st_ino);
		return -1;
	}
	u = malloc(sizeof(*u));
	if (!u)
		return -1;
	unix_sk__init(u);
	e->usk = u;
	u->type = s->type;
	u->state = s->state;
	u->ino = s->ino;
	u->has_shutdown = true;
	u->shutdown = s->shutdown;
	if (s->has_peer) {
		u->has_peer_ino = true;
		u->peer_ino = s->peer;
		peer = s->peer ? diag_find(*tp, s->peer) : NULL;
		if (peer && peer->name_len) {
			u->has_peer_name = true;
			u->peer_name.data = malloc(peer->name_len);
			if (!u->peer_name.data)
				return -1;
			memcpy(u->peer_name.data, peer->name, peer->name_len);
			u->peer_name.len = peer->name_len;
		}
	}
	if (s->name_len) {
		u->has_name = true;
		u->name.data = malloc(s->name_len);
		if (!u->name.data)
			return -1;
		memcpy(u->name.data, s->name, s->name_len);
		u->name.len = s->name_len;
		/* a connected stream socket's name is its listener's */
		if (!is_abstract(u->name.data, u->name.len) &&
		    (u->type == SOCK_DGRAM || u->state != SK_ESTABLISHED) &&
		    dump_bound_file(d, s, u))
			return -1;
	}
	if (s->state == SK_LISTEN) {
		u->has_backlog = u->has_pending = true;
		u->backlog = s->wq;
		u->pending = s->rq;
		return dump_icons(d, *tp, s, u);
	}
	if (s->type != SOCK_DGRAM && s->state == SK_ESTABLISHED &&
	    s->has_peer && !s->peer)
		pending_on(*tp, u);
	/* an unconnected stream socket has no queue (recv says EINVAL) */
	if (s->type != SOCK_DGRAM && s->state != SK_ESTABLISHED)
		return 0;
	if (peek_queue(d, u))
		return -1;
	if (u->n_scm && !u->has_peer_ino) {
		pr_err("pid %d fd %d: files in flight in an unconnected datagram "
		       "socket's queue: not supported yet", d->pid, d->fd);
		return -1;
	}
	return 0;
}

static size_t unix_keys(const FdEntry *e, struct fd_key *k)
{
	size_t n = 0;

	if (!e->usk)
		return 0;
	k[n++] = (struct fd_key){ FD_KEY_UNIX, e->usk->ino };
	if (e->usk->has_peer_ino && e->usk->peer_ino)
		k[n++] = (struct fd_key){ FD_KEY_UNIX, e->usk->peer_ino };
	/* a connection not yet accepted: made by its listener's puppet */
	if (e->usk->has_listener_ino)
		k[n++] = (struct fd_key){ FD_KEY_UNIX, e->usk->listener_ino };
	/* files in flight are made by the puppet that queues them */
	for (size_t i = 0; i < e->usk->n_scm; i++)
		for (size_t j = 0; j < e->usk->scm[i]->n_files; j++)
			n += fd_entry_keys(e->usk->scm[i]->files[j], k + n,
					   FD_KEYS_MAX - n);
	return n;
}

/* ---- restore ---- */

static socklen_t make_addr(const ProtobufCBinaryData *name,
			   struct sockaddr_un *sa)
{
	size_t n = name->len < sizeof(sa->sun_path) ? name->len :
						      sizeof(sa->sun_path);

	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	memcpy(sa->sun_path, name->data, n);
	return offsetof(struct sockaddr_un, sun_path) + n;
}

/* Runs fn in the directory a relative name was bound in. */
static int in_bind_dir(const UnixSk *u, int (*fn)(int, const UnixSk *), int fd)
{
	int cwd, ret;

	if (!u->bind_dir || is_abstract(u->name.data, u->name.len) ||
	    u->name.data[0] == '/')
		return fn(fd, u);
	cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (cwd < 0 || chdir(u->bind_dir)) {
		pr_perror("restore socket %lu: chdir %s", (unsigned long)u->ino,
			  u->bind_dir);
		if (cwd >= 0)
			close(cwd);
		return -1;
	}
	ret = fn(fd, u);
	if (fchdir(cwd))
		pr_perror("fchdir back");
	close(cwd);
	return ret;
}

/* A socket file left by the dumped process is in the way: it goes. */
static int clear_stale(const struct sockaddr_un *sa, const UnixSk *u)
{
	struct stat st;

	if (lstat(sa->sun_path, &st))
		return 0;
	if (u->name_unlinked) {
		/* binding creates the file: the name can only be had free */
		pr_err("restore socket %lu: bound to %s, whose file was gone at "
		       "dump, but %s exists now: remove it to restore the "
		       "socket under its name", (unsigned long)u->ino,
		       sa->sun_path, sa->sun_path);
		return -1;
	}
	if (!S_ISSOCK(st.st_mode)) {
		pr_err("restore socket %lu: %s exists and is not a socket",
		       (unsigned long)u->ino, sa->sun_path);
		return -1;
	}
	if (unlink(sa->sun_path)) {
		pr_perror("restore socket %lu: remove stale %s",
			  (unsigned long)u->ino, sa->sun_path);
		return -1;
	}
	return 0;
}

static int do_bind(int fd, const UnixSk *u)
{
	struct sockaddr_un sa;
	socklen_t len = make_addr(&u->name, &sa);
	int r;

	if (!is_abstract(u->name.data, u->name.len)) {
		r = clear_stale(&sa, u);
		if (r)
			return r > 0 ? 0 : -1;
	}
	if (bind(fd, (struct sockaddr *)&sa, len)) {
		pr_perror("restore socket %lu: bind %s%s", (unsigned long)u->ino,
			  sa.sun_path[0] ? "" : "@", sa.sun_path[0] ?
			  sa.sun_path : sa.sun_path + 1);
		return -1;
	}
	if (is_abstract(u->name.data, u->name.len))
		return 0;
	if (u->has_file_mode && chmod(sa.sun_path, u->file_mode))
		pr_warn("restore socket %s: chmod: %m", sa.sun_path);
	if (u->has_file_uid && chown(sa.sun_path, u->file_uid, u->file_gid))
		pr_warn("restore socket %s: chown: %m", sa.sun_path);
	return 0;
}

static int bind_name(int fd, const UnixSk *u)
{
	if (!u->has_name || !u->name.len)
		return 0;
	return in_bind_dir(u, do_bind, fd);
}

static int do_unlink_name(int fd, const UnixSk *u)
{
	struct sockaddr_un sa;

	(void)fd;
	make_addr(&u->name, &sa);
	unlink(sa.sun_path);
	return 0;
}

/* A name whose file was already gone at dump: removed once used. */
static void drop_unlinked_name(const UnixSk *u)
{
	if (u->has_name && u->name_unlinked && u->name.len &&
	    !is_abstract(u->name.data, u->name.len))
		in_bind_dir(u, do_unlink_name, -1);
}

/* The files in flight with message or stream offset `at`, or NULL. */
static const ScmFiles *scm_at(const UnixSk *u, uint32_t at)
{
	for (size_t i = 0; i < u->n_scm; i++)
		if (u->scm[i]->at == at)
			return u->scm[i];
	return NULL;
}

/*
 * Sends len bytes through via, with the files of s (made here, closed
 * once sent: the queue holds them) riding on them. 0 or -1 (logged).
 */
static int send_with(struct fd_restore *r, int via, const UnixSk *u,
		     const uint8_t *data, size_t len, const ScmFiles *s)
{
	char cbuf[CMSG_SPACE(sizeof(int) * 253)];
	struct iovec iov = { (void *)data, len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	int fds[253], nr = 0, ret = -1;
	ssize_t n;

	for (size_t i = 0; s && i < s->n_files && i < 253; i++, nr++) {
		fds[i] = fd_open_entry(r, s->files[i]);
		if (fds[i] < 0)
			goto out;
	}
	if (nr) {
		struct cmsghdr *c;

		mh.msg_control = cbuf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nr);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nr);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nr);
	}
	n = sendmsg(via, &mh, MSG_DONTWAIT);
	if (n == (ssize_t)len || (n > 0 && u->type == SOCK_STREAM &&
				  !send_with(r, via, u, data + n, len - n, NULL)))
		ret = 0;
	else
		pr_perror("restore socket %lu: requeue %zu bytes%s",
			  (unsigned long)u->ino, len, nr ? " with files" : "");
out:
	while (nr-- > 0)
		if (fds[nr] >= 0)
			close(fds[nr]);
	return ret;
}

/* Puts u's queue (and the files in flight in it) into the socket at the
 * other end of `via`. */
static int send_queue(struct fd_restore *r, int via, const UnixSk *u)
{
	size_t done = 0;

	while (u->has_queue && done < u->queue.len) {
		const ScmFiles *s = scm_at(u, done);
		size_t len = u->queue.len - done;

		if (s && s->has_len && s->len && s->len < len)
			len = s->len;	/* exactly the bytes they came with */
		for (size_t i = 0; !s && i < u->n_scm; i++)
			if (u->scm[i]->at > done && u->scm[i]->at - done < len)
				len = u->scm[i]->at - done;
		if (send_with(r, via, u, u->queue.data + done, len, s))
			return -1;
		done += len;
	}
	for (size_t i = 0; i < u->n_msgs; i++)
		if (send_with(r, via, u, u->msgs[i].data, u->msgs[i].len,
			      scm_at(u, i)))
			return -1;
	return 0;
}

static void apply_shutdown(int fd, const UnixSk *u)
{
	if (u->shutdown & RCV_SHUTDOWN)
		shutdown(fd, SHUT_RD);
	if (u->shutdown & SEND_SHUTDOWN)
		shutdown(fd, SHUT_WR);
}

/* Room for the whole queue in the sender's buffer (root may force). */
static void room_for(int via, const UnixSk *u)
{
	size_t need = u->queue.len;
	int v;

	for (size_t i = 0; i < u->n_msgs; i++)
		need += u->msgs[i].len + 512;
	if (need < (64U << 10))
		return;
	v = need > (1U << 30) ? 1 << 30 : (int)need;
	if (setsockopt(via, SOL_SOCKET, SO_SNDBUFFORCE, &v, sizeof(v)))
		setsockopt(via, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v));
}

static int connect_to(int fd, const UnixSk *u, const ProtobufCBinaryData *name)
{
	struct sockaddr_un sa;
	socklen_t len = make_addr(name, &sa);

	if (!connect(fd, (struct sockaddr *)&sa, len))
		return 0;
	pr_warn("restore socket %lu: connect to %s%s: %m",
		(unsigned long)u->ino, sa.sun_path[0] ? "" : "@",
		sa.sun_path[0] ? sa.sun_path : sa.sun_path + 1);
	return -1;
}

/* connect fd to the socket u (run in u's directory) */
static int connect_to_sk(int fd, const UnixSk *u)
{
	return connect_to(fd, u, &u->name);
}

static int unix_make(struct fd_restore *r, const FdEntry *e);

/*
 * The connections that were not accepted yet, in their order: a client
 * socket connects to the listener for each (by its name, before a name
 * whose file was gone is dropped again). A client in the tree is cached
 * for its own fd; one outside has closed its end (accept() returns a
 * connection that reads EOF, as any peer outside the tree).
 */
static int make_icons(struct fd_restore *r, const UnixSk *u)
{
	for (size_t i = 0; i < u->n_icon_peers; i++) {
		uint64_t ino = u->icon_peers[i];
		int c = socket(AF_UNIX, u->type, 0);
		const FdEntry *ce;

		if (c < 0 || in_bind_dir(u, connect_to_sk, c)) {
			pr_err("restore listening socket %lu: connection %zu not "
			       "yet accepted can't be made again",
			       (unsigned long)u->ino, i);
			if (c >= 0)
				close(c);
			return -1;
		}
		ce = fd_find_unix(r, ino);
		if (!ce) {
			close(c);
			continue;
		}
		apply_shutdown(c, ce->usk);
		if (fd_cache_put(r, FD_KEY_UNIX, ino, 0, c))
			return -1;
	}
	return 0;
}

static int make_listener(struct fd_restore *r, const UnixSk *u)
{
	int fd = socket(AF_UNIX, u->type, 0);

	if (fd < 0) {
		pr_perror("restore socket %lu: socket", (unsigned long)u->ino);
		return -1;
	}
	if (bind_name(fd, u) || listen(fd, u->has_backlog ? (int)u->backlog : 0)) {
		pr_perror("restore listening socket %lu", (unsigned long)u->ino);
		close(fd);
		return -1;
	}
	if (make_icons(r, u)) {
		close(fd);
		return -1;
	}
	drop_unlinked_name(u);
	return fd;
}

/* The client end of a connection not accepted yet: its listener makes it
 * (make_icons) with its shutdown bits; its own queue is empty (nothing
 * could write to it). */
static int make_pending_client(struct fd_restore *r, const UnixSk *u,
			       const FdEntry *le)
{
	int fd = fd_cache_get(r, FD_KEY_UNIX, u->ino, 0, NULL);

	if (fd < 0 && fd_cache_get(r, FD_KEY_UNIX, le->usk->ino, 0, NULL) < 0 &&
	    unix_make(r, le) < 0)
		return -1;
	fd = fd_cache_get(r, FD_KEY_UNIX, u->ino, 0, NULL);
	if (fd < 0)
		pr_err("restore socket %lu: its listener %lu did not make it",
		       (unsigned long)u->ino, (unsigned long)le->usk->ino);
	return fd;
}

/* Both ends in the tree: one socketpair, each queue sent by the other. */
static int make_pair(struct fd_restore *r, const UnixSk *u, const UnixSk *pu)
{
	int sv[2];

	if (socketpair(AF_UNIX, u->type, 0, sv)) {
		pr_perror("restore socket %lu: socketpair", (unsigned long)u->ino);
		return -1;
	}
	if (u->type == SOCK_DGRAM && (bind_name(sv[0], u) || bind_name(sv[1], pu)))
		goto err;
	room_for(sv[1], u);
	room_for(sv[0], pu);
	if (send_queue(r, sv[1], u) || send_queue(r, sv[0], pu))
		goto err;
	apply_shutdown(sv[0], u);
	apply_shutdown(sv[1], pu);
	drop_unlinked_name(u);
	drop_unlinked_name(pu);
	if (fd_cache_put(r, FD_KEY_UNIX, pu->ino, 0, sv[1])) {
		close(sv[0]);
		return -1;
	}
	return sv[0];
err:
	close(sv[0]);
	close(sv[1]);
	return -1;
}

/* The peer is gone (or outside the tree): its end is closed once the
 * queue is in. The owner reads what was queued, then sees EOF. */
static int make_hung_up(struct fd_restore *r, const UnixSk *u)
{
	int sv[2];

	if (socketpair(AF_UNIX, u->type, 0, sv)) {
		pr_perror("restore socket %lu: socketpair", (unsigned long)u->ino);
		return -1;
	}
	room_for(sv[1], u);
	if ((u->type == SOCK_DGRAM && bind_name(sv[0], u)) ||
	    send_queue(r, sv[1], u)) {
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	close(sv[1]);
	apply_shutdown(sv[0], u);
	drop_unlinked_name(u);
	return sv[0];
}

static void warn_dropped(const UnixSk *u, const char *why)
{
	if (u->queue.len || u->n_msgs)
		pr_warn("restore socket %lu: %zu queued message(s) dropped (%s)",
			(unsigned long)u->ino, u->n_msgs + !!u->queue.len, why);
}

/* Datagrams queued for an unconnected socket, sent to its name again
 * (from an unnamed socket: the senders' addresses are not kept). */
static int requeue_by_name(int unused, const UnixSk *u)
{
	struct sockaddr_un sa;
	socklen_t len = make_addr(&u->name, &sa);
	int tmp = socket(AF_UNIX, SOCK_DGRAM, 0);

	(void)unused;
	if (tmp < 0)
		return -1;
	for (size_t i = 0; i < u->n_msgs; i++) {
		if (sendto(tmp, u->msgs[i].data, u->msgs[i].len, MSG_DONTWAIT,
			   (struct sockaddr *)&sa, len) < 0) {
			pr_perror("restore socket %lu: requeue datagram %zu of "
				  "%zu (net.unix.max_dgram_qlen?)",
				  (unsigned long)u->ino, i, u->n_msgs);
			close(tmp);
			return -1;
		}
	}
	close(tmp);
	return 0;
}

/* Not connected: a name, and datagrams sent to it again. */
static int make_unconnected(const UnixSk *u)
{
	int fd = socket(AF_UNIX, u->type, 0);

	if (fd < 0 || bind_name(fd, u)) {
		pr_perror("restore socket %lu", (unsigned long)u->ino);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (u->n_msgs && (!u->has_name || !u->name.len)) {
		warn_dropped(u, "unnamed, unconnected");
	} else if (u->n_msgs && in_bind_dir(u, requeue_by_name, -1)) {
		close(fd);
		return -1;
	}
	drop_unlinked_name(u);
	return fd;
}

/* Datagram socket connected to another that is not connected back. */
static int make_dgram_to(struct fd_restore *r, const UnixSk *u,
			 const FdEntry *pe)
{
	const UnixSk *pu = pe->usk;
	int fd;

	if (fd_cache_get(r, FD_KEY_UNIX, pu->ino, 0, NULL) < 0 &&
	    unix_make(r, pe) < 0)
		return -1;
	fd = socket(AF_UNIX, u->type, 0);
	if (fd < 0 || bind_name(fd, u)) {
		pr_perror("restore socket %lu", (unsigned long)u->ino);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (!pu->has_name || pu->name_unlinked ||
	    in_bind_dir(pu, connect_to_sk, fd))
		pr_warn("restore socket %lu: left unconnected", (unsigned long)u->ino);
	warn_dropped(u, "connected datagram socket");
	drop_unlinked_name(u);
	return fd;
}

/* Makes the socket of e and caches it under its inode; returns the
 * cached fd. */
static int unix_make(struct fd_restore *r, const FdEntry *e)
{
	const UnixSk *u = e->usk;
	const FdEntry *pe = NULL;
	int fd;

	if (u->has_peer_ino && u->peer_ino)
		pe = fd_find_unix(r, u->peer_ino);
	if (u->state == SK_LISTEN) {
		fd = make_listener(r, u);
	} else if (u->has_listener_ino && (pe = fd_find_unix(r, u->listener_ino))) {
		/* cached already by its listener */
		return make_pending_client(r, u, pe);
	} else if (pe && pe->usk->has_peer_ino && pe->usk->peer_ino == u->ino) {
		fd = make_pair(r, u, pe->usk);
	} else if (pe) {
		fd = make_dgram_to(r, u, pe);
	} else if (u->has_peer_ino && u->type == SOCK_DGRAM && u->has_peer_name) {
		fd = socket(AF_UNIX, u->type, 0);
		if (fd >= 0 && (bind_name(fd, u) ||
				connect_to(fd, u, &u->peer_name))) {
			close(fd);
			fd = make_hung_up(r, u);
		} else if (fd >= 0) {
			warn_dropped(u, "connected to a socket outside");
		}
	} else if (u->has_peer_ino) {
		fd = make_hung_up(r, u);
	} else {
		fd = make_unconnected(u);
	}
	if (fd < 0 || fd_cache_put(r, FD_KEY_UNIX, u->ino, 0, fd))
		return -1;
	return fd_cache_get(r, FD_KEY_UNIX, u->ino, 0, NULL);
}

static int unix_open(struct fd_restore *r, const FdEntry *e)
{
	int fd;

	if (!e->usk) {
		pr_err("restore fd %u: unix socket without a description", e->fd);
		return -1;
	}
	fd = fd_cache_get(r, FD_KEY_UNIX, e->usk->ino, 0, NULL);
	if (fd < 0)
		fd = unix_make(r, e);
	if (fd < 0)
		return -1;
	fd = fcntl(fd, F_DUPFD, 0);
	if (fd < 0)
		pr_perror("restore fd %u: dup socket", e->fd);
	return fd;
}

const struct fd_ops fd_unix_ops = {
	.type = FD_TYPE__FD_UNIX, .name = "unix socket",
	.dump = unix_dump, .open = unix_open, .keys = unix_keys,
};
