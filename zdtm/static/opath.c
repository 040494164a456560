// SPDX-License-Identifier: GPL-2.0
/*
 * opath: O_PATH fds, symlinks, removed directories.
 *   pf   O_PATH of the file "opath.file";
 *   pd   O_PATH|O_DIRECTORY of the directory "opath.dir" (holding "inner");
 *   pl   O_PATH|O_NOFOLLOW of the symlink "opath.link" -> "opath.file";
 *   gd   O_RDONLY|O_DIRECTORY of "gone.dir", gp an O_PATH of it; then
 *        "gone.dir" is removed (mode 0750);
 *   cwd  the directory "cwd.gone", removed while the process is in it.
 * After restore: every fd has its link and O_PATH flag; pf is not
 * readable (O_PATH) but opens through /proc/self/fd to the file's bytes;
 * openat(pd, "inner") reads inner's bytes; pl is the symlink itself
 * (S_IFLNK, readlinkat(pl, "") gives its target); gd and gp are one
 * removed directory (same inode, no link, mode 0750, nothing can be made
 * in it); the cwd is still a removed directory with the same link.
 *
 * Corrupt points: link, dir, gone, cwd.
 *   (link: pl follows the symlink; dir: pd names another directory; gone:
 *   gp is a new removed directory; cwd: the process moves to "/")
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zdtmtst.h"

#define FILE_DATA	"bytes of opath.file"
#define INNER_DATA	"bytes of opath.dir/inner"

enum { PF, PD, PL, GD, GP, NR_FDS };
static const char *const names[NR_FDS] = { "pf", "pd", "pl", "gd", "gp" };

static int fds[NR_FDS], fl[NR_FDS];
static char links[NR_FDS][PATH_MAX], cwd_link[PATH_MAX];

static void write_file(const char *name, const char *data)
{
	int fd = open(name, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	if (fd < 0 || write(fd, data, strlen(data)) != (ssize_t)strlen(data))
		test_abort("create %s: %m", name);
	close(fd);
}

static void setup(void)
{
	char top[PATH_MAX], path[PATH_MAX + 16];

	if (!getcwd(top, sizeof(top)))
		test_abort("getcwd: %m");
	write_file("opath.file", FILE_DATA);
	if (mkdir("opath.dir", 0700) || mkdir("gone.dir", 0700) ||
	    chmod("gone.dir", 0750) || mkdir("cwd.gone", 0700) ||
	    symlink("opath.file", "opath.link"))
		test_abort("setup: %m");
	write_file("opath.dir/inner", INNER_DATA);
	fds[PF] = open("opath.file", O_PATH);
	fds[PD] = open("opath.dir", O_PATH | O_DIRECTORY);
	fds[PL] = open("opath.link", O_PATH | O_NOFOLLOW);
	fds[GD] = open("gone.dir", O_RDONLY | O_DIRECTORY);
	fds[GP] = open("gone.dir", O_PATH);
	for (int i = 0; i < NR_FDS; i++)
		if (fds[i] < 0)
			test_abort("open %s: %m", names[i]);
	if (rmdir("gone.dir") || chdir("cwd.gone"))
		test_abort("rmdir, chdir: %m");
	snprintf(path, sizeof(path), "%s/cwd.gone", top);
	if (rmdir(path))
		test_abort("rmdir %s: %m", path);
	for (int i = 0; i < NR_FDS; i++) {
		fl[i] = fcntl(fds[i], F_GETFL);
		if (test_fd_link(fds[i], links[i], sizeof(links[i])))
			test_abort("readlink: %m");
	}
	if (readlink("/proc/self/cwd", cwd_link, sizeof(cwd_link) - 1) < 0)
		test_abort("readlink cwd: %m");
}

static void corrupt(void)
{
	if (test_corrupt("link")) {
		/* the cwd is gone: reach the link from pd */
		int fd = openat(fds[PD], "../opath.link", O_PATH); /* follows */

		dup2(fd, fds[PL]);
	}
	if (test_corrupt("dir")) {
		int fd = open("/", O_PATH | O_DIRECTORY);

		dup2(fd, fds[PD]);
	}
	if (test_corrupt("gone")) {
		int fd;

		mkdir("/tmp/opath-corrupt-gone", 0750);
		fd = open("/tmp/opath-corrupt-gone", O_PATH);
		rmdir("/tmp/opath-corrupt-gone");
		dup2(fd, fds[GP]);
	}
	if (test_corrupt("cwd") && chdir("/"))
		test_msg("chdir: %m");
}

static void read_via(int dirfd, const char *name, int flags, const char *want,
		     const char *what)
{
	char buf[64] = "";
	int fd = openat(dirfd, name, flags);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);

	if (n < 0 || (size_t)n != strlen(want) || memcmp(buf, want, n))
		test_fail("%s: read \"%.*s\" (%m), expected \"%s\"", what,
			  n < 0 ? 0 : (int)n, buf, want);
	if (fd >= 0)
		close(fd);
}

static void check_paths(void)
{
	char link[PATH_MAX], proc[64], target[64] = "";
	struct stat st;
	ssize_t n;

	for (int i = 0; i < NR_FDS; i++) {
		if (test_fd_link(fds[i], link, sizeof(link)) || strcmp(link, links[i]))
			test_fail("%s: link \"%s\", expected \"%s\"", names[i],
				  link, links[i]);
		if (fcntl(fds[i], F_GETFL) != fl[i])
			test_fail("%s: flags %#o, expected %#o", names[i],
				  fcntl(fds[i], F_GETFL), fl[i]);
	}
	if (read(fds[PF], link, 1) != -1 || errno != EBADF)
		test_fail("pf: readable, not an O_PATH fd");
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fds[PF]);
	read_via(AT_FDCWD, proc, O_RDONLY, FILE_DATA, "pf reopened");
	read_via(fds[PD], "inner", O_RDONLY, INNER_DATA, "pd/inner");
	if (fstat(fds[PL], &st) || !S_ISLNK(st.st_mode))
		test_fail("pl: not the symlink itself (mode %o)", st.st_mode);
	n = readlinkat(fds[PL], "", target, sizeof(target) - 1);
	if (n < 0 || strcmp(target, "opath.file"))
		test_fail("pl: readlinkat gives \"%s\" (%m), expected opath.file",
			  target);
}

static void check_gone(void)
{
	struct stat d, p, c;
	char link[PATH_MAX] = "";

	if (fstat(fds[GD], &d) || fstat(fds[GP], &p) || !S_ISDIR(d.st_mode) ||
	    d.st_ino != p.st_ino || d.st_dev != p.st_dev)
		test_fail("gd and gp: not one directory (%lu, %lu)",
			  (unsigned long)d.st_ino, (unsigned long)p.st_ino);
	if (d.st_nlink || (d.st_mode & 07777) != 0750)
		test_fail("gd: nlink %lu mode %o, expected a removed directory "
			  "of mode 0750", (unsigned long)d.st_nlink,
			  d.st_mode & 07777);
	if (openat(fds[GD], "new", O_WRONLY | O_CREAT, 0600) >= 0 ||
	    errno != ENOENT)
		test_fail("gd: a file could be made in the removed directory");
	if (readlink("/proc/self/cwd", link, sizeof(link) - 1) < 0 ||
	    strcmp(link, cwd_link))
		test_fail("cwd: \"%s\", expected \"%s\"", link, cwd_link);
	if (stat(".", &c) || c.st_nlink)
		test_fail("cwd: nlink %lu, expected a removed directory",
			  (unsigned long)c.st_nlink);
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	setup();
	test_ready();
	test_wait_term();
	corrupt();
	check_paths();
	check_gone();
	test_done();
}
