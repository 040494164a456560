/*
 * qemu-ceilings: what this machine can do at best for each stage of a
 * criu-lite dump of a QEMU process, measured on that very process, so the
 * dump's own throughput can be put next to it (experiments/compare-bench.sh).
 *
 *   qemu-ceilings PID RAM_MIB DIR [quick]
 *
 * quick: one read pass, the buffered write twice (cold, then once more),
 * no durable or direct pass: for a ceiling after every move of a long
 * bench (BENCH_CEIL_QUICK=1).
 *
 * 1. process_vm_readv of the guest RAM: the private anonymous mapping of
 *    exactly RAM_MIB MiB (the largest non-executable private anonymous one
 *    if none matches). Only its present (or swapped) pages are read, as the
 *    dump reads them, found from /proc/PID/pagemap first (untimed), so the
 *    target gets no new page. Contiguous runs go as large iovecs (up to
 *    1024 per call, 64 MiB per call) into a reused pre-faulted buffer.
 *    Fastest of 3 passes.
 * 2. Buffered file write of the same number of bytes (the first 256 KiB
 *    of the guest data just read, over and over, 256 KiB per write(): the
 *    source stays in the CPU cache) to a new file in DIR, preallocated
 *    (fallocate, timed) as criu-lite's page writer does, removed unsynced:
 *    the page-cache ceiling of the dump's page write. Its source is in the
 *    CPU cache, which no dump's is: the dump's pages come from the guest
 *    RAM.
 * 2b. The same with the source in memory (write_cold_gbps): 256 KiB per
 *    write() taken in turn from the whole 64 MiB buffer of guest data
 *    (twice the last-level cache here), as a dump's pages come from RAM
 *    not yet in any cache; fastest of its passes (one after each buffered
 *    pass).
 * 3. The same written durably: write-back started every 64 MiB
 *    (sync_file_range, as criu-lite's page writer does), then fsync: the
 *    ceiling of the dump's write + fsync on the images' filesystem.
 * 4. The same with O_DIRECT (8 MiB per write(), not preallocated), then
 *    fsync: no page cache at all ("-" if the filesystem refuses O_DIRECT).
 *    A first buffered pass comes before all of them (write_first_gbps:
 *    no warm-up, as the dump meets the machine); then
 *    3, 2 and 4 run in turn, twice; the fastest of each counts. The first
 *    durable pass is printed too (durable_first_gbps): it runs with no
 *    warm-up, as the dump does (on this VM host, memory freed a while ago
 *    can be several times slower to use again, page cache included).
 *
 * Stop the VM first (QMP stop) for numbers taken as the dump takes them.
 * Prints key=value lines; GB/s are 10^9 bytes per second.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define PAGE		4096UL
#define BUF_BYTES	(64UL << 20)
#define MAX_IOV		1024
#define WRITE_CHUNK	(8UL << 20)	/* O_DIRECT */
#define CACHED_CHUNK	(256UL << 10)	/* buffered, from the cache */
#define READ_PASSES	3
#define WRITE_PASSES	2
#define SYNC_EVERY	(64UL << 20)
#define PM_PRESENT	(1ULL << 63)
#define PM_SWAPPED	(1ULL << 62)

struct run {
	uint64_t addr, len;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	fprintf(stderr, "qemu-ceilings: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* The guest RAM mapping of QEMU process pid: [*start, *end). */
static int find_ram(int pid, uint64_t ram_bytes, uint64_t *start, uint64_t *end)
{
	char path[64], line[512], perms[8];
	uint64_t s, e, off, ino, best = 0;
	unsigned int maj, min;
	int n, exact = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "r");
	if (!f)
		die(path);
	while (fgets(line, sizeof(line), f)) {
		n = 0;
		if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %7s %" SCNx64 " %x:%x %" SCNu64 " %n",
			   &s, &e, perms, &off, &maj, &min, &ino, &n) < 7)
			continue;
		if (strcmp(perms, "rw-p") || ino || (n && line[n] && line[n] != '\n'))
			continue;
		if (e - s == ram_bytes && !exact) {
			*start = s, *end = e, exact = 1;
		} else if (!exact && e - s > best) {
			*start = s, *end = e, best = e - s;
		}
	}
	fclose(f);
	return exact || best ? 0 : -1;
}

/* Present or swapped pages of [start, end) as runs; returns their count. */
static size_t present_runs(int pid, uint64_t start, uint64_t end,
			   struct run **out, uint64_t *bytes)
{
	size_t nr = 0, cap = 1024, i, n, chunk = 65536;
	uint64_t *pm = malloc(chunk * sizeof(*pm)), va = start;
	struct run *runs = malloc(cap * sizeof(*runs));
	char path[64];
	ssize_t got;
	int fd;

	if (!pm || !runs)
		die("malloc");
	snprintf(path, sizeof(path), "/proc/%d/pagemap", pid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		die(path);
	*bytes = 0;
	while (va < end) {
		n = (end - va) / PAGE < chunk ? (end - va) / PAGE : chunk;
		got = pread(fd, pm, n * sizeof(*pm), va / PAGE * sizeof(*pm));
		if (got != (ssize_t)(n * sizeof(*pm)))
			die("pagemap read");
		for (i = 0; i < n; i++, va += PAGE) {
			if (!(pm[i] & (PM_PRESENT | PM_SWAPPED)))
				continue;
			*bytes += PAGE;
			if (nr && runs[nr - 1].addr + runs[nr - 1].len == va) {
				runs[nr - 1].len += PAGE;
				continue;
			}
			if (nr == cap) {
				cap *= 2;
				runs = realloc(runs, cap * sizeof(*runs));
				if (!runs)
					die("realloc");
			}
			runs[nr].addr = va;
			runs[nr++].len = PAGE;
		}
	}
	close(fd);
	free(pm);
	*out = runs;
	return nr;
}

/* One pass over all runs; returns seconds. */
static double readv_pass(int pid, const struct run *runs, size_t nr, char *buf)
{
	struct iovec local, remote[MAX_IOV];
	uint64_t off = 0, len, fill;
	size_t r = 0, k;
	double t0 = now_s();
	ssize_t got;

	while (r < nr) {
		fill = 0;
		for (k = 0; k < MAX_IOV && r < nr && fill < BUF_BYTES; k++) {
			len = runs[r].len - off;
			if (len > BUF_BYTES - fill)
				len = BUF_BYTES - fill;
			remote[k].iov_base = (void *)(uintptr_t)(runs[r].addr + off);
			remote[k].iov_len = len;
			fill += len;
			off += len;
			if (off == runs[r].len)
				r++, off = 0;
		}
		local.iov_base = buf;
		local.iov_len = fill;
		got = process_vm_readv(pid, &local, 1, remote, k, 0);
		if (got != (ssize_t)fill)
			die("process_vm_readv");
	}
	return now_s() - t0;
}

enum write_mode { BUFFERED, COLD, DURABLE, DIRECT };

/*
 * Writes bytes to a new file at path, then removes it: through the page
 * cache the file preallocated, CACHED_CHUNK per write() from the buffer's
 * first CACHED_CHUNK bytes; O_DIRECT WRITE_CHUNK per write() from the
 * whole buffer. BUFFERED: into the page cache only (the
 * file goes with its pages still dirty, never written to the disk); COLD:
 * the same, CACHED_CHUNK per write() from all of the buffer in turn;
 * DURABLE: write-back started every SYNC_EVERY bytes (sync_file_range), then
 * fsync; DIRECT: O_DIRECT (no page cache), then fsync. Returns seconds, or
 * -1 if the filesystem refuses O_DIRECT.
 */
static double write_pass(const char *path, const char *buf, uint64_t bytes,
			 enum write_mode mode)
{
	uint64_t done, synced = 0;
	double t0;
	ssize_t w;
	int fd;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC |
		  (mode == DIRECT ? O_DIRECT : 0), 0600);
	if (fd < 0 && mode == DIRECT && errno == EINVAL)
		return -1;
	if (fd < 0)
		die(path);
	t0 = now_s();
	if (mode != DIRECT && fallocate(fd, 0, 0, bytes) && errno != EOPNOTSUPP)
		die("fallocate");
	for (done = 0; done < bytes; done += w) {
		size_t chunk = mode == DIRECT ? WRITE_CHUNK : CACHED_CHUNK;
		size_t n = bytes - done < chunk ? bytes - done : chunk;

		w = write(fd, buf + (mode == DIRECT || mode == COLD ?
				     done % BUF_BYTES : 0), n);
		if (w < 0 && mode == DIRECT && errno == EINVAL && !done) {
			close(fd);
			unlink(path);
			return -1;
		}
		if (w <= 0) {
			unlink(path);
			die("write");
		}
		if (mode == DURABLE && done + w - synced >= SYNC_EVERY) {
			sync_file_range(fd, synced, done + w - synced,
					SYNC_FILE_RANGE_WRITE);
			synced = done + w;
		}
	}
	if ((mode == DURABLE || mode == DIRECT) && fsync(fd)) {
		unlink(path);
		die("fsync");
	}
	t0 = now_s() - t0;
	unlink(path);
	close(fd);
	return t0;
}

static void print_gbps(const char *key, uint64_t bytes, double s)
{
	if (s > 0)
		printf("%s=%.2f\n", key, bytes / s / 1e9);
	else
		printf("%s=-\n", key);
}

int main(int argc, char **argv)
{
	double best = 1e9, bw = 1e9, bc = 1e9, bd = 1e9, bx = 1e9, d1 = 0, w1, t;
	uint64_t start = 0, end = 0, bytes;
	char path[4096], *buf;
	struct run *runs;
	size_t nr;
	bool quick = false;
	int pid, i;

	if (argc == 5 && !strcmp(argv[4], "quick"))
		quick = true;
	else if (argc != 4) {
		fprintf(stderr, "usage: qemu-ceilings PID RAM_MIB DIR [quick]\n");
		return 2;
	}
	pid = atoi(argv[1]);
	if (find_ram(pid, strtoull(argv[2], NULL, 0) << 20, &start, &end)) {
		fprintf(stderr, "qemu-ceilings: no guest RAM mapping in pid %d\n", pid);
		return 1;
	}
	buf = mmap(NULL, BUF_BYTES, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (buf == MAP_FAILED)
		die("mmap");
	memset(buf, 0x5a, BUF_BYTES);
	nr = present_runs(pid, start, end, &runs, &bytes);
	printf("ram_vma=%" PRIx64 "-%" PRIx64 "\nram_bytes=%" PRIu64
	       "\npresent_bytes=%" PRIu64 "\npresent_runs=%zu\n",
	       start, end, end - start, bytes, nr);
	if (!bytes)
		return 0;
	for (i = 0; i < (quick ? 1 : READ_PASSES); i++) {
		t = readv_pass(pid, runs, nr, buf);
		if (t < best)
			best = t;
	}
	printf("readv_ms=%.1f\n", best * 1e3);
	print_gbps("readv_gbps", bytes, best);

	/* the buffer now holds guest data: written as it is */
	snprintf(path, sizeof(path), "%s/.qemu-ceilings.%d.tmp", argv[3], getpid());
	/* first, a buffered pass with no warm-up, as the dump meets it */
	w1 = write_pass(path, buf, bytes, BUFFERED);
	bw = w1;
	bc = write_pass(path, buf, bytes, COLD);
	for (i = 0; quick && i < 1; i++) {
		t = write_pass(path, buf, bytes, BUFFERED);
		if (t < bw)
			bw = t;
		t = write_pass(path, buf, bytes, COLD);
		if (t < bc)
			bc = t;
	}
	for (i = 0; !quick && i < WRITE_PASSES; i++) {
		t = write_pass(path, buf, bytes, DURABLE);
		if (t < bd)
			bd = t;
		if (!i)
			d1 = t;
		t = write_pass(path, buf, bytes, BUFFERED);
		if (t < bw)
			bw = t;
		t = write_pass(path, buf, bytes, COLD);
		if (t < bc)
			bc = t;
		t = write_pass(path, buf, bytes, DIRECT);
		if (t < bx)
			bx = t;
	}
	printf("write_bytes=%" PRIu64 "\n", bytes);
	print_gbps("write_gbps", bytes, bw);
	print_gbps("write_first_gbps", bytes, w1);
	print_gbps("write_cold_gbps", bytes, bc);
	print_gbps("durable_gbps", bytes, quick ? 0 : bd);
	print_gbps("durable_first_gbps", bytes, d1);
	print_gbps("direct_gbps", bytes, quick ? 0 : bx);
	return 0;
}
