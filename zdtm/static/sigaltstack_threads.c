// SPDX-License-Identifier: GPL-2.0
/*
 * sigaltstack_threads: every thread with its own alternate signal stack.
 *   main  64 KiB;
 *   t1    128 KiB;
 *   t2    32 KiB with SS_AUTODISARM;
 *   t3    none (SS_DISABLE): its handler runs on its normal stack.
 * SIGUSR1 has an SA_ONSTACK handler that records which thread ran it and
 * the address of one of its locals.
 * After restore each thread reads its sigaltstack() back (address, size,
 * flags), then main sends SIGUSR1 to each thread (tgkill) in turn: the
 * handler must run in that thread, on that thread's alternate stack (t3:
 * within its own thread stack), and report SS_ONSTACK (t2: SS_DISABLE, as
 * autodisarm leaves it while the handler runs).
 *
 * Corrupt points: stack, disable, onstack.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "zdtmtst.h"

#ifndef SS_AUTODISARM
#define SS_AUTODISARM	(1U << 31)
#endif

enum { T_MAIN, T_1, T_2, T_3, NR_THREADS };

struct thread {
	const char *name;
	size_t alt_size;	/* 0: none */
	int alt_flags;		/* besides the stack being enabled */
	pthread_t handle;
	pid_t tid;
	uint8_t *alt;
	uintptr_t stack_lo, stack_hi;	/* its normal stack */
	volatile int phase;
	/* written by the handler */
	volatile int hits;
	volatile pid_t hit_tid;
	volatile uintptr_t hit_addr;
	volatile int hit_ss_flags;
};

static struct thread threads[NR_THREADS] = {
	[T_MAIN] = { "main", 64 << 10, 0 },
	[T_1]    = { "t1", 128 << 10, 0 },
	[T_2]    = { "t2", 32 << 10, SS_AUTODISARM },
	[T_3]    = { "t3", 0, 0 },
};
static pthread_barrier_t barrier;

static struct thread *self_thread(void)
{
	pid_t tid = gettid();
	int i;

	for (i = 0; i < NR_THREADS; i++)
		if (threads[i].tid == tid)
			return &threads[i];
	return NULL;
}

static void on_usr1(int sig)
{
	volatile char local = 0;
	struct thread *t = self_thread();
	stack_t ss;

	(void)sig;
	if (!t)
		return;
	t->hit_tid = gettid();
	t->hit_addr = (uintptr_t)&local;
	t->hit_ss_flags = sigaltstack(NULL, &ss) ? -1 : ss.ss_flags;
	t->hits++;
}

static void setup_thread(struct thread *t)
{
	pthread_attr_t attr;
	size_t size;
	void *addr;
	stack_t ss = { .ss_flags = SS_DISABLE };

	t->tid = gettid();
	if (pthread_getattr_np(pthread_self(), &attr) ||
	    pthread_attr_getstack(&attr, &addr, &size))
		test_abort("%s: pthread_getattr_np", t->name);
	pthread_attr_destroy(&attr);
	t->stack_lo = (uintptr_t)addr;
	t->stack_hi = (uintptr_t)addr + size;
	if (t->alt_size) {
		t->alt = malloc(t->alt_size);
		if (!t->alt)
			test_abort("malloc");
		ss.ss_sp = t->alt;
		ss.ss_size = t->alt_size;
		ss.ss_flags = t->alt_flags;
	}
	if (sigaltstack(&ss, NULL))
		test_abort("%s: sigaltstack: %m", t->name);
}

/* Each thread checks what sigaltstack() tells it (not in a handler). */
static void check_own(struct thread *t)
{
	stack_t ss;

	if (t == &threads[T_1] && test_corrupt("stack")) {
		stack_t other = { .ss_sp = malloc(t->alt_size), .ss_size = t->alt_size };

		sigaltstack(&other, NULL);
	}
	if (t == &threads[T_2] && test_corrupt("disable")) {
		stack_t off = { .ss_flags = SS_DISABLE };

		sigaltstack(&off, NULL);
	}
	if (sigaltstack(NULL, &ss)) {
		test_fail("%s: sigaltstack: %m", t->name);
		return;
	}
	if (!t->alt_size) {
		if (ss.ss_flags != SS_DISABLE)
			test_fail("%s: alternate stack %p/%zu flags %#x, expected none",
				  t->name, ss.ss_sp, ss.ss_size, ss.ss_flags);
	} else if (ss.ss_sp != t->alt || ss.ss_size != t->alt_size ||
		   ss.ss_flags != t->alt_flags) {
		test_fail("%s: alternate stack %p/%zu flags %#x, expected %p/%zu flags %#x",
			  t->name, ss.ss_sp, ss.ss_size, ss.ss_flags, t->alt,
			  t->alt_size, t->alt_flags);
	}
}

static void *thread_fn(void *arg)
{
	struct thread *t = arg;

	setup_thread(t);
	pthread_barrier_wait(&barrier);
	while (t->phase == 0) {
		struct timespec ts = { .tv_nsec = 20000000 };

		nanosleep(&ts, NULL);
	}
	check_own(t);
	t->phase = 2;
	/* SIGUSR1 comes while we sleep here */
	while (t->phase != 3) {
		struct timespec ts = { .tv_nsec = 5000000 };

		nanosleep(&ts, NULL);
	}
	return NULL;
}

/* Signals @t and checks where its handler ran. */
static void check_handler(struct thread *t)
{
	uintptr_t lo, hi;
	int before = t->hits, i;

	if (syscall(SYS_tgkill, getpid(), t->tid, SIGUSR1)) {
		test_fail("%s: tgkill: %m", t->name);
		return;
	}
	for (i = 0; i < 2000 && t->hits == before; i++)
		usleep(1000);
	if (t->hits == before) {
		test_fail("%s: the SIGUSR1 handler did not run", t->name);
		return;
	}
	if (t->hit_tid != t->tid)
		test_fail("%s: the handler ran in %d, expected %d", t->name,
			  t->hit_tid, t->tid);
	if (t->alt_size) {
		lo = (uintptr_t)t->alt;
		hi = lo + t->alt_size;
	} else {
		lo = t->stack_lo;
		hi = t->stack_hi;
	}
	if (t->hit_addr < lo || t->hit_addr >= hi)
		test_fail("%s: the handler ran with its stack at %#lx, not in %#lx-%#lx (%s)",
			  t->name, (unsigned long)t->hit_addr, (unsigned long)lo,
			  (unsigned long)hi, t->alt_size ? "alternate stack" : "thread stack");
	if (t->alt_size &&
	    t->hit_ss_flags != ((t->alt_flags & SS_AUTODISARM) ? SS_DISABLE : SS_ONSTACK))
		test_fail("%s: sigaltstack() in the handler gives flags %#x", t->name,
			  t->hit_ss_flags);
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_usr1, .sa_flags = SA_ONSTACK | SA_RESTART };
	int i;

	test_init(argc, argv);
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGUSR1, &sa, NULL))
		test_abort("sigaction: %m");
	pthread_barrier_init(&barrier, NULL, NR_THREADS);
	for (i = T_1; i < NR_THREADS; i++)
		if (pthread_create(&threads[i].handle, NULL, thread_fn, &threads[i]))
			test_abort("pthread_create");
	setup_thread(&threads[T_MAIN]);
	pthread_barrier_wait(&barrier);
	/* once before the checkpoint: the checks hold */
	for (i = 0; i < NR_THREADS; i++)
		check_handler(&threads[i]);
	if (test_failures())
		test_abort("handlers do not run where expected before the checkpoint");

	test_ready();
	test_wait_term();
	if (test_corrupt("onstack")) {
		sa.sa_flags &= ~SA_ONSTACK;
		sigaction(SIGUSR1, &sa, NULL);
	}

	check_own(&threads[T_MAIN]);
	for (i = T_1; i < NR_THREADS; i++)
		threads[i].phase = 1;
	for (i = T_1; i < NR_THREADS; i++)
		while (threads[i].phase != 2)
			usleep(1000);
	for (i = 0; i < NR_THREADS; i++)
		check_handler(&threads[i]);
	for (i = T_1; i < NR_THREADS; i++) {
		threads[i].phase = 3;
		pthread_join(threads[i].handle, NULL);
	}
	test_done();
}
