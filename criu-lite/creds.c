// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <linux/capability.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include "creds.h"
#include "log.h"
#include "proc.h"

static uint64_t cap_set_of(cap_t caps, cap_flag_t which)
{
	uint64_t mask = 0;

	for (int c = 0; c <= CAP_LAST_CAP && c < 64; c++) {
		cap_flag_value_t v;

		if (cap_get_flag(caps, c, which, &v) == 0 && v == CAP_SET)
			mask |= 1ULL << c;
	}
	return mask;
}

static int parse_groups(const char *status, CredsEntry *ce)
{
	const char *p = strstr(status, "\nGroups:");
	char *end;

	if (!p)
		return 0;
	p += 8;
	ce->groups = calloc(65536, sizeof(uint32_t));
	if (!ce->groups)
		return -1;
	for (;;) {
		unsigned long g = strtoul(p, &end, 10);

		if (end == p || ce->n_groups == 65536)
			break;
		ce->groups[ce->n_groups++] = g;
		p = end;
	}
	return 0;
}

int dump_creds(pid_t pid, TaskEntry *te)
{
	CredsEntry *ce = calloc(1, sizeof(*ce));
	struct proc_status ps;
	char *status;
	cap_t caps;

	if (!ce)
		return -1;
	creds_entry__init(ce);
	te->creds = ce;
	status = proc_read_file("/proc/%d/status", pid);
	if (!status || proc_parse_status(status, &ps) || parse_groups(status, ce)) {
		free(status);
		pr_err("pid %d: can't read credentials", pid);
		return -1;
	}
	free(status);
	ce->uid = malloc(4 * sizeof(uint32_t));
	ce->gid = malloc(4 * sizeof(uint32_t));
	if (!ce->uid || !ce->gid)
		return -1;
	memcpy(ce->uid, ps.uid, sizeof(ps.uid));
	memcpy(ce->gid, ps.gid, sizeof(ps.gid));
	ce->n_uid = ce->n_gid = 4;
	caps = cap_get_pid(pid);
	if (!caps) {
		pr_perror("cap_get_pid(%d)", pid);
		return -1;
	}
	ce->cap_inh = cap_set_of(caps, CAP_INHERITABLE);
	ce->cap_prm = cap_set_of(caps, CAP_PERMITTED);
	ce->cap_eff = cap_set_of(caps, CAP_EFFECTIVE);
	cap_free(caps);
	ce->cap_bnd = ps.cap_bnd;
	ce->cap_amb = ps.cap_amb;
	return 0;
}

void free_creds(TaskEntry *te)
{
	if (!te->creds)
		return;
	free(te->creds->uid);
	free(te->creds->gid);
	free(te->creds->groups);
	free(te->creds);
	te->creds = NULL;
}

static bool is_full_root(const CredsEntry *ce, uint64_t all)
{
	for (int i = 0; i < 4; i++)
		if (ce->uid[i] || ce->gid[i])
			return false;
	return ce->cap_prm == all && ce->cap_eff == all && ce->cap_bnd == all &&
	       !ce->cap_amb && !ce->cap_inh;
}

#ifndef SECBIT_KEEP_CAPS
#define SECBIT_KEEP_CAPS	(1 << 4)
#endif
/* the *_LOCKED securebits */
#define SECBITS_LOCKS	((1 << 1) | (1 << 3) | (1 << 5) | (1 << 7))

#define CALL_OK(expr, what)						\
	do {								\
		long __r = (expr);					\
		if (__r < 0) {						\
			pr_err("pid %d: %s failed: %s", r->tid, what,	\
			       strerror(-__r));				\
			return -1;					\
		}							\
	} while (0)

/*
 * Order matters: the bounding set can only shrink while CAP_SETPCAP is
 * still effective; groups and ids need CAP_SETGID/SETUID; KEEPCAPS keeps
 * the permitted set across the uid change, so capset can then install the
 * exact sets; ambient capabilities go last (they need prm and inh).
 */
int restore_creds(struct remote *r, uint64_t scratch, const CredsEntry *ce)
{
	uint64_t all = (CAP_LAST_CAP >= 63) ? ~0ULL : (1ULL << (CAP_LAST_CAP + 1)) - 1;
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2];

	if (!ce || ce->n_uid != 4 || ce->n_gid != 4)
		return 0;
	if (is_full_root(ce, all & ce->cap_bnd) && ce->cap_bnd == all &&
	    !ce->securebits)
		return 0;
	for (int c = 0; c <= CAP_LAST_CAP; c++)
		if (!(ce->cap_bnd & (1ULL << c)))
			CALL_OK(rcall(r, __NR_prctl, PR_CAPBSET_DROP, c, 0, 0, 0, 0),
				"PR_CAPBSET_DROP");
	if (remote_write(r->tid, scratch, ce->groups,
			 ce->n_groups * sizeof(uint32_t)))
		return -1;
	CALL_OK(rcall(r, __NR_setgroups, ce->n_groups, scratch, 0, 0, 0, 0),
		"setgroups");
	/* keep-caps for the uid change, and the other securebits (unlocked:
	 * the locks go on at the end) */
	CALL_OK(rcall(r, __NR_prctl, PR_SET_SECUREBITS,
		      (ce->securebits & ~SECBITS_LOCKS) | SECBIT_KEEP_CAPS,
		      0, 0, 0, 0), "PR_SET_SECUREBITS");
	CALL_OK(rcall(r, __NR_setresgid, ce->gid[0], ce->gid[1], ce->gid[2], 0, 0, 0),
		"setresgid");
	CALL_OK(rcall(r, __NR_setfsgid, ce->gid[3], 0, 0, 0, 0, 0), "setfsgid");
	CALL_OK(rcall(r, __NR_setresuid, ce->uid[0], ce->uid[1], ce->uid[2], 0, 0, 0),
		"setresuid");
	CALL_OK(rcall(r, __NR_setfsuid, ce->uid[3], 0, 0, 0, 0, 0), "setfsuid");
	data[0].effective = ce->cap_eff;
	data[0].permitted = ce->cap_prm;
	data[0].inheritable = ce->cap_inh;
	data[1].effective = ce->cap_eff >> 32;
	data[1].permitted = ce->cap_prm >> 32;
	data[1].inheritable = ce->cap_inh >> 32;
	if (remote_write(r->tid, scratch, &hdr, sizeof(hdr)) ||
	    remote_write(r->tid, scratch + 64, data, sizeof(data)))
		return -1;
	CALL_OK(rcall(r, __NR_capset, scratch, scratch + 64, 0, 0, 0, 0), "capset");
	CALL_OK(rcall(r, __NR_prctl, PR_SET_KEEPCAPS,
		      !!(ce->securebits & SECBIT_KEEP_CAPS), 0, 0, 0, 0), "KEEPCAPS");
	if ((ce->securebits & SECBITS_LOCKS) &&
	    rcall(r, __NR_prctl, PR_SET_SECUREBITS, ce->securebits, 0, 0, 0, 0))
		pr_warn("pid %d: securebits %#x: their locks need CAP_SETPCAP, "
			"which the restored process does not have", r->tid,
			ce->securebits);
	for (int c = 0; c <= CAP_LAST_CAP; c++)
		if (ce->cap_amb & (1ULL << c))
			CALL_OK(rcall(r, __NR_prctl, PR_CAP_AMBIENT,
				      PR_CAP_AMBIENT_RAISE, c, 0, 0, 0),
				"PR_CAP_AMBIENT_RAISE");
	return 0;
}
