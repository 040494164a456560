// SPDX-License-Identifier: GPL-2.0
/*
 * The 1 GiB memory benchmark: criu-lite dump and restore of a process
 * holding 1 GiB of non-zero anonymous memory, against what this machine
 * can do at best, all measured in the same run:
 *
 *   process_vm_readv   the target's memory, 64 MiB iovecs, into a reused
 *                      pre-faulted buffer: the dump's read ceiling
 *   process_vm_writev  into a fresh, never touched 1 GiB mapping of another
 *                      process, page allocation included as for a restore
 *                      (see writev_ceilings); for information also into
 *                      the same mapping once populated
 *   file write         1 GiB buffered write() to the images filesystem,
 *                      64 MiB at a time, then fsync (the dump fsyncs its
 *                      pages image); the plain write() is for information
 *   file write, best   the buffered-write ceiling: the same bytes written
 *                      the fastest way found here, the file preallocated
 *                      (fallocate), 256 KiB writes from a buffer that
 *                      stays in the cache (no fsync)
 *   dump --no-sync     criu-lite dump -R --no-sync first (the target runs
 *                      on): page write without durability
 *   dump               criu-lite dump -t PID -D DIR, wall time; the target
 *                      is killed by the dump and reaped here
 *   image size         du of DIR (allocated blocks)
 *   restore            criu-lite restore -D DIR -d, wall time until it
 *                      returns, i.e. until the process runs again
 *   compression        the same for dump -R --compress none|lz4|zstd of
 *                      one target each: dump time, image size, restore
 *                      time, with memhog's memory as above (which does not
 *                      compress) and with memhog mixed (which compresses
 *                      about as ordinary process memory does)
 *
 * Each run starts a fresh target; the restored one is then told (SIGUSR1)
 * to check its memory and must exit 0, so every run also proves the
 * restore correct. This program is PR_SET_CHILD_SUBREAPER: the restored
 * process becomes its child when criu-lite exits.
 * Medians of RUNS runs are printed as a table; RUNS defaults to 3.
 *
 * Usage: bench-mem CRIU_LITE MEMHOG DIR [RUNS [MIB]]
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CHUNK		(64UL << 20)
#define MAX_RUNS	15
#define CMD_TIMEOUT_S	300

static const char *criu, *memhog, *dir;
static size_t bytes;

enum metric {
	M_READV, M_WRITEV_FIRST, M_WRITEV_WARM, M_WRITEV_FRESH,
	M_FILE, M_FILE_FSYNC, M_FILE_BEST,
	M_DUMP_NOSYNC, M_PAGE_READ, M_PAGE_WRITE, M_DUMP, M_RESTORE,
	M_IMG_BYTES, M_NR,
};
static double res[M_NR][MAX_RUNS];

/* the compression table: memhog's modes, the codecs, what is measured */
enum { Z_DUMP, Z_RESTORE, Z_BYTES, Z_NR };
static const char *const kinds[] = { "incompressible", "mixed" };
static const char *const codecs[] = { "none", "lz4", "zstd" };
#define NR_KINDS	2
#define NR_CODECS	3
static double zres[NR_KINDS][NR_CODECS][Z_NR][MAX_RUNS];

/* Children to kill if we stop early: the target, the writev sink. */
static pid_t live[2];

#define BENCH_NAME "bench-mem"
#include "benchlib.h"

static void bench_kill_children(void)
{
	for (size_t i = 0; i < sizeof(live) / sizeof(live[0]); i++)
		if (live[i] > 0)
			kill(live[i], SIGKILL);
}

struct target {
	pid_t pid;
	uint64_t addr;
	size_t len;
};

/* mode: memhog's (NULL: its default) */
static void start_target(struct target *t, const char *mode)
{
	char mib[32];
	char *argv[] = { (char *)memhog, mib, (char *)mode, NULL };
	char line[256];
	FILE *f;
	int fd;
	int pid;

	snprintf(mib, sizeof(mib), "%zu", bytes >> 20);
	t->pid = live[0] = spawn(argv, &fd, NULL);
	f = fdopen(fd, "r");
	if (!fgets(line, sizeof(line), f) ||
	    sscanf(line, "READY %d %lx %zu", &pid, &t->addr, &t->len) != 3 ||
	    pid != t->pid || t->len != bytes)
		die("memhog did not start: \"%s\"", line);
	fclose(f);
}

/* Tells a (restored) target to check its memory; its exit status says. */
static void check_target(pid_t pid, const char *when)
{
	double end = now() + 60;
	int status;

	for (;;) {
		pid_t r;

		/* resent: the first may land before it is back in pause() */
		kill(pid, SIGUSR1);
		r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			break;
		if (r < 0)
			die("target %d lost %s: %s", pid, when, strerror(errno));
		if (now() > end)
			die("target %d did not check its memory %s", pid, when);
		usleep(100000);
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		die("target %d %s: memory check failed (status %#x)", pid,
		    when, status);
}

static double readv_ceiling(const struct target *t, uint8_t *buf)
{
	double t0 = now();

	for (size_t off = 0; off < t->len; off += CHUNK) {
		struct iovec l = { buf, CHUNK };
		struct iovec r = { (void *)(t->addr + off), CHUNK };
		ssize_t n = process_vm_readv(t->pid, &l, 1, &r, 1, 0);

		if (n != (ssize_t)CHUNK)
			die("process_vm_readv(%d, %#lx): %zd: %s", t->pid,
			    (unsigned long)r.iov_base, n, strerror(errno));
	}
	return now() - t0;
}

static double writev_into(pid_t pid, uint64_t addr, const uint8_t *buf)
{
	double t0 = now();

	for (size_t off = 0; off < bytes; off += CHUNK) {
		struct iovec l = { (void *)buf, CHUNK };
		struct iovec r = { (void *)(addr + off), CHUNK };
		ssize_t n = process_vm_writev(pid, &l, 1, &r, 1, 0);

		if (n != (ssize_t)CHUNK)
			die("process_vm_writev(%d): %zd: %s", pid, n,
			    strerror(errno));
	}
	return now() - t0;
}

/* A child with a fresh, never touched mapping of bytes, at *addr. */
static pid_t start_sink(uint64_t *addr)
{
	int p[2];
	pid_t pid;

	if (pipe(p))
		die("pipe: %s", strerror(errno));
	pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (!pid) {
		void *m = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		*addr = m == MAP_FAILED ? 0 : (uint64_t)m;
		if (write(p[1], addr, sizeof(*addr)) != sizeof(*addr))
			_exit(1);
		for (;;)
			pause();
	}
	live[1] = pid;
	close(p[1]);
	if (read(p[0], addr, sizeof(*addr)) != sizeof(*addr) || !*addr)
		die("writev sink did not map its memory");
	close(p[0]);
	return pid;
}

static void stop_sink(pid_t pid)
{
	kill(pid, SIGKILL);
	wait_for(pid, 10, "writev sink");
	live[1] = 0;
}

/*
 * Writes into fresh memory cost a page allocation each, and in a VM with
 * free page reporting (Firecracker here) pages that sat free for a few
 * seconds were handed back to the host and fault there again on first
 * touch. A restore maps its memory right after the dump freed the
 * target's, so its ceiling is measured the same way: the first sink's
 * memory is written (first touch: whatever pages the kernel had), written
 * again (warm), freed, and a second sink written at once (recycled).
 */
static void writev_ceilings(const uint8_t *buf, double *first, double *warm,
			    double *recycled)
{
	uint64_t addr;
	pid_t pid = start_sink(&addr);

	*first = writev_into(pid, addr, buf);
	*warm = writev_into(pid, addr, buf);
	stop_sink(pid);
	pid = start_sink(&addr);
	*recycled = writev_into(pid, addr, buf);
	stop_sink(pid);
}

static void file_ceiling(const uint8_t *buf, double *buffered, double *synced)
{
	char path[4096];
	double t0;
	int fd;

	snprintf(path, sizeof(path), "%s/write-ceiling.bin", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		die("create %s: %s", path, strerror(errno));
	t0 = now();
	for (size_t off = 0; off < bytes; off += CHUNK) {
		if (write(fd, buf, CHUNK) != (ssize_t)CHUNK)
			die("write %s: %s", path, strerror(errno));
	}
	*buffered = now() - t0;
	if (fsync(fd))
		die("fsync %s: %s", path, strerror(errno));
	*synced = now() - t0;
	close(fd);
	unlink(path);
}

/* 256 KiB writes of a cache-resident buffer into a preallocated file */
static double file_best(const uint8_t *buf)
{
	const size_t piece = 256 << 10;
	char path[4096];
	double t0, t;
	int fd;

	snprintf(path, sizeof(path), "%s/write-best.bin", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		die("create %s: %s", path, strerror(errno));
	t0 = now();
	if (fallocate(fd, 0, 0, bytes))
		die("fallocate %s: %s", path, strerror(errno));
	for (size_t off = 0; off < bytes; off += piece) {
		if (pwrite(fd, buf, piece, off) != (ssize_t)piece)
			die("write %s: %s", path, strerror(errno));
	}
	t = now() - t0;
	close(fd);
	unlink(path);
	return t;
}

/* du: allocated bytes of the files in d */
static void show_log(const char *log)
{
	char buf[4096];
	int fd = open(log, O_RDONLY);
	ssize_t n;

	while (fd >= 0 && (n = read(fd, buf, sizeof(buf))) > 0)
		fwrite(buf, 1, n, stderr);
	if (fd >= 0)
		close(fd);
}

/* criu-lite's own account of its page path in a dump log: the seconds its
 * reader spent in process_vm_readv and its writer thread in the writes
 * ("pages: read X ms, write Y ms, ...") */
static void page_times(const char *log, double *rd, double *wr)
{
	char line[512];
	FILE *f = fopen(log, "r");
	double r, w;

	*rd = *wr = 0;
	while (f && fgets(line, sizeof(line), f)) {
		char *p = strstr(line, "pages: read ");

		if (p && sscanf(p, "pages: read %lf ms, write %lf ms", &r,
				&w) == 2) {
			*rd = r / 1e3;
			*wr = w / 1e3;
		}
	}
	if (f)
		fclose(f);
	if (*wr <= 0)
		die("%s: no \"pages: read X ms, write Y ms\" line", log);
}

static double run_criu(char *const argv[], const char *log, const char *what)
{
	double t0 = now();
	pid_t pid = spawn(argv, NULL, log);
	int status = wait_for(pid, CMD_TIMEOUT_S, what);
	double t = now() - t0;

	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		show_log(log);
		die("%s failed (status %#x), log %s", what, status, log);
	}
	return t;
}

static void one_run(int r, uint8_t *buf)
{
	char img[4096], log[4096], pidstr[32];
	struct target t;
	int status;

	start_target(&t, NULL);
	res[M_READV][r] = readv_ceiling(&t, buf);
	writev_ceilings(buf, &res[M_WRITEV_FIRST][r], &res[M_WRITEV_WARM][r],
			&res[M_WRITEV_FRESH][r]);
	snprintf(img, sizeof(img), "%s/img", dir);
	mkdir(img, 0700);
	clear_dir(img);
	settle_fs();
	file_ceiling(buf, &res[M_FILE][r], &res[M_FILE_FSYNC][r]);
	settle_fs();
	res[M_FILE_BEST][r] = file_best(buf);
	settle_fs();

	snprintf(pidstr, sizeof(pidstr), "%d", t.pid);
	snprintf(log, sizeof(log), "%s/dump-nosync-%d.log", dir, r + 1);
	{
		char *argv[] = { (char *)criu, "dump", "-t", pidstr, "-D", img,
				 "-R", "--no-sync", NULL };

		res[M_DUMP_NOSYNC][r] = run_criu(argv, log,
						 "criu-lite dump --no-sync");
		page_times(log, &res[M_PAGE_READ][r], &res[M_PAGE_WRITE][r]);
	}
	clear_dir(img);
	settle_fs();
	snprintf(log, sizeof(log), "%s/dump-%d.log", dir, r + 1);
	{
		char *argv[] = { (char *)criu, "dump", "-t", pidstr, "-D", img,
				 NULL };

		res[M_DUMP][r] = run_criu(argv, log, "criu-lite dump");
	}
	/* the dump kills the target; reap it so that its PID is free */
	status = wait_for(t.pid, 10, "dumped target");
	if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL)
		die("dumped target %d: status %#x, expected SIGKILL", t.pid,
		    status);
	res[M_IMG_BYTES][r] = du(img);

	snprintf(log, sizeof(log), "%s/restore-%d.log", dir, r + 1);
	{
		char *argv[] = { (char *)criu, "restore", "-D", img, "-d",
				 NULL };

		res[M_RESTORE][r] = run_criu(argv, log, "criu-lite restore");
	}
	if (kill(t.pid, 0))
		die("restored target %d is not there: %s", t.pid,
		    strerror(errno));
	check_target(t.pid, "after restore");
	live[0] = 0;
	fprintf(stderr, "bench-mem: run %d: readv %.3f, writev first %.3f "
		"warm %.3f recycled %.3f, file write %.3f +fsync %.3f best "
		"%.3f, dump --no-sync %.3f, dump %.3f, restore %.3f s; memory "
		"verified\n", r + 1,
		res[M_READV][r], res[M_WRITEV_FIRST][r], res[M_WRITEV_WARM][r],
		res[M_WRITEV_FRESH][r], res[M_FILE][r],
		res[M_FILE_FSYNC][r], res[M_FILE_BEST][r],
		res[M_DUMP_NOSYNC][r], res[M_DUMP][r], res[M_RESTORE][r]);
}

/*
 * One target of memhog mode kinds[kind], dumped (-R) with each codec in
 * turn, then killed and restored from each image in turn, every restore
 * checked by the target itself.
 */
static void compress_run(int r, int kind)
{
	char img[NR_CODECS][4096], log[4096], pidstr[32];
	struct target t;
	int status;

	start_target(&t, kind ? kinds[kind] : NULL);
	snprintf(pidstr, sizeof(pidstr), "%d", t.pid);
	for (int c = 0; c < NR_CODECS; c++) {
		char *argv[] = { (char *)criu, "dump", "-t", pidstr, "-D",
				 img[c], "-R", "--compress", (char *)codecs[c],
				 NULL };

		snprintf(img[c], sizeof(img[c]), "%s/z-%s", dir, codecs[c]);
		mkdir(img[c], 0700);
		clear_dir(img[c]);
		settle_fs();
		snprintf(log, sizeof(log), "%s/dump-%s-%s-%d.log", dir,
			 kinds[kind], codecs[c], r + 1);
		zres[kind][c][Z_DUMP][r] = run_criu(argv, log,
						    "criu-lite dump --compress");
		zres[kind][c][Z_BYTES][r] = du(img[c]);
	}
	kill(t.pid, SIGKILL);
	status = wait_for(t.pid, 10, "dumped target");
	if (!WIFSIGNALED(status))
		die("target %d: status %#x, expected SIGKILL", t.pid, status);
	for (int c = 0; c < NR_CODECS; c++) {
		char *argv[] = { (char *)criu, "restore", "-D", img[c], "-d",
				 NULL };

		snprintf(log, sizeof(log), "%s/restore-%s-%s-%d.log", dir,
			 kinds[kind], codecs[c], r + 1);
		zres[kind][c][Z_RESTORE][r] = run_criu(argv, log,
						       "criu-lite restore");
		live[0] = t.pid;
		check_target(t.pid, "after restore");
		live[0] = 0;
	}
	for (int c = 0; c < NR_CODECS; c++)
		clear_dir(img[c]);
	fprintf(stderr, "bench-mem: run %d, %s memory: dump/restore none "
		"%.3f/%.3f, lz4 %.3f/%.3f, zstd %.3f/%.3f s; memory verified\n",
		r + 1, kinds[kind], zres[kind][0][Z_DUMP][r],
		zres[kind][0][Z_RESTORE][r], zres[kind][1][Z_DUMP][r],
		zres[kind][1][Z_RESTORE][r], zres[kind][2][Z_DUMP][r],
		zres[kind][2][Z_RESTORE][r]);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median_of(const double *r, int runs)
{
	double v[MAX_RUNS];

	memcpy(v, r, runs * sizeof(double));
	qsort(v, runs, sizeof(double), cmp_double);
	return runs % 2 ? v[runs / 2] : (v[runs / 2 - 1] + v[runs / 2]) / 2;
}

static double median(enum metric m, int runs)
{
	return median_of(res[m], runs);
}

static void compress_table(int runs)
{
	printf("\ncompression: dump -R --compress CODEC, then restore -d, of "
	       "one target each; median of %d runs\n\n", runs);
	printf("%-15s %-5s %9s %9s %12s %9s\n", "memory", "codec", "dump",
	       "restore", "image (du)", "smaller");
	for (int k = 0; k < NR_KINDS; k++) {
		double none = median_of(zres[k][0][Z_BYTES], runs);

		for (int c = 0; c < NR_CODECS; c++) {
			double img = median_of(zres[k][c][Z_BYTES], runs);

			printf("%-15s %-5s %7.3f s %7.3f s %8.1f MiB %8.2fx\n",
			       kinds[k], codecs[c],
			       median_of(zres[k][c][Z_DUMP], runs),
			       median_of(zres[k][c][Z_RESTORE], runs),
			       img / (1 << 20), none / img);
		}
	}
}

static void range(enum metric m, int runs, double *lo, double *hi)
{
	*lo = *hi = res[m][0];
	for (int i = 1; i < runs; i++) {
		if (res[m][i] < *lo)
			*lo = res[m][i];
		if (res[m][i] > *hi)
			*hi = res[m][i];
	}
}

static void row_time(const char *name, enum metric m, int runs)
{
	double med = median(m, runs), lo, hi;

	range(m, runs, &lo, &hi);
	printf("%-34s %9.3f s %8.2f GB/s   (%.3f-%.3f s)\n", name, med,
	       bytes / med / 1e9, lo, hi);
}

int main(int argc, char **argv)
{
	int runs;
	uint8_t *buf;
	double dump, restore, rd, wr, fw, fs, serial;

	if (argc < 4 || argc > 6) {
		fprintf(stderr, "usage: %s CRIU_LITE MEMHOG DIR [RUNS [MIB]]\n",
			argv[0]);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	criu = argv[1];
	memhog = argv[2];
	dir = argv[3];
	runs = argc > 4 ? atoi(argv[4]) : 3;
	bytes = (argc > 5 ? strtoull(argv[5], NULL, 10) : 1024) << 20;
	if (runs < 1 || runs > MAX_RUNS || !bytes || bytes % CHUNK)
		die("RUNS must be 1..%d and MIB a multiple of 64", MAX_RUNS);
	if (prctl(PR_SET_CHILD_SUBREAPER, 1))
		die("PR_SET_CHILD_SUBREAPER: %s", strerror(errno));
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);
	buf = mmap(NULL, CHUNK, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (buf == MAP_FAILED)
		die("mmap: %s", strerror(errno));
	for (size_t i = 0; i < CHUNK; i++)
		buf[i] = i * 131 + 1;

	for (int r = 0; r < runs; r++) {
		char img[4096];

		one_run(r, buf);
		snprintf(img, sizeof(img), "%s/img", dir);
		clear_dir(img);		/* room for the next three */
		for (int k = 0; k < NR_KINDS; k++)
			compress_run(r, k);
	}

	dump = median(M_DUMP, runs);
	restore = median(M_RESTORE, runs);
	rd = bytes / median(M_READV, runs);
	wr = bytes / median(M_WRITEV_FRESH, runs);
	fw = bytes / median(M_FILE, runs);
	fs = bytes / median(M_FILE_FSYNC, runs);
	/* reading then writing each byte, one after the other */
	serial = 1 / (1 / rd + 1 / fs);

	printf("\n1 GiB memory benchmark: %zu MiB non-zero anonymous memory, "
	       "images in %s, median of %d runs (min-max)\n\n", bytes >> 20,
	       dir, runs);
	printf("%-34s %11s %13s\n", "measurement", "time", "throughput");
	row_time("ceiling: process_vm_readv", M_READV, runs);
	row_time("ceiling: process_vm_writev, fresh", M_WRITEV_FRESH, runs);
	row_time("  first touch (info)", M_WRITEV_FIRST, runs);
	row_time("  populated (info)", M_WRITEV_WARM, runs);
	row_time("plain write(), 64 MiB chunks (info)", M_FILE, runs);
	row_time("ceiling: file write + fsync", M_FILE_FSYNC, runs);
	row_time("ceiling: file write, best", M_FILE_BEST, runs);
	row_time("criu-lite dump --no-sync -R", M_DUMP_NOSYNC, runs);
	row_time("  its reader: process_vm_readv", M_PAGE_READ, runs);
	row_time("  its writer: page write", M_PAGE_WRITE, runs);
	row_time("criu-lite dump", M_DUMP, runs);
	row_time("criu-lite restore -d", M_RESTORE, runs);
	{
		double lo, hi, img = median(M_IMG_BYTES, runs);

		range(M_IMG_BYTES, runs, &lo, &hi);
		printf("%-34s %9.1f MiB  (%.2f x memory; %.1f-%.1f MiB)\n",
		       "image size (du)", img / (1 << 20), img / bytes,
		       lo / (1 << 20), hi / (1 << 20));
	}
	{
		double ns = median(M_DUMP_NOSYNC, runs);

		printf("\n%-44s %6.2f GB/s\n", "dump --no-sync throughput",
		       bytes / ns / 1e9);
		printf("  %-42s %6.0f %%\n", "of the best file write (ceiling)",
		       100 * (bytes / ns) / (bytes / median(M_FILE_BEST, runs)));
		printf("  %-42s %6.0f %%\n", "of a plain write() (info)",
		       100 * (bytes / ns) / fw);
		printf("  %-42s %6.0f %%\n", "of process_vm_readv ceiling",
		       100 * (bytes / ns) / rd);
		printf("  %-42s %6.2f x\n", "durability cost (dump / --no-sync)",
		       dump / ns);
		printf("%-44s %6.2f GB/s\n", "page write (criu-lite's writer)",
		       bytes / median(M_PAGE_WRITE, runs) / 1e9);
		printf("  %-42s %6.0f %%\n", "of the best file write (ceiling)",
		       100 * median(M_FILE_BEST, runs) /
		       median(M_PAGE_WRITE, runs));
		printf("%-44s %6.2f GB/s\n", "page read (criu-lite's reader)",
		       bytes / median(M_PAGE_READ, runs) / 1e9);
		printf("  %-42s %6.0f %%\n", "of process_vm_readv ceiling",
		       100 * median(M_READV, runs) / median(M_PAGE_READ, runs));
	}
	printf("%-44s %6.2f GB/s\n", "dump throughput", bytes / dump / 1e9);
	printf("  %-42s %6.0f %%\n", "of process_vm_readv ceiling",
	       100 * (bytes / dump) / rd);
	printf("  %-42s %6.0f %%\n", "of a plain write() (info)",
	       100 * (bytes / dump) / fw);
	printf("  %-42s %6.0f %%\n", "of file write + fsync ceiling",
	       100 * (bytes / dump) / fs);
	printf("  %-42s %6.0f %%  (%.2f GB/s)\n",
	       "of serial readv + write + fsync bound", 100 * (bytes / dump) /
	       serial, serial / 1e9);
	printf("%-44s %6.2f GB/s\n", "restore throughput",
	       bytes / restore / 1e9);
	printf("  %-42s %6.0f %%\n", "of process_vm_writev (fresh) ceiling",
	       100 * (bytes / restore) / wr);
	printf("  %-42s %6.0f %%\n", "of process_vm_writev (populated)",
	       100 * (bytes / restore) / (bytes / median(M_WRITEV_WARM, runs)));
	compress_table(runs);
	printf("\nall %d restores verified: every word of the target's memory "
	       "intact\n", runs);
	return 0;
}
