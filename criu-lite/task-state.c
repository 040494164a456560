// SPDX-License-Identifier: GPL-2.0
/*
 * Child subreaper and membarrier registrations (task-state.h).
 */
#include <errno.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/membarrier.h>

#include "log.h"
#include "task-state.h"

/* linux/membarrier.h, since 6.3 */
#define CMD_GET_REGISTRATIONS	(1 << 9)

/* The REGISTER_* commands, one bit each, as GET_REGISTRATIONS reports. */
#define MEMBARRIER_REGISTER_MASK					\
	(MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED |			\
	 MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED |			\
	 MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE |		\
	 MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ)

int dump_task_state(struct remote *r, uint64_t scratch, TaskEntry *te)
{
	pid_t pid = r->tid;
	int reaper = 0;
	long ret;

	ret = rcall(r, __NR_prctl, PR_GET_CHILD_SUBREAPER, scratch, 0, 0, 0, 0);
	if (ret || remote_read(pid, scratch, &reaper, sizeof(reaper))) {
		pr_err("pid %d: prctl(PR_GET_CHILD_SUBREAPER) failed (%ld)",
		       pid, ret);
		return -1;
	}
	te->has_child_subreaper = true;
	te->child_subreaper = reaper != 0;
	ret = rcall(r, __NR_membarrier, CMD_GET_REGISTRATIONS, 0, 0, 0, 0, 0);
	if (ret == -EINVAL) {	/* before 6.3: nothing to ask */
		pr_debug("pid %d: membarrier registrations unknown (kernel "
			 "before 6.3)", pid);
		return 0;
	}
	if (ret < 0) {
		pr_err("pid %d: membarrier(GET_REGISTRATIONS) failed (%ld)",
		       pid, ret);
		return -1;
	}
	if (ret & ~MEMBARRIER_REGISTER_MASK) {
		pr_err("pid %d: membarrier registrations %#lx: unknown ones "
		       "(%#lx)", pid, ret, ret & ~(long)MEMBARRIER_REGISTER_MASK);
		return -1;
	}
	te->has_membarrier_regs = true;
	te->membarrier_regs = ret;
	return 0;
}

static int restore_membarrier(uint32_t regs)
{
	for (int bit = 0; bit < 32; bit++) {
		uint32_t cmd = 1U << bit;

		if (!(regs & cmd))
			continue;
		if (!(cmd & MEMBARRIER_REGISTER_MASK)) {
			pr_err("membarrier registration %#x: unknown", cmd);
			return -1;
		}
		if (syscall(__NR_membarrier, cmd, 0, 0)) {
			pr_perror("membarrier(register %#x)", cmd);
			return -1;
		}
	}
	return 0;
}

int restore_task_state_early(const TaskEntry *te)
{
	if (te->has_child_subreaper && te->child_subreaper &&
	    prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)) {
		pr_perror("prctl(PR_SET_CHILD_SUBREAPER)");
		return -1;
	}
	if (te->has_membarrier_regs && restore_membarrier(te->membarrier_regs))
		return -1;
	return 0;
}
