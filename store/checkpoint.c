/*
 * The checkpointer: a thread with its own SQLite connection that copies
 * the WAL into the database file once a second (PASSIVE: it never
 * blocks the writer or readers).  The writer's automatic checkpoint is
 * turned off by the sink, because it runs inside COMMIT and its I/O and
 * fsync stalled the store's loop long enough for upstream sends to
 * time out (now the writer thread commits, but a checkpoint inside it
 * would still hold the sink's mutex the loop needs).  It shares nothing
 * with the loop or the writer but the stop flag (SQLite does the file
 * locking).
 * The WAL starts over only when a write begins after a checkpoint that
 * copied every frame: under a sustained load (a commit every ~70 ms at
 * 150k rows/s) these PASSIVE checkpoints never catch up, so the writer
 * restarts the WAL itself when it grows past a limit (sqlite_sink.c,
 * wal_restart()); what is left to copy then is what came since the
 * last pass here.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "../common/log.h"
#include "store.h"

#define CKPT_PERIOD_SEC	1

struct checkpointer {
	pthread_t	 tid;
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	int		 stop;
	char		*path;
};

static void *
ckpt_main(void *arg)
{
	struct checkpointer *c = arg;
	struct timespec ts;
	sqlite3 *db = NULL;

	if (sqlite3_open_v2(c->path, &db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		log_warnx("checkpointer: %s: %s", c->path, db ?
		    sqlite3_errmsg(db) : "cannot open");
		sqlite3_close(db);
		return NULL;
	}
	sqlite3_busy_timeout(db, 100);
	/* A connection learns that the file is in WAL mode on its first
	 * read; until then sqlite3_wal_checkpoint_v2() succeeds doing
	 * nothing (log and checkpointed -1): the WAL grew without end. */
	if (sqlite3_exec(db, "SELECT count(*) FROM sqlite_master", NULL, NULL,
	    NULL) != SQLITE_OK)
		log_warnx("checkpointer: %s: %s", c->path, sqlite3_errmsg(db));
	pthread_mutex_lock(&c->mu);
	while (!c->stop) {
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += CKPT_PERIOD_SEC;
		(void)pthread_cond_timedwait(&c->cv, &c->mu, &ts);
		if (c->stop)
			break;
		pthread_mutex_unlock(&c->mu);
		(void)sqlite3_wal_checkpoint_v2(db, NULL,
		    SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
		pthread_mutex_lock(&c->mu);
	}
	pthread_mutex_unlock(&c->mu);
	sqlite3_close(db);
	return NULL;
}

struct checkpointer *
ckpt_start(const char *path)
{
	struct checkpointer *c;
	sigset_t all, old;
	int rc;

	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->path = strdup(path)) == NULL) {
		free(c);
		return NULL;
	}
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->cv, NULL);
	/* Signals go to the loop's thread, whose poll() they wake. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&c->tid, NULL, ckpt_main, c);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		pthread_mutex_destroy(&c->mu);
		pthread_cond_destroy(&c->cv);
		free(c->path);
		free(c);
		return NULL;
	}
	(void)pthread_setname_np(c->tid, "store-ckpt");
	return c;
}

void
ckpt_stop(struct checkpointer *c)
{
	if (c == NULL)
		return;
	pthread_mutex_lock(&c->mu);
	c->stop = 1;
	pthread_cond_signal(&c->cv);
	pthread_mutex_unlock(&c->mu);
	pthread_join(c->tid, NULL);
	pthread_mutex_destroy(&c->mu);
	pthread_cond_destroy(&c->cv);
	free(c->path);
	free(c);
}
