/*
 * Community ID, version 1 (github.com/corelight/community-id-spec): a
 * flow's 5-tuple hashed into a string that Zeek, Suricata, Elastic,
 * Arkime and others compute the same way, so flows can be joined across
 * tools by equality.  "1:" + base64(SHA-1(seed, addresses, protocol,
 * ports)), the endpoints ordered so that both directions of a flow hash
 * alike.
 */
#ifndef EVFLOW_COMMUNITY_ID_H
#define EVFLOW_COMMUNITY_ID_H

#include <stdint.h>

#define COMMUNITY_ID_LEN	31	/* "1:" + 28 base64 characters + NUL */

/*
 * The port equivalents of an ICMP (proto 1) or ICMPv6 (58) message, as
 * Zeek maps them: the source "port" is the type; the destination is the
 * type of the message answering it (echo request 8 <-> reply 0, ...) for
 * request/response pairs, else the code.  Returns 1 for a message with
 * no counterpart (one-way: its endpoints are hashed in the order sent),
 * 0 for a pair.
 */
int	community_id_icmp_ports(uint8_t, uint8_t, uint8_t, uint16_t *,
	    uint16_t *);

/*
 * Writes the Community ID of a flow from saddr:sport to daddr:dport
 * into out and returns it.  `alen` is 4 (IPv4) or 16 (IPv6), the
 * addresses in network order; ports in host order.  TCP, UDP, SCTP,
 * ICMP and ICMPv6 hash their ports (ICMP: community_id_icmp_ports()'s,
 * `one_way` its result); every other protocol hashes addresses and
 * protocol only (its ports are ignored).  `seed` is 0 unless a site
 * chose otherwise (all tools comparing IDs must use the same).
 */
const char *community_id_v1(char[COMMUNITY_ID_LEN], uint16_t, unsigned,
	    const uint8_t *, const uint8_t *, uint8_t, uint16_t, uint16_t, int);

/*
 * The SQLite index key of a stored Community ID (store schema 7,
 * docs/schema.md "Community ID"): the row's id bucket (id / 2^16) times
 * 2^30, plus 30 bits of the hash (the 5 base64 characters after "1:").
 * A random key alone made every commit rewrite index pages all over the
 * index; keyed by bucket first, a commit writes into the newest
 * bucket's pages only, and a lookup seeks once per bucket.
 * community_id_key() and COMMUNITY_KEY_SQL() compute the same value.
 */
#define COMMUNITY_KEY_BUCKET	65536	/* rows per bucket */
#define COMMUNITY_KEY_SPAN	1073741824	/* 2^30: keys per bucket */

/* The 30-bit hash part of id ("1:" + base64), -1 if it is not one. */
int64_t	community_id_hash30(const char *);

/* The key of `id` in row `row_id`; -1 if id is not a Community ID. */
int64_t	community_id_key(uint64_t, const char *);

/* The same in SQL: the alphabet, one character, the 30 bits of an ID
 * expression `x` (NULL if x is), and the key of row `r`. */
#define COMMUNITY_B64_SQL \
	"'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'"
#define COMMUNITY_CHAR_SQL(x, i) \
	"(instr(" COMMUNITY_B64_SQL ", substr(" x ", " #i ", 1)) - 1)"
#define COMMUNITY_HASH30_SQL(x) \
	"(" COMMUNITY_CHAR_SQL(x, 3) " * 16777216 + " \
	COMMUNITY_CHAR_SQL(x, 4) " * 262144 + " \
	COMMUNITY_CHAR_SQL(x, 5) " * 4096 + " \
	COMMUNITY_CHAR_SQL(x, 6) " * 64 + " COMMUNITY_CHAR_SQL(x, 7) ")"
#define COMMUNITY_KEY_SQL(r, x) \
	"((" r ") / 65536 * 1073741824 + " COMMUNITY_HASH30_SQL(x) ")"
/*
 * The rows of flow_rows whose ID is `x` (an SQL expression, evaluated
 * once per bucket): a subquery of their ids, one index seek per bucket
 * from the oldest row's to the newest's, then the whole ID compared.
 */
#define COMMUNITY_ROWS_SQL(x) \
	"(SELECT id FROM flow_rows WHERE community_key IN (WITH RECURSIVE" \
	" ck(k) AS (SELECT (SELECT min(id) FROM flow_rows) / 65536 *" \
	" 1073741824 + " COMMUNITY_HASH30_SQL(x) " UNION ALL SELECT k +" \
	" 1073741824 FROM ck WHERE k < (SELECT max(id) FROM flow_rows) / 65536" \
	" * 1073741824) SELECT k FROM ck)" \
	" AND community_id = " x ")"

#endif
