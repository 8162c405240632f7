/*
 * The skeleton every evflow program shares, so that it is written once:
 * the command line, the configuration and its one precedence, checks of
 * the instance name and data directory, the log level, signals, the
 * control socket with `ping` and a common `stats` frame, and the
 * arithmetic of a poll loop's deadlines.  What a program does with its
 * settings, and its loop, stay in its own main.c.
 *
 * Shared flags: -f FILE, -d DATADIR, -N NAME, -o KEY=VALUE (repeatable),
 * -n (check the configuration, print it, exit 0), -v (more logging,
 * repeatable), -h (usage on stdout, exit 0).  A program adds its own
 * flags through a table of struct daemon_flag.
 *
 * Precedence, from low to high, the same for every program:
 *
 *   1. the defaults of the program's directive table
 *   2. the file given with -f
 *   3. each -o key=value, in command-line order
 *   4. flags that name a setting: -d (datadir), -N (name) and a
 *      program's own (-i, -r, -s ...), in command-line order; the last
 *      one wins.  Own flags for a list key replace the list of 1-3.
 *
 * So `-d /tmp/A -o datadir=/tmp/B` runs in /tmp/A, whatever the order.
 *
 * Every program's table has the keys `datadir`, `name` and `log_level`.
 * The name is 1-63 bytes of letters, digits, '.', '_', '-', not starting
 * with '.'; it names the control socket ipc://<datadir>/<name>.ctl,
 * which must fit in a socket path.
 */
#ifndef EVFLOW_DAEMON_H
#define EVFLOW_DAEMON_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "config.h"
#include "counters.h"
#include "ctl.h"
#include "sig.h"	/* sig_quit, sig_hup for the loop */

#define DAEMON_MAX_OVERRIDES	64	/* -o options */
#define DAEMON_MAX_FLAGS	128	/* flags that name a setting */
#define DAEMON_MAX_OWN		16	/* entries of a program's own table */
#define DAEMON_NAME_MAX		63	/* bytes of an instance name */
#define DAEMON_SUN_PATH		107	/* bytes of an ipc:// socket path */

/*
 * A program's own flag.  With `key`, the flag sets that configuration
 * key at level 4 to its argument (or to `value` for a flag without
 * one).  Without `key`, flag_fn gets it at level 4, in order.  A flag
 * with `longname` is long-only (--longname); give it a `ch` above 255.
 */
struct daemon_flag {
	int		 ch;
	const char	*longname;
	int		 has_arg;
	const char	*key;
	const char	*value;
};

/* Called for an own flag without `key`.  Returns 0, or -1 with err. */
typedef int (*daemon_flag_fn)(void *, int, const char *, char *, size_t);
/* Appends a program's fields to the stats frame: `, "key": value` ... */
typedef void (*daemon_stats_fn)(void *, struct buf *);

struct daemon {
	/* Set by the program before daemon_configure(). */
	const char	*prog;		/* "evflow-router": log tag, errors */
	const char	*synopsis;	/* usage lines after "usage: " */
	const char	*flags_help;	/* help lines of the own flags */
	const struct conf_directive *table;
	void		*cfg;		/* the settings the table points in */
	const struct daemon_flag *own;	/* ch == 0 ends it; may be NULL */
	daemon_flag_fn	 flag_fn;
	void		*arg;		/* for flag_fn */

	/* Set by daemon_configure(). */
	int		 check;		/* -n */
	int		 verbose;	/* -v count */
	const char	*file;		/* -f, or NULL */
	const char	*name;		/* borrowed from cfg */
	const char	*datadir;	/* borrowed from cfg */
	long long	 log_level;	/* from cfg */

	/* Set by daemon_ctl_open(). */
	struct ctl	*ctl;
	char		 ctl_endpoint[DAEMON_SUN_PATH + 16];
	const char	*role;		/* "router": the stats frame's role */
	struct counters	 counters;	/* registered with daemon_counters() */
	void		(*stats_sync)(void *);	/* before rendering */
	daemon_stats_fn	 stats_extra;	/* after the counters */
	ctl_handler	 ctl_fn;	/* commands other than ping, stats */
	void		*ctl_arg;
};

/*
 * Parses the command line and builds the configuration in d->cfg in
 * the order above, then checks name and data directory.  -h prints the
 * usage and exits 0; a usage error or a refused setting prints the
 * reason on stderr and exits 1.  A program checks its own rules after
 * this and prints the configuration with daemon_print_config() if
 * d->check is set.
 */
void	daemon_configure(struct daemon *, int, char **);
/* Prints the usage (synopsis, shared and own flags, keys); exits. */
void	daemon_usage(const struct daemon *, int) __attribute__((noreturn));
/* -n: prints every setting as `key = value` in table order. */
void	daemon_print_config(const struct daemon *);
/* 0 if `name` is a valid instance name, else -1 with the reason. */
int	daemon_name_check(const char *, char *, size_t);
/*
 * After the checks: sets the log level (log_level plus -v, at most
 * debug), fixes malloc's thresholds (daemon.c), installs the signal
 * flags (common/sig.h) and creates the data directory.  Exits with the
 * reason on failure.
 */
void	daemon_start(struct daemon *);
/*
 * Registers the counters of the stats frame (borrowed: they must live as
 * long as the daemon).  Call before the control socket answers.
 */
void	daemon_counters(struct daemon *, const char *const *, uint64_t *,
	    unsigned);
/*
 * Binds the control socket ipc://<datadir>/<name>.ctl.  It answers
 * `ping` (ctl.c), `stats` with the frame below, and passes any other
 * command to `fn` (NULL: refused).  Exits with the reason on failure.
 */
void	daemon_ctl_open(struct daemon *, const char *, ctl_handler, void *);
void	daemon_ctl_close(struct daemon *);
/*
 * The stats frame every daemon answers:
 *   {"name": NAME, "role": ROLE, "counters": {...}<extra>, "links": [...]}
 * "links" (common/nnlink.h) has each record link's state: an output's
 * "peer" ("up"/"down"), "down_since_usec", its queue and drops; an
 * input's receive bound and the connections it refused.  "ctl" has the
 * control socket's requests and the connections it refused.
 * daemon_stats_begin() writes up to the counters; the caller appends
 * `, "key": value` fields and daemon_stats_end() closes it.
 */
void	daemon_stats_begin(struct buf *, const char *, const char *,
	    const struct counters *);
void	daemon_stats_end(struct buf *);

/*
 * Deadlines of a loop, in monotonic microseconds.  A loop keeps one
 * `next` per timer; deadline_min() folds them, deadline_timeout() makes
 * the poll timeout of the nearest, and deadline_due() says whether a
 * timer fired at `now` and moves it a period on.
 */
static inline uint64_t
deadline_min(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}
/* Milliseconds from `now` until `next`, rounded up, in [0, cap]. */
int	deadline_timeout(uint64_t, uint64_t, int);
/* 1 if *next <= now; then *next = now + period. */
int	deadline_due(uint64_t *, uint64_t, uint64_t);

#endif
