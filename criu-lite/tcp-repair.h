/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Established TCP connections held in repair mode by a dump
 * (--tcp-established, fd-inet.c). A socket in repair mode sends nothing
 * and closes silently (no FIN, no RST): the dump keeps each one in repair
 * until the tree's fate is settled. A guard process (started with the
 * first one) turns repair off again if criu-lite dies before that.
 */
#ifndef CRIU_LITE_TCP_REPAIR_H
#define CRIU_LITE_TCP_REPAIR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct tcp_repair_held {
	int fd;			/* our copy of the socket */
	bool reuse;		/* SO_REUSEADDR was on: leaving repair clears it */
};

struct tcp_repair_hold {
	struct tcp_repair_held *held;
	size_t n;
	int sk;			/* to the guard, -1: none started */
	pid_t guard;
};

void tcp_repair_hold_init(struct tcp_repair_hold *h);
/* Hands fd (not yet in repair) to the hold and its guard. 0 or -1. */
int tcp_repair_hold_add(struct tcp_repair_hold *h, int fd, bool reuse);
/* The tree's fate is settled: gone (killed after a dump: its sockets
 * close in repair, silently) or running again (repair is turned off).
 * The guard leaves. */
void tcp_repair_release(struct tcp_repair_hold *h, bool tree_gone);

#endif
