// SPDX-License-Identifier: GPL-2.0
/*
 * Image layers (see layers.h): the parent of a dump, and the chain a
 * restore follows.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "layers.h"
#include "log.h"
#include "page-frames.h"
#include "page-source.h"
#include "pagemap.h"
#include "seize.h"

void layer_new_id(uint8_t id[IMG_LAYER_ID_LEN])
{
	size_t got = 0;

	while (got < IMG_LAYER_ID_LEN) {
		ssize_t n = getrandom(id + got, IMG_LAYER_ID_LEN - got, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += n;
	}
	/* no entropy at all would be odd; time and pid still differ */
	if (got < IMG_LAYER_ID_LEN) {
		uint64_t t = now_ns() ^ ((uint64_t)getpid() << 32);

		memcpy(id, &t, sizeof(t));
	}
}

const char *layer_id_str(const uint8_t *id, size_t len, char *buf)
{
	if (!id || len != IMG_LAYER_ID_LEN) {
		snprintf(buf, 2 * IMG_LAYER_ID_LEN + 1, "(none)");
		return buf;
	}
	for (size_t i = 0; i < len; i++)
		snprintf(buf + 2 * i, 3, "%02x", id[i]);
	return buf;
}

/* ---- dump side ---- */

/*
 * DIR/REL. The kernel resolves it when DIR exists; a DIR the dump is
 * about to create does not, so its missing last components are taken
 * off by REL's leading "../" first (only those: an existing directory
 * is left to the kernel, symlinks and all).
 */
static void parent_path(const char *dir, const char *rel, char *out, size_t len)
{
	char d[PATH_MAX];
	struct stat st;
	size_t n;

	if (rel[0] == '/') {
		snprintf(out, len, "%s", rel);
		return;
	}
	snprintf(d, sizeof(d), "%s", dir);
	while (stat(d, &st) && !strncmp(rel, "../", 3)) {
		char *slash;

		n = strlen(d);
		while (n > 1 && d[n - 1] == '/')
			d[--n] = 0;
		slash = strrchr(d, '/');
		if (!slash)
			snprintf(d, sizeof(d), ".");
		else if (slash == d)
			d[1] = 0;	/* "/x": up to "/" */
		else
			*slash = 0;
		rel += 3;
	}
	snprintf(out, len, "%s/%s", d, rel);
}

int layer_parent_open(const char *dir, const char *rel, struct layer_parent *p)
{
	InventoryEntry *inv;
	int ret = -1;

	memset(p, 0, sizeof(*p));
	parent_path(dir, rel, p->dir, sizeof(p->dir));
	p->dirfd = open(p->dir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	if (p->dirfd < 0) {
		pr_perror("parent images %s (--prev-images-dir %s)", p->dir, rel);
		return -1;
	}
	inv = (InventoryEntry *)img_read_one(p->dirfd, IMG_INVENTORY, 0);
	if (!inv) {
		pr_err("parent images %s: no usable inventory.img (not a "
		       "complete dump or pre-dump)", p->dir);
		goto out;
	}
	if (!inv->has_format || inv->format != IMG_FORMAT ||
	    !inv->has_layer_id || inv->layer_id.len != IMG_LAYER_ID_LEN) {
		pr_err("%s/inventory.img: not a layer this criu-lite can build "
		       "on (format %u%s): dump it again", p->dir,
		       inv->has_format ? inv->format : 1,
		       inv->has_layer_id ? "" : ", no layer id");
		goto out;
	}
	memcpy(p->id, inv->layer_id.data, IMG_LAYER_ID_LEN);
	ret = 0;
out:
	if (inv)
		img_free_msg(NULL, &inv->base);
	if (ret)
		layer_parent_close(p);
	return ret;
}

void layer_parent_close(struct layer_parent *p)
{
	if (p->dirfd > 0)
		close(p->dirfd);
	p->dirfd = -1;
}

/* Runs in address order, none overlapping, page aligned. */
static int check_order(PagemapEntry *const *e, size_t n, const char *dir,
		       unsigned vpid)
{
	uint64_t prev_end = 0;

	for (size_t i = 0; i < n; i++) {
		uint64_t end = e[i]->vaddr + (uint64_t)e[i]->nr_pages * PAGE_SZ;

		if (e[i]->vaddr < prev_end || e[i]->vaddr % PAGE_SZ ||
		    !e[i]->nr_pages || end < e[i]->vaddr) {
			pr_err("%s/pagemap-%u.img: entry %zu at %#lx is out of "
			       "order or malformed", dir, vpid, i,
			       (long)e[i]->vaddr);
			return -1;
		}
		prev_end = end;
	}
	return 0;
}

static void free_runs(PagemapEntry **e, size_t n)
{
	for (size_t i = 0; e && i < n; i++)
		img_free_msg(NULL, &e[i]->base);
	free(e);
}

int parent_index_load(const struct layer_parent *p, unsigned vpid,
		      struct parent_index *ix)
{
	memset(ix, 0, sizeof(*ix));
	if (img_read_all(p->dirfd, IMG_PAGEMAP, vpid, true,
			 (ProtobufCMessage ***)&ix->e, &ix->n)) {
		if (errno == ENOENT && !ix->e)
			return 0;	/* not in the parent: read everything */
		pr_err("%s/pagemap-%u.img: can't be read", p->dir, vpid);
		goto err;
	}
	if (check_order(ix->e, ix->n, p->dir, vpid))
		goto err;
	return 0;
err:
	parent_index_free(ix);
	return -1;
}

enum parent_has parent_index_at(const struct parent_index *ix, uint64_t addr,
				uint64_t *until)
{
	size_t lo = 0, hi = ix->n;
	const PagemapEntry *e;

	while (lo < hi) {	/* the first run ending after addr */
		size_t mid = (lo + hi) / 2;
		const PagemapEntry *m = ix->e[mid];

		if (m->vaddr + (uint64_t)m->nr_pages * PAGE_SZ <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == ix->n) {
		*until = UINT64_MAX;
		return PARENT_NONE;
	}
	e = ix->e[lo];
	if (e->vaddr > addr) {
		*until = e->vaddr;
		return PARENT_NONE;
	}
	*until = e->vaddr + (uint64_t)e->nr_pages * PAGE_SZ;
	if (e->flags & PE_ZERO)
		return PARENT_ZERO;
	if (e->flags & (PE_PRESENT | PE_PARENT))
		return PARENT_DATA;
	return PARENT_NONE;
}

void parent_index_free(struct parent_index *ix)
{
	free_runs(ix->e, ix->n);
	ix->e = NULL;
	ix->n = 0;
}

/* ---- restore side ---- */

static int pages_size(struct layer *l)
{
	struct stat st;

	snprintf(l->pages, sizeof(l->pages), "pages-%u.img",
		 l->inv->has_pages_id ? l->inv->pages_id : 1);
	if (fstatat(l->dirfd, l->pages, &st, 0)) {
		pr_perror("open pages image %s/%s", l->path, l->pages);
		return -1;
	}
	l->size = st.st_size;
	return 0;
}

int layer_chain_init(struct layer_chain *ch, int dirfd, const char *dir,
		     InventoryEntry *inv)
{
	struct layer *l = &ch->l[0];

	memset(ch, 0, sizeof(*ch));
	snprintf(l->path, sizeof(l->path), "%s", dir);
	l->dirfd = dirfd;
	l->inv = inv;
	if (pages_size(l))
		return -1;
	ch->nr = 1;
	return 0;
}

static bool same_id(const ProtobufCBinaryData *a, const ProtobufCBinaryData *b)
{
	return a->len == IMG_LAYER_ID_LEN && b->len == IMG_LAYER_ID_LEN &&
	       !memcmp(a->data, b->data, IMG_LAYER_ID_LEN);
}

/* The parent of the last layer opened: it must be the very layer the
 * child was dumped on top of. */
static int open_parent(struct layer_chain *ch, unsigned vpid)
{
	struct layer *c = &ch->l[ch->nr - 1], *l = &ch->l[ch->nr];
	char target[PATH_MAX] = "?", path[PATH_MAX], a[40], b[40];
	ssize_t n;

	if (ch->nr == LAYER_MAX) {
		pr_err("%s: more than %d layers of parents", c->path, LAYER_MAX);
		return -1;
	}
	if (!c->inv->has_parent_id) {
		pr_err("%s/pagemap-%u.img has pages in a parent layer, but "
		       "%s/inventory.img names no parent: corrupt", c->path,
		       vpid, c->path);
		return -1;
	}
	n = readlinkat(c->dirfd, LAYER_LINK, target, sizeof(target) - 1);
	if (n >= 0)
		target[n] = 0;
	snprintf(path, sizeof(path), "%.*s/%s", PATH_MAX - 8, c->path,
		 LAYER_LINK);
	memcpy(l->path, path, sizeof(path));
	l->dirfd = openat(c->dirfd, LAYER_LINK, O_DIRECTORY | O_RDONLY |
			  O_CLOEXEC);
	if (l->dirfd < 0) {
		pr_perror("%s (-> %s), the parent layer that holds pages of "
			  "%s, is missing", l->path, target, c->path);
		return -1;
	}
	ch->nr++;	/* closed with the chain from here on */
	l->inv = (InventoryEntry *)img_read_one(l->dirfd, IMG_INVENTORY, 0);
	if (!l->inv) {
		pr_err("%s/inventory.img: the parent layer of %s can't be read",
		       l->path, c->path);
		return -1;
	}
	if (!l->inv->has_layer_id || !same_id(&l->inv->layer_id, &c->inv->parent_id)) {
		pr_err("%s/inventory.img: layer %s, but %s was dumped on top of "
		       "layer %s: the parent was replaced by another dump",
		       l->path, layer_id_str(l->inv->layer_id.data,
					     l->inv->layer_id.len, a),
		       c->path, layer_id_str(c->inv->parent_id.data,
					     c->inv->parent_id.len, b));
		return -1;
	}
	if (l->inv->pages_codec) {
		pr_err("%s/inventory.img: compressed pages (%s), but %s has pages "
		       "in it: a layer chain with compressed layers is not "
		       "supported yet", l->path,
		       pages_codec_name(l->inv->pages_codec) ?: "unknown codec",
		       c->path);
		return -1;
	}
	if (pages_size(l))
		return -1;
	l->base = c->base + (c->size + PAGE_SZ - 1) / PAGE_SZ * PAGE_SZ;
	return 0;
}

static void drop_pagemap(struct layer *l)
{
	free_runs(l->pm, l->nr_pm);
	l->pm = NULL;
	l->nr_pm = 0;
	l->pm_loaded = false;
}

/* A parent's pagemap of vpid, checked as restore checks DIR's own. */
static int load_pagemap(struct layer *l, unsigned vpid, const char *child)
{
	if (l->pm_loaded && l->pm_vpid == vpid)
		return 0;
	drop_pagemap(l);
	if (img_read_all(l->dirfd, IMG_PAGEMAP, vpid, true,
			 (ProtobufCMessage ***)&l->pm, &l->nr_pm)) {
		if (errno == ENOENT)
			pr_err("%s/pagemap-%u.img is missing: %s has pages of "
			       "process %u there", l->path, vpid, child, vpid);
		else
			pr_err("%s/pagemap-%u.img can't be read", l->path, vpid);
		return -1;
	}
	l->pm_loaded = true;
	l->pm_vpid = vpid;
	if (check_order(l->pm, l->nr_pm, l->path, vpid))
		return -1;
	for (size_t i = 0; i < l->nr_pm; i++) {
		const PagemapEntry *e = l->pm[i];
		uint64_t len = (uint64_t)e->nr_pages * PAGE_SZ;

		if (pagemap_run_csums_ok(e, vpid)) {
			pr_err("(in the parent layer %s)", l->path);
			return -1;
		}
		if ((e->flags & PE_PRESENT) &&
		    (!e->has_offset || e->offset % PAGE_SZ || e->offset > l->size ||
		     len > l->size - e->offset)) {
			pr_err("%s/%s: too short (%lu bytes) for the run at %#lx "
			       "of pagemap-%u.img: truncated image", l->path,
			       l->pages, (unsigned long)l->size, (long)e->vaddr,
			       vpid);
			return -1;
		}
	}
	return 0;
}

struct run_vec {
	PagemapEntry **v;
	bool *mine;		/* made here (else the caller's) */
	size_t n, cap;
};

static int vec_push(struct run_vec *o, PagemapEntry *e, bool mine)
{
	if (o->n == o->cap) {
		size_t cap = o->cap ? o->cap * 2 : 64;
		PagemapEntry **v = realloc(o->v, cap * sizeof(*v));
		bool *m = v ? realloc(o->mine, cap * sizeof(*m)) : NULL;

		if (v)
			o->v = v;
		if (!v || !m)
			return -1;
		o->mine = m;
		o->cap = cap;
	}
	o->v[o->n] = e;
	o->mine[o->n++] = mine;
	return 0;
}

/* A new run: nr pages at vaddr, PE_ZERO, or PE_PRESENT at offset with
 * the page checksums csums. */
static int vec_new(struct run_vec *o, uint64_t vaddr, uint32_t nr,
		   uint32_t flags, uint64_t offset, const uint32_t *csums)
{
	PagemapEntry *e = malloc(sizeof(*e));

	if (!e)
		return -1;
	pagemap_entry__init(e);
	e->vaddr = vaddr;
	e->nr_pages = nr;
	e->flags = flags;
	if (flags & PE_PRESENT) {
		e->page_csums = malloc(nr * sizeof(*csums));
		if (!e->page_csums) {
			free(e);
			return -1;
		}
		memcpy(e->page_csums, csums, nr * sizeof(*csums));
		e->n_page_csums = nr;
		e->checksum = run_csum_of(csums, nr);
		e->has_offset = true;
		e->offset = offset;
	}
	if (vec_push(o, e, true)) {
		img_free_msg(NULL, &e->base);
		return -1;
	}
	return 0;
}

/* The first run of l's pagemap that ends after addr. */
static size_t first_after(const struct layer *l, uint64_t addr)
{
	size_t lo = 0, hi = l->nr_pm;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		const PagemapEntry *m = l->pm[mid];

		if (m->vaddr + (uint64_t)m->nr_pages * PAGE_SZ <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* [start, end) of vpid as layer k holds it, into o. */
static int resolve_range(struct layer_chain *ch, size_t k, unsigned vpid,
			 uint64_t start, uint64_t end, struct run_vec *o)
{
	struct layer *l;
	size_t i;

	if (k == ch->nr && open_parent(ch, vpid))
		return -1;
	l = &ch->l[k];
	if (load_pagemap(l, vpid, ch->l[k - 1].path))
		return -1;
	for (i = first_after(l, start); start < end; i++) {
		const PagemapEntry *e = i < l->nr_pm ? l->pm[i] : NULL;
		uint64_t e_end, to;
		uint32_t first, nr;
		int ret;

		if (!e || e->vaddr > start) {
			pr_err("%s/pagemap-%u.img has no page at %#lx, which "
			       "%s/pagemap-%u.img says is in the parent layer",
			       l->path, vpid, (long)start, ch->l[k - 1].path,
			       vpid);
			return -1;
		}
		e_end = e->vaddr + (uint64_t)e->nr_pages * PAGE_SZ;
		to = e_end < end ? e_end : end;
		first = (start - e->vaddr) / PAGE_SZ;
		nr = (to - start) / PAGE_SZ;
		if (e->flags & PE_PRESENT)
			ret = vec_new(o, start, nr, PE_PRESENT,
				      l->base + e->offset + (uint64_t)first * PAGE_SZ,
				      e->page_csums + first);
		else if (e->flags & PE_ZERO)
			ret = vec_new(o, start, nr, PE_ZERO, 0, NULL);
		else if (e->flags & PE_PARENT)
			ret = resolve_range(ch, k + 1, vpid, start, to, o);
		else {
			pr_err("%s/pagemap-%u.img: run at %#lx has flags %#x",
			       l->path, vpid, (long)e->vaddr, e->flags);
			ret = -1;
		}
		if (ret)
			return -1;
		start = to;
	}
	return 0;
}

bool pagemap_has_parent_runs(PagemapEntry *const *pme, size_t nr)
{
	for (size_t i = 0; i < nr; i++)
		if (pme[i]->flags & PE_PARENT)
			return true;
	return false;
}

int layer_resolve(struct layer_chain *ch, unsigned vpid, PagemapEntry ***pme,
		  size_t *nr)
{
	struct run_vec o = { 0 };
	int ret = 0;

	for (size_t i = 0; i < *nr && !ret; i++) {
		PagemapEntry *e = (*pme)[i];

		if (e->flags & PE_PARENT)
			ret = resolve_range(ch, 1, vpid, e->vaddr, e->vaddr +
					    (uint64_t)e->nr_pages * PAGE_SZ, &o);
		else
			ret = vec_push(&o, e, false);
	}
	for (size_t k = 1; k < ch->nr; k++)
		drop_pagemap(&ch->l[k]);
	if (ret) {
		for (size_t i = 0; i < o.n; i++)
			if (o.mine[i])
				img_free_msg(NULL, &o.v[i]->base);
		free(o.v);
		free(o.mine);
		return -1;
	}
	for (size_t i = 0; i < *nr; i++)
		if ((*pme)[i]->flags & PE_PARENT)
			img_free_msg(NULL, &(*pme)[i]->base);
	free(*pme);
	free(o.mine);
	*pme = o.v;
	*nr = o.n;
	return 0;
}

void layer_chain_close(struct layer_chain *ch)
{
	for (size_t k = 0; k < ch->nr; k++) {
		drop_pagemap(&ch->l[k]);
		if (!k)
			continue;	/* DIR's own: the caller's */
		if (ch->l[k].dirfd >= 0)
			close(ch->l[k].dirfd);
		if (ch->l[k].inv)
			img_free_msg(NULL, &ch->l[k].inv->base);
	}
	ch->nr = 0;
}
