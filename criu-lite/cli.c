// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "log.h"

static const char usage_text[] =
"usage: criu-lite COMMAND [OPTIONS]\n"
"\n"
"Commands:\n"
"  check                      probe the kernel features criu-lite uses\n"
"  dump -t PID -D DIR         checkpoint PID's process tree into DIR\n"
"  restore -D DIR             bring a dumped tree back, same PIDs\n"
"  show DIR|FILE [--json]     decode images\n"
"  page-server -D DIR --port N [--address IP]\n"
"                             serve DIR's pages to one restore --lazy-pages\n"
"                             --page-server (then exit)\n"
"  pre-dump, lazy-pages, migrate: not implemented yet\n"
"\n"
"dump options:\n"
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
"\n"
"restore options:\n"
"  -D, --images-dir DIR       images to restore\n"
"  -d, --restore-detached     return once the tree runs (default: wait for\n"
"                             the root and exit with its status)\n"
"      --pidns                restore into a new PID namespace (under a\n"
"                             small init), so taken PIDs do not matter\n"
"      --lazy-pages           resume at once; large anonymous memory is\n"
"                             filled on fault (userfaultfd) and in the\n"
"                             background by a lazy-pages daemon\n"
"      --page-server HOST:PORT  with --lazy-pages: pages come from a\n"
"                             criu-lite page-server (the other images\n"
"                             are read from DIR)\n"
"      --no-cont              leave a VM stopped by dump --qmp stopped\n"
"      --verify               also read every restored page back from the\n"
"                             process and check it against its dump\n"
"                             checksum before the tree is let go\n"
"      --no-verify            do not check image pages against their\n"
"                             checksums (default: every page is checked\n"
"                             before it goes into a process: at load from\n"
"                             a local image, on arrival from a page server,\n"
"                             before each copy by the lazy-pages daemon)\n"
"      --zombie-wait MS       wait this long for a PID held by a zombie\n"
"                             (default 5000)\n"
"\n"
"common options:\n"
"  -v, --verbose              more messages (repeat for debug)\n"
"  -h, --help                 this text\n"
"\n"
"A failed or interrupted dump leaves the tree running as it was; restore\n"
"reads and checks every image before it creates anything.\n";

void usage(FILE *f)
{
	fputs(usage_text, f);
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

static int parse_count(const char *s, long max, long *val)
{
	char *end;

	errno = 0;
	*val = strtol(s, &end, 10);
	if (!*s || *end || errno || *val < 0 || *val > max) {
		pr_err("bad number \"%s\" (0 to %ld)", s, max);
		return -1;
	}
	return 0;
}

int parse_dump_args(int argc, char **argv, struct dump_opts *o)
{
	static const struct option opts[] = {
		{ "tree", required_argument, NULL, 't' },
		{ "images-dir", required_argument, NULL, 'D' },
		{ "leave-running", no_argument, NULL, 'R' },
		{ "qmp", required_argument, NULL, 'Q' },
		{ "no-sync", no_argument, NULL, 'S' },
		{ "precopy-rounds", required_argument, NULL, 'P' },
		{ "precopy-until", required_argument, NULL, 'U' },
		{ "precopy-ms", required_argument, NULL, 'M' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	long val;
	int c;

	memset(o, 0, sizeof(*o));
	o->precopy_until = 256;
	optind = 0;	/* 0: also forget a half-parsed option group */
	while ((c = getopt_long(argc, argv, "t:D:Rvh", opts, NULL)) != -1) {
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
			if (parse_count(optarg, c == 'P' ? 1000 : c == 'M' ?
					60000 : 1 << 30, &val))
				return -1;
			if (c == 'P')
				o->precopy_rounds = val;
			else if (c == 'U')
				o->precopy_until = val;
			else
				o->precopy_ms = val;
			break;
		case 'v':
			log_set_level(log_get_level() + 1);
			break;
		case 'h':
			usage(stdout);
			return 1;
		default:
			return -1;
		}
	}
	if (!o->pid || !o->dir || optind != argc) {
		pr_err("dump needs -t PID and -D DIR (see --help)");
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
	while ((c = getopt_long(argc, argv, "D:dvh", opts, NULL)) != -1) {
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
			usage(stdout);
			return 1;
		default:
			return -1;
		}
	}
	if (!o->dir || optind != argc) {
		pr_err("restore needs -D DIR (see --help)");
		return -1;
	}
	if (o->page_server && !o->lazy) {
		pr_err("--page-server needs --lazy-pages");
		return -1;
	}
	return 0;
}
