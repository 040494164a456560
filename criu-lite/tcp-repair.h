/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Established TCP connections held by a dump (--tcp-established,
 * fd-inet.c): read in repair mode, then locked (a drop-all socket filter:
 * nothing comes in) until the tree's fate is settled. A socket in repair
 * mode sends nothing and closes silently (no FIN, no RST): just before the
 * tree is killed they all go back into repair. A guard process (started
 * with the first one) gives them back if criu-lite dies before that.
 */
#ifndef CRIU_LITE_TCP_REPAIR_H
#define CRIU_LITE_TCP_REPAIR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "netlock.h"

struct tcp_repair_held {
	int fd;			/* our copy of the socket */
	bool reuse;		/* SO_REUSEADDR was on: leaving repair clears it */
	bool locked;		/* our drop-all filter replaced its own */
	bool netlock;		/* in the network lock (not a client that
				 * connects again at restore) */
	void *filter;		/* its own classic BPF filter, if any */
	size_t filter_len;
};

struct tcp_repair_hold {
	struct tcp_repair_held *held;
	size_t n;
	int sk;			/* to the guard, -1: none started */
	pid_t guard;
	bool close;		/* --tcp-close: connections are dumped as
				 * closed sockets, nothing held */
	char lock[NETLOCK_NAME_MAX];	/* network lock's table; "": none */
	bool locked;		/* its table is in place */
};

/* lock: the connections get a network lock (netlock.h) from
 * tcp_repair_lock_network() until restore. */
void tcp_repair_hold_init(struct tcp_repair_hold *h, bool lock);
/* Every connection held is read: the network lock goes in place (the
 * guard removes it if criu-lite dies before the tree is killed). 0 or
 * -1 (the dump fails, the tree runs on). */
int tcp_repair_lock_network(struct tcp_repair_hold *h);
/* Hands fd (not yet in repair nor locked) to the hold and its guard, with
 * what giving it back takes: SO_REUSEADDR, and whether it gets a drop-all
 * filter (lock) in place of its own (filter, filter_len bytes); netlock:
 * the network lock keeps its peer's segments out. 0 or -1. */
int tcp_repair_hold_add(struct tcp_repair_hold *h, int fd, bool reuse,
			const void *filter, size_t filter_len, bool lock,
			bool netlock);
/* The tree is about to be killed: every connection goes into repair mode,
 * so that closing it sends nothing (no FIN, no RST). */
void tcp_repair_before_kill(struct tcp_repair_hold *h);
/* The tree's fate is settled: gone (killed after a dump: its sockets
 * close in repair, silently; the network lock stays for restore) or
 * running again (repair is turned off, the lock removed). The guard
 * leaves. */
void tcp_repair_release(struct tcp_repair_hold *h, bool tree_gone);

#endif
