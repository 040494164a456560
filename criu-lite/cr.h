/* SPDX-License-Identifier: GPL-2.0 */
/* What the orchestration (dump.c, restore.c) hands to the subsystems. */
#ifndef CRIU_LITE_CR_H
#define CRIU_LITE_CR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "image.h"
#include "net.h"
#include "pagemap.h"
#include "proc.h"

struct progress;

#define CRIU_LITE_VERSION	"0.1"
#define TRACK_TIMEOUT_DEFAULT	3600	/* s: a pre-dump tracker's life */

#define LAZY_TIMEOUT_DEFAULT	60	/* s: --lazy-timeout */
/* s: dump's (and migrate's source) --idle-timeout: a page server or a
 * migration destination that takes nothing and says nothing this long is
 * given up (the tree frozen meanwhile: shorter than a server's 120) */
#define PEER_TIMEOUT_DEFAULT	30

struct dump_opts {
	pid_t pid;
	const char *dir;
	bool leave_running;
	const char *prev_dir;	/* --prev-images-dir, relative to dir */
	bool track_mem;		/* go on from the parent's tracking */
	bool pre_dump;
	unsigned track_timeout_s;	/* pre-dump: its tracker's life */
	const char *qmp;	/* --qmp SOCK: stop the VM before freezing */
	unsigned precopy_rounds;	/* copy memory while running first */
	uint64_t precopy_until;	/* stop early below this many dirty pages */
	unsigned precopy_ms;	/* pause between rounds */
	bool no_sync;		/* images may stay in the page cache */
	bool page_server;	/* pages go to a page server: */
	const char *ps_addr;	/* --address */
	unsigned ps_port;	/* --port */
	unsigned idle_s;	/* --idle-timeout: of the page server */
	struct tls_opts tls;	/* --tls...: of the page server connection,
				 * or of the lazy pages served */
	bool migrate;		/* criu-lite migrate: everything goes to a
				 * migrate --incoming at ps_addr:ps_port,
				 * which restores the tree */
	unsigned downtime_ms;	/* pre-copy: stop once what is left fits */
	uint64_t max_bw;	/* bytes/s sent at most (0: no limit) */
	bool display_stats;	/* print the stats table at the end */
	int progress_fd;	/* --progress-fd, or -1 */
	const char *log_file;	/* -o: relative to dir; opened by the CLI */
	bool lazy_pages;	/* --lazy-pages: large anonymous memory stays
				 * in the frozen tree, served at
				 * lazy_addr:lazy_port (migrate: its own) */
	const char *lazy_addr;
	unsigned lazy_port;
	unsigned lazy_timeout_s;	/* no request that long: give up */
	unsigned compress;	/* PAGES_CODEC_* of the pages image */
	bool tcp_established;	/* dump established TCP connections */
	bool network_lock;	/* their peers' segments dropped (nftables)
				 * from the kill until restore */
	bool tcp_close;		/* connections dumped as closed sockets */
};

struct restore_opts {
	const char *dir;
	bool detach;		/* -d */
	bool pidns;
	bool verify;		/* read restored memory back and check it */
	bool no_verify;		/* do not check image pages on the way in */
	bool no_cont;		/* --no-cont: leave a QMP-stopped VM stopped */
	bool lazy;
	const char *page_server;	/* HOST:PORT: pages come from there */
	unsigned lazy_timeout_s;	/* a lost page server: reconnect this long */
	struct tls_opts tls;		/* --tls...: of that connection */
	unsigned zombie_wait_ms;
	bool display_stats;	/* print the stats table once the tree runs */
	int progress_fd;	/* --progress-fd, or -1 */
	const char *log_file;	/* -o: relative to dir; opened by the CLI */
	bool tcp_established;	/* restore established TCP connections */
	bool tcp_close;		/* ... as closed sockets (--tcp-close) */
	/* migrate --incoming: the root's memory held here already
	 * (prefill.h), or NULL */
	struct prefill *prefill;
};

struct dump_stats {
	uint64_t freeze_ns, total_ns, frozen_ns;
	uint64_t pages_scanned, pages_stored, pages_zero;
	uint64_t bytes_written;
	/* of the pages, pre-copy rounds included; sync_ns also holds the
	 * fsync of the other images at the commit (stats-dump) */
	uint64_t read_ns, write_ns, sync_ns;
	/* wall time of the frozen page phase (read, write and fsync
	 * overlapped, as the dump waits for them), and the reads, writes and
	 * page fsync done within it: the dump's timing line. Counted over the
	 * same intervals, so each of the three lies within pages_ns (the
	 * writer's, within it but for a write begun before). */
	uint64_t pages_ns;
	uint64_t phase_read_ns, phase_write_ns, phase_sync_ns;
	uint64_t compress_ns;		/* dump --compress, in the writer */
	uint64_t bytes_compressed;	/* what was written, before that */
	uint64_t pages_reused;		/* pre-copied, unchanged since */
	uint64_t pages_reused_stored;	/* of them, with data (not zero) */
	uint64_t pages_untrusted;	/* read frozen whole: their process
					 * had pinned memory or O_DIRECT */
	uint64_t pages_parent;		/* unchanged since the parent layer */
	uint64_t pages_lazy;		/* left in the frozen tree (lazy) */
	unsigned precopy_rounds;
	uint64_t precopy_pages;		/* copied while running */
	uint64_t precopy_ns;
	uint64_t last_round_pages;	/* dirty in the last running round */
#define MAX_ROUNDS_RECORDED 64
	uint64_t round_pages[MAX_ROUNDS_RECORDED], round_ns[MAX_ROUNDS_RECORDED];
	uint64_t round_bytes[MAX_ROUNDS_RECORDED];
	uint64_t expected_downtime_ms;	/* at the last round's bandwidth */
	/* migrate: since the start of the command */
	uint64_t stop_at_ns;		/* VM stopped / tree frozen */
	uint64_t running_at_ns;		/* the destination runs it */
	uint64_t frozen_at_ns;		/* QMP-stopped and frozen */
	uint64_t dumped_at_ns;		/* every image made, sending begins */
	uint64_t sent_at_ns;		/* the destination has them all */
	uint64_t handover_ns;		/* files, keep and restore there */
	uint64_t postcopy_requests;	/* lazy pages asked by the destination */
	uint64_t postcopy_bytes;	/* and sent */
	uint64_t postcopy_fault_requests; /* of them, for page faults */
	uint64_t postcopy_fault_bytes;
};

/* Fault injection for tests: CRIU_LITE_FAULT=<point> makes the run fail
 * there, to prove that a failed dump leaves the target unharmed;
 * CRIU_LITE_PAUSE=<point> waits there (30 s at most) for a SIGINT/SIGTERM/
 * SIGHUP, which then stops the run, or a SIGCONT, which lets it go on. */
/* Only the pause, where failing makes no sense (after the commit). */
void pause_at(const char *point);
bool fault_at(const char *point);
/* Whether CRIU_LITE_FAULT names point, said and done nowhere: for the
 * side of a fork that only has to play along (the other calls fault_at). */
bool fault_set(const char *point);

uint64_t cpu_xfeatures(void);
/* One message of len bytes on a unix socket with at most one fd (-1:
 * none): 0 or -1. Received: 1 (*fd the fd that came, or -1; more are
 * closed; fd may be NULL), 0 at EOF (errno ECONNRESET), -1 (EPROTO:
 * short or truncated). */
int unix_msg_send(int sk, const void *buf, size_t len, int fd);
int unix_msg_recv(int sk, void *buf, size_t len, int *fd);
int write_all(int fd, const void *buf, size_t len);
/* All of len, or -1 (errno ECONNRESET at the end of the stream). */
int read_full(int fd, void *buf, size_t len);
/* All of the iovecs (which it advances: they are used up). */
struct iovec;
int writev_all(int fd, struct iovec *iov, int n);
/* All of len at off; a short write is retried, so a full disk gives -1
 * with errno ENOSPC (not a short count with a stale errno). */
int pwrite_all(int fd, const void *buf, size_t len, uint64_t off);
/* Everything a dump can't handle, collected so that one message lists
 * all of it (pid, fd or address, type) before anything is touched. */
struct refusals {
	char text[8192];
	size_t len;
	unsigned count;
};
void refuse(struct refusals *rf, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
