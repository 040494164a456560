// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "qmp.h"

struct qmp_conn {
	int fd;
	const char *path;
	char buf[65536];
	size_t len;
	int timeout_ms;
	const char *cmd;	/* a queued one's (qmp_queue) */
};

/* Reads one newline-terminated JSON message into line. */
static int qmp_read_line(struct qmp_conn *q, char *line, size_t sz)
{
	for (;;) {
		char *nl = memchr(q->buf, '\n', q->len);
		struct pollfd pfd = { q->fd, POLLIN, 0 };
		ssize_t n;

		if (nl) {
			size_t l = nl - q->buf + 1;
			size_t c = l < sz ? l : sz - 1;

			memcpy(line, q->buf, c);
			line[c] = 0;
			memmove(q->buf, q->buf + l, q->len - l);
			q->len -= l;
			return 0;
		}
		if (q->len == sizeof(q->buf)) {
			pr_err("QMP %s: message too long", q->path);
			return -1;
		}
		if (poll(&pfd, 1, q->timeout_ms) != 1) {
			pr_err("QMP %s: no answer in %d ms", q->path, q->timeout_ms);
			return -1;
		}
		n = read(q->fd, q->buf + q->len, sizeof(q->buf) - q->len);
		if (n <= 0) {
			pr_err("QMP %s: connection closed", q->path);
			return -1;
		}
		q->len += n;
	}
}

static int qmp_send(struct qmp_conn *q, const char *cmd)
{
	char msg[256];
	int n = snprintf(msg, sizeof(msg), "{\"execute\":\"%s\"}\n", cmd);

	if (n < 0 || (size_t)n >= sizeof(msg)) {
		pr_err("QMP %s: command %s too long", q->path, cmd);
		return -1;
	}
	if (write(q->fd, msg, n) != n) {
		pr_perror("QMP %s: send %s", q->path, cmd);
		return -1;
	}
	return 0;
}

/* The answer to cmd, sent before: asynchronous events skipped. */
static int qmp_await(struct qmp_conn *q, const char *cmd, char *reply,
		     size_t len)
{
	char line[65536];

	for (;;) {
		const char *ret;

		if (qmp_read_line(q, line, sizeof(line)))
			return -1;
		if (strstr(line, "\"event\""))
			continue;
		if (strstr(line, "\"error\"")) {
			line[strcspn(line, "\r\n")] = 0;
			pr_err("QMP %s: %s failed: %s", q->path, cmd, line);
			return -1;
		}
		ret = strstr(line, "\"return\"");
		if (!ret)
			continue;
		if (reply && len) {
			snprintf(reply, len, "%s", ret + 9);
			reply[strcspn(reply, "\r\n")] = 0;
		}
		return 0;
	}
}

/* Sends cmd and waits for its answer, skipping asynchronous events. */
static int qmp_exec(struct qmp_conn *q, const char *cmd, char *reply,
		    size_t len)
{
	return qmp_send(q, cmd) ? -1 : qmp_await(q, cmd, reply, len);
}

/* The QMP socket at path as an address; -1 if the path is too long. */
static int qmp_addr(const char *path, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path))
		return -1;
	strcpy(sa->sun_path, path);
	return 0;
}

/* A connection to the QMP socket at path, capabilities negotiated: its
 * fd in q, 0; or -1 (logged, nothing left open). */
static int qmp_open(struct qmp_conn *q)
{
	struct sockaddr_un sa;
	struct timeval tv;
	char line[65536];

	if (qmp_addr(q->path, &sa)) {
		pr_err("QMP socket path too long: %s", q->path);
		return -1;
	}
	q->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (q->fd < 0)
		return -1;
	/* a backlog full (its QEMU stopped, or clients queued before us)
	 * makes connect wait: timeout_ms at most, as every other step */
	tv.tv_sec = q->timeout_ms / 1000;
	tv.tv_usec = q->timeout_ms % 1000 * 1000;
	setsockopt(q->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(q->fd, (struct sockaddr *)&sa, sizeof(sa))) {
		pr_perror("QMP: connect to %s", q->path);
		goto err;
	}
	/* greeting, then capabilities negotiation */
	if (qmp_read_line(q, line, sizeof(line)) || !strstr(line, "\"QMP\"")) {
		pr_err("QMP %s: no greeting", q->path);
		goto err;
	}
	if (qmp_exec(q, "qmp_capabilities", NULL, 0))
		goto err;
	return 0;
err:
	close(q->fd);
	return -1;
}

int qmp_command(const char *path, const char *cmd, char *reply, size_t len,
		int timeout_ms)
{
	struct qmp_conn q = { .path = path, .timeout_ms = timeout_ms };
	int ret;

	if (qmp_open(&q))
		return -1;
	ret = qmp_exec(&q, cmd, reply, len);
	close(q.fd);
	return ret;
}

struct qmp_conn *qmp_queue(const char *path, const char *cmd, int timeout_ms)
{
	struct sockaddr_un sa;
	struct qmp_conn *q;
	char msg[256];
	int n;

	if (qmp_addr(path, &sa))
		return NULL;
	q = malloc(sizeof(*q));
	if (!q)
		return NULL;
	q->path = path;
	q->len = 0;
	q->timeout_ms = timeout_ms;
	q->cmd = cmd;
	/* non-blocking: a full backlog (QEMU, stopped, accepts nothing) is
	 * EAGAIN here, never a wait for ever */
	q->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	n = snprintf(msg, sizeof(msg), "{\"execute\":\"qmp_capabilities\"}\n"
		     "{\"execute\":\"%s\"}\n", cmd);
	/* a failure here is no error: the caller goes the usual way */
	if (q->fd < 0 || n < 0 || (size_t)n >= sizeof(msg) ||
	    connect(q->fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    write(q->fd, msg, n) != n) {
		pr_debug("QMP %s: %s not queued: %m", path, cmd);
		if (q->fd >= 0)
			close(q->fd);
		free(q);
		return NULL;
	}
	return q;
}

int qmp_queued_result(struct qmp_conn *q, char *reply, size_t len)
{
	char line[65536];
	int ret = -1;

	if (qmp_read_line(q, line, sizeof(line)) || !strstr(line, "\"QMP\""))
		pr_err("QMP %s: no greeting", q->path);
	else if (!qmp_await(q, "qmp_capabilities", NULL, 0) &&
		 !qmp_await(q, q->cmd, reply, len))
		ret = 0;
	close(q->fd);
	free(q);
	return ret;
}

int qmp_stop_running(const char *path, char *status, size_t len,
		     int timeout_ms, struct qmp_guard *g)
{
	struct qmp_conn q = { .path = path, .timeout_ms = timeout_ms };
	int ret = -1;

	if (qmp_open(&q))
		return -1;
	if (qmp_exec(&q, "query-status", status, len))
		goto out;
	ret = 0;
	/* the guard armed only for a VM that runs: one the user paused is
	 * never continued by it */
	if (strstr(status, "\"running\": true"))
		ret = g && qmp_guard_start(g, path) ? -1 :
		      qmp_exec(&q, "stop", NULL, 0) ? -1 : 1;
out:
	close(q.fd);
	return ret;
}

bool qmp_guard_by_exec;

/* Armed, it sends "cont" once criu-lite's end of the pipe is gone
 * without a word; 'a' arms it, 'x' dismisses it. */
static void guard_main(int fd, const char *path, bool armed)
{
	char c;
	ssize_t n;

	setsid();
	prctl(PR_SET_NAME, "criu-lite-qmpg");
	for (;;) {
		n = read(fd, &c, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {	/* not a pipe of criu-lite's: no guard */
			pr_perror("QMP guard: read its pipe");
			_exit(1);
		}
		if (n == 1 && c == 'a') {
			armed = true;
			continue;
		}
		if (n == 1)
			_exit(0);	/* dismissed */
		break;
	}
	if (!armed)
		_exit(0);	/* the VM was never stopped by us */
	/* criu-lite is gone and left the VM stopped */
	if (qmp_command(path, "cont", NULL, 0, 10000) == 0)
		pr_err("criu-lite died during the dump: the VM was continued "
		       "(QMP %s)", path);
	_exit(0);
}

int qmp_guard_main(int argc, char **argv)
{
	char *end;
	long fd;

	if (argc != 4 || (fd = strtol(argv[1], &end, 10)) < 3 || *end ||
	    (strcmp(argv[3], "armed") && strcmp(argv[3], "idle"))) {
		pr_err("%s is criu-lite's own: not a command", QMP_GUARD_CMD);
		return 1;
	}
	guard_main(fd, argv[2], !strcmp(argv[3], "armed"));
	return 1;
}

/* The guard as a fresh exec of criu-lite, its end of the pipe at rfd
 * (inherited: not close-on-exec); 0, or -1 (then forked). */
static int spawn_guard(struct qmp_guard *g, int rfd, const char *path,
		       bool armed)
{
	char fdstr[16], *argv[] = { "criu-lite", QMP_GUARD_CMD, fdstr,
				    (char *)path, armed ? "armed" : "idle",
				    NULL };
	posix_spawnattr_t attr;
	sigset_t none;
	int err;

	snprintf(fdstr, sizeof(fdstr), "%d", rfd);
	sigemptyset(&none);
	if (posix_spawnattr_init(&attr))
		return -1;
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID |
				 POSIX_SPAWN_SETSIGMASK);
	posix_spawnattr_setsigmask(&attr, &none);
	err = posix_spawn(&g->pid, "/proc/self/exe", NULL, &attr, argv,
			  environ);
	posix_spawnattr_destroy(&attr);
	if (err) {
		errno = err;
		pr_debug("QMP guard: exec of /proc/self/exe: %m; forked");
		g->pid = -1;
		return -1;
	}
	return 0;
}

/* The exec'd guard, armed or idle; 0, or -1 (nothing made). */
static int exec_guard(struct qmp_guard *g, const char *path, bool armed)
{
	int p[2], rfd;

	if (!qmp_guard_by_exec || pipe2(p, O_CLOEXEC))
		return -1;
	/* above 2: the guard's stdio stays */
	rfd = fcntl(p[0], F_DUPFD, 3);
	close(p[0]);
	if (rfd >= 0 && !spawn_guard(g, rfd, path, armed)) {
		close(rfd);
		g->fd = p[1];
		return 0;
	}
	if (rfd >= 0)
		close(rfd);
	close(p[1]);
	return -1;
}

int qmp_guard_prepare(struct qmp_guard *g, const char *path)
{
	g->pid = -1;
	g->fd = -1;
	return exec_guard(g, path, false);
}

int qmp_guard_start(struct qmp_guard *g, const char *path)
{
	int p[2];

	if (g->fd >= 0) {	/* prepared: armed by a word */
		if (write(g->fd, "a", 1) == 1)
			return 0;
		pr_warn("the idle QMP guard is gone (%m): a new one");
		close(g->fd);
		if (g->pid > 0)
			waitpid(g->pid, NULL, 0);
	}
	g->pid = -1;
	g->fd = -1;
	if (!exec_guard(g, path, true))
		return 0;
	if (pipe2(p, O_CLOEXEC)) {
		pr_perror("pipe for the QMP guard");
		return -1;
	}
	g->pid = fork();
	if (g->pid < 0) {
		pr_perror("fork the QMP guard");
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (g->pid == 0) {
		close(p[1]);
		guard_main(p[0], path, true);
	}
	close(p[0]);
	g->fd = p[1];
	return 0;
}

void qmp_guard_dismiss(struct qmp_guard *g)
{
	if (g->fd < 0)
		return;
	if (write(g->fd, "x", 1) != 1)
		pr_perror("dismiss the QMP guard");
	close(g->fd);
	g->fd = -1;
	waitpid(g->pid, NULL, 0);
	g->pid = -1;
}
