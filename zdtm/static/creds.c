// SPDX-License-Identifier: GPL-2.0
/*
 * creds: a root test that becomes an unprivileged user with a few
 * capabilities left.
 *   - supplementary groups 2001, 2002, 2003; gids r/e/s 1011/1012/1013;
 *     uids r/e/s 1001/1002/1003 (through PR_SET_KEEPCAPS, left set);
 *   - permitted: NET_BIND_SERVICE, DAC_READ_SEARCH, SETGID, SETPCAP;
 *     effective and inheritable: NET_BIND_SERVICE; ambient: NET_BIND_SERVICE;
 *   - bounding set without CHOWN, MKNOD, SYS_BOOT, SYS_TIME.
 * After restore all ids, fsuid/fsgid, groups, keepcaps, dumpable and the
 * Cap* lines of /proc/self/status are unchanged, and they still act:
 * binding a port below 1024 works, fchown() of our own file to another
 * uid fails (no CAP_CHOWN), a root-only file cannot be read until
 * DAC_READ_SEARCH is raised from the permitted set into the effective one,
 * and a program we exec keeps NET_BIND_SERVICE (ambient) and can bind.
 *
 * The log stays writable: it is our stdout, opened by the runner.
 *
 * RLIMIT_NOFILE's soft limit is 555: checked too, as the process is not
 * root any more.
 *
 * Corrupt points: uid, groups, caps, ambient, bound, netbind, rlimit.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <grp.h>

#include "zdtmtst.h"

#define RUID	1001
#define EUID	1002
#define SUID	1003
#define RGID	1011
#define EGID	1012
#define SGID	1013
#define BIT(c)	(1ULL << (c))

#define CAPS_PRM	(BIT(CAP_NET_BIND_SERVICE) | BIT(CAP_DAC_READ_SEARCH) | \
			 BIT(CAP_SETGID) | BIT(CAP_SETPCAP))
#define CAPS_EFF	BIT(CAP_NET_BIND_SERVICE)
#define CAPS_INH	BIT(CAP_NET_BIND_SERVICE)
#define SECRET		"creds.secret"
#define OWNFILE		"creds.own"
#define NOFILE_SOFT	555

static const gid_t groups[] = { 2001, 2002, 2003 };
static const int bnd_drop[] = { CAP_CHOWN, CAP_MKNOD, CAP_SYS_BOOT, CAP_SYS_TIME };
static char status_caps[1024];
static int own_fd, dumpable;
static struct rlimit limits[RLIM_NLIMITS];

static int capset_sets(uint64_t eff, uint64_t prm, uint64_t inh)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2] = {
		{ (uint32_t)eff, (uint32_t)prm, (uint32_t)inh },
		{ (uint32_t)(eff >> 32), (uint32_t)(prm >> 32), (uint32_t)(inh >> 32) },
	};

	return syscall(SYS_capset, &hdr, data);
}

/* The Cap* lines of /proc/self/status. */
static void read_caps(char *out, size_t size)
{
	char buf[8192], *p;
	size_t len = 0;

	out[0] = '\0';
	if (test_read_file("/proc/self/status", buf, sizeof(buf)) < 0)
		return;
	for (p = buf; *p; ) {
		size_t n = strcspn(p, "\n");

		if (!strncmp(p, "Cap", 3) && len + n + 2 < size)
			len += snprintf(out + len, size - len, "%.*s\n", (int)n, p);
		p += n + (p[n] == '\n');
	}
}

/* 0 when binding a port below 1024 on 127.0.0.1 works, else the errno. */
static int bind_low_port(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	int port, err = EADDRINUSE;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (port = 80; port < 1024 && err == EADDRINUSE; port++) {
		int one = 1, sk = socket(AF_INET, SOCK_STREAM, 0);

		if (sk < 0)
			return errno;
		setsockopt(sk, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		sin.sin_port = htons(port);
		err = bind(sk, (struct sockaddr *)&sin, sizeof(sin)) ? errno : 0;
		close(sk);
	}
	return err;
}

static void setup(void)
{
	unsigned int i;
	int fd;

	fd = open(SECRET, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, "secret", 6) != 6)
		test_abort("create %s: %m", SECRET);
	close(fd);
	own_fd = open(OWNFILE, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (own_fd < 0 || fchown(own_fd, EUID, EGID))
		test_abort("create %s: %m", OWNFILE);

	if (getrlimit(RLIMIT_NOFILE, &limits[RLIMIT_NOFILE]))
		test_abort("getrlimit: %m");
	limits[RLIMIT_NOFILE].rlim_cur = NOFILE_SOFT;
	if (setrlimit(RLIMIT_NOFILE, &limits[RLIMIT_NOFILE]))
		test_abort("setrlimit: %m");
	for (i = 0; i < RLIM_NLIMITS; i++)
		getrlimit(i, &limits[i]);

	for (i = 0; i < sizeof(bnd_drop) / sizeof(bnd_drop[0]); i++)
		if (prctl(PR_CAPBSET_DROP, bnd_drop[i], 0, 0, 0))
			test_abort("PR_CAPBSET_DROP(%d): %m", bnd_drop[i]);
	if (setgroups(sizeof(groups) / sizeof(groups[0]), groups))
		test_abort("setgroups: %m");
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0))
		test_abort("PR_SET_KEEPCAPS: %m");
	if (setresgid(RGID, EGID, SGID) || setresuid(RUID, EUID, SUID))
		test_abort("setresgid/setresuid: %m");
	if (capset_sets(CAPS_EFF, CAPS_PRM, CAPS_INH))
		test_abort("capset: %m");
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_NET_BIND_SERVICE, 0, 0))
		test_abort("PR_CAP_AMBIENT_RAISE: %m");

	dumpable = prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
	read_caps(status_caps, sizeof(status_caps));
	test_msg("caps:\n%s", status_caps);
	if (bind_low_port())
		test_abort("cannot bind a low port with CAP_NET_BIND_SERVICE");
}

static void corrupt(void)
{
	if (test_corrupt("uid") && setresuid(SUID, -1, -1))
		test_msg("setresuid: %m");
	if (test_corrupt("groups")) {
		capset_sets(CAPS_EFF | BIT(CAP_SETGID), CAPS_PRM, CAPS_INH);
		if (setgroups(1, groups))
			test_msg("setgroups: %m");
		capset_sets(CAPS_EFF, CAPS_PRM, CAPS_INH);
	}
	if (test_corrupt("caps"))
		capset_sets(CAPS_EFF, CAPS_PRM & ~BIT(CAP_DAC_READ_SEARCH), CAPS_INH);
	if (test_corrupt("ambient"))
		prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_LOWER, CAP_NET_BIND_SERVICE, 0, 0);
	if (test_corrupt("bound")) {
		capset_sets(CAPS_EFF | BIT(CAP_SETPCAP), CAPS_PRM, CAPS_INH);
		if (prctl(PR_CAPBSET_DROP, CAP_SYS_NICE, 0, 0, 0))
			test_msg("PR_CAPBSET_DROP: %m");
		capset_sets(CAPS_EFF, CAPS_PRM, CAPS_INH);
	}
	if (test_corrupt("netbind"))
		capset_sets(0, CAPS_PRM, CAPS_INH);
	if (test_corrupt("rlimit")) {
		struct rlimit rl = limits[RLIMIT_NOFILE];

		rl.rlim_cur--;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static void check_ids(void)
{
	uid_t r, e, s;
	gid_t rg, eg, sg, g[16];
	int i, n;

	if (getresuid(&r, &e, &s) || r != RUID || e != EUID || s != SUID)
		test_fail("uids %d/%d/%d, expected %d/%d/%d", r, e, s, RUID, EUID, SUID);
	if (getresgid(&rg, &eg, &sg) || rg != RGID || eg != EGID || sg != SGID)
		test_fail("gids %d/%d/%d, expected %d/%d/%d", rg, eg, sg, RGID, EGID, SGID);
	if ((uid_t)setfsuid(-1) != EUID || (gid_t)setfsgid(-1) != EGID)
		test_fail("fsuid %d fsgid %d, expected %d and %d", setfsuid(-1),
			  setfsgid(-1), EUID, EGID);
	n = getgroups(16, g);
	if (n != 3 || memcmp(g, groups, sizeof(groups)))
		test_fail("%d supplementary groups (%d, ...), expected 2001, 2002, 2003",
			  n, n > 0 ? (int)g[0] : -1);
	for (i = 0; i < RLIM_NLIMITS; i++) {
		struct rlimit rl;

		if (getrlimit(i, &rl) || rl.rlim_cur != limits[i].rlim_cur ||
		    rl.rlim_max != limits[i].rlim_max)
			test_fail("rlimit %d: %ld/%ld, expected %ld/%ld", i,
				  (long)rl.rlim_cur, (long)rl.rlim_max,
				  (long)limits[i].rlim_cur, (long)limits[i].rlim_max);
	}
	if (prctl(PR_GET_KEEPCAPS, 0, 0, 0, 0) != 1)
		test_fail("keepcaps is %d, expected 1", prctl(PR_GET_KEEPCAPS, 0, 0, 0, 0));
	if (prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != dumpable)
		test_fail("dumpable is %d, expected %d",
			  prctl(PR_GET_DUMPABLE, 0, 0, 0, 0), dumpable);
}

/* Runs ourselves with "probe": it binds a low port with what exec left it. */
static void check_exec(const char *self)
{
	int status;
	pid_t pid;

	pid = fork();
	if (pid == 0) {
		execl("/proc/self/exe", self, "probe", (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid) {
		test_fail("fork/waitpid: %m");
		return;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		test_fail("an exec'ed child could not bind a low port (status %#x): ambient capability lost",
			  status);
}

static void check_caps_work(void)
{
	char buf[8];
	int err, fd;

	err = bind_low_port();
	if (err)
		test_fail("bind to a port below 1024: %s", strerror(err));
	if (!fchown(own_fd, RUID, -1))
		test_fail("fchown to another uid worked without CAP_CHOWN");
	else if (errno != EPERM)
		test_fail("fchown: %m, expected EPERM");

	fd = open(SECRET, O_RDONLY);
	if (fd >= 0)
		test_fail("%s readable without DAC_READ_SEARCH in the effective set",
			  SECRET);
	close(fd);
	if (capset_sets(CAPS_EFF | BIT(CAP_DAC_READ_SEARCH), CAPS_PRM, CAPS_INH)) {
		test_fail("capset: raising DAC_READ_SEARCH from the permitted set: %m");
		return;
	}
	fd = open(SECRET, O_RDONLY);
	if (fd < 0 || read(fd, buf, sizeof(buf)) != 6 || memcmp(buf, "secret", 6))
		test_fail("%s not readable with DAC_READ_SEARCH: %m", SECRET);
	close(fd);
	capset_sets(CAPS_EFF, CAPS_PRM, CAPS_INH);
}

int main(int argc, char **argv)
{
	char caps[1024];

	if (argc > 1 && !strcmp(argv[1], "probe"))
		return bind_low_port() ? 1 : 0;
	test_init(argc, argv);
	if (getuid() != 0)
		test_abort("must run as root");
	setup();
	test_ready();
	test_wait_term();
	corrupt();

	check_ids();
	read_caps(caps, sizeof(caps));
	if (strcmp(caps, status_caps))
		test_fail("capabilities differ:\n%s---- expected:\n%s", caps, status_caps);
	check_caps_work();
	check_exec(argv[0]);
	test_done();
}
