/* SPDX-License-Identifier: GPL-2.0 */
#ifndef CRIU_LITE_DUMP_H
#define CRIU_LITE_DUMP_H

#include "cr.h"

/* Freezes opts->pid's tree, writes its images to opts->dir, then kills it
 * or (leave_running) lets it go. On any failure the tree is left running
 * exactly as it was and no inventory.img is written. */
int dump_tree(const struct dump_opts *opts, struct dump_stats *st);
/* Writes a memory layer of opts->pid's tree into opts->dir (only what was
 * written since opts->prev_dir's layer, if its tracker kept tracking),
 * while the tree runs on; leaves a tracker for the next layer. */
int pre_dump_tree(const struct dump_opts *opts, struct dump_stats *st);

#endif
