/*
 * ClickHouse queries for webd: settings, running a query, its answer
 * as JSON, and the API's parameters as ClickHouse SQL.  See ch.h.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ch.h"
#include "query.h"
#include "webd.h"

struct webd_ch *
ch_new(const char *shards, const char *database, const char *user,
    int timeout_ms, char *err, size_t errlen)
{
	struct webd_ch *c;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if ((c->nep = ch_endpoints_parse(shards, c->ep, CH_SHARDS_MAX, err,
	    errlen)) <= 0) {
		if (c->nep == 0)
			snprintf(err, errlen, "clickhouse_shards: no server");
		free(c);
		return NULL;
	}
	if (!ch_name_ok(database) || (*user != '\0' && !ch_name_ok(user))) {
		snprintf(err, errlen, "clickhouse_database, clickhouse_user: "
		    "letters, digits and _ only");
		free(c);
		return NULL;
	}
	snprintf(c->database, sizeof(c->database), "%s", database);
	snprintf(c->user, sizeof(c->user), "%s", user);
	c->timeout_ms = timeout_ms;
	c->resp_max = 64 << 20;
	return c;
}

void
ch_free(struct webd_ch *c)
{
	free(c);
}

int
ch_select(struct webd_ch *c, const char *sql, struct ch_result *res,
    char *err, size_t errlen)
{
	struct buf q;
	int i, rc = -1;

	memset(res, 0, sizeof(*res));
	buf_init(&res->data);
	buf_init(&q);
	buf_printf(&q, "%s FORMAT TabSeparatedWithNamesAndTypes", sql);
	if (!buf_ok(&q)) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	/* Any server can answer through the Distributed tables: the
	 * next is asked only when one does not answer at all. */
	for (i = 0; i < c->nep; i++) {
		rc = ch_http_query(&c->ep[i], c->database, c->user, q.p, NULL,
		    0, c->timeout_ms, &res->data, c->resp_max, err, errlen);
		if (rc != -1)
			break;
	}
	if (rc != 200) {
		rc = -1;
		goto out;
	}
	rc = ch_result_parse(res, err, errlen);
out:
	/* (a failed query's answer, the server's error text, is in err) */
	if (rc == -1)
		ch_result_free(res);
	buf_free(&q);
	return rc;
}

int
ch_ifaces_load(struct webd *w, struct ch_ifaces *f)
{
	struct db_conn *c;
	sqlite3_stmt *st;
	const unsigned char *t;
	size_t cap = 0;
	void *p;
	int rc = 0;

	memset(f, 0, sizeof(*f));
	if ((c = db_get(w->db)) == NULL)
		return -1;
	if ((st = db_prepare(c, "SELECT id, name FROM interfaces")) == NULL) {
		db_put(w->db, c);
		return -1;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (f->n == cap) {
			cap = cap ? cap * 2 : 64;
			if ((p = realloc(f->id, cap * sizeof(*f->id))) == NULL)
				break;
			f->id = p;
			if ((p = realloc(f->name, cap * sizeof(*f->name))) ==
			    NULL)
				break;
			f->name = p;
		}
		t = sqlite3_column_text(st, 1);
		f->id[f->n] = sqlite3_column_int64(st, 0);
		if ((f->name[f->n] = strdup(t ? (const char *)t : "")) == NULL)
			break;
		f->n++;
	}
	if (rc != SQLITE_DONE) {
		db_put(w->db, c);
		return -1;
	}
	/* api_flows.c's NAME_SQL: the latest name seen for the address. */
	f->w = w;
	f->conn = c;
	f->host = db_prepare(c, "SELECT name FROM host_names WHERE addr = ?1"
	    " ORDER BY last_seen DESC LIMIT 1");
	return 0;
}

void
ch_ifaces_free(struct ch_ifaces *f)
{
	size_t i;

	for (i = 0; i < f->n; i++)
		free(f->name[i]);
	free(f->name);
	free(f->id);
	if (f->conn != NULL)
		db_put(f->w->db, f->conn);	/* resets its statements */
	memset(f, 0, sizeof(*f));
}

void
ch_real(struct buf *b, double d)
{
	unsigned char v[8];
	int i;

	/* Exact: the server's decimal parser need not round as ours. */
	memcpy(v, &d, sizeof(v));
	buf_puts(b, "reinterpretAsFloat64(unhex('");
	for (i = 0; i < 8; i++)
		buf_printf(b, "%02x", v[i]);
	buf_puts(b, "'))");
}

/* A value as a ClickHouse literal. */
static void
literal(struct buf *b, const struct qp_value *v)
{
	if (v->is_int)
		buf_printf(b, "%lld", v->i);
	else if (v->is_real)
		ch_real(b, v->r);
	else
		ch_quote(b, v->s, strlen(v->s));
}

/*
 * Where ClickHouse needs other SQL than params.c's (SQLite functions,
 * interface names, CIDR ranges).  NULL members: params.c's text is
 * valid ClickHouse SQL as it is.  "@" is a special form made in
 * ch_where().
 */
static const struct {
	const char	*name;
	const char	*sql, *sql_false, *sql_net;
} ch_frags[] = {
	{ "iface", "@", NULL, NULL },
	{ "addr", NULL, NULL,
	  "(f.cli_ip BETWEEN {lo} AND {hi} OR f.srv_ip BETWEEN {lo} AND {hi})" },
	{ "cli_addr", NULL, NULL, "f.cli_ip BETWEEN {lo} AND {hi}" },
	{ "srv_addr", NULL, NULL, "f.srv_ip BETWEEN {lo} AND {hi}" },
	{ "process", "@", NULL, NULL },
	{ "container", "(f.cli_container_name = ? OR f.srv_container_name = ?"
	  " OR startsWith(f.cli_container_id, ?)"
	  " OR startsWith(f.srv_container_id, ?))", NULL, NULL },
	{ "pod", "(f.cli_pod = ? OR f.srv_pod = ?)", NULL, NULL },
	{ "namespace", "(f.cli_namespace = ? OR f.srv_namespace = ?)", NULL,
	  NULL },
	{ "state", "replaceAll(replaceAll(f.tcp_state, '-', '_'), 'WAIT_',"
	  " 'WAIT') = ?", NULL, NULL },
	{ "community_id", "f.community_id = ?", NULL, NULL },
	{ "live", "@", NULL, NULL },
	{ NULL, NULL, NULL, NULL }
};

/* The CIDR in v->s as the 16-byte range of binary addresses the store
 * writes (IPv4 mapped into ::ffff:0:0/96), as two literals. */
static int
net_range(const char *s, struct buf *lo, struct buf *hi)
{
	char host[64];
	unsigned char a[16], l[16], h[16];
	const char *slash = strchr(s, '/');
	int plen, i, bits;

	if (slash == NULL || (size_t)(slash - s) >= sizeof(host))
		return -1;
	memcpy(host, s, (size_t)(slash - s));
	host[slash - s] = '\0';
	plen = atoi(slash + 1);
	memset(a, 0, sizeof(a));
	if (inet_pton(AF_INET, host, a + 12) == 1) {
		a[10] = a[11] = 0xff;
		plen += 96;
	} else if (inet_pton(AF_INET6, host, a) != 1)
		return -1;
	for (i = 0; i < 16; i++) {
		bits = plen - i * 8;
		unsigned char m = bits >= 8 ? 0xff : bits <= 0 ? 0 :
		    (unsigned char)(0xff << (8 - bits));
		l[i] = a[i] & m;
		h[i] = (unsigned char)(a[i] | (unsigned char)~m);
	}
	buf_puts(lo, "toFixedString(unhex('");
	buf_puts(hi, "toFixedString(unhex('");
	for (i = 0; i < 16; i++) {
		buf_printf(lo, "%02x", l[i]);
		buf_printf(hi, "%02x", h[i]);
	}
	buf_puts(lo, "'), 16)");
	buf_puts(hi, "'), 16)");
	return 0;
}

/* Appends fragment f with ? as v's literal, {lo} and {hi} as given. */
static void
render(struct buf *b, const char *f, const struct qp_value *v,
    const char *lo, const char *hi)
{
	for (; *f != '\0'; f++) {
		if (*f == '?')
			literal(b, v);
		else if (strncmp(f, "{lo}", 4) == 0) {
			buf_puts(b, lo);
			f += 3;
		} else if (strncmp(f, "{hi}", 4) == 0) {
			buf_puts(b, hi);
			f += 3;
		} else
			buf_add(b, f, 1);
	}
}

/* The special forms ("@"). */
static void
special(struct buf *b, const struct qp_value *v, const struct ch_ifaces *ifs,
    double now)
{
	const char *name = v->def->name;
	size_t i, n = strlen(v->s);
	long long id = -1;

	if (strcmp(name, "iface") == 0) {
		for (i = 0; ifs != NULL && i < ifs->n; i++)
			if (strcmp(ifs->name[i], v->s) == 0)
				id = ifs->id[i];
		buf_printf(b, "f.iface_id = %lld", id);
	} else if (strcmp(name, "process") == 0) {
		/* proc_match(): the path, or its last component. */
		buf_puts(b, "(f.cli_process = ");
		ch_quote(b, v->s, n);
		buf_puts(b, " OR f.srv_process = ");
		ch_quote(b, v->s, n);
		if (strchr(v->s, '/') == NULL) {
			struct buf t;

			buf_init(&t);
			buf_puts(&t, "/");
			buf_puts(&t, v->s);
			buf_puts(b, " OR endsWith(f.cli_process, ");
			ch_quote(b, t.p, t.len);
			buf_puts(b, ") OR endsWith(f.srv_process, ");
			ch_quote(b, t.p, t.len);
			buf_puts(b, ")");
			buf_free(&t);
		}
		buf_puts(b, ")");
	} else if (strcmp(name, "live") == 0) {
		/* params.c's LIVE_SQL: seen in the last 120 s. */
		buf_puts(b, v->truth ? "f.last_seen >= " :
		    "NOT (f.last_seen >= ");
		ch_real(b, now - 120);
		if (!v->truth)
			buf_puts(b, ")");
	}
}

int
ch_where(const struct query *q, const struct ch_ifaces *ifs, double now,
    struct buf *b, char *err, size_t errlen)
{
	const struct qp_value *v;
	const struct qp_def *d;
	const char *f;
	struct buf lo, hi;
	unsigned i;
	int k, net;

	for (i = 0; i < q->n; i++) {
		v = &q->v[i];
		d = v->def;
		for (k = 0; ch_frags[k].name != NULL &&
		    strcmp(ch_frags[k].name, d->name) != 0; k++)
			;
		net = d->kind == QP_ADDR && v->is_net;
		if (d->kind == QP_BOOL)
			f = v->truth ? d->sql : d->sql_false;
		else
			f = net ? d->sql_net : d->sql;
		if (f == NULL)
			continue;	/* sort, order, limit, cursor */
		if (ch_frags[k].name != NULL) {
			if (net)
				f = ch_frags[k].sql_net;
			else if (d->kind == QP_BOOL && !v->truth &&
			    ch_frags[k].sql_false != NULL)
				f = ch_frags[k].sql_false;
			else if (ch_frags[k].sql != NULL)
				f = ch_frags[k].sql;
		}
		if (f == NULL || strstr(f, "cidr_match") != NULL ||
		    strstr(f, "proc_match") != NULL) {
			snprintf(err, errlen, "%s: not available with the "
			    "ClickHouse history", d->name);
			return -1;
		}
		buf_puts(b, " AND ");
		if (strcmp(f, "@") == 0) {
			special(b, v, ifs, now);
			continue;
		}
		buf_init(&lo);
		buf_init(&hi);
		if (net && net_range(v->s, &lo, &hi) == -1) {
			buf_free(&lo);
			buf_free(&hi);
			snprintf(err, errlen, "%s: bad network", d->name);
			return -1;
		}
		render(b, f, v, lo.p ? lo.p : "", hi.p ? hi.p : "");
		buf_free(&lo);
		buf_free(&hi);
	}
	return 0;
}

/* Sorts whose params.c expression ClickHouse reads otherwise. */
static const struct {
	const char	*name, *expr;
} ch_sorts[] = {
	{ "cli_pid", "coalesce(toInt64(f.cli_pid), -1)" },
	{ "srv_pid", "coalesce(toInt64(f.srv_pid), -1)" },
	{ "rtt", "coalesce(f.rtt_ms, f.cli_latency_ms, toFloat64(-1))" },
	{ NULL, NULL }
};

/* The sort's expression; text sorts compare the first
 * QP_CURSOR_TEXT_MAX bytes as bytes, as query.c's sort_expr() has
 * SQLite do (ClickHouse compares strings as bytes, and substring()
 * counts bytes). */
void
ch_sort_expr(const struct query *q, struct buf *b)
{
	const char *e = q->sort->expr;
	int i;

	for (i = 0; ch_sorts[i].name != NULL; i++)
		if (strcmp(ch_sorts[i].name, q->sort->name) == 0)
			e = ch_sorts[i].expr;
	if (q->sort->type == QS_TEXT)
		buf_printf(b, "substring(%s, 1, %d)", e, QP_CURSOR_TEXT_MAX);
	else
		buf_puts(b, e);
}

static void
cursor_literal(const struct query *q, struct buf *b)
{
	if (q->sort->type == QS_TEXT)
		ch_quote(b, q->cur_text, q->cur_text_len);
	else
		literal(b, &q->cur_val);
}

void
ch_keyset(const struct query *q, const char *id_expr, struct buf *b)
{
	const char *op = q->desc ? "<" : ">";

	if (!q->has_cursor || q->sort == NULL)
		return;
	buf_puts(b, " AND (");
	ch_sort_expr(q, b);
	buf_printf(b, " %s ", op);
	cursor_literal(q, b);
	buf_puts(b, " OR (");
	ch_sort_expr(q, b);
	buf_puts(b, " = ");
	cursor_literal(q, b);
	buf_printf(b, " AND %s %s %lld))", id_expr, op, q->cur_id);
}

void
ch_order(const struct query *q, const char *id_expr, struct buf *b)
{
	const char *dir = q->desc ? "DESC" : "ASC";

	if (q->sort != NULL) {
		buf_puts(b, " ORDER BY ");
		ch_sort_expr(q, b);
		buf_printf(b, " %s, %s %s", dir, id_expr, dir);
	}
	buf_printf(b, " LIMIT %lld", q->limit + 1);
}
