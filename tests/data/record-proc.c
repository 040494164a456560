// SPDX-License-Identifier: GPL-2.0
/*
 * Records the /proc text that tests/test_proc.c parses. Sets up the things
 * the parsers must cope with, then copies its own /proc files into DIR:
 *   smaps.txt, maps.txt   [heap] [stack] [vdso] [vvar] [vvar_vclock], a
 *                         deleted shared file whose name has spaces and
 *                         parentheses, VMAs with madvise()d VmFlags
 *   stat.txt, status.txt  comm "rec) (x y" (spaces, parentheses), blocked,
 *                         ignored and caught signals, umask 027
 *   status-child.txt      distinct uids/gids, NoNewPrivs 1
 *   fdinfo-*.txt          eventfd, signalfd, timerfd (armed; ticked),
 *                         epoll with three targets, a regular file
 * Re-record with:  make tests-record   (then update the expected values
 * in tests/test_proc.c: they are the values in the recorded text).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

#define PG 4096UL

static const char *dir;

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static void copy_to(const char *src, int out)
{
	char buf[1 << 16];
	int in = open(src, O_RDONLY);
	ssize_t n;

	if (in < 0)
		die(src);
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, n) != n)
			die("write");
	close(in);
	close(out);
}

static void copy(const char *src, const char *name)
{
	char path[4096];
	int out;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	out = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (out < 0)
		die(path);
	copy_to(src, out);
}

static void copy_fdinfo(int fd, const char *name)
{
	char src[64];

	snprintf(src, sizeof(src), "/proc/self/fdinfo/%d", fd);
	copy(src, name);
}

/* A child with distinct real/effective/saved/fs ids and no_new_privs:
 * status-child.txt. The output is opened while still root. */
static void record_child_status(void)
{
	char path[4096];
	int out;
	pid_t pid = fork();

	if (pid < 0)
		die("fork");
	if (pid) {
		waitpid(pid, NULL, 0);
		return;
	}
	snprintf(path, sizeof(path), "%s/status-child.txt", dir);
	out = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (out < 0 || setresgid(1001, 1002, 1003) ||
	    setresuid(2001, 2002, 2003) ||
	    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		die("child ids");
	copy_to("/proc/self/status", out);
	_exit(0);
}

static void on_int(int sig)
{
	(void)sig;
}

int main(int argc, char **argv)
{
	const char *fpath = "/tmp/crl rec (x) file";
	struct itimerspec its = { { 2, 500000000 }, { 100, 0 } };
	struct itimerspec fast = { { 0, 1000000 }, { 0, 1000000 } };
	struct epoll_event ev;
	sigset_t mask;
	char *anon, *gd, *heap;
	int efd, sfd, tfd, tfd2, epfd, regfd, ffd;

	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 2;
	}
	dir = argv[1];
	umask(027);
	if (prctl(PR_SET_NAME, "rec) (x y"))
		die("PR_SET_NAME");
	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, on_int);
	heap = malloc(1000);	/* [heap] */
	memset(heap, 1, 1000);

	/* a shared mapping of a file that is then deleted */
	ffd = open(fpath, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (ffd < 0 || ftruncate(ffd, 4 * PG))
		die(fpath);
	if (mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, ffd,
		 PG) == MAP_FAILED)
		die("mmap file");
	unlink(fpath);
	close(ffd);

	/* 14 pages, two each with one advice: separate VMAs in smaps */
	anon = mmap(NULL, 14 * PG, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (anon == MAP_FAILED)
		die("mmap anon");
	madvise(anon + 0 * PG, 2 * PG, MADV_DONTFORK);
	madvise(anon + 2 * PG, 2 * PG, MADV_DONTDUMP);
	madvise(anon + 4 * PG, 2 * PG, MADV_WIPEONFORK);
	madvise(anon + 6 * PG, 2 * PG, MADV_NOHUGEPAGE);
	mlock(anon + 8 * PG, 2 * PG);
	madvise(anon + 10 * PG, 2 * PG, MADV_SEQUENTIAL);
	madvise(anon + 12 * PG, 2 * PG, MADV_RANDOM);
	gd = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS | MAP_GROWSDOWN, -1, 0);
	if (gd == MAP_FAILED)
		die("mmap growsdown");
	if (mmap(NULL, PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
		 0) == MAP_FAILED)
		die("mmap none");

	sigemptyset(&mask);
	sigaddset(&mask, SIGUSR1);
	sigaddset(&mask, SIGUSR2);
	sigaddset(&mask, SIGTERM);
	sigprocmask(SIG_BLOCK, &mask, NULL);

	efd = eventfd(5, EFD_SEMAPHORE | EFD_NONBLOCK | EFD_CLOEXEC);
	sfd = signalfd(-1, &mask, SFD_NONBLOCK);
	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	tfd2 = timerfd_create(CLOCK_REALTIME, 0);
	epfd = epoll_create1(0);
	if (efd < 0 || sfd < 0 || tfd < 0 || tfd2 < 0 || epfd < 0)
		die("fd");
	if (timerfd_settime(tfd, 0, &its, NULL) ||
	    timerfd_settime(tfd2, 0, &fast, NULL))
		die("timerfd_settime");
	usleep(20000);		/* tfd2 ticks, unread */
	ev.events = EPOLLIN;
	ev.data.u64 = 0x1234abcd;
	epoll_ctl(epfd, EPOLL_CTL_ADD, efd, &ev);
	ev.events = EPOLLIN | EPOLLET;
	ev.data.u64 = 0xdeadbeefcafef00dULL;
	epoll_ctl(epfd, EPOLL_CTL_ADD, tfd, &ev);
	ev.events = EPOLLIN | EPOLLOUT | EPOLLONESHOT;
	ev.data.u64 = 7;
	epoll_ctl(epfd, EPOLL_CTL_ADD, sfd, &ev);
	regfd = open("/proc/self/exe", O_RDONLY);
	if (regfd < 0 || lseek(regfd, 1234, SEEK_SET) != 1234)
		die("exe");

	copy("/proc/self/smaps", "smaps.txt");
	copy("/proc/self/maps", "maps.txt");
	copy("/proc/self/stat", "stat.txt");
	copy("/proc/self/status", "status.txt");
	copy_fdinfo(efd, "fdinfo-eventfd.txt");
	copy_fdinfo(sfd, "fdinfo-signalfd.txt");
	copy_fdinfo(tfd, "fdinfo-timerfd.txt");
	copy_fdinfo(tfd2, "fdinfo-timerfd-ticked.txt");
	copy_fdinfo(epfd, "fdinfo-epoll.txt");
	copy_fdinfo(regfd, "fdinfo-reg.txt");
	record_child_status();
	printf("fds: eventfd %d signalfd %d timerfd %d/%d epoll %d reg %d\n",
	       efd, sfd, tfd, tfd2, epfd, regfd);
	return 0;
}
