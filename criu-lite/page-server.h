/* SPDX-License-Identifier: GPL-2.0 */
/* criu-lite page-server: receives a dump's pages (and any other image
 * file) or serves a lazy restore; one client, then it returns. */
#ifndef CRIU_LITE_PAGE_SERVER_H
#define CRIU_LITE_PAGE_SERVER_H

#include <stdint.h>

/* addr NULL: every address. 0 once the client was served in full. */
int serve_pages(const char *dir, const char *addr, unsigned port);
/* The next criu-lite client on listening socket l whose mode (XP_*) is in
 * the modes bit mask: its connection, its mode in *mode. Others are
 * refused or ignored. who names the server in messages. */
int page_server_accept(int l, unsigned modes, int *mode, const char *who);
/* The PUSH part on connection c: what arrives is kept in dir once the
 * client is done (0), or dropped (-1, the client told why). */
int page_server_receive(int c, const char *dir);
/* A reply on c: status 0 ok, else text says why. */
int page_server_reply(int c, uint32_t status, const char *text);

#endif
