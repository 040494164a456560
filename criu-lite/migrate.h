/* SPDX-License-Identifier: GPL-2.0 */
/* criu-lite migrate: see migrate.c. */
#ifndef CRIU_LITE_MIGRATE_H
#define CRIU_LITE_MIGRATE_H

#include <stdbool.h>

#include "cr.h"

struct page_xfer;

/* migrate --postcopy: among the images, where the source serves the
 * memory it kept (HOST:PORT, text). */
#define POSTCOPY_SOURCE	"postcopy-source.img"

/* The frozen tree's images in dirfd go to the destination, which keeps
 * them and restores the tree; 0 once it says the tree runs there (or,
 * !wait_reply, once it has kept them: postcopy reads the reply while it
 * serves the memory). */
int migrate_handover(struct page_xfer *x, int dirfd, struct dump_stats *st,
		     bool wait_reply);
int cmd_migrate(int argc, char **argv);

#endif
