/*
 * Query parameters of the REST API, validated by one table per endpoint.
 *
 * Each endpoint declares a table of struct qp_def: the parameter's name,
 * its kind (how the text is checked and converted) and the SQL fragment
 * it adds to the WHERE clause.  Every `?` in a fragment is bound to the
 * parameter's converted value, so user text only ever reaches SQLite as
 * a bound value; column names and fragments come from the tables alone.
 * A parameter not in the table, a repeated parameter, or a value that
 * does not convert is refused with a message fit for the client.
 *
 * Sorting is a table too (struct qp_sort): `sort=NAME&order=asc|desc`
 * picks an expression; pagination is a keyset cursor on (expression,
 * id), so pages stay stable while new rows arrive.
 */
#ifndef EVFLOW_WEBD_QUERY_H
#define EVFLOW_WEBD_QUERY_H

#include <stddef.h>

#include <sqlite3.h>

#include "common/buf.h"

#define QP_VALUE_MAX	256	/* bytes of one parameter value */
/* Text sorts order by the first QP_CURSOR_TEXT_MAX bytes of the value
 * (then the id), which a cursor carries whole; encoded, a cursor is at
 * most QP_CURSOR_MAX characters. */
#define QP_CURSOR_TEXT_MAX	1024
#define QP_CURSOR_MAX	((QP_CURSOR_TEXT_MAX + 64) / 3 * 4 + 4)
#define QP_MAX		32	/* parameters in one request */
#define QP_ERR_LEN	160

enum qp_kind {
	QP_INT,		/* integer in [min, max] */
	QP_TEXT,	/* printable text, 1..max bytes */
	QP_WORD,	/* one of `words` (case-insensitive), bound as text */
	QP_PROTO,	/* tcp, udp, icmp, ... or 0..255, bound as integer */
	QP_ADDR,	/* IPv4/IPv6 address or CIDR, bound as canonical text */
	QP_TIME,	/* unix seconds (may be fractional), or -N = N s ago */
	QP_BOOL,	/* yes/no/1/0/true/false: picks sql or sql_false */
	QP_SORT,	/* a name from the sort table */
	QP_ORDER,	/* asc or desc */
	QP_LIMIT,	/* rows per page, 1..max */
	QP_CURSOR,	/* an opaque cursor from a previous page */
	QP_COMMUNITY_ID, /* "1:" + 28 base64 characters; a space is read
			    as the '+' a URL's query turned into one */
};

struct qp_def {
	const char	 *name;
	enum qp_kind	  kind;
	long long	  min, max;	/* QP_INT bounds; QP_TEXT, QP_LIMIT max */
	const char *const *words;	/* QP_WORD: NULL-terminated */
	const char	 *sql;		/* WHERE fragment; NULL = not a filter */
	const char	 *sql_false;	/* QP_BOOL: fragment for "no" */
	const char	 *sql_net;	/* QP_ADDR: fragment for a CIDR */
	const char	 *help;
};

enum qp_sort_type { QS_INT, QS_REAL, QS_TEXT };

struct qp_sort {
	const char	 *name;
	const char	 *expr;		/* SQL expression, never NULL-valued */
	enum qp_sort_type type;
};

struct qp_value {
	const struct qp_def *def;
	int		 is_int, is_real, is_net, truth;
	long long	 i;
	double		 r;
	char		 s[QP_VALUE_MAX];
};

struct query {
	const struct qp_def	*defs;
	const struct qp_sort	*sorts;
	unsigned		 n;
	struct qp_value		 v[QP_MAX];
	const struct qp_sort	*sort;		/* chosen or default */
	int			 desc;
	long long		 limit;
	int			 has_cursor;
	char			 cursor[QP_CURSOR_MAX + 1];	/* as given */
	struct qp_value		 cur_val;	/* cursor's sort value */
	char			 cur_text[QP_CURSOR_TEXT_MAX + 1];
					/* a text sort value (QS_TEXT) */
	size_t			 cur_text_len;
	long long		 cur_id;
	int			 nbind;
};

/* Starts a query for an endpoint's tables; `sorts` may be NULL.  The
 * first sort entry is the default, descending; limit default `limit`. */
void	query_init(struct query *, const struct qp_def *,
	    const struct qp_sort *, long long);
/* Takes one decoded parameter.  0, or -1 with a client message. */
int	query_arg(struct query *, const char *, const char *, char *, size_t);
/* Splits and percent-decodes a raw query string ("a=1&b=x%20y") and
 * feeds each pair to query_arg().  0 or -1 with a message. */
int	query_parse_string(struct query *, const char *, size_t, char *,
	    size_t);
/* Checks what needs every parameter (the cursor against the sort).
 * Call after the last query_arg().  0 or -1 with a message. */
int	query_finish(struct query *, char *, size_t);
/* The value of parameter `name`, or NULL if absent. */
const struct qp_value *query_get(const struct query *, const char *);

/* Appends " AND frag" for every filter parameter, with `?` rewritten
 * to numbered parameters; records the bind count. */
void	query_where(struct query *, struct buf *);
/* Appends the keyset condition (" AND (...)") if a cursor was given,
 * using `id_expr` as the tie breaker. */
void	query_keyset(struct query *, struct buf *, const char *);
/* Appends " ORDER BY expr dir, id dir LIMIT n+1" (pages: the extra row
 * says a next page exists; the caller shows `limit` rows). */
void	query_order(struct query *, struct buf *, const char *);
/* The same with " LIMIT n": for answers without pages. */
void	query_order_all(struct query *, struct buf *, const char *);
/* Binds every parameter appended by query_where/query_keyset, in the
 * same order.  0 or -1. */
int	query_bind(const struct query *, sqlite3_stmt *);
/* Writes the cursor for a row whose sort value is column `col` of `st`
 * and whose id is `id`, as a JSON string into b. */
void	query_cursor_json(const struct query *, sqlite3_stmt *, int,
	    long long, struct buf *);

/* The same cursor from the sort value as text (the ClickHouse history,
 * webd/ch.h): QS_REAL text is read and written as query_cursor_json()
 * does, so both backends give the same cursor for the same row. */
void	query_cursor_text(const struct query *, const char *, long long,
	    struct buf *);

/* Canonical text of an address ("::ffff:1.2.3.4" -> "1.2.3.4") or CIDR
 * (host bits cleared).  Sets *is_net.  0 or -1. */
int	query_addr_canon(const char *, char *, size_t, int *);
/* Registers cidr_match(addr, cidr), proc_match(path, name) and
 * name_match(name, domain) on db. */
int	query_register_functions(sqlite3 *);

/* params.c: the endpoints' tables. */
extern const struct qp_def flow_params[];
extern const struct qp_sort flow_sorts[];
extern const struct qp_def group_params[];
extern const struct qp_sort process_sorts[];
extern const struct qp_sort container_sorts[];
extern const struct qp_def listen_params[];
extern const struct qp_sort listen_sorts[];
extern const struct qp_def ifcounter_params[];
extern const struct qp_def summary_params[];
extern const struct qp_def none_params[];
/* Bounds of /api/v1/search and /api/v1/processes/tree (api_hosts.c). */
#define SEARCH_TEXT_MAX		128	/* bytes of a search text */
#define SEARCH_LIMIT_DEFAULT	8	/* results per kind */
#define SEARCH_LIMIT_MAX	50
#define TREE_LIMIT_DEFAULT	500	/* processes in a tree */
#define TREE_LIMIT_MAX		5000
extern const struct qp_def host_params[];
extern const struct qp_def search_params[];
extern const struct qp_def tree_params[];

#endif
