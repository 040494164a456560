/* SPDX-License-Identifier: GPL-2.0 */
/* Logging: one line per event, to stderr, prefixed "criu-lite:". */
#ifndef CRIU_LITE_LOG_H
#define CRIU_LITE_LOG_H

#include <errno.h>
#include <stdbool.h>
#include <string.h>

enum log_level { LOG_ERROR = 0, LOG_WARN, LOG_INFO, LOG_DEBUG };

void log_set_level(int level);
int log_get_level(void);
void log_msg(int level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* A terminal's progress line: rewritten in place (\r) until final; a
 * message logged meanwhile replaces it, the next update draws it again. */
void log_status(const char *text, bool final);

#define pr_err(fmt, ...)	log_msg(LOG_ERROR, "Error: " fmt, ##__VA_ARGS__)
#define pr_warn(fmt, ...)	log_msg(LOG_WARN, "Warn: " fmt, ##__VA_ARGS__)
#define pr_info(fmt, ...)	log_msg(LOG_INFO, fmt, ##__VA_ARGS__)
#define pr_debug(fmt, ...)	log_msg(LOG_DEBUG, fmt, ##__VA_ARGS__)
/* Like pr_err, with strerror(errno) appended; errno is preserved. */
#define pr_perror(fmt, ...)						\
	do {								\
		int __e = errno;					\
		log_msg(LOG_ERROR, "Error: " fmt ": %s", ##__VA_ARGS__,	\
			strerror(__e));					\
		errno = __e;						\
	} while (0)

#endif
