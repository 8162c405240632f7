/*
 * The Community ID of a flow row (common/community_id.h), computed
 * once: when the row is first inserted (flow_rows.c), and for the rows
 * of a database older than schema version 5 by its migration (the SQL
 * function evflow_community_id(), registered on the store's connection
 * only).
 *
 * The client is hashed as the source: for everything but one-way ICMP
 * the order does not matter.  ICMP and ICMPv6 need the message type,
 * which a flow has only when the record said it (ICMP_TYPE / ICMP_CODE
 * in the row's extra: NetFlow's type and code, or the capture's, which
 * keeps all ICMP between two addresses in one flow with ports 0 and
 * sends its client's first message); without them the flow has no
 * Community ID (NULL; the spec allows an empty value for what a monitor
 * cannot tell).
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "../common/community_id.h"
#include "store.h"

/* The value of "key":<unsigned> in JSON text p[0..n), or -1. */
static int
extra_uint(const char *p, size_t n, const char *key)
{
	size_t kl = strlen(key), i;
	long v;

	for (i = 0; i + kl + 2 < n; i++) {
		if (p[i] != '"' || memcmp(p + i + 1, key, kl) != 0 ||
		    p[i + 1 + kl] != '"')
			continue;
		i += kl + 2;
		while (i < n && (p[i] == ' ' || p[i] == ':'))
			i++;
		if (i >= n || !isdigit((unsigned char)p[i]))
			return -1;
		for (v = 0; i < n && isdigit((unsigned char)p[i]) && v < 256;
		    i++)
			v = v * 10 + (p[i] - '0');
		return v < 256 ? (int)v : -1;
	}
	return -1;
}

const char *
flow_community_id(char *out, uint8_t proto,
    const uint8_t cli[16], uint16_t cport, const uint8_t srv[16],
    uint16_t sport, int icmp_type, int icmp_code)
{
	int v4 = evp_addr_is_v4(cli) && evp_addr_is_v4(srv), one_way = 0;
	unsigned off = v4 ? 12 : 0;

	if (proto == 1 || proto == 58) {
		if (icmp_type < 0)
			return NULL;
		one_way = community_id_icmp_ports(proto, (uint8_t)icmp_type,
		    (uint8_t)(icmp_code < 0 ? 0 : icmp_code), &cport, &sport);
	}
	return community_id_v1(out, 0, v4 ? 4 : 16, cli + off, srv + off,
	    proto, cport, sport, one_way);
}

const char *
flow_row_community_id(char *out, const struct flow *f,
    const struct flow_meta *m)
{
	int c = f->cli, type = -1, code = -1;

	if ((f->key.proto == 1 || f->key.proto == 58) && m != NULL) {
		type = extra_uint(m->extra, m->extra_len, "ICMP_TYPE");
		code = extra_uint(m->extra, m->extra_len, "ICMP_CODE");
	}
	return flow_community_id(out, f->key.proto, f->key.addr[c],
	    f->key.port[c], f->key.addr[!c], f->key.port[!c], type, code);
}

/* evflow_community_id(proto, cli_addr, cli_port, srv_addr, srv_port,
 * icmp_type, icmp_code): the row's ID, NULL if it cannot have one. */
static void
fn_community_id(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	uint8_t a[2][16];
	char out[COMMUNITY_ID_LEN];
	const char *t;
	int i, type, code;

	(void)argc;
	for (i = 0; i < 2; i++) {
		t = (const char *)sqlite3_value_text(argv[1 + 2 * i]);
		if (t == NULL || evp_addr_parse(t, a[i]) == -1) {
			sqlite3_result_null(ctx);
			return;
		}
	}
	type = sqlite3_value_type(argv[5]) == SQLITE_INTEGER ?
	    sqlite3_value_int(argv[5]) : -1;
	code = sqlite3_value_type(argv[6]) == SQLITE_INTEGER ?
	    sqlite3_value_int(argv[6]) : -1;
	if (type > 255 || code > 255)
		type = -1;
	if (flow_community_id(out, (uint8_t)sqlite3_value_int(argv[0]), a[0],
	    (uint16_t)sqlite3_value_int(argv[2]), a[1],
	    (uint16_t)sqlite3_value_int(argv[4]), type, code) == NULL)
		sqlite3_result_null(ctx);
	else
		sqlite3_result_text(ctx, out, -1, SQLITE_TRANSIENT);
}

int
community_sql_register(sqlite3 *db)
{
	return sqlite3_create_function(db, "evflow_community_id", 7,
	    SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL, fn_community_id, NULL,
	    NULL) == SQLITE_OK ? 0 : -1;
}
