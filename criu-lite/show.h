/* SPDX-License-Identifier: GPL-2.0 */
#ifndef CRIU_LITE_SHOW_H
#define CRIU_LITE_SHOW_H

#include <stdbool.h>
#include <stdio.h>

/* Decodes an image file, or every image of a directory, to out: one
 * entry per line as text (and one line per VMA, sigaction, ... below
 * it), or as a JSON document per file. Flag words are shown by name,
 * registers by name; in JSON, 64-bit values past 2^53 are strings of
 * their digits. The JSON is valid whatever the images hold. */
int show_path(const char *path, bool json, FILE *out);

/* Summaries of a whole images directory, as CRIU's `crit x`: the process
 * tree, each process' fds, each process' memory (VMAs with the pages
 * stored for each). 0, or -1 if an image could not be read (named on
 * stderr; the JSON then carries "error" members and stays valid). */
enum show_summary { SHOW_PS, SHOW_FDS, SHOW_MEMS };
int show_summary(const char *dir, enum show_summary what, bool json,
		 FILE *out);

#endif
