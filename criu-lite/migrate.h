/* SPDX-License-Identifier: GPL-2.0 */
/* criu-lite migrate: see migrate.c. */
#ifndef CRIU_LITE_MIGRATE_H
#define CRIU_LITE_MIGRATE_H

#include "cr.h"

struct page_xfer;

/* The frozen tree's images in dirfd go to the destination, which keeps
 * them and restores the tree; 0 once it says the tree runs there. */
int migrate_handover(struct page_xfer *x, int dirfd, struct dump_stats *st);
int cmd_migrate(int argc, char **argv);

#endif
