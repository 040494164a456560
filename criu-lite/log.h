/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Logging: one line per event, prefixed "criu-lite:", on stderr. Levels as
 * CRIU's -v0..-v4: errors, warnings, notes (the default), debug (each
 * stage, VMA and fd), trace (each injected syscall). With a log file
 * (-o), it gets every message of the level, each line stamped with the
 * seconds since it opened, and stderr only the errors and warnings.
 */
#ifndef CRIU_LITE_LOG_H
#define CRIU_LITE_LOG_H

#include <errno.h>
#include <stdbool.h>
#include <string.h>

enum log_level { LOG_ERROR = 0, LOG_WARN, LOG_INFO, LOG_DEBUG, LOG_TRACE };

void log_set_level(int level);
int log_get_level(void);
void log_msg(int level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* A terminal's progress line: rewritten in place (\r) until final; a
 * message logged meanwhile replaces it, the next update draws it again. */
void log_status(const char *text, bool final);
/* Opens the log file name, relative to dir (the images directory, made
 * if make_dir and missing) unless absolute; "-" means stderr (no file).
 * -1 with a message if it can't be opened. */
int log_open_file(const char *dir, const char *name, bool make_dir);
/* In a forked child whose fds are about to be replaced: no more writes
 * to the log file (its fd number may soon be another file). */
void log_forget_file(void);
void log_close_file(void);
/* The log file's fd, or -1: a restore keeps its own fds clear of it. */
int log_file_fd(void);

#define pr_err(fmt, ...)	log_msg(LOG_ERROR, "Error: " fmt, ##__VA_ARGS__)
#define pr_warn(fmt, ...)	log_msg(LOG_WARN, "Warn: " fmt, ##__VA_ARGS__)
#define pr_info(fmt, ...)	log_msg(LOG_INFO, fmt, ##__VA_ARGS__)
#define pr_debug(fmt, ...)	log_msg(LOG_DEBUG, fmt, ##__VA_ARGS__)
#define pr_trace(fmt, ...)	log_msg(LOG_TRACE, fmt, ##__VA_ARGS__)
/* Like pr_err, with strerror(errno) appended; errno is preserved. */
#define pr_perror(fmt, ...)						\
	do {								\
		int __e = errno;					\
		log_msg(LOG_ERROR, "Error: " fmt ": %s", ##__VA_ARGS__,	\
			strerror(__e));					\
		errno = __e;						\
	} while (0)

/* An injected syscall's result (a -errno in -4095..-1 is a failure):
 * logged as pr_perror with that errno, and the caller returns -1. */
#define RSYS_OK(expr, what, ...)					\
	do {								\
		long __r = (expr);					\
		if (__r < 0 && __r > -4096) {				\
			errno = -__r;					\
			pr_perror(what, ##__VA_ARGS__);			\
			return -1;					\
		}							\
	} while (0)

#endif
