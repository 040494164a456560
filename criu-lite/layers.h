/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Image layers: a pre-dump chain, as CRIU makes it. Each layer (a
 * pre-dump, or the final dump) stores only the pages written since its
 * parent; its pagemap marks the others PE_PARENT (or PE_ZERO where the
 * parent holds zeros). DIR/parent is a symlink to the parent's directory,
 * relative, as given with --prev-images-dir; DIR/inventory.img records
 * the parent's layer_id, so a parent that is missing or was replaced by
 * another dump is refused, naming the file, instead of lending the wrong
 * pages.
 *
 * Dump side: the parent named by --prev-images-dir, and per process its
 * pagemap as an index ("what does the parent hold at this address").
 * Restore side: the chain from DIR upwards, opened as far as the runs
 * need; PE_PARENT runs resolved into runs of the layer that holds the
 * data, with that layer's page checksums; one page source over the
 * pages files of every layer used (a layer's offsets shifted by its base).
 */
#ifndef CRIU_LITE_LAYERS_H
#define CRIU_LITE_LAYERS_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "image.h"
#include "inventory.pb-c.h"
#include "pagemap.pb-c.h"

#define LAYER_LINK	"parent"
#define LAYER_MAX	64	/* deepest chain followed */

/* A new random layer id. */
void layer_new_id(uint8_t id[IMG_LAYER_ID_LEN]);
/* An id as 32 hex digits (buf: 33 bytes), for messages. */
const char *layer_id_str(const uint8_t *id, size_t len, char *buf);

/* ---- dump side ---- */

struct layer_parent {
	char dir[PATH_MAX];	/* DIR/REL */
	uint8_t id[IMG_LAYER_ID_LEN];
	int dirfd;
};

/*
 * The parent layer rel (relative to dir, like the symlink DIR/parent
 * that the dump writes; dir need not exist yet): its inventory must be a
 * complete layer of this image format. -1 (logged, naming the file)
 * otherwise.
 */
int layer_parent_open(const char *dir, const char *rel, struct layer_parent *p);
void layer_parent_close(struct layer_parent *p);

/* What the parent holds of one process, by address. */
struct parent_index {
	PagemapEntry **e;	/* the parent's pagemap-VPID.img, sorted */
	size_t n;
};

enum parent_has {
	PARENT_NONE,	/* nothing: the page must be read */
	PARENT_ZERO,	/* a zero page */
	PARENT_DATA,	/* data there or further up (PE_PRESENT, PE_PARENT) */
};

/* vpid's pagemap in the parent; a process the parent lacks gets an empty
 * index (its pages are all read). -1 on a corrupt pagemap (logged). */
int parent_index_load(const struct layer_parent *p, unsigned vpid,
		      struct parent_index *ix);
/* What the parent holds at addr; *until: where that answer ends. */
enum parent_has parent_index_at(const struct parent_index *ix, uint64_t addr,
				uint64_t *until);
void parent_index_free(struct parent_index *ix);

/* ---- restore side ---- */

struct layer {
	char path[PATH_MAX];	/* DIR, DIR/parent, DIR/parent/parent... */
	int dirfd;
	InventoryEntry *inv;
	char pages[32];		/* its pages file */
	uint64_t size;		/* of the pages file */
	uint64_t base;		/* where its pages are in the chain's source */
	/* the pagemap of the process being resolved */
	unsigned pm_vpid;
	bool pm_loaded;
	PagemapEntry **pm;
	size_t nr_pm;
};

struct layer_chain {
	struct layer l[LAYER_MAX];
	size_t nr;		/* layers opened so far: l[0] is DIR */
};

/* The chain with DIR (dirfd and inv stay the caller's) as layer 0; its
 * pages file must exist. Parents are opened when a run needs them. */
int layer_chain_init(struct layer_chain *ch, int dirfd, const char *dir,
		     InventoryEntry *inv);
/*
 * Replaces the PE_PARENT runs of process vpid's pagemap (*pme, *nr: the
 * runs of layer 0, already checked) by the runs of the layers that hold
 * those pages: PE_PRESENT runs at base + offset with their page
 * checksums, or PE_ZERO. A parent missing, replaced, or without the page
 * is refused, naming the file.
 */
int layer_resolve(struct layer_chain *ch, unsigned vpid, PagemapEntry ***pme,
		  size_t *nr);
/* Whether a pagemap has runs in a parent layer. */
bool pagemap_has_parent_runs(PagemapEntry *const *pme, size_t nr);
void layer_chain_close(struct layer_chain *ch);

#endif
