// SPDX-License-Identifier: GPL-2.0
/*
 * nsfs: open /proc/self/ns/ files, each checked by what it does.
 *   host_uts  /proc/self/ns/uts opened before unshare(CLONE_NEWUTS): the
 *             namespace criu-lite runs in;
 *   own_uts   /proc/self/ns/uts after it: the test's own (hostname
 *             zdtm-nsfs);
 *   net       /proc/self/ns/net (the test's own, criu-lite's too);
 *   pid_kids  /proc/self/ns/pid_for_children.
 * After restore each fd is of the right type (NS_GET_NSTYPE), net,
 * own_uts and pid_kids are the test's current namespaces (same inode as
 * /proc/self/ns/...), host_uts is not; setns(host_uts) shows a hostname
 * other than zdtm-nsfs, setns(own_uts) shows zdtm-nsfs again.
 * Corrupt: uts swaps own_uts and host_uts, net replaces net by the uts fd.
 * Corrupt points: uts, net.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zdtmtst.h"

#ifndef NS_GET_NSTYPE
#define NS_GET_NSTYPE	_IO(0xb7, 0x3)	/* linux/nsfs.h, since 4.11 */
#endif

#define HOSTNAME	"zdtm-nsfs"

static int open_ns(const char *name)
{
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/proc/self/ns/%s", name);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		test_abort("open %s: %m", path);
	return fd;
}

static bool is_current(int fd, const char *name)
{
	char path[64];
	struct stat a, b;

	snprintf(path, sizeof(path), "/proc/self/ns/%s", name);
	return !fstat(fd, &a) && !stat(path, &b) && a.st_ino == b.st_ino &&
	       a.st_dev == b.st_dev;
}

static void check_type(int fd, const char *what, int type)
{
	int t = ioctl(fd, NS_GET_NSTYPE);

	if (t != type)
		test_fail("%s: NS_GET_NSTYPE %#x, expected %#x", what, t, type);
}

static void check_hostname_after_setns(int fd, const char *what, bool ours)
{
	char name[256] = "";

	if (setns(fd, CLONE_NEWUTS)) {
		test_fail("setns(%s): %m", what);
		return;
	}
	gethostname(name, sizeof(name));
	if (ours != !strcmp(name, HOSTNAME))
		test_fail("after setns(%s) the hostname is %s", what, name);
}

int main(int argc, char **argv)
{
	int host_uts, own_uts, net, pid_kids;

	test_init(argc, argv);
	host_uts = open_ns("uts");
	if (unshare(CLONE_NEWUTS) || sethostname(HOSTNAME, strlen(HOSTNAME)))
		test_abort("new UTS namespace: %m");
	own_uts = open_ns("uts");
	net = open_ns("net");
	pid_kids = open_ns("pid_for_children");
	test_ready();
	test_wait_term();

	if (test_corrupt("uts")) {
		int t = dup(own_uts);

		dup2(host_uts, own_uts);
		dup2(t, host_uts);
	}
	if (test_corrupt("net"))
		dup2(own_uts, net);
	check_type(host_uts, "host_uts", CLONE_NEWUTS);
	check_type(own_uts, "own_uts", CLONE_NEWUTS);
	check_type(net, "net", CLONE_NEWNET);
	check_type(pid_kids, "pid_kids", CLONE_NEWPID);
	if (!is_current(net, "net"))
		test_fail("net fd is not the test's network namespace");
	if (!is_current(pid_kids, "pid_for_children"))
		test_fail("pid_for_children fd is not the test's");
	if (!is_current(own_uts, "uts"))
		test_fail("own_uts fd is not the test's UTS namespace");
	if (is_current(host_uts, "uts"))
		test_fail("host_uts fd is the test's own UTS namespace");
	check_hostname_after_setns(host_uts, "host_uts", false);
	check_hostname_after_setns(own_uts, "own_uts", true);
	test_done();
}
