// SPDX-License-Identifier: GPL-2.0
/* A frozen tree's memory served to lazy-pages daemons (lazy-source.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <unistd.h>

#include "cr.h"
#include "lazy-source.h"
#include "log.h"
#include "net.h"
#include "pagemap.h"
#include "seize.h"
#include "xfer-proto.h"

#define MAX_CLIENTS	64

int lazy_source_listen(struct lazy_source *ls, const char *addr, unsigned port,
		       const struct tls_opts *tls)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char host[INET6_ADDRSTRLEN] = "?";
	unsigned p = 0;

	memset(ls, 0, sizeof(*ls));
	ls->end = PS_LAZY_BASE;
	ls->watch_fd = -1;
	ls->tls = tls;
	ls->listen_fd = net_listen(addr, port, "dump --lazy-pages");
	if (ls->listen_fd < 0)
		return -1;
	if (!getsockname(ls->listen_fd, (struct sockaddr *)&ss, &sl)) {
		if (ss.ss_family == AF_INET6) {
			struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

			inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
			p = ntohs(a->sin6_port);
		} else {
			struct sockaddr_in *a = (struct sockaddr_in *)&ss;

			inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
			p = ntohs(a->sin_port);
		}
	}
	snprintf(ls->addr, sizeof(ls->addr), strchr(host, ':') ? "[%s]:%u" :
		 "%s:%u", addr ? addr : host, p);
	return 0;
}

int lazy_source_add(struct lazy_source *ls, pid_t pid, pid_t vpid,
		    uint64_t vaddr, uint64_t len, uint64_t *off)
{
	if (ls->nr == ls->cap) {
		size_t cap = ls->cap ? ls->cap * 2 : 64;
		struct lazy_span *v = realloc(ls->spans, cap * sizeof(*v));

		if (!v)
			return -1;
		ls->spans = v;
		ls->cap = cap;
	}
	ls->spans[ls->nr++] = (struct lazy_span){ pid, vpid, vaddr, ls->end, len };
	*off = ls->end;
	ls->end += len;
	return 0;
}

static const struct lazy_span *span_at(const struct lazy_source *ls,
				       uint64_t off)
{
	size_t lo = 0, hi = ls->nr;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		const struct lazy_span *s = &ls->spans[mid];

		if (off < s->off)
			hi = mid;
		else if (off >= s->off + s->len)
			lo = mid + 1;
		else
			return s;
	}
	return NULL;
}

/* The frozen memory behind [off, off+len), which may cross spans. */
static const uint8_t *memory_get(struct lazy_source *ls, uint64_t off,
				 size_t len)
{
	size_t done = 0;

	while (done < len) {
		const struct lazy_span *s = span_at(ls, off + done);
		uint64_t in = off + done - (s ? s->off : 0);
		size_t n;
		struct iovec l, r;

		if (!s) {
			pr_err("lazy pages: offset %#lx is in no run",
			       (long)(off + done));
			return NULL;
		}
		n = s->len - in < len - done ? s->len - in : len - done;
		ls->lazy_bytes += n;
		l = (struct iovec){ ls->buf + done, n };
		r = (struct iovec){ (void *)(s->vaddr + in), n };
		if (process_vm_readv(s->pid, &l, 1, &r, 1, 0) != (ssize_t)n) {
			pr_perror("lazy pages: read %zu bytes at %#lx of %d", n,
				  (long)(s->vaddr + in), s->pid);
			return NULL;
		}
		done += n;
	}
	return ls->buf;
}

static const uint8_t *served_get(struct page_source *src, uint64_t off,
				 size_t len)
{
	struct lazy_source *ls = (struct lazy_source *)
		((char *)src - offsetof(struct lazy_source, src));

	if (off >= PS_LAZY_BASE)
		return memory_get(ls, off, len);
	if (!ls->have_stored) {
		pr_err("lazy pages: offset %#lx: no pages were stored", (long)off);
		return NULL;
	}
	return ls->stored.ops->get(&ls->stored, off, len);
}

static void served_close(struct page_source *src)
{
	(void)src;
}

static const struct page_source_ops served_ops = { served_get, served_close };

struct vpid_state {
	pid_t *v;
	bool *done;
	size_t n, left;
};

static int collect_vpids(const struct lazy_source *ls, struct vpid_state *vs)
{
	vs->v = calloc(ls->nr + 1, sizeof(*vs->v));
	vs->done = calloc(ls->nr + 1, sizeof(*vs->done));
	if (!vs->v || !vs->done)
		return -1;
	for (size_t i = 0; i < ls->nr; i++) {
		size_t k;

		for (k = 0; k < vs->n && vs->v[k] != ls->spans[i].vpid; k++)
			;
		if (k == vs->n)
			vs->v[vs->n++] = ls->spans[i].vpid;
	}
	vs->left = vs->n;
	return 0;
}

static void mark_done(struct vpid_state *vs, pid_t vpid)
{
	for (size_t k = 0; k < vs->n; k++) {
		if (vs->v[k] == vpid && !vs->done[k]) {
			vs->done[k] = true;
			vs->left--;
			pr_info("lazy pages: the destination has every page of %d "
				"(%zu process%s to go)", vpid, vs->left,
				vs->left == 1 ? "" : "es");
		}
	}
}

/* A new client: (TLS,) its hello, then our greeting. NULL: not one of
 * ours, or refused (logged). */
static struct conn *take_client(struct lazy_source *ls)
{
	struct xp_hello h;
	int fd = accept4(ls->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	struct conn *c;

	if (fd < 0)
		return NULL;
	c = conn_server(fd, ls->tls, 5, "lazy pages");
	if (!c)
		return NULL;
	conn_set_timeout(c, 5);
	if (conn_read(c, &h, sizeof(h)) || h.magic != XP_MAGIC ||
	    h.version != XP_VERSION || h.mode != XP_PULL ||
	    serve_greet(c, ls->end)) {
		pr_warn("lazy pages: a connection from %s that is not a "
			"lazy-pages daemon of this version: refused",
			conn_peer(c));
		conn_close(c);
		return NULL;
	}
	ls->conns++;
	return c;
}

static void drop_client(struct conn **cl, size_t *n, size_t i)
{
	conn_close(cl[i]);
	cl[i] = cl[--*n];
}

/*
 * Once a second while serving, like QEMU's "info migrate" in postcopy:
 * what the destination pulled on fault, what was pushed to it in the
 * background, what of the frozen memory it has not asked for yet (pages
 * asked for again after a reconnect make this a lower bound), and how
 * many requests came.
 */
static void report_progress(const struct lazy_source *ls,
			    const struct vpid_state *vs, uint64_t t0)
{
	const struct serve_tally *t = &ls->served;
	uint64_t total = ls->end - PS_LAZY_BASE;
	uint64_t left = ls->lazy_bytes < total ? total - ls->lazy_bytes : 0;

	pr_info("postcopy: %.1f s: pulled %.1f MiB on %lu "
		"faults, pushed %.1f MiB in %lu requests, %.1f of %.1f MiB "
		"left, %zu process%s to go", (now_ns() - t0) / 1e9,
		t->fault_bytes / 1048576.0, (unsigned long)t->fault_requests,
		(t->bytes - t->fault_bytes) / 1048576.0,
		(unsigned long)(t->requests - t->fault_requests),
		left / 1048576.0, total / 1048576.0, vs->left,
		vs->left == 1 ? "" : "es");
}

static int serve_loop(struct lazy_source *ls, struct vpid_state *vs,
		      unsigned timeout_s)
{
	struct conn *cl[MAX_CLIENTS];
	size_t n = 0;
	uint64_t t0 = now_ns(), last = t0, report = t0 + 1000000000ull;
	uint64_t limit = (uint64_t)timeout_s * 1000000000ull;
	int ret = -1, sig;

	/* with a watch (migrate), until its word too: the destination
	 * connects before it restores, even with nothing lazy to ask */
	while (vs->left || ls->watch_fd >= 0) {
		struct pollfd pfd[MAX_CLIENTS + 2];
		size_t w = n + 1, polled;

		/* a second after the last line, whatever held the loop (a
		 * slow client, a stop): no burst to catch up */
		if (now_ns() >= report) {
			report_progress(ls, vs, t0);
			report = now_ns() + 1000000000ull;
		}
		if (ls->stop && (sig = ls->stop(ls->stop_arg))) {
			if (!ls->first_request_ns) {
				pr_err("lazy pages: signal %d before the "
				       "destination asked for any page: serving "
				       "ends", sig);
				goto out;
			}
			pr_warn("lazy pages: signal %d ignored: the destination "
				"runs the tree on this memory; serving on until "
				"every page is in (or %u s without a request)",
				sig, timeout_s);
		}
		if (now_ns() - last > limit) {
			pr_err("lazy pages: no request from the destination for "
			       "%u s with %zu process%s not complete", timeout_s,
			       vs->left, vs->left == 1 ? "" : "es");
			goto out;
		}
		pfd[0] = (struct pollfd){ ls->listen_fd, POLLIN, 0 };
		for (size_t i = 0; i < n; i++)
			pfd[i + 1] = (struct pollfd){ conn_fd(cl[i]), POLLIN, 0 };
		pfd[w] = (struct pollfd){ ls->watch_fd, POLLIN, 0 };
		if (poll(pfd, n + 1 + (ls->watch_fd >= 0), 200) < 0 &&
		    errno != EINTR) {
			pr_perror("lazy pages: poll");
			goto out;
		}
		if (ls->watch_fd >= 0 && pfd[w].revents) {
			ret = ls->watch(ls, ls->watch_arg);
			if (ret)
				goto out;
			ret = -1;
		}
		polled = n;
		if ((pfd[0].revents & POLLIN) && n < MAX_CLIENTS) {
			struct conn *c = take_client(ls);

			if (c) {
				cl[n++] = c;
				last = now_ns();
			}
		}
		for (size_t i = polled; i-- > 0;) {
			int vpid = 0, r;

			if (!(pfd[i + 1].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			r = serve_request(cl[i], &ls->src, "lazy pages", &vpid,
					  &ls->served);
			if (r <= 0) {
				drop_client(cl, &n, i);
				continue;
			}
			last = now_ns();
			if (!ls->first_request_ns)
				ls->first_request_ns = last;
			if (r == 1)
				mark_done(vs, vpid);
		}
	}
	ls->all_done_ns = now_ns();
	ret = 0;
out:
	while (n)
		drop_client(cl, &n, n - 1);
	return ret;
}

int lazy_source_serve(struct lazy_source *ls, int stored_dirfd,
		      unsigned timeout_s)
{
	struct vpid_state vs = { 0 };
	int ret = -1;

	ls->buf = malloc(PS_MAX_REQ);
	if (!ls->buf || collect_vpids(ls, &vs))
		goto out;
	if (stored_dirfd >= 0 && faccessat(stored_dirfd, "pages-1.img", F_OK, 0) == 0) {
		if (page_source_open_local(&ls->stored, stored_dirfd, 1, 0, false))
			goto out;
		ls->have_stored = true;
	}
	ls->src = (struct page_source){ .ops = &served_ops, .size = ls->end };
	pr_info("lazy pages: serving %.1f MiB of %zu process%s on %s", (ls->end -
		PS_LAZY_BASE) / 1048576.0, vs.n, vs.n == 1 ? "" : "es", ls->addr);
	ret = serve_loop(ls, &vs, timeout_s);
	if (!ret)
		pr_info("lazy pages: all in at the destination: %lu requests, "
			"%.1f MiB served (%lu faults, %.1f MiB)",
			(unsigned long)ls->served.requests,
			ls->served.bytes / 1048576.0,
			(unsigned long)ls->served.fault_requests,
			ls->served.fault_bytes / 1048576.0);
out:
	free(vs.v);
	free(vs.done);
	return ret;
}

void lazy_source_free(struct lazy_source *ls)
{
	if (ls->listen_fd > 0)
		close(ls->listen_fd);
	ls->listen_fd = -1;
	if (ls->have_stored)
		ls->stored.ops->close(&ls->stored);
	ls->have_stored = false;
	free(ls->spans);
	free(ls->buf);
	ls->spans = NULL;
	ls->buf = NULL;
}
