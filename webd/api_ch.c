/*
 * The flow endpoints on the ClickHouse history (webd.history =
 * clickhouse): /api/v1/flows, /api/v1/flows/<id> and the flow parts of
 * /api/v1/summary, answering exactly as the SQLite handlers in
 * api_flows.c and api_stats.c do (the same keys, order, values and
 * cursors; tests/integration/clickhouse_api.sh compares them).  Every
 * query reads the last version of each flow: the list and one flow by
 * the primary key, the summary by excluding the older versions of the
 * few flows that have several in its range (below); neither reads
 * FINAL unless stale versions are too many, and then FINAL must name
 * `ver` (the server Debian ships needs the version column in the query
 * to apply FINAL through a Distributed table).  Interface names come
 * from SQLite's interfaces table.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"
#include "ch.h"
#include "query.h"
#include "webd.h"

/* api_flows.c's list columns, in its order and with its names. */
static const char ch_list_cols[] =
	"SELECT f.id AS id, f.iface_id AS iface, f.first_seen AS first_seen,"
	" f.last_seen AS last_seen, f.ip_version AS ip_version,"
	" f.protocol AS proto, f.vlan AS vlan, f.cli_addr AS cli_addr,"
	" f.cli_port AS cli_port, f.srv_addr AS srv_addr,"
	" f.srv_port AS srv_port, f.source AS source, f.last_event AS event,"
	" f.tcp_state AS state, f.sides_guessed AS sides_guessed,"
	" f.events AS events, f.c2s_packets AS c2s_packets,"
	" f.s2c_packets AS s2c_packets, f.c2s_bytes AS c2s_bytes,"
	" f.s2c_bytes AS s2c_bytes, f.c2s_retrans AS c2s_retrans,"
	" f.s2c_retrans AS s2c_retrans,"
	" coalesce(f.rtt_ms, f.cli_latency_ms) AS rtt_ms,"
	" f.cli_pid AS cli_pid, f.cli_process AS cli_process,"
	" f.cli_user AS cli_user, f.cli_container_name AS cli_container_name,"
	" f.cli_pod AS cli_pod, f.srv_pid AS srv_pid,"
	" f.srv_process AS srv_process, f.srv_user AS srv_user,"
	" f.srv_container_name AS srv_container_name, f.srv_pod AS srv_pod,"
	" f.community_id AS community_id, f.app_proto AS app_proto,"
	" f.app_category AS app_category, f.tls_sni AS tls_sni,"
	" f.http_host AS http_host, f.dns_query AS dns_query,"
	" f.cli_addr AS cli_name, f.srv_addr AS srv_name";

/* Columns of the ClickHouse table that SQLite's `flows` has not. */
static const char *const ch_only[] = {
	"cli_proc_id", "cli_parent_id", "cli_cont_id", "srv_proc_id",
	"srv_parent_id", "srv_cont_id", "cli_ip", "srv_ip", "day", "ver",
	NULL
};

static void
ch_fail(struct webd *w, struct resp *r, const char *err)
{
	WEBD_COUNT(w, WC_DB_ERRORS);
	LOG_RATELIMITED(log_warnx, "clickhouse history: %s", err);
	resp_error(r, 503, "history (ClickHouse) unavailable");
}

static double
now_sec(void)
{
	return (double)clock_wall_usec() / 1e6;
}

/*
 * The list without FINAL.  FINAL reads and merges every column of
 * every version in the parts a query touches; instead, two small
 * queries:
 *
 *  1. candidates: the first K rows (versions) by the sort among those
 *     that pass the filters and the cursor, reading only the columns
 *     these name (no dedup);
 *  2. the last version (highest ver) of each candidate id, read by the
 *     primary key (ORDER BY id), filtered, sorted and limited again.
 *
 * A flow whose last version passes and sorts before the K-th candidate
 * (B) is itself a candidate, so the rows of step 2 that sort no later
 * than B are exact; if limit + 1 of them are there, or step 1 ran out
 * of rows, the page is right.  Otherwise stale versions filled the
 * candidates: K grows, up to CH_CAND_MAX, then the FINAL query
 * answers.  Every version of a flow is on one shard, but step 2 picks
 * the last across partitions too (a flow whose first_seen moved back
 * across midnight reads once).
 */
#define CH_CAND_MIN	256	/* candidates asked first, at least */
#define CH_CAND_MAX	8192	/* ids in step 2's literal list, at most */

/* Appends q's sort value in cell `v` (a step-1 answer) as a literal;
 * -1 if it has none (NULL, or not a number). */
static int
sort_literal(const struct query *q, const char *v, struct buf *b)
{
	char *end;
	double d;

	if (v == NULL)
		return -1;
	if (q->sort->type == QS_TEXT)
		ch_quote(b, v, strlen(v));
	else if (q->sort->type == QS_REAL) {
		/* ClickHouse prints the shortest text that reads back
		 * exactly. */
		d = strtod(v, &end);
		if (end == v || *end != '\0')
			return -1;
		ch_real(b, d);
	} else {
		(void)strtoll(v, &end, 10);
		if (end == v || *end != '\0')
			return -1;
		buf_puts(b, v);
	}
	return 0;
}

/* The page's SELECT over `from` (a FROM clause naming the flows `f`)
 * with the filters and cursor `where` (" AND ..."), `extra` too. */
static void
list_sql(struct webd *w, const struct query *qy, const char *from,
    const char *where, const char *extra, struct buf *sql)
{
	buf_reset(sql);
	buf_printf(sql, "%s, ", ch_list_cols);
	ch_sort_expr(qy, sql);
	buf_printf(sql, " AS _sort FROM %s%s%s", from, where, extra);
	(void)w;
	ch_order(qy, "f.id", sql);
}

/*
 * Steps 1 and 2 above for candidates K: 1 with the page in `res`, 0 if
 * K was too few (res empty), -1 with err.
 */
static int
list_two_step(struct webd *w, const struct query *qy, const char *where,
    long long k, struct ch_result *res, char *err, size_t errlen)
{
	struct ch_result cand;
	struct buf sql, from, bound;
	const char *op = qy->desc ? ">" : "<";
	char **last;
	size_t i;
	int rc = -1, exhausted;

	memset(res, 0, sizeof(*res));
	buf_init(&sql);
	buf_init(&from);
	buf_init(&bound);
	buf_puts(&sql, "SELECT f.id AS id, ");
	ch_sort_expr(qy, &sql);
	buf_printf(&sql, " AS _sort FROM %s.flows AS f WHERE 1%s",
	    w->ch->database, where);
	buf_puts(&sql, " ORDER BY ");
	ch_sort_expr(qy, &sql);
	buf_printf(&sql, " %s, f.id %s LIMIT %lld", qy->desc ? "DESC" : "ASC",
	    qy->desc ? "DESC" : "ASC", k);
	if (!buf_ok(&sql)) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (ch_select(w->ch, sql.p, &cand, err, errlen) == -1)
		goto out;
	if (cand.ncol != 2) {
		snprintf(err, errlen, "candidates: %d columns", cand.ncol);
		ch_result_free(&cand);
		goto out;
	}
	exhausted = cand.nrow < (size_t)k;
	if (cand.nrow == 0) {
		/* No version passes: nor does any last one. */
		ch_result_free(&cand);
		buf_init(&res->data);
		rc = 1;
		goto out;
	}
	buf_printf(&from, "(SELECT * FROM %s.flows WHERE id IN (",
	    w->ch->database);
	for (i = 0; i < cand.nrow; i++)
		buf_printf(&from, "%s%s", i ? "," : "",
		    cand.cell[i * 2] ? cand.cell[i * 2] : "0");
	buf_puts(&from, ") ORDER BY id, ver DESC LIMIT 1 BY id) AS f WHERE 1");
	if (!exhausted) {
		/* Only rows sorting no later than the K-th candidate. */
		last = cand.cell + (cand.nrow - 1) * 2;
		buf_puts(&bound, " AND (");
		ch_sort_expr(qy, &bound);
		buf_printf(&bound, " %s ", op);
		if (sort_literal(qy, last[1], &bound) == -1) {
			ch_result_free(&cand);
			rc = 0;		/* the FINAL query answers */
			goto out;
		}
		buf_puts(&bound, " OR (");
		ch_sort_expr(qy, &bound);
		buf_puts(&bound, " = ");
		(void)sort_literal(qy, last[1], &bound);
		buf_printf(&bound, " AND f.id %s= %s))", op, last[0]);
	}
	ch_result_free(&cand);
	list_sql(w, qy, from.p, where, bound.p ? bound.p : "", &sql);
	if (!buf_ok(&sql) || !buf_ok(&from) || !buf_ok(&bound)) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (ch_select(w->ch, sql.p, res, err, errlen) == -1)
		goto out;
	if (exhausted || res->nrow > (size_t)qy->limit)
		rc = 1;
	else {
		ch_result_free(res);
		memset(res, 0, sizeof(*res));
		rc = 0;
	}
out:
	buf_free(&sql);
	buf_free(&from);
	buf_free(&bound);
	return rc;
}

void
api_ch_flows(struct webd *w, struct req *q, struct resp *r)
{
	struct query qy;
	struct ch_ifaces ifs;
	struct ch_result res;
	struct buf sql, where, from;
	char err[512];
	size_t i, n;
	long long k;
	int sortcol = -1, c, rc = 0;

	query_init(&qy, flow_params, flow_sorts, 100);
	if (req_query(q, &qy, r) == -1)
		return;
	if (ch_ifaces_load(w, &ifs) == -1) {
		ch_ifaces_free(&ifs);
		resp_error(r, 503, "database unavailable");
		return;
	}
	buf_init(&sql);
	buf_init(&where);
	buf_init(&from);
	if (ch_where(&qy, &ifs, now_sec(), &where, err, sizeof(err)) == -1) {
		resp_error(r, 400, err);
		goto out;
	}
	ch_keyset(&qy, "f.id", &where);
	if (!buf_ok(&where)) {
		resp_error(r, 500, "out of memory");
		goto out;
	}
	k = 4 * (qy.limit + 1);
	if (k < CH_CAND_MIN)
		k = CH_CAND_MIN;
	for (; k <= CH_CAND_MAX; k *= 4) {
		if ((rc = list_two_step(w, &qy, where.p ? where.p : "", k,
		    &res, err, sizeof(err))) != 0)
			break;
		WEBD_COUNT(w, WC_CH_LIST_RETRIES);
	}
	if (rc == 0) {
		/* Too many stale versions sort first: FINAL. */
		WEBD_COUNT(w, WC_CH_LIST_FINAL);
		buf_printf(&from, "%s.flows AS f FINAL WHERE f.ver > 0",
		    w->ch->database);
		list_sql(w, &qy, from.p, where.p ? where.p : "", "", &sql);
		if (!buf_ok(&sql) || !buf_ok(&from)) {
			resp_error(r, 500, "out of memory");
			goto out;
		}
		rc = ch_select(w->ch, sql.p, &res, err, sizeof(err)) == -1 ?
		    -1 : 1;
	}
	if (rc == -1) {
		ch_fail(w, r, err);
		goto out;
	}
	for (c = 0; c < res.ncol; c++)
		if (strcmp(res.name[c], "_sort") == 0)
			sortcol = c;
	n = res.nrow > (size_t)qy.limit ? (size_t)qy.limit : res.nrow;
	buf_puts(&r->body, "{\"flows\":[");
	for (i = 0; i < n; i++) {
		if (i)
			buf_puts(&r->body, ",");
		ch_row_json(&r->body, &res, i, &ifs);
	}
	buf_puts(&r->body, "],\"next\":");
	/* limit + 1 rows asked: the extra one says a next page exists. */
	if (res.nrow > n && n > 0 && sortcol >= 0) {
		char **row = res.cell + (n - 1) * (size_t)res.ncol;

		query_cursor_text(&qy, row[sortcol], strtoll(row[0], NULL, 10),
		    &r->body);
	} else
		buf_puts(&r->body, "null");
	buf_printf(&r->body, ",\"sort\":\"%s\",\"order\":\"%s\","
	    "\"limit\":%lld}", qy.sort->name, qy.desc ? "desc" : "asc",
	    qy.limit);
	ch_result_free(&res);
out:
	ch_ifaces_free(&ifs);
	buf_free(&sql);
	buf_free(&where);
	buf_free(&from);
}

static int
is_ch_only(const char *name)
{
	int i;

	for (i = 0; ch_only[i] != NULL; i++)
		if (strcmp(ch_only[i], name) == 0)
			return 1;
	return 0;
}

/* api_flows.c's flow_detail_json() for a ClickHouse row: the flow's
 * columns, the interface's, then "client" and "server". */
static void
detail_json(struct buf *b, const struct ch_result *res, long long iface_id,
    const struct ch_ifaces *ifs)
{
	static const char *const pfx[2] = { "cli_", "srv_" };
	static const char *const key[2] = { "client", "server" };
	const char *addr[2] = { NULL, NULL };
	struct db_conn *c;
	sqlite3_stmt *st;
	int i, s, first = 1;

	for (i = 0; i < res->ncol; i++) {
		if (strcmp(res->name[i], "cli_addr") == 0)
			addr[0] = res->cell[i];
		else if (strcmp(res->name[i], "srv_addr") == 0)
			addr[1] = res->cell[i];
	}

	buf_puts(b, "{");
	for (i = 0; i < res->ncol; i++) {
		const char *name = res->name[i];

		if (strncmp(name, "cli_", 4) == 0 ||
		    strncmp(name, "srv_", 4) == 0 || is_ch_only(name))
			continue;
		if (!first)
			buf_puts(b, ",");
		first = 0;
		json_str(b, name, strlen(name));
		buf_puts(b, ":");
		ch_cell_json(b, res->type[i], res->cell[i]);
	}
	/* The interface's columns, as the LEFT JOIN adds them. */
	if ((c = ifs->conn) != NULL && (st = db_prepare(c,
	    "SELECT name AS iface, kind AS iface_kind, "
	    MIRRORED_JSON("mirrored") " AS iface_mirrored FROM (SELECT 1)"
	    " LEFT JOIN interfaces ON id = ?1")) != NULL) {
		sqlite3_bind_int64(st, 1, iface_id);
		if (sqlite3_step(st) == SQLITE_ROW)
			for (i = 0; i < 3; i++) {
				buf_puts(b, ",");
				json_str(b, sqlite3_column_name(st, i),
				    strlen(sqlite3_column_name(st, i)));
				buf_puts(b, ":");
				if (i == 2)	/* made as JSON text */
					json_raw(b, (const char *)
					    sqlite3_column_text(st, i),
					    (size_t)sqlite3_column_bytes(st,
					    i));
				else
					json_col(b, st, i);
			}
	}
	for (s = 0; s < 2; s++) {
		buf_printf(b, ",\"%s\":{", key[s]);
		first = 1;
		for (i = 0; i < res->ncol; i++) {
			const char *name = res->name[i];

			if (strncmp(name, pfx[s], 4) != 0 || is_ch_only(name))
				continue;
			if (!first)
				buf_puts(b, ",");
			first = 0;
			json_str(b, name + 4, strlen(name + 4));
			buf_puts(b, ":");
			ch_cell_json(b, res->type[i], res->cell[i]);
		}
		/* NAME_SQL's cli_name, srv_name: the side's last column. */
		buf_puts(b, first ? "\"name\":" : ",\"name\":");
		ch_host_json(b, ifs, addr[s]);
		buf_puts(b, "}");
	}
	buf_puts(b, "}");
}

void
api_ch_flow(struct webd *w, struct req *q, struct resp *r)
{
	struct ch_result res;
	struct ch_ifaces ifs;
	struct buf sql;
	char err[512], *end;
	long long id;
	int c, ic = -1;

	if (q->path_arg[0] < '0' || q->path_arg[0] > '9' ||
	    strlen(q->path_arg) > 19 ||
	    (id = strtoll(q->path_arg, &end, 10), *end != '\0')) {
		resp_error(r, 400, "flow id: expected a number");
		return;
	}
	buf_init(&sql);
	/* The last version, by the primary key (no FINAL). */
	buf_printf(&sql, "SELECT * FROM %s.flows AS f WHERE f.id = %lld"
	    " ORDER BY f.ver DESC LIMIT 1", w->ch->database, id);
	if (ch_select(w->ch, sql.p, &res, err, sizeof(err)) == -1) {
		ch_fail(w, r, err);
		buf_free(&sql);
		return;
	}
	buf_free(&sql);
	if (res.nrow == 0) {
		resp_error(r, 404, "no such flow");
		ch_result_free(&res);
		return;
	}
	for (c = 0; c < res.ncol; c++)
		if (strcmp(res.name[c], "iface_id") == 0)
			ic = c;
	if (ch_ifaces_load(w, &ifs) == -1) {
		ch_ifaces_free(&ifs);
		ch_result_free(&res);
		resp_error(r, 503, "database unavailable");
		return;
	}
	buf_puts(&r->body, "{\"flow\":");
	detail_json(&r->body, &res, ic >= 0 && res.cell[ic] != NULL ?
	    strtoll(res.cell[ic], NULL, 10) : -1, &ifs);
	buf_puts(&r->body, "}");
	ch_ifaces_free(&ifs);
	ch_result_free(&res);
}

/* api_stats.c's BYTES_KNOWN_SQL. */
#define CH_BYTES "multiIf(isNull(f.c2s_bytes) AND isNull(f.s2c_bytes), NULL," \
	" coalesce(f.c2s_bytes, 0) + coalesce(f.s2c_bytes, 0))"

/* SQLite's sum(): NULL over no rows (ClickHouse's is 0). */
#define CH_SUM(x) "if(count() = 0, NULL, sum(" x "))"

/* One ClickHouse part of the dashboard: appends ,"key":rows. */
static int
ch_part(struct webd *w, struct buf *b, const struct ch_ifaces *ifs,
    const char *key, const char *fmt, const char *range, double from,
    double to, long long step, int join)
{
	struct ch_result res;
	struct buf sql;
	char err[512];
	const char *p;

	buf_init(&sql);
	/* :from, :to, :step, :db as in api_stats.c's statements; :range,
	 * the rows to aggregate (range_sql()) */
	for (p = fmt; *p != '\0'; p++) {
		if (strncmp(p, ":range", 6) == 0) {
			buf_puts(&sql, range);
			p += 5;
		} else if (strncmp(p, ":from", 5) == 0) {
			ch_real(&sql, from);
			p += 4;
		} else if (strncmp(p, ":to", 3) == 0) {
			ch_real(&sql, to);
			p += 2;
		} else if (strncmp(p, ":step", 5) == 0) {
			buf_printf(&sql, "%lld", step);
			p += 4;
		} else if (strncmp(p, ":db", 3) == 0) {
			buf_puts(&sql, w->ch->database);
			p += 2;
		} else
			buf_add(&sql, p, 1);
	}
	if (!buf_ok(&sql) || ch_select(w->ch, sql.p, &res, err,
	    sizeof(err)) == -1) {
		LOG_RATELIMITED(log_warnx, "clickhouse history: %s: %s", key,
		    buf_ok(&sql) ? err : "out of memory");
		buf_free(&sql);
		return -1;
	}
	buf_free(&sql);
	buf_printf(b, ",\"%s\":", key);
	ch_rows_json(b, &res, ifs, join);
	ch_result_free(&res);
	return 0;
}

/* One SQLite part (counters stay in SQLite). */
static int
lite_part(struct webd *w, struct buf *b, const char *key, const char *sql,
    double from, double to, long long step)
{
	struct db_conn *c;
	sqlite3_stmt *st;
	int i, n, rc;

	if ((c = db_get(w->db)) == NULL)
		return -1;
	if ((st = db_prepare(c, sql)) == NULL) {
		db_put(w->db, c);
		return -1;
	}
	n = sqlite3_bind_parameter_count(st);
	for (i = 1; i <= n; i++) {
		const char *pn = sqlite3_bind_parameter_name(st, i);

		if (pn != NULL && strcmp(pn, ":from") == 0)
			sqlite3_bind_double(st, i, from);
		else if (pn != NULL && strcmp(pn, ":to") == 0)
			sqlite3_bind_double(st, i, to);
		else if (pn != NULL && strcmp(pn, ":step") == 0)
			sqlite3_bind_int64(st, i, step);
	}
	buf_printf(b, ",\"%s\":", key);
	rc = json_rows(b, st) == -1 ? -1 : 0;
	db_put(w->db, c);
	return rc;
}

#define CH_RANGE " :range"

/*
 * The summary without FINAL.  Its parts aggregate the last version of
 * each flow last seen in [from, to].  The store writes a flow's
 * last_seen never lower than in its earlier versions (flow_merge.c
 * keeps the latest), so a flow's last version is among its versions
 * with last_seen >= from, and a flow with one such version has it as
 * its last (then the range check decides).  Only flows with several
 * there need a choice: one query (each shard alone: a flow's versions
 * are all on its shard) lists them with their highest ver, and every
 * part reads the rows in range minus those flows' other versions.
 * Merges collapse versions, so the list is short; past
 * CH_SUMMARY_DUPS_MAX (the SQL stays well under the server's 256 KiB
 * max_query_size, twice in a UNION) the parts read FINAL instead.
 */
#define CH_SUMMARY_DUPS_MAX	1024	/* flows with several versions */

static int
digits_ok(const char *v)
{
	return v != NULL && *v != '\0' && strlen(v) <= 20 &&
	    strspn(v, "0123456789") == strlen(v);
}

/*
 * Makes `range` (" FROM ... WHERE ...": the rows of flows `f` the parts
 * aggregate) for [from, to].  0, or -1 with err (out of memory).
 */
static int
range_sql(struct webd *w, double from, double to, struct buf *range,
    char *err, size_t errlen)
{
	struct ch_result res;
	struct buf sql;
	size_t i;
	int final = 0;

	buf_init(&sql);
	buf_printf(&sql, "SELECT id, max(ver) FROM %s.flows WHERE"
	    " last_seen >= ", w->ch->database);
	ch_real(&sql, from);
	buf_printf(&sql, " GROUP BY id HAVING count() > 1 LIMIT %d"
	    " SETTINGS distributed_group_by_no_merge = 1",
	    CH_SUMMARY_DUPS_MAX + 1);
	if (!buf_ok(&sql)) {
		buf_free(&sql);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	/* It hashes every id since `from`: over a long range a server
	 * may refuse it (max_memory_usage) where FINAL, which streams,
	 * answers; if no shard answers, the parts fail as well. */
	if (ch_select(w->ch, sql.p, &res, err, errlen) == -1) {
		LOG_RATELIMITED(log_warnx, "clickhouse history: summary "
		    "versions: %s (FINAL instead)", err);
		final = 1;
	} else if (res.ncol != 2) {
		LOG_RATELIMITED(log_warnx, "clickhouse history: summary "
		    "versions: %d columns (FINAL instead)", res.ncol);
		final = 1;
	}
	buf_free(&sql);
	/* (each shard stops at the bound: the sum may pass it) */
	if (res.nrow > CH_SUMMARY_DUPS_MAX)
		final = 1;
	for (i = 0; !final && i < res.nrow * 2; i++)
		if (!digits_ok(res.cell[i]))
			final = 1;
	buf_printf(range, " FROM %s.flows AS f%s WHERE f.last_seen >= ",
	    w->ch->database, final ? " FINAL" : "");
	ch_real(range, from);
	buf_puts(range, " AND f.last_seen <= ");
	ch_real(range, to);
	if (final) {
		WEBD_COUNT(w, WC_CH_SUMMARY_FINAL);
		buf_puts(range, " AND f.ver > 0");
	} else if (res.nrow > 0) {
		buf_puts(range, " AND (f.id NOT IN (");
		for (i = 0; i < res.nrow; i++)
			buf_printf(range, "%s%s", i ? "," : "",
			    res.cell[i * 2]);
		buf_puts(range, ") OR (f.id, f.ver) IN (");
		for (i = 0; i < res.nrow; i++)
			buf_printf(range, "%s(%s,%s)", i ? "," : "",
			    res.cell[i * 2], res.cell[i * 2 + 1]);
		buf_puts(range, "))");
	}
	ch_result_free(&res);
	if (!buf_ok(range)) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

/* api_summary() with the flow parts from ClickHouse. */
void
api_ch_summary(struct webd *w, struct req *q, struct resp *r)
{
	const struct qp_value *win, *vfrom, *vto;
	struct ch_ifaces ifs;
	struct query qy;
	struct buf range;
	long long window, step;
	double now, from, to;
	char err[512];
	int rc = 0;

	query_init(&qy, summary_params, NULL, 0);
	if (req_query(q, &qy, r) == -1)
		return;
	win = query_get(&qy, "window");
	vfrom = query_get(&qy, "from");
	vto = query_get(&qy, "to");
	if (win != NULL && vfrom != NULL) {
		resp_error(r, 400, "window: not with from (a custom range)");
		return;
	}
	if (vto != NULL && vfrom == NULL) {
		resp_error(r, 400, "to: needs from");
		return;
	}
	now = now_sec();
	if (vfrom != NULL) {
		from = vfrom->r;
		to = vto != NULL ? vto->r : now;
		if (to - from < 60 || to - from > 31 * 86400) {
			resp_error(r, 400, "from, to: the range must be 60 s"
			    " to 31 days long");
			return;
		}
		window = (long long)(to - from);
	} else {
		window = win != NULL ? win->i : 900;
		to = now;
		from = now - (double)window;
	}
	step = window / 60 > 0 ? window / 60 : 1;
	if (ch_ifaces_load(w, &ifs) == -1) {
		ch_ifaces_free(&ifs);
		resp_error(r, 503, "database unavailable");
		return;
	}
	buf_init(&range);
	if (range_sql(w, from, to, &range, err, sizeof(err)) == -1) {
		ch_ifaces_free(&ifs);
		buf_free(&range);
		ch_fail(w, r, err);
		return;
	}
	buf_printf(&r->body, "{\"now\":%.3f,\"from\":%.3f,\"to\":%.3f,"
	    "\"window\":%lld,\"step\":%lld", now, from, to, window, step);
	rc |= ch_part(w, &r->body, &ifs, "throughput",
	    "SELECT f.iface_id AS iface, toInt64(f.last_seen / :step) * :step"
	    " AS t, sum(" CH_BYTES ") AS bytes, count() AS flows" CH_RANGE
	    " GROUP BY iface, t ORDER BY t, iface", range.p, from, to, step, 1);
	rc |= lite_part(w, &r->body, "capture_bytes",
	    "SELECT h.daemon, h.ts AS t, h.value AS bytes FROM counter_history h"
	    " WHERE h.key = 'bytes' AND h.ts >= :from - :step AND h.ts <= :to"
	    " AND h.daemon IN"
	    " (SELECT daemon FROM daemon_counters WHERE role = 'capture'"
	    " AND key = 'bytes') ORDER BY h.daemon, h.ts", from, to, step);
	/* The inner column is `b`: ClickHouse would read `bytes` in
	 * ORDER BY as the outer sum's alias. */
	rc |= ch_part(w, &r->body, &ifs, "top_processes",
	    "SELECT process, sum(b) AS bytes, count() AS flows FROM ("
	    " SELECT f.cli_process AS process, " CH_BYTES " AS b" CH_RANGE
	    " AND f.cli_process IS NOT NULL UNION ALL"
	    " SELECT f.srv_process AS process, " CH_BYTES " AS b" CH_RANGE
	    " AND f.srv_process IS NOT NULL) GROUP BY process"
	    " ORDER BY coalesce(toInt64(sum(b)), -1) DESC, flows DESC"
	    " LIMIT 10", range.p, from, to, step, 0);
	rc |= ch_part(w, &r->body, &ifs, "top_talkers",
	    "SELECT addr, sum(b) AS bytes, count() AS flows FROM ("
	    " SELECT f.cli_addr AS addr, " CH_BYTES " AS b" CH_RANGE
	    " UNION ALL SELECT f.srv_addr AS addr, " CH_BYTES " AS b"
	    CH_RANGE ") GROUP BY addr"
	    " ORDER BY coalesce(toInt64(sum(b)), -1) DESC, flows DESC"
	    " LIMIT 10", range.p, from, to, step, 0);
	rc |= ch_part(w, &r->body, &ifs, "attribution",
	    "SELECT f.iface_id AS iface, count() AS packet_flows,"
	    " sum(f.cli_proc_id IS NOT NULL OR f.srv_proc_id IS NOT NULL)"
	    " AS with_process" CH_RANGE " AND f.source IN ('packet', 'joined')"
	    " GROUP BY iface", range.p, from, to, step, 1);
	rc |= lite_part(w, &r->body, "drops",
	    "SELECT daemon, role, key, value, updated FROM daemon_counters"
	    " WHERE key IN ('lost', 'dropped', 'bad_msgs', 'bad_records',"
	    " 'write_errors', 'unmatched', 'unknown_iface', 'lost_msgs')"
	    " OR key LIKE '%drop%' OR key LIKE '%lost%' OR key LIKE 'bad%'"
	    " OR key LIKE '%error%' ORDER BY daemon, key", from, to, step);
	rc |= ch_part(w, &r->body, &ifs, "totals",
	    "SELECT count() AS flows, " CH_SUM(CH_BYTES) " AS bytes, "
	    CH_SUM("f.source IN ('packet', 'joined')") " AS packet_flows, "
	    CH_SUM("f.source IN ('packet', 'joined') AND"
	    " (f.cli_proc_id IS NOT NULL OR f.srv_proc_id IS NOT NULL)")
	    " AS attributed, " CH_SUM("f.cli_proc_id IS NOT NULL OR"
	    " f.srv_proc_id IS NOT NULL") " AS with_process" CH_RANGE,
	    range.p, from, to, step, 0);
	ch_ifaces_free(&ifs);
	buf_free(&range);
	if (rc != 0) {
		buf_reset(&r->body);
		ch_fail(w, r, "summary");
	} else
		buf_puts(&r->body, "}");
}
