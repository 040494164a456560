// SPDX-License-Identifier: GPL-2.0
/* libcriu-lite (include/criu-lite.h): the engine's calls behind a small,
 * stable set of structs. */
#include <string.h>

#include "check.h"
#include "cr.h"
#include "criu-lite.h"
#include "dump.h"
#include "log.h"
#include "restore.h"

const char *criu_lite_version(void)
{
	return CRIU_LITE_VERSION;
}

void criu_lite_set_log_level(int level)
{
	log_set_level(level);
}

int criu_lite_check(void)
{
	struct kernel_features kf;
	char missing[512];

	if (kernel_features_probe(&kf))
		return -1;
	if (kernel_features_missing(&kf, missing, sizeof(missing))) {
		pr_err("this kernel lacks: %s", missing);
		return -1;
	}
	return 0;
}

int criu_lite_dump(const struct criu_lite_dump_req *req,
		   struct criu_lite_result *res)
{
	struct dump_opts o = {
		.pid = req->pid,
		.dir = req->images_dir,
		.leave_running = req->leave_running,
		.qmp = req->qmp_socket,
		.precopy_rounds = req->precopy_rounds,
		.precopy_until = 256,
		.no_sync = req->no_sync,
		.progress_fd = -1,
	};
	struct dump_stats st;
	int ret;

	if (!req->images_dir || req->pid <= 0) {
		pr_err("criu_lite_dump: a pid and an images directory are needed");
		return -1;
	}
	ret = dump_tree(&o, &st);
	if (res) {
		memset(res, 0, sizeof(*res));
		res->frozen_us = st.frozen_ns / 1000;
		res->total_us = st.total_ns / 1000;
		res->pages = st.pages_stored;
	}
	return ret ? -1 : 0;
}

int criu_lite_restore(const struct criu_lite_restore_req *req,
		      struct criu_lite_result *res)
{
	struct restore_opts o = {
		.dir = req->images_dir,
		.detach = req->detach,
		.pidns = req->pidns,
		.lazy = req->lazy_pages,
		.no_cont = req->no_cont,
		.zombie_wait_ms = 5000,
		.progress_fd = -1,
	};
	struct restore_stats st;
	int ret;

	o.no_verify = req->no_verify;
	if (!req->images_dir) {
		pr_err("criu_lite_restore: an images directory is needed");
		return -1;
	}
	ret = restore_tree(&o, &st);
	if (res) {
		memset(res, 0, sizeof(*res));
		res->root_pid = st.root_pid;
		res->total_us = st.total_ns / 1000;
		res->pages = st.pages_written;
		if (ret > 0)
			res->exit_status = ret & 0xff;
	}
	return ret < 0 ? -1 : 0;
}
