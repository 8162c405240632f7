/*
 * DNS responses seen on the wire -> the query name and the A/AAAA
 * addresses answered for it, for the capture's address-to-name cache.
 *
 * Input is hostile: every read is checked against the message length,
 * compression pointers may only point backwards and are followed at
 * most DNS_MAX_JUMPS times, a name is at most 255 bytes, and only
 * names made of letters, digits, '-', '_' and '.' are accepted (the
 * store and the UI get nothing they would have to escape).  Names are
 * lower-cased.  Answers are attributed to the question's name (what
 * the client asked for), whatever CNAME chain the answer took.
 */
#include <string.h>

#include "capture.h"

#define DNS_HDR_LEN	12
#define DNS_MAX_JUMPS	16	/* compression pointers per name */
#define DNS_TYPE_A	1
#define DNS_TYPE_AAAA	28
#define DNS_CLASS_IN	1

static inline uint16_t
rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t
rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

static int
name_char_ok(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/*
 * Reads the name at *off in msg[0..len).  With `out` (DNS_NAME_MAX
 * bytes) it is written there, dotted and lower case, "" for the root.
 * *off moves past the name as it sits at its place (a pointer is two
 * bytes).  Returns 0, or -1 for a malformed or unacceptable name.
 */
static int
dns_name(const uint8_t *msg, size_t len, size_t *off, char *out)
{
	size_t pos = *off, end = 0, n = 0;
	unsigned jumps = 0, i;
	uint8_t l;

	for (;;) {
		if (pos >= len)
			return -1;
		l = msg[pos];
		if ((l & 0xc0) == 0xc0) {
			if (pos + 1 >= len || ++jumps > DNS_MAX_JUMPS)
				return -1;
			if (end == 0)
				end = pos + 2;
			/* Only backwards: no loops, no forward references. */
			if (((size_t)(l & 0x3f) << 8 | msg[pos + 1]) >= pos)
				return -1;
			pos = (size_t)(l & 0x3f) << 8 | msg[pos + 1];
			continue;
		}
		if ((l & 0xc0) != 0)
			return -1;	/* 0x40/0x80 label types */
		if (l == 0) {
			pos++;
			break;
		}
		if (pos + 1 + l > len || n + (n != 0) + l >= DNS_NAME_MAX)
			return -1;
		if (out != NULL && n != 0)
			out[n] = '.';
		n += n != 0;
		for (i = 0; i < l; i++) {
			uint8_t c = msg[pos + 1 + i];

			if (!name_char_ok(c))
				return -1;
			if (out != NULL)
				out[n + i] = (char)(c >= 'A' && c <= 'Z' ?
				    c + 32 : c);
		}
		n += l;
		pos += 1 + (size_t)l;
	}
	if (out != NULL)
		out[n] = '\0';
	*off = end != 0 ? end : pos;
	return 0;
}

int
dns_parse_response(const uint8_t *msg, size_t len, struct dns_result *r)
{
	size_t off = DNS_HDR_LEN;
	uint16_t flags, qd, an, type, class, rdlen, i;

	r->nanswers = 0;
	r->qname[0] = '\0';
	if (len < DNS_HDR_LEN)
		return -1;
	flags = rd16(msg + 2);
	qd = rd16(msg + 4);
	an = rd16(msg + 6);
	/* Not a response to a standard query, an error, or not a single
	 * question: nothing to learn, nothing wrong. */
	if (!(flags & 0x8000) || (flags & 0x7800) != 0 ||
	    (flags & 0x000f) != 0 || qd != 1)
		return 0;
	if (dns_name(msg, len, &off, r->qname) == -1 || off + 4 > len)
		return -1;
	if (rd16(msg + off + 2) != DNS_CLASS_IN)
		return 0;
	off += 4;
	for (i = 0; i < an; i++) {
		if (dns_name(msg, len, &off, NULL) == -1 || off + 10 > len)
			return -1;
		type = rd16(msg + off);
		class = rd16(msg + off + 2);
		rdlen = rd16(msg + off + 8);
		if (off + 10 + rdlen > len)
			return -1;
		if (class == DNS_CLASS_IN && r->qname[0] != '\0' &&
		    r->nanswers < DNS_MAX_ANSWERS &&
		    ((type == DNS_TYPE_A && rdlen == 4) ||
		    (type == DNS_TYPE_AAAA && rdlen == 16))) {
			struct dns_answer *a = &r->answer[r->nanswers++];

			if (type == DNS_TYPE_A) {
				uint32_t v4;

				memcpy(&v4, msg + off + 10, 4);
				evp_addr_from_v4(a->addr, v4);
				a->ipver = 4;
			} else {
				memcpy(a->addr, msg + off + 10, 16);
				a->ipver = evp_addr_is_v4(a->addr) ? 4 : 6;
			}
			a->ttl = rd32(msg + off + 4);
		}
		off += 10 + (size_t)rdlen;
	}
	return (int)r->nanswers;
}
