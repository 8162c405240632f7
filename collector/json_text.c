/*
 * Bounded text from JSON values: UTF-8-safe copies into fixed fields,
 * a compact JSON writer that never exceeds its buffer (for `extra` and
 * a producer's `info`), and typed getters that accept the spellings
 * producers use (numbers as strings, "sec.usec" timestamps).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "collector.h"
#include "event_json.h"

/* ---- strings ---- */

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if invalid. */
static size_t
utf8_seq(const unsigned char *s)
{
	unsigned c = s[0];

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		return (s[1] & 0xc0) == 0x80 ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80)
			return 0;
		if ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] > 0x9f))
			return 0;	/* overlong, surrogate */
		return 3;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 ||
		    (s[3] & 0xc0) != 0x80)
			return 0;
		if ((c == 0xf0 && s[1] < 0x90) || (c == 0xf4 && s[1] > 0x8f))
			return 0;
		return 4;
	}
	return 0;
}

int
jt_strlcpy(char *dst, const char *src, size_t cap)
{
	const unsigned char *s = (const unsigned char *)src;
	size_t o = 0, n, len = strlen(src), lim = len < cap - 1 ? len :
	    cap - 1;
	uint64_t w;
	int r = 0;

	/* The ASCII that fits, 8 bytes at a time (names and paths: most
	 * of what producers send); then byte by byte from the first byte
	 * that is not ASCII or does not fit. */
	while (o + 8 <= lim) {
		memcpy(&w, s + o, 8);
		if (w & 0x8080808080808080ULL)
			break;
		o += 8;
	}
	while (o < lim && s[o] < 0x80)
		o++;
	memcpy(dst, s, o);
	s += o;
	while (*s != '\0') {
		if (*s < 0x80) {
			if (o + 1 >= cap) {
				r |= JT_STR_TRUNCATED;
				break;
			}
			dst[o++] = (char)*s++;
			continue;
		}
		if ((n = utf8_seq(s)) == 0) {
			r |= JT_STR_BAD_UTF8;
			if (o + 1 >= cap) {
				r |= JT_STR_TRUNCATED;
				break;
			}
			dst[o++] = '?';
			s++;
			continue;
		}
		if (o + n >= cap) {
			r |= JT_STR_TRUNCATED;
			break;
		}
		memcpy(dst + o, s, n);
		o += n;
		s += n;
	}
	dst[o] = '\0';
	return r;
}

/* ---- a bounded compact JSON writer (for `extra` and `info`) ---- */


static void
jw_put(struct jt_writer *w, const char *s, size_t n)
{
	if (w->over || n > w->cap - w->len) {
		w->over = 1;
		return;
	}
	memcpy(w->p + w->len, s, n);
	w->len += n;
}

static void
jw_str(struct jt_writer *w, const char *str)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)str;
	char esc[6];
	size_t n;

	jw_put(w, "\"", 1);
	while (*s != '\0' && !w->over) {
		if (*s == '"' || *s == '\\') {
			esc[0] = '\\';
			esc[1] = (char)*s++;
			jw_put(w, esc, 2);
		} else if (*s < 0x20) {
			memcpy(esc, "\\u00", 4);
			esc[4] = hex[*s >> 4];
			esc[5] = hex[*s & 15];
			jw_put(w, esc, 6);
			s++;
		} else if (*s < 0x80) {
			jw_put(w, (const char *)s, 1);
			s++;
		} else if ((n = utf8_seq(s)) == 0) {
			w->bad_utf8 = 1;
			jw_put(w, "?", 1);
			s++;
		} else {
			jw_put(w, (const char *)s, n);
			s += n;
		}
	}
	jw_put(w, "\"", 1);
}

static void
jw_num(struct jt_writer *w, double d)
{
	char tmp[32], *e = tmp + sizeof(tmp), *q = e;
	unsigned long long u;
	int n;

	if (d == floor(d) && fabs(d) < 9007199254740992.0) {
		u = (unsigned long long)fabs(d);
		do
			*--q = (char)('0' + u % 10);
		while ((u /= 10) != 0);
		if (d < 0)
			*--q = '-';
		jw_put(w, q, (size_t)(e - q));
		return;
	}
	if (!isfinite(d)) {
		jw_put(w, "null", 4);
		return;
	}
	n = snprintf(tmp, sizeof(tmp), "%.17g", d);
	jw_put(w, tmp, (size_t)n);
}

static void
jw_value(struct jt_writer *w, const cJSON *v, int depth)
{
	const cJSON *c;

	if (depth > JW_MAX_DEPTH) {
		w->over = 1;
		return;
	}
	if (cJSON_IsString(v))
		jw_str(w, v->valuestring);
	else if (cJSON_IsNumber(v))
		jw_num(w, v->valuedouble);
	else if (cJSON_IsTrue(v))
		jw_put(w, "true", 4);
	else if (cJSON_IsFalse(v))
		jw_put(w, "false", 5);
	else if (cJSON_IsArray(v)) {
		jw_put(w, "[", 1);
		for (c = v->child; c != NULL && !w->over; c = c->next) {
			if (c != v->child)
				jw_put(w, ",", 1);
			jw_value(w, c, depth + 1);
		}
		jw_put(w, "]", 1);
	} else if (cJSON_IsObject(v)) {
		jw_put(w, "{", 1);
		for (c = v->child; c != NULL && !w->over; c = c->next) {
			if (c != v->child)
				jw_put(w, ",", 1);
			jw_str(w, c->string);
			jw_put(w, ":", 1);
			jw_value(w, c, depth + 1);
		}
		jw_put(w, "}", 1);
	} else
		jw_put(w, "null", 4);
}

int
jt_write(char *dst, size_t cap, const cJSON *v)
{
	struct jt_writer w = { dst, cap > 0 ? cap - 1 : 0, 0, 0, 0 };

	if (cap == 0)
		return -1;
	jw_value(&w, v, 0);
	if (w.over) {
		dst[0] = '\0';
		return -1;
	}
	dst[w.len] = '\0';
	return (int)w.len;
}

/*
 * Appends member `c` to the object being built in `w` (room for the
 * closing brace is kept).  A member that does not fit is left out whole;
 * returns 0, or -1 if it was left out.
 */
int
jt_member(struct jt_writer *w, const cJSON *c)
{
	size_t mark = w->len;

	w->cap--;			/* keep room for '}' */
	jw_put(w, mark == 0 ? "{" : ",", 1);
	jw_str(w, c->string);
	jw_put(w, ":", 1);
	jw_value(w, c, 1);
	w->cap++;
	if (w->over) {
		w->len = mark;
		w->over = 0;
		return -1;
	}
	return 0;
}

/* Appends member "key": n, like jt_member. */
int
jt_member_uint(struct jt_writer *w, const char *key, uint64_t n)
{
	size_t mark = w->len;

	w->cap--;
	jw_put(w, mark == 0 ? "{" : ",", 1);
	jw_str(w, key);
	jw_put(w, ":", 1);
	jw_num(w, (double)n);
	w->cap++;
	if (w->over) {
		w->len = mark;
		w->over = 0;
		return -1;
	}
	return 0;
}

void
jt_close(struct jt_writer *w)
{
	if (w->len > 0)
		w->p[w->len++] = '}';
	w->p[w->len] = '\0';
}

/* ---- trailing commas ---- */

/*
 * json-c (what ntopng parses with) accepts, unless strict, one comma
 * after the last element of an array or the last member of an object:
 * `[1,]`, `{"a":1,}`, with white space around.  Nothing looser: `[,]`,
 * `[1,,]` and `{"a":,}` stay errors.  These find such commas outside
 * strings: a comma whose previous token ends a value and whose next
 * token is `]` or `}`.
 */
static int
tc_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' ||
	    c == '\f' || c == '\v';
}

/* Calls back (by returning the index) for each removable comma: the
 * index of the next one at or after `i`, or `len`. */
static size_t
tc_next(const char *s, size_t len, size_t i, char *prev, int *in_str)
{
	size_t j;

	for (; i < len; i++) {
		char c = s[i];

		if (*in_str) {
			if (c == '\\')
				i++;
			else if (c == '"') {
				*in_str = 0;
				*prev = '"';
			}
			continue;
		}
		if (tc_ws(c))
			continue;
		if (c == '"') {
			*in_str = 1;
			continue;
		}
		if (c == ',' && *prev != '\0' && *prev != ',' && *prev != '[' &&
		    *prev != '{' && *prev != ':') {
			for (j = i + 1; j < len && tc_ws(s[j]); j++)
				;
			if (j < len && (s[j] == ']' || s[j] == '}'))
				return i;
		}
		*prev = c;
	}
	return len;
}

int
jt_has_trailing_comma(const char *s, size_t len)
{
	char prev = '\0';
	int in_str = 0;

	return tc_next(s, len, 0, &prev, &in_str) < len;
}

/* Whether `s` ends like softflowd's arrays: `}` `,` `]` with white
 * space around (outside any string, whatever came before). */
int
jt_ends_with_trailing_comma(const char *s, size_t len)
{
	static const char want[] = { ']', ',', '}' };
	size_t n = len;
	unsigned i;

	for (i = 0; i < sizeof(want); i++) {
		while (n > 0 && tc_ws(s[n - 1]))
			n--;
		if (n == 0 || s[--n] != want[i])
			return 0;
	}
	return 1;
}

size_t
jt_strip_trailing_commas(const char *s, size_t len, char *out)
{
	char prev = '\0';
	int in_str = 0;
	size_t i = 0, j, o = 0;

	while ((j = tc_next(s, len, i, &prev, &in_str)) < len) {
		memcpy(out + o, s + i, j - i);
		o += j - i;
		i = j + 1;	/* the comma is left out; prev stays */
	}
	memcpy(out + o, s + i, len - i);
	return o + len - i;
}

/* ---- typed getters: 0 ok, -1 wrong type or range ---- */

/*
 * "123.456" (a sign, at most 15 digits, at most 22 after the point, no
 * exponent) without strtod: the digits make an integer below 2^53 and
 * 10^22 is exact, so one division gives the correctly rounded value,
 * strtod's.  0, or -1 for any other spelling (left to strtod).
 */
static int
plain_decimal(const char *s, double *d)
{
	static const double pow10[23] = { 1e0, 1e1, 1e2, 1e3, 1e4, 1e5,
	    1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
	    1e17, 1e18, 1e19, 1e20, 1e21, 1e22 };
	uint64_t m = 0;
	int neg = 0, digits = 0, frac = -1;

	if (*s == '-') {
		neg = 1;
		s++;
	}
	for (; *s != '\0'; s++) {
		if (*s == '.' && frac < 0 && digits > 0) {
			frac = 0;
			continue;
		}
		if (*s < '0' || *s > '9' || ++digits > 15)
			return -1;
		m = m * 10 + (uint64_t)(*s - '0');
		if (frac >= 0 && ++frac > 22)
			return -1;
	}
	if (digits == 0 || frac == 0)
		return -1;
	*d = (double)m / pow10[frac < 0 ? 0 : frac];
	if (neg)
		*d = -*d;
	return 0;
}

/* A number, or a string holding one (NW_LATENCY_MS is "0.221"). */
int
jt_double(const cJSON *v, double *d)
{
	char *end;

	if (cJSON_IsNumber(v)) {
		*d = v->valuedouble;
		return isfinite(*d) ? 0 : -1;
	}
	if (cJSON_IsString(v) && v->valuestring[0] != '\0') {
		if (plain_decimal(v->valuestring, d) == 0)
			return 0;
		*d = strtod(v->valuestring, &end);
		return (*end == '\0' && isfinite(*d)) ? 0 : -1;
	}
	return -1;
}

/* An unsigned integer up to `max`; numeric strings and booleans too. */
int
jt_uint(const cJSON *v, uint64_t max, uint64_t *out)
{
	double d;
	char *end;
	const char *s;

	if (cJSON_IsBool(v)) {
		*out = cJSON_IsTrue(v) ? 1 : 0;
		return 0;
	}
	if (cJSON_IsString(v)) {
		s = v->valuestring;
		if (*s >= '0' && *s <= '9') {
			unsigned long long u = strtoull(s, &end, 10);

			if (*end == '\0') {
				if (u > max)
					return -1;
				*out = u;
				return 0;
			}
		}
	}
	if (jt_double(v, &d) == -1 || d < 0 || d >= 18446744073709551616.0 ||
	    d > (double)max)
		return -1;
	*out = (uint64_t)d;
	if (*out > max)
		return -1;
	return 0;
}

/* Timestamps: "sec.usec" strings or numbers of seconds -> usec. */
int
jt_ts(const cJSON *v, uint64_t *usec)
{
	const char *s;
	uint64_t sec = 0, frac = 0;
	int digits = 0;
	double d;

	if (cJSON_IsString(v)) {
		s = v->valuestring;
		if (*s < '0' || *s > '9')
			return -1;
		for (; *s >= '0' && *s <= '9'; s++) {
			if (sec > 100000000000ull)
				return -1;
			sec = sec * 10 + (uint64_t)(*s - '0');
		}
		if (*s == '.')
			for (s++; *s >= '0' && *s <= '9'; s++)
				if (digits < 6) {
					frac = frac * 10 + (uint64_t)(*s - '0');
					digits++;
				}
		if (*s != '\0')
			return -1;
		for (; digits < 6; digits++)
			frac *= 10;
		*usec = sec * 1000000 + frac;
		return 0;
	}
	if (jt_double(v, &d) == -1 || d < 0 || d > 1e11)
		return -1;
	*usec = (uint64_t)(d * 1e6 + 0.5);
	return 0;
}
