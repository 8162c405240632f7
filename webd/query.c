/*
 * Query-parameter validation and SQL assembly.  See query.h.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/clock.h"
#include "query.h"

#define CURSOR_MAX	QP_CURSOR_MAX	/* encoded bytes */

void
query_init(struct query *q, const struct qp_def *defs,
    const struct qp_sort *sorts, long long limit)
{
	memset(q, 0, sizeof(*q));
	q->defs = defs;
	q->sorts = sorts;
	q->sort = sorts;
	q->desc = 1;
	q->limit = limit;
}

static const struct qp_def *
query_def(const struct query *q, const char *name)
{
	const struct qp_def *d;

	for (d = q->defs; d->name != NULL; d++)
		if (strcmp(d->name, name) == 0)
			return d;
	return NULL;
}

const struct qp_value *
query_get(const struct query *q, const char *name)
{
	unsigned i;

	for (i = 0; i < q->n; i++)
		if (strcmp(q->v[i].def->name, name) == 0)
			return &q->v[i];
	return NULL;
}

/* Strict integer: optional '-', digits, nothing else, in range. */
static int
parse_ll(const char *s, long long min, long long max, long long *out)
{
	char *end;
	long long v;

	if (*s == '\0' || isspace((unsigned char)*s) || *s == '+')
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/* Strict decimal number (no hex, inf, nan, exponents). */
static int
parse_num(const char *s, double *out)
{
	char *end;
	double v;

	if (*s == '\0' || strspn(s, "-0123456789.") != strlen(s))
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || *end != '\0' || !isfinite(v))
		return -1;
	*out = v;
	return 0;
}

/* A real as query_cursor_json() writes it (%.17g: exponents included),
 * finite; no hex, inf or nan. */
static int
parse_real(const char *s, double *out)
{
	char *end;
	double v;

	if (*s == '\0' || strspn(s, "-+0123456789.eE") != strlen(s))
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (*end != '\0' || !isfinite(v) || (errno != 0 && v != 0))
		return -1;
	*out = v;
	return 0;
}

/* 1 if `s` is valid UTF-8 (shortest forms, no surrogates) without
 * control characters. */
static int
text_ok(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	unsigned c, n, i, min;

	while (*p != '\0') {
		c = *p;
		if (c < 0x80) {
			if (c < 0x20 || c == 0x7f)
				return 0;
			p++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			n = 1; c &= 0x1f; min = 0x80;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2; c &= 0x0f; min = 0x800;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3; c &= 0x07; min = 0x10000;
		} else
			return 0;
		for (i = 1; i <= n; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return 0;
			c = (c << 6) | (p[i] & 0x3f);
		}
		if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
			return 0;
		p += n + 1;
	}
	return 1;
}

static const struct {
	const char *name;
	int num;
} proto_names[] = {
	{ "icmp", 1 }, { "igmp", 2 }, { "tcp", 6 }, { "udp", 17 },
	{ "gre", 47 }, { "esp", 50 }, { "icmpv6", 58 }, { "sctp", 132 },
	{ NULL, 0 }
};

int
query_addr_canon(const char *s, char *out, size_t outlen, int *is_net)
{
	char host[INET6_ADDRSTRLEN + 8], txt[INET6_ADDRSTRLEN];
	unsigned char a[16];
	const char *slash;
	long long plen = -1;
	int v6, maxlen, i;
	size_t hl;

	if ((slash = strchr(s, '/')) != NULL) {
		if (parse_ll(slash + 1, 0, 128, &plen) == -1)
			return -1;
		hl = (size_t)(slash - s);
	} else
		hl = strlen(s);
	if (hl == 0 || hl >= sizeof(host))
		return -1;
	memcpy(host, s, hl);
	host[hl] = '\0';
	if (inet_pton(AF_INET, host, a) == 1)
		v6 = 0;
	else if (inet_pton(AF_INET6, host, a) == 1) {
		v6 = 1;
		/* An IPv4-mapped address is the IPv4 address. */
		if (memcmp(a, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) == 0) {
			memmove(a, a + 12, 4);
			v6 = 0;
			if (plen >= 0) {
				if (plen < 96)
					return -1;
				plen -= 96;
			}
		}
	} else
		return -1;
	maxlen = v6 ? 128 : 32;
	if (plen > maxlen)
		return -1;
	if (plen < 0 || plen == maxlen) {
		*is_net = 0;
		plen = maxlen;
	} else
		*is_net = 1;
	for (i = 0; i < maxlen / 8; i++) {
		int keep = (int)plen - i * 8;

		if (keep <= 0)
			a[i] = 0;
		else if (keep < 8)
			a[i] &= (unsigned char)(0xff << (8 - keep));
	}
	if (inet_ntop(v6 ? AF_INET6 : AF_INET, a, txt, sizeof(txt)) == NULL)
		return -1;
	if (*is_net)
		snprintf(out, outlen, "%s/%lld", txt, plen);
	else
		snprintf(out, outlen, "%s", txt);
	return 0;
}

/* Converts one value by its definition's kind.  0 or -1. */
static int
query_convert(struct query *q, struct qp_value *v, const char *val,
    char *err, size_t errlen)
{
	const struct qp_def *d = v->def;
	const struct qp_sort *s;
	unsigned i;
	double r;

	switch (d->kind) {
	case QP_INT:
		if (parse_ll(val, d->min, d->max, &v->i) == -1) {
			snprintf(err, errlen, "%s: expected an integer from %lld"
			    " to %lld", d->name, d->min, d->max);
			return -1;
		}
		v->is_int = 1;
		return 0;
	case QP_LIMIT:
		if (parse_ll(val, 1, d->max, &v->i) == -1) {
			snprintf(err, errlen, "%s: expected an integer from 1"
			    " to %lld", d->name, d->max);
			return -1;
		}
		q->limit = v->i;
		return 0;
	case QP_TEXT:
		if (*val == '\0' || strlen(val) > (size_t)d->max ||
		    !text_ok(val)) {
			snprintf(err, errlen, "%s: expected text of 1 to %lld"
			    " printable characters", d->name, d->max);
			return -1;
		}
		snprintf(v->s, sizeof(v->s), "%s", val);
		return 0;
	case QP_WORD:
		for (i = 0; d->words[i] != NULL; i++)
			if (strcasecmp(d->words[i], val) == 0) {
				snprintf(v->s, sizeof(v->s), "%s", d->words[i]);
				return 0;
			}
		snprintf(err, errlen, "%s: unknown value", d->name);
		return -1;
	case QP_PROTO:
		for (i = 0; proto_names[i].name != NULL; i++)
			if (strcasecmp(proto_names[i].name, val) == 0) {
				v->i = proto_names[i].num;
				v->is_int = 1;
				return 0;
			}
		if (parse_ll(val, 0, 255, &v->i) == -1) {
			snprintf(err, errlen, "%s: expected tcp, udp, icmp,"
			    " icmpv6, sctp, gre, esp or 0-255", d->name);
			return -1;
		}
		v->is_int = 1;
		return 0;
	case QP_ADDR:
		if (query_addr_canon(val, v->s, sizeof(v->s), &v->is_net) ==
		    -1) {
			snprintf(err, errlen, "%s: expected an IPv4 or IPv6"
			    " address or CIDR", d->name);
			return -1;
		}
		return 0;
	case QP_TIME:
		if (parse_num(val, &r) == -1 || r > 1e11 || r < -1e10) {
			snprintf(err, errlen, "%s: expected unix seconds, or"
			    " -N for N seconds ago", d->name);
			return -1;
		}
		if (r < 0)
			r = (double)clock_wall_usec() / 1e6 + r;
		v->r = r;
		v->is_real = 1;
		return 0;
	case QP_BOOL:
		if (strcmp(val, "1") == 0 || strcasecmp(val, "yes") == 0 ||
		    strcasecmp(val, "true") == 0)
			v->truth = 1;
		else if (strcmp(val, "0") == 0 || strcasecmp(val, "no") == 0 ||
		    strcasecmp(val, "false") == 0)
			v->truth = 0;
		else {
			snprintf(err, errlen, "%s: expected yes or no", d->name);
			return -1;
		}
		return 0;
	case QP_SORT:
		for (s = q->sorts; s != NULL && s->name != NULL; s++)
			if (strcmp(s->name, val) == 0) {
				q->sort = s;
				return 0;
			}
		snprintf(err, errlen, "%s: not a sortable column", d->name);
		return -1;
	case QP_ORDER:
		if (strcasecmp(val, "asc") == 0)
			q->desc = 0;
		else if (strcasecmp(val, "desc") == 0)
			q->desc = 1;
		else {
			snprintf(err, errlen, "%s: expected asc or desc",
			    d->name);
			return -1;
		}
		return 0;
	case QP_COMMUNITY_ID:
		/* 20 bytes in base64: 27 characters and one '='. */
		if (strlen(val) != 30 || strncmp(val, "1:", 2) != 0 ||
		    strspn(val + 2, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmn"
		    "opqrstuvwxyz0123456789+/ ") != 27 || val[29] != '=') {
			snprintf(err, errlen, "%s: expected a Community ID"
			    " (1: and 28 base64 characters)", d->name);
			return -1;
		}
		for (i = 0; i < 30; i++)
			v->s[i] = val[i] == ' ' ? '+' : val[i];
		v->s[30] = '\0';
		return 0;
	case QP_CURSOR:
		if (*val == '\0' || strlen(val) >= sizeof(q->cursor)) {
			snprintf(err, errlen, "%s: invalid cursor", d->name);
			return -1;
		}
		memcpy(q->cursor, val, strlen(val) + 1);
		q->has_cursor = 1;
		return 0;
	}
	snprintf(err, errlen, "%s: unsupported parameter", d->name);
	return -1;
}

int
query_arg(struct query *q, const char *key, const char *val, char *err,
    size_t errlen)
{
	const struct qp_def *d;
	struct qp_value *v;

	if (val == NULL)
		val = "";
	if ((d = query_def(q, key)) == NULL) {
		/* The name is echoed only if it is short and plain. */
		if (strlen(key) <= 32 && key[0] != '\0' && strspn(key,
		    "abcdefghijklmnopqrstuvwxyz_0123456789") == strlen(key))
			snprintf(err, errlen, "unknown parameter: %s", key);
		else
			snprintf(err, errlen, "unknown parameter");
		return -1;
	}
	if (query_get(q, key) != NULL) {
		snprintf(err, errlen, "%s: given more than once", d->name);
		return -1;
	}
	if (q->n >= QP_MAX) {
		snprintf(err, errlen, "too many parameters");
		return -1;
	}
	if (strlen(val) >= (d->kind == QP_CURSOR ? sizeof(q->cursor) :
	    QP_VALUE_MAX)) {
		snprintf(err, errlen, "%s: value too long", d->name);
		return -1;
	}
	v = &q->v[q->n];
	memset(v, 0, sizeof(*v));
	v->def = d;
	if (query_convert(q, v, val, err, errlen) == -1)
		return -1;
	q->n++;
	return 0;
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Percent-decodes s[0..n) into out (size outlen), '+' as space.
 * -1 on a bad escape, an embedded NUL or overflow. */
static int
pct_decode(const char *s, size_t n, char *out, size_t outlen)
{
	size_t i, o = 0;
	int h, l, c;

	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		if (c == '%') {
			if (i + 2 >= n)
				return -1;
			if ((h = hexval((unsigned char)s[i + 1])) < 0 ||
			    (l = hexval((unsigned char)s[i + 2])) < 0)
				return -1;
			c = h * 16 + l;
			i += 2;
			if (c == 0)
				return -1;
		} else if (c == '+')
			c = ' ';
		if (o + 1 >= outlen)
			return -1;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return 0;
}

int
query_parse_string(struct query *q, const char *s, size_t n, char *err,
    size_t errlen)
{
	char key[64], val[QP_CURSOR_MAX + 1];
	size_t i = 0, start, eq;

	while (i < n) {
		start = i;
		while (i < n && s[i] != '&')
			i++;
		if (i > start) {
			for (eq = start; eq < i && s[eq] != '='; eq++)
				;
			if (pct_decode(s + start, eq - start, key,
			    sizeof(key)) == -1 || pct_decode(s + eq + (eq < i),
			    eq < i ? i - eq - 1 : 0, val, sizeof(val)) == -1) {
				snprintf(err, errlen, "malformed query string");
				return -1;
			}
			if (query_arg(q, key, val, err, errlen) == -1)
				return -1;
		}
		i++;
	}
	return 0;
}

static const char b64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static void
b64_encode(const unsigned char *in, size_t n, struct buf *b)
{
	size_t i;
	char o[4];

	for (i = 0; i + 2 < n; i += 3) {
		o[0] = b64url[in[i] >> 2];
		o[1] = b64url[((in[i] & 3) << 4) | (in[i + 1] >> 4)];
		o[2] = b64url[((in[i + 1] & 15) << 2) | (in[i + 2] >> 6)];
		o[3] = b64url[in[i + 2] & 63];
		buf_add(b, o, 4);
	}
	if (n - i == 1) {
		o[0] = b64url[in[i] >> 2];
		o[1] = b64url[(in[i] & 3) << 4];
		buf_add(b, o, 2);
	} else if (n - i == 2) {
		o[0] = b64url[in[i] >> 2];
		o[1] = b64url[((in[i] & 3) << 4) | (in[i + 1] >> 4)];
		o[2] = b64url[(in[i + 1] & 15) << 2];
		buf_add(b, o, 3);
	}
}

/* Decodes unpadded base64url; returns the length or -1. */
static int
b64_decode(const char *s, unsigned char *out, size_t outlen)
{
	size_t n = strlen(s), i, o = 0;
	unsigned acc = 0, bits = 0;
	const char *p;

	if (n % 4 == 1)
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] == '\0' || (p = strchr(b64url, s[i])) == NULL)
			return -1;
		acc = (acc << 6) | (unsigned)(p - b64url);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o >= outlen)
				return -1;
			out[o++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	return (int)o;
}

/* Cursor text before encoding: "<sort>~<a|d>~<id>~<value>" (a text
 * value: its first QP_CURSOR_TEXT_MAX bytes, as the sort sees it). */
int
query_finish(struct query *q, char *err, size_t errlen)
{
	unsigned char raw[CURSOR_MAX];
	char *p, *f[4], *save = NULL;
	int n, i;

	if (!q->has_cursor)
		return 0;
	if (q->sort == NULL)
		goto bad;
	if ((n = b64_decode(q->cursor, raw, sizeof(raw) - 1)) <= 0)
		goto bad;
	raw[n] = '\0';
	if (memchr(raw, '\0', (size_t)n) != NULL)
		goto bad;
	p = (char *)raw;
	for (i = 0; i < 3; i++) {
		f[i] = strtok_r(i == 0 ? p : NULL, "~", &save);
		if (f[i] == NULL)
			goto bad;
	}
	f[3] = save != NULL ? save : (char *)"";
	if (strcmp(f[0], q->sort->name) != 0 ||
	    strcmp(f[1], q->desc ? "d" : "a") != 0) {
		snprintf(err, errlen, "cursor: it belongs to another sort"
		    " order; start again without a cursor");
		return -1;
	}
	if (parse_ll(f[2], 0, INT64_MAX, &q->cur_id) == -1)
		goto bad;
	memset(&q->cur_val, 0, sizeof(q->cur_val));
	switch (q->sort->type) {
	case QS_INT:
		if (parse_ll(f[3], INT64_MIN, INT64_MAX, &q->cur_val.i) == -1)
			goto bad;
		q->cur_val.is_int = 1;
		break;
	case QS_REAL:
		if (parse_real(f[3], &q->cur_val.r) == -1)
			goto bad;
		q->cur_val.is_real = 1;
		break;
	case QS_TEXT:
		q->cur_text_len = strlen(f[3]);
		if (q->cur_text_len > QP_CURSOR_TEXT_MAX)
			goto bad;
		memcpy(q->cur_text, f[3], q->cur_text_len);
		break;
	}
	return 0;
bad:
	snprintf(err, errlen, "cursor: invalid");
	return -1;
}

/* The fragment a value adds, or NULL. */
static const char *
query_frag(const struct qp_value *v)
{
	if (v->def->kind == QP_BOOL)
		return v->truth ? v->def->sql : v->def->sql_false;
	if (v->def->kind == QP_ADDR && v->is_net)
		return v->def->sql_net;
	return v->def->sql;
}

void
query_where(struct query *q, struct buf *b)
{
	const char *f;
	unsigned i;

	q->nbind = 0;
	for (i = 0; i < q->n; i++) {
		if ((f = query_frag(&q->v[i])) == NULL)
			continue;
		buf_puts(b, " AND ");
		if (strchr(f, '?') != NULL)
			q->nbind++;
		for (; *f != '\0'; f++) {
			if (*f == '?')
				buf_printf(b, "?%d", q->nbind);
			else
				buf_add(b, f, 1);
		}
	}
}

/* Appends the sort's expression as the ORDER BY and the keyset see it:
 * a text value as the blob of its first QP_CURSOR_TEXT_MAX bytes (a
 * cursor carries that whole; the blob's order is the text's BINARY
 * order), anything else as it is. */
static void
sort_expr(const struct query *q, struct buf *b)
{
	if (q->sort->type == QS_TEXT)
		/* (substr() of an empty blob is NULL) */
		buf_printf(b, "coalesce(substr(CAST(%s AS BLOB), 1, %d), x'')",
		    q->sort->expr, QP_CURSOR_TEXT_MAX);
	else
		buf_puts(b, q->sort->expr);
}

void
query_keyset(struct query *q, struct buf *b, const char *id_expr)
{
	const char *op = q->desc ? "<" : ">";
	int v, id;

	if (!q->has_cursor || q->sort == NULL)
		return;
	v = ++q->nbind;
	id = ++q->nbind;
	buf_puts(b, " AND (");
	sort_expr(q, b);
	buf_printf(b, " %s ?%d OR (", op, v);
	sort_expr(q, b);
	buf_printf(b, " = ?%d AND %s %s ?%d))", v, id_expr, op, id);
}

static void
order_by(struct query *q, struct buf *b, const char *id_expr,
    long long limit)
{
	const char *dir = q->desc ? "DESC" : "ASC";

	if (q->sort != NULL) {
		buf_puts(b, " ORDER BY ");
		sort_expr(q, b);
		buf_printf(b, " %s, %s %s", dir, id_expr, dir);
	}
	buf_printf(b, " LIMIT %lld", limit);
}

void
query_order(struct query *q, struct buf *b, const char *id_expr)
{
	order_by(q, b, id_expr, q->limit + 1);
}

void
query_order_all(struct query *q, struct buf *b, const char *id_expr)
{
	order_by(q, b, id_expr, q->limit);
}

static int
bind_value(sqlite3_stmt *st, int idx, const struct qp_value *v)
{
	if (v->is_int)
		return sqlite3_bind_int64(st, idx, v->i);
	if (v->is_real)
		return sqlite3_bind_double(st, idx, v->r);
	return sqlite3_bind_text(st, idx, v->s, -1, SQLITE_TRANSIENT);
}

int
query_bind(const struct query *q, sqlite3_stmt *st)
{
	const char *f;
	unsigned i;
	int idx = 0;

	for (i = 0; i < q->n; i++) {
		if ((f = query_frag(&q->v[i])) == NULL ||
		    strchr(f, '?') == NULL)
			continue;
		if (bind_value(st, ++idx, &q->v[i]) != SQLITE_OK)
			return -1;
	}
	if (q->has_cursor && q->sort != NULL && idx + 2 <= q->nbind) {
		if ((q->sort->type == QS_TEXT ? sqlite3_bind_blob(st, ++idx,
		    q->cur_text, (int)q->cur_text_len, SQLITE_TRANSIENT) :
		    bind_value(st, ++idx, &q->cur_val)) != SQLITE_OK ||
		    sqlite3_bind_int64(st, ++idx, q->cur_id) != SQLITE_OK)
			return -1;
	}
	return 0;
}

void
query_cursor_json(const struct query *q, sqlite3_stmt *st, int col,
    long long id, struct buf *b)
{
	struct buf raw;
	const unsigned char *t = NULL;
	size_t n = 0;

	/* The bytes the sort compares (sort_expr()). */
	if (q->sort->type == QS_TEXT &&
	    (t = sqlite3_column_blob(st, col)) != NULL) {
		n = (size_t)sqlite3_column_bytes(st, col);
		if (n > QP_CURSOR_TEXT_MAX)
			n = QP_CURSOR_TEXT_MAX;
	}
	buf_init(&raw);
	buf_printf(&raw, "%s~%s~%lld~", q->sort->name, q->desc ? "d" : "a",
	    id);
	switch (q->sort->type) {
	case QS_INT:
		buf_printf(&raw, "%lld", (long long)sqlite3_column_int64(st,
		    col));
		break;
	case QS_REAL:
		buf_printf(&raw, "%.17g", sqlite3_column_double(st, col));
		break;
	case QS_TEXT:
		buf_add(&raw, t ? (const char *)t : "", n);
		break;
	}
	buf_puts(b, "\"");
	b64_encode((const unsigned char *)raw.p, raw.len, b);
	buf_puts(b, "\"");
	buf_free(&raw);
}

void
query_cursor_text(const struct query *q, const char *val, long long id,
    struct buf *b)
{
	struct buf raw;

	buf_init(&raw);
	buf_printf(&raw, "%s~%s~%lld~", q->sort->name, q->desc ? "d" : "a",
	    id);
	if (val != NULL && q->sort->type == QS_REAL)
		buf_printf(&raw, "%.17g", strtod(val, NULL));
	else if (val != NULL && q->sort->type == QS_TEXT)
		buf_add(&raw, val, strlen(val) > QP_CURSOR_TEXT_MAX ?
		    QP_CURSOR_TEXT_MAX : strlen(val));
	else if (val != NULL)
		buf_puts(&raw, val);
	buf_puts(b, "\"");
	if (raw.len <= CURSOR_MAX * 3 / 4)
		b64_encode((const unsigned char *)raw.p, raw.len, b);
	buf_puts(b, "\"");
	buf_free(&raw);
}

/* ---- SQL functions */

struct cidr {
	int		v6;
	int		plen;
	unsigned char	net[16];
};

static void
cidr_free(void *p)
{
	free(p);
}

/* cidr_match(addr TEXT, cidr TEXT): 1 if addr lies in cidr.  The parsed
 * network is cached as auxdata, so a scan parses it once. */
static void
fn_cidr_match(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	struct cidr *c;
	unsigned char a[16];
	const char *addr, *net;
	char host[INET6_ADDRSTRLEN + 8];
	int i, bits, v6;

	(void)argc;
	if ((c = sqlite3_get_auxdata(ctx, 1)) == NULL) {
		const char *slash;
		size_t hl;

		net = (const char *)sqlite3_value_text(argv[1]);
		if (net == NULL || (slash = strchr(net, '/')) == NULL ||
		    (hl = (size_t)(slash - net)) >= sizeof(host) ||
		    (c = calloc(1, sizeof(*c))) == NULL) {
			sqlite3_result_int(ctx, 0);
			return;
		}
		memcpy(host, net, hl);
		host[hl] = '\0';
		c->plen = atoi(slash + 1);
		if (inet_pton(AF_INET, host, c->net) == 1)
			c->v6 = 0;
		else if (inet_pton(AF_INET6, host, c->net) == 1)
			c->v6 = 1;
		else
			c->plen = -1;
		sqlite3_set_auxdata(ctx, 1, c, cidr_free);
		if ((c = sqlite3_get_auxdata(ctx, 1)) == NULL) {
			sqlite3_result_int(ctx, 0);
			return;
		}
	}
	addr = (const char *)sqlite3_value_text(argv[0]);
	if (addr == NULL || c->plen < 0) {
		sqlite3_result_int(ctx, 0);
		return;
	}
	v6 = strchr(addr, ':') != NULL;
	if (v6 != c->v6 || inet_pton(v6 ? AF_INET6 : AF_INET, addr, a) != 1) {
		sqlite3_result_int(ctx, 0);
		return;
	}
	for (i = 0, bits = c->plen; bits > 0; i++, bits -= 8) {
		unsigned char m = bits >= 8 ? 0xff :
		    (unsigned char)(0xff << (8 - bits));

		if ((a[i] & m) != c->net[i]) {
			sqlite3_result_int(ctx, 0);
			return;
		}
	}
	sqlite3_result_int(ctx, 1);
}

/* proc_match(path TEXT, name TEXT): 1 if path equals name, or name has
 * no '/' and is path's last component. */
static void
fn_proc_match(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	const char *path, *name, *base;

	(void)argc;
	path = (const char *)sqlite3_value_text(argv[0]);
	name = (const char *)sqlite3_value_text(argv[1]);
	if (path == NULL || name == NULL) {
		sqlite3_result_int(ctx, 0);
		return;
	}
	if (strcmp(path, name) == 0) {
		sqlite3_result_int(ctx, 1);
		return;
	}
	base = strrchr(path, '/');
	sqlite3_result_int(ctx, strchr(name, '/') == NULL && base != NULL &&
	    strcmp(base + 1, name) == 0);
}

/* name_match(name TEXT, pattern TEXT): 1 if name is pattern or a name
 * inside the domain pattern ("www.example.org" matches "example.org"),
 * ignoring ASCII case. */
static void
fn_name_match(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	const char *name, *pat;
	size_t nl, pl;

	(void)argc;
	name = (const char *)sqlite3_value_text(argv[0]);
	pat = (const char *)sqlite3_value_text(argv[1]);
	if (name == NULL || pat == NULL || *pat == '\0') {
		sqlite3_result_int(ctx, 0);
		return;
	}
	nl = strlen(name);
	pl = strlen(pat);
	sqlite3_result_int(ctx, nl >= pl &&
	    strcasecmp(name + nl - pl, pat) == 0 &&
	    (nl == pl || name[nl - pl - 1] == '.'));
}

int
query_register_functions(sqlite3 *db)
{
	if (sqlite3_create_function(db, "cidr_match", 2, SQLITE_UTF8 |
	    SQLITE_DETERMINISTIC, NULL, fn_cidr_match, NULL, NULL) !=
	    SQLITE_OK ||
	    sqlite3_create_function(db, "proc_match", 2, SQLITE_UTF8 |
	    SQLITE_DETERMINISTIC, NULL, fn_proc_match, NULL, NULL) !=
	    SQLITE_OK ||
	    sqlite3_create_function(db, "name_match", 2, SQLITE_UTF8 |
	    SQLITE_DETERMINISTIC, NULL, fn_name_match, NULL, NULL) !=
	    SQLITE_OK)
		return -1;
	return 0;
}
