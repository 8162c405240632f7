/*
 * libFuzzer target: webd's query-parameter and filter parsers.  The
 * input is a raw query string; it is split, percent-decoded and checked
 * against each endpoint's table (flows, listening, processes), the
 * cursor is decoded, and the WHERE/keyset/ORDER SQL is assembled.  The
 * assembled SQL must never contain a raw byte of the input outside a
 * bound value: it is checked to hold no quote character.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "webd/query.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
one(const struct qp_def *defs, const struct qp_sort *sorts,
    const uint8_t *data, size_t size)
{
	char err[QP_ERR_LEN], canon[80];
	struct query q;
	struct buf sql;
	int net;

	query_init(&q, defs, sorts, 100);
	if (query_parse_string(&q, (const char *)data, size, err,
	    sizeof(err)) == -1 || query_finish(&q, err, sizeof(err)) == -1)
		return;
	buf_init(&sql);
	query_where(&q, &sql);
	if (sorts != NULL) {
		query_keyset(&q, &sql, "f.id");
		query_order(&q, &sql, "f.id");
	}
	if (sql.p != NULL && strchr(sql.p, '"') != NULL)
		abort();
	buf_free(&sql);
	if (size < 64) {
		char s[64];

		memcpy(s, data, size);
		s[size] = '\0';
		(void)query_addr_canon(s, canon, sizeof(canon), &net);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	one(flow_params, flow_sorts, data, size);
	one(listen_params, listen_sorts, data, size);
	one(group_params, process_sorts, data, size);
	one(ifcounter_params, NULL, data, size);
	one(host_params, NULL, data, size);
	one(search_params, NULL, data, size);
	one(tree_params, NULL, data, size);
	return 0;
}
