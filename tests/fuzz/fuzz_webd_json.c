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
#include "tests/unit/t_utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

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
	if (!t_utf8_valid((const unsigned char *)b.p, b.len, 1))
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
	if (!buf_ok(&b) || !t_utf8_valid((const unsigned char *)b.p, b.len, 1))
		abort();
	buf_free(&b);
	return 0;
}
