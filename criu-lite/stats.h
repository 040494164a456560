/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The figures of a dump or a restore, kept in the images directory as
 * stats-dump / stats-restore (proto/stats.proto, CRIU's field names where
 * they mean the same) and printed as a table by --display-stats. What is
 * printed is what the file holds: both come from the same entry.
 */
#ifndef CRIU_LITE_STATS_H
#define CRIU_LITE_STATS_H

#include <stdbool.h>
#include <stdio.h>

#include "cr.h"
#include "restore.h"

/* Writes dir/stats-dump (dir: the committed images directory). A failure
 * is logged as a warning and returned: the dump itself stands. display:
 * also print the table to out. */
int stats_record_dump(const char *dir, const struct dump_stats *st,
		      bool display, FILE *out);
/* Writes stats-restore into the images directory at dirfd if it is
 * writable (a warning otherwise), and prints the table if display. */
int stats_record_restore(int dirfd, const char *dir,
			 const struct restore_stats *st, bool display,
			 FILE *out);

#endif
