// SPDX-License-Identifier: GPL-2.0
/*
 * nftables rules for the network lock (netlock.h), made by running nft(8)
 * with a script on its standard input: one table per dump, one rule per
 * connection (its 4-tuple, in the input hook before conntrack), removed
 * by deleting the table.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/wait.h>

#include "log.h"
#include "netlock.h"

#define NFT	"nft"

void netlock_name(char *buf, size_t len)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	snprintf(buf, len, "criu_lite_%d_%lld%09ld", (int)getpid(),
		 (long long)ts.tv_sec, ts.tv_nsec);
}

/* Runs nft with script on its stdin (NULL: args alone); its exit status,
 * -1 if it could not run. quiet: its stderr goes nowhere. */
static int run_nft(const char *const *args, const char *script, bool quiet)
{
	int p[2], status;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC))
		return -1;
	pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);

		dup2(p[0], 0);
		if (null >= 0)
			dup2(null, 1);
		if (quiet && null >= 0)
			dup2(null, 2);
		execvp(NFT, (char *const *)args);
		_exit(127);
	}
	close(p[0]);
	if (script && write(p[1], script, strlen(script)) != (ssize_t)strlen(script))
		pr_perror("write the nft script");
	close(p[1]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

const char *netlock_unavailable(void)
{
	static const char *const args[] = { NFT, "--version", NULL };

	if (run_nft(args, NULL, true) == 0)
		return NULL;
	return "nft(8) can't be run (Debian package nftables; or dump with "
	       "--network-lock skip: peers that send between dump and restore "
	       "then get a reset)";
}

/* "ip saddr 1.2.3.4 ip daddr ..." for a connection, v4-mapped as IPv4. */
static int rule(char *out, size_t len, const struct netlock_conn *c)
{
	const struct sockaddr_in6 *l6 = (const void *)&c->local;
	const struct sockaddr_in6 *p6 = (const void *)&c->peer;
	char la[INET6_ADDRSTRLEN], pa[INET6_ADDRSTRLEN];
	unsigned lp, pp;

	if (c->local.ss_family == AF_INET) {
		const struct sockaddr_in *l = (const void *)&c->local;
		const struct sockaddr_in *p = (const void *)&c->peer;

		inet_ntop(AF_INET, &l->sin_addr, la, sizeof(la));
		inet_ntop(AF_INET, &p->sin_addr, pa, sizeof(pa));
		lp = ntohs(l->sin_port);
		pp = ntohs(p->sin_port);
	} else if (IN6_IS_ADDR_V4MAPPED(&l6->sin6_addr) &&
		   IN6_IS_ADDR_V4MAPPED(&p6->sin6_addr)) {
		inet_ntop(AF_INET, &l6->sin6_addr.s6_addr[12], la, sizeof(la));
		inet_ntop(AF_INET, &p6->sin6_addr.s6_addr[12], pa, sizeof(pa));
		lp = ntohs(l6->sin6_port);
		pp = ntohs(p6->sin6_port);
	} else {
		inet_ntop(AF_INET6, &l6->sin6_addr, la, sizeof(la));
		inet_ntop(AF_INET6, &p6->sin6_addr, pa, sizeof(pa));
		return snprintf(out, len, "\t\tip6 saddr %s ip6 daddr %s tcp "
				"sport %u tcp dport %u ip6 hoplimit != %d "
				"drop\n", pa, la, ntohs(p6->sin6_port),
				ntohs(l6->sin6_port), NETLOCK_TTL);
	}
	return snprintf(out, len, "\t\tip saddr %s ip daddr %s tcp sport %u "
			"tcp dport %u ip ttl != %d drop\n", pa, la, pp, lp,
			NETLOCK_TTL);
}

int netlock_install(const char *name, const struct netlock_conn *c, size_t n)
{
	static const char *const args[] = { NFT, "-f", "-", NULL };
	size_t cap = 256 + n * 192, off;
	char *script = malloc(cap);
	int ret;

	if (!script)
		return -1;
	off = snprintf(script, cap, "table inet %s {\n\tchain in {\n\t\ttype "
		       "filter hook input priority -300; policy accept;\n",
		       name);
	for (size_t i = 0; i < n; i++)
		off += rule(script + off, cap - off, &c[i]);
	snprintf(script + off, cap - off, "\t}\n}\n");
	ret = run_nft(args, script, false);
	free(script);
	if (ret) {
		pr_err("network lock: nft could not add table inet %s (%s)", name,
		       ret < 0 || ret == 127 ? "nft(8) can't be run: Debian "
		       "package nftables" : "its message above");
		return -1;
	}
	pr_debug("network lock: table inet %s, %zu connection(s)", name, n);
	return 0;
}

int netlock_remove(const char *name)
{
	const char *const args[] = { NFT, "delete", "table", "inet", name, NULL };
	int ret = run_nft(args, NULL, true);

	if (ret)
		pr_warn("network lock: nft delete table inet %s failed (exit %d): "
			"remove it by hand", name, ret);
	else
		pr_debug("network lock: table inet %s removed", name);
	return ret ? -1 : 0;
}
