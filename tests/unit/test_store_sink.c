/*
 * The store against real SQLite files: schema creation and migration,
 * records through link_in_dispatch into rows (flows, the join, the
 * interface table, counters, listening sockets, producers, stats),
 * flow ids across restarts, retention by age and by size.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <sqlite3.h>

#include "common/clock.h"
#include "common/community_id.h"
#include "common/log.h"
#include "common/nnlink.h"
#include "store/clickhouse.h"
#include "store/sink.h"
#include "store/store.h"
#include "t.h"
#include "test_store_rec.h"

static char dir[64], dbpath[128];

static void
conf_init(struct store_conf *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->datadir, sizeof(c->datadir), "%s", dir);
	c->flush_interval = 1;
	c->flow_idle = 120;
	c->max_flows = 100000;
	c->max_pending = 1000;
	c->join_window = 30;
	c->retention = 7 * 86400;
	c->cache_size = 8 << 20;
	c->history_interval = 10;
	c->write_slice = 1000;
}

static long long
q_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *s;
	long long v = -12345;

	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK) {
		fprintf(stderr, "%s: %s\n", sql, sqlite3_errmsg(db));
		return v;
	}
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_type(s, 0) == SQLITE_NULL ? -1 :
		    sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return v;
}

static double
q_real(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *s;
	double v = -1;

	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
		return v;
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_double(s, 0);
	sqlite3_finalize(s);
	return v;
}

static const char *
q_text(sqlite3 *db, const char *sql)
{
	static char out[256];
	sqlite3_stmt *s;
	const unsigned char *t;

	snprintf(out, sizeof(out), "(no row)");
	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK) {
		fprintf(stderr, "%s: %s\n", sql, sqlite3_errmsg(db));
		return out;
	}
	if (sqlite3_step(s) == SQLITE_ROW) {
		t = sqlite3_column_text(s, 0);
		snprintf(out, sizeof(out), "%s", t ? (const char *)t : "(null)");
	}
	sqlite3_finalize(s);
	return out;
}

static sqlite3 *
reader(void)
{
	sqlite3 *db = NULL;

	if (sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READONLY, NULL) !=
	    SQLITE_OK)
		fprintf(stderr, "open %s failed\n", dbpath);
	return db;
}

/* A batch under construction, sent with link_in_dispatch. */
struct feed {
	struct evp_batch b;
	uint8_t		*buf;
	uint64_t	 seq;
	struct evp_hello hello;
};

static void
feed_start(struct feed *f)
{
	evp_batch_reset(&f->b);
	(void)evp_batch_add(&f->b, EVP_HELLO, 0, &f->hello,
	    sizeof(f->hello));
}

static void
feed_init(struct feed *f)
{
	memset(f, 0, sizeof(*f));
	f->buf = malloc(EVP_BATCH_MAX_BYTES);
	f->hello.proto_version = EVP_VERSION;
	f->hello.role = EVP_ROLE_ROUTER;
	snprintf(f->hello.name, sizeof(f->hello.name), "router");
	evp_batch_init(&f->b, f->buf, 77);
	feed_start(f);
}

static void
feed_send(struct feed *f, struct link_in *in)
{
	link_in_dispatch(in, f->b.buf, f->b.len);
	feed_start(f);
}

static void
feed_put(struct feed *f, struct link_in *in, uint16_t type, const void *p,
    size_t len)
{
	if (evp_batch_add(&f->b, type, ++f->seq, p, len) == -1) {
		feed_send(f, in);
		(void)evp_batch_add(&f->b, type, f->seq, p, len);
	}
}

static void
put_flow(struct feed *f, struct link_in *in, const struct evp_flow *r)
{
	feed_put(f, in, EVP_FLOW, r, evp_flow_len(r));
}

static void
put_iface(struct feed *f, struct link_in *in, unsigned id, unsigned kind,
    const char *name, unsigned flags, unsigned companion)
{
	struct evp_iface i;

	memset(&i, 0, sizeof(i));
	i.id = id;
	i.kind = kind;
	i.flags = flags;
	i.companion = companion;
	i.mirrored = kind == EVP_IFACE_PACKET;
	snprintf(i.name, sizeof(i.name), "%s", name);
	feed_put(f, in, EVP_IFACE, &i, sizeof(i));
}

static void
commit_all(struct store *st)
{
	(void)store_write_dirty(st, UINT32_MAX);
	CHECK(sink_commit(st->sink) == 0);
}

static void
test_schema(void)
{
	struct sink *k;
	sqlite3 *db;
	char err[256];

	unlink(dbpath);
	/* An older database: version 1, with a row in it. */
	k = sink_open(dbpath, 0, 0, 1, err, sizeof(err));
	CHECK(k != NULL);
	CHECK_EQ_U(sink_schema_version(k), 1);
	sink_close(k);
	CHECK(sqlite3_open(dbpath, &db) == SQLITE_OK);
	CHECK(sqlite3_exec(db, "INSERT INTO interfaces (id, name, kind) "
	    "VALUES (1, 'eth0', 'packet'); INSERT INTO flows (id, iface_id, "
	    "last_seen, cli_addr) VALUES (41, 1, 5, '10.9.9.9')", NULL, NULL,
	    NULL) == SQLITE_OK);
	CHECK_EQ_U(q_int(db, "SELECT count(*) FROM sqlite_master WHERE "
	    "name = 'flows_v'"), 0);
	sqlite3_close(db);
	/* Migrated to the current version; the row survives. */
	k = sink_open(dbpath, 0, 0, SINK_SCHEMA_VERSION, err, sizeof(err));
	CHECK(k != NULL);
	CHECK_EQ_U(sink_schema_version(k), SINK_SCHEMA_VERSION);
	CHECK_EQ_U(sink_max_flow_id(k), 41);
	sink_close(k);
	db = reader();
	CHECK_EQ_U(q_int(db, "SELECT version FROM schema_version"),
	    SINK_SCHEMA_VERSION);
	CHECK_EQ_U(q_int(db, "SELECT count(*) FROM sqlite_master WHERE "
	    "type = 'index' AND name = 'counter_history_ts'"), 1);
	CHECK_STR(q_text(db, "SELECT iface FROM flows_v WHERE id = 41"),
	    "eth0");
	CHECK_EQ_U(q_int(db, "SELECT count(*) FROM sqlite_master WHERE "
	    "type = 'index' AND name = 'flows_iface_last_seen'"), 1);
	CHECK_STR(q_text(db, "PRAGMA journal_mode"), "wal");
	sqlite3_close(db);
	/* A newer database than we know: refused. */
	CHECK(sqlite3_open(dbpath, &db) == SQLITE_OK);
	CHECK(sqlite3_exec(db, "UPDATE schema_version SET version = 99",
	    NULL, NULL, NULL) == SQLITE_OK);
	sqlite3_close(db);
	err[0] = '\0';
	CHECK(sink_open(dbpath, 0, 0, SINK_SCHEMA_VERSION, err,
	    sizeof(err)) == NULL);
	CHECK(strstr(err, "newer") != NULL);
	unlink(dbpath);
}

/*
 * A new database gets incremental auto_vacuum only when its file has a
 * bound.  One without it (made before auto_vacuum, or with no bound) is
 * converted at start when store.max_db_size is set (a VACUUM: the bound
 * is on the file), and left as it is when it is not.
 */
static void
test_vacuum_convert(void)
{
	struct store *st = calloc(1, sizeof(*st));
	struct store_conf c;
	struct sink *k;
	sqlite3 *db;
	char err[256];

	unlink(dbpath);
	k = sink_open(dbpath, 0, 1, SINK_SCHEMA_VERSION, err, sizeof(err));
	CHECK(k != NULL);
	CHECK_EQ_U(sink_auto_vacuum(k), 2);
	sink_close(k);
	unlink(dbpath);
	k = sink_open(dbpath, 0, 0, SINK_SCHEMA_VERSION, err, sizeof(err));
	CHECK(k != NULL);
	CHECK_EQ_U(sink_auto_vacuum(k), 0);
	sink_close(k);
	unlink(dbpath);
	k = sink_open(dbpath, 0, 1, SINK_SCHEMA_VERSION, err, sizeof(err));
	CHECK(k != NULL);
	sink_close(k);
	CHECK(sqlite3_open(dbpath, &db) == SQLITE_OK);
	CHECK(sqlite3_exec(db, "PRAGMA auto_vacuum = NONE; VACUUM", NULL,
	    NULL, NULL) == SQLITE_OK);
	CHECK_EQ_U(q_int(db, "PRAGMA auto_vacuum"), 0);
	sqlite3_close(db);
	conf_init(&c);
	CHECK(store_init(st, &c, "store", SINK_SCHEMA_VERSION, err,
	    sizeof(err)) == 0);
	CHECK_EQ_U(sink_auto_vacuum(st->sink), 0);
	CHECK(!st->ret.incremental);
	store_fini(st);
	c.max_db_size = 1LL << 30;
	CHECK(store_init(st, &c, "store", SINK_SCHEMA_VERSION, err,
	    sizeof(err)) == 0);
	CHECK_EQ_U(sink_auto_vacuum(st->sink), 2);
	CHECK(st->ret.incremental);
	store_fini(st);
	free(st);
	unlink(dbpath);
}

/* Runs SQL on a fresh file at dbpath (empty SQL: an empty file). */
static void
make_db(const char *sql)
{
	sqlite3 *db;
	char p[160];

	unlink(dbpath);
	snprintf(p, sizeof(p), "%s-wal", dbpath);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", dbpath);
	unlink(p);
	CHECK(sqlite3_open(dbpath, &db) == SQLITE_OK);
	if (sql[0] != '\0')
		CHECK(sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK);
	sqlite3_close(db);
}

/* A fresh file from SQL (make_db()), opened and closed once by a sink
 * of schema `version`; returns a connection to it that can write. */
static sqlite3 *
sink_made(const char *sql, int version)
{
	struct sink *k;
	sqlite3 *db = NULL;
	char err[256];

	make_db(sql);
	k = sink_open(dbpath, 0, 0, version, err, sizeof(err));
	CHECK(k != NULL);
	sink_close(k);
	CHECK(sqlite3_open(dbpath, &db) == SQLITE_OK);
	return db;
}

/* A new database has 16 KB pages (fewer WAL frames, each a system
 * call); a file that already has pages keeps their size (SQLite can
 * only change it with a VACUUM outside WAL mode). */
static void
test_page_size(void)
{
	sqlite3 *db;

	db = sink_made("", SINK_SCHEMA_VERSION);
	CHECK_EQ_U(q_int(db, "PRAGMA page_size"), 16384);
	sqlite3_close(db);
	/* Pages of 4 KB and no table yet: adopted as a new database. */
	db = sink_made("PRAGMA page_size = 4096; CREATE TABLE t (x); "
	    "DROP TABLE t", SINK_SCHEMA_VERSION);
	CHECK_EQ_U(q_int(db, "PRAGMA page_size"), 4096);
	CHECK_EQ_U(q_int(db, "SELECT version FROM schema_version"),
	    SINK_SCHEMA_VERSION);
	sqlite3_close(db);
	unlink(dbpath);
}

/* Databases the store must not write are refused with a reason; its
 * own (new, empty, or from before application_id) are adopted and
 * marked. */
static void
test_schema_refuse(void)
{
	struct sink *k;
	sqlite3 *db;
	char err[512];
	int fd;

	/* A new database gets our application_id and user_version. */
	make_db("");
	k = sink_open(dbpath, 0, 0, SINK_SCHEMA_VERSION, err, sizeof(err));
	CHECK(k != NULL);
	sink_close(k);
	db = reader();
	CHECK_EQ_U(q_int(db, "PRAGMA application_id"), SCHEMA_APPLICATION_ID);
	CHECK_EQ_U(q_int(db, "PRAGMA user_version"), SINK_SCHEMA_VERSION);
	sqlite3_close(db);
	/* An empty file (0 bytes) is a new database. */
	make_db("");
	unlink(dbpath);
	CHECK((fd = open(dbpath, O_CREAT | O_WRONLY, 0600)) >= 0);
	close(fd);
	k = sink_open(dbpath, 0, 0, SINK_SCHEMA_VERSION, err, sizeof(err));
	CHECK(k != NULL);
	sink_close(k);
	/* Another application's file: its application_id. */
	make_db("PRAGMA application_id = 1234; CREATE TABLE t (a);"
	    " INSERT INTO t VALUES (1)");
	err[0] = '\0';
	CHECK(sink_open(dbpath, 0, 0, SINK_SCHEMA_VERSION, err,
	    sizeof(err)) == NULL);
	CHECK(strstr(err, "another application") != NULL);
	db = reader();
	CHECK_EQ_U(q_int(db, "SELECT count(*) FROM sqlite_master"), 1);
	sqlite3_close(db);
	/* Tables, no application_id, no schema_version: not ours. */
	make_db("CREATE TABLE moz_places (id INTEGER PRIMARY KEY, url TEXT)");
	err[0] = '\0';
	CHECK(sink_open(dbpath, 0, 0, SINK_SCHEMA_VERSION, err,
	    sizeof(err)) == NULL);
	CHECK(strstr(err, "not an evflow database") != NULL);
	db = reader();
	CHECK_EQ_U(q_int(db, "SELECT count(*) FROM sqlite_master"), 1);
	sqlite3_close(db);
	/* A newer schema by user_version alone. */
	db = sink_made("", SINK_SCHEMA_VERSION);
	CHECK(sqlite3_exec(db, "PRAGMA user_version = 40", NULL, NULL,
	    NULL) == SQLITE_OK);
	sqlite3_close(db);
	err[0] = '\0';
	CHECK(sink_open(dbpath, 0, 0, SINK_SCHEMA_VERSION, err,
	    sizeof(err)) == NULL);
	CHECK(strstr(err, "newer") != NULL);
	/* An evflow database from before application_id is adopted. */
	db = sink_made("", 3);
	CHECK(sqlite3_exec(db, "PRAGMA application_id = 0; PRAGMA "
	    "user_version = 0", NULL, NULL, NULL) == SQLITE_OK);
	sqlite3_close(db);
	k = sink_open(dbpath, 0, 0, SINK_SCHEMA_VERSION, err, sizeof(err));
	CHECK(k != NULL);
	CHECK_EQ_U(sink_schema_version(k), SINK_SCHEMA_VERSION);
	sink_close(k);
	db = reader();
	CHECK_EQ_U(q_int(db, "PRAGMA application_id"), SCHEMA_APPLICATION_ID);
	sqlite3_close(db);
	/* Not a database at all. */
	make_db("");
	unlink(dbpath);
	CHECK((fd = open(dbpath, O_CREAT | O_WRONLY, 0600)) >= 0);
	{
		char junk[128];

		memset(junk, 'x', sizeof(junk));
		CHECK(write(fd, junk, sizeof(junk)) == (ssize_t)sizeof(junk));
	}
	close(fd);
	err[0] = '\0';
	CHECK(sink_open(dbpath, 0, 0, SINK_SCHEMA_VERSION, err,
	    sizeof(err)) == NULL);
	CHECK(strstr(err, "not a database") != NULL);
	make_db("");
	unlink(dbpath);
}

static void
test_pipeline(void)
{
	struct store *st = calloc(1, sizeof(*st));
	struct evp_flow *r = calloc(1, sizeof(*r));
	struct store_conf c;
	struct evp_ifcounter ic;
	struct evp_listen ls;
	struct evp_producer pr;
	struct evp_stats ss;
	struct link_in *in;
	struct feed f;
	char ep[128], err[256];
	sqlite3 *db;
	uint64_t drops;

	unlink(dbpath);
	conf_init(&c);
	CHECK(store_init(st, &c, "store", SINK_SCHEMA_VERSION, err,
	    sizeof(err)) == 0);
	snprintf(ep, sizeof(ep), "ipc://%s/t.ipc", dir);
	in = link_in_new(ep, 1, store_record, st, err, sizeof(err));
	CHECK(in != NULL);
	feed_init(&f);

	/* The router's table: a ZMQ interface and its companion. */
	put_iface(&f, in, 0, EVP_IFACE_ZMQ, "tcp://*:1234c", 0, 2);
	put_iface(&f, in, 1, EVP_IFACE_PACKET, "eth0", EVP_IFACE_F_CHANGED, 0);
	/* A CONNECT dispatched to both; packets for it in eth0 only. */
	rec_flow(r, EVP_SRC_EVENT, EVP_EV_CONNECT, "192.168.1.23", 54348,
	    "203.0.113.80", 80, 3);
	rec_proc(r, 0, 30197, "/usr/bin/curl", "alice");
	rec_parent(r, 0, 26219, "/usr/bin/bash");
	snprintf(r->ifname, sizeof(r->ifname), "eth0");
	r->nw_latency_us = 221;
	memcpy(r->extra, "{\"K\":1}", 7);
	r->extra_len = 7;
	put_flow(&f, in, r);
	rec_flow(r, EVP_SRC_PACKET, EVP_EV_UPDATE, "192.168.1.23", 54348,
	    "203.0.113.80", 80, 2);
	rec_counts(r, 10, 20);
	put_flow(&f, in, r);
	/* An ACCEPT only the ZMQ interface sees, in a pod. */
	rec_flow(r, EVP_SRC_EVENT, EVP_EV_ACCEPT, "198.51.100.7", 51544,
	    "192.168.1.23", 443, 1);
	rec_proc(r, 1, 1826, "/usr/sbin/nginx", "www-data");
	rec_container(r, 1, "3f2a0000", "web-7d9f");
	put_flow(&f, in, r);
	/* Interface counters twice: a rate from the delta. */
	memset(&ic, 0, sizeof(ic));
	ic.ts_usec = 1700000000000000ULL;
	ic.if_index = 3;
	ic.in_octets = 1000;
	snprintf(ic.if_name, sizeof(ic.if_name), "ens3");
	feed_put(&f, in, EVP_IFCOUNTER, &ic, sizeof(ic));
	ic.ts_usec += 2000000;
	ic.in_octets += 2000;
	feed_put(&f, in, EVP_IFCOUNTER, &ic, sizeof(ic));
	/* A listening socket seen twice. */
	memset(&ls, 0, sizeof(ls));
	ls.ts_usec = 1700000000000000ULL;
	ls.ip_version = 4;
	ls.proto = 6;
	ls.port = 22;
	ls.pid = 700;
	snprintf(ls.proc, sizeof(ls.proc), "sshd");
	snprintf(ls.host, sizeof(ls.host), "hostA");
	feed_put(&f, in, EVP_LISTEN, &ls, sizeof(ls));
	ls.ts_usec += 60000000;
	feed_put(&f, in, EVP_LISTEN, &ls, sizeof(ls));
	memset(&pr, 0, sizeof(pr));
	pr.ts_usec = 1700000000000000ULL;
	pr.producer = 1;
	pr.msgs = 10;
	pr.lost_msgs = 2;
	snprintf(pr.peer, sizeof(pr.peer), "10.0.0.5");
	feed_put(&f, in, EVP_PRODUCER, &pr, sizeof(pr));
	memset(&ss, 0, sizeof(ss));
	ss.ts_usec = 1700000000000000ULL;
	ss.role = EVP_ROLE_COLLECTOR;
	ss.count = 2;
	snprintf(ss.name, sizeof(ss.name), "collector");
	snprintf(ss.key[0], sizeof(ss.key[0]), "received");
	ss.value[0] = 1234;
	snprintf(ss.key[1], sizeof(ss.key[1]), "bad_msgs");
	ss.value[1] = 5;
	feed_put(&f, in, EVP_STATS, &ss, sizeof(ss));
	/* A flow record one byte short: counted, the rest still lands. */
	rec_flow(r, EVP_SRC_EVENT, EVP_EV_CONNECT, "10.0.0.1", 1, "10.0.0.2",
	    2, 1);
	{
		static uint8_t wire[EVP_FLOW_WIRE_MAX];
		size_t n = evp_flow_encode(r, wire);

		if (evp_batch_add_raw(&f.b, EVP_FLOW, ++f.seq, wire,
		    n - 1) == -1) {
			feed_send(&f, in);
			(void)evp_batch_add_raw(&f.b, EVP_FLOW, f.seq, wire,
			    n - 1);
		}
	}
	/* A flow for interface bit 5 before the router named it. */
	rec_flow(r, EVP_SRC_EVENT, EVP_EV_CONNECT, "10.5.0.1", 1000,
	    "10.5.0.2", 80, 1ULL << 5);
	put_flow(&f, in, r);
	feed_send(&f, in);
	commit_all(st);
	db = reader();
	CHECK_EQ_U(q_int(db, "SELECT count(*) FROM interfaces WHERE name = "
	    "'#5'"), 1);
	/* ... then the router's table names it: rows move. */
	put_iface(&f, in, 5, EVP_IFACE_ZMQ, "tcp://*:5556", 0, 0);
	feed_send(&f, in);
	store_write_counters(st, clock_mono_usec());
	commit_all(st);

	CHECK_EQ_U(q_int(db, "SELECT count(*) FROM interfaces WHERE name = "
	    "'#5'"), 0);
	CHECK_EQ_U(q_int(db, "SELECT count(*) FROM flows_v WHERE iface = "
	    "'tcp://*:5556'"), 1);
	CHECK_STR(q_text(db, "SELECT kind FROM interfaces WHERE name = "
	    "'eth0'"), "packet");
	CHECK_STR(q_text(db, "SELECT companion FROM interfaces WHERE name = "
	    "'tcp://*:1234c'"), "eth0");
	CHECK_EQ_U(q_int(db, "SELECT mirrored FROM interfaces WHERE "
	    "name = 'eth0'"), 1);
	/* One path: a change is recorded in `interfaces` like the rest of
	 * the table; interface_settings (schema 1) is no longer written. */
	CHECK_EQ_U(q_int(db, "SELECT count(*) FROM interface_settings"), 0);
	/* eth0: one joined flow, packet counters, the client's process. */
	CHECK_EQ_U(q_int(db, "SELECT count(*) FROM flows_v WHERE iface = "
	    "'eth0'"), 1);
	CHECK_STR(q_text(db, "SELECT source || ' ' || cli_addr || ':' || "
	    "cli_port || ' ' || srv_addr || ':' || srv_port || ' ' || "
	    "cli_process || ' ' || cli_user || ' ' || cli_parent_process "
	    "FROM flows_v WHERE iface = 'eth0'"),
	    "joined 192.168.1.23:54348 203.0.113.80:80 /usr/bin/curl alice "
	    "/usr/bin/bash");
	CHECK_EQ_U(q_int(db, "SELECT c2s_packets + s2c_bytes FROM flows_v "
	    "WHERE iface = 'eth0'"), 10 + 2000);
	CHECK_EQ_U(q_int(db, "SELECT c2s_wire_bytes FROM flows_v WHERE "
	    "iface = 'eth0'"), 1140);
	CHECK(q_int(db, "SELECT srv_pid FROM flows_v WHERE iface = "
	    "'eth0'") == -1);
	/* The ZMQ interface: event rows without packet counters. */
	CHECK_EQ_U(q_int(db, "SELECT count(*) FROM flows_v WHERE iface = "
	    "'tcp://*:1234c' AND source = 'event' AND c2s_packets IS NULL"),
	    2);
	CHECK_STR(q_text(db, "SELECT ifname || ' ' || extra || ' ' || "
	    "nw_latency_ms FROM flows_v WHERE iface = 'tcp://*:1234c' AND "
	    "cli_port = 54348"), "eth0 {\"K\":1} 0.221");
	CHECK_STR(q_text(db, "SELECT srv_process || ' ' || srv_pod || ' ' || "
	    "srv_container_kind || ' ' || last_event FROM flows WHERE "
	    "srv_port = 443"), "/usr/sbin/nginx web-7d9f k8s ACCEPT");
	CHECK(q_int(db, "SELECT cli_pid FROM flows WHERE srv_port = 443") ==
	    -1);
	/* Rates from deltas: 2000 bytes in 2 s = 8000 bit/s. */
	CHECK_EQ_U(q_int(db, "SELECT count(*) FROM ifcounters"), 2);
	CHECK(q_real(db, "SELECT in_bps FROM ifcounters ORDER BY ts DESC") ==
	    8000.0);
	CHECK_EQ_U(q_int(db, "SELECT count(*) FROM ifcounters WHERE in_bps "
	    "IS NULL"), 1);
	CHECK_EQ_U(q_int(db, "SELECT count(*) FROM listening"), 1);
	CHECK_EQ_U(q_int(db, "SELECT CAST(last_seen - first_seen AS INTEGER) "
	    "FROM listening WHERE port = 22"), 60);
	CHECK_EQ_U(q_int(db, "SELECT lost_msgs FROM producers"), 2);
	CHECK_EQ_U(q_int(db, "SELECT value FROM daemon_counters WHERE "
	    "daemon = 'collector' AND key = 'received'"), 1234);
	CHECK_EQ_U(q_int(db, "SELECT count(*) FROM counter_history WHERE "
	    "daemon = 'collector'"), 2);
	/* The store's own counters, and the identity they keep. */
	CHECK_EQ_U(st->c[SC_BAD_RECORDS], 1);
	CHECK_EQ_U(st->c[SC_UNKNOWN_IFACE], 1);
	drops = st->c[SC_BAD_RECORDS] + st->c[SC_NO_IFACE] +
	    st->c[SC_NO_MEMORY] + st->c[SC_WRITE_DROPS];
	CHECK_EQ_U(st->c[SC_RECEIVED], st->c[SC_STORED] + drops);
	CHECK_EQ_U(st->c[SC_RECEIVED], 14);
	CHECK_EQ_U(q_int(db, "SELECT value FROM daemon_counters WHERE "
	    "daemon = 'store' AND key = 'received'"), 14);
	CHECK_EQ_U(q_int(db, "SELECT value FROM daemon_counters WHERE "
	    "daemon = 'store' AND key = 'iface.eth0.joins'"), 1);

	/* Updates go to the same row by id. */
	rec_flow(r, EVP_SRC_PACKET, EVP_EV_UPDATE, "192.168.1.23", 54348,
	    "203.0.113.80", 80, 2);
	rec_counts(r, 30, 40);
	put_flow(&f, in, r);
	feed_send(&f, in);
	commit_all(st);
	CHECK_EQ_U(q_int(db, "SELECT count(*) FROM flows_v WHERE iface = "
	    "'eth0'"), 1);
	CHECK_EQ_U(q_int(db, "SELECT c2s_packets FROM flows_v WHERE iface = "
	    "'eth0'"), 30);
	{
		struct buf b;

		buf_init(&b);
		store_stats_json(st, &b);
		CHECK(strstr(b.p, "\"role\": \"store\"") != NULL);
		CHECK(strstr(b.p, "\"name\": \"eth0\", \"kind\": \"packet\"") !=
		    NULL);
		CHECK(strstr(b.p, "\"joins\": 1") != NULL);
		buf_free(&b);
	}
	sqlite3_close(db);

	/* Restart: ids continue, the interface table is remembered. */
	{
		uint64_t max = st->next_id;

		link_in_free(in);
		store_fini(st);
		CHECK(store_init(st, &c, "store", SINK_SCHEMA_VERSION, err,
		    sizeof(err)) == 0);
		CHECK_EQ_U(st->next_id, max);
		CHECK(st->iface[1].known);
		CHECK_STR(st->iface[1].name, "eth0");
		CHECK_EQ_U(st->iface[1].kind, EVP_IFACE_PACKET);
		/* Counters continue from the database: the totals are
		 * the earlier run's plus this one's, a gauge is not. */
		st->c[SC_RECEIVED] = 3;
		st->c[SC_MAX_TURN_USEC] = 7;
		store_sync_counters(st);
		CHECK_EQ_U(st->total[SC_RECEIVED], 14 + 3);
		CHECK_EQ_U(st->total[SC_MAX_TURN_USEC], 7);
		CHECK_EQ_U(st->total[SC_TRANSACTIONS], st->base[SC_TRANSACTIONS] +
		    st->c[SC_TRANSACTIONS]);
		CHECK(st->base[SC_TRANSACTIONS] > 0);
		store_write_counters(st, clock_mono_usec());
		CHECK(sink_commit(st->sink) == 0);
		{
			struct buf b;

			buf_init(&b);
			store_stats_json(st, &b);
			CHECK(strstr(b.p, "\"received\": 17") != NULL);
			CHECK(strstr(b.p, "\"counters_since_start\": {"
			    "\"received\": 3") != NULL);
			buf_free(&b);
		}
		db = reader();
		CHECK_EQ_U(q_int(db, "SELECT value FROM daemon_counters WHERE "
		    "daemon = 'store' AND key = 'received'"), 17);
		sqlite3_close(db);
		store_fini(st);
		/* And once more: nothing counted twice. */
		CHECK(store_init(st, &c, "store", SINK_SCHEMA_VERSION, err,
		    sizeof(err)) == 0);
		store_sync_counters(st);
		CHECK_EQ_U(st->total[SC_RECEIVED], 17);
		CHECK_EQ_U(st->iface[1].total[FTC_JOINS], 1);
		store_fini(st);
	}
	free(f.buf);
	free(st);
	free(r);
}

/* Declares the tests' ZMQ interface (router bit 0). */
static void
declare_zmq(struct store *st)
{
	struct evp_iface i;

	memset(&i, 0, sizeof(i));
	i.kind = EVP_IFACE_ZMQ;
	snprintf(i.name, sizeof(i.name), "tcp://*:1");
	store_iface_rec(st, &i);
}

/* A whole retention pass at `now` in a transaction of its own: rows
 * deleted, or -1. */
static long long
retention_pass(struct store *st, double now)
{
	long long n;

	CHECK(sink_begin(st->sink) == 0);
	n = retention_run(&st->ret, st->sink, now);
	CHECK(sink_commit(st->sink) == 0);
	return n;
}

static void
test_retention(void)
{
	struct store *st = calloc(1, sizeof(*st));
	struct evp_flow *r = calloc(1, sizeof(*r));
	struct store_conf c;
	char err[256];
	double now = (double)clock_wall_usec() / 1e6;
	long long before, n, size;
	unsigned k;
	sqlite3 *db;

	unlink(dbpath);
	conf_init(&c);
	c.max_db_size = 1LL << 40;	/* a bound: incremental auto_vacuum */
	CHECK(store_init(st, &c, "store", SINK_SCHEMA_VERSION, err,
	    sizeof(err)) == 0);
	declare_zmq(st);
	/* 100 flows ten days old, 20000 recent ones. */
	for (k = 0; k < 20100; k++) {
		rec_flow(r, EVP_SRC_EVENT, EVP_EV_CONNECT, "10.7.0.1",
		    1 + k % 60000, "10.7.0.2", 80 + k / 60000, 1);
		rec_proc(r, 0, 5, "/bin/x", "u");
		r->ts_usec = (uint64_t)((k < 100 ? now - 10 * 86400 : now) *
		    1e6);
		store_flow(st, r, 1);
	}
	commit_all(st);
	db = reader();
	CHECK_EQ_U(q_int(db, "SELECT count(*) FROM flows"), 20100);
	st->ret.max_age = 7 * 86400;
	n = retention_pass(st, now);
	CHECK_EQ_U(n, 100);
	CHECK_EQ_U(q_int(db, "SELECT count(*) FROM flows"), 20000);
	CHECK_EQ_U(q_int(db, "SELECT count(*) FROM flows WHERE last_seen < "
	    "strftime('%s','now') - 7 * 86400"), 0);
	/* Old samples go by chunks, each table on its own: one step
	 * deletes at most 1000 of them, the pass deletes them all. */
	CHECK(sink_begin(st->sink) == 0);
	for (k = 0; k < 2500; k++)
		CHECK(sink_counter(st->sink, "old", "store", "k", k,
		    now - 10 * 86400 + k, 1) == 0);
	CHECK(sink_commit(st->sink) == 0);
	CHECK(sink_begin(st->sink) == 0);
	retention_start(&st->ret);
	n = retention_step(&st->ret, st->sink, now);
	CHECK(sink_commit(st->sink) == 0);
	CHECK_EQ_U(n, 1000);
	CHECK_EQ_U(q_int(db, "SELECT count(*) FROM counter_history WHERE "
	    "daemon = 'old'"), 1500);
	CHECK(st->ret.active);
	n = retention_pass(st, now);
	CHECK_EQ_U(n, 1500);
	CHECK_EQ_U(q_int(db, "SELECT count(*) FROM counter_history WHERE "
	    "ts < strftime('%s','now') - 7 * 86400"), 0);
	/* By size: half of what it holds now. */
	before = sink_db_bytes(st->sink);
	CHECK(before > 0);
	st->ret.max_bytes = before / 2;
	n = retention_pass(st, now);
	size = sink_db_bytes(st->sink);
	CHECK(n > 0);
	CHECK(size <= before / 2);
	CHECK_EQ_U(st->ret.size_runs, 1);
	/* The file itself, not only its content: the freed pages went
	 * back (incremental auto_vacuum), and the file on disk shrinks
	 * when the WAL is checkpointed. */
	CHECK(st->ret.incremental);
	CHECK(st->ret.vacuumed > 0);
	CHECK(sink_file_bytes(st->sink, NULL) <= before / 2);
	{
		struct stat sb;
		int rc, tries = 0;

		/* The checkpointer thread's own pass holds the checkpoint
		 * lock while it runs (SQLITE_BUSY, without waiting). */
		while ((rc = sqlite3_wal_checkpoint_v2(sink_handle(st->sink),
		    NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL)) ==
		    SQLITE_BUSY && ++tries < 100)
			usleep(20000);
		CHECK_EQ_U(rc, SQLITE_OK);
		CHECK(stat(dbpath, &sb) == 0);
		CHECK(sb.st_size <= before / 2);
	}
	CHECK_EQ_U(q_int(db, "SELECT count(*) FROM flows"), 20000 - n);
	/* The oldest went first: what is left is the newest ids. */
	CHECK_EQ_U(q_int(db, "SELECT max(id) FROM flows"), st->next_id);
	sqlite3_close(db);
	/* Flushing writes only dirty flows: deleted rows stay deleted. */
	store_flush_all(st);
	db = reader();
	CHECK_EQ_U(q_int(db, "SELECT count(*) FROM flows"), 20000 - n);
	sqlite3_close(db);
	store_fini(st);
	free(st);
	free(r);
}

/* The checkpointer thread copies the WAL into the database file (it
 * once did nothing: its connection never learnt the file was in WAL
 * mode, and the WAL grew without end). */
/*
 * Processes and containers are rows of their own, one per distinct
 * value, which the flows view resolves; the rows no flow refers to go
 * in retention's sweep, except those the loop still holds.
 */
static void
test_process_rows(void)
{
	struct store *st = calloc(1, sizeof(*st));
	struct evp_flow *r = calloc(1, sizeof(*r));
	struct store_conf c;
	char err[256];
	double now = (double)clock_wall_usec() / 1e6;
	long long maxref;
	unsigned k;
	sqlite3 *db, *rw;

	unlink(dbpath);
	conf_init(&c);
	c.retention = 0;
	CHECK(store_init(st, &c, "store", SINK_SCHEMA_VERSION, err,
	    sizeof(err)) == 0);
	declare_zmq(st);
	/* 300 flows ten days old: three processes with one parent; every
	 * third has a container on the server side. */
	for (k = 0; k < 300; k++) {
		memset(r, 0, sizeof(*r));
		rec_flow(r, EVP_SRC_EVENT, EVP_EV_CONNECT, "10.8.0.1", 1 + k,
		    "10.8.0.2", 80, 1);
		rec_proc(r, 0, 5 + k % 3, "/bin/x", "u");
		rec_parent(r, 0, 1, "/sbin/init");
		if (k % 3 == 0)
			rec_container(r, 1, "c1", "pod1");
		r->ts_usec = (uint64_t)((now - 10 * 86400) * 1e6);
		store_flow(st, r, 1);
	}
	commit_all(st);
	db = reader();
	CHECK_EQ_U(q_int(db, "SELECT count(*) FROM processes"), 4);
	CHECK_EQ_U(q_int(db, "SELECT count(*) FROM containers"), 1);
	CHECK_EQ_U(q_int(db, "SELECT count(*) FROM flows WHERE cli_pid = 6"
	    " AND cli_tid = 6 AND cli_uid = 1000 AND cli_process = '/bin/x'"
	    " AND cli_user = 'u' AND cli_parent_pid = 1 AND"
	    " cli_parent_process = '/sbin/init' AND srv_pid IS NULL"), 100);
	CHECK_EQ_U(q_int(db, "SELECT count(*) FROM flows WHERE"
	    " srv_container_kind = 'k8s' AND srv_container_id = 'c1' AND"
	    " srv_pod = 'pod1' AND srv_namespace = 'default' AND"
	    " cli_container_id IS NULL"), 100);
	CHECK_EQ_U(q_int(db, "SELECT count(*) FROM flow_rows WHERE"
	    " srv_cont_id IS NULL AND srv_proc_id IS NULL"), 200);
	/* Every row referenced: the sweep keeps them all, in memory or
	 * not. */
	st->ret.refs_interval = 0;
	CHECK(retention_pass(st, now) == 0);
	store_flush_all(st);
	CHECK(retention_pass(st, now) == 0);
	CHECK_EQ_U(st->ret.refs_deleted, 0);
	CHECK_EQ_U(q_int(db, "SELECT count(*) FROM processes"), 4);
	store_fini(st);
	/* Restarted: rows of new values continue after the old ones. */
	CHECK(store_init(st, &c, "store", SINK_SCHEMA_VERSION, err,
	    sizeof(err)) == 0);
	maxref = q_int(db, "SELECT max(id) FROM (SELECT id FROM processes"
	    " UNION ALL SELECT id FROM containers)");
	CHECK_EQ_U(st->in->last_row, maxref);
	declare_zmq(st);
	for (k = 0; k < 10; k++) {
		memset(r, 0, sizeof(*r));
		rec_flow(r, EVP_SRC_EVENT, EVP_EV_CONNECT, "10.8.1.1", 1 + k,
		    "10.8.0.2", 80, 1);
		rec_proc(r, 0, 9, "/bin/y", "v");
		r->ts_usec = (uint64_t)(now * 1e6);
		store_flow(st, r, 1);
	}
	commit_all(st);
	CHECK_EQ_U(q_int(db, "SELECT min(cli_proc_id) FROM flow_rows WHERE"
	    " id > 300"),
	    maxref + 1);
	/* The old flows go: so do their processes and container.  The
	 * new process stays though no flow row names it any more, as
	 * its flows are still live and will name it again. */
	CHECK(sqlite3_open(dbpath, &rw) == SQLITE_OK);
	sqlite3_busy_timeout(rw, 5000);
	CHECK(sqlite3_exec(rw, "DELETE FROM flows WHERE cli_pid = 9", NULL,
	    NULL, NULL) == SQLITE_OK);
	CHECK_EQ_U(q_int(db, "SELECT count(*) FROM flows WHERE"
	    " cli_pid = 9"), 0);
	/* A started store's first sweep waits an interval: the old flows
	 * go by age, their rows stay for now. */
	st->ret.max_age = 7 * 86400;
	CHECK_EQ_U(st->ret.refs_interval, STORE_REFS_SWEEP_SEC);
	CHECK_EQ_U(retention_pass(st, (double)clock_wall_usec() / 1e6 + 60),
	    300);
	CHECK_EQ_U(st->ret.refs_deleted, 0);
	CHECK_EQ_U(q_int(db, "SELECT count(*) FROM processes"), 5);
	st->ret.refs_interval = 0;
	CHECK_EQ_U(retention_pass(st, now), 0);
	CHECK_EQ_U(st->ret.refs_deleted, 5);
	CHECK_EQ_U(q_int(db, "SELECT count(*) FROM processes"), 1);
	CHECK_EQ_U(q_int(db, "SELECT count(*) FROM processes WHERE pid = 9"
	    " AND process = '/bin/y' AND user = 'v'"), 1);
	CHECK_EQ_U(q_int(db, "SELECT count(*) FROM containers"), 0);
	/* The next sweep waits for its interval. */
	CHECK(sqlite3_exec(rw, "INSERT INTO processes (pid) VALUES (77)",
	    NULL, NULL, NULL) == SQLITE_OK);
	sqlite3_close(rw);
	st->ret.refs_interval = 3600;
	CHECK(retention_pass(st, now + 60) == 0);
	CHECK_EQ_U(st->ret.refs_deleted, 5);
	CHECK_EQ_U(q_int(db, "SELECT count(*) FROM processes WHERE"
	    " pid = 77"), 1);
	sqlite3_close(db);
	store_fini(st);
	free(st);
	free(r);
}

static int
fail_commit(void *arg)
{
	(void)arg;
	return 1;
}

/* One event flow from 10.9.0.1:port with process `pid` (its path
 * names the pid), merged now. */
static void
flow_with_proc(struct store *st, struct evp_flow *r, unsigned port,
    unsigned pid)
{
	char path[32];

	memset(r, 0, sizeof(*r));
	rec_flow(r, EVP_SRC_EVENT, EVP_EV_CONNECT, "10.9.0.1", port,
	    "10.9.0.2", 80, 1);
	snprintf(path, sizeof(path), "/bin/p%u", pid);
	rec_proc(r, 0, pid, path, "u");
	r->ts_usec = clock_wall_usec();
	store_flow(st, r, 1);
}

/* Waits past the writer's back-off, then lets it try again. */
static void
retry_now(struct store *st)
{
	usleep(WRITER_RETRY_MIN_USEC * 3 / 2);
	(void)writer_ready(st->w);
	store_sync_counters(st);
}

/*
 * The sweep's scan reads each flow row once, and a small memo skips the
 * references it just added: with more processes than the memo has
 * slots (ids k and k + 1024 share one), it keeps every row a flow names
 * and deletes exactly those no flow names any more.
 */
static void
test_refs_scan(void)
{
	struct store *st = calloc(1, sizeof(*st));
	struct evp_flow *r = calloc(1, sizeof(*r));
	struct store_conf c;
	char err[256];
	double now = (double)clock_wall_usec() / 1e6;
	unsigned k, n = 3000;
	sqlite3 *db, *rw;

	unlink(dbpath);
	conf_init(&c);
	c.retention = 0;
	CHECK(store_init(st, &c, "store", SINK_SCHEMA_VERSION, err,
	    sizeof(err)) == 0);
	declare_zmq(st);
	/* n processes, each named by two flows far apart: the scan meets
	 * every id twice, the second time after 1,023 others */
	for (k = 0; k < 2 * n; k++) {
		memset(r, 0, sizeof(*r));
		rec_flow(r, EVP_SRC_EVENT, EVP_EV_CONNECT, "10.9.0.1", 1 + k,
		    "10.9.0.2", 80, 1);
		rec_proc(r, 0, 100 + k % n, "/bin/z", "u");
		r->ts_usec = (uint64_t)(now * 1e6);
		store_flow(st, r, 1);
	}
	commit_all(st);
	store_flush_all(st);	/* none held: every row may go */
	db = reader();
	CHECK_EQ_U(q_int(db, "SELECT count(*) FROM processes"), n);
	st->ret.refs_interval = 0;
	CHECK(retention_pass(st, now) == 0);
	CHECK_EQ_U(st->ret.refs_deleted, 0);
	CHECK_EQ_U(q_int(db, "SELECT count(*) FROM processes"), n);
	/* Both flows of the processes with an odd pid go. */
	CHECK(sqlite3_open(dbpath, &rw) == SQLITE_OK);
	sqlite3_busy_timeout(rw, 5000);
	CHECK(sqlite3_exec(rw, "DELETE FROM flows WHERE cli_pid % 2 = 1",
	    NULL, NULL, NULL) == SQLITE_OK);
	sqlite3_close(rw);
	CHECK(retention_pass(st, now) == 0);
	CHECK_EQ_U(st->ret.refs_deleted, n / 2);
	CHECK_EQ_U(q_int(db, "SELECT count(*) FROM processes WHERE"
	    " pid % 2 = 0"), n / 2);
	CHECK_EQ_U(q_int(db, "SELECT count(*) FROM processes"), n / 2);
	CHECK_EQ_U(q_int(db, "SELECT count(*) FROM flows WHERE"
	    " cli_process = '/bin/z'"), n);
	sqlite3_close(db);
	store_fini(st);
	free(st);
	free(r);
}

/*
 * A commit that fails loses nothing: the writer keeps its rows (and the
 * process rows first inserted with them) and writes them again when a
 * commit works, after its back-off; the store shows the error state
 * meanwhile.  Past store.write_retry_max the rows that leave their
 * tables are dropped, counted in rows; the flows' later rows still
 * name their processes.
 */
static void
test_rollback_refs(void)
{
	struct store *st = calloc(1, sizeof(*st));
	struct evp_flow *r = calloc(1, sizeof(*r));
	struct store_conf c;
	char err[256];
	unsigned k;
	sqlite3 *db;
	struct buf b;

	unlink(dbpath);
	conf_init(&c);
	CHECK(store_init(st, &c, "store", SINK_SCHEMA_VERSION, err,
	    sizeof(err)) == 0);
	declare_zmq(st);
	flow_with_proc(st, r, 1, 5);
	/* The first flow's commit fails, with rows of the loop's in its
	 * transaction: a counter sample, a listening socket. */
	CHECK(sink_counter(st->sink, "replayed", "tool", "k", 7,
	    1796228211.25, 1) == 0);
	{
		struct evp_listen l;

		memset(&l, 0, sizeof(l));
		snprintf(l.host, sizeof(l.host), "h'q");
		snprintf(l.proc, sizeof(l.proc), "/bin/l");
		l.proto = 6;
		l.ip_version = 4;
		l.port = 22;
		l.ts_usec = clock_wall_usec();
		CHECK(sink_listen(st->sink, 1, &l) == 0);
	}
	sqlite3_commit_hook(sink_handle(st->sink), fail_commit, NULL);
	(void)store_queue_dirty(st, UINT32_MAX, UINT64_MAX);
	writer_sync(st->w);
	sqlite3_commit_hook(sink_handle(st->sink), NULL, NULL);
	store_sync_counters(st);
	CHECK_EQ_U(st->c[SC_COMMIT_FAILURES], 1);
	CHECK_EQ_U(st->c[SC_WRITE_ERROR_STATE], 1);
	CHECK_EQ_U(st->c[SC_WRITE_RETRY_ROWS], 1);
	CHECK(writer_ready(st->w) == 0);
	buf_init(&b);
	store_stats_json(st, &b);
	CHECK(strstr(b.p, "\"write_state\": \"failing\"") != NULL);
	CHECK(strstr(b.p, "\"write_error_state\": 1") != NULL);
	buf_free(&b);
	/* A second flow of the same process while it fails. */
	flow_with_proc(st, r, 2, 5);
	retry_now(st);
	CHECK_EQ_U(st->c[SC_WRITE_ERROR_STATE], 0);
	CHECK_EQ_U(st->c[SC_WRITE_RETRIES], 1);
	CHECK_EQ_U(st->c[SC_WRITE_RETRY_ROWS], 0);
	CHECK(writer_ready(st->w) == 1);
	store_sync(st);
	db = reader();
	CHECK_EQ_U(q_int(db, "SELECT count(*) FROM flow_rows"), 2);
	CHECK_EQ_U(q_int(db, "SELECT count(*) FROM flows WHERE cli_pid = 5"
	    " AND cli_process = '/bin/p5'"), 2);
	/* The loop's rows were written again, values intact. */
	CHECK_EQ_U(q_int(db, "SELECT count(*) FROM counter_history WHERE"
	    " daemon = 'replayed' AND key = 'k' AND value = 7 AND"
	    " ts = 1796228211.25"), 1);
	CHECK_EQ_U(q_int(db, "SELECT count(*) FROM listening WHERE"
	    " host = 'h''q' AND process = '/bin/l' AND port = 22"), 1);
	sqlite3_close(db);
	store_sync_counters(st);
	CHECK_EQ_U(st->c[SC_WRITE_ROWS_DROPPED], 0);
	CHECK_EQ_U(st->c[SC_WRITE_OTHER_DROPPED], 0);
	store_fini(st);

	/* The bound: room for 20 rows while commits fail. */
	unlink(dbpath);
	c.write_retry_max = 20 * (long long)sizeof(struct flow_row);
	CHECK(store_init(st, &c, "store", SINK_SCHEMA_VERSION, err,
	    sizeof(err)) == 0);
	declare_zmq(st);
	for (k = 0; k < 5; k++)
		flow_with_proc(st, r, 100 + k, 1000 + k);
	sqlite3_commit_hook(sink_handle(st->sink), fail_commit, NULL);
	store_sync(st);
	CHECK(writer_ready(st->w) == 0);
	/* 30 more, each with a process of its own, leave their table
	 * (flushed) while it fails: 15 fit, 15 are dropped. */
	for (k = 5; k < 35; k++)
		flow_with_proc(st, r, 100 + k, 1000 + k);
	store_flush_all(st);
	store_sync_counters(st);
	CHECK_EQ_U(st->c[SC_WRITE_RETRY_ROWS], 20);
	CHECK_EQ_U(st->c[SC_WRITE_ROWS_DROPPED], 15);
	sqlite3_commit_hook(sink_handle(st->sink), NULL, NULL);
	retry_now(st);
	CHECK_EQ_U(st->c[SC_WRITE_ERROR_STATE], 0);
	db = reader();
	CHECK_EQ_U(q_int(db, "SELECT count(*) FROM flow_rows"), 20);
	CHECK_EQ_U(q_int(db, "SELECT count(*) FROM flows WHERE cli_process ="
	    " '/bin/p' || cli_pid"), 20);
	sqlite3_close(db);
	/* The same connections again (new flows: the old ones left their
	 * table): every row names its process, also where the row that
	 * was to insert the process was dropped. */
	for (k = 0; k < 35; k++)
		flow_with_proc(st, r, 100 + k, 1000 + k);
	store_sync(st);
	db = reader();
	CHECK_EQ_U(q_int(db, "SELECT count(*) FROM flow_rows"), 55);
	CHECK_EQ_U(q_int(db, "SELECT count(*) FROM flows WHERE cli_process ="
	    " '/bin/p' || cli_pid"), 55);
	sqlite3_close(db);
	store_fini(st);
	free(st);
	free(r);
}

/*
 * Version 3 kept processes in 40 columns of flows; 4 moves them into
 * their own rows.  Every value reads back the same through the flows
 * view, and the view takes inserts and deletes as the table did.
 */
static void
test_migrate_processes(void)
{
	struct sink *k;
	sqlite3 *db;
	char err[256];
	int i;

	unlink(dbpath);
	k = sink_open(dbpath, 0, 0, 3, err, sizeof(err));
	CHECK(k != NULL);
	sink_close(k);
	CHECK(sqlite3_open(dbpath, &db) == SQLITE_OK);
	CHECK(sqlite3_exec(db, "INSERT INTO interfaces (id, name, kind)"
	    " VALUES (1, 'eth0', 'packet')", NULL, NULL, NULL) == SQLITE_OK);
	for (i = 1; i <= 30; i++) {
		char sql[1024];

		snprintf(sql, sizeof(sql), "INSERT INTO flows (id, iface_id,"
		    " last_seen, source, c2s_bytes, cli_pid, cli_tid, cli_uid,"
		    " cli_user, cli_process, cli_cmdline, cli_parent_pid,"
		    " cli_parent_process, srv_pid, srv_process,"
		    " srv_container_kind, srv_container_id, srv_pod) VALUES"
		    " (%d, 1, %d, 'joined', %d, %d, %d, 1000, 'alice',"
		    " '/usr/bin/curl', %s, 7, '/bin/sh', %s, %s, %s, %s, %s)",
		    i, i, i * 10, 100 + i % 3, 100 + i % 3,
		    i % 2 ? "'-s'" : "NULL", i % 5 ? "NULL" : "80",
		    i % 5 ? "NULL" : "'/usr/sbin/nginx'",
		    i % 10 ? "NULL" : "'docker'", i % 10 ? "NULL" : "'abc'",
		    i % 10 ? "NULL" : "'web'");
		CHECK(sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK);
	}
	CHECK(sqlite3_exec(db, "CREATE TABLE before AS SELECT * FROM flows",
	    NULL, NULL, NULL) == SQLITE_OK);
	sqlite3_close(db);
	k = sink_open(dbpath, 0, 0, 4, err, sizeof(err));
	CHECK(k != NULL);
	CHECK_EQ_U(sink_schema_version(k), 4);
	sink_close(k);
	db = reader();
	CHECK_EQ_U(q_int(db, "SELECT max(id) FROM flow_rows"), 30);
	CHECK_EQ_U(q_int(db, "SELECT count(*) FROM flows"), 30);
	CHECK_EQ_U(q_int(db, "SELECT count(*) FROM (SELECT * FROM before"
	    " EXCEPT SELECT * FROM flows)"), 0);
	CHECK_STR(q_text(db, "SELECT type FROM sqlite_master WHERE"
	    " name = 'flows'"), "view");
	/* curl three pids, each with and without a command line, as a
	 * client; its parent; nginx as a server. */
	CHECK_EQ_U(q_int(db, "SELECT count(*) FROM processes"), 8);
	CHECK_EQ_U(q_int(db, "SELECT count(*) FROM containers"), 1);
	CHECK_EQ_U(q_int(db, "SELECT count(*) FROM sqlite_master WHERE"
	    " name LIKE 'migrate_%'"), 0);
	CHECK_EQ_U(q_int(db, "SELECT count(*) FROM sqlite_master WHERE"
	    " type = 'index' AND tbl_name = 'flow_rows'"), 2);
	CHECK_EQ_U(q_int(db, "SELECT with_process FROM iface_attribution"),
	    30);
	sqlite3_close(db);
	/* Written through the view, as SQL for version 3 did. */
	CHECK(sqlite3_open(dbpath, &db) == SQLITE_OK);
	CHECK(sqlite3_exec(db, "INSERT INTO flows (iface_id, last_seen,"
	    " cli_pid, cli_process, srv_pod) VALUES (1, 99, 42, '/bin/z',"
	    " 'p')", NULL, NULL, NULL) == SQLITE_OK);
	CHECK_EQ_U(q_int(db, "SELECT id FROM flows WHERE cli_pid = 42 AND"
	    " cli_process = '/bin/z' AND srv_pod = 'p' AND srv_pid IS NULL"
	    " AND last_seen = 99"), 31);
	CHECK(sqlite3_exec(db, "DELETE FROM flows WHERE id > 20", NULL, NULL,
	    NULL) == SQLITE_OK);
	CHECK_EQ_U(q_int(db, "SELECT count(*) FROM flow_rows"), 20);
	sqlite3_close(db);
}

/* A flow record from cli to srv of protocol `proto` (no ports if 0). */
static void
rec_tuple(struct evp_flow *r, int source, const char *cli, unsigned cport,
    const char *srv, unsigned sport, unsigned proto, uint64_t mask)
{
	rec_flow(r, source, source == EVP_SRC_PACKET ? EVP_EV_UPDATE :
	    EVP_EV_CONNECT, cli, cport, srv, sport, mask);
	r->proto = (uint8_t)proto;
	r->ip_version = strchr(cli, ':') != NULL ? 6 : 4;
}

/*
 * The Community ID of written rows (the spec's vectors): the same for
 * both directions and for a connection's rows in two interfaces, kept
 * by updates, NULL for ICMP without a type, from NetFlow's ICMP type
 * when it has one; indexed.
 */
static void
test_community_rows(void)
{
	struct store *st = calloc(1, sizeof(*st));
	struct evp_flow *r = calloc(1, sizeof(*r));
	struct store_conf c;
	struct evp_iface i;
	char err[256];
	sqlite3 *db;

	unlink(dbpath);
	conf_init(&c);
	CHECK(store_init(st, &c, "store", SINK_SCHEMA_VERSION, err,
	    sizeof(err)) == 0);
	declare_zmq(st);
	memset(&i, 0, sizeof(i));
	i.id = 1;
	i.kind = EVP_IFACE_PACKET;
	snprintf(i.name, sizeof(i.name), "eth0");
	store_iface_rec(st, &i);
	/* A connection's event in both interfaces, its packets in eth0
	 * (sent from the server's side first). */
	rec_tuple(r, EVP_SRC_EVENT, "1.2.3.4", 1122, "5.6.7.8", 3344, 6, 3);
	store_flow(st, r, 1);
	rec_tuple(r, EVP_SRC_EVENT, "5.6.7.8", 3344, "1.2.3.4", 1122, 17, 1);
	store_flow(st, r, 1);
	rec_tuple(r, EVP_SRC_EVENT, "2001:470:e5bf:dead:4957:2174:e82c:4887",
	    63943, "2607:f8b0:400c:c03::1a", 25, 6, 1);
	store_flow(st, r, 1);
	rec_tuple(r, EVP_SRC_NETFLOW, "1.2.3.4", 0, "5.6.7.8", 0, 1, 1);
	memcpy(r->extra, "{\"ICMP_TYPE\":8,\"ICMP_CODE\":0}", 30);
	r->extra_len = 30;
	store_flow(st, r, 1);
	rec_tuple(r, EVP_SRC_NETFLOW, "10.0.0.1", 0, "10.0.0.2", 0, 1, 1);
	memcpy(r->extra, "{\"ICMP_TYPE\": 11, \"ICMP_CODE\": 0}", 32);
	r->extra_len = 32;
	store_flow(st, r, 1);
	rec_tuple(r, EVP_SRC_PACKET, "1.2.3.4", 0, "5.6.7.8", 0, 1, 2);
	store_flow(st, r, 1);
	rec_tuple(r, EVP_SRC_PACKET, "5.6.7.8", 0, "1.2.3.4", 0, 46, 2);
	store_flow(st, r, 1);
	commit_all(st);
	db = reader();
	CHECK_EQ_U(q_int(db, "SELECT count(*) FROM flows WHERE protocol = 6"
	    " AND cli_port = 1122 AND community_id ="
	    " '1:wCb3OG7yAFWelaUydu0D+125CLM='"), 2);
	CHECK_STR(q_text(db, "SELECT community_id FROM flows WHERE"
	    " protocol = 17"), "1:0Mu9InQx6z4ZiCZM/7HXi2WMhOg=");
	CHECK_STR(q_text(db, "SELECT community_id FROM flows WHERE"
	    " srv_port = 25"), "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4=");
	CHECK_STR(q_text(db, "SELECT community_id FROM flows WHERE"
	    " protocol = 1 AND source = 'netflow' AND cli_addr = '1.2.3.4'"),
	    "1:crodRHL2FEsHjbv3UkRrfbs4bZ0=");
	CHECK_STR(q_text(db, "SELECT community_id FROM flows WHERE"
	    " protocol = 1 AND cli_addr = '10.0.0.1'"),
	    "1:YHxtAirCG//0OzkcVAukqKQN9xM=");
	CHECK_STR(q_text(db, "SELECT coalesce(community_id, 'none') FROM"
	    " flows WHERE protocol = 1 AND source = 'packet'"), "none");
	CHECK_STR(q_text(db, "SELECT community_id FROM flows WHERE"
	    " protocol = 46"), "1:ikv3kmf89luf73WPz1jOs49S768=");
	/* An update rewrites the row, not its ID. */
	rec_tuple(r, EVP_SRC_PACKET, "5.6.7.8", 3344, "1.2.3.4", 1122, 6, 2);
	rec_counts(r, 3, 4);
	store_flow(st, r, 2);
	commit_all(st);
	CHECK_EQ_U(q_int(db, "SELECT count(*) FROM flows WHERE protocol = 6"
	    " AND 1122 IN (cli_port, srv_port) AND community_id ="
	    " '1:wCb3OG7yAFWelaUydu0D+125CLM='"), 2);
	CHECK_EQ_U(q_int(db, "SELECT c2s_packets + s2c_packets FROM flows_v"
	    " WHERE iface = 'eth0' AND protocol = 6"), 7);
	{
		sqlite3_stmt *s;
		const unsigned char *d = NULL;

		int found = 0;

		/* The documented lookup seeks the index. */
		CHECK(sqlite3_prepare_v2(db, "EXPLAIN QUERY PLAN SELECT id FROM"
		    " flows WHERE id IN " COMMUNITY_ROWS_SQL("?1"), -1, &s,
		    NULL) == SQLITE_OK);
		while (sqlite3_step(s) == SQLITE_ROW)
			if ((d = sqlite3_column_text(s, 3)) != NULL &&
			    strstr((const char *)d, "flows_community_key") !=
			    NULL)
				found = 1;
		CHECK(found);
		sqlite3_finalize(s);
	}
	/* The key the store wrote is the SQL expression's and the C
	 * function's. */
	CHECK_EQ_U(q_int(db, "SELECT count(*) FROM flow_rows WHERE"
	    " community_id IS NOT NULL AND community_key IS " COMMUNITY_KEY_SQL(
	    "id", "community_id")), 7);
	CHECK_EQ_U(q_int(db, "SELECT count(*) FROM flow_rows WHERE"
	    " community_id IS NULL AND community_key IS NULL"), 1);
	CHECK_EQ_U(q_int(db, "SELECT community_key FROM flow_rows WHERE"
	    " protocol = 17"), (uint64_t)community_id_key(q_int(db, "SELECT"
	    " id FROM flow_rows WHERE protocol = 17"),
	    "1:0Mu9InQx6z4ZiCZM/7HXi2WMhOg="));
	CHECK_EQ_U(q_int(db, "SELECT count(*) FROM flows WHERE id IN "
	    COMMUNITY_ROWS_SQL("'1:wCb3OG7yAFWelaUydu0D+125CLM='")), 2);
	CHECK_EQ_U(q_int(db, "SELECT count(*) FROM flows WHERE id IN "
	    COMMUNITY_ROWS_SQL("'1:wCb3OG7yAFWelaUydu0D+125CLMX'")), 0);
	sqlite3_close(db);
	store_fini(st);
	CHECK(sqlite3_open(dbpath, &db) == SQLITE_OK);
	/* Rows of one connection in buckets far apart (through the view's
	 * trigger, which fills the key): each found. */
	CHECK(sqlite3_exec(db, "INSERT INTO flows (id, iface_id, last_seen,"
	    " community_id) VALUES (65535, 1, 9,"
	    " '1:0Mu9InQx6z4ZiCZM/7HXi2WMhOg='), (65536, 1, 9,"
	    " '1:0Mu9InQx6z4ZiCZM/7HXi2WMhOg='), (1000000, 1, 9,"
	    " '1:0Mu9InQx6z4ZiCZM/7HXi2WMhOg=')", NULL, NULL, NULL) ==
	    SQLITE_OK);
	CHECK_EQ_U(q_int(db, "SELECT community_key FROM flow_rows WHERE"
	    " id = 1000000"), (uint64_t)community_id_key(1000000,
	    "1:0Mu9InQx6z4ZiCZM/7HXi2WMhOg="));
	CHECK_EQ_U(q_int(db, "SELECT count(*) FROM flows WHERE id IN "
	    COMMUNITY_ROWS_SQL("'1:0Mu9InQx6z4ZiCZM/7HXi2WMhOg='")
	    " AND id IN (65535, 65536, 1000000)"), 3);
	CHECK_EQ_U(q_int(db, "SELECT count(*) FROM flows WHERE id IN "
	    COMMUNITY_ROWS_SQL("'1:0Mu9InQx6z4ZiCZM/7HXi2WMhOg='")), 4);
	sqlite3_close(db);
	free(st);
	free(r);
}

/*
 * Version 4 -> 5: rows written before get their Community ID (the
 * ICMP type from NetFlow's extra, none without), `flows` and `flows_v`
 * gain the new columns, the view still takes inserts, host_names
 * exists.
 */
static void
test_migrate_v5(void)
{
	struct sink *k;
	sqlite3 *db;
	char err[256];

	unlink(dbpath);
	k = sink_open(dbpath, 0, 0, 4, err, sizeof(err));
	CHECK(k != NULL);
	sink_close(k);
	CHECK(sqlite3_open(dbpath, &db) == SQLITE_OK);
	CHECK(sqlite3_exec(db, "INSERT INTO interfaces (id, name, kind)"
	    " VALUES (1, 'eth0', 'packet');"
	    " INSERT INTO flows (id, iface_id, last_seen, protocol, cli_addr,"
	    " cli_port, srv_addr, srv_port, cli_pid, cli_process) VALUES"
	    " (1, 1, 5, 6, '5.6.7.8', 3344, '1.2.3.4', 1122, 7, '/bin/a'),"
	    " (2, 1, 5, 1, '192.168.0.1', 0, '192.168.0.89', 0, NULL, NULL),"
	    " (3, 1, 5, 1, '10.0.0.1', 0, '10.0.0.2', 0, NULL, NULL),"
	    " (4, 1, 5, 58, 'fe80::200:86ff:fe05:80da', 0,"
	    " 'fe80::260:97ff:fe07:69ea', 0, NULL, NULL),"
	    " (5, 1, 5, 6, 'junk', 1, '1.2.3.4', 2, NULL, NULL);"
	    " UPDATE flow_rows SET extra = '{\"ICMP_TYPE\":0,\"ICMP_CODE\":0}'"
	    " WHERE id = 2; UPDATE flow_rows SET extra = 'not json' WHERE"
	    " id = 3; UPDATE flow_rows SET extra ="
	    " '{\"ICMP_TYPE\":135,\"ICMP_CODE\":0}' WHERE id = 4;", NULL,
	    NULL, NULL) == SQLITE_OK);
	sqlite3_close(db);
	k = sink_open(dbpath, 0, 0, SINK_SCHEMA_VERSION, err, sizeof(err));
	CHECK(k != NULL);
	CHECK_EQ_U(sink_schema_version(k), SINK_SCHEMA_VERSION);
	sink_close(k);
	CHECK(sqlite3_open(dbpath, &db) == SQLITE_OK);
	CHECK_STR(q_text(db, "SELECT community_id || ' ' || cli_process FROM"
	    " flows WHERE id = 1"), "1:wCb3OG7yAFWelaUydu0D+125CLM= /bin/a");
	CHECK_STR(q_text(db, "SELECT community_id FROM flows WHERE id = 2"),
	    "1:X0snYXpgwiv9TZtqg64sgzUn6Dk=");
	CHECK_STR(q_text(db, "SELECT coalesce(community_id, 'none') FROM"
	    " flows WHERE id = 3"), "none");
	CHECK_STR(q_text(db, "SELECT community_id FROM flows_v WHERE id = 4"),
	    "1:dGHyGvjMfljg6Bppwm3bg0LO8TY=");
	CHECK_STR(q_text(db, "SELECT coalesce(community_id, 'none') FROM"
	    " flows WHERE id = 5"), "none");
	CHECK_EQ_U(q_int(db, "SELECT count(*) FROM sqlite_master WHERE"
	    " name IN ('flows_community_key', 'host_names',"
	    " 'host_names_name')"), 3);
	CHECK(sqlite3_exec(db, "INSERT INTO flows (id, iface_id, last_seen,"
	    " cli_pid, cli_process, community_id, app_proto, tls_sni) VALUES"
	    " (9, 1, 99, 42, '/bin/z', '1:x', 'TLS.YouTube', 'a.example')",
	    NULL, NULL, NULL) == SQLITE_OK);
	CHECK_STR(q_text(db, "SELECT cli_process || ' ' || community_id ||"
	    " ' ' || app_proto || ' ' || tls_sni FROM flows WHERE id = 9"),
	    "/bin/z 1:x TLS.YouTube a.example");
	sqlite3_close(db);
}

/*
 * Version 6 -> 7: the rows written before get their community_key
 * (the same as the store writes), the index on it replaces the one on
 * the text, and a lookup finds them.
 */
static void
test_migrate_v7(void)
{
	struct sink *k;
	sqlite3 *db;
	char err[256];

	unlink(dbpath);
	k = sink_open(dbpath, 0, 0, 6, err, sizeof(err));
	CHECK(k != NULL);
	sink_close(k);
	CHECK(sqlite3_open(dbpath, &db) == SQLITE_OK);
	CHECK(sqlite3_exec(db, "INSERT INTO interfaces (id, name, kind)"
	    " VALUES (1, 'eth0', 'packet');"
	    " INSERT INTO flows (id, iface_id, last_seen, protocol, cli_addr,"
	    " cli_port, srv_addr, srv_port, community_id) VALUES"
	    " (1, 1, 5, 6, '5.6.7.8', 3344, '1.2.3.4', 1122,"
	    " '1:wCb3OG7yAFWelaUydu0D+125CLM='),"
	    " (2, 1, 5, 1, '10.0.0.1', 0, '10.0.0.2', 0, NULL),"
	    " (70000, 1, 5, 6, '5.6.7.8', 3344, '1.2.3.4', 1122,"
	    " '1:wCb3OG7yAFWelaUydu0D+125CLM=');", NULL, NULL, NULL) ==
	    SQLITE_OK);
	sqlite3_close(db);
	k = sink_open(dbpath, 0, 0, SINK_SCHEMA_VERSION, err, sizeof(err));
	CHECK(k != NULL);
	CHECK_EQ_U(sink_schema_version(k), SINK_SCHEMA_VERSION);
	sink_close(k);
	CHECK(sqlite3_open(dbpath, &db) == SQLITE_OK);
	CHECK_EQ_U(q_int(db, "SELECT community_key FROM flow_rows WHERE"
	    " id = 70000"), (uint64_t)community_id_key(70000,
	    "1:wCb3OG7yAFWelaUydu0D+125CLM="));
	CHECK_EQ_U(q_int(db, "SELECT community_key FROM flow_rows WHERE"
	    " id = 1"), (uint64_t)community_id_key(1,
	    "1:wCb3OG7yAFWelaUydu0D+125CLM="));
	CHECK_EQ_U(q_int(db, "SELECT count(*) FROM flow_rows WHERE id = 2"
	    " AND community_key IS NULL"), 1);
	CHECK_EQ_U(q_int(db, "SELECT count(*) FROM sqlite_master WHERE"
	    " name = 'flows_community_id'"), 0);
	CHECK_EQ_U(q_int(db, "SELECT count(*) FROM sqlite_master WHERE"
	    " name = 'flows_community_key'"), 1);
	CHECK_EQ_U(q_int(db, "SELECT count(*) FROM flows WHERE id IN "
	    COMMUNITY_ROWS_SQL("'1:wCb3OG7yAFWelaUydu0D+125CLM='")), 2);
	sqlite3_close(db);
}

/*
 * What the capture's DPI says lands in the row's columns; an update
 * without it keeps it, one with new values overlays them field by
 * field; event rows have none.  Host names: one row per (address,
 * name), first and last seen.
 */
static void
test_app_rows(void)
{
	struct store *st = calloc(1, sizeof(*st));
	struct evp_flow *r = calloc(1, sizeof(*r));
	struct evp_hostname hn;
	struct store_conf c;
	struct evp_iface i;
	char err[256];
	sqlite3 *db;

	unlink(dbpath);
	conf_init(&c);
	CHECK(store_init(st, &c, "store", SINK_SCHEMA_VERSION, err,
	    sizeof(err)) == 0);
	memset(&i, 0, sizeof(i));
	i.kind = EVP_IFACE_PACKET;
	snprintf(i.name, sizeof(i.name), "eth0");
	store_iface_rec(st, &i);
	rec_tuple(r, EVP_SRC_PACKET, "10.1.0.1", 40000, "10.1.0.2", 443, 6, 1);
	r->flags |= EVP_F_HAS_APP;
	snprintf(r->app.proto, sizeof(r->app.proto), "TLS.YouTube");
	snprintf(r->app.category, sizeof(r->app.category), "Media");
	snprintf(r->app.sni, sizeof(r->app.sni), "www.youtube.com");
	snprintf(r->app.ja3, sizeof(r->app.ja3),
	    "771a2b4c6d8e0f1a2b3c4d5e6f708192");
	snprintf(r->app.ja3s, sizeof(r->app.ja3s),
	    "0f1e2d3c4b5a69788796a5b4c3d2e1f0");
	memset(r->extra, 0, sizeof(r->extra));
	memcpy(r->extra, "{\"K\":2}", 7);
	r->extra_len = 7;
	store_flow(st, r, 1);
	rec_tuple(r, EVP_SRC_PACKET, "10.1.0.1", 40001, "10.1.0.3", 80, 6, 1);
	r->flags |= EVP_F_HAS_APP;
	snprintf(r->app.proto, sizeof(r->app.proto), "HTTP");
	snprintf(r->app.http_host, sizeof(r->app.http_host), "example.org");
	store_flow(st, r, 1);
	rec_tuple(r, EVP_SRC_PACKET, "10.1.0.1", 5353, "10.1.0.53", 53, 17,
	    1);
	r->flags |= EVP_F_HAS_APP;
	snprintf(r->app.proto, sizeof(r->app.proto), "DNS");
	snprintf(r->app.dns_query, sizeof(r->app.dns_query), "a.example");
	store_flow(st, r, 1);
	rec_tuple(r, EVP_SRC_PACKET, "10.1.0.1", 40002, "10.1.0.4", 22, 6, 1);
	store_flow(st, r, 1);
	commit_all(st);
	db = reader();
	CHECK_STR(q_text(db, "SELECT app_proto || ' ' || app_category || ' ' ||"
	    " tls_sni || ' ' || ja3 || ' ' || extra FROM flows WHERE"
	    " srv_port = 443"), "TLS.YouTube Media www.youtube.com"
	    " 771a2b4c6d8e0f1a2b3c4d5e6f708192 {\"K\":2}");
	CHECK_EQ_U(q_int(db, "SELECT count(*) FROM flows WHERE srv_port = 443"
	    " AND ja4 IS NULL AND http_host IS NULL AND dns_query IS NULL"
	    " AND ja3s = '0f1e2d3c4b5a69788796a5b4c3d2e1f0'"), 1);
	CHECK_STR(q_text(db, "SELECT app_proto || ' ' || http_host FROM flows"
	    " WHERE srv_port = 80"), "HTTP example.org");
	CHECK_STR(q_text(db, "SELECT app_proto || ' ' || dns_query FROM flows"
	    " WHERE srv_port = 53"), "DNS a.example");
	CHECK_EQ_U(q_int(db, "SELECT count(*) FROM flows WHERE srv_port = 22"
	    " AND app_proto IS NULL AND tls_sni IS NULL"), 1);
	/* Updates: none (kept), then a new protocol name only. */
	rec_tuple(r, EVP_SRC_PACKET, "10.1.0.1", 40000, "10.1.0.2", 443, 6, 1);
	rec_counts(r, 5, 6);
	store_flow(st, r, 2);
	commit_all(st);
	CHECK_STR(q_text(db, "SELECT app_proto || ' ' || tls_sni || ' ' ||"
	    " c2s_packets FROM flows WHERE srv_port = 443"),
	    "TLS.YouTube www.youtube.com 5");
	rec_tuple(r, EVP_SRC_PACKET, "10.1.0.1", 40000, "10.1.0.2", 443, 6, 1);
	r->flags |= EVP_F_HAS_APP;
	snprintf(r->app.proto, sizeof(r->app.proto), "TLS.Google");
	store_flow(st, r, 3);
	commit_all(st);
	CHECK_STR(q_text(db, "SELECT app_proto || ' ' || tls_sni || ' ' ||"
	    " app_category FROM flows WHERE srv_port = 443"),
	    "TLS.Google www.youtube.com Media");
	/* Host names: a pair seen twice is one row. */
	memset(&hn, 0, sizeof(hn));
	hn.ts_usec = 1700000000000000ULL;
	(void)evp_addr_parse("10.1.0.2", hn.addr);
	hn.ip_version = 4;
	hn.source = EVP_NAME_DNS;
	snprintf(hn.name, sizeof(hn.name), "www.youtube.com");
	store_hostname(st, &hn);
	hn.ts_usec += 5000000;
	hn.source = EVP_NAME_SNI;
	store_hostname(st, &hn);
	snprintf(hn.name, sizeof(hn.name), "youtube-ui.l.google.com");
	store_hostname(st, &hn);
	(void)evp_addr_parse("2001:db8::5", hn.addr);
	hn.ip_version = 6;
	snprintf(hn.name, sizeof(hn.name), "v6.example");
	store_hostname(st, &hn);
	commit_all(st);
	CHECK_EQ_U(q_int(db, "SELECT count(*) FROM host_names"), 3);
	CHECK_STR(q_text(db, "SELECT source || ' ' || CAST(last_seen -"
	    " first_seen AS INTEGER) FROM host_names WHERE addr = '10.1.0.2'"
	    " AND name = 'www.youtube.com'"), "sni 5");
	CHECK_STR(q_text(db, "SELECT name FROM host_names WHERE"
	    " addr = '2001:db8::5'"), "v6.example");
	CHECK_EQ_U(st->c[SC_RECV_HOSTNAME], 0);	/* (called directly) */
	sqlite3_close(db);
	/* The ClickHouse sink's row carries the same fields, in its
	 * columns' order (RowBinary: 0 = not NULL, a length, the bytes;
	 * 1 = NULL). */
	{
		static const char packed[] = "\013TLS.YouTube\005Media"
		    "\017www.youtube.com\0\0\0\0\0";
		static const char want[] = "\0\013TLS.YouTube\0\005Media\0"
		    "\017www.youtube.com\1\1\1\1\1";
		struct flow_meta *m = calloc(1, sizeof(*m));
		struct flow_row *w = calloc(1, sizeof(*w));
		struct buf b;

		m->app_len = sizeof(packed) - 1;
		memcpy(m->extra, packed, sizeof(packed) - 1);
		w->meta = m;
		w->f.key.proto = 6;
		buf_init(&b);
		ch_enc_flow(&b, w, 1);
		CHECK(buf_ok(&b) && memmem(b.p, b.len, want,
		    sizeof(want) - 1) != NULL);
		buf_free(&b);
		free(w);
		free(m);
	}
	store_fini(st);
	free(st);
	free(r);
}

static void
test_checkpointer(void)
{
	struct sink *k;
	struct stat sb;
	char err[256];
	unsigned i, waited = 0;

	unlink(dbpath);
	k = sink_open(dbpath, 0, 0, SINK_SCHEMA_VERSION, err, sizeof(err));
	CHECK(k != NULL);
	if (k == NULL)
		return;
	CHECK(sink_begin(k) == 0);
	for (i = 0; i < 3000; i++)
		CHECK(sink_counter(k, "ck", "store", "key", i, 1e9 + i, 1) ==
		    0);
	CHECK(sink_commit(k) == 0);
	/* Once a second: wait for it (up to 20 s on a loaded machine). */
	while ((stat(dbpath, &sb) == -1 || sb.st_size <= 8192) &&
	    waited++ < 200)
		usleep(100000);
	CHECK(sb.st_size > 8192);
	sink_close(k);
}

/*
 * Under writes that never pause, the WAL still starts over once it
 * holds more than the limit, and its file is cut back to the limit:
 * 30 commits of 2 MB each with a 1 MB limit.
 */
static void
test_wal_limit(void)
{
	struct sink_stats ss;
	struct sink *k;
	struct stat sb;
	char err[256], wal[160], big[1024];
	unsigned i, j;

	unlink(dbpath);
	snprintf(wal, sizeof(wal), "%s-wal", dbpath);
	k = sink_open(dbpath, 0, 0, SINK_SCHEMA_VERSION, err, sizeof(err));
	CHECK(k != NULL);
	if (k == NULL)
		return;
	sink_wal_limit(k, 1 << 20);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	for (i = 0; i < 30; i++) {
		CHECK(sink_begin(k) == 0);
		for (j = 0; j < 2000; j++)
			CHECK(sink_counter(k, "w", big, "key", j, 1e9 + j, 1) ==
			    0);
		CHECK(sink_commit(k) == 0);
	}
	sink_stats(k, &ss);
	CHECK(ss.wal_restarts > 0);
	CHECK(stat(wal, &sb) == 0);
	/* The limit, and at most one commit (2 MB of rows) past it. */
	CHECK(sb.st_size < (4 << 20));
	sink_close(k);
}

/* store_record() merges each flow record one record late (prefetch):
 * the order with other records is kept (a flow before the interface
 * record naming its bit lands under a placeholder first), and every
 * reader of the tables sees the held record. */
static void
test_deferred_order(void)
{
	struct store *st = calloc(1, sizeof(*st));
	struct evp_flow *r = calloc(1, sizeof(*r));
	struct store_conf c;
	struct link_in *in;
	struct feed f;
	char ep[128], err[256];
	sqlite3 *db;

	unlink(dbpath);
	conf_init(&c);
	CHECK(store_init(st, &c, "store", SINK_SCHEMA_VERSION, err,
	    sizeof(err)) == 0);
	snprintf(ep, sizeof(ep), "ipc://%s/t.ipc", dir);
	in = link_in_new(ep, 1, store_record, st, err, sizeof(err));
	CHECK(in != NULL);
	feed_init(&f);
	/* One batch: a flow for bit 7, then the record naming bit 7. */
	rec_flow(r, EVP_SRC_EVENT, EVP_EV_CONNECT, "10.8.0.1", 1000,
	    "10.8.0.2", 80, 1ULL << 7);
	put_flow(&f, in, r);
	put_iface(&f, in, 7, EVP_IFACE_ZMQ, "tcp://*:7777", 0, 0);
	/* Then two flows for it, the last one held back at the end. */
	r->port[0] = 1001;
	put_flow(&f, in, r);
	r->port[0] = 1002;
	put_flow(&f, in, r);
	feed_send(&f, in);
	CHECK_EQ_U(st->c[SC_UNKNOWN_IFACE], 1);
	CHECK(st->pend);
	/* Counters and writes see the held record. */
	store_sync_counters(st);
	CHECK_EQ_U(st->c[SC_RECEIVED], 4);
	CHECK_EQ_U(st->c[SC_STORED], 4);
	CHECK(!st->pend);
	commit_all(st);
	db = reader();
	CHECK_EQ_U(q_int(db, "SELECT count(*) FROM flows_v WHERE iface = "
	    "'tcp://*:7777'"), 3);
	CHECK_EQ_U(q_int(db, "SELECT count(*) FROM interfaces WHERE name = "
	    "'#7'"), 0);
	sqlite3_close(db);
	link_in_free(in);
	store_fini(st);
	free(f.buf);
	free(st);
	free(r);
}

/* The sink binds only the flow parameters that changed since its last
 * row (struct row in sqlite_sink.c): rows written one after another by
 * one sink equal the same rows each written by a fresh sink (every
 * parameter bound), column for column, inserts and updates. */
/* n flows of varied shapes into ft (fl[i]: flow i, NULL if missing):
 * both sources and events, IPv4 and IPv6, processes, parents and
 * containers on some, counters and latency on others, extra on some. */
static void
varied_flows(struct flow_table *ft, struct evp_flow *r, struct flow **fl,
    unsigned n)
{
	struct flow_key key;
	unsigned i;

	for (i = 0; i < n; i++) {
		rec_flow(r, i % 3 == 0 ? EVP_SRC_PACKET : EVP_SRC_EVENT,
		    i % 2 ? EVP_EV_CONNECT : EVP_EV_ACCEPT, "10.7.0.1",
		    1000 + i, i % 4 == 1 ? "2001:db8::2" : "10.7.0.2", 80, 1);
		if (i % 4 == 1)
			(void)evp_addr_parse("2001:db8::1", r->addr[0]);
		r->ts_usec += i * 1000;
		if (i % 2)
			rec_proc(r, 0, 100 + i % 3, i % 5 ? "/bin/a" : "/b",
			    "u");
		if (i % 5 == 2)
			rec_parent(r, 0, 7, "/sbin/init");
		if (i % 7 == 3)
			rec_container(r, 1, "c0ffee", "pod");
		if (i % 3 != 1)
			rec_counts(r, i, 2 * i);
		r->nw_latency_us = i % 2 ? 0 : 1000 + i;
		r->extra_len = i % 4 == 0 ? 2 : 0;
		memcpy(r->extra, "{}", 2);
		CHECK(flow_merge(ft, r, NULL, 1) == 0);
		(void)flow_key_make(&key, r);
		fl[i] = flow_table_find(ft, &key);
		CHECK(fl[i] != NULL);
	}
}

static void
test_row_binding(void)
{
	struct intern *in = intern_new();
	struct evp_flow *r = calloc(1, sizeof(*r));
	struct flow_table *ft;
	struct flow *fl[16];
	struct flow_row w;
	struct sink *k, *k1;
	char fresh[160], err[256], sql[256];
	uint64_t ids = 0, events = 0;
	unsigned i, pass;
	sqlite3 *db;

	ft = flow_table_new(in, &ids, 0, 4096, 1024, 120000000ULL,
	    30000000ULL);
	varied_flows(ft, r, fl, 16);
	snprintf(fresh, sizeof(fresh), "%s/fresh.db", dir);
	unlink(dbpath);
	unlink(fresh);
	k1 = sink_open(dbpath, 0, 0, SINK_SCHEMA_VERSION, err, sizeof(err));
	CHECK(k1 != NULL);
	/* Pass 0 inserts; pass 1 updates (new counters, fewer fields);
	 * pass 2 updates rows whose last_seen did not move (the narrow
	 * UPDATE), a quarter of them into the other interface (the full
	 * one then moves the row). */
	for (pass = 0; pass < 3 && k1 != NULL; pass++) {
		CHECK(sink_begin(k1) == 0);
		for (i = 0; i < 16; i++) {
			unsigned ifid = 1 + i % 2;

			if (pass < 2) {
				fl[i]->last_usec += 5000000;
				fl[i]->flags |= FL_MOVED;
			} else {
				fl[i]->flags &= (uint16_t)~FL_MOVED;
				fl[i]->first_usec -= 1000000;
				fl[i]->events++;
				if (i % 4 == 0)
					ifid = 1 + (i + 1) % 2;
			}
			fl[i]->pkts[0] += pass;
			if (pass)
				fl[i]->nw_lat_us = 0;
			flow_row_make(in, &w, ifid, fl[i], NULL);
			CHECK(sink_write_flow(k1, &w) == 0);
			fl[i]->flags |= FL_WRITTEN;
			k = sink_open(fresh, 0, 0, SINK_SCHEMA_VERSION, err,
			    sizeof(err));
			CHECK(k != NULL);
			if (k == NULL)
				continue;
			CHECK(sink_begin(k) == 0);
			CHECK(sink_write_flow(k, &w) == 0);
			CHECK(sink_commit(k) == 0);
			sink_close(k);
		}
		CHECK(sink_commit(k1) == 0);
	}
	for (i = 0; i < 16; i++)
		events += fl[i]->events;
	sink_close(k1);
	CHECK(sqlite3_open(dbpath, &db) == SQLITE_OK);
	snprintf(sql, sizeof(sql), "ATTACH '%s' AS fresh", fresh);
	CHECK(sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK);
	CHECK_EQ_U(q_int(db, "SELECT count(*) FROM flows"), 16);
	CHECK_EQ_U(q_int(db, "SELECT count(*) FROM fresh.flows"), 16);
	CHECK_EQ_U(q_int(db, "SELECT count(*) FROM (SELECT * FROM flows "
	    "EXCEPT SELECT * FROM fresh.flows)"), 0);
	CHECK_EQ_U(q_int(db, "SELECT count(*) FROM flows WHERE iface_id = 2"),
	    12);
	/* The narrow UPDATE wrote first_seen and events, kept last_seen. */
	CHECK_EQ_U(q_int(db, "SELECT count(*) FROM flows WHERE "
	    "abs(last_seen - first_seen - 11) < 0.001"), 16);
	CHECK_EQ_U(q_int(db, "SELECT sum(events) FROM flows"), events);
	CHECK_EQ_U(q_int(db, "SELECT count(*) FROM flow_rows INDEXED BY "
	    "flows_iface_last_seen WHERE iface_id = 2 AND last_seen > 0"), 12);
	/* Some NULLs follow values and some values follow NULLs. */
	CHECK(q_int(db, "SELECT count(*) FROM flows WHERE cli_pid IS "
	    "NULL") > 0);
	CHECK(q_int(db, "SELECT count(*) FROM flows WHERE cli_pid IS "
	    "NOT NULL") > 0);
	CHECK_EQ_U(q_int(db, "SELECT count(*) FROM flows WHERE "
	    "nw_latency_ms IS NOT NULL"), 0);
	CHECK_EQ_U(q_int(db, "SELECT count(*) FROM flows WHERE cli_addr = "
	    "'2001:db8::1'"), 4);
	sqlite3_close(db);
	flow_table_free(ft);
	intern_free(in);
	unlink(fresh);
	snprintf(sql, sizeof(sql), "%s-wal", fresh);
	unlink(sql);
	snprintf(sql, sizeof(sql), "%s-shm", fresh);
	unlink(sql);
	free(r);
}

/* New flows go in INS_GROUP rows per INSERT (flow_rows.c): 40 varied
 * rows written as the writer writes them (two groups, then eight one by
 * one) equal the same rows written one at a time; and a group with a
 * row whose id is already there still inserts the other rows, the one
 * refused counted. */
static void
test_insert_groups(void)
{
	struct intern *in = intern_new();
	struct evp_flow *r = calloc(1, sizeof(*r));
	struct flow_table *ft;
	struct flow *fl[40];
	struct flow_row w[40];
	struct sink *k;
	char other[160], dup[160], err[256], sql[400];
	const char *paths[3];
	uint64_t ids = 0;
	unsigned i, p;
	sqlite3 *db;

	ft = flow_table_new(in, &ids, 0, 4096, 1024, 120000000ULL,
	    30000000ULL);
	varied_flows(ft, r, fl, 40);
	for (i = 0; i < 40; i++) {
		if (fl[i] == NULL)
			goto out;
		flow_row_make(in, &w[i], 1 + i % 2, fl[i], NULL);
	}
	snprintf(other, sizeof(other), "%s/one.db", dir);
	snprintf(dup, sizeof(dup), "%s/dup.db", dir);
	paths[0] = dbpath;
	paths[1] = other;
	paths[2] = dup;
	for (p = 0; p < 3; p++) {
		unlink(paths[p]);
		k = sink_open(paths[p], 0, 0, SINK_SCHEMA_VERSION, err,
		    sizeof(err));
		CHECK(k != NULL);
		if (k == NULL)
			goto out;
		CHECK(sink_begin(k) == 0);
		if (p == 0)
			CHECK_EQ_U(sink_write_flows(k, w, 40), 0);
		else if (p == 1)
			for (i = 0; i < 40; i++)
				CHECK(sink_write_flow(k, &w[i]) == 0);
		else {
			struct sink_stats st;

			CHECK(sink_write_flow(k, &w[20]) == 0);
			CHECK_EQ_U(sink_write_flows(k, w + 16, INS_GROUP), 1);
			sink_stats(k, &st);
			CHECK_EQ_U(st.write_errors, 1);
		}
		CHECK(sink_commit(k) == 0);
		if (p == 2) {
			struct sink_stats st;

			/* w[20] alone, then the group's 15 others */
			sink_stats(k, &st);
			CHECK_EQ_U(st.rows_inserted, INS_GROUP);
		}
		sink_close(k);
	}
	CHECK(sqlite3_open(dbpath, &db) == SQLITE_OK);
	snprintf(sql, sizeof(sql), "ATTACH '%s' AS one; ATTACH '%s' AS dup",
	    other, dup);
	CHECK(sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK);
	CHECK_EQ_U(q_int(db, "SELECT count(*) FROM flows"), 40);
	CHECK_EQ_U(q_int(db, "SELECT count(*) FROM one.flows"), 40);
	CHECK_EQ_U(q_int(db, "SELECT count(*) FROM (SELECT * FROM flows "
	    "EXCEPT SELECT * FROM one.flows)"), 0);
	CHECK_EQ_U(q_int(db, "SELECT count(*) FROM processes"),
	    q_int(db, "SELECT count(*) FROM one.processes"));
	CHECK_EQ_U(q_int(db, "SELECT count(*) FROM flow_rows WHERE "
	    "community_key IS NULL"), 0);
	CHECK_EQ_U(q_int(db, "SELECT count(*) FROM dup.flows"), INS_GROUP);
	/* (The table: dup has not the process rows that rows 0-15 were
	 * the first to name, so the view's joins differ.) */
	CHECK_EQ_U(q_int(db, "SELECT count(*) FROM (SELECT * FROM "
	    "dup.flow_rows EXCEPT SELECT * FROM flow_rows)"), 0);
	sqlite3_close(db);
	for (p = 1; p < 3; p++) {
		unlink(paths[p]);
		snprintf(sql, sizeof(sql), "%s-wal", paths[p]);
		unlink(sql);
		snprintf(sql, sizeof(sql), "%s-shm", paths[p]);
		unlink(sql);
	}
out:
	flow_table_free(ft);
	intern_free(in);
	free(r);
}

/* The writer thread (writer.c), as the daemon runs it: rows handed over
 * while records keep arriving, a queue larger than one batch, a flow
 * changed again after its first row was queued (its last state must
 * win), and every interned value released once the flows are gone. */
static void
test_writer_thread(void)
{
	struct store *st = calloc(1, sizeof(*st));
	struct evp_flow *r = calloc(1, sizeof(*r));
	struct store_conf c;
	struct evp_iface ifc;
	struct sink_stats k;
	char err[256], cli[32], sql[160];
	const unsigned n = WRITER_BATCH_MAX + 4000, again = 300;
	unsigned i, handed = 0;
	sqlite3 *db;

	unlink(dbpath);
	conf_init(&c);
	CHECK(store_init(st, &c, "wt", SINK_SCHEMA_VERSION, err,
	    sizeof(err)) == 0);
	CHECK(writer_start(st->w, err, sizeof(err)) == 0);
	CHECK(writer_fd(st->w) >= 0);
	memset(&ifc, 0, sizeof(ifc));
	ifc.kind = EVP_IFACE_ZMQ;
	snprintf(ifc.name, sizeof(ifc.name), "tcp://*:5556c");
	store_iface_rec(st, &ifc);
	for (i = 0; i < n; i++) {
		snprintf(cli, sizeof(cli), "10.9.%u.%u", i / 250, i % 250 + 1);
		rec_flow(r, EVP_SRC_EVENT, EVP_EV_CONNECT, cli, 40000,
		    "192.0.2.9", 443, 1);
		rec_proc(r, 0, 100 + i % 40, "/usr/bin/curl", "u");
		rec_parent(r, 0, 1, "/sbin/init");
		store_flow(st, r, clock_mono_usec());
		/* Half way, the first rows go while records keep coming. */
		if (i == n / 2 && writer_ready(st->w)) {
			handed = store_queue_dirty(st, 5000, UINT64_MAX);
			writer_hand(st->w, 0);
		}
	}
	CHECK_EQ_U(handed, 5000);
	/* More than one batch at once: the queue hands itself over. */
	CHECK_EQ_U(store_queue_dirty(st, UINT32_MAX, UINT64_MAX), n - 5000);
	CHECK(writer_queued(st->w) > 0);
	/* The first flows again, now from another process: queued while
	 * their first rows may still be waiting. */
	for (i = 0; i < again; i++) {
		snprintf(cli, sizeof(cli), "10.9.%u.%u", i / 250, i % 250 + 1);
		rec_flow(r, EVP_SRC_EVENT, EVP_EV_CLOSE, cli, 40000,
		    "192.0.2.9", 443, 1);
		rec_proc(r, 0, 7, "/usr/bin/wget", "u");
		store_flow(st, r, clock_mono_usec());
	}
	store_sync(st);
	CHECK_EQ_U(writer_queued(st->w), 0);
	sink_stats(st->sink, &k);
	CHECK_EQ_U(k.rows_inserted, n);
	CHECK_EQ_U(k.rows_updated, again);
	CHECK_EQ_U(k.write_errors, 0);
	db = reader();
	CHECK_EQ_U(q_int(db, "SELECT count(*) FROM flows"), n);
	CHECK_EQ_U(q_int(db, "SELECT count(*) FROM flows WHERE cli_process ="
	    " '/usr/bin/wget' AND last_event = 'CLOSE' AND events = 2"),
	    again);
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM flows WHERE "
	    "cli_process = '/usr/bin/curl' AND cli_parent_process = "
	    "'/sbin/init' AND events = 1");
	CHECK_EQ_U(q_int(db, sql), n - again);
	sqlite3_close(db);
	/* Flows gone, batches back: no interned value is left. */
	store_flush_all(st);
	CHECK_EQ_U(st->in->live, 0);
	store_fini(st);
	free(st);
	free(r);
}

int
main(void)
{
	snprintf(dir, sizeof(dir), "/tmp/evflow-store-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(dbpath, sizeof(dbpath), "%s/evflow.db", dir);
	log_init("test_store_sink", LOG_LVL_WARN);
	test_schema();
	test_schema_refuse();
	test_vacuum_convert();
	test_page_size();
	test_pipeline();
	test_retention();
	test_process_rows();
	test_refs_scan();
	test_rollback_refs();
	test_migrate_processes();
	test_migrate_v5();
	test_community_rows();
	test_migrate_v7();
	test_app_rows();
	test_row_binding();
	test_insert_groups();
	test_deferred_order();
	test_writer_thread();
	test_checkpointer();
	test_wal_limit();
	unlink(dbpath);
	{
		char p[160];

		snprintf(p, sizeof(p), "%s-wal", dbpath);
		unlink(p);
		snprintf(p, sizeof(p), "%s-shm", dbpath);
		unlink(p);
		snprintf(p, sizeof(p), "%s/t.ipc", dir);
		unlink(p);
	}
	rmdir(dir);
	return t_done("test_store_sink");
}
