/* SPDX-License-Identifier: GPL-2.0 */
/* criu-lite page-server: receives a dump's pages (and any other image
 * file) or serves a lazy restore; one client, then it returns. */
#ifndef CRIU_LITE_PAGE_SERVER_H
#define CRIU_LITE_PAGE_SERVER_H

/* addr NULL: every address. 0 once the client was served in full. */
int serve_pages(const char *dir, const char *addr, unsigned port);

#endif
