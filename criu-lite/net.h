/* SPDX-License-Identifier: GPL-2.0 */
/* TCP for the page server and its clients: HOST:PORT, IPv4 or IPv6. */
#ifndef CRIU_LITE_NET_H
#define CRIU_LITE_NET_H

#include <stddef.h>

/* "HOST:PORT" or "[V6]:PORT" into host and port; -1 (logged) if bad. */
int net_split(const char *addr, char *host, size_t hlen, unsigned *port);
/* A connected socket (TCP_NODELAY, CLOEXEC); what names the peer in
 * messages. -1 (logged) on failure. */
int net_connect(const char *host, unsigned port, const char *what);
/* A listening socket on addr (NULL: every address) and port. */
int net_listen(const char *addr, unsigned port, const char *what);

#endif
