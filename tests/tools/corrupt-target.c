// SPDX-License-Identifier: GPL-2.0
/*
 * corrupt-target: the process tree tests/corrupt-images.sh dumps, breaks
 * the images of, and restores. A parent and its child, three threads each
 * (the main thread and two workers), each with memory it can check:
 *   - 4 MiB of heap and a 64 KiB global array filled from a seed of its
 *     own, 1 MiB that must stay zero;
 *   - each worker keeps its TID and an 8 KiB pattern on its own stack:
 *     restored with another thread's registers it finds the wrong ones.
 * It prints "READY <parent pid> <child pid>" once all is set up. On SIGTERM
 * each process checks itself and prints "PASS <role>" or
 * "FAIL <role>: why"; the parent also reaps the child (SIGTERM it first:
 * the parent's PASS needs the child's exit status 0).
 */
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define HEAP_LEN	(4UL << 20)
#define ZERO_LEN	(1UL << 20)
#define STACK_PAT	8192
#define WORKERS		2

static volatile sig_atomic_t stop;
static uint8_t global_pat[64 << 10];
static uint8_t *heap, *zero;
static const char *role = "parent";
static int fails[WORKERS];
static int ready_fd;

static uint64_t next(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

static void fill(uint8_t *p, size_t len, uint64_t seed)
{
	for (size_t i = 0; i < len; i += 8) {
		uint64_t v = next(&seed);

		memcpy(p + i, &v, 8);
	}
}

static size_t first_diff(const uint8_t *p, size_t len, uint64_t seed)
{
	for (size_t i = 0; i < len; i += 8) {
		uint64_t v = next(&seed);

		if (memcmp(p + i, &v, 8))
			return i;
	}
	return len;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { 0, ms * 1000000 };

	nanosleep(&ts, NULL);
}

static void *worker(void *arg)
{
	int idx = (int)(long)arg;
	pid_t tid = syscall(SYS_gettid);
	uint64_t seed = 0x5eed0000 + tid;
	uint8_t pat[STACK_PAT];

	fill(pat, sizeof(pat), seed);
	if (write(ready_fd, "t", 1) != 1)
		return NULL;
	while (!stop)
		sleep_ms(5);
	if (tid != syscall(SYS_gettid)) {
		printf("FAIL %s: worker %d runs as %ld, its stack says %d\n",
		       role, idx, (long)syscall(SYS_gettid), tid);
		fails[idx]++;
	}
	if (first_diff(pat, sizeof(pat), seed) != sizeof(pat)) {
		printf("FAIL %s: worker %d's stack pattern changed\n", role, idx);
		fails[idx]++;
	}
	return NULL;
}

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static int check_memory(uint64_t seed, pid_t pid)
{
	size_t d;
	int bad = 0;

	if (getpid() != pid) {
		printf("FAIL %s: getpid %d, expected %d\n", role, getpid(), pid);
		bad++;
	}
	if ((d = first_diff(heap, HEAP_LEN, seed)) != HEAP_LEN) {
		printf("FAIL %s: heap differs at +%#zx\n", role, d);
		bad++;
	}
	if ((d = first_diff(global_pat, sizeof(global_pat), ~seed)) !=
	    sizeof(global_pat)) {
		printf("FAIL %s: global array differs at +%#zx\n", role, d);
		bad++;
	}
	for (size_t i = 0; i < ZERO_LEN; i++)
		if (zero[i]) {
			printf("FAIL %s: zero region has %#x at +%#zx\n", role,
			       zero[i], i);
			bad++;
			break;
		}
	return bad;
}

static pthread_t th[WORKERS];

/* Memory and workers (which say ready on ready_fd). */
static int setup(uint64_t seed)
{
	heap = malloc(HEAP_LEN);
	zero = mmap(NULL, ZERO_LEN, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (!heap || zero == MAP_FAILED)
		return -1;
	fill(heap, HEAP_LEN, seed);
	fill(global_pat, sizeof(global_pat), ~seed);
	zero[0] = 1;	/* touched, then zero again: a stored zero page */
	zero[0] = 0;
	for (long i = 0; i < WORKERS; i++)
		if (pthread_create(&th[i], NULL, worker, (void *)i))
			return -1;
	return 0;
}

/* Waits for SIGTERM, then checks; the number of failures. */
static int finish(uint64_t seed, pid_t pid)
{
	int bad;

	while (!stop)
		sleep_ms(5);
	for (int i = 0; i < WORKERS; i++)
		pthread_join(th[i], NULL);
	bad = check_memory(seed, pid);
	for (int i = 0; i < WORKERS; i++)
		bad += fails[i];
	return bad;
}

static void wait_ready(int fd, int n)
{
	char c;

	while (n > 0 && read(fd, &c, 1) == 1)
		n--;
}

static int reap_child(pid_t child)
{
	int st;

	kill(child, SIGTERM);
	if (waitpid(child, &st, 0) != child || !WIFEXITED(st) ||
	    WEXITSTATUS(st)) {
		printf("FAIL parent: child %d ended with status %#x\n", child, st);
		return 1;
	}
	return 0;
}

int main(void)
{
	pid_t child, pid = getpid();
	int p[2], bad;

	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGTERM, on_term);
	if (pipe(p))
		return 1;
	ready_fd = p[1];
	child = fork();
	if (child == 0) {
		role = "child";
		if (setup(0xc0ffee))
			return 1;
		bad = finish(0xc0ffee, getpid());
		printf("%s child\n", bad ? "FAIL" : "PASS");
		return bad ? 1 : 0;
	}
	if (child < 0 || setup(0xbeef))
		return 1;
	wait_ready(p[0], 2 * WORKERS);
	printf("READY %d %d\n", pid, child);
	bad = finish(0xbeef, pid);
	bad += reap_child(child);
	printf("%s parent\n", bad ? "FAIL" : "PASS");
	return bad ? 1 : 0;
}
