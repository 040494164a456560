// SPDX-License-Identifier: GPL-2.0
/* criu-lite lazy-pages: the standalone lazy-pages daemon (lazy-daemon.h). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "cr.h"
#include "image.h"
#include "lazy-daemon.h"
#include "lazy-guard.h"
#include "lazy.h"
#include "log.h"
#include "net.h"
#include "page-source.h"

#include "inventory.pb-c.h"

#define LD_MAGIC	0x444c4c43u	/* "CLLD" */
#define MAX_SERVERS	1024

/* restore -> daemon: a process (with its userfaultfd); daemon -> restore:
 * its server (with restore's end of the control socket), pid -1: none */
struct ld_msg {
	uint32_t magic;
	int32_t vpid, pid;
} __attribute__((packed));

static int sock_path(const char *dir, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if ((size_t)snprintf(sa->sun_path, sizeof(sa->sun_path), "%s/%s", dir,
			     LAZY_DAEMON_SOCK) >= sizeof(sa->sun_path)) {
		pr_err("lazy-pages: %s/%s: too long for a unix socket path "
		       "(%zu bytes at most)", dir, LAZY_DAEMON_SOCK,
		       sizeof(sa->sun_path) - 1);
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

static int send_msg(int sk, const struct ld_msg *m, int fd)
{
	return unix_msg_send(sk, m, sizeof(*m), fd);
}

/* 1: a message (*fd: the fd that came with it, or -1), 0: EOF, -1. */
static int recv_msg(int sk, struct ld_msg *m, int *fd)
{
	int r = unix_msg_recv(sk, m, sizeof(*m), fd);

	if (r == 1 && m->magic != LD_MAGIC) {
		if (*fd >= 0)
			close(*fd);
		*fd = -1;
		errno = EPROTO;
		return -1;
	}
	return r;
}

/* ---- restore's side ---- */

int lazy_daemon_connect(const char *dir)
{
	struct sockaddr_un sa;
	int sk;

	if (sock_path(dir, &sa))
		return -1;
	if (access(sa.sun_path, F_OK)) {
		errno = ENOENT;
		return -1;
	}
	sk = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (sk < 0 || connect(sk, (struct sockaddr *)&sa, sizeof(sa))) {
		pr_perror("restore --lazy-pages: %s is there but no lazy-pages "
			  "daemon answers on it (one that is gone left it): "
			  "start the lazy-pages daemon first (criu-lite "
			  "lazy-pages --page-server --address HOST --port PORT "
			  "-D %s), or restore with --page-server HOST:PORT",
			  sa.sun_path, dir);
		if (sk >= 0)
			close(sk);
		errno = ECONNREFUSED;
		return -1;
	}
	pr_info("restore --lazy-pages: the lazy-pages daemon of %s serves "
		"the memory", sa.sun_path);
	return sk;
}

void lazy_daemon_done(int session)
{
	struct ld_msg m = { LD_MAGIC, 0, 0 };

	if (send_msg(session, &m, -1))
		pr_warn("restore: telling the lazy-pages daemon that every "
			"process is handed over: %m");
}

int lazy_daemon_hand(int session, pid_t vpid, pid_t pid, int uffd,
		     unsigned timeout_s, pid_t *server, int *ctl)
{
	struct ld_msg m = { LD_MAGIC, vpid, pid };
	struct pollfd pfd;
	char k = 0;
	int fd;

	if (send_msg(session, &m, uffd)) {
		pr_perror("restore %d: hand its userfaultfd to the lazy-pages "
			  "daemon", pid);
		return -1;
	}
	if (recv_msg(session, &m, &fd) != 1 || m.pid <= 0 || fd < 0) {
		pr_err("restore %d: the lazy-pages daemon did not take it (its "
		       "messages say why)", pid);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	/* its server says 'k' once it has the images and the page source */
	pfd = (struct pollfd){ fd, POLLIN, 0 };
	if (poll(&pfd, 1, (timeout_s + 10) * 1000) != 1 ||
	    recv(fd, &k, 1, 0) != 1 || k != 'k') {
		pr_err("restore %d: the lazy-pages daemon's server %d for it "
		       "is not ready (its messages say why)", pid, m.pid);
		close(fd);
		return -1;
	}
	*server = m.pid;
	*ctl = fd;
	return 0;
}

/* ---- the daemon ---- */

struct daemon_opts {
	const char *dir, *address;
	unsigned port, timeout_s;
	struct tls_opts tls;
};

/* One process' server: the images, the page source, then lazy_serve. */
struct proc_server {
	struct lazy_proc lp;
	MmEntry *mm;
	PagemapEntry **pme;
	size_t nr_pme;
	struct page_source src;
};

/* DIR's own pages, read here (not asked from the source), as restore
 * --page-server reads them: plain or compressed, not a layer chain. */
static int open_near(struct page_source *src, int dirfd)
{
	InventoryEntry *inv;
	struct page_source *near;
	int ret = 0;

	if (faccessat(dirfd, "pages-1.img", F_OK, 0))
		return 0;
	inv = (InventoryEntry *)img_read_one(dirfd, IMG_INVENTORY, 0);
	if (!inv)
		return -1;
	if (!inv->has_parent_id) {
		near = calloc(1, sizeof(*near));
		if (!near || page_source_open_local(near, dirfd, inv->has_pages_id ?
						    inv->pages_id : 1,
						    inv->pages_codec, false)) {
			free(near);
			ret = -1;
		} else {
			src->near = near;
		}
	}
	protobuf_c_message_free_unpacked((ProtobufCMessage *)inv, NULL);
	return ret;
}

static int prepare_server(struct proc_server *ps, const struct daemon_opts *o,
			  int dirfd, pid_t vpid, pid_t pid, int uffd)
{
	char addr[300];

	ps->mm = (MmEntry *)img_read_one(dirfd, IMG_MM, vpid);
	if (!ps->mm || img_read_all(dirfd, IMG_PAGEMAP, vpid, false,
				    (ProtobufCMessage ***)&ps->pme, &ps->nr_pme))
		return -1;
	for (size_t i = 0; i < ps->nr_pme; i++)
		if (pagemap_run_csums_ok(ps->pme[i], vpid))
			return -1;
	if (lazy_collect_runs(&ps->lp, pid, uffd, ps->mm, ps->pme, ps->nr_pme))
		return -1;
	ps->lp.vpid = vpid;
	ps->lp.check_pages = true;
	page_server_hostport(addr, sizeof(addr), o->address, o->port);
	if (page_source_open_remote(&ps->src, addr, &o->tls))
		return -1;
	ps->src.retry_s = o->timeout_s;
	return open_near(&ps->src, dirfd);
}

/* The server of one process, in a child: never returns. */
static void run_server(const struct daemon_opts *o, int dirfd, pid_t vpid,
		       pid_t pid, int uffd, int ctl)
{
	struct proc_server ps = { 0 };
	struct lazy_guard g = { .ctl = ctl };
	char k = 'k';

	prctl(PR_SET_NAME, "criu-lite-lazy");
	if (prepare_server(&ps, o, dirfd, vpid, pid, uffd)) {
		pr_err("lazy-pages: can't serve process %d (pid %d here): "
		       "restore fails", vpid, pid);
		_exit(1);
	}
	if (send(ctl, &k, 1, MSG_NOSIGNAL) != 1)
		_exit(1);	/* restore is gone: it kills the process */
	pr_info("lazy-pages: server %d fills %d (image pid %d), %zu runs",
		getpid(), pid, vpid, ps.lp.nr_runs);
	_exit(lazy_serve(&ps.lp, 1, &ps.src, &g, NULL) ? 1 : 0);
}

/* A process of the session: its server forked, restore told. */
static int take_proc(const struct daemon_opts *o, int dirfd, int session,
		     int listen_sk, const struct ld_msg *m, int uffd,
		     pid_t *servers, size_t *nr)
{
	struct ld_msg r = { LD_MAGIC, m->vpid, -1 };
	int sv[2] = { -1, -1 };
	pid_t pid = -1;

	if (*nr == MAX_SERVERS)
		pr_err("lazy-pages: more than %d processes: not served",
		       MAX_SERVERS);
	else if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		pr_perror("lazy-pages: socketpair");
	else if ((pid = fork()) < 0)
		pr_perror("lazy-pages: fork");
	if (pid == 0) {
		close(sv[0]);
		close(session);
		close(listen_sk);
		run_server(o, dirfd, m->vpid, m->pid, uffd, sv[1]);
	}
	close(uffd);
	if (sv[1] >= 0)
		close(sv[1]);
	if (pid > 0) {
		servers[(*nr)++] = pid;
		r.pid = pid;
	}
	if (send_msg(session, &r, pid > 0 ? sv[0] : -1))
		pr_perror("lazy-pages: answer restore");
	if (sv[0] >= 0)
		close(sv[0]);
	return pid > 0 ? 0 : -1;
}

/* Every server's end: 0 if every one filled its process. */
static int wait_servers(const pid_t *servers, size_t nr)
{
	int ret = 0;

	for (size_t i = 0; i < nr; i++) {
		int status = 0;

		while (waitpid(servers[i], &status, 0) < 0 && errno == EINTR)
			;
		if (!WIFEXITED(status) || WEXITSTATUS(status)) {
			pr_err("lazy-pages: server %d failed: its process was "
			       "killed (never left on missing pages)",
			       servers[i]);
			ret = -1;
		}
	}
	return ret;
}

/* One restore's session: its processes as they come, until it closes. */
static int serve_session(const struct daemon_opts *o, int dirfd, int session,
			 int listen_sk)
{
	static pid_t servers[MAX_SERVERS];
	size_t nr = 0;
	int ret = 0, r, fd;
	bool done = false;
	struct ld_msg m;

	while ((r = recv_msg(session, &m, &fd)) == 1) {
		if (fd < 0 && !m.vpid && !m.pid) {
			done = true;	/* restore: all handed over */
			continue;
		}
		if (fd < 0 || m.vpid <= 0 || m.pid <= 0) {
			pr_err("lazy-pages: a process without its userfaultfd");
			if (fd >= 0)
				close(fd);
			ret = -1;
			break;
		}
		if (take_proc(o, dirfd, session, listen_sk, &m, fd, servers, &nr))
			ret = -1;
	}
	if (r < 0) {
		pr_perror("lazy-pages: the session with restore");
		ret = -1;
	}
	if (wait_servers(servers, nr))
		ret = -1;
	if (!ret && !done) {
		pr_err("lazy-pages: the restore ended without handing over "
		       "its whole tree (it failed: see its messages); %zu "
		       "process%s served", nr, nr == 1 ? "" : "es");
		ret = -1;
	}
	if (!ret)
		pr_info("lazy-pages: every page of %zu process%s is in", nr,
			nr == 1 ? "" : "es");
	return ret;
}

static int listen_dir(const char *dir)
{
	struct sockaddr_un sa;
	int sk;

	if (sock_path(dir, &sa))
		return -1;
	sk = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (sk < 0) {
		pr_perror("lazy-pages: socket");
		return -1;
	}
	/* a socket file left by a killed daemon: ours now, unless one
	 * answers on it */
	if (!connect(sk, (struct sockaddr *)&sa, sizeof(sa))) {
		pr_err("lazy-pages: another daemon serves %s", sa.sun_path);
		close(sk);
		return -1;
	}
	unlink(sa.sun_path);
	if (bind(sk, (struct sockaddr *)&sa, sizeof(sa)) || listen(sk, 1)) {
		pr_perror("lazy-pages: listen on %s", sa.sun_path);
		close(sk);
		return -1;
	}
	return sk;
}

static int run_daemon(const struct daemon_opts *o)
{
	struct pollfd pfd;
	char path[PATH_MAX];
	int dirfd, sk, c, ret = -1;

	dirfd = open(o->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0) {
		pr_perror("lazy-pages: open %s", o->dir);
		return -1;
	}
	sk = listen_dir(o->dir);
	if (sk < 0) {
		close(dirfd);
		return -1;
	}
	snprintf(path, sizeof(path), "%s/%s", o->dir, LAZY_DAEMON_SOCK);
	pr_info("lazy-pages: waiting for restore --lazy-pages -D %s (pages "
		"from %s:%u)", o->dir, o->address, o->port);
	pfd = (struct pollfd){ sk, POLLIN, 0 };
	if (poll(&pfd, 1, o->timeout_s * 1000) != 1) {
		pr_err("lazy-pages: no restore came within --lazy-timeout %u s",
		       o->timeout_s);
		goto out;
	}
	c = accept4(sk, NULL, NULL, SOCK_CLOEXEC);
	if (c < 0) {
		pr_perror("lazy-pages: accept");
		goto out;
	}
	unlink(path);	/* one restore per daemon, as CRIU's */
	ret = serve_session(o, dirfd, c, sk);
	close(c);
out:
	unlink(path);
	close(sk);
	close(dirfd);
	return ret;
}

static const char lazy_pages_text[] =
"usage: criu-lite lazy-pages --page-server --address HOST --port N -D DIR\n"
"                            [--lazy-timeout S] [--tls ...]\n"
"\n"
"The lazy-pages daemon (CRIU's): waits on DIR/lazy-pages.sock for one\n"
"criu-lite restore -D DIR --lazy-pages, which hands it the userfaultfd of\n"
"each process it restores. The daemon fills their large anonymous memory:\n"
"pages are pulled from the page server (criu-lite page-server, or a dump\n"
"--lazy-pages keeping its frozen tree) at HOST:N on fault and pushed in\n"
"the background, each checked against its checksum; pages DIR holds are\n"
"read from there. It exits 0 once every process has every page; a process\n"
"whose pages can't be had (corrupt, the source gone for --lazy-timeout)\n"
"is killed, never left on missing pages, and the daemon exits 1.\n"
"\n"
"      --page-server          pages come from a page server (required)\n"
"      --address HOST         its address\n"
"      --port N               its port (--page-server HOST:PORT: the\n"
"                             same as these three)\n"
"  -D, --images-dir DIR       the images restore reads; the socket goes there\n"
"      --lazy-timeout S       wait this long for restore, and reconnect to a\n"
"                             lost page server this long (default 60)\n"
"      --tls                  TLS to the page server, certificates checked\n"
"                             both ways (--tls-cacert, --tls-cert,\n"
"                             --tls-key FILE; --tls-no-cn-verify: see\n"
"                             criu-lite(8))\n"
"  -v, --verbose[=N]          log level (0-4)\n"
"  -h, --help                 this text\n";

static int parse_lazy_pages_args(int argc, char **argv, struct daemon_opts *o)
{
	enum { OPT_PS = 256, OPT_ADDR, OPT_PORT, OPT_TIMEOUT };
	static const struct option opts[] = {
		{ "page-server", optional_argument, NULL, OPT_PS },
		{ "address", required_argument, NULL, OPT_ADDR },
		{ "port", required_argument, NULL, OPT_PORT },
		{ "images-dir", required_argument, NULL, 'D' },
		{ "lazy-timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "verbose", optional_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		TLS_LONG_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	const char *word = NULL;
	bool ps = false;
	long val;
	int c;

	memset(o, 0, sizeof(*o));
	o->timeout_s = LAZY_TIMEOUT_DEFAULT;
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":D:v::h", opts, NULL)) != -1) {
		if (IS_TLS_OPTION(c)) {
			parse_tls_option(c, optarg, &o->tls);
			continue;
		}
		switch (c) {
		case OPT_PS:
			ps = true;
			word = page_server_word(argc, argv);
			break;
		case OPT_ADDR:
			o->address = optarg;
			break;
		case OPT_PORT:
			if (parse_count("--port", optarg, 65535, &val))
				return -1;
			o->port = val;
			break;
		case 'D':
			o->dir = optarg;
			break;
		case OPT_TIMEOUT:
			if (parse_lazy_timeout(optarg, &o->timeout_s))
				return -1;
			break;
		case 'v':
			if (parse_verbosity(optarg))
				return -1;
			break;
		case 'h':
			fputs(lazy_pages_text, stdout);
			return 1;
		default:
			return cli_bad_option("lazy-pages", c, argv);
		}
	}
	if (check_tls_opts("lazy-pages", &o->tls) ||
	    cli_stray_args("lazy-pages", argc, argv))
		return -1;
	if (page_server_target("lazy-pages", word, &o->address, &o->port))
		return -1;
	if (!ps || !o->address || !o->port || !o->dir) {
		pr_err("lazy-pages needs --page-server --address HOST --port N "
		       "-D DIR (or --page-server HOST:PORT; pages from a page "
		       "server or a dump --lazy-pages; "
		       "restore --lazy-pages alone reads local images itself)");
		return -1;
	}
	return 0;
}

int cmd_lazy_pages(int argc, char **argv)
{
	struct daemon_opts o;
	int ret = parse_lazy_pages_args(argc, argv, &o);

	if (ret)
		return ret > 0 ? 0 : 1;
	if (tls_files_check(&o.tls))	/* now, not at the first process */
		return 1;
	return run_daemon(&o) ? 1 : 0;
}
