/* SPDX-License-Identifier: GPL-2.0 */
/* criu-lite page-server: receives a dump's pages (and any other image
 * file) or serves a lazy restore; one client, then it returns. */
#ifndef CRIU_LITE_PAGE_SERVER_H
#define CRIU_LITE_PAGE_SERVER_H

#include <stdint.h>

struct conn;
struct tls_opts;

/* addr NULL: every address; port 0: one the kernel picks (logged).
 * Connections that say nothing for idle_s seconds are dropped. 0 once
 * the client was served in full. */
int serve_pages(const char *dir, const char *addr, unsigned port,
		const struct tls_opts *tls, unsigned idle_s);
/* The next criu-lite client on listening socket l whose mode (XP_*) is in
 * the modes bit mask: its connection (TLS with tls->on), its mode in
 * *mode. Others are refused or ignored, and dropped if they say nothing
 * for min(idle_s, 10) s; of too many waiting, the oldest is dropped. who
 * names the server in messages. */
struct conn *page_server_accept(int l, const struct tls_opts *tls,
				unsigned idle_s, unsigned modes, int *mode,
				const char *who);
/* The PUSH part on connection c: what arrives is kept in dir once the
 * client is done (0), or dropped (-1, the client told why); a client
 * silent for idle_s seconds is dropped. placed (migrate --incoming):
 * pages may land anywhere in pages-1.img (page_xfer_place), not only
 * after those received. held (migrate --incoming, or NULL): each page
 * received is held in memory too (prefill.h). */
struct prefill;
int page_server_receive(struct conn *c, const char *dir, unsigned idle_s,
			bool placed, struct prefill *held);
/* A reply on c: status 0 ok, else text says why. */
int page_server_reply(struct conn *c, uint32_t status, const char *text);

#endif
