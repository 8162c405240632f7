/*
 * For tests that catch a flow record where a sender hands it to its link
 * (the struct and evp_flow_len()): put it through the real wire encoding
 * and decoder, as the router would see it.  Returns 0 or -1.
 */
#ifndef EVFLOW_T_FLOW_H
#define EVFLOW_T_FLOW_H

#include <string.h>

#include "proto/evflow.h"

static inline int
t_flow_wire(const void *body, size_t len, struct evp_flow *out)
{
	static uint8_t wire[EVP_FLOW_WIRE_MAX];
	static struct evp_flow copy;

	if (len < EVP_FLOW_FIXED_LEN || len > sizeof(copy))
		return -1;
	memset(&copy, 0, sizeof(copy));
	memcpy(&copy, body, len);
	if (len != evp_flow_len(&copy))
		return -1;
	return evp_decode_flow(wire, evp_flow_encode(&copy, wire), out);
}

#endif
