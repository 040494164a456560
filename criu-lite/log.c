// SPDX-License-Identifier: GPL-2.0
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <unistd.h>

#include "log.h"

static int log_level = LOG_INFO;
/* a progress line is on the terminal, without its newline yet */
static bool status_open;

void log_set_level(int level)
{
	log_level = level;
}

int log_get_level(void)
{
	return log_level;
}

void log_msg(int level, const char *fmt, ...)
{
	char buf[4096];
	va_list ap;
	int n = 0;

	if (level > log_level)
		return;
	if (status_open) {	/* the message takes the progress line's place */
		n = snprintf(buf, sizeof(buf), "\r\033[K");
		status_open = false;
	}
	n += snprintf(buf + n, sizeof(buf) - n, "criu-lite: ");
	va_start(ap, fmt);
	n += vsnprintf(buf + n, sizeof(buf) - n, fmt, ap);
	va_end(ap);
	if (n >= (int)sizeof(buf) - 1)
		n = sizeof(buf) - 2;
	buf[n++] = '\n';
	/* one write: lines from a forked puppet and its parent do not mix */
	if (write(STDERR_FILENO, buf, n) < 0)
		return;
}

void log_status(const char *text, bool final)
{
	char buf[512];
	int n;

	n = snprintf(buf, sizeof(buf), "\rcriu-lite: %s\033[K%s", text,
		     final ? "\n" : "");
	if (n >= (int)sizeof(buf))
		n = sizeof(buf) - 1;
	status_open = !final;
	if (write(STDERR_FILENO, buf, n) < 0)
		return;
}
