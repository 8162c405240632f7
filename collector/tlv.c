/*
 * TLV payloads: the nDPI serializer's binary format (what nProbe sends
 * with --tlv, header version 3 or the v4 TLV flag), decoded into the same
 * cJSON objects a JSON payload gives, so both paths make the same
 * records (see event_json.c).
 *
 * The format, as libndpi writes it (ndpi_typedefs.h names the types):
 *   byte 0 = 1 (version), byte 1 = 1 (ndpi_serialization_format_tlv),
 *   then items, each one type byte: key type << 4 | value type.
 *   Types: 1 end of record, 2..5 uint8..uint64, 6..9 int8..int64,
 *   10 float, 11 string, 12/13 start/end of block, 14/15 start/end of
 *   list.  Integers are big-endian and written in the fewest bytes the
 *   value needs (a uint32 of 300 is sent as uint16); a float is 4 bytes
 *   in the writer's byte order (little-endian on every producer seen);
 *   a string is a big-endian u16 length and its bytes (no NUL).
 *   Keys are uint8/uint16/uint32 (NetFlow field numbers, given to the
 *   JSON path as decimal strings such as "8") or strings.  Start of block
 *   and start of list carry a string key (type byte 12 or 14 with key
 *   type 0); end markers carry nothing.  Inside a list, keys are ignored
 *   and values become array elements.
 *
 * Bounds: nesting at most TLV_MAX_DEPTH; a value never reads past the
 * payload; anything unknown or truncated rejects the whole payload
 * (counted by the caller as drop_msg_bad_tlv).
 */
#include <stdio.h>
#include <string.h>

#include <cJSON.h>

#include "collector.h"
#include "event_json.h"

#define TLV_MAX_DEPTH	8	/* blocks and lists inside a record */

enum tlv_type {
	TLV_NONE = 0, TLV_EOR = 1, TLV_U8 = 2, TLV_U16, TLV_U32, TLV_U64,
	TLV_I8, TLV_I16, TLV_I32, TLV_I64, TLV_FLOAT, TLV_STRING,
	TLV_SOB, TLV_EOB, TLV_SOL, TLV_EOL
};

struct tlv_rd {
	const uint8_t	*p;
	size_t		 len, off;
	char		 str[65536];	/* one string, NUL-terminated */
};

static int
rd_be(struct tlv_rd *r, unsigned n, uint64_t *v)
{
	unsigned i;

	if (r->len - r->off < n)
		return -1;
	for (*v = 0, i = 0; i < n; i++)
		*v = *v << 8 | r->p[r->off++];
	return 0;
}

/* A u16-prefixed string into r->str (cut at a NUL byte). */
static int
rd_str(struct tlv_rd *r)
{
	uint64_t n;

	if (rd_be(r, 2, &n) == -1 || r->len - r->off < n)
		return -1;
	memcpy(r->str, r->p + r->off, n);
	r->str[n] = '\0';
	r->off += n;
	return 0;
}

/* The key of an item as text into r->str. */
static int
rd_key(struct tlv_rd *r, unsigned kt)
{
	static const unsigned char width[] = { [TLV_U8] = 1, [TLV_U16] = 2,
	    [TLV_U32] = 4 };
	uint64_t v;

	if (kt == TLV_STRING)
		return rd_str(r);
	if (kt < TLV_U8 || kt > TLV_U32 || rd_be(r, width[kt], &v) == -1)
		return -1;
	(void)snprintf(r->str, sizeof(r->str), "%llu", (unsigned long long)v);
	return 0;
}

/* The value of an item as a new cJSON item, or NULL. */
static cJSON *
rd_value(struct tlv_rd *r, unsigned vt)
{
	static const unsigned char width[] = { [TLV_U8] = 1, [TLV_U16] = 2,
	    [TLV_U32] = 4, [TLV_U64] = 8, [TLV_I8] = 1, [TLV_I16] = 2,
	    [TLV_I32] = 4, [TLV_I64] = 8 };
	uint64_t v;
	int64_t sv;
	uint32_t fb;
	float fl;
	unsigned w;
	char num[24];

	switch (vt) {
	case TLV_U8: case TLV_U16: case TLV_U32: case TLV_U64:
		if (rd_be(r, width[vt], &v) == -1)
			return NULL;
		if (v > (1ull << 53)) {		/* beyond a double: as text */
			(void)snprintf(num, sizeof(num), "%llu",
			    (unsigned long long)v);
			return cJSON_CreateString(num);
		}
		return cJSON_CreateNumber((double)v);
	case TLV_I8: case TLV_I16: case TLV_I32: case TLV_I64:
		w = width[vt];
		if (rd_be(r, w, &v) == -1)
			return NULL;
		if (w < 8 && (v >> (w * 8 - 1)) != 0)
			v |= ~0ull << (w * 8);		/* sign-extend */
		memcpy(&sv, &v, sizeof(sv));
		return cJSON_CreateNumber((double)sv);
	case TLV_FLOAT:
		if (r->len - r->off < 4)
			return NULL;
		fb = (uint32_t)r->p[r->off] | (uint32_t)r->p[r->off + 1] << 8 |
		    (uint32_t)r->p[r->off + 2] << 16 |
		    (uint32_t)r->p[r->off + 3] << 24;
		r->off += 4;
		memcpy(&fl, &fb, sizeof(fl));
		return cJSON_CreateNumber((double)fl);
	case TLV_STRING:
		if (rd_str(r) == -1)
			return NULL;
		return cJSON_CreateString(r->str);
	default:
		return NULL;
	}
}

/*
 * IPv4 addresses travel as uint32 in TLV (the JSON path has them as
 * text): the fields that hold one, by NetFlow number and by name.
 */
static int
is_ipv4_key(const char *k)
{
	static const char *const keys[] = { "8", "12", "15", "18", "130",
	    "225", "226", "IPV4_SRC_ADDR", "IPV4_DST_ADDR", "IPV4_NEXT_HOP",
	    "IPV4_LOCAL_ADDR", "IPV4_REMOTE_ADDR", "EXPORTER_IPV4_ADDRESS" };
	size_t i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (strcmp(k, keys[i]) == 0)
			return 1;
	return 0;
}

/* Adds `item` to container `c` (an object under `key`, or an array). */
static int
put(cJSON *c, const char *key, cJSON *item)
{
	if (item == NULL)
		return -1;
	if (cJSON_IsArray(c))
		return cJSON_AddItemToArray(c, item) ? 0 : -1;
	return cJSON_AddItemToObject(c, key, item) ? 0 : -1;
}

static struct tlv_rd tlv_rd;

/*
 * Decodes TLV payload `p` into a cJSON array of record objects (NULL if
 * it is not a valid TLV payload).  The tree comes from cJSON's hooks
 * like a parsed JSON payload.
 */
cJSON *
tlv_decode(const uint8_t *p, size_t len)
{
	struct tlv_rd *r = &tlv_rd;
	cJSON *root, *stack[TLV_MAX_DEPTH + 1], *item;
	unsigned depth = 0, t, kt, vt;

	if (len < 2 || p[0] != 1 || p[1] != 1)
		return NULL;
	r->p = p;
	r->len = len;
	r->off = 2;
	if ((root = cJSON_CreateArray()) == NULL)
		return NULL;
	stack[0] = NULL;	/* no record open */
	while (r->off < len) {
		t = p[r->off++];
		kt = t >> 4;
		vt = t & 0x0f;
		if (stack[0] == NULL) {
			if (vt == TLV_EOR && kt == 0)
				continue;	/* an empty record */
			if ((stack[0] = cJSON_CreateObject()) == NULL ||
			    !cJSON_AddItemToArray(root, stack[0]))
				goto bad;
		}
		switch (vt) {
		case TLV_EOR:
			if (kt != 0 || depth != 0)
				goto bad;
			stack[0] = NULL;
			continue;
		case TLV_SOB:
		case TLV_SOL:
			if ((kt != 0 && kt != TLV_STRING) || rd_str(r) == -1 ||
			    depth == TLV_MAX_DEPTH)
				goto bad;
			item = vt == TLV_SOB ? cJSON_CreateObject() :
			    cJSON_CreateArray();
			if (put(stack[depth], r->str, item) == -1)
				goto bad;
			stack[++depth] = item;
			continue;
		case TLV_EOB:
		case TLV_EOL:
			if (kt != 0 || depth == 0 ||
			    cJSON_IsArray(stack[depth]) != (vt == TLV_EOL))
				goto bad;
			depth--;
			continue;
		default:
			break;
		}
		if (rd_key(r, kt) == -1)
			goto bad;
		/* The key is in r->str until the value is read: keep it. */
		{
			char key[sizeof(r->str)];

			memcpy(key, r->str, strlen(r->str) + 1);
			if (vt >= TLV_U8 && vt <= TLV_U32 && is_ipv4_key(key)) {
				uint64_t a;

				if (rd_be(r, vt == TLV_U32 ? 4 : vt == TLV_U16 ?
				    2 : 1, &a) == -1)
					goto bad;
				(void)snprintf(r->str, sizeof(r->str),
				    "%u.%u.%u.%u", (unsigned)(a >> 24) & 255,
				    (unsigned)(a >> 16) & 255,
				    (unsigned)(a >> 8) & 255, (unsigned)a & 255);
				item = cJSON_CreateString(r->str);
			} else
				item = rd_value(r, vt);
			if (item == NULL ||
			    put(stack[depth], key, item) == -1) {
				cJSON_Delete(item);
				goto bad;
			}
		}
	}
	if (depth != 0)
		goto bad;
	return root;
bad:
	cJSON_Delete(root);
	return NULL;
}
