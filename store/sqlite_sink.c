/*
 * The one SQLite connection that writes: every write the store makes
 * (the schema and its migrations are in schema.c).
 *
 * Flows are written by integer id with prepared statements inside
 * transactions: every write opens one if none is open, and the owner
 * commits (sink_commit), so thousands of rows share one commit.  There
 * is deliberately no UNIQUE 5-tuple index: the in-memory table is the
 * authority for identity.
 *
 * Two threads use the connection: the writer thread (writer.c) writes
 * flow rows and commits, the loop writes everything else.  Every public
 * function holds the sink's mutex; the writer holds it for a chunk of
 * rows at a time and steps aside between chunks when the loop waits, so
 * the loop never waits longer than one chunk.
 */
#include <sys/stat.h>

#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "../common/clock.h"
#include "../common/log.h"
#include "store.h"

/* Columns of flows after id, in bind order (parameter 2 onwards). */
static const char *const flow_cols[] = {
	"iface_id", "first_seen", "last_seen", "ip_version", "protocol",
	"vlan", "cli_addr", "cli_port", "srv_addr", "srv_port", "source",
	"last_event", "tcp_state", "sides_guessed", "events", "updates",
	"c2s_packets", "c2s_bytes", "s2c_packets", "s2c_bytes",
	"c2s_wire_bytes", "s2c_wire_bytes", "c2s_retrans", "s2c_retrans",
	"cli_tcp_flags", "srv_tcp_flags", "nw_latency_ms", "cli_latency_ms",
	"srv_latency_ms", "rtt_ms", "rtt_var_ms", "segs_in", "segs_out",
	"unack_segs", "lost_packets", "bytes_rcvd", "bytes_acked", "ifname",
	"exporter", "producer", "cli_proc_id", "cli_parent_id", "cli_cont_id",
	"srv_proc_id", "srv_parent_id", "srv_cont_id", "extra",
};
#define NFLOW_COLS	(sizeof(flow_cols) / sizeof(flow_cols[0]))

/*
 * A flow statement and what each of its parameters holds since the last
 * row.  SQLite keeps bindings across sqlite3_reset(), so a row binds
 * only the parameters that differ: most of a row's 48 are NULL or
 * repeat (the interface, the protocol, one process on thousands of
 * flows).  Measured (callgrind, bench_store): binding every parameter
 * was a quarter of the store's instructions per row.  Text is always
 * bound again: a SQLITE_STATIC pointer may point at new content.
 */
#define ROW_PARAMS	(NFLOW_COLS + 2)	/* ?1 is the id; from 1 */
enum { PV_UNSET, PV_NULL, PV_INT, PV_DOUBLE, PV_TEXT };
struct row {
	sqlite3_stmt	*s;
	uint8_t		 kind[ROW_PARAMS];
	int64_t		 v[ROW_PARAMS];	/* the integer, or the double's bits */
};

enum stmt {
	ST_BEGIN, ST_COMMIT, ST_ROLLBACK,
	ST_FLOW_INSERT, ST_FLOW_UPDATE, ST_FLOW_UPDATE_NARROW,
	ST_IFACE_CLEAR, ST_IFACE_UPSERT, ST_IFACE_SETTING, ST_IFACE_LOAD,
	ST_IFC_INSERT, ST_LISTEN_UPSERT, ST_PRODUCER_UPSERT,
	ST_COUNTER_UPSERT, ST_HISTORY_INSERT,
	ST_PROC_INSERT, ST_CONT_INSERT,
	ST_MAX_ID, ST_MAX_REF,
	ST_MAX
};

struct sink {
	pthread_mutex_t	 mu;
	atomic_uint	 waiting;	/* threads waiting in lock() */
	sqlite3		*db;
	struct checkpointer *ck;
	sqlite3_stmt	*st[ST_MAX];
	struct row	 row_ins, row_upd, row_nar;	/* ST_FLOW_INSERT,
						   _UPDATE, _UPDATE_NARROW */
	int		 in_txn;
	unsigned long	 txn_rows;
	int		 version;
	struct sink_stats s;
	long long	 page_size;
	long long	 wal_limit;	/* bytes; see wal_restart() */
	int		 wal_frames;	/* in the WAL after the last commit */
	uint64_t	 wal_retry_usec;	/* no restart before (monotonic) */
};

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

static long long pragma_int(struct sink *, const char *);
static int	wal_hook(void *, sqlite3 *, const char *, int);

/* Rows the writer writes per hold of the mutex (about 0.2 ms). */
#define SINK_CHUNK	64

static void
lock(struct sink *k)
{
	atomic_fetch_add(&k->waiting, 1);
	pthread_mutex_lock(&k->mu);
	atomic_fetch_sub(&k->waiting, 1);
}

static void
unlock(struct sink *k)
{
	pthread_mutex_unlock(&k->mu);
}

static int begin(struct sink *);
static int commit(struct sink *);

/* Releases the mutex and returns rc: `return unlocked(k, rc);`. */
static int
unlocked(struct sink *k, int rc)
{
	unlock(k);
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
	[ST_IFACE_SETTING] = "INSERT INTO interface_settings (name, mirrored,"
	    " companion, updated) VALUES (?1, ?2, ?3, ?4) ON CONFLICT (name)"
	    " DO UPDATE SET mirrored = excluded.mirrored,"
	    " companion = excluded.companion, updated = excluded.updated",
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
	    " value = excluded.value, updated = excluded.updated",
	[ST_HISTORY_INSERT] = "INSERT INTO counter_history (ts, daemon, key,"
	    " value) VALUES (?1, ?2, ?3, ?4)",
	/* OR REPLACE: a row number is given out once per database (see
	 * intern_row()), so a conflict would only be a row left by a
	 * write that failed half way; the new value is the right one. */
	[ST_PROC_INSERT] = "INSERT OR REPLACE INTO processes (id, pid, tid,"
	    " uid, user, gid, grp, process, cmdline, vm_size, vm_peak)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
	[ST_CONT_INSERT] = "INSERT OR REPLACE INTO containers (id, kind,"
	    " container_id, name, pod, namespace)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	[ST_MAX_ID] = "SELECT coalesce(max(id), 0) FROM flow_rows",
	[ST_MAX_REF] = "SELECT max(coalesce((SELECT max(id) FROM processes),"
	    " 0), coalesce((SELECT max(id) FROM containers), 0))",
};

/* Parameters of the indexed columns iface_id and last_seen (flows_last_seen,
 * flows_iface_last_seen). */
#define P_IFACE_ID	2
#define P_LAST_SEEN	4

/*
 * Builds the flow statements from flow_cols: the INSERT, the full UPDATE,
 * and the narrow UPDATE that leaves the indexed columns alone (for a row
 * whose last_seen did not move since it was written: SQLite then
 * maintains no index).  The narrow one matches only a row still in the
 * same interface (else the full UPDATE moves it).  All three number
 * their parameters alike (?4 is unused in the narrow one).
 */
static int
prepare_flow_stmts(struct sink *k, char *err, size_t errlen)
{
	struct buf ins, upd, nar;
	size_t i;
	int rc = -1, n = 0;

	buf_init(&ins);
	buf_init(&upd);
	buf_init(&nar);
	buf_puts(&ins, "INSERT INTO flow_rows (id");
	buf_puts(&upd, "UPDATE flow_rows SET ");
	buf_puts(&nar, "UPDATE flow_rows SET ");
	for (i = 0; i < NFLOW_COLS; i++) {
		buf_printf(&ins, ", %s", flow_cols[i]);
		buf_printf(&upd, "%s%s = ?%zu", i ? ", " : "", flow_cols[i],
		    i + 2);
		if (i + 2 == P_IFACE_ID || i + 2 == P_LAST_SEEN)
			continue;
		buf_printf(&nar, "%s%s = ?%zu", n++ ? ", " : "", flow_cols[i],
		    i + 2);
	}
	buf_puts(&ins, ") VALUES (?1");
	for (i = 0; i < NFLOW_COLS; i++)
		buf_printf(&ins, ", ?%zu", i + 2);
	buf_puts(&ins, ")");
	buf_puts(&upd, " WHERE id = ?1");
	buf_puts(&nar, " WHERE id = ?1 AND iface_id = ?2");
	if (!buf_ok(&ins) || !buf_ok(&upd) || !buf_ok(&nar))
		snprintf(err, errlen, "out of memory");
	else if (sqlite3_prepare_v3(k->db, ins.p, -1, SQLITE_PREPARE_PERSISTENT,
	    &k->st[ST_FLOW_INSERT], NULL) != SQLITE_OK ||
	    sqlite3_prepare_v3(k->db, upd.p, -1, SQLITE_PREPARE_PERSISTENT,
	    &k->st[ST_FLOW_UPDATE], NULL) != SQLITE_OK ||
	    sqlite3_prepare_v3(k->db, nar.p, -1, SQLITE_PREPARE_PERSISTENT,
	    &k->st[ST_FLOW_UPDATE_NARROW], NULL) != SQLITE_OK)
		snprintf(err, errlen, "prepare flows: %s", sqlite3_errmsg(k->db));
	else {
		k->row_ins.s = k->st[ST_FLOW_INSERT];
		k->row_upd.s = k->st[ST_FLOW_UPDATE];
		k->row_nar.s = k->st[ST_FLOW_UPDATE_NARROW];
		rc = 0;
	}
	buf_free(&ins);
	buf_free(&upd);
	buf_free(&nar);
	return rc;
}

struct sink *
sink_open(const char *path, long long cache_bytes, int target, char *err,
    size_t errlen)
{
	struct sink *k;
	char pragma[256], *msg = NULL;
	int i;

	if ((k = calloc(1, sizeof(*k))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&k->mu, NULL);
	/* SQLite's memory statistics take a global mutex on every
	 * allocation (two threads use SQLite here).  Only possible before
	 * SQLite initializes; later (a test opening twice) it is refused,
	 * harmlessly. */
	(void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	if (sqlite3_open_v2(path, &k->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path, k->db ?
		    sqlite3_errmsg(k->db) : "cannot open");
		goto fail;
	}
	sqlite3_busy_timeout(k->db, SINK_BUSY_MS);
	snprintf(pragma, sizeof(pragma), "PRAGMA journal_mode = WAL; "
	    "PRAGMA synchronous = NORMAL; PRAGMA cache_size = -%lld",
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
	if (prepare_flow_stmts(k, err, errlen) == -1)
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
	if (k->in_txn)
		(void)commit(k);
	if (k->ck != NULL) {
		ckpt_stop(k->ck);
		/* The last writes go into the file now. */
		(void)sqlite3_wal_checkpoint_v2(k->db, NULL,
		    SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
	}
	for (i = 0; i < ST_MAX; i++)
		sqlite3_finalize(k->st[i]);
	sqlite3_close(k->db);
	pthread_mutex_destroy(&k->mu);
	free(k);
}

void
sink_stats(struct sink *k, struct sink_stats *out)
{
	lock(k);
	*out = k->s;
	unlock(k);
}

void
sink_wal_limit(struct sink *k, long long bytes)
{
	char sql[64];

	lock(k);
	k->wal_limit = bytes;
	/* The WAL file is cut back to this size when it starts over. */
	snprintf(sql, sizeof(sql), "PRAGMA journal_size_limit = %lld", bytes);
	(void)sqlite3_exec(k->db, sql, NULL, NULL, NULL);
	unlock(k);
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
	k->s.write_errors++;
	LOG_RATELIMITED(log_warnx, "sqlite: %s", sqlite3_errmsg(k->db));
	return -1;
}

/* The one integer statement s returns (0 if none). */
static int64_t
query_int(struct sink *k, sqlite3_stmt *s)
{
	int64_t v = 0;

	lock(k);
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	unlock(k);
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

/* Opens a transaction unless one is open (the mutex held). */
static int
begin(struct sink *k)
{
	if (k->in_txn)
		return 0;
	if (run(k, k->st[ST_BEGIN]) == -1)
		return -1;
	k->in_txn = 1;
	k->txn_rows = 0;
	return 0;
}

int
sink_begin(struct sink *k)
{
	lock(k);
	return unlocked(k, begin(k));
}

unsigned long
sink_txn_rows(struct sink *k)
{
	unsigned long n;

	lock(k);
	n = k->in_txn ? k->txn_rows : 0;
	unlock(k);
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

/* Commits the open transaction, if any (the mutex held). */
static int
commit(struct sink *k)
{
	if (!k->in_txn)
		return 0;
	k->in_txn = 0;
	if (run(k, k->st[ST_COMMIT]) == -1) {
		(void)run(k, k->st[ST_ROLLBACK]);
		k->s.rollbacks++;
		return -1;
	}
	k->s.transactions++;
	if (k->ck != NULL && (long long)k->wal_frames * k->page_size >=
	    k->wal_limit && clock_mono_usec() >= k->wal_retry_usec)
		wal_restart(k);
	return 0;
}

int
sink_commit(struct sink *k)
{
	lock(k);
	return unlocked(k, commit(k));
}

int
sink_in_txn(struct sink *k)
{
	lock(k);
	return unlocked(k, k->in_txn);
}

/* Text of a bounded string, or NULL if empty. */
static void
bind_str(sqlite3_stmt *s, int i, const char *p, size_t n)
{
	size_t l = p ? strnlen(p, n) : 0;

	if (l == 0)
		sqlite3_bind_null(s, i);
	else
		sqlite3_bind_text(s, i, p, (int)l, SQLITE_STATIC);
}

static void
bind_u64(sqlite3_stmt *s, int i, uint64_t v)
{
	sqlite3_bind_int64(s, i, (sqlite3_int64)v);
}

/* NULL for 0: "unknown" for values where 0 is not a measurement. */
static void
bind_nz(sqlite3_stmt *s, int i, uint64_t v)
{
	if (v == 0)
		sqlite3_bind_null(s, i);
	else
		sqlite3_bind_int64(s, i, (sqlite3_int64)v);
}

static double
usec_to_sec(uint64_t u)
{
	return (double)(u / 1000000) + (double)(u % 1000000) / 1e6;
}

static const char *
container_kind(uint32_t k)
{
	switch (k) {
	case EVP_CONT_DOCKER:
		return "docker";
	case EVP_CONT_K8S:
		return "k8s";
	case EVP_CONT_OTHER:
		return "other";
	default:
		return NULL;
	}
}

/* Row binders: bind parameter i of r->s unless it already holds the
 * value (see struct row). */
static void
row_null(struct row *r, int i)
{
	if (r->kind[i] != PV_NULL) {
		sqlite3_bind_null(r->s, i);
		r->kind[i] = PV_NULL;
	}
}

static void
row_int(struct row *r, int i, uint64_t u)
{
	int64_t v = (int64_t)u;

	if (r->kind[i] != PV_INT || r->v[i] != v) {
		sqlite3_bind_int64(r->s, i, v);
		r->kind[i] = PV_INT;
		r->v[i] = v;
	}
}

/* NULL for 0: "unknown" for values where 0 is not a measurement. */
static void
row_nz(struct row *r, int i, uint64_t v)
{
	if (v == 0)
		row_null(r, i);
	else
		row_int(r, i, v);
}

static void
row_double(struct row *r, int i, double d)
{
	int64_t bits;

	memcpy(&bits, &d, sizeof(bits));
	if (r->kind[i] != PV_DOUBLE || r->v[i] != bits) {
		sqlite3_bind_double(r->s, i, d);
		r->kind[i] = PV_DOUBLE;
		r->v[i] = bits;
	}
}

static void
row_ms(struct row *r, int i, uint32_t us)
{
	if (us == 0)
		row_null(r, i);
	else
		row_double(r, i, us / 1000.0);
}

/* `n` bytes of text, borrowed until the step; NULL if n is 0. */
static void
row_text(struct row *r, int i, const char *p, size_t n)
{
	if (n == 0)
		row_null(r, i);
	else {
		sqlite3_bind_text(r->s, i, p, (int)n, SQLITE_STATIC);
		r->kind[i] = PV_TEXT;
	}
}

/* A bounded string (or NULL); NULL if empty. */
static void
row_str(struct row *r, int i, const char *p, size_t n)
{
	row_text(r, i, p, p ? strnlen(p, n) : 0);
}

/* An address as text into buf (64 bytes): IPv4 formatted here, as
 * inet_ntop's sprintf was 8% of the store's instructions per row. */
static const char *
addr_text(const uint8_t a[16], char buf[64])
{
	char *p = buf;
	unsigned i, v;

	if (!evp_addr_is_v4(a))
		return evp_addr_str(a, buf, 64);
	for (i = 12; i < 16; i++) {
		v = a[i];
		if (v >= 100)
			*p++ = (char)('0' + v / 100);
		if (v >= 10)
			*p++ = (char)('0' + v / 10 % 10);
		*p++ = (char)('0' + v % 10);
		*p++ = i < 15 ? '.' : '\0';
	}
	return buf;
}

/* Binds the three references of side `s` from parameter `i`. */
static int
bind_refs(struct row *r, int i, const struct flow_row *w, int s)
{
	int j;

	for (j = 0; j < REF_MAX; j++)
		row_nz(r, i + j, (uint64_t)w->ref[s][j]);
	return i + REF_MAX;
}

static int
nonzero16(const uint8_t *a)
{
	int i;

	for (i = 0; i < 16; i++)
		if (a[i])
			return 1;
	return 0;
}

/* Binds every column of a flow row; the address buffers must outlive
 * the statement's step. */
static void
bind_flow(struct row *r, const struct flow_row *w, char abuf[3][64])
{
	const struct flow *f = &w->f;
	const struct flow_meta *m = w->meta;
	const struct flow_tcpinfo *t = w->has_tcpi ? &w->tcpi : NULL;
	const char *src, *ev, *st, *a;
	int i = 1, c = f->cli, cnt = (f->flags & FL_COUNTERS) != 0;

	row_int(r, i++, f->id);
	row_int(r, i++, (uint64_t)w->iface_id);
	row_double(r, i++, usec_to_sec(f->first_usec));
	row_double(r, i++, usec_to_sec(f->last_usec));
	row_nz(r, i++, f->ip_version);
	row_int(r, i++, f->key.proto);
	row_int(r, i++, f->key.vlan);
	a = addr_text(f->key.addr[c], abuf[0]);
	row_text(r, i++, a, strlen(a));
	row_int(r, i++, f->key.port[c]);
	a = addr_text(f->key.addr[!c], abuf[1]);
	row_text(r, i++, a, strlen(a));
	row_int(r, i++, f->key.port[!c]);
	src = (f->flags & FL_JOINED) ? "joined" : evp_source_name(f->source);
	row_str(r, i++, src, 32);
	ev = evp_event_name(f->last_event);
	row_str(r, i++, ev, 32);
	st = evp_tcp_state_name(f->tcp_state);
	row_str(r, i++, st, 32);
	row_int(r, i++, f->orient == ORIENT_GUESSED);
	row_int(r, i++, f->events);
	row_int(r, i++, f->updates);
	if (cnt) {
		row_int(r, i++, f->pkts[0]);
		row_int(r, i++, f->bytes[0]);
		row_int(r, i++, f->pkts[1]);
		row_int(r, i++, f->bytes[1]);
	} else
		for (c = 0; c < 4; c++)
			row_null(r, i++);
	if (f->flags & FL_WIRE) {
		row_int(r, i++, f->wire[0]);
		row_int(r, i++, f->wire[1]);
	} else {
		row_null(r, i++);
		row_null(r, i++);
	}
	if (f->flags & FL_RETRANS) {
		row_int(r, i++, f->retrans[0]);
		row_int(r, i++, f->retrans[1]);
	} else {
		row_null(r, i++);
		row_null(r, i++);
	}
	if (f->flags & FL_TCPFLAGS) {
		row_int(r, i++, f->tcp_flags[0]);
		row_int(r, i++, f->tcp_flags[1]);
	} else {
		row_null(r, i++);
		row_null(r, i++);
	}
	row_ms(r, i++, f->nw_lat_us);
	row_ms(r, i++, f->cli_lat_us);
	row_ms(r, i++, f->srv_lat_us);
	if (t != NULL) {
		row_ms(r, i++, t->rtt_us);
		row_ms(r, i++, t->rtt_var_us);
		row_int(r, i++, t->segs_in);
		row_int(r, i++, t->segs_out);
		row_int(r, i++, t->unack_segs);
		row_int(r, i++, t->lost_pkts);
		row_int(r, i++, t->rcvd_sum);
		row_int(r, i++, t->acked_sum);
	} else
		for (c = 0; c < 8; c++)
			row_null(r, i++);
	if (m != NULL) {
		row_str(r, i++, m->ifname, sizeof(m->ifname));
		if (nonzero16(m->exporter)) {
			a = addr_text(m->exporter, abuf[2]);
			row_text(r, i++, a, strlen(a));
		} else
			row_null(r, i++);
		row_nz(r, i++, m->producer);
	} else
		for (c = 0; c < 3; c++)
			row_null(r, i++);
	i = bind_refs(r, i, w, 0);
	i = bind_refs(r, i, w, 1);
	if (m != NULL && m->extra_len > 0)
		row_text(r, i, m->extra, m->extra_len);
	else
		row_null(r, i);
}

/* Runs a statement bound for one row; 0 or -1 (counted and logged). */
static int
step_row(struct sink *k, sqlite3_stmt *s, const char *what)
{
	int rc = sqlite3_step(s);

	sqlite3_reset(s);
	if (rc == SQLITE_DONE)
		return 0;
	k->s.write_errors++;
	LOG_RATELIMITED(log_warnx, "sqlite insert %s: %s", what,
	    sqlite3_errmsg(k->db));
	return -1;
}

/* Inserts process row `id` (a flow's process or a parent). */
static int
write_proc(struct sink *k, int64_t id, const struct evp_proc *p)
{
	sqlite3_stmt *s = k->st[ST_PROC_INSERT];

	sqlite3_bind_int64(s, 1, id);
	bind_u64(s, 2, p->pid);
	bind_nz(s, 3, p->tid);
	bind_u64(s, 4, p->uid);
	bind_str(s, 5, p->uid_name, sizeof(p->uid_name));
	bind_u64(s, 6, p->gid);
	bind_str(s, 7, p->gid_name, sizeof(p->gid_name));
	bind_str(s, 8, p->path, sizeof(p->path));
	bind_str(s, 9, p->cmdline, sizeof(p->cmdline));
	bind_nz(s, 10, p->vm_size);
	bind_nz(s, 11, p->vm_peak);
	return step_row(k, s, "process");
}

static int
write_cont(struct sink *k, int64_t id, const struct evp_container *c)
{
	sqlite3_stmt *s = k->st[ST_CONT_INSERT];
	const char *kind = container_kind(c->kind);

	sqlite3_bind_int64(s, 1, id);
	bind_str(s, 2, kind, 16);
	bind_str(s, 3, c->id, sizeof(c->id));
	bind_str(s, 4, c->name, sizeof(c->name));
	bind_str(s, 5, c->pod, sizeof(c->pod));
	bind_str(s, 6, c->ns, sizeof(c->ns));
	return step_row(k, s, "container");
}

/* Inserts the process and container rows this flow row is the first
 * to refer to.  A failure is counted; the flow row is still written
 * (its reference then reads as no process). */
static void
write_fresh_refs(struct sink *k, const struct flow_row *w)
{
	int s;

	for (s = 0; s < 2; s++) {
		if (w->fresh[s][REF_PROC])
			(void)write_proc(k, w->ref[s][REF_PROC], w->proc[s]);
		if (w->fresh[s][REF_PARENT])
			(void)write_proc(k, w->ref[s][REF_PARENT],
			    w->parent[s]);
		if (w->fresh[s][REF_CONT])
			(void)write_cont(k, w->ref[s][REF_CONT], w->cont[s]);
	}
}

/* Updates the row with statement r: 1 if a row changed, 0 if none
 * matched, -1 on error (counted and logged). */
static int
update_flow(struct sink *k, struct row *r, const struct flow_row *w)
{
	char abuf[3][64];
	int rc;

	bind_flow(r, w, abuf);
	rc = sqlite3_step(r->s);
	sqlite3_reset(r->s);
	if (rc == SQLITE_DONE) {
		if (sqlite3_changes(k->db) != 1)
			return 0;
		k->txn_rows++;
		k->s.rows_updated++;
		k->s.flows_written++;
		return 1;
	}
	k->s.write_errors++;
	LOG_RATELIMITED(log_warnx, "sqlite update flow %llu: %s",
	    (unsigned long long)w->f.id, sqlite3_errmsg(k->db));
	return -1;
}

/* Inserts or updates one flow row (the mutex held). */
static int
write_flow(struct sink *k, const struct flow_row *w)
{
	char abuf[3][64];
	int rc;

	if (begin(k) == -1)
		return -1;
	write_fresh_refs(k, w);
	if (w->f.flags & FL_WRITTEN) {
		/* last_seen as written: the indexes need no change. */
		rc = 0;
		if (!(w->f.flags & FL_MOVED))
			rc = update_flow(k, &k->row_nar, w);
		/* Moved, or the row changed interface: the full row. */
		if (rc == 0)
			rc = update_flow(k, &k->row_upd, w);
		if (rc != 0)
			return rc == 1 ? 0 : -1;
		/* The row went away (retention by size): insert again. */
	}
	bind_flow(&k->row_ins, w, abuf);
	rc = sqlite3_step(k->row_ins.s);
	sqlite3_reset(k->row_ins.s);
	if (rc != SQLITE_DONE) {
		k->s.write_errors++;
		LOG_RATELIMITED(log_warnx, "sqlite insert flow %llu: %s",
		    (unsigned long long)w->f.id, sqlite3_errmsg(k->db));
		return -1;
	}
	k->txn_rows++;
	k->s.rows_inserted++;
	k->s.flows_written++;
	return 0;
}

int
sink_write_flow(struct sink *k, const struct flow_row *w)
{
	lock(k);
	return unlocked(k, write_flow(k, w));
}

size_t
sink_write_flows(struct sink *k, const struct flow_row *w, size_t n)
{
	size_t i = 0, end, bad = 0;

	while (i < n) {
		lock(k);
		for (end = i + SINK_CHUNK < n ? i + SINK_CHUNK : n; i < end;
		    i++)
			if (write_flow(k, &w[i]) == -1)
				bad++;
		unlock(k);
		/* The loop waits for the connection: let it have it. */
		while (atomic_load(&k->waiting) > 0)
			sched_yield();
	}
	return bad;
}

int64_t
sink_iface(struct sink *k, const char *name, const char *kind, int router_id,
    int mirrored, const char *companion)
{
	sqlite3_stmt *s = k->st[ST_IFACE_UPSERT];
	double now = usec_to_sec(clock_wall_usec());
	int64_t id = 0;
	int rc;

	lock(k);
	if (begin(k) == -1)
		return unlocked(k, -1);
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
		k->s.write_errors++;
		LOG_RATELIMITED(log_warnx, "sqlite interface %s: %s", name,
		    sqlite3_errmsg(k->db));
		id = -1;
	}
	unlock(k);
	return id;
}

int
sink_iface_setting(struct sink *k, const char *name, int mirrored,
    const char *companion)
{
	sqlite3_stmt *s = k->st[ST_IFACE_SETTING];

	lock(k);
	if (begin(k) == -1)
		return unlocked(k, -1);
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 2, mirrored);
	bind_str(s, 3, companion, EVP_NAME_LEN);
	sqlite3_bind_double(s, 4, usec_to_sec(clock_wall_usec()));
	return unlocked(k, run(k, s));
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

	lock(k);
	if (begin(k) == -1)
		return unlocked(k, -1);
	for (i = 0; i < sizeof(sql) / sizeof(sql[0]); i++) {
		if (sqlite3_prepare_v2(k->db, sql[i], -1, &s, NULL) !=
		    SQLITE_OK) {
			k->s.write_errors++;
			return unlocked(k, -1);
		}
		sqlite3_bind_int64(s, 1, from);
		sqlite3_bind_int64(s, 2, to);
		if (sqlite3_step(s) != SQLITE_DONE) {
			k->s.write_errors++;
			rc = -1;
		}
		sqlite3_finalize(s);
	}
	return unlocked(k, rc);
}

int
sink_iface_load(struct sink *k, void (*fn)(void *, int64_t, const char *,
    const char *, int, int), void *arg)
{
	sqlite3_stmt *s = k->st[ST_IFACE_LOAD];
	int rc;

	/* fn must not call the sink: the mutex is held. */
	lock(k);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		fn(arg, sqlite3_column_int64(s, 0),
		    (const char *)sqlite3_column_text(s, 1),
		    (const char *)sqlite3_column_text(s, 2),
		    sqlite3_column_int(s, 3), sqlite3_column_int(s, 4));
	sqlite3_reset(s);
	return unlocked(k, rc == SQLITE_DONE ? 0 : -1);
}

/* Rates are NULL when `have_rate` is 0 (first sample, counter reset). */
int
sink_ifcounter(struct sink *k, int64_t iface_id, const struct evp_ifcounter *c,
    double in_bps, double out_bps, double in_pps, double out_pps,
    int have_rate)
{
	sqlite3_stmt *s = k->st[ST_IFC_INSERT];
	char abuf[64];

	lock(k);
	if (begin(k) == -1)
		return unlocked(k, -1);
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
	return unlocked(k, run(k, s));
}

int
sink_listen(struct sink *k, int64_t iface_id, const struct evp_listen *l)
{
	sqlite3_stmt *s = k->st[ST_LISTEN_UPSERT];
	char abuf[64];

	lock(k);
	if (begin(k) == -1)
		return unlocked(k, -1);
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
	return unlocked(k, run(k, s));
}

int
sink_producer(struct sink *k, int64_t iface_id, const struct evp_producer *p)
{
	sqlite3_stmt *s = k->st[ST_PRODUCER_UPSERT];

	lock(k);
	if (begin(k) == -1)
		return unlocked(k, -1);
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
	return unlocked(k, run(k, s));
}

int
sink_counter(struct sink *k, const char *daemon, const char *role,
    const char *key, uint64_t value, double ts, int history)
{
	sqlite3_stmt *s = k->st[ST_COUNTER_UPSERT];

	lock(k);
	if (begin(k) == -1)
		return unlocked(k, -1);
	sqlite3_bind_text(s, 1, daemon, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, role, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, key, -1, SQLITE_STATIC);
	bind_u64(s, 4, value);
	sqlite3_bind_double(s, 5, ts);
	if (run(k, s) == -1)
		return unlocked(k, -1);
	if (!history)
		return unlocked(k, 0);
	s = k->st[ST_HISTORY_INSERT];
	sqlite3_bind_double(s, 1, ts);
	sqlite3_bind_text(s, 2, daemon, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, key, -1, SQLITE_STATIC);
	bind_u64(s, 4, value);
	return unlocked(k, run(k, s));
}

/* Runs one DELETE with up to two bound values; rows changed or -1. */
static long long
delete_rows(struct sink *k, const char *sql, double a, int b)
{
	sqlite3_stmt *s;
	long long n = -1;

	lock(k);
	if (begin(k) == -1 || sqlite3_prepare_v2(k->db, sql, -1, &s, NULL) !=
	    SQLITE_OK) {
		k->s.write_errors++;
		LOG_RATELIMITED(log_warnx, "sqlite: %s", sqlite3_errmsg(k->db));
		unlock(k);
		return -1;
	}
	sqlite3_bind_double(s, 1, a);
	sqlite3_bind_int(s, 2, b);
	if (sqlite3_step(s) == SQLITE_DONE)
		n = sqlite3_changes(k->db);
	else {
		k->s.write_errors++;
		LOG_RATELIMITED(log_warnx, "sqlite: %s", sqlite3_errmsg(k->db));
	}
	sqlite3_finalize(s);
	unlock(k);
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

	lock(k);
	if (begin(k) == -1 || sqlite3_prepare_v2(k->db, sql, -1, &s, NULL) !=
	    SQLITE_OK) {
		k->s.write_errors++;
		LOG_RATELIMITED(log_warnx, "sqlite: %s", sqlite3_errmsg(k->db));
		unlock(k);
		return -1;
	}
	sqlite3_bind_int64(s, 1, a);
	sqlite3_bind_int64(s, 2, b);
	sqlite3_bind_int64(s, 3, c);
	if (sqlite3_step(s) == SQLITE_DONE)
		n = sqlite3_changes(k->db);
	else {
		k->s.write_errors++;
		LOG_RATELIMITED(log_warnx, "sqlite: %s", sqlite3_errmsg(k->db));
	}
	sqlite3_finalize(s);
	unlock(k);
	return n;
}

long long
sink_refs_scan(struct sink *k, int64_t lo, int64_t hi, int64_t below)
{
	return exec_ints(k, "INSERT OR IGNORE INTO temp.live_refs"
	    " SELECT x FROM (SELECT cli_proc_id AS x FROM flow_rows"
	    " WHERE id > ?1 AND id <= ?2 UNION ALL SELECT cli_parent_id"
	    " FROM flow_rows WHERE id > ?1 AND id <= ?2 UNION ALL SELECT"
	    " cli_cont_id FROM flow_rows WHERE id > ?1 AND id <= ?2"
	    " UNION ALL SELECT srv_proc_id FROM flow_rows WHERE id > ?1"
	    " AND id <= ?2 UNION ALL SELECT srv_parent_id FROM flow_rows"
	    " WHERE id > ?1 AND id <= ?2 UNION ALL SELECT srv_cont_id"
	    " FROM flow_rows WHERE id > ?1 AND id <= ?2) WHERE x < ?3",
	    lo, hi, below);
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

	lock(k);
	pc = pragma_int(k, "PRAGMA page_count");
	fl = pragma_int(k, "PRAGMA freelist_count");
	ps = pragma_int(k, "PRAGMA page_size");
	unlock(k);
	if (pc < 0 || fl < 0 || ps < 0)
		return -1;
	return (pc - fl) * ps;
}
