/*
 * Record builders shared by the store's unit tests and benchmark:
 * flow records as the collector and the capture would send them.
 */
#ifndef EVFLOW_TEST_STORE_REC_H
#define EVFLOW_TEST_STORE_REC_H

#include <stdio.h>
#include <string.h>

#include "proto/evflow.h"

/* A flow record from `cli`:cport to `srv`:sport, TCP, IPv4. */
static inline void
rec_flow(struct evp_flow *r, int source, int event, const char *cli,
    unsigned cport, const char *srv, unsigned sport, uint64_t mask)
{
	memset(r, 0, sizeof(*r));
	r->ts_usec = 1700000000000000ULL;
	r->iface_mask = mask;
	r->source = (uint8_t)source;
	r->event = (uint8_t)event;
	r->ip_version = 4;
	r->proto = 6;
	(void)evp_addr_parse(cli, r->addr[0]);
	(void)evp_addr_parse(srv, r->addr[1]);
	r->port[0] = (uint16_t)cport;
	r->port[1] = (uint16_t)sport;
	if (source == EVP_SRC_PACKET)
		r->flags |= EVP_F_ABSOLUTE | EVP_F_HAS_COUNTERS;
}

/* Sets the process of side `s`. */
static inline void
rec_proc(struct evp_flow *r, int s, unsigned pid, const char *path,
    const char *user)
{
	r->side[s].present |= EVP_SIDE_PROC | EVP_SIDE_LOCAL;
	r->side[s].proc.pid = pid;
	r->side[s].proc.tid = pid;
	r->side[s].proc.uid = 1000;
	snprintf(r->side[s].proc.path, sizeof(r->side[s].proc.path), "%s",
	    path);
	snprintf(r->side[s].proc.uid_name, sizeof(r->side[s].proc.uid_name),
	    "%s", user);
}

static inline void
rec_parent(struct evp_flow *r, int s, unsigned pid, const char *path)
{
	r->side[s].present |= EVP_SIDE_PARENT;
	r->side[s].parent.pid = pid;
	snprintf(r->side[s].parent.path, sizeof(r->side[s].parent.path), "%s",
	    path);
}

static inline void
rec_container(struct evp_flow *r, int s, const char *id, const char *pod)
{
	r->side[s].present |= EVP_SIDE_CONTAINER;
	r->side[s].container.kind = EVP_CONT_K8S;
	snprintf(r->side[s].container.id, sizeof(r->side[s].container.id),
	    "%s", id);
	snprintf(r->side[s].container.pod, sizeof(r->side[s].container.pod),
	    "%s", pod);
	snprintf(r->side[s].container.ns, sizeof(r->side[s].container.ns),
	    "default");
}

/* Packet totals: c2s and s2c packets, 100 bytes each. */
static inline void
rec_counts(struct evp_flow *r, uint64_t c2s, uint64_t s2c)
{
	r->flags |= EVP_F_HAS_COUNTERS;
	r->pkts[0] = c2s;
	r->pkts[1] = s2c;
	r->bytes[0] = c2s * 100;
	r->bytes[1] = s2c * 100;
	if (r->source == EVP_SRC_PACKET) {
		r->wire_bytes[0] = c2s * 114;
		r->wire_bytes[1] = s2c * 114;
	}
}

#endif
