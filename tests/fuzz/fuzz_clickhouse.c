/*
 * libFuzzer target: what a ClickHouse server (or anything on its port)
 * answers webd and the store.  ch_http_response() takes the raw HTTP
 * answer (status line, headers, a chunked body); ch_result_parse()
 * its TabSeparatedWithNamesAndTypes body; ch_rows_json() the rows.
 * For any input: no crash, and every answer that parses becomes one
 * JSON array that cJSON reads.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "common/ch_http.h"
#include "webd/ch.h"
#include "webd/webd.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ch_result res;
	struct buf raw, json;
	char err[256];
	cJSON *j;

	buf_init(&raw);
	buf_add(&raw, data, size);	/* NUL-terminated, as the client's */
	memset(&res, 0, sizeof(res));
	buf_init(&res.data);
	if (raw.p != NULL && ch_http_response(raw.p, raw.len, &res.data,
	    1 << 20, err, sizeof(err)) == 200 &&
	    ch_result_parse(&res, err, sizeof(err)) == 0) {
		buf_init(&json);
		ch_rows_json(&json, &res, NULL, 0);
		if (!buf_ok(&json) || (j = cJSON_ParseWithLength(json.p,
		    json.len)) == NULL || !cJSON_IsArray(j))
			abort();
		cJSON_Delete(j);
		buf_free(&json);
	}
	ch_result_free(&res);
	buf_free(&raw);
	return 0;
}
