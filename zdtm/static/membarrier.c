// SPDX-License-Identifier: GPL-2.0
/*
 * membarrier: the process registered for private and global expedited
 * membarriers. After restore MEMBARRIER_CMD_GET_REGISTRATIONS reports the
 * same registrations, and both expedited barriers succeed (without the
 * registration the kernel answers EPERM); a barrier it never registered
 * for (SYNC_CORE) still fails with EPERM.
 * Corrupt: cmd issues the unregistered SYNC_CORE barrier as if it had
 * registered for it.
 * Corrupt points: cmd.
 */
#include <errno.h>
#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "zdtmtst.h"

#define CMD_GET_REGISTRATIONS	(1 << 9)	/* since 6.3 */

static long membarrier(int cmd)
{
	return syscall(__NR_membarrier, cmd, 0, 0);
}

static void barrier_ok(int cmd, const char *what)
{
	if (membarrier(cmd))
		test_fail("membarrier(%s): %m", what);
}

int main(int argc, char **argv)
{
	long want = MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED |
		    MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED, got;

	test_init(argc, argv);
	if (membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) ||
	    membarrier(MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED))
		test_abort("membarrier register: %m");
	got = membarrier(CMD_GET_REGISTRATIONS);
	if (got != want)
		test_abort("GET_REGISTRATIONS %#lx, expected %#lx (%m)", got, want);
	test_ready();
	test_wait_term();

	got = membarrier(CMD_GET_REGISTRATIONS);
	if (got != want)
		test_fail("registrations %#lx, expected %#lx", got, want);
	barrier_ok(MEMBARRIER_CMD_PRIVATE_EXPEDITED, "PRIVATE_EXPEDITED");
	barrier_ok(MEMBARRIER_CMD_GLOBAL_EXPEDITED, "GLOBAL_EXPEDITED");
	if (test_corrupt("cmd"))
		barrier_ok(MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE,
			   "PRIVATE_EXPEDITED_SYNC_CORE");
	else if (membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE) == 0 ||
		 errno != EPERM)
		test_fail("SYNC_CORE barrier without registering: %m, "
			  "expected EPERM");
	test_done();
}
