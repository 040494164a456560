/*
 * qmp-client: one QMP exchange with a running QEMU, for scripts and tests
 * (no python needed).
 *
 *   qmp-client [options] SOCKET COMMAND [JSON-ARGS]
 *   qmp-client [options] SOCKET --wait-event NAME [COMMAND [JSON-ARGS]]
 *
 * Connects to the unix socket (retrying until it accepts: QEMU may still be
 * starting), reads the greeting, negotiates capabilities, runs COMMAND and
 * prints its "return" value as JSON on one line. An "error" reply is printed
 * on stderr and exits 1; a timeout exits 2; a connection failure exits 3.
 *
 * Options:
 *   -t, --timeout SEC        give up after SEC seconds (default 30)
 *   -u, --until-status LIST  repeat COMMAND until return.status is one of the
 *                            comma-separated LIST (for query-migrate,
 *                            query-status), then print the last return
 *   -i, --interval MS        pause between repeats (default 20)
 *   -e, --wait-event NAME    after COMMAND (if any), wait for event NAME in
 *                            the same session (no race) and print it
 *   -g, --get PATH           print only the value at dotted PATH of the
 *                            return (or event), one line per -g; strings
 *                            unquoted, "-" when absent; may be repeated
 *
 * QEMU sends one JSON object per line, so parsing is line based and needs
 * only enough JSON to find a key's value span.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define MAX_GET 32

enum exit_code { EXIT_OK, EXIT_QMP_ERROR, EXIT_TIMEOUT, EXIT_CONNECT };

struct opts {
	double timeout_s;
	const char *until;
	int interval_ms;
	const char *event;
	const char *get[MAX_GET];
	int nget;
	const char *socket;
	const char *command;
	const char *args;
};

struct conn {
	int fd;
	char *buf;
	size_t len, cap;
	uint64_t deadline_ms;
	bool event_seen;
	char *event_line;
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- just enough JSON ---- */

static const char *skip_ws(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
		p++;
	return p;
}

static const char *skip_string(const char *p)
{
	for (p++; *p && *p != '"'; p++)
		if (*p == '\\' && p[1])
			p++;
	return *p == '"' ? p + 1 : NULL;
}

/* Returns the end of the JSON value starting at p, or NULL if malformed. */
static const char *skip_value(const char *p)
{
	int depth = 0;

	p = skip_ws(p);
	if (*p == '"')
		return skip_string(p);
	if (*p != '{' && *p != '[') {
		while (*p && !strchr(",}] \t\r\n", *p))
			p++;
		return p;
	}
	for (; *p; p++) {
		if (*p == '"') {
			p = skip_string(p);
			if (!p)
				return NULL;
			p--;
		} else if (*p == '{' || *p == '[') {
			depth++;
		} else if (*p == '}' || *p == ']') {
			if (--depth == 0)
				return p + 1;
		}
	}
	return NULL;
}

/* Finds key in the object at obj; sets the value's span. */
static bool obj_get(const char *obj, const char *key, size_t klen,
		    const char **val, size_t *vlen)
{
	const char *p = skip_ws(obj), *k, *end;

	if (*p != '{')
		return false;
	p = skip_ws(p + 1);
	while (*p == '"') {
		size_t found_len;

		k = p + 1;
		end = skip_string(p);
		if (!end)
			return false;
		found_len = end - k - 1;
		p = skip_ws(end);
		if (*p != ':')
			return false;
		p = skip_ws(p + 1);
		end = skip_value(p);
		if (!end)
			return false;
		if (found_len == klen && !strncmp(k, key, klen)) {
			*val = p;
			*vlen = end - p;
			return true;
		}
		p = skip_ws(end);
		if (*p != ',')
			break;
		p = skip_ws(p + 1);
	}
	return false;
}

/* Dotted path lookup: "ram.transferred". */
static bool path_get(const char *obj, const char *path, const char **val,
		     size_t *vlen)
{
	const char *cur = obj;
	size_t curlen = strlen(obj);

	while (*path) {
		const char *dot = strchr(path, '.');
		size_t klen = dot ? (size_t)(dot - path) : strlen(path);

		if (!obj_get(cur, path, klen, &cur, &curlen))
			return false;
		path += klen + (dot ? 1 : 0);
	}
	*val = cur;
	*vlen = curlen;
	return true;
}

static char *dup_span(const char *p, size_t n)
{
	char *s = malloc(n + 1);

	if (!s) {
		perror("qmp-client: malloc");
		exit(EXIT_QMP_ERROR);
	}
	memcpy(s, p, n);
	s[n] = 0;
	return s;
}

/* ---- connection ---- */

static int connect_retry(const char *path, uint64_t deadline_ms)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "qmp-client: socket path too long: %s\n", path);
		return -1;
	}
	strcpy(sa.sun_path, path);
	for (;;) {
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (fd < 0)
			return -1;
		if (!connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
			return fd;
		close(fd);
		if ((errno != ENOENT && errno != ECONNREFUSED) ||
		    now_ms() >= deadline_ms) {
			fprintf(stderr, "qmp-client: connect %s: %s\n", path,
				strerror(errno));
			return -1;
		}
		usleep(10000);
	}
}

/*
 * Returns the next line (without newline, owned by the caller) or NULL on
 * EOF/timeout; *timed_out tells which.
 */
static char *read_line(struct conn *c, bool *timed_out)
{
	*timed_out = false;
	for (;;) {
		char *nl = memchr(c->buf, '\n', c->len);
		struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
		uint64_t now = now_ms();
		ssize_t n;

		if (nl) {
			char *line = dup_span(c->buf, nl - c->buf);

			c->len -= nl + 1 - c->buf;
			memmove(c->buf, nl + 1, c->len);
			return line;
		}
		if (now >= c->deadline_ms ||
		    poll(&pfd, 1, c->deadline_ms - now) == 0) {
			*timed_out = true;
			return NULL;
		}
		if (c->cap - c->len < 4096) {
			c->cap = c->cap * 2 + 65536;
			c->buf = realloc(c->buf, c->cap);
			if (!c->buf) {
				perror("qmp-client: realloc");
				exit(EXIT_QMP_ERROR);
			}
		}
		n = read(c->fd, c->buf + c->len, c->cap - c->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return NULL;
		c->len += n;
	}
}

static int send_all(int fd, const char *s)
{
	for (size_t off = 0, n = strlen(s); off < n;) {
		ssize_t w = send(fd, s + off, n - off, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		off += w;
	}
	return 0;
}

static bool is_event(const char *line, const char *name)
{
	const char *v;
	size_t n;

	if (!obj_get(line, "event", 5, &v, &n))
		return false;
	return name && n == strlen(name) + 2 && !strncmp(v + 1, name, n - 2);
}

/*
 * Sends one command and returns the reply line ("return" or "error"),
 * remembering a wanted event if it passes by meanwhile.
 */
static char *execute(struct conn *c, const char *cmd, const char *args,
		     const char *want_event, int *err)
{
	char *msg;
	bool timed_out;

	if (asprintf(&msg, "{\"execute\": \"%s\"%s%s}\n", cmd,
		     args ? ", \"arguments\": " : "", args ? args : "") < 0 ||
	    send_all(c->fd, msg)) {
		fprintf(stderr, "qmp-client: send %s: %s\n", cmd, strerror(errno));
		*err = EXIT_CONNECT;
		return NULL;
	}
	free(msg);
	for (;;) {
		char *line = read_line(c, &timed_out);
		const char *v;
		size_t n;

		if (!line) {
			fprintf(stderr, "qmp-client: %s: %s\n", cmd,
				timed_out ? "timeout" : "connection closed");
			*err = timed_out ? EXIT_TIMEOUT : EXIT_CONNECT;
			return NULL;
		}
		if (obj_get(line, "return", 6, &v, &n) ||
		    obj_get(line, "error", 5, &v, &n))
			return line;
		if (want_event && !c->event_seen && is_event(line, want_event)) {
			c->event_seen = true;
			c->event_line = line;
			continue;
		}
		free(line);
	}
}

static void print_result(const char *json, const struct opts *o)
{
	if (!o->nget) {
		puts(json);
		return;
	}
	for (int i = 0; i < o->nget; i++) {
		const char *v;
		size_t n;

		if (!path_get(json, o->get[i], &v, &n))
			puts("-");
		else if (*v == '"')
			printf("%.*s\n", (int)n - 2, v + 1);
		else
			printf("%.*s\n", (int)n, v);
	}
}

static bool status_in_list(const char *ret, const char *list)
{
	const char *v, *p = list;
	size_t n;

	if (!obj_get(ret, "status", 6, &v, &n) || *v != '"')
		return false;
	v++;
	n -= 2;
	while (*p) {
		size_t len = strcspn(p, ",");

		if (len == n && !strncmp(p, v, n))
			return true;
		p += len + (p[len] == ',');
	}
	return false;
}

/* Runs the command, repeating it for --until-status; prints the result. */
static int run_command(struct conn *c, const struct opts *o)
{
	int err = EXIT_OK;

	for (;;) {
		char *line = execute(c, o->command, o->args, o->event, &err);
		const char *v;
		size_t n;

		if (!line)
			return err;
		if (obj_get(line, "error", 5, &v, &n)) {
			fprintf(stderr, "qmp-client: %s: %.*s\n", o->command,
				(int)n, v);
			free(line);
			return EXIT_QMP_ERROR;
		}
		obj_get(line, "return", 6, &v, &n);
		if (!o->until || status_in_list(v, o->until)) {
			if (!o->event) {
				char *ret = dup_span(v, n);

				print_result(ret, o);
				free(ret);
			}
			free(line);
			return EXIT_OK;
		}
		free(line);
		if (now_ms() + o->interval_ms >= c->deadline_ms) {
			fprintf(stderr, "qmp-client: %s: status not in {%s} "
				"before timeout\n", o->command, o->until);
			return EXIT_TIMEOUT;
		}
		usleep(o->interval_ms * 1000);
	}
}

static int wait_event(struct conn *c, const struct opts *o)
{
	bool timed_out;

	while (!c->event_seen) {
		char *line = read_line(c, &timed_out);

		if (!line) {
			fprintf(stderr, "qmp-client: event %s: %s\n", o->event,
				timed_out ? "timeout" : "connection closed");
			return timed_out ? EXIT_TIMEOUT : EXIT_CONNECT;
		}
		if (is_event(line, o->event)) {
			c->event_seen = true;
			c->event_line = line;
		} else {
			free(line);
		}
	}
	print_result(c->event_line, o);
	return EXIT_OK;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: qmp-client [-t SEC] [-u STATUS,..] [-i MS] [-g PATH]... "
		"SOCKET COMMAND [JSON-ARGS]\n"
		"       qmp-client [-t SEC] [-g PATH]... SOCKET --wait-event NAME "
		"[COMMAND [JSON-ARGS]]\n");
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option lopts[] = {
		{ "timeout", required_argument, NULL, 't' },
		{ "until-status", required_argument, NULL, 'u' },
		{ "interval", required_argument, NULL, 'i' },
		{ "wait-event", required_argument, NULL, 'e' },
		{ "get", required_argument, NULL, 'g' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	*o = (struct opts){ .timeout_s = 30, .interval_ms = 20 };
	while ((ch = getopt_long(argc, argv, "t:u:i:e:g:h", lopts, NULL)) != -1) {
		switch (ch) {
		case 't': o->timeout_s = atof(optarg); break;
		case 'u': o->until = optarg; break;
		case 'i': o->interval_ms = atoi(optarg); break;
		case 'e': o->event = optarg; break;
		case 'g':
			if (o->nget == MAX_GET)
				return -1;
			o->get[o->nget++] = optarg;
			break;
		case 'h': usage(stdout); exit(0);
		default: return -1;
		}
	}
	if (optind >= argc)
		return -1;
	o->socket = argv[optind++];
	if (optind < argc)
		o->command = argv[optind++];
	if (optind < argc)
		o->args = argv[optind++];
	if (optind < argc || (!o->command && !o->event))
		return -1;
	return 0;
}

int main(int argc, char **argv)
{
	struct conn c = { 0 };
	struct opts o;
	bool timed_out;
	char *line;
	int err;

	if (parse_opts(argc, argv, &o)) {
		usage(stderr);
		return EXIT_QMP_ERROR;
	}
	c.deadline_ms = now_ms() + (uint64_t)(o.timeout_s * 1000);
	c.fd = connect_retry(o.socket, c.deadline_ms);
	if (c.fd < 0)
		return EXIT_CONNECT;
	line = read_line(&c, &timed_out);	/* {"QMP": {...}} greeting */
	if (!line || strncmp(line, "{\"QMP\"", 6)) {
		fprintf(stderr, "qmp-client: no QMP greeting on %s\n", o.socket);
		return timed_out ? EXIT_TIMEOUT : EXIT_CONNECT;
	}
	free(line);
	line = execute(&c, "qmp_capabilities", NULL, NULL, &err);
	if (!line)
		return err;
	free(line);
	if (o.command) {
		err = run_command(&c, &o);
		if (err)
			return err;
	}
	return o.event ? wait_event(&c, &o) : EXIT_OK;
}
