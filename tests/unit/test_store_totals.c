/*
 * Other daemons' counters as totals since the database began
 * (store_stats_rec, store_counters_run, sink_counters_fold): a daemon's
 * next run (a later run_start_usec) folds what its earlier runs counted
 * into the rows' base, so the stored values never go back; gauges are
 * this run's values; a late record of the run folded before is not
 * written; a run with an earlier start (a clock stepped back) is new; and
 * a restarted store (a new struct store on the same file) still knows
 * the run its rows count.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "common/counters.h"
#include "common/log.h"
#include "store/store.h"
#include "t.h"

#define SEC	1000000ULL

static char dir[64], dbpath[128];

static void
rm_db(void)
{
	char p[160];

	unlink(dbpath);
	snprintf(p, sizeof(p), "%s-wal", dbpath);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", dbpath);
	unlink(p);
}

static long long
q_int(const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *s;
	long long v = -1;

	if (sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READONLY, NULL) !=
	    SQLITE_OK)
		return -1;
	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK &&
	    sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(db);
	return v;
}

static long long
stored(const char *key)
{
	char sql[160];

	snprintf(sql, sizeof(sql), "SELECT value FROM daemon_counters WHERE "
	    "daemon = 'collector' AND key = '%s'", key);
	return q_int(sql);
}

/* A collector's stats record: received, forwarded, a gauge, its run. */
static void
send(struct store *st, uint64_t run, uint64_t received, uint64_t forwarded,
    uint64_t active, uint64_t now)
{
	static const char *const names[] = { "events_received",
	    "events_forwarded", "producers_active" };
	uint64_t v[3] = { received, forwarded, active };
	struct counters c = { names, v, 3 };
	struct evp_stats r;

	counters_to_stats(&r, &c, EVP_ROLE_COLLECTOR, "collector");
	CHECK_EQ_U(r.count, 4);
	CHECK_STR(r.key[3], COUNTER_RUN_START);
	r.value[3] = run;	/* as if another process sent it */
	store_stats_rec(st, &r, now);
	store_sync(st);
}

static void
conf_init(struct store_conf *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->datadir, sizeof(c->datadir), "%s", dir);
	c->flush_interval = 1;
	c->flow_idle = 120;
	c->max_flows = 1000;
	c->max_pending = 1024;
	c->join_window = 30;
	c->cache_size = 1 << 20;
	c->history_interval = 1;
	c->write_slice = 4096;
}

static void
test_fold(void)
{
	struct store *st = calloc(1, sizeof(*st));
	struct store_conf c;
	char err[256];
	uint64_t now = 1000 * SEC;

	rm_db();
	conf_init(&c);
	CHECK(store_init(st, &c, "store", SINK_SCHEMA_VERSION, err,
	    sizeof(err)) == 0);
	/* Run 1. */
	send(st, 100, 10, 9, 3, now += SEC);
	send(st, 100, 50, 48, 4, now += SEC);
	CHECK_EQ_U(stored("events_received"), 50);
	CHECK_EQ_U(stored("events_forwarded"), 48);
	CHECK_EQ_U(st->c[SC_DAEMON_RESTARTS], 0);
	/* Run 2 starts from zero: the totals go on. */
	send(st, 200, 7, 6, 1, now += SEC);
	CHECK_EQ_U(st->c[SC_DAEMON_RESTARTS], 1);
	CHECK_EQ_U(stored("events_received"), 57);
	CHECK_EQ_U(stored("events_forwarded"), 54);
	CHECK_EQ_U(stored("producers_active"), 1);	/* gauge: now */
	CHECK_EQ_U(stored(COUNTER_RUN_START), 200);
	CHECK_EQ_U(q_int("SELECT value - base FROM daemon_counters WHERE "
	    "daemon = 'collector' AND key = 'events_received'"), 7);
	send(st, 200, 70, 69, 2, now += SEC);
	CHECK_EQ_U(stored("events_received"), 120);
	/* A late record of run 1: left, counted, nothing goes back. */
	send(st, 100, 51, 49, 9, now += SEC);
	CHECK_EQ_U(st->c[SC_STATS_OLD_RUN], 1);
	CHECK_EQ_U(stored("events_received"), 120);
	CHECK_EQ_U(stored("producers_active"), 2);
	/* History samples are the totals too. */
	CHECK_EQ_U(q_int("SELECT max(value) FROM counter_history WHERE "
	    "daemon = 'collector' AND key = 'events_received'"), 120);
	CHECK_EQ_U(q_int("SELECT count(*) FROM counter_history WHERE "
	    "daemon = 'collector' AND key = 'events_received' AND value < 50"
	    " AND rowid > (SELECT min(rowid) FROM counter_history"
	    " WHERE daemon = 'collector' AND value = 50)"), 0);
	store_fini(st);

	/* A restarted store: the rows' run is read back; the same run
	 * goes on from its base, a new one folds again. */
	memset(st, 0, sizeof(*st));
	CHECK(store_init(st, &c, "store", SINK_SCHEMA_VERSION, err,
	    sizeof(err)) == 0);
	send(st, 200, 80, 79, 2, now += SEC);
	CHECK_EQ_U(st->c[SC_DAEMON_RESTARTS], 0);
	CHECK_EQ_U(stored("events_received"), 130);
	send(st, 300, 5, 5, 1, now += SEC);
	CHECK_EQ_U(st->c[SC_DAEMON_RESTARTS], 1);
	CHECK_EQ_U(stored("events_received"), 135);
	CHECK_EQ_U(stored("events_forwarded"), 54 + 79 - 6 + 5);
	CHECK_EQ_U(stored("producers_active"), 1);
	/* A clock stepped back between two runs: still a new run. */
	send(st, 250, 3, 3, 1, now += SEC);
	CHECK_EQ_U(st->c[SC_DAEMON_RESTARTS], 2);
	CHECK_EQ_U(stored("events_received"), 138);
	CHECK_EQ_U(st->c[SC_STATS_OLD_RUN], 0);
	store_fini(st);
	free(st);
}

static void
test_gauges(void)
{
	CHECK(counter_is_gauge(COUNTER_RUN_START));
	CHECK(counter_is_gauge("flows_live"));
	CHECK(counter_is_gauge("replay_buffered"));
	CHECK(!counter_is_gauge("events_received"));
	CHECK(!counter_is_gauge("records_sent"));
}

int
main(void)
{
	snprintf(dir, sizeof(dir), "/tmp/evflow-totals-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(dbpath, sizeof(dbpath), "%s/evflow.db", dir);
	log_init("test_store_totals", LOG_LVL_WARN);
	test_gauges();
	test_fold();
	rm_db();
	rmdir(dir);
	return t_done("test_store_totals");
}
