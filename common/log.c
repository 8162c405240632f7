/*
 * stderr logging with levels and per-call-site rate limits.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "log.h"

static const char *log_procname = "evflow";
static int log_level = LOG_LVL_INFO;

void
log_init(const char *procname, int level)
{
	log_procname = procname;
	log_level = level;
}

void
log_set_level(int level)
{
	log_level = level;
}

int
log_get_level(void)
{
	return log_level;
}

static void
vlog(const char *tag, int with_errno, const char *fmt, va_list ap)
{
	char msg[1024];
	int saved = errno;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (with_errno)
		fprintf(stderr, "%s: %s%s: %s\n", log_procname, tag, msg,
		    strerror(saved));
	else
		fprintf(stderr, "%s: %s%s\n", log_procname, tag, msg);
	errno = saved;
}

void
log_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog("warning: ", 1, fmt, ap);
	va_end(ap);
}

void
log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog("warning: ", 0, fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	if (log_level < LOG_LVL_INFO)
		return;
	va_start(ap, fmt);
	vlog("", 0, fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list ap;

	if (log_level < LOG_LVL_DEBUG)
		return;
	va_start(ap, fmt);
	vlog("debug: ", 0, fmt, ap);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog("fatal: ", 1, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog("fatal: ", 0, fmt, ap);
	va_end(ap);
	exit(1);
}

int
log_rl_allow(struct log_rl *rl)
{
	int64_t now = (int64_t)(clock_mono_usec() / 1000000);

	if (now - rl->period_start >= LOG_RL_PERIOD) {
		if (rl->suppressed > 0)
			fprintf(stderr, "%s: warning: %llu similar messages "
			    "suppressed\n", log_procname,
			    (unsigned long long)rl->suppressed);
		rl->period_start = now;
		rl->lines = 0;
		rl->suppressed = 0;
	}
	if (rl->lines < LOG_RL_BURST) {
		rl->lines++;
		return 1;
	}
	rl->suppressed++;
	return 0;
}
