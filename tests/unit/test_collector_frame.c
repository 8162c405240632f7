/*
 * collector/zmq_frame.c, ingest.c and producers.c: every header layout
 * and version (with and without zlib), hostile frames, producer loss
 * accounting, and the message identity
 *   msgs_received = msgs_decoded + msgs_ignored + sum(drop_msg_*).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zlib.h>

#include "collector/collector.h"
#include "t.h"
#include "t_flow.h"

static struct ingest in;
static unsigned flows, others;
static struct evp_flow last_flow;
static struct evp_producer last_prod;

static int
capture(void *arg, uint16_t type, const void *body, size_t len)
{
	(void)arg;
	if (type == EVP_FLOW) {
		CHECK(t_flow_wire(body, len, &last_flow) == 0);
		flows++;
	} else if (type == EVP_PRODUCER) {
		struct evp_producer pr;

		CHECK(evp_decode_producer(body, len, &pr) == 0);
		if (pr.source_id == 42)
			last_prod = pr;
		others++;
	} else
		others++;
	return 0;
}

static const char ev[] = "{\"IPV4_SRC_ADDR\":\"10.0.0.1\","
    "\"IPV4_DST_ADDR\":\"10.0.0.2\",\"PROTOCOL\":6,\"L4_SRC_PORT\":40000,"
    "\"L4_DST_PORT\":80,\"TCP_EVENT_TYPE\":\"CONNECT\"}";

/* Builds a header of layout `len` (40/24/28/36). */
static size_t
mkhdr(uint8_t *h, size_t len, const char *topic, unsigned version,
    unsigned flags, uint32_t msg_id, uint32_t source_id)
{
	uint32_t be = htonl(msg_id), v32 = version;

	memset(h, 0xee, len);	/* uninitialised-looking padding */
	memset(h, 0, len == 40 ? 32 : 16);
	memcpy(h, topic, strlen(topic));
	switch (len) {
	case 40:
		memcpy(h + 32, &v32, 4);
		break;
	case 24:
		h[16] = (uint8_t)version;
		h[17] = (uint8_t)source_id;
		memcpy(h + 20, version == 1 ? &msg_id : &be, 4);
		break;
	case 28:
		h[16] = (uint8_t)version;
		memcpy(h + 20, version == 1 ? &msg_id : &be, 4);
		memcpy(h + 24, &source_id, 4);
		break;
	case 36:
		h[16] = (uint8_t)version;
		h[17] = (uint8_t)flags;
		memcpy(h + 28, &be, 4);
		memcpy(h + 32, &source_id, 4);
		break;
	}
	return len;
}

static void
feed(const uint8_t *h, size_t hl, const void *p, size_t pl, unsigned nf,
    const char *peer)
{
	ingest_msg(&in, h, hl, p, pl, nf, peer, -1, 1000, 2000);
}

/* zlib-compresses `s` into `out`; returns the length. */
static size_t
deflate_buf(const void *s, size_t n, uint8_t *out, size_t cap)
{
	uLongf ol = cap;

	CHECK(compress2(out, &ol, s, n, 6) == Z_OK);
	return ol;
}

static void
check_identity(void)
{
	uint64_t sum = in.ctr[C_MSGS_DECODED] + in.ctr[C_MSGS_IGNORED];
	unsigned i;

	for (i = C_DROP_MSG_BAD_HEADER; i <= C_DROP_MSG_UNKNOWN_TOPIC; i++)
		sum += in.ctr[i];
	CHECK_EQ_U(in.ctr[C_MSGS_RECEIVED], sum);
	sum = in.ctr[C_EVENTS_FORWARDED];
	for (i = C_DROP_EV_NOT_OBJECT; i <= C_DROP_EV_SEND; i++)
		sum += in.ctr[i];
	CHECK_EQ_U(in.ctr[C_EVENTS_RECEIVED], sum);
}

static void
test_layouts(void)
{
	uint8_t h[40], z[4096], *zp;
	size_t zl;
	struct zf_header zh;

	/* Header decode of each layout. */
	mkhdr(h, 40, "flow", 0, 0, 0, 0);
	CHECK_EQ_U(zf_header_decode(h, 40, &zh), ZF_OK);
	CHECK_STR(zh.topic, "flow");
	CHECK_EQ_U(zh.has_msg_id, 0);
	mkhdr(h, 24, "flow", 1, 0, 0x01020304, 9);
	CHECK_EQ_U(zf_header_decode(h, 24, &zh), ZF_OK);
	CHECK_EQ_U(zh.msg_id, 0x01020304);	/* v1: host order */
	CHECK_EQ_U(zh.source_id, 9);
	mkhdr(h, 28, "counter", 2, 0, 0x01020304, 77);
	CHECK_EQ_U(zf_header_decode(h, 28, &zh), ZF_OK);
	CHECK_EQ_U(zh.msg_id, 0x01020304);	/* v2: big-endian */
	CHECK_EQ_U(zh.source_id, 77);
	CHECK_STR(zh.topic, "counter");
	mkhdr(h, 36, "listening-ports", 4, ZF_V4_ZLIB, 5, 6);
	CHECK_EQ_U(zf_header_decode(h, 36, &zh), ZF_OK);
	CHECK_STR(zh.topic, "listening-ports");
	CHECK_EQ_U(zh.flags, ZF_V4_ZLIB);
	CHECK_EQ_U(zh.msg_id, 5);
	CHECK_EQ_U(zh.source_id, 6);
	/* A topic filling all 16 bytes without a NUL stays bounded. */
	memset(h, 'x', 16);
	h[16] = 2;
	CHECK_EQ_U(zf_header_decode(h, 28, &zh), ZF_OK);
	CHECK_EQ_U(strlen(zh.topic), 16);

	/* Whole messages: every layout and version, plain and zlib. */
	feed(h, mkhdr(h, 40, "flow", 0, 0, 0, 0), ev, strlen(ev), 2, "a");
	feed(h, mkhdr(h, 24, "flow", 1, 0, 1, 0), ev, strlen(ev), 2, "b");
	feed(h, mkhdr(h, 24, "flow", 2, 0, 1, 0), ev, strlen(ev), 2, "c");
	feed(h, mkhdr(h, 28, "flow", 2, 0, 1, 0), ev, strlen(ev), 2, "d");
	feed(h, mkhdr(h, 36, "flow", 4, 0, 1, 0), ev, strlen(ev), 2, "e");
	CHECK_EQ_U(flows, 5);
	CHECK_EQ_U(last_flow.port[1], 80);
	CHECK_EQ_U(last_flow.producer, 5);
	/* zlib: v4 by flag, others by a leading 0x00. */
	zl = deflate_buf(ev, strlen(ev), z, sizeof(z));
	feed(h, mkhdr(h, 36, "flow", 4, ZF_V4_ZLIB, 2, 0), z, zl, 2, "e");
	zp = malloc(zl + 1);
	zp[0] = 0;
	memcpy(zp + 1, z, zl);
	feed(h, mkhdr(h, 28, "flow", 2, 0, 2, 0), zp, zl + 1, 2, "d");
	feed(h, mkhdr(h, 40, "flow", 0, 0, 0, 0), zp, zl + 1, 2, "a");
	free(zp);
	CHECK_EQ_U(flows, 8);
	CHECK_EQ_U(in.ctr[C_BYTES_INFLATED], 3 * strlen(ev));
	CHECK_EQ_U(in.ctr[C_MSGS_V0], 2);
	CHECK_EQ_U(in.ctr[C_MSGS_V1], 1);
	CHECK_EQ_U(in.ctr[C_MSGS_V2], 3);
	CHECK_EQ_U(in.ctr[C_MSGS_V4], 2);
	CHECK_EQ_U(in.ctr[C_MSGS_DECODED], 8);
	CHECK_EQ_U(in.ctr[C_LOST_MSGS], 0);
	check_identity();
}

static void
test_hostile(void)
{
	uint8_t h[64], *big, *z;
	size_t zl, n = 16 * 1024 * 1024, i;
	uint64_t before[C_COUNTER_MAX];
	static const size_t bad_lens[] = { 0, 1, 16, 23, 25, 32, 39, 41, 64 };

	memcpy(before, in.ctr, sizeof(before));
	memset(h, 0, sizeof(h));
	for (i = 0; i < sizeof(bad_lens) / sizeof(bad_lens[0]); i++)
		feed(h, bad_lens[i], ev, strlen(ev), 2, "x");
	CHECK_EQ_U(in.ctr[C_DROP_MSG_BAD_HEADER],
	    before[C_DROP_MSG_BAD_HEADER] + 9);
	/* Unsupported versions in each layout. */
	feed(h, mkhdr(h, 40, "flow", 7, 0, 0, 0), ev, strlen(ev), 2, "x");
	feed(h, mkhdr(h, 24, "flow", 0, 0, 0, 0), ev, strlen(ev), 2, "x");
	feed(h, mkhdr(h, 28, "flow", 4, 0, 0, 0), ev, strlen(ev), 2, "x");
	feed(h, mkhdr(h, 36, "flow", 3, 0, 0, 0), ev, strlen(ev), 2, "x");
	CHECK_EQ_U(in.ctr[C_DROP_MSG_UNSUPPORTED_VERSION],
	    before[C_DROP_MSG_UNSUPPORTED_VERSION] + 4);
	/* Frame counts. */
	feed(h, mkhdr(h, 28, "flow", 2, 0, 0, 0), NULL, 0, 1, "x");
	feed(h, mkhdr(h, 28, "flow", 2, 0, 1, 0), ev, strlen(ev), 3, "x");
	CHECK_EQ_U(in.ctr[C_DROP_MSG_ONE_FRAME], 1);
	CHECK_EQ_U(in.ctr[C_DROP_MSG_TOO_MANY_FRAMES], 1);
	/* Topics: ebpf dropped, hello ignored, others unknown. */
	feed(h, mkhdr(h, 40, "ebpf", 0, 0, 0, 0), "\x01\x02", 2, 2, "x");
	feed(h, mkhdr(h, 28, "hello", 2, 0, 2, 0), "{}", 2, 2, "x");
	feed(h, mkhdr(h, 28, "events", 2, 0, 3, 0), ev, strlen(ev), 2, "x");
	feed(h, mkhdr(h, 28, "e", 2, 0, 4, 0), ev, strlen(ev), 2, "x");
	CHECK_EQ_U(in.ctr[C_DROP_MSG_EBPF_TOPIC], 1);
	CHECK_EQ_U(in.ctr[C_MSGS_IGNORED], 1);
	CHECK_EQ_U(in.ctr[C_DROP_MSG_UNKNOWN_TOPIC], 2);
	/* TLV, by version 3 and by the v4 flag. */
	feed(h, mkhdr(h, 28, "flow", 3, 0, 5, 0), "\x01", 1, 2, "x");
	feed(h, mkhdr(h, 36, "flow", 4, ZF_V4_TLV, 6, 0), "\x01", 1, 2, "x");
	CHECK_EQ_U(in.ctr[C_DROP_MSG_TLV], 2);
	/* Bad zlib: garbage, truncated stream, empty. */
	big = calloc(1, n);
	z = malloc(n);
	zl = deflate_buf(ev, strlen(ev), z, n);
	feed(h, mkhdr(h, 36, "flow", 4, ZF_V4_ZLIB, 7, 0), "garbage!", 8, 2,
	    "x");
	feed(h, mkhdr(h, 36, "flow", 4, ZF_V4_ZLIB, 8, 0), z, zl / 2, 2, "x");
	feed(h, mkhdr(h, 36, "flow", 4, ZF_V4_ZLIB, 9, 0), z, 0, 2, "x");
	feed(h, mkhdr(h, 28, "flow", 2, 0, 10, 0), "\0", 1, 2, "x");
	CHECK_EQ_U(in.ctr[C_DROP_MSG_BAD_ZLIB], 4);
	/* A zlib bomb: 16 MiB of zeros in a few KiB, cap is 1 MiB. */
	zl = deflate_buf(big, n, z, n);
	CHECK(zl < 64 * 1024);
	feed(h, mkhdr(h, 36, "flow", 4, ZF_V4_ZLIB, 11, 0), z, zl, 2, "x");
	CHECK_EQ_U(in.ctr[C_DROP_MSG_TOO_LARGE], 1);
	/* A plain payload over the cap. */
	memset(big, ' ', n);
	feed(h, mkhdr(h, 28, "flow", 2, 0, 12, 0), big, 2 * 1024 * 1024, 2,
	    "x");
	CHECK_EQ_U(in.ctr[C_DROP_MSG_TOO_LARGE], 2);
	/* Bad JSON. */
	feed(h, mkhdr(h, 28, "flow", 2, 0, 13, 0), "{\"a\"", 4, 2, "x");
	CHECK_EQ_U(in.ctr[C_DROP_MSG_BAD_JSON], 1);
	/* And a good message after all that. */
	feed(h, mkhdr(h, 28, "flow", 2, 0, 14, 0), ev, strlen(ev), 2, "x");
	CHECK_EQ_U(in.ctr[C_LOST_MSGS], 0);
	free(big);
	free(z);
	check_identity();
}

/* The JSON scan: depth, values and events, strings skipped. */
static void
test_json_bounds(void)
{
	struct json_bounds b = { 100, 100, 100 };
	static const char tricky[] =
	    "{\"a\":\"[[[[{{,,,\\\"]]]\",\"b\":[1,2,{\"c\":[]}],\"d\":{}}";
	char deep[128];
	unsigned i;

#define JB(s)	json_bounds_check(&b, (s), strlen(s))
	CHECK_EQ_U(JB("{}"), 0);
	CHECK_EQ_U(JB("[]"), 0);
	CHECK_EQ_U(JB(tricky), 0);
	/* tricky: object, a, b, 1, 2, {c}, [], d = 8 values; depth 4. */
	b.max_nodes = 8;
	CHECK_EQ_U(JB(tricky), 0);
	b.max_nodes = 7;
	CHECK_EQ_U(JB(tricky), C_OVER_NODES);
	b.max_nodes = 100;
	b.max_depth = 4;
	CHECK_EQ_U(JB(tricky), 0);
	b.max_depth = 3;
	CHECK_EQ_U(JB(tricky), C_OVER_DEPTH);
	/* A quoted bracket or comma counts for nothing. */
	b.max_depth = 1;
	b.max_nodes = 2;
	CHECK_EQ_U(JB("{\"k\": \"[,{,[\\\\\"}"), 0);
	b.max_depth = 100;
	b.max_nodes = 100;
	/* Events: elements of a top-level array only. */
	b.max_events = 3;
	CHECK_EQ_U(JB("[{},{},{}]"), 0);
	CHECK_EQ_U(JB("[ {} , {} , {} , {} ]"), C_OVER_EVENTS);
	CHECK_EQ_U(JB("{\"a\":[1,2,3,4,5,6]}"), 0);
	CHECK_EQ_U(JB("[[1,2,3,4,5,6]]"), 0);
	b.max_events = 0;
	CHECK_EQ_U(JB("[]"), 0);
	CHECK_EQ_U(JB("[ {} ]"), C_OVER_EVENTS);
	b.max_events = 100;
	for (i = 0; i < 40; i++)
		deep[i] = '[';
	for (i = 40; i < 80; i++)
		deep[i] = ']';
	deep[80] = '\0';
	b.max_depth = 40;
	CHECK_EQ_U(JB(deep), 0);
	b.max_depth = 39;
	CHECK_EQ_U(JB(deep), C_OVER_DEPTH);
#undef JB
}

/* The definition json_bounds_check implements 64 bytes at a time, byte
 * by byte: the oracle of test_json_bounds_blocks. */
static int
jb_bytewise(const struct json_bounds *b, const char *s, size_t n)
{
	unsigned long depth = 0, nodes = 1, events = 0;
	int in_str = 0, esc = 0, fresh = 0, top_array = 0;
	size_t i;
	char c;

	for (i = 0; i < n; i++) {
		c = s[i];
		if (esc) {
			esc = 0;
			continue;
		}
		if (c == '\\')
			esc = 1;
		if (in_str) {
			if (c == '"')
				in_str = 0;
			continue;
		}
		if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
			continue;
		if (fresh && c != ']' && c != '}') {
			nodes++;
			if (depth == 1 && top_array && ++events > b->max_events)
				return C_OVER_EVENTS;
		}
		fresh = 0;
		switch (c) {
		case '"':
			in_str = 1;
			break;
		case '[':
		case '{':
			if (depth == 0 && c == '[')
				top_array = 1;
			if (++depth > b->max_depth)
				return C_OVER_DEPTH;
			fresh = 1;
			break;
		case ']':
		case '}':
			if (depth > 0)
				depth--;
			break;
		case ',':
			nodes++;
			if (depth == 1 && top_array && ++events > b->max_events)
				return C_OVER_EVENTS;
			break;
		default:
			break;
		}
		if (nodes > b->max_nodes)
			return C_OVER_NODES;
	}
	return 0;
}

/*
 * The block scan against the byte-wise definition: random text of the
 * bytes that matter (escape runs across block boundaries, strings
 * spanning blocks, every length around 64), random bounds, and real
 * events of up to 40 per array.
 */
static void
test_json_bounds_blocks(void)
{
	/* dense: structure everywhere; sparse: long strings over blocks */
	static const char *const alpha[2] = { "[]{},\"\\ \tax1",
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"\\ ,[{]}" };
	static char text[1024];
	struct json_bounds b;
	unsigned long seed = 12345;
	unsigned i, k, len, mism = 0;
	size_t el;
	const char *obj = "{\"a\":\"x\\\"y\\\\\",\"b\":[1,{\"c\":\"\\/u\"}],"
	    "\"d\":{}}";

	for (i = 0; i < 200000; i++) {
		seed = seed * 6364136223846793005ul + 1442695040888963407ul;
		len = (unsigned)(seed >> 33) % (i & 1 ? 600 : 300);
		for (k = 0; k < len; k++) {
			seed = seed * 6364136223846793005ul + 1;
			text[k] = alpha[i & 1][(seed >> 40) %
			    strlen(alpha[i & 1])];
		}
		b.max_events = (seed >> 20) % 12;
		b.max_depth = 1 + (seed >> 24) % 12;
		b.max_nodes = 1 + (seed >> 28) % 80;
		if (json_bounds_check(&b, text, len) !=
		    jb_bytewise(&b, text, len) && mism++ < 5) {
			fprintf(stderr, "bounds %lu/%lu/%lu, text '%.*s'\n",
			    b.max_events, b.max_depth, b.max_nodes, (int)len,
			    text);
			CHECK_EQ_U(json_bounds_check(&b, text, len),
			    (unsigned)jb_bytewise(&b, text, len));
		}
	}
	CHECK_EQ_U(mism, 0);
	/* Arrays of real-looking events, every bound hit somewhere. */
	el = strlen(obj);
	for (i = 1; i <= 40; i++) {
		len = 0;
		text[len++] = '[';
		for (k = 0; k < i && len + el + 2 < sizeof(text); k++) {
			if (k > 0)
				text[len++] = ',';
			memcpy(text + len, obj, el);
			len += (unsigned)el;
		}
		text[len++] = ']';
		for (k = 0; k < 64; k++) {
			b.max_events = k % 16;
			b.max_depth = 1 + k % 5;
			b.max_nodes = 1 + 4 * k;
			CHECK_EQ_U(json_bounds_check(&b, text, len),
			    (unsigned)jb_bytewise(&b, text, len));
		}
	}
}

/* The bounds per message in ingest: refused whole and counted; a good
 * message after each is decoded. */
static void
test_message_bounds(void)
{
	struct json_bounds keep = in.jb;
	uint8_t h[64], *z;
	char *text;
	size_t zl, tl, n = 512 * 1024, i;
	unsigned f0, id = 1;

	z = malloc(n);
	text = malloc(n);
	CHECK(z != NULL && text != NULL);
	if (z == NULL || text == NULL) {
		free(z);
		free(text);
		return;
	}
	/* The amplification: `[{},{},...]`, ratio ~1000. */
	tl = 0;
	text[tl++] = '[';
	for (i = 0; i < 100000; i++) {
		memcpy(text + tl, "{},", 3);
		tl += 3;
	}
	text[tl - 1] = ']';
	zl = deflate_buf(text, tl, z, n);
	CHECK(zl * 100 < tl);
	feed(h, mkhdr(h, 36, "flow", 4, ZF_V4_ZLIB, id++, 0), z, zl, 2, "bounds");
	CHECK_EQ_U(in.ctr[C_OVER_INFLATE_RATIO], 1);
	CHECK_EQ_U(in.ctr[C_DROP_MSG_TOO_LARGE], 3);
	/* Without the ratio it inflates, and the event bound refuses it
	 * before a single event is made. */
	in.zi.max_ratio = 0;
	f0 = in.ctr[C_EVENTS_RECEIVED];
	feed(h, mkhdr(h, 36, "flow", 4, ZF_V4_ZLIB, id++, 0), z, zl, 2, "bounds");
	CHECK_EQ_U(in.ctr[C_OVER_EVENTS], 1);
	CHECK_EQ_U(in.ctr[C_DROP_MSG_TOO_LARGE], 4);
	CHECK_EQ_U(in.ctr[C_EVENTS_RECEIVED], f0);
	in.zi.max_ratio = ZF_DEFAULT_RATIO;
	/* Under ZF_RATIO_FLOOR any ratio passes: 60 KB of spaces, then an
	 * event. */
	memset(text, ' ', 60000);
	memcpy(text + 60000, ev, strlen(ev));
	zl = deflate_buf(text, 60000 + strlen(ev), z, n);
	CHECK(zl * 100 < 60000);
	f0 = flows;
	feed(h, mkhdr(h, 36, "flow", 4, ZF_V4_ZLIB, id++, 0), z, zl, 2, "bounds");
	CHECK_EQ_U(flows, f0 + 1);
	/* Events, depth and nodes of plain payloads. */
	in.jb.max_events = 2;
	tl = (size_t)snprintf(text, n, "[%s,%s]", ev, ev);
	f0 = flows;
	feed(h, mkhdr(h, 28, "flow", 2, 0, id++, 0), text, tl, 2, "bounds");
	CHECK_EQ_U(flows, f0 + 2);
	tl = (size_t)snprintf(text, n, "[%s,%s,%s]", ev, ev, ev);
	feed(h, mkhdr(h, 28, "flow", 2, 0, id++, 0), text, tl, 2, "bounds");
	CHECK_EQ_U(flows, f0 + 2);
	CHECK_EQ_U(in.ctr[C_OVER_EVENTS], 2);
	in.jb = keep;
	in.jb.max_depth = 2;
	tl = (size_t)snprintf(text, n, "[%s]", ev);
	feed(h, mkhdr(h, 28, "flow", 2, 0, id++, 0), text, tl, 2, "bounds");
	tl = (size_t)snprintf(text, n, "[[%s]]", ev);
	feed(h, mkhdr(h, 28, "flow", 2, 0, id++, 0), text, tl, 2, "bounds");
	CHECK_EQ_U(in.ctr[C_OVER_DEPTH], 1);
	CHECK_EQ_U(flows, f0 + 3);
	in.jb = keep;
	/* ev: the object and its 6 members. */
	in.jb.max_nodes = 7;
	feed(h, mkhdr(h, 28, "flow", 2, 0, id++, 0), ev, strlen(ev), 2, "bounds");
	tl = (size_t)snprintf(text, n, "[%s]", ev);
	feed(h, mkhdr(h, 28, "flow", 2, 0, id++, 0), text, tl, 2, "bounds");
	CHECK_EQ_U(in.ctr[C_OVER_NODES], 1);
	CHECK_EQ_U(flows, f0 + 4);
	in.jb = keep;
	CHECK_EQ_U(in.ctr[C_DROP_MSG_TOO_LARGE], 7);
	CHECK_EQ_U(in.ctr[C_LOST_MSGS], 0);
	free(z);
	free(text);
	check_identity();
}

static void
test_producers(void)
{
	uint8_t h[40];
	uint64_t lost = in.ctr[C_LOST_MSGS], rst = in.ctr[C_RESTARTS];
	const struct producer *p;
	unsigned i;

	/* msg_id 100, 101, 105 (3 lost), 105 (dup), 2 (restart), 3. */
	static const uint32_t ids[] = { 100, 101, 105, 105, 2, 3 };
	for (i = 0; i < 6; i++)
		feed(h, mkhdr(h, 36, "flow", 4, 0, ids[i], 42), ev, strlen(ev),
		    2, "10.9.9.9");
	CHECK_EQ_U(in.ctr[C_LOST_MSGS], lost + 3);
	CHECK_EQ_U(in.ctr[C_RESTARTS], rst + 1);
	CHECK_EQ_U(in.ctr[C_DUPLICATES], 1);
	/* Same peer, other source_id: a separate producer. */
	feed(h, mkhdr(h, 36, "flow", 4, 0, 50, 43), ev, strlen(ev), 2,
	    "10.9.9.9");
	feed(h, mkhdr(h, 36, "flow", 4, 0, 52, 43), ev, strlen(ev), 2,
	    "10.9.9.9");
	CHECK_EQ_U(in.ctr[C_LOST_MSGS], lost + 4);
	/* msg_id wraps around without a restart. */
	feed(h, mkhdr(h, 36, "flow", 4, 0, 0xffffffffu, 44), ev, strlen(ev),
	    2, "w");
	feed(h, mkhdr(h, 36, "flow", 4, 0, 0, 44), ev, strlen(ev), 2, "w");
	CHECK_EQ_U(in.ctr[C_RESTARTS], rst + 1);
	CHECK_EQ_U(in.ctr[C_LOST_MSGS], lost + 4);
	p = NULL;
	for (i = 0; i < in.prods->n; i++)
		if (in.prods->tab[i].source_id == 42)
			p = &in.prods->tab[i];
	CHECK(p != NULL);
	if (p != NULL) {
		CHECK_EQ_U(p->rec.msgs, 6);
		CHECK_EQ_U(p->rec.events, 6);
		CHECK_EQ_U(p->rec.lost_msgs, 3);
		CHECK_EQ_U(p->rec.restarts, 1);
		CHECK_STR(p->rec.peer, "10.9.9.9");
	}
	/* `event` topic: the producer's health. */
	feed(h, mkhdr(h, 36, "event", 4, 0, 53, 43), "{\"drops\":7}", 11, 2,
	    "10.9.9.9");
	others = 0;
	ingest_producer_records(&in);
	CHECK_EQ_U(others, in.prods->n);
	CHECK_EQ_U(in.ctr[C_RECORDS_PRODUCER], in.prods->n);
	/* Expiry: all were seen at t=1000; at t=1000+timeout they go. */
	i = in.prods->n;
	producers_expire(in.prods, 1000 + 5, 10);
	CHECK_EQ_U(in.prods->n, i);
	producers_expire(in.prods, 1000 + 10, 10);
	CHECK_EQ_U(in.prods->n, 0);
	CHECK_EQ_U(in.ctr[C_PRODUCERS_EXPIRED], i);
	/* A known producer after expiry starts afresh: no loss counted. */
	feed(h, mkhdr(h, 36, "flow", 4, 0, 90, 42), ev, strlen(ev), 2,
	    "10.9.9.9");
	CHECK_EQ_U(in.ctr[C_LOST_MSGS], lost + 4);
	check_identity();
}

/* Connections of one producer (same peer and source_id) each keep their
 * sequence: a new process's messages interleaving with the old one's
 * still queued are neither losses nor repeated restarts. */
/*
 * The state file across runs: a save loads back; the CRC refuses a
 * changed byte; bytes left after the end line (a longer state before,
 * a kill before the truncate) are ignored; a shorter save truncates;
 * a version 2 file (no CRC) still loads.
 */
static void
test_state_file(void)
{
	char path[] = "/tmp/evflow-test-state.XXXXXX", err[256], buf[4096];
	struct producers *a, *b;
	uint64_t ctr[C_COUNTER_MAX], snd, sq;
	unsigned i;
	FILE *fp;
	size_t n;
	int fd;

	CHECK((fd = mkstemp(path)) != -1);
	close(fd);
	unlink(path);
	memset(ctr, 0, sizeof(ctr));
	CHECK((a = producers_new(ctr)) != NULL);
	for (i = 0; i < 40; i++) {
		char peer[32];

		snprintf(peer, sizeof(peer), "10.0.0.%u", i);
		(void)producers_seen(a, peer, 3, i, 1, 1000 + i, 1);
	}
	CHECK_EQ_U(producers_save(a, path, 0xabcdef, 77, err, sizeof(err)),
	    0);
	CHECK((b = producers_new(ctr)) != NULL);
	CHECK_EQ_U(producers_load(b, path, &snd, &sq, err, sizeof(err)), 40);
	CHECK_EQ_U(snd, 0xabcdef);
	CHECK_EQ_U(sq, 77);
	CHECK_EQ_U(b->tab[39].last_msg_id, 1039);
	CHECK(strcmp(b->tab[39].rec.peer, "10.0.0.39") == 0);
	producers_free(b);
	/* Fewer producers: the file shrinks to the new state. */
	a->n = 2;
	CHECK_EQ_U(producers_save(a, path, 0xabcdef, 78, err, sizeof(err)),
	    0);
	CHECK((fp = fopen(path, "r")) != NULL);
	n = fread(buf, 1, sizeof(buf), fp);
	fclose(fp);
	CHECK(n > 0 && n < 300 && buf[n - 1] == '\n');
	/* Left-overs after the end line: ignored. */
	CHECK((fp = fopen(path, "a")) != NULL);
	fputs("3 1003 1 0 0 10.0.0.3\n", fp);
	fclose(fp);
	CHECK((b = producers_new(ctr)) != NULL);
	CHECK_EQ_U(producers_load(b, path, &snd, &sq, err, sizeof(err)), 2);
	CHECK_EQ_U(sq, 78);
	producers_free(b);
	/* One byte changed: damaged. */
	buf[n - 20] ^= 1;
	CHECK((fp = fopen(path, "w")) != NULL);
	fwrite(buf, 1, n, fp);
	fclose(fp);
	CHECK((b = producers_new(ctr)) != NULL);
	CHECK_EQ_U((unsigned)(producers_load(b, path, &snd, &sq, err,
	    sizeof(err)) + 1), 0);
	CHECK(strstr(err, "CRC") != NULL);
	producers_free(b);
	/* Version 2 (before the CRC): loads as it is. */
	CHECK((fp = fopen(path, "w")) != NULL);
	fputs("evflow-collector-producers 2\nsender 0000000000000005 9\n"
	    "0 41 1 0 0 10.1.1.1\n", fp);
	fclose(fp);
	CHECK((b = producers_new(ctr)) != NULL);
	CHECK_EQ_U(producers_load(b, path, &snd, &sq, err, sizeof(err)), 1);
	CHECK_EQ_U(snd, 5);
	CHECK_EQ_U(b->tab[0].last_msg_id, 41);
	producers_free(b);
	producers_free(a);
	unlink(path);
}

static void
test_connections(void)
{
	uint8_t h[40];
	uint64_t lost = in.ctr[C_LOST_MSGS], rst = in.ctr[C_RESTARTS];
	static const struct { int conn; uint32_t id; } seq[] = {
		{ 10, 1 }, { 10, 2 }, { 10, 3 },
		{ 11, 1 },		/* new process: one restart */
		{ 10, 4 }, { 11, 2 }, { 10, 5 }, { 11, 3 }, { 11, 4 },
		{ 12, 5 },		/* a third connection continuing */
		{ 12, 7 },		/* one lost */
		{ 13, 7 },		/* new connection, repeated id */
		{ 13, 8 },
	};
	unsigned i;

	for (i = 0; i < sizeof(seq) / sizeof(seq[0]); i++)
		ingest_msg(&in, h, mkhdr(h, 36, "flow", 4, 0, seq[i].id, 77),
		    (const uint8_t *)ev, strlen(ev), 2, "10.7.7.7", seq[i].conn,
		    1000, 2000);
	CHECK_EQ_U(in.ctr[C_RESTARTS], rst + 1);
	CHECK_EQ_U(in.ctr[C_LOST_MSGS], lost + 1);
	check_identity();
}

static void
test_health_record(void)
{
	uint8_t h[40];
	unsigned i;

	const char *hp = "{\"drops\":{\"a\":2,\"b\":3},\"name\":\"nprobe\"}";

	feed(h, mkhdr(h, 36, "event", 4, 0, 91, 42), hp, strlen(hp), 2,
	    "10.9.9.9");
	ingest_producer_records(&in);
	CHECK_EQ_U(last_prod.source_id, 42);
	CHECK_EQ_U(last_prod.probe_drops, 5);
	CHECK_STR(last_prod.info, "{\"drops\":{\"a\":2,\"b\":3},"
	    "\"name\":\"nprobe\"}");
	CHECK_EQ_U(last_prod.msgs, 2);
	/* A full table evicts the least recently seen. */
	for (i = 0; i < PROD_MAX + 5; i++) {
		char peer[32];

		snprintf(peer, sizeof(peer), "p%u", i);
		feed(h, mkhdr(h, 36, "flow", 4, 0, 1, i), ev, strlen(ev), 2,
		    peer);
	}
	CHECK_EQ_U(in.prods->n, PROD_MAX);
	CHECK(in.ctr[C_PRODUCERS_EVICTED] >= 5);
	check_identity();
}

int
main(void)
{
	CHECK(ingest_init(&in, 1024 * 1024, capture, NULL) == 0);
	test_layouts();
	test_hostile();
	test_json_bounds();
	test_json_bounds_blocks();
	test_message_bounds();
	test_producers();
	test_connections();
	test_state_file();
	test_health_record();
	ingest_free(&in);
	return t_done("test_collector_frame");
}
