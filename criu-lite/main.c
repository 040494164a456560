// SPDX-License-Identifier: GPL-2.0
/* criu-lite: the command line. Parses options into a dump_opts /
 * restore_opts and hands them down; no subsystem reads globals. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <unistd.h>

#include "check.h"
#include "cli.h"
#include "cr.h"
#include "dump.h"
#include "log.h"
#include "net.h"
#include "lazy-daemon.h"
#include "migrate.h"
#include "page-frames.h"
#include "page-server.h"
#include "page-source.h"
#include "proc.h"
#include "qmp.h"
#include "restore.h"
#include "show.h"

static double ms(uint64_t ns)
{
	return ns / 1e6;
}

static int cmd_dump(int argc, char **argv)
{
	struct dump_opts o;
	struct dump_stats st;
	int ret = parse_dump_args(argc, argv, &o);

	if (ret)
		return ret > 0 ? 0 : 1;
	/* -o is relative to DIR, which may not exist yet (as CRIU) */
	if (o.log_file && log_open_file(o.dir, o.log_file, true))
		return 1;
	if (tls_files_check(&o.tls))	/* before the tree is touched */
		return 1;
	if ((o.pre_dump ? pre_dump_tree : dump_tree)(&o, &st)) {
		struct proc_stat ps;

		if (kill(o.pid, 0))
			return 1;
		if (!proc_read_stat(o.pid, o.pid, &ps) && ps.state == 'Z')
			pr_err("%s of %d failed; it is a zombie, left as it "
			       "was: its exit status waits for its parent %d to "
			       "reap it", o.pre_dump ? "pre-dump" : "dump",
			       o.pid, ps.ppid);
		else
			pr_err("%s of %d failed; it was left running",
			       o.pre_dump ? "pre-dump" : "dump", o.pid);
		return 1;
	}
	if (o.pre_dump) {
		pr_info("pre-dumped %d: frozen %.1f ms, total %.1f ms, %lu pages "
			"stored, %lu in the parent layer, %lu zero pages elided, "
			"%.1f MiB written", o.pid, ms(st.frozen_ns),
			ms(st.total_ns), (unsigned long)st.pages_stored,
			(unsigned long)st.pages_parent,
			(unsigned long)st.pages_zero, st.bytes_written / 1048576.0);
		return 0;
	}
	pr_info("dumped %d: frozen %.1f ms (freeze %.2f ms), total %.1f ms, "
		"%lu pages stored, %lu in the parent layer, %lu zero pages "
		"elided, %.1f MiB written", o.pid, ms(st.frozen_ns),
		ms(st.freeze_ns), ms(st.total_ns), (unsigned long)st.pages_stored,
		(unsigned long)st.pages_parent, (unsigned long)st.pages_zero,
		st.bytes_written / 1048576.0);
	/* the frozen page phase only (pre-copy rounds and the images'
	 * commit are not in it) */
	pr_info("pages: read %.1f ms, write %.1f ms, fsync %.1f ms, phase "
		"%.1f ms", ms(st.phase_read_ns), ms(st.phase_write_ns),
		ms(st.phase_sync_ns), ms(st.pages_ns));
	if (o.compress && st.bytes_written)
		pr_info("pages: %s compressed %.1f MiB into %.1f MiB (%.2fx) in "
			"%.1f ms", pages_codec_name(o.compress),
			st.bytes_compressed / 1048576.0,
			st.bytes_written / 1048576.0,
			(double)st.bytes_compressed / st.bytes_written,
			ms(st.compress_ns));
	if (st.precopy_rounds)
		pr_info("pre-copy: %u rounds in %.1f ms copied %lu pages while "
			"running (last round %lu); the final freeze reused %lu "
			"pages, read %lu of untrusted processes whole",
			st.precopy_rounds, ms(st.precopy_ns),
			(unsigned long)st.precopy_pages,
			(unsigned long)st.last_round_pages,
			(unsigned long)st.pages_reused,
			(unsigned long)st.pages_untrusted);
	return 0;
}

static int cmd_restore(int argc, char **argv)
{
	struct restore_opts o;
	struct restore_stats st;
	int ret = parse_restore_args(argc, argv, &o);

	if (ret)
		return ret > 0 ? 0 : 1;
	if (o.log_file && log_open_file(o.dir, o.log_file, false))
		return 1;
	if (tls_files_check(&o.tls))
		return 1;
	ret = restore_tree(&o, &st);
	if (ret < 0)
		return 1;
	pr_info("restored %d: %.1f ms (images %.1f ms, waiting for PIDs %.1f ms, "
		"puppets %.1f ms, memory and threads %.1f ms), %lu pages written",
		st.root_pid, ms(st.total_ns), ms(st.load_ns), ms(st.pid_wait_ns),
		ms(st.fork_ns),
		ms(st.mm_ns), (unsigned long)st.pages_written);
	return ret & 0x100 ? ret & 0xff : 0;
}

static int cmd_page_server(int argc, char **argv)
{
	struct page_server_opts o;
	int ret = parse_page_server_args(argc, argv, &o);

	if (ret)
		return ret > 0 ? 0 : 1;
	if (tls_files_check(&o.tls))	/* refused now, not at a client */
		return 1;
	/* "*": every address (the default is loopback only) */
	return serve_pages(o.dir, strcmp(o.address, "*") ? o.address : NULL,
			   o.port, &o.tls, o.idle_s) ? 1 : 0;
}

static int cmd_show(int argc, char **argv)
{
	struct show_opts o;
	int ret = parse_show_args(argc, argv, &o);

	if (ret)
		return ret > 0 ? 0 : 1;
	if (o.summary >= 0)
		return show_summary(o.path, o.summary, o.json, stdout) ? 1 : 0;
	return show_path(o.path, o.json, stdout) ? 1 : 0;
}

int main(int argc, char **argv)
{
	const char *cmd;

	if (argc < 2) {
		pr_err("no command (see criu-lite --help)");
		return 1;
	}
	cmd = argv[1];
	qmp_guard_by_exec = true;
	/* a page server or QMP peer that went away is an error to report,
	 * not a reason to die silently */
	signal(SIGPIPE, SIG_IGN);
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
	if (!strcmp(cmd, "dump") || !strcmp(cmd, "pre-dump"))
		return cmd_dump(argc - 1, argv + 1);
	if (!strcmp(cmd, "restore"))
		return cmd_restore(argc - 1, argv + 1);
	if (!strcmp(cmd, "show"))
		return cmd_show(argc - 1, argv + 1);
	if (!strcmp(cmd, "page-server"))
		return cmd_page_server(argc - 1, argv + 1);
	if (!strcmp(cmd, "migrate"))
		return cmd_migrate(argc - 1, argv + 1);
	if (!strcmp(cmd, QMP_GUARD_CMD))
		return qmp_guard_main(argc - 1, argv + 1);
	if (!strcmp(cmd, "lazy-pages"))
		return cmd_lazy_pages(argc - 1, argv + 1);
	pr_err("unknown command \"%s\" (see criu-lite --help)", cmd);
	return 1;
}
