/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The standalone lazy-pages daemon, CRIU's model:
 *
 *   criu-lite lazy-pages --page-server --address A --port N -D DIR
 *   criu-lite restore -D DIR --lazy-pages
 *
 * The daemon listens on DIR/lazy-pages.sock (a unix SOCK_SEQPACKET
 * socket). A restore --lazy-pages that finds it there connects (one
 * session per restore) and, per process, sends the image pid, its own
 * view of the pid and the process' userfaultfd (SCM_RIGHTS), registered
 * already. The daemon reads that process' mm and pagemap images from DIR
 * and forks a server for it (lazy.h: faults first, the rest prefetched),
 * whose pages come from the page server or dump --lazy-pages at A:N (the
 * pages DIR holds are read locally). It answers with the server's pid and
 * restore's end of the server's control socket (lazy-guard.h), on which
 * the server says 'k' once it is ready; from there on restore treats it
 * as one of its own daemons. The daemon exits when the session ends and
 * every server is done: 0 if every process got every page.
 */
#ifndef CRIU_LITE_LAZY_DAEMON_H
#define CRIU_LITE_LAZY_DAEMON_H

#include <sys/types.h>

#define LAZY_DAEMON_SOCK	"lazy-pages.sock"

/* Restore: the session with the daemon of dir, or -1 (errno ENOENT, not
 * logged: no daemon there; else logged). */
int lazy_daemon_connect(const char *dir);
/* Restore: process vpid (pid here) and its userfaultfd go to the daemon;
 * *server, *ctl: the pid and control socket of its server, ready. */
/* Restore's last word on its session: every process is handed over and
 * runs (a session closed without it is a failed restore). */
void lazy_daemon_done(int session);
int lazy_daemon_hand(int session, pid_t vpid, pid_t pid, int uffd,
		     unsigned timeout_s, pid_t *server, int *ctl);

int cmd_lazy_pages(int argc, char **argv);

#endif
