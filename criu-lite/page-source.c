// SPDX-License-Identifier: GPL-2.0
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cr.h"
#include "log.h"
#include "page-source.h"
#include "seize.h"

struct ps_hello {
	uint32_t magic, version;
	uint64_t size;
} __attribute__((packed));

struct ps_req {
	uint64_t off;
	uint32_t len;
} __attribute__((packed));

/* ---- checked pages ---- */

static const char *part_name(const struct page_source *s, uint64_t off);

const uint8_t *page_source_get_checked(struct page_source *s,
				       const PagemapEntry *e, uint32_t first,
				       uint32_t nr, int pid)
{
	const uint8_t *d = s->ops->get(s, e->offset + (uint64_t)first * PAGE_SZ,
				       (uint64_t)nr * PAGE_SZ);
	long bad;

	if (!d)
		return NULL;
	bad = pages_check(e->page_csums, first, d, nr);
	if (bad < 0)
		return d;
	pr_err("%s: page %#lx of process %d does not match its checksum "
	       "(pagemap run at %#lx, page %ld): corrupt page data",
	       s->map ? part_name(s, e->offset) : s->name,
	       (long)(e->vaddr + (first + bad) * PAGE_SZ), pid, (long)e->vaddr,
	       (long)(first + bad));
	return NULL;
}

int pagemap_run_csums_ok(const PagemapEntry *e, int pid)
{
	if (!(e->flags & PE_PRESENT))
		return 0;
	if (e->n_page_csums != e->nr_pages) {
		pr_err("pagemap-%d.img: run at %#lx has %zu page checksums for "
		       "%u pages", pid, (long)e->vaddr, e->n_page_csums,
		       e->nr_pages);
		return -1;
	}
	if (run_csum_of(e->page_csums, e->nr_pages) != e->checksum) {
		pr_err("pagemap-%d.img: run at %#lx: its page checksums do not "
		       "add up to the run's checksum", pid, (long)e->vaddr);
		return -1;
	}
	return 0;
}

/* ---- local ---- */

static const uint8_t *local_get(struct page_source *s, uint64_t off, size_t len)
{
	if (off > s->size || len > s->size - off) {
		pr_err("%s: read of %zu bytes at %#lx past its end (%lu bytes)",
		       s->name, len, (long)off, (unsigned long)s->size);
		return NULL;
	}
	return s->map + off;
}

static void local_close(struct page_source *s)
{
	if (s->map)
		munmap((void *)s->map, s->size);
	s->map = NULL;
	free(s->parts);
	s->parts = NULL;
	s->nr_parts = 0;
}

static const struct page_source_ops local_ops = { local_get, local_close };

/* The name of the file that holds offset off of a local source. */
static const char *part_name(const struct page_source *s, uint64_t off)
{
	for (size_t i = s->nr_parts; i-- > 0;)
		if (off >= s->parts[i].base)
			return s->parts[i].name;
	return s->name;
}

static int map_part(struct page_source *s, const struct page_part *p,
		    bool populate)
{
	int fd = openat(p->dirfd, p->file, O_RDONLY | O_CLOEXEC);
	void *m;

	if (fd < 0) {
		pr_perror("open pages image %s", p->name);
		return -1;
	}
	m = mmap((void *)(s->map + p->base), p->size, PROT_READ, MAP_PRIVATE |
		 MAP_FIXED | (populate ? MAP_POPULATE : 0), fd, 0);
	close(fd);
	if (m == MAP_FAILED) {
		pr_perror("mmap %s", p->name);
		return -1;
	}
	madvise(m, p->size, MADV_SEQUENTIAL | MADV_WILLNEED);
	return 0;
}

int page_source_open_parts(struct page_source *s, const struct page_part *p,
			   size_t n, bool populate)
{
	void *m;

	memset(s, 0, sizeof(*s));
	s->ops = &local_ops;
	s->fd = -1;
	snprintf(s->name, sizeof(s->name), "%.79s", n ? p[0].name : "pages");
	s->parts = calloc(n ? n : 1, sizeof(*p));
	if (!s->parts)
		return -1;
	memcpy(s->parts, p, n * sizeof(*p));
	s->nr_parts = n;
	if (n)
		s->size = p[n - 1].base + p[n - 1].size;
	if (!s->size)
		return 0;
	/* one reservation, the files mapped into it at their bases */
	m = mmap(NULL, s->size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS |
		 MAP_NORESERVE, -1, 0);
	if (m == MAP_FAILED) {
		pr_perror("reserve %lu bytes for the pages images",
			  (unsigned long)s->size);
		return -1;
	}
	s->map = m;
	for (size_t i = 0; i < n; i++) {
		if (p[i].size && map_part(s, &p[i], populate && !i)) {
			local_close(s);
			return -1;
		}
	}
	return 0;
}

int page_source_open_local(struct page_source *s, int dirfd, const char *name,
			   bool populate)
{
	struct page_part p = { .dirfd = dirfd, .file = name };
	struct stat st;

	snprintf(p.name, sizeof(p.name), "%s", name);
	if (fstatat(dirfd, name, &st, 0)) {
		memset(s, 0, sizeof(*s));
		s->fd = -1;
		pr_perror("open pages image %s", name);
		return -1;
	}
	p.size = st.st_size;
	return page_source_open_parts(s, &p, 1, populate);
}

/* ---- remote ---- */

static int read_full(int fd, void *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(fd, (char *)buf + got, len - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		got += n;
	}
	return 0;
}

static const uint8_t *remote_get(struct page_source *s, uint64_t off, size_t len)
{
	struct ps_req req = { off, len };

	if (len > PS_MAX_REQ || off > s->size || len > s->size - off) {
		pr_err("%s: bad request of %zu bytes at %#lx", s->name,
		       len, (long)off);
		return NULL;
	}
	if (write_all(s->fd, &req, sizeof(req)) || read_full(s->fd, s->buf, len)) {
		pr_perror("%s: fetch %zu bytes at %#lx", s->name,
			  len, (long)off);
		return NULL;
	}
	s->bytes_fetched += len;
	return s->buf;
}

static void remote_close(struct page_source *s)
{
	if (s->fd >= 0)
		close(s->fd);
	free(s->buf);
	s->fd = -1;
	s->buf = NULL;
}

static const struct page_source_ops remote_ops = { remote_get, remote_close };

static int split_addr(const char *addr, char *host, size_t hlen, char **port)
{
	const char *colon = strrchr(addr, ':');

	if (!colon || colon == addr || !colon[1] ||
	    (size_t)(colon - addr) >= hlen) {
		pr_err("page server address \"%s\": expected HOST:PORT", addr);
		return -1;
	}
	memcpy(host, addr, colon - addr);
	host[colon - addr] = 0;
	*port = (char *)colon + 1;
	return 0;
}

int page_source_open_remote(struct page_source *s, const char *addr)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai, *a;
	struct ps_hello hello;
	char host[256], *port;
	int one = 1, err;

	memset(s, 0, sizeof(*s));
	s->ops = &remote_ops;
	snprintf(s->name, sizeof(s->name), "page server %s", addr);
	s->fd = -1;
	if (split_addr(addr, host, sizeof(host), &port))
		return -1;
	err = getaddrinfo(host, port, &hints, &ai);
	if (err) {
		pr_err("page server %s: %s", addr, gai_strerror(err));
		return -1;
	}
	for (a = ai; a; a = a->ai_next) {
		s->fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC,
			       a->ai_protocol);
		if (s->fd >= 0 && !connect(s->fd, a->ai_addr, a->ai_addrlen))
			break;
		if (s->fd >= 0)
			close(s->fd);
		s->fd = -1;
	}
	freeaddrinfo(ai);
	if (s->fd < 0) {
		pr_perror("page server %s: connect", addr);
		return -1;
	}
	setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (read_full(s->fd, &hello, sizeof(hello)) || hello.magic != PS_MAGIC ||
	    hello.version != PS_VERSION) {
		pr_err("page server %s: not a criu-lite page server (bad greeting)",
		       addr);
		remote_close(s);
		return -1;
	}
	s->size = hello.size;
	s->buf = malloc(PS_MAX_REQ);
	if (!s->buf) {
		remote_close(s);
		return -1;
	}
	return 0;
}

/* ---- the server ---- */

static int serve_client(int c, int pfd, uint64_t size, const char *dir)
{
	struct ps_hello hello = { PS_MAGIC, PS_VERSION, size };
	uint8_t *buf = malloc(PS_MAX_REQ);
	uint64_t served = 0, reqs = 0, t0 = now_ns();
	struct ps_req req;
	int ret = -1;

	if (!buf || write_all(c, &hello, sizeof(hello)))
		goto out;
	while (read_full(c, &req, sizeof(req)) == 0) {
		if (req.len > PS_MAX_REQ || req.off > size ||
		    req.len > size - req.off) {
			pr_err("page-server: bad request of %u bytes at %#lx",
			       req.len, (long)req.off);
			goto out;
		}
		if (pread(pfd, buf, req.len, req.off) != (ssize_t)req.len) {
			pr_perror("page-server: read %s pages", dir);
			goto out;
		}
		if (write_all(c, buf, req.len)) {
			pr_perror("page-server: send");
			goto out;
		}
		served += req.len;
		reqs++;
	}
	ret = 0;
	pr_info("page-server: served %.1f MiB in %lu requests, %.1f ms",
		served / 1048576.0, (unsigned long)reqs, (now_ns() - t0) / 1e6);
out:
	free(buf);
	return ret;
}

int serve_pages(const char *dir, const char *addr, unsigned port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	char path[PATH_MAX];
	struct stat st;
	int one = 1, l, c, pfd, ret;

	snprintf(path, sizeof(path), "%s/pages-1.img", dir);
	pfd = open(path, O_RDONLY | O_CLOEXEC);
	if (pfd < 0 || fstat(pfd, &st)) {
		pr_perror("page-server: open %s", path);
		return -1;
	}
	if (inet_pton(AF_INET, addr ? addr : "0.0.0.0", &sa.sin_addr) != 1) {
		pr_err("page-server: bad address %s (IPv4 expected)", addr);
		close(pfd);
		return -1;
	}
	l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (l < 0 || bind(l, (struct sockaddr *)&sa, sizeof(sa)) || listen(l, 1)) {
		pr_perror("page-server: listen on %s:%u", addr ? addr : "*", port);
		close(pfd);
		return -1;
	}
	pr_info("page-server: serving %s (%.1f MiB) on %s:%u", path,
		st.st_size / 1048576.0, addr ? addr : "*", port);
	c = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	close(l);
	if (c < 0) {
		pr_perror("page-server: accept");
		close(pfd);
		return -1;
	}
	setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	ret = serve_client(c, pfd, st.st_size, dir);
	close(c);
	close(pfd);
	return ret;
}
