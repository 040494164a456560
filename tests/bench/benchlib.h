/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the benchmarks share: time, dying cleanly (the includer defines
 * BENCH_NAME and bench_kill_children(), which kills what must not outlive
 * the benchmark), running tools, and the images directory.
 * Include after the system headers; the includer defines `dir`.
 */
#ifndef CRIU_LITE_BENCHLIB_H
#define CRIU_LITE_BENCHLIB_H

static void bench_kill_children(void);

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void on_signal(int sig)
{
	bench_kill_children();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void die(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, BENCH_NAME ": ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	bench_kill_children();
	exit(1);
}

/* A child running argv with stdout on a pipe (*out) unless out is NULL. */
static pid_t spawn(char *const argv[], int *out, const char *log)
{
	int p[2] = { -1, -1 };
	pid_t pid;

	if (out && pipe2(p, O_CLOEXEC))
		die("pipe: %s", strerror(errno));
	pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (!pid) {
		if (out)
			dup2(p[1], 1);
		if (log) {
			int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);

			if (fd < 0 || dup2(fd, 2) < 0)
				_exit(126);
		}
		execv(argv[0], argv);
		_exit(127);
	}
	if (out) {
		close(p[1]);
		*out = p[0];
	}
	return pid;
}

/* Waits for pid, at most timeout_s; returns its wait status. */
static int wait_for(pid_t pid, int timeout_s, const char *what)
{
	double end = now() + timeout_s;
	int status;

	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid)
			return status;
		if (r < 0)
			die("waitpid %d (%s): %s", pid, what, strerror(errno));
		if (now() > end) {
			kill(pid, SIGKILL);
			die("%s (pid %d) did not finish in %d s", what, pid,
			    timeout_s);
		}
		usleep(200);
	}
}

static double du(const char *d)
{
	DIR *dd = opendir(d);
	struct dirent *de;
	double total = 0;

	if (!dd)
		die("opendir %s: %s", d, strerror(errno));
	while ((de = readdir(dd))) {
		struct stat st;

		if (fstatat(dirfd(dd), de->d_name, &st, AT_SYMLINK_NOFOLLOW))
			continue;
		if (S_ISREG(st.st_mode))
			total += st.st_blocks * 512.0;
	}
	closedir(dd);
	return total;
}

static void clear_dir(const char *d)
{
	DIR *dd = opendir(d);
	struct dirent *de;

	if (!dd)
		return;
	while ((de = readdir(dd)))
		if (de->d_name[0] != '.')
			unlinkat(dirfd(dd), de->d_name, 0);
	closedir(dd);
}

/*
 * Commits what earlier deletes left to the filesystem (the journal, and
 * with -o discard the discards of the freed blocks) before a timed write
 * instead of during it.
 */
static void settle_fs(void)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0 || syncfs(fd))
		die("syncfs %s: %s", dir, strerror(errno));
	close(fd);
}

#endif
