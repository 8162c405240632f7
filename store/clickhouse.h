/*
 * The store's ClickHouse sink: flow rows, the process and container
 * rows they name, and counter samples, sent to ClickHouse's HTTP
 * interface in RowBinary batches, besides SQLite (store.sink = both)
 * or instead of it for the flows (store.sink = clickhouse; the small
 * tables stay in SQLite).  See docs/clickhouse.md.
 *
 *   clickhouse.c       the queues, the sender thread, retry, schema,
 *                      retention, counters
 *   clickhouse_rows.c  RowBinary encoding of each table's rows
 *
 * Rows are encoded in the caller's thread (the writer thread for
 * flows, the loop for counters) into a per-shard, per-table chunk
 * while their interned values are pinned, and the sender thread posts
 * sealed chunks to their shard's local table, oldest first.  A flow
 * goes to shard id % shards, every version of it alike, so a
 * ReplacingMergeTree on its shard keeps the last.  Memory is bounded
 * (store.clickhouse_max_memory): a row that does not fit is dropped
 * and counted.  A failed insert is retried with back-off for
 * store.clickhouse_retry_time, then dropped and counted:
 *   rows_offered = rows_sent + rows_dropped + rows_pending
 * (clickhouse_rows, _sent, _dropped, _pending in the store's stats).
 */
#ifndef EVFLOW_STORE_CLICKHOUSE_H
#define EVFLOW_STORE_CLICKHOUSE_H

#include <stddef.h>
#include <stdint.h>

#include "../common/buf.h"
#include "../common/ch_http.h"
#include "../common/config.h"

struct flow_row;

/* Settings (store main.c's table; clickhouse_* are global keys). */
struct ch_conf {
	char		shards[CONF_STR_LEN];	/* host:port,... (HTTP) */
	char		database[CONF_STR_LEN];
	char		cluster[CONF_STR_LEN];	/* remote_servers name */
	char		user[CONF_STR_LEN];
	long long	max_memory;	/* bytes of queued rows */
	long long	batch_bytes;	/* bytes per insert, at most */
	long long	flush_sec;	/* a partial batch waits at most */
	long long	retry_time;	/* seconds a batch is retried */
	long long	timeout_sec;	/* per request */
	long long	retention;	/* seconds (store.retention), 0 = all */
};

enum ch_table { CH_T_FLOWS, CH_T_PROCS, CH_T_CONTS, CH_T_COUNTERS,
	CH_T_MAX };

struct ch_stats {
	uint64_t	rows_offered;	/* handed to the sink */
	uint64_t	rows_sent;	/* inserted (HTTP 200) */
	uint64_t	rows_dropped;	/* lost: no memory, or retries ran out */
	uint64_t	rows_dropped_memory;
	uint64_t	rows_pending;	/* gauge: queued, not yet sent */
	uint64_t	bytes_pending;	/* gauge: their memory */
	uint64_t	inserts;	/* requests that succeeded */
	uint64_t	insert_errors;	/* requests that failed (retried) */
	uint64_t	partitions_dropped;	/* retention */
	uint64_t	shards_down;	/* gauge: shards whose last try failed */
};

struct ch_sink;

/* Parses the settings and starts the sender thread (it creates the
 * schema on each shard when it first reaches it).  NULL with err. */
struct ch_sink *ch_open(const struct ch_conf *, char *, size_t);
/* Sends what is queued (waiting at most store.clickhouse_retry_time,
 * or `wait_ms` if smaller; what is left is counted as dropped), stops
 * the thread, frees. */
void	ch_close(struct ch_sink *, int);
/* Encodes n flow rows (and the process and container rows they are
 * first to name) into the shards' batches.  Any thread. */
void	ch_write_flows(struct ch_sink *, const struct flow_row *, size_t);
/* One counter sample (table counters).  Any thread. */
void	ch_counter(struct ch_sink *, const char *, const char *,
	    const char *, uint64_t, double);
/* Seals the open batches so the thread sends them now. */
void	ch_flush(struct ch_sink *);
/* Waits until nothing is pending or `ms` passed: 0 if all sent. */
int	ch_sync(struct ch_sink *, int);
void	ch_stats(struct ch_sink *, struct ch_stats *);
/*
 * The highest flow, process and container ids over every shard (the
 * Distributed tables), for a store that keeps its flows in ClickHouse
 * alone: ids must not start again at 1.  0, or -1 with err if a shard
 * does not answer.
 */
int	ch_max_ids(struct ch_sink *, uint64_t *, int64_t *, char *, size_t);

/* clickhouse_rows.c: the tables' columns and encoders. */
struct ch_col {
	const char	*name;
	const char	*type;
};
extern const struct ch_col ch_flow_cols[];
extern const struct ch_col ch_proc_cols[];
extern const struct ch_col ch_cont_cols[];
extern const struct ch_col ch_counter_cols[];
/* Appends one row of each table in RowBinary (`ver`: the flow row's
 * version, increasing per flow). */
void	ch_enc_flow(struct buf *, const struct flow_row *, uint64_t);
void	ch_enc_proc(struct buf *, int64_t, const void *);
void	ch_enc_cont(struct buf *, int64_t, const void *);
void	ch_enc_counter(struct buf *, const char *, const char *,
	    const char *, uint64_t, double);
/* Upper bound of the bytes ch_enc_flow() appends, fresh refs included. */
size_t	ch_flow_row_max(void);

#endif
