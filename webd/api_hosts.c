/*
 * What the UI asks about one thing at a time: a host (everything about
 * one address), the search box (addresses, processes, containers and
 * names that match a text) and the process tree (parent -> child, with
 * their flows).  Each handler checks its parameters through its table in
 * params.c (query.h), bounds its time range and its rows, and runs
 * prepared statements only.  See docs/api.md.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "query.h"
#include "webd.h"

#define BYTES_SQL "(coalesce(f.c2s_bytes, 0) + coalesce(f.s2c_bytes, 0))"
/* NULL when neither direction was measured (events only). */
#define BYTES_KNOWN_SQL "CASE WHEN f.c2s_bytes IS NULL AND f.s2c_bytes" \
	" IS NULL THEN NULL ELSE " BYTES_SQL " END"

#define HOST_SPAN_DEFAULT	86400		/* seconds: the last day */
#define HOST_SPAN_MAX		(31 * 86400)	/* seconds of one range */
#define HOST_PEERS_MAX		20		/* rows of each top list */
#define HOST_PROCS_MAX		50
#define HOST_NAMES_MAX		20

/* The host-name table the store fills from DNS answers and nDPI, when
 * the database has one (schema.md, "host_names"). */
#define NAMES_TABLE	"host_names"

/* What every statement of a host answer is bound to, by name. */
struct host_args {
	char		 addr[QP_VALUE_MAX];
	char		 text[QP_VALUE_MAX];	/* search text, lower case */
	const char	*iface;		/* NULL: every interface */
	long long	 pid;		/* search text as a pid, or -1 */
	double		 from, to;
	long long	 step;		/* seconds per chart bucket */
	long long	 limit;
};

static int
host_bind(sqlite3_stmt *st, const struct host_args *a)
{
	const char *pn;
	int i, n, rc = SQLITE_OK;

	n = sqlite3_bind_parameter_count(st);
	for (i = 1; i <= n && rc == SQLITE_OK; i++) {
		if ((pn = sqlite3_bind_parameter_name(st, i)) == NULL)
			return -1;
		if (strcmp(pn, ":addr") == 0)
			rc = sqlite3_bind_text(st, i, a->addr, -1,
			    SQLITE_TRANSIENT);
		else if (strcmp(pn, ":q") == 0)
			rc = sqlite3_bind_text(st, i, a->text, -1,
			    SQLITE_TRANSIENT);
		else if (strcmp(pn, ":pid") == 0)
			rc = a->pid >= 0 ? sqlite3_bind_int64(st, i, a->pid) :
			    sqlite3_bind_null(st, i);
		else if (strcmp(pn, ":iface") == 0)
			rc = a->iface != NULL ? sqlite3_bind_text(st, i,
			    a->iface, -1, SQLITE_TRANSIENT) :
			    sqlite3_bind_null(st, i);
		else if (strcmp(pn, ":from") == 0)
			rc = sqlite3_bind_double(st, i, a->from);
		else if (strcmp(pn, ":to") == 0)
			rc = sqlite3_bind_double(st, i, a->to);
		else if (strcmp(pn, ":step") == 0)
			rc = sqlite3_bind_int64(st, i, a->step);
		else if (strcmp(pn, ":limit") == 0)
			rc = sqlite3_bind_int64(st, i, a->limit);
		else if (strcmp(pn, ":peers") == 0)
			rc = sqlite3_bind_int64(st, i, HOST_PEERS_MAX);
		else if (strcmp(pn, ":procs") == 0)
			rc = sqlite3_bind_int64(st, i, HOST_PROCS_MAX);
		else
			return -1;
	}
	return rc == SQLITE_OK ? 0 : -1;
}

/* Appends "key":rows (a leading comma unless first).  0 or -1. */
static int
host_part(struct buf *b, struct db_conn *c, const char *key, const char *sql,
    const struct host_args *a, int first)
{
	sqlite3_stmt *st;

	if ((st = db_prepare(c, sql)) == NULL || host_bind(st, a) == -1)
		return -1;
	buf_printf(b, "%s\"%s\":", first ? "" : ",", key);
	return json_rows(b, st) == -1 ? -1 : 0;
}

/* The range [from, to] of a request's from/to parameters: the last
 * `span` seconds by default; 0, or -1 with a 400 in r. */
static int
range_of(const struct query *qy, long long span, double *from, double *to,
    struct resp *r)
{
	const struct qp_value *vf = query_get(qy, "from");
	const struct qp_value *vt = query_get(qy, "to");
	double now = (double)clock_wall_usec() / 1e6;

	*to = vt != NULL ? vt->r : now;
	*from = vf != NULL ? vf->r : *to - (double)span;
	if (*to <= *from || *to - *from > HOST_SPAN_MAX) {
		resp_error(r, 400, "from, to: from must be before to, at most"
		    " 31 days apart");
		return -1;
	}
	return 0;
}

/* The rows of one host: either side is the address, seen in the range,
 * on one interface or all.  The time condition comes first so SQLite
 * takes the last_seen index. */
#define HOST_WHERE \
	" f.last_seen >= :from AND f.last_seen <= :to" \
	" AND (f.cli_addr = :addr OR f.srv_addr = :addr)" \
	" AND (:iface IS NULL OR f.iface_id =" \
	" (SELECT id FROM interfaces WHERE name = :iface))"

/*
 * One statement for the whole answer: the host's rows are read once
 * (a materialized CTE: with no index on addresses each read scans the
 * range) and every part is aggregated from them as JSON.  Six
 * statements took 0.9 s on a 24-hour range of 144,000 flows; see
 * docs/api.md.  `sent`/`rcvd` are the host's own directions, `peer` the
 * other side, `bytes` NULL when neither direction was measured.
 */
static const char host_sql[] =
	"WITH h AS MATERIALIZED (SELECT f.cli_addr, f.srv_addr, f.protocol,"
	" f.srv_port, f.first_seen, f.last_seen, f.source, f.cli_proc_id,"
	" f.srv_proc_id, f.cli_cont_id, f.srv_cont_id,"
	" CASE WHEN f.cli_addr = :addr THEN f.c2s_bytes ELSE f.s2c_bytes END"
	" AS sent,"
	" CASE WHEN f.cli_addr = :addr THEN f.s2c_bytes ELSE f.c2s_bytes END"
	" AS rcvd,"
	" CASE WHEN f.cli_addr = :addr THEN f.srv_addr ELSE f.cli_addr END"
	" AS peer, " BYTES_KNOWN_SQL " AS bytes"
	" FROM flow_rows f WHERE" HOST_WHERE ")"
	" SELECT (SELECT json_array(json_object('flows', count(*),"
	" 'as_client', coalesce(sum(cli_addr = :addr), 0),"
	" 'as_server', coalesce(sum(srv_addr = :addr), 0),"
	" 'bytes_sent', sum(sent), 'bytes_rcvd', sum(rcvd),"
	" 'first_seen', min(coalesce(first_seen, last_seen)),"
	" 'last_seen', max(last_seen), 'peers', count(DISTINCT peer),"
	" 'packet_flows', coalesce(sum(source IN ('packet', 'joined')), 0),"
	" 'with_process', coalesce(sum(cli_proc_id IS NOT NULL OR"
	" srv_proc_id IS NOT NULL), 0))) FROM h) AS j_totals,"
	" (SELECT json_group_array(json_object('t', t, 'bytes_sent', s,"
	" 'bytes_rcvd', r, 'flows', n)) FROM (SELECT CAST(last_seen / :step"
	" AS INTEGER) * :step AS t, sum(sent) AS s, sum(rcvd) AS r,"
	" count(*) AS n FROM h GROUP BY t ORDER BY t)) AS j_series,"
	" (SELECT json_group_array(json_object('addr', peer, 'flows', n,"
	" 'bytes', b, 'last_seen', ls)) FROM (SELECT peer, count(*) AS n,"
	" sum(bytes) AS b, max(last_seen) AS ls FROM h GROUP BY peer"
	" ORDER BY coalesce(b, -1) DESC, n DESC, peer LIMIT :peers))"
	" AS j_peers,"
	" (SELECT json_group_array(json_object('proto', protocol, 'port',"
	" srv_port, 'flows', n, 'clients', c, 'bytes', b, 'last_seen', ls))"
	" FROM (SELECT protocol, srv_port, count(*) AS n,"
	" count(DISTINCT cli_addr) AS c, sum(bytes) AS b,"
	" max(last_seen) AS ls FROM h WHERE srv_addr = :addr"
	" GROUP BY protocol, srv_port ORDER BY n DESC, srv_port"
	" LIMIT :peers)) AS j_services,"
	/* The processes on this host: the side whose address it is. */
	" (SELECT json_group_array(json_object('process', process, 'pid', pid,"
	" 'user', user, 'container', container, 'flows', n, 'bytes', b,"
	" 'peers', np, 'last_seen', ls)) FROM (SELECT p.process, p.pid,"
	" min(p.user) AS user, min(coalesce(c.name, c.pod)) AS container,"
	" count(*) AS n, sum(x.bytes) AS b, count(DISTINCT x.peer) AS np,"
	" max(x.last_seen) AS ls FROM (SELECT cli_proc_id AS proc,"
	" cli_cont_id AS cont, peer, bytes, last_seen FROM h"
	" WHERE cli_addr = :addr AND cli_proc_id IS NOT NULL UNION ALL"
	" SELECT srv_proc_id, srv_cont_id, peer, bytes, last_seen FROM h"
	" WHERE srv_addr = :addr AND srv_proc_id IS NOT NULL) x"
	" JOIN processes p ON p.id = x.proc"
	" LEFT JOIN containers c ON c.id = x.cont"
	" GROUP BY p.process, p.pid ORDER BY n DESC, p.process, p.pid"
	" LIMIT :procs)) AS j_processes";

/*
 * GET /api/v1/hosts/<addr>: totals, bytes over time, peers, the
 * services it answered, its processes and its names, over a range.  A
 * host without flows in the range is an answer with zero flows, not a
 * 404: an address is a question, not a thing the store keeps.
 */
void
api_host(struct webd *w, struct req *q, struct resp *r)
{
	struct host_args a;
	struct query qy;
	struct db_conn *c;
	sqlite3_stmt *st;
	const struct qp_value *v;
	int net = 0, rc, i;

	memset(&a, 0, sizeof(a));
	if (strlen(q->path_arg) >= sizeof(a.addr) ||
	    query_addr_canon(q->path_arg, a.addr, sizeof(a.addr), &net) == -1 ||
	    net) {
		resp_error(r, 400, "host: expected one IPv4 or IPv6 address");
		return;
	}
	query_init(&qy, host_params, NULL, 0);
	if (req_query(q, &qy, r) == -1 ||
	    range_of(&qy, HOST_SPAN_DEFAULT, &a.from, &a.to, r) == -1)
		return;
	a.iface = (v = query_get(&qy, "iface")) != NULL ? v->s : NULL;
	a.step = (long long)(a.to - a.from) / 60;
	if (a.step < 1)
		a.step = 1;
	if ((c = req_db(w, r)) == NULL)
		return;
	if ((st = db_prepare(c, host_sql)) == NULL || host_bind(st, &a) == -1 ||
	    (rc = sqlite3_step(st)) != SQLITE_ROW) {
		db_fail(w, c, r);
		goto out;
	}
	/* {"host":{"addr":...,"from","to","step","totals":[...],...}} */
	buf_puts(&r->body, "{\"host\":{\"addr\":");
	buf_json_str(&r->body, a.addr);
	buf_printf(&r->body, ",\"from\":%.3f,\"to\":%.3f,\"step\":%lld,",
	    a.from, a.to, a.step);
	/* Each column j_<part> is JSON made by SQLite: "part":value. */
	for (i = 0; i < sqlite3_column_count(st); i++) {
		const char *text = (const char *)sqlite3_column_text(st, i);

		buf_printf(&r->body, "%s\"%s\":", i ? "," : "",
		    sqlite3_column_name(st, i) + 2);
		if (text != NULL)
			json_raw(&r->body, text,
			    (size_t)sqlite3_column_bytes(st, i));
		else
			buf_puts(&r->body, "[]");
	}
	sqlite3_reset(st);
	a.limit = HOST_NAMES_MAX;
	if (db_has_table(c, NAMES_TABLE))
		rc = host_part(&r->body, c, "names",
		    "SELECT name, source, first_seen, last_seen FROM "
		    NAMES_TABLE " WHERE addr = :addr ORDER BY last_seen DESC"
		    " LIMIT :limit", &a, 0);
	else {
		buf_puts(&r->body, ",\"names\":[]");
		rc = 0;
	}
	if (rc != 0)
		db_fail(w, c, r);
	else
		buf_puts(&r->body, "}}");
out:
	db_put(w->db, c);
}

/* Both addresses of every row since :from, in one pass over the rows
 * (a UNION ALL of the two sides read them twice). */
#define BOTH_ADDRS_SQL \
	"SELECT CASE side WHEN 0 THEN f.cli_addr ELSE f.srv_addr END AS addr," \
	" f.last_seen FROM flow_rows f, (SELECT 0 AS side UNION ALL" \
	" SELECT 1) WHERE f.last_seen >= :from"

/* 1 if s could start an address (digits, hex letters, '.', ':'). */
static int
addr_prefix_like(const char *s)
{
	for (; *s != '\0'; s++)
		if (!isxdigit((unsigned char)*s) && *s != '.' && *s != ':')
			return 0;
	return 1;
}

/*
 * GET /api/v1/search?q=TEXT: what the search box finds, by kind.
 * `addresses`: the address itself when q is one (or every address in a
 * CIDR), else addresses that start with q, seen since `from`, most
 * flows first; `processes`: executables whose path contains q (or
 * whose pid is q); `containers`: containers and pods whose name, pod
 * or id prefix matches; `names`: host names that contain q.  Text is
 * compared without case.
 */
void
api_search(struct webd *w, struct req *q, struct resp *r)
{
	struct host_args a;
	struct query qy;
	struct db_conn *c;
	const struct qp_value *vq, *vf;
	size_t i;
	int net = 0, rc = 0, isaddr;

	query_init(&qy, search_params, NULL, SEARCH_LIMIT_DEFAULT);
	if (req_query(q, &qy, r) == -1)
		return;
	if ((vq = query_get(&qy, "q")) == NULL) {
		resp_error(r, 400, "q: required");
		return;
	}
	memset(&a, 0, sizeof(a));
	a.limit = qy.limit;
	a.pid = -1;
	if (strlen(vq->s) <= 10 && strspn(vq->s, "0123456789") ==
	    strlen(vq->s))
		a.pid = strtoll(vq->s, NULL, 10);
	a.to = (double)clock_wall_usec() / 1e6;
	a.from = (vf = query_get(&qy, "from")) != NULL ? vf->r :
	    a.to - HOST_SPAN_DEFAULT;
	for (i = 0; vq->s[i] != '\0' && i < sizeof(a.text) - 1; i++)
		a.text[i] = (char)tolower((unsigned char)vq->s[i]);
	a.text[i] = '\0';
	isaddr = query_addr_canon(vq->s, a.addr, sizeof(a.addr), &net) == 0;
	if (!isaddr)
		snprintf(a.addr, sizeof(a.addr), "%s", a.text);
	if ((c = req_db(w, r)) == NULL)
		return;
	buf_puts(&r->body, "{\"q\":");
	buf_json_str(&r->body, vq->s);
	buf_puts(&r->body, ",");
	/* :addr is the canonical address or CIDR, or the text; an address
	 * is also a prefix (2001:db8:9:: finds 2001:db8:9::5), itself
	 * first. */
	if (isaddr && net)
		rc |= host_part(&r->body, c, "addresses",
		    "SELECT addr, count(*) AS flows, max(last_seen) AS last_seen"
		    " FROM (" BOTH_ADDRS_SQL ") WHERE cidr_match(addr, :addr)"
		    " GROUP BY addr ORDER BY flows DESC, addr LIMIT :limit", &a, 1);
	else if (isaddr || addr_prefix_like(a.text))
		rc |= host_part(&r->body, c, "addresses",
		    "SELECT addr, count(*) AS flows, max(last_seen) AS last_seen"
		    " FROM (" BOTH_ADDRS_SQL ")"
		    " WHERE substr(addr, 1, length(:addr)) = :addr"
		    " GROUP BY addr ORDER BY addr = :addr DESC, flows DESC, addr"
		    " LIMIT :limit", &a, 1);
	else
		buf_puts(&r->body, "\"addresses\":[]");
	/* A pid matches exactly; a path by substring, the executable's own
	 * name first. */
	rc |= host_part(&r->body, c, "processes",
	    "SELECT process, CASE WHEN pid = :pid THEN pid END AS pid,"
	    " count(DISTINCT pid) AS pids, min(user) AS user FROM processes"
	    " WHERE process IS NOT NULL AND (instr(lower(process), :q) > 0"
	    " OR pid = :pid) GROUP BY process, 2 ORDER BY 2 IS NULL,"
	    " proc_match(lower(process), :q) DESC, length(process), process"
	    " LIMIT :limit", &a, 0);
	rc |= host_part(&r->body, c, "containers",
	    "SELECT coalesce(name, substr(container_id, 1, 12)) AS name,"
	    " min(container_id) AS id, min(kind) AS kind, pod, namespace"
	    " FROM containers WHERE instr(lower(name), :q) > 0"
	    " OR instr(lower(pod), :q) > 0"
	    " OR substr(lower(container_id), 1, length(:q)) = :q"
	    " GROUP BY 1, pod, namespace ORDER BY 1 LIMIT :limit", &a, 0);
	if (db_has_table(c, NAMES_TABLE))
		rc |= host_part(&r->body, c, "names",
		    "SELECT name, addr, max(last_seen) AS last_seen FROM "
		    NAMES_TABLE " WHERE instr(lower(name), :q) > 0"
		    " GROUP BY name, addr ORDER BY length(name), name,"
		    " last_seen DESC LIMIT :limit", &a, 0);
	else
		buf_puts(&r->body, ",\"names\":[]");
	if (rc != 0)
		db_fail(w, c, r);
	else
		buf_puts(&r->body, "}");
	db_put(w->db, c);
}

/*
 * GET /api/v1/processes/tree: every process (pid and executable) with
 * flows in the range, with its parent as the flows' events named it,
 * its flows and bytes; the UI nests children under parents.  Newest
 * first, at most `limit` (`truncated` says when more matched).
 */
void
api_process_tree(struct webd *w, struct req *q, struct resp *r)
{
	struct query qy;
	struct db_conn *c;
	sqlite3_stmt *st;
	struct buf where, sql;
	int rc, n = 0;

	query_init(&qy, tree_params, NULL, TREE_LIMIT_DEFAULT);
	if (req_query(q, &qy, r) == -1)
		return;
	if (query_get(&qy, "from") == NULL &&
	    query_arg(&qy, "from", "-86400", NULL, 0) == -1) {
		resp_error(r, 500, "internal error");
		return;
	}
	buf_init(&where);
	buf_init(&sql);
	query_where(&qy, &where);
	/* From flow_rows and the processes table (the flows view would join
	 * four process and two container rows to every row first): each
	 * side with a process, then grouped by content (pid, path, parent)
	 * as schema.md asks, since one process can have several ids. */
	buf_printf(&sql, "SELECT p.pid, p.process, min(p.user) AS user,"
	    " pp.pid AS parent_pid, pp.process AS parent_process,"
	    " min(coalesce(c.name, c.pod)) AS container, count(*) AS flows,"
	    " sum(x.bytes) AS bytes, count(DISTINCT x.peer) AS peers,"
	    " max(x.last_seen) AS last_seen FROM ("
	    " SELECT f.cli_proc_id AS proc, f.cli_parent_id AS par,"
	    " f.cli_cont_id AS cont, f.srv_addr AS peer, " BYTES_KNOWN_SQL
	    " AS bytes, f.last_seen FROM flow_rows f"
	    " WHERE f.cli_proc_id IS NOT NULL%s UNION ALL"
	    " SELECT f.srv_proc_id, f.srv_parent_id, f.srv_cont_id, f.cli_addr, "
	    BYTES_KNOWN_SQL ", f.last_seen FROM flow_rows f"
	    " WHERE f.srv_proc_id IS NOT NULL%s) x"
	    " JOIN processes p ON p.id = x.proc"
	    " LEFT JOIN processes pp ON pp.id = x.par"
	    " LEFT JOIN containers c ON c.id = x.cont WHERE p.pid IS NOT NULL"
	    " GROUP BY p.pid, p.process, pp.pid, pp.process"
	    " ORDER BY last_seen DESC, p.pid LIMIT %lld",
	    where.p ? where.p : "", where.p ? where.p : "", qy.limit + 1);
	if (!buf_ok(&sql) || !buf_ok(&where)) {
		resp_error(r, 500, "out of memory");
		goto done;
	}
	if ((c = req_db(w, r)) == NULL)
		goto done;
	if ((st = db_prepare(c, sql.p)) == NULL || query_bind(&qy, st) == -1) {
		db_fail(w, c, r);
		goto out;
	}
	buf_puts(&r->body, "{\"processes\":[");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == qy.limit)
			break;
		if (n++)
			buf_puts(&r->body, ",");
		json_row(&r->body, st);
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		db_fail(w, c, r);
		goto out;
	}
	buf_printf(&r->body, "],\"truncated\":%s,\"limit\":%lld}",
	    rc == SQLITE_ROW ? "true" : "false", qy.limit);
out:
	db_put(w->db, c);
done:
	buf_free(&where);
	buf_free(&sql);
}
