// SPDX-License-Identifier: GPL-2.0
/*
 * misc: small pieces of per-process state.
 *   - cwd: a directory with a space in its name;
 *   - umask 027;
 *   - rlimits: RLIMIT_NOFILE soft limit 777, every limit unchanged;
 *   - /dev/null open O_RDWR at fd 10 (still the same device, reads EOF,
 *     writes succeed), and stdin (from the runner) still /dev/null;
 *   - comm (PR_SET_NAME), no_new_privs, personality;
 *   - glibc's rseq registration (test_rseq_probe());
 *   - /proc/self/cmdline, environ and exe unchanged.
 *
 * Corrupt points: cwd, umask, rlimit, devnull, comm, rseq.
 */
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/rseq.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "zdtmtst.h"

#define NULL_FD		10
#define NOFILE_SOFT	777
#define COMM		"zdtm-misc-x"

struct proc_text {
	const char *path;
	char before[8192];
	ssize_t len;
};

static struct proc_text texts[] = {
	{ .path = "/proc/self/cmdline" },
	{ .path = "/proc/self/environ" },
};

static char cwd[PATH_MAX], exe[PATH_MAX];
static struct rlimit limits[RLIM_NLIMITS];
static dev_t null_rdev;
static bool stdin_is_null;
static int persona, rseq_state;

static bool is_dev_null(int fd)
{
	struct stat st;

	return !fstat(fd, &st) && S_ISCHR(st.st_mode) && st.st_rdev == null_rdev;
}

static void setup(void)
{
	struct rlimit rl;
	struct stat st;
	unsigned int i;
	int fd;

	mkdir("misc.dir", 0755);
	mkdir("misc.dir/sub dir", 0755);
	if (chdir("misc.dir/sub dir") || !getcwd(cwd, sizeof(cwd)))
		test_abort("cwd setup: %m");
	umask(027);

	if (getrlimit(RLIMIT_NOFILE, &rl))
		test_abort("getrlimit: %m");
	rl.rlim_cur = NOFILE_SOFT;
	if (setrlimit(RLIMIT_NOFILE, &rl))
		test_abort("setrlimit: %m");
	for (i = 0; i < RLIM_NLIMITS; i++)
		getrlimit(i, &limits[i]);

	if (stat("/dev/null", &st))
		test_abort("stat /dev/null: %m");
	null_rdev = st.st_rdev;
	fd = open("/dev/null", O_RDWR);
	if (fd < 0 || dup2(fd, NULL_FD) != NULL_FD)
		test_abort("/dev/null at fd %d: %m", NULL_FD);
	close(fd);
	stdin_is_null = is_dev_null(STDIN_FILENO);

	if (prctl(PR_SET_NAME, COMM) || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		test_abort("prctl: %m");
	persona = personality(0xffffffff);
	rseq_state = test_rseq_probe();
	if (readlink("/proc/self/exe", exe, sizeof(exe) - 1) < 0)
		test_abort("readlink exe: %m");
	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		texts[i].len = test_read_file(texts[i].path, texts[i].before,
					      sizeof(texts[i].before));
		if (texts[i].len <= 0)
			test_abort("read %s: %m", texts[i].path);
	}
}

static void corrupt(void)
{
	if (test_corrupt("cwd") && chdir(".."))
		test_msg("chdir: %m");
	if (test_corrupt("umask"))
		umask(022);
	if (test_corrupt("rlimit")) {
		struct rlimit rl = limits[RLIMIT_NOFILE];

		rl.rlim_cur--;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (test_corrupt("devnull"))
		dup2(STDOUT_FILENO, NULL_FD);
	if (test_corrupt("comm"))
		prctl(PR_SET_NAME, "zdtm-other");
	if (test_corrupt("rseq"))
		syscall(SYS_rseq, (char *)__builtin_thread_pointer() + __rseq_offset,
			32, RSEQ_FLAG_UNREGISTER, RSEQ_SIG);
}

static void check_fds(void)
{
	char c;

	if (!is_dev_null(NULL_FD))
		test_fail("fd %d is not /dev/null any more", NULL_FD);
	else if ((fcntl(NULL_FD, F_GETFL) & O_ACCMODE) != O_RDWR)
		test_fail("fd %d is not O_RDWR", NULL_FD);
	else if (read(NULL_FD, &c, 1) != 0 || write(NULL_FD, "x", 1) != 1)
		test_fail("fd %d does not behave as /dev/null", NULL_FD);
	if (stdin_is_null && !is_dev_null(STDIN_FILENO))
		test_fail("stdin is not /dev/null any more");
}

static void check_proc(void)
{
	char buf[8192], name[32] = "", link[PATH_MAX] = "";
	unsigned int i;
	ssize_t len;
	int probe;

	prctl(PR_GET_NAME, name);
	if (strcmp(name, COMM))
		test_fail("comm \"%s\", expected \"%s\"", name, COMM);
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
		test_fail("no_new_privs lost");
	probe = test_rseq_probe();
	if (probe != rseq_state)
		test_fail("rseq registration differs (re-register probe: %d, was %d)",
			  probe, rseq_state);
	if (personality(0xffffffff) != persona)
		test_fail("personality %#x, expected %#x",
			  personality(0xffffffff), persona);
	if (readlink("/proc/self/exe", link, sizeof(link) - 1) < 0 ||
	    strcmp(link, exe))
		test_fail("/proc/self/exe is \"%s\", expected \"%s\"", link, exe);
	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		len = test_read_file(texts[i].path, buf, sizeof(buf));
		if (len != texts[i].len || memcmp(buf, texts[i].before, len))
			test_fail("%s differs (%zd bytes, was %zd)", texts[i].path,
				  len, texts[i].len);
	}
}

int main(int argc, char **argv)
{
	char now[PATH_MAX];
	struct rlimit rl;
	unsigned int i;
	mode_t mask;

	test_init(argc, argv);
	setup();
	test_ready();
	test_wait_term();
	corrupt();

	if (!getcwd(now, sizeof(now)) || strcmp(now, cwd))
		test_fail("cwd \"%s\", expected \"%s\"", now, cwd);
	mask = umask(0);
	if (mask != 027)
		test_fail("umask %03o, expected 027", mask);
	for (i = 0; i < RLIM_NLIMITS; i++) {
		if (getrlimit(i, &rl) || rl.rlim_cur != limits[i].rlim_cur ||
		    rl.rlim_max != limits[i].rlim_max)
			test_fail("rlimit %u: %ld/%ld, expected %ld/%ld", i,
				  (long)rl.rlim_cur, (long)rl.rlim_max,
				  (long)limits[i].rlim_cur,
				  (long)limits[i].rlim_max);
	}
	check_fds();
	check_proc();
	test_done();
}
