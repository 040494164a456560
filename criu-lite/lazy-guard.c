// SPDX-License-Identifier: GPL-2.0
/* The lazy-pages daemon's hold on the process it fills (lazy-guard.h). */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lazy.h"
#include "lazy-guard.h"
#include "log.h"

static void answer(struct lazy_guard *g, char what)
{
	if (!g->answered && send(g->ctl, &what, 1, MSG_NOSIGNAL) != 1)
		pr_perror("lazy-pages: answer restore");
	g->answered = true;
}

static void attach_all(struct lazy_guard *g, struct lazy_proc *procs,
		       size_t nr)
{
	for (size_t i = 0; i < nr; i++) {
		if (procs[i].gone)
			continue;
		if (ptrace(PTRACE_SEIZE, procs[i].pid, NULL,
			   (void *)PTRACE_O_EXITKILL)) {
			if (errno == ESRCH) {
				procs[i].gone = true;
				continue;
			}
			/* unguarded, it could read zeros: it must not run */
			pr_perror("lazy-pages: PTRACE_SEIZE %d (killing it)",
				  procs[i].pid);
			kill(procs[i].pid, SIGKILL);
			procs[i].gone = true;
			continue;
		}
		procs[i].guarded = true;
	}
	g->attached = true;
	answer(g, 'a');
}

static bool is_stop_signal(int sig)
{
	return sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN ||
	       sig == SIGTTOU;
}

/* Whatever stopped a guarded leader goes on as if we were not there. */
static void let_go(pid_t pid, int status)
{
	int sig = WSTOPSIG(status);

	if (status >> 16 == PTRACE_EVENT_STOP) {
		if (is_stop_signal(sig))	/* a group stop: it stays */
			ptrace(PTRACE_LISTEN, pid, NULL, NULL);
		else
			ptrace(PTRACE_CONT, pid, NULL, NULL);
		return;
	}
	ptrace(PTRACE_CONT, pid, NULL, (void *)(long)sig);
}

static struct lazy_proc *by_pid(struct lazy_proc *procs, size_t nr, pid_t pid)
{
	for (size_t i = 0; i < nr; i++)
		if (procs[i].pid == pid)
			return &procs[i];
	return NULL;
}

void guard_poll(struct lazy_guard *g, struct lazy_proc *procs, size_t nr)
{
	struct pollfd pfd = { g->ctl, POLLIN, 0 };
	int status;
	pid_t w;

	if (!g->attached && g->ctl >= 0 && poll(&pfd, 1, 0) == 1) {
		char c = 0;

		/* 'g', or restore gone (EOF): the process runs either way */
		if (recv(g->ctl, &c, 1, MSG_DONTWAIT) >= 0 || errno != EAGAIN)
			attach_all(g, procs, nr);
	}
	while (g->attached &&
	       (w = waitpid(-1, &status, __WALL | WNOHANG)) > 0) {
		struct lazy_proc *lp = by_pid(procs, nr, w);

		if (WIFSTOPPED(status)) {
			let_go(w, status);
		} else if (lp) {
			lp->guarded = false;
			lp->gone = true;
		}
	}
}

/* Detach needs a ptrace stop: interrupt, and pass on whatever stop
 * comes first (a pending signal is delivered by the detach). */
static void detach_one(struct lazy_proc *lp)
{
	int status, sig = 0;

	if (ptrace(PTRACE_INTERRUPT, lp->pid, NULL, NULL))
		return;
	while (waitpid(lp->pid, &status, __WALL) < 0)
		if (errno != EINTR)
			return;
	if (!WIFSTOPPED(status))
		return;
	if (status >> 16 == 0)
		sig = WSTOPSIG(status);	/* signal-delivery stop */
	if (ptrace(PTRACE_DETACH, lp->pid, NULL, (void *)(long)sig))
		pr_perror("lazy-pages: PTRACE_DETACH %d", lp->pid);
	lp->guarded = false;
}

void guard_release(struct lazy_guard *g, struct lazy_proc *procs, size_t nr)
{
	if (!g->attached) {
		answer(g, 'd');
		return;
	}
	for (size_t i = 0; i < nr; i++)
		if (procs[i].guarded)
			detach_one(&procs[i]);
}

int guard_hand_over(int ctl, pid_t daemon, pid_t pid)
{
	struct pollfd pfd = { ctl, POLLIN, 0 };
	char c = 'g';

	/* a daemon that filled everything already said 'd' and may be gone:
	 * its answer is still in the socket even if this send fails */
	if (send(ctl, &c, 1, MSG_NOSIGNAL) != 1)
		pr_debug("lazy-pages daemon %d: no 'g' sent: %m", daemon);
	c = 0;
	if (poll(&pfd, 1, 10000) == 1 && recv(ctl, &c, 1, 0) == 1 &&
	    (c == 'a' || c == 'd')) {
		pr_info("lazy-pages daemon %d %s %d", daemon,
			c == 'a' ? "guards (if it dies before all pages are "
			"in, the process is killed, never left on zero pages)"
			: "had already filled", pid);
		return 0;
	}
	pr_err("lazy-pages daemon %d is gone before it took over %d", daemon,
	       pid);
	return -1;
}
