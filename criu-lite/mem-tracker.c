// SPDX-License-Identifier: GPL-2.0
/*
 * The memory tracker process and its protocol (see mem-tracker.h).
 *
 * Wire (SOCK_SEQPACKET on DIR/tracker.sock, host byte order: both ends
 * are criu-lite on one machine):
 *   client  -> trk_req  { magic, version, op, root, layer_id }
 *   tracker -> trk_hdr  { magic, version, status, nr, root, backend,
 *                         layer_id }
 *   then, for status TRK_OK, per process a trk_proc message carrying its
 *   userfaultfd (SCM_RIGHTS), followed by its ranges in messages of at
 *   most RANGES_PER_MSG; then the tracker closes everything and exits, so
 *   the client's end sees EOF once the tracker's copies of the fds are
 *   closed.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cr.h"
#include "log.h"
#include "mem-tracker.h"
#include "proc.h"
#include "seize.h"

#define TRK_MAGIC	0x4b54524cu	/* "LRTK" */
#define TRK_VERSION	1
#define RANGES_PER_MSG	2048
#define IO_TIMEOUT_S	10
#define CHECK_EVERY_MS	1000	/* how often DIR and the socket are checked */

enum trk_op { TRK_TAKE = 1, TRK_STOP = 2 };
enum trk_status { TRK_OK = 0, TRK_NOT_MINE = 1, TRK_OTHER_LAYER = 2,
		  TRK_REFUSED = 3 };

struct trk_req {
	uint32_t magic, version, op;
	int32_t root;
	uint8_t layer_id[IMG_LAYER_ID_LEN];
};

struct trk_hdr {
	uint32_t magic, version;
	int32_t status;
	uint32_t nr;
	int32_t root;
	char backend[16];
	uint8_t layer_id[IMG_LAYER_ID_LEN];
};

struct trk_proc {
	int32_t pid;
	uint32_t nr_ranges;
	uint64_t start_time;
	uint32_t has_fd;
	uint32_t pad;
};

int proc_start_time(pid_t pid, uint64_t *start)
{
	struct proc_stat st;

	if (proc_read_stat(pid, pid, &st))
		return -1;
	*start = st.start_time;
	return 0;
}

struct tracked_proc *tracking_find(struct tracking *t, pid_t pid)
{
	uint64_t start;

	if (proc_start_time(pid, &start))
		return NULL;
	for (size_t i = 0; i < t->nr; i++)
		if (t->procs[i].pid == pid && t->procs[i].start_time == start)
			return &t->procs[i];
	return NULL;
}

void tracking_free(struct tracking *t)
{
	for (size_t i = 0; i < t->nr; i++) {
		if (t->procs[i].uffd >= 0)
			close(t->procs[i].uffd);
		free(t->procs[i].ranges);
	}
	free(t->procs);
	t->procs = NULL;
	t->nr = 0;
}

/* ---- messages ---- */

static void set_timeouts(int sk, unsigned s)
{
	struct timeval tv = { .tv_sec = s };

	setsockopt(sk, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(sk, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* ---- the tracker process ---- */

struct tracker_srv {
	const struct tracking *t;
	int dirfd;
	int lfd;
	int sigfd;
	int rootfd;		/* pidfd of the root */
	struct stat sock;	/* what we bound */
	uint64_t deadline;
};

/* Our socket is still DIR/tracker.sock and DIR still exists: else nobody
 * can reach us, and the tracking would only cost the target. */
static bool still_reachable(const struct tracker_srv *s)
{
	struct stat d, now;

	if (fstat(s->dirfd, &d) || !d.st_nlink)
		return false;
	if (fstatat(s->dirfd, TRACKER_SOCK, &now, AT_SYMLINK_NOFOLLOW))
		return false;
	return now.st_ino == s->sock.st_ino && now.st_dev == s->sock.st_dev;
}

static int send_tracking(int sk, const struct tracking *t)
{
	struct trk_hdr h = { TRK_MAGIC, TRK_VERSION, TRK_OK, t->nr, t->root };

	memcpy(h.backend, t->backend, sizeof(h.backend));
	memcpy(h.layer_id, t->layer_id, sizeof(h.layer_id));
	if (unix_msg_send(sk, &h, sizeof(h), -1))
		return -1;
	for (size_t i = 0; i < t->nr; i++) {
		const struct tracked_proc *p = &t->procs[i];
		struct trk_proc m = { p->pid, p->nr_ranges, p->start_time,
				      p->uffd >= 0 };

		if (unix_msg_send(sk, &m, sizeof(m), p->uffd))
			return -1;
		for (size_t k = 0; k < p->nr_ranges; k += RANGES_PER_MSG) {
			size_t n = p->nr_ranges - k < RANGES_PER_MSG ?
				   p->nr_ranges - k : RANGES_PER_MSG;

			if (unix_msg_send(sk, p->ranges + k, n * sizeof(*p->ranges), -1))
				return -1;
		}
	}
	return 0;
}

static void reply(int sk, int status, const struct tracking *t)
{
	struct trk_hdr h = { TRK_MAGIC, TRK_VERSION, status, 0, t->root };

	memcpy(h.layer_id, t->layer_id, sizeof(h.layer_id));
	unix_msg_send(sk, &h, sizeof(h), -1);
}

/*
 * One client. Returns true when the tracker is done: its tracking was
 * taken (or stopped, or belongs to a layer nobody can name any more).
 * Only a client running as our user (or root) is answered.
 */
static bool serve_client(struct tracker_srv *s, int sk)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);
	struct trk_req q;

	set_timeouts(sk, IO_TIMEOUT_S);
	if (getsockopt(sk, SOL_SOCKET, SO_PEERCRED, &cr, &len) ||
	    (cr.uid != 0 && cr.uid != geteuid())) {
		reply(sk, TRK_REFUSED, s->t);
		return false;
	}
	if (unix_msg_recv(sk, &q, sizeof(q), NULL) != 1 || q.magic != TRK_MAGIC ||
	    q.version != TRK_VERSION)
		return false;
	if (q.op == TRK_STOP) {
		reply(sk, TRK_OK, s->t);
		return true;
	}
	if (q.op != TRK_TAKE)
		return false;
	if (q.root != s->t->root) {
		reply(sk, TRK_NOT_MINE, s->t);
		return false;
	}
	if (memcmp(q.layer_id, s->t->layer_id, IMG_LAYER_ID_LEN)) {
		reply(sk, TRK_OTHER_LAYER, s->t);
		return true;
	}
	/* A failed send: the fds in flight are dropped with the socket, and
	 * the client copies everything. Either way this tracking is done. */
	send_tracking(sk, s->t);
	return true;
}

static int serve(struct tracker_srv *s)
{
	for (;;) {
		struct pollfd pf[3] = {
			{ .fd = s->lfd, .events = POLLIN },
			{ .fd = s->sigfd, .events = POLLIN },
			{ .fd = s->rootfd, .events = POLLIN },
		};
		uint64_t now = now_ns();
		int ms = CHECK_EVERY_MS, sk;

		if (now >= s->deadline)
			return 0;	/* timed out */
		if ((s->deadline - now) / 1000000 < (uint64_t)ms)
			ms = (s->deadline - now) / 1000000 + 1;
		if (poll(pf, 3, ms) < 0 && errno != EINTR)
			return -1;
		if (pf[1].revents || pf[2].revents)
			return 0;	/* signal, or the tree is gone */
		if (!still_reachable(s))
			return 0;
		if (!(pf[0].revents & POLLIN))
			continue;
		sk = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC);
		if (sk < 0)
			continue;
		if (serve_client(s, sk)) {
			/* our copies go before the client sees EOF */
			for (size_t i = 0; i < s->t->nr; i++)
				if (s->t->procs[i].uffd >= 0)
					close(s->t->procs[i].uffd);
			close(sk);
			return 0;
		}
		close(sk);
	}
}

static bool keep_fd(const struct tracking *t, int fd, int status_fd)
{
	if (fd == status_fd)
		return true;
	for (size_t i = 0; i < t->nr; i++)
		if (t->procs[i].uffd == fd)
			return true;
	return false;
}

/* Only what the tracker needs stays open: no images, no log pipe of the
 * caller (a shell waiting for EOF on it would wait for us). */
static void close_other_fds(const struct tracking *t, int status_fd)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int null;

	if (d) {
		while ((de = readdir(d))) {
			int fd = atoi(de->d_name);

			if (de->d_name[0] == '.' || fd == dirfd(d) ||
			    keep_fd(t, fd, status_fd))
				continue;
			close(fd);
		}
		closedir(d);
	}
	null = open("/dev/null", O_RDWR);
	for (int fd = 0; fd < 3; fd++)
		if (null >= 0 && !keep_fd(t, fd, status_fd))
			dup2(null, fd);
	if (null > 2)
		close(null);
}

static int status_msg(int fd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int status_msg(int fd, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	unix_msg_send(fd, buf, strlen(buf) + 1, -1);
	return 1;
}

static int listen_in(struct tracker_srv *s, const char *dir, int status_fd)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	mode_t old;

	s->dirfd = open(dir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	if (s->dirfd < 0)
		return status_msg(status_fd, "open %s: %s", dir, strerror(errno));
	snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%d/%s",
		 s->dirfd, TRACKER_SOCK);
	unlinkat(s->dirfd, TRACKER_SOCK, 0);
	s->lfd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	old = umask(0177);
	if (s->lfd < 0 || bind(s->lfd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(s->lfd, 4)) {
		umask(old);
		return status_msg(status_fd, "listen on %s/%s: %s", dir,
				  TRACKER_SOCK, strerror(errno));
	}
	umask(old);
	if (fstatat(s->dirfd, TRACKER_SOCK, &s->sock, AT_SYMLINK_NOFOLLOW))
		return status_msg(status_fd, "stat %s/%s: %s", dir,
				  TRACKER_SOCK, strerror(errno));
	return 0;
}

static int watch_root(struct tracker_srv *s, int status_fd)
{
	const struct tracking *t = s->t;
	uint64_t start;
	sigset_t ss;

	s->rootfd = syscall(__NR_pidfd_open, t->root, 0);
	if (s->rootfd < 0 || proc_start_time(t->root, &start) ||
	    !t->nr || t->procs[0].pid != t->root || t->procs[0].start_time != start)
		return status_msg(status_fd, "the tree's root %d is gone", t->root);
	sigemptyset(&ss);
	sigaddset(&ss, SIGTERM);
	sigaddset(&ss, SIGINT);
	sigaddset(&ss, SIGHUP);
	sigprocmask(SIG_SETMASK, &ss, NULL);
	s->sigfd = signalfd(-1, &ss, SFD_CLOEXEC);
	if (s->sigfd < 0)
		return status_msg(status_fd, "signalfd: %s", strerror(errno));
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

/* The forked tracker: set up, say so on status_fd, serve, exit. */
static int tracker_main(const char *dir, const struct tracking *t,
			unsigned timeout_s, int status_fd)
{
	struct tracker_srv s = { .t = t, .dirfd = -1, .lfd = -1, .sigfd = -1,
				 .rootfd = -1 };

	setsid();
	prctl(PR_SET_NAME, "criu-lite-track");
	close_other_fds(t, status_fd);
	s.deadline = now_ns() + timeout_s * 1000000000ULL;
	if (listen_in(&s, dir, status_fd) || watch_root(&s, status_fd)) {
		if (s.lfd >= 0)
			unlinkat(s.dirfd, TRACKER_SOCK, 0);
		return 1;
	}
	if (chdir("/"))	/* hold no directory but DIR */
		return status_msg(status_fd, "chdir /: %s", strerror(errno));
	unix_msg_send(status_fd, "", 1, -1);
	close(status_fd);
	serve(&s);
	if (still_reachable(&s))
		unlinkat(s.dirfd, TRACKER_SOCK, 0);
	return 0;
}

int tracker_spawn(const char *dir, const struct tracking *t,
		  unsigned timeout_s, pid_t *pid)
{
	char msg[512] = "";
	struct pollfd pf;
	int sv[2];
	ssize_t n;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv)) {
		pr_perror("socketpair for the memory tracker");
		return -1;
	}
	*pid = fork();
	if (*pid < 0) {
		pr_perror("fork the memory tracker");
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	if (*pid == 0) {
		close(sv[0]);
		_exit(tracker_main(dir, t, timeout_s, sv[1]));
	}
	close(sv[1]);
	pf = (struct pollfd){ .fd = sv[0], .events = POLLIN };
	n = poll(&pf, 1, IO_TIMEOUT_S * 1000) == 1 ?
	    recv(sv[0], msg, sizeof(msg) - 1, 0) : -1;
	close(sv[0]);
	if (n > 0 && !msg[0])
		return 0;
	pr_err("memory tracker for %s did not start: %s", dir,
	       n > 0 ? msg : "no answer");
	kill(*pid, SIGKILL);
	waitpid(*pid, NULL, 0);
	return -1;
}

/* ---- the client ---- */

static int take_procs(int sk, const struct trk_hdr *h, struct tracking *t)
{
	t->procs = calloc(h->nr ? h->nr : 1, sizeof(*t->procs));
	if (!t->procs)
		return -1;
	for (uint32_t i = 0; i < h->nr; i++) {
		struct tracked_proc *p = &t->procs[t->nr];
		struct trk_proc m;
		int fd;

		if (unix_msg_recv(sk, &m, sizeof(m), &fd) != 1)
			return -1;
		t->nr++;
		*p = (struct tracked_proc){ m.pid, m.start_time, fd, NULL,
					    m.nr_ranges };
		if ((bool)m.has_fd != (fd >= 0) || m.nr_ranges > (1u << 24)) {
			errno = EPROTO;
			return -1;
		}
		p->ranges = calloc(m.nr_ranges ? m.nr_ranges : 1, sizeof(*p->ranges));
		if (!p->ranges)
			return -1;
		for (size_t k = 0; k < m.nr_ranges; k += RANGES_PER_MSG) {
			size_t n = m.nr_ranges - k < RANGES_PER_MSG ?
				   m.nr_ranges - k : RANGES_PER_MSG;

			if (unix_msg_recv(sk, p->ranges + k, n * sizeof(*p->ranges), NULL) != 1)
				return -1;
		}
	}
	return 0;
}

static int tracker_connect(const char *dir, int *dirfd, char *why, size_t len)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int sk;

	*dirfd = open(dir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	if (*dirfd < 0) {
		snprintf(why, len, "can't open %s: %s", dir, strerror(errno));
		return -1;
	}
	snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%d/%s",
		 *dirfd, TRACKER_SOCK);
	sk = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (sk >= 0 && !connect(sk, (struct sockaddr *)&sa, sizeof(sa))) {
		struct ucred cr;
		socklen_t len_cr = sizeof(cr);

		/* only a tracker of root or of our own user is believed */
		if (!getsockopt(sk, SOL_SOCKET, SO_PEERCRED, &cr, &len_cr) &&
		    (cr.uid == 0 || cr.uid == geteuid()))
			return sk;
		snprintf(why, len, "%s/%s belongs to another user (uid %u)",
			 dir, TRACKER_SOCK, cr.uid);
		close(sk);
		return -1;
	}
	if (errno == ENOENT)
		snprintf(why, len, "%s has no %s (no tracker was left there, or "
			 "it has ended)", dir, TRACKER_SOCK);
	else if (errno == ECONNREFUSED)
		snprintf(why, len, "the tracker of %s is gone (killed, or the "
			 "tree exited)", dir);
	else
		snprintf(why, len, "connect to %s/%s: %s", dir, TRACKER_SOCK,
			 strerror(errno));
	if (sk >= 0)
		close(sk);
	return -1;
}

static const char *status_text(int status)
{
	switch (status) {
	case TRK_NOT_MINE:
		return "it tracks another tree";
	case TRK_OTHER_LAYER:
		return "it tracks writes since another layer than the one in "
		       "that directory (replaced?)";
	case TRK_REFUSED:
		return "it refused us (another user)";
	default:
		return "unexpected answer";
	}
}

int tracker_take(const char *dir, pid_t root,
		 const uint8_t layer_id[IMG_LAYER_ID_LEN], struct tracking *t,
		 char *why, size_t len)
{
	struct trk_req q = { TRK_MAGIC, TRK_VERSION, TRK_TAKE, root };
	struct trk_hdr h;
	int dirfd, sk, ret = 1;
	char c;

	memset(t, 0, sizeof(*t));
	memcpy(q.layer_id, layer_id, sizeof(q.layer_id));
	sk = tracker_connect(dir, &dirfd, why, len);
	if (sk < 0)
		goto out;
	set_timeouts(sk, IO_TIMEOUT_S);
	if (unix_msg_send(sk, &q, sizeof(q), -1) ||
	    unix_msg_recv(sk, &h, sizeof(h), NULL) != 1 ||
	    h.magic != TRK_MAGIC || h.version != TRK_VERSION) {
		snprintf(why, len, "the tracker of %s did not answer (%s)", dir,
			 strerror(errno));
		goto out;
	}
	if (h.status != TRK_OK || h.root != root ||
	    memcmp(h.layer_id, layer_id, IMG_LAYER_ID_LEN)) {
		snprintf(why, len, "the tracker of %s does not fit: %s", dir,
			 status_text(h.status == TRK_OK ? TRK_OTHER_LAYER : h.status));
		goto out;
	}
	memcpy(t->backend, h.backend, sizeof(t->backend));
	t->backend[sizeof(t->backend) - 1] = 0;
	memcpy(t->layer_id, h.layer_id, sizeof(t->layer_id));
	t->root = h.root;
	if (take_procs(sk, &h, t)) {
		snprintf(why, len, "the tracker of %s broke off (%s)", dir,
			 strerror(errno));
		tracking_free(t);
		goto out;
	}
	/* EOF: the tracker has closed its own copies and is exiting */
	if (recv(sk, &c, 1, 0) != 0)
		pr_warn("the tracker of %s did not hang up", dir);
	ret = 0;
out:
	if (sk >= 0)
		close(sk);
	if (dirfd >= 0)
		close(dirfd);
	return ret;
}
