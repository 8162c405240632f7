/*
 * A capture flow -> struct evp_flow: source EVP_SRC_PACKET, absolute
 * counters, side 0 = client.  The router fills iface and iface_mask.
 */
#include <stdio.h>
#include <string.h>

#include "capture.h"

void
flow_export(struct evp_flow *r, const struct flow *f, enum flow_why why)
{
	int s;

	/* Only the fixed part before the sides is written: the sides and
	 * extra are zeroed once by the caller (extra_len is set below); the
	 * application block is cleared if the last record had one
	 * (dpi_export fills it). */
	if (r->flags & EVP_F_HAS_APP)
		memset(&r->app, 0, sizeof(r->app));
	memset(r, 0, offsetof(struct evp_flow, side));
	r->ts_usec = f->last_usec;
	r->first_usec = f->first_usec;
	r->flags = EVP_F_ABSOLUTE | EVP_F_HAS_COUNTERS;
	r->vlan = f->key.vlan;
	r->source = EVP_SRC_PACKET;
	r->event = why == FW_UPDATE ? EVP_EV_UPDATE : EVP_EV_END;
	r->tcp_state = f->key.proto == 6 ? f->state : EVP_TCP_UNKNOWN;
	r->ip_version = f->key.ipver;
	r->proto = f->key.proto;
	for (s = 0; s < 2; s++) {
		r->tcp_flags[s] = f->tcp_flags[s];
		r->port[s] = flow_port(f, s);
		memcpy(r->addr[s], flow_addr(f, s), 16);
		r->pkts[s] = f->pkts[s];
		r->bytes[s] = f->bytes[s];
		r->wire_bytes[s] = f->wire_bytes[s];
		r->retrans[s] = f->retrans[s];
	}
	r->cli_latency_us = f->cli_lat_us;
	r->srv_latency_us = f->srv_lat_us;
	/* ICMP's type and code as NetFlow's keys, which the store hashes
	 * into the flow's Community ID (store/community.c). */
	r->extra_len = 0;
	if (f->flags2 & FLOW_ICMP)
		r->extra_len = (uint16_t)snprintf(r->extra, sizeof(r->extra),
		    "{\"ICMP_TYPE\":%u,\"ICMP_CODE\":%u}", f->icmp_type,
		    f->icmp_code);
	if (evp_addr_is_loopback(r->addr[0]) ||
	    evp_addr_is_loopback(r->addr[1]))
		r->flags |= EVP_F_LOOPBACK;
}
