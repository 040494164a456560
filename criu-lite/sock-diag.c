// SPDX-License-Identifier: GPL-2.0
/* A sock_diag dump over netlink (libnl-3), shared by unix and IP sockets. */
#include <linux/sock_diag.h>
#include <netlink/msg.h>
#include <netlink/socket.h>

#include "log.h"
#include "sock-diag.h"

int sock_diag_dump(const void *req, size_t len, nl_recvmsg_msg_cb_t cb,
		   void *arg, const int *cb_err, const char *what)
{
	struct nl_sock *sk = nl_socket_alloc();
	int err = -NLE_NOMEM;

	if (!sk)
		goto fail;
	nl_socket_disable_auto_ack(sk);
	nl_socket_enable_msg_peek(sk);
	err = nl_connect(sk, NETLINK_SOCK_DIAG);
	if (err < 0)
		goto fail;
	nl_socket_modify_cb(sk, NL_CB_VALID, NL_CB_CUSTOM, cb, arg);
	err = nl_send_simple(sk, SOCK_DIAG_BY_FAMILY, NLM_F_DUMP, (void *)req,
			     len);
	if (err < 0)
		goto fail;
	err = nl_recvmsgs_default(sk);
	if (err < 0 || *cb_err)
		goto fail;
	nl_socket_free(sk);
	return 0;
fail:
	pr_err("sock_diag dump of %s sockets: %s", what,
	       *cb_err ? "malformed reply" : nl_geterror(err));
	if (sk)
		nl_socket_free(sk);
	return -1;
}
