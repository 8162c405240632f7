/*
 * The HTTP server: libmicrohttpd with its own thread pool, a routing
 * table, authentication and CSRF checks, limits, and the response
 * helpers every handler uses.
 *
 * Request life (the usual two-call pattern, so that keep-alive works):
 * the URI log callback allocates a struct reqctx once the request line
 * is in; the handler's first call (headers in) makes the checks below
 * and refuses an announced oversized body; the following calls
 * consume the upload into the context (up to webd.body_max, then only
 * counted); the last call (*upload_data_size == 0) routes the request
 * and queues exactly one response.  Refusals are JSON errors
 * {"error":{"code":N,"message":"..."}} with fixed messages: nothing
 * from SQLite, the file system or a daemon's internals reaches a client,
 * except a daemon's refusal text for a settings change, which is meant
 * for the operator.
 *
 * Before a handler sees a request (the URI log callback and the first
 * call): the raw URI must decode to UTF-8 without NUL, the Host must be
 * in webd.hosts (DNS rebinding), the headers within webd.header_max,
 * and the framing unambiguous (one Content-Length, or chunked alone).
 *
 * Connections: conns.c's table (request timeout, caps); this file
 * tells it when a request is complete (conns_waiting).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <cJSON.h>
#include <microhttpd.h>
#include <sodium.h>

#include "common/log.h"
#include "query.h"
#include "webd.h"

#define SESSION_COOKIE	"evflow_session"

/* What a route needs from the client. */
enum need {
	NEED_NONE,	/* anyone (login, static files) */
	NEED_READ,	/* a session or an API token */
	NEED_WRITE,	/* a session and its CSRF token; tokens are read-only */
};

struct route {
	const char	*method;
	const char	*path;
	int		 prefix;	/* path is a prefix; rest is path_arg */
	enum need	 need;
	void		(*fn)(struct webd *, struct req *, struct resp *);
};

static const struct route routes[] = {
	{ "GET",  "/api/v1/session",		0, NEED_NONE,	api_session },
	{ "POST", "/api/v1/login",		0, NEED_NONE,	api_login },
	{ "POST", "/api/v1/logout",		0, NEED_WRITE,	api_logout },
	{ "GET",  "/api/v1/flows",		0, NEED_READ,	api_flows },
	{ "GET",  "/api/v1/flows/",		1, NEED_READ,	api_flow },
	{ "GET",  "/api/v1/interfaces",		0, NEED_READ,	api_ifaces },
	{ "POST", "/api/v1/interfaces/settings", 0, NEED_WRITE,	api_iface_set },
	{ "GET",  "/api/v1/processes",		0, NEED_READ,	api_processes },
	{ "GET",  "/api/v1/processes/tree",	0, NEED_READ,	api_process_tree },
	{ "GET",  "/api/v1/hosts/",		1, NEED_READ,	api_host },
	{ "GET",  "/api/v1/search",		0, NEED_READ,	api_search },
	{ "GET",  "/api/v1/containers",		0, NEED_READ,	api_containers },
	{ "GET",  "/api/v1/listening",		0, NEED_READ,	api_listening },
	{ "GET",  "/api/v1/producers",		0, NEED_READ,	api_producers },
	{ "GET",  "/api/v1/ifcounters",		0, NEED_READ,	api_ifcounters },
	{ "GET",  "/api/v1/daemons",		0, NEED_READ,	api_daemons },
	{ "GET",  "/api/v1/summary",		0, NEED_READ,	api_summary },
	{ "GET",  "/metrics",			0, NEED_READ,	api_metrics },
	{ NULL, NULL, 0, NEED_NONE, NULL }
};

/* Per-request state across the handler's calls; made by the URI log
 * callback (http_uri), freed by http_completed. */
struct reqctx {
	struct buf	body;
	int		too_large;
	int		started;	/* the handler's first call is done */
	int		bad_uri;	/* NUL or invalid UTF-8 in the URI */
	int		secure;
	char		client[64];
};

static const char csp[] =
	"default-src 'none'; script-src 'self'; style-src 'self'; "
	"img-src 'self' data:; connect-src 'self'; font-src 'self'; "
	"base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

void
resp_error(struct resp *r, unsigned status, const char *msg)
{
	r->status = status;
	r->type = "application/json";
	r->static_data = NULL;
	buf_reset(&r->body);
	buf_printf(&r->body, "{\"error\":{\"code\":%u,\"message\":", status);
	buf_json_str(&r->body, msg);
	buf_puts(&r->body, "}}");
}

struct cJSON *
req_json(struct req *q, struct resp *r)
{
	cJSON *j;

	if (q->body == NULL || q->body_len == 0 ||
	    (j = cJSON_ParseWithLength(q->body, q->body_len)) == NULL) {
		resp_error(r, 400, "the request body must be a JSON object");
		return NULL;
	}
	if (!cJSON_IsObject(j)) {
		cJSON_Delete(j);
		resp_error(r, 400, "the request body must be a JSON object");
		return NULL;
	}
	return j;
}

struct query_iter {
	struct query	*q;
	char		 err[QP_ERR_LEN];
	int		 failed;
};

static enum MHD_Result
query_iter_cb(void *cls, enum MHD_ValueKind kind, const char *key,
    const char *value)
{
	struct query_iter *it = cls;

	(void)kind;
	if (it->failed)
		return MHD_NO;
	if (query_arg(it->q, key, value, it->err, sizeof(it->err)) == -1) {
		it->failed = 1;
		return MHD_NO;
	}
	return MHD_YES;
}

int
req_query(struct req *q, struct query *qy, struct resp *r)
{
	struct query_iter it;

	memset(&it, 0, sizeof(it));
	it.q = qy;
	(void)MHD_get_connection_values(q->conn, MHD_GET_ARGUMENT_KIND,
	    query_iter_cb, &it);
	if (!it.failed && query_finish(qy, it.err, sizeof(it.err)) == -1)
		it.failed = 1;
	if (it.failed) {
		resp_error(r, 400, it.err);
		return -1;
	}
	return 0;
}

struct db_conn *
req_db(struct webd *w, struct resp *r)
{
	struct db_conn *c;

	if ((c = db_get(w->db)) == NULL) {
		WEBD_COUNT(w, WC_DB_ERRORS);
		resp_error(r, 503, "the flow database is not available yet");
	}
	return c;
}

void
resp_db_error(struct webd *w, struct db_conn *c, struct resp *r)
{
	WEBD_COUNT(w, WC_DB_ERRORS);
	LOG_RATELIMITED(log_warnx, "database: %s",
	    sqlite3_errmsg(db_handle(c)));
	resp_error(r, 500, "database error");
}

/* Finds the static asset for a GET path ("/" is the UI's page). */
static const struct asset *
http_asset(const char *url)
{
	size_t i;

	if (strcmp(url, "/") == 0 || strcmp(url, "/login") == 0)
		url = "/index.html";
	for (i = 0; i < webd_nassets; i++)
		if (strcmp(webd_assets[i].path, url) == 0)
			return &webd_assets[i];
	return NULL;
}

/* The peer's address as text and in 16-byte form; "?" if unknown. */
static void
http_peer(struct MHD_Connection *c, char *out, size_t len,
    unsigned char a[16])
{
	const union MHD_ConnectionInfo *ci;
	const struct sockaddr *sa;

	snprintf(out, len, "?");
	memset(a, 0, 16);
	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ci == NULL || (sa = ci->client_addr) == NULL)
		return;
	(void)http_sa_addr(sa, a);
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)
		    (const void *)sa)->sin_addr, out, (socklen_t)len);
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)
		    (const void *)sa)->sin6_addr, out, (socklen_t)len);
}

/* Who is asking, and over what: the peer, or, if the peer is a trusted
 * proxy, what its X-Forwarded-For and X-Forwarded-Proto say. */
static void
http_client(struct webd *w, struct MHD_Connection *c, struct reqctx *ctx)
{
	const struct http_names *nm = w->names;
	const char *xff, *xfp;
	unsigned char a[16];

	ctx->secure = w->tls;
	http_peer(c, ctx->client, sizeof(ctx->client), a);
	if (nm->nproxy == 0 || !http_proxy_trusted(nm, a))
		return;
	xfp = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    "X-Forwarded-Proto");
	xff = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    "X-Forwarded-For");
	if (xfp == NULL && xff == NULL)
		return;
	WEBD_COUNT(w, WC_PROXY_FORWARDED);
	if (xfp != NULL)
		ctx->secure = http_forwarded_https(xfp);
	if (xff != NULL)
		(void)http_forwarded_for(nm, xff, ctx->client,
		    sizeof(ctx->client));
}

/* Establishes who is asking: an API token or a session cookie.  On a
 * session, writes its CSRF token into csrf. */
static void
http_authenticate(struct webd *w, struct req *q)
{
	const char *h, *cookie;

	h = MHD_lookup_connection_value(q->conn, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_AUTHORIZATION);
	if (h != NULL && strncasecmp(h, "Bearer ", 7) == 0) {
		if (auth_check_token(w->auth, h + 7, q->user, sizeof(q->user)))
			q->auth = AUTH_TOKEN;
		return;
	}
	cookie = MHD_lookup_connection_value(q->conn, MHD_COOKIE_KIND,
	    SESSION_COOKIE);
	if (cookie != NULL && auth_session_get(w->auth, cookie, q->user,
	    sizeof(q->user), q->csrf, sizeof(q->csrf))) {
		q->auth = AUTH_SESSION;
		snprintf(q->session, sizeof(q->session), "%s", cookie);
	}
}

/* A browser names the page that sent a POST in Origin: it must be this
 * server (scheme and Host).  Requests without Origin (scripts, curl)
 * pass; they still need a session and its CSRF token, or a token. */
static int
http_same_origin(struct webd *w, struct req *q)
{
	const char *origin, *host, *rest;
	size_t n;

	origin = MHD_lookup_connection_value(q->conn, MHD_HEADER_KIND,
	    "Origin");
	if (origin == NULL)
		return 1;
	host = MHD_lookup_connection_value(q->conn, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_HOST);
	if (host == NULL)
		return 0;
	(void)w;
	rest = q->secure ? "https://" : "http://";
	n = strlen(rest);
	if (strncmp(origin, rest, n) != 0)
		return 0;
	return strcmp(origin + n, host) == 0;
}

/* The methods the routes of `url` answer, as a 405's Allow (GET
 * brings HEAD). */
static void
http_allow(const char *url, struct resp *r)
{
	const struct route *rt;
	size_t plen;
	int get = 0, post = 0;

	for (rt = routes; rt->path != NULL; rt++) {
		plen = strlen(rt->path);
		if (rt->prefix ? strncmp(url, rt->path, plen) != 0 ||
		    url[plen] == '\0' : strcmp(url, rt->path) != 0)
			continue;
		get |= strcmp(rt->method, "GET") == 0;
		post |= strcmp(rt->method, "POST") == 0;
	}
	snprintf(r->allow, sizeof(r->allow), "%s%s%s", get ? "GET, HEAD" : "",
	    get && post ? ", " : "", post ? "POST" : "");
}

/* Routes a complete request; fills r. */
static void
http_route(struct webd *w, struct req *q, struct resp *r)
{
	const struct route *rt, *match = NULL;
	const struct asset *a;
	const char *method, *h;
	int path_known = 0;
	size_t plen;

	method = strcmp(q->method, "HEAD") == 0 ? "GET" : q->method;
	for (rt = routes; rt->path != NULL; rt++) {
		plen = strlen(rt->path);
		if (rt->prefix ? strncmp(q->url, rt->path, plen) != 0 ||
		    q->url[plen] == '\0' : strcmp(q->url, rt->path) != 0)
			continue;
		path_known = 1;
		if (strcmp(rt->method, method) == 0) {
			match = rt;
			break;
		}
	}
	if (match == NULL) {
		if (path_known) {
			WEBD_COUNT(w, WC_REJ_METHOD);
			resp_error(r, 405, "method not allowed");
			http_allow(q->url, r);
			return;
		}
		if (strcmp(method, "GET") == 0 && (a = http_asset(q->url)) !=
		    NULL) {
			r->status = 200;
			r->type = a->type;
			r->static_data = a->data;
			r->static_len = a->len;
			r->cacheable = 1;
			return;
		}
		if (strcmp(method, "GET") != 0 && strcmp(method, "POST") != 0) {
			WEBD_COUNT(w, WC_REJ_METHOD);
			resp_error(r, 405, "method not allowed");
			/* A page of the UI is GET only; a path that names
			 * nothing gets what the server answers at all. */
			snprintf(r->allow, sizeof(r->allow), "%s",
			    http_asset(q->url) != NULL ? "GET, HEAD" :
			    "GET, HEAD, POST");
			return;
		}
		WEBD_COUNT(w, WC_REJ_NOT_FOUND);
		resp_error(r, 404, "not found");
		return;
	}
	if (match->prefix)
		q->path_arg = q->url + strlen(match->path);

	http_authenticate(w, q);
	if (match->need != NEED_NONE && q->auth == AUTH_NONE) {
		WEBD_COUNT(w, WC_REJ_AUTH);
		resp_error(r, 401, "authentication required");
		return;
	}
	if (match->need == NEED_WRITE) {
		if (q->auth != AUTH_SESSION) {
			WEBD_COUNT(w, WC_REJ_FORBIDDEN);
			resp_error(r, 403, "API tokens are read-only");
			return;
		}
		h = MHD_lookup_connection_value(q->conn, MHD_HEADER_KIND,
		    "X-CSRF-Token");
		if (h == NULL || strlen(h) != strlen(q->csrf) ||
		    sodium_memcmp(h, q->csrf, strlen(q->csrf)) != 0) {
			WEBD_COUNT(w, WC_REJ_CSRF);
			resp_error(r, 403, "missing or wrong CSRF token");
			return;
		}
	}
	if (strcmp(method, "POST") == 0 && !http_same_origin(w, q)) {
		WEBD_COUNT(w, WC_REJ_CSRF);
		resp_error(r, 403, "cross-origin request refused");
		return;
	}
	if (strcmp(method, "POST") == 0) {
		h = MHD_lookup_connection_value(q->conn, MHD_HEADER_KIND,
		    MHD_HTTP_HEADER_CONTENT_TYPE);
		if (h == NULL || strncasecmp(h, "application/json", 16) != 0) {
			WEBD_COUNT(w, WC_REJ_PARAM);
			resp_error(r, 415, "Content-Type must be application/json");
			return;
		}
	}
	match->fn(w, q, r);
	if (r->status >= 400 && r->status < 500 && r->status != 404)
		WEBD_COUNT(w, WC_REJ_PARAM);
}

static void
http_headers(int secure, struct MHD_Response *mr, const struct resp *r)
{
	MHD_add_response_header(mr, MHD_HTTP_HEADER_CONTENT_TYPE,
	    r->type ? r->type : "application/json");
	MHD_add_response_header(mr, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(mr, "X-Frame-Options", "DENY");
	MHD_add_response_header(mr, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(mr, "Content-Security-Policy", csp);
	MHD_add_response_header(mr, "Cross-Origin-Opener-Policy",
	    "same-origin");
	MHD_add_response_header(mr, "Cross-Origin-Resource-Policy",
	    "same-origin");
	MHD_add_response_header(mr, MHD_HTTP_HEADER_CACHE_CONTROL,
	    r->cacheable ? "no-cache" : "no-store");
	if (secure)
		MHD_add_response_header(mr, "Strict-Transport-Security",
		    "max-age=31536000");
	if (r->cookie[0] != '\0') {
		/* Every cookie of a request that came over TLS, here or at
		 * a trusted proxy, is Secure. */
		if (secure && strstr(r->cookie, "; Secure") == NULL) {
			char ck[sizeof(r->cookie) + 16];

			snprintf(ck, sizeof(ck), "%s; Secure", r->cookie);
			MHD_add_response_header(mr, MHD_HTTP_HEADER_SET_COOKIE,
			    ck);
		} else
			MHD_add_response_header(mr, MHD_HTTP_HEADER_SET_COOKIE,
			    r->cookie);
	}
	if (r->status == 405)
		MHD_add_response_header(mr, MHD_HTTP_HEADER_ALLOW,
		    r->allow[0] != '\0' ? r->allow : "GET, HEAD, POST");
	if (r->status == 429) {
		char ra[16];

		snprintf(ra, sizeof(ra), "%u", r->retry_after > 0 ?
		    r->retry_after : 1);
		MHD_add_response_header(mr, MHD_HTTP_HEADER_RETRY_AFTER, ra);
	}
	if (r->status == 401)
		MHD_add_response_header(mr, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
		    "Bearer realm=\"evflow\"");
}

static enum MHD_Result
http_queue(struct webd *w, struct MHD_Connection *c, struct resp *r,
    int secure)
{
	struct MHD_Response *mr;
	enum MHD_Result ret;

	if (r->static_data == NULL && !buf_ok(&r->body))
		resp_error(r, 500, "out of memory");
	/* Refusals are logged at a rate limit (the client controls them);
	 * the text is ours, never the request's. */
	if (r->status >= 400 && r->status != 401 && r->status != 404 &&
	    r->static_data == NULL && r->body.p != NULL)
		LOG_RATELIMITED(log_info, "refused %u: %.160s", r->status,
		    r->body.p);
	if (r->static_data != NULL)
		mr = MHD_create_response_from_buffer(r->static_len,
		    (void *)(uintptr_t)r->static_data, MHD_RESPMEM_PERSISTENT);
	else {
		mr = MHD_create_response_from_buffer(r->body.len, r->body.p,
		    MHD_RESPMEM_MUST_FREE);
		if (mr != NULL)
			buf_init(&r->body);	/* MHD owns the text now */
	}
	if (mr == NULL)
		return MHD_NO;
	http_headers(secure, mr, r);
	conns_waiting(w, c, 0);
	if (r->status >= 500)
		WEBD_COUNT(w, WC_RESP_5XX);
	else if (r->status >= 400)
		WEBD_COUNT(w, WC_RESP_4XX);
	else
		WEBD_COUNT(w, WC_RESP_2XX);
	ret = MHD_queue_response(c, r->status, mr);
	MHD_destroy_response(mr);
	return ret;
}

struct framing {
	int	cl, te, te_chunked, bad_name;
};

static enum MHD_Result
framing_cb(void *cls, enum MHD_ValueKind kind, const char *key,
    const char *value)
{
	struct framing *f = cls;

	(void)kind;
	/* MHD keeps "Content-Length : 5" as a header named with a space,
	 * which a proxy in front may read as the length. */
	if (strpbrk(key, " \t") != NULL)
		f->bad_name = 1;
	if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0)
		f->cl++;
	else if (strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING) == 0) {
		f->te++;
		f->te_chunked = value != NULL && strcasecmp(value,
		    "chunked") == 0;
	}
	return MHD_YES;
}

/* The checks of a request's first call, before its body is read.  0,
 * or -1 with the refusal in r.  A refusal queued now makes MHD skip the
 * body and close the connection, so an ambiguous body can never be
 * read as the next request. */
static int
http_precheck(struct webd *w, struct MHD_Connection *c, struct reqctx *ctx,
    const char *version, struct resp *r)
{
	const union MHD_ConnectionInfo *ci;
	const char *host, *cl;
	struct framing f = { 0, 0, 0, 0 };
	unsigned long long n;
	char *end;

	host = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_HOST);
	if (host == NULL && strcmp(version, MHD_HTTP_VERSION_1_0) != 0) {
		WEBD_COUNT(w, WC_REJ_HOST);
		resp_error(r, 400, "HTTP/1.1 requests need a Host header");
		return -1;
	}
	if (host != NULL && !http_host_allowed(w->names, host)) {
		WEBD_COUNT(w, WC_REJ_HOST);
		LOG_RATELIMITED(log_info, "refused Host %.80s from %s", host,
		    ctx->client);
		resp_error(r, 421, "this server does not answer for that"
		    " Host (see webd.hosts)");
		return -1;
	}
	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_REQUEST_HEADER_SIZE);
	if (ci != NULL && ci->header_size > (size_t)w->conf.header_max) {
		WEBD_COUNT(w, WC_REJ_TOO_LARGE);
		resp_error(r, 431, "request headers too large");
		return -1;
	}
	(void)MHD_get_connection_values(c, MHD_HEADER_KIND, framing_cb, &f);
	if (f.cl > 1 || f.te > 1 || (f.te && f.cl) || (f.te &&
	    !f.te_chunked) || f.bad_name) {
		WEBD_COUNT(w, WC_REJ_FRAMING);
		resp_error(r, 400, "ambiguous request framing: one"
		    " Content-Length, or Transfer-Encoding: chunked alone");
		return -1;
	}
	if (ctx->bad_uri) {
		WEBD_COUNT(w, WC_REJ_PARAM);
		resp_error(r, 400, "the URL must be UTF-8 without NUL bytes");
		return -1;
	}
	cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (cl != NULL && ((n = strtoull(cl, &end, 10)), *end != '\0' ||
	    n > (unsigned long long)w->conf.body_max)) {
		WEBD_COUNT(w, WC_REJ_TOO_LARGE);
		resp_error(r, 413, "request body too large");
		return -1;
	}
	return 0;
}

/* The URI log callback: the request line has arrived, the URI is still
 * raw.  Makes the request's context (*con_cls of the handler). */
static void *
http_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
	struct reqctx *ctx;

	(void)cls;
	(void)c;
	if ((ctx = calloc(1, sizeof(*ctx))) == NULL)
		return NULL;
	buf_init(&ctx->body);
	ctx->bad_uri = !http_uri_ok(uri);
	return ctx;
}

static enum MHD_Result
http_handler(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *upload,
    size_t *upload_size, void **con_cls)
{
	struct webd *w = cls;
	struct reqctx *ctx = *con_cls;
	struct req q;
	struct resp r;
	enum MHD_Result ret;

	if (ctx == NULL)
		return MHD_NO;	/* out of memory in http_uri */
	if (!ctx->started) {
		ctx->started = 1;
		http_client(w, c, ctx);
		memset(&r, 0, sizeof(r));
		buf_init(&r.body);
		if (http_precheck(w, c, ctx, version, &r) == 0)
			return MHD_YES;
		WEBD_COUNT(w, WC_REQUESTS);
		ret = http_queue(w, c, &r, ctx->secure);
		buf_free(&r.body);
		return ret;
	}
	if (*upload_size != 0) {
		if (!ctx->too_large && ctx->body.len + *upload_size <=
		    (size_t)w->conf.body_max)
			buf_add(&ctx->body, upload, *upload_size);
		else
			ctx->too_large = 1;
		*upload_size = 0;
		return MHD_YES;
	}

	/* The request is complete: its clock stops while it is answered
	 * (a long statement must not count as a slow client). */
	conns_waiting(w, c, 0);
	memset(&q, 0, sizeof(q));
	memset(&r, 0, sizeof(r));
	buf_init(&r.body);
	r.status = 200;
	r.type = "application/json";
	q.method = method;
	q.url = url;
	q.conn = c;
	q.body = ctx->body.len ? ctx->body.p : NULL;
	q.body_len = ctx->body.len;
	q.secure = ctx->secure;
	snprintf(q.client, sizeof(q.client), "%s", ctx->client);
	WEBD_COUNT(w, WC_REQUESTS);

	if (!rate_allow_wait(w->rate, q.client, 1.0, &r.retry_after)) {
		WEBD_COUNT(w, WC_REJ_RATE);
		resp_error(&r, 429, "too many requests");
	} else if (ctx->too_large || !buf_ok(&ctx->body)) {
		WEBD_COUNT(w, WC_REJ_TOO_LARGE);
		resp_error(&r, 413, "request body too large");
	} else if (strlen(url) > 1024) {
		WEBD_COUNT(w, WC_REJ_TOO_LARGE);
		resp_error(&r, 414, "URL too long");
	} else
		http_route(w, &q, &r);
	ret = http_queue(w, c, &r, q.secure);
	buf_free(&r.body);
	return ret;
}

/* A request has ended (answered, or the connection failed): its
 * context goes, and the connection waits for the next request. */
static void
http_completed(void *cls, struct MHD_Connection *c, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct webd *w = cls;
	struct reqctx *ctx = *con_cls;

	if (toe == MHD_REQUEST_TERMINATED_TIMEOUT_REACHED)
		WEBD_COUNT(w, WC_CONN_IDLE);
	conns_waiting(w, c, 1);
	if (ctx == NULL)
		return;
	buf_free(&ctx->body);
	free(ctx);
	*con_cls = NULL;
}

/* MHD's connection start and close notifications: conns.c's slots. */
static void
http_conn_notify(void *cls, struct MHD_Connection *c, void **sctx,
    enum MHD_ConnectionNotificationCode code)
{
	struct webd *w = cls;

	if (code == MHD_CONNECTION_NOTIFY_STARTED)
		conns_started(w, c, sctx);
	else if (code == MHD_CONNECTION_NOTIFY_CLOSED)
		conns_closed(w, sctx);
}

/* MHD's accept policy: conns.c's caps. */
static enum MHD_Result
http_accept(void *cls, const struct sockaddr *sa, socklen_t salen)
{
	(void)salen;
	return conns_admit(cls, sa) ? MHD_YES : MHD_NO;
}

static void
http_log(void *cls, const char *fmt, va_list ap)
{
	char line[512];

	(void)cls;
	vsnprintf(line, sizeof(line), fmt, ap);
	line[strcspn(line, "\n")] = '\0';
	LOG_RATELIMITED(log_warnx, "http: %s", line);
}

int
http_start(struct webd *w, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
	    MHD_USE_TURBO | MHD_USE_ERROR_LOG;
	const union MHD_DaemonInfo *di;
	struct MHD_OptionItem opt[24];
	unsigned n = 0, hard;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, w->conf.listen, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)w->conf.port);
	} else if (inet_pton(AF_INET6, w->conf.listen, &sin6->sin6_addr) ==
	    1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)w->conf.port);
		flags |= MHD_USE_IPv6;
	} else {
		snprintf(err, errlen, "webd.listen: not an IP address: %s",
		    w->conf.listen);
		return -1;
	}
	/* MHD's own cap is a backstop above webd.conn_max: shut-down
	 * connections hold their place until MHD has closed them. */
	hard = (unsigned)w->conf.conn_max + (unsigned)w->conf.conn_max / 4 +
	    16;
	if ((w->conns = conns_new(hard)) == NULL ||
	    (w->names = calloc(1, sizeof(*w->names))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (http_names_conf(w->names, &w->conf, err, errlen) == -1)
		return -1;

#define OPT(o, v, p) do {						\
	opt[n].option = (o);						\
	opt[n].value = (intptr_t)(v);					\
	opt[n].ptr_value = (void *)(p);					\
	n++;								\
} while (0)
	OPT(MHD_OPTION_EXTERNAL_LOGGER, http_log, w);
	OPT(MHD_OPTION_SOCK_ADDR, 0, &ss);
	OPT(MHD_OPTION_THREAD_POOL_SIZE, w->conf.threads, NULL);
	OPT(MHD_OPTION_CONNECTION_LIMIT, hard, NULL);
	OPT(MHD_OPTION_CONNECTION_TIMEOUT, w->conf.idle_timeout, NULL);
	/* Twice the header bound: headers up to webd.header_max get
	 * webd's JSON 431, only larger ones MHD's own (see docs/api.md). */
	OPT(MHD_OPTION_CONNECTION_MEMORY_LIMIT, 2 * w->conf.header_max, NULL);
	OPT(MHD_OPTION_NOTIFY_COMPLETED, http_completed, w);
	OPT(MHD_OPTION_NOTIFY_CONNECTION, http_conn_notify, w);
	OPT(MHD_OPTION_URI_LOG_CALLBACK, http_uri, w);
	if (w->tls) {
		flags |= MHD_USE_TLS;
		OPT(MHD_OPTION_HTTPS_MEM_CERT, 0, w->tls_cert_pem);
		OPT(MHD_OPTION_HTTPS_MEM_KEY, 0, w->tls_key_pem);
		/* GnuTLS priorities: its defaults, TLS 1.2 and 1.3 only. */
		OPT(MHD_OPTION_HTTPS_PRIORITIES, 0,
		    strcmp(w->conf.tls_min, "1.3") == 0 ?
		    "NORMAL:-VERS-ALL:+VERS-TLS1.3" :
		    "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2");
	}
	OPT(MHD_OPTION_END, 0, NULL);
#undef OPT
	w->mhd = MHD_start_daemon(flags, (uint16_t)w->conf.port,
	    http_accept, w, http_handler, w,
	    MHD_OPTION_ARRAY, opt, MHD_OPTION_END);
	if (w->mhd == NULL) {
		snprintf(err, errlen, "cannot listen on %s port %lld",
		    w->conf.listen, w->conf.port);
		return -1;
	}
	di = MHD_get_daemon_info(w->mhd, MHD_DAEMON_INFO_BIND_PORT);
	if (di != NULL)
		w->port = di->port;
	return 0;
}

void
http_stop(struct webd *w)
{
	if (w->mhd != NULL)
		MHD_stop_daemon(w->mhd);
	w->mhd = NULL;
	conns_free(w->conns);
	w->conns = NULL;
	free(w->names);
	w->names = NULL;
}
