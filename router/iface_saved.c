/*
 * Runtime interface settings survive restarts: the store persists each
 * change the router sends (EVP_IFACE with EVP_IFACE_F_CHANGED) in table
 * interface_settings(name, mirrored, companion, updated) and the router
 * reads it back here at start, read-only, over the configuration.
 *
 * Rows are applied in three passes so that their order does not matter:
 * interfaces becoming mirrored, then companions, then interfaces losing
 * mirrored (which the rules refuse while they are still a companion).
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "common/log.h"
#include "router.h"

#define SAVED_BUSY_MS	2000	/* wait for the store's write lock */

enum saved_pass { PASS_MIRROR_ON, PASS_COMPANION, PASS_MIRROR_OFF };

/* 1 if the database has table interface_settings, 0 if not, -1. */
static int
has_table(sqlite3 *db)
{
	sqlite3_stmt *st;
	int r;

	if (sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_master WHERE "
	    "type = 'table' AND name = 'interface_settings'", -1, &st,
	    NULL) != SQLITE_OK)
		return -1;
	r = sqlite3_step(st);
	sqlite3_finalize(st);
	if (r == SQLITE_ROW)
		return 1;
	return r == SQLITE_DONE ? 0 : -1;
}

/* Applies one row in pass `pass`.  Returns 1 if applied, 0 if not. */
static int
apply_row(struct iface_table *t, enum saved_pass pass, const char *name,
    int mirrored, const char *companion)
{
	char why[256];
	struct iface *i;
	int r = 0;

	if ((i = iface_table_find(t, name)) == NULL) {
		if (pass == PASS_MIRROR_ON)
			log_info("saved settings for undeclared interface "
			    "'%s' ignored", name);
		return 0;
	}
	switch (pass) {
	case PASS_MIRROR_ON:
		if (mirrored && i->kind == EVP_IFACE_PACKET)
			r = iface_table_set_mirrored(t, name, 1, why,
			    sizeof(why)) == 0;
		break;
	case PASS_COMPANION:
		if (i->kind != EVP_IFACE_ZMQ)
			return 0;
		r = iface_table_set_companion(t, name, companion[0] ?
		    companion : "none", why, sizeof(why)) == 0;
		if (!r)
			log_warnx("saved companion of '%s' not applied: %s",
			    name, why);
		break;
	case PASS_MIRROR_OFF:
		if (mirrored || i->kind != EVP_IFACE_PACKET)
			return 0;
		r = iface_table_set_mirrored(t, name, 0, why,
		    sizeof(why)) == 0;
		if (!r)
			log_warnx("saved 'mirrored no' of '%s' not applied: "
			    "%s", name, why);
		break;
	}
	i->changed = 0;		/* it is what the store already has */
	return r;
}

int
iface_saved_apply(struct iface_table *t, const char *path, char *err,
    size_t errlen)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	enum saved_pass pass;
	const unsigned char *name, *comp;
	int r, applied = 0;

	if (access(path, F_OK) == -1)
		return 0;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) !=
	    SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path, db ? sqlite3_errmsg(db) :
		    "out of memory");
		sqlite3_close(db);
		return -1;
	}
	sqlite3_busy_timeout(db, SAVED_BUSY_MS);
	if ((r = has_table(db)) != 1) {
		if (r == -1)
			snprintf(err, errlen, "%s: %s", path,
			    sqlite3_errmsg(db));
		sqlite3_close(db);
		return r;
	}
	if (sqlite3_prepare_v2(db, "SELECT name, mirrored, companion FROM "
	    "interface_settings", -1, &st, NULL) != SQLITE_OK)
		goto fail;
	for (pass = PASS_MIRROR_ON; pass <= PASS_MIRROR_OFF; pass++) {
		while ((r = sqlite3_step(st)) == SQLITE_ROW) {
			name = sqlite3_column_text(st, 0);
			comp = sqlite3_column_text(st, 2);
			if (name == NULL)
				continue;
			applied += apply_row(t, pass, (const char *)name,
			    sqlite3_column_int(st, 1) != 0,
			    comp ? (const char *)comp : "");
		}
		if (r != SQLITE_DONE)
			goto fail;
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	return applied;
fail:
	snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(db));
	sqlite3_finalize(st);
	sqlite3_close(db);
	return -1;
}
