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

#endif
