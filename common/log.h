/*
 * Logging to stderr for daemons run by a supervisor.  One vocabulary:
 * log_warn() appends strerror(errno), log_warnx() does not; fatal() and
 * fatalx() log and exit(1) and belong in daemon code only.
 *
 * One line per event, written with one write(2) so that threads never
 * interleave: control characters in a message (a newline from the
 * network) are escaped.  The prefix depends on where stderr goes
 * (chosen by log_init(), see log_detect()):
 *
 *   a terminal, a file, a pipe:   2026-12-02T16:03:07.123+01:00 evflow-store: warning: ...
 *   systemd's journal:            <4>evflow-store: warning: ...
 *
 * The journal stamps lines itself and reads the syslog priority from
 * "<N>" (2 fatal, 4 warning, 6 info, 7 debug); it is recognised as
 * systemd documents it: $JOURNAL_STREAM is "DEV:INO" of stderr.
 *
 * LOG_RATELIMITED(level_fn, ...) logs at most LOG_RL_BURST lines per
 * LOG_RL_PERIOD seconds per call site and then one summary of how many
 * were suppressed: for input from the network, which an attacker controls.
 */
#ifndef EVFLOW_LOG_H
#define EVFLOW_LOG_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

enum log_level { LOG_LVL_WARN = 0, LOG_LVL_INFO = 1, LOG_LVL_DEBUG = 2 };

/* How a line starts: a local ISO-8601 time with milliseconds, or a
 * syslog priority for the journal. */
enum log_style { LOG_STYLE_TIME = 0, LOG_STYLE_JOURNAL = 1 };

/* syslog priorities of the journal style */
#define LOG_PRI_FATAL	2	/* crit */
#define LOG_PRI_WARN	4
#define LOG_PRI_INFO	6
#define LOG_PRI_DEBUG	7

#define LOG_LINE_MAX	2048	/* bytes of one line, the newline included */
#define LOG_RL_PERIOD	10	/* seconds */
#define LOG_RL_BURST	5	/* lines per period per call site */

struct log_rl {
	int64_t		period_start;	/* monotonic seconds */
	unsigned	lines;
	uint64_t	suppressed;
};

/* Sets the program name (borrowed), the level, and the style from
 * log_detect() on stderr. */
void	log_init(const char *, int);
void	log_set_level(int);
int	log_get_level(void);
/* The style for lines written to `fd`: journal if $JOURNAL_STREAM names
 * fd's device and inode, else time. */
enum log_style log_detect(int);
void	log_set_style(enum log_style);
enum log_style log_get_style(void);
/*
 * Formats one line into out (at most `len` bytes, always ending in a
 * newline when len > 1): the style's prefix (`when` is the wall-clock
 * time of a time-style line), the program name, `tag` ("warning: "),
 * the message with control characters escaped.  Returns its length.
 */
size_t	log_format(char *, size_t, enum log_style, int, const struct timespec *,
	    const char *, const char *, const char *);
void	log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void	fatal(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
void	fatalx(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

/* 1 if a line may be logged now under `rl`; logs the suppressed count. */
int	log_rl_allow(struct log_rl *);

#define LOG_RATELIMITED(fn, ...) do {				\
	static struct log_rl log_rl_site_;			\
	if (log_rl_allow(&log_rl_site_))			\
		fn(__VA_ARGS__);				\
} while (0)

#endif
