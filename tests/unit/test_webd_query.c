/*
 * Unit test of webd/query.c with the real flow parameter tables and a
 * real (in-memory) SQLite database holding the store's flows columns
 * that the filters use: parsing, every refusal, address canonical
 * forms, the SQL functions, and keyset pages that stay stable while
 * rows are added.  Also webd/http_check.c: the raw URL's bytes (NUL,
 * UTF-8), the Host allowlist and X-Forwarded-For/-Proto.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "common/community_id.h"
#include "t.h"
#include "webd/query.h"
#include "webd/webd.h"

static sqlite3 *db;

static void
setup_db(void)
{
	int i;
	char sql[512];

	CHECK(sqlite3_open(":memory:", &db) == SQLITE_OK);
	CHECK(query_register_functions(db) == 0);
	CHECK(sqlite3_exec(db,
	    "CREATE TABLE interfaces (id INTEGER PRIMARY KEY, name TEXT);"
	    "INSERT INTO interfaces VALUES (1, 'eth0'), (2, 'tcp://*:1234c');"
	    "CREATE TABLE flows (id INTEGER PRIMARY KEY, iface_id INTEGER,"
	    " first_seen REAL, last_seen REAL, ip_version INTEGER,"
	    " protocol INTEGER, vlan INTEGER, cli_addr TEXT, cli_port INTEGER,"
	    " srv_addr TEXT, srv_port INTEGER, source TEXT, last_event TEXT,"
	    " tcp_state TEXT, events INTEGER, c2s_bytes INTEGER,"
	    " s2c_bytes INTEGER, c2s_packets INTEGER, s2c_packets INTEGER,"
	    " c2s_retrans INTEGER, s2c_retrans INTEGER, rtt_ms REAL,"
	    " cli_latency_ms REAL, cli_pid INTEGER, srv_pid INTEGER,"
	    " cli_uid INTEGER, srv_uid INTEGER, cli_user TEXT, srv_user TEXT,"
	    " cli_process TEXT, srv_process TEXT, cli_container_name TEXT,"
	    " srv_container_name TEXT, cli_container_id TEXT,"
	    " srv_container_id TEXT, cli_pod TEXT, srv_pod TEXT,"
	    " cli_namespace TEXT, srv_namespace TEXT, community_id TEXT,"
	    " app_proto TEXT, app_category TEXT, tls_sni TEXT, ja3 TEXT,"
	    " ja4 TEXT, http_host TEXT, dns_query TEXT);"
	    "CREATE TABLE host_names (addr TEXT NOT NULL, name TEXT NOT NULL,"
	    " source TEXT, first_seen REAL, last_seen REAL,"
	    " PRIMARY KEY (addr, name)) WITHOUT ROWID;"
	    /* The store's table of rows, as far as the community_id
	     * filter reads it (its key as schema 7 computes it). */
	    "CREATE VIEW flow_rows AS SELECT id, community_id, "
	    COMMUNITY_KEY_SQL("id", "community_id") " AS community_key"
	    " FROM flows;",
	    NULL, NULL, NULL) == SQLITE_OK);
	/* 250 flows: every 10th has a curl client process, even ids are
	 * on eth0, addresses 10.0.<i/256>.<i%256> -> 192.0.2.1:443 or
	 * 2001:db8::<i> -> 2001:db8:1::1:80 for multiples of 7. */
	for (i = 1; i <= 250; i++) {
		snprintf(sql, sizeof(sql), "INSERT INTO flows (id, iface_id,"
		    " first_seen, last_seen, ip_version, protocol, cli_addr,"
		    " cli_port, srv_addr, srv_port, c2s_bytes, s2c_bytes,"
		    " cli_pid, cli_process, tcp_state) VALUES (%d, %d, %d, %d,"
		    " %d, %d, '%s%d', %d, '%s', %d, %d, NULL, %s, %s, %s)",
		    i, i % 2 ? 2 : 1, 1000 + i, 2000 + i % 50, i % 7 ? 4 : 6,
		    i % 3 ? 6 : 17, i % 7 ? "10.0.0." : "2001:db8::", i,
		    40000 + i, i % 7 ? "192.0.2.1" : "2001:db8:1::1",
		    i % 7 ? 443 : 80, i * 100, i % 10 ? "NULL" : "4242",
		    i % 10 ? "NULL" : "'/usr/bin/curl'",
		    i % 4 ? "'ESTABLISHED'" : "'RESET'");
		CHECK(sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK);
	}
}

/* Parses `qs`; returns 0 or -1 (message in err). */
static int
parse(struct query *q, const char *qs, char *err, size_t errlen)
{
	query_init(q, flow_params, flow_sorts, 100);
	err[0] = '\0';
	if (query_parse_string(q, qs, strlen(qs), err, errlen) == -1)
		return -1;
	return query_finish(q, err, errlen);
}

/* Runs one page; returns the row count and fills ids/next. */
static int
page(const char *qs, long long *ids, int max, char *next, size_t nextlen)
{
	char err[QP_ERR_LEN];
	struct query q;
	struct buf sql, cur;
	sqlite3_stmt *st;
	int n = 0, rc;

	if (parse(&q, qs, err, sizeof(err)) == -1) {
		fprintf(stderr, "parse %s: %s\n", qs, err);
		return -1;
	}
	buf_init(&sql);
	buf_init(&cur);
	buf_printf(&sql, "SELECT f.id, %s AS _sort FROM flows f WHERE 1",
	    q.sort->expr);
	query_where(&q, &sql);
	query_keyset(&q, &sql, "f.id");
	query_order(&q, &sql, "f.id");
	if (sqlite3_prepare_v2(db, sql.p, -1, &st, NULL) != SQLITE_OK) {
		fprintf(stderr, "prepare %s: %s\n", sql.p, sqlite3_errmsg(db));
		buf_free(&sql);
		return -1;
	}
	CHECK(query_bind(&q, st) == 0);
	next[0] = '\0';
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == q.limit)
			break;
		if (n < max)
			ids[n] = sqlite3_column_int64(st, 0);
		n++;
		if (n == q.limit)
			query_cursor_json(&q, st, 1, sqlite3_column_int64(st, 0),
			    &cur);
	}
	if (rc == SQLITE_ROW && cur.len > 2) {
		/* strip the JSON quotes */
		snprintf(next, nextlen, "%.*s", (int)cur.len - 2, cur.p + 1);
	}
	sqlite3_finalize(st);
	buf_free(&sql);
	buf_free(&cur);
	return n;
}

static int
count(const char *qs)
{
	long long ids[300];
	char next[600];

	return page(qs, ids, 300, next, sizeof(next));
}

static void
test_refusals(void)
{
	static const char *const bad[] = {
		"nosuch=1", "port=65536", "port=-1", "port=80x", "port=",
		"port=+80", "port= 80", "port=0x50", "port=80&port=81",
		"proto=tcpx", "proto=256", "addr=10.0.0.1/33", "addr=10.0.0",
		"addr=::1/129", "addr=", "addr=10.0.0.1/", "addr=::ffff:1.2.3.4/95",
		"from=abc", "from=1e5", "from=nan", "from=inf",
		"state=OPEN", "attributed=maybe", "sort=password", "order=up",
		"limit=0", "limit=1001", "limit=-5", "cursor=",
		"cursor=!!!!", "cursor=AAAA", "pid=4294967296",
		"process=a%00b", "process=%zz", "process=%4", "iface=%0a",
		"ip_version=3", "vlan=4096", "user=%ff", "user=%c0%80",
		"user=%ed%a0%80", "user=a%e2%82",
		"community_id=wCb3OG7yAFWelaUydu0D+125CLM=",
		"community_id=1:wCb3OG7yAFWelaUydu0D+125CLM",
		"community_id=1:wCb3OG7yAFWelaUydu0D*125CLM=",
		"community_id=2:wCb3OG7yAFWelaUydu0D+125CLM=", NULL
	};
	char err[QP_ERR_LEN], big[400];
	struct query q;
	int i;

	for (i = 0; bad[i] != NULL; i++) {
		int rc = parse(&q, bad[i], err, sizeof(err));

		if (rc != -1)
			fprintf(stderr, "accepted: %s\n", bad[i]);
		CHECK(rc == -1);
		CHECK(err[0] != '\0');
	}
	/* A value over QP_VALUE_MAX and over the parameter's own max. */
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memcpy(big, "user=", 5);
	CHECK(parse(&q, big, err, sizeof(err)) == -1);
	/* Unknown names are echoed only when plain. */
	CHECK(parse(&q, "nosuch=1", err, sizeof(err)) == -1);
	CHECK_STR(err, "unknown parameter: nosuch");
	CHECK(parse(&q, "%3Cscript%3E=1", err, sizeof(err)) == -1);
	CHECK_STR(err, "unknown parameter");
	/* Too many parameters. */
	{
		struct buf b;

		buf_init(&b);
		for (i = 0; i < QP_MAX + 2; i++)
			buf_printf(&b, "%sport=%d", i ? "&" : "", i);
		CHECK(parse(&q, b.p, err, sizeof(err)) == -1);
		buf_free(&b);
	}
}

static void
test_addr(void)
{
	char out[80];
	int net;

	CHECK(query_addr_canon("::ffff:10.1.2.3", out, sizeof(out), &net) == 0);
	CHECK_STR(out, "10.1.2.3");
	CHECK(net == 0);
	CHECK(query_addr_canon("10.1.2.3/8", out, sizeof(out), &net) == 0);
	CHECK_STR(out, "10.0.0.0/8");
	CHECK(net == 1);
	CHECK(query_addr_canon("10.1.2.3/32", out, sizeof(out), &net) == 0);
	CHECK_STR(out, "10.1.2.3");
	CHECK(net == 0);
	CHECK(query_addr_canon("2001:DB8::1/32", out, sizeof(out), &net) == 0);
	CHECK_STR(out, "2001:db8::/32");
	CHECK(query_addr_canon("::ffff:10.9.0.0/112", out, sizeof(out),
	    &net) == 0);
	CHECK_STR(out, "10.9.0.0/16");
	CHECK(query_addr_canon("0.0.0.0/0", out, sizeof(out), &net) == 0);
	CHECK_STR(out, "0.0.0.0/0");
	CHECK(query_addr_canon("1.2.3.4.5", out, sizeof(out), &net) == -1);
}

static void
test_filters(void)
{
	CHECK_EQ_U(count("limit=1000"), 250);
	CHECK_EQ_U(count("iface=eth0&limit=1000"), 125);
	CHECK_EQ_U(count("iface=tcp%3A%2F%2F*%3A1234c&limit=1000"), 125);
	CHECK_EQ_U(count("iface=nosuch"), 0);
	CHECK_EQ_U(count("proto=udp&limit=1000"), 83);
	CHECK_EQ_U(count("proto=17&limit=1000"), 83);
	CHECK_EQ_U(count("port=443&limit=1000"), 215);
	CHECK_EQ_U(count("port=40007"), 1);
	CHECK_EQ_U(count("addr=10.0.0.5"), 1);
	CHECK_EQ_U(count("addr=::ffff:10.0.0.5"), 1);
	CHECK_EQ_U(count("addr=10.0.0.0%2F24&limit=1000"), 215);
	CHECK_EQ_U(count("addr=192.0.2.0/24&limit=1000"), 215);
	CHECK_EQ_U(count("addr=2001:db8::/32&limit=1000"), 35);
	CHECK_EQ_U(count("addr=2001:db8:1::/48&limit=1000"), 35);
	CHECK_EQ_U(count("cli_addr=2001:db8:1::/48"), 0);
	CHECK_EQ_U(count("addr=10.0.0.0/8&port=80"), 0);
	CHECK_EQ_U(count("process=curl"), 25);
	CHECK_EQ_U(count("process=/usr/bin/curl"), 25);
	CHECK_EQ_U(count("process=bin/curl"), 0);
	CHECK_EQ_U(count("pid=4242"), 25);
	CHECK_EQ_U(count("attributed=yes"), 25);
	CHECK_EQ_U(count("attributed=no&limit=1000"), 225);
	CHECK_EQ_U(count("state=reset"), 62);
	CHECK_EQ_U(count("ip_version=6"), 35);
	CHECK_EQ_U(count("from=2040&limit=1000"), 50);
	CHECK_EQ_U(count("to=1010"), 10);
	CHECK_EQ_U(count("from=-10"), 0);
	CHECK_EQ_U(count("user=%C3%A9t%C3%A9"), 0);	/* valid UTF-8 */
	/* The Community ID: its '+' percent-encoded, or as the space a
	 * query string makes of a '+' pasted as it is. */
	CHECK(sqlite3_exec(db, "UPDATE flows SET community_id ="
	    " '1:wCb3OG7yAFWelaUydu0D+125CLM=' WHERE id IN (3, 4)", NULL,
	    NULL, NULL) == SQLITE_OK);
	CHECK_EQ_U(count("community_id=1:wCb3OG7yAFWelaUydu0D%2B125CLM%3D"), 2);
	CHECK_EQ_U(count("community_id=1:wCb3OG7yAFWelaUydu0D+125CLM="), 2);
	CHECK_EQ_U(count("community_id=1:wCb3OG7yAFWelaUydu0D+125CLM=&iface=eth0"),
	    1);
	CHECK_EQ_U(count("community_id=1:0Mu9InQx6z4ZiCZM/7HXi2WMhOg="), 0);
	/* What nDPI said, and the names seen for addresses. */
	CHECK(sqlite3_exec(db, "UPDATE flows SET app_proto = 'TLS.YouTube',"
	    " app_category = 'Media', tls_sni = 'www.YouTube.com', ja3 ="
	    " '771a2b4c6d8e0f1a2b3c4d5e6f708192' WHERE id IN (10, 11);"
	    " UPDATE flows SET app_proto = 'DNS', dns_query = 'a.example.org'"
	    " WHERE id = 12; UPDATE flows SET app_proto = 'HTTP', http_host ="
	    " 'example.org' WHERE id = 13;"
	    " INSERT INTO host_names VALUES ('10.0.0.15', 'db.internal', 'dns',"
	    " 1, 2), ('192.0.2.1', 'edge.example.net', 'sni', 1, 2)", NULL,
	    NULL, NULL) == SQLITE_OK);
	CHECK_EQ_U(count("app=TLS.YouTube"), 2);
	CHECK_EQ_U(count("app=tls"), 2);
	CHECK_EQ_U(count("app=youtube"), 2);
	CHECK_EQ_U(count("app=Tube"), 0);
	CHECK_EQ_U(count("app=dns"), 1);
	CHECK_EQ_U(count("category=media"), 2);
	CHECK_EQ_U(count("sni=youtube.com"), 2);
	CHECK_EQ_U(count("sni=www.youtube.com&iface=eth0"), 1);
	CHECK_EQ_U(count("sni=tube.com"), 0);
	CHECK_EQ_U(count("dns=example.org"), 1);
	CHECK_EQ_U(count("http_host=example.org"), 1);
	CHECK_EQ_U(count("ja3=771A2B4C6D8E0F1A2B3C4D5E6F708192"), 2);
	CHECK_EQ_U(count("host=example.org"), 2);
	CHECK_EQ_U(count("host=internal"), 1);
	CHECK_EQ_U(count("host=example.net&limit=1000"), 215);
	CHECK_EQ_U(count("host=nosuch.example"), 0);
}

/* Pages through by `sort`, adding rows between pages: no id repeats and
 * every original row is seen once. */
static void
test_pages(const char *sort)
{
	static unsigned char seen[100000];
	long long ids[100];
	char qs[800], next[600];
	int n, i, total = 0, pages = 0, dup = 0, extra = 10000;

	memset(seen, 0, sizeof(seen));
	snprintf(qs, sizeof(qs), "sort=%s&limit=40", sort);
	for (;;) {
		n = page(qs, ids, 100, next, sizeof(next));
		CHECK(n >= 0);
		if (n <= 0)
			break;
		for (i = 0; i < n; i++) {
			if (ids[i] < 100000 && seen[ids[i]]++)
				dup++;
			if (ids[i] <= 250)
				total++;
		}
		pages++;
		/* New flows arrive (newest last_seen, highest ids). */
		for (i = 0; i < 5; i++) {
			char sql[200];

			snprintf(sql, sizeof(sql), "INSERT INTO flows (id,"
			    " iface_id, first_seen, last_seen, c2s_bytes)"
			    " VALUES (%d, 1, 9999, 9999, 1)", extra++);
			CHECK(sqlite3_exec(db, sql, NULL, NULL, NULL) ==
			    SQLITE_OK);
		}
		if (next[0] == '\0' || pages > 50)
			break;
		snprintf(qs, sizeof(qs), "sort=%s&limit=40&cursor=%s", sort,
		    next);
	}
	CHECK_EQ_U(dup, 0);
	CHECK_EQ_U(total, 250);
	CHECK(pages >= 7);
	CHECK(sqlite3_exec(db, "DELETE FROM flows WHERE id > 250", NULL, NULL,
	    NULL) == SQLITE_OK);
}

static void
test_cursor_checks(void)
{
	long long ids[100];
	char next[600], qs[800], err[QP_ERR_LEN];
	struct query q;

	CHECK(page("sort=bytes&limit=10", ids, 100, next, sizeof(next)) == 10);
	CHECK(next[0] != '\0');
	/* The cursor of one sort order is refused by another. */
	snprintf(qs, sizeof(qs), "sort=last_seen&cursor=%s", next);
	CHECK(parse(&q, qs, err, sizeof(err)) == -1);
	snprintf(qs, sizeof(qs), "sort=bytes&order=asc&cursor=%s", next);
	CHECK(parse(&q, qs, err, sizeof(err)) == -1);
	snprintf(qs, sizeof(qs), "sort=bytes&cursor=%s", next);
	CHECK(parse(&q, qs, err, sizeof(err)) == 0);
	/* A text sort with a hostile value round-trips as a bound value. */
	CHECK(page("sort=cli_process&order=asc&limit=3", ids, 100, next,
	    sizeof(next)) == 3);
	CHECK(next[0] != '\0');
}

/* Pages through `qs` (limit and sort in it) collecting ids; returns the
 * pages, or -1. */
static int
walk(const char *qs, long long *seen, int max, int *nseen)
{
	long long ids[100];
	char q[QP_CURSOR_MAX + 200], next[QP_CURSOR_MAX + 8];
	int n, i, pages = 0;

	*nseen = 0;
	snprintf(q, sizeof(q), "%s", qs);
	for (;;) {
		n = page(q, ids, 100, next, sizeof(next));
		if (n < 0)
			return -1;
		for (i = 0; i < n && *nseen < max; i++)
			seen[(*nseen)++] = ids[i];
		pages++;
		if (next[0] == '\0' || pages > 200)
			break;
		snprintf(q, sizeof(q), "%s&cursor=%s", qs, next);
	}
	return pages;
}

/*
 * Cursors on long text values (a process path of 300 bytes, and of
 * 2000 bytes sharing their first 1024: they sort by id) and on reals
 * that %.17g writes with an exponent: every row once, in order.
 */
static void
test_cursor_long(void)
{
	long long seen[400];
	char sql[2600], v[2100];
	int i, n, k, dup, pages;

	CHECK(sqlite3_exec(db, "CREATE TABLE saved AS SELECT * FROM flows;"
	    " DELETE FROM flows WHERE id > 12", NULL, NULL, NULL) ==
	    SQLITE_OK);
	for (i = 1; i <= 12; i++) {
		memset(v, 'a', sizeof(v));
		n = i <= 6 ? 300 : 2000;
		v[n] = '\0';
		v[0] = '/';
		/* distinct values, and for the long ones a shared 1024-byte
		 * prefix: they differ after it. */
		v[n - 2] = (char)('a' + i);
		snprintf(sql, sizeof(sql), "UPDATE flows SET cli_process ="
		    " '%s', rtt_ms = %s WHERE id = %d", v,
		    i % 3 == 0 ? "1e-05" : i % 3 == 1 ? "2.5e+20" : "3e-300",
		    i);
		CHECK(sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK);
	}
	for (k = 0; k < 2; k++) {
		pages = walk(k ? "sort=cli_process&order=asc&limit=2" :
		    "sort=cli_process&limit=2", seen, 400, &n);
		CHECK(pages >= 6);
		for (i = 1; i <= 12; i++) {
			int j, found = 0;

			for (j = 0; j < n; j++)
				found += seen[j] == i;
			CHECK(found == 1);
		}
	}
	for (k = 0; k < 2; k++) {
		pages = walk(k ? "sort=rtt&order=asc&limit=1" :
		    "sort=rtt&limit=1", seen, 400, &n);
		CHECK_EQ_U(n, 12);
		CHECK(pages >= 12);
		for (dup = 0, i = 1; i < n; i++)
			dup += seen[i] == seen[i - 1];
		CHECK_EQ_U(dup, 0);
	}
	CHECK(sqlite3_exec(db, "DELETE FROM flows; INSERT INTO flows SELECT *"
	    " FROM saved; DROP TABLE saved", NULL, NULL, NULL) == SQLITE_OK);
}

/* The raw URL check: NUL and every kind of invalid UTF-8 refused. */
static void
test_uri_bytes(void)
{
	static const char *const ok[] = {
		"/api/v1/flows?process=curl", "/", "/a%20b?x=%C3%A9",
		"/?q=%e2%82%ac", "/?q=%F0%9F%98%80", "/?q=%zz", "/?q=%",
		"/?q=\xc3\xa9", "/?q=%f4%8f%bf%bf", NULL
	};
	static const char *const bad[] = {
		"/api/v1/flows?process=curl%00junk", "/?x%00=1", "/%00",
		"/?q=%ff", "/?q=%c0%af", "/?q=%e0%80%af", "/?q=%ed%a0%80",
		"/?q=%f4%90%80%80", "/?q=%c3", "/?q=%80", "/?q=%c3%28",
		"/?q=\xff", "/?q=%f8%88%80%80%80", "/?q=%c3&r=%a9", NULL
	};
	int i;

	for (i = 0; ok[i] != NULL; i++)
		CHECK(http_uri_ok(ok[i]) == 1);
	for (i = 0; bad[i] != NULL; i++)
		CHECK(http_uri_ok(bad[i]) == 0);
}

static void
test_hosts(void)
{
	static struct http_names nm;
	struct webd_conf c;
	char err[256], client[64];

	memset(&c, 0, sizeof(c));
	strcpy(c.listen, "192.0.2.5");
	CHECK(http_names_conf(&nm, &c, err, sizeof(err)) == 0);
	CHECK(http_host_allowed(&nm, "localhost") == 1);
	CHECK(http_host_allowed(&nm, "LocalHost:3000") == 1);
	CHECK(http_host_allowed(&nm, "127.0.0.1:3000") == 1);
	CHECK(http_host_allowed(&nm, "[::1]:3000") == 1);
	CHECK(http_host_allowed(&nm, "192.0.2.5:80") == 1);
	CHECK(http_host_allowed(&nm, "192.0.2.6") == 0);
	CHECK(http_host_allowed(&nm, "evil.example") == 0);
	CHECK(http_host_allowed(&nm, "localhost.evil.example") == 0);
	CHECK(http_host_allowed(&nm, "localhost:") == 0);
	CHECK(http_host_allowed(&nm, "localhost:3000x") == 0);
	CHECK(http_host_allowed(&nm, "localhost:123456") == 0);
	CHECK(http_host_allowed(&nm, "[::1") == 0);
	CHECK(http_host_allowed(&nm, "") == 0);

	strcpy(c.hosts, "evflow.example flows.example:8443,*.x");
	strcpy(c.trusted_proxies, "127.0.0.1, 10.9.0.0/16");
	CHECK(http_names_conf(&nm, &c, err, sizeof(err)) == 0);
	CHECK(http_host_allowed(&nm, "evflow.example:1") == 1);
	CHECK(http_host_allowed(&nm, "flows.example:8443") == 1);
	CHECK(http_host_allowed(&nm, "flows.example:8444") == 0);
	CHECK(http_host_allowed(&nm, "flows.example") == 0);
	CHECK(http_host_allowed(&nm, "localhost") == 0);
	CHECK(http_host_allowed(&nm, "a.x") == 0);	/* no wildcards */

	/* X-Forwarded-For: from the right, past trusted hops. */
	strcpy(client, "peer");
	CHECK(http_forwarded_for(&nm, "203.0.113.7", client,
	    sizeof(client)) == 1);
	CHECK_STR(client, "203.0.113.7");
	CHECK(http_forwarded_for(&nm, "1.1.1.1, 203.0.113.9, 10.9.4.4",
	    client, sizeof(client)) == 1);
	CHECK_STR(client, "203.0.113.9");
	CHECK(http_forwarded_for(&nm, "junk, 127.0.0.1", client,
	    sizeof(client)) == 1);
	CHECK_STR(client, "127.0.0.1");
	strcpy(client, "peer");
	CHECK(http_forwarded_for(&nm, "not-an-ip", client,
	    sizeof(client)) == 0);
	CHECK_STR(client, "peer");
	CHECK(http_forwarded_for(&nm, "10.0.0.0/8", client,
	    sizeof(client)) == 0);
	CHECK(http_forwarded_https("https") == 1);
	CHECK(http_forwarded_https("http, https") == 1);
	CHECK(http_forwarded_https("https, http") == 0);
	CHECK(http_forwarded_https("httpsx") == 0);

	strcpy(c.trusted_proxies, "proxy.example");
	CHECK(http_names_conf(&nm, &c, err, sizeof(err)) == -1);
	CHECK(strstr(err, "trusted_proxies") != NULL);
	strcpy(c.trusted_proxies, "10.0.0.0/33");
	CHECK(http_names_conf(&nm, &c, err, sizeof(err)) == -1);
	strcpy(c.trusted_proxies, "2001:db8::/129");
	CHECK(http_names_conf(&nm, &c, err, sizeof(err)) == -1);
}

int
main(void)
{
	test_uri_bytes();
	test_hosts();
	setup_db();
	test_refusals();
	test_addr();
	test_filters();
	test_pages("last_seen");
	test_pages("bytes");
	test_pages("cli_process");
	test_pages("srv_addr");
	test_cursor_checks();
	test_cursor_long();
	sqlite3_close(db);
	return t_done("test_webd_query");
}
