/*
 * /metrics: every daemon's counters in the Prometheus text format.
 *
 * Live values come from the control sockets (live.c); a daemon that is
 * down or does not answer falls back to the latest values the store
 * recorded in daemon_counters.  A key "iface.<name>.<counter>" becomes
 * evflow_iface_<counter>{daemon=..,iface="<name>"}, and so does each
 * number of a live daemon's "interfaces" entries (the store's joins,
 * misses, pending_evicted, packet_flows, attribution_ratio...; the
 * router's deliveries, from the entry's "counters"); any other key k
 * becomes evflow_<k>{daemon=..,role=..}.  webd's own counters are
 * evflow_webd_<name>.  Samples are sorted so each metric's lines are
 * together under one # TYPE line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "../common/counters.h"
#include "query.h"
#include "webd.h"

#define METRIC_LEN	128
#define LABELS_LEN	384

struct sample {
	char		metric[METRIC_LEN];
	char		labels[LABELS_LEN];
	double		value;
};

struct samples {
	struct sample	*s;
	size_t		 n, cap;
	int		 failed;
	unsigned	 cut;	/* samples with a label value cut short */
};

static void
metric_name(char *out, size_t len, const char *pfx, const char *key)
{
	size_t o, i;

	o = (size_t)snprintf(out, len, "%s", pfx);
	for (i = 0; key[i] != '\0' && o + 1 < len; i++, o++) {
		char ch = key[i];

		out[o] = ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || ch == '_') ? ch : '_';
	}
	out[o < len ? o : len - 1] = '\0';
}

/* Appends `,name="value"` (no comma first) with Prometheus escaping
 * to the NUL-terminated out[len].  The result always fits and stays
 * well-formed: a value too long for the room left is cut (never inside
 * an escape or a UTF-8 sequence); a label whose name and quotes do not
 * fit is left out.  Returns 0, or -1 if anything was cut or left out. */
static int
label(char *out, size_t len, const char *name, const char *val)
{
	size_t o = strlen(out), need, i;
	const unsigned char *p;
	int cut = 0;

	need = (o ? 1 : 0) + strlen(name) + 3;	/* , name = " " */
	if (o + need + 1 > len)
		return -1;
	o += (size_t)snprintf(out + o, len - o, "%s%s=\"", o ? "," : "", name);
	for (p = (const unsigned char *)val; *p != '\0'; p++) {
		/* room for this byte's escape, the closing quote, NUL */
		i = (*p == '\\' || *p == '"' || *p == '\n') ? 2 : 1;
		if (o + i + 2 > len) {
			cut = 1;
			break;
		}
		if (i == 2) {
			out[o++] = '\\';
			out[o++] = *p == '\n' ? 'n' : (char)*p;
		} else
			out[o++] = (char)*p;
	}
	if (cut)	/* drop a UTF-8 sequence cut in the middle */
		while (o > 0 && ((unsigned char)out[o - 1] & 0xc0) == 0x80)
			o--;
	if (cut && o > 0 && ((unsigned char)out[o - 1] & 0xc0) == 0xc0)
		o--;
	out[o++] = '"';
	out[o] = '\0';
	return cut ? -1 : 0;
}

static void
add(struct samples *ss, const char *daemon, const char *role,
    const char *key, double value)
{
	struct sample *s;
	const char *dot;
	char iface[256];
	int cut;

	if (ss->n == ss->cap) {
		size_t cap = ss->cap ? ss->cap * 2 : 256;
		struct sample *p = realloc(ss->s, cap * sizeof(*p));

		if (p == NULL) {
			ss->failed = 1;
			return;
		}
		ss->s = p;
		ss->cap = cap;
	}
	s = &ss->s[ss->n++];
	s->labels[0] = '\0';
	s->value = value;
	/* The daemon's name gets at most half the room: the second label
	 * always fits. */
	cut = label(s->labels, sizeof(s->labels) / 2, "daemon", daemon);
	if (strncmp(key, "iface.", 6) == 0 && (dot = strrchr(key, '.')) !=
	    key + 5 && (size_t)(dot - key - 6) < sizeof(iface)) {
		memcpy(iface, key + 6, (size_t)(dot - key - 6));
		iface[dot - key - 6] = '\0';
		metric_name(s->metric, sizeof(s->metric), "evflow_iface_",
		    dot + 1);
		cut |= label(s->labels, sizeof(s->labels), "iface", iface);
	} else {
		metric_name(s->metric, sizeof(s->metric), "evflow_", key);
		cut |= label(s->labels, sizeof(s->labels), "role", role);
	}
	if (cut)
		ss->cut++;
}

static int
sample_cmp(const void *a, const void *b)
{
	const struct sample *x = a, *y = b;
	int c = strcmp(x->metric, y->metric);

	return c != 0 ? c : strcmp(x->labels, y->labels);
}

/* Numbers of one interface entry of a live daemon's stats (`obj`: the
 * entry or its "counters"), as iface.<name>.<key>; `id` and `db_id`
 * name the entry rather than count anything. */
static void
add_iface_numbers(struct samples *ss, const char *daemon, const char *role,
    const char *iface, const cJSON *obj)
{
	const cJSON *it;
	char key[320];

	cJSON_ArrayForEach(it, obj) {
		if (!cJSON_IsNumber(it) || it->string == NULL ||
		    strcmp(it->string, "id") == 0 ||
		    strcmp(it->string, "db_id") == 0)
			continue;
		if ((size_t)snprintf(key, sizeof(key), "iface.%s.%s", iface,
		    it->string) >= sizeof(key))
			continue;
		add(ss, daemon, role, key, it->valuedouble);
	}
}

/* An integer of daemon `name`'s row `key` in daemon_counters (column
 * 0 value, 1 base); -1 if none. */
static long long
stored_int(struct db_conn *c, const char *name, const char *key, int col)
{
	sqlite3_stmt *st;
	long long v = -1;

	if (c == NULL || (st = db_prepare(c, col ? "SELECT base FROM"
	    " daemon_counters WHERE daemon = ?1 AND key = ?2" : "SELECT value"
	    " FROM daemon_counters WHERE daemon = ?1 AND key = ?2")) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, key, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st) == SQLITE_ROW &&
	    sqlite3_column_type(st, 0) == SQLITE_INTEGER)
		v = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return v;
}

/*
 * What a live daemon's counter `key` adds to its count of this run to be
 * a total since the database began, as the store keeps it
 * (docs/schema.md, daemon_counters): the row's base when the store's
 * rows count this run, the row's whole value when they still count an
 * earlier one (the store folds it at this run's first stats), nothing
 * for a gauge, the store (its own counters are totals) or no row.
 */
static double
live_base(struct db_conn *c, const char *name, long long live_run,
    long long db_run, const char *key)
{
	long long v;

	if (live_run <= 0 || db_run <= 0 || db_run > live_run ||
	    counter_is_gauge(key))
		return 0;
	v = stored_int(c, name, key, db_run == live_run);
	return v > 0 ? (double)v : 0;
}

/* Adds a live daemon's counters; returns 1 if it had any. */
static int
add_live(struct samples *ss, struct db_conn *c, const char *stats)
{
	const cJSON *name, *role, *ctr, *it, *ifs, *nm, *run;
	long long live_run = 0, db_run = 0;
	cJSON *j;

	if ((j = cJSON_Parse(stats)) == NULL)
		return 0;
	name = cJSON_GetObjectItemCaseSensitive(j, "name");
	role = cJSON_GetObjectItemCaseSensitive(j, "role");
	ctr = cJSON_GetObjectItemCaseSensitive(j, "counters");
	if (!cJSON_IsString(name) || !cJSON_IsObject(ctr)) {
		cJSON_Delete(j);
		return 0;
	}
	run = cJSON_GetObjectItemCaseSensitive(j, COUNTER_RUN_START);
	if (cJSON_IsNumber(run)) {
		live_run = (long long)run->valuedouble;
		db_run = stored_int(c, name->valuestring, COUNTER_RUN_START, 0);
	}
	cJSON_ArrayForEach(it, ctr)
		if (cJSON_IsNumber(it) && it->string != NULL)
			add(ss, name->valuestring, cJSON_IsString(role) ?
			    role->valuestring : "", it->string, it->valuedouble +
			    live_base(c, name->valuestring, live_run, db_run,
			    it->string));
	ifs = cJSON_GetObjectItemCaseSensitive(j, "interfaces");
	if (!cJSON_IsArray(ifs))
		ifs = NULL;
	cJSON_ArrayForEach(it, ifs) {
		nm = cJSON_GetObjectItemCaseSensitive(it, "name");
		if (!cJSON_IsObject(it) || !cJSON_IsString(nm))
			continue;
		add_iface_numbers(ss, name->valuestring, cJSON_IsString(role) ?
		    role->valuestring : "", nm->valuestring, it);
		add_iface_numbers(ss, name->valuestring, cJSON_IsString(role) ?
		    role->valuestring : "", nm->valuestring,
		    cJSON_GetObjectItemCaseSensitive(it, "counters"));
	}
	cJSON_Delete(j);
	return 1;
}

/* The role of daemon `name` for its evflow_daemon_up: from its live
 * stats, else as the store last recorded it, else "unknown" (a control
 * socket that never answered and never reported). */
static const char *
daemon_role(struct db_conn *c, const cJSON *stats, const char *name,
    char *out, size_t outlen)
{
	const cJSON *role = cJSON_GetObjectItemCaseSensitive(stats, "role");
	const unsigned char *t;
	sqlite3_stmt *st;

	if (cJSON_IsString(role) && role->valuestring[0] != '\0')
		return role->valuestring;
	snprintf(out, outlen, "unknown");
	if (c != NULL && (st = db_prepare(c, "SELECT role FROM daemon_counters"
	    " WHERE daemon = ?1 AND role <> '' LIMIT 1")) != NULL) {
		sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
		if (sqlite3_step(st) == SQLITE_ROW &&
		    (t = sqlite3_column_text(st, 0)) != NULL)
			snprintf(out, outlen, "%s", (const char *)t);
	}
	return out;
}

void
api_metrics(struct webd *w, struct req *q, struct resp *r)
{
	struct samples ss = { NULL, 0, 0, 0, 0 };
	struct query qy;
	struct db_conn *c;
	sqlite3_stmt *st;
	struct buf live, up;
	char role[32];
	cJSON *arr, *d;
	const char *last = "";
	size_t i;
	int k;

	query_init(&qy, none_params, NULL, 0);
	if (req_query(q, &qy, r) == -1)
		return;
	buf_init(&live);
	buf_init(&up);
	buf_puts(&up, "\n");
	live_json(w->live, &live);
	c = db_get(w->db);
	arr = buf_ok(&live) ? cJSON_Parse(live.p) : NULL;
	/* Names of the daemons whose live stats were used, as a JSON
	 * array, to keep their stored values out. */
	cJSON_ArrayForEach(d, arr) {
		const cJSON *nm = cJSON_GetObjectItemCaseSensitive(d, "name");
		const cJSON *ok = cJSON_GetObjectItemCaseSensitive(d, "up");
		const cJSON *stt = cJSON_GetObjectItemCaseSensitive(d, "stats");
		char *txt;

		if (!cJSON_IsString(nm))
			continue;
		add(&ss, nm->valuestring, daemon_role(c, stt,
		    nm->valuestring, role, sizeof(role)), "daemon_up",
		    cJSON_IsTrue(ok));
		if (!cJSON_IsTrue(ok) || stt == NULL ||
		    (txt = cJSON_PrintUnformatted(stt)) == NULL)
			continue;
		if (add_live(&ss, c, txt))
			buf_printf(&up, "%s\n", nm->valuestring);
		free(txt);
	}
	cJSON_Delete(arr);
	if (c != NULL) {
		st = db_prepare(c, "SELECT daemon, role, key, value FROM"
		    " daemon_counters ORDER BY daemon, key");
		while (st != NULL && sqlite3_step(st) == SQLITE_ROW) {
			const char *dn = (const char *)sqlite3_column_text(st, 0);
			struct buf needle;
			int live_wins;

			if (dn == NULL)
				continue;
			buf_init(&needle);
			buf_printf(&needle, "\n%s\n", dn);
			live_wins = up.p != NULL && buf_ok(&needle) &&
			    strstr(up.p, needle.p) != NULL;
			buf_free(&needle);
			if (live_wins)
				continue;	/* live values win */
			add(&ss, dn, (const char *)(sqlite3_column_text(st, 1) ?
			    sqlite3_column_text(st, 1) : (const unsigned char *)""),
			    (const char *)(sqlite3_column_text(st, 2) ?
			    sqlite3_column_text(st, 2) : (const unsigned char *)""),
			    sqlite3_column_double(st, 3));
		}
		db_put(w->db, c);
	}
	for (k = 0; k < WC_COUNTER_MAX; k++) {
		char key[64];

		snprintf(key, sizeof(key), "webd_%s", webd_counter_names[k]);
		add(&ss, w->conf.name, "webd", key, (double)w->counters[k]);
	}
	if (ss.cut > 0)
		w->counters[WC_METRICS_CUT] += ss.cut;
	if (ss.failed) {
		free(ss.s);
		buf_free(&live);
		buf_free(&up);
		resp_error(r, 500, "out of memory");
		return;
	}
	qsort(ss.s, ss.n, sizeof(*ss.s), sample_cmp);
	r->type = "text/plain; version=0.0.4; charset=utf-8";
	for (i = 0; i < ss.n; i++) {
		if (strcmp(ss.s[i].metric, last) != 0) {
			buf_printf(&r->body, "# TYPE %s untyped\n",
			    ss.s[i].metric);
			last = ss.s[i].metric;
		}
		buf_printf(&r->body, "%s{%s} %.17g\n", ss.s[i].metric,
		    ss.s[i].labels, ss.s[i].value);
	}
	free(ss.s);
	buf_free(&live);
	buf_free(&up);
}
