/*
 * Read-only connections to the store's flow database.
 *
 * A small pool (one connection per libmicrohttpd thread): a request
 * borrows one with db_get() and returns it with db_put().  Connections
 * are opened lazily with SQLITE_OPEN_READONLY, so webd starts before the
 * store has created the file and never writes to it; the store runs the
 * database in WAL mode, so readers never block its writer.  Each
 * connection caches its prepared statements (keyed by SQL text): the
 * SQL webd runs comes from a fixed set of templates, so the cache stays
 * small and hot queries are parsed once.
 *
 * Time limit: a request's statements share one deadline, set when it
 * borrows the connection (webd.sql_timeout).  SQLite's progress handler
 * checks the clock every DB_PROGRESS_OPS virtual-machine steps and
 * interrupts the statement once the deadline has passed, so an
 * expensive aggregate costs at most that much of an HTTP thread;
 * db_timed_out() tells the handler why its statement failed.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"
#include "query.h"
#include "webd.h"

#define DB_STMT_CACHE	48	/* statements per connection */
#define DB_BUSY_MS	2000
#define DB_PROGRESS_OPS	1000	/* VM steps between clock reads (~10 us) */

struct db_stmt {
	char		*sql;
	sqlite3_stmt	*st;
	uint64_t	 used;	/* LRU clock */
};

struct db_conn {
	sqlite3		*db;
	int		 busy;
	uint64_t	 clock;
	uint64_t	 deadline_usec;	/* monotonic; 0 = none */
	int		 timed_out;	/* the progress handler interrupted */
	struct db_stmt	 cache[DB_STMT_CACHE];
};

struct webd_dbpool {
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	char		 path[CONF_STR_LEN];
	uint64_t	 timeout_usec;	/* per request, 0 = none */
	unsigned	 n;
	struct db_conn	 conn[WEBD_DB_POOL_MAX];
};

/* SQLite's progress handler: nonzero interrupts the statement. */
static int
db_progress(void *arg)
{
	struct db_conn *c = arg;

	if (c->deadline_usec == 0 || clock_mono_usec() < c->deadline_usec)
		return 0;
	c->timed_out = 1;
	return 1;
}

struct webd_dbpool *
db_pool_new(const char *path, unsigned n, long long timeout_ms)
{
	struct webd_dbpool *p;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	snprintf(p->path, sizeof(p->path), "%s", path);
	p->timeout_usec = timeout_ms > 0 ? (uint64_t)timeout_ms * 1000 : 0;
	p->n = n < 1 ? 1 : n > WEBD_DB_POOL_MAX ? WEBD_DB_POOL_MAX : n;
	return p;
}

static void
db_conn_close(struct db_conn *c)
{
	unsigned i;

	for (i = 0; i < DB_STMT_CACHE; i++) {
		sqlite3_finalize(c->cache[i].st);
		free(c->cache[i].sql);
	}
	memset(c->cache, 0, sizeof(c->cache));
	if (c->db != NULL)
		sqlite3_close(c->db);
	c->db = NULL;
}

void
db_pool_free(struct webd_dbpool *p)
{
	unsigned i;

	if (p == NULL)
		return;
	for (i = 0; i < p->n; i++)
		db_conn_close(&p->conn[i]);
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->mu);
	free(p);
}

struct db_conn *
db_get(struct webd_dbpool *p)
{
	struct db_conn *c = NULL;
	unsigned i;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		for (i = 0; i < p->n; i++)
			if (!p->conn[i].busy) {
				c = &p->conn[i];
				break;
			}
		if (c != NULL)
			break;
		pthread_cond_wait(&p->cv, &p->mu);
	}
	c->busy = 1;
	pthread_mutex_unlock(&p->mu);

	if (c->db == NULL) {
		if (sqlite3_open_v2(p->path, &c->db, SQLITE_OPEN_READONLY |
		    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
			LOG_RATELIMITED(log_warnx, "database %s: %s", p->path,
			    c->db ? sqlite3_errmsg(c->db) : "cannot open");
			db_conn_close(c);
		} else {
			sqlite3_busy_timeout(c->db, DB_BUSY_MS);
			sqlite3_progress_handler(c->db, DB_PROGRESS_OPS,
			    db_progress, c);
			(void)query_register_functions(c->db);
			(void)sqlite3_exec(c->db, "PRAGMA query_only = 1;"
			    "PRAGMA cache_size = -32768; PRAGMA mmap_size = 268435456;",
			    NULL, NULL, NULL);
			/* A schema read proves the file is a database. */
			if (sqlite3_exec(c->db, "SELECT 1 FROM sqlite_master"
			    " LIMIT 1", NULL, NULL, NULL) != SQLITE_OK) {
				LOG_RATELIMITED(log_warnx, "database %s: %s",
				    p->path, sqlite3_errmsg(c->db));
				db_conn_close(c);
			}
		}
	}
	if (c->db == NULL) {
		pthread_mutex_lock(&p->mu);
		c->busy = 0;
		pthread_cond_signal(&p->cv);
		pthread_mutex_unlock(&p->mu);
		return NULL;
	}
	c->timed_out = 0;
	c->deadline_usec = p->timeout_usec != 0 ? clock_mono_usec() +
	    p->timeout_usec : 0;
	return c;
}

void
db_put(struct webd_dbpool *p, struct db_conn *c)
{
	unsigned i;

	if (c == NULL)
		return;
	c->deadline_usec = 0;
	for (i = 0; i < DB_STMT_CACHE; i++)
		if (c->cache[i].st != NULL) {
			sqlite3_reset(c->cache[i].st);
			sqlite3_clear_bindings(c->cache[i].st);
		}
	/* A schema change by the store invalidates nothing here: SQLite
	 * re-prepares cached statements itself. */
	pthread_mutex_lock(&p->mu);
	c->busy = 0;
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
}

sqlite3 *
db_handle(struct db_conn *c)
{
	return c->db;
}

int
db_timed_out(struct db_conn *c)
{
	return c->timed_out;
}

sqlite3_stmt *
db_prepare(struct db_conn *c, const char *sql)
{
	struct db_stmt *e, *victim = NULL;
	unsigned i;

	c->clock++;
	for (i = 0; i < DB_STMT_CACHE; i++) {
		e = &c->cache[i];
		if (e->sql != NULL && strcmp(e->sql, sql) == 0) {
			e->used = c->clock;
			sqlite3_reset(e->st);
			sqlite3_clear_bindings(e->st);
			return e->st;
		}
		if (victim == NULL || e->used < victim->used)
			victim = e;
	}
	sqlite3_finalize(victim->st);
	free(victim->sql);
	victim->st = NULL;
	victim->used = 0;
	if ((victim->sql = strdup(sql)) == NULL)
		return NULL;
	if (sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT,
	    &victim->st, NULL) != SQLITE_OK) {
		LOG_RATELIMITED(log_warnx, "prepare: %s", sqlite3_errmsg(c->db));
		free(victim->sql);
		victim->sql = NULL;
		victim->st = NULL;
		return NULL;
	}
	victim->used = c->clock;
	return victim->st;
}

int
db_has_table(struct db_conn *c, const char *table)
{
	sqlite3_stmt *st;
	int ok = 0;

	st = db_prepare(c, "SELECT 1 FROM sqlite_master WHERE type IN"
	    " ('table','view') AND name = ?1");
	if (st == NULL)
		return 0;
	sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
	ok = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_reset(st);
	return ok;
}

void
db_fail(struct webd *w, struct db_conn *c, struct resp *r)
{
	if (!c->timed_out) {
		resp_db_error(w, c, r);
		return;
	}
	WEBD_COUNT(w, WC_DB_TIMEOUT);
	LOG_RATELIMITED(log_warnx, "a request's SQL ran longer than"
	    " webd.sql_timeout: interrupted");
	resp_error(r, 503, "the query took longer than the server allows"
	    " (webd.sql_timeout): narrow the filters or the time range");
}
