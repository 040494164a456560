// SPDX-License-Identifier: GPL-2.0
/* Memory locks of a restored process (mem-marks.h). */
#include <errno.h>
#include <string.h>
#include <sys/syscall.h>

#include "log.h"
#include "mem-marks.h"

#ifndef MLOCK_ONFAULT
#define MLOCK_ONFAULT	0x01
#endif

/*
 * A locked VMA is locked again with the call that made it so: mlock2 with
 * MLOCK_ONFAULT locks pages as they are touched, plain mlock faults the
 * whole range in now (as it was at dump: a locked VMA is populated). The
 * puppet still has criu-lite's privileges here: no RLIMIT_MEMLOCK limit.
 */
int restore_locks(struct mm_restore *m)
{
	for (size_t i = 0; i < m->mm->n_vmas; i++) {
		const VmaEntry *v = m->mm->vmas[i];
		bool onfault = v->lock == VMA_LOCK__VMA_LOCKED_ONFAULT;
		long ret;

		if (!v->has_lock || v->lock == VMA_LOCK__VMA_UNLOCKED)
			continue;
		ret = rcall(m->r, __NR_mlock2, v->start, v->end - v->start,
			    onfault ? MLOCK_ONFAULT : 0, 0, 0, 0);
		if (ret < 0) {
			errno = -ret;
			pr_perror("restore %d: mlock2 [%#lx, %#lx)%s", m->pid,
				  (long)v->start, (long)v->end,
				  onfault ? " MLOCK_ONFAULT" : "");
			return -1;
		}
	}
	return 0;
}
