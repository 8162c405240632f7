/*
 * SQLite rows as JSON: every API answer is built from prepared
 * statements whose column names (or aliases) are the JSON keys.
 *
 * Text from the database is whatever producers sent (the store keeps
 * their bytes): it leaves here as valid UTF-8, invalid bytes replaced by
 * U+FFFD, bidirectional controls escaped (json_text()).
 *
 * This is the hot path of the flows endpoint (a page is ~3,000 values),
 * so values are formatted by hand rather than through printf, strings
 * are copied in runs, and a statement's keys are rendered once per
 * request (struct json_keys), not once per row.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "webd.h"

/* buf_add() without the call when the buffer has room: most appends in
 * a page are a few bytes into an already grown buffer. */
static inline void
jadd(struct buf *b, const void *d, size_t n)
{
	if (b->len + n + 1 <= b->cap && !b->failed) {
		memcpy(b->p + b->len, d, n);
		b->len += n;
		b->p[b->len] = '\0';
	} else
		buf_add(b, d, n);
}

/* Invalid UTF-8 bytes replaced since start, all threads (see webd.h). */
static _Atomic uint64_t json_bad_bytes;

uint64_t
json_bad_utf8(void)
{
	return json_bad_bytes;
}

/* The length (2-4) of the UTF-8 sequence at s[0..n) and its code point
 * in *cp, or 0 if it is not a valid one (overlong, surrogate, beyond
 * U+10FFFF, truncated). */
static size_t
utf8_seq(const unsigned char *s, size_t n, unsigned *cp)
{
	unsigned c = s[0], min;
	size_t len, i;

	if (c >= 0xc2 && c <= 0xdf) {
		len = 2; c &= 0x1f; min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3; c &= 0x0f; min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4; c &= 0x07; min = 0x10000;
	} else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

/* Code points written as \uXXXX although JSON allows them raw: the
 * bidirectional controls (a U+202E in a process name would reverse the
 * text around it in a terminal or a careless page) and the line
 * separators that old JavaScript parsers choke on. */
static int
json_escape_cp(unsigned cp)
{
	return cp == 0x061c || cp == 0x200e || cp == 0x200f ||
	    (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) ||
	    cp == 0x2028 || cp == 0x2029;
}

/*
 * Copies s[0..n) as the inside of a JSON string (quote = 1: ASCII
 * controls, quote and backslash escaped) or as JSON text made by
 * SQLite's JSON functions (quote = 0: ASCII copied as is).  Either way
 * the output is valid UTF-8: each byte that is not part of a valid
 * sequence becomes U+FFFD (and is counted), and the code points of
 * json_escape_cp() become \uXXXX.  Plain runs are copied in one go.
 */
static void
json_text(struct buf *b, const char *s, size_t n, int quote)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, run = 0, len;
	unsigned c, cp;
	char esc[6];

	while (i < n) {
		/* The plain run: printable ASCII in a string, any ASCII in
		 * JSON text. */
		if (quote)
			while (i < n && u[i] >= 0x20 && u[i] < 0x7f &&
			    u[i] != '"' && u[i] != '\\')
				i++;
		else
			while (i < n && u[i] < 0x80)
				i++;
		if (i == n)
			break;
		c = u[i];
		if (c < 0x80) {
			cp = c;		/* an ASCII byte to escape */
			len = 1;
		} else if ((len = utf8_seq(u + i, n - i, &cp)) == 0) {
			if (i > run)
				jadd(b, s + run, i - run);
			jadd(b, "\xef\xbf\xbd", 3);	/* U+FFFD */
			json_bad_bytes++;
			run = ++i;
			continue;
		} else if (!json_escape_cp(cp)) {
			i += len;
			continue;
		}
		if (i > run)
			jadd(b, s + run, i - run);
		i += len;
		run = i;
		if (cp == '"' || cp == '\\') {
			esc[0] = '\\';
			esc[1] = (char)cp;
			jadd(b, esc, 2);
			continue;
		}
		esc[0] = '\\';
		esc[1] = 'u';
		esc[2] = hex[(cp >> 12) & 15];
		esc[3] = hex[(cp >> 8) & 15];
		esc[4] = hex[(cp >> 4) & 15];
		esc[5] = hex[cp & 15];
		jadd(b, esc, 6);
	}
	if (n > run)
		jadd(b, s + run, n - run);
}

void
json_str(struct buf *b, const char *s, size_t n)
{
	jadd(b, "\"", 1);
	json_text(b, s, n, 1);
	jadd(b, "\"", 1);
}

void
json_raw(struct buf *b, const char *s, size_t n)
{
	json_text(b, s, n, 0);
}

void
json_int(struct buf *b, long long v)
{
	char tmp[24], *p = tmp + sizeof(tmp);
	unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v :
	    (unsigned long long)v;

	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u != 0);
	if (v < 0)
		*--p = '-';
	jadd(b, p, (size_t)(tmp + sizeof(tmp) - p));
}

/* Reals are times (unix seconds, microseconds) and milliseconds: six
 * decimals, trailing zeros trimmed.  Very large values use %.17g. */
void
json_real(struct buf *b, double d)
{
	char tmp[48];
	long long ip, fp;
	double a;
	int i, n;

	if (!isfinite(d)) {
		jadd(b, "null", 4);
		return;
	}
	a = fabs(d);
	if (a >= 1e12) {
		n = snprintf(tmp, sizeof(tmp), "%.17g", d);
		jadd(b, tmp, (size_t)n);
		return;
	}
	ip = (long long)a;
	fp = llround((a - (double)ip) * 1e6);
	if (fp >= 1000000) {
		ip++;
		fp -= 1000000;
	}
	if (d < 0 && (ip != 0 || fp != 0))
		jadd(b, "-", 1);
	json_int(b, ip);
	if (fp == 0)
		return;
	tmp[0] = '.';
	for (i = 6; i >= 1; i--) {
		tmp[i] = (char)('0' + fp % 10);
		fp /= 10;
	}
	for (n = 6; tmp[n] == '0'; n--)
		;
	jadd(b, tmp, (size_t)n + 1);
}

void
json_col(struct buf *b, sqlite3_stmt *st, int i)
{
	/* One column fetch, then the value accessors (cheaper than a
	 * sqlite3_column_* call per question). */
	sqlite3_value *v = sqlite3_column_value(st, i);

	switch (sqlite3_value_type(v)) {
	case SQLITE_INTEGER:
		json_int(b, (long long)sqlite3_value_int64(v));
		break;
	case SQLITE_FLOAT:
		json_real(b, sqlite3_value_double(v));
		break;
	case SQLITE_TEXT: {
		const char *t = (const char *)sqlite3_value_text(v);

		json_str(b, t, (size_t)sqlite3_value_bytes(v));
		break;
	}
	default:
		jadd(b, "null", 4);
		break;
	}
}

void
json_keys_init(struct json_keys *k, sqlite3_stmt *st)
{
	const char *name;
	int i;

	buf_init(&k->text);
	k->n = sqlite3_column_count(st);
	if (k->n > JSON_KEYS_MAX)
		k->n = JSON_KEYS_MAX;
	for (i = 0; i < k->n; i++) {
		name = sqlite3_column_name(st, i);
		k->off[i] = k->text.len;
		k->raw[i] = 0;
		if (name == NULL || name[0] == '_') {
			k->len[i] = 0;
			continue;
		}
		if (strncmp(name, "j_", 2) == 0) {
			/* JSON made by SQLite's json functions: embedded. */
			k->raw[i] = 1;
			name += 2;
		}
		json_str(&k->text, name, strlen(name));
		jadd(&k->text, ":", 1);
		k->len[i] = k->text.len - k->off[i];
	}
}

void
json_keys_free(struct json_keys *k)
{
	buf_free(&k->text);
}

void
json_row_keys(struct buf *b, sqlite3_stmt *st, const struct json_keys *k)
{
	int i, first = 1;

	jadd(b, "{", 1);
	for (i = 0; i < k->n; i++) {
		if (k->len[i] == 0)
			continue;
		if (!first)
			jadd(b, ",", 1);
		first = 0;
		jadd(b, k->text.p + k->off[i], k->len[i]);
		if (k->raw[i]) {
			if (sqlite3_column_type(st, i) == SQLITE_TEXT)
				json_raw(b, (const char *)
				    sqlite3_column_text(st, i),
				    (size_t)sqlite3_column_bytes(st, i));
			else
				jadd(b, "null", 4);
		} else
			json_col(b, st, i);
	}
	jadd(b, "}", 1);
}

void
json_row(struct buf *b, sqlite3_stmt *st)
{
	struct json_keys k;

	json_keys_init(&k, st);
	json_row_keys(b, st, &k);
	json_keys_free(&k);
}

int
json_rows(struct buf *b, sqlite3_stmt *st)
{
	struct json_keys k;
	int rc, n = 0;

	json_keys_init(&k, st);
	jadd(b, "[", 1);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n++)
			jadd(b, ",", 1);
		json_row_keys(b, st, &k);
	}
	jadd(b, "]", 1);
	sqlite3_reset(st);
	json_keys_free(&k);
	return rc == SQLITE_DONE ? n : -1;
}
