// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "log.h"
#include "net.h"
#include "page-frames.h"
#include "show.h"

static const char main_text[] =
"usage: criu-lite COMMAND [OPTIONS]    (criu-lite COMMAND --help: its options)\n"
"\n"
"Commands:\n"
"  check [--json]             probe the kernel features criu-lite uses\n"
"  dump -t PID -D DIR         checkpoint PID's process tree into DIR\n"
"  pre-dump -t PID -D DIR     copy its memory while it runs on (a layer that\n"
"                             the next pre-dump or dump builds on)\n"
"  restore -D DIR             bring a dumped tree back, same PIDs\n"
"  show DIR|FILE [--json]     decode images\n"
"  page-server -D DIR --port N [--address IP] [--tls]\n"
"                             receive a dump --page-server's pages into\n"
"                             DIR, or serve DIR's pages to one restore\n"
"                             --lazy-pages --page-server (then exit)\n"
"  migrate -t PID --to HOST:PORT | --incoming HOST:PORT -D DIR\n"
"                             move a running tree to another host\n"
"  lazy-pages --page-server --address HOST --port N -D DIR\n"
"                             the lazy-pages daemon: fills the memory of a\n"
"                             restore -D DIR --lazy-pages from a page server\n"
"\n"
"Common options: -v[N], --verbose[=N] (0-4, repeat for more), -o, --log-file\n"
"FILE (dump, pre-dump, restore), -h, --help, -V, --version\n"
"\n"
"A failed or interrupted dump leaves the tree running as it was and DIR as\n"
"it was; restore reads and checks every image before it creates anything.\n"
"Manual: criu-lite(8).\n";

static const char dump_text[] =
"usage: criu-lite dump -t PID -D DIR [OPTIONS]\n"
"\n"
"Checkpoints the process tree rooted at PID into DIR, then kills it (or\n"
"lets it run on with -R). Killed or failing at any moment, criu-lite leaves\n"
"the tree running exactly as it was and DIR as it was.\n"
"\n"
"  -t, --tree PID             root of the tree to dump\n"
"  -D, --images-dir DIR       where images go (created if missing; replaced\n"
"                             only once the new dump is complete)\n"
"  -R, --leave-running        let the tree go on running after the dump\n"
"                             (default: kill it once the images are safe)\n"
"  -j, --shell-job            accepted for CRIU's habits: a terminal is\n"
"                             always dumped as a path to reopen\n"
"      --precopy-rounds N     copy memory while the tree runs first (N\n"
"                             rounds: all, then what was written since),\n"
"                             so the final freeze copies only the rest;\n"
"                             writes are tracked with uffd-wp (splits\n"
"                             transparent huge pages) or soft-dirty\n"
"      --precopy-until PAGES  stop the rounds early once a round finds\n"
"                             fewer written pages (default 256)\n"
"      --precopy-ms MS        pause between rounds (default 0)\n"
"      --compress CODEC       compress the pages image: lz4 (fastest), zstd\n"
"                             (smaller) or none (the default); each page\n"
"                             is still checked and fetched on its own\n"
"      --no-sync              do not wait for the images to reach the disk\n"
"                             (default: they are, before the tree is\n"
"                             killed; use when they are read right away,\n"
"                             as in a migration)\n"
"      --tcp-established      dump established TCP connections (repair\n"
"                             mode: sequence numbers, queues, window; the\n"
"                             peers keep their connection); without it\n"
"                             they are refused\n"
"      --tcp-close            dump established TCP connections as closed\n"
"                             sockets (bound where they were, reading EOF,\n"
"                             writing EPIPE; as CRIU's), nothing of their\n"
"                             state (--tcp-established wins if both)\n"
"      --network-lock nftables|skip\n"
"                             with --tcp-established: the peers' segments\n"
"                             are dropped from the kill until restore (an\n"
"                             nftables table; nftables, the default), or\n"
"                             not (skip: a peer that sends meanwhile gets\n"
"                             a reset)\n"
"      --qmp SOCK             QEMU: stop the VM through this QMP socket\n"
"                             before freezing (the guest then sees no time\n"
"                             jump); restore continues it\n"
"      --prev-images-dir REL  the layer (pre-dump) this dump builds on,\n"
"                             relative to DIR: DIR/parent links to it\n"
"      --track-mem            with --prev-images-dir: store only pages\n"
"                             written since that layer (its tracker kept\n"
"                             track); the others are taken from it at\n"
"                             restore. Ends the tracking: no write\n"
"                             protection is left in the tree\n"
"      --page-server          send pages and pagemaps to a criu-lite\n"
"                             page-server at --address HOST --port N\n"
"                             (or --page-server HOST:PORT) instead of\n"
"                             DIR (checked there as they arrive, kept\n"
"                             there only once complete; the tree is\n"
"                             killed only after that)\n"
"      --address HOST, --port N  the page server (with --lazy-pages:\n"
"                             where this dump serves the pages it kept)\n"
"      --idle-timeout S       give up on a page server that takes nothing\n"
"                             and answers nothing for S seconds (default\n"
"                             30; the connect and its greeting too): the\n"
"                             dump fails, the tree runs on, DIR as it was\n"
"      --lazy-pages           leave the large anonymous memory in the\n"
"                             tree, frozen, and serve it at --address\n"
"                             --port to restore --lazy-pages --page-server\n"
"                             (each page with its checksum); the tree is\n"
"                             killed once the destination has every page\n"
"                             (--leave-running: let go). If no request\n"
"                             comes for --lazy-timeout, the tree runs on\n"
"                             here and the dump fails\n"
"      --lazy-timeout S       with --lazy-pages (default 60)\n"
"      --tls                  TLS to the page server, certificates checked\n"
"                             both ways (--tls-cacert, --tls-cert,\n"
"                             --tls-key FILE; --tls-no-cn-verify: see\n"
"                             criu-lite(8))\n"
"      --display-stats        print the dump's figures at the end (they are\n"
"                             kept in DIR/stats-dump: criu-lite show)\n"
"      --progress-fd N        machine-readable progress lines on fd N\n"
"                             (phase=P done=N total=N bytes=N elapsed_ms=N);\n"
"                             stderr shows progress after a second anyway\n"
"  -o, --log-file FILE        log into FILE (relative to DIR, as CRIU; '-':\n"
"                             stderr), each line stamped; errors and\n"
"                             warnings go to stderr too\n"
"  -v, --verbose[=N], -vN     more messages: -v0 errors only, -v1 and\n"
"                             warnings, -v2 notes (default), -v3 debug\n"
"                             (stages, VMAs, fds), -v4 each injected\n"
"                             syscall; -v, -vv: one, two levels more\n"
"  -h, --help                 this text\n";

static const char pre_dump_text[] =
"usage: criu-lite pre-dump -t PID -D DIR [--prev-images-dir REL] [OPTIONS]\n"
"\n"
"Copies the memory of the tree rooted at PID into DIR while it runs on\n"
"(it is frozen only to list its pages). With --prev-images-dir, only the\n"
"pages written since that layer are copied, the rest refers to it. Then\n"
"a small tracker process keeps tracking the tree's writes (userfaultfd\n"
"write-protect: splits transparent huge pages, ~1.5 us per first write),\n"
"for the next pre-dump or dump --prev-images-dir REL --track-mem. It\n"
"ends when that one takes it, when the tree exits, when DIR is removed,\n"
"or after --track-timeout; then the next layer copies everything.\n"
"\n"
"  -t, --tree PID             root of the tree\n"
"  -D, --images-dir DIR       where the layer goes (replaced only once\n"
"                             complete)\n"
"      --prev-images-dir REL  the layer before, relative to DIR\n"
"      --track-mem            accepted for CRIU's habits (always on)\n"
"  -j, --shell-job            accepted for CRIU's habits (terminals are\n"
"                             always reopened by path)\n"
"      --track-timeout S      the tracker's life at most (default 3600)\n"
"      --tcp-established      accept established TCP connections (the\n"
"                             dump that ends the chain needs it too)\n"
"      --no-sync              do not wait for the images to reach the disk\n"
"      --display-stats        print the layer's figures at the end (they are\n"
"                             kept in DIR/stats-dump, as CRIU's)\n"
"      --page-server          the layer's pages go to a criu-lite\n"
"                             page-server at --address HOST --port N (with\n"
"                             its inventory and parent link: the chain is\n"
"                             rebuilt there, one directory per layer)\n"
"      --address HOST, --port N  the page server\n"
"      --idle-timeout S       give up on a page server that takes nothing\n"
"                             and answers nothing for S seconds (default\n"
"                             30; the connect and its greeting too)\n"
"      --tls                  TLS to the page server, certificates checked\n"
"                             both ways (--tls-cacert, --tls-cert,\n"
"                             --tls-key FILE; --tls-no-cn-verify: see\n"
"                             criu-lite(8))\n"

"  -o, --log-file FILE        log into FILE (relative to DIR, as CRIU; '-':\n"
"                             stderr), each line stamped; errors and\n"
"                             warnings go to stderr too\n"
"  -v, --verbose[=N], -vN     more messages: -v0 errors only, -v1 and\n"
"                             warnings, -v2 notes (default), -v3 debug\n"
"                             (stages, VMAs, fds), -v4 each injected\n"
"                             syscall; -v, -vv: one, two levels more\n"
"  -h, --help                 this text\n";

static const char restore_text[] =
"usage: criu-lite restore -D DIR [OPTIONS]\n"
"\n"
"Brings the tree dumped in DIR back under its PIDs and TIDs. Every image\n"
"and every page is checked before anything is created; a failed or killed\n"
"restore leaves nothing behind.\n"
"\n"
"  -D, --images-dir DIR       images to restore\n"
"  -d, --restore-detached     return once the tree runs (default: wait for\n"
"                             the root and exit with its status)\n"
"  -j, --shell-job            accepted for CRIU's habits: terminals are\n"
"                             always reopened by the path dumped\n"
"      --pidns                restore into a new PID namespace (under a\n"
"                             small init), so taken PIDs do not matter\n"
"      --lazy-pages           resume at once; large anonymous memory is\n"
"                             filled on fault (userfaultfd) and in the\n"
"                             background by a lazy-pages daemon (if it\n"
"                             dies first, the process is killed)\n"
"      --page-server          with --lazy-pages: pages come from a\n"
"                             criu-lite page-server or a dump\n"
"                             --lazy-pages at --address HOST --port N\n"
"                             (the other images are read from DIR, and\n"
"                             its pages-1.img if there); --page-server\n"
"                             HOST:PORT is the same\n"
"      --address HOST, --port N  that page server\n"
"      --lazy-timeout S       a lost page server is reconnected this long\n"
"                             (default 60); then the restored process is\n"
"                             killed, never left on missing pages\n"
"      --tls                  TLS to the page server, certificates checked\n"
"                             both ways (--tls-cacert, --tls-cert,\n"
"                             --tls-key FILE; --tls-no-cn-verify: see\n"
"                             criu-lite(8))\n"
"      --tcp-established      restore established TCP connections (a dump\n"
"                             that holds some is refused without it)\n"
"      --tcp-close            restore them as closed sockets (bound where\n"
"                             they were, reading EOF, writing EPIPE; as\n"
"                             CRIU's); wins over --tcp-established\n"
"      --no-cont              leave a VM stopped by dump --qmp stopped\n"
"      --verify               also read every restored page back from the\n"
"                             process and compare it before it is let go\n"
"      --no-verify            skip the page checksums (they are checked by\n"
"                             default, as the pages go in)\n"
"      --zombie-wait MS       wait this long for a PID held by a zombie\n"
"                             (default 5000)\n"
"      --display-stats        print the restore's figures once the tree\n"
"                             runs (kept in DIR/stats-restore if DIR is\n"
"                             writable)\n"
"      --progress-fd N        machine-readable progress lines on fd N (the\n"
"                             lazy-pages daemon's fill too)\n"
"  -o, --log-file FILE        log into FILE (relative to DIR, as CRIU; '-':\n"
"                             stderr), each line stamped; errors and\n"
"                             warnings go to stderr too\n"
"  -v, --verbose[=N], -vN     more messages: -v0 errors only, -v1 and\n"
"                             warnings, -v2 notes (default), -v3 debug\n"
"                             (stages, VMAs, fds), -v4 each injected\n"
"                             syscall; -v, -vv: one, two levels more\n"
"  -h, --help                 this text\n";

static const char show_text[] =
"usage: criu-lite show DIR|FILE [--json]\n"
"       criu-lite show --ps|--fds|--mems DIR [--json]\n"
"\n"
"Decodes an images directory or one image file as text (one line per\n"
"entry, and one per VMA, sigaction, ... below it), or as JSON with --json\n"
"(always valid JSON, corrupt images included: a file that can't be read\n"
"gets an \"error\" member). Flag words are shown by name (PE_PRESENT,\n"
"MAP_PRIVATE, PROT_READ, O_RDWR, SA_RESTART), registers by name (rip,\n"
"rsp, ...); in JSON, 64-bit values past 2^53 are strings of their digits.\n"
"\n"
"      --json                 JSON instead of text\n"
"      --ps                   the process tree (as crit x DIR ps)\n"
"      --fds                  each process' fds and cwd (crit x DIR fds)\n"
"      --mems                 each process' VMAs with their pages: stored,\n"
"                             zero, in the parent layer, lazy (left in the\n"
"                             source by dump --lazy-pages) (crit x DIR mems)\n"
"  -h, --help                 this text\n"
"\n"
"CRIU's crit does not read these images: the file names are CRIU's, but\n"
"the magic, the format-2 header (id) and checksum trailer, and the\n"
"messages differ (see criu-lite(8)).\n";

static const char page_server_text[] =
"usage: criu-lite page-server -D DIR --port N [--address IP]\n"
"\n"
"Waits on TCP port N (of 127.0.0.1, or IP) for one criu-lite client,\n"
"serves it, then exits:\n"
"  - dump --page-server --address HOST --port N sends its pages and\n"
"    pagemaps here: each stored run is checked against its page checksums\n"
"    as it arrives; all is kept apart until the dump says it is done, then\n"
"    moved into DIR (created if missing) and synced. A dump that fails or\n"
"    dies leaves DIR as it was.\n"
"  - restore --lazy-pages --page-server --address HOST --port N, or a\n"
"    lazy-pages daemon, fetches DIR's pages on demand.\n"
"  - a pre-dump chain sent layer by layer (one page-server each, DIRs side\n"
"    by side) is kept as the dump made it: DIR/parent links.\n"
"Connections that are not criu-lite's are ignored, silent ones dropped.\n"
"\n"
"  -D, --images-dir DIR       where a dump's pages go, or whose pages a\n"
"                             restore fetches (made if missing; refused\n"
"                             at once if it can't be)\n"
"      --port N               TCP port to listen on (0: one that is free,\n"
"                             printed)\n"
"      --address IP           listen on this address (default 127.0.0.1;\n"
"                             '*': every address)\n"
"      --idle-timeout S       drop a client that sends nothing for S\n"
"                             seconds (default 120; one that does not\n"
"                             greet, after at most 10)\n"
"      --tls                  TLS, the client's certificate checked\n"
"      --tls-cacert FILE      the CA a client's certificate must be\n"
"                             signed by (default /etc/pki/CA/cacert.pem)\n"
"      --tls-cert FILE        the server's certificate (default\n"
"                             /etc/pki/criu/cert.pem)\n"
"      --tls-key FILE         its key (/etc/pki/criu/private/key.pem)\n"
"  -v, --verbose[=N], -vN     log level, as for dump\n"
"  -h, --help                 this text\n";

void usage(FILE *f)
{
	fputs(main_text, f);
}

void usage_of(const char *cmd, FILE *f)
{
	static const struct { const char *cmd, *text; } t[] = {
		{ "dump", dump_text }, { "pre-dump", pre_dump_text },
		{ "restore", restore_text },
		{ "show", show_text }, { "page-server", page_server_text },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (!strcmp(cmd, t[i].cmd)) {
			fputs(t[i].text, f);
			return;
		}
	}
	fputs(main_text, f);
}

/* getopt's own messages would say "dump: ..." without our prefix: ours
 * name the option and the command. */
int cli_bad_option(const char *cmd, int c, char **argv)
{
	const char *arg = optind > 0 ? argv[optind - 1] : "";
	char shortopt[3] = { '-', (char)optopt, 0 };
	bool is_long = !strncmp(arg, "--", 2);
	const char *eq = is_long ? strchr(arg, '=') : NULL;

	if (!is_long)
		arg = shortopt;
	if (c == ':')
		pr_err("%s: option %s needs a value (see criu-lite %s --help)",
		       cmd, arg, cmd);
	else if (eq)
		pr_err("%s: option %.*s takes no value, or is unknown (see "
		       "criu-lite %s --help)", cmd, (int)(eq - arg), arg, cmd);
	else
		pr_err("%s: unknown option %s (see criu-lite %s --help)", cmd,
		       arg, cmd);
	return -1;
}

int cli_stray_args(const char *cmd, int argc, char **argv)
{
	if (optind == argc)
		return 0;
	pr_err("%s: unexpected argument \"%s\" (see criu-lite %s --help)", cmd,
	       argv[optind], cmd);
	return -1;
}

/*
 * A page server to reach, CRIU's way: --page-server --address HOST --port N
 * (dump, pre-dump, restore --lazy-pages, lazy-pages). The older shorthand
 * --page-server HOST:PORT (or =HOST:PORT) stays an alias: the word after
 * --page-server is taken when it is no option. Called as getopt_long
 * returns --page-server (declared optional_argument).
 */
const char *page_server_word(int argc, char **argv)
{
	if (optarg)
		return optarg;
	if (optind < argc && argv[optind][0] && argv[optind][0] != '-')
		return argv[optind++];
	return NULL;
}

/* After the options: *address and *port from word (HOST:PORT) when the
 * shorthand was given, else as --address and --port set them. */
int page_server_target(const char *cmd, const char *word,
		       const char **address, unsigned *port)
{
	char host[256];

	if (!word)
		return 0;
	if (*address || *port) {
		pr_err("%s: --page-server %s and --address/--port: one or the "
		       "other", cmd, word);
		return -1;
	}
	if (net_split(word, host, sizeof(host), port))
		return -1;
	*address = strdup(host);	/* lives as the options do */
	return *address ? 0 : -1;
}

/* "HOST:PORT" ("[HOST]:PORT" for an IPv6 address) into buf */
const char *page_server_hostport(char *buf, size_t len, const char *address,
				 unsigned port)
{
	snprintf(buf, len, strchr(address, ':') ? "[%s]:%u" : "%s:%u",
		 address, port);
	return buf;
}

int parse_pid(const char *s, pid_t *pid)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (!*s || *end || v <= 0 || v > (1 << 22)) {
		pr_err("bad PID \"%s\"", s);
		return -1;
	}
	*pid = v;
	return 0;
}

int parse_count(const char *opt, const char *s, long max, long *val)
{
	char *end;

	errno = 0;
	*val = strtol(s, &end, 10);
	if (!*s || *end || errno || *val < 0 || *val > max) {
		pr_err("bad number \"%s\" for %s (0 to %ld)", s, opt, max);
		return -1;
	}
	return 0;
}

int parse_tls_option(int c, const char *arg, struct tls_opts *t)
{
	switch (c) {
	case OPT_TLS:
		t->on = true;
		break;
	case OPT_TLS_CACERT:
		t->cacert = arg;
		break;
	case OPT_TLS_CERT:
		t->cert = arg;
		break;
	case OPT_TLS_KEY:
		t->key = arg;
		break;
	default:
		t->no_cn_verify = true;
	}
	return 0;
}

int check_tls_opts(const char *cmd, const struct tls_opts *t)
{
	if (!t->on && (t->cacert || t->cert || t->key || t->no_cn_verify)) {
		pr_err("%s: --tls-cacert, --tls-cert, --tls-key and "
		       "--tls-no-cn-verify go with --tls", cmd);
		return -1;
	}
	return 0;
}

int parse_lazy_timeout(const char *arg, unsigned *s)
{
	long val;

	if (parse_count("--lazy-timeout", arg, 86400, &val))
		return -1;
	*s = val;
	return 0;
}

int parse_idle_timeout(const char *arg, unsigned *s)
{
	long val;

	if (parse_count("--idle-timeout", arg, 86400, &val))
		return -1;
	if (!val) {
		pr_err("bad number \"0\" for --idle-timeout (1 to 86400 "
		       "seconds)");
		return -1;
	}
	*s = val;
	return 0;
}

/* pre-dump's and dump's layer options, beyond the option letters */
enum { OPT_PREV = 256, OPT_TRACK, OPT_TRACK_TIMEOUT, OPT_TCP_EST,
       OPT_NETLOCK, OPT_TCP_CLOSE, OPT_IDLE_TIMEOUT };

/* What makes no sense for the command (or together), in words. */
static const char *dump_opts_conflict(const struct dump_opts *o, bool pre)
{
	if (pre && o->leave_running)
		return "--leave-running: a pre-dump always leaves the tree running";
	if (pre && o->qmp)
		return "--qmp: a pre-dump does not stop the VM";
	if (pre && o->precopy_rounds)
		return "--precopy-rounds: pre-dump layers are the rounds";
	if (pre && o->compress)
		return "--compress is not supported yet for a pre-dump (layers "
		       "are plain images)";
	if (pre && o->progress_fd >= 0)
		return "--progress-fd is not supported yet for a pre-dump";
	if (!pre && o->track_timeout_s != TRACK_TIMEOUT_DEFAULT)
		return "--track-timeout is for pre-dump (a dump ends the tracking)";
	if (!pre && o->prev_dir && o->precopy_rounds)
		return "--precopy-rounds with --prev-images-dir is not supported yet";
	if (!pre && o->prev_dir && o->compress)
		return "--compress with --prev-images-dir is not supported yet "
		       "(layers are plain images)";
	return NULL;
}

/* --prev-images-dir, --track-mem, --track-timeout */
static int layer_option(int c, const char *cmd, struct dump_opts *o)
{
	long val;

	if (c == OPT_PREV) {
		if (!*optarg) {
			pr_err("%s: --prev-images-dir needs a directory", cmd);
			return -1;
		}
		o->prev_dir = optarg;
	} else if (c == OPT_TRACK) {
		o->track_mem = true;
	} else {
		if (parse_count("--track-timeout", optarg, 7 * 86400, &val))
			return -1;
		if (!val) {
			pr_err("bad number \"0\" for --track-timeout (1 to %d "
			       "seconds)", 7 * 86400);
			return -1;
		}
		o->track_timeout_s = val;
	}
	return 0;
}

/*
 * -v / --verbose: one level more; -vv, -vvv...: as many; -vN, --verbose=N:
 * level N (0 errors, 1 warnings, 2 notes: the default, 3 debug, 4 trace),
 * as CRIU's.
 */
int parse_verbosity(const char *arg)
{
	int level;

	if (!arg)
		level = log_get_level() + 1;
	else if (arg[0] >= '0' && arg[0] <= '4' && !arg[1])
		level = arg[0] - '0';
	else if (arg[0] && strspn(arg, "v") == strlen(arg))
		level = log_get_level() + 1 + strlen(arg);
	else {
		pr_err("bad verbosity \"%s\" (-v0 to -v4, or -v, -vv, ...)",
		       arg);
		return -1;
	}
	log_set_level(level > LOG_TRACE ? LOG_TRACE : level);
	return 0;
}

/* dump's numeric options: each named in its message, with its range */
static int dump_number(int c, const char *arg, struct dump_opts *o)
{
	static const struct { int c; const char *name; long max; } t[] = {
		{ 'P', "--precopy-rounds", 1000 },
		{ 'U', "--precopy-until", 1 << 30 },
		{ 'M', "--precopy-ms", 60000 },
		{ 'O', "--port", 65535 },
		{ 'F', "--progress-fd", INT_MAX },
	};
	size_t i = 0;
	long val;

	while (t[i].c != c)
		i++;
	if (parse_count(t[i].name, arg, t[i].max, &val))
		return -1;
	if (c == 'P')
		o->precopy_rounds = val;
	else if (c == 'U')
		o->precopy_until = val;
	else if (c == 'M')
		o->precopy_ms = val;
	else if (c == 'O')
		o->ps_port = val;
	else
		o->progress_fd = val;
	return 0;
}

static int parse_codec(const char *name, unsigned *codec)
{
	int c = pages_codec_of_name(name);

	if (c < 0) {
		pr_err("dump: --compress \"%s\": lz4, zstd or none", name);
		return -1;
	}
	*codec = c;
	return 0;
}

/* One option of dump or pre-dump (argv[0]): 0, 1 (help printed) or -1
 * (logged). */
static int dump_option(int c, char **argv, struct dump_opts *o)
{
	switch (c) {
	case 't':
		return parse_pid(optarg, &o->pid);
	case 'D':
		o->dir = optarg;
		return 0;
	case 'R':
		o->leave_running = true;
		return 0;
	case 'j':	/* CRIU's --shell-job: what a terminal always gets */
		return 0;
	case 'Q':
		o->qmp = optarg;
		return 0;
	case 'S':
		o->no_sync = true;
		return 0;
	case 'A':
		o->ps_addr = optarg;
		return 0;
	case 'T':
		o->display_stats = true;
		return 0;
	case 'o':
		o->log_file = optarg;
		return 0;
	case 'Z':
		return parse_codec(optarg, &o->compress);
	case 'L':
		o->lazy_pages = true;
		return 0;
	case 'P': case 'U': case 'M': case 'O': case 'F':
		return dump_number(c, optarg, o);
	case 'W':
		return parse_lazy_timeout(optarg, &o->lazy_timeout_s);
	case 'v':
		return parse_verbosity(optarg);
	case OPT_PREV: case OPT_TRACK: case OPT_TRACK_TIMEOUT:
		return layer_option(c, argv[0], o);
	case OPT_TCP_EST:
		o->tcp_established = true;
		return 0;
	case OPT_TCP_CLOSE:
		o->tcp_close = true;
		return 0;
	case OPT_IDLE_TIMEOUT:
		return parse_idle_timeout(optarg, &o->idle_s);
	case OPT_NETLOCK:
		if (strcmp(optarg, "nftables") && strcmp(optarg, "skip")) {
			pr_err("--network-lock: nftables or skip, not \"%s\"",
			       optarg);
			return -1;
		}
		o->network_lock = !strcmp(optarg, "nftables");
		return 0;
	case 'h':
		usage_of(argv[0], stdout);
		return 1;
	default:
		if (IS_TLS_OPTION(c))
			return parse_tls_option(c, optarg, &o->tls);
		return cli_bad_option(argv[0], c, argv);
	}
}

/* dump --lazy-pages: --address/--port are where it serves. */
static int lazy_dump_args(struct dump_opts *o, bool pre)
{
	if (o->idle_s != PEER_TIMEOUT_DEFAULT) {
		pr_err("dump: --idle-timeout is for the connection to a page "
		       "server (--page-server); --lazy-pages waits "
		       "--lazy-timeout for a request");
		return -1;
	}
	if (pre || o->page_server || o->compress || o->prev_dir) {
		pr_err("--lazy-pages goes with dump alone (not pre-dump, "
		       "--page-server, --compress or --prev-images-dir)");
		return -1;
	}
	if (!o->ps_port) {
		pr_err("dump --lazy-pages needs --port N (and --address HOST: "
		       "where the memory is served; default: every address)");
		return -1;
	}
	o->lazy_addr = o->ps_addr;
	o->lazy_port = o->ps_port;
	o->ps_addr = NULL;
	o->ps_port = 0;
	return 0;
}

int parse_dump_args(int argc, char **argv, struct dump_opts *o)
{
	static const struct option opts[] = {
		{ "tree", required_argument, NULL, 't' },
		{ "images-dir", required_argument, NULL, 'D' },
		{ "leave-running", no_argument, NULL, 'R' },
		{ "shell-job", no_argument, NULL, 'j' },
		{ "qmp", required_argument, NULL, 'Q' },
		{ "no-sync", no_argument, NULL, 'S' },
		{ "precopy-rounds", required_argument, NULL, 'P' },
		{ "precopy-until", required_argument, NULL, 'U' },
		{ "precopy-ms", required_argument, NULL, 'M' },
		{ "prev-images-dir", required_argument, NULL, OPT_PREV },
		{ "track-mem", no_argument, NULL, OPT_TRACK },
		{ "track-timeout", required_argument, NULL, OPT_TRACK_TIMEOUT },
		{ "tcp-established", no_argument, NULL, OPT_TCP_EST },
		{ "network-lock", required_argument, NULL, OPT_NETLOCK },
		{ "tcp-close", no_argument, NULL, OPT_TCP_CLOSE },
		{ "idle-timeout", required_argument, NULL, OPT_IDLE_TIMEOUT },
		{ "page-server", optional_argument, NULL, 'G' },
		{ "address", required_argument, NULL, 'A' },
		{ "port", required_argument, NULL, 'O' },
		{ "compress", required_argument, NULL, 'Z' },
		{ "lazy-pages", no_argument, NULL, 'L' },
		{ "lazy-timeout", required_argument, NULL, 'W' },
		{ "display-stats", no_argument, NULL, 'T' },
		{ "progress-fd", required_argument, NULL, 'F' },
		{ "log-file", required_argument, NULL, 'o' },
		{ "verbose", optional_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		TLS_LONG_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	const char *cmd = argv[0], *why, *word = NULL;
	bool pre = !strcmp(cmd, "pre-dump");
	int c, ret;

	memset(o, 0, sizeof(*o));
	o->precopy_until = 256;
	o->progress_fd = -1;
	o->network_lock = true;
	o->pre_dump = pre;
	o->track_mem = pre;
	o->track_timeout_s = TRACK_TIMEOUT_DEFAULT;
	o->lazy_timeout_s = LAZY_TIMEOUT_DEFAULT;
	o->idle_s = PEER_TIMEOUT_DEFAULT;
	optind = 0;	/* 0: also forget a half-parsed option group */
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":t:D:Rjo:v::h", opts, NULL)) != -1) {
		if (c == 'G') {
			o->page_server = true;
			word = page_server_word(argc, argv);
		} else if ((ret = dump_option(c, argv, o))) {
			return ret;
		}
	}
	if (cli_stray_args(cmd, argc, argv) ||
	    page_server_target(cmd, word, &o->ps_addr, &o->ps_port))
		return -1;
	if (!o->pid || !o->dir) {
		pr_err("%s needs -t PID and -D DIR (see criu-lite %s --help)", cmd,
		       cmd);
		return -1;
	}
	why = dump_opts_conflict(o, pre);
	if (why) {
		pr_err("%s: %s", cmd, why);
		return -1;
	}
	if (o->lazy_pages)
		return lazy_dump_args(o, pre);
	if (o->page_server && (!o->ps_addr || !o->ps_port)) {
		pr_err("--page-server needs --address HOST and --port N (or "
		       "--page-server HOST:PORT)");
		return -1;
	}
	if (!o->page_server && (o->ps_addr || o->ps_port)) {
		pr_err("--address and --port go with --page-server");
		return -1;
	}
	if (!o->page_server && o->idle_s != PEER_TIMEOUT_DEFAULT) {
		pr_err("%s: --idle-timeout is for the connection to a page "
		       "server (--page-server)", cmd);
		return -1;
	}
	if (o->page_server && o->compress) {
		pr_err("dump: --compress is for the local pages image, not with "
		       "--page-server (the page server stores pages as they come)");
		return -1;
	}
	if (check_tls_opts(cmd, &o->tls))
		return -1;
	if (o->tls.on && !o->page_server && !o->lazy_pages) {
		pr_err("%s: --tls is for the connection to a page server "
		       "(--page-server) or to lazy-pages daemons (--lazy-pages)",
		       cmd);
		return -1;
	}
	return 0;
}

int parse_restore_args(int argc, char **argv, struct restore_opts *o)
{
	enum { OPT_VERIFY = 256, OPT_ZWAIT, OPT_PIDNS, OPT_NOCONT, OPT_LAZY,
	       OPT_PSERVER, OPT_NOVERIFY, OPT_STATS, OPT_PROGRESS,
	       OPT_LAZY_TIMEOUT, OPT_TCP, OPT_TCP_CLOSE, OPT_ADDRESS,
	       OPT_PORT };
	static const struct option opts[] = {
		{ "tcp-established", no_argument, NULL, OPT_TCP },
		{ "tcp-close", no_argument, NULL, OPT_TCP_CLOSE },
		{ "page-server", optional_argument, NULL, OPT_PSERVER },
		{ "address", required_argument, NULL, OPT_ADDRESS },
		{ "port", required_argument, NULL, OPT_PORT },
		{ "lazy-pages", no_argument, NULL, OPT_LAZY },
		{ "lazy-timeout", required_argument, NULL, OPT_LAZY_TIMEOUT },
		{ "no-cont", no_argument, NULL, OPT_NOCONT },
		{ "pidns", no_argument, NULL, OPT_PIDNS },
		{ "images-dir", required_argument, NULL, 'D' },
		{ "restore-detached", no_argument, NULL, 'd' },
		{ "shell-job", no_argument, NULL, 'j' },
		{ "verify", no_argument, NULL, OPT_VERIFY },
		{ "no-verify", no_argument, NULL, OPT_NOVERIFY },
		{ "zombie-wait", required_argument, NULL, OPT_ZWAIT },
		{ "display-stats", no_argument, NULL, OPT_STATS },
		{ "progress-fd", required_argument, NULL, OPT_PROGRESS },
		{ "log-file", required_argument, NULL, 'o' },
		{ "verbose", optional_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		TLS_LONG_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	const char *word = NULL, *address = NULL;
	bool ps = false;
	unsigned port = 0;
	char *end, buf[300];
	long zw, val;
	int c;

	memset(o, 0, sizeof(*o));
	o->zombie_wait_ms = 5000;
	o->lazy_timeout_s = LAZY_TIMEOUT_DEFAULT;
	o->progress_fd = -1;
	optind = 0;	/* 0: also forget a half-parsed option group */
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":D:djo:v::h", opts, NULL)) != -1) {
		switch (c) {
		case 'D':
			o->dir = optarg;
			break;
		case 'j':	/* CRIU's --shell-job: always so */
			break;
		case 'd':
			o->detach = true;
			break;
		case OPT_VERIFY:
			o->verify = true;
			break;
		case OPT_NOVERIFY:
			o->no_verify = true;
			break;
		case OPT_PIDNS:
			o->pidns = true;
			break;
		case OPT_NOCONT:
			o->no_cont = true;
			break;
		case OPT_LAZY:
			o->lazy = true;
			break;
		case OPT_LAZY_TIMEOUT:
			if (parse_lazy_timeout(optarg, &o->lazy_timeout_s))
				return -1;
			break;
		case OPT_PSERVER:
			ps = true;
			word = page_server_word(argc, argv);
			break;
		case OPT_ADDRESS:
			address = optarg;
			break;
		case OPT_PORT:
			if (parse_count("--port", optarg, 65535, &val))
				return -1;
			port = val;
			break;
		case OPT_STATS:
			o->display_stats = true;
			break;
		case OPT_TCP:
			o->tcp_established = true;
			break;
		case OPT_TCP_CLOSE:
			o->tcp_close = true;
			break;
		case OPT_PROGRESS:
			if (parse_count("--progress-fd", optarg, INT_MAX, &val))
				return -1;
			o->progress_fd = val;
			break;
		case OPT_ZWAIT:
			errno = 0;
			zw = strtol(optarg, &end, 10);
			if (*end || !*optarg || errno || zw < 0 || zw > 3600000) {
				pr_err("bad --zombie-wait \"%s\" (milliseconds, "
				       "0 to 3600000)", optarg);
				return -1;
			}
			o->zombie_wait_ms = zw;
			break;
		case 'o':
			o->log_file = optarg;
			break;
		case 'v':
			if (parse_verbosity(optarg))
				return -1;
			break;
		case 'h':
			usage_of("restore", stdout);
			return 1;
		default:
			if (!IS_TLS_OPTION(c))
				return cli_bad_option("restore", c, argv);
			parse_tls_option(c, optarg, &o->tls);
			break;
		}
	}
	if (cli_stray_args("restore", argc, argv))
		return -1;
	if (!o->dir) {
		pr_err("restore needs -D DIR (see criu-lite restore --help)");
		return -1;
	}
	if (ps && !o->lazy) {
		pr_err("--page-server needs --lazy-pages");
		return -1;
	}
	if (!ps && (address || port)) {
		pr_err("restore: --address and --port go with --page-server");
		return -1;
	}
	if (page_server_target("restore", word, &address, &port))
		return -1;
	if (ps && (!address || !port)) {
		pr_err("restore: --page-server needs --address HOST and --port "
		       "N (or --page-server HOST:PORT)");
		return -1;
	}
	if (ps) {
		o->page_server = strdup(page_server_hostport(buf, sizeof(buf),
							     address, port));
		if (!o->page_server)
			return -1;
	}
	if (check_tls_opts("restore", &o->tls))
		return -1;
	if (o->tls.on && !o->page_server) {
		pr_err("restore: --tls is for the connection to a page server "
		       "(--page-server --address HOST --port N)");
		return -1;
	}
	return 0;
}

int parse_show_args(int argc, char **argv, struct show_opts *o)
{
	enum { OPT_JSON = 256, OPT_PS, OPT_FDS, OPT_MEMS };
	static const struct option opts[] = {
		{ "json", no_argument, NULL, OPT_JSON },
		{ "ps", no_argument, NULL, OPT_PS },
		{ "fds", no_argument, NULL, OPT_FDS },
		{ "mems", no_argument, NULL, OPT_MEMS },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(o, 0, sizeof(*o));
	o->summary = -1;
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_JSON:
			o->json = true;
			break;
		case OPT_PS:
		case OPT_FDS:
		case OPT_MEMS:
			if (o->summary >= 0) {
				pr_err("show: --ps, --fds and --mems go one at "
				       "a time");
				return -1;
			}
			o->summary = c == OPT_PS ? SHOW_PS : c == OPT_FDS ?
				     SHOW_FDS : SHOW_MEMS;
			break;
		case 'h':
			usage_of("show", stdout);
			return 1;
		default:
			return cli_bad_option("show", c, argv);
		}
	}
	if (optind < argc)
		o->path = argv[optind++];
	if (cli_stray_args("show", argc, argv))
		return -1;
	if (!o->path) {
		pr_err("show needs a DIR or FILE (see criu-lite show --help)");
		return -1;
	}
	return 0;
}

int parse_page_server_args(int argc, char **argv, struct page_server_opts *o)
{
	enum { OPT_PORT = 256, OPT_ADDRESS, OPT_IDLE };
	static const struct option opts[] = {
		{ "images-dir", required_argument, NULL, 'D' },
		{ "port", required_argument, NULL, OPT_PORT },
		{ "address", required_argument, NULL, OPT_ADDRESS },
		{ "idle-timeout", required_argument, NULL, OPT_IDLE },
		{ "verbose", optional_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		TLS_LONG_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	bool have_port = false;
	long val;
	int c;

	memset(o, 0, sizeof(*o));
	o->address = "127.0.0.1";
	o->idle_s = IDLE_TIMEOUT_DEFAULT;
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":D:v::h", opts, NULL)) != -1) {
		switch (c) {
		case 'D':
			o->dir = optarg;
			break;
		case OPT_PORT:
			if (parse_count("--port", optarg, 65535, &val))
				return -1;
			o->port = val;
			have_port = true;
			break;
		case OPT_ADDRESS:
			o->address = optarg;
			break;
		case OPT_IDLE:
			if (parse_idle_timeout(optarg, &o->idle_s))
				return -1;
			break;
		case 'v':
			if (parse_verbosity(optarg))
				return -1;
			break;
		case 'h':
			usage_of("page-server", stdout);
			return 1;
		default:
			if (!IS_TLS_OPTION(c))
				return cli_bad_option("page-server", c, argv);
			parse_tls_option(c, optarg, &o->tls);
		}
	}
	if (cli_stray_args("page-server", argc, argv))
		return -1;
	if (!o->dir || !have_port) {
		pr_err("page-server needs -D DIR and --port N (0: any free port, "
		       "printed) (see criu-lite page-server --help)");
		return -1;
	}
	return check_tls_opts("page-server", &o->tls);
}
