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
#include "net.h"
#include "page-source.h"
#include "xfer-proto.h"
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
	       "(pagemap run at %#lx, page %ld): corrupt page data", s->name,
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
}

static const struct page_source_ops local_ops = { local_get, local_close };

int page_source_open_local(struct page_source *s, int dirfd, const char *name,
			   bool populate)
{
	struct stat st;
	int fd;

	memset(s, 0, sizeof(*s));
	s->ops = &local_ops;
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->fd = -1;
	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st)) {
		pr_perror("open pages image %s", name);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	s->size = st.st_size;
	if (s->size) {
		void *m = mmap(NULL, s->size, PROT_READ, MAP_PRIVATE |
			       (populate ? MAP_POPULATE : 0), fd, 0);

		if (m == MAP_FAILED) {
			pr_perror("mmap %s", name);
			close(fd);
			return -1;
		}
		s->map = m;
		madvise(m, s->size, MADV_SEQUENTIAL | MADV_WILLNEED);
	}
	close(fd);
	return 0;
}

/* ---- remote ---- */

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

int page_source_open_remote(struct page_source *s, const char *addr)
{
	struct xp_hello me = { XP_MAGIC, XP_VERSION, XP_PULL };
	struct ps_hello hello;
	char host[256];
	unsigned port;

	memset(s, 0, sizeof(*s));
	s->ops = &remote_ops;
	snprintf(s->name, sizeof(s->name), "page server %s", addr);
	s->fd = -1;
	if (net_split(addr, host, sizeof(host), &port))
		return -1;
	s->fd = net_connect(host, port, "page server");
	if (s->fd < 0)
		return -1;
	if (write_all(s->fd, &me, sizeof(me)) ||
	    read_full(s->fd, &hello, sizeof(hello)) || hello.magic != PS_MAGIC ||
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

int serve_pull(int c, const char *dir)
{
	char path[PATH_MAX];
	struct stat st;
	int pfd, ret;

	snprintf(path, sizeof(path), "%s/pages-1.img", dir);
	pfd = open(path, O_RDONLY | O_CLOEXEC);
	if (pfd < 0 || fstat(pfd, &st)) {
		pr_perror("page-server: open %s", path);
		if (pfd >= 0)
			close(pfd);
		return -1;
	}
	pr_info("page-server: serving %s (%.1f MiB)", path,
		st.st_size / 1048576.0);
	ret = serve_client(c, pfd, st.st_size, dir);
	close(pfd);
	return ret;
}
