/*
 * Community ID v1: the hash input is, in network order,
 *   seed (2) . saddr (4|16) . daddr (4|16) . proto (1) . 0 (1)
 *   [. sport (2) . dport (2)]  for protocols with ports,
 * the endpoints swapped when needed so that the smaller (address, port)
 * comes first (ICMP messages without a counterpart keep their order).
 * See community_id.h.
 */
#include <string.h>

#include "community_id.h"
#include "sha1.h"

/* Request/response types and their counterpart, ICMP then ICMPv6. */
static const uint8_t icmp4_pairs[][2] = {
	{ 8, 0 }, { 0, 8 },		/* echo */
	{ 13, 14 }, { 14, 13 },		/* timestamp */
	{ 15, 16 }, { 16, 15 },		/* information */
	{ 10, 9 }, { 9, 10 },		/* router solicitation, advert */
	{ 17, 18 }, { 18, 17 },		/* address mask */
};
static const uint8_t icmp6_pairs[][2] = {
	{ 128, 129 }, { 129, 128 },	/* echo */
	{ 133, 134 }, { 134, 133 },	/* router solicitation, advert */
	{ 135, 136 }, { 136, 135 },	/* neighbor solicitation, advert */
	{ 130, 131 }, { 131, 130 },	/* multicast listener query, report */
	{ 139, 140 }, { 140, 139 },	/* node information query, reply */
	{ 144, 145 }, { 145, 144 },	/* home agent address discovery */
};

int
community_id_icmp_ports(uint8_t proto, uint8_t type, uint8_t code,
    uint16_t *sport, uint16_t *dport)
{
	const uint8_t (*p)[2] = proto == 58 ? icmp6_pairs : icmp4_pairs;
	size_t i, n = proto == 58 ? sizeof(icmp6_pairs) / 2 :
	    sizeof(icmp4_pairs) / 2;

	*sport = type;
	for (i = 0; i < n; i++)
		if (p[i][0] == type) {
			*dport = p[i][1];
			return 0;
		}
	*dport = code;
	return 1;
}

static int
has_ports(uint8_t proto)
{
	return proto == 6 || proto == 17 || proto == 132 || proto == 1 ||
	    proto == 58;
}

static const char b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

const char *
community_id_v1(char out[COMMUNITY_ID_LEN], uint16_t seed, unsigned alen,
    const uint8_t *saddr, const uint8_t *daddr, uint8_t proto,
    uint16_t sport, uint16_t dport, int one_way)
{
	uint8_t in[2 + 16 + 16 + 2 + 4], d[SHA1_LEN + 1];
	const uint8_t *a = saddr, *b = daddr;
	uint16_t pa = sport, pb = dport;
	size_t n = 0, i;
	int cmp, ports = has_ports(proto);
	char *o = out;

	if (alen != 4)
		alen = 16;
	if (!ports)
		pa = pb = 0;
	cmp = memcmp(a, b, alen);
	if (!((proto == 1 || proto == 58) && one_way) && (cmp > 0 || (cmp == 0 && pa > pb))) {
		a = daddr;
		b = saddr;
		pa = dport;
		pb = sport;
	}
	in[n++] = (uint8_t)(seed >> 8);
	in[n++] = (uint8_t)seed;
	memcpy(in + n, a, alen);
	n += alen;
	memcpy(in + n, b, alen);
	n += alen;
	in[n++] = proto;
	in[n++] = 0;
	if (ports) {
		in[n++] = (uint8_t)(pa >> 8);
		in[n++] = (uint8_t)pa;
		in[n++] = (uint8_t)(pb >> 8);
		in[n++] = (uint8_t)pb;
	}
	sha1(in, n, d);
	/* Base64 with padding: 20 bytes are six groups of three and two
	 * bytes, so 27 characters and one '='. */
	d[SHA1_LEN] = 0;
	*o++ = '1';
	*o++ = ':';
	for (i = 0; i < SHA1_LEN; i += 3) {
		uint32_t v = (uint32_t)d[i] << 16 | (uint32_t)d[i + 1] << 8 |
		    (i + 2 < SHA1_LEN ? d[i + 2] : 0);

		*o++ = b64[v >> 18 & 63];
		*o++ = b64[v >> 12 & 63];
		*o++ = b64[v >> 6 & 63];
		*o++ = i + 2 < SHA1_LEN ? b64[v & 63] : '=';
	}
	*o = '\0';
	return out;
}

int64_t
community_id_hash30(const char *id)
{
	int64_t h = 0;
	const char *c;
	int i;

	if (id == NULL || id[0] != '1' || id[1] != ':')
		return -1;
	for (i = 2; i < 7; i++) {
		if (id[i] == '\0' || (c = strchr(b64, id[i])) == NULL)
			return -1;
		h = h * 64 + (c - b64);
	}
	return h;
}

int64_t
community_id_key(uint64_t row_id, const char *id)
{
	int64_t h = community_id_hash30(id);

	if (h == -1)
		return -1;
	return (int64_t)(row_id / COMMUNITY_KEY_BUCKET) * COMMUNITY_KEY_SPAN +
	    h;
}
