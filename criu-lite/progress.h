/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Progress of the long phases (a dump's pages, a restore's checks and
 * pages, a lazy fill), counted in pages.
 *
 * stderr: nothing during the first second of a run; then one line updated
 * in place (\r) on a terminal, or plain log lines at most once a second
 * otherwise; a phase that printed anything ends with its final figures.
 * Below the default log level (-v0, -v1) nothing is printed.
 *
 * --progress-fd N: machine-readable lines on fd N from the start,
 *     phase=NAME done=PAGES total=PAGES bytes=BYTES elapsed_ms=MS
 * one when a phase begins (done=0), at most ten a second while it runs,
 * and one when it ends, with done = total. total is an estimate while
 * the phase runs where the exact count is not known in advance (a dump's
 * pages: the processes' resident anonymous memory), 0 if there is none
 * (pre-copy rounds after the first); done never exceeds it. bytes: page
 * data stored or sent (dump: not the zero, parent or lazy pages it went
 * through), checked (check-pages) or copied into processes (restore, lazy
 * fill). The stderr line's MiB and MB/s are those bytes, not pages.
 * A reader that goes away turns the fd lines off; the run goes on.
 *
 * Every function accepts a NULL progress and then does nothing, so the
 * page paths can count without knowing whether anyone watches.
 */
#ifndef CRIU_LITE_PROGRESS_H
#define CRIU_LITE_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>

struct progress {
	int fd;			/* --progress-fd, or -1 */
	bool tty;		/* stderr is a terminal */
	bool shown;		/* this phase printed on stderr */
	uint64_t t_run;		/* start of the run: stderr waits a second */
	uint64_t t_phase, t_fd, t_err;	/* phase start, last lines */
	const char *phase;	/* NULL between phases */
	uint64_t done, total, bytes;
};

/* fd: --progress-fd or -1. Checks that fd is open (-1 and a message if
 * not). */
int progress_init(struct progress *p, int fd);
void progress_phase(struct progress *p, const char *phase, uint64_t total);
void progress_add(struct progress *p, uint64_t pages, uint64_t bytes);
/* Absolute figures, for counters kept elsewhere (the lazy fill). */
void progress_set(struct progress *p, uint64_t done, uint64_t bytes);
/* Ends the current phase: its last line says done = total = done. */
void progress_end(struct progress *p);

#endif
