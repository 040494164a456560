// SPDX-License-Identifier: GPL-2.0
/*
 * criu-lite migrate: a running tree moved to another host, QEMU's model,
 * one command per side.
 *
 *   destination  migrate --incoming ADDR:PORT -D DIR: receives everything
 *                (pages checked as they arrive), keeps it in DIR, restores
 *                the tree, tells the source, exits 0 with the tree running.
 *   source       migrate -t PID --to ADDR:PORT: pre-copy rounds streamed
 *                while the tree runs, until what is left fits the downtime
 *                limit at the bandwidth measured (or the rounds stop
 *                shrinking); then QMP stop (--qmp), freeze, the last pages
 *                and every other image, and the destination restores. Only
 *                when it says the tree runs there is the source killed; any
 *                failure before that and the source runs on (QMP cont).
 *
 * Built from the CRIU-style pieces: the dump (dump.c) with its page
 * transfer pointed at the destination (page-xfer.c), the page server's
 * receiving side (page-server.c), restore (restore.c).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "cr.h"
#include "dump.h"
#include "imgdir.h"
#include "log.h"
#include "migrate.h"
#include "net.h"
#include "page-server.h"
#include "page-xfer.h"
#include "prefill.h"
#include "restore.h"
#include "seize.h"
#include "xfer-proto.h"

static const char migrate_text[] =
"usage: criu-lite migrate -t PID --to HOST:PORT [OPTIONS]     (source)\n"
"       criu-lite migrate --incoming HOST:PORT -D DIR [OPTIONS]  (destination)\n"
"\n"
"Moves a running process tree (a whole QEMU with its guest RAM) to another\n"
"host. Start the destination first; it waits for one source, keeps the\n"
"images in DIR, restores the tree and exits 0 once it runs there. The\n"
"source copies memory while the tree runs (pre-copy rounds, writes tracked\n"
"with uffd-wp), stops it when what is left fits the downtime limit, sends\n"
"the rest, and exits 0 once the destination runs the tree; the source tree\n"
"is then gone. Any failure before that and the source tree runs on.\n"
"\n"
"Source:\n"
"  -t, --tree PID             root of the tree to move\n"
"      --to HOST:PORT         where migrate --incoming waits\n"
"      --qmp SOCK             QEMU: stop the VM through QMP before the\n"
"                             freeze (the destination continues it); if\n"
"                             criu-lite dies after the hand-over began, the\n"
"                             VM stays stopped here (QEMU's postmigrate)\n"
"      --downtime-limit MS    stop the tree once what is left would take\n"
"                             this long to send (default 300, as QEMU)\n"
"                             and rounds no longer shrink it by a quarter;\n"
"                             the restore on the destination comes on top\n"
"                             (see --incoming --lazy-pages)\n"
"      --max-bandwidth BYTES  bytes per second at most (default: any;\n"
"                             suffixes K, M, G) for the pre-copy rounds\n"
"                             and the frozen copy; with --postcopy, the\n"
"                             pages the destination pulls afterwards are\n"
"                             not limited\n"
"      --max-rounds N         pre-copy rounds at most (default 30; 0: stop\n"
"                             at once and copy everything frozen)\n"
"      --postcopy             after the pre-copy rounds (none with\n"
"                             --max-rounds 0), switch over at once: the\n"
"                             destination runs the tree as soon as every\n"
"                             image but the large anonymous memory is\n"
"                             there, and pulls that memory on fault while\n"
"                             the rest is pushed; the tree stays frozen\n"
"                             here, its memory the source, and is killed\n"
"                             once the destination has every page. If the\n"
"                             destination's restore fails, the tree runs\n"
"                             on here. If the destination runs it but the\n"
"                             link is lost, the destination reconnects for\n"
"                             --lazy-timeout; after that it kills its copy\n"
"                             (never a guest on missing pages) and this\n"
"                             side exits 1 with the tree kept STOPPED\n"
"                             (SIGSTOP, VM QMP-stopped), memory whole:\n"
"                             continue it with kill -CONT (and QMP cont)\n"
"      --lazy-timeout S       postcopy: how long either side waits for\n"
"                             the other after the link is lost (default\n"
"                             60)\n"
"Destination:\n"
"      --incoming HOST:PORT   wait there (HOST: the address to listen on)\n"
"  -D, --images-dir DIR       keep the received images there\n"
"      --lazy-pages           accepted, changes nothing: the destination\n"
"                             always resumes the tree before its memory is\n"
"                             copied into it: the large memory the rounds\n"
"                             of a precopy sent is held here as it arrives\n"
"                             and is in place when the tree resumes; the\n"
"                             rest a lazy-pages daemon fills from DIR\n"
"                             (--postcopy: from the source) on fault and in\n"
"                             the background; exit 0 once it is all in. If\n"
"                             the daemon dies, the tree dies with it; DIR\n"
"                             keeps every image\n"
"Both:\n"
"      --idle-timeout S       destination: drop a source that sends\n"
"                             nothing for S seconds (default 120).\n"
"                             Source: give up on a destination that takes\n"
"                             nothing and answers nothing for S seconds\n"
"                             (default 30; the connect and its greeting\n"
"                             too): before it had every image, the tree\n"
"                             runs on here; after (it may be restoring\n"
"                             the tree), the tree stays here STOPPED\n"
"                             (SIGSTOP, VM QMP-stopped), memory whole:\n"
"                             continue it with kill -CONT (and QMP cont)\n"
"                             if the destination does not run it\n"
"      --tls                  TLS with certificates checked both ways (the\n"
"                             postcopy pages too)\n"
"      --tls-cacert FILE      the CA both certificates must be signed by\n"
"                             (default /etc/pki/CA/cacert.pem)\n"
"      --tls-cert FILE        this side's certificate (default\n"
"                             /etc/pki/criu/cert.pem)\n"
"      --tls-key FILE         its key (default\n"
"                             /etc/pki/criu/private/key.pem)\n"
"      --tls-no-cn-verify     do not check that the peer's certificate\n"
"                             names the host connected to\n"
"      --tcp-established      move established TCP connections (repair\n"
"                             mode, as dump and restore; both sides need\n"
"                             it). Their addresses must exist on the\n"
"                             destination: a connection between two\n"
"                             processes of the tree over loopback moves;\n"
"                             one to a peer outside needs the address and\n"
"                             the routes moved too (not done here)\n"
"      --stats-file FILE      figures of the migration as JSON\n"
"  -o, --log-file FILE        log into FILE, each line stamped (errors\n"
"                             and warnings still on stderr)\n"
"  -v, --verbose[=N], -vN     log level, as for dump (-v0 to -v4)\n"
"  -h, --help                 this text\n";

struct migrate_opts {
	pid_t pid;
	const char *to, *incoming, *dir, *qmp, *stats, *log_file;
	unsigned downtime_ms, max_rounds;
	uint64_t max_bw;
	bool postcopy;
	bool lazy;		/* destination: restore --lazy-pages */
	unsigned lazy_timeout_s;
	struct tls_opts tls;
	unsigned idle_s;	/* a silent peer is dropped (0: the side's
				 * default) */
	bool tcp_established;	/* both sides: established TCP connections */
};

static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || v < 0)
		return -1;
	switch (*end) {
	case 'k': case 'K': v *= 1024; end++; break;
	case 'm': case 'M': v *= 1024 * 1024; end++; break;
	case 'g': case 'G': v *= 1024.0 * 1024 * 1024; end++; break;
	}
	if (*end)
		return -1;
	*out = v;
	return 0;
}

static int parse_migrate_args(int argc, char **argv, struct migrate_opts *o)
{
	enum { OPT_TO = 256, OPT_INCOMING, OPT_QMP, OPT_DOWNTIME, OPT_BW,
	       OPT_ROUNDS, OPT_POSTCOPY, OPT_STATS, OPT_LAZY, OPT_LTIMEOUT,
	       OPT_IDLE, OPT_TCP };
	static const struct option opts[] = {
		{ "tree", required_argument, NULL, 't' },
		{ "to", required_argument, NULL, OPT_TO },
		{ "incoming", required_argument, NULL, OPT_INCOMING },
		{ "images-dir", required_argument, NULL, 'D' },
		{ "qmp", required_argument, NULL, OPT_QMP },
		{ "downtime-limit", required_argument, NULL, OPT_DOWNTIME },
		{ "max-bandwidth", required_argument, NULL, OPT_BW },
		{ "max-rounds", required_argument, NULL, OPT_ROUNDS },
		{ "postcopy", no_argument, NULL, OPT_POSTCOPY },
		{ "stats-file", required_argument, NULL, OPT_STATS },
		{ "lazy-pages", no_argument, NULL, OPT_LAZY },
		{ "lazy-timeout", required_argument, NULL, OPT_LTIMEOUT },
		{ "idle-timeout", required_argument, NULL, OPT_IDLE },
		{ "tcp-established", no_argument, NULL, OPT_TCP },
		{ "verbose", optional_argument, NULL, 'v' },
		{ "log-file", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		TLS_LONG_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	long val;
	int c;

	memset(o, 0, sizeof(*o));
	o->downtime_ms = 300;
	o->max_rounds = 30;
	o->lazy_timeout_s = LAZY_TIMEOUT_DEFAULT;
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":t:D:o:v::h", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			if (parse_pid(optarg, &o->pid))
				return -1;
			break;
		case 'D':
			o->dir = optarg;
			break;
		case 'o':
			o->log_file = optarg;
			break;
		case OPT_TO:
			o->to = optarg;
			break;
		case OPT_INCOMING:
			o->incoming = optarg;
			break;
		case OPT_QMP:
			o->qmp = optarg;
			break;
		case OPT_DOWNTIME:
			if (parse_count("--downtime-limit", optarg, 3600000, &val))
				return -1;
			o->downtime_ms = val;
			break;
		case OPT_ROUNDS:
			if (parse_count("--max-rounds", optarg, 1000, &val))
				return -1;
			o->max_rounds = val;
			break;
		case OPT_BW:
			if (parse_size(optarg, &o->max_bw)) {
				pr_err("bad size \"%s\" for --max-bandwidth "
				       "(bytes per second, K/M/G)", optarg);
				return -1;
			}
			break;
		case OPT_POSTCOPY:
			o->postcopy = true;
			break;
		case OPT_STATS:
			o->stats = optarg;
			break;
		case OPT_LAZY:
			o->lazy = true;
			break;
		case OPT_LTIMEOUT:
			if (parse_lazy_timeout(optarg, &o->lazy_timeout_s))
				return -1;
			break;
		case OPT_IDLE:
			if (parse_idle_timeout(optarg, &o->idle_s))
				return -1;
			break;
		case OPT_TCP:
			o->tcp_established = true;
			break;
		case 'v':
			if (parse_verbosity(optarg))
				return -1;
			break;
		case 'h':
			fputs(migrate_text, stdout);
			return 1;
		default:
			if (!IS_TLS_OPTION(c))
				return cli_bad_option("migrate", c, argv);
			parse_tls_option(c, optarg, &o->tls);
			break;
		}
	}
	if (cli_stray_args("migrate", argc, argv))
		return -1;
	if (!!o->to == !!o->incoming) {
		pr_err("migrate needs either -t PID --to HOST:PORT (source) or "
		       "--incoming HOST:PORT -D DIR (destination)");
		return -1;
	}
	if (o->to && (!o->pid || o->dir)) {
		pr_err("migrate --to needs -t PID (and no -D: the images go to "
		       "the destination)");
		return -1;
	}
	if (o->lazy && !o->incoming) {
		pr_err("--lazy-pages goes with --incoming (the destination)");
		return -1;
	}
	if (o->incoming && (o->pid || o->qmp)) {
		pr_err("migrate --incoming is the destination: -t and --qmp "
		       "belong to the source (migrate -t PID --to HOST:PORT)");
		return -1;
	}
	if (check_tls_opts("migrate", &o->tls))
		return -1;
	if (o->incoming && !o->dir) {
		pr_err("migrate --incoming needs -D DIR");
		return -1;
	}
	if (!o->idle_s)
		o->idle_s = o->to ? PEER_TIMEOUT_DEFAULT : IDLE_TIMEOUT_DEFAULT;
	if (o->postcopy && !o->to) {
		pr_err("--postcopy goes with the source (migrate -t PID --to "
		       "HOST:PORT); the destination follows what it is sent");
		return -1;
	}
	return 0;
}

/* ---- source ---- */

static int send_one(struct page_xfer *x, int dirfd, const char *name)
{
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	struct stat st;
	void *data = NULL;
	int ret = -1;

	if (fd < 0 || fstat(fd, &st)) {
		pr_perror("migrate: open image %s", name);
		goto out;
	}
	if (st.st_size) {
		data = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (data == MAP_FAILED) {
			data = NULL;
			pr_perror("migrate: map image %s", name);
			goto out;
		}
	}
	ret = page_xfer_send_file(x, name, data ? data : "", st.st_size);
out:
	if (data)
		munmap(data, st.st_size);
	if (fd >= 0)
		close(fd);
	return ret;
}

int migrate_handover(struct page_xfer *x, int dirfd, struct dump_stats *st,
		     bool wait_reply)
{
	uint64_t t0 = now_ns();
	int dfd = dup(dirfd), ret = -1;
	DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
	struct dirent *de;
	char text[XP_MAX_TEXT + 1];

	if (!d) {
		pr_perror("migrate: read the images");
		if (dfd >= 0)
			close(dfd);
		return -1;
	}
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (send_one(x, dirfd, de->d_name))
			goto out;
	}
	if (page_xfer_done(x))
		goto out;
	st->sent_at_ns = st->dumped_at_ns + (now_ns() - t0);
	pr_info("migrate: all sent in %.1f ms; the destination restores",
		(now_ns() - t0) / 1e6);
	if (!wait_reply) {
		ret = 0;
		goto out;
	}
	if (page_xfer_reply(x, text, sizeof(text))) {
		if (!page_xfer_outcome_unknown(x))
			pr_err("migrate: the destination did not take over: "
			       "the tree runs on here");
		goto out;
	}
	pr_info("migrate: the destination says: %s", text);
	ret = 0;
out:
	st->handover_ns = now_ns() - t0;
	closedir(d);
	return ret;
}

static void json_rounds(FILE *f, const struct dump_stats *st)
{
	unsigned n = st->precopy_rounds < MAX_ROUNDS_RECORDED ?
		     st->precopy_rounds : MAX_ROUNDS_RECORDED;

	fprintf(f, "  \"rounds\": [");
	for (unsigned i = 0; i < n; i++)
		fprintf(f, "%s\n    {\"pages\": %lu, \"bytes\": %lu, \"ms\": %.1f}",
			i ? "," : "", (unsigned long)st->round_pages[i],
			(unsigned long)st->round_bytes[i], st->round_ns[i] / 1e6);
	fprintf(f, "%s],\n", n ? "\n  " : "");
}

/* query-migrate's "ram" names for where the bytes went, and its
 * counters: normal (pages sent: the rounds', the frozen dump's, pulled
 * after a postcopy's switch), duplicate (zero pages, not sent),
 * dirty-sync-count (the rounds and the frozen pass), dirty-pages-rate
 * (pages a second written while the last running round was copied: what
 * the frozen pass found), mbps (megabits a second over the whole move) */
static void json_ram(FILE *f, const struct migrate_opts *o,
		     const struct dump_stats *st, double total_ms)
{
	uint64_t pre = 0, moved = st->bytes_written + st->postcopy_bytes;
	/* the frozen pass's own pages: those it stores that no round had */
	uint64_t frozen = st->pages_stored > st->pages_reused_stored ?
			  st->pages_stored - st->pages_reused_stored : 0;
	unsigned n = st->precopy_rounds < MAX_ROUNDS_RECORDED ?
		     st->precopy_rounds : MAX_ROUNDS_RECORDED;
	double rate = n && st->round_ns[n - 1] ?
		      frozen * 1e9 / st->round_ns[n - 1] : 0;

	for (unsigned i = 0; i < n; i++)
		pre += st->round_bytes[i];
	fprintf(f, "  \"postcopy\": %s,\n  \"ram\": {\"normal\": %lu, "
		"\"duplicate\": %lu, \"dirty-sync-count\": %u, "
		"\"dirty-pages-rate\": %.0f, \"mbps\": %.1f, "
		"\"precopy-bytes\": %lu, "
		"\"downtime-bytes\": %lu, \"postcopy-requests\": %lu, "
		"\"postcopy-bytes\": %lu, \"postcopy-fault-requests\": %lu, "
		"\"postcopy-fault-bytes\": %lu, \"transferred\": %lu},\n",
		o->postcopy ? "true" : "false",
		(unsigned long)(st->precopy_pages + frozen +
				st->postcopy_bytes / PAGE_SZ),
		(unsigned long)st->pages_zero, st->precopy_rounds + 1, rate,
		total_ms > 0 ? moved * 8 / 1e6 / (total_ms / 1e3) : 0,
		(unsigned long)pre,
		(unsigned long)(st->bytes_written > pre ? st->bytes_written - pre
							: 0),
		(unsigned long)st->postcopy_requests,
		(unsigned long)st->postcopy_bytes,
		(unsigned long)st->postcopy_fault_requests,
		(unsigned long)st->postcopy_fault_bytes,
		(unsigned long)moved);
}

static int write_stats(const char *path, const struct migrate_opts *o,
		       const struct dump_stats *st, bool ok, double total_ms)
{
	FILE *f = fopen(path, "w");
	double down = ok ? (st->running_at_ns - st->stop_at_ns) / 1e6 : 0;
	double setup = st->stop_at_ns / 1e6 - st->precopy_ns / 1e6;

	if (!f) {
		pr_perror("migrate: stats file %s", path);
		return -1;
	}
	/* query-migrate's names (whole ms), then ours (tenths) */
	fprintf(f, "{\n  \"status\": \"%s\",\n  \"total-time\": %.0f,\n"
		"  \"setup-time\": %.0f,\n  \"downtime\": %.0f,\n"
		"  \"expected-downtime\": %lu,\n",
		ok ? "completed" : "failed", total_ms, setup, down,
		(unsigned long)st->expected_downtime_ms);
	fprintf(f, "  \"side\": \"source\",\n"
		"  \"pid\": %d,\n  \"total_ms\": %.1f,\n  \"downtime_ms\": %.1f,\n"
		"  \"setup_ms\": %.1f,\n  \"precopy_ms\": %.1f,\n"
		"  \"frozen_ms\": %.1f,\n  \"handover_ms\": %.1f,\n"
		"  \"precopy_rounds\": %u,\n  \"precopy_pages\": %lu,\n"
		"  \"expected_downtime_ms\": %lu,\n  \"downtime_limit_ms\": %u,\n"
		"  \"max_bandwidth\": %lu,\n  \"pages_written\": %lu,\n"
		"  \"pages_zero\": %lu,\n  \"pages_reused\": %lu,\n"
		"  \"pages_untrusted\": %lu,\n  \"bytes_sent\": %lu,\n",
		o->pid, total_ms, down, setup,
		st->precopy_ns / 1e6, st->frozen_ns / 1e6,
		st->handover_ns / 1e6, st->precopy_rounds,
		(unsigned long)st->precopy_pages,
		(unsigned long)st->expected_downtime_ms, o->downtime_ms,
		(unsigned long)o->max_bw, (unsigned long)st->pages_stored,
		(unsigned long)st->pages_zero, (unsigned long)st->pages_reused,
		(unsigned long)st->pages_untrusted,
		(unsigned long)st->bytes_written);
	if (ok)
		fprintf(f, "  \"downtime-parts\": {\"stop-freeze_ms\": %.1f, "
			"\"dump_ms\": %.1f, \"send_ms\": %.1f, "
			"\"restore-there_ms\": %.1f},\n",
			(st->frozen_at_ns - st->stop_at_ns) / 1e6,
			(st->dumped_at_ns - st->frozen_at_ns) / 1e6,
			(st->sent_at_ns - st->dumped_at_ns) / 1e6,
			(st->running_at_ns - st->sent_at_ns) / 1e6);
	json_rounds(f, st);
	json_ram(f, o, st, total_ms);
	fprintf(f, "  \"to\": \"%s\"\n}\n", o->to);
	return fclose(f) ? -1 : 0;
}

/* In a job-control stop (postcopy that lost the destination, a silent
 * one after the hand-over). */
static bool stop_state(pid_t pid)
{
	char path[64], buf[512], *p;
	FILE *f;
	bool stopped = false;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (f && fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')')))
		stopped = p[2] == 'T';
	if (f)
		fclose(f);
	return stopped;
}

/* The SIGSTOP queued behind the freeze takes effect once the tree is let
 * go: up to 200 ms later on a loaded host. */
static bool stopped_here(pid_t pid)
{
	for (int i = 0; i < 20; i++) {
		if (stop_state(pid))
			return true;
		usleep(10000);
	}
	return false;
}

static int migrate_out(const struct migrate_opts *mo)
{
	struct dump_opts o = { 0 };
	struct dump_stats st;
	char host[256], tmp[PATH_MAX], dir[PATH_MAX + 16];
	const char *td = getenv("TMPDIR");
	uint64_t t0 = now_ns();
	unsigned port;
	int ret;

	if (net_split(mo->to, host, sizeof(host), &port))
		return -1;
	{
		/* scratch dirs of migrations whose criu-lite was killed */
		int tfd = open(td && *td ? td : "/tmp", O_RDONLY | O_DIRECTORY |
			       O_CLOEXEC);

		if (tfd >= 0) {
			imgdir_sweep_dead(tfd, "criu-lite-migrate-");
			close(tfd);
		}
	}
	snprintf(tmp, sizeof(tmp), "%s/criu-lite-migrate-%d-%s-XXXXXX",
		 td && *td ? td : "/tmp", getpid(), imgdir_ns_tag());
	if (!mkdtemp(tmp)) {
		pr_perror("migrate: a scratch directory in %s", td ? td : "/tmp");
		return -1;
	}
	snprintf(dir, sizeof(dir), "%s/images", tmp);
	o.pid = mo->pid;
	o.progress_fd = -1;	/* progress on stderr only */
	o.dir = dir;
	o.qmp = mo->qmp;
	o.migrate = true;
	o.ps_addr = host;
	o.ps_port = port;
	o.idle_s = mo->idle_s;
	o.tls = mo->tls;
	o.no_sync = true;	/* nothing is kept here */
	o.precopy_rounds = mo->max_rounds;
	o.precopy_until = 1;
	o.downtime_ms = mo->downtime_ms;
	o.max_bw = mo->max_bw;
	o.lazy_pages = mo->postcopy;
	o.lazy_timeout_s = mo->lazy_timeout_s;
	o.tcp_established = mo->tcp_established;
	/* no network lock: the tree is killed here only once the
	 * destination runs it, sockets and all; a lock here would block
	 * nothing of theirs and outlive them */
	o.network_lock = false;
	ret = dump_tree(&o, &st);
	rmdir(dir);
	rmdir(tmp);
	if (ret) {
		if (kill(mo->pid, 0) == 0 && !stopped_here(mo->pid))
			pr_err("migration of %d failed; it runs on here", mo->pid);
	} else {
		pr_info("migrated %d to %s: total %.1f ms, downtime %.1f ms "
			"(%s to running there), %u pre-copy rounds (%lu pages), "
			"%.1f MiB sent", mo->pid, mo->to, (now_ns() - t0) / 1e6,
			(st.running_at_ns - st.stop_at_ns) / 1e6,
			mo->qmp ? "QMP stop" : "freeze", st.precopy_rounds,
			(unsigned long)st.precopy_pages,
			st.bytes_written / 1048576.0);
		pr_info("downtime: %.1f ms to stop and freeze, %.1f ms to dump, "
			"%.1f ms to send, %.1f ms to restore there",
			(st.frozen_at_ns - st.stop_at_ns) / 1e6,
			(st.dumped_at_ns - st.frozen_at_ns) / 1e6,
			(st.sent_at_ns - st.dumped_at_ns) / 1e6,
			(st.running_at_ns - st.sent_at_ns) / 1e6);
	}
	if (mo->stats && write_stats(mo->stats, mo, &st, !ret,
				     (now_ns() - t0) / 1e6))
		ret = -1;
	return ret;
}

/* ---- destination ---- */

/* What the source sent as postcopy-source.img (its lazy pages' address),
 * removed from dir; "" for a precopy. */
static int postcopy_source(const char *dir, char *addr, size_t len)
{
	char path[PATH_MAX];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, POSTCOPY_SOURCE);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	n = read(fd, addr, len - 1);
	close(fd);
	unlink(path);
	if (n <= 0) {
		pr_err("migrate: %s from the source is empty", POSTCOPY_SOURCE);
		return -1;
	}
	addr[n] = 0;
	pr_info("migrate: postcopy; the memory comes from %s", addr);
	return 0;
}

/* The tree runs; we return once its lazy-pages daemons have every page
 * in (0) or one gave up (its process was killed with it). */
static int wait_daemons(const struct restore_stats *rst, bool postcopy)
{
	int ret = 0;

	for (unsigned i = 0; i < rst->nr_daemons; i++) {
		int status;

		while (waitpid(rst->daemons[i], &status, 0) < 0 && errno == EINTR)
			;
		if (!WIFEXITED(status) || WEXITSTATUS(status)) {
			pr_err("migrate: the memory of the tree did not all "
			       "arrive (lazy-pages daemon %d failed): its "
			       "process was killed here; %s", rst->daemons[i],
			       postcopy ? "the source keeps the tree stopped" :
			       "its images are in DIR (restore -D DIR)");
			/* (DIR has the held pages too: written when a
			 * daemon was needed, restore.c) */
			ret = -1;
		}
	}
	if (!ret)
		pr_info("migrate --incoming: every page is in");
	return ret;
}

/* The restore's last part: the tree's threads let go (what its other
 * figures leave of its total). */
static uint64_t resume_ns(const struct restore_stats *st)
{
	uint64_t parts = st->load_ns + st->pid_wait_ns + st->hold_ns +
			 st->fork_ns + st->mm_ns;

	return st->total_ns > parts ? st->total_ns - parts : 0;
}

static int migrate_in(const struct migrate_opts *mo)
{
	struct restore_opts ro = { 0 };
	struct restore_stats rst = { 0 };
	struct prefill held;
	char host[256], text[128], source[280] = "";
	uint64_t t0, t1, t2 = 0, t3;
	unsigned port;
	struct conn *c;
	int l, mode, ret = -1;

	if (net_split(mo->incoming, host, sizeof(host), &port))
		return -1;
	l = net_listen(strcmp(host, "*") ? host : NULL, port,
		       "migrate --incoming");
	if (l < 0)
		return -1;
	pr_info("migrate --incoming: waiting on %s%s", mo->incoming,
		mo->tls.on ? " (TLS)" : "");
	c = page_server_accept(l, &mo->tls, mo->idle_s, 1u << XP_MIGRATE |
			       1u << XP_MIGRATE_POSTCOPY, &mode,
			       "migrate --incoming");
	close(l);
	if (!c)
		return -1;
	t0 = now_ns();
	/* the memory held here too, to be in place when the tree resumes
	 * (precopy: a postcopy's memory is mostly still at the source) */
	prefill_init(&held);
	if (page_server_receive(c, mo->dir, mo->idle_s, true,
				mode == XP_MIGRATE ? &held : NULL)) {
		prefill_release(&held);
		conn_close(c);
		return -1;
	}
	t1 = now_ns();
	if (postcopy_source(mo->dir, source, sizeof(source))) {
		prefill_release(&held);
		goto out;
	}
	ro.dir = mo->dir;
	ro.progress_fd = -1;
	ro.detach = true;
	ro.tcp_established = mo->tcp_established;
	ro.zombie_wait_ms = 5000;
	/* lazily in any case: copying a large memory into the tree is most
	 * of the downtime of a full restore (QEMU: seconds for 512 MiB on a
	 * busy host), and its pages are here, checked on arrival */
	ro.lazy = true;
	ro.page_server = *source ? source : NULL;
	ro.lazy_timeout_s = mo->lazy_timeout_s;
	ro.tls = mo->tls;	/* postcopy: the source serves its memory */
	/* every page was checked against its checksum as it arrived, moments
	 * ago, by this process: not once more during the downtime */
	ro.no_verify = true;
	ro.prefill = *source || getenv("CRIU_LITE_NO_PREFILL") ? NULL : &held;
	/* not for this restore: the pages held only here into the file */
	if (!ro.prefill && prefill_spill(&held)) {
		prefill_release(&held);
		page_server_reply(c, 1, "the destination could not write the "
				  "pages it held into its pages file");
		goto out;
	}
	ret = restore_tree(&ro, &rst) < 0 ? -1 : 0;
	t2 = now_ns();
	if (ret) {
		page_server_reply(c, 1, "the restore failed on the destination "
				  "(its messages say why)");
	} else {
		snprintf(text, sizeof(text), "running, pid %d", rst.root_pid);
		if (page_server_reply(c, 0, text))
			pr_warn("migrate: the source is gone; the tree runs here");
		pr_info("migrate --incoming: %d runs here: received in %.1f ms, "
			"restored in %.1f ms", rst.root_pid, (t1 - t0) / 1e6,
			(t2 - t1) / 1e6);
	}
	prefill_release(&held);	/* the dropper thread done by now */
	conn_close(c);
	c = NULL;
	if (!ret)
		ret = wait_daemons(&rst, *source);
out:
	t3 = now_ns();
	if (mo->stats) {
		FILE *f = fopen(mo->stats, "w");

		if (f) {
			fprintf(f, "{\n  \"status\": \"%s\",\n  \"side\": "
				"\"destination\",\n  \"pid\": %d,\n"
				"  \"receive_ms\": %.1f,\n  \"restore_ms\": %.1f,\n"
				"  \"restore-parts\": {\"load_ms\": %.1f, "
				"\"pid-wait_ms\": %.1f, \"hold_ms\": %.1f, "
				"\"fork_ms\": %.1f, "
				"\"memory_ms\": %.1f, \"resume_ms\": %.1f},\n"
				"  \"pages_restored\": %lu,\n"
				"  \"postcopy\": %s,\n  \"all_memory_ms\": %.1f\n}\n",
				ret ? "failed" : "completed", rst.root_pid,
				(t1 - t0) / 1e6, (t2 - t1) / 1e6,
				rst.load_ns / 1e6, rst.pid_wait_ns / 1e6,
				rst.hold_ns / 1e6, rst.fork_ns / 1e6, rst.mm_ns / 1e6,
				resume_ns(&rst) / 1e6,
				(unsigned long)rst.pages_written,
				*source ? "true" : "false", (t3 - t1) / 1e6);
			fclose(f);
		} else {
			pr_perror("migrate: stats file %s", mo->stats);
		}
	}
	conn_close(c);
	return ret;
}

int cmd_migrate(int argc, char **argv)
{
	struct migrate_opts o;
	int ret = parse_migrate_args(argc, argv, &o);

	if (ret)
		return ret > 0 ? 0 : 1;
	if (o.log_file && log_open_file(NULL, o.log_file, false))
		return 1;
	if (tls_files_check(&o.tls))
		return 1;
	return (o.to ? migrate_out(&o) : migrate_in(&o)) ? 1 : 0;
}
