/*
 * An oracle for UTF-8, written apart from the code under test: the unit
 * tests and fuzz targets check webd's JSON output with it.
 */
#ifndef EVFLOW_T_UTF8_H
#define EVFLOW_T_UTF8_H

#include <stddef.h>

/* A code point webd/json.c always writes as a \u escape. */
static int
t_utf8_escaped(unsigned c)
{
	return c == 0x061c || c == 0x200e || c == 0x200f ||
	    (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069) ||
	    c == 0x2028 || c == 0x2029;
}

/*
 * 1 if s[0..n) is valid UTF-8 (shortest forms, no surrogates) and, when
 * `no_escaped`, holds no code point of t_utf8_escaped(); else 0.
 */
static int
t_utf8_valid(const unsigned char *s, size_t n, int no_escaped)
{
	size_t i = 0, len, k;
	unsigned c, min;

	while (i < n) {
		c = s[i];
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			len = 2; c &= 0x1f; min = 0x80;
		} else if (c >= 0xe0 && c <= 0xef) {
			len = 3; c &= 0x0f; min = 0x800;
		} else if (c >= 0xf0 && c <= 0xf4) {
			len = 4; c &= 0x07; min = 0x10000;
		} else
			return 0;
		if (i + len > n)
			return 0;
		for (k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			c = (c << 6) | (s[i + k] & 0x3f);
		}
		if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
			return 0;
		if (no_escaped && t_utf8_escaped(c))
			return 0;
		i += len;
	}
	return 1;
}

#endif
