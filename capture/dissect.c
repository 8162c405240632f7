/*
 * The packet dissector: one frame's bytes -> struct pkt.
 *
 * Input is hostile (a NIC sees anything, a pcap file may be cut or
 * forged): every read is checked against caplen, lengths taken from
 * headers are checked against the frame's on-wire length, and loops
 * (VLAN tags, IPv6 extension headers) are bounded.
 *
 * Lengths: bytes are counted from the IP header's length, not from
 * caplen, so a short snaplen does not shrink a flow's byte counters.
 * A header length that claims more than the frame carried on the wire
 * is DIS_BAD_LEN (the one exception: an IPv4 total length of 0, as a
 * NIC with TCP segmentation offload leaves it, takes the frame's length).
 *
 * ICMP and ICMPv6 flows have ports 0 (echo request and reply are one
 * flow); other non-TCP/UDP/SCTP protocols too.
 */
#include <string.h>

#include <pcap/pcap.h>
#include <pcap/dlt.h>

#include "capture.h"

#define ETH_HLEN	14
#define SLL_HLEN	16
#define SLL2_HLEN	20

#define ET_IPV4		0x0800
#define ET_IPV6		0x86dd
#define ET_VLAN		0x8100
#define ET_QINQ		0x88a8
#define ET_QINQ_OLD	0x9100

#ifndef DLT_LINUX_SLL2
#define DLT_LINUX_SLL2	276
#endif
#define LT_IPV4		228	/* LINKTYPE_IPV4 */
#define LT_IPV6		229	/* LINKTYPE_IPV6 */
#define LT_RAW		101	/* LINKTYPE_RAW, if a file reports it */

#define IPP_HOPOPTS	0
#define IPP_ICMP	1
#define IPP_TCP		6
#define IPP_UDP		17
#define IPP_ROUTING	43
#define IPP_FRAGMENT	44
#define IPP_ESP		50
#define IPP_AH		51
#define IPP_NONE	59
#define IPP_ICMPV6	58
#define IPP_DSTOPTS	60
#define IPP_SCTP	132
#define IPP_MOBILITY	135
#define IPP_UDPLITE	136

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

int
dissect_linktype_ok(int dlt)
{
	switch (dlt) {
	case DLT_EN10MB:
	case DLT_LINUX_SLL:
	case DLT_LINUX_SLL2:
	case DLT_RAW:
	case LT_RAW:
	case LT_IPV4:
	case LT_IPV6:
	case DLT_NULL:
	case DLT_LOOP:
		return 1;
	}
	return 0;
}

enum capture_counter
dissect_counter(enum dissect_result r)
{
	switch (r) {
	case DIS_OK:		return CC_MAX;
	case DIS_NON_IP:	return CC_NON_IP;
	case DIS_TRUNC_L2:	return CC_ERR_TRUNC_L2;
	case DIS_TRUNC_IP:	return CC_ERR_TRUNC_IP;
	case DIS_TRUNC_L4:	return CC_ERR_TRUNC_L4;
	case DIS_BAD_IP:	return CC_ERR_BAD_IP;
	case DIS_BAD_LEN:	return CC_ERR_BAD_LEN;
	case DIS_EXT_HDR:	return CC_ERR_EXT_HDR;
	case DIS_LINKTYPE:	return CC_ERR_LINKTYPE;
	case DIS_VLAN_DEPTH:	return CC_ERR_VLAN_DEPTH;
	}
	return CC_ERR_BAD_IP;
}

/*
 * The L4 header at `p` (`cap` bytes readable) of a datagram whose L4
 * part is `l4len` bytes long by its IP header.  Ports for TCP, UDP,
 * UDP-Lite and SCTP; TCP also flags, sequence and payload length.
 */
static enum dissect_result
dissect_l4(const uint8_t *p, uint32_t cap, uint32_t l4len, struct pkt *k)
{
	uint32_t doff;

	switch (k->proto) {
	case IPP_TCP:
	case IPP_UDP:
	case IPP_UDPLITE:
	case IPP_SCTP:
		break;
	default:
		if (cap > 0) {
			k->l4 = p;
			k->l4_cap = cap;
			k->l4_len = l4len;
		}
		/* ICMP: the message's type and code (a later fragment has
		 * no header here: dissect_l4 is not called for it). */
		if ((k->proto == IPP_ICMP || k->proto == IPP_ICMPV6) &&
		    cap >= 2) {
			k->icmp_type = p[0];
			k->icmp_code = p[1];
			k->has_icmp = 1;
		}
		return DIS_OK;		/* ports 0 */
	}
	if (cap < 4)
		return DIS_TRUNC_L4;
	k->l4 = p;
	k->l4_cap = cap;
	k->l4_len = l4len;
	k->sport = rd16(p);
	k->dport = rd16(p + 2);
	k->has_ports = 1;
	if (k->proto != IPP_TCP || cap < 14)
		return DIS_OK;
	k->seq = rd32(p + 4);
	k->tcp_flags = p[13];
	doff = (uint32_t)(p[12] >> 4) * 4;
	if (doff >= 20 && doff <= l4len) {
		k->payload_len = l4len - doff;
		k->has_seq = 1;
	}
	return DIS_OK;
}

/* IPv4 header at `p`; `cap` readable bytes, `room` on-wire bytes left. */
static enum dissect_result
dissect_ipv4(const uint8_t *p, uint32_t cap, uint32_t room, struct pkt *k)
{
	uint32_t hl, tot, a;
	uint16_t off;

	if (cap < 20)
		return room < 20 ? DIS_BAD_LEN : DIS_TRUNC_IP;
	if ((p[0] >> 4) != 4)
		return DIS_BAD_IP;
	k->l3 = p;
	k->l3_cap = cap;
	hl = (uint32_t)(p[0] & 0x0f) * 4;
	tot = rd16(p + 2);
	if (hl < 20)
		return DIS_BAD_IP;
	if (tot == 0)
		tot = room;		/* segmentation offload */
	if (tot < hl)
		return DIS_BAD_IP;
	if (tot > room)
		return DIS_BAD_LEN;
	k->ipver = 4;
	k->ip_len = tot;
	k->proto = p[9];
	k->frag_id = rd16(p + 4);
	memcpy(&a, p + 12, 4);
	evp_addr_from_v4(k->src, a);
	memcpy(&a, p + 16, 4);
	evp_addr_from_v4(k->dst, a);
	off = rd16(p + 6);
	if ((off & 0x1fff) != 0) {
		k->frag = PKT_FRAG_LATER;
		return DIS_OK;		/* no L4 header in this one */
	}
	if (off & 0x2000)
		k->frag = PKT_FRAG_FIRST;
	if (cap < hl)
		return dissect_l4(p, 0, tot - hl, k);	/* options cut */
	return dissect_l4(p + hl, cap - hl, tot - hl, k);
}

/* IPv6 header and extension chain at `p`. */
static enum dissect_result
dissect_ipv6(const uint8_t *p, uint32_t cap, uint32_t room, struct pkt *k)
{
	uint32_t plen, off, hl;
	uint8_t nh;
	unsigned n;

	if (cap < 40)
		return room < 40 ? DIS_BAD_LEN : DIS_TRUNC_IP;
	if ((p[0] >> 4) != 6)
		return DIS_BAD_IP;
	plen = rd16(p + 4);
	if (plen == 0)
		plen = room - 40;	/* jumbogram or offload */
	if (plen + 40 > room)
		return DIS_BAD_LEN;
	k->ipver = 6;
	k->ip_len = plen + 40;
	k->l3 = p;
	k->l3_cap = cap;
	memcpy(k->src, p + 8, 16);
	memcpy(k->dst, p + 24, 16);
	nh = p[6];
	off = 40;
	for (n = 0;; n++) {
		switch (nh) {
		case IPP_HOPOPTS:
		case IPP_ROUTING:
		case IPP_DSTOPTS:
		case IPP_MOBILITY:
		case IPP_FRAGMENT:
		case IPP_AH:
			break;
		default:
			k->proto = nh;	/* ESP, no-next, L4 or unknown */
			if (nh == IPP_NONE || nh == IPP_ESP ||
			    k->frag == PKT_FRAG_LATER)
				return DIS_OK;
			if (off > cap)
				return dissect_l4(p, 0, 40 + plen - off, k);
			return dissect_l4(p + off, cap - off, 40 + plen - off,
			    k);
		}
		if (n >= DISSECT_MAX_EXT)
			return DIS_EXT_HDR;
		if (off + 8 > 40 + plen)
			return DIS_EXT_HDR;	/* claims more than the datagram */
		if (off + 8 > cap)
			return DIS_TRUNC_IP;
		if (nh == IPP_FRAGMENT) {
			uint16_t fo = rd16(p + off + 2);

			k->frag_id = rd32(p + off + 4);
			if ((fo & 0xfff8) != 0)
				k->frag = PKT_FRAG_LATER;
			else if (fo & 1)
				k->frag = PKT_FRAG_FIRST;
			hl = 8;
		} else if (nh == IPP_AH)
			hl = ((uint32_t)p[off + 1] + 2) * 4;
		else
			hl = ((uint32_t)p[off + 1] + 1) * 8;
		nh = p[off];
		off += hl;
		if (off > 40 + plen)
			return DIS_EXT_HDR;
		if (k->frag == PKT_FRAG_LATER) {
			k->proto = nh;
			return DIS_OK;
		}
	}
}

/* The IP packet after the link header, by version nibble or ethertype. */
static enum dissect_result
dissect_ip(uint16_t et, const uint8_t *p, uint32_t cap, uint32_t room,
    struct pkt *k)
{
	if (et == ET_IPV4)
		return dissect_ipv4(p, cap, room, k);
	if (et == ET_IPV6)
		return dissect_ipv6(p, cap, room, k);
	return DIS_NON_IP;
}

/* Version nibble for raw IP and loopback frames. */
static enum dissect_result
dissect_raw(const uint8_t *p, uint32_t cap, uint32_t room, struct pkt *k)
{
	if (cap < 1)
		return room < 1 ? DIS_BAD_LEN : DIS_TRUNC_IP;
	switch (p[0] >> 4) {
	case 4:
		return dissect_ipv4(p, cap, room, k);
	case 6:
		return dissect_ipv6(p, cap, room, k);
	}
	return DIS_BAD_IP;
}

enum dissect_result
dissect(int dlt, const uint8_t *p, uint32_t caplen, uint32_t len,
    struct pkt *k)
{
	uint32_t off, af;
	uint16_t et;
	unsigned tags;

	k->wire_len = len;
	k->ip_len = k->payload_len = k->seq = k->frag_id = 0;
	k->vlan = k->sport = k->dport = 0;
	k->ipver = k->proto = k->tcp_flags = 0;
	k->has_ports = k->has_seq = k->frag = 0;
	k->icmp_type = k->icmp_code = k->has_icmp = 0;
	k->l3 = k->l4 = NULL;
	k->l3_cap = k->l4_cap = k->l4_len = 0;
	k->truncated = caplen < len;
	if (caplen > len)
		return DIS_BAD_LEN;	/* a forged record header */

	switch (dlt) {
	case DLT_EN10MB:
		if (caplen < ETH_HLEN)
			return DIS_TRUNC_L2;
		et = rd16(p + 12);
		off = ETH_HLEN;
		break;
	case DLT_LINUX_SLL:
		if (caplen < SLL_HLEN)
			return DIS_TRUNC_L2;
		et = rd16(p + 14);
		off = SLL_HLEN;
		break;
	case DLT_LINUX_SLL2:
		if (caplen < SLL2_HLEN)
			return DIS_TRUNC_L2;
		et = rd16(p);
		off = SLL2_HLEN;
		break;
	case DLT_RAW:
	case LT_RAW:
		return dissect_raw(p, caplen, len, k);
	case LT_IPV4:
		return dissect_ipv4(p, caplen, len, k);
	case LT_IPV6:
		return dissect_ipv6(p, caplen, len, k);
	case DLT_NULL:
	case DLT_LOOP:
		if (caplen < 4)
			return DIS_TRUNC_L2;
		/* DLT_NULL is in the writer's byte order: accept either. */
		af = rd32(p);
		if (dlt == DLT_NULL && (af & 0xffff) == 0)
			af = (af >> 24) | ((af >> 8) & 0xff00);
		/* AF_INET 2; AF_INET6 is 10, 24, 28 or 30 by OS. */
		if (af != 2 && af != 10 && af != 24 && af != 28 && af != 30)
			return DIS_NON_IP;
		return dissect_raw(p + 4, caplen - 4, len - 4, k);
	default:
		return DIS_LINKTYPE;
	}

	/* Ethertype chain: VLAN tags (outer id kept), then IP. */
	for (tags = 0; et == ET_VLAN || et == ET_QINQ || et == ET_QINQ_OLD;
	    tags++) {
		if (tags >= DISSECT_MAX_VLAN)
			return DIS_VLAN_DEPTH;
		if (caplen < off + 4)
			return DIS_TRUNC_L2;
		if (tags == 0)
			k->vlan = rd16(p + off) & 0x0fff;
		et = rd16(p + off + 2);
		off += 4;
	}
	if (et != ET_IPV4 && et != ET_IPV6)
		return DIS_NON_IP;
	return dissect_ip(et, p + off, caplen - off, len - off, k);
}
