/*
 * SQLite rows as JSON: every API answer is built from prepared
 * statements whose column names (or aliases) are the JSON keys.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "webd.h"

void
json_col(struct buf *b, sqlite3_stmt *st, int i)
{
	double d;

	switch (sqlite3_column_type(st, i)) {
	case SQLITE_INTEGER:
		buf_printf(b, "%lld", (long long)sqlite3_column_int64(st, i));
		break;
	case SQLITE_FLOAT:
		d = sqlite3_column_double(st, i);
		if (isfinite(d))
			buf_printf(b, "%.16g", d);
		else
			buf_puts(b, "null");
		break;
	case SQLITE_TEXT:
		buf_json_strn(b, (const char *)sqlite3_column_text(st, i),
		    (size_t)sqlite3_column_bytes(st, i));
		break;
	default:
		buf_puts(b, "null");
		break;
	}
}

void
json_row(struct buf *b, sqlite3_stmt *st)
{
	int i, n = sqlite3_column_count(st), first = 1;
	const char *name;

	buf_puts(b, "{");
	for (i = 0; i < n; i++) {
		name = sqlite3_column_name(st, i);
		if (name == NULL || name[0] == '_')
			continue;
		if (!first)
			buf_puts(b, ",");
		first = 0;
		if (strncmp(name, "j_", 2) == 0) {
			/* JSON built by SQLite's json functions: embed. */
			buf_json_str(b, name + 2);
			buf_puts(b, ":");
			if (sqlite3_column_type(st, i) == SQLITE_TEXT)
				buf_add(b, sqlite3_column_text(st, i),
				    (size_t)sqlite3_column_bytes(st, i));
			else
				buf_puts(b, "null");
			continue;
		}
		buf_json_str(b, name);
		buf_puts(b, ":");
		json_col(b, st, i);
	}
	buf_puts(b, "}");
}

int
json_rows(struct buf *b, sqlite3_stmt *st)
{
	int rc, n = 0;

	buf_puts(b, "[");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n++)
			buf_puts(b, ",");
		json_row(b, st);
	}
	buf_puts(b, "]");
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? n : -1;
}
