// SPDX-License-Identifier: GPL-2.0
/*
 * criu-lite page-server: one client, then exit (as CRIU's). A dump (or a
 * migration) pushes its pages and pagemaps, and possibly every other image
 * file; a lazy restore pulls pages. See xfer-proto.h for the protocol.
 *
 * What a push brings is kept apart in DIR/.incoming-XXXXXX, every stored
 * run checked against its page checksums as its pagemap entry arrives
 * (the pages are still in the page cache then), and moved into DIR only
 * when the client says it is done: a dump that fails or dies half-way
 * leaves DIR as it was.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <unistd.h>

#include "cr.h"
#include "csum.h"
#include "image.h"
#include "imgdir.h"
#include "log.h"
#include "net.h"
#include "page-server.h"
#include "page-source.h"
#include "pagemap.h"
#include "prefill.h"
#include "seize.h"
#include "xfer-proto.h"

#define HELLO_TIMEOUT_S	10	/* at most, for a new connection's hello */
#define MAX_PENDING	8	/* connections waiting for their hello */
#define MAX_PAGES_MSG	(8u << 20)
/* migrate: prepared ahead for the final part (warm_up) */
#define WARM_TAIL	(16u << 20)
#define WARM_PM_MAX	(32u << 20)	/* ~4 bytes a page of the places */

struct push {
	struct conn *c;
	unsigned idle_s;
	const char *dir;
	int dirfd, stagefd;
	char stage[64];
	int pfd;		/* pages-1.img, in the stage */
	uint64_t end;		/* bytes of pages received */
	struct cr_img *pm;	/* the pagemap being received */
	unsigned pm_id;
	char **names;		/* files in the stage, pages-1.img first */
	size_t nr_names;
	uint8_t *buf;
	uint32_t *sums;		/* of each page received, by offset */
	uint8_t *have;		/* which pages were received */
	size_t sums_cap;
	bool placed;		/* migrate: pages may land at any offset */
	uint64_t append_at;	/* migrate: where the final dump appends */
	uint64_t warm_end;	/* the pages file prepared up to here, or 0 */
	bool warm_tried;
	bool pm_in_spare;	/* the first pagemap went into the spare */
	int pm_spare;		/* a file prepared for the root's pagemap */
	struct prefill *held;	/* migrate: every page held in memory too */
	uint8_t *rbuf;		/* read ahead: small messages, one read */
	size_t rpos, rlen;
	uint64_t pages_checked, files;
	/* since the last flush (a migration: the final part), ns */
	struct {
		uint64_t since, pages, write, pm, file;
		uint64_t held, held_pages, warm_pages;
	} last;
	char why[512];		/* the first error, for the client */
};

static void fail(struct push *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void fail(struct push *p, const char *fmt, ...)
{
	va_list ap;

	if (p->why[0])
		return;
	va_start(ap, fmt);
	vsnprintf(p->why, sizeof(p->why), fmt, ap);
	va_end(ap);
	pr_err("page-server: %s", p->why);
}

int page_server_reply(struct conn *c, uint32_t status, const char *text)
{
	struct xp_reply r = { status, strlen(text) };
	struct iovec iov[2] = { { &r, sizeof(r) }, { (void *)text, r.text_len } };

	return conn_writev(c, iov, 2);
}

static int add_name(struct push *p, const char *name)
{
	char **n = realloc(p->names, (p->nr_names + 1) * sizeof(*n));

	if (!n || !(n[p->nr_names] = strdup(name))) {
		if (n)
			p->names = n;
		return -1;
	}
	p->names = n;
	p->nr_names++;
	return 0;
}

static void drop_name(struct push *p, const char *name)
{
	for (size_t i = 0; i < p->nr_names; i++) {
		if (!strcmp(p->names[i], name)) {
			unlinkat(p->stagefd, name, 0);
			free(p->names[i]);
			p->names[i] = p->names[--p->nr_names];
			return;
		}
	}
}

#define READ_AHEAD	(256u << 10)

/*
 * len bytes of the stream: first what was read ahead, then whole large
 * pieces straight into buf, small ones through the read-ahead buffer (a
 * migration's scattered pages come as one message each: a header, a
 * page, a checksum; one read() for many of them, not three each).
 */
static int recv_some(struct push *p, void *buf, size_t len)
{
	while (len) {
		size_t n = p->rlen - p->rpos;
		ssize_t got;

		if (n) {
			n = n < len ? n : len;
			memcpy(buf, p->rbuf + p->rpos, n);
			p->rpos += n;
			buf = (uint8_t *)buf + n;
			len -= n;
			continue;
		}
		if (len >= READ_AHEAD / 2)
			return conn_read(p->c, buf, len);
		got = conn_read_some(p->c, p->rbuf, READ_AHEAD);
		if (got < 0)
			return -1;
		p->rpos = 0;
		p->rlen = got;
	}
	return 0;
}

static int recv_exact(struct push *p, void *buf, size_t len)
{
	if (recv_some(p, buf, len)) {
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			fail(p, "no data from the client %s for %u s: dropped",
			     conn_peer(p->c), p->idle_s);
		else if (errno == ECONNRESET)
			fail(p, "the client went away before it was done");
		else
			fail(p, "receive: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* p->have[page]: never sent (0), sent, or stored by a pagemap entry (a
 * placed page sent again after that is refused: the entry, written out
 * with the old page's checksum, would no longer match it) */
enum { HAVE_SENT = 1, HAVE_STORED = 2 };

/* Room for the sums of pages up to page n (new ones: not received). */
static int sums_room(struct push *p, uint64_t n)
{
	size_t cap = n * 2;
	uint32_t *s;
	uint8_t *h;

	if (n <= p->sums_cap)
		return 0;
	s = realloc(p->sums, cap * sizeof(*s));
	if (s)
		p->sums = s;
	h = s ? realloc(p->have, cap) : NULL;
	if (!h) {
		fail(p, "out of memory");
		return -1;
	}
	p->have = h;
	memset(h + p->sums_cap, 0, cap - p->sums_cap);
	p->sums_cap = cap;
	return 0;
}

/*
 * Pages, each checked against the checksum its sender made, then
 * written. They follow what was received before, or (placed, a
 * migration's tracked memory) land anywhere below XP_MAX_PLACED: a page
 * sent again replaces its copy and its checksum.
 */
static int recv_pages(struct push *p, const struct xp_hdr *h)
{
	uint64_t npages = h->id, len = npages * PAGE_SZ, at = h->off;
	uint64_t first = at / PAGE_SZ, t0;
	uint32_t sums[MAX_PAGES_MSG / PAGE_SZ];

	if (!(p->placed ? at % PAGE_SZ == 0 && at < XP_MAX_PLACED &&
	      len <= XP_MAX_PLACED - at : at == p->end) ||
	    len > MAX_PAGES_MSG || h->len != npages * (PAGE_SZ + 4)) {
		fail(p, "pages at offset %lu (%lu bytes) do not follow the %lu "
		     "received", (unsigned long)at, (unsigned long)h->len,
		     (unsigned long)p->end);
		return -1;
	}
	if (sums_room(p, first + npages) || recv_exact(p, p->buf, len) ||
	    recv_exact(p, sums, npages * sizeof(*sums)))
		return -1;
	if (p->placed && memchr(p->have + first, HAVE_STORED, npages)) {
		fail(p, "a page at offset %lu of pages-1.img sent again after "
		     "a pagemap stored it", (unsigned long)at);
		return -1;
	}
	for (uint64_t i = 0; i < npages; i++) {
		if (page_crc(p->buf + i * PAGE_SZ) != sums[i]) {
			fail(p, "page at offset %lu of pages-1.img does not "
			     "match its checksum: corrupted on the way",
			     (unsigned long)(at + i * PAGE_SZ));
			return -1;
		}
	}
	t0 = now_ns();
	if (p->held && prefill_put(p->held, at, p->buf, len, sums)) {
		p->last.held += now_ns() - t0;
		p->last.held_pages += npages;
	} else if (pwrite_all(p->pfd, p->buf, len, at)) {
		fail(p, "write pages-1.img at offset %lu: %s",
		     (unsigned long)at, strerror(errno));
		return -1;
	} else {
		p->last.write += now_ns() - t0;
		p->last.pages += npages;
		if (p->warm_end && at >= p->append_at && at + len <= p->warm_end)
			p->last.warm_pages += npages;
	}
	if (p->held && p->held->spill_failed) {
		fail(p, "pages-1.img: the held pages could not be written "
		     "when holding them ended");
		return -1;
	}
	memcpy(p->sums + first, sums, npages * sizeof(*sums));
	memset(p->have + first, HAVE_SENT, npages);
	if (at + len > p->end)
		p->end = at + len;
	return 0;
}

/*
 * A stored run against the pages received. Its page checksums are not
 * sent (the sender's xfer leaves them out: 4 bytes a page, 1.8 MB for a
 * 2 GiB guest, in a migration's downtime): the run's entry takes those
 * its pages had on arrival (each checked then against the bytes), and
 * they must fold into the run's checksum the sender made from its own
 * (the cross-check that what arrived last is what it meant). An entry
 * that carries them is checked page by page as before. borrowed: the
 * entry's page_csums now point into p->sums (unset before it is freed).
 */
static int check_run(struct push *p, PagemapEntry *e, bool *borrowed)
{
	uint64_t len = (uint64_t)e->nr_pages * PAGE_SZ, first;

	if (!e->has_offset || e->offset % PAGE_SZ || e->offset > p->end ||
	    len > p->end - e->offset) {
		fail(p, "pagemap-%u.img: run at %#lx refers to pages not sent",
		     p->pm_id, (long)e->vaddr);
		return -1;
	}
	first = e->offset / PAGE_SZ;
	for (uint32_t i = 0; i < e->nr_pages; i++)
		if (!p->have[first + i]) {
			fail(p, "pagemap-%u.img: run at %#lx refers to pages "
			     "not sent", p->pm_id, (long)e->vaddr);
			return -1;
		}
	if (!e->n_page_csums && e->nr_pages) {
		e->page_csums = p->sums + first;
		e->n_page_csums = e->nr_pages;
		*borrowed = true;
	}
	if (pagemap_run_csums_ok(e, p->pm_id)) {
		fail(p, "pagemap-%u.img: run at %#lx: %s", p->pm_id,
		     (long)e->vaddr, *borrowed ? "the pages as they arrived "
		     "are not those the sender stored: corrupted on the way" :
		     "bad checksums");
		return -1;
	}
	for (uint32_t i = 0; !*borrowed && i < e->nr_pages; i++)
		if (p->sums[first + i] != e->page_csums[i]) {
			fail(p, "page %#lx of process %u does not match its "
			     "checksum: corrupted on the way",
			     (long)(e->vaddr + (uint64_t)i * PAGE_SZ), p->pm_id);
			return -1;
		}
	memset(p->have + first, HAVE_STORED, e->nr_pages);
	p->pages_checked += e->nr_pages;
	return 0;
}

static int recv_entry(struct push *p, const struct xp_hdr *h)
{
	PagemapEntry *e;
	bool borrowed = false;
	int ret = -1;

	if (!p->pm) {
		fail(p, "pagemap entry outside a pagemap");
		return -1;
	}
	if (h->len > MAX_PAGES_MSG) {	/* p->buf's size */
		fail(p, "pagemap-%u.img: an entry of %lu bytes: too large",
		     p->pm_id, (unsigned long)h->len);
		return -1;
	}
	if (recv_exact(p, p->buf, h->len))
		return -1;
	e = pagemap_entry__unpack(NULL, h->len, p->buf);
	if (!e) {
		fail(p, "pagemap-%u.img: an entry that does not decode",
		     p->pm_id);
		return -1;
	}
	if ((e->flags & PE_PRESENT) && check_run(p, e, &borrowed))
		goto out;
	if (img_write_msg(p->pm, &e->base)) {
		fail(p, "write pagemap-%u.img", p->pm_id);
		goto out;
	}
	ret = 0;
out:
	if (borrowed) {
		e->page_csums = NULL;
		e->n_page_csums = 0;
	}
	pagemap_entry__free_unpacked(e, NULL);
	return ret;
}

static bool good_name(const char *n)
{
	size_t len = strlen(n);

	return len > 4 && n[0] != '.' && !strchr(n, '/') &&
	       !strcmp(n + len - 4, ".img") && strcmp(n, "pages-1.img") &&
	       strncmp(n, "pagemap-", 8);
}

/* The places the source says the restore takes from memory: held only
 * there (prefill_hold_only); ignored where nothing is held. */
static int recv_hold(struct push *p, const struct xp_hdr *h)
{
	if (!p->placed || h->len % 16 || h->len > MAX_PAGES_MSG) {
		fail(p, "bad hold message");
		return -1;
	}
	if (recv_exact(p, p->buf, h->len))
		return -1;
	if (h->off % PAGE_SZ == 0 && h->off < XP_MAX_PLACED)
		p->append_at = h->off;
	if (p->held && prefill_hold_only(p->held, (const uint64_t *)p->buf,
					 h->len / 16)) {
		fail(p, "out of memory");
		return -1;
	}
	return 0;
}

/*
 * migrate, at the first round's end (nothing appended yet), before the
 * source is told it is in: what the final part will write into, made
 * while the tree still runs at the source (once: a failure is not tried
 * again each round): the pages file's tail where the final dump appends
 * (WARM_TAIL bytes from append_at) and a spare file for the first
 * pagemap (linked under its name when it begins), both written with
 * bytes that are not zeros. On this VM
 * a page of memory touched for the first time in the downtime cost 35-160
 * us when the host had taken memory back, against ~3 otherwise: the
 * final part of a busy 2 GiB guest's move wrote its 1300 appended pages
 * in 95-212 ms into fresh page cache, 25-66 ms into this one (docs/
 * results.md, session 12). CRIU_LITE_WARM=0: not done (the benchmarks'
 * control). Only an optimisation: what fails is said (debug) and skipped.
 */
static void warm_up(struct push *p)
{
	const char *e = getenv("CRIU_LITE_WARM");
	size_t chunk = 1u << 20, pm_bytes;
	uint8_t *fill;
	uint64_t at;

	if (!p->append_at || p->warm_tried || p->end > p->append_at ||
	    (e && !strcmp(e, "0")))
		return;
	p->warm_tried = true;	/* once, whatever comes of it */
	fill = malloc(chunk);
	if (!fill)
		return;
	memset(fill, 0xa5, chunk);	/* anything but zeros */
	for (at = p->append_at; at < p->append_at + WARM_TAIL; at += chunk)
		if (pwrite_all(p->pfd, fill, chunk, at)) {
			pr_debug("page-server: pages file not warmed at %#lx: "
				 "%s", (unsigned long)at, strerror(errno));
			if (ftruncate(p->pfd, p->append_at))
				pr_debug("page-server: cut it back: %s",
					 strerror(errno));
			break;
		}
	if (at == p->append_at + WARM_TAIL)
		p->warm_end = at;
	pm_bytes = (p->append_at / 1024 + chunk) / chunk * chunk;
	if (pm_bytes > WARM_PM_MAX)
		pm_bytes = WARM_PM_MAX;
	p->pm_spare = openat(p->stagefd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC,
			     0600);
	for (at = 0; p->pm_spare >= 0 && at < pm_bytes; at += chunk)
		if (pwrite_all(p->pm_spare, fill, chunk, at)) {
			close(p->pm_spare);
			p->pm_spare = -1;
		}
	if (p->pm_spare < 0)
		pr_debug("page-server: no spare pagemap file: %s",
			 strerror(errno));
	free(fill);
}

/* The first pagemap into the spare file warm_up made: linked under its
 * name (fd taken; -1 if there is none, or on failure: a new file then). */
static struct cr_img *pm_in_spare(struct push *p, const char *name)
{
	char self[64];
	int fd = p->pm_spare;

	if (fd < 0)
		return NULL;
	p->pm_spare = -1;
	snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
	if (linkat(AT_FDCWD, self, p->stagefd, name, AT_SYMLINK_FOLLOW) ||
	    lseek(fd, 0, SEEK_SET)) {
		pr_debug("page-server: spare pagemap file not used: %s",
			 strerror(errno));
		close(fd);
		return NULL;
	}
	p->pm_in_spare = true;
	return img_write_fd(fd, IMG_PAGEMAP, p->pm_id, true);
}

/* The file at least len bytes long. */
static int ftruncate_up(int fd, uint64_t len)
{
	struct stat st;

	if (fstat(fd, &st))
		return -1;
	return (uint64_t)st.st_size < len ? ftruncate(fd, len) : 0;
}

static int recv_file(struct push *p, const struct xp_hdr *h)
{
	char name[256];
	uint64_t left;
	int fd;

	if (!h->id || h->id >= sizeof(name) || h->len < h->id ||
	    h->len - h->id > XP_MAX_MSG) {
		fail(p, "bad file message");
		return -1;
	}
	if (recv_exact(p, name, h->id))
		return -1;
	name[h->id] = 0;
	if (!good_name(name)) {
		fail(p, "refused file name \"%s\"", name);
		return -1;
	}
	fd = openat(p->stagefd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
		    0600);
	if (fd < 0 || add_name(p, name)) {
		fail(p, "create %s: %s", name, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	for (left = h->len - h->id; left;) {
		size_t n = left < MAX_PAGES_MSG ? left : MAX_PAGES_MSG;

		if (recv_exact(p, p->buf, n))
			break;
		if (write_all(fd, p->buf, n)) {
			fail(p, "write %s: %s", name, strerror(errno));
			break;
		}
		left -= n;
	}
	close(fd);
	p->files++;
	return left ? -1 : 0;
}

/*
 * DIR/parent -> the path the client names, as its dump linked its own
 * layer: relative, and to a layer this side holds (its inventory is
 * there), or restore would find nothing behind the link.
 */
static int recv_parent(struct push *p, const struct xp_hdr *h)
{
	char rel[PATH_MAX], at[PATH_MAX + 32];
	struct stat st;

	if (!h->len || h->len >= sizeof(rel)) {
		fail(p, "bad parent link message");
		return -1;
	}
	if (recv_exact(p, rel, h->len))
		return -1;
	rel[h->len] = 0;
	if (rel[0] == '/' || memchr(rel, 0, h->len)) {
		fail(p, "parent link \"%s\": not a relative path", rel);
		return -1;
	}
	snprintf(at, sizeof(at), "%s/inventory.img", rel);
	if (fstatat(p->dirfd, at, &st, 0)) {
		fail(p, "the parent layer %s/%s is not here (%s): receive the "
		     "chain in order, into sibling directories", p->dir, at,
		     strerror(errno));
		return -1;
	}
	if (symlinkat(rel, p->stagefd, "parent") || add_name(p, "parent")) {
		fail(p, "link parent to %s: %s", rel, strerror(errno));
		return -1;
	}
	return 0;
}

static int sync_stage(struct push *p, bool durable)
{
	for (size_t i = 0; durable && i < p->nr_names; i++) {
		int fd;

		if (!strcmp(p->names[i], "parent"))
			continue;	/* a link: DIR's fsync keeps it */
		fd = openat(p->stagefd, p->names[i], O_RDONLY | O_CLOEXEC);

		if (fd < 0 || fsync(fd)) {
			fail(p, "fsync %s: %s", p->names[i], strerror(errno));
			if (fd >= 0)
				close(fd);
			return -1;
		}
		close(fd);
	}
	return 0;
}

/* Into DIR: the inventory last, so that DIR holds a whole dump or none. */
static int keep_stage(struct push *p, bool durable)
{
	const char *bad;
	int inv = -1;

	if (sync_stage(p, durable))
		return -1;
	for (size_t i = 0; i < p->nr_names; i++) {
		if (!strcmp(p->names[i], "inventory.img")) {
			inv = i;
			continue;
		}
		bad = p->names[i];
		if (renameat(p->stagefd, bad, p->dirfd, bad))
			goto err;
	}
	bad = inv >= 0 ? p->names[inv] : NULL;
	if (bad && renameat(p->stagefd, bad, p->dirfd, bad))
		goto err;
	for (size_t i = 0; i < p->nr_names; i++)
		free(p->names[i]);
	p->nr_names = 0;
	if (durable && fsync(p->dirfd)) {
		fail(p, "fsync %s: %s", p->dir, strerror(errno));
		return -1;
	}
	return 0;
err:
	fail(p, "move %s into %s: %s", bad, p->dir, strerror(errno));
	return -1;
}

static void drop_stage(struct push *p)
{
	if (p->stagefd < 0)
		return;
	img_discard(p->pm);
	p->pm = NULL;
	for (size_t i = 0; i < p->nr_names; i++) {
		unlinkat(p->stagefd, p->names[i], 0);
		free(p->names[i]);
	}
	p->nr_names = 0;
	close(p->stagefd);
	p->stagefd = -1;
	unlinkat(p->dirfd, p->stage, AT_REMOVEDIR);
}

static int open_stage(struct push *p)
{
	mkdir(p->dir, 0700);
	p->dirfd = open(p->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (p->dirfd < 0) {
		fail(p, "open %s: %s", p->dir, strerror(errno));
		return -1;
	}
	snprintf(p->stage, sizeof(p->stage), ".incoming-%d-%s", getpid(),
		 imgdir_ns_tag());
	/* what a killed server left (its pid is dead): gone now */
	imgdir_sweep_dead(p->dirfd, ".incoming-");
	unlinkat(p->dirfd, p->stage, AT_REMOVEDIR);	/* an empty leftover */
	if (mkdirat(p->dirfd, p->stage, 0700) ||
	    (p->stagefd = openat(p->dirfd, p->stage, O_RDONLY | O_DIRECTORY |
				 O_CLOEXEC)) < 0) {
		fail(p, "create %s/%s: %s", p->dir, p->stage, strerror(errno));
		return -1;
	}
	p->pfd = openat(p->stagefd, "pages-1.img", O_RDWR | O_CREAT | O_EXCL |
			O_CLOEXEC, 0600);
	if (p->pfd < 0 || add_name(p, "pages-1.img")) {
		fail(p, "create pages-1.img: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * After an error reply: what the client still sends is read and dropped
 * (up to 2 s) before the connection closes, or the kernel would answer it
 * with a reset that can destroy the reply before the client reads it.
 */
static void drain(struct conn *c)
{
	struct timeval tv = { 2, 0 };
	uint64_t t0 = now_ns();
	char buf[65536];
	int fd = conn_fd(c);

	shutdown(fd, SHUT_WR);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	while (now_ns() - t0 < 2000000000ULL && read(fd, buf, sizeof(buf)) > 0)
		;
}

int page_server_receive(struct conn *c, const char *dir, unsigned idle_s,
			bool placed, struct prefill *held)
{
	struct push p = { .c = c, .idle_s = idle_s, .dir = dir, .dirfd = -1,
			  .stagefd = -1, .pfd = -1, .pm_spare = -1,
			  .placed = placed,
			  .held = held };
	uint64_t t0 = now_ns(), tm;
	struct xp_hdr h;
	char text[32];
	int ret = -1;

	p.buf = malloc(MAX_PAGES_MSG);
	p.rbuf = malloc(READ_AHEAD);
	if (!p.buf || !p.rbuf || open_stage(&p)) {
		page_server_reply(c, 1, p.why[0] ? p.why : "out of memory");
		goto out;
	}
	/* migrate: a page held in memory is not written to the pages file
	 * too (the destination's memory and its page cache each took every
	 * page: on this VM, fresh memory the host must fault in, twice),
	 * only spilled into it if it is to come from there after all; the
	 * fd stays valid across the stage's rename into DIR */
	if (held && !held->off && held->base)
		held->spill_fd = fcntl(p.pfd, F_DUPFD_CLOEXEC, 3);
	conn_set_timeout(c, idle_s);
	if (page_server_reply(c, 0, "ready"))
		goto out;
	for (;;) {
		int r = 0;

		if (recv_exact(&p, &h, sizeof(h)))
			break;
		switch (h.type) {
		case X_PAGES:
			r = recv_pages(&p, &h);
			break;
		case X_PM_BEGIN:
			if (p.pm) {
				fail(&p, "two pagemaps at once");
				r = -1;
				break;
			}
			p.pm_id = h.id;
			snprintf(text, sizeof(text), "pagemap-%u.img", h.id);
			p.pm = pm_in_spare(&p, text);
			if (!p.pm)
				p.pm = img_open_write(p.stagefd, IMG_PAGEMAP,
						      h.id);
			if (!p.pm || add_name(&p, text)) {
				fail(&p, "create %s", text);
				r = -1;
			}
			break;
		case X_PM_ENTRY:
			tm = now_ns();
			r = recv_entry(&p, &h);
			p.last.pm += now_ns() - tm;
			break;
		case X_PM_END:
			if (!p.pm) {
				fail(&p, "end of a pagemap never begun");
				r = -1;
				break;
			}
			if (h.off) {
				r = img_close(p.pm);
				if (r)
					fail(&p, "write pagemap-%u.img", p.pm_id);
			} else {
				img_discard(p.pm);
				snprintf(text, sizeof(text), "pagemap-%u.img",
					 p.pm_id);
				drop_name(&p, text);
			}
			p.pm = NULL;
			break;
		case X_FILE:
			tm = now_ns();
			r = recv_file(&p, &h);
			p.last.file += now_ns() - tm;
			break;
		case X_PARENT:
			r = recv_parent(&p, &h);
			break;
		case X_HOLD:
			r = recv_hold(&p, &h);
			break;
		case X_FLUSH:
			if (h.off && fsync(p.pfd)) {
				fail(&p, "fsync pages-1.img: %s", strerror(errno));
				r = -1;
				break;
			}
			/* before the reply: the source waits for it, its
			 * tree running (after it, with one round, the freeze
			 * would wait behind this) */
			warm_up(&p);
			snprintf(text, sizeof(text), "%lu", (unsigned long)p.end);
			r = page_server_reply(c, 0, text);
			memset(&p.last, 0, sizeof(p.last));
			p.last.since = now_ns();
			break;
		case X_DONE:
			if (p.pm) {
				fail(&p, "done in the middle of pagemap-%u.img",
				     p.pm_id);
				r = -1;
				break;
			}
			/* the file as long as what was sent, its tail maybe
			 * held only in memory (a hole here) */
			/* what was written ahead and not used: cut off */
			if (p.warm_end > p.end && ftruncate(p.pfd, p.end)) {
				fail(&p, "cut pages-1.img: %s", strerror(errno));
				r = -1;
				break;
			}
			if (p.held && p.held->spill_fd >= 0 &&
			    ftruncate_up(p.pfd, p.end)) {
				fail(&p, "extend pages-1.img: %s",
				     strerror(errno));
				r = -1;
				break;
			}
			tm = now_ns();
			r = keep_stage(&p, h.off);
			if (!r && p.last.since)
				pr_info("page-server: the part after the last "
					"round: %lu pages written in %.1f ms "
					"(%lu into the part prepared), %lu "
					"held in %.1f ms, pagemaps %.1f ms%s, "
					"files %.1f ms, kept in %.1f ms, in "
					"%.1f ms", (unsigned long)p.last.pages,
					p.last.write / 1e6,
					(unsigned long)p.last.warm_pages,
					(unsigned long)p.last.held_pages,
					p.last.held / 1e6, p.last.pm / 1e6,
					p.pm_in_spare ? " (the first into "
					"the file prepared)" : "",
					p.last.file / 1e6,
					(now_ns() - tm) / 1e6,
					(now_ns() - p.last.since) / 1e6);
			if (!r) {
				ret = 0;
				page_server_reply(c, 0, "kept");
			}
			break;
		default:
			fail(&p, "unknown message %u", h.type);
			r = -1;
		}
		if (r || !ret)
			break;
	}
	if (ret) {
		fail(&p, "the client stopped before it was done");
		page_server_reply(c, 1, p.why);
		pr_err("page-server: nothing received was kept in %s", dir);
		drain(c);
	} else {
		pr_info("page-server: kept %.1f MiB of pages (%lu checked), "
			"%lu other files in %s, %.1f ms", p.end / 1048576.0,
			(unsigned long)p.pages_checked,
			(unsigned long)p.files, dir, (now_ns() - t0) / 1e6);
	}
out:
	if (p.pfd >= 0)
		close(p.pfd);
	if (p.pm_spare >= 0)
		close(p.pm_spare);
	drop_stage(&p);
	if (p.dirfd >= 0)
		close(p.dirfd);
	free(p.names);
	free(p.buf);
	free(p.rbuf);
	free(p.sums);
	free(p.have);
	return ret;
}

/* A connection accepted, waiting for its hello. */
struct pending {
	int fd;
	uint64_t since;
};

static void drop_pending(struct pending *pd, int *n, int i)
{
	close(pd[i].fd);
	pd[i] = pd[--*n];
}

/*
 * The hello of a connection that has something to say (TLS: after the
 * handshake), within what is left of its time: a criu-lite client of a
 * mode in modes gets its connection returned; anything else is told or
 * logged, closed, and NULL returned (the server waits on).
 */
/* The first bytes of a new connection, left in place: a criu-lite hello
 * (plain), a TLS handshake record (22, version 3.x), or something else. */
enum first_bytes { FIRST_OTHER, FIRST_HELLO, FIRST_TLS };

static enum first_bytes peek_first(int fd, unsigned wait_s)
{
	struct timeval tv = { wait_s, 0 };
	uint8_t b[4];
	uint32_t magic;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (recv(fd, b, sizeof(b), MSG_PEEK | MSG_WAITALL) != sizeof(b))
		return FIRST_OTHER;
	memcpy(&magic, b, sizeof(magic));
	if (magic == XP_MAGIC)
		return FIRST_HELLO;
	return b[0] == 22 && b[1] == 3 ? FIRST_TLS : FIRST_OTHER;
}

/* A criu-lite client and this server disagree on --tls: each is told. */
static struct conn *tls_mismatch(int fd, bool server_tls, const char *who)
{
	struct conn *c = conn_server(fd, NULL, 0, who);

	if (!c)
		return NULL;
	if (!server_tls) {
		pr_warn("%s: a TLS client from %s: refused (this server runs "
			"without --tls)", who, conn_peer(c));
		conn_close(c);
		return NULL;
	}
	pr_warn("%s: a criu-lite client without TLS from %s: refused (this "
		"server requires --tls)", who, conn_peer(c));
	page_server_reply(c, 1, "this server requires TLS: use --tls (with "
			  "--tls-cacert, --tls-cert, --tls-key)");
	drain(c);
	conn_close(c);
	return NULL;
}

static struct conn *greet(int fd, const struct tls_opts *tls, unsigned wait_s,
			  unsigned modes, int *mode, const char *who)
{
	enum first_bytes first = peek_first(fd, wait_s);
	bool server_tls = tls && tls->on;
	struct xp_hello h;
	struct conn *c;

	if ((first == FIRST_HELLO && server_tls) ||
	    (first == FIRST_TLS && !server_tls))
		return tls_mismatch(fd, server_tls, who);
	c = conn_server(fd, tls, wait_s, who);
	if (!c)
		return NULL;	/* the TLS refusal is logged */
	conn_set_timeout(c, wait_s);
	if (conn_read(c, &h, sizeof(h)))
		h.magic = 0;	/* nothing, or not a hello */
	if (h.magic == XP_MAGIC && h.version != XP_VERSION) {
		char why[128];

		snprintf(why, sizeof(why), "criu-lite transfer protocol %u "
			 "here, %u there: the same criu-lite on both sides",
			 XP_VERSION, h.version);
		page_server_reply(c, 1, why);
		pr_warn("%s: a criu-lite of another version from %s: %s", who,
			conn_peer(c), why);
		conn_close(c);
		return NULL;
	}
	if (h.magic != XP_MAGIC || h.version != XP_VERSION) {
		pr_warn("%s: a connection from %s that is not a criu-lite "
			"client: ignored", who, conn_peer(c));
		conn_close(c);
		return NULL;
	}
	if (h.mode >= 32 || !(modes & (1u << h.mode))) {
		page_server_reply(c, 1, h.mode == XP_MIGRATE ||
					h.mode == XP_MIGRATE_POSTCOPY ?
			"this is a page server, not a migrate --incoming" :
			"this is a migrate --incoming, not a page server");
		pr_warn("%s: a criu-lite client of another kind (mode %u) from "
			"%s: refused", who, h.mode, conn_peer(c));
		conn_close(c);
		return NULL;
	}
	conn_set_timeout(c, 0);
	*mode = h.mode;
	return c;
}

static int accept_one(int l, struct pending *pd, int *n, const char *who)
{
	int fd = accept4(l, NULL, NULL, SOCK_CLOEXEC);

	if (fd < 0)
		return errno == EINTR || errno == ECONNABORTED ? 0 : -1;
	if (*n == MAX_PENDING) {
		int oldest = 0;

		for (int i = 1; i < *n; i++)
			if (pd[i].since < pd[oldest].since)
				oldest = i;
		pr_warn("%s: too many connections waiting (%d): the oldest is "
			"dropped", who, MAX_PENDING);
		drop_pending(pd, n, oldest);
	}
	pd[*n].fd = fd;
	pd[(*n)++].since = now_ns();
	return 0;
}

struct conn *page_server_accept(int l, const struct tls_opts *tls,
				unsigned idle_s, unsigned modes, int *mode,
				const char *who)
{
	unsigned wait_s = idle_s && idle_s < HELLO_TIMEOUT_S ? idle_s :
			  HELLO_TIMEOUT_S;
	struct pending pd[MAX_PENDING];
	struct pollfd pfd[MAX_PENDING + 1];
	struct conn *c = NULL;
	int n = 0;

	while (!c) {
		uint64_t now = now_ns(), limit = wait_s * 1000000000ULL;
		int r;

		/* the quiet ones first: their time is up */
		for (int i = 0; i < n; i++) {
			if (now - pd[i].since < limit)
				continue;
			pr_warn("%s: a connection said nothing for %u s: "
				"dropped", who, wait_s);
			drop_pending(pd, &n, i--);
		}
		pfd[0] = (struct pollfd){ .fd = l, .events = POLLIN };
		for (int i = 0; i < n; i++)
			pfd[i + 1] = (struct pollfd){ .fd = pd[i].fd,
						      .events = POLLIN };
		r = poll(pfd, n + 1, n ? 200 : -1);
		if (r < 0 && errno != EINTR) {
			pr_perror("%s: poll", who);
			break;
		}
		for (int i = n - 1; r > 0 && i >= 0 && !c; i--) {
			int fd = pd[i].fd;
			uint64_t left = limit - (now_ns() - pd[i].since);

			if (!pfd[i + 1].revents)
				continue;
			pd[i] = pd[--n];	/* greet takes (or closes) fd */
			c = greet(fd, tls, left / 1000000000ULL + 1, modes,
				  mode, who);
		}
		if (!c && r > 0 && pfd[0].revents && accept_one(l, pd, &n, who)) {
			pr_perror("%s: accept", who);
			break;
		}
	}
	while (n)
		drop_pending(pd, &n, 0);
	return c;
}

/* DIR there before anyone is waited for (made if missing, as a dump
 * makes its -D): a client would otherwise send its pages for nothing. */
static int check_dir(const char *dir)
{
	int fd;

	if (mkdir(dir, 0700) && errno != EEXIST) {
		pr_perror("page-server: can't make -D %s", dir);
		return -1;
	}
	/* not checked for writing: a pulling client (restore --lazy-pages
	 * --page-server) reads a DIR that may be read-only */
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		pr_perror("page-server: -D %s", dir);
		return -1;
	}
	close(fd);
	return 0;
}

int serve_pages(const char *dir, const char *addr, unsigned port,
		const struct tls_opts *tls, unsigned idle_s)
{
	int l, ret = -1, mode;
	struct conn *c;

	if (check_dir(dir))
		return -1;
	l = net_listen(addr, port, "page-server");
	if (l < 0)
		return -1;
	pr_info("page-server: %s on %s:%u%s", dir, addr ? addr : "*",
		net_local_port(l), tls && tls->on ? " (TLS)" : "");
	c = page_server_accept(l, tls, idle_s, 1u << XP_PULL | 1u << XP_PUSH,
			       &mode, "page-server");
	close(l);
	if (!c)
		return -1;
	ret = mode == XP_PULL ? serve_pull(c, dir, idle_s) :
				page_server_receive(c, dir, idle_s, false, NULL);
	conn_close(c);
	return ret;
}
