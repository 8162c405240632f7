/*
 * Unit test of webd/json.c: strings from the database leave as valid
 * UTF-8 JSON whatever bytes a producer stored (invalid bytes become
 * U+FFFD and are counted), bidirectional controls are \u-escaped, and
 * the escapes decode back to the same text (cJSON parses the output).
 * Rows come from a real SQLite statement.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "t.h"
#include "webd/webd.h"
#include "tests/unit/t_utf8.h"

/* json_str() of s[0..n) must be exactly `want`. */
static void
str_is(const char *s, size_t n, const char *want)
{
	struct buf b;

	buf_init(&b);
	json_str(&b, s, n);
	CHECK(buf_ok(&b));
	CHECK(t_utf8_valid((const unsigned char *)b.p, b.len, 0));
	if (strcmp(b.p, want) != 0) {
		t_failed++;
		fprintf(stderr, "json_str: got %s, want %s\n", b.p, want);
	}
	t_checks++;
	buf_free(&b);
}

static void
test_strings(void)
{
	uint64_t bad0 = json_bad_utf8();

	str_is("curl", 4, "\"curl\"");
	str_is("a\"b\\c\n\x01\x7f", 8, "\"a\\\"b\\\\c\\u000a\\u0001\\u007f\"");
	/* Valid multi-byte text passes unchanged. */
	str_is("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 14,
	    "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
	CHECK_EQ_U(json_bad_utf8() - bad0, 0);
	/* Invalid bytes: each becomes U+FFFD. */
	str_is("A\xff" "B", 3, "\"A\xef\xbf\xbd" "B\"");
	str_is("\xc3", 1, "\"\xef\xbf\xbd\"");		/* truncated */
	str_is("\xc0\xaf", 2, "\"\xef\xbf\xbd\xef\xbf\xbd\"");	/* overlong */
	str_is("\xed\xa0\x80", 3,				/* surrogate */
	    "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"");
	str_is("\xf4\x90\x80\x80", 4,				/* > U+10FFFF */
	    "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"");
	str_is("\xe2\x82", 2, "\"\xef\xbf\xbd\xef\xbf\xbd\"");	/* cut */
	str_is("ok\x80\xc3\xa9", 5, "\"ok\xef\xbf\xbd\xc3\xa9\"");
	CHECK_EQ_U(json_bad_utf8() - bad0, 1 + 1 + 2 + 3 + 4 + 2 + 1);
	/* Bidi controls and line separators: escaped, the rest copied. */
	str_is("evil\xe2\x80\xae" "1234", 11, "\"evil\\u202e1234\"");
	str_is("\xe2\x80\xaa\xe2\x80\xab\xe2\x80\xac\xe2\x80\xad", 12,
	    "\"\\u202a\\u202b\\u202c\\u202d\"");
	str_is("\xe2\x81\xa6x\xe2\x81\xa7y\xe2\x81\xa8z\xe2\x81\xa9", 15,
	    "\"\\u2066x\\u2067y\\u2068z\\u2069\"");
	str_is("\xe2\x80\x8e\xe2\x80\x8f\xd8\x9c", 8,
	    "\"\\u200e\\u200f\\u061c\"");
	str_is("a\xe2\x80\xa8" "b\xe2\x80\xa9", 8, "\"a\\u2028b\\u2029\"");
	/* Neighbours of the escaped ranges are plain text. */
	str_is("\xe2\x80\xa9\xe2\x80\xaf", 6, "\"\\u2029\xe2\x80\xaf\"");
	str_is("", 0, "\"\"");
}

/* A real statement: rows whose text holds invalid UTF-8 and bidi
 * controls render as JSON that cJSON parses, with U+FFFD for the bad
 * bytes and the controls decoded back to themselves. */
static void
test_rows(void)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	struct buf b;
	cJSON *j, *row;
	const char *name, *raw;

	CHECK(sqlite3_open(":memory:", &db) == SQLITE_OK);
	CHECK(sqlite3_exec(db, "CREATE TABLE t (id INTEGER, name TEXT,"
	    " info TEXT);"
	    "INSERT INTO t VALUES (1, CAST(x'2f7573722f62696eff2fe280ae6c7275' AS"
	    " TEXT), json_object('k', CAST(x'41c3' AS TEXT)));"
	    "INSERT INTO t VALUES (2, 'plain', NULL);", NULL, NULL, NULL) ==
	    SQLITE_OK);
	CHECK(sqlite3_prepare_v2(db, "SELECT id, name, info AS j_info FROM t"
	    " ORDER BY id", -1, &st, NULL) == SQLITE_OK);
	buf_init(&b);
	CHECK(json_rows(&b, st) == 2);
	CHECK(buf_ok(&b));
	CHECK(t_utf8_valid((const unsigned char *)b.p, b.len, 0));
	/* The raw bytes never appear; the escape does. */
	CHECK(strstr(b.p, "\xe2\x80\xae") == NULL);
	CHECK(strstr(b.p, "\\u202e") != NULL);
	j = cJSON_Parse(b.p);
	CHECK(cJSON_IsArray(j) && cJSON_GetArraySize(j) == 2);
	row = cJSON_GetArrayItem(j, 0);
	name = cJSON_GetStringValue(cJSON_GetObjectItem(row, "name"));
	CHECK_STR(name, "/usr/bin\xef\xbf\xbd/\xe2\x80\xaelru");
	raw = cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(row,
	    "info"), "k"));
	CHECK_STR(raw, "A\xef\xbf\xbd");
	row = cJSON_GetArrayItem(j, 1);
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(row, "name")),
	    "plain");
	CHECK(cJSON_IsNull(cJSON_GetObjectItem(row, "info")));
	cJSON_Delete(j);
	buf_free(&b);
	sqlite3_finalize(st);
	sqlite3_close(db);
}

int
main(void)
{
	test_strings();
	test_rows();
	return t_done("test_webd_json");
}
