/*
 * libFuzzer target: the store's Community ID of a flow row.  The input
 * is the row's extra text (where a NetFlow ICMP flow's type and code
 * are read from) after two bytes choosing the protocol and the address
 * family; the hash of every input is a 30-character ID, or none for
 * ICMP without a type.  The SQL function the migration uses gets the
 * same text as addresses.  The index key (schema 7) of every ID made
 * is the same in C and in SQL, and the key of the raw text, read as an
 * ID, is -1 or within its 30 bits.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "common/community_id.h"
#include "store/store.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static sqlite3 *db;
static sqlite3_stmt *st, *kst;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t protos[] = { 1, 6, 17, 58, 132, 47 };
	struct flow_meta *m;
	struct flow f;
	char cid[COMMUNITY_ID_LEN];
	const char *id;
	char text[40];
	size_t n;
	int64_t h, key = -1;

	if (size < 2)
		return 0;
	if ((m = calloc(1, sizeof(*m))) == NULL)
		return 0;
	memset(&f, 0, sizeof(f));
	f.key.proto = protos[data[0] % sizeof(protos)];
	f.cli = data[1] & 1;
	if (data[1] & 2) {
		f.key.addr[0][10] = f.key.addr[0][11] = 0xff;
		f.key.addr[1][10] = f.key.addr[1][11] = 0xff;
	}
	f.key.addr[1][15] = data[1];
	f.key.port[0] = (uint16_t)(data[0] << 8 | data[1]);
	n = size - 2 < EVP_EXTRA_MAX ? size - 2 : EVP_EXTRA_MAX;
	memcpy(m->extra, data + 2, n);
	m->extra_len = (uint16_t)n;
	id = flow_row_community_id(cid, &f, m);
	if (id != NULL && (strlen(id) != COMMUNITY_ID_LEN - 1 ||
	    strncmp(id, "1:", 2) != 0))
		abort();
	if (id != NULL && (key = community_id_key((uint64_t)data[0] << 16 |
	    data[1], id)) < 0)
		abort();
	free(m);
	n = size - 2 < sizeof(text) - 1 ? size - 2 : sizeof(text) - 1;
	memcpy(text, data + 2, n);
	text[n] = '\0';
	h = community_id_hash30(text);
	if (h < -1 || h >= COMMUNITY_KEY_SPAN)
		abort();
	if (db == NULL) {
		if (sqlite3_open(":memory:", &db) != SQLITE_OK ||
		    community_sql_register(db) != 0 ||
		    sqlite3_prepare_v2(db, "SELECT evflow_community_id(?1, ?2,"
		    " ?3, ?4, ?5, ?6, ?7)", -1, &st, NULL) != SQLITE_OK ||
		    sqlite3_prepare_v2(db, "SELECT " COMMUNITY_KEY_SQL("?1",
		    "?2"), -1, &kst, NULL) != SQLITE_OK)
			abort();
	}
	if (id != NULL) {
		sqlite3_bind_int64(kst, 1, (int64_t)data[0] << 16 | data[1]);
		sqlite3_bind_text(kst, 2, id, -1, SQLITE_TRANSIENT);
		if (sqlite3_step(kst) != SQLITE_ROW ||
		    sqlite3_column_int64(kst, 0) != key)
			abort();
		sqlite3_reset(kst);
	}
	sqlite3_bind_int(st, 1, data[0]);
	sqlite3_bind_text(st, 2, (const char *)data + 2, (int)((size - 2) / 2),
	    SQLITE_TRANSIENT);
	sqlite3_bind_int(st, 3, data[1]);
	sqlite3_bind_text(st, 4, (const char *)data + 2 + (size - 2) / 2,
	    (int)(size - 2 - (size - 2) / 2), SQLITE_TRANSIENT);
	sqlite3_bind_int(st, 5, data[0] * 7);
	sqlite3_bind_int(st, 6, data[1] % 3 ? data[1] : -1);
	sqlite3_bind_int(st, 7, data[0]);
	(void)sqlite3_step(st);
	sqlite3_reset(st);
	return 0;
}
