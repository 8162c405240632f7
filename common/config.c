/*
 * The configuration table.  See config.h.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"

/* Prefixes of daemons: keys under another daemon's prefix are skipped. */
static const char *const conf_prefixes[] = {
	"collector", "capture", "router", "store", "webd", "evflowctl", "probe",
	"relay",
	NULL
};

/* Global keys: any daemon may skip those it does not use. */
static const char *const conf_globals[] = {
	"datadir", "interface", "mirrored", "companion", "log_level",
	"name", "router_endpoint", "store_endpoint", "database",
	"link_max_message", "link_queue", "link_trusted_network",
	"clickhouse_shards", "clickhouse_database", "clickhouse_cluster",
	"clickhouse_user", NULL
};

static const struct conf_directive *
find(const struct conf_directive *t, const char *key)
{
	for (; t->key != NULL; t++)
		if (strcmp(t->key, key) == 0)
			return t;
	return NULL;
}

static int
in_list(const char *const *l, const char *s, size_t n)
{
	for (; *l != NULL; l++)
		if (strlen(*l) == n && strncmp(*l, s, n) == 0)
			return 1;
	return 0;
}

/* 1 if some key of the table starts with the n bytes of `pfx`. */
static int
has_prefix(const struct conf_directive *t, const char *pfx, size_t n)
{
	for (; t->key != NULL; t++)
		if (strncmp(t->key, pfx, n) == 0)
			return 1;
	return 0;
}

int
conf_parse_bool(const char *s, int *v)
{
	if (!strcasecmp(s, "yes") || !strcasecmp(s, "true") ||
	    !strcasecmp(s, "on") || !strcmp(s, "1"))
		*v = 1;
	else if (!strcasecmp(s, "no") || !strcasecmp(s, "false") ||
	    !strcasecmp(s, "off") || !strcmp(s, "0"))
		*v = 0;
	else
		return -1;
	return 0;
}

static int
parse_scaled(const char *s, long long *v, const char *units,
    const long long *mult)
{
	char *end;
	long long n;
	const char *u;

	errno = 0;
	n = strtoll(s, &end, 10);
	if (errno != 0 || end == s || n < 0)
		return -1;
	while (isspace((unsigned char)*end))
		end++;
	if (*end != '\0') {
		if (end[1] != '\0' && !(end[1] == 'B' && end[2] == '\0') &&
		    !(end[1] == 'i' && end[2] == 'B' && end[3] == '\0'))
			return -1;
		if ((u = strchr(units, *end)) == NULL)
			return -1;
		if (n > __LONG_LONG_MAX__ / mult[u - units])
			return -1;
		n *= mult[u - units];
	}
	*v = n;
	return 0;
}

int
conf_parse_bytes(const char *s, long long *v)
{
	static const long long mult[] = { 1024, 1024, 1048576, 1073741824,
	    1099511627776LL };

	return parse_scaled(s, v, "kKMGT", mult);
}

int
conf_parse_seconds(const char *s, long long *v)
{
	static const long long mult[] = { 1, 60, 3600, 86400, 604800 };

	return parse_scaled(s, v, "smhdw", mult);
}

static int
parse_int(const char *s, long long *v)
{
	char *end;

	errno = 0;
	*v = strtoll(s, &end, 0);
	return (errno != 0 || end == s || *end != '\0') ? -1 : 0;
}

int
conf_set(const struct conf_directive *t, void *cfg, const char *key,
    const char *val, char *err, size_t errlen)
{
	const struct conf_directive *d;
	const char *dot;
	char *field;
	long long n;
	int b;

	if ((d = find(t, key)) == NULL) {
		dot = strchr(key, '.');
		if (dot != NULL && in_list(conf_prefixes, key,
		    (size_t)(dot - key)) && !has_prefix(t, key,
		    (size_t)(dot - key) + 1))
			return 0;	/* another daemon's key */
		if (dot == NULL && in_list(conf_globals, key, strlen(key)))
			return 0;	/* a global this daemon does not use */
		snprintf(err, errlen, "unknown key '%s'", key);
		return -1;
	}
	field = (char *)cfg + d->off;
	switch (d->type) {
	case CONF_STR:
		if (strlen(val) >= d->size) {
			snprintf(err, errlen, "%s: value longer than %zu bytes",
			    key, d->size - 1);
			return -1;
		}
		memcpy(field, val, strlen(val) + 1);
		return 0;
	case CONF_LIST: {
		struct conf_list *l = (struct conf_list *)(void *)field;

		if (l->n >= CONF_LIST_MAX || strlen(val) >= CONF_STR_LEN) {
			snprintf(err, errlen, "%s: too many values or value "
			    "too long", key);
			return -1;
		}
		memcpy(l->item[l->n++], val, strlen(val) + 1);
		return 0;
	}
	case CONF_BOOL:
		if (conf_parse_bool(val, &b) == -1) {
			snprintf(err, errlen, "%s: '%s' is not yes or no", key,
			    val);
			return -1;
		}
		memcpy(field, &b, sizeof(b));
		return 0;
	case CONF_INT:
	case CONF_BYTES:
	case CONF_SECONDS:
		if ((d->type == CONF_INT && parse_int(val, &n) == -1) ||
		    (d->type == CONF_BYTES && conf_parse_bytes(val, &n) == -1) ||
		    (d->type == CONF_SECONDS &&
		    conf_parse_seconds(val, &n) == -1)) {
			snprintf(err, errlen, "%s: '%s' is not a valid %s", key,
			    val, d->type == CONF_INT ? "number" :
			    d->type == CONF_BYTES ? "size" : "duration");
			return -1;
		}
		if (d->min < d->max && (n < d->min || n > d->max)) {
			snprintf(err, errlen, "%s: %lld is out of range "
			    "[%lld, %lld]", key, n, d->min, d->max);
			return -1;
		}
		memcpy(field, &n, sizeof(n));
		return 0;
	}
	snprintf(err, errlen, "%s: bad directive type", key);
	return -1;
}

int
conf_defaults(const struct conf_directive *t, void *cfg, char *err,
    size_t errlen)
{
	for (; t->key != NULL; t++) {
		char *field = (char *)cfg + t->off;

		if (t->type == CONF_LIST) {
			memset(field, 0, sizeof(struct conf_list));
			if (t->def == NULL)
				continue;
		} else if (t->type == CONF_STR)
			memset(field, 0, t->size);
		if (t->def != NULL && conf_set(t, cfg, t->key, t->def, err,
		    errlen) == -1)
			return -1;
	}
	return 0;
}

/* Strips blanks around `s` in place and returns it. */
static char *
trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

int
conf_load_file(const struct conf_directive *t, void *cfg, const char *path,
    char *err, size_t errlen)
{
	char line[1024], why[512], *key, *val, *eq;
	unsigned lineno = 0;
	size_t n;
	FILE *fp;

	if ((fp = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), fp) != NULL) {
		lineno++;
		if (strchr(line, '\n') == NULL && !feof(fp)) {
			snprintf(err, errlen, "%s:%u: line too long", path,
			    lineno);
			goto fail;
		}
		key = trim(line);
		if (*key == '#' || *key == '\0')
			continue;
		if ((eq = strchr(key, '=')) == NULL) {
			snprintf(err, errlen, "%s:%u: expected 'key = value'",
			    path, lineno);
			goto fail;
		}
		*eq = '\0';
		key = trim(key);
		val = trim(eq + 1);
		n = strlen(val);
		if (n >= 2 && val[0] == '"' && val[n - 1] == '"') {
			val[n - 1] = '\0';
			val++;
		}
		if (conf_set(t, cfg, key, val, why, sizeof(why)) == -1) {
			snprintf(err, errlen, "%s:%u: %s", path, lineno, why);
			goto fail;
		}
	}
	fclose(fp);
	return 0;
fail:
	fclose(fp);
	return -1;
}

int
conf_set_arg(const struct conf_directive *t, void *cfg, const char *arg,
    char *err, size_t errlen)
{
	char key[128];
	const char *eq = strchr(arg, '=');

	if (eq == NULL || (size_t)(eq - arg) >= sizeof(key)) {
		snprintf(err, errlen, "'%s': expected key=value", arg);
		return -1;
	}
	memcpy(key, arg, (size_t)(eq - arg));
	key[eq - arg] = '\0';
	return conf_set(t, cfg, trim(key), eq + 1, err, errlen);
}

int
conf_apply(const struct conf_directive *t, void *cfg, const char *path,
    const char *const *over, unsigned nover, const char *datadir,
    const char *name, char *err, size_t errlen)
{
	char why[512];
	unsigned k;

	if (conf_defaults(t, cfg, err, errlen) == -1 ||
	    (path != NULL && conf_load_file(t, cfg, path, err, errlen) == -1))
		return -1;
	for (k = 0; k < nover; k++)
		if (conf_set_arg(t, cfg, over[k], why, sizeof(why)) == -1) {
			snprintf(err, errlen, "-o %s", why);
			return -1;
		}
	if (datadir != NULL && conf_set(t, cfg, "datadir", datadir, why,
	    sizeof(why)) == -1) {
		snprintf(err, errlen, "-d %s", why);
		return -1;
	}
	if (name != NULL && conf_set(t, cfg, "name", name, why,
	    sizeof(why)) == -1) {
		snprintf(err, errlen, "-N %s", why);
		return -1;
	}
	return 0;
}

void *
conf_field(const struct conf_directive *t, void *cfg, const char *key,
    enum conf_type type)
{
	const struct conf_directive *d = find(t, key);

	return d != NULL && d->type == type ? (char *)cfg + d->off : NULL;
}

void
conf_dump(FILE *fp, const struct conf_directive *t, const void *cfg)
{
	for (; t->key != NULL; t++) {
		const char *field = (const char *)cfg + t->off;
		long long n;
		int b;
		unsigned i;

		switch (t->type) {
		case CONF_STR:
			fprintf(fp, "%s = %s\n", t->key, field);
			break;
		case CONF_LIST: {
			const struct conf_list *l =
			    (const struct conf_list *)(const void *)field;

			for (i = 0; i < l->n; i++)
				fprintf(fp, "%s = %s\n", t->key, l->item[i]);
			break;
		}
		case CONF_BOOL:
			memcpy(&b, field, sizeof(b));
			fprintf(fp, "%s = %s\n", t->key, b ? "yes" : "no");
			break;
		case CONF_INT:
		case CONF_BYTES:
		case CONF_SECONDS:
			memcpy(&n, field, sizeof(n));
			fprintf(fp, "%s = %lld\n", t->key, n);
			break;
		}
	}
}

void
conf_usage(FILE *fp, const struct conf_directive *t)
{
	for (; t->key != NULL; t++)
		fprintf(fp, "  %-28s %s%s%s%s\n", t->key, t->help,
		    t->def ? " (default " : "", t->def ? t->def : "",
		    t->def ? ")" : "");
}
