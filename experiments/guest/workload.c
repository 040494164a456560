/*
 * Guest workload for the whole-VM experiments: the program whose view of the
 * world must not change when its QEMU is dumped and restored.
 *
 * Parameters come from the kernel command line (wl.KEY=VALUE), then from
 * argv in the same form (so it also runs on a host for testing):
 *
 *   wl.mem=MiB         memory filled with a known pattern (default 64)
 *   wl.rate=N          pages dirtied per second, 0 = idle (default 0)
 *   wl.verify_ms=MS    a full verify pass starts every MS ms (default 2000)
 *   wl.hb_ms=MS        heartbeat period (default 100)
 *   wl.disk=DEV|none   block device to exercise (default /dev/vda if present)
 *   wl.disk_ms=MS      disk round period (default 1000)
 *   wl.net=IP:PORT     TCP echo server to ping (default none)
 *   wl.net_ms=MS       net round period (default 1000)
 *   wl.corrupt=N       self-test: after N verify passes, change one word of
 *                      one page behind the checker's back (default 0: never)
 *   wl.verify=word|sse2  how a page is compared with its pattern: one 64-bit
 *                      word at a time, stopping at the first wrong one
 *                      (default), or 16 bytes at a time with SSE2, XOR and
 *                      OR into one accumulator checked once per page (the
 *                      word loop then finds the wrong word): about a third
 *                      of the guest instructions, which is what TCG's time
 *                      goes by, where the QEMU's TCG inlines SSE2
 *
 * Serial output, one line per event:
 *   HB seq=<n> mono_ms=<CLOCK_MONOTONIC ms>
 *   WORKLOAD READY pages=<n> fill_ms=<ms>
 *   VERIFY ok pages=<n> dirtied=<total> pass_ms=<ms>
 *   VERIFY BAD page=<idx> gen=<g> word=<i> found=<hex> expected=<hex> [like_gen=<g'>]
 *   VERIFY BAD pages=<n> bad=<k> dirtied=<total> pass_ms=<ms>
 *   DISK ok round=<n> blocks=<k>  |  DISK BAD ...
 *   NET ok seq=<n> rtt_us=<us>    |  NET BAD seq=<n> err=<reason>
 *
 * Each page's content is a function of its index and its generation; the
 * generation of every page lives in a separate array (4 bytes per page), so a
 * page that comes back stale, zeroed or from another address is caught by the
 * next verify pass. Dirtying and verifying run in one thread, so they never
 * race; the heartbeat runs in its own SCHED_FIFO thread so that a gap in
 * heartbeats means the VM did not run, not that the workload was busy.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <emmintrin.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define PAGE_SIZE	4096UL
#define PAGE_WORDS	(PAGE_SIZE / sizeof(uint64_t))
#define WORD_STEP	0x100000001b3ULL
#define VERIFY_CHUNK	256		/* pages verified between dirty batches */
#define MAX_BAD_LINES	8		/* per pass */
#define DISK_BLOCKS	64		/* ring of 4 KiB blocks at the disk start */
#define DISK_MAGIC	0x6372697564736b31ULL	/* "criudsk1" */

struct params {
	unsigned long mem_mib;
	unsigned long rate;
	unsigned long verify_ms;
	unsigned long hb_ms;
	char disk[64];
	bool disk_auto;
	unsigned long disk_ms;
	char net_ip[32];
	unsigned int net_port;
	unsigned long net_ms;
	unsigned long corrupt_after;
	bool verify_sse2;
};

static struct params P = {
	.mem_mib = 64,
	.verify_ms = 2000,
	.hb_ms = 100,
	.disk = "/dev/vda",
	.disk_auto = true,
	.disk_ms = 1000,
	.net_ms = 1000,
};

static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;

/* One write() per line, so lines from different threads never interleave. */
static void emit(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (n > (int)sizeof(buf) - 2)
		n = sizeof(buf) - 2;
	buf[n++] = '\n';
	pthread_mutex_lock(&out_lock);
	for (int off = 0; off < n;) {
		ssize_t w = write(STDOUT_FILENO, buf + off, n - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		off += w;
	}
	pthread_mutex_unlock(&out_lock);
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static void sleep_until_ns(uint64_t t)
{
	struct timespec ts = { .tv_sec = t / 1000000000ULL,
			       .tv_nsec = t % 1000000000ULL };

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

/* ---- parameters ---- */

static void set_param(const char *kv)
{
	const char *v = strchr(kv, '=');
	size_t klen;

	if (strncmp(kv, "wl.", 3) || !v)
		return;
	kv += 3;
	klen = v - kv;
	v++;
#define KEY(name) (klen == strlen(name) && !strncmp(kv, name, klen))
	if (KEY("mem"))
		P.mem_mib = strtoul(v, NULL, 0);
	else if (KEY("rate"))
		P.rate = strtoul(v, NULL, 0);
	else if (KEY("verify_ms"))
		P.verify_ms = strtoul(v, NULL, 0);
	else if (KEY("hb_ms"))
		P.hb_ms = strtoul(v, NULL, 0);
	else if (KEY("disk_ms"))
		P.disk_ms = strtoul(v, NULL, 0);
	else if (KEY("net_ms"))
		P.net_ms = strtoul(v, NULL, 0);
	else if (KEY("corrupt"))
		P.corrupt_after = strtoul(v, NULL, 0);
	else if (KEY("verify") && (!strcmp(v, "sse2") || !strcmp(v, "word")))
		P.verify_sse2 = !strcmp(v, "sse2");
	else if (KEY("disk")) {
		snprintf(P.disk, sizeof(P.disk), "%s", v);
		P.disk_auto = false;
	} else if (KEY("net")) {
		const char *colon = strrchr(v, ':');

		if (colon && (size_t)(colon - v) < sizeof(P.net_ip)) {
			memcpy(P.net_ip, v, colon - v);
			P.net_ip[colon - v] = 0;
			P.net_port = strtoul(colon + 1, NULL, 0);
		}
	} else
		emit("WORKLOAD unknown parameter wl.%s", kv);
#undef KEY
}

static void parse_cmdline(void)
{
	char buf[4096], *save = NULL;
	int fd = open("/proc/cmdline", O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = 0;
	for (char *tok = strtok_r(buf, " \t\n", &save); tok;
	     tok = strtok_r(NULL, " \t\n", &save))
		set_param(tok);
}

/* ---- memory pattern ---- */

static uint8_t *mem;
static uint32_t *gen;		/* expected generation of each page */
static size_t npages;
static uint64_t dirtied_total;
static unsigned long passes_done;

/* First word of page idx at generation g; never 0, differs per page and gen. */
static inline uint64_t page_base(uint64_t idx, uint32_t g)
{
	uint64_t x = idx * 0x9E3779B97F4A7C15ULL;

	x ^= ((uint64_t)g << 32 | g) * 0xC2B2AE3D27D4EB4FULL;
	x ^= x >> 29;
	return x | 1;
}

static void write_page(size_t idx)
{
	uint64_t *w = (uint64_t *)(mem + idx * PAGE_SIZE);
	uint64_t v = page_base(idx, gen[idx]);

	for (size_t i = 0; i < PAGE_WORDS; i++, v += WORD_STEP)
		w[i] = v;
}

/* Returns the index of the first wrong word, or -1 when the page is right. */
static long check_page_words(size_t idx)
{
	const uint64_t *w = (const uint64_t *)(mem + idx * PAGE_SIZE);
	uint64_t v = page_base(idx, gen[idx]);

	for (size_t i = 0; i < PAGE_WORDS; i++, v += WORD_STEP)
		if (w[i] != v)
			return i;
	return -1;
}

/*
 * The same with SSE2: the page XORed with its pattern, 64 bytes a step, ORed
 * into one accumulator, which is zero only when every word is right; a
 * wrong page goes through the word loop for the word to report.
 */
static long check_page_sse2(size_t idx)
{
	const __m128i *w = (const __m128i *)(mem + idx * PAGE_SIZE);
	uint64_t b = page_base(idx, gen[idx]);
	const __m128i step = _mm_set1_epi64x(8 * WORD_STEP);
	__m128i v0 = _mm_set_epi64x(b + WORD_STEP, b);
	__m128i v1 = _mm_add_epi64(v0, _mm_set1_epi64x(2 * WORD_STEP));
	__m128i v2 = _mm_add_epi64(v0, _mm_set1_epi64x(4 * WORD_STEP));
	__m128i v3 = _mm_add_epi64(v0, _mm_set1_epi64x(6 * WORD_STEP));
	__m128i acc = _mm_setzero_si128();

	for (size_t i = 0; i < PAGE_SIZE / sizeof(__m128i); i += 4) {
		acc = _mm_or_si128(acc, _mm_xor_si128(_mm_load_si128(w + i), v0));
		acc = _mm_or_si128(acc, _mm_xor_si128(_mm_load_si128(w + i + 1), v1));
		acc = _mm_or_si128(acc, _mm_xor_si128(_mm_load_si128(w + i + 2), v2));
		acc = _mm_or_si128(acc, _mm_xor_si128(_mm_load_si128(w + i + 3), v3));
		v0 = _mm_add_epi64(v0, step);
		v1 = _mm_add_epi64(v1, step);
		v2 = _mm_add_epi64(v2, step);
		v3 = _mm_add_epi64(v3, step);
	}
	if (_mm_movemask_epi8(_mm_cmpeq_epi8(acc, _mm_setzero_si128())) == 0xffff)
		return -1;
	return check_page_words(idx);
}

static long check_page(size_t idx)
{
	return P.verify_sse2 ? check_page_sse2(idx) : check_page_words(idx);
}

static void report_bad_page(size_t idx, long word)
{
	const uint64_t *w = (const uint64_t *)(mem + idx * PAGE_SIZE);
	uint64_t expect = page_base(idx, gen[idx]) + word * WORD_STEP;
	long like = -1;

	/* A stale page holds an older generation: say which one. */
	for (uint32_t back = 1; back <= 16 && back <= gen[idx]; back++)
		if (w[0] == page_base(idx, gen[idx] - back)) {
			like = gen[idx] - back;
			break;
		}
	if (like >= 0)
		emit("VERIFY BAD page=%zu gen=%u word=%ld found=%#" PRIx64
		     " expected=%#" PRIx64 " like_gen=%ld",
		     idx, gen[idx], word, w[word], expect, like);
	else
		emit("VERIFY BAD page=%zu gen=%u word=%ld found=%#" PRIx64
		     " expected=%#" PRIx64, idx, gen[idx], word, w[word], expect);
}

static uint64_t rng_state = 0x2545F4914F6CDD1DULL;

static size_t random_page(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state % npages;
}

static int fill_memory(void)
{
	size_t len = P.mem_mib << 20;
	uint64_t t0 = mono_ns();

	npages = len / PAGE_SIZE;
	if (!npages) {
		emit("WORKLOAD no memory to fill (wl.mem=0)");
		return -1;
	}
	mem = mmap(NULL, len, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	gen = calloc(npages, sizeof(*gen));
	if (mem == MAP_FAILED || !gen) {
		emit("WORKLOAD cannot allocate %lu MiB: %s", P.mem_mib,
		     strerror(errno));
		return -1;
	}
	for (size_t i = 0; i < npages; i++)
		write_page(i);
	emit("WORKLOAD READY pages=%zu fill_ms=%" PRIu64, npages,
	     (mono_ns() - t0) / 1000000);
	return 0;
}

/* One verify pass in progress: where it is and what it found so far. */
struct verify_pass {
	bool active;
	size_t cursor;
	size_t bad;
	uint64_t start_ns;
};

static void verify_step(struct verify_pass *vp)
{
	size_t end = vp->cursor + VERIFY_CHUNK;

	if (end > npages)
		end = npages;
	for (; vp->cursor < end; vp->cursor++) {
		long word = check_page(vp->cursor);

		if (word < 0)
			continue;
		if (vp->bad++ < MAX_BAD_LINES)
			report_bad_page(vp->cursor, word);
	}
	if (vp->cursor < npages)
		return;
	if (vp->bad)
		emit("VERIFY BAD pages=%zu bad=%zu dirtied=%" PRIu64
		     " pass_ms=%" PRIu64, npages, vp->bad, dirtied_total,
		     (mono_ns() - vp->start_ns) / 1000000);
	else
		emit("VERIFY ok pages=%zu dirtied=%" PRIu64 " pass_ms=%" PRIu64,
		     npages, dirtied_total, (mono_ns() - vp->start_ns) / 1000000);
	vp->active = false;
	if (++passes_done == P.corrupt_after) {
		size_t idx = random_page();

		((uint64_t *)(mem + idx * PAGE_SIZE))[7] ^= 1;
		emit("WORKLOAD corrupted page=%zu (self-test)", idx);
	}
}

/*
 * Dirty pages at P.rate per second and start a verify pass every
 * P.verify_ms. When the guest cannot keep up, the backlog is capped at one
 * second's worth, so the rate is a ceiling and not a debt.
 */
static void memory_loop(void)
{
	struct verify_pass vp = { 0 };
	uint64_t verify_period = P.verify_ms * 1000000ULL;
	uint64_t next_verify = mono_ns() + verify_period;
	uint64_t rate_t0 = mono_ns(), rate_done = 0;

	for (;;) {
		uint64_t now = mono_ns();

		if (P.rate) {
			uint64_t due = (now - rate_t0) / 1000 * P.rate / 1000000;

			if (due > rate_done + P.rate) {
				rate_done = due - P.rate;
			}
			for (int n = 0; rate_done < due && n < 4096; n++) {
				size_t idx = random_page();

				gen[idx]++;
				write_page(idx);
				rate_done++;
				dirtied_total++;
			}
		}
		if (!vp.active && verify_period && now >= next_verify) {
			vp = (struct verify_pass){ .active = true,
						   .start_ns = now };
			next_verify += verify_period;
			if (next_verify < now)
				next_verify = now + verify_period;
		}
		if (vp.active) {
			verify_step(&vp);
			continue;
		}
		if (P.rate) {
			sleep_until_ns(now + 5000000ULL);
		} else {
			sleep_until_ns(verify_period ? next_verify :
						       now + 1000000000ULL);
		}
	}
}

/* ---- heartbeat ---- */

static void *heartbeat_thread(void *arg)
{
	struct sched_param sp = { .sched_priority = 10 };
	uint64_t period = P.hb_ms * 1000000ULL, next = mono_ns();

	(void)arg;
	/* Real-time so that a gap means the VM stopped, not that we were busy. */
	pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp);
	for (uint64_t seq = 0;; seq++) {
		uint64_t now = mono_ns();

		emit("HB seq=%" PRIu64 " mono_ms=%" PRIu64, seq, now / 1000000);
		next += period;
		if (next < now)
			next = now + period;
		sleep_until_ns(next);
	}
	return NULL;
}

/* ---- disk ---- */

static void fill_block(uint64_t *blk, unsigned int b, uint64_t round)
{
	for (size_t i = 0; i < PAGE_WORDS; i++)
		blk[i] = DISK_MAGIC ^ (round * 0x9E3779B97F4A7C15ULL) ^
			 ((uint64_t)b << 48) ^ i;
	blk[0] = DISK_MAGIC;
	blk[1] = round;
	blk[2] = b;
}

/*
 * Each round writes one block of a 64-block ring, then reads the whole ring
 * back with O_DIRECT (so it comes from the virtual disk, not the page cache)
 * and checks every block written so far. Blocks never written in this boot
 * are skipped: an old image may hold anything there.
 */
static void *disk_thread(void *arg)
{
	uint64_t rounds_of[DISK_BLOCKS], *wbuf, *rbuf;
	bool written[DISK_BLOCKS] = { false };
	int fd;

	(void)arg;
	fd = open(P.disk, O_RDWR | O_DIRECT | O_SYNC);
	if (fd < 0) {
		emit("DISK BAD open %s: %s", P.disk, strerror(errno));
		return NULL;
	}
	if (posix_memalign((void **)&wbuf, PAGE_SIZE, PAGE_SIZE) ||
	    posix_memalign((void **)&rbuf, PAGE_SIZE, PAGE_SIZE * DISK_BLOCKS))
		return NULL;
	for (uint64_t round = 1;; round++) {
		unsigned int b = round % DISK_BLOCKS, bad = 0, checked = 0;
		uint64_t t = mono_ns();

		fill_block(wbuf, b, round);
		if (pwrite(fd, wbuf, PAGE_SIZE, (off_t)b * PAGE_SIZE) !=
		    (ssize_t)PAGE_SIZE) {
			emit("DISK BAD round=%" PRIu64 " write: %s", round,
			     strerror(errno));
			goto next;
		}
		written[b] = true;
		rounds_of[b] = round;
		if (pread(fd, rbuf, PAGE_SIZE * DISK_BLOCKS, 0) !=
		    (ssize_t)(PAGE_SIZE * DISK_BLOCKS)) {
			emit("DISK BAD round=%" PRIu64 " read: %s", round,
			     strerror(errno));
			goto next;
		}
		for (unsigned int i = 0; i < DISK_BLOCKS; i++) {
			if (!written[i])
				continue;
			checked++;
			fill_block(wbuf, i, rounds_of[i]);
			if (memcmp(wbuf, rbuf + i * PAGE_WORDS, PAGE_SIZE)) {
				if (!bad++)
					emit("DISK BAD round=%" PRIu64
					     " block=%u expected_round=%" PRIu64
					     " found_round=%" PRIu64,
					     round, i, rounds_of[i],
					     rbuf[i * PAGE_WORDS + 1]);
			}
		}
		if (!bad)
			emit("DISK ok round=%" PRIu64 " blocks=%u", round, checked);
next:
		sleep_until_ns(t + P.disk_ms * 1000000ULL);
	}
	return NULL;
}

/* ---- network ---- */

static int wait_fd(int fd, short events, int timeout_ms)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	int r = poll(&pfd, 1, timeout_ms);

	return r > 0 ? 0 : (r == 0 ? -ETIMEDOUT : -errno);
}

/* One short connection per round: no host socket stays open in QEMU. */
static const char *net_ping(uint64_t seq)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons(P.net_port) };
	char msg[64], reply[64];
	size_t len, got = 0;
	int fd, err = 0;
	socklen_t elen = sizeof(err);
	const char *why = NULL;

	inet_pton(AF_INET, P.net_ip, &sa.sin_addr);
	len = snprintf(msg, sizeof(msg), "criu-lite ping %" PRIu64 "\n", seq);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return "socket";
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) && errno != EINPROGRESS) {
		why = "connect";
		goto out;
	}
	if (wait_fd(fd, POLLOUT, 2000)) {
		why = "connect-timeout";
		goto out;
	}
	getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen);
	if (err) {
		why = err == ECONNREFUSED ? "refused" : "connect-error";
		goto out;
	}
	if (send(fd, msg, len, MSG_NOSIGNAL) != (ssize_t)len) {
		why = "send";
		goto out;
	}
	while (got < len) {
		ssize_t r;

		if (wait_fd(fd, POLLIN, 2000)) {
			why = "reply-timeout";
			goto out;
		}
		r = recv(fd, reply + got, len - got, 0);
		if (r <= 0) {
			why = "reply-eof";
			goto out;
		}
		got += r;
	}
	if (memcmp(reply, msg, len))
		why = "reply-mismatch";
out:
	close(fd);
	return why;
}

static void *net_thread(void *arg)
{
	(void)arg;
	for (uint64_t seq = 1;; seq++) {
		uint64_t t = mono_ns();
		const char *why = net_ping(seq);

		if (why)
			emit("NET BAD seq=%" PRIu64 " err=%s", seq, why);
		else
			emit("NET ok seq=%" PRIu64 " rtt_us=%" PRIu64, seq,
			     (mono_ns() - t) / 1000);
		sleep_until_ns(t + P.net_ms * 1000000ULL);
	}
	return NULL;
}

static void start_thread(void *(*fn)(void *), const char *what)
{
	pthread_t t;

	if (pthread_create(&t, NULL, fn, NULL))
		emit("WORKLOAD cannot start %s thread", what);
}

int main(int argc, char **argv)
{
	struct stat st;

	parse_cmdline();
	for (int i = 1; i < argc; i++)
		set_param(argv[i]);
	emit("WORKLOAD START mem_mib=%lu rate=%lu verify_ms=%lu hb_ms=%lu verify=%s",
	     P.mem_mib, P.rate, P.verify_ms, P.hb_ms,
	     P.verify_sse2 ? "sse2" : "word");
	if (P.hb_ms)
		start_thread(heartbeat_thread, "heartbeat");
	if (fill_memory())
		return 1;
	if (strcmp(P.disk, "none") && !(P.disk_auto && stat(P.disk, &st)))
		start_thread(disk_thread, "disk");
	if (P.net_port)
		start_thread(net_thread, "net");
	memory_loop();
	return 0;
}
