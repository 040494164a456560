// SPDX-License-Identifier: GPL-2.0
/*
 * uts_ipc_ns: UTS and IPC namespaces of a process tree.
 *   root     new UTS and IPC namespaces, hostname zdtm-root, domainname
 *            zdtm-dom;
 *   child a  stays in the root's namespaces;
 *   child b  new UTS and IPC namespaces of its own, hostname zdtm-b,
 *            domainname zdtm-dom-b.
 * After restore the root checks its names and that neither namespace is
 * the one the test was started in (criu-lite's), then renames its host to
 * zdtm-root-2 and creates a SysV message queue; a must see both (it shares
 * the root's namespaces), b must see neither (it has its own) and still
 * its own names. The test never renames nor creates anything in the
 * namespaces it was started in.
 *
 * Corrupting: the root renames itself before its check (hostname); a
 * leaves the root's namespaces before its check (shared).
 *
 * Corrupt points: hostname, shared.
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/msg.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zdtmtst.h"

#define QUEUE_KEY	0x2d7d0001

static ino_t start_uts, start_ipc;	/* the namespaces the test began in */

static ino_t ns_ino(const char *ns)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/self/ns/%s", ns);
	if (stat(path, &st))
		test_abort("stat %s: %m", path);
	return st.st_ino;
}

static void set_names(const char *host, const char *domain)
{
	if (sethostname(host, strlen(host)) || setdomainname(domain, strlen(domain)))
		test_abort("sethostname %s: %m", host);
}

static void check_names(const char *who, const char *host, const char *domain)
{
	struct utsname u;

	if (uname(&u))
		test_fail("%s: uname: %m", who);
	else if (strcmp(u.nodename, host) || strcmp(u.domainname, domain))
		test_fail("%s: hostname %s domainname %s, expected %s %s", who,
			  u.nodename, u.domainname, host, domain);
}

static void check_not_started_ns(const char *who)
{
	if (ns_ino("uts") == start_uts)
		test_fail("%s: back in the UTS namespace the test started in", who);
	if (ns_ino("ipc") == start_ipc)
		test_fail("%s: back in the IPC namespace the test started in", who);
}

static void __attribute__((noreturn)) child_a(int ready_w)
{
	if (write(ready_w, "a", 1) != 1)
		test_abort("child a: write: %m");
	test_wait_term();
	if (test_corrupt("shared") && unshare(CLONE_NEWUTS | CLONE_NEWIPC))
		test_msg("corrupt: unshare: %m");
	check_names("child a", "zdtm-root-2", "zdtm-dom");
	if (msgget(QUEUE_KEY, 0) < 0)
		test_fail("child a: no queue %#x of the root's IPC namespace: %m",
			  QUEUE_KEY);
	_exit(test_failures() ? 1 : 0);
}

static void __attribute__((noreturn)) child_b(int ready_w)
{
	if (unshare(CLONE_NEWUTS | CLONE_NEWIPC))
		test_abort("child b: unshare: %m");
	set_names("zdtm-b", "zdtm-dom-b");
	if (write(ready_w, "b", 1) != 1)
		test_abort("child b: write: %m");
	test_wait_term();
	check_names("child b", "zdtm-b", "zdtm-dom-b");
	check_not_started_ns("child b");
	if (msgget(QUEUE_KEY, 0) >= 0 || errno != ENOENT)
		test_fail("child b: sees queue %#x of the root's IPC namespace",
			  QUEUE_KEY);
	_exit(test_failures() ? 1 : 0);
}

static void reap(pid_t pid, const char *who)
{
	int status;

	if (waitpid(pid, &status, 0) != pid)
		test_fail("waitpid %s (%d): %m", who, pid);
	else if (!WIFEXITED(status) || WEXITSTATUS(status))
		test_fail("%s exited with status %#x", who, status);
}

int main(int argc, char **argv)
{
	int ready[2], q;
	pid_t a, b;
	char c[2];

	test_init(argc, argv);
	start_uts = ns_ino("uts");
	start_ipc = ns_ino("ipc");
	if (unshare(CLONE_NEWUTS | CLONE_NEWIPC))
		test_abort("unshare: %m");
	set_names("zdtm-root", "zdtm-dom");
	if (pipe(ready))
		test_abort("pipe: %m");
	a = fork();
	if (a == 0)
		child_a(ready[1]);
	b = fork();
	if (b == 0)
		child_b(ready[1]);
	if (a < 0 || b < 0)
		test_abort("fork: %m");
	if (read(ready[0], c, 1) != 1 || read(ready[0], c + 1, 1) != 1)
		test_abort("children did not get ready");

	test_ready();
	test_wait_term();
	if (test_corrupt("hostname"))
		set_names("corrupt", "zdtm-dom");
	check_names("root", "zdtm-root", "zdtm-dom");
	check_not_started_ns("root");
	/* what a must see, and b must not; never in the machine's own */
	if (ns_ino("uts") != start_uts)
		set_names("zdtm-root-2", "zdtm-dom");
	q = ns_ino("ipc") != start_ipc ? msgget(QUEUE_KEY, IPC_CREAT | 0600) : -1;
	if (q < 0)
		test_fail("root: msgget: %m");
	kill(a, SIGTERM);
	kill(b, SIGTERM);
	reap(a, "child a");
	reap(b, "child b");
	if (q >= 0)
		msgctl(q, IPC_RMID, NULL);
	test_done();
}
