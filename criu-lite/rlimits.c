// SPDX-License-Identifier: GPL-2.0
/*
 * Resource limits (rlimits.h).
 */
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/syscall.h>

#include "log.h"
#include "rlimits.h"

int dump_rlimits(struct remote *r, uint64_t scratch, TaskEntry *te)
{
	te->rlimits = calloc(RLIM_NLIMITS, sizeof(*te->rlimits));
	if (!te->rlimits)
		return -1;
	for (int res = 0; res < RLIM_NLIMITS; res++) {
		struct rlimit rl;
		RlimitEntry *re;
		long ret = rcall(r, __NR_prlimit64, 0, res, 0, scratch, 0, 0);

		if (ret || remote_read(r->tid, scratch, &rl, sizeof(rl))) {
			pr_err("pid %d: prlimit64(%d) failed (%ld)", r->tid,
			       res, ret);
			return -1;
		}
		re = malloc(sizeof(*re));
		if (!re)
			return -1;
		rlimit_entry__init(re);
		re->resource = res;
		re->cur = rl.rlim_cur;
		re->max = rl.rlim_max;
		te->rlimits[te->n_rlimits++] = re;
	}
	return 0;
}

void free_rlimits(TaskEntry *te)
{
	for (size_t i = 0; i < te->n_rlimits; i++)
		free(te->rlimits[i]);
	free(te->rlimits);
}

void restore_rlimits(pid_t pid, const TaskEntry *te)
{
	for (size_t i = 0; i < te->n_rlimits; i++) {
		struct rlimit rl = { te->rlimits[i]->cur, te->rlimits[i]->max };

		if (prlimit(pid, te->rlimits[i]->resource, &rl, NULL))
			pr_warn("restore %d: prlimit(%u): %m", pid,
				te->rlimits[i]->resource);
	}
}
