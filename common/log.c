/*
 * stderr logging with levels, a time or journal prefix, and per-call-site
 * rate limits.  See log.h.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"

static const char *log_procname = "evflow";
static int log_level = LOG_LVL_INFO;
static enum log_style log_style = LOG_STYLE_TIME;

void
log_init(const char *procname, int level)
{
	log_procname = procname;
	log_level = level;
	log_style = log_detect(STDERR_FILENO);
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

void
log_set_style(enum log_style style)
{
	log_style = style;
}

enum log_style
log_get_style(void)
{
	return log_style;
}

enum log_style
log_detect(int fd)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	char end;

	if (js == NULL || sscanf(js, "%llu:%llu%c", &dev, &ino, &end) != 2 ||
	    fstat(fd, &st) == -1)
		return LOG_STYLE_TIME;
	return (unsigned long long)st.st_dev == dev &&
	    (unsigned long long)st.st_ino == ino ? LOG_STYLE_JOURNAL :
	    LOG_STYLE_TIME;
}

/* Appends `s` to out[*off..len-1), escaping control characters, so that
 * an event stays one line whatever its text. */
static void
put_escaped(char *out, size_t len, size_t *off, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char c;

	for (; *s != '\0' && *off + 1 < len; s++) {
		c = (unsigned char)*s;
		if (c >= 0x20 && c != 0x7f) {
			out[(*off)++] = (char)c;
			continue;
		}
		if (*off + 5 > len)
			break;
		out[(*off)++] = '\\';
		if (c == '\n' || c == '\r' || c == '\t') {
			out[(*off)++] = c == '\n' ? 'n' : c == '\r' ? 'r' : 't';
			continue;
		}
		out[(*off)++] = 'x';
		out[(*off)++] = hex[c >> 4];
		out[(*off)++] = hex[c & 15];
	}
}

size_t
log_format(char *out, size_t len, enum log_style style, int pri,
    const struct timespec *when, const char *prog, const char *tag,
    const char *msg)
{
	char zone[8];
	struct tm tm;
	size_t off = 0;
	int n;

	if (len < 2) {
		if (len == 1)
			out[0] = '\0';
		return 0;
	}
	if (style == LOG_STYLE_JOURNAL)
		n = snprintf(out, len, "<%d>", pri);
	else {
		localtime_r(&when->tv_sec, &tm);
		/* %z is +hhmm; ISO-8601's extended form wants +hh:mm */
		if (strftime(zone, sizeof(zone), "%z", &tm) != 5)
			snprintf(zone, sizeof(zone), "+0000");
		n = snprintf(out, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03ld"
		    "%.3s:%.2s ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
		    tm.tm_hour, tm.tm_min, tm.tm_sec, when->tv_nsec / 1000000,
		    zone, zone + 3);
	}
	off = n < 0 ? 0 : (size_t)n < len - 1 ? (size_t)n : len - 2;
	put_escaped(out, len, &off, prog);
	put_escaped(out, len, &off, ": ");
	put_escaped(out, len, &off, tag);
	put_escaped(out, len, &off, msg);
	if (off > len - 2)
		off = len - 2;
	out[off++] = '\n';
	out[off] = '\0';
	return off;
}

/* Writes one line at syslog priority `pri`: one write, so lines of two
 * threads never mix. */
static void
emit(int pri, const char *tag, const char *msg)
{
	char line[LOG_LINE_MAX];
	struct timespec now;
	size_t n, off = 0;
	ssize_t w;

	clock_gettime(CLOCK_REALTIME, &now);
	n = log_format(line, sizeof(line), log_style, pri, &now, log_procname,
	    tag, msg);
	while (off < n) {
		if ((w = write(STDERR_FILENO, line + off, n - off)) < 0 &&
		    errno == EINTR)
			continue;
		if (w <= 0)
			break;
		off += (size_t)w;
	}
}

static void
vlog(int pri, const char *tag, int with_errno, const char *fmt, va_list ap)
{
	char msg[LOG_LINE_MAX];
	size_t n;
	int saved = errno;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (with_errno && (n = strlen(msg)) < sizeof(msg))
		snprintf(msg + n, sizeof(msg) - n, ": %s", strerror(saved));
	emit(pri, tag, msg);
	errno = saved;
}

void
log_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_PRI_WARN, "warning: ", 1, fmt, ap);
	va_end(ap);
}

void
log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_PRI_WARN, "warning: ", 0, fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	if (log_level < LOG_LVL_INFO)
		return;
	va_start(ap, fmt);
	vlog(LOG_PRI_INFO, "", 0, fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list ap;

	if (log_level < LOG_LVL_DEBUG)
		return;
	va_start(ap, fmt);
	vlog(LOG_PRI_DEBUG, "debug: ", 0, fmt, ap);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_PRI_FATAL, "fatal: ", 1, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_PRI_FATAL, "fatal: ", 0, fmt, ap);
	va_end(ap);
	exit(1);
}

int
log_rl_allow(struct log_rl *rl)
{
	int64_t now = (int64_t)(clock_mono_usec() / 1000000);
	char msg[64];

	if (now - rl->period_start >= LOG_RL_PERIOD) {
		if (rl->suppressed > 0) {
			snprintf(msg, sizeof(msg), "%llu similar messages "
			    "suppressed", (unsigned long long)rl->suppressed);
			emit(LOG_PRI_WARN, "warning: ", msg);
		}
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
