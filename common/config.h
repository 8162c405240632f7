/*
 * Table-driven `key = value` configuration.  A daemon declares one
 * struct for its settings and a table of directives pointing into it;
 * the same table sets defaults, reads the file, applies command-line
 * overrides (-o key=value) and prints what it parsed (-n).
 *
 * One file serves every daemon.  Keys are either global (`datadir`,
 * `interface`, ...) or prefixed with a daemon's name (`store.db`).  A
 * daemon reads the keys in its table, skips keys of other daemons and
 * global keys it does not use, and rejects anything else.
 */
#ifndef EVFLOW_CONFIG_H
#define EVFLOW_CONFIG_H

#include <stddef.h>
#include <stdio.h>

#define CONF_STR_LEN	256	/* bytes of a string value */
#define CONF_LIST_MAX	64	/* items of a list value */

enum conf_type {
	CONF_STR,	/* char[size] */
	CONF_INT,	/* long long, plain number */
	CONF_BYTES,	/* long long, with k/M/G suffix (1024-based) */
	CONF_SECONDS,	/* long long, with s/m/h/d suffix */
	CONF_BOOL,	/* int: yes/no, true/false, on/off, 1/0 */
	CONF_LIST,	/* struct conf_list: repeated key appends */
};

struct conf_list {
	unsigned	n;
	char		item[CONF_LIST_MAX][CONF_STR_LEN];
};

struct conf_directive {
	const char	*key;
	enum conf_type	 type;
	size_t		 off;		/* offsetof() in the settings struct */
	size_t		 size;		/* CONF_STR: buffer size */
	const char	*def;		/* default as text, NULL = empty */
	long long	 min, max;	/* numeric bounds (if min < max) */
	const char	*help;
};

/* Fills `cfg` from each directive's default.  Returns 0 or -1. */
int	conf_defaults(const struct conf_directive *, void *, char *, size_t);
/* Reads `path`.  Returns 0, or -1 with "file:line: why" in err. */
int	conf_load_file(const struct conf_directive *, void *, const char *,
	    char *, size_t);
/* Sets one key; for a list, appends.  Returns 0 or -1 with err. */
int	conf_set(const struct conf_directive *, void *, const char *,
	    const char *, char *, size_t);
/* Applies "key=value" (from -o).  Returns 0 or -1 with err. */
int	conf_set_arg(const struct conf_directive *, void *, const char *,
	    char *, size_t);
/*
 * The one precedence of every program (common/daemon.h), from low to
 * high: defaults, the file `path` (if not NULL), each "key=value" of
 * `over` (-o) in order, then `datadir` (-d) and `name` (-N) when not
 * NULL.  Returns 0, or -1 with the reason in err, prefixed by the option
 * at fault.  daemon_configure() passes NULL for the last two and applies
 * -d, -N and a program's own flags in command-line order after it.
 */
int	conf_apply(const struct conf_directive *, void *, const char *,
	    const char *const *, unsigned, const char *, const char *,
	    char *, size_t);
/* The field of `key` in cfg if the table has it with that type, else
 * NULL.  Borrowed from cfg. */
void	*conf_field(const struct conf_directive *, void *, const char *,
	    enum conf_type);
/* Prints every directive as `key = value`, in table order. */
void	conf_dump(FILE *, const struct conf_directive *, const void *);
/* Prints the directives with their help text. */
void	conf_usage(FILE *, const struct conf_directive *);

/* Parsers shared with command-line handling.  Return 0 or -1. */
int	conf_parse_bool(const char *, int *);
int	conf_parse_bytes(const char *, long long *);
int	conf_parse_seconds(const char *, long long *);

#endif
