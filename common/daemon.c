/*
 * The daemon skeleton.  See daemon.h.
 */
#include <assert.h>
#include <getopt.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"
#include "nnlink.h"
#include "paths.h"
#include "sig.h"

#define SHARED_OPTS	"d:f:hN:no:v"

/* A flag of level 4, kept in command-line order until the others. */
struct pending_flag {
	const struct daemon_flag *f;	/* NULL for -d and -N */
	int		 ch;
	const char	*arg;
};

static const struct daemon_flag shared_d = { 'd', NULL, 1, "datadir", NULL };
static const struct daemon_flag shared_n = { 'N', NULL, 1, "name", NULL };

static void __attribute__((noreturn, format(printf, 2, 3)))
config_fail(const struct daemon *d, const char *fmt, ...)
{
	char msg[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s: %s\n", d->prog, msg);
	exit(1);
}

void
daemon_usage(const struct daemon *d, int status)
{
	FILE *fp = status ? stderr : stdout;

	fprintf(fp, "usage: %s\n"
	    "  -f FILE   configuration file (one for every daemon)\n"
	    "  -d DIR    data directory (key datadir)\n"
	    "  -N NAME   instance name (key name)\n"
	    "  -o K=V    set a key; repeatable; after the file, before flags\n"
	    "  -n        check the configuration, print it and exit\n"
	    "  -v        more logging (repeatable)\n%s"
	    "configuration keys:\n", d->synopsis,
	    d->flags_help != NULL ? d->flags_help : "");
	conf_usage(fp, d->table);
	exit(status);
}

int
daemon_name_check(const char *name, char *err, size_t errlen)
{
	size_t n = strlen(name);

	if (n == 0 || n > DAEMON_NAME_MAX || name[0] == '.' ||
	    strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789._-") != n) {
		snprintf(err, errlen, "name '%s': 1-%d letters, digits, '.', "
		    "'_' or '-', not starting with '.'", name,
		    DAEMON_NAME_MAX);
		return -1;
	}
	return 0;
}

/* The own flag of letter `ch`, or NULL. */
static const struct daemon_flag *
own_flag(const struct daemon *d, int ch)
{
	const struct daemon_flag *f;

	for (f = d->own; f != NULL && f->ch != 0; f++)
		if (f->ch == ch)
			return f;
	return NULL;
}

/* Level 4: one flag.  Exits with the reason if refused. */
static void
apply_flag(struct daemon *d, const struct pending_flag *p,
    const struct daemon_flag *const *seen, unsigned nseen)
{
	const struct daemon_flag *f = p->f;
	const char *val = f->has_arg ? p->arg : f->value;
	struct conf_list *l;
	char err[512];
	unsigned k;

	if (f->key == NULL) {
		if (d->flag_fn == NULL || d->flag_fn(d->arg, f->ch, p->arg,
		    err, sizeof(err)) == -1)
			config_fail(d, "-%c: %s", f->ch < 256 ? f->ch : '-',
			    d->flag_fn == NULL ? "not handled" : err);
		return;
	}
	/* The first flag naming a list replaces the list of levels 1-3. */
	if ((l = conf_field(d->table, d->cfg, f->key, CONF_LIST)) != NULL) {
		for (k = 0; k < nseen && seen[k] != f; k++)
			;
		if (k == nseen)
			l->n = 0;
	}
	if (conf_set(d->table, d->cfg, f->key, val, err, sizeof(err)) == -1)
		config_fail(d, "-%c %s", f->ch, err);
}

void
daemon_configure(struct daemon *d, int argc, char **argv)
{
	struct option longopts[DAEMON_MAX_OWN + 1];
	char optstr[sizeof(SHARED_OPTS) + 2 * DAEMON_MAX_OWN + 1], err[512];
	const char *over[DAEMON_MAX_OVERRIDES];
	const struct daemon_flag *seen[DAEMON_MAX_FLAGS], *f;
	struct pending_flag flags[DAEMON_MAX_FLAGS];
	unsigned nover = 0, nflags = 0, nlong = 0, k;
	size_t len;
	char *name, *datadir;
	long long *level;
	int ch;

	assert(d->prog != NULL && d->table != NULL && d->cfg != NULL);
	memset(longopts, 0, sizeof(longopts));
	snprintf(optstr, sizeof(optstr), "%s", SHARED_OPTS);
	len = strlen(optstr);
	for (f = d->own; f != NULL && f->ch != 0; f++) {
		assert(nlong < DAEMON_MAX_OWN);
		if (f->longname != NULL) {
			longopts[nlong].name = f->longname;
			longopts[nlong].has_arg = f->has_arg ?
			    required_argument : no_argument;
			longopts[nlong++].val = f->ch;
			continue;
		}
		assert(f->ch < 256 && strchr(SHARED_OPTS, f->ch) == NULL);
		assert(len + 2 < sizeof(optstr));
		optstr[len++] = (char)f->ch;
		if (f->has_arg)
			optstr[len++] = ':';
		optstr[len] = '\0';
	}
	optind = 0;	/* GNU: a full restart of the parser */
	while ((ch = getopt_long(argc, argv, optstr, longopts, NULL)) != -1) {
		switch (ch) {
		case 'f': d->file = optarg; continue;
		case 'n': d->check = 1; continue;
		case 'v': d->verbose++; continue;
		case 'h': daemon_usage(d, 0);
		case 'o':
			if (nover == DAEMON_MAX_OVERRIDES)
				config_fail(d, "more than %d -o options",
				    DAEMON_MAX_OVERRIDES);
			over[nover++] = optarg;
			continue;
		case 'd': f = &shared_d; break;
		case 'N': f = &shared_n; break;
		default:
			if ((f = own_flag(d, ch)) == NULL)
				daemon_usage(d, 1);
			break;
		}
		if (nflags == DAEMON_MAX_FLAGS)
			config_fail(d, "more than %d flags", DAEMON_MAX_FLAGS);
		flags[nflags].f = f;
		flags[nflags].ch = ch;
		flags[nflags++].arg = optarg;
	}
	if (optind != argc)
		daemon_usage(d, 1);

	/* Levels 1-3, then 4 in command-line order. */
	if (conf_apply(d->table, d->cfg, d->file, over, nover, NULL, NULL,
	    err, sizeof(err)) == -1)
		config_fail(d, "%s", err);
	for (k = 0; k < nflags; k++) {
		apply_flag(d, &flags[k], seen, k);
		seen[k] = flags[k].f;
	}

	name = conf_field(d->table, d->cfg, "name", CONF_STR);
	datadir = conf_field(d->table, d->cfg, "datadir", CONF_STR);
	level = conf_field(d->table, d->cfg, "log_level", CONF_INT);
	assert(name != NULL && datadir != NULL && level != NULL);
	if (daemon_name_check(name, err, sizeof(err)) == -1)
		config_fail(d, "%s", err);
	if (datadir[0] == '\0')
		config_fail(d, "datadir: empty");
	/* "<datadir>/<name>.ctl" must fit in a socket address. */
	if (strlen(datadir) + 1 + strlen(name) + 4 > DAEMON_SUN_PATH)
		config_fail(d, "datadir '%s': too long for a socket path "
		    "(%d bytes with '/%s.ctl')", datadir, DAEMON_SUN_PATH,
		    name);
	d->name = name;
	d->datadir = datadir;
	d->log_level = *level;
}

void
daemon_print_config(const struct daemon *d)
{
	conf_dump(stdout, d->table, d->cfg);
}

/*
 * glibc maps every allocation above 128 KB with its own mmap() and gives
 * it back with munmap() when freed, and gives freed memory at the top of
 * a thread's heap back at once: a buffer of that size used once per
 * message or request (nanomsg's copy of a 512 KB batch, webd's page of
 * flows) then costs page faults, zeroing and, with threads, a TLB
 * shootdown every time, and these machines make each of those dear.
 * Fixed thresholds keep such buffers in the heap: the router forwarded
 * join.sh's 600,000 events in 0.2 s of CPU instead of 0.6, and webd
 * served its page of 100 flows at twice the rate.  At most
 * DAEMON_MALLOC_TRIM of freed memory stays per heap.
 */
#define DAEMON_MALLOC_MMAP	(4 << 20)	/* bytes */
#define DAEMON_MALLOC_TRIM	(8 << 20)	/* bytes */

void
daemon_start(struct daemon *d)
{
	long long level = d->log_level + d->verbose;

	(void)mallopt(M_MMAP_THRESHOLD, DAEMON_MALLOC_MMAP);
	(void)mallopt(M_TRIM_THRESHOLD, DAEMON_MALLOC_TRIM);
	log_set_level(level > LOG_LVL_DEBUG ? LOG_LVL_DEBUG : (int)level);
	if (sig_setup() == -1)
		fatal("signals");
	if (paths_make_datadir(d->datadir) == -1)
		fatal("%s", d->datadir);
}

void
daemon_counters(struct daemon *d, const char *const *names, uint64_t *v,
    unsigned n)
{
	d->counters.names = names;
	d->counters.v = v;
	d->counters.n = n;
}

void
daemon_stats_begin(struct buf *b, const char *name, const char *role,
    const struct counters *c)
{
	buf_puts(b, "{\"name\": ");
	buf_json_str(b, name);
	buf_puts(b, ", \"role\": ");
	buf_json_str(b, role);
	buf_printf(b, ", \"" COUNTER_RUN_START "\": %llu",
	    (unsigned long long)counters_run_start());
	buf_puts(b, ", \"counters\": {");
	counters_json(b, c);
	buf_puts(b, "}");
}

void
daemon_stats_end(struct buf *b)
{
	buf_puts(b, "}");
}

/* The control handler of every daemon: stats here, the rest to ctl_fn. */
static void
daemon_ctl_handle(void *arg, int argc, char **argv, struct buf *reply)
{
	struct daemon *d = arg;

	if (argc == 1 && strcmp(argv[0], "stats") == 0) {
		if (d->stats_sync != NULL)
			d->stats_sync(d->ctl_arg);
		daemon_stats_begin(reply, d->name, d->role, &d->counters);
		if (d->stats_extra != NULL)
			d->stats_extra(d->ctl_arg, reply);
		nnlink_stats_json(reply);
		buf_printf(reply, ", \"ctl\": {\"requests\": %llu, "
		    "\"bad_requests\": %llu, \"connections_refused\": %llu}",
		    d->ctl->requests, d->ctl->bad_requests,
		    ctl_refused(d->ctl));
		daemon_stats_end(reply);
	} else if (d->ctl_fn != NULL)
		d->ctl_fn(d->ctl_arg, argc, argv, reply);
	else
		buf_printf(reply, "error: unknown command '%s' (ping, stats)",
		    argv[0]);
}

void
daemon_ctl_open(struct daemon *d, const char *role, ctl_handler fn,
    void *arg)
{
	char file[DAEMON_NAME_MAX + 8], err[512];

	d->role = role;
	d->ctl_fn = fn;
	d->ctl_arg = arg;
	snprintf(file, sizeof(file), "%s.ctl", d->name);
	if (paths_endpoint(d->ctl_endpoint, sizeof(d->ctl_endpoint), NULL,
	    d->datadir, file) == -1)
		fatalx("control endpoint too long");
	if ((d->ctl = ctl_new(d->ctl_endpoint, daemon_ctl_handle, d, err,
	    sizeof(err))) == NULL)
		fatalx("control socket %s: %s", d->ctl_endpoint, err);
}

void
daemon_ctl_close(struct daemon *d)
{
	ctl_free(d->ctl);
	d->ctl = NULL;
}

int
deadline_timeout(uint64_t next, uint64_t now, int cap)
{
	uint64_t ms;

	assert(cap >= 0);
	if (next <= now)
		return 0;
	ms = (next - now) / 1000 + ((next - now) % 1000 != 0);	/* no wrap */
	return ms > (uint64_t)cap ? cap : (int)ms;
}

int
deadline_due(uint64_t *next, uint64_t now, uint64_t period)
{
	if (now < *next)
		return 0;
	*next = now + period;
	return 1;
}
