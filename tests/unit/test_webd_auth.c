/*
 * Unit test of webd/auth.c and webd/rate.c with a real credentials file
 * (SQLite in a temporary directory) and real libsodium: passwords,
 * read-only tokens, sessions and their CSRF tokens, the rate limiter.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "t.h"
#include "webd/webd.h"

int
main(void)
{
	char dir[] = "/tmp/test_webd_auth.XXXXXX", path[256], err[256];
	char tok[128], tok2[128], name[64], id[WEBD_SESSION_ID_LEN + 1];
	char csrf[WEBD_SESSION_ID_LEN + 1], user[64], c2[WEBD_SESSION_ID_LEN + 1];
	struct webd_auth *a;
	struct webd_rate *r;
	int i, ok;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/webd.db", dir);
	a = auth_new(path, 3600, err, sizeof(err));
	CHECK(a != NULL);
	if (a == NULL)
		return t_done("test_webd_auth");

	/* Passwords. */
	CHECK_EQ_U(auth_user_count(a), 0);
	CHECK(auth_set_password(a, "admin", "short", err, sizeof(err)) == -1);
	CHECK(auth_set_password(a, "bad name", "long enough", err,
	    sizeof(err)) == -1);
	CHECK(auth_set_password(a, "", "long enough", err, sizeof(err)) == -1);
	CHECK(auth_set_password(a, "admin", "correct horse", err,
	    sizeof(err)) == 0);
	CHECK_EQ_U(auth_user_count(a), 1);
	CHECK(auth_check_password(a, "admin", "correct horse") == 1);
	CHECK(auth_check_password(a, "admin", "correct horsE") == 0);
	CHECK(auth_check_password(a, "admin", "") == 0);
	CHECK(auth_check_password(a, "nobody", "correct horse") == 0);
	CHECK(auth_check_password(a, "admin' OR '1'='1", "x") == 0);
	/* The stored form is an argon2id hash, not the password. */
	{
		char cmd[400];
		FILE *p;
		char line[256] = "";

		snprintf(cmd, sizeof(cmd), "sqlite3 %s 'SELECT hash FROM users'"
		    " 2>/dev/null", path);
		if ((p = popen(cmd, "r")) != NULL) {
			if (fgets(line, sizeof(line), p) != NULL) {
				CHECK(strncmp(line, "$argon2id$", 10) == 0);
				CHECK(strstr(line, "correct horse") == NULL);
			}
			pclose(p);
		}
	}
	/* A new password replaces the old one. */
	CHECK(auth_set_password(a, "admin", "battery staple", err,
	    sizeof(err)) == 0);
	CHECK(auth_check_password(a, "admin", "correct horse") == 0);
	CHECK(auth_check_password(a, "admin", "battery staple") == 1);

	/* Tokens: shown once, stored as a digest, checked in constant time. */
	CHECK(auth_add_token(a, "prom", tok, sizeof(tok), err, sizeof(err)) == 0);
	CHECK_EQ_U(strlen(tok), 64);
	CHECK(auth_add_token(a, "prom", tok2, sizeof(tok2), err,
	    sizeof(err)) == -1);	/* names are unique */
	CHECK(auth_add_token(a, "scripts", tok2, sizeof(tok2), err,
	    sizeof(err)) == 0);
	CHECK(strcmp(tok, tok2) != 0);
	CHECK(auth_check_token(a, tok, name, sizeof(name)) == 1);
	CHECK_STR(name, "prom");
	CHECK(auth_check_token(a, tok2, name, sizeof(name)) == 1);
	CHECK_STR(name, "scripts");
	tok[10] = tok[10] == 'a' ? 'b' : 'a';
	CHECK(auth_check_token(a, tok, name, sizeof(name)) == 0);
	CHECK(auth_check_token(a, "", name, sizeof(name)) == 0);
	CHECK(auth_check_token(a, "abc", name, sizeof(name)) == 0);

	/* Sessions. */
	CHECK(auth_session_new(a, "admin", id, csrf) == 0);
	CHECK_EQ_U(strlen(id), WEBD_SESSION_ID_LEN);
	CHECK_EQ_U(strlen(csrf), WEBD_SESSION_ID_LEN);
	CHECK(strcmp(id, csrf) != 0);
	CHECK(auth_session_get(a, id, user, sizeof(user), c2, sizeof(c2)) == 1);
	CHECK_STR(user, "admin");
	CHECK_STR(c2, csrf);
	CHECK(auth_session_get(a, csrf, user, sizeof(user), c2,
	    sizeof(c2)) == 0);	/* the CSRF token is not a session id */
	CHECK(auth_session_get(a, "short", user, sizeof(user), c2,
	    sizeof(c2)) == 0);
	auth_session_end(a, id);
	CHECK(auth_session_get(a, id, user, sizeof(user), c2, sizeof(c2)) == 0);
	/* More sessions than slots: the oldest go, the newest stay. */
	for (i = 0; i < WEBD_SESSION_MAX + 5; i++)
		CHECK(auth_session_new(a, "admin", id, csrf) == 0);
	CHECK(auth_session_get(a, id, user, sizeof(user), c2, sizeof(c2)) == 1);
	auth_expire(a);
	CHECK(auth_session_get(a, id, user, sizeof(user), c2, sizeof(c2)) == 1);
	auth_free(a);

	/* The file persists users and tokens across restarts. */
	a = auth_new(path, 3600, err, sizeof(err));
	CHECK(a != NULL);
	if (a != NULL) {
		CHECK(auth_check_password(a, "admin", "battery staple") == 1);
		CHECK(auth_check_token(a, tok2, name, sizeof(name)) == 1);
		auth_free(a);
	}

	/* Rate: a burst of 5 at 1/s, then refusals; other clients unaffected. */
	r = rate_new(1, 5);
	CHECK(r != NULL);
	ok = 0;
	for (i = 0; i < 20; i++)
		ok += rate_allow(r, "192.0.2.1", 1.0);
	CHECK(ok >= 5 && ok <= 6);
	CHECK(rate_allow(r, "192.0.2.2", 1.0) == 1);
	rate_free(r);
	r = rate_new(0, 0);	/* off */
	for (i = 0, ok = 0; i < 100; i++)
		ok += rate_allow(r, "192.0.2.1", 1.0);
	CHECK_EQ_U(ok, 100);
	rate_free(r);

	snprintf(path, sizeof(path), "rm -rf %s", dir);
	CHECK(system(path) == 0);
	return t_done("test_webd_auth");
}
