// SPDX-License-Identifier: GPL-2.0
/*
 * Test target for dump refusals: holds kernel objects criu-lite cannot
 * restore, prints READY, then counts in a loop (so the test can tell it
 * still runs after the refused dump) and exits 0 on SIGTERM.
 *   holder objects   io_uring, userfaultfd, an established TCP connection
 *                    (both ends: refused without --tcp-established), a
 *                    raw IP socket and a netlink socket, a pidfd of its
 *                    parent (outside the tree), an nsfs fd of a network
 *                    namespace only that fd keeps
 *   holder tracer    a child it keeps traced (PTRACE_SEIZE): dumping the
 *                    child must say it is already traced
 *   holder ipc       in a new IPC namespace of its own: a SysV shared
 *                    memory segment, message queue and semaphore set, and
 *                    a POSIX message queue (closed: only the namespace
 *                    holds it)
 *   holder spin      nothing (a target for `unshare ... holder spin`)
 *   holder thread-uts  a thread that moved alone into a new UTS namespace
 *   holder pending-tcp, pending-unix  a listener with a connection not yet
 *                    accepted that holds bytes its client sent (only
 *                    accept() reads them); on SIGTERM it accepts it and
 *                    exits 0 only if they are all there
 */
#include <linux/netlink.h>
#include <mqueue.h>
#include <pthread.h>
#include <netinet/in.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/ptrace.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t stop;
static volatile unsigned long counter;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

/* A handle on a network namespace nothing else holds: a child's, opened
 * through /proc while the child lives, then the child is reaped. */
static void other_netns_fd(void)
{
	int p[2];
	char c, path[64];
	pid_t kid;

	if (pipe(p))
		return;
	kid = fork();
	if (kid == 0) {
		if (unshare(CLONE_NEWNET))
			perror("unshare(CLONE_NEWNET)");
		(void)!write(p[1], "x", 1);
		pause();
		_exit(0);
	}
	if (kid > 0 && read(p[0], &c, 1) == 1) {
		snprintf(path, sizeof(path), "/proc/%d/ns/net", kid);
		if (open(path, O_RDONLY) < 0)
			perror(path);
	}
	if (kid > 0) {
		kill(kid, SIGKILL);
		waitpid(kid, NULL, 0);
	}
	close(p[0]);
	close(p[1]);
}

static int objects(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	unsigned char params[120] = { 0 };	/* struct io_uring_params */
	int tcp, cli;

	if (syscall(__NR_io_uring_setup, 4, params) < 0)
		perror("io_uring_setup");
	if (syscall(__NR_userfaultfd, 0) < 0)
		perror("userfaultfd");
	tcp = socket(AF_INET, SOCK_STREAM, 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cli = socket(AF_INET, SOCK_STREAM, 0);
	if (bind(tcp, (struct sockaddr *)&a, sizeof(a)) || listen(tcp, 1) ||
	    getsockname(tcp, (struct sockaddr *)&a, &len) ||
	    connect(cli, (struct sockaddr *)&a, len) ||
	    accept(tcp, NULL, NULL) < 0)
		perror("tcp");
	close(tcp);
	if (socket(AF_INET, SOCK_RAW, IPPROTO_ICMP) < 0)
		perror("raw socket");
	socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
	/* what a KVM-accelerated QEMU holds first (where there is one) */
	if (access("/dev/kvm", F_OK) == 0 && open("/dev/kvm", O_RDWR) < 0)
		perror("/dev/kvm");
	if (syscall(__NR_pidfd_open, getppid(), 0) < 0)
		perror("pidfd_open(parent)");
	other_netns_fd();
	return 0;
}

static int pending_l = -1;

static void pending(int family)
{
	struct sockaddr_storage ss = { .ss_family = family };
	socklen_t len = family == AF_INET ? sizeof(struct sockaddr_in) :
					    sizeof(struct sockaddr_un);
	int c;

	if (family == AF_INET)
		((struct sockaddr_in *)&ss)->sin_addr.s_addr =
			htonl(INADDR_LOOPBACK);
	else
		len = offsetof(struct sockaddr_un, sun_path) + 1 +
		      sprintf(((struct sockaddr_un *)&ss)->sun_path + 1,
			      "holder-pending-%d", getpid());
	pending_l = socket(family, SOCK_STREAM, 0);
	c = socket(family, SOCK_STREAM, 0);
	if (bind(pending_l, (struct sockaddr *)&ss, len) ||
	    listen(pending_l, 1) ||
	    getsockname(pending_l, (struct sockaddr *)&ss, &len) ||
	    connect(c, (struct sockaddr *)&ss, len) || send(c, "abc", 3, 0) != 3)
		perror("pending connection");
}

/* the pending connection still holds its bytes */
static int pending_intact(void)
{
	char buf[4] = "";
	int s = accept(pending_l, NULL, NULL);

	return s >= 0 && recv(s, buf, 3, MSG_WAITALL) == 3 &&
	       !memcmp(buf, "abc", 3) ? 0 : 1;
}

static int ipc_objects(void)
{
	mqd_t q;

	if (unshare(CLONE_NEWIPC)) {
		perror("unshare(CLONE_NEWIPC)");
		return -1;
	}
	if (shmget(0x5eed0001, 4096, IPC_CREAT | 0600) < 0 ||
	    msgget(0x5eed0002, IPC_CREAT | 0600) < 0 ||
	    semget(0x5eed0003, 2, IPC_CREAT | 0600) < 0)
		perror("SysV object");
	q = mq_open("/holder-queue", O_CREAT | O_RDWR, 0600, NULL);
	if (q == (mqd_t)-1)
		perror("mq_open");
	else
		mq_close(q);
	return 0;
}

static void *uts_thread(void *arg)
{
	(void)arg;
	if (unshare(CLONE_NEWUTS))
		perror("unshare(CLONE_NEWUTS) in a thread");
	for (;;)
		pause();
	return NULL;
}

static pid_t tracer(void)
{
	pid_t child = fork();

	if (child == 0) {
		for (;;)
			pause();
	}
	if (ptrace(PTRACE_SEIZE, child, NULL, NULL))
		perror("PTRACE_SEIZE");
	printf("CHILD %d\n", child);
	return child;
}

int main(int argc, char **argv)
{
	pid_t child = 0;

	signal(SIGTERM, on_term);
	if (argc != 2)
		return 2;
	if (!strcmp(argv[1], "objects"))
		objects();
	else if (!strcmp(argv[1], "tracer"))
		child = tracer();
	else if (!strcmp(argv[1], "ipc"))
		ipc_objects();
	else if (!strcmp(argv[1], "spin"))
		;
	else if (!strcmp(argv[1], "pending-tcp"))
		pending(AF_INET);
	else if (!strcmp(argv[1], "pending-unix"))
		pending(AF_UNIX);
	else if (!strcmp(argv[1], "thread-uts")) {
		pthread_t t;

		pthread_create(&t, NULL, uts_thread, NULL);
		usleep(100000);
	}
	else
		return 2;
	printf("READY\n");
	fflush(stdout);
	while (!stop)
		counter++;
	if (child)
		kill(child, SIGKILL);
	return pending_l >= 0 ? pending_intact() : 0;
}
