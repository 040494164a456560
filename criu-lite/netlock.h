/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The network lock of established TCP connections between dump and
 * restore (--tcp-established): once the dumped tree is killed its
 * connections have no socket, and a segment from a peer would draw a
 * reset. An nftables table of criu-lite's drops each connection's
 * incoming segments from just before the kill until restore removes it
 * (CRIU's --network-lock nftables). Segments restore itself sends to a
 * socket (the FINs of half-closed connections) carry NETLOCK_TTL and pass.
 */
#ifndef CRIU_LITE_NETLOCK_H
#define CRIU_LITE_NETLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#define NETLOCK_TTL	251	/* TTL / hop limit of restore's own segments */
#define NETLOCK_NAME_MAX	48

struct netlock_conn {
	struct sockaddr_storage local, peer;
};

/* A table name no other dump uses (criu_lite_PID_NS). */
void netlock_name(char *buf, size_t len);
/* NULL if nft can be run, else why not (a sentence naming the package). */
const char *netlock_unavailable(void);
/* Creates table name dropping the incoming segments of the n connections.
 * 0, or -1 with nft's message logged. */
int netlock_install(const char *name, const struct netlock_conn *c, size_t n);
/* Removes table name; a table already gone is not an error. 0 or -1. */
int netlock_remove(const char *name);

#endif
