// SPDX-License-Identifier: GPL-2.0
/*
 * Option parsing (criu-lite/cli.h): what each option sets, the defaults,
 * and that every bad command line is refused with -1 and a message rather
 * than half-parsed. The parsers are called many times in one process, as
 * a long-running caller (or a test) would.
 */
#include "testlib.h"

#include <getopt.h>

#include "cli.h"
#include "log.h"
#include "page-frames.h"
#include "show.h"

#define ARGV(...)	((char *[]){ __VA_ARGS__, NULL })
#define ARGC(...)	((int)(sizeof((char *[]){ __VA_ARGS__ }) / sizeof(char *)))

/* parse_dump_args on a literal command line, stderr and stdout captured */
#define DUMP(o, out, ...)						\
	run_dump(ARGC(__VA_ARGS__), ARGV(__VA_ARGS__), (o), (out))
#define RESTORE(o, out, ...)						\
	run_restore(ARGC(__VA_ARGS__), ARGV(__VA_ARGS__), (o), (out))

struct output {
	char *out, *err;
};

static void output_free(struct output *o)
{
	free(o->out);
	free(o->err);
	o->out = o->err = NULL;
}

static int run_dump(int argc, char **argv, struct dump_opts *o,
		    struct output *out)
{
	struct tl_capture ce, co;
	int ret;

	tl_capture_start(&ce, STDERR_FILENO);
	tl_capture_start(&co, STDOUT_FILENO);
	ret = parse_dump_args(argc, argv, o);
	out->out = tl_capture_end(&co);
	out->err = tl_capture_end(&ce);
	return ret;
}

static int run_restore(int argc, char **argv, struct restore_opts *o,
		       struct output *out)
{
	struct tl_capture ce, co;
	int ret;

	tl_capture_start(&ce, STDERR_FILENO);
	tl_capture_start(&co, STDOUT_FILENO);
	ret = parse_restore_args(argc, argv, o);
	out->out = tl_capture_end(&co);
	out->err = tl_capture_end(&ce);
	return ret;
}

static int save_level(void **state)
{
	*state = (void *)(intptr_t)log_get_level();
	return 0;
}

static int restore_level(void **state)
{
	log_set_level((int)(intptr_t)*state);
	return 0;
}

/* Clears glibc getopt state a failed test may leave behind: optind = 0
 * makes the next getopt call reinitialise it. */
static int reset_getopt(void **state)
{
	char a0[] = "x";
	char *argv[] = { a0, NULL };

	(void)state;
	optind = 0;
	getopt(1, argv, "");
	return 0;
}

/* ---- parse_pid ---- */

static void test_pid_good(void **state)
{
	static const struct { const char *s; pid_t pid; } good[] = {
		{ "1", 1 }, { "42", 42 }, { "4194304", 4194304 },
		{ "0012", 12 },
	};
	pid_t pid;

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		pid = -7;
		assert_int_equal(parse_pid(good[i].s, &pid), 0);
		assert_int_equal(pid, good[i].pid);
	}
}

static void test_pid_bad(void **state)
{
	static const char *bad[] = {
		"", "0", "-1", "-0", "abc", "12abc", "12 ", "1.5", "0x10",
		"4194305", "2147483648", "99999999999999999999999", "\n",
	};
	struct tl_capture cap;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		pid_t pid = 777;
		char *err;
		int ret;

		tl_capture_start(&cap, STDERR_FILENO);
		ret = parse_pid(bad[i], &pid);
		err = tl_capture_end(&cap);
		if (ret != -1)
			fail_msg("parse_pid(\"%s\") accepted it (%d)", bad[i],
				 pid);
		assert_int_equal(pid, 777);	/* untouched */
		assert_contains(err, "bad PID");
		free(err);
	}
}

/* ---- dump ---- */

static void test_dump_short(void **state)
{
	struct dump_opts o;
	struct output out;

	(void)state;
	assert_int_equal(DUMP(&o, &out, "dump", "-t", "123", "-D", "/tmp/x"), 0);
	assert_int_equal(o.pid, 123);
	assert_string_equal(o.dir, "/tmp/x");
	assert_false(o.leave_running);
	assert_null(o.prev_dir);
	assert_false(o.track_mem);
	assert_false(o.pre_dump);
	assert_null(o.qmp);
	assert_string_equal(out.err, "");
	assert_string_equal(out.out, "");
	output_free(&out);

	/* attached values, grouped flags, any order */
	assert_int_equal(DUMP(&o, &out, "dump", "-RD/img", "-t77"), 0);
	assert_int_equal(o.pid, 77);
	assert_string_equal(o.dir, "/img");
	assert_true(o.leave_running);
	output_free(&out);
}

static void test_dump_long(void **state)
{
	struct dump_opts o;
	struct output out;

	(void)state;
	assert_int_equal(DUMP(&o, &out, "dump", "--tree=9", "--images-dir",
			      "d d", "--leave-running"), 0);
	assert_int_equal(o.pid, 9);
	assert_string_equal(o.dir, "d d");
	assert_true(o.leave_running);
	assert_false(o.display_stats);
	output_free(&out);
	assert_int_equal(DUMP(&o, &out, "dump", "-t", "9", "-D", "x",
			      "--display-stats"), 0);
	assert_true(o.display_stats);
	assert_int_equal(o.progress_fd, -1);	/* none unless asked */
	output_free(&out);
	assert_int_equal(DUMP(&o, &out, "dump", "-t", "9", "-D", "x",
			      "--progress-fd", "3"), 0);
	assert_int_equal(o.progress_fd, 3);
	output_free(&out);
	/* unambiguous abbreviations, as getopt_long allows ("--tr" is not:
	 * --track-mem, --track-timeout) */
	assert_int_equal(DUMP(&o, &out, "dump", "--tre", "9", "--images=x",
			      "--leave"), 0);
	assert_int_equal(o.pid, 9);
	assert_string_equal(o.dir, "x");
	output_free(&out);
	/* the last of a repeated option wins */
	assert_int_equal(DUMP(&o, &out, "dump", "-t", "1", "-D", "a", "-t",
			      "2", "-D", "b"), 0);
	assert_int_equal(o.pid, 2);
	assert_string_equal(o.dir, "b");
	output_free(&out);
}

/* Each previous parse must leave nothing behind: the struct is reset. */
static void test_dump_resets(void **state)
{
	struct dump_opts o;
	struct output out;

	(void)state;
	memset(&o, 0xff, sizeof(o));
	assert_int_equal(DUMP(&o, &out, "dump", "-t", "5", "-D", "x"), 0);
	assert_false(o.leave_running);
	assert_null(o.prev_dir);
	assert_null(o.qmp);
	assert_false(o.track_mem);
	assert_false(o.pre_dump);
	assert_int_equal(o.track_timeout_s, TRACK_TIMEOUT_DEFAULT);
	assert_int_equal(o.compress, PAGES_CODEC_NONE);
	output_free(&out);
}

static void test_dump_compress(void **state)
{
	struct dump_opts o;
	struct output out;

	(void)state;
	assert_int_equal(DUMP(&o, &out, "dump", "-t", "5", "-D", "x",
			      "--compress", "zstd"), 0);
	assert_int_equal(o.compress, PAGES_CODEC_ZSTD);
	output_free(&out);
	assert_int_equal(DUMP(&o, &out, "dump", "-t", "5", "-D", "x",
			      "--compress=lz4"), 0);
	assert_int_equal(o.compress, PAGES_CODEC_LZ4);
	output_free(&out);
	assert_int_equal(DUMP(&o, &out, "dump", "-t", "5", "-D", "x",
			      "--compress", "lz4", "--compress", "none"), 0);
	assert_int_equal(o.compress, PAGES_CODEC_NONE);
	output_free(&out);
}

/* pre-dump: the same parser; tracking is implied, the layer options
 * are taken, options that make no sense for a pre-dump are refused. */
static void test_pre_dump(void **state)
{
	struct dump_opts o;
	struct output out;

	(void)state;
	assert_int_equal(DUMP(&o, &out, "pre-dump", "-t", "5", "-D", "l2",
			      "--prev-images-dir", "../l1",
			      "--track-timeout", "60"), 0);
	assert_true(o.pre_dump);
	assert_true(o.track_mem);
	assert_string_equal(o.prev_dir, "../l1");
	assert_int_equal(o.track_timeout_s, 60);
	output_free(&out);
	assert_int_equal(DUMP(&o, &out, "dump", "-t", "5", "-D", "f",
			      "--prev-images-dir=../l2", "--track-mem", "-R"), 0);
	assert_false(o.pre_dump);
	assert_true(o.track_mem);
	assert_string_equal(o.prev_dir, "../l2");
	output_free(&out);
	assert_int_equal(DUMP(&o, &out, "pre-dump", "--help"), 1);
	assert_contains(out.out, "usage: criu-lite pre-dump");
	assert_contains(out.out, "--track-timeout");
	output_free(&out);
}

/* CRIU's -j/--shell-job: accepted by dump, pre-dump and restore (what
 * a terminal always gets), changing nothing else */
static void test_shell_job(void **state)
{
	struct dump_opts o;
	struct restore_opts r;
	struct output out;

	(void)state;
	assert_int_equal(DUMP(&o, &out, "dump", "-t", "5", "-D", "x", "-j",
			      "-R"), 0);
	assert_true(o.leave_running);
	assert_string_equal(out.err, "");
	output_free(&out);
	assert_int_equal(DUMP(&o, &out, "pre-dump", "-t", "5", "-D", "x",
			      "--shell-job"), 0);
	assert_true(o.pre_dump);
	output_free(&out);
	assert_int_equal(RESTORE(&r, &out, "restore", "-D", "x", "-jd"), 0);
	assert_true(r.detach);
	output_free(&out);
	assert_int_equal(RESTORE(&r, &out, "restore", "--shell-job", "-D",
				 "x"), 0);
	assert_string_equal(r.dir, "x");
	output_free(&out);
}

static void test_pre_dump_bad(void **state)
{
	static const struct { char *argv[14]; const char *msg; } bad[] = {
		{ { "pre-dump", "-t", "5", "-D", "x", "--compress", "lz4" },
		  "pre-dump: --compress is not supported yet" },
		{ { "pre-dump", "-t", "5", "-D", "x", "--page-server", "--address",
		    "h", "--port", "1", "--tls-cert", "c" },
		  "pre-dump: --tls-cacert, --tls-cert, --tls-key and" },
		{ { "pre-dump", "-t", "5", "-D", "x", "--tls" },
		  "pre-dump: --tls is for the connection to a page server" },
		{ { "dump", "-t", "5", "-D", "x", "--prev-images-dir", "p",
		    "--compress", "zstd" },
		  "dump: --compress with --prev-images-dir is not supported yet" },
		{ { "pre-dump", "-t", "5", "-D", "x", "-R" },
		  "pre-dump: --leave-running: a pre-dump always" },
		{ { "pre-dump", "-t", "5", "-D", "x", "--qmp", "s" },
		  "pre-dump: --qmp" },
		{ { "pre-dump", "-t", "5", "-D", "x", "--precopy-rounds", "2" },
		  "pre-dump: --precopy-rounds" },
		{ { "pre-dump", "-t", "5", "-D", "x", "--track-timeout", "0" },
		  "for --track-timeout" },
		{ { "pre-dump", "-t", "5", "-D", "x", "--track-timeout", "9999999" },
		  "bad number \"9999999\" for --track-timeout" },
		{ { "pre-dump", "-t", "5", "-D", "x", "--prev-images-dir", "" },
		  "--prev-images-dir needs a directory" },
		{ { "pre-dump", "-t", "5" }, "pre-dump needs -t PID and -D DIR" },
		{ { "dump", "-t", "5", "-D", "x", "--track-timeout", "5" },
		  "dump: --track-timeout is for pre-dump" },
		{ { "dump", "-t", "5", "-D", "x", "--prev-images-dir", "p",
		    "--precopy-rounds", "2" }, "not supported yet" },
	};
	struct output out;
	struct dump_opts o;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char **argv = (char **)bad[i].argv;
		int argc = 0, ret;

		while (argv[argc])
			argc++;
		ret = run_dump(argc, argv, &o, &out);
		if (ret != -1)
			fail_msg("case %zu (%s ...): %d, want -1", i, argv[1], ret);
		assert_contains(out.err, bad[i].msg);
		output_free(&out);
	}
}

static void test_dump_bad(void **state)
{
	static const struct { char *argv[14]; const char *msg; } bad[] = {
		{ { "dump" }, "needs -t PID" },
		{ { "dump", "-t", "5" }, "needs -t PID" },
		{ { "dump", "-D", "x" }, "needs -t PID" },
		{ { "dump", "-t", "0", "-D", "x" }, "bad PID" },
		{ { "dump", "-t", "x5", "-D", "x" }, "bad PID" },
		{ { "dump", "--tree=", "-D", "x" }, "bad PID" },
		{ { "dump", "-t", "5", "-D", "x", "extra" },
		  "criu-lite: Error: dump: unexpected argument \"extra\"" },
		{ { "dump", "-t", "5", "-D", "x", "-Q" }, "unknown option -Q" },
		{ { "dump", "-t", "5", "-D", "x", "--bogus" },
		  "unknown option --bogus" },
		{ { "dump", "-t", "5", "-D" }, "option -D needs a value" },
		{ { "dump", "-D", "x", "-t" }, "option -t needs a value" },
		{ { "dump", "-t", "5", "-D", "x", "--leave-running=1" },
		  "option --leave-running takes no value" },
		{ { "dump", "-t", "5", "-D", "x", "--verify" },
		  "unknown option --verify" },
		{ { "dump", "-t", "5", "-D", "x", "--precopy-rounds", "x" },
		  "bad number \"x\" for --precopy-rounds" },
		{ { "dump", "-t", "5", "-D", "x", "--page-server" },
		  "--page-server needs --address HOST and --port N" },
		{ { "dump", "-t", "5", "-D", "x", "--page-server", "--port",
		    "7" }, "--page-server needs --address HOST and --port N" },
		{ { "dump", "-t", "5", "-D", "x", "--address", "h" },
		  "--address and --port go with --page-server" },
		{ { "dump", "-t", "5", "-D", "x", "--port", "70000" },
		  "--port" },
		{ { "dump", "-t", "5", "-D", "x", "--progress-fd", "-1" },
		  "bad number \"-1\" for --progress-fd" },
		{ { "dump", "-t", "5", "-D", "x", "--compress", "gzip" },
		  "dump: --compress \"gzip\": lz4, zstd or none" },
		{ { "dump", "-t", "5", "-D", "x", "--compress" },
		  "option --compress needs a value" },
		{ { "dump", "-t", "5", "-D", "x", "--page-server", "--address",
		    "h", "--port", "7", "--compress", "lz4" },
		  "--compress is for the local pages image, not with --page-server" },
	};
	struct output out;
	struct dump_opts o;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char **argv = (char **)bad[i].argv;
		int argc = 0, ret;

		while (argv[argc])
			argc++;
		ret = run_dump(argc, argv, &o, &out);
		if (ret != -1)
			fail_msg("case %zu (%s ...): %d, want -1", i,
				 argv[argc - 1], ret);
		assert_contains(out.err, bad[i].msg);
		assert_string_equal(out.out, "");
		output_free(&out);
	}
}

static void test_dump_page_server(void **state)
{
	struct output out;
	struct dump_opts o;

	(void)state;
	assert_int_equal(DUMP(&o, &out, "dump", "-t", "5", "-D", "x",
			      "--page-server", "--address", "10.0.0.2",
			      "--port", "1234"), 0);
	assert_true(o.page_server);
	assert_string_equal(o.ps_addr, "10.0.0.2");
	assert_int_equal(o.ps_port, 1234);
	output_free(&out);
	assert_int_equal(DUMP(&o, &out, "dump", "-t", "5", "-D", "x"), 0);
	assert_false(o.page_server);
	assert_null(o.ps_addr);
	assert_int_equal(o.ps_port, 0);
	output_free(&out);
}

static void test_dump_help(void **state)
{
	struct dump_opts o;
	struct output out;

	(void)state;
	assert_int_equal(DUMP(&o, &out, "dump", "--help"), 1);
	assert_contains(out.out, "usage: criu-lite");
	assert_contains(out.out, "--leave-running");
	assert_string_equal(out.err, "");
	output_free(&out);
	/* help wins over missing options */
	assert_int_equal(DUMP(&o, &out, "dump", "-h", "-t", "5"), 1);
	output_free(&out);
}

/* Each command's --help is its own: its options, not the others'. */
static void test_help_per_command(void **state)
{
	struct restore_opts ro;
	struct dump_opts o;
	struct output d, r;

	(void)state;
	assert_int_equal(DUMP(&o, &d, "dump", "--help"), 1);
	assert_int_equal(RESTORE(&ro, &r, "restore", "--help"), 1);
	assert_contains(d.out, "usage: criu-lite dump");
	assert_contains(r.out, "usage: criu-lite restore");
	assert_true(strstr(d.out, "--zombie-wait") == NULL);
	assert_true(strstr(r.out, "--leave-running") == NULL);
	assert_true(strcmp(d.out, r.out) != 0);
	output_free(&d);
	output_free(&r);
}

static void test_dump_verbose(void **state)
{
	int before = log_get_level();
	struct dump_opts o;
	struct output out;

	(void)state;
	assert_int_equal(DUMP(&o, &out, "dump", "-v", "-t", "5", "-D", "x",
			      "--verbose"), 0);
	assert_int_equal(log_get_level(), before + 2);
	output_free(&out);
}

/* CRIU's levels: -vN sets, -v / -vv... / --verbose add, -o takes a file */
static void test_dump_levels(void **state)
{
	struct dump_opts o;
	struct output out;

	(void)state;
	assert_int_equal(DUMP(&o, &out, "dump", "-v0", "-t", "5", "-D", "x"), 0);
	assert_int_equal(log_get_level(), LOG_ERROR);
	output_free(&out);
	assert_int_equal(DUMP(&o, &out, "dump", "-v3", "-t", "5", "-D", "x",
			      "-o", "d.log"), 0);
	assert_int_equal(log_get_level(), LOG_DEBUG);
	assert_string_equal(o.log_file, "d.log");
	output_free(&out);
	log_set_level(LOG_INFO);
	assert_int_equal(DUMP(&o, &out, "dump", "-vv", "-t", "5", "-D", "x",
			      "--log-file=/l"), 0);
	assert_int_equal(log_get_level(), LOG_TRACE);
	assert_string_equal(o.log_file, "/l");
	output_free(&out);
	assert_int_equal(DUMP(&o, &out, "dump", "--verbose=1", "-t", "5", "-D",
			      "x", "-vvvvvv"), 0);
	assert_int_equal(log_get_level(), LOG_TRACE);	/* capped */
	output_free(&out);
	assert_int_equal(DUMP(&o, &out, "dump", "-v5", "-t", "5", "-D", "x"), -1);
	assert_contains(out.err, "criu-lite: Error: bad verbosity \"5\"");
	output_free(&out);
	assert_int_equal(DUMP(&o, &out, "dump", "-t", "5", "-D", "x"), 0);
	assert_null(o.log_file);
	output_free(&out);
}

/*
 * A parse that stops in the middle of a group of short options ("-hR":
 * -h returns at once) must not leak the rest of the group into the next
 * parse. glibc keeps its position in the group across calls unless optind
 * is reset to 0 (getopt(3)); optind = 1 is not enough.
 */
static void test_dump_reentrant_after_group(void **state)
{
	char a0[] = "dump", a1[] = "-hR";
	char *first[] = { a0, a1, NULL };
	struct dump_opts o;
	struct output out;

	(void)state;
	assert_int_equal(run_dump(2, first, &o, &out), 1);
	output_free(&out);
	a1[1] = a1[2] = 'x';	/* the caller reuses its buffers */
	assert_int_equal(DUMP(&o, &out, "dump", "-t", "5", "-D", "x"), 0);
	assert_false(o.leave_running);
	assert_string_equal(out.err, "");
	output_free(&out);
}

/* ---- restore ---- */

static void test_restore_good(void **state)
{
	struct restore_opts o;
	struct output out;

	(void)state;
	assert_int_equal(RESTORE(&o, &out, "restore", "-D", "img"), 0);
	assert_string_equal(o.dir, "img");
	assert_false(o.detach);
	assert_false(o.verify);
	assert_false(o.no_verify);	/* pages are checked by default */
	assert_false(o.pidns);
	assert_false(o.no_cont);
	assert_false(o.lazy);
	assert_int_equal(o.zombie_wait_ms, 5000);
	assert_false(o.display_stats);
	assert_int_equal(o.progress_fd, -1);
	assert_string_equal(out.err, "");
	output_free(&out);

	assert_int_equal(RESTORE(&o, &out, "restore", "-dD", "img",
				 "--verify", "--zombie-wait", "0"), 0);
	assert_true(o.detach);
	assert_true(o.verify);
	assert_false(o.no_verify);
	assert_int_equal(o.zombie_wait_ms, 0);
	output_free(&out);

	assert_int_equal(RESTORE(&o, &out, "restore", "-D", "img",
				 "--no-verify", "--display-stats"), 0);
	assert_true(o.no_verify);
	assert_false(o.verify);
	assert_true(o.display_stats);
	output_free(&out);

	assert_int_equal(RESTORE(&o, &out, "restore", "-D", "img",
				 "--progress-fd=4"), 0);
	assert_int_equal(o.progress_fd, 4);
	output_free(&out);

	assert_int_equal(RESTORE(&o, &out, "restore", "--images-dir=/a b",
				 "--restore-detached", "--zombie-wait=250"), 0);
	assert_string_equal(o.dir, "/a b");
	assert_true(o.detach);
	assert_int_equal(o.zombie_wait_ms, 250);
	output_free(&out);
}

/* The page server of restore --lazy-pages, CRIU's way (--page-server
 * --address --port) or by the HOST:PORT alias: the same HOST:PORT either
 * way, IPv6 in brackets; dump's --page-server takes the alias too. */
static void test_page_server_syntax(void **state)
{
	static const struct { char *argv[10]; const char *want; } good[] = {
		{ { "restore", "-D", "x", "--lazy-pages", "--page-server",
		    "--address", "10.0.0.2", "--port", "1234" }, "10.0.0.2:1234" },
		{ { "restore", "-D", "x", "--lazy-pages", "--address",
		    "10.0.0.2", "--port=1234", "--page-server" }, "10.0.0.2:1234" },
		{ { "restore", "-D", "x", "--lazy-pages", "--page-server",
		    "10.0.0.2:1234" }, "10.0.0.2:1234" },
		{ { "restore", "-D", "x", "--page-server=10.0.0.2:1234",
		    "--lazy-pages" }, "10.0.0.2:1234" },
		{ { "restore", "--lazy-pages", "--page-server", "--address",
		    "::1", "--port", "7", "-D", "x" }, "[::1]:7" },
		{ { "restore", "--lazy-pages", "--page-server", "[::1]:7", "-D",
		    "x" }, "[::1]:7" },
	};
	static const struct { char *argv[10]; const char *msg; } bad[] = {
		{ { "restore", "-D", "x", "--lazy-pages", "--page-server" },
		  "--page-server needs --address HOST and --port N" },
		{ { "restore", "-D", "x", "--lazy-pages", "--page-server",
		    "--port", "3" }, "--page-server needs --address HOST" },
		{ { "restore", "-D", "x", "--lazy-pages", "--address", "h",
		    "--port", "3" }, "--address and --port go with --page-server" },
		{ { "restore", "-D", "x", "--lazy-pages", "--page-server",
		    "h:1", "--port", "3" }, "one or the other" },
		{ { "restore", "-D", "x", "--lazy-pages", "--page-server", "h" },
		  "expected HOST:PORT" },
		{ { "restore", "-D", "x", "--lazy-pages", "--page-server",
		    "--address", "h", "--port", "65536" },
		  "bad number \"65536\" for --port" },
		{ { "dump", "-t", "5", "-D", "x", "--page-server", "h:1",
		    "--address", "h" }, "one or the other" },
	};
	struct restore_opts o;
	struct dump_opts d;
	struct output out;

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		char **argv = (char **)good[i].argv;
		int argc = 0;

		while (argv[argc])
			argc++;
		if (run_restore(argc, argv, &o, &out))
			fail_msg("case %zu: %s", i, out.err);
		assert_true(o.lazy);
		assert_string_equal(o.page_server, good[i].want);
		assert_string_equal(o.dir, "x");
		output_free(&out);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char **argv = (char **)bad[i].argv;
		int argc = 0, ret;

		while (argv[argc])
			argc++;
		ret = !strcmp(argv[0], "dump") ? run_dump(argc, argv, &d, &out) :
		      run_restore(argc, argv, &o, &out);
		if (ret != -1)
			fail_msg("case %zu: %d, want -1", i, ret);
		assert_contains(out.err, bad[i].msg);
		output_free(&out);
	}
	assert_int_equal(DUMP(&d, &out, "dump", "-t", "5", "-D", "x",
			      "--page-server", "srv:99"), 0);
	assert_true(d.page_server);
	assert_string_equal(d.ps_addr, "srv");
	assert_int_equal(d.ps_port, 99);
	output_free(&out);
}

static void test_restore_resets(void **state)
{
	struct restore_opts o;
	struct output out;

	(void)state;
	memset(&o, 0xff, sizeof(o));
	assert_int_equal(RESTORE(&o, &out, "restore", "-D", "x"), 0);
	assert_false(o.detach);
	assert_false(o.verify);
	assert_false(o.no_verify);
	assert_false(o.pidns);
	assert_false(o.lazy);
	assert_int_equal(o.zombie_wait_ms, 5000);
	output_free(&out);
}

static void test_restore_bad(void **state)
{
	static const struct { char *argv[8]; const char *msg; } bad[] = {
		{ { "restore" }, "needs -D DIR" },
		{ { "restore", "-d" }, "needs -D DIR" },
		{ { "restore", "-D", "x", "y" }, "unexpected argument \"y\"" },
		{ { "restore", "-D" }, "option -D needs a value" },
		{ { "restore", "-D", "x", "--zombie-wait" },
		  "option --zombie-wait needs a value" },
		{ { "restore", "-D", "x", "--zombie-wait", "" }, "bad --zombie" },
		{ { "restore", "-D", "x", "--zombie-wait", "1s" },
		  "bad --zombie" },
		{ { "restore", "-D", "x", "--zombie-wait", "ten" },
		  "bad --zombie" },
		{ { "restore", "-D", "x", "-t", "5" }, "unknown option -t" },
		{ { "restore", "-D", "x", "--leave-running" }, "unknown option --leave-running" },
		{ { "restore", "-D", "x", "--verify=yes" },
		  "option --verify takes no value" },
	};
	struct output out;
	struct restore_opts o;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char **argv = (char **)bad[i].argv;
		int argc = 0, ret;

		while (argv[argc])
			argc++;
		ret = run_restore(argc, argv, &o, &out);
		if (ret != -1)
			fail_msg("case %zu (%s ...): %d, want -1", i,
				 argv[argc - 1], ret);
		assert_contains(out.err, bad[i].msg);
		output_free(&out);
	}
}

/* Negative and overflowing waits wrap to huge ones with strtoul. */
static void test_restore_zombie_wait_range(void **state)
{
	static const char *bad[] = { "-1", "-5000", "99999999999" };
	struct restore_opts o;
	struct output out;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int ret = RESTORE(&o, &out, "restore", "-D", "x",
				  "--zombie-wait", (char *)bad[i]);

		if (ret != -1)
			fail_msg("--zombie-wait %s accepted as %u ms", bad[i],
				 o.zombie_wait_ms);
		output_free(&out);
	}
}

static void test_restore_help(void **state)
{
	struct restore_opts o;
	struct output out;

	(void)state;
	assert_int_equal(RESTORE(&o, &out, "restore", "-h"), 1);
	assert_contains(out.out, "--restore-detached");
	assert_contains(out.out, "--zombie-wait");
	assert_contains(out.out, "--no-verify");
	output_free(&out);
}

/* ---- page-server ---- */

static int run_ps(int argc, char **argv, struct page_server_opts *o,
		  struct output *out)
{
	struct tl_capture ce, co;
	int ret;

	tl_capture_start(&ce, STDERR_FILENO);
	tl_capture_start(&co, STDOUT_FILENO);
	ret = parse_page_server_args(argc, argv, o);
	out->out = tl_capture_end(&co);
	out->err = tl_capture_end(&ce);
	return ret;
}

#define PSRV(o, out, ...)						\
	run_ps(ARGC(__VA_ARGS__), ARGV(__VA_ARGS__), (o), (out))

static void test_page_server_args(void **state)
{
	static const struct { char *argv[8]; const char *msg; } bad[] = {
		{ { "page-server" }, "needs -D DIR and --port N" },
		{ { "page-server", "-D", "x" }, "needs -D DIR and --port N" },
		{ { "page-server", "-D", "x", "--port", "abc" },
		  "bad number \"abc\" for --port" },
		{ { "page-server", "-D", "x", "--port", "65536" },
		  "bad number \"65536\" for --port" },
		{ { "page-server", "-D", "x", "--port", "1", "more" },
		  "page-server: unexpected argument \"more\"" },
		{ { "page-server", "-D", "x", "--port" },
		  "page-server: option --port needs a value" },
		{ { "page-server", "--bogus" }, "unknown option --bogus" },
		{ { "page-server", "-D", "x", "--port", "1", "--tls-key", "k" },
		  "go with --tls" },
		{ { "page-server", "-D", "x", "--port", "1", "--idle-timeout",
		    "0" }, "for --idle-timeout" },
	};
	struct page_server_opts o;
	struct output out;

	(void)state;
	assert_int_equal(PSRV(&o, &out, "page-server", "-D", "img", "--port",
			      "7000", "--address", "127.0.0.1"), 0);
	assert_string_equal(o.dir, "img");
	assert_int_equal(o.port, 7000);
	assert_string_equal(o.address, "127.0.0.1");
	output_free(&out);
	assert_int_equal(PSRV(&o, &out, "page-server", "--images-dir=i",
			      "--port=1"), 0);
	assert_string_equal(o.address, "127.0.0.1");	/* loopback only */
	assert_false(o.tls.on);
	assert_int_equal(o.idle_s, IDLE_TIMEOUT_DEFAULT);
	output_free(&out);
	/* port 0: the kernel picks one; TLS with CRIU's option names */
	assert_int_equal(PSRV(&o, &out, "page-server", "-D", "i", "--port", "0",
			      "--tls", "--tls-cacert", "ca", "--tls-cert", "c",
			      "--tls-key", "k", "--idle-timeout", "5"), 0);
	assert_int_equal(o.port, 0);
	assert_true(o.tls.on);
	assert_string_equal(o.tls.cacert, "ca");
	assert_string_equal(o.tls.cert, "c");
	assert_string_equal(o.tls.key, "k");
	assert_int_equal(o.idle_s, 5);
	output_free(&out);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char **argv = (char **)bad[i].argv;
		int argc = 0;

		while (argv[argc])
			argc++;
		if (run_ps(argc, argv, &o, &out) != -1)
			fail_msg("case %zu accepted", i);
		assert_contains(out.err, "criu-lite: Error: ");
		assert_contains(out.err, bad[i].msg);
		output_free(&out);
	}
	assert_int_equal(PSRV(&o, &out, "page-server", "-h"), 1);
	assert_contains(out.out, "usage: criu-lite page-server");
	output_free(&out);
}

/* ---- show ---- */

static int run_show(int argc, char **argv, struct show_opts *o,
		    struct output *out)
{
	struct tl_capture ce, co;
	int ret;

	tl_capture_start(&ce, STDERR_FILENO);
	tl_capture_start(&co, STDOUT_FILENO);
	ret = parse_show_args(argc, argv, o);
	out->out = tl_capture_end(&co);
	out->err = tl_capture_end(&ce);
	return ret;
}

#define SHOW(o, out, ...)						\
	run_show(ARGC(__VA_ARGS__), ARGV(__VA_ARGS__), (o), (out))

static void test_show_args(void **state)
{
	struct show_opts o;
	struct output out;

	(void)state;
	assert_int_equal(SHOW(&o, &out, "show", "img"), 0);
	assert_string_equal(o.path, "img");
	assert_false(o.json);
	assert_int_equal(o.summary, -1);
	output_free(&out);
	assert_int_equal(SHOW(&o, &out, "show", "--json", "img", "--mems"), 0);
	assert_string_equal(o.path, "img");
	assert_true(o.json);
	assert_int_equal(o.summary, SHOW_MEMS);
	output_free(&out);
	assert_int_equal(SHOW(&o, &out, "show", "--ps", "d"), 0);
	assert_int_equal(o.summary, SHOW_PS);
	output_free(&out);
	assert_int_equal(SHOW(&o, &out, "show"), -1);
	assert_contains(out.err, "criu-lite: Error: show needs a DIR or FILE");
	output_free(&out);
	assert_int_equal(SHOW(&o, &out, "show", "a", "b"), -1);
	assert_contains(out.err, "criu-lite: Error: show: unexpected argument \"b\"");
	output_free(&out);
	assert_int_equal(SHOW(&o, &out, "show", "--fds", "--ps", "d"), -1);
	assert_contains(out.err, "one at a time");
	output_free(&out);
	assert_int_equal(SHOW(&o, &out, "show", "-x", "d"), -1);
	assert_contains(out.err, "criu-lite: Error: show: unknown option -x");
	output_free(&out);
	assert_int_equal(SHOW(&o, &out, "show", "--help"), 1);
	assert_contains(out.out, "usage: criu-lite show");
	output_free(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pid_good),
		cmocka_unit_test(test_pid_bad),
		cmocka_unit_test(test_dump_short),
		cmocka_unit_test(test_dump_long),
		cmocka_unit_test(test_shell_job),
		cmocka_unit_test(test_dump_resets),
		cmocka_unit_test(test_dump_compress),
		cmocka_unit_test(test_dump_bad),
		cmocka_unit_test(test_pre_dump),
		cmocka_unit_test(test_pre_dump_bad),
		cmocka_unit_test(test_help_per_command),
		cmocka_unit_test(test_dump_help),
		cmocka_unit_test(test_dump_page_server),
		cmocka_unit_test_teardown(test_page_server_syntax, reset_getopt),
		cmocka_unit_test_setup_teardown(test_dump_verbose, save_level,
						restore_level),
		cmocka_unit_test_setup_teardown(test_dump_levels, save_level,
						restore_level),
		cmocka_unit_test_teardown(test_dump_reentrant_after_group,
					  reset_getopt),
		cmocka_unit_test(test_restore_good),
		cmocka_unit_test(test_restore_resets),
		cmocka_unit_test(test_restore_bad),
		cmocka_unit_test(test_restore_zombie_wait_range),
		cmocka_unit_test(test_restore_help),
		cmocka_unit_test_teardown(test_show_args, reset_getopt),
		cmocka_unit_test_teardown(test_page_server_args, reset_getopt),
	};

	return cmocka_run_group_tests_name("cli", tests, NULL, NULL);
}
