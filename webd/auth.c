/*
 * Credentials, sessions and API tokens.
 *
 * Users and tokens live in webd's own SQLite file (webd.credentials,
 * default <datadir>/webd.db, mode 0600), never in the flow database,
 * which webd opens read-only.  Passwords are stored as libsodium
 * crypto_pwhash_str() strings (argon2id).  API tokens are 32 random
 * bytes shown once; only their BLAKE2b digest is stored, and the digests
 * are cached in memory (reloaded by auth_expire()) so a token check
 * costs one hash and no database access.  Tokens are read-only.
 *
 * Sessions are in memory only (a restart logs everyone out): a random
 * 256-bit id in an HttpOnly cookie and a second random 256-bit CSRF
 * token the UI sends back in X-CSRF-Token on every write.  A session
 * remembers a digest of its user's password hash at login; when the
 * stored hash changes (a new password, from this process or from
 * `--set-password` in another) or the user is gone, the user's sessions
 * end: at once in this process, within a tick (auth_expire) otherwise.
 * Other processes' writes are noticed through PRAGMA data_version, which
 * also reloads the token cache (`--add-token`, `--revoke-token`).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <sodium.h>
#include <sqlite3.h>

#include "common/clock.h"
#include "common/log.h"
#include "webd.h"

#define AUTH_TOKEN_BYTES	32
#define AUTH_DIGEST_BYTES	32
#define AUTH_TOKENS_MAX		256
#define AUTH_RELOAD_USEC	(30 * 1000000ULL)	/* reload even if
							   data_version says
							   nothing changed */
#define AUTH_PWTAG_BYTES	16	/* digest of a password hash */

struct session {
	char		id[WEBD_SESSION_ID_LEN + 1];	/* "" = free */
	char		csrf[WEBD_SESSION_ID_LEN + 1];
	char		user[WEBD_USER_LEN];
	unsigned char	pwtag[AUTH_PWTAG_BYTES];	/* user's hash at login */
	uint64_t	last_usec;			/* monotonic */
};

struct token {
	unsigned char	digest[AUTH_DIGEST_BYTES];
	char		name[WEBD_USER_LEN];
};

struct webd_auth {
	pthread_mutex_t	 mu;
	sqlite3		*db;		/* read-write, webd's own file */
	uint64_t	 ttl_usec;
	uint64_t	 reloaded_usec;
	long long	 data_version;	/* PRAGMA data_version last seen */
	struct session	 sess[WEBD_SESSION_MAX];
	struct token	 tok[AUTH_TOKENS_MAX];
	unsigned	 ntok;
	char		 dummy_hash[crypto_pwhash_STRBYTES];
};

static const char auth_schema[] =
	"CREATE TABLE IF NOT EXISTS users ("
	" name TEXT PRIMARY KEY, hash TEXT NOT NULL, created INTEGER);"
	"CREATE TABLE IF NOT EXISTS tokens ("
	" name TEXT PRIMARY KEY, digest BLOB NOT NULL, created INTEGER);";

/* Reloads the token digests into the cache.  Caller holds mu. */
static void
auth_load_tokens(struct webd_auth *a)
{
	sqlite3_stmt *st;
	unsigned n = 0;

	if (sqlite3_prepare_v2(a->db, "SELECT name, digest FROM tokens",
	    -1, &st, NULL) != SQLITE_OK) {
		log_warnx("credentials: %s", sqlite3_errmsg(a->db));
		return;
	}
	while (sqlite3_step(st) == SQLITE_ROW && n < AUTH_TOKENS_MAX) {
		const char *name = (const char *)sqlite3_column_text(st, 0);

		if (sqlite3_column_bytes(st, 1) != AUTH_DIGEST_BYTES)
			continue;
		memcpy(a->tok[n].digest, sqlite3_column_blob(st, 1),
		    AUTH_DIGEST_BYTES);
		snprintf(a->tok[n].name, sizeof(a->tok[n].name), "%s",
		    name ? name : "");
		n++;
	}
	sqlite3_finalize(st);
	a->ntok = n;
	a->reloaded_usec = clock_mono_usec();
}

/* The digest of USER's stored password hash into tag; 0, or -1 if there
 * is no such user.  Caller holds mu. */
static int
auth_pwtag(struct webd_auth *a, const char *user, unsigned char *tag)
{
	sqlite3_stmt *st;
	int rc = -1;

	if (sqlite3_prepare_v2(a->db, "SELECT hash FROM users WHERE name = ?1",
	    -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		crypto_generichash(tag, AUTH_PWTAG_BYTES,
		    sqlite3_column_text(st, 0),
		    (unsigned long long)sqlite3_column_bytes(st, 0), NULL, 0);
		rc = 0;
	}
	sqlite3_finalize(st);
	return rc;
}

/* Ends every session whose user's password hash is no longer the one it
 * logged in with (password changed, user deleted).  Caller holds mu. */
static void
auth_check_sessions(struct webd_auth *a)
{
	unsigned char tag[AUTH_PWTAG_BYTES];
	struct session *s;
	unsigned i;

	for (i = 0; i < WEBD_SESSION_MAX; i++) {
		s = &a->sess[i];
		if (s->id[0] == '\0')
			continue;
		if (auth_pwtag(a, s->user, tag) == 0 &&
		    sodium_memcmp(tag, s->pwtag, sizeof(tag)) == 0)
			continue;
		log_info("session of %s ended: its password changed (or"
		    " the user is gone)", s->user);
		sodium_memzero(s, sizeof(*s));
	}
}

/* PRAGMA data_version: changes when another connection (another
 * process) commits to the credentials file.  -1 on error. */
static long long
auth_data_version(struct webd_auth *a)
{
	sqlite3_stmt *st;
	long long v = -1;

	if (sqlite3_prepare_v2(a->db, "PRAGMA data_version", -1, &st,
	    NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

struct webd_auth *
auth_new(const char *path, long long ttl_sec, char *err, size_t errlen)
{
	struct webd_auth *a;
	char *msg = NULL;
	mode_t old;

	if (sodium_init() < 0) {
		snprintf(err, errlen, "libsodium cannot initialise");
		return NULL;
	}
	if ((a = calloc(1, sizeof(*a))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&a->mu, NULL);
	a->ttl_usec = (uint64_t)ttl_sec * 1000000ULL;
	old = umask(077);
	if (sqlite3_open_v2(path, &a->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, NULL) != SQLITE_OK) {
		umask(old);
		snprintf(err, errlen, "%s: %s", path, a->db ?
		    sqlite3_errmsg(a->db) : "cannot open");
		auth_free(a);
		return NULL;
	}
	umask(old);
	(void)chmod(path, 0600);
	sqlite3_busy_timeout(a->db, 2000);
	if (sqlite3_exec(a->db, auth_schema, NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path, msg ? msg : "schema");
		sqlite3_free(msg);
		auth_free(a);
		return NULL;
	}
	auth_load_tokens(a);
	a->data_version = auth_data_version(a);
	return a;
}

void
auth_free(struct webd_auth *a)
{
	if (a == NULL)
		return;
	if (a->db != NULL)
		sqlite3_close(a->db);
	pthread_mutex_destroy(&a->mu);
	sodium_memzero(a->sess, sizeof(a->sess));
	free(a);
}

/* 1 if `s` is a user or token name we accept: 1..63 of [A-Za-z0-9._-]. */
static int
auth_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= WEBD_USER_LEN)
		return 0;
	return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789._-") == n;
}

int
auth_user_count(struct webd_auth *a)
{
	sqlite3_stmt *st;
	int n = 0;

	pthread_mutex_lock(&a->mu);
	if (sqlite3_prepare_v2(a->db, "SELECT count(*) FROM users", -1, &st,
	    NULL) == SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW)
			n = sqlite3_column_int(st, 0);
		sqlite3_finalize(st);
	}
	pthread_mutex_unlock(&a->mu);
	return n;
}

int
auth_set_password(struct webd_auth *a, const char *user, const char *pw,
    char *err, size_t errlen)
{
	char hash[crypto_pwhash_STRBYTES];
	sqlite3_stmt *st;
	int rc;

	if (!auth_name_ok(user)) {
		snprintf(err, errlen, "bad user name (1-63 of A-Z a-z 0-9 . _ -)");
		return -1;
	}
	if (strlen(pw) < 8) {
		snprintf(err, errlen, "password too short (8 characters minimum)");
		return -1;
	}
	if (crypto_pwhash_str(hash, pw, strlen(pw),
	    crypto_pwhash_OPSLIMIT_INTERACTIVE,
	    crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
		snprintf(err, errlen, "out of memory hashing the password");
		return -1;
	}
	pthread_mutex_lock(&a->mu);
	rc = sqlite3_prepare_v2(a->db, "INSERT INTO users(name, hash, created)"
	    " VALUES(?1, ?2, strftime('%s','now')) ON CONFLICT(name) DO UPDATE"
	    " SET hash = excluded.hash", -1, &st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, hash, -1, SQLITE_STATIC);
		rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
		sqlite3_finalize(st);
	}
	if (rc != SQLITE_OK)
		snprintf(err, errlen, "credentials: %s", sqlite3_errmsg(a->db));
	else
		auth_check_sessions(a);	/* the user's sessions end now */
	pthread_mutex_unlock(&a->mu);
	sodium_memzero(hash, sizeof(hash));
	return rc == SQLITE_OK ? 0 : -1;
}

int
auth_add_token(struct webd_auth *a, const char *name, char *out,
    size_t outlen, char *err, size_t errlen)
{
	unsigned char secret[AUTH_TOKEN_BYTES], digest[AUTH_DIGEST_BYTES];
	sqlite3_stmt *st;
	int rc;

	if (!auth_name_ok(name)) {
		snprintf(err, errlen, "bad token name (1-63 of A-Z a-z 0-9 . _ -)");
		return -1;
	}
	if (outlen < AUTH_TOKEN_BYTES * 2 + 1) {
		snprintf(err, errlen, "token buffer too small");
		return -1;
	}
	randombytes_buf(secret, sizeof(secret));
	sodium_bin2hex(out, outlen, secret, sizeof(secret));
	crypto_generichash(digest, sizeof(digest), (const unsigned char *)out,
	    strlen(out), NULL, 0);
	pthread_mutex_lock(&a->mu);
	rc = sqlite3_prepare_v2(a->db, "INSERT INTO tokens(name, digest,"
	    " created) VALUES(?1, ?2, strftime('%s','now'))", -1, &st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
		sqlite3_bind_blob(st, 2, digest, sizeof(digest), SQLITE_STATIC);
		rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
		sqlite3_finalize(st);
	}
	if (rc != SQLITE_OK)
		snprintf(err, errlen, "token %s: %s", name,
		    sqlite3_errmsg(a->db));
	else
		auth_load_tokens(a);
	pthread_mutex_unlock(&a->mu);
	sodium_memzero(secret, sizeof(secret));
	return rc == SQLITE_OK ? 0 : -1;
}

int
auth_check_password(struct webd_auth *a, const char *user, const char *pw)
{
	char hash[crypto_pwhash_STRBYTES] = "";
	sqlite3_stmt *st;
	int found = 0;

	pthread_mutex_lock(&a->mu);
	if (auth_name_ok(user) && sqlite3_prepare_v2(a->db,
	    "SELECT hash FROM users WHERE name = ?1", -1, &st, NULL) ==
	    SQLITE_OK) {
		sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW &&
		    sqlite3_column_bytes(st, 0) < (int)sizeof(hash)) {
			snprintf(hash, sizeof(hash), "%s",
			    (const char *)sqlite3_column_text(st, 0));
			found = 1;
		}
		sqlite3_finalize(st);
	}
	if (!found && a->dummy_hash[0] == '\0' &&
	    crypto_pwhash_str(a->dummy_hash, "evflow", 6,
	    crypto_pwhash_OPSLIMIT_INTERACTIVE,
	    crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
		a->dummy_hash[0] = '\0';
	if (!found)
		memcpy(hash, a->dummy_hash, sizeof(hash));
	pthread_mutex_unlock(&a->mu);
	/* An unknown user costs the same as a wrong password. */
	if (crypto_pwhash_str_verify(hash, pw, strlen(pw)) != 0)
		return 0;
	return found;
}

int
auth_check_token(struct webd_auth *a, const char *secret, char *name,
    size_t namelen)
{
	unsigned char digest[AUTH_DIGEST_BYTES];
	unsigned i;
	int ok = 0;

	if (strlen(secret) != AUTH_TOKEN_BYTES * 2)
		return 0;
	crypto_generichash(digest, sizeof(digest),
	    (const unsigned char *)secret, strlen(secret), NULL, 0);
	pthread_mutex_lock(&a->mu);
	for (i = 0; i < a->ntok; i++)
		if (sodium_memcmp(a->tok[i].digest, digest, sizeof(digest)) ==
		    0) {
			snprintf(name, namelen, "%s", a->tok[i].name);
			ok = 1;
			break;
		}
	pthread_mutex_unlock(&a->mu);
	return ok;
}

static void
auth_random_hex(char *out)
{
	unsigned char r[WEBD_SESSION_ID_LEN / 2];

	randombytes_buf(r, sizeof(r));
	sodium_bin2hex(out, WEBD_SESSION_ID_LEN + 1, r, sizeof(r));
}

int
auth_session_new(struct webd_auth *a, const char *user, char *id, char *csrf)
{
	unsigned char tag[AUTH_PWTAG_BYTES];
	struct session *s, *oldest = NULL;
	unsigned i;

	pthread_mutex_lock(&a->mu);
	if (auth_pwtag(a, user, tag) == -1) {
		pthread_mutex_unlock(&a->mu);
		return -1;
	}
	for (i = 0; i < WEBD_SESSION_MAX; i++) {
		s = &a->sess[i];
		if (s->id[0] == '\0') {
			oldest = s;
			break;
		}
		if (oldest == NULL || s->last_usec < oldest->last_usec)
			oldest = s;
	}
	s = oldest;
	auth_random_hex(s->id);
	auth_random_hex(s->csrf);
	snprintf(s->user, sizeof(s->user), "%s", user);
	memcpy(s->pwtag, tag, sizeof(tag));
	s->last_usec = clock_mono_usec();
	memcpy(id, s->id, sizeof(s->id));
	memcpy(csrf, s->csrf, sizeof(s->csrf));
	pthread_mutex_unlock(&a->mu);
	return 0;
}

/* The live session with id `id`, or NULL.  Caller holds mu. */
static struct session *
auth_session_find(struct webd_auth *a, const char *id)
{
	unsigned i;

	if (strlen(id) != WEBD_SESSION_ID_LEN)
		return NULL;
	for (i = 0; i < WEBD_SESSION_MAX; i++)
		if (a->sess[i].id[0] != '\0' && sodium_memcmp(a->sess[i].id,
		    id, WEBD_SESSION_ID_LEN) == 0)
			return &a->sess[i];
	return NULL;
}

int
auth_session_get(struct webd_auth *a, const char *id, char *user,
    size_t userlen, char *csrf, size_t csrflen)
{
	struct session *s;
	uint64_t now = clock_mono_usec();
	int ok = 0;

	pthread_mutex_lock(&a->mu);
	if ((s = auth_session_find(a, id)) != NULL) {
		if (now - s->last_usec > a->ttl_usec)
			memset(s, 0, sizeof(*s));
		else {
			s->last_usec = now;
			snprintf(user, userlen, "%s", s->user);
			snprintf(csrf, csrflen, "%s", s->csrf);
			ok = 1;
		}
	}
	pthread_mutex_unlock(&a->mu);
	return ok;
}

void
auth_session_end(struct webd_auth *a, const char *id)
{
	struct session *s;

	pthread_mutex_lock(&a->mu);
	if ((s = auth_session_find(a, id)) != NULL)
		memset(s, 0, sizeof(*s));
	pthread_mutex_unlock(&a->mu);
}

/* Drops idle sessions; when another process changed the credentials
 * file (`--set-password`, `--add-token`, `--revoke-token` while webd
 * runs), reloads the token cache and ends the sessions whose password
 * changed.  Called by the main loop once a tick. */
void
auth_expire(struct webd_auth *a)
{
	uint64_t now = clock_mono_usec();
	long long dv;
	unsigned i;

	pthread_mutex_lock(&a->mu);
	for (i = 0; i < WEBD_SESSION_MAX; i++)
		if (a->sess[i].id[0] != '\0' &&
		    now - a->sess[i].last_usec > a->ttl_usec)
			sodium_memzero(&a->sess[i], sizeof(a->sess[i]));
	dv = auth_data_version(a);
	if (dv != a->data_version || now - a->reloaded_usec >
	    AUTH_RELOAD_USEC) {
		a->data_version = dv;
		auth_load_tokens(a);
		auth_check_sessions(a);
	}
	pthread_mutex_unlock(&a->mu);
}

/* A token's id: the first AUTH_TOKEN_ID_BYTES of its digest in hex.  It
 * names the token for `--revoke-token` without revealing anything of use
 * (the secret is 256 random bits) and is never reused, unlike a rowid. */
#define AUTH_TOKEN_ID_SQL	"lower(hex(substr(digest, 1, 6)))"

int
auth_list_tokens(struct webd_auth *a, struct buf *out)
{
	sqlite3_stmt *st;
	int n = 0;

	pthread_mutex_lock(&a->mu);
	if (sqlite3_prepare_v2(a->db, "SELECT " AUTH_TOKEN_ID_SQL ", name,"
	    " coalesce(strftime('%Y-%m-%dT%H:%M:%SZ', created, 'unixepoch'),"
	    " '-') FROM tokens ORDER BY created, rowid", -1, &st, NULL) !=
	    SQLITE_OK) {
		pthread_mutex_unlock(&a->mu);
		return -1;
	}
	while (sqlite3_step(st) == SQLITE_ROW) {
		buf_printf(out, "%s\t%s\t%s\n",
		    (const char *)sqlite3_column_text(st, 0),
		    (const char *)sqlite3_column_text(st, 1),
		    (const char *)sqlite3_column_text(st, 2));
		n++;
	}
	sqlite3_finalize(st);
	pthread_mutex_unlock(&a->mu);
	return n;
}

int
auth_revoke_token(struct webd_auth *a, const char *which, char *err,
    size_t errlen)
{
	sqlite3_stmt *st;
	long long rowid = -1;
	int n = 0, rc;

	if (!auth_name_ok(which)) {
		snprintf(err, errlen, "expected a token id or name");
		return -1;
	}
	pthread_mutex_lock(&a->mu);
	rc = sqlite3_prepare_v2(a->db, "SELECT rowid FROM tokens WHERE"
	    " name = ?1 OR " AUTH_TOKEN_ID_SQL " = lower(?1)", -1, &st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_text(st, 1, which, -1, SQLITE_STATIC);
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			rowid = sqlite3_column_int64(st, 0);
			n++;
		}
		rc = rc == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
		sqlite3_finalize(st);
	}
	if (rc == SQLITE_OK && n == 1) {
		rc = sqlite3_prepare_v2(a->db, "DELETE FROM tokens WHERE"
		    " rowid = ?1", -1, &st, NULL);
		if (rc == SQLITE_OK) {
			sqlite3_bind_int64(st, 1, rowid);
			rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK :
			    SQLITE_ERROR;
			sqlite3_finalize(st);
		}
	}
	if (rc != SQLITE_OK)
		snprintf(err, errlen, "credentials: %s", sqlite3_errmsg(a->db));
	else if (n == 0)
		snprintf(err, errlen, "no token %s", which);
	else if (n > 1)
		snprintf(err, errlen, "%s names more than one token: use its"
		    " id (--list-tokens)", which);
	else
		auth_load_tokens(a);
	pthread_mutex_unlock(&a->mu);
	return rc == SQLITE_OK && n == 1 ? 0 : -1;
}
