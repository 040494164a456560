// SPDX-License-Identifier: GPL-2.0
/*
 * sighandler: signal dispositions, mask, pending signals and sigaltstack.
 *   - SIGUSR1: SA_SIGINFO | SA_RESTART | SA_ONSTACK handler with sa_mask
 *     {SIGHUP, SIGQUIT}; SIGINT ignored; SIGALRM SA_RESETHAND | SA_NODEFER;
 *     every disposition (handler, flags, restorer, mask) must be unchanged.
 *   - blocked: SIGUSR2, SIGRTMIN+2, SIGPROF, SIGWINCH (not SIGTERM).
 *   - pending while blocked: SIGUSR2 by kill() (process-wide), SIGRTMIN+2
 *     queued twice by sigqueue() with values 101 and 202 (process-wide),
 *     SIGPROF by tgkill() (thread-private).  After restore sigpending()
 *     must still show them; unblocked, each arrives once with its siginfo
 *     (sender pid, si_code, queued values in order).
 *   - raise(SIGUSR1) after restore runs the handler on the alternate stack
 *     with sa_mask in effect.
 *
 * Corrupt points: action, mask, pending, altstack.
 */
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "zdtmtst.h"

#define ALTSTACK_SIZE	(64 * 1024)
#define RT_SIG		(SIGRTMIN + 2)

static uint8_t altstack[ALTSTACK_SIZE];
static struct sigaction saved_act[_NSIG];
static sigset_t saved_mask, saved_pending;

/* What the handlers saw; written in handlers, read after. */
static volatile int usr1_runs, usr1_code, usr1_on_altstack, usr1_mask_ok;
static volatile int usr2_runs, usr2_code, usr2_pid_ok;
static volatile int prof_runs, prof_code;
static volatile int rt_runs, rt_values[4];

static void on_usr1(int sig, siginfo_t *si, void *uc)
{
	uint8_t here;
	sigset_t cur;

	(void)sig;
	(void)uc;
	usr1_runs++;
	usr1_code = si->si_code;
	usr1_on_altstack = &here >= altstack && &here < altstack + ALTSTACK_SIZE;
	sigprocmask(SIG_SETMASK, NULL, &cur);
	usr1_mask_ok = sigismember(&cur, SIGHUP) && sigismember(&cur, SIGQUIT) &&
		       sigismember(&cur, SIGUSR1);
}

static void on_usr2(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	usr2_runs++;
	usr2_code = si->si_code;
	usr2_pid_ok = si->si_pid == getpid();
}

static void on_prof(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	prof_runs++;
	prof_code = si->si_code;
}

static void on_rt(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	if (rt_runs < 4)
		rt_values[rt_runs] = si->si_value.sival_int;
	rt_runs++;
}

static void on_alrm(int sig)
{
	(void)sig;
}

static void set_action(int sig, void *handler, int flags, int mask1, int mask2)
{
	struct sigaction sa = { .sa_flags = flags };

	if (flags & SA_SIGINFO)
		sa.sa_sigaction = handler;
	else
		sa.sa_handler = handler;
	sigemptyset(&sa.sa_mask);
	if (mask1)
		sigaddset(&sa.sa_mask, mask1);
	if (mask2)
		sigaddset(&sa.sa_mask, mask2);
	if (sigaction(sig, &sa, NULL))
		test_abort("sigaction(%d): %m", sig);
}

static bool valid_sig(int sig)
{
	return sig != SIGKILL && sig != SIGSTOP && (sig < 32 || sig >= SIGRTMIN);
}

static void save_actions(void)
{
	int sig;

	for (sig = 1; sig < _NSIG; sig++)
		if (valid_sig(sig) && sigaction(sig, NULL, &saved_act[sig]))
			test_abort("sigaction(%d, NULL): %m", sig);
}

static void check_actions(void)
{
	struct sigaction now;
	int sig, s;

	for (sig = 1; sig < _NSIG; sig++) {
		const struct sigaction *was = &saved_act[sig];

		if (!valid_sig(sig))
			continue;
		if (sigaction(sig, NULL, &now)) {
			test_fail("sigaction(%d, NULL): %m", sig);
			continue;
		}
		if (now.sa_handler != was->sa_handler ||
		    now.sa_flags != was->sa_flags ||
		    now.sa_restorer != was->sa_restorer)
			test_fail("signal %d: handler %p flags %#x restorer %p, expected %p %#x %p",
				  sig, (void *)now.sa_handler, now.sa_flags,
				  (void *)now.sa_restorer, (void *)was->sa_handler,
				  was->sa_flags, (void *)was->sa_restorer);
		for (s = 1; s < _NSIG; s++)
			if (valid_sig(s) && sigismember(&now.sa_mask, s) !=
					    sigismember(&was->sa_mask, s))
				test_fail("signal %d: sa_mask differs at %d", sig, s);
	}
}

static void compare_sets(const char *what, const sigset_t *now,
			 const sigset_t *was)
{
	int sig;

	for (sig = 1; sig < _NSIG; sig++)
		if (valid_sig(sig) && sigismember(now, sig) != sigismember(was, sig))
			test_fail("%s: signal %d is %s, was %s", what, sig,
				  sigismember(now, sig) ? "set" : "clear",
				  sigismember(was, sig) ? "set" : "clear");
}

static void setup(void)
{
	stack_t ss = { .ss_sp = altstack, .ss_size = ALTSTACK_SIZE };
	union sigval val;
	sigset_t block;

	if (sigaltstack(&ss, NULL))
		test_abort("sigaltstack: %m");
	set_action(SIGUSR1, on_usr1, SA_SIGINFO | SA_RESTART | SA_ONSTACK,
		   SIGHUP, SIGQUIT);
	set_action(SIGUSR2, on_usr2, SA_SIGINFO, 0, 0);
	set_action(SIGPROF, on_prof, SA_SIGINFO, 0, 0);
	set_action(RT_SIG, on_rt, SA_SIGINFO | SA_RESTART, SIGUSR1, 0);
	set_action(SIGALRM, on_alrm, SA_RESETHAND | SA_NODEFER, 0, 0);
	set_action(SIGINT, SIG_IGN, 0, 0, 0);

	sigemptyset(&block);
	sigaddset(&block, SIGUSR2);
	sigaddset(&block, RT_SIG);
	sigaddset(&block, SIGPROF);
	sigaddset(&block, SIGWINCH);
	if (sigprocmask(SIG_BLOCK, &block, NULL))
		test_abort("sigprocmask: %m");

	if (kill(getpid(), SIGUSR2))
		test_abort("kill: %m");
	val.sival_int = 101;
	if (sigqueue(getpid(), RT_SIG, val))
		test_abort("sigqueue: %m");
	val.sival_int = 202;
	if (sigqueue(getpid(), RT_SIG, val))
		test_abort("sigqueue: %m");
	if (syscall(SYS_tgkill, getpid(), gettid(), SIGPROF))
		test_abort("tgkill: %m");

	save_actions();
	sigprocmask(SIG_SETMASK, NULL, &saved_mask);
	sigpending(&saved_pending);
}

static void corrupt(void)
{
	if (test_corrupt("action"))
		set_action(SIGUSR1, on_usr1, SA_SIGINFO | SA_ONSTACK, SIGHUP, SIGQUIT);
	if (test_corrupt("mask")) {
		sigset_t s;

		sigemptyset(&s);
		sigaddset(&s, SIGWINCH);
		sigprocmask(SIG_UNBLOCK, &s, NULL);
	}
	if (test_corrupt("pending")) {
		struct timespec zero = { 0 };
		sigset_t s;

		sigemptyset(&s);
		sigaddset(&s, SIGPROF);
		sigtimedwait(&s, NULL, &zero);
	}
	if (test_corrupt("altstack")) {
		stack_t ss = { .ss_flags = SS_DISABLE };

		sigaltstack(&ss, NULL);
	}
}

static void check_altstack(void)
{
	stack_t ss;

	if (sigaltstack(NULL, &ss))
		test_fail("sigaltstack: %m");
	else if (ss.ss_sp != altstack || ss.ss_size != ALTSTACK_SIZE ||
		 ss.ss_flags)
		test_fail("sigaltstack sp %p size %zu flags %#x, expected %p %d 0",
			  ss.ss_sp, ss.ss_size, ss.ss_flags, (void *)altstack,
			  ALTSTACK_SIZE);
}

static void check_delivery(void)
{
	sigset_t unblock, left;

	raise(SIGUSR1);
	if (usr1_runs != 1)
		test_fail("SIGUSR1 handler ran %d times", usr1_runs);
	else if (usr1_code != SI_TKILL || !usr1_on_altstack || !usr1_mask_ok)
		test_fail("SIGUSR1 handler: si_code %d, on altstack %d, sa_mask in effect %d",
			  usr1_code, usr1_on_altstack, usr1_mask_ok);

	sigemptyset(&unblock);
	sigaddset(&unblock, SIGUSR2);
	sigaddset(&unblock, RT_SIG);
	sigaddset(&unblock, SIGPROF);
	sigprocmask(SIG_UNBLOCK, &unblock, NULL);

	if (usr2_runs != 1 || usr2_code != SI_USER || !usr2_pid_ok)
		test_fail("SIGUSR2: %d deliveries, si_code %d, sender is self %d",
			  usr2_runs, usr2_code, usr2_pid_ok);
	if (prof_runs != 1 || prof_code != SI_TKILL)
		test_fail("SIGPROF: %d deliveries, si_code %d", prof_runs, prof_code);
	if (rt_runs != 2 || rt_values[0] != 101 || rt_values[1] != 202)
		test_fail("SIGRTMIN+2: %d deliveries, values %d %d (want 2: 101 202)",
			  rt_runs, rt_values[0], rt_values[1]);
	sigpending(&left);
	if (!sigisemptyset(&left))
		test_fail("signals still pending after delivery");
}

int main(int argc, char **argv)
{
	sigset_t mask, pending;

	test_init(argc, argv);
	setup();
	test_ready();
	test_wait_term();
	corrupt();

	check_actions();
	sigprocmask(SIG_SETMASK, NULL, &mask);
	compare_sets("blocked mask", &mask, &saved_mask);
	sigpending(&pending);
	compare_sets("pending set", &pending, &saved_pending);
	check_altstack();
	check_delivery();
	test_done();
}
