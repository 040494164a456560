/* SPDX-License-Identifier: GPL-2.0 */
/* Command-line parsing into option structs (unit tested). */
#ifndef CRIU_LITE_CLI_H
#define CRIU_LITE_CLI_H

#include <stdio.h>

#include "cr.h"

/* argv[0] is the command name. Return 0 on success, 1 when --help was
 * printed (exit 0), -1 on a usage error (logged). */
int parse_dump_args(int argc, char **argv, struct dump_opts *o);
int parse_restore_args(int argc, char **argv, struct restore_opts *o);

struct page_server_opts {
	const char *dir;
	const char *address;	/* NULL: every address */
	int port;
};
int parse_page_server_args(int argc, char **argv, struct page_server_opts *o);

struct show_opts {
	const char *path;	/* DIR or FILE */
	bool json;
	int summary;		/* --ps/--fds/--mems: enum show_summary; -1 */
};
int parse_show_args(int argc, char **argv, struct show_opts *o);
int parse_pid(const char *s, pid_t *pid);
/* A decimal count 0..max for option opt; -1 with a message naming it. */
int parse_count(const char *opt, const char *s, long max, long *val);
/* The argument of -v (NULL for none): sets the log level, or -1. */
int parse_verbosity(const char *arg);
void usage(FILE *f);
/* The help of one command (its options only); the general one otherwise. */
void usage_of(const char *cmd, FILE *f);

#endif
