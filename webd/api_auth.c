/*
 * /api/v1/session, /api/v1/login, /api/v1/logout.
 *
 * A login sets an HttpOnly, SameSite=Strict session cookie (Secure with
 * TLS) and returns the session's CSRF token, which the UI sends in
 * X-CSRF-Token on every write.  Login attempts are rate limited per
 * client address (webd.login_rate per minute; IPv6 per /64) and per
 * account name (webd.login_account_rate, whatever the address), on top
 * of the general limit.  Every attempt that gets past the limits costs
 * one password hash, whether the body is valid, the user exists or not,
 * so probing is as slow as guessing.
 */
#include <stdio.h>
#include <string.h>

#include <cJSON.h>

#include "common/log.h"
#include "webd.h"

void
api_session(struct webd *w, struct req *q, struct resp *r)
{
	if (q->auth == AUTH_SESSION) {
		buf_puts(&r->body, "{\"user\":");
		buf_json_str(&r->body, q->user);
		buf_puts(&r->body, ",\"csrf\":");
		buf_json_str(&r->body, q->csrf);
		buf_puts(&r->body, ",\"kind\":\"session\"}");
		return;
	}
	if (q->auth == AUTH_TOKEN) {
		buf_puts(&r->body, "{\"user\":");
		buf_json_str(&r->body, q->user);
		buf_puts(&r->body, ",\"kind\":\"token\"}");
		return;
	}
	resp_error(r, 401, auth_user_count(w->auth) == 0 ?
	    "no user is configured: run evflow-webd --set-password USER" :
	    "authentication required");
}

/* A refused login: one failure counted and logged, one 401/400. */
static void
login_failed(struct webd *w, struct req *q, struct resp *r, unsigned status,
    const char *msg)
{
	WEBD_COUNT(w, WC_LOGIN_FAILED);
	LOG_RATELIMITED(log_warnx, "login failed from %s", q->client);
	resp_error(r, status, msg);
}

void
api_login(struct webd *w, struct req *q, struct resp *r)
{
	char id[WEBD_SESSION_ID_LEN + 1], csrf[WEBD_SESSION_ID_LEN + 1];
	char msg[96];
	const cJSON *u, *p;
	unsigned wait = 1;
	cJSON *j;

	if (!rate_allow_wait(w->login_rate, q->client, 1.0, &wait)) {
		WEBD_COUNT(w, WC_REJ_RATE);
		snprintf(msg, sizeof(msg), "too many login attempts, retry in"
		    " %u s", wait);
		resp_error(r, 429, msg);
		r->retry_after = wait;
		return;
	}
	if (auth_user_count(w->auth) == 0) {
		LOG_RATELIMITED(log_warnx, "login refused: no user configured;"
		    " run evflow-webd --set-password USER");
		resp_error(r, 503, "no user is configured: run evflow-webd"
		    " --set-password USER on the server");
		return;
	}
	j = q->body != NULL ? cJSON_ParseWithLength(q->body, q->body_len) :
	    NULL;
	u = cJSON_GetObjectItemCaseSensitive(j, "user");
	p = cJSON_GetObjectItemCaseSensitive(j, "password");
	if (!cJSON_IsObject(j) || !cJSON_IsString(u) || !cJSON_IsString(p) ||
	    strlen(u->valuestring) >= WEBD_USER_LEN ||
	    strlen(p->valuestring) > 1024) {
		/* Costs what a wrong password costs (the dummy hash). */
		(void)auth_check_password(w->auth, "", "");
		cJSON_Delete(j);
		login_failed(w, q, r, 400,
		    "expected {\"user\": text, \"password\": text}");
		return;
	}
	if (!rate_allow_wait(w->login_account, u->valuestring, 1.0, &wait)) {
		WEBD_COUNT(w, WC_REJ_LOGIN_ACCOUNT);
		LOG_RATELIMITED(log_warnx, "login attempts for one account"
		    " over webd.login_account_rate, from %s", q->client);
		cJSON_Delete(j);
		snprintf(msg, sizeof(msg), "too many login attempts for this"
		    " account, retry in %u s", wait);
		resp_error(r, 429, msg);
		r->retry_after = wait;
		return;
	}
	if (!auth_check_password(w->auth, u->valuestring, p->valuestring) ||
	    auth_session_new(w->auth, u->valuestring, id, csrf) == -1) {
		cJSON_Delete(j);
		login_failed(w, q, r, 401, "wrong user or password");
		return;
	}
	WEBD_COUNT(w, WC_LOGIN_OK);
	snprintf(r->cookie, sizeof(r->cookie), "evflow_session=%s; Path=/;"
	    " HttpOnly; SameSite=Strict%s", id, w->tls ? "; Secure" : "");
	buf_puts(&r->body, "{\"user\":");
	buf_json_str(&r->body, u->valuestring);
	buf_puts(&r->body, ",\"csrf\":");
	buf_json_str(&r->body, csrf);
	buf_puts(&r->body, ",\"kind\":\"session\"}");
	log_info("login: %s from %s", u->valuestring, q->client);
	cJSON_Delete(j);
}

void
api_logout(struct webd *w, struct req *q, struct resp *r)
{
	auth_session_end(w->auth, q->session);
	snprintf(r->cookie, sizeof(r->cookie), "evflow_session=; Path=/;"
	    " HttpOnly; SameSite=Strict; Max-Age=0%s",
	    w->tls ? "; Secure" : "");
	buf_puts(&r->body, "{\"ok\":true}");
}
