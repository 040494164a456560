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
#include <sys/uio.h>
#include <unistd.h>

#include "cr.h"
#include "csum.h"
#include "image.h"
#include "log.h"
#include "net.h"
#include "page-frames.h"
#include "page-source.h"
#include "xfer-proto.h"
#include "seize.h"

#include "inventory.pb-c.h"

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

bool page_source_check_first(const struct page_source *s)
{
	return !s->remote && !s->checked;
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

/* Where the pages images are mapped (a hint): above the held memory of
 * migrate --incoming (prefill.c, 16 TiB + 64 GiB), below PIE binaries
 * (~85 TiB) and the mmap area (~127 TiB). */
#define PAGES_MAP_HINT	(1ULL << 45)

static int map_part(struct page_source *s, const struct page_part *p,
		    bool populate, bool readahead)
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
	if (readahead)
		madvise(m, p->size, MADV_WILLNEED);
	return 0;
}

int page_source_open_parts(struct page_source *s, const struct page_part *p,
			   size_t n, bool populate, bool readahead)
{
	void *m;

	memset(s, 0, sizeof(*s));
	s->ops = &local_ops;
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
	/* one reservation, the files mapped into it at their bases; away
	 * from the mmap area, where the tree being restored has its own
	 * large VMAs (a held VMA is moved to its address in criu-lite: a
	 * 3.6 GiB pages file there took a 2 GiB guest's RAM address, which
	 * then went the lazy way) */
	m = mmap((void *)PAGES_MAP_HINT, s->size, PROT_NONE, MAP_PRIVATE |
		 MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (m == MAP_FAILED) {
		pr_perror("reserve %lu bytes for the pages images",
			  (unsigned long)s->size);
		return -1;
	}
	s->map = m;
	for (size_t i = 0; i < n; i++) {
		if (p[i].size && map_part(s, &p[i], populate && !i, readahead)) {
			local_close(s);
			return -1;
		}
	}
	return 0;
}

static int map_pages(int fd, uint64_t size, bool whole, const uint8_t **map,
		     const char *name)
{
	void *m;

	*map = NULL;
	if (!size)
		return 0;
	m = mmap(NULL, size, PROT_READ, MAP_PRIVATE | (whole ? MAP_POPULATE : 0),
		 fd, 0);
	if (m == MAP_FAILED) {
		pr_perror("mmap %s", name);
		return -1;
	}
	/* read ahead, lazy restore too: the daemon then finds it cached */
	madvise(m, size, MADV_WILLNEED);
	*map = m;
	return 0;
}

/* ---- local, compressed (dump --compress) ---- */

struct frame_reader {
	const uint8_t *file;	/* pages-<id>.img, mapped */
	uint64_t file_size;
	struct page_frame *f;
	size_t n;
	uint8_t *checked;	/* per frame: its checksum was checked */
	struct frame_codec *fc;
	/* The last two frames decompressed: the lazy-pages daemon asks a few
	 * pages at a time, and a request that ends inside a frame is mostly
	 * followed by one that starts there. */
	uint8_t *cache[2];
	size_t cached[2];	/* their frames, or SIZE_MAX */
	unsigned last;		/* the slot used last */
	uint8_t *out;		/* requests across frames are put together here */
	char index[40];		/* pages-index-<id>.img */
};

static int check_frame(struct page_source *s, size_t i)
{
	struct frame_reader *r = s->frames;
	const struct page_frame *f = &r->f[i];

	if (r->checked[i])
		return 0;
	if (!frame_crc_ok(f, r->file + f->file_off)) {
		pr_err("%s: frame %zu (%u bytes at %#lx) does not match its "
		       "checksum in %s: corrupt image", s->name, i, f->file_len,
		       (long)f->file_off, r->index);
		return -1;
	}
	r->checked[i] = 1;
	return 0;
}

static bool frame_cached(const struct frame_reader *r, size_t i, unsigned *slot)
{
	for (unsigned k = 0; k < 2; k++) {
		if (r->cached[k] == i) {
			*slot = k;
			return true;
		}
	}
	return false;
}

/* Frame i's bytes, checked: where they are stored when kept as they are
 * (and 8-byte aligned, as page checksums read them), else decompressed
 * (or copied) into a cache slot. NULL: logged. */
static const uint8_t *frame_data(struct page_source *s, size_t i)
{
	struct frame_reader *r = s->frames;
	const struct page_frame *f = &r->f[i];
	const uint8_t *stored = r->file + f->file_off;
	unsigned slot;

	if (check_frame(s, i))
		return NULL;
	if (f->codec == PAGES_CODEC_NONE && !((uintptr_t)stored % 8))
		return stored;
	if (!frame_cached(r, i, &slot)) {
		slot = !r->last;
		r->cached[slot] = SIZE_MAX;
		if (frame_decompress(r->fc, f, i, stored, r->cache[slot],
				     s->name))
			return NULL;
		r->cached[slot] = i;
	}
	r->last = slot;
	return r->cache[slot];
}

/* A whole frame into dst: straight there, unless it is cached already. */
static int frame_into(struct page_source *s, size_t i, uint8_t *dst)
{
	struct frame_reader *r = s->frames;
	const struct page_frame *f = &r->f[i];
	unsigned slot;

	if (frame_cached(r, i, &slot)) {
		memcpy(dst, r->cache[slot], f->len);
		return 0;
	}
	if (check_frame(s, i))
		return -1;
	return frame_decompress(r->fc, f, i, r->file + f->file_off, dst,
				s->name);
}

static const uint8_t *frames_get(struct page_source *s, uint64_t off,
				 size_t len)
{
	struct frame_reader *r = s->frames;
	const struct page_frame *f;
	size_t i, done = 0;
	const uint8_t *d;

	if (len > PS_MAX_REQ || off > s->size || len > s->size - off) {
		pr_err("%s: read of %zu bytes at %#lx: past its end (%lu bytes "
		       "uncompressed) or too long", s->name, len, (long)off,
		       (unsigned long)s->size);
		return NULL;
	}
	if (!len)
		return r->out;
	i = frame_at(r->f, r->n, off);
	f = &r->f[i];
	if (off + len <= f->off + f->len) {
		d = frame_data(s, i);
		return d ? d + (off - f->off) : NULL;
	}
	for (; done < len; i++) {
		uint64_t from = off + done - r->f[i].off;
		size_t n = r->f[i].len - from;

		if (n > len - done)
			n = len - done;
		if (!from && n == r->f[i].len) {
			if (frame_into(s, i, r->out + done))
				return NULL;
		} else {
			d = frame_data(s, i);
			if (!d)
				return NULL;
			memcpy(r->out + done, d + from, n);
		}
		done += n;
	}
	return r->out;
}

static void frames_close(struct page_source *s)
{
	struct frame_reader *r = s->frames;

	if (!r)
		return;
	if (r->file)
		munmap((void *)r->file, r->file_size);
	free(r->f);
	free(r->checked);
	frame_codec_free(r->fc);
	free(r->cache[0]);
	free(r->cache[1]);
	free(r->out);
	free(r);
	s->frames = NULL;
}

static const struct page_source_ops frames_ops = { frames_get, frames_close };

static void inflated_close(struct page_source *s)
{
	local_close(s);
	frames_close(s);
}

/* Decompressed whole: read as a plain image is. */
static const struct page_source_ops inflated_ops = { local_get, inflated_close };

int page_source_inflate(struct page_source *s)
{
	struct frame_reader *r = s->frames;
	uint8_t *m;

	if (!r || s->map || !s->size)
		return 0;
	m = mmap(NULL, s->size, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED) {
		pr_perror("%s: memory to decompress %lu bytes into", s->name,
			  (unsigned long)s->size);
		return -1;
	}
	for (size_t i = 0; i < r->n; i++) {
		if (frame_into(s, i, m + r->f[i].off)) {
			munmap(m, s->size);
			return -1;
		}
	}
	mprotect(m, s->size, PROT_READ);
	s->map = m;
	s->ops = &inflated_ops;
	s->checked = false;	/* its pages are checked as a plain image's */
	return 0;
}

/* Every frame against its checksum, before anything is restored. */
static int check_all_frames(struct page_source *s)
{
	for (size_t i = 0; i < s->frames->n; i++)
		if (check_frame(s, i))
			return -1;
	s->checked = true;
	return 0;
}

static int open_frames(struct page_source *s, int dirfd, unsigned id,
		       unsigned codec, int fd, uint64_t file_size, bool whole)
{
	struct frame_reader *r = calloc(1, sizeof(*r));

	s->frames = r;
	s->ops = &frames_ops;
	if (!r)
		return -1;
	snprintf(r->index, sizeof(r->index), "pages-index-%u.img", id);
	r->cached[0] = r->cached[1] = SIZE_MAX;
	r->file_size = file_size;
	if (frames_read(dirfd, id, &r->f, &r->n) ||
	    frames_check(r->f, r->n, codec, file_size, id, &s->size) ||
	    map_pages(fd, file_size, whole, &r->file, s->name))
		return -1;
	r->checked = calloc(r->n ? r->n : 1, 1);
	r->fc = frame_codec_new(codec);
	r->cache[0] = malloc(FRAME_MAX_LEN);
	r->cache[1] = malloc(FRAME_MAX_LEN);
	r->out = malloc(PS_MAX_REQ);
	if (!r->checked || !r->fc || !r->cache[0] || !r->cache[1] || !r->out) {
		pr_err("%s: out of memory to decompress it", s->name);
		return -1;
	}
	return whole ? check_all_frames(s) : 0;
}

int page_source_open_local(struct page_source *s, int dirfd, unsigned id,
			   unsigned codec, bool whole)
{
	struct stat st;
	int fd, ret;

	memset(s, 0, sizeof(*s));
	s->ops = &local_ops;
	snprintf(s->name, sizeof(s->name), "pages-%u.img", id);
	if (!pages_codec_name(codec)) {
		pr_err("inventory.img: pages compressed with codec %u, which "
		       "this criu-lite does not know (it reads lz4 and zstd)",
		       codec);
		return -1;
	}
	fd = openat(dirfd, s->name, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st)) {
		pr_perror("open pages image %s", s->name);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (codec == PAGES_CODEC_NONE) {
		s->size = st.st_size;
		ret = map_pages(fd, s->size, whole, &s->map, s->name);
	} else {
		ret = open_frames(s, dirfd, id, codec, fd, st.st_size, whole);
		if (ret)
			frames_close(s);
	}
	close(fd);
	return ret;
}

/* ---- remote ---- */

#define REMOTE_IDLE_S	5	/* no answer for this long: the link is gone */

/* Connects to s->addr and takes the greeting. */
static int remote_connect(struct page_source *s, bool quiet)
{
	struct xp_hello me = { XP_MAGIC, XP_VERSION, XP_PULL };
	struct ps_hello hello;
	char host[256];
	unsigned port;
	int lvl = log_get_level(), err;

	if (net_split(s->addr, host, sizeof(host), &port))
		return -1;
	if (quiet)
		log_set_level(LOG_ERROR - 1);
	s->conn = conn_connect(host, port, s->tls, "page server", REMOTE_IDLE_S);
	err = errno;
	if (quiet)
		log_set_level(lvl);
	if (!s->conn) {
		if (!quiet && (err == ECONNREFUSED || err == EHOSTUNREACH ||
			       err == ENETUNREACH || err == ETIMEDOUT))
			pr_err("no page server answers at %s: start the page "
			       "server there first (criu-lite page-server -D "
			       "DIR --port %u, as criu page-server), or the "
			       "dump --lazy-pages --port %u whose pages these "
			       "are", s->addr, port, port);
		return -1;
	}
	err = conn_write(s->conn, &me, sizeof(me)) ||
	      conn_read(s->conn, &hello, sizeof(hello)) ? errno : 0;
	if (err || hello.magic != PS_MAGIC || hello.version != PS_VERSION) {
		if (err == EAGAIN)
			pr_err("page server %s: no greeting for %u s (stopped, "
			       "or not a criu-lite page server?)", s->addr,
			       REMOTE_IDLE_S);
		else
			pr_err("page server %s: not a criu-lite page server of "
			       "this version (bad greeting)", s->addr);
		conn_close(s->conn);
		s->conn = NULL;
		return -1;
	}
	if (s->size && s->size != hello.size) {
		pr_err("page server %s: serves another page stream now (%lu "
		       "bytes, was %lu)", s->addr, (unsigned long)hello.size,
		       (unsigned long)s->size);
		conn_close(s->conn);
		s->conn = NULL;
		return -1;
	}
	s->size = hello.size;
	return 0;
}

/* The connection broke: a new one within s->retry_s seconds, or -1. */
static int remote_retry(struct page_source *s)
{
	uint64_t until = now_ns() + (uint64_t)s->retry_s * 1000000000ull;

	conn_close(s->conn);
	s->conn = NULL;
	if (!s->retry_s)
		return -1;
	pr_warn("%s: connection lost; reconnecting for up to %u s", s->name,
		s->retry_s);
	while (now_ns() < until) {
		if (!remote_connect(s, true)) {
			pr_info("%s: reconnected", s->name);
			return 0;
		}
		usleep(300000);
	}
	pr_err("%s: no connection again within %u s", s->name, s->retry_s);
	return -1;
}

/* One request and its answer, each page checked against the checksum
 * that came with it. 0, -1 (connection: may be retried), -2 (corrupt). */
static int remote_fetch(struct page_source *s, uint64_t off, size_t len)
{
	struct ps_req req = { off, len | (s->fault ? PS_REQ_FAULT : 0) };
	uint32_t *csums = (uint32_t *)(s->buf + PS_MAX_REQ);
	size_t n = len / PAGE_SZ;

	if (conn_write(s->conn, &req, sizeof(req)) ||
	    conn_read(s->conn, s->buf, len) ||
	    conn_read(s->conn, csums, n * sizeof(*csums))) {
		pr_debug("%s: fetch %zu bytes at %#lx: %m", s->name, len,
			 (long)off);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (page_crc(s->buf + i * PAGE_SZ) != csums[i]) {
			pr_err("%s: the page at offset %#lx arrived corrupt (it "
			       "does not match the checksum sent with it)",
			       s->name, (long)(off + i * PAGE_SZ));
			return -2;
		}
	}
	return 0;
}

static const uint8_t *remote_get(struct page_source *s, uint64_t off, size_t len)
{
	int ret;

	if (s->near && off < PS_LAZY_BASE)
		return s->near->ops->get(s->near, off, len);
	if (len > PS_MAX_REQ || off > s->size || len > s->size - off ||
	    off % PAGE_SZ || len % PAGE_SZ) {
		pr_err("%s: bad request of %zu bytes at %#lx", s->name,
		       len, (long)off);
		return NULL;
	}
	while ((ret = !s->conn ? -1 : remote_fetch(s, off, len)) == -1) {
		if (remote_retry(s)) {
			pr_err("%s: can't fetch %zu bytes at %#lx", s->name,
			       len, (long)off);
			return NULL;
		}
	}
	if (ret)
		return NULL;
	s->bytes_fetched += len;
	return s->buf;
}

static void remote_close(struct page_source *s)
{
	conn_close(s->conn);
	free(s->buf);
	s->conn = NULL;
	s->buf = NULL;
	if (s->near) {
		s->near->ops->close(s->near);
		free(s->near);
		s->near = NULL;
	}
}

static const struct page_source_ops remote_ops = { remote_get, remote_close };

int page_source_open_remote(struct page_source *s, const char *addr,
			    const struct tls_opts *tls)
{
	memset(s, 0, sizeof(*s));
	s->ops = &remote_ops;
	s->remote = true;
	s->tls = tls;
	snprintf(s->name, sizeof(s->name), "page server %.60s", addr);
	snprintf(s->addr, sizeof(s->addr), "%s", addr);
	s->buf = malloc(PS_MAX_REQ + PS_MAX_REQ / PAGE_SZ * sizeof(uint32_t));
	if (!s->buf || remote_connect(s, false)) {
		remote_close(s);
		return -1;
	}
	return 0;
}

int page_source_reconnect(struct page_source *s)
{
	conn_close(s->conn);
	s->conn = NULL;
	if (!remote_connect(s, false))
		return 0;
	return remote_retry(s);
}

int page_source_done(struct page_source *s, int vpid)
{
	struct ps_req req = { PS_REQ_DONE, (uint32_t)vpid };
	uint32_t ack = 1;

	for (;;) {
		if (s->conn && !conn_write(s->conn, &req, sizeof(req)) &&
		    !conn_read(s->conn, &ack, sizeof(ack)) && !ack)
			return 0;
		if (remote_retry(s))
			break;
	}
	pr_err("%s: could not tell it that every page of %d is in", s->name,
	       vpid);
	return -1;
}

/* ---- the server ---- */

int serve_request(struct conn *c, struct page_source *src, const char *name,
		  int *done_vpid, struct serve_tally *t)
{
	static uint32_t csums[PS_MAX_REQ / PAGE_SZ];
	struct ps_req req;
	const uint8_t *d;
	bool fault;
	int r = conn_read(c, &req, sizeof(req));

	if (r)
		return errno == ECONNRESET ? 0 : -1;	/* EOF: the client is done */
	if (req.off == PS_REQ_DONE) {
		uint32_t ack = 0;

		*done_vpid = req.len;
		return conn_write(c, &ack, sizeof(ack)) ? -1 : 1;
	}
	fault = req.len & PS_REQ_FAULT;
	req.len &= ~PS_REQ_FAULT;
	if (req.len > PS_MAX_REQ || req.off > src->size ||
	    req.len > src->size - req.off || req.off % PAGE_SZ ||
	    req.len % PAGE_SZ) {
		pr_err("%s: bad request of %u bytes at %#lx", name, req.len,
		       (long)req.off);
		return -1;
	}
	d = src->ops->get(src, req.off, req.len);
	if (!d) {
		pr_err("%s: can't read %u bytes at %#lx of its pages", name,
		       req.len, (long)req.off);
		return -1;
	}
	for (uint32_t i = 0; i < req.len / PAGE_SZ; i++)
		csums[i] = page_crc(d + (size_t)i * PAGE_SZ);
	/* one write: a second small one would wait for the peer's delayed
	 * ACK (Nagle) */
	if (conn_writev(c, (struct iovec[]){ { (void *)d, req.len },
		       { csums, req.len / PAGE_SZ * sizeof(*csums) } }, 2)) {
		pr_perror("%s: send", name);
		return -1;
	}
	t->bytes += req.len;
	t->requests++;
	if (fault) {
		t->fault_bytes += req.len;
		t->fault_requests++;
	}
	return 2;
}

int serve_greet(struct conn *c, uint64_t size)
{
	struct ps_hello hello = { PS_MAGIC, PS_VERSION, size };

	return conn_write(c, &hello, sizeof(hello));
}

static int serve_client(struct conn *c, struct page_source *src,
			const char *dir, unsigned idle_s)
{
	struct serve_tally t = { 0 };
	uint64_t t0 = now_ns();
	int vpid, r;

	if (serve_greet(c, src->size))
		return -1;
	conn_set_timeout(c, idle_s);
	while ((r = serve_request(c, src, "page-server", &vpid, &t)) > 0)
		;
	if (r < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			pr_err("page-server: the client %s asked nothing (or "
			       "took nothing) for %u s: dropped (--idle-timeout)",
			       conn_peer(c), idle_s);
		return -1;
	}
	pr_info("page-server: served %.1f MiB of %s in %lu requests, %.1f ms",
		t.bytes / 1048576.0, dir, (unsigned long)t.requests,
		(now_ns() - t0) / 1e6);
	return 0;
}

/* The pages of dir as restore reads them: the page stream, decompressed
 * if its inventory says the dump was compressed. A directory that a dump
 * --page-server filled has pages and pagemaps only (its other images
 * stayed with the dump): plain pages-1.img. */
static int open_served(struct page_source *src, const char *dir)
{
	int dirfd = open(dir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	unsigned id = 1, codec = PAGES_CODEC_NONE;
	struct cr_img *img;
	int ret = -1;

	if (dirfd < 0) {
		pr_perror("page-server: open %s", dir);
		return -1;
	}
	img = img_open_read(dirfd, IMG_INVENTORY, 0, true);
	if (img) {
		ProtobufCMessage *m;

		if (img_read_msg(img, &m) == 1) {
			const InventoryEntry *inv = (const InventoryEntry *)m;

			id = inv->has_pages_id ? inv->pages_id : 1;
			codec = inv->pages_codec;
			img_free_msg(img, m);
			ret = 0;
		}
		img_close(img);
	} else if (errno == ENOENT) {
		ret = 0;
	}
	if (!ret)
		ret = page_source_open_local(src, dirfd, id, codec, false);
	else
		pr_err("page-server: %s: inventory.img is not readable", dir);
	close(dirfd);
	return ret;
}

int serve_pull(struct conn *c, const char *dir, unsigned idle_s)
{
	struct page_source src = { .ops = NULL };
	int ret = -1;

	if (!open_served(&src, dir)) {
		pr_info("page-server: serving %s/%s (%.1f MiB)", dir, src.name,
			src.size / 1048576.0);
		ret = serve_client(c, &src, dir, idle_s);
	}
	if (src.ops)
		src.ops->close(&src);
	return ret;
}
