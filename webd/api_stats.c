/*
 * Aggregate views: processes, containers and pods, listening sockets,
 * producers, interface counter series, daemons, and the dashboard
 * summary.  Each handler validates its parameters through its table in
 * params.c and runs prepared statements only.
 */
#include <stdio.h>
#include <string.h>

#include "ch.h"
#include "query.h"
#include "webd.h"

#define NOW_SQL	"((julianday('now') - 2440587.5) * 86400.0)"
#define BYTES_SQL "(coalesce(f.c2s_bytes, 0) + coalesce(f.s2c_bytes, 0))"
/* A row's bytes, NULL when neither direction was measured (an event
 * seen without packets): a sum over such rows stays NULL, so "no byte
 * counters" never reads as "0 B". */
#define BYTES_KNOWN_SQL "CASE WHEN f.c2s_bytes IS NULL AND f.s2c_bytes" \
	" IS NULL THEN NULL ELSE " BYTES_SQL " END"

/* Runs `sql` (already holding the WHERE text) with q's binds and sends
 * {"<key>": rows}.  Frees nothing; the caller owns sql. */
static void
run_rows(struct webd *w, struct resp *r, struct query *qy, const char *sql,
    const char *key)
{
	struct db_conn *c;
	sqlite3_stmt *st;

	if ((c = req_db(w, r)) == NULL)
		return;
	if ((st = db_prepare(c, sql)) == NULL || query_bind(qy, st) == -1) {
		db_fail(w, c, r);
		goto out;
	}
	buf_printf(&r->body, "{\"%s\":", key);
	if (json_rows(&r->body, st) == -1) {
		db_fail(w, c, r);
		goto out;
	}
	buf_puts(&r->body, "}");
out:
	db_put(w->db, c);
}

/*
 * Processes: each flow counts for the process on each side that has
 * one (a flow between two local processes counts for both); the peer
 * is the other side's address.  by=exe groups by executable, by=pid by
 * (executable, pid).
 */
void
api_processes(struct webd *w, struct req *q, struct resp *r)
{
	const struct qp_value *by;
	struct query qy;
	struct buf where, sql;
	int pid;

	query_init(&qy, group_params, process_sorts, 50);
	if (req_query(q, &qy, r) == -1)
		return;
	by = query_get(&qy, "by");
	if (by != NULL && strcmp(by->s, "exe") != 0 &&
	    strcmp(by->s, "pid") != 0) {
		resp_error(r, 400, "by: expected exe or pid");
		return;
	}
	pid = by != NULL && strcmp(by->s, "pid") == 0;
	buf_init(&where);
	buf_init(&sql);
	query_where(&qy, &where);
	buf_printf(&sql, "SELECT process, %s AS pid, min(user) AS user,"
	    " count(*) AS flows, sum(bytes) AS bytes,"
	    " count(DISTINCT peer) AS peers, count(DISTINCT pid) AS pids,"
	    " max(last_seen) AS last_seen FROM ("
	    " SELECT f.cli_process AS process, f.cli_pid AS pid,"
	    " f.cli_user AS user, f.srv_addr AS peer, " BYTES_KNOWN_SQL " AS bytes,"
	    " f.last_seen FROM flows f WHERE f.cli_process IS NOT NULL%s"
	    " UNION ALL"
	    " SELECT f.srv_process, f.srv_pid, f.srv_user, f.cli_addr,"
	    " " BYTES_KNOWN_SQL ", f.last_seen FROM flows f"
	    " WHERE f.srv_process IS NOT NULL%s)"
	    " GROUP BY process%s", pid ? "pid" : "NULL",
	    where.p ? where.p : "", where.p ? where.p : "",
	    pid ? ", pid" : "");
	query_order_all(&qy, &sql, "process");
	if (buf_ok(&sql) && buf_ok(&where))
		run_rows(w, r, &qy, sql.p, "processes");
	else
		resp_error(r, 500, "out of memory");
	buf_free(&where);
	buf_free(&sql);
}

/* Containers (by=container, the default) or pods (by=pod). */
void
api_containers(struct webd *w, struct req *q, struct resp *r)
{
	const struct qp_value *by;
	struct query qy;
	struct buf where, sql;
	int pod;

	query_init(&qy, group_params, container_sorts, 50);
	if (req_query(q, &qy, r) == -1)
		return;
	by = query_get(&qy, "by");
	if (by != NULL && strcmp(by->s, "container") != 0 &&
	    strcmp(by->s, "pod") != 0) {
		resp_error(r, 400, "by: expected container or pod");
		return;
	}
	pod = by != NULL && strcmp(by->s, "pod") == 0;
	buf_init(&where);
	buf_init(&sql);
	query_where(&qy, &where);
	if (pod)
		buf_printf(&sql, "SELECT name, namespace, NULL AS id,"
		    " NULL AS kind, count(*) AS flows, sum(bytes) AS bytes,"
		    " count(DISTINCT peer) AS peers,"
		    " group_concat(DISTINCT process) AS processes,"
		    " max(last_seen) AS last_seen FROM ("
		    " SELECT f.cli_pod AS name, f.cli_namespace AS namespace,"
		    " f.cli_process AS process, f.srv_addr AS peer,"
		    " " BYTES_KNOWN_SQL " AS bytes, f.last_seen FROM flows f"
		    " WHERE f.cli_pod IS NOT NULL%s UNION ALL"
		    " SELECT f.srv_pod, f.srv_namespace, f.srv_process,"
		    " f.cli_addr, " BYTES_KNOWN_SQL ", f.last_seen FROM flows f"
		    " WHERE f.srv_pod IS NOT NULL%s) GROUP BY name, namespace",
		    where.p ? where.p : "", where.p ? where.p : "");
	else
		buf_printf(&sql, "SELECT name, NULL AS namespace, min(id) AS id,"
		    " min(kind) AS kind, count(*) AS flows, sum(bytes) AS bytes,"
		    " count(DISTINCT peer) AS peers,"
		    " group_concat(DISTINCT process) AS processes,"
		    " max(last_seen) AS last_seen FROM ("
		    " SELECT coalesce(f.cli_container_name, f.cli_container_id)"
		    " AS name, f.cli_container_id AS id, f.cli_container_kind"
		    " AS kind, f.cli_process AS process, f.srv_addr AS peer,"
		    " " BYTES_KNOWN_SQL " AS bytes, f.last_seen FROM flows f"
		    " WHERE (f.cli_container_id IS NOT NULL OR"
		    " f.cli_container_name IS NOT NULL)%s UNION ALL"
		    " SELECT coalesce(f.srv_container_name, f.srv_container_id),"
		    " f.srv_container_id, f.srv_container_kind, f.srv_process,"
		    " f.cli_addr, " BYTES_KNOWN_SQL ", f.last_seen FROM flows f"
		    " WHERE (f.srv_container_id IS NOT NULL OR"
		    " f.srv_container_name IS NOT NULL)%s) GROUP BY name",
		    where.p ? where.p : "", where.p ? where.p : "");
	query_order_all(&qy, &sql, "name");
	if (buf_ok(&sql) && buf_ok(&where))
		run_rows(w, r, &qy, sql.p, pod ? "pods" : "containers");
	else
		resp_error(r, 500, "out of memory");
	buf_free(&where);
	buf_free(&sql);
}

/* Listening sockets, current and past, with keyset pages. */
void
api_listening(struct webd *w, struct req *q, struct resp *r)
{
	struct query qy;
	struct db_conn *c;
	sqlite3_stmt *st;
	struct buf sql, next;
	int rc, n = 0;

	query_init(&qy, listen_params, listen_sorts, 100);
	if (req_query(q, &qy, r) == -1)
		return;
	buf_init(&sql);
	buf_init(&next);
	buf_printf(&sql, "SELECT l.id, (SELECT name FROM interfaces WHERE"
	    " id = l.iface_id) AS iface, l.host, l.protocol AS proto,"
	    " l.ip_version, l.addr, l.port, l.pid, l.process, l.pkg,"
	    " l.first_seen, l.last_seen, l.last_seen >= " NOW_SQL " - 120"
	    " AS current, %s AS _sort FROM listening l WHERE 1",
	    qy.sort->expr);
	query_where(&qy, &sql);
	query_keyset(&qy, &sql, "l.id");
	query_order(&qy, &sql, "l.id");
	if (!buf_ok(&sql) || (c = req_db(w, r)) == NULL) {
		if (!buf_ok(&sql))
			resp_error(r, 500, "out of memory");
		buf_free(&sql);
		return;
	}
	if ((st = db_prepare(c, sql.p)) == NULL || query_bind(&qy, st) == -1) {
		db_fail(w, c, r);
		goto out;
	}
	buf_puts(&r->body, "{\"listening\":[");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == qy.limit)
			break;
		if (n++)
			buf_puts(&r->body, ",");
		json_row(&r->body, st);
		if (n == qy.limit)
			query_cursor_json(&qy, st, sqlite3_column_count(st) - 1,
			    sqlite3_column_int64(st, 0), &next);
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		db_fail(w, c, r);
		goto out;
	}
	buf_puts(&r->body, "],\"next\":");
	if (rc == SQLITE_ROW && next.len > 0)
		buf_add(&r->body, next.p, next.len);
	else
		buf_puts(&r->body, "null");
	buf_puts(&r->body, "}");
out:
	db_put(w->db, c);
	buf_free(&sql);
	buf_free(&next);
}

void
api_producers(struct webd *w, struct req *q, struct resp *r)
{
	struct query qy;

	query_init(&qy, none_params, NULL, 0);
	if (req_query(q, &qy, r) == -1)
		return;
	run_rows(w, r, &qy, "SELECT p.id, i.name AS iface, p.peer,"
	    " p.source_id, p.producer, p.first_seen, p.last_seen, p.msgs,"
	    " p.events, p.lost_msgs, p.restarts, p.bad_msgs, p.probe_drops,"
	    " p.last_seen >= " NOW_SQL " - 60 AS active,"
	    " CASE WHEN json_valid(p.info) THEN json(p.info) END AS j_info"
	    " FROM producers p LEFT JOIN interfaces i ON i.id = p.iface_id"
	    " ORDER BY p.last_seen DESC", "producers");
}

void
api_ifcounters(struct webd *w, struct req *q, struct resp *r)
{
	struct query qy;
	struct buf sql;

	query_init(&qy, ifcounter_params, NULL, 5000);
	if (req_query(q, &qy, r) == -1)
		return;
	if (query_get(&qy, "from") == NULL &&
	    query_arg(&qy, "from", "-3600", NULL, 0) == -1) {
		resp_error(r, 500, "internal error");
		return;
	}
	buf_init(&sql);
	buf_puts(&sql, "SELECT c.ts, i.name AS iface, c.producer, c.device,"
	    " c.if_index, c.if_name, c.if_speed, c.oper_status, c.in_octets,"
	    " c.out_octets, c.in_packets, c.out_packets, c.in_errors,"
	    " c.out_errors, c.in_bps, c.out_bps, c.in_pps, c.out_pps"
	    " FROM ifcounters c LEFT JOIN interfaces i ON i.id = c.iface_id"
	    " WHERE 1");
	query_where(&qy, &sql);
	buf_printf(&sql, " ORDER BY c.ts LIMIT %lld", qy.limit);
	if (buf_ok(&sql))
		run_rows(w, r, &qy, sql.p, "samples");
	else
		resp_error(r, 500, "out of memory");
	buf_free(&sql);
}

/* Every daemon: live stats from the control sockets, and the latest
 * counters the store recorded (daemons that are down included). */
void
api_daemons(struct webd *w, struct req *q, struct resp *r)
{
	struct query qy;
	struct db_conn *c;
	sqlite3_stmt *st;

	query_init(&qy, none_params, NULL, 0);
	if (req_query(q, &qy, r) == -1)
		return;
	buf_puts(&r->body, "{\"live\":");
	live_json(w->live, &r->body);
	buf_puts(&r->body, ",\"stored\":");
	if ((c = db_get(w->db)) == NULL) {
		buf_puts(&r->body, "[]}");
		return;
	}
	st = db_prepare(c, "SELECT daemon, min(role) AS role,"
	    " max(updated) AS updated,"
	    " json_group_object(key, value) AS j_counters"
	    " FROM daemon_counters GROUP BY daemon ORDER BY daemon");
	if (st == NULL || json_rows(&r->body, st) == -1) {
		db_fail(w, c, r);
		db_put(w->db, c);
		return;
	}
	buf_puts(&r->body, "}");
	db_put(w->db, c);
}

/* One dashboard statement: appends ,"key":rows. */
static int
summary_part(struct buf *b, struct db_conn *c, const char *key,
    const char *sql, double from, double to, long long step)
{
	sqlite3_stmt *st;
	int i, n;

	if ((st = db_prepare(c, sql)) == NULL)
		return -1;
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
	return json_rows(b, st) == -1 ? -1 : 0;
}

#define SUMMARY_SPAN_MAX	(31 * 86400)	/* seconds of a custom range */

/*
 * The dashboard in one request, over the last `window` seconds or the
 * custom range [from, to].  Every part counts the rows last updated in
 * the range.  `capture_bytes` are the capture daemons' byte counters
 * over time (true packet throughput, by rate); `throughput` counts, per
 * interface and `step`-second bucket, the flows last updated in it and
 * their bytes (event-only interfaces have no bytes, so this is the
 * activity chart for them).  `attribution` and `totals.packet_flows` /
 * `totals.attributed` share one definition: packet flows (source packet
 * or joined) carrying a process on some side.
 */
void
api_summary(struct webd *w, struct req *q, struct resp *r)
{
	const struct qp_value *win, *vfrom, *vto;
	struct query qy;
	struct db_conn *c;
	long long window, step;
	double now, from, to;
	int rc = 0;

	if (w->ch != NULL) {		/* webd.history = clickhouse */
		api_ch_summary(w, q, r);
		return;
	}
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
	if ((c = req_db(w, r)) == NULL)
		return;
	now = 0;
	{
		sqlite3_stmt *st = db_prepare(c, "SELECT " NOW_SQL);

		if (st != NULL && sqlite3_step(st) == SQLITE_ROW)
			now = sqlite3_column_double(st, 0);
	}
	if (vfrom != NULL) {
		from = vfrom->r;
		to = vto != NULL ? vto->r : now;
		if (to - from < 60 || to - from > SUMMARY_SPAN_MAX) {
			db_put(w->db, c);
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
	buf_printf(&r->body, "{\"now\":%.3f,\"from\":%.3f,\"to\":%.3f,"
	    "\"window\":%lld,\"step\":%lld", now, from, to, window, step);
	rc |= summary_part(&r->body, c, "throughput",
	    "SELECT i.name AS iface, CAST(f.last_seen / :step AS INTEGER) *"
	    " :step AS t, sum(" BYTES_KNOWN_SQL ") AS bytes, count(*) AS flows"
	    " FROM flow_rows f JOIN interfaces i ON i.id = f.iface_id"
	    " WHERE f.last_seen >= :from AND f.last_seen <= :to"
	    " GROUP BY i.name, t ORDER BY t", from, to, step);
	/* Packet throughput: the capture daemons' monotonic byte counters
	 * as sampled by the store (counter_history); the UI takes rates. */
	rc |= summary_part(&r->body, c, "capture_bytes",
	    "SELECT h.daemon, h.ts AS t, h.value AS bytes FROM counter_history h"
	    " WHERE h.key = 'bytes' AND h.ts >= :from - :step AND h.ts <= :to"
	    " AND h.daemon IN"
	    " (SELECT daemon FROM daemon_counters WHERE role = 'capture'"
	    " AND key = 'bytes') ORDER BY h.daemon, h.ts", from, to, step);
	/* Ranked by the bytes that were measured, then by flows: processes
	 * seen through events only have bytes null (not 0) and come after
	 * every process with byte counters. */
	rc |= summary_part(&r->body, c, "top_processes",
	    "SELECT process, sum(bytes) AS bytes, count(*) AS flows FROM ("
	    " SELECT f.cli_process AS process, " BYTES_KNOWN_SQL " AS bytes"
	    " FROM flows f WHERE f.last_seen >= :from AND f.last_seen <= :to"
	    " AND f.cli_process IS NOT NULL UNION ALL"
	    " SELECT f.srv_process, " BYTES_KNOWN_SQL " FROM flows f"
	    " WHERE f.last_seen >= :from AND f.last_seen <= :to"
	    " AND f.srv_process IS NOT NULL) GROUP BY process"
	    " ORDER BY coalesce(sum(bytes), -1) DESC, flows DESC LIMIT 10",
	    from, to, step);
	rc |= summary_part(&r->body, c, "top_talkers",
	    "SELECT addr, sum(bytes) AS bytes, count(*) AS flows FROM ("
	    " SELECT f.cli_addr AS addr, " BYTES_KNOWN_SQL " AS bytes"
	    " FROM flow_rows f WHERE f.last_seen >= :from"
	    " AND f.last_seen <= :to UNION ALL"
	    " SELECT f.srv_addr, " BYTES_KNOWN_SQL " FROM flow_rows f"
	    " WHERE f.last_seen >= :from AND f.last_seen <= :to)"
	    " GROUP BY addr ORDER BY coalesce(sum(bytes), -1) DESC,"
	    " flows DESC LIMIT 10", from, to, step);
	rc |= summary_part(&r->body, c, "attribution",
	    "SELECT i.name AS iface, count(*) AS packet_flows,"
	    " sum(f.cli_proc_id IS NOT NULL OR f.srv_proc_id IS NOT NULL)"
	    " AS with_process FROM flow_rows f JOIN interfaces i"
	    " ON i.id = f.iface_id WHERE f.last_seen >= :from AND"
	    " f.last_seen <= :to AND f.source IN ('packet', 'joined')"
	    " GROUP BY i.name", from, to, step);
	rc |= summary_part(&r->body, c, "drops",
	    "SELECT daemon, role, key, value, updated FROM daemon_counters"
	    " WHERE key IN ('lost', 'dropped', 'bad_msgs', 'bad_records',"
	    " 'write_errors', 'unmatched', 'unknown_iface', 'lost_msgs')"
	    " OR key LIKE '%drop%' OR key LIKE '%lost%' OR key LIKE 'bad%'"
	    " OR key LIKE '%error%' ORDER BY daemon, key", from, to, step);
	rc |= summary_part(&r->body, c, "totals",
	    "SELECT count(*) AS flows, sum(" BYTES_KNOWN_SQL ") AS bytes,"
	    " sum(f.source IN ('packet', 'joined')) AS packet_flows,"
	    " sum(f.source IN ('packet', 'joined') AND"
	    " (f.cli_proc_id IS NOT NULL OR f.srv_proc_id IS NOT NULL))"
	    " AS attributed, sum(f.cli_proc_id IS NOT NULL OR"
	    " f.srv_proc_id IS NOT NULL) AS with_process"
	    " FROM flow_rows f WHERE f.last_seen >= :from"
	    " AND f.last_seen <= :to", from, to, step);
	if (rc != 0)
		db_fail(w, c, r);
	else
		buf_puts(&r->body, "}");
	db_put(w->db, c);
}
