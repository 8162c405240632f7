/*
 * evflow-webd: the REST API and the browser UI.
 *
 * Threads: libmicrohttpd runs its own pool of `webd.threads` threads and
 * calls http.c's handler on them; main.c's loop only refreshes the live
 * daemon statistics (live.c) and expires sessions.  Everything shared
 * between those threads is behind a mutex owned by its module (auth,
 * rate, live, db pool); the context struct itself is read-only after
 * set-up.
 */
#ifndef EVFLOW_WEBD_H
#define EVFLOW_WEBD_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "common/buf.h"
#include "common/config.h"

#define WEBD_PORT_DEFAULT	"3000"
#define WEBD_SESSION_MAX	256	/* concurrent sessions */
#define WEBD_SESSION_ID_LEN	64	/* hex characters */
#define WEBD_USER_LEN		64	/* bytes of a user or token name */
#define WEBD_RATE_KEY_LEN	72	/* bytes of a rate-limit key */
#define WEBD_DB_POOL_MAX	16	/* read-only connections */
#define WEBD_PAGE_MAX		1000	/* rows per page */

/* Settings, filled by the configuration table in main.c. */
struct webd_conf {
	char		datadir[CONF_STR_LEN];
	char		database[CONF_STR_LEN];
	char		name[CONF_STR_LEN];
	char		listen[CONF_STR_LEN];
	long long	port;
	long long	threads;
	long long	body_max;	/* bytes of a request body */
	long long	header_max;	/* bytes of a request's headers */
	long long	conn_max;	/* concurrent connections */
	long long	conn_per_ip;	/* concurrent connections per client */
	long long	request_timeout; /* seconds for a whole request */
	long long	idle_timeout;	/* seconds without traffic */
	char		hosts[CONF_STR_LEN];	/* Host allowlist, or "" */
	char		trusted_proxies[CONF_STR_LEN];
	char		tls_min[CONF_STR_LEN];	/* "1.2" or "1.3" */
	long long	rate;		/* requests per second per client, 0 off */
	long long	burst;		/* requests a client may burst */
	long long	login_rate;	/* login attempts per minute per client */
	long long	login_account_rate; /* login attempts per minute per
					    account name */
	long long	rate_clients;	/* keys each rate limit tracks */
	long long	sql_timeout;	/* milliseconds of SQL per request */
	long long	session_ttl;	/* seconds of idleness */
	long long	ctl_timeout;	/* milliseconds per control request */
	char		credentials[CONF_STR_LEN];
	char		port_file[CONF_STR_LEN];
	char		router[CONF_STR_LEN];	/* router instance name */
	char		tls_cert[CONF_STR_LEN];
	char		tls_key[CONF_STR_LEN];
	long long	log_level;
	/* the history's backend (webd/ch.h) */
	char		history[16];	/* sqlite or clickhouse */
	char		ch_shards[CONF_STR_LEN];
	char		ch_database[CONF_STR_LEN];
	char		ch_user[CONF_STR_LEN];
	long long	ch_timeout;	/* seconds per query */
};

/* Counters, rendered by /metrics and the `stats` view of webd itself. */
enum webd_counter {
	WC_REQUESTS,
	WC_RESP_2XX,
	WC_RESP_4XX,
	WC_RESP_5XX,
	WC_REJ_RATE,		/* 429 */
	WC_REJ_AUTH,		/* 401 */
	WC_REJ_CSRF,		/* 403, missing or wrong CSRF token */
	WC_REJ_FORBIDDEN,	/* 403, read-only token writing */
	WC_REJ_METHOD,		/* 405 */
	WC_REJ_TOO_LARGE,	/* 413 */
	WC_REJ_PARAM,		/* 400, bad query parameter or body */
	WC_REJ_NOT_FOUND,	/* 404 */
	WC_LOGIN_OK,
	WC_LOGIN_FAILED,
	WC_DB_ERRORS,
	WC_CTL_ERRORS,
	WC_REJ_HOST,		/* 421, Host not in webd.hosts */
	WC_REJ_FRAMING,		/* 400, ambiguous Content-Length/chunked */
	WC_CONN_TIMEOUT,	/* closed: request not complete in time */
	WC_CONN_REFUSED,	/* refused: address or total at its cap */
	WC_CONN_EVICTED,	/* closed: oldest waiting one, for a new one */
	WC_PROXY_FORWARDED,	/* X-Forwarded-* taken from a trusted proxy */
	WC_METRICS_CUT,		/* /metrics label values cut to fit */
	WC_DB_TIMEOUT,		/* 503, a request's SQL ran out of time */
	WC_REJ_LOGIN_ACCOUNT,	/* 429, an account's login limit */
	WC_RATE_EVICTED,	/* a rate bucket evicted before refilling */
	WC_BAD_UTF8,		/* invalid UTF-8 bytes from the database */
	WC_CONN_IDLE,		/* closed by webd.idle_timeout mid-request */
	WC_CH_LIST_RETRIES,	/* ClickHouse list: more candidates asked */
	WC_CH_LIST_FINAL,	/* ClickHouse list: answered with FINAL */
	WC_CH_SUMMARY_FINAL,	/* ClickHouse summary: read with FINAL */
	WC_COUNTER_MAX
};

struct webd_auth;
struct webd_rate;
struct webd_live;
struct webd_dbpool;
struct webd_conns;
struct http_names;
struct MHD_Daemon;
struct MHD_Connection;
struct sockaddr;

struct webd {
	struct webd_conf	 conf;
	struct webd_auth	*auth;
	struct webd_rate	*rate;
	struct webd_rate	*login_rate;
	struct webd_rate	*login_account;	/* per account name */
	struct webd_live	*live;
	struct webd_dbpool	*db;
	struct webd_ch		*ch;	/* webd.history = clickhouse, or NULL */
	struct MHD_Daemon	*mhd;
	struct webd_conns	*conns;	/* conns.c's connection table */
	struct http_names	*names;	/* webd.hosts, trusted_proxies */
	unsigned		 port;	/* bound port */
	int			 tls;
	char			*tls_cert_pem;
	char			*tls_key_pem;
	_Atomic uint64_t	 counters[WC_COUNTER_MAX];
	uint64_t		 ctr_snap[WC_COUNTER_MAX];	/* the loop's copy
							   for the stats frame */
};

extern const char *const webd_counter_names[WC_COUNTER_MAX];

#define WEBD_COUNT(w, c)	((w)->counters[(c)]++)

/* ---- http.c: the server, routing, responses */

/* Who made a request. */
enum auth_kind { AUTH_NONE = 0, AUTH_SESSION, AUTH_TOKEN };

struct req {
	const char	*method;
	const char	*url;
	const char	*path_arg;	/* text after a route's prefix, or NULL */
	struct MHD_Connection *conn;
	char		 client[64];	/* client address, text (the proxy's
					   X-Forwarded-For if trusted) */
	int		 secure;	/* TLS here or at a trusted proxy */
	enum auth_kind	 auth;
	char		 user[WEBD_USER_LEN];
	char		 session[WEBD_SESSION_ID_LEN + 1];
	char		 csrf[WEBD_SESSION_ID_LEN + 1];
	const char	*body;		/* NUL-terminated */
	size_t		 body_len;
};

struct resp {
	unsigned	 status;
	struct buf	 body;
	const char	*type;		/* Content-Type, default JSON */
	const void	*static_data;	/* if set, served instead of body */
	size_t		 static_len;
	char		 cookie[256];	/* Set-Cookie value, or "" */
	int		 cacheable;	/* static asset: may be cached */
	char		 allow[24];	/* a 405's Allow: the path's methods */
	unsigned	 retry_after;	/* a 429's Retry-After, seconds */
};

int	http_start(struct webd *, char *, size_t);
void	http_stop(struct webd *);
/* Sets an error response: {"error":{"code":status,"message":msg}}. */
void	resp_error(struct resp *, unsigned, const char *);
/* Parses a JSON request body; NULL (and a 400 in resp) if it is not an
 * object.  The caller frees the result with cJSON_Delete(). */
struct cJSON *req_json(struct req *, struct resp *);
struct query;
/* Feeds the URL's query parameters to q and checks them; 0, or -1 with
 * a 400 in resp. */
int	req_query(struct req *, struct query *, struct resp *);
/* Borrows a database connection; NULL with a 503 in resp. */
struct db_conn *req_db(struct webd *, struct resp *);
/* Sets a 500 for a failed statement (logged, not shown). */
void	resp_db_error(struct webd *, struct db_conn *, struct resp *);

/* ---- conns.c: the connection table (request timeout, caps) */

struct webd_conns *conns_new(size_t);
void	conns_free(struct webd_conns *);
/* MHD's accept policy: 1 if a connection from the address may be
 * accepted now, after shutting down the longest-waiting one at a cap. */
int	conns_admit(struct webd *, const struct sockaddr *);
/* MHD's start/close notifications: take and give back the connection's
 * slot (*sctx is MHD's socket context). */
void	conns_started(struct webd *, struct MHD_Connection *, void **);
void	conns_closed(struct webd *, void **);
/* The connection's request clock: 1 waiting for a request from now, 0
 * being answered. */
void	conns_waiting(struct webd *, struct MHD_Connection *, int);
/* Shuts down connections that waited longer than webd.request_timeout;
 * the main loop calls it once a second. */
void	conns_sweep(struct webd *);

/* ---- http_check.c: checks of what a client sends (no MHD; fuzzed) */

#define HTTP_LIST_MAX	32	/* entries of webd.hosts, trusted_proxies */

/* An address (IPv6, or IPv4 mapped into ::ffff:0:0/96) and a prefix. */
struct http_net {
	unsigned char	addr[16];
	unsigned	bits;
};

/* webd.hosts and webd.trusted_proxies, parsed. */
struct http_names {
	char		host[HTTP_LIST_MAX][CONF_STR_LEN];	/* lower case */
	unsigned	nhost;
	int		host_any;	/* "*" */
	int		host_ip_any;	/* wildcard listen: any IP literal */
	struct http_net	proxy[HTTP_LIST_MAX];
	unsigned	nproxy;
};

/* Fills n from the configuration (the default Host list if webd.hosts
 * is empty).  0, or -1 with err naming the key and the bad item. */
int	http_names_conf(struct http_names *, const struct webd_conf *,
	    char *, size_t);
/* 1 if a Host header value (name, IPv4 or [IPv6], optional :port) is
 * allowed: an entry without a port allows any port. */
int	http_host_allowed(const struct http_names *, const char *);
/* 1 if the raw URL, percent-decoded, is UTF-8 (no overlong forms, no
 * surrogates, at most U+10FFFF) without NUL. */
int	http_uri_ok(const char *);
/* Parses "addr" or "addr/bits"; 0 or -1. */
int	http_net_parse(struct http_net *, const char *);
int	http_net_match(const struct http_net *, const unsigned char[16]);
/* The 16-byte form of an AF_INET/AF_INET6 address; -1 (zeros) else. */
int	http_sa_addr(const struct sockaddr *, unsigned char[16]);
int	http_proxy_trusted(const struct http_names *, const unsigned char[16]);
/* Walks X-Forwarded-For from the right: the first address that is not
 * a trusted proxy is the client (into client); a malformed entry stops
 * the walk at the last good one.  1 if an address was taken. */
int	http_forwarded_for(const struct http_names *, const char *, char *,
	    size_t);
/* 1 if X-Forwarded-Proto's last value is https. */
int	http_forwarded_https(const char *);

/* ---- rate.c: token buckets per client address or account name */

/* rate tokens per second, burst, the most keys tracked, and a counter
 * bumped when a bucket that had not refilled is evicted (borrowed, may
 * be NULL).  rate 0: everything is allowed. */
struct webd_rate *rate_new(double, double, unsigned, _Atomic uint64_t *);
void	rate_free(struct webd_rate *);
/* 1 if `key` may make one more request of `cost` tokens now.  A key
 * that is an IPv6 address counts for its /64.  rate_allow_wait() also
 * says, when it refuses, in how many whole seconds (at least 1) the
 * bucket holds `cost` again: a 429's Retry-After. */
int	rate_allow(struct webd_rate *, const char *, double);
int	rate_allow_wait(struct webd_rate *, const char *, double, unsigned *);
/* The bucket key of a client address (IPv6: its /64, IPv4-mapped: the
 * IPv4 address; anything else unchanged). */
void	rate_key(const char *, char *, size_t);
/* The hash chain a key lands in (for the collision test). */
unsigned rate_slot(const struct webd_rate *, const char *);

/* ---- auth.c: credentials, sessions, CSRF, API tokens */

struct webd_auth *auth_new(const char *, long long, char *, size_t);
void	auth_free(struct webd_auth *);
/* Number of users with a password. */
int	auth_user_count(struct webd_auth *);
/* Sets USER's password (hashed).  0 or -1 with err. */
int	auth_set_password(struct webd_auth *, const char *, const char *,
	    char *, size_t);
/* Creates a read-only API token NAME; writes the secret (shown once)
 * into out.  0 or -1 with err. */
int	auth_add_token(struct webd_auth *, const char *, char *, size_t,
	    char *, size_t);
/* 1 if user/password are right. */
int	auth_check_password(struct webd_auth *, const char *, const char *);
/* 1 if the bearer secret is a known token; its name into name. */
int	auth_check_token(struct webd_auth *, const char *, char *, size_t);
/* Creates a session for user; id and CSRF token out.  0 or -1. */
int	auth_session_new(struct webd_auth *, const char *, char *, char *);
/* 1 if the session id is live (touches it); user and csrf out. */
int	auth_session_get(struct webd_auth *, const char *, char *, size_t,
	    char *, size_t);
void	auth_session_end(struct webd_auth *, const char *);
void	auth_expire(struct webd_auth *);
/* Appends one line per API token, "id<TAB>name<TAB>created\n"; the
 * count, or -1. */
int	auth_list_tokens(struct webd_auth *, struct buf *);
/* Deletes the token with this id (from auth_list_tokens) or name; the
 * running webd stops accepting it within a tick.  0 or -1 with err. */
int	auth_revoke_token(struct webd_auth *, const char *, char *, size_t);

/* ---- db.c: read-only connections to the flow database */

struct db_conn;
/* path, connections, milliseconds of SQL per request (0: no limit). */
struct webd_dbpool *db_pool_new(const char *, unsigned, long long);
void	db_pool_free(struct webd_dbpool *);
/* Borrows a connection (waits if all are busy); NULL if the database
 * cannot be opened (not created yet, unreadable).  Give it back with
 * db_put(), which also resets its statements. */
struct db_conn *db_get(struct webd_dbpool *);
void	db_put(struct webd_dbpool *, struct db_conn *);
sqlite3	*db_handle(struct db_conn *);
/* 1 if the connection's last statement was interrupted because the
 * request's time (webd.sql_timeout) ran out. */
int	db_timed_out(struct db_conn *);
/* Sets the response for a failed statement: a 503 (counted) if the
 * request's SQL time ran out, else resp_db_error()'s 500. */
void	db_fail(struct webd *, struct db_conn *, struct resp *);
/* Prepares `sql`, cached per connection: reset, bindings cleared.  The
 * statement is borrowed: never finalize it.  NULL on error (logged). */
sqlite3_stmt *db_prepare(struct db_conn *, const char *);
/* 1 if `table` (or view) exists in the database. */
int	db_has_table(struct db_conn *, const char *);

/* ---- live.c: the daemons' control sockets */

struct webd_live *live_new(const char *, const char *, int);
/* 1 if `s` may name a daemon instance. */
int	live_name_ok(const char *);
void	live_free(struct webd_live *);
/* Polls every <datadir>/ *.ctl for "stats"; called by the main loop. */
void	live_refresh(struct webd_live *);
/* Asks one daemon now (after a change it applied: what the next
 * request reads is its state after the change). */
void	live_refresh_one(struct webd_live *, const char *);
/* Appends member `key` of daemon `name`'s latest stats, or null. */
void	live_member_json(struct webd_live *, const char *, const char *,
	    struct buf *);
/* Appends the latest stats as a JSON array of the daemons' objects. */
void	live_json(struct webd_live *, struct buf *);
/* Sends `cmd` to daemon `name`'s control socket; reply into out.
 * 0 ok, 1 refused ("error: ..." reply, text after the prefix in out),
 * -1 unreachable. */
int	live_command(struct webd_live *, const char *, const char *,
	    struct buf *);

/* ---- api_*.c: handlers, all `void fn(struct webd *, struct req *,
 * struct resp *)` */

void	api_session(struct webd *, struct req *, struct resp *);
void	api_login(struct webd *, struct req *, struct resp *);
void	api_logout(struct webd *, struct req *, struct resp *);
void	api_flows(struct webd *, struct req *, struct resp *);
void	api_flow(struct webd *, struct req *, struct resp *);
void	api_ifaces(struct webd *, struct req *, struct resp *);
void	api_iface_set(struct webd *, struct req *, struct resp *);
void	api_processes(struct webd *, struct req *, struct resp *);
void	api_containers(struct webd *, struct req *, struct resp *);
void	api_listening(struct webd *, struct req *, struct resp *);
void	api_producers(struct webd *, struct req *, struct resp *);
void	api_ifcounters(struct webd *, struct req *, struct resp *);
void	api_daemons(struct webd *, struct req *, struct resp *);
void	api_summary(struct webd *, struct req *, struct resp *);
void	api_metrics(struct webd *, struct req *, struct resp *);
/* api_hosts.c: one host, the search box, the process tree */
void	api_host(struct webd *, struct req *, struct resp *);
void	api_search(struct webd *, struct req *, struct resp *);
void	api_process_tree(struct webd *, struct req *, struct resp *);

/* ---- json.c: rows as JSON, formatted by hand (the hot path) */

#define JSON_KEYS_MAX	128	/* columns of one statement */

/* A statement's column names rendered once as `"name":`. */
struct json_keys {
	struct buf	text;
	int		n;
	size_t		off[JSON_KEYS_MAX], len[JSON_KEYS_MAX];
	unsigned char	raw[JSON_KEYS_MAX];
};

/* Strings leave as valid UTF-8: invalid bytes become U+FFFD, bidi
 * controls and U+2028/9 are \u-escaped. */
void	json_str(struct buf *, const char *, size_t);
/* Appends JSON text made by SQLite as is, with json_str()'s UTF-8 rule. */
void	json_raw(struct buf *, const char *, size_t);
/* Invalid UTF-8 bytes replaced so far (all threads). */
uint64_t json_bad_utf8(void);
void	json_int(struct buf *, long long);
void	json_real(struct buf *, double);
/* Appends column i of the current row as a JSON value. */
void	json_col(struct buf *, sqlite3_stmt *, int);
/* SQL of a stored 0/1 (interfaces.mirrored) as JSON true/false (for a
 * j_ column), as the router's live table says it. */
#define MIRRORED_JSON(c) "CASE WHEN " c " IS NULL THEN 'null' WHEN " c \
	" THEN 'true' ELSE 'false' END"
/* Columns whose name starts with "_" are skipped; a column "j_x" holds
 * text made by SQLite's JSON functions, embedded as the value of "x". */
void	json_keys_init(struct json_keys *, sqlite3_stmt *);
void	json_keys_free(struct json_keys *);
/* Appends the current row as an object {"column": value, ...}. */
void	json_row_keys(struct buf *, sqlite3_stmt *, const struct json_keys *);
void	json_row(struct buf *, sqlite3_stmt *);
/* Runs a prepared statement and appends its rows as a JSON array.
 * Returns the row count or -1 on a database error. */
int	json_rows(struct buf *, sqlite3_stmt *);

/* ---- assets.c (generated from webd/ui/) */

struct asset {
	const char		*path;	/* "/app.js" */
	const char		*type;
	const unsigned char	*data;
	size_t			 len;
};
extern const struct asset webd_assets[];
extern const size_t webd_nassets;

#endif
