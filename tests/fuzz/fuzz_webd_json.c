/*
 * libFuzzer target: webd's JSON string writer (webd/json.c), which turns
 * whatever bytes a producer stored into the answer's strings.  For any
 * input: json_str()'s output is one JSON string that cJSON parses, is
 * valid UTF-8, holds no raw bidirectional control or line separator, and
 * decodes to the input when the input was valid UTF-8 without
 * replacements; json_raw()'s output is valid UTF-8 too.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "webd/webd.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* 1 if s[0..n) is valid UTF-8 without the code points json.c escapes. */
static int
clean_utf8(const unsigned char *s, size_t n)
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
		if (c == 0x061c || c == 0x200e || c == 0x200f ||
		    (c >= 0x202a && c <= 0x202e) ||
		    (c >= 0x2066 && c <= 0x2069) || c == 0x2028 || c == 0x2029)
			return 0;
		i += len;
	}
	return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf b;
	cJSON *j;
	uint64_t bad0 = json_bad_utf8();

	buf_init(&b);
	json_str(&b, (const char *)data, size);
	if (!buf_ok(&b))
		abort();
	if (!clean_utf8((const unsigned char *)b.p, b.len))
		abort();
	if ((j = cJSON_ParseWithLength(b.p, b.len)) == NULL ||
	    !cJSON_IsString(j))
		abort();
	/* No replacement and no NUL: the decoded string is the input. */
	if (json_bad_utf8() == bad0 && memchr(data, 0, size) == NULL &&
	    (strlen(j->valuestring) != size ||
	    memcmp(j->valuestring, data, size) != 0))
		abort();
	cJSON_Delete(j);
	buf_reset(&b);
	json_raw(&b, (const char *)data, size);
	if (!buf_ok(&b) || !clean_utf8((const unsigned char *)b.p, b.len))
		abort();
	buf_free(&b);
	return 0;
}
