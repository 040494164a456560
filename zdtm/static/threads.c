// SPDX-License-Identifier: GPL-2.0
/*
 * threads: a main thread and four others, each frozen in a different place:
 *   futex   blocked in FUTEX_WAIT on a word main sets after SIGTERM;
 *   tls     sleeping in nanosleep() loops; checks its __thread value and
 *           address, pthread_self(), and that SIGUSR1 is blocked in it;
 *   vector  spinning in inline asm that keeps known values in vector
 *           registers (ymm8-15 with AVX; zmm8-23 and k2 with AVX-512) and
 *           compares them with memory on every loop;
 *   cond    blocked in pthread_cond_wait(); SIGUSR2 is blocked in it.
 * Every thread checks after restore that its tid, its name, its rseq
 * registration and a pattern on its stack are unchanged.
 *
 * ZDTM_NO_AVX512=1 uses the AVX variant on an AVX-512 machine.
 *
 * Corrupt points: tls, vector, mask.
 */
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "zdtmtst.h"

enum { T_FUTEX, T_TLS, T_VECTOR, T_COND, NR_THREADS };

static const char *const names[NR_THREADS] = {
	"zt-futex", "zt-tls", "zt-vector", "zt-cond",
};

struct thread {
	int idx;
	pthread_t handle;
	pid_t tid;		/* before the checkpoint */
	int rseq_state;
};

static struct thread threads[NR_THREADS];
static pthread_barrier_t barrier;
static int futex_word;
static pthread_mutex_t cond_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int cond_go;
static __thread uint64_t tls_value;

/* 16 x 64 bytes: zmm8..zmm23 (the ymm variant uses the low halves of 8..15). */
static uint64_t vec_pattern[16][8] __attribute__((aligned(64)));
static const uint16_t k2_pattern = 0xa5c3;

/* The checks every thread makes on itself after the restore. */
static void check_self(struct thread *t, const uint8_t *stack_pat, size_t len)
{
	char name[16] = "";
	int rseq;

	if (gettid() != t->tid)
		test_fail("%s: tid %d, was %d", names[t->idx], gettid(), t->tid);
	pthread_getname_np(pthread_self(), name, sizeof(name));
	if (strcmp(name, names[t->idx]))
		test_fail("%s: name is \"%s\"", names[t->idx], name);
	rseq = test_rseq_probe();
	if (rseq != t->rseq_state)
		test_fail("%s: rseq probe %d, was %d", names[t->idx], rseq,
			  t->rseq_state);
	if (!test_check_fill(stack_pat, len, 0x5000 + t->idx))
		test_fail("%s: stack pattern differs", names[t->idx]);
}

static void thread_start(struct thread *t, uint8_t *stack_pat, size_t len)
{
	t->tid = gettid();
	pthread_setname_np(pthread_self(), names[t->idx]);
	t->rseq_state = test_rseq_probe();
	test_fill(stack_pat, len, 0x5000 + t->idx);
}

static void *futex_thread(void *arg)
{
	struct thread *t = arg;
	uint8_t pat[512];

	thread_start(t, pat, sizeof(pat));
	pthread_barrier_wait(&barrier);
	while (__atomic_load_n(&futex_word, __ATOMIC_ACQUIRE) == 0) {
		long ret = syscall(SYS_futex, &futex_word, FUTEX_WAIT, 0, NULL,
				   NULL, 0);

		if (ret && errno != EAGAIN && errno != EINTR)
			test_fail("futex wait: %m");
	}
	check_self(t, pat, sizeof(pat));
	return NULL;
}

static void *tls_thread(void *arg)
{
	struct thread *t = arg;
	uint64_t *addr = &tls_value;
	pthread_t self = pthread_self();
	uint8_t pat[512];
	sigset_t set;

	thread_start(t, pat, sizeof(pat));
	tls_value = 0x715715 + t->tid;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	pthread_barrier_wait(&barrier);
	while (!test_stop) {
		struct timespec ts = { .tv_nsec = 50000000 };

		nanosleep(&ts, NULL);
	}
	if (test_corrupt("tls"))
		tls_value++;
	if (tls_value != 0x715715 + (uint64_t)t->tid || addr != &tls_value)
		test_fail("tls: value %#lx at %p, was %#lx at %p",
			  (unsigned long)tls_value, (void *)&tls_value,
			  (unsigned long)(0x715715 + t->tid), (void *)addr);
	if (!pthread_equal(self, pthread_self()))
		test_fail("tls: pthread_self() changed");
	if (test_corrupt("mask"))
		pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	pthread_sigmask(SIG_SETMASK, NULL, &set);
	if (!sigismember(&set, SIGUSR1) || sigismember(&set, SIGUSR2))
		test_fail("tls: signal mask differs (SIGUSR1 %d, SIGUSR2 %d)",
			  sigismember(&set, SIGUSR1), sigismember(&set, SIGUSR2));
	check_self(t, pat, sizeof(pat));
	return NULL;
}

/*
 * Loads ymm8-15 from vec_pattern and loops until *stop, comparing them with
 * memory each round.  Nothing in the loop touches them: only a checkpoint
 * that loses the registers' upper or lower halves makes them differ.
 * Returns 0, or 1 on a mismatch; *loops counts rounds.
 */
static int spin_avx(volatile sig_atomic_t *stop, unsigned long *loops)
{
	unsigned long n;
	int bad;

#define CMP_YMM(r, off)							\
	"vxorps " #off "(%[p]), %%ymm" #r ", %%ymm0\n\t"		\
	"vptest %%ymm0, %%ymm0\n\t"					\
	"jnz 2f\n\t"
	asm volatile(
		"vmovdqu 0(%[p]), %%ymm8\n\t"
		"vmovdqu 64(%[p]), %%ymm9\n\t"
		"vmovdqu 128(%[p]), %%ymm10\n\t"
		"vmovdqu 192(%[p]), %%ymm11\n\t"
		"vmovdqu 256(%[p]), %%ymm12\n\t"
		"vmovdqu 320(%[p]), %%ymm13\n\t"
		"vmovdqu 384(%[p]), %%ymm14\n\t"
		"vmovdqu 448(%[p]), %%ymm15\n\t"
		"xor %[n], %[n]\n"
		"1:\n\t"
		"inc %[n]\n\t"
		"pause\n\t"
		CMP_YMM(8, 0) CMP_YMM(9, 64) CMP_YMM(10, 128) CMP_YMM(11, 192)
		CMP_YMM(12, 256) CMP_YMM(13, 320) CMP_YMM(14, 384) CMP_YMM(15, 448)
		"cmpl $0, (%[stop])\n\t"
		"je 1b\n\t"
		"xor %[bad], %[bad]\n\t"
		"jmp 3f\n"
		"2:\n\t"
		"mov $1, %[bad]\n"
		"3:\n\t"
		"vzeroupper\n\t"
		: [bad] "=&r" (bad), [n] "=&r" (n)
		: [p] "r" (vec_pattern), [stop] "r" (stop)
		: "xmm0", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13",
		  "xmm14", "xmm15", "cc", "memory");
#undef CMP_YMM
	*loops = n;
	return bad;
}

/*
 * The AVX-512 variant: zmm8-23 (all of ZMM_Hi256 and Hi16_ZMM state) and
 * the opmask k2.  The compiler is not built for AVX-512, so it never uses
 * zmm16-31 or k registers: they need no clobber.
 */
static int spin_avx512(volatile sig_atomic_t *stop, unsigned long *loops)
{
	unsigned long n;
	int bad;

#define LOAD_ZMM(r, off) "vmovdqu64 " #off "(%[p]), %%zmm" #r "\n\t"
#define CMP_ZMM(r, off)							\
	"vpxorq " #off "(%[p]), %%zmm" #r ", %%zmm0\n\t"		\
	"vptestmq %%zmm0, %%zmm0, %%k1\n\t"				\
	"kortestw %%k1, %%k1\n\t"					\
	"jnz 2f\n\t"
	asm volatile(
		LOAD_ZMM(8, 0) LOAD_ZMM(9, 64) LOAD_ZMM(10, 128)
		LOAD_ZMM(11, 192) LOAD_ZMM(12, 256) LOAD_ZMM(13, 320)
		LOAD_ZMM(14, 384) LOAD_ZMM(15, 448) LOAD_ZMM(16, 512)
		LOAD_ZMM(17, 576) LOAD_ZMM(18, 640) LOAD_ZMM(19, 704)
		LOAD_ZMM(20, 768) LOAD_ZMM(21, 832) LOAD_ZMM(22, 896)
		LOAD_ZMM(23, 960)
		"kmovw %[k], %%k2\n\t"
		"xor %[n], %[n]\n"
		"1:\n\t"
		"inc %[n]\n\t"
		"pause\n\t"
		CMP_ZMM(8, 0) CMP_ZMM(9, 64) CMP_ZMM(10, 128) CMP_ZMM(11, 192)
		CMP_ZMM(12, 256) CMP_ZMM(13, 320) CMP_ZMM(14, 384)
		CMP_ZMM(15, 448) CMP_ZMM(16, 512) CMP_ZMM(17, 576)
		CMP_ZMM(18, 640) CMP_ZMM(19, 704) CMP_ZMM(20, 768)
		CMP_ZMM(21, 832) CMP_ZMM(22, 896) CMP_ZMM(23, 960)
		"kmovw %%k2, %%eax\n\t"
		"cmpw %w[k], %%ax\n\t"
		"jne 2f\n\t"
		"cmpl $0, (%[stop])\n\t"
		"je 1b\n\t"
		"xor %[bad], %[bad]\n\t"
		"jmp 3f\n"
		"2:\n\t"
		"mov $1, %[bad]\n"
		"3:\n\t"
		"vzeroupper\n\t"
		: [bad] "=&r" (bad), [n] "=&r" (n)
		: [p] "r" (vec_pattern), [stop] "r" (stop),
		  [k] "r" ((uint32_t)k2_pattern)
		: "rax", "xmm0", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12",
		  "xmm13", "xmm14", "xmm15", "cc", "memory");
#undef LOAD_ZMM
#undef CMP_ZMM
	*loops = n;
	return bad;
}

/*
 * ZDTM_CORRUPT=vector: after SIGTERM the vector thread spins again, and main
 * changes the pattern in memory under it: the loop must notice.
 */
static int respinning, respin_stop;

static void corrupt_vector_spin(void)
{
	struct timespec ms10 = { .tv_nsec = 10000000 };

	while (!__atomic_load_n(&respinning, __ATOMIC_ACQUIRE))
		nanosleep(&ms10, NULL);
	nanosleep(&ms10, NULL);
	__atomic_xor_fetch(&vec_pattern[3][1], 1, __ATOMIC_RELAXED);
	nanosleep(&ms10, NULL);
	__atomic_store_n(&respin_stop, 1, __ATOMIC_RELEASE);
}

static void *vector_thread(void *arg)
{
	struct thread *t = arg;
	bool avx512 = __builtin_cpu_supports("avx512f") &&
		      !test_env_ul("ZDTM_NO_AVX512", 0);
	bool avx = __builtin_cpu_supports("avx");
	bool corrupt = test_corrupt("vector");
	unsigned long loops = 0;
	uint8_t pat[512];
	int bad = 0;

	thread_start(t, pat, sizeof(pat));
	pthread_barrier_wait(&barrier);
	if (avx512)
		bad = spin_avx512(&test_stop, &loops);
	else if (avx)
		bad = spin_avx(&test_stop, &loops);
	else
		test_wait_term();
	if (corrupt && (avx512 || avx)) {
		__atomic_store_n(&respinning, 1, __ATOMIC_RELEASE);
		bad |= avx512 ? spin_avx512(&respin_stop, &loops) :
				spin_avx(&respin_stop, &loops);
	}
	if (bad)
		test_fail("vector: registers changed under the spin loop (%s)",
			  avx512 ? "AVX-512" : "AVX");
	else
		test_msg("vector: %s registers kept over %lu loops",
			 avx512 ? "AVX-512" : avx ? "AVX" : "no vector", loops);
	check_self(t, pat, sizeof(pat));
	return NULL;
}

static void *cond_thread(void *arg)
{
	struct thread *t = arg;
	uint8_t pat[512];
	sigset_t set;

	thread_start(t, pat, sizeof(pat));
	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	pthread_mutex_lock(&cond_lock);
	pthread_barrier_wait(&barrier);
	while (!cond_go)
		pthread_cond_wait(&cond, &cond_lock);
	pthread_mutex_unlock(&cond_lock);
	pthread_sigmask(SIG_SETMASK, NULL, &set);
	if (!sigismember(&set, SIGUSR2) || sigismember(&set, SIGUSR1))
		test_fail("cond: signal mask differs");
	check_self(t, pat, sizeof(pat));
	return NULL;
}

static void *(*const thread_fn[NR_THREADS])(void *) = {
	futex_thread, tls_thread, vector_thread, cond_thread,
};

int main(int argc, char **argv)
{
	struct thread main_thread = { .idx = -1 };
	int i, w;

	test_init(argc, argv);
	for (i = 0; i < 16; i++)
		for (w = 0; w < 8; w++)
			vec_pattern[i][w] = test_mix64(i * 8 + w) | 1;
	main_thread.tid = gettid();
	main_thread.rseq_state = test_rseq_probe();

	pthread_barrier_init(&barrier, NULL, NR_THREADS + 1);
	for (i = 0; i < NR_THREADS; i++) {
		threads[i].idx = i;
		if (pthread_create(&threads[i].handle, NULL, thread_fn[i], &threads[i]))
			test_abort("pthread_create: %m");
	}
	pthread_barrier_wait(&barrier);
	/* cond_thread is in pthread_cond_wait once it can take the lock. */
	pthread_mutex_lock(&cond_lock);
	pthread_mutex_unlock(&cond_lock);

	test_ready();
	test_wait_term();

	if (gettid() != main_thread.tid)
		test_fail("main: tid %d, was %d", gettid(), main_thread.tid);
	if (test_rseq_probe() != main_thread.rseq_state)
		test_fail("main: rseq registration differs");
	if (test_corrupt("vector") && __builtin_cpu_supports("avx"))
		corrupt_vector_spin();
	__atomic_store_n(&futex_word, 1, __ATOMIC_RELEASE);
	syscall(SYS_futex, &futex_word, FUTEX_WAKE, 1, NULL, NULL, 0);
	pthread_mutex_lock(&cond_lock);
	cond_go = 1;
	pthread_cond_signal(&cond);
	pthread_mutex_unlock(&cond_lock);
	for (i = 0; i < NR_THREADS; i++)
		pthread_join(threads[i].handle, NULL);
	test_done();
}
