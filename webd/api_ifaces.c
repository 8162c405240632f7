/*
 * /api/v1/interfaces: the interface table with each interface's store
 * counters, and the router's live table (settings and dispatch counters); /api/v1/interfaces/settings: mirrored and companion changes,
 * forwarded to the router's control socket, which applies the rules
 * (a companion must be a mirrored packet interface, ...) and tells the
 * store.  A refusal by the router is relayed as a 409 with its text.
 */
#include <stdio.h>
#include <string.h>

#include <cJSON.h>

#include "common/log.h"
#include "query.h"
#include "webd.h"

#define IFACE_NAME_MAX	255

void
api_ifaces(struct webd *w, struct req *q, struct resp *r)
{
	struct query qy;
	struct db_conn *c;
	sqlite3_stmt *st;

	query_init(&qy, none_params, NULL, 0);
	if (req_query(q, &qy, r) == -1)
		return;
	if ((c = req_db(w, r)) == NULL)
		return;
	st = db_prepare(c, "SELECT i.id, i.name, i.kind, i.router_id,"
	    " " MIRRORED_JSON("i.mirrored") " AS j_mirrored, i.companion,"
	    " i.first_seen, i.last_seen,"
	    " (SELECT json_group_object(substr(d.key, length(i.name) + 8),"
	    "   d.value) FROM daemon_counters d WHERE d.role = 'store'"
	    "   AND substr(d.key, 1, length(i.name) + 7) = 'iface.' || i.name"
	    "   || '.') AS j_counters,"
	    " (SELECT count(*) FROM flow_rows f WHERE f.iface_id = i.id AND"
	    "   f.last_seen >= (julianday('now') - 2440587.5) * 86400.0 - 120)"
	    "   AS recent_flows"
	    " FROM interfaces i ORDER BY i.router_id IS NULL, i.router_id,"
	    " i.name");
	if (st == NULL) {
		db_fail(w, c, r);
		goto out;
	}
	buf_puts(&r->body, "{\"interfaces\":");
	if (json_rows(&r->body, st) == -1) {
		db_fail(w, c, r);
		goto out;
	}
	/* The router's own table, live: its settings apply at once (the
	 * store's copy follows within a second) and its per-interface
	 * dispatch counters. */
	buf_puts(&r->body, ",\"router\":");
	live_member_json(w->live, w->conf.router, "interfaces", &r->body);
	buf_puts(&r->body, "}");
out:
	db_put(w->db, c);
}

/* 1 if `s` can be sent as one word of a control request. */
static int
iface_name_ok(const char *s)
{
	size_t n = strlen(s), i;

	if (n == 0 || n > IFACE_NAME_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] <= ' ' || s[i] == 0x7f)
			return 0;
	return 1;
}

/* Sends one "iface set" to the router; fills r on failure.  0 or -1. */
static int
iface_set(struct webd *w, struct resp *r, const char *name, const char *key,
    const char *val)
{
	char cmd[IFACE_NAME_MAX * 2 + 64], msg[256];
	struct buf out;
	size_t i;
	int rc;

	snprintf(cmd, sizeof(cmd), "iface set %s %s %s", name, key, val);
	buf_init(&out);
	rc = live_command(w->live, w->conf.router, cmd, &out);
	if (rc == -1) {
		WEBD_COUNT(w, WC_CTL_ERRORS);
		resp_error(r, 502, "the router is not reachable");
	} else if (rc == 1) {
		/* The router's refusal is meant for the operator: relay it,
		 * bounded and printable. */
		snprintf(msg, sizeof(msg), "%.*s", (int)(out.len < 200 ?
		    out.len : 200), out.p ? out.p : "refused");
		for (i = 0; msg[i] != '\0'; i++)
			if ((unsigned char)msg[i] < ' ')
				msg[i] = ' ';
		resp_error(r, 409, msg);
	} else
		log_info("interface %s: %s = %s", name, key, val);
	buf_free(&out);
	return rc == 0 ? 0 : -1;
}

void
api_iface_set(struct webd *w, struct req *q, struct resp *r)
{
	const cJSON *name, *mir, *comp;
	int applied = 0;
	cJSON *j;

	if ((j = req_json(q, r)) == NULL)
		return;
	name = cJSON_GetObjectItemCaseSensitive(j, "name");
	mir = cJSON_GetObjectItemCaseSensitive(j, "mirrored");
	comp = cJSON_GetObjectItemCaseSensitive(j, "companion");
	if (!cJSON_IsString(name) || !iface_name_ok(name->valuestring)) {
		resp_error(r, 400, "name: expected an interface name");
		goto out;
	}
	if (mir == NULL && comp == NULL) {
		resp_error(r, 400, "expected \"mirrored\" or \"companion\"");
		goto out;
	}
	if (mir != NULL && !cJSON_IsBool(mir)) {
		resp_error(r, 400, "mirrored: expected true or false");
		goto out;
	}
	if (comp != NULL && !cJSON_IsNull(comp) && (!cJSON_IsString(comp) ||
	    !iface_name_ok(comp->valuestring) ||
	    strcmp(comp->valuestring, "none") == 0)) {
		resp_error(r, 400, "companion: expected an interface name or"
		    " null");
		goto out;
	}
	if (mir != NULL && iface_set(w, r, name->valuestring, "mirrored",
	    cJSON_IsTrue(mir) ? "yes" : "no") == -1)
		goto out;
	applied = 1;
	if (comp != NULL && iface_set(w, r, name->valuestring, "companion",
	    cJSON_IsNull(comp) ? "none" : comp->valuestring) == -1)
		goto out;
	buf_puts(&r->body, "{\"ok\":true,\"name\":");
	buf_json_str(&r->body, name->valuestring);
	buf_puts(&r->body, "}");
out:
	/* What the router applied shows in its live table (GET
	 * /api/v1/interfaces) from the answer on, not a second later. */
	if (applied || r->status == 200)
		live_refresh_one(w->live, w->conf.router);
	cJSON_Delete(j);
}
