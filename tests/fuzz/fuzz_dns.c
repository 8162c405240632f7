/*
 * libFuzzer target: capture/dns.c's response parser on arbitrary bytes
 * (a UDP payload).  Every answer it returns must be a well-formed name
 * the host-name record accepts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "capture/capture.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct dns_result r;
	uint8_t *msg;
	size_t i, n;
	int rc;

	/* An exact-size copy so any read past the end is caught. */
	if ((msg = malloc(size ? size : 1)) == NULL)
		return 0;
	memcpy(msg, data, size);
	rc = dns_parse_response(msg, size, &r);
	if (rc < -1 || rc > DNS_MAX_ANSWERS || (rc >= 0 &&
	    (unsigned)rc != r.nanswers))
		abort();
	n = strnlen(r.qname, sizeof(r.qname));
	if (n >= sizeof(r.qname))
		abort();
	for (i = 0; i < n; i++)
		if (r.qname[i] >= 'A' && r.qname[i] <= 'Z')
			abort();
	if (rc > 0 && n == 0)
		abort();
	free(msg);
	return 0;
}
