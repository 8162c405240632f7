/*
 * evflow-webd: REST API and browser UI over the store's database.
 *
 * Set-up: configuration table, credentials file, read-only database
 * pool, libmicrohttpd (its own thread pool answers HTTP).  The loop
 * below answers webd's control socket and, once a second, refreshes the
 * daemons' live statistics and expires idle sessions.
 *
 * Install time: `evflow-webd --set-password USER` reads the password
 * from stdin (and ends that user's sessions, in a running webd too);
 * `evflow-webd --add-token NAME` prints a new read-only API token,
 * `--list-tokens` lists them (id, name, created) and `--revoke-token ID`
 * (or NAME) deletes one.  There is no default password: without a user, logins are
 * refused with a message saying how to create one.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/config.h"
#include "common/counters.h"
#include "common/ctl.h"
#include "common/daemon.h"
#include "common/log.h"
#include "common/paths.h"
#include "ch.h"
#include "webd.h"

#define TICK_USEC	1000000ULL	/* live refresh, session expiry */
#define PEM_MAX		(256 * 1024)	/* bytes of a TLS cert or key */

const char *const webd_counter_names[WC_COUNTER_MAX] = {
	"requests", "resp_2xx", "resp_4xx", "resp_5xx", "rejected_rate",
	"rejected_auth", "rejected_csrf", "rejected_forbidden",
	"rejected_method", "rejected_too_large", "rejected_param",
	"not_found", "login_ok", "login_failed", "db_errors", "ctl_errors",
	"rejected_host", "rejected_framing", "conn_timeout", "conn_refused",
	"conn_evicted", "proxy_forwarded", "metrics_labels_cut",
	"db_timeouts", "rejected_login_account", "rate_evicted", "bad_utf8",
	"conn_idle_timeout", "ch_list_retries", "ch_list_final",
	"ch_summary_final",
};

#define O(f)	offsetof(struct webd_conf, f)
#define S(f)	sizeof(((struct webd_conf *)0)->f)

static const struct conf_directive webd_conf_table[] = {
	{ "datadir", CONF_STR, O(datadir), S(datadir), PATHS_DEFAULT_DATADIR,
	  0, 0, "data directory (sockets, database)" },
	{ "database", CONF_STR, O(database), S(database), NULL, 0, 0,
	  "flow database (default <datadir>/evflow.db), opened read-only" },
	{ "name", CONF_STR, O(name), S(name), "webd", 0, 0,
	  "instance name (control socket <datadir>/<name>.ctl)" },
	{ "log_level", CONF_INT, O(log_level), 0, "1", 0, 2,
	  "0 warnings, 1 info, 2 debug" },
	{ "webd.listen", CONF_STR, O(listen), S(listen), "127.0.0.1", 0, 0,
	  "address to listen on (IPv4 or IPv6)" },
	{ "webd.port", CONF_INT, O(port), 0, WEBD_PORT_DEFAULT, 0, 65535,
	  "TCP port (0: any free port, see webd.port_file)" },
	{ "webd.port_file", CONF_STR, O(port_file), S(port_file), NULL, 0, 0,
	  "write the bound port here once listening" },
	{ "webd.threads", CONF_INT, O(threads), 0, "4", 1, WEBD_DB_POOL_MAX,
	  "HTTP threads, one read-only database connection each" },
	{ "webd.body_max", CONF_BYTES, O(body_max), 0, "16k", 1024, 1048576,
	  "largest request body" },
	{ "webd.header_max", CONF_BYTES, O(header_max), 0, "32k", 8192,
	  1048576, "memory per connection for the request line and headers" },
	{ "webd.conn_max", CONF_INT, O(conn_max), 0, "256", 4, 65536,
	  "concurrent connections (a new one evicts the oldest idle one)" },
	{ "webd.conn_per_ip", CONF_INT, O(conn_per_ip), 0, "64", 1, 65536,
	  "concurrent connections per client address (IPv6: per /64),"
	  " below webd.conn_max" },
	{ "webd.request_timeout", CONF_SECONDS, O(request_timeout), 0, "10s",
	  1, 3600, "a whole request (line, headers, body) must arrive within"
	  " this, counted from the connection or the previous response" },
	{ "webd.idle_timeout", CONF_SECONDS, O(idle_timeout), 0, "30s", 1,
	  3600, "close a connection without traffic for this long" },
	{ "webd.hosts", CONF_STR, O(hosts), S(hosts), NULL, 0, 0,
	  "Host names accepted, comma-separated, port optional (default:"
	  " localhost, 127.0.0.1, [::1] and webd.listen); * accepts any" },
	{ "webd.trusted_proxies", CONF_STR, O(trusted_proxies),
	  S(trusted_proxies), NULL, 0, 0, "proxy addresses whose"
	  " X-Forwarded-For/-Proto are believed, comma-separated" },
	{ "webd.tls_min", CONF_STR, O(tls_min), S(tls_min), "1.2", 0, 0,
	  "oldest TLS version accepted: 1.2 or 1.3" },
	{ "webd.rate", CONF_INT, O(rate), 0, "200", 0, 10000000,
	  "requests per second per client address (0: no limit)" },
	{ "webd.burst", CONF_INT, O(burst), 0, "400", 0, 10000000,
	  "requests a client may make in a burst" },
	{ "webd.login_rate", CONF_INT, O(login_rate), 0, "10", 1, 100000,
	  "login attempts per minute per client address" },
	{ "webd.login_account_rate", CONF_INT, O(login_account_rate), 0, "10",
	  1, 100000, "login attempts per minute per account name, from any"
	  " address" },
	{ "webd.rate_clients", CONF_INT, O(rate_clients), 0, "4096", 16,
	  1048576, "client addresses (IPv6: /64s) and account names each"
	  " rate limit tracks; the least recently seen is forgotten" },
	{ "webd.sql_timeout", CONF_INT, O(sql_timeout), 0, "5000", 10,
	  600000, "milliseconds of SQL a request may run (503 beyond)" },
	{ "webd.session_ttl", CONF_SECONDS, O(session_ttl), 0, "12h", 60,
	  30 * 86400, "idle time after which a session ends" },
	{ "webd.ctl_timeout", CONF_INT, O(ctl_timeout), 0, "250", 10, 10000,
	  "milliseconds to wait for a daemon's control socket" },
	{ "webd.credentials", CONF_STR, O(credentials), S(credentials), NULL,
	  0, 0, "users and API tokens (default <datadir>/webd.db)" },
	{ "webd.router", CONF_STR, O(router), S(router), "router", 0, 0,
	  "the router's instance name (interface settings go there)" },
	{ "webd.tls_cert", CONF_STR, O(tls_cert), S(tls_cert), NULL, 0, 0,
	  "PEM certificate: serve HTTPS" },
	{ "webd.tls_key", CONF_STR, O(tls_key), S(tls_key), NULL, 0, 0,
	  "PEM private key for webd.tls_cert" },
	{ "webd.history", CONF_STR, O(history), S(history), "sqlite", 0, 0,
	  "where the flows list and the dashboard read flows: sqlite or"
	  " clickhouse (docs/clickhouse.md)" },
	{ "clickhouse_shards", CONF_STR, O(ch_shards), S(ch_shards),
	  "127.0.0.1:8123", 0, 0, "ClickHouse HTTP endpoints (any answers"
	  " through the Distributed tables; the next if one is down)" },
	{ "clickhouse_database", CONF_STR, O(ch_database), S(ch_database),
	  "evflow", 0, 0, "ClickHouse database" },
	{ "clickhouse_user", CONF_STR, O(ch_user), S(ch_user), NULL, 0, 0,
	  "ClickHouse user (default: the server's default)" },
	{ "webd.clickhouse_timeout", CONF_SECONDS, O(ch_timeout), 0, "10s", 1,
	  600, "time per ClickHouse query" },
	{ NULL, CONF_STR, 0, 0, NULL, 0, 0, NULL }
};

/* Install-time commands, long options only (see the top). */
enum { OPT_SET_PASSWORD = 256, OPT_ADD_TOKEN, OPT_LIST_TOKENS,
    OPT_REVOKE_TOKEN };
static const struct daemon_flag webd_flags[] = {
	{ OPT_SET_PASSWORD, "set-password", 1, NULL, NULL },
	{ OPT_ADD_TOKEN, "add-token", 1, NULL, NULL },
	{ OPT_LIST_TOKENS, "list-tokens", 0, NULL, NULL },
	{ OPT_REVOKE_TOKEN, "revoke-token", 1, NULL, NULL },
	{ 0, NULL, 0, NULL, NULL }
};

struct webd_cmd {
	const char	*setpw;		/* --set-password USER */
	const char	*addtok;	/* --add-token NAME */
	int		 listtok;	/* --list-tokens */
	const char	*revoketok;	/* --revoke-token ID */
};

static int
webd_flag(void *arg, int ch, const char *val, char *err, size_t errlen)
{
	struct webd_cmd *cmd = arg;

	(void)err;
	(void)errlen;
	if (ch == OPT_SET_PASSWORD)
		cmd->setpw = val;
	else if (ch == OPT_ADD_TOKEN)
		cmd->addtok = val;
	else if (ch == OPT_LIST_TOKENS)
		cmd->listtok = 1;
	else
		cmd->revoketok = val;
	return 0;
}

/* Reads a whole small file; NULL with errno on failure. */
static char *
read_file(const char *path)
{
	FILE *f;
	char *p;
	size_t n;

	if ((f = fopen(path, "r")) == NULL)
		return NULL;
	if ((p = malloc(PEM_MAX + 1)) == NULL) {
		fclose(f);
		return NULL;
	}
	n = fread(p, 1, PEM_MAX, f);
	fclose(f);
	if (n == 0 || n == PEM_MAX) {
		free(p);
		errno = EINVAL;
		return NULL;
	}
	p[n] = '\0';
	return p;
}

/* --set-password: the first line of stdin is the password. */
static int
set_password(struct webd *w, const char *user)
{
	char pw[1100], err[256];
	size_t n;

	if (fgets(pw, sizeof(pw), stdin) == NULL) {
		fprintf(stderr, "evflow-webd: no password on stdin\n");
		return 1;
	}
	n = strcspn(pw, "\r\n");
	pw[n] = '\0';
	if (n > 1024) {
		fprintf(stderr, "evflow-webd: password too long\n");
		return 1;
	}
	if (auth_set_password(w->auth, user, pw, err, sizeof(err)) == -1) {
		fprintf(stderr, "evflow-webd: %s\n", err);
		return 1;
	}
	fprintf(stderr, "evflow-webd: password set for %s\n", user);
	return 0;
}

static int
add_token(struct webd *w, const char *name)
{
	char tok[128], err[256];

	if (auth_add_token(w->auth, name, tok, sizeof(tok), err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "evflow-webd: %s\n", err);
		return 1;
	}
	printf("%s\n", tok);
	fprintf(stderr, "evflow-webd: read-only token %s created; it is shown"
	    " only now\n", name);
	return 0;
}

/* --list-tokens: "id name created", one token a line, on stdout. */
static int
list_tokens(struct webd *w)
{
	struct buf b;
	int n;

	buf_init(&b);
	if ((n = auth_list_tokens(w->auth, &b)) == -1 || !buf_ok(&b)) {
		fprintf(stderr, "evflow-webd: cannot read the tokens\n");
		buf_free(&b);
		return 1;
	}
	if (b.len > 0)
		fwrite(b.p, 1, b.len, stdout);
	buf_free(&b);
	fprintf(stderr, "evflow-webd: %d token%s\n", n, n == 1 ? "" : "s");
	return 0;
}

/* --revoke-token ID: a running webd refuses the token within a tick. */
static int
revoke_token(struct webd *w, const char *which)
{
	char err[256];

	if (auth_revoke_token(w->auth, which, err, sizeof(err)) == -1) {
		fprintf(stderr, "evflow-webd: %s\n", err);
		return 1;
	}
	fprintf(stderr, "evflow-webd: token %s revoked\n", which);
	return 0;
}

/* Stats frame hook: a snapshot of the counters the HTTP threads bump. */
static void
webd_stats_sync(void *arg)
{
	struct webd *w = arg;
	int i;

	w->counters[WC_BAD_UTF8] = json_bad_utf8();
	for (i = 0; i < WC_COUNTER_MAX; i++)
		w->ctr_snap[i] = w->counters[i];
}

int
main(int argc, char **argv)
{
	static struct webd w;
	static struct daemon dm;
	struct daemon *d = &dm;
	struct webd_cmd cmd = { NULL, NULL, 0, NULL };
	char err[512];
	uint64_t next;
	struct pollfd pfd;
	int rc;
	FILE *pf;

	log_init("evflow-webd", 0);
	d->prog = "evflow-webd";
	d->synopsis = "evflow-webd [-nvh] [-f file] [-d datadir] "
	    "[-o key=value] [-N name]\n"
	    "       evflow-webd [options] --set-password USER  (password on"
	    " stdin)\n"
	    "       evflow-webd [options] --add-token NAME\n"
	    "       evflow-webd [options] --list-tokens\n"
	    "       evflow-webd [options] --revoke-token ID|NAME";
	d->table = webd_conf_table;
	d->cfg = &w.conf;
	d->own = webd_flags;
	d->flag_fn = webd_flag;
	d->arg = &cmd;
	daemon_configure(d, argc, argv);
	if (w.conf.database[0] == '\0' && paths_file(w.conf.database,
	    sizeof(w.conf.database), NULL, w.conf.datadir, "evflow.db") == -1)
		fatalx("database path too long");
	if (w.conf.credentials[0] == '\0' && paths_file(w.conf.credentials,
	    sizeof(w.conf.credentials), NULL, w.conf.datadir, "webd.db") == -1)
		fatalx("credentials path too long");
	if ((w.conf.tls_cert[0] == '\0') != (w.conf.tls_key[0] == '\0'))
		fatalx("webd.tls_cert and webd.tls_key go together");
	if (!live_name_ok(w.conf.router))
		fatalx("webd.router: letters, digits, . _ - only");
	if (strcmp(w.conf.tls_min, "1.2") != 0 &&
	    strcmp(w.conf.tls_min, "1.3") != 0)
		fatalx("webd.tls_min: 1.2 or 1.3");
	if (w.conf.conn_per_ip >= w.conf.conn_max)
		fatalx("webd.conn_per_ip must be below webd.conn_max, so that"
		    " one address cannot take every connection");
	{
		struct http_names *nm;

		if ((nm = calloc(1, sizeof(*nm))) == NULL)
			fatal("calloc");
		if (http_names_conf(nm, &w.conf, err, sizeof(err)) == -1)
			fatalx("%s", err);
		free(nm);
	}
	if (d->check) {
		daemon_print_config(d);
		return 0;
	}
	daemon_start(d);

	/* Before any other SQLite call: no global memory statistics (they
	 * take a process-wide mutex on every allocation, which the HTTP
	 * threads would contend on). */
	if (sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0) != SQLITE_OK)
		log_warnx("sqlite3_config(MEMSTATUS) refused");
	if ((w.auth = auth_new(w.conf.credentials, w.conf.session_ttl, err,
	    sizeof(err))) == NULL)
		fatalx("%s", err);
	if (cmd.setpw != NULL || cmd.addtok != NULL || cmd.listtok ||
	    cmd.revoketok != NULL) {
		if (cmd.setpw != NULL)
			rc = set_password(&w, cmd.setpw);
		else if (cmd.addtok != NULL)
			rc = add_token(&w, cmd.addtok);
		else if (cmd.revoketok != NULL)
			rc = revoke_token(&w, cmd.revoketok);
		else
			rc = list_tokens(&w);
		auth_free(w.auth);
		return rc;
	}
	if (auth_user_count(w.auth) == 0)
		log_warnx("no user has a password: logins are refused until"
		    " you run `evflow-webd -d %s --set-password USER`",
		    w.conf.datadir);
	if (w.conf.tls_cert[0] != '\0') {
		if ((w.tls_cert_pem = read_file(w.conf.tls_cert)) == NULL)
			fatal("%s", w.conf.tls_cert);
		if ((w.tls_key_pem = read_file(w.conf.tls_key)) == NULL)
			fatal("%s", w.conf.tls_key);
		w.tls = 1;
	}
	if ((w.rate = rate_new((double)w.conf.rate, (double)w.conf.burst,
	    (unsigned)w.conf.rate_clients, &w.counters[WC_RATE_EVICTED])) ==
	    NULL || (w.login_rate = rate_new((double)w.conf.login_rate / 60.0,
	    (double)w.conf.login_rate, (unsigned)w.conf.rate_clients,
	    &w.counters[WC_RATE_EVICTED])) == NULL ||
	    (w.login_account = rate_new((double)w.conf.login_account_rate /
	    60.0, (double)w.conf.login_account_rate,
	    (unsigned)w.conf.rate_clients, &w.counters[WC_RATE_EVICTED])) ==
	    NULL)
		fatal("rate");
	if ((w.db = db_pool_new(w.conf.database, (unsigned)w.conf.threads +
	    1, w.conf.sql_timeout)) == NULL)
		fatal("database pool");
	if (strcmp(w.conf.history, "clickhouse") == 0) {
		if ((w.ch = ch_new(w.conf.ch_shards, w.conf.ch_database,
		    w.conf.ch_user, (int)w.conf.ch_timeout * 1000, err,
		    sizeof(err))) == NULL)
			fatalx("clickhouse: %s", err);
		log_info("history from ClickHouse %s, database %s",
		    w.conf.ch_shards, w.conf.ch_database);
	} else if (strcmp(w.conf.history, "sqlite") != 0)
		fatalx("webd.history: sqlite or clickhouse");
	if ((w.live = live_new(w.conf.datadir, w.conf.name,
	    (int)w.conf.ctl_timeout)) == NULL)
		fatal("live");
	daemon_counters(d, webd_counter_names, w.ctr_snap, WC_COUNTER_MAX);
	d->stats_sync = webd_stats_sync;
	daemon_ctl_open(d, "webd", NULL, &w);
	if (http_start(&w, err, sizeof(err)) == -1)
		fatalx("%s", err);
	log_info("listening on %s%s%s port %u (%s), database %s",
	    strchr(w.conf.listen, ':') ? "[" : "", w.conf.listen,
	    strchr(w.conf.listen, ':') ? "]" : "", w.port,
	    w.tls ? "https" : "http", w.conf.database);
	if (w.conf.port_file[0] != '\0') {
		if ((pf = fopen(w.conf.port_file, "w")) == NULL)
			fatal("%s", w.conf.port_file);
		fprintf(pf, "%u\n", w.port);
		fclose(pf);
	}

	live_refresh(w.live);
	next = clock_mono_usec() + TICK_USEC;
	while (!sig_quit) {
		pfd.fd = ctl_fd(d->ctl);
		pfd.events = POLLIN;
		pfd.revents = 0;
		if (poll(&pfd, pfd.fd >= 0 ? 1 : 0, deadline_timeout(next,
		    clock_mono_usec(), 1000)) == -1 && errno != EINTR)
			fatal("poll");
		if (pfd.revents & POLLIN)
			ctl_poll(d->ctl);
		if (deadline_due(&next, clock_mono_usec(), TICK_USEC)) {
			live_refresh(w.live);
			auth_expire(w.auth);
			conns_sweep(&w);
			/* For /metrics, which reads the counters between
			 * stats frames. */
			w.counters[WC_BAD_UTF8] = json_bad_utf8();
		}
	}

	log_info("exiting");
	http_stop(&w);
	daemon_ctl_close(d);
	live_free(w.live);
	db_pool_free(w.db);
	ch_free(w.ch);
	rate_free(w.rate);
	rate_free(w.login_rate);
	rate_free(w.login_account);
	auth_free(w.auth);
	free(w.tls_cert_pem);
	free(w.tls_key_pem);
	return 0;
}
