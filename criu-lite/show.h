/* SPDX-License-Identifier: GPL-2.0 */
#ifndef CRIU_LITE_SHOW_H
#define CRIU_LITE_SHOW_H

#include <stdbool.h>
#include <stdio.h>

/* Decodes an image file, or every image of a directory, to out: one
 * entry per line as text, or as a JSON document per file. */
int show_path(const char *path, bool json, FILE *out);

#endif
