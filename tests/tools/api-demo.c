// SPDX-License-Identifier: GPL-2.0
/*
 * api-demo: a program built against the installed libcriu-lite, as a VM
 * manager would be. It checks the kernel, starts a child that counts in
 * its memory (and writes the count to a file), dumps it (killing it),
 * restores it from the images and checks that the restored child goes on
 * counting from where it was, not from zero.
 * Prints "api-demo: ok" and exits 0, or says what went wrong.
 */
#include <criu-lite.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

static void child(int fd)
{
	unsigned long n = 0;

	for (;;) {
		n++;
		if (pwrite(fd, &n, sizeof(n), 0) != sizeof(n))
			_exit(1);
		usleep(1000);
	}
}

static unsigned long count(int fd)
{
	unsigned long n = 0;

	if (pread(fd, &n, sizeof(n), 0) != sizeof(n))
		return 0;
	return n;
}

int main(int argc, char **argv)
{
	struct criu_lite_dump_req d = { 0 };
	struct criu_lite_restore_req r = { 0 };
	struct criu_lite_result res;
	char path[4096];
	pid_t pid;
	int fd;

	if (argc != 2) {
		fprintf(stderr, "usage: api-demo DIR\n");
		return 2;
	}
	snprintf(path, sizeof(path), "%s.count", argv[1]);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		return 1;
	criu_lite_set_log_level(1);
	printf("api-demo: libcriu-lite %s\n", criu_lite_version());
	if (criu_lite_check()) {
		printf("api-demo: criu_lite_check failed\n");
		return 1;
	}
	pid = fork();
	if (pid == 0)
		child(fd);
	usleep(500000);	/* a count a fresh start would not reach soon */
	d.pid = pid;
	d.images_dir = argv[1];
	if (criu_lite_dump(&d, &res)) {
		printf("api-demo: criu_lite_dump failed\n");
		kill(pid, SIGKILL);
		return 1;
	}
	waitpid(pid, NULL, 0);	/* killed by the dump */
	unsigned long at_dump = count(fd);

	r.images_dir = argv[1];
	r.detach = 1;
	if (criu_lite_restore(&r, &res) || res.root_pid != pid) {
		printf("api-demo: criu_lite_restore failed\n");
		return 1;
	}
	usleep(100000);
	unsigned long later = count(fd);

	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	if (later <= at_dump) {
		printf("api-demo: restored child does not count (%lu, %lu)\n",
		       at_dump, later);
		return 1;
	}
	printf("api-demo: ok (pid %d counted %lu -> %lu)\n", pid, at_dump, later);
	return 0;
}
