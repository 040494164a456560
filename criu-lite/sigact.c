// SPDX-License-Identifier: GPL-2.0
/*
 * Signal dispositions (sigact.h).
 */
#include <signal.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "log.h"
#include "sigact.h"

/* struct sigaction as the kernel takes it (rt_sigaction, 8-byte mask) */
struct kernel_sigaction {
	uint64_t handler, flags, restorer, mask;
};

static bool has_disposition(unsigned sig)
{
	return sig >= 1 && sig <= 64 && sig != SIGKILL && sig != SIGSTOP;
}

int dump_sigactions(struct remote *r, uint64_t scratch, TaskEntry *te)
{
	te->sigactions = calloc(64, sizeof(*te->sigactions));
	if (!te->sigactions)
		return -1;
	for (int sig = 1; sig <= 64; sig++) {
		struct kernel_sigaction ka;
		SigactionEntry *se;
		long ret;

		if (!has_disposition(sig))
			continue;
		ret = rcall(r, __NR_rt_sigaction, sig, 0, scratch, 8, 0, 0);
		if (ret < 0 || remote_read(r->tid, scratch, &ka, sizeof(ka))) {
			pr_err("pid %d: rt_sigaction(%d) failed (%ld)", r->tid,
			       sig, ret);
			return -1;
		}
		se = malloc(sizeof(*se));
		if (!se)
			return -1;
		sigaction_entry__init(se);
		se->sig = sig;
		se->handler = ka.handler;
		se->flags = ka.flags;
		se->restorer = ka.restorer;
		se->mask = ka.mask;
		te->sigactions[te->n_sigactions++] = se;
	}
	return 0;
}

void free_sigactions(TaskEntry *te)
{
	for (size_t i = 0; i < te->n_sigactions; i++)
		free(te->sigactions[i]);
	free(te->sigactions);
}

int check_sigactions(const TaskEntry *te)
{
	for (size_t i = 0; i < te->n_sigactions; i++) {
		unsigned sig = te->sigactions[i]->sig;

		if (!has_disposition(sig)) {
			pr_err("task-%u.img: sigaction %zu is for signal %u, "
			       "which has none", te->pid, i, sig);
			return -1;
		}
	}
	return 0;
}

int restore_sigactions(const TaskEntry *te)
{
	struct kernel_sigaction dfl = { 0 };

	for (int sig = 1; sig <= 64; sig++)
		if (has_disposition(sig) &&
		    syscall(__NR_rt_sigaction, sig, &dfl, NULL, 8)) {
			pr_perror("reset the sigaction of %d to SIG_DFL", sig);
			return -1;
		}
	for (size_t i = 0; i < te->n_sigactions; i++) {
		const SigactionEntry *s = te->sigactions[i];
		struct kernel_sigaction ka = { s->handler, s->flags,
					       s->restorer, s->mask };

		if (syscall(__NR_rt_sigaction, s->sig, &ka, NULL, 8)) {
			pr_perror("rt_sigaction(%u)", s->sig);
			return -1;
		}
	}
	return 0;
}
