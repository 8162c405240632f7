/*
 * Logging to stderr for daemons run by a supervisor.  One vocabulary:
 * log_warn() appends strerror(errno), log_warnx() does not; fatal() and
 * fatalx() log and exit(1) and belong in daemon code only.
 *
 * LOG_RATELIMITED(level_fn, ...) logs at most LOG_RL_BURST lines per
 * LOG_RL_PERIOD seconds per call site and then one summary of how many
 * were suppressed: for input from the network, which an attacker controls.
 */
#ifndef EVFLOW_LOG_H
#define EVFLOW_LOG_H

#include <stdint.h>

enum log_level { LOG_LVL_WARN = 0, LOG_LVL_INFO = 1, LOG_LVL_DEBUG = 2 };

#define LOG_RL_PERIOD	10	/* seconds */
#define LOG_RL_BURST	5	/* lines per period per call site */

struct log_rl {
	int64_t		period_start;	/* monotonic seconds */
	unsigned	lines;
	uint64_t	suppressed;
};

void	log_init(const char *, int);
void	log_set_level(int);
int	log_get_level(void);
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
