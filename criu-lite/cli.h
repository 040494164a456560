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

#define IDLE_TIMEOUT_DEFAULT	120	/* s: a silent peer is dropped after */

struct page_server_opts {
	const char *dir;
	const char *address;	/* default: loopback only */
	int port;		/* 0: one the kernel picks */
	struct tls_opts tls;
	unsigned idle_s;	/* --idle-timeout */
};
int parse_page_server_args(int argc, char **argv, struct page_server_opts *o);

struct show_opts {
	const char *path;	/* DIR or FILE */
	bool json;
	int summary;		/* --ps/--fds/--mems: enum show_summary; -1 */
};
int parse_show_args(int argc, char **argv, struct show_opts *o);
/* A page server to reach: CRIU's --page-server --address HOST --port N,
 * or the alias --page-server HOST:PORT. page_server_word at --page-server
 * (optional_argument in the table): the HOST:PORT given, or NULL;
 * page_server_target after the options: *address and *port from it (-1
 * logged: both forms, or a bad HOST:PORT). */
const char *page_server_word(int argc, char **argv);
int page_server_target(const char *cmd, const char *word,
		       const char **address, unsigned *port);
/* "HOST:PORT" of address and port, "[HOST]:PORT" for IPv6, into buf */
const char *page_server_hostport(char *buf, size_t len, const char *address,
				 unsigned port);
int parse_pid(const char *s, pid_t *pid);
/* A decimal count 0..max for option opt; -1 with a message naming it. */
int parse_count(const char *opt, const char *s, long max, long *val);
/* The argument of -v (NULL for none): sets the log level, or -1. */
int parse_verbosity(const char *arg);
/* The TLS options, CRIU's names, for every command with a connection:
 * their getopt_long entries (option values OPT_TLS...), one option into
 * t (0, or -1 logged), and the check that --tls-* come with --tls. */
enum { OPT_TLS = 0x1000, OPT_TLS_CACERT, OPT_TLS_CERT, OPT_TLS_KEY,
       OPT_TLS_NO_CN };
#define TLS_LONG_OPTIONS \
	{ "tls", no_argument, NULL, OPT_TLS }, \
	{ "tls-cacert", required_argument, NULL, OPT_TLS_CACERT }, \
	{ "tls-cert", required_argument, NULL, OPT_TLS_CERT }, \
	{ "tls-key", required_argument, NULL, OPT_TLS_KEY }, \
	{ "tls-no-cn-verify", no_argument, NULL, OPT_TLS_NO_CN }
#define IS_TLS_OPTION(c)	((c) >= OPT_TLS && (c) <= OPT_TLS_NO_CN)
int parse_tls_option(int c, const char *arg, struct tls_opts *t);
int check_tls_opts(const char *cmd, const struct tls_opts *t);
/* --lazy-timeout S (0 to 86400) */
int parse_lazy_timeout(const char *arg, unsigned *s);
/* getopt_long's ':' or '?' (c) for cmd, as a message naming the option
 * and cmd's --help: -1 */
int cli_bad_option(const char *cmd, int c, char **argv);
/* A word left after the options: its message, -1; else 0 */
int cli_stray_args(const char *cmd, int argc, char **argv);
/* --idle-timeout S (1 to 86400) */
int parse_idle_timeout(const char *arg, unsigned *s);
void usage(FILE *f);
/* The help of one command (its options only); the general one otherwise. */
void usage_of(const char *cmd, FILE *f);

#endif
