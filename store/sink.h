/*
 * Private to the store's two SQLite files: sqlite_sink.c (the
 * connection, transactions, the WAL, the small tables, retention's
 * deletes) and flow_rows.c (the flow rows and the process and container
 * rows they name).  Everyone else sees struct sink through store.h.
 */
#ifndef EVFLOW_STORE_SINK_H
#define EVFLOW_STORE_SINK_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include <sqlite3.h>

#include "store.h"

/*
 * A flow statement and what each of its parameters holds since the last
 * row.  SQLite keeps bindings across sqlite3_reset(), so a row binds
 * only the parameters that differ: most of a row's 57 are NULL or
 * repeat (the interface, the protocol, one process on thousands of
 * flows).  Measured (callgrind, bench_store): binding every parameter
 * was a quarter of the store's instructions per row.  Text is always
 * bound again: a SQLITE_STATIC pointer may point at new content.
 */
#define ROW_PARAMS	59	/* [0] unused, ?1 the id, then flow_cols */
enum { PV_UNSET, PV_NULL, PV_INT, PV_DOUBLE, PV_TEXT };
struct row {
	sqlite3_stmt	*s;
	int		 base;		/* parameter i of the row is s's
					   base + i (a row of a multi-row
					   INSERT: slot * (ROW_PARAMS - 1)) */
	uint8_t		 kind[ROW_PARAMS];
	int64_t		 v[ROW_PARAMS];	/* the integer, or the double's bits */
};

/*
 * New flows are inserted INS_GROUP rows per statement: SQLite's cost per
 * statement run (opening the table's and every index's cursor, the
 * transaction and schema checks, closing them) was about a quarter of
 * its cost per row.  Measured with callgrind on a 60-column table with
 * three indexes: 35,000 instructions per row one row per INSERT, 26,500
 * with 8 rows, 25,300 with 32.
 */
#define INS_GROUP	16

/* flow_rows.c's statements. */
struct flow_stmts {
	struct row	 ins, upd, nar;	/* INSERT, UPDATE, UPDATE without the
					   indexed columns */
	struct row	 insn[INS_GROUP]; /* the slots of the INS_GROUP-row
					   INSERT (one statement) */
	sqlite3_stmt	*proc, *cont;	/* INSERT of a process, a container */
};

enum stmt {
	ST_BEGIN, ST_COMMIT, ST_ROLLBACK,
	ST_IFACE_CLEAR, ST_IFACE_UPSERT, ST_IFACE_LOAD,
	ST_IFC_INSERT, ST_LISTEN_UPSERT, ST_PRODUCER_UPSERT,
	ST_COUNTER_UPSERT, ST_HISTORY_INSERT, ST_HOSTNAME_UPSERT,
	ST_MAX_ID, ST_MAX_REF,
	ST_MAX
};

/* Rows the loop wrote, as SQL text with their values bound
 * (sqlite3_expanded_sql()): what a failed transaction needs to write
 * them again.  Each string is SQLite's (sqlite3_free()). */
struct sink_rows {
	char		**sql;
	size_t		 n, cap;
	size_t		 bytes;
};

struct sink {
	pthread_mutex_t	 mu;
	atomic_uint	 waiting;	/* threads waiting in sink_lock() */
	sqlite3		*db;
	struct checkpointer *ck;
	struct ch_sink	*ch;		/* counter samples too, or NULL */
	sqlite3_stmt	*st[ST_MAX];
	struct flow_stmts rows;		/* flow_rows.c */
	int		 in_txn;
	/* The open transaction cannot commit: a statement in it failed for
	 * want of room, I/O, a lock or memory (sink_write_error()), or
	 * SQLite rolled it back by itself.  commit() rolls it back and
	 * fails, so the writer keeps its rows and tries again. */
	int		 txn_doomed;
	unsigned long	 txn_rows;
	unsigned long	 txn_other;	/* rows the loop wrote in it and
					   could not keep in cur: lost if it
					   fails */
	struct sink_rows cur;		/* the loop's rows in the open
					   transaction */
	struct sink_rows failed;	/* those of transactions that failed:
					   written again at the next BEGIN */
	size_t		 replay_max;	/* bytes failed may hold */
	unsigned long	 txn_loop_flows;	/* flow rows among them */
	unsigned long	 txn_vacuumed;	/* pages incremental_vacuum moved */
	char		 error[128];	/* the last failure, for status */
	/* Rows of the open transaction: counted in s when it commits (a
	 * retried row counts once). */
	struct {
		uint64_t rows_inserted, rows_updated, flows_written;
	}		 pend;
	int		 version;
	struct sink_stats s;
	long long	 page_size;
	long long	 wal_limit;	/* bytes; see wal_restart() */
	int		 wal_frames;	/* in the WAL after the last commit */
	uint64_t	 wal_retry_usec;	/* no restart before (monotonic) */
};

/* The mutex; sink_unlocked() releases it and returns rc. */
void	sink_lock(struct sink *);
void	sink_unlock(struct sink *);
int	sink_unlocked(struct sink *, int);
/* Opens a transaction unless one is open (the mutex held).  0 or -1. */
int	sink_txn(struct sink *);
/* Counts a failed statement (write_errors) and, if SQLite says it
 * failed for room, I/O, locks or memory, dooms the open transaction
 * (txn_doomed): the mutex held, right after the failing call. */
void	sink_write_error(struct sink *);

/* flow_rows.c: prepares and finalizes k->rows.  0 or -1 with err. */
int	flow_stmts_prepare(struct sink *, char *, size_t);
void	flow_stmts_finalize(struct sink *);

/* Binders shared by both files. */
/* Text of a bounded string, or NULL if empty. */
static inline void
bind_str(sqlite3_stmt *s, int i, const char *p, size_t n)
{
	size_t l = p ? strnlen(p, n) : 0;

	if (l == 0)
		sqlite3_bind_null(s, i);
	else
		sqlite3_bind_text(s, i, p, (int)l, SQLITE_STATIC);
}

static inline void
bind_u64(sqlite3_stmt *s, int i, uint64_t v)
{
	sqlite3_bind_int64(s, i, (sqlite3_int64)v);
}

/* NULL for 0: "unknown" for values where 0 is not a measurement. */
static inline void
bind_nz(sqlite3_stmt *s, int i, uint64_t v)
{
	if (v == 0)
		sqlite3_bind_null(s, i);
	else
		sqlite3_bind_int64(s, i, (sqlite3_int64)v);
}

static inline double
usec_to_sec(uint64_t u)
{
	return (double)(u / 1000000) + (double)(u % 1000000) / 1e6;
}

static inline int
nonzero16(const uint8_t *a)
{
	int i;

	for (i = 0; i < 16; i++)
		if (a[i])
			return 1;
	return 0;
}

#endif
