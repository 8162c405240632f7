/*
 * webd's history in ClickHouse (webd.history = clickhouse): the flows
 * list with its filters, sorts and cursors, one flow, and the
 * dashboard's flow aggregates read the store's ClickHouse tables
 * (docs/clickhouse.md) instead of SQLite, with the same API.  The
 * small tables (interfaces, counters, producers, ...) stay in SQLite.
 *
 *   ch_query.c   the connection settings, running a query, its
 *                TabSeparatedWithNamesAndTypes answer as JSON, and the
 *                query parameters rendered as ClickHouse SQL (values
 *                as literals: the HTTP interface of the server Debian
 *                ships has no bound parameters)
 *   ch_answer.c  the answer (TabSeparatedWithNamesAndTypes) parsed,
 *                and rows as JSON (no database, no network: fuzzed)
 *   api_ch.c     the endpoints
 */
#ifndef EVFLOW_WEBD_CH_H
#define EVFLOW_WEBD_CH_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/ch_http.h"

struct webd;
struct req;
struct resp;
struct query;

#define CH_COLS_MAX	160

struct webd_ch {
	struct ch_endpoint ep[CH_SHARDS_MAX];	/* tried in order */
	int		 nep;
	char		 database[CH_NAME_LEN];
	char		 user[CH_NAME_LEN];
	int		 timeout_ms;
	size_t		 resp_max;	/* bytes of an answer */
};

/* A parsed answer: rows of `ncol` cells, each a NUL-terminated,
 * unescaped string into `data` or NULL for \N. */
struct ch_result {
	struct buf	 data;
	int		 ncol;
	const char	*name[CH_COLS_MAX];
	const char	*type[CH_COLS_MAX];
	char		**cell;		/* nrow * ncol */
	size_t		 nrow;
};

/* What the ClickHouse rows name and SQLite holds: interface ids to
 * names (the interfaces table), and addresses to the names the capture
 * saw (host_names; a statement on a connection held until
 * ch_ifaces_free()). */
struct db_conn;
struct ch_ifaces {
	int64_t		*id;
	char		**name;
	size_t		 n;
	struct webd	*w;
	struct db_conn	*conn;
	struct sqlite3_stmt *host;	/* NULL: names are null */
};

struct webd_ch *ch_new(const char *, const char *, const char *, int,
	    char *, size_t);
void	ch_free(struct webd_ch *);

/* Runs `sql` (without FORMAT) and parses the answer.  0, or -1 with
 * err (no server answered, or it refused the query). */
int	ch_select(struct webd_ch *, const char *, struct ch_result *, char *,
	    size_t);
void	ch_result_free(struct ch_result *);
/* Parses res->data (an answer, NUL-terminated as struct buf keeps it)
 * in place into res's names, types and cells.  0, or -1 with err. */
int	ch_result_parse(struct ch_result *, char *, size_t);
/* Appends row i as a JSON object; a column named "iface" holding an
 * interface id is written as its name, "cli_name" and "srv_name"
 * holding an address as the host name SQLite knows for it; names
 * starting with '_' are left out. */
void	ch_row_json(struct buf *, const struct ch_result *, size_t,
	    const struct ch_ifaces *);
/* One cell as JSON by its type: integers as they are, floats as
 * json_real(), strings as json_str(), \N as null. */
void	ch_cell_json(struct buf *, const char *, const char *);
/* Appends every row as a JSON array; rows whose "iface" id has no name
 * are left out when `join` (SQLite's JOIN interfaces). */
void	ch_rows_json(struct buf *, const struct ch_result *,
	    const struct ch_ifaces *, int);

/* The host name SQLite knows for an address, as JSON (null if none). */
void	ch_host_json(struct buf *, const struct ch_ifaces *, const char *);
/* Loads the interfaces from SQLite.  0 or -1. */
int	ch_ifaces_load(struct webd *, struct ch_ifaces *);
void	ch_ifaces_free(struct ch_ifaces *);

/* The filters of q as " AND ..." in ClickHouse SQL; -1 with a client
 * message if a parameter has no ClickHouse form. */
int	ch_where(const struct query *, const struct ch_ifaces *, double,
	    struct buf *, char *, size_t);
/* The keyset condition and ORDER BY ... LIMIT of q (id tie breaker). */
void	ch_keyset(const struct query *, const char *, struct buf *);
void	ch_order(const struct query *, const char *, struct buf *);
/* Appends q's sort expression in ClickHouse SQL. */
void	ch_sort_expr(const struct query *, struct buf *);
/* A double as an exact ClickHouse expression. */
void	ch_real(struct buf *, double);

/* api_ch.c */
void	api_ch_flows(struct webd *, struct req *, struct resp *);
void	api_ch_flow(struct webd *, struct req *, struct resp *);
void	api_ch_summary(struct webd *, struct req *, struct resp *);

#endif
