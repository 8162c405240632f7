/*
 * The one SQLite connection that writes: every write the store makes
 * but the flow rows' (flow_rows.c; the schema and its migrations are in
 * schema.c): transactions, the WAL, the small tables, retention.
 *
 * Every write opens a transaction if none is open, and the owner
 * commits (sink_commit), so thousands of rows share one commit.
 *
 * Two threads use the connection: the writer thread (writer.c) writes
 * flow rows and commits, the loop writes everything else.  Every public
 * function holds the sink's mutex; the writer holds it for a chunk of
 * rows at a time and steps aside between chunks when the loop waits, so
 * the loop never waits longer than one chunk.
 */
#include <sys/stat.h>
#include <sys/statvfs.h>

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "../common/clock.h"
#include "../common/counters.h"
#include "../common/log.h"
#include "sink.h"

/*
 * The WAL starts over only when a write begins after a checkpoint that
 * copied every frame.  Under a sustained load the checkpointer's PASSIVE
 * passes never catch up, and the WAL grew as fast as the database (25
 * MB/s at 150k rows/s, measured) for as long as the load lasted.  So
 * after a commit that leaves more than k->wal_limit bytes in it,
 * the committing thread (holding the mutex: no write can come in
 * between) runs a RESTART checkpoint: it copies what the last PASSIVE
 * pass left (about a second of writes), waits for readers to leave the
 * WAL, and the next write starts it over; journal_size_limit cuts the
 * file back.  Readers that hold on longer than SINK_WAL_RESTART_WAIT_MS
 * leave it for a second later (counted).
 */
#define SINK_WAL_RESTART_BYTES	(64LL << 20)	/* sink_wal_limit() */
#define SINK_WAL_RESTART_WAIT_MS 200
#define SINK_BUSY_MS		5000
#define SINK_REPLAY_BYTES	(64 << 20)	/* sink_replay_max() */
#define SINK_PAGE_SIZE		16384	/* bytes, for a new database */

static long long pragma_int(struct sink *, const char *);
static void	rows_clear(struct sink_rows *);
static int	wal_hook(void *, sqlite3 *, const char *, int);
static int	commit(struct sink *);

void
sink_lock(struct sink *k)
{
	atomic_fetch_add(&k->waiting, 1);
	pthread_mutex_lock(&k->mu);
	atomic_fetch_sub(&k->waiting, 1);
}

void
sink_unlock(struct sink *k)
{
	pthread_mutex_unlock(&k->mu);
}

/* Releases the mutex and returns rc: `return sink_unlocked(k, rc);`. */
int
sink_unlocked(struct sink *k, int rc)
{
	sink_unlock(k);
	return rc;
}

static const char *const stmt_sql[ST_MAX] = {
	[ST_BEGIN] = "BEGIN",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
	[ST_IFACE_CLEAR] = "UPDATE interfaces SET router_id = NULL"
	    " WHERE router_id = ?1 AND name <> ?2",
	[ST_IFACE_UPSERT] = "INSERT INTO interfaces (name, kind, router_id,"
	    " mirrored, companion, first_seen, last_seen)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6) ON CONFLICT (name) DO UPDATE"
	    " SET kind = excluded.kind, router_id = excluded.router_id,"
	    " mirrored = excluded.mirrored, companion = excluded.companion,"
	    " last_seen = excluded.last_seen RETURNING id",
	[ST_IFACE_LOAD] = "SELECT id, name, kind, router_id, mirrored"
	    " FROM interfaces WHERE router_id IS NOT NULL",
	[ST_IFC_INSERT] = "INSERT INTO ifcounters (ts, iface_id, producer,"
	    " device, if_index, if_name, if_speed, admin_status, oper_status,"
	    " promisc, in_octets, in_packets, in_errors, out_octets,"
	    " out_packets, out_errors, in_bps, out_bps, in_pps, out_pps)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13,"
	    " ?14, ?15, ?16, ?17, ?18, ?19, ?20)",
	[ST_LISTEN_UPSERT] = "INSERT INTO listening (iface_id, host,"
	    " protocol, ip_version, addr, port, pid, process, pkg, first_seen,"
	    " last_seen) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10)"
	    " ON CONFLICT (iface_id, host, protocol, ip_version, addr, port,"
	    " pid, process) DO UPDATE SET pkg = excluded.pkg,"
	    " last_seen = max(last_seen, excluded.last_seen)",
	[ST_HOSTNAME_UPSERT] = "INSERT INTO host_names (addr, name, source,"
	    " first_seen, last_seen) VALUES (?1, ?2, ?3, ?4, ?4)"
	    " ON CONFLICT (addr, name) DO UPDATE SET source = excluded.source,"
	    " first_seen = min(first_seen, excluded.first_seen),"
	    " last_seen = max(last_seen, excluded.last_seen)",
	[ST_PRODUCER_UPSERT] = "INSERT INTO producers (iface_id, peer,"
	    " source_id, producer, first_seen, last_seen, msgs, events,"
	    " lost_msgs, restarts, bad_msgs, probe_drops, info)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"
	    " ON CONFLICT (iface_id, peer, source_id) DO UPDATE SET"
	    " producer = excluded.producer, last_seen = excluded.last_seen,"
	    " msgs = excluded.msgs, events = excluded.events,"
	    " lost_msgs = excluded.lost_msgs, restarts = excluded.restarts,"
	    " bad_msgs = excluded.bad_msgs,"
	    " probe_drops = excluded.probe_drops, info = excluded.info",
	[ST_COUNTER_UPSERT] = "INSERT INTO daemon_counters (daemon, role,"
	    " key, value, updated) VALUES (?1, ?2, ?3, ?4, ?5)"
	    " ON CONFLICT (daemon, key) DO UPDATE SET role = excluded.role,"
	    " value = daemon_counters.base + excluded.value,"
	    " updated = excluded.updated RETURNING value",
	[ST_HISTORY_INSERT] = "INSERT INTO counter_history (ts, daemon, key,"
	    " value) VALUES (?1, ?2, ?3, ?4)",
	[ST_MAX_ID] = "SELECT coalesce(max(id), 0) FROM flow_rows",
	[ST_MAX_REF] = "SELECT max(coalesce((SELECT max(id) FROM processes),"
	    " 0), coalesce((SELECT max(id) FROM containers), 0))",
};

/*
 * Says why the store could not write database `path`, before SQLite
 * does (its "unable to open database file" or "attempt to write a
 * readonly database" name no cause, and a read-only file used to be
 * opened read-only in silence): a read-only file system, a file or a
 * directory without write permission (SQLite creates the WAL and its
 * index next to the file).  0 if none is seen; -1 with err.  Root
 * passes access() whatever the mode bits: the write schema_upgrade()
 * makes at every start is the final test.
 */
static int
check_writable(const char *path, char *err, size_t errlen)
{
	char dir[PATH_MAX];
	struct statvfs vfs;
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	if ((slash = strrchr(dir, '/')) == NULL)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	if (access(path, F_OK) == 0) {
		if (statvfs(path, &vfs) == 0 && (vfs.f_flag & ST_RDONLY)) {
			snprintf(err, errlen, "%s is on a read-only file "
			    "system; the store must write it", path);
			return -1;
		}
		if (access(path, R_OK | W_OK) == -1) {
			snprintf(err, errlen, "%s: cannot write the database: "
			    "%s", path, strerror(errno));
			return -1;
		}
	}
	if (statvfs(dir, &vfs) == 0 && (vfs.f_flag & ST_RDONLY)) {
		snprintf(err, errlen, "%s: directory %s is on a read-only file "
		    "system; the store writes the database, its WAL and index "
		    "there", path, dir);
		return -1;
	}
	if (access(dir, W_OK | X_OK) == -1) {
		snprintf(err, errlen, "%s: cannot write in directory %s (the "
		    "store creates the WAL and its index there): %s", path, dir,
		    strerror(errno));
		return -1;
	}
	return 0;
}

struct sink *
sink_open(const char *path, long long cache_bytes, int incremental,
    int target, char *err, size_t errlen)
{
	struct sink *k;
	char pragma[256], *msg = NULL;
	int i;

	if ((k = calloc(1, sizeof(*k))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&k->mu, NULL);
	k->replay_max = SINK_REPLAY_BYTES;
	/* SQLite's memory statistics take a global mutex on every
	 * allocation (two threads use SQLite here).  Only possible before
	 * SQLite initializes; later (a test opening twice) it is refused,
	 * harmlessly. */
	(void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	if (check_writable(path, err, errlen) == -1)
		goto fail;
	if (sqlite3_open_v2(path, &k->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path, k->db ?
		    sqlite3_errmsg(k->db) : "cannot open");
		goto fail;
	}
	sqlite3_busy_timeout(k->db, SINK_BUSY_MS);
	/* Nothing is written (not even the journal mode) into a file that
	 * is not ours. */
	if (schema_check(k->db, err, errlen) == -1)
		goto fail;
	/* A new database whose file has a bound (store.max_db_size) frees
	 * pages back to the file system: incremental auto_vacuum, which
	 * only takes effect before the first table (sink_convert_incremental()
	 * converts a database when a bound is set later).  Without a bound
	 * it is not worth its cost: SQLite then keeps a pointer map of
	 * every page up to date, ~11 % of the writer's instructions per
	 * flow row, and the freed pages are used again anyway.
	 * A new database has pages of SINK_PAGE_SIZE (also only before
	 * the first table; an older file keeps its own): SQLite writes a
	 * WAL frame, and the checkpointer copies a page, with a system
	 * call each, and on these machines a system call costs more than
	 * the page's bytes.  16 KB pages are a quarter of the calls of
	 * 4 KB ones: -13 % of the store's CPU per written row in join.sh,
	 * the same instructions. */
	snprintf(pragma, sizeof(pragma), "PRAGMA page_size = %d; "
	    "PRAGMA auto_vacuum = %s; PRAGMA journal_mode = WAL; "
	    "PRAGMA synchronous = NORMAL; PRAGMA cache_size = -%lld",
	    SINK_PAGE_SIZE, incremental ? "INCREMENTAL" : "NONE",
	    cache_bytes > 0 ? cache_bytes / 1024 : 2000);
	if (sqlite3_exec(k->db, pragma, NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path, msg ? msg :
		    sqlite3_errmsg(k->db));
		sqlite3_free(msg);
		goto fail;
	}
	if ((k->version = schema_upgrade(k->db, target, err, errlen)) == -1)
		goto fail;
	sink_wal_limit(k, SINK_WAL_RESTART_BYTES);
	k->page_size = pragma_int(k, "PRAGMA page_size");
	/* Left at an older version (tests of migrations): the statements
	 * are for the current one; such a sink can only be closed. */
	if (k->version < SINK_SCHEMA_VERSION)
		return k;
	for (i = 0; i < ST_MAX; i++) {
		if (stmt_sql[i] == NULL)
			continue;
		if (sqlite3_prepare_v3(k->db, stmt_sql[i], -1,
		    SQLITE_PREPARE_PERSISTENT, &k->st[i], NULL) != SQLITE_OK) {
			snprintf(err, errlen, "prepare: %s",
			    sqlite3_errmsg(k->db));
			goto fail;
		}
	}
	if (flow_stmts_prepare(k, err, errlen) == -1)
		goto fail;
	/* Retention's set of the process and container rows flows refer
	 * to (sink_refs_scan()), in this connection only. */
	if (sqlite3_exec(k->db, "CREATE TEMP TABLE live_refs (id INTEGER"
	    " PRIMARY KEY)", NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path, msg ? msg :
		    sqlite3_errmsg(k->db));
		sqlite3_free(msg);
		goto fail;
	}
	/* The writer's own checkpoints run inside COMMIT; hand them to
	 * the checkpointer thread when it starts. */
	if ((k->ck = ckpt_start(path)) != NULL) {
		/* (A WAL hook replaces the automatic checkpoint.) */
		(void)sqlite3_exec(k->db, "PRAGMA wal_autocheckpoint = 0",
		    NULL, NULL, NULL);
		k->page_size = pragma_int(k, "PRAGMA page_size");
		sqlite3_wal_hook(k->db, wal_hook, k);
	} else
		log_warnx("checkpointer not started; the writer checkpoints");
	return k;
fail:
	sink_close(k);
	return NULL;
}

void
sink_close(struct sink *k)
{
	int i;

	if (k == NULL)
		return;
	/* The loop's rows of a failed transaction: one last attempt. */
	if (k->failed.n > 0 && !k->in_txn && k->db != NULL)
		(void)sink_txn(k);
	if (k->in_txn)
		(void)commit(k);
	k->s.rows_lost += k->failed.n;
	rows_clear(&k->cur);
	rows_clear(&k->failed);
	free(k->cur.sql);
	free(k->failed.sql);
	if (k->ck != NULL) {
		ckpt_stop(k->ck);
		/* The last writes go into the file now. */
		(void)sqlite3_wal_checkpoint_v2(k->db, NULL,
		    SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
	}
	for (i = 0; i < ST_MAX; i++)
		sqlite3_finalize(k->st[i]);
	flow_stmts_finalize(k);
	sqlite3_close(k->db);
	pthread_mutex_destroy(&k->mu);
	free(k);
}

void
sink_stats(struct sink *k, struct sink_stats *out)
{
	sink_lock(k);
	*out = k->s;
	memcpy(out->error, k->error, sizeof(out->error));
	sink_unlock(k);
}

void
sink_wal_limit(struct sink *k, long long bytes)
{
	char sql[64];

	sink_lock(k);
	k->wal_limit = bytes;
	/* The WAL file is cut back to this size when it starts over. */
	snprintf(sql, sizeof(sql), "PRAGMA journal_size_limit = %lld", bytes);
	(void)sqlite3_exec(k->db, sql, NULL, NULL, NULL);
	sink_unlock(k);
}

struct sqlite3 *
sink_handle(struct sink *k)
{
	return k->db;
}

int
sink_schema_version(struct sink *k)
{
	return k->version;
}

/* Runs a statement to completion and resets it.  0 or -1 (logged). */
static int
run(struct sink *k, sqlite3_stmt *s)
{
	int rc = sqlite3_step(s);

	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	if (rc == SQLITE_DONE || rc == SQLITE_ROW)
		return 0;
	sink_write_error(k);
	LOG_RATELIMITED(log_warnx, "sqlite: %s", sqlite3_errmsg(k->db));
	return -1;
}

/* Appends a row's SQL to r (taking it).  0, or -1 (not taken). */
static int
rows_push(struct sink_rows *r, char *sql)
{
	char **n;
	size_t cap;

	if (r->n == r->cap) {
		cap = r->cap ? r->cap * 2 : 64;
		if ((n = reallocarray(r->sql, cap, sizeof(*n))) == NULL)
			return -1;
		r->sql = n;
		r->cap = cap;
	}
	r->sql[r->n++] = sql;
	r->bytes += strlen(sql);
	return 0;
}

/* Empties r (freeing its rows), keeping its array. */
static void
rows_clear(struct sink_rows *r)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		sqlite3_free(r->sql[i]);
	r->n = 0;
	r->bytes = 0;
}

/*
 * run() for a row the loop writes (interface counters, listening
 * sockets, producers, host names, counter samples; not the writer's):
 * its SQL with its values is kept until the transaction commits, so a
 * failed commit writes it again in the next transaction (replay()).
 * A row it cannot keep (no memory) is counted lost if the commit fails.
 */
static int
run_other(struct sink *k, sqlite3_stmt *s)
{
	char *x = sqlite3_expanded_sql(s);

	if (run(k, s) == -1) {
		sqlite3_free(x);
		return -1;
	}
	if (x == NULL || rows_push(&k->cur, x) == -1) {
		sqlite3_free(x);
		k->txn_other++;
	}
	return 0;
}

/* At BEGIN: the loop's rows of failed transactions, again, in order
 * (the mutex held).  One that fails for want of room or I/O stays for
 * the next attempt; one that fails otherwise is counted lost. */
static void
replay(struct sink *k)
{
	struct sink_rows f = k->failed;
	size_t i;

	memset(&k->failed, 0, sizeof(k->failed));
	for (i = 0; i < f.n; i++) {
		if (k->in_txn && sqlite3_exec(k->db, f.sql[i], NULL, NULL,
		    NULL) != SQLITE_OK) {
			sink_write_error(k);
			if (!k->txn_doomed) {
				LOG_RATELIMITED(log_warnx, "a row written "
				    "again failed: %s", sqlite3_errmsg(k->db));
				k->s.rows_lost++;
				sqlite3_free(f.sql[i]);
				continue;
			}
		}
		if (rows_push(&k->cur, f.sql[i]) == -1) {
			sqlite3_free(f.sql[i]);
			k->txn_other++;
		}
	}
	free(f.sql);
}

/* The one integer statement s returns (0 if none). */
static int64_t
query_int(struct sink *k, sqlite3_stmt *s)
{
	int64_t v = 0;

	sink_lock(k);
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	sink_unlock(k);
	return v;
}

uint64_t
sink_max_flow_id(struct sink *k)
{
	return (uint64_t)query_int(k, k->st[ST_MAX_ID]);
}

int64_t
sink_max_ref_id(struct sink *k)
{
	return query_int(k, k->st[ST_MAX_REF]);
}

void
sink_write_error(struct sink *k)
{
	int rc = sqlite3_errcode(k->db) & 0xff;

	k->s.write_errors++;
	switch (rc) {
	case SQLITE_FULL:
	case SQLITE_IOERR:
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
	case SQLITE_NOMEM:
	case SQLITE_READONLY:
	case SQLITE_CANTOPEN:
	case SQLITE_PROTOCOL:
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		if (k->in_txn)
			k->txn_doomed = 1;
		snprintf(k->error, sizeof(k->error), "%s",
		    sqlite3_errmsg(k->db));
		break;
	default:
		break;
	}
	/* After some errors SQLite rolls the whole transaction back. */
	if (k->in_txn && sqlite3_get_autocommit(k->db)) {
		k->in_txn = 0;
		k->txn_doomed = 1;
	}
}

int
sink_txn(struct sink *k)
{
	if (k->in_txn)
		return 0;
	if (run(k, k->st[ST_BEGIN]) == -1)
		return -1;
	k->in_txn = 1;
	/* After a transaction SQLite rolled back, the rows and the doom
	 * carry over to the commit that would have ended it. */
	if (!k->txn_doomed)
		k->txn_rows = 0;
	k->txn_vacuumed = 0;
	if (k->failed.n > 0)
		replay(k);
	return 0;
}

int
sink_begin(struct sink *k)
{
	sink_lock(k);
	return sink_unlocked(k, sink_txn(k));
}

unsigned long
sink_txn_rows(struct sink *k)
{
	unsigned long n;

	sink_lock(k);
	n = k->in_txn ? k->txn_rows : 0;
	sink_unlock(k);
	return n;
}

/* Restarts the WAL (see SINK_WAL_RESTART_BYTES; the mutex held). */
static void
wal_restart(struct sink *k)
{
	int rc;

	sqlite3_busy_timeout(k->db, SINK_WAL_RESTART_WAIT_MS);
	rc = sqlite3_wal_checkpoint_v2(k->db, NULL, SQLITE_CHECKPOINT_RESTART,
	    NULL, NULL);
	sqlite3_busy_timeout(k->db, SINK_BUSY_MS);
	if (rc == SQLITE_OK) {
		k->s.wal_restarts++;
		k->wal_frames = 0;
		return;
	}
	k->s.wal_restarts_busy++;
	k->wal_retry_usec = clock_mono_usec() + 1000000;
	LOG_RATELIMITED(log_warnx, "WAL restart left for later: %s",
	    sqlite3_errmsg(k->db));
}

/* SQLite calls it after each commit with the frames in the WAL. */
static int
wal_hook(void *arg, sqlite3 *db, const char *name, int frames)
{
	struct sink *k = arg;

	(void)db;
	(void)name;
	k->wal_frames = frames;
	return SQLITE_OK;
}

/* Ends a transaction that did not commit (the mutex held): the writer
 * keeps its own rows, the loop's wait in k->failed for the next
 * transaction (up to k->replay_max bytes; past it they are counted
 * lost). */
static int
commit_failed(struct sink *k)
{
	size_t i;

	if (k->in_txn || !sqlite3_get_autocommit(k->db))
		(void)sqlite3_exec(k->db, "ROLLBACK", NULL, NULL, NULL);
	k->in_txn = 0;
	k->txn_doomed = 0;
	k->s.rollbacks++;
	k->s.rows_lost += k->txn_other;
	k->s.flows_lost += k->txn_loop_flows;
	k->txn_other = k->txn_loop_flows = 0;
	/* The loop's rows wait for the next transaction, up to the bound. */
	for (i = 0; i < k->cur.n; i++)
		if (k->failed.bytes + strlen(k->cur.sql[i]) > k->replay_max ||
		    rows_push(&k->failed, k->cur.sql[i]) == -1) {
			sqlite3_free(k->cur.sql[i]);
			k->s.rows_lost++;
		}
	k->cur.n = 0;
	k->cur.bytes = 0;
	memset(&k->pend, 0, sizeof(k->pend));
	k->txn_rows = 0;
	return -1;
}

/* Commits the open transaction, if any (the mutex held).  -1 if it did
 * not commit (then nothing of it is in the database). */
static int
commit(struct sink *k)
{
	if (k->txn_doomed) {
		LOG_RATELIMITED(log_warnx, "transaction not committed: %s",
		    k->error);
		return commit_failed(k);
	}
	if (!k->in_txn)
		return 0;
	if (sqlite3_step(k->st[ST_COMMIT]) != SQLITE_DONE) {
		snprintf(k->error, sizeof(k->error), "%s",
		    sqlite3_errmsg(k->db));
		sqlite3_reset(k->st[ST_COMMIT]);
		k->s.write_errors++;
		LOG_RATELIMITED(log_warnx, "commit failed: %s", k->error);
		return commit_failed(k);
	}
	sqlite3_reset(k->st[ST_COMMIT]);
	k->in_txn = 0;
	k->txn_other = k->txn_loop_flows = 0;
	rows_clear(&k->cur);
	k->s.rows_inserted += k->pend.rows_inserted;
	k->s.rows_updated += k->pend.rows_updated;
	k->s.flows_written += k->pend.flows_written;
	memset(&k->pend, 0, sizeof(k->pend));
	k->s.transactions++;
	if (k->ck != NULL && (long long)k->wal_frames * k->page_size >=
	    k->wal_limit && clock_mono_usec() >= k->wal_retry_usec)
		wal_restart(k);
	return 0;
}

int
sink_commit(struct sink *k)
{
	sink_lock(k);
	return sink_unlocked(k, commit(k));
}

int
sink_in_txn(struct sink *k)
{
	sink_lock(k);
	return sink_unlocked(k, k->in_txn);
}

int64_t
sink_iface(struct sink *k, const char *name, const char *kind, int router_id,
    int mirrored, const char *companion)
{
	sqlite3_stmt *s = k->st[ST_IFACE_UPSERT];
	double now = usec_to_sec(clock_wall_usec());
	int64_t id = 0;
	int rc;

	sink_lock(k);
	if (sink_txn(k) == -1)
		return sink_unlocked(k, -1);
	if (router_id >= 0) {
		sqlite3_bind_int(k->st[ST_IFACE_CLEAR], 1, router_id);
		sqlite3_bind_text(k->st[ST_IFACE_CLEAR], 2, name, -1,
		    SQLITE_STATIC);
		(void)run(k, k->st[ST_IFACE_CLEAR]);
	}
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, kind, -1, SQLITE_STATIC);
	if (router_id >= 0)
		sqlite3_bind_int(s, 3, router_id);
	else
		sqlite3_bind_null(s, 3);
	sqlite3_bind_int(s, 4, mirrored);
	bind_str(s, 5, companion, EVP_NAME_LEN);
	sqlite3_bind_double(s, 6, now);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		id = sqlite3_column_int64(s, 0);
	while (rc == SQLITE_ROW)
		rc = sqlite3_step(s);
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	if (rc != SQLITE_DONE || id == 0) {
		sink_write_error(k);
		LOG_RATELIMITED(log_warnx, "sqlite interface %s: %s", name,
		    sqlite3_errmsg(k->db));
		id = -1;
	}
	sink_unlock(k);
	return id;
}

int
sink_iface_merge(struct sink *k, int64_t from, int64_t to)
{
	static const char *const sql[] = {
		"UPDATE flow_rows SET iface_id = ?2 WHERE iface_id = ?1",
		"UPDATE ifcounters SET iface_id = ?2 WHERE iface_id = ?1",
		"UPDATE OR IGNORE listening SET iface_id = ?2 WHERE iface_id = ?1",
		"DELETE FROM listening WHERE iface_id = ?1",
		"UPDATE OR IGNORE producers SET iface_id = ?2 WHERE iface_id = ?1",
		"DELETE FROM producers WHERE iface_id = ?1",
		"DELETE FROM interfaces WHERE id = ?1",
	};
	sqlite3_stmt *s;
	size_t i;
	int rc = 0;

	sink_lock(k);
	if (sink_txn(k) == -1)
		return sink_unlocked(k, -1);
	for (i = 0; i < sizeof(sql) / sizeof(sql[0]); i++) {
		if (sqlite3_prepare_v2(k->db, sql[i], -1, &s, NULL) !=
		    SQLITE_OK) {
			sink_write_error(k);
			return sink_unlocked(k, -1);
		}
		sqlite3_bind_int64(s, 1, from);
		sqlite3_bind_int64(s, 2, to);
		if (sqlite3_step(s) != SQLITE_DONE) {
			sink_write_error(k);
			rc = -1;
		}
		sqlite3_finalize(s);
	}
	return sink_unlocked(k, rc);
}

int
sink_iface_load(struct sink *k, void (*fn)(void *, int64_t, const char *,
    const char *, int, int), void *arg)
{
	sqlite3_stmt *s = k->st[ST_IFACE_LOAD];
	int rc;

	/* fn must not call the sink: the mutex is held. */
	sink_lock(k);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		fn(arg, sqlite3_column_int64(s, 0),
		    (const char *)sqlite3_column_text(s, 1),
		    (const char *)sqlite3_column_text(s, 2),
		    sqlite3_column_int(s, 3), sqlite3_column_int(s, 4));
	sqlite3_reset(s);
	return sink_unlocked(k, rc == SQLITE_DONE ? 0 : -1);
}

/* Rates are NULL when `have_rate` is 0 (first sample, counter reset). */
int
sink_ifcounter(struct sink *k, int64_t iface_id, const struct evp_ifcounter *c,
    double in_bps, double out_bps, double in_pps, double out_pps,
    int have_rate)
{
	sqlite3_stmt *s = k->st[ST_IFC_INSERT];
	char abuf[64];

	sink_lock(k);
	if (sink_txn(k) == -1)
		return sink_unlocked(k, -1);
	sqlite3_bind_double(s, 1, usec_to_sec(c->ts_usec));
	sqlite3_bind_int64(s, 2, iface_id);
	bind_nz(s, 3, c->producer);
	if (nonzero16(c->device))
		sqlite3_bind_text(s, 4, evp_addr_str(c->device, abuf,
		    sizeof(abuf)), -1, SQLITE_STATIC);
	bind_u64(s, 5, c->if_index);
	bind_str(s, 6, c->if_name, sizeof(c->if_name));
	bind_u64(s, 7, c->if_speed);
	bind_u64(s, 8, c->admin_status);
	bind_u64(s, 9, c->oper_status);
	bind_u64(s, 10, c->promisc);
	bind_u64(s, 11, c->in_octets);
	bind_u64(s, 12, c->in_pkts);
	bind_u64(s, 13, c->in_errors);
	bind_u64(s, 14, c->out_octets);
	bind_u64(s, 15, c->out_pkts);
	bind_u64(s, 16, c->out_errors);
	if (have_rate) {
		sqlite3_bind_double(s, 17, in_bps);
		sqlite3_bind_double(s, 18, out_bps);
		sqlite3_bind_double(s, 19, in_pps);
		sqlite3_bind_double(s, 20, out_pps);
	}
	return sink_unlocked(k, run_other(k, s));
}

int
sink_listen(struct sink *k, int64_t iface_id, const struct evp_listen *l)
{
	sqlite3_stmt *s = k->st[ST_LISTEN_UPSERT];
	char abuf[64];

	sink_lock(k);
	if (sink_txn(k) == -1)
		return sink_unlocked(k, -1);
	sqlite3_bind_int64(s, 1, iface_id);
	sqlite3_bind_text(s, 2, l->host, (int)strnlen(l->host,
	    sizeof(l->host)), SQLITE_STATIC);
	bind_u64(s, 3, l->proto);
	bind_u64(s, 4, l->ip_version);
	sqlite3_bind_text(s, 5, evp_addr_str(l->addr, abuf, sizeof(abuf)), -1,
	    SQLITE_STATIC);
	bind_u64(s, 6, l->port);
	bind_u64(s, 7, l->pid);
	sqlite3_bind_text(s, 8, l->proc, (int)strnlen(l->proc,
	    sizeof(l->proc)), SQLITE_STATIC);
	bind_str(s, 9, l->pkg, sizeof(l->pkg));
	sqlite3_bind_double(s, 10, usec_to_sec(l->ts_usec));
	return sink_unlocked(k, run_other(k, s));
}

int
sink_hostname(struct sink *k, const struct evp_hostname *h)
{
	static const char *const src[EVP_NAME_MAX] = {
		[EVP_NAME_DNS] = "dns", [EVP_NAME_SNI] = "sni",
		[EVP_NAME_HTTP] = "http",
	};
	sqlite3_stmt *s = k->st[ST_HOSTNAME_UPSERT];
	char abuf[64];

	sink_lock(k);
	if (sink_txn(k) == -1)
		return sink_unlocked(k, -1);
	sqlite3_bind_text(s, 1, evp_addr_str(h->addr, abuf, sizeof(abuf)), -1,
	    SQLITE_STATIC);
	bind_str(s, 2, h->name, sizeof(h->name));
	bind_str(s, 3, h->source < EVP_NAME_MAX ? src[h->source] : NULL, 8);
	sqlite3_bind_double(s, 4, usec_to_sec(h->ts_usec));
	return sink_unlocked(k, run_other(k, s));
}

int
sink_producer(struct sink *k, int64_t iface_id, const struct evp_producer *p)
{
	sqlite3_stmt *s = k->st[ST_PRODUCER_UPSERT];

	sink_lock(k);
	if (sink_txn(k) == -1)
		return sink_unlocked(k, -1);
	sqlite3_bind_int64(s, 1, iface_id);
	sqlite3_bind_text(s, 2, p->peer, (int)strnlen(p->peer,
	    sizeof(p->peer)), SQLITE_STATIC);
	bind_u64(s, 3, p->source_id);
	bind_nz(s, 4, p->producer);
	sqlite3_bind_double(s, 5, usec_to_sec(p->ts_usec));
	bind_u64(s, 6, p->msgs);
	bind_u64(s, 7, p->events);
	bind_u64(s, 8, p->lost_msgs);
	bind_u64(s, 9, p->restarts);
	bind_u64(s, 10, p->bad_msgs);
	bind_u64(s, 11, p->probe_drops);
	bind_str(s, 12, p->info, sizeof(p->info));
	return sink_unlocked(k, run_other(k, s));
}

int
sink_counter(struct sink *k, const char *daemon, const char *role,
    const char *key, uint64_t value, double ts, int history)
{
	sqlite3_stmt *s = k->st[ST_COUNTER_UPSERT];
	uint64_t total = value;
	int rc;

	sink_lock(k);
	if (sink_txn(k) == -1)
		return sink_unlocked(k, -1);
	sqlite3_bind_text(s, 1, daemon, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, role, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, key, -1, SQLITE_STATIC);
	bind_u64(s, 4, value);
	sqlite3_bind_double(s, 5, ts);
	/* The row's total (base + value) for the history sample. */
	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		total = (uint64_t)sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	if (rc != SQLITE_DONE) {
		sink_write_error(k);
		LOG_RATELIMITED(log_warnx, "sqlite: %s", sqlite3_errmsg(k->db));
		return sink_unlocked(k, -1);
	}
	if (!history)
		return sink_unlocked(k, 0);
	if (k->ch != NULL)
		ch_counter(k->ch, daemon, role, key, total, ts);
	s = k->st[ST_HISTORY_INSERT];
	sqlite3_bind_double(s, 1, ts);
	sqlite3_bind_text(s, 2, daemon, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, key, -1, SQLITE_STATIC);
	bind_u64(s, 4, total);
	return sink_unlocked(k, run_other(k, s));
}

int64_t
sink_counter_value(struct sink *k, const char *daemon, const char *key)
{
	sqlite3_stmt *s;
	int64_t v = -1;

	sink_lock(k);
	if (sqlite3_prepare_v2(k->db, "SELECT value FROM daemon_counters"
	    " WHERE daemon = ?1 AND key = ?2 AND typeof(value) = 'integer'",
	    -1, &s, NULL) != SQLITE_OK)
		return sink_unlocked(k, -1);
	sqlite3_bind_text(s, 1, daemon, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, key, -1, SQLITE_STATIC);
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	sink_unlocked(k, 0);
	return v;
}

int
sink_counters_load(struct sink *k, const char *daemon,
    void (*fn)(void *, const char *, uint64_t), void *arg)
{
	sqlite3_stmt *s;
	int rc;

	sink_lock(k);
	if (sqlite3_prepare_v2(k->db, "SELECT key, value FROM daemon_counters"
	    " WHERE daemon = ?1 AND typeof(value) = 'integer'", -1, &s,
	    NULL) != SQLITE_OK)
		return sink_unlocked(k, -1);
	sqlite3_bind_text(s, 1, daemon, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		fn(arg, (const char *)sqlite3_column_text(s, 0),
		    (uint64_t)sqlite3_column_int64(s, 1));
	sqlite3_finalize(s);
	return sink_unlocked(k, rc == SQLITE_DONE ? 0 : -1);
}

/* Prepares a one-off write in the open transaction (opening it; the
 * mutex held); NULL on error, counted and logged. */
static sqlite3_stmt *
prepare_write(struct sink *k, const char *sql)
{
	sqlite3_stmt *s;

	if (sink_txn(k) == 0 && sqlite3_prepare_v2(k->db, sql, -1, &s, NULL) ==
	    SQLITE_OK)
		return s;
	sink_write_error(k);
	LOG_RATELIMITED(log_warnx, "sqlite: %s", sqlite3_errmsg(k->db));
	return NULL;
}

/* Runs and finalizes a statement from prepare_write(): rows changed, or
 * -1 (counted and logged). */
static long long
step_changes(struct sink *k, sqlite3_stmt *s)
{
	long long n = -1;

	if (sqlite3_step(s) == SQLITE_DONE)
		n = sqlite3_changes(k->db);
	else {
		sink_write_error(k);
		LOG_RATELIMITED(log_warnx, "sqlite: %s", sqlite3_errmsg(k->db));
	}
	sqlite3_finalize(s);
	return n;
}

int
sink_counters_fold(struct sink *k, const char *daemon)
{
	sqlite3_stmt *s;
	char *x;
	unsigned i;

	sink_lock(k);
	if ((s = prepare_write(k, "UPDATE daemon_counters SET base = value"
	    " WHERE daemon = ?1 AND typeof(value) = 'integer'")) == NULL)
		return sink_unlocked(k, -1);
	sqlite3_bind_text(s, 1, daemon, -1, SQLITE_STATIC);
	/* Written again if this transaction fails, as the loop's rows
	 * are (replay()): the values it folds are the committed ones. */
	if ((x = sqlite3_expanded_sql(s)) == NULL ||
	    rows_push(&k->cur, x) == -1) {
		sqlite3_free(x);
		k->txn_other++;
	}
	if (step_changes(k, s) == -1)
		return sink_unlocked(k, -1);
	for (i = 0; i < counter_ngauges; i++) {
		if ((s = prepare_write(k, "UPDATE daemon_counters SET base = 0"
		    " WHERE daemon = ?1 AND key = ?2")) == NULL)
			return sink_unlocked(k, -1);
		sqlite3_bind_text(s, 1, daemon, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 2, counter_gauges[i], -1, SQLITE_STATIC);
		if ((x = sqlite3_expanded_sql(s)) == NULL ||
		    rows_push(&k->cur, x) == -1) {
			sqlite3_free(x);
			k->txn_other++;
		}
		if (step_changes(k, s) == -1)
			return sink_unlocked(k, -1);
	}
	return sink_unlocked(k, 0);
}

/* Runs one DELETE with up to two bound values; rows changed or -1. */
static long long
delete_rows(struct sink *k, const char *sql, double a, int b)
{
	sqlite3_stmt *s;
	long long n = -1;

	sink_lock(k);
	if ((s = prepare_write(k, sql)) != NULL) {
		sqlite3_bind_double(s, 1, a);
		sqlite3_bind_int(s, 2, b);
		n = step_changes(k, s);
	}
	sink_unlock(k);
	return n;
}

long long
sink_delete_before(struct sink *k, double before, int limit)
{
	/* Each table by chunks of `limit` rows: a first pass after a long
	 * stop may find millions of old samples, and one DELETE of them
	 * all held the loop for seconds. */
	static const char *const sql[] = {
		"DELETE FROM flow_rows WHERE id IN (SELECT id FROM flow_rows"
		" WHERE last_seen < ?1 LIMIT ?2)",
		"DELETE FROM ifcounters WHERE rowid IN (SELECT rowid FROM"
		" ifcounters WHERE ts < ?1 LIMIT ?2)",
		"DELETE FROM counter_history WHERE rowid IN (SELECT rowid FROM"
		" counter_history WHERE ts < ?1 LIMIT ?2)",
		"DELETE FROM listening WHERE id IN (SELECT id FROM listening"
		" WHERE last_seen < ?1 LIMIT ?2)",
		"DELETE FROM host_names WHERE (addr, name) IN (SELECT addr,"
		" name FROM host_names WHERE last_seen < ?1 LIMIT ?2)",
	};
	long long n, t = 0;
	size_t i;

	for (i = 0; i < sizeof(sql) / sizeof(sql[0]); i++) {
		if ((n = delete_rows(k, sql[i], before, limit)) < 0)
			return -1;
		t += n;
	}
	return t;
}

long long
sink_delete_oldest(struct sink *k, int n)
{
	return delete_rows(k, "DELETE FROM flow_rows WHERE id IN (SELECT id"
	    " FROM flow_rows ORDER BY last_seen LIMIT ?2)", 0, n);
}

/* Runs one statement with up to three integers bound (a parameter the
 * statement lacks is refused by SQLite, harmlessly), in the open
 * transaction; rows changed or -1. */
static long long
exec_ints(struct sink *k, const char *sql, int64_t a, int64_t b, int64_t c)
{
	sqlite3_stmt *s;
	long long n = -1;

	sink_lock(k);
	if ((s = prepare_write(k, sql)) != NULL) {
		sqlite3_bind_int64(s, 1, a);
		sqlite3_bind_int64(s, 2, b);
		sqlite3_bind_int64(s, 3, c);
		n = step_changes(k, s);
	}
	sink_unlock(k);
	return n;
}

/*
 * One pass over the flow rows in (lo, hi]: each row's six references
 * are read from one decode of its record (six UNION ALL scans read every
 * row six times, parsing its 60-column header each time: a sweep of
 * 1.2M rows was ~1 s of the loop's CPU, holding the writer's mutex a
 * chunk at a time).  A reference goes into the set unless the last one
 * to land in its slot of a small direct-mapped memo was the same id:
 * rows name the same few processes over and over, and OR IGNORE into
 * the temporary B-tree is what costs.
 */
#define REFS_MEMO	1024

long long
sink_refs_scan(struct sink *k, int64_t lo, int64_t hi, int64_t below)
{
	static const char scan[] = "SELECT cli_proc_id, cli_parent_id,"
	    " cli_cont_id, srv_proc_id, srv_parent_id, srv_cont_id FROM"
	    " flow_rows WHERE id > ?1 AND id <= ?2";
	int64_t memo[REFS_MEMO];
	sqlite3_stmt *s = NULL, *ins;
	long long n = 0;
	int c, rc = SQLITE_DONE;

	memset(memo, 0, sizeof(memo));	/* 0 is never a row id */
	sink_lock(k);
	/* prepare_write() counts and logs its own failure */
	if ((ins = prepare_write(k, "INSERT OR IGNORE INTO temp.live_refs"
	    " VALUES (?1)")) == NULL) {
		sink_unlock(k);
		return -1;
	}
	if (sqlite3_prepare_v2(k->db, scan, -1, &s, NULL) != SQLITE_OK)
		rc = SQLITE_ERROR;
	else {
		sqlite3_bind_int64(s, 1, lo);
		sqlite3_bind_int64(s, 2, hi);
	}
	while (rc != SQLITE_ERROR && (rc = sqlite3_step(s)) == SQLITE_ROW)
		for (c = 0; c < 6 && rc == SQLITE_ROW; c++) {
			int64_t id = sqlite3_column_int64(s, c);

			/* NULL reads as 0: no reference */
			if (id <= 0 || id >= below ||
			    memo[id % REFS_MEMO] == id)
				continue;
			memo[id % REFS_MEMO] = id;
			sqlite3_bind_int64(ins, 1, id);
			if (sqlite3_step(ins) == SQLITE_DONE)
				n += sqlite3_changes(k->db);
			else
				rc = SQLITE_ERROR;
			sqlite3_reset(ins);
		}
	if (rc != SQLITE_DONE) {
		n = -1;
		sink_write_error(k);
		LOG_RATELIMITED(log_warnx, "sqlite: process sweep: %s",
		    sqlite3_errmsg(k->db));
	}
	sqlite3_finalize(s);
	sqlite3_finalize(ins);
	sink_unlock(k);
	return n;
}

long long
sink_refs_sweep(struct sink *k, int64_t from, int64_t to)
{
	long long a, b;

	a = exec_ints(k, "DELETE FROM processes WHERE id >= ?1 AND id < ?2"
	    " AND id NOT IN (SELECT id FROM temp.live_refs)", from, to, 0);
	b = exec_ints(k, "DELETE FROM containers WHERE id >= ?1 AND id < ?2"
	    " AND id NOT IN (SELECT id FROM temp.live_refs)", from, to, 0);
	return a < 0 || b < 0 ? -1 : a + b;
}

void
sink_refs_reset(struct sink *k)
{
	(void)exec_ints(k, "DELETE FROM temp.live_refs", 0, 0, 0);
}

static long long
pragma_int(struct sink *k, const char *sql)
{
	sqlite3_stmt *s;
	long long v = -1;

	if (sqlite3_prepare_v2(k->db, sql, -1, &s, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return v;
}

long long
sink_wal_bytes(struct sink *k)
{
	char path[PATH_MAX];
	struct stat sb;

	/* The file name is fixed at open: no lock needed. */
	if ((size_t)snprintf(path, sizeof(path), "%s-wal",
	    sqlite3_db_filename(k->db, "main")) >= sizeof(path) ||
	    stat(path, &sb) == -1)
		return -1;
	return (long long)sb.st_size;
}

long long
sink_db_bytes(struct sink *k)
{
	long long pc, fl, ps;

	sink_lock(k);
	pc = pragma_int(k, "PRAGMA page_count");
	fl = pragma_int(k, "PRAGMA freelist_count");
	ps = pragma_int(k, "PRAGMA page_size");
	sink_unlock(k);
	if (pc < 0 || fl < 0 || ps < 0)
		return -1;
	return (pc - fl) * ps;
}

void
sink_clickhouse(struct sink *k, struct ch_sink *ch)
{
	k->ch = ch;
}

int
sink_auto_vacuum(struct sink *k)
{
	long long v;

	sink_lock(k);
	v = pragma_int(k, "PRAGMA auto_vacuum");
	sink_unlock(k);
	return (int)v;
}

int
sink_convert_incremental(struct sink *k, char *err, size_t errlen)
{
	uint64_t t0 = clock_mono_usec();
	long long before, after;
	char *msg = NULL;
	int rc = 0;

	sink_lock(k);
	if (k->in_txn && commit(k) == -1) {
		snprintf(err, errlen, "commit: %s", k->error);
		return sink_unlocked(k, -1);
	}
	before = pragma_int(k, "PRAGMA page_count") * k->page_size;
	if (sqlite3_exec(k->db, "PRAGMA auto_vacuum = INCREMENTAL; VACUUM",
	    NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(err, errlen, "%s", msg ? msg : sqlite3_errmsg(k->db));
		sqlite3_free(msg);
		rc = -1;
	}
	after = pragma_int(k, "PRAGMA page_count") * k->page_size;
	sink_unlock(k);
	if (rc == 0)
		log_info("database converted to incremental auto_vacuum in "
		    "%llu ms (%lld -> %lld bytes)", (unsigned long long)
		    (clock_mono_usec() - t0) / 1000, before, after);
	return rc;
}

long long
sink_file_bytes(struct sink *k, long long *free_bytes)
{
	long long pc, fl;

	sink_lock(k);
	pc = pragma_int(k, "PRAGMA page_count");
	fl = pragma_int(k, "PRAGMA freelist_count");
	sink_unlock(k);
	if (pc < 0 || fl < 0)
		return -1;
	if (free_bytes != NULL)
		*free_bytes = fl * k->page_size;
	return pc * k->page_size;
}

long long
sink_vacuum_step(struct sink *k, int pages)
{
	sqlite3_stmt *s;
	char sql[64];
	long long before, after;
	int rc;

	sink_lock(k);
	/* Moved pages are WAL frames: at most a quarter of the WAL's
	 * limit per transaction, so the WAL stays within it. */
	if (k->page_size > 0 && k->in_txn &&
	    (long long)(k->txn_vacuumed + pages) * k->page_size >
	    k->wal_limit / 4)
		pages = (int)(k->wal_limit / 4 / k->page_size) -
		    (int)k->txn_vacuumed;
	if (pages <= 0)
		return sink_unlocked(k, 0);
	snprintf(sql, sizeof(sql), "PRAGMA incremental_vacuum(%d)", pages);
	before = pragma_int(k, "PRAGMA freelist_count");
	if ((s = prepare_write(k, sql)) == NULL)
		return sink_unlocked(k, -1);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		;
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE) {
		sink_write_error(k);
		LOG_RATELIMITED(log_warnx, "incremental_vacuum: %s",
		    sqlite3_errmsg(k->db));
		return sink_unlocked(k, -1);
	}
	after = pragma_int(k, "PRAGMA freelist_count");
	if (before >= 0 && after >= 0 && before > after)
		k->txn_vacuumed += (unsigned long)(before - after);
	sink_unlock(k);
	return before >= 0 && after >= 0 && before > after ? before - after : 0;
}

void
sink_replay_max(struct sink *k, size_t bytes)
{
	sink_lock(k);
	k->replay_max = bytes;
	sink_unlock(k);
}
