/*
 * /api/v1/flows: the flow list (filters, sort, keyset pages) and
 * /api/v1/flows/<id>: one flow with both sides.  Columns follow
 * docs/schema.md; every filter is a row of flow_params below.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ch.h"
#include "query.h"
#include "webd.h"

/* The name last seen for an address (host_names), or NULL. */
#define NAME_SQL(a) "(SELECT name FROM host_names WHERE addr = " a \
	" ORDER BY last_seen DESC LIMIT 1)"

/* The list's columns (the detail view returns every column). */
static const char flow_cols[] =
	"SELECT f.id, (SELECT name FROM interfaces WHERE id = f.iface_id)"
	" AS iface, f.first_seen, f.last_seen, f.ip_version,"
	" f.protocol AS proto, f.vlan, f.cli_addr, f.cli_port, f.srv_addr,"
	" f.srv_port, f.source, f.last_event AS event, f.tcp_state AS state,"
	" f.sides_guessed, f.events, f.c2s_packets, f.s2c_packets,"
	" f.c2s_bytes, f.s2c_bytes, f.c2s_retrans, f.s2c_retrans,"
	" coalesce(f.rtt_ms, f.cli_latency_ms) AS rtt_ms,"
	" f.cli_pid, f.cli_process, f.cli_user, f.cli_container_name,"
	" f.cli_pod, f.srv_pid, f.srv_process, f.srv_user,"
	" f.srv_container_name, f.srv_pod, f.community_id, f.app_proto,"
	" f.app_category, f.tls_sni, f.http_host, f.dns_query,"
	" " NAME_SQL("f.cli_addr") " AS cli_name,"
	" " NAME_SQL("f.srv_addr") " AS srv_name";

void
api_flows(struct webd *w, struct req *q, struct resp *r)
{
	struct query qy;
	struct db_conn *c;
	sqlite3_stmt *st;
	struct buf sql, next;
	struct json_keys keys;
	int rc, n = 0;

	if (w->ch != NULL) {		/* webd.history = clickhouse */
		api_ch_flows(w, q, r);
		return;
	}
	query_init(&qy, flow_params, flow_sorts, 100);
	if (req_query(q, &qy, r) == -1)
		return;
	buf_init(&sql);
	buf_init(&next);
	buf_puts(&sql, flow_cols);
	buf_printf(&sql, ", %s AS _sort FROM flows f WHERE 1", qy.sort->expr);
	query_where(&qy, &sql);
	query_keyset(&qy, &sql, "f.id");
	query_order(&qy, &sql, "f.id");
	if (!buf_ok(&sql)) {
		buf_free(&sql);
		resp_error(r, 500, "out of memory");
		return;
	}
	if ((c = req_db(w, r)) == NULL) {
		buf_free(&sql);
		return;
	}
	if ((st = db_prepare(c, sql.p)) == NULL || query_bind(&qy, st) == -1) {
		db_fail(w, c, r);
		goto out;
	}
	json_keys_init(&keys, st);
	buf_puts(&r->body, "{\"flows\":[");
	/* The query asks for limit + 1 rows: the extra one only says that
	 * a next page exists, whose cursor is the last row shown. */
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == qy.limit)
			break;
		if (n++)
			buf_puts(&r->body, ",");
		json_row_keys(&r->body, st, &keys);
		if (n == qy.limit)
			query_cursor_json(&qy, st, sqlite3_column_count(st) - 1,
			    sqlite3_column_int64(st, 0), &next);
	}
	json_keys_free(&keys);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		db_fail(w, c, r);
		goto out;
	}
	buf_puts(&r->body, "],\"next\":");
	if (rc == SQLITE_ROW && next.len > 0)
		buf_add(&r->body, next.p, next.len);
	else
		buf_puts(&r->body, "null");
	buf_printf(&r->body, ",\"sort\":\"%s\",\"order\":\"%s\","
	    "\"limit\":%lld}", qy.sort->name, qy.desc ? "desc" : "asc",
	    qy.limit);
out:
	db_put(w->db, c);
	buf_free(&sql);
	buf_free(&next);
}

/* Appends the current row as a flow object whose cli_* and srv_*
 * columns are grouped into "client" and "server". */
static void
flow_detail_json(struct buf *b, sqlite3_stmt *st)
{
	static const char *const pfx[2] = { "cli_", "srv_" };
	static const char *const key[2] = { "client", "server" };
	int i, s, n = sqlite3_column_count(st), first;
	const char *name;

	buf_puts(b, "{");
	first = 1;
	for (i = 0; i < n; i++) {
		name = sqlite3_column_name(st, i);
		if (strncmp(name, "cli_", 4) == 0 ||
		    strncmp(name, "srv_", 4) == 0)
			continue;
		if (!first)
			buf_puts(b, ",");
		first = 0;
		if (strncmp(name, "j_", 2) == 0 &&
		    sqlite3_column_type(st, i) == SQLITE_TEXT) {
			/* JSON made in SQL: embedded. */
			buf_json_str(b, name + 2);
			buf_puts(b, ":");
			json_raw(b, (const char *)sqlite3_column_text(st, i),
			    (size_t)sqlite3_column_bytes(st, i));
			continue;
		}
		buf_json_str(b, name);
		buf_puts(b, ":");
		json_col(b, st, i);
	}
	for (s = 0; s < 2; s++) {
		buf_printf(b, ",\"%s\":{", key[s]);
		first = 1;
		for (i = 0; i < n; i++) {
			name = sqlite3_column_name(st, i);
			if (strncmp(name, pfx[s], 4) != 0)
				continue;
			if (!first)
				buf_puts(b, ",");
			first = 0;
			buf_json_str(b, name + 4);
			buf_puts(b, ":");
			json_col(b, st, i);
		}
		buf_puts(b, "}");
	}
	buf_puts(b, "}");
}

void
api_flow(struct webd *w, struct req *q, struct resp *r)
{
	struct query qy;
	struct db_conn *c;
	sqlite3_stmt *st;
	long long id;
	char *end;
	int rc;

	query_init(&qy, none_params, NULL, 0);
	if (req_query(q, &qy, r) == -1)
		return;
	if (w->ch != NULL) {		/* webd.history = clickhouse */
		api_ch_flow(w, q, r);
		return;
	}
	if (q->path_arg[0] < '0' || q->path_arg[0] > '9' ||
	    strlen(q->path_arg) > 19 ||
	    (id = strtoll(q->path_arg, &end, 10), *end != '\0')) {
		resp_error(r, 400, "flow id: expected a number");
		return;
	}
	if ((c = req_db(w, r)) == NULL)
		return;
	st = db_prepare(c, "SELECT f.*, i.name AS iface, i.kind AS iface_kind,"
	    " " MIRRORED_JSON("i.mirrored") " AS j_iface_mirrored, "
	    NAME_SQL("f.cli_addr")
	    " AS cli_name, " NAME_SQL("f.srv_addr") " AS srv_name"
	    " FROM flows f LEFT JOIN interfaces i"
	    " ON i.id = f.iface_id WHERE f.id = ?1");
	if (st == NULL) {
		db_fail(w, c, r);
		goto out;
	}
	sqlite3_bind_int64(st, 1, id);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		buf_puts(&r->body, "{\"flow\":");
		flow_detail_json(&r->body, st);
		buf_puts(&r->body, "}");
	} else if (rc == SQLITE_DONE)
		resp_error(r, 404, "no such flow");
	else
		db_fail(w, c, r);
out:
	db_put(w->db, c);
}
