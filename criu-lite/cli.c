// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "log.h"

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
"  page-server -D DIR --port N [--address IP]\n"
"                             serve DIR's pages to one restore --lazy-pages\n"
"                             --page-server (then exit)\n"
"  lazy-pages, migrate: not implemented yet\n"
"\n"
"Common options: -v, --verbose (repeat for debug), -h, --help, -V, --version\n"
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
"      --precopy-rounds N     copy memory while the tree runs first (N\n"
"                             rounds: all, then what was written since),\n"
"                             so the final freeze copies only the rest;\n"
"                             writes are tracked with uffd-wp (splits\n"
"                             transparent huge pages) or soft-dirty\n"
"      --precopy-until PAGES  stop the rounds early once a round finds\n"
"                             fewer written pages (default 256)\n"
"      --precopy-ms MS        pause between rounds (default 0)\n"
"      --no-sync              do not wait for the images to reach the disk\n"
"                             (default: they are, before the tree is\n"
"                             killed; use when they are read right away,\n"
"                             as in a migration)\n"
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
"  -v, --verbose              more messages (repeat for debug)\n"
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
"      --track-timeout S      the tracker's life at most (default 3600)\n"
"      --no-sync              do not wait for the images to reach the disk\n"
"  -v, --verbose              more messages (repeat for debug)\n"
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
"      --pidns                restore into a new PID namespace (under a\n"
"                             small init), so taken PIDs do not matter\n"
"      --lazy-pages           resume at once; large anonymous memory is\n"
"                             filled on fault (userfaultfd) and in the\n"
"                             background by a lazy-pages daemon (if it\n"
"                             dies first, the process is killed)\n"
"      --page-server HOST:PORT  with --lazy-pages: pages come from a\n"
"                             criu-lite page-server (the other images\n"
"                             are read from DIR)\n"
"      --no-cont              leave a VM stopped by dump --qmp stopped\n"
"      --verify               also read every restored page back from the\n"
"                             process and compare it before it is let go\n"
"      --no-verify            skip the page checksums (they are checked by\n"
"                             default, as the pages go in)\n"
"      --zombie-wait MS       wait this long for a PID held by a zombie\n"
"                             (default 5000)\n"
"  -v, --verbose              more messages (repeat for debug)\n"
"  -h, --help                 this text\n";

static const char show_text[] =
"usage: criu-lite show DIR|FILE [--json]\n"
"\n"
"Decodes an images directory or one image file as text, or as JSON with\n"
"--json (always valid JSON, corrupt images included: a file that can't be\n"
"read gets an \"error\" member). CRIU's crit does not read these images.\n";

static const char page_server_text[] =
"usage: criu-lite page-server -D DIR --port N [--address IP]\n"
"\n"
"Serves the pages image of DIR over TCP to one restore --lazy-pages\n"
"--page-server IP:N, then exits.\n";

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
static int bad_option(const char *cmd, int c, char **argv)
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

static int stray_args(const char *cmd, int argc, char **argv)
{
	if (optind == argc)
		return 0;
	pr_err("%s: unexpected argument \"%s\" (see criu-lite %s --help)", cmd,
	       argv[optind], cmd);
	return -1;
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

static int parse_count(const char *opt, const char *s, long max, long *val)
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

/* What makes no sense for the command (or together), in words. */
static const char *dump_opts_conflict(const struct dump_opts *o, bool pre)
{
	if (pre && o->leave_running)
		return "--leave-running: a pre-dump always leaves the tree running";
	if (pre && o->qmp)
		return "--qmp: a pre-dump does not stop the VM";
	if (pre && o->precopy_rounds)
		return "--precopy-rounds: pre-dump layers are the rounds";
	if (!pre && o->track_timeout_s != TRACK_TIMEOUT_DEFAULT)
		return "--track-timeout is for pre-dump (a dump ends the tracking)";
	if (!pre && o->prev_dir && o->precopy_rounds)
		return "--precopy-rounds with --prev-images-dir is not supported yet";
	return NULL;
}

int parse_dump_args(int argc, char **argv, struct dump_opts *o)
{
	enum { OPT_PREV = 256, OPT_TRACK, OPT_TRACK_TIMEOUT };
	static const struct option opts[] = {
		{ "tree", required_argument, NULL, 't' },
		{ "images-dir", required_argument, NULL, 'D' },
		{ "leave-running", no_argument, NULL, 'R' },
		{ "qmp", required_argument, NULL, 'Q' },
		{ "no-sync", no_argument, NULL, 'S' },
		{ "precopy-rounds", required_argument, NULL, 'P' },
		{ "precopy-until", required_argument, NULL, 'U' },
		{ "precopy-ms", required_argument, NULL, 'M' },
		{ "prev-images-dir", required_argument, NULL, OPT_PREV },
		{ "track-mem", no_argument, NULL, OPT_TRACK },
		{ "track-timeout", required_argument, NULL, OPT_TRACK_TIMEOUT },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *cmd = argv[0], *why;
	bool pre = !strcmp(cmd, "pre-dump");
	long val;
	int c;

	memset(o, 0, sizeof(*o));
	o->precopy_until = 256;
	o->pre_dump = pre;
	o->track_mem = pre;
	o->track_timeout_s = TRACK_TIMEOUT_DEFAULT;
	optind = 0;	/* 0: also forget a half-parsed option group */
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":t:D:Rvh", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			if (parse_pid(optarg, &o->pid))
				return -1;
			break;
		case 'D':
			o->dir = optarg;
			break;
		case 'R':
			o->leave_running = true;
			break;
		case 'Q':
			o->qmp = optarg;
			break;
		case 'S':
			o->no_sync = true;
			break;
		case 'P':
		case 'U':
		case 'M':
			if (parse_count(c == 'P' ? "--precopy-rounds" : c == 'M' ?
					"--precopy-ms" : "--precopy-until", optarg,
					c == 'P' ? 1000 : c == 'M' ? 60000 : 1 << 30,
					&val))
				return -1;
			if (c == 'P')
				o->precopy_rounds = val;
			else if (c == 'U')
				o->precopy_until = val;
			else
				o->precopy_ms = val;
			break;
		case OPT_PREV:
			if (!*optarg) {
				pr_err("%s: --prev-images-dir needs a directory", cmd);
				return -1;
			}
			o->prev_dir = optarg;
			break;
		case OPT_TRACK:
			o->track_mem = true;
			break;
		case OPT_TRACK_TIMEOUT:
			if (parse_count("--track-timeout", optarg, 7 * 86400, &val))
				return -1;
			if (!val) {
				pr_err("bad number \"0\" for --track-timeout (1 to "
				       "%d seconds)", 7 * 86400);
				return -1;
			}
			o->track_timeout_s = val;
			break;
		case 'v':
			log_set_level(log_get_level() + 1);
			break;
		case 'h':
			usage_of(cmd, stdout);
			return 1;
		default:
			return bad_option(cmd, c, argv);
		}
	}
	if (stray_args(cmd, argc, argv))
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
	return 0;
}

int parse_restore_args(int argc, char **argv, struct restore_opts *o)
{
	enum { OPT_VERIFY = 256, OPT_ZWAIT, OPT_PIDNS, OPT_NOCONT, OPT_LAZY,
	       OPT_PSERVER, OPT_NOVERIFY };
	static const struct option opts[] = {
		{ "page-server", required_argument, NULL, OPT_PSERVER },
		{ "lazy-pages", no_argument, NULL, OPT_LAZY },
		{ "no-cont", no_argument, NULL, OPT_NOCONT },
		{ "pidns", no_argument, NULL, OPT_PIDNS },
		{ "images-dir", required_argument, NULL, 'D' },
		{ "restore-detached", no_argument, NULL, 'd' },
		{ "verify", no_argument, NULL, OPT_VERIFY },
		{ "no-verify", no_argument, NULL, OPT_NOVERIFY },
		{ "zombie-wait", required_argument, NULL, OPT_ZWAIT },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	long zw;
	int c;

	memset(o, 0, sizeof(*o));
	o->zombie_wait_ms = 5000;
	optind = 0;	/* 0: also forget a half-parsed option group */
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":D:dvh", opts, NULL)) != -1) {
		switch (c) {
		case 'D':
			o->dir = optarg;
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
		case OPT_PSERVER:
			o->page_server = optarg;
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
		case 'v':
			log_set_level(log_get_level() + 1);
			break;
		case 'h':
			usage_of("restore", stdout);
			return 1;
		default:
			return bad_option("restore", c, argv);
		}
	}
	if (stray_args("restore", argc, argv))
		return -1;
	if (!o->dir) {
		pr_err("restore needs -D DIR (see criu-lite restore --help)");
		return -1;
	}
	if (o->page_server && !o->lazy) {
		pr_err("--page-server needs --lazy-pages");
		return -1;
	}
	return 0;
}
