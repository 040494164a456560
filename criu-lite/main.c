// SPDX-License-Identifier: GPL-2.0
/* criu-lite: the command line. Parses options into a dump_opts /
 * restore_opts and hands them down; no subsystem reads globals. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "cr.h"
#include "dump.h"
#include "log.h"
#include "restore.h"
#include "show.h"

static const char usage_text[] =
"usage: criu-lite COMMAND [OPTIONS]\n"
"\n"
"Commands:\n"
"  check                      probe the kernel features criu-lite uses\n"
"  dump -t PID -D DIR         checkpoint PID's process tree into DIR\n"
"  restore -D DIR             bring a dumped tree back, same PIDs\n"
"  show DIR|FILE [--json]     decode images\n"
"  pre-dump, lazy-pages, page-server, migrate: not implemented yet\n"
"\n"
"dump options:\n"
"  -t, --tree PID             root of the tree to dump\n"
"  -D, --images-dir DIR       where images go (created if missing)\n"
"  -R, --leave-running        let the tree go on running after the dump\n"
"                             (default: kill it once the images are safe)\n"
"\n"
"restore options:\n"
"  -D, --images-dir DIR       images to restore\n"
"  -d, --restore-detached     return once the tree runs (default: wait for\n"
"                             the root and exit with its status)\n"
"      --verify               check every restored page against its dump\n"
"                             checksum before the tree is let go\n"
"      --zombie-wait MS       wait this long for a PID held by a zombie\n"
"                             (default 5000)\n"
"\n"
"common options:\n"
"  -v, --verbose              more messages (repeat for debug)\n"
"  -h, --help                 this text\n"
"\n"
"A failed or interrupted dump leaves the tree running as it was; restore\n"
"reads and checks every image before it creates anything.\n";

static void usage(FILE *f)
{
	fputs(usage_text, f);
}

static int parse_pid(const char *s, pid_t *pid)
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

static double ms(uint64_t ns)
{
	return ns / 1e6;
}

static int cmd_dump(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "tree", required_argument, NULL, 't' },
		{ "images-dir", required_argument, NULL, 'D' },
		{ "leave-running", no_argument, NULL, 'R' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct dump_opts o = { 0 };
	struct dump_stats st;
	int c;

	while ((c = getopt_long(argc, argv, "t:D:Rvh", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			if (parse_pid(optarg, &o.pid))
				return 1;
			break;
		case 'D':
			o.dir = optarg;
			break;
		case 'R':
			o.leave_running = true;
			break;
		case 'v':
			log_set_level(log_get_level() + 1);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 1;
		}
	}
	if (!o.pid || !o.dir || optind != argc) {
		pr_err("dump needs -t PID and -D DIR (see --help)");
		return 1;
	}
	if (dump_tree(&o, &st)) {
		pr_err("dump of %d failed; it was left running", o.pid);
		return 1;
	}
	pr_info("dumped %d: frozen %.1f ms (freeze %.2f ms), total %.1f ms, "
		"%lu pages stored, %lu zero pages elided, %.1f MiB written",
		o.pid, ms(st.frozen_ns), ms(st.freeze_ns), ms(st.total_ns),
		(unsigned long)st.pages_stored, (unsigned long)st.pages_zero,
		st.bytes_written / 1048576.0);
	return 0;
}

static int cmd_restore(int argc, char **argv)
{
	enum { OPT_VERIFY = 256, OPT_ZWAIT };
	static const struct option opts[] = {
		{ "images-dir", required_argument, NULL, 'D' },
		{ "restore-detached", no_argument, NULL, 'd' },
		{ "verify", no_argument, NULL, OPT_VERIFY },
		{ "zombie-wait", required_argument, NULL, OPT_ZWAIT },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct restore_opts o = { .zombie_wait_ms = 5000 };
	struct restore_stats st;
	int c, ret;

	while ((c = getopt_long(argc, argv, "D:dvh", opts, NULL)) != -1) {
		switch (c) {
		case 'D':
			o.dir = optarg;
			break;
		case 'd':
			o.detach = true;
			break;
		case OPT_VERIFY:
			o.verify = true;
			break;
		case OPT_ZWAIT:
			o.zombie_wait_ms = strtoul(optarg, NULL, 10);
			break;
		case 'v':
			log_set_level(log_get_level() + 1);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 1;
		}
	}
	if (!o.dir || optind != argc) {
		pr_err("restore needs -D DIR (see --help)");
		return 1;
	}
	ret = restore_tree(&o, &st);
	if (ret < 0)
		return 1;
	pr_info("restored %d: %.1f ms (images %.1f ms, puppets %.1f ms, "
		"memory and threads %.1f ms), %lu pages written",
		st.root_pid, ms(st.total_ns), ms(st.load_ns), ms(st.fork_ns),
		ms(st.mm_ns), (unsigned long)st.pages_written);
	return ret & 0x100 ? ret & 0xff : 0;
}

static int cmd_show(int argc, char **argv)
{
	bool json = false;
	const char *path = NULL;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			json = true;
		else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			return 0;
		} else if (!path)
			path = argv[i];
		else {
			pr_err("show: unexpected argument %s", argv[i]);
			return 1;
		}
	}
	if (!path) {
		pr_err("show needs a DIR or FILE");
		return 1;
	}
	return show_path(path, json, stdout) ? 1 : 0;
}

int main(int argc, char **argv)
{
	const char *cmd;

	if (argc < 2) {
		usage(stderr);
		return 1;
	}
	cmd = argv[1];
	if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(cmd, "--version") || !strcmp(cmd, "-V")) {
		printf("criu-lite %s\n", CRIU_LITE_VERSION);
		return 0;
	}
	if (!strcmp(cmd, "check"))
		return cmd_check(argc - 1, argv + 1);
	if (!strcmp(cmd, "dump"))
		return cmd_dump(argc - 1, argv + 1);
	if (!strcmp(cmd, "restore"))
		return cmd_restore(argc - 1, argv + 1);
	if (!strcmp(cmd, "show"))
		return cmd_show(argc - 1, argv + 1);
	if (!strcmp(cmd, "pre-dump") || !strcmp(cmd, "lazy-pages") ||
	    !strcmp(cmd, "page-server") || !strcmp(cmd, "migrate")) {
		pr_err("%s is not implemented yet in this version", cmd);
		return 2;
	}
	pr_err("unknown command \"%s\" (see criu-lite --help)", cmd);
	return 1;
}
