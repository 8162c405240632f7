/*
 * ntopng's ZMQ framing: the header layouts and the payload encodings.
 * See docs/wire.md ("Frames") and collector.h.
 *
 * Nothing here trusts a producer's `size`, `uncompressed_size` or
 * `source_id` for memory: lengths come from the frames themselves and
 * inflation is bounded by the inflater's cap, and by its ratio: beyond
 * ZF_RATIO_FLOOR bytes, a stream may inflate to at most max_ratio times
 * its compressed size (JSON compresses ~5-20x; a bomb ~1000x), checked
 * as it inflates, so a bomb never costs more than that.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "collector.h"

#define ZF_INFLATE_START	(64 * 1024)	/* bytes, first buffer */

static uint32_t
get_u32_host(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static uint32_t
get_u32_be(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* Copies a NUL-padded topic of at most `n` bytes; stops at the first NUL. */
static void
get_topic(char *dst, const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n && p[i] != '\0'; i++)
		dst[i] = (char)p[i];
	dst[i] = '\0';
}

enum zf_result
zf_header_decode(const void *buf, size_t len, struct zf_header *h)
{
	const uint8_t *p = buf;

	memset(h, 0, sizeof(*h));
	h->len = (unsigned)(len > 0xffff ? 0xffff : len);
	switch (len) {
	case 40:	/* v0: topic[32], version u32, size u32 */
		get_topic(h->topic, p, 32);
		h->version = get_u32_host(p + 32);
		if (h->version != 0)
			return ZF_UNSUPPORTED_VERSION;
		return ZF_OK;
	case 24:	/* topic[16], version u8, source_id u8, size, msg_id */
		get_topic(h->topic, p, 16);
		h->version = p[16];
		h->source_id = p[17];
		if (h->version < 1 || h->version > 3)
			return ZF_UNSUPPORTED_VERSION;
		h->has_msg_id = 1;
		h->msg_id = h->version == 1 ? get_u32_host(p + 20) :
		    get_u32_be(p + 20);
		return ZF_OK;
	case 28:	/* topic[16], version u8, size u16, msg_id, source_id */
		get_topic(h->topic, p, 16);
		h->version = p[16];
		h->source_id = get_u32_host(p + 24);
		if (h->version < 1 || h->version > 3)
			return ZF_UNSUPPORTED_VERSION;
		h->has_msg_id = 1;
		h->msg_id = h->version == 1 ? get_u32_host(p + 20) :
		    get_u32_be(p + 20);
		return ZF_OK;
	case 36:	/* v4: flags, sizes, msg_id, source_id */
		get_topic(h->topic, p, 16);
		h->version = p[16];
		h->flags = p[17];
		h->source_id = get_u32_host(p + 32);
		if (h->version != 4)
			return ZF_UNSUPPORTED_VERSION;
		h->has_msg_id = 1;
		h->msg_id = get_u32_be(p + 28);
		return ZF_OK;
	default:
		return ZF_BAD_HEADER;
	}
}

int
zf_inflater_init(struct zf_inflater *zi, size_t max)
{
	memset(zi, 0, sizeof(*zi));
	zi->max = max;
	if (inflateInit(&zi->z) != Z_OK)
		return -1;
	zi->z_ready = 1;
	return 0;
}

void
zf_inflater_free(struct zf_inflater *zi)
{
	if (zi->z_ready)
		(void)inflateEnd(&zi->z);
	free(zi->buf);
	memset(zi, 0, sizeof(*zi));
}

/* Grows the output buffer (doubling, up to max).  0 or -1 at the cap. */
static int
grow(struct zf_inflater *zi)
{
	size_t ncap;
	uint8_t *nb;

	if (zi->cap >= zi->max)
		return -1;
	ncap = zi->cap == 0 ? ZF_INFLATE_START : zi->cap * 2;
	if (ncap > zi->max)
		ncap = zi->max;
	if ((nb = realloc(zi->buf, ncap)) == NULL)
		return -1;
	zi->buf = nb;
	zi->cap = ncap;
	return 0;
}

/* 1 if `out` inflated bytes from `in` compressed ones exceed the ratio. */
static int
over_ratio(const struct zf_inflater *zi, size_t out, size_t in)
{
	return zi->max_ratio != 0 && out > ZF_RATIO_FLOOR &&
	    out / zi->max_ratio > in;
}

/*
 * Inflates a whole zlib stream into zi->buf.  A stream that does not
 * end inside the input is bad; output beyond zi->max is too large, and
 * beyond the ratio ZF_OVER_RATIO.
 */
static enum zf_result
inflate_all(struct zf_inflater *zi, const uint8_t *p, size_t n,
    size_t *outlen)
{
	z_stream *z = &zi->z;
	int rc;

	if (!zi->z_ready || inflateReset(z) != Z_OK)
		return ZF_BAD_ZLIB;
	if (n > UINT32_MAX)
		return ZF_TOO_LARGE;
	if (zi->cap == 0 && grow(zi) == -1)
		return ZF_TOO_LARGE;
	z->next_in = (Bytef *)(uintptr_t)p;
	z->avail_in = (uInt)n;
	z->next_out = zi->buf;
	z->avail_out = (uInt)zi->cap;
	for (;;) {
		rc = inflate(z, Z_NO_FLUSH);
		if (rc == Z_STREAM_END)
			break;
		if (rc != Z_OK && rc != Z_BUF_ERROR)
			return ZF_BAD_ZLIB;
		if (z->avail_out == 0) {
			size_t used = zi->cap;

			if (over_ratio(zi, used, n))
				return ZF_OVER_RATIO;
			if (grow(zi) == -1)
				return ZF_TOO_LARGE;
			z->next_out = zi->buf + used;
			z->avail_out = (uInt)(zi->cap - used);
			continue;
		}
		/* Room left but no progress: the input ended early. */
		return ZF_BAD_ZLIB;
	}
	*outlen = zi->cap - z->avail_out;
	if (over_ratio(zi, *outlen, n))
		return ZF_OVER_RATIO;
	return ZF_OK;
}

enum zf_result
zf_payload_decode(struct zf_inflater *zi, const struct zf_header *h,
    const uint8_t *p, size_t n, const uint8_t **out, size_t *outlen)
{
	enum zf_result r;
	int zlib, tlv;

	if (h->version == 4) {
		zlib = (h->flags & ZF_V4_ZLIB) != 0;
		tlv = (h->flags & ZF_V4_TLV) != 0;
	} else {
		zlib = n > 0 && p[0] == 0x00;
		tlv = h->version == 3;
		if (zlib) {
			p++;
			n--;
		}
	}
	/* TLV (nDPI serializer) is returned as ZF_TLV, decoded by tlv.c. */
	if (!zlib) {
		if (n > zi->max)
			return ZF_TOO_LARGE;
		*out = p;
		*outlen = n;
		return tlv ? ZF_TLV : ZF_OK;
	}
	if ((r = inflate_all(zi, p, n, outlen)) != ZF_OK)
		return r;
	*out = zi->buf;
	return tlv ? ZF_TLV : ZF_OK;
}
