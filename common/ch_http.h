/*
 * A small HTTP/1.1 client for ClickHouse's HTTP interface: one request
 * per connection (Connection: close), a deadline for the whole
 * exchange, the response body bounded.  The store sends its batches
 * with it (store/clickhouse.c) and webd reads history (webd/ch_*.c).
 * Blocking: the caller's thread waits, at most `timeout_ms`.
 */
#ifndef EVFLOW_CH_HTTP_H
#define EVFLOW_CH_HTTP_H

#include <stddef.h>

#include "buf.h"

#define CH_SHARDS_MAX	16	/* endpoints in clickhouse_shards */
#define CH_HOST_LEN	128
#define CH_NAME_LEN	64	/* a database or user name */

struct ch_endpoint {
	char		host[CH_HOST_LEN];
	unsigned	port;
};

/* Parses "host:port[,host:port...]" (IPv6 as [addr]:port) into at most
 * `max` endpoints.  Returns how many, or -1 with err. */
int	ch_endpoints_parse(const char *, struct ch_endpoint *, int, char *,
	    size_t);
/* 1 if `s` is a plain name (letters, digits, _), usable unquoted. */
int	ch_name_ok(const char *);

/*
 * Runs `query` on endpoint e (database `db`, user `user`, "" for the
 * server's defaults).  With `body` (INSERT ... FORMAT RowBinary, say)
 * the query goes in the URL and `body` is the data; without, the query
 * is the request body.  The response body goes into `out` (at most
 * `max` bytes; more is an error).  Returns the HTTP status (200 is
 * success; ClickHouse says why in the body otherwise), or -1 if no
 * answer came within timeout_ms, with the reason in err.
 */
int	ch_http_query(const struct ch_endpoint *, const char *, const char *,
	    const char *, const void *, size_t, int, struct buf *, size_t,
	    char *, size_t);

/* Parses a whole HTTP/1.x response p[0..n) (modified: the headers are
 * cut; a chunked body is decoded in place) and puts its body, at most
 * `max` bytes, in `out`.  Returns the status, or -1 with err. */
int	ch_http_response(char *, size_t, struct buf *, size_t, char *,
	    size_t);

/* Appends `s` as a ClickHouse string literal ('...' with \ escapes). */
void	ch_quote(struct buf *, const char *, size_t);

#endif
