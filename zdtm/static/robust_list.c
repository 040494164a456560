// SPDX-License-Identifier: GPL-2.0
/*
 * robust_list: robust mutexes held by threads across a checkpoint.
 *   holder   locks robust mutexes A and B and sleeps;
 *   holder2  locks robust mutex C and sleeps;
 *   waiter   blocks in pthread_mutex_lock(C);
 *   main     holds robust mutex D.
 * After restore get_robust_list() gives every thread the head it had (glibc
 * registers one per thread), holder and holder2 exit without unlocking:
 * the kernel walks their robust lists, so main locking A and B, and the
 * blocked waiter getting C, see EOWNERDEAD; D, held by a living thread,
 * times out for another thread.  All locks have timeouts.
 *
 * Corrupt points: list, unlock, head.
 */
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "zdtmtst.h"

#define LOCK_TIMEOUT_S	3

enum { T_HOLDER, T_HOLDER2, T_WAITER, NR_THREADS };
enum { M_A, M_B, M_C, M_D, NR_MUTEXES };

struct thread {
	const char *name;
	pthread_t handle;
	pid_t tid;
	void *head;
	size_t len;
	int result;		/* waiter: what its lock of C returned */
};

static struct thread threads[NR_THREADS] = {
	[T_HOLDER]  = { .name = "holder" },
	[T_HOLDER2] = { .name = "holder2" },
	[T_WAITER]  = { .name = "waiter" },
};
static pthread_mutex_t mutexes[NR_MUTEXES];
static void *main_head;
static size_t main_len;
static volatile int go_exit;		/* holders: exit now */
static int ready;
static struct robust_list_head fake_head;

static int get_robust(pid_t tid, void **head, size_t *len)
{
	return syscall(SYS_get_robust_list, tid, head, len);
}

static int timed_lock(pthread_mutex_t *m)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += LOCK_TIMEOUT_S;
	return pthread_mutex_timedlock(m, &ts);
}

static void wait_go(void)
{
	while (!go_exit) {
		struct timespec ts = { .tv_nsec = 20000000 };

		nanosleep(&ts, NULL);
	}
}

static void *holder(void *arg)
{
	struct thread *t = arg;

	t->tid = gettid();
	if (t == &threads[T_HOLDER]) {
		pthread_mutex_lock(&mutexes[M_A]);
		pthread_mutex_lock(&mutexes[M_B]);
	} else {
		pthread_mutex_lock(&mutexes[M_C]);
	}
	__atomic_add_fetch(&ready, 1, __ATOMIC_RELEASE);
	wait_go();
	if (t == &threads[T_HOLDER] && test_corrupt("list"))
		syscall(SYS_set_robust_list, &fake_head, sizeof(fake_head));
	if (t == &threads[T_HOLDER2] && test_corrupt("unlock"))
		pthread_mutex_unlock(&mutexes[M_C]);
	return NULL;		/* still holding its mutexes */
}

static void *waiter(void *arg)
{
	struct thread *t = arg;

	t->tid = gettid();
	__atomic_add_fetch(&ready, 1, __ATOMIC_RELEASE);
	/* Blocks until holder2 dies (after the restore): no timeout here. */
	t->result = pthread_mutex_lock(&mutexes[M_C]);
	if (t->result == EOWNERDEAD) {
		pthread_mutex_consistent(&mutexes[M_C]);
		pthread_mutex_unlock(&mutexes[M_C]);
	}
	return NULL;
}

static void *try_d(void *arg)
{
	return (void *)(long)timed_lock(arg);
}

static void setup(void)
{
	pthread_mutexattr_t attr;
	int i;

	fake_head.list.next = &fake_head.list;
	pthread_mutexattr_init(&attr);
	pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
	for (i = 0; i < NR_MUTEXES; i++)
		if (pthread_mutex_init(&mutexes[i], &attr))
			test_abort("pthread_mutex_init");
	pthread_mutex_lock(&mutexes[M_D]);
	if (pthread_create(&threads[T_HOLDER].handle, NULL, holder, &threads[T_HOLDER]) ||
	    pthread_create(&threads[T_HOLDER2].handle, NULL, holder, &threads[T_HOLDER2]))
		test_abort("pthread_create");
	while (__atomic_load_n(&ready, __ATOMIC_ACQUIRE) < 2)
		usleep(1000);
	if (pthread_create(&threads[T_WAITER].handle, NULL, waiter, &threads[T_WAITER]))
		test_abort("pthread_create");
	while (__atomic_load_n(&ready, __ATOMIC_ACQUIRE) < 3)
		usleep(1000);
	usleep(50000);		/* let the waiter block in the futex */

	if (get_robust(0, &main_head, &main_len) || !main_head)
		test_abort("get_robust_list: %m");
	for (i = 0; i < NR_THREADS; i++)
		if (get_robust(threads[i].tid, &threads[i].head, &threads[i].len) ||
		    !threads[i].head)
			test_abort("get_robust_list(%d): %m", threads[i].tid);
}

static void check_heads(void)
{
	void *head;
	size_t len;
	int i;

	if (test_corrupt("head"))
		syscall(SYS_set_robust_list, &fake_head, sizeof(fake_head));
	if (get_robust(0, &head, &len) || head != main_head || len != main_len)
		test_fail("main: robust list head %p/%zu, was %p/%zu", head, len,
			  main_head, main_len);
	for (i = 0; i < NR_THREADS; i++) {
		struct thread *t = &threads[i];

		if (get_robust(t->tid, &head, &len))
			test_fail("%s: get_robust_list(%d): %m", t->name, t->tid);
		else if (head != t->head || len != t->len)
			test_fail("%s: robust list head %p/%zu, was %p/%zu", t->name,
				  head, len, t->head, t->len);
	}
}

static void check_owner_dead(int idx, const char *name)
{
	int ret = timed_lock(&mutexes[idx]);

	if (ret != EOWNERDEAD) {
		test_fail("locking %s after its owner died: %s, expected EOWNERDEAD",
			  name, strerror(ret));
		if (ret)
			return;
	} else {
		pthread_mutex_consistent(&mutexes[idx]);
	}
	pthread_mutex_unlock(&mutexes[idx]);
	/* consistent again: a plain lock now */
	ret = timed_lock(&mutexes[idx]);
	if (ret)
		test_fail("locking %s again: %s", name, strerror(ret));
	else
		pthread_mutex_unlock(&mutexes[idx]);
}

int main(int argc, char **argv)
{
	pthread_t th;
	void *ret;
	int i;

	test_init(argc, argv);
	setup();
	test_ready();
	test_wait_term();

	check_heads();
	go_exit = 1;
	pthread_join(threads[T_HOLDER].handle, NULL);
	pthread_join(threads[T_HOLDER2].handle, NULL);
	check_owner_dead(M_A, "A");
	check_owner_dead(M_B, "B");
	for (i = 0; i < 10 * LOCK_TIMEOUT_S * 10; i++) {
		if (!pthread_tryjoin_np(threads[T_WAITER].handle, NULL))
			break;
		usleep(10000);
	}
	if (i == 10 * LOCK_TIMEOUT_S * 10) {
		test_fail("waiter still blocked on C after its owner died");
	} else if (threads[T_WAITER].result != EOWNERDEAD) {
		test_fail("waiter: locking C after its owner died: %s, expected EOWNERDEAD",
			  strerror(threads[T_WAITER].result));
	}
	/* D is held by main, alive: another thread must time out on it. */
	if (pthread_create(&th, NULL, try_d, &mutexes[M_D]) || pthread_join(th, &ret))
		test_fail("pthread_create: %m");
	else if ((long)ret != ETIMEDOUT)
		test_fail("locking D held by main: %s, expected ETIMEDOUT",
			  strerror((long)ret));
	test_done();
}
