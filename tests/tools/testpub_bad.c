/*
 * testpub hostile input: each kind is one or a few messages a collector
 * must reject (and count) without crashing or losing the good messages
 * that follow.  A message whose header is well formed takes the next
 * msg_id, as a real producer's would; messages without a usable header
 * (wrong length, unknown version, missing payload frame) take none, so a
 * collector that tracks msg_id sees no gap from them.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "testpub.h"

#define BOMB_BYTES	(256u * 1024 * 1024)	/* inflated size of the bomb */
#define OVERSIZE_BYTES	(64u * 1024 * 1024)	/* inflated, valid JSON */
#define HUGE_BYTES	(32u * 1024 * 1024)	/* plain payload */
#define NEST_DEPTH	100000
#define AMPLIFY_EVENTS	2790000u	/* 8.37 MB: under max_payload */

static const char good_event[] =
	"{ \"timestamp\": \"1715935521.084213\", \"INTERFACE_NAME\": \"eth0\", "
	"\"IP_PROTOCOL_VERSION\": 4, \"TCP_EVENT_TYPE\": \"CONNECT\", "
	"\"IPV4_SRC_ADDR\": \"192.0.2.1\", \"IPV4_DST_ADDR\": \"192.0.2.2\", "
	"\"PROTOCOL\": 6, \"L4_SRC_PORT\": 50001, \"L4_DST_PORT\": 80 }";

/* Header + payload with the configured header, taking a msg_id. */
static int
send_with_header(struct pub *p, const char *topic, const void *payload,
    size_t len, uint32_t usize, uint8_t flags)
{
	uint8_t h[40];
	const void *f[2];
	size_t fl[2];

	fl[0] = pub_header(p, h, topic, (uint32_t)len, usize, p->msg_id, flags);
	f[0] = h;
	f[1] = payload;
	fl[1] = len;
	if (pub_send_frames(p, 2, f, fl) == -1)
		return -1;
	p->msg_id++;
	return 0;
}

static int
bad_hdr_short(struct pub *p)
{
	uint8_t h[12] = "flow";
	const void *f[2] = { h, good_event };
	size_t fl[2] = { sizeof(h), sizeof(good_event) - 1 };

	return pub_send_frames(p, 2, f, fl);
}

static int
bad_hdr_long(struct pub *p)
{
	uint8_t h[48];
	const void *f[2] = { h, good_event };
	size_t fl[2] = { sizeof(h), sizeof(good_event) - 1 };

	memset(h, 0, sizeof(h));
	memcpy(h, "flow", 4);
	h[16] = 2;
	return pub_send_frames(p, 2, f, fl);
}

static int
bad_hdr_version(struct pub *p)
{
	uint8_t h[40];
	struct pub q = *p;
	const void *f[2] = { h, good_event };
	size_t fl[2];

	q.version = 9;
	fl[0] = pub_header(&q, h, "flow", sizeof(good_event) - 1,
	    sizeof(good_event) - 1, p->msg_id, 0);
	fl[1] = sizeof(good_event) - 1;
	return pub_send_frames(p, 2, f, fl);
}

static int
bad_one_frame(struct pub *p)
{
	uint8_t h[40];
	const void *f[1] = { h };
	size_t fl[1];

	fl[0] = pub_header(p, h, "flow", 0, 0, p->msg_id, 0);
	return pub_send_frames(p, 1, f, fl);
}

static int
bad_three_frames(struct pub *p)
{
	uint8_t h[40];
	const void *f[3] = { h, good_event, good_event };
	size_t fl[3];

	fl[0] = pub_header(p, h, "flow", sizeof(good_event) - 1,
	    sizeof(good_event) - 1, p->msg_id, 0);
	fl[1] = fl[2] = sizeof(good_event) - 1;
	if (pub_send_frames(p, 3, f, fl) == -1)
		return -1;
	p->msg_id++;
	return 0;
}

/* Flags and prefix for a compressed payload in the current framing. */
static int
zprefix(const struct pub *p, uint8_t *flags)
{
	*flags = p->hdrlen == PUB_HDR_36 ? PUB_V4_FLAG_ZLIB : 0;
	return p->hdrlen != PUB_HDR_36;
}

static int
bad_zlib_truncated(struct pub *p)
{
	const uint8_t *z;
	uint8_t flags;
	int pre = zprefix(p, &flags);
	size_t zl = pub_deflate(p, good_event, sizeof(good_event) - 1, pre, &z);

	if (zl == 0)
		return -1;
	return send_with_header(p, "flow", z, zl / 2,
	    sizeof(good_event) - 1, flags);
}

static int
bad_zlib_garbage(struct pub *p)
{
	uint8_t buf[512], flags;
	int pre = zprefix(p, &flags);
	size_t i;

	for (i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 151 + 7);
	buf[0] = pre ? 0x00 : 0x78;
	return send_with_header(p, "flow", buf, sizeof(buf), 4096, flags);
}

/* Deflates `total` bytes of `fill` (a JSON array of spaces if json) in a
 * stream, so no buffer of the inflated size ever exists here. */
static int
send_deflated_fill(struct pub *p, size_t total, int json, uint32_t usize)
{
	static uint8_t chunk[65536];
	z_stream zs;
	uint8_t *out = NULL, flags;
	size_t cap = total / 100 + 65536, left = total;
	int pre = zprefix(p, &flags), rc = -1;

	memset(&zs, 0, sizeof(zs));
	if ((out = malloc(cap)) == NULL ||
	    deflateInit(&zs, Z_BEST_COMPRESSION) != Z_OK)
		goto done;
	out[0] = 0x00;
	zs.next_out = out + (pre ? 1 : 0);
	zs.avail_out = (uInt)(cap - (pre ? 1 : 0));
	memset(chunk, json ? ' ' : 0, sizeof(chunk));
	while (left > 0) {
		size_t n = left < sizeof(chunk) ? left : sizeof(chunk);

		if (json && left == total)
			chunk[0] = '[';
		if (json && n == left)
			chunk[n - 1] = ']';
		zs.next_in = chunk;
		zs.avail_in = (uInt)n;
		if (deflate(&zs, n == left ? Z_FINISH : Z_NO_FLUSH) ==
		    Z_STREAM_ERROR || zs.avail_in != 0)
			goto end;
		chunk[0] = json ? ' ' : 0;
		left -= n;
	}
	rc = send_with_header(p, "flow", out, cap - zs.avail_out, usize,
	    flags);
end:
	deflateEnd(&zs);
done:
	free(out);
	return rc;
}

static int
bad_zlib_oversized(struct pub *p)
{
	return send_deflated_fill(p, OVERSIZE_BYTES, 1, OVERSIZE_BYTES);
}

static int
bad_zlib_bomb(struct pub *p)
{
	/* The v4 header also lies about the inflated size. */
	return send_deflated_fill(p, BOMB_BYTES, 0, 100);
}

/*
 * The amplification of issue 13: `[{},{},...,{}]` of AMPLIFY_EVENTS
 * empty objects (8.4 MB) deflated to ~8 KB, inside the default
 * max_payload, so only the collector's ratio and per-message bounds
 * stop it.  Streamed: the inflated text never exists here.
 */
static int
bad_amplify(struct pub *p)
{
	static uint8_t chunk[3 * 20000];
	z_stream zs;
	uint8_t *out, flags;
	size_t cap = 64 * 1024, left = AMPLIFY_EVENTS, i;
	int pre = zprefix(p, &flags), rc = -1;

	for (i = 0; i < sizeof(chunk); i += 3)
		memcpy(chunk + i, "{},", 3);
	memset(&zs, 0, sizeof(zs));
	if ((out = malloc(cap)) == NULL)
		return -1;
	if (deflateInit(&zs, Z_BEST_COMPRESSION) != Z_OK) {
		free(out);
		return -1;
	}
	out[0] = 0x00;
	zs.next_out = out + (pre ? 1 : 0);
	zs.avail_out = (uInt)(cap - (pre ? 1 : 0));
	zs.next_in = (Bytef *)(uintptr_t)"[";
	zs.avail_in = 1;
	if (deflate(&zs, Z_NO_FLUSH) == Z_STREAM_ERROR)
		goto end;
	while (left > 0) {
		size_t n = left < sizeof(chunk) / 3 ? left : sizeof(chunk) / 3;
		int last = n == left;

		if (last)
			chunk[3 * n - 1] = ']';	/* no comma after the last */
		zs.next_in = chunk;
		zs.avail_in = (uInt)(3 * n);
		if (deflate(&zs, last ? Z_FINISH : Z_NO_FLUSH) ==
		    Z_STREAM_ERROR || zs.avail_in != 0)
			goto end;
		if (last)
			chunk[3 * n - 1] = ',';
		left -= n;
	}
	rc = send_with_header(p, "flow", out, cap - zs.avail_out,
	    3 * AMPLIFY_EVENTS + 1, flags);
end:
	deflateEnd(&zs);
	free(out);
	return rc;
}

static int
bad_utf8(struct pub *p)
{
	/* Raw invalid bytes (0xff 0xfe, overlong "/", a UTF-16 surrogate
	 * encoded as UTF-8), then a lone surrogate escape. */
	static const char ev[] =
	    "{ \"timestamp\": \"1715935521.084213\", \"IP_PROTOCOL_VERSION\": 4, "
	    "\"TCP_EVENT_TYPE\": \"CONNECT\", \"IPV4_SRC_ADDR\": \"192.0.2.1\", "
	    "\"IPV4_DST_ADDR\": \"192.0.2.2\", \"PROTOCOL\": 6, "
	    "\"L4_SRC_PORT\": 50002, \"L4_DST_PORT\": 80, \"LOCAL_PROCESS\": "
	    "{ \"PID\": 1, \"PROCESS_PATH\": \"\\/bin\\/\xff\xfe\xc0\xaf\", "
	    "\"PROCESS_CMDLINE\": \"\xed\xa0\x80\" } }";
	static const char esc[] =
	    "{ \"IPV4_SRC_ADDR\": \"192.0.2.1\", \"IPV4_DST_ADDR\": "
	    "\"192.0.2.2\", \"PROTOCOL\": 6, \"L4_SRC_PORT\": 50003, "
	    "\"L4_DST_PORT\": 80, \"LOCAL_PROCESS\": { \"PROCESS_PATH\": "
	    "\"\\ud800x\" } }";

	if (send_with_header(p, "flow", ev, sizeof(ev) - 1, sizeof(ev) - 1,
	    0) == -1)
		return -1;
	return send_with_header(p, "flow", esc, sizeof(esc) - 1,
	    sizeof(esc) - 1, 0);
}

static int
bad_nested(struct pub *p)
{
	char *b = malloc(2 * NEST_DEPTH);
	int rc;

	if (b == NULL)
		return -1;
	memset(b, '[', NEST_DEPTH);
	memset(b + NEST_DEPTH, ']', NEST_DEPTH);
	rc = send_with_header(p, "flow", b, 2 * NEST_DEPTH, 2 * NEST_DEPTH, 0);
	if (rc == 0) {
		/* And objects inside an event's process object. */
		size_t i, o = 0, n = 2000;
		char *e = malloc(n * 8 + 64);

		if (e == NULL) {
			free(b);
			return -1;
		}
		o += (size_t)sprintf(e, "{\"LOCAL_PROCESS\":");
		for (i = 0; i < n; i++)
			o += (size_t)sprintf(e + o, "{\"a\":");
		e[o++] = '1';
		for (i = 0; i <= n; i++)
			e[o++] = '}';
		rc = send_with_header(p, "flow", e, o, (uint32_t)o, 0);
		free(e);
	}
	free(b);
	return rc;
}

static int
bad_types(struct pub *p)
{
	static const char ev[] = "["
	    "{\"IPV4_SRC_ADDR\": 12345, \"IPV4_DST_ADDR\": [1], \"PROTOCOL\": "
	    "\"tcp\", \"L4_SRC_PORT\": \"x\", \"L4_DST_PORT\": {}},"
	    "{\"IPV4_SRC_ADDR\": \"192.0.2.1\", \"IPV4_DST_ADDR\": \"192.0.2.2\","
	    " \"PROTOCOL\": 6, \"L4_SRC_PORT\": 70000, \"L4_DST_PORT\": -1},"
	    "{\"IPV4_SRC_ADDR\": \"999.1.1.1\", \"IPV4_DST_ADDR\": \"a.b.c.d\","
	    " \"PROTOCOL\": 6, \"L4_SRC_PORT\": 1, \"L4_DST_PORT\": 2},"
	    "{\"IPV4_SRC_ADDR\": \"192.0.2.1\", \"IPV4_DST_ADDR\": \"192.0.2.2\","
	    " \"PROTOCOL\": 1e400, \"L4_SRC_PORT\": 1.5, \"L4_DST_PORT\": null,"
	    " \"LOCAL_PROCESS\": \"not an object\", \"TCP_EVENT_TYPE\": 7},"
	    "42, \"string\", null, true]";

	if (send_with_header(p, "flow", ev, sizeof(ev) - 1, sizeof(ev) - 1,
	    0) == -1)
		return -1;
	/* A top-level scalar. */
	return send_with_header(p, "flow", "12345", 5, 5, 0);
}

static int
bad_huge(struct pub *p)
{
	static const char head[] = "{\"IPV4_SRC_ADDR\":\"192.0.2.1\",\"PAD\":\"";
	char *b = malloc(HUGE_BYTES);
	size_t hl = sizeof(head) - 1;
	int rc;

	if (b == NULL)
		return -1;
	memcpy(b, head, hl);
	memset(b + hl, 'x', HUGE_BYTES - hl - 2);
	b[HUGE_BYTES - 2] = '"';
	b[HUGE_BYTES - 1] = '}';
	rc = send_with_header(p, "flow", b, HUGE_BYTES, HUGE_BYTES, 0);
	free(b);
	return rc;
}

static int
bad_ebpf_topic(struct pub *p)
{
	/* libebpfflow's raw struct for Wireshark, with its 40-byte v0
	 * header: binary bytes that happen to start like JSON. */
	struct pub q = *p;
	uint8_t h[40], raw[168];
	const void *f[2] = { h, raw };
	size_t fl[2], i;

	for (i = 0; i < sizeof(raw); i++)
		raw[i] = (uint8_t)(i * 37);
	raw[0] = '{';
	q.hdrlen = PUB_HDR_40;
	q.version = 0;
	fl[0] = pub_header(&q, h, "ebpf", sizeof(raw), sizeof(raw), 0, 0);
	fl[1] = sizeof(raw);
	return pub_send_frames(p, 2, f, fl);
}

static int
bad_garbage(struct pub *p)
{
	static const char junk[] = "{\"IPV4_SRC_ADDR\": \"192.0.2.1\", \"L4_";
	uint8_t bin[256];
	size_t i;

	for (i = 0; i < sizeof(bin); i++)
		bin[i] = (uint8_t)(i * 91 + 3);
	bin[0] = 0x01;
	if (send_with_header(p, "flow", junk, sizeof(junk) - 1,
	    sizeof(junk) - 1, 0) == -1 ||
	    send_with_header(p, "flow", bin, sizeof(bin), sizeof(bin), 0) ==
	    -1)
		return -1;
	return send_with_header(p, "flow", "", 0, 0, 0);
}

static int
bad_tlv(struct pub *p)
{
	struct pub q = *p;
	uint8_t bin[64];
	size_t i;
	int rc;

	for (i = 0; i < sizeof(bin); i++)
		bin[i] = (uint8_t)(i * 13);
	bin[0] = 0x01;	/* not the zlib marker */
	/* Version 3 (TLV) or the v4 TLV flag: evflow does not decode TLV. */
	if (q.hdrlen != PUB_HDR_36)
		q.version = 3;
	rc = send_with_header(&q, "flow", bin, sizeof(bin), sizeof(bin),
	    q.hdrlen == PUB_HDR_36 ? PUB_V4_FLAG_TLV : 0);
	p->msg_id = q.msg_id;
	p->msgs = q.msgs;
	p->bytes = q.bytes;
	return rc;
}

struct bad_kind {
	const char	*name;
	int		(*fn)(struct pub *);
	const char	*what;
};

static const struct bad_kind kinds[] = {
	{ "hdr-short", bad_hdr_short, "12-byte header (unsupported length)" },
	{ "hdr-long", bad_hdr_long, "48-byte header (unsupported length)" },
	{ "hdr-version", bad_hdr_version, "header with version 9" },
	{ "one-frame", bad_one_frame, "a header frame and no payload" },
	{ "three-frames", bad_three_frames, "header, payload, extra frame" },
	{ "zlib-truncated", bad_zlib_truncated, "first half of a zlib stream" },
	{ "zlib-garbage", bad_zlib_garbage, "zlib marker, random bytes" },
	{ "zlib-oversized", bad_zlib_oversized,
	  "valid JSON inflating to 64 MiB" },
	{ "zlib-bomb", bad_zlib_bomb, "256 MiB of zeros, ~250 KiB compressed" },
	{ "amplify", bad_amplify, "~8 KiB of zlib inflating to 2.79 M empty "
	  "events" },
	{ "utf8", bad_utf8, "invalid UTF-8 and a lone surrogate in strings" },
	{ "nested", bad_nested, "100000 nested arrays; 2000 nested objects" },
	{ "types", bad_types, "wrong types, out-of-range values, scalars" },
	{ "huge", bad_huge, "a 32 MiB plain JSON payload" },
	{ "ebpf", bad_ebpf_topic, "libebpfflow's binary `ebpf` topic" },
	{ "garbage", bad_garbage, "cut JSON, binary bytes, empty payload" },
	{ "tlv", bad_tlv, "TLV payload (version 3 / v4 flag 0x02)" },
};

void
bad_list(void)
{
	size_t i;

	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		printf("  %-16s %s\n", kinds[i].name, kinds[i].what);
}

int
bad_send(struct pub *p, const char *kind)
{
	uint64_t before = p->msgs;
	size_t i;
	int all = strcmp(kind, "all") == 0, found = 0;

	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		if (!all && strcmp(kind, kinds[i].name) != 0)
			continue;
		found = 1;
		if (kinds[i].fn(p) == -1) {
			fprintf(stderr, "testpub: sending %s failed\n",
			    kinds[i].name);
			return -1;
		}
	}
	if (!found)
		return -1;
	return (int)(p->msgs - before);
}
