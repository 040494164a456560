/* SPDX-License-Identifier: GPL-2.0 */
#ifndef CRIU_LITE_SOCK_DIAG_H
#define CRIU_LITE_SOCK_DIAG_H

#include <stddef.h>
#include <netlink/netlink.h>

/*
 * One NETLINK_SOCK_DIAG dump (SOCK_DIAG_BY_FAMILY, NLM_F_DUMP) of the
 * request req: each reply message goes to cb(msg, arg), which returns
 * NL_OK, or NL_STOP and sets *cb_err on a malformed one. what names the
 * sockets in the error. 0, or -1 with the error logged.
 */
int sock_diag_dump(const void *req, size_t len, nl_recvmsg_msg_cb_t cb,
		   void *arg, const int *cb_err, const char *what);

#endif
